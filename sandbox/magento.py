"""A Magento 2 stand-in: the integration install and the REST subset Glue uses, on loopback
(DESIGN.md 11).

Behaves as ``reference/platforms.md`` section 3 and 7 (Magento Open Source 2.4.7-p3) say, with
``store_base_url`` the server's root:

- Integration: :meth:`MagentoSandbox.activate` is the merchant's "Activate" click: the form POST
  of ``oauth_consumer_key``, ``oauth_consumer_secret``, ``store_base_url`` and
  ``oauth_verifier`` to the callback URL, then the identity link with ``oauth_consumer_key`` and
  ``success_call_back``. ``POST /oauth/token/request`` and ``/oauth/token/access`` answer
  form-encoded tokens; every OAuth 1.0a request is checked here with HMAC-SHA256 through
  oauthlib's server-side signature functions (base string from the raw request line, nonces
  used once, timestamps within ten minutes, a consumer key usable for the exchange for five
  minutes after activation, a request token used once).
- REST under ``/rest[/<store>][/async/bulk]/V1``: products (``POST`` upserts by SKU, ``PUT``,
  ``GET``, ``DELETE``, search), product attributes and options, attribute sets, configurable
  options and children, base64 media (a ``media_gallery_entries`` list in a product save
  replaces the gallery: an empty list deletes every image; null or absent leaves them), MSI
  source items and the legacy stock item, async bulk with its status, orders search and
  ``GET`` by ``entity_id``, ``POST /V1/order/{id}/ship``, shipments search, order comments and
  the Mage-OS ``async_event`` subscriptions (:mod:`sandbox.magento_orders`).
- Searches take ``searchCriteria`` filter groups (AND of groups, OR inside one), sort orders and
  paging; with ``last_page_again`` a page past the end answers the last page again, as Magento
  releases before 2.4.x did (2.4.7 answers ``items: []``); ``total_count`` is always the truth.
- Money and weights are JSON numbers; ids are numbers, except where Magento answers strings.
- Faults (:class:`sandbox.common.Faults`) on REST calls; signed async-event deliveries (hex
  HMAC-SHA256 ``x-magento-signature`` with the subscription's verification token), dropped or
  duplicated per the faults.

State is in memory under one lock; deliveries are sent outside it.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlencode

import requests
from flask import Flask, Response, request
from oauthlib.oauth1.rfc5849 import signature as oauth_signature

from sandbox import magento_catalog as catalog
from sandbox import magento_orders as orders
from sandbox.common import Deliverer, Faults, LoopbackServer

STORES = ("default", "all")
CONSUMER_TTL = 300  # seconds the consumer key may start the exchange after activation
TIMESTAMP_WINDOW = 600
NO_ROUTE = "Request does not match any route."
UNAUTHORIZED = "The consumer isn't authorized to access %resources."


class MagentoError(Exception):
    """A REST refusal: Magento's ``{"message", "parameters"}`` body with an HTTP status."""

    def __init__(self, status: int, message: str, parameters: Any = None, *,
                 errors: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.parameters = status, message, parameters
        self.errors = errors

    def body(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"message": self.message}
        if self.parameters is not None:
            answer["parameters"] = self.parameters
        if self.errors is not None:
            answer["errors"] = self.errors
        return answer


def not_found(message: str, parameters: Any = None) -> MagentoError:
    return MagentoError(404, message, parameters)


def magento_time(moment: datetime) -> str:
    """Magento's ``Y-m-d H:i:s`` (UTC, no zone)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def to_json(value: Any) -> Any:
    """Decimals become JSON numbers, as PHP floats do in Magento's answers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(to_json(payload)), status=status, mimetype="application/json")


@dataclass
class Integration:
    """One integration the merchant activated: its consumer, the verifier of the activation,
    request tokens waiting for the exchange and the access token once exchanged."""

    name: str
    consumer_key: str
    consumer_secret: str
    verifier: str
    activated_at: float
    request_tokens: dict[str, str] = field(default_factory=dict)  # token → secret
    access_token: str | None = None
    access_secret: str | None = None

    def credentials(self) -> dict[str, str]:
        """What Glue keeps after the exchange (the client's ``credentials``)."""
        assert self.access_token and self.access_secret
        return {"consumer_key": self.consumer_key, "consumer_secret": self.consumer_secret,
                "access_token": self.access_token, "access_token_secret": self.access_secret}


@dataclass
class ShopState:
    """The shop's catalog, stock, orders and subscriptions. Objects are plain dicts."""

    products: dict[str, dict[str, Any]] = field(default_factory=dict)  # by SKU
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)  # by code
    attribute_sets: dict[int, list[str]] = field(default_factory=lambda: {4: []})
    sources: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        "default": {"source_code": "default", "name": "Default Source", "enabled": True}})
    source_items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    reservations: dict[str, int] = field(default_factory=dict)  # SKU → quantity held (MSI)
    bulks: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    shipments: dict[int, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[int, dict[str, Any]] = field(default_factory=dict)
    writes_by_store: dict[str, int] = field(default_factory=dict)


class MagentoSandbox:
    """The sandbox: one shop (Magento is one shop per base URL), its integrations, the Flask
    app serving it and the async-event sender.

    ``msi``: the shop runs Multi-Source Inventory (source-items endpoints exist, orders hold
    reservations); otherwise the legacy stock item is the only stock. ``async_events``: the
    Mage-OS modules are installed. ``bearer``: integration tokens are accepted as bearer tokens
    ("Allow OAuth Access Tokens to be used as standalone Bearer tokens"). ``last_page_again``:
    the paging quirk of older releases. ``bulk_open_reads``: how many status reads see a new
    bulk still open before the ``async.operations.all`` consumer runs it; None: the consumer is
    not running. ``max_page_size``: the input limits a merchant may enable (300). ``clock`` is
    wall-clock seconds (timestamps, dates, the consumer key's lifetime).
    """

    def __init__(self, *, faults: Faults | None = None, msi: bool = True,
                 async_events: bool = True, bearer: bool = False, last_page_again: bool = True,
                 bulk_open_reads: int | None = 1, max_page_size: int | None = None,
                 currency: str = "EUR", clock: Callable[[], float] = time.time) -> None:
        self.faults = faults or Faults()
        self.msi, self.async_events, self.bearer = msi, async_events, bearer
        self.last_page_again = last_page_again
        self.bulk_open_reads = bulk_open_reads
        self.max_page_size = max_page_size
        self.currency = currency
        self.clock = clock
        self.state = ShopState()
        self.integrations: dict[str, Integration] = {}
        self.nonces: set[tuple[str, str, str]] = set()
        self.deliverer = Deliverer(self.faults)
        self.lock = threading.RLock()
        self.calls: list[tuple[str, str]] = []  # (method, path) of every REST call
        # called with (entity, page) before a search answers, outside the lock
        self.search_hooks: list[Callable[[str, int], None]] = []
        self._ids: dict[str, int] = {}
        self.pending_events: list[tuple[str, int]] = []  # (event, order id) to send
        self.server: LoopbackServer | None = None
        self.wsgi = self._build_app()

    # --- set-up from tests and `glue demo` ----------------------------------------------

    def next_id(self, kind: str) -> int:
        """Per-table auto-increment ids, as MySQL gives them."""
        with self.lock:
            self._ids[kind] = self._ids.get(kind, 0) + 1
            return self._ids[kind]

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC).replace(microsecond=0)

    def start(self) -> MagentoSandbox:
        self.server = LoopbackServer(self.wsgi).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> MagentoSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``store_base_url`` as the activation POST sends it (with the trailing slash)."""
        assert self.server is not None, "start the sandbox first"
        return f"{self.server.url}/"

    def add_merchant_product(self, sku: str, name: str, price: str | Decimal,
                             quantity: int = 10) -> dict[str, Any]:
        """A simple product the merchant made in the admin, in stock."""
        with self.lock:
            product = catalog.save_product(self, {
                "sku": sku, "name": name, "price": Decimal(str(price)), "attribute_set_id": 4,
                "status": 1, "visibility": 4, "type_id": "simple",
                "extension_attributes": {"website_ids": [1], "stock_item": {
                    "qty": quantity, "is_in_stock": quantity > 0}},
                "custom_attributes": [{"attribute_code": "url_key",
                                       "value": f"merchant-{sku.lower()}"}]}, )
            if self.msi:
                catalog.set_source_item(self, sku, "default", quantity, 1 if quantity else 0)
            return product

    # --- the integration -----------------------------------------------------------------

    def activate(self, callback_url: str, identity_link_url: str, *,
                 name: str = "Glue") -> str:
        """The merchant activates an integration: Magento POSTs its credentials to the
        callback URL, and on a 2xx answer opens the identity link; its URL is returned.
        RuntimeError (Magento's "error during activation") otherwise."""
        integration = Integration(name=name, consumer_key=secrets.token_hex(16),
                                  consumer_secret=secrets.token_hex(16),
                                  verifier=secrets.token_hex(16), activated_at=self.clock())
        with self.lock:
            self.integrations[integration.consumer_key] = integration
        answer = requests.post(callback_url, data={
            "oauth_consumer_key": integration.consumer_key,
            "oauth_consumer_secret": integration.consumer_secret,
            "store_base_url": self.base_url, "oauth_verifier": integration.verifier},
            timeout=5, allow_redirects=False)
        if not 200 <= answer.status_code < 300:
            raise RuntimeError(f"the callback answered HTTP {answer.status_code}")
        success = f"{self.base_url}admin/admin/integration/loginSuccessCallback"
        return f"{identity_link_url}?" + urlencode({
            "oauth_consumer_key": integration.consumer_key, "success_call_back": success})

    def grant(self, name: str = "Glue") -> dict[str, str]:
        """An integration with its access token, without the activation (that has its own
        tests); the four OAuth credentials."""
        integration = Integration(name=name, consumer_key=secrets.token_hex(16),
                                  consumer_secret=secrets.token_hex(16),
                                  verifier=secrets.token_hex(16), activated_at=self.clock(),
                                  access_token=secrets.token_hex(16),
                                  access_secret=secrets.token_hex(16))
        with self.lock:
            self.integrations[integration.consumer_key] = integration
        return integration.credentials()

    def _oauth(self, token_secret_for: Callable[[Integration, dict[str, str]], str | None]
               ) -> tuple[Integration, dict[str, str]]:
        """Check the request's OAuth 1.0a signature; the integration and the oauth params.
        ``token_secret_for`` names the token secret to sign with (None: the token is not
        valid). Raises :class:`OAuthProblem`."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("OAuth "):
            raise OAuthProblem("parameter_absent", 400)
        raw = request.environ.get("RAW_URI") or request.full_path
        path, _, query = raw.partition("?")
        form = request.get_data(as_text=True) if request.mimetype == \
            "application/x-www-form-urlencoded" else None
        params = oauth_signature.collect_parameters(
            uri_query=query, body=form, headers={"Authorization": header},
            exclude_oauth_signature=False)
        oauth = {k: v for k, v in params if k.startswith("oauth_")}
        for name in ("oauth_consumer_key", "oauth_signature", "oauth_signature_method",
                     "oauth_nonce", "oauth_timestamp"):
            if not oauth.get(name):
                raise OAuthProblem("parameter_absent", 400, name)
        if oauth["oauth_signature_method"] != "HMAC-SHA256":
            raise OAuthProblem("signature_method_rejected", 401)
        integration = self.integrations.get(oauth["oauth_consumer_key"])
        if integration is None:
            raise OAuthProblem("consumer_key_rejected", 401)
        if not oauth["oauth_timestamp"].isdigit() or \
                abs(self.clock() - int(oauth["oauth_timestamp"])) > TIMESTAMP_WINDOW:
            raise OAuthProblem("timestamp_refused", 401)
        token_secret = token_secret_for(integration, oauth)
        if token_secret is None:
            raise OAuthProblem("token_rejected", 401)
        checked = _SignedRequest(
            params=[(k, v) for k, v in params if k != "oauth_signature"],
            uri=f"{request.scheme}://{request.host}{path}", http_method=request.method,
            signature=oauth["oauth_signature"])
        if not oauth_signature.verify_hmac_sha256(checked, integration.consumer_secret,
                                                  token_secret):
            raise OAuthProblem("signature_invalid", 401)
        nonce = (integration.consumer_key, oauth["oauth_nonce"], oauth["oauth_timestamp"])
        with self.lock:
            if nonce in self.nonces:
                raise OAuthProblem("nonce_used", 401)
            self.nonces.add(nonce)
        return integration, oauth

    def _token_request(self) -> Response:
        def no_token(integration: Integration, oauth: dict[str, str]) -> str | None:
            return "" if "oauth_token" not in oauth else None

        try:
            integration, _ = self._oauth(no_token)
            if self.clock() - integration.activated_at > CONSUMER_TTL:
                raise OAuthProblem("consumer_key_rejected", 401)
        except OAuthProblem as problem:
            return problem.response()
        token, secret = secrets.token_hex(16), secrets.token_hex(16)
        with self.lock:
            integration.request_tokens[token] = secret
        return Response(urlencode({"oauth_token": token, "oauth_token_secret": secret}),
                        mimetype="text/plain")

    def _token_access(self) -> Response:
        def request_token(integration: Integration, oauth: dict[str, str]) -> str | None:
            return integration.request_tokens.get(oauth.get("oauth_token", ""))

        try:
            integration, oauth = self._oauth(request_token)
            if oauth.get("oauth_verifier") != integration.verifier:
                raise OAuthProblem("verifier_invalid", 401)
        except OAuthProblem as problem:
            return problem.response()
        with self.lock:
            integration.request_tokens.pop(oauth["oauth_token"], None)  # used once
            integration.access_token = secrets.token_hex(16)
            integration.access_secret = secrets.token_hex(16)
            answer = {"oauth_token": integration.access_token,
                      "oauth_token_secret": integration.access_secret}
        return Response(urlencode(answer), mimetype="text/plain")

    def _authenticate(self) -> None:
        """A REST call's credentials: OAuth 1.0a with the access token, or (when enabled) the
        access token as a bearer token. MagentoError 401 otherwise."""
        header = request.headers.get("Authorization", "")
        refused = MagentoError(401, UNAUTHORIZED, {"resources": "Magento_Backend::admin"})
        if header.startswith("Bearer "):
            token = header[len("Bearer "):].strip()
            if not self.bearer or not any(i.access_token == token
                                          for i in self.integrations.values()):
                raise refused
            return

        def access(integration: Integration, oauth: dict[str, str]) -> str | None:
            if integration.access_token and oauth.get("oauth_token") == \
                    integration.access_token:
                return integration.access_secret
            return None

        try:
            self._oauth(access)
        except OAuthProblem as exc:
            raise refused from exc

    # --- the Flask app --------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask("sandbox.magento")
        app.add_url_rule("/oauth/token/request", view_func=self._token_request,
                         methods=["POST"])
        app.add_url_rule("/oauth/token/access", view_func=self._token_access, methods=["POST"])
        app.add_url_rule("/admin/admin/integration/loginSuccessCallback",
                         view_func=lambda: Response("<p>Integration activated</p>",
                                                    mimetype="text/html"))
        app.add_url_rule("/rest/<path:rest>", view_func=self._rest,
                         methods=["GET", "POST", "PUT", "DELETE"])
        app.add_url_rule("/checkout", view_func=self._checkout_view, methods=["POST"])
        return app

    def _rest(self, rest: str) -> Response:
        raw = (request.environ.get("RAW_URI") or request.full_path).split("?", 1)[0]
        store, prefix, parts = split_rest(raw)
        if parts is None:
            return _json({"message": NO_ROUTE}, 404)
        try:
            if store is not None and store not in STORES:
                raise MagentoError(400, "The store that was requested wasn't found. Verify "
                                        "the store and try again.")
            self._authenticate()
        except MagentoError as exc:
            return _json(exc.body(), exc.status)
        fault = self.faults.api_fault()
        if fault == "429":
            answer = _json({"message": "Too Many Requests"}, 429)
            answer.headers["Retry-After"] = str(self.faults.retry_after)
            return answer
        if fault in ("500", "503"):
            return _json({"message": "Internal Error. Details are available in Magento log "
                                     f"file. Report ID: webapi-{secrets.token_hex(6)}"},
                         int(fault))
        with self.lock:
            self.calls.append((request.method, "/".join([prefix, *parts] if prefix else parts)))
            if request.method != "GET":
                key = store or "default"
                self.state.writes_by_store[key] = self.state.writes_by_store.get(key, 0) + 1
        try:
            body = _decimal_json(request.get_data()) if request.data else None
            status, answer = self.route(request.method, parts, body, request.args,
                                        bulk=prefix == "async/bulk")
        except MagentoError as exc:
            status, answer = exc.status, exc.body()
        self.flush_events()
        if fault == "timeout":  # done, but the answer comes too late for the client
            time.sleep(self.faults.hang_seconds)
        return _json(answer, status)

    def route(self, method: str, parts: list[str], body: Any, args: Any, *,
              bulk: bool = False) -> tuple[int, Any]:
        """One REST call after authentication (``parts``: the decoded path segments after
        ``V1``): ``(status, JSON answer)``."""
        if bulk:
            return catalog.queue_bulk(self, method, parts, body)
        if method == "GET" and len(parts) == 1:  # a search: tests may change the shop first
            page = int(catalog.criteria(args).get("current_page") or 1)
            for hook in list(self.search_hooks):
                hook(parts[0], page)
        handler = catalog.route(self, method, parts, body, args)
        if handler is None:
            handler = orders.route(self, method, parts, body, args)
        if handler is None:
            raise not_found(NO_ROUTE)
        return handler

    # --- storefront and events ------------------------------------------------------------

    def _checkout_view(self) -> Response:
        body = _decimal_json(request.get_data()) or {}
        try:
            order = self.checkout(body.get("lines") or [], email=str(
                body.get("email") or "asiakas@example.test"), address=body.get("address"))
        except MagentoError as exc:
            return _json(exc.body(), exc.status)
        return _json({"entity_id": order["entity_id"], "increment_id": order["increment_id"]})

    def checkout(self, lines: list[Mapping[str, Any]], *, email: str = "asiakas@example.test",
                 address: Mapping[str, Any] | None = None, invoiced: bool = True
                 ) -> dict[str, Any]:
        """A guest order placed in the storefront; the order as ``GET /V1/orders/{id}``
        answers it. ``lines``: ``{"sku", "qty"}``, the SKU of a simple product or of a
        configurable's child (the order then has the parent and child rows). ``invoiced``: paid
        online and invoiced at once (state ``processing``), else a ``new`` order awaiting
        payment. The answer is JSON-shaped (numbers, not Decimals). MagentoError for an
        unknown, disabled or out-of-stock product."""
        with self.lock:
            order = orders.place_order(self, lines, email=email, address=address,
                                       invoiced=invoiced)
            rendered = orders.render_order(self, order)
        self.send_event("sales.order.created", rendered)
        return to_json(rendered)

    def cancel(self, entity_id: int) -> dict[str, Any]:
        """The merchant cancels an order in the admin (what is not shipped is canceled)."""
        with self.lock:
            orders.cancel_order(self, entity_id)
            rendered = orders.render_order(self, self.state.orders[entity_id])
        self.send_event("sales.order.cancelled", rendered)
        self.send_event("sales.order.updated", rendered)
        return to_json(rendered)

    def delete_order(self, entity_id: int) -> None:
        """The merchant deletes an order (an order-cleanup extension or a database purge):
        every later row of a search moves one place back."""
        with self.lock:
            del self.state.orders[entity_id]

    def touch(self, entity_id: int, comment: str = "Merchant note") -> dict[str, Any]:
        """The merchant edits an order (a comment): its ``updated_at`` moves."""
        with self.lock:
            orders.add_comment(self, entity_id, {"comment": comment})
            return to_json(orders.render_order(self, self.state.orders[entity_id]))

    def flush_events(self) -> None:
        """Send the events REST writes queued, outside the lock (the receiver may call
        back); the order is loaded now, at delivery time, as the Mage-OS consumer does."""
        with self.lock:
            pending, self.pending_events = self.pending_events, []
            loaded = [(event, orders.render_order(self, self.state.orders[order_id]))
                      for event, order_id in pending]
        for event, data in loaded:
            self.send_event(event, data)

    def send_event(self, event: str, data: Mapping[str, Any]) -> int:
        """Deliver ``{"data": ...}`` to every active subscription of ``event``, signed like
        the Mage-OS module: hex HMAC-SHA256 of the body with the verification token."""
        if not self.async_events:
            return 0
        body = json.dumps({"data": to_json(data)}, separators=(",", ":")).encode()
        with self.lock:
            targets = [(s["recipient_url"], s["verification_token"])
                       for s in self.state.subscriptions.values()
                       if s["event_name"] == event and s["status"]]
        for url, token in targets:
            self.deliverer.send(event, url, body, {
                "Content-Type": "application/json", "User-Agent": "GuzzleHttp/7",
                "x-magento-signature": orders.event_signature(body, token)})
        return len(targets)


class OAuthProblem(Exception):
    """Magento's OAuth refusal: ``oauth_problem=…`` form-encoded with a 400/401."""

    def __init__(self, problem: str, status: int, parameter: str = "") -> None:
        super().__init__(problem)
        self.problem, self.status, self.parameter = problem, status, parameter

    def response(self) -> Response:
        values = {"oauth_problem": self.problem}
        if self.parameter:
            values["oauth_parameters_absent"] = self.parameter
        return Response(urlencode(values), status=self.status, mimetype="text/plain")


@dataclass
class _SignedRequest:
    """What oauthlib's ``verify_hmac_sha256`` reads of a request."""

    params: list[tuple[str, str]]
    uri: str
    http_method: str
    signature: str


def split_rest(raw_path: str) -> tuple[str | None, str, list[str] | None]:
    """``/rest[/<store>][/async/bulk]/V1/<path>`` (raw, percent-encoded) → store, prefix and
    the decoded path segments; None segments when it is not a REST path. Decoding per
    segment keeps a SKU's ``%2F`` inside its segment."""
    parts = [unquote(p) for p in raw_path.split("/")[2:]]  # after "/rest"
    store = None
    if parts and parts[0] not in ("V1", "async"):
        store, parts = parts[0], parts[1:]
    prefix = ""
    if parts[:2] == ["async", "bulk"]:
        prefix, parts = "async/bulk", parts[2:]
    if not parts or parts[0] != "V1":
        return store, prefix, None
    return store, prefix, [p for p in parts[1:] if p]


def _decimal_json(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise MagentoError(400, "Decoding error: \nSyntax error") from None


__all__ = ["Integration", "MagentoError", "MagentoSandbox", "ShopState", "magento_time",
           "split_rest", "to_json"]
