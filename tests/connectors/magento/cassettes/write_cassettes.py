"""Writes this folder's cassettes in the shapes recorded from the real Magento 2.4.7-p3 shop.

Run from the repository root:
``.venv/bin/python tests/connectors/magento/cassettes/write_cassettes.py``.
Bodies are taken from ``../shared/recordings/magento`` and changed only where a case needs it
(see README.md); request URIs are what the Glue client sends.
"""
import copy
import json
import sys
from pathlib import Path
from urllib.parse import urlencode

import yaml

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT))

from connectors.magento.client import search_params  # noqa: E402
from tests.connectors.magento.conftest import (  # noqa: E402
    BASE,
    RECORDED,
    cassette_answers,
    recorded_order,
    shipped_order,
)

OUT = Path(__file__).parent
HEADERS = {"Content-Type": ["application/json; charset=utf-8"], "Cache-Control": ["no-store"],
           "X-Powered-By": ["PHP/8.2.36"]}


def uri(path, params=None, store=None, prefix=""):
    scope = f"/{store}" if store else ""
    query = f"?{urlencode(params)}" if params else ""
    return f"{BASE}/rest{scope}{prefix}/V1/{path}{query}"


def req(method, url, body=None):
    return {"body": json.dumps(body) if body is not None else None,
            "headers": {"Accept": ["application/json"], "Authorization": ["OAuth REDACTED"]},
            "method": method, "uri": url}


def resp(body, status=200, message="OK", headers=None):
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return {"body": {"string": text}, "headers": {**HEADERS, **(headers or {})},
            "status": {"code": status, "message": message}}


def write(name, interactions):
    data = {"interactions": [copy.deepcopy({"request": r, "response": s})
                             for r, s in interactions], "version": 1}
    (OUT / name).write_text(yaml.safe_dump(data, sort_keys=True, allow_unicode=True, width=100))


def search_answer(items, total, filters, page, page_size=1, sort="entity_id"):
    return {"items": items, "search_criteria": {
        "filter_groups": [{"filters": [{"field": f, "value": v, "condition_type": c}
                                       for f, v, c in group]} for group in filters],
        "sort_orders": [{"field": sort, "direction": "ASC"}], "page_size": page_size,
        "current_page": page}, "total_count": total}


# --- paging: an older release answers a page past the end with the last page again ------------
SINCE = [[("updated_at", "2026-11-26 00:00:00", "gt")]]
first = cassette_answers("mag_orders_search_paging.yaml")[0][2]["items"][0]
second = {**copy.deepcopy(first), "entity_id": 2, "increment_id": "000000002"}
third = recorded_order()
pages = [first, second, third, third]
write("orders_paging_last_page_again.yaml", [
    (req("GET", uri("orders", search_params(SINCE, sort="entity_id", page_size=1, page=n))),
     resp(search_answer([pages[n - 1]], 3, SINCE, n))) for n in (1, 2, 3, 4)])

# --- errors in Magento's shape: {"message": ..., "parameters": ...} ----------------------------
ERRORS = {
    400: ({"message": "URL key for specified store already exists."}, {}),
    401: ({"message": "The consumer isn't authorized to access %resources.",
           "parameters": {"resources": "Magento_Catalog::products"}}, {}),
    404: ({"message": "The product that was requested doesn't exist. Verify the product and "
                      "try again."}, {}),
    429: ({"message": "Too many requests"}, {"Retry-After": ["7"]}),
    503: ("<html><body>Service Unavailable</body></html>", {"Content-Type": ["text/html"]}),
}
write("errors.yaml", [(req("GET", uri(f"products/HTTP-{status}")),
                       resp(body, status, "Error", headers))
                      for status, (body, headers) in ERRORS.items()])

if __name__ == "__main__":
    print("cassettes written to", OUT, "from", RECORDED, shipped_order()["state"])


# --- the connector's calls, in the recorded shapes -------------------------------------------
from connectors.magento import translate  # noqa: E402

simple_answer = cassette_answers("mag_simple_product_with_image.yaml")[0][2]
PNG = __import__("base64").b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR42mOQrzqCFTEMLQkA7ndXQXVKpdcAAAAASUVORK5CYII=")
IMAGE_URL = "http://images.example.test/tuotteet/pullo.png"


def sku_search(skus):
    return uri("products", search_params([[("sku", ",".join(skus), "in")]], sort="entity_id"))


def owned(answer, title, owner):
    """A recorded product answer as Glue would have written it (Glue's url key)."""
    answer = copy.deepcopy(answer)
    for entry in answer["custom_attributes"]:
        if entry["attribute_code"] == "url_key":
            entry["value"] = translate.url_key(title, owner)
    return answer


empty_products = search_answer([], 0, [[("sku", "GLUE-PULLO", "in")]], 1, 100)
image = {"body": {"string": PNG}, "headers": {"Content-Type": ["image/png"]},
         "status": {"code": 200, "message": "OK"}}
write("publish_simple.yaml", [
    (req("GET", sku_search(["GLUE-PULLO"])), resp(empty_products)),
    (req("POST", uri("products", store="all")), resp(owned(simple_answer, "Glue-juomapullo",
                                                      "product:100:GLUE-PULLO"))),
    ({"body": None, "headers": {}, "method": "GET", "uri": IMAGE_URL}, image),
    (req("POST", uri("products/GLUE-PULLO/media", store="all")), resp('"1"')),
    (req("POST", uri("inventory/source-items")), resp([])),
])

write("publish_foreign_sku.yaml", [
    (req("GET", sku_search(["GLUE-PULLO"])),
     resp(search_answer([simple_answer], 1, [[("sku", "GLUE-PULLO", "in")]], 1, 100))),
])

# configurable: the recorded answers, under Glue's attribute code and parent SKU
conf = cassette_answers("mag_configurable_product_create.yaml")
PARENT = translate.parent_sku("g7:HUPPARI")
attribute = {**conf[0][2], "attribute_code": "glue_koko"}
child_s = owned(conf[3][2], "Glue-huppari S", "product:100:GLUE-HUPPARI-S")
child_m = owned(conf[4][2], "Glue-huppari M", "product:101:GLUE-HUPPARI-M")
parent = owned({**conf[5][2], "sku": PARENT}, "Glue-huppari", "listing:g7:HUPPARI")
not_found_attr = {"message": "The attribute with a \"%1\" attributeCode doesn't exist. "
                             "Verify the attribute and try again.", "parameters": ["glue_koko"]}
write("publish_configurable.yaml", [
    (req("GET", sku_search(["GLUE-HUPPARI-S", "GLUE-HUPPARI-M", PARENT])),
     resp(search_answer([], 0, [[("sku", "x", "in")]], 1, 100))),
    (req("GET", uri("products/attributes/glue_koko")), resp(not_found_attr, 404, "Not Found")),
    (req("POST", uri("products/attributes", store="all")), resp(attribute)),
    (req("POST", uri("products/attribute-sets/attributes")), resp('"135"')),
    (req("POST", uri("products", store="all")), resp(child_s)),
    (req("POST", uri("products", store="all")), resp(child_m)),
    (req("POST", uri("products", store="all")), resp(parent)),
    (req("POST", uri(f"configurable-products/{PARENT}/options", store="all")), resp('"1"')),
    (req("POST", uri(f"configurable-products/{PARENT}/child", store="all")), resp("true")),
    (req("POST", uri(f"configurable-products/{PARENT}/child", store="all")), resp("true")),
    (req("POST", uri("inventory/source-items")), resp([])),
])

# an update finds the attribute, and the parent already has its option and both children
linked_parent = copy.deepcopy(parent)
linked_parent["extension_attributes"].update(
    configurable_product_options=[{"id": 1, "attribute_id": "137", "label": "Koko",
                                   "position": 0, "values": [{"value_index": 4},
                                                             {"value_index": 5}],
                                   "product_id": 9}], configurable_product_links=[7, 8])
write("update_configurable.yaml", [
    (req("GET", uri("products/attributes/glue_koko")), resp(attribute)),
    (req("PUT", uri("products/GLUE-HUPPARI-S", store="all")), resp(child_s)),
    (req("PUT", uri("products/GLUE-HUPPARI-M", store="all")), resp(child_m)),
    (req("PUT", uri(f"products/{PARENT}", store="all")), resp(linked_parent)),
    (req("POST", uri("inventory/source-items")), resp([])),
])

# async bulk: the recorded answers; the second operation failed (status 3)
bulk = cassette_answers("mag_async_bulk_products.yaml")
failed = copy.deepcopy(bulk[2][2])
failed["operations_list"][1].update(status=3, result_message="URL key for specified store "
                                    "already exists.")
write("publish_bulk.yaml", [
    (req("GET", sku_search(["GLUE-BULK-1", "GLUE-BULK-2"])),
     resp(search_answer([], 0, [[("sku", "x", "in")]], 1, 100))),
    (req("POST", uri("products", store="all", prefix="/async/bulk")),
     resp(bulk[0][2], 202, "Accepted")),
    (req("GET", uri(f"bulk/{bulk[0][2]['bulk_uuid']}/status")), resp(bulk[1][2])),
    (req("GET", uri(f"bulk/{bulk[0][2]['bulk_uuid']}/status")), resp(failed)),
    (req("POST", uri("inventory/source-items")), resp([])),
])

stock_item = cassette_answers("mag_msi_source_items.yaml")[3][2]
write("stock.yaml", [
    (req("POST", uri("inventory/source-items")), resp([])),
    (req("GET", uri("stockItems/GLUE-PULLO")), resp(stock_item)),
    (req("PUT", uri("products/GLUE-PULLO/stockItems/10")), resp("10")),
])

write("end_sale.yaml", [
    (req("POST", uri("inventory/source-items")), resp([])),
    (req("PUT", uri(f"products/{PARENT}", store="all")),
     resp({**linked_parent, "status": 2})),
    (req("DELETE", uri("products/GLUE-HUPPARI-M", store="all")), resp("true")),
    (req("DELETE", uri("products/GLUE-HUPPARI-S", store="all")),
     resp({"message": "The product that was requested doesn't exist. Verify the product and "
                      "try again."}, 404, "Not Found")),
    (req("DELETE", uri(f"products/{PARENT}", store="all")), resp("true")),
])

# the poll: three orders updated since the mark, two per page
POLL = [[("updated_at", "2026-11-26 19:00:00", "gteq")]]
# paged by key: each page asks for entity_id above the last one seen; total_count is what is
# left above it


def after(last):
    return [*POLL, [("entity_id", str(last), "gt")]]


write("orders_poll.yaml", [
    (req("GET", uri("orders", search_params(after(last), sort="entity_id", page_size=2))),
     resp(search_answer(items, total, after(last), 1, 2)))
    for last, items, total in ((0, [first, second], 3), (2, [third], 1))])

shipment = {"entity_id": 1, "order_id": 3, "increment_id": "000000001", "total_qty": 1,
            "items": [{"entity_id": 1, "order_item_id": 3, "parent_id": 1, "qty": 1,
                       "sku": "GLUE-HUPPARI-M", "name": "Glue-huppari"}],
            "tracks": [{"entity_id": 1, "order_id": 3, "parent_id": 1,
                        "track_number": "JJFI64123450012345679", "title": "Posti",
                        "carrier_code": "custom", "created_at": "2026-11-26 19:15:31"}],
            "comments": [], "created_at": "2026-11-26 19:15:31"}
BY_ORDER = [[("order_id", "3", "eq")]]
write("fulfil.yaml", [
    (req("GET", uri("shipments", search_params(BY_ORDER, sort="entity_id"))),
     resp(search_answer([], 0, BY_ORDER, 1, 100))),
    (req("GET", uri("orders/3")), resp(recorded_order())),
    (req("POST", uri("order/3/ship")), resp('"1"')),
])
write("fulfil_again.yaml", [
    (req("GET", uri("shipments", search_params(BY_ORDER, sort="entity_id"))),
     resp(search_answer([shipment], 1, BY_ORDER, 1, 100))),
])
write("order_comment.yaml", [(req("POST", uri("orders/3/comments")), resp("true"))])

# an idle poll: nothing changed since the mark
write("orders_idle.yaml", [
    (req("GET", uri("orders", search_params(after(0), sort="entity_id", page_size=50))),
     resp(search_answer([], 0, after(0), 1, 50)))])
