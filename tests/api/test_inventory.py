"""Inventory over the API (reference B3): upsert, reads, end of sale, taking off catalogs."""

from __future__ import annotations

from tests import factories as f
from tests.api.conftest import commit

INVENTORY = "/ecommerce/v3/inventory"


def item(external_id, catalog=None, **product):
    body = {"product": {"externalId": external_id, "eanCode": None, "status": "ACTIVE",
                        "descriptions": {"fi": {"name": f"Tuote {external_id}"}}, **product}}
    if catalog is not None:
        body["balances"] = [{"retailerId": None, "catalogExternalId": catalog,
                             "productExternalId": external_id, "quantity": 4,
                             "incoming": None, "wholesalePrice": 7.25, "currency": "EUR"}]
    return body


def test_put_stores_the_valid_items_and_lists_the_failed_ones(world, api_for):
    supplier = api_for(world.supplier)
    catalog = world.catalog.external_id
    response = supplier.put(INVENTORY, json=[item("NEW-1", catalog), item("bad id!"),
                                             item("NEW-2", "NO-SUCH-CATALOG")])
    assert response.status_code == 200
    failures = response.get_json()
    assert [f_["index"] for f_ in failures] == [1, 2]
    assert failures[0]["externalId"] == "bad id!" and failures[0]["errors"]
    stored = supplier.get(f"{INVENTORY}/NEW-1").get_json()
    assert stored["product"]["descriptions"]["fi"]["name"] == "Tuote NEW-1"
    assert stored["balances"][0]["quantity"] == 4
    assert stored["balances"][0]["wholesalePrice"] == 7.25
    assert supplier.get(f"{INVENTORY}/NEW-2").status_code == 404
    assert supplier.put(INVENTORY, json=[item("NEW-1", catalog)]).get_json() == []


def test_put_limits_and_shape(world, api_for):
    supplier = api_for(world.supplier)
    too_many = [item(f"X-{n}") for n in range(2001)]
    assert supplier.put(INVENTORY, json=too_many).status_code == 422
    assert supplier.put(INVENTORY, json={"product": {}}).status_code == 422
    assert api_for(world.retailer).put(INVENTORY, json=[item("R-1")]).status_code == 403


def test_get_several_and_by_catalog_paged(world, api_for):
    retailer = api_for(world.retailer)
    several = retailer.get(f"{INVENTORY}?productExternalId=SKU-1,SKU-2,NOPE").get_json()
    assert sorted(i["product"]["externalId"] for i in several["content"]) == ["SKU-1", "SKU-2"]
    paged = retailer.get(f"{INVENTORY}?catalogExternalId={world.catalog.external_id}"
                         f"&retailerId={world.retailer.business_id}&size=1&page=0").get_json()
    cursor = paged["page"].pop("next")
    assert paged["page"] == {"size": 1, "totalElements": 2, "totalPages": 2, "number": 0}
    assert paged["content"][0]["balances"][0]["quantity"] == 10
    following = retailer.get(f"{INVENTORY}?catalogExternalId={world.catalog.external_id}"
                             f"&size=1&after={cursor}").get_json()
    assert [i["product"]["externalId"] for i in following["content"]] == ["SKU-2"]
    assert following["page"]["number"] == 1 and following["page"]["next"] is None
    assert retailer.get(INVENTORY).status_code == 422
    assert retailer.get(f"{INVENTORY}?catalogExternalId=NOPE").status_code == 404


def test_a_retailer_without_access_gets_products_without_balances(world, api_for):
    outsider = api_for(world.outsider)
    one = outsider.get(f"{INVENTORY}/SKU-1").get_json()
    assert one["product"]["externalId"] == "SKU-1" and one["balances"] == []
    page = outsider.get(f"{INVENTORY}?catalogExternalId={world.catalog.external_id}").get_json()
    assert all(i["balances"] == [] for i in page["content"])


def test_private_catalog_products_stay_private(db, world, api_for):
    private = commit(db, lambda s: f.private_catalog(s, world.supplier, world.retailer))
    commit(db, lambda s: f.publish(s, f.product(s, world.supplier, "SECRET-1"), private))
    assert api_for(world.outsider).get(f"{INVENTORY}/SECRET-1").status_code == 404
    assert api_for(world.retailer).get(f"{INVENTORY}/SECRET-1").status_code == 200


def test_delete_sets_end_of_sale(world, api_for):
    supplier = api_for(world.supplier)
    response = supplier.delete(INVENTORY, json=[{"product": {"externalId": "SKU-1",
                                                             "status": "EOS"}},
                                                {"product": {"externalId": "NOPE"}}])
    assert response.status_code == 200
    assert [f_["index"] for f_ in response.get_json()] == [1]
    assert supplier.get(f"{INVENTORY}/SKU-1").get_json()["product"]["status"] == "EOS"


def test_delete_balances_takes_products_off_a_catalog(world, api_for):
    supplier = api_for(world.supplier)
    catalog = world.catalog.external_id
    ref = {"productExternalId": "SKU-2", "catalogExternalId": catalog, "retailerId": None}
    response = supplier.delete(f"{INVENTORY}/balances", json=[ref])
    assert response.status_code == 200 and response.get_json() == []
    again = supplier.delete(f"{INVENTORY}/balances", json=[{"productExternalId": "SKU-1",
                                                            "catalogExternalId": "NOPE"}, ref])
    assert [f_["index"] for f_ in again.get_json()] == [0, 1]  # unknown catalog; already gone
    assert supplier.get(f"{INVENTORY}/SKU-2").get_json()["balances"] == []


def test_older_paths_balances_and_migrate(world, api_for):
    supplier = api_for(world.supplier)
    balances = supplier.get(f"{INVENTORY}/balances").get_json()
    assert balances["page"]["totalElements"] == 2
    assert supplier.post(f"{INVENTORY}/migrate").status_code == 204
