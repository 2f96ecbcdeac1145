"""Pure translations between Glue and Shopify's Admin API shapes (STYLE.md 3).

Glue listing document (:mod:`connectors.publish`) → ``productSet`` input and
``inventorySetQuantities`` inputs; Shopify order (webhook REST shape or GraphQL ``Order``) →
:class:`~connectors.base.OrderDraft`; Glue fulfilment → ``fulfillmentCreate`` input.
Nothing here does I/O. The Shopify quirks handled are listed where they are handled.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.base import (
    Address,
    FulfilmentRequest,
    OrderDraft,
    OrderDraftLine,
)
from connectors.errors import Fatal

INVENTORY_BATCH = 250  # every array argument of the Admin API holds at most 250 items
MAX_OPTIONS = 3  # options per product
DEFAULT_OPTION, DEFAULT_VALUE = "Title", "Default Title"  # Shopify's single-variant convention
FALLBACK_OPTION = "Variant"
GLUE_DOCUMENT_URI = "glue://connection/{connection}/listing/{key}"


# --- ids -----------------------------------------------------------------------------------

def gid(kind: str, value: str | int | None) -> str | None:
    """``gid://shopify/<kind>/<id>`` from a REST numeric id; a GID is returned unchanged."""
    if value is None or value == "":
        return None
    text = str(value)
    return text if text.startswith("gid://") else f"gid://shopify/{kind}/{text}"


def order_identity(order: Any) -> tuple[str, bool] | None:
    """The order GID (the draft's ``shop_order_id``) and whether it was cancelled, from a
    delivered (REST) or polled (GraphQL) order; None when it names no order."""
    if not isinstance(order, Mapping):
        return None
    order_id = gid("Order", order.get("admin_graphql_api_id") or order.get("id"))
    if order_id is None:
        return None
    return order_id, bool(order.get("cancelled_at") or order.get("cancelledAt"))


def handle_for(listing_key: str) -> str:
    """The product handle Glue gives a listing: deterministic, so a create retried after a
    crash finds the product of the first attempt instead of making a second one.

    Shopify handles are lowercase letters, digits and hyphens; a short digest of the key keeps
    two keys that slug alike (``A.B`` and ``A-B``) apart.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", listing_key.lower()).strip("-")[:200]
    digest = hashlib.sha256(listing_key.encode()).hexdigest()[:8]
    return f"glue-{slug}-{digest}"


# --- products ------------------------------------------------------------------------------

def _option_rows(variants: Sequence[Mapping[str, Any]],
                 option_names: Sequence[str]) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """Option names and each variant's (name, value) pairs, valid for Shopify.

    A single variant without options gets Shopify's ``Title / Default Title``. Several variants
    keep the supplier's ``Options`` when every variant has a value for every option, the
    combinations are unique and there are at most three options; otherwise each variant is
    told apart by its SKU under one ``Variant`` option, because Shopify refuses duplicates.
    """
    if len(variants) == 1 and not option_names:
        return [DEFAULT_OPTION], [[(DEFAULT_OPTION, DEFAULT_VALUE)]]
    rows: list[list[tuple[str, str]]] = []
    for variant in variants:
        values = dict(tuple(pair) for pair in variant.get("options") or [])
        rows.append([(name, values.get(name, "")) for name in option_names])
    combos = {tuple(v for _, v in row) for row in rows}
    usable = (0 < len(option_names) <= MAX_OPTIONS and len(combos) == len(rows)
              and all(value for row in rows for _, value in row))
    if usable:
        return list(option_names), rows
    return [FALLBACK_OPTION], [[(FALLBACK_OPTION, str(v["sku"]))] for v in variants]


def _description_html(document: Mapping[str, Any]) -> str:
    parts = [document.get("short_description") or "", document.get("description") or ""]
    paragraphs = [p.strip() for part in parts for p in part.split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def product_set_identifier(listing_key: str, product_id: str | None) -> dict[str, str]:
    """``ProductSetIdentifiers`` (API 2025-04+): the recorded shop id for an update, else the
    Glue handle, so ``productSet`` upserts and a retried create cannot make a second product."""
    return {"id": product_id} if product_id else {"handle": handle_for(listing_key)}


def product_set_input(document: Mapping[str, Any], *, location_id: str,
                      variant_ids: Mapping[int, str] | None = None) -> dict[str, Any]:
    """The ``ProductSetInput`` for one Glue listing document.

    ``variant_ids`` are the shop variant ids already recorded, so an update keeps its
    variants (``productSet`` replaces list fields: a variant missing here is deleted, which is
    only safe because the app owns these products). Quantities go to Glue's own location.
    """
    variants = document["variants"]
    names, rows = _option_rows(variants, document.get("options") or [])
    variant_ids = variant_ids or {}
    product_options = []
    for position, name in enumerate(names, start=1):
        values: list[str] = []
        for row in rows:
            value = dict(row)[name]
            if value not in values:
                values.append(value)
        product_options.append({"name": name, "position": position,
                                "values": [{"name": v} for v in values]})
    shop_variants = []
    for variant, row in zip(variants, rows, strict=True):
        entry: dict[str, Any] = {
            "optionValues": [{"optionName": n, "name": v} for n, v in row],
            "sku": variant["sku"],
            "price": str(variant["price"]),
            "inventoryPolicy": "DENY",
            "inventoryItem": {"tracked": True},
            "inventoryQuantities": [{"locationId": location_id, "name": "available",
                                     "quantity": int(variant["quantity"])}],
        }
        if variant.get("barcode"):
            entry["barcode"] = variant["barcode"]
        if variant.get("weight_kg") not in (None, ""):
            entry["inventoryItem"]["measurement"] = {
                "weight": {"value": float(Decimal(str(variant["weight_kg"]))),
                           "unit": "KILOGRAMS"}}
        if variant["product_id"] in variant_ids:
            entry["id"] = variant_ids[variant["product_id"]]
        shop_variants.append(entry)
    result: dict[str, Any] = {
        "title": document["title"],
        "handle": handle_for(document["key"]),
        "descriptionHtml": _description_html(document),
        "vendor": document.get("vendor") or "",
        "status": "ACTIVE",
        "productOptions": product_options,
        "variants": shop_variants,
        "files": [{"originalSource": url, "contentType": "IMAGE"}
                  for url in document.get("images") or []],
    }
    return result


def inventory_set_inputs(quantities: Iterable[tuple[str, int]], *, location_id: str,
                         reference: str) -> list[dict[str, Any]]:
    """``InventorySetQuantitiesInput`` objects, at most 250 quantities each.

    Glue's location is stocked only by Glue, so the compare-and-set check is skipped
    (``ignoreCompareQuantity``); negative quantities become 0.
    """
    items = [{"inventoryItemId": item, "locationId": location_id, "quantity": max(0, int(q))}
             for item, q in quantities]
    return [{"name": "available", "reason": "correction", "referenceDocumentUri": reference,
             "ignoreCompareQuantity": True, "quantities": items[i:i + INVENTORY_BATCH]}
            for i in range(0, len(items), INVENTORY_BATCH)]


# --- orders --------------------------------------------------------------------------------

def money(value: Any) -> Decimal:
    """Shopify sends money as decimal strings; read them exactly (never via float)."""
    if value is None or value == "":
        return Decimal("0")
    if isinstance(value, float):
        value = repr(value)
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise Fatal(f"unreadable amount {value!r}") from exc


def _shop_amount(plain: Any, money_set: Mapping[str, Any] | None, camel: bool = False) -> Decimal:
    """The shop-currency amount: from ``*_set.shop_money`` when present (multi-currency
    orders carry the customer's currency in ``presentment_money``), else the plain field."""
    key = "shopMoney" if camel else "shop_money"
    if money_set and money_set.get(key):
        return money(money_set[key].get("amount"))
    return money(plain)


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _address(data: Mapping[str, Any] | None, *, email: str = "") -> Address | None:
    if not data:
        return None
    name = data.get("name") or " ".join(
        p for p in (data.get("first_name") or data.get("firstName"),
                    data.get("last_name") or data.get("lastName")) if p)
    return Address(
        name=name or "", company=data.get("company") or "",
        street=data.get("address1") or "", street2=data.get("address2") or "",
        postal_code=data.get("zip") or "", city=data.get("city") or "",
        country=data.get("country_code") or data.get("countryCodeV2")
        or data.get("countryCode") or "",
        email=email, phone=data.get("phone") or "")


def _rest_lines(order: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for item in order.get("line_items") or []:
        yield {
            "id": gid("LineItem", item.get("id")),
            "variant": gid("ProductVariant", item.get("variant_id")),
            "sku": item.get("sku") or "",
            "quantity": item.get("current_quantity", item.get("quantity")) or 0,
            "price": _shop_amount(item.get("price"), item.get("price_set")),
            "discount": sum((_shop_amount(d.get("amount"), d.get("amount_set"))
                             for d in item.get("discount_allocations") or []), Decimal("0")),
            "title": item.get("name") or item.get("title") or "",
        }


def _graphql_lines(order: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    items = order.get("lineItems") or {}
    nodes = items.get("nodes") or [e["node"] for e in items.get("edges") or []]
    for item in nodes:
        variant = item.get("variant") or {}
        yield {
            "id": item.get("id"),
            "variant": variant.get("id"),
            "sku": item.get("sku") or "",
            "quantity": item.get("currentQuantity", item.get("quantity")) or 0,
            "price": _shop_amount(None, item.get("originalUnitPriceSet"), camel=True),
            "discount": sum((_shop_amount(None, d.get("allocatedAmountSet"), camel=True)
                             for d in item.get("discountAllocations") or []), Decimal("0")),
            "title": item.get("name") or item.get("title") or "",
        }


def variant_ids(order: Mapping[str, Any]) -> list[str]:
    """The variant GIDs an order's lines name (custom items have none), so the caller can
    look up only those in the external references before calling :func:`order_draft`."""
    lines = _graphql_lines(order) if "lineItems" in order else _rest_lines(order)
    return [line["variant"] for line in lines if line["variant"]]


def order_draft(order: Mapping[str, Any],
                variant_products: Mapping[str, int]) -> OrderDraft | None:
    """A Glue order draft from a Shopify order, REST/webhook shape or GraphQL ``Order``.

    Only lines whose variant maps to a Glue product (``variant_products``: variant GID →
    product id, from the external references) are taken: custom line items (``variant_id``
    null), the merchant's own products and lines removed by an order edit (current quantity 0)
    are counted in ``ignored_lines``. Money is the shop currency (presentment currency is the
    customer's view only). No shipping address means pickup: ``delivery_address`` is None.
    None when no line is a Glue product.
    """
    graphql = "lineItems" in order
    lines, ignored = [], 0
    for line in (_graphql_lines(order) if graphql else _rest_lines(order)):
        product_id = variant_products.get(line["variant"]) if line["variant"] else None
        if product_id is None or int(line["quantity"]) <= 0:
            ignored += 1
            continue
        lines.append(OrderDraftLine(
            shop_line_id=line["id"], product_id=product_id, sku=line["sku"],
            quantity=int(line["quantity"]), price=line["price"], discount=line["discount"],
            title=line["title"]))
    if not lines:
        return None
    if graphql:
        email = order.get("email") or (order.get("customer") or {}).get("email") or ""
        shipping, billing = order.get("shippingAddress"), order.get("billingAddress")
        total = _shop_amount(None, order.get("totalPriceSet"), camel=True) \
            if order.get("totalPriceSet") else None
        status = (order.get("displayFinancialStatus") or "").lower()
        currency, created = order.get("currencyCode") or "", order.get("createdAt")
        cancelled, note = bool(order.get("cancelledAt")), order.get("note") or ""
    else:
        email = order.get("email") or order.get("contact_email") or \
            (order.get("customer") or {}).get("email") or ""
        shipping, billing = order.get("shipping_address"), order.get("billing_address")
        total = _shop_amount(order.get("total_price"), order.get("total_price_set")) \
            if order.get("total_price") is not None or order.get("total_price_set") else None
        status = order.get("financial_status") or ""
        currency, created = order.get("currency") or "", order.get("created_at")
        cancelled, note = bool(order.get("cancelled_at")), order.get("note") or ""
    customer = (_address(billing, email=email) or _address(shipping, email=email)
                or Address(name=_customer_name(order), email=email))
    return OrderDraft(
        shop_order_id=gid("Order", order.get("admin_graphql_api_id") or order.get("id")) or "",
        number=str(order.get("name") or order.get("order_number") or ""),
        created_at=_parse_time(created), currency=currency, financial_status=status,
        lines=tuple(lines), delivery_address=_address(shipping, email=email),
        customer=customer, ignored_lines=ignored, total_price=total, note=note,
        cancelled=cancelled)


def _customer_name(order: Mapping[str, Any]) -> str:
    customer = order.get("customer") or {}
    first = customer.get("first_name") or customer.get("firstName") or ""
    last = customer.get("last_name") or customer.get("lastName") or ""
    return f"{first} {last}".strip()


# --- fulfilment ----------------------------------------------------------------------------

OPEN_FULFILLMENT_ORDER = ("OPEN", "IN_PROGRESS")


def tracking_info(carrier: str, parcels: Sequence[Any]) -> dict[str, Any]:
    """``FulfillmentTrackingInput``: ``number``/``url`` for one parcel, ``numbers``/``urls``
    for several (Shopify accepts one pair or the other, never both)."""
    numbers = [code for parcel in parcels for code in parcel.tracking_codes]
    urls = [parcel.tracking_url for parcel in parcels for _ in parcel.tracking_codes]
    info: dict[str, Any] = {"company": carrier}
    if len(numbers) == 1:
        info["number"] = numbers[0]
        if urls[0]:
            info["url"] = urls[0]
    elif numbers:
        info["numbers"] = numbers
        if all(urls):
            info["urls"] = urls
    return info


def fulfillment_create_input(request: FulfilmentRequest,
                             fulfillment_orders: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The ``FulfillmentInput`` for a delivered Glue shipment.

    ``request.lines`` names order line GIDs and quantities; ``fulfillment_orders`` are the
    order's fulfillment orders as queried (``id``, ``status``, ``lineItems.nodes`` with ``id``,
    ``remainingQuantity`` and ``lineItem.id``). Fulfillment-order line ids differ from order
    line ids, hence the mapping. Raises :class:`Fatal` when a line has nothing left to fulfil
    in an open fulfillment order (already fulfilled, or not assigned to Glue's location).
    """
    wanted = dict(request.lines)
    by_order: dict[str, list[dict[str, Any]]] = {}
    for fo in fulfillment_orders:
        if fo.get("status") not in OPEN_FULFILLMENT_ORDER:
            continue
        for item in (fo.get("lineItems") or {}).get("nodes") or []:
            line_id = (item.get("lineItem") or {}).get("id")
            left = min(wanted.get(line_id, 0), int(item.get("remainingQuantity") or 0))
            if left > 0:
                by_order.setdefault(fo["id"], []).append({"id": item["id"], "quantity": left})
                wanted[line_id] -= left
    missing = {line: qty for line, qty in wanted.items() if qty > 0}
    if missing:
        raise Fatal("shop lines not open for fulfilment: " + ", ".join(sorted(missing)),
                    lines=missing)
    return {
        "lineItemsByFulfillmentOrder": [
            {"fulfillmentOrderId": fo_id, "fulfillmentOrderLineItems": items}
            for fo_id, items in by_order.items()],
        "trackingInfo": tracking_info(request.carrier, request.parcels),
        "notifyCustomer": request.notify_customer,
    }
