"""Dead letters: jobs that failed fatally or ran out of attempts, and their replay."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from webhooks.errors import RETRIABLE
from webhooks.models import DEAD, PENDING, DeadLetter, EventDelivery, InboxDelivery
from webhooks.retry import next_attempt_at
from webhooks.spine import DELIVERY, INBOX, Spine

log = logging.getLogger(__name__)
INBOX_KIND = "inbox"
DELIVERY_KIND = "event_delivery"


def bury(session: Session, *, kind: str, ref_id: int, organization_id: int | None,
         error_kind: str, error: str, attempts: int, now: datetime,
         **details: object) -> DeadLetter:
    """Add a dead letter in the caller's transaction (the one that marks the job dead)."""
    letter = DeadLetter(kind=kind, ref_id=ref_id, organization_id=organization_id,
                        error_kind=error_kind, error=error, attempts=attempts,
                        details=dict(details), created_at=now)
    session.add(letter)
    log.warning("dead letter kind=%s ref=%s error_kind=%s attempts=%s", kind, ref_id,
                error_kind, attempts)
    return letter


def replay(spine: Spine, ids: Iterable[int] | None = None,
           organization_id: int | None = None) -> list[int]:
    """Put dead-lettered jobs back in the queue with fresh attempts; returns the replayed
    dead-letter ids. ``ids=None`` replays every dead letter not yet replayed;
    ``organization_id`` limits the replay to what that organization may see."""
    now = spine.clock()
    jobs: list[tuple[str, int]] = []
    with spine.database.transaction() as session:
        query = sa.select(DeadLetter).where(DeadLetter.replayed_at.is_(None))
        if ids is not None:
            query = query.where(DeadLetter.id.in_(list(ids)))
        if organization_id is not None:
            query = query.where(DeadLetter.organization_id == organization_id)
        letters = session.scalars(query.order_by(DeadLetter.id).with_for_update()).all()
        for letter in letters:
            model = InboxDelivery if letter.kind == INBOX_KIND else EventDelivery
            row = session.get(model, letter.ref_id)
            letter.replayed_at = now
            if row is None:  # the source is gone (connection or subscription deleted)
                continue
            row.status, row.attempts, row.next_attempt_at = PENDING, 0, now
            if isinstance(row, EventDelivery):
                row.leased_until = None
            jobs.append((INBOX if letter.kind == INBOX_KIND else DELIVERY, row.id))
        replayed = [letter.id for letter in letters]
    for job, ref_id in jobs:
        spine.try_enqueue(job, ref_id)
    log.info("replayed dead letters count=%s", len(replayed))
    return replayed


def retry_or_bury(spine: Spine, session: Session, row: InboxDelivery | EventDelivery, *,
                  error_kind: str, error: str, retry_after: float | None, max_attempts: int,
                  kind: str, organization_id: int | None, now: datetime,
                  **details: object) -> datetime | None:
    """Count a failed attempt on ``row``: schedule the next one (returned) when the error is
    retriable and attempts remain, otherwise mark the row dead and add its dead letter."""
    row.attempts += 1
    row.last_error = error
    if error_kind == RETRIABLE and row.attempts < max_attempts:
        row.next_attempt_at = next_attempt_at(
            now, row.attempts, base=spine.settings.retry_base_seconds,
            cap=spine.settings.retry_max_seconds, retry_after=retry_after, rng=spine.rng)
        return row.next_attempt_at
    row.status = DEAD
    bury(session, kind=kind, ref_id=row.id, organization_id=organization_id,
         error_kind=error_kind, error=error, attempts=row.attempts, now=now, **details)
    return None
