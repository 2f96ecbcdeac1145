"""The Magento sandbox behaves as the reference page and the recordings say Magento does, and
Glue's real MagentoConnector works against it over loopback."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask, Response, request
from requests_oauthlib import OAuth1

from connectors.base import (
    ConnectionContext,
    ConnectionSettings,
    FulfilmentParcel,
    FulfilmentRequest,
)
from connectors.errors import Fatal, NeedsConfiguration, Retriable
from connectors.magento import MagentoConnector, translate, webhooks
from connectors.magento.client import MagentoClient, access_token, request_token
from connectors.publish import ChangeBatch, Listing, ListingChange, PushResult, ShopRef
from sandbox.common import Faults, LoopbackServer
from sandbox.magento import MagentoSandbox
from tests.connectors.magento.conftest import listing
from tests.connectors.magento.oauth_check import verifies

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR42mOQrzqCFTEMLQk"
                       "A7ndXQXVKpdcAAAAASUVORK5CYII=")
HOODIE = listing("g7:HUPPARI", [
    {"sku": "GLUE-HUPPARI-S", "price": "39.90", "options": [["Koko", "S"]], "quantity": 20},
    {"sku": "GLUE-HUPPARI-M", "price": "41.90", "options": [["Koko", "M"]], "quantity": 3},
], title="Glue-huppari", description="Lämmin huppari.")
PARENT = translate.parent_sku("g7:HUPPARI")


@pytest.fixture
def images() -> Iterator[str]:
    """An image host on loopback; its base URL."""
    app = Flask("images")

    @app.get("/<name>.png")
    def image(name: str) -> Response:
        return Response(PNG, mimetype="image/png")

    with LoopbackServer(app) as server:
        yield server.url


@pytest.fixture
def shop() -> Iterator[MagentoSandbox]:
    with MagentoSandbox() as running:
        yield running


def connector(sandbox: MagentoSandbox, **platform: Any) -> MagentoConnector:
    context = ConnectionContext(
        id=1, key="mg", platform="magento", shop=sandbox.base_url, retailer_id=1,
        credentials=sandbox.grant(), settings=ConnectionSettings(
            platform={"bulk_poll_seconds": 0.01, **platform}))
    return MagentoConnector(context)


def change(kind: str, document: dict, result: PushResult | None = None,
           end_action: str | None = None) -> ListingChange:
    listing_ = Listing(document["key"], document, "c", "f",
                       tuple(v["product_id"] for v in document["variants"]))
    reference = ShopRef(result.shop_id, result.extra) if result else None  # type: ignore
    return ListingChange(kind, document["key"], listing_ if kind != "end" else None,  # type: ignore
                         reference, dict(result.variants) if result else {}, end_action)


def publish(shop: MagentoConnector, *documents: dict) -> list[PushResult]:
    results = shop.publish_products(ChangeBatch("create", tuple(
        change("create", d) for d in documents)))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return results


def bottle(images: str = "", quantity: int = 42) -> dict:
    return listing("p5", [{"sku": "GLUE-PULLO", "price": "9.90", "quantity": quantity,
                           "weight_kg": "0.3"}], title="Glue-juomapullo",
                   images=[f"{images}/pullo.png"] if images else [])


# --- the integration and OAuth 1.0a ----------------------------------------------------------

@pytest.fixture
def glue_callback() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """Glue's callback URL on loopback and the activation POSTs it received."""
    received: list[dict[str, str]] = []
    app = Flask("glue")

    @app.post("/magento/callback")
    def callback() -> tuple[str, int]:
        received.append(dict(request.form))
        return "ok", 200

    with LoopbackServer(app) as server:
        yield f"{server.url}/magento/callback", received


def test_activation_posts_the_credentials_then_the_oauth_exchange_gives_access(
        shop: MagentoSandbox, glue_callback: tuple[str, list[dict[str, str]]]) -> None:
    url, received = glue_callback
    link = shop.activate(url, "https://glue.test/magento/link")
    [form] = received
    assert set(form) == {"oauth_consumer_key", "oauth_consumer_secret", "store_base_url",
                         "oauth_verifier"}
    assert form["store_base_url"] == shop.base_url
    assert f"oauth_consumer_key={form['oauth_consumer_key']}" in link
    assert "success_call_back=" in link
    key, secret = form["oauth_consumer_key"], form["oauth_consumer_secret"]
    requested = request_token(shop.base_url, key, secret)
    granted = access_token(shop.base_url, key, secret, requested, form["oauth_verifier"])
    client = MagentoClient(shop.base_url, {"consumer_key": key, "consumer_secret": secret,
                                           "access_token": granted.token,
                                           "access_token_secret": granted.secret})
    assert client.get("products", [("searchCriteria[pageSize]", "1")])["total_count"] == 0
    # and the request token worked once
    with pytest.raises(NeedsConfiguration):
        access_token(shop.base_url, key, secret, requested, form["oauth_verifier"])


def test_a_wrong_secret_or_verifier_is_refused(
        shop: MagentoSandbox, glue_callback: tuple[str, list[dict[str, str]]]) -> None:
    url, received = glue_callback
    shop.activate(url, "https://glue.test/magento/link")
    form = received[0]
    key = form["oauth_consumer_key"]
    answer = requests.post(f"{shop.base_url}oauth/token/request", timeout=5,
                           auth=OAuth1(key, "wrong", signature_method="HMAC-SHA256"))
    assert answer.status_code == 401 and answer.text == "oauth_problem=signature_invalid"
    requested = request_token(shop.base_url, key, form["oauth_consumer_secret"])
    with pytest.raises(NeedsConfiguration):
        access_token(shop.base_url, key, form["oauth_consumer_secret"], requested, "nope")


def test_the_consumer_key_expires_five_minutes_after_activation(
        glue_callback: tuple[str, list[dict[str, str]]]) -> None:
    later = [0.0]  # the client signs with the real time, so the shop's clock stays near it
    with MagentoSandbox(clock=lambda: time.time() + later[0]) as shop:
        shop.activate(glue_callback[0], "https://glue.test/link")
        form = glue_callback[1][0]
        later[0] = 301
        with pytest.raises(NeedsConfiguration):
            request_token(shop.base_url, form["oauth_consumer_key"],
                          form["oauth_consumer_secret"])


def test_glue_signatures_verify_independently_and_a_wrong_token_secret_is_refused(
        shop: MagentoSandbox) -> None:
    credentials = shop.grant()
    sent: list[requests.PreparedRequest] = []
    session = requests.Session()
    session.hooks["response"].append(lambda r, *a, **k: sent.append(r.request))
    client = MagentoClient(shop.base_url, credentials, session=session)
    client.get("orders", [("searchCriteria[pageSize]", "5"),
                          ("searchCriteria[filter_groups][0][filters][0][field]", "state")])
    assert verifies("GET", sent[0].url, sent[0].headers["Authorization"],
                    credentials["consumer_secret"], credentials["access_token_secret"])
    wrong = MagentoClient(shop.base_url, {**credentials, "access_token_secret": "x"})
    with pytest.raises(NeedsConfiguration, match="isn't authorized"):
        wrong.get("orders")


def test_bearer_tokens_work_only_where_the_merchant_enabled_them(shop: MagentoSandbox) -> None:
    token = shop.grant()["access_token"]
    client = MagentoClient(shop.base_url, {"bearer_token": token})
    with pytest.raises(NeedsConfiguration):
        client.get("orders")
    shop.bearer = True
    assert client.get("orders")["items"] == []


def test_a_replayed_nonce_is_refused(shop: MagentoSandbox) -> None:
    credentials = shop.grant()
    sent: list[requests.PreparedRequest] = []
    session = requests.Session()
    session.hooks["response"].append(lambda r, *a, **k: sent.append(r.request))
    MagentoClient(shop.base_url, credentials, session=session).get("orders")
    replay = requests.get(sent[0].url, headers={"Authorization": sent[0].headers[
        "Authorization"]}, timeout=5)
    assert replay.status_code == 401


# --- products --------------------------------------------------------------------------------

def test_a_simple_product_is_published_with_its_image_and_msi_stock(
        shop: MagentoSandbox, images: str) -> None:
    glue = connector(shop)
    [result] = publish(glue, bottle(images))
    product = shop.state.products["GLUE-PULLO"]
    assert product["price"] == translate.money("9.90") and product["visibility"] == 4
    assert [m["bytes"] for m in product["media"]] == [PNG]
    assert shop.state.source_items[("GLUE-PULLO", "default")]["quantity"] == 42
    # product writes went to the "all" store, never a store view
    assert set(shop.state.writes_by_store) == {"all", "default"} \
        and shop.calls.count(("POST", "products")) == 1
    # when it is published again, the image is not uploaded twice
    again = glue.publish_products(ChangeBatch("update", (change("update", bottle(images),
                                                                result),)))
    assert again[0].ok and len(product["media"]) == 1


def test_only_an_explicit_empty_media_list_wipes_the_images(
        shop: MagentoSandbox, images: str) -> None:
    publish(connector(shop), bottle(images))
    client = connector(shop).client
    client.write("PUT", "products/GLUE-PULLO", {"product": {"sku": "GLUE-PULLO",
                                                            "media_gallery_entries": None}},
                 product=True)
    assert len(client.get("products/GLUE-PULLO/media")) == 1
    client.write("PUT", "products/GLUE-PULLO", {"product": {"sku": "GLUE-PULLO",
                                                            "media_gallery_entries": []}},
                 product=True)
    assert client.get("products/GLUE-PULLO/media") == []


def test_a_variant_group_becomes_a_configurable_product_that_sells_as_parent_and_child(
        shop: MagentoSandbox) -> None:
    glue = connector(shop)
    [result] = publish(glue, HOODIE)
    parent = glue.client.get(f"products/{PARENT}")
    assert parent["type_id"] == "configurable" and parent["price"] == 0
    children = glue.client.get(f"configurable-products/{PARENT}/children")
    assert [c["sku"] for c in children] == ["GLUE-HUPPARI-S", "GLUE-HUPPARI-M"]
    [option] = parent["extension_attributes"]["configurable_product_options"]
    assert option["label"] == "Koko" and len(option["values"]) == 2
    # when it is published again nothing is linked twice
    assert glue.publish_products(ChangeBatch("update", (change("update", HOODIE, result),)))[
        0].ok
    # and a checkout of the M child has the configurable parent row and the child row
    order = shop.checkout([{"sku": "GLUE-HUPPARI-M", "qty": 2}])
    row, child = order["items"]
    assert (row["product_type"], row["sku"], row["price"], row["qty_ordered"]) == \
        ("configurable", "GLUE-HUPPARI-M", 41.9, 2)
    assert (child["parent_item_id"], child["price"], child["parent_item"]["item_id"]) == \
        (row["item_id"], 0, row["item_id"])
    with pytest.raises(Exception, match="not available"):
        shop.checkout([{"sku": "GLUE-HUPPARI-M", "qty": 2}])  # 3 in stock, 2 reserved


def test_many_simple_products_go_through_the_async_bulk_and_its_status(
        shop: MagentoSandbox) -> None:
    documents = [listing(f"p{n}", [{"sku": f"GLUE-B{n}", "price": "5.50", "quantity": n}],
                         title=f"Massatuote {n}") for n in range(25)]
    results = publish(connector(shop), *documents)
    assert len(results) == 25 and ("POST", "products") not in shop.calls
    assert ("POST", "async/bulk/products") in shop.calls
    [bulk] = shop.state.bulks.values()
    assert bulk["reads"] == 2 and {o["status"] for o in bulk["operations"]} == {1}
    assert shop.state.source_items[("GLUE-B7", "default")]["quantity"] == 7


def test_a_bulk_operation_magento_refuses_fails_only_its_own_listing(
        shop: MagentoSandbox) -> None:
    documents = [listing(f"p{n}", [{"sku": f"GLUE-B{n}", "price": "5.50", "quantity": 1}],
                         title=f"Massatuote {n}") for n in range(4)]
    # given the merchant's own product already has the URL key Glue's would get
    shop.add_merchant_product("OMA-1", "Massatuote 3", "1.00")
    shop.state.products["OMA-1"]["custom"]["url_key"] = translate.url_key(
        "Massatuote 3", translate.owner(documents[3], "GLUE-B3"))
    results = connector(shop, bulk_threshold=2).publish_products(ChangeBatch("create", tuple(
        change("create", d) for d in documents)))
    assert [r.ok for r in results] == [True, True, True, False]
    assert "URL key" in results[3].error.message  # type: ignore[union-attr]


def test_legacy_stock_goes_to_the_stock_item_on_a_single_source_shop() -> None:
    with MagentoSandbox(msi=False) as shop:
        glue = connector(shop, stock_mode="legacy")
        [result] = publish(glue, bottle(quantity=5))
        assert glue.client.get("stockItems/GLUE-PULLO")["qty"] == 5
        moved = glue.update_stock(ChangeBatch("stock", (change("stock", bottle(quantity=2),
                                                               result),)))
        assert moved[0].ok and glue.client.get("stockItems/GLUE-PULLO")["qty"] == 2
        with pytest.raises(Fatal):  # no MSI module: no source-items route
            glue.client.write("POST", "inventory/source-items", {"sourceItems": []})
        shop.checkout([{"sku": "GLUE-PULLO", "qty": 2}])
        item = glue.client.get("stockItems/GLUE-PULLO")
        assert (item["qty"], item["is_in_stock"]) == (0, False)


def test_msi_stock_updates_and_reservations(shop: MagentoSandbox) -> None:
    glue = connector(shop)
    [result] = publish(glue, bottle(quantity=5))
    assert glue.update_stock(ChangeBatch("stock", (change("stock", bottle(quantity=3),
                                                          result),)))[0].ok
    shop.checkout([{"sku": "GLUE-PULLO", "qty": 2}])
    # the source keeps its quantity until the shipment; the sale is a reservation
    assert shop.state.source_items[("GLUE-PULLO", "default")]["quantity"] == 3
    with pytest.raises(Exception, match="not available"):
        shop.checkout([{"sku": "GLUE-PULLO", "qty": 2}])


@pytest.mark.parametrize("action", ["unpublish", "zero_stock", "delete"])
def test_end_of_sale_makes_the_product_unsellable(shop: MagentoSandbox, action: str) -> None:
    glue = connector(shop)
    [simple, group] = publish(glue, bottle(), HOODIE)
    ended = glue.end_sale(ChangeBatch("end", (
        change("end", bottle(), simple, end_action=action),
        change("end", HOODIE, group, end_action=action))))
    assert all(r.ok for r in ended)
    for sku in ("GLUE-PULLO", "GLUE-HUPPARI-S"):
        with pytest.raises(Exception, match="not available|doesn't exist"):
            shop.checkout([{"sku": sku, "qty": 1}])
    if action == "delete":
        assert set(shop.state.products) == set()


# --- orders ----------------------------------------------------------------------------------

def since_start() -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) - timedelta(minutes=5)


def test_search_pages_stop_on_total_count_and_a_page_past_the_end_repeats(
        shop: MagentoSandbox) -> None:
    shop.add_merchant_product("OMA-1", "Oma", "2.00", quantity=100)
    for _ in range(5):
        shop.checkout([{"sku": "OMA-1", "qty": 1}])
    client = connector(shop).client
    assert [o["entity_id"] for o in client.search("orders", sort="entity_id", page_size=2)] \
        == [1, 2, 3, 4, 5]
    past = client.get("orders", [("searchCriteria[pageSize]", "2"),
                                 ("searchCriteria[currentPage]", "9")])
    assert [o["entity_id"] for o in past["items"]] == [5] and past["total_count"] == 5
    shop.last_page_again = False
    assert client.get("orders", [("searchCriteria[pageSize]", "2"),
                                 ("searchCriteria[currentPage]", "9")])["items"] == []


def test_fetch_orders_misses_nothing_when_orders_come_and_change_during_the_poll(
        shop: MagentoSandbox) -> None:
    shop.add_merchant_product("OMA-1", "Oma", "2.00", quantity=1000)
    before = [shop.checkout([{"sku": "OMA-1", "qty": 1}])["entity_id"] for _ in range(120)]
    added: list[int] = []

    def meanwhile(entity: str, page: int) -> None:
        if entity == "orders" and page == 2 and not added:
            shop.touch(before[3])  # an order of page 1 changes: it does not move
            added.append(shop.checkout([{"sku": "OMA-1", "qty": 1}])["entity_id"])

    shop.search_hooks.append(meanwhile)
    seen = [o["entity_id"] for o in connector(shop).fetch_orders(since_start())]
    assert sorted(set(seen)) == seen == before + added  # once each, none missed


def test_fetch_orders_skips_nothing_when_a_deleted_order_shifts_the_pages(
        shop: MagentoSandbox) -> None:
    shop.add_merchant_product("OMA-1", "Oma", "2.00", quantity=100)
    ids = [shop.checkout([{"sku": "OMA-1", "qty": 1}])["entity_id"] for _ in range(9)]

    def meanwhile(entity: str, page: int) -> None:
        if entity == "orders" and ids[1] in shop.state.orders and len(seen) >= 3:
            shop.delete_order(ids[1])  # the rows after it move one place back

    seen: list[int] = []
    shop.search_hooks.append(meanwhile)
    for order in connector(shop, order_page_size=3).fetch_orders(since_start()):
        seen.append(order["entity_id"])
    assert seen == ids


def test_order_draft_reads_the_sandbox_order_shape(shop: MagentoSandbox) -> None:
    glue = connector(shop)
    publish(glue, HOODIE, bottle())
    shop.add_merchant_product("OMA-1", "Oma", "2.00")
    order = shop.checkout([{"sku": "GLUE-HUPPARI-S", "qty": 1}, {"sku": "GLUE-PULLO", "qty": 2},
                           {"sku": "OMA-1", "qty": 1}],
                          address={"street": ["Hämeenkatu 1", "C 5"], "city": "Tampere"})
    draft = glue.order_draft(glue.client.get(f"orders/{order['entity_id']}"),
                             {"GLUE-HUPPARI-S": 100, "GLUE-PULLO": 200})
    assert draft is not None and draft.ignored_lines == 1
    assert [(line.sku, line.quantity, str(line.price)) for line in draft.lines] == \
        [("GLUE-HUPPARI-S", 1, "39.9"), ("GLUE-PULLO", 2, "9.9")]
    assert draft.delivery_address is not None and draft.delivery_address.city == "Tampere"
    assert draft.delivery_address.street2 == "C 5" and draft.financial_status == "paid"
    assert draft.shop_order_id == str(order["entity_id"]) and draft.number == \
        order["increment_id"]


def test_an_order_is_found_by_entity_id_not_increment_id(shop: MagentoSandbox) -> None:
    shop.add_merchant_product("OMA-1", "Oma", "2.00")
    order = shop.checkout([{"sku": "OMA-1", "qty": 1}])
    client = connector(shop).client
    assert client.get(f"orders/{order['entity_id']}")["increment_id"] == "000000001"
    with pytest.raises(Fatal):
        client.get(f"orders/{order['increment_id']}x")


# --- fulfilment ------------------------------------------------------------------------------

def test_a_shipment_names_the_parent_row_carries_tracks_and_happens_once(
        shop: MagentoSandbox) -> None:
    glue = connector(shop)
    publish(glue, HOODIE, bottle())
    order = shop.checkout([{"sku": "GLUE-HUPPARI-M", "qty": 1}, {"sku": "GLUE-PULLO", "qty": 2}])
    parent, child, simple = order["items"]
    request_ = FulfilmentRequest(
        shop_order_id=str(order["entity_id"]), shipment_id="G-1",
        lines={str(child["item_id"]): 1, str(simple["item_id"]): 2}, carrier="Posti",
        parcels=(FulfilmentParcel(("JJFI6412345",)),), notify_customer=False)
    shipment_id = glue.push_fulfilment(request_)
    shipment = shop.state.shipments[int(shipment_id)]
    assert sorted((i["order_item_id"], i["qty"]) for i in shipment["items"]) == \
        [(parent["item_id"], 1), (simple["item_id"], 2)]
    assert [(t["track_number"], t["title"], t["carrier_code"]) for t in shipment["tracks"]] == \
        [("JJFI6412345", "Posti", "custom")]
    after = glue.client.get(f"orders/{order['entity_id']}")
    assert after["state"] == "complete"
    assert [i["qty_shipped"] for i in after["items"]] == [1, 0, 2]
    # when Glue retries (the answer was lost), no second shipment is made
    assert glue.push_fulfilment(request_) == shipment_id and len(shop.state.shipments) == 1
    assert shop.state.source_items[("GLUE-HUPPARI-M", "default")]["quantity"] == 2
    assert shop.state.reservations["GLUE-HUPPARI-M"] == 0


def test_shipping_more_than_is_open_is_refused(shop: MagentoSandbox) -> None:
    glue = connector(shop)
    publish(glue, bottle())
    order = shop.checkout([{"sku": "GLUE-PULLO", "qty": 1}])
    with pytest.raises(Fatal, match="not open"):
        glue.push_fulfilment(FulfilmentRequest(
            str(order["entity_id"]), "G-1", {str(order["items"][0]["item_id"]): 2}, "Posti",
            (FulfilmentParcel(("T1",)),)))
    # and Magento itself refuses the same
    with pytest.raises(Fatal, match="unshipped quantity"):
        glue.client.write("POST", f"order/{order['entity_id']}/ship", {
            "items": [{"order_item_id": order["items"][0]["item_id"], "qty": 2}]})


def test_a_cancellation_report_is_a_private_order_comment(shop: MagentoSandbox) -> None:
    shop.add_merchant_product("OMA-1", "Oma", "2.00")
    order = shop.checkout([{"sku": "OMA-1", "qty": 1}])
    connector(shop).report_cancellation(str(order["entity_id"]), "Toimittaja perui rivin")
    [history] = shop.state.orders[order["entity_id"]]["histories"]
    assert history["comment"] == "Toimittaja perui rivin"
    assert (history["is_customer_notified"], history["is_visible_on_front"]) == (0, 0)


def test_a_canceled_order_reads_as_cancelled(shop: MagentoSandbox) -> None:
    glue = connector(shop)
    publish(glue, bottle())
    order = shop.checkout([{"sku": "GLUE-PULLO", "qty": 1}])
    shop.cancel(order["entity_id"])
    draft = glue.order_draft(glue.client.get(f"orders/{order['entity_id']}"),
                             {"GLUE-PULLO": 1})
    assert draft is None  # nothing uncancelled is left
    assert shop.state.reservations["GLUE-PULLO"] == 0


# --- async events and faults -----------------------------------------------------------------

def test_async_event_deliveries_are_signed_like_the_mage_os_module(
        shop: MagentoSandbox) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    lock = threading.Lock()
    app = Flask("receiver")

    @app.post("/webhooks/magento/mg/<event>")
    def hook(event: str) -> tuple[str, int]:
        with lock:
            received.append(({**request.headers, "X-Glue-Event": event}, request.get_data()))
        return "", 200

    with LoopbackServer(app) as receiver:
        glue = connector(shop)
        token = "verification-token"
        for event in webhooks.SUBSCRIBED:
            glue.client.write("POST", "async_event", webhooks.subscription(
                event, f"{receiver.url}/webhooks/magento/mg/{event}", token))
        publish(glue, bottle())
        order = shop.checkout([{"sku": "GLUE-PULLO", "qty": 1}])
        glue.client.write("POST", f"orders/{order['entity_id']}/comments", {"statusHistory": {
            "comment": "x", "is_customer_notified": 0, "is_visible_on_front": 0}})
    assert [h["X-Glue-Event"] for h, _ in received] == ["sales.order.created",
                                                         "sales.order.updated"]
    headers, body = received[0]
    assert webhooks.verify(body, headers["X-Magento-Signature"], token)
    assert not webhooks.verify(body, headers["X-Magento-Signature"], "other")
    delivery = webhooks.parse("sales.order.created", body)
    assert delivery.payload.order_id == str(order["entity_id"])
    assert json.loads(body)["data"]["items"][0]["sku"] == "GLUE-PULLO"


def test_without_the_mage_os_module_there_is_no_subscription_route() -> None:
    with MagentoSandbox(async_events=False) as shop:
        with pytest.raises(Fatal, match="does not match any route"):
            connector(shop).client.write("POST", "async_event", webhooks.subscription(
                "sales.order.created", "http://127.0.0.1:9/x", "t"))


def test_injected_faults_map_onto_the_error_classes() -> None:
    faults = Faults(api_error_rate=1.0, seed=3, hang_seconds=0.0)
    with MagentoSandbox(faults=faults) as shop:
        client = connector(shop).client
        client.timeout = 2
        errors = []
        for _ in range(40):
            try:
                client.get("orders")
            except Retriable as exc:
                errors.append(exc.status)
        assert faults.counts["api_calls"] == 40
        assert {429, 500, 503} <= set(errors)


def test_the_storefront_checkout_is_also_reachable_over_http(shop: MagentoSandbox) -> None:
    shop.add_merchant_product("OMA-1", "Oma", "2.50", quantity=1)
    answer = requests.post(f"{shop.base_url}checkout", json={"lines": [{"sku": "OMA-1",
                                                                        "qty": 1}]}, timeout=5)
    assert answer.status_code == 200 and answer.json()["increment_id"] == "000000001"
    refused = requests.post(f"{shop.base_url}checkout", json={"lines": [{"sku": "OMA-1",
                                                                         "qty": 1}]}, timeout=5)
    assert refused.status_code == 400 and "not available" in refused.json()["message"]


def test_a_sku_with_a_slash_and_a_space_is_one_signed_path_segment(shop: MagentoSandbox) -> None:
    glue = connector(shop)
    document = listing("p9", [{"sku": "A/B 1", "price": "1.00", "quantity": 1}], title="Vino")
    [result] = publish(glue, document)
    assert result.shop_id == "A/B 1" and glue.client.get("products/A%2FB%201")["sku"] == "A/B 1"


def test_input_limits_refuse_unbounded_searches_but_not_the_poll() -> None:
    with MagentoSandbox(max_page_size=300) as shop:
        glue = connector(shop)
        with pytest.raises(Fatal, match="Maximum SearchCriteria pageSize is 300"):
            glue.client.get("orders")
        assert list(glue.fetch_orders(since_start())) == []
