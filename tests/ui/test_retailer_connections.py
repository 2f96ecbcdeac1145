"""The retailer's shop connections: the list, the install instructions and the settings form
(ConnectionSettings stored with the connector's ``platform`` state kept)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from connectors.base import ConnectionSettings
from connectors.pricing import PricingRule
from core.models import ShopConnection
from tests import factories
from tests.ui.conftest import log_in, organization, person
from tests.ui.conftest import post as _post
from web.ui.retailer_connections import example_price


def post(client, path, data=None, **kwargs):  # noqa: ANN001, ANN003, ANN201
    return _post(client, path, data, token_from="/", **kwargs)


def _world(session):  # noqa: ANN001, ANN202
    shop = organization(session, "Kauppa Oy", retailer=True)
    buyer = person(session, shop, "admin", "retailer", email="buyer@example.test")
    clerk = person(session, shop, "retailer", email="clerk@example.test")
    supplier = organization(session, "Tukku Oy", supplier=True)
    active = factories.public_catalog(session, supplier)
    factories.grant(session, active, shop)
    closed = factories.public_catalog(session, organization(session, "Kiinni Oy",
                                                            supplier=True))
    connection = ShopConnection(key="k" * 32, retailer_id=shop.id, platform="shopify",
                                shop="kauppa.myshopify.com", status="linked",
                                settings={"platform": {"location_id": 42}})
    foreign = ShopConnection(key="f" * 32, retailer_id=None, platform="woocommerce",
                             shop="https://vieras.example", status="installing", settings={})
    session.add_all([connection, foreign])
    session.commit()
    return {"buyer": buyer, "clerk": clerk, "active": active.external_id,
            "closed": closed.external_id}


FORM = {"basis": "markup", "markup": "2,5", "fixed": "1.00", "ending": "0.90",
        "stock_buffer": "3", "end_of_sale": "unpublish", "order_trigger": "created",
        "hold_minutes": "15", "auto_publish_new": "1", "action": "save"}


def test_connections_page_lists_the_retailers_shops_and_install_routes(client, session):
    w = _world(session)
    log_in(client, w["buyer"])
    page = client.get("/retailer/connections").get_data(as_text=True)
    assert "kauppa.myshopify.com" in page and "vieras.example" not in page
    assert "Yhdistetty, valitse asetukset" in page
    assert "http://glue.test/connect/magento/callback" in page
    assert "http://glue.test/connect/magento/link" in page
    assert 'href="/connect/woocommerce/install"' in page
    assert "http://glue.test/connect/shopify/install" in page
    assert f'href="/retailer/connections/{"k" * 32}/settings"' in page


def test_settings_are_saved_keeping_the_platform_state(client, session, db):
    w = _world(session)
    log_in(client, w["buyer"])
    response = post(client, f"/retailer/connections/{'k' * 32}/settings",
                    {**FORM, "catalogs": [w["active"]]})
    assert response.status_code == 302
    with db.transaction() as s:
        found = s.scalar(sa.select(ShopConnection).where(ShopConnection.key == "k" * 32))
        stored = ConnectionSettings.from_json(found.settings)
        assert found.status == "active"
        assert found.settings["platform"] == {"location_id": 42}
    assert stored.catalogs == [w["active"]]
    assert stored.pricing == PricingRule(basis="markup", markup=Decimal("2.5"),
                                         fixed=Decimal("1.00"), ending="0.90")
    assert (stored.stock_buffer, stored.end_of_sale) == (3, "unpublish")
    assert stored.order_forwarding.trigger == "created"
    assert stored.order_forwarding.hold_minutes == 15
    page = client.get(response.location).get_data(as_text=True)
    assert "Asetukset tallennettiin." in page and 'value="unpublish" selected' in page


def test_preview_shows_the_example_price_without_saving(client, session, db):
    w = _world(session)
    log_in(client, w["buyer"])
    response = post(client, f"/retailer/connections/{'k' * 32}/settings",
                    {**FORM, "action": "preview"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    # 10.00 × 2.5 + 1.00 = 26.00, rounded up to .90 → 26.90
    assert "26.90" in page
    with db.transaction() as s:
        found = s.scalar(sa.select(ShopConnection).where(ShopConnection.key == "k" * 32))
        assert found.status == "linked" and "pricing" not in found.settings


def test_example_price_follows_the_rule():
    assert example_price(PricingRule()) == {"with_recommended": Decimal("24.90"),
                                            "without_recommended": Decimal("20.90")}


def test_a_catalog_without_access_or_bad_numbers_are_refused(client, session, db):
    w = _world(session)
    log_in(client, w["buyer"])
    path = f"/retailer/connections/{'k' * 32}/settings"
    response = post(client, path, {**FORM, "catalogs": [w["closed"]]})
    assert response.status_code == 400
    response = post(client, path, {**FORM, "markup": "0.5", "stock_buffer": "-1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="f-stock_buffer-error"' in page
    response = post(client, path, {**FORM, "markup": "0.5"})
    assert 'id="f-markup-error"' in response.get_data(as_text=True)
    response = post(client, path, {**FORM, "end_of_sale": "explode"})
    assert response.status_code == 400
    with db.transaction() as s:
        found = s.scalar(sa.select(ShopConnection).where(ShopConnection.key == "k" * 32))
        assert "pricing" not in found.settings


def test_another_retailers_connection_is_not_found(client, session):
    w = _world(session)
    other = organization(session, "Toinen Kauppa Oy", retailer=True)
    stranger = person(session, other, "admin", "retailer", email="other@example.test")
    log_in(client, stranger)
    assert client.get(f"/retailer/connections/{'k' * 32}/settings").status_code == 404
    assert post(client, f"/retailer/connections/{'k' * 32}/settings",
                {**FORM, "catalogs": [w["active"]]}).status_code == 404
    assert "kauppa.myshopify.com" not in client.get("/retailer/connections").get_data(
        as_text=True)


def test_refusals_for_non_admins_suppliers_and_missing_tokens(app, client, session, admin):
    w = _world(session)
    log_in(client, w["clerk"])  # a retailer user who is not an admin
    assert client.get("/retailer/connections").status_code == 200
    assert client.get(f"/retailer/connections/{'k' * 32}/settings").status_code == 403
    supplier = app.test_client()
    log_in(supplier, admin)
    assert supplier.get(f"/retailer/connections/{'k' * 32}/settings").status_code == 403
    buyer = app.test_client()
    log_in(buyer, w["buyer"])
    assert buyer.post(f"/retailer/connections/{'k' * 32}/settings",
                      data=FORM).status_code == 400
