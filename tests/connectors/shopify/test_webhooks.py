"""Shopify webhook signatures and parsing of the topics Glue subscribes to."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from connectors.errors import Fatal
from connectors.shopify import webhooks

SECRET = "shpss_test_app_secret"
BODY = (Path(__file__).parent / "payloads" / "orders_create.json").read_bytes()


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def headers(topic: str, body: bytes) -> dict[str, str]:
    return {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": sign(body),
            "X-Shopify-Shop-Domain": "glue-demo.myshopify.com",
            "X-Shopify-API-Version": "2026-07",
            "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
            "X-Shopify-Triggered-At": "2026-11-26T19:54:11.123Z"}


def test_a_correct_signature_over_the_raw_body_verifies() -> None:
    assert webhooks.verify(BODY, sign(BODY), SECRET)


@pytest.mark.parametrize("signature", [
    None, "", "not base64!", sign(BODY, "other-secret"), sign(BODY + b" "),
    sign(BODY)[:-4],
])
def test_bad_signatures_are_refused_without_raising(signature: str | None) -> None:
    assert webhooks.verify(BODY, signature, SECRET) is False


def test_reparsed_json_does_not_verify() -> None:
    # the signature covers the bytes as sent; re-serialised JSON is different bytes
    reencoded = json.dumps(json.loads(BODY)).encode()
    assert not webhooks.verify(reencoded, sign(BODY), SECRET)


def test_during_a_secret_rotation_both_secrets_verify() -> None:
    assert webhooks.verify(BODY, sign(BODY, "old"), f"{SECRET},old")
    assert webhooks.verify(BODY, sign(BODY), f"{SECRET},old")


def test_no_secret_verifies_nothing() -> None:
    assert not webhooks.verify(BODY, sign(BODY, ""), "")


@pytest.mark.parametrize("topic", ["orders/create", "orders/paid", "orders/cancelled"])
def test_order_topics_parse_to_order_events(topic: str) -> None:
    delivery = webhooks.parse(headers(topic, BODY), BODY)
    assert delivery.topic == topic and delivery.shop == "glue-demo.myshopify.com"
    assert delivery.delivery_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert delivery.extra["event_id"] == "98880550-7158-44d4-b7cd-2c97c8a091b5"
    assert delivery.triggered_at.isoformat() == "2026-11-26T19:54:11.123000+00:00"
    event = delivery.payload
    assert isinstance(event, webhooks.OrderEvent)
    assert event.order_id == "gid://shopify/Order/820982911946154508"
    assert event.number == "#9999" and event.financial_status == "paid"
    assert event.cancelled_at is None and event.order["line_items"]


def test_header_names_are_case_insensitive() -> None:
    lowered = {k.lower(): v for k, v in headers("orders/paid", BODY).items()}
    assert webhooks.parse(lowered, BODY).topic == "orders/paid"


def test_app_uninstalled() -> None:
    body = json.dumps({"id": 548380009, "name": "Glue Demo", "domain": "shop.example.test",
                       "myshopify_domain": "glue-demo.myshopify.com"}).encode()
    payload = webhooks.parse(headers("app/uninstalled", body), body).payload
    assert payload == webhooks.AppUninstalled(shop_id="548380009",
                                              myshopify_domain="glue-demo.myshopify.com")


def test_customers_redact() -> None:
    body = json.dumps({"shop_id": 954889, "shop_domain": "glue-demo.myshopify.com",
                       "customer": {"id": 191167, "email": "john@example.com",
                                    "phone": "555-625-1199"},
                       "orders_to_redact": [299938, 280263]}).encode()
    payload = webhooks.parse(headers("customers/redact", body), body).payload
    assert isinstance(payload, webhooks.CustomersRedact)
    assert payload.customer_id == "gid://shopify/Customer/191167"
    assert payload.email == "john@example.com"
    assert payload.orders == ("gid://shopify/Order/299938", "gid://shopify/Order/280263")


def test_shop_redact() -> None:
    body = json.dumps({"shop_id": 954889, "shop_domain": "glue-demo.myshopify.com"}).encode()
    payload = webhooks.parse(headers("shop/redact", body), body).payload
    assert payload == webhooks.ShopRedact(shop_id="954889",
                                          shop_domain="glue-demo.myshopify.com")


def test_customers_data_request() -> None:
    body = json.dumps({"shop_id": 954889, "shop_domain": "glue-demo.myshopify.com",
                       "orders_requested": [299938],
                       "customer": {"id": 191167, "email": "john@example.com", "phone": None},
                       "data_request": {"id": 9999}}).encode()
    payload = webhooks.parse(headers("customers/data_request", body), body).payload
    assert isinstance(payload, webhooks.CustomersDataRequest)
    assert payload.request_id == "9999" and payload.phone == ""
    assert payload.orders == ("gid://shopify/Order/299938",)


def test_unsupported_topic_and_bad_bodies() -> None:
    with pytest.raises(webhooks.UnsupportedTopic):
        webhooks.parse(headers("products/update", b"{}"), b"{}")
    with pytest.raises(Fatal):
        webhooks.parse(headers("orders/paid", b"not json"), b"not json")
    with pytest.raises(Fatal):
        webhooks.parse(headers("orders/paid", b"[1]"), b"[1]")
