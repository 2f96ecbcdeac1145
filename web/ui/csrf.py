"""CSRF protection for the browser UI: one random token per browser session.

Every form carries the token in a hidden ``csrf_token`` field (``{{ csrf_field() }}``); scripts
send it in the ``X-CSRF-Token`` header. Every unsafe request to a protected blueprint must carry
it, compared in constant time; a missing or wrong token is refused with 400 before the view runs.
The cookie is SameSite=Lax as a second line, not the only one.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, abort, request, session
from markupsafe import Markup, escape

SESSION_KEY = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def token() -> str:
    """The current browser session's token, created on first use."""
    value = session.get(SESSION_KEY)
    if not value:
        value = secrets.token_urlsafe(32)
        session[SESSION_KEY] = value
    return value


def rotate() -> None:
    """A fresh token, after logging in or out (the old one may have been seen by others)."""
    session[SESSION_KEY] = secrets.token_urlsafe(32)


def csrf_field() -> Markup:
    """The hidden form field carrying the token (a Jinja global)."""
    return Markup(f'<input type="hidden" name="{FORM_FIELD}" value="{escape(token())}">')


def check() -> None:
    """Refuse (400) an unsafe request whose token is missing or does not match."""
    if request.method in SAFE_METHODS:
        return
    expected = session.get(SESSION_KEY)
    sent = request.headers.get(HEADER) or request.form.get(FORM_FIELD)
    if not expected or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="csrf")


def protect(blueprint: Blueprint) -> Blueprint:
    """Check the token before every unsafe request to ``blueprint``'s views."""
    blueprint.before_request(check)
    blueprint.add_app_template_global(csrf_field, "csrf_field")
    return blueprint
