"""The Shopify client against recorded-shape exchanges (vcrpy, replay only)."""

from __future__ import annotations

import json
import urllib.error
from typing import Any

import pytest
import vcr

from connectors.errors import NeedsConfiguration, Retriable
from connectors.shopify import client as client_module
from connectors.shopify.client import ShopifyClient, ShopifyGraphQLError, ShopifyUserErrors
from tests.connectors.shopify.conftest import SHOP, FakeTime

PRODUCTS = "query Products($first: Int!) { products(first: $first) { nodes { id title } } }"
SHOP_QUERY = "query { shop { name currencyCode } }"


def make(fake_time: FakeTime, **kw: Any) -> ShopifyClient:
    return ShopifyClient(SHOP, "shpat_secret_token", sleep=fake_time.sleep,
                         clock=fake_time.clock, **kw)


def test_a_query_returns_its_data_and_notes_the_cost_bucket(replay: vcr.VCR,
                                                            fake_time: FakeTime) -> None:
    client = make(fake_time)
    with replay.use_cassette("shop_query.yaml") as cassette:
        data = client.execute(SHOP_QUERY)
    assert data == {"shop": {"name": "Glue Demo", "currencyCode": "EUR"}}
    assert cassette.all_played and client.calls == 1
    assert client.bucket.available == 1999.0 and client.bucket.restore_rate == 100.0
    # the request carried the token and went to the explicit API version
    sent = cassette.requests[0]
    assert sent.uri == "https://glue-demo.myshopify.com/admin/api/2026-07/graphql.json"


def test_a_throttled_answer_is_waited_out_not_failed(replay: vcr.VCR,
                                                     fake_time: FakeTime) -> None:
    # given Shopify answers THROTTLED (HTTP 200) with 352 of the 752 points available at 100/s
    client = make(fake_time)
    with replay.use_cassette("throttled_then_ok.yaml") as cassette:
        data = client.execute(PRODUCTS, {"first": 250})
    # then the client waited for the missing 400 points (4 s) and got the data on the retry
    assert fake_time.sleeps == [pytest.approx(4.0)]
    assert data["products"]["nodes"][0]["title"] == "Paita"
    assert cassette.all_played and client.calls == 2


def test_the_next_call_waits_for_the_bucket_before_sending(replay: vcr.VCR,
                                                           fake_time: FakeTime) -> None:
    # given a query that cost 752 points left the bucket at 1340 of 2000
    client = make(fake_time)
    with replay.use_cassette("throttled_then_ok.yaml"):
        client.execute(PRODUCTS, {"first": 250})
    fake_time.sleeps.clear()
    # when the bucket is later reported nearly empty and the same query is sent again
    client.bucket.available, client.bucket.at = 152.0, fake_time.now
    with replay.use_cassette("products_ok.yaml"):
        client.execute(PRODUCTS, {"first": 250})
    # then it waits (752 - 152) / 100 = 6 s before sending, instead of being throttled
    assert fake_time.sleeps[0] == pytest.approx(6.0)


def test_persistent_throttling_ends_in_a_retriable_error(replay: vcr.VCR,
                                                         fake_time: FakeTime) -> None:
    client = make(fake_time, max_throttle_waits=2)
    with replay.use_cassette("throttled_always.yaml"), pytest.raises(Retriable) as caught:
        client.execute(PRODUCTS, {"first": 250})
    assert caught.value.retry_after == pytest.approx(4.0)
    assert len(fake_time.sleeps) >= 2 and client.calls == 3


def test_http_429_honours_retry_after(replay: vcr.VCR, fake_time: FakeTime) -> None:
    client = make(fake_time)
    with replay.use_cassette("http_429_retry_after.yaml") as cassette:
        data = client.execute(SHOP_QUERY)
    assert fake_time.sleeps == [2.0] and data["shop"]["name"] == "Glue Demo"
    assert cassette.all_played


def test_user_errors_inside_http_200_are_raised(replay: vcr.VCR, fake_time: FakeTime) -> None:
    client = make(fake_time)
    with replay.use_cassette("inventory_user_errors.yaml"), \
            pytest.raises(ShopifyUserErrors) as caught:
        client.mutate("mutation GlueInventorySet { x }", {"input": {}},
                      root="inventorySetQuantities")
    error = caught.value
    assert error.user_errors[0]["code"] == "ITEM_NOT_STOCKED_AT_LOCATION"
    assert "input.quantities.0.locationId" in error.message


def test_graphql_errors_are_raised_as_typed_errors(replay: vcr.VCR,
                                                   fake_time: FakeTime) -> None:
    client = make(fake_time)
    with replay.use_cassette("graphql_errors.yaml"), \
            pytest.raises(ShopifyGraphQLError) as caught:
        client.execute("query { shop { name nonexistentField } }")
    assert caught.value.errors[0]["extensions"]["code"] == "undefinedField"


def test_access_denied_needs_configuration(replay: vcr.VCR, fake_time: FakeTime) -> None:
    with replay.use_cassette("access_denied.yaml"), pytest.raises(NeedsConfiguration):
        make(fake_time).execute("query { orders(first: 1) { nodes { id } } }")


def test_invalid_token_needs_configuration(replay: vcr.VCR, fake_time: FakeTime,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    with replay.use_cassette("http_401.yaml"), pytest.raises(NeedsConfiguration) as caught:
        make(fake_time).execute(SHOP_QUERY)
    assert caught.value.status == 401
    assert capsys.readouterr().out == ""  # ShopifyAPI would have printed the body


def test_a_server_error_is_retriable_and_not_retried_silently(replay: vcr.VCR,
                                                              fake_time: FakeTime) -> None:
    client = make(fake_time)
    with replay.use_cassette("http_503.yaml"), pytest.raises(Retriable) as caught:
        client.execute(SHOP_QUERY)
    assert caught.value.status == 503 and client.calls == 1 and fake_time.sleeps == []


@pytest.mark.parametrize("failure", [TimeoutError("timed out"),
                                     urllib.error.URLError(TimeoutError("timed out")),
                                     urllib.error.URLError(ConnectionRefusedError(111, "no"))])
def test_timeouts_and_unreachable_shops_are_retriable(monkeypatch: pytest.MonkeyPatch,
                                                      fake_time: FakeTime,
                                                      failure: Exception) -> None:
    seen: dict[str, Any] = {}

    def urlopen(request: Any, timeout: float | None = None) -> Any:
        seen["timeout"] = timeout
        raise failure

    monkeypatch.setattr(client_module.urllib.request, "urlopen", urlopen)
    with pytest.raises(Retriable):
        make(fake_time, timeout=3.5).execute(SHOP_QUERY)
    assert seen["timeout"] == 3.5  # every call carries a timeout


def test_the_token_never_shows_in_repr_or_in_errors(fake_time: FakeTime) -> None:
    client = make(fake_time)
    assert "shpat_secret_token" not in repr(client)


def test_only_myshopify_domains_are_accepted(fake_time: FakeTime) -> None:
    with pytest.raises(NeedsConfiguration):
        ShopifyClient("shop.example.com", "t", sleep=fake_time.sleep)


def test_the_sandbox_base_url_keeps_the_api_version_path(fake_time: FakeTime) -> None:
    client = make(fake_time, base_url="http://127.0.0.1:8123/")
    assert client._transport.endpoint == "http://127.0.0.1:8123/admin/api/2026-07/graphql.json"


def test_requests_carry_the_access_token_header(replay: vcr.VCR, fake_time: FakeTime,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[Any] = []
    real = client_module.urllib.request.urlopen

    def spy(request: Any, timeout: float | None = None) -> Any:
        sent.append(request)
        return real(request, timeout=timeout)

    monkeypatch.setattr(client_module.urllib.request, "urlopen", spy)
    with replay.use_cassette("shop_query.yaml"):
        make(fake_time).execute(SHOP_QUERY)
    headers = {k.lower(): v for k, v in sent[0].header_items()}
    assert headers["x-shopify-access-token"] == "shpat_secret_token"
    assert json.loads(sent[0].data)["query"] == SHOP_QUERY
