"""Admitting deliveries into the inbox, with group commit.

Every accepted delivery must be committed before the receiver answers 200 (store first). A
commit is the expensive part (the SQLite write lock, a PostgreSQL WAL flush), so one writer
thread per process takes the deliveries that arrived meanwhile and admits them in a single
transaction: each request still waits for the commit that holds its own delivery, and a burst
of N concurrent deliveries costs one commit instead of N. Should a batch fail, its deliveries
are admitted again one transaction each, so one bad delivery cannot take the others with it.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.crypto import decrypt
from core.db import Database
from core.models import ShopConnection
from webhooks import inbox

log = logging.getLogger(__name__)
MAX_BATCH = 64
WAIT_SECONDS = 30.0

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
    # Set on one outcome per commit: every delivery that commit newly stored. That request
    # enqueues them all (one queue write), after the writer thread has moved on.
    enqueue: tuple[int, ...] = field(default=(), compare=False)


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
# What admitting needs of a connection, read as a plain row (no ORM identity map per request).
_CONNECTION_COLUMNS = sa.select(_CONNECTIONS.c.id, _CONNECTIONS.c.key, _CONNECTIONS.c.platform,
                                _CONNECTIONS.c.credentials)


def admit(session: Session, arrival: Arrival, now: datetime,
          connections: dict[tuple[str, str, str | None], sa.Row | None] | None = None
          ) -> Outcome:
    """Find the connection, check the signature, store: in the caller's transaction.
    ``connections`` caches the lookups of one transaction (a burst from one shop)."""
    cache = {} if connections is None else connections
    lookup = (arrival.platform, "shop" if arrival.shop is not None else "key",
              arrival.shop if arrival.shop is not None else arrival.key)
    if lookup not in cache:
        column = _CONNECTIONS.c.shop if arrival.shop is not None else _CONNECTIONS.c.key
        cache[lookup] = session.execute(_CONNECTION_COLUMNS.where(
            _CONNECTIONS.c.platform == arrival.platform, column == lookup[2]).limit(1)).first()
    connection = cache[lookup]
    if connection is None:
        return Outcome(404)
    if arrival.ping:
        return Outcome(200, connection.id, connection_key=connection.key)
    if arrival.verify is not None and not arrival.verify(
            webhook_secret(connection, arrival.credential), arrival.body, arrival.signature):
        return Outcome(401, connection.id, connection_key=connection.key)
    inbox_id, created = inbox.store_delivery(
        session, connection=connection, topic=arrival.topic, delivery_key=arrival.delivery_key,
        headers=arrival.headers, body=arrival.body, now=now, event_id=arrival.event_id)
    return Outcome(200, connection.id, inbox_id, created, connection.key)


class GroupCommitter:
    """The per-process writer: ``submit`` blocks until the arrival is committed (or refused).

    The first newly stored outcome of each commit carries, as ``enqueue``, the ids of all the
    deliveries that commit stored, so that its request thread enqueues them in one queue
    write while the writer thread is already committing the next batch.
    """

    def __init__(self, database: Database, clock: Callable[[], datetime],
                 writers: int | None = None) -> None:
        self.database = database
        self.clock = clock
        # PostgreSQL: while one writer waits for its commit's WAL flush, another collects and
        # commits the next batch (the server flushes concurrent commits together). SQLite has
        # one write lock, so a second writer would only make the batches smaller.
        self.writers = writers or (1 if database.engine.dialect.name == "sqlite" else 3)
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[Arrival, Future[Outcome]]] = queue.SimpleQueue()
        self._pid: int | None = None

    def submit(self, arrival: Arrival) -> Outcome:
        self._ensure_writer()
        future: Future[Outcome] = Future()
        self._queue.put((arrival, future))
        return future.result(timeout=WAIT_SECONDS)

    def _ensure_writer(self) -> None:
        # A forked worker (gunicorn) inherits no running thread: start them per process.
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._queue = queue.SimpleQueue()
                for _ in range(self.writers):
                    threading.Thread(target=self._run, name="glue-inbox-writer",
                                     daemon=True).start()
                self._pid = os.getpid()

    def _run(self) -> None:
        inbound = self._queue
        while True:
            batch = [inbound.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(inbound.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)

    def _commit(self, batch: list[tuple[Arrival, Future[Outcome]]]) -> None:
        try:
            results: list[Outcome | BaseException] = self._admit_all([a for a, _ in batch])
        except Exception as exc:  # noqa: BLE001 - retried one by one below
            if len(batch) == 1:
                log.error("inbox commit failed error=%s", type(exc).__name__)
                results = [exc]
            else:
                results = []
                for arrival, _ in batch:
                    try:
                        results += self._admit_all([arrival])
                    except Exception as single:  # noqa: BLE001 - fails this delivery only
                        log.error("inbox commit failed error=%s", type(single).__name__)
                        results.append(single)
        created = [(i, r) for i, r in enumerate(results) if isinstance(r, Outcome) and r.created]
        if created:
            first, leader = created[0]
            results[first] = replace(leader, enqueue=tuple(r.inbox_id for _, r in created))
        for (_, future), result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

    def _admit_all(self, arrivals: list[Arrival]) -> list[Outcome | BaseException]:
        with self.database.transaction() as session:
            now, connections = self.clock(), {}
            return [admit(session, arrival, now, connections) for arrival in arrivals]
