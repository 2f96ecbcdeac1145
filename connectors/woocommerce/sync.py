"""WooCommerce's part of the sync engine (:mod:`connectors.sync` does the rest).

- **Order deliveries**: ``order.created`` and ``order.updated`` go to the shared import, which
  is idempotent on the shop order id (WooCommerce sends both topics, with bodies built when its
  queue runs, so often the same body twice); drafts, unpaid and foreign orders are filtered by
  :func:`connectors.woocommerce.translate.order_draft`. ``order.deleted`` (the order went to the
  trash) cancels what Glue has not shipped of it.
- **Webhooks kept alive**: WooCommerce never retries a failed delivery and disables a webhook
  after more than five failures in a row. The task :data:`WEBHOOK_TASK` creates the missing
  order webhooks, re-enables disabled ones, recreates deleted ones, reports each repair to the
  retailer (event ``shop_connection.webhook_restored``) and, since deliveries were lost
  meanwhile, runs the reconciliation poll at once. It runs when a connection is linked or its
  settings change, and every :data:`CHECK_MINUTES` minutes for every live connection, which
  also nudges each shop's queue (``wp-cron.php``) so that quiet shops deliver.

Webhook ids are kept in ``settings.platform["webhooks"]`` (topic → id). Webhooks point at
``<public URL>/webhooks/woocommerce/<connection key>``; the public URL is ``GLUE_PUBLIC_URL``,
else the settings' ``public_url``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from connectors import sync
from connectors.base import ConnectionSettings
from connectors.errors import ConnectorError
from connectors.models import ExternalReference
from connectors.woocommerce import WooCommerceConnector, translate
from core import events
from core.errors import Conflict, GlueError
from core.models import ShopConnection
from core.orders import cancel_order
from core.principal import SYSTEM
from core.settings import get_settings
from webhooks.handlers import EventContext, InboxContext, registry

log = logging.getLogger(__name__)

PLATFORM = "woocommerce"
WEBHOOK_TASK = "woocommerce.webhooks"
TOPICS = ("order.created", "order.updated", "order.deleted")
CHECK_MINUTES = 5
RESTORED = "shop_connection.webhook_restored"


# --- order deliveries ------------------------------------------------------------------------

@registry.inbox(PLATFORM, "order.created")
@registry.inbox(PLATFORM, "order.updated")
def _order(ctx: InboxContext) -> None:
    """A new or changed order, as built when the shop's queue ran: imported once; a cancelled
    or refunded one cancels what has not shipped. WooCommerce sends ``order.created`` and
    ``order.updated`` of a new order back to back; the shared import copes with two workers
    importing one order at once."""
    if isinstance(ctx.payload, Mapping):
        sync.import_from_webhook(ctx, ctx.payload,
                                 identity=translate.order_identity(ctx.payload))


@registry.inbox(PLATFORM, "order.deleted")
def _order_deleted(ctx: InboxContext) -> None:
    """The merchant trashed (or deleted) an order; the body is only ``{"id": N}``."""
    order_id = ctx.payload.get("id") if isinstance(ctx.payload, Mapping) else None
    if order_id in (None, "", 0) or ctx.connection.retailer_id is None:
        return
    ref = ctx.session.scalar(sa.select(ExternalReference).where(
        ExternalReference.connection_id == ctx.connection.id,
        ExternalReference.kind == "order", ExternalReference.glue_id == str(order_id)))
    if ref is None or ref.state == "failed" or not ref.shop_id:
        return
    try:
        with ctx.session.begin_nested():
            cancel_order(ctx.session, sync.connection_actor(ctx.connection), ref.shop_id)
    except (Conflict, GlueError) as exc:  # shipped already, or nothing left to cancel
        log.info("deleted shop order kept its shipped rows order=%s reason=%s", ref.shop_id,
                 exc.message)


# --- webhooks kept alive -----------------------------------------------------------------------

def delivery_url(connection_key: str) -> str:
    """Where this connection's webhooks deliver (the receiver in :mod:`webhooks.receiver`)."""
    base = (os.environ.get("GLUE_PUBLIC_URL") or get_settings().public_url).rstrip("/")
    return f"{base}/webhooks/woocommerce/{connection_key}"


@registry.on_event("woocommerce.webhooks", {"shop_connection.linked",
                                            "shop_connection.settings_changed"})
def _connection_changed(ctx: EventContext) -> None:
    """A WooCommerce connection was linked or set up: make sure its webhooks exist (after the
    commit, in a task: creating one makes WooCommerce ping Glue while the call runs)."""
    connection = ctx.session.scalar(sa.select(ShopConnection).where(
        ShopConnection.key == ctx.event.subject_id, ShopConnection.platform == PLATFORM))
    if connection is not None and connection.status in sync.LIVE:
        ctx.defer(WEBHOOK_TASK, connection.id)


def _every_few_minutes(moment: datetime) -> bool:
    return moment.minute % CHECK_MINUTES == 0


@registry.periodic("woocommerce.webhooks", _every_few_minutes)
def check_all(spine: Any) -> int:
    """Enqueue the webhook check of every live WooCommerce connection; returns how many."""
    with spine.database.sessions() as session:
        ids = list(session.scalars(sa.select(ShopConnection.id).where(
            ShopConnection.platform == PLATFORM, ShopConnection.status.in_(sync.LIVE),
            ShopConnection.retailer_id.is_not(None))))
    for connection_id in ids:
        spine.try_enqueue(WEBHOOK_TASK, connection_id)
    return len(ids)


@registry.task(WEBHOOK_TASK)
def ensure_webhooks(spine: Any, connection_id: int) -> dict[str, str]:
    """Bring the connection's order webhooks to ``active``; topic → what was done: ``ok``,
    ``created`` (first time), ``reenabled`` or ``recreated`` (the last two are repairs,
    reported to the retailer and followed by a poll). A shop that cannot be reached is tried
    again at the next check; nothing is raised."""
    with spine.database.sessions() as session:
        connection = session.get(ShopConnection, connection_id)
        if connection is None or connection.platform != PLATFORM \
                or connection.status not in sync.LIVE or connection.retailer_id is None:
            return {}
        connector = sync.connector_for(connection)
        key, retailer_id = connection.key, connection.retailer_id
        known = dict(ConnectionSettings.from_json(connection.settings).platform.get(
            "webhooks") or {})
    if not isinstance(connector, WooCommerceConnector):
        return {}
    url = delivery_url(key)
    done: dict[str, str] = {}
    try:
        connector.nudge_queue()
        for topic in TOPICS:
            webhook_id = known.get(topic)
            found = connector.webhook(str(webhook_id)) if webhook_id else None
            if found is not None and found.get("status") == "active" \
                    and found.get("delivery_url") == url:
                done[topic] = "ok"
            elif found is not None:
                connector.activate_webhook(str(webhook_id), url)
                done[topic] = "reenabled"
            else:
                created = connector.create_webhook(topic, url)
                known[topic] = str(created["id"])
                done[topic] = "recreated" if webhook_id else "created"
    except ConnectorError as exc:
        log.warning("woocommerce webhook check failed connection=%s error=%s", key, exc)
    repaired = {t: a for t, a in done.items() if a in ("reenabled", "recreated")}
    with spine.database.transaction() as session:
        connection = session.get(ShopConnection, connection_id, with_for_update=True)
        if connection is None:
            return done
        settings = ConnectionSettings.from_json(connection.settings)
        connection.settings = settings.model_copy(update={"platform": {
            **settings.platform, "webhooks": known}}).to_json()
        for topic, action in repaired.items():
            events.record(session, SYSTEM, RESTORED, "shop_connection", key, [retailer_id],
                          platform=PLATFORM, topic=topic, action=action,
                          webhook_id=known.get(topic))
        if repaired:  # deliveries were lost while the webhook was off: read them back now
            sync.state(session, connection_id).next_poll_at = None
    if repaired:
        log.warning("woocommerce webhooks restored connection=%s %s", key, repaired)
        spine.try_enqueue(sync.POLL, connection_id)
    return done


__all__ = ["TOPICS", "WEBHOOK_TASK", "check_all", "delivery_url", "ensure_webhooks"]
