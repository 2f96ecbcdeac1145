"""The Magento client against the real recordings (vcrpy, replay only) and own cassettes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests
import vcr

from connectors.errors import Fatal, NeedsConfiguration, Retriable
from connectors.magento.client import (
    MagentoClient,
    NotFound,
    dumps,
    error_message,
    search_params,
)
from tests.connectors.magento import oauth_check
from tests.connectors.magento.conftest import BASE, CREDENTIALS, Sent

SINCE = [[("updated_at", "2026-11-26 00:00:00", "gt")]]


def make(sent: Sent | None = None, **kw) -> MagentoClient:
    session = sent.session() if sent is not None else None
    return MagentoClient(BASE, CREDENTIALS, session=session, **kw)


def test_calls_are_signed_with_oauth_hmac_sha256_that_an_independent_check_accepts(
        recorded: vcr.VCR) -> None:
    sent = Sent()
    with recorded.use_cassette("mag_order_get.yaml"):
        order = make(sent).get("orders/3")
    assert order["increment_id"] == "000000003"
    authorization = sent[0].headers["Authorization"]
    assert oauth_check.header_params(authorization)["oauth_token"] == "at-glue"
    assert oauth_check.verifies("GET", sent[0].url, authorization, "cs-glue", "ats-glue")
    # a wrong secret does not verify
    assert not oauth_check.verifies("GET", sent[0].url, authorization, "cs-glue", "wrong")


def test_a_signed_search_query_verifies_with_its_bracketed_parameters(
        recorded: vcr.VCR) -> None:
    sent = Sent()
    with recorded.use_cassette("mag_orders_search_paging.yaml"):
        answer = make(sent).get("orders", search_params(SINCE, sort="entity_id", page_size=1))
    assert answer["total_count"] == 3 and len(answer["items"]) == 1
    assert "%5Bfilter_groups%5D" in sent[0].url
    assert oauth_check.verifies("GET", sent[0].url, sent[0].headers["Authorization"],
                                "cs-glue", "ats-glue")


def test_search_params_match_the_recorded_order_search() -> None:
    params = search_params(SINCE, sort="entity_id", page_size=1, page=99)
    prepared = requests.Request("GET", f"{BASE}/rest/V1/orders", params=params).prepare()
    recorded = ("http://magento.example.test/rest/V1/orders?searchCriteria%5Bfilter_groups%5D"
                "%5B0%5D%5Bfilters%5D%5B0%5D%5Bfield%5D=updated_at&searchCriteria%5Bfilter_gro"
                "ups%5D%5B0%5D%5Bfilters%5D%5B0%5D%5Bvalue%5D=2026-11-26+00%3A00%3A00&searchCr"
                "iteria%5Bfilter_groups%5D%5B0%5D%5Bfilters%5D%5B0%5D%5Bcondition_type%5D=gt&s"
                "earchCriteria%5BsortOrders%5D%5B0%5D%5Bfield%5D=entity_id&searchCriteria%5Bso"
                "rtOrders%5D%5B0%5D%5Bdirection%5D=ASC&searchCriteria%5BpageSize%5D=1&searchCr"
                "iteria%5BcurrentPage%5D=99")
    assert prepared.url == recorded


def test_a_page_past_the_end_is_empty_on_2_4_7(recorded: vcr.VCR) -> None:
    with recorded.use_cassette("mag_orders_search_paging.yaml") as cassette:
        client = make()
        client.get("orders", search_params(SINCE, sort="entity_id", page_size=1))
        past = client.get("orders", search_params(SINCE, sort="entity_id", page_size=1,
                                                  page=99))
    assert past["items"] == [] and past["total_count"] == 3 and cassette.all_played


def test_search_stops_on_total_count_when_the_shop_repeats_the_last_page(own: vcr.VCR) -> None:
    # given an older shop that answers page 4 of 3 with page 3 again
    with own.use_cassette("orders_paging_last_page_again.yaml") as cassette:
        client = make()
        ids = [o["entity_id"] for o in client.search("orders", SINCE, sort="entity_id",
                                                     page_size=1)]
    # then three pages are read, each order once, and page 4 is never asked for
    assert ids == [1, 2, 3] and client.calls == 3 and cassette.play_count == 3


def test_product_writes_go_to_the_all_store_and_reads_to_the_default(recorded: vcr.VCR) -> None:
    body = {"product": {"sku": "GLUE-PULLO", "price": Decimal("9.90")}}
    sent = Sent()
    with recorded.use_cassette("mag_simple_product_with_image.yaml"):
        client = make(sent)
        created = client.write("POST", "products", body, product=True)
        client.write("POST", "products/GLUE-PULLO/media", {"entry": {}}, product=True)
        media = client.get("products/GLUE-PULLO/media")
        client.get("products/GLUE-PULLO")
    assert created["id"] == 10 and media[0]["file"] == "/g/l/glue-juomapullo.png"
    uris = [r.url for r in sent]
    assert uris[0] == f"{BASE}/rest/all/V1/products" and uris[2].startswith(f"{BASE}/rest/V1/")
    # and the price went out as the exact number
    assert b'"price": 9.90' in sent[0].body


def test_a_configured_write_store_is_used() -> None:
    assert make(write_store="fi").url("products", store="fi") == f"{BASE}/rest/fi/V1/products"
    assert make().url("products", prefix="/async/bulk") == f"{BASE}/rest/async/bulk/V1/products"


def test_the_async_bulk_is_queued_and_polled_until_done(recorded: vcr.VCR) -> None:
    sleeps: list[float] = []
    sent = Sent()
    with recorded.use_cassette("mag_async_bulk_products.yaml"):
        client = make(sent, write_store=None)  # the recording used the default store path
        bulk_uuid = client.bulk("POST", "products", [{"product": {"sku": "GLUE-BULK-1"}},
                                                     {"product": {"sku": "GLUE-BULK-2"}}])
        status = client.wait_for_bulk(bulk_uuid, sleep=sleeps.append, interval=2.0)
    assert bulk_uuid == "a97d3cbf-3306-46ab-a2f6-85eeaf14bd73"
    # then the first poll saw both operations open (4), the second complete (1)
    assert sleeps == [2.0] and status.done and status.failed() == {}
    assert status.statuses == {0: 1, 1: 1}
    assert json.loads(sent[0].body)[1] == {"product": {"sku": "GLUE-BULK-2"}}


def test_a_bulk_that_stays_open_is_retriable() -> None:
    class Open(MagentoClient):
        def bulk_status(self, bulk_uuid):
            from connectors.magento.client import BulkStatus
            return BulkStatus(bulk_uuid, {0: BulkStatus.OPEN}, {})

    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(Retriable, match="async.operations.all"):
        Open(BASE, CREDENTIALS).wait_for_bulk("u", timeout=10, interval=4, sleep=sleep,
                                               clock=lambda: now[0])
    assert now[0] == 12


def test_msi_source_items_and_the_legacy_stock_item(recorded: vcr.VCR) -> None:
    with recorded.use_cassette("mag_msi_source_items.yaml") as cassette:
        client = make()
        sources = client.get("inventory/sources")
        answer = client.write("POST", "inventory/source-items",
                              {"sourceItems": [{"sku": "GLUE-PULLO", "source_code": "default",
                                                "quantity": 42, "status": 1}]})
        items = client.get("inventory/source-items", [
            ("searchCriteria[filter_groups][0][filters][0][field]", "sku"),
            ("searchCriteria[filter_groups][0][filters][0][value]", "GLUE-PULLO"),
            ("searchCriteria[filter_groups][0][filters][0][condition_type]", "eq")])
        legacy = client.get("stockItems/GLUE-PULLO")
    assert sources["items"][0]["source_code"] == "default" and answer == []
    assert items["items"][0]["quantity"] == 42 == legacy["qty"] and cassette.all_played


def test_a_refused_login_is_needs_configuration_with_magentos_message(recorded: vcr.VCR) -> None:
    with recorded.use_cassette("mag_admin_token.yaml"):
        client = make()
        assert client.write("POST", "integration/admin/token", {}) == "REDACTED_ADMIN_TOKEN"
        with pytest.raises(NeedsConfiguration, match="sign-in was incorrect") as caught:
            client.write("POST", "integration/admin/token", {})
    assert caught.value.status == 401


def test_async_event_subscriptions_are_created_and_listed(recorded: vcr.VCR) -> None:
    with recorded.use_cassette("mag_async_event_subscribe.yaml") as cassette:
        client = make()
        created = client.write("POST", "async_event", {"asyncEvent": {
            "event_name": "sales.order.created", "verification_token": "t"}})
        client.write("POST", "async_event", {"asyncEvent": {"event_name": "x"}})
        listed = client.get("async_events", [("searchCriteria[pageSize]", "20")])
    assert created["subscription_id"] == 5 and "verification_token" not in created
    assert len(listed["items"]) == 6 and cassette.all_played


@pytest.mark.parametrize(("status", "kind"), [(400, Fatal), (401, NeedsConfiguration),
                                              (404, NotFound), (429, Retriable),
                                              (503, Retriable)])
def test_errors_map_onto_the_taxonomy(own: vcr.VCR, status: int, kind: type) -> None:
    with own.use_cassette("errors.yaml"), pytest.raises(kind) as caught:
        make().get(f"products/HTTP-{status}")
    assert caught.value.status == status
    if status == 429:
        assert caught.value.retry_after == 7.0


def test_magento_messages_get_their_parameters_filled_in() -> None:
    body = json.dumps({"message": "The consumer isn't authorized to access %resources.",
                       "parameters": {"resources": "Magento_Sales::sales"}}).encode()
    assert error_message(401, body).endswith(
        "The consumer isn't authorized to access Magento_Sales::sales.")
    assert error_message(400, json.dumps({"message": "URL key %1 exists",
                                          "parameters": ["x"]}).encode()).endswith("key x exists")
    assert error_message(502, b"<html>") == "Magento answered HTTP 502"


def test_timeouts_and_unreachable_shops_are_retriable() -> None:
    client = MagentoClient("http://127.0.0.1:9", CREDENTIALS, timeout=0.5)
    with pytest.raises(Retriable):
        client.get("orders/1")


def test_bearer_is_an_option_and_missing_credentials_need_configuration(
        recorded: vcr.VCR) -> None:
    sent = Sent()
    with recorded.use_cassette("mag_order_get.yaml"):
        MagentoClient(BASE, {"bearer_token": "integration-token"},
                      session=sent.session()).get("orders/3")
    assert sent[0].headers["Authorization"] == "Bearer integration-token"
    with pytest.raises(NeedsConfiguration, match="access_token"):
        MagentoClient(BASE, {"consumer_key": "a", "consumer_secret": "b"})


def test_decimals_are_written_as_exact_numbers_and_floats_are_refused() -> None:
    assert dumps({"price": Decimal("39.90"), "n": [Decimal("-1.5")], "s": "39.90"}) == \
        '{"price": 39.90, "n": [-1.5], "s": "39.90"}'
    with pytest.raises(TypeError):
        dumps({"price": 39.9})
    assert repr(make()) == f"MagentoClient(base_url={BASE!r})"
