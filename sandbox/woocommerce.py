"""A WooCommerce stand-in: ``wc-auth`` and the ``wp-json/wc/v3`` subset Glue uses, on loopback
(DESIGN.md 11).

Behaves as ``reference/platforms.md`` section 2 documents WooCommerce 11, per shop under
``/shops/<name>`` (the shop's site URL; every shop of one sandbox is http, or every one https):

- ``GET …/wc-auth/v1/authorize`` checks its five parameters, approves at once (the merchant's
  grant screen), creates ``ck_…``/``cs_…`` keys and POSTs them as JSON to ``callback_url``; any
  answer but exactly 200 deletes the keys and shows "Access denied" (401), else the browser
  goes to ``return_url?success=1&user_id=…``. ``callback_url`` must be https unless the sandbox
  is told otherwise (Glue's loopback test server has no TLS).
- Authentication as WooCommerce does it: over https, Basic (key as user, secret as password)
  or the keys in the query string; over http, one-legged OAuth 1.0a in the query (HMAC-SHA1 or
  -SHA256, key ``secret&``, base URL the shop's own site URL, 15 minute timestamp window, each
  nonce once); Basic over http is ignored, so the call is unauthenticated (401).
- Products, variations (per-parent batch), global attributes, orders (list with
  ``modified_after`` and ``X-WP-Total``/``X-WP-TotalPages``, GET/PUT), order notes, webhooks;
  batches refuse more than 100 objects with 413 and answer per-item errors inside a 200.
  Money is strings, except a line's ``price``, a number (the unrounded line total / quantity).
- A storefront :meth:`WooCommerceSandbox.checkout` creates an order (block checkout: a
  ``checkout-draft`` first, then placed) from Glue's and the merchant's products.
- Webhooks: deliveries are queued per webhook and resource (a burst coalesces into one), held
  until the shop's queue runs (:meth:`WooCommerceSandbox.run_queue`, or ``wp-cron.php``,
  standing in for WP-Cron and Action Scheduler), and their bodies are built at send time. They
  are signed (base64 HMAC-SHA256 of the body with the webhook's secret), never retried, and a
  webhook is ``disabled`` after more than five consecutive failures. Creating an active webhook
  pings its URL synchronously (form body ``webhook_id=N``, unsigned) inside the POST.
- Faults (:class:`sandbox.common.Faults`): 429 / 5xx / timeouts on REST calls, dropped and
  duplicated deliveries, from a seeded RNG.

State is in memory and guarded by one lock; HTTP to Glue (callback, ping, deliveries) is sent
outside it, so a receiver may call the sandbox back meanwhile.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import html
import ipaddress
import json
import re
import secrets
import ssl
import tempfile
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import requests
from flask import Flask, Response, redirect, request
from werkzeug.serving import WSGIRequestHandler, make_server

from sandbox.common import Deliverer, Delivery, Faults, LoopbackServer

WC_VERSION = "11.0.1"
USER_AGENT = f"WooCommerce/{WC_VERSION} Hookshot (WordPress/7.1)"
MAX_BATCH = 100
MAX_PER_PAGE = 100
MAX_FAILURES = 5  # woocommerce_max_webhook_delivery_failures: disabled when the count is above
OAUTH_WINDOW = 15 * 60
CENT = Decimal("0.01")
ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded",
                  "failed", "trash", "checkout-draft")
# ``status=any`` lists what wc_get_order_statuses() names: block checkout drafts are not among
# them (⚠ read from the status registration, not from a recording)
LISTED_STATUSES = frozenset(ORDER_STATUSES) - {"trash", "checkout-draft"}
STOCK_REDUCING = frozenset({"processing", "completed", "on-hold"})
RESOURCES = ("coupon", "customer", "order", "product")
EVENTS = ("created", "updated", "deleted", "restored")
_ENTITY = re.compile(r"&(?!#?\w+;)")


class RestError(Exception):
    """A WordPress REST error answer: ``{code, message, data: {status, …}}``."""

    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.data = status, code, message, data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message,
                "data": {"status": self.status, **self.data}}


def wp_json(data: Any) -> bytes:
    """JSON as ``wp_json_encode`` writes it: ASCII only and ``/`` escaped. Webhook signatures
    are over these exact bytes."""
    return json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace(
        "/", "\\/").encode()


def sanitize_title(text: str) -> str:
    """WordPress's slug of a name: accents removed, lower case, dashes for spaces."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^a-z0-9 _-]", "", plain.lower()).strip()
    return re.sub(r"[\s-]+", "-", plain)


def kses_text(text: str) -> str:
    """A lone ``&`` stored as ``&amp;``, as WordPress saves titles and excerpts (the HTML
    entities that reach webhooks and order lines)."""
    return _ENTITY.sub("&amp;", text)


def rfc3986(text: str) -> str:
    """PHP's ``rawurlencode``."""
    return quote(text, safe="")


def oauth_signature(method: str, base_url: str, params: Mapping[str, str], secret: str,
                    algorithm: str = "sha256") -> str:
    """WooCommerce's one-legged OAuth 1.0a signature: parameters sorted by byte order, keys
    and values decoded, encoded and their ``%`` encoded again, joined by ``%3D`` and ``%26``;
    the key is the consumer secret plus ``&``."""
    pairs = []
    for key in sorted(params):
        if key == "oauth_signature":
            continue
        name = rfc3986(unquote(key)).replace("%", "%25")
        value = rfc3986(unquote(str(params[key]))).replace("%", "%25")
        pairs.append(f"{name}%3D{value}")
    text = f"{method}&{rfc3986(base_url)}&{'%26'.join(pairs)}"
    digest = hmac.new(f"{secret}&".encode(), text.encode(), algorithm).digest()
    return base64.b64encode(digest).decode()


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _stamp(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if moment else None


@dataclass
class WooShop:
    """One sandbox shop. Products and variations share WordPress post ids, as do orders;
    everything is a plain dict keyed by id, rendered to the REST shape on the way out."""

    name: str
    site_url: str
    currency: str = "EUR"
    prices_include_tax: bool = True
    tax_rate: Decimal = Decimal("25.5")
    approve_auth: bool = True  # the merchant clicks Approve on the grant screen
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # consumer key → record
    products: dict[int, dict[str, Any]] = field(default_factory=dict)  # and variations
    attributes: dict[int, dict[str, Any]] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    webhooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    queue: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    nonces: set[tuple[str, str]] = field(default_factory=set)
    pings: list[dict[str, Any]] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)  # customer notes sent
    calls: Counter[str] = field(default_factory=Counter)  # "METHOD route" → requests
    skus: dict[str, int] = field(default_factory=dict)  # unique keys, indexed: a bench
    gtins: dict[str, int] = field(default_factory=dict)  # catalog has 10,000 products
    slugs: set[str] = field(default_factory=set)
    _ids: Iterable[int] = field(default_factory=lambda: iter(range(10, 10**9)))
    _meta_ids: Iterable[int] = field(default_factory=lambda: iter(range(1, 10**9)))
    _item_ids: Iterable[int] = field(default_factory=lambda: iter(range(1, 10**9)))
    _comment_ids: Iterable[int] = field(default_factory=lambda: iter(range(1, 10**9)))

    def next_id(self) -> int:
        return next(self._ids)  # type: ignore[call-overload]

    def meta_id(self) -> int:
        return next(self._meta_ids)  # type: ignore[call-overload]

    def item_id(self) -> int:
        return next(self._item_ids)  # type: ignore[call-overload]

    def comment_id(self) -> int:
        return next(self._comment_ids)  # type: ignore[call-overload]

    def api_calls(self) -> int:
        """REST requests the shop answered (authenticated or not), for the benches."""
        return sum(self.calls.values())

    def by_sku(self, sku: str) -> dict[str, Any] | None:
        found = self.skus.get(sku) if sku else None
        return self.products.get(found) if found is not None else None

    def forget(self, product_id: int) -> None:
        """Remove a product or variation with its index entries."""
        product = self.products.pop(product_id)
        for index, key in ((self.skus, product["sku"]), (self.gtins,
                                                         product["global_unique_id"])):
            if key and index.get(key) == product_id:
                del index[key]
        self.slugs.discard(product["slug"])


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class TLSLoopbackServer(LoopbackServer):
    """:class:`LoopbackServer` over TLS with a throwaway self-signed certificate for
    127.0.0.1; ``ca_file`` is what a client passes as ``verify``."""

    def __init__(self, app: Callable[..., Any], *, port: int = 0) -> None:
        super().__init__(app, port=port)
        self._dir = tempfile.TemporaryDirectory(prefix="woo-sandbox-")
        self.ca_file, key_file = _self_signed(Path(self._dir.name))
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(self.ca_file, key_file)
        self._tls_server: Any = None

    @property
    def url(self) -> str:
        if self._tls_server is None:
            raise RuntimeError("the server is not running")
        return f"https://127.0.0.1:{self._tls_server.server_port}"

    def start(self) -> TLSLoopbackServer:
        self._tls_server = make_server("127.0.0.1", self.port, self.app, threaded=True,
                                       request_handler=_Quiet, ssl_context=self._context)
        self._tls_server.daemon_threads = True
        self._tls_thread = threading.Thread(target=self._tls_server.serve_forever,
                                            kwargs={"poll_interval": 0.05}, daemon=True)
        self._tls_thread.start()
        return self

    def stop(self) -> None:
        if self._tls_server is not None:
            self._tls_server.shutdown()
            self._tls_server.server_close()
            self._tls_server = None
            self._tls_thread.join(timeout=5)
        self._dir.cleanup()


def _self_signed(directory: Path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


Handler = Callable[..., Any]


class WooCommerceSandbox:
    """The sandbox: shops, the Flask app serving them, and the webhook queue.

    ``tls`` serves every shop over https (Basic auth) instead of http (OAuth 1.0a).
    ``require_https_callback`` is WooCommerce's rule for ``wc-auth``; tests whose Glue runs on
    plain loopback turn it off. ``clock`` gives the shop's "now" for the dates it stores (the
OAuth timestamp window is checked against real time, which the client signs with).
    """

    def __init__(self, *, faults: Faults | None = None, tls: bool = False,
                 require_https_callback: bool = True, max_failures: int = MAX_FAILURES,
                 delivery_timeout: float = 5.0, ping_timeout: float = 5.0,
                 callback_timeout: float = 10.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.faults = faults or Faults()
        self.tls = tls
        self.require_https_callback = require_https_callback
        self.max_failures = max_failures
        self.ping_timeout, self.callback_timeout = ping_timeout, callback_timeout
        self.clock = clock
        self.shops: dict[str, WooShop] = {}
        self.deliverer = Deliverer(self.faults, timeout=delivery_timeout)
        self.lock = threading.RLock()
        self.server: LoopbackServer = (TLSLoopbackServer if tls else LoopbackServer)(
            self._build_app())
        self._routes = self._route_table()
        self._cron: threading.Thread | None = None
        self._cron_stop = threading.Event()

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> WooCommerceSandbox:
        self.server.start()
        return self

    def stop(self) -> None:
        self.stop_cron()
        self.server.stop()

    def __enter__(self) -> WooCommerceSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def ca_file(self) -> str | None:
        """The certificate to trust for a ``tls`` sandbox (``verify=``), else None."""
        return getattr(self.server, "ca_file", None)

    def site_url(self, name: str) -> str:
        return f"{self.server.url}/shops/{name}"

    def add_shop(self, name: str = "demo", **settings: Any) -> WooShop:
        """A new empty shop; ``settings`` set :class:`WooShop` fields (currency, tax)."""
        with self.lock:
            shop = WooShop(name=name, site_url=self.site_url(name), **settings)
            self.shops[name] = shop
        return shop

    def issue_keys(self, name: str, *, permissions: str = "read_write",
                   description: str = "Glue - API") -> tuple[str, str]:
        """REST API keys made in WooCommerce > Settings > Advanced > REST API."""
        shop = self.shops[name]
        consumer_key, consumer_secret = "ck_" + secrets.token_hex(20), "cs_" + secrets.token_hex(20)
        with self.lock:
            shop.keys[consumer_key] = {"key_id": len(shop.keys) + 1, "secret": consumer_secret,
                                       "permissions": permissions, "description": description}
        return consumer_key, consumer_secret

    # --- the Flask app --------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask("sandbox.woocommerce")
        app.add_url_rule("/shops/<name>/wc-auth/v1/authorize", view_func=self._authorize)
        app.add_url_rule("/shops/<name>/wp-json/wc/v3/<path:route>", view_func=self._rest,
                         methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        app.add_url_rule("/shops/<name>/wp-cron.php", view_func=self._wp_cron,
                         methods=["GET", "POST"])
        app.add_url_rule("/shops/<name>/checkout", view_func=self._storefront,
                         methods=["POST"])
        return app

    def _route_table(self) -> list[tuple[re.Pattern[str], str, dict[str, Handler]]]:
        table: list[tuple[str, dict[str, Handler]]] = [
            (r"products", {"GET": self._list_products, "POST": self._create_product}),
            (r"products/batch", {"POST": self._batch_products}),
            (r"products/attributes", {"GET": self._list_attributes,
                                      "POST": self._create_attribute}),
            (r"products/attributes/(\d+)", {"GET": self._get_attribute}),
            (r"products/(\d+)/variations", {"GET": self._list_variations,
                                            "POST": self._create_variation}),
            (r"products/(\d+)/variations/batch", {"POST": self._batch_variations}),
            (r"products/(\d+)/variations/(\d+)", {"GET": self._get_variation,
                                                  "PUT": self._update_variation,
                                                  "DELETE": self._delete_variation}),
            (r"products/(\d+)", {"GET": self._get_product, "PUT": self._update_product,
                                 "DELETE": self._delete_product}),
            (r"orders", {"GET": self._list_orders, "POST": self._create_order}),
            (r"orders/(\d+)", {"GET": self._get_order, "PUT": self._update_order}),
            (r"orders/(\d+)/notes", {"GET": self._list_notes, "POST": self._create_note}),
            (r"webhooks", {"GET": self._list_webhooks, "POST": self._create_webhook}),
            (r"webhooks/(\d+)", {"GET": self._get_webhook, "PUT": self._update_webhook,
                                 "DELETE": self._delete_webhook}),
        ]
        compiled = []
        for pattern, methods in table:
            if "PUT" in methods:
                methods["PATCH"] = methods["PUT"]
            if pattern.endswith("batch"):
                methods.update(PUT=methods["POST"], PATCH=methods["POST"])
            compiled.append((re.compile(pattern), pattern, methods))
        return compiled

    def _shop(self, name: str) -> WooShop | None:
        return self.shops.get(name)

    # --- wc-auth --------------------------------------------------------------------------

    def _authorize(self, name: str) -> Response:
        shop = self._shop(name)
        if shop is None:
            return Response("Not Found", 404)
        args = request.args
        try:
            for param in ("app_name", "scope", "user_id", "return_url", "callback_url"):
                if not args.get(param):
                    raise ValueError(f"Missing parameter {param}")
            scope = args["scope"]
            if scope not in ("read", "write", "read_write"):
                raise ValueError(f"Invalid scope {scope}")
            callback = args["callback_url"]
            if "://" not in callback:
                callback = "https://" + callback
            if self.require_https_callback and not callback.startswith("https://"):
                raise ValueError("The callback_url needs to be over SSL")
            for url in (args["return_url"], callback):
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https") or not parts.netloc:
                    raise ValueError("The return_url and callback_url need to be valid URLs")
        except ValueError as exc:
            return _access_denied(str(exc))
        user_id = args["user_id"]
        if not shop.approve_auth:
            return redirect(_add_query(args["return_url"], success="0", user_id=user_id), 302)
        description = f"{args['app_name']} - API ({self.clock():%B %d, %Y at %H:%M})"
        consumer_key, consumer_secret = self.issue_keys(name, permissions=scope,
                                                        description=description)
        key_id = shop.keys[consumer_key]["key_id"]
        body = wp_json({"key_id": key_id, "user_id": user_id, "consumer_key": consumer_key,
                        "consumer_secret": consumer_secret, "key_permissions": scope})
        try:
            answer = requests.post(callback, data=body, timeout=self.callback_timeout,
                                   allow_redirects=False, headers={
                                       "Content-Type": "application/json;charset=UTF-8",
                                       "User-Agent": USER_AGENT})
            accepted = answer.status_code == 200
        except requests.RequestException:
            accepted = False
        if not accepted:
            with self.lock:
                shop.keys.pop(consumer_key, None)
            return _access_denied("An error occurred in the request and at the time were "
                                  "unable to send the consumer data")
        return redirect(_add_query(args["return_url"], success="1", user_id=user_id), 302)

    # --- REST: dispatch, authentication, faults -------------------------------------------

    def _rest(self, name: str, route: str) -> Response:
        shop = self._shop(name)
        if shop is None:
            return Response("Not Found", 404)
        method = request.method
        found = next(((m, label, methods) for pattern, label, methods in self._routes
                      if (m := pattern.fullmatch(route.rstrip("/"))) and method in methods),
                     None)
        if found is None:
            return _rest_answer(RestError(404, "rest_no_route", "No route was found matching "
                                          "the URL and request method."))
        match, label, methods = found
        with self.lock:
            shop.calls[f"{method} {label}"] += 1
        try:
            self._authenticate(shop, method, "/wp-json/wc/v3/" + route, list_call=not any(
                match.groups()) and method == "GET")
        except RestError as exc:
            return _rest_answer(exc)
        fault = self.faults.api_fault()
        if fault == "429":  # WooCommerce has none; hosts and WAFs add one
            answer = _rest_answer(RestError(429, "too_many_requests", "Too Many Requests"))
            answer.headers["Retry-After"] = str(self.faults.retry_after)
            return answer
        if fault in ("500", "503"):
            return Response("<html><body><h1>Service unavailable</h1></body></html>",
                            int(fault), content_type="text/html; charset=UTF-8")
        body = request.get_json(silent=True, force=True) if request.get_data() else None
        pings: list[dict[str, Any]] = []
        try:
            with self.lock:
                result = methods[method](shop, *[int(g) for g in match.groups()],
                                         body=body if isinstance(body, dict) else {},
                                         args=request.args, pings=pings)
        except RestError as exc:
            return _rest_answer(exc)
        for webhook in pings:  # synchronously, inside the request, outside the lock
            self._ping(shop, webhook)
        if fault == "timeout":  # ran, but the answer comes too late for the client
            time.sleep(self.faults.hang_seconds)
        status, data, headers = result if isinstance(result, tuple) else (200, result, {})
        answer = Response(wp_json(data), status, content_type="application/json; charset=UTF-8")
        answer.headers["Link"] = f'<{shop.site_url}/wp-json/>; rel="https://api.w.org/"'
        for key, value in headers.items():
            answer.headers[key] = value
        return answer

    def _authenticate(self, shop: WooShop, method: str, path: str, *,
                      list_call: bool) -> dict[str, Any]:
        """The key record of the caller, or the RestError WooCommerce answers."""
        args = request.args
        if request.scheme == "https":
            auth = request.authorization
            if auth is not None and auth.type == "basic":
                consumer_key, consumer_secret = auth.username or "", auth.password or ""
            elif args.get("consumer_key"):
                consumer_key = args.get("consumer_key", "")
                consumer_secret = args.get("consumer_secret", "")
            else:
                raise _unauthenticated(method, list_call)
            record = shop.keys.get(consumer_key)
            if record is None:
                raise RestError(401, "woocommerce_rest_authentication_error",
                                "Consumer key is invalid.")
            if not hmac.compare_digest(record["secret"].encode(), consumer_secret.encode()):
                raise RestError(401, "woocommerce_rest_authentication_error",
                                "Consumer secret is invalid.")
        else:
            record = self._oauth(shop, method, path, list_call)
        needed = "read" if method == "GET" else "write"
        if needed not in record["permissions"]:
            raise RestError(401, "woocommerce_rest_authentication_error",
                            f"The API key provided does not have {needed} permissions.")
        return record

    def _oauth(self, shop: WooShop, method: str, path: str, list_call: bool) -> dict[str, Any]:
        params = {k: request.args.getlist(k)[-1] for k in request.args}  # PHP: the last wins
        if "oauth_consumer_key" not in params:
            raise _unauthenticated(method, list_call)
        for name in ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce",
                     "oauth_signature", "oauth_signature_method"):
            if not params.get(name):
                raise RestError(401, "woocommerce_rest_authentication_missing_parameter",
                                f"Missing OAuth parameter {name}")
        record = shop.keys.get(params["oauth_consumer_key"])
        if record is None:
            raise RestError(401, "woocommerce_rest_authentication_error",
                            "Consumer key is invalid.")
        method_name = params["oauth_signature_method"]
        if method_name not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise RestError(401, "woocommerce_rest_authentication_error",
                            "Invalid signature - signature method is invalid.")
        expected = oauth_signature(method, shop.site_url + path, params, record["secret"],
                                   method_name.removeprefix("HMAC-").lower())
        given = params["oauth_signature"].replace(" ", "+")
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise RestError(401, "woocommerce_rest_authentication_error",
                            "Invalid signature - provided signature does not match.")
        try:
            stamp = int(params["oauth_timestamp"])
        except ValueError:
            stamp = 0
        if abs(time.time() - stamp) > OAUTH_WINDOW:  # the client signs with real time
            raise RestError(401, "woocommerce_rest_authentication_error", "Invalid timestamp.")
        nonce = (params["oauth_consumer_key"], params["oauth_nonce"] + ":" + str(stamp))
        with self.lock:
            if nonce in shop.nonces:
                raise RestError(401, "woocommerce_rest_authentication_error",
                                "Invalid nonce - nonce has already been used.")
            shop.nonces.add(nonce)
        return record

    # --- products -------------------------------------------------------------------------

    def _list_products(self, shop: WooShop, *, args: Mapping[str, str], **_: Any) -> Any:
        items = [p for p in shop.products.values() if p["type"] != "variation"]
        if args.get("sku"):
            wanted = set(args["sku"].split(","))
            items = [p for p in items if p["sku"] in wanted]
        if args.get("status") and args["status"] != "any":
            items = [p for p in items if p["status"] == args["status"]]
        if args.get("include"):
            wanted_ids = {int(i) for i in args["include"].split(",") if i.strip().isdigit()}
            items = [p for p in items if p["id"] in wanted_ids]
        items.sort(key=lambda p: (p["date_created"], p["id"]), reverse=True)
        return self._paged(shop, [self._render_product(shop, p) for p in items], args)

    def _create_product(self, shop: WooShop, *, body: Mapping[str, Any], **_: Any) -> Any:
        return 201, self._render_product(shop, self._new_product(shop, body)), {}

    def _get_product(self, shop: WooShop, product_id: int, **_: Any) -> Any:
        return self._render_product(shop, self._product(shop, product_id, 404))

    def _update_product(self, shop: WooShop, product_id: int, *, body: Mapping[str, Any],
                        **_: Any) -> Any:
        product = self._product(shop, product_id, 400)
        self._write_product(shop, product, body)
        self._changed(shop, "product", product)
        return self._render_product(shop, product)

    def _delete_product(self, shop: WooShop, product_id: int, *, args: Mapping[str, str],
                        **_: Any) -> Any:
        product = self._product(shop, product_id, 404)
        rendered = self._render_product(shop, product)
        if _truthy(args.get("force")):
            for child in product["variations"]:
                if child in shop.products:
                    shop.forget(child)
            shop.forget(product_id)
            self._enqueue(shop, "product", "deleted", product_id, {"id": product_id})
        else:
            product["status"] = "trash"
            self._changed(shop, "product", product)
            rendered = self._render_product(shop, product)
        return rendered

    def _batch_products(self, shop: WooShop, *, body: Mapping[str, Any], **_: Any) -> Any:
        return self._batch(shop, body, create=lambda item: self._create_product(
            shop, body=item)[1], update=lambda item: self._update_product(
            shop, _id_of(item), body=item), delete=lambda pid: self._delete_product(
            shop, pid, args={"force": "true"}), invalid="woocommerce_rest_product_invalid_id")

    def _batch(self, shop: WooShop, body: Mapping[str, Any], *, create: Handler,
               update: Handler, delete: Handler, invalid: str) -> dict[str, Any]:
        """WooCommerce's batch: at most 100 objects over the three lists (413 otherwise),
        each item answered on its own, a refused one as ``{id, error}``."""
        lists = {k: body.get(k) or [] for k in ("create", "update", "delete")}
        if sum(len(v) for v in lists.values() if isinstance(v, list)) > MAX_BATCH:
            raise RestError(413, "woocommerce_rest_request_entity_too_large",
                            f"Unable to accept more than {MAX_BATCH} items for this request.")
        answer: dict[str, list[Any]] = {}
        for kind, handler in (("create", create), ("update", update), ("delete", delete)):
            if not lists[kind]:
                continue
            answer[kind] = []
            for item in lists[kind]:
                try:
                    if kind == "delete":
                        answer[kind].append(handler(int(item)))
                    elif not isinstance(item, Mapping):
                        raise RestError(400, "rest_invalid_param", "Invalid parameter(s): item")
                    else:
                        answer[kind].append(handler(item))
                except RestError as exc:
                    if exc.code == invalid and kind == "delete":
                        exc.status = 404
                    ident = item if kind == "delete" else (
                        item.get("id", 0) if isinstance(item, Mapping) else 0)
                    answer[kind].append({"id": ident, "error": exc.body()})
        return answer

    def _product(self, shop: WooShop, product_id: int, status: int) -> dict[str, Any]:
        """A product (not a variation: ``products`` and ``products/batch`` refuse those,
        which is why variations cost one ``variations/batch`` per parent; woocommerce#29341,
        #31282)."""
        product = shop.products.get(product_id)
        if product is not None and product["type"] == "variation":
            raise RestError(404, "woocommerce_rest_invalid_product_id",
                            "To manipulate product variations you should use the "
                            "/products/&lt;product_id&gt;/variations/&lt;id&gt; endpoint.")
        if product is None:
            raise RestError(status, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        return product

    def _new_product(self, shop: WooShop, body: Mapping[str, Any], *,
                     parent: dict[str, Any] | None = None) -> dict[str, Any]:
        now = self.clock()
        kind = "variation" if parent else str(body.get("type") or "simple")
        if kind not in ("simple", "variable", "grouped", "external", "variation"):
            raise RestError(400, "rest_invalid_param", "Invalid parameter(s): type",
                            params={"type": "type is not one of simple, grouped, external "
                                            "and variable."})
        product: dict[str, Any] = {
            "id": 0, "type": kind, "parent_id": parent["id"] if parent else 0, "name": "",
            "slug": "", "status": "publish", "description": "", "short_description": "",
            "sku": "", "regular_price": "", "sale_price": "", "manage_stock": False,
            "stock_quantity": None, "backorders": "no", "weight": "", "global_unique_id": "",
            "meta_data": [], "images": [], "attributes": [], "default_attributes": [],
            "variations": [], "date_created": now, "date_modified": now, "total_sales": 0,
            "virtual": False}
        self._write_product(shop, product, body, parent=parent, creating=True)
        product["id"] = shop.next_id()
        shop.products[product["id"]] = product
        for index, key in ((shop.skus, product["sku"]), (shop.gtins,
                                                         product["global_unique_id"])):
            if key:
                index[key] = product["id"]
        if parent is not None:
            parent["variations"].append(product["id"])
        self._enqueue(shop, "product", "created", product["id"])
        return product

    def _write_product(self, shop: WooShop, product: dict[str, Any], body: Mapping[str, Any],
                       *, parent: dict[str, Any] | None = None, creating: bool = False) -> None:
        """Validate everything first, then apply, so a refused item changes nothing."""
        for name in ("regular_price", "sale_price", "sku", "name", "weight",
                     "global_unique_id", "description", "short_description"):
            if name in body and body[name] is not None and not isinstance(body[name], str):
                raise RestError(400, "rest_invalid_param", f"Invalid parameter(s): {name}",
                                params={name: f"{name} is not of type string."})
        if "stock_quantity" in body and body["stock_quantity"] is not None and (
                isinstance(body["stock_quantity"], bool)
                or not isinstance(body["stock_quantity"], int)):
            raise RestError(400, "rest_invalid_param", "Invalid parameter(s): stock_quantity",
                            params={"stock_quantity": "stock_quantity is not of type integer."})
        status = body.get("status")
        if status is not None and status not in ("draft", "pending", "private", "publish"):
            raise RestError(400, "rest_invalid_param", "Invalid parameter(s): status")
        sku = body.get("sku")
        if sku:
            holder = shop.by_sku(sku)
            if holder is not None and holder is not product:
                raise RestError(400, "product_invalid_sku", "Invalid or duplicated SKU.",
                                resource_id=holder["id"], unique_sku=_unique_sku(shop, sku))
        gtin = body.get("global_unique_id")
        if gtin:
            holder_id = shop.gtins.get(gtin)
            if holder_id is not None and holder_id != product["id"]:
                raise RestError(400, "product_invalid_global_unique_id",
                                "Invalid or duplicated GTIN, UPC, EAN or ISBN.")
        attributes = None
        if "attributes" in body:
            attributes = (self._variation_attributes(shop, parent, body["attributes"])
                          if parent else self._product_attributes(shop, body["attributes"]))
        for name in ("sku", "global_unique_id"):
            index = shop.skus if name == "sku" else shop.gtins
            if body.get(name) is not None and body[name] != product[name]:
                if product[name] and index.get(product[name]) == product["id"]:
                    del index[product[name]]
                product[name] = body[name]
                if product["id"] and body[name]:
                    index[body[name]] = product["id"]
        for name in ("regular_price", "sale_price", "weight", "description", "backorders",
                     "status"):
            if name in body and body[name] is not None:
                product[name] = body[name]
        if "name" in body and body["name"] is not None:
            product["name"] = kses_text(body["name"])
            if not product["slug"] and not parent:
                product["slug"] = _unique_slug(shop, sanitize_title(product["name"]))
                shop.slugs.add(product["slug"])
        if "short_description" in body and body["short_description"] is not None:
            product["short_description"] = kses_text(body["short_description"])
        if "manage_stock" in body:
            product["manage_stock"] = bool(body["manage_stock"])
        if "stock_quantity" in body:
            product["stock_quantity"] = body["stock_quantity"]
        if "virtual" in body:
            product["virtual"] = bool(body["virtual"])
        if "images" in body and not parent:  # sideloaded: the URL is kept, never fetched
            product["images"] = [{"id": shop.next_id(), "src": str(i.get("src") or ""),
                                  "name": Path(urlsplit(str(i.get("src") or "")).path).name,
                                  "alt": str(i.get("alt") or "")}
                                 for i in body["images"] or [] if isinstance(i, Mapping)]
        if attributes is not None:
            product["attributes"] = attributes
        if "meta_data" in body:
            _apply_meta(shop, product["meta_data"], body["meta_data"])
        if not creating:
            product["date_modified"] = self.clock()

    def _product_attributes(self, shop: WooShop, entries: Any) -> list[dict[str, Any]]:
        """A parent's attributes: global by ``id`` (terms made from the option names, as
        WooCommerce does on save), else local by ``name``; unknown ids are dropped."""
        result = []
        for position, entry in enumerate(entries or []):
            if not isinstance(entry, Mapping):
                continue
            options = [str(o) for o in entry.get("options") or []]
            attribute_id = int(entry.get("id") or 0)
            if attribute_id:
                attribute = shop.attributes.get(attribute_id)
                if attribute is None:
                    continue
                for option in options:
                    attribute["terms"].setdefault(option, sanitize_title(option))
                name, slug = attribute["name"], attribute["slug"]
            else:
                name = str(entry.get("name") or "")
                if not name:
                    continue
                slug = name
            result.append({"id": attribute_id, "name": name, "slug": slug,
                           "position": int(entry.get("position", position)),
                           "visible": bool(entry.get("visible", True)),
                           "variation": bool(entry.get("variation", False)),
                           "options": options})
        return result

    def _variation_attributes(self, shop: WooShop, parent: dict[str, Any],
                              entries: Any) -> list[dict[str, Any]]:
        """A variation's attribute values, matched to its parent's variation attributes
        (global by id, local by name); a value the parent does not offer is refused."""
        result = []
        for entry in entries or []:
            if not isinstance(entry, Mapping):
                continue
            attribute_id = int(entry.get("id") or 0)
            option = str(entry.get("option") or "")
            mine = next((a for a in parent["attributes"] if a["variation"] and (
                (attribute_id and a["id"] == attribute_id) or (not attribute_id and not a["id"]
                and a["name"].casefold() == str(entry.get("name") or "").casefold()))), None)
            if mine is None:
                continue
            if option not in mine["options"]:
                raise RestError(400, "woocommerce_rest_invalid_product_attribute",
                                f"{mine['name']}: {option} is not an option of the parent.")
            slug = mine["slug"] if attribute_id else sanitize_title(mine["name"])
            result.append({"id": attribute_id, "name": mine["name"], "slug": slug,
                           "option": option})
        return result

    def _render_product(self, shop: WooShop, product: Mapping[str, Any]) -> dict[str, Any]:
        price = product["sale_price"] or product["regular_price"]
        managed = product["manage_stock"]
        quantity = product["stock_quantity"] if managed else None
        if product["type"] == "variable":
            in_stock = any(_in_stock(shop.products[v]) for v in product["variations"]
                           if v in shop.products)
        else:
            in_stock = _in_stock(product)
        base = f"{shop.site_url}/wp-json/wc/v3/products"
        rendered: dict[str, Any] = {
            "id": product["id"], "name": product["name"], "slug": product["slug"],
            "permalink": f"{shop.site_url}/product/{product['slug']}/",
            "date_created": _stamp(product["date_created"]),
            "date_created_gmt": _stamp(product["date_created"]),
            "date_modified": _stamp(product["date_modified"]),
            "date_modified_gmt": _stamp(product["date_modified"]),
            "type": product["type"], "status": product["status"], "featured": False,
            "catalog_visibility": "visible", "description": product["description"],
            "short_description": product["short_description"], "sku": product["sku"],
            "price": price if product["type"] != "variable" else "",
            "regular_price": product["regular_price"], "sale_price": product["sale_price"],
            "on_sale": bool(product["sale_price"]), "purchasable": bool(price),
            "total_sales": product["total_sales"], "virtual": product["virtual"],
            "downloadable": False, "tax_status": "taxable", "tax_class": "",
            "manage_stock": managed, "stock_quantity": quantity,
            "backorders": product["backorders"], "backorders_allowed": False,
            "backordered": False, "low_stock_amount": None, "weight": product["weight"],
            "dimensions": {"length": "", "width": "", "height": ""},
            "parent_id": product["parent_id"], "meta_data": copy.deepcopy(
                product["meta_data"]), "stock_status": "instock" if in_stock else "outofstock",
            "global_unique_id": product["global_unique_id"], **_PRODUCT_DEFAULTS}
        if product["type"] == "variation":
            parent = shop.products.get(product["parent_id"]) or {}
            rendered.update(
                attributes=copy.deepcopy(product["attributes"]),
                name=", ".join(a["option"] for a in product["attributes"]),
                image=None, tax_class="parent", menu_order=0, gallery_image_ids=[],
                permalink=f"{shop.site_url}/product/{parent.get('slug', '')}/?" + urlencode(
                    {f"attribute_{a['slug']}": _term_slug(shop, a) for a in
                     product["attributes"]}),
                _links={"self": [{"href": f"{base}/{product['parent_id']}/variations/"
                                          f"{product['id']}"}],
                        "up": [{"href": f"{base}/{product['parent_id']}"}]})
            for name in ("short_description", "total_sales", "slug", "catalog_visibility",
                         "featured"):
                del rendered[name]
            return rendered
        rendered.update(
            images=copy.deepcopy(product["images"]),
            attributes=[{k: v for k, v in a.items()} for a in product["attributes"]],
            default_attributes=[], variations=list(product["variations"]),
            grouped_products=[], categories=[{"id": 15, "name": "Uncategorized",
                                              "slug": "uncategorized"}], tags=[], brands=[],
            has_options=product["type"] == "variable", menu_order=0, related_ids=[],
            reviews_allowed=True, average_rating="0", rating_count=0, upsell_ids=[],
            cross_sell_ids=[], purchase_note="", external_url="", button_text="",
            sold_individually=False, post_password="", generated_slug=product["slug"],
            permalink_template=f"{shop.site_url}/product/%pagename%/",
            price_html="" if product["type"] == "variable" else
            f'<span class="woocommerce-Price-amount amount"><bdi>{price}</bdi></span>',
            shipping_required=not product["virtual"],
            shipping_taxable=not product["virtual"],
            _links={"self": [{"href": f"{base}/{product['id']}"}],
                    "collection": [{"href": base}]})
        return rendered

    # --- variations -----------------------------------------------------------------------

    def _parent(self, shop: WooShop, product_id: int) -> dict[str, Any]:
        return self._product(shop, product_id, 404)

    def _variation(self, shop: WooShop, parent_id: int, variation_id: int,
                   status: int = 404) -> dict[str, Any]:
        variation = shop.products.get(variation_id)
        if variation is None or variation["parent_id"] != parent_id:
            raise RestError(status, "woocommerce_rest_product_variation_invalid_id",
                            "Invalid ID.")
        return variation

    def _list_variations(self, shop: WooShop, parent_id: int, *, args: Mapping[str, str],
                         **_: Any) -> Any:
        parent = self._parent(shop, parent_id)
        items = [shop.products[v] for v in reversed(parent["variations"])]
        return self._paged(shop, [self._render_product(shop, v) for v in items], args)

    def _create_variation(self, shop: WooShop, parent_id: int, *, body: Mapping[str, Any],
                          **_: Any) -> Any:
        parent = self._parent(shop, parent_id)
        variation = self._new_product(shop, body, parent=parent)
        return 201, self._render_product(shop, variation), {}

    def _get_variation(self, shop: WooShop, parent_id: int, variation_id: int,
                       **_: Any) -> Any:
        return self._render_product(shop, self._variation(shop, parent_id, variation_id))

    def _update_variation(self, shop: WooShop, parent_id: int, variation_id: int, *,
                          body: Mapping[str, Any], **_: Any) -> Any:
        parent = self._parent(shop, parent_id)
        variation = self._variation(shop, parent_id, variation_id, 400)
        self._write_product(shop, variation, body, parent=parent)
        self._changed(shop, "product", variation)
        return self._render_product(shop, variation)

    def _delete_variation(self, shop: WooShop, parent_id: int, variation_id: int,
                          **_: Any) -> Any:
        parent = self._parent(shop, parent_id)
        variation = self._variation(shop, parent_id, variation_id)
        rendered = self._render_product(shop, variation)
        shop.forget(variation_id)
        parent["variations"].remove(variation_id)
        self._enqueue(shop, "product", "deleted", variation_id, {"id": variation_id})
        return rendered

    def _batch_variations(self, shop: WooShop, parent_id: int, *, body: Mapping[str, Any],
                          **_: Any) -> Any:
        self._parent(shop, parent_id)
        return self._batch(shop, body, create=lambda item: self._create_variation(
            shop, parent_id, body=item)[1], update=lambda item: self._update_variation(
            shop, parent_id, _id_of(item, "woocommerce_rest_product_variation_invalid_id"),
            body=item), delete=lambda vid: self._delete_variation(shop, parent_id, vid),
            invalid="woocommerce_rest_product_variation_invalid_id")

    # --- attributes -----------------------------------------------------------------------

    def _list_attributes(self, shop: WooShop, **_: Any) -> Any:
        items = [_render_attribute(shop, a) for a in shop.attributes.values()]
        return 200, items, {"X-WP-Total": str(len(items)), "X-WP-TotalPages": "1"}

    def _get_attribute(self, shop: WooShop, attribute_id: int, **_: Any) -> Any:
        attribute = shop.attributes.get(attribute_id)
        if attribute is None:
            raise RestError(404, "woocommerce_rest_term_invalid", "Resource does not exist.")
        return _render_attribute(shop, attribute)

    def _create_attribute(self, shop: WooShop, *, body: Mapping[str, Any], **_: Any) -> Any:
        name = str(body.get("name") or "").strip()
        if not name:
            raise RestError(400, "rest_missing_callback_param", "Missing parameter(s): name",
                            params=["name"])
        slug = "pa_" + sanitize_title(str(body.get("slug") or name)).removeprefix("pa_")[:28]
        if slug == "pa_" or any(a["slug"] == slug for a in shop.attributes.values()):
            raise RestError(400, "woocommerce_rest_cannot_create",
                            f'Slug "{slug.removeprefix("pa_")}" is already in use. '
                            "Change it, please.")
        attribute = {"id": len(shop.attributes) + 1, "name": name, "slug": slug,
                     "type": str(body.get("type") or "select"),
                     "order_by": str(body.get("order_by") or "menu_order"),
                     "has_archives": bool(body.get("has_archives")), "terms": {}}
        shop.attributes[attribute["id"]] = attribute
        return 201, _render_attribute(shop, attribute), {}

    # --- orders ---------------------------------------------------------------------------

    def _list_orders(self, shop: WooShop, *, args: Mapping[str, str], **_: Any) -> Any:
        statuses = {s for s in (args.get("status") or "any").split(",") if s}
        wanted = LISTED_STATUSES if "any" in statuses else statuses
        # the site's time zone is UTC, so ``dates_are_gmt`` reads both ways alike
        bounds = {k: _parse_date(args.get(k)) for k in (
            "after", "before", "modified_after", "modified_before")}
        items = [o for o in shop.orders.values() if o["status"] in wanted]
        for key, field_name, later in (("after", "_created", True),
                                       ("before", "_created", False),
                                       ("modified_after", "_modified", True),
                                       ("modified_before", "_modified", False)):
            bound = bounds[key]
            if bound is not None:  # strictly after / before, to the second
                items = [o for o in items if (o[field_name].replace(microsecond=0) > bound
                                              if later else
                                              o[field_name].replace(microsecond=0) < bound)]
        orderby = args.get("orderby") or "date"
        sort_key = {"date": lambda o: (o["_created"], o["id"]), "id": lambda o: o["id"],
                    "modified": lambda o: (o["_modified"], o["id"])}.get(orderby)
        if sort_key is None:
            raise RestError(400, "rest_invalid_param", "Invalid parameter(s): orderby")
        items.sort(key=sort_key, reverse=(args.get("order") or "desc") == "desc")
        return self._paged(shop, [self._render_order(shop, o) for o in items], args)

    def _get_order(self, shop: WooShop, order_id: int, **_: Any) -> Any:
        return self._render_order(shop, self._order(shop, order_id))

    def _order(self, shop: WooShop, order_id: int) -> dict[str, Any]:
        order = shop.orders.get(order_id)
        if order is None:
            raise RestError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return order

    def _create_order(self, shop: WooShop, *, body: Mapping[str, Any], **_: Any) -> Any:
        """``POST orders`` (how the recordings made their order): lines by product and
        variation id; ``set_paid`` pays it."""
        lines = [{"product_id": int(item.get("variation_id") or item.get("product_id") or 0),
                  "quantity": int(item.get("quantity") or 1)}
                 for item in body.get("line_items") or [] if isinstance(item, Mapping)]
        status = str(body.get("status") or "pending")
        if status not in ORDER_STATUSES:
            raise RestError(400, "rest_invalid_param", "Invalid parameter(s): status")
        try:
            order = self._place(shop, lines, status=status, paid=bool(body.get("set_paid")),
                                billing=body.get("billing"), shipping=body.get("shipping"),
                                customer_note=str(body.get("customer_note") or ""),
                                created_via="rest-api")
        except ValueError as exc:
            raise RestError(400, "woocommerce_rest_invalid_product_id", str(exc)) from exc
        if body.get("meta_data"):
            _apply_meta(shop, order["meta_data"], body["meta_data"])
        return 201, self._render_order(shop, order), {}

    def _update_order(self, shop: WooShop, order_id: int, *, body: Mapping[str, Any],
                      **_: Any) -> Any:
        order = self._order(shop, order_id)
        status = body.get("status")
        if status is not None and status not in ORDER_STATUSES:
            raise RestError(400, "rest_invalid_param", "Invalid parameter(s): status",
                            params={"status": "status is not one of "
                                              + ", ".join(ORDER_STATUSES) + "."})
        if "meta_data" in body:
            _apply_meta(shop, order["meta_data"], body["meta_data"])
        for name in ("billing", "shipping"):
            if isinstance(body.get(name), Mapping):
                order[name].update({k: str(v) for k, v in body[name].items()})
        if "customer_note" in body:
            order["customer_note"] = str(body["customer_note"] or "")
        if status is not None and status != order["status"]:
            self._set_status(shop, order, status)
        order["_modified"] = self.clock()
        self._enqueue(shop, "order", "updated", order["id"])
        return self._render_order(shop, order)

    def _set_status(self, shop: WooShop, order: dict[str, Any], status: str) -> None:
        """A status change with WooCommerce's side effects: stock reduced on the way to a
        paid status and restored on cancellation, the completion date, a system note."""
        old = order["status"]
        order["status"] = status
        now = self.clock()
        if status in STOCK_REDUCING and not order["_stock_reduced"]:
            self._reduce_stock(shop, order)
        if status in ("cancelled", "refunded", "failed") and order["_stock_reduced"]:
            for line in order["line_items"]:
                product = shop.products.get(line["variation_id"] or line["product_id"])
                if product is not None and product["manage_stock"]:
                    product["stock_quantity"] += line["quantity"]
                    self._changed(shop, "product", product)
            order["_stock_reduced"] = False
        if status == "completed":
            order["_completed"] = now
        if old != "checkout-draft":
            self._add_note(shop, order["id"], f"Order status changed from {_label(old)} to "
                                              f"{_label(status)}.", customer_note=False)

    def _reduce_stock(self, shop: WooShop, order: dict[str, Any]) -> None:
        for line in order["line_items"]:
            product = shop.products.get(line["variation_id"] or line["product_id"])
            if product is None:
                continue
            product["total_sales"] += line["quantity"]
            if product["manage_stock"]:
                product["stock_quantity"] -= line["quantity"]
                line["meta_data"].append({"id": shop.meta_id(), "key": "_reduced_stock",
                                          "value": str(line["quantity"]),
                                          "display_key": "_reduced_stock",
                                          "display_value": str(line["quantity"])})
                self._changed(shop, "product", product)
        order["_stock_reduced"] = True

    def _place(self, shop: WooShop, lines: list[Mapping[str, Any]], *, status: str,
               paid: bool, billing: Mapping[str, Any] | None,
               shipping: Mapping[str, Any] | None, customer_note: str, created_via: str,
               pickup: bool = False) -> dict[str, Any]:
        """Create an order; the caller holds the lock. ValueError for an unknown, unpublished
        or out-of-stock product. Line totals are kept to 6 decimals as WooCommerce stores
        them; the REST answer rounds them to 2 and ``price`` is total / quantity unrounded."""
        rate = shop.tax_rate / 100
        items, cart_tax, subtotal = [], Decimal("0"), Decimal("0")
        for line in lines:
            quantity = int(line.get("quantity") or 1)
            product = shop.by_sku(str(line["sku"])) if line.get("sku") else \
                shop.products.get(int(line.get("product_id") or 0))
            if product is None or quantity <= 0:
                raise ValueError(f"no such product {line.get('product_id') or line.get('sku')}")
            parent = shop.products.get(product["parent_id"]) if product["parent_id"] else None
            if product["type"] == "variable":
                raise ValueError(f"{product['name']}: choose a variation")
            if (parent or product)["status"] != "publish":
                raise ValueError(f"{product['name']} cannot be purchased")
            if product["manage_stock"] and (product["stock_quantity"] or 0) < quantity \
                    and status in STOCK_REDUCING:
                raise ValueError(f"not enough stock of {product['sku'] or product['name']}")
            unit = _decimal(product["sale_price"] or product["regular_price"]) or Decimal("0")
            gross = unit * quantity
            if shop.prices_include_tax:
                net = (gross / (1 + rate)).quantize(Decimal("0.000001"), ROUND_HALF_UP)
                tax = gross - net
            else:
                net, tax = gross, (gross * rate).quantize(Decimal("0.000001"), ROUND_HALF_UP)
            line_tax = tax.quantize(CENT, ROUND_HALF_UP)
            cart_tax += line_tax
            subtotal += net.quantize(CENT, ROUND_HALF_UP)
            meta = [] if parent is None else [_attribute_meta(shop, a, shop.meta_id())
                                              for a in product["attributes"]]
            name = product["name"] if parent is None else (
                f"{parent['name']} - " + ", ".join(a["option"] for a in product["attributes"]))
            items.append({
                "id": shop.item_id(), "name": name,
                "product_id": parent["id"] if parent else product["id"],
                "variation_id": product["id"] if parent else 0, "quantity": quantity,
                "tax_class": "", "subtotal": _money(net), "subtotal_tax": _money(line_tax),
                "total": _money(net), "total_tax": _money(line_tax),
                "taxes": [{"id": 1, "total": _money(line_tax), "subtotal": _money(line_tax)}],
                "meta_data": meta, "sku": product["sku"],
                "global_unique_id": product["global_unique_id"],
                "price": float(net / quantity), "image": {"id": "", "src": ""},
                "parent_name": parent["name"] if parent else None})
        if pickup:
            ship_net, ship_tax, method = Decimal("0"), Decimal("0"), ("local_pickup", "Nouto")
        else:
            ship_gross = Decimal("6.00")
            ship_net = (ship_gross / (1 + rate)).quantize(CENT, ROUND_HALF_UP)
            ship_tax = ship_gross - ship_net
            method = ("flat_rate", "Posti Pakettiautomaatti")
        now = self.clock()
        order_id = shop.next_id()
        billing = {**DEFAULT_BILLING, **{k: str(v) for k, v in (billing or {}).items()}}
        shipping = {**DEFAULT_SHIPPING, **{k: str(v) for k, v in (shipping or {}).items()}}
        order: dict[str, Any] = {
            "id": order_id, "parent_id": 0, "status": status, "currency": shop.currency,
            "version": WC_VERSION, "prices_include_tax": shop.prices_include_tax,
            "discount_total": "0.00", "discount_tax": "0.00",
            "shipping_total": _money(ship_net), "shipping_tax": _money(ship_tax),
            "cart_tax": _money(cart_tax), "total": _money(subtotal + cart_tax + ship_net +
                                                          ship_tax),
            "total_tax": _money(cart_tax + ship_tax), "customer_id": 0,
            "order_key": "wc_order_" + secrets.token_urlsafe(9)[:13], "billing": billing,
            "shipping": shipping, "payment_method": "bacs",
            "payment_method_title": "Pankkisiirto", "transaction_id": "",
            "customer_ip_address": "", "customer_user_agent": "", "created_via": created_via,
            "customer_note": customer_note, "cart_hash": "", "number": str(order_id),
            "meta_data": [], "line_items": items,
            "tax_lines": [{"id": shop.item_id(), "rate_code": "FI-ALV-1", "rate_id": 1,
                           "label": "ALV", "compound": False, "tax_total": _money(cart_tax),
                           "shipping_tax_total": _money(ship_tax),
                           "rate_percent": float(shop.tax_rate), "meta_data": []}],
            "shipping_lines": [{"id": shop.item_id(), "method_title": method[1],
                                "method_id": method[0], "instance_id": "",
                                "total": _money(ship_net), "total_tax": _money(ship_tax),
                                "taxes": [{"id": 1, "total": _money(ship_tax),
                                           "subtotal": ""}],
                                "tax_status": "taxable", "meta_data": []}],
            "fee_lines": [], "coupon_lines": [], "refunds": [],
            "_created": now, "_modified": now, "_paid": now if paid else None,
            "_completed": None, "_stock_reduced": False}
        shop.orders[order_id] = order
        shop.notes[order_id] = []
        if status in STOCK_REDUCING:
            self._reduce_stock(shop, order)
        return order

    def _render_order(self, shop: WooShop, order: Mapping[str, Any]) -> dict[str, Any]:
        rendered = {k: copy.deepcopy(v) for k, v in order.items() if not k.startswith("_")}
        created, modified = _stamp(order["_created"]), _stamp(order["_modified"])
        rendered.update(
            date_created=created, date_modified=modified,
            date_completed=_stamp(order["_completed"]), date_paid=_stamp(order["_paid"]),
            payment_url=f"{shop.site_url}/checkout/order-pay/{order['id']}/?pay_for_order="
                        f"true&key={order['order_key']}",
            is_editable=order["status"] in ("pending", "on-hold", "checkout-draft"),
            needs_payment=order["_paid"] is None and order["status"] == "pending",
            needs_processing=True, date_created_gmt=created, date_modified_gmt=modified,
            date_completed_gmt=_stamp(order["_completed"]),
            date_paid_gmt=_stamp(order["_paid"]), currency_symbol="€",
            _links={"self": [{"href": f"{shop.site_url}/wp-json/wc/v3/orders/{order['id']}"}],
                    "collection": [{"href": f"{shop.site_url}/wp-json/wc/v3/orders"}]})
        return rendered

    # --- order notes ----------------------------------------------------------------------

    def _list_notes(self, shop: WooShop, order_id: int, **_: Any) -> Any:
        self._order(shop, order_id)
        return [copy.deepcopy(n) for n in reversed(shop.notes[order_id])]

    def _create_note(self, shop: WooShop, order_id: int, *, body: Mapping[str, Any],
                     **_: Any) -> Any:
        self._order(shop, order_id)
        if not body.get("note"):
            raise RestError(400, "woocommerce_rest_shop_order_invalid_note",
                            "Cannot create order note, please try again.")
        note = self._add_note(shop, order_id, str(body["note"]),
                              customer_note=_truthy(body.get("customer_note")))
        return 201, copy.deepcopy(note), {}

    def _add_note(self, shop: WooShop, order_id: int, text: str, *,
                  customer_note: bool) -> dict[str, Any]:
        """A note; a customer note is e-mailed (kept in ``shop.emails``). Notes do not change
        the order's modification date."""
        stamp = _stamp(self.clock())
        note = {"id": shop.comment_id(), "author": "WooCommerce", "date_created": stamp,
                "date_created_gmt": stamp, "note": text, "customer_note": customer_note,
                "_links": {"self": [{"href": f"{shop.site_url}/wp-json/wc/v3/orders/"
                                             f"{order_id}/notes"}]}}
        shop.notes[order_id].append(note)
        if customer_note:
            shop.emails.append({"order_id": order_id, "note": text})
        return note

    # --- webhooks -------------------------------------------------------------------------

    def _list_webhooks(self, shop: WooShop, *, args: Mapping[str, str], **_: Any) -> Any:
        items = sorted(shop.webhooks.values(), key=lambda w: w["id"], reverse=True)
        if args.get("status") and args["status"] != "all":
            items = [w for w in items if w["status"] == args["status"]]
        return self._paged(shop, [_render_webhook(shop, w) for w in items], args)

    def _create_webhook(self, shop: WooShop, *, body: Mapping[str, Any],
                        pings: list[dict[str, Any]], **_: Any) -> Any:
        topic = str(body.get("topic") or "")
        resource, _, event = topic.partition(".")
        if not (resource in RESOURCES and event in EVENTS) and resource != "action":
            raise RestError(400, "rest_invalid_param", "Invalid parameter(s): topic",
                            params={"topic": "Webhook topic unknown. Please select a valid "
                                             "topic."})
        url = str(body.get("delivery_url") or "")
        if urlsplit(url).scheme not in ("http", "https"):
            raise RestError(400, "rest_invalid_param", "Invalid parameter(s): delivery_url")
        status = str(body.get("status") or "active")
        if status not in ("active", "paused", "disabled"):
            raise RestError(400, "rest_invalid_param", "Invalid parameter(s): status")
        now = self.clock()
        webhook = {"id": max(shop.webhooks, default=0) + 1,
                   "name": str(body.get("name") or f"Webhook created on {now:%c}"),
                   "status": status, "topic": topic, "resource": resource, "event": event,
                   "delivery_url": url, "secret": str(body.get("secret") or
                                                      secrets.token_hex(16)),
                   "failure_count": 0, "pending_delivery": True, "created": now,
                   "modified": None}
        shop.webhooks[webhook["id"]] = webhook
        if status == "active":
            pings.append(webhook)
        return 201, _render_webhook(shop, webhook), {}

    def _get_webhook(self, shop: WooShop, webhook_id: int, **_: Any) -> Any:
        return _render_webhook(shop, self._webhook(shop, webhook_id))

    def _webhook(self, shop: WooShop, webhook_id: int) -> dict[str, Any]:
        webhook = shop.webhooks.get(webhook_id)
        if webhook is None:
            raise RestError(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
        return webhook

    def _update_webhook(self, shop: WooShop, webhook_id: int, *, body: Mapping[str, Any],
                        pings: list[dict[str, Any]], **_: Any) -> Any:
        """Re-activating resets the failure count (⚠ not read in WooCommerce's code; without
        it the next failure would disable the webhook again at once); an active webhook whose
        ping never got a 200 is pinged again on save, as WooCommerce does."""
        webhook = self._webhook(shop, webhook_id)
        status = body.get("status")
        if status is not None and status not in ("active", "paused", "disabled"):
            raise RestError(400, "rest_invalid_param", "Invalid parameter(s): status")
        for name in ("name", "delivery_url", "secret"):
            if body.get(name):
                webhook[name] = str(body[name])
        if status is not None:
            if status == "active" and webhook["status"] != "active":
                webhook["failure_count"] = 0
            webhook["status"] = status
        webhook["modified"] = self.clock()
        if webhook["status"] == "active" and webhook["pending_delivery"]:
            pings.append(webhook)
        return _render_webhook(shop, webhook)

    def _delete_webhook(self, shop: WooShop, webhook_id: int, *, args: Mapping[str, str],
                        **_: Any) -> Any:
        webhook = self._webhook(shop, webhook_id)
        if not _truthy(args.get("force")):
            raise RestError(501, "woocommerce_rest_trash_not_supported",
                            "Webhooks do not support trashing.")
        rendered = _render_webhook(shop, webhook)
        del shop.webhooks[webhook_id]
        for key in [k for k in shop.queue if k[0] == webhook_id]:
            del shop.queue[key]
        return rendered

    def _ping(self, shop: WooShop, webhook: dict[str, Any]) -> None:
        """The synchronous ping of ``deliver_ping()``: unsigned, form-encoded, its answer
        ignored by the REST call; only an exact 200 clears ``pending_delivery``."""
        status: int | None = None
        try:
            answer = requests.post(webhook["delivery_url"], data=f"webhook_id={webhook['id']}",
                                   timeout=self.ping_timeout, allow_redirects=False, headers={
                                       "Content-Type": "application/x-www-form-urlencoded",
                                       "User-Agent": USER_AGENT})
            status = answer.status_code
        except requests.RequestException:
            pass
        with self.lock:
            shop.pings.append({"webhook_id": webhook["id"], "status": status})
            if status == 200:
                webhook["pending_delivery"] = False

    # --- the delivery queue ---------------------------------------------------------------

    def _changed(self, shop: WooShop, resource: str, obj: Mapping[str, Any]) -> None:
        self._enqueue(shop, resource, "updated", obj["id"])

    def _enqueue(self, shop: WooShop, resource: str, event: str, resource_id: int,
                 snapshot: Mapping[str, Any] | None = None) -> None:
        """Queue one delivery per active webhook of the topic, unless one for the same
        webhook and resource is still pending (the burst then coalesces into it)."""
        for webhook in shop.webhooks.values():
            if webhook["status"] != "active" or webhook["topic"] != f"{resource}.{event}":
                continue
            key = (webhook["id"], resource_id)
            if key not in shop.queue:
                shop.queue[key] = {"snapshot": dict(snapshot) if snapshot else None}

    def pending(self, name: str) -> int:
        """Deliveries waiting for the shop's queue to run."""
        with self.lock:
            return len(self.shops[name].queue)

    def run_queue(self, name: str | None = None) -> list[Delivery]:
        """Run the shop's queue once (every shop's without ``name``), as WP-Cron does when
        a request wakes it: every pending delivery is built now, signed, sent once; failures
        count towards disabling the webhook and are not retried."""
        sent: list[Delivery] = []
        for shop in ([self.shops[name]] if name else list(self.shops.values())):
            with self.lock:
                jobs, shop.queue = list(shop.queue.items()), {}
            for (webhook_id, resource_id), job in jobs:
                delivery = self._deliver(shop, webhook_id, resource_id, job["snapshot"])
                if delivery is not None:
                    sent.append(delivery)
        return sent

    def _deliver(self, shop: WooShop, webhook_id: int, resource_id: int,
                 snapshot: Mapping[str, Any] | None) -> Delivery | None:
        with self.lock:
            webhook = shop.webhooks.get(webhook_id)
            if webhook is None or webhook["status"] != "active":
                return None
            if snapshot is not None:
                payload: Any = snapshot
            elif webhook["resource"] == "order" and resource_id in shop.orders:
                payload = self._render_order(shop, shop.orders[resource_id])
            elif webhook["resource"] == "product" and resource_id in shop.products:
                payload = self._render_product(shop, shop.products[resource_id])
            else:  # the resource went away before the queue ran
                return None
            body = wp_json(payload)
            signature = base64.b64encode(hmac.new(webhook["secret"].encode(), body,
                                                  hashlib.sha256).digest()).decode()
            delivery_id = hashlib.md5(f"{webhook_id}{int(time.time())}".encode(),
                                      usedforsecurity=False).hexdigest()
            headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json",
                       "X-WC-Webhook-Source": shop.site_url + "/",
                       "X-WC-Webhook-Topic": webhook["topic"],
                       "X-WC-Webhook-Resource": webhook["resource"],
                       "X-WC-Webhook-Event": webhook["event"],
                       "X-WC-Webhook-Signature": signature,
                       "X-WC-Webhook-ID": str(webhook_id),
                       "X-WC-Webhook-Delivery-ID": delivery_id}
            url, topic = webhook["delivery_url"], webhook["topic"]
        delivery = self.deliverer.send(topic, url, body, headers)
        if delivery.dropped:  # lost on the way: WooCommerce believes it was delivered
            return delivery
        with self.lock:
            if delivery.status is not None and 200 <= delivery.status <= 302:
                webhook["failure_count"] = 0
                webhook["pending_delivery"] = False
            elif webhook["failure_count"] > self.max_failures:  # checked before counting:
                webhook["status"] = "disabled"  # the 7th consecutive failure disables
            else:
                webhook["failure_count"] += 1
        return delivery

    def _wp_cron(self, name: str) -> Response:
        """A request to ``wp-cron.php``: the queue runs in the background (WordPress spawns
        it with a non-blocking loopback request), the caller is answered at once."""
        if name not in self.shops:
            return Response("Not Found", 404)
        threading.Thread(target=self.run_queue, args=(name,), daemon=True).start()
        return Response("", 200)

    def start_cron(self, interval: float = 1.0) -> None:
        """Run every shop's queue every ``interval`` seconds in a thread (a busy site)."""
        self._cron_stop.clear()

        def loop() -> None:
            while not self._cron_stop.wait(interval):
                self.run_queue()

        self._cron = threading.Thread(target=loop, daemon=True)
        self._cron.start()

    def stop_cron(self) -> None:
        if self._cron is not None:
            self._cron_stop.set()
            self._cron.join(timeout=10)
            self._cron = None

    # --- merchant and storefront ----------------------------------------------------------

    def add_product(self, name: str, title: str, price: str, *, stock: int | None = None,
                    sku: str = "", virtual: bool = False) -> dict[str, Any]:
        """A merchant's own simple product, made in the WordPress admin (``virtual``: nothing
        to ship, such as gift wrapping); the REST shape."""
        shop = self.shops[name]
        body: dict[str, Any] = {"name": title, "type": "simple", "regular_price": price,
                                "sku": sku, "virtual": virtual}
        if stock is not None:
            body.update(manage_stock=True, stock_quantity=stock)
        with self.lock:
            return self._render_product(shop, self._new_product(shop, body))

    def create_products(self, name: str, bodies: Iterable[Mapping[str, Any]], *,
                        parent_id: int | None = None) -> list[int]:
        """Products (or, with ``parent_id``, its variations) created in-process, as ``POST
        products`` would with the same bodies but without HTTP, faults or call counting: for
        benches that need a big catalog in place before they measure. RestError as the API
        would answer it."""
        shop = self.shops[name]
        with self.lock:
            parent = self._parent(shop, parent_id) if parent_id else None
            return [self._new_product(shop, body, parent=parent)["id"] for body in bodies]

    def start_checkout(self, name: str, lines: list[Mapping[str, Any]], *,
                       billing: Mapping[str, Any] | None = None,
                       shipping: Mapping[str, Any] | None = None, customer_note: str = "",
                       pickup: bool = False) -> dict[str, Any]:
        """The block checkout's draft: a ``checkout-draft`` order, which leaks into
        ``order.updated`` (woocommerce#66995). ``lines``: ``{"product_id"}`` (a simple
        product's or a variation's id) or ``{"sku"}``, with ``quantity``."""
        shop = self.shops[name]
        with self.lock:
            order = self._place(shop, lines, status="checkout-draft", paid=False,
                                billing=billing, shipping=shipping,
                                customer_note=customer_note, created_via="store-api",
                                pickup=pickup)
            self._enqueue(shop, "order", "updated", order["id"])
            return self._render_order(shop, order)

    def place_order(self, name: str, order_id: int, *, paid: bool = True) -> dict[str, Any]:
        """The customer pays: the draft becomes ``processing`` (``pending`` unpaid), stock
        is reduced, ``order.created`` and ``order.updated`` are queued. ValueError when the
        stock no longer covers it."""
        shop = self.shops[name]
        with self.lock:
            order = shop.orders[order_id]
            status = "processing" if paid else "pending"
            for line in order["line_items"]:
                product = shop.products.get(line["variation_id"] or line["product_id"])
                if paid and product is not None and product["manage_stock"] and \
                        (product["stock_quantity"] or 0) < line["quantity"]:
                    raise ValueError(f"not enough stock of {product['sku']}")
            now = self.clock()
            order.update(_created=now, _modified=now, _paid=now if paid else None,
                         created_via="checkout")
            self._set_status(shop, order, status)
            self._enqueue(shop, "order", "created", order_id)
            self._enqueue(shop, "order", "updated", order_id)
            return self._render_order(shop, order)

    def checkout(self, name: str, lines: list[Mapping[str, Any]], *, paid: bool = True,
                 billing: Mapping[str, Any] | None = None,
                 shipping: Mapping[str, Any] | None = None, customer_note: str = "",
                 pickup: bool = False) -> dict[str, Any]:
        """A whole storefront purchase: draft, then placed; the order's REST shape."""
        draft = self.start_checkout(name, lines, billing=billing, shipping=shipping,
                                    customer_note=customer_note, pickup=pickup)
        return self.place_order(name, draft["id"], paid=paid)

    def set_order_status(self, name: str, order_id: int, status: str) -> dict[str, Any]:
        """The merchant changes an order's status in the admin (cancel, refund…)."""
        shop = self.shops[name]
        with self.lock:
            order = shop.orders[order_id]
            self._set_status(shop, order, status)
            order["_modified"] = self.clock()
            self._enqueue(shop, "order", "updated", order_id)
            return self._render_order(shop, order)

    def trash_order(self, name: str, order_id: int) -> None:
        """The merchant moves an order to the trash: ``order.deleted`` carries only its id."""
        shop = self.shops[name]
        with self.lock:
            order = shop.orders[order_id]
            order["status"], order["_modified"] = "trash", self.clock()
            self._enqueue(shop, "order", "deleted", order_id, {"id": order_id})

    def order(self, name: str, order_id: int) -> dict[str, Any]:
        """An order's REST shape, as ``GET orders/<id>`` answers it."""
        shop = self.shops[name]
        with self.lock:
            return self._render_order(shop, shop.orders[order_id])

    def _storefront(self, name: str) -> Response:
        if name not in self.shops:
            return Response("Not Found", 404)
        body = request.get_json(silent=True) or {}
        try:
            order = self.checkout(name, list(body.get("lines") or []),
                                  paid=bool(body.get("paid", True)),
                                  billing=body.get("billing"), shipping=body.get("shipping"))
        except ValueError as exc:
            return Response(wp_json({"code": "woocommerce_rest_invalid_order",
                                     "message": str(exc)}), 400,
                            content_type="application/json; charset=UTF-8")
        return Response(wp_json(order), 201, content_type="application/json; charset=UTF-8")

    # --- paging ---------------------------------------------------------------------------

    def _paged(self, shop: WooShop, items: list[Any], args: Mapping[str, str]) -> Any:
        """One page with ``X-WP-Total``, ``X-WP-TotalPages`` and ``Link`` (which repeats the
        request's query, stale OAuth values included, as WordPress does)."""
        try:
            per_page = int(args.get("per_page") or 10)
            page = int(args.get("page") or 1)
        except ValueError as exc:
            raise RestError(400, "rest_invalid_param", "Invalid parameter(s): per_page, "
                                                       "page") from exc
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise RestError(400, "rest_invalid_param", "Invalid parameter(s): per_page",
                            params={"per_page": "per_page must be between 1 (inclusive) and "
                                                "100 (inclusive)"})
        if page < 1:
            raise RestError(400, "rest_invalid_param", "Invalid parameter(s): page")
        total = len(items)
        pages = -(-total // per_page)
        chosen = items[(page - 1) * per_page: page * per_page]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages),
                   "Access-Control-Expose-Headers": "X-WP-Total, X-WP-TotalPages, Link"}
        links = []
        base = shop.site_url + request.path.split(f"/shops/{shop.name}", 1)[1]
        query = {k: request.args.getlist(k)[-1] for k in request.args}
        if page > 1:
            links.append(f'<{base}?{urlencode({**query, "page": min(page - 1, pages)})}>; '
                         f'rel="prev"')
        if page < pages:
            links.append(f'<{base}?{urlencode({**query, "page": page + 1})}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        return 200, chosen, headers


_PRODUCT_DEFAULTS: dict[str, Any] = {
    "date_on_sale_from": None, "date_on_sale_from_gmt": None, "date_on_sale_to": None,
    "date_on_sale_to_gmt": None, "downloads": [], "download_limit": -1, "download_expiry": -1,
    "shipping_class": "", "shipping_class_id": 0}
DEFAULT_BILLING = {"first_name": "Äijö", "last_name": "Mäkelä", "company": "",
                   "address_1": "Hämeenkatu 12 A 3", "address_2": "", "city": "Tampere",
                   "state": "", "postcode": "33100", "country": "FI",
                   "email": "aijo.makela@example.test", "phone": "+358 40 123 4567"}
DEFAULT_SHIPPING = {"first_name": "Äijö", "last_name": "Mäkelä", "company": "",
                    "address_1": "Hämeenkatu 12 A 3", "address_2": "", "city": "Tampere",
                    "state": "", "postcode": "33100", "country": "FI", "phone": ""}


def _label(status: str) -> str:
    return {"on-hold": "On hold", "checkout-draft": "Draft"}.get(status, status.capitalize())


def _in_stock(product: Mapping[str, Any]) -> bool:
    return not product["manage_stock"] or (product["stock_quantity"] or 0) > 0


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes")


def _id_of(item: Mapping[str, Any], code: str = "woocommerce_rest_product_invalid_id") -> int:
    try:
        return int(item.get("id") or 0)
    except (TypeError, ValueError) as exc:
        raise RestError(400, code, "Invalid ID.") from exc


def _unique_sku(shop: WooShop, sku: str) -> str:
    number = 1
    while shop.by_sku(f"{sku}-{number}"):
        number += 1
    return f"{sku}-{number}"


def _unique_slug(shop: WooShop, slug: str) -> str:
    candidate, number = slug or "product", 2
    while candidate in shop.slugs:
        candidate, number = f"{slug}-{number}", number + 1
    return candidate


def _term_slug(shop: WooShop, attribute: Mapping[str, Any]) -> str:
    """A variation attribute's stored value: the term slug of a global attribute, the raw
    text of a local one."""
    if not attribute["id"]:
        return str(attribute["option"])
    terms = shop.attributes[attribute["id"]]["terms"]
    return terms.get(attribute["option"], sanitize_title(attribute["option"]))


def _attribute_meta(shop: WooShop, attribute: Mapping[str, Any], meta_id: int) -> dict[str, Any]:
    """An order line's meta entry for one variation attribute: key ``pa_koko`` with the
    term slug (``m``) for a global attribute, the sanitized name with the raw value for a
    local one; ``display_*`` carry the names people see."""
    return {"id": meta_id, "key": attribute["slug"], "value": _term_slug(shop, attribute),
            "display_key": attribute["name"], "display_value": attribute["option"]}


def _render_attribute(shop: WooShop, attribute: Mapping[str, Any]) -> dict[str, Any]:
    base = f"{shop.site_url}/wp-json/wc/v3/products/attributes"
    return {**{k: v for k, v in attribute.items() if k != "terms"},
            "_links": {"self": [{"href": f"{base}/{attribute['id']}"}],
                       "collection": [{"href": base}]}}


def _render_webhook(shop: WooShop, webhook: Mapping[str, Any]) -> dict[str, Any]:
    hooks = {"order.created": ["woocommerce_new_order"],
             "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded"],
             "order.deleted": ["wp_trash_post"]}.get(webhook["topic"], [])
    base = f"{shop.site_url}/wp-json/wc/v3/webhooks"
    return {"id": webhook["id"], "name": webhook["name"], "status": webhook["status"],
            "topic": webhook["topic"], "resource": webhook["resource"],
            "event": webhook["event"], "hooks": hooks, "delivery_url": webhook["delivery_url"],
            "date_created": _stamp(webhook["created"]),
            "date_created_gmt": _stamp(webhook["created"]),
            "date_modified": _stamp(webhook["modified"]),
            "date_modified_gmt": _stamp(webhook["modified"]),
            "_links": {"self": [{"href": f"{base}/{webhook['id']}"}],
                       "collection": [{"href": base}]}}


def _apply_meta(shop: WooShop, meta: list[dict[str, Any]], entries: Any) -> None:
    """WooCommerce's ``meta_data`` write: an entry with ``id`` updates that meta, one with
    only ``key`` replaces the first meta of that key or adds it."""
    for entry in entries or []:
        if not isinstance(entry, Mapping) or not entry.get("key"):
            continue
        value = copy.deepcopy(entry.get("value"))
        target = None
        if entry.get("id"):
            target = next((m for m in meta if m["id"] == int(entry["id"])), None)
        if target is None:
            target = next((m for m in meta if m["key"] == entry["key"]), None)
        if target is None:
            meta.append({"id": shop.meta_id(), "key": str(entry["key"]), "value": value})
        else:
            target["key"], target["value"] = str(entry["key"]), value


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RestError(400, "rest_invalid_param", "Invalid parameter(s): date") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _add_query(url: str, **params: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _unauthenticated(method: str, list_call: bool) -> RestError:
    """What an unauthenticated call gets: WooCommerce's permission error for the method."""
    code, message = {
        "GET": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."
                if list_call else "Sorry, you cannot view this resource."),
        "POST": ("woocommerce_rest_cannot_create",
                 "Sorry, you are not allowed to create resources."),
        "DELETE": ("woocommerce_rest_cannot_delete",
                   "Sorry, you are not allowed to delete this resource."),
    }.get(method, ("woocommerce_rest_cannot_edit",
                   "Sorry, you are not allowed to edit this resource."))
    return RestError(401, code, message)


def _rest_answer(error: RestError) -> Response:
    return Response(wp_json(error.body()), error.status,
                    content_type="application/json; charset=UTF-8")


def _access_denied(message: str) -> Response:
    text = html.escape(f"Error: {message}.")
    return Response(f"<!DOCTYPE html><html><head><title>Access denied</title></head><body>"
                    f"<p>{text}</p></body></html>", 401, content_type="text/html; charset=UTF-8")


__all__ = ["MAX_BATCH", "RestError", "TLSLoopbackServer", "WooCommerceSandbox", "WooShop",
           "oauth_signature", "sanitize_title", "wp_json"]
