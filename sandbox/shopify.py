"""A Shopify stand-in: the Admin API subset Glue uses, on loopback (DESIGN.md 11).

Behaves as ``reference/platforms.md`` section 1 documents, per shop under
``/shops/<shop>.myshopify.com`` (the part of the URL that is the shop's own host on Shopify):

- OAuth: ``GET …/admin/oauth/authorize`` approves at once (the merchant's consent screen) and
  redirects to the app's ``redirect_uri`` with ``code, hmac, host, shop, state, timestamp``, the
  hmac hex over the sorted query; ``POST …/admin/oauth/access_token`` answers the authorization
  code grant (with ``expiring=1``: ``expires_in`` and a ``refresh_token``) and the
  ``refresh_token`` grant, whose refresh token rotates: each one works once.
- GraphQL: ``POST …/admin/api/<version>/graphql.json`` with ``X-Shopify-Access-Token``; the
  schema is :mod:`sandbox.shopify_schema`; cost is charged to a leaky bucket per shop and an
  answer that does not fit is ``THROTTLED`` (HTTP 200); input arrays over 250 items are refused;
  mutations answer ``userErrors`` for the mistakes Shopify refuses.
- A storefront checkout ``POST …/checkout`` creates an order with fulfillment orders per
  location and sends the signed ``orders/create`` (and ``orders/paid``) webhooks to every
  subscription of the topic.
- Bulk mutations: ``stagedUploadsCreate`` with an upload target on loopback,
  ``bulkOperationRunMutation`` run in a thread, a JSONL result file, ``bulk_operations/finish``
  (:mod:`sandbox.shopify_bulk`).
- Faults (:class:`sandbox.common.Faults`): 429 / 5xx / timeouts on GraphQL calls, dropped and
  duplicated deliveries, from a seeded RNG.

State is in memory and guarded by one lock; webhooks are sent outside it, so a receiver may
call the sandbox back while a delivery is in flight.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, abort, jsonify, redirect, request
from graphql import ExecutionResult, GraphQLError, execute_sync, parse, validate

from sandbox import shopify_schema
from sandbox.common import Deliverer, Faults, LoopbackServer, new_id
from sandbox.shopify_bulk import Bulk

API_VERSION = "2026-07"
SCOPES = frozenset({
    "read_products", "write_products", "read_inventory", "write_inventory", "read_orders",
    "write_orders", "read_assigned_fulfillment_orders", "write_assigned_fulfillment_orders",
    "read_merchant_managed_fulfillment_orders", "write_merchant_managed_fulfillment_orders",
    "read_fulfillments", "write_fulfillments", "read_locations"})
TOPICS = {"ORDERS_CREATE": "orders/create", "ORDERS_PAID": "orders/paid",
          "ORDERS_CANCELLED": "orders/cancelled", "ORDERS_UPDATED": "orders/updated",
          "APP_UNINSTALLED": "app/uninstalled", "PRODUCTS_UPDATE": "products/update",
          "BULK_OPERATIONS_FINISH": "bulk_operations/finish"}
INVENTORY_REASONS = {"correction", "cycle_count_available", "damaged", "movement_created",
                     "movement_updated", "movement_received", "movement_canceled", "other",
                     "promotion", "quality_control", "received", "reservation_created",
                     "reservation_deleted", "reservation_updated", "restock", "safety_stock",
                     "shrinkage"}
MAX_VARIANTS = 2048
CODE_TTL = 600  # seconds an authorization code stays usable
REFRESH_TTL = 90 * 24 * 3600


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def number_of(value: Any) -> int | None:
    """The numeric id of a GID or a REST id; None when it is neither."""
    text = str(value or "").rsplit("/", 1)[-1]
    return int(text) if text.isdigit() else None


def oauth_hmac(params: Mapping[str, str], secret: str) -> str:
    """Hex HMAC-SHA256 of the sorted ``k=v`` pairs without ``hmac`` (Shopify's redirects)."""
    pairs = sorted(f"{k.replace('%', '%25').replace('=', '%3D')}={str(v).replace('%', '%25')}"
                   .replace("&", "%26") for k, v in params.items() if k != "hmac")
    return hmac.new(secret.encode(), "&".join(pairs).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SandboxApp:
    """The one app registered with the sandbox: its credentials, the redirect URLs it allows
    and where compliance webhooks go (set in the Partner Dashboard on Shopify)."""

    api_key: str
    api_secret: str
    redirect_urls: tuple[str, ...] = ()
    compliance_url: str = ""


@dataclass
class Bucket:
    """Shopify's leaky bucket of query cost points for one app on one shop."""

    maximum: float
    restore_rate: float
    available: float
    at: float

    def refill(self, now: float) -> None:
        self.available = min(self.maximum, self.available + (now - self.at) * self.restore_rate)
        self.at = now

    def status(self) -> dict[str, float]:
        return {"maximumAvailable": self.maximum, "currentlyAvailable": self.available,
                "restoreRate": self.restore_rate}


@dataclass
class ShopState:
    """Everything one sandbox shop holds. Objects are plain dicts keyed by numeric id."""

    domain: str
    name: str
    currency: str
    bucket: Bucket
    merchant_location: int
    locations: dict[int, dict[str, Any]] = field(default_factory=dict)
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    variants: dict[int, dict[str, Any]] = field(default_factory=dict)
    inventory: dict[tuple[int, int], int] = field(default_factory=dict)  # (item, location)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    fulfillment_orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    fulfillments: dict[int, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[int, dict[str, Any]] = field(default_factory=dict)
    services: dict[int, dict[str, Any]] = field(default_factory=dict)
    bulk_operations: dict[int, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, float | None] = field(default_factory=dict)  # token → expires (or None)
    refresh_tokens: dict[str, float] = field(default_factory=dict)
    scopes: frozenset[str] = frozenset()
    installed: bool = False
    graphql_calls: int = 0
    throttled: int = 0

    def product_by_handle(self, handle: str) -> dict[str, Any] | None:
        return next((p for p in self.products.values() if p["handle"] == handle), None)

    def app_location_ids(self) -> set[int]:
        return {s["location_id"] for s in self.services.values()}


class ShopifySandbox:
    """The sandbox: shops, the app, the Flask app serving them, and the webhook sender.

    ``restore_rate`` and ``bucket_size`` default to the classic Standard plan (1000 points,
    50/s); ``reference/platforms.md`` notes Shopify now restores 100/s on Standard, so benches
    may pass the newer figures. ``clock`` is wall-clock seconds (token expiry and the bucket).
    ``max_query_cost``: Shopify refuses a single query whose calculated cost is over 1000.
    ``require_expiring``: refuse the code grant without ``expiring=1``, as Shopify does for
    public apps created from April 2026 (how it refuses is not documented; here, a 400).
    ``bulk_concurrency``: bulk mutations one shop runs at once (5 from API version 2026-01);
    ``bulk_startup_seconds`` / ``bulk_line_seconds``: see :mod:`sandbox.shopify_bulk`.
    """

    def __init__(self, app: SandboxApp, *, faults: Faults | None = None,
                 bucket_size: float = 1000.0, restore_rate: float = 50.0,
                 token_ttl: int = 3600, require_expiring: bool = True,
                 max_query_cost: int = shopify_schema.MAX_QUERY_COST,
                 clock: Callable[[], float] = time.time,
                 api_version: str = API_VERSION, bulk_concurrency: int = 5,
                 bulk_startup_seconds: float = 0.0, bulk_line_seconds: float = 0.0) -> None:
        self.app = app
        self.faults = faults or Faults()
        self.bucket_size, self.restore_rate = bucket_size, restore_rate
        self.token_ttl, self.require_expiring = token_ttl, require_expiring
        self.max_query_cost = max_query_cost
        self.clock = clock
        self.api_version = api_version
        self.bulk_concurrency = bulk_concurrency
        self.bulk_startup_seconds, self.bulk_line_seconds = bulk_startup_seconds, \
            bulk_line_seconds
        self.bulk = Bulk(self)
        self.shops: dict[str, ShopState] = {}
        self.deliverer = Deliverer(self.faults)
        self.lock = threading.RLock()
        self._ids = iter(range(1_000_001, 10**12))
        self.server: LoopbackServer | None = None
        self.wsgi = self._build_app()

    # --- set-up from tests and `glue demo` ----------------------------------------------

    def next_id(self) -> int:
        with self.lock:
            return next(self._ids)

    def add_shop(self, name: str, *, currency: str = "EUR") -> ShopState:
        domain = name if name.endswith(".myshopify.com") else f"{name}.myshopify.com"
        with self.lock:
            location = self.next_id()
            shop = ShopState(domain=domain, name=domain.split(".")[0], currency=currency,
                             bucket=Bucket(self.bucket_size, self.restore_rate,
                                           self.bucket_size, self.clock()),
                             merchant_location=location)
            shop.locations[location] = {"id": location, "name": "Shop location"}
            self.shops[domain] = shop
            return shop

    def add_merchant_product(self, shop: str, *, title: str, sku: str, price: str,
                             quantity: int = 10) -> dict[str, Any]:
        """A product the merchant made in the admin, stocked at the merchant's location."""
        state = self.shops[shop]
        with self.lock:
            product = {"id": self.next_id(), "handle": f"merchant-{sku.lower()}", "title": title,
                       "status": "ACTIVE", "vendor": state.name, "descriptionHtml": "",
                       "variant_ids": [], "owner": "merchant"}
            variant = self._new_variant(state, product, {"sku": sku, "price": price}, ())
            state.products[product["id"]] = product
            state.inventory[(variant["inventory_item_id"], state.merchant_location)] = quantity
            return variant

    def start(self) -> ShopifySandbox:
        """Serve on a free loopback port (see :meth:`stop`)."""
        self.server = LoopbackServer(self.wsgi).start()
        return self

    def stop(self) -> None:
        self.bulk.wait()
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> ShopifySandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def base_url(self, shop: str) -> str:
        """What stands for ``https://<shop>`` (the client's ``base_url``)."""
        assert self.server is not None, "start the sandbox first"
        return f"{self.server.url}/shops/{shop}"

    def install_link(self, shop: str, app_url: str) -> str:
        """The signed GET the Shopify admin sends to the app URL when a merchant installs."""
        params = {"shop": shop, "timestamp": str(int(self.clock())),
                  "host": _host(shop)}
        params["hmac"] = oauth_hmac(params, self.app.api_secret)
        return f"{app_url}?{urlencode(params)}"

    # --- the Flask app --------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask("sandbox.shopify")
        prefix = "/shops/<shop>"
        app.add_url_rule(f"{prefix}/admin/oauth/authorize", view_func=self._authorize)
        app.add_url_rule(f"{prefix}/admin/oauth/access_token", view_func=self._access_token,
                         methods=["POST"])
        app.add_url_rule(f"{prefix}/admin/api/<version>/graphql.json", view_func=self._graphql,
                         methods=["POST"])
        app.add_url_rule(f"{prefix}/checkout", view_func=self._checkout, methods=["POST"])
        app.add_url_rule("/staged-uploads", view_func=self.bulk.upload, methods=["POST"])
        app.add_url_rule("/bulk-results/<name>", view_func=self.bulk.result_file)
        return app

    def _shop(self, shop: str) -> ShopState:
        state = self.shops.get(shop)
        if state is None:
            abort(404)
        return state

    # --- OAuth ----------------------------------------------------------------------------

    def _authorize(self, shop: str) -> Response:
        state = self._shop(shop)
        args = request.args
        if args.get("client_id") != self.app.api_key:
            return _oauth_error(400, "invalid_request", "The client_id is not recognised")
        if args.get("redirect_uri") not in self.app.redirect_urls:
            return _oauth_error(400, "invalid_request",
                                "The redirect_uri is not whitelisted for this app")
        scopes = frozenset(s.strip() for s in args.get("scope", "").split(",") if s.strip())
        if not scopes <= SCOPES:
            return _oauth_error(400, "invalid_scope", f"Unknown scopes: {sorted(scopes - SCOPES)}")
        code = secrets.token_hex(16)
        with self.lock:
            state.codes[code] = {"scopes": scopes, "expires": self.clock() + CODE_TTL}
        params = {"code": code, "host": _host(shop), "shop": shop,
                  "state": args.get("state", ""), "timestamp": str(int(self.clock()))}
        params["hmac"] = oauth_hmac(params, self.app.api_secret)
        return redirect(f"{args['redirect_uri']}?{urlencode(params)}", 302)

    def _access_token(self, shop: str) -> Response:
        state = self._shop(shop)
        form = request.get_json(silent=True) if request.is_json else request.form
        form = form or {}
        if form.get("client_id") != self.app.api_key or not hmac.compare_digest(
                str(form.get("client_secret", "")).encode(), self.app.api_secret.encode()):
            return _oauth_error(400, "invalid_client", "Client credentials are invalid")
        now = self.clock()
        with self.lock:
            if form.get("grant_type") == "refresh_token":
                expires = state.refresh_tokens.pop(str(form.get("refresh_token", "")), None)
                if expires is None or expires < now:
                    return _oauth_error(400, "invalid_grant",
                                        "The refresh token is invalid or was already used")
                return jsonify(self._issue(state, state.scopes, expiring=True))
            grant = state.codes.pop(str(form.get("code", "")), None)
            if grant is None or grant["expires"] < now:
                return _oauth_error(400, "invalid_request",
                                    "The authorization code was not found or was already used")
            expiring = str(form.get("expiring", "")) == "1"
            if self.require_expiring and not expiring:
                return _oauth_error(400, "invalid_request",
                                    "This app must request expiring offline tokens")
            state.scopes = grant["scopes"]
            state.installed = True
            return jsonify(self._issue(state, grant["scopes"], expiring=expiring))

    def _issue(self, state: ShopState, scopes: Iterable[str], *,
               expiring: bool) -> dict[str, Any]:
        token = "shpat_" + secrets.token_hex(16)
        answer: dict[str, Any] = {"access_token": token, "scope": ",".join(sorted(scopes))}
        if not expiring:
            state.tokens[token] = None
            return answer
        refresh = "shprt_" + secrets.token_hex(16)
        state.tokens[token] = self.clock() + self.token_ttl
        state.refresh_tokens[refresh] = self.clock() + REFRESH_TTL
        answer.update(expires_in=self.token_ttl, refresh_token=refresh,
                      refresh_token_expires_in=REFRESH_TTL)
        return answer

    def _authenticated(self, state: ShopState) -> bool:
        token = request.headers.get("X-Shopify-Access-Token", "")
        if token not in state.tokens:
            return False
        expires = state.tokens[token]
        return expires is None or expires > self.clock()

    # --- GraphQL --------------------------------------------------------------------------

    def _graphql(self, shop: str, version: str) -> Response:
        state = self._shop(shop)
        if not self._authenticated(state):
            return _json({"errors": "[API] Invalid API key or access token (unrecognized login "
                                    "or wrong password)"}, 401)
        fault = self.faults.api_fault()
        if fault == "429":
            answer = _json({"errors": "Exceeded 2 calls per second for api client. Reduce "
                                      "request rates to resume uninterrupted service."}, 429)
            answer.headers["Retry-After"] = str(self.faults.retry_after)
            return answer
        if fault in ("500", "503"):
            return _json({"errors": "Internal Server Error"}, int(fault))
        body = request.get_json(silent=True) or {}
        answer = self.execute(state, str(body.get("query") or ""), body.get("variables") or {},
                              body.get("operationName"))
        if fault == "timeout":  # ran, but the answer comes too late for the client
            time.sleep(self.faults.hang_seconds)
        return _json(answer, 200)

    def execute(self, state: ShopState, query: str, variables: Mapping[str, Any],
                operation_name: str | None = None) -> dict[str, Any]:
        """Run one GraphQL request for ``state`` with cost accounting; the JSON answer."""
        try:
            document = parse(query)
        except GraphQLError as exc:
            return {"errors": [_error(exc, "PARSE_ERROR")]}
        oversized = shopify_schema.oversized_inputs(dict(variables))
        if oversized:
            return {"errors": [{"message": f"The input array size of {oversized[0]} is greater "
                                           f"than the maximum allowed of "
                                           f"{shopify_schema.MAX_INPUT_SIZE}.",
                                "extensions": {"code": "MAX_INPUT_SIZE_EXCEEDED"}}]}
        try:
            requested = shopify_schema.requested_cost(document, dict(variables), operation_name)
        except StopIteration:
            return {"errors": [{"message": "No operation named " + str(operation_name),
                                "extensions": {"code": "OPERATION_NOT_FOUND"}}]}
        with self.lock:
            state.graphql_calls += 1
            bucket = state.bucket
            bucket.refill(self.clock())
            if requested > self.max_query_cost:
                return {"errors": [{"message": f"Query cost is {requested}, which exceeds the "
                                               f"single query max cost limit "
                                               f"({self.max_query_cost}).",
                                    "extensions": {"code": "MAX_COST_EXCEEDED"}}]}
            if requested > bucket.available:
                state.throttled += 1
                return {"errors": [{"message": "Throttled", "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                        "extensions": {"cost": {"requestedQueryCost": requested,
                                                "actualQueryCost": None,
                                                "throttleStatus": bucket.status()}}}
            bucket.available -= requested
            errors = validate(shopify_schema.schema(), document)
            result = ExecutionResult(None, errors) if errors else execute_sync(
                shopify_schema.schema(), document, root_value=Root(self, state),
                variable_values=dict(variables), operation_name=operation_name)
            mutation = shopify_schema.is_mutation(document, operation_name)
            actual = requested if mutation or result.data is None else min(
                requested, shopify_schema.actual_cost(result.data))
            bucket.available = min(bucket.maximum, bucket.available + requested - actual)
            answer: dict[str, Any] = {}
            if result.errors:
                answer["errors"] = [_error(e, "GRAPHQL_VALIDATION_FAILED") for e in result.errors]
            if result.data is not None or not result.errors:
                answer["data"] = result.data
            answer["extensions"] = {"cost": {"requestedQueryCost": requested,
                                             "actualQueryCost": actual,
                                             "throttleStatus": bucket.status()}}
        return answer

    # --- storefront ---------------------------------------------------------------------

    def _checkout(self, shop: str) -> Response:
        state = self._shop(shop)
        body = request.get_json(silent=True) or {}
        try:
            order = self.checkout(state.domain, body.get("lines") or [],
                                  email=str(body.get("email") or "asiakas@example.com"),
                                  shipping_address=body.get("shipping_address"),
                                  paid=bool(body.get("paid", True)))
        except ValueError as exc:
            return _json({"errors": str(exc)}, 422)
        return _json({"order": order}, 201)

    def checkout(self, shop: str, lines: list[Mapping[str, Any]], *,
                 email: str = "asiakas@example.com",
                 shipping_address: Mapping[str, Any] | None = None,
                 paid: bool = True) -> dict[str, Any]:
        """Create an order as the storefront does and send its webhooks; the REST-shaped order.

        ``lines``: ``{"variant_id", "quantity"}`` for a product variant (GID or number), or
        ``{"title", "price", "quantity"}`` for a custom item. Stock at the variant's location
        must cover the quantity (inventory policy DENY), else ValueError.
        """
        from sandbox.shopify_orders import place_order, rest_order

        state = self.shops[shop]
        with self.lock:
            order = place_order(self, state, lines, email=email,
                                shipping_address=shipping_address, paid=paid)
            rest = rest_order(state, order)
        self.send_webhook(state, "orders/create", rest)
        if paid:
            self.send_webhook(state, "orders/paid", rest)
        return rest

    # --- webhooks -------------------------------------------------------------------------

    def send_webhook(self, state: ShopState, topic: str, payload: Mapping[str, Any]) -> int:
        """Send one event to every subscription of ``topic``; returns how many were attempted.
        One event id is shared by all deliveries of the event; each gets its own webhook id."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = base64.b64encode(hmac.new(self.app.api_secret.encode(), body,
                                              hashlib.sha256).digest()).decode()
        event_id = new_id()
        with self.lock:
            urls = [s["uri"] for s in state.subscriptions.values() if s["topic"] == topic]
            if topic in ("customers/data_request", "customers/redact", "shop/redact") \
                    and self.app.compliance_url:
                urls = [self.app.compliance_url]
        for url in urls:
            self.deliverer.send(topic, url, body, {
                "Content-Type": "application/json", "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": signature, "X-Shopify-Shop-Domain": state.domain,
                "X-Shopify-API-Version": self.api_version, "X-Shopify-Webhook-Id": new_id(),
                "X-Shopify-Event-Id": event_id,
                "X-Shopify-Triggered-At": datetime.now(UTC).isoformat()})
        return len(urls)

    def uninstall(self, shop: str) -> None:
        """The merchant removes the app: tokens revoked, ``app/uninstalled`` sent, the
        subscriptions removed (Shopify deletes them with the installation)."""
        state = self.shops[shop]
        with self.lock:
            state.tokens.clear()
            state.refresh_tokens.clear()
            state.installed = False
        self.send_webhook(state, "app/uninstalled", {
            "id": number_of(state.merchant_location), "name": state.name,
            "domain": state.domain, "myshopify_domain": state.domain})
        with self.lock:
            state.subscriptions.clear()

    # --- objects shared by the resolvers and the storefront -------------------------------

    def _new_variant(self, state: ShopState, product: dict[str, Any],
                     data: Mapping[str, Any], options: tuple[tuple[str, str], ...]
                     ) -> dict[str, Any]:
        variant = {"id": self.next_id(), "product_id": product["id"],
                   "inventory_item_id": self.next_id(), "options": options,
                   "sku": data.get("sku") or "", "barcode": data.get("barcode"),
                   "price": str(data.get("price") or "0.00"), "tracked": True}
        state.variants[variant["id"]] = variant
        product["variant_ids"].append(variant["id"])
        return variant


def _host(shop: str) -> str:
    return base64.b64encode(f"admin.shopify.com/store/{shop.split('.')[0]}".encode()).decode()


def _json(data: Any, status: int) -> Response:
    response = jsonify(data)
    response.status_code = status
    return response


def _oauth_error(status: int, error: str, description: str) -> Response:
    return _json({"error": error, "error_description": description}, status)


def _error(error: GraphQLError, default_code: str) -> dict[str, Any]:
    formatted = error.formatted
    extensions = dict(formatted.get("extensions") or {})
    extensions.setdefault("code", default_code)
    formatted["extensions"] = extensions
    return formatted


def money(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


from sandbox.shopify_resolvers import Root  # noqa: E402  (resolvers use the classes above)

__all__ = ["API_VERSION", "SandboxApp", "ShopState", "ShopifySandbox", "gid", "oauth_hmac"]
