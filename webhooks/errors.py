"""What a failed job should do next, from the connector error taxonomy (``connectors.errors``):
retry later, give up, or wait until someone fixes the connection.

Handlers raise ``connectors.errors.Retriable`` (with ``retry_after`` when the other side said
when), ``Fatal`` or ``NeedsConfiguration``. Other exceptions may carry a ``kind`` attribute
(``"retriable"``, ``"fatal"`` or ``"configuration"``); anything else counts as retriable: an
unexpected error may be a passing database or network fault, and the attempt limit still ends
the retries.
"""

from __future__ import annotations

from connectors.errors import Fatal, NeedsConfiguration, Retriable

RETRIABLE = "retriable"
FATAL = "fatal"
CONFIGURATION = "configuration"


def classify(exc: BaseException) -> tuple[str, float | None]:
    """The error's kind and the ``Retry-After`` seconds it asks for, if any."""
    if isinstance(exc, Fatal):
        kind = FATAL
    elif isinstance(exc, NeedsConfiguration):
        kind = CONFIGURATION
    elif isinstance(exc, Retriable):
        kind = RETRIABLE
    else:
        kind = getattr(exc, "kind", None)
        if kind not in (RETRIABLE, FATAL, CONFIGURATION):
            kind = RETRIABLE
    retry_after = getattr(exc, "retry_after", None)
    return kind, float(retry_after) if isinstance(retry_after, int | float) else None


def describe(exc: BaseException) -> str:
    """A one-line description for logs and dead letters (class and message, no traceback)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:1000] if text else type(exc).__name__
