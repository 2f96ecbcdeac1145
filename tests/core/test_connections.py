"""A retailer's shop connections (core.connections): only its own, saved only by its admins,
publishing only catalogs with active access, the connector's own state kept."""

from __future__ import annotations

import pytest

from core import connections
from core.errors import Forbidden, NotFound, ValidationFailed
from core.models import ShopConnection
from tests import factories as f


@pytest.fixture
def world(session):
    supplier = f.supplier(session, name="Supplier")
    shop, other = f.retailer(session, name="Shop"), f.retailer(session, name="Other")
    public = f.public_catalog(session, supplier)
    f.grant(session, public, shop)
    private = f.private_catalog(session, supplier, shop, state="active")
    waiting = f.private_catalog(session, supplier, shop, state="in_use")
    connection = ShopConnection(key="k" * 32, retailer_id=shop.id, platform="shopify",
                                shop="shop.myshopify.com", status="linked",
                                settings={"platform": {"location_id": "gid://1"}})
    session.add_all([connection, ShopConnection(
        key="o" * 32, retailer_id=other.id, platform="woocommerce", shop="https://other.test")])
    session.flush()
    return shop, other, public, private, connection, waiting


def test_lists_and_reads_only_the_retailers_own_connections(session, world):
    shop, other, *_ = world
    assert [c.key for c in connections.list_connections(session, f.acting(shop))] == ["k" * 32]
    assert connections.get_connection(session, f.acting(shop), "k" * 32).shop \
        == "shop.myshopify.com"
    with pytest.raises(NotFound):
        connections.get_connection(session, f.acting(shop), "o" * 32)
    with pytest.raises(Forbidden):
        connections.list_connections(session, f.acting(shop, "admin"))


def test_publishable_catalogs_are_those_with_active_access(session, world):
    shop, _other, public, private, _connection, _waiting = world
    found = connections.publishable_catalogs(session, f.acting(shop))
    assert {c.external_id for c in found} == {public.external_id, private.external_id}


def test_an_admin_saves_the_settings_keeping_the_platform_state(session, world):
    shop, _other, public, private, connection, _waiting = world
    saved = connections.save_settings(
        session, f.acting(shop, "retailer", "admin"), connection.key,
        {"catalogs": [public.external_id, private.external_id], "stock_buffer": 2,
         "platform": {"location_id": "forged"}})
    assert saved.settings["catalogs"] == [public.external_id, private.external_id]
    assert saved.settings["stock_buffer"] == 2
    assert saved.settings["platform"] == {"location_id": "gid://1"}
    assert saved.status == "active"  # linked -> active once set up
    changed = f.events(session, "shop_connection.settings_changed")
    assert [e.subject_id for e in changed] == [connection.key]
    assert changed[0].organization_ids == [shop.id]


def test_a_paused_connection_stays_paused(session, world):
    shop, _other, _public, _private, connection, _waiting = world
    connection.status = "paused"
    connections.save_settings(session, f.acting(shop, "retailer", "admin"), connection.key,
                              {"catalogs": []})
    assert connection.status == "paused"


def test_a_catalog_without_active_access_is_refused(session, world):
    shop, _other, _public, _private, connection, in_use = world
    with pytest.raises(ValidationFailed) as refused:
        connections.save_settings(session, f.acting(shop, "retailer", "admin"),
                                  connection.key, {"catalogs": [in_use.external_id]})
    assert refused.value.errors[0]["field"] == "catalogs"
    assert connection.settings == {"platform": {"location_id": "gid://1"}}
    assert connection.status == "linked"
    assert f.events(session, "shop_connection.settings_changed") == []


def test_saving_needs_admin_and_the_retailers_own_connection(session, world):
    shop, other, *_ = world
    with pytest.raises(Forbidden):
        connections.save_settings(session, f.acting(shop), "k" * 32, {"catalogs": []})
    with pytest.raises(NotFound):
        connections.save_settings(session, f.acting(other, "retailer", "admin"), "k" * 32,
                                  {"catalogs": []})

