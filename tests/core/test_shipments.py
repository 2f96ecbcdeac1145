"""Shipments: who may see and work them, the lifecycle, confirming, cancelling, the wire."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core import tracking
from core.errors import Forbidden, IllegalTransition, NotFound, ValidationFailed
from core.orders import create_order
from core.shipments import (
    cancel_shipment,
    confirm_shipment,
    fast_confirm,
    get_shipment,
    search_shipments,
    set_shipment_external_id,
    set_shipment_status,
    shipment_to_wire,
)
from tests import factories as f
from tests.core.test_orders import World, body, line, new_supplier, stock, world


@pytest.fixture
def issued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Stand in for the carrier backend: every parcel that carries goods and has no code
    gets ``GLUE<n>``; returns the shipment ids it was called for."""
    calls: list[str] = []

    def fake(session: Any, shipment: Any) -> None:
        calls.append(shipment.shipment_id)
        for parcel in shipment.parcels:
            if not parcel.tracking_codes and any(r.delivered_quantity for r in parcel.rows):
                parcel.tracking_codes = [f"GLUE{len(calls)}{parcel.parcel_id}"]
                parcel.tracking_source = "glue"

    monkeypatch.setattr(tracking, "assign_tracking_codes", fake)
    return calls


def ordered(session: Any, w: World, *rows: dict[str, Any], external_id: str = "O1") -> Any:
    return create_order(session, w.as_retailer, body(*rows, externalId=external_id))


def shipment_of(order: Any, supplier: Any) -> Any:
    return next(s for s in order.shipments if s.supplier_id == supplier.id)


# --- visibility ----------------------------------------------------------------------------


def test_supplier_sees_only_its_own_shipments(session):
    w = world(session)
    order = ordered(session, w, line(w.products[0]), line(w.products[1]))
    first, second = shipment_of(order, w.suppliers[0]), shipment_of(order, w.suppliers[1])
    assert get_shipment(session, w.as_supplier(0), first.shipment_id) is first
    with pytest.raises(NotFound):
        get_shipment(session, w.as_supplier(0), second.shipment_id)
    found, total = search_shipments(session, w.as_supplier(1))
    assert (found, total) == ([second], 1)


def test_retailer_reads_its_shipments_but_cannot_work_them(session):
    w = world(session, suppliers=1)
    order = ordered(session, w, line(w.products[0]))
    sid = order.shipments[0].shipment_id
    assert get_shipment(session, w.as_retailer, sid) is order.shipments[0]
    assert search_shipments(session, w.as_retailer)[1] == 1
    with pytest.raises(Forbidden):
        set_shipment_status(session, w.as_retailer, sid, "Viewed")
    with pytest.raises(Forbidden):
        fast_confirm(session, w.as_retailer, sid)
    with pytest.raises(NotFound):
        get_shipment(session, f.acting(new_supplier(session)), sid)


def test_search_shipments_filters_and_pages(session):
    w = world(session, suppliers=1)
    for i in range(3):
        ordered(session, w, line(w.products[0]), external_id=f"Q{i}")
    first = search_shipments(session, w.as_supplier(), size=2)
    assert first[1] == 3 and len(first[0]) == 2
    set_shipment_status(session, w.as_supplier(), first[0][0].shipment_id, "Viewed")
    assert search_shipments(session, w.as_supplier(), statuses=["Viewed"])[1] == 1
    assert search_shipments(session, w.as_supplier(), statuses=["Created", "Viewed"])[1] == 3
    future = datetime.now(UTC) + timedelta(minutes=1)
    assert search_shipments(session, w.as_supplier(), from_=future)[1] == 0
    assert search_shipments(session, w.as_supplier(), updated_from=future)[1] == 0
    assert search_shipments(session, w.as_supplier(), to=future)[1] == 3


# --- lifecycle -----------------------------------------------------------------------------


def test_status_moves_forward_and_is_copied_to_the_rows(session):
    w = world(session, suppliers=1)
    order = ordered(session, w, line(w.products[0]))
    sid = order.shipments[0].shipment_id
    for value in ("Viewed", "Picking", "Packing", "Shipping"):
        set_shipment_status(session, w.as_supplier(), sid, value)
        assert order.rows[0].status == value
        assert order.status == "Routed"
    assert [h.status for h in order.shipments[0].history] == [
        "Created", "Viewed", "Picking", "Packing", "Shipping"]


def test_status_may_skip_ahead_but_never_go_back(session):
    w = world(session, suppliers=1)
    sid = ordered(session, w, line(w.products[0])).shipments[0].shipment_id
    set_shipment_status(session, w.as_supplier(), sid, "Packing")
    with pytest.raises(IllegalTransition):
        set_shipment_status(session, w.as_supplier(), sid, "Viewed")
    # writing the current status again is a no-op
    set_shipment_status(session, w.as_supplier(), sid, "Packing")
    assert len(get_shipment(session, w.as_supplier(), sid).history) == 2


def test_delivered_and_cancelled_need_their_own_operations(session):
    w = world(session, suppliers=1)
    sid = ordered(session, w, line(w.products[0])).shipments[0].shipment_id
    for value in ("Delivered", "Cancelled", "Lost"):
        with pytest.raises(ValidationFailed):
            set_shipment_status(session, w.as_supplier(), sid, value)


def test_final_statuses_are_final(session, issued):
    w = world(session, suppliers=3)
    order = ordered(session, w, *(line(p) for p in w.products))
    done, gone, broken = (shipment_of(order, s).shipment_id for s in w.suppliers)
    fast_confirm(session, w.as_supplier(0), done)
    cancel_shipment(session, w.as_supplier(1), gone, "out of stock")
    set_shipment_status(session, w.as_supplier(2), broken, "Error")
    for i, sid in enumerate((done, gone, broken)):
        with pytest.raises(IllegalTransition):
            set_shipment_status(session, w.as_supplier(i), sid, "Shipping")
        with pytest.raises(IllegalTransition):
            cancel_shipment(session, w.as_supplier(i), sid, "late")
        with pytest.raises(IllegalTransition):
            fast_confirm(session, w.as_supplier(i), sid)


def test_error_releases_the_reserved_stock(session):
    w = world(session, suppliers=1)
    order = ordered(session, w, line(w.products[0], 4))
    set_shipment_status(session, w.as_supplier(), order.shipments[0].shipment_id, "Error")
    assert stock(session, w.balances[0]) == (10, 0)
    assert order.status == "Error"


def test_supplier_reference_is_stored_and_hidden_from_the_retailer(session):
    w = world(session, suppliers=1)
    shipment = ordered(session, w, line(w.products[0])).shipments[0]
    set_shipment_external_id(session, w.as_supplier(), shipment.shipment_id, "ERP-77")
    assert shipment_to_wire(shipment)["externalId"] == "ERP-77"
    assert shipment_to_wire(shipment, for_retailer=True)["externalId"] is None


# --- confirming ----------------------------------------------------------------------------


def test_confirm_with_own_codes_delivers_and_copies_onto_the_order(session, issued):
    # given an order of 3 + 2 units from one supplier
    w = world(session, suppliers=1)
    extra = f.product(session, w.suppliers[0], "SKU-b")
    extra_balance = f.publish(session, extra, w.catalogs[0], 5)
    order = ordered(session, w, line(w.products[0], 3, externalId="a"),
                    line(extra, 2, externalId="b"))
    sid = order.shipments[0].shipment_id
    # when the supplier sends row a over two parcels and only 1 of row b, with its own codes
    confirm_shipment(session, w.as_supplier(), sid, [
        {"parcelId": "1", "trackingCodes": ["OWN1"],
         "rows": [{"itemId": "SKU-0", "deliveredQuantity": 2},
                  {"orderRowId": "b", "deliveredQuantity": 1}]},
        {"parcelId": 2, "trackingCodes": ["OWN2"],
         "rows": [{"orderRowId": "a", "deliveredQuantity": 1}]}])
    # then the shipment is delivered, no code was issued, and the order shows it all
    shipment = order.shipments[0]
    assert shipment.status == "Delivered"
    assert issued == []
    assert [p.tracking_source for p in shipment.parcels] == ["own", "own"]
    assert order.status == "Delivered"
    assert [r.delivered_quantity for r in order.rows] == [3, 1]
    assert order.rows[0].tracking_codes == ["OWN1", "OWN2"]
    assert order.rows[1].tracking_codes == ["OWN1"]
    assert order.tracking_codes == ["OWN1", "OWN2"]
    # and the undelivered unit went back to stock, the delivered ones left
    assert stock(session, w.balances[0]) == (7, 0)
    assert stock(session, extra_balance) == (4, 0)


def test_confirm_without_codes_has_glue_issue_them(session, issued):
    w = world(session, suppliers=1)
    order = ordered(session, w, line(w.products[0], 2))
    sid = order.shipments[0].shipment_id
    confirm_shipment(session, w.as_supplier(), sid, [
        {"parcelId": "1", "rows": [{"itemId": "SKU-0", "deliveredQuantity": 1}]},
        {"parcelId": "2", "rows": [{"itemId": "SKU-0", "deliveredQuantity": 1}]}])
    assert issued == [sid]
    assert order.tracking_codes == ["GLUE11", "GLUE12"]
    assert order.rows[0].tracking_codes == ["GLUE11", "GLUE12"]
    assert [p.tracking_source for p in order.shipments[0].parcels] == ["glue", "glue"]


def test_confirm_calls_the_real_tracking_seam(session, monkeypatch):
    # given the seam replaced by one that refuses, as a supplier without a range would see
    def refuse(session: Any, shipment: Any) -> None:
        raise ValidationFailed("no tracking range configured")

    monkeypatch.setattr(tracking, "assign_tracking_codes", refuse)
    w = world(session, suppliers=1)
    order = ordered(session, w, line(w.products[0]))
    with pytest.raises(ValidationFailed):
        fast_confirm(session, w.as_supplier(), order.shipments[0].shipment_id)


def test_delivering_nothing_of_a_row_cancels_that_row(session, issued):
    w = world(session, suppliers=1)
    order = ordered(session, w, line(w.products[0], 2))
    confirm_shipment(session, w.as_supplier(), order.shipments[0].shipment_id, [
        {"parcelId": "1", "rows": [{"itemId": "SKU-0", "deliveredQuantity": 0}]}])
    assert issued == []  # no parcel goes to the carrier
    assert order.rows[0].status == "Cancelled"
    assert order.status == "Cancelled"
    assert stock(session, w.balances[0]) == (10, 0)


@pytest.mark.parametrize(("parcels", "needle"), [
    ([], "at least one parcel"),
    ([{"parcelId": "1", "rows": [{"itemId": "SKU-0", "deliveredQuantity": 3}]}], "ordered"),
    ([{"parcelId": "1", "rows": [{"itemId": "NOPE", "deliveredQuantity": 1}]}], "no item"),
    ([{"parcelId": "1", "rows": [{"orderRowId": "zz", "deliveredQuantity": 1}]}], "no row"),
    ([{"parcelId": "1", "rows": []}], "not listed"),
    ([{"parcelId": "1", "rows": [{"itemId": "SKU-0", "deliveredQuantity": 1}]},
      {"parcelId": "1", "rows": []}], "listed twice"),
    ([{"parcelId": "1", "rows": [{"itemId": "SKU-0", "deliveredQuantity": 1},
                                 {"itemId": "SKU-0", "deliveredQuantity": 1}]}], "twice"),
    ([{"parcelId": "1", "rows": [{"itemId": "SKU-0", "deliveredQuantity": -1}]}], "greater"),
    ([{"parcelId": "1", "rows": [{"deliveredQuantity": 1}]}], "itemId or orderRowId"),
])
def test_invalid_deliveries_are_refused_and_change_nothing(session, issued, parcels, needle):
    w = world(session, suppliers=1)
    order = ordered(session, w, line(w.products[0], 2))
    sid = order.shipments[0].shipment_id
    with pytest.raises(ValidationFailed) as caught:
        confirm_shipment(session, w.as_supplier(), sid, parcels)
    assert any(needle in e["message"] for e in caught.value.errors), caught.value.errors
    assert order.shipments[0].status == "Created"
    assert stock(session, w.balances[0]) == (8, 2)
    assert issued == []


def test_fast_confirm_delivers_every_live_row_in_full(session, issued):
    w = world(session, suppliers=1)
    extra = f.product(session, w.suppliers[0], "SKU-b")
    f.publish(session, extra, w.catalogs[0], 5)
    order = ordered(session, w, line(w.products[0], 3, externalId="a"),
                    line(extra, 2, externalId="b"))
    from core.orders import cancel_order

    cancel_order(session, w.as_retailer, "O1", ["b"])
    fast_confirm(session, w.as_supplier(), order.shipments[0].shipment_id)
    assert [r.delivered_quantity for r in order.rows] == [3, 0]
    assert [r.status for r in order.rows] == ["Delivered", "Cancelled"]
    assert order.status == "Delivered"
    assert stock(session, w.balances[0]) == (7, 0)
    assert order.tracking_codes == ["GLUE11"]


def test_partial_delivery_over_suppliers(session, issued):
    w = world(session)
    order = ordered(session, w, line(w.products[0]), line(w.products[1]))
    fast_confirm(session, w.as_supplier(0), shipment_of(order, w.suppliers[0]).shipment_id)
    assert order.status == "Partially delivered"
    fast_confirm(session, w.as_supplier(1), shipment_of(order, w.suppliers[1]).shipment_id)
    assert order.status == "Delivered"


# --- cancelling ----------------------------------------------------------------------------


def test_supplier_cancel_needs_a_reason_and_returns_stock(session):
    w = world(session)
    order = ordered(session, w, line(w.products[0], 2), line(w.products[1], 1))
    first = shipment_of(order, w.suppliers[0]).shipment_id
    with pytest.raises(ValidationFailed):
        cancel_shipment(session, w.as_supplier(0), first, "  ")
    cancel_shipment(session, w.as_supplier(0), first, "out of stock")
    assert stock(session, w.balances[0]) == (10, 0)
    assert shipment_of(order, w.suppliers[0]).cancel_reason == "out of stock"
    assert order.status == "Routed"
    # when the other supplier cancels too, the whole order is cancelled
    cancel_shipment(session, w.as_supplier(1), shipment_of(order, w.suppliers[1]).shipment_id,
                    "discontinued")
    assert order.status == "Cancelled"
    assert stock(session, w.balances[1]) == (10, 0)


def test_another_supplier_cannot_cancel(session):
    w = world(session)
    order = ordered(session, w, line(w.products[0]), line(w.products[1]))
    with pytest.raises(NotFound):
        cancel_shipment(session, w.as_supplier(1), shipment_of(order, w.suppliers[0]).shipment_id,
                        "mine now")


# --- wire ----------------------------------------------------------------------------------


def test_shipment_to_wire_speaks_v3(session, issued):
    w = world(session, suppliers=1)
    order = create_order(session, w.as_retailer, body(
        line(w.products[0], 2, externalId="r1"), externalId="W9", serviceCode="2103",
        deliveryOperator="Posti", client={"name": "A", "telephone": "040"},
        references=[{"name": "PO", "value": "77"}]))
    shipment = order.shipments[0]
    wire = shipment_to_wire(shipment)
    assert re.fullmatch(r"[0-9a-f-]{36}", wire["shipmentId"])
    assert wire["clientId"] == w.suppliers[0].business_id
    assert wire["metadata"]["sourceOrganization"] == w.retailer.business_id
    assert wire["status"]["value"] == "Created"
    assert wire["status"]["timestamp"].endswith("+00:00")
    assert wire["references"] == [{"name": "PO", "value": "77"}]
    consignment = wire["consignment"]
    assert consignment["reference"] == "W9"
    assert consignment["client"] == {"name": "A", "telephone": "040"}
    assert consignment["deliveryOperator"] == "Posti"
    assert consignment["rows"][0]["itemId"] == "SKU-0"
    assert consignment["rows"][0]["quantity"] == 2
    assert consignment["rows"][0]["externalWarehouseId"] == w.catalogs[0].external_id
    parcel = consignment["parcels"][0]
    assert parcel["parcelId"] == "1" and parcel["packageType"] == "PC"
    assert parcel["serviceCode"] == "2103"
    assert parcel["rows"] == [{"orderRowId": "r1", "externalWarehouseId":
                               w.catalogs[0].external_id, "itemId": "SKU-0",
                               "deliveredQuantity": 0, "quantity": 2}]
    fast_confirm(session, w.as_supplier(), shipment.shipment_id)
    wire = shipment_to_wire(shipment)
    assert wire["status"]["value"] == "Delivered"
    assert wire["trackingCodes"] == ["GLUE11"]
    assert wire["consignment"]["parcels"][0]["rows"][0]["deliveredQuantity"] == 2


def test_a_confirmed_parcel_weighs_what_was_given_or_what_its_products_weigh(session, issued):
    # given two products of known weight and one without a measurement
    w = world(session, suppliers=1)
    w.products[0].measurements = {"weight": 0.8}
    heavy = f.product(session, w.suppliers[0], "SKU-h", measurements={"weight": "2.5"})
    bare = f.product(session, w.suppliers[0], "SKU-x")
    for product in (heavy, bare):
        f.publish(session, product, w.catalogs[0], 5)
    order = ordered(session, w, line(w.products[0], 2, externalId="a"),
                    line(heavy, 1, externalId="b"), line(bare, 1, externalId="c"))
    # when the supplier confirms three parcels, giving a weight only for the third
    confirm_shipment(session, w.as_supplier(), order.shipments[0].shipment_id, [
        {"parcelId": "1", "rows": [{"orderRowId": "a", "deliveredQuantity": 2},
                                   {"orderRowId": "b", "deliveredQuantity": 1}]},
        {"parcelId": "2", "rows": [{"orderRowId": "c", "deliveredQuantity": 1}]},
        {"parcelId": "3", "weight": "1.25", "rows": []}])
    # then the first is the sum of its contents, the second unknown, the third as given
    weights = [p.weight for p in order.shipments[0].parcels]
    assert weights == [Decimal("4.1"), None, Decimal("1.25")]
