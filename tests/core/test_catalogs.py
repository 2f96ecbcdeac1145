"""Private catalogs: creation, the lifecycle and who may take each step; updates; visibility."""

from __future__ import annotations

import pytest

from core import catalogs
from core.access import active_catalog_ids
from core.errors import Conflict, Forbidden, IllegalTransition, NotFound, ValidationFailed
from core.principal import SYSTEM
from tests import factories as f
from tests.factories import events


@pytest.fixture
def parties(session):
    supplier, retailer = f.supplier(session, name="Supplier"), f.retailer(session, name="Shop")
    return supplier, retailer, f.acting(supplier), f.acting(retailer)


def new_private(session, parties, **kw):
    supplier, _, _, as_retailer = parties
    return catalogs.create_private_catalog(session, as_retailer,
                                           supplier_business_id=supplier.business_id,
                                           name=kw.pop("name", "Our prices"), **kw)


def active_private(session, parties):
    catalog = new_private(session, parties)
    catalogs.take_into_use(session, parties[3], catalog.external_id)
    catalogs.activate_catalog(session, parties[2], catalog.external_id)
    return catalog


# --- creation ------------------------------------------------------------------------------

def test_retailer_creates_a_private_catalog(session, parties):
    supplier, retailer, _, _ = parties
    # when the retailer names the supplier (business ID in any accepted spelling)
    catalog = catalogs.create_private_catalog(
        session, parties[3], supplier_business_id=supplier.business_id.replace("-", ""),
        name=" Our prices ", external_id="SHOP-1.a", currency="sek", back_order_allowed=True,
        priority=5)
    # then the catalog is created, private, between the two parties
    assert (catalog.external_id, catalog.name, catalog.currency, catalog.priority) == \
        ("SHOP-1.a", "Our prices", "SEK", 5)
    assert (catalog.supplier_id, catalog.retailer_id, catalog.is_public, catalog.state) == \
        (supplier.id, retailer.id, False, "created")
    assert catalog.back_order_allowed
    (event,) = events(session, "catalog.created")
    assert event.subject_id == "SHOP-1.a"
    assert event.organization_ids == sorted([supplier.id, retailer.id])
    # and nothing of it is orderable yet
    assert catalog.id not in active_catalog_ids(session, retailer.id)


def test_an_external_id_is_generated_code128_safe_and_unique(session, parties):
    first, second = new_private(session, parties), new_private(session, parties)
    prefix = parties[0].business_id.replace("-", "") + "-"
    for catalog in (first, second):
        assert catalog.external_id.startswith(prefix) and len(catalog.external_id) == 17
        assert catalogs.validate_external_id(catalog.external_id) == catalog.external_id
    assert first.external_id != second.external_id


def test_creation_refusals(session, parties):
    supplier, retailer, as_supplier, as_retailer = parties
    other_retailer = f.retailer(session)
    kw = {"supplier_business_id": supplier.business_id, "name": "X"}
    with pytest.raises(Forbidden):  # a supplier does not create private catalogs
        catalogs.create_private_catalog(session, as_supplier, **kw)
    with pytest.raises(NotFound):  # the named organization is not a supplier
        catalogs.create_private_catalog(session, as_retailer, name="X",
                                        supplier_business_id=other_retailer.business_id)
    with pytest.raises(NotFound):  # no such organization
        catalogs.create_private_catalog(session, as_retailer, name="X",
                                        supplier_business_id=f.business_id())
    with pytest.raises(ValidationFailed):  # bad business ID
        catalogs.create_private_catalog(session, as_retailer, name="X",
                                        supplier_business_id="1234567-0")
    for bad in ("has space", "ä", "a/b", "", "x" * 65):
        with pytest.raises(ValidationFailed):
            catalogs.create_private_catalog(session, as_retailer, external_id=bad, **kw)
    with pytest.raises(ValidationFailed):
        catalogs.create_private_catalog(session, as_retailer, currency="euro", **kw)
    with pytest.raises(ValidationFailed):
        catalogs.create_private_catalog(session, as_retailer, supplier_business_id=kw[
            "supplier_business_id"], name=" ")
    both = f.org(session, supplier=True, retailer=True)
    with pytest.raises(ValidationFailed):  # one organization cannot be both sides
        catalogs.create_private_catalog(session, f.acting(both), name="X",
                                        supplier_business_id=both.business_id)
    # a taken externalId, including the supplier's public catalog's
    new_private(session, parties, external_id="TAKEN")
    for taken in ("TAKEN", f.public_catalog(session, supplier).external_id):
        with pytest.raises(Conflict):
            catalogs.create_private_catalog(session, as_retailer, external_id=taken, **kw)
    assert len(events(session, "catalog.created")) == 1


# --- the lifecycle -------------------------------------------------------------------------

def test_created_in_use_active(session, parties):
    supplier, retailer, as_supplier, as_retailer = parties
    catalog = new_private(session, parties)
    # the supplier cannot activate before the retailer takes it into use
    with pytest.raises(IllegalTransition):
        catalogs.activate_catalog(session, as_supplier, catalog.external_id)
    # only the retailer takes it into use
    with pytest.raises(Forbidden):
        catalogs.take_into_use(session, as_supplier, catalog.external_id)
    catalogs.take_into_use(session, as_retailer, catalog.external_id)
    assert catalog.state == "in_use"
    with pytest.raises(IllegalTransition):  # not twice
        catalogs.take_into_use(session, as_retailer, catalog.external_id)
    # only the supplier activates
    with pytest.raises(Forbidden):
        catalogs.activate_catalog(session, as_retailer, catalog.external_id)
    catalogs.activate_catalog(session, as_supplier, catalog.external_id)
    assert catalog.state == "active"
    assert catalog.id in active_catalog_ids(session, retailer.id)
    assert [(e.type, e.data["state"]) for e in events(session)[-2:]] == \
        [("catalog.taken_into_use", "in_use"), ("catalog.activated", "active")]


def test_either_side_deactivates_and_only_it_reactivates(session, parties):
    supplier, retailer, as_supplier, as_retailer = parties
    catalog = active_private(session, parties)
    # when the supplier deactivates
    catalogs.deactivate_catalog(session, as_supplier, catalog.external_id)
    assert (catalog.state, catalog.deactivated_by) == ("deactivated", "supplier")
    assert catalog.id not in active_catalog_ids(session, retailer.id)
    # then the retailer cannot reactivate it, nor the supplier deactivate it twice
    with pytest.raises(IllegalTransition):
        catalogs.reactivate_catalog(session, as_retailer, catalog.external_id)
    with pytest.raises(IllegalTransition):
        catalogs.deactivate_catalog(session, as_supplier, catalog.external_id)
    # when the retailer also holds it, the supplier's release does not reactivate it
    catalogs.deactivate_catalog(session, as_retailer, catalog.external_id)
    assert catalog.deactivated_by == "both"
    catalogs.reactivate_catalog(session, as_supplier, catalog.external_id)
    assert (catalog.state, catalog.deactivated_by) == ("deactivated", "retailer")
    # and it is active again once neither side holds it
    catalogs.reactivate_catalog(session, as_retailer, catalog.external_id)
    assert (catalog.state, catalog.deactivated_by) == ("active", None)
    assert catalog.id in active_catalog_ids(session, retailer.id)
    trail = [(e.type, e.data["by"], e.data["state"]) for e in events(session)
             if e.type in ("catalog.deactivated", "catalog.reactivated")]
    assert trail == [("catalog.deactivated", "supplier", "deactivated"),
                     ("catalog.deactivated", "retailer", "deactivated"),
                     ("catalog.reactivated", "supplier", "deactivated"),
                     ("catalog.reactivated", "retailer", "active")]


def test_only_an_active_catalog_is_deactivated(session, parties):
    catalog = new_private(session, parties)
    with pytest.raises(IllegalTransition):
        catalogs.deactivate_catalog(session, parties[3], catalog.external_id)
    catalogs.take_into_use(session, parties[3], catalog.external_id)
    with pytest.raises(IllegalTransition):
        catalogs.deactivate_catalog(session, parties[2], catalog.external_id)
    with pytest.raises(IllegalTransition):
        catalogs.reactivate_catalog(session, parties[2], catalog.external_id)


def test_lifecycle_needs_the_sides_permission_and_hides_from_strangers(session, parties):
    supplier, retailer, as_supplier, as_retailer = parties
    catalog = active_private(session, parties)
    # a member of the retailer without the retailer permission
    with pytest.raises(Forbidden):
        catalogs.deactivate_catalog(session, f.acting(retailer, "admin"), catalog.external_id)
    # another retailer and another supplier do not see the catalog at all
    for stranger in (f.acting(f.retailer(session)), f.acting(f.supplier(session))):
        with pytest.raises(NotFound):
            catalogs.deactivate_catalog(session, stranger, catalog.external_id)
        with pytest.raises(NotFound):
            catalogs.get_catalog(session, stranger, catalog.external_id)
    assert catalog.state == "active"


def test_public_catalogs_have_no_private_lifecycle(session, parties):
    public = f.public_catalog(session, parties[0])
    for step in (catalogs.take_into_use, catalogs.activate_catalog,
                 catalogs.deactivate_catalog, catalogs.reactivate_catalog):
        with pytest.raises(IllegalTransition):
            step(session, parties[2], public.external_id)


def test_system_names_the_side(session, parties):
    catalog = active_private(session, parties)
    with pytest.raises(ValidationFailed):
        catalogs.deactivate_catalog(session, SYSTEM, catalog.external_id)
    catalogs.deactivate_catalog(session, SYSTEM, catalog.external_id, side="supplier")
    assert catalog.deactivated_by == "supplier"
    with pytest.raises(Forbidden):  # a party cannot act for the other side
        catalogs.reactivate_catalog(session, parties[3], catalog.external_id, side="supplier")


# --- updates -------------------------------------------------------------------------------

def test_supplier_updates_its_catalog(session, parties):
    supplier, _, as_supplier, _ = parties
    public = f.public_catalog(session, supplier)
    catalogs.update_catalog(session, as_supplier, public.external_id, name="Main",
                            currency="sek", backOrderAllowed=True, priority=3, route_weight=7)
    assert (public.name, public.currency, public.back_order_allowed, public.priority,
            public.route_weight) == ("Main", "SEK", True, 3, 7)
    (event,) = events(session, "catalog.updated")
    assert event.data["fields"] == ["back_order_allowed", "currency", "name", "priority",
                                    "route_weight"]
    catalogs.update_catalog(session, as_supplier, public.external_id, name="Main")  # no change
    assert len(events(session, "catalog.updated")) == 1


def test_update_refusals(session, parties):
    supplier, _, as_supplier, as_retailer = parties
    public = f.public_catalog(session, supplier)
    private = new_private(session, parties)
    with pytest.raises(Forbidden):  # a retailer sees both catalogs but changes neither
        catalogs.update_catalog(session, as_retailer, public.external_id, name="Mine")
    with pytest.raises(Forbidden):
        catalogs.update_catalog(session, as_retailer, private.external_id, priority=1)
    with pytest.raises(NotFound):  # another supplier does not see them
        catalogs.update_catalog(session, f.acting(f.supplier(session)), public.external_id,
                                name="x")
    for bad in ({"external_id": "NEW"}, {"priority": "high"}, {"priority": True},
                {"currency": "€"}, {"name": ""}):
        with pytest.raises(ValidationFailed):
            catalogs.update_catalog(session, as_supplier, public.external_id, **bad)
    # the currency is fixed while products are published in the catalog
    f.publish(session, f.product(session, supplier), public)
    with pytest.raises(Conflict):
        catalogs.update_catalog(session, as_supplier, public.external_id, currency="SEK")
    assert public.currency == "EUR"


# --- listing and visibility ----------------------------------------------------------------

def test_retailer_lists_public_catalogs_and_its_own_private_ones(session, parties):
    supplier, retailer, as_supplier, as_retailer = parties
    other_supplier = f.supplier(session, name="Another")
    mine = new_private(session, parties, name="Mine")
    theirs = catalogs.create_private_catalog(session, f.acting(f.retailer(session)),
                                             supplier_business_id=supplier.business_id,
                                             name="Theirs")
    former = f.supplier(session, name="Former")
    former.is_supplier = False  # a former supplier's public catalog is no longer listed
    listed = catalogs.list_catalogs(session, as_retailer, "retailer")
    assert [c.external_id for c in listed] == [
        f.public_catalog(session, other_supplier).external_id,
        f.public_catalog(session, supplier).external_id, mine.external_id]
    assert theirs not in listed
    with pytest.raises(NotFound):
        catalogs.get_catalog(session, as_retailer, f.public_catalog(session, former).external_id)
    assert catalogs.get_catalog(session, as_retailer, mine.external_id) is mine


def test_supplier_lists_its_own_catalogs(session, parties):
    supplier, _, as_supplier, _ = parties
    private = new_private(session, parties)
    other_public = f.public_catalog(session, f.supplier(session))
    assert catalogs.list_catalogs(session, as_supplier, "SUPPLIER") == \
        [f.public_catalog(session, supplier), private]
    # a supplier that is not a retailer does not see other suppliers' catalogs
    with pytest.raises(NotFound):
        catalogs.get_catalog(session, as_supplier, other_public.external_id)


def test_listing_refusals(session, parties):
    _, _, as_supplier, as_retailer = parties
    with pytest.raises(Forbidden):
        catalogs.list_catalogs(session, as_supplier, "RETAILER")
    with pytest.raises(Forbidden):
        catalogs.list_catalogs(session, as_retailer, "SUPPLIER")
    with pytest.raises(ValidationFailed):
        catalogs.list_catalogs(session, as_retailer, "OWNER")
    with pytest.raises(NotFound):
        catalogs.get_catalog(session, as_retailer, "NO-SUCH")
