"""The GraphQL Admin API subset the Shopify sandbox serves: its schema and its query cost.

Only the types and fields Glue's connector sends are declared, with Shopify's names, so a
query that asks for a field Shopify does not have fails here as it would there (a top-level
``errors`` entry with HTTP 200). Cost follows Shopify's calculated-cost rules closely enough
for throttling tests: an object costs 1, a connection 2 plus ``first`` times its node, a
scalar or enum nothing, and a mutation 10.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    get_named_type,
)

SDL = """
scalar Money
scalar DateTime
scalar URL

enum CurrencyCode { EUR SEK USD }
enum ProductStatus { ACTIVE ARCHIVED DRAFT }
enum ProductVariantInventoryPolicy { DENY CONTINUE }
enum WeightUnit { GRAMS KILOGRAMS OUNCES POUNDS }
enum FileContentType { IMAGE FILE VIDEO EXTERNAL_VIDEO MODEL_3D }
enum OrderSortKeys { CREATED_AT UPDATED_AT ID NUMBER }
enum FulfillmentOrderStatus { OPEN IN_PROGRESS CLOSED CANCELLED INCOMPLETE ON_HOLD SCHEDULED }
enum FulfillmentStatus { SUCCESS CANCELLED ERROR FAILURE OPEN PENDING }
enum OrderDisplayFinancialStatus { PENDING AUTHORIZED PAID PARTIALLY_PAID REFUNDED VOIDED
                                   PARTIALLY_REFUNDED EXPIRED }
enum WebhookSubscriptionTopic { ORDERS_CREATE ORDERS_PAID ORDERS_CANCELLED ORDERS_UPDATED
                                APP_UNINSTALLED PRODUCTS_UPDATE BULK_OPERATIONS_FINISH }

interface Node { id: ID! }

type UserError { field: [String!] message: String! }
type CodedUserError { field: [String!] message: String! code: String }

type PageInfo { hasNextPage: Boolean! endCursor: String }

type Shop { id: ID! name: String! currencyCode: CurrencyCode! myshopifyDomain: String! }

type Location implements Node { id: ID! name: String! }
type InventoryItem implements Node { id: ID! tracked: Boolean! }
type ProductVariant implements Node {
  id: ID! sku: String barcode: String price: Money! title: String!
  inventoryItem: InventoryItem! product: Product!
}
type ProductVariantConnection { nodes: [ProductVariant!]! pageInfo: PageInfo! }
type Product implements Node {
  id: ID! handle: String! title: String! status: ProductStatus! vendor: String!
  descriptionHtml: String!
  variants(first: Int, after: String): ProductVariantConnection!
}
type ProductConnection { nodes: [Product!]! pageInfo: PageInfo! }

type MoneyV2 { amount: Money! currencyCode: CurrencyCode! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }
type DiscountAllocation { allocatedAmountSet: MoneyBag! }
type Customer { firstName: String lastName: String email: String }
type MailingAddress {
  name: String firstName: String lastName: String company: String address1: String
  address2: String zip: String city: String countryCodeV2: String phone: String
}
type LineItem implements Node {
  id: ID! sku: String name: String! title: String! quantity: Int! currentQuantity: Int!
  variant: ProductVariant originalUnitPriceSet: MoneyBag!
  discountAllocations: [DiscountAllocation!]!
}
type LineItemConnection { nodes: [LineItem!]! pageInfo: PageInfo! }
type FulfillmentOrderLineItem implements Node {
  id: ID! remainingQuantity: Int! totalQuantity: Int! lineItem: LineItem!
}
type FulfillmentOrderLineItemConnection { nodes: [FulfillmentOrderLineItem!]! pageInfo: PageInfo! }
type FulfillmentOrder implements Node {
  id: ID! status: FulfillmentOrderStatus! assignedLocation: FulfillmentOrderAssignedLocation!
  lineItems(first: Int, after: String): FulfillmentOrderLineItemConnection!
}
type FulfillmentOrderAssignedLocation { location: Location }
type FulfillmentOrderConnection { nodes: [FulfillmentOrder!]! pageInfo: PageInfo! }
type TrackingInfo { company: String number: String url: URL }
type Fulfillment implements Node {
  id: ID! status: FulfillmentStatus! trackingInfo(first: Int): [TrackingInfo!]!
}
type Order implements Node {
  id: ID! name: String! createdAt: DateTime! updatedAt: DateTime! cancelledAt: DateTime
  displayFinancialStatus: OrderDisplayFinancialStatus currencyCode: CurrencyCode!
  presentmentCurrencyCode: CurrencyCode! email: String note: String tags: [String!]!
  totalPriceSet: MoneyBag! customer: Customer
  shippingAddress: MailingAddress billingAddress: MailingAddress
  lineItems(first: Int, after: String): LineItemConnection!
  fulfillmentOrders(first: Int, after: String): FulfillmentOrderConnection!
  fulfillments(first: Int): [Fulfillment!]!
}
type OrderConnection { nodes: [Order!]! pageInfo: PageInfo! }
type WebhookSubscription implements Node { id: ID! topic: WebhookSubscriptionTopic! uri: String! }
type FulfillmentService implements Node {
  id: ID! serviceName: String! location: Location
}
type InventoryAdjustmentGroup implements Node { id: ID! }

enum StagedUploadTargetGenerateUploadResource { BULK_MUTATION_VARIABLES FILE IMAGE VIDEO }
enum StagedUploadHttpMethodType { POST PUT }
input StagedUploadInput {
  resource: StagedUploadTargetGenerateUploadResource! filename: String! mimeType: String!
  httpMethod: StagedUploadHttpMethodType fileSize: String
}
type StagedUploadParameter { name: String! value: String! }
type StagedMediaUploadTarget { url: URL resourceUrl: URL parameters: [StagedUploadParameter!]! }
type StagedUploadsCreatePayload {
  stagedTargets: [StagedMediaUploadTarget!] userErrors: [UserError!]!
}
enum BulkOperationStatus { CANCELED CANCELING COMPLETED CREATED EXPIRED FAILED RUNNING }
enum BulkOperationType { MUTATION QUERY }
enum BulkOperationErrorCode { ACCESS_DENIED INTERNAL_SERVER_ERROR TIMEOUT }
enum BulkMutationErrorCode { INTERNAL_FILE_SERVER_ERROR INVALID_MUTATION
                             INVALID_STAGED_UPLOAD_FILE NO_SUCH_FILE OPERATION_IN_PROGRESS }
type BulkOperation implements Node {
  id: ID! status: BulkOperationStatus! errorCode: BulkOperationErrorCode type: BulkOperationType!
  createdAt: DateTime! completedAt: DateTime objectCount: String! rootObjectCount: String!
  fileSize: String url: URL partialDataUrl: URL query: String!
}
type BulkMutationUserError { field: [String!] message: String! code: BulkMutationErrorCode }
type BulkOperationRunMutationPayload {
  bulkOperation: BulkOperation userErrors: [BulkMutationUserError!]!
}

type Query {
  shop: Shop!
  products(first: Int, after: String, query: String): ProductConnection!
  product(id: ID!): Product
  orders(first: Int, after: String, query: String, sortKey: OrderSortKeys,
         reverse: Boolean): OrderConnection!
  order(id: ID!): Order
  fulfillmentOrder(id: ID!): FulfillmentOrder
  bulkOperation(id: ID!): BulkOperation
  currentBulkOperation(type: BulkOperationType): BulkOperation
}

input ProductSetIdentifiers { id: ID handle: String }
input OptionValueSetInput { name: String! }
input OptionSetInput { name: String! position: Int values: [OptionValueSetInput!] }
input VariantOptionValueInput { optionName: String! name: String! }
input WeightInput { value: Float! unit: WeightUnit! }
input InventoryItemMeasurementInput { weight: WeightInput }
input InventoryItemInput { tracked: Boolean sku: String measurement: InventoryItemMeasurementInput }
input ProductSetInventoryInput { locationId: ID! name: String! quantity: Int! }
input ProductVariantSetInput {
  id: ID optionValues: [VariantOptionValueInput!]! sku: String barcode: String price: Money
  inventoryPolicy: ProductVariantInventoryPolicy inventoryItem: InventoryItemInput
  inventoryQuantities: [ProductSetInventoryInput!]
}
input FileSetInput { originalSource: String! contentType: FileContentType alt: String }
input ProductSetInput {
  title: String handle: String descriptionHtml: String vendor: String status: ProductStatus
  productOptions: [OptionSetInput!] variants: [ProductVariantSetInput!] files: [FileSetInput!]
}
type ProductSetPayload { product: Product userErrors: [CodedUserError!]! }

input InventoryQuantityInput {
  inventoryItemId: ID! locationId: ID! quantity: Int! compareQuantity: Int
}
input InventorySetQuantitiesInput {
  name: String! reason: String! referenceDocumentUri: String
  ignoreCompareQuantity: Boolean quantities: [InventoryQuantityInput!]!
}
type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup userErrors: [CodedUserError!]!
}

input ProductUpdateInput { id: ID! status: ProductStatus title: String }
type ProductUpdatePayload { product: Product userErrors: [UserError!]! }
input ProductDeleteInput { id: ID! }
type ProductDeletePayload { deletedProductId: ID userErrors: [UserError!]! }

input OrderInput { id: ID! note: String tags: [String!] }
type OrderUpdatePayload { order: Order userErrors: [UserError!]! }
type TagsAddPayload { node: Node userErrors: [UserError!]! }

input FulfillmentOrderLineItemInput { id: ID! quantity: Int! }
input FulfillmentOrderLineItemsInput {
  fulfillmentOrderId: ID! fulfillmentOrderLineItems: [FulfillmentOrderLineItemInput!]
}
input FulfillmentTrackingInput {
  company: String number: String numbers: [String!] url: URL urls: [URL!]
}
input FulfillmentInput {
  lineItemsByFulfillmentOrder: [FulfillmentOrderLineItemsInput!]!
  trackingInfo: FulfillmentTrackingInput notifyCustomer: Boolean
}
type FulfillmentCreatePayload { fulfillment: Fulfillment userErrors: [UserError!]! }

input WebhookSubscriptionInput { uri: String format: String includeFields: [String!] }
type WebhookSubscriptionCreatePayload {
  webhookSubscription: WebhookSubscription userErrors: [UserError!]!
}
type FulfillmentServiceCreatePayload {
  fulfillmentService: FulfillmentService userErrors: [UserError!]!
}

type Mutation {
  productSet(identifier: ProductSetIdentifiers, input: ProductSetInput!,
             synchronous: Boolean): ProductSetPayload
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  productUpdate(product: ProductUpdateInput!): ProductUpdatePayload
  productDelete(input: ProductDeleteInput!): ProductDeletePayload
  orderUpdate(input: OrderInput!): OrderUpdatePayload
  tagsAdd(id: ID!, tags: [String!]!): TagsAddPayload
  fulfillmentCreate(fulfillment: FulfillmentInput!, message: String): FulfillmentCreatePayload
  webhookSubscriptionCreate(topic: WebhookSubscriptionTopic!,
                            webhookSubscription: WebhookSubscriptionInput!):
    WebhookSubscriptionCreatePayload
  fulfillmentServiceCreate(name: String!, callbackUrl: URL, inventoryManagement: Boolean,
                           trackingSupport: Boolean): FulfillmentServiceCreatePayload
  stagedUploadsCreate(input: [StagedUploadInput!]!): StagedUploadsCreatePayload
  bulkOperationRunMutation(mutation: String!, stagedUploadPath: String!,
                           clientIdentifier: String): BulkOperationRunMutationPayload
}
"""

MUTATION_COST = 10
MAX_QUERY_COST = 1000
MAX_INPUT_SIZE = 250

_schema: GraphQLSchema | None = None


def schema() -> GraphQLSchema:
    """The schema, built once (building it takes a few milliseconds)."""
    global _schema
    if _schema is None:
        _schema = build_schema(SDL)
        # Node is an interface: tell graphql-core which type a dict is by its GID
        node = _schema.get_type("Node")
        node.resolve_type = lambda value, *_: str(value["id"]).split("/")[3]  # type: ignore
    return _schema


def operation(document: DocumentNode,
              operation_name: str | None = None) -> OperationDefinitionNode:
    """The operation to run; StopIteration when there is none by that name."""
    return next(d for d in document.definitions if isinstance(d, OperationDefinitionNode)
                and (operation_name is None or (d.name and d.name.value == operation_name)))


def is_mutation(document: DocumentNode, operation_name: str | None = None) -> bool:
    return operation(document, operation_name).operation.value == "mutation"


def requested_cost(document: DocumentNode, variables: dict[str, Any],
                   operation_name: str | None = None) -> int:
    """Shopify's calculated cost of the operation before it runs."""
    chosen = operation(document, operation_name)
    if chosen.operation.value == "mutation":
        return MUTATION_COST * len(chosen.selection_set.selections)
    fragments = {d.name.value: d for d in document.definitions
                 if not isinstance(d, OperationDefinitionNode)}
    root = schema().query_type
    return _selection_cost(chosen.selection_set, root, variables, fragments)


def _selection_cost(selection_set: SelectionSetNode | None, parent: GraphQLObjectType,
                    variables: dict[str, Any], fragments: dict[str, Any]) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            total += _selection_cost(fragment.selection_set, parent, variables, fragments)
            continue
        if isinstance(selection, InlineFragmentNode):
            total += _selection_cost(selection.selection_set, parent, variables, fragments)
            continue
        assert isinstance(selection, FieldNode)
        field = parent.fields.get(selection.name.value) if hasattr(parent, "fields") else None
        if field is None:
            continue
        named = get_named_type(field.type)
        if not isinstance(named, GraphQLObjectType):
            continue  # scalars and enums are free
        inner = _selection_cost(selection.selection_set, named, variables, fragments)
        if named.name.endswith("Connection"):
            first = _argument(selection, "first", variables) or 0
            nodes = named.fields["nodes"].type
            node_type = get_named_type(nodes)
            node_cost = 0
            for sub in selection.selection_set.selections if selection.selection_set else []:
                if isinstance(sub, FieldNode) and sub.name.value == "nodes":
                    node_cost = _selection_cost(sub.selection_set, node_type, variables,
                                                fragments) + 1
            total += 2 + int(first) * node_cost
        else:
            total += 1 + inner
    return total


def _argument(field: FieldNode, name: str, variables: dict[str, Any]) -> Any:
    for argument in field.arguments or ():
        if argument.name.value == name:
            value = argument.value
            if value.kind == "variable":
                return variables.get(value.name.value)  # type: ignore[attr-defined]
            return int(value.value) if value.kind == "int_value" else None  # type: ignore
    return None


def actual_cost(data: dict[str, Any]) -> int:
    """What an answer's ``data`` actually cost: one per object returned, two per
    connection (the root object itself is free)."""
    return sum(_returned(value) for value in data.values())


def _returned(value: Any) -> int:
    if isinstance(value, list):
        return sum(_returned(item) for item in value)
    if isinstance(value, dict):
        own = 2 if "nodes" in value else 1
        return own + sum(_returned(v) for v in value.values())
    return 0


def oversized_inputs(value: Any, path: str = "") -> list[str]:
    """Paths of input arrays longer than Shopify's 250-item limit."""
    found: list[str] = []
    if isinstance(value, list):
        # productSet's variant list has its own, larger limit (2048 variants per product)
        if len(value) > MAX_INPUT_SIZE and not path.endswith("variants"):
            found.append(f"{path} ({len(value)})")
        for index, item in enumerate(value):
            found += oversized_inputs(item, f"{path}.{index}")
    elif isinstance(value, dict):
        for key, item in value.items():
            found += oversized_inputs(item, f"{path}.{key}" if path else key)
    return found
