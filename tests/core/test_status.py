"""The shipment transition table and the derived row and order statuses (pure functions)."""

from __future__ import annotations

import pytest

from core import status as st


def test_the_forward_path_may_skip_ahead():
    assert st.can_transition("Created", "Viewed")
    assert st.can_transition("Created", "Submitted")
    assert st.can_transition("Created", "Shipping")
    assert st.can_transition("Viewed", "Packing")
    assert st.can_transition("Shipping", "Delivered")


@pytest.mark.parametrize(("current", "new"), [
    ("Viewed", "Created"), ("Picking", "Viewed"), ("Shipping", "Packing"),
    ("Submitted", "Created"), ("Packing", "Packing"),
])
def test_never_backwards_nor_in_place(current, new):
    assert not st.can_transition(current, new)


@pytest.mark.parametrize("final", ["Delivered", "Cancelled", "Error"])
def test_final_statuses_lead_nowhere(final):
    assert st.TRANSITIONS[final] == frozenset()
    assert all(not st.can_transition(final, s) for s in st.SHIPMENT_STATUSES)


@pytest.mark.parametrize("current", ["Created", "Submitted", "Viewed", "Picking", "Packing",
                                     "Shipping"])
def test_every_open_status_may_end_in_cancelled_or_error(current):
    assert st.can_transition(current, "Cancelled")
    assert st.can_transition(current, "Error")


def test_unknown_statuses_lead_nowhere():
    assert not st.can_transition("Lost", "Delivered")
    assert not st.can_transition("Created", "Lost")


def test_the_table_covers_exactly_the_v3_statuses():
    assert set(st.TRANSITIONS) == set(st.SHIPMENT_STATUSES) == {
        "Created", "Submitted", "Viewed", "Picking", "Packing", "Shipping", "Delivered",
        "Cancelled", "Error"}


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"row_cancelled": False, "shipment_status": None, "delivered_quantity": 0}, "Accepted"),
    ({"row_cancelled": True, "shipment_status": None, "delivered_quantity": 0}, "Cancelled"),
    ({"row_cancelled": False, "shipment_status": "Picking", "delivered_quantity": 0}, "Picking"),
    ({"row_cancelled": True, "shipment_status": "Picking", "delivered_quantity": 0},
     "Cancelled"),
    ({"row_cancelled": False, "shipment_status": "Cancelled", "delivered_quantity": 0},
     "Cancelled"),
    ({"row_cancelled": False, "shipment_status": "Delivered", "delivered_quantity": 2},
     "Delivered"),
    ({"row_cancelled": False, "shipment_status": "Delivered", "delivered_quantity": 0},
     "Cancelled"),
])
def test_row_status(kwargs, expected):
    assert st.derive_row_status(**kwargs) == expected


@pytest.mark.parametrize(("routed", "shipments", "rows", "expected"), [
    (False, [], ["Accepted", "Accepted"], "Accepted"),
    (False, [], ["Cancelled"], "Cancelled"),
    (True, ["Created", "Picking"], ["Created", "Picking"], "Routed"),
    (True, ["Delivered", "Picking"], ["Delivered", "Picking"], "Partially delivered"),
    (True, ["Delivered", "Error"], ["Delivered", "Error"], "Partially delivered"),
    (True, ["Delivered", "Delivered"], ["Delivered", "Delivered"], "Delivered"),
    (True, ["Delivered", "Cancelled"], ["Delivered", "Cancelled"], "Delivered"),
    (True, ["Cancelled", "Picking"], ["Cancelled", "Picking"], "Routed"),
    (True, ["Cancelled", "Cancelled"], ["Cancelled", "Cancelled"], "Cancelled"),
    (True, ["Error"], ["Error"], "Error"),
    (True, ["Error", "Created"], ["Error", "Created"], "Routed"),
    (True, ["Delivered"], ["Cancelled"], "Cancelled"),
])
def test_order_status(routed, shipments, rows, expected):
    assert st.derive_order_status(routed=routed, shipment_statuses=shipments,
                                  row_statuses=rows) == expected


def test_open_orders():
    assert st.is_open("Routed") and st.is_open("Accepted") and st.is_open("Partially delivered")
    assert not any(st.is_open(s) for s in ("Delivered", "Cancelled", "Error"))
