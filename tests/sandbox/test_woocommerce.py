"""The WooCommerce sandbox behaves as the reference page says WooCommerce does, driven by
Glue's own WooCommerce connector over loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask, request

from connectors.base import (
    ConnectionContext,
    ConnectionSettings,
    FulfilmentParcel,
    FulfilmentRequest,
)
from connectors.errors import Fatal, NeedsConfiguration, Retriable
from connectors.publish import ChangeBatch, Listing, ListingChange, ShopRef
from connectors.woocommerce import WooCommerceConnector, translate, webhooks
from connectors.woocommerce.client import WooCommerceClient
from sandbox.common import Faults, LoopbackServer
from sandbox.woocommerce import WooCommerceSandbox, oauth_signature, sanitize_title, wp_json

SHOP = "demo"
SECRET = "glue-webhook-secret"


@dataclass
class Receiver:
    """Glue's side on loopback: ``/hook`` keeps every request and answers ``status``;
    ``/callback`` keeps wc-auth posts and answers ``callback_status``."""

    status: int = 200
    callback_status: int = 200
    hooks: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    callbacks: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: LoopbackServer | None = None

    def deliveries(self) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(h, b) for h, b in self.hooks if "X-Wc-Webhook-Topic" in h]

    def pings(self) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(h, b) for h, b in self.hooks if "X-Wc-Webhook-Topic" not in h]

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    received = Receiver()
    app = Flask("glue-side")

    @app.post("/hook")
    def hook() -> tuple[str, int]:
        with received.lock:
            received.hooks.append((dict(request.headers), request.get_data()))
        return "", received.status

    @app.post("/callback")
    def callback() -> tuple[str, int]:
        with received.lock:
            received.callbacks.append(request.get_data())
        return "", received.callback_status

    with LoopbackServer(app) as server:
        received.server = server
        yield received


@pytest.fixture
def woo() -> Iterator[WooCommerceSandbox]:
    with WooCommerceSandbox(require_https_callback=False) as sandbox:
        sandbox.add_shop(SHOP)
        yield sandbox


def connector_for(sandbox: WooCommerceSandbox, shop: str = SHOP, *,
                  client: WooCommerceClient | None = None, **settings: Any
                  ) -> WooCommerceConnector:
    key, secret = sandbox.issue_keys(shop)
    context = ConnectionContext(
        id=1, key="conn1", platform="woocommerce", shop=sandbox.site_url(shop), retailer_id=1,
        credentials={"consumer_key": key, "consumer_secret": secret, "webhook_secret": SECRET},
        settings=ConnectionSettings.model_validate({"language": "fi", **settings}))
    return WooCommerceConnector(context, client=client, orders_per_page=2)


def variant(product_id: int, sku: str, options: list[list[str]], *, price: str = "24.90",
            quantity: int = 10, barcode: str | None = None) -> dict[str, Any]:
    return {"product_id": product_id, "sku": sku, "barcode": barcode, "price": price,
            "currency": "EUR", "options": options, "weight_kg": None, "quantity": quantity}


def shirt() -> dict[str, Any]:
    variants = [variant(100 + i, f"PAITA-{s}-{c.upper()}", [["Koko", s], ["Väri", c]])
                for i, (s, c) in enumerate((s, c) for s in ("S", "M") for c in ("Musta", "Harmaa"))]
    return {"key": "g7:PAITA", "title": "Testipaita & co", "short_description": "Pehmeä",
            "description": "Luomupuuvillaa.", "vendor": "Tukku Oy",
            "images": ["https://img.example.test/paita.jpg"], "options": ["Koko", "Väri"],
            "variants": variants}


def simple(number: int, *, quantity: int = 25, price: str = "12.90") -> dict[str, Any]:
    return {"key": f"p{number}", "title": f"Muki {number}", "short_description": "",
            "description": "", "vendor": "Tukku Oy", "images": [], "options": [],
            "variants": [variant(number, f"MUKI-{number}", [], price=price, quantity=quantity)]}


def listing(document: dict[str, Any]) -> Listing:
    return Listing(key=document["key"], document=document, content_hash="c", full_hash="f",
                   product_ids=tuple(v["product_id"] for v in document["variants"]))


def publish(connector: WooCommerceConnector, *documents: dict[str, Any]) -> list[Any]:
    changes = tuple(ListingChange("create", d["key"], listing(d)) for d in documents)
    results = connector.publish_products(ChangeBatch("create", changes))
    assert all(r.ok for r in results), [r.error for r in results]
    return results


def refs(result: Any) -> dict[int, ShopRef]:
    return dict(result.variants)


# --- wc-auth -------------------------------------------------------------------------------

def authorize(woo: WooCommerceSandbox, receiver: Receiver, **overrides: str
              ) -> requests.Response:
    params = {"app_name": "Glue", "scope": "read_write", "user_id": "conn1.token",
              "return_url": "https://glue.test/connect/woocommerce/installed",
              "callback_url": f"{receiver.url}/callback", **overrides}
    return requests.get(f"{woo.site_url(SHOP)}/wc-auth/v1/authorize", params=params,
                        allow_redirects=False, timeout=10)


def test_wc_auth_posts_the_keys_to_the_callback_and_returns_with_success(woo, receiver) -> None:
    answer = authorize(woo, receiver)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert location.path == "/connect/woocommerce/installed"
    assert parse_qs(location.query) == {"success": ["1"], "user_id": ["conn1.token"]}
    posted = json.loads(receiver.callbacks[0])
    assert posted["user_id"] == "conn1.token"  # echoed as a string
    assert posted["key_permissions"] == "read_write" and isinstance(posted["key_id"], int)
    client = WooCommerceClient(woo.site_url(SHOP), posted["consumer_key"],
                               posted["consumer_secret"])
    assert client.get("orders") == []


def test_a_callback_not_answered_exactly_200_deletes_the_keys(woo, receiver) -> None:
    receiver.callback_status = 201
    answer = authorize(woo, receiver)
    assert answer.status_code == 401 and "Access denied" in answer.text
    posted = json.loads(receiver.callbacks[0])
    assert posted["consumer_key"] not in woo.shops[SHOP].keys
    with pytest.raises(NeedsConfiguration):
        WooCommerceClient(woo.site_url(SHOP), posted["consumer_key"],
                          posted["consumer_secret"]).get("orders")


def test_wc_auth_refuses_a_plain_http_callback_and_missing_parameters(receiver) -> None:
    with WooCommerceSandbox() as strict:
        strict.add_shop(SHOP)
        answer = authorize(strict, receiver)
        assert answer.status_code == 401 and "over SSL" in answer.text
        assert authorize(strict, receiver, scope="admin").status_code == 401
    assert receiver.callbacks == []


def test_a_merchant_who_denies_is_sent_back_with_success_0(woo, receiver) -> None:
    woo.shops[SHOP].approve_auth = False
    answer = authorize(woo, receiver)
    assert "success=0" in answer.headers["Location"] and receiver.callbacks == []


# --- authentication ------------------------------------------------------------------------

def test_oauth_over_http_is_checked_and_each_nonce_works_once(woo) -> None:
    key, secret = woo.issue_keys(SHOP)
    assert WooCommerceClient(woo.site_url(SHOP), key, secret).get("orders") == []
    with pytest.raises(NeedsConfiguration, match="signature"):
        WooCommerceClient(woo.site_url(SHOP), key, "cs_" + "0" * 40).get("orders")
    # the same signed URL twice: the second is a replay
    stamp = str(int(time.time()))
    params = {"oauth_consumer_key": key, "oauth_timestamp": stamp, "oauth_nonce": "n1",
              "oauth_signature_method": "HMAC-SHA1"}
    url = f"{woo.site_url(SHOP)}/wp-json/wc/v3/orders"
    params["oauth_signature"] = oauth_signature("GET", url, params, secret, "sha1")
    assert requests.get(url, params=params, timeout=5).status_code == 200
    again = requests.get(url, params=params, timeout=5)
    assert again.status_code == 401 and "nonce" in again.json()["message"]


def test_basic_auth_over_http_is_ignored_as_woocommerce_does(woo) -> None:
    key, secret = woo.issue_keys(SHOP)
    answer = requests.get(f"{woo.site_url(SHOP)}/wp-json/wc/v3/orders", auth=(key, secret),
                          timeout=5)
    assert answer.status_code == 401
    assert answer.json()["code"] == "woocommerce_rest_cannot_view"


def test_a_read_key_cannot_write(woo) -> None:
    key, secret = woo.issue_keys(SHOP, permissions="read")
    client = WooCommerceClient(woo.site_url(SHOP), key, secret)
    assert client.get("products") == []
    with pytest.raises(NeedsConfiguration, match="write permissions"):
        client.post("products", {"name": "x"})


def test_https_takes_basic_auth_and_query_string_keys(monkeypatch) -> None:
    with WooCommerceSandbox(tls=True) as secure:
        secure.add_shop(SHOP)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", secure.ca_file)
        key, secret = secure.issue_keys(SHOP)
        url = secure.site_url(SHOP)
        assert url.startswith("https://")
        assert WooCommerceClient(url, key, secret).get("orders") == []
        assert WooCommerceClient(url, key, secret, query_string_auth=True).get("orders") == []
        with pytest.raises(NeedsConfiguration, match="Consumer secret is invalid"):
            WooCommerceClient(url, key, "cs_" + "1" * 40).get("orders")


# --- products ------------------------------------------------------------------------------

def test_publish_simple_and_variable_products_with_the_connector(woo) -> None:
    connector = connector_for(woo)
    mug, paita = publish(connector, simple(5), shirt())
    shop = woo.shops[SHOP]
    product = connector.client.get(f"products/{mug.shop_id}")
    assert product["regular_price"] == "12.90" and product["stock_quantity"] == 25
    assert product["manage_stock"] and product["sku"] == "MUKI-5"
    parent = connector.client.get(f"products/{paita.shop_id}")
    assert parent["type"] == "variable" and parent["name"] == "Testipaita &amp; co"
    assert [(a["name"], a["variation"], a["options"]) for a in parent["attributes"]] == [
        ("Koko", True, ["S", "M"]), ("Väri", True, ["Musta", "Harmaa"])]
    assert [a["slug"] for a in parent["attributes"]] == ["pa_koko", "pa_vari"]
    assert parent["images"][0]["src"] == "https://img.example.test/paita.jpg"
    variations = connector.client.get(f"products/{paita.shop_id}/variations")
    assert sorted(v["sku"] for v in variations) == sorted(
        v["sku"] for v in shirt()["variants"])
    assert len(parent["variations"]) == 4 and len(refs(paita)) == 4
    # one attributes list, two attribute creates, one products/batch, one variations batch
    assert shop.calls["POST products/batch"] == 1
    assert shop.calls["POST products/(\\d+)/variations/batch"] == 1
    # publishing again with the references updates in place, no second product
    changes = (ListingChange("update", "g7:PAITA", listing(shirt()), ShopRef(paita.shop_id, {}),
                             refs(paita)),)
    [again] = connector.publish_products(ChangeBatch("update", changes))
    assert again.ok and again.shop_id == paita.shop_id
    assert len(shop.products) == 1 + 1 + 4


def test_a_create_retried_after_a_crash_adopts_glues_own_product(woo) -> None:
    connector = connector_for(woo)
    [first] = publish(connector, simple(5))
    [second] = publish(connector, simple(5))  # the reference was never recorded
    assert second.shop_id == first.shop_id and len(woo.shops[SHOP].products) == 1


def test_a_merchant_product_holding_the_sku_is_never_taken(woo) -> None:
    woo.add_product(SHOP, "Oma muki", "9.90", sku="MUKI-5")
    connector = connector_for(woo)
    [result] = connector.publish_products(ChangeBatch("create", (
        ListingChange("create", "p5", listing(simple(5))),)))
    assert isinstance(result.error, Fatal) and "Glue did not create" in result.error.message


def test_batches_over_100_objects_are_413_and_item_errors_come_inside_a_200(woo) -> None:
    connector = connector_for(woo)
    with pytest.raises(Fatal) as refused:
        connector.client.post("products/batch", {"create": [
            {"name": f"x{n}", "regular_price": "1.00"} for n in range(101)]})
    assert refused.value.status == 413
    answer = connector.client.batch("products/batch", {
        "create": [{"name": "a", "sku": "A", "regular_price": "1.00"},
                   {"name": "b", "sku": "A", "regular_price": "1.00"},
                   {"name": "c", "regular_price": 1.0}],
        "update": [{"id": 999999, "regular_price": "2.00"}], "delete": [999998]})
    ok, duplicate, number = answer.create
    assert isinstance(ok, dict) and duplicate.code == "product_invalid_sku"
    assert duplicate.data["resource_id"] == ok["id"]
    assert number.code == "rest_invalid_param"  # money is a string
    assert answer.update[0].code == "woocommerce_rest_product_invalid_id"
    assert answer.delete[0].status == 404
    # variations are not products/batch's to touch: one variations/batch per parent
    [paita] = publish(connector, shirt())
    variation = int(refs(paita)[100].shop_id)
    [refused_variation] = connector.client.batch("products/batch", {"update": [
        {"id": variation, "stock_quantity": 1}]}).update
    assert refused_variation.code == "woocommerce_rest_invalid_product_id"
    # a changed SKU frees the old one
    connector.client.put(f"products/{ok['id']}", {"sku": "B"})
    assert connector.client.get("products", {"sku": "A"}) == []
    assert [p["id"] for p in connector.client.get("products", {"sku": "B"})] == [ok["id"]]


def test_update_stock_uses_one_call_per_100_simple_products_and_per_parent(woo) -> None:
    connector = connector_for(woo)
    documents = [simple(n) for n in range(1, 151)]
    results = []
    for start in range(0, 150, 50):
        results += publish(connector, *documents[start:start + 50])
    [paita] = publish(connector, shirt())
    shop = woo.shops[SHOP]
    shop.calls.clear()
    changes = [ListingChange("stock", d["key"], listing({**d, "variants": [
        {**d["variants"][0], "quantity": 3}]}), ShopRef(r.shop_id, {}), refs(r))
        for d, r in zip(documents, results, strict=True)]
    lowered = shirt()
    for v in lowered["variants"]:
        v["quantity"] = 1
    changes.append(ListingChange("stock", "g7:PAITA", listing(lowered),
                                 ShopRef(paita.shop_id, {}), refs(paita)))
    outcome = connector.update_stock(ChangeBatch("stock", tuple(changes)))
    assert all(r.ok for r in outcome)
    assert shop.api_calls() == 3  # 100 + 50 simple products, one variations batch
    assert {p["stock_quantity"] for p in shop.products.values() if p["type"] == "simple"} == {3}
    assert {p["stock_quantity"] for p in shop.products.values()
            if p["type"] == "variation"} == {1}


def test_end_sale_zeroes_unpublishes_or_deletes(woo) -> None:
    connector = connector_for(woo)
    zero, draft, gone = publish(connector, simple(1), simple(2), simple(3))
    changes = tuple(ListingChange("end", r.change.key, None, ShopRef(r.shop_id, {}), refs(r),
                                  end_action=action)
                    for r, action in ((zero, "zero_stock"), (draft, "unpublish"),
                                      (gone, "delete")))
    assert all(r.ok for r in connector.end_sale(ChangeBatch("end", changes)))
    products = woo.shops[SHOP].products
    assert products[int(zero.shop_id)]["stock_quantity"] == 0
    assert products[int(draft.shop_id)]["status"] == "draft"
    assert int(gone.shop_id) not in products
    # ending again counts a product the merchant already deleted as done
    assert all(r.ok for r in connector.end_sale(ChangeBatch("end", changes[2:])))


# --- orders --------------------------------------------------------------------------------

def test_a_checkout_carries_string_money_a_numeric_price_and_attribute_slugs(woo) -> None:
    connector = connector_for(woo)
    mug, paita = publish(connector, simple(5), shirt())
    own = woo.add_product(SHOP, "Lahjapaketointi", "4.00")
    variation = refs(paita)[102]  # M, Musta
    order = woo.checkout(SHOP, [{"product_id": int(variation.shop_id), "quantity": 2},
                                {"product_id": int(mug.shop_id), "quantity": 1},
                                {"product_id": own["id"], "quantity": 1}])
    assert order["status"] == "processing" and order["total"] == "72.70"
    first = order["line_items"][0]
    assert first["total"] == "39.68" and first["subtotal_tax"] == "10.12"
    assert isinstance(first["price"], float) and first["price"] == pytest.approx(19.840637)
    assert first["variation_id"] == int(variation.shop_id)
    assert first["product_id"] == int(paita.shop_id)
    assert first["name"] == "Testipaita &amp; co - M, Musta"
    assert [(m["key"], m["value"], m["display_value"]) for m in first["meta_data"]] == [
        ("pa_koko", "m", "M"), ("pa_vari", "musta", "Musta"), ("_reduced_stock", "2", "2")]
    assert translate.variation_attributes(first) == {"Koko": "M", "Väri": "Musta"}
    # the order maps back to Glue products; the merchant's row is ignored
    draft = connector.order_draft(order, {variation.shop_id: 102, mug.shop_id: 5})
    assert draft is not None and [line.product_id for line in draft.lines] == [102, 5]
    assert draft.ignored_lines == 1 and draft.lines[0].price.to_eng_string() == "24.90"
    assert woo.shops[SHOP].products[int(variation.shop_id)]["stock_quantity"] == 8


def test_checkout_refuses_more_than_the_stock(woo) -> None:
    [mug] = publish(connector_for(woo), simple(5, quantity=1))
    with pytest.raises(ValueError, match="stock"):
        woo.checkout(SHOP, [{"product_id": int(mug.shop_id), "quantity": 2}])


def test_fetch_orders_pages_by_modified_after_and_skips_drafts(woo) -> None:
    clock = {"now": datetime(2026, 11, 26, 12, 0, tzinfo=UTC)}
    woo.clock = lambda: clock["now"]
    connector = connector_for(woo)
    [mug] = publish(connector, simple(5))
    ids = []
    for _ in range(5):
        clock["now"] += timedelta(seconds=10)
        ids.append(woo.checkout(SHOP, [{"product_id": int(mug.shop_id)}])["id"])
    woo.start_checkout(SHOP, [{"product_id": int(mug.shop_id)}])  # an abandoned draft
    shop = woo.shops[SHOP]
    shop.calls.clear()
    since = datetime(2026, 11, 26, 12, 0, 15, tzinfo=UTC)
    fetched = [o["id"] for o in connector.fetch_orders(since)]
    assert fetched == ids[1:]  # oldest first, strictly after, no draft
    assert shop.calls["GET orders"] == 2  # per_page 2: two pages of 4 orders
    page = connector.client.page("orders", {"status": "any"}, per_page=2)
    assert page.total == 5 and page.total_pages == 3


def fulfilment(order: dict[str, Any], shipment: str, line: dict[str, Any], code: str
               ) -> FulfilmentRequest:
    return FulfilmentRequest(
        shop_order_id=str(order["id"]), shipment_id=shipment,
        lines={str(line["id"]): line["quantity"]}, carrier="Posti",
        parcels=(FulfilmentParcel((code,), f"https://www.posti.fi/seuranta#{code}"),))


def test_push_fulfilment_adds_notes_and_tracking_and_completes_when_all_delivered(woo) -> None:
    connector = connector_for(woo)
    mug, paita = publish(connector, simple(5), shirt())
    order = woo.checkout(SHOP, [{"product_id": int(refs(paita)[100].shop_id)},
                                {"product_id": int(mug.shop_id)}])
    first, second = order["line_items"]
    connector.push_fulfilment(fulfilment(order, "s1", first, "JJFI1"))
    after_one = woo.order(SHOP, order["id"])
    assert after_one["status"] == "processing"
    connector.push_fulfilment(fulfilment(order, "s2", second, "JJFI2"))
    done = woo.order(SHOP, order["id"])
    assert done["status"] == "completed" and done["date_completed"]
    tracking = next(m["value"] for m in done["meta_data"]
                    if m["key"] == "_wc_shipment_tracking_items")
    assert [t["tracking_number"] for t in tracking] == ["JJFI1", "JJFI2"]
    notes = connector.client.get(f"orders/{order['id']}/notes")
    customer = [n["note"] for n in notes if n["customer_note"]]
    assert len(customer) == 2 and all("Posti" in n for n in customer)
    assert any("Processing to Completed" in n["note"] for n in notes)
    assert len(woo.shops[SHOP].emails) == 2


def test_a_repeated_push_adds_no_second_note_or_tracking_item(woo) -> None:
    connector = connector_for(woo)
    [mug] = publish(connector, simple(5))
    order = woo.checkout(SHOP, [{"product_id": int(mug.shop_id)}])
    request = fulfilment(order, "s1", order["line_items"][0], "JJFI1")
    first = connector.push_fulfilment(request)
    assert connector.push_fulfilment(request) == first  # a crash before it was recorded
    done = woo.order(SHOP, order["id"])
    tracking = next(m["value"] for m in done["meta_data"]
                    if m["key"] == "_wc_shipment_tracking_items")
    assert len(tracking) == 1 and len(woo.shops[SHOP].emails) == 1


@pytest.mark.parametrize(("virtual", "completed"), [(False, False), (True, True)])
def test_a_merchant_row_keeps_the_order_open_unless_it_is_virtual(woo, virtual: bool,
                                                                  completed: bool) -> None:
    connector = connector_for(woo)
    [mug] = publish(connector, simple(5))
    own = woo.add_product(SHOP, "Lahjapaketointi", "4.00", virtual=virtual)
    order = woo.checkout(SHOP, [{"product_id": int(mug.shop_id)}, {"product_id": own["id"]}])
    connector.push_fulfilment(fulfilment(order, "s1", order["line_items"][0], "JJFI1"))
    status = woo.order(SHOP, order["id"])["status"]
    assert status == ("completed" if completed else "processing")


# --- webhooks ------------------------------------------------------------------------------

def make_webhook(connector: WooCommerceConnector, receiver: Receiver,
                 topic: str = "order.created") -> dict[str, Any]:
    return connector.create_webhook(topic, f"{receiver.url}/hook")


def test_creating_a_webhook_pings_it_synchronously_unsigned(woo, receiver) -> None:
    connector = connector_for(woo)
    created = make_webhook(connector, receiver)
    [(headers, body)] = receiver.pings()  # already there when the POST returned
    assert body == f"webhook_id={created['id']}".encode()
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert webhooks.is_ping(headers, body) and not connector.verify_webhook(headers, body)
    assert woo.shops[SHOP].pings == [{"webhook_id": created["id"], "status": 200}]
    assert connector.webhook_status(str(created["id"])) == "active"


def test_deliveries_wait_for_the_queue_coalesce_and_are_built_at_send_time(woo, receiver
                                                                           ) -> None:
    connector = connector_for(woo)
    make_webhook(connector, receiver, "order.created")
    make_webhook(connector, receiver, "order.updated")
    [mug] = publish(connector, simple(5))
    order = woo.checkout(SHOP, [{"product_id": int(mug.shop_id)}])
    connector.client.put(f"orders/{order['id']}", {"status": "on-hold"})
    assert receiver.deliveries() == [] and woo.pending(SHOP) == 2  # held, coalesced
    woo.run_queue(SHOP)
    delivered = receiver.deliveries()
    assert sorted(h["X-Wc-Webhook-Topic"] for h, _ in delivered) == [
        "order.created", "order.updated"]
    for headers, body in delivered:
        assert connector.verify_webhook(headers, body)
        assert headers["X-Wc-Webhook-Source"] == woo.site_url(SHOP) + "/"
        assert headers["User-Agent"].startswith("WooCommerce/")
        assert b"\\/" in body  # written as wp_json_encode writes it
        parsed = connector.parse_webhook(headers, body)
        assert parsed.payload.status == "on-hold"  # the latest state, even for created
    assert woo.run_queue(SHOP) == []  # nothing is sent twice


def test_the_checkout_draft_leaks_into_order_updated(woo, receiver) -> None:
    connector = connector_for(woo)
    make_webhook(connector, receiver, "order.updated")
    [mug] = publish(connector, simple(5))
    draft = woo.start_checkout(SHOP, [{"product_id": int(mug.shop_id)}])
    woo.run_queue(SHOP)
    [(headers, body)] = receiver.deliveries()
    payload = connector.parse_webhook(headers, body).payload
    assert payload.status == "checkout-draft"
    assert connector.order_draft(payload.order, {mug.shop_id: 5}) is None
    woo.place_order(SHOP, draft["id"])
    woo.run_queue(SHOP)
    assert connector.parse_webhook(*receiver.deliveries()[1]).payload.status == "processing"


def test_failures_are_not_retried_and_the_seventh_disables_the_webhook(woo, receiver) -> None:
    connector = connector_for(woo)
    created = make_webhook(connector, receiver, "order.updated")
    [mug] = publish(connector, simple(5, quantity=100))
    receiver.status = 500
    for attempt in range(7):
        woo.checkout(SHOP, [{"product_id": int(mug.shop_id)}])
        woo.run_queue(SHOP)
        expected = "disabled" if attempt == 6 else "active"
        assert connector.webhook_status(str(created["id"])) == expected, attempt
    assert len(receiver.deliveries()) == 7  # one attempt each, none retried
    woo.checkout(SHOP, [{"product_id": int(mug.shop_id)}])
    assert woo.pending(SHOP) == 0  # a disabled webhook queues nothing
    # re-enabling through the API makes it deliver again
    receiver.status = 200
    connector.client.put(f"webhooks/{created['id']}", {"status": "active"})
    woo.checkout(SHOP, [{"product_id": int(mug.shop_id)}])
    assert len(woo.run_queue(SHOP)) == 1
    assert connector.webhook_status(str(created["id"])) == "active"


def test_a_webhook_is_deleted_only_with_force(woo, receiver) -> None:
    connector = connector_for(woo)
    created = make_webhook(connector, receiver)
    with pytest.raises(Fatal) as refused:
        connector.client.delete(f"webhooks/{created['id']}")
    assert refused.value.status == 501
    connector.delete_webhook(str(created["id"]))
    connector.delete_webhook(str(created["id"]))  # already gone counts as done
    assert woo.shops[SHOP].webhooks == {}


def test_a_request_to_wp_cron_runs_the_queue(woo, receiver) -> None:
    connector = connector_for(woo)
    make_webhook(connector, receiver)
    [mug] = publish(connector, simple(5))
    woo.checkout(SHOP, [{"product_id": int(mug.shop_id)}])
    assert requests.get(f"{woo.site_url(SHOP)}/wp-cron.php", timeout=5).status_code == 200
    deadline = time.monotonic() + 5
    while not receiver.deliveries() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(receiver.deliveries()) == 1


# --- faults --------------------------------------------------------------------------------

def test_api_faults_are_retriable_and_counted() -> None:
    faults = Faults(api_error_rate=1.0, seed=6, hang_seconds=0.5)
    with WooCommerceSandbox(faults=faults) as sandbox:
        sandbox.add_shop(SHOP)
        key, secret = sandbox.issue_keys(SHOP)
        client = WooCommerceClient(sandbox.site_url(SHOP), key, secret, timeout=0.2)
        for _ in range(8):
            with pytest.raises(Retriable):
                client.get("orders")
    assert faults.counts["api_calls"] == 8
    assert all(faults.counts[f"api_{kind}"] for kind in ("429", "500", "503", "timeout"))


def test_dropped_and_duplicated_deliveries(receiver) -> None:
    faults = Faults(drop_rate=0.5, duplicate_rate=0.5, seed=1)
    with WooCommerceSandbox(faults=faults) as sandbox:
        sandbox.add_shop(SHOP)
        connector = connector_for(sandbox)
        make_webhook(connector, receiver)
        [mug] = publish(connector, simple(5, quantity=100))
        for _ in range(10):
            sandbox.checkout(SHOP, [{"product_id": int(mug.shop_id)}])
        sent = sandbox.run_queue(SHOP)
    assert len(sent) == 10
    assert len(receiver.deliveries()) == 2 * faults.counts["duplicated"]
    assert faults.counts["dropped"] + faults.counts["duplicated"] == 10


# --- the recorded shapes ------------------------------------------------------------------

def test_objects_carry_every_field_of_the_recorded_ones(woo, receiver) -> None:
    from tests.connectors.woocommerce.conftest import cassette_answer, delivery_body

    connector = connector_for(woo)
    mug, paita = publish(connector, simple(5), shirt())
    order = woo.checkout(SHOP, [{"product_id": int(refs(paita)[100].shop_id)}])
    recorded_order = delivery_body("order_created")
    assert set(order) == set(recorded_order)
    assert set(order["line_items"][0]) == set(recorded_order["line_items"][0])
    product = connector.client.get(f"products/{mug.shop_id}")
    assert set(cassette_answer("woo_simple_products_create.yaml", 1)) <= set(product)
    variation = connector.client.get(f"products/{paita.shop_id}/variations/"
                                     f"{refs(paita)[100].shop_id}")
    assert set(cassette_answer("woo_variable_product_create.yaml", 1)["create"][0]) == set(
        variation)
    webhook = make_webhook(connector, receiver)
    assert set(cassette_answer("woo_webhook_create.yaml", 0)) == set(webhook)


# --- helpers -------------------------------------------------------------------------------

def test_wp_json_and_slugs_match_wordpress() -> None:
    assert wp_json({"u": "https://a/b", "n": "Äijö"}) == \
        b'{"u":"https:\\/\\/a\\/b","n":"\\u00c4ij\\u00f6"}'
    assert sanitize_title("Väri") == "vari" and sanitize_title("Iso koko") == "iso-koko"
