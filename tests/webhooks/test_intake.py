"""Group commit: concurrent deliveries share a commit, and a failing one fails alone."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest
import sqlalchemy as sa

from core.db import Database
from tests.webhooks.conftest import FakeClock, make_connection
from webhooks import verify
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


def test_one_outcome_per_commit_carries_every_new_delivery_to_enqueue(
        db: Database, clock: FakeClock) -> None:
    connection = make_connection(db, "magento", secret="token")
    committer = GroupCommitter(db, clock)
    committer._commit([(arrival(connection.key, 1), Future())])  # k1 is known already
    batch = [(arrival(connection.key, 1), Future()), (arrival(connection.key, 2), Future()),
             (arrival(connection.key, 3), Future())]

    committer._commit(batch)

    outcomes = [future.result() for _, future in batch]
    assert [o.created for o in outcomes] == [False, True, True]
    assert [o.enqueue for o in outcomes] == [(), (outcomes[1].inbox_id, outcomes[2].inbox_id),
                                             ()]
