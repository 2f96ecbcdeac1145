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
import re
import time
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connectors.errors import Fatal
from core.models import ShopConnection
from webhooks import deadletters, logline
from webhooks.errors import CONFIGURATION, classify, describe
from webhooks.handlers import Deferred, InboxContext
from webhooks.models import DONE, PENDING, SKIPPED, InboxDelivery
from webhooks.spine import INBOX, Spine

log = logging.getLogger(__name__)

# Never kept with a delivery: they could carry credentials of whoever sent it; and
# X-Glue-Event is the receiver's own (the event in a Magento URL), never a sender's.
_UNSTORED_HEADERS = {"authorization", "cookie", "proxy-authorization", "x-glue-event"}


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


_LEADING_ID = re.compile(rb'\s*\{\s*"id"\s*:\s*(\d{1,20})\s*[,}]')


def woocommerce_key(webhook_id: str, body: bytes) -> str:
    """WooCommerce's Delivery-ID is shared by a whole queue run, so key on the webhook, the
    resource and the exact body (a later change of the resource is a new delivery).

    WooCommerce writes the resource's ``id`` first, so it is read from the body's start rather
    than by parsing a body of up to megabytes in the request."""
    leading = _LEADING_ID.match(body, 0, 200)
    if leading is not None:
        resource_id: object = int(leading.group(1))
    else:
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


_INBOX = InboxDelivery.__table__
_DELIVERY_KEY = ["platform", "connection_id", "delivery_key"]
# One statement per dialect, built once: each delivery only binds its values (a Core insert,
# no ORM unit of work, and the compiled form comes from SQLAlchemy's cache).
_INSERTS = {
    name: dialect.insert(_INBOX).on_conflict_do_nothing(index_elements=_DELIVERY_KEY)
    .returning(_INBOX.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}
_EXISTING = sa.select(_INBOX.c.id).where(
    _INBOX.c.platform == sa.bindparam("platform"),
    _INBOX.c.connection_id == sa.bindparam("connection_id"),
    _INBOX.c.delivery_key == sa.bindparam("delivery_key"))


def store_delivery(session: Session, *, connection: ShopConnection | sa.Row, topic: str,
                   delivery_key: str, headers: dict[str, str], body: bytes, now: datetime,
                   event_id: str | None = None) -> tuple[int, bool]:
    """Add the delivery unless its key is known; returns ``(inbox id, newly stored)``.
    ``connection`` is the model or any row with its ``id`` and ``platform``.

    One ``INSERT ... ON CONFLICT DO NOTHING`` on the unique key: concurrent duplicates cannot
    fail the caller's transaction, and the common case costs a single statement.
    """
    conn = session.connection()
    values = dict(platform=connection.platform, connection_id=connection.id, topic=topic,
                  delivery_key=delivery_key, event_id=event_id, headers=headers, body=body,
                  status=PENDING, attempts=0, next_attempt_at=now, received_at=now,
                  last_error=None, processed_at=None)
    new_id = conn.execute(_INSERTS[conn.dialect.name], values).scalar()
    if new_id is not None:
        return new_id, True
    return conn.execute(_EXISTING, {"platform": connection.platform,
                                    "connection_id": connection.id,
                                    "delivery_key": delivery_key}).scalar_one(), False


def parse_payload(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Fatal(f"the body is not valid JSON ({exc})") from exc


def process_delivery(spine: Spine, delivery_id: int) -> str | None:
    """Run the handler for one delivery if it is pending and due; returns the row's status
    afterwards (``None`` if there is no such row)."""
    started, now = time.perf_counter(), spine.clock()
    retry_at: datetime | None = None
    error_kind: str | None = None
    with spine.database.transaction() as session:
        row = session.get(InboxDelivery, delivery_id, with_for_update=True)
        if row is None or row.status != PENDING or row.next_attempt_at > now:
            return None if row is None else row.status
        connection = session.get(ShopConnection, row.connection_id)
        handler = spine.registry.inbox_handler(row.platform, row.topic)
        deferred: Deferred = []
        try:
            payload = parse_payload(row.body)
            if handler is not None:
                with session.begin_nested():
                    handler(InboxContext(session, connection, row, payload, now, deferred))
        except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded
            error_kind, retry_after = classify(exc)
            retry_at = _record_failure(spine, session, row, connection, exc, error_kind,
                                       retry_after, now)
            deferred.clear()
        else:
            row.attempts += 1
            row.status = DONE if handler is not None else SKIPPED
            row.processed_at, row.last_error = now, None
        status, attempts = row.status, row.attempts
    logline.emit(log, "inbox.processed", delivery=delivery_id, platform=row.platform,
                 connection=connection.key, topic=row.topic, attempt=attempts,
                 outcome="retry" if retry_at is not None else status, error_kind=error_kind,
                 duration_ms=(time.perf_counter() - started) * 1000)
    if retry_at is not None:
        spine.try_enqueue(INBOX, delivery_id, retry_at)
    for job, ref_id, eta in deferred:
        spine.try_enqueue(job, ref_id, eta)
    return status


def _record_failure(spine: Spine, session: Session, row: InboxDelivery,
                    connection: ShopConnection, exc: Exception, error_kind: str,
                    retry_after: float | None, now: datetime) -> datetime | None:
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
