"""The Magento sandbox's sales side: storefront orders, their REST shape, shipments, comments
and the Mage-OS ``async_event`` subscriptions.

Orders render as ``GET /V1/orders/{id}`` answers on Magento 2.4.7 (``reference/platforms.md``
3.4, the recorded ``mag_order_get``): money as JSON numbers with ``base_*`` twins, ``entity_id``
(the API id) vs ``increment_id`` (what the merchant sees), a configurable product as a parent
row (price, quantity, the child's SKU, what a shipment names) with a simple child row
(``parent_item_id``, price 0, the parent nested as ``parent_item``), and the shipping address
only under ``extension_attributes.shipping_assignments``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox import magento_catalog as catalog

if TYPE_CHECKING:
    from sandbox.magento import MagentoSandbox

EVENTS = ("sales.order.created", "sales.order.updated", "sales.order.paid",
          "sales.order.shipped", "sales.order.holded", "sales.order.unholded",
          "sales.order.cancelled", "catalog.product.created", "catalog.product.updated")
SHIPPING = Decimal("4.90")
NO_ENTITY = "The entity that was requested doesn't exist. Verify the entity and try again."
SHIP_REFUSED = "Shipment Document Validation Error(s):\n"
DEFAULT_ADDRESS = {"firstname": "Äijö", "lastname": "Mäkelä", "street": ["Pöytäkorvenkatu 5 B 7"],
                   "city": "Jyväskylä", "postcode": "40100", "country_id": "FI",
                   "telephone": "+358401234567", "company": ""}


def _error(status: int, message: str, parameters: Any = None) -> Exception:
    from sandbox.magento import MagentoError

    return MagentoError(status, message, parameters)


def _time(moment: Any) -> str:
    from sandbox.magento import magento_time

    return magento_time(moment)


def event_signature(body: bytes, token: str) -> str:
    """``x-magento-signature``: hex HMAC-SHA256 of the raw body with the verification token."""
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


# --- placing orders --------------------------------------------------------------------------

def place_order(sandbox: MagentoSandbox, lines: list[Mapping[str, Any]], *, email: str,
                address: Mapping[str, Any] | None, invoiced: bool) -> dict[str, Any]:
    """Create the order from ``{"sku", "qty"}`` lines; the caller holds the lock. A child of
    a configurable product becomes a parent and a child row. MSI shops reserve the
    quantity (the source keeps it until shipment); legacy ones deduct it at once."""
    if not lines:
        raise _error(400, "The cart is empty.")
    now = sandbox.now()
    entity_id = sandbox.next_id("order")
    items: list[dict[str, Any]] = []
    taken: list[tuple[dict[str, Any], int]] = []
    for line in lines:
        sku, qty = str(line.get("sku") or ""), int(line.get("qty") or 1)
        product = sandbox.state.products.get(sku)
        if product is None or qty <= 0:
            raise _error(400, "The product that was requested doesn't exist. Verify the "
                              "product and try again.")
        parent = catalog.parent_of(sandbox, product)
        sold = parent or product
        if product["type_id"] != "simple" or sold["status"] != 1 or product["status"] != 1 \
                or 1 not in sold["website_ids"] \
                or (parent is None and product["visibility"] == catalog.NOT_VISIBLE):
            raise _error(400, "Product that you are trying to add is not available.")
        if catalog.salable(sandbox, product) < qty:
            raise _error(400, "The requested qty is not available")
        taken.append((product, qty))
        price = Decimal(product["price"] or 0)
        row = _item(sandbox, entity_id, sold, sku=sku, qty=qty, price=price, now=now,
                    name=sold["name"])
        items.append(row)
        if parent is not None:
            row["product_type"] = "configurable"
            row["product_option"] = {"extension_attributes": {"configurable_item_options": [
                {"option_id": o["attribute_id"],
                 "option_value": int(product["custom"].get(
                     catalog.code_of(sandbox, int(o["attribute_id"]))) or 0)}
                for o in parent["options"]]}}
            child = _item(sandbox, entity_id, product, sku=sku, qty=qty, price=Decimal("0"),
                          now=now, name=product["name"])
            child["parent_item_id"] = row["item_id"]
            items.append(child)
    for product, qty in taken:
        if sandbox.msi:
            reservations = sandbox.state.reservations
            reservations[product["sku"]] = reservations.get(product["sku"], 0) + qty
        else:
            product["qty"] -= qty
            product["in_stock"] = product["qty"] > 0
    shipping = dict(DEFAULT_ADDRESS, **(address or {}), email=email)
    order = {"entity_id": entity_id, "increment_id": f"{entity_id:09d}",
             "state": "new", "status": "pending", "created_at": now, "updated_at": now,
             "email": email, "currency": sandbox.currency, "items": items,
             "shipping_address": shipping, "billing_address": dict(shipping),
             "shipping_amount": SHIPPING, "paid": False, "histories": [], "shipment_ids": []}
    sandbox.state.orders[entity_id] = order
    if invoiced:
        invoice(sandbox, order)
    return order


def _item(sandbox: MagentoSandbox, order_id: int, product: Mapping[str, Any], *, sku: str,
          qty: int, price: Decimal, now: Any, name: str) -> dict[str, Any]:
    return {"item_id": sandbox.next_id("order_item"), "order_id": order_id,
            "product_id": product["id"], "product_type": product["type_id"], "sku": sku,
            "name": name, "price": price, "qty_ordered": qty, "qty_shipped": 0,
            "qty_canceled": 0, "qty_invoiced": 0, "weight": product["weight"] or Decimal("0"),
            "parent_item_id": None, "created_at": now, "updated_at": now}


def invoice(sandbox: MagentoSandbox, order: dict[str, Any]) -> None:
    """Invoice (and capture) the whole order: paid, state ``processing``."""
    if order["state"] in ("canceled", "closed"):
        raise _error(400, "The order does not allow an invoice to be created.")
    order["paid"] = True
    for item in order["items"]:
        item["qty_invoiced"] = item["qty_ordered"] - item["qty_canceled"]
    if order["state"] == "new":
        order["state"] = order["status"] = "processing"
    order["updated_at"] = sandbox.now()


def _open(item: Mapping[str, Any]) -> int:
    return item["qty_ordered"] - item["qty_canceled"] - item["qty_shipped"]


def _shippable(order: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows a shipment names: not a configurable's child (a dummy row)."""
    return [i for i in order["items"] if not i["parent_item_id"]]


def cancel_order(sandbox: MagentoSandbox, entity_id: int) -> None:
    order = _order(sandbox, entity_id)
    if order["state"] in ("canceled", "closed", "complete"):
        raise _error(400, "We cannot cancel this order.")
    if not any(_open(i) > 0 for i in _shippable(order)):
        raise _error(400, "We cannot cancel this order.")
    for item in order["items"]:
        left = _open(item)
        item["qty_canceled"] += left
        if sandbox.msi and not item["parent_item_id"] and left:
            _release(sandbox, item, left)
    order["state"] = order["status"] = "canceled"
    order["updated_at"] = sandbox.now()


def _release(sandbox: MagentoSandbox, item: Mapping[str, Any], qty: int) -> None:
    reservations = sandbox.state.reservations
    reservations[item["sku"]] = max(0, reservations.get(item["sku"], 0) - qty)


def add_comment(sandbox: MagentoSandbox, entity_id: int, history: Mapping[str, Any]) -> bool:
    order = _order(sandbox, entity_id)
    if not str(history.get("comment") or "").strip():
        raise _error(400, "\"%fieldName\" is required. Enter and try again.",
                     {"fieldName": "comment"})
    now = sandbox.now()
    order["histories"].insert(0, {
        "comment": history["comment"], "created_at": now,
        "entity_id": sandbox.next_id("history"), "entity_name": "order",
        "is_customer_notified": int(history.get("is_customer_notified") or 0),
        "is_visible_on_front": int(history.get("is_visible_on_front") or 0),
        "parent_id": entity_id, "status": history.get("status") or order["status"]})
    order["updated_at"] = now
    return True


def _order(sandbox: MagentoSandbox, entity_id: Any) -> dict[str, Any]:
    order = sandbox.state.orders.get(int(entity_id)) if str(entity_id).isdigit() else None
    if order is None:
        raise _error(404, NO_ENTITY)
    return order


# --- shipments -------------------------------------------------------------------------------

def ship(sandbox: MagentoSandbox, entity_id: Any, body: Mapping[str, Any]) -> str:
    """``POST /V1/order/{entity_id}/ship``: the shipment's id as a string. Items name the
    order's shippable rows (a configurable's parent, never its child); without items every
    open row ships. The parent's ``qty_shipped`` moves, the child's stays 0."""
    order = _order(sandbox, entity_id)
    if order["state"] in ("canceled", "closed", "holded") or \
            not any(_open(i) > 0 for i in _shippable(order)):
        raise _error(400, SHIP_REFUSED + "The order does not allow a shipment to be created.")
    rows = {i["item_id"]: i for i in _shippable(order)}
    wanted: dict[int, int] = {}
    for entry in body.get("items") or []:
        item_id, qty = int(entry.get("order_item_id") or 0), int(entry.get("qty") or 0)
        if item_id not in rows:
            raise _error(400, SHIP_REFUSED + "You can't create a shipment without products.")
        wanted[item_id] = wanted.get(item_id, 0) + qty
    if not body.get("items"):
        wanted = {i: _open(r) for i, r in rows.items() if _open(r) > 0}
    wanted = {i: q for i, q in wanted.items() if q > 0}
    if not wanted:
        raise _error(400, SHIP_REFUSED + "You can't create a shipment without products.")
    if any(q > _open(rows[i]) for i, q in wanted.items()):
        raise _error(400, SHIP_REFUSED + "The quantity to ship must not be greater than the "
                                         "unshipped quantity for the product.")
    tracks = list(body.get("tracks") or [])
    if any(not str(t.get("track_number") or "").strip() or not t.get("carrier_code")
           for t in tracks):
        raise _error(400, SHIP_REFUSED + "Please enter a tracking number.")
    now = sandbox.now()
    shipment_id = sandbox.next_id("shipment")
    for item_id, qty in wanted.items():
        row = rows[item_id]
        row["qty_shipped"] += qty
        row["updated_at"] = now
        if sandbox.msi:  # the source is deducted now; the reservation is compensated
            sold = _stock_row(order, row)
            key = (sold["sku"], "default")
            source = sandbox.state.source_items.get(key)
            if source is not None:
                source["quantity"] -= qty
            _release(sandbox, sold, qty)
    shipment = {
        "entity_id": shipment_id, "increment_id": f"{shipment_id:09d}", "order_id": order[
            "entity_id"], "created_at": now, "updated_at": now,
        "total_qty": sum(wanted.values()), "email_sent": 1 if body.get("notify") else None,
        "items": [{"entity_id": sandbox.next_id("shipment_item"), "parent_id": shipment_id,
                   "order_item_id": i, "qty": q, "sku": rows[i]["sku"],
                   "name": rows[i]["name"], "price": rows[i]["price"],
                   "product_id": rows[i]["product_id"], "weight": rows[i]["weight"]}
                  for i, q in wanted.items()],
        "tracks": [{"entity_id": sandbox.next_id("track"), "parent_id": shipment_id,
                    "order_id": order["entity_id"], "track_number": str(t["track_number"]),
                    "title": str(t.get("title") or ""), "carrier_code": str(t["carrier_code"]),
                    "created_at": now, "updated_at": now, "qty": None, "weight": None,
                    "description": None} for t in tracks],
        "comments": [{"comment": (body.get("comment") or {}).get("comment"),
                      "is_visible_on_front": int((body.get("comment") or {}).get(
                          "is_visible_on_front") or 0), "parent_id": shipment_id}]
        if body.get("comment") else []}
    sandbox.state.shipments[shipment_id] = shipment
    order["shipment_ids"].append(shipment_id)
    if order["state"] == "new":
        order["state"] = order["status"] = "processing"
    if order["paid"] and not any(_open(i) > 0 for i in _shippable(order)):
        order["state"] = order["status"] = "complete"
    order["updated_at"] = now
    return str(shipment_id)


def _stock_row(order: Mapping[str, Any], row: Mapping[str, Any]) -> Mapping[str, Any]:
    """The row whose SKU holds the stock: a configurable parent's child."""
    return next((i for i in order["items"] if i["parent_item_id"] == row["item_id"]), row)


def render_shipment(shipment: Mapping[str, Any]) -> dict[str, Any]:
    answer = {k: v for k, v in shipment.items() if k not in ("created_at", "updated_at")}
    answer["created_at"] = _time(shipment["created_at"])
    answer["updated_at"] = _time(shipment["updated_at"])
    answer["tracks"] = [dict(t, created_at=_time(t["created_at"]),
                             updated_at=_time(t["updated_at"])) for t in shipment["tracks"]]
    answer["packages"] = []
    return answer


# --- rendering -------------------------------------------------------------------------------

def _render_item(item: Mapping[str, Any], parent: Mapping[str, Any] | None) -> dict[str, Any]:
    price, qty = item["price"], item["qty_ordered"]
    row = {"amount_refunded": 0, "base_amount_refunded": 0, "base_discount_amount": 0,
           "base_discount_invoiced": 0, "base_original_price": price, "base_price": price,
           "base_price_incl_tax": price, "base_row_invoiced": 0, "base_row_total": price * qty,
           "base_row_total_incl_tax": price * qty, "base_tax_amount": 0,
           "created_at": _time(item["created_at"]), "discount_amount": 0, "discount_percent": 0,
           "free_shipping": 0, "is_qty_decimal": 0, "is_virtual": 0,
           "item_id": item["item_id"], "name": item["name"], "no_discount": 0,
           "order_id": item["order_id"], "original_price": price, "price": price,
           "price_incl_tax": price, "product_id": item["product_id"],
           "product_type": item["product_type"], "qty_canceled": item["qty_canceled"],
           "qty_invoiced": item["qty_invoiced"], "qty_ordered": qty, "qty_refunded": 0,
           "qty_shipped": item["qty_shipped"], "row_invoiced": 0, "row_total": price * qty,
           "row_total_incl_tax": price * qty, "row_weight": item["weight"] * qty,
           "sku": item["sku"], "store_id": 1, "tax_amount": 0, "tax_percent": 0,
           "updated_at": _time(item["updated_at"]), "weight": item["weight"],
           "extension_attributes": {"itemized_taxes": []}}
    if item.get("product_option"):
        row["product_option"] = item["product_option"]
    if parent is not None:
        row["parent_item_id"] = parent["item_id"]
        row["parent_item"] = _render_item(parent, None)
    return row


def _address(data: Mapping[str, Any], kind: str, entity_id: int,
             order_id: int) -> dict[str, Any]:
    street = data.get("street") or []
    return {"address_type": kind, "city": data.get("city"), "company": data.get("company"),
            "country_id": data.get("country_id"), "email": data.get("email"),
            "entity_id": entity_id, "firstname": data.get("firstname"),
            "lastname": data.get("lastname"), "parent_id": order_id,
            "postcode": data.get("postcode"),
            "street": list(street) if isinstance(street, list | tuple) else [str(street)],
            "telephone": data.get("telephone")}


def render_order(sandbox: MagentoSandbox, order: Mapping[str, Any]) -> dict[str, Any]:
    """The order as ``GET /V1/orders/{id}`` answers it."""
    by_id = {i["item_id"]: i for i in order["items"]}
    items = [_render_item(i, by_id.get(i["parent_item_id"])) for i in order["items"]]
    subtotal = sum((i["price"] * i["qty_ordered"] for i in order["items"]), Decimal("0"))
    canceled = order["state"] == "canceled"
    total = subtotal + order["shipping_amount"]
    paid = total if order["paid"] else Decimal("0")
    entity_id, currency = order["entity_id"], order["currency"]
    shipping = _address(order["shipping_address"], "shipping", 2 * entity_id - 1, entity_id)
    billing = _address(order["billing_address"], "billing", 2 * entity_id, entity_id)
    answer: dict[str, Any] = {
        "base_currency_code": currency, "base_discount_amount": 0, "base_grand_total": total,
        "base_shipping_amount": order["shipping_amount"], "base_subtotal": subtotal,
        "base_tax_amount": 0, "base_to_global_rate": 1, "base_to_order_rate": 1,
        "base_total_due": total - paid, "billing_address_id": billing["entity_id"],
        "created_at": _time(order["created_at"]), "customer_email": order["email"],
        "customer_firstname": order["shipping_address"].get("firstname"),
        "customer_lastname": order["shipping_address"].get("lastname"),
        "customer_group_id": 0, "customer_is_guest": 1, "customer_note_notify": 1,
        "discount_amount": 0, "entity_id": entity_id, "global_currency_code": currency,
        "grand_total": total, "increment_id": order["increment_id"], "is_virtual": 0,
        "order_currency_code": currency, "quote_id": entity_id,
        "shipping_amount": order["shipping_amount"],
        "shipping_description": "Flat Rate - Fixed", "shipping_incl_tax":
            order["shipping_amount"], "state": order["state"], "status": order["status"],
        "store_currency_code": currency, "store_id": 1,
        "store_name": "Main Website\nMain Website Store\nDefault Store View",
        "subtotal": subtotal, "subtotal_incl_tax": subtotal, "tax_amount": 0,
        "total_due": total - paid, "total_item_count": len(_shippable(order)),
        "total_qty_ordered": sum(i["qty_ordered"] for i in _shippable(order)),
        "updated_at": _time(order["updated_at"]), "items": items,
        "billing_address": billing,
        "payment": {"method": "checkmo", "amount_ordered": total,
                    "base_amount_ordered": total, "entity_id": entity_id,
                    "parent_id": entity_id, "additional_information": ["Check / Money order"]},
        "status_histories": [dict(h, created_at=_time(h["created_at"]))
                             for h in order["histories"]],
        "extension_attributes": {"shipping_assignments": [{
            "shipping": {"address": shipping, "method": "flatrate_flatrate",
                         "total": {"shipping_amount": order["shipping_amount"],
                                   "base_shipping_amount": order["shipping_amount"]}},
            "items": items}]}}
    if order["paid"]:
        answer.update(total_paid=paid, base_total_paid=paid, total_invoiced=paid,
                      base_total_invoiced=paid)
    if canceled:
        answer.update(total_canceled=total - paid, base_total_canceled=total - paid)
    return answer


# --- async events ----------------------------------------------------------------------------

def subscribe(sandbox: MagentoSandbox, data: Mapping[str, Any]) -> dict[str, Any]:
    event = str(data.get("event_name") or "")
    if event not in EVENTS:
        raise _error(400, "Cannot find the event with the name: %1", [event])
    if not data.get("recipient_url") or not data.get("verification_token"):
        raise _error(400, "\"%fieldName\" is required. Enter and try again.",
                     {"fieldName": "recipient_url"})
    subscription = {"subscription_id": sandbox.next_id("async_event"), "event_name": event,
                    "recipient_url": str(data["recipient_url"]),
                    "verification_token": str(data["verification_token"]),
                    "status": True, "subscribed_at": sandbox.now().isoformat(),
                    "store_id": 0, "metadata": data.get("metadata") or "http"}
    sandbox.state.subscriptions[subscription["subscription_id"]] = subscription
    return {k: v for k, v in subscription.items()
            if k not in ("verification_token", "metadata")}


# --- routes ----------------------------------------------------------------------------------

def route(sandbox: MagentoSandbox, method: str, parts: list[str], body: Any,
          args: Mapping[str, str]) -> tuple[int, Any] | None:
    """The sales and async-event endpoints; None when ``parts`` is not one of them. Changes
    queue their async events on the sandbox, sent once the lock is released."""
    body = body or {}
    with sandbox.lock:
        match method, parts:
            case "GET", ["orders"]:
                rows = [render_order(sandbox, o) for o in sandbox.state.orders.values()]
                return 200, catalog.search(sandbox, "orders", rows, args)
            case "GET", ["orders", entity_id]:
                return 200, render_order(sandbox, _order(sandbox, entity_id))
            case "POST", ["orders", entity_id, "comments"]:
                add_comment(sandbox, entity_id, body.get("statusHistory") or {})
                sandbox.pending_events.append(("sales.order.updated", int(entity_id)))
                return 200, True
            case "GET", ["orders", entity_id, "comments"]:
                order = _order(sandbox, entity_id)
                histories = render_order(sandbox, order)["status_histories"]
                return 200, {"items": histories, "total_count": len(histories)}
            case "POST", ["order", entity_id, "ship"]:
                answer = ship(sandbox, entity_id, body)
                sandbox.pending_events += [("sales.order.shipped", int(entity_id)),
                                           ("sales.order.updated", int(entity_id))]
                return 200, answer
            case "POST", ["order", entity_id, "invoice"]:
                invoice(sandbox, _order(sandbox, entity_id))
                sandbox.pending_events += [("sales.order.paid", int(entity_id)),
                                           ("sales.order.updated", int(entity_id))]
                return 200, str(entity_id)
            case "GET", ["shipments"]:
                rows = [render_shipment(s) for s in sandbox.state.shipments.values()]
                return 200, catalog.search(sandbox, "shipments", rows, args)
            case "GET", ["shipment", shipment_id]:
                shipment = sandbox.state.shipments.get(int(shipment_id)) \
                    if shipment_id.isdigit() else None
                if shipment is None:
                    raise _error(404, NO_ENTITY)
                return 200, render_shipment(shipment)
        if not sandbox.async_events:
            return None
        match method, parts:
            case "POST", ["async_event"]:
                return 200, subscribe(sandbox, body.get("asyncEvent") or {})
            case "GET", ["async_events"]:
                rows = [{k: v for k, v in s.items() if k not in ("verification_token",
                                                                  "metadata")}
                        for s in sandbox.state.subscriptions.values()]
                return 200, catalog.search(sandbox, "async_events", rows, args)
    return None


__all__ = ["EVENTS", "event_signature", "place_order", "render_order", "render_shipment",
           "route", "ship"]
