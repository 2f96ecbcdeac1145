"""The publish diff engine every connector shares (DESIGN.md 7: publishing is a diff).

Desired state is computed from the connection's catalogs × pricing rule × stock buffer, as one
canonical document per *listing* (one shop product). A listing is a variant group (Glue products
of one supplier sharing a ``variantGroupId``) or a single Glue product; its document holds every
variant. Listings, not single products, are the unit because a shop product is replaced as a
whole (Shopify's ``productSet`` deletes variants missing from its input), so a change to one
variant must push the whole group.

Each document has two hashes: ``content_hash`` over everything but quantities and
``full_hash`` over the content hash and the quantities. Compared against the listing's
external-reference row:

- no row → **create** (only if the retailer auto-publishes new products or selected one of its
  products);
- the row ended earlier, or ``content_hash`` differs → **update**;
- only ``full_hash`` differs → **stock** (quantities only, the cheapest call);
- a row still active whose listing is no longer desired → **end** with the connection's
  end-of-sale action (zero_stock, unpublish or delete).

:func:`plan` computes the changes, :func:`batches` cuts them into the connector's batch sizes and
:func:`mark_pushed` records what a successful batch pushed, in the caller's transaction. Nothing
here talks to a shop.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from connectors.base import ConnectionSettings
from connectors.errors import ConnectorError, Fatal, NeedsConfiguration, Retriable
from connectors.models import ExternalReference
from connectors.pricing import retail_price
from core.access import active_catalogs_query
from core.db import utcnow
from core.models import Balance, Catalog, Organization, Product

ChangeKind = Literal["create", "update", "stock", "end"]
CHANGE_ORDER: tuple[ChangeKind, ...] = ("create", "update", "stock", "end")
TEXT_FALLBACK = ("en", "fi", "sv")


@dataclass(frozen=True)
class Listing:
    """The desired state of one shop product."""

    key: str
    document: dict[str, Any]
    content_hash: str
    full_hash: str
    product_ids: tuple[int, ...]


@dataclass(frozen=True)
class ShopRef:
    """What the external-reference table knows about one shop object."""

    shop_id: str
    extra: Mapping[str, Any]


@dataclass(frozen=True)
class ListingChange:
    """One thing to do in the shop. ``listing`` is None only for ``end``; ``reference`` is None
    only for ``create``; ``variant_refs`` maps Glue product ids to their shop variants."""

    kind: ChangeKind
    key: str
    listing: Listing | None = None
    reference: ShopRef | None = None
    variant_refs: Mapping[int, ShopRef] = field(default_factory=dict)
    end_action: str | None = None


@dataclass(frozen=True)
class ChangeBatch:
    kind: ChangeKind
    changes: tuple[ListingChange, ...]


@dataclass(frozen=True)
class PushResult:
    """What the connector did for one change; ``shop_id``/``extra`` of the shop product and
    ``variants`` (Glue product id → shop variant) for create and update. ``error`` is set when
    the change did not go through; such results are not marked and so are planned again."""

    change: ListingChange
    shop_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    variants: Mapping[int, ShopRef] = field(default_factory=dict)
    error: ConnectorError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


# --- desired state -------------------------------------------------------------------------

def canonical_hash(document: Any) -> str:
    """sha256 of a JSON document with sorted keys and no insignificant whitespace."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def listing_key(supplier_id: int, product_id: int, variant_group_id: str | None) -> str:
    """``g<supplier>:<variantGroupId>`` for a variant group, ``p<product id>`` otherwise."""
    return f"g{supplier_id}:{variant_group_id}" if variant_group_id else f"p{product_id}"


def _texts(descriptions: Mapping[str, Any], language: str) -> Mapping[str, Any]:
    for lang in (language, *TEXT_FALLBACK):
        if descriptions.get(lang):
            return descriptions[lang]
    return next(iter(descriptions.values()), {}) if descriptions else {}


def _options(texts: Mapping[str, Any]) -> list[list[str]]:
    """``[[name, value], ...]`` from the ``Options`` specification, in the supplier's order."""
    options: list[list[str]] = []
    for spec in texts.get("specifications") or []:
        if spec.get("type") != "Options":
            continue
        for prop in spec.get("properties") or []:
            name, value = prop.get("name"), prop.get("value")
            if name and value not in (None, "") and name not in (o[0] for o in options):
                options.append([str(name), str(value)])
    return options


def _catalog_ids(session: Session, retailer_id: int, settings: ConnectionSettings) -> list[int]:
    if not settings.catalogs:
        return []
    return list(session.scalars(
        sa.select(Catalog.id).where(Catalog.external_id.in_(settings.catalogs),
                                    Catalog.id.in_(active_catalogs_query(retailer_id)))))


def desired_listings(session: Session, *, retailer_id: int,
                     settings: ConnectionSettings) -> dict[str, Listing]:
    """Every listing the shop should show now, keyed by listing key.

    A product published in several of the chosen catalogs is taken from the one with the
    highest priority (then the lowest id); a product that cannot be priced is left out.
    """
    catalog_ids = _catalog_ids(session, retailer_id, settings)
    if not catalog_ids:
        return {}
    rows = session.execute(
        sa.select(Product.id, Product.supplier_id, Product.external_id, Product.ean_code,
                  Product.variant_group_id, Product.recommended_retail_price,
                  Product.descriptions, Product.images, Product.measurements,
                  Balance.quantity, Balance.wholesale_price, Balance.currency,
                  Catalog.priority, Catalog.id.label("catalog_id"),
                  Organization.name.label("supplier_name"))
        .join(Balance, Balance.product_id == Product.id)
        .join(Catalog, Catalog.id == Balance.catalog_id)
        .join(Organization, Organization.id == Product.supplier_id)
        .where(Balance.catalog_id.in_(catalog_ids), Product.status == "ACTIVE")
        .order_by(Product.id, Catalog.priority.desc(), Catalog.id)).all()

    groups: dict[str, list[tuple[Any, Decimal, Mapping[str, Any]]]] = {}
    seen: set[int] = set()
    for row in rows:
        if row.id in seen:  # a lower-priority catalog of a product already taken
            continue
        seen.add(row.id)
        price = retail_price(settings.pricing, wholesale=row.wholesale_price,
                             recommended=row.recommended_retail_price)
        if price is None:
            continue
        key = listing_key(row.supplier_id, row.id, row.variant_group_id)
        groups.setdefault(key, []).append((row, price, _texts(row.descriptions or {},
                                                                 settings.language)))
    return {key: _listing(key, members, settings) for key, members in groups.items()}


def _listing(key: str, members: list[tuple[Any, Decimal, Mapping[str, Any]]],
             settings: ConnectionSettings) -> Listing:
    members.sort(key=lambda m: (m[0].external_id, m[0].id))
    first, _, texts = members[0]
    option_names: list[str] = []
    images: list[str] = []
    variants = []
    for row, price, member_texts in members:
        options = _options(member_texts)
        for name, _ in options:
            if name not in option_names:
                option_names.append(name)
        for image in row.images or []:
            url = image.get("url") if isinstance(image, Mapping) else None
            if url and url not in images:
                images.append(url)
        variants.append({
            "product_id": row.id,
            "sku": row.external_id,
            "barcode": row.ean_code,
            "price": str(price),
            "currency": row.currency,
            "options": options,
            "weight_kg": (row.measurements or {}).get("weight"),
            "quantity": max(0, row.quantity - settings.stock_buffer),
        })
    document = {
        "key": key,
        "title": texts.get("name") or first.external_id,
        "short_description": texts.get("shortDescription") or "",
        "description": texts.get("description") or "",
        "vendor": first.supplier_name,
        "images": images,
        "options": option_names,
        "variants": variants,
    }
    content = {**document, "variants": [{k: v for k, v in variant.items() if k != "quantity"}
                                        for variant in variants]}
    content_hash = canonical_hash(content)
    # the full hash chains the content hash with the quantities: one JSON encoding, not two
    quantities = ",".join(f"{v['product_id']}={v['quantity']}" for v in variants)
    full_hash = hashlib.sha256(f"{content_hash}|{quantities}".encode()).hexdigest()
    return Listing(key=key, document=document, content_hash=content_hash, full_hash=full_hash,
                   product_ids=tuple(v["product_id"] for v in variants))


# --- the diff ------------------------------------------------------------------------------

def _reference_states(session: Session, connection_id: int) -> dict[str, Any]:
    """Listing references as plain rows without their JSON (10,000s of them per diff)."""
    return {row.glue_id: row for row in session.execute(
        sa.select(ExternalReference.glue_id, ExternalReference.state,
                  ExternalReference.pushed_hash, ExternalReference.content_hash)
        .where(ExternalReference.connection_id == connection_id,
               ExternalReference.kind == "listing"))}


def _shop_refs(session: Session, connection_id: int, kind: str,
               glue_ids: Iterable[str]) -> dict[str, ShopRef]:
    """Shop ids and extras of the given references only: the changed ones."""
    ids, found = sorted(set(glue_ids)), {}
    for start in range(0, len(ids), 500):  # keep IN lists within every backend's limits
        for row in session.execute(
                sa.select(ExternalReference.glue_id, ExternalReference.shop_id,
                          ExternalReference.extra)
                .where(ExternalReference.connection_id == connection_id,
                       ExternalReference.kind == kind,
                       ExternalReference.glue_id.in_(ids[start:start + 500]))):
            found[row.glue_id] = ShopRef(row.shop_id, dict(row.extra or {}))
    return found


def plan(session: Session, *, connection_id: int, retailer_id: int,
         settings: ConnectionSettings) -> list[ListingChange]:
    """Only the changes that bring the shop to the desired state, creates first, then updates,
    stock updates and end-of-sale actions, each in listing-key order."""
    desired = desired_listings(session, retailer_id=retailer_id, settings=settings)
    states = _reference_states(session, connection_id)
    selected = set(settings.selected_products)
    kinds: dict[str, ChangeKind] = {}
    for key in sorted(desired):
        listing, ref = desired[key], states.get(key)
        if ref is None:
            if settings.auto_publish_new or selected.intersection(listing.product_ids):
                kinds[key] = "create"
        # an update also sends quantities, so it covers any stock change as well
        elif ref.state != "active" or ref.content_hash != listing.content_hash:
            kinds[key] = "update"
        elif ref.pushed_hash != listing.full_hash:
            kinds[key] = "stock"
    for key in sorted(set(states) - set(desired)):
        if states[key].state == "active":
            kinds[key] = "end"

    # only now read the JSON of the references involved: the steady state reads none
    listing_refs = _shop_refs(session, connection_id, "listing",
                              (k for k, kind in kinds.items() if kind != "create"))
    product_ids: dict[str, set[int]] = {}
    for key in kinds:
        ids = set(desired[key].product_ids) if key in desired else set()
        if key in listing_refs:
            ids.update(listing_refs[key].extra.get("product_ids", []))
        product_ids[key] = ids
    variant_refs = _shop_refs(session, connection_id, "variant",
                              (str(pid) for ids in product_ids.values() for pid in ids))
    changes = []
    for key, kind in kinds.items():
        refs = {pid: variant_refs[str(pid)] for pid in sorted(product_ids[key])
                if str(pid) in variant_refs}
        changes.append(ListingChange(kind, key, desired.get(key), listing_refs.get(key), refs,
                                     end_action=settings.end_of_sale if kind == "end" else None))
    order = {kind: i for i, kind in enumerate(CHANGE_ORDER)}
    changes.sort(key=lambda c: (order[c.kind], c.key))
    return changes


def batches(changes: Sequence[ListingChange],
            batch_sizes: Mapping[str, int]) -> Iterator[ChangeBatch]:
    """Cut ``changes`` into batches of one kind each, at most ``batch_sizes[kind]`` long."""
    for kind in CHANGE_ORDER:
        size = batch_sizes[kind]
        if size < 1:
            raise ValueError(f"batch size for {kind} must be at least 1")
        of_kind = [c for c in changes if c.kind == kind]
        for start in range(0, len(of_kind), size):
            yield ChangeBatch(kind, tuple(of_kind[start:start + size]))


# --- recording what was pushed -------------------------------------------------------------

def mark_pushed(session: Session, connection_id: int, results: Iterable[PushResult], *,
                now: datetime | None = None) -> None:
    """Record in the caller's transaction what the shop confirmed; results with an ``error``
    are skipped, so those changes are simply planned again next time."""
    now = now or utcnow()
    results = [result for result in results if result.ok]
    if not results:
        return
    listing_refs = _load(session, connection_id, "listing", {r.change.key for r in results})
    variant_ids = {str(pid) for r in results for pid in r.variants}
    variant_refs = _load(session, connection_id, "variant", variant_ids)
    for result in results:
        change, ref = result.change, listing_refs.get(result.change.key)
        if change.kind == "end":
            if ref is None:
                continue
            if change.end_action == "delete":
                session.delete(ref)
            else:
                ref.state, ref.pushed_at = "ended", now
            continue
        listing = change.listing
        assert listing is not None
        if ref is None:
            if result.shop_id is None:
                raise ValueError(f"a push of {change.key} must name the shop product")
            ref = ExternalReference(connection_id=connection_id, kind="listing",
                                    glue_id=change.key, shop_id=result.shop_id)
            session.add(ref)
            listing_refs[change.key] = ref
        if change.kind in ("create", "update"):
            ref.shop_id = result.shop_id or ref.shop_id
            ref.extra = {**(ref.extra or {}), **result.extra,
                         "product_ids": list(listing.product_ids)}
            ref.content_hash = listing.content_hash
            ref.state = "active"
        ref.pushed_hash, ref.pushed_at = listing.full_hash, now
        for product_id, variant in result.variants.items():
            vref = variant_refs.get(str(product_id))
            if vref is None:
                vref = ExternalReference(connection_id=connection_id, kind="variant",
                                         glue_id=str(product_id), shop_id=variant.shop_id)
                session.add(vref)
                variant_refs[str(product_id)] = vref
            vref.shop_id, vref.extra = variant.shop_id, dict(variant.extra)
            vref.pushed_hash, vref.pushed_at, vref.state = listing.full_hash, now, "active"
    session.flush()


def _load(session: Session, connection_id: int, kind: str,
          glue_ids: set[str]) -> dict[str, ExternalReference]:
    found: dict[str, ExternalReference] = {}
    ids = sorted(glue_ids)
    for start in range(0, len(ids), 500):  # keep IN lists within every backend's limits
        for ref in session.scalars(sa.select(ExternalReference).where(
                ExternalReference.connection_id == connection_id,
                ExternalReference.kind == kind,
                ExternalReference.glue_id.in_(ids[start:start + 500]))):
            found[ref.glue_id] = ref
    return found


def push_each(changes: Sequence[ListingChange],
              push: Callable[[ListingChange], PushResult]) -> list[PushResult]:
    """Push changes one by one, for platforms without a batch call: a refused change carries
    its error and the batch goes on; a retriable or configuration error stops the batch, the
    unsent rest carrying it (the contract's rule for ``publish_products`` and its kin)."""
    results: list[PushResult] = []
    for index, change in enumerate(changes):
        try:
            results.append(push(change))
        except Fatal as exc:
            results.append(PushResult(change, error=exc))
        except (Retriable, NeedsConfiguration) as exc:
            results.extend(PushResult(rest, error=exc) for rest in changes[index:])
            break
    return results
