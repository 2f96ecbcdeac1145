"""Concurrent orders never oversell: each thread runs its own transaction, as web requests do."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from core.errors import GlueError, ValidationFailed
from core.models import Balance, Order
from core.orders import cancel_order, create_order
from core.shipments import cancel_shipment
from tests.core.test_orders import body, line, world

THREADS = 20


def test_twenty_buyers_for_the_last_ten_units(db):
    # given a product with 10 units left, committed
    with db.transaction() as session:
        w = world(session, suppliers=1, quantity=10)
        retailer, product, balance_id = w.as_retailer, w.products[0], w.balances[0].id
    data = body(line(product, 1))
    start = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy() -> None:
        start.wait()
        try:
            with db.transaction() as session:
                create_order(session, retailer, data)
            result = "sold"
        except ValidationFailed:
            result = "refused"
        except Exception as exc:  # anything else is a defect the assertion below shows
            result = f"error: {exc!r}"
        with lock:
            outcomes.append(result)

    # when 20 threads each order 1 unit at the same moment
    threads = [threading.Thread(target=buy) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    # then exactly 10 succeed, 10 are refused, and the balance never went negative
    assert sorted(outcomes) == ["refused"] * 10 + ["sold"] * 10
    with db.transaction() as session:
        quantity, reserved = session.execute(
            sa.select(Balance.quantity, Balance.reserved).where(Balance.id == balance_id)).one()
        orders = session.scalar(sa.select(sa.func.count()).select_from(Order))
    assert (quantity, reserved, orders) == (0, 10, 10)


def test_racing_changes_to_one_shipment_release_its_stock_once(db):
    # given a committed order of 4 units with two rows
    with db.transaction() as session:
        w = world(session, suppliers=1, quantity=10)
        retailer, supplier, balance_id = w.as_retailer, w.as_supplier(), w.balances[0].id
        order = create_order(session, retailer, body(line(w.products[0], 4, externalId="a"),
                                                     externalId="RACE"))
        shipment_id = order.shipments[0].shipment_id
    start = threading.Barrier(10)
    outcomes: list[str] = []
    lock = threading.Lock()

    def change(i: int) -> None:
        start.wait()
        try:
            with db.transaction() as session:
                if i % 2:
                    cancel_shipment(session, supplier, shipment_id, "cannot deliver")
                else:
                    cancel_order(session, retailer, "RACE")
            result = "done"
        except GlueError:
            result = "refused"
        except Exception as exc:  # anything else is a defect the assertion below shows
            result = f"error: {exc!r}"
        with lock:
            outcomes.append(result)

    # when the supplier and the retailer cancel at once, five times each
    threads = [threading.Thread(target=change, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    # then exactly one cancellation took effect and the 4 units came back exactly once
    assert all(o in ("done", "refused") for o in outcomes), outcomes
    with db.transaction() as session:
        quantity, reserved = session.execute(
            sa.select(Balance.quantity, Balance.reserved).where(Balance.id == balance_id)).one()
    assert (quantity, reserved) == (10, 0)
