"""The spine's collaborators in one object, so that the receiver, the worker jobs and the tests
share one way to reach the database, the clock, the queue and the outbound HTTP client."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from core.db import Database, utcnow
from webhooks.handlers import Registry, registry
from webhooks.http import HttpClient
from webhooks.settings import SpineSettings, get_spine_settings

log = logging.getLogger(__name__)

# Job names the queue understands.
INBOX = "inbox"            # process one inbox delivery (ref_id)
DELIVERY = "delivery"      # deliver one event delivery (ref_id)
FAN_OUT = "fan_out"        # read new events and create their deliveries


class Enqueue(Protocol):
    def __call__(self, job: str, ref_id: int | None = None,
                 eta: datetime | None = None) -> None: ...


def no_queue(job: str, ref_id: int | None = None, eta: datetime | None = None) -> None:
    """An enqueue that does nothing: the sweep finds the work (tests, the worker itself)."""


@dataclass
class Spine:
    database: Database
    settings: SpineSettings = field(default_factory=get_spine_settings)
    registry: Registry = field(default_factory=lambda: registry)
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    http: HttpClient | None = None
    enqueue: Enqueue = no_queue

    def __post_init__(self) -> None:
        if self.http is None:
            self.http = HttpClient(total_timeout=self.settings.outgoing_timeout_seconds)

    def try_enqueue(self, job: str, ref_id: int | None = None,
                    eta: datetime | None = None) -> bool:
        """Enqueue, but never fail the caller: the row is committed, and the sweep re-enqueues
        whatever the queue lost."""
        try:
            self.enqueue(job, ref_id, eta)
        except Exception as exc:  # noqa: BLE001 - the queue being down must not lose the row
            log.warning("enqueue failed job=%s ref=%s error=%s", job, ref_id, type(exc).__name__)
            return False
        return True
