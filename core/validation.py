"""Checks of the identifiers that cross Glue's borders: GTIN codes and ``externalId`` values.

Each ``validate_*`` function returns the value it accepted and raises
:class:`core.errors.ValidationFailed` with one ``{"field", "message"}`` error otherwise, so a
caller that collects per-item errors can take ``exc.errors`` as they are. Nothing is trimmed or
case-folded: an identifier is stored exactly as the client sent it, because the client looks it
up again by the same bytes.
"""

from __future__ import annotations

import re

from core.errors import ValidationFailed

GTIN_LENGTHS = (8, 12, 13, 14)
EXTERNAL_ID_MAX = 64

# ASCII only: product externalIds appear in URL paths (GET /inventory/{externalId}) and in
# shops' SKU fields, where non-ASCII letters are trouble; the v3 doc says "letters, digits,
# '-' and '.'".
_PRODUCT_ID = re.compile(r"[A-Za-z0-9.\-]{1,64}")
# Code 128 set B prints every ASCII character from space (0x20) to tilde (0x7E).
_CODE128 = re.compile(r"[\x20-\x7e]{1,64}")


def is_valid_gtin(code: str) -> bool:
    """True when ``code`` is a GTIN-8, -12 (UPC-A), -13 (EAN) or -14 with a correct check digit.

    The mod-10 rule: from the digit left of the check digit going left, weights 3, 1, 3, ...;
    the check digit brings the weighted sum up to a multiple of ten.
    """
    if not isinstance(code, str) or len(code) not in GTIN_LENGTHS or not code.isascii() \
            or not code.isdigit():
        return False
    body, check = code[:-1], int(code[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def validate_ean(code: str, field: str = "eanCode") -> str:
    """Return ``code`` if it is a valid GTIN-8/12/13/14, else raise ValidationFailed."""
    if not isinstance(code, str) or not code.isascii() or not code.isdigit():
        _fail(field, "must be a GTIN-8, -12, -13 or -14 code made of digits only")
    if len(code) not in GTIN_LENGTHS:
        _fail(field, f"must have 8, 12, 13 or 14 digits, not {len(code)}")
    if not is_valid_gtin(code):
        _fail(field, f"check digit of {code!r} is wrong")
    return code


def validate_external_id(value: str, field: str = "externalId") -> str:
    """Return a product ``externalId``: 1..64 ASCII letters, digits, ``-`` and ``.``."""
    if not isinstance(value, str) or not value:
        _fail(field, "is required")
    if len(value) > EXTERNAL_ID_MAX:
        _fail(field, f"may have at most {EXTERNAL_ID_MAX} characters")
    if not _PRODUCT_ID.fullmatch(value):
        _fail(field, "may contain only letters A-Z and a-z, digits, '-' and '.'")
    return value


def validate_code128_id(value: str, field: str = "externalId") -> str:
    """Return an order or catalog ``externalId`` that Code 128 can print as a barcode:
    1..64 printable ASCII characters (space to ``~``), not starting or ending with a space."""
    if not isinstance(value, str) or not value:
        _fail(field, "is required")
    if len(value) > EXTERNAL_ID_MAX:
        _fail(field, f"may have at most {EXTERNAL_ID_MAX} characters")
    if not _CODE128.fullmatch(value):
        _fail(field, "may contain only printable ASCII characters (Code 128)")
    if value != value.strip(" "):
        _fail(field, "may not start or end with a space")
    return value


def _fail(field: str, message: str) -> None:
    raise ValidationFailed(f"{field} {message}", [{"field": field, "message": message}])
