"""The README's first command ends with a connected demo shop: ``glue demo`` records it,
``glue serve`` starts its sandbox, Glue publishes to it, and a purchase in its storefront
comes back as a Glue order whose delivery is fulfilled in the shop."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from connectors.models import ConnectionSync, ExternalReference
from core.models import Order, Shipment
from core.principal import Principal
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
    with db.transaction() as s:
        seed(s)
    pipe = Pipeline(db, settings=SpineSettings(shopify_api_secret=SECRET, sweep_grace_seconds=0,
                                               webhook_allow_private_targets=True))
    server = LoopbackServer(pipe.app).start()
    running = demo_shops.start_demo_shops(db, server.url)
    assert running is not None
    demo_shops.install(pipe.app, running)
    yield pipe, server.url
    running.stop()
    server.stop()


def _form_token(html: str) -> str:
    match = CSRF.search(html)
    assert match
    return match.group(1)


def test_the_demo_shop_gets_the_catalog_and_its_orders_flow_both_ways(
        world, db) -> None:  # noqa: ANN001
    pipe, _ = world
    with db.sessions() as s:
        connection_id = s.scalar(sa.text("select id from shop_connections where key = "
                                         "'demo-shopify'"))
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
        for shipment in s.scalars(sa.select(Shipment).where(Shipment.order_id == order.id)):
            fast_confirm(s, Principal(organization_id=shipment.supplier_id,
                                      permissions=frozenset({"supplier"}), label="test"),
                         shipment.shipment_id)
    pipe.drain()
    with db.sessions() as s:
        pushed = s.scalars(sa.select(ExternalReference.state).where(
            ExternalReference.kind == "fulfilment")).all()
        assert pushed == ["active", "active"]
        assert s.get(ConnectionSync, connection_id).orders_imported == 1

