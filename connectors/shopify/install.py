"""The merchant's Shopify install flow as a Flask blueprint (DESIGN.md 7).

1. ``GET /connect/shopify/install`` is the app URL Shopify opens with ``shop, timestamp,
   hmac``: the hmac and the shop domain are checked, a single-use state nonce is stored (its
   digest, on the connection, which is created ``installing``) and the merchant is sent to
   Shopify's authorize page.
2. ``GET /connect/shopify/callback`` checks the hmac, the shop and the nonce (consumed before
   anything else happens, so a replayed callback is refused), exchanges the code for an
   **expiring** offline token (``expiring=1``; ShopifyAPI 12.7.0 cannot, so the POST is made
   here), stores it encrypted, registers Glue's fulfilment-service location, subscribes the
   webhooks and sends the browser to the link page with a one-time link token.
3. ``/connect/shopify/<key>``: a logged-in admin of a retailer organization confirms the link
   (``installing → linked``), then chooses catalogs and settings (``linked → active``).

Install from Glue (unsigned): ``/connect/shopify/start`` lets a logged-in retailer admin type
the shop's ``*.myshopify.com`` address; Glue stores a state nonce bound to the admin's
organization and sends the browser to Shopify's authorize page. When the callback comes back
in that same login, the shop is linked at once; in any other browser it takes the link page
of step 3 like an install from the Shopify admin.

Access tokens live an hour; :func:`refresh_due_tokens` (a periodic job) refreshes them ahead
of expiry. The refresh token rotates on every use, so the new pair replaces the old one in a
single compare-and-set update. The compliance topics (``customers/data_request``,
``customers/redact``, ``shop/redact``) cannot be subscribed through the Admin API; they are the
app's configuration (``shopify.app.toml``), pointing at :attr:`AppConfig.webhook_uri` too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests
import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    render_template_string,
    request,
    url_for,
)
from flask_babel import gettext
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from connectors.base import ConnectionSettings
from connectors.errors import ConnectorError, Fatal, Retriable, error_for_status
from connectors.shopify.client import ShopifyClient, ShopifyUserErrors
from connectors.shopify.config import AppConfig, app_config
from core import events
from core.crypto import decrypt, encrypt
from core.models import Catalog, ShopConnection
from core.principal import SYSTEM

PLATFORM = "shopify"
SCOPES = ("read_products", "write_products", "read_inventory", "write_inventory",
          "read_orders", "write_orders", "read_fulfillments", "write_fulfillments",
          "read_assigned_fulfillment_orders", "write_assigned_fulfillment_orders")
WEBHOOK_TOPICS = ("ORDERS_CREATE", "ORDERS_PAID", "ORDERS_CANCELLED", "APP_UNINSTALLED")
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")
FULFILLMENT_SERVICE = "Glue"
SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]*[a-z0-9]\.myshopify\.com")
HMAC_MAX_AGE = timedelta(hours=24)  # ShopifyAPI's own limit for signed query strings
STATE_TTL = timedelta(minutes=10)
LINK_TTL = timedelta(hours=24)
REFRESH_AHEAD = timedelta(minutes=10)
HTTP_TIMEOUT = 10.0
MAX_PENDING_STATES = 5

bp = Blueprint("shopify_install", __name__, url_prefix="/connect/shopify")


# --- signed query strings and shop domains -----------------------------------------------

def valid_shop(shop: str | None) -> bool:
    """Whether ``shop`` is exactly a ``<name>.myshopify.com`` host (no scheme, path or port,
    lower case), so that no request of Glue's is ever sent to a host a visitor chose."""
    return bool(shop) and len(shop) <= 255 and SHOP_DOMAIN.fullmatch(shop) is not None


def query_hmac(args: MultiDict[str, str], secret: str) -> str:
    """Shopify's hex HMAC-SHA256 of a query string: ``k=v`` pairs without ``hmac``, sorted,
    joined by ``&``; ``%``, ``=`` in keys and ``&`` escaped; ``k[]`` lists as
    ``k=["1", "2"]`` (ShopifyAPI's rules)."""
    pairs = []
    for key in args:
        if key == "hmac":
            continue
        if key.endswith("[]"):
            name, value = key[:-2], json.dumps(args.getlist(key))
        else:
            name, value = key, args.get(key, "")
        name = name.replace("%", "%25").replace("=", "%3D")
        pairs.append(f"{name}={value.replace('%', '%25')}".replace("&", "%26"))
    message = "&".join(sorted(pairs)).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_query(args: MultiDict[str, str], secret: str, now: datetime) -> bool:
    """Whether a query Shopify sent is signed with the app secret and not older than a day.
    Constant time over the hex digests; never raises."""
    given = args.get("hmac", "")
    if not secret or not given:
        return False
    try:
        stamp = datetime.fromtimestamp(int(args.get("timestamp", "")), UTC)
    except (ValueError, OverflowError, OSError):
        return False
    if abs(now - stamp) > HMAC_MAX_AGE:
        return False
    return hmac.compare_digest(query_hmac(args, secret).encode(), given.lower().encode())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- credentials ---------------------------------------------------------------------------

def credentials_from(answer: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The credentials to store from a token answer (code or refresh grant)."""
    def at(seconds: Any) -> str | None:
        return (now + timedelta(seconds=int(seconds))).isoformat() if seconds else None

    return {"access_token": answer["access_token"], "scope": answer.get("scope", ""),
            "expires_at": at(answer.get("expires_in")),
            "refresh_token": answer.get("refresh_token"),
            "refresh_token_expires_at": at(answer.get("refresh_token_expires_in"))}


def read_credentials(connection: ShopConnection) -> dict[str, Any]:
    return json.loads(decrypt(connection.credentials)) if connection.credentials else {}


def token_request(url: str, data: Mapping[str, str], *,
                  post: Callable[..., requests.Response] = requests.post) -> dict[str, Any]:
    """POST to a shop's ``/admin/oauth/access_token``; the JSON answer. HTTP errors map onto
    the connector taxonomy; the body is never logged (it holds tokens)."""
    try:
        response = post(url, data=dict(data), timeout=HTTP_TIMEOUT,
                        headers={"Accept": "application/json"}, allow_redirects=False)
    except requests.Timeout as exc:
        raise Retriable(f"Shopify did not answer within {HTTP_TIMEOUT} s") from exc
    except requests.RequestException as exc:
        raise Retriable("cannot reach Shopify") from exc
    if response.status_code != 200:
        try:
            reason = str(response.json().get("error_description") or "")[:200]
        except ValueError:
            reason = ""
        raise error_for_status(response.status_code,
                               retry_after=response.headers.get("Retry-After"),
                               message=f"Shopify refused the token request: "
                                       f"HTTP {response.status_code} {reason}".strip())
    answer = response.json()
    if not isinstance(answer, dict) or not answer.get("access_token"):
        raise Fatal("Shopify's token answer has no access token")
    return answer


def _shop_base(connection: ShopConnection, config: AppConfig) -> str:
    base = (connection.settings or {}).get("platform", {}).get("base_url")
    return str(base) if base else config.shop_url(connection.shop)


def refresh_connection(session: Session, connection_id: int, now: datetime, *,
                       config: AppConfig | None = None,
                       post: Callable[..., requests.Response] = requests.post) -> bool:
    """Refresh one connection's access token and store the rotated pair; True when stored.

    Commits its own work. The HTTP call runs outside any transaction; the new pair is written
    by one compare-and-set ``UPDATE`` on the old ciphertext, so a concurrent reinstall or
    refresh is never overwritten. A refresh Shopify refuses (4xx: the refresh token is dead)
    pauses the connection until the merchant opens the app again; a retriable failure leaves
    it for the next run.
    """
    config = config or app_config()
    connection = session.get(ShopConnection, connection_id)
    if connection is None or not connection.credentials:
        session.rollback()
        return False
    old = connection.credentials
    refresh_token = read_credentials(connection).get("refresh_token")
    url = _shop_base(connection, config) + "/admin/oauth/access_token"
    session.commit()  # end the read: no lock is held across the HTTP call
    if not refresh_token:
        return False
    table = ShopConnection.__table__
    try:
        answer = token_request(url, {"client_id": config.api_key,
                                     "client_secret": config.api_secret,
                                     "grant_type": "refresh_token",
                                     "refresh_token": refresh_token}, post=post)
    except Retriable:
        return False
    except ConnectorError as exc:
        paused = session.execute(table.update().where(
            table.c.id == connection_id, table.c.credentials == old,
            table.c.status.in_(("linked", "active"))).values(status="paused", updated_at=now))
        if paused.rowcount:
            events.record(session, SYSTEM, "shop_connection.paused", "shop_connection",
                          connection.key, [connection.retailer_id], reason=exc.message)
        session.commit()
        return False
    new = encrypt(json.dumps(credentials_from(answer, now)))
    stored = session.execute(table.update().where(
        table.c.id == connection_id, table.c.credentials == old).values(
        credentials=new, updated_at=now)).rowcount == 1
    session.commit()
    return stored


def refresh_due_tokens(session: Session, now: datetime, *, ahead: timedelta = REFRESH_AHEAD,
                       config: AppConfig | None = None,
                       post: Callable[..., requests.Response] = requests.post) -> list[str]:
    """The periodic job: refresh every Shopify access token that expires within ``ahead``;
    returns the keys of the connections refreshed. Commits per connection."""
    rows = session.scalars(sa.select(ShopConnection).where(
        ShopConnection.platform == PLATFORM, ShopConnection.credentials.is_not(None),
        ShopConnection.status != "uninstalled")).all()
    due = []
    for connection in rows:
        expires = read_credentials(connection).get("expires_at")
        if expires and datetime.fromisoformat(expires) - ahead <= now:
            due.append((connection.id, connection.key))
    session.commit()
    return [key for connection_id, key in due
            if refresh_connection(session, connection_id, now, config=config, post=post)]


# --- shop set-up ---------------------------------------------------------------------------

FULFILLMENT_SERVICE_CREATE = """
mutation GlueFulfillmentService($name: String!) {
  fulfillmentServiceCreate(name: $name, inventoryManagement: true, trackingSupport: true) {
    fulfillmentService { id location { id } }
    userErrors { field message }
  }
}"""

WEBHOOK_SUBSCRIPTION_CREATE = """
mutation GlueWebhookSubscribe($topic: WebhookSubscriptionTopic!,
                              $subscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}"""


def _already_taken(exc: ShopifyUserErrors) -> bool:
    return all("already been taken" in str(e.get("message", "")) for e in exc.user_errors)


def set_up_shop(client: ShopifyClient, platform: Mapping[str, Any],
                config: AppConfig) -> dict[str, Any]:
    """Register Glue's fulfilment service (its location stocks every published variant) and
    subscribe the webhooks; returns the new ``settings.platform``. Idempotent: what is
    recorded, or answered "already been taken", is not created again."""
    state = dict(platform)
    if not state.get("location_id"):
        payload = client.mutate(FULFILLMENT_SERVICE_CREATE, {"name": FULFILLMENT_SERVICE},
                                root="fulfillmentServiceCreate")
        service = payload["fulfillmentService"]
        state.update(fulfillment_service_id=service["id"],
                     location_id=service["location"]["id"])
    subscriptions = dict(state.get("webhooks") or {})
    for topic in WEBHOOK_TOPICS:
        if topic in subscriptions:
            continue
        try:
            payload = client.mutate(WEBHOOK_SUBSCRIPTION_CREATE, {
                "topic": topic, "subscription": {"uri": config.webhook_uri, "format": "JSON"}},
                root="webhookSubscriptionCreate")
            subscriptions[topic] = payload["webhookSubscription"]["id"]
        except ShopifyUserErrors as exc:
            if not _already_taken(exc):
                raise
            subscriptions[topic] = "existing"
    state["webhooks"] = subscriptions
    return state


# --- views: the OAuth handshake ------------------------------------------------------------

def _now() -> datetime:
    return datetime.now(UTC)


def _db() -> Any:
    from web.app import get_db

    return get_db()


def _checked(config: AppConfig) -> str:
    """The shop of a signed Shopify request, or abort (503 unconfigured, 401, 400)."""
    if not config.configured:
        abort(503, description="the Shopify app is not configured")
    if not verify_query(request.args, config.api_secret, _now()):
        abort(401, description="bad signature")
    shop = request.args.get("shop", "")
    if not valid_shop(shop):
        abort(400, description="not a myshopify.com shop")
    return shop


def _find(session: Session, shop: str, *, lock: bool = False) -> ShopConnection | None:
    query = sa.select(ShopConnection).where(ShopConnection.platform == PLATFORM,
                                            ShopConnection.shop == shop) \
        .order_by(ShopConnection.id.desc()).limit(1)
    return session.scalars(query.with_for_update() if lock else query).first()


def _with_platform(connection: ShopConnection, **changes: Any) -> None:
    settings = dict(connection.settings or {})
    platform = {**settings.get("platform", {}), **changes}
    connection.settings = {**settings, "platform": {k: v for k, v in platform.items()
                                                    if v is not None}}


@bp.get("/install")
def install() -> Response:
    """The app URL: start the authorization-code grant (or open an installed connection)."""
    config = app_config()
    return _authorize(_checked(config), config)


def _authorize(shop: str, config: AppConfig, *, retailer_id: int | None = None) -> Response:
    """Store a fresh state nonce on ``shop``'s connection (created ``installing`` when there
    is none) and send the browser to Shopify's authorize page.

    ``retailer_id`` is set when a logged-in retailer admin started from Glue: the nonce then
    remembers the organization, so that the callback can link the shop at once if the same
    login comes back with it. A shop already linked to another organization is refused.
    """
    now = _now()
    nonce = secrets.token_urlsafe(32)
    with _db().transaction() as s:
        connection = _find(s, shop, lock=True)
        if connection is None:
            connection = ShopConnection(key=secrets.token_hex(16), platform=PLATFORM, shop=shop,
                                        status="installing", settings={})
            s.add(connection)
        elif retailer_id is not None and connection.retailer_id not in (None, retailer_id):
            abort(409, description="this shop is connected to another organization")
        elif connection.credentials and connection.status in ("linked", "active"):
            return redirect(url_for(".connection", key=connection.key))
        pending = [p for p in (connection.settings or {}).get("platform", {})
                   .get("oauth_states", []) if datetime.fromisoformat(p["expires"]) > now]
        entry: dict[str, Any] = {"digest": _digest(nonce),
                                 "expires": (now + STATE_TTL).isoformat()}
        if retailer_id is not None:
            entry["retailer_id"] = retailer_id
        pending = [*pending[-(MAX_PENDING_STATES - 1):], entry]
        base = config.shop_url(shop)
        _with_platform(connection, oauth_states=pending,
                       base_url=None if config.admin_url == "https://{shop}" else base)
    query = urlencode({"client_id": config.api_key, "scope": ",".join(SCOPES),
                       "redirect_uri": config.redirect_uri, "state": nonce})
    return redirect(f"{base}/admin/oauth/authorize?{query}")


def _consume_state(shop: str, nonce: str,
                   now: datetime) -> tuple[int, dict[str, Any]] | None:
    """Remove the matching unexpired nonce of ``shop``'s connection; its id and the nonce's
    entry (``retailer_id`` when Glue started the install), or None."""
    with _db().transaction() as s:
        connection = _find(s, shop, lock=True)
        if connection is None or not nonce:
            return None
        pending = (connection.settings or {}).get("platform", {}).get("oauth_states", [])
        given = _digest(nonce).encode()
        match = None
        for entry in pending:  # compare with every entry: no early exit
            if hmac.compare_digest(entry["digest"].encode(), given) and \
                    datetime.fromisoformat(entry["expires"]) > now:
                match = entry
        if match is None:
            return None
        _with_platform(connection, oauth_states=[p for p in pending if p is not match])
        return connection.id, match


@bp.get("/callback")
def callback() -> Response:
    """Shopify's redirect after the merchant approved: code → expiring offline token."""
    config = app_config()
    shop = _checked(config)
    now = _now()
    consumed = _consume_state(shop, request.args.get("state", ""), now)
    if consumed is None:
        abort(403, description="unknown, used or expired state")
    connection_id, started = consumed
    with _db().transaction() as s:
        base = _shop_base(s.get(ShopConnection, connection_id), config)
    try:
        answer = token_request(f"{base}/admin/oauth/access_token", {
            "client_id": config.api_key, "client_secret": config.api_secret,
            "code": request.args.get("code", ""), "expiring": "1"})
    except ConnectorError:
        abort(502, description="Shopify refused the authorization code")
    granted = {s.strip() for s in str(answer.get("scope", "")).split(",")}
    if not set(SCOPES) <= granted:
        abort(403, description="scopes missing")
    link_token = secrets.token_urlsafe(32)
    with _db().transaction() as s:
        connection = s.get(ShopConnection, connection_id, with_for_update=True)
        connection.credentials = encrypt(json.dumps(credentials_from(answer, now)))
        connection.updated_at = now
        if connection.status in ("uninstalled", "paused", "redacted"):  # a reinstall
            connection.status = "linked" if connection.retailer_id else "installing"
        _with_platform(connection, link={"digest": _digest(link_token),
                                         "expires": (now + LINK_TTL).isoformat()})
        events.record(s, SYSTEM, "shop_connection.installed", "shop_connection",
                      connection.key, [connection.retailer_id], platform=PLATFORM, shop=shop)
        starter = _starting_admin(started)
        if starter is not None and connection.retailer_id is None:
            _link(s, connection, starter, now)
        key, platform = connection.key, dict(connection.settings["platform"])
        linked = connection.retailer_id is not None
    try:
        client = ShopifyClient(shop, answer["access_token"],
                               base_url=platform.get("base_url"))
        platform = set_up_shop(client, platform, config)
    except ConnectorError:
        abort(502, description="could not finish the set-up in Shopify; open the app again")
    with _db().transaction() as s:
        connection = s.get(ShopConnection, connection_id, with_for_update=True)
        _with_platform(connection, **{k: platform[k] for k in
                                      ("location_id", "fulfillment_service_id", "webhooks")})
    if linked:
        return redirect(url_for(".connection", key=key))
    return redirect(url_for(".connection", key=key, token=link_token))


# --- views: linking to a retailer and choosing settings ------------------------------------

from web.ui import context, csrf  # noqa: E402  (the UI's login and CSRF, reused as they are)

csrf.protect(bp)


@bp.before_request
def _load_user() -> None:
    context.load()


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("Referrer-Policy", "no-referrer")  # the link token is in URLs
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[str, int]:
    return render_template("ui/error.html", error=error), error.code or 500


def _retailer_admin() -> int:
    """The organization of a logged-in admin of a retailer, or abort 403."""
    ui = context.current()
    if ui is None or not (ui.can("admin") and ui.can("retailer")):
        abort(403)
    return ui.organization_id


def _link_token_valid(connection: ShopConnection, token: str, now: datetime) -> bool:
    link = (connection.settings or {}).get("platform", {}).get("link")
    if not link or not token:
        return False
    return hmac.compare_digest(link["digest"].encode(), _digest(token).encode()) and \
        datetime.fromisoformat(link["expires"]) > now


_PAGE = """{% extends "ui/base.html" %}
{% block title %}Shopify{% endblock %}
{% block content %}
<section class="card narrow">
  <h1>{{ _("Shopify shop") }} {{ shop }}</h1>
  {% if link %}
  <p>{{ _("Connect this shop to %(org)s?", org=ui.organization_name) }}</p>
  <form method="post" action="{{ url_for('.link', key=key) }}">
    {{ csrf_field() }}
    <input type="hidden" name="token" value="{{ token }}">
    <button type="submit" class="button">{{ _("Connect") }}</button>
  </form>
  {% else %}
  <form method="post" action="{{ url_for('.save_settings', key=key) }}">
    {{ csrf_field() }}
    <fieldset><legend>{{ _("Catalogs") }}</legend>
    {% for c in catalogs %}
    <label><input type="checkbox" name="catalogs" value="{{ c.external_id }}"
      {% if c.external_id in settings.catalogs %}checked{% endif %}> {{ c.name }}</label>
    {% endfor %}</fieldset>
    <label><input type="checkbox" name="auto_publish_new" value="1"
      {% if settings.auto_publish_new %}checked{% endif %}> {{ _("Publish new products") }}</label>
    <label>{{ _("Stock buffer") }} <input type="number" min="0" name="stock_buffer"
      value="{{ settings.stock_buffer }}"></label>
    <label>{{ _("End of sale") }} <select name="end_of_sale">
      {% for v in ("zero_stock", "unpublish", "delete") %}
      <option {% if v == settings.end_of_sale %}selected{% endif %}>{{ v }}</option>{% endfor %}
    </select></label>
    <label>{{ _("Forward orders") }} <select name="order_trigger">
      {% for v in ("created", "paid") %}
      <option {% if v == settings.order_forwarding.trigger %}selected{% endif %}>{{ v }}</option>
      {% endfor %}</select></label>
    <label>{{ _("Language") }} <select name="language">
      {% for v in ("fi", "sv", "en") %}
      <option {% if v == settings.language %}selected{% endif %}>{{ v }}</option>{% endfor %}
    </select></label>
    <label><input type="checkbox" name="notify_customer" value="1"
      {% if settings.notify_customer %}checked{% endif %}> {{ _("Notify the customer") }}</label>
    <button type="submit" class="button">{{ _("Save") }}</button>
  </form>
  {% endif %}
</section>
{% endblock %}"""


_START = """{% extends "ui/base.html" %}
{% block title %}Shopify{% endblock %}
{% block content %}
<section class="card narrow">
  <h1>{{ _("Connect a Shopify shop") }}</h1>
  <form method="post" action="{{ url_for('.start') }}">
    {{ csrf_field() }}
    <label>{{ _("Shop address") }}
      <input name="shop" value="{{ shop }}" placeholder="kauppa.myshopify.com" required
        autocomplete="off" spellcheck="false"></label>
    {% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
    <button type="submit" class="button">{{ _("Continue to Shopify") }}</button>
  </form>
</section>
{% endblock %}"""


def shop_domain(text: str) -> str | None:
    """The ``<name>.myshopify.com`` a retailer typed, or None.

    People paste what their browser shows: ``kauppa``, ``Kauppa.myshopify.com``,
    ``https://kauppa.myshopify.com/admin``. The scheme and path are dropped, a bare name gets
    ``.myshopify.com``; what remains must pass :func:`valid_shop` (a custom domain cannot be
    used: only the myshopify host identifies the shop to OAuth).
    """
    host = text.strip().lower()
    for scheme in ("https://", "http://"):
        host = host.removeprefix(scheme)
    host = host.split("/", 1)[0]
    if host and "." not in host:
        host += ".myshopify.com"
    return host if valid_shop(host) else None


@bp.route("/start", methods=["GET", "POST"])
@context.requires()
def start() -> Any:
    """Install from Glue: a retailer admin types the shop's domain and is sent to Shopify's
    authorize page (the unsigned entry; the shop's own admin opens the signed ``/install``).

    GET shows the form (``?shop=`` fills it in); POST (CSRF-checked) validates the domain and
    starts the authorization-code grant with a state nonce bound to the admin's organization.
    """
    org_id = _retailer_admin()
    config = app_config()
    if not config.configured:
        abort(503, description="the Shopify app is not configured")
    typed = (request.form if request.method == "POST" else request.args).get("shop", "")
    if request.method == "GET":
        return render_template_string(_START, shop=typed[:255], error=None)
    shop = shop_domain(typed)
    if shop is None:
        return render_template_string(
            _START, shop=typed[:255],
            error=gettext("Enter the shop's myshopify.com address, e.g. kauppa.myshopify.com.")
        ), 400
    return _authorize(shop, config, retailer_id=org_id)


def _connection_or_404(s: Session, key: str) -> ShopConnection:
    connection = s.scalars(sa.select(ShopConnection).where(
        ShopConnection.key == key, ShopConnection.platform == PLATFORM)).first()
    if connection is None:
        abort(404)
    return connection


@bp.get("/<key>")
@context.requires()
def connection(key: str) -> str:
    """Unlinked: the confirmation form (needs the link token). Linked: the settings form,
    for the owning retailer's admins only; anyone else sees 404."""
    org_id = _retailer_admin()
    token = request.args.get("token", "")
    with context.transaction() as s:
        found = _connection_or_404(s, key)
        if found.retailer_id is None:
            if not _link_token_valid(found, token, _now()):
                abort(404)
            return render_template_string(_PAGE, link=True, key=key, token=token,
                                          shop=found.shop)
        if found.retailer_id != org_id:
            abort(404)
        from core.access import active_catalog_ids

        ids = active_catalog_ids(s, org_id)
        catalogs = s.scalars(sa.select(Catalog).where(Catalog.id.in_(ids))
                             .order_by(Catalog.name)).all() if ids else []
        return render_template_string(_PAGE, link=False, key=key, shop=found.shop,
                                      catalogs=catalogs,
                                      settings=ConnectionSettings.from_json(found.settings))


@bp.post("/<key>/link")
@context.requires()
def link(key: str) -> Response:
    """Link the connection to the admin's retailer organization: ``installing → linked``.
    The link token is single use; a connection linked already is never moved."""
    _retailer_admin()
    now = _now()
    with context.transaction() as s:
        found = s.scalars(sa.select(ShopConnection).where(
            ShopConnection.key == key, ShopConnection.platform == PLATFORM)
            .with_for_update()).first()
        if found is None or found.retailer_id is not None or \
                not _link_token_valid(found, request.form.get("token", ""), now):
            abort(404)
        _link(s, found, context.current(), now)
    return redirect(url_for(".connection", key=key))


def _link(s: Session, found: ShopConnection, ui: Any, now: datetime) -> None:
    """Link ``found`` to the organization of ``ui`` (a retailer admin): ``→ linked``."""
    found.retailer_id = ui.organization_id
    found.status = "linked"
    found.updated_at = now
    _with_platform(found, link=None)
    events.record(s, ui.principal, "shop_connection.linked", "shop_connection", found.key,
                  [ui.organization_id], platform=PLATFORM, shop=found.shop)


def _starting_admin(started: Mapping[str, Any]) -> Any:
    """The logged-in retailer admin who started this install from Glue, if the callback came
    back in that same browser session; None otherwise (then the link page asks)."""
    wanted = started.get("retailer_id")
    ui = context.current()
    if wanted is None or ui is None or ui.organization_id != wanted:
        return None
    return ui if ui.can("admin") and ui.can("retailer") else None


@bp.post("/<key>/settings")
@context.requires()
def save_settings(key: str) -> Response:
    """Store the chosen catalogs and settings; a linked connection becomes ``active``."""
    org_id = _retailer_admin()
    form = request.form
    with context.transaction() as s:
        found = _connection_or_404(s, key)
        if found.retailer_id != org_id:
            abort(404)
        current = ConnectionSettings.from_json(found.settings)
        try:
            chosen = current.model_copy(update={
                "catalogs": form.getlist("catalogs"),
                "auto_publish_new": form.get("auto_publish_new") == "1",
                "stock_buffer": int(form.get("stock_buffer") or 0),
                "end_of_sale": form.get("end_of_sale", current.end_of_sale),
                "order_forwarding": current.order_forwarding.model_copy(
                    update={"trigger": form.get("order_trigger",
                                                current.order_forwarding.trigger)}),
                "language": form.get("language", current.language),
                "notify_customer": form.get("notify_customer") == "1"})
            settings = ConnectionSettings.model_validate(chosen.model_dump())
        except ValueError:
            abort(400)
        from core.access import active_catalog_ids

        allowed = {c.external_id for c in s.scalars(sa.select(Catalog).where(
            Catalog.id.in_(active_catalog_ids(s, org_id) or {-1})))}
        if not set(settings.catalogs) <= allowed:
            abort(400)
        found.settings = settings.to_json()
        if found.status == "linked":
            found.status = "active"
        found.updated_at = _now()
        events.record(s, context.current().principal, "shop_connection.settings_changed",
                      "shop_connection", found.key, [org_id])
    return redirect(url_for(".connection", key=key))


__all__ = ["COMPLIANCE_TOPICS", "SCOPES", "WEBHOOK_TOPICS", "AppConfig", "app_config", "bp",
           "credentials_from", "query_hmac", "refresh_connection", "refresh_due_tokens",
           "set_up_shop", "shop_domain", "token_request", "valid_shop", "verify_query"]
