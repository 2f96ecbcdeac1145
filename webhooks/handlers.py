"""The handler registry the connectors fill.

Two kinds of handler:

- **Inbox handlers**, one per ``(platform, topic)``, run for each stored webhook delivery
  (topic ``"*"`` catches every topic of a platform that has no exact handler). Topics are the
  platform's own words: Shopify ``orders/create``, WooCommerce ``order.created``, Magento
  ``sales.order.created`` (the event named in the receiver URL).
- **Event handlers**, by name, run for each event of the given types in the event log (for
  example a connector pushing a fulfilment on ``shipment.updated``).

Contract for both: the handler runs inside the transaction that marks the job done, through
``ctx.session``; it must not commit, and its database effects commit exactly once with that mark.
It must be idempotent on business keys anyway (WooCommerce and Magento send ``created`` and
``updated`` with identical bodies). Effects outside the database (HTTP calls to a shop) may
repeat after a crash, so make them upserts. To fail, raise an error whose ``kind`` is
``retriable``, ``fatal`` or ``configuration`` (see ``webhooks.errors``). To start more work
(a sync job), call ``ctx.defer(job, ref_id)``: it is enqueued only after the commit.

Connectors may also register **tasks** (``registry.task``): named jobs the worker runs with the
spine and one id, enqueued through ``Spine.try_enqueue(name, ref_id, eta)``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.models import Event, ShopConnection
from webhooks.models import InboxDelivery

log = logging.getLogger(__name__)
PLATFORMS = ("shopify", "woocommerce", "magento")


Deferred = list[tuple[str, int | None, datetime | None]]


class _Defers:
    """What both handler contexts share: jobs to enqueue after the handler's commit."""

    now: datetime
    deferred: Deferred

    def defer(self, job: str, ref_id: int | None = None, *,
              delay_seconds: float | None = None) -> None:
        """Enqueue ``job`` once the handler's transaction committed (never if it fails),
        ``delay_seconds`` after ``now`` when given (to gather a burst into one run)."""
        if all((j, r) != (job, ref_id) for j, r, _ in self.deferred):
            eta = self.now + timedelta(seconds=delay_seconds) if delay_seconds else None
            self.deferred.append((job, ref_id, eta))


@dataclass(frozen=True)
class InboxContext(_Defers):
    session: Session
    connection: ShopConnection
    delivery: InboxDelivery
    payload: Any  # the parsed JSON body
    now: datetime
    deferred: Deferred = field(default_factory=list)

    @property
    def topic(self) -> str:
        return self.delivery.topic


@dataclass(frozen=True)
class EventContext(_Defers):
    session: Session
    event: Event
    now: datetime
    deferred: Deferred = field(default_factory=list)


InboxHandler = Callable[[InboxContext], None]
EventHandler = Callable[[EventContext], None]
Task = Callable[[Any, int], None]  # (spine, ref_id)


@dataclass(frozen=True)
class EventHandlerEntry:
    name: str
    event_types: frozenset[str]
    handler: EventHandler

    def wants(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types


@dataclass(frozen=True)
class PeriodicJob:
    """A job the worker runs on a schedule (reconciliation polls, token refresh).

    ``due(dt)`` is asked every minute with the UTC time (for example ``huey.crontab(...)``);
    ``run`` gets the spine, opens its own transactions and must tolerate running twice.
    """

    name: str
    due: Callable[[datetime], bool]
    run: Callable[[Any], None]


class Registry:
    """Where handlers are registered; ``registry`` below is the process-wide one."""

    def __init__(self) -> None:
        self._inbox: dict[tuple[str, str], InboxHandler] = {}
        self._events: dict[str, EventHandlerEntry] = {}
        self._periodic: dict[str, PeriodicJob] = {}
        self._tasks: dict[str, Task] = {}

    def inbox(self, platform: str, topic: str) -> Callable[[InboxHandler], InboxHandler]:
        """Decorator: handle ``topic`` deliveries from ``platform``; one handler per pair."""
        if platform not in PLATFORMS:
            raise ValueError(f"unknown platform {platform!r}")

        def register(handler: InboxHandler) -> InboxHandler:
            existing = self._inbox.get((platform, topic))
            if existing is not None and existing is not handler:
                raise ValueError(f"a handler for {platform} {topic} is already registered")
            self._inbox[(platform, topic)] = handler
            return handler

        return register

    def on_event(self, name: str, event_types: Iterable[str]) -> Callable[[EventHandler],
                                                                          EventHandler]:
        """Decorator: run the handler, known by ``name``, for every event of these types."""

        def register(handler: EventHandler) -> EventHandler:
            self._events[name] = EventHandlerEntry(name, frozenset(event_types), handler)
            return handler

        return register

    def periodic(self, name: str, due: Callable[[datetime], bool]) -> Callable[
            [Callable[[Any], None]], Callable[[Any], None]]:
        """Decorator: run ``fn(spine)`` whenever ``due(now)`` says so."""

        def register(run: Callable[[Any], None]) -> Callable[[Any], None]:
            self._periodic[name] = PeriodicJob(name, due, run)
            return run

        return register

    def task(self, name: str) -> Callable[[Task], Task]:
        """Decorator: a job the worker runs as ``fn(spine, ref_id)`` when ``name`` is enqueued
        (a connector's sync run or order poll). The job must tolerate running twice."""

        def register(fn: Task) -> Task:
            existing = self._tasks.get(name)
            if existing is not None and existing is not fn:
                raise ValueError(f"a task {name!r} is already registered")
            self._tasks[name] = fn
            return fn

        return register

    def tasks(self) -> dict[str, Task]:
        return dict(self._tasks)

    def periodic_jobs(self) -> list[PeriodicJob]:
        return list(self._periodic.values())

    def inbox_handler(self, platform: str, topic: str) -> InboxHandler | None:
        return self._inbox.get((platform, topic)) or self._inbox.get((platform, "*"))

    def event_handler(self, name: str) -> EventHandlerEntry | None:
        return self._events.get(name)

    def event_handlers(self) -> list[EventHandlerEntry]:
        return list(self._events.values())


registry = Registry()


def load_connectors() -> None:
    """Import the shared sync engine and each connector's ``webhooks`` and ``sync`` modules so
    that their handlers, tasks and periodic jobs register themselves."""
    importlib.import_module("connectors.sync")
    for platform in PLATFORMS:
        for module in ("webhooks", "sync"):
            name = f"connectors.{platform}.{module}"
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:  # the module exists but an import inside it failed
                    raise
                log.debug("no %s module for %s", module, platform)
