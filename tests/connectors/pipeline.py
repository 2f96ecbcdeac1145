"""A whole Glue pipeline in one test process, for connector end-to-end tests: the receiver app,
the spine with the real handler registry, and a queue the test drains by hand, so every step
(inbox → order → shipments → events → sync → fulfilment) runs deterministically in the test's
thread. Use::

    pipe = Pipeline(db)                 # or Pipeline(db, clock=FakeClock(...))
    client = pipe.app.test_client()     # POST webhooks to /webhooks/...
    pipe.drain()                        # run everything the queue holds, until it is empty
    pipe.drain(polls=True)              # also run the order polls that are due now
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

from flask import Flask

from connectors import sync
from core.db import Database, utcnow
from tests.webhooks.conftest import RecordingQueue
from web.app import create_app
from webhooks import inbox, outbox
from webhooks.handlers import load_connectors, registry
from webhooks.settings import SpineSettings
from webhooks.spine import DELIVERY, FAN_OUT, INBOX, Spine


class Pipeline:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow,
                 settings: SpineSettings | None = None) -> None:
        load_connectors()
        self.db = db
        self.queue = RecordingQueue()
        self.spine = Spine(database=db, settings=settings or SpineSettings(
            sweep_grace_seconds=0, webhook_allow_private_targets=True), registry=registry,
            clock=clock, rng=random.Random(7), enqueue=self.queue)
        self.app: Flask = create_app(database=db, TESTING=True)
        self.app.extensions["glue.spine"] = self.spine

    def drain(self, *, polls: bool = False, rounds: int = 50) -> int:
        """Run queued jobs (and the fan-out of new events) until nothing is left; scheduled
        jobs (an ``eta`` in the future) run too unless they are polls. Returns jobs run."""
        ran = 0
        for _ in range(rounds):
            outbox.fan_out(self.spine)
            jobs, self.queue.jobs = self.queue.jobs, []
            jobs = [j for j in jobs if polls or j[0] != sync.POLL]
            if not jobs:
                break
            for job, ref, _eta in jobs:
                ran += 1
                if job == INBOX:
                    inbox.process_delivery(self.spine, ref)
                elif job == DELIVERY:
                    outbox.deliver(self.spine, ref)
                elif job == FAN_OUT:
                    outbox.fan_out(self.spine)
                elif job in registry.tasks():  # sync, poll and the connectors' own tasks
                    registry.tasks()[job](self.spine, ref)
        # the receiver's group commit enqueues through enqueue_many, absent here: find the
        # inbox rows the way the sweep does
        with self.db.sessions() as session:
            pending = inbox.due_ids(session, self.spine.clock())
        for delivery_id in pending:
            inbox.process_delivery(self.spine, delivery_id)
            ran += 1
        if pending:
            ran += self.drain(polls=polls, rounds=rounds)
        return ran

    def sync(self, connection_id: int) -> sync.RunReport:
        return sync.run_sync(self.spine, connection_id)

    def poll(self, connection_id: int) -> dict[str, int]:
        """Run the connection's poll now, whatever its schedule."""
        from connectors.models import ConnectionSync

        with self.db.transaction() as session:
            row = session.get(ConnectionSync, connection_id)
            if row is not None:
                row.next_poll_at = None
        return sync.run_poll(self.spine, connection_id)
