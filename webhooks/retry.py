"""The retry schedule: exponential back-off with jitter, or the delay the other side asked for."""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def next_attempt_at(now: datetime, attempts: int, *, base: float, cap: float,
                    retry_after: float | None = None,
                    rng: random.Random | None = None) -> datetime:
    """When to try again after ``attempts`` failed attempts (1 after the first failure).

    The delay doubles per attempt up to ``cap`` and is drawn from its upper half ("equal
    jitter"), so a burst of failures spreads out without ever retrying sooner than half the
    nominal delay. A ``Retry-After`` from the other side wins, capped at ``cap``.
    """
    if retry_after is not None:
        return now + timedelta(seconds=min(max(retry_after, 0.0), cap))
    nominal = min(cap, base * 2 ** max(attempts - 1, 0))
    jittered = nominal / 2 + (rng or random).uniform(0, nominal / 2)
    return now + timedelta(seconds=jittered)
