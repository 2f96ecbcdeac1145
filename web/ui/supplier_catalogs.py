"""The supplier's catalogs and activation requests.

- ``/supplier/catalogs``: the public catalog and the private ones, with their state, product
  count and the retailers using each (``core.catalogs.retailers_by_catalog``).
- ``/supplier/catalogs/<externalId>``: one catalog: its settings, its lifecycle step (a private
  catalog is activated by the supplier), and its products with price and quantity, where
  selected rows get a bulk price or stock edit (set, or adjust by % or by an amount).
- ``/supplier/activation-requests``: retailers' requests for the public catalog: accept or
  reject with a message; revoke an active access.

Every view needs the ``supplier`` permission and acts only on the active organization's own
catalogs: ``core.catalogs.get_catalog`` also shows a retailer other suppliers' public catalogs,
so ownership is checked here as well (another supplier's catalog is 404).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core.catalogs import (
    activate_catalog,
    deactivate_catalog,
    decide_access,
    get_catalog,
    list_access,
    list_catalogs,
    reactivate_catalog,
    retailers_by_catalog,
    revoke_access,
    update_catalog,
)
from core.errors import GlueError, NotFound, ValidationFailed
from core.inventory import remove_balances, upsert_inventory
from core.models import Balance, Catalog, Product
from web.ui import bp
from web.ui.context import current, requires, transaction
from web.ui.forms import field_errors, refused, say
from web.ui.supplier_products import capped_count, display_name

PAGE_SIZE = 100
CENT = Decimal("0.01")


def _own_catalog(s: Session, external_id: str) -> Catalog:
    ui = current()
    try:
        catalog = get_catalog(s, ui.principal, external_id)
    except NotFound:
        abort(404)
    if catalog.supplier_id != ui.organization_id:
        abort(404)
    return catalog



# --- the catalogs --------------------------------------------------------------------------

@bp.get("/supplier/catalogs")
@requires("supplier")
def supplier_catalogs() -> Any:
    ui = current()
    with transaction() as s:
        rows = list_catalogs(s, ui.principal, "SUPPLIER")
        counts = dict(s.execute(sa.select(Balance.catalog_id, sa.func.count())
                                .where(Balance.catalog_id.in_([c.id for c in rows]))
                                .group_by(Balance.catalog_id)).all())
        users = retailers_by_catalog(s, ui.principal)
        pending = len(list_access(s, ui.principal, "SUPPLIER", states=("requested",)))
        listed = [{"catalog": c, "products": counts.get(c.id, 0),
                   "retailers": [r.name for r in users.get(c.external_id, [])],
                   "retailer": c.retailer.name if c.retailer else ""} for c in rows]
    return render_template("ui/supplier/catalogs.html", catalogs=listed, pending=pending)


@bp.get("/supplier/catalogs/<external_id>")
@requires("supplier")
def supplier_catalog(external_id: str) -> Any:
    ui = current()
    q = (request.args.get("q") or "").strip()
    after = request.args.get("after") or ""
    with transaction() as s:
        catalog = _own_catalog(s, external_id)
        where = [Balance.catalog_id == catalog.id]
        if q:
            where.append(sa.or_(sa.func.lower(Product.external_id).contains(q.lower(),
                                                                          autoescape=True),
                                Product.ean_code == q))
        query = (sa.select(Balance, Product).join(Product, Product.id == Balance.product_id)
                 .where(*where))
        if after:
            query = query.where(Product.external_id > after)
        rows = s.execute(query.order_by(Product.external_id).limit(PAGE_SIZE + 1)).all()
        total = capped_count(s, sa.select(Balance.id)
                             .join(Product, Product.id == Balance.product_id).where(*where))
        retailers = retailers_by_catalog(s, ui.principal).get(catalog.external_id, [])
        items = [{"product_id": p.id, "sku": p.external_id, "name": display_name(p.descriptions),
                  "status": p.status, "price": b.wholesale_price, "currency": b.currency,
                  "quantity": b.quantity, "reserved": b.reserved, "incoming": b.incoming}
                 for b, p in rows[:PAGE_SIZE]]
        more = len(rows) > PAGE_SIZE
        return render_template(
            "ui/supplier/catalog.html", catalog=catalog, items=items, total=total, q=q,
            retailers=[r.name for r in retailers], errors={},
            next_url=url_for("ui.supplier_catalog", external_id=external_id, q=q or None,
                             after=items[-1]["sku"]) if more and items else None,
            first_url=url_for("ui.supplier_catalog", external_id=external_id, q=q or None)
            if after else None)


@bp.post("/supplier/catalogs/<external_id>/settings")
@requires("supplier")
def supplier_catalog_settings(external_id: str) -> Any:
    ui = current()
    priority = (request.form.get("priority") or "0").strip()
    try:
        with transaction() as s:
            _own_catalog(s, external_id)
            if not priority.lstrip("-").isdigit():
                raise ValidationFailed("priority", [{"field": "priority",
                                                     "message": _("Enter a whole number.")}])
            update_catalog(s, ui.principal, external_id, name=request.form.get("name", ""),
                           back_order_allowed=bool(request.form.get("back_order_allowed")),
                           priority=int(priority))
        flash(_("The catalog was saved."), "success")
    except ValidationFailed as exc:
        for message in field_errors(exc).values():
            flash(message, "error")
    except GlueError as exc:
        refused(exc)
    return redirect(url_for("ui.supplier_catalog", external_id=external_id))


_STEPS = {"activate": activate_catalog, "deactivate": deactivate_catalog,
          "reactivate": reactivate_catalog}


@bp.post("/supplier/catalogs/<external_id>/state")
@requires("supplier")
def supplier_catalog_state(external_id: str) -> Any:
    """The supplier's lifecycle steps of a private catalog."""
    step = _STEPS.get(request.form.get("action", ""))
    if step is None:
        abort(400)
    try:
        with transaction() as s:
            _own_catalog(s, external_id)
            step(s, current().principal, external_id)
        flash(_("The catalog's state was changed."), "success")
    except GlueError as exc:
        refused(exc)
    return redirect(url_for("ui.supplier_catalog", external_id=external_id))


# --- bulk price and stock edits ------------------------------------------------------------

def adjusted(old: Decimal | int | None, mode: str, value: Decimal) -> Decimal | None:
    """The new value of a price or quantity: ``set`` to ``value``, ``percent`` to change it by
    ``value`` %, ``amount`` to add ``value`` (negative lowers it). None when there is no old
    value to adjust."""
    if mode == "set":
        return value
    if old is None:
        return None
    old = Decimal(old)
    return old * (1 + value / 100) if mode == "percent" else old + value


@bp.post("/supplier/catalogs/<external_id>/bulk")
@requires("supplier")
def supplier_catalog_bulk(external_id: str) -> Any:
    """Change the price or quantity of the selected products in this catalog, or take them
    off it. Prices round to cents; a quantity rounds to a whole number and stops at 0; a
    price that would fall below 0 is refused for that row."""
    ui = current()
    ids = [int(v) for v in request.form.getlist("product") if v.isdigit()]
    target, mode = request.form.get("field", ""), request.form.get("mode", "")
    back = url_for("ui.supplier_catalog", external_id=external_id)
    if not ids:
        flash(_("Select at least one product."), "error")
        return redirect(back)
    try:
        value = Decimal((request.form.get("value") or "").strip().replace(",", "."))
    except InvalidOperation:
        value = None
    action = request.form.get("action", "edit")
    if action == "edit" and (target not in ("price", "quantity")
                             or mode not in ("set", "percent", "amount")
                             or value is None or not value.is_finite()
                             or (mode == "set" and value < 0)):
        flash(_("Choose what to change and give a number."), "error")
        return redirect(back)
    with transaction() as s:
        catalog = _own_catalog(s, external_id)
        rows = s.execute(sa.select(Balance, Product.external_id)
                         .join(Product, Product.id == Balance.product_id)
                         .where(Balance.catalog_id == catalog.id, Product.id.in_(ids))).all()
        if action == "remove":
            failures = remove_balances(s, ui.principal, [
                {"productExternalId": sku, "catalogExternalId": external_id} for _b, sku in rows])
        else:
            items, skipped = _bulk_items(rows, external_id, target, mode, value)
            failures = upsert_inventory(s, ui.principal, items) if items else []
            failures += skipped
    if failures:
        first = failures[0]["errors"][0]["message"]
        flash(_("%(n)s of %(count)s products could not be changed: %(reason)s",
                n=len(failures), count=len(rows), reason=say(first)), "error")
    else:
        flash(_("%(count)s products changed.", count=len(rows)), "success")
    return redirect(back)


def _bulk_items(rows: list[Any], external_id: str, target: str, mode: str,
                value: Decimal) -> tuple[list[dict], list[dict]]:
    items, skipped = [], []
    for balance, sku in rows:
        if target == "price":
            new = adjusted(balance.wholesale_price, mode, value)
            if new is None or new < 0:
                skipped.append({"externalId": sku, "errors": [{"field": "wholesalePrice",
                                "message": _("The price would be missing or below zero.")}]})
                continue
            change = {"wholesalePrice": str(new.quantize(CENT, ROUND_HALF_UP))}
        else:
            new = adjusted(balance.quantity, mode, value)
            change = {"quantity": max(0, int(new.quantize(Decimal(1), ROUND_HALF_UP)))}
        items.append({"product": {"externalId": sku},
                      "balances": [{"catalogExternalId": external_id, **change}]})
    return items, skipped


# --- activation requests -------------------------------------------------------------------

@bp.get("/supplier/activation-requests")
@requires("supplier")
def supplier_activation_requests() -> Any:
    ui = current()
    with transaction() as s:
        rows = list_access(s, ui.principal, "SUPPLIER")
        listed = [{"id": a.id, "retailer": a.retailer.name,
                   "business_id": a.retailer.business_id, "catalog": a.catalog.external_id,
                   "state": a.state, "request_message": a.request_message,
                   "response_message": a.response_message, "requested_at": a.requested_at,
                   "decided_at": a.decided_at} for a in rows]
    waiting = [a for a in listed if a["state"] == "requested"]
    others = [a for a in listed if a["state"] != "requested"]
    return render_template("ui/supplier/activation_requests.html", waiting=waiting,
                           others=others)


@bp.post("/supplier/activation-requests/<int:access_id>/decide")
@requires("supplier")
def supplier_activation_decide(access_id: int) -> Any:
    decision = request.form.get("decision")
    if decision not in ("accept", "reject"):
        abort(400)
    message = (request.form.get("message") or "").strip()[:2000]
    try:
        with transaction() as s:
            decide_access(s, current().principal, access_id, accept=decision == "accept",
                          message=message)
        flash(_("The request was accepted.") if decision == "accept"
              else _("The request was rejected."), "success")
    except GlueError as exc:
        refused(exc)
    return redirect(url_for("ui.supplier_activation_requests"))


@bp.post("/supplier/activation-requests/<int:access_id>/revoke")
@requires("supplier")
def supplier_activation_revoke(access_id: int) -> Any:
    message = (request.form.get("message") or "").strip()[:2000]
    try:
        with transaction() as s:
            revoke_access(s, current().principal, access_id, message=message)
        flash(_("The access was revoked."), "success")
    except GlueError as exc:
        refused(exc)
    return redirect(url_for("ui.supplier_activation_requests"))
