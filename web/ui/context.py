"""Who is asking: the logged-in user and the organization they act for, loaded per request.

Every page of the UI is built on this module. A view declares what it needs with a decorator::

    @bp.get("/products")
    @requires("supplier")
    def products():
        ui = current()            # UiContext: user, active organization, principal
        with transaction() as s:  # a database transaction for this view's work
            ...

``@login_required`` asks only for a logged-in user; ``@requires(permission)`` also for an active
organization in which the user has ``permission`` (``admin``, ``supplier`` or ``retailer``).
Anonymous visitors are sent to the login page; a logged-in user without the permission gets 403.
Organization-scoped queries must use ``current().organization_id``, never an id from the URL
alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import abort, current_app, g, redirect, request, session, url_for
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.models import Membership, Organization, User
from core.parties import user_principal
from core.principal import Principal
from web.app import get_db
from web.ui import logins

SID_KEY = "sid"
ORG_KEY = "org"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class OrganizationChoice:
    id: int
    name: str


@dataclass(frozen=True)
class UiContext:
    """The logged-in user and, once chosen, the organization they act for."""

    user_id: int
    email: str
    name: str
    language: str
    organizations: tuple[OrganizationChoice, ...]
    organization_id: int | None = None
    organization_name: str = ""
    principal: Principal | None = None

    def can(self, permission: str) -> bool:
        return self.principal is not None and self.principal.can(permission)


@contextlib.contextmanager
def transaction() -> Iterator[Session]:
    """A database transaction for a view: commits on success, rolls back on an error."""
    with get_db().transaction() as s:
        yield s


def current() -> UiContext | None:
    """The request's ``UiContext``, or ``None`` for an anonymous visitor."""
    return g.get("ui")


def load() -> None:
    """Before every UI request: resolve the session cookie into ``g.ui``."""
    g.ui = None
    sid = session.get(SID_KEY)
    if not sid:
        return
    idle = current_app.config.get("GLUE_UI_IDLE_TIMEOUT", logins.IDLE_TIMEOUT)
    with transaction() as s:
        user_id = logins.resolve_session(s, sid, idle_timeout=idle)
        user = s.get(User, user_id) if user_id is not None else None
        if user is None or not user.is_active:
            session.pop(SID_KEY, None)
            session.pop(ORG_KEY, None)
            g.ui_session_ended = True
            return
        g.ui = _context(s, user, session.get(ORG_KEY))
    g.ui_user_language = g.ui.language
    if g.ui.organization_id is None:
        session.pop(ORG_KEY, None)


def _context(s: Session, user: User, org_id: Any) -> UiContext:
    rows = s.execute(sa.select(Organization.id, Organization.name)
                     .join(Membership, Membership.organization_id == Organization.id)
                     .where(Membership.user_id == user.id)
                     .order_by(Organization.name, Organization.id)).all()
    choices = tuple(OrganizationChoice(id=r.id, name=r.name) for r in rows)
    base = UiContext(user_id=user.id, email=user.email, name=user.name, language=user.language,
                     organizations=choices)
    if len(choices) == 1 and org_id is None:
        org_id = choices[0].id
    chosen = next((c for c in choices if c.id == org_id), None)
    if chosen is None:
        return base
    try:
        principal = user_principal(s, user.id, chosen.id)
    except NotFound:  # the membership went away between the two queries
        return base
    return dataclasses.replace(base, organization_id=chosen.id, organization_name=chosen.name,
                               principal=principal)


def login_required(view: F) -> F:
    """The view needs a logged-in user (any organization, or none chosen yet)."""
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current() is None:
            return _to_login()
        return view(*args, **kwargs)
    return wrapped  # type: ignore[return-value]


def requires(permission: str | None = None) -> Callable[[F], F]:
    """The view needs a logged-in user acting for an organization, with ``permission`` in it
    when one is named. Without a chosen organization the user is sent to choose one."""
    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            ui = current()
            if ui is None:
                return _to_login()
            if ui.principal is None:
                # No organization chosen, or none to choose: the chooser page says which.
                return redirect(url_for("ui.choose_organization", next=_here()))
            if permission is not None and not ui.principal.can(permission):
                abort(403)
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorate


def _here() -> str:
    return request.full_path.rstrip("?") if request.method == "GET" else ""


def _to_login() -> Any:
    params = {"next": _here()} if _here() else {}
    if g.get("ui_session_ended"):
        params["expired"] = "1"
    return redirect(url_for("ui.login", **params))


def safe_next(target: str | None, default: str) -> str:
    """A same-site path to go to after a form, never another host (open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def login(s: Session, user: User, organization_id: int | None = None) -> None:
    """Log ``user`` in in this browser: a new session id and CSRF token (no fixation)."""
    from web.ui import csrf

    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    session[SID_KEY] = logins.start_session(s, user.id)
    if organization_id is not None:
        session[ORG_KEY] = organization_id
    session.permanent = True
    csrf.rotate()


def logout(s: Session) -> None:
    from web.ui import csrf

    sid = session.get(SID_KEY)
    if sid:
        logins.end_session(s, sid)
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    csrf.rotate()
