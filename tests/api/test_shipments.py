"""Shipments over the API (reference B5): the supplier polls, works and confirms."""

from __future__ import annotations

import pytest

from tests.api.test_orders import ORDERS, order_body

SHIPMENTS = "/ecommerce/v3/shipments"


@pytest.fixture
def placed(world, api_for):
    """An order placed by the retailer; returns (retailer api, supplier api, shipment id)."""
    retailer, supplier = api_for(world.retailer), api_for(world.supplier)
    body = order_body(world, externalId="O-1", rows=[
        {"externalId": "1", "externalProductId": "SKU-1", "quantity": 2,
         "externalWarehouseId": world.catalog.external_id},
        {"externalId": "2", "externalProductId": "SKU-2", "quantity": 1,
         "externalWarehouseId": world.catalog.external_id}])
    assert retailer.post(ORDERS, json=body).status_code == 201
    shipment_id = supplier.get(SHIPMENTS).get_json()["content"][0]["shipmentId"]
    return retailer, supplier, shipment_id


def test_polling_with_from_and_status_in_the_envelope(placed):
    _, supplier, shipment_id = placed
    polled = supplier.get(f"{SHIPMENTS}?from=2020-01-01T00:00:00Z&status=Created,Viewed")
    assert polled.status_code == 200
    body = polled.get_json()
    assert body["page"] == {"size": 20, "totalElements": 1, "totalPages": 1, "number": 0,
                            "next": None}
    shipment = body["content"][0]
    assert shipment["shipmentId"] == shipment_id and shipment["status"]["value"] == "Created"
    assert shipment["consignment"]["reference"] == "O-1"
    assert [p["parcelId"] for p in shipment["consignment"]["parcels"]] == ["1"]
    later = supplier.get(f"{SHIPMENTS}?from=2999-01-01T00:00:00Z").get_json()
    assert later["content"] == []
    assert supplier.get(f"{SHIPMENTS}?status=Shipping").get_json()["content"] == []
    assert supplier.get(f"{SHIPMENTS}?status=shipping").status_code == 422


def test_patch_status_returns_the_updated_shipment(placed):
    _, supplier, shipment_id = placed
    for value in ("Viewed", "Picking", "Packing"):
        response = supplier.patch(f"{SHIPMENTS}/{shipment_id}", json={"status": {"value": value}})
        assert response.status_code == 200
        assert response.get_json()["status"]["value"] == value
    backwards = supplier.patch(f"{SHIPMENTS}/{shipment_id}", json={"status": {"value": "Created"}})
    assert backwards.status_code == 409


def test_confirm_with_rows_and_own_tracking_codes_reaches_the_order(placed):
    retailer, supplier, shipment_id = placed
    body = {"status": {"value": "Delivered"}, "externalId": "ERP-77",
            "parcels": [{"parcelId": "1", "trackingCodes": ["OWN123"],
                         "rows": [{"itemId": "SKU-1", "deliveredQuantity": 2},
                                  {"itemId": "SKU-2", "deliveredQuantity": 0}]}]}
    response = supplier.patch(f"{SHIPMENTS}/{shipment_id}", json=body)
    assert response.status_code == 200, response.get_json()
    shipment = response.get_json()
    assert shipment["status"]["value"] == "Delivered" and shipment["externalId"] == "ERP-77"
    assert shipment["trackingCodes"] == ["OWN123"]
    order = retailer.get(f"{ORDERS}/O-1").get_json()
    assert order["trackingCodes"] == ["OWN123"]
    assert [r["deliveredQuantity"] for r in order["rows"]] == [2, 0]
    # the retailer sees the shipment, without the supplier's own reference
    seen = retailer.get(f"{SHIPMENTS}/{shipment_id}").get_json()
    assert seen["externalId"] is None


def test_confirm_in_consignment_parcels_without_codes_gets_glue_codes(placed):
    _, supplier, shipment_id = placed
    body = {"status": {"value": "Delivered"}, "consignment": {"parcels": [
        {"parcelId": "1", "rows": [{"itemId": "SKU-1", "deliveredQuantity": 2},
                                   {"itemId": "SKU-2", "deliveredQuantity": 1}]}]}}
    shipment = supplier.put(f"{SHIPMENTS}/{shipment_id}", json=body).get_json()
    assert shipment["status"]["value"] == "Delivered"
    assert shipment["trackingCodes"] and shipment["trackingCodes"][0].endswith("FI")


def test_delivered_without_rows_is_422_and_fast_confirm_delivers_everything(placed):
    retailer, supplier, shipment_id = placed
    missing = supplier.patch(f"{SHIPMENTS}/{shipment_id}", json={"status": {"value": "Delivered"}})
    assert missing.status_code == 422
    response = supplier.post(f"{SHIPMENTS}/{shipment_id}/delivered")
    assert response.status_code == 200 and response.get_json()["status"]["value"] == "Delivered"
    order = retailer.get(f"{ORDERS}/O-1").get_json()
    assert order["status"]["value"] == "Delivered"
    assert [r["deliveredQuantity"] for r in order["rows"]] == [2, 1]
    assert supplier.post(f"{SHIPMENTS}/{shipment_id}/delivered").status_code == 409


def test_cancel_by_patch_with_a_default_reason(placed):
    retailer, supplier, shipment_id = placed
    response = supplier.patch(f"{SHIPMENTS}/{shipment_id}",
                              json={"status": {"value": "Cancelled"}})
    assert response.status_code == 200
    assert response.get_json()["cancelReason"] == "Cancelled by the supplier"
    assert retailer.get(f"{ORDERS}/O-1").get_json()["status"]["value"] == "Cancelled"


def test_events_change_status(placed):
    _, supplier, shipment_id = placed
    response = supplier.post(f"{SHIPMENTS}/{shipment_id}/events", json={"value": "Viewed"})
    assert response.status_code == 200 and response.get_json()["status"]["value"] == "Viewed"
    nested = supplier.post(f"{SHIPMENTS}/{shipment_id}/events",
                           json={"status": {"value": "Picking"}})
    assert nested.get_json()["status"]["value"] == "Picking"
    assert supplier.post(f"{SHIPMENTS}/{shipment_id}/events", json={}).status_code == 422


def test_options_label_and_note(placed):
    retailer, supplier, shipment_id = placed
    options = supplier.get(f"{SHIPMENTS}/{shipment_id}/options").get_json()
    assert options["serviceCode"] == "2103" and options["service"]["id"] == "2103"
    assert supplier.get(f"{SHIPMENTS}/{shipment_id}/parcels/1/label").status_code == 409
    supplier.post(f"{SHIPMENTS}/{shipment_id}/delivered")  # Glue issues codes and labels
    label = supplier.get(f"{SHIPMENTS}/{shipment_id}/parcels/1/label")
    assert label.status_code == 200 and label.mimetype == "application/pdf"
    assert label.data.startswith(b"%PDF")
    note = retailer.get(f"{SHIPMENTS}/{shipment_id}/parcels/1/note")
    assert note.status_code == 200 and note.data.startswith(b"%PDF")
    assert supplier.get(f"{SHIPMENTS}/{shipment_id}/parcels/9/label").status_code == 404


def test_supplier_comments_through_its_shipment(placed):
    retailer, supplier, shipment_id = placed
    response = supplier.post(f"{SHIPMENTS}/{shipment_id}/comments",
                             json={"value": "Out of gift wrap", "type": "pickingNote"})
    assert response.status_code == 201
    assert "Out of gift wrap" in [c["value"] for c in
                                   retailer.get(f"{ORDERS}/O-1").get_json()["comments"]]


def test_others_cannot_see_or_change_the_shipment(db, placed, world, api_for):
    retailer, _, shipment_id = placed
    outsider = api_for(world.outsider)
    assert outsider.get(f"{SHIPMENTS}/{shipment_id}").status_code == 404
    assert outsider.patch(f"{SHIPMENTS}/{shipment_id}",
                          json={"status": {"value": "Viewed"}}).status_code == 404
    assert outsider.post(f"{SHIPMENTS}/{shipment_id}/delivered").status_code == 404
    assert outsider.get(f"{SHIPMENTS}/{shipment_id}/parcels/1/note").status_code == 404
    assert outsider.get(SHIPMENTS).get_json()["content"] == []
    # the retailer reads its order's shipment but may not work it
    assert retailer.patch(f"{SHIPMENTS}/{shipment_id}",
                          json={"status": {"value": "Viewed"}}).status_code == 403
    assert retailer.post(f"{SHIPMENTS}/{shipment_id}/delivered").status_code == 403
