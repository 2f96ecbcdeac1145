"""Tables and settings behind the shipping documents (DESIGN.md 6).

- ``TrackingSettings``: per supplier, where tracking codes come from: ``glue`` (a carrier backend
  issues them when a shipment is confirmed) or ``own`` (the supplier's system supplies them and
  Glue prints only the packing slip).
- ``TrackingRange``: serial ranges a supplier's S10 codes are cut from. Rows are never deleted;
  replacing a range retires the old row, whose issued part stays reserved forever so that no code
  is ever issued twice (see ``core.tracking_ranges``).
- ``RetailerDocumentSettings``: what a retailer's white-label packing slip may show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, utcnow
from core.errors import Forbidden
from core.models import Organization
from core.principal import Principal

TRACKING_MODES = ("glue", "own")


class TrackingSettings(Base):
    __tablename__ = "tracking_settings"

    supplier_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    mode: Mapped[str] = mapped_column(sa.String(10), default="glue")  # glue | own
    carrier: Mapped[str] = mapped_column(sa.String(40), default="s10")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrackingRange(Base):
    """Serials ``range_start..range_end`` (inclusive); ``next_serial`` is the next one to issue,
    ``range_end + 1`` once the range is used up. Only the row with ``retired_at`` NULL issues."""

    __tablename__ = "tracking_ranges"
    __table_args__ = (
        sa.CheckConstraint("range_start <= range_end AND next_serial >= range_start "
                           "AND next_serial <= range_end + 1", name="serials"),
        sa.Index("ix_tracking_ranges_indicator", "service_indicator", "country"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    service_indicator: Mapped[str] = mapped_column(sa.String(2), default="JJ")
    country: Mapped[str] = mapped_column(sa.String(2), default="FI")
    range_start: Mapped[int]
    range_end: Mapped[int]
    next_serial: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


class RetailerDocumentSettings(Base):
    __tablename__ = "retailer_document_settings"

    retailer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    show_prices: Mapped[bool] = mapped_column(default=False)
    show_supplier: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class DocumentSettings:
    """What a packing slip made for a retailer's order may show; white-label by default."""

    show_prices: bool = False
    show_supplier: bool = False


def document_settings(session: Session, retailer_id: int) -> DocumentSettings:
    """The retailer's slip settings, or the defaults (no prices, no supplier) when it has none."""
    row = session.get(RetailerDocumentSettings, retailer_id)
    if row is None:
        return DocumentSettings()
    return DocumentSettings(show_prices=row.show_prices, show_supplier=row.show_supplier)


def own_document_settings(session: Session, actor: Principal) -> DocumentSettings:
    """The acting retailer's slip settings (``retailer`` or ``admin`` permission)."""
    return document_settings(session, _require_retailer(session, actor))


def update_document_settings(session: Session, actor: Principal, *,
                             show_prices: bool | None = None,
                             show_supplier: bool | None = None) -> DocumentSettings:
    """Change the acting retailer's slip settings; ``None`` leaves a value as it is.

    Needs the ``retailer`` or ``admin`` permission of a retailer organization."""
    retailer_id = _require_retailer(session, actor)
    row = session.get(RetailerDocumentSettings, retailer_id)
    if row is None:
        row = RetailerDocumentSettings(retailer_id=retailer_id, show_prices=False,
                                       show_supplier=False)
        session.add(row)
    if show_prices is not None:
        row.show_prices = bool(show_prices)
    if show_supplier is not None:
        row.show_supplier = bool(show_supplier)
    row.updated_at = utcnow()
    session.flush()
    return DocumentSettings(show_prices=row.show_prices, show_supplier=row.show_supplier)


def _require_retailer(session: Session, actor: Principal) -> int:
    organization_id = actor.require_org()
    if not (actor.can("retailer") or actor.can("admin")):
        raise Forbidden("document settings need the 'retailer' or 'admin' permission")
    organization = session.get(Organization, organization_id)
    if organization is None or not organization.is_retailer:
        raise Forbidden("only a retailer has packing-slip settings")
    return organization_id
