"""Processing the inbox: exactly once in effect, retries with back-off, dead letters, replay,
and the sweep that recovers deliveries whose enqueue was lost."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading

import sqlalchemy as sa
from flask.testing import FlaskClient

from connectors.errors import Fatal, NeedsConfiguration, Retriable
from core import events
from core.db import Database
from core.models import Event, ShopConnection
from core.principal import SYSTEM
from tests.webhooks.conftest import (
    WOO_SECRET,
    FakeClock,
    RecordingQueue,
    make_connection,
    recorded,
)
from webhooks import deadletters, inbox
from webhooks.handlers import InboxContext
from webhooks.models import DeadLetter, InboxDelivery
from webhooks.spine import INBOX, Spine
from webhooks.sweep import sweep


def receive(db: Database, client: FlaskClient, name: str = "order_created",
            connection: ShopConnection | None = None, body: bytes | None = None) -> int:
    """Post a recorded WooCommerce delivery (optionally with another, re-signed body)."""
    connection = connection or make_connection(db, "woocommerce", secret=WOO_SECRET)
    sample = recorded("woocommerce", name)
    headers = sample.post_headers()
    if body is not None:
        headers["X-WC-Webhook-Signature"] = base64.b64encode(
            hmac.new(WOO_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    response = client.post(f"/webhooks/woocommerce/{connection.key}",
                           data=sample.body if body is None else body, headers=headers)
    assert response.status_code == 200
    with db.sessions() as session:
        return session.scalar(sa.select(sa.func.max(InboxDelivery.id)))


def effects(db: Database) -> list[str]:
    with db.sessions() as session:
        return list(session.scalars(sa.select(Event.subject_id)
                                    .where(Event.type == "test.order_imported")
                                    .order_by(Event.id)))


def row(db: Database, delivery_id: int) -> InboxDelivery:
    with db.sessions() as session:
        return session.get(InboxDelivery, delivery_id)


def dead_letters(db: Database) -> list[DeadLetter]:
    with db.sessions() as session:
        return list(session.scalars(sa.select(DeadLetter).order_by(DeadLetter.id)))


def import_order(ctx: InboxContext) -> None:
    """A handler with a database effect: one event per processed delivery."""
    events.record(ctx.session, SYSTEM, "test.order_imported", "order", ctx.payload["id"], [])


def test_a_delivery_is_handled_once_however_often_its_job_runs(
        db: Database, client: FlaskClient, spine: Spine) -> None:
    spine.registry.inbox("woocommerce", "order.created")(import_order)
    delivery_id = receive(db, client)

    statuses = [inbox.process_delivery(spine, delivery_id) for _ in range(3)]

    assert statuses == ["done", "done", "done"]
    assert effects(db) == ["29"]
    assert row(db, delivery_id).attempts == 1


def test_a_topic_without_handler_is_skipped(db: Database, client: FlaskClient,
                                            spine: Spine) -> None:
    delivery_id = receive(db, client, "product_created_variable")

    assert inbox.process_delivery(spine, delivery_id) == "skipped"


def test_malformed_json_with_a_valid_signature_is_stored_and_dead_lettered_as_fatal(
        db: Database, client: FlaskClient, spine: Spine) -> None:
    spine.registry.inbox("woocommerce", "order.created")(import_order)
    delivery_id = receive(db, client, body=b'{"id": 29, "status": ')

    status = inbox.process_delivery(spine, delivery_id)

    assert status == "dead"
    [letter] = dead_letters(db)
    assert (letter.kind, letter.ref_id, letter.error_kind) == ("inbox", delivery_id, "fatal")
    assert "not valid JSON" in letter.error
    assert effects(db) == []


def test_retriable_errors_back_off_then_dead_letter_after_the_last_attempt(
        db: Database, client: FlaskClient, spine: Spine, clock: FakeClock,
        queue: RecordingQueue) -> None:
    calls = []

    def flaky(ctx: InboxContext) -> None:
        import_order(ctx)  # rolled back with the failure
        calls.append(ctx.now)
        raise Retriable("shop answered 503")

    spine.registry.inbox("woocommerce", "order.created")(flaky)
    delivery_id = receive(db, client)
    delays = []

    for _ in range(spine.settings.inbox_max_attempts):
        assert inbox.process_delivery(spine, delivery_id) in ("pending", "dead")
        current = row(db, delivery_id)
        assert inbox.process_delivery(spine, delivery_id) == current.status  # not due yet
        delays.append((current.next_attempt_at - clock.now).total_seconds())
        clock.now = current.next_attempt_at

    assert len(calls) == spine.settings.inbox_max_attempts
    assert row(db, delivery_id).status == "dead"
    # equal jitter: each delay within [nominal/2, nominal], nominal doubling from 10 s
    for attempt, delay in enumerate(delays[:-1], start=1):
        nominal = 10 * 2 ** (attempt - 1)
        assert nominal / 2 <= delay <= nominal
    [letter] = dead_letters(db)
    assert letter.error_kind == "retriable" and letter.attempts == 4
    assert "shop answered 503" in letter.error
    assert effects(db) == []
    retries = [eta for job, ref, eta in queue.jobs if job == INBOX and eta is not None]
    assert len(retries) == 3


def test_retry_after_from_the_shop_sets_the_next_attempt(
        db: Database, client: FlaskClient, spine: Spine, clock: FakeClock) -> None:
    def throttled(ctx: InboxContext) -> None:
        raise Retriable("429", retry_after=120)

    spine.registry.inbox("woocommerce", "order.created")(throttled)
    delivery_id = receive(db, client)

    inbox.process_delivery(spine, delivery_id)

    assert (row(db, delivery_id).next_attempt_at - clock.now).total_seconds() == 120


def test_needs_configuration_dead_letters_at_once_and_pauses_the_connection(
        db: Database, client: FlaskClient, spine: Spine) -> None:
    def revoked(ctx: InboxContext) -> None:
        raise NeedsConfiguration("access token revoked")

    spine.registry.inbox("woocommerce", "order.created")(revoked)
    connection = make_connection(db, "woocommerce", secret=WOO_SECRET)
    delivery_id = receive(db, client, connection=connection)

    assert inbox.process_delivery(spine, delivery_id) == "dead"
    with db.sessions() as session:
        assert session.get(ShopConnection, connection.id).status == "paused"
    [letter] = dead_letters(db)
    assert letter.error_kind == "configuration"
    assert letter.organization_id == connection.retailer_id


def test_replay_runs_a_dead_letter_again(db: Database, client: FlaskClient, spine: Spine,
                                         queue: RecordingQueue) -> None:
    broken = {"yes": True}

    def handler(ctx: InboxContext) -> None:
        if broken["yes"]:
            raise Fatal("mapping missing")
        import_order(ctx)

    spine.registry.inbox("woocommerce", "order.created")(handler)
    delivery_id = receive(db, client)
    inbox.process_delivery(spine, delivery_id)
    [letter] = dead_letters(db)
    broken["yes"] = False

    replayed = deadletters.replay(spine, [letter.id])
    assert queue.jobs[-1] == (INBOX, delivery_id, None)
    status = inbox.process_delivery(spine, delivery_id)

    assert replayed == [letter.id] and status == "done"
    assert effects(db) == ["29"]
    assert dead_letters(db)[0].replayed_at is not None
    assert deadletters.replay(spine) == []  # nothing left to replay


def test_a_crash_between_commit_and_enqueue_is_recovered_by_the_sweep(
        db: Database, client: FlaskClient, spine: Spine, clock: FakeClock,
        queue: RecordingQueue) -> None:
    spine.registry.inbox("woocommerce", "order.created")(import_order)
    queue.down = True  # the enqueue after the commit is lost
    delivery_id = receive(db, client)
    queue.down = False

    early = sweep(spine)  # within the grace period the receiver's own enqueue may still land
    clock.advance(spine.settings.sweep_grace_seconds + 1)
    late = sweep(spine)
    assert queue.jobs == [(INBOX, delivery_id, None)]
    for job, ref_id, _ in queue.jobs:
        assert job == INBOX
        inbox.process_delivery(spine, ref_id)

    assert (early["inbox"], late["inbox"]) == (0, 1)
    assert effects(db) == ["29"]
    assert sweep(spine)["inbox"] == 0


def test_five_workers_running_the_same_job_at_once_handle_it_once(
        db: Database, client: FlaskClient, spine: Spine) -> None:
    spine.registry.inbox("woocommerce", "order.created")(import_order)
    delivery_id = receive(db, client)
    barrier = threading.Barrier(5)
    statuses: list[str | None] = []

    def work() -> None:
        barrier.wait()
        statuses.append(inbox.process_delivery(spine, delivery_id))

    threads = [threading.Thread(target=work) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == ["done"] * 5
    assert effects(db) == ["29"]
