"""One log line per delivery or job, as ``what key=value ...``.

Only the fields a caller names are written, so a line holds ids, names, counts and outcomes,
never a secret, a signature or a body. Values that are not plain tokens are JSON-quoted, so a
topic sent by a shop cannot forge a second line or a field.
"""

from __future__ import annotations

import json
import logging
import re

_PLAIN = re.compile(r"[A-Za-z0-9_./:@+-]{1,200}")


def value(item: object) -> str:
    if item is None:
        return "-"
    if isinstance(item, float):
        return f"{item:.1f}"
    text = str(item)
    return text if _PLAIN.fullmatch(text) else json.dumps(text[:200])


def line(what: str, **fields: object) -> str:
    """``line("inbox.processed", delivery=7, outcome="done")`` → ``inbox.processed
    delivery=7 outcome=done``."""
    return " ".join([what, *(f"{name}={value(item)}" for name, item in fields.items())])


def emit(logger: logging.Logger, what: str, level: int = logging.INFO, **fields: object) -> None:
    """Log the line at ``level``, formatting it only when someone listens."""
    if logger.isEnabledFor(level):
        logger.log(level, "%s", line(what, **fields))
