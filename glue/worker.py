"""The worker: Huey runs the event spine's jobs (DESIGN.md section 8).

Storage is SQLite in the instance folder by default and Redis when ``GLUE_REDIS_URL`` is set.
The queue only carries triggers ("look at inbox row 7"); the inbox and outbox tables are the
source of truth, and the sweep, every minute, re-enqueues whatever is not done, so a lost or
failed enqueue delays work but never loses it. Retries are scheduled by the spine itself
(``next_attempt_at`` on the row), not by Huey's retry mechanism, so the attempt count survives
restarts and shows in the dead letters.

``glue worker`` runs a consumer in the foreground; ``glue serve`` starts one inside the web
process through ``start_in_process_worker``.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import click
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from core.db import Database
from core.models import Event
from core.settings import Settings, get_settings
from webhooks import deadletters, inbox, outbox
from webhooks.handlers import load_connectors, registry
from webhooks.spine import DELIVERY, FAN_OUT, INBOX, Spine
from webhooks.sweep import sweep

log = logging.getLogger(__name__)

_huey: Huey | None = None
_tasks: dict[str, TaskWrapper] = {}
INBOX_BATCH = "inbox_batch"  # several inbox deliveries in one task (``enqueue_many``)
_spine: Spine | None = None


def build_huey(settings: Settings | None = None) -> Huey:
    """Huey on Redis when configured, else on SQLite in the instance folder."""
    settings = settings or get_settings()
    if settings.redis_url:
        return RedisHuey("glue", url=settings.redis_url, results=False)
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    # No fsync per enqueue (2 ms each on an ordinary disk): the queue only carries triggers,
    # and a trigger lost in a power cut is found again by the sweep.
    return SqliteHuey("glue", filename=str(settings.instance_dir / "huey.db"), results=False,
                      fsync=False)


def use_huey(huey: Huey) -> Huey:
    """Register the spine's jobs (and the connectors' periodic jobs) on ``huey`` and make it
    the one ``enqueue`` uses. Tests pass an immediate or a temporary SqliteHuey."""
    global _huey
    load_connectors()
    _tasks.clear()
    _tasks[INBOX] = huey.task(name="glue.inbox")(_process_inbox)
    _tasks[INBOX_BATCH] = huey.task(name="glue.inbox_batch")(_process_inbox_batch)
    _tasks[DELIVERY] = huey.task(name="glue.delivery")(_deliver)
    _tasks[FAN_OUT] = huey.task(name="glue.fan_out")(_fan_out)
    for name, fn in registry.tasks().items():
        _tasks[name] = huey.task(name=f"glue.{name}")(_task_runner(fn))
    huey.periodic_task(crontab(minute="*"), name="glue.sweep")(_sweep)
    for job in registry.periodic_jobs():
        huey.periodic_task(job.due, name=f"glue.periodic.{job.name}")(_periodic_runner(job.run))
    _huey = huey
    return huey


def get_huey() -> Huey:
    if _huey is None:
        load_connectors()
        use_huey(build_huey())
    return _huey


def get_spine() -> Spine:
    """The spine of this process (the worker's own database engine and queue)."""
    global _spine
    if _spine is None:
        _spine = Spine(database=Database(get_settings().resolved_database_url()),
                       enqueue=enqueue, enqueue_many=enqueue_many)
    return _spine


def set_spine(spine: Spine | None) -> None:
    """Use this spine for jobs run in this process (tests; ``glue serve`` shares the app's)."""
    global _spine
    _spine = spine


def enqueue(job: str, ref_id: int | None = None, eta: datetime | None = None) -> None:
    """Put a spine job on the queue, at ``eta`` when given. May raise when the queue is down;
    callers go through ``Spine.try_enqueue``."""
    get_huey()
    task = _tasks[job]
    args = () if ref_id is None else (ref_id,)
    if eta is not None:
        task.schedule(args=args, eta=eta)
    else:
        task(*args)


def enqueue_many(job: str, ref_ids: list[int]) -> None:
    """Put a spine job for each of ``ref_ids`` on the queue: inbox deliveries as one task (one
    queue write for a whole group commit), other jobs one task each."""
    get_huey()
    if job == INBOX:
        _tasks[INBOX_BATCH](list(ref_ids))
        return
    for ref_id in ref_ids:
        _tasks[job](ref_id)


def _process_inbox(delivery_id: int) -> None:
    inbox.process_delivery(get_spine(), delivery_id)


def _process_inbox_batch(delivery_ids: list[int]) -> None:
    spine = get_spine()
    for delivery_id in delivery_ids:
        try:
            inbox.process_delivery(spine, delivery_id)
        except Exception:  # noqa: BLE001 - the row stays pending; the sweep enqueues it again
            log.exception("inbox job failed delivery=%s", delivery_id)


def _deliver(delivery_id: int) -> None:
    outbox.deliver(get_spine(), delivery_id)


def _fan_out() -> None:
    outbox.fan_out(get_spine())


def _sweep() -> None:
    sweep(get_spine())


def _task_runner(fn: Any) -> Any:
    def runner(ref_id: int) -> None:
        fn(get_spine(), ref_id)

    runner.__name__ = getattr(fn, "__name__", "task")
    return runner


def _periodic_runner(run: Any) -> Any:
    def runner() -> None:
        run(get_spine())

    runner.__name__ = getattr(run, "__name__", "periodic")
    return runner


def start_in_process_worker(workers: int = 2) -> Consumer:
    """Start a consumer on threads inside this process (``glue serve`` on one machine) and
    return it; ``consumer.stop(graceful=True)`` ends it."""
    load_connectors()
    install_event_kick()
    consumer = get_huey().create_consumer(workers=workers, periodic=True, worker_type="thread")
    consumer.start()
    log.info("in-process worker started workers=%s", workers)
    return consumer


def install_event_kick() -> None:
    """After every commit that wrote events, enqueue a fan-out at once rather than waiting for
    the minute's sweep. Only a latency shortcut: the sweep still catches anything missed."""
    if sa_event.contains(Session, "after_commit", _kick_after_commit):
        return
    sa_event.listen(Session, "after_flush", _note_events)
    sa_event.listen(Session, "after_commit", _kick_after_commit)


def uninstall_event_kick() -> None:
    if sa_event.contains(Session, "after_commit", _kick_after_commit):
        sa_event.remove(Session, "after_flush", _note_events)
        sa_event.remove(Session, "after_commit", _kick_after_commit)


def _note_events(session: Session, _context: Any) -> None:
    if any(isinstance(obj, Event) for obj in session.new):
        session.info["glue.events_written"] = True


def _kick_after_commit(session: Session) -> None:
    if session.info.pop("glue.events_written", False):
        try:
            enqueue(FAN_OUT)
        except Exception as exc:  # noqa: BLE001 - the sweep fans out later
            log.warning("fan-out enqueue failed error=%s", type(exc).__name__)


@click.command("worker")
@click.option("--workers", default=2, show_default=True, type=int, help="Worker threads.")
def worker_command(workers: int) -> None:
    """Run the job worker (inbox, outbox, retries, periodic jobs) in the foreground."""
    load_connectors()
    install_event_kick()
    consumer = get_huey().create_consumer(workers=workers, periodic=True, worker_type="thread")
    click.echo(f"Glue worker running with {workers} threads", err=True)
    consumer.run()


@click.command("replay")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead letter.")
def replay_command(ids: tuple[int, ...], replay_all: bool) -> None:
    """Run dead-lettered jobs again: the given dead-letter ids, or --all."""
    if bool(ids) == replay_all:
        raise click.UsageError("give dead-letter ids or --all (not both)")
    replayed = deadletters.replay(get_spine(), list(ids) if ids else None)
    click.echo(json.dumps({"replayed": replayed}))
