"""The user's own account: changing the password.

Changing it ends the user's other logins (whoever knew the old password is logged out) and keeps
this browser logged in with a fresh session id.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from core.errors import ValidationFailed
from core.models import User
from core.parties import authenticate_user, set_password
from core.principal import Principal
from web.ui import bp, context, logins
from web.ui.context import current, login_required, transaction
from web.ui.forms import field_errors


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> Any:
    ui = current()
    errors: dict[str, str] = {}
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("password_confirm", ""):
            errors["password_confirm"] = _("The passwords do not match.")
        else:
            with transaction() as s:
                if authenticate_user(s, ui.email, request.form.get("current_password", "")) \
                        is None:
                    errors["current_password"] = _("Wrong password.")
                else:
                    me = Principal(organization_id=ui.organization_id, user_id=ui.user_id,
                                   label=f"user:{ui.user_id}")
                    try:
                        set_password(s, me, ui.user_id, password)
                    except ValidationFailed as exc:
                        errors = field_errors(exc)
                    else:
                        logins.end_all_sessions(s, ui.user_id)
                        organization_id = session.get(context.ORG_KEY)
                        context.login(s, s.get(User, ui.user_id), organization_id)
        if not errors:
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("ui.account"))
    return render_template("ui/account.html", errors=errors), (422 if errors else 200)
