"""The inbox: store a received delivery once, then process it exactly once in effect.

A delivery row is committed before anyone acts on it. Processing locks the row, runs the
registered handler in a savepoint of the same transaction and marks the row done in it, so the
handler's database effects and the "done" mark commit together or not at all; a second run of
the same job finds the row done and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connectors.errors import Fatal
from core.models import ShopConnection
from webhooks import deadletters
from webhooks.errors import CONFIGURATION, classify, describe
from webhooks.handlers import InboxContext
from webhooks.models import DONE, PENDING, SKIPPED, InboxDelivery
from webhooks.spine import INBOX, Spine

log = logging.getLogger(__name__)

# Never kept with a delivery: they could carry credentials of whoever sent it.
_UNSTORED_HEADERS = {"authorization", "cookie", "proxy-authorization"}


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def woocommerce_key(webhook_id: str, body: bytes) -> str:
    """WooCommerce's Delivery-ID is shared by a whole queue run, so key on the webhook, the
    resource and the exact body (a later change of the resource is a new delivery)."""
    try:
        resource_id = json.loads(body).get("id", "-")
    except (ValueError, AttributeError):
        resource_id = "-"
    return f"{webhook_id}:{resource_id}:{body_hash(body)}"


def magento_key(event: str, body: bytes) -> str:
    """Mage-OS sends no delivery id: the subscription (connection and event) and the body."""
    return f"{event}:{body_hash(body)}"


def storable_headers(headers: Any) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _UNSTORED_HEADERS}


def store_delivery(session: Session, *, connection: ShopConnection, topic: str,
                   delivery_key: str, headers: dict[str, str], body: bytes, now: datetime,
                   event_id: str | None = None) -> tuple[int, bool]:
    """Add the delivery unless its key is known; returns ``(inbox id, newly stored)``.

    One ``INSERT ... ON CONFLICT DO NOTHING`` on the unique key: concurrent duplicates cannot
    fail the caller's transaction, and the common case costs a single statement.
    """
    values = dict(platform=connection.platform, connection_id=connection.id, topic=topic,
                  delivery_key=delivery_key, event_id=event_id, headers=headers, body=body,
                  status=PENDING, attempts=0, next_attempt_at=now, received_at=now)
    insert = (postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert)
    new_id = session.scalar(
        insert(InboxDelivery).values(**values)
        .on_conflict_do_nothing(index_elements=["platform", "connection_id", "delivery_key"])
        .returning(InboxDelivery.id))
    if new_id is not None:
        return new_id, True
    return session.scalar(sa.select(InboxDelivery.id).where(
        InboxDelivery.platform == connection.platform,
        InboxDelivery.connection_id == connection.id,
        InboxDelivery.delivery_key == delivery_key)), False


def parse_payload(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Fatal(f"the body is not valid JSON ({exc})") from exc


def process_delivery(spine: Spine, delivery_id: int) -> str | None:
    """Run the handler for one delivery if it is pending and due; returns the row's status
    afterwards (``None`` if there is no such row)."""
    now = spine.clock()
    retry_at: datetime | None = None
    with spine.database.transaction() as session:
        row = session.get(InboxDelivery, delivery_id, with_for_update=True)
        if row is None or row.status != PENDING or row.next_attempt_at > now:
            return None if row is None else row.status
        connection = session.get(ShopConnection, row.connection_id)
        handler = spine.registry.inbox_handler(row.platform, row.topic)
        try:
            payload = parse_payload(row.body)
            if handler is not None:
                with session.begin_nested():
                    handler(InboxContext(session, connection, row, payload, now))
        except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded
            retry_at = _record_failure(spine, session, row, connection, exc, now)
        else:
            row.attempts += 1
            row.status = DONE if handler is not None else SKIPPED
            row.processed_at, row.last_error = now, None
        status, attempts = row.status, row.attempts
    log.info("inbox processed id=%s platform=%s topic=%s status=%s attempts=%s", delivery_id,
             row.platform, row.topic, status, attempts)
    if retry_at is not None:
        spine.try_enqueue(INBOX, delivery_id, retry_at)
    return status


def _record_failure(spine: Spine, session: Session, row: InboxDelivery,
                    connection: ShopConnection, exc: Exception, now: datetime) -> datetime | None:
    error_kind, retry_after = classify(exc)
    if error_kind == CONFIGURATION and connection.status != "uninstalled":
        # the connection cannot work until the merchant acts (connectors.errors)
        connection.status = "paused"
    return deadletters.retry_or_bury(
        spine, session, row, error_kind=error_kind, error=describe(exc), retry_after=retry_after,
        max_attempts=spine.settings.inbox_max_attempts, kind=deadletters.INBOX_KIND,
        organization_id=connection.retailer_id, now=now, platform=row.platform, topic=row.topic)


def due_ids(session: Session, before: datetime, limit: int = 1000) -> list[int]:
    """Pending deliveries due before ``before``: what the sweep enqueues again."""
    return list(session.scalars(
        sa.select(InboxDelivery.id)
        .where(InboxDelivery.status == PENDING, InboxDelivery.next_attempt_at <= before)
        .order_by(InboxDelivery.id).limit(limit)))
