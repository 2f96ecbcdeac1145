"""Installing Glue in a WooCommerce shop: the ``wc-auth`` key exchange, or keys entered by hand.

The flow (reference §2.1):

1. A retailer's admin names the shop's site URL (``POST /connect/woocommerce/install``).
   Glue creates (or reuses) the pending shop connection and sends the browser to
   ``<site>/wc-auth/v1/authorize`` with ``app_name``, ``scope=read_write``, a ``user_id`` that
   names the pending connection, ``return_url`` and ``callback_url``.
2. The merchant approves in the WordPress admin; WooCommerce POSTs the new keys as JSON to
   the callback (``POST /connect/woocommerce/callback``). It must be answered **exactly
   200**, otherwise WooCommerce deletes the keys. ``user_id`` comes back as a string.
3. WooCommerce sends the browser to ``return_url?success=1&user_id=…``.

``user_id`` is ``<connection key>.<one-time token>``; only a digest of the token is stored, so
the callback (which has no session: it comes from the shop's server) proves it was started by
the retailer that owns the pending connection. The keys, and the per-connection webhook secret,
are kept encrypted in ``ShopConnection.credentials``; storing them records
``shop_connection.linked``, on which the sync engine publishes and
:mod:`connectors.woocommerce.sync` creates the webhooks.

Shops that cannot reach Glue's callback (WordPress refuses private addresses and odd ports)
get their keys entered by hand (``/connect/woocommerce/manual``, :func:`link_manually`).
The browser routes need a logged-in admin of a retailer organization and a CSRF token.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, redirect, request, url_for
from markupsafe import escape
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from connectors.base import ConnectionSettings
from core import events
from core.crypto import decrypt, encrypt, new_secret, token_digest
from core.db import utcnow
from core.errors import NotFound, ValidationFailed
from core.models import Organization, ShopConnection
from core.principal import SYSTEM

PLATFORM = "woocommerce"
APP_NAME = "Glue"
SCOPE = "read_write"
TOKEN_FIELD = "install_token"  # in settings.platform: the digest of the pending token
_KEY = re.compile(r"ck_[0-9a-f]{40}")
_SECRET = re.compile(r"cs_[0-9a-f]{40}")

bp = Blueprint("woocommerce_install", __name__, url_prefix="/connect/woocommerce")


# --- the service functions (no Flask) ------------------------------------------------------

def normalise_site_url(url: str) -> str:
    """The site URL as WordPress knows it: scheme (https when none given), host, path, no
    trailing slash, query or fragment. Raises :class:`ValidationFailed` for anything else."""
    text = (url or "").strip()
    if text and "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.password:
        raise ValidationFailed("give the shop's address, like https://shop.example",
                               [{"field": "site_url", "message": "not a shop address"}])
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


def authorize_url(site_url: str, *, user_id: str, return_url: str, callback_url: str) -> str:
    """``<site>/wc-auth/v1/authorize`` with its five mandatory parameters."""
    query = urlencode({"app_name": APP_NAME, "scope": SCOPE, "user_id": user_id,
                       "return_url": return_url, "callback_url": callback_url})
    return f"{site_url}/wc-auth/v1/authorize?{query}"


def _retailer(session: Session, retailer_id: int) -> Organization:
    organization = session.get(Organization, retailer_id)
    if organization is None or not organization.is_retailer:
        raise NotFound("no such retailer")
    return organization


def _connection_for(session: Session, retailer_id: int, site_url: str) -> ShopConnection:
    connection = session.scalars(sa.select(ShopConnection).where(
        ShopConnection.platform == PLATFORM, ShopConnection.shop == site_url,
        ShopConnection.retailer_id == retailer_id)).first()
    if connection is None:
        connection = ShopConnection(key=new_secret(18), platform=PLATFORM, shop=site_url,
                                    retailer_id=retailer_id, status="installing",
                                    settings=ConnectionSettings().to_json())
        session.add(connection)
    elif connection.status == "uninstalled":
        connection.status = "installing"
    return connection


def _set_platform(connection: ShopConnection, **values: Any) -> None:
    settings = ConnectionSettings.from_json(connection.settings)
    platform = {**settings.platform, **values}
    platform = {k: v for k, v in platform.items() if v is not None}
    connection.settings = settings.model_copy(update={"platform": platform}).to_json()


def start_install(session: Session, *, retailer_id: int, site_url: str) -> tuple[
        ShopConnection, str]:
    """Create (or reuse) the retailer's pending connection to ``site_url`` and a fresh
    one-time token; returns the connection and the ``user_id`` to send to ``wc-auth``."""
    _retailer(session, retailer_id)
    connection = _connection_for(session, retailer_id, normalise_site_url(site_url))
    token = new_secret(24)
    _set_platform(connection, **{TOKEN_FIELD: token_digest(token)})
    connection.updated_at = utcnow()
    session.flush()
    return connection, f"{connection.key}.{token}"


def _store_keys(session: Session, connection: ShopConnection, *, consumer_key: str,
                consumer_secret: str, key_id: Any = None) -> None:
    old = json.loads(decrypt(connection.credentials)) if connection.credentials else {}
    credentials = {"consumer_key": consumer_key, "consumer_secret": consumer_secret,
                   # one random secret signs all of this connection's webhooks; kept over a
                   # re-install so that existing webhooks keep verifying
                   "webhook_secret": old.get("webhook_secret") or new_secret(32)}
    if key_id is not None:
        credentials["key_id"] = str(key_id)
    connection.credentials = encrypt(json.dumps(credentials))
    if connection.status in ("installing", "uninstalled"):
        connection.status = "linked"
    connection.updated_at = utcnow()
    # the sync engine publishes and the WooCommerce module creates the webhooks on this event
    events.record(session, SYSTEM, "shop_connection.linked", "shop_connection", connection.key,
                  [connection.retailer_id], platform=PLATFORM, shop=connection.shop)


def complete_install(session: Session, payload: Mapping[str, Any]) -> ShopConnection | None:
    """Take the keys WooCommerce posted to the callback; None (and nothing stored) unless
    ``user_id`` names a pending connection with its unused token, the scope is
    ``read_write`` and the keys look like WooCommerce keys. The token is used up."""
    user_id = str(payload.get("user_id") or "")
    key, _, token = user_id.partition(".")
    consumer_key = str(payload.get("consumer_key") or "")
    consumer_secret = str(payload.get("consumer_secret") or "")
    if not (key and token and _KEY.fullmatch(consumer_key)
            and _SECRET.fullmatch(consumer_secret)
            and payload.get("key_permissions") == SCOPE):
        return None
    connection = session.scalars(sa.select(ShopConnection).where(
        ShopConnection.platform == PLATFORM, ShopConnection.key == key)
        .with_for_update()).first()
    if connection is None:
        return None
    expected = ConnectionSettings.from_json(connection.settings).platform.get(TOKEN_FIELD)
    if not expected or not hmac.compare_digest(str(expected), token_digest(token)):
        return None
    _store_keys(session, connection, consumer_key=consumer_key,
                consumer_secret=consumer_secret, key_id=payload.get("key_id"))
    _set_platform(connection, **{TOKEN_FIELD: None})
    session.flush()
    return connection


def link_manually(session: Session, *, retailer_id: int, site_url: str, consumer_key: str,
                  consumer_secret: str) -> ShopConnection:
    """Link (or re-key) the retailer's connection to ``site_url`` with keys the merchant
    created in WooCommerce > Settings > Advanced > REST API (Read/Write)."""
    _retailer(session, retailer_id)
    errors = []
    if not _KEY.fullmatch(consumer_key.strip()):
        errors.append({"field": "consumer_key", "message": "a consumer key starts with ck_"})
    if not _SECRET.fullmatch(consumer_secret.strip()):
        errors.append({"field": "consumer_secret",
                       "message": "a consumer secret starts with cs_"})
    site = normalise_site_url(site_url)
    if errors:
        raise ValidationFailed("the keys are not WooCommerce keys", errors)
    connection = _connection_for(session, retailer_id, site)
    session.flush()  # a new connection needs its row before the event names it
    _store_keys(session, connection, consumer_key=consumer_key.strip(),
                consumer_secret=consumer_secret.strip())
    _set_platform(connection, **{TOKEN_FIELD: None})
    session.flush()
    return connection


# --- the routes ----------------------------------------------------------------------------

def _db_transaction():  # noqa: ANN202 - a context manager from the app's database
    from web.app import get_db

    return get_db().transaction()


def _retailer_admin() -> int:
    """The organization id of a logged-in admin acting for a retailer: anonymous visitors go
    to the login page, others get 403. Loads the UI session (this blueprint is not the UI's)
    and checks the CSRF token of unsafe requests."""
    from web.ui import context, csrf

    context.load()
    ui = context.current()
    if ui is None:
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        abort(redirect(url_for("ui.login", next=target)))
    csrf.check()
    if ui.principal is None or not ui.principal.can("admin") or ui.organization_id is None:
        abort(403)
    with _db_transaction() as s:
        organization = s.get(Organization, ui.organization_id)
        if organization is None or not organization.is_retailer:
            abort(403)
    return ui.organization_id


def _external(endpoint: str) -> str:
    """An absolute URL on Glue's public address (WooCommerce posts from the internet)."""
    base = current_app.config["GLUE_SETTINGS"].public_url.rstrip("/")
    return base + url_for(endpoint)


def _page(title: str, body: str, status: int = 200) -> Response:
    html = (f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"</head><body><h1>{escape(title)}</h1>{body}</body></html>")
    return Response(html, status=status, content_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def _form(action: str, fields: list[tuple[str, str, str]], button: str) -> str:
    from web.ui import csrf

    inputs = "".join(f'<p><label>{escape(label)} <input name="{name}" type="{kind}" required>'
                     f"</label></p>" for name, label, kind in fields)
    return (f'<form method="post" action="{escape(action)}">{csrf.csrf_field()}{inputs}'
            f'<button type="submit">{escape(button)}</button></form>')


@bp.get("/install")
def install_page() -> Response:
    _retailer_admin()
    return _page("Connect a WooCommerce shop", _form(
        url_for(".install"), [("site_url", "Shop address", "url")], "Connect"))


@bp.post("/install")
def install() -> Response:
    """Start the key exchange: create the pending connection, then go to ``wc-auth``."""
    retailer_id = _retailer_admin()
    try:
        with _db_transaction() as s:
            connection, user_id = start_install(s, retailer_id=retailer_id,
                                                site_url=request.form.get("site_url", ""))
            site = connection.shop
    except ValidationFailed as exc:
        return _page("Connect a WooCommerce shop", f"<p>{escape(exc.message)}</p>", 400)
    return redirect(authorize_url(site, user_id=user_id,
                                  return_url=_external(".installed"),
                                  callback_url=_external(".callback")), code=303)


@bp.post("/callback")
def callback() -> Response:
    """WooCommerce's server posts the keys here; exactly 200 keeps them, 400 refuses them
    (WooCommerce then deletes the keys). No session and no CSRF: the token proves it."""
    try:
        payload = json.loads(request.get_data(cache=False) or b"{}")
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return Response("", status=400)
    with _db_transaction() as s:
        connection = complete_install(s, payload)
    if connection is None:
        return Response("", status=400)
    return Response("", status=200)


@bp.get("/installed")
def installed() -> Response:
    """Where WooCommerce sends the merchant back (``success=1`` or ``0``)."""
    retailer_id = _retailer_admin()
    key = str(request.args.get("user_id") or "").partition(".")[0]
    with _db_transaction() as s:
        connection = s.scalars(sa.select(ShopConnection).where(
            ShopConnection.platform == PLATFORM, ShopConnection.key == key,
            ShopConnection.retailer_id == retailer_id)).first()
        linked = connection is not None and connection.status != "installing" \
            and request.args.get("success") == "1"
        shop = connection.shop if connection is not None else ""
    if not linked:
        return _page("The shop was not connected",
                     "<p>WooCommerce did not give Glue access. Try again, or enter the keys "
                     f'<a href="{escape(url_for(".manual_page"))}">by hand</a>.</p>', 400)
    return _page("The shop is connected", f"<p>{escape(shop)}</p>")


@bp.get("/manual")
def manual_page() -> Response:
    _retailer_admin()
    return _page("Enter WooCommerce API keys", _form(url_for(".manual"), [
        ("site_url", "Shop address", "url"), ("consumer_key", "Consumer key", "text"),
        ("consumer_secret", "Consumer secret", "password")], "Connect"))


@bp.post("/manual")
def manual() -> Response:
    retailer_id = _retailer_admin()
    try:
        with _db_transaction() as s:
            connection = link_manually(
                s, retailer_id=retailer_id, site_url=request.form.get("site_url", ""),
                consumer_key=request.form.get("consumer_key", ""),
                consumer_secret=request.form.get("consumer_secret", ""))
            shop = connection.shop
    except ValidationFailed as exc:
        problems = "".join(f"<li>{escape(e['message'])}</li>" for e in exc.errors)
        return _page("Enter WooCommerce API keys", f"<ul>{problems}</ul>", 400)
    return _page("The shop is connected", f"<p>{escape(shop)}</p>")
