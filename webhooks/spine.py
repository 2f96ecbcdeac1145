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


class EnqueueMany(Protocol):
    def __call__(self, job: str, ref_ids: list[int]) -> None: ...


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
    # Enqueues many refs of one job at once (one queue write); when absent, one by one.
    enqueue_many: EnqueueMany | None = None

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

    def try_enqueue_many(self, job: str, ref_ids: list[int]) -> bool:
        """``try_enqueue`` for many rows of one job: one queue write when the queue can batch
        (the receiver's group commit hands over each batch's new deliveries this way)."""
        if not ref_ids:
            return True
        if self.enqueue_many is None:
            return all([self.try_enqueue(job, ref_id) for ref_id in ref_ids])
        try:
            self.enqueue_many(job, ref_ids)
        except Exception as exc:  # noqa: BLE001 - the rows are committed; the sweep finds them
            log.warning("enqueue failed job=%s refs=%s error=%s", job, len(ref_ids),
                        type(exc).__name__)
            return False
        return True
