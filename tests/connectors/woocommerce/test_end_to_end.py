"""WooCommerce end to end: Glue's receiver and install routes on loopback, the WooCommerce
sandbox on loopback, and the whole pipeline (inbox → order → shipments → events → sync →
fulfilment) drained by hand in the test's thread."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from connectors import sync
from connectors.models import ExternalReference
from connectors.woocommerce import sync as woo_sync
from core.connections import save_settings
from core.models import Balance, Event, Order, Product, Shipment, ShopConnection
from core.principal import Principal
from core.shipments import fast_confirm
from sandbox.common import Faults, LoopbackServer
from sandbox.woocommerce import WooCommerceSandbox
from tests import factories as f
from tests.connectors.pipeline import Pipeline
from web.ui import logins

SHOP = "demo"
CSRF = "csrf-token-for-tests"


class Stage:
    """Two suppliers' catalogs (500 products, variant groups among them), a retailer whose
    admin installs Glue in a sandbox WooCommerce shop, and the pipeline."""

    def __init__(self, db: Any, monkeypatch: pytest.MonkeyPatch, *,
                 faults: Faults | None = None) -> None:
        self.db = db
        self.pipe = Pipeline(db)
        self.webhook_jobs: list[int] = []
        self.pipe.spine.enqueue = self._enqueue  # the pipeline's drain runs no connector task
        self.glue = LoopbackServer(self.pipe.app).start()
        settings = self.pipe.app.config["GLUE_SETTINGS"]
        self.pipe.app.config["GLUE_SETTINGS"] = settings.model_copy(
            update={"public_url": self.glue.url})
        monkeypatch.setenv("GLUE_PUBLIC_URL", self.glue.url)
        self.woo = WooCommerceSandbox(require_https_callback=False, faults=faults).start()
        self.shop = self.woo.add_shop(SHOP)
        with db.transaction() as s:
            self.tukku = f.supplier(s, name="Tukku Oy")
            self.valmistaja = f.supplier(s, name="Valmistaja Ab")
            self.retailer = f.retailer(s, name="Kauppa Oy")
            self.admin = f.user(s, self.retailer, "admin", "retailer").id
            self.catalogs = []
            for supplier, simple, groups, size, option in (
                    (self.tukku, 200, 25, 4, "Koko"), (self.valmistaja, 150, 10, 5, "Väri")):
                catalog = f.public_catalog(s, supplier)
                f.grant(s, catalog, self.retailer)
                self.catalogs.append(catalog.external_id)
                _products(s, supplier, catalog.id, simple, groups, size, option)
            self.supplier_ids = (self.tukku.id, self.valmistaja.id)

    def _enqueue(self, job: str, ref_id: int | None = None, eta: Any = None) -> None:
        if job == woo_sync.WEBHOOK_TASK and ref_id is not None:
            self.webhook_jobs.append(ref_id)
        else:
            self.pipe.queue(job, ref_id, eta)

    def close(self) -> None:
        self.woo.stop()
        self.glue.stop()

    def glue_down(self) -> None:
        """Glue's web process stops: deliveries fail to connect."""
        self.glue.stop()

    def glue_up(self) -> None:
        """It comes back on the same address the webhooks point at."""
        port = int(urlsplit(self.pipe.app.config["GLUE_SETTINGS"].public_url).port or 0)
        self.glue = LoopbackServer(self.pipe.app, port=port).start()

    # --- install -------------------------------------------------------------------------

    def install(self) -> int:
        """The retailer's admin connects the shop through wc-auth, then chooses catalogs."""
        client = self.pipe.app.test_client()
        with self.db.transaction() as s:
            sid = logins.start_session(s, self.admin)
        with client.session_transaction() as session:
            session.update(sid=sid, org=self.retailer.id, csrf=CSRF)
        started = client.post("/connect/woocommerce/install",
                              data={"site_url": self.woo.site_url(SHOP), "csrf_token": CSRF})
        assert started.status_code == 303
        # the merchant approves in the WordPress admin; WooCommerce posts the keys to Glue
        granted = requests.get(started.headers["Location"], allow_redirects=False, timeout=30)
        assert granted.status_code == 302, granted.text
        back = urlsplit(granted.headers["Location"])
        assert "success=1" in back.query
        assert client.get(f"{back.path}?{back.query}").status_code == 200
        with self.db.transaction() as s:
            connection = s.scalars(sa.select(ShopConnection)).one()
            assert connection.status == "linked" and connection.shop == self.woo.site_url(SHOP)
            save_settings(s, Principal(organization_id=self.retailer.id,
                                       permissions=frozenset({"retailer", "admin"}),
                                       label="test:admin"), connection.key, {
                "catalogs": self.catalogs, "language": "fi",
                "pricing": {"basis": "markup", "markup": "2", "fixed": "0", "ending": "0.90"}})
            self.connection_id = connection.id
        return self.connection_id

    def drain(self) -> None:
        """Run the pipeline until idle, with the webhook task the worker would run too."""
        for _ in range(10):
            self.pipe.drain()
            jobs, self.webhook_jobs = self.webhook_jobs, []
            if not jobs:
                return
            for ref in dict.fromkeys(jobs):
                woo_sync.ensure_webhooks(self.pipe.spine, ref)

    # --- what Glue holds ---------------------------------------------------------------

    def variant_refs(self) -> dict[int, str]:
        """Glue product id → shop product or variation id."""
        with self.db.sessions() as s:
            return {int(r.glue_id): r.shop_id for r in s.scalars(sa.select(ExternalReference)
                    .where(ExternalReference.kind == "variant"))}

    def product_ids(self, supplier_id: int, grouped: bool) -> list[int]:
        with self.db.sessions() as s:
            return list(s.scalars(sa.select(Product.id).where(
                Product.supplier_id == supplier_id,
                Product.variant_group_id.is_not(None) if grouped
                else Product.variant_group_id.is_(None)).order_by(Product.id)))

    def orders(self) -> list[Order]:
        with self.db.sessions() as s:
            found = list(s.scalars(sa.select(Order).order_by(Order.id)))
            s.expunge_all()
            return found


def _products(s: Any, supplier: Any, catalog_id: int, simple: int, groups: int, size: int,
              option: str) -> None:
    prefix = supplier.name[:4].upper()
    products = [Product(supplier_id=supplier.id, external_id=f"{prefix}-{n}", descriptions={
        "fi": {"name": f"{supplier.name} tuote {n}"}}) for n in range(simple)]
    for group in range(groups):
        products += [Product(
            supplier_id=supplier.id, external_id=f"{prefix}-G{group}-{v}",
            variant_group_id=f"G{group}", descriptions={"fi": {
                "name": f"{supplier.name} malli {group}", "specifications": [{
                    "type": "Options", "properties": [{"name": option,
                                                       "value": f"{option[0]}{v}"}]}]}})
            for v in range(size)]
    s.add_all(products)
    s.flush()
    s.add_all([Balance(catalog_id=catalog_id, product_id=p.id, quantity=10,
                       wholesale_price=Decimal("10.00")) for p in products])
    s.flush()


@pytest.fixture
def stage(db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stage]:
    made = Stage(db, monkeypatch)
    yield made
    made.close()
    sync.use_connector_factory(None)


def tracking(order: dict[str, Any]) -> list[dict[str, Any]]:
    return next((m["value"] for m in order["meta_data"]
                 if m["key"] == "_wc_shipment_tracking_items"), [])


def test_install_publish_checkout_ship_and_complete(stage: Stage) -> None:
    connection_id = stage.install()
    stage.drain()
    shop = stage.shop
    # 500 products: 350 simple, 35 variable with 150 variations, in batches of 50 listings
    assert sum(1 for p in shop.products.values() if p["type"] == "simple") == 350
    assert sum(1 for p in shop.products.values() if p["type"] == "variable") == 35
    assert sum(1 for p in shop.products.values() if p["type"] == "variation") == 150
    assert shop.calls["POST products/batch"] == 8
    refs = stage.variant_refs()
    assert len(refs) == 500
    # the three order webhooks exist, their pings were answered 200 by Glue's receiver
    assert sorted(w["topic"] for w in shop.webhooks.values()) == [
        "order.created", "order.deleted", "order.updated"]
    assert all(w["status"] == "active" and not w["pending_delivery"]
               for w in shop.webhooks.values())
    assert [p["status"] for p in shop.pings] == [200, 200, 200]

    # a customer buys a Tukku simple product, a Valmistaja variation and the merchant's own
    # gift wrapping (virtual: nothing to ship)
    tukku = stage.product_ids(stage.supplier_ids[0], grouped=False)[0]
    valmistaja = stage.product_ids(stage.supplier_ids[1], grouped=True)[2]
    wrap = stage.woo.add_product(SHOP, "Lahjapaketointi", "4.00", virtual=True)
    order = stage.woo.checkout(SHOP, [{"product_id": int(refs[tukku]), "quantity": 2},
                                      {"product_id": int(refs[valmistaja]), "quantity": 1},
                                      {"product_id": wrap["id"], "quantity": 1}])
    assert stage.orders() == []  # nothing is delivered until the shop's queue runs
    deliveries = stage.woo.run_queue(SHOP)
    assert sorted(d.topic for d in deliveries) == ["order.created", "order.updated"]
    assert all(d.status == 200 for d in deliveries)
    stage.drain()
    [glue_order] = stage.orders()
    assert glue_order.shop_order_id == str(order["id"])
    with stage.db.sessions() as s:
        shipments = list(s.scalars(sa.select(Shipment).order_by(Shipment.id)))
        assert sorted(sh.supplier_id for sh in shipments) == sorted(stage.supplier_ids)
        rows = {r.external_id: r.quantity for sh in shipments for r in sh.rows}
        shipment_ids = [(sh.shipment_id, sh.supplier_id) for sh in shipments]
    lines = order["line_items"]
    assert rows == {str(lines[0]["id"]): 2, str(lines[1]["id"]): 1}  # not the gift wrap

    # the first supplier delivers: a note and tracking meta, the order stays open
    suppliers = {stage.tukku.id: stage.tukku, stage.valmistaja.id: stage.valmistaja}
    first, second = shipment_ids
    with stage.db.transaction() as s:
        fast_confirm(s, f.acting(suppliers[first[1]]), first[0])
    stage.drain()
    after_one = stage.woo.order(SHOP, order["id"])
    assert after_one["status"] == "processing" and len(tracking(after_one)) == 1
    # then the second: both notes, both tracking items, and the order is completed
    with stage.db.transaction() as s:
        fast_confirm(s, f.acting(suppliers[second[1]]), second[0])
    stage.drain()
    done = stage.woo.order(SHOP, order["id"])
    assert done["status"] == "completed"
    items = tracking(done)
    assert len(items) == 2 and all(i["tracking_number"] for i in items)
    notes = [n for n in stage.shop.notes[order["id"]] if n["customer_note"]]
    assert len(notes) == 2
    for note, item in zip(notes, items, strict=True):
        assert item["tracking_number"] in note["note"] and "Seurantakoodi" in note["note"]
    # the completion's own order.updated comes back to Glue and changes nothing
    stage.woo.run_queue(SHOP)
    stage.drain()
    assert len(stage.orders()) == 1
    with stage.db.sessions() as s:
        assert sync.health(s, s.get(ShopConnection, connection_id)).failures == ()
    # the periodic check finds every webhook healthy and changes nothing
    assert woo_sync.check_all(stage.pipe.spine) == 1
    assert stage.webhook_jobs == [connection_id]
    assert woo_sync.ensure_webhooks(stage.pipe.spine, connection_id) == dict.fromkeys(
        woo_sync.TOPICS, "ok")


def test_faults_every_order_imported_once_and_the_webhook_restored(db, monkeypatch) -> None:
    faults = Faults(seed=11, hang_seconds=0.05)
    stage = Stage(db, monkeypatch, faults=faults)
    try:
        connection_id = stage.install()
        stage.drain()
        refs = stage.variant_refs()
        products = [int(refs[p]) for p in stage.product_ids(stage.supplier_ids[0],
                                                            grouped=False)[:20]]
        shop, woo = stage.shop, stage.woo
        ordered: list[int] = []

        def buy(count: int) -> None:
            for _ in range(count):
                ordered.append(woo.checkout(SHOP, [{"product_id": products[len(ordered)]}])["id"])

        # Glue's web process is down for a while: every delivery fails, WooCommerce retries
        # none and disables the order webhooks on the 7th failure in a row
        stage.glue_down()
        for _ in range(7):
            buy(1)
            woo.run_queue(SHOP)
        assert {w["topic"]: w["status"] for w in shop.webhooks.values()} == {
            "order.created": "disabled", "order.updated": "disabled",
            "order.deleted": "active"}
        buy(2)  # a disabled webhook does not even queue these
        assert woo.pending(SHOP) == 0
        stage.glue_up()

        # the periodic check re-enables both (reported), and the merchant deleted one meanwhile
        # after which the check recreates it; the API answers 429/5xx/slowly a third of the time
        deleted = next(w["id"] for w in shop.webhooks.values() if w["topic"] == "order.deleted")
        del shop.webhooks[deleted]
        faults.api_error_rate = 0.3
        done: dict[str, str] = {}
        for _ in range(20):
            done.update({t: a for t, a in woo_sync.ensure_webhooks(
                stage.pipe.spine, connection_id).items() if a != "ok"})
            if all(w["status"] == "active" for w in shop.webhooks.values()) \
                    and len(shop.webhooks) == 3:
                break
        assert done == {"order.created": "reenabled", "order.updated": "reenabled",
                        "order.deleted": "recreated"}
        with stage.db.sessions() as s:
            restored = list(s.scalars(sa.select(Event).where(
                Event.type == woo_sync.RESTORED)))
            assert sorted(e.data["topic"] for e in restored) == sorted(done)
            assert all(e.organization_ids == [stage.retailer.id] for e in restored)

        # back to normal delivery, except that deliveries are lost or doubled at random
        faults.drop_rate, faults.duplicate_rate = 0.3, 0.3
        buy(6)
        woo.run_queue(SHOP)
        stage.drain()
        assert faults.counts["dropped"] > 0 and faults.counts["duplicated"] > 0
        # the reconciliation poll reads back what the webhooks missed; a failed page means the
        # same window is read again
        for _ in range(20):
            stage.pipe.poll(connection_id)
            stage.drain()
            if len(stage.orders()) == len(ordered):
                break
        assert faults.counts["api_429"] + faults.counts["api_500"] + \
            faults.counts["api_503"] > 0
        glue_orders = stage.orders()
        assert sorted(o.shop_order_id for o in glue_orders) == sorted(str(i) for i in ordered)
        with stage.db.sessions() as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(ExternalReference).where(
                ExternalReference.kind == "order")) == len(ordered)
        # and once more, everything again: still one Glue order per shop order
        faults.api_error_rate = faults.drop_rate = faults.duplicate_rate = 0.0
        for order_id in ordered:
            woo.set_order_status(SHOP, order_id, "on-hold")
        woo.run_queue(SHOP)
        stage.pipe.poll(connection_id)
        stage.drain()
        assert len(stage.orders()) == len(ordered)
        # the merchant trashes one: order.deleted names only its id, Glue cancels it
        woo.trash_order(SHOP, ordered[-1])
        woo.run_queue(SHOP)
        stage.drain()
        statuses = {o.shop_order_id: o.status for o in stage.orders()}
        assert statuses[str(ordered[-1])] == "Cancelled"
        assert sum(1 for v in statuses.values() if v == "Cancelled") == 1
    finally:
        stage.close()
