"""Orders in the Shopify sandbox: the storefront's checkout, and an order in its two shapes
(the REST shape webhooks carry, the GraphQL ``Order`` the Admin API answers).

Money is kept as Decimal and written as strings with two decimals, as Shopify does; every
amount has its ``*_set`` twin with shop and presentment money (one currency here).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.shopify import ShopifySandbox, ShopState

CENT = Decimal("0.01")


def _amount(value: Decimal) -> str:
    return str(value.quantize(CENT))


def place_order(sandbox: ShopifySandbox, state: ShopState, lines: list[Mapping[str, Any]], *,
                email: str, shipping_address: Mapping[str, Any] | None,
                paid: bool) -> dict[str, Any]:
    """Create the order and one fulfillment order per location its lines ship from; the
    caller holds the sandbox lock. ValueError for an unknown variant or too little stock."""
    from sandbox.shopify import money, number_of

    now = datetime.now(UTC).replace(microsecond=0)
    order_lines, by_location = [], {}
    taken: list[tuple[tuple[int, int], int]] = []
    for line in lines:
        quantity = int(line.get("quantity") or 1)
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        entry: dict[str, Any] = {"id": sandbox.next_id(), "quantity": quantity,
                                 "variant_id": None, "product_id": None, "sku": "",
                                 "title": str(line.get("title") or "Custom item"),
                                 "vendor": None}
        variant_number = number_of(line.get("variant_id"))
        if variant_number is not None:
            variant = state.variants.get(variant_number)
            if variant is None:
                raise ValueError(f"unknown variant {line.get('variant_id')}")
            product = state.products[variant["product_id"]]
            location = _stocked_location(state, variant["inventory_item_id"], quantity)
            taken.append(((variant["inventory_item_id"], location), quantity))
            entry.update(variant_id=variant["id"], product_id=product["id"],
                         sku=variant["sku"], title=product["title"],
                         vendor=product.get("vendor") or None,
                         price=Decimal(variant["price"]))
        else:  # a custom item: no variant, ships from the merchant's location
            price = money(line.get("price"))
            if price is None:
                raise ValueError("a custom item needs a price")
            entry["price"] = price
            location = state.merchant_location
        order_lines.append(entry)
        by_location.setdefault(location, []).append(entry)
    for key, quantity in taken:
        state.inventory[key] -= quantity
    number = 1000 + len(state.orders) + 1
    order = {"id": sandbox.next_id(), "number": number, "name": f"#{number}",
             "created_at": now, "updated_at": now, "cancelled_at": None, "email": email,
             "financial_status": "paid" if paid else "pending", "currency": state.currency,
             "lines": order_lines, "shipping_address": dict(shipping_address)
             if shipping_address else None, "note": None, "tags": [],
             "fulfillment_order_ids": [], "fulfillment_ids": []}
    for location, entries in by_location.items():
        fo = {"id": sandbox.next_id(), "order_id": order["id"], "location_id": location,
              "status": "OPEN",
              "lines": [{"id": sandbox.next_id(), "line_item_id": e["id"],
                         "total": e["quantity"], "remaining": e["quantity"]} for e in entries]}
        state.fulfillment_orders[fo["id"]] = fo
        order["fulfillment_order_ids"].append(fo["id"])
    state.orders[order["id"]] = order
    return order


def _stocked_location(state: ShopState, item: int, quantity: int) -> int:
    """The location whose stock covers ``quantity`` of ``item`` (the app's first)."""
    stocked = [(loc, q) for (it, loc), q in state.inventory.items() if it == item]
    if not stocked:
        raise ValueError(f"inventory item {item} is not stocked anywhere")
    for location, available in sorted(stocked, key=lambda s: s[0] != state.merchant_location):
        if available >= quantity:
            return location
    raise ValueError("not enough stock")


def _total(order: Mapping[str, Any]) -> Decimal:
    return sum((line["price"] * line["quantity"] for line in order["lines"]), Decimal("0"))


def _money_set(amount: Decimal, currency: str) -> dict[str, Any]:
    money = {"amount": _amount(amount), "currency_code": currency}
    return {"shop_money": money, "presentment_money": dict(money)}


def rest_order(state: ShopState, order: Mapping[str, Any]) -> dict[str, Any]:
    """The order as ``orders/create`` carries it (REST shape: numeric ids, money strings)."""
    from sandbox.shopify import gid

    currency = order["currency"]
    address = order["shipping_address"]
    return {
        "id": order["id"], "admin_graphql_api_id": gid("Order", order["id"]),
        "name": order["name"], "order_number": order["number"], "email": order["email"],
        "contact_email": order["email"], "created_at": order["created_at"].isoformat(),
        "updated_at": order["updated_at"].isoformat(),
        "cancelled_at": order["cancelled_at"].isoformat() if order["cancelled_at"] else None,
        "financial_status": order["financial_status"], "currency": currency,
        "presentment_currency": currency, "total_price": _amount(_total(order)),
        "total_price_set": _money_set(_total(order), currency), "note": order["note"],
        "tags": ", ".join(order["tags"]), "test": True,
        "customer": {"email": order["email"],
                     "first_name": (address or {}).get("first_name"),
                     "last_name": (address or {}).get("last_name")},
        "shipping_address": address, "billing_address": address,
        "line_items": [{
            "id": line["id"], "admin_graphql_api_id": gid("LineItem", line["id"]),
            "variant_id": line["variant_id"], "product_id": line["product_id"],
            "sku": line["sku"], "title": line["title"], "name": line["title"],
            "variant_title": None, "vendor": line["vendor"], "quantity": line["quantity"],
            "current_quantity": line["quantity"], "fulfillable_quantity": line["quantity"],
            "price": _amount(line["price"]),
            "price_set": _money_set(line["price"], currency), "total_discount": "0.00",
            "total_discount_set": _money_set(Decimal("0"), currency),
            "discount_allocations": [], "requires_shipping": True, "taxable": True,
            "gift_card": False, "properties": [], "product_exists": line["product_id"]
            is not None} for line in order["lines"]],
    }


def _bag(amount: Decimal, currency: str) -> dict[str, Any]:
    money = {"amount": _amount(amount), "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": dict(money)}


def _address(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not data:
        return None
    name = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
    return {"name": data.get("name") or name, "firstName": data.get("first_name"),
            "lastName": data.get("last_name"), "company": data.get("company"),
            "address1": data.get("address1"), "address2": data.get("address2"),
            "zip": data.get("zip"), "city": data.get("city"),
            "countryCodeV2": data.get("country_code"), "phone": data.get("phone")}


def graphql_order(state: ShopState, order: Mapping[str, Any], *,
                  render_variant: Any, fulfillment_orders: Any,
                  fulfillments: Any) -> dict[str, Any]:
    """The order as a GraphQL ``Order`` (connections are resolvers taking ``first``)."""
    from sandbox.shopify import gid
    from sandbox.shopify_resolvers import connection

    currency = order["currency"]
    address = order["shipping_address"]
    lines = [{
        "id": gid("LineItem", line["id"]), "sku": line["sku"] or None, "name": line["title"],
        "title": line["title"], "quantity": line["quantity"],
        "currentQuantity": line["quantity"],
        "variant": render_variant(line["variant_id"]) if line["variant_id"] else None,
        "originalUnitPriceSet": _bag(line["price"], currency), "discountAllocations": [],
    } for line in order["lines"]]
    return {
        "id": gid("Order", order["id"]), "name": order["name"],
        "createdAt": order["created_at"].isoformat().replace("+00:00", "Z"),
        "updatedAt": order["updated_at"].isoformat().replace("+00:00", "Z"),
        "cancelledAt": order["cancelled_at"].isoformat() if order["cancelled_at"] else None,
        "displayFinancialStatus": order["financial_status"].upper(),
        "currencyCode": currency, "presentmentCurrencyCode": currency,
        "email": order["email"], "note": order["note"], "tags": list(order["tags"]),
        "totalPriceSet": _bag(_total(order), currency),
        "customer": {"firstName": (address or {}).get("first_name"),
                     "lastName": (address or {}).get("last_name"), "email": order["email"]},
        "shippingAddress": _address(address), "billingAddress": _address(address),
        "lineItems": connection(lines),
        "fulfillmentOrders": connection(fulfillment_orders(order, lines)),
        "fulfillments": lambda info, first=None: fulfillments(order),
    }
