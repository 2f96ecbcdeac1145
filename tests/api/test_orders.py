"""Orders over the API (reference B4): the retailer's side, in the shapes clients send."""

from __future__ import annotations

import re

import pytest

from tests import factories as f
from tests.api.conftest import commit

ORDERS = "/ecommerce/v3/orders"


def order_body(world, **overrides):
    """An order as the PHP library sends it: nulls for unset optional fields."""
    body = {
        "externalId": None, "orderDate": "2026-05-01T12:00:00.000+03:00",
        "metadata": {"documentType": "SalesOrder", "client": None},
        "references": [{"name": "PO", "value": "PO-1"}, {"name": "SO", "value": "SO-9"}],
        "vendor": {"name": "Kauppa Oy", "streetAddress": "Kauppakatu 1", "postalCode": "00100",
                   "postOffice": "HELSINKI", "country": "FI"},
        "sender": None,
        "client": {"externalId": None, "name": "Matti Meikäläinen", "email": "m@example.test",
                   "telephone": None, "streetAddress": "Kotikatu 2", "postalCode": "00530",
                   "postOffice": "HELSINKI", "country": "FI"},
        "recipient": None,
        "deliveryAddress": {"name": "Matti Meikäläinen", "streetAddress": "Kotikatu 2",
                            "postalCode": "00530", "postOffice": "HELSINKI", "country": "FI"},
        "currency": "EUR", "serviceCode": "2103", "routingServiceCode": None,
        "pickupPointId": None, "deliveryOperator": "Posti", "additionalServices": [],
        "totalPrice": 49.8, "totalTax": 9.64, "totalWholeSalePrice": None,
        "rows": [{"externalId": "1", "externalProductId": "SKU-1", "productEANCode": None,
                  "productUnitOfMeasure": "KPL", "productDescription": "Thing",
                  "externalWarehouseId": world.catalog.external_id, "quantity": 2}],
    }
    body.update(overrides)
    return body


@pytest.fixture
def retailer_api(world, api_for):
    return api_for(world.retailer)


def test_create_generates_the_id_and_answers_the_routed_order(world, retailer_api):
    response = retailer_api.post(ORDERS, json=order_body(world))
    assert response.status_code == 201
    order = response.get_json()
    assert re.fullmatch(r"[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{3}", order["externalId"])
    assert order["status"] == {"value": "Routed"}
    assert order["rows"][0]["status"] == {"value": "Created"}
    assert order["rows"][0]["deliveredQuantity"] == 0 and order["trackingCodes"] == []
    again = retailer_api.get(f"{ORDERS}/{order['externalId']}")
    assert again.status_code == 200 and again.get_json()["externalId"] == order["externalId"]


def test_a_rejected_order_lists_every_row_problem_and_stores_nothing(world, retailer_api):
    body = order_body(world, externalId="BAD-1", rows=[
        {"externalProductId": "NOPE", "quantity": 1},
        {"externalProductId": "SKU-1", "quantity": 999,
         "externalWarehouseId": world.catalog.external_id}])
    response = retailer_api.post(ORDERS, json=body)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["error"] == "validation_failed"
    assert {e.get("index") for e in problem["errors"]} >= {0, 1}
    assert retailer_api.get(f"{ORDERS}/BAD-1").status_code == 404


def test_duplicate_external_id_is_409(world, retailer_api):
    assert retailer_api.post(ORDERS, json=order_body(world, externalId="A-1")).status_code == 201
    response = retailer_api.post(ORDERS, json=order_body(world, externalId="A-1"))
    assert response.status_code == 409 and response.get_json()["error"] == "conflict"


def test_malformed_json_is_a_400_problem(retailer_api):
    response = retailer_api.post(ORDERS, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert set(response.get_json()) >= {"status", "error", "message", "errors"}


def test_another_tenants_order_is_404_for_every_verb(world, retailer_api, api_for):
    retailer_api.post(ORDERS, json=order_body(world, externalId="MINE-1"))
    outsider, supplier = api_for(world.outsider), api_for(world.supplier)
    for api in (outsider, supplier):
        assert api.get(f"{ORDERS}/MINE-1").status_code in (403, 404)
    assert outsider.get(f"{ORDERS}/MINE-1").status_code == 404
    assert outsider.put(f"{ORDERS}/MINE-1",
                        json={"status": {"value": "Cancelled"}}).status_code == 404
    assert outsider.delete(f"{ORDERS}/MINE-1").status_code == 404
    assert outsider.patch(f"{ORDERS}/MINE-1/preferences",
                          json={"autoSubmit": False}).status_code == 404
    assert outsider.post(f"{ORDERS}/MINE-1/comments", json={"value": "hi"}).status_code == 404
    listed = outsider.get(ORDERS).get_json()
    assert listed["content"] == [] and listed["page"]["totalElements"] == 0


def test_search_by_reference_status_and_dates_in_the_envelope(world, retailer_api):
    retailer_api.post(ORDERS, json=order_body(world, externalId="S-1"))
    retailer_api.post(ORDERS, json=order_body(world, externalId="S-2", references=[
        {"name": "PO", "value": "PO-2"}]))
    found = retailer_api.get(f"{ORDERS}?refName=PO&refValue=PO-2&size=5&page=0").get_json()
    assert [o["externalId"] for o in found["content"]] == ["S-2"]
    assert found["page"] == {"size": 5, "totalElements": 1, "totalPages": 1, "number": 0,
                             "next": None}
    routed = retailer_api.get(f"{ORDERS}?status=Routed,Accepted"
                              "&from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00%2B02:00")
    assert routed.get_json()["page"]["totalElements"] == 2
    assert retailer_api.get(f"{ORDERS}?from=yesterday").status_code == 422
    assert retailer_api.get(f"{ORDERS}?status=Bogus").status_code == 422
    second_page = retailer_api.get(f"{ORDERS}?size=1&page=1").get_json()
    assert len(second_page["content"]) == 1 and second_page["page"]["totalPages"] == 2


def test_put_cancels_and_post_reopens_under_the_same_id(world, retailer_api):
    retailer_api.post(ORDERS, json=order_body(world, externalId="R-1"))
    cancelled = retailer_api.put(f"{ORDERS}/R-1", json={"status": {"value": "Cancelled"}})
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == {"value": "Cancelled"}
    reopened = retailer_api.post(f"{ORDERS}/R-1", json=order_body(world, externalId=None))
    assert reopened.status_code == 201
    assert reopened.get_json()["externalId"] == "R-1"
    assert reopened.get_json()["status"]["value"] == "Routed"
    assert retailer_api.post(f"{ORDERS}/R-1", json=order_body(world)).status_code == 409


def test_put_updates_header_fields(world, retailer_api):
    retailer_api.post(ORDERS, json=order_body(world, externalId="U-1"))
    response = retailer_api.put(f"{ORDERS}/U-1", json={"pickupPointId": "100101"})
    assert response.status_code == 200
    assert response.get_json()["pickupPointId"] == "100101"


def test_preferences_hold_and_release_an_order(world, retailer_api, api_for):
    held = order_body(world, externalId="H-1", preferences={"autoSubmit": False})
    created = retailer_api.post(ORDERS, json=held).get_json()
    assert created["preferences"] == {"autoSubmit": False}
    supplier = api_for(world.supplier)
    assert supplier.get("/ecommerce/v3/shipments").get_json()["page"]["totalElements"] == 0
    response = retailer_api.patch(f"{ORDERS}/H-1/preferences", json={"autoSubmit": True})
    assert response.status_code == 200 and response.get_json()["status"]["value"] == "Routed"
    assert supplier.get("/ecommerce/v3/shipments").get_json()["page"]["totalElements"] == 1
    assert retailer_api.patch(f"{ORDERS}/H-1/preferences", json={}).status_code == 422


def test_delete_removes_an_unstarted_order(world, retailer_api):
    retailer_api.post(ORDERS, json=order_body(world, externalId="D-1"))
    assert retailer_api.delete(f"{ORDERS}/D-1").status_code == 204
    assert retailer_api.get(f"{ORDERS}/D-1").status_code == 404


def test_comments_are_added_and_deleted(world, retailer_api):
    retailer_api.post(ORDERS, json=order_body(world, externalId="C-1"))
    comment = {"externalId": "N-1", "author": "Shop", "value": "Ring twice",
               "type": "pickingNote", "createdDate": "2026-05-01T12:00:00.000+03:00",
               "origin": "WOOCOMMERCE"}
    response = retailer_api.post(f"{ORDERS}/C-1/comments", json=comment)
    assert response.status_code == 201 and response.get_json()["externalId"] == "N-1"
    order = retailer_api.get(f"{ORDERS}/C-1").get_json()
    assert [c["value"] for c in order["comments"]] == ["Ring twice"]
    assert retailer_api.post(f"{ORDERS}/C-1/comments",
                             json={"value": "x", "type": "bogus"}).status_code == 422
    assert retailer_api.delete(f"{ORDERS}/C-1/comments/N-1").status_code == 204
    assert retailer_api.delete(f"{ORDERS}/C-1/comments/N-1").status_code == 404


def test_a_supplier_only_organization_cannot_order(db, world, api_for):
    supplier = api_for(world.supplier)
    response = supplier.post(ORDERS, json=order_body(world))
    assert response.status_code == 403


def test_ordering_from_a_public_catalog_without_access_is_refused(db, world, api_for):
    outsider = api_for(world.outsider)
    response = outsider.post(ORDERS, json=order_body(world))
    assert response.status_code == 422


def test_private_catalog_orders_route_to_its_supplier(db, world, api_for):
    private = commit(db, lambda s: f.private_catalog(s, world.supplier, world.retailer))
    commit(db, lambda s: f.publish(s, world.products[1], private, quantity=3))
    retailer = api_for(world.retailer)
    body = order_body(world, rows=[{"externalProductId": "SKU-2", "quantity": 3,
                                    "externalWarehouseId": private.external_id}])
    response = retailer.post(ORDERS, json=body)
    assert response.status_code == 201
    assert response.get_json()["rows"][0]["externalWarehouseId"] == private.external_id


def test_search_by_document_type_and_modified_from_date(world, retailer_api):
    # given a sales order and a purchase order
    retailer_api.post(ORDERS, json=order_body(world, externalId="D-1"))
    retailer_api.post(ORDERS, json=order_body(world, externalId="D-2", metadata={
        "documentType": "PurchaseOrder", "client": None}))
    # when searching by document type and by modification time (as the plugin sends it)
    purchase = retailer_api.get(f"{ORDERS}?documentType=PurchaseOrder").get_json()
    sales = retailer_api.get(f"{ORDERS}?documentType=SalesOrder").get_json()
    since_past = retailer_api.get(f"{ORDERS}?modifiedFromDate=2020-01-01T00:00:00.000%2B03:00")
    since_future = retailer_api.get(f"{ORDERS}?modifiedFromDate=2999-01-01T00:00:00Z")
    # then each filter selects its orders
    assert [o["externalId"] for o in purchase["content"]] == ["D-2"]
    assert [o["externalId"] for o in sales["content"]] == ["D-1"]
    assert since_past.get_json()["page"]["totalElements"] == 2
    assert since_future.get_json()["page"]["totalElements"] == 0
    assert retailer_api.get(f"{ORDERS}?documentType=Invoice").status_code == 422
