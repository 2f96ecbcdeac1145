"""Orders: validation, reservation, splitting, cancelling, comments, search and the wire shape.

The helpers at the top (``World``, ``world``, ``body``, ``line``) set the stage for the other
order and shipment test modules too.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from core import shipments
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.models import (
    Balance,
    Catalog,
    Event,
    Order,
    OrderRow,
    Organization,
    Product,
    Shipment,
)
from core.order_input import CommentIn, OrderIn, parse_order
from core.orders import (
    add_comment,
    cancel_order,
    create_order,
    delete_comment,
    delete_order,
    get_order,
    order_to_wire,
    reopen_order,
    search_orders,
    set_preferences,
    submit_order,
    update_order,
)
from core.principal import Principal
from tests import factories as f

_ean = itertools.count(6400000000001)

# --- stage helpers -------------------------------------------------------------------------


@dataclass
class World:
    """A retailer with active access to one public catalog per supplier, each catalog holding
    one product (``products[i]`` of ``suppliers[i]``, ``balances[i]``)."""

    retailer: Any
    suppliers: list[Any] = field(default_factory=list)
    catalogs: list[Catalog] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    balances: list[Balance] = field(default_factory=list)

    @property
    def as_retailer(self) -> Principal:
        return f.acting(self.retailer)

    def as_supplier(self, i: int = 0) -> Principal:
        return f.acting(self.suppliers[i])


def organization(session: Any, *, supplier: bool = False,
                 retailer: bool = False) -> Organization:
    return f.org(session, supplier=supplier, retailer=retailer)


def new_supplier(session: Any) -> Organization:
    return organization(session, supplier=True)


def new_retailer(session: Any) -> Organization:
    return organization(session, retailer=True)


def world(session: Any, *, suppliers: int = 2, quantity: int = 10) -> World:
    w = World(retailer=new_retailer(session))
    for i in range(suppliers):
        supplier = new_supplier(session)
        catalog = f.public_catalog(session, supplier)
        f.grant(session, catalog, w.retailer)
        product = f.product(session, supplier, f"SKU-{i}", ean_code=str(next(_ean)))
        w.suppliers.append(supplier)
        w.catalogs.append(catalog)
        w.products.append(product)
        w.balances.append(f.publish(session, product, catalog, quantity))
    return w


def line(product: Product, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"externalProductId": product.external_id, "quantity": quantity, **extra}


def body(*rows: dict[str, Any], **extra: Any) -> OrderIn:
    return parse_order({"rows": list(rows), **extra})


def stock(session: Any, balance: Balance) -> tuple[int, int]:
    """(available, reserved) as stored."""
    session.flush()
    return tuple(session.execute(sa.select(Balance.quantity, Balance.reserved)
                                 .where(Balance.id == balance.id)).one())


def count(session: Any, model: type) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


# --- creating ------------------------------------------------------------------------------


def test_order_is_reserved_and_split_into_one_shipment_per_supplier(session):
    # given two suppliers' products
    w = world(session)
    extra = f.product(session, w.suppliers[0], "SKU-0b")
    f.publish(session, extra, w.catalogs[0], 5)
    # when the retailer orders from both
    order = create_order(session, w.as_retailer, body(
        line(w.products[0], 2), line(extra, 1), line(w.products[1], 3)))
    # then stock is reserved, and each supplier gets one shipment with its rows in parcel "1"
    assert stock(session, w.balances[0]) == (8, 2)
    assert stock(session, w.balances[1]) == (7, 3)
    assert order.status == "Routed"
    assert len(order.shipments) == 2
    by_supplier = {s.supplier_id: s for s in order.shipments}
    first = by_supplier[w.suppliers[0].id]
    assert [r.external_product_id for r in first.rows] == ["SKU-0", "SKU-0b"]
    assert [r.external_product_id for r in by_supplier[w.suppliers[1].id].rows] == ["SKU-1"]
    assert [p.parcel_id for p in first.parcels] == ["1"]
    assert len(first.parcels[0].rows) == 2
    assert all(re.fullmatch(r"[0-9a-f-]{36}", s.shipment_id) for s in order.shipments)
    assert all(r.reserved_quantity == r.quantity for r in order.rows)
    assert [r.status for r in order.rows] == ["Created"] * 3


def test_order_without_external_id_gets_a_generated_one(session):
    w = world(session, suppliers=1)
    order = create_order(session, w.as_retailer, body(line(w.products[0]), externalId=None))
    assert re.fullmatch(r"[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{3}", order.external_id)
    assert order.rows[0].external_id == "1"


def test_order_records_events_for_the_retailer_and_each_supplier(session):
    w = world(session)
    order = create_order(session, w.as_retailer, body(line(w.products[0]), line(w.products[1]),
                                                      externalId="EV-1"))
    session.flush()
    kinds = {(e.type, tuple(e.organization_ids)) for e in session.scalars(sa.select(Event))}
    everyone = tuple(sorted([w.retailer.id, w.suppliers[0].id, w.suppliers[1].id]))
    assert ("order.created", everyone) in kinds
    for supplier in w.suppliers:
        assert ("shipment.created", tuple(sorted([w.retailer.id, supplier.id]))) in kinds
    assert order.external_id == "EV-1"


def test_duplicate_external_id_is_a_conflict(session):
    w = world(session, suppliers=1)
    create_order(session, w.as_retailer, body(line(w.products[0]), externalId="DUP-1"))
    with pytest.raises(Conflict):
        create_order(session, w.as_retailer, body(line(w.products[0]), externalId="DUP-1"))
    assert stock(session, w.balances[0]) == (9, 1)


def test_another_retailer_may_reuse_an_external_id(session):
    w = world(session, suppliers=1)
    other = new_retailer(session)
    f.grant(session, w.catalogs[0], other)
    create_order(session, w.as_retailer, body(line(w.products[0]), externalId="SAME"))
    order = create_order(session, f.acting(other), body(line(w.products[0]), externalId="SAME"))
    assert order.retailer_id == other.id


def test_rejected_order_lists_every_row_and_stores_and_reserves_nothing(session):
    # given stock of 10 and 10
    w = world(session)
    # when one row is fine and the others are each wrong
    with pytest.raises(ValidationFailed) as caught:
        create_order(session, w.as_retailer, body(
            line(w.products[0], 2),
            {"externalProductId": "NOPE", "quantity": 1},
            line(w.products[1], 11),
            line(w.products[1], 0, externalId="zero"),
            {"quantity": 1}))
    # then every bad row is named, and nothing was stored or reserved
    errors = caught.value.errors
    assert {(e["index"], e["field"]) for e in errors} == {
        (1, "externalProductId"), (2, "quantity"), (3, "quantity"), (4, "externalProductId")}
    assert count(session, Order) == 0
    assert count(session, OrderRow) == 0
    assert count(session, Shipment) == 0
    assert stock(session, w.balances[0]) == (10, 0)
    assert stock(session, w.balances[1]) == (10, 0)


def test_rows_on_one_balance_are_added_up_against_the_stock(session):
    w = world(session, suppliers=1, quantity=3)
    with pytest.raises(ValidationFailed) as caught:
        create_order(session, w.as_retailer, body(line(w.products[0], 2, externalId="a"),
                                                  line(w.products[0], 2, externalId="b")))
    assert {e["index"] for e in caught.value.errors} == {0, 1}
    assert stock(session, w.balances[0]) == (3, 0)


def test_order_needs_rows(session):
    w = world(session, suppliers=1)
    with pytest.raises(ValidationFailed) as caught:
        create_order(session, w.as_retailer, parse_order({"rows": []}))
    assert caught.value.errors[0]["field"] == "rows"


def test_product_by_ean_code_alone(session):
    w = world(session, suppliers=1)
    order = create_order(session, w.as_retailer, body(
        {"productEANCode": w.products[0].ean_code, "quantity": 1}))
    assert order.rows[0].product_id == w.products[0].id
    assert order.rows[0].external_product_id == "SKU-0"


def test_ean_and_external_product_id_must_agree(session):
    w = world(session)
    # when the row names SKU-0 by id but SKU-1 by EAN
    with pytest.raises(ValidationFailed) as caught:
        create_order(session, w.as_retailer, body(
            {"externalProductId": "SKU-0", "productEANCode": w.products[1].ean_code,
             "quantity": 1}))
    assert caught.value.errors[0]["field"] == "productEANCode"
    assert "different products" in caught.value.errors[0]["message"]
    # and so does an EAN that belongs to no product at all
    with pytest.raises(ValidationFailed) as caught:
        create_order(session, w.as_retailer, body(
            {"externalProductId": "SKU-0", "productEANCode": "4006381333931", "quantity": 1}))
    assert caught.value.errors[0]["field"] == "productEANCode"
    # and agreeing values are accepted
    order = create_order(session, w.as_retailer, body(
        {"externalProductId": "SKU-0", "productEANCode": w.products[0].ean_code,
         "quantity": 1}))
    assert order.rows[0].product_id == w.products[0].id


def test_end_of_sale_product_is_refused(session):
    w = world(session, suppliers=1)
    w.products[0].status = "EOS"
    with pytest.raises(ValidationFailed) as caught:
        create_order(session, w.as_retailer, body(line(w.products[0])))
    assert "end of sale" in caught.value.errors[0]["message"]


def test_catalog_without_active_access_is_refused(session):
    # given a supplier whose catalog the retailer only requested
    w = world(session, suppliers=1)
    pending = new_supplier(session)
    catalog = f.public_catalog(session, pending)
    f.grant(session, catalog, w.retailer, state="requested")
    product = f.product(session, pending, "PENDING-1")
    f.publish(session, product, catalog)
    # when ordering it, with and without naming the catalog
    for row in (line(product), line(product, externalWarehouseId=catalog.external_id)):
        with pytest.raises(ValidationFailed):
            create_order(session, w.as_retailer, body(row))
    assert count(session, Order) == 0


def test_external_warehouse_id_selects_the_catalog(session):
    # given the product in the public catalog and an active private catalog
    w = world(session, suppliers=1)
    private = f.private_catalog(session, w.suppliers[0], w.retailer, priority=-5)
    private_balance = f.publish(session, w.products[0], private, 4)
    # when the row names the private catalog (lower priority)
    order = create_order(session, w.as_retailer, body(
        line(w.products[0], 1, externalWarehouseId=private.external_id)))
    # then that catalog is used
    assert order.rows[0].catalog_id == private.id
    assert stock(session, private_balance) == (3, 1)
    assert stock(session, w.balances[0]) == (10, 0)


def test_without_external_warehouse_id_the_highest_priority_catalog_wins(session):
    # given two suppliers selling the same EAN, the second one's catalog with higher priority
    w = world(session)
    w.products[1].ean_code = w.products[0].ean_code
    w.catalogs[1].priority = 10
    session.flush()
    # when ordering by EAN without naming a catalog
    order = create_order(session, w.as_retailer, body(
        {"productEANCode": w.products[0].ean_code, "quantity": 1}))
    # then the higher-priority catalog's product is taken
    assert order.rows[0].catalog_id == w.catalogs[1].id
    assert order.shipments[0].supplier_id == w.suppliers[1].id
    # and when the priorities turn, so does the choice
    w.catalogs[0].priority = 20
    session.flush()
    order = create_order(session, w.as_retailer, body(
        {"productEANCode": w.products[0].ean_code, "quantity": 1}))
    assert order.rows[0].catalog_id == w.catalogs[0].id


def test_back_order_catalog_accepts_more_than_available(session):
    w = world(session, suppliers=1, quantity=2)
    w.catalogs[0].back_order_allowed = True
    session.flush()
    order = create_order(session, w.as_retailer, body(line(w.products[0], 5)))
    assert order.status == "Routed"
    assert stock(session, w.balances[0]) == (-3, 5)


@pytest.mark.parametrize(("operator", "client", "ok"), [
    ("Posti", {"name": "A"}, False),
    ("Posti", {"name": "A", "email": "a@example.test"}, True),
    ("Posti", {"name": "A", "telephone": "+358401234567"}, True),
    ("Unifaun", {"name": "A", "email": "a@example.test"}, False),
    ("Unifaun", {"name": "A", "telephone": "+358401234567"}, True),
    ("DHL", {"name": "A", "telephone": "1"}, False),
])
def test_delivery_operator_rules(session, operator, client, ok):
    w = world(session, suppliers=1)
    data = body(line(w.products[0]), deliveryOperator=operator, client=client)
    if ok:
        assert create_order(session, w.as_retailer, data).delivery_operator == operator
    else:
        with pytest.raises(ValidationFailed) as caught:
            create_order(session, w.as_retailer, data)
        assert caught.value.errors[0]["field"].startswith(("client", "deliveryOperator"))
        assert count(session, Order) == 0


def test_only_a_retailer_may_order(session):
    w = world(session, suppliers=1)
    with pytest.raises(Forbidden):
        create_order(session, w.as_supplier(), body(line(w.products[0])))
    assert stock(session, w.balances[0]) == (10, 0)


def test_another_retailer_cannot_see_or_touch_the_order(session):
    w = world(session, suppliers=1)
    create_order(session, w.as_retailer, body(line(w.products[0]), externalId="MINE"))
    stranger = f.acting(new_retailer(session))
    for call in (lambda: get_order(session, stranger, "MINE"),
                 lambda: cancel_order(session, stranger, "MINE"),
                 lambda: delete_order(session, stranger, "MINE"),
                 lambda: submit_order(session, stranger, "MINE")):
        with pytest.raises(NotFound):
            call()
    assert search_orders(session, stranger) == ([], 0)


def test_create_body_parsing_accepts_nulls_camel_case_and_unknown_fields():
    data = parse_order({
        "externalId": None, "routingServiceCode": None, "pickupPointId": None,
        "serviceCode": 2103, "totalPrice": 12.9, "totalWholeSalePrice": "7.10",
        "metadata": {"documentType": "SalesOrder", "client": None}, "somethingNew": {"x": 1},
        "client": {"name": "A", "email": None, "whatever": 1},
        "rows": [{"externalProductId": "SKU", "productEANCode": None, "quantity": "2",
                  "externalWarehouseId": None, "unknown": True}],
        "preferences": {"autoSubmit": None}, "comments": None, "status": None,
    })
    assert data.service_code == "2103"
    assert data.total_price == Decimal("12.9")
    assert data.total_wholesale_price == Decimal("7.10")
    assert data.rows[0].quantity == 2
    assert data.external_id is None


def test_create_body_shape_errors_name_the_row():
    with pytest.raises(ValidationFailed) as caught:
        parse_order({"rows": [{"externalProductId": "A", "quantity": 1},
                              {"externalProductId": "B", "quantity": "many"}]})
    assert caught.value.errors[0]["index"] == 1
    assert caught.value.errors[0]["field"] == "quantity"


def test_status_may_come_as_a_bare_string():
    assert parse_order({"status": "Cancelled"}).status.value == "Cancelled"
    assert parse_order({"status": {"value": "Cancelled"}}).status.value == "Cancelled"


# --- held orders ---------------------------------------------------------------------------


def test_auto_submit_false_holds_the_order_with_stock_reserved(session):
    w = world(session)
    order = create_order(session, w.as_retailer, body(
        line(w.products[0], 2), line(w.products[1]), externalId="HOLD",
        preferences={"autoSubmit": False}))
    assert order.status == "Accepted"
    assert order.shipments == []
    assert stock(session, w.balances[0]) == (8, 2)
    # when submitted, it is split
    submit_order(session, w.as_retailer, "HOLD")
    assert order.status == "Routed"
    assert len(order.shipments) == 2
    # and submitting again changes nothing
    submit_order(session, w.as_retailer, "HOLD")
    assert len(order.shipments) == 2


def test_turning_auto_submit_on_submits_a_held_order(session):
    w = world(session, suppliers=1)
    create_order(session, w.as_retailer, body(line(w.products[0]), externalId="H2",
                                              preferences={"autoSubmit": False}))
    order = set_preferences(session, w.as_retailer, "H2", True)
    assert order.auto_submit is True
    assert order.status == "Routed"
    assert len(order.shipments) == 1


def test_a_cancelled_held_order_cannot_be_submitted(session):
    w = world(session, suppliers=1)
    create_order(session, w.as_retailer, body(line(w.products[0]), externalId="H3",
                                              preferences={"autoSubmit": False}))
    cancel_order(session, w.as_retailer, "H3")
    with pytest.raises(Conflict):
        submit_order(session, w.as_retailer, "H3")
    assert stock(session, w.balances[0]) == (10, 0)


# --- cancelling ----------------------------------------------------------------------------


def test_cancelling_the_order_returns_stock_and_cancels_its_shipments(session):
    w = world(session)
    order = create_order(session, w.as_retailer, body(
        line(w.products[0], 2), line(w.products[1], 3), externalId="C1"))
    cancel_order(session, w.as_retailer, "C1")
    assert order.status == "Cancelled"
    assert [s.status for s in order.shipments] == ["Cancelled", "Cancelled"]
    assert all(s.cancel_reason == "cancelled by the retailer" for s in order.shipments)
    assert [r.status for r in order.rows] == ["Cancelled", "Cancelled"]
    assert stock(session, w.balances[0]) == (10, 0)
    assert stock(session, w.balances[1]) == (10, 0)
    # and cancelling again is harmless
    cancel_order(session, w.as_retailer, "C1")
    assert stock(session, w.balances[0]) == (10, 0)


def test_cancelling_one_row_keeps_the_rest_of_its_shipment(session):
    w = world(session, suppliers=1)
    extra = f.product(session, w.suppliers[0], "SKU-x")
    extra_balance = f.publish(session, extra, w.catalogs[0], 5)
    order = create_order(session, w.as_retailer, body(
        line(w.products[0], 2, externalId="r1"), line(extra, 1, externalId="r2"),
        externalId="C2"))
    cancel_order(session, w.as_retailer, "C2", ["r2"])
    assert [r.status for r in order.rows] == ["Created", "Cancelled"]
    assert order.shipments[0].status == "Created"
    assert order.status == "Routed"
    assert stock(session, extra_balance) == (5, 0)
    assert stock(session, w.balances[0]) == (8, 2)


def test_cancelling_an_unknown_row_is_refused(session):
    w = world(session, suppliers=1)
    create_order(session, w.as_retailer, body(line(w.products[0]), externalId="C3"))
    with pytest.raises(ValidationFailed):
        cancel_order(session, w.as_retailer, "C3", ["nope"])


def test_rows_on_their_way_cannot_be_cancelled(session):
    # given one shipment Shipping and one Created
    w = world(session)
    order = create_order(session, w.as_retailer, body(
        line(w.products[0], externalId="a"), line(w.products[1], externalId="b"),
        externalId="C4"))
    shipping = next(s for s in order.shipments if s.supplier_id == w.suppliers[0].id)
    shipments.set_shipment_status(session, w.as_supplier(0), shipping.shipment_id, "Shipping")
    # when the retailer cancels the whole order, or that row
    for rows in (None, ["a"]):
        with pytest.raises(Conflict):
            cancel_order(session, w.as_retailer, "C4", rows)
    # then nothing changed
    assert [r.status for r in order.rows] == ["Shipping", "Created"]
    assert stock(session, w.balances[1]) == (9, 1)
    # while the other row can still be cancelled
    cancel_order(session, w.as_retailer, "C4", ["b"])
    assert stock(session, w.balances[1]) == (10, 0)
    assert order.status == "Routed"


def test_cancelling_the_rest_after_one_shipment_was_delivered(session, monkeypatch):
    w = world(session)
    order = create_order(session, w.as_retailer, body(
        line(w.products[0]), line(w.products[1]), externalId="C5"))
    first = next(s for s in order.shipments if s.supplier_id == w.suppliers[0].id)
    shipments.confirm_shipment(session, w.as_supplier(0), first.shipment_id, [
        {"parcelId": "1", "trackingCodes": ["JJFI1"], "rows": [
            {"itemId": "SKU-0", "deliveredQuantity": 1}]}])
    assert order.status == "Partially delivered"
    cancel_order(session, w.as_retailer, "C5")
    assert order.status == "Delivered"
    assert [r.status for r in order.rows] == ["Delivered", "Cancelled"]


# --- updating, reopening, deleting ---------------------------------------------------------


def test_update_changes_header_fields_that_were_sent(session):
    w = world(session, suppliers=1)
    create_order(session, w.as_retailer, body(
        line(w.products[0]), externalId="U1", serviceCode="2103",
        references=[{"name": "PO", "value": "1"}], client={"name": "A", "email": "a@x.test"}))
    order = update_order(session, w.as_retailer, "U1", parse_order(
        {"pickupPointId": "PP-9", "deliveryAddress": {"name": "B", "postalCode": "00100"}}))
    assert order.pickup_point_id == "PP-9"
    assert order.service_code == "2103"
    assert order.references == [{"name": "PO", "value": "1"}]
    assert order.parties["deliveryAddress"] == {"name": "B", "postalCode": "00100"}
    assert order.parties["client"]["email"] == "a@x.test"


def test_update_is_validated_against_the_stored_order(session):
    w = world(session, suppliers=1)
    create_order(session, w.as_retailer, body(line(w.products[0]), externalId="U2",
                                              client={"name": "A"}))
    with pytest.raises(ValidationFailed):
        update_order(session, w.as_retailer, "U2", parse_order({"deliveryOperator": "Posti"}))
    assert get_order(session, w.as_retailer, "U2").delivery_operator is None


def test_update_with_status_cancelled_cancels(session):
    w = world(session, suppliers=1)
    create_order(session, w.as_retailer, body(line(w.products[0], 4), externalId="U3"))
    order = update_order(session, w.as_retailer, "U3", parse_order(
        {"status": {"value": "Cancelled"}, "rows": [{"externalProductId": "X"}]}))
    assert order.status == "Cancelled"
    assert stock(session, w.balances[0]) == (10, 0)


def test_update_after_shipping_is_refused_unless_nothing_changes(session):
    w = world(session, suppliers=1)
    order = create_order(session, w.as_retailer, body(line(w.products[0]), externalId="U4",
                                                      serviceCode="2103"))
    shipments.set_shipment_status(session, w.as_supplier(), order.shipments[0].shipment_id,
                                  "Shipping")
    with pytest.raises(Conflict):
        update_order(session, w.as_retailer, "U4", parse_order({"serviceCode": "2104"}))
    update_order(session, w.as_retailer, "U4", parse_order({"serviceCode": "2103"}))
    assert order.service_code == "2103"


def test_reopen_is_refused_while_the_order_is_open(session):
    w = world(session, suppliers=1)
    create_order(session, w.as_retailer, body(line(w.products[0]), externalId="R1"))
    with pytest.raises(Conflict):
        reopen_order(session, w.as_retailer, body(line(w.products[0]), externalId="R1"))


def test_reopen_a_cancelled_order_archives_the_old_one(session):
    w = world(session, suppliers=1)
    old = create_order(session, w.as_retailer, body(line(w.products[0]), externalId="R2"))
    cancel_order(session, w.as_retailer, "R2")
    new = reopen_order(session, w.as_retailer, body(line(w.products[0], 3)), external_id="R2")
    assert new.id != old.id
    assert new.external_id == "R2"
    assert old.external_id == f"R2~{old.id}"
    assert get_order(session, w.as_retailer, "R2").rows[0].quantity == 3
    assert stock(session, w.balances[0]) == (7, 3)


def test_rejected_reopen_keeps_the_old_order_in_place(session):
    w = world(session, suppliers=1)
    create_order(session, w.as_retailer, body(line(w.products[0]), externalId="R3"))
    cancel_order(session, w.as_retailer, "R3")
    with pytest.raises(ValidationFailed):
        reopen_order(session, w.as_retailer, body(line(w.products[0], 99), externalId="R3"))
    assert get_order(session, w.as_retailer, "R3").status == "Cancelled"


def test_delete_releases_stock_before_the_supplier_starts(session):
    w = world(session)
    create_order(session, w.as_retailer, body(line(w.products[0], 2), line(w.products[1]),
                                              externalId="D1"))
    delete_order(session, w.as_retailer, "D1")
    assert count(session, Order) == 0
    assert count(session, Shipment) == 0
    assert stock(session, w.balances[0]) == (10, 0)
    assert stock(session, w.balances[1]) == (10, 0)
    cancelled = session.scalars(sa.select(Event).where(Event.type == "shipment.cancelled")).all()
    assert len(cancelled) == 2


def test_delete_is_refused_once_a_supplier_started(session):
    w = world(session, suppliers=1)
    order = create_order(session, w.as_retailer, body(line(w.products[0]), externalId="D2"))
    shipments.set_shipment_status(session, w.as_supplier(), order.shipments[0].shipment_id,
                                  "Picking")
    with pytest.raises(Conflict):
        delete_order(session, w.as_retailer, "D2")
    assert stock(session, w.balances[0]) == (9, 1)


# --- comments ------------------------------------------------------------------------------


def test_retailer_and_supplier_comment_and_delete_their_own(session):
    w = world(session)
    order = create_order(session, w.as_retailer, body(line(w.products[0]), line(w.products[1]),
                                                      externalId="K1"))
    mine = add_comment(session, w.as_retailer, CommentIn(value="Leave at door",
                                                         type="passThrough"),
                       order_external_id="K1")
    assert mine.external_id
    shipment = next(s for s in order.shipments if s.supplier_id == w.suppliers[0].id)
    theirs = add_comment(session, w.as_supplier(0), CommentIn(
        externalId="S-1", value="Picked by Anna"), shipment_id=shipment.shipment_id)
    assert theirs.type == "pickingNote"
    assert theirs.author_organization_id == w.suppliers[0].id
    # the retailer may not delete the supplier's note
    with pytest.raises(Forbidden):
        delete_comment(session, w.as_retailer, "S-1", order_external_id="K1")
    # a comment id is unique on the order
    with pytest.raises(Conflict):
        add_comment(session, w.as_retailer, CommentIn(externalId="S-1", value="x"),
                    order_external_id="K1")
    delete_comment(session, w.as_supplier(0), "S-1", shipment_id=shipment.shipment_id)
    delete_comment(session, w.as_retailer, mine.external_id, order_external_id="K1")
    assert order.comments == []


def test_comment_needs_a_known_type_and_a_value(session):
    w = world(session, suppliers=1)
    create_order(session, w.as_retailer, body(line(w.products[0]), externalId="K2"))
    with pytest.raises(ValidationFailed) as caught:
        add_comment(session, w.as_retailer, CommentIn(value=" ", type="shout"),
                    order_external_id="K2")
    assert {e["field"] for e in caught.value.errors} == {"value", "type"}


def test_a_supplier_without_a_shipment_cannot_comment(session):
    w = world(session)
    order = create_order(session, w.as_retailer, body(line(w.products[0]), externalId="K3"))
    with pytest.raises(NotFound):
        add_comment(session, w.as_supplier(1), CommentIn(value="x"),
                    shipment_id=order.shipments[0].shipment_id)


def test_bad_comment_in_the_create_body_rejects_the_order(session):
    w = world(session, suppliers=1)
    with pytest.raises(ValidationFailed):
        create_order(session, w.as_retailer, body(line(w.products[0]),
                                                  comments=[{"value": "", "type": "x"}]))
    assert count(session, Order) == 0
    assert stock(session, w.balances[0]) == (10, 0)


# --- search --------------------------------------------------------------------------------


def test_search_filters_and_pages(session):
    w = world(session)
    day = datetime(2026, 5, 1, tzinfo=UTC)
    for i in range(5):
        create_order(session, w.as_retailer, body(
            line(w.products[i % 2]), externalId=f"S{i}",
            orderDate=(day + timedelta(days=i)).isoformat(),
            references=[{"name": "PO", "value": f"PO-{i}"}]))
    cancel_order(session, w.as_retailer, "S4")
    r = w.as_retailer
    names = lambda found: [o.external_id for o in found[0]]  # noqa: E731
    assert names(search_orders(session, r, ref_name="PO", ref_value="PO-2")) == ["S2"]
    assert names(search_orders(session, r, ref_value="PO-3")) == ["S3"]
    assert names(search_orders(session, r, ref_name="SO", ref_value="PO-3")) == []
    assert names(search_orders(session, r, statuses=["Cancelled"])) == ["S4"]
    assert names(search_orders(session, r, warehouse_external_id=w.catalogs[1].external_id)) \
        == ["S3", "S1"]
    assert names(search_orders(session, r, from_=day + timedelta(days=1),
                               to=day + timedelta(days=2))) == ["S2", "S1"]
    page, total = search_orders(session, r, page=1, size=2)
    assert total == 5
    assert [o.external_id for o in page] == ["S2", "S1"]
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert search_orders(session, r, updated_from=later) == ([], 0)


def test_suppliers_cannot_search_orders(session):
    w = world(session, suppliers=1)
    with pytest.raises(Forbidden):
        search_orders(session, w.as_supplier())


# --- wire ----------------------------------------------------------------------------------


def test_order_to_wire_speaks_v3(session, monkeypatch):
    w = world(session, suppliers=1)
    order = create_order(session, w.as_retailer, body(
        line(w.products[0], 2, price="19.9", externalId="row-1"), externalId="W1",
        orderDate="2026-05-01T12:00:00.000+03:00", totalPrice=39.8, currency="EUR",
        client={"name": "Anna", "email": "anna@example.test"}, deliveryOperator="Posti",
        references=[{"name": "SO", "value": "1001"}],
        comments=[{"externalId": "c1", "value": "Hi", "type": "passThrough",
                   "origin": "WOOCOMMERCE"}]))
    shipments.confirm_shipment(session, w.as_supplier(), order.shipments[0].shipment_id, [
        {"parcelId": "1", "trackingCodes": ["JJFI123"],
         "rows": [{"orderRowId": "row-1", "deliveredQuantity": 1}]}])
    wire = order_to_wire(order)
    assert wire["externalId"] == "W1"
    assert wire["orderDate"] == "2026-05-01T09:00:00.000+00:00"
    assert wire["status"] == {"value": "Delivered"}
    assert wire["totalPrice"] == 39.8
    assert wire["trackingCodes"] == ["JJFI123"]
    assert wire["preferences"] == {"autoSubmit": True}
    assert wire["client"] == {"name": "Anna", "email": "anna@example.test"}
    assert wire["references"] == [{"name": "SO", "value": "1001"}]
    assert wire["comments"][0]["externalId"] == "c1"
    assert wire["comments"][0]["origin"] == "WOOCOMMERCE"
    row = wire["rows"][0]
    assert row["status"] == {"value": "Delivered"}
    assert row["deliveredQuantity"] == 1
    assert row["trackingCodes"] == ["JJFI123"]
    assert row["price"] == 19.9
    assert row["wholesalePrice"] == 10
    assert row["externalWarehouseId"] == w.catalogs[0].external_id
