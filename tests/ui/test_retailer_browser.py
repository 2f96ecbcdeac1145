"""A retailer asks a supplier for activation in a real headless Chromium, the supplier accepts
it in a second browser, and the retailer then sees the catalog's prices. At laptop and phone
widths, with screenshots (``$GLUE_SCREENSHOT_DIR``, see test_browser.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from core.models import Organization, ShopConnection
from core.order_input import parse_order
from core.orders import create_order
from tests import factories
from tests.ui.conftest import PASSWORD, Person, organization, person
from tests.ui.test_browser import (  # noqa: F401  (fixtures)
    LAPTOP,
    PHONE,
    _log_in,
    browser,
    live_server,
    no_sideways_scroll,
    screenshots,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_retailer_requests_activation_supplier_accepts_retailer_sees_prices(
        browser: Browser, live_server: str, admin: Person, screenshots: Path,  # noqa: F811
        viewport: dict, session) -> None:  # noqa: ANN001
    name = "laptop" if viewport == LAPTOP else "phone"
    # Given the admin's supplier with a priced product, and a retailer
    supplier = session.get(Organization, admin.organization_id)
    catalog = factories.public_catalog(session, supplier)
    factories.publish(session, factories.product(session, supplier, "MUKI-1"), catalog,
                      quantity=8, price="13.57")
    shop = organization(session, "Kauppa Oy", retailer=True)
    buyer = person(session, shop, "admin", "retailer", email="buyer@example.test",
                   name="Kalle Kauppias")
    session.add(ShopConnection(key="b" * 32, retailer_id=shop.id, platform="shopify",
                               shop="kauppa.myshopify.com", status="linked", settings={}))
    session.commit()
    retailer = browser.new_context(viewport=viewport, locale="fi-FI").new_page()
    _log_in(retailer, live_server, buyer.email, PASSWORD)
    # When the retailer finds the supplier and sees its products without prices
    retailer.get_by_role("link", name="Toimittajat", exact=True).click()
    no_sideways_scroll(retailer)
    retailer.screenshot(path=str(screenshots / f"retailer-suppliers-{name}.png"),
                        full_page=True)
    retailer.get_by_role("link", name="Toimittaja Oy").click()
    retailer.get_by_role("link", name=catalog.name).click()
    expect(retailer.locator("#products-table")).to_contain_text("MUKI-1")
    expect(retailer.locator("#products-table")).not_to_contain_text("13.57")
    no_sideways_scroll(retailer)
    retailer.screenshot(path=str(screenshots / f"retailer-catalog-hidden-{name}.png"),
                        full_page=True)
    # and asks for activation with a message
    retailer.get_by_role("link", name="Pyydä aktivointia").click()
    retailer.get_by_label("Viesti toimittajalle (valinnainen)").fill("Myymme mukeja verkossa")
    retailer.get_by_role("button", name="Pyydä aktivointia").click()
    expect(retailer.get_by_role("status")).to_contain_text("Aktivointipyyntö lähetettiin")
    expect(retailer.locator("#access-state")).to_have_text("Odottaa päätöstä")
    no_sideways_scroll(retailer)
    retailer.screenshot(path=str(screenshots / f"retailer-request-{name}.png"), full_page=True)
    # Then the supplier, in its own browser, accepts the request
    supplier_page = browser.new_context(viewport=viewport, locale="fi-FI").new_page()
    _log_in(supplier_page, live_server, admin.email, PASSWORD)
    supplier_page.goto(f"{live_server}/supplier/activation-requests")
    expect(supplier_page.locator("#waiting-requests")).to_contain_text("Myymme mukeja verkossa")
    supplier_page.get_by_role("button", name="Hyväksy").click()
    expect(supplier_page.get_by_role("status")).to_be_visible()
    supplier_page.context.close()
    # and the retailer now sees the price and the quantity
    retailer.reload()
    expect(retailer.locator("#access-state")).to_have_text("Käytössä")
    retailer.get_by_role("link", name=catalog.name).click()
    expect(retailer.locator("#products-table")).to_contain_text("13.57")
    expect(retailer.locator("#products-table")).to_contain_text("8")
    no_sideways_scroll(retailer)
    retailer.screenshot(path=str(screenshots / f"retailer-catalog-prices-{name}.png"),
                        full_page=True)
    # and an order it places shows its shipment on the order page
    create_order(session, factories.acting(shop), parse_order({
        "externalId": "O1", "references": [{"name": "shopOrder", "value": "1001"}],
        "rows": [{"externalProductId": "MUKI-1", "quantity": 2}]}))
    session.commit()
    retailer.goto(f"{live_server}/retailer/orders/O1")
    expect(retailer.locator("#rows-table")).to_contain_text("MUKI-1")
    expect(retailer.get_by_role("button", name="Peru tilaus")).to_be_visible()
    no_sideways_scroll(retailer)
    retailer.screenshot(path=str(screenshots / f"retailer-order-{name}.png"), full_page=True)
    # and the other retailer pages fit the screen
    for link, shot in (("Tilaukset", "orders"), ("Kauppayhteydet", "connections"),
                       ("Katalogit", "catalogs")):
        retailer.get_by_role("link", name=link, exact=True).click()
        expect(retailer.get_by_role("heading", level=1)).to_have_text(link)
        no_sideways_scroll(retailer, shot)
        retailer.screenshot(path=str(screenshots / f"retailer-{shot}-{name}.png"),
                            full_page=True)
    # and the shop connection's settings show the example price of the pricing rule
    retailer.get_by_role("link", name="Kauppayhteydet", exact=True).click()
    retailer.get_by_role("link", name="Asetukset").click()
    retailer.get_by_label("Hinnan peruste").select_option("markup")
    retailer.get_by_label("Kate (kerroin)").fill("3")
    retailer.get_by_role("button", name="Päivitä esimerkki").click()
    expect(retailer.locator("#price-example")).to_contain_text("30.90")
    retailer.get_by_label(catalog.name).check()
    retailer.get_by_role("button", name="Tallenna asetukset").click()
    expect(retailer.get_by_role("status").first).to_contain_text("Asetukset tallennettiin")
    no_sideways_scroll(retailer)
    retailer.screenshot(path=str(screenshots / f"retailer-connection-settings-{name}.png"),
                        full_page=True)
    retailer.context.close()
