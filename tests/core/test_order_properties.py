"""Properties of accepting, splitting, cancelling and delivering, over generated orders.

Each example builds its own catalogs and runs in one transaction that is rolled back at the
end, so examples share nothing (function-scoped fixtures are fine here for that reason).
Every step runs inside a savepoint: a refused step must leave no trace.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core import shipments as shipment_service
from core import status, tracking
from core.errors import GlueError
from core.models import Balance, Order, OrderRow, Shipment
from core.order_input import parse_order
from core.orders import cancel_order, create_order, submit_order
from tests import factories as f
from tests.core.test_orders import new_retailer, new_supplier

catalog_spec = st.fixed_dictionaries({
    "priority": st.integers(0, 3), "back_order": st.booleans(), "private": st.booleans()})
supplier_spec = st.fixed_dictionaries({
    "catalogs": st.lists(catalog_spec, min_size=1, max_size=2),
    # per product: its stock in the first catalog and in the second (None = not published)
    "products": st.lists(st.tuples(st.integers(0, 8), st.one_of(st.none(), st.integers(0, 8))),
                         min_size=1, max_size=3)})
row_spec = st.fixed_dictionaries({
    "supplier": st.integers(0, 9), "product": st.integers(0, 9), "catalog": st.integers(0, 9),
    "name_catalog": st.integers(0, 3).map(lambda n: n == 0), "by_ean": st.booleans(),
    "quantity": st.integers(1, 3)})
action_spec = st.tuples(
    st.sampled_from(["cancel_row", "confirm", "fast", "supplier_cancel", "advance", "submit",
                     "cancel_order"]),
    st.integers(0, 9), st.lists(st.integers(0, 4), min_size=6, max_size=6))
scenario = st.fixed_dictionaries({
    "suppliers": st.lists(supplier_spec, min_size=1, max_size=3),
    "rows": st.lists(row_spec, min_size=1, max_size=5),
    "auto_submit": st.integers(0, 3).map(lambda n: n != 0),
    "actions": st.lists(action_spec, max_size=6)})

PROPERTY_SETTINGS = settings(max_examples=50, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                    HealthCheck.too_slow])


def _fake_tracking(session: Any, shipment: Any) -> None:
    for parcel in shipment.parcels:
        if not parcel.tracking_codes:
            parcel.tracking_codes = [f"GLUE-{shipment.id}-{parcel.parcel_id}"]


def _stage(session: Any, spec: dict[str, Any]) -> tuple[Any, list[list[Any]], list[list[Any]]]:
    """The retailer, per supplier its catalogs, and per supplier its products."""
    retailer = new_retailer(session)
    catalogs: list[list[Any]] = []
    products: list[list[Any]] = []
    for s, sspec in enumerate(spec["suppliers"]):
        supplier = new_supplier(session)
        mine = []
        for c, cspec in enumerate(sspec["catalogs"]):
            if c == 0 and not cspec["private"]:
                catalog = f.public_catalog(session, supplier)
                f.grant(session, catalog, retailer)
            else:
                catalog = f.private_catalog(session, supplier, retailer)
            catalog.priority = cspec["priority"]
            catalog.back_order_allowed = cspec["back_order"]
            mine.append(catalog)
        catalogs.append(mine)
        items = []
        for p, stocks in enumerate(sspec["products"]):
            product = f.product(session, supplier, f"S{s}P{p}", ean_code=f"99{s}{p:02d}{s}")
            for catalog, quantity in zip(mine, stocks, strict=False):
                if quantity is not None:
                    f.publish(session, product, catalog, quantity)
            items.append(product)
        products.append(items)
    session.flush()
    return retailer, catalogs, products


def _body(spec: dict[str, Any], catalogs: list[list[Any]],
          products: list[list[Any]]) -> dict[str, Any]:
    rows = []
    for i, r in enumerate(spec["rows"]):
        s = r["supplier"] % len(products)
        product = products[s][r["product"] % len(products[s])]
        row: dict[str, Any] = {"externalId": f"r{i}", "quantity": r["quantity"]}
        if r["by_ean"]:
            row["productEANCode"] = product.ean_code
        else:
            row["externalProductId"] = product.external_id
        if r["name_catalog"]:
            row["externalWarehouseId"] = catalogs[s][r["catalog"] % len(catalogs[s])].external_id
        rows.append(row)
    return {"externalId": "PROP-1", "rows": rows,
            "preferences": {"autoSubmit": spec["auto_submit"]}}


def _balances(session: Any) -> dict[tuple[int, int], tuple[int, int]]:
    session.flush()
    return {(c, p): (q, r) for c, p, q, r in session.execute(
        sa.select(Balance.catalog_id, Balance.product_id, Balance.quantity, Balance.reserved))}


def _act(session: Any, retailer: Any, order: Order, action: tuple[str, int, list[int]]) -> None:
    kind, pick, numbers = action
    as_retailer = f.acting(retailer)
    if kind == "submit":
        submit_order(session, as_retailer, order.external_id)
        return
    if kind == "cancel_order":
        cancel_order(session, as_retailer, order.external_id)
        return
    if kind == "cancel_row":
        cancel_order(session, as_retailer, order.external_id,
                     [order.rows[pick % len(order.rows)].external_id])
        return
    if not order.shipments:
        return
    shipment = order.shipments[pick % len(order.shipments)]
    supplier = shipment.supplier
    as_supplier = f.acting(supplier)
    if kind == "fast":
        shipment_service.fast_confirm(session, as_supplier, shipment.shipment_id)
    elif kind == "supplier_cancel":
        shipment_service.cancel_shipment(session, as_supplier, shipment.shipment_id, "no stock")
    elif kind == "advance":
        target = status.FORWARD[1 + numbers[0] % 5]
        shipment_service.set_shipment_status(session, as_supplier, shipment.shipment_id, target)
    elif kind == "confirm":
        parcels: list[dict[str, Any]] = [{"parcelId": "1", "trackingCodes": ["T1"], "rows": []},
                                         {"parcelId": "2", "trackingCodes": ["T2"], "rows": []}]
        for k, row in enumerate(shipment.rows):
            wanted = 0 if row.status == status.CANCELLED else min(numbers[k % 6], row.quantity)
            first = wanted // 2 if numbers[(k + 1) % 6] % 2 else wanted
            parcels[0]["rows"].append({"orderRowId": row.external_id, "deliveredQuantity": first})
            if wanted - first:
                parcels[1]["rows"].append({"orderRowId": row.external_id,
                                           "deliveredQuantity": wanted - first})
        shipment_service.confirm_shipment(session, as_supplier, shipment.shipment_id, parcels)


def _check_invariants(session: Any, initial: dict[tuple[int, int], tuple[int, int]],
                      order: Order) -> None:
    session.flush()
    session.expire_all()
    rows = session.scalars(sa.select(OrderRow)).all()
    delivered: dict[tuple[int, int], int] = defaultdict(int)
    reserved: dict[tuple[int, int], int] = defaultdict(int)
    for row in rows:
        delivered[(row.catalog_id, row.product_id)] += row.delivered_quantity
        reserved[(row.catalog_id, row.product_id)] += row.reserved_quantity
    # conservation: available + reserved + delivered = initial, per balance
    for key, (quantity, held) in _balances(session).items():
        assert quantity + held + delivered[key] == initial[key][0], key
        assert held == reserved[key], key
        catalog_allows = session.scalar(
            sa.text("SELECT back_order_allowed FROM catalogs WHERE id = :id"), {"id": key[0]})
        if not catalog_allows:
            assert quantity >= 0
    order = session.get(Order, order.id)
    shipments = session.scalars(sa.select(Shipment).where(Shipment.order_id == order.id)).all()
    # partition: once routed, each row is in exactly one shipment, the one of its supplier
    if order.submitted_at is not None:
        assert len({s.supplier_id for s in shipments}) == len(shipments)
        by_supplier = {s.supplier_id: s.id for s in shipments}
        for row in order.rows:
            if row.shipment_id is None:  # only a row cancelled before the order was routed
                assert row.status == status.CANCELLED and row.delivered_quantity == 0
            else:
                assert row.shipment_id == by_supplier[row.supplier_id]
        assert {r.supplier_id for r in order.rows if r.shipment_id} == set(by_supplier)
    else:
        assert shipments == []
    # the order's status agrees with its shipments
    statuses = [s.status for s in shipments]
    assert order.status == status.derive_order_status(
        routed=order.submitted_at is not None, shipment_statuses=statuses,
        row_statuses=[r.status for r in order.rows])
    if order.status == status.DELIVERED:
        assert all(s in status.FINAL for s in statuses) and status.DELIVERED in statuses
    if order.status == status.PARTIALLY_DELIVERED:
        assert status.DELIVERED in statuses and any(s != status.DELIVERED for s in statuses)
    if order.status == status.CANCELLED:
        assert sum(r.delivered_quantity for r in order.rows) == 0
        assert all(s in status.FINAL for s in statuses)
    if order.status in (status.ROUTED, status.ACCEPTED):
        assert status.DELIVERED not in statuses
    for row in order.rows:
        shipment = next((s for s in shipments if s.id == row.shipment_id), None)
        if row.status not in (status.CANCELLED, status.ACCEPTED):
            assert shipment is not None and row.status == shipment.status


@PROPERTY_SETTINGS
@given(spec=scenario)
def test_orders_conserve_stock_split_by_supplier_and_report_true_statuses(db, monkeypatch, spec):
    monkeypatch.setattr(tracking, "assign_tracking_codes", _fake_tracking)
    with db.sessions() as session:
        try:
            # given generated catalogs and stock
            retailer, catalogs, products = _stage(session, spec)
            initial = _balances(session)
            # when the order is sent
            try:
                with session.begin_nested():
                    order = create_order(session, f.acting(retailer),
                                         parse_order(_body(spec, catalogs, products)))
            except GlueError:
                event("order refused")
                # then a refused order leaves nothing behind
                assert _balances(session) == initial
                assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
                return
            event(f"order accepted, {order.status}")
            _check_invariants(session, initial, order)
            # and whatever the parties do next, the invariants hold after every step
            for action in spec["actions"]:
                try:
                    with session.begin_nested():
                        _act(session, retailer, order, action)
                except GlueError:
                    event(f"{action[0]} refused")
                _check_invariants(session, initial, order)
            event(f"final order status {order.status}")
        finally:
            session.rollback()
