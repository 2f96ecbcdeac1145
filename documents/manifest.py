"""The handover manifest: the parcels a supplier hands to the carrier, with their tracking
codes, a count, and lines for both parties to sign."""

from __future__ import annotations

import io
from decimal import Decimal

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from documents.content import ManifestData, ManifestLine
from documents.fonts import BOLD, REGULAR, register_fonts

PAGE_W, PAGE_H = A4
MARGIN = 15 * mm
LEADING = 4.6 * mm
FONT_SIZE = 8.5
SIGNATURE_SPACE = 45 * mm
# (title, width)
COLUMNS = [("#", 9 * mm), ("Seurantakoodi\nTracking code", 42 * mm),
           ("Tilaus\nOrder", 28 * mm), ("Lähetys\nShipment", 26 * mm),
           ("Kolli\nParcel", 12 * mm), ("Vastaanottaja\nRecipient", 43 * mm),
           ("Paino\nWeight kg", 20 * mm)]


def render_manifest(data: ManifestData) -> bytes:
    """The manifest as an A4 PDF; every parcel is one numbered line."""
    register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle("Handover manifest")
    canvas.setCreator("Glue")
    page = 1
    y = _header(canvas, data, page)
    for number, line in enumerate(data.lines, start=1):
        cells = _cells(number, line)
        wrapped = [simpleSplit(text, REGULAR, FONT_SIZE, width - 1.5 * mm) or [""]
                   for text, (_, width) in zip(cells, COLUMNS, strict=True)]
        height = max(len(lines) for lines in wrapped) * LEADING + 1 * mm
        if y - height < MARGIN + 10 * mm:
            canvas.showPage()
            page += 1
            y = _header(canvas, data, page)
        x = MARGIN
        for lines, (_, width) in zip(wrapped, COLUMNS, strict=True):
            canvas.setFont(REGULAR, FONT_SIZE)
            for i, text in enumerate(lines):
                canvas.drawString(x + 0.8 * mm, y - 3.2 * mm - i * LEADING, text)
            x += width
        y -= height
        canvas.setStrokeGray(0.8)
        canvas.setLineWidth(0.3)
        canvas.line(MARGIN, y, PAGE_W - MARGIN, y)
        canvas.setStrokeGray(0)
    if y - SIGNATURE_SPACE < MARGIN:
        canvas.showPage()
        page += 1
        y = _header(canvas, data, page)
    _summary_and_signatures(canvas, data, y - 6 * mm)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _cells(number: int, line: ManifestLine) -> list[str]:
    weight = "" if line.weight_kg is None else f"{line.weight_kg.quantize(Decimal('0.01')):f}"
    return [str(number), "\n".join(line.tracking_codes) or "–", line.order_reference,
            line.shipment_id, line.parcel_id, line.recipient, weight.replace(".", ",")]


def _header(canvas: Canvas, data: ManifestData, page: int) -> float:
    top = PAGE_H - MARGIN
    canvas.setFont(BOLD, 15)
    canvas.drawString(MARGIN, top - 5 * mm, "Luovutusluettelo / Handover manifest")
    canvas.setFont(REGULAR, 9)
    canvas.drawRightString(PAGE_W - MARGIN, top - 5 * mm, f"Sivu / Page {page}")
    canvas.setFont(BOLD, 10)
    canvas.drawString(MARGIN, top - 12 * mm, data.supplier.name_lines[0])
    canvas.setFont(REGULAR, 9)
    details = ", ".join((*data.supplier.lines, f"Y-tunnus {data.supplier_business_id}"))
    canvas.drawString(MARGIN, top - 16.5 * mm, details)
    canvas.setFont(BOLD, 10)
    canvas.drawRightString(PAGE_W - MARGIN, top - 12 * mm, data.title_date)
    y = top - 22 * mm
    canvas.setFillGray(0.92)
    canvas.rect(MARGIN, y - 9 * mm, PAGE_W - 2 * MARGIN, 10 * mm, stroke=0, fill=1)
    canvas.setFillGray(0)
    canvas.setFont(BOLD, 7.5)
    x = MARGIN
    for title, width in COLUMNS:
        for i, part in enumerate(title.split("\n")):
            canvas.drawString(x + 0.8 * mm, y - 3 * mm - i * 3.4 * mm, part)
        x += width
    return y - 10 * mm


def _summary_and_signatures(canvas: Canvas, data: ManifestData, y: float) -> None:
    shipments = len({line.shipment_id for line in data.lines})
    canvas.setFont(BOLD, 11)
    canvas.drawString(MARGIN, y, f"Kolleja yhteensä / Parcels in total: {len(data.lines)}")
    canvas.setFont(REGULAR, 9)
    canvas.drawString(MARGIN, y - 5 * mm, f"Lähetyksiä / Shipments: {shipments}")
    y -= 22 * mm
    half = (PAGE_W - 2 * MARGIN - 10 * mm) / 2
    for i, title in enumerate(("Luovuttaja / Handed over by",
                               "Vastaanottaja (kuljettaja) / Received by (carrier)")):
        x = MARGIN + i * (half + 10 * mm)
        canvas.setLineWidth(0.6)
        canvas.line(x, y, x + half, y)
        canvas.setFont(REGULAR, 8)
        canvas.drawString(x, y - 4 * mm, title)
        canvas.drawString(x, y - 8 * mm, "Nimi, päiväys ja kellonaika / Name, date and time")
