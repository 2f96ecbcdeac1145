"""The outbox: events fan out to the subscribers allowed to see them and to event handlers,
are delivered over real HTTP on loopback, signed per Standard Webhooks, retried, recorded,
dead-lettered and replayed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
import standardwebhooks

from core import events
from core.db import Database, utcnow
from core.models import Event
from core.principal import SYSTEM, Principal
from tests.webhooks.conftest import FakeClock, RecordingQueue, new_org
from webhooks import deadletters, outbox, subscriptions
from webhooks.handlers import EventContext
from webhooks.models import DeadLetter, DeliveryAttempt, EventDelivery, WebhookSubscription
from webhooks.spine import DELIVERY, Spine
from webhooks.sweep import sweep


class Subscriber:
    """A webhook receiver on 127.0.0.1 that answers the scripted statuses, then 200."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.requests: list[tuple[dict[str, str], bytes]] = []
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                subscriber.requests.append((dict(self.headers), body))
                status = subscriber.script.pop(0) if subscriber.script else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    server = Subscriber()
    yield server
    server.close()


def subscribe(db: Database, organization_id: int, url: str,
              types: tuple[str, ...] = ("shipment.created",)) -> tuple[int, str]:
    admin = Principal(organization_id=organization_id, permissions=frozenset({"admin"}))
    with db.transaction() as session:
        subscription, secret = subscriptions.create(session, admin, url, list(types),
                                                    allow_private=True,
                                                    now=utcnow())
        return subscription.id, secret


def record(db: Database, type_: str, organization_ids: list[int], **data: object) -> int:
    with db.transaction() as session:
        event = events.record(session, SYSTEM, type_, "shipment", "S-1", organization_ids,
                              **data)
        session.flush()
        return event.id


def two_orgs(db: Database) -> tuple[int, int]:
    with db.transaction() as session:
        return new_org(session, supplier=True).id, new_org(session).id


def deliveries(db: Database) -> list[EventDelivery]:
    with db.sessions() as session:
        return list(session.scalars(sa.select(EventDelivery).order_by(EventDelivery.id)))


def attempts(db: Database) -> list[DeliveryAttempt]:
    with db.sessions() as session:
        return list(session.scalars(sa.select(DeliveryAttempt).order_by(DeliveryAttempt.id)))


def independent_signature_ok(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks verification written from the spec, not from Glue's code."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = b".".join([headers["webhook-id"].encode(), headers["webhook-timestamp"].encode(),
                        body])
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(part == f"v1,{expected}" for part in headers["webhook-signature"].split(" "))


def test_events_fan_out_only_to_subscribers_allowed_to_see_them(
        db: Database, spine: Spine, queue: RecordingQueue) -> None:
    supplier_id, retailer_id = two_orgs(db)
    record(db, "shipment.created", [supplier_id])  # before any subscription: not delivered
    mine, _ = subscribe(db, supplier_id, "http://127.0.0.1:9/a")
    others, _ = subscribe(db, retailer_id, "http://127.0.0.1:9/b")
    wildcard, _ = subscribe(db, retailer_id, "http://127.0.0.1:9/c", ("*",))

    shipment = record(db, "shipment.created", [supplier_id])
    order = record(db, "order.updated", [retailer_id])
    created = outbox.fan_out(spine)
    again = outbox.fan_out(spine)

    assert (created, again) == (2, 0)
    assert {(d.subscription_id, d.event_id) for d in deliveries(db)} == {
        (mine, shipment), (wildcard, order)}
    assert others not in {d.subscription_id for d in deliveries(db)}
    assert sorted(queue.ids(DELIVERY)) == sorted(d.id for d in deliveries(db))


def test_a_subscriber_failing_twice_gets_the_event_once_it_answers_200(
        db: Database, spine: Spine, clock: FakeClock, subscriber: Subscriber) -> None:
    supplier_id, _ = two_orgs(db)
    _, secret = subscribe(db, supplier_id, subscriber.url)
    event_id = record(db, "shipment.created", [supplier_id], shipmentId="S-1")
    outbox.fan_out(spine)
    [delivery] = deliveries(db)
    subscriber.script = [500, 500]

    statuses = []
    for _ in range(3):
        statuses.append(outbox.deliver(spine, delivery.id))
        clock.now = max(clock.now, deliveries(db)[0].next_attempt_at)

    assert statuses == ["pending", "pending", "done"]
    assert [a.status_code for a in attempts(db)] == [500, 500, 200]
    assert all(a.duration_ms >= 0 for a in attempts(db))
    assert attempts(db)[0].error == "HTTP 500"
    ids = {headers["webhook-id"] for headers, _ in subscriber.requests}
    assert ids == {f"msg_{delivery.id}"}  # the same id on every retry
    headers, body = subscriber.requests[-1]
    assert independent_signature_ok(secret, headers, body)
    payload = json.loads(body)
    assert payload["type"] == "shipment.created"
    assert payload["data"]["eventId"] == event_id and payload["data"]["shipmentId"] == "S-1"
    assert outbox.deliver(spine, delivery.id) == "done"
    assert len(subscriber.requests) == 3


def test_signature_verifies_with_the_standardwebhooks_package(
        db: Database, spine: Spine, subscriber: Subscriber) -> None:
    supplier_id, _ = two_orgs(db)
    _, secret = subscribe(db, supplier_id, subscriber.url)
    record(db, "shipment.created", [supplier_id])
    outbox.fan_out(spine)
    spine.clock = utcnow  # the package checks the timestamp against the real time

    outbox.deliver(spine, deliveries(db)[0].id)

    headers, body = subscriber.requests[0]
    verified = standardwebhooks.Webhook(secret).verify(body, headers)
    assert verified["type"] == "shipment.created"
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body + b" ", headers)


def test_the_last_failed_attempt_dead_letters_and_replay_delivers(
        db: Database, spine: Spine, clock: FakeClock, subscriber: Subscriber,
        queue: RecordingQueue) -> None:
    supplier_id, _ = two_orgs(db)
    subscribe(db, supplier_id, subscriber.url)
    record(db, "shipment.created", [supplier_id])
    outbox.fan_out(spine)
    [delivery] = deliveries(db)
    subscriber.script = [503] * spine.settings.outbox_max_attempts

    for _ in range(spine.settings.outbox_max_attempts):
        outbox.deliver(spine, delivery.id)
        clock.now = max(clock.now, deliveries(db)[0].next_attempt_at)

    assert deliveries(db)[0].status == "dead"
    with db.sessions() as session:
        [letter] = session.scalars(sa.select(DeadLetter)).all()
    assert (letter.kind, letter.organization_id, letter.attempts) == (
        "event_delivery", supplier_id, spine.settings.outbox_max_attempts)

    deadletters.replay(spine, [letter.id])
    assert outbox.deliver(spine, delivery.id) == "done"
    assert len(attempts(db)) == spine.settings.outbox_max_attempts + 1


def test_a_subscriber_failing_for_days_is_disabled_with_a_reason(
        db: Database, spine: Spine, clock: FakeClock, subscriber: Subscriber) -> None:
    supplier_id, _ = two_orgs(db)
    subscription_id, _ = subscribe(db, supplier_id, subscriber.url)
    spine.settings.outbox_max_attempts = 100
    subscriber.script = [500] * 100
    record(db, "shipment.created", [supplier_id])
    outbox.fan_out(spine)
    [delivery] = deliveries(db)

    outbox.deliver(spine, delivery.id)
    clock.advance(spine.settings.subscriber_disable_after_seconds + 1)
    outbox.deliver(spine, delivery.id)

    with db.sessions() as session:
        subscription = session.get(WebhookSubscription, subscription_id)
    assert subscription.status == "disabled"
    assert "HTTP 500" in subscription.disabled_reason
    assert deliveries(db)[0].status == "dead"
    record(db, "shipment.created", [supplier_id])
    assert outbox.fan_out(spine) == 0  # a disabled subscriber gets nothing new


def test_private_targets_are_refused_unless_allowed(
        db: Database, spine: Spine, subscriber: Subscriber) -> None:
    supplier_id, _ = two_orgs(db)
    subscribe(db, supplier_id, subscriber.url)
    record(db, "shipment.created", [supplier_id])
    outbox.fan_out(spine)
    spine.settings.webhook_allow_private_targets = False

    outbox.deliver(spine, deliveries(db)[0].id)

    assert subscriber.requests == []
    assert "private" in attempts(db)[0].error


def test_event_handlers_run_once_in_the_transaction_that_marks_them_done(
        db: Database, spine: Spine, clock: FakeClock) -> None:
    seen = []
    failures = {"left": 1}

    @spine.registry.on_event("connector-fulfilment", ["shipment.updated"])
    def push(ctx: EventContext) -> None:
        events.record(ctx.session, SYSTEM, "test.pushed", "shipment", ctx.event.id, [])
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("shop timed out")
        seen.append(ctx.event.id)

    event_id = record(db, "shipment.updated", [1])
    record(db, "shipment.created", [1])
    outbox.fan_out(spine)
    [delivery] = deliveries(db)

    first = outbox.deliver(spine, delivery.id)
    clock.now = deliveries(db)[0].next_attempt_at
    second = outbox.deliver(spine, delivery.id)
    third = outbox.deliver(spine, delivery.id)

    assert (first, second, third) == ("pending", "done", "done")
    assert seen == [event_id]
    with db.sessions() as session:
        pushed = session.scalars(sa.select(Event).where(Event.type == "test.pushed")).all()
    assert len(pushed) == 1  # the failed run's effect was rolled back


def test_a_crash_between_commit_and_enqueue_of_an_event_is_delivered_by_the_sweep(
        db: Database, spine: Spine, clock: FakeClock, queue: RecordingQueue,
        subscriber: Subscriber) -> None:
    supplier_id, _ = two_orgs(db)
    subscribe(db, supplier_id, subscriber.url)
    record(db, "shipment.created", [supplier_id])  # committed; nobody enqueued anything

    queue.down = True
    sweep(spine)  # fans out; the delivery's own enqueue is lost too
    queue.down = False
    clock.advance(spine.settings.sweep_grace_seconds + 1)
    sweep(spine)
    for _, ref_id, _ in queue.jobs:
        outbox.deliver(spine, ref_id)

    assert [d.status for d in deliveries(db)] == ["done"]
    assert len(subscriber.requests) == 1


def test_the_cursor_waits_at_a_gap_until_it_is_old_enough(db: Database,
                                                          clock: FakeClock) -> None:
    def event(id_: int, age: float) -> Event:
        return Event(id=id_, type="x.y", subject_type="s", subject_id="1",
                     created_at=clock.now - timedelta(seconds=age))

    settled = clock.now - timedelta(seconds=60)
    young_gap = [event(1, 5), event(2, 5), event(4, 5)]
    old_gap = [event(1, 90), event(2, 90), event(4, 90), event(5, 5)]

    assert outbox._advance(0, young_gap, settled) == 2
    assert outbox._advance(0, old_gap, settled) == 5
