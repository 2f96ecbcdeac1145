"""The browser UI: server-rendered pages for organization admins, suppliers and retailers.

One blueprint, ``ui``, holds every page; each surface is a module that adds its views to it
(``auth``: logging in and out, password reset, invitations, choosing the organization;
``account``: the user's own password; ``admin``: the organization's members, invitations, API
accounts and profile; ``home``: the start page; ``devmail``: stored mail). A new surface is a new
module here, imported at the bottom of this file, whose views use ``web.ui.context``
(``@requires("supplier")``, ``current()``, ``transaction()``) and whose templates extend
``ui/base.html``. Every unsafe request is CSRF-checked (``web.ui.csrf``) before its view runs.

Registering the blueprint also sets up Flask-Babel and the session cookie (see ``_setup``), so
the app factory needs nothing but the entry in ``BLUEPRINTS``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, g, render_template, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException

from web.ui import csrf, i18n, logins

bp = Blueprint("ui", __name__, template_folder="templates", static_folder="static",
               static_url_path="/ui/static")

# Content-Security-Policy: our own scripts and styles only, nothing inline, no framing.
_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def _setup(state: BlueprintSetupState) -> None:
    app: Flask = state.app
    settings = app.config["GLUE_SETTINGS"]
    # Flask's defaults are set keys, so these are assigned: the UI's cookie must not be
    # readable by scripts, must not ride on cross-site POSTs, and lives no longer than a login.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("SESSION_COOKIE_SAMESITE") not in ("Lax", "Strict"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if settings.public_url.startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.config["PERMANENT_SESSION_LIFETIME"] = logins.MAX_AGE
    i18n.init_app(app)


bp.record_once(_setup)


# The token check runs first: a forged request is refused before it costs a database query.
csrf.protect(bp)


@bp.before_request
def _load_user() -> None:
    from web.ui import context

    if request.endpoint != "ui.static":  # stylesheets and scripts need no login
        context.load()


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Invitation and reset links carry tokens in the path: never send them on as a Referer.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if g.get("ui") is not None and not request.path.startswith(bp.static_url_path or "/ui/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.app_context_processor
def _template_context() -> dict[str, Any]:
    from flask_babel import get_locale

    from web.ui.context import current

    locale = get_locale()
    return {"ui": current(), "lang": str(locale) if locale else i18n.DEFAULT,
            "languages": i18n.SUPPORTED}


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[str, int]:
    return render_template("ui/error.html", error=error), error.code or 500


from web.ui import (  # noqa: E402,F401  (views register on bp)  # noqa: E402,F401
    account,
    admin,
    auth,
    devmail,
    home,
    imports,
    retailer_catalogs,
    retailer_connections,
    retailer_orders,
    supplier_catalogs,
    supplier_products,
    supplier_shipments,
)
