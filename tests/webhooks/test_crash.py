"""A worker killed with SIGKILL in the middle of a batch: after a restart every delivery is
processed exactly once in effect (the killed transaction rolled back, the sweep re-enqueues)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import sqlalchemy as sa
from flask.testing import FlaskClient

from core import events
from core.db import Database
from core.models import Event
from core.principal import SYSTEM
from tests.webhooks.conftest import WOO_SECRET, FakeClock, make_connection, recorded
from webhooks import inbox
from webhooks.handlers import InboxContext
from webhooks.models import InboxDelivery
from webhooks.spine import Spine
from webhooks.sweep import sweep

ROOT = Path(__file__).resolve().parents[2]

# The worker: processes the given deliveries and kills itself inside the third handler, after
# that handler wrote its effect but before the transaction committed.
WORKER = textwrap.dedent("""
    import os, signal, sys
    from core import events
    from core.db import Database
    from core.principal import SYSTEM
    from webhooks import inbox
    from webhooks.handlers import Registry
    from webhooks.spine import Spine

    registry = Registry()
    handled = []

    @registry.inbox("woocommerce", "product.created")
    def effect(ctx):
        events.record(ctx.session, SYSTEM, "test.effect", "delivery", ctx.delivery.id, [])
        handled.append(ctx.delivery.id)
        if len(handled) == 3:
            ctx.session.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    spine = Spine(database=Database(sys.argv[1]), registry=registry)
    for delivery_id in map(int, sys.argv[2:]):
        inbox.process_delivery(spine, delivery_id)
""")


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
        db: Database, database_url: str, client: FlaskClient, spine: Spine,
        clock: FakeClock) -> None:
    connection = make_connection(db, "woocommerce", secret=WOO_SECRET)
    names = ["product_created_variable", "product_created_variation",
             "product_created_simple_gtin"]
    for name in names:
        sample = recorded("woocommerce", name)
        client.post(f"/webhooks/woocommerce/{connection.key}", data=sample.body,
                    headers=sample.post_headers())
    with db.sessions() as session:
        ids = list(session.scalars(sa.select(InboxDelivery.id).order_by(InboxDelivery.id)))
    assert len(ids) == 3

    killed = subprocess.run([sys.executable, "-c", WORKER, database_url, *map(str, ids)],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            capture_output=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]

    @spine.registry.inbox("woocommerce", "product.created")
    def effect(ctx: InboxContext) -> None:
        events.record(ctx.session, SYSTEM, "test.effect", "delivery", ctx.delivery.id, [])

    clock.advance(spine.settings.sweep_grace_seconds + 1)
    spine.enqueue.jobs.clear()
    sweep(spine)
    for _, delivery_id, _ in spine.enqueue.jobs:
        inbox.process_delivery(spine, delivery_id)
    for delivery_id in ids:  # a second run changes nothing
        inbox.process_delivery(spine, delivery_id)

    with db.sessions() as session:
        handled = sorted(session.scalars(sa.select(Event.subject_id)
                                         .where(Event.type == "test.effect")))
        statuses = set(session.scalars(sa.select(InboxDelivery.status)))
    assert handled == sorted(map(str, ids))
    assert statuses == {"done"}
    assert [ref for _, ref, _ in spine.enqueue.jobs] == [ids[2]]
