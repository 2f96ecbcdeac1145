"""The Shopify connector: the contract of :mod:`connectors.base` over the GraphQL Admin API.

Translations live in ``translate``, the HTTP seam in ``client``, webhook checks in ``webhooks``;
this class only puts them together per contract method. The connection's
``settings.platform`` holds ``location_id`` (Glue's fulfilment-service location, where every
published variant is stocked) and optionally ``base_url`` (the sandbox); the credentials hold
``access_token``. The app's client secret comes from ``GLUE_SHOPIFY_API_SECRET``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
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
from connectors.errors import ConnectorError, Fatal, NeedsConfiguration
from connectors.publish import ChangeBatch, ListingChange, PushResult, ShopRef, push_each
from connectors.shopify import translate, webhooks
from connectors.shopify.client import ShopifyClient, ShopifyUserErrors

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

ORDERS = """
query GlueOrders($query: String!, $after: String) {
  orders(first: 50, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes {
      id name createdAt updatedAt cancelledAt displayFinancialStatus currencyCode
      presentmentCurrencyCode email note
      totalPriceSet { shopMoney { amount currencyCode } }
      customer { firstName lastName email }
      shippingAddress { name firstName lastName company address1 address2 zip city
                        countryCodeV2 phone }
      billingAddress { name firstName lastName company address1 address2 zip city
                       countryCodeV2 phone }
      lineItems(first: 250) {
        nodes {
          id sku name quantity currentQuantity variant { id }
          originalUnitPriceSet { shopMoney { amount currencyCode } }
          discountAllocations { allocatedAmountSet { shopMoney { amount currencyCode } } }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""

FULFILLMENT_ORDERS = """
query GlueFulfillmentOrders($id: ID!) {
  order(id: $id) {
    fulfillmentOrders(first: 50) {
      nodes { id status lineItems(first: 250) { nodes { id remainingQuantity lineItem { id } } } }
    }
  }
}"""

FULFILLMENT_CREATE = """
mutation GlueFulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}"""

ORDER_NOTE = """
query GlueOrderNote($id: ID!) { order(id: $id) { id note } }"""

ORDER_FLAG = """
mutation GlueOrderFlag($id: ID!, $tags: [String!]!, $input: OrderInput!) {
  tagsAdd(id: $id, tags: $tags) { userErrors { field message } }
  orderUpdate(input: $input) { order { id } userErrors { field message } }
}"""

CANCELLED_TAG = "glue-shipment-cancelled"


def app_secret() -> str:
    """The Shopify app's client secret (signs webhooks and OAuth redirects)."""
    return os.environ.get("GLUE_SHOPIFY_API_SECRET", "")


class ShopifyConnector(Connector):
    """Shopify over the GraphQL Admin API; see :class:`connectors.base.Connector`."""

    platform: ClassVar[str] = "shopify"
    title: ClassVar[str] = "Shopify"
    # productSet takes one product per call; a batch is one job's worth of listings. Quantity
    # batches are bounded by the 250-item array limit inside ``translate``.
    batch_sizes: ClassVar[Mapping[str, int]] = change_sizes(create=25, update=25, stock=250,
                                                            end=50)

    def __init__(self, connection: ConnectionContext, *, client: ShopifyClient | None = None,
                 secret: str | None = None) -> None:
        super().__init__(connection)
        self._client = client
        self._secret = secret

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
        return webhooks.verify(body, signature, self._secret or app_secret())

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        return webhooks.parse(headers, body)

    # --- products ----------------------------------------------------------------------

    def publish_products(self, batch: ChangeBatch) -> list[PushResult]:
        return push_each(batch.changes, self._product_set)

    def _product_set(self, change: ListingChange) -> PushResult:
        assert change.listing is not None
        document = change.listing.document
        # keep only variants recorded under this very product: a Glue product that moved into
        # a variant group still has a reference to its old single-variant shop product
        product_id = change.reference.shop_id if change.reference else None
        variant_ids = {pid: ref.shop_id for pid, ref in change.variant_refs.items()
                       if product_id and ref.extra.get("product_id") == product_id}
        payload = self.client.mutate(PRODUCT_SET, {
            "identifier": translate.product_set_identifier(change.key, product_id),
            "input": translate.product_set_input(document, location_id=self.location_id,
                                                 variant_ids=variant_ids),
        }, root="productSet")
        product = payload["product"]
        by_sku = {v["sku"]: v for v in product["variants"]["nodes"]}
        variants = {
            v["product_id"]: ShopRef(by_sku[v["sku"]]["id"], {
                "inventory_item_id": by_sku[v["sku"]]["inventoryItem"]["id"],
                "product_id": product["id"]})
            for v in document["variants"] if v["sku"] in by_sku}
        return PushResult(change, shop_id=product["id"], variants=variants)

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

    def fetch_orders(self, updated_since: datetime) -> Iterator[Mapping[str, Any]]:
        since = updated_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self.client.nodes(ORDERS, {"query": f"updated_at:>='{since}'"},
                                 path=("orders",))

    def push_fulfilment(self, fulfilment: FulfilmentRequest) -> str:
        data = self.client.execute(FULFILLMENT_ORDERS, {"id": fulfilment.shop_order_id})
        orders = (((data.get("order") or {}).get("fulfillmentOrders") or {}).get("nodes")) or []
        payload = self.client.mutate(
            FULFILLMENT_CREATE,
            {"fulfillment": translate.fulfillment_create_input(fulfilment, orders)},
            root="fulfillmentCreate")
        return payload["fulfillment"]["id"]

    def report_cancellation(self, shop_order_id: str, message: str) -> None:
        order = self.client.execute(ORDER_NOTE, {"id": shop_order_id}).get("order") or {}
        note = "\n".join(p for p in (order.get("note") or "", message) if p)
        data = self.client.execute(ORDER_FLAG, {"id": shop_order_id, "tags": [CANCELLED_TAG],
                                                "input": {"id": shop_order_id, "note": note}})
        errors = [e for root in ("tagsAdd", "orderUpdate")
                  for e in (data.get(root) or {}).get("userErrors") or []]
        if errors:
            raise ShopifyUserErrors("tagsAdd/orderUpdate", errors)
