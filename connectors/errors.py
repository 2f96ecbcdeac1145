"""What went wrong talking to a shop, classified by what to do about it (STYLE.md 6).

- :class:`Retriable`: try again later (rate limit, timeout, 5xx). ``retry_after`` says when, if
  the platform said so; the worker backs off with jitter otherwise.
- :class:`Fatal`: this request will never succeed as sent (bad input, a rejected mutation). The
  worker dead-letters the job and shows the message to a human.
- :class:`NeedsConfiguration`: the connection itself is broken (token revoked, scope missing,
  shop frozen). The worker pauses the connection until the merchant fixes it.

:func:`error_for_status` is the one place an HTTP status becomes one of these.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any


class ConnectorError(Exception):
    """Base of the taxonomy; ``message`` is shown to people, so it never contains secrets."""

    def __init__(self, message: str, *, status: int | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.details = details


class Retriable(ConnectorError):
    """Transient; the same call may succeed later. ``retry_after`` is in seconds, or None."""

    def __init__(self, message: str, *, retry_after: float | None = None,
                 status: int | None = None, **details: Any) -> None:
        super().__init__(message, status=status, **details)
        self.retry_after = retry_after


class Fatal(ConnectorError):
    """Permanent for this request; retrying the same call cannot help."""


class NeedsConfiguration(ConnectorError):
    """The connection needs the merchant's attention (credentials, scopes, plan, shop state)."""


# Statuses that mean "the connection is not usable as configured" rather than "this request".
# 402: Shopify's frozen shop (unpaid bill); 423: Shopify's locked shop.
_CONFIGURATION = {401, 402, 403, 423}
# Statuses where the same request may succeed later.
_RETRIABLE = {408, 409, 425, 429}


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    Returns None when the header is absent or unreadable; never a negative number.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_for_status(status: int, *, retry_after: str | None = None, message: str = "",
                     now: datetime | None = None) -> ConnectorError:
    """Map an unsuccessful HTTP status (and its ``Retry-After`` header) onto the taxonomy.

    429, 408, 409, 425 and every 5xx are :class:`Retriable` (with ``retry_after`` when given);
    401, 402, 403 and 423 are :class:`NeedsConfiguration`; every other 4xx is :class:`Fatal`.
    A 2xx or 3xx is not an error: asking about one is a programming mistake (ValueError).
    """
    if status < 400:
        raise ValueError(f"HTTP {status} is not an error")
    text = message or f"HTTP {status}"
    if status in _RETRIABLE or status >= 500:
        return Retriable(text, status=status,
                         retry_after=parse_retry_after(retry_after, now=now))
    if status in _CONFIGURATION:
        return NeedsConfiguration(text, status=status)
    return Fatal(text, status=status)
