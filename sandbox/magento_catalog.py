"""The Magento sandbox's catalog: products, attributes, configurable options and children,
media, stock (MSI source items and the legacy stock item), async bulk, and the
``searchCriteria`` search every list endpoint shares.

Products are kept by SKU as plain dicts and rendered in the shape Magento 2.4.7 answers
(``reference/platforms.md`` 3.2 and 7). The caller holds no lock; these functions take the
sandbox's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.magento import MagentoSandbox

NOT_VISIBLE = 1
BULK_OPEN, BULK_COMPLETE, BULK_FAILED = 4, 1, 3
NO_PRODUCT = "The product that was requested doesn't exist. Verify the product and try again."
_CRITERIA = re.compile(r"searchCriteria((?:\[[^\]]*\])+)")


def _error(status: int, message: str, parameters: Any = None) -> Exception:
    from sandbox.magento import MagentoError

    return MagentoError(status, message, parameters)


# --- searchCriteria --------------------------------------------------------------------------

def criteria(args: Mapping[str, str]) -> dict[str, Any]:
    """``searchCriteria[...]`` query parameters as Magento's ``search_criteria`` object."""
    tree: dict[str, Any] = {}
    for key, value in args.items():
        match = _CRITERIA.fullmatch(key)
        if not match:
            continue
        path = re.findall(r"\[([^\]]*)\]", match.group(1))
        node = tree
        for step in path[:-1]:
            node = node.setdefault(step, {})
        node[path[-1]] = value
    groups = [{"filters": [dict(f) for _, f in sorted(group.get("filters", {}).items(),
                                                     key=lambda i: int(i[0]))]}
              for _, group in sorted(tree.get("filter_groups", {}).items(),
                                     key=lambda i: int(i[0]))]
    orders = [dict(o) for _, o in sorted(tree.get("sortOrders", {}).items(),
                                         key=lambda i: int(i[0]))]
    answer: dict[str, Any] = {"filter_groups": groups}
    if orders:
        answer["sort_orders"] = [{"field": o.get("field"),
                                  "direction": (o.get("direction") or "ASC").upper()}
                                 for o in orders]
    if tree.get("pageSize"):
        answer["page_size"] = int(tree["pageSize"])
    if tree.get("currentPage"):
        answer["current_page"] = int(tree["currentPage"])
    return answer


def _comparable(value: Any) -> Any:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return str(value)


def _matches(item: Mapping[str, Any], flt: Mapping[str, Any]) -> bool:
    field, condition = flt.get("field"), (flt.get("condition_type") or "eq")
    value, have = flt.get("value", ""), item.get(str(field))
    if condition == "null":
        return have is None
    if condition == "notnull":
        return have is not None
    if condition in ("in", "nin"):
        found = str(have) in [v.strip() for v in str(value).split(",")]
        return found if condition == "in" else not found
    if condition in ("like", "nlike"):
        pattern = "^" + ".*".join(re.escape(p) for p in str(value).split("%")) + "$"
        found = have is not None and re.match(pattern, str(have), re.I) is not None
        return found if condition == "like" else not found
    if have is None:
        return False
    left, right = _comparable(have), _comparable(value)
    if type(left) is not type(right):
        left, right = str(have), str(value)
    return {"eq": left == right, "neq": left != right, "gt": left > right,
            "gteq": left >= right, "from": left >= right, "moreq": left >= right,
            "lt": left < right, "lteq": left <= right, "to": left <= right,
            "finset": str(value) in str(have).split(",")}.get(condition, False)


def search(sandbox: MagentoSandbox, entity: str, rows: list[dict[str, Any]],
           args: Mapping[str, str]) -> dict[str, Any]:
    """Filter, sort and page ``rows`` (rendered entities) as Magento's repositories do.

    A page past the end answers the last page again when the sandbox has
    ``last_page_again``; ``total_count`` counts every match.
    """
    search_criteria = criteria(args)
    size = search_criteria.get("page_size")
    if sandbox.max_page_size and (size is None or size > sandbox.max_page_size):
        raise _error(400, "Maximum SearchCriteria pageSize is %1",
                     [sandbox.max_page_size])
    matched = [r for r in rows if all(any(_matches(r, f) for f in g["filters"])
                                      for g in search_criteria["filter_groups"] if g["filters"])]
    for order in reversed(search_criteria.get("sort_orders") or []):
        matched.sort(key=lambda r, f=order["field"]: (r.get(f) is None,
                                                      _comparable(r.get(f) or "")),
                     reverse=order["direction"] == "DESC")
    page = max(1, int(search_criteria.get("current_page") or 1))
    items = matched
    if size:
        last = max(1, -(-len(matched) // size))
        if page > last and sandbox.last_page_again:
            page = last
        items = matched[(page - 1) * size: page * size]
    return {"items": items, "search_criteria": search_criteria, "total_count": len(matched)}


# --- products --------------------------------------------------------------------------------

def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def _custom(product: Mapping[str, Any], code: str) -> Any:
    return product["custom"].get(code)


def product_by_id(sandbox: MagentoSandbox, product_id: int) -> dict[str, Any] | None:
    return next((p for p in sandbox.state.products.values() if p["id"] == product_id), None)


def parent_of(sandbox: MagentoSandbox, product: Mapping[str, Any]) -> dict[str, Any] | None:
    """The configurable product that links ``product`` as a child, if any."""
    return next((p for p in sandbox.state.products.values()
                 if product["id"] in p["links"]), None)


def save_product(sandbox: MagentoSandbox, data: Mapping[str, Any], *,
                 sku: str | None = None) -> dict[str, Any]:
    """``POST /V1/products`` or ``PUT /V1/products/{sku}`` (``sku``); both are upserts by SKU,
    as in Magento; the stored product. Refuses a missing SKU or name and a duplicate URL
    key; never touches the images unless ``media_gallery_entries`` is a list (an empty one
    deletes them all)."""
    sku = str(sku or data.get("sku") or "").strip()
    if not sku:
        raise _error(400, "The \"%1\" attribute value is empty. Set the attribute and try "
                          "again.", ["sku"])
    now = sandbox.now()
    with sandbox.lock:
        product = sandbox.state.products.get(sku)
        if product is None:
            if not data.get("name"):
                raise _error(400, "The \"%1\" attribute value is empty. Set the attribute and "
                                  "try again.", ["name"])
            product = {"id": sandbox.next_id("product"), "sku": sku, "name": "",
                       "attribute_set_id": 4, "price": None, "status": 1, "visibility": 4,
                       "type_id": "simple", "weight": None, "created_at": now,
                       "website_ids": [], "custom": {}, "media": [], "qty": 0,
                       "in_stock": False, "options": [], "links": []}
            product["stock_item_id"] = product["id"]
        changed = dict(product, custom=dict(product["custom"]))
        for name in ("name", "attribute_set_id", "status", "visibility", "type_id"):
            if data.get(name) is not None:
                changed[name] = data[name]
        for name in ("price", "weight"):
            if data.get(name) is not None:
                changed[name] = Decimal(str(data[name]))
        for entry in data.get("custom_attributes") or []:
            changed["custom"][entry["attribute_code"]] = entry.get("value")
        if not changed["custom"].get("url_key"):
            changed["custom"]["url_key"] = _slug(changed["name"])
        clash = next((p["sku"] for p in sandbox.state.products.values()
                      if p["sku"] != sku and p["custom"].get("url_key") ==
                      changed["custom"]["url_key"]), None)
        if clash is not None:
            raise _error(400, "URL key for specified store already exists.")
        extension = data.get("extension_attributes") or {}
        if extension.get("website_ids") is not None:
            changed["website_ids"] = [int(w) for w in extension["website_ids"]]
        stock = extension.get("stock_item") or {}
        if "qty" in stock:
            changed["qty"] = int(Decimal(str(stock["qty"])))
        if "is_in_stock" in stock:
            changed["in_stock"] = bool(stock["is_in_stock"])
        media = data.get("media_gallery_entries")
        if isinstance(media, list):  # a list replaces the gallery; [] deletes every image
            keep = {int(e["id"]) for e in media if e.get("id")}
            changed["media"] = [m for m in product["media"] if m["id"] in keep]
            for entry in media:
                if not entry.get("id") and entry.get("content"):
                    changed["media"].append(_media(sandbox, entry))
        changed["updated_at"] = now
        product.clear()
        product.update(changed)
        sandbox.state.products[sku] = product
        if sandbox.msi and "qty" in stock:  # the legacy stock item feeds the default source
            set_source_item(sandbox, sku, "default", changed["qty"],
                            1 if changed["in_stock"] and changed["qty"] > 0 else 0)
        return product


def _media(sandbox: MagentoSandbox, entry: Mapping[str, Any]) -> dict[str, Any]:
    content = entry.get("content") or {}
    try:
        data = base64.b64decode(str(content.get("base64_encoded_data") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise _error(400, "The image content must be valid base64 encoded data.") from None
    mime, name = str(content.get("type") or ""), str(content.get("name") or "")
    if not data or mime not in ("image/jpeg", "image/png", "image/gif", "image/webp"):
        raise _error(400, "The image MIME type is not valid or not supported.")
    if not name or "/" in name:
        raise _error(400, "Provided image name contains forbidden characters.")
    return {"id": sandbox.next_id("media"), "media_type": "image",
            "label": entry.get("label"), "position": int(entry.get("position") or 0),
            "disabled": bool(entry.get("disabled")), "types": list(entry.get("types") or []),
            "file": f"/{name[0]}/{name[1] if len(name) > 1 else '_'}/{name}",
            "bytes": data, "mime": mime, "name": name}


def _render_media(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {k: entry[k] for k in ("id", "media_type", "label", "position", "disabled", "types",
                                  "file")}


def legacy_quantity(sandbox: MagentoSandbox, product: Mapping[str, Any]) -> tuple[int, bool]:
    """The legacy stock item's qty and in-stock flag (with MSI: the default source's)."""
    if sandbox.msi:
        item = sandbox.state.source_items.get((product["sku"], "default"))
        return (int(item["quantity"]), bool(item["status"])) if item else (0, False)
    return product["qty"], product["in_stock"]


def salable(sandbox: MagentoSandbox, product: Mapping[str, Any]) -> int:
    """What the storefront may still sell: MSI sources minus reservations, or the legacy
    stock item's quantity."""
    if sandbox.msi:
        total = sum(int(i["quantity"]) for (sku, code), i in sandbox.state.source_items.items()
                    if sku == product["sku"] and i["status"] == 1
                    and sandbox.state.sources[code]["enabled"])
        return total - sandbox.state.reservations.get(product["sku"], 0)
    return product["qty"] if product["in_stock"] else 0


def stock_item(sandbox: MagentoSandbox, product: Mapping[str, Any]) -> dict[str, Any]:
    qty, in_stock = legacy_quantity(sandbox, product)
    return {"item_id": product["stock_item_id"], "product_id": product["id"], "stock_id": 1,
            "qty": qty, "is_in_stock": in_stock if product["type_id"] == "simple"
            else product["in_stock"], "is_qty_decimal": False, "manage_stock": True,
            "use_config_manage_stock": True, "min_qty": 0, "min_sale_qty": 1,
            "max_sale_qty": 10000, "backorders": 0}


def render_product(sandbox: MagentoSandbox, product: Mapping[str, Any]) -> dict[str, Any]:
    extension: dict[str, Any] = {"website_ids": list(product["website_ids"]),
                                 "stock_item": stock_item(sandbox, product)}
    if product["type_id"] == "configurable":
        extension["configurable_product_options"] = [dict(o) for o in product["options"]]
        extension["configurable_product_links"] = list(product["links"])
    answer = {"id": product["id"], "sku": product["sku"], "name": product["name"],
              "attribute_set_id": product["attribute_set_id"],
              "price": product["price"] if product["price"] is not None else 0,
              "status": product["status"], "visibility": product["visibility"],
              "type_id": product["type_id"],
              "created_at": _time(product["created_at"]),
              "updated_at": _time(product["updated_at"]),
              "extension_attributes": extension, "product_links": [], "options": [],
              "media_gallery_entries": [_render_media(m) for m in product["media"]],
              "tier_prices": [],
              "custom_attributes": [{"attribute_code": k, "value": v}
                                    for k, v in product["custom"].items()]}
    if product["weight"] is not None:
        answer["weight"] = product["weight"]
    return answer


def _time(moment: Any) -> str:
    from sandbox.magento import magento_time

    return magento_time(moment)


def _product(sandbox: MagentoSandbox, sku: str) -> dict[str, Any]:
    product = sandbox.state.products.get(sku)
    if product is None:
        raise _error(404, NO_PRODUCT)
    return product


def delete_product(sandbox: MagentoSandbox, sku: str) -> None:
    product = _product(sandbox, sku)
    del sandbox.state.products[sku]
    for other in sandbox.state.products.values():
        if product["id"] in other["links"]:
            other["links"].remove(product["id"])
    for key in [k for k in sandbox.state.source_items if k[0] == sku]:
        del sandbox.state.source_items[key]


# --- attributes and configurable products -----------------------------------------------------

def _attribute(sandbox: MagentoSandbox, code: str) -> dict[str, Any]:
    attribute = sandbox.state.attributes.get(code)
    if attribute is None:
        raise _error(404, "The attribute with a \"%1\" attributeCode doesn't exist. Verify the "
                          "attribute and try again.", [code])
    return attribute


def _attribute_options(attribute: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"label": " ", "value": ""}, *({"label": o["label"], "value": str(o["value"])}
                                           for o in attribute["options"])]


def render_attribute(attribute: Mapping[str, Any]) -> dict[str, Any]:
    return {"attribute_id": attribute["attribute_id"],
            "attribute_code": attribute["attribute_code"],
            "frontend_input": attribute["frontend_input"],
            "default_frontend_label": attribute["default_frontend_label"],
            "scope": attribute["scope"], "is_required": False, "is_user_defined": True,
            "entity_type_id": "4", "options": _attribute_options(attribute)}


def create_attribute(sandbox: MagentoSandbox, data: Mapping[str, Any]) -> dict[str, Any]:
    code = str(data.get("attribute_code") or "")
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,59}", code):
        raise _error(400, "Attribute code \"%1\" is invalid. Please use only letters (a-z or "
                          "A-Z), numbers (0-9) or underscore (_) in this field, and the first "
                          "character should be a letter.", [code])
    if code in sandbox.state.attributes:
        raise _error(400, "An attribute with this code already exists.")
    attribute = {"attribute_id": 136 + sandbox.next_id("attribute"), "attribute_code": code,
                 "frontend_input": data.get("frontend_input") or "text",
                 "default_frontend_label": data.get("default_frontend_label") or code,
                 "scope": data.get("scope") or "store", "options": []}
    sandbox.state.attributes[code] = attribute
    for option in data.get("options") or []:
        add_option(sandbox, attribute, str(option.get("label") or ""))
    return attribute


def add_option(sandbox: MagentoSandbox, attribute: dict[str, Any], label: str) -> int:
    if not label.strip():
        raise _error(400, "The attribute option label is empty. Enter a value and try again.")
    if any(o["label"] == label for o in attribute["options"]):
        raise _error(400, "Admin store attribute option label \"%1\" is already exists.",
                     [label])
    value = 3 + sandbox.next_id("option")
    attribute["options"].append({"label": label, "value": value})
    return value


def _configurable(sandbox: MagentoSandbox, sku: str) -> dict[str, Any]:
    product = _product(sandbox, sku)
    if product["type_id"] != "configurable":
        raise _error(400, "The product with SKU \"%1\" isn't a configurable product.", [sku])
    return product


def add_configurable_option(sandbox: MagentoSandbox, sku: str,
                            option: Mapping[str, Any]) -> str:
    parent = _configurable(sandbox, sku)
    attribute_id = int(option.get("attribute_id") or 0)
    attribute = next((a for a in sandbox.state.attributes.values()
                      if a["attribute_id"] == attribute_id), None)
    if attribute is None or attribute["scope"] != "global" or \
            attribute["frontend_input"] != "select":
        raise _error(400, "Something went wrong while saving option.")
    if any(int(o["attribute_id"]) == attribute_id for o in parent["options"]):
        raise _error(400, "Something went wrong while saving option.")
    known = {o["value"] for o in attribute["options"]}
    values = [{"value_index": int(v["value_index"])} for v in option.get("values") or []]
    if not values or any(v["value_index"] not in known for v in values):
        raise _error(400, "Option values are not specified.")
    entry = {"id": sandbox.next_id("configurable_option"), "attribute_id": str(attribute_id),
             "label": option.get("label") or attribute["default_frontend_label"],
             "position": int(option.get("position") or 0), "values": values,
             "product_id": parent["id"]}
    parent["options"].append(entry)
    parent["updated_at"] = sandbox.now()
    return str(entry["id"])


def link_child(sandbox: MagentoSandbox, sku: str, child_sku: str) -> bool:
    """``POST /V1/configurable-products/{sku}/child``: the child needs a value for every
    option of the parent, and no other child may have the same combination."""
    parent = _configurable(sandbox, sku)
    child = sandbox.state.products.get(child_sku)
    if child is None:
        raise _error(404, NO_PRODUCT)
    if child["id"] in parent["links"]:
        raise _error(400, "The product is already attached.")
    codes = [code_of(sandbox, int(o["attribute_id"])) for o in parent["options"]]
    if not codes:
        raise _error(400, "The parent product doesn't have configurable product options.")
    combination = []
    for code in codes:
        value = child["custom"].get(code)
        if value in (None, ""):
            raise _error(400, "The child product doesn't have the \"%1\" attribute value. "
                              "Verify the value and try again.", [code])
        combination.append(str(value))
    for linked in parent["links"]:
        other = product_by_id(sandbox, linked)
        if other and [str(other["custom"].get(c)) for c in codes] == combination:
            raise _error(400, "Product with specified sku: \"%1\" is already attached "
                              "with the same set of attributes.", [child_sku])
    parent["links"].append(child["id"])
    for option, value in zip(parent["options"], combination, strict=True):
        if int(value) not in [v["value_index"] for v in option["values"]]:
            option["values"].append({"value_index": int(value)})  # as Magento rebuilds them
    parent["updated_at"] = sandbox.now()
    return True


def code_of(sandbox: MagentoSandbox, attribute_id: int) -> str:
    return next(a["attribute_code"] for a in sandbox.state.attributes.values()
                if a["attribute_id"] == attribute_id)


# --- stock -----------------------------------------------------------------------------------

def set_source_item(sandbox: MagentoSandbox, sku: str, source: str, quantity: Any,
                    status: Any) -> None:
    sandbox.state.source_items[(sku, source)] = {
        "sku": sku, "source_code": source, "quantity": int(Decimal(str(quantity))),
        "status": int(status)}


def save_source_items(sandbox: MagentoSandbox, items: list[Mapping[str, Any]]) -> list[Any]:
    errors = []
    for item in items:
        sku, source = str(item.get("sku") or ""), str(item.get("source_code") or "")
        if not sku or sku not in sandbox.state.products:
            errors.append({"message": "Product with SKU \"%sku\" does not exist.",
                           "parameters": {"sku": sku}})
        if source not in sandbox.state.sources:
            errors.append({"message": "Source with code \"%code\" does not exist.",
                           "parameters": {"code": source}})
        if item.get("status") not in (0, 1) or item.get("quantity") is None:
            errors.append({"message": "\"%field\" can not be empty.",
                           "parameters": {"field": "quantity/status"}})
    if errors:
        from sandbox.magento import MagentoError

        raise MagentoError(400, "Validation Failed", errors=errors)
    for item in items:
        set_source_item(sandbox, item["sku"], item["source_code"], item["quantity"],
                        item["status"])
    return []


def save_stock_item(sandbox: MagentoSandbox, sku: str, item_id: int,
                    data: Mapping[str, Any]) -> int:
    product = _product(sandbox, sku)
    if item_id != product["stock_item_id"]:
        raise _error(400, "The stock item was unable to be saved. Please try again.")
    if "qty" in data:
        product["qty"] = int(Decimal(str(data["qty"])))
    if "is_in_stock" in data:
        product["in_stock"] = bool(data["is_in_stock"])
    if sandbox.msi:  # the legacy stock item feeds the default source
        set_source_item(sandbox, sku, "default", product["qty"],
                        1 if product["in_stock"] and product["qty"] > 0 else 0)
    return product["stock_item_id"]


# --- async bulk ------------------------------------------------------------------------------

BULK_TOPICS = {("POST", ("products",)): "async.magento.catalog.api.productrepositoryinterface"
               ".save.post",
               ("PUT", ("products", "bySku")): "async.magento.catalog.api"
               ".productrepositoryinterface.save.put",
               ("POST", ("products", "bySku", "media")): "async.magento.catalog.api"
               ".productattributemediagalleryentryinterface.create.post"}


def queue_bulk(sandbox: MagentoSandbox, method: str, parts: list[str],
               bodies: Any) -> tuple[int, Any]:
    """``/async/bulk/V1/...``: one operation per array item, open until the consumer runs."""
    topic = BULK_TOPICS.get((method, tuple(parts)))
    if topic is None:
        raise _error(404, "Request does not match any route.")
    if not isinstance(bodies, list) or not bodies:
        raise _error(400, "Request body is expected to be an array of items.")
    bulk_uuid = str(uuid.uuid4())
    operations, request_items = [], []
    for index, body in enumerate(bodies):
        accepted = isinstance(body, dict) and (
            "product" in body if parts == ["products"] else bool(body.get("sku")))
        data_hash = hashlib.sha256(repr(body).encode()).hexdigest()
        request_items.append({"id": index, "data_hash": data_hash,
                              "status": "accepted" if accepted else "rejected"})
        if accepted:
            operations.append({"id": index, "status": BULK_OPEN, "body": body,
                               "result_message": None, "error_code": None})
    with sandbox.lock:
        sandbox.state.bulks[bulk_uuid] = {"uuid": bulk_uuid, "topic": topic, "parts": parts,
                                          "operations": operations, "reads": 0,
                                          "start_time": sandbox.now()}
    return 202, {"bulk_uuid": bulk_uuid, "request_items": request_items,
                 "errors": any(i["status"] != "accepted" for i in request_items)}


def run_bulk(sandbox: MagentoSandbox, bulk: dict[str, Any]) -> None:
    """The ``async.operations.all`` consumer: run every open operation of ``bulk``."""
    from sandbox.magento import MagentoError

    for operation in bulk["operations"]:
        if operation["status"] != BULK_OPEN:
            continue
        body = operation["body"]
        try:
            if bulk["parts"] == ["products"]:
                save_product(sandbox, body["product"])
            elif bulk["parts"] == ["products", "bySku"]:
                save_product(sandbox, body["product"], sku=body.get("sku"))
            else:
                product = _product(sandbox, str(body["sku"]))
                product["media"].append(_media(sandbox, body.get("entry") or {}))
            operation["status"] = BULK_COMPLETE
            operation["result_message"] = "Service execution success"
        except MagentoError as exc:
            operation["status"] = BULK_FAILED
            message = exc.message
            for i, value in enumerate(exc.parameters or [], start=1):
                message = message.replace(f"%{i}", str(value))
            operation["result_message"] = message
            operation["error_code"] = 0


def bulk_status(sandbox: MagentoSandbox, bulk_uuid: str) -> dict[str, Any]:
    bulk = sandbox.state.bulks.get(bulk_uuid)
    if bulk is None:
        raise _error(404, "Bulk entity with UUID \"%bulkUuid\" is not found",
                     {"bulkUuid": bulk_uuid})
    bulk["reads"] += 1
    if sandbox.bulk_open_reads is not None and bulk["reads"] > sandbox.bulk_open_reads:
        run_bulk(sandbox, bulk)
    return {"operations_list": [{"id": o["id"], "status": o["status"],
                                 "result_message": o["result_message"],
                                 "error_code": o["error_code"]} for o in bulk["operations"]],
            "user_type": 2, "bulk_id": bulk_uuid,
            "description": f"Topic {bulk['topic']}", "start_time": _time(bulk["start_time"]),
            "user_id": 1, "operation_count": len(bulk["operations"])}


# --- routes ----------------------------------------------------------------------------------

def route(sandbox: MagentoSandbox, method: str, parts: list[str], body: Any,
          args: Mapping[str, str]) -> tuple[int, Any] | None:
    """The catalog and stock endpoints; None when ``parts`` is not one of them."""
    with sandbox.lock:
        return _route(sandbox, method, parts, body or {}, args)


def _route(sandbox: MagentoSandbox, method: str, parts: list[str], body: Any,
           args: Mapping[str, str]) -> tuple[int, Any] | None:
    state = sandbox.state
    match method, parts:
        case "GET", ["products"]:
            rows = [render_product(sandbox, p) for p in state.products.values()]
            return 200, search(sandbox, "products", rows, args)
        case "POST", ["products"]:
            return 200, render_product(sandbox, save_product(
                sandbox, body.get("product") or {}))
        case "PUT", ["products", sku]:
            return 200, render_product(sandbox, save_product(
                sandbox, body.get("product") or {}, sku=sku))
        case "GET", ["products", "attributes", code]:
            return 200, render_attribute(_attribute(sandbox, code))
        case "GET", ["products", sku]:
            return 200, render_product(sandbox, _product(sandbox, sku))
        case "DELETE", ["products", sku]:
            delete_product(sandbox, sku)
            return 200, True
        case "POST", ["products", "attributes"]:
            return 200, render_attribute(create_attribute(sandbox, body.get("attribute") or {}))
        case "GET", ["products", "attributes", code, "options"]:
            return 200, _attribute_options(_attribute(sandbox, code))
        case "POST", ["products", "attributes", code, "options"]:
            value = add_option(sandbox, _attribute(sandbox, code),
                               str((body.get("option") or {}).get("label") or ""))
            return 200, f"id_{value}"
        case "POST", ["products", "attribute-sets", "attributes"]:
            set_id, code = int(body.get("attributeSetId") or 0), body.get("attributeCode")
            if set_id not in state.attribute_sets:
                raise _error(404, "The attribute set with \"%1\" ID doesn't exist.", [set_id])
            _attribute(sandbox, str(code))
            if code not in state.attribute_sets[set_id]:
                state.attribute_sets[set_id].append(str(code))
            return 200, str(134 + sandbox.next_id("entity_attribute"))
        case "POST", ["configurable-products", sku, "options"]:
            return 200, add_configurable_option(sandbox, sku, body.get("option") or {})
        case "POST", ["configurable-products", sku, "child"]:
            return 200, link_child(sandbox, sku, str(body.get("childSku") or ""))
        case "GET", ["configurable-products", sku, "children"]:
            parent = _configurable(sandbox, sku)
            return 200, [render_product(sandbox, product_by_id(sandbox, i))  # type: ignore
                         for i in parent["links"]]
        case "POST", ["products", sku, "media"]:
            product = _product(sandbox, sku)
            entry = _media(sandbox, body.get("entry") or {})
            product["media"].append(entry)
            return 200, str(entry["id"])
        case "GET", ["products", sku, "media"]:
            return 200, [_render_media(m) for m in _product(sandbox, sku)["media"]]
        case "DELETE", ["products", sku, "media", entry_id]:
            product = _product(sandbox, sku)
            product["media"] = [m for m in product["media"] if str(m["id"]) != entry_id]
            return 200, True
        case "GET", ["stockItems", sku]:
            product = state.products.get(sku)
            if product is None:
                raise _error(404, "The Product with the \"%1\" SKU doesn't exist.", [sku])
            return 200, stock_item(sandbox, product)
        case "PUT", ["products", sku, "stockItems", item_id]:
            return 200, save_stock_item(sandbox, sku, int(item_id), body.get("stockItem") or {})
        case "GET", ["bulk", bulk_uuid, "status"]:
            return 200, bulk_status(sandbox, bulk_uuid)
    if not sandbox.msi:
        return None
    match method, parts:
        case "POST", ["inventory", "source-items"]:
            return 200, save_source_items(sandbox, list(body.get("sourceItems") or []))
        case "GET", ["inventory", "source-items"]:
            return 200, search(sandbox, "source-items", [dict(i) for i in
                                                          state.source_items.values()], args)
        case "GET", ["inventory", "sources"]:
            return 200, search(sandbox, "sources", [dict(s) for s in state.sources.values()],
                               args)
    return None


__all__ = ["criteria", "legacy_quantity", "parent_of", "product_by_id", "render_product",
           "route", "salable", "save_product", "search", "set_source_item"]
