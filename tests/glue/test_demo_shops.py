"""The README's first command ends with a connected demo shop: ``glue demo`` records it,
``glue serve`` starts its sandbox, Glue publishes to it, and a purchase in its storefront
comes back as a Glue order whose delivery is fulfilled in the shop."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from connectors.models import ConnectionSync, ExternalReference
from core.models import Order, Product, Shipment, ShopConnection
from core.principal import Principal
from core.settings import get_settings
from core.shipments import fast_confirm
from glue.demo import PASSWORD, seed
from sandbox import demo as demo_shops
from sandbox.common import LoopbackServer
from tests.connectors.pipeline import Pipeline
from webhooks.settings import SpineSettings

SECRET = "demo-test-secret"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def world(db, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Pipeline, str]]:  # noqa: ANN001
    monkeypatch.setenv("GLUE_SHOPIFY_API_SECRET", SECRET)
    pipe = Pipeline(db, settings=SpineSettings(shopify_api_secret=SECRET, sweep_grace_seconds=0,
                                               webhook_allow_private_targets=True))
    server = LoopbackServer(pipe.app).start()
    # the demo's product images are served by Glue itself: name this server in their URLs
    monkeypatch.setenv("GLUE_PUBLIC_URL", server.url)
    get_settings.cache_clear()
    with db.transaction() as s:
        seed(s)
    running = demo_shops.start_demo_shops(db, server.url)
    assert running is not None
    demo_shops.install(pipe.app, running)
    yield pipe, server.url
    running.stop()
    server.stop()
    monkeypatch.undo()
    get_settings.cache_clear()


def _deliver_every_shipment(session, order: Order) -> None:  # noqa: ANN001
    """Each supplier confirms its shipment of the order as Delivered."""
    for shipment in session.scalars(sa.select(Shipment).where(Shipment.order_id == order.id)):
        fast_confirm(session, Principal(organization_id=shipment.supplier_id,
                                        permissions=frozenset({"supplier"}), label="test"),
                     shipment.shipment_id)


def _form_token(html: str) -> str:
    match = CSRF.search(html)
    assert match
    return match.group(1)


def test_the_demo_shop_gets_the_catalog_and_its_orders_flow_both_ways(
        world, db) -> None:  # noqa: ANN001
    pipe, _ = world
    with db.transaction() as s:
        connection_id = s.scalar(sa.text("select id from shop_connections where key = "
                                         "'demo-shopify'"))
        # Magento takes several calls per configurable product: a few groups prove the
        # wiring in seconds (the whole catalog is the sandbox's and the bench's business)
        few = s.scalars(sa.select(Product.id).where(Product.external_id.in_(
            ["PR-0001", "PR-0005", "KT-0001", "KT-0005"]))).all()
        for other in s.scalars(sa.select(ShopConnection).where(
                ShopConnection.key.in_(("demo-magento", "demo-woocommerce")))):
            other.settings = {**other.settings, "auto_publish_new": False,
                              "selected_products": list(few)}
    report = pipe.sync(connection_id)
    assert report.outcome == "done" and report.pushed["create"] >= 100

    # only the retailer that owns the connection may open its storefront
    other = pipe.app.test_client()
    assert other.get("/demo-shops/demo-shopify").status_code == 302  # log in first
    login = other.get("/login").get_data(as_text=True)
    other.post("/login", data={"csrf_token": _form_token(login),
                               "email": "kauppias@putiikki.example", "password": PASSWORD})
    assert other.get("/demo-shops/demo-shopify").status_code == 404
    assert other.post("/demo-shops/demo-shopify", data={}).status_code == 400  # no CSRF

    client = pipe.app.test_client()
    login = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"csrf_token": _form_token(login),
                                "email": "kauppias@helmi.example", "password": PASSWORD})
    page = client.get("/demo-shops/demo-shopify").get_data(as_text=True)
    variants = re.findall(r'name="(q-\d+)"', page)
    assert len(variants) >= 400 and "(the merchant" in page
    answer = client.post("/demo-shops/demo-shopify", data={
        "csrf_token": _form_token(page), variants[0]: "1", variants[300]: "1",
        variants[-1]: "1"}, follow_redirects=True)
    assert "placed" in answer.get_data(as_text=True)
    pipe.drain()

    with db.transaction() as s:
        order = s.scalars(sa.select(Order).where(Order.source == "connection")).one()
        assert len(order.rows) == 2  # the merchant's gift card stays in the shop
        _deliver_every_shipment(s, order)
    pipe.drain()
    with db.sessions() as s:
        pushed = s.scalars(sa.select(ExternalReference.state).where(
            ExternalReference.kind == "fulfilment")).all()
        assert pushed == ["active", "active"]
        assert s.get(ConnectionSync, connection_id).orders_imported == 1

    for key in ("demo-magento", "demo-woocommerce"):
        _buy_and_ship_through_the_poll(pipe, db, key)


def _buy_and_ship_through_the_poll(pipe: Pipeline, db, key: str) -> None:  # noqa: ANN001
    with db.sessions() as s:
        connection_id = s.scalar(sa.text("select id from shop_connections where key = :k"),
                                 {"k": key})
    report = pipe.sync(connection_id)
    assert report.outcome == "done", report  # (the drains above may have published)
    with db.sessions() as s:
        row = s.get(ConnectionSync, connection_id)
        assert row.listings == 4, (report, row.last_error, list(row.refused.items())[:2])
    shop = pipe.app.extensions["glue.demo_shops"].shops[key]
    products = shop.products()
    glue_ids = [p["id"] for p in products if p["glue"] and p["stock"] > 0]
    own = [p["id"] for p in products if not p["glue"]]
    assert len(glue_ids) == 16 and len(own) == 1  # four groups of four, the merchant's one
    shop.checkout([{"id": glue_ids[0], "quantity": 1}, {"id": glue_ids[-1], "quantity": 2},
                   {"id": own[0], "quantity": 1}])
    assert pipe.poll(connection_id)["imported"] == 1
    with db.transaction() as s:
        order = s.scalars(sa.select(Order).where(Order.shop_connection_id == connection_id)).one()
        assert sorted(r.quantity for r in order.rows) == [1, 2]
        _deliver_every_shipment(s, order)
    pipe.drain()
    with db.sessions() as s:
        assert s.scalars(sa.select(ExternalReference.state).where(
            ExternalReference.connection_id == connection_id,
            ExternalReference.kind == "fulfilment")).all() == ["active", "active"]
