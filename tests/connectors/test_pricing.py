"""The pricing rule: recommended retail price, or wholesale × markup + fixed, rounded up to a
price ending. Decimal only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from connectors.pricing import ENDINGS, PricingRule, retail_price, round_up_to_ending

money = st.decimals(min_value="0.01", max_value="99999.99", places=2)
markups = st.decimals(min_value="1", max_value="10", places=4)
fixed_amounts = st.decimals(min_value="0", max_value="500", places=2)
endings = st.sampled_from(ENDINGS)


@given(wholesale=money, markup=markups, fixed=fixed_amounts, ending=endings)
def test_markup_price_is_never_below_the_formula_and_has_the_ending(
        wholesale: Decimal, markup: Decimal, fixed: Decimal, ending: str) -> None:
    rule = PricingRule(basis="markup", markup=markup, fixed=fixed, ending=ending)
    price = retail_price(rule, wholesale=wholesale, recommended=Decimal("1"))
    raw = wholesale * markup + fixed
    assert price is not None and isinstance(price, Decimal)
    assert price >= raw
    assert price - raw < 1  # the smallest such price: less than one unit above
    assert f"{price % 1:.2f}" == ending


@given(wholesale=money, markup=markups, fixed=fixed_amounts)
def test_without_ending_the_price_is_rounded_up_to_the_cent(
        wholesale: Decimal, markup: Decimal, fixed: Decimal) -> None:
    rule = PricingRule(basis="markup", markup=markup, fixed=fixed, ending=None)
    price = retail_price(rule, wholesale=wholesale, recommended=None)
    raw = wholesale * markup + fixed
    assert price is not None and raw <= price < raw + Decimal("0.01")
    assert price == price.quantize(Decimal("0.01"))


@pytest.mark.parametrize(("amount", "ending", "expected"), [
    ("12.34", "0.90", "12.90"), ("12.90", "0.90", "12.90"), ("12.95", "0.90", "13.90"),
    ("12.96", "0.95", "13.95"), ("12.01", "0.99", "12.99"), ("12.00", "0.00", "12.00"),
    ("12.001", "0.00", "13.00"), ("0.50", "0.90", "0.90"),
])
def test_round_up_to_ending_examples(amount: str, ending: str, expected: str) -> None:
    assert round_up_to_ending(Decimal(amount), ending) == Decimal(expected)


def test_recommended_retail_price_is_used_as_given() -> None:
    rule = PricingRule(basis="recommended_retail", ending="0.90")
    assert retail_price(rule, wholesale=Decimal("5"), recommended=Decimal("24.95")) == \
        Decimal("24.95")


def test_recommended_basis_falls_back_to_the_formula_without_a_recommendation() -> None:
    rule = PricingRule(basis="recommended_retail", markup=Decimal("2"), fixed=Decimal("1"),
                       ending="0.90")
    assert retail_price(rule, wholesale=Decimal("5"), recommended=None) == Decimal("11.90")


def test_no_price_without_wholesale_or_recommendation() -> None:
    assert retail_price(PricingRule(), wholesale=None, recommended=None) is None


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        retail_price(PricingRule(basis="markup"), wholesale=5.0, recommended=None)  # type: ignore[arg-type]


def test_markup_below_one_is_refused() -> None:
    with pytest.raises(ValidationError):
        PricingRule(basis="markup", markup=Decimal("0.8"))


def test_rule_round_trips_through_json_without_floats() -> None:
    rule = PricingRule(basis="markup", markup=Decimal("1.35"), fixed=Decimal("2.50"))
    data = rule.model_dump(mode="json")
    assert data["markup"] == "1.35" and PricingRule.model_validate(data) == rule
