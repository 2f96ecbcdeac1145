"""The supplier's products: the list (search, filters, keyset paging, bulk actions), the CSV
export, and one product's page (edit its data, publish it into catalogs).

Every view needs the ``supplier`` permission and reads only the active organization's products
(``Product.supplier_id == current().organization_id``); a product id of another supplier is
404. Writes go through ``core.inventory`` (``upsert_inventory``, ``end_of_sale``,
``remove_balances``), which checks the actor again and records the events.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core.errors import GlueError
from core.inventory import end_of_sale, remove_balances, supplier_catalogs, upsert_inventory
from core.models import Balance, Catalog, Product
from core.product_files import LANGUAGES, MEASUREMENTS, set_options
from core.products import product_to_wire
from web.ui import bp
from web.ui.context import current, requires, transaction
from web.ui.forms import say

PAGE_SIZE = 50
COUNT_CAP = 10_000  # counting every match of a broad filter costs more than the page itself
EXPORT_BATCH = 2000
STATUSES = ("ACTIVE", "EOS")


# --- the list ------------------------------------------------------------------------------

def product_filters(org_id: int, args: Any) -> tuple[list[sa.ColumnElement[bool]], dict]:
    """The WHERE conditions of the list and the export, from the query string: ``q`` (SKU,
    EAN or name), ``status``, ``catalog`` (externalId of one of the supplier's catalogs) and
    ``group`` (variant group id)."""
    given = {k: (args.get(k) or "").strip() for k in ("q", "status", "catalog", "group")}
    where: list[sa.ColumnElement[bool]] = [Product.supplier_id == org_id]
    if given["q"]:
        needle = given["q"].lower()
        # One scan of the texts as JSON text (faster than reading three JSON paths per row on
        # both databases). SQLite keeps non-ASCII letters \u-escaped, PostgreSQL (jsonb) not.
        texts = sa.func.lower(sa.cast(Product.descriptions, sa.Text))
        found = [sa.func.lower(Product.external_id).contains(needle, autoescape=True),
                 Product.ean_code == given["q"], texts.contains(needle, autoescape=True)]
        escaped = json.dumps(needle)[1:-1]
        if escaped != needle:
            found.append(texts.contains(escaped, autoescape=True))
        where.append(sa.or_(*found))
    if given["status"] in STATUSES:
        where.append(Product.status == given["status"])
    if given["group"]:
        where.append(Product.variant_group_id == given["group"])
    if given["catalog"]:
        where.append(Product.id.in_(
            sa.select(Balance.product_id).join(Catalog, Catalog.id == Balance.catalog_id)
            .where(Catalog.external_id == given["catalog"], Catalog.supplier_id == org_id)))
    return where, given


def capped_count(s: Session, query: sa.Select) -> str:
    """How many rows ``query`` has, as text: exact up to COUNT_CAP, else "10000+"."""
    n = s.scalar(sa.select(sa.func.count()).select_from(query.limit(COUNT_CAP + 1).subquery()))
    return f"{COUNT_CAP}+" if n > COUNT_CAP else str(n)


def display_name(descriptions: dict[str, Any] | None) -> str:
    """The product's name in the UI's language, else in the first language that has one."""
    texts = descriptions or {}
    lang = str(get_locale() or "fi")
    for code in (lang, "fi", "en", "sv", *texts):
        name = (texts.get(code) or {}).get("name")
        if name:
            return name
    return ""


@bp.get("/supplier/products")
@requires("supplier")
def supplier_products() -> Any:
    org_id = current().organization_id
    where, given = product_filters(org_id, request.args)
    after, before = request.args.get("after"), request.args.get("before")
    query = sa.select(Product.id, Product.external_id, Product.ean_code, Product.status,
                      Product.variant_group_id, Product.descriptions).where(*where)
    with transaction() as s:
        if before:
            rows = s.execute(query.where(Product.external_id < before)
                             .order_by(Product.external_id.desc()).limit(PAGE_SIZE + 1)).all()
            more_before, rows = len(rows) > PAGE_SIZE, list(reversed(rows[:PAGE_SIZE]))
            more_after = True
        else:
            if after:
                query = query.where(Product.external_id > after)
            rows = s.execute(query.order_by(Product.external_id).limit(PAGE_SIZE + 1)).all()
            more_after, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
            more_before = bool(after)
        in_catalogs = dict(s.execute(
            sa.select(Balance.product_id, sa.func.count()).where(
                Balance.product_id.in_([r.id for r in rows])).group_by(Balance.product_id)).all())
        total = _total(s, where, len(rows), first=not (after or before), more=more_after,
                       searching=bool(given["q"]))
        catalogs = sorted(supplier_catalogs(s, org_id).values(),
                          key=lambda c: (not c.is_public, c.external_id))
    items = [{"id": r.id, "sku": r.external_id, "ean": r.ean_code, "status": r.status,
              "group": r.variant_group_id, "name": display_name(r.descriptions),
              "catalogs": in_catalogs.get(r.id, 0)} for r in rows]
    filters = {k: v for k, v in given.items() if v}
    return render_template(
        "ui/supplier/products.html", items=items, total=total, filters=filters, given=given,
        catalogs=catalogs, statuses=STATUSES,
        next_url=url_for("ui.supplier_products", **filters, after=items[-1]["sku"])
        if more_after and items else None,
        prev_url=url_for("ui.supplier_products", **filters, before=items[0]["sku"])
        if more_before and items else None)


def _total(s: Session, where: list[sa.ColumnElement[bool]], shown: int, *, first: bool,
           more: bool, searching: bool) -> str | None:
    """The count shown above the list. A first page that is not full holds every match. A
    text search is not counted beyond the page: counting scans every product's texts again,
    which at 100,000 products costs more than the page itself."""
    if first and not more:
        return str(shown)
    if searching:
        return f"{shown}+" if first else None
    return capped_count(s, sa.select(Product.id).where(*where))


@bp.post("/supplier/products/bulk")
@requires("supplier")
def supplier_products_bulk() -> Any:
    """Act on the selected rows: publish into a catalog with a price and quantity, end the
    sale, or make them active again."""
    ui = current()
    ids = [int(v) for v in request.form.getlist("product") if v.isdigit()]
    action = request.form.get("action", "")
    back = url_for("ui.supplier_products", **{k: v for k, v in request.form.items()
                                     if k in ("q", "status", "catalog", "group") and v})
    if not ids:
        flash(_("Select at least one product."), "error")
        return redirect(back)
    try:
        with transaction() as s:
            skus = list(s.scalars(sa.select(Product.external_id).where(
                Product.id.in_(ids), Product.supplier_id == ui.organization_id)))
            if action == "eos":
                failures = end_of_sale(s, ui.principal, skus)
            elif action == "activate":
                failures = upsert_inventory(s, ui.principal, [
                    {"product": {"externalId": sku, "status": "ACTIVE"}} for sku in skus])
            elif action == "publish":
                balance = _balance_form(request.form)
                if balance is None:
                    flash(_("Give a valid price and quantity."), "error")
                    return redirect(back)
                failures = upsert_inventory(s, ui.principal, [
                    {"product": {"externalId": sku}, "balances": [balance]} for sku in skus])
            else:
                abort(400)
    except GlueError as exc:
        flash(say(exc.message), "error")
        return redirect(back)
    _report(len(skus), failures)
    return redirect(back)


def _balance_form(form: Any) -> dict[str, Any] | None:
    """A balance {catalogExternalId, wholesalePrice, quantity} from a publish form, or None."""
    catalog = form.get("target_catalog", "")
    price = parse_decimal(form.get("price", ""))
    quantity = (form.get("quantity") or "").strip()
    if not catalog or price is None or not quantity.isdigit():
        return None
    return {"catalogExternalId": catalog, "wholesalePrice": str(price),
            "quantity": int(quantity)}


def parse_decimal(value: str) -> Decimal | None:
    """A non-negative amount typed by a person (``12,50`` or ``12.50``), or None."""
    text = (value or "").strip().replace(",", ".").replace(" ", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def _report(count: int, failures: list[dict]) -> None:
    if failures:
        first = failures[0]["errors"][0]["message"] if failures[0].get("errors") else ""
        flash(_("%(n)s of %(count)s products could not be changed: %(reason)s",
                n=len(failures), count=count, reason=say(first)), "error")
    else:
        flash(_("%(count)s products changed.", count=count), "success")


# --- export --------------------------------------------------------------------------------

EXPORT_COLUMNS = ("externalId", "eanCode", "status", "variantGroupId", *(
    f"name.{lang}" for lang in LANGUAGES), "recommendedRetailPrice", "currency",
    "vatPercentage", "unitOfMeasure", *MEASUREMENTS, "images")


@bp.get("/supplier/products.csv")
@requires("supplier")
def supplier_products_export() -> Any:
    """The filtered products as CSV (UTF-8 with BOM so that spreadsheets read ä and ö), in
    the column names the import recognises, so an export can be edited and imported back."""
    where, _given = product_filters(current().organization_id, request.args)
    return Response(stream_with_context(_export_rows(where)), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="products.csv"'})


def _export_rows(where: list[sa.ColumnElement[bool]]) -> Iterator[str]:
    # Read everything first in batches (keyset) inside one short transaction per batch, so a
    # slow download holds no transaction open.
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    last = ""
    while True:
        with transaction() as s:
            batch = list(s.scalars(sa.select(Product).where(*where, Product.external_id > last)
                                   .order_by(Product.external_id).limit(EXPORT_BATCH)))
        if not batch:
            return
        buffer.seek(0)
        buffer.truncate()
        for product in batch:
            writer.writerow(_export_row(product))
        yield buffer.getvalue()
        last = batch[-1].external_id


def _export_row(p: Product) -> list[Any]:
    texts = p.descriptions or {}
    measures = p.measurements or {}
    return [p.external_id, p.ean_code or "", p.status, p.variant_group_id or "",
            *((texts.get(lang) or {}).get("name", "") for lang in LANGUAGES),
            "" if p.recommended_retail_price is None else p.recommended_retail_price,
            p.currency, "" if p.vat_percentage is None else p.vat_percentage, p.unit_of_measure,
            *(measures.get(m, "") for m in MEASUREMENTS),
            " ".join(i.get("url", "") for i in p.images or [])]


# --- one product ---------------------------------------------------------------------------

def _product(s: Session, product_id: int) -> Product:
    product = s.scalar(sa.select(Product).where(
        Product.id == product_id, Product.supplier_id == current().organization_id))
    if product is None:
        abort(404)
    return product


@bp.route("/supplier/products/<int:product_id>", methods=["GET", "POST"])
@requires("supplier")
def supplier_product(product_id: int) -> Any:
    ui = current()
    errors: dict[str, str] = {}
    form: dict[str, str] | None = None
    with transaction() as s:
        product = _product(s, product_id)
        if request.method == "POST":
            form = request.form.to_dict()
            wire, errors = product_from_form(product_to_wire(product), request.form)
            if not errors:
                failures = upsert_inventory(s, ui.principal, [{"product": wire}])
                errors = _form_errors(failures)
            if not errors:
                flash(_("The product was saved."), "success")
                return redirect(url_for("ui.supplier_product", product_id=product_id))
        context = _detail_context(s, product)
    return render_template("ui/supplier/product.html", **context, errors=errors,
                           form=form or product_form_values(context["wire"])), (
        422 if errors else 200)


def _detail_context(s: Session, product: Product) -> dict[str, Any]:
    rows = s.execute(sa.select(Balance, Catalog).join(Catalog, Catalog.id == Balance.catalog_id)
                     .where(Balance.product_id == product.id)
                     .order_by(Catalog.is_public.desc(), Catalog.external_id)).all()
    published = {c.external_id for _b, c in rows}
    catalogs = sorted(supplier_catalogs(s, product.supplier_id).values(),
                      key=lambda c: (not c.is_public, c.external_id))
    return {"product": product, "wire": product_to_wire(product),
            "balances": [{"catalog": c, "balance": b} for b, c in rows],
            "unpublished": [c for c in catalogs if c.external_id not in published],
            "name": display_name(product.descriptions), "languages": LANGUAGES,
            "measurements": MEASUREMENTS}


def product_form_values(wire: dict[str, Any]) -> dict[str, str]:
    """The edit form's field values for a stored product (v3 wire shape)."""
    values = {"eanCode": wire["eanCode"] or "", "status": wire["status"],
              "variantGroupId": wire["variantGroupId"] or "",
              "recommendedRetailPrice": _plain(wire["recommendedRetailPrice"]),
              "vatPercentage": _plain(wire["vatPercentage"]),
              "unitOfMeasure": wire["unitOfMeasure"] or "", "currency": wire["currency"] or "",
              "images": "\n".join(i.get("url", "") for i in wire["images"])}
    for m in MEASUREMENTS:
        values[m] = _plain(wire["measurements"].get(m))
    for lang in LANGUAGES:
        text = wire["descriptions"].get(lang) or {}
        for key in ("name", "shortDescription", "description"):
            values[f"{lang}.{key}"] = text.get(key) or ""
        options = next((sp for sp in text.get("specifications") or []
                        if sp.get("type") == "Options"), {})
        values[f"{lang}.options"] = "\n".join(
            f"{p.get('name', '')}: {p.get('value', '')}" for p in options.get("properties") or [])
    return values


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


def product_from_form(wire: dict[str, Any], form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The v3 product a submitted edit form asks for, built on the stored one so that what the
    form does not show (other specifications, attachments) is kept; and the form's own errors.
    An emptied field clears the value where the v3 PUT can clear it (EAN, texts, images,
    measurements, options); a variant group, price or VAT cannot be cleared this way."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {"externalId": wire["externalId"]}
    out["eanCode"] = form.get("eanCode", "").strip()
    if form.get("status") in STATUSES:
        out["status"] = form["status"]
    for key in ("variantGroupId", "unitOfMeasure", "currency"):
        value = form.get(key, "").strip()
        if value:
            out[key] = value.upper() if key != "variantGroupId" else value
        elif wire.get(key) and key == "variantGroupId":
            errors[key] = _("A variant group cannot be removed, only changed.")
    for key in ("recommendedRetailPrice", "vatPercentage"):
        value = form.get(key, "").strip()
        if value:
            number = parse_decimal(value)
            if number is None:
                errors[key] = _("Enter a number, such as 12.50.")
            else:
                out[key] = str(number)
    measures = {}
    for m in MEASUREMENTS:
        value = form.get(m, "").strip()
        if value:
            number = parse_decimal(value)
            if number is None:
                errors[m] = _("Enter a number, such as 12.50.")
            else:
                measures[m] = str(number)
    out["measurements"] = measures
    out["images"] = [{"url": u} for u in re.split(r"\s+", form.get("images", "")) if u]
    out["descriptions"] = _descriptions_from_form(wire["descriptions"], form, errors)
    return out, errors


def _descriptions_from_form(stored: dict[str, Any], form: Any,
                            errors: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for lang in sorted({*LANGUAGES, *stored}):
        text = dict(stored.get(lang) or {})
        if lang in LANGUAGES:
            for key in ("name", "shortDescription", "description"):
                value = form.get(f"{lang}.{key}", "").strip()
                if value:
                    text[key] = value
                else:
                    text.pop(key, None)
            options = []
            for line in form.get(f"{lang}.options", "").splitlines():
                if not line.strip():
                    continue
                name, sep, value = line.partition(":")
                if not sep or not name.strip():
                    errors[f"{lang}.options"] = _("Write one option per line as name: value.")
                    break
                options.append((name.strip(), value.strip()))
            others = [sp for sp in text.get("specifications") or [] if sp.get("type") != "Options"]
            text["specifications"] = others + (set_options([], options) if options else [])
            if not text["specifications"]:
                text.pop("specifications")
        if text:
            result[lang] = text
    return result


def _form_errors(failures: list[dict]) -> dict[str, str]:
    """upsert_inventory's errors under the edit form's field names."""
    errors: dict[str, str] = {}
    for failure in failures:
        for error in failure.get("errors", []):
            path = re.sub(r"^product\.", "", str(error.get("field", "")))
            path = re.sub(r"\[\d+\].*$", "", path)
            path = re.sub(r"^descriptions\.(\w+)\.specifications.*$", r"\1.options", path)
            path = re.sub(r"^(descriptions|measurements)\.", "", path)
            errors.setdefault(path or "_form", say(str(error.get("message", ""))))
    return errors


@bp.post("/supplier/products/<int:product_id>/balances")
@requires("supplier")
def supplier_product_publish(product_id: int) -> Any:
    """Publish the product into a catalog, or change its price and quantity there."""
    ui = current()
    with transaction() as s:
        sku = _product(s, product_id).external_id
        balance = _balance_form(request.form)
        if balance is None:
            flash(_("Give a valid price and quantity."), "error")
        else:
            failures = upsert_inventory(s, ui.principal,
                                        [{"product": {"externalId": sku}, "balances": [balance]}])
            _report(1, failures) if failures else flash(_("Saved."), "success")
    return redirect(url_for("ui.supplier_product", product_id=product_id) + "#catalogs")


@bp.post("/supplier/products/<int:product_id>/balances/remove")
@requires("supplier")
def supplier_product_unpublish(product_id: int) -> Any:
    """Take the product off one catalog."""
    ui = current()
    with transaction() as s:
        sku = _product(s, product_id).external_id
        failures = remove_balances(s, ui.principal, [{
            "productExternalId": sku, "catalogExternalId": request.form.get("catalog", "")}])
        _report(1, failures) if failures else flash(
            _("The product was taken off the catalog."), "success")
    return redirect(url_for("ui.supplier_product", product_id=product_id) + "#catalogs")
