"""Organization admin: members and their permissions, invitations, API accounts, the profile
and logo. Every view needs the ``admin`` permission in the active organization and acts only on
that organization; the services in ``core.parties`` and ``core.api_accounts`` check it again."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core import logos
from core.api_accounts import create_api_account, list_api_accounts, revoke_api_account
from core.errors import Conflict, GlueError, ValidationFailed
from core.logos import validate_logo
from core.models import Invitation, Membership, Organization, User
from core.parties import (
    MAX_LOGO_BYTES,
    invitation_state,
    invite,
    remove_member,
    resend_invitation,
    revoke_invitation,
    set_permissions,
    update_profile,
)
from core.principal import PERMISSIONS
from web.ui import bp
from web.ui.context import current, requires, transaction
from web.ui.forms import checked_permissions, field_errors, refused, say
from web.ui.mail import absolute_url, send_mail

# --- members -------------------------------------------------------------------------------

@bp.get("/admin/members")
@requires("admin")
def members() -> Any:
    ui = current()
    with transaction() as s:
        rows = s.execute(sa.select(User.id, User.name, User.email, Membership.is_admin,
                                   Membership.is_supplier, Membership.is_retailer)
                         .join(Membership, Membership.user_id == User.id)
                         .where(Membership.organization_id == ui.organization_id)
                         .order_by(User.name, User.email)).all()
        organization = s.get(Organization, ui.organization_id)
        roles = _roles(organization)
    people = [{"id": r.id, "name": r.name, "email": r.email,
               "permissions": {p for p, on in (("admin", r.is_admin),
                                               ("supplier", r.is_supplier),
                                               ("retailer", r.is_retailer)) if on}}
              for r in rows]
    return render_template("ui/admin/members.html", members=people, roles=roles,
                           permissions=PERMISSIONS)


def _roles(organization: Organization) -> set[str]:
    """The permissions that mean something in this organization (admin always does)."""
    return {"admin"} | {p for p, on in (("supplier", organization.is_supplier),
                                        ("retailer", organization.is_retailer)) if on}


@bp.post("/admin/members/<int:user_id>/permissions")
@requires("admin")
def member_permissions(user_id: int) -> Any:
    ui = current()
    try:
        with transaction() as s:
            set_permissions(s, ui.principal, user_id, checked_permissions(request.form))
        flash(_("Permissions saved."), "success")
    except GlueError as exc:
        refused(exc)
    return redirect(url_for("ui.members"))


@bp.post("/admin/members/<int:user_id>/remove")
@requires("admin")
def member_remove(user_id: int) -> Any:
    ui = current()
    try:
        with transaction() as s:
            remove_member(s, ui.principal, user_id)
        flash(_("The member was removed."), "success")
    except GlueError as exc:
        refused(exc)
    if user_id == ui.user_id:
        return redirect(url_for("ui.home"))
    return redirect(url_for("ui.members"))


# --- invitations ---------------------------------------------------------------------------

@bp.route("/admin/invitations", methods=["GET", "POST"])
@requires("admin")
def invitations() -> Any:
    ui = current()
    errors: dict[str, str] = {}
    form = {"email": "", "permissions": set()}
    if request.method == "POST":
        form = {"email": request.form.get("email", "").strip(),
                "permissions": set(checked_permissions(request.form))}
        try:
            with transaction() as s:
                invitation, token = invite(s, ui.principal, email=form["email"],
                                           permissions=sorted(form["permissions"]))
                _mail_invitation(s, invitation, token, ui.organization_name)
        except ValidationFailed as exc:
            errors = field_errors(exc)
        except Conflict as exc:
            errors = {"email": say(exc.message)}
        else:
            flash(_("Invitation sent to %(email)s.", email=invitation.email), "success")
            return redirect(url_for("ui.invitations"))
    with transaction() as s:
        rows = list(s.scalars(sa.select(Invitation)
                              .where(Invitation.organization_id == ui.organization_id)
                              .order_by(Invitation.created_at.desc(), Invitation.id.desc())
                              .limit(200)))
        organization = s.get(Organization, ui.organization_id)
        roles = _roles(organization)
    listed = [{"id": i.id, "email": i.email, "permissions": i.permissions.split(","),
               "state": invitation_state(i), "expires_at": i.expires_at} for i in rows]
    return render_template("ui/admin/invitations.html", invitations=listed, errors=errors,
                           form=form, roles=roles, permissions=PERMISSIONS), (
        422 if errors else 200)


def _mail_invitation(s: Any, invitation: Invitation, token: str, organization_name: str) -> None:
    link = absolute_url("ui.accept", token=token)
    send_mail(s, to=invitation.email,
              subject=_("You are invited to %(organization)s on Glue",
                        organization=organization_name),
              body=render_template("ui/mail/invitation.txt", link=link,
                                   organization=organization_name,
                                   expires_at=invitation.expires_at))


@bp.post("/admin/invitations/<int:invitation_id>/resend")
@requires("admin")
def invitation_resend(invitation_id: int) -> Any:
    ui = current()
    try:
        with transaction() as s:
            invitation, token = resend_invitation(s, ui.principal, invitation_id)
            _mail_invitation(s, invitation, token, ui.organization_name)
        flash(_("Invitation sent again to %(email)s.", email=invitation.email), "success")
    except GlueError as exc:
        refused(exc)
    return redirect(url_for("ui.invitations"))


@bp.post("/admin/invitations/<int:invitation_id>/revoke")
@requires("admin")
def invitation_revoke(invitation_id: int) -> Any:
    ui = current()
    try:
        with transaction() as s:
            revoke_invitation(s, ui.principal, invitation_id)
        flash(_("The invitation was withdrawn."), "success")
    except GlueError as exc:
        refused(exc)
    return redirect(url_for("ui.invitations"))


# --- API accounts --------------------------------------------------------------------------

@bp.route("/admin/api-accounts", methods=["GET", "POST"])
@requires("admin")
def api_accounts() -> Any:
    ui = current()
    errors: dict[str, str] = {}
    created: dict[str, str] | None = None
    if request.method == "POST":
        try:
            with transaction() as s:
                account, secret = create_api_account(s, ui.principal,
                                                     organization_id=ui.organization_id,
                                                     name=request.form.get("name", ""))
            # Shown in this response only; it is stored hashed and cannot be shown again.
            created = {"account": account.account, "name": account.name, "secret": secret}
        except ValidationFailed as exc:
            errors = field_errors(exc)
    with transaction() as s:
        accounts = [{"account": a.account, "name": a.name, "created_at": a.created_at,
                     "revoked": a.revoked_at is not None,
                     "locked": a.locked_until is not None}
                    for a in list_api_accounts(s, ui.principal, ui.organization_id)]
    return render_template("ui/admin/api_accounts.html", accounts=accounts, created=created,
                           errors=errors), (422 if errors else 200)


@bp.post("/admin/api-accounts/<account>/revoke")
@requires("admin")
def api_account_revoke(account: str) -> Any:
    ui = current()
    try:
        with transaction() as s:
            revoke_api_account(s, ui.principal, account)
        flash(_("The API account was revoked; its tokens no longer work."), "success")
    except GlueError as exc:
        refused(exc)
    return redirect(url_for("ui.api_accounts"))


# --- profile and logo ----------------------------------------------------------------------

_PROFILE_FIELDS = ("name", "description", "website", "street_address", "postal_code",
                   "post_office", "email", "telephone")


@bp.route("/admin/profile", methods=["GET", "POST"])
@requires("admin")
def profile() -> Any:
    ui = current()
    errors: dict[str, str] = {}
    if request.method == "POST":
        fields: dict[str, Any] = {f: request.form.get(f, "") for f in _PROFILE_FIELDS}
        fields["ships_to"] = [c for c in request.form.get("ships_to", "").replace(",", " ")
                              .split() if c]
        upload = request.files.get("logo")
        if request.form.get("remove_logo"):
            fields["logo"] = None
        elif upload is not None and upload.filename:
            data = upload.read(MAX_LOGO_BYTES + 1)
            if len(data) > MAX_LOGO_BYTES:
                errors["logo"] = _("The logo may be at most %(kb)s kB.",
                                   kb=MAX_LOGO_BYTES // 1024)
            else:
                try:
                    # Recognised by its bytes and decoded in full, never trusted by its name.
                    fields.update(logo=data, logo_content_type=validate_logo(data))
                except ValidationFailed:
                    errors["logo"] = _("The logo must be a PNG or JPEG image of %(low)s to "
                                       "%(high)s pixels a side.",
                                       low=logos.MIN_PIXELS, high=logos.MAX_PIXELS)
        if not errors:
            try:
                with transaction() as s:
                    update_profile(s, ui.principal, **fields)
            except ValidationFailed as exc:
                errors = field_errors(exc)
            else:
                flash(_("The profile was saved."), "success")
                return redirect(url_for("ui.profile"))
    with transaction() as s:
        organization = s.get(Organization, ui.organization_id)
        values = {f: getattr(organization, f) for f in _PROFILE_FIELDS}
        values["ships_to"] = " ".join(organization.ships_to or [])
        has_logo = organization.logo is not None
        info = {"business_id": organization.business_id,
                "is_supplier": organization.is_supplier}
    if request.method == "POST":
        values.update({f: request.form.get(f, "") for f in (*_PROFILE_FIELDS, "ships_to")})
    return render_template("ui/admin/profile.html", values=values, errors=errors,
                           has_logo=has_logo, info=info,
                           max_logo_kb=MAX_LOGO_BYTES // 1024), (422 if errors else 200)


@bp.get("/organizations/<int:organization_id>/logo")
@requires()
def logo(organization_id: int) -> Any:
    """An organization's logo: one's own, or a supplier's (part of its public profile)."""
    ui = current()
    with transaction() as s:
        organization = s.get(Organization, organization_id)
        if organization is None or organization.logo is None or not (
                organization.id == ui.organization_id or organization.is_supplier):
            abort(404)
        data, content_type = organization.logo, organization.logo_content_type
    response = make_response(data)
    response.headers["Content-Type"] = content_type or "application/octet-stream"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
