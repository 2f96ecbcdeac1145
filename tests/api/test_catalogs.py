"""Catalogs, balances, activation requests and the supplier directory over the API."""

from __future__ import annotations

from tests import factories as f
from tests.api.conftest import commit

CATALOGS = "/ecommerce/v3/catalogs"
ENVELOPE_PAGE_KEYS = {"size", "totalElements", "totalPages", "number"}


def test_retailer_lists_public_catalogs_with_its_access_state(world, api_for):
    body = api_for(world.retailer).get(f"{CATALOGS}?role=RETAILER").get_json()
    assert set(body) == {"content", "page"} and set(body["page"]) == ENVELOPE_PAGE_KEYS
    [catalog] = body["content"]
    assert catalog["externalId"] == world.catalog.external_id
    assert catalog["public"] is True and catalog["retailerId"] is None
    assert catalog["supplierId"] == world.supplier.business_id
    assert catalog["accessState"] == "active"
    outsider = api_for(world.outsider).get(f"{CATALOGS}?role=RETAILER").get_json()
    assert outsider["content"][0]["accessState"] is None


def test_supplier_role_lists_own_catalogs_and_a_retailer_cannot_use_it(world, api_for):
    body = api_for(world.supplier).get(f"{CATALOGS}?role=SUPPLIER").get_json()
    assert [c["externalId"] for c in body["content"]] == [world.catalog.external_id]
    assert api_for(world.retailer).get(f"{CATALOGS}?role=SUPPLIER").status_code == 403
    assert api_for(world.retailer).get(f"{CATALOGS}?role=BOSS").status_code == 422


def test_private_catalog_lifecycle_belongs_to_the_named_sides(world, api_for):
    retailer, supplier = api_for(world.retailer), api_for(world.supplier)
    created = retailer.post(CATALOGS, json={"catalogName": "Kauppa private",
                                            "supplierId": world.supplier.business_id,
                                            "currency": "EUR"})
    assert created.status_code == 201
    catalog = created.get_json()
    assert catalog["state"] == "created" and catalog["public"] is False
    assert catalog["retailerId"] == world.retailer.business_id
    path = f"{CATALOGS}/{catalog['externalId']}"
    assert supplier.patch(path, json={"state": "in_use"}).status_code == 403
    assert retailer.patch(path, json={"state": "in_use"}).get_json()["state"] == "in_use"
    assert retailer.patch(path, json={"state": "active"}).status_code == 403
    assert supplier.patch(path, json={"state": "active"}).get_json()["state"] == "active"
    assert retailer.patch(path, json={"state": "inactive"}).get_json()["state"] == "inactive"
    assert supplier.patch(path, json={"state": "active"}).status_code == 409  # not its pause
    listed = retailer.get(f"{CATALOGS}?role=RETAILER").get_json()["content"]
    assert [c["state"] for c in listed if c["externalId"] == catalog["externalId"]] == \
        ["inactive"]
    assert retailer.patch(path, json={"state": "active"}).get_json()["state"] == "active"
    assert retailer.patch(path, json={"state": "bogus"}).status_code == 422
    assert api_for(world.outsider).patch(path, json={"state": "inactive"}).status_code == 404


def test_creating_a_catalog_for_an_unknown_supplier_is_404(world, api_for):
    response = api_for(world.retailer).post(CATALOGS, json={
        "catalogName": "X", "supplierId": "1234567-1", "currency": "EUR"})
    assert response.status_code in (404, 422)
    assert api_for(world.retailer).post(CATALOGS, json={"catalogName": "X"}).status_code == 422


def test_activation_request_flow(world, api_for):
    outsider, supplier = api_for(world.outsider), api_for(world.supplier)
    asked = outsider.post(f"{CATALOGS}/{world.catalog.external_id}/activation-requests",
                          json={"message": "We sell in Oulu"})
    assert asked.status_code == 201
    request_ = asked.get_json()
    assert request_["state"] == "requested" and request_["retailerId"] == \
        world.outsider.business_id
    pending = supplier.get("/ecommerce/v3/activation-requests?role=SUPPLIER&state=requested")
    assert [r["id"] for r in pending.get_json()["content"]] == [request_["id"]]
    path = f"/ecommerce/v3/activation-requests/{request_['id']}"
    assert outsider.patch(path, json={"state": "active"}).status_code in (403, 404)
    accepted = supplier.patch(path, json={"state": "active", "message": "Welcome"})
    assert accepted.get_json()["state"] == "active"
    assert accepted.get_json()["responseMessage"] == "Welcome"
    # with access, prices become visible
    balances = outsider.get(f"{CATALOGS}/{world.catalog.external_id}/balances").get_json()
    assert balances["page"]["totalElements"] == 2
    revoked = supplier.patch(path, json={"state": "revoked"})
    assert revoked.get_json()["state"] == "revoked"
    mine = outsider.get("/ecommerce/v3/activation-requests?role=RETAILER").get_json()
    assert mine["content"][0]["state"] == "revoked"
    assert supplier.patch(path, json={"state": "rejected"}).status_code == 409


def test_balances_across_and_per_catalog_with_filters(world, api_for):
    retailer = api_for(world.retailer)
    everything = retailer.get(f"{CATALOGS}/balances?size=1&page=1").get_json()
    assert everything["page"] == {"size": 1, "totalElements": 2, "totalPages": 2, "number": 1,
                                  "next": None}
    balance = everything["content"][0]
    assert set(balance) >= {"retailerId", "catalogExternalId", "productExternalId", "quantity",
                            "incoming", "wholesalePrice", "currency"}
    some = retailer.get(f"{CATALOGS}/balances?productExternalId=SKU-2,NOPE").get_json()
    assert [b["productExternalId"] for b in some["content"]] == ["SKU-2"]
    future = retailer.get(f"{CATALOGS}/balances?modifiedFromDate=2999-01-01T00:00:00%2B02:00")
    assert future.get_json()["content"] == []
    one = retailer.get(f"{CATALOGS}/{world.catalog.external_id}/balances").get_json()
    assert one["content"][0]["wholesalePrice"] == 12.5


def test_a_retailer_without_access_sees_no_prices(world, api_for):
    outsider = api_for(world.outsider)
    assert outsider.get(f"{CATALOGS}/{world.catalog.external_id}/balances").status_code == 403
    assert outsider.get(f"{CATALOGS}/balances").get_json()["content"] == []
    products = outsider.get(f"{CATALOGS}/{world.catalog.external_id}/products").get_json()
    assert [item["balances"] for item in products["content"]] == [[], []]
    assert all("wholesalePrice" not in item["product"] for item in products["content"])


def test_another_retailers_private_catalog_is_invisible(db, world, api_for):
    private = commit(db, lambda s: f.private_catalog(s, world.supplier, world.retailer))
    outsider = api_for(world.outsider)
    assert outsider.get(f"{CATALOGS}/{private.external_id}/balances").status_code == 404
    assert outsider.get(f"{CATALOGS}/{private.external_id}/products").status_code == 404
    listed = outsider.get(f"{CATALOGS}?role=RETAILER").get_json()["content"]
    assert private.external_id not in [c["externalId"] for c in listed]


def test_supplier_directory(db, world, api_for):
    commit(db, lambda s: f.supplier(s, name="Another Supplier"))
    body = api_for(world.outsider).get("/ecommerce/v3/suppliers?size=1").get_json()
    assert body["page"]["totalElements"] == 2 and len(body["content"]) == 1
    entry = body["content"][0]
    assert set(entry) == {"businessId", "name", "description", "website", "shipsTo", "country",
                          "catalogExternalId"}


def _keys(value) -> set[str]:
    """Every key anywhere in a JSON document."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_without_access_price_and_quantity_are_absent_on_every_read(world, api_for):
    # given a retailer without access to the public catalog, and one with it
    outsider, insider = api_for(world.outsider), api_for(world.retailer)
    catalog = world.catalog.external_id
    reads = [f"/ecommerce/v3/inventory?catalogExternalId={catalog}",
             f"/ecommerce/v3/inventory?catalogExternalId={catalog}&size=1&page=1",
             "/ecommerce/v3/inventory?productExternalId=SKU-1,SKU-2",
             "/ecommerce/v3/inventory/SKU-1", f"{CATALOGS}/{catalog}/products",
             f"{CATALOGS}/balances", "/ecommerce/v3/inventory/balances"]
    for path in reads:
        # when it reads the catalog's products every way there is
        without, with_ = outsider.get(path), insider.get(path)
        assert without.status_code == with_.status_code == 200, path
        # then the basic data is there but the fields are absent (not zero, not null)
        assert not _keys(without.get_json()) & {"wholesalePrice", "quantity", "incoming"}, path
        assert {"wholesalePrice", "quantity"} <= _keys(with_.get_json()), path
    items = outsider.get(reads[0]).get_json()["content"]
    assert [i["product"]["externalId"] for i in items] == ["SKU-1", "SKU-2"]
