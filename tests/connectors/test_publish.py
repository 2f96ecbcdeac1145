"""The publish diff engine: desired state (catalog × rule × buffer) against what was last
pushed, yielding only the changes, in batches."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from connectors.base import ConnectionSettings
from connectors.errors import Fatal
from connectors.models import ExternalReference, products_for_variants
from connectors.publish import (
    ListingChange,
    PushResult,
    ShopRef,
    batches,
    desired_listings,
    listing_key,
    mark_pushed,
    plan,
)
from core.models import Balance, CatalogAccess, Product, ShopConnection
from tests import factories as f


class Stage:
    """A retailer with a Shopify connection to one supplier's public catalog."""

    def __init__(self, session: Session, **settings: object) -> None:
        self.session = session
        self.supplier = f.supplier(session, name="Tukku Oy")
        self.retailer = f.retailer(session)
        self.catalog = f.public_catalog(session, self.supplier)
        f.grant(session, self.catalog, self.retailer)
        self.connection = ShopConnection(key=f"c{self.retailer.id}", platform="shopify",
                                         shop="demo.myshopify.com",
                                         retailer_id=self.retailer.id, status="active")
        session.add(self.connection)
        session.flush()
        self.configure(**settings)

    def configure(self, **settings: object) -> None:
        data = {"catalogs": [self.catalog.external_id],
                "pricing": {"basis": "markup", "markup": "2", "fixed": "0", "ending": "0.90"},
                **settings}
        self.settings = ConnectionSettings.from_json(data)

    def product(self, external_id: str, *, quantity: int = 10, price: str = "10.00",
                **kw: object) -> Product:
        product = f.product(self.session, self.supplier, external_id, **kw)
        f.publish(self.session, product, self.catalog, quantity=quantity, price=price)
        return product

    def plan(self) -> list[ListingChange]:
        return plan(self.session, connection_id=self.connection.id,
                    retailer_id=self.retailer.id, settings=self.settings)

    def push(self, changes: list[ListingChange]) -> None:
        """What a connector reports after the shop accepted every change."""
        results = []
        for change in changes:
            variants = {}
            if change.listing is not None:
                variants = {pid: ShopRef(f"gid://shopify/ProductVariant/{pid}",
                                         {"inventory_item_id": f"gid://shopify/InventoryItem/{pid}"})
                            for pid in change.listing.product_ids}
            results.append(PushResult(change, shop_id=f"gid://shopify/Product/{change.key}",
                                      variants=variants))
        mark_pushed(self.session, self.connection.id, results)

    def sync(self) -> list[ListingChange]:
        changes = self.plan()
        self.push(changes)
        return changes


def _kinds(changes: list[ListingChange]) -> list[str]:
    return [c.kind for c in changes]


def test_new_products_are_created_once_and_an_unchanged_catalog_yields_nothing(
        session: Session) -> None:
    # given two published products
    stage = Stage(session)
    stage.product("A-1")
    stage.product("B-1")
    # when planned, then both are creates
    assert _kinds(stage.sync()) == ["create", "create"]
    # and once pushed, planning again yields no change at all
    assert stage.plan() == []


def test_one_price_change_is_one_update(session: Session) -> None:
    stage = Stage(session)
    stage.product("A-1")
    changed = stage.product("B-1")
    stage.sync()
    # when the wholesale price of one product changes
    session.execute(sa.update(Balance).where(Balance.product_id == changed.id)
                    .values(wholesale_price=Decimal("12.00")))
    changes = stage.plan()
    # then exactly one update goes out, with the new rule price
    assert _kinds(changes) == ["update"]
    assert changes[0].listing.document["variants"][0]["price"] == "24.90"
    assert changes[0].reference.shop_id.endswith(changes[0].key)


def test_a_stock_change_is_a_stock_only_update_with_the_buffer_applied(
        session: Session) -> None:
    stage = Stage(session, stock_buffer=3)
    product = stage.product("A-1", quantity=10)
    stage.sync()
    session.execute(sa.update(Balance).where(Balance.product_id == product.id)
                    .values(quantity=4))
    changes = stage.plan()
    assert _kinds(changes) == ["stock"]
    assert changes[0].listing.document["variants"][0]["quantity"] == 1  # 4 - buffer 3
    assert product.id in changes[0].variant_refs
    stage.push(changes)
    assert stage.plan() == []


def test_a_new_product_is_one_create(session: Session) -> None:
    stage = Stage(session)
    stage.product("A-1")
    stage.sync()
    stage.product("C-1")
    changes = stage.plan()
    assert _kinds(changes) == ["create"]
    assert changes[0].reference is None


@pytest.mark.parametrize("action", ["zero_stock", "unpublish", "delete"])
def test_end_of_sale_follows_the_configured_action(session: Session, action: str) -> None:
    stage = Stage(session, end_of_sale=action)
    ended = stage.product("A-1")
    stage.product("B-1")
    stage.sync()
    # when the supplier ends the sale of one product
    ended.status = "EOS"
    session.flush()
    changes = stage.plan()
    # then one end-of-sale change carries the action and the variants to act on
    assert _kinds(changes) == ["end"]
    assert changes[0].end_action == action
    assert set(changes[0].variant_refs) == {ended.id}
    stage.push(changes)
    ref = session.scalar(sa.select(ExternalReference).where(
        ExternalReference.kind == "listing", ExternalReference.glue_id == f"p{ended.id}"))
    if action == "delete":
        assert ref is None
    else:
        assert ref.state == "ended"
    # and it is not repeated
    assert stage.plan() == []
    # when the product comes back on sale, the kept shop product is updated, not duplicated
    ended.status = "ACTIVE"
    session.flush()
    assert _kinds(stage.plan()) == (["create"] if action == "delete" else ["update"])


def test_losing_catalog_access_ends_its_listings(session: Session) -> None:
    stage = Stage(session)
    stage.product("A-1")
    stage.sync()
    stage.configure(catalogs=[])
    assert _kinds(stage.plan()) == ["end"]


def test_a_revoked_catalog_access_ends_its_listings(session: Session) -> None:
    # given a published product of a public catalog the retailer had access to
    stage = Stage(session)
    stage.product("A-1")
    stage.sync()
    # when the supplier revokes the access, the setting still naming the catalog
    session.execute(sa.update(CatalogAccess).values(state="revoked"))
    # then the visibility rule wins: the listing ends
    assert _kinds(stage.plan()) == ["end"]


def test_variant_group_is_one_listing_with_options(session: Session) -> None:
    stage = Stage(session)

    def shirt(sku: str, size: str) -> Product:
        texts = {"en": {"name": "Shirt", "specifications": [
            {"type": "Options", "properties": [{"name": "Size", "value": size},
                                               {"name": "Colour", "value": "Red"}]}]}}
        return stage.product(sku, variant_group_id="SHIRT", descriptions=texts)

    small, large = shirt("SHIRT-S", "S"), shirt("SHIRT-L", "L")
    listings = desired_listings(session, retailer_id=stage.retailer.id, settings=stage.settings)
    key = listing_key(stage.supplier.id, small.id, "SHIRT")
    assert list(listings) == [key]
    document = listings[key].document
    assert document["options"] == ["Size", "Colour"]
    assert [v["sku"] for v in document["variants"]] == ["SHIRT-L", "SHIRT-S"]
    assert set(listings[key].product_ids) == {small.id, large.id}
    # a change to one variant updates the whole listing
    stage.sync()
    session.execute(sa.update(Balance).where(Balance.product_id == large.id)
                    .values(wholesale_price=Decimal("11")))
    changes = stage.plan()
    assert _kinds(changes) == ["update"] and len(changes[0].listing.document["variants"]) == 2


def test_without_auto_publish_only_selected_products_are_created(session: Session) -> None:
    stage = Stage(session, auto_publish_new=False)
    stage.product("A-1")
    chosen = stage.product("B-1")
    assert stage.plan() == []
    stage.configure(auto_publish_new=False, selected_products=[chosen.id])
    changes = stage.plan()
    assert [c.key for c in changes] == [f"p{chosen.id}"]


def test_unpriceable_products_are_left_out(session: Session) -> None:
    stage = Stage(session)
    product = f.product(session, stage.supplier, "NOPRICE")
    session.add(Balance(catalog_id=stage.catalog.id, product_id=product.id, quantity=3,
                        wholesale_price=None))
    session.flush()
    assert stage.plan() == []


def test_batches_respect_the_connector_sizes(session: Session) -> None:
    stage = Stage(session)
    for i in range(5):
        stage.product(f"P-{i}")
    cut = list(batches(stage.plan(), {"create": 2, "update": 2, "stock": 2, "end": 2}))
    assert [(b.kind, len(b.changes)) for b in cut] == [("create", 2), ("create", 2),
                                                      ("create", 1)]


def test_marking_is_idempotent_and_never_duplicates_references(session: Session) -> None:
    stage = Stage(session)
    stage.product("A-1")
    changes = stage.plan()
    stage.push(changes)
    stage.push(changes)  # a retried batch is recorded again, not twice
    count = session.scalar(sa.select(sa.func.count()).select_from(ExternalReference))
    assert count == 2  # one listing, one variant


def test_shop_variants_map_back_to_glue_products(session: Session) -> None:
    stage = Stage(session)
    product = stage.product("A-1")
    stage.sync()
    shop_variant = f"gid://shopify/ProductVariant/{product.id}"
    assert products_for_variants(session, stage.connection.id,
                                 [shop_variant, "gid://shopify/ProductVariant/0", ""]) == {
        shop_variant: product.id}
    assert products_for_variants(session, stage.connection.id + 1, [shop_variant]) == {}


def test_failed_results_are_not_marked_and_are_planned_again(session: Session) -> None:
    stage = Stage(session)
    stage.product("A-1")
    stage.product("B-1")
    first, second = stage.plan()
    mark_pushed(session, stage.connection.id, [
        PushResult(first, shop_id="gid://shopify/Product/1"),
        PushResult(second, error=Fatal("refused"))])
    assert [c.key for c in stage.plan()] == [second.key]


def test_ten_thousand_products_diff_quickly(session: Session) -> None:
    # given 10,000 published products, all pushed once
    stage = Stage(session)
    session.execute(sa.insert(Product), [
        {"supplier_id": stage.supplier.id, "external_id": f"BULK-{i:05d}",
         "descriptions": {"en": {"name": f"Bulk {i}"}},
         "variant_group_id": f"G{i // 2}" if i < 2000 else None} for i in range(10_000)])
    ids = session.scalars(sa.select(Product.id).where(Product.supplier_id == stage.supplier.id))
    session.execute(sa.insert(Balance), [
        {"catalog_id": stage.catalog.id, "product_id": pid, "quantity": 5,
         "wholesale_price": Decimal("10.00")} for pid in ids])
    started = time.perf_counter()
    first = stage.plan()
    first_ms = (time.perf_counter() - started) * 1000
    stage.push(first)
    session.commit()  # the worker plans each run in a fresh transaction
    session.expunge_all()
    # when one price changes and nothing else
    one = session.scalars(sa.select(Balance).limit(1)).first()
    one.wholesale_price = Decimal("20.00")
    session.flush()
    started = time.perf_counter()
    changes = stage.plan()
    diff_ms = (time.perf_counter() - started) * 1000
    print(f"\n10k products: first plan {first_ms:.0f} ms ({len(first)} listings), "
          f"diff {diff_ms:.0f} ms")
    # then one change, found fast
    assert len(first) == 9_000  # 1,000 two-variant groups + 8,000 singles
    assert len(changes) == 1 and changes[0].kind == "update"
    assert diff_ms < 10_000  # generous: shared CI machines; quadratic work would take minutes
