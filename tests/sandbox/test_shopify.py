"""The Shopify sandbox behaves as the reference page says Shopify does, over loopback."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask, request
from werkzeug.datastructures import MultiDict

import connectors.shopify as conn
from connectors.errors import Fatal, NeedsConfiguration, Retriable
from connectors.shopify import translate, webhooks
from connectors.shopify.client import ShopifyClient, ShopifyGraphQLError, ShopifyUserErrors
from connectors.shopify.install import WEBHOOK_SUBSCRIPTION_CREATE, verify_query
from sandbox.common import Faults, LoopbackServer
from sandbox.shopify import SandboxApp, ShopifySandbox
from tests.connectors.shopify.conftest import FakeTime
from tests.sandbox.conftest import (
    API_KEY,
    API_SECRET,
    REDIRECT,
    SHOP,
    client_for,
    grant,
    make_sandbox,
)

SERVICE = """mutation { fulfillmentServiceCreate(name: "Glue", inventoryManagement: true) {
  fulfillmentService { id location { id } } userErrors { field message } } }"""


def glue_location(client: ShopifyClient) -> str:
    payload = client.mutate(SERVICE, {}, root="fulfillmentServiceCreate")
    return payload["fulfillmentService"]["location"]["id"]


def shirt(quantities: tuple[int, int] = (5, 3)) -> dict:
    return {"key": "S1-VG-shirt", "title": "Paita", "vendor": "Toimittaja Oy",
            "options": ["Koko"], "images": [], "variants": [
                {"product_id": 11, "sku": "SHIRT-M", "price": "19.90",
                 "quantity": quantities[0], "options": [["Koko", "M"]]},
                {"product_id": 12, "sku": "SHIRT-L", "price": "21.90",
                 "quantity": quantities[1], "options": [["Koko", "L"]]}]}


def publish(client: ShopifyClient, location: str, document: dict,
            product_id: str | None = None, variant_ids: dict | None = None) -> dict:
    return client.mutate(conn.PRODUCT_SET, {
        "identifier": translate.product_set_identifier(document["key"], product_id),
        "input": translate.product_set_input(document, location_id=location,
                                             variant_ids=variant_ids)}, root="productSet")


def authorize(sandbox: ShopifySandbox, state: str = "nonce-1") -> dict[str, str]:
    answer = requests.get(f"{sandbox.base_url(SHOP)}/admin/oauth/authorize", params={
        "client_id": API_KEY, "scope": "read_products,write_products",
        "redirect_uri": REDIRECT, "state": state}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def token(sandbox: ShopifySandbox, **form: str) -> requests.Response:
    return requests.post(f"{sandbox.base_url(SHOP)}/admin/oauth/access_token",
                         data={"client_id": API_KEY, "client_secret": API_SECRET, **form},
                         timeout=5)


# --- OAuth ---------------------------------------------------------------------------------

def test_authorize_redirects_back_with_a_signed_query_carrying_the_state(sandbox) -> None:
    from datetime import UTC, datetime

    query = authorize(sandbox, state="abc")
    assert query["state"] == "abc" and query["shop"] == SHOP and query["code"]
    assert verify_query(MultiDict(query), API_SECRET, datetime.now(UTC))
    assert not verify_query(MultiDict({**query, "shop": "evil.myshopify.com"}), API_SECRET,
                            datetime.now(UTC))


def test_authorize_refuses_a_redirect_uri_the_app_did_not_register(sandbox) -> None:
    answer = requests.get(f"{sandbox.base_url(SHOP)}/admin/oauth/authorize", params={
        "client_id": API_KEY, "scope": "read_products", "state": "x",
        "redirect_uri": "https://evil.test/cb"}, allow_redirects=False, timeout=5)
    assert answer.status_code == 400


def test_code_grant_gives_expiring_tokens_and_the_code_works_once(sandbox) -> None:
    code = authorize(sandbox)["code"]
    answer = token(sandbox, code=code, expiring="1")
    assert answer.status_code == 200
    body = answer.json()
    assert body["expires_in"] == 3600 and body["refresh_token"].startswith("shprt_")
    assert body["scope"] == "read_products,write_products"
    assert token(sandbox, code=code, expiring="1").status_code == 400


def test_a_code_grant_without_expiring_is_refused(sandbox) -> None:
    assert token(sandbox, code=authorize(sandbox)["code"]).status_code == 400


def test_the_refresh_token_rotates_and_each_works_once(sandbox) -> None:
    first = token(sandbox, code=authorize(sandbox)["code"], expiring="1").json()
    second = token(sandbox, grant_type="refresh_token",
                   refresh_token=first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert token(sandbox, grant_type="refresh_token",
                 refresh_token=first["refresh_token"]).status_code == 400
    client = ShopifyClient(SHOP, second["access_token"], base_url=sandbox.base_url(SHOP))
    assert client.execute("query { shop { name } }") == {"shop": {"name": "glue-demo"}}


def test_an_expired_access_token_is_refused_with_401() -> None:
    clock = FakeTime()
    with make_sandbox(clock=clock.clock) as sandbox:
        sandbox.add_shop(SHOP)
        answer = token(sandbox, code=authorize(sandbox)["code"], expiring="1").json()
        clock.now += 3601
        client = ShopifyClient(SHOP, answer["access_token"], base_url=sandbox.base_url(SHOP))
        with pytest.raises(NeedsConfiguration):
            client.execute("query { shop { name } }")


# --- GraphQL: cost, throttling, errors ---------------------------------------------------

def test_every_answer_reports_cost_and_the_bucket(sandbox) -> None:
    raw = requests.post(f"{sandbox.base_url(SHOP)}/admin/api/2026-07/graphql.json",
                        headers={"X-Shopify-Access-Token": grant(sandbox.shops[SHOP])},
                        json={"query": "query { products(first: 10) { nodes { id } } }"},
                        timeout=5).json()
    cost = raw["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 12  # a connection: 2 + 10 nodes × 1
    assert cost["actualQueryCost"] == 2  # no products came back: the rest is refunded
    assert cost["throttleStatus"]["maximumAvailable"] == 1000.0
    assert cost["throttleStatus"]["restoreRate"] == 50.0


def test_a_drained_bucket_answers_throttled_and_the_client_waits_it_out() -> None:
    # given a bucket of 25 points restoring 50/s on a clock that moves only when slept
    clock = FakeTime()
    with make_sandbox(bucket_size=25.0, clock=clock.clock) as sandbox:
        sandbox.add_shop(SHOP)
        client = client_for(sandbox, sleep=clock.sleep, clock=clock.clock)
        location = glue_location(client)  # 10 points
        client.bucket = None  # forget the bucket, so the client cannot wait in advance
        # when two more mutations of 10 points each are sent
        client.execute(SERVICE.replace('"Glue"', '"Second"'))
        client.bucket = None
        client.execute(SERVICE.replace('"Glue"', '"Third"'))
    # then the third was throttled (5 points left), the client slept for the missing 5 points
    # (0.1 s at 50/s) and sent it again
    assert sandbox.shops[SHOP].throttled == 1
    assert clock.sleeps == [pytest.approx(0.1)]
    assert location and len(sandbox.shops[SHOP].services) == 3


def test_a_query_over_the_single_query_limit_is_refused(sandbox) -> None:
    client = client_for(sandbox)
    with pytest.raises(ShopifyGraphQLError, match="max cost"):
        client.execute("query { products(first: 250) { nodes { id "
                       "variants(first: 250) { nodes { id } } } } }")


def test_an_unknown_field_is_a_graphql_error_with_http_200(sandbox) -> None:
    with pytest.raises(ShopifyGraphQLError, match="nonexistentField"):
        client_for(sandbox).execute("query { shop { name nonexistentField } }")


def test_an_input_array_over_250_items_is_refused(sandbox) -> None:
    client = client_for(sandbox)
    location = glue_location(client)
    quantities = [(f"gid://shopify/InventoryItem/{n}", 1) for n in range(251)]
    chunk = translate.inventory_set_inputs(quantities, location_id=location, reference="r")[0]
    chunk["quantities"] = [q for c in translate.inventory_set_inputs(
        quantities, location_id=location, reference="r") for q in c["quantities"]]
    with pytest.raises(ShopifyGraphQLError, match="250"):
        client.mutate(conn.INVENTORY_SET, {"input": chunk}, root="inventorySetQuantities")


def test_a_wrong_token_is_needs_configuration(sandbox) -> None:
    client = ShopifyClient(SHOP, "shpat_wrong", base_url=sandbox.base_url(SHOP))
    with pytest.raises(NeedsConfiguration):
        client.execute("query { shop { name } }")


# --- products and inventory through the existing client ------------------------------------

def test_product_set_creates_then_updates_the_same_product(sandbox) -> None:
    client = client_for(sandbox)
    location = glue_location(client)
    created = publish(client, location, shirt())
    variants = {v["sku"]: v for v in created["product"]["variants"]["nodes"]}
    assert set(variants) == {"SHIRT-M", "SHIRT-L"}
    # a retried create (same handle, no ids) finds the same product and keeps its variants
    again = publish(client, location, shirt())
    assert again["product"]["id"] == created["product"]["id"]
    assert {v["id"] for v in again["product"]["variants"]["nodes"]} == \
        {v["id"] for v in variants.values()}
    # an update by id with recorded variant ids changes the price in place
    document = shirt()
    document["variants"][0]["price"] = "17.90"
    publish(client, location, document, created["product"]["id"],
            {11: variants["SHIRT-M"]["id"], 12: variants["SHIRT-L"]["id"]})
    state = sandbox.shops[SHOP]
    assert len(state.products) == 1
    assert sorted(v["price"] for v in state.variants.values()) == ["17.90", "21.90"]


def test_product_set_user_errors_are_raised_typed(sandbox) -> None:
    client = client_for(sandbox)
    location = glue_location(client)
    document = shirt()
    document["variants"][1]["options"] = [["Koko", "M"]]  # two variants, one combination
    payload = translate.product_set_input(document, location_id=location)
    payload["variants"][1]["optionValues"] = payload["variants"][0]["optionValues"]
    with pytest.raises(ShopifyUserErrors, match="already exists") as caught:
        client.mutate(conn.PRODUCT_SET, {"identifier": {"handle": "x"}, "input": payload},
                      root="productSet")
    assert caught.value.user_errors[0]["field"][:3] == ["input", "variants", "1"]
    assert sandbox.shops[SHOP].products == {}


def test_inventory_set_quantities_sets_stock_at_glues_location(sandbox) -> None:
    client = client_for(sandbox)
    location = glue_location(client)
    created = publish(client, location, shirt())
    items = [v["inventoryItem"]["id"] for v in created["product"]["variants"]["nodes"]]
    for chunk in translate.inventory_set_inputs([(items[0], 42), (items[1], -3)],
                                                location_id=location, reference="gid://glue/1"):
        client.mutate(conn.INVENTORY_SET, {"input": chunk}, root="inventorySetQuantities")
    state = sandbox.shops[SHOP]
    stock = {v["sku"]: state.inventory[(v["inventory_item_id"], int(location.split("/")[-1]))]
             for v in state.variants.values()}
    assert stock == {"SHIRT-M": 42, "SHIRT-L": 0}


def test_inventory_set_refuses_an_item_not_stocked_at_the_location(sandbox) -> None:
    client = client_for(sandbox)
    location = glue_location(client)
    created = publish(client, location, shirt())
    item = created["product"]["variants"]["nodes"][0]["inventoryItem"]["id"]
    merchant = f"gid://shopify/Location/{sandbox.shops[SHOP].merchant_location}"
    chunk = translate.inventory_set_inputs([(item, 1)], location_id=merchant, reference="r")[0]
    with pytest.raises(ShopifyUserErrors) as caught:
        client.mutate(conn.INVENTORY_SET, {"input": chunk}, root="inventorySetQuantities")
    assert caught.value.user_errors[0]["code"] == "ITEM_NOT_STOCKED_AT_LOCATION"
    # and without ignoreCompareQuantity a compareQuantity is required
    chunk["ignoreCompareQuantity"] = False
    chunk["quantities"][0]["locationId"] = location
    with pytest.raises(ShopifyUserErrors) as caught:
        client.mutate(conn.INVENTORY_SET, {"input": chunk}, root="inventorySetQuantities")
    assert caught.value.user_errors[0]["code"] == "COMPARE_QUANTITY_REQUIRED"


# --- storefront checkout, webhooks, fulfilment ---------------------------------------------

def subscribe(client: ShopifyClient, url: str, topics: tuple[str, ...]) -> None:
    for topic in topics:
        client.mutate(WEBHOOK_SUBSCRIPTION_CREATE, {"topic": topic, "subscription": {
            "uri": url, "format": "JSON"}}, root="webhookSubscriptionCreate")


def test_checkout_fires_signed_webhooks_and_fulfilment_reaches_only_glues_lines(
        sandbox, receiver) -> None:
    server, received = receiver
    client = client_for(sandbox)
    location = glue_location(client)
    subscribe(client, f"{server.url}/hook", ("ORDERS_CREATE", "ORDERS_PAID"))
    created = publish(client, location, shirt())
    glue_variant = created["product"]["variants"]["nodes"][0]["id"]
    merchant = sandbox.add_merchant_product(SHOP, title="Oma muki", sku="MUG", price="9.00")
    # when a customer buys a Glue shirt, the merchant's mug and a custom gift wrap
    order = sandbox.checkout(SHOP, [
        {"variant_id": glue_variant, "quantity": 2},
        {"variant_id": merchant["id"], "quantity": 1},
        {"title": "Lahjapaketointi", "price": "3.50", "quantity": 1}],
        shipping_address={"first_name": "Aino", "last_name": "Asiakas",
                          "address1": "Kauppakatu 1", "zip": "40100", "city": "Jyväskylä",
                          "country_code": "FI"})
    # then orders/create and orders/paid arrived, signed with the app secret
    assert [h["X-Shopify-Topic"] for h, _ in received.items] == ["orders/create",
                                                                 "orders/paid"]
    headers, body = received.items[0]
    assert webhooks.verify(body, headers["X-Shopify-Hmac-Sha256"], API_SECRET)
    assert not webhooks.verify(body, headers["X-Shopify-Hmac-Sha256"], "another-secret")
    assert headers["X-Shopify-Event-Id"] != received.items[1][0]["X-Shopify-Event-Id"]
    delivery = webhooks.parse(headers, body)
    draft = translate.order_draft(delivery.payload.order, {glue_variant: 501})
    assert [(line.product_id, line.quantity) for line in draft.lines] == [(501, 2)]
    assert draft.ignored_lines == 2 and str(draft.total_price) == "52.30"
    assert sandbox.shops[SHOP].inventory[
        (sandbox.shops[SHOP].variants[int(glue_variant.split("/")[-1])]["inventory_item_id"],
         int(location.split("/")[-1]))] == 3
    # when Glue fulfils its line through the fulfillment orders it can see
    fulfillment_orders = client.execute(conn.FULFILLMENT_ORDERS, {"id": draft.shop_order_id})
    visible = fulfillment_orders["order"]["fulfillmentOrders"]["nodes"]
    assert len(visible) == 1  # the merchant's location is not the app's to see
    from connectors.base import FulfilmentParcel, FulfilmentRequest

    request_ = FulfilmentRequest(shop_order_id=draft.shop_order_id, shipment_id="S1",
                                 lines={draft.lines[0].shop_line_id: 2}, carrier="Posti",
                                 parcels=(FulfilmentParcel(("JJFI1", "JJFI2")),))
    payload = client.mutate(conn.FULFILLMENT_CREATE, {
        "fulfillment": translate.fulfillment_create_input(request_, visible)},
        root="fulfillmentCreate")
    # then the shop order carries one fulfilment with both numbers, the rest untouched
    record = sandbox.shops[SHOP].fulfillments[int(payload["fulfillment"]["id"].split("/")[-1])]
    assert [t["number"] for t in record["tracking"]] == ["JJFI1", "JJFI2"]
    merchant_fo = [fo for fo in sandbox.shops[SHOP].fulfillment_orders.values()
                   if fo["order_id"] == order["id"] and fo["status"] == "OPEN"]
    assert len(merchant_fo) == 1 and len(merchant_fo[0]["lines"]) == 2
    # and fulfilling the same lines again is refused
    with pytest.raises(ShopifyUserErrors):
        client.mutate(conn.FULFILLMENT_CREATE, {"fulfillment": {
            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": visible[0]["id"],
                                             "fulfillmentOrderLineItems": []}]}},
            root="fulfillmentCreate")


def test_orders_query_pages_orders_updated_since_a_time(sandbox) -> None:
    client = client_for(sandbox)
    merchant = sandbox.add_merchant_product(SHOP, title="Muki", sku="MUG", price="9.00",
                                            quantity=100)
    for _ in range(3):
        sandbox.checkout(SHOP, [{"variant_id": merchant["id"], "quantity": 1}])
    orders = list(client.nodes(conn.ORDERS, {"query": "updated_at:>='2020-01-01T00:00:00Z'"},
                               path=("orders",)))
    assert [o["name"] for o in orders] == ["#1001", "#1002", "#1003"]
    assert list(client.nodes(conn.ORDERS, {"query": "updated_at:>='2099-01-01T00:00:00Z'"},
                             path=("orders",))) == []


def connector_for(sandbox: ShopifySandbox, location: str = "gid://shopify/Location/1",
                  **kw: object) -> conn.ShopifyConnector:
    from connectors.base import ConnectionContext, ConnectionSettings

    context = ConnectionContext(
        id=1, key="c1", platform="shopify", shop=SHOP, retailer_id=1,
        credentials={"access_token": "shpat_test"},
        settings=ConnectionSettings.from_json({"platform": {"location_id": location}}))
    return conn.ShopifyConnector(context, client=client_for(sandbox, **kw), secret=API_SECRET)


@pytest.mark.parametrize("name", ["ORDERS", "ORDER_LINE_ITEMS", "FULFILLMENT_ORDERS",
                                  "FULFILLMENT_ORDER_LINE_ITEMS", "PRODUCT_SET",
                                  "INVENTORY_SET", "FULFILLMENT_CREATE", "ORDER_NOTE",
                                  "ORDER_FLAG", "ORDER_FULFILLMENTS", "STAGED_UPLOADS_CREATE",
                                  "BULK_RUN_MUTATION", "BULK_STATUS", "BULK_CURRENT"])
def test_every_connector_query_fits_shopifys_single_query_cost_limit(name: str) -> None:
    from graphql import parse, validate

    from sandbox import shopify_schema

    document = parse(getattr(conn, name))
    assert not validate(shopify_schema.schema(), document)
    # and leaves room in a 1000-point bucket for the order and fulfilment calls next to it
    assert shopify_schema.requested_cost(document, {}) <= 400


def test_reconciliation_streams_every_order_with_all_of_its_lines(sandbox) -> None:
    merchant = [sandbox.add_merchant_product(SHOP, title=f"Tuote {i}", sku=f"T{i}",
                                             price="1.00", quantity=100) for i in range(23)]
    # given seven orders (more than a page) and one with 23 lines (more than a page of lines)
    for _ in range(6):
        sandbox.checkout(SHOP, [{"variant_id": merchant[0]["id"], "quantity": 1}])
    sandbox.checkout(SHOP, [{"variant_id": v["id"], "quantity": 1} for v in merchant])
    shop = connector_for(sandbox)
    stream = shop.fetch_orders(datetime(2020, 1, 1, tzinfo=UTC))
    first = next(stream)  # streaming: the first order comes before the last page is read
    assert first["name"] == "#1001" and shop.client.calls == 1
    orders = [first, *stream]
    assert [o["name"] for o in orders] == [f"#{1001 + i}" for i in range(7)]
    assert [line["sku"] for line in orders[-1]["lineItems"]["nodes"]] == [
        f"T{i}" for i in range(23)]
    # two order pages and one extra page of lines for the big order
    assert shop.client.calls == 3
    draft = shop.order_draft(orders[-1], {f"gid://shopify/ProductVariant/{v['id']}": i
                                          for i, v in enumerate(merchant)})
    assert len(draft.lines) == 23


def test_fulfilment_of_an_order_with_many_lines_pages_its_fulfillment_order(sandbox) -> None:
    from connectors.base import FulfilmentParcel, FulfilmentRequest

    client = client_for(sandbox)
    location = glue_location(client)
    sizes = [str(n) for n in range(30)]
    document = {"key": "g1:big", "title": "Iso", "vendor": "Toimittaja", "options": ["Koko"],
                "images": [], "variants": [
                    {"product_id": 100 + i, "sku": f"BIG-{size}", "price": "2.00",
                     "quantity": 5, "options": [["Koko", size]]} for i, size in enumerate(sizes)]}
    variants = publish(client, location, document)["product"]["variants"]["nodes"]
    sandbox.checkout(SHOP, [{"variant_id": v["id"], "quantity": 1} for v in variants])
    shop = connector_for(sandbox, location)
    order = next(shop.fetch_orders(datetime(2020, 1, 1, tzinfo=UTC)))
    lines = {line["id"]: 1 for line in order["lineItems"]["nodes"]}
    assert len(lines) == 30
    fulfilment_id = shop.push_fulfilment(FulfilmentRequest(
        shop_order_id=order["id"], shipment_id="S1", lines=lines, carrier="Posti",
        parcels=(FulfilmentParcel(("JJFI9",)),)))
    record = sandbox.shops[SHOP].fulfillments[int(fulfilment_id.rsplit("/", 1)[1])]
    assert len(record["lines"]) == 30 and record["tracking"][0]["number"] == "JJFI9"


def test_a_second_subscription_to_the_same_topic_and_address_is_refused(sandbox) -> None:
    client = client_for(sandbox)
    subscribe(client, "https://glue.test/webhooks/shopify", ("ORDERS_CREATE",))
    with pytest.raises(ShopifyUserErrors, match="already been taken"):
        subscribe(client, "https://glue.test/webhooks/shopify", ("ORDERS_CREATE",))


# --- fault injection -----------------------------------------------------------------------

def test_injected_api_faults_reach_the_client_as_the_taxonomy_says() -> None:
    faults = Faults(api_error_rate=0.2, seed=11, retry_after=0.0, hang_seconds=0.6)
    with make_sandbox(faults=faults) as sandbox:
        sandbox.add_shop(SHOP)
        client = client_for(sandbox, timeout=0.3)
        server_errors = timeouts = 0
        for _ in range(100):
            try:
                client.execute("query { shop { name } }")
            except Retriable as exc:
                server_errors += exc.status in (500, 503)
                timeouts += exc.status is None
    counts = faults.counts
    # 429s are waited out by the client; 5xx and timeouts surface as Retriable
    assert counts["api_429"] > 0
    assert server_errors == counts["api_500"] + counts["api_503"] > 0
    assert timeouts >= counts["api_timeout"] > 0  # a slow machine may add a real one
    injected = sum(counts[f"api_{k}"] for k in ("429", "500", "503", "timeout"))
    assert abs(injected / counts["api_calls"] - 0.2) < 0.06


def test_dropped_and_duplicated_deliveries_follow_the_rates(receiver) -> None:
    server, received = receiver
    faults = Faults(drop_rate=0.1, duplicate_rate=0.1, seed=5)
    with make_sandbox(faults=faults) as sandbox:
        state = sandbox.add_shop(SHOP)
        subscribe(client_for(sandbox), f"{server.url}/hook", ("ORDERS_CREATE",))
        for n in range(300):
            sandbox.send_webhook(state, "orders/create", {"id": n})
    counts = faults.counts
    assert counts["deliveries"] == 300
    assert abs(counts["dropped"] / 300 - 0.1) < 0.04
    assert abs(counts["duplicated"] / 300 - 0.1) < 0.04
    assert len(received.items) == 300 - counts["dropped"] + counts["duplicated"]
    # a duplicate carries the same webhook id as its original
    ids = [h["X-Shopify-Webhook-Id"] for h, _ in received.items]
    assert len(set(ids)) == 300 - counts["dropped"]


def test_the_same_seed_injects_the_same_faults() -> None:
    first, second = Faults(api_error_rate=0.3, seed=3), Faults(api_error_rate=0.3, seed=3)
    assert [first.api_fault() for _ in range(200)] == [second.api_fault() for _ in range(200)]


def test_uninstall_revokes_the_tokens_and_sends_app_uninstalled(sandbox, receiver) -> None:
    server, received = receiver
    client = client_for(sandbox)
    subscribe(client, f"{server.url}/hook", ("APP_UNINSTALLED",))
    sandbox.uninstall(SHOP)
    headers, body = received.items[0]
    assert headers["X-Shopify-Topic"] == "app/uninstalled"
    assert webhooks.verify(body, headers["X-Shopify-Hmac-Sha256"], API_SECRET)
    assert webhooks.parse(headers, body).payload.myshopify_domain == SHOP
    with pytest.raises(NeedsConfiguration):
        client.execute("query { shop { name } }")


def test_the_storefront_checkout_endpoint_creates_orders_and_refuses_overselling(
        sandbox) -> None:
    mug = sandbox.add_merchant_product(SHOP, title="Muki", sku="MUG", price="9.00", quantity=1)
    url = f"{sandbox.base_url(SHOP)}/checkout"
    created = requests.post(url, json={"lines": [{"variant_id": mug["id"], "quantity": 1}],
                                       "email": "a@example.test"}, timeout=5)
    assert created.status_code == 201
    order = created.json()["order"]
    assert order["line_items"][0]["price"] == "9.00" and order["financial_status"] == "paid"
    sold_out = requests.post(url, json={"lines": [{"variant_id": mug["id"], "quantity": 1}]},
                             timeout=5)
    assert sold_out.status_code == 422 and len(sandbox.shops[SHOP].orders) == 1


def test_compliance_topics_go_to_the_apps_configured_address(receiver) -> None:
    server, received = receiver
    app = SandboxApp(API_KEY, API_SECRET, (REDIRECT,), compliance_url=f"{server.url}/hook")
    with ShopifySandbox(app) as sandbox:
        state = sandbox.add_shop(SHOP)
        sandbox.send_webhook(state, "customers/redact", {
            "shop_id": 1, "shop_domain": SHOP, "customer": {"id": 7, "email": "a@b.test"},
            "orders_to_redact": [1001]})
    headers, body = received.items[0]
    assert webhooks.verify(body, headers["X-Shopify-Hmac-Sha256"], API_SECRET)
    payload = webhooks.parse(headers, body).payload
    assert payload.customer_id == "gid://shopify/Customer/7"
    assert payload.orders == ("gid://shopify/Order/1001",)


def test_failed_deliveries_are_sent_again_with_the_same_ids() -> None:
    answers = iter([500, 200])
    seen: list[str] = []
    app = Flask("flaky")

    @app.post("/hook")
    def hook() -> tuple[str, int]:
        seen.append(request.headers["X-Shopify-Webhook-Id"])
        return "", next(answers)

    with LoopbackServer(app) as server, make_sandbox() as sandbox:
        state = sandbox.add_shop(SHOP)
        subscribe(client_for(sandbox), f"{server.url}/hook", ("ORDERS_PAID",))
        sandbox.send_webhook(state, "orders/paid", {"id": 1})
        assert sandbox.deliverer.retry_failed() == 1
        assert sandbox.deliverer.retry_failed() == 0  # answered 200 the second time
    assert len(seen) == 2 and seen[0] == seen[1]


# --- bulk mutations ------------------------------------------------------------------------

def product_document(n: int) -> dict:
    return {"key": f"p{n}", "title": f"Tuote {n}", "vendor": "Toimittaja Oy",
            "options": ["Koko"], "images": [], "variants": [
                {"product_id": 10 * n + i, "sku": f"SKU-{n}-{size}", "price": "9.90",
                 "quantity": 4, "options": [["Koko", size]]}
                for i, size in enumerate(("S", "M"))]}


def stage(client: ShopifyClient, lines: list[dict] | bytes) -> str:
    """A staged upload of ``lines`` as JSONL; its path."""
    target = client.mutate(conn.STAGED_UPLOADS_CREATE, {"input": [{
        "resource": "BULK_MUTATION_VARIABLES", "filename": "vars.jsonl",
        "mimeType": "text/jsonl", "httpMethod": "POST"}]},
        root="stagedUploadsCreate")["stagedTargets"][0]
    body = lines if isinstance(lines, bytes) else "".join(
        __import__("json").dumps(line) + "\n" for line in lines).encode()
    return client.upload_staged(target, "vars.jsonl", body)


def test_a_bulk_mutation_runs_every_jsonl_line_and_answers_a_result_file(
        sandbox, receiver) -> None:
    import json

    server, received = receiver
    client = client_for(sandbox)
    location = glue_location(client)
    subscribe(client, f"{server.url}/hook", ("BULK_OPERATIONS_FINISH",))
    documents = [product_document(n) for n in range(3)]
    lines = [{"identifier": translate.product_set_identifier(d["key"], None),
              "input": translate.product_set_input(d, location_id=location)}
             for d in documents]
    lines[1]["input"]["variants"][1]["optionValues"] = [{"optionName": "Koko", "name": "S"}]
    # the staged upload target is on loopback and refuses a forged policy
    target = client.mutate(conn.STAGED_UPLOADS_CREATE, {"input": [{
        "resource": "BULK_MUTATION_VARIABLES", "filename": "v.jsonl", "mimeType": "text/jsonl",
        "httpMethod": "POST"}]}, root="stagedUploadsCreate")["stagedTargets"][0]
    assert target["url"].startswith("http://127.0.0.1:")
    forged = {**target, "parameters": [p if p["name"] != "x-goog-signature" else
                                       {**p, "value": "0" * 64} for p in target["parameters"]]}
    with pytest.raises(NeedsConfiguration):  # the bucket answers 403
        client.upload_staged(forged, "v.jsonl", b"{}\n")
    path = stage(client, lines)
    before = sandbox.shops[SHOP].bucket.available
    run = client.mutate(conn.BULK_RUN_MUTATION, {"mutation": conn.PRODUCT_SET, "path": path},
                        root="bulkOperationRunMutation")
    assert run["bulkOperation"]["status"] == "CREATED"
    sandbox.bulk.wait()
    done = client.execute(conn.BULK_STATUS, {"id": run["bulkOperation"]["id"]})["bulkOperation"]
    assert done["status"] == "COMPLETED" and done["objectCount"] == "3"
    assert client.execute(conn.BULK_CURRENT)["currentBulkOperation"]["id"] == done["id"]
    result = [json.loads(line) for line in client.download(done["url"]).splitlines()]
    assert [line["__lineNumber"] for line in result] == [0, 1, 2]
    assert result[0]["data"]["productSet"]["product"]["variants"]["nodes"][0]["sku"] == \
        "SKU-0-S"
    # a line Shopify refuses carries its userErrors; the other lines went through
    assert result[1]["data"]["productSet"]["userErrors"][0]["message"].endswith(
        "already exists.")
    assert len(sandbox.shops[SHOP].products) == 2
    # the work ran outside the rate limit: only the calls themselves cost points
    assert before - sandbox.shops[SHOP].bucket.available < 30
    # and bulk_operations/finish reached the app
    [(headers, body)] = [(h, b) for h, b in received.items
                         if h["X-Shopify-Topic"] == "bulk_operations/finish"]
    assert json.loads(body)["admin_graphql_api_id"] == done["id"]
    assert json.loads(body)["status"] == "completed"


def test_a_bulk_mutation_refuses_what_shopify_refuses(sandbox) -> None:
    client = client_for(sandbox)

    def run(mutation: str, path: str) -> list[str]:
        try:
            client.mutate(conn.BULK_RUN_MUTATION, {"mutation": mutation, "path": path},
                          root="bulkOperationRunMutation")
        except ShopifyUserErrors as exc:
            return [e["code"] for e in exc.user_errors]
        return []

    good = stage(client, [{"product": {"id": "gid://shopify/Product/1", "title": "x"}}])
    assert run(conn.PRODUCT_SET, "tmp/1/bulk/none/vars.jsonl") == ["NO_SUCH_FILE"]
    assert run("query { shop { name } }", good) == ["INVALID_MUTATION"]
    assert run(conn.ORDER_FLAG, good) == ["INVALID_MUTATION"]  # two roots, unsupported
    assert run(conn.PRODUCT_SET, stage(client, b"not json\n")) == [
        "INVALID_STAGED_UPLOAD_FILE"]


def test_only_so_many_bulk_mutations_run_at_once() -> None:
    with make_sandbox(bulk_concurrency=1, bulk_startup_seconds=0.3) as running:
        running.add_shop(SHOP)
        client = client_for(running)
        line = [{"product": {"id": "gid://shopify/Product/1", "title": "x"}}]
        mutation = conn.PRODUCT_UNPUBLISH
        first = client.mutate(conn.BULK_RUN_MUTATION, {"mutation": mutation,
                                                       "path": stage(client, line)},
                              root="bulkOperationRunMutation")
        assert first["bulkOperation"]["status"] == "CREATED"
        with pytest.raises(ShopifyUserErrors, match="already in progress"):
            client.mutate(conn.BULK_RUN_MUTATION, {"mutation": mutation,
                                                   "path": stage(client, line)},
                          root="bulkOperationRunMutation")


def test_the_connector_publishes_a_large_batch_as_one_bulk_mutation(sandbox) -> None:
    from connectors.publish import ChangeBatch, Listing, ListingChange

    client = client_for(sandbox)
    location = glue_location(client)
    shop = connector_for(sandbox, location, sleep=lambda s: __import__("time").sleep(0.01))
    shop.bulk_threshold = 5
    documents = [product_document(n) for n in range(8)]
    documents[3]["variants"][1]["price"] = "-1.00"  # refused by Shopify
    changes = tuple(ListingChange("create", d["key"], Listing(d["key"], d, "c", "f", ()))
                    for d in documents)
    results = shop.publish_products(ChangeBatch("create", changes))
    # one result per change, in order: seven products made, the refused one carries its error
    assert [r.change for r in results] == list(changes)
    assert [r.ok for r in results] == [True, True, True, False, True, True, True, True]
    assert isinstance(results[3].error, ShopifyUserErrors)
    assert "price" in results[3].error.message
    state = sandbox.shops[SHOP]
    assert len(state.products) == 7
    made = state.products[int(results[0].shop_id.rsplit("/", 1)[1])]
    assert made["handle"] == translate.handle_for("p0")
    assert results[0].variants[1].extra["inventory_item_id"].startswith(
        "gid://shopify/InventoryItem/")
    # publishing the same batch again (a crash before the references were recorded) makes no
    # second product: the bulk lines upsert by Glue's handle
    again = shop.publish_products(ChangeBatch("create", changes))
    assert len(state.products) == 7 and again[0].shop_id == results[0].shop_id
    # under the threshold, the same connector sends one productSet per listing
    shop.bulk_threshold = 50
    calls = shop.client.calls
    shop.publish_products(ChangeBatch("create", changes[:2]))
    assert shop.client.calls - calls == 2


def test_a_bulk_batch_larger_than_one_staged_file_runs_as_several_operations(
        sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    from connectors.publish import ChangeBatch, Listing, ListingChange

    client = client_for(sandbox)
    shop = connector_for(sandbox, glue_location(client),
                         sleep=lambda s: __import__("time").sleep(0.01))
    shop.bulk_threshold = 2
    monkeypatch.setattr(conn, "BULK_MAX_BYTES", 3000)  # about two listings a file
    documents = [product_document(n) for n in range(7)]
    changes = tuple(ListingChange("create", d["key"], Listing(d["key"], d, "c", "f", ()))
                    for d in documents)
    results = shop.publish_products(ChangeBatch("create", changes))
    assert all(r.ok for r in results) and len({r.shop_id for r in results}) == 7
    state = sandbox.shops[SHOP]
    assert len(state.bulk_operations) >= 3 and len(state.products) == 7
    # every result belongs to its own listing, whichever file carried it
    for n, result in enumerate(results):
        product = state.products[int(result.shop_id.rsplit("/", 1)[1])]
        assert product["handle"] == translate.handle_for(f"p{n}")


def test_a_repeated_fulfilment_push_returns_the_first_one_instead_of_failing(sandbox) -> None:
    from connectors.base import FulfilmentParcel, FulfilmentRequest

    client = client_for(sandbox)
    location = glue_location(client)
    variant = publish(client, location, shirt())["product"]["variants"]["nodes"][0]["id"]
    order = sandbox.checkout(SHOP, [{"variant_id": variant, "quantity": 1}])
    shop = connector_for(sandbox, location)
    request_ = FulfilmentRequest(
        shop_order_id=f"gid://shopify/Order/{order['id']}", shipment_id="S1",
        lines={f"gid://shopify/LineItem/{order['line_items'][0]['id']}": 1}, carrier="Posti",
        parcels=(FulfilmentParcel(("JJFI1",)), FulfilmentParcel(("JJFI2",))))
    first = shop.push_fulfilment(request_)
    # the answer was lost (a timeout, a crash before Glue recorded it): the same push again
    assert shop.push_fulfilment(request_) == first
    assert len(sandbox.shops[SHOP].orders[order["id"]]["fulfillment_ids"]) == 1
    # but other tracking numbers for lines already fulfilled are still refused
    other = FulfilmentRequest(request_.shop_order_id, "S2", request_.lines, "Posti",
                              (FulfilmentParcel(("JJFI9",)),))
    with pytest.raises(Fatal):
        shop.push_fulfilment(other)
