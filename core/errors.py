"""Domain errors. Web layers map them onto HTTP; the domain never speaks HTTP itself."""

from __future__ import annotations

from typing import Any


class GlueError(Exception):
    """Base of every refusal the domain makes; ``code`` is stable, ``message`` is for people."""

    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(GlueError):
    """The object does not exist, or the actor may not know that it exists."""

    code = "not_found"


class Forbidden(GlueError):
    """The actor is known to see the object but lacks the permission for this action."""

    code = "forbidden"


class Conflict(GlueError):
    """The request clashes with the current state (duplicate id, illegal transition)."""

    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class ValidationFailed(GlueError):
    """Bad input. ``errors`` lists every problem found, each a dict with at least ``message``
    and, where it applies, ``field`` and ``index`` (row or item number)."""

    code = "validation_failed"

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or [{"message": message}]
