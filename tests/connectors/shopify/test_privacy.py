"""Shopify's uninstall and privacy topics through Glue's receiver, inbox and handlers:
``app/uninstalled``, ``customers/redact``, ``shop/redact``, ``customers/data_request``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from connectors import sync
from connectors.base import ConnectionContext
from connectors.models import ExternalReference
from connectors.shopify import ShopifyConnector
from connectors.shopify import sync as shopify_sync
from connectors.shopify.privacy import REDACTED
from core.crypto import encrypt
from core.models import Event, Order, ShopConnection
from tests import factories as f
from tests.connectors.pipeline import Pipeline
from webhooks.settings import SpineSettings

SECRET = "shpss_privacy_secret"
SHOP = "kauppa.myshopify.com"
VARIANT = "gid://shopify/ProductVariant/808950811"


class Shop:
    """A live Shopify connection with one published product, and a way to deliver webhooks
    to Glue's receiver as Shopify signs them."""

    def __init__(self, db) -> None:  # noqa: ANN001
        self.db = db
        self.pipe = Pipeline(db, settings=SpineSettings(
            sweep_grace_seconds=0, webhook_allow_private_targets=True,
            shopify_api_secret=SECRET))
        self.receiver = self.pipe.app.test_client()
        with db.transaction() as s:
            supplier, retailer = f.supplier(s, name="Tukku Oy"), f.retailer(s, name="Kauppa")
            catalog = f.public_catalog(s, supplier)
            f.grant(s, catalog, retailer)
            product = f.product(s, supplier, "SKU-1")
            f.publish(s, product, catalog, quantity=50)
            connection = ShopConnection(
                key="privacy", platform="shopify", shop=SHOP, retailer_id=retailer.id,
                status="active", credentials=encrypt(json.dumps({"access_token": "shpat_x"})),
                settings={"catalogs": [catalog.external_id],
                          "platform": {"location_id": "gid://shopify/Location/1"}})
            s.add(connection)
            s.flush()
            s.add(ExternalReference(connection_id=connection.id, kind="variant",
                                    glue_id=str(product.id), shop_id=VARIANT))
            self.connection_id, self.retailer_id = connection.id, retailer.id

    def order(self, number: int, email: str, phone: str, name: str) -> dict[str, Any]:
        first, last = name.split()
        address = {"first_name": first, "last_name": last, "name": name,
                   "address1": "Kauppakatu 1", "zip": "40100", "city": "Jyväskylä",
                   "country_code": "FI", "phone": phone}
        return {"id": number, "admin_graphql_api_id": f"gid://shopify/Order/{number}",
                "name": f"#{number}", "email": email, "financial_status": "paid",
                "created_at": "2026-11-26T10:00:00+02:00", "currency": "EUR",
                "total_price": "24.90", "customer": {"id": number * 10, "email": email},
                "shipping_address": address, "billing_address": address,
                "line_items": [{"id": number * 100, "variant_id": 808950811, "sku": "SKU-1",
                                "name": "Paita", "quantity": 1, "price": "24.90"}]}

    def deliver(self, topic: str, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        signature = base64.b64encode(hmac.new(SECRET.encode(), body,
                                              hashlib.sha256).digest()).decode()
        answer = self.receiver.post("/webhooks/shopify", data=body, headers={
            "Content-Type": "application/json", "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature, "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-API-Version": "2026-07"})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        self.pipe.drain()

    def connection(self) -> ShopConnection:
        with self.db.sessions() as s:
            return s.get(ShopConnection, self.connection_id)

    def orders(self) -> dict[str, Order]:
        with self.db.sessions() as s:
            return {o.shop_order_id: o for o in s.scalars(
                sa.select(Order).options(selectinload(Order.rows)))}


@pytest.fixture
def shop(db) -> Iterator[Shop]:  # noqa: ANN001
    yield Shop(db)
    sync.use_connector_factory(None)


def compliance(shop_id: int = 548380009, **extra: Any) -> dict[str, Any]:
    return {"shop_id": shop_id, "shop_domain": SHOP, **extra}


def two_customers(shop: Shop) -> None:
    shop.deliver("orders/create", shop.order(1001, "aino@example.com", "+358401111111",
                                             "Aino Asiakas"))
    shop.deliver("orders/create", shop.order(1002, "ville@example.com", "+358402222222",
                                             "Ville Vieras"))
    assert len(shop.orders()) == 2


def test_orders_arrive_through_the_order_topics_once(shop: Shop) -> None:
    payload = shop.order(1001, "aino@example.com", "+358401111111", "Aino Asiakas")
    shop.deliver("orders/create", payload)
    shop.deliver("orders/paid", payload)  # the same order again, as a second topic
    [order] = shop.orders().values()
    assert order.shop_order_id == "gid://shopify/Order/1001" and order.status != "Cancelled"
    shop.deliver("orders/cancelled", {**payload, "cancelled_at": "2026-11-26T11:00:00Z"})
    assert shop.orders()["gid://shopify/Order/1001"].status == "Cancelled"


def test_app_uninstalled_stops_all_calls_and_marks_the_connection(shop: Shop) -> None:
    calls: list[str] = []

    def counting(connection: ShopConnection) -> ShopifyConnector:
        calls.append(connection.key)
        return ShopifyConnector(ConnectionContext.from_model(connection))

    sync.use_connector_factory(counting)
    shop.deliver("app/uninstalled", {"id": 548380009, "name": "Kauppa",
                                     "domain": SHOP, "myshopify_domain": SHOP})
    connection = shop.connection()
    assert connection.status == "uninstalled" and connection.credentials is None
    # no sync run, poll or order import builds a connector for it any more
    assert shop.pipe.sync(shop.connection_id).outcome == "idle"
    shop.pipe.poll(shop.connection_id)
    shop.deliver("orders/create", shop.order(1003, "aino@example.com", "+3584011", "A B"))
    assert calls == [] and shop.orders() == {}
    with shop.db.sessions() as s:
        assert s.scalars(sa.select(Event.type).order_by(Event.id.desc())).first() == \
            "shop_connection.uninstalled"
    # the data stays until shop/redact: the settings (catalogs) are kept for a reinstall
    assert connection.settings["catalogs"]


def test_customers_redact_anonymises_only_that_customer(shop: Shop) -> None:
    two_customers(shop)
    request = compliance(customer={"id": 10010, "email": "aino@example.com",
                                   "phone": "+358401111111"}, orders_to_redact=[1001])
    shop.deliver("customers/redact", request)
    orders = shop.orders()
    redacted, kept = orders["gid://shopify/Order/1001"], orders["gid://shopify/Order/1002"]
    for party in ("client", "deliveryAddress"):
        assert {redacted.parties[party][k] for k in ("name", "email", "telephone",
                                                     "streetAddress")} == {REDACTED}
        assert redacted.parties[party].get("country") == "FI"  # not personal on its own
    assert kept.parties["deliveryAddress"]["name"] == "Ville Vieras"
    # rows and money stay for the supplier's and retailer's books
    assert len(redacted.rows) == 1 and redacted.total_price == Decimal("24.90")
    # a second delivery of the same request changes nothing
    shop.deliver("customers/redact", request)
    assert shop.orders()["gid://shopify/Order/1001"].parties == redacted.parties


def test_customers_redact_also_clears_a_refused_orders_stored_payload(shop: Shop) -> None:
    with shop.db.transaction() as s:
        s.add(ExternalReference(connection_id=shop.connection_id, kind="order",
                                glue_id="gid://shopify/Order/1009", shop_id="", state="failed",
                                extra={"number": "#1009", "error": "out of stock",
                                       "payload": shop.order(1009, "aino@example.com",
                                                             "+358401111111", "Aino A")}))
    shop.deliver("customers/redact", compliance(
        customer={"id": 1, "email": "AINO@example.com", "phone": ""}, orders_to_redact=[]))
    with shop.db.sessions() as s:
        ref = s.scalars(sa.select(ExternalReference).where(
            ExternalReference.kind == "order")).one()
        assert ref.extra["payload"] is None and ref.extra["error"] == "out of stock"


def test_shop_redact_deletes_the_shops_data(shop: Shop) -> None:
    two_customers(shop)
    shop.deliver("app/uninstalled", {"id": 1, "myshopify_domain": SHOP})
    shop.deliver("shop/redact", compliance())
    connection = shop.connection()
    assert connection.status == "redacted" and connection.credentials is None
    assert connection.settings == {}
    assert all(o.parties["client"]["email"] == REDACTED for o in shop.orders().values())
    with shop.db.sessions() as s:
        assert s.scalars(sa.select(ExternalReference).where(
            ExternalReference.connection_id == shop.connection_id)).all() == []


def test_customers_data_request_produces_a_document_for_the_retailer(shop: Shop) -> None:
    two_customers(shop)
    request = compliance(customer={"id": 10010, "email": "aino@example.com",
                                   "phone": "+358401111111"}, orders_requested=[1001],
                         data_request={"id": 9999})
    shop.deliver("customers/data_request", request)
    shop.deliver("customers/data_request", request)  # a redelivery: one document
    with shop.db.sessions() as s:
        [document] = shopify_sync.data_requests(s, shop.connection_id)
        event = s.scalars(sa.select(Event).where(
            Event.type == "shop_connection.data_requested")).one()
    assert event.organization_ids == [shop.retailer_id]
    assert document["request_id"] == "9999"
    [order] = document["orders"]
    assert order["shop_order_id"] == "gid://shopify/Order/1001"
    assert order["deliveryAddress"]["name"] == "Aino Asiakas"
    assert order["rows"][0]["quantity"] == 1
    assert "ville" not in json.dumps(document).lower()  # nobody else's data
    assert datetime.fromisoformat(document["requested_at"]).year >= 2026
    # and once the customer is redacted, the document goes too
    shop.deliver("customers/redact", compliance(customer={
        "id": 10010, "email": "aino@example.com", "phone": ""}, orders_to_redact=[1001]))
    with shop.db.sessions() as s:
        assert shopify_sync.data_requests(s, shop.connection_id) == []
