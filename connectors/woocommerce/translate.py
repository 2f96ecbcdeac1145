"""Pure translations between Glue and WooCommerce's REST API v3 shapes (STYLE.md 3).

Glue listing document (:mod:`connectors.publish`) → product and variation payloads for
``products/batch`` and ``products/<id>/variations/batch``; WooCommerce order (webhook body or
``GET orders``) → :class:`~connectors.base.OrderDraft`; delivered Glue shipment → order note
text and ``_wc_shipment_tracking_items`` meta. Nothing here does I/O. The WooCommerce quirks
handled are named where they are handled (see ``reference/platforms.md`` §2 and §7).
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from connectors.base import Address, FulfilmentRequest, OrderDraft, OrderDraftLine
from connectors.errors import Fatal

CENT = Decimal("0.01")
FALLBACK_ATTRIBUTE = "Variant"
LISTING_META = "_glue_listing"  # marks a shop product as Glue's (never touch the others)
PRODUCT_META = "_glue_product"  # the Glue product id of a simple product or a variation
TRACKING_META = "_wc_shipment_tracking_items"  # read by the WooCommerce Shipment Tracking ext.
FULFILLED_META = "_glue_fulfilled_lines"  # line id → quantity Glue reported delivered
# Never Glue orders: block checkout drafts leak into order webhooks (woocommerce#37958, #66995)
# and the others are WordPress's own drafts.
DRAFT_STATUSES = frozenset({"checkout-draft", "draft", "auto-draft", "new"})
UNPAID_STATUSES = frozenset({"pending", "failed"})
CANCELLED_STATUSES = frozenset({"cancelled", "refunded", "trash"})
PICKUP_METHODS = frozenset({"local_pickup", "pickup_location"})


# --- products ------------------------------------------------------------------------------

def is_variable(document: Mapping[str, Any]) -> bool:
    """A variant group (listing key ``g…``) is a variable product even with one member, so a
    group that grows never has to turn a simple product (whose SKU is taken) into a parent."""
    return str(document["key"]).startswith("g")


def parent_sku(listing_key: str) -> str:
    """The SKU of a variable parent: deterministic, so a create retried after a crash meets
    the first attempt's product (``product_invalid_sku`` with its ``resource_id``)."""
    return f"glue-{listing_key}"


def listing_sku(document: Mapping[str, Any]) -> str:
    """The SKU of the shop product a listing becomes."""
    if is_variable(document):
        return parent_sku(document["key"])
    return str(document["variants"][0]["sku"])


def attribute_rows(document: Mapping[str, Any]) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """Attribute names and each variant's (name, value) pairs, valid for WooCommerce.

    The supplier's ``Options`` are kept when every variant has a value for every option and
    the combinations are unique; otherwise each variant is told apart by its SKU under one
    ``Variant`` attribute, because two variations with the same attributes cannot be bought
    apart in the storefront.
    """
    variants = document["variants"]
    names = list(document.get("options") or [])
    rows = []
    for variant in variants:
        values = dict(tuple(pair) for pair in variant.get("options") or [])
        rows.append([(name, str(values.get(name, ""))) for name in names])
    combos = {tuple(v for _, v in row) for row in rows}
    if names and len(combos) == len(rows) and all(v for row in rows for _, v in row):
        return names, rows
    return [FALLBACK_ATTRIBUTE], [[(FALLBACK_ATTRIBUTE, str(v["sku"]))] for v in variants]


def _paragraphs(text: str) -> str:
    """Plain supplier text as HTML paragraphs (WooCommerce stores HTML and shows it as is)."""
    parts = [p.strip() for p in (text or "").split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in parts)


def images_hash(document: Mapping[str, Any]) -> str:
    """A digest of the listing's image URLs: WooCommerce downloads every ``src`` it is sent
    again, so images go out only when this differs from what was last pushed."""
    return hashlib.sha256(json.dumps(list(document.get("images") or [])).encode()).hexdigest()


def _stock(quantity: Any) -> dict[str, Any]:
    return {"manage_stock": True, "stock_quantity": max(0, int(quantity)), "backorders": "no"}


def _weight(variant: Mapping[str, Any]) -> dict[str, str]:
    weight = variant.get("weight_kg")
    if weight in (None, ""):
        return {}
    # the shop's weight unit is assumed to be kg (WooCommerce's default for FI shops)
    return {"weight": str(Decimal(str(weight)).normalize())}


def product_payload(document: Mapping[str, Any], *, attribute_ids: Mapping[str, int],
                    product_id: str | None = None, with_images: bool = True) -> dict[str, Any]:
    """The ``products/batch`` create (no ``product_id``) or update entry for one listing.

    Simple products carry SKU, GTIN (``global_unique_id``, WooCommerce 9.2+), price as a
    string and managed stock; variable products carry the attributes (global by id when
    ``attribute_ids`` names them, else local by name) with ``variation: true``, and their
    variations go separately (:func:`variations_batch`).
    """
    payload: dict[str, Any] = {
        "name": document["title"],
        "status": "publish",
        "description": _paragraphs(document.get("description") or ""),
        "short_description": _paragraphs(document.get("short_description") or ""),
        "sku": listing_sku(document),
        "meta_data": [{"key": LISTING_META, "value": document["key"]}],
    }
    if product_id:
        payload["id"] = int(product_id)
    if with_images:
        payload["images"] = [{"src": url} for url in document.get("images") or []]
    if is_variable(document):
        names, rows = attribute_rows(document)
        payload["type"] = "variable"
        payload["attributes"] = []
        for position, name in enumerate(names):
            options: list[str] = []
            for row in rows:
                value = dict(row)[name]
                if value not in options:
                    options.append(value)
            payload["attributes"].append({**_attribute_ref(name, attribute_ids),
                                          "position": position, "visible": True,
                                          "variation": True, "options": options})
        return payload
    variant = document["variants"][0]
    payload.update(type="simple", regular_price=str(variant["price"]), **_stock(
        variant["quantity"]), **_weight(variant))
    payload["meta_data"].append({"key": PRODUCT_META, "value": str(variant["product_id"])})
    if variant.get("barcode"):
        payload["global_unique_id"] = str(variant["barcode"])
    return payload


def _attribute_ref(name: str, attribute_ids: Mapping[str, int]) -> dict[str, Any]:
    attribute_id = attribute_ids.get(name.casefold())
    return {"id": attribute_id} if attribute_id else {"name": name}


def variations_batch(document: Mapping[str, Any], *, attribute_ids: Mapping[str, int],
                     variation_ids: Mapping[int, str],
                     remove: Iterable[str] = ()) -> dict[str, list[Any]]:
    """The ``products/<parent>/variations/batch`` body for a variable listing.

    ``variation_ids`` (Glue product id → variation id) are the variations recorded under this
    parent: those are updated, the others created; ``remove`` names recorded variations whose
    Glue products left the group.
    """
    names, rows = attribute_rows(document)
    create, update = [], []
    for variant, row in zip(document["variants"], rows, strict=True):
        entry: dict[str, Any] = {
            "sku": str(variant["sku"]),
            "regular_price": str(variant["price"]),
            **_stock(variant["quantity"]), **_weight(variant),
            "attributes": [{**_attribute_ref(name, attribute_ids), "option": value}
                           for name, value in row],
            "meta_data": [{"key": PRODUCT_META, "value": str(variant["product_id"])}],
        }
        if variant.get("barcode"):
            entry["global_unique_id"] = str(variant["barcode"])
        if variant["product_id"] in variation_ids:
            update.append({"id": int(variation_ids[variant["product_id"]]), **entry})
        else:
            create.append(entry)
    batch: dict[str, list[Any]] = {}
    for key, items in (("create", create), ("update", update),
                       ("delete", [int(v) for v in remove])):
        if items:
            batch[key] = items
    return batch


def stock_entry(shop_id: str, quantity: int) -> dict[str, Any]:
    """One ``update`` entry that sets only a quantity (never a price or a text)."""
    return {"id": int(shop_id), **_stock(quantity)}


# --- orders --------------------------------------------------------------------------------

def money(value: Any) -> Decimal:
    """WooCommerce money: decimal strings, except the line ``price``, which is a JSON number
    (unrounded, ``15.8565735``); read both exactly, never through float arithmetic."""
    if value is None or value == "":
        return Decimal("0")
    if isinstance(value, float):
        value = repr(value)
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise Fatal(f"unreadable amount {value!r}") from exc


def line_shop_id(item: Mapping[str, Any]) -> str | None:
    """The shop id a line names: its variation, or its product (``variation_id`` is 0, not
    null, for simple products). None for a line without a product (a deleted product)."""
    for key in ("variation_id", "product_id"):
        value = item.get(key)
        if value not in (None, "", 0, "0"):
            return str(value)
    return None


def variant_ids(order: Mapping[str, Any]) -> list[str]:
    """The shop ids an order's lines name, so the caller looks up only those in the external
    references before calling :func:`order_draft`."""
    ids = (line_shop_id(item) for item in order.get("line_items") or [])
    return [i for i in ids if i]


def variation_attributes(item: Mapping[str, Any]) -> dict[str, str]:
    """A line's variation attributes from its ``meta_data``: ``display_key``/``display_value``
    when WooCommerce sends them, else the raw key (``pa_koko`` → ``koko``; a custom attribute's
    key has its non-ASCII letters dropped: ``Väri`` → ``vari``) and value (a taxonomy slug
    such as ``m``, or the raw text). Internal keys (leading ``_``) are skipped."""
    found: dict[str, str] = {}
    for meta in item.get("meta_data") or []:
        key = str(meta.get("key") or "")
        if not key or key.startswith("_") or isinstance(meta.get("value"), (dict, list)):
            continue
        name = meta.get("display_key") or key.removeprefix("pa_")
        value = meta.get("display_value") or meta.get("value")
        found[html.unescape(str(name))] = html.unescape(str(value))
    return found


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _line(item: Mapping[str, Any], product_id: int, gross: bool) -> OrderDraftLine:
    quantity = int(item.get("quantity") or 0)
    total, subtotal = money(item.get("total")), money(item.get("subtotal"))
    if gross:  # what the customer paid: WooCommerce's line totals are always ex-tax
        total += money(item.get("total_tax"))
        subtotal += money(item.get("subtotal_tax"))
    return OrderDraftLine(
        shop_line_id=str(item.get("id")), product_id=product_id, sku=item.get("sku") or "",
        quantity=quantity, price=_cents(total / quantity),
        discount=_cents(max(Decimal("0"), subtotal - total)),
        title=html.unescape(str(item.get("name") or "")))


def _address(data: Mapping[str, Any] | None, *, email: str = "") -> Address | None:
    """An address, or None when WooCommerce sent only empty fields (virtual orders, REST
    orders without shipping)."""
    if not data or not any(data.get(k) for k in ("address_1", "postcode", "city")):
        return None
    name = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
    return Address(name=name, company=data.get("company") or "",
                   street=data.get("address_1") or "", street2=data.get("address_2") or "",
                   postal_code=data.get("postcode") or "", city=data.get("city") or "",
                   country=data.get("country") or "", email=email or data.get("email") or "",
                   phone=data.get("phone") or "")


def is_pickup(order: Mapping[str, Any]) -> bool:
    """Whether the customer collects the order (local pickup, classic or blocks)."""
    return any(line.get("method_id") in PICKUP_METHODS
               for line in order.get("shipping_lines") or [])


def _parse_time(order: Mapping[str, Any], field: str) -> datetime | None:
    """``date_*_gmt`` is UTC without an offset; ``date_*`` is site-local and is not used."""
    value = order.get(f"{field}_gmt")
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def order_identity(order: Any) -> tuple[str, bool] | None:
    """The order ``id`` (the draft's ``shop_order_id``) and whether its status cancels it;
    None when the payload names no order."""
    if not isinstance(order, Mapping) or order.get("id") in (None, "", 0):
        return None
    return str(order["id"]), order.get("status") in CANCELLED_STATUSES


def financial_status(order: Mapping[str, Any]) -> str:
    """``paid`` once WooCommerce recorded a payment (``date_paid``), ``refunded`` for a
    refunded order, else ``pending``: the order statuses themselves are open-ended."""
    if order.get("status") == "refunded":
        return "refunded"
    return "paid" if order.get("date_paid_gmt") or order.get("date_paid") else "pending"


def _note(order: Mapping[str, Any]) -> str:
    """The customer's note, with the coupon codes used (the draft has no field of its own)."""
    parts = [str(order.get("customer_note") or "").strip()]
    codes = [str(c.get("code")) for c in order.get("coupon_lines") or [] if c.get("code")]
    if codes:
        parts.append("Coupons: " + ", ".join(codes))
    return "\n".join(p for p in parts if p)


def order_draft(order: Mapping[str, Any], variant_products: Mapping[str, int], *,
                include_pending: bool = False) -> OrderDraft | None:
    """A Glue order draft from a WooCommerce order (webhook body or REST answer).

    Only lines whose variation (or, for simple products, product) maps to a Glue product
    (``variant_products``: shop id → Glue product id) are taken; the merchant's own products
    and lines of deleted products count in ``ignored_lines``. None when no line is a Glue
    product, for drafts (``checkout-draft`` leaks into webhooks) and, unless
    ``include_pending``, for unpaid orders (``pending``, ``failed``).

    Money is the order currency. A line's ``price`` is the unit price the customer paid after
    line discounts (coupons), tax included when the shop's prices include tax; ``discount`` is
    the line's whole coupon discount on the same basis. A pickup order has no delivery
    address; otherwise the shipping address, or the billing address when the shipping one is
    empty. Guests (``customer_id`` 0) are read from the billing address like customers.
    """
    status = str(order.get("status") or "")
    if status in DRAFT_STATUSES or (status in UNPAID_STATUSES and not include_pending):
        return None
    gross = bool(order.get("prices_include_tax"))
    lines, ignored = [], 0
    for item in order.get("line_items") or []:
        shop_id = line_shop_id(item)
        product_id = variant_products.get(shop_id) if shop_id else None
        if product_id is None or int(item.get("quantity") or 0) <= 0:
            ignored += 1
            continue
        lines.append(_line(item, product_id, gross))
    if not lines:
        return None
    billing = order.get("billing") or {}
    email = billing.get("email") or ""
    customer = _address(billing, email=email) or Address(
        name=" ".join(p for p in (billing.get("first_name"), billing.get("last_name")) if p),
        email=email, phone=billing.get("phone") or "")
    delivery = None if is_pickup(order) else (
        _address(order.get("shipping"), email=email) or customer)
    if delivery is not None and not delivery.phone and customer.phone:
        delivery = Address(**{**delivery.__dict__, "phone": customer.phone})
    return OrderDraft(
        shop_order_id=str(order.get("id")), number=str(order.get("number") or order.get("id")),
        created_at=_parse_time(order, "date_created"), currency=order.get("currency") or "",
        financial_status=financial_status(order), lines=tuple(lines),
        delivery_address=delivery, customer=customer, ignored_lines=ignored,
        total_price=money(order.get("total")) if order.get("total") not in (None, "") else None,
        note=_note(order), cancelled=status in CANCELLED_STATUSES)


def modified_at(order: Mapping[str, Any]) -> datetime | None:
    """When the order last changed (UTC): the reconciliation's high-water mark."""
    return _parse_time(order, "date_modified")


# --- fulfilment ----------------------------------------------------------------------------

NOTE_TEXTS = {
    "fi": ("Tilauksesi on lähetetty.", "Kuljetusyhtiö", "Seurantakoodi", "Seuraa lähetystä"),
    "sv": ("Din beställning har skickats.", "Transportör", "Spårningskod", "Spåra försändelsen"),
    "en": ("Your order has been shipped.", "Carrier", "Tracking code", "Track the parcel"),
}


def fulfilment_note(fulfilment: FulfilmentRequest, language: str) -> str:
    """The order note for the customer: carrier, tracking codes and links, in the
    connection's language (the recorded Finnish note is the model)."""
    shipped, carrier_label, code_label, link_label = NOTE_TEXTS.get(language, NOTE_TEXTS["en"])
    lines = [shipped, f"{carrier_label}: {fulfilment.carrier}"]
    for parcel in fulfilment.parcels:
        for code in parcel.tracking_codes:
            lines.append(f"{code_label}: {code}")
        if parcel.tracking_url:
            lines.append(f"{link_label}: {parcel.tracking_url}")
    return "\n".join(lines)


def _tracking_id(shipment_id: str, code: str) -> str:
    """Deterministic, so a retried push replaces its own items instead of adding twins."""
    return hashlib.md5(f"{shipment_id}:{code}".encode(), usedforsecurity=False).hexdigest()


def _meta(order: Mapping[str, Any], key: str) -> Any:
    for meta in order.get("meta_data") or []:
        if meta.get("key") == key:
            return meta.get("value")
    return None


def tracking_items(order: Mapping[str, Any], fulfilment: FulfilmentRequest, *,
                   now: datetime) -> list[dict[str, str]]:
    """The order's ``_wc_shipment_tracking_items`` with this shipment's parcels added, in the
    shape the Shipment Tracking extension reads (``date_shipped`` a Unix time string). Items
    other than Glue's are kept as they are."""
    existing = _meta(order, TRACKING_META)
    items = [dict(i) for i in existing if isinstance(i, Mapping)] \
        if isinstance(existing, list) else []
    known = {i.get("tracking_id") for i in items}
    shipped = str(int(now.timestamp()))
    for parcel in fulfilment.parcels:
        for code in parcel.tracking_codes:
            tracking_id = _tracking_id(fulfilment.shipment_id, code)
            if tracking_id in known:
                continue
            known.add(tracking_id)
            items.append({"tracking_provider": "", "custom_tracking_provider": fulfilment.carrier,
                          "custom_tracking_link": parcel.tracking_url, "tracking_number": code,
                          "date_shipped": shipped, "tracking_id": tracking_id})
    return items


def fulfilled_lines(order: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Shipment id → {line id → quantity} Glue already reported on this order."""
    value = _meta(order, FULFILLED_META)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, Mapping):
        return {}
    return {str(k): {str(line): int(q) for line, q in v.items()}
            for k, v in value.items() if isinstance(v, Mapping)}


def undelivered_lines(order: Mapping[str, Any],
                      delivered: Mapping[str, Mapping[str, int]]) -> list[Mapping[str, Any]]:
    """The order's lines that Glue shipments have not delivered in full: Glue rows still on
    their way and the merchant's own rows."""
    totals: dict[str, int] = {}
    for lines in delivered.values():
        for line, quantity in lines.items():
            totals[line] = totals.get(line, 0) + quantity
    return [item for item in order.get("line_items") or []
            if totals.get(str(item.get("id")), 0) < int(item.get("quantity") or 0)]


def completes_order(order: Mapping[str, Any], delivered: Mapping[str, Mapping[str, int]],
                    settled: Iterable[str] = ()) -> bool:
    """Whether the order has no unfulfilled row left once these Glue shipments are delivered,
    so it may be ``completed``: every line is delivered by Glue, or is one of ``settled``
    (line ids needing no delivery: the merchant's virtual products). An order with a
    merchant row to ship is never completed by Glue (the merchant ships it and completes)."""
    done = {str(line) for line in settled}
    items = order.get("line_items") or []
    return bool(items) and all(str(item.get("id")) in done
                               for item in undelivered_lines(order, delivered))


def delivered_after(order: Mapping[str, Any],
                    fulfilment: FulfilmentRequest) -> dict[str, dict[str, int]]:
    """Glue's delivered lines of the order once ``fulfilment`` is recorded too."""
    delivered = fulfilled_lines(order)
    delivered[fulfilment.shipment_id] = {str(k): int(v) for k, v in fulfilment.lines.items()}
    return delivered


def fulfilment_update(order: Mapping[str, Any], fulfilment: FulfilmentRequest, *,
                      now: datetime, complete: bool = True,
                      settled: Iterable[str] = ()) -> dict[str, Any]:
    """The ``PUT orders/<id>`` body after a delivered shipment: tracking meta, Glue's
    delivered-lines record, and ``status: completed`` when ``complete`` is allowed and
    :func:`completes_order` holds (never for an order already closed)."""
    delivered = delivered_after(order, fulfilment)
    body: dict[str, Any] = {"meta_data": [
        {"key": TRACKING_META, "value": tracking_items(order, fulfilment, now=now)},
        {"key": FULFILLED_META, "value": json.dumps(delivered, sort_keys=True)}]}
    if complete and order.get("status") in ("processing", "on-hold") \
            and completes_order(order, delivered, settled):
        body["status"] = "completed"
    return body


def batch_size(batch: Mapping[str, Sequence[Any]]) -> int:
    """Objects in a batch body: WooCommerce counts create + update + delete against 100."""
    return sum(len(batch.get(k) or []) for k in ("create", "update", "delete"))
