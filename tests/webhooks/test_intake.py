"""Group commit: concurrent deliveries share a commit, and a failing one fails alone."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from concurrent.futures import Future

import pytest
import sqlalchemy as sa

from core.crypto import encrypt
from core.db import Database
from core.models import ShopConnection
from tests.webhooks.conftest import FakeClock, make_connection
from webhooks import intake, verify
from webhooks.intake import Arrival, GroupCommitter, Outcome
from webhooks.models import InboxDelivery


def arrival(key: str, n: int, **kw: object) -> Arrival:
    return Arrival(platform="magento", key=key, topic="sales.order.created",
                   delivery_key=f"k{n}", body=b'{"data": {}}', **kw)


def stored_keys(db: Database) -> list[str]:
    with db.sessions() as session:
        return sorted(session.scalars(sa.select(InboxDelivery.delivery_key)))


def test_one_failing_delivery_does_not_fail_its_batch(db: Database, clock: FakeClock) -> None:
    connection = make_connection(db, "magento", secret="token")

    def explode(secret: str, body: bytes, signature: str | None) -> bool:
        raise RuntimeError("broken check")

    committer = GroupCommitter(db, clock)
    batch = [(arrival(connection.key, 1), Future()),
             (arrival(connection.key, 2, verify=explode, signature="x"), Future()),
             (arrival("no-such-key", 3), Future()),
             (arrival(connection.key, 4, verify=verify.magento_valid, signature="bad"), Future())]

    committer._commit(batch)

    assert batch[0][1].result() == Outcome(200, connection.id, batch[0][1].result().inbox_id,
                                           True, connection.key)
    with pytest.raises(RuntimeError, match="broken check"):
        batch[1][1].result()
    assert [batch[2][1].result().status, batch[3][1].result().status] == [404, 401]
    assert stored_keys(db) == ["k1"]


def test_concurrent_submissions_are_all_committed(db: Database, clock: FakeClock) -> None:
    connection = make_connection(db, "magento", secret="token")
    committer = GroupCommitter(db, clock)
    outcomes: list[Outcome] = []

    def submit(start: int) -> None:
        for n in range(start, start + 20):
            outcomes.append(committer.submit(arrival(connection.key, n)))

    threads = [threading.Thread(target=submit, args=(i * 100,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(outcomes) == 120 and all(o.status == 200 and o.created for o in outcomes)
    assert len(stored_keys(db)) == 120


def test_each_commit_enqueues_its_new_deliveries_once_before_answering(
        db: Database, clock: FakeClock) -> None:
    connection = make_connection(db, "magento", secret="token")
    enqueued: list[list[int]] = []
    answered_before_enqueue: list[bool] = []
    batch = [(arrival(connection.key, 1), Future()), (arrival(connection.key, 2), Future()),
             (arrival(connection.key, 1), Future()), (arrival(connection.key, 3), Future())]

    def enqueue(ids: list[int]) -> None:
        answered_before_enqueue.append(any(future.done() for _, future in batch))
        enqueued.append(ids)

    committer = GroupCommitter(db, clock, enqueue=enqueue)
    committer._commit([(arrival(connection.key, 3), Future())])  # k3 is known already
    committer._commit(batch)

    outcomes = [future.result() for _, future in batch]
    # within a batch too, a repeated delivery key is the first one's duplicate
    assert [o.created for o in outcomes] == [True, True, False, False]
    assert outcomes[2].inbox_id == outcomes[0].inbox_id
    assert enqueued[1] == [outcomes[0].inbox_id, outcomes[1].inbox_id]
    assert answered_before_enqueue == [False, False]
    assert stored_keys(db) == ["k1", "k2", "k3"]


def test_a_reused_connection_row_never_refuses_a_rotated_secret_or_stores_for_a_deleted_one(
        db: Database, clock: FakeClock) -> None:
    connection = make_connection(db, "magento", secret="old-token")
    committer = GroupCommitter(db, clock, connection_ttl=3600)

    def signed(n: int, secret: str) -> tuple[Arrival, Future[Outcome]]:
        body = b'{"n": %d}' % n
        return (Arrival(platform="magento", key=connection.key, topic="t", delivery_key=f"k{n}",
                        body=body, verify=verify.magento_valid,
                        signature=hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()),
                Future())

    first = signed(1, "old-token")
    committer._commit([first])
    with db.transaction() as session:  # the merchant rotates the secret
        session.get(ShopConnection, connection.id).credentials = encrypt(
            json.dumps({"webhook_secret": "new-token"}))
    rotated, stale = signed(2, "new-token"), signed(3, "old-token")
    committer._commit([rotated, stale])
    with db.transaction() as session:  # then disconnects the shop
        session.delete(session.get(ShopConnection, connection.id))
    deleted = signed(4, "new-token")
    committer._commit([deleted])

    assert [f.result().status for _, f in (first, rotated, stale, deleted)] == [200, 200, 401,
                                                                                404]
    assert stored_keys(db) == []  # the connection's deliveries went with it


def test_a_connection_created_after_a_404_is_found_at_once(db: Database,
                                                           clock: FakeClock) -> None:
    committer = GroupCommitter(db, clock, connection_ttl=3600)
    early = (arrival("conn-later", 1), Future())
    committer._commit([early])
    connection = make_connection(db, "magento", secret="token")
    with db.transaction() as session:
        session.get(ShopConnection, connection.id).key = "conn-later"
    later = (arrival("conn-later", 2), Future())
    committer._commit([later])

    assert (early[1].result().status, later[1].result().status) == (404, 200)


def test_a_commit_waits_for_an_announced_delivery_but_not_for_a_withdrawn_one(
        db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(intake, "GATHER_SECONDS", 30.0)  # only an arrival or a withdrawal ends it
    connection = make_connection(db, "magento", secret="token")
    batches: list[list[int]] = []
    committer = GroupCommitter(db, clock, enqueue=batches.append)

    def lead(n: int) -> threading.Thread:
        thread = threading.Thread(target=committer.submit, args=(arrival(connection.key, n),))
        thread.start()
        while committer._leading == 0:  # it leads a commit and waits for the announced one
            time.sleep(0.001)
        return thread

    committer.announce()
    leader = lead(1)
    committer.submit(arrival(connection.key, 2), announced=True)
    leader.join(5)
    committer.announce()
    leader = lead(3)
    committer.withdraw()  # that request was refused (413, 401...) before submitting
    leader.join(5)

    assert not leader.is_alive()
    assert [len(batch) for batch in batches] == [2, 1]
