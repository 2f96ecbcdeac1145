"""Writing a supplier's inventory: the v3 ``/ecommerce/v3/inventory`` writes as service functions.

- :func:`upsert_inventory` (PUT /inventory): create or update products and their balances.
- :func:`end_of_sale` (DELETE /inventory): set products to ``EOS``; products are never deleted.
- :func:`remove_balances` (DELETE /inventory/balances): take products off catalogs.

Each takes up to :data:`MAX_ITEMS` items, checks every item on its own and answers with the
*failed* items only, ``{"index", "externalId", "errors": [{"field", "message"}]}``; every valid
item is stored. Only the whole call is refused (ValidationFailed, Forbidden) when the request as
a whole is wrong.

Update semantics (a decision; the v3 text is silent): a field that is absent or ``null`` keeps
its stored value (a new product gets the column default), because the PHP client sends ``null``
for every unset field and a stock-only update must not wipe texts. A field that is given
replaces the stored value whole (``descriptions`` replaces every language). ``eanCode: ""``
clears the code. ``supplierId`` is ignored: the acting supplier owns what it writes.

Events (volume is bounded by calls, not rows; a 100,000-product import in 2,000-item calls
writes about 100 events, not 200,000):
- ``inventory.upserted`` / ``inventory.end_of_sale``, one per call that changed something,
  visible to the supplier only, listing the external ids created, updated or ended.
- ``catalog.inventory_changed``, one per call and catalog touched, visible to the supplier and to
  the retailers who see that catalog's balances (core.access), listing only that catalog's
  products: ``productsChanged`` (product data changed), ``balancesChanged`` (new values) and
  ``balancesRemoved``. Per catalog, so a retailer never learns of a product in another
  retailer's private catalog.
Nothing is recorded and no timestamp moves when a call changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from core.db import utcnow
from core.errors import Forbidden, ValidationFailed
from core.events import record
from core.models import Balance, Catalog, CatalogAccess, Organization, Product
from core.principal import Principal
from core.products import (
    BALANCE_FIELDS,
    BALANCES,
    MAX_ITEMS,
    PRODUCT_DEFAULTS,
    PRODUCTS,
    BalanceRefIn,
    InventoryItemIn,
    product_columns,
)
from core.validation import validate_external_id

# --- shared checks -------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogRef:
    id: int
    external_id: str
    is_public: bool
    currency: str
    state: str
    retailer_id: int | None
    retailer_business_id: str | None


def acting_supplier(session: Session, actor: Principal) -> Organization:
    """The supplier organization ``actor`` writes for; Forbidden unless it is one."""
    actor.require("supplier")
    organization = session.get(Organization, actor.require_org())
    if organization is None or not organization.is_supplier:
        raise Forbidden("only a supplier organization has an inventory")
    return organization


def supplier_catalogs(session: Session, supplier_id: int) -> dict[str, CatalogRef]:
    """Every catalog of the supplier by externalId, in one query."""
    retailer = aliased(Organization)
    rows = session.execute(
        sa.select(Catalog.id, Catalog.external_id, Catalog.is_public, Catalog.currency,
                  Catalog.state, Catalog.retailer_id, retailer.business_id)
        .outerjoin(retailer, retailer.id == Catalog.retailer_id)
        .where(Catalog.supplier_id == supplier_id))
    return {row.external_id: CatalogRef(*row) for row in rows}


def check_catalog(catalogs: dict[str, CatalogRef], external_id: str, retailer_id: str | None,
                  prefix: str) -> tuple[CatalogRef | None, list[dict[str, str]]]:
    """The supplier's catalog a balance names, or the errors that say why it can't be used.

    A public catalog takes no ``retailerId``; for a private one a ``retailerId`` that is given
    must be its retailer's business ID (absent is fine: the catalog externalId is unique).
    """
    catalog = catalogs.get(external_id)
    if catalog is None:
        return None, [_error(f"{prefix}catalogExternalId",
                             f"this supplier has no catalog {external_id!r}")]
    if retailer_id in (None, ""):
        return catalog, []
    if catalog.is_public:
        return None, [_error(f"{prefix}retailerId",
                             "must be empty: the catalog is the supplier's public catalog")]
    if retailer_id != catalog.retailer_business_id:
        return None, [_error(f"{prefix}retailerId",
                             f"catalog {external_id!r} is not the private catalog of "
                             f"retailer {retailer_id!r}")]
    return catalog, []


def among(conn: sa.Connection, column: sa.ColumnElement[Any],
          values: Iterable[Any]) -> sa.ColumnElement[bool]:
    """``column IN values`` for up to a batch of values. On PostgreSQL it is ``= ANY(array)``
    with one parameter: psycopg parses a statement with thousands of placeholders slowly and
    cannot cache it, which cost a tenth of a second per 2,000-row batch."""
    values = list(values)
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def _error(field_: str, message: str) -> dict[str, str]:
    return {"field": field_, "message": message}


def _failure(index: int, external_id: Any, errors: list[dict[str, str]]) -> dict[str, Any]:
    return {"index": index, "externalId": external_id if isinstance(external_id, str) else None,
            "errors": errors}


def _pydantic_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    out = []
    for err in exc.errors(include_url=False):
        path = prefix
        for part in err["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        out.append(_error(path, err["msg"]))
    return out


def _check_size(items: Any, what: str) -> None:
    if not isinstance(items, list):
        raise ValidationFailed(f"the body must be a list of {what}")
    if len(items) > MAX_ITEMS:
        raise ValidationFailed(f"at most {MAX_ITEMS} {what} per request, not {len(items)}")


# --- PUT /inventory ------------------------------------------------------------------------


def upsert_inventory(session: Session, actor: Principal, items: list[dict]) -> list[dict]:
    """Create or update the acting supplier's products and their balances (PUT /inventory).

    ``items`` are wire dicts ``{"product": {...}, "balances": [...]}``, at most 2,000. Returns
    the failed items; every valid one is stored (flushed, not committed). A balance's
    ``quantity`` sets what is available to order; ``reserved`` belongs to orders and is never
    touched. Product ``updated_at`` and balance ``modified_at`` move only when a value changes.
    """
    supplier = acting_supplier(session, actor)
    _check_size(items, "inventory items")
    session.flush()
    catalogs = supplier_catalogs(session, supplier.id)
    failures: list[dict[str, Any]] = []
    accepted: list[InventoryItemIn] = []
    seen: set[str] = set()
    for index, raw in enumerate(items):
        item, errors = _parse_item(raw, catalogs)
        if item is not None and item.product.external_id in seen:
            errors.append(_error("product.externalId",
                                 "appears more than once in this request"))
        if errors:
            ext = raw.get("product", {}).get("externalId") if isinstance(raw, dict) and \
                isinstance(raw.get("product"), dict) else None
            failures.append(_failure(index, ext, errors))
            continue
        seen.add(item.product.external_id)
        accepted.append(item)
    if accepted:
        _InventoryWrite(session, actor, supplier, catalogs).store(accepted)
    return failures


def _parse_item(raw: Any, catalogs: dict[str, CatalogRef],
                ) -> tuple[InventoryItemIn | None, list[dict[str, str]]]:
    if not isinstance(raw, dict):
        return None, [_error("", "an item must be an object {product, balances}")]
    try:
        item = InventoryItemIn.model_validate(raw)
    except ValidationError as exc:
        return None, _pydantic_errors(exc)
    errors: list[dict[str, str]] = []
    named: set[str] = set()
    for j, balance in enumerate(item.balances or []):
        prefix = f"balances[{j}]."
        if balance.product_external_id not in (None, item.product.external_id):
            errors.append(_error(f"{prefix}productExternalId",
                                 "must be the product's externalId or empty"))
        catalog, catalog_errors = check_catalog(catalogs, balance.catalog_external_id,
                                                balance.retailer_id, prefix)
        errors += catalog_errors
        if catalog is None:
            continue
        if balance.currency is not None and balance.currency != catalog.currency:
            errors.append(_error(f"{prefix}currency",
                                 f"catalog {catalog.external_id!r} is priced in "
                                 f"{catalog.currency}"))
        if catalog.external_id in named:
            errors.append(_error(f"{prefix}catalogExternalId",
                                 "the product has two balances for this catalog"))
        named.add(catalog.external_id)
    return item, errors


@dataclass
class _CatalogChange:
    products: list[str] = field(default_factory=list)
    balances: list[dict[str, Any]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


class _InventoryWrite:
    """One batch of accepted items written with a fixed number of statements: a select of the
    existing products, one of their balances, then executemany inserts and updates."""

    def __init__(self, session: Session, actor: Principal, supplier: Organization,
                 catalogs: dict[str, CatalogRef]) -> None:
        self.session, self.actor, self.supplier = session, actor, supplier
        self.catalogs_by_id = {c.id: c for c in catalogs.values()}
        self.catalogs = catalogs
        self.conn = session.connection()
        self.now = utcnow()
        self.changes: dict[int, _CatalogChange] = defaultdict(_CatalogChange)

    def store(self, items: list[InventoryItemIn]) -> None:
        ids, created, updated = self._store_products(items)
        new = set(created)
        balances = self._existing_balances(ids[ext] for ext in ids if ext not in new)
        in_catalogs = defaultdict(set)  # product id -> catalog ids, for productsChanged
        for (product_id, catalog_id) in balances:
            in_catalogs[product_id].add(catalog_id)
        self._store_balances(items, ids, balances, in_catalogs)
        for ext in (*created, *updated):
            for catalog_id in in_catalogs[ids[ext]]:
                self.changes[catalog_id].products.append(ext)
        if created or updated:
            record(self.session, self.actor, "inventory.upserted", "supplier",
                   self.supplier.business_id, [self.supplier.id],
                   created=created, updated=updated)
        record_catalog_changes(self.session, self.actor, self.supplier.id,
                               self.catalogs_by_id, self.changes)
        expire_inventory(self.session)

    def _store_products(self, items: list[InventoryItemIn],
                        ) -> tuple[dict[str, int], list[str], list[str]]:
        external_ids = [item.product.external_id for item in items]
        existing = {row.external_id: row._mapping for row in self.conn.execute(
            sa.select(PRODUCTS).where(PRODUCTS.c.supplier_id == self.supplier.id,
                                      among(self.conn, PRODUCTS.c.external_id, external_ids)))}
        inserts, updates, created, updated = [], [], [], []
        for item in items:
            ext = item.product.external_id
            cols = product_columns(item.product)
            old = existing.get(ext)
            if old is None:
                inserts.append({**PRODUCT_DEFAULTS, **cols, "supplier_id": self.supplier.id,
                                "external_id": ext, "created_at": self.now,
                                "updated_at": self.now})
                created.append(ext)
            elif any(old[name] != value for name, value in cols.items()):
                # every row of one executemany must bind the same columns: send them all
                updates.append({**{name: old[name] for name in PRODUCT_DEFAULTS}, **cols,
                                "_id": old["id"], "updated_at": self.now})
                updated.append(ext)
        ids = {ext: row["id"] for ext, row in existing.items()}
        if inserts:
            # A plain executemany and one select of the new ids: INSERT .. RETURNING for many
            # rows turns into one huge multi-VALUES statement that psycopg parses slowly.
            self.conn.execute(sa.insert(PRODUCTS), inserts)
            ids.update(self.conn.execute(
                sa.select(PRODUCTS.c.external_id, PRODUCTS.c.id)
                .where(PRODUCTS.c.supplier_id == self.supplier.id,
                       among(self.conn, PRODUCTS.c.external_id, created))).all())
        if updates:
            self.conn.execute(sa.update(PRODUCTS).where(PRODUCTS.c.id == sa.bindparam("_id")),
                              updates)
        return ids, created, updated

    def _existing_balances(self, product_ids: Iterable[int]) -> dict[tuple[int, int], Any]:
        product_ids = list(product_ids)
        if not product_ids:
            return {}
        rows = self.conn.execute(
            sa.select(BALANCES.c.id, BALANCES.c.product_id, BALANCES.c.catalog_id,
                      *(BALANCES.c[name] for name in BALANCE_FIELDS))
            .where(among(self.conn, BALANCES.c.product_id, product_ids)))
        return {(row.product_id, row.catalog_id): row._mapping for row in rows}

    def _store_balances(self, items: list[InventoryItemIn], ids: dict[str, int],
                        existing: dict[tuple[int, int], Any],
                        in_catalogs: dict[int, set[int]]) -> None:
        inserts, updates = [], []
        for item in items:
            ext = item.product.external_id
            product_id = ids[ext]
            for balance in item.balances or []:
                catalog = self.catalogs[balance.catalog_external_id]
                given = {name: v for name in BALANCE_FIELDS
                         if (v := getattr(balance, name)) is not None}
                old = existing.get((product_id, catalog.id))
                if old is None:
                    row = {"quantity": 0, "incoming": 0, "wholesale_price": None,
                           "currency": catalog.currency, **given}
                    inserts.append({**row, "catalog_id": catalog.id, "product_id": product_id,
                                    "reserved": 0, "modified_at": self.now})
                    in_catalogs[product_id].add(catalog.id)
                elif any(old[name] != value for name, value in given.items()):
                    row = {**{name: old[name] for name in BALANCE_FIELDS}, **given}
                    updates.append({**row, "_id": old["id"], "modified_at": self.now})
                else:
                    continue
                self.changes[catalog.id].balances.append(balance_change(ext, row))
        if inserts:
            self.conn.execute(sa.insert(BALANCES), inserts)
        if updates:
            self.conn.execute(sa.update(BALANCES).where(BALANCES.c.id == sa.bindparam("_id")),
                              updates)


def balance_change(product_external_id: str, row: dict[str, Any]) -> dict[str, Any]:
    """A balance's new values as event data (JSON: money as an exact string)."""
    price = row["wholesale_price"]
    return {"productExternalId": product_external_id, "quantity": row["quantity"],
            "incoming": row["incoming"],
            "wholesalePrice": None if price is None else str(price),
            "currency": row["currency"]}


def catalog_audience(session: Session, catalogs: Iterable[CatalogRef]) -> dict[int, set[int]]:
    """Per catalog id, the retailers who see its balances: those with active access to a
    public catalog, and the retailer of an active private catalog (core.access)."""
    catalogs = list(catalogs)
    audience: dict[int, set[int]] = {c.id: set() for c in catalogs}
    public = [c.id for c in catalogs if c.is_public]
    for c in catalogs:
        if not c.is_public and c.state == "active" and c.retailer_id is not None:
            audience[c.id].add(c.retailer_id)
    if public:
        rows = session.execute(sa.select(CatalogAccess.catalog_id, CatalogAccess.retailer_id)
                               .where(CatalogAccess.catalog_id.in_(public),
                                      CatalogAccess.state == "active"))
        for catalog_id, retailer_id in rows:
            audience[catalog_id].add(retailer_id)
    return audience


def record_catalog_changes(session: Session, actor: Principal, supplier_id: int,
                           catalogs_by_id: dict[int, CatalogRef],
                           changes: dict[int, _CatalogChange]) -> None:
    """One ``catalog.inventory_changed`` event per catalog with something in ``changes``."""
    touched = {cid: c for cid, c in changes.items() if c.products or c.balances or c.removed}
    if not touched:
        return
    audience = catalog_audience(session, (catalogs_by_id[cid] for cid in touched))
    for catalog_id, change in touched.items():
        catalog = catalogs_by_id[catalog_id]
        data: dict[str, Any] = {"catalogExternalId": catalog.external_id}
        if change.products:
            data["productsChanged"] = sorted(set(change.products))
        if change.balances:
            data["balancesChanged"] = change.balances
        if change.removed:
            data["balancesRemoved"] = change.removed
        record(session, actor, "catalog.inventory_changed", "catalog", catalog.external_id,
               [supplier_id, *audience[catalog_id]], **data)


def expire_inventory(session: Session) -> None:
    """Core statements bypass the identity map: expire loaded products and balances so the
    session reads the new values (flushed first, so nothing pending is lost)."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Product | Balance):
            session.expire(obj)


# --- DELETE /inventory ---------------------------------------------------------------------


def end_of_sale(session: Session, actor: Principal, external_ids: list[str | dict],
                ) -> list[dict]:
    """Set the acting supplier's products to ``EOS`` (DELETE /inventory; nothing is deleted).

    Each entry is an externalId, or the wire item ``{"product": {"externalId": ...}}`` as the
    clients send it (so the web layer can pass the body and keep the indexes). Returns the
    failed items (malformed or unknown externalId); an id already ``EOS`` changes nothing.
    """
    supplier = acting_supplier(session, actor)
    _check_size(external_ids, "product externalIds")
    session.flush()
    failures: list[dict[str, Any]] = []
    wanted: dict[str, int] = {}
    for index, entry in enumerate(external_ids):
        ext = _wire_external_id(entry)
        try:
            validate_external_id(ext, "product.externalId" if isinstance(entry, dict)
                                 else "externalId")
        except ValidationFailed as exc:
            failures.append(_failure(index, ext, exc.errors))
            continue
        wanted.setdefault(ext, index)
    conn = session.connection()
    rows = {row.external_id: row for row in conn.execute(
        sa.select(PRODUCTS.c.id, PRODUCTS.c.external_id, PRODUCTS.c.status)
        .where(PRODUCTS.c.supplier_id == supplier.id,
               among(conn, PRODUCTS.c.external_id, wanted)))}
    for ext, index in wanted.items():
        if ext not in rows:
            failures.append(_failure(index, ext, [_error(
                "externalId", f"this supplier has no product {ext!r}")]))
    ending = [row for row in rows.values() if row.status != "EOS"]
    if ending:
        conn.execute(sa.update(PRODUCTS).where(among(conn, PRODUCTS.c.id, [r.id for r in ending]))
                     .values(status="EOS", updated_at=utcnow()))
        ended = [row.external_id for row in ending]
        record(session, actor, "inventory.end_of_sale", "supplier", supplier.business_id,
               [supplier.id], externalIds=ended)
        _record_product_changes(session, actor, supplier.id, {r.id: r.external_id
                                                              for r in ending})
        expire_inventory(session)
    return sorted(failures, key=lambda f: f["index"])


def _wire_external_id(entry: Any) -> Any:
    if isinstance(entry, dict):
        product = entry.get("product")
        return product.get("externalId") if isinstance(product, dict) else None
    return entry


def _record_product_changes(session: Session, actor: Principal, supplier_id: int,
                            products: dict[int, str]) -> None:
    catalogs_by_id = {c.id: c for c in supplier_catalogs(session, supplier_id).values()}
    changes: dict[int, _CatalogChange] = defaultdict(_CatalogChange)
    rows = session.execute(sa.select(BALANCES.c.product_id, BALANCES.c.catalog_id)
                           .where(among(session.connection(), BALANCES.c.product_id, products)))
    for product_id, catalog_id in rows:
        changes[catalog_id].products.append(products[product_id])
    record_catalog_changes(session, actor, supplier_id, catalogs_by_id, changes)


# --- DELETE /inventory/balances ------------------------------------------------------------


def remove_balances(session: Session, actor: Principal, items: list[dict]) -> list[dict]:
    """Take the acting supplier's products off its catalogs (DELETE /inventory/balances).

    ``items`` are ``{productExternalId, catalogExternalId, retailerId}``. A balance that still
    holds units reserved by open orders is refused: those orders return undelivered units to it.
    Set its quantity to 0 to stop new orders, and remove it once the orders are done.
    Returns the failed items.
    """
    supplier = acting_supplier(session, actor)
    _check_size(items, "balances")
    session.flush()
    catalogs = supplier_catalogs(session, supplier.id)
    failures: list[dict[str, Any]] = []
    refs: list[tuple[int, BalanceRefIn, CatalogRef]] = []
    for index, raw in enumerate(items):
        ext = raw.get("productExternalId") if isinstance(raw, dict) else None
        try:
            ref = BalanceRefIn.model_validate(raw)
        except ValidationError as exc:
            failures.append(_failure(index, ext, _pydantic_errors(exc)))
            continue
        catalog, errors = check_catalog(catalogs, ref.catalog_external_id, ref.retailer_id, "")
        if errors:
            failures.append(_failure(index, ext, errors))
            continue
        refs.append((index, ref, catalog))
    conn = session.connection()
    found = {}
    if refs:
        found = {(row.external_id, row.catalog_id): row for row in conn.execute(
            sa.select(BALANCES.c.id, BALANCES.c.catalog_id, BALANCES.c.reserved,
                      PRODUCTS.c.external_id)
            .join(PRODUCTS, PRODUCTS.c.id == BALANCES.c.product_id)
            .where(PRODUCTS.c.supplier_id == supplier.id,
                   among(conn, PRODUCTS.c.external_id,
                         {ref.product_external_id for _, ref, _ in refs})))}
    doomed: dict[int, tuple[int, str]] = {}
    for index, ref, catalog in refs:
        row = found.get((ref.product_external_id, catalog.id))
        ext = ref.product_external_id
        if row is None:
            failures.append(_failure(index, ext, [_error(
                "productExternalId",
                f"product {ext!r} is not in catalog {catalog.external_id!r}")]))
        elif row.reserved > 0:
            failures.append(_failure(index, ext, [_error(
                "productExternalId", f"{row.reserved} units are reserved by open orders; set "
                "the quantity to 0 and remove the balance when those orders are done")]))
        else:
            doomed[row.id] = (catalog.id, ext)
    if doomed:
        conn.execute(sa.delete(BALANCES).where(among(conn, BALANCES.c.id, doomed)))
        changes: dict[int, _CatalogChange] = defaultdict(_CatalogChange)
        for catalog_id, ext in doomed.values():
            changes[catalog_id].removed.append(ext)
        record_catalog_changes(session, actor, supplier.id,
                               {c.id: c for c in catalogs.values()}, changes)
        expire_inventory(session)
    return sorted(failures, key=lambda f: f["index"])


__all__ = ["end_of_sale", "remove_balances", "upsert_inventory"]
