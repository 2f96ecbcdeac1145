"""Products and balances: PUT/DELETE /inventory semantics and reads under the visibility rule."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from core.db import utcnow
from core.errors import Forbidden, NotFound, ValidationFailed
from core.inventory import end_of_sale, remove_balances, upsert_inventory
from core.models import Balance, CatalogAccess, Event, Organization, Product
from core.principal import SYSTEM, Principal
from core.products import (
    InventoryItemIn,
    balance_to_wire,
    catalog_inventory,
    get_inventory,
    inventory_item_to_wire,
    list_balances,
    product_to_wire,
)
from tests import factories as f

EAN = "4006381333931"


def org(session, name: str, *, supplier: bool = False) -> Organization:  # noqa: ANN001
    """An organization (a supplier with its public catalog, else a retailer)."""
    return f.org(session, supplier=supplier, retailer=not supplier, name=name)


def item(ext: str, *balances: dict[str, Any], **product: Any) -> dict[str, Any]:
    return {"product": {"externalId": ext, **product}, "balances": list(balances)}


def bal(catalog: str, quantity: int = 5, price: str = "9.90", **kw: Any) -> dict[str, Any]:
    return {"catalogExternalId": catalog, "quantity": quantity, "wholesalePrice": price, **kw}


def product_of(session, supplier, ext: str) -> Product:  # noqa: ANN001
    return session.scalars(sa.select(Product).filter_by(supplier_id=supplier.id,
                                                        external_id=ext)).one()


def balances_of(session, product: Product) -> list[Balance]:  # noqa: ANN001
    return list(session.scalars(sa.select(Balance).filter_by(product_id=product.id)
                                .order_by(Balance.catalog_id)))


def events(session, type_: str) -> list[Event]:  # noqa: ANN001
    return list(session.scalars(sa.select(Event).filter_by(type=type_).order_by(Event.id)))


@pytest.fixture
def stage(session):  # noqa: ANN001, ANN201
    """A supplier with its public catalog and a private catalog for retailer R1; R1 has active
    access to the public catalog, R2 has none."""
    supplier = org(session, "Supplier", supplier=True)
    public = f.public_catalog(session, supplier)
    r1, r2 = org(session, "R1"), org(session, "R2")
    private = f.private_catalog(session, supplier, r1)
    f.grant(session, public, r1)
    return type("Stage", (), dict(supplier=supplier, public=public, private=private, r1=r1,
                                  r2=r2, actor=f.acting(supplier)))


# --- PUT /inventory: storing -----------------------------------------------------------------


def test_upsert_creates_the_product_and_its_balance(session, stage) -> None:  # noqa: ANN001
    # given a full v3 item
    body = item("SKU-1", bal(stage.public.external_id, quantity=7, price="12.90",
                             retailerId=None, currency="EUR", incoming=3),
                eanCode=EAN, recommendedRetailPrice=24.9, currency="EUR", vatPercentage=25.5,
                unitOfMeasure="KPL", status="ACTIVE", isFragile=True, variantGroupId="TEE",
                measurements={"weight": 0.35, "length": 1, "volume": None},
                images=[{"url": "https://img.example.test/1.jpg"}],
                descriptions={"fi": {"name": "Paita", "shortDescription": None,
                                     "specifications": [{"type": "Options", "properties": [
                                         {"name": "Koko", "value": "M"}]}]}})
    # when
    failed = upsert_inventory(session, stage.actor, [body])
    # then
    assert failed == []
    product = product_of(session, stage.supplier, "SKU-1")
    assert (product.ean_code, product.status, product.variant_group_id) == (EAN, "ACTIVE", "TEE")
    assert product.recommended_retail_price == Decimal("24.9")
    assert product.vat_percentage == Decimal("25.5")
    assert product.is_fragile and not product.is_oversized
    assert product.measurements == {"weight": 0.35, "length": 1}
    assert product.images == [{"url": "https://img.example.test/1.jpg"}]
    assert product.descriptions == {"fi": {"name": "Paita", "specifications": [
        {"type": "Options", "properties": [{"name": "Koko", "value": "M"}]}]}}
    [balance] = balances_of(session, product)
    assert (balance.catalog_id, balance.quantity, balance.reserved, balance.incoming) == (
        stage.public.id, 7, 0, 3)
    assert balance.wholesale_price == Decimal("12.90") and balance.currency == "EUR"


def test_money_keeps_its_exact_decimal_value(session, stage) -> None:  # noqa: ANN001
    upsert_inventory(session, stage.actor, [item("SKU-1", bal(stage.public.external_id,
                                                              price="1234567890.1235"),
                                                 recommendedRetailPrice="0.1")])
    session.commit()
    session.expire_all()
    product = product_of(session, stage.supplier, "SKU-1")
    assert product.recommended_retail_price == Decimal("0.1")
    assert balances_of(session, product)[0].wholesale_price == Decimal("1234567890.1235")


def test_a_product_without_balances_is_stored_unpublished(session, stage) -> None:  # noqa: ANN001
    assert upsert_inventory(session, stage.actor, [{"product": {"externalId": "A"}}]) == []
    product = product_of(session, stage.supplier, "A")
    assert (product.status, product.currency, product.unit_of_measure) == ("ACTIVE", "EUR", "KPL")
    assert balances_of(session, product) == []


def test_wire_names_snake_case_names_nulls_and_unknown_fields_are_all_accepted(
        session, stage) -> None:  # noqa: ANN001
    body = [
        {"product": {"externalId": "A", "eanCode": None, "status": None, "supplierId": "x",
                     "somethingNew": {"nested": 1}}, "balances": None, "extra": True},
        {"product": {"external_id": "B", "is_fragile": True},
         "balances": [{"catalog_external_id": stage.public.external_id, "quantity": 2}]},
    ]
    assert upsert_inventory(session, stage.actor, body) == []
    assert product_of(session, stage.supplier, "B").is_fragile
    assert product_of(session, stage.supplier, "A").ean_code is None


def test_the_input_models_parse_the_wire_shape() -> None:
    parsed = InventoryItemIn.model_validate(item("A", bal("CAT", productExternalId="A"),
                                                 eanCode=EAN, recommendedRetailPrice=12.9))
    assert parsed.product.ean_code == EAN
    assert parsed.product.recommended_retail_price == Decimal("12.9")
    assert parsed.balances[0].catalog_external_id == "CAT"
    assert parsed.balances[0].wholesale_price == Decimal("9.90")


# --- PUT /inventory: refusals ----------------------------------------------------------------


def test_each_item_fails_on_its_own_and_the_valid_ones_are_stored(session, stage) -> None:  # noqa: ANN001
    # given a batch mixing valid items with every kind of bad one
    other = org(session, "Other", supplier=True)
    public = stage.public.external_id
    body = [
        item("OK-1", bal(public)),
        item("BAD-EAN", eanCode="4006381333932"),
        item("bad id", bal(public)),
        item("NO-CATALOG", bal("NOPE")),
        item("OTHERS-CATALOG", bal(f.public_catalog(session, other).external_id)),
        {"balances": []},
        "not an object",
        item("NEGATIVE", bal(public, quantity=-1)),
        item("FIVE-DECIMALS", bal(public, price="1.23456")),
        item("JS-IMAGE", images=[{"url": "javascript:alert(1)"}]),
        item("BAD-STATUS", status="DELETED"),
        item("OK-2", bal(public, quantity=0)),
    ]
    # when
    failed = upsert_inventory(session, stage.actor, body)
    # then every bad item is reported with its index, externalId and field
    by_index = {x["index"]: x for x in failed}
    assert sorted(by_index) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert by_index[1] == {"index": 1, "externalId": "BAD-EAN", "errors": [
        {"field": "product.eanCode", "message": "check digit of '4006381333932' is wrong"}]}
    assert by_index[2]["errors"][0]["field"] == "product.externalId"
    assert by_index[3]["errors"] == [{"field": "balances[0].catalogExternalId",
                                      "message": "this supplier has no catalog 'NOPE'"}]
    assert by_index[4]["errors"][0]["field"] == "balances[0].catalogExternalId"
    assert by_index[5] == {"index": 5, "externalId": None,
                           "errors": [{"field": "product", "message": "Field required"}]}
    assert by_index[6]["externalId"] is None
    assert by_index[7]["errors"][0]["field"] == "balances[0].quantity"
    assert by_index[8]["errors"][0]["field"] == "balances[0].wholesalePrice"
    assert by_index[9]["errors"][0]["field"] == "product.images[0].url"
    assert by_index[10]["errors"][0]["field"] == "product.status"
    # and only the valid items were stored
    stored = set(session.scalars(sa.select(Product.external_id)))
    assert stored == {"OK-1", "OK-2"}
    assert session.scalar(sa.select(sa.func.count()).select_from(Balance)) == 2


def test_more_than_2000_items_refuse_the_whole_call(session, stage) -> None:  # noqa: ANN001
    with pytest.raises(ValidationFailed):
        upsert_inventory(session, stage.actor, [item(f"P{i}") for i in range(2001)])
    assert session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0


def test_exactly_2000_items_are_taken(session, stage) -> None:  # noqa: ANN001
    body = [item(f"P{i}", bal(stage.public.external_id, i)) for i in range(2000)]
    assert upsert_inventory(session, stage.actor, body) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(Balance)) == 2000


def test_objects_already_loaded_in_the_session_show_the_new_values(session, stage) -> None:  # noqa: ANN001
    # given a product and balance the caller holds as ORM objects
    product = f.product(session, stage.supplier, "A", distributor="old")
    balance = f.publish(session, product, stage.public, quantity=1)
    # when a bulk upsert changes both
    upsert_inventory(session, stage.actor, [item("A", bal(stage.public.external_id, 4),
                                                 distributor="new")])
    # then the objects read the stored values
    assert (product.distributor, balance.quantity) == ("new", 4)


def test_the_body_must_be_a_list(session, stage) -> None:  # noqa: ANN001
    with pytest.raises(ValidationFailed):
        upsert_inventory(session, stage.actor, {"product": {"externalId": "A"}})  # type: ignore[arg-type]


def test_only_a_supplier_may_upsert(session, stage) -> None:  # noqa: ANN001
    # a retailer organization, a supplier's user without the supplier permission, and a
    # retailer-only organization whose principal claims the supplier permission
    for actor in (f.acting(stage.r1), f.acting(stage.supplier, "admin"),
                  f.acting(stage.r1, "supplier"), SYSTEM):
        with pytest.raises(Forbidden):
            upsert_inventory(session, actor, [item("A")])
    assert session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0


def test_private_catalog_balances_must_name_its_retailer_if_any(session, stage) -> None:  # noqa: ANN001
    private, public = stage.private.external_id, stage.public.external_id
    failed = upsert_inventory(session, stage.actor, [
        item("A", bal(private, retailerId=stage.r1.business_id)),
        item("B", bal(private)),
        item("C", bal(private, retailerId=stage.r2.business_id)),
        item("D", bal(public, retailerId=stage.r1.business_id)),
        item("E", bal(public, retailerId="")),
    ])
    assert [(x["index"], x["errors"][0]["field"]) for x in failed] == [
        (2, "balances[0].retailerId"), (3, "balances[0].retailerId")]


def test_balance_must_match_its_product_catalog_currency_and_be_named_once(
        session, stage) -> None:  # noqa: ANN001
    public = stage.public.external_id
    failed = upsert_inventory(session, stage.actor, [
        item("A", bal(public, productExternalId="B")),
        item("B", bal(public, currency="SEK")),
        item("C", bal(public), bal(public)),
        item("D", bal(public, productExternalId="D")),
    ])
    assert [(x["index"], x["errors"][0]["field"]) for x in failed] == [
        (0, "balances[0].productExternalId"), (1, "balances[0].currency"),
        (2, "balances[1].catalogExternalId")]


def test_an_externalid_twice_in_one_request_fails_the_second(session, stage) -> None:  # noqa: ANN001
    failed = upsert_inventory(session, stage.actor, [item("A", status="ACTIVE"),
                                                     item("A", status="EOS")])
    assert [(x["index"], x["externalId"]) for x in failed] == [(1, "A")]
    assert product_of(session, stage.supplier, "A").status == "ACTIVE"


# --- PUT /inventory: updating ----------------------------------------------------------------


def test_update_changes_given_fields_and_keeps_absent_and_null_ones(session, stage) -> None:  # noqa: ANN001
    upsert_inventory(session, stage.actor, [item(
        "A", bal(stage.public.external_id, quantity=5, price="10", incoming=4), eanCode=EAN,
        descriptions={"fi": {"name": "Vanha"}}, distributor="D")])
    # when a later call sends some fields, some nulls, and leaves others out
    failed = upsert_inventory(session, stage.actor, [item(
        "A", {"catalogExternalId": stage.public.external_id, "quantity": 2,
              "wholesalePrice": None}, eanCode=None, distributor="E",
        descriptions={"en": {"name": "New"}})])
    # then
    assert failed == []
    product = product_of(session, stage.supplier, "A")
    assert (product.ean_code, product.distributor) == (EAN, "E")
    assert product.descriptions == {"en": {"name": "New"}}  # given fields replace whole
    [balance] = balances_of(session, product)
    assert (balance.quantity, balance.incoming, balance.wholesale_price) == (2, 4, Decimal("10"))


def test_empty_ean_clears_the_code(session, stage) -> None:  # noqa: ANN001
    upsert_inventory(session, stage.actor, [item("A", eanCode=EAN)])
    upsert_inventory(session, stage.actor, [item("A", eanCode="")])
    assert product_of(session, stage.supplier, "A").ean_code is None


def test_quantity_sets_what_is_available_and_never_touches_reserved(session, stage) -> None:  # noqa: ANN001
    # given a balance with units reserved by orders
    product = f.product(session, stage.supplier, "A")
    balance = f.publish(session, product, stage.public, quantity=10)
    balance.reserved = 3
    session.flush()
    # when the supplier reports 7 available
    upsert_inventory(session, stage.actor, [item("A", bal(stage.public.external_id, 7))])
    # then
    session.refresh(balance)
    assert (balance.quantity, balance.reserved) == (7, 3)


def test_unchanged_data_moves_no_timestamp_and_records_no_event(session, stage) -> None:  # noqa: ANN001
    body = [item("A", bal(stage.public.external_id), eanCode=EAN, measurements={"weight": 1.5},
                 descriptions={"fi": {"name": "X"}}, recommendedRetailPrice="10.00")]
    upsert_inventory(session, stage.actor, body)
    product = product_of(session, stage.supplier, "A")
    past = utcnow() - timedelta(days=1)
    product.updated_at = past
    balances_of(session, product)[0].modified_at = past
    session.flush()
    before = session.scalar(sa.select(sa.func.count()).select_from(Event))
    # when the same data comes again (the price as another spelling of the same number)
    body[0]["product"]["recommendedRetailPrice"] = 10
    assert upsert_inventory(session, stage.actor, body) == []
    # then
    session.refresh(product)
    assert product.updated_at == past
    assert balances_of(session, product)[0].modified_at == past
    assert session.scalar(sa.select(sa.func.count()).select_from(Event)) == before
    # and a real change moves only what changed
    upsert_inventory(session, stage.actor, [item("A", bal(stage.public.external_id, 6))])
    session.refresh(product)
    assert product.updated_at == past
    assert balances_of(session, product)[0].modified_at > past
    upsert_inventory(session, stage.actor, [item("A", isOversized=True)])
    session.refresh(product)
    assert product.updated_at > past


def test_suppliers_share_externalids_without_touching_each_other(session, stage) -> None:  # noqa: ANN001
    other = org(session, "Other", supplier=True)
    upsert_inventory(session, stage.actor, [item("SAME", distributor="mine")])
    upsert_inventory(session, f.acting(other), [item("SAME", distributor="theirs")])
    assert product_of(session, stage.supplier, "SAME").distributor == "mine"
    assert product_of(session, other, "SAME").distributor == "theirs"


# --- events ----------------------------------------------------------------------------------


def test_one_upsert_event_per_call_and_one_change_event_per_catalog(session, stage) -> None:  # noqa: ANN001
    public, private = stage.public.external_id, stage.private.external_id
    f.grant(session, stage.public, stage.r2, state="requested")  # asked, not yet accepted
    upsert_inventory(session, stage.actor, [item("A", bal(public)), item("B", bal(private)),
                                            item("C", bal(public), bal(private))])
    [upserted] = events(session, "inventory.upserted")
    assert upserted.data == {"created": ["A", "B", "C"], "updated": []}
    assert upserted.organization_ids == [stage.supplier.id]
    changed = {e.subject_id: e for e in events(session, "catalog.inventory_changed")}
    assert set(changed) == {public, private}
    # the public catalog's event goes to R1 (active access), not to R2 (only requested)
    assert set(changed[public].organization_ids) == {stage.supplier.id, stage.r1.id}
    assert changed[public].data["productsChanged"] == ["A", "C"]
    assert changed[public].data["balancesChanged"][0] == {
        "productExternalId": "A", "quantity": 5, "incoming": 0, "wholesalePrice": "9.90",
        "currency": "EUR"}
    # the private catalog's products are named only in its own event
    assert "B" not in str(changed[public].data)
    assert changed[private].data["productsChanged"] == ["B", "C"]


def test_a_product_change_is_told_to_every_catalog_holding_it(session, stage) -> None:  # noqa: ANN001
    upsert_inventory(session, stage.actor, [item("A", bal(stage.public.external_id),
                                                 bal(stage.private.external_id))])
    first = session.scalar(sa.select(sa.func.max(Event.id)))
    upsert_inventory(session, stage.actor, [item("A", distributor="new")])
    later = [e for e in events(session, "catalog.inventory_changed") if e.id > first]
    assert {e.subject_id: e.data for e in later} == {
        c.external_id: {"catalogExternalId": c.external_id, "productsChanged": ["A"]}
        for c in (stage.public, stage.private)}
    assert events(session, "inventory.upserted")[-1].data == {"created": [], "updated": ["A"]}


# --- DELETE /inventory -----------------------------------------------------------------------


def test_end_of_sale_sets_eos_and_reports_unknown_ids(session, stage) -> None:  # noqa: ANN001
    other = org(session, "Other", supplier=True)
    f.product(session, other, "THEIRS")
    upsert_inventory(session, stage.actor, [item("A", bal(stage.public.external_id)),
                                            item("B")])
    failed = end_of_sale(session, stage.actor, ["A", "THEIRS", "B", "bad id", "A"])
    assert [(x["index"], x["externalId"]) for x in failed] == [(1, "THEIRS"), (3, "bad id")]
    assert product_of(session, stage.supplier, "A").status == "EOS"
    assert product_of(session, stage.supplier, "B").status == "EOS"
    assert product_of(session, other, "THEIRS").status == "ACTIVE"
    [ended] = events(session, "inventory.end_of_sale")
    assert sorted(ended.data["externalIds"]) == ["A", "B"]
    assert events(session, "catalog.inventory_changed")[-1].data == {
        "catalogExternalId": stage.public.external_id, "productsChanged": ["A"]}
    # again: nothing changes, nothing is recorded
    assert end_of_sale(session, stage.actor, ["A"]) == []
    assert len(events(session, "inventory.end_of_sale")) == 1


def test_end_of_sale_takes_the_wire_body_too(session, stage) -> None:  # noqa: ANN001
    upsert_inventory(session, stage.actor, [item("A"), item("B")])
    failed = end_of_sale(session, stage.actor, [
        {"product": {"externalId": "A", "status": "EOS"}}, {"product": {}}, {}, "B"])
    assert [(x["index"], x["errors"][0]["field"]) for x in failed] == [
        (1, "product.externalId"), (2, "product.externalId")]
    assert {p.status for p in session.scalars(sa.select(Product))} == {"EOS"}


def test_end_of_sale_needs_a_supplier(session, stage) -> None:  # noqa: ANN001
    with pytest.raises(Forbidden):
        end_of_sale(session, f.acting(stage.r1), ["A"])


# --- DELETE /inventory/balances --------------------------------------------------------------


def test_remove_balances_takes_products_off_catalogs(session, stage) -> None:  # noqa: ANN001
    public, private = stage.public.external_id, stage.private.external_id
    upsert_inventory(session, stage.actor, [item("A", bal(public), bal(private)),
                                            item("B", bal(public))])
    held = balances_of(session, product_of(session, stage.supplier, "B"))[0]
    held.reserved = 2
    session.flush()
    failed = remove_balances(session, stage.actor, [
        {"productExternalId": "A", "catalogExternalId": private,
         "retailerId": stage.r1.business_id},
        {"productExternalId": "B", "catalogExternalId": public, "retailerId": None},
        {"productExternalId": "A", "catalogExternalId": private},  # the same one again: fine
        {"productExternalId": "NOPE", "catalogExternalId": public},
        {"productExternalId": "A", "catalogExternalId": public,
         "retailerId": stage.r2.business_id},
        {"catalogExternalId": public},
    ])
    assert [(x["index"], x["externalId"]) for x in failed] == [
        (1, "B"), (3, "NOPE"), (4, "A"), (5, None)]
    assert "reserved" in failed[0]["errors"][0]["message"]
    catalogs = [b.catalog_id for b in balances_of(session, product_of(session, stage.supplier,
                                                                        "A"))]
    assert catalogs == [stage.public.id]
    assert len(balances_of(session, product_of(session, stage.supplier, "B"))) == 1
    removed = events(session, "catalog.inventory_changed")[-1]
    assert removed.data == {"catalogExternalId": private, "balancesRemoved": ["A"]}
    assert set(removed.organization_ids) == {stage.supplier.id, stage.r1.id}


def test_remove_balances_refuses_another_suppliers_catalog(session, stage) -> None:  # noqa: ANN001
    other = org(session, "Other", supplier=True)
    theirs = f.publish(session, f.product(session, other, "A"), f.public_catalog(session, other))
    f.product(session, stage.supplier, "A")
    failed = remove_balances(session, stage.actor, [
        {"productExternalId": "A", "catalogExternalId": f.public_catalog(session,
                                                                         other).external_id}])
    assert len(failed) == 1
    assert session.get(Balance, theirs.id) is not None


# --- reads -----------------------------------------------------------------------------------


@pytest.fixture
def shelf(session, stage):  # noqa: ANN001, ANN201
    """P-PUB in the public catalog, P-PRIV only in R1's private catalog, P-BOTH in both,
    P-NONE in no catalog; another supplier has its own P-PUB in its public catalog."""
    public, private = stage.public.external_id, stage.private.external_id
    upsert_inventory(session, stage.actor, [
        item("P-PUB", bal(public, 1, "1.00")), item("P-PRIV", bal(private, 2, "2.00")),
        item("P-BOTH", bal(public, 3, "3.00"), bal(private, 4, "4.00")), item("P-NONE")])
    stage.other = org(session, "Other", supplier=True)
    upsert_inventory(session, f.acting(stage.other), [
        item("P-PUB", bal(f.public_catalog(session, stage.other).external_id, 9, "9.00"))])
    return stage


def _seen(result: list) -> dict[tuple[str, str], list[int]]:
    return {(p.supplier.name, p.external_id): sorted(b.quantity for b in bs)
            for p, bs in result}


ALL = ["P-PUB", "P-PRIV", "P-BOTH", "P-NONE"]


def test_a_supplier_sees_its_own_products_with_every_balance(session, shelf) -> None:  # noqa: ANN001
    seen = _seen(get_inventory(session, shelf.actor, ALL))
    assert seen == {("Supplier", "P-PUB"): [1], ("Supplier", "P-PRIV"): [2],
                    ("Supplier", "P-BOTH"): [3, 4], ("Supplier", "P-NONE"): []}


def test_a_retailer_with_access_sees_prices_of_its_catalogs_only(session, shelf) -> None:  # noqa: ANN001
    # R1 has active access to the public catalog and the private catalog is its own
    seen = _seen(get_inventory(session, f.acting(shelf.r1), ALL))
    assert seen == {("Supplier", "P-PUB"): [1], ("Supplier", "P-PRIV"): [2],
                    ("Supplier", "P-BOTH"): [3, 4], ("Other", "P-PUB"): []}


def test_a_retailer_without_access_sees_public_basic_data_only(session, shelf) -> None:  # noqa: ANN001
    seen = _seen(get_inventory(session, f.acting(shelf.r2), ALL))
    # no balances anywhere, and nothing of R1's private catalog
    assert seen == {("Supplier", "P-PUB"): [], ("Supplier", "P-BOTH"): [],
                    ("Other", "P-PUB"): []}


def test_revoked_access_and_inactive_private_catalogs_hide_balances(session, shelf) -> None:  # noqa: ANN001
    session.scalars(sa.select(CatalogAccess)).one().state = "revoked"
    shelf.private.state = "in_use"
    session.flush()
    seen = _seen(get_inventory(session, f.acting(shelf.r1), ["P-PUB", "P-PRIV"]))
    assert seen == {("Supplier", "P-PUB"): [], ("Supplier", "P-PRIV"): [],
                    ("Other", "P-PUB"): []}


def test_an_organization_with_both_roles_sees_the_union(session, shelf) -> None:  # noqa: ANN001
    # given R1 also became a supplier with an unpublished P-PUB of its own
    shelf.r1.is_supplier = True
    session.flush()
    f.product(session, shelf.r1, "P-PUB")
    both = Principal(organization_id=shelf.r1.id,
                     permissions=frozenset({"supplier", "retailer"}))
    # when / then: its own product, and the public ones with the balances it has access to
    assert _seen(get_inventory(session, both, ["P-PUB"])) == {
        ("R1", "P-PUB"): [], ("Supplier", "P-PUB"): [1], ("Other", "P-PUB"): []}
    # and as a supplier alone it sees only its own
    assert _seen(get_inventory(session, f.acting(shelf.r1, "supplier"), ["P-PUB"])) == {
        ("R1", "P-PUB"): []}


def test_the_system_actor_sees_everything(session, shelf) -> None:  # noqa: ANN001
    assert len(get_inventory(session, SYSTEM, ALL)) == 5


def test_reading_needs_a_role(session, shelf) -> None:  # noqa: ANN001
    with pytest.raises(Forbidden):
        get_inventory(session, f.acting(shelf.r1, "admin"), ALL)


def test_catalog_inventory_pages_through_one_catalog(session, shelf) -> None:  # noqa: ANN001
    public = shelf.public.external_id
    page0, total = catalog_inventory(session, shelf.actor, public, size=1)
    page1, _ = catalog_inventory(session, shelf.actor, public, page=1, size=1)
    page2, _ = catalog_inventory(session, shelf.actor, public, page=2, size=1)
    assert total == 2
    assert [(p.external_id, [b.quantity for b in bs]) for p, bs in page0 + page1] == [
        ("P-PUB", [1]), ("P-BOTH", [3])]
    assert page2 == []


def test_catalog_inventory_for_retailers(session, shelf) -> None:  # noqa: ANN001
    public, private = shelf.public.external_id, shelf.private.external_id
    with_access, _ = catalog_inventory(session, f.acting(shelf.r1), public,
                                       retailer_id=shelf.r1.business_id)
    without, total = catalog_inventory(session, f.acting(shelf.r2), public)
    own_private, _ = catalog_inventory(session, f.acting(shelf.r1), private,
                                       retailer_id=shelf.r1.business_id)
    assert [len(bs) for _, bs in with_access] == [1, 1]
    assert total == 2 and [bs for _, bs in without] == [[], []]
    assert [p.external_id for p, _ in own_private] == ["P-PRIV", "P-BOTH"]
    # another retailer's private catalog is as unknown as a missing one
    with pytest.raises(NotFound):
        catalog_inventory(session, f.acting(shelf.r2), private)
    with pytest.raises(NotFound):
        catalog_inventory(session, f.acting(shelf.r2), "NO-SUCH")
    with pytest.raises(NotFound):
        catalog_inventory(session, f.acting(shelf.r2), public, retailer_id=shelf.r1.business_id)
    with pytest.raises(NotFound):
        catalog_inventory(session, shelf.actor, private, retailer_id=shelf.r2.business_id)
    # a supplier does not read another supplier's catalog
    with pytest.raises(NotFound):
        catalog_inventory(session, f.acting(shelf.other), public)


def test_page_and_size_are_checked(session, shelf) -> None:  # noqa: ANN001
    for kw in ({"page": -1}, {"size": 0}, {"size": 2001}):
        with pytest.raises(ValidationFailed):
            catalog_inventory(session, shelf.actor, shelf.public.external_id, **kw)
        with pytest.raises(ValidationFailed):
            list_balances(session, shelf.actor, **kw)


def test_list_balances_follows_the_visibility_rule(session, shelf) -> None:  # noqa: ANN001
    def quantities(actor: Principal, **kw: Any) -> tuple[list[int], int]:
        found, total = list_balances(session, actor, **kw)
        return sorted(b.quantity for b in found), total

    assert quantities(shelf.actor) == ([1, 2, 3, 4], 4)
    assert quantities(f.acting(shelf.r1)) == ([1, 2, 3, 4], 4)
    assert quantities(f.acting(shelf.r2)) == ([], 0)
    wires = [balance_to_wire(b) for b in list_balances(session, f.acting(shelf.r1))[0]]
    assert {(w["catalogExternalId"], w["retailerId"]) for w in wires} == {
        (shelf.public.external_id, None), (shelf.private.external_id, shelf.r1.business_id)}
    assert quantities(f.acting(shelf.other)) == ([9], 1)
    assert quantities(shelf.actor, catalog_external_id=shelf.private.external_id) == ([2, 4], 2)
    assert quantities(f.acting(shelf.r1), product_external_ids=["P-BOTH", "P-NONE"]) == (
        [3, 4], 2)
    with pytest.raises(Forbidden):
        list_balances(session, f.acting(shelf.r2), catalog_external_id=shelf.public.external_id)
    with pytest.raises(NotFound):
        list_balances(session, f.acting(shelf.r2), catalog_external_id=shelf.private.external_id)


def test_list_balances_since_a_time_in_modification_order(session, shelf) -> None:  # noqa: ANN001
    past = utcnow() - timedelta(hours=1)
    for balance in session.scalars(sa.select(Balance)):
        balance.modified_at = past
    session.flush()
    upsert_inventory(session, shelf.actor, [item("P-BOTH", bal(shelf.private.external_id, 8)),
                                            item("P-PUB", bal(shelf.public.external_id, 7))])
    found, total = list_balances(session, shelf.actor,
                                 modified_from=past + timedelta(minutes=1))
    assert total == 2 and sorted(b.quantity for b in found) == [7, 8]
    first, total = list_balances(session, shelf.actor, size=1)
    assert total == 4 and first[0].modified_at == past
    with pytest.raises(ValidationFailed):
        list_balances(session, shelf.actor, modified_from=past.replace(tzinfo=None))


# --- wire shapes -----------------------------------------------------------------------------


def test_product_and_balance_go_out_in_the_v3_shape(session, shelf) -> None:  # noqa: ANN001
    upsert_inventory(session, shelf.actor, [item(
        "P-BOTH", bal(shelf.private.external_id, 4, "4.50"), eanCode=EAN,
        recommendedRetailPrice="19.90", vatPercentage="24", measurements={"weight": 0.5},
        images=[{"url": "https://x.test/a.png"}], descriptions={"en": {"name": "Both"}})])
    [(product, balances)] = get_inventory(session, shelf.actor, ["P-BOTH"])
    wire = product_to_wire(product)
    assert {k: wire[k] for k in ("externalId", "supplierId", "eanCode", "recommendedRetailPrice",
                                  "vatPercentage", "status", "measurements", "images",
                                  "descriptions", "isFragile", "unitOfMeasure")} == {
        "externalId": "P-BOTH", "supplierId": shelf.supplier.business_id, "eanCode": EAN,
        "recommendedRetailPrice": 19.9, "vatPercentage": 24, "status": "ACTIVE",
        "measurements": {"weight": 0.5}, "images": [{"url": "https://x.test/a.png"}],
        "descriptions": {"en": {"name": "Both"}}, "isFragile": False, "unitOfMeasure": "KPL"}
    assert wire["updatedDate"].endswith("+00:00")
    public_wire, private_wire = (balance_to_wire(b) for b in balances)
    assert public_wire["retailerId"] is None
    assert private_wire == {
        "retailerId": shelf.r1.business_id, "catalogExternalId": shelf.private.external_id,
        "productExternalId": "P-BOTH", "quantity": 4, "incoming": 0, "wholesalePrice": 4.5,
        "currency": "EUR", "modifiedDate": private_wire["modifiedDate"]}
    assert inventory_item_to_wire(product, balances)["balances"][1] == private_wire
