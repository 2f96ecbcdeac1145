"""The connector contract: what every shop platform implements (DESIGN.md 7, STYLE.md 4).

A connector instance is bound to one shop connection (:class:`ConnectionContext`). The worker
(``<platform>/sync.py``) decides *what* to do: it runs the publish diff engine
(:mod:`connectors.publish`), imports orders through ``core`` services and records what was
pushed. The connector only does it in the shop and translates: it never decides business rules
(reservation, splitting, statuses live in ``core``) and never writes Glue tables itself.

Every contract method's docstring says **When** it is called, what it may **Assume** and what it
must **Never** do; ``tests/connectors/test_contract.py`` fails when one does not. Errors are
raised only as the taxonomy in :mod:`connectors.errors`.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from connectors.pricing import PricingRule

if TYPE_CHECKING:
    from connectors.publish import ChangeBatch, PushResult
    from core.models import ShopConnection

EndOfSaleAction = Literal["zero_stock", "unpublish", "delete"]


# --- connection settings -------------------------------------------------------------------

class OrderForwarding(BaseModel):
    """When a shop order becomes a Glue order: at creation or once paid, then after a hold
    (minutes in which the merchant may still cancel or edit it in the shop)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trigger: Literal["created", "paid"] = "paid"
    hold_minutes: int = Field(default=0, ge=0, le=7 * 24 * 60)


class ConnectionSettings(BaseModel):
    """What a retailer chose for one shop connection, stored in ``ShopConnection.settings``.

    ``catalogs`` are catalog external ids; only those the retailer has active access to are
    published. With ``auto_publish_new`` off, products not yet in the shop are published only
    when listed in ``selected_products`` (Glue product ids); products already in the shop keep
    being updated either way. ``platform`` is the connector's own state (a Shopify location
    id, webhook subscription ids), never edited by the merchant.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    catalogs: list[str] = Field(default_factory=list)
    auto_publish_new: bool = True
    selected_products: list[int] = Field(default_factory=list)
    pricing: PricingRule = Field(default_factory=PricingRule)
    stock_buffer: int = Field(default=0, ge=0, description="Units held back from the shop's "
                              "stock so that a burst of orders cannot oversell.")
    end_of_sale: EndOfSaleAction = "zero_stock"
    order_forwarding: OrderForwarding = Field(default_factory=OrderForwarding)
    language: Literal["fi", "sv", "en"] = "fi"
    notify_customer: bool = Field(default=True, description="Whether the shop e-mails the "
                                  "customer when Glue fulfils the order.")
    platform: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ConnectionSettings:
        """Parse the stored JSON; an empty or missing value gives the defaults."""
        return cls.model_validate(dict(data or {}))

    def to_json(self) -> dict[str, Any]:
        """The JSON to store: decimals as strings, so no float ever holds a price."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class ConnectionContext:
    """One shop connection as a connector sees it: decrypted credentials, parsed settings."""

    id: int
    key: str
    platform: str
    shop: str
    retailer_id: int | None
    credentials: Mapping[str, Any]
    settings: ConnectionSettings

    @classmethod
    def from_model(cls, connection: ShopConnection) -> ConnectionContext:
        from core.crypto import decrypt  # the key is read from settings at call time

        credentials = json.loads(decrypt(connection.credentials)) if connection.credentials \
            else {}
        return cls(id=connection.id, key=connection.key, platform=connection.platform,
                   shop=connection.shop, retailer_id=connection.retailer_id,
                   credentials=credentials,
                   settings=ConnectionSettings.from_json(connection.settings))

    def __repr__(self) -> str:  # never print credentials
        return f"ConnectionContext(id={self.id}, platform={self.platform!r}, shop={self.shop!r})"


# --- what crosses the contract -------------------------------------------------------------

@dataclass(frozen=True)
class Address:
    name: str = ""
    company: str = ""
    street: str = ""
    street2: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class OrderDraftLine:
    """A shop order line that maps to a Glue product. ``price`` is the unit price the customer
    paid after line discounts, in the shop currency."""

    shop_line_id: str
    product_id: int
    sku: str
    quantity: int
    price: Decimal
    discount: Decimal = Decimal("0")
    title: str = ""


@dataclass(frozen=True)
class OrderDraft:
    """A shop order reduced to what Glue needs; ``core`` turns it into an order.

    ``delivery_address`` is None for a pickup (no shipping address); ``ignored_lines`` counts
    rows that are not Glue products (custom items, the merchant's own products).
    """

    shop_order_id: str
    number: str
    created_at: datetime | None
    currency: str
    financial_status: str
    lines: tuple[OrderDraftLine, ...]
    delivery_address: Address | None
    customer: Address
    ignored_lines: int = 0
    total_price: Decimal | None = None
    note: str = ""
    cancelled: bool = False


@dataclass(frozen=True)
class FulfilmentParcel:
    tracking_codes: tuple[str, ...]
    tracking_url: str = ""


@dataclass(frozen=True)
class FulfilmentRequest:
    """One delivered Glue shipment to report on a shop order: which shop lines (shop line id →
    quantity) went out, with which carrier and parcels."""

    shop_order_id: str
    shipment_id: str
    lines: Mapping[str, int]
    carrier: str
    parcels: tuple[FulfilmentParcel, ...]
    notify_customer: bool = True


@dataclass(frozen=True)
class WebhookDelivery:
    """A verified delivery, parsed. ``topic`` is the platform's topic name; ``payload`` the
    typed object for it (the platform module documents which)."""

    topic: str
    shop: str
    delivery_id: str
    payload: Any
    triggered_at: datetime | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


# --- the contract --------------------------------------------------------------------------

class Connector(abc.ABC):
    """Base class of every shop platform; subclasses are found through the entry-point group
    ``glue.connectors`` (:mod:`connectors.registry`).

    A subclass declares ``platform`` (the value stored in ``ShopConnection.platform``) and
    ``batch_sizes`` (how many listing changes of each kind one call of ``publish_products``,
    ``update_stock`` or ``end_sale`` takes), optionally ``poll_interval_seconds``, and
    implements the contract methods below. What calls them, and when, is
    :mod:`connectors.sync`.
    """

    platform: ClassVar[str]
    title: ClassVar[str]
    batch_sizes: ClassVar[Mapping[str, int]]
    # how often the reconciliation poll runs unless the connection sets ``poll_seconds``:
    # a safety net where webhooks are reliable, the only order feed where there are none
    poll_interval_seconds: ClassVar[int] = 300

    CONTRACT: ClassVar[tuple[str, ...]] = (
        "verify_webhook", "parse_webhook", "publish_products", "update_stock", "end_sale",
        "order_draft", "fetch_orders", "push_fulfilment", "report_cancellation",
    )

    def __init__(self, connection: ConnectionContext) -> None:
        self.connection = connection

    @abc.abstractmethod
    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether a webhook delivery is authentic.

        When: by the receiver, for every delivery addressed to this connection, before anything
        else is done with it.
        Assumes: ``body`` is the raw request body exactly as received; header names may come in
        any case.
        Never: parse the body first, compare signatures with ``==`` (use
        ``hmac.compare_digest``), log the secret or the body, or raise on a bad signature.
        """

    @abc.abstractmethod
    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        """The delivery as a typed object.

        When: by the worker, for a delivery the receiver verified and stored in the inbox.
        Assumes: ``verify_webhook`` returned True for the same headers and body.
        Never: call the shop, touch the database, or drop fields the handler needs to
        deduplicate (delivery id, event id, topic, shop).
        """

    @abc.abstractmethod
    def publish_products(self, batch: ChangeBatch) -> list[PushResult]:
        """Create or update the batch's listings in the shop (kind ``create`` or ``update``).

        When: by the worker's publish job, one batch at a time, serialised per connection.
        Assumes: every change of kind ``update`` carries the external reference of its shop
        product; a ``create`` may still meet a shop product from an earlier attempt whose
        reference was never recorded (a crash between push and commit).
        Never: create a second shop product for one listing: a push is an upsert keyed by the
        external reference, and a create must be idempotent (Shopify: by handle); never touch
        shop products or variants the app does not own; never raise for one change: return one
        result per change, in order, a refused change carrying its ``Fatal`` error, and after a
        ``Retriable`` or ``NeedsConfiguration`` error the unsent rest carrying that error.
        """

    @abc.abstractmethod
    def update_stock(self, batch: ChangeBatch) -> list[PushResult]:
        """Set the shop quantities of the batch's listings (kind ``stock``).

        When: by the publish job, after creates and updates, when only quantities changed.
        Assumes: the listings exist in the shop and ``variant_refs`` name their variants.
        Never: change prices, texts or anything but quantities; never send a quantity below 0;
        never raise for one change (results and errors as in ``publish_products``).
        """

    @abc.abstractmethod
    def end_sale(self, batch: ChangeBatch) -> list[PushResult]:
        """Apply the end-of-sale action (``change.end_action``: zero_stock, unpublish, delete)
        to listings no longer published.

        When: by the publish job, last, for listings whose products ended, left the chosen
        catalogs or lost the retailer's access.
        Assumes: the reference names the shop product; a product the merchant already deleted
        counts as done.
        Never: delete when the action is zero_stock or unpublish, or touch merchant products;
        never raise for one change (results and errors as in ``publish_products``).
        """

    @abc.abstractmethod
    def order_draft(self, payload: Mapping[str, Any],
                    variant_products: Mapping[str, int]) -> OrderDraft | None:
        """Translate a shop order into a draft with only the lines that are Glue products.

        When: by the order import (webhook or reconciliation poll), before ``core`` validates,
        reserves and splits.
        Assumes: ``variant_products`` maps the shop variant ids of this connection's external
        references to Glue product ids.
        Never: call the shop or the database, decide stock or routing, or return lines for
        custom items or the merchant's own products. None when no line is a Glue product.
        """

    def order_identity(self, payload: Mapping[str, Any]) -> tuple[str, bool] | None:
        """The shop order id, exactly as ``order_draft`` would give it, and whether the order
        is cancelled, read straight from the payload; None when that is not cheap to tell.

        When: by the reconciliation poll, before ``order_draft``, so that the orders its
        overlap reads again are skipped without translating them. Optional: the default
        None means every payload is translated.
        Assumes: ``payload`` is one that ``fetch_orders`` yielded.
        Never: call the shop or the database.
        """
        return None

    @abc.abstractmethod
    def fetch_orders(self, updated_since: datetime) -> Iterator[Mapping[str, Any]]:
        """Shop orders updated at or after ``updated_since``, oldest first, as raw payloads
        that ``order_draft`` accepts.

        When: by the periodic reconciliation, with the high-water mark minus an overlap.
        Assumes: the caller deduplicates (orders already imported come again).
        Never: filter out orders by its own business rule or hold all pages in memory.
        """

    @abc.abstractmethod
    def push_fulfilment(self, fulfilment: FulfilmentRequest) -> str:
        """Fulfil the given shop lines with tracking numbers; returns the shop fulfilment id.

        When: by the worker after a supplier's shipment became Delivered.
        Assumes: the caller checked the external references, so this shipment was not pushed
        before; the lines belong to the shop order.
        Never: fulfil lines other than those given (merchant products stay untouched), or
        notify the customer when ``notify_customer`` is false.
        """

    @abc.abstractmethod
    def report_cancellation(self, shop_order_id: str, message: str) -> None:
        """Make a cancelled Glue shipment visible on the shop order (note or tag) so that the
        merchant can refund.

        When: by the worker after a shipment of a shop order was cancelled.
        Assumes: the order exists in the shop.
        Never: cancel or refund the shop order itself; money is the merchant's decision.
        """

    @classmethod
    def contract_methods(cls) -> dict[str, Any]:
        """The contract methods by name, as this class defines or inherits them."""
        return {name: getattr(cls, name) for name in cls.CONTRACT}


def change_sizes(**sizes: int) -> Mapping[str, int]:
    """``batch_sizes`` for a connector: one size per change kind, all required."""
    missing = {"create", "update", "stock", "end"} - set(sizes)
    if missing:
        raise ValueError(f"batch sizes missing for {sorted(missing)}")
    return dict(sizes)


__all__ = ["Address", "ConnectionContext", "ConnectionSettings", "Connector", "EndOfSaleAction",
           "FulfilmentParcel", "FulfilmentRequest", "OrderDraft", "OrderDraftLine",
           "OrderForwarding", "WebhookDelivery", "change_sizes"]
