"""The WooCommerce client against the real shop's recorded exchanges (vcrpy, replay only)."""

from __future__ import annotations

import pytest
import requests
import vcr

from connectors.errors import Fatal, NeedsConfiguration, Retriable
from connectors.woocommerce.client import BatchItemError, WooCommerceClient
from tests.connectors.woocommerce.conftest import HTTP_SHOP, HTTPS_SHOP, KEY, SECRET


def https(**kw) -> WooCommerceClient:  # noqa: ANN003
    return WooCommerceClient(HTTPS_SHOP, KEY, SECRET, **kw)


def test_the_timeout_is_raised_from_the_packages_5_seconds() -> None:
    assert https().api.timeout == 30.0
    assert https(timeout=12).api.timeout == 12


def test_https_pages_carry_basic_auth_and_the_totals(recorded: vcr.VCR) -> None:
    client = https()
    with recorded.use_cassette("woo_products_paging_https_basic.yaml") as cassette:
        first = client.page("products", page=1, per_page=2)
        second = client.page("products", page=2, per_page=2)
        past = client.page("products", page=99, per_page=2)
    assert [p["sku"] for p in first.items] == ["GLUE-PIPO", ""]
    assert [p["id"] for p in second.items] == [26, 25]
    # X-WP-Total counts parent products only; a page past the end is an empty list
    assert (first.total, first.total_pages) == (6, 3)
    assert past.items == [] and past.total_pages == 3
    # (the matcher checked that every request carried Basic auth of the keys)
    assert cassette.all_played and client.calls == 3


def test_plain_http_signs_every_page_with_oauth(recorded: vcr.VCR) -> None:
    client = WooCommerceClient(HTTP_SHOP, KEY, SECRET)
    with recorded.use_cassette("woo_products_paging_http_oauth.yaml") as cassette:
        first = client.page("products", page=1, per_page=2)
        second = client.page("products", page=2, per_page=2)
    assert [p["id"] for p in first.items + second.items] == [28, 27, 26, 25]
    # the matcher checked: no Authorization header (WooCommerce ignores Basic over http)
    # and the signed query; the signature itself is per request and scrubbed
    assert all("oauth_signature_method=HMAC-SHA256" in r.uri for r in cassette.requests)
    assert cassette.all_played


def test_pages_follow_x_wp_totalpages_to_the_end(own: vcr.VCR) -> None:
    client = https()
    params = {"modified_after": "2026-11-26T19:00:00", "dates_are_gmt": "true",
              "orderby": "date", "order": "asc"}
    with own.use_cassette("orders_modified_after.yaml") as cassette:
        orders = list(client.pages("orders", params, per_page=1))
    assert [o["status"] for o in orders] == ["processing", "completed"]
    assert cassette.all_played and client.calls == 2


def test_per_page_above_100_is_refused() -> None:
    with pytest.raises(ValueError):
        https().page("orders", per_page=101)


def test_a_wrong_secret_over_https_needs_configuration(recorded: vcr.VCR) -> None:
    client = WooCommerceClient(HTTPS_SHOP, KEY, "cs_WRONG_REDACTED")
    with recorded.use_cassette("woo_error_401_wrong_secret_https.yaml"):
        with pytest.raises(NeedsConfiguration) as caught:
            client.get("orders")
    assert caught.value.status == 401
    assert "Consumer secret is invalid." in caught.value.message
    assert "cs_WRONG" not in caught.value.message and "cs_WRONG" not in repr(client)


def test_a_bad_oauth_signature_needs_configuration(recorded: vcr.VCR) -> None:
    client = WooCommerceClient(HTTP_SHOP, KEY, "cs_WRONG_REDACTED")
    with recorded.use_cassette("woo_error_401_oauth_bad_signature_http.yaml"):
        with pytest.raises(NeedsConfiguration) as caught:
            client.get("orders")
    assert "Invalid signature" in caught.value.message


def test_a_missing_order_is_fatal_with_woocommerces_code(recorded: vcr.VCR) -> None:
    with recorded.use_cassette("woo_error_404_missing_order.yaml"):
        with pytest.raises(Fatal) as caught:
            https().get("orders/999999")
    assert caught.value.status == 404
    assert caught.value.details["code"] == "woocommerce_rest_shop_order_invalid_id"


def test_query_string_auth_sends_the_keys_as_parameters(own: vcr.VCR) -> None:
    client = https(query_string_auth=True)
    with own.use_cassette("query_string_auth.yaml") as cassette:
        with pytest.raises(Fatal):
            client.get("orders/999999")
    # the matcher checked the consumer_key/consumer_secret query and the absent header
    assert cassette.all_played


def test_a_429_is_retriable_after_the_shops_retry_after(own: vcr.VCR) -> None:
    with own.use_cassette("rate_limited.yaml"):
        with pytest.raises(Retriable) as caught:
            https().get("orders/29")
    assert caught.value.retry_after == 7.0


def test_batch_items_fail_one_by_one_inside_a_200(recorded: vcr.VCR) -> None:
    client = https()
    with recorded.use_cassette("woo_products_batch_item_errors.yaml") as cassette:
        first = client.batch("products/batch", {
            "create": [{"name": "Glue-pipo", "sku": "GLUE-PIPO", "regular_price": "14.90"},
                       {"name": "Glue-muki (kaksoiskappale)", "sku": "GLUE-MUKI",
                        "regular_price": "12.90"}],
            "update": [{"id": 26, "regular_price": "7.90"}]})
        second = client.batch("products/batch", {
            "update": [{"id": 999999, "regular_price": "1.00"}], "delete": [999998]})
    assert cassette.all_played
    # the first create went through, the duplicate SKU names the product holding it
    assert first.create[0]["id"] == 28
    duplicate = first.create[1]
    assert isinstance(duplicate, BatchItemError) and duplicate.code == "product_invalid_sku"
    assert duplicate.data["resource_id"] == 25 and duplicate.status == 400
    assert first.update[0]["sku"] == "GLUE-KASSI"
    # an unknown id: 400 on update, 404 on delete
    assert [e.status for e in (second.update[0], second.delete[0])] == [400, 404]


def test_over_100_items_are_refused_before_sending_and_by_the_shop(recorded: vcr.VCR) -> None:
    client = https()
    creates = [{"name": f"Glue-massatuote {n:03}", "sku": f"GLUE-MASSA-{n:03}",
                "regular_price": "1.00"} for n in range(1, 102)]
    with pytest.raises(Fatal) as refused:
        client.batch("products/batch", {"create": creates})
    assert refused.value.status == 413 and client.calls == 0
    # sent anyway (bypassing the guard), WooCommerce answers 413, which is Fatal too
    with recorded.use_cassette("woo_products_batch_413.yaml") as cassette:
        with pytest.raises(Fatal) as caught:
            client.post("products/batch", {"create": creates})
    assert caught.value.status == 413 and cassette.all_played
    assert "Unable to accept more than 100 items" in caught.value.message


class _Failing:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def get(self, endpoint: str, **kw) -> None:  # noqa: ANN003
        raise self.exc


@pytest.mark.parametrize("exc", [requests.ReadTimeout("slow"),
                                 requests.ConnectionError("refused")])
def test_timeouts_and_unreachable_shops_are_retriable(exc: Exception) -> None:
    client = WooCommerceClient(HTTPS_SHOP, KEY, SECRET, api=_Failing(exc))
    with pytest.raises(Retriable):
        client.get("orders")


def test_a_connection_without_keys_needs_configuration() -> None:
    with pytest.raises(NeedsConfiguration):
        WooCommerceClient(HTTPS_SHOP, "", "")


def test_a_non_json_answer_is_retriable() -> None:
    class Html:
        def get(self, endpoint: str, **kw) -> requests.Response:  # noqa: ANN003
            response = requests.Response()
            response.status_code, response._content = 200, b"<html>Maintenance</html>"
            return response

    with pytest.raises(Retriable):
        WooCommerceClient(HTTPS_SHOP, KEY, SECRET, api=Html()).get("orders")
