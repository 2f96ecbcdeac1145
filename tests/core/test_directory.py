"""The supplier directory a retailer browses (core.directory): who is listed, with which state
of the retailer's access, and who may ask."""

from __future__ import annotations

import pytest

from core import catalogs, directory
from core.errors import Forbidden, NotFound
from tests import factories as f


@pytest.fixture
def world(session):
    shop = f.retailer(session, name="Shop")
    both = f.org(session, supplier=True, retailer=True, name="Both Oy")
    accepted = f.supplier(session, name="Accepted Oy")
    asked = f.supplier(session, name="Asked Oy")
    never = f.supplier(session, name="Never Oy")
    f.grant(session, f.public_catalog(session, accepted), shop)
    f.grant(session, f.public_catalog(session, asked), shop, state="requested")
    return shop, both, accepted, asked, never


def test_lists_every_other_supplier_by_name_with_the_retailers_access(session, world):
    shop, both, accepted, asked, never = world
    entries = directory.list_suppliers(session, f.acting(shop))
    assert [e.name for e in entries] == ["Accepted Oy", "Asked Oy", "Both Oy", "Never Oy"]
    states = {e.name: e.state for e in entries}
    assert states == {"Accepted Oy": "active", "Asked Oy": "requested", "Both Oy": "none",
                      "Never Oy": "none"}
    first = entries[0]
    assert first.business_id == accepted.business_id
    assert first.catalog_external_id == f.public_catalog(session, accepted).external_id
    assert first.access is not None and first.access.state == "active"


def test_an_organization_that_is_also_a_supplier_does_not_list_itself(session, world):
    _shop, both, *_ = world
    names = [e.name for e in directory.list_suppliers(session, f.acting(both))]
    assert "Both Oy" not in names and "Accepted Oy" in names


def test_a_request_made_through_core_shows_as_requested(session, world):
    shop, _both, _accepted, _asked, never = world
    as_shop = f.acting(shop)
    catalogs.request_access(session, as_shop, f.public_catalog(session, never).external_id,
                            "We sell kitchenware")
    entry = directory.get_supplier(session, as_shop, never.business_id)
    assert entry.state == "requested"
    assert entry.access.request_message == "We sell kitchenware"


def test_one_supplier_by_business_id_and_the_ones_not_found(session, world):
    shop, both, accepted, *_ = world
    assert directory.get_supplier(session, f.acting(shop), accepted.business_id).state == "active"
    with pytest.raises(NotFound):
        directory.get_supplier(session, f.acting(shop), shop.business_id)  # not a supplier
    with pytest.raises(NotFound):
        directory.get_supplier(session, f.acting(both), both.business_id)  # itself
    with pytest.raises(NotFound):
        directory.get_supplier(session, f.acting(shop), "0000000-0")


def test_the_directory_needs_the_retailer_permission(session, world):
    shop, _both, accepted, *_ = world
    with pytest.raises(Forbidden):
        directory.list_suppliers(session, f.acting(accepted))
    with pytest.raises(Forbidden):
        directory.get_supplier(session, f.acting(shop, "admin"), accepted.business_id)


def test_catalog_state_of_private_and_public_catalogs(session, world):
    shop, _both, accepted, _asked, never = world
    private = f.private_catalog(session, never, shop, state="in_use")
    public = f.public_catalog(session, never)
    assert directory.catalog_state(private, None, set()) == "in_use"
    assert directory.catalog_state(private, None, {private.id}) == "active"
    assert directory.catalog_state(public, None, set()) == "none"
