"""Keyset paging of the big lists (core.keyset): by page number and by the ``after`` cursor,
pages are complete, disjoint and in a stable order, and the totals are right -- also when
many rows share the leading sort key (the id breaks the tie)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.models import Balance, Shipment
from tests import factories as f
from tests.api.conftest import commit
from tests.api.test_orders import ORDERS, order_body

INVENTORY = "/ecommerce/v3/inventory"
SHIPMENTS = "/ecommerce/v3/shipments"
SAME_TIME = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def walk_by_number(api, url: str, size: int, ident) -> tuple[list, list[dict]]:
    """Every page by page number up to totalPages, and one past it."""
    first = api.get(f"{url}&size={size}&page=0").get_json()
    pages = [first] + [api.get(f"{url}&size={size}&page={n}").get_json()
                       for n in range(1, first["page"]["totalPages"] + 1)]
    return [ident(item) for page in pages for item in page["content"]], pages


def walk_by_cursor(api, url: str, size: int, ident, after: str | None = None,
                   ) -> tuple[list, list[dict]]:
    """Every page from ``after`` (or the start) following ``page.next``."""
    pages = [api.get(f"{url}&size={size}" + (f"&after={after}" if after else "")).get_json()]
    while pages[-1]["page"]["next"] is not None:
        pages.append(api.get(f"{url}&size={size}&after={pages[-1]['page']['next']}").get_json())
    return [ident(item) for page in pages for item in page["content"]], pages


@pytest.fixture
def shelf(db, world):
    """23 more products in the world's catalog (25 in all), all balances modified at the same
    instant so that only the id orders them."""

    def build(session):
        for n in range(3, 26):
            f.publish(session, f.product(session, world.supplier, f"SKU-{n}"), world.catalog,
                      quantity=n, price="1.00")
        session.execute(sa.update(Balance).values(modified_at=SAME_TIME))
        return world

    return commit(db, build)


def sku(item: dict) -> str:
    return item["product"]["externalId"]


def test_a_catalogs_products_by_page_number_and_by_cursor_agree(shelf, api_for):
    # given a retailer with access and 25 products in the catalog
    retailer = api_for(shelf.retailer)
    url = f"{INVENTORY}?catalogExternalId={shelf.catalog.external_id}"
    # when it walks pages of 4 by number and by cursor
    by_number, pages = walk_by_number(retailer, url, 4, sku)
    by_cursor, cursor_pages = walk_by_cursor(retailer, url, 4, sku)
    # then both give every product once, in product order, with the right envelope
    expected = ["SKU-1", "SKU-2"] + [f"SKU-{n}" for n in range(3, 26)]
    assert by_number == expected and by_cursor == expected
    assert [p["page"]["totalElements"] for p in pages] == [25] * 8
    assert [p["page"]["totalPages"] for p in pages] == [7] * 8
    assert [len(p["content"]) for p in pages] == [4, 4, 4, 4, 4, 4, 1, 0]
    assert [p["page"]["number"] for p in cursor_pages] == list(range(7))
    assert pages[6]["page"]["next"] is None and cursor_pages[-1]["page"]["next"] is None
    assert pages[2]["page"]["next"] == cursor_pages[2]["page"]["next"]
    # and the older path answers the same pages
    older = walk_by_number(retailer, f"/ecommerce/v3/catalogs/{shelf.catalog.external_id}"
                                     "/products?x=1", 4, sku)[0]
    assert older == expected


def test_a_cursor_does_not_skip_or_repeat_when_products_are_added(shelf, api_for):
    # given the first page read with a cursor
    retailer, supplier = api_for(shelf.retailer), api_for(shelf.supplier)
    url = f"{INVENTORY}?catalogExternalId={shelf.catalog.external_id}"
    first = retailer.get(f"{url}&size=10").get_json()
    # when a product is published before the second page is read
    published = supplier.put(INVENTORY, json=[{
        "product": {"externalId": "SKU-NEW", "status": "ACTIVE"},
        "balances": [{"catalogExternalId": shelf.catalog.external_id, "retailerId": None,
                      "quantity": 1, "wholesalePrice": 2.0, "currency": "EUR"}]}])
    assert published.status_code == 200 and published.get_json() == []
    rest, _ = walk_by_cursor(retailer, url, 10, sku, first["page"]["next"])
    # then the walk continues where it stopped and ends with the new product
    assert [sku(i) for i in first["content"]] + rest == \
        ["SKU-1", "SKU-2"] + [f"SKU-{n}" for n in range(3, 26)] + ["SKU-NEW"]


def test_balances_with_one_modification_time_page_by_id(shelf, api_for):
    supplier = api_for(shelf.supplier)
    ident = lambda b: b["productExternalId"]  # noqa: E731
    for path in ("/ecommerce/v3/catalogs/balances?x=1", f"{INVENTORY}/balances?x=1",
                 f"/ecommerce/v3/catalogs/{shelf.catalog.external_id}/balances?x=1"):
        by_number, pages = walk_by_number(supplier, path, 6, ident)
        by_cursor, _ = walk_by_cursor(supplier, path, 6, ident)
        assert by_number == by_cursor
        assert sorted(by_number) == sorted({*by_number}) and len(by_number) == 25
        assert pages[0]["page"]["totalElements"] == 25


def test_order_search_pages_newest_first_with_ties_on_the_order_date(world, api_for):
    # given seven orders with one order date
    retailer = api_for(world.retailer)
    for n in range(7):
        body = order_body(world, externalId=f"O-{n}", rows=[
            {"externalId": "1", "externalProductId": "SKU-1", "quantity": 1,
             "externalWarehouseId": world.catalog.external_id}])
        assert retailer.post(ORDERS, json=body).status_code == 201
    ident = lambda o: o["externalId"]  # noqa: E731
    # when they are read three at a time
    by_number, pages = walk_by_number(retailer, f"{ORDERS}?status=Routed", 3, ident)
    by_cursor, _ = walk_by_cursor(retailer, f"{ORDERS}?status=Routed", 3, ident)
    # then newest (highest id) first, each once
    assert by_number == by_cursor == [f"O-{n}" for n in range(6, -1, -1)]
    assert pages[0]["page"] == {"size": 3, "totalElements": 7, "totalPages": 3, "number": 0,
                                "next": pages[0]["page"]["next"]}


def test_shipment_list_pages_with_ties_on_the_creation_time(db, world, api_for):
    retailer, supplier = api_for(world.retailer), api_for(world.supplier)
    for n in range(5):
        body = order_body(world, externalId=f"S-{n}", rows=[
            {"externalId": "1", "externalProductId": "SKU-2", "quantity": 1,
             "externalWarehouseId": world.catalog.external_id}])
        assert retailer.post(ORDERS, json=body).status_code == 201
    commit(db, lambda s: s.execute(sa.update(Shipment).values(created_at=SAME_TIME)))
    ident = lambda s: s["shipmentId"]  # noqa: E731
    by_number, pages = walk_by_number(supplier, f"{SHIPMENTS}?status=Created,Viewed", 2, ident)
    by_cursor, _ = walk_by_cursor(supplier, f"{SHIPMENTS}?status=Created,Viewed", 2, ident)
    everything = supplier.get(f"{SHIPMENTS}?size=100").get_json()["content"]
    assert by_number == by_cursor == [s["shipmentId"] for s in everything]
    assert len(set(by_number)) == 5 and pages[0]["page"]["totalPages"] == 3


@pytest.mark.parametrize("cursor", ["nonsense", "W10", "eyJrIjpbIngiXSwibiI6LTF9"])
def test_a_forged_cursor_is_a_validation_error(world, api_for, cursor):
    retailer = api_for(world.retailer)
    response = retailer.get(f"{INVENTORY}?catalogExternalId={world.catalog.external_id}"
                            f"&after={cursor}")
    assert response.status_code in (400, 422)
    assert response.get_json()["errors"][0]["field"] == "after"
