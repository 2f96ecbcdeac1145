"""The Magento 2 connector: the contract of :mod:`connectors.base` over Magento's REST API.

Translations live in ``translate``, the HTTP seam in ``client``, async-event deliveries in
``webhooks``, the integration activation in ``install``; this class puts them together per
contract method.

Shop ids: Magento's REST writes are keyed by SKU, so a listing's reference holds the SKU of its
shop product (the configurable parent's, or the simple product's) and a variant's reference the
SKU of its simple product, with the entity id in ``extra``. Orders map back through those SKUs.

``settings.platform`` (all optional): ``write_store`` (product writes, default ``all``),
``read_store`` (default store), ``stock_mode`` (``msi``, default, or ``legacy``),
``source_code`` (MSI source, ``default``), ``attribute_set_id`` (4), ``attribute_group_id``
(7, where Glue's option attributes are added), ``website_ids`` ([1]), ``bulk_threshold``
(from this many simple products in one batch, their bodies go through the async bulk endpoint,
20), ``bulk_poll_seconds`` (between bulk status reads, 2) and ``order_page_size`` (orders
per poll page, 50; at most 300 where the merchant enabled input limits). Credentials: the
integration's OAuth values (``install``) or ``bearer_token``, and ``webhook_secret`` (the
async-event verification token).
"""

from __future__ import annotations

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
from connectors.errors import Fatal, NeedsConfiguration, Retriable
from connectors.magento import translate, webhooks
from connectors.magento.client import MagentoClient, NotFound, search_params
from connectors.publish import ChangeBatch, ListingChange, PushResult, ShopRef, push_each

ORDER_PAGE_SIZE = 50  # orders are large documents (every row twice, with its parent)


class MagentoConnector(Connector):
    """Magento 2 / Adobe Commerce over REST; see :class:`connectors.base.Connector`."""

    platform: ClassVar[str] = "magento"
    title: ClassVar[str] = "Magento 2"
    batch_sizes: ClassVar[Mapping[str, int]] = change_sizes(create=50, update=50, stock=200,
                                                            end=50)
    # Open Source has no webhooks: the poll is how orders arrive (async events speed it up)
    poll_interval_seconds: ClassVar[int] = 60

    def __init__(self, connection: ConnectionContext, *,
                 client: MagentoClient | None = None) -> None:
        super().__init__(connection)
        self._client = client
        self._attributes: dict[str, translate.Attribute] = {}
        options = connection.settings.platform
        self.defaults = translate.ProductDefaults(
            attribute_set_id=int(options.get("attribute_set_id", 4)),
            website_ids=tuple(int(w) for w in options.get("website_ids", [1])),
            stock_mode="legacy" if options.get("stock_mode") == "legacy" else "msi")
        self.source_code = str(options.get("source_code", "default"))
        self.attribute_group_id = int(options.get("attribute_group_id", 7))
        self.bulk_threshold = int(options.get("bulk_threshold", 20))

    @property
    def client(self) -> MagentoClient:
        if self._client is None:
            options = self.connection.settings.platform
            self._client = MagentoClient(
                self.connection.shop, self.connection.credentials,
                read_store=options.get("read_store"),
                write_store=options.get("write_store", "all"),
                bulk_interval=float(options.get("bulk_poll_seconds", 2.0)))
        return self._client

    # --- webhooks ----------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        signature = next((v for k, v in headers.items()
                          if k.lower() == "x-magento-signature"), None)
        return webhooks.verify(body, signature,
                               str(self.connection.credentials.get("webhook_secret") or ""))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        """The event comes from the receiver URL; the receiver passes it as the
        ``X-Glue-Event`` header, since Magento names it nowhere in the delivery."""
        event = next((v for k, v in headers.items() if k.lower() == webhooks.EVENT_HEADER), "")
        if not event:
            raise Fatal("a Magento delivery needs its event name (X-Glue-Event)")
        return webhooks.parse(event, body, shop=self.connection.shop)

    # --- products ------------------------------------------------------------------------

    def publish_products(self, batch: ChangeBatch) -> list[PushResult]:
        try:
            existing = self._existing(batch.changes)
            simple = [c for c in batch.changes
                      if c.listing and not translate.is_configurable(c.listing.document)]
            queued: dict[str, Fatal | None] = {}
            if len(simple) >= self.bulk_threshold:
                queued = self._bulk_simple(simple, existing)
        except (Retriable, NeedsConfiguration) as exc:
            return [PushResult(change, error=exc) for change in batch.changes]

        def push(change: ListingChange) -> PushResult:
            if change.key not in queued:
                return self._publish(change, existing)
            error = queued[change.key]
            if error is not None:
                raise error
            assert change.listing is not None
            variant = change.listing.document["variants"][0]
            return self._finish(change, variant["sku"],
                                {variant["product_id"]: {"sku": variant["sku"]}})

        results = push_each(batch.changes, push)
        if self.defaults.stock_mode == "msi":
            self._set_quantities([(v["sku"], v["quantity"]) for r in results if r.ok
                                  for v in r.change.listing.document["variants"]],  # type: ignore
                                 results)
        return results

    def _existing(self, changes: Sequence[ListingChange]) -> dict[str, Mapping[str, Any]]:
        """The shop products already using the SKUs a create would write (one search)."""
        skus = [sku for c in changes if c.kind == "create" and c.listing
                for sku in self._skus(c.listing.document)]
        if not skus:
            return {}
        found = self.client.search("products", [[("sku", ",".join(skus), "in")]],
                                   sort="entity_id")
        return {str(p["sku"]): p for p in found}

    @staticmethod
    def _skus(document: Mapping[str, Any]) -> list[str]:
        skus = [v["sku"] for v in document["variants"]]
        if translate.is_configurable(document):
            skus.append(translate.parent_sku(document["key"]))
        return skus

    @staticmethod
    def _refuse_foreign(document: Mapping[str, Any],
                        existing: Mapping[str, Mapping[str, Any]]) -> None:
        skus = MagentoConnector._skus(document)
        foreign = [sku for sku in skus if sku in existing
                   and not translate.owned_by(existing[sku], translate.owner(document, sku))]
        if foreign:  # POST /V1/products would overwrite that product
            raise Fatal("SKU already used in the shop by a product this listing does not own "
                        "(the merchant's own, or another supplier's with the same SKU): "
                        + ", ".join(foreign), skus=foreign)

    def _write_product(self, body: Mapping[str, Any], *, create: bool) -> Mapping[str, Any]:
        sku = body["product"]["sku"]
        if create:
            return self.client.write("POST", "products", body, product=True)
        return self.client.write("PUT", f"products/{_path(sku)}", body, product=True)

    def _publish(self, change: ListingChange, existing: Mapping[str, Mapping[str, Any]]
                 ) -> PushResult:
        assert change.listing is not None
        document = change.listing.document
        create = change.kind == "create"
        if create:
            self._refuse_foreign(document, existing)
        if translate.is_configurable(document):
            return self._publish_configurable(change, create)
        variant = document["variants"][0]
        answer = self._write_product(translate.simple_product(
            document, variant, defaults=self.defaults), create=create)
        return self._finish(change, variant["sku"], {variant["product_id"]: answer})

    def _publish_configurable(self, change: ListingChange, create: bool) -> PushResult:
        assert change.listing is not None
        document = change.listing.document
        names, rows = translate.variant_options(document)
        attributes = [self._attribute(name, [row[name] for row in rows]) for name in names]
        children = {}
        for variant, row in zip(document["variants"], rows, strict=True):
            values = {a.code: a.values[row[a.label]] for a in attributes}
            body = translate.simple_product(document, variant, defaults=self.defaults,
                                            child_of=values,
                                            name=translate.child_name(document["title"], row))
            children[variant["product_id"]] = self._write_product(body, create=create)
        parent = self._write_product(translate.configurable_product(
            document, defaults=self.defaults), create=create)
        sku = parent["sku"]
        present = (parent.get("extension_attributes") or {})
        known = {str(o.get("attribute_id")) for o in present.get("configurable_product_options")
                 or []}
        for option in translate.configurable_options(attributes, rows):
            if option["option"]["attribute_id"] not in known:
                self.client.write("POST", f"configurable-products/{_path(sku)}/options",
                                  option, product=True)
        linked = set(present.get("configurable_product_links") or [])
        for child in children.values():
            if child.get("id") not in linked:
                self.client.write("POST", f"configurable-products/{_path(sku)}/child",
                                  translate.child_link(child["sku"]), product=True)
        return self._finish(change, sku, children, parent_id=parent.get("id"))

    def _finish(self, change: ListingChange, sku: str, answers: Mapping[int, Mapping[str, Any]],
                parent_id: Any = None) -> PushResult:
        """Upload the images not yet in the shop and describe what was pushed."""
        assert change.listing is not None
        document = change.listing.document
        uploaded = list(change.reference.extra.get("images", [])) if change.reference else []
        for url in document.get("images") or []:
            if url in uploaded:
                continue  # re-sending would add a second copy; Magento has no upsert here
            content, mime = self.client.download(url)
            entry = translate.media_entry(content, mime=mime,
                                          name=translate.image_name(url, sku, mime),
                                          label=document["title"], position=len(uploaded) + 1)
            self.client.write("POST", f"products/{_path(sku)}/media", entry, product=True)
            uploaded.append(url)
        variants = {}
        for product_id, answer in answers.items():
            stock = (answer.get("extension_attributes") or {}).get("stock_item") or {}
            variants[product_id] = ShopRef(str(answer.get("sku")), {
                "id": answer.get("id"), "stock_item_id": stock.get("item_id"),
                "parent_sku": sku if parent_id is not None else None})
        extra = {"images": uploaded,
                 "id": parent_id if parent_id is not None else next(
                     iter(answers.values()), {}).get("id")}
        return PushResult(change, shop_id=sku, extra=extra, variants=variants)

    def _bulk_simple(self, changes: Sequence[ListingChange],
                     existing: Mapping[str, Mapping[str, Any]]) -> dict[str, Fatal | None]:
        """Create or update many simple products through one async bulk, waiting for it;
        by listing key, None when its operation succeeded, else its error. Images and stock
        follow per change. A refused operation fails only its own change."""
        bodies, sent = [], []
        outcome: dict[str, Fatal | None] = {}
        for change in changes:
            assert change.listing is not None
            try:
                if change.kind == "create":
                    self._refuse_foreign(change.listing.document, existing)
            except Fatal as exc:
                outcome[change.key] = exc
                continue
            bodies.append(translate.simple_product(
                change.listing.document, change.listing.document["variants"][0],
                defaults=self.defaults))
            sent.append(change)
        if not bodies:
            return outcome
        try:
            status = self.client.wait_for_bulk(self.client.bulk("POST", "products", bodies))
        except Fatal as exc:  # the bulk was refused as a whole
            return {**outcome, **{change.key: exc for change in sent}}
        failed = status.failed()
        for index, change in enumerate(sent):
            outcome[change.key] = Fatal(f"Magento refused {bodies[index]['product']['sku']}: "
                                        f"{failed[index] or 'no reason given'}") \
                if index in failed else None
        return outcome

    def _attribute(self, name: str, values: Sequence[str]) -> translate.Attribute:
        """Glue's global dropdown for an option name, created or given missing values."""
        code = translate.attribute_code(name)
        attribute = self._attributes.get(code)
        if attribute is None or any(v not in attribute.values for v in values):
            try:
                attribute = translate.attribute_from(
                    self.client.get(f"products/attributes/{code}"))
            except NotFound:
                unique = list(dict.fromkeys(values))
                attribute = translate.attribute_from(self.client.write(
                    "POST", "products/attributes", translate.attribute_payload(name, unique),
                    product=True))
                self.client.write("POST", "products/attribute-sets/attributes", {
                    "attributeSetId": self.defaults.attribute_set_id,
                    "attributeGroupId": self.attribute_group_id, "attributeCode": code,
                    "sortOrder": 100})
            missing = [v for v in dict.fromkeys(values) if v not in attribute.values]
            for value in missing:
                self.client.write("POST", f"products/attributes/{code}/options",
                                  {"option": {"label": value}})
            if missing:
                attribute = translate.attribute_from(
                    self.client.get(f"products/attributes/{code}"))
            self._attributes[code] = attribute
        return attribute

    # --- stock and end of sale -----------------------------------------------------------

    def _set_quantities(self, quantities: list[tuple[str, int]],
                        results: list[PushResult] | None = None) -> None:
        """MSI: one source-items call for all; a failure marks the given results failed."""
        if not quantities:
            return
        try:
            self.client.write("POST", "inventory/source-items", translate.source_items(
                quantities, source_code=self.source_code))
        except (Fatal, Retriable, NeedsConfiguration) as exc:
            if results is None:
                raise
            results[:] = [PushResult(r.change, error=exc) if r.ok else r for r in results]

    def _legacy_stock(self, sku: str, ref: ShopRef | None, quantity: int) -> None:
        item_id = ref.extra.get("stock_item_id") if ref else None
        if not item_id:
            item_id = self.client.get(f"stockItems/{_path(sku)}")["item_id"]
        self.client.write("PUT", f"products/{_path(sku)}/stockItems/{item_id}",
                          translate.stock_item(quantity))

    def update_stock(self, batch: ChangeBatch) -> list[PushResult]:
        if self.defaults.stock_mode == "msi":
            results = [PushResult(change) for change in batch.changes]
            self._set_quantities([(v["sku"], v["quantity"]) for c in batch.changes
                                  for v in c.listing.document["variants"]],  # type: ignore
                                 results)
            return results

        def legacy(change: ListingChange) -> PushResult:
            assert change.listing is not None
            for variant in change.listing.document["variants"]:
                self._legacy_stock(variant["sku"], change.variant_refs.get(
                    variant["product_id"]), variant["quantity"])
            return PushResult(change)

        return push_each(batch.changes, legacy)

    def end_sale(self, batch: ChangeBatch) -> list[PushResult]:
        return push_each(batch.changes, self._end_sale)

    def _end_sale(self, change: ListingChange) -> PushResult:
        assert change.reference is not None
        sku = change.reference.shop_id
        children = {pid: ref for pid, ref in change.variant_refs.items()}
        try:
            if change.end_action == "zero_stock":
                if self.defaults.stock_mode == "msi":
                    self._set_quantities([(ref.shop_id, 0) for ref in children.values()])
                else:
                    for ref in children.values():
                        self._legacy_stock(ref.shop_id, ref, 0)
            elif change.end_action == "unpublish":
                self.client.write("PUT", f"products/{_path(sku)}", {"product": {
                    "sku": sku, "status": translate.DISABLED}}, product=True)
            else:
                for child in [*sorted({r.shop_id for r in children.values()} - {sku}), sku]:
                    try:
                        self.client.write("DELETE", f"products/{_path(child)}", product=True)
                    except NotFound:  # the merchant deleted it already: done
                        pass
        except NotFound:
            pass
        return PushResult(change)

    # --- orders --------------------------------------------------------------------------

    def order_draft(self, payload: Mapping[str, Any],
                    variant_products: Mapping[str, int]) -> OrderDraft | None:
        """``variant_products`` maps Magento SKUs (the variant references' shop ids)."""
        return translate.order_draft(payload, variant_products)

    def order_identity(self, payload: Mapping[str, Any]) -> tuple[str, bool] | None:
        """``entity_id`` (the draft's shop order id) and whether ``state`` is ``canceled``."""
        return translate.order_identity(payload)

    def fetch_orders(self, updated_since: datetime) -> Iterator[Mapping[str, Any]]:
        """Orders with ``updated_at`` at or after ``updated_since``, in ``entity_id`` order.

        Paged by key, not by page number: each page asks for ``entity_id`` above the last one
        seen. An order deleted or archived during the poll would shift later rows one place
        back, and a page number would then skip one; a key never does, and page 1 is never
        past the end (where older releases answer the last page again). An order changing
        during the poll keeps its ``entity_id``. The caller takes the poll's start time
        (minus the overlap) as the next mark, not the newest ``updated_at`` seen.
        ``settings.platform["order_page_size"]`` fits shops with input limits (default 50).
        """
        since = updated_since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        size = int(self.connection.settings.platform.get("order_page_size", ORDER_PAGE_SIZE))
        return self._orders_after(since, size)

    def _orders_after(self, since: str, size: int) -> Iterator[Mapping[str, Any]]:
        last = 0
        while True:
            answer = self.client.get("orders", search_params(
                [[("updated_at", since, "gteq")], [("entity_id", last, "gt")]],
                sort="entity_id", page_size=size))
            items = [o for o in answer.get("items") or [] if int(o["entity_id"]) > last]
            yield from items
            # total_count counts what is left above ``last``: this page held all of it
            if not items or int(answer.get("total_count") or 0) <= len(items):
                return
            last = int(items[-1]["entity_id"])

    def push_fulfilment(self, fulfilment: FulfilmentRequest) -> str:
        order_id = _path(fulfilment.shop_order_id)
        codes = [c for p in fulfilment.parcels for c in p.tracking_codes]
        if codes:  # a ship call whose answer was lost must not ship twice
            shipments = self.client.search("shipments", [[("order_id", order_id, "eq")]],
                                           sort="entity_id")
            done = translate.shipment_for(shipments, codes)
            if done is not None:
                return done
        order = self.client.get(f"orders/{order_id}")
        body = translate.ship_payload(fulfilment, order)
        return str(self.client.write("POST", f"order/{order_id}/ship", body))

    def report_cancellation(self, shop_order_id: str, message: str) -> None:
        """An order comment, visible to the merchant only (never to the customer)."""
        self.client.write("POST", f"orders/{_path(shop_order_id)}/comments", {"statusHistory": {
            "comment": message, "is_customer_notified": 0, "is_visible_on_front": 0,
            "parent_id": int(shop_order_id)}})


def _path(value: str) -> str:
    """A SKU or id as one URL path segment (a SKU may hold ``/`` or spaces)."""
    from urllib.parse import quote

    return quote(str(value), safe="")


__all__ = ["MagentoConnector"]
