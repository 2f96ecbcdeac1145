"""Writes the hand-made Shopify cassettes in this folder (shapes from shopify.dev docs).

Run from the repository root:
``.venv/bin/python tests/connectors/shopify/cassettes/write_cassettes.py``.
The GraphQL documents of the connector are imported, so the cassettes follow the code.
"""
import copy
import json
import sys
from pathlib import Path

import yaml

OUT = Path(__file__).parent
URI = "https://glue-demo.myshopify.com/admin/api/2026-07/graphql.json"

def cost(requested, actual, available, maximum=2000.0, rate=100.0):
    return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                     "throttleStatus": {"maximumAvailable": maximum,
                                        "currentlyAvailable": available, "restoreRate": rate}}}

def req(query, variables=None):
    body = json.dumps({"query": query, "variables": variables, "operationName": None})
    return {"body": body, "headers": {
        "Accept": ["application/json"], "Content-Type": ["application/json"],
        "User-Agent": ["ShopifyPythonAPI/12.7.0 Python/3.11.7"],
        "X-Shopify-Access-Token": ["REDACTED"]}, "method": "POST", "uri": URI}

STD_HEADERS = {"Content-Type": ["application/json; charset=utf-8"],
               "X-Request-Id": ["3b2c7d1e-6f0a-4d8e-9c3b-1f2e3d4c5b6a"],
               "X-Shopify-API-Version": ["2026-07"]}

def resp(body, status=200, message="OK", headers=None):
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return {"body": {"string": text}, "headers": {**STD_HEADERS, **(headers or {})},
            "status": {"code": status, "message": message}}

def write(name, interactions):
    data = {"interactions": [copy.deepcopy({"request": r, "response": s}) for r, s in interactions],
            "version": 1}
    (OUT / name).write_text(yaml.safe_dump(data, sort_keys=True, allow_unicode=True,
                                           width=100))

SHOP = "query { shop { name currencyCode } }"
shop_ok = {"data": {"shop": {"name": "Glue Demo", "currencyCode": "EUR"}},
           "extensions": cost(1, 1, 1999.0)}

write("shop_query.yaml", [(req(SHOP), resp(shop_ok))])

PRODUCTS = "query Products($first: Int!) { products(first: $first) { nodes { id title } } }"
throttled = {"errors": [{"message": "Throttled", "extensions": {
                 "code": "THROTTLED",
                 "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
             "extensions": cost(752, None, 352.0)}
products_ok = {"data": {"products": {"nodes": [
    {"id": "gid://shopify/Product/108828309", "title": "Paita"}]}},
    "extensions": cost(752, 12, 1340.0)}
write("throttled_then_ok.yaml", [(req(PRODUCTS, {"first": 250}), resp(throttled)),
                                 (req(PRODUCTS, {"first": 250}), resp(products_ok))])
write("throttled_always.yaml", [(req(PRODUCTS, {"first": 250}), resp(throttled))] * 3)

write("http_429_retry_after.yaml", [
    (req(SHOP), resp({"errors": "Exceeded 2 calls per second for api client. "
                                 "Reduce request rates to resume uninterrupted service."},
                     429, "Too Many Requests", {"Retry-After": ["2.0"]})),
    (req(SHOP), resp(shop_ok))])

write("http_401.yaml", [(req(SHOP), resp(
    {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
    401, "Unauthorized"))])

write("http_503.yaml", [(req(SHOP), resp(
    "<!DOCTYPE html><html><head><title>Service unavailable</title></head>"
    "<body>Shopify is temporarily unavailable</body></html>",
    503, "Service Unavailable", {"Content-Type": ["text/html; charset=utf-8"]}))])

BAD = "query { shop { name nonexistentField } }"
write("graphql_errors.yaml", [(req(BAD), resp({"errors": [{
    "message": "Field 'nonexistentField' doesn't exist on type 'Shop'",
    "locations": [{"line": 1, "column": 21}], "path": ["query", "shop", "nonexistentField"],
    "extensions": {"code": "undefinedField", "typeName": "Shop",
                   "fieldName": "nonexistentField"}}]}))])

ORDERS_Q = "query { orders(first: 1) { nodes { id } } }"
write("access_denied.yaml", [(req(ORDERS_Q), resp({"errors": [{
    "message": "Access denied for orders field. Required access: `read_orders` access scope.",
    "locations": [{"line": 1, "column": 9}], "path": ["orders"],
    "extensions": {"code": "ACCESS_DENIED",
                   "documentation": "https://shopify.dev/api/usage/access-scopes",
                   "requiredAccess": "`read_orders` access scope."}}],
    "data": None, "extensions": cost(3, 1, 1997.0)}))])

sys.path.insert(0, str(OUT.parents[3]))
from connectors import shopify as conn  # noqa: E402

write("inventory_user_errors.yaml", [(req(conn.INVENTORY_SET, {"input": {}}), resp({
    "data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": None, "userErrors": [{
        "field": ["input", "quantities", "0", "locationId"],
        "message": "The specified inventory item is not stocked at the location.",
        "code": "ITEM_NOT_STOCKED_AT_LOCATION"}]}},
    "extensions": cost(10, 10, 1990.0)}))])

write("product_set_create.yaml", [(req(conn.PRODUCT_SET, {}), resp({
    "data": {"productSet": {"product": {
        "id": "gid://shopify/Product/20995642", "variants": {"nodes": [
        {"id": "gid://shopify/ProductVariant/43729076", "sku": "SHIRT-L-RED",
         "inventoryItem": {"id": "gid://shopify/InventoryItem/43729001"}},
        {"id": "gid://shopify/ProductVariant/43729077", "sku": "SHIRT-M-RED",
         "inventoryItem": {"id": "gid://shopify/InventoryItem/43729002"}}]}},
        "userErrors": []}},
    "extensions": cost(11, 11, 1989.0)}))])

write("product_set_user_errors.yaml", [(req(conn.PRODUCT_SET, {}), resp({
    "data": {"productSet": {"product": None, "userErrors": [{
        "field": ["input", "variants", "1", "optionValues"],
        "message": "The variant 'M / Punainen' already exists.", "code": None}]}},
    "extensions": cost(11, 10, 1989.0)}))])

write("inventory_set.yaml", [(req(conn.INVENTORY_SET, {}), resp({
    "data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": {
        "id": "gid://shopify/InventoryAdjustmentGroup/1046347311"}, "userErrors": []}},
    "extensions": cost(10, 10, 1990.0)}))])

LAST_PAGE = {"hasNextPage": False, "endCursor": None}
fo = {"data": {"order": {"fulfillmentOrders": {"nodes": [
    {"id": "gid://shopify/FulfillmentOrder/1046000779", "status": "OPEN", "lineItems": {"nodes": [
        {"id": "gid://shopify/FulfillmentOrderLineItem/1072503290", "remainingQuantity": 2,
         "lineItem": {"id": "gid://shopify/LineItem/866550311766439020"}}],
        "pageInfo": {"hasNextPage": False, "endCursor": "eyJsYXN0X2lkIjoxMDcyNTAzMjkwfQ=="}}},
    {"id": "gid://shopify/FulfillmentOrder/1046000780", "status": "OPEN", "lineItems": {"nodes": [
        {"id": "gid://shopify/FulfillmentOrderLineItem/1072503291", "remainingQuantity": 1,
         "lineItem": {"id": "gid://shopify/LineItem/257004973105704599"}}],
        "pageInfo": {"hasNextPage": False, "endCursor": "eyJsYXN0X2lkIjoxMDcyNTAzMjkxfQ=="}}}],
    "pageInfo": {"hasNextPage": False, "endCursor": "eyJsYXN0X2lkIjoxMDQ2MDAwNzgwfQ=="}}}},
    "extensions": cost(268, 9, 1991.0)}
created = {"data": {"fulfillmentCreate": {"fulfillment": {
    "id": "gid://shopify/Fulfillment/1069019882", "status": "SUCCESS"}, "userErrors": []}},
    "extensions": cost(10, 10, 1983.0)}
ORDER_ID = "gid://shopify/Order/820982911946154508"
write("fulfillment_create.yaml", [(req(conn.FULFILLMENT_ORDERS, {"id": ORDER_ID}), resp(fo)),
                                  (req(conn.FULFILLMENT_CREATE, {}), resp(created))])

def order_node(n, variant):
    return {"id": f"gid://shopify/Order/{n}", "name": f"#{n}", "createdAt": "2026-11-26T10:00:00Z",
            "updatedAt": "2026-11-26T10:05:00Z", "cancelledAt": None,
            "displayFinancialStatus": "PAID", "currencyCode": "EUR",
            "presentmentCurrencyCode": "EUR", "email": "asiakas@example.com", "note": None,
            "totalPriceSet": {"shopMoney": {"amount": "24.9", "currencyCode": "EUR"}},
            "customer": {"firstName": "Aino", "lastName": "Asiakas",
                         "email": "asiakas@example.com"},
            "shippingAddress": {"name": "Aino Asiakas", "firstName": "Aino", "lastName": "Asiakas",
                                "company": None, "address1": "Kauppakatu 1", "address2": None,
                                "zip": "40100", "city": "Jyväskylä", "countryCodeV2": "FI",
                                "phone": None},
            "billingAddress": None,
            "lineItems": {"nodes": [line_node(f"{n}1", "MUG-1", variant)],
                          "pageInfo": {"hasNextPage": False,
                                       "endCursor": "eyJsYXN0X2lkIjoxfQ=="}}}

def line_node(n, sku, variant):
    return {"id": f"gid://shopify/LineItem/{n}", "sku": sku, "name": "Muki", "quantity": 1,
            "currentQuantity": 1, "variant": {"id": variant},
            "originalUnitPriceSet": {"shopMoney": {"amount": "24.9", "currencyCode": "EUR"}},
            "discountAllocations": []}

page1 = {"data": {"orders": {"nodes": [order_node(1001, "gid://shopify/ProductVariant/808950811")],
         "pageInfo": {"hasNextPage": True, "endCursor": "eyJsYXN0X2lkIjoxMDAxfQ=="}}},
         "extensions": cost(392, 9, 1991.0)}
page2 = {"data": {"orders": {"nodes": [order_node(1002, "gid://shopify/ProductVariant/999")],
         "pageInfo": {"hasNextPage": False, "endCursor": "eyJsYXN0X2lkIjoxMDAyfQ=="}}},
         "extensions": cost(392, 9, 1982.0)}
write("orders_poll.yaml", [(req(conn.ORDERS, {}), resp(page1)),
                           (req(conn.ORDERS, {}), resp(page2))])

# an order with more lines than the orders page carries: the rest come by ORDER_LINE_ITEMS
big = order_node(1003, "gid://shopify/ProductVariant/808950811")
big["lineItems"] = {"nodes": [line_node(f"1003{i:02d}", f"MUG-{i}",
                                        "gid://shopify/ProductVariant/808950811")
                              for i in range(conn.ORDER_LINES_PAGE)],
                    "pageInfo": {"hasNextPage": True, "endCursor": "eyJsYXN0X2lkIjoxMDAzMDl9"}}
rest = {"data": {"order": {"lineItems": {"nodes": [
    line_node(f"1003{i:02d}", f"MUG-{i}", "gid://shopify/ProductVariant/808950811")
    for i in range(conn.ORDER_LINES_PAGE, conn.ORDER_LINES_PAGE + 3)],
    "pageInfo": {"hasNextPage": False, "endCursor": "eyJsYXN0X2lkIjoxMDAzMTJ9"}}}},
    "extensions": cost(353, 10, 1961.0)}
write("orders_poll_long_order.yaml", [
    (req(conn.ORDERS, {}), resp({"data": {"orders": {"nodes": [big], "pageInfo": LAST_PAGE}},
                                 "extensions": cost(392, 28, 1972.0)})),
    (req(conn.ORDER_LINE_ITEMS, {}), resp(rest))])

# a fulfillment order with more lines than the first page: the rest by its own query
fo_big = {"data": {"order": {"fulfillmentOrders": {"nodes": [
    {"id": "gid://shopify/FulfillmentOrder/1046000781", "status": "OPEN", "lineItems": {
        "nodes": [{"id": f"gid://shopify/FulfillmentOrderLineItem/10725033{i:02d}",
                   "remainingQuantity": 1, "lineItem": {"id": f"gid://shopify/LineItem/77{i:02d}"}}
                  for i in range(conn.FULFILLMENT_LINES_PAGE)],
        "pageInfo": {"hasNextPage": True, "endCursor": "eyJsYXN0X2lkIjoxMDcyNTAzMzI0fQ=="}}}],
    "pageInfo": LAST_PAGE}}}, "extensions": cost(268, 56, 1944.0)}
fo_rest = {"data": {"fulfillmentOrder": {"lineItems": {"nodes": [
    {"id": f"gid://shopify/FulfillmentOrderLineItem/10725033{i:02d}", "remainingQuantity": 1,
     "lineItem": {"id": f"gid://shopify/LineItem/77{i:02d}"}}
    for i in range(conn.FULFILLMENT_LINES_PAGE, conn.FULFILLMENT_LINES_PAGE + 5)],
    "pageInfo": {"hasNextPage": False, "endCursor": "eyJsYXN0X2lkIjoxMDcyNTAzMzI5fQ=="}}}},
    "extensions": cost(204, 13, 1931.0)}
write("fulfillment_paged.yaml", [
    (req(conn.FULFILLMENT_ORDERS, {"id": ORDER_ID}), resp(fo_big)),
    (req(conn.FULFILLMENT_ORDER_LINE_ITEMS, {}), resp(fo_rest)),
    (req(conn.FULFILLMENT_CREATE, {}), resp(created))])
write("products_ok.yaml", [(req(PRODUCTS, {"first": 250}), resp(products_ok))])
_ok = yaml.safe_load((OUT / "product_set_create.yaml").read_text())["interactions"][0]
_bad = yaml.safe_load((OUT / "product_set_user_errors.yaml").read_text())["interactions"][0]
write("product_set_mixed.yaml", [(_ok["request"], _ok["response"]),
                                 (_bad["request"], _bad["response"]),
                                 (req(conn.PRODUCT_SET, {}), resp(
    {"errors": "Internal Server Error"}, 500, "Internal Server Error"))])
write("order_flag.yaml", [
    (req(conn.ORDER_NOTE, {"id": "gid://shopify/Order/820982911946154508"}), resp({
        "data": {"order": {"id": ORDER_ID, "note": "Ovikoodi 1234"}},
        "extensions": cost(1, 1, 1999.0)})),
    (req(conn.ORDER_FLAG, {}), resp({
        "data": {"tagsAdd": {"userErrors": []},
                 "orderUpdate": {"order": {"id": "gid://shopify/Order/820982911946154508"},
                                 "userErrors": []}},
        "extensions": cost(20, 20, 1979.0)}))])
print("written", sorted(p.name for p in OUT.iterdir()))
