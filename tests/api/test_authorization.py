"""Authorization matrix: every object-level operation, tried by everyone but its owner."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.api.conftest import commit
from tests.api.test_orders import ORDERS, order_body
from tests.api.test_shipments import SHIPMENTS


@pytest.fixture
def scene(db, world, api_for):
    owner_retailer, owner_supplier = api_for(world.retailer), api_for(world.supplier)
    assert owner_retailer.post(ORDERS, json=order_body(world, externalId="O-1")).status_code \
        == 201
    owner_retailer.post(f"{ORDERS}/O-1/comments", json={"externalId": "N-1", "value": "hi"})
    shipment_id = owner_supplier.get(SHIPMENTS).get_json()["content"][0]["shipmentId"]
    private = commit(db, lambda s: f.private_catalog(s, world.supplier, world.retailer))
    other_supplier = commit(db, lambda s: f.supplier(s))
    return {"shipment": shipment_id, "private": private.external_id,
            "owner_retailer": owner_retailer, "owner_supplier": owner_supplier,
            "strangers": [api_for(world.outsider), api_for(other_supplier)]}


def retailer_operations(s):
    return [("GET", f"{ORDERS}/O-1", None),
            ("PUT", f"{ORDERS}/O-1", {"status": {"value": "Cancelled"}}),
            # (POST /orders/O-1 is not here: ids are per retailer, so a stranger's POST
            # creates or reopens its own O-1, never touching this one)
            ("PATCH", f"{ORDERS}/O-1/preferences", {"autoSubmit": False}),
            ("POST", f"{ORDERS}/O-1/comments", {"value": "x"}),
            ("DELETE", f"{ORDERS}/O-1/comments/N-1", None),
            ("DELETE", f"{ORDERS}/O-1", None),
            ("GET", f"/ecommerce/v3/catalogs/{s['private']}/balances", None),
            ("GET", f"/ecommerce/v3/catalogs/{s['private']}/products", None),
            ("PATCH", f"/ecommerce/v3/catalogs/{s['private']}", {"state": "inactive"})]


def supplier_operations(s):
    sid = s["shipment"]
    return [("GET", f"{SHIPMENTS}/{sid}", None),
            ("PATCH", f"{SHIPMENTS}/{sid}", {"status": {"value": "Viewed"}}),
            ("PUT", f"{SHIPMENTS}/{sid}", {"externalId": "MINE"}),
            ("POST", f"{SHIPMENTS}/{sid}/events", {"value": "Picking"}),
            ("POST", f"{SHIPMENTS}/{sid}/delivered", None),
            ("POST", f"{SHIPMENTS}/{sid}/comments", {"value": "x"}),
            ("GET", f"{SHIPMENTS}/{sid}/options", None),
            ("GET", f"{SHIPMENTS}/{sid}/parcels/1/label", None),
            ("GET", f"{SHIPMENTS}/{sid}/parcels/1/note", None)]


def test_strangers_get_nothing_and_change_nothing(scene):
    before_order = scene["owner_retailer"].get(f"{ORDERS}/O-1").get_json()
    before_shipment = scene["owner_supplier"].get(f"{SHIPMENTS}/{scene['shipment']}").get_json()
    for stranger in scene["strangers"]:
        for method, path, body in retailer_operations(scene) + supplier_operations(scene):
            response = stranger._call(method, path, json=body)
            assert response.status_code in (403, 404), (method, path, response.status_code)
            text = response.get_data(as_text=True)
            # the answer may echo the id the caller sent, but nothing of the object itself
            assert "Matti" not in text and "Kotikatu" not in text and "SKU-1" not in text
    assert scene["owner_retailer"].get(f"{ORDERS}/O-1").get_json() == before_order
    assert scene["owner_supplier"].get(
        f"{SHIPMENTS}/{scene['shipment']}").get_json() == before_shipment


def test_another_tenants_objects_are_404_not_403(scene):
    outsider = scene["strangers"][0]  # a retailer: it may ask, and must not learn existence
    for method, path, body in retailer_operations(scene):
        assert outsider._call(method, path, json=body).status_code == 404, (method, path)
    for method, path, body in supplier_operations(scene):
        assert outsider._call(method, path, json=body).status_code == 404, (method, path)


def test_the_owners_succeed(scene):
    supplier, retailer, sid = scene["owner_supplier"], scene["owner_retailer"], scene["shipment"]
    for method, path, body in supplier_operations(scene):
        response = supplier._call(method, path, json=body)
        assert response.status_code in (200, 201), (method, path, response.get_json())
    for method, path, body in retailer_operations(scene):
        if path.endswith("/O-1") and method in ("PUT", "DELETE"):
            continue  # delivered now: covered in test_orders
        if "catalogs" in path and method == "PATCH":
            continue  # the private catalog is active only after both sides' steps
        response = retailer._call(method, path, json=body)
        assert response.status_code in (200, 201, 204), (method, path, response.get_json())
    assert retailer.get(f"{SHIPMENTS}/{sid}").status_code == 200


def test_an_account_without_the_role_is_refused_the_roles_writes(world, api_for):
    # given API accounts of a supplier-only and a retailer-only organization
    supplier, retailer = api_for(world.supplier), api_for(world.retailer)
    # when each tries the other role's writes
    order = supplier.post(ORDERS, json=order_body(world, externalId="S-1"))
    publish = retailer._call("PUT", "/ecommerce/v3/inventory",
                             json=[{"product": {"externalId": "R-1"}}])
    catalog = supplier.post("/ecommerce/v3/catalogs", json={
        "catalogName": "x", "supplierId": world.supplier.business_id, "currency": "EUR"})
    # then each is refused with 403 and nothing is stored
    assert (order.status_code, publish.status_code, catalog.status_code) == (403, 403, 403)
    assert retailer.get(f"{ORDERS}/S-1").status_code == 404
