"""Address labels: one per parcel, A6 (a label printer) or four to an A4 sheet (an office
printer; A4 halved twice is exactly A6, so the same drawing serves both)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from reportlab.lib.pagesizes import A4, A6
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from documents.barcodes import draw_code128
from documents.content import Address, LabelData
from documents.fonts import BOLD, REGULAR, register_fonts

PAGE_SIZES = ("A6", "A4")
LABEL_W, LABEL_H = A6
MARGIN = 5 * mm


def render_labels(labels: Iterable[LabelData], page_size: str = "A6") -> bytes:
    """One PDF of the labels: a page each on A6, four to a page on A4 (left to right, top to
    bottom). ``page_size`` is ``A6`` or ``A4``."""
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, page_size)
    draw_label_pages(canvas, list(labels), page_size)
    canvas.save()
    return buffer.getvalue()


def new_canvas(buffer: io.BytesIO, page_size: str) -> Canvas:
    if page_size not in PAGE_SIZES:
        raise ValueError(f"page size is one of {PAGE_SIZES}")
    register_fonts()
    canvas = Canvas(buffer, pagesize=A6 if page_size == "A6" else A4, pageCompression=1)
    canvas.setTitle("Address labels")
    canvas.setCreator("Glue")
    return canvas


def draw_label_pages(canvas: Canvas, labels: Sequence[LabelData], page_size: str) -> None:
    """Draw ``labels`` onto ``canvas`` (set to ``page_size``), ending each page it starts."""
    if page_size == "A6":
        for label in labels:
            canvas.setPageSize(A6)
            draw_label(canvas, label, 0, 0)
            canvas.showPage()
        return
    slots = [(0, LABEL_H), (LABEL_W, LABEL_H), (0, 0), (LABEL_W, 0)]
    for start in range(0, len(labels), 4):
        canvas.setPageSize(A4)
        for label, (x, y) in zip(labels[start:start + 4], slots, strict=False):
            draw_label(canvas, label, x, y)
        _draw_cut_marks(canvas)
        canvas.showPage()


def draw_label(canvas: Canvas, label: LabelData, x: float, y: float) -> None:
    """Draw one A6 label with its bottom-left corner at (``x``, ``y``)."""
    canvas.saveState()
    canvas.translate(x, y)
    w, h = LABEL_W, LABEL_H
    inner = w - 2 * MARGIN
    top = h - MARGIN

    # service band
    canvas.setFillGray(0)
    canvas.rect(MARGIN, top - 12 * mm, inner, 12 * mm, stroke=0, fill=1)
    canvas.setFillGray(1)
    canvas.setFont(BOLD, 14)
    canvas.drawString(MARGIN + 2 * mm, top - 8.5 * mm, _fit(label.service_name, BOLD, 14,
                                                           inner - 30 * mm))
    canvas.setFont(BOLD, 12)
    canvas.drawRightString(w - MARGIN - 2 * mm, top - 8.3 * mm, label.service_code)
    canvas.setFillGray(0)

    # sender
    cursor = top - 16 * mm
    cursor = _party(canvas, "Lähettäjä / From", label.sender, MARGIN, cursor, inner,
                    name_size=8, line_size=7.5)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN, cursor - 1 * mm, w - MARGIN, cursor - 1 * mm)

    # recipient
    cursor -= 5 * mm
    cursor = _party(canvas, "Vastaanottaja / To", label.recipient, MARGIN, cursor, inner,
                    name_size=13, line_size=12, with_contact=True)
    if label.pickup_point:
        cursor -= 1 * mm
        canvas.setFont(BOLD, 9)
        canvas.drawString(MARGIN, cursor, _fit(f"Noutopiste / Pickup point: {label.pickup_point}",
                                               BOLD, 9, inner))
        cursor -= 4 * mm

    # facts grid, fixed above the barcode
    grid_top = 58 * mm
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN, grid_top, w - MARGIN, grid_top)
    col = inner / 3
    facts = [("Paino / Weight", _weight(label.weight_kg)),
             ("Kolli / Parcel", f"{label.parcel_number} / {label.parcel_count}"),
             ("Tilaus / Order", label.order_reference)]
    for i, (title, value) in enumerate(facts):
        fx = MARGIN + i * col
        canvas.setFont(REGULAR, 6.5)
        canvas.drawString(fx + 1 * mm, grid_top - 3.5 * mm, title)
        canvas.setFont(BOLD, 10)
        canvas.drawString(fx + 1 * mm, grid_top - 8.5 * mm, _fit(value, BOLD, 10, col - 2 * mm))
        if i:
            canvas.line(fx, grid_top, fx, grid_top - 10.5 * mm)
    canvas.line(MARGIN, grid_top - 10.5 * mm, w - MARGIN, grid_top - 10.5 * mm)

    # tracking code
    if label.tracking_code:
        draw_code128(canvas, label.tracking_code, MARGIN, 16 * mm, inner, 24 * mm)
        canvas.setFont(BOLD, 13)
        canvas.drawCentredString(w / 2, 10 * mm, _spaced(label.tracking_code))
    else:
        canvas.setFont(BOLD, 10)
        canvas.drawCentredString(w / 2, 28 * mm, "Ei seurantakoodia / No tracking code")
    canvas.setFont(REGULAR, 6)
    canvas.drawString(MARGIN, 5.5 * mm, f"Lähetys / Shipment {label.shipment_id}")
    canvas.restoreState()


def _party(canvas: Canvas, title: str, address: Address, x: float, y: float, width: float, *,
           name_size: float, line_size: float, with_contact: bool = False) -> float:
    """Draw a titled address block downwards from ``y``; returns the y below it."""
    canvas.setFont(REGULAR, 6.5)
    canvas.drawString(x, y, title)
    y -= name_size * 0.45 * mm + 2 * mm
    canvas.setFont(BOLD, name_size)
    for line in address.name_lines[:3]:
        canvas.drawString(x, y, _fit(line, BOLD, name_size, width))
        y -= name_size * 0.42 * mm
    canvas.setFont(REGULAR, line_size)
    extra = address.contact[:1] if with_contact else ()
    for line in (*address.lines, *extra):
        canvas.drawString(x, y, _fit(line, REGULAR, line_size, width))
        y -= line_size * 0.42 * mm
    return y


def _fit(text: str, font: str, size: float, width: float) -> str:
    """The first line of ``text`` wrapped to ``width``, marked with an ellipsis if cut."""
    lines = simpleSplit(text, font, size, width)
    if not lines:
        return ""
    return lines[0] if len(lines) == 1 else lines[0].rstrip() + "…"


def _weight(weight: Decimal | None) -> str:
    if weight is None:
        return "–"
    return f"{weight.quantize(Decimal('0.01')).normalize():f} kg".replace(".", ",")


def _spaced(code: str) -> str:
    """``JJ123456785FI`` → ``JJ 1234 5678 5 FI``: easier to read aloud and type."""
    if len(code) == 13 and code[:2].isalpha() and code[-2:].isalpha():
        return f"{code[:2]} {code[2:6]} {code[6:10]} {code[10]} {code[11:]}"
    return code


def _draw_cut_marks(canvas: Canvas) -> None:
    canvas.saveState()
    canvas.setLineWidth(0.3)
    canvas.setDash(2, 3)
    canvas.setStrokeGray(0.6)
    canvas.line(LABEL_W, 0, LABEL_W, 2 * LABEL_H)
    canvas.line(0, LABEL_H, 2 * LABEL_W, LABEL_H)
    canvas.restoreState()
