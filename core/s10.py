"""UPU S10 item identifiers: ``JJ123456785FI``.

Two letters name the service, eight digits are the serial, one digit checks the serial (mod 11
with weights 8 6 4 2 3 5 9 7), and two letters name the issuing country. Pure functions only.
"""

from __future__ import annotations

import re

WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
MAX_SERIAL = 99_999_999
_CODE = re.compile(r"^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$")
_LETTERS = re.compile(r"^[A-Z]{2}$")


def check_digit(serial: int | str) -> int:
    """The S10 check digit of an eight-digit serial: 11 - (weighted sum mod 11), where 10
    becomes 0 and 11 becomes 5."""
    digits = f"{int(serial):08d}"
    if len(digits) != 8:
        raise ValueError(f"an S10 serial has eight digits, not {digits!r}")
    check = 11 - sum(int(d) * w for d, w in zip(digits, WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(check, check)


def format_code(service_indicator: str, serial: int, country: str = "FI") -> str:
    """The full thirteen-character code for ``serial``."""
    if not _LETTERS.match(service_indicator) or not _LETTERS.match(country):
        raise ValueError("service indicator and country are two capital letters each")
    if not 0 <= serial <= MAX_SERIAL:
        raise ValueError(f"an S10 serial is 0..{MAX_SERIAL}, not {serial}")
    return f"{service_indicator}{serial:08d}{check_digit(serial)}{country}"


def is_valid(code: str) -> bool:
    """True when ``code`` has the S10 shape and its check digit matches its serial."""
    match = _CODE.match(code)
    return bool(match) and check_digit(match.group(2)) == int(match.group(3))


def is_service_indicator(value: str) -> bool:
    return bool(_LETTERS.match(value))
