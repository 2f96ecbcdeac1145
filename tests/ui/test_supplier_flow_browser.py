"""The supplier's day in one chain, in a real headless Chromium (see test_browser.py): it imports
a CSV, publishes the products into a retailer's private catalog, works the retailer's order
from Created to Delivered and prints the parcel's label.

The pieces have their own tests (test_supplier_browser.py, test_retailer_browser.py,
test_supplier_shipments.py); this one checks that they join up: the products of the import are
the ones the retailer orders from its private catalog, and the shipment the order makes is the
one the supplier delivers. The retailer creates the private catalog and takes it into use in
its own browser; the order comes through ``core.orders`` as a shop's would. At laptop width
only: the phone layouts are covered by the single-step tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from core.models import Organization
from core.order_input import parse_order
from core.orders import create_order
from tests import factories
from tests.ui.conftest import PASSWORD, Person, organization, person
from tests.ui.test_browser import (  # noqa: F401  (fixtures)
    LAPTOP,
    _log_in,
    browser,
    live_server,
    no_sideways_scroll,
    screenshots,
)

pytestmark = pytest.mark.browser

CSV = (b"Tuotekoodi;Nimi;EAN;Saldo\n"
       b"LAUTA-1;Leikkuulauta;6417182000010;10\n"
       b"LAUTA-2;Tarjoilulauta;;5\n")


def test_supplier_imports_publishes_privately_and_delivers_an_order_with_a_label(
        browser: Browser, live_server: str, admin: Person, screenshots: Path,  # noqa: F811
        session, tmp_path: Path) -> None:  # noqa: ANN001
    supplier_org = session.get(Organization, admin.organization_id)
    supplier_business_id = supplier_org.business_id
    shop = organization(session, "Kauppa Oy", retailer=True)
    buyer = person(session, shop, "admin", "retailer", email="buyer@example.test")
    session.commit()

    # Given a retailer that creates a private catalog naming the supplier and takes it into use
    retailer = browser.new_context(viewport=LAPTOP, locale="fi-FI").new_page()
    _log_in(retailer, live_server, buyer.email, PASSWORD)
    retailer.get_by_role("link", name="Katalogit", exact=True).click()
    retailer.get_by_label("Toimittajan Y-tunnus").fill(supplier_business_id)
    retailer.get_by_label("Nimi").fill("Kauppa Oy:n sopimushinnasto")
    retailer.get_by_role("button", name="Luo katalogi").click()
    expect(retailer.get_by_role("heading", level=1)).to_contain_text("sopimushinnasto")
    private_id = retailer.url.rsplit("/", 1)[-1]
    retailer.get_by_role("button", name="Ota käyttöön").click()
    expect(retailer.locator("#catalog-state")).to_have_text("Otettu käyttöön")

    # When the supplier imports its products from a CSV
    page = browser.new_context(viewport=LAPTOP, locale="fi-FI",
                               accept_downloads=True).new_page()
    _log_in(page, live_server, admin.email, PASSWORD)
    page.get_by_role("link", name="Tuotteet", exact=True).click()
    page.get_by_role("link", name="Tuo tuotteita").first.click()
    csv_file = tmp_path / "laudat.csv"
    csv_file.write_bytes(CSV)
    page.get_by_label("Tuotetiedosto (CSV tai XLSX)").set_input_files(str(csv_file))
    page.get_by_role("button", name="Lue tiedosto").click()
    page.get_by_label("Sarake Nimi tuodaan kenttään").select_option("name.fi")
    page.get_by_role("button", name="Esikatsele muutokset").click()
    expect(page.locator("[data-count=new]")).to_have_text("2")
    page.get_by_role("button", name="Tuo nyt").click()
    expect(page.locator("#import-state")).to_have_text("Valmis")

    # and activates the retailer's private catalog
    page.get_by_role("link", name="Katalogit", exact=True).click()
    page.get_by_role("link", name="Kauppa Oy:n sopimushinnasto").click()
    page.get_by_role("button", name="Aktivoi katalogi").click()
    expect(page.get_by_role("status")).to_contain_text("Katalogin tila muutettiin")

    # and publishes both products into it with a price and a quantity
    page.get_by_role("link", name="Tuotteet", exact=True).click()
    page.get_by_label("Valitse kaikki tältä sivulta").check()
    page.get_by_label("Katalogi", exact=True).last.select_option(private_id)
    page.get_by_label("Tukkuhinta").fill("7,90")
    page.get_by_label("Määrä").fill("6")
    page.get_by_role("button", name="Julkaise katalogiin").click()
    expect(page.get_by_role("status")).to_contain_text("Muutettiin 2 tuotetta")
    page.get_by_role("link", name="Katalogit", exact=True).click()
    page.get_by_role("link", name="Kauppa Oy:n sopimushinnasto").click()
    expect(page.locator("#balances-table")).to_contain_text("LAUTA-1")
    expect(page.locator("#balances-table")).to_contain_text("7.90")
    expect(page.get_by_text("Kauppa Oy", exact=True)).to_be_visible()  # the retailer using it
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / "flow-private-catalog-laptop.png"), full_page=True)

    # Then the retailer sees the prices in its private catalog
    retailer.reload()
    expect(retailer.locator("#catalog-state")).to_have_text("Käytössä")
    expect(retailer.locator("#products-table")).to_contain_text("7.90")
    retailer.context.close()

    # and its shop's order, routed by core, reaches the supplier's queue as a Created shipment
    create_order(session, factories.acting(shop), parse_order({
        "externalId": "KAUPPA-501",
        "rows": [{"externalProductId": "LAUTA-1", "quantity": 2},
                 {"externalProductId": "LAUTA-2", "quantity": 1}],
        "deliveryAddress": {"name": "Maija Meikäläinen", "streetAddress": "Kauppakatu 1",
                            "postalCode": "00100", "postOffice": "Helsinki",
                            "country": "FI"}}))
    session.commit()
    page.get_by_role("link", name="Lähetykset", exact=True).click()
    expect(page.locator("[data-count=Created]")).to_have_text("1")
    page.get_by_role("link", name="KAUPPA-501").click()
    expect(page.locator("#shipment-status")).to_have_text("Katsottu")
    for step in ("Keräilyssä", "Pakataan", "Lähetetään"):
        page.get_by_role("button", name=f"Merkitse: {step}").click()
        expect(page.locator("#shipment-status")).to_have_text(step)
    page.get_by_role("button", name="Vahvista toimitus").click()
    expect(page.locator("#shipment-status")).to_have_text("Toimitettu")
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / "flow-delivered-laptop.png"), full_page=True)

    # and the parcel's label prints as a PDF
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Paketin 1 osoitekortti (PDF)").click()
    label = Path(download_info.value.path()).read_bytes()
    assert label.startswith(b"%PDF")
    page.get_by_role("link", name="Lähetykset", exact=True).click()
    expect(page.locator("[data-count=Delivered]")).to_have_text("1")
    expect(page).to_have_url(re.compile(r"/supplier/shipments"))
    page.context.close()
