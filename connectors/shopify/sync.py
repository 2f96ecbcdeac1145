"""Shopify's webhook topics on the shared sync engine (:mod:`connectors.sync`).

The receiver checked the signature and stored the delivery; these inbox handlers run in the
delivery's transaction and never call the shop:

- ``orders/create``, ``orders/paid``, ``orders/updated``: the order goes through the shared
  import (one Glue order per shop order, the connection's forwarding trigger decides whether
  an unpaid order waits); ``orders/cancelled`` through the same import, which cancels what has
  not shipped of an order imported before.
- ``app/uninstalled``: the token is revoked already. The connection becomes ``uninstalled``
  and its credentials are dropped, so no sync run or poll calls the shop again; the data stays
  until ``shop/redact`` (a reinstall picks it up again).
- ``customers/redact``, ``shop/redact``: :mod:`connectors.shopify.privacy`.
- ``customers/data_request``: the customer's data as a JSON document, stored as a
  ``data_request`` reference of the connection (:func:`data_requests` lists them for the
  retailer) with a ``shop_connection.data_requested`` event for the retailer's notifications.
- ``bulk_operations/finish``: nothing to do; the publish run polls its own operation.

Access tokens live an hour: :func:`refresh_tokens`, every five minutes, refreshes those that
expire within :data:`connectors.shopify.install.REFRESH_AHEAD`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from connectors import sync
from connectors.models import ExternalReference
from connectors.shopify import install, privacy, translate
from connectors.shopify.webhooks import (
    CustomersDataRequest,
    CustomersRedact,
    payload_for,
)
from core import events
from core.principal import SYSTEM
from webhooks.handlers import InboxContext, registry

PLATFORM = "shopify"
ORDER_TOPICS = ("orders/create", "orders/paid", "orders/updated", "orders/cancelled")


def _order(ctx: InboxContext) -> None:
    sync.import_from_webhook(ctx, ctx.payload, identity=order_identity(ctx.payload))


order_identity = translate.order_identity  # read from the delivery, no connector built


for _topic in ORDER_TOPICS:
    registry.inbox(PLATFORM, _topic)(_order)


@registry.inbox(PLATFORM, "app/uninstalled")
def _uninstalled(ctx: InboxContext) -> None:
    connection = ctx.connection
    if connection.status in ("uninstalled", "redacted"):
        return
    connection.status = "uninstalled"
    connection.credentials = None
    connection.updated_at = ctx.now
    events.record(ctx.session, SYSTEM, "shop_connection.uninstalled", "shop_connection",
                  connection.key, [connection.retailer_id], platform=PLATFORM,
                  shop=connection.shop)


@registry.inbox(PLATFORM, "customers/redact")
def _customers_redact(ctx: InboxContext) -> None:
    request = payload_for(ctx.topic, ctx.payload)
    assert isinstance(request, CustomersRedact)
    changed = privacy.redact_customer(ctx.session, ctx.connection.id, email=request.email,
                                      phone=request.phone, shop_order_ids=request.orders,
                                      now=ctx.now)
    if changed:
        events.record(ctx.session, SYSTEM, "shop_connection.customer_redacted",
                      "shop_connection", ctx.connection.key, [ctx.connection.retailer_id],
                      orders=changed)


@registry.inbox(PLATFORM, "shop/redact")
def _shop_redact(ctx: InboxContext) -> None:
    count = privacy.redact_shop(ctx.session, ctx.connection.id, now=ctx.now)
    events.record(ctx.session, SYSTEM, "shop_connection.redacted", "shop_connection",
                  ctx.connection.key, [ctx.connection.retailer_id], orders=count)


@registry.inbox(PLATFORM, "customers/data_request")
def _data_request(ctx: InboxContext) -> None:
    request = payload_for(ctx.topic, ctx.payload)
    assert isinstance(request, CustomersDataRequest)
    key = request.request_id or ctx.delivery.delivery_key
    exists = ctx.session.scalar(sa.select(ExternalReference.id).where(
        ExternalReference.connection_id == ctx.connection.id,
        ExternalReference.kind == "data_request", ExternalReference.glue_id == key[:64]))
    if exists is not None:  # a redelivery: the document is there
        return
    document = privacy.customer_data(ctx.session, ctx.connection.id, email=request.email,
                                     phone=request.phone, shop_order_ids=request.orders,
                                     request_id=request.request_id)
    document["requested_at"] = ctx.now.isoformat()
    ctx.session.add(ExternalReference(connection_id=ctx.connection.id, kind="data_request",
                                      glue_id=key[:64], shop_id=request.customer_id or "",
                                      state="active", pushed_at=ctx.now,
                                      extra={"document": document}))
    events.record(ctx.session, SYSTEM, "shop_connection.data_requested", "shop_connection",
                  ctx.connection.key, [ctx.connection.retailer_id],
                  request_id=request.request_id, orders=len(document["orders"]))


@registry.inbox(PLATFORM, "bulk_operations/finish")
def _bulk_finished(ctx: InboxContext) -> None:
    """The publish run polls its own operation; the notice needs no work."""


def data_requests(session: Session, connection_id: int) -> list[dict[str, Any]]:
    """The customer data documents produced for a connection, newest first (for the retailer,
    who passes them on to the merchant's customer)."""
    return [dict(ref.extra.get("document") or {}) for ref in session.scalars(
        sa.select(ExternalReference).where(
            ExternalReference.connection_id == connection_id,
            ExternalReference.kind == "data_request").order_by(ExternalReference.id.desc()))]


__all__ = ["ORDER_TOPICS", "data_requests"]


def _every_five_minutes(moment: datetime) -> bool:
    return moment.minute % 5 == 0


@registry.periodic("shopify.token_refresh", _every_five_minutes)
def refresh_tokens(spine: Any) -> list[str]:
    """Refresh every Shopify token that expires soon (the refresh token rotates with it);
    returns the keys of the connections refreshed."""
    with spine.database.sessions() as session:
        return install.refresh_due_tokens(session, spine.clock())
