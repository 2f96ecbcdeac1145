"""The Huey side: jobs on a real SqliteHuey in a temporary folder, the in-process consumer,
the after-commit kick, and the ``glue replay`` command."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.testing import FlaskClient
from huey import MemoryHuey, SqliteHuey

from connectors.errors import Fatal
from core import events
from core.db import Database, utcnow
from core.models import Event
from core.principal import SYSTEM, Principal
from glue import worker
from tests.webhooks.conftest import WOO_SECRET, make_connection, new_org, recorded
from webhooks import inbox, subscriptions
from webhooks.handlers import InboxContext
from webhooks.models import DeadLetter, EventDelivery, InboxDelivery
from webhooks.spine import INBOX, Spine


@pytest.fixture
def huey(tmp_path: Path, spine: Spine) -> Iterator[SqliteHuey]:
    """A SqliteHuey in tmp_path wired to the test spine; the module state is restored."""
    saved = worker._huey, dict(worker._tasks), worker._spine
    queue = worker.use_huey(SqliteHuey("glue-test", filename=str(tmp_path / "huey.db"),
                                       results=False))
    spine.enqueue = worker.enqueue
    worker.set_spine(spine)
    yield queue
    worker.uninstall_event_kick()
    worker._huey, worker._spine = saved[0], saved[2]
    worker._tasks.clear()
    worker._tasks.update(saved[1])


def post_order(db: Database, client: FlaskClient) -> None:
    connection = make_connection(db, "woocommerce", secret=WOO_SECRET)
    sample = recorded("woocommerce", "order_created")
    response = client.post(f"/webhooks/woocommerce/{connection.key}", data=sample.body,
                           headers=sample.post_headers())
    assert response.status_code == 200


def inbox_statuses(db: Database) -> list[str]:
    with db.sessions() as session:
        return list(session.scalars(sa.select(InboxDelivery.status)))


def test_a_received_delivery_waits_in_the_queue_until_a_worker_runs_it(
        db: Database, client: FlaskClient, spine: Spine, huey: SqliteHuey) -> None:
    spine.registry.inbox("woocommerce", "order.created")(lambda ctx: None)

    post_order(db, client)

    assert huey.pending_count() == 1 and inbox_statuses(db) == ["pending"]
    huey.execute(huey.dequeue())
    assert inbox_statuses(db) == ["done"]


def test_a_retry_is_scheduled_in_the_queue_at_its_next_attempt(
        db: Database, client: FlaskClient, spine: Spine, huey: SqliteHuey) -> None:
    def failing(ctx: InboxContext) -> None:
        raise TimeoutError("shop slow")

    spine.registry.inbox("woocommerce", "order.created")(failing)
    post_order(db, client)

    huey.execute(huey.dequeue())
    retry = huey.dequeue()

    assert inbox_statuses(db) == ["pending"]
    with db.sessions() as session:
        row = session.scalars(sa.select(InboxDelivery)).one()
    assert retry.name == "glue.inbox" and retry.args == (row.id,)
    assert retry.eta == row.next_attempt_at.replace(tzinfo=None)  # Huey keeps naive UTC


def test_the_in_process_worker_processes_deliveries_and_stops(
        db: Database, client: FlaskClient, spine: Spine, huey: SqliteHuey) -> None:
    spine.clock = utcnow  # the consumer runs in real time
    spine.registry.inbox("woocommerce", "order.created")(lambda ctx: None)
    consumer = worker.start_in_process_worker(workers=1)
    try:
        post_order(db, client)
        deadline = time.monotonic() + 10
        while inbox_statuses(db) != ["done"] and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        consumer.stop(graceful=True)

    assert inbox_statuses(db) == ["done"]


def test_committed_events_are_fanned_out_right_after_commit(
        db: Database, spine: Spine, huey: SqliteHuey) -> None:
    immediate = worker.use_huey(MemoryHuey("glue-immediate", immediate=True))
    assert immediate.immediate
    worker.install_event_kick()
    with db.transaction() as session:
        supplier = new_org(session, supplier=True)
    admin = Principal(organization_id=supplier.id, permissions=frozenset({"admin"}))
    with db.transaction() as session:
        subscriptions.create(session, admin, "http://127.0.0.1:9/x", ["shipment.created"],
                             allow_private=True, now=utcnow())

    with db.transaction() as session:
        events.record(session, SYSTEM, "shipment.created", "shipment", "S-9", [supplier.id])

    with db.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(EventDelivery)) == 1


def test_glue_replay_replays_the_given_dead_letters(
        db: Database, client: FlaskClient, spine: Spine, huey: SqliteHuey) -> None:
    def broken(ctx: InboxContext) -> None:
        raise Fatal("no product mapping")

    spine.registry.inbox("woocommerce", "order.created")(broken)
    post_order(db, client)
    huey.execute(huey.dequeue())
    with db.sessions() as session:
        letter_id = session.scalar(sa.select(DeadLetter.id))
    runner = CliRunner()

    refused = runner.invoke(worker.replay_command, [])
    result = runner.invoke(worker.replay_command, [str(letter_id)])

    assert refused.exit_code == 2
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"replayed": [letter_id]}
    assert inbox_statuses(db) == ["pending"] and huey.pending_count() == 1


def test_the_sweep_and_the_connectors_watchdog_run_every_minute(huey: SqliteHuey) -> None:
    start = utcnow().replace(tzinfo=None, second=0, microsecond=0)

    due = [{t.name for t in huey.read_periodic(start + timedelta(minutes=m))} for m in range(3)]

    assert all({"glue.periodic.connectors.watchdog", "glue.sweep"} <= names for names in due)


def test_enqueue_failure_in_the_kick_is_not_raised(db: Database, spine: Spine,
                                                  huey: SqliteHuey,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("redis down")

    monkeypatch.setattr(worker, "enqueue", down)
    worker.install_event_kick()

    with db.transaction() as session:
        events.record(session, SYSTEM, "shipment.created", "shipment", "S-1", [])

    with db.sessions() as session:  # the commit went through despite the queue
        assert session.scalar(sa.select(sa.func.count()).select_from(Event)) == 1


def test_deliveries_committed_together_are_one_queue_task_that_runs_them_all(
        db: Database, spine: Spine, huey: SqliteHuey) -> None:
    spine.enqueue_many = worker.enqueue_many
    spine.registry.inbox("woocommerce", "order.created")(lambda ctx: None)
    connection = make_connection(db, "woocommerce", secret=WOO_SECRET)
    with db.transaction() as session:
        ids = [inbox.store_delivery(session, connection=connection, topic="order.created",
                                    delivery_key=f"k{n}", headers={}, body=b"{}",
                                    now=spine.clock())[0] for n in range(3)]

    assert spine.try_enqueue_many(INBOX, ids)
    assert huey.pending_count() == 1
    huey.execute(huey.dequeue())
    assert inbox_statuses(db) == ["done", "done", "done"]


def test_connector_tasks_run_on_the_queue_now_or_at_their_eta(
        huey: SqliteHuey, monkeypatch: pytest.MonkeyPatch) -> None:
    from connectors import sync

    ran: list[int] = []
    monkeypatch.setitem(worker._tasks, sync.SYNC,
                        huey.task(name="glue.sync-probe")(lambda ref_id: ran.append(ref_id)))
    worker.enqueue(sync.SYNC, 7)
    worker.enqueue(sync.POLL, 8, eta=utcnow() + timedelta(minutes=5))
    task = huey.dequeue()
    huey.execute(task)
    assert ran == [7]
    poll = huey.dequeue()  # the poll waits for its time
    assert poll.name == "glue.poll" and poll.args == (8,) and poll.eta is not None
