"""Admitting deliveries into the inbox, with group commit.

Every accepted delivery must be committed before the receiver answers 200 (store first). A
commit and its queue write are the expensive part (the SQLite write lock, a PostgreSQL WAL
flush), so the deliveries of concurrent requests are admitted in a single transaction (see
``GroupCommitter``): each request still waits for the commit that holds its own delivery, and a
burst of N concurrent deliveries costs one commit and one queue write instead of N. Should a
batch fail, its deliveries are admitted again one transaction each, so one bad delivery cannot
take the others with it.

Everything here shares the process's GIL with the request threads, so a batch costs as few
Python calls as it can: a Core transaction (no ORM session) on a connection kept while work
waits, one multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` for the whole batch, and
the connection rows of the last few seconds reused instead of read again (``CONNECTION_TTL``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from core.crypto import decrypt
from core.db import Database
from core.models import ShopConnection
from webhooks.models import PENDING, InboxDelivery

log = logging.getLogger(__name__)
MAX_BATCH = 64
WAIT_SECONDS = 30.0
# How long a commit's leader waits for deliveries that are already being received (announced)
# to join its batch. Each commit and queue write costs far more than a delivery's insert, so
# under load a short wait makes the batch, and so the throughput, larger; a lone delivery
# never waits.
GATHER_SECONDS = 0.002
# How long a looked-up connection row is reused by later batches. Staleness cannot wrongly
# refuse or lose a delivery: a signature that fails against a reused row is checked again
# against a fresh read, and a batch that fails (say, the connection was deleted) is admitted
# again one delivery at a time with fresh reads. A connection created meanwhile is found at
# once, as only found connections are kept.
CONNECTION_TTL = 5.0

Verifier = Callable[[str, bytes, "str | None"], bool]


@dataclass(frozen=True)
class Arrival:
    """A delivery as the request knows it. ``shop`` finds a Shopify connection by domain,
    ``key`` any other by its key; ``verify`` (when given) checks ``signature`` against the
    connection's own secret, the ``credential`` of that name in its credentials; ``ping`` is
    answered 200 when the connection exists, unstored."""

    platform: str
    topic: str
    delivery_key: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    shop: str | None = None
    key: str | None = None
    signature: str | None = None
    verify: Verifier | None = None
    credential: str = "webhook_secret"
    event_id: str | None = None
    ping: bool = False


@dataclass(frozen=True)
class Outcome:
    status: int  # 200, 401 (signature) or 404 (no such connection)
    connection_id: int | None = None
    inbox_id: int | None = None
    created: bool = False
    connection_key: str | None = None


def webhook_secret(connection: ShopConnection | sa.Row, name: str = "webhook_secret") -> str:
    """The per-connection secret (WooCommerce webhook secret, Magento verification token; the
    Adobe Commerce webhook public key as ``webhook_public_key``) kept under ``name`` in the
    connection's encrypted credentials."""
    if not connection.credentials:
        return ""
    try:
        return _secret_in(connection.credentials, name)
    except Exception:  # noqa: BLE001 - unreadable credentials verify nothing
        log.error("unreadable credentials connection=%s", connection.id)
        return ""


@lru_cache(maxsize=1024)
def _secret_in(ciphertext: str, name: str) -> str:
    """Decrypting costs a key derivation per call; keyed by the ciphertext, a changed or
    re-encrypted secret is a new entry, so the cache never answers with a stale one."""
    return str(json.loads(decrypt(ciphertext)).get(name) or "")


_CONNECTIONS = ShopConnection.__table__
_INBOX = InboxDelivery.__table__
Lookup = tuple[str, str, "str | None"]  # (platform, "shop" or "key", its value)


def _connection_query(column: sa.Column) -> sa.Select:
    # What admitting needs of a connection, read as a plain row (no ORM identity map); built
    # once with bound parameters so a lookup only binds its values.
    return (sa.select(_CONNECTIONS.c.id, _CONNECTIONS.c.key, _CONNECTIONS.c.platform,
                      _CONNECTIONS.c.credentials)
            .where(_CONNECTIONS.c.platform == sa.bindparam("platform"),
                   column == sa.bindparam("value"))
            .limit(1))


_BY = {"shop": _connection_query(_CONNECTIONS.c.shop), "key": _connection_query(_CONNECTIONS.c.key)}
_KEY_COLUMNS = ["platform", "connection_id", "delivery_key"]
# The whole batch in one statement (SQLAlchemy sends an executemany of it as one multi-row
# VALUES); a row whose delivery key is known already is skipped, not an error, and so is absent
# from RETURNING.
_INSERTS = {
    name: dialect.insert(_INBOX).on_conflict_do_nothing(index_elements=_KEY_COLUMNS)
    .returning(_INBOX.c.id, _INBOX.c.connection_id, _INBOX.c.delivery_key)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}
_EXISTING = sa.select(_INBOX.c.id).where(
    _INBOX.c.platform == sa.bindparam("platform"),
    _INBOX.c.connection_id == sa.bindparam("connection_id"),
    _INBOX.c.delivery_key == sa.bindparam("delivery_key"))


def lookup_of(arrival: Arrival) -> Lookup:
    if arrival.shop is not None:
        return arrival.platform, "shop", arrival.shop
    return arrival.platform, "key", arrival.key


def read_connection(conn: sa.Connection, lookup: Lookup) -> sa.Row | None:
    platform, by, value = lookup
    return conn.execute(_BY[by], {"platform": platform, "value": value}).first()


def store_all(conn: sa.Connection, items: list[tuple[Arrival, sa.Row]],
              now: datetime) -> list[tuple[int, bool]]:
    """Store each arrival in the inbox of its connection unless its delivery key is known;
    ``(inbox id, newly stored)`` for each, in order. Within the batch too, only the first of
    several arrivals with one key is new: the others are its duplicates."""
    params, seen = [], set()
    for arrival, connection in items:
        key = (connection.id, arrival.delivery_key)
        if key not in seen:
            seen.add(key)
            params.append({
                "platform": connection.platform, "connection_id": connection.id,
                "topic": arrival.topic, "delivery_key": arrival.delivery_key,
                "event_id": arrival.event_id, "headers": arrival.headers, "body": arrival.body,
                "status": PENDING, "attempts": 0, "next_attempt_at": now, "received_at": now,
                "last_error": None, "processed_at": None})
    new = {(row.connection_id, row.delivery_key): row.id
           for row in conn.execute(_INSERTS[conn.dialect.name], params)}
    known: dict[tuple[int, str], int] = {}
    results = []
    for arrival, connection in items:
        key = (connection.id, arrival.delivery_key)
        if key in new:
            results.append((new.pop(key), True))
            known[key] = results[-1][0]
            continue
        if key not in known:
            known[key] = conn.execute(_EXISTING, {
                "platform": connection.platform, "connection_id": connection.id,
                "delivery_key": arrival.delivery_key}).scalar_one()
        results.append((known[key], False))
    return results


class GroupCommitter:
    """Admits each arrival in a group commit: ``submit`` blocks until the arrival is committed
    (or refused) and the deliveries its commit stored are enqueued.

    There is no writer thread. The request that finds no commit running leads one: it takes
    the arrivals waiting at that moment (its own among them), admits them in one transaction,
    hands the new deliveries to ``enqueue`` (one queue write, which must not raise:
    ``Spine.try_enqueue_many``) and then answers the others. Arrivals that come meanwhile wait
    for the next commit, which one of their own requests leads. So a lone delivery costs no
    thread handoff at all, and the busier the receiver, the larger the batches and the fewer
    commits and queue writes per delivery. (A writer thread, tried first, cost each delivery
    two thread switches under the GIL and kept batches near one delivery.)
    """

    def __init__(self, database: Database, clock: Callable[[], datetime],
                 writers: int | None = None, connection_ttl: float = CONNECTION_TTL,
                 enqueue: Callable[[list[int]], object] | None = None) -> None:
        self.database = database
        self.clock = clock
        self.enqueue = enqueue
        # One commit at a time per process, on both databases. SQLite has one write lock, so
        # a second would only make the batches smaller. On PostgreSQL a second or third
        # concurrent commit (overlapping one batch's WAL flush with the next) was measured too:
        # it split the waiting deliveries into more, smaller batches, and the CPU spent per
        # commit, not the flush, limited the throughput (0.26 x the bare endpoint with three,
        # 0.29-0.38 with one). Other processes' commits still share PostgreSQL's flushes.
        self.writers = writers or 1
        self.connection_ttl = connection_ttl
        # lookup -> (read at, row); concurrent leaders share it (single dict operations only)
        self._connections: dict[Lookup, tuple[float, sa.Row]] = {}
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # followers wait here for their commit
        self._gather = threading.Condition(lock)  # a gathering leader waits here
        self._pending: list[tuple[Arrival, Future[Outcome]]] = []
        self._leading = 0  # commits running now
        self._announced = 0  # requests being received that will submit
        self._idle: list[sa.Connection] = []  # database connections kept between commits

    def _own_state(self) -> None:
        if self._pid != os.getpid():
            self._reset()  # a forked worker (gunicorn --preload) starts with its own state

    def announce(self) -> None:
        """A delivery is being received and will be submitted (or withdrawn): a leader may
        wait a moment for it."""
        self._own_state()
        with self._cond:
            self._announced += 1

    def withdraw(self) -> None:
        """An announced delivery was refused before it was submitted (413, 401, 404)."""
        with self._cond:
            self._announced -= 1
            self._gather.notify()

    def submit(self, arrival: Arrival, announced: bool = False) -> Outcome:
        """Admit ``arrival``, waiting for its commit; ``announced`` when ``announce`` was
        called for it."""
        self._own_state()
        future: Future[Outcome] = Future()
        deadline = time.monotonic() + WAIT_SECONDS
        cond = self._cond
        with cond:
            if announced:
                self._announced -= 1
            self._pending.append((arrival, future))
            self._gather.notify()  # a leader may be gathering
            while not future.done():
                if self._leading < self.writers and self._pending:
                    self._leading += 1
                    gather_until = time.monotonic() + GATHER_SECONDS
                    while self._announced > 0 and len(self._pending) < MAX_BATCH:
                        left = gather_until - time.monotonic()
                        if left <= 0:
                            break
                        self._gather.wait(left)
                    batch = self._pending[:MAX_BATCH]
                    del self._pending[:MAX_BATCH]
                    cond.release()
                    try:
                        self._commit(batch)
                    finally:
                        cond.acquire()
                        self._leading -= 1
                        cond.notify_all()  # answers the batch; the next one needs a leader
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the inbox commit did not finish in time")
                cond.wait(left)
        return future.result()

    def _commit(self, batch: list[tuple[Arrival, Future[Outcome]]]) -> None:
        try:
            results: list[Outcome | BaseException] = self._admit_all([a for a, _ in batch])
        except Exception:  # noqa: BLE001 - retried one by one below
            # A reused connection row may be why (the connection was deleted meanwhile), so
            # every delivery, even a batch's only one, is tried again with fresh reads.
            self._connections.clear()
            results = []
            for arrival, _ in batch:
                try:
                    results += self._admit_all([arrival])
                except Exception as single:  # noqa: BLE001 - fails this delivery only
                    log.error("inbox commit failed error=%s", type(single).__name__)
                    results.append(single)
        try:
            created = [r.inbox_id for r in results if isinstance(r, Outcome) and r.created]
            if created and self.enqueue is not None:
                self.enqueue(created)  # committed first; a lost enqueue is the sweep's to find
        finally:
            for (_, future), result in zip(batch, results, strict=True):
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def _connection(self, conn: sa.Connection, lookup: Lookup,
                    fresh: bool = False) -> tuple[sa.Row | None, bool]:
        """The connection row and whether it was reused from an earlier read."""
        if not fresh:
            kept = self._connections.get(lookup)
            if kept is not None and time.monotonic() - kept[0] < self.connection_ttl:
                return kept[1], True
        row = read_connection(conn, lookup)
        if row is None:
            self._connections.pop(lookup, None)
        else:
            self._connections[lookup] = (time.monotonic(), row)
        return row, False

    def _database_connection(self) -> sa.Connection:
        with self._cond:
            if self._idle:
                return self._idle.pop()
        return self.database.engine.connect()

    def _done_with(self, conn: sa.Connection, healthy: bool) -> None:
        """Keep the connection for the next batch while more deliveries wait (no pool
        checkout, and on PostgreSQL no pre-ping round trip, per commit under load); otherwise,
        or after an error, give it back to the pool."""
        if healthy:
            with self._cond:
                if self._pending and len(self._idle) < self.writers:
                    self._idle.append(conn)
                    return
        conn.close()

    def _admit_all(self, arrivals: list[Arrival]) -> list[Outcome | BaseException]:
        """Find each connection, check each signature, store the accepted ones: one
        transaction."""
        conn = self._database_connection()
        try:
            results = self._admit_in(conn, arrivals)
        except BaseException:
            self._done_with(conn, healthy=False)
            raise
        self._done_with(conn, healthy=True)
        return results

    def _admit_in(self, conn: sa.Connection,
                  arrivals: list[Arrival]) -> list[Outcome | BaseException]:
        with conn.begin():
            now = self.clock()
            results: list[Outcome | BaseException | None] = [None] * len(arrivals)
            accepted: list[tuple[int, Arrival, sa.Row]] = []
            for index, arrival in enumerate(arrivals):
                lookup = lookup_of(arrival)
                connection, reused = self._connection(conn, lookup)
                signed = connection is not None and _signed(arrival, connection)
                if connection is not None and not signed and reused:
                    # the secret may have been rotated since: never refuse on a reused row
                    connection, _ = self._connection(conn, lookup, fresh=True)
                    signed = connection is not None and _signed(arrival, connection)
                if connection is None:
                    results[index] = Outcome(404)
                elif arrival.ping:
                    results[index] = Outcome(200, connection.id, connection_key=connection.key)
                elif not signed:
                    results[index] = Outcome(401, connection.id, connection_key=connection.key)
                else:
                    accepted.append((index, arrival, connection))
            if accepted:
                stored = store_all(conn, [(a, c) for _, a, c in accepted], now)
                for (index, _, connection), (inbox_id, created) in zip(accepted, stored,
                                                                        strict=True):
                    results[index] = Outcome(200, connection.id, inbox_id, created,
                                             connection.key)
        return results  # type: ignore[return-value] - every slot is filled above


def _signed(arrival: Arrival, connection: sa.Row) -> bool:
    """The arrival's signature holds for this connection's secret (or it needs none)."""
    return arrival.ping or arrival.verify is None or arrival.verify(
        webhook_secret(connection, arrival.credential), arrival.body, arrival.signature)
