"""The periodic sweep: whatever is not done re-enters the queue, so nothing committed is lost
when an enqueue failed, the queue was down, or a worker died mid-job."""

from __future__ import annotations

import logging
from datetime import timedelta

from webhooks import inbox, outbox
from webhooks.spine import DELIVERY, INBOX, Spine

log = logging.getLogger(__name__)


def sweep(spine: Spine) -> dict[str, int]:
    """Fan out new events, then enqueue every pending inbox row and event delivery that has
    been due for longer than the grace period; returns the counts."""
    fanned = 0
    while (created := outbox.fan_out(spine)) > 0:
        fanned += created
    now = spine.clock()
    before = now - timedelta(seconds=spine.settings.sweep_grace_seconds)
    with spine.database.sessions() as session:
        inbox_ids = inbox.due_ids(session, before)
        delivery_ids = outbox.due_ids(session, before, now)
    for inbox_id in inbox_ids:
        spine.try_enqueue(INBOX, inbox_id)
    for delivery_id in delivery_ids:
        spine.try_enqueue(DELIVERY, delivery_id)
    counts = {"fanned_out": fanned, "inbox": len(inbox_ids), "deliveries": len(delivery_ids)}
    if inbox_ids or delivery_ids:
        log.info("sweep re-enqueued inbox=%s deliveries=%s", len(inbox_ids), len(delivery_ids))
    return counts
