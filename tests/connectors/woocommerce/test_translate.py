"""WooCommerce translations on real shapes: recorded requests, recorded webhook bodies and
cassette answers from a WooCommerce 11 shop, and the REST docs' order example."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import yaml

from connectors.base import FulfilmentParcel, FulfilmentRequest
from connectors.woocommerce import translate
from tests.connectors.woocommerce.conftest import (
    RECORDED,
    cassette_answer,
    delivery_body,
    payload,
)
from tests.connectors.woocommerce.listings import mug_listing, shirt_listing


def recorded_request(name: str, index: int) -> Any:
    data = yaml.safe_load((RECORDED / name).read_text(encoding="utf-8"))
    return json.loads(data["interactions"][index]["request"]["body"])


# --- products ------------------------------------------------------------------------------

def test_a_single_product_becomes_a_simple_product_with_managed_stock_and_a_string_price() -> None:
    # given the recorded simple create request (GLUE-MUKI, managed stock, weight)
    recorded = recorded_request("woo_simple_products_create.yaml", 0)
    # when Glue's single-product listing is translated
    body = translate.product_payload(mug_listing(), attribute_ids={})
    # then the fields WooCommerce took in the recording are sent the same way
    for field in ("name", "type", "sku", "regular_price", "manage_stock", "stock_quantity",
                  "weight"):
        assert body[field] == recorded[field], field
    # and the product is marked as Glue's, its text is escaped HTML, and no id means create
    assert {"key": "_glue_listing", "value": "p5"} in body["meta_data"]
    assert body["description"] == ("<p>Kestää<br>astianpesukoneen.</p>"
                                   "<p>&lt;b&gt;Ei&lt;/b&gt; mikroaaltouuniin.</p>")
    assert "id" not in body and body["images"] == []


def test_a_barcode_goes_to_the_global_unique_id_as_recorded() -> None:
    recorded = recorded_request("woo_simple_products_create.yaml", 1)
    listing = mug_listing()
    listing["variants"][0]["barcode"] = "6412345678907"
    body = translate.product_payload(listing, attribute_ids={})
    assert body["global_unique_id"] == recorded["global_unique_id"]


def test_a_variant_group_becomes_a_variable_product_with_global_and_local_attributes() -> None:
    # given the shop has the global attribute Koko (id 1) but no global Väri
    recorded = recorded_request("woo_variable_product_create.yaml", 0)
    body = translate.product_payload(shirt_listing(), attribute_ids={"koko": 1})
    # then the parent's attributes match the recorded request, both with variation: true
    assert body["type"] == "variable"
    assert body["attributes"] == recorded["attributes"]
    assert body["sku"] == "glue-g7:PAITA" and "regular_price" not in body
    assert body["images"] == [{"src": "https://img.example.test/paita.jpg"}]
    assert body["short_description"] == "<p>Pehmeä &amp; kestävä</p>"


def test_variations_go_in_one_batch_shaped_like_the_recorded_one() -> None:
    recorded = recorded_request("woo_variable_product_create.yaml", 1)["create"]
    batch = translate.variations_batch(shirt_listing(), attribute_ids={"koko": 1},
                                       variation_ids={})
    assert list(batch) == ["create"] and len(batch["create"]) == 6
    for ours, theirs in zip(batch["create"], recorded, strict=True):
        for field in ("sku", "regular_price", "manage_stock", "stock_quantity", "attributes"):
            assert ours[field] == theirs[field], (ours["sku"], field)
    assert batch["create"][2]["global_unique_id"] == "6412345000019"


def test_known_variations_are_updated_and_those_that_left_the_group_deleted() -> None:
    listing = shirt_listing()
    listing["variants"] = listing["variants"][:2]
    batch = translate.variations_batch(listing, attribute_ids={"koko": 1},
                                       variation_ids={100: "19"}, remove=["24"])
    assert [e["id"] for e in batch["update"]] == [19]
    assert [e["sku"] for e in batch["create"]] == ["GLUE-PAITA-S-HARMAA"]
    assert batch["delete"] == [24]
    assert translate.batch_size(batch) == 3


def test_variants_without_distinct_options_are_told_apart_by_sku() -> None:
    listing = shirt_listing()
    for v in listing["variants"]:
        v["options"] = [["Koko", "M"]]
    listing["options"] = ["Koko"]
    names, rows = translate.attribute_rows(listing)
    assert names == ["Variant"]
    assert rows[0] == [("Variant", "GLUE-PAITA-S-MUSTA")]


def test_a_stock_entry_sets_only_the_quantity_and_never_below_zero() -> None:
    assert translate.stock_entry("25", -3) == {"id": 25, "manage_stock": True,
                                               "stock_quantity": 0, "backorders": "no"}


def test_an_update_leaves_images_out_when_asked() -> None:
    body = translate.product_payload(shirt_listing(), attribute_ids={}, product_id="18",
                                     with_images=False)
    assert body["id"] == 18 and "images" not in body
    assert translate.images_hash(shirt_listing()) != translate.images_hash(mug_listing())


# --- orders --------------------------------------------------------------------------------

# the recorded shop's ids: variation 21 of parent 18, simple 25 (mug), 27 (merchant's own)
GLUE_IDS = {"21": 501, "25": 502}


def test_the_recorded_checkout_takes_only_glue_rows_with_the_price_the_customer_paid() -> None:
    # given the order.created delivery of a guest checkout with a variation, a Glue mug and
    # the merchant's SKU-less gift wrap, in a shop whose prices include 25.5 % tax
    order = delivery_body("order_created")
    assert translate.variant_ids(order) == ["21", "25", "27"]
    draft = translate.order_draft(order, GLUE_IDS)
    # then only the two Glue rows are taken, at the gross unit prices (19.90 and 12.90)
    assert [(line.product_id, line.quantity, line.price) for line in draft.lines] == [
        (501, 2, Decimal("19.90")), (502, 1, Decimal("12.90"))]
    assert draft.lines[0].title == "Glue-testipaita - M, Musta"
    assert draft.lines[0].shop_line_id == "2" and draft.lines[0].sku == "GLUE-PAITA-M-MUSTA"
    assert draft.ignored_lines == 1
    # and the money, the people and the times are read exactly
    assert draft.shop_order_id == "29" and draft.number == "29" and draft.currency == "EUR"
    assert draft.total_price == Decimal("62.70") and draft.financial_status == "paid"
    assert draft.created_at == datetime(2026, 11, 26, 19, 14, 33, tzinfo=UTC)
    assert draft.customer.name == "Äijö Mäkelä" and draft.customer.city == "Tampere"
    assert draft.delivery_address.company == "Pöllölän Pajat Oy"
    assert draft.delivery_address.city == "Jyväskylä"
    assert draft.delivery_address.email == "aijo.makela@example.test"
    assert draft.note == "Jätä paketti ovelle, kiitos!" and not draft.cancelled


def test_the_rest_answer_and_the_webhook_body_give_the_same_draft() -> None:
    rest = cassette_answer("woo_order_create_checkout.yaml", 1)
    assert translate.order_draft(rest, GLUE_IDS) == translate.order_draft(
        delivery_body("order_updated"), GLUE_IDS)


def test_variation_attributes_come_from_display_values_or_raw_slugs() -> None:
    recorded = delivery_body("order_created")["line_items"][0]
    assert translate.variation_attributes(recorded) == {"Koko": "M", "Väri": "Musta"}
    docs = payload("docs_order_727.json")["line_items"][1]  # no display_* fields
    assert translate.variation_attributes(docs) == {"color": "black", "size": "M Test"}


def test_the_docs_example_guest_order_with_entities_and_ex_tax_prices() -> None:
    # given the REST docs' order 727: guest (customer_id 0), prices without tax, an
    # &ndash; in a variation's name, numeric line prices and a tax of "0.9"
    order = payload("docs_order_727.json")
    draft = translate.order_draft(order, {"23": 9, "93": 8})
    assert [(x.product_id, x.price, x.discount) for x in draft.lines] == [
        (8, Decimal("3.00"), Decimal("0.00")), (9, Decimal("12.00"), Decimal("0.00"))]
    assert draft.lines[1].title == "Ship Your Idea \u2013 Color: Black, Size: M Test"
    assert draft.customer.email == "john.doe@example.com"
    # the shipping address has no phone of its own: the billing phone goes with it
    assert draft.delivery_address.phone == "(555) 555-5555"
    assert draft.created_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)


def test_coupons_show_as_line_discounts_and_in_the_note() -> None:
    order = payload("docs_order_727.json")
    order["line_items"][1].update(total="10.80", total_tax="0.81")
    order["coupon_lines"] = [{"id": 320, "code": "kesa10", "discount": "1.20",
                              "discount_tax": "0.09", "meta_data": []}]
    draft = translate.order_draft(order, {"23": 9})
    assert draft.lines[0].price == Decimal("10.80")
    assert draft.lines[0].discount == Decimal("1.20")
    assert draft.note == "Coupons: kesa10"


@pytest.mark.parametrize("status", ["checkout-draft", "draft", "auto-draft"])
def test_drafts_are_never_orders(status: str) -> None:
    order = {**delivery_body("order_created"), "status": status}
    assert translate.order_draft(order, GLUE_IDS, include_pending=True) is None


def test_pending_orders_are_taken_only_when_the_setting_says_so() -> None:
    order = {**delivery_body("order_created"), "status": "pending", "date_paid": None,
             "date_paid_gmt": None}
    assert translate.order_draft(order, GLUE_IDS) is None
    draft = translate.order_draft(order, GLUE_IDS, include_pending=True)
    assert draft.financial_status == "pending"


@pytest.mark.parametrize("status", ["cancelled", "refunded"])
def test_cancelled_and_refunded_orders_come_as_cancelled_drafts(status: str) -> None:
    draft = translate.order_draft({**delivery_body("order_created"), "status": status},
                                  GLUE_IDS)
    assert draft.cancelled


def test_an_order_without_glue_rows_is_none() -> None:
    assert translate.order_draft(delivery_body("order_created"), {"999": 1}) is None


def test_pickup_has_no_delivery_address_and_an_empty_shipping_falls_back_to_billing() -> None:
    order = delivery_body("order_created")
    pickup = {**order, "shipping_lines": [{"id": 5, "method_id": "local_pickup",
                                           "method_title": "Nouto myymälästä", "total": "0.00"}]}
    assert translate.order_draft(pickup, GLUE_IDS).delivery_address is None
    empty = {k: "" for k in order["shipping"]}
    draft = translate.order_draft({**order, "shipping": empty}, GLUE_IDS)
    assert draft.delivery_address.city == "Tampere"


# --- fulfilment ----------------------------------------------------------------------------

POSTI = FulfilmentRequest(
    shop_order_id="29", shipment_id="SHP-1", lines={"2": 2, "3": 1}, carrier="Posti",
    parcels=(FulfilmentParcel(("JJFI64123450012345678",),
                              "https://www.posti.fi/fi/seuranta#/lahetys/JJFI64123450012345678"),))
SHIPPED = datetime.fromtimestamp(1795720479, UTC)


def test_the_note_for_the_customer_reads_like_the_recorded_one() -> None:
    recorded = recorded_request("woo_order_fulfil_tracking.yaml", 0)
    assert translate.fulfilment_note(POSTI, "fi") == recorded["note"]
    assert translate.fulfilment_note(POSTI, "en").startswith("Your order has been shipped.")


def test_tracking_meta_has_the_shipment_tracking_extension_shape() -> None:
    recorded = recorded_request("woo_order_fulfil_tracking.yaml", 1)["meta_data"][0]["value"]
    order = delivery_body("order_created")
    items = translate.tracking_items(order, POSTI, now=SHIPPED)
    assert len(items) == 1 and set(items[0]) == set(recorded[0])
    assert {k: v for k, v in items[0].items() if k != "tracking_id"} == \
        {k: v for k, v in recorded[0].items() if k != "tracking_id"}


def test_a_repeated_push_adds_no_twin_and_keeps_other_tracking_items() -> None:
    # given the recorded completed order, which already carries one (foreign) tracking item
    order = delivery_body("order_updated_completed_tracking")
    once = translate.tracking_items(order, POSTI, now=SHIPPED)
    assert len(once) == 2 and once[0]["tracking_id"] == "05ef2b33b42d73042eac0590d11d2afc"
    again = {**order, "meta_data": [{"key": translate.TRACKING_META, "value": once}]}
    assert translate.tracking_items(again, POSTI, now=SHIPPED) == once


def test_the_order_completes_only_when_every_row_is_delivered_by_glue() -> None:
    order = cassette_answer("woo_order_create_checkout.yaml", 1)
    # the merchant's own row 4 is open: Glue never completes the order
    body = translate.fulfilment_update(order, POSTI, now=SHIPPED)
    assert "status" not in body
    delivered = json.loads(body["meta_data"][1]["value"])
    assert delivered == {"SHP-1": {"2": 2, "3": 1}}
    # an order of Glue rows only: the first shipment leaves it open, the second completes it
    glue_only = {**order, "line_items": order["line_items"][:2]}
    first = FulfilmentRequest("29", "SHP-A", {"2": 2}, "Posti", POSTI.parcels)
    second = FulfilmentRequest("29", "SHP-B", {"3": 1}, "Posti", POSTI.parcels)
    after_first = translate.fulfilment_update(glue_only, first, now=SHIPPED)
    assert "status" not in after_first
    updated = {**glue_only, "meta_data": after_first["meta_data"]}
    assert translate.fulfilment_update(updated, second, now=SHIPPED)["status"] == "completed"
    assert "status" not in translate.fulfilment_update(updated, second, now=SHIPPED,
                                                       complete=False)


def test_a_merchant_row_needing_no_delivery_does_not_keep_the_order_open() -> None:
    order = cassette_answer("woo_order_create_checkout.yaml", 1)
    delivered = translate.delivered_after(order, POSTI)
    assert [line["id"] for line in translate.undelivered_lines(order, delivered)] == [4]
    # the gift wrap (line 4) is virtual: settled, so the order completes
    body = translate.fulfilment_update(order, POSTI, now=SHIPPED, settled=["4"])
    assert body["status"] == "completed"
    assert not translate.completes_order(order, delivered, settled=["3"])
