"""The fonts every document uses.

The base-14 PDF fonts are not embedded and their WinAnsi encoding depends on the reader, so
documents use Bitstream Vera, a TrueType font that ships inside the reportlab package itself
(``reportlab/fonts``) and covers Latin-1: Finnish and Swedish letters (ä ö å Ä Ö Å) print
everywhere without relying on fonts installed on the machine. It is embedded as a subset.
"""

from __future__ import annotations

import threading
from pathlib import Path

import reportlab
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

REGULAR = "GlueSans"
BOLD = "GlueSans-Bold"
_FONT_DIR = Path(reportlab.__file__).parent / "fonts"
_FILES = {REGULAR: "Vera.ttf", BOLD: "VeraBd.ttf"}
_lock = threading.Lock()
_registered = False


def register_fonts() -> None:
    """Register the document fonts with reportlab once per process (idempotent)."""
    global _registered
    with _lock:
        if _registered:
            return
        for name, filename in _FILES.items():
            pdfmetrics.registerFont(TTFont(name, str(_FONT_DIR / filename)))
        pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD,
                                      italic=REGULAR, boldItalic=BOLD)
        _registered = True
