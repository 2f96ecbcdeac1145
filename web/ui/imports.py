"""Importing products from a CSV or XLSX file: upload, column mapping, dry run, import.

The steps, each a page:

1. ``POST /supplier/imports``: the file is read (``core.product_files.read_table``) and stored
   with a guessed mapping in a ``ProductImport`` row.
2. ``/supplier/imports/<id>``: the user checks the mapping of every column and picks the catalog
   that prices and quantities go into.
3. ``/supplier/imports/<id>/preview``: the dry run: new / changed / unchanged / error per row,
   computed by reading only.
4. ``POST .../start`` then ``POST .../step`` until done: each step writes the next
   :data:`BATCH` rows through ``core.inventory.upsert_inventory`` in its own transaction and
   moves ``processed`` on. The progress page drives the steps (its script posts the next step
   as soon as one answers; without scripts a button does), so an import of any size is a series
   of short requests that any web process can serve, and an interrupted import continues where
   it stopped when the page is opened again.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session, defer

from core.db import utcnow
from core.errors import GlueError
from core.inventory import supplier_catalogs, upsert_inventory
from core.product_files import (
    IGNORE,
    MAX_ERRORS_PER_VIEW,
    OPTION,
    TARGETS,
    FileUnreadable,
    compare,
    guess_mapping,
    mapping_errors,
    read_table,
    summary,
)
from core.products import MAX_ITEMS
from web.ui import bp
from web.ui.context import current, requires, transaction
from web.ui.forms import say
from web.ui.import_models import ProductImport

BATCH = MAX_ITEMS  # 2,000 rows per step: the most one upsert_inventory call takes
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_STORED_ERRORS = 1000
PREVIEW_ROWS = 200


def _job(s: Session, import_id: int, *, lock: bool = False,
         with_rows: bool = True) -> ProductImport:
    """The current organization's import, or 404 (another organization's too)."""
    query = sa.select(ProductImport).where(
        ProductImport.id == import_id, ProductImport.organization_id == current().organization_id)
    if not with_rows:
        query = query.options(defer(ProductImport.rows))
    if lock:
        query = query.with_for_update()
    job = s.scalar(query)
    if job is None:
        abort(404)
    return job


def _catalogs(s: Session) -> dict[str, Any]:
    return supplier_catalogs(s, current().organization_id)


def _catalog_ref(s: Session, external_id: str | None) -> tuple[int, str] | None:
    catalog = _catalogs(s).get(external_id or "")
    return (catalog.id, catalog.external_id) if catalog else None


# --- upload --------------------------------------------------------------------------------

@bp.route("/supplier/imports", methods=["GET", "POST"])
@requires("supplier")
def supplier_imports() -> Any:
    ui = current()
    error = ""
    if request.method == "POST":
        upload = request.files.get("file")
        data = upload.read(MAX_FILE_BYTES + 1) if upload else b""
        if not upload or not upload.filename or not data:
            error = _("Choose a CSV or XLSX file.")
        elif len(data) > MAX_FILE_BYTES:
            error = _("The file is too large (at most 50 MB).")
        else:
            try:
                header, rows = read_table(data, upload.filename)
            except FileUnreadable:
                error = _("The file could not be read. Save it as CSV (UTF-8) or XLSX.")
            else:
                with transaction() as s:
                    public = next((c.external_id for c in _catalogs(s).values()
                                   if c.is_public), None)
                    job = ProductImport(organization_id=ui.organization_id,
                                        user_id=ui.user_id, filename=upload.filename[:300],
                                        header=header, rows=rows, total=len(rows),
                                        mapping=guess_mapping(header),
                                        catalog_external_id=public)
                    s.add(job)
                    s.flush()
                    job_id = job.id
                return redirect(url_for("ui.supplier_import", import_id=job_id))
    with transaction() as s:
        recent = list(s.scalars(sa.select(ProductImport).options(defer(ProductImport.rows))
                                .where(ProductImport.organization_id == ui.organization_id)
                                .order_by(ProductImport.id.desc()).limit(20)))
    return render_template("ui/supplier/imports.html", recent=recent, error=error), (
        422 if error else 200)


# --- mapping -------------------------------------------------------------------------------

@bp.route("/supplier/imports/<int:import_id>", methods=["GET", "POST"])
@requires("supplier")
def supplier_import(import_id: int) -> Any:
    problems: list[str] = []
    with transaction() as s:
        job = _job(s, import_id)
        if job.state != "mapping":
            return redirect(url_for("ui.supplier_import_progress", import_id=import_id))
        catalogs = sorted(_catalogs(s).values(), key=lambda c: (not c.is_public, c.external_id))
        if request.method == "POST":
            mapping = {str(i): _target(request.form.get(f"col_{i}", IGNORE))
                       for i in range(len(job.header))}
            catalog = request.form.get("catalog", "")
            problems = mapping_errors(mapping)
            job.mapping = mapping
            job.catalog_external_id = catalog if any(
                c.external_id == catalog for c in catalogs) else None
            if not problems:
                return redirect(url_for("ui.supplier_import_preview", import_id=import_id))
        samples = [[row[i] for row in job.rows[:3]] for i in range(len(job.header))]
        return render_template("ui/supplier/import_mapping.html", job=job, samples=samples,
                               targets=TARGETS, catalogs=catalogs, problems=problems,
                               option=OPTION), (422 if problems else 200)


def _target(value: str) -> str:
    return value if value in TARGETS else IGNORE


# --- dry run -------------------------------------------------------------------------------

@bp.get("/supplier/imports/<int:import_id>/preview")
@requires("supplier")
def supplier_import_preview(import_id: int) -> Any:
    ui = current()
    with transaction() as s:
        job = _job(s, import_id)
        if job.state != "mapping":
            return redirect(url_for("ui.supplier_import_progress", import_id=import_id))
        if mapping_errors(job.mapping):
            return redirect(url_for("ui.supplier_import", import_id=import_id))
        catalog = _catalog_ref(s, job.catalog_external_id)
        counts = {"new": 0, "changed": 0, "unchanged": 0, "error": 0}
        shown, errors, seen = [], [], set()
        for start in range(0, len(job.rows), BATCH):
            outcomes = compare(s, ui.organization_id, job.header, job.rows[start:start + BATCH],
                               job.mapping, catalog, first_row=start, seen=seen)
            for key, n in summary(outcomes).items():
                counts[key] += n
            room = PREVIEW_ROWS - len(shown)
            shown += outcomes[:max(room, 0)]
            errors += [o for o in outcomes if o.status == "error"][
                :MAX_ERRORS_PER_VIEW - len(errors)]
    return render_template("ui/supplier/import_preview.html", job=job, counts=counts,
                           rows=shown, errors=errors, catalog=catalog)


# --- the real import -----------------------------------------------------------------------

@bp.post("/supplier/imports/<int:import_id>/start")
@requires("supplier")
def supplier_import_start(import_id: int) -> Any:
    with transaction() as s:
        job = _job(s, import_id, lock=True, with_rows=False)
        if job.state == "mapping" and not mapping_errors(job.mapping):
            job.state = "running" if job.total else "done"
            job.processed = job.created = job.updated = job.failed = 0
            job.errors = []
    return redirect(url_for("ui.supplier_import_progress", import_id=import_id))


@bp.get("/supplier/imports/<int:import_id>/progress")
@requires("supplier")
def supplier_import_progress(import_id: int) -> Any:
    with transaction() as s:
        job = _job(s, import_id, with_rows=False)
        if job.state == "mapping":
            return redirect(url_for("ui.supplier_import", import_id=import_id))
        if _wants_json():
            return jsonify(_progress(job))
        return render_template("ui/supplier/import_progress.html", job=job)


@bp.post("/supplier/imports/<int:import_id>/step")
@requires("supplier")
def supplier_import_step(import_id: int) -> Any:
    """Write the next batch (if the import is running) and answer with the progress."""
    ui = current()
    try:
        with transaction() as s:
            job = _job(s, import_id, lock=True)  # one step at a time per import
            if job.state == "running":
                run_batch(s, ui.principal, job)
            progress = _progress(job)
    except GlueError as exc:  # e.g. the user lost the supplier permission mid-import
        with transaction() as s:
            job = _job(s, import_id, lock=True, with_rows=False)
            job.state = "failed"
            job.errors = [*job.errors, {"row": None, "sku": "", "errors": [
                {"field": "", "message": exc.message}]}]
            progress = _progress(job)
    if _wants_json():
        return jsonify(progress)
    return redirect(url_for("ui.supplier_import_progress", import_id=import_id))


def run_batch(s: Session, actor: Any, job: ProductImport) -> None:
    """Write rows ``processed .. processed + BATCH`` of a running import and count them."""
    start = job.processed
    batch = job.rows[start:start + BATCH]
    sku_column = next((int(i) for i, t in job.mapping.items() if t == "externalId"), 0)
    seen = {row[sku_column] for row in job.rows[:start] if row[sku_column]}
    catalog = _catalog_ref(s, job.catalog_external_id)
    outcomes = compare(s, job.organization_id, job.header, batch, job.mapping, catalog,
                       first_row=start, seen=seen)
    good = [o for o in outcomes if o.item is not None]
    failures = upsert_inventory(s, actor, [o.item for o in good]) if good else []
    for failure in failures:
        outcome = good[failure["index"]]
        outcome.status, outcome.errors = "error", failure["errors"]
    counts = summary(outcomes)
    job.created += counts["new"]
    job.updated += counts["changed"]
    job.failed += counts["error"]
    room = MAX_STORED_ERRORS - len(job.errors)
    job.errors = [*job.errors, *({"row": o.row, "sku": o.sku, "errors": o.errors}
                                 for o in outcomes if o.status == "error")][:len(job.errors)
                                                                             + max(room, 0)]
    job.processed = start + len(batch)
    if job.processed >= job.total:
        job.state = "done"
        job.finished_at = utcnow()


def _progress(job: ProductImport) -> dict[str, Any]:
    return {"state": job.state, "processed": job.processed, "total": job.total,
            "percent": job.percent, "created": job.created, "updated": job.updated,
            "failed": job.failed}


@bp.app_template_filter("row_message")
def row_message(message: str) -> str:
    """A per-row error in the UI's language: the import's own messages are translated; the
    validation messages of the domain are shown as the domain wrote them."""
    return say(_(message)) if message else ""


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"

