"""An event handler's delivery costs one database transaction: the row is looked up, locked,
handled and marked in it (on SQLite every transaction queues on the process's write lock, and
every order's ``order.created`` has such a delivery)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event as sa_event

from core import events
from core.db import Database
from core.principal import SYSTEM
from webhooks import outbox
from webhooks.handlers import EventContext
from webhooks.models import EventDelivery
from webhooks.spine import Spine


def test_a_handler_delivery_runs_in_one_transaction(db: Database, spine: Spine) -> None:
    seen: list[str] = []

    @spine.registry.on_event("test-one-transaction", ["order.created"])
    def handle(ctx: EventContext) -> None:
        seen.append(ctx.event.subject_id)

    with db.transaction() as session:
        events.record(session, SYSTEM, "order.created", "order", "A-1", [])
    outbox.fan_out(spine)
    with db.sessions() as session:
        [delivery_id] = session.scalars(sa.select(EventDelivery.id).where(
            EventDelivery.consumer == "handler:test-one-transaction"))

    begins: list[object] = []
    listener = lambda conn: begins.append(conn)  # noqa: E731
    sa_event.listen(db.engine, "begin", listener)
    try:
        first = outbox.deliver(spine, delivery_id)
        again = outbox.deliver(spine, delivery_id)
    finally:
        sa_event.remove(db.engine, "begin", listener)

    assert (first, again) == ("done", "done")
    assert seen == ["A-1"]  # the repeat found the row done and ran nothing
    assert len(begins) == 2  # one transaction per call


def test_an_unknown_delivery_is_none(spine: Spine) -> None:
    assert outbox.deliver(spine, 987654) is None
