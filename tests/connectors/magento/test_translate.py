"""Pure translations against the payloads recorded from a real Magento 2.4.7-p3 shop."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from connectors.base import FulfilmentParcel, FulfilmentRequest
from connectors.errors import Fatal
from connectors.magento import translate as t
from connectors.magento.client import dumps
from tests.connectors.magento.conftest import (
    cassette_answers,
    cassette_requests,
    delivery,
    listing,
    recorded_order,
    shipped_order,
)

LEGACY = t.ProductDefaults(stock_mode="legacy")
HOODIE = listing("g7:HUPPARI", [
    {"sku": "GLUE-HUPPARI-S", "price": "39.90", "options": [["Koko", "S"]]},
    {"sku": "GLUE-HUPPARI-M", "price": "39.90", "options": [["Koko", "M"]]},
], description="Lämmin huppari, väri: musta.")
SIZE = t.Attribute(attribute_id=137, code="glue_koko", label="Koko",
                   values={"S": 4, "M": 5, "L": 6})


def _without_url_key(product: dict) -> dict:
    product = dict(product)
    product["custom_attributes"] = sorted(
        (a["attribute_code"], a["value"]) for a in product.get("custom_attributes", [])
        if a["attribute_code"] != "url_key")
    return product


# --- products ------------------------------------------------------------------------------

def test_a_child_product_matches_the_recorded_create_body() -> None:
    # given the recorded create of the configurable's small child (legacy stock, size id 4)
    recorded = cassette_requests("mag_configurable_product_create.yaml")[3][2]
    names, rows = t.variant_options(HOODIE)
    # when Glue builds the child's body
    body = t.simple_product(HOODIE, HOODIE["variants"][0], defaults=LEGACY,
                            child_of={"size": SIZE.values[rows[0]["Koko"]]},
                            name="Glue-huppari S")
    # then it carries the same fields and values, price and weight as exact JSON numbers
    sent = json.loads(dumps(body))
    assert _without_url_key(sent["product"]) == _without_url_key(recorded["product"])
    assert '"price": 39.90' in dumps(body) and '"weight": 0.6' in dumps(body)


def test_the_parent_is_configurable_visible_and_priceless() -> None:
    body = t.configurable_product(HOODIE, defaults=LEGACY)["product"]
    recorded = cassette_requests("mag_configurable_product_create.yaml")[5][2]["product"]
    assert body["type_id"] == recorded["type_id"] == "configurable"
    assert body["visibility"] == recorded["visibility"] == 4
    assert "price" not in body and "media_gallery_entries" not in body
    assert body["extension_attributes"]["stock_item"] == {"is_in_stock": True}
    assert ("description", "<p>Lämmin huppari, väri: musta.</p>") in \
        _without_url_key(body)["custom_attributes"]
    # and its SKU comes from the listing key: the same on every retry
    assert body["sku"] == t.parent_sku("g7:HUPPARI") and len(body["sku"]) <= t.MAX_SKU


def test_configurable_options_and_child_links_match_the_recorded_calls() -> None:
    requests = cassette_requests("mag_configurable_product_create.yaml")
    _, rows = t.variant_options(HOODIE)
    assert t.configurable_options([SIZE], rows) == [requests[6][2]]
    assert [t.child_link(v["sku"]) for v in HOODIE["variants"]] == \
        [requests[7][2], requests[8][2]]


def test_an_attribute_answer_drops_the_blank_option_and_reads_string_ids() -> None:
    answer = cassette_answers("mag_configurable_product_create.yaml")[0][2]
    attribute = t.attribute_from(answer)
    assert attribute == t.Attribute(137, "size", "Koko", {"S": 4, "M": 5, "L": 6})


def test_the_attribute_create_body_is_a_global_dropdown() -> None:
    recorded = cassette_requests("mag_configurable_product_create.yaml")[0][2]["attribute"]
    body = t.attribute_payload("Koko", ["S", "M", "L"])["attribute"]
    assert body["attribute_code"] == "glue_koko"
    assert {k: v for k, v in body.items() if k != "attribute_code"} == \
        {k: v for k, v in recorded.items() if k != "attribute_code"}
    assert t.attribute_code("Väri") == "glue_vari"


def test_variants_without_usable_options_are_told_apart_by_sku() -> None:
    # given two variants where one lacks the size
    doc = listing("g7:X", [{"sku": "A", "price": "1", "options": [["Koko", "S"]]},
                           {"sku": "B", "price": "1"}])
    assert t.variant_options(doc) == (["Variant"], [{"Variant": "A"}, {"Variant": "B"}])


def test_a_single_product_is_a_visible_simple_product_with_msi_stock_left_out() -> None:
    doc = listing("p5", [{"sku": "GLUE-PULLO", "price": "9.90", "quantity": 50}],
                  title="Glue-juomapullo")
    body = t.simple_product(doc, doc["variants"][0], defaults=t.ProductDefaults())["product"]
    assert not t.is_configurable(doc) and t.is_configurable(HOODIE)
    assert body["visibility"] == 4 and body["type_id"] == "simple"
    # MSI: the quantity goes to the source items, never through the legacy stock item
    assert body["extension_attributes"]["stock_item"] == {"is_in_stock": True}
    assert "media_gallery_entries" not in body


def test_glue_owns_a_product_only_for_the_same_glue_product() -> None:
    doc = listing("p5", [{"sku": "GLUE-PULLO", "price": "9.90"}], title="Glue-juomapullo")
    ours = t.simple_product(doc, doc["variants"][0], defaults=LEGACY)["product"]
    token = t.owner(doc, "GLUE-PULLO")
    assert token == "product:100:GLUE-PULLO" and t.owned_by(ours, token)
    # the recorded product was made by hand with url key "glue-juomapullo": not Glue's
    recorded = cassette_answers("mag_simple_product_with_image.yaml")[0][2]
    assert not t.owned_by(recorded, token)
    # another supplier's product with the same SKU is another Glue product: not this one's
    other = listing("p9", [{"sku": "GLUE-PULLO", "price": "1", "product_id": 900}])
    assert not t.owned_by(ours, t.owner(other, "GLUE-PULLO"))
    # the same Glue product moved into a variant group still owns its simple product
    grouped = listing("g7:PULLOT", [{"sku": "GLUE-PULLO", "price": "9.90"}])
    assert t.owned_by(ours, t.owner(grouped, "GLUE-PULLO"))
    assert t.owner(grouped, t.parent_sku("g7:PULLOT")) == "listing:g7:PULLOT"


def test_a_media_entry_matches_the_recorded_upload() -> None:
    recorded = cassette_requests("mag_simple_product_with_image.yaml")[1][2]
    png = base64.b64decode(recorded["entry"]["content"]["base64_encoded_data"])
    entry = t.media_entry(png, mime="image/png", name="glue-juomapullo.png",
                          label="Glue-juomapullo", position=1)
    assert entry == recorded
    # a second image is no base image, and an empty image is never sent
    assert t.media_entry(png, mime="image/png", name="b.png", label="x",
                         position=2)["entry"]["types"] == []
    with pytest.raises(Fatal):
        t.media_entry(b"", mime="image/png", name="c.png", label="x", position=1)


def test_stock_bodies_for_msi_and_legacy() -> None:
    recorded = cassette_requests("mag_msi_source_items.yaml")[1][2]
    assert t.source_items([("GLUE-PULLO", 42)], source_code="default") == recorded
    assert t.source_items([("A", -3)], source_code="default")["sourceItems"][0] == \
        {"sku": "A", "source_code": "default", "quantity": 0, "status": 0}
    assert t.stock_item(-1) == {"stockItem": {"qty": 0, "is_in_stock": False}}


# --- orders --------------------------------------------------------------------------------

def test_a_configurable_row_pair_becomes_one_line_with_the_childs_sku() -> None:
    # given the recorded order: huppari M (parent 3 + child 4) and two bottles (row 5)
    order = recorded_order()
    draft = t.order_draft(order, {"GLUE-HUPPARI-M": 11, "GLUE-PULLO": 12})
    assert draft is not None
    # then the parent row names the line (shipments name it), with its price and quantity
    first, second = draft.lines
    assert (first.shop_line_id, first.product_id, first.sku, first.quantity, first.price) == \
        ("3", 11, "GLUE-HUPPARI-M", 1, Decimal("39.9"))
    assert first.title == "Glue-huppari M"
    assert (second.shop_line_id, second.quantity, second.price) == ("5", 2, Decimal("9.9"))
    # and the order is identified by entity_id, shown by increment_id, in order currency
    assert (draft.shop_order_id, draft.number, draft.currency) == ("3", "000000003", "USD")
    assert draft.total_price == Decimal("74.7") and draft.financial_status == "pending"
    assert draft.created_at is not None and draft.created_at.utcoffset().total_seconds() == 0


def test_the_shipping_address_comes_from_the_shipping_assignment() -> None:
    draft = t.order_draft(recorded_order(), {"GLUE-PULLO": 12})
    assert draft is not None and draft.delivery_address is not None
    address = draft.delivery_address
    assert (address.name, address.company, address.street, address.postal_code,
            address.city, address.country) == ("Äijö Mäkelä", "Pöllölän Pajat Oy",
                                               "Pöytäkorvenkatu 5 B 7", "40100",
                                               "Jyväskylä", "FI")
    assert draft.customer.city == "Tampere" and draft.customer.email == \
        "aijo.makela@example.test"


def test_only_rows_mapping_to_glue_products_are_taken() -> None:
    draft = t.order_draft(recorded_order(), {"GLUE-PULLO": 12})
    assert draft is not None
    assert [line.sku for line in draft.lines] == ["GLUE-PULLO"] and draft.ignored_lines == 1
    assert t.order_draft(recorded_order(), {"MERCHANT-OWN": 1}) is None


def test_the_webhook_order_translates_like_the_api_order() -> None:
    data = json.loads(delivery("sales_order_created.json")["body"])["data"]
    mapping = {"GLUE-HUPPARI-M": 11, "GLUE-PULLO": 12}
    assert t.order_draft(data, mapping) == t.order_draft(recorded_order(), mapping)


def test_cancelled_quantities_and_cancelled_orders() -> None:
    order = recorded_order()
    order["items"][2]["qty_canceled"] = 2
    order["state"], order["status"] = "canceled", "my_custom_cancel"
    draft = t.order_draft(order, {"GLUE-HUPPARI-M": 11, "GLUE-PULLO": 12})
    assert draft is not None and [line.sku for line in draft.lines] == ["GLUE-HUPPARI-M"]
    assert draft.cancelled and draft.financial_status == "cancelled"


def test_an_order_paid_in_full_is_paid_whatever_its_status_is_called() -> None:
    order = recorded_order()
    order.update(total_paid=74.7, state="processing", status="odottaa_keraysta")
    assert t.financial_status(order) == "paid"


def test_tutorial_shapes_street_as_text_and_a_virtual_order() -> None:
    # the REST tutorials show street arrays with two lines; older shops send one string
    order = recorded_order()
    address = order["extension_attributes"]["shipping_assignments"][0]["shipping"]["address"]
    address["street"] = "Katu 1\nB 7"
    order["billing_address"]["street"] = ["Katu 2", "C 9"]
    draft = t.order_draft(order, {"GLUE-PULLO": 12})
    assert draft is not None and draft.delivery_address is not None
    assert (draft.delivery_address.street, draft.delivery_address.street2) == ("Katu 1", "B 7")
    assert (draft.customer.street, draft.customer.street2) == ("Katu 2", "C 9")
    order["is_virtual"] = 1
    draft = t.order_draft(order, {"GLUE-PULLO": 12})
    assert draft is not None and draft.delivery_address is None


def test_base_and_order_currency_differ_and_the_order_currency_is_taken() -> None:
    # the tutorials' shape: amounts in order currency next to base_* twins in base currency
    order = recorded_order()
    order.update(order_currency_code="EUR", base_currency_code="USD", grand_total=70,
                 base_grand_total=74.7)
    order["items"][2].update(price=9.0, base_price=9.9)
    draft = t.order_draft(order, {"GLUE-PULLO": 12})
    assert draft is not None and draft.currency == "EUR"
    assert draft.total_price == Decimal("70") and draft.lines[0].price == Decimal("9.0")


# --- fulfilment ----------------------------------------------------------------------------

REQUEST = FulfilmentRequest(shop_order_id="3", shipment_id="S-1", lines={"3": 1},
                            carrier="Posti",
                            parcels=(FulfilmentParcel(("JJFI64123450012345679",)),),
                            notify_customer=False)


def test_the_ship_body_matches_the_recorded_call() -> None:
    recorded = cassette_requests("mag_order_ship.yaml")[0][2]
    body = t.ship_payload(REQUEST, recorded_order(), comment="Lähetetty Postilla")
    assert body == {**recorded, "tracks": [{**recorded["tracks"][0], "title": "Posti"}]}


def test_a_child_row_is_shipped_through_its_parent() -> None:
    request = FulfilmentRequest("3", "S-1", {"4": 1}, "Posti", (), notify_customer=True)
    body = t.ship_payload(request, recorded_order())
    assert body["items"] == [{"order_item_id": 3, "qty": 1}] and body["notify"] is True
    assert "comment" not in body


def test_shipping_more_than_is_left_is_refused() -> None:
    # given the recorded order after the huppari was shipped
    with pytest.raises(Fatal) as caught:
        t.ship_payload(REQUEST, shipped_order())
    assert caught.value.details["lines"] == ["3"]
    # the unshipped bottles are still open
    body = t.ship_payload(FulfilmentRequest("3", "S-2", {"5": 2}, "Posti", ()), shipped_order())
    assert body["items"] == [{"order_item_id": 5, "qty": 2}]


def test_an_existing_shipment_with_our_tracking_code_is_found() -> None:
    shipments = [{"entity_id": 1, "tracks": [{"track_number": "JJFI64123450012345679"}]}]
    assert t.shipment_for(shipments, ["JJFI64123450012345679"]) == "1"
    assert t.shipment_for(shipments, ["OTHER"]) is None
