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
``retriable``, ``fatal`` or ``configuration`` (see ``webhooks.errors``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.models import Event, ShopConnection
from webhooks.models import InboxDelivery

log = logging.getLogger(__name__)
PLATFORMS = ("shopify", "woocommerce", "magento")


@dataclass(frozen=True)
class InboxContext:
    session: Session
    connection: ShopConnection
    delivery: InboxDelivery
    payload: Any  # the parsed JSON body
    now: datetime

    @property
    def topic(self) -> str:
        return self.delivery.topic


@dataclass(frozen=True)
class EventContext:
    session: Session
    event: Event
    now: datetime


InboxHandler = Callable[[InboxContext], None]
EventHandler = Callable[[EventContext], None]


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
    """Import each connector's ``webhooks`` module so that its handlers register themselves."""
    for platform in PLATFORMS:
        name = f"connectors.{platform}.webhooks"
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but an import inside it failed
                raise
            log.debug("no webhook handlers for %s yet", platform)
