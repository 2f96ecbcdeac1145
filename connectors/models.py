"""Tables the connectors share (DESIGN.md 7).

:class:`ExternalReference` maps a Glue object to its shop object for one connection. Every push
is an upsert keyed by it, so a retry or a crash never creates a second shop object for one Glue
object, and "last pushed" is known per object and shop.

Kinds in use:

- ``listing``: one shop product. Its ``glue_id`` is a listing key from :mod:`connectors.publish`
  (a variant group or a single Glue product); ``pushed_hash`` / ``content_hash`` are what the
  diff engine compares against.
- ``variant``: one shop variant; ``glue_id`` is the Glue product id. Orders are mapped back to
  Glue products through these rows only.
- ``order``: a shop order imported. Here the shop is the source, so ``glue_id`` is the shop
  order id (unique per connection: a webhook and a poll racing on one order cannot both import
  it) and ``shop_id`` the Glue order's external id.
- ``fulfilment``: a delivered shipment (``glue_id`` = its shipment id) or a cancelled one
  (``cancel:<shipment id>``) to report on the shop order; ``state`` is ``pending`` until the
  shop confirmed it (``active``, ``shop_id`` = the shop's fulfilment id) or refused it
  (``failed``, the error in ``extra``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, utcnow
from core.models import JSON

REFERENCE_KINDS = ("listing", "variant", "order", "fulfilment")


class ExternalReference(Base):
    __tablename__ = "external_references"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "kind", "glue_id",
                            name="uq_external_references_connection_kind_glue"),
        # orders arrive with shop ids: find the Glue product from a shop variant id
        sa.Index("ix_external_references_connection_kind_shop", "connection_id", "kind",
                 "shop_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        sa.ForeignKey("shop_connections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    glue_id: Mapped[str] = mapped_column(sa.String(160))
    shop_id: Mapped[str] = mapped_column(sa.String(200))
    # platform ids the next push needs (Shopify inventory item id, parent product id, ...)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # sha256 of the canonical document last pushed, and of its stock-free part
    pushed_hash: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    content_hash: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    # "active", or "ended" after an end-of-sale action that kept the shop object
    state: Mapped[str] = mapped_column(sa.String(10), default="active")
    pushed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def products_for_variants(session: Session, connection_id: int,
                          shop_variant_ids: Iterable[str]) -> dict[str, int]:
    """Glue product ids of the given shop variants of one connection (only those Glue
    published): the ``variant_products`` mapping that ``Connector.order_draft`` takes."""
    ids = sorted({v for v in shop_variant_ids if v})
    if not ids:
        return {}
    rows = session.execute(sa.select(ExternalReference.shop_id, ExternalReference.glue_id).where(
        ExternalReference.connection_id == connection_id, ExternalReference.kind == "variant",
        ExternalReference.shop_id.in_(ids)))
    return {shop_id: int(glue_id) for shop_id, glue_id in rows}


class ConnectionSync(Base):
    """The sync engine's state for one shop connection (``connectors.sync``): leases that keep
    one publish run and one order poll per connection at a time, the order poll's high-water
    mark, and what the retailer's sync-health view shows."""

    __tablename__ = "connection_sync"

    connection_id: Mapped[int] = mapped_column(
        sa.ForeignKey("shop_connections.id", ondelete="CASCADE"), primary_key=True)
    # publish/fulfilment run: one at a time per connection; ``requested`` asks the holder to
    # run once more (changes arrived while it ran)
    sync_leased_until: Mapped[datetime | None] = mapped_column(default=None)
    sync_requested: Mapped[bool] = mapped_column(default=False)
    # set by the first change event after a run; a run clears it (debounces bursts)
    dirty_since: Mapped[datetime | None] = mapped_column(default=None)
    # order poll: one at a time, next one due at ``next_poll_at``; orders updated since
    # ``orders_since`` (minus an overlap) are fetched
    poll_leased_until: Mapped[datetime | None] = mapped_column(default=None)
    next_poll_at: Mapped[datetime | None] = mapped_column(default=None)
    orders_since: Mapped[datetime | None] = mapped_column(default=None)
    last_poll_at: Mapped[datetime | None] = mapped_column(default=None)
    last_sync_at: Mapped[datetime | None] = mapped_column(default=None)
    listings: Mapped[int] = mapped_column(default=0)
    orders_imported: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)  # consecutive failed runs
    # listings the shop refused: listing key → {"hash", "kind", "error", "title"}; not sent
    # again until the listing's hash changes or the retailer presses retry
    refused: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    last_error_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
