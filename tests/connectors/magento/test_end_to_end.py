"""Glue and a Magento shop end to end: the sandbox (sandbox/magento.py) on loopback, Glue's
receiver app on loopback too, and the whole pipeline (tests/connectors/pipeline.py) run in the
test's thread: activation, publishing, the order poll, shipments, fulfilment back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from connectors import sync
from connectors.magento import sync as magento_sync
from connectors.models import ExternalReference
from core.db import Database
from core.models import Order, Organization, Shipment, ShopConnection
from core.shipments import fast_confirm
from sandbox.common import LoopbackServer
from sandbox.magento import MagentoSandbox
from tests import factories as f
from tests.connectors.pipeline import Pipeline
from tests.ui.conftest import csrf_token, log_in, person
from tests.webhooks.conftest import FakeClock

SIZES = ("S", "M", "L", "XL", "XXL")


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.crypto

    monkeypatch.setattr(core.crypto, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@dataclass
class Stage:
    """Two suppliers' catalogs, a retailer with access, a Magento sandbox linked to Glue
    through the integration activation, and the pipeline."""

    db: Database
    shop: MagentoSandbox
    pipe: Pipeline
    glue: LoopbackServer
    clock: FakeClock
    connection_id: int = 0
    suppliers: dict[str, int] = field(default_factory=dict)

    def poll(self) -> dict[str, int]:
        return self.pipe.poll(self.connection_id)

    def orders(self) -> list[Order]:
        with self.db.sessions() as s:
            found = list(s.scalars(sa.select(Order).order_by(Order.id)))
            s.expunge_all()
            return found

    def imported_shop_orders(self) -> list[str]:
        with self.db.sessions() as s:
            return sorted(s.scalars(sa.select(ExternalReference.glue_id).where(
                ExternalReference.kind == "order", ExternalReference.state == "active")),
                key=int)


def _catalogs(db: Database, *, simple: int, groups: int) -> tuple[dict[str, int], list[str],
                                                                  int]:
    """Supplier A with ``simple`` simple products, supplier B with ``groups`` variant groups of
    five sizes; a retailer with access to both. Returns supplier ids, catalog ids, retailer."""
    with db.transaction() as s:
        a, b = f.supplier(s, name="Tukku A Oy"), f.supplier(s, name="Tukku B Oy")
        retailer = f.retailer(s, name="Kauppa Oy")
        catalogs = []
        for supplier in (a, b):
            catalog = f.public_catalog(s, supplier)
            f.grant(s, catalog, retailer)
            catalogs.append(catalog)
        for n in range(simple):
            product = f.product(s, a, f"A-{n:04d}", descriptions={"fi": {
                "name": f"Juomapullo {n}", "description": "Kestävä pullo."}},
                measurements={"weight": "0.3"})
            f.publish(s, product, catalogs[0], quantity=10, price="5.00")
        for g in range(groups):
            for size in SIZES:
                product = f.product(s, b, f"B-{g:03d}-{size}", variant_group_id=f"HUP{g}",
                                    descriptions={"fi": {"name": f"Huppari {g}",
                                                         "specifications": [{
                                                             "type": "Options",
                                                             "properties": [{"name": "Koko",
                                                                             "value": size}]}]}})
                f.publish(s, product, catalogs[1], quantity=5, price="20.00")
        return {"A": a.id, "B": b.id}, [c.external_id for c in catalogs], retailer.id


def _activate(stage: Stage, retailer_id: int) -> int:
    """The merchant activates the integration in the Magento admin and links it to the
    retailer in Glue's identity-link page; the connection's id."""
    glue = stage.glue.url
    link = stage.shop.activate(f"{glue}/connect/magento/callback",
                               f"{glue}/connect/magento/link")
    client = stage.pipe.app.test_client()
    with stage.db.sessions() as s:
        who = person(s, s.get(Organization, retailer_id), "admin", "retailer")
    log_in(client, who)
    parts = urlsplit(link)
    path = f"{parts.path}?{parts.query}"
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    query = dict(parse_qsl(parts.query))
    answer = client.post("/connect/magento/link", data={
        "csrf_token": csrf_token(client, path), **query})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert answer.headers["Location"].startswith(stage.shop.base_url)
    with stage.db.sessions() as s:
        return s.scalars(sa.select(ShopConnection.id)).one()


def _configure(stage: Stage, catalogs: list[str], **platform: object) -> None:
    with stage.db.transaction() as s:
        connection = s.get(ShopConnection, stage.connection_id)
        connection.settings = {**(connection.settings or {}), "catalogs": catalogs,
                               "pricing": {"basis": "markup", "markup": "2", "fixed": "0",
                                           "ending": "0.90"},
                               "platform": {**(connection.settings or {}).get("platform", {}),
                                            "bulk_poll_seconds": 0.01, **platform}}


@pytest.fixture
def make_stage(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """``make_stage(simple=, groups=, **sandbox options)`` → a linked, published stage."""
    made: list[Stage] = []

    def make(*, simple: int, groups: int, clock: FakeClock | None = None,
             platform: dict | None = None, **options: object) -> Stage:
        suppliers, catalogs, retailer_id = _catalogs(db, simple=simple, groups=groups)
        clock = clock or FakeClock(datetime.now(UTC).replace(microsecond=0))
        shop = MagentoSandbox(**options).start()  # type: ignore[arg-type]
        pipe = Pipeline(db, clock=clock)
        glue = LoopbackServer(pipe.app).start()
        stage = Stage(db, shop, pipe, glue, clock, suppliers=suppliers)
        made.append(stage)
        monkeypatch.setenv("GLUE_PUBLIC_URL", glue.url)  # where async events deliver
        stage.connection_id = _activate(stage, retailer_id)
        _configure(stage, catalogs, **(platform or {}))
        stage.pipe.drain()
        # the retailer chose the catalogs (here straight in the row): a sync run publishes
        assert stage.pipe.sync(stage.connection_id).outcome == "done"
        return stage

    yield make
    for stage in made:
        stage.glue.stop()
        stage.shop.stop()


def test_activation_publish_checkout_poll_ship_and_fulfil_back(make_stage) -> None:
    # given the merchant activated the integration and Glue published 500 products
    stage = make_stage(simple=450, groups=10, async_events=False)
    shop = stage.shop
    products = shop.state.products
    assert sum(p["type_id"] == "simple" for p in products.values()) == 500
    assert sum(p["type_id"] == "configurable" for p in products.values()) == 10
    assert ("POST", "async/bulk/products") in shop.calls
    assert shop.state.source_items[("A-0007", "default")]["quantity"] == 10
    # and the shop has no async-event module, which Glue noted: the poll carries the orders
    assert magento_sync.subscribe(stage.pipe.spine, stage.connection_id) == magento_sync.ABSENT
    with stage.db.sessions() as s:
        assert s.get(ShopConnection, stage.connection_id).settings["platform"][
            "async_events"] == magento_sync.ABSENT
    shop.add_merchant_product("OMA-1", "Kaupan oma tuote", "12.00")

    # when a customer buys from both suppliers and the merchant's own product
    order = shop.checkout([{"sku": "A-0007", "qty": 2}, {"sku": "B-003-M", "qty": 1},
                           {"sku": "OMA-1", "qty": 1}],
                          address={"street": ["Hämeenkatu 1", "C 5"], "city": "Tampere",
                                   "postcode": "33100"})
    simple_row, parent_row, _child, _own = order["items"]
    # then the poll imports it once, with the two Glue rows only
    assert stage.poll()["imported"] == 1
    assert stage.poll() == {"seen": 1, "imported": 0, "refused": 0}
    [glue_order] = stage.orders()
    with stage.db.sessions() as s:
        glue_order = s.get(Order, glue_order.id)
        assert glue_order.shop_order_id == str(order["entity_id"])
        assert sorted((r.external_id, r.quantity, r.price) for r in glue_order.rows) == sorted([
            (str(simple_row["item_id"]), 2, Decimal("10.90")),
            (str(parent_row["item_id"]), 1, Decimal("40.90"))])
        shipments = list(s.scalars(sa.select(Shipment).where(
            Shipment.order_id == glue_order.id)))
        assert {sh.supplier_id for sh in shipments} == set(stage.suppliers.values())
        targets = [(sh.shipment_id, sh.supplier_id) for sh in shipments]

    # when both suppliers confirm their shipments delivered
    for shipment_id, supplier_id in targets:
        with stage.db.transaction() as s:
            fast_confirm(s, f.acting(s.get(Organization, supplier_id)), shipment_id)
    stage.pipe.drain()

    # then Magento has two shipments naming the parent row, each with its tracking code
    assert len(shop.state.shipments) == 2
    shipped = sorted((tuple((i["order_item_id"], i["qty"]) for i in sh["items"]),
                      tuple(t["carrier_code"] for t in sh["tracks"]))
                     for sh in shop.state.shipments.values())
    assert shipped == sorted([(((simple_row["item_id"], 2),), ("custom",)),
                              (((parent_row["item_id"], 1),), ("custom",))])
    with stage.db.sessions() as s:
        codes = {c for sh in s.scalars(sa.select(Shipment)) for p in sh.parcels
                 for c in p.tracking_codes or ()}
        fulfilments = list(s.scalars(sa.select(ExternalReference).where(
            ExternalReference.kind == "fulfilment")))
        assert {r.state for r in fulfilments} == {"active"} and len(fulfilments) == 2
    assert {t["track_number"] for sh in shop.state.shipments.values()
            for t in sh["tracks"]} == codes
    # and the merchant's own row is still the merchant's to ship
    after = shop.state.orders[order["entity_id"]]
    assert after["state"] == "processing"
    assert [i["qty_shipped"] for i in after["items"]] == [2, 1, 0, 0]
    # and a later sync run pushes nothing again
    stage.pipe.sync(stage.connection_id)
    assert len(shop.state.shipments) == 2


def test_an_async_event_imports_at_once_and_the_poll_finds_a_duplicate(make_stage) -> None:
    stage = make_stage(simple=3, groups=1)
    subscribed = magento_sync.subscribe(stage.pipe.spine, stage.connection_id)
    assert set(subscribed) == {"sales.order.created", "sales.order.updated"}
    order = stage.shop.checkout([{"sku": "A-0001", "qty": 1}])
    [delivery] = stage.shop.deliverer.log
    assert delivery.status == 200 and delivery.url.endswith("/sales.order.created")
    stage.pipe.drain()
    assert stage.imported_shop_orders() == [str(order["entity_id"])]
    assert stage.poll() == {"seen": 1, "imported": 0, "refused": 0}


def _checkouts(stage: Stage, count: int) -> list[int]:
    return [stage.shop.checkout([{"sku": f"A-{n % 3:04d}", "qty": 1}])["entity_id"]
            for n in range(count)]


def test_the_poll_stays_correct_when_orders_change_during_it(make_stage) -> None:
    stage = make_stage(simple=3, groups=0, platform={"order_page_size": 2})
    before = _checkouts(stage, 5)
    late: list[int] = []

    def meanwhile(entity: str, page: int) -> None:
        if entity == "orders" and not late and len(stage.imported_shop_orders()) >= 2:
            stage.shop.touch(before[0])  # an order already read changes
            late.append(stage.shop.checkout([{"sku": "A-0002", "qty": 1}])["entity_id"])

    stage.shop.search_hooks.append(meanwhile)
    first = stage.poll()
    assert late and first["imported"] >= 5
    second = stage.poll()
    # then every order was imported exactly once, the late one by the first or second poll
    assert first["imported"] + second["imported"] == 6
    assert stage.imported_shop_orders() == [str(i) for i in before + late]
    assert len(stage.orders()) == 6


def test_the_poll_stays_correct_when_pages_shift(make_stage) -> None:
    stage = make_stage(simple=3, groups=0, platform={"order_page_size": 2})
    stage.shop.add_merchant_product("OMA-1", "Oma", "3.00", quantity=50)
    foreign = stage.shop.checkout([{"sku": "OMA-1", "qty": 1}])["entity_id"]
    ours = _checkouts(stage, 5)

    def meanwhile(entity: str, page: int) -> None:
        if entity == "orders" and foreign in stage.shop.state.orders \
                and stage.imported_shop_orders():
            stage.shop.delete_order(foreign)  # every later row moves one place back

    stage.shop.search_hooks.append(meanwhile)
    assert stage.poll()["imported"] == 5
    assert stage.imported_shop_orders() == [str(i) for i in ours]


def test_the_poll_catches_up_after_glue_was_down_for_an_hour(make_stage) -> None:
    # given a poll an hour ago (Glue's clock), after which Glue was down
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))
    stage = make_stage(simple=3, groups=0, clock=clock)
    assert stage.poll()["imported"] == 0
    # when orders come in and change meanwhile, and Glue comes back
    placed = _checkouts(stage, 4)
    stage.shop.cancel(placed[3])
    stage.shop.touch(placed[0])
    clock.advance(3600)
    stage.pipe.drain(polls=True)
    # then the overdue poll imports what was paid and not cancelled, once
    assert stage.imported_shop_orders() == [str(i) for i in placed[:3]]
    assert stage.poll()["imported"] == 0 and len(stage.orders()) == 3
    with stage.db.sessions() as s:
        mark = sync.state(s, stage.connection_id).orders_since
        assert mark is not None and mark.replace(tzinfo=UTC) >= clock() - timedelta(seconds=1)
