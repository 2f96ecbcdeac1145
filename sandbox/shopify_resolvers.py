"""Resolvers of the Shopify sandbox's GraphQL subset: one method per root field of
:data:`sandbox.shopify_schema.SDL`, over one shop's in-memory state.

graphql-core calls a root method as ``method(info, **arguments)`` and reads plain dicts for
objects; a nested connection is a callable taking ``first``/``after``. The caller holds the
sandbox lock. Mutations check what Shopify refuses and answer ``userErrors`` (nothing is
changed when there are any), never exceptions.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from sandbox.shopify import INVENTORY_REASONS, MAX_VARIANTS, TOPICS, gid, money, number_of
from sandbox.shopify_bulk import render as render_bulk
from sandbox.shopify_orders import graphql_order

if TYPE_CHECKING:
    from sandbox.shopify import ShopifySandbox, ShopState


def connection(items: Sequence[Any]) -> Callable[..., dict[str, Any]]:
    """A connection field over ``items``: Shopify requires ``first`` (or ``last``)."""
    def resolve(info: Any, first: int | None = None, after: str | None = None,
                **_: Any) -> dict[str, Any]:
        if first is None:
            raise GraphQLError("you must provide one of first or last",
                               extensions={"code": "BAD_REQUEST"})
        start = _offset(after)
        page = list(items[start:start + first])
        end = start + len(page)
        return {"nodes": page, "pageInfo": {"hasNextPage": end < len(items),
                                            "endCursor": _cursor(end) if page else None}}
    return resolve


def _cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().split(":", 1)[1])
    except (ValueError, IndexError) as exc:
        raise GraphQLError("invalid cursor", extensions={"code": "BAD_REQUEST"}) from exc


def _user_error(field: Sequence[Any], message: str, code: str | None = None) -> dict[str, Any]:
    return {"field": [str(f) for f in field], "message": message, "code": code}


class Root:
    """Query and mutation roots for one request to one shop."""

    def __init__(self, sandbox: ShopifySandbox, state: ShopState) -> None:
        self.sandbox = sandbox
        self.state = state

    # --- rendering --------------------------------------------------------------------

    def _product(self, product: Mapping[str, Any]) -> dict[str, Any]:
        variants = [self._variant(number) for number in product["variant_ids"]]
        return {"id": gid("Product", product["id"]), "handle": product["handle"],
                "title": product["title"], "status": product["status"],
                "vendor": product["vendor"], "descriptionHtml": product["descriptionHtml"],
                "variants": connection(variants)}

    def _variant(self, number: int) -> dict[str, Any]:
        variant = self.state.variants[number]
        title = " / ".join(v for _, v in variant["options"]) or "Default Title"
        return {"id": gid("ProductVariant", variant["id"]), "sku": variant["sku"],
                "barcode": variant["barcode"], "price": variant["price"], "title": title,
                "inventoryItem": {"id": gid("InventoryItem", variant["inventory_item_id"]),
                                  "tracked": variant["tracked"]},
                "product": lambda info: self._product(
                    self.state.products[variant["product_id"]])}

    def _visible_fulfillment_orders(self, order: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Fulfillment orders the app may see: at its own locations, and at the merchant's
        only with the merchant-managed scope (Shopify's access rule)."""
        own = self.state.app_location_ids()
        merchant = "read_merchant_managed_fulfillment_orders" in self.state.scopes
        return [self.state.fulfillment_orders[n] for n in order["fulfillment_order_ids"]
                if self.state.fulfillment_orders[n]["location_id"] in own or merchant]

    def _fulfillment_order(self, fo: Mapping[str, Any],
                           lines: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        """One fulfillment order; ``lines`` are its order's rendered lines by GID."""
        return {
            "id": gid("FulfillmentOrder", fo["id"]), "status": fo["status"],
            "assignedLocation": {"location": {
                "id": gid("Location", fo["location_id"]),
                "name": self.state.locations[fo["location_id"]]["name"]}},
            "lineItems": connection([{
                "id": gid("FulfillmentOrderLineItem", item["id"]),
                "remainingQuantity": item["remaining"], "totalQuantity": item["total"],
                "lineItem": lines[gid("LineItem", item["line_item_id"])]}
                for item in fo["lines"]])}

    def _order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        def fulfillment_orders(order: Mapping[str, Any],
                               lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
            by_id = {line["id"]: line for line in lines}
            return [self._fulfillment_order(fo, by_id)
                    for fo in self._visible_fulfillment_orders(order)]

        def fulfillments(order: Mapping[str, Any]) -> list[dict[str, Any]]:
            return [self._fulfillment(self.state.fulfillments[n])
                    for n in order["fulfillment_ids"]]

        return graphql_order(self.state, order, render_variant=self._variant,
                             fulfillment_orders=fulfillment_orders, fulfillments=fulfillments)

    @staticmethod
    def _fulfillment(fulfillment: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": gid("Fulfillment", fulfillment["id"]), "status": fulfillment["status"],
                "trackingInfo": lambda info, first=None: fulfillment["tracking"]}

    # --- queries ----------------------------------------------------------------------

    def shop(self, info: Any) -> dict[str, Any]:
        return {"id": gid("Shop", self.state.merchant_location), "name": self.state.name,
                "currencyCode": self.state.currency, "myshopifyDomain": self.state.domain}

    def products(self, info: Any, first: int | None = None, after: str | None = None,
                 query: str | None = None) -> dict[str, Any]:
        found = list(self.state.products.values())
        if query and query.startswith("handle:"):
            found = [p for p in found if p["handle"] == query.split(":", 1)[1].strip("'\"")]
        return connection([self._product(p) for p in found])(info, first=first, after=after)

    def product(self, info: Any, id: str) -> dict[str, Any] | None:
        product = self.state.products.get(number_of(id) or -1)
        return self._product(product) if product else None

    def orders(self, info: Any, first: int | None = None, after: str | None = None,
               query: str | None = None, sortKey: str | None = None,
               reverse: bool = False) -> dict[str, Any]:
        found = [o for o in self.state.orders.values() if _matches(o, query)]
        key = {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at"}.get(sortKey or "", "id")
        found.sort(key=lambda o: (o[key], o["id"]), reverse=bool(reverse))
        start = _offset(after)
        page = found[start:start + (first or 0)]
        if first is None:
            raise GraphQLError("you must provide one of first or last",
                               extensions={"code": "BAD_REQUEST"})
        end = start + len(page)
        return {"nodes": [self._order(o) for o in page],
                "pageInfo": {"hasNextPage": end < len(found),
                             "endCursor": _cursor(end) if page else None}}

    def order(self, info: Any, id: str) -> dict[str, Any] | None:
        order = self.state.orders.get(number_of(id) or -1)
        return self._order(order) if order else None

    def bulkOperation(self, info: Any, id: str) -> dict[str, Any] | None:  # noqa: N802
        found = self.state.bulk_operations.get(number_of(id) or -1)
        return render_bulk(found) if found else None

    def currentBulkOperation(self, info: Any,  # noqa: N802
                             type: str = "QUERY") -> dict[str, Any] | None:
        """The app's most recent bulk operation of ``type`` (deprecated by Shopify in favour
        of ``bulkOperation(id:)``, still served)."""
        found = [op for op in self.state.bulk_operations.values() if op["type"] == type]
        return render_bulk(max(found, key=lambda op: op["id"])) if found else None

    def fulfillmentOrder(self, info: Any, id: str) -> dict[str, Any] | None:  # noqa: N802
        """A fulfillment order the app may see (as in its order's list), else null."""
        fo = self.state.fulfillment_orders.get(number_of(id) or -1)
        if fo is None:
            return None
        order = self.state.orders[fo["order_id"]]
        if fo not in self._visible_fulfillment_orders(order):
            return None
        rendered = self._order(order)["lineItems"](info, first=len(order["lines"]))
        return self._fulfillment_order(fo, {line["id"]: line for line in rendered["nodes"]})

    # --- products ---------------------------------------------------------------------

    def productSet(self, info: Any, input: dict[str, Any],  # noqa: N802 (Shopify's name)
                   identifier: dict[str, Any] | None = None,
                   synchronous: bool | None = True) -> dict[str, Any]:
        state = self.state
        product = None
        if identifier and identifier.get("id"):
            product = state.products.get(number_of(identifier["id"]) or -1)
            if product is None:
                return {"product": None, "userErrors": [_user_error(
                    ["identifier", "id"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")]}
        elif identifier and identifier.get("handle"):
            product = state.product_by_handle(identifier["handle"])
        errors = self._product_set_errors(input, product)
        if errors:
            return {"product": None, "userErrors": errors}
        if product is None:
            product = {"id": self.sandbox.next_id(), "variant_ids": [], "owner": "app",
                       "handle": input.get("handle") or (identifier or {}).get("handle")
                       or f"product-{len(state.products) + 1}", "title": "",
                       "status": "ACTIVE", "vendor": "", "descriptionHtml": ""}
            state.products[product["id"]] = product
        for source, target in (("title", "title"), ("handle", "handle"), ("vendor", "vendor"),
                               ("status", "status"), ("descriptionHtml", "descriptionHtml")):
            if input.get(source) is not None:
                product[target] = input[source]
        if input.get("variants") is not None:
            self._replace_variants(product, input["variants"])
        product["files"] = input.get("files", product.get("files", []))
        return {"product": self._product(product), "userErrors": []}

    def _product_set_errors(self, data: Mapping[str, Any],
                            product: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        errors = []
        options = data.get("productOptions") or []
        if len(options) > 3:
            errors.append(_user_error(["input", "productOptions"],
                                      "Can only specify a maximum of 3 options",
                                      "OPTIONS_OVER_LIMIT"))
        allowed = {o["name"]: {v["name"] for v in o.get("values") or []} for o in options}
        variants = data.get("variants") or []
        if len(variants) > MAX_VARIANTS:
            errors.append(_user_error(["input", "variants"],
                                      f"Can only specify a maximum of {MAX_VARIANTS} variants",
                                      "VARIANTS_OVER_LIMIT"))
        seen: set[tuple[tuple[str, str], ...]] = set()
        own = set(product["variant_ids"]) if product else set()
        for index, variant in enumerate(variants):
            at = ["input", "variants", str(index)]
            combo = tuple((v["optionName"], v["name"]) for v in variant["optionValues"])
            if combo in seen:
                errors.append(_user_error([*at, "optionValues"], "The variant '"
                                          + " / ".join(v for _, v in combo)
                                          + "' already exists.", None))
            seen.add(combo)
            for name, value in combo:
                if name not in allowed or value not in allowed[name]:
                    errors.append(_user_error([*at, "optionValues"],
                                              f"Option value '{value}' of '{name}' is not in "
                                              "productOptions", "OPTION_VALUE_DOES_NOT_EXIST"))
            if variant.get("id") and number_of(variant["id"]) not in own:
                errors.append(_user_error([*at, "id"], "Variant does not exist on this product",
                                          "PRODUCT_VARIANT_DOES_NOT_EXIST"))
            price = money(variant.get("price", "0"))
            if price is None or price < 0:
                errors.append(_user_error([*at, "price"], "Price must be a decimal >= 0",
                                          "INVALID_INPUT"))
            for q_index, quantity in enumerate(variant.get("inventoryQuantities") or []):
                if number_of(quantity["locationId"]) not in self.state.locations:
                    errors.append(_user_error(
                        [*at, "inventoryQuantities", str(q_index), "locationId"],
                        "The specified location could not be found.", "LOCATION_NOT_FOUND"))
        return errors

    def _replace_variants(self, product: dict[str, Any],
                          variants: Sequence[Mapping[str, Any]]) -> None:
        """productSet replaces the list: variants not in the input are deleted. A variant
        without an id takes over an existing one with the same option values."""
        state = self.state
        existing = {state.variants[n]["options"]: n for n in product["variant_ids"]}
        kept: list[int] = []
        for data in variants:
            options = tuple((v["optionName"], v["name"]) for v in data["optionValues"])
            number = number_of(data.get("id")) or existing.get(options)
            if number is None:
                variant = self.sandbox._new_variant(state, product, data, options)
                product["variant_ids"].remove(variant["id"])
            else:
                variant = state.variants[number]
            variant.update(options=options, sku=data.get("sku") or "",
                           barcode=data.get("barcode"),
                           price=str(money(data.get("price", variant["price"]))))
            for quantity in data.get("inventoryQuantities") or []:
                key = (variant["inventory_item_id"], number_of(quantity["locationId"]))
                state.inventory[key] = int(quantity["quantity"])
            kept.append(variant["id"])
        for number in set(product["variant_ids"]) - set(kept):
            gone = state.variants.pop(number)
            for key in [k for k in state.inventory if k[0] == gone["inventory_item_id"]]:
                del state.inventory[key]
        product["variant_ids"] = kept

    def inventorySetQuantities(self, info: Any,  # noqa: N802
                               input: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        items = {v["inventory_item_id"] for v in state.variants.values()}
        errors = []
        if input["name"] not in ("available", "on_hand"):
            errors.append(_user_error(["input", "name"], "The quantity name must be either "
                                      "'available' or 'on_hand'.", "INVALID_NAME"))
        if input["reason"] not in INVENTORY_REASONS:
            errors.append(_user_error(["input", "reason"], "The specified reason is invalid.",
                                      "INVALID_REASON"))
        changes = []
        for index, quantity in enumerate(input["quantities"]):
            at = ["input", "quantities", str(index)]
            item, location = (number_of(quantity["inventoryItemId"]),
                              number_of(quantity["locationId"]))
            if item not in items:
                errors.append(_user_error([*at, "inventoryItemId"], "The specified inventory "
                                          "item could not be found.", "INVALID_INVENTORY_ITEM"))
            elif location not in state.locations:
                errors.append(_user_error([*at, "locationId"], "The specified location could "
                                          "not be found.", "INVALID_LOCATION"))
            elif (item, location) not in state.inventory:
                errors.append(_user_error([*at, "locationId"], "The specified inventory item "
                                          "is not stocked at the location.",
                                          "ITEM_NOT_STOCKED_AT_LOCATION"))
            elif not input.get("ignoreCompareQuantity") and quantity.get("compareQuantity") \
                    is None:
                errors.append(_user_error([*at, "compareQuantity"], "The compareQuantity "
                                          "argument must be given.",
                                          "COMPARE_QUANTITY_REQUIRED"))
            elif not input.get("ignoreCompareQuantity") and \
                    quantity["compareQuantity"] != state.inventory[(item, location)]:
                errors.append(_user_error([*at, "compareQuantity"], "The compareQuantity value "
                                          "no longer matches the system.",
                                          "COMPARE_QUANTITY_STALE"))
            elif abs(int(quantity["quantity"])) > 1_000_000_000:
                errors.append(_user_error([*at, "quantity"], "The quantity is out of range.",
                                          "INVALID_QUANTITY_TOO_HIGH"))
            else:
                changes.append(((item, location), int(quantity["quantity"])))
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        for key, value in changes:
            state.inventory[key] = value
        return {"inventoryAdjustmentGroup": {
                    "id": gid("InventoryAdjustmentGroup", self.sandbox.next_id())},
                "userErrors": []}

    def productUpdate(self, info: Any, product: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        found = self.state.products.get(number_of(product["id"]) or -1)
        if found is None:
            return {"product": None,
                    "userErrors": [_user_error(["id"], "Product does not exist")]}
        for key in ("status", "title"):
            if product.get(key) is not None:
                found[key] = product[key]
        return {"product": self._product(found), "userErrors": []}

    def productDelete(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        found = self.state.products.pop(number_of(input["id"]) or -1, None)
        if found is None:
            return {"deletedProductId": None,
                    "userErrors": [_user_error(["id"], "Product does not exist")]}
        for number in found["variant_ids"]:
            gone = self.state.variants.pop(number)
            for key in [k for k in self.state.inventory if k[0] == gone["inventory_item_id"]]:
                del self.state.inventory[key]
        return {"deletedProductId": gid("Product", found["id"]), "userErrors": []}

    # --- orders and fulfilment ----------------------------------------------------------

    def orderUpdate(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        order = self.state.orders.get(number_of(input["id"]) or -1)
        if order is None:
            return {"order": None, "userErrors": [_user_error(["id"], "Order does not exist")]}
        if input.get("note") is not None:
            order["note"] = input["note"]
        if input.get("tags") is not None:
            order["tags"] = list(input["tags"])
        return {"order": self._order(order), "userErrors": []}

    def tagsAdd(self, info: Any, id: str, tags: list[str]) -> dict[str, Any]:  # noqa: N802
        order = self.state.orders.get(number_of(id) or -1)
        if order is None:
            return {"node": None, "userErrors": [_user_error(["id"], "Order does not exist")]}
        order["tags"] += [t for t in tags if t not in order["tags"]]
        return {"node": self._order(order), "userErrors": []}

    def fulfillmentCreate(self, info: Any, fulfillment: dict[str, Any],  # noqa: N802
                          message: str | None = None) -> dict[str, Any]:
        state = self.state
        own = state.app_location_ids()
        planned, errors, order_id = [], [], None
        for index, group in enumerate(fulfillment["lineItemsByFulfillmentOrder"]):
            at = ["fulfillment", "lineItemsByFulfillmentOrder", str(index)]
            fo = state.fulfillment_orders.get(number_of(group["fulfillmentOrderId"]) or -1)
            if fo is None or fo["location_id"] not in own:
                errors.append(_user_error([*at, "fulfillmentOrderId"], "Fulfillment order does "
                                          "not exist or is not assigned to your app."))
                continue
            if fo["status"] not in ("OPEN", "IN_PROGRESS"):
                errors.append(_user_error([*at, "fulfillmentOrderId"], "Fulfillment order is "
                                          f"not open ({fo['status']})."))
                continue
            order_id = order_id or fo["order_id"]
            if fo["order_id"] != order_id:
                errors.append(_user_error([*at], "All fulfillment orders must be of one order."))
            wanted = group.get("fulfillmentOrderLineItems") or [
                {"id": gid("FulfillmentOrderLineItem", line["id"]),
                 "quantity": line["remaining"]} for line in fo["lines"] if line["remaining"]]
            lines = {line["id"]: line for line in fo["lines"]}
            for item in wanted:
                line = lines.get(number_of(item["id"]) or -1)
                if line is None or not 0 < item["quantity"] <= line["remaining"]:
                    errors.append(_user_error([*at, "fulfillmentOrderLineItems"], "Invalid "
                                              "fulfillment order line item quantity requested."))
                else:
                    planned.append((fo, line, item["quantity"]))
        if errors or not planned:
            return {"fulfillment": None, "userErrors": errors or [_user_error(
                ["fulfillment"], "Nothing to fulfil.")]}
        for fo, line, quantity in planned:
            line["remaining"] -= quantity
            fo["status"] = "CLOSED" if not any(x["remaining"] for x in fo["lines"]) \
                else "IN_PROGRESS"
        tracking = _tracking(fulfillment.get("trackingInfo") or {})
        record = {"id": self.sandbox.next_id(), "order_id": order_id, "status": "SUCCESS",
                  "tracking": tracking, "notify_customer": bool(fulfillment.get("notifyCustomer")),
                  "lines": [(gid("FulfillmentOrderLineItem", line["id"]), q)
                            for _, line, q in planned]}
        state.fulfillments[record["id"]] = record
        state.orders[order_id]["fulfillment_ids"].append(record["id"])
        return {"fulfillment": self._fulfillment(record), "userErrors": []}

    # --- bulk -------------------------------------------------------------------------

    def stagedUploadsCreate(self, info: Any,  # noqa: N802
                            input: list[dict[str, Any]]) -> dict[str, Any]:
        return self.sandbox.bulk.staged_uploads_create(self.state, input)

    def bulkOperationRunMutation(self, info: Any, mutation: str,  # noqa: N802
                                 stagedUploadPath: str,  # noqa: N803
                                 clientIdentifier: str | None = None) -> dict[str, Any]:  # noqa: N803
        return self.sandbox.bulk.run_mutation(self.state, mutation, stagedUploadPath)

    # --- app set-up -------------------------------------------------------------------

    def webhookSubscriptionCreate(self, info: Any, topic: str,  # noqa: N802
                                  webhookSubscription: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        uri = str(webhookSubscription.get("uri") or "")
        loopback = uri.startswith(("http://127.0.0.1", "http://localhost"))
        if not (uri.startswith("https://") or loopback):
            return {"webhookSubscription": None, "userErrors": [_user_error(
                ["webhookSubscription", "callbackUrl"], "Address protocol http:// is not "
                "supported")]}
        name = TOPICS[topic]
        if any(s["topic"] == name and s["uri"] == uri
               for s in self.state.subscriptions.values()):
            return {"webhookSubscription": None, "userErrors": [_user_error(
                ["webhookSubscription", "callbackUrl"],
                "Address for this topic has already been taken")]}
        number = self.sandbox.next_id()
        self.state.subscriptions[number] = {"id": number, "topic": name, "uri": uri}
        return {"webhookSubscription": {"id": gid("WebhookSubscription", number),
                                        "topic": topic, "uri": uri}, "userErrors": []}

    def fulfillmentServiceCreate(self, info: Any, name: str,  # noqa: N802
                                 callbackUrl: str | None = None,  # noqa: N803
                                 inventoryManagement: bool | None = None,  # noqa: N803
                                 trackingSupport: bool | None = None) -> dict[str, Any]:  # noqa: N803
        if any(s["name"] == name for s in self.state.services.values()):
            return {"fulfillmentService": None,
                    "userErrors": [_user_error(["name"], "Name has already been taken")]}
        location = self.sandbox.next_id()
        self.state.locations[location] = {"id": location, "name": name}
        number = self.sandbox.next_id()
        self.state.services[number] = {"id": number, "name": name, "location_id": location}
        return {"fulfillmentService": {
                    "id": gid("FulfillmentService", number), "serviceName": name,
                    "location": {"id": gid("Location", location), "name": name}},
                "userErrors": []}


def _tracking(info: Mapping[str, Any]) -> list[dict[str, Any]]:
    numbers = list(info.get("numbers") or ([info["number"]] if info.get("number") else []))
    urls = list(info.get("urls") or ([info["url"]] if info.get("url") else []))
    return [{"company": info.get("company"), "number": number,
             "url": urls[i] if i < len(urls) else None} for i, number in enumerate(numbers)]


def _matches(order: Mapping[str, Any], query: str | None) -> bool:
    """Shopify search syntax, the part Glue uses: ``updated_at:>='<ISO time>'``."""
    if not query:
        return True
    for term in query.split():
        field, _, condition = term.partition(":")
        if field not in ("updated_at", "created_at"):
            continue
        operator = next(op for op in (">=", "<=", ">", "<", "") if condition.startswith(op))
        when = datetime.fromisoformat(condition[len(operator):].strip("'\"")
                                      .replace("Z", "+00:00"))
        value = order[field]
        if not {">=": value >= when, "<=": value <= when, ">": value > when,
                "<": value < when, "": value == when}[operator]:
            return False
    return True
