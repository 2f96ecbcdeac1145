"""The WooCommerce connector: the contract of :mod:`connectors.base` over the REST API v3.

Translations live in ``translate``, the HTTP seam in ``client``, webhook checks in
``webhooks``, the merchant's install flow in ``install``; this class only puts them together
per contract method. The connection's ``shop`` is the site URL; its credentials hold
``consumer_key``, ``consumer_secret`` and ``webhook_secret``; ``settings.platform`` may hold
``query_string_auth`` (hosts that strip ``Authorization``) and ``complete_orders`` (default
true: set an order ``completed`` once Glue delivered every row of it).

Shop ids: a simple product is its own variant, so the variant reference of a single Glue
product is the product id; the variant reference of a group member is the variation id, with
``parent_id`` in its extra. Products and variations share WordPress's post ids, so an order
line maps back by ``variation_id`` or else ``product_id`` alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import requests

from connectors.base import (
    ConnectionContext,
    Connector,
    FulfilmentRequest,
    OrderDraft,
    WebhookDelivery,
    change_sizes,
)
from connectors.errors import ConnectorError, Fatal, NeedsConfiguration
from connectors.publish import ChangeBatch, ListingChange, PushResult, ShopRef
from connectors.woocommerce import translate, webhooks
from connectors.woocommerce.client import MAX_BATCH, BatchItemError, WooCommerceClient

ORDERS_PER_PAGE = 100
_GONE = {"woocommerce_rest_product_invalid_id", "woocommerce_rest_invalid_product_id"}


def _chunks(items: Sequence[Any], size: int = MAX_BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class WooCommerceConnector(Connector):
    """WooCommerce over the REST API v3; see :class:`connectors.base.Connector`."""

    platform: ClassVar[str] = "woocommerce"
    title: ClassVar[str] = "WooCommerce"
    # one products/batch call takes 100 objects; a create or update batch also makes one
    # variations call per variable listing, so those batches are kept smaller
    batch_sizes: ClassVar[Mapping[str, int]] = change_sizes(create=50, update=50, stock=100,
                                                            end=100)
    # WooCommerce never retries a failed delivery and, on a quiet site, sends late: the
    # reconciliation poll is the order feed of last resort (reference §2.3)
    poll_interval_seconds: ClassVar[int] = 60

    def __init__(self, connection: ConnectionContext, *,
                 client: WooCommerceClient | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 orders_per_page: int = ORDERS_PER_PAGE) -> None:
        super().__init__(connection)
        self._client = client
        self._clock = clock
        self._orders_per_page = orders_per_page
        self._attributes: dict[str, int] | None = None

    @property
    def client(self) -> WooCommerceClient:
        if self._client is None:
            credentials = self.connection.credentials
            self._client = WooCommerceClient(
                self.connection.shop, str(credentials.get("consumer_key") or ""),
                str(credentials.get("consumer_secret") or ""),
                query_string_auth=bool(self.connection.settings.platform.get(
                    "query_string_auth")))
        return self._client

    # --- webhooks ----------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """The ping is unsigned and so never verifies; the receiver answers it 200 apart
        (:func:`connectors.woocommerce.webhooks.is_ping`)."""
        signature = next((v for k, v in headers.items() if k.lower() == webhooks.SIGNATURE),
                         None)
        secret = str(self.connection.credentials.get("webhook_secret") or "")
        return webhooks.verify(body, signature, secret)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        return webhooks.parse(headers, body)

    def create_webhook(self, topic: str, delivery_url: str) -> dict[str, Any]:
        """Create an active webhook signed with the connection's webhook secret.

        WooCommerce pings ``delivery_url`` synchronously inside this call, so it must not
        run where it waits on the single worker that would answer the ping.
        """
        secret = str(self.connection.credentials.get("webhook_secret") or "")
        if not secret:
            raise NeedsConfiguration("the WooCommerce connection has no webhook secret")
        return self.client.post("webhooks", {"name": f"Glue: {topic}", "topic": topic,
                                             "status": "active", "delivery_url": delivery_url,
                                             "secret": secret})

    def webhook_status(self, webhook_id: str) -> str:
        """``active``, ``paused`` or ``disabled`` (WooCommerce disables a webhook after more
        than five consecutive failed deliveries and never retries them)."""
        return str(self.client.get(f"webhooks/{webhook_id}").get("status") or "")

    def webhook(self, webhook_id: str) -> dict[str, Any] | None:
        """The webhook as WooCommerce shows it, or None when it no longer exists."""
        try:
            return self.client.get(f"webhooks/{webhook_id}")
        except Fatal as exc:
            if exc.status == 404:
                return None
            raise

    def activate_webhook(self, webhook_id: str, delivery_url: str) -> dict[str, Any]:
        """Re-enable a webhook WooCommerce disabled (or a merchant paused), pointing it at
        ``delivery_url`` again; WooCommerce pings it once more when it was never answered 200."""
        return self.client.put(f"webhooks/{webhook_id}", {"status": "active",
                                                          "delivery_url": delivery_url})

    def nudge_queue(self) -> bool:
        """Ask the site to run its scheduled work now (``wp-cron.php``, as WordPress spawns it
        itself): on a quiet site pending webhook deliveries otherwise wait for a visitor.
        Best effort: whether it worked is returned, never raised."""
        try:
            answer = requests.get(f"{self.client.url}/wp-cron.php",
                                  params={"doing_wp_cron": f"{self._clock().timestamp():.4f}"},
                                  timeout=5)
        except requests.RequestException:
            return False
        return answer.status_code < 400

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete for good: webhooks have no trash (without ``force`` WooCommerce says 501)."""
        try:
            self.client.delete(f"webhooks/{webhook_id}", {"force": "true"})
        except Fatal as exc:
            if exc.status != 404:
                raise

    # --- products ----------------------------------------------------------------------

    def attribute_ids(self, names: Sequence[str]) -> dict[str, int]:
        """Global attribute ids by casefolded name, creating the missing ones, so variations
        share the shop's filters (``pa_koko``). A name WooCommerce refuses stays local."""
        if self._attributes is None:
            self._attributes = {str(a.get("name", "")).casefold(): int(a["id"])
                                for a in self.client.pages("products/attributes")}
        for name in names:
            if name.casefold() in self._attributes or name == translate.FALLBACK_ATTRIBUTE:
                continue
            try:
                created = self.client.post("products/attributes", {"name": name})
            except Fatal:  # a slug clash or a reserved name: a local attribute still works
                continue
            self._attributes[name.casefold()] = int(created["id"])
        return dict(self._attributes)

    def publish_products(self, batch: ChangeBatch) -> list[PushResult]:
        changes = list(batch.changes)
        names = sorted({n for c in changes if c.listing and translate.is_variable(
            c.listing.document) for n in translate.attribute_rows(c.listing.document)[0]})
        try:
            attribute_ids = self.attribute_ids(names) if names else {}
            products = self._upsert_products(changes, attribute_ids)
        except ConnectorError as exc:  # the batch call itself failed: every change shares it
            return [PushResult(change, error=exc) for change in changes]
        results: list[PushResult] = []
        stopped: ConnectorError | None = None
        for change, product in zip(changes, products, strict=True):
            if isinstance(product, ConnectorError):
                results.append(PushResult(change, error=product))
            elif stopped is not None:  # the shop is unreachable or refuses the connection
                results.append(PushResult(change, error=stopped))
            else:
                result = self._listing_result(change, product, attribute_ids)
                stopped = result.error if _stops(result.error) else None
                results.append(result)
        return results

    def _upsert_products(self, changes: Sequence[ListingChange],
                         attribute_ids: Mapping[str, int]) -> list[dict[str, Any] | ConnectorError]:
        """One products/batch call for the whole batch, then one more for creates whose SKU
        a product of an earlier, unrecorded attempt already holds (adopted as updates)."""
        entries = []
        for change in changes:
            assert change.listing is not None
            document = change.listing.document
            ref = change.reference
            with_images = ref is None or ref.extra.get("images_hash") != \
                translate.images_hash(document)
            entries.append(translate.product_payload(
                document, attribute_ids=attribute_ids, product_id=ref.shop_id if ref else None,
                with_images=with_images))
        creates = [i for i, e in enumerate(entries) if "id" not in e]
        updates = [i for i, e in enumerate(entries) if "id" in e]
        answer = self.client.batch("products/batch", {
            "create": [entries[i] for i in creates], "update": [entries[i] for i in updates]})
        outcome: dict[int, dict[str, Any] | ConnectorError] = {}
        outcome.update(zip(creates, answer.create, strict=True))
        outcome.update(zip(updates, answer.update, strict=True))
        adopt = {}
        for index in creates:
            item = outcome[index]
            if isinstance(item, BatchItemError) and item.code == "product_invalid_sku" \
                    and item.data.get("resource_id"):
                try:
                    adopted = self._adoptable(str(item.data["resource_id"]), changes[index].key)
                except Fatal as exc:  # gone meanwhile: this create stays refused
                    adopted = exc
                if isinstance(adopted, ConnectorError):
                    outcome[index] = adopted
                else:
                    adopt[index] = {**entries[index], "id": int(adopted)}
        if adopt:
            again = self.client.batch("products/batch", {"update": list(adopt.values())})
            outcome.update(zip(adopt, again.update, strict=True))
        return [outcome[i] for i in range(len(changes))]

    def _adoptable(self, product_id: str, key: str) -> str | ConnectorError:
        """The product holding a listing's SKU is adopted only when Glue made it for this very
        listing (its ``_glue_listing`` meta); a merchant's product is never touched."""
        product = self.client.get(f"products/{product_id}")
        owner = next((m.get("value") for m in product.get("meta_data") or []
                      if m.get("key") == translate.LISTING_META), None)
        if owner != key:
            return Fatal(f"{key}: the SKU is taken by shop product {product_id}, "
                         "which Glue did not create", sku_holder=product_id)
        return product_id

    def _listing_result(self, change: ListingChange, product: Mapping[str, Any],
                        attribute_ids: Mapping[str, int]) -> PushResult:
        assert change.listing is not None
        document = change.listing.document
        shop_id = str(product["id"])
        extra = {"images_hash": translate.images_hash(document),
                 "type": "variable" if translate.is_variable(document) else "simple"}
        if not translate.is_variable(document):
            variant = document["variants"][0]
            return PushResult(change, shop_id=shop_id, extra=extra,
                              variants={variant["product_id"]: ShopRef(shop_id,
                                                                       {"parent_id": None})})
        try:
            variants = self._upsert_variations(change, shop_id, attribute_ids)
        except ConnectorError as exc:
            return PushResult(change, error=exc)
        return PushResult(change, shop_id=shop_id, extra=extra, variants=variants)

    def _upsert_variations(self, change: ListingChange, parent_id: str,
                           attribute_ids: Mapping[str, int]) -> dict[int, ShopRef]:
        assert change.listing is not None
        document = change.listing.document
        own = {pid: ref.shop_id for pid, ref in change.variant_refs.items()
               if str(ref.extra.get("parent_id")) == parent_id}
        members = set(change.listing.product_ids)
        body = translate.variations_batch(
            document, attribute_ids=attribute_ids,
            variation_ids={pid: vid for pid, vid in own.items() if pid in members},
            remove=[vid for pid, vid in own.items() if pid not in members])
        by_sku: dict[str, str] = {}
        failures = []
        for kind in ("create", "update", "delete"):
            for chunk in _chunks(body.get(kind) or []):
                answer = self.client.batch(f"products/{parent_id}/variations/batch",
                                           {kind: chunk})
                for sent, item in zip(chunk, getattr(answer, kind), strict=True):
                    if isinstance(item, BatchItemError):
                        if kind == "delete" and item.code in _GONE:
                            continue
                        failures.append(item)
                    elif kind != "delete":
                        by_sku[str(sent["sku"])] = str(item["id"])
        if failures:
            raise Fatal(f"{change.key}: WooCommerce refused {len(failures)} variation(s): "
                        + "; ".join(f.message for f in failures), errors=failures)
        return {v["product_id"]: ShopRef(by_sku[str(v["sku"])], {"parent_id": parent_id})
                for v in document["variants"] if str(v["sku"]) in by_sku}

    def update_stock(self, batch: ChangeBatch) -> list[PushResult]:
        wanted: dict[str, list[tuple[str, str | None, int]]] = {}
        for change in batch.changes:
            assert change.listing is not None
            items = []
            for variant in change.listing.document["variants"]:
                ref = change.variant_refs.get(variant["product_id"])
                if ref is None:
                    items = None
                    break
                parent = ref.extra.get("parent_id")
                items.append((ref.shop_id, str(parent) if parent else None,
                              int(variant["quantity"])))
            if items is not None:
                wanted[change.key] = items
        return self._set_stock(batch.changes, wanted)

    def _set_stock(self, changes: Sequence[ListingChange],
                   wanted: Mapping[str, list[tuple[str, str | None, int]]]) -> list[PushResult]:
        """Quantities in the fewest calls: simple products together in products/batch (100
        per call), variations in one variations/batch per parent. A change whose variants
        are not all recorded needs a full update first."""
        errors: dict[str, ConnectorError] = {}
        simple = [(key, shop_id, qty) for key, items in wanted.items()
                  for shop_id, parent, qty in items if parent is None]
        parents: dict[str, list[tuple[str, str, int]]] = {}
        for key, items in wanted.items():
            for shop_id, parent, qty in items:
                if parent is not None:
                    parents.setdefault(parent, []).append((key, shop_id, qty))
        calls = [("products/batch", chunk) for chunk in _chunks(simple)]
        calls += [(f"products/{parent}/variations/batch", chunk)
                  for parent, items in parents.items() for chunk in _chunks(items)]
        stopped: ConnectorError | None = None
        for endpoint, chunk in calls:
            if stopped is not None:
                errors.update({key: stopped for key, _, _ in chunk})
                continue
            try:
                answer = self.client.batch(endpoint, {"update": [
                    translate.stock_entry(shop_id, qty) for _, shop_id, qty in chunk]})
            except ConnectorError as exc:
                errors.update({key: exc for key, _, _ in chunk})
                stopped = exc if _stops(exc) else None
                continue
            for (key, _, _), item in zip(chunk, answer.update, strict=True):
                if isinstance(item, BatchItemError):
                    errors.setdefault(key, item)
        results = []
        for change in changes:
            if change.key not in wanted:
                results.append(PushResult(change, error=Fatal(
                    f"{change.key}: shop variants not recorded; needs a full update")))
            else:
                results.append(PushResult(change, error=errors.get(change.key)))
        return results

    def end_sale(self, batch: ChangeBatch) -> list[PushResult]:
        zero = [c for c in batch.changes if c.end_action == "zero_stock"]
        wanted = {c.key: [(ref.shop_id, str(ref.extra["parent_id"])
                           if ref.extra.get("parent_id") else None, 0)
                          for ref in c.variant_refs.values()] for c in zero}
        results = {r.change.key: r for r in self._set_stock(zero, wanted)} if zero else {}
        others = [c for c in batch.changes if c.end_action != "zero_stock"]
        for chunk in _chunks(others):
            deletes = [c for c in chunk if c.end_action == "delete"]
            drafts = [c for c in chunk if c.end_action != "delete"]
            try:
                answer = self.client.batch("products/batch", {
                    "update": [{"id": int(c.reference.shop_id), "status": "draft"}
                               for c in drafts if c.reference],
                    "delete": [int(c.reference.shop_id) for c in deletes if c.reference]})
            except ConnectorError as exc:
                results.update({c.key: PushResult(c, error=exc) for c in chunk})
                continue
            for kind, sent in (("update", drafts), ("delete", deletes)):
                for change, item in zip(sent, getattr(answer, kind), strict=True):
                    gone = isinstance(item, BatchItemError) and item.code in _GONE
                    error = item if isinstance(item, BatchItemError) and not gone else None
                    results[change.key] = PushResult(change, error=error)
        return [results[c.key] for c in batch.changes]

    # --- orders ------------------------------------------------------------------------

    def order_draft(self, payload: Mapping[str, Any],
                    variant_products: Mapping[str, int]) -> OrderDraft | None:
        include_pending = self.connection.settings.order_forwarding.trigger == "created"
        return translate.order_draft(payload, variant_products, include_pending=include_pending)

    def order_identity(self, payload: Mapping[str, Any]) -> tuple[str, bool] | None:
        """The order ``id`` (the draft's shop order id) and whether its status cancels it."""
        return translate.order_identity(payload)

    def fetch_orders(self, updated_since: datetime) -> Iterator[Mapping[str, Any]]:
        """Orders modified at or after ``updated_since``, by creation date ascending: a
        stable order while paging, since a modification never moves an order's page."""
        since = updated_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return self.client.pages("orders", {"modified_after": since, "dates_are_gmt": "true",
                                            "orderby": "date", "order": "asc"},
                                 per_page=self._orders_per_page)

    def push_fulfilment(self, fulfilment: FulfilmentRequest) -> str:
        """A note (for the customer when ``notify_customer``), then the tracking meta and,
        when every row is delivered, ``completed``; returns the note id.

        A repeat (the sync engine pushes again after a crash between the push and its record)
        finds its own note among the order's notes and does not add, or e-mail, a second one;
        the tracking meta is keyed per shipment and parcel, so writing it again changes
        nothing."""
        endpoint = f"orders/{fulfilment.shop_order_id}"
        order = self.client.get(endpoint)
        text = translate.fulfilment_note(fulfilment, self.connection.settings.language)
        note = next((n for n in self.client.get(f"{endpoint}/notes")
                     if isinstance(n, Mapping) and n.get("note") == text), None)
        if note is None:
            note = self.client.post(f"{endpoint}/notes", {
                "note": text, "customer_note": bool(fulfilment.notify_customer)})
        complete = bool(self.connection.settings.platform.get("complete_orders", True))
        settled = self._virtual_lines(order, fulfilment) if complete else []
        self.client.put(endpoint, translate.fulfilment_update(
            order, fulfilment, now=self._clock(), complete=complete, settled=settled))
        return str(note["id"])

    def _virtual_lines(self, order: Mapping[str, Any],
                       fulfilment: FulfilmentRequest) -> list[str]:
        """The ids of the order's undelivered lines that need no delivery, asked only when
        nothing else keeps the order open: every remaining line is a simple product and all
        of them are virtual (a merchant's gift wrapping or service). One call at most."""
        remaining = translate.undelivered_lines(order, translate.delivered_after(
            order, fulfilment))
        if not remaining or order.get("status") not in ("processing", "on-hold") or any(
                translate.line_shop_id(line) != str(line.get("product_id") or "")
                for line in remaining):
            return []
        ids = sorted({int(line["product_id"]) for line in remaining})
        if len(ids) > 100:
            return []
        products = self.client.get("products", {"include": ",".join(map(str, ids)),
                                                "per_page": 100})
        virtual = {int(p["id"]) for p in products if isinstance(p, Mapping) and p.get("virtual")}
        if virtual != set(ids):
            return []
        return [str(line.get("id")) for line in remaining]

    def report_cancellation(self, shop_order_id: str, message: str) -> None:
        """A private order note for the merchant; the order itself is left as it is."""
        self.client.post(f"orders/{shop_order_id}/notes",
                         {"note": message, "customer_note": False})


def _stops(error: ConnectorError | None) -> bool:
    """Whether the rest of a batch should not be sent after this error."""
    return error is not None and not isinstance(error, Fatal)


__all__ = ["WooCommerceConnector"]
