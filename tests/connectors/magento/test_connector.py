"""The Magento connector's contract methods against the recordings and this folder's cassettes
(written in the recorded shapes by cassettes/write_cassettes.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import vcr

from connectors import magento as magento_module
from connectors.base import (
    ConnectionContext,
    ConnectionSettings,
    FulfilmentParcel,
    FulfilmentRequest,
)
from connectors.errors import Fatal, Retriable
from connectors.magento import MagentoConnector, translate
from connectors.magento.client import MagentoClient
from connectors.magento.webhooks import OrderEvent
from connectors.publish import ChangeBatch, Listing, ListingChange, ShopRef
from connectors.registry import connector_class
from tests.connectors.magento.conftest import (
    BASE,
    CREDENTIALS,
    TOKEN,
    Sent,
    delivery,
    listing,
)

PULLO = listing("p5", [{"sku": "GLUE-PULLO", "price": "9.90", "quantity": 42,
                        "weight_kg": "0.3"}], title="Glue-juomapullo",
                images=["http://images.example.test/tuotteet/pullo.png"])
HOODIE = listing("g7:HUPPARI", [
    {"sku": "GLUE-HUPPARI-S", "price": "39.90", "options": [["Koko", "S"]], "quantity": 20},
    {"sku": "GLUE-HUPPARI-M", "price": "39.90", "options": [["Koko", "M"]], "quantity": 3},
], description="Lämmin huppari.")
PARENT = translate.parent_sku("g7:HUPPARI")


def connector(sent: Sent, **platform: Any) -> MagentoConnector:
    context = ConnectionContext(
        id=1, key="mgtest", platform="magento", shop=f"{BASE}/", retailer_id=1,
        credentials={**CREDENTIALS, "webhook_secret": TOKEN},
        settings=ConnectionSettings(platform=platform))
    return MagentoConnector(context, client=MagentoClient(BASE, CREDENTIALS,
                                                          session=sent.session()))


def change(kind: str, document: dict, reference: ShopRef | None = None,
           variant_refs: dict | None = None, end_action: str | None = None) -> ListingChange:
    listing_ = Listing(document["key"], document, "c", "f",
                       tuple(v["product_id"] for v in document["variants"]))
    return ListingChange(kind, document["key"], listing_ if kind != "end" else None,  # type: ignore
                         reference, variant_refs or {}, end_action)


def bodies(sent: Sent) -> list[tuple[str, str, Any]]:
    return [(r.method, r.path_url.split("?")[0],
             json.loads(r.body) if r.body else None) for r in sent]


def test_magento_is_registered_through_the_entry_point_group() -> None:
    assert connector_class("magento") is MagentoConnector


# --- products ------------------------------------------------------------------------------

def test_a_simple_product_is_created_with_its_image_and_msi_stock(own: vcr.VCR) -> None:
    sent = Sent()
    with own.use_cassette("publish_simple.yaml") as cassette:
        [result] = connector(sent).publish_products(ChangeBatch("create", (
            change("create", PULLO),)))
    assert result.ok and cassette.all_played
    # then the shop product and its variant are known by SKU, with the entity and stock ids
    assert result.shop_id == "GLUE-PULLO"
    assert result.variants == {100: ShopRef("GLUE-PULLO", {"id": 10, "stock_item_id": 10,
                                                           "parent_sku": None})}
    assert result.extra == {"images": PULLO["images"], "id": 10}
    sent_bodies = bodies(sent)
    product = sent_bodies[1][2]["product"]
    assert (product["sku"], product["price"], product["visibility"]) == ("GLUE-PULLO", 9.9, 4)
    assert "media_gallery_entries" not in product
    media = sent_bodies[3][2]["entry"]
    assert media["content"]["type"] == "image/png" and media["types"][0] == "image"
    assert sent_bodies[4][2] == {"sourceItems": [{"sku": "GLUE-PULLO", "source_code": "default",
                                                  "quantity": 42, "status": 1}]}
    # and the image download carried no shop credentials
    assert "Authorization" not in sent[2].headers


def test_a_sku_the_merchant_already_uses_is_refused_not_overwritten(own: vcr.VCR) -> None:
    sent = Sent()
    with own.use_cassette("publish_foreign_sku.yaml"):
        [result] = connector(sent).publish_products(ChangeBatch("create", (
            change("create", PULLO),)))
    assert isinstance(result.error, Fatal) and "GLUE-PULLO" in result.error.message
    assert [r.method for r in sent] == ["GET"]  # nothing was written


def test_a_variant_group_becomes_a_configurable_product(own: vcr.VCR) -> None:
    sent = Sent()
    with own.use_cassette("publish_configurable.yaml") as cassette:
        [result] = connector(sent).publish_products(ChangeBatch("create", (
            change("create", HOODIE),)))
    assert result.ok and cassette.all_played, result.error
    assert result.shop_id == PARENT
    assert {pid: ref.shop_id for pid, ref in result.variants.items()} == \
        {100: "GLUE-HUPPARI-S", 101: "GLUE-HUPPARI-M"}
    assert result.variants[100].extra["parent_sku"] == PARENT
    calls = bodies(sent)
    # the attribute was created with the supplier's values and added to the attribute set
    assert calls[2][2]["attribute"]["options"][0] == {"label": "S", "sort_order": 1}
    assert calls[3][2]["attributeCode"] == "glue_koko"
    # children are invisible and carry their option value; the parent has no price
    child = calls[4][2]["product"]
    assert child["visibility"] == 1 and {"attribute_code": "glue_koko", "value": "4"} in \
        child["custom_attributes"] and child["name"] == "Glue-huppari S"
    assert calls[6][2]["product"]["type_id"] == "configurable"
    assert "price" not in calls[6][2]["product"]
    assert calls[7][2]["option"]["values"] == [{"value_index": 4}, {"value_index": 5}]
    assert [c[2] for c in calls[8:10]] == [{"childSku": "GLUE-HUPPARI-S"},
                                           {"childSku": "GLUE-HUPPARI-M"}]
    assert [i["quantity"] for i in calls[10][2]["sourceItems"]] == [20, 3]


def test_an_update_adds_no_option_or_child_the_parent_already_has(own: vcr.VCR) -> None:
    sent = Sent()
    reference = ShopRef(PARENT, {"images": [], "id": 9})
    with own.use_cassette("update_configurable.yaml") as cassette:
        [result] = connector(sent).publish_products(ChangeBatch("update", (
            change("update", HOODIE, reference),)))
    assert result.ok and cassette.all_played
    assert [(r.method, r.path_url) for r in sent][1:4] == [
        ("PUT", "/rest/all/V1/products/GLUE-HUPPARI-S"),
        ("PUT", "/rest/all/V1/products/GLUE-HUPPARI-M"), ("PUT", f"/rest/all/V1/products/{PARENT}")]


def test_many_simple_products_go_through_the_async_bulk(own: vcr.VCR) -> None:
    sent = Sent()
    docs = [listing(f"p{n}", [{"sku": f"GLUE-BULK-{n}", "price": f"{n + 4}.50",
                               "quantity": n + 4}], title=f"Glue-massatuote {n}")
            for n in (1, 2)]
    waits: list[float] = []
    shop = connector(sent, bulk_threshold=2)
    original = shop.client.wait_for_bulk
    shop.client.wait_for_bulk = lambda uuid: original(uuid, sleep=waits.append)  # type: ignore
    with own.use_cassette("publish_bulk.yaml") as cassette:
        first, second = shop.publish_products(ChangeBatch("create", tuple(
            change("create", d) for d in docs)))
    assert cassette.all_played and waits == [2.0]
    # the first operation succeeded; Magento refused the second, and only it failed
    assert first.ok and first.shop_id == "GLUE-BULK-1"
    assert isinstance(second.error, Fatal) and "URL key" in second.error.message
    queued = bodies(sent)[1]
    assert queued[1] == "/rest/all/async/bulk/V1/products"
    assert [b["product"]["sku"] for b in queued[2]] == ["GLUE-BULK-1", "GLUE-BULK-2"]
    assert bodies(sent)[-1][2]["sourceItems"] == [
        {"sku": "GLUE-BULK-1", "source_code": "default", "quantity": 5, "status": 1}]


def test_an_unreachable_shop_fails_the_whole_batch_as_retriable() -> None:
    shop = MagentoConnector(ConnectionContext(
        id=1, key="k", platform="magento", shop="http://127.0.0.1:9/", retailer_id=1,
        credentials=CREDENTIALS, settings=ConnectionSettings()))
    shop.client.timeout = 0.5
    results = shop.publish_products(ChangeBatch("create", (change("create", PULLO),
                                                           change("create", HOODIE))))
    assert [type(r.error) for r in results] == [Retriable, Retriable]


# --- stock and end of sale -----------------------------------------------------------------

def test_stock_goes_to_msi_source_items_in_one_call_or_to_the_legacy_stock_item(
        own: vcr.VCR) -> None:
    sent = Sent()
    with own.use_cassette("stock.yaml") as cassette:
        results = connector(sent).update_stock(ChangeBatch("stock", (
            change("stock", HOODIE), change("stock", PULLO))))
        legacy = connector(sent, stock_mode="legacy").update_stock(ChangeBatch("stock", (
            change("stock", PULLO),)))
    assert all(r.ok for r in results + legacy) and cassette.all_played
    calls = bodies(sent)
    assert [i["sku"] for i in calls[0][2]["sourceItems"]] == \
        ["GLUE-HUPPARI-S", "GLUE-HUPPARI-M", "GLUE-PULLO"]
    # legacy: the stock item id was looked up (not recorded yet), then set
    assert calls[2] == ("PUT", "/rest/V1/products/GLUE-PULLO/stockItems/10",
                        {"stockItem": {"qty": 42, "is_in_stock": True}})


def test_end_of_sale_zeroes_disables_or_deletes(own: vcr.VCR) -> None:
    sent = Sent()
    refs = {100: ShopRef("GLUE-HUPPARI-S", {}), 101: ShopRef("GLUE-HUPPARI-M", {})}
    reference = ShopRef(PARENT, {})
    with own.use_cassette("end_sale.yaml") as cassette:
        results = connector(sent).end_sale(ChangeBatch("end", tuple(
            change("end", HOODIE, reference, refs, action)
            for action in ("zero_stock", "unpublish", "delete"))))
    assert all(r.ok for r in results) and cassette.all_played
    calls = bodies(sent)
    assert {i["quantity"] for i in calls[0][2]["sourceItems"]} == {0}
    assert calls[1][2] == {"product": {"sku": PARENT, "status": 2}}
    # a child the merchant already deleted (404) counts as done
    assert [c[0] for c in calls[2:]] == ["DELETE"] * 3


# --- orders --------------------------------------------------------------------------------

def test_the_poll_pages_by_entity_id_until_total_count(own: vcr.VCR,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(magento_module, "ORDER_PAGE_SIZE", 2)
    sent = Sent()
    with own.use_cassette("orders_poll.yaml") as cassette:
        orders = list(connector(sent).fetch_orders(datetime(2026, 11, 26, 19, tzinfo=UTC)))
    assert [o["entity_id"] for o in orders] == [1, 2, 3] and cassette.all_played
    assert len(sent) == 2


def test_an_idle_poll_costs_one_call_and_filters_in_utc(own: vcr.VCR) -> None:
    # given a mark in Helsinki time, 21:00 +02:00 = 19:00 UTC, and no order changed since
    shop = connector(Sent())
    helsinki = timezone(timedelta(hours=2))
    with own.use_cassette("orders_idle.yaml"):
        assert list(shop.fetch_orders(datetime(2026, 11, 26, 21, tzinfo=helsinki))) == []
    assert shop.client.calls == 1


def test_a_polled_order_becomes_a_draft_of_glue_rows_only(own: vcr.VCR,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(magento_module, "ORDER_PAGE_SIZE", 2)
    shop = connector(Sent())
    with own.use_cassette("orders_poll.yaml"):
        orders = list(shop.fetch_orders(datetime(2026, 11, 26, 19, tzinfo=UTC)))
    skus = translate.order_skus(orders[2])
    assert skus == ["GLUE-HUPPARI-M", "GLUE-PULLO"]
    draft = shop.order_draft(orders[2], {"GLUE-HUPPARI-M": 11})
    assert draft is not None and [(x.shop_line_id, x.price) for x in draft.lines] == \
        [("3", Decimal("39.9"))] and draft.ignored_lines == 1


FULFILMENT = FulfilmentRequest(shop_order_id="3", shipment_id="S-1", lines={"3": 1},
                               carrier="Posti",
                               parcels=(FulfilmentParcel(("JJFI64123450012345679",)),),
                               notify_customer=False)


def test_a_delivered_shipment_ships_the_parent_row_with_its_track(own: vcr.VCR) -> None:
    sent = Sent()
    with own.use_cassette("fulfil.yaml") as cassette:
        shipment_id = connector(sent).push_fulfilment(FULFILMENT)
    assert shipment_id == "1" and cassette.all_played
    assert bodies(sent)[2] == ("POST", "/rest/V1/order/3/ship", {
        "items": [{"order_item_id": 3, "qty": 1}], "notify": False,
        "tracks": [{"track_number": "JJFI64123450012345679", "title": "Posti",
                    "carrier_code": "custom"}]})


def test_a_retried_fulfilment_finds_its_shipment_and_ships_nothing(own: vcr.VCR) -> None:
    sent = Sent()
    with own.use_cassette("fulfil_again.yaml"):
        assert connector(sent).push_fulfilment(FULFILMENT) == "1"
    assert [r.method for r in sent] == ["GET"]


def test_a_cancellation_is_a_comment_the_customer_does_not_see(own: vcr.VCR) -> None:
    sent = Sent()
    with own.use_cassette("order_comment.yaml"):
        connector(sent).report_cancellation("3", "Toimittaja peruutti rivin GLUE-PULLO")
    assert bodies(sent)[0][2]["statusHistory"] == {
        "comment": "Toimittaja peruutti rivin GLUE-PULLO", "is_customer_notified": 0,
        "is_visible_on_front": 0, "parent_id": 3}


# --- webhooks ------------------------------------------------------------------------------

def test_a_recorded_delivery_verifies_and_parses_through_the_connector() -> None:
    sample = delivery("sales_order_created.json")
    body = sample["body"].encode("utf-8")
    shop = connector(Sent())
    assert shop.verify_webhook(sample["headers"], body)
    assert not shop.verify_webhook({**sample["headers"], "x-magento-signature": "0" * 64}, body)
    parsed = shop.parse_webhook({**sample["headers"], "X-Glue-Event": "sales.order.created"},
                                body)
    assert isinstance(parsed.payload, OrderEvent) and parsed.shop == f"{BASE}/"
    with pytest.raises(Fatal, match="event name"):
        shop.parse_webhook(sample["headers"], body)
