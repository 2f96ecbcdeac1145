"""Small helpers shared by the UI's forms, and the domain's refusals in the user's language."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash
from flask_babel import gettext as _

from core.errors import GlueError, NotFound, ValidationFailed
from core.principal import PERMISSIONS

# The domain speaks English (its messages are also the API's). The refusals people meet in these
# forms are recognised by a stable part of their text and said again in the UI's language; any
# other message is shown as the domain wrote it.
_KNOWN: list[tuple[str, Callable[[], str]]] = [
    ("at least one admin", lambda: _("An organization keeps at least one admin.")),
    ("password has at least", lambda: _("A password has at least 8 characters.")),
    ("permissions are some of", lambda: _("Choose at least one permission.")),
    ("is not an e-mail address", lambda: _("Enter a valid e-mail address.")),
    ("not an e-mail address", lambda: _("Enter a valid e-mail address.")),
    ("is already a member", lambda: _("This person is already a member.")),
    ("must be an http(s) address", lambda: _("Enter an address that starts with https://.")),
    ("two-letter country codes", lambda: _("Use two-letter country codes, such as FI.")),
    ("needs a name", lambda: _("Enter a name.")),
    ("name is required", lambda: _("Enter a name.")),
    ("characters", lambda: _("The text is too long.")),
    ("cannot be resent", lambda: _("Only a pending or expired invitation can be sent again.")),
    ("cannot be revoked", lambda: _("Only a pending or expired invitation can be withdrawn.")),
    ("already revoked", lambda: _("The API account is already revoked.")),
]


def say(message: str) -> str:
    """A domain message in the UI's language when it is a known one, else as it is."""
    for fragment, translated in _KNOWN:
        if fragment in message:
            return translated()
    return message


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
