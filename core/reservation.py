"""Moving units between a balance's ``quantity`` (available) and ``reserved`` (DESIGN.md 5).

Every change is one SQL UPDATE computed by the database, never a read-modify-write in Python, so
two transactions can never both sell the last unit. Reserving is conditional
(``WHERE quantity >= n``) unless the catalog allows back orders. Balances are updated in
ascending id order, so two transactions that reserve the same balances take their row locks in
the same order and cannot deadlock on PostgreSQL (SQLite serialises writers with
``BEGIN IMMEDIATE``).

Per balance ``quantity + reserved + delivered`` stays constant: reserving moves n from
``quantity`` to ``reserved``, releasing moves it back, delivering removes it from ``reserved``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.db import utcnow
from core.models import Balance


@dataclass(frozen=True)
class Claim:
    """``quantity`` units of one balance; ``back_order`` lifts the availability condition."""

    balance_id: int
    quantity: int
    back_order: bool = False


def reserve(session: Session, claims: Iterable[Claim]) -> set[int]:
    """Reserve every claim, or none: returns the ids of the balances that lacked stock (empty on
    success). Claims on one balance are added up first. On failure the claims already applied
    are released again before returning, so the caller's transaction holds no partial
    reservation even if it goes on to commit."""
    totals: dict[int, int] = defaultdict(int)
    back_order: dict[int, bool] = {}
    for claim in claims:
        totals[claim.balance_id] += claim.quantity
        back_order[claim.balance_id] = back_order.get(claim.balance_id, True) and claim.back_order
    done: list[int] = []
    short: set[int] = set()
    now = utcnow()
    for balance_id in sorted(totals):
        n = totals[balance_id]
        stmt = (sa.update(Balance).where(Balance.id == balance_id)
                .values(quantity=Balance.quantity - n, reserved=Balance.reserved + n,
                        modified_at=now)
                .execution_options(synchronize_session=False))
        if not back_order[balance_id]:
            stmt = stmt.where(Balance.quantity >= n)
        if session.execute(stmt).rowcount == 1:
            done.append(balance_id)
        else:
            short.add(balance_id)
    if short:
        for balance_id in done:
            _move(session, balance_id, to_available=totals[balance_id], from_reserved=totals[
                balance_id])
    _expire(session, totals)
    return short


def release(session: Session, catalog_id: int, product_id: int, quantity: int) -> None:
    """Give ``quantity`` reserved units back to the available stock (cancelled or undelivered
    units). A balance deleted since (product taken off the catalog) has nothing to return to."""
    settle(session, catalog_id, product_id, reserved=quantity, delivered=0)


def settle(session: Session, catalog_id: int, product_id: int, *, reserved: int,
           delivered: int) -> None:
    """Close a reservation of ``reserved`` units of which ``delivered`` left with the carrier:
    the reservation is dropped and the undelivered rest returns to the available stock."""
    if reserved <= 0:
        return
    if not 0 <= delivered <= reserved:
        raise ValueError("delivered must be between 0 and the reserved quantity")
    balance_id = session.scalar(sa.select(Balance.id).where(
        Balance.catalog_id == catalog_id, Balance.product_id == product_id))
    if balance_id is None:
        return
    _move(session, balance_id, to_available=reserved - delivered, from_reserved=reserved)
    _expire(session, [balance_id])


def _move(session: Session, balance_id: int, *, to_available: int, from_reserved: int) -> None:
    session.execute(
        sa.update(Balance).where(Balance.id == balance_id)
        .values(quantity=Balance.quantity + to_available,
                reserved=Balance.reserved - from_reserved, modified_at=utcnow())
        .execution_options(synchronize_session=False))


def _expire(session: Session, balance_ids: Iterable[int]) -> None:
    """Loaded Balance objects are stale after a SQL UPDATE; make the next access reload them."""
    ids = set(balance_ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Balance) and obj.id in ids:
            session.expire(obj, ["quantity", "reserved", "modified_at"])
