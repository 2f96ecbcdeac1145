"""GTIN check digits and the two externalId alphabets."""

from __future__ import annotations

import pytest

from core.errors import ValidationFailed
from core.validation import (
    is_valid_gtin,
    validate_code128_id,
    validate_ean,
    validate_external_id,
)

# Published examples with correct check digits: GTIN-8, UPC-A (GTIN-12), EAN-13, GTIN-14.
VALID_GTINS = ["96385074", "036000291452", "4006381333931", "00012345600012", "6410405082657"]


@pytest.mark.parametrize("code", VALID_GTINS)
def test_valid_gtins_of_every_length_pass(code: str) -> None:
    assert is_valid_gtin(code)
    assert validate_ean(code) == code


@pytest.mark.parametrize("code", VALID_GTINS)
def test_every_wrong_check_digit_is_refused(code: str) -> None:
    # given every other digit in the check position
    for digit in "0123456789":
        if digit == code[-1]:
            continue
        # when / then
        assert not is_valid_gtin(code[:-1] + digit)


@pytest.mark.parametrize("code", [
    "", "1234567", "963850740", "0360002914521", "400638133393100", "40063813339 1",
    "4006381333931\n", "400638133393a", "-96385074", "٤٠٠٦٣٨١٣٣٣٩٣١",
])
def test_wrong_lengths_and_non_digits_are_not_gtins(code: str) -> None:
    assert not is_valid_gtin(code)


def test_validate_ean_names_the_field_and_the_problem() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_ean("4006381333932")
    assert caught.value.errors == [{"field": "eanCode",
                                    "message": "check digit of '4006381333932' is wrong"}]

    with pytest.raises(ValidationFailed) as caught:
        validate_ean("123", field="productEANCode")
    assert caught.value.errors[0]["field"] == "productEANCode"
    assert "8, 12, 13 or 14 digits" in caught.value.errors[0]["message"]


def test_validate_ean_refuses_non_strings() -> None:
    with pytest.raises(ValidationFailed):
        validate_ean(4006381333931)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["A", "SKU-1.2", "abc.DEF-009", "x" * 64, "-.-"])
def test_product_external_ids_of_letters_digits_dash_and_dot_pass(value: str) -> None:
    assert validate_external_id(value) == value


@pytest.mark.parametrize("value", [
    "", "x" * 65, "SKU 1", "SKU_1", "SKU/1", "tuote-ä", "SKU-1\n", " SKU", "SKU#1", None, 12,
])
def test_other_product_external_ids_are_refused(value: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_external_id(value, field="product.externalId")  # type: ignore[arg-type]
    assert caught.value.errors[0]["field"] == "product.externalId"


@pytest.mark.parametrize("value", ["ORDER-1", "PO 2024/17#A", "~!{}|", "x" * 64, "12345678"])
def test_code128_ids_of_printable_ascii_pass(value: str) -> None:
    assert validate_code128_id(value, "externalId") == value


@pytest.mark.parametrize("value", [
    "", "x" * 65, " ORDER", "ORDER ", "ORD\tER", "tilaus-ä", "ORDER\x7f", "€1", None,
])
def test_code128_ids_refuse_what_a_barcode_cannot_print(value: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_code128_id(value, "catalogExternalId")  # type: ignore[arg-type]
    assert caught.value.errors[0]["field"] == "catalogExternalId"
