"""Code 128 barcodes sized to a box, drawn as vectors so they scan at any printer resolution."""

from __future__ import annotations

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

MAX_BAR_WIDTH = 0.5 * mm
MIN_BAR_WIDTH = 0.19 * mm  # below this a thermal printer at 203 dpi loses bars


def draw_code128(canvas: Canvas, value: str, x: float, y: float, max_width: float,
                 height: float, *, center: bool = True) -> float:
    """Draw ``value`` as Code 128 with its quiet zones inside ``max_width``, bottom-left at
    (``x``, ``y``), horizontally centred in the box by default; returns the drawn width.
    The human-readable text is the caller's, in the document font."""
    # Quiet zones of exactly ten modules each (the symbology's minimum) keep the width
    # proportional to the bar width, so one probe at unit width gives the module count.
    probe = Code128(value, barWidth=1, barHeight=height, lquiet=10, rquiet=10,
                    humanReadable=False)
    bar_width = max(MIN_BAR_WIDTH, min(MAX_BAR_WIDTH, max_width / probe.width))
    barcode = Code128(value, barWidth=bar_width, barHeight=height, lquiet=10 * bar_width,
                      rquiet=10 * bar_width, humanReadable=False)
    left = x + (max_width - barcode.width) / 2 if center else x
    barcode.drawOn(canvas, left, y)
    return barcode.width
