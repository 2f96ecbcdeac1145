"""Magento's part of the sync engine (:mod:`connectors.sync` does the rest).

Magento Open Source sends no webhooks, so the reconciliation poll (task ``poll``, every
:attr:`MagentoConnector.poll_interval_seconds`) is how orders arrive: orders updated since the
high-water mark minus an overlap, paged by ``entity_id`` (:meth:`MagentoConnector.fetch_orders`).

- **Async events** (the Mage-OS ``mageos-async-events`` modules, installable on a stock shop):
  once a connection is linked, the task :data:`SUBSCRIBE_TASK` creates a verification token,
  keeps it as the connection's ``webhook_secret`` *before* subscribing (a delivery may arrive
  while the call runs), and subscribes one receiver URL per event through
  ``POST /V1/async_event`` (the event is named only in the URL). A shop without the module
  answers "Request does not match any route" (404): that is remembered in
  ``settings.platform["async_events"] = "absent"`` and the poll alone carries the orders.
  Subscription ids are kept in ``settings.platform["async_events"]`` (event → id). A shop that
  could not be reached is tried again every :data:`CHECK_MINUTES` minutes.
- **Order deliveries**: every ``sales.order.*`` event goes to the shared import (idempotent on
  the shop order id; deliveries carry the order as loaded when the queue ran, and duplicates
  are normal). A ``canceled`` state cancels what Glue has not shipped.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from connectors import sync
from connectors.base import ConnectionSettings
from connectors.errors import ConnectorError
from connectors.magento import MagentoConnector, translate, webhooks
from connectors.magento.client import NotFound
from core.crypto import decrypt, encrypt
from core.models import ShopConnection
from core.settings import get_settings
from webhooks.handlers import EventContext, InboxContext, registry

log = logging.getLogger(__name__)

PLATFORM = "magento"
SUBSCRIBE_TASK = "magento.async_events"
CHECK_MINUTES = 15
ABSENT = "absent"


# --- order deliveries ------------------------------------------------------------------------

def _order(ctx: InboxContext) -> None:
    """An order event: the body is ``{"data": <the order>}``, imported once."""
    data = ctx.payload.get("data") if isinstance(ctx.payload, Mapping) else None
    if isinstance(data, Mapping) and data.get("entity_id") is not None:
        sync.import_from_webhook(ctx, data, identity=translate.order_identity(data))


for _event in webhooks.ORDER_EVENTS:
    registry.inbox(PLATFORM, _event)(_order)


# --- async-event subscriptions ---------------------------------------------------------------

def delivery_url(connection_key: str, event: str) -> str:
    """The receiver URL of one event (:func:`webhooks.receiver.magento`)."""
    base = (os.environ.get("GLUE_PUBLIC_URL") or get_settings().public_url).rstrip("/")
    return f"{base}/webhooks/magento/{connection_key}/{event}"


@registry.on_event("magento.async_events", {"shop_connection.linked"})
def _linked(ctx: EventContext) -> None:
    """A Magento connection was linked: subscribe its async events after the commit."""
    connection = ctx.session.scalar(sa.select(ShopConnection).where(
        ShopConnection.key == ctx.event.subject_id, ShopConnection.platform == PLATFORM))
    if connection is not None and connection.status in sync.LIVE:
        ctx.defer(SUBSCRIBE_TASK, connection.id)


def _every_few_minutes(moment: datetime) -> bool:
    return moment.minute % CHECK_MINUTES == 0


@registry.periodic("magento.async_events", _every_few_minutes)
def check_all(spine: Any) -> int:
    """Enqueue the subscription task of live connections that have none yet and whose shop
    was not found without the module; returns how many."""
    with spine.database.sessions() as session:
        rows = session.execute(sa.select(ShopConnection.id, ShopConnection.settings).where(
            ShopConnection.platform == PLATFORM, ShopConnection.status.in_(sync.LIVE),
            ShopConnection.retailer_id.is_not(None))).all()
    due = [row.id for row in rows
           if not ConnectionSettings.from_json(row.settings).platform.get("async_events")]
    for connection_id in due:
        spine.try_enqueue(SUBSCRIBE_TASK, connection_id)
    return len(due)


def _credentials(connection: ShopConnection) -> dict[str, Any]:
    return json.loads(decrypt(connection.credentials)) if connection.credentials else {}


def _keep_token(spine: Any, connection_id: int) -> str:
    """The connection's verification token, created and stored on first use."""
    with spine.database.transaction() as session:
        connection = session.get(ShopConnection, connection_id, with_for_update=True)
        credentials = _credentials(connection)
        if not credentials.get("webhook_secret"):
            credentials["webhook_secret"] = secrets.token_hex(32)
            connection.credentials = encrypt(json.dumps(credentials))
        return str(credentials["webhook_secret"])


def _remember(spine: Any, connection_id: int, value: Any) -> None:
    with spine.database.transaction() as session:
        connection = session.get(ShopConnection, connection_id, with_for_update=True)
        if connection is None:
            return
        settings = ConnectionSettings.from_json(connection.settings)
        connection.settings = settings.model_copy(update={"platform": {
            **settings.platform, "async_events": value}}).to_json()


@registry.task(SUBSCRIBE_TASK)
def subscribe(spine: Any, connection_id: int) -> dict[str, Any] | str:
    """Subscribe the connection's order events (event → subscription id), or ``absent`` when
    the shop has no async-event module. A shop that cannot be reached is left for the next
    check; nothing is raised."""
    with spine.database.sessions() as session:
        connection = session.get(ShopConnection, connection_id)
        if connection is None or connection.platform != PLATFORM \
                or connection.status not in sync.LIVE or connection.retailer_id is None:
            return {}
        known = ConnectionSettings.from_json(connection.settings).platform.get("async_events")
        if known:
            return known
        key = connection.key
        connector = sync.connector_for(connection)
    if not isinstance(connector, MagentoConnector):
        return {}
    token = _keep_token(spine, connection_id)
    done: dict[str, Any] = {}
    try:
        for event in webhooks.SUBSCRIBED:
            answer = connector.client.write("POST", "async_event", webhooks.subscription(
                event, delivery_url(key, event), token))
            done[event] = (answer or {}).get("subscription_id")
    except NotFound:
        _remember(spine, connection_id, ABSENT)
        log.info("magento shop has no async events, polling only connection=%s", key)
        return ABSENT
    except ConnectorError as exc:  # tried again at the next check (a repeat is harmless)
        log.warning("magento async-event subscription failed connection=%s error=%s", key, exc)
        return done
    _remember(spine, connection_id, done)
    return done


__all__ = ["ABSENT", "SUBSCRIBE_TASK", "check_all", "delivery_url", "subscribe"]
