"""The WooCommerce connector per contract method, against cassettes in the recorded shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import vcr
from woocommerce import API

from connectors.base import (
    ConnectionContext,
    ConnectionSettings,
    FulfilmentParcel,
    FulfilmentRequest,
)
from connectors.errors import Fatal, Retriable
from connectors.publish import ChangeBatch, ListingChange, ShopRef
from connectors.registry import connector_class
from connectors.woocommerce import WooCommerceConnector
from connectors.woocommerce.client import WooCommerceClient
from tests.connectors.woocommerce.conftest import (
    HTTPS_SHOP,
    KEY,
    SECRET,
    WEBHOOK_SECRET,
    delivery,
    delivery_body,
)
from tests.connectors.woocommerce.listings import listing, mug_listing, shirt_listing

SHIPPED = datetime.fromtimestamp(1795720479, UTC)


class SpyAPI(API):
    """The package's API, remembering what the connector sent."""

    def __init__(self) -> None:
        super().__init__(HTTPS_SHOP, KEY, SECRET, timeout=30)
        self.sent: list[tuple[str, str, Any]] = []

    def get(self, endpoint: str, **kw: Any) -> Any:
        self.sent.append(("GET", endpoint, kw.get("params")))
        return super().get(endpoint, **kw)

    def post(self, endpoint: str, data: Any, **kw: Any) -> Any:
        self.sent.append(("POST", endpoint, data))
        return super().post(endpoint, data, **kw)

    def put(self, endpoint: str, data: Any, **kw: Any) -> Any:
        self.sent.append(("PUT", endpoint, data))
        return super().put(endpoint, data, **kw)


def connector(api: SpyAPI | None = None, **settings: Any) -> WooCommerceConnector:
    context = ConnectionContext(
        id=1, key="conn1", platform="woocommerce", shop=HTTPS_SHOP, retailer_id=1,
        credentials={"consumer_key": KEY, "consumer_secret": SECRET,
                     "webhook_secret": WEBHOOK_SECRET},
        settings=ConnectionSettings.model_validate({"language": "fi", **settings}))
    client = WooCommerceClient(HTTPS_SHOP, KEY, SECRET, api=api or SpyAPI())
    return WooCommerceConnector(context, client=client, clock=lambda: SHIPPED)


def test_woocommerce_is_registered_through_the_entry_point_group() -> None:
    assert connector_class("woocommerce") is WooCommerceConnector


# --- webhooks ------------------------------------------------------------------------------

def test_recorded_deliveries_verify_with_the_connections_secret() -> None:
    sample = delivery("order_created")
    body = sample["body"].encode()
    headers = {k.lower(): v for k, v in sample["headers"].items()}  # any case
    assert connector().verify_webhook(headers, body)
    assert not connector().verify_webhook(headers, body.replace(b"Tampere", b"Turku"))
    ping = delivery("webhook_ping")
    assert not connector().verify_webhook(ping["headers"], ping["body"].encode())
    parsed = connector().parse_webhook(sample["headers"], body)
    assert parsed.payload.order_id == "29"


# --- products ------------------------------------------------------------------------------

def test_a_batch_creates_simple_and_variable_products_in_two_calls_plus_attributes(
        own_calls: vcr.VCR) -> None:
    # given a new simple mug and a new variable shirt; the shop knows the global Koko only
    spy = SpyAPI()
    changes = (ListingChange("create", "p5", listing(mug_listing())),
               ListingChange("create", "g7:PAITA", listing(shirt_listing())))
    with own_calls.use_cassette("publish_create.yaml") as cassette:
        results = connector(spy).publish_products(ChangeBatch("create", changes))
    assert cassette.all_played
    # then Väri became a global attribute, both products went in one products/batch call and
    # the six variations in one variations call
    assert [(m, e) for m, e, _ in spy.sent] == [
        ("GET", "products/attributes"), ("POST", "products/attributes"),
        ("POST", "products/batch"), ("POST", "products/18/variations/batch")]
    assert spy.sent[1][2] == {"name": "Väri"}
    shirt = spy.sent[2][2]["create"][1]
    assert [a["id"] for a in shirt["attributes"]] == [1, 2]
    assert len(spy.sent[3][2]["create"]) == 6
    # and every result names its shop product and variants
    mug, shirt_result = results
    assert mug.ok and mug.shop_id == "25" and mug.variants[5] == ShopRef("25",
                                                                         {"parent_id": None})
    assert shirt_result.ok and shirt_result.shop_id == "18"
    assert {pid: ref.shop_id for pid, ref in shirt_result.variants.items()} == {
        100: "19", 101: "20", 102: "21", 103: "22", 104: "23", 105: "24"}
    assert shirt_result.variants[102].extra == {"parent_id": "18"}
    assert shirt_result.extra["type"] == "variable" and "images_hash" in shirt_result.extra


def test_a_retried_create_adopts_glues_own_product_holding_the_sku(own_calls: vcr.VCR) -> None:
    spy = SpyAPI()
    change = ListingChange("create", "p5", listing(mug_listing()))
    with own_calls.use_cassette("publish_adopt.yaml") as cassette:
        [result] = connector(spy).publish_products(ChangeBatch("create", (change,)))
    assert cassette.all_played and result.ok and result.shop_id == "25"
    assert spy.sent[2][2]["update"][0]["id"] == 25  # the create was sent again as an update


def test_a_sku_held_by_a_merchant_product_is_refused_not_taken(own_calls: vcr.VCR) -> None:
    spy = SpyAPI()
    change = ListingChange("create", "p5", listing(mug_listing()))
    with own_calls.use_cassette("publish_sku_taken.yaml") as cassette:
        [result] = connector(spy).publish_products(ChangeBatch("create", (change,)))
    assert cassette.all_played and isinstance(result.error, Fatal)
    assert "27" in result.error.message
    assert [m for m, _, _ in spy.sent] == ["POST", "GET"]  # no update of product 27


def test_an_update_sends_images_only_when_they_changed() -> None:
    document = mug_listing()

    class Recorder:
        def __init__(self) -> None:
            self.bodies: list[Any] = []

        def batch(self, endpoint: str, body: Any) -> Any:
            from connectors.woocommerce.client import BatchAnswer
            self.bodies.append(body)
            return BatchAnswer(update=[{"id": 25}])

    from connectors.woocommerce import translate
    recorder = Recorder()
    woo = connector()
    woo._client = recorder  # type: ignore[assignment]
    same = ShopRef("25", {"images_hash": translate.images_hash(document)})
    woo.publish_products(ChangeBatch("update", (ListingChange("update", "p5", listing(document),
                                                              same),)))
    changed = ShopRef("25", {"images_hash": "old"})
    woo.publish_products(ChangeBatch("update", (ListingChange("update", "p5", listing(document),
                                                              changed),)))
    assert "images" not in recorder.bodies[0]["update"][0]
    assert recorder.bodies[1]["update"][0]["images"] == []


def _refs() -> dict[int, ShopRef]:
    refs = {5: ShopRef("25", {"parent_id": None})}
    refs.update({100 + i: ShopRef(str(19 + i), {"parent_id": "18"}) for i in range(6)})
    return refs


def test_stock_goes_in_one_call_for_simple_products_and_one_per_parent(
        own_calls: vcr.VCR) -> None:
    spy = SpyAPI()
    refs = _refs()
    changes = (ListingChange("stock", "p5", listing(mug_listing(quantity=7)),
                             ShopRef("25", {}), {5: refs[5]}),
               ListingChange("stock", "g7:PAITA", listing(shirt_listing()), ShopRef("18", {}),
                             {k: v for k, v in refs.items() if k != 5}))
    with own_calls.use_cassette("stock_update.yaml") as cassette:
        results = connector(spy).update_stock(ChangeBatch("stock", changes))
    assert cassette.all_played and all(r.ok for r in results)
    assert spy.sent[0][2] == {"update": [{"id": 25, "manage_stock": True, "stock_quantity": 7,
                                          "backorders": "no"}]}
    assert [e["id"] for e in spy.sent[1][2]["update"]] == [19, 20, 21, 22, 23, 24]
    # only quantities: no price, no text
    assert all(set(e) == {"id", "manage_stock", "stock_quantity", "backorders"}
               for e in spy.sent[1][2]["update"])


def test_stock_for_unrecorded_variants_asks_for_a_full_update() -> None:
    change = ListingChange("stock", "g7:PAITA", listing(shirt_listing()), ShopRef("18", {}), {})
    [result] = connector().update_stock(ChangeBatch("stock", (change,)))
    assert isinstance(result.error, Fatal) and "full update" in result.error.message


def test_end_of_sale_unpublishes_and_deletes_and_a_deleted_product_counts_as_done(
        own_calls: vcr.VCR) -> None:
    spy = SpyAPI()
    changes = (ListingChange("end", "g7:PAITA", None, ShopRef("18", {}), end_action="unpublish"),
               ListingChange("end", "p5", None, ShopRef("25", {}), end_action="delete"),
               ListingChange("end", "p6", None, ShopRef("999998", {}), end_action="delete"))
    with own_calls.use_cassette("end_sale.yaml") as cassette:
        results = connector(spy).end_sale(ChangeBatch("end", changes))
    assert cassette.all_played and [r.ok for r in results] == [True, True, True]
    assert spy.sent[0][2] == {"update": [{"id": 18, "status": "draft"}],
                              "delete": [25, 999998]}


def test_a_retriable_failure_is_carried_by_every_change_of_the_call() -> None:
    class Down:
        def batch(self, endpoint: str, body: Any) -> Any:
            raise Retriable("WooCommerce did not answer in time")

    woo = connector()
    woo._client = Down()  # type: ignore[assignment]
    changes = tuple(ListingChange("end", f"p{i}", None, ShopRef(str(i), {}),
                                  end_action="unpublish") for i in range(3))
    results = woo.end_sale(ChangeBatch("end", changes))
    assert all(isinstance(r.error, Retriable) for r in results)


# --- orders --------------------------------------------------------------------------------

def test_fetch_orders_pages_by_modified_after_in_utc(own_calls: vcr.VCR) -> None:
    spy = SpyAPI()
    woo = connector(spy)
    woo._orders_per_page = 1
    # given the mark in another time zone (21:00 at +02:00 is 19:00 UTC)
    since = datetime.fromisoformat("2026-11-26T21:00:00+02:00")
    with own_calls.use_cassette("orders_modified_after.yaml") as cassette:
        orders = list(woo.fetch_orders(since))
    assert cassette.all_played and [o["status"] for o in orders] == ["processing", "completed"]
    assert spy.sent[0][2]["modified_after"] == "2026-11-26T19:00:00"
    assert spy.sent[0][2]["dates_are_gmt"] == "true"


def test_order_draft_takes_pending_orders_only_when_forwarding_on_creation() -> None:
    body = {**delivery_body("order_created"), "status": "pending"}
    assert connector().order_draft(body, {"21": 1}) is None
    on_creation = connector(order_forwarding={"trigger": "created"})
    assert on_creation.order_draft(body, {"21": 1}).lines[0].product_id == 1


def test_push_fulfilment_adds_the_note_and_the_tracking_meta(own_calls: vcr.VCR) -> None:
    spy = SpyAPI()
    request = FulfilmentRequest(
        shop_order_id="29", shipment_id="SHP-1", lines={"2": 2, "3": 1}, carrier="Posti",
        parcels=(FulfilmentParcel(
            ("JJFI64123450012345678",),
            "https://www.posti.fi/fi/seuranta#/lahetys/JJFI64123450012345678"),))
    with own_calls.use_cassette("push_fulfilment.yaml") as cassette:
        note_id = connector(spy).push_fulfilment(request)
    assert cassette.all_played and note_id == "12"
    assert [(m, e) for m, e, _ in spy.sent] == [
        ("GET", "orders/29"), ("GET", "orders/29/notes"), ("POST", "orders/29/notes"),
        ("GET", "products"), ("PUT", "orders/29")]
    note = spy.sent[2][2]
    assert note["customer_note"] is True and note["note"].startswith("Tilauksesi on lähetetty.")
    assert spy.sent[3][2] == {"include": "27", "per_page": 100}
    update = spy.sent[4][2]
    tracking = update["meta_data"][0]
    assert tracking["key"] == "_wc_shipment_tracking_items"
    assert tracking["value"][0]["tracking_number"] == "JJFI64123450012345678"
    assert tracking["value"][0]["date_shipped"] == "1795720479"
    # the merchant's own gift wrap (line 4) is not Glue's to deliver: not completed
    assert "status" not in update


def test_report_cancellation_leaves_a_private_note(own_calls: vcr.VCR) -> None:
    spy = SpyAPI()
    with own_calls.use_cassette("report_cancellation.yaml") as cassette:
        connector(spy).report_cancellation("29", "Glue: toimittaja perui lähetyksen.")
    assert cassette.all_played
    assert spy.sent == [("POST", "orders/29/notes", {"note": "Glue: toimittaja perui lähetyksen.",
                                                     "customer_note": False})]


def test_the_connector_never_prints_credentials() -> None:
    woo = connector()
    assert SECRET not in repr(woo.connection) and SECRET not in repr(woo.client)


@pytest.mark.parametrize("kind", ["create", "update", "stock", "end"])
def test_batch_sizes_fit_one_woocommerce_batch(kind: str) -> None:
    assert WooCommerceConnector.batch_sizes[kind] <= 100


def test_webhooks_are_created_with_the_secret_and_deleted_with_force(recorded: vcr.VCR) -> None:
    spy = SpyAPI()
    woo = connector(spy)
    with recorded.use_cassette("woo_webhook_create.yaml") as cassette:
        # the recorded request body is matched exactly (name, topic, status, URL, secret)
        created = woo.create_webhook("order.created",
                                     "http://glue.example.test/glue/woocommerce/webhook")
        assert created["id"] == 6 and "secret" not in created  # never echoed
        assert woo.webhook_status("6") == "active"
        with pytest.raises(Fatal) as no_trash:  # without force: 501, which retrying can't fix
            woo.client.delete("webhooks/6")
        woo.delete_webhook("6")
    assert cassette.all_played and no_trash.value.status == 501
    assert spy.sent[0][2]["secret"] == WEBHOOK_SECRET
