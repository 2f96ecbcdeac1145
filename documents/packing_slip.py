"""Packing slips: one A4 document per shipment, white-label by default.

The slip speaks for the shop the customer bought from: its logo, name and address head the page;
the supplier is named only when the retailer allows it, and prices appear only when the retailer
asks for them (``core.document_settings``). Long shipments continue on further pages, each with
the order reference and the table header again.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from decimal import Decimal

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfgen.canvas import Canvas

from documents.barcodes import draw_code128
from documents.content import Address, SlipData
from documents.fonts import BOLD, REGULAR, register_fonts

PAGE_W, PAGE_H = A4
MARGIN = 18 * mm
ROW_FONT = 9
ROW_LEADING = 4.2 * mm
BOTTOM = MARGIN + 12 * mm


def render_packing_slips(slips: Iterable[SlipData]) -> bytes:
    """One PDF holding every slip, each starting on a new page."""
    buffer = io.BytesIO()
    canvas = new_canvas(buffer)
    for slip in slips:
        draw_packing_slip(canvas, slip)
    canvas.save()
    return buffer.getvalue()


def new_canvas(buffer: io.BytesIO) -> Canvas:
    register_fonts()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle("Packing slip")
    canvas.setCreator("Glue")
    return canvas


def draw_packing_slip(canvas: Canvas, slip: SlipData) -> None:
    """Draw ``slip`` from a fresh page on; ends its last page."""
    canvas.setPageSize(A4)
    columns = _columns(slip.show_prices)
    page = 1
    y = _first_page_header(canvas, slip)
    y = _table_header(canvas, columns, y)
    for row in slip.rows:
        cells = [row.name, row.sku, row.ean, str(row.ordered), str(row.delivered)]
        if slip.show_prices:
            cells += [_money(row.unit_price),
                      _money(None if row.unit_price is None else row.unit_price * row.delivered)]
        wrapped = [simpleSplit(text, REGULAR, ROW_FONT, width - 2 * mm) or [""]
                   for text, (_, width, _) in zip(cells, columns, strict=True)]
        height = max(len(lines) for lines in wrapped) * ROW_LEADING + 1.5 * mm
        if y - height < BOTTOM:
            _footer(canvas, page)
            canvas.showPage()
            page += 1
            y = _table_header(canvas, columns, _continued_header(canvas, slip))
        _row(canvas, columns, wrapped, y)
        y -= height
        canvas.setStrokeGray(0.8)
        canvas.setLineWidth(0.3)
        canvas.line(MARGIN, y, PAGE_W - MARGIN, y)
        canvas.setStrokeGray(0)
    if slip.show_prices:
        total = sum((r.unit_price * r.delivered for r in slip.rows if r.unit_price is not None),
                    Decimal(0))
        y -= 2 * mm
        canvas.setFont(BOLD, 10)
        canvas.drawRightString(PAGE_W - MARGIN, y - 3 * mm,
                               f"Yhteensä / Total  {_money(total)} {slip.currency or ''}".strip())
        y -= 8 * mm
    y = _comments(canvas, slip, y - 4 * mm, page)
    _footer(canvas, page, thanks=True)
    canvas.showPage()


def _columns(show_prices: bool) -> list[tuple[str, float, str]]:
    """(title, width, alignment) of each table column; widths add up to the text width."""
    text_width = PAGE_W - 2 * MARGIN
    fixed = [("SKU", 30 * mm, "l"), ("EAN", 30 * mm, "l"),
             ("Tilattu\nOrdered", 16 * mm, "r"), ("Toimitettu\nDelivered", 19 * mm, "r")]
    if show_prices:
        fixed += [("à-hinta\nUnit price", 20 * mm, "r"), ("Yhteensä\nTotal", 20 * mm, "r")]
        fixed[0] = ("SKU", 24 * mm, "l")
        fixed[1] = ("EAN", 27 * mm, "l")
    name_width = text_width - sum(width for _, width, _ in fixed)
    return [("Tuote\nProduct", name_width, "l"), *fixed]


def _first_page_header(canvas: Canvas, slip: SlipData) -> float:
    top = PAGE_H - MARGIN
    y = top
    if slip.logo:
        y = _logo(canvas, slip.logo, MARGIN, top) - 4 * mm
    y = _address_block(canvas, None, slip.retailer, MARGIN, y, 85 * mm, name_size=13)

    right = PAGE_W - MARGIN
    canvas.setFont(BOLD, 16)
    canvas.drawRightString(right, top - 5 * mm, "Lähetyslista / Packing slip")
    draw_code128(canvas, slip.order_reference, right - 75 * mm, top - 24 * mm, 75 * mm,
                 14 * mm, center=False)
    canvas.setFont(REGULAR, 8)
    canvas.drawString(right - 75 * mm + 2, top - 28 * mm, "Tilausnumero / Order")
    canvas.setFont(BOLD, 12)
    canvas.drawRightString(right, top - 28.5 * mm, slip.order_reference)
    canvas.setFont(REGULAR, 9)
    facts = [("Tilauspäivä / Order date",
              slip.order_date.strftime("%d.%m.%Y") if slip.order_date else "–"),
             ("Lähetys / Shipment", slip.shipment_id)]
    fy = top - 34 * mm
    for title, value in facts:
        canvas.drawString(right - 75 * mm + 2, fy, title)
        canvas.drawRightString(right, fy, value)
        fy -= 4.5 * mm

    y = min(y, fy) - 8 * mm
    bottom = _address_block(canvas, "Toimitusosoite / Delivery address", slip.recipient,
                            MARGIN, y, 85 * mm, name_size=11, with_contact=True)
    if slip.supplier is not None:
        bottom = min(bottom, _address_block(canvas, "Toimittaja / Supplier", slip.supplier,
                                            PAGE_W / 2 + 5 * mm, y, 75 * mm, name_size=10))
    return bottom - 8 * mm


def _continued_header(canvas: Canvas, slip: SlipData) -> float:
    top = PAGE_H - MARGIN
    canvas.setFont(BOLD, 11)
    canvas.drawString(MARGIN, top - 4 * mm, slip.retailer.name_lines[0])
    canvas.drawRightString(PAGE_W - MARGIN, top - 4 * mm,
                           f"Tilaus / Order {slip.order_reference} (jatkuu / continued)")
    return top - 12 * mm


def _address_block(canvas: Canvas, title: str | None, address: Address, x: float, y: float,
                   width: float, *, name_size: float, with_contact: bool = False) -> float:
    if title:
        canvas.setFont(REGULAR, 7.5)
        canvas.drawString(x, y, title)
        y -= 5 * mm
    canvas.setFont(BOLD, name_size)
    for line in address.name_lines:
        for part in simpleSplit(line, BOLD, name_size, width):
            canvas.drawString(x, y, part)
            y -= name_size * 0.4 * mm
    canvas.setFont(REGULAR, 9.5)
    for line in (*address.lines, *(address.contact if with_contact else address.contact[:2])):
        for part in simpleSplit(line, REGULAR, 9.5, width):
            canvas.drawString(x, y, part)
            y -= 4.2 * mm
    return y


def _logo(canvas: Canvas, logo: bytes, x: float, top: float) -> float:
    """Draw the logo scaled into 50 × 20 mm; returns the y of its bottom edge."""
    try:
        image = ImageReader(io.BytesIO(logo))
        iw, ih = image.getSize()
    except Exception:  # noqa: BLE001 -- a broken stored logo must not stop the slip
        return top
    scale = min(50 * mm / iw, 20 * mm / ih)
    w, h = iw * scale, ih * scale
    canvas.drawImage(image, x, top - h, width=w, height=h, mask="auto")
    return top - h


def _table_header(canvas: Canvas, columns: list[tuple[str, float, str]], y: float) -> float:
    canvas.setFillGray(0.92)
    canvas.rect(MARGIN, y - 9 * mm, PAGE_W - 2 * MARGIN, 10 * mm, stroke=0, fill=1)
    canvas.setFillGray(0)
    canvas.setFont(BOLD, 8)
    x = MARGIN
    for title, width, align in columns:
        for i, part in enumerate(title.split("\n")):
            ty = y - 3 * mm - i * 3.4 * mm
            if align == "r":
                canvas.drawRightString(x + width - 1 * mm, ty, part)
            else:
                canvas.drawString(x + 1 * mm, ty, part)
        x += width
    return y - 10 * mm


def _row(canvas: Canvas, columns: list[tuple[str, float, str]], wrapped: list[list[str]],
         y: float) -> None:
    canvas.setFont(REGULAR, ROW_FONT)
    x = MARGIN
    for (_, width, align), lines in zip(columns, wrapped, strict=True):
        for i, line in enumerate(lines):
            ly = y - 3.3 * mm - i * ROW_LEADING  # ``y`` is the top of the row
            if align == "r":
                canvas.drawRightString(x + width - 1 * mm, ly, line)
            else:
                canvas.drawString(x + 1 * mm, ly, line)
        x += width


def _comments(canvas: Canvas, slip: SlipData, y: float, page: int) -> float:
    if not slip.comments:
        return y
    canvas.setFont(BOLD, 9)
    canvas.drawString(MARGIN, y, "Viesti / Message")
    y -= 5 * mm
    canvas.setFont(REGULAR, 9.5)
    for comment in slip.comments:
        for line in simpleSplit(comment, REGULAR, 9.5, PAGE_W - 2 * MARGIN):
            if y < BOTTOM:
                _footer(canvas, page)
                canvas.showPage()
                page += 1
                y = _continued_header(canvas, slip)
                canvas.setFont(REGULAR, 9.5)
            canvas.drawString(MARGIN, y, line)
            y -= 4.4 * mm
        y -= 2 * mm
    return y


def _footer(canvas: Canvas, page: int, *, thanks: bool = False) -> None:
    canvas.setFont(REGULAR, 8)
    if thanks:
        canvas.drawString(MARGIN, MARGIN, "Kiitos tilauksestasi! / Thank you for your order!")
    canvas.drawRightString(PAGE_W - MARGIN, MARGIN, f"Sivu / Page {page}")


def _money(value: Decimal | None) -> str:
    if value is None:
        return "–"
    return f"{value.quantize(Decimal('0.01')):f}".replace(".", ",")
