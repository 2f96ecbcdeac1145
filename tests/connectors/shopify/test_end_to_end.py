"""Shopify end to end against the sandbox: Glue's receiver and UI on loopback, the real
handler registry and sync engine, the sandbox shop with its webhooks and (optionally) faults.

install from Glue → link → settings → publish 500 products (250 listings of two variants)
→ storefront checkout with rows of two suppliers and one merchant product → two shipments
→ both suppliers confirm Delivered → the shop order has two fulfilments with the right
tracking numbers, the merchant's line untouched. With faults the same must converge: every
order imported once, no duplicate shop product, every fulfilment pushed once.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa
from argon2 import PasswordHasher

from connectors import sync
from connectors.base import ConnectionContext, ConnectionSettings
from connectors.models import ExternalReference
from connectors.publish import plan
from connectors.shopify import ShopifyConnector, translate
from connectors.shopify.client import ShopifyClient
from core.models import Order, Product, ShopConnection
from core.shipments import fast_confirm
from sandbox.common import Faults, LoopbackServer
from sandbox.shopify import SandboxApp, ShopifySandbox
from tests import factories as f
from tests.connectors.pipeline import Pipeline
from tests.sandbox.conftest import API_KEY, API_SECRET, SHOP
from tests.ui.conftest import csrf_token, log_in, organization, person
from webhooks.settings import SpineSettings

GROUPS = 125  # per supplier: 2 suppliers × 125 groups × 2 sizes = 500 products
CLIENT_TIMEOUT = 1.5  # a hung call (the timeout fault) costs twice this; a busy machine needs room


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.crypto

    monkeypatch.setattr(core.crypto, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


class Scene:
    """Glue (receiver + UI on loopback, a pipeline drained by the test) and the sandbox."""

    def __init__(self, db, session, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
        self.db = db
        self.pipe = Pipeline(db, settings=SpineSettings(
            sweep_grace_seconds=0, webhook_allow_private_targets=True,
            shopify_api_secret=API_SECRET))
        self.glue = LoopbackServer(self.pipe.app).start()
        self.faults = Faults(seed=11, retry_after=0.05, hang_seconds=CLIENT_TIMEOUT * 2)
        self.sandbox = ShopifySandbox(SandboxApp(
            API_KEY, API_SECRET, (f"{self.glue.url}/connect/shopify/callback",),
            compliance_url=f"{self.glue.url}/webhooks/shopify"), faults=self.faults,
            bucket_size=2000, restore_rate=100).start()
        self.sandbox.add_shop(SHOP)
        self.merchant = self.sandbox.add_merchant_product(SHOP, title="Oma muki", sku="MUG",
                                                          price="9.00")
        for name, value in (("GLUE_SHOPIFY_API_KEY", API_KEY),
                            ("GLUE_SHOPIFY_API_SECRET", API_SECRET),
                            ("GLUE_PUBLIC_URL", self.glue.url),
                            ("GLUE_SHOPIFY_ADMIN_URL",
                             f"{self.sandbox.server.url}/shops/{{shop}}")):
            monkeypatch.setenv(name, value)
        # the connector as the sync engine builds it, with a short timeout so that the
        # sandbox's hung answers are timeouts for the client
        sync.use_connector_factory(self._connector)
        retailer = organization(session, "Kauppa Oy", retailer=True)
        self.admin = person(session, retailer, "admin", "retailer", email="kauppa@example.test")
        self.suppliers, self.catalogs = [], []
        for name in ("Tukku A", "Tukku B"):
            supplier = organization(session, name, supplier=True)
            catalog = f.public_catalog(session, supplier)
            f.grant(session, catalog, retailer)
            for group in range(GROUPS):
                for size in ("M", "L"):
                    product = f.product(
                        session, supplier, f"{name[-1]}-{group}-{size}",
                        variant_group_id=f"G{group}", recommended_retail_price=Decimal("24.90"),
                        descriptions={"en": {"name": f"Paita {group}", "specifications": [
                            {"type": "Options",
                             "properties": [{"name": "Koko", "value": size}]}]}})
                    f.publish(session, product, catalog, quantity=20)
            self.suppliers.append(supplier)
            self.catalogs.append(catalog.external_id)
        session.commit()
        self.supplier_ids = [s.id for s in self.suppliers]
        self.browser = self.pipe.app.test_client()
        self.connection_id = 0

    def _connector(self, connection: ShopConnection) -> ShopifyConnector:
        context = ConnectionContext.from_model(connection)
        client = ShopifyClient(connection.shop, context.credentials["access_token"],
                               base_url=context.settings.platform["base_url"],
                               timeout=CLIENT_TIMEOUT)
        return ShopifyConnector(context, client=client, bulk_max_wait=20.0)

    def close(self) -> None:
        sync.use_connector_factory(None)
        self.sandbox.stop()
        self.glue.stop()

    # --- steps ----------------------------------------------------------------------------

    def install_and_link(self) -> None:
        log_in(self.browser, self.admin)
        started = self.browser.post("/connect/shopify/start", data={
            "shop": "glue-demo", "csrf_token": csrf_token(self.browser,
                                                          "/connect/shopify/start")})
        assert started.status_code == 302, started.get_data(as_text=True)
        approved = requests.get(started.headers["Location"], allow_redirects=False, timeout=5)
        callback = urlsplit(approved.headers["Location"])
        done = self.browser.get(f"{callback.path}?{callback.query}")
        assert done.status_code == 302, done.get_data(as_text=True)
        with self.db.transaction() as s:
            connection = s.scalars(sa.select(ShopConnection)).one()
            assert connection.status == "linked"
            self.connection_id, key = connection.id, connection.key
        saved = self.browser.post(f"/connect/shopify/{key}/settings", data={
            "csrf_token": csrf_token(self.browser, f"/connect/shopify/{key}"),
            "catalogs": self.catalogs, "auto_publish_new": "1", "stock_buffer": "0",
            "end_of_sale": "zero_stock", "order_trigger": "paid", "language": "en",
            "notify_customer": "1"})
        assert saved.status_code == 302

    def converge(self) -> None:
        """Drain the pipeline; with faults some runs end in a retry, which is queued again."""
        for _ in range(30):
            self.pipe.drain()
            with self.db.sessions() as s:
                pending = s.scalar(sa.select(sa.func.count()).select_from(
                    ExternalReference).where(ExternalReference.kind == "fulfilment",
                                             ExternalReference.state == "pending"))
                planned = plan(s, connection_id=self.connection_id,
                               retailer_id=self.admin.organization_id,
                               settings=ConnectionSettings.from_json(
                                   s.get(ShopConnection, self.connection_id).settings))
            if not pending and not planned:
                return
            self.pipe.sync(self.connection_id)
        raise AssertionError("the shop did not converge")

    def variant(self, supplier_index: int, product_external_id: str) -> str:
        with self.db.sessions() as s:
            product = s.scalar(sa.select(Product).where(
                Product.supplier_id == self.supplier_ids[supplier_index],
                Product.external_id == product_external_id))
            return s.scalar(sa.select(ExternalReference.shop_id).where(
                ExternalReference.kind == "variant", ExternalReference.glue_id == str(product.id)))

    def import_orders(self, count: int) -> None:
        """Webhooks first; the reconciliation poll picks up what dropped deliveries missed."""
        self.pipe.drain()
        for _ in range(20):
            with self.db.sessions() as s:
                if s.scalar(sa.select(sa.func.count()).select_from(Order)) >= count:
                    return
            self.pipe.poll(self.connection_id)
            self.pipe.drain()
        raise AssertionError("the orders were never imported")


@pytest.fixture
def scene(db, session, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scene]:  # noqa: ANN001
    built = Scene(db, session, monkeypatch)
    yield built
    built.close()


def run_scenario(scene: Scene, *, faults: bool, orders: int = 1) -> None:
    scene.install_and_link()
    if faults:  # the install itself ran clean; from here on the shop and its webhooks misbehave
        scene.faults.api_error_rate = 0.2
        # deliveries draw from their own seeded stream, so which ones are dropped or sent
        # twice does not depend on how many API calls a run happened to make
        scene.sandbox.deliverer.faults = Faults(drop_rate=0.1, duplicate_rate=0.1, seed=7)
    scene.converge()
    shop = scene.sandbox.shops[SHOP]
    glue_products = [p for p in shop.products.values() if p["owner"] == "app"]
    # 250 shop products of two variants each, one per listing: no duplicate
    assert len(glue_products) == 2 * GROUPS
    assert len({p["handle"] for p in glue_products}) == len(glue_products)
    assert {len(p["variant_ids"]) for p in glue_products} == {2}
    assert all(p["handle"].startswith("glue-") for p in glue_products)
    # customers buy from both suppliers and the merchant's own mug
    placed = []
    for n in range(orders):
        lines = [{"variant_id": scene.variant(0, f"A-{n}-M"), "quantity": 2},
                 {"variant_id": scene.variant(1, f"B-{n + 1}-L"), "quantity": 1},
                 {"variant_id": scene.merchant["id"], "quantity": 1}]
        placed.append(scene.sandbox.checkout(SHOP, lines, shipping_address={
            "first_name": "Aino", "last_name": "Asiakas", "address1": "Kauppakatu 1",
            "zip": "40100", "city": "Jyväskylä", "country_code": "FI",
            "phone": "+358401234567"}))
    scene.import_orders(orders)
    codes: dict[str, list[str]] = {}
    with scene.db.transaction() as s:
        glue_orders = s.scalars(sa.select(Order)).all()  # each shop order imported once
        assert sorted(o.shop_order_id for o in glue_orders) == sorted(
            translate.gid("Order", order["id"]) for order in placed)
        for glue_order in glue_orders:
            shipments = sorted(glue_order.shipments, key=lambda x: x.supplier_id)
            assert [x.supplier_id for x in shipments] == scene.supplier_ids
            for shipment, supplier in zip(shipments, scene.suppliers, strict=True):
                fast_confirm(s, f.acting(supplier), shipment.shipment_id)
            codes.update({x.shipment_id: sorted(c for p in x.parcels for c in p.tracking_codes)
                          for x in shipments})
    scene.converge()
    for order in placed:
        # the shop order has two fulfilments, each with its shipment's tracking numbers
        shop_order = shop.orders[order["id"]]
        fulfilments = [shop.fulfillments[n] for n in shop_order["fulfillment_ids"]]
        assert len(fulfilments) == 2
        numbers = sorted(sorted(t["number"] for t in x["tracking"]) for x in fulfilments)
        assert all(number in codes.values() for number in numbers)
        assert all(x["notify_customer"] for x in fulfilments)
        # and the merchant's mug is still open for the merchant to fulfil
        merchant_fo = [shop.fulfillment_orders[n] for n in shop_order["fulfillment_order_ids"]
                       if shop.fulfillment_orders[n]["location_id"] == shop.merchant_location]
        assert [(fo["status"], fo["lines"][0]["remaining"]) for fo in merchant_fo] == [
            ("OPEN", 1)]
    assert sum(len(shop.orders[o["id"]]["fulfillment_ids"]) for o in placed) == 2 * orders
    with scene.db.sessions() as s:
        pushed = s.scalars(sa.select(ExternalReference).where(
            ExternalReference.kind == "fulfilment")).all()
        assert sorted(r.glue_id for r in pushed) == sorted(codes)
        assert {r.state for r in pushed} == {"active"}
        assert sorted(r.shop_id for r in pushed) == sorted(
            f"gid://shopify/Fulfillment/{n}" for o in placed
            for n in shop.orders[o["id"]]["fulfillment_ids"])


def test_install_publish_order_and_fulfil_end_to_end(scene: Scene) -> None:
    run_scenario(scene, faults=False)
    # the catalog went as one bulk operation, not 250 productSet calls
    assert len(scene.sandbox.shops[SHOP].bulk_operations) == 1


def test_the_same_scenario_converges_with_faults(scene: Scene) -> None:
    run_scenario(scene, faults=True, orders=8)
    api, hooks = scene.faults.counts, scene.sandbox.deliverer.faults.counts
    # the faults did happen: every kind of API failure, and deliveries lost and repeated
    # (order 6 lost both of its deliveries: only the poll could import it)
    assert all(api[f"api_{kind}"] for kind in ("429", "500", "503", "timeout")), api
    assert hooks["dropped"] >= 2 and hooks["duplicated"] >= 2, hooks
