"""The retailer's suppliers and catalogs.

- ``/retailer/suppliers``: the supplier directory: every supplier's public profile, with the
  state of the retailer's activation request for its public catalog.
- ``/retailer/suppliers/<businessId>``: one supplier's profile, its public catalog and the
  activation request (ask with a message, see the supplier's answer, ask again after a
  rejection or revocation).
- ``/retailer/catalogs``: the public catalogs and the retailer's private ones with their state,
  and the form creating a private catalog that names a supplier by business ID.
- ``/retailer/catalogs/<externalId>``: one catalog's products (keyset paged), with wholesale
  price and availability only where the retailer's access is active; a private catalog's
  lifecycle steps (take into use, deactivate, reactivate).

Every view needs the ``retailer`` permission. What the retailer sees is decided by core
(``core.catalogs``, ``core.products.catalog_inventory``): a public catalog without active
access comes back without balances, so no price or quantity can reach these pages.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core import keyset
from core.access import active_catalog_ids
from core.catalogs import (
    create_private_catalog,
    deactivate_catalog,
    get_catalog,
    list_catalogs,
    reactivate_catalog,
    request_access,
    take_into_use,
)
from core.directory import access_by_catalog, catalog_state, get_supplier, list_suppliers
from core.errors import GlueError, NotFound, ValidationFailed
from core.models import CatalogAccess
from core.products import catalog_inventory, catalog_inventory_key
from web.ui import bp
from web.ui.context import current, requires, transaction
from web.ui.forms import field_errors, refused, say
from web.ui.supplier_products import display_name

PAGE_SIZE = 50


def _access_by_catalog(s: Session) -> dict[int, CatalogAccess]:
    """The retailer's activation requests, by catalog id."""
    return access_by_catalog(s, current().principal)


# --- the supplier directory ----------------------------------------------------------------

@bp.get("/retailer/suppliers")
@requires("retailer")
def retailer_suppliers() -> Any:
    with transaction() as s:
        listed = list_suppliers(s, current().principal)
    return render_template("ui/retailer/suppliers.html", suppliers=listed)


@bp.get("/retailer/suppliers/<business_id>")
@requires("retailer")
def retailer_supplier(business_id: str) -> Any:
    with transaction() as s:
        try:
            entry = get_supplier(s, current().principal, business_id)
        except NotFound:
            abort(404)
    public = {"external_id": entry.catalog_external_id, "name": entry.catalog_name,
              "state": entry.state} if entry.catalog_external_id else None
    return render_template("ui/retailer/supplier.html", supplier=entry, catalog=public,
                           access=entry.access)


@bp.post("/retailer/suppliers/<business_id>/request")
@requires("retailer")
def retailer_request_access(business_id: str) -> Any:
    message = (request.form.get("message") or "").strip()[:2000]
    try:
        with transaction() as s:
            entry = get_supplier(s, current().principal, business_id)
            if entry.catalog_external_id is None:
                abort(404)
            request_access(s, current().principal, entry.catalog_external_id, message)
        flash(_("The activation request was sent to the supplier."), "success")
    except GlueError as exc:
        refused(exc)
    return redirect(url_for("ui.retailer_supplier", business_id=business_id))


# --- catalogs ------------------------------------------------------------------------------

def _catalog_rows(s: Session) -> list[dict[str, Any]]:
    ui = current()
    access = _access_by_catalog(s)
    active = active_catalog_ids(s, ui.organization_id)
    return [{"external_id": c.external_id, "name": c.name, "is_public": c.is_public,
             "supplier": c.supplier.name, "supplier_business_id": c.supplier.business_id,
             "state": catalog_state(c, access.get(c.id), active)}
            for c in list_catalogs(s, ui.principal, "RETAILER")
            if c.supplier_id != ui.organization_id]


@bp.get("/retailer/catalogs")
@requires("retailer")
def retailer_catalogs() -> Any:
    with transaction() as s:
        rows = _catalog_rows(s)
    return render_template("ui/retailer/catalogs.html", catalogs=rows, errors={}, form={})


@bp.post("/retailer/catalogs")
@requires("retailer")
def retailer_catalog_create() -> Any:
    """Create a private catalog naming a supplier; it starts ``created``."""
    form = {k: (request.form.get(k) or "").strip()
            for k in ("supplier_business_id", "name", "currency")}
    try:
        with transaction() as s:
            catalog = create_private_catalog(
                s, current().principal, supplier_business_id=form["supplier_business_id"],
                name=form["name"], currency=form["currency"] or "EUR")
            external_id = catalog.external_id
    except GlueError as exc:
        if isinstance(exc, NotFound):
            errors = {"supplier_business_id": _("No supplier has this business ID.")}
        elif isinstance(exc, ValidationFailed):
            errors = {_FIELDS.get(k, k): v for k, v in field_errors(exc).items()}
        else:
            errors = {"_form": say(exc.message)}
        with transaction() as s:
            rows = _catalog_rows(s)
        return render_template("ui/retailer/catalogs.html", catalogs=rows, errors=errors,
                               form=form), 400
    flash(_("The private catalog was created. Take it into use when you are ready."), "success")
    return redirect(url_for("ui.retailer_catalog", external_id=external_id))


_FIELDS = {"supplierBusinessId": "supplier_business_id", "businessId": "supplier_business_id",
           "business_id": "supplier_business_id"}


def _cursor(after: str) -> str | None:
    """The page cursor from the URL, or None (first page) when it is not one of ours."""
    if not after:
        return None
    try:
        keyset.decode(after, 1)
    except ValidationFailed:
        return None
    return after


@bp.get("/retailer/catalogs/<external_id>")
@requires("retailer")
def retailer_catalog(external_id: str) -> Any:
    ui = current()
    after = _cursor(request.args.get("after") or "")
    with transaction() as s:
        try:
            catalog = get_catalog(s, ui.principal, external_id)
            rows, total = catalog_inventory(s, ui.principal, external_id, size=PAGE_SIZE,
                                            after=after)
        except NotFound:
            abort(404)
        if catalog.supplier_id == ui.organization_id:
            abort(404)  # one's own catalog is a supplier page
        access = _access_by_catalog(s).get(catalog.id)
        state = catalog_state(catalog, access, active_catalog_ids(s, ui.organization_id))
        items = []
        for product, balances in rows:
            balance = balances[0] if balances else None
            items.append({"sku": product.external_id, "name": display_name(product.descriptions),
                          "ean": product.ean_code, "status": product.status,
                          "rrp": product.recommended_retail_price,
                          "price": balance.wholesale_price if balance else None,
                          "currency": balance.currency if balance else catalog.currency,
                          "quantity": balance.quantity if balance else None,
                          "shown": balance is not None})
        start = keyset.position(after) if after else 0
        next_url = None
        if rows and start + len(rows) < total:
            cursor = keyset.encode(catalog_inventory_key(rows[-1][0]), start + len(rows))
            next_url = url_for("ui.retailer_catalog", external_id=external_id, after=cursor)
        info = {"external_id": catalog.external_id, "name": catalog.name,
                "is_public": catalog.is_public, "state": state,
                "deactivated_by": catalog.deactivated_by,
                "supplier": catalog.supplier.name,
                "supplier_business_id": catalog.supplier.business_id}
    return render_template(
        "ui/retailer/catalog.html", catalog=info, items=items, total=total, next_url=next_url,
        first_url=url_for("ui.retailer_catalog", external_id=external_id) if after else None)


_STEPS = {"take_into_use": take_into_use, "deactivate": deactivate_catalog,
          "reactivate": reactivate_catalog}


@bp.post("/retailer/catalogs/<external_id>/state")
@requires("retailer")
def retailer_catalog_state(external_id: str) -> Any:
    """The retailer's lifecycle steps of its private catalog."""
    step = _STEPS.get(request.form.get("action", ""))
    if step is None:
        abort(400)
    ui = current()
    try:
        with transaction() as s:
            catalog = get_catalog(s, ui.principal, external_id)
            if catalog.retailer_id != ui.organization_id:
                abort(404)
            step(s, ui.principal, external_id)
        flash(_("The catalog's state was changed."), "success")
    except GlueError as exc:
        refused(exc)
    return redirect(url_for("ui.retailer_catalog", external_id=external_id))
