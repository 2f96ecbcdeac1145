"""A supplier imports a CSV in a real headless Chromium: upload, fix the mapping, preview,
import with the progress bar, and find the products in the list. At laptop and phone widths,
with screenshots of each step (``$GLUE_SCREENSHOT_DIR``, see test_browser.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.ui.conftest import PASSWORD, Person
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

CSV = ("Tuotekoodi;Tuote;EAN;Hinta;Saldo;Väri\n"
       "MUKI-1;Kahvimuki;6417182000010;4,50;10;punainen\n"
       "MUKI-2;Teemuki;;5,00;3;sininen\n"
       "MUKI 3;Rikkinäinen;;1,00;1;\n").encode()


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_supplier_imports_a_csv_with_a_mapping_and_sees_the_products(
        browser: Browser, live_server: str, admin: Person, screenshots: Path,  # noqa: F811
        viewport: dict, tmp_path: Path) -> None:
    name = "laptop" if viewport == LAPTOP else "phone"
    page = browser.new_context(viewport=viewport, locale="fi-FI").new_page()
    _log_in(page, live_server, admin.email, PASSWORD)
    # Given the supplier on the products page
    page.get_by_role("link", name="Tuotteet", exact=True).click()
    page.get_by_role("link", name="Tuo tuotteita").first.click()
    # When it uploads a CSV whose name column Glue cannot guess, and maps it by hand
    csv_file = tmp_path / "tuotteet.csv"
    csv_file.write_bytes(CSV)
    page.get_by_label("Tuotetiedosto (CSV tai XLSX)").set_input_files(str(csv_file))
    page.get_by_role("button", name="Lue tiedosto").click()
    expect(page.get_by_role("heading", name="Sarakkeiden kohdistus")).to_be_visible()
    expect(page.get_by_label("Sarake Tuotekoodi tuodaan kenttään")).to_have_value("externalId")
    expect(page.get_by_label("Sarake Tuote tuodaan kenttään")).to_have_value("")
    page.get_by_label("Sarake Tuote tuodaan kenttään").select_option("name.fi")
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / f"import-mapping-{name}.png"), full_page=True)
    page.get_by_role("button", name="Esikatsele muutokset").click()
    # Then the dry run shows two new products and one row in error, naming the row
    expect(page.get_by_role("heading", name="Tuonnin esikatselu")).to_be_visible()
    expect(page.locator("[data-count=new]")).to_have_text("2")
    expect(page.locator("[data-count=error]")).to_have_text("1")
    expect(page.locator("#import-errors")).to_contain_text("MUKI 3")
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / f"import-preview-{name}.png"), full_page=True)
    # When the import runs, the progress bar reaches 100 %
    page.get_by_role("button", name="Tuo nyt").click()
    expect(page.locator("#import-state")).to_have_text("Valmis")
    expect(page.locator("#import-bar")).to_have_attribute("value", "100")
    page.screenshot(path=str(screenshots / f"import-done-{name}.png"), full_page=True)
    # and the products are listed with their names
    page.get_by_role("link", name="Näytä tuotteet").click()
    table = page.locator("#products-table")
    expect(table).to_contain_text("MUKI-1")
    expect(table).to_contain_text("Kahvimuki")
    expect(table).to_contain_text("Teemuki")
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / f"products-{name}.png"), full_page=True)
    # and "/" jumps to the search, which finds by name
    page.locator("h1").click()
    page.keyboard.press("/")
    expect(page.get_by_label("Haku")).to_be_focused()
    page.keyboard.type("teemuki")
    page.keyboard.press("Enter")
    expect(page.locator("#products-table")).not_to_contain_text("MUKI-1")
    expect(page.locator("#products-table")).to_contain_text("MUKI-2")
    # and the product's page and its catalog's page fit the screen
    page.get_by_role("link", name="MUKI-2").click()
    expect(page.get_by_label("Nimi").first).to_have_value("Teemuki")
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / f"product-{name}.png"), full_page=True)
    page.get_by_role("link", name="Katalogit", exact=True).click()
    page.locator("#catalogs-table a").first.click()
    expect(page.locator("#balances-table")).to_contain_text("MUKI-2")
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / f"catalog-{name}.png"), full_page=True)
    page.context.close()
