"""Logging in and out, choosing the active organization, password reset, accepting invitations.

Refusals never tell whether an e-mail address has an account: a wrong password and an unknown
address read the same, and a reset request always answers that a link was sent if the address
is known.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from core.crypto import new_secret, token_digest
from core.db import utcnow
from core.errors import Forbidden, IllegalTransition, NotFound, ValidationFailed
from core.models import Invitation, Organization, User
from core.parties import accept_invitation, authenticate_user, invitation_state, set_password
from core.principal import Principal
from web.ui import bp, context, i18n, logins
from web.ui.context import current, login_required, safe_next, transaction
from web.ui.forms import field_errors
from web.ui.mail import absolute_url, send_mail
from web.ui.models import PasswordReset

RESET_TTL = timedelta(hours=1)
RESETS_PER_HOUR = 3


# --- logging in and out --------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = safe_next(request.values.get("next"), url_for("ui.home"))
    if current() is not None and request.method == "GET":
        return redirect(target)
    if request.method == "GET":
        expired = request.args.get("expired") == "1"
        return render_template("ui/login.html", next=target, email="", expired=expired)
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    address = request.remote_addr
    with transaction() as s:
        if logins.login_blocked(s, email, address):
            return render_template(
                "ui/login.html", next=target, email=email,
                error=_("Too many failed attempts. Wait 15 minutes and try again.")), 429
        user = authenticate_user(s, email, password)
        if user is None:
            # Committed with the transaction: the count must survive this refusal.
            logins.record_failure(s, email, address)
        else:
            logins.clear_failures(s, email)
            context.login(s, user)
    if user is None:
        return render_template("ui/login.html", next=target, email=email,
                               error=_("Wrong e-mail address or password.")), 401
    return redirect(target)


@bp.post("/logout")
def logout() -> Any:
    with transaction() as s:
        context.logout(s)
    flash(_("You have logged out."), "info")
    return redirect(url_for("ui.login"))


@bp.post("/language")
def set_language() -> Any:
    """Pick the UI language for this browser (it wins over the account's setting)."""
    language = request.form.get("language", "")
    if language in i18n.SUPPORTED:
        session[i18n.SESSION_KEY] = language
    return redirect(safe_next(request.form.get("next"), url_for("ui.home")))


@bp.route("/organization", methods=["GET", "POST"])
@login_required
def choose_organization() -> Any:
    """A user in several organizations picks the one to act for."""
    ui = current()
    target = safe_next(request.values.get("next"), url_for("ui.home"))
    if request.method == "GET":
        return render_template("ui/choose_organization.html", next=target)
    try:
        chosen = int(request.form.get("organization_id", ""))
    except ValueError:
        abort(400)
    if chosen not in {o.id for o in ui.organizations}:
        abort(403)
    session[context.ORG_KEY] = chosen
    return redirect(target)


# --- password reset ------------------------------------------------------------------------

@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> Any:
    if request.method == "GET":
        return render_template("ui/forgot_password.html")
    email = request.form.get("email", "").strip().lower()
    now = utcnow()
    with transaction() as s:
        user = s.scalar(sa.select(User).where(User.email == email)) if email else None
        recent = 0 if user is None else s.scalar(
            sa.select(sa.func.count()).select_from(PasswordReset).where(
                PasswordReset.user_id == user.id,
                PasswordReset.created_at > now - timedelta(hours=1)))
        # Unknown addresses and the hourly cap answer alike: nothing here says who has an account.
        if user is not None and user.is_active and recent < RESETS_PER_HOUR:
            token = new_secret()
            s.add(PasswordReset(user_id=user.id, token_digest=token_digest(token),
                                created_at=now, expires_at=now + RESET_TTL))
            link = absolute_url("ui.reset_password", token=token)
            send_mail(s, to=user.email, subject=_("Reset your Glue password"),
                      body=render_template("ui/mail/password_reset.txt", link=link,
                                           minutes=int(RESET_TTL.total_seconds() // 60)))
    flash(_("If the address has an account, we sent it a link to set a new password."), "info")
    return redirect(url_for("ui.login"))


def _live_reset(s: Any, token: str) -> PasswordReset | None:
    reset = s.scalar(sa.select(PasswordReset)
                     .where(PasswordReset.token_digest == token_digest(token)))
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return None
    return reset


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    errors: dict[str, str] = {}
    with transaction() as s:
        reset = _live_reset(s, token)
        if reset is None:
            return render_template("ui/link_invalid.html",
                                   message=_("This password reset link has expired or has "
                                             "already been used.")), 410
        if request.method == "POST":
            password = request.form.get("password", "")
            if password != request.form.get("password_confirm", ""):
                errors["password_confirm"] = _("The passwords do not match.")
            else:
                me = Principal(organization_id=None, user_id=reset.user_id,
                               label=f"user:{reset.user_id}")
                try:
                    set_password(s, me, reset.user_id, password)
                except ValidationFailed as exc:
                    errors = field_errors(exc)
                else:
                    reset.used_at = utcnow()
                    # Whoever knew the old password is logged out everywhere.
                    logins.end_all_sessions(s, reset.user_id)
    if request.method == "POST" and not errors:
        flash(_("Your password has been changed. Log in with the new password."), "success")
        return redirect(url_for("ui.login"))
    return render_template("ui/reset_password.html", token=token, errors=errors), (
        422 if errors else 200)


# --- invitations ---------------------------------------------------------------------------

@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept(token: str) -> Any:
    """Accept an invitation: a new user sets a name and password; an existing one gives its
    password. The user is logged in to the inviting organization right away."""
    with transaction() as s:
        invitation = s.scalar(sa.select(Invitation)
                              .where(Invitation.token_digest == token_digest(token)))
        if invitation is None:
            abort(404)
        state = invitation_state(invitation)
        organization = s.get(Organization, invitation.organization_id)
        existing = s.scalar(sa.select(User.id).where(User.email == invitation.email))
        view = {"token": token, "email": invitation.email, "existing": existing is not None,
                "organization_name": organization.name, "name": ""}
    if state != "pending":
        message = {"used": _("This invitation has already been used."),
                   "revoked": _("This invitation has been withdrawn."),
                   "expired": _("This invitation has expired. Ask for a new one.")}[state]
        return render_template("ui/link_invalid.html", message=message), 410
    if request.method == "GET":
        return render_template("ui/accept_invitation.html", errors={}, **view)
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    errors: dict[str, str] = {}
    if not view["existing"]:
        if not name:
            errors["name"] = _("Enter your name.")
        if password != request.form.get("password_confirm", ""):
            errors["password_confirm"] = _("The passwords do not match.")
    if not errors:
        try:
            with transaction() as s:
                user = accept_invitation(s, token, name=name, password=password,
                                         language=str(get_locale() or i18n.DEFAULT))
                context.login(s, user, organization_id=invitation.organization_id)
        except ValidationFailed as exc:
            errors = field_errors(exc)
        except Forbidden:
            errors["password"] = _("Wrong password.")
        except (IllegalTransition, NotFound):
            return render_template("ui/link_invalid.html",
                                   message=_("This invitation can no longer be used.")), 410
    if errors:
        view["name"] = name
        return render_template("ui/accept_invitation.html", errors=errors, **view), 422
    flash(_("Welcome to %(organization)s.", organization=view["organization_name"]), "success")
    return redirect(url_for("ui.home"))
