"""Every recorded WooCommerce delivery: signatures, the unsigned ping, parsing, dedup keys."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from connectors.errors import Fatal
from connectors.woocommerce import webhooks
from tests.connectors.woocommerce.conftest import DELIVERIES, WEBHOOK_SECRET, delivery

SIGNED = sorted(p.stem for p in DELIVERIES.glob("*.json") if p.stem != "webhook_ping")


def raw(name: str) -> tuple[dict[str, str], bytes]:
    sample = delivery(name)
    return sample["headers"], sample["body"].encode("utf-8")


@pytest.mark.parametrize("name", SIGNED)
def test_every_recorded_delivery_verifies_with_the_webhook_secret(name: str) -> None:
    headers, body = raw(name)
    assert webhooks.verify(body, headers["X-WC-Webhook-Signature"], WEBHOOK_SECRET)


@pytest.mark.parametrize("name", SIGNED)
def test_a_changed_byte_a_wrong_secret_or_no_signature_fails(name: str) -> None:
    headers, body = raw(name)
    signature = headers["X-WC-Webhook-Signature"]
    assert not webhooks.verify(body + b" ", signature, WEBHOOK_SECRET)
    assert not webhooks.verify(body, signature, "another-secret")
    assert not webhooks.verify(body, None, WEBHOOK_SECRET)
    assert not webhooks.verify(body, signature, "")
    assert not webhooks.verify(body, "not base64!", WEBHOOK_SECRET)


def test_the_signature_is_base64_of_hmac_sha256_over_the_raw_body() -> None:
    body = b'{"id":1}'
    signature = base64.b64encode(hmac.new(b"s", body, hashlib.sha256).digest()).decode()
    assert webhooks.verify(body, signature, "s")
    hexdigest = hmac.new(b"s", body, hashlib.sha256).hexdigest()  # Magento's form: refused
    assert not webhooks.verify(body, hexdigest, "s")


def test_the_ping_is_recognised_and_never_parsed_as_a_delivery() -> None:
    headers, body = raw("webhook_ping")
    assert webhooks.is_ping(headers, body)
    assert webhooks.ping_webhook_id(body) == "6"
    with pytest.raises(webhooks.UnsupportedTopic):
        webhooks.parse(headers, body)


@pytest.mark.parametrize("name", SIGNED)
def test_signed_deliveries_are_not_pings(name: str) -> None:
    assert not webhooks.is_ping(*raw(name))


def test_a_form_body_with_a_topic_header_is_not_a_ping() -> None:
    assert not webhooks.is_ping({"X-WC-Webhook-Topic": "order.created"}, b"webhook_id=6")


def test_an_order_delivery_parses_to_an_order_event() -> None:
    headers, body = raw("order_created")
    parsed = webhooks.parse({k.lower(): v for k, v in headers.items()}, body)
    assert parsed.topic == "order.created" and parsed.shop == "https://woo.example.test"
    assert parsed.payload.order_id == "29" and parsed.payload.status == "processing"
    assert parsed.payload.event == "created"
    assert parsed.payload.order["line_items"][0]["variation_id"] == 21
    assert parsed.extra == {"webhook_id": "1",
                            "wc_delivery_id": "0b4c2ef7f0e21d0c78c1edf3f4de2483"}


def test_variation_deliveries_name_their_parent() -> None:
    parsed = webhooks.parse(*raw("product_updated_variation_stock"))
    assert parsed.topic == "product.updated"
    assert (parsed.payload.product_id, parsed.payload.parent_id) == ("21", "18")
    assert parsed.payload.type == "variation" and parsed.payload.stock_quantity == 8
    simple = webhooks.parse(*raw("product_created_simple_gtin")).payload
    assert simple.parent_id is None and simple.sku == "GLUE-KASSI"


def test_the_shared_delivery_id_does_not_merge_different_deliveries() -> None:
    # given three product.created deliveries of one queue run, all with one Delivery-ID
    names = ["product_created_variable", "product_created_variation",
             "product_created_simple_gtin"]
    assert len({delivery(n)["headers"]["X-WC-Webhook-Delivery-ID"] for n in names}) == 1
    # then their keys still differ
    assert len({webhooks.parse(*raw(n)).delivery_id for n in names}) == 3


def test_byte_identical_created_and_updated_bodies_are_two_deliveries() -> None:
    created, updated = raw("order_created"), raw("order_updated")
    assert created[1] == updated[1]
    keys = {webhooks.parse(*created).delivery_id, webhooks.parse(*updated).delivery_id}
    assert len(keys) == 2  # webhook 1 (created) and webhook 2 (updated)
    # and the same delivery twice is the same key
    assert webhooks.parse(*created).delivery_id == webhooks.parse(*created).delivery_id
    assert webhooks.parse(*created).delivery_id.startswith("1:29:")


def test_a_later_state_of_the_same_order_is_a_new_delivery() -> None:
    first = webhooks.parse(*raw("order_updated")).delivery_id
    later = webhooks.parse(*raw("order_updated_completed_tracking")).delivery_id
    assert first != later and later.startswith("2:29:")


def test_unsupported_topics_and_bad_bodies_are_fatal() -> None:
    with pytest.raises(webhooks.UnsupportedTopic):
        webhooks.parse({"X-WC-Webhook-Topic": "coupon.created"}, b"{}")
    with pytest.raises(Fatal):
        webhooks.parse({"X-WC-Webhook-Topic": "order.updated"}, b"[1]")
    with pytest.raises(Fatal):
        webhooks.parse({"X-WC-Webhook-Topic": "order.updated"}, b"\xff")


@pytest.mark.parametrize("name", SIGNED)
def test_the_key_is_the_one_the_receiver_stores_deliveries_under(name: str) -> None:
    # the receiver deduplicates the inbox by this key before the worker parses: one rule
    from webhooks.inbox import woocommerce_key

    headers, body = raw(name)
    assert webhooks.parse(headers, body).delivery_id == woocommerce_key(
        headers["X-WC-Webhook-ID"], body)
