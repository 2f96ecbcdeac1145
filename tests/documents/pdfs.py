"""Reading generated PDFs back with two independent readers: pypdf for the text layer and the
page boxes, PDFium (rendering) plus zxing-cpp for the barcodes, as a scanner would see them."""

from __future__ import annotations

import io

import pypdf
import pypdfium2
import zxingcpp
from reportlab.lib.units import mm


def reader(pdf: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf))


def text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in reader(pdf).pages)


def page_sizes_mm(pdf: bytes) -> list[tuple[int, int]]:
    return [(round(float(p.mediabox.width) / mm), round(float(p.mediabox.height) / mm))
            for p in reader(pdf).pages]


def barcodes(pdf: bytes, page: int = 0, dpi: int = 200) -> list[str]:
    """Every Code 128 barcode on ``page``, decoded from a rendered image, top to bottom."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[page].render(scale=dpi / 72).to_pil()
    finally:
        document.close()
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.Code128)
    return [r.text for r in sorted(found, key=lambda r: (r.position.top_left.y,
                                                         r.position.top_left.x))]
