"""The Shopify connector's contract methods, against replayed Shopify exchanges."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import vcr

from connectors.base import (
    ConnectionContext,
    ConnectionSettings,
    FulfilmentParcel,
    FulfilmentRequest,
)
from connectors.errors import Retriable
from connectors.publish import ChangeBatch, Listing, ListingChange, ShopRef
from connectors.shopify import ShopifyConnector, translate
from connectors.shopify import client as client_module
from connectors.shopify.client import ShopifyClient, ShopifyUserErrors
from tests.connectors.shopify.conftest import SHOP, FakeTime

LOCATION = "gid://shopify/Location/76543"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The GraphQL documents the client actually sent, decoded."""
    bodies: list[dict[str, Any]] = []
    real = client_module.urllib.request.urlopen

    def spy(request: Any, timeout: float | None = None) -> Any:
        bodies.append(json.loads(request.data))
        return real(request, timeout=timeout)

    monkeypatch.setattr(client_module.urllib.request, "urlopen", spy)
    return bodies


def connector(fake_time: FakeTime, **settings: Any) -> ShopifyConnector:
    context = ConnectionContext(
        id=5, key="conn-5", platform="shopify", shop=SHOP, retailer_id=1,
        credentials={"access_token": "shpat_token"},
        settings=ConnectionSettings.from_json({"platform": {"location_id": LOCATION},
                                               **settings}))
    client = ShopifyClient(SHOP, "shpat_token", sleep=fake_time.sleep, clock=fake_time.clock)
    return ShopifyConnector(context, client=client, secret="app-secret")


def shirt_listing(quantities: tuple[int, int] = (3, 0)) -> Listing:
    document = {"key": "g12:SHIRT", "title": "Paita", "short_description": "",
                "description": "", "vendor": "Tukku Oy", "images": [],
                "options": ["Koko"], "variants": [
                    {"product_id": 201, "sku": "SHIRT-L-RED", "barcode": None,
                     "price": "24.90", "currency": "EUR", "options": [["Koko", "L"]],
                     "weight_kg": None, "quantity": quantities[0]},
                    {"product_id": 202, "sku": "SHIRT-M-RED", "barcode": "6410000000017",
                     "price": "24.90", "currency": "EUR", "options": [["Koko", "M"]],
                     "weight_kg": None, "quantity": quantities[1]}]}
    return Listing("g12:SHIRT", document, "c" * 64, "f" * 64, (201, 202))


VARIANT_REFS = {
    201: ShopRef("gid://shopify/ProductVariant/43729076",
                 {"inventory_item_id": "gid://shopify/InventoryItem/43729001",
                  "product_id": "gid://shopify/Product/20995642"}),
    202: ShopRef("gid://shopify/ProductVariant/43729077",
                 {"inventory_item_id": "gid://shopify/InventoryItem/43729002",
                  "product_id": "gid://shopify/Product/20995642"}),
}


def test_publish_creates_by_handle_and_reports_the_shop_ids(
        replay: vcr.VCR, fake_time: FakeTime, sent: list[dict[str, Any]]) -> None:
    change = ListingChange("create", "g12:SHIRT", shirt_listing())
    with replay.use_cassette("product_set_create.yaml") as cassette:
        results = connector(fake_time).publish_products(ChangeBatch("create", (change,)))
    assert cassette.all_played
    # the create is an upsert by Glue's handle, stocked at Glue's location
    variables = sent[0]["variables"]
    assert variables["identifier"] == {"handle": translate.handle_for("g12:SHIRT")}
    assert variables["input"]["variants"][0]["inventoryQuantities"][0]["locationId"] == LOCATION
    # and the result maps every Glue product to its shop variant and inventory item
    [result] = results
    assert result.shop_id == "gid://shopify/Product/20995642"
    assert result.variants[201].shop_id == "gid://shopify/ProductVariant/43729076"
    assert result.variants[202].extra["inventory_item_id"] == \
        "gid://shopify/InventoryItem/43729002"


def test_an_update_upserts_by_the_recorded_product_id(
        replay: vcr.VCR, fake_time: FakeTime, sent: list[dict[str, Any]]) -> None:
    change = ListingChange("update", "g12:SHIRT", shirt_listing(),
                           ShopRef("gid://shopify/Product/20995642", {}), VARIANT_REFS)
    with replay.use_cassette("product_set_create.yaml"):
        connector(fake_time).publish_products(ChangeBatch("update", (change,)))
    variables = sent[0]["variables"]
    assert variables["identifier"] == {"id": "gid://shopify/Product/20995642"}
    assert [v["id"] for v in variables["input"]["variants"]] == [
        "gid://shopify/ProductVariant/43729076", "gid://shopify/ProductVariant/43729077"]


def test_variants_recorded_under_another_shop_product_are_not_reused(
        replay: vcr.VCR, fake_time: FakeTime, sent: list[dict[str, Any]]) -> None:
    # given product 202 was earlier published alone, as another shop product
    moved = {**VARIANT_REFS, 202: ShopRef("gid://shopify/ProductVariant/1",
                                          {"product_id": "gid://shopify/Product/1"})}
    change = ListingChange("update", "g12:SHIRT", shirt_listing(),
                           ShopRef("gid://shopify/Product/20995642", {}), moved)
    with replay.use_cassette("product_set_create.yaml"):
        connector(fake_time).publish_products(ChangeBatch("update", (change,)))
    # then its old variant id is not sent: Shopify creates a new variant in this product
    assert [v.get("id") for v in sent[0]["variables"]["input"]["variants"]] == [
        "gid://shopify/ProductVariant/43729076", None]


def test_a_refused_product_carries_its_error_and_the_batch_goes_on(
        replay: vcr.VCR, fake_time: FakeTime) -> None:
    # given four creates: the shop accepts the first, refuses the second, fails on the third
    changes = tuple(ListingChange("create", f"g12:SHIRT{i}", shirt_listing()) for i in range(4))
    with replay.use_cassette("product_set_mixed.yaml") as cassette:
        results = connector(fake_time).publish_products(ChangeBatch("create", changes))
    assert cassette.all_played
    # then one result per change, in order: done, refused (Fatal), and the server error
    # stops the batch, the unsent fourth carrying it too
    assert [r.change for r in results] == list(changes)
    assert results[0].ok and results[0].shop_id == "gid://shopify/Product/20995642"
    assert isinstance(results[1].error, ShopifyUserErrors)
    assert "already exists" in results[1].error.message
    assert isinstance(results[2].error, Retriable) and results[3].error is results[2].error


def test_stock_updates_send_only_quantities(replay: vcr.VCR, fake_time: FakeTime,
                                            sent: list[dict[str, Any]]) -> None:
    change = ListingChange("stock", "g12:SHIRT", shirt_listing((7, 1)),
                           ShopRef("gid://shopify/Product/20995642", {}), VARIANT_REFS)
    with replay.use_cassette("inventory_set.yaml") as cassette:
        results = connector(fake_time).update_stock(ChangeBatch("stock", (change,)))
    assert cassette.all_played and [r.change for r in results] == [change]
    assert results[0].ok
    data = sent[0]["variables"]["input"]
    assert data["quantities"] == [
        {"inventoryItemId": "gid://shopify/InventoryItem/43729001", "locationId": LOCATION,
         "quantity": 7},
        {"inventoryItemId": "gid://shopify/InventoryItem/43729002", "locationId": LOCATION,
         "quantity": 1}]
    assert data["referenceDocumentUri"].startswith("gid://glue/Connection/5/")


def test_end_of_sale_zero_stock_sets_every_variant_to_zero(
        replay: vcr.VCR, fake_time: FakeTime, sent: list[dict[str, Any]]) -> None:
    change = ListingChange("end", "g12:SHIRT", None,
                           ShopRef("gid://shopify/Product/20995642", {}), VARIANT_REFS,
                           end_action="zero_stock")
    with replay.use_cassette("inventory_set.yaml"):
        results = connector(fake_time).end_sale(ChangeBatch("end", (change,)))
    assert len(results) == 1 and results[0].ok
    assert {q["quantity"] for q in sent[0]["variables"]["input"]["quantities"]} == {0}


def test_fulfilment_goes_through_the_orders_fulfillment_orders(
        replay: vcr.VCR, fake_time: FakeTime, sent: list[dict[str, Any]]) -> None:
    request = FulfilmentRequest(
        shop_order_id="gid://shopify/Order/820982911946154508", shipment_id="S-1",
        lines={"gid://shopify/LineItem/866550311766439020": 2}, carrier="Posti",
        parcels=(FulfilmentParcel(("JJFI6000000000001",)),
                 FulfilmentParcel(("JJFI6000000000002",))), notify_customer=True)
    with replay.use_cassette("fulfillment_create.yaml") as cassette:
        fulfilment_id = connector(fake_time).push_fulfilment(request)
    assert cassette.all_played and fulfilment_id == "gid://shopify/Fulfillment/1069019882"
    fulfillment = sent[1]["variables"]["fulfillment"]
    assert fulfillment["trackingInfo"] == {"company": "Posti",
                                           "numbers": ["JJFI6000000000001", "JJFI6000000000002"]}
    # only the supplier's line; the merchant's own line (second fulfillment order) untouched
    assert fulfillment["lineItemsByFulfillmentOrder"] == [
        {"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1046000779",
         "fulfillmentOrderLineItems": [
             {"id": "gid://shopify/FulfillmentOrderLineItem/1072503290", "quantity": 2}]}]
    assert fulfillment["notifyCustomer"] is True


def test_reconciliation_poll_pages_through_orders_updated_since(
        replay: vcr.VCR, fake_time: FakeTime, sent: list[dict[str, Any]]) -> None:
    shop = connector(fake_time)
    with replay.use_cassette("orders_poll.yaml") as cassette:
        orders = list(shop.fetch_orders(datetime(2026, 11, 26, 9, 55, tzinfo=UTC)))
    assert cassette.all_played and [o["name"] for o in orders] == ["#1001", "#1002"]
    assert sent[0]["variables"] == {"query": "updated_at:>='2026-11-26T09:55:00Z'",
                                    "after": None}
    assert sent[1]["variables"]["after"] == "eyJsYXN0X2lkIjoxMDAxfQ=="
    # the polled shape translates like a webhook: only the mapped variant's order is Glue's
    drafts = [shop.order_draft(o, {"gid://shopify/ProductVariant/808950811": 102})
              for o in orders]
    assert drafts[0].lines[0].product_id == 102 and drafts[1] is None
    assert drafts[0].delivery_address.city == "Jyväskylä"


def test_connector_verifies_webhooks_with_the_app_secret(fake_time: FakeTime) -> None:
    body = b'{"id": 1}'
    signature = base64.b64encode(hmac.new(b"app-secret", body, hashlib.sha256).digest())
    shop = connector(fake_time)
    assert shop.verify_webhook({"x-shopify-hmac-sha256": signature.decode()}, body)
    assert not shop.verify_webhook({"X-Shopify-Hmac-Sha256": signature.decode()}, body + b" ")


def test_stock_without_recorded_variants_asks_for_a_full_update(fake_time: FakeTime) -> None:
    change = ListingChange("stock", "g12:SHIRT", shirt_listing(),
                           ShopRef("gid://shopify/Product/20995642", {}), {201: VARIANT_REFS[201]})
    [result] = connector(fake_time).update_stock(ChangeBatch("stock", (change,)))
    assert result.error is not None and "full update" in result.error.message


def test_a_cancelled_shipment_is_noted_and_tagged_on_the_order(
        replay: vcr.VCR, fake_time: FakeTime, sent: list[dict[str, Any]]) -> None:
    with replay.use_cassette("order_flag.yaml") as cassette:
        connector(fake_time).report_cancellation(
            "gid://shopify/Order/820982911946154508",
            "Glue: Tukku Oy cancelled shipment S-1 (out of stock); refund 2 × SHIRT-M.")
    assert cassette.all_played
    variables = sent[1]["variables"]
    # the merchant's own note is kept, the message appended; nothing is cancelled or refunded
    assert variables["input"]["note"].startswith("Ovikoodi 1234\nGlue: Tukku Oy cancelled")
    assert variables["tags"] == ["glue-shipment-cancelled"]
    assert "orderCancel" not in sent[1]["query"] and "refund" not in sent[1]["query"]


def test_an_order_with_more_lines_than_a_page_gets_the_rest_by_its_own_query(
        replay: vcr.VCR, fake_time: FakeTime, sent: list[dict[str, Any]]) -> None:
    with replay.use_cassette("orders_poll_long_order.yaml") as cassette:
        [order] = list(connector(fake_time).fetch_orders(datetime(2026, 11, 26, tzinfo=UTC)))
    assert cassette.all_played
    # the second call asks for that order's lines after the cursor the first page ended at
    assert "GlueOrderLineItems" in sent[1]["query"]
    assert sent[1]["variables"] == {"id": "gid://shopify/Order/1003",
                                    "after": "eyJsYXN0X2lkIjoxMDAzMDl9"}
    assert [line["sku"] for line in order["lineItems"]["nodes"]] == [
        f"MUG-{i}" for i in range(13)]


def test_a_fulfillment_order_with_more_lines_than_a_page_is_paged_before_fulfilling(
        replay: vcr.VCR, fake_time: FakeTime, sent: list[dict[str, Any]]) -> None:
    lines = {f"gid://shopify/LineItem/77{i:02d}": 1 for i in range(30)}
    request = FulfilmentRequest(shop_order_id="gid://shopify/Order/820982911946154508",
                                shipment_id="S-2", lines=lines, carrier="Posti",
                                parcels=(FulfilmentParcel(("JJFI6000000000003",)),))
    with replay.use_cassette("fulfillment_paged.yaml") as cassette:
        connector(fake_time).push_fulfilment(request)
    assert cassette.all_played
    assert sent[1]["variables"] == {"id": "gid://shopify/FulfillmentOrder/1046000781",
                                    "after": "eyJsYXN0X2lkIjoxMDcyNTAzMzI0fQ=="}
    [group] = sent[2]["variables"]["fulfillment"]["lineItemsByFulfillmentOrder"]
    assert len(group["fulfillmentOrderLineItems"]) == 30
