"""Catalogs (``/catalogs``), their balances, activation requests and the supplier directory.

v3: ``GET /catalogs?role=RETAILER|SUPPLIER``, ``GET /catalogs/balances``,
``GET /catalogs/{externalId}/balances`` (and the older ``/catalogs/{externalId}/products``).
Glue extensions: creating a private catalog, its state changes, activation requests for public
catalogs, and ``GET /suppliers``.
"""

from __future__ import annotations

from typing import Literal

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field

from core import catalogs as svc
from core import products
from core.errors import IllegalTransition, ValidationFailed
from core.models import Catalog, CatalogAccess, Organization
from core.principal import Principal
from web.api import v3
from web.api.body import csv_arg, model_body, time_arg
from web.api.inventory import BalanceOut, InventoryItemOut
from web.api.openapi import AFTER, PAGE, SIZE, Param, operation, query_params
from web.api.paging import Paged, envelope, keyset_envelope, page_request
from web.app import get_db
from web.auth import api_principal

ROLE = Param("role", "Which side's catalogs: RETAILER (default for a retailer) or SUPPLIER.",
             {"type": "string", "enum": ["RETAILER", "SUPPLIER"]})


class CatalogOut(BaseModel):
    """A catalog as v3 clients read it, plus Glue's ``state``, ``currency`` and, for a
    retailer, ``accessState`` (its activation request to a public catalog)."""

    externalId: str
    catalogType: str
    catalogName: str
    supplierId: str = Field(description="The supplier's business ID.")
    supplierName: str
    retailerId: str | None = Field(description="The retailer's business ID; null when public.")
    backOrderAllowed: bool
    priority: int
    routeWeight: int
    public: bool
    currency: str
    state: str = Field(description="Private: created, in_use, active or inactive -- the "
                                   "values PATCH sets. Public: active.")
    accessState: str | None = Field(default=None, description="Retailer view of a public "
                                    "catalog: requested, active, rejected, revoked or null.")


class CatalogCreateIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    catalogName: str = Field(min_length=1, max_length=200)
    supplierId: str = Field(min_length=1, max_length=40, description="Supplier business ID.")
    currency: str = "EUR"
    externalId: str | None = None
    backOrderAllowed: bool = False
    priority: int = 0


class CatalogStateIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    state: Literal["in_use", "active", "inactive"]


class ActivationRequestIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    message: str | None = Field(default=None, max_length=2000)


class ActivationDecisionIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    state: Literal["active", "rejected", "revoked"]
    message: str | None = Field(default=None, max_length=2000)


class ActivationRequestOut(BaseModel):
    id: int
    state: str
    catalogExternalId: str
    supplierId: str
    supplierName: str
    retailerId: str
    retailerName: str
    requestMessage: str
    responseMessage: str
    requestedDate: str
    decidedDate: str | None


class SupplierOut(BaseModel):
    businessId: str
    name: str
    description: str
    website: str
    shipsTo: list[str]
    country: str
    catalogExternalId: str | None = Field(description="The supplier's public catalog.")


# The wire speaks the PATCH vocabulary: a client that sets "inactive" reads "inactive" back.
WIRE_STATES = {"deactivated": "inactive"}


def catalog_to_wire(catalog: Catalog, access_state: str | None = None) -> dict:
    return {"externalId": catalog.external_id, "catalogType": catalog.catalog_type,
            "catalogName": catalog.name, "supplierId": catalog.supplier.business_id,
            "supplierName": catalog.supplier.name,
            "retailerId": catalog.retailer.business_id if catalog.retailer else None,
            "backOrderAllowed": catalog.back_order_allowed, "priority": catalog.priority,
            "routeWeight": catalog.route_weight, "public": catalog.is_public,
            "currency": catalog.currency,
            "state": WIRE_STATES.get(catalog.state, catalog.state),
            "accessState": access_state}


def access_to_wire(access: CatalogAccess) -> dict:
    catalog = access.catalog
    return {"id": access.id, "state": access.state,
            "catalogExternalId": catalog.external_id,
            "supplierId": catalog.supplier.business_id, "supplierName": catalog.supplier.name,
            "retailerId": access.retailer.business_id, "retailerName": access.retailer.name,
            "requestMessage": access.request_message or "",
            "responseMessage": access.response_message or "",
            "requestedDate": access.requested_at.isoformat(),
            "decidedDate": access.decided_at.isoformat() if access.decided_at else None}


def _role(principal: Principal) -> str:
    role = request.args.get("role")
    if role:
        return role.upper()
    return "RETAILER" if principal.can("retailer") else "SUPPLIER"


@v3.get("/catalogs")
@operation("Catalogs visible to the caller in one role", "catalogs",
           response=Paged[CatalogOut], query=(ROLE, PAGE, SIZE))
def list_catalogs() -> ResponseReturnValue:
    principal = api_principal()
    page = page_request()
    role = _role(principal)
    with get_db().transaction() as session:
        found = svc.list_catalogs(session, principal, role)
        access = {}
        if role == "RETAILER":
            access = {a.catalog_id: a.state for a in svc.list_access(session, principal, role)}
        content = [catalog_to_wire(c, access.get(c.id) if c.is_public else None)
                   for c in found[page.offset:page.offset + page.size]]
    return jsonify(envelope(content, len(found), page))


@v3.post("/catalogs")
@operation("Create a private catalog naming a supplier (retailer)", "catalogs",
           body=CatalogCreateIn, response=CatalogOut, status=201, extension=True,
           errors=(401, 403, 404, 409))
def create_catalog() -> ResponseReturnValue:
    principal = api_principal()
    data = model_body(CatalogCreateIn)
    with get_db().transaction() as session:
        catalog = svc.create_private_catalog(
            session, principal, supplier_business_id=data.supplierId, name=data.catalogName,
            external_id=data.externalId, currency=data.currency,
            back_order_allowed=data.backOrderAllowed, priority=data.priority)
        body = catalog_to_wire(catalog)
    return jsonify(body), 201


@v3.patch("/catalogs/<external_id>")
@operation("Change a private catalog's state", "catalogs", body=CatalogStateIn,
           response=CatalogOut, extension=True, errors=(401, 403, 404, 409),
           description="`in_use`: the retailer takes the catalog into use. `active`: the "
                       "supplier activates a catalog in use, or either side lifts its own "
                       "deactivation. `inactive`: either side deactivates an active catalog.")
def change_catalog_state(external_id: str) -> ResponseReturnValue:
    principal = api_principal()
    wanted = model_body(CatalogStateIn).state
    with get_db().transaction() as session:
        catalog = svc.get_catalog(session, principal, external_id)
        if wanted == "in_use":
            catalog = svc.take_into_use(session, principal, external_id)
        elif wanted == "inactive":
            catalog = svc.deactivate_catalog(session, principal, external_id)
        elif catalog.state == "deactivated":
            catalog = svc.reactivate_catalog(session, principal, external_id)
        elif catalog.state == "in_use":
            catalog = svc.activate_catalog(session, principal, external_id)
        else:
            raise IllegalTransition(f"catalog {external_id} is {catalog.state}")
        body = catalog_to_wire(catalog)
    return jsonify(body)


BALANCE_QUERY = query_params(
    Param("modifiedFromDate", "Only balances modified at or after this time (with offset).",
          {"type": "string", "format": "date-time"}),
    Param("productExternalId", "Comma-separated product externalIds."), PAGE, SIZE, AFTER)


def _balances(catalog_external_id: str | None) -> ResponseReturnValue:
    principal = api_principal()
    page = page_request()
    with get_db().transaction() as session:
        found, total = products.list_balances(
            session, principal, catalog_external_id=catalog_external_id,
            modified_from=time_arg("modifiedFromDate"),
            product_external_ids=csv_arg("productExternalId"), page=page.number,
            size=page.size, after=page.after)
        content = [products.balance_to_wire(b) for b in found]
        last = products.balance_key(found[-1]) if found else None
    return jsonify(keyset_envelope(content, total, page, last))


@v3.get("/catalogs/balances")
@operation("Balances across the caller's catalogs", "catalogs", response=Paged[BalanceOut],
           query=BALANCE_QUERY, errors=(401,))
def all_balances() -> ResponseReturnValue:
    return _balances(None)


@v3.get("/catalogs/<external_id>/balances")
@operation("Balances of one catalog", "catalogs", response=Paged[BalanceOut],
           query=BALANCE_QUERY, errors=(401, 403, 404))
def catalog_balances(external_id: str) -> ResponseReturnValue:
    return _balances(external_id)


@v3.get("/catalogs/<external_id>/products")
@operation("Products of a catalog (older clients; same as GET /inventory?catalogExternalId)",
           "catalogs", response=Paged[InventoryItemOut], query=(PAGE, SIZE, AFTER))
def catalog_products(external_id: str) -> ResponseReturnValue:
    principal = api_principal()
    page = page_request()
    with get_db().transaction() as session:
        rows, total = products.catalog_inventory(session, principal, external_id,
                                                 page=page.number, size=page.size,
                                                 after=page.after)
        content = [products.inventory_item_to_wire(p, b) for p, b in rows]
        last = products.catalog_inventory_key(rows[-1][0]) if rows else None
    return jsonify(keyset_envelope(content, total, page, last))


# --- activation requests -------------------------------------------------------------------

@v3.post("/catalogs/<external_id>/activation-requests")
@operation("Ask for access to a supplier's public catalog (retailer)", "activation requests",
           body=ActivationRequestIn, response=ActivationRequestOut, status=201,
           extension=True, errors=(401, 403, 404, 409))
def request_activation(external_id: str) -> ResponseReturnValue:
    principal = api_principal()
    data = model_body(ActivationRequestIn)
    with get_db().transaction() as session:
        access = svc.request_access(session, principal, external_id, data.message or "")
        body = access_to_wire(access)
    return jsonify(body), 201


@v3.get("/activation-requests")
@operation("Activation requests: to the caller's catalogs (SUPPLIER) or its own (RETAILER)",
           "activation requests", response=Paged[ActivationRequestOut], extension=True,
           query=(ROLE, Param("state", "Comma-separated: requested, active, rejected, "
                              "revoked."), PAGE, SIZE), errors=(401, 403))
def list_activation_requests() -> ResponseReturnValue:
    principal = api_principal()
    page = page_request()
    states = csv_arg("state")
    if states and not set(states) <= {"requested", "active", "rejected", "revoked"}:
        raise ValidationFailed("unknown state", [{"field": "state", "message": "unknown"}])
    role = request.args.get("role") or ("SUPPLIER" if principal.can("supplier") else "RETAILER")
    with get_db().transaction() as session:
        found = svc.list_access(session, principal, role, states=tuple(states or ()) or None)
        content = [access_to_wire(a) for a in found[page.offset:page.offset + page.size]]
    return jsonify(envelope(content, len(found), page))


@v3.patch("/activation-requests/<int:request_id>")
@operation("Accept, reject or revoke an activation request (supplier)",
           "activation requests", body=ActivationDecisionIn, response=ActivationRequestOut,
           extension=True, errors=(401, 403, 404, 409))
def decide_activation(request_id: int) -> ResponseReturnValue:
    principal = api_principal()
    data = model_body(ActivationDecisionIn)
    message = data.message or ""
    with get_db().transaction() as session:
        if data.state == "revoked":
            access = svc.revoke_access(session, principal, request_id, message=message)
        else:
            access = svc.decide_access(session, principal, request_id,
                                       accept=data.state == "active", message=message)
        body = access_to_wire(access)
    return jsonify(body)


# --- supplier directory --------------------------------------------------------------------

@v3.get("/suppliers")
@operation("Supplier directory: public profiles and public catalogs", "catalogs",
           response=Paged[SupplierOut], query=(PAGE, SIZE), extension=True, errors=(401,))
def suppliers() -> ResponseReturnValue:
    api_principal()  # any authenticated organization may read the public profiles
    page = page_request()
    with get_db().transaction() as session:
        query = session.query(Organization).filter(Organization.is_supplier.is_(True))
        total = query.count()
        orgs = query.order_by(Organization.name, Organization.id) \
            .offset(page.offset).limit(page.size).all()
        public = dict(session.query(Catalog.supplier_id, Catalog.external_id).filter(
            Catalog.is_public.is_(True), Catalog.supplier_id.in_([o.id for o in orgs])).all())
        content = [{"businessId": o.business_id, "name": o.name,
                    "description": o.description or "", "website": o.website or "",
                    "shipsTo": list(o.ships_to or []), "country": o.country,
                    "catalogExternalId": public.get(o.id)} for o in orgs]
    return jsonify(envelope(content, total, page))
