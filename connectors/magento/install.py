"""Installing Glue from the Magento admin: the integration activation (OAuth 1.0a).

The merchant adds an integration under **System > Extensions > Integrations** with Glue's
Callback URL (``/connect/magento/callback``) and Identity link URL (``/connect/magento/link``)
and activates it. Then (``reference/platforms.md`` 3.1):

1. Magento POSTs the consumer credentials and a verifier to the callback, server to server and
   unsigned. :func:`store_activation` keeps them encrypted in a shop connection that is
   ``installing`` and belongs to nobody yet; nothing else is trusted from that POST.
2. Magento opens the identity link in a popup with ``oauth_consumer_key`` and
   ``success_call_back``. The merchant logs in to Glue (the UI's login), sees which shop will
   be linked to which retailer, and confirms with a CSRF-protected POST.
3. Only then is the OAuth exchange completed (``/oauth/token/request``, then
   ``/oauth/token/access`` with the verifier): it needs the shop's answer, and doing it inside
   Magento's activation POST would deadlock a single-worker shop. The access token is stored
   encrypted, the connection is linked to the retailer the user acts for, and the popup goes to
   ``success_call_back`` (only on the shop's own host: no open redirect).

The connection key is a keyed digest of the consumer key, so a repeated activation (Magento's
"Reauthorize") finds its connection without storing the consumer key in clear. A repeated
activation never replaces the credentials of a linked connection by itself: the new ones wait as
``pending`` until a logged-in user of that same retailer confirms the link again.

Register with ``("connectors.magento.install", "bp")`` in ``web.app.BLUEPRINTS``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, Response, abort, redirect, render_template_string, request
from sqlalchemy.orm import Session

from connectors.magento import client as magento_client
from core.crypto import decrypt, encrypt, token_digest
from core.db import utcnow
from core.events import record
from core.models import ShopConnection
from core.principal import SYSTEM, Principal

PLATFORM = "magento"
bp = Blueprint("magento_install", __name__, url_prefix="/connect/magento")

ACTIVATION_FIELDS = ("oauth_consumer_key", "oauth_consumer_secret", "store_base_url",
                     "oauth_verifier")
MAX_FIELD = 2000


class ActivationError(ValueError):
    """The activation POST or the link request is unusable (shown to the merchant)."""


@dataclass(frozen=True)
class PendingLink:
    """What the identity-link page shows and the exchange needs (credentials decrypted)."""

    connection_id: int
    shop: str
    retailer_id: int | None
    activation: Mapping[str, str]


# --- service functions (no Flask) -----------------------------------------------------------

def connection_key(consumer_key: str) -> str:
    """The connection's public key: a keyed digest, never the consumer key itself."""
    return "mg" + token_digest(f"magento-consumer:{consumer_key}")[:32]


def normalise_base_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query \
            or parts.fragment:
        raise ActivationError("store_base_url must be an http(s) URL")
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}/"


def _credentials(connection: ShopConnection) -> dict[str, Any]:
    return json.loads(decrypt(connection.credentials)) if connection.credentials else {}


def store_activation(session: Session, form: Mapping[str, str]) -> ShopConnection:
    """Keep an activation POST: a new ``installing`` connection, or the pending credentials of
    the existing one (see the module doc). Raises :class:`ActivationError` for bad input."""
    values = {name: str(form.get(name) or "").strip() for name in ACTIVATION_FIELDS}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ActivationError(f"missing {', '.join(missing)}")
    if any(len(v) > MAX_FIELD for v in values.values()):
        raise ActivationError("a field is too long")
    values["store_base_url"] = normalise_base_url(values["store_base_url"])
    key = connection_key(values["oauth_consumer_key"])
    connection = session.scalar(sa.select(ShopConnection).where(ShopConnection.key == key))
    if connection is None:
        connection = ShopConnection(key=key, platform=PLATFORM, shop=values["store_base_url"],
                                    status="installing", settings={})
        session.add(connection)
    credentials = _credentials(connection)
    credentials["pending"] = values
    connection.credentials = encrypt(json.dumps(credentials))
    connection.updated_at = utcnow()
    session.flush()
    return connection


def pending_link(session: Session, consumer_key: str) -> PendingLink:
    """The activation waiting for ``consumer_key``; :class:`ActivationError` when none is."""
    key = connection_key(consumer_key.strip())
    connection = session.scalar(sa.select(ShopConnection).where(
        ShopConnection.key == key, ShopConnection.platform == PLATFORM))
    pending = _credentials(connection).get("pending") if connection else None
    if connection is None or not pending:
        raise ActivationError("no activation is waiting for this integration: activate it "
                              "again in the Magento admin")
    return PendingLink(connection.id, connection.shop, connection.retailer_id, pending)


def complete_link(session: Session, link: PendingLink, *, retailer_id: int,
                  tokens: magento_client.Token, actor: Principal) -> ShopConnection:
    """Link the connection to ``retailer_id`` with the exchanged access token, in the caller's
    transaction; refuses a connection another retailer already holds."""
    connection = session.get(ShopConnection, link.connection_id, with_for_update=True)
    if connection is None:
        raise ActivationError("the connection is gone")
    if connection.retailer_id not in (None, retailer_id):
        raise ActivationError("this shop is linked to another retailer")
    activation = link.activation
    connection.credentials = encrypt(json.dumps({
        "consumer_key": activation["oauth_consumer_key"],
        "consumer_secret": activation["oauth_consumer_secret"],
        "access_token": tokens.token, "access_token_secret": tokens.secret}))
    connection.shop = activation["store_base_url"]
    connection.retailer_id = retailer_id
    if connection.status in ("installing", "uninstalled"):
        connection.status = "linked"
    connection.updated_at = utcnow()
    record(session, actor, "shop_connection.linked", "shop_connection", connection.id,
           [retailer_id], platform=PLATFORM, shop=connection.shop)
    session.flush()
    return connection


def exchange(link: PendingLink, *, session: Any = None) -> magento_client.Token:
    """The OAuth 1.0a exchange for a pending activation: request token, then access token."""
    activation = link.activation
    base = activation["store_base_url"]
    requested = magento_client.request_token(base, activation["oauth_consumer_key"],
                                             activation["oauth_consumer_secret"],
                                             session=session)
    return magento_client.access_token(base, activation["oauth_consumer_key"],
                                       activation["oauth_consumer_secret"], requested,
                                       activation["oauth_verifier"], session=session)


def safe_success_url(success_call_back: str, shop: str) -> str:
    """``success_call_back`` only when it is on the shop's own scheme and host."""
    target, base = urlsplit(success_call_back), urlsplit(shop)
    if (target.scheme, target.netloc.lower()) != (base.scheme, base.netloc.lower()):
        raise ActivationError("success_call_back is not on the shop's host")
    return success_call_back


# --- views ----------------------------------------------------------------------------------

LINK_PAGE = """{% extends "ui/base.html" %}
{% block title %}{{ _("Link a Magento shop") }}{% endblock %}
{% block content %}
<main id="main" class="page">
  <h1>{{ _("Link a Magento shop") }}</h1>
  {% if error %}<p class="error" role="alert">{{ error }}</p>{% else %}
  <p>{{ _("The Magento shop") }} <strong>{{ shop }}</strong>
     {{ _("will be linked to") }} <strong>{{ retailer }}</strong>.</p>
  <form method="post">
    {{ csrf_field() }}
    <input type="hidden" name="oauth_consumer_key" value="{{ consumer_key }}">
    <input type="hidden" name="success_call_back" value="{{ success_call_back }}">
    <button type="submit" class="button">{{ _("Link the shop") }}</button>
  </form>
  {% endif %}
</main>
{% endblock %}"""


def _page(status: int = 200, **values: Any) -> Response:
    html = render_template_string(LINK_PAGE, **{"error": "", **values})
    response = Response(html, status=status, mimetype="text/html")
    # the page runs in Magento's popup: a window of its own, never a frame
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/callback")
def activation() -> Response:
    """Magento's activation POST (form-encoded). Answers 200 once the credentials are kept;
    400 for an unusable POST, which Magento shows to the merchant as a failed activation."""
    from web.app import get_db

    try:
        with get_db().transaction() as s:
            store_activation(s, request.form)
    except ActivationError as exc:
        return Response(str(exc), status=400, mimetype="text/plain")
    return Response("ok", status=200, mimetype="text/plain")


@bp.before_request
def _load_ui_user() -> None:
    if request.endpoint == "magento_install.link":
        from web.ui import context

        context.load()


def _link_view() -> Response:
    from web.app import get_db
    from web.ui import csrf
    from web.ui.context import current

    ui = current()
    assert ui is not None and ui.principal is not None  # @requires("admin") ran
    if not ui.can("retailer"):  # shop connections belong to retailers
        abort(403)
    source = request.form if request.method == "POST" else request.args
    consumer_key = source.get("oauth_consumer_key", "")
    success_call_back = source.get("success_call_back", "")
    try:
        with get_db().transaction() as s:
            link = pending_link(s, consumer_key)
        success = safe_success_url(success_call_back, link.shop)
        if link.retailer_id not in (None, ui.organization_id):
            raise ActivationError("this shop is linked to another retailer")
    except ActivationError as exc:
        return _page(400, error=str(exc))
    if request.method == "GET":
        return _page(shop=link.shop, retailer=ui.organization_name, consumer_key=consumer_key,
                     success_call_back=success_call_back)
    csrf.check()
    tokens = exchange(link)  # outside any transaction: it waits for the shop
    try:
        with get_db().transaction() as s:
            complete_link(s, link, retailer_id=ui.organization_id, tokens=tokens,
                          actor=ui.principal or SYSTEM)
    except ActivationError as exc:
        return _page(409, error=str(exc))
    return redirect(success, code=303)


def _register_link_view() -> None:
    from web.ui.context import requires

    # an organization's admin manages its shop connections (DESIGN.md 2)
    bp.add_url_rule("/link", "link", requires("admin")(_link_view), methods=["GET", "POST"])


_register_link_view()


@bp.errorhandler(magento_client.ConnectorError)
def _shop_refused(error: magento_client.ConnectorError) -> Response:
    """The shop refused or did not answer the exchange: the activation stays pending, so the
    merchant can try the link again."""
    return _page(502, error=f"The shop did not complete the link: {error.message}")
