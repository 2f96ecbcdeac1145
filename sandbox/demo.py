"""Demo shops for the embedded default: the README's first command ends with shops connected.

``glue demo`` records one connection per sandbox platform for the demo retailer (Verkkokauppa
Helmi), marked ``settings.platform["sandbox"]``. ``glue serve`` then starts those sandboxes in
its own process (:func:`start_demo_shops`), points the connections at them and lets the sync
engine publish. Sandbox shops live in memory, so every start begins with an empty shop: the
connection's references to shop objects are cleared, Glue publishes again, and orders imported
before stay in Glue.

A storefront page per demo shop (``/demo-shops/<key>``, for the retailer that owns the
connection) places an order in the sandbox the way a customer's checkout does; the shop's
webhook then brings it to Glue and its suppliers.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template_string,
    request,
    url_for,
)
from sqlalchemy.orm import Session

from connectors import sync
from connectors.base import ConnectionSettings
from connectors.models import ExternalReference
from core.crypto import encrypt
from core.db import Database, utcnow
from core.models import Catalog, Organization, ShopConnection

log = logging.getLogger(__name__)

DEMO_RETAILER = "4567890-7"  # Verkkokauppa Helmi Oy in glue.demo
SHOPIFY_SHOP = "helmi-demo.myshopify.com"
# the sandboxes' addresses are set when they start (a free port each time)
WOOCOMMERCE_SHOP = "http://127.0.0.1/shops/helmi"
MAGENTO_SHOP = "http://127.0.0.1/"
PRICING = {"basis": "markup", "markup": "1.8", "fixed": "0", "ending": "0.90"}


# --- glue demo: the connections ----------------------------------------------------------------

def seed(session: Session) -> list[str]:
    """The demo retailer's sandbox connections (idempotent); returns their keys."""
    retailer = session.scalar(sa.select(Organization).where(
        Organization.business_id == DEMO_RETAILER))
    if retailer is None:
        return []
    from core.access import active_catalog_ids

    catalogs = sorted(session.scalars(sa.select(Catalog.external_id).where(
        Catalog.id.in_(active_catalog_ids(session, retailer.id) or {-1}))))
    keys = []
    for platform, shop in (("shopify", SHOPIFY_SHOP), ("woocommerce", WOOCOMMERCE_SHOP),
                           ("magento", MAGENTO_SHOP)):
        key = f"demo-{platform}"
        connection = session.scalar(sa.select(ShopConnection).where(ShopConnection.key == key))
        if connection is None:
            settings = ConnectionSettings.from_json({
                "catalogs": catalogs, "pricing": PRICING, "language": "fi",
                "order_forwarding": {"trigger": "paid"}, "platform": {"sandbox": True}})
            session.add(ShopConnection(key=key, platform=platform, shop=shop,
                                       retailer_id=retailer.id, status="active",
                                       settings=settings.to_json()))
        keys.append(key)
    session.flush()
    return keys


# --- glue serve: the running sandboxes ---------------------------------------------------------

@dataclass
class DemoShop:
    """One running sandbox shop and how to buy from it."""

    key: str
    connection_id: int
    platform: str
    shop: str
    products: Callable[[], list[dict[str, Any]]]
    checkout: Callable[[list[dict[str, Any]]], str]
    first_jobs: tuple[str, ...] = (sync.SYNC, sync.POLL)


@dataclass
class DemoShops:
    shops: dict[str, DemoShop] = field(default_factory=dict)
    stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        for stop in reversed(self.stops):
            stop()

    def kick(self) -> None:
        """Publish to the fresh shops now rather than at the watchdog's next minute."""
        from glue.worker import enqueue

        for shop in self.shops.values():
            for job in shop.first_jobs:
                try:
                    enqueue(job, shop.connection_id)
                except Exception:  # noqa: BLE001 - the watchdog does it within a minute
                    log.warning("could not enqueue %s for the demo shop %s", job, shop.key)


def start_demo_shops(database: Database, public_url: str) -> DemoShops | None:
    """Start a sandbox for every demo connection and point the connection at it; None when
    the instance has no demo connections (``glue demo`` was not run)."""
    with database.sessions() as session:
        demo = [(c.id, c.key, c.platform, c.shop) for c in session.scalars(
            sa.select(ShopConnection).where(ShopConnection.key.like("demo-%")))
            if ConnectionSettings.from_json(c.settings).platform.get("sandbox")]
    if not demo:
        return None
    running = DemoShops()
    for connection_id, key, platform, shop in demo:
        starter = _STARTERS.get(platform)
        if starter is None:
            continue
        try:
            running.shops[key] = starter(database, running, connection_id, key, shop,
                                         public_url.rstrip("/"))
        except Exception:  # noqa: BLE001 - a demo shop that fails to start must not stop Glue
            log.exception("demo shop did not start platform=%s", platform)
    return running


def _fresh_shop(database: Database, connection_id: int, credentials: dict[str, Any],
                platform: dict[str, Any], *, shop: str | None = None) -> None:
    """Point the connection at a new, empty sandbox shop: new credentials and platform
    settings (and its address, where that changes with the port), no references to objects
    of the previous run's shop, orders polled from now."""
    with database.transaction() as session:
        connection = session.get(ShopConnection, connection_id)
        if shop is not None:
            connection.shop = shop
        settings = ConnectionSettings.from_json(connection.settings)
        connection.credentials = encrypt(json.dumps(credentials))
        connection.settings = settings.model_copy(update={"platform": platform}).to_json()
        connection.status = "active"
        session.execute(sa.delete(ExternalReference).where(
            ExternalReference.connection_id == connection_id,
            ExternalReference.kind.in_(("listing", "variant", "fulfilment"))))
        row = sync.state(session, connection_id)
        row.orders_since, row.next_poll_at, row.refused = utcnow(), None, {}
        row.sync_leased_until = row.poll_leased_until = None
        row.dirty_since = utcnow() - timedelta(minutes=5)  # the watchdog syncs at once


def _start_shopify(database: Database, running: DemoShops, connection_id: int, key: str,
                   shop: str, public_url: str) -> DemoShop:
    from connectors.shopify.client import ShopifyClient
    from connectors.shopify.config import AppConfig
    from connectors.shopify.install import set_up_shop
    from sandbox.shopify import SCOPES, SandboxApp, ShopifySandbox

    secret = os.environ.get("GLUE_SHOPIFY_API_SECRET") or ""
    config = AppConfig(api_key=os.environ.get("GLUE_SHOPIFY_API_KEY") or "glue-demo",
                       api_secret=secret, public_url=public_url)
    sandbox = ShopifySandbox(SandboxApp(api_key=config.api_key, api_secret=secret,
                                        redirect_urls=(config.redirect_uri,),
                                        compliance_url=config.webhook_uri)).start()
    running.stops.append(sandbox.stop)
    state = sandbox.add_shop(shop)
    token = f"shpat_demo_{secrets.token_hex(12)}"
    with sandbox.lock:
        state.tokens[token] = None  # an offline token that does not expire
        state.scopes, state.installed = SCOPES, True
    sandbox.add_merchant_product(shop, title="Lahjakortti 25 €", sku="HELMI-LAHJA",
                                 price="25.00", quantity=100)
    base_url = sandbox.base_url(shop)
    platform = set_up_shop(ShopifyClient(shop, token, base_url=base_url),
                           {"sandbox": True, "base_url": base_url}, config)
    _fresh_shop(database, connection_id, {"access_token": token}, platform)

    def products() -> list[dict[str, Any]]:
        with sandbox.lock:
            found = []
            for product in state.products.values():
                for variant_id in product["variant_ids"]:
                    variant = state.variants[variant_id]
                    stock = sum(q for (item, _), q in state.inventory.items()
                                if item == variant["inventory_item_id"])
                    name = " / ".join(v for _, v in variant["options"]) if variant[
                        "options"] else ""
                    found.append({"id": str(variant_id), "title": product["title"],
                                  "variant": name, "sku": variant["sku"],
                                  "price": Decimal(variant["price"]), "stock": stock,
                                  "glue": product.get("owner") != "merchant"})
            return sorted(found, key=lambda p: (not p["glue"], p["title"], p["variant"]))

    def checkout(lines: list[dict[str, Any]]) -> str:
        order = sandbox.checkout(shop, [{"variant_id": int(line["id"]),
                                         "quantity": line["quantity"]} for line in lines],
                                 shipping_address={
                                     "first_name": "Maija", "last_name": "Meikäläinen",
                                     "address1": "Mannerheimintie 1", "zip": "00100",
                                     "city": "Helsinki", "country_code": "FI",
                                     "phone": "+358401234567"},
                                 email="maija@example.com")
        return str(order.get("name") or order.get("id"))

    return DemoShop(key=key, connection_id=connection_id, platform="shopify", shop=shop,
                    products=products, checkout=checkout)


def _start_magento(database: Database, running: DemoShops, connection_id: int, key: str,
                   shop: str, public_url: str) -> DemoShop:
    """A Magento Open Source shop: orders reach Glue through the poll (every 10 s here) and,
    once the async-event subscription is made, through its deliveries at once."""
    from sandbox.magento import MagentoSandbox

    sandbox = MagentoSandbox(bulk_open_reads=0).start()
    running.stops.append(sandbox.stop)
    sandbox.add_merchant_product("HELMI-LAHJA", "Lahjakortti 25 €", "25.00", quantity=100)
    _fresh_shop(database, connection_id, sandbox.grant(),
                {"sandbox": True, "poll_seconds": 10, "bulk_poll_seconds": 0.2},
                shop=sandbox.base_url)

    def products() -> list[dict[str, Any]]:
        with sandbox.lock:
            found = []
            for product in sandbox.state.products.values():
                if product.get("type_id") != "simple":
                    continue
                stock = sum(int(item["quantity"]) for (sku, _), item
                            in sandbox.state.source_items.items() if sku == product["sku"])
                found.append({"id": product["sku"], "title": product["name"], "variant": "",
                              "sku": product["sku"], "price": Decimal(str(product["price"])),
                              "stock": stock, "glue": product["sku"] != "HELMI-LAHJA"})
            return sorted(found, key=lambda p: (not p["glue"], p["title"]))

    def checkout(lines: list[dict[str, Any]]) -> str:
        order = sandbox.checkout([{"sku": line["id"], "qty": line["quantity"]}
                                  for line in lines], email="maija@example.com", address={
            "firstname": "Maija", "lastname": "Meikäläinen", "street": ["Mannerheimintie 1"],
            "postcode": "00100", "city": "Helsinki", "country_id": "FI",
            "telephone": "+358401234567"})
        return str(order["increment_id"])

    return DemoShop(key=key, connection_id=connection_id, platform="magento",
                    shop=sandbox.base_url, products=products, checkout=checkout,
                    first_jobs=(sync.SYNC, sync.POLL, "magento.async_events"))


def _start_woocommerce(database: Database, running: DemoShops, connection_id: int, key: str,
                       shop: str, public_url: str) -> DemoShop:
    """A WooCommerce shop over plain http (OAuth 1.0a signed calls) whose queue runs every
    second, as on a busy site; Glue creates its webhooks once the server answers pings."""
    from connectors.woocommerce.sync import WEBHOOK_TASK
    from sandbox.woocommerce import WooCommerceSandbox

    sandbox = WooCommerceSandbox(require_https_callback=False).start()
    running.stops.append(sandbox.stop)
    name = "helmi"
    sandbox.add_shop(name)
    consumer_key, consumer_secret = sandbox.issue_keys(name)
    sandbox.add_product(name, "Lahjapaketointi", "4.90", sku="HELMI-PAKETTI", virtual=True)
    _fresh_shop(database, connection_id, {"consumer_key": consumer_key,
                                          "consumer_secret": consumer_secret,
                                          "webhook_secret": secrets.token_urlsafe(32)},
                {"sandbox": True}, shop=sandbox.site_url(name))
    sandbox.start_cron(1.0)
    state = sandbox.shops[name]

    def products() -> list[dict[str, Any]]:
        with sandbox.lock:
            found = []
            for product in state.products.values():
                if product["type"] not in ("simple", "variation"):
                    continue
                parent = state.products.get(product["parent_id"]) if product["parent_id"] \
                    else None
                variant = " / ".join(str(a.get("option")) for a in product["attributes"]) \
                    if parent else ""
                found.append({
                    "id": str(product["id"]),
                    "title": (parent or product)["name"], "variant": variant,
                    "sku": product["sku"], "price": Decimal(product["regular_price"] or "0"),
                    "stock": product["stock_quantity"] if product["manage_stock"] else 99,
                    "glue": product["sku"] != "HELMI-PAKETTI"})
            return sorted(found, key=lambda p: (not p["glue"], p["title"], p["variant"]))

    def checkout(lines: list[dict[str, Any]]) -> str:
        address = {"first_name": "Maija", "last_name": "Meikäläinen",
                   "address_1": "Mannerheimintie 1", "postcode": "00100", "city": "Helsinki",
                   "country": "FI", "email": "maija@example.com", "phone": "+358401234567"}
        order = sandbox.checkout(name, [{"product_id": int(line["id"]),
                                         "quantity": line["quantity"]} for line in lines],
                                 billing=address, shipping=address)
        return f"#{order['number']}"

    return DemoShop(key=key, connection_id=connection_id, platform="woocommerce",
                    shop=sandbox.site_url(name), products=products, checkout=checkout,
                    first_jobs=(sync.SYNC, sync.POLL, WEBHOOK_TASK))


_STARTERS: dict[str, Callable[..., DemoShop]] = {"shopify": _start_shopify,
                                                 "woocommerce": _start_woocommerce,
                                                 "magento": _start_magento}


def ensure_shopify_secret() -> None:
    """The demo's Shopify webhooks are signed with the app secret; without a configured app,
    the process gets a random one (read by the receiver and the sandbox alike)."""
    if not os.environ.get("GLUE_SHOPIFY_API_SECRET"):
        os.environ["GLUE_SHOPIFY_API_SECRET"] = f"demo-{secrets.token_hex(16)}"


# --- the storefront page -------------------------------------------------------------------------

bp = Blueprint("demo_shops", __name__, url_prefix="/demo-shops")


@bp.before_request
def _load_user() -> None:
    from web.ui import context, csrf

    context.load()
    csrf.check()

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ shop.shop }} · demo storefront</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1a1a1a}
table{border-collapse:collapse;width:100%}td,th{padding:.35rem .5rem;border-bottom:1px solid #ddd;
text-align:left}td.n{text-align:right}input[type=number]{width:4.5rem}
.flash{background:#e7f5ea;border:1px solid #2e7d32;padding:.5rem 1rem}
button{font:inherit;padding:.5rem 1.2rem;background:#1f4e8c;color:#fff;border:0;border-radius:4px}
.own{color:#666}
</style></head><body>
<p><a href="{{ back }}">← Glue</a></p>
<h1>{{ shop.shop }}</h1>
<p>A {{ shop.platform }} sandbox shop connected to Glue. Buying here is the customer's checkout:
the shop sends its webhook, Glue imports the order and splits it to the suppliers.</p>
{% for message in get_flashed_messages() %}<p class="flash" role="status">{{ message }}</p>
{% endfor %}
<form method="post">
{{ csrf_field() }}
<table><thead><tr><th>Product</th><th>Variant</th><th>SKU</th><th class="n">Price</th>
<th class="n">In stock</th><th class="n">Quantity</th></tr></thead><tbody>
{% for p in products %}<tr{% if not p.glue %} class="own"{% endif %}>
<td>{{ p.title }}{% if not p.glue %} (the merchant's own){% endif %}</td><td>{{ p.variant }}</td>
<td>{{ p.sku }}</td><td class="n">{{ p.price }}</td><td class="n">{{ p.stock }}</td>
<td class="n"><label>
<span hidden>{{ p.title }} {{ p.variant }}</span>
<input type="number" min="0" max="{{ p.stock }}" name="q-{{ p.id }}" value="0"></label></td></tr>
{% else %}<tr><td colspan="6">Glue has not published anything here yet: wait a few seconds
and reload.</td></tr>{% endfor %}
</tbody></table>
<p><button>Buy</button></p>
</form></body></html>"""


def _shop_for_user(key: str) -> DemoShop:
    from web.ui import context

    running: DemoShops | None = current_app.extensions.get("glue.demo_shops")
    shop = running.shops.get(key) if running else None
    ui = context.current()
    if shop is None or ui is None or ui.principal is None:
        abort(404)
    with context.transaction() as session:
        owner = session.scalar(sa.select(ShopConnection.retailer_id).where(
            ShopConnection.key == key))
    if owner != ui.principal.organization_id:
        abort(404)
    return shop


@bp.route("/<key>", methods=["GET", "POST"])
def storefront(key: str) -> Any:
    from web.ui import context

    if context.current() is None:
        return redirect(url_for("ui.login", next=request.path))
    shop = _shop_for_user(key)
    if request.method == "POST":
        lines = [{"id": name[2:], "quantity": int(value)} for name, value in request.form.items()
                 if name.startswith("q-") and value.strip().isdigit() and int(value) > 0]
        if lines:
            try:
                number = shop.checkout(lines)
            except Exception as exc:  # noqa: BLE001 - the shop's refusal, shown as it said it
                flash(f"The shop refused the order: {exc}")
            else:
                flash(f"Order {number} placed. The shop tells Glue (a webhook, or Glue's "
                      "poll finds it); see Orders in Glue.")
        return redirect(url_for(".storefront", key=key))
    return render_template_string(PAGE, shop=shop, products=shop.products(),
                                  back=url_for("ui.home"))


def install(app: Flask, running: DemoShops) -> None:
    """Serve the storefront pages of the running demo shops from Glue's own app."""
    from web.ui import csrf

    app.extensions["glue.demo_shops"] = running
    app.add_template_global(csrf.csrf_field, "csrf_field")
    app.register_blueprint(bp)


__all__ = ["DemoShop", "DemoShops", "ensure_shopify_secret", "install", "seed",
           "start_demo_shops"]
