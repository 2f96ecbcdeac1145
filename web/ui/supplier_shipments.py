"""The supplier's shipment work queue: the list (status tabs with counts, search by order
reference, keyset paging, bulk printing), one shipment's page (consignment, rows, comments,
history) with its actions (Picking → Packing → Shipping, confirm, fast confirm, cancel, picking
note), and the documents (label per parcel, packing slip, bulk PDF, the day's manifest).

Every view needs the ``supplier`` permission and reaches only the active organization's
shipments (``Shipment.supplier_id == current().organization_id``): another organization's
shipment id is 404, also when the organization is the retailer of its order. Changes go through
``core.shipments`` and ``core.orders.add_comment``, PDFs come from ``documents.service``; both
check the actor again. A refused change (an illegal transition, a bad quantity) is a message on
the shipment's page, never an error page.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload

from core import keyset, status
from core.errors import Forbidden, GlueError, IllegalTransition, NotFound, ValidationFailed
from core.models import Order, Shipment
from core.order_input import CommentIn
from core.orders import add_comment
from core.shipments import (
    cancel_shipment,
    confirm_shipment,
    fast_confirm,
    set_shipment_status,
    shipment_key,
)
from documents.service import (
    LOCAL_TIME,
    bulk_pdf,
    label_pdf,
    manifest_pdf,
    packing_slip_pdf,
)
from web.ui import bp
from web.ui.context import current, requires, transaction
from web.ui.forms import say

PAGE_SIZE = 50
# The queue's tabs, in working order (Submitted is shown under Created: both wait for a look).
TABS = (status.CREATED, status.VIEWED, status.PICKING, status.PACKING, status.SHIPPING,
        status.DELIVERED, status.CANCELLED)
_TAB_STATUSES = {status.CREATED: (status.CREATED, status.SUBMITTED)}
# The steps a person takes by hand between opening and confirming.
WORK_STEPS = (status.PICKING, status.PACKING, status.SHIPPING)
PRINT_KINDS = ("labels", "slips", "bundle")
_KEYS = (Shipment.created_at, Shipment.id)


# --- the queue -----------------------------------------------------------------------------

def tab_counts(s: Session, org_id: int) -> dict[str, int]:
    """How many of the supplier's shipments each tab holds (one GROUP BY over its rows)."""
    by_status = dict(s.execute(sa.select(Shipment.status, sa.func.count())
                               .where(Shipment.supplier_id == org_id)
                               .group_by(Shipment.status)).all())
    return {tab: sum(by_status.get(st, 0) for st in _TAB_STATUSES.get(tab, (tab,)))
            for tab in TABS}


def queue_query(org_id: int, tab: str, reference: str) -> sa.Select[Any]:
    """The supplier's shipments in ``tab`` (all when empty) whose order reference starts with
    ``reference`` (case-insensitive; LIKE wildcards taken literally)."""
    query = sa.select(Shipment).where(Shipment.supplier_id == org_id)
    if tab in TABS:
        query = query.where(Shipment.status.in_(_TAB_STATUSES.get(tab, (tab,))))
    if reference:
        query = query.where(Shipment.order_id.in_(
            sa.select(Order.id).where(sa.func.lower(Order.external_id).startswith(
                reference.lower(), autoescape=True))))
    return query


@bp.get("/supplier/shipments")
@requires("supplier")
def supplier_shipments() -> Any:
    """The queue, newest first, one keyset page at a time (``after`` is a
    :mod:`core.keyset` cursor; ``page`` only leads back towards the start)."""
    org_id = current().organization_id
    tab = request.args.get("status", "")
    tab = tab if tab in TABS else ""
    reference = (request.args.get("q") or "").strip()
    after = request.args.get("after") or None
    page = request.args.get("page", "0")
    page = int(page) if page.isdigit() else 0
    query = queue_query(org_id, tab, reference)
    with transaction() as s:
        if not after and page > 0:
            # A page number (the way back): the cursor of the row just before the page, read
            # from the narrow key query like core.keyset does for the API's page numbers.
            row = s.execute(query.with_only_columns(*_KEYS).order_by(*(k.desc() for k in _KEYS))
                            .offset(page * PAGE_SIZE - 1).limit(1)).first()
            after = keyset.encode(tuple(row), page * PAGE_SIZE) if row is not None else None
        try:
            start = keyset.position(after) if after else 0
            paged = keyset.page_query(
                s, query.options(selectinload(Shipment.order), selectinload(Shipment.rows)),
                _KEYS, page=0, size=PAGE_SIZE + 1, after=after, descending=True)
        except ValidationFailed:
            abort(400)
        shipments = list(s.scalars(paged)) if paged is not None else []
        more, shipments = len(shipments) > PAGE_SIZE, shipments[:PAGE_SIZE]
        counts = tab_counts(s, org_id)
        items = [_queue_item(sh) for sh in shipments]
    filters = {k: v for k, v in (("status", tab), ("q", reference)) if v}
    current_page = -(-start // PAGE_SIZE)  # a cursor page that starts mid-way rounds up
    return render_template(
        "ui/supplier/shipments.html", items=items, counts=counts, total=sum(counts.values()),
        tabs=TABS, tab=tab, reference=reference, filters=filters, page=current_page,
        next_url=url_for("ui.supplier_shipments", **filters, after=keyset.encode(
            shipment_key(shipments[-1]), start + len(shipments))) if more else None,
        prev_url=url_for("ui.supplier_shipments", **filters, page=current_page - 1)
        if current_page > 0 else None,
        first_url=url_for("ui.supplier_shipments", **filters) if current_page > 1 else None,
        today=datetime.now(LOCAL_TIME).date().isoformat())


def _queue_item(shipment: Shipment) -> dict[str, Any]:
    order = shipment.order
    address = (order.parties or {}).get("deliveryAddress") or \
        (order.parties or {}).get("recipient") or {}
    return {"id": shipment.shipment_id, "reference": order.external_id,
            "created": shipment.created_at, "status": shipment.status,
            "recipient": address.get("name") or "",
            "city": " ".join(p for p in (address.get("postalCode"), address.get("postOffice"))
                             if p),
            "pickup": order.pickup_point_id,
            "units": sum(r.quantity for r in shipment.rows if r.status != status.CANCELLED)}


# --- one shipment --------------------------------------------------------------------------

def _own(s: Session, shipment_id: str) -> Shipment:
    """The active supplier's shipment, else 404."""
    shipment = s.scalar(sa.select(Shipment).where(
        Shipment.shipment_id == shipment_id,
        Shipment.supplier_id == current().organization_id))
    if shipment is None:
        abort(404)
    return shipment


def _detail(shipment_id: str) -> str:
    return url_for("ui.supplier_shipment", shipment_id=shipment_id)


@bp.get("/supplier/shipments/<shipment_id>")
@requires("supplier")
def supplier_shipment(shipment_id: str) -> Any:
    """One shipment. Opening a shipment that nobody has looked at marks it ``Viewed`` (the
    retailer then knows the supplier has seen it)."""
    ui = current()
    with transaction() as s:
        shipment = _own(s, shipment_id)
        if status.can_transition(shipment.status, status.VIEWED) and shipment.status in (
                status.CREATED, status.SUBMITTED):
            set_shipment_status(s, ui.principal, shipment_id, status.VIEWED)
        context = _detail_context(shipment)
    return render_template("ui/supplier/shipments_detail.html", **context)


def _detail_context(shipment: Shipment) -> dict[str, Any]:
    order = shipment.order
    parties = order.parties or {}
    current_status = shipment.status
    steps = [st for st in WORK_STEPS if status.can_transition(current_status, st)]
    comments = [c for c in order.comments
                if c.author_organization_id in (None, order.retailer_id, shipment.supplier_id)]
    return {
        "shipment": shipment, "order": order, "rows": list(shipment.rows),
        "parcels": list(shipment.parcels), "history": list(shipment.history),
        "comments": sorted(comments, key=lambda c: c.created_date),
        "delivery": parties.get("deliveryAddress") or {},
        "recipient": parties.get("recipient") or {},
        "steps": steps, "final": current_status in status.FINAL,
        "can_confirm": status.can_transition(current_status, status.DELIVERED),
        "can_cancel": status.can_transition(current_status, status.CANCELLED),
        "delivered": current_status == status.DELIVERED,
    }


def _act(shipment_id: str, work: Any) -> Any:
    """Run ``work(session, principal)`` in one transaction; a domain refusal becomes a
    message on the shipment's page and nothing is kept."""
    ui = current()
    try:
        with transaction() as s:
            _own(s, shipment_id)
            message = work(s, ui.principal)
    except IllegalTransition:
        with transaction() as s:
            now = _own(s, shipment_id).status
        flash(_("The shipment is %(status)s; that step is not possible any more.",
                status=status_label(now)), "error")
    except ValidationFailed as exc:
        details = "; ".join(say(str(e.get("message", ""))) for e in exc.errors[:3]
                            if e.get("message") != exc.message)
        flash(f"{say(exc.message)}{': ' + details if details else ''}", "error")
    except (NotFound, Forbidden):
        abort(404)
    except GlueError as exc:
        flash(say(exc.message), "error")
    else:
        flash(message, "success")
    return redirect(_detail(shipment_id))


@bp.post("/supplier/shipments/<shipment_id>/status")
@requires("supplier")
def supplier_shipment_status(shipment_id: str) -> Any:
    """Move the shipment to the next work step (Picking, Packing or Shipping)."""
    new = request.form.get("status", "")
    if new not in WORK_STEPS:
        abort(400)

    def work(s: Session, actor: Any) -> str:
        set_shipment_status(s, actor, shipment_id, new)
        return _("The shipment is now %(status)s.", status=status_label(new))
    return _act(shipment_id, work)


@bp.post("/supplier/shipments/<shipment_id>/confirm")
@requires("supplier")
def supplier_shipment_confirm(shipment_id: str) -> Any:
    """Confirm the delivery: the delivered quantity of every row (``delivered-<row id>``; 0
    for a row that was not sent) and, optionally, the supplier's own tracking codes (one per
    line or separated by spaces). Everything goes into one parcel."""
    codes = request.form.get("tracking_codes", "").split()

    def work(s: Session, actor: Any) -> str:
        shipment = _own(s, shipment_id)
        rows = []
        for row in shipment.rows:
            if row.status == status.CANCELLED:
                rows.append({"orderRowId": row.external_id, "deliveredQuantity": 0})
                continue
            text = (request.form.get(f"delivered-{row.external_id}") or "").strip()
            if not text.isdigit():
                raise ValidationFailed(_("Give the delivered quantity of every row (0 if it "
                                         "was not sent)."))
            if int(text) > row.quantity:
                raise ValidationFailed(_("Row %(row)s: at most %(n)s can be delivered.",
                                         row=row.line_no, n=row.quantity))
            rows.append({"orderRowId": row.external_id, "deliveredQuantity": int(text)})
        confirm_shipment(s, actor, shipment_id, [{"parcelId": "1", "rows": rows,
                                                  "trackingCodes": codes or None}])
        return _("The delivery was confirmed.")
    return _act(shipment_id, work)


@bp.post("/supplier/shipments/<shipment_id>/fast-confirm")
@requires("supplier")
def supplier_shipment_fast_confirm(shipment_id: str) -> Any:
    """Confirm every row delivered in full."""
    def work(s: Session, actor: Any) -> str:
        fast_confirm(s, actor, shipment_id)
        return _("The delivery was confirmed.")
    return _act(shipment_id, work)


@bp.post("/supplier/shipments/<shipment_id>/cancel")
@requires("supplier")
def supplier_shipment_cancel(shipment_id: str) -> Any:
    """Cancel the shipment with a reason the retailer sees."""
    reason = request.form.get("reason", "").strip()
    if not reason:
        flash(_("Give the reason for cancelling."), "error")
        return redirect(_detail(shipment_id))

    def work(s: Session, actor: Any) -> str:
        cancel_shipment(s, actor, shipment_id, reason)
        return _("The shipment was cancelled.")
    return _act(shipment_id, work)


@bp.post("/supplier/shipments/<shipment_id>/notes")
@requires("supplier")
def supplier_shipment_note(shipment_id: str) -> Any:
    """Add a picking note to the shipment's order."""
    value = request.form.get("note", "").strip()
    if not value:
        flash(_("Write the note first."), "error")
        return redirect(_detail(shipment_id) + "#comments")
    author = current().name or current().email

    def work(s: Session, actor: Any) -> str:
        add_comment(s, actor, CommentIn(value=value, type="pickingNote", author=author),
                    shipment_id=shipment_id)
        return _("The note was added.")
    return _act(shipment_id, work)


# --- documents -----------------------------------------------------------------------------

def _pdf(content: bytes, filename: str) -> Response:
    return Response(content, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{filename}"'})


def _document(shipment_id: str | None, make: Any, filename: str) -> Any:
    """A PDF from ``make(session, principal)``; a document that cannot be made yet (no label
    before confirming) is a message on the shipment's page or the queue."""
    ui = current()
    try:
        with transaction() as s:
            if shipment_id is not None:
                _own(s, shipment_id)
            content = make(s, ui.principal)
    except (NotFound, Forbidden):
        abort(404)
    except GlueError as exc:
        flash(say(exc.message), "error")
        return redirect(_detail(shipment_id) if shipment_id else url_for(
            "ui.supplier_shipments"))
    return _pdf(content, filename)


@bp.get("/supplier/shipments/<shipment_id>/parcels/<parcel_id>/label.pdf")
@requires("supplier")
def supplier_shipment_label(shipment_id: str, parcel_id: str) -> Any:
    """The address label of one parcel (after the shipment is confirmed)."""
    return _document(shipment_id, lambda s, actor: label_pdf(s, actor, shipment_id, parcel_id),
                     f"label-{parcel_id}.pdf")


@bp.get("/supplier/shipments/<shipment_id>/packing-slip.pdf")
@requires("supplier")
def supplier_shipment_slip(shipment_id: str) -> Any:
    """The shipment's packing slip."""
    return _document(shipment_id, lambda s, actor: packing_slip_pdf(s, actor, shipment_id),
                     "packing-slip.pdf")


@bp.post("/supplier/shipments/print")
@requires("supplier")
def supplier_shipments_print() -> Any:
    """One PDF of the selected shipments' labels, packing slips or both (``kind``)."""
    ids = list(dict.fromkeys(request.form.getlist("shipment")))
    kind = request.form.get("kind", "")
    if kind not in PRINT_KINDS:
        abort(400)
    if not ids:
        flash(_("Select at least one shipment."), "error")
        return redirect(url_for("ui.supplier_shipments"))
    org_id = current().organization_id
    with transaction() as s:
        own = set(s.scalars(sa.select(Shipment.shipment_id).where(
            Shipment.shipment_id.in_(ids), Shipment.supplier_id == org_id)))
    if own != set(ids):
        abort(404)
    return _document(None, lambda s, actor: bulk_pdf(s, actor, ids, kind), f"{kind}.pdf")


@bp.get("/supplier/shipments/manifest.pdf")
@requires("supplier")
def supplier_shipments_manifest() -> Any:
    """The handover manifest of one day (``day``, YYYY-MM-DD; today in Finland by default):
    the parcels confirmed that day."""
    text = request.args.get("day", "")
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        abort(400)
    return _document(None, lambda s, actor: manifest_pdf(s, actor, day=day),
                     f"manifest-{text or 'today'}.pdf")


# --- shared --------------------------------------------------------------------------------

# One lambda per status, so that a label costs one lookup in the catalog, not nine.
_STATUS_NAMES = {
    status.CREATED: lambda: _("Created"), status.SUBMITTED: lambda: _("Submitted"),
    status.VIEWED: lambda: _("Viewed"), status.PICKING: lambda: _("Picking"),
    status.PACKING: lambda: _("Packing"), status.SHIPPING: lambda: _("Shipping"),
    status.DELIVERED: lambda: _("Delivered"), status.CANCELLED: lambda: _("Cancelled"),
    status.ERROR: lambda: _("Error")}


def status_label(value: str) -> str:
    """A shipment status in the UI's language."""
    name = _STATUS_NAMES.get(value)
    return name() if name else value


@bp.app_template_global("shipment_status_label")
def _status_label_global(value: str) -> str:
    return status_label(value)


