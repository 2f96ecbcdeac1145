"""Shopify translations, tested with payloads in the shapes Shopify sends."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.base import FulfilmentParcel, FulfilmentRequest
from connectors.errors import Fatal
from connectors.shopify import translate

PAYLOADS = Path(__file__).parent / "payloads"
SHIRT_VARIANT = "gid://shopify/ProductVariant/808950810"
MUG_VARIANT = "gid://shopify/ProductVariant/808950811"
GLUE_VARIANTS = {SHIRT_VARIANT: 101, MUG_VARIANT: 102}


@pytest.fixture
def order() -> dict[str, Any]:
    return json.loads((PAYLOADS / "orders_create.json").read_text())


# --- orders --------------------------------------------------------------------------------

def test_only_rows_that_map_to_glue_products_are_taken(order: dict[str, Any]) -> None:
    # given an order with two Glue rows, a custom line item (null ids) and a merchant product
    # with an empty SKU
    draft = translate.order_draft(order, GLUE_VARIANTS)
    # then the draft holds the two Glue rows, and counts the other two as ignored
    assert draft is not None
    assert [(line.product_id, line.sku, line.quantity) for line in draft.lines] == [
        (101, "SHIRT-M", 2), (102, "MUG-1", 1)]
    assert draft.ignored_lines == 2
    assert draft.lines[0].shop_line_id == "gid://shopify/LineItem/866550311766439020"


def test_variant_ids_name_only_real_variants(order: dict[str, Any]) -> None:
    assert translate.variant_ids(order) == [
        SHIRT_VARIANT, MUG_VARIANT, "gid://shopify/ProductVariant/642667041472713922"]


def test_money_is_exact_and_in_the_shop_currency(order: dict[str, Any]) -> None:
    # given a customer paying in SEK in a EUR shop, with a discount code spread over the rows
    draft = translate.order_draft(order, GLUE_VARIANTS)
    # then amounts are the shop's EUR decimals, not the presentment SEK ones
    assert draft.currency == "EUR"
    assert draft.lines[0].price == Decimal("19.90") and draft.lines[0].discount == Decimal("3.98")
    assert draft.lines[1].discount == Decimal("0.02")
    assert draft.total_price == Decimal("68.60")
    assert all(isinstance(line.price, Decimal) for line in draft.lines)


def test_order_identity_addresses_and_status(order: dict[str, Any]) -> None:
    draft = translate.order_draft(order, GLUE_VARIANTS)
    assert draft.shop_order_id == "gid://shopify/Order/820982911946154508"
    assert draft.number == "#9999" and draft.financial_status == "paid"
    assert draft.created_at.isoformat() == "2026-11-26T21:54:10+02:00"
    assert draft.delivery_address.street == "Hämeenkatu 5 B 12"
    assert draft.delivery_address.street2 == "c/o Ygritte"
    assert (draft.delivery_address.postal_code, draft.delivery_address.city,
            draft.delivery_address.country) == ("33100", "Tampere", "FI")
    assert draft.customer.company == "Snow Oy" and draft.customer.email == "jon@example.com"
    assert draft.note == "Ovikoodi 1234" and not draft.cancelled


def test_missing_shipping_address_means_pickup(order: dict[str, Any]) -> None:
    order["shipping_address"] = None
    draft = translate.order_draft(order, GLUE_VARIANTS)
    assert draft.delivery_address is None
    assert draft.customer.name == "Jon Snow"  # still known from the billing address
    del order["shipping_address"], order["billing_address"]
    draft = translate.order_draft(order, GLUE_VARIANTS)
    assert draft.delivery_address is None and draft.customer.name == "Jon Snow"


def test_an_order_without_glue_rows_is_no_draft(order: dict[str, Any]) -> None:
    assert translate.order_draft(order, {}) is None


def test_a_row_removed_by_an_order_edit_is_ignored(order: dict[str, Any]) -> None:
    order["line_items"][1]["current_quantity"] = 0
    draft = translate.order_draft(order, GLUE_VARIANTS)
    assert [line.sku for line in draft.lines] == ["SHIRT-M"] and draft.ignored_lines == 3


def test_graphql_order_shape_gives_the_same_draft() -> None:
    # given the order as the reconciliation poll reads it through GraphQL
    order = {
        "id": "gid://shopify/Order/820982911946154508", "name": "#9999",
        "createdAt": "2026-11-26T19:54:10Z", "displayFinancialStatus": "PAID",
        "currencyCode": "EUR", "presentmentCurrencyCode": "SEK", "email": "jon@example.com",
        "note": None, "cancelledAt": None,
        "totalPriceSet": {"shopMoney": {"amount": "68.6", "currencyCode": "EUR"}},
        "customer": {"firstName": "Jon", "lastName": "Snow", "email": "jon@example.com"},
        "shippingAddress": None, "billingAddress": None,
        "lineItems": {"nodes": [
            {"id": "gid://shopify/LineItem/1", "sku": "SHIRT-M", "name": "Paita - M",
             "quantity": 2, "currentQuantity": 2, "variant": {"id": SHIRT_VARIANT},
             "originalUnitPriceSet": {"shopMoney": {"amount": "19.9", "currencyCode": "EUR"}},
             "discountAllocations": [{"allocatedAmountSet": {"shopMoney": {
                 "amount": "3.98", "currencyCode": "EUR"}}}]},
            {"id": "gid://shopify/LineItem/2", "sku": None, "name": "Custom",
             "quantity": 1, "currentQuantity": 1, "variant": None,
             "originalUnitPriceSet": {"shopMoney": {"amount": "4.0", "currencyCode": "EUR"}},
             "discountAllocations": []},
        ]},
    }
    draft = translate.order_draft(order, GLUE_VARIANTS)
    assert [(line.product_id, line.quantity, line.price, line.discount)
            for line in draft.lines] == [(101, 2, Decimal("19.9"), Decimal("3.98"))]
    assert draft.ignored_lines == 1 and draft.delivery_address is None
    assert draft.financial_status == "paid" and draft.customer.name == "Jon Snow"
    assert draft.total_price == Decimal("68.6")


# --- products ------------------------------------------------------------------------------

def _listing(variants: list[dict[str, Any]], options: list[str]) -> dict[str, Any]:
    return {"key": "g12:SHIRT", "title": "Paita", "short_description": "Puuvillaa.",
            "description": "Pestään 40 asteessa.\n\nSuomessa <ommeltu>.", "vendor": "Tukku Oy",
            "images": ["https://cdn.example.test/paita.jpg"], "options": options,
            "variants": variants}


def _variant(pid: int, sku: str, options: list[list[str]], quantity: int = 5,
             barcode: str | None = "6410000000017") -> dict[str, Any]:
    return {"product_id": pid, "sku": sku, "barcode": barcode, "price": "24.90",
            "currency": "EUR", "options": options, "weight_kg": 0.25, "quantity": quantity}


def test_variant_group_becomes_one_product_set_with_options() -> None:
    document = _listing([
        _variant(1, "SHIRT-M-RED", [["Koko", "M"], ["Väri", "Punainen"]], quantity=3),
        _variant(2, "SHIRT-L-RED", [["Koko", "L"], ["Väri", "Punainen"]], quantity=0,
                 barcode=None),
    ], ["Koko", "Väri"])
    data = translate.product_set_input(document, location_id="gid://shopify/Location/9")
    assert data["productOptions"] == [
        {"name": "Koko", "position": 1, "values": [{"name": "M"}, {"name": "L"}]},
        {"name": "Väri", "position": 2, "values": [{"name": "Punainen"}]}]
    first, second = data["variants"]
    assert first["optionValues"] == [{"optionName": "Koko", "name": "M"},
                                     {"optionName": "Väri", "name": "Punainen"}]
    assert (first["sku"], first["barcode"], first["price"]) == \
        ("SHIRT-M-RED", "6410000000017", "24.90")
    assert first["inventoryQuantities"] == [
        {"locationId": "gid://shopify/Location/9", "name": "available", "quantity": 3}]
    assert first["inventoryItem"]["measurement"]["weight"] == {"value": 0.25,
                                                                "unit": "KILOGRAMS"}
    assert "barcode" not in second and second["inventoryQuantities"][0]["quantity"] == 0
    assert data["status"] == "ACTIVE" and data["vendor"] == "Tukku Oy"
    assert data["files"] == [{"originalSource": "https://cdn.example.test/paita.jpg",
                              "contentType": "IMAGE"}]
    # texts are escaped HTML paragraphs
    assert data["descriptionHtml"] == ("<p>Puuvillaa.</p><p>Pestään 40 asteessa.</p>"
                                       "<p>Suomessa &lt;ommeltu&gt;.</p>")


def test_a_single_product_without_options_uses_shopifys_default_title() -> None:
    data = translate.product_set_input(_listing([_variant(1, "MUG-1", [])], []),
                                       location_id="L")
    assert data["productOptions"] == [{"name": "Title", "position": 1,
                                       "values": [{"name": "Default Title"}]}]
    assert data["variants"][0]["optionValues"] == [{"optionName": "Title",
                                                    "name": "Default Title"}]


@pytest.mark.parametrize("options", [
    [[["Koko", "M"]], [["Koko", "M"]]],  # same combination twice
    [[["Koko", "M"]], []],  # one variant lacks the option
])
def test_unusable_options_fall_back_to_the_sku(options: list[list[list[str]]]) -> None:
    document = _listing([_variant(1, "A-1", options[0]), _variant(2, "A-2", options[1])],
                        ["Koko"])
    data = translate.product_set_input(document, location_id="L")
    assert data["productOptions"][0]["name"] == "Variant"
    assert [v["optionValues"][0]["name"] for v in data["variants"]] == ["A-1", "A-2"]


def test_an_update_keeps_the_recorded_variant_ids_and_upserts_by_id() -> None:
    document = _listing([_variant(1, "A-1", [["Koko", "M"]]),
                         _variant(2, "A-2", [["Koko", "L"]])], ["Koko"])
    data = translate.product_set_input(document, location_id="L",
                                       variant_ids={1: "gid://shopify/ProductVariant/77"})
    assert data["variants"][0]["id"] == "gid://shopify/ProductVariant/77"
    assert "id" not in data["variants"][1]
    assert translate.product_set_identifier("g12:SHIRT", "gid://shopify/Product/5") == {
        "id": "gid://shopify/Product/5"}


def test_a_create_upserts_by_a_deterministic_handle() -> None:
    identifier = translate.product_set_identifier("g12:SHIRT", None)
    assert identifier == {"handle": translate.handle_for("g12:SHIRT")}
    assert identifier["handle"].startswith("glue-g12-shirt-")
    assert translate.handle_for("p1:A.B") != translate.handle_for("p1:A-B")


def test_inventory_quantities_are_cut_at_250_and_never_negative() -> None:
    items = [(f"gid://shopify/InventoryItem/{i}", i - 1) for i in range(600)]
    inputs = translate.inventory_set_inputs(items, location_id="L", reference="glue://x")
    assert [len(i["quantities"]) for i in inputs] == [250, 250, 100]
    assert inputs[0]["quantities"][0] == {"inventoryItemId": "gid://shopify/InventoryItem/0",
                                          "locationId": "L", "quantity": 0}
    assert all(i["name"] == "available" and i["ignoreCompareQuantity"] for i in inputs)


# --- fulfilment ----------------------------------------------------------------------------

FULFILLMENT_ORDERS = [
    {"id": "gid://shopify/FulfillmentOrder/1", "status": "OPEN", "lineItems": {"nodes": [
        {"id": "gid://shopify/FulfillmentOrderLineItem/11", "remainingQuantity": 2,
         "lineItem": {"id": "gid://shopify/LineItem/866550311766439020"}},
        {"id": "gid://shopify/FulfillmentOrderLineItem/12", "remainingQuantity": 1,
         "lineItem": {"id": "gid://shopify/LineItem/141249953214522974"}}]}},
    {"id": "gid://shopify/FulfillmentOrder/2", "status": "OPEN", "lineItems": {"nodes": [
        {"id": "gid://shopify/FulfillmentOrderLineItem/21", "remainingQuantity": 1,
         "lineItem": {"id": "gid://shopify/LineItem/257004973105704599"}}]}},
    {"id": "gid://shopify/FulfillmentOrder/3", "status": "CLOSED", "lineItems": {"nodes": [
        {"id": "gid://shopify/FulfillmentOrderLineItem/31", "remainingQuantity": 2,
         "lineItem": {"id": "gid://shopify/LineItem/866550311766439020"}}]}},
]


def _request(parcels: tuple[FulfilmentParcel, ...], lines: dict[str, int] | None = None,
             ) -> FulfilmentRequest:
    return FulfilmentRequest(
        shop_order_id="gid://shopify/Order/820982911946154508", shipment_id="S-1",
        lines=lines or {"gid://shopify/LineItem/866550311766439020": 2}, carrier="Posti",
        parcels=parcels, notify_customer=False)


def test_several_parcels_become_several_tracking_numbers() -> None:
    parcels = (FulfilmentParcel(("JJFI6000000000001",), "https://t.example/1"),
               FulfilmentParcel(("JJFI6000000000002",), "https://t.example/2"))
    data = translate.fulfillment_create_input(_request(parcels), copy.deepcopy(
        FULFILLMENT_ORDERS))
    assert data["trackingInfo"] == {
        "company": "Posti", "numbers": ["JJFI6000000000001", "JJFI6000000000002"],
        "urls": ["https://t.example/1", "https://t.example/2"]}
    assert data["notifyCustomer"] is False
    # only the supplier's line, through its fulfillment-order line id; the merchant's line
    # (FulfillmentOrder/2) and the closed fulfillment order stay untouched
    assert data["lineItemsByFulfillmentOrder"] == [
        {"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1",
         "fulfillmentOrderLineItems": [{"id": "gid://shopify/FulfillmentOrderLineItem/11",
                                        "quantity": 2}]}]


def test_one_parcel_is_one_number_with_its_url() -> None:
    data = translate.fulfillment_create_input(
        _request((FulfilmentParcel(("JJFI1",), "https://t.example/1"),)), FULFILLMENT_ORDERS)
    assert data["trackingInfo"] == {"company": "Posti", "number": "JJFI1",
                                    "url": "https://t.example/1"}


def test_a_line_with_nothing_left_to_fulfil_is_refused() -> None:
    request = _request((FulfilmentParcel(("JJFI1",)),),
                       lines={"gid://shopify/LineItem/866550311766439020": 3})
    with pytest.raises(Fatal):
        translate.fulfillment_create_input(request, FULFILLMENT_ORDERS)
