"""Pure translations between Glue and Magento 2's REST shapes (STYLE.md 3).

Glue listing document (:mod:`connectors.publish`) → simple products, or a configurable product
with simple children, its configurable options and child links; images → base64 media entries;
quantities → MSI source items or the legacy stock item; Magento order → :class:`OrderDraft`;
Glue fulfilment → ``POST /V1/order/{id}/ship`` body. Nothing here does I/O.

Magento quirks handled here (``reference/platforms.md`` 3 and 7):

- money and weights are JSON *numbers*; they stay :class:`~decimal.Decimal` in these payloads
  and the client writes them as exact JSON numbers (:func:`connectors.magento.client.dumps`);
- ``media_gallery_entries`` is never put in a product payload: an empty list deletes every
  image in every store view, so images go through the media endpoint one by one;
- a product needs a unique ``url_key`` and ``website_ids`` to be sellable; the url key ends in
  a digest of the Glue product it shows, which also marks a product as Glue's
  (:func:`owned_by`): Magento SKUs are unique per shop, Glue SKUs only per supplier;
- configurable order rows come in pairs: the ``configurable`` parent holds quantity and price
  (and is what a shipment names), the ``simple`` child (``parent_item_id``) is the variant;
- the shipping address is only under ``extension_attributes.shipping_assignments``;
- order states are read from ``state``, never from the merchant's custom status names.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from connectors.base import Address, FulfilmentRequest, OrderDraft, OrderDraftLine
from connectors.errors import Fatal

StockMode = Literal["msi", "legacy"]
VISIBLE, NOT_VISIBLE = 4, 1  # catalog + search; children are reachable only via the parent
ENABLED, DISABLED = 1, 2
FALLBACK_OPTION = "Variant"
CARRIER_CODE = "custom"  # Magento's code for a carrier it has no module for
MAX_SKU = 64


@dataclass(frozen=True)
class Attribute:
    """A global dropdown attribute a configurable product varies by: its numeric id, code and
    option ids by label (Magento answers option values as strings; they are ints here)."""

    attribute_id: int
    code: str
    label: str
    values: Mapping[str, int]


@dataclass(frozen=True)
class ProductDefaults:
    """Shop facts every product payload needs (``settings.platform`` of the connection)."""

    attribute_set_id: int = 4
    website_ids: tuple[int, ...] = (1,)
    stock_mode: StockMode = "msi"


# --- names ---------------------------------------------------------------------------------

def _slug(text: str, sep: str = "-") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", sep, ascii_text.lower()).strip(sep)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def owner(document: Mapping[str, Any], sku: str) -> str:
    """What a shop product with ``sku`` stands for in ``document``: one Glue product (its id
    and SKU, which stay when it moves between listings) or, for the parent, the listing."""
    for variant in document["variants"]:
        if variant["sku"] == sku:
            return f"product:{variant['product_id']}:{sku}"
    return f"listing:{document['key']}"


def url_key(title: str, owner_token: str) -> str:
    """A store-unique url key: the title's slug plus a digest of its :func:`owner`. Magento
    refuses a second product whose url key exists ("URL key for specified store already
    exists")."""
    return f"{_slug(title)[:60] or 'product'}-{_digest(owner_token)}"


def owned_by(product: Mapping[str, Any], owner_token: str) -> bool:
    """Whether a shop product is Glue's product for ``owner_token``.

    Magento's ``POST /V1/products`` is an upsert by SKU, so before creating, a connector must
    tell its own product from an earlier attempt apart from a product using that SKU for
    something else: the merchant's own, or another supplier's product with the same SKU.
    """
    key = _custom_attribute(product, "url_key") or ""
    return str(key).endswith(f"-{_digest(owner_token)}")


def _custom_attribute(product: Mapping[str, Any], code: str) -> Any:
    for entry in product.get("custom_attributes") or []:
        if entry.get("attribute_code") == code:
            return entry.get("value")
    return None


def parent_sku(listing_key: str) -> str:
    """The SKU of a variant group's configurable parent; a group has no SKU of its own, so it
    is made from the listing key, deterministic so a retried create upserts."""
    return f"GLUE-{_slug(listing_key)[:MAX_SKU - 14].upper()}-{_digest(listing_key)}"


def attribute_code(option_name: str) -> str:
    """The code of the global attribute Glue uses for an option name (``Koko`` → glue_koko)."""
    return f"glue_{_slug(option_name, '_')[:50] or _digest(option_name)}"


def is_configurable(document: Mapping[str, Any]) -> bool:
    """A variant group (listing key ``g…``) is a configurable product; else a simple one."""
    return str(document["key"]).startswith("g")


def variant_options(document: Mapping[str, Any]) -> tuple[list[str], list[dict[str, str]]]:
    """Option names and each variant's ``{name: value}`` for a configurable product.

    The supplier's ``Options`` are kept when every variant has a value for every option and the
    combinations are unique; otherwise variants are told apart by SKU under one ``Variant``
    option, because Magento cannot sell two children with the same combination.
    """
    variants = document["variants"]
    names = list(document.get("options") or [])
    rows = [{name: dict(tuple(p) for p in v.get("options") or []).get(name, "") for name in names}
            for v in variants]
    combos = {tuple(row.values()) for row in rows}
    if names and len(combos) == len(rows) and all(all(row.values()) for row in rows):
        return names, rows
    return [FALLBACK_OPTION], [{FALLBACK_OPTION: str(v["sku"])} for v in variants]


def attribute_payload(option_name: str, values: Sequence[str]) -> dict[str, Any]:
    """``POST /V1/products/attributes``: a global dropdown usable by configurable products."""
    return {"attribute": {
        "attribute_code": attribute_code(option_name), "frontend_input": "select",
        "default_frontend_label": option_name, "is_required": False, "scope": "global",
        "is_user_defined": True, "is_unique": "0", "is_filterable": True,
        "is_visible_on_front": True, "used_in_product_listing": True,
        "options": [{"label": value, "sort_order": i} for i, value in enumerate(values, 1)]}}


def attribute_from(answer: Mapping[str, Any]) -> Attribute:
    """An :class:`Attribute` from Magento's attribute answer (its blank first option and
    string values are dropped and converted)."""
    values = {str(o["label"]): int(o["value"]) for o in answer.get("options") or []
              if str(o.get("value") or "").isdigit()}
    return Attribute(attribute_id=int(answer["attribute_id"]), code=answer["attribute_code"],
                     label=str(answer.get("default_frontend_label") or answer["attribute_code"]),
                     values=values)


# --- products ------------------------------------------------------------------------------

def _description(document: Mapping[str, Any], field: str) -> str:
    text = document.get(field) or ""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise Fatal(f"unreadable number {value!r}") from exc


def _base(sku: str, name: str, type_id: str, visibility: int,
          defaults: ProductDefaults) -> dict[str, Any]:
    return {"sku": sku, "name": name, "attribute_set_id": defaults.attribute_set_id,
            "status": ENABLED, "visibility": visibility, "type_id": type_id,
            "extension_attributes": {"website_ids": list(defaults.website_ids)}}


def _texts(document: Mapping[str, Any], title: str, sku: str, *,
           descriptions: bool = True) -> list[dict[str, Any]]:
    attributes = [{"attribute_code": "url_key", "value": url_key(title, owner(document, sku))}]
    for field, code in (("description", "description"),
                        ("short_description", "short_description")):
        if descriptions and document.get(field):
            attributes.append({"attribute_code": code, "value": _description(document, field)})
    return attributes


def _stock_item(quantity: int, defaults: ProductDefaults) -> dict[str, Any]:
    # with MSI the quantity goes to the source items; the legacy stock item only says in stock
    if defaults.stock_mode == "legacy":
        return {"qty": max(0, int(quantity)), "is_in_stock": quantity > 0}
    return {"is_in_stock": True}


def simple_product(document: Mapping[str, Any], variant: Mapping[str, Any], *,
                   defaults: ProductDefaults, child_of: Mapping[str, int] | None = None,
                   name: str | None = None) -> dict[str, Any]:
    """``POST/PUT /V1/products`` body for one Glue product: a standalone simple product, or a
    configurable's child when ``child_of`` gives its option values (attribute code → value
    id); children are not visible on their own."""
    title = name or document["title"]
    product = _base(variant["sku"], title, "simple", NOT_VISIBLE if child_of else VISIBLE,
                    defaults)
    product["price"] = _decimal(variant["price"])
    weight = _decimal(variant.get("weight_kg"))
    if weight is not None:
        product["weight"] = weight
    product["extension_attributes"]["stock_item"] = _stock_item(variant["quantity"], defaults)
    # a child is never shown on its own: its parent carries the texts
    attributes = _texts(document, title, variant["sku"], descriptions=not child_of)
    attributes += [{"attribute_code": code, "value": str(value)}
                   for code, value in (child_of or {}).items()]
    product["custom_attributes"] = attributes
    return {"product": product}


def configurable_product(document: Mapping[str, Any], *,
                         defaults: ProductDefaults) -> dict[str, Any]:
    """``POST/PUT /V1/products`` body for a variant group's parent. It has no price (Magento
    answers ``price: 0``; the children carry prices) and no quantity of its own."""
    sku = parent_sku(document["key"])
    product = _base(sku, document["title"], "configurable", VISIBLE, defaults)
    product["extension_attributes"]["stock_item"] = {"is_in_stock": True}
    product["custom_attributes"] = _texts(document, document["title"], sku)
    return {"product": product}


def child_name(title: str, values: Mapping[str, str]) -> str:
    return " ".join([title, *values.values()])


def configurable_options(attributes: Sequence[Attribute],
                         rows: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
    """``POST /V1/configurable-products/{sku}/options`` bodies, one per attribute, listing the
    value ids the children use, in the supplier's order."""
    bodies = []
    for position, attribute in enumerate(attributes):
        used: list[int] = []
        for row in rows:
            value = attribute.values[row[attribute.label]]
            if value not in used:
                used.append(value)
        bodies.append({"option": {"attribute_id": str(attribute.attribute_id),
                                  "label": attribute.label, "position": position,
                                  "is_use_default": True,
                                  "values": [{"value_index": v} for v in used]}})
    return bodies


def child_link(sku: str) -> dict[str, str]:
    """``POST /V1/configurable-products/{sku}/child`` body."""
    return {"childSku": sku}


def media_entry(content: bytes, *, mime: str, name: str, label: str,
                position: int) -> dict[str, Any]:
    """``POST /V1/products/{sku}/media`` body: the image as base64 (Magento cannot fetch a
    URL). The first image is the product's base, small and thumbnail image."""
    if not content:
        raise Fatal(f"image {name!r} is empty")
    return {"entry": {"media_type": "image", "label": label, "position": position,
                      "disabled": False,
                      "types": ["image", "small_image", "thumbnail"] if position == 1 else [],
                      "content": {"base64_encoded_data": base64.b64encode(content).decode(),
                                  "type": mime, "name": name}}}


def image_name(url: str, sku: str, mime: str) -> str:
    extension = {"image/png": "png", "image/gif": "gif", "image/webp": "webp"}.get(mime, "jpg")
    stem = _slug(url.rsplit("/", 1)[-1].rsplit(".", 1)[0])[:40] or "image"
    return f"{_slug(sku)}-{stem}-{_digest(url)}.{extension}"


def source_items(quantities: Iterable[tuple[str, int]], *,
                 source_code: str) -> dict[str, Any]:
    """``POST /V1/inventory/source-items`` body (MSI); below 0 becomes 0, 0 is out of stock."""
    return {"sourceItems": [{"sku": sku, "source_code": source_code,
                             "quantity": max(0, int(q)), "status": 1 if q > 0 else 0}
                            for sku, q in quantities]}


def stock_item(quantity: int) -> dict[str, Any]:
    """``PUT /V1/products/{sku}/stockItems/{itemId}`` body (single-source, legacy stock)."""
    quantity = max(0, int(quantity))
    return {"stockItem": {"qty": quantity, "is_in_stock": quantity > 0}}


# --- orders --------------------------------------------------------------------------------

def money(value: Any) -> Decimal:
    """Magento money is a JSON number; read it exactly (a float goes through its repr)."""
    return _decimal(value) or Decimal("0")


def parse_time(value: Any) -> datetime | None:
    """Magento's ``Y-m-d H:i:s`` is UTC (the database keeps UTC; the admin shows local)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class OrderRow:
    """One sellable row: ``item_id`` is what a shipment names (the parent for a configurable),
    ``sku`` the variant sold (the child's), quantities and prices from the row that has them."""

    item_id: int
    sku: str
    name: str
    ordered: int
    canceled: int
    shipped: int
    price: Decimal
    discount: Decimal


def order_rows(order: Mapping[str, Any]) -> list[OrderRow]:
    """The order's rows with configurable parent/child pairs folded into one row."""
    items = order.get("items") or []
    children = {int(i["parent_item_id"]): i for i in items if i.get("parent_item_id")}
    parents = {int(i["item_id"]): i for i in items if not i.get("parent_item_id")}
    rows = []
    for item in items:
        parent_id = item.get("parent_item_id")
        if parent_id and (parents.get(int(parent_id)) or {}).get("product_type") \
                == "configurable":
            continue  # folded into its parent below
        child = children.get(int(item["item_id"])) if item.get("product_type") == \
            "configurable" else None
        rows.append(OrderRow(
            item_id=int(item["item_id"]), sku=str((child or item).get("sku") or ""),
            name=str((child or item).get("name") or ""),
            ordered=int(money(item.get("qty_ordered"))),
            canceled=int(money(item.get("qty_canceled"))),
            shipped=int(money(item.get("qty_shipped"))),
            price=money(item.get("price")), discount=money(item.get("discount_amount"))))
    return rows


def order_skus(order: Mapping[str, Any]) -> list[str]:
    """The SKUs an order sells, so the caller looks up only those references."""
    return [row.sku for row in order_rows(order) if row.sku]


def _street(lines: Any) -> tuple[str, str]:
    if isinstance(lines, str):
        lines = lines.split("\n")
    lines = [str(line) for line in lines or [] if line]
    return (lines[0] if lines else ""), ", ".join(lines[1:])


def _address(data: Mapping[str, Any] | None, *, email: str = "") -> Address | None:
    if not data:
        return None
    street, street2 = _street(data.get("street"))
    name = " ".join(p for p in (data.get("firstname"), data.get("lastname")) if p)
    return Address(name=name, company=data.get("company") or "", street=street,
                   street2=street2, postal_code=data.get("postcode") or "",
                   city=data.get("city") or "", country=data.get("country_id") or "",
                   email=data.get("email") or email, phone=data.get("telephone") or "")


def shipping_address(order: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The address of the first shipping assignment (Magento has none at top level)."""
    for assignment in (order.get("extension_attributes") or {}).get(
            "shipping_assignments") or []:
        address = (assignment.get("shipping") or {}).get("address")
        if address:
            return address
    return None


def order_identity(order: Any) -> tuple[str, bool] | None:
    """``entity_id`` (the draft's ``shop_order_id``) and whether ``state`` is ``canceled``;
    None when the payload names no order."""
    if not isinstance(order, Mapping) or order.get("entity_id") is None:
        return None
    return str(order["entity_id"]), order.get("state") == "canceled"


def financial_status(order: Mapping[str, Any]) -> str:
    """``paid`` when the order is invoiced in full, ``cancelled`` or ``pending`` otherwise:
    read from amounts and ``state``, never from the merchant's own status names."""
    if order.get("state") == "canceled":
        return "cancelled"
    total = money(order.get("grand_total"))
    if total > 0 and money(order.get("total_paid")) >= total \
            or total == 0 and order.get("state") in ("processing", "complete"):
        return "paid"
    return "pending"


def order_draft(order: Mapping[str, Any], sku_products: Mapping[str, int]) -> OrderDraft | None:
    """A Glue order draft from a Magento order (``GET /V1/orders/{id}``, a search item or the
    ``data`` of an async-event delivery).

    Only rows whose SKU maps to a Glue product (``sku_products``: Magento SKU → Glue product id,
    from the variant references) and that still have an uncancelled quantity are taken; the
    rest count as ``ignored_lines``. Money is in the order currency (``order_currency_code``),
    not the base currency. ``shop_order_id`` is ``entity_id`` (what the API takes), ``number``
    the ``increment_id`` the merchant sees. None when no row is a Glue product.
    """
    lines, ignored = [], 0
    for row in order_rows(order):
        product_id = sku_products.get(row.sku)
        quantity = row.ordered - row.canceled
        if product_id is None or quantity <= 0:
            ignored += 1
            continue
        lines.append(OrderDraftLine(shop_line_id=str(row.item_id), product_id=product_id,
                                    sku=row.sku, quantity=quantity, price=row.price,
                                    discount=row.discount, title=row.name))
    if not lines:
        return None
    email = order.get("customer_email") or ""
    billing = order.get("billing_address")
    shipping = None if order.get("is_virtual") else shipping_address(order)
    customer = _address(billing, email=email) or _address(shipping, email=email) or Address(
        name=" ".join(p for p in (order.get("customer_firstname"),
                                  order.get("customer_lastname")) if p), email=email)
    return OrderDraft(
        shop_order_id=str(order["entity_id"]), number=str(order.get("increment_id") or ""),
        created_at=parse_time(order.get("created_at")),
        currency=order.get("order_currency_code") or "",
        financial_status=financial_status(order), lines=tuple(lines),
        delivery_address=_address(shipping, email=email), customer=customer,
        ignored_lines=ignored, total_price=money(order.get("grand_total")),
        note=str(order.get("customer_note") or ""), cancelled=order.get("state") == "canceled")


# --- fulfilment ----------------------------------------------------------------------------

def ship_payload(request: FulfilmentRequest, order: Mapping[str, Any] | None = None, *,
                 comment: str = "") -> dict[str, Any]:
    """``POST /V1/order/{entity_id}/ship`` body for a delivered Glue shipment.

    ``request.lines`` names order item ids; a configurable's child id is replaced by its
    parent's, because Magento ships the parent (the child is a dummy row). With ``order``
    given, each quantity is checked against what is left to ship, and :class:`Fatal` is raised
    for rows that are not in the order or have nothing left.
    """
    parent_of: dict[str, str] = {}
    left: dict[str, int] | None = None
    if order is not None:
        rows = order_rows(order)
        left = {str(r.item_id): r.ordered - r.canceled - r.shipped for r in rows}
        parent_of = {str(i["item_id"]): str(i["parent_item_id"]) for i in order.get("items") or []
                     if i.get("parent_item_id") and str(i["parent_item_id"]) in left}
    items: dict[str, int] = {}
    for line, quantity in request.lines.items():
        item = parent_of.get(str(line), str(line))
        items[item] = items.get(item, 0) + int(quantity)
    if left is not None:
        refused = sorted(i for i, q in items.items() if q > left.get(i, 0))
        if refused:
            raise Fatal("order items not open for shipping: " + ", ".join(refused),
                        lines=refused)
    body: dict[str, Any] = {
        "items": [{"order_item_id": int(i), "qty": q} for i, q in items.items() if q > 0],
        "notify": request.notify_customer,
        "tracks": [{"track_number": code, "title": request.carrier or "Glue",
                    "carrier_code": CARRIER_CODE}
                   for parcel in request.parcels for code in parcel.tracking_codes],
    }
    if comment:
        body["appendComment"] = True
        body["comment"] = {"comment": comment, "is_visible_on_front": 1}
    return body


def shipment_for(shipments: Iterable[Mapping[str, Any]],
                 tracking_codes: Iterable[str]) -> str | None:
    """The id of an existing shipment carrying one of ``tracking_codes``: a ship call whose
    answer was lost already happened, and must not ship twice."""
    codes = set(tracking_codes)
    for shipment in shipments:
        if codes & {str(t.get("track_number")) for t in shipment.get("tracks") or []}:
            return str(shipment["entity_id"])
    return None
