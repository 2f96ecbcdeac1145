"""The retailer's pricing rule: what a Glue product costs in the shop (DESIGN.md 7).

Either the supplier's recommended retail price, or wholesale × markup + a fixed amount rounded
*up* to a price ending (.90, .95, .99 or .00). Decimal only: a float never enters a price.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CENT = Decimal("0.01")
ENDINGS = ("0.90", "0.95", "0.99", "0.00")
Ending = Literal["0.90", "0.95", "0.99", "0.00"]


class PricingRule(BaseModel):
    """How a connection prices products.

    ``basis="recommended_retail"`` uses the product's recommended retail price as given and
    falls back to the markup formula for products without one; ``basis="markup"`` always uses
    ``wholesale × markup + fixed``. ``ending`` (None: plain cents) applies to the formula only:
    a recommended price is already a price point the supplier chose.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    basis: Literal["recommended_retail", "markup"] = "recommended_retail"
    markup: Decimal = Field(default=Decimal("2"), ge=1, max_digits=8, decimal_places=4,
                            description="Multiplier on the wholesale price; below 1 would sell "
                                        "under cost, so it is refused.")
    fixed: Decimal = Field(default=Decimal("0"), ge=0, max_digits=12, decimal_places=2,
                           description="Amount added after the markup, in the catalog currency.")
    ending: Ending | None = "0.90"


def round_up_to_ending(amount: Decimal, ending: Ending | None) -> Decimal:
    """The smallest price ``>= amount`` whose cents are ``ending`` (or whole cents if None).

    12.34 → 12.90 with ".90"; 12.95 → 13.90 with ".90"; 12.00 → 12.00 with ".00".
    """
    if ending is None:
        return amount.quantize(CENT, rounding=ROUND_CEILING)
    cents = Decimal(ending)
    candidate = amount.to_integral_value(rounding=ROUND_FLOOR) + cents
    if candidate < amount:
        candidate += 1
    return candidate.quantize(CENT)


def retail_price(rule: PricingRule, *, wholesale: Decimal | None,
                 recommended: Decimal | None) -> Decimal | None:
    """The shop price of one product under ``rule``; None when it cannot be priced.

    A product without a wholesale price (and, for ``recommended_retail``, without a
    recommended one) has no price; the publish engine leaves such products out.
    """
    for value in (wholesale, recommended):
        if isinstance(value, float):
            raise TypeError("prices must be Decimal, never float")
    if rule.basis == "recommended_retail" and recommended is not None and recommended > 0:
        return recommended.quantize(CENT, rounding=ROUND_CEILING)
    if wholesale is None:
        return None
    return round_up_to_ending(wholesale * rule.markup + rule.fixed, rule.ending)
