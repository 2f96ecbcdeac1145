"""The Shopify connector: the contract of :mod:`connectors.base` over the GraphQL Admin API.

Translations live in ``translate``, the HTTP seam in ``client``, webhook checks in ``webhooks``;
this class only puts them together per contract method. The connection's
``settings.platform`` holds ``location_id`` (Glue's fulfilment-service location, where every
published variant is stocked) and optionally ``base_url`` (the sandbox); the credentials hold
``access_token``. The app's client secret is :func:`connectors.shopify.config.app_config`'s
(``GLUE_SHOPIFY_API_SECRET``), the one the install flow signs with.

Every query keeps under Shopify's single-query cost limit (1,000 points) with room to spare in
the bucket: orders come 5 a page with their first 10 lines, fulfillment orders 5 at a time with
25 lines, and the rest of a long order is paged by its own query. Creates and updates of a
large batch go as one bulk mutation (staged JSONL upload, ``bulkOperationRunMutation`` of
``productSet``, the result file read back line by line), outside the rate budget.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from connectors.base import (
    ConnectionContext,
    Connector,
    FulfilmentRequest,
    OrderDraft,
    WebhookDelivery,
    change_sizes,
)
from connectors.errors import ConnectorError, Fatal, NeedsConfiguration, Retriable
from connectors.publish import ChangeBatch, ListingChange, PushResult, ShopRef, push_each
from connectors.shopify import translate, webhooks
from connectors.shopify.client import ShopifyClient, ShopifyGraphQLError, ShopifyUserErrors
from connectors.shopify.config import app_config

PRODUCT_SET = """
mutation GlueProductSet($identifier: ProductSetIdentifiers, $input: ProductSetInput!) {
  productSet(identifier: $identifier, input: $input, synchronous: true) {
    product { id variants(first: 250) { nodes { id sku inventoryItem { id } } } }
    userErrors { field message code }
  }
}"""

INVENTORY_SET = """
mutation GlueInventorySet($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { id }
    userErrors { field message code }
  }
}"""

PRODUCT_UNPUBLISH = """
mutation GlueProductUnpublish($product: ProductUpdateInput!) {
  productUpdate(product: $product) { product { id status } userErrors { field message } }
}"""

PRODUCT_DELETE = """
mutation GlueProductDelete($input: ProductDeleteInput!) {
  productDelete(input: $input) { deletedProductId userErrors { field message } }
}"""

# Shopify refuses a query whose calculated cost is over 1000 points, and a query's requested
# cost must fit in the bucket before it runs: a connection costs 2 + ``first`` × its node. An
# order node with ten lines costs ~78, so a page holds 5 orders with their first 10 lines
# (~400 points); the rare order with more lines has them paged by ORDER_LINE_ITEMS (~354).
ORDERS_PAGE, ORDER_LINES_PAGE, LINES_PAGE = 5, 10, 50

LINE_ITEM_FIELDS = """
          id sku name quantity currentQuantity variant { id }
          originalUnitPriceSet { shopMoney { amount currencyCode } }
          discountAllocations { allocatedAmountSet { shopMoney { amount currencyCode } } }"""

ORDERS = f"""
query GlueOrders($query: String!, $after: String) {{
  orders(first: {ORDERS_PAGE}, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{
      id name createdAt updatedAt cancelledAt displayFinancialStatus currencyCode
      presentmentCurrencyCode email note
      totalPriceSet {{ shopMoney {{ amount currencyCode }} }}
      customer {{ firstName lastName email }}
      shippingAddress {{ name firstName lastName company address1 address2 zip city
                        countryCodeV2 phone }}
      billingAddress {{ name firstName lastName company address1 address2 zip city
                       countryCodeV2 phone }}
      lineItems(first: {ORDER_LINES_PAGE}) {{
        nodes {{{LINE_ITEM_FIELDS}
        }}
        pageInfo {{ hasNextPage endCursor }}
      }}
    }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""

ORDER_LINE_ITEMS = f"""
query GlueOrderLineItems($id: ID!, $after: String) {{
  order(id: $id) {{
    lineItems(first: {LINES_PAGE}, after: $after) {{
      nodes {{{LINE_ITEM_FIELDS}
      }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}"""

# An order has a fulfillment order per location it ships from (Glue's and the merchant's):
# 5 of them with 25 lines each is ~280 points; more of either is paged.
FULFILLMENT_ORDERS_PAGE, FULFILLMENT_LINES_PAGE = 5, 25

FULFILLMENT_ORDERS = f"""
query GlueFulfillmentOrders($id: ID!, $after: String) {{
  order(id: $id) {{
    fulfillmentOrders(first: {FULFILLMENT_ORDERS_PAGE}, after: $after) {{
      nodes {{
        id status
        lineItems(first: {FULFILLMENT_LINES_PAGE}) {{
          nodes {{ id remainingQuantity lineItem {{ id }} }}
          pageInfo {{ hasNextPage endCursor }}
        }}
      }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}"""

FULFILLMENT_ORDER_LINE_ITEMS = f"""
query GlueFulfillmentOrderLineItems($id: ID!, $after: String) {{
  fulfillmentOrder(id: $id) {{
    lineItems(first: {LINES_PAGE * 2}, after: $after) {{
      nodes {{ id remainingQuantity lineItem {{ id }} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}"""

FULFILLMENT_CREATE = """
mutation GlueFulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}"""

ORDER_FULFILLMENTS = """
query GlueOrderFulfillments($id: ID!) {
  order(id: $id) { fulfillments(first: 50) { id trackingInfo(first: 10) { number } } }
}"""

ORDER_NOTE = """
query GlueOrderNote($id: ID!) { order(id: $id) { id note } }"""

ORDER_FLAG = """
mutation GlueOrderFlag($id: ID!, $tags: [String!]!, $input: OrderInput!) {
  tagsAdd(id: $id, tags: $tags) { userErrors { field message } }
  orderUpdate(input: $input) { order { id } userErrors { field message } }
}"""

CANCELLED_TAG = "glue-shipment-cancelled"

# --- bulk: many products in one asynchronous operation outside the rate limit ---------------

STAGED_UPLOADS_CREATE = """
mutation GlueStagedUpload($input: [StagedUploadInput!]!) {
  stagedUploadsCreate(input: $input) {
    stagedTargets { url resourceUrl parameters { name value } }
    userErrors { field message }
  }
}"""

BULK_RUN_MUTATION = """
mutation GlueBulkRun($mutation: String!, $path: String!) {
  bulkOperationRunMutation(mutation: $mutation, stagedUploadPath: $path) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}"""

BULK_FIELDS = "id status errorCode objectCount url partialDataUrl"
BULK_STATUS = f"""
query GlueBulkStatus($id: ID!) {{ bulkOperation(id: $id) {{ {BULK_FIELDS} }} }}"""
BULK_CURRENT = f"""
query GlueBulkCurrent {{ currentBulkOperation(type: MUTATION) {{ {BULK_FIELDS} }} }}"""

# From this many listings in one batch, creates and updates go as one bulk mutation instead of
# one productSet each (measured against the sandbox: ``bench/sync_shopify.py threshold``; see the
# README). A bulk batch may hold BULK_BATCH listings; its JSONL is cut into files of at most
# BULK_MAX_BYTES (a staged upload takes 20 MB), one operation each.
BULK_THRESHOLD = 40
BULK_BATCH = 10_000
BULK_MAX_BYTES = 16 * 1024 * 1024
BULK_RUNNING = ("CREATED", "RUNNING", "CANCELING")
BULK_POLL_FIRST, BULK_POLL_MAX, BULK_MAX_WAIT = 0.05, 30.0, 900.0


class ShopifyConnector(Connector):
    """Shopify over the GraphQL Admin API; see :class:`connectors.base.Connector`."""

    platform: ClassVar[str] = "shopify"
    title: ClassVar[str] = "Shopify"
    # webhooks carry the orders; the poll only repairs what they missed
    poll_interval_seconds: ClassVar[int] = 300
    # Creates and updates: below BULK_THRESHOLD listings a batch is one productSet each;
    # from there on one bulk mutation, so a large catalog goes in batches of BULK_BATCH.
    # Quantity batches are bounded by the 250-item array limit inside ``translate``.
    batch_sizes: ClassVar[Mapping[str, int]] = change_sizes(
        create=BULK_BATCH, update=BULK_BATCH, stock=250, end=50)

    def __init__(self, connection: ConnectionContext, *, client: ShopifyClient | None = None,
                 secret: str | None = None, bulk_threshold: int = BULK_THRESHOLD,
                 bulk_max_wait: float = BULK_MAX_WAIT) -> None:
        super().__init__(connection)
        self._client = client
        self._secret = secret
        self.bulk_threshold, self.bulk_max_wait = bulk_threshold, bulk_max_wait

    @property
    def client(self) -> ShopifyClient:
        if self._client is None:
            token = self.connection.credentials.get("access_token")
            if not token:
                raise NeedsConfiguration("the Shopify connection has no access token")
            self._client = ShopifyClient(self.connection.shop, token,
                                         base_url=self.connection.settings.platform.get(
                                             "base_url"))
        return self._client

    @property
    def location_id(self) -> str:
        location = self.connection.settings.platform.get("location_id")
        if not location:
            raise NeedsConfiguration("Glue's Shopify location is not set up for this shop")
        return str(location)

    # --- webhooks ----------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        signature = next((v for k, v in headers.items()
                          if k.lower() == "x-shopify-hmac-sha256"), None)
        return webhooks.verify(body, signature, self._secret or app_config().api_secret)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        return webhooks.parse(headers, body)

    # --- products ----------------------------------------------------------------------

    def publish_products(self, batch: ChangeBatch) -> list[PushResult]:
        if len(batch.changes) >= self.bulk_threshold:
            return self._publish_bulk(batch.changes)
        return push_each(batch.changes, self._product_set)

    def _product_set_variables(self, change: ListingChange) -> dict[str, Any]:
        assert change.listing is not None
        # keep only variants recorded under this very product: a Glue product that moved into
        # a variant group still has a reference to its old single-variant shop product
        product_id = change.reference.shop_id if change.reference else None
        variant_ids = {pid: ref.shop_id for pid, ref in change.variant_refs.items()
                       if product_id and ref.extra.get("product_id") == product_id}
        return {"identifier": translate.product_set_identifier(change.key, product_id),
                "input": translate.product_set_input(change.listing.document,
                                                     location_id=self.location_id,
                                                     variant_ids=variant_ids)}

    def _product_set(self, change: ListingChange) -> PushResult:
        payload = self.client.mutate(PRODUCT_SET, self._product_set_variables(change),
                                     root="productSet")
        return _pushed(change, payload["product"])

    def _publish_bulk(self, changes: Sequence[ListingChange]) -> list[PushResult]:
        """One bulk mutation of productSet for all ``changes`` (more when the JSONL outgrows
        one staged file): their variables go to a staged upload, the operation runs in
        Shopify without touching the rate budget, and its result file gives one outcome per
        line (by ``__lineNumber``)."""
        results: dict[int, dict[str, Any]] = {}
        try:
            lines = [(json.dumps(self._product_set_variables(change), separators=(",", ":"),
                                 ensure_ascii=False) + "\n").encode() for change in changes]
            start = 0
            for chunk in _chunks(lines, BULK_MAX_BYTES):
                found = self._bulk_mutation(PRODUCT_SET, b"".join(chunk), len(chunk))
                results.update({start + number: line for number, line in found.items()})
                start += len(chunk)
        except ConnectorError as exc:
            if not results:
                return [PushResult(change, error=exc) for change in changes]
            error: ConnectorError | None = exc
        else:
            error = None
        out = []
        for index, change in enumerate(changes):
            line = results.get(index)
            if line is None:
                out.append(PushResult(change, error=error or Retriable(
                    f"{change.key}: the bulk operation ended before this product")))
            elif line.get("errors"):
                out.append(PushResult(change, error=ShopifyGraphQLError(
                    f"{change.key}: productSet failed in bulk", line["errors"])))
            else:
                payload = (line.get("data") or {}).get("productSet") or {}
                if payload.get("userErrors") or not payload.get("product"):
                    out.append(PushResult(change, error=ShopifyUserErrors(
                        "productSet", payload.get("userErrors") or [])))
                else:
                    out.append(_pushed(change, payload["product"]))
        return out

    def _bulk_mutation(self, mutation: str, body: bytes,
                       lines: int) -> dict[int, dict[str, Any]]:
        """Run ``mutation`` once per JSONL line of ``body``; the result lines by number.

        An operation of Glue's still running (an earlier attempt that timed out) is waited
        for first, so that two operations never upsert the same products at once.
        """
        client = self.client
        current = client.execute(BULK_CURRENT).get("currentBulkOperation")
        if current and current.get("status") in BULK_RUNNING:
            self._wait_for_bulk(current["id"], None)
        payload = client.mutate(STAGED_UPLOADS_CREATE, {"input": [{
            "resource": "BULK_MUTATION_VARIABLES", "filename": "glue-products.jsonl",
            "mimeType": "text/jsonl", "httpMethod": "POST"}]}, root="stagedUploadsCreate")
        target = (payload.get("stagedTargets") or [None])[0]
        if not target:
            raise Fatal("stagedUploadsCreate returned no target")
        path = client.upload_staged(target, "glue-products.jsonl", body)
        try:
            run = client.mutate(BULK_RUN_MUTATION, {"mutation": mutation, "path": path},
                                root="bulkOperationRunMutation")
        except ShopifyUserErrors as exc:
            if any(e.get("code") == "OPERATION_IN_PROGRESS" for e in exc.user_errors):
                raise Retriable("another bulk mutation is running in the shop") from exc
            raise
        done = self._wait_for_bulk(run["bulkOperation"]["id"], lines)
        url = done.get("url") or done.get("partialDataUrl")
        if done.get("status") != "COMPLETED" and not url:
            raise Retriable(f"the bulk operation ended {done.get('status')} "
                            f"({done.get('errorCode')})")
        found: dict[int, dict[str, Any]] = {}
        for raw in (client.download(url).splitlines() if url else []):
            if raw.strip():
                line = json.loads(raw)
                found[int(line["__lineNumber"])] = line
        return found

    def _wait_for_bulk(self, operation_id: str, lines: int | None) -> dict[str, Any]:
        """Poll ``bulkOperation(id:)`` until it is no longer running; Retriable after
        ``bulk_max_wait`` seconds. Each status read is an API call, so once the operation
        reports progress (``objectCount`` of ``lines``) the next read is timed for when it
        should be done; until then the interval doubles."""
        delay, waited = BULK_POLL_FIRST, 0.0
        while True:
            status = self.client.execute(BULK_STATUS, {"id": operation_id}).get(
                "bulkOperation") or {}
            if status.get("status") not in BULK_RUNNING:
                return status
            if waited >= self.bulk_max_wait:
                raise Retriable(f"the bulk operation {operation_id} is still running",
                                retry_after=min(BULK_POLL_MAX, 5.0))
            done = int(status.get("objectCount") or 0)
            if lines and done and waited:
                delay = (lines - done) * waited / done * 1.1 + BULK_POLL_FIRST
            delay = min(max(delay, BULK_POLL_FIRST), BULK_POLL_MAX)
            self.client.sleep(delay)
            waited += delay
            delay *= 2

    def update_stock(self, batch: ChangeBatch) -> list[PushResult]:
        quantities: list[tuple[str, int]] = []
        ready, results = [], []
        for change in batch.changes:
            assert change.listing is not None
            items = [(change.variant_refs[v["product_id"]].extra.get("inventory_item_id"),
                      v["quantity"]) if v["product_id"] in change.variant_refs else (None, 0)
                     for v in change.listing.document["variants"]]
            if all(item for item, _ in items):
                quantities.extend(items)  # type: ignore[arg-type]
                ready.append(change)
            else:  # only a full update can record the missing variants
                results.append(PushResult(change, error=Fatal(
                    f"{change.key}: shop variants not recorded; needs a full update")))
        try:
            self._set_quantities(quantities, reference=f"stock/{self.connection.key}")
        except ConnectorError as exc:  # one call set them all: all share the outcome
            return results + [PushResult(change, error=exc) for change in ready]
        return results + [PushResult(change) for change in ready]

    def end_sale(self, batch: ChangeBatch) -> list[PushResult]:
        return push_each(batch.changes, self._end_sale)

    def _end_sale(self, change: ListingChange) -> PushResult:
        assert change.reference is not None
        if change.end_action == "zero_stock":
            self._set_quantities(
                [(ref.extra["inventory_item_id"], 0) for ref in change.variant_refs.values()
                 if ref.extra.get("inventory_item_id")],
                reference=f"end/{self.connection.key}")
        elif change.end_action == "unpublish":
            self.client.mutate(PRODUCT_UNPUBLISH, {"product": {
                "id": change.reference.shop_id, "status": "DRAFT"}}, root="productUpdate")
        else:
            try:
                self.client.mutate(PRODUCT_DELETE, {"input": {"id": change.reference.shop_id}},
                                   root="productDelete")
            except ShopifyUserErrors as exc:  # already deleted by the merchant: done
                if not all("not exist" in str(e.get("message", "")).lower()
                           for e in exc.user_errors):
                    raise
        return PushResult(change)

    def _set_quantities(self, quantities: list[tuple[str, int]], *, reference: str) -> None:
        uri = f"gid://glue/Connection/{self.connection.id}/{reference}"
        for chunk in translate.inventory_set_inputs(quantities, location_id=self.location_id,
                                                    reference=uri):
            self.client.mutate(INVENTORY_SET, {"input": chunk}, root="inventorySetQuantities")

    # --- orders ------------------------------------------------------------------------

    def order_draft(self, payload: Mapping[str, Any],
                    variant_products: Mapping[str, int]) -> OrderDraft | None:
        return translate.order_draft(payload, variant_products)

    def order_identity(self, payload: Mapping[str, Any]) -> tuple[str, bool] | None:
        return translate.order_identity(payload)

    def fetch_orders(self, updated_since: datetime) -> Iterator[Mapping[str, Any]]:
        since = updated_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for order in self.client.nodes(ORDERS, {"query": f"updated_at:>='{since}'"},
                                       path=("orders",)):
            yield self._with_all_lines(order)

    def _with_all_lines(self, order: dict[str, Any]) -> dict[str, Any]:
        """The order with every line: a page carries only the first ``ORDER_LINES_PAGE``."""
        items = order.get("lineItems") or {}
        page = items.get("pageInfo") or {}
        if not page.get("hasNextPage"):
            return order
        rest = self.client.nodes(ORDER_LINE_ITEMS, {"id": order["id"]},
                                 path=("order", "lineItems"), after=page.get("endCursor"))
        nodes = [*(items.get("nodes") or []), *rest]
        return {**order, "lineItems": {"nodes": nodes,
                                       "pageInfo": {"hasNextPage": False, "endCursor": None}}}

    def fulfillment_orders(self, shop_order_id: str) -> list[dict[str, Any]]:
        """The order's fulfillment orders Glue may see, each with all of its open lines."""
        found = []
        for fo in self.client.nodes(FULFILLMENT_ORDERS, {"id": shop_order_id},
                                    path=("order", "fulfillmentOrders")):
            items = fo.get("lineItems") or {}
            page = items.get("pageInfo") or {}
            if page.get("hasNextPage") and fo.get("status") in translate.OPEN_FULFILLMENT_ORDER:
                rest = self.client.nodes(FULFILLMENT_ORDER_LINE_ITEMS, {"id": fo["id"]},
                                         path=("fulfillmentOrder", "lineItems"),
                                         after=page.get("endCursor"))
                fo = {**fo, "lineItems": {"nodes": [*(items.get("nodes") or []), *rest]}}
            found.append(fo)
        return found

    def push_fulfilment(self, fulfilment: FulfilmentRequest) -> str:
        orders = self.fulfillment_orders(fulfilment.shop_order_id)
        try:
            data = translate.fulfillment_create_input(fulfilment, orders)
        except Fatal:
            # a repeat: the first attempt ran but its answer was lost (a timeout, a crash
            # before Glue recorded it), so the lines are closed already. The fulfilment that
            # carries this shipment's tracking numbers is the one made then.
            done = self._existing_fulfilment(fulfilment)
            if done is None:
                raise
            return done
        payload = self.client.mutate(FULFILLMENT_CREATE, {"fulfillment": data},
                                     root="fulfillmentCreate")
        return payload["fulfillment"]["id"]

    def _existing_fulfilment(self, fulfilment: FulfilmentRequest) -> str | None:
        codes = {code for parcel in fulfilment.parcels for code in parcel.tracking_codes}
        if not codes:
            return None
        order = self.client.execute(ORDER_FULFILLMENTS, {"id": fulfilment.shop_order_id})
        for made in (order.get("order") or {}).get("fulfillments") or []:
            numbers = {t.get("number") for t in made.get("trackingInfo") or []}
            if codes <= numbers:
                return str(made["id"])
        return None

    def report_cancellation(self, shop_order_id: str, message: str) -> None:
        order = self.client.execute(ORDER_NOTE, {"id": shop_order_id}).get("order") or {}
        note = "\n".join(p for p in (order.get("note") or "", message) if p)
        data = self.client.execute(ORDER_FLAG, {"id": shop_order_id, "tags": [CANCELLED_TAG],
                                                "input": {"id": shop_order_id, "note": note}})
        errors = [e for root in ("tagsAdd", "orderUpdate")
                  for e in (data.get(root) or {}).get("userErrors") or []]
        if errors:
            raise ShopifyUserErrors("tagsAdd/orderUpdate", errors)


def _chunks(lines: Sequence[bytes], limit: int) -> Iterator[list[bytes]]:
    """``lines`` in order, cut into runs of at most ``limit`` bytes (a line longer than the
    limit goes alone, and the staged upload refuses it)."""
    chunk: list[bytes] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) > limit:
            yield chunk
            chunk, size = [], 0
        chunk.append(line)
        size += len(line)
    if chunk:
        yield chunk


def _pushed(change: ListingChange, product: Mapping[str, Any]) -> PushResult:
    """A successful create or update: the shop product and each Glue product's variant."""
    assert change.listing is not None
    by_sku = {v["sku"]: v for v in product["variants"]["nodes"]}
    variants = {
        v["product_id"]: ShopRef(by_sku[v["sku"]]["id"], {
            "inventory_item_id": by_sku[v["sku"]]["inventoryItem"]["id"],
            "product_id": product["id"]})
        for v in change.listing.document["variants"] if v["sku"] in by_sku}
    return PushResult(change, shop_id=product["id"], variants=variants)
