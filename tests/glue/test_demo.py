"""``glue demo`` seeds a usable world, and a second run changes nothing."""

from __future__ import annotations

import sqlalchemy as sa

from glue.demo import seed
from glue.schema import metadata


def _snapshot(db) -> dict[str, list[tuple]]:
    with db.engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(sa.select(t))), key=repr)
                for t in metadata.sorted_tables}


def test_demo_is_idempotent_and_covers_every_state(db):
    with db.transaction() as s:
        logins = seed(s)
    first = _snapshot(db)
    with db.transaction() as s:
        seed(s)

    assert _snapshot(db) == first
    assert len(logins["logins"]) == 4
    assert len(first["organizations"]) == 4
    assert len(first["products"]) >= 400
    assert sum(1 for p in first["products"] if p[metadata.tables["products"].c.keys().index(
        "variant_group_id")]) >= 400  # every demo product belongs to a variant group
    states = {r[metadata.tables["catalog_access"].c.keys().index("state")]
              for r in first["catalog_access"]}
    assert states == {"active", "requested"}
    order_states = {r[metadata.tables["orders"].c.keys().index("status")]
                    for r in first["orders"]}
    assert {"Routed", "Delivered", "Partially delivered", "Cancelled"} <= order_states
    private = [c for c in first["catalogs"]
               if not c[metadata.tables["catalogs"].c.keys().index("is_public")]]
    assert len(private) == 1
