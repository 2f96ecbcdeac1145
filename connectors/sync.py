"""The sync engine every connector shares: publishing, order import, fulfilment back
(DESIGN.md 7 and 8).

The connector (:mod:`connectors.base`) only talks to the shop and translates; this module
decides what to do and when, and records it:

- **Publish** (task ``sync``): the diff engine (:mod:`connectors.publish`) plans what changed
  since the last push; batches go to the connector *outside* any transaction (a shop call never
  holds the database's write lock) and each confirmed batch is recorded in a short transaction
  of its own. One run per connection at a time (a lease row); a change arriving during a run
  asks the holder to run once more, so a burst of stock changes costs one or two runs, not one
  per change. A change the shop refused (``Fatal``) is remembered with the listing's hash and not
  sent again until the listing changes or someone presses retry.
- **Orders**: each platform's ``sync`` module registers inbox handlers for its order topics that
  call :func:`import_order`; the reconciliation poll (task ``poll``) fetches the orders updated
  since the high-water mark minus an overlap and imports them through the same function. A
  shop order becomes at most one Glue order: the ``order`` external reference is unique on the
  shop order id and written in the transaction that creates the Glue order.
- **Fulfilment back**: a shipment of a shop order that becomes Delivered (or Cancelled) queues a
  ``fulfilment`` reference in the event's transaction; the next ``sync`` run pushes it and marks
  it done. A crash between the push and the mark pushes again on the next run, so connectors
  make ``push_fulfilment`` tolerate a repeat.
- A **watchdog** every minute schedules what a lost enqueue would otherwise leave waiting.

Errors follow :mod:`connectors.errors`: ``Retriable`` reschedules the run with backoff and
jitter (``Retry-After`` honoured), ``NeedsConfiguration`` pauses the connection until the merchant
acts, ``Fatal`` is recorded against the one object it concerns.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connectors.base import (
    Address,
    ConnectionContext,
    ConnectionSettings,
    Connector,
    FulfilmentParcel,
    FulfilmentRequest,
    OrderDraft,
)
from connectors.errors import ConnectorError, Fatal, NeedsConfiguration
from connectors.models import ConnectionSync, ExternalReference
from connectors.publish import PushResult, batches, mark_pushed, plan
from connectors.registry import connector_class
from core.errors import Conflict, GlueError, ValidationFailed
from core.models import Product, Shipment, ShopConnection
from core.order_input import OrderIn, PartyIn, ReferenceIn, RowIn
from core.orders import cancel_order, create_order
from core.principal import Principal
from core.tracking import carrier_for
from webhooks.handlers import EventContext, InboxContext, registry

log = logging.getLogger(__name__)

SYNC = "sync"  # task: publish, then fulfilments and cancellation reports, for one connection
POLL = "poll"  # task: the order reconciliation poll of one connection
LIVE = ("linked", "active")
LEASE = timedelta(minutes=10)
POLL_OVERLAP = timedelta(minutes=5)
RESYNC_EVERY = timedelta(minutes=15)
PUBLISH_DELAY_SECONDS = 1.0  # a full diff now and then repairs drift in the shop
MAX_BACKOFF = 600.0
PAID = frozenset({"paid"})
# events after which a shop's desired state may differ from what was pushed; orders are among
# them because they take stock (and cancellations and partial deliveries give it back)
PUBLISH_EVENTS = frozenset({
    "inventory.upserted", "inventory.end_of_sale", "catalog.inventory_changed",
    "catalog.updated", "catalog.activated", "catalog.deactivated", "catalog.reactivated",
    "catalog.taken_into_use", "catalog_access.accepted", "catalog_access.revoked",
    "shop_connection.linked", "shop_connection.settings_changed",
    "order.created", "order.reopened", "order.rows_cancelled", "order.deleted",
    "shipment.cancelled", "shipment.delivered"})

ConnectorFactory = Callable[[ShopConnection], Connector]
_factory: ConnectorFactory | None = None


def connector_for(connection: ShopConnection) -> Connector:
    """The connector bound to ``connection`` (credentials decrypted, settings parsed)."""
    if _factory is not None:
        return _factory(connection)
    return connector_class(connection.platform)(ConnectionContext.from_model(connection))


def use_connector_factory(factory: ConnectorFactory | None) -> None:
    """Build connectors with ``factory`` (tests: a connector with a fake or recorded client);
    None restores the registry's classes."""
    global _factory
    _factory = factory


def connection_actor(connection: ShopConnection) -> Principal:
    """Who acts when a shop connection creates or cancels orders: the retailer that owns it."""
    return Principal(organization_id=connection.retailer_id,
                     permissions=frozenset({"retailer"}),
                     label=f"{connection.platform}:{connection.key}")


def state(session: Session, connection_id: int, *, lock: bool = False) -> ConnectionSync:
    """The connection's sync row, created on first use."""
    row = session.get(ConnectionSync, connection_id, with_for_update=lock)
    if row is None:
        row = ConnectionSync(connection_id=connection_id, listings=0, orders_imported=0,
                             failures=0, sync_requested=False, refused={})
        session.add(row)
        session.flush()
    return row


# --- order import ----------------------------------------------------------------------------

class VariantProducts(Mapping[str, int]):
    """Shop variant id (or SKU, per platform) → Glue product id, looked up lazily: an order
    names a handful of variants, the connection may have published 100,000."""

    def __init__(self, session: Session, connection_id: int) -> None:
        self._session, self._connection_id = session, connection_id
        self._cache: dict[str, int | None] = {}

    def __getitem__(self, key: str) -> int:
        key = str(key)
        if key not in self._cache:
            glue_id = self._session.scalar(sa.select(ExternalReference.glue_id).where(
                ExternalReference.connection_id == self._connection_id,
                ExternalReference.kind == "variant", ExternalReference.shop_id == key))
            self._cache[key] = int(glue_id) if glue_id is not None else None
        found = self._cache[key]
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._session.scalars(sa.select(ExternalReference.shop_id).where(
            ExternalReference.connection_id == self._connection_id,
            ExternalReference.kind == "variant")))

    def __len__(self) -> int:
        return self._session.scalar(sa.select(sa.func.count()).where(
            ExternalReference.connection_id == self._connection_id,
            ExternalReference.kind == "variant")) or 0


class OrderRefused(Fatal):
    """Glue refused a shop order (a product ran out, a row cannot be routed): the order is
    kept with the error for the retailer to see and retry."""

    def __init__(self, message: str, *, shop_order_id: str, number: str) -> None:
        super().__init__(message, shop_order_id=shop_order_id, number=number)
        self.shop_order_id, self.number = shop_order_id, number


@dataclass(frozen=True)
class Imported:
    """What :func:`import_order` did: ``imported``, ``duplicate``, ``cancelled`` (a Glue order
    cancelled because the shop cancelled it), ``ignored`` (no Glue product in it),
    ``not_paid``, ``held`` (inside the connection's hold time) or ``cancelled_early``."""

    outcome: str
    order: str | None = None  # the Glue order's external id
    created_at: datetime | None = None


def import_order(session: Session, connection: ShopConnection, payload: Mapping[str, Any], *,
                 now: datetime, connector: Connector | None = None) -> Imported:
    """Turn one shop order payload into at most one Glue order, in the caller's transaction.

    Idempotent on the shop order id: a repeat (webhook redelivery, ``created`` and
    ``updated`` with one body, the poll's overlap) changes nothing, except that a shop order
    cancelled since is cancelled in Glue as far as it has not shipped. Raises
    :class:`OrderRefused` when Glue's validation refuses the order (nothing is stored).
    """
    connector = connector or connector_for(connection)
    settings = ConnectionSettings.from_json(connection.settings)
    draft = connector.order_draft(payload, VariantProducts(session, connection.id))
    if draft is None:
        return Imported("ignored")
    ref = session.scalar(sa.select(ExternalReference).where(
        ExternalReference.connection_id == connection.id, ExternalReference.kind == "order",
        ExternalReference.glue_id == draft.shop_order_id))
    if ref is not None and ref.state != "failed":
        if draft.cancelled:
            _cancel_from_shop(session, connection, ref.shop_id)
            return Imported("cancelled", ref.shop_id)
        return Imported("duplicate", ref.shop_id)
    if draft.cancelled:
        return Imported("cancelled_early")
    forwarding = settings.order_forwarding
    if forwarding.trigger == "paid" and draft.financial_status.lower() not in PAID:
        return Imported("not_paid")
    if forwarding.hold_minutes and draft.created_at is not None and \
            draft.created_at + timedelta(minutes=forwarding.hold_minutes) > now:
        return Imported("held", created_at=draft.created_at)
    data = _order_in(session, connection, draft)
    try:
        with session.begin_nested():
            order = create_order(session, connection_actor(connection), data,
                                 source="connection", shop_connection_id=connection.id,
                                 shop_order_id=draft.shop_order_id,
                                 retailer_id=connection.retailer_id)
    except ValidationFailed as exc:
        problems = "; ".join(e.get("message", "") for e in exc.errors) or exc.message
        raise OrderRefused(f"shop order {draft.number or draft.shop_order_id} was refused: "
                           f"{problems}", shop_order_id=draft.shop_order_id,
                           number=draft.number) from exc
    if ref is None:
        ref = ExternalReference(connection_id=connection.id, kind="order",
                                glue_id=draft.shop_order_id, shop_id=order.external_id)
        session.add(ref)
    ref.shop_id, ref.state, ref.pushed_at = order.external_id, "active", now
    ref.extra = {"number": draft.number}
    state(session, connection.id).orders_imported += 1
    session.flush()
    log.info("shop order imported connection=%s shop_order=%s order=%s rows=%s ignored=%s",
             connection.key, draft.shop_order_id, order.external_id, len(draft.lines),
             draft.ignored_lines)
    return Imported("imported", order.external_id)


def import_from_webhook(ctx: InboxContext, payload: Mapping[str, Any], *,
                        identity: tuple[str, bool] | None = None) -> Imported:
    """The inbox handler's part of an order delivery: import in the delivery's transaction.
    A refused order is kept for the retailer (health, retry) and the delivery counts as done,
    since redelivering the same body cannot change Glue's answer.

    ``identity`` (the shop order id exactly as the draft would give it, and whether the order
    is cancelled), when the platform can read it from a delivery: an order imported already
    and not cancelled is then a duplicate without building the connector or translating the
    order. Shops send most orders twice (created, then paid or updated), so this is half of
    all order deliveries."""
    if ctx.connection.status not in LIVE or ctx.connection.retailer_id is None:
        return Imported("ignored")
    if identity is not None and not identity[1]:
        known = ctx.session.execute(sa.select(ExternalReference.state, ExternalReference.shop_id)
                                    .where(ExternalReference.connection_id == ctx.connection.id,
                                           ExternalReference.kind == "order",
                                           ExternalReference.glue_id == identity[0])).first()
        if known is not None and known.state == "active":
            return Imported("duplicate", known.shop_id)
    connector = connector_for(ctx.connection)
    for attempt in (1, 2):
        try:
            with ctx.session.begin_nested():
                return import_order(ctx.session, ctx.connection, payload, now=ctx.now,
                                    connector=connector)
        except OrderRefused as refused:
            record_refused_order(ctx.session, ctx.connection.id, refused, payload, ctx.now)
            log.warning("shop order refused connection=%s shop_order=%s", ctx.connection.key,
                        refused.shop_order_id)
            return Imported("refused")
        except IntegrityError:
            # Platforms send an order's deliveries in pairs (created and updated, created and
            # paid): two workers import one order at once and the second to commit hits the
            # order reference's unique key. Its savepoint is gone; the second attempt finds
            # the first one's order and answers "duplicate".
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def record_refused_order(session: Session, connection_id: int, refused: OrderRefused,
                         payload: Mapping[str, Any], now: datetime) -> None:
    """Keep a refused order with its payload, so that the retailer sees it and can retry."""
    ref = session.scalar(sa.select(ExternalReference).where(
        ExternalReference.connection_id == connection_id, ExternalReference.kind == "order",
        ExternalReference.glue_id == refused.shop_order_id))
    if ref is None:
        ref = ExternalReference(connection_id=connection_id, kind="order",
                                glue_id=refused.shop_order_id, shop_id="")
        session.add(ref)
    elif ref.state != "failed":
        return
    ref.state, ref.pushed_at = "failed", now
    # payloads are JSON from the shop; a typed value (a parsed time) is kept as its text
    stored = json.loads(json.dumps(payload, default=str))
    ref.extra = {"number": refused.number, "error": refused.message, "payload": stored}
    session.flush()


def _party(address: Address) -> PartyIn:
    street = ", ".join(p for p in (address.street, address.street2) if p)
    return PartyIn(name=address.name or address.company or None, street_address=street or None,
                   postal_code=address.postal_code or None, post_office=address.city or None,
                   country=address.country or None, telephone=address.phone or None,
                   email=address.email or None)


def _order_in(session: Session, connection: ShopConnection, draft: OrderDraft) -> OrderIn:
    rows = []
    # the order's products in one query (then from the identity map), not one query a line
    products = {p.id: p for p in session.scalars(sa.select(Product).where(
        Product.id.in_(sorted({line.product_id for line in draft.lines}))))} if draft.lines else {}
    for line in draft.lines:
        if len(line.shop_line_id) > 64:
            raise Fatal(f"shop line id {line.shop_line_id[:20]}… is longer than 64 characters")
        product = products.get(line.product_id)
        rows.append(RowIn(external_id=line.shop_line_id,
                          external_product_id=product.external_id if product else line.sku,
                          quantity=line.quantity, price=line.price,
                          product_description=(line.title or None) and line.title[:500])
                    .pinned(line.product_id))
    references = [ReferenceIn(name="shopOrder", value=draft.number or draft.shop_order_id)]
    return OrderIn(
        order_date=draft.created_at, references=references,
        client=_party(draft.customer),
        delivery_address=_party(draft.delivery_address) if draft.delivery_address else None,
        currency=draft.currency or None, total_price=draft.total_price, rows=rows)


def _cancel_from_shop(session: Session, connection: ShopConnection, order_id: str) -> None:
    """The shop cancelled an imported order: cancel what has not shipped yet."""
    try:
        with session.begin_nested():
            cancel_order(session, connection_actor(connection), order_id)
    except (Conflict, GlueError) as exc:  # already on its way, or nothing left to cancel
        log.info("shop cancellation kept shipped rows order=%s reason=%s", order_id,
                 exc.message)


# --- fulfilment back -------------------------------------------------------------------------

@registry.on_event("connectors.fulfilment", {"shipment.delivered", "shipment.cancelled"})
def _shipment_finished(ctx: EventContext) -> None:
    """Queue a delivered or cancelled shipment of a shop order for the next sync run."""
    shipment = ctx.session.scalar(sa.select(Shipment).where(
        Shipment.shipment_id == ctx.event.subject_id))
    if shipment is None:
        return
    order = shipment.order
    if order.shop_connection_id is None or not order.shop_order_id:
        return
    connection = ctx.session.get(ShopConnection, order.shop_connection_id)
    if connection is None or connection.status not in LIVE:
        return
    delivered = ctx.event.type == "shipment.delivered"
    key = shipment.shipment_id if delivered else f"cancel:{shipment.shipment_id}"
    exists = ctx.session.scalar(sa.select(ExternalReference.id).where(
        ExternalReference.connection_id == connection.id,
        ExternalReference.kind == "fulfilment", ExternalReference.glue_id == key))
    if exists is not None:
        return
    ctx.session.add(ExternalReference(connection_id=connection.id, kind="fulfilment",
                                      glue_id=key, shop_id="", state="pending",
                                      extra={"order": order.shop_order_id}))
    ctx.session.flush()
    ctx.defer(SYNC, connection.id)


def fulfilment_request(session: Session, shipment: Shipment,
                       settings: ConnectionSettings) -> FulfilmentRequest:
    """What a delivered shipment tells the shop: its shop lines and quantities, the carrier,
    and one parcel per Glue parcel with its tracking codes and link."""
    order = shipment.order
    carrier = carrier_for(session, shipment.supplier_id)
    parcels = []
    for parcel in shipment.parcels:
        codes = tuple(parcel.tracking_codes or ())
        if codes:
            parcels.append(FulfilmentParcel(tracking_codes=codes,
                                            tracking_url=carrier.tracking_url(codes[0])))
    lines = {row.external_id: row.delivered_quantity for row in shipment.rows
             if row.external_id and row.delivered_quantity > 0}
    return FulfilmentRequest(shop_order_id=order.shop_order_id or "",
                             shipment_id=shipment.shipment_id, lines=lines,
                             carrier=order.delivery_operator or "Posti",
                             parcels=tuple(parcels), notify_customer=settings.notify_customer)


def cancellation_message(shipment: Shipment) -> str:
    rows = ", ".join(f"{row.external_product_id} × {row.quantity}" for row in shipment.rows)
    reason = f" ({shipment.cancel_reason})" if shipment.cancel_reason else ""
    return (f"Glue: the supplier {shipment.supplier.name} cancelled shipment "
            f"{shipment.shipment_id}{reason}. Not delivered: {rows}. Refund the customer "
            "for these rows.")


def _push_fulfilment(spine: Any, connector: Connector, settings: ConnectionSettings,
                     ref_id: int) -> None:
    """Push one queued fulfilment or cancellation report; ``Fatal`` marks it failed,
    ``Retriable`` and ``NeedsConfiguration`` propagate and stop the run."""
    with spine.database.sessions() as session:
        ref = session.get(ExternalReference, ref_id)
        if ref is None or ref.state != "pending":
            return
        cancel = ref.glue_id.startswith("cancel:")
        shipment = session.scalar(sa.select(Shipment).where(
            Shipment.shipment_id == ref.glue_id.removeprefix("cancel:")))
        if shipment is None:
            work = None
        elif cancel:
            work = (shipment.order.shop_order_id or "", cancellation_message(shipment))
        else:
            work = fulfilment_request(session, shipment, settings)
    shop_id, error = "", None
    try:
        if work is None:
            raise Fatal("the shipment no longer exists")
        if isinstance(work, FulfilmentRequest):
            shop_id = connector.push_fulfilment(work)
        else:
            connector.report_cancellation(*work)
            shop_id = "reported"
    except Fatal as exc:
        error = exc.message
    now = spine.clock()
    with spine.database.transaction() as session:
        ref = session.get(ExternalReference, ref_id)
        if ref is None:
            return
        ref.pushed_at = now
        if error is None:
            ref.state, ref.shop_id = "active", str(shop_id)[:200]
        else:
            ref.state, ref.extra = "failed", {**(ref.extra or {}), "error": error}
    log.info("fulfilment pushed connection=%s shipment=%s outcome=%s", connector.connection.key,
             work.shipment_id if isinstance(work, FulfilmentRequest) else "-",
             "failed" if error else "ok")


# --- the sync run ----------------------------------------------------------------------------

def request_sync(session: Session, connection_id: int, now: datetime) -> bool:
    """Mark the connection as changed; True when it was not marked yet, so the caller should
    enqueue a run (a burst of changes enqueues one)."""
    row = state(session, connection_id)
    if row.dirty_since is not None:
        return False
    row.dirty_since = now
    return True


@registry.on_event("connectors.publish", PUBLISH_EVENTS)
def _catalog_changed(ctx: EventContext) -> None:
    """Products, stock, catalogs, access or a connection's settings changed: the shops that may
    show them get a sync run (the diff finds what, if anything, differs)."""
    query = sa.select(ShopConnection.id).where(ShopConnection.status.in_(LIVE),
                                               ShopConnection.retailer_id.is_not(None))
    if ctx.event.subject_type == "shop_connection":
        query = query.where(ShopConnection.key == ctx.event.subject_id)
    elif ctx.event.type.startswith("catalog_access."):
        query = query.where(ShopConnection.retailer_id.in_(ctx.event.organization_ids or [-1]))
    for connection_id in ctx.session.scalars(query):
        if request_sync(ctx.session, connection_id, ctx.now):
            # a moment's wait gathers a burst (an import, a stream of orders) into one run
            ctx.defer(SYNC, connection_id, delay_seconds=PUBLISH_DELAY_SECONDS)


def _lease(spine: Any, connection_id: int, kind: str) -> bool:
    """Take the connection's ``sync`` or ``poll`` lease; False when another run holds it (a
    sync run is then asked to run once more)."""
    now = spine.clock()
    with spine.database.transaction() as session:
        row = state(session, connection_id, lock=True)
        held = getattr(row, f"{kind}_leased_until")
        if held is not None and held > now:
            if kind == "sync":
                row.sync_requested = True
            return False
        setattr(row, f"{kind}_leased_until", now + LEASE)
        if kind == "sync":
            row.sync_requested = False
        return True


def _publish_due(spine: Any, connection_id: int) -> bool:
    """Whether this run must plan the catalog (and clear the change mark): something changed,
    the last run failed, or the last full diff is older than :data:`RESYNC_EVERY`. A run that
    only has deliveries to report skips the diff, so fulfilments go out at once."""
    now = spine.clock()
    with spine.database.transaction() as session:
        row = state(session, connection_id, lock=True)
        due = (row.dirty_since is not None or row.failures > 0 or row.last_sync_at is None
               or row.last_sync_at < now - RESYNC_EVERY)
        row.dirty_since = None
        return due


def _backoff(spine: Any, failures: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return max(retry_after, 1.0)
    base = min(MAX_BACKOFF, 5.0 * 2 ** max(failures - 1, 0))
    rng = getattr(spine, "rng", random)
    return base / 2 + rng.random() * base / 2


@dataclass
class RunReport:
    """What one sync run did (the task's return value, for tests and benches)."""

    outcome: str = "done"  # done | busy | idle | retry | paused
    pushed: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    fulfilments: int = 0
    error: str | None = None


@registry.task(SYNC)
def run_sync(spine: Any, connection_id: int) -> RunReport:
    """Bring one shop to the desired state, then push its queued fulfilments. Runs again while
    changes keep arriving during a run (at most a few rounds; then it re-enqueues itself)."""
    report = RunReport()
    for _ in range(5):
        if not _lease(spine, connection_id, "sync"):
            return RunReport(outcome="busy")
        again = False
        try:
            report = _sync_once(spine, connection_id, publish=_publish_due(spine, connection_id))
        finally:
            with spine.database.transaction() as session:
                row = state(session, connection_id, lock=True)
                row.sync_leased_until = None
                again, row.sync_requested = row.sync_requested, False
        if not again or report.outcome != "done":
            return report
    spine.try_enqueue(SYNC, connection_id)
    return report


def _refused_now(refused: Mapping[str, Any], change: Any) -> bool:
    seen = refused.get(change.key)
    if not seen:
        return False
    return seen.get("hash") == (change.listing.full_hash if change.listing else "end")


def _sync_once(spine: Any, connection_id: int, *, publish: bool = True) -> RunReport:
    """Deliveries first (a customer waits for the tracking code), then the catalog diff."""
    report = RunReport()
    with spine.database.sessions() as session:
        connection = session.get(ShopConnection, connection_id)
        if connection is None or connection.status not in LIVE or connection.retailer_id is None:
            return RunReport(outcome="idle")
        settings = ConnectionSettings.from_json(connection.settings)
        refused = dict(state(session, connection_id).refused or {})
        session.commit()
        try:
            connector = connector_for(connection)
        except ConnectorError as exc:
            return _finish(spine, connection_id, report, exc)
        changes = [c for c in plan(session, connection_id=connection_id,
                                   retailer_id=connection.retailer_id, settings=settings)
                   if not _refused_now(refused, c)] if publish else []
        pending = list(session.scalars(sa.select(ExternalReference.id).where(
            ExternalReference.connection_id == connection_id,
            ExternalReference.kind == "fulfilment", ExternalReference.state == "pending")
            .order_by(ExternalReference.id)))
    methods = {"create": connector.publish_products, "update": connector.publish_products,
               "stock": connector.update_stock, "end": connector.end_sale}
    newly_refused: dict[str, Any] = {}
    try:
        for ref_id in pending:
            _push_fulfilment(spine, connector, settings, ref_id)
            report.fulfilments += 1
        for batch in batches(changes, connector.batch_sizes):
            results = methods[batch.kind](batch)
            with spine.database.transaction() as session:
                mark_pushed(session, connection_id, results, now=spine.clock())
            stop = None
            for result in results:
                if result.ok:
                    report.pushed[batch.kind] += 1
                elif isinstance(result.error, Fatal):
                    newly_refused[result.change.key] = _refusal(result)
                elif stop is None:
                    stop = result.error
            if stop is not None:
                raise stop
    except Exception as exc:  # noqa: BLE001 - recorded, classified and retried
        return _finish(spine, connection_id, report, exc, newly_refused)
    return _finish(spine, connection_id, report, None, newly_refused, published=publish)


def _refusal(result: PushResult) -> dict[str, Any]:
    change = result.change
    return {"hash": change.listing.full_hash if change.listing else "end",
            "kind": change.kind, "error": result.error.message if result.error else "",
            "title": (change.listing.document.get("title") if change.listing else change.key)}


def _finish(spine: Any, connection_id: int, report: RunReport, error: Exception | None,
            refused: Mapping[str, Any] | None = None, *, published: bool = False
            ) -> RunReport:
    now = spine.clock()
    retry_at = None
    with spine.database.transaction() as session:
        row = state(session, connection_id, lock=True)
        row.listings = session.scalar(sa.select(sa.func.count()).where(
            ExternalReference.connection_id == connection_id,
            ExternalReference.kind == "listing", ExternalReference.state == "active")) or 0
        if refused:
            row.refused = {**(row.refused or {}), **refused}
            report.refused = len(refused)
        if error is None:
            row.failures = 0
            if published:  # "last sync" is the last full diff; deliveries have their own rows
                row.last_sync_at = now
            return report
        row.failures += 1
        row.last_error, row.last_error_at = _describe(error), now
        report.error = row.last_error
        if isinstance(error, NeedsConfiguration):
            connection = session.get(ShopConnection, connection_id)
            if connection is not None and connection.status in LIVE:
                connection.status = "paused"
            report.outcome = "paused"
        else:
            delay = _backoff(spine, row.failures, getattr(error, "retry_after", None))
            retry_at = now + timedelta(seconds=delay)
            report.outcome = "retry"
    log.warning("sync failed connection=%s outcome=%s error=%s", connection_id, report.outcome,
                report.error)
    if not isinstance(error, ConnectorError):
        log.error("unexpected sync error connection=%s", connection_id, exc_info=error)
    if retry_at is not None:
        spine.try_enqueue(SYNC, connection_id, retry_at)
    return report


def _describe(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return f"{type(error).__name__}: {message}"[:1000]


# --- the reconciliation poll -----------------------------------------------------------------

def poll_interval(connection: ShopConnection, connector: Connector) -> timedelta:
    """The connection's own ``poll_seconds`` setting, else the platform's default."""
    seconds = ConnectionSettings.from_json(connection.settings).platform.get("poll_seconds")
    return timedelta(seconds=float(seconds or connector.poll_interval_seconds))


@registry.task(POLL)
def run_poll(spine: Any, connection_id: int) -> dict[str, int]:
    """Import the orders the webhooks missed (or, on a platform without webhooks, every order):
    those updated since the last successful poll's start, minus an overlap. The high-water mark
    moves only after a poll that read every page, so a failure means the next poll reads the
    same window again; duplicates are harmless. Schedules the next poll itself."""
    now = spine.clock()
    counts = {"seen": 0, "imported": 0, "refused": 0}
    with spine.database.transaction() as session:
        row = state(session, connection_id, lock=True)
        if row.poll_leased_until is not None and row.poll_leased_until > now:
            return counts
        if row.next_poll_at is not None and row.next_poll_at > now + timedelta(seconds=1):
            return counts  # another chain of polls is scheduled; not due yet
        connection = session.get(ShopConnection, connection_id)
        if connection is None or connection.status not in LIVE or connection.retailer_id is None:
            row.next_poll_at = None
            return counts
        row.poll_leased_until = now + LEASE
        since = row.orders_since or connection.created_at
    error: Exception | None = None
    held_since: datetime | None = None
    interval = timedelta(seconds=60)
    try:
        with spine.database.sessions() as session:
            connection = session.get(ShopConnection, connection_id)
            connector = connector_for(connection)
            interval = poll_interval(connection, connector)
        for payload in connector.fetch_orders(since - POLL_OVERLAP):
            counts["seen"] += 1
            outcome = _import_polled(spine, connection_id, connector, payload)
            if outcome.outcome == "imported":
                counts["imported"] += 1
            elif outcome.outcome == "refused":
                counts["refused"] += 1
            elif outcome.outcome == "held" and outcome.created_at is not None:
                held_since = min(held_since or outcome.created_at, outcome.created_at)
    except Exception as exc:  # noqa: BLE001 - recorded; the window is read again next time
        error = exc
    finished = spine.clock()
    with spine.database.transaction() as session:
        row = state(session, connection_id, lock=True)
        row.poll_leased_until = None
        row.last_poll_at = finished
        if error is None:
            row.orders_since = min(now, held_since) if held_since else now
            row.next_poll_at = finished + interval
        else:
            row.failures += 1
            row.last_error, row.last_error_at = _describe(error), finished
            delay = _backoff(spine, row.failures, getattr(error, "retry_after", None))
            row.next_poll_at = finished + min(interval, timedelta(seconds=delay))
            if isinstance(error, NeedsConfiguration):
                connection = session.get(ShopConnection, connection_id)
                if connection is not None and connection.status in LIVE:
                    connection.status = "paused"
        next_at = row.next_poll_at
    if error is not None:
        log.warning("order poll failed connection=%s error=%s", connection_id,
                    _describe(error))
    spine.try_enqueue(POLL, connection_id, next_at)
    return counts


def _import_polled(spine: Any, connection_id: int, connector: Connector,
                   payload: Mapping[str, Any]) -> Imported:
    identity = connector.order_identity(payload)
    if identity is not None and not identity[1]:
        # the overlap reads recent orders again: an imported one needs no write transaction
        with spine.database.sessions() as session:
            known = session.scalar(sa.select(ExternalReference.state).where(
                ExternalReference.connection_id == connection_id,
                ExternalReference.kind == "order", ExternalReference.glue_id == identity[0]))
        if known == "active":
            return Imported("duplicate")
    try:
        with spine.database.transaction() as session:
            connection = session.get(ShopConnection, connection_id)
            return import_order(session, connection, payload, now=spine.clock(),
                                connector=connector)
    except OrderRefused as refused:
        with spine.database.transaction() as session:
            record_refused_order(session, connection_id, refused, payload, spine.clock())
        return Imported("refused")


# --- the watchdog ------------------------------------------------------------------------------

def _every_minute(moment: datetime) -> bool:
    return True


@registry.periodic("connectors.watchdog", _every_minute)
def watchdog(spine: Any) -> dict[str, int]:
    """Enqueue the polls and sync runs a lost enqueue or a restart left waiting: overdue
    polls, changes not synced after a minute, queued fulfilments, and a full diff now and then."""
    now = spine.clock()
    polls, syncs = [], []
    with spine.database.sessions() as session:
        rows = session.execute(
            sa.select(ShopConnection.id, ConnectionSync)
            .outerjoin(ConnectionSync, ConnectionSync.connection_id == ShopConnection.id)
            .where(ShopConnection.status.in_(LIVE), ShopConnection.retailer_id.is_not(None)))
        pending = set(session.scalars(sa.select(ExternalReference.connection_id).where(
            ExternalReference.kind == "fulfilment", ExternalReference.state == "pending")))
        for connection_id, row in rows:
            if row is None or row.next_poll_at is None \
                    or row.next_poll_at < now - timedelta(minutes=2):
                polls.append(connection_id)
            if row is None or connection_id in pending or row.last_sync_at is None \
                    or row.last_sync_at < now - RESYNC_EVERY \
                    or row.dirty_since is not None and row.dirty_since < now - timedelta(
                        minutes=1):
                syncs.append(connection_id)
    for connection_id in polls:
        with spine.database.transaction() as session:
            state(session, connection_id).next_poll_at = None
        spine.try_enqueue(POLL, connection_id)
    for connection_id in syncs:
        spine.try_enqueue(SYNC, connection_id)
    return {"polls": len(polls), "syncs": len(syncs)}


# --- what the retailer sees --------------------------------------------------------------------

@dataclass(frozen=True)
class Failure:
    """Something the shop or Glue refused, shown with a retry button."""

    kind: str  # listing | order | fulfilment
    key: str
    title: str
    error: str
    at: datetime | None = None


@dataclass(frozen=True)
class Health:
    status: str
    last_sync_at: datetime | None
    last_poll_at: datetime | None
    listings: int
    orders_imported: int
    pending_fulfilments: int
    last_error: str | None
    last_error_at: datetime | None
    failures: tuple[Failure, ...]


def health(session: Session, connection: ShopConnection) -> Health:
    """The connection's sync health: when it last synced and polled, how many products are in
    the shop, orders imported, fulfilments waiting, and every refusal with its error."""
    row = session.get(ConnectionSync, connection.id)
    failures = [Failure("listing", key, str(info.get("title") or key), str(info.get("error")))
                for key, info in sorted(((row.refused or {}) if row else {}).items())]
    pending = 0
    for ref in session.scalars(sa.select(ExternalReference).where(
            ExternalReference.connection_id == connection.id,
            ExternalReference.kind.in_(("order", "fulfilment")),
            ExternalReference.state.in_(("failed", "pending")))):
        if ref.state == "pending":
            pending += 1
            continue
        extra = ref.extra or {}
        title = str(extra.get("number") or ref.glue_id) if ref.kind == "order" else ref.glue_id
        failures.append(Failure(ref.kind, ref.glue_id, title, str(extra.get("error") or ""),
                                ref.pushed_at))
    # an error older than the last good run is history, not health
    last_error = row.last_error if row and row.failures else None
    return Health(status=connection.status, last_sync_at=row.last_sync_at if row else None,
                  last_poll_at=row.last_poll_at if row else None,
                  listings=row.listings if row else 0,
                  orders_imported=row.orders_imported if row else 0,
                  pending_fulfilments=pending, last_error=last_error,
                  last_error_at=row.last_error_at if row and row.failures else None,
                  failures=tuple(failures))


def retry_failures(session: Session, connection: ShopConnection, *, now: datetime,
                   connector: Connector | None = None) -> dict[str, int]:
    """The retry button: refused listings are planned again, failed fulfilments queued again,
    and refused orders imported again from their stored payload (still refused ones stay
    listed with the new error). The caller enqueues a sync run when ``sync`` is set."""
    row = state(session, connection.id, lock=True)
    counts = {"listings": len(row.refused or {}), "fulfilments": 0, "orders": 0, "sync": 0}
    row.refused = {}
    for ref in session.scalars(sa.select(ExternalReference).where(
            ExternalReference.connection_id == connection.id,
            ExternalReference.kind.in_(("order", "fulfilment")),
            ExternalReference.state == "failed")).all():
        if ref.kind == "fulfilment":
            ref.state = "pending"
            counts["fulfilments"] += 1
            continue
        payload = (ref.extra or {}).get("payload")
        if not payload:
            continue
        try:
            result = import_order(session, connection, payload, now=now, connector=connector)
        except OrderRefused as refused:
            ref.extra = {**(ref.extra or {}), "error": refused.message}
            continue
        if result.outcome == "imported":
            counts["orders"] += 1
    counts["sync"] = int(counts["listings"] > 0 or counts["fulfilments"] > 0)
    if counts["sync"]:
        row.dirty_since = row.dirty_since or now
    return counts


__all__ = ["LIVE", "POLL", "SYNC", "Failure", "Health", "Imported", "OrderRefused",
           "RunReport", "VariantProducts", "connection_actor", "connector_for",
           "fulfilment_request", "health", "import_from_webhook", "import_order",
           "poll_interval", "record_refused_order", "request_sync", "retry_failures",
           "run_poll", "run_sync", "state", "use_connector_factory", "watchdog"]
