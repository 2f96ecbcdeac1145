"""Inventory (``/inventory``): a supplier's products and their per-catalog balances.

- ``PUT /inventory``: upsert up to 2,000 ``{product, balances}`` items. Always 200 with the
  failed items (``index`` into the request, ``externalId``, ``errors``), an empty array when all
  succeeded; the valid items are stored either way.
- ``GET /inventory/{externalId}``, ``GET /inventory?productExternalId=a,b``,
  ``GET /inventory?catalogExternalId=..[&retailerId=..]`` (paged).
- ``DELETE /inventory`` with ``[{"product": {"externalId", "status": "EOS"}}]``: end of sale.
- ``DELETE /inventory/balances`` with ``[{productExternalId, catalogExternalId, retailerId}]``.
- ``GET /inventory/balances`` (older clients) and ``POST /inventory/migrate`` (a no-op the
  WooCommerce plugin calls once).

A product whose externalId is ``balances`` or ``migrate`` is read with
``?productExternalId=`` (the fixed paths win).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field

from core import inventory as writes
from core import products
from core.errors import NotFound, ValidationFailed
from web.api import v3
from web.api.body import csv_arg, list_body, time_arg
from web.api.openapi import AFTER, PAGE, SIZE, Param, operation, query_params
from web.api.paging import Paged, envelope, keyset_envelope, page_request
from web.app import get_db
from web.auth import api_principal

INVENTORY_PAGE_SIZE = 100


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ProductOut(_Out):
    """The v3 product object (plus Glue's ``variantGroupId``, ``createdDate``,
    ``updatedDate``)."""

    externalId: str
    supplierId: str
    distributor: str | None = None
    eanCode: str | None = None
    recommendedRetailPrice: float | None = None
    currency: str
    vatPercentage: float | None = None
    unitOfMeasure: str
    status: str = Field(description="ACTIVE or EOS")
    measurements: dict[str, Any]
    isFragile: bool
    isDangerousGoods: bool
    isOversized: bool
    images: list[dict[str, Any]]
    descriptions: dict[str, Any]
    variantGroupId: str | None = None
    createdDate: str
    updatedDate: str


class BalanceOut(_Out):
    """One product in one catalog. Absent entirely when the caller may not see prices."""

    retailerId: str | None
    catalogExternalId: str
    productExternalId: str
    quantity: int
    incoming: int
    wholesalePrice: float | None = None
    currency: str
    modifiedDate: str


class InventoryItemOut(BaseModel):
    product: ProductOut
    balances: list[BalanceOut]


class ItemFailure(BaseModel):
    index: int = Field(description="Index of the item in the request array.")
    externalId: str | None
    errors: list[dict[str, Any]]


class InventoryItemIn(BaseModel):
    """``{product, balances}``; the fields are those of ProductOut and BalanceOut (camelCase,
    ``null`` for unset). Each item is checked on its own: a bad item is reported, not fatal."""

    model_config = ConfigDict(extra="allow")
    product: dict[str, Any]
    balances: list[dict[str, Any]] | None = None


class EndOfSaleIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    product: dict[str, Any] = Field(description='{"externalId": ..., "status": "EOS"}')


class BalanceRefIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    productExternalId: str
    catalogExternalId: str
    retailerId: str | None = None


@v3.put("/inventory")
@operation("Create or update products and their balances (up to 2,000)", "inventory",
           body=list[InventoryItemIn], response=list[ItemFailure], errors=(401, 403, 413))
def upsert() -> ResponseReturnValue:
    principal = api_principal()
    items = list_body("inventory items")
    with get_db().transaction() as session:
        failures = writes.upsert_inventory(session, principal, items)
    return jsonify(failures)


@v3.get("/inventory")
@operation("Products: several by externalId, or one catalog's (paged)", "inventory",
           response=Paged[InventoryItemOut], errors=(401, 404),
           query=query_params(
               Param("productExternalId", "Comma-separated product externalIds."),
               Param("catalogExternalId", "A catalog the caller sees."),
               Param("retailerId", "With catalogExternalId: the retailer's business ID."),
               PAGE, SIZE, AFTER))
def read_inventory() -> ResponseReturnValue:
    principal = api_principal()
    page = page_request(INVENTORY_PAGE_SIZE)
    ids = csv_arg("productExternalId")
    catalog = request.args.get("catalogExternalId")
    with get_db().transaction() as session:
        if ids is not None and not catalog:
            # at most 2,000 ids, read at once: a slice in memory, not a database scan
            found = products.get_inventory(session, principal, ids)
            total = len(found)
            found = found[page.offset:page.offset + page.size]
            content = [products.inventory_item_to_wire(p, b) for p, b in found]
            return jsonify(envelope(content, total, page))
        if not catalog:
            raise ValidationFailed("give productExternalId or catalogExternalId", [
                {"field": "catalogExternalId", "message": "or productExternalId is required"}])
        found, total = products.catalog_inventory(
            session, principal, catalog, retailer_id=request.args.get("retailerId"),
            page=page.number, size=page.size, after=page.after)
        last = products.catalog_inventory_key(found[-1][0]) if found else None
        read = len(found)
        if ids is not None:
            wanted = set(ids)
            found = [(p, b) for p, b in found if p.external_id in wanted]
        content = [products.inventory_item_to_wire(p, b) for p, b in found]
    return jsonify(keyset_envelope(content, total, page, last, read))


@v3.get("/inventory/<external_id>")
@operation("One product with the balances the caller sees", "inventory",
           response=InventoryItemOut)
def read_product(external_id: str) -> ResponseReturnValue:
    principal = api_principal()
    with get_db().transaction() as session:
        found = products.get_inventory(session, principal, [external_id])
        if not found:
            raise NotFound(f"no product {external_id!r}")
        # a retailer may see several suppliers' products under one id: the first one wins here;
        # GET /inventory?productExternalId= returns them all
        body = products.inventory_item_to_wire(*found[0])
    return jsonify(body)


def _eos_id(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        product = item.get("product", item)
        if isinstance(product, dict) and isinstance(product.get("externalId"), str):
            return product["externalId"]
    return ""  # refused per item by end_of_sale, with its index


@v3.delete("/inventory")
@operation("End of sale: set products to EOS (nothing is deleted)", "inventory",
           body=list[EndOfSaleIn], response=list[ItemFailure], errors=(401, 403))
def end_of_sale() -> ResponseReturnValue:
    principal = api_principal()
    ids = [_eos_id(item) for item in list_body("products")]
    with get_db().transaction() as session:
        failures = writes.end_of_sale(session, principal, ids)
    return jsonify(failures)


@v3.delete("/inventory/balances")
@operation("Take products off catalogs", "inventory", body=list[BalanceRefIn],
           response=list[ItemFailure], errors=(401, 403))
def remove_balances() -> ResponseReturnValue:
    principal = api_principal()
    items = list_body("balances")
    with get_db().transaction() as session:
        failures = writes.remove_balances(session, principal, items)
    return jsonify(failures)


@v3.get("/inventory/balances")
@operation("Balances the caller sees (older clients; same as GET /catalogs/balances)",
           "inventory", response=Paged[BalanceOut], errors=(401,),
           query=query_params(Param("modifiedFromDate", "With offset.",
                                    {"type": "string", "format": "date-time"}),
                              "productExternalId", PAGE, SIZE, AFTER))
def inventory_balances() -> ResponseReturnValue:
    principal = api_principal()
    page = page_request(INVENTORY_PAGE_SIZE)
    with get_db().transaction() as session:
        found, total = products.list_balances(
            session, principal, modified_from=time_arg("modifiedFromDate"),
            product_external_ids=csv_arg("productExternalId"), page=page.number,
            size=page.size, after=page.after)
        content = [products.balance_to_wire(b) for b in found]
        last = products.balance_key(found[-1]) if found else None
    return jsonify(keyset_envelope(content, total, page, last))


@v3.post("/inventory/migrate")
@operation("One-shot migration some clients trigger; nothing to migrate in Glue", "inventory",
           response=None, status=204, errors=(401,))
def migrate() -> ResponseReturnValue:
    api_principal()
    return "", 204
