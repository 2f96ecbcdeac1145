"""Backlog counters of the spine, in the Prometheus text format."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from webhooks.models import PENDING, DeadLetter, EventDelivery, InboxDelivery


def counts(session: Session) -> dict[str, int]:
    def count(query: sa.Select) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0

    return {
        "glue_inbox_backlog": count(sa.select(InboxDelivery.id)
                                    .where(InboxDelivery.status == PENDING)),
        "glue_outbox_backlog": count(sa.select(EventDelivery.id)
                                     .where(EventDelivery.status == PENDING)),
        "glue_dead_letters": count(sa.select(DeadLetter.id)
                                   .where(DeadLetter.replayed_at.is_(None))),
    }


HELP = {
    "glue_inbox_backlog": "Webhook deliveries received and not yet processed.",
    "glue_outbox_backlog": "Event deliveries not yet delivered.",
    "glue_dead_letters": "Dead letters not yet replayed.",
}


def exposition(values: dict[str, int]) -> str:
    lines = []
    for name, value in values.items():
        lines += [f"# HELP {name} {HELP[name]}", f"# TYPE {name} gauge", f"{name} {value}"]
    return "\n".join(lines) + "\n"
