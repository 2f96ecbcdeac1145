"""Every recorded Mage-OS async-event delivery, verified and parsed."""

from __future__ import annotations

import hashlib
import json

import pytest

from connectors.errors import Fatal
from connectors.magento import webhooks
from connectors.magento.webhooks import OrderEvent, ProductEvent, UnsupportedEvent
from tests.connectors.magento.conftest import TOKEN, cassette_requests, delivery
from webhooks.inbox import magento_key

DELIVERIES = ["sales_order_created.json", "sales_order_updated_shipped.json",
              "catalog_product_created_configurable.json"]


def _raw(name: str) -> tuple[str, bytes, str]:
    sample = delivery(name)
    return (webhooks.event_from_url(sample["url"]), sample["body"].encode("utf-8"),
            sample["headers"]["x-magento-signature"])


@pytest.mark.parametrize("name", DELIVERIES)
def test_every_recorded_delivery_verifies_with_the_verification_token(name: str) -> None:
    _, body, signature = _raw(name)
    assert webhooks.verify(body, signature, TOKEN)
    # and upper-case hex, or the old token next to the new one, verify too
    assert webhooks.verify(body, signature.upper(), f"old-token, {TOKEN}")


@pytest.mark.parametrize("name", DELIVERIES)
def test_a_wrong_token_a_changed_body_or_a_bad_signature_is_refused(name: str) -> None:
    _, body, signature = _raw(name)
    assert not webhooks.verify(body, signature, "wrong-token")
    assert not webhooks.verify(body + b" ", signature, TOKEN)
    assert not webhooks.verify(body, None, TOKEN)
    assert not webhooks.verify(body, "not hex at all", TOKEN)
    assert not webhooks.verify(body, signature, "")


def test_the_order_created_delivery_parses_into_an_order_event() -> None:
    event, body, _ = _raw("sales_order_created.json")
    parsed = webhooks.parse(event, body, shop="http://magento.example.test/")
    assert parsed.topic == "sales.order.created" == event
    assert isinstance(parsed.payload, OrderEvent)
    assert (parsed.payload.order_id, parsed.payload.increment_id, parsed.payload.state) == \
        ("3", "000000003", "new")
    assert parsed.payload.order["extension_attributes"]["shipping_assignments"]
    # the delivery is keyed by subscription and body, as the receiver's inbox keys it
    assert parsed.delivery_id == magento_key(event, body) == \
        f"{event}:{hashlib.sha256(body).hexdigest()}"


def test_the_shipped_update_shows_the_parent_row_shipped() -> None:
    event, body, _ = _raw("sales_order_updated_shipped.json")
    parsed = webhooks.parse(event, body)
    assert event == "sales.order.updated" and parsed.payload.state == "processing"
    shipped = {i["item_id"]: i["qty_shipped"] for i in parsed.payload.order["items"]}
    assert shipped == {3: 1, 4: 0, 5: 0}
    # a later state of the same order is a different delivery
    created_event, created_body, _ = _raw("sales_order_created.json")
    assert parsed.delivery_id != webhooks.parse(created_event, created_body).delivery_id


def test_the_product_delivery_from_the_older_url_scheme_parses() -> None:
    sample = delivery("catalog_product_created_configurable.json")
    assert sample["url"].endswith("/magento/catalog.product.created")
    event, body, _ = _raw("catalog_product_created_configurable.json")
    parsed = webhooks.parse(event, body)
    assert isinstance(parsed.payload, ProductEvent)
    assert (parsed.payload.sku, parsed.payload.type_id) == ("GLUE-HUPPARI", "configurable")


def test_unknown_events_and_malformed_bodies_are_refused() -> None:
    with pytest.raises(UnsupportedEvent):
        webhooks.parse("customer.created", b'{"data": {}}')
    with pytest.raises(Fatal):
        webhooks.parse("sales.order.created", b"not json")
    with pytest.raises(Fatal):
        webhooks.parse("sales.order.created", b'{"data": []}')
    with pytest.raises(Fatal):
        webhooks.parse("sales.order.created", b'{"data": {"state": "new"}}')


def test_the_subscription_body_matches_the_recorded_one() -> None:
    recorded = cassette_requests("mag_async_event_subscribe.yaml")[0][2]
    assert webhooks.subscription(
        "sales.order.created", "http://glue.example.test/glue/magento/sales.order.created",
        TOKEN) == recorded
    with pytest.raises(ValueError):
        webhooks.subscription("nope", "http://x", TOKEN)
    assert json.dumps(recorded)  # the recorded body is plain JSON
