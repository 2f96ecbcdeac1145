"""How values look on the v3 wire, in one place for every serialiser."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal


def number(value: Decimal | None) -> int | float | None:
    """A Decimal as a JSON number (money, measurements, percentages): int when whole.

    Exact for Glue's numbers: every stored amount has at most 14 significant digits
    (NUMERIC(14, 4)), and a double reproduces any decimal of up to 15 significant digits, so
    ``json.dumps`` writes back the same digits. Clients of the hosted service expect numbers.
    """
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def timestamp(moment: datetime | None) -> str | None:
    """UTC time as ISO 8601 with milliseconds and offset: ``2026-05-01T12:00:00.000+00:00``."""
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="milliseconds")
