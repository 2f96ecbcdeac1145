"""Small helpers shared by the UI's forms, and the domain's refusals in the user's language."""

from __future__ import annotations

from flask import abort, flash

from core.errors import GlueError, NotFound, ValidationFailed
from core.principal import PERMISSIONS
from web.ui.core_messages import translate


def say(message: str) -> str:
    """A domain message in the UI's language when it is a known one (``web.ui.core_messages``),
    else as it is."""
    translated = translate(message)
    return message if translated is None else translated


def field_errors(exc: ValidationFailed) -> dict[str, str]:
    """A domain validation error as {form field: message}; errors without a field go under
    ``_form``. The first message of a field wins."""
    errors: dict[str, str] = {}
    for error in exc.errors:
        errors.setdefault(str(error.get("field") or "_form"), say(str(error.get("message", ""))))
    return errors


def checked_permissions(form: dict[str, str] | object) -> list[str]:
    """The permissions ticked in a form with one checkbox per permission (``perm_admin``...)."""
    return [p for p in PERMISSIONS if form.get(f"perm_{p}")]  # type: ignore[attr-defined]


def refused(exc: GlueError) -> None:
    """Show a domain refusal as a message on the page the user returns to; an object the user
    may not see is a 404, as everywhere else."""
    if isinstance(exc, NotFound):
        abort(404)
    flash(say(exc.message), "error")
