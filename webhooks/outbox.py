"""The outbox: from the event log to its consumers, after commit.

``core.events.record`` writes each event in the transaction of its change. ``fan_out`` reads
the events past a cursor and creates one delivery row per consumer that should get the event: an
active subscription whose organization may see it (the event's ``organization_ids``) and that
asked for its type, or a registered event handler. ``deliver`` then runs one delivery: a
handler inside the transaction that marks it done, or a signed POST to the subscriber, every
attempt recorded.

Event ids can commit out of order on PostgreSQL (a lower id still in an open transaction), so
the cursor stops before a gap until the events after it are older than the sweep's grace period;
re-reading is harmless because a delivery is unique per (consumer, event).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.crypto import decrypt
from core.models import Event
from webhooks import deadletters, logline, outgoing
from webhooks.errors import classify, describe
from webhooks.handlers import Deferred, EventContext
from webhooks.http import HttpOutcome
from webhooks.models import (
    DONE,
    PENDING,
    SKIPPED,
    DeliveryAttempt,
    EventDelivery,
    OutboxCursor,
    WebhookSubscription,
)
from webhooks.spine import DELIVERY, Spine

log = logging.getLogger(__name__)
CURSOR = "fan_out"
SUBSCRIPTION = "subscription:"
HANDLER = "handler:"


def fan_out(spine: Spine, batch: int = 500) -> int:
    """Create the deliveries of the events past the cursor; returns how many were created."""
    now = spine.clock()
    grace = timedelta(seconds=spine.settings.sweep_grace_seconds)
    with spine.database.transaction() as session:
        cursor = _cursor(session)
        events = session.scalars(sa.select(Event).where(Event.id > cursor.last_event_id)
                                 .order_by(Event.id).limit(batch)).all()
        if not events:
            return 0
        subscriptions = session.scalars(
            sa.select(WebhookSubscription).where(WebhookSubscription.status == "active")).all()
        known = set(session.execute(sa.select(EventDelivery.consumer, EventDelivery.event_id)
                                    .where(EventDelivery.event_id.in_([e.id for e in events]))))
        created = []
        for event in events:
            for consumer, subscription_id in _consumers(spine, event, subscriptions):
                if (consumer, event.id) not in known:
                    created.append(EventDelivery(consumer=consumer, event_id=event.id,
                                                 subscription_id=subscription_id,
                                                 next_attempt_at=now, created_at=now))
        session.add_all(created)
        session.flush()
        cursor.last_event_id = _advance(cursor.last_event_id, events, now - grace)
        cursor.updated_at = now
        ids = [d.id for d in created]
    for delivery_id in ids:
        spine.try_enqueue(DELIVERY, delivery_id)
    if ids:
        log.info("outbox fan-out deliveries=%s cursor=%s", len(ids), cursor.last_event_id)
    return len(ids)


def _cursor(session: Session) -> OutboxCursor:
    cursor = session.get(OutboxCursor, CURSOR, with_for_update=True)
    if cursor is None:
        try:
            with session.begin_nested():
                session.add(OutboxCursor(name=CURSOR, last_event_id=0))
        except IntegrityError:  # another fan-out created it first
            pass
        cursor = session.get(OutboxCursor, CURSOR, with_for_update=True)
    return cursor


def _consumers(spine: Spine, event: Event,
               subscriptions: list[WebhookSubscription]) -> list[tuple[str, int | None]]:
    found: list[tuple[str, int | None]] = [
        (f"{SUBSCRIPTION}{s.id}", s.id) for s in subscriptions
        if event.id > s.after_event_id and s.wants(event.type, event.organization_ids)]
    found += [(f"{HANDLER}{h.name}", None) for h in spine.registry.event_handlers()
              if h.wants(event.type)]
    return found


def _advance(position: int, events: list[Event], settled_before: datetime) -> int:
    """The new cursor: past every contiguous id, and past a gap only once the event after it
    is old enough that the missing id can no longer commit (it was rolled back)."""
    for event in events:
        if event.id != position + 1 and event.created_at > settled_before:
            break
        position = event.id
    return position


def deliver(spine: Spine, delivery_id: int) -> str | None:
    """Run one pending, due delivery; returns its status afterwards.

    A handler delivery (most of them: every order's ``order.created`` has one) runs in the one
    transaction that locks and marks its row; looking up the consumer in a session of its own
    first cost each delivery a second transaction, and on SQLite every transaction queues on
    the process's write lock."""
    started, now = time.perf_counter(), spine.clock()
    retry_at = error_kind = None
    deferred: Deferred = []
    with spine.database.transaction() as session:
        row = session.get(EventDelivery, delivery_id, with_for_update=True)
        if row is None:
            return None
        if not row.consumer.startswith(HANDLER):
            send = True
        else:
            send = False
            name = row.consumer.removeprefix(HANDLER)
            if not _due(row, now):
                return row.status
            retry_at, error_kind = _run_handler(spine, session, row, name, now, deferred)
            status, attempts, event_id = row.status, row.attempts, row.event_id
    if send:
        return _send(spine, delivery_id)
    logline.emit(log, "event.handled", delivery=delivery_id, event=event_id, consumer=name,
                 attempt=attempts, outcome="retry" if retry_at is not None else status,
                 error_kind=error_kind, duration_ms=(time.perf_counter() - started) * 1000)
    if retry_at is not None:
        spine.try_enqueue(DELIVERY, delivery_id, retry_at)
    for job, ref_id, eta in deferred:
        spine.try_enqueue(job, ref_id, eta)
    return status


def _due(row: EventDelivery | None, now: datetime) -> bool:
    return (row is not None and row.status == PENDING and row.next_attempt_at <= now
            and (row.leased_until is None or row.leased_until <= now))


def _run_handler(spine: Spine, session: Session, row: EventDelivery, name: str, now: datetime,
                 deferred: Deferred) -> tuple[datetime | None, str | None]:
    """Run the handler in a savepoint of the caller's transaction and mark the row; returns
    ``(retry at, error kind)`` of a failure."""
    retry_at = error_kind = None
    entry = spine.registry.event_handler(name)
    try:
        if entry is not None:
            event = session.get(Event, row.event_id)
            with session.begin_nested():
                entry.handler(EventContext(session, event, now, deferred))
    except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded
        deferred.clear()
        error_kind, retry_after = classify(exc)
        retry_at = deadletters.retry_or_bury(
            spine, session, row, error_kind=error_kind, error=describe(exc),
            retry_after=retry_after, max_attempts=spine.settings.inbox_max_attempts,
            kind=deadletters.DELIVERY_KIND, organization_id=None, now=now, consumer=name)
    else:
        row.attempts += 1
        row.status = DONE if entry is not None else SKIPPED
        row.delivered_at, row.last_error = now, None
    return retry_at, error_kind


def _send(spine: Spine, delivery_id: int) -> str | None:
    """POST to the subscriber outside any transaction, under a lease that keeps a second
    worker off the same delivery; a crash mid-request leaves the lease to expire and the sweep
    sends again (at least once; ``webhook-id`` lets the receiver deduplicate)."""
    now = spine.clock()
    lease = timedelta(seconds=spine.settings.outgoing_timeout_seconds + 30)
    with spine.database.transaction() as session:
        row = session.get(EventDelivery, delivery_id, with_for_update=True)
        if not _due(row, now):
            return row.status
        subscription = row.subscription
        if subscription is None or subscription.status != "active":
            reason = subscription.disabled_reason if subscription else "subscription deleted"
            deadletters.retry_or_bury(
                spine, session, row, error_kind="configuration",
                error=f"subscription not active: {reason}", retry_after=None, max_attempts=0,
                kind=deadletters.DELIVERY_KIND,
                organization_id=subscription.organization_id if subscription else None, now=now)
            return row.status
        row.leased_until = now + lease
        event = session.get(Event, row.event_id)
        body, url = outgoing.event_body(event), subscription.url
        secret = decrypt(subscription.secret)
    outcome = _post(spine, url, f"msg_{delivery_id}", int(now.timestamp()), secret, body)
    return _record(spine, delivery_id, outcome)


def _post(spine: Spine, url: str, msg_id: str, timestamp: int, secret: str,
          body: bytes) -> HttpOutcome:
    refusal = outgoing.target_refusal(
        url, allow_private=spine.settings.webhook_allow_private_targets)
    if refusal is not None:
        return HttpOutcome(None, 0, refusal)
    return spine.http.post(url, body, outgoing.signed_headers(secret, msg_id, timestamp, body))


def _record(spine: Spine, delivery_id: int, outcome: HttpOutcome) -> str | None:
    now = spine.clock()
    retry_at = None
    with spine.database.transaction() as session:
        row = session.get(EventDelivery, delivery_id, with_for_update=True)
        if row is None or row.subscription is None:  # deleted while the request ran
            return None
        subscription = row.subscription
        session.add(DeliveryAttempt(delivery_id=row.id, attempted_at=now,
                                    status_code=outcome.status_code,
                                    duration_ms=outcome.duration_ms, error=outcome.error))
        row.leased_until = None
        if outcome.ok:
            row.attempts += 1
            row.status, row.delivered_at, row.last_error = DONE, now, None
            subscription.failing_since = None
        else:
            _note_failure(spine, subscription, outcome, now)
            max_attempts = (spine.settings.outbox_max_attempts
                            if subscription.status == "active" else 0)
            retry_at = deadletters.retry_or_bury(
                spine, session, row, error_kind="retriable", error=outcome.error or "failed",
                retry_after=outcome.retry_after, max_attempts=max_attempts,
                kind=deadletters.DELIVERY_KIND, organization_id=subscription.organization_id,
                now=now, subscription_id=subscription.id)
        status, attempts, event_id = row.status, row.attempts, row.event_id
    # the subscriber's URL is left out: its query string may hold the subscriber's token
    logline.emit(log, "webhook.sent", delivery=delivery_id, event=event_id,
                 subscription=subscription.id, attempt=attempts,
                 outcome="retry" if retry_at is not None else status,
                 http_status=outcome.status_code, duration_ms=outcome.duration_ms)
    if retry_at is not None:
        spine.try_enqueue(DELIVERY, delivery_id, retry_at)
    return status


def _note_failure(spine: Spine, subscription: WebhookSubscription, outcome: HttpOutcome,
                  now: datetime) -> None:
    """Disable a subscriber that has failed without a single success for too long."""
    if subscription.failing_since is None:
        subscription.failing_since = now
        return
    limit = timedelta(seconds=spine.settings.subscriber_disable_after_seconds)
    if now - subscription.failing_since >= limit:
        subscription.status = "disabled"
        subscription.disabled_reason = (
            f"every delivery failed since {subscription.failing_since.isoformat()}; "
            f"last: {outcome.error}")
        log.warning("subscription disabled id=%s", subscription.id)


def due_ids(session: Session, before: datetime, now: datetime, limit: int = 1000) -> list[int]:
    """Pending deliveries due before ``before`` and not under a live lease."""
    return list(session.scalars(
        sa.select(EventDelivery.id)
        .where(EventDelivery.status == PENDING, EventDelivery.next_attempt_at <= before,
               sa.or_(EventDelivery.leased_until.is_(None), EventDelivery.leased_until <= now))
        .order_by(EventDelivery.id).limit(limit)))
