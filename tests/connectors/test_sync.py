"""The shared sync engine (``connectors.sync``) with an in-memory shop behind the contract:
publishing through the diff, order import once per shop order, fulfilment back, the poll."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from connectors import sync
from connectors.base import (
    Address,
    Connector,
    FulfilmentRequest,
    OrderDraft,
    OrderDraftLine,
    WebhookDelivery,
    change_sizes,
)
from connectors.errors import Fatal, NeedsConfiguration, Retriable
from connectors.models import ConnectionSync, ExternalReference
from connectors.publish import ChangeBatch, PushResult, ShopRef
from core.db import Database
from core.models import Order, Shipment, ShopConnection
from core.shipments import fast_confirm
from tests import factories as f
from tests.webhooks.conftest import FakeClock, RecordingQueue
from webhooks import outbox
from webhooks.handlers import registry
from webhooks.settings import SpineSettings
from webhooks.spine import DELIVERY, FAN_OUT, Spine


class MemoryShop:
    """The shop side: products by listing key, orders, fulfilments, and scripted failures."""

    def __init__(self) -> None:
        self.products: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.fulfilments: list[FulfilmentRequest] = []
        self.notes: list[tuple[str, str]] = []
        self.orders: list[dict[str, Any]] = []
        self.refuse: set[str] = set()  # listing keys whose push is refused
        self.fail_next: list[Exception] = []


class MemoryConnector(Connector):
    platform: ClassVar[str] = "shopify"
    title: ClassVar[str] = "Memory"
    batch_sizes: ClassVar[Mapping[str, int]] = change_sizes(create=2, update=2, stock=10, end=5)
    poll_interval_seconds: ClassVar[int] = 30

    def __init__(self, connection: Any, shop: MemoryShop) -> None:
        super().__init__(connection)
        self.shop = shop

    def _call(self, name: str) -> None:
        self.shop.calls.append(name)
        if self.shop.fail_next:
            raise self.shop.fail_next.pop(0)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        return True

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        return WebhookDelivery(topic=headers.get("topic", ""), shop=self.connection.shop,
                               delivery_id=headers.get("id", ""), payload=json.loads(body))

    def publish_products(self, batch: ChangeBatch) -> list[PushResult]:
        self._call("publish")
        results = []
        for change in batch.changes:
            if change.key in self.shop.refuse:
                results.append(PushResult(change, error=Fatal("title too long")))
                continue
            self.shop.products[change.key] = dict(change.listing.document)
            results.append(PushResult(change, shop_id=f"P-{change.key}", variants={
                v["product_id"]: ShopRef(f"V-{v['product_id']}", {})
                for v in change.listing.document["variants"]}))
        return results

    def update_stock(self, batch: ChangeBatch) -> list[PushResult]:
        self._call("stock")
        for change in batch.changes:
            self.shop.products[change.key]["variants"] = change.listing.document["variants"]
        return [PushResult(change) for change in batch.changes]

    def end_sale(self, batch: ChangeBatch) -> list[PushResult]:
        self._call("end")
        for change in batch.changes:
            self.shop.products.pop(change.key, None)
        return [PushResult(change) for change in batch.changes]

    def order_identity(self, payload: Mapping[str, Any]) -> tuple[str, bool] | None:
        return payload["id"], payload.get("cancelled", False)

    def order_draft(self, payload: Mapping[str, Any],
                    variant_products: Mapping[str, int]) -> OrderDraft | None:
        self.shop.calls.append("draft")
        lines = tuple(OrderDraftLine(shop_line_id=line["id"], product_id=variant_products[
            line["variant"]], sku=line["sku"], quantity=line["qty"], price=Decimal(line["price"]))
            for line in payload["lines"] if variant_products.get(line["variant"]))
        if not lines:
            return None
        return OrderDraft(shop_order_id=payload["id"], number=payload["id"],
                          created_at=payload.get("created_at"), currency="EUR",
                          financial_status=payload.get("status", "paid"), lines=lines,
                          delivery_address=Address(name="Asiakas", street="Katu 1",
                                                   postal_code="00100", city="Helsinki",
                                                   country="FI"),
                          customer=Address(name="Asiakas", email="asiakas@example.test"),
                          cancelled=payload.get("cancelled", False))

    def fetch_orders(self, updated_since: datetime) -> Iterator[Mapping[str, Any]]:
        self._call("orders")
        return iter([o for o in self.shop.orders if o["updated_at"] >= updated_since])

    def push_fulfilment(self, fulfilment: FulfilmentRequest) -> str:
        self._call("fulfil")
        self.shop.fulfilments.append(fulfilment)
        return f"F-{len(self.shop.fulfilments)}"

    def report_cancellation(self, shop_order_id: str, message: str) -> None:
        self._call("note")
        self.shop.notes.append((shop_order_id, message))


class Stage:
    """A supplier's catalog, a retailer with access, a live connection to a memory shop, and a
    spine whose queue the test drains by hand."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.shop = MemoryShop()
        self.clock = FakeClock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
        self.queue = RecordingQueue()
        self.spine = Spine(database=db, settings=SpineSettings(sweep_grace_seconds=0),
                           registry=registry, clock=self.clock, rng=random.Random(1),
                           enqueue=self.queue)
        with db.transaction() as s:
            self.supplier = f.supplier(s, name="Tukku Oy")
            self.retailer = f.retailer(s)
            catalog = f.public_catalog(s, self.supplier)
            f.grant(s, catalog, self.retailer)
            self.products = [f.product(s, self.supplier, f"SKU-{i}") for i in range(5)]
            for product in self.products:
                f.publish(s, product, catalog, quantity=10, price="10.00")
            connection = ShopConnection(
                key="memshop", platform="shopify", shop="mem.myshopify.com",
                retailer_id=self.retailer.id, status="active",
                created_at=self.clock() - timedelta(days=1),
                settings={"catalogs": [catalog.external_id],
                          "pricing": {"basis": "markup", "markup": "2", "fixed": "0",
                                      "ending": "0.90"}})
            s.add(connection)
            s.flush()
            self.connection_id, self.catalog_id = connection.id, catalog.id
            self.product_ids = [p.id for p in self.products]
        sync.use_connector_factory(lambda connection: MemoryConnector(connection, self.shop))

    def run(self) -> sync.RunReport:
        return sync.run_sync(self.spine, self.connection_id)

    def drain(self) -> None:
        """Run what the queue holds: fan-out, event deliveries and sync runs."""
        for _ in range(20):
            outbox.fan_out(self.spine)
            jobs, self.queue.jobs = self.queue.jobs, []
            if not jobs:
                return
            for job, ref, _ in jobs:
                if job == DELIVERY:
                    outbox.deliver(self.spine, ref)
                elif job == sync.SYNC:
                    sync.run_sync(self.spine, ref)
                elif job == FAN_OUT:
                    outbox.fan_out(self.spine)

    def order(self, shop_id: str, *lines: tuple[int, int], **extra: Any) -> dict[str, Any]:
        return {"id": shop_id, "updated_at": self.clock(), **extra,
                "lines": [{"id": f"{shop_id}-L{n}", "variant": f"V-{self.product_ids[i]}",
                           "sku": f"SKU-{i}", "qty": qty, "price": "19.90"}
                          for n, (i, qty) in enumerate(lines)]
                + [{"id": f"{shop_id}-own", "variant": "merchant-1", "sku": "OWN",
                    "qty": 1, "price": "5.00"}]}

    def import_(self, payload: dict[str, Any]) -> sync.Imported:
        with self.db.transaction() as s:
            connection = s.get(ShopConnection, self.connection_id)
            return sync.import_order(s, connection, payload, now=self.clock())


@pytest.fixture
def stage(db: Database) -> Iterator[Stage]:
    yield Stage(db)
    sync.use_connector_factory(None)


def test_a_sync_run_publishes_once_and_a_second_run_sends_nothing(stage: Stage) -> None:
    report = stage.run()
    assert report.outcome == "done" and report.pushed["create"] == 5
    assert len(stage.shop.products) == 5 and stage.shop.calls == ["publish"] * 3
    assert stage.run().pushed == {} and stage.shop.calls == ["publish"] * 3
    with stage.db.sessions() as s:
        assert s.get(ConnectionSync, stage.connection_id).listings == 5


def test_stock_changes_become_one_stock_call_through_the_event_handler(stage: Stage) -> None:
    stage.run()
    stage.shop.calls.clear()
    from core.inventory import upsert_inventory  # the supplier's own path (PUT /inventory)

    with stage.db.transaction() as s:
        supplier = s.get(type(stage.supplier), stage.supplier.id)
        catalog_ext = s.execute(sa.text("select external_id from catalogs where id = :i"),
                                {"i": stage.catalog_id}).scalar()
        failures = upsert_inventory(s, f.acting(supplier), [
            {"product": {"externalId": f"SKU-{i}", "descriptions": {"en": {
                "name": f"Product SKU-{i}"}}},
             "balances": [{"catalogExternalId": catalog_ext, "quantity": 3,
                           "wholesalePrice": 10.0}]} for i in range(5)])
        assert failures == []
    stage.drain()
    assert stage.shop.calls == ["stock"]
    assert all(p["variants"][0]["quantity"] == 3 for p in stage.shop.products.values())


def test_a_refused_listing_is_not_sent_again_until_retried(stage: Stage) -> None:
    key = f"p{stage.product_ids[0]}"
    stage.shop.refuse.add(key)
    report = stage.run()
    assert report.refused == 1 and key not in stage.shop.products
    stage.shop.calls.clear()
    assert stage.run().pushed == {} and stage.shop.calls == []
    with stage.db.transaction() as s:
        connection = s.get(ShopConnection, stage.connection_id)
        health = sync.health(s, connection)
        assert [(x.kind, x.error) for x in health.failures] == [("listing", "title too long")]
        stage.shop.refuse.clear()
        assert sync.retry_failures(s, connection, now=stage.clock())["sync"] == 1
    stage.run()
    assert key in stage.shop.products


def test_a_retriable_failure_reschedules_with_backoff_and_keeps_what_went_through(
        stage: Stage) -> None:
    stage.shop.fail_next = [Retriable("slow down", retry_after=7)]
    stage.shop.calls.clear()
    report = stage.run()
    assert report.outcome == "retry"
    assert stage.queue.jobs[-1] == (sync.SYNC, stage.connection_id,
                                    stage.clock() + timedelta(seconds=7))
    assert stage.run().pushed["create"] == 5


def test_needs_configuration_pauses_the_connection(stage: Stage) -> None:
    stage.shop.fail_next = [NeedsConfiguration("token revoked")]
    assert stage.run().outcome == "paused"
    with stage.db.sessions() as s:
        assert s.get(ShopConnection, stage.connection_id).status == "paused"
    assert stage.run().outcome == "idle"


def test_a_run_while_another_holds_the_lease_asks_it_to_run_again(stage: Stage) -> None:
    assert sync._lease(stage.spine, stage.connection_id, "sync")
    assert stage.run().outcome == "busy"
    with stage.db.sessions() as s:
        assert s.get(ConnectionSync, stage.connection_id).sync_requested


def test_an_order_is_imported_once_with_only_glue_rows(stage: Stage) -> None:
    stage.run()
    payload = stage.order("#1001", (0, 2), (1, 1))
    first = stage.import_(payload)
    assert first.outcome == "imported"
    assert stage.import_(payload).outcome == "duplicate"
    with stage.db.sessions() as s:
        order = s.scalars(sa.select(Order)).one()
        assert order.source == "connection" and order.shop_order_id == "#1001"
        assert sorted((r.external_id, r.quantity) for r in order.rows) == [
            ("#1001-L0", 2), ("#1001-L1", 1)]
        assert {r.price for r in order.rows} == {Decimal("19.90")}


def test_unpaid_held_and_foreign_orders_are_not_imported(stage: Stage) -> None:
    stage.run()
    assert stage.import_(stage.order("#1", (0, 1), status="pending")).outcome == "not_paid"
    assert stage.import_({"id": "#2", "lines": []}).outcome == "ignored"
    with stage.db.transaction() as s:
        connection = s.get(ShopConnection, stage.connection_id)
        connection.settings = {**connection.settings,
                               "order_forwarding": {"trigger": "paid", "hold_minutes": 10}}
    held = stage.import_(stage.order("#3", (0, 1), created_at=stage.clock()))
    assert held.outcome == "held"
    stage.clock.advance(601)
    assert stage.import_(stage.order("#3", (0, 1), created_at=stage.clock() - timedelta(
        seconds=601))).outcome == "imported"


def test_a_shop_cancellation_cancels_what_has_not_shipped(stage: Stage) -> None:
    stage.run()
    stage.import_(stage.order("#7", (0, 2)))
    assert stage.import_(stage.order("#7", (0, 2), cancelled=True)).outcome == "cancelled"
    with stage.db.sessions() as s:
        assert s.scalars(sa.select(Order)).one().status == "Cancelled"


def test_an_order_glue_refuses_raises_and_is_kept_for_retry(stage: Stage) -> None:
    stage.run()
    payload = stage.order("#9", (0, 50))  # only 10 in stock
    with pytest.raises(sync.OrderRefused, match="only 10 available"):
        stage.import_(payload)
    stage.shop.orders.append(payload)
    counts = sync.run_poll(stage.spine, stage.connection_id)
    assert counts == {"seen": 1, "imported": 0, "refused": 1}
    with stage.db.transaction() as s:
        connection = s.get(ShopConnection, stage.connection_id)
        assert [x.kind for x in sync.health(s, connection).failures] == ["order"]
        # the retailer fixes what was refused (here: a quantity the catalog can serve)
        ref = s.scalars(sa.select(ExternalReference).where(
            ExternalReference.kind == "order")).one()
        ref.extra = {**ref.extra, "payload": {**ref.extra["payload"], "lines": [
            {**ref.extra["payload"]["lines"][0], "qty": 5}]}}
    with stage.db.transaction() as s:
        connection = s.get(ShopConnection, stage.connection_id)
        assert sync.retry_failures(s, connection, now=stage.clock())["orders"] == 1
    with stage.db.sessions() as s:
        assert s.scalars(sa.select(Order)).one().shop_order_id == "#9"


def test_delivered_shipments_are_fulfilled_in_the_shop_once(stage: Stage) -> None:
    stage.run()
    stage.import_(stage.order("#20", (0, 1), (1, 2)))
    stage.drain()
    with stage.db.transaction() as s:
        shipment = s.scalars(sa.select(Shipment)).one()
        fast_confirm(s, f.acting(stage.supplier), shipment.shipment_id)
        shipment_id = shipment.shipment_id
    stage.shop.calls.clear()
    stage.drain()
    assert stage.shop.calls[0] == "fulfil"  # before any catalog work the run may also do
    assert len(stage.shop.fulfilments) == 1
    pushed = stage.shop.fulfilments[0]
    assert pushed.shop_order_id == "#20" and pushed.shipment_id == shipment_id
    assert dict(pushed.lines) == {"#20-L0": 1, "#20-L1": 2}
    assert pushed.parcels and pushed.parcels[0].tracking_codes
    assert pushed.parcels[0].tracking_url.endswith(pushed.parcels[0].tracking_codes[0])
    stage.shop.calls.clear()
    assert stage.run().pushed == {} and stage.shop.calls == []  # nothing changed: no diff
    stage.drain()
    assert len(stage.shop.fulfilments) == 1
    with stage.db.sessions() as s:
        ref = s.scalars(sa.select(ExternalReference).where(
            ExternalReference.kind == "fulfilment")).one()
        assert (ref.state, ref.shop_id) == ("active", "F-1")


def test_a_cancelled_shipment_is_reported_on_the_shop_order(stage: Stage) -> None:
    from core.shipments import cancel_shipment

    stage.run()
    stage.import_(stage.order("#30", (0, 1)))
    with stage.db.transaction() as s:
        shipment = s.scalars(sa.select(Shipment)).one()
        cancel_shipment(s, f.acting(stage.supplier), shipment.shipment_id, reason="out of stock")
    stage.drain()
    assert len(stage.shop.notes) == 1
    shop_order, message = stage.shop.notes[0]
    assert shop_order == "#30" and "out of stock" in message and "SKU-0" in message


def test_the_poll_imports_missed_orders_and_moves_its_mark_only_on_success(
        stage: Stage) -> None:
    stage.run()
    stage.shop.orders.append(stage.order("#40", (0, 1)))
    assert sync.run_poll(stage.spine, stage.connection_id)["imported"] == 1
    assert stage.queue.jobs[-1] == (sync.POLL, stage.connection_id,
                                    stage.clock() + timedelta(seconds=30))
    with stage.db.sessions() as s:
        mark = s.get(ConnectionSync, stage.connection_id).orders_since
    assert mark == stage.clock()
    # a failing poll keeps the mark, so the same window is read again
    stage.clock.advance(31)
    stage.shop.fail_next = [Retriable("503")]
    assert sync.run_poll(stage.spine, stage.connection_id)["seen"] == 0
    with stage.db.sessions() as s:
        row = s.get(ConnectionSync, stage.connection_id)
        assert row.orders_since == mark and row.last_error.startswith("Retriable")
    stage.clock.advance(31)
    stage.shop.calls.clear()
    assert sync.run_poll(stage.spine, stage.connection_id) == {
        "seen": 1, "imported": 0, "refused": 0}  # the overlap re-reads it: a duplicate
    assert stage.shop.calls == ["orders"]  # known by its identity, never translated again


def test_a_poll_not_due_yet_does_nothing(stage: Stage) -> None:
    sync.run_poll(stage.spine, stage.connection_id)
    stage.shop.calls.clear()
    sync.run_poll(stage.spine, stage.connection_id)  # the chain's next one is 30 s away
    assert stage.shop.calls == []


def test_the_watchdog_schedules_overdue_polls_and_unsynced_changes(stage: Stage) -> None:
    assert sync.watchdog(stage.spine) == {"polls": 1, "syncs": 1}
    stage.run()
    sync.run_poll(stage.spine, stage.connection_id)
    stage.queue.jobs.clear()
    assert sync.watchdog(stage.spine) == {"polls": 0, "syncs": 0}
    stage.clock.advance(16 * 60)
    assert sync.watchdog(stage.spine) == {"polls": 1, "syncs": 1}
