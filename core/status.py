"""Shipment lifecycle and the statuses derived from it (DESIGN.md 5). Pure: no database.

Shipment statuses use the v3 names, case-sensitive. A shipment moves forward only, along
``Created → Submitted → Viewed → Picking → Packing → Shipping → Delivered``, may skip ahead, and
may end in ``Cancelled`` or ``Error`` from any status that is not final. ``Delivered``,
``Cancelled`` and ``Error`` are final.

Order and row statuses are never set by hand: they are derived from the shipments here, so they
can never disagree with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

CREATED = "Created"
SUBMITTED = "Submitted"
VIEWED = "Viewed"
PICKING = "Picking"
PACKING = "Packing"
SHIPPING = "Shipping"
DELIVERED = "Delivered"
CANCELLED = "Cancelled"
ERROR = "Error"

# Order-level statuses (besides Delivered, Cancelled and Error, shared with shipments).
ACCEPTED = "Accepted"
ROUTED = "Routed"
PARTIALLY_DELIVERED = "Partially delivered"

FORWARD = (CREATED, SUBMITTED, VIEWED, PICKING, PACKING, SHIPPING, DELIVERED)
SHIPMENT_STATUSES = (*FORWARD, CANCELLED, ERROR)
FINAL = frozenset({DELIVERED, CANCELLED, ERROR})
ORDER_STATUSES = (ACCEPTED, ROUTED, PARTIALLY_DELIVERED, DELIVERED, CANCELLED, ERROR)
# The retailer may cancel rows only before the goods are on their way.
RETAILER_CANCELLABLE = frozenset({CREATED, SUBMITTED, VIEWED, PICKING, PACKING})


def _build_transitions() -> dict[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    for i, status in enumerate(FORWARD):
        if status in FINAL:
            table[status] = frozenset()
        else:
            table[status] = frozenset(FORWARD[i + 1:]) | {CANCELLED, ERROR}
    table[CANCELLED] = frozenset()
    table[ERROR] = frozenset()
    return table


TRANSITIONS: dict[str, frozenset[str]] = _build_transitions()
"""Allowed next statuses for every shipment status."""


def can_transition(current: str, new: str) -> bool:
    """True when a shipment in ``current`` may move to ``new`` (a same-status write is not a
    transition; callers treat it as a no-op)."""
    return new in TRANSITIONS.get(current, frozenset())


def derive_row_status(*, row_cancelled: bool, shipment_status: str | None,
                      delivered_quantity: int) -> str:
    """A row's status: ``Cancelled`` once cancelled by the retailer or in a cancelled
    shipment, or when its shipment was delivered without any of it; otherwise the status of
    its shipment, or ``Accepted`` while the order is not yet routed."""
    if row_cancelled or shipment_status == CANCELLED:
        return CANCELLED
    if shipment_status is None:
        return ACCEPTED
    if shipment_status == DELIVERED and delivered_quantity == 0:
        return CANCELLED
    return shipment_status


def derive_order_status(*, routed: bool, shipment_statuses: Sequence[str],
                        row_statuses: Iterable[str]) -> str:
    """The order's status from its shipments and rows.

    - every row cancelled (by the retailer, a supplier, or delivered as zero) → ``Cancelled``;
    - not routed yet (``autoSubmit: false`` not submitted) → ``Accepted``;
    - ignoring cancelled shipments: all delivered → ``Delivered``, some delivered →
      ``Partially delivered``, all in error → ``Error``, otherwise ``Routed``;
    - no shipment left that is not cancelled → ``Cancelled``.
    """
    rows = list(row_statuses)
    if rows and all(s == CANCELLED for s in rows):
        return CANCELLED
    if not routed:
        return ACCEPTED
    live = [s for s in shipment_statuses if s != CANCELLED]
    if not live:
        return CANCELLED
    if all(s == DELIVERED for s in live):
        return DELIVERED
    if any(s == DELIVERED for s in live):
        return PARTIALLY_DELIVERED
    if all(s == ERROR for s in live):
        return ERROR
    return ROUTED


def is_open(order_status: str) -> bool:
    """An order still in progress (the WooCommerce plugin's "still open")."""
    return order_status not in (DELIVERED, CANCELLED, ERROR)
