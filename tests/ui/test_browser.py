"""The UI in a real headless Chromium (Debian's ``chromium`` package, driven by Playwright).

The app is served by waitress on a free loopback port in a thread, as ``glue serve`` does.
Screenshots go to ``$GLUE_SCREENSHOT_DIR`` when it is set (for the README), else to a temporary
folder.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import waitress
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.ui.conftest import PASSWORD, Person
from web.app import create_app

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def live_server(db, ui_settings) -> Iterator[str]:  # noqa: ANN001
    app = create_app(database=db, settings=ui_settings)
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("GLUE_SCREENSHOT_DIR") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def no_sideways_scroll(page: Page, what: str = "") -> None:
    """Nothing may stick out sideways: a phone would have to scroll horizontally.

    A click that navigates returns before the next page has a document, so wait for
    the load and measure again if the page changed underneath the measurement.
    """
    for attempt in range(5):
        page.wait_for_load_state("load")
        try:
            overflow = page.evaluate(
                "document.documentElement"
                " ? document.documentElement.scrollWidth - window.innerWidth : null")
        except PlaywrightError:
            if attempt == 4:
                raise
            continue
        if overflow is not None:
            break
        page.wait_for_timeout(50)
    assert overflow is not None, f"{page.url} never got a document"
    assert overflow <= 0, f"{what or page.url} scrolls sideways by {overflow}px"


def _log_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Sähköpostiosoite").fill(email)
    page.get_by_label("Salasana").fill(password)
    page.get_by_role("button", name="Kirjaudu", exact=True).click()


def test_admin_invites_a_user_who_accepts_logs_out_and_in_again(
        browser: Browser, live_server: str, admin: Person, screenshots: Path) -> None:
    # Given an admin logged in
    admin_page = browser.new_context(viewport=LAPTOP, locale="fi-FI").new_page()
    _log_in(admin_page, live_server, admin.email, PASSWORD)
    expect(admin_page.get_by_role("heading", name="Toimittaja Oy")).to_be_visible()

    # When the admin invites a supplier user
    admin_page.get_by_role("link", name="Kutsut").click()
    admin_page.get_by_label("Sähköpostiosoite").fill("maija@example.test")
    admin_page.get_by_label("Toimittaja").check()
    admin_page.get_by_role("button", name="Lähetä kutsu").click()
    expect(admin_page.get_by_role("status")).to_contain_text("maija@example.test")

    # and the invitee opens the link from the mail (stored: no SMTP configured)
    admin_page.goto(f"{live_server}/dev/mail")
    link = admin_page.locator("a[href*='/invitation/']").first.get_attribute("href")
    invitee = browser.new_context(viewport=PHONE, locale="fi-FI").new_page()
    invitee.goto(link.replace("http://glue.test", live_server))
    expect(invitee.get_by_role("heading", name="Liity organisaatioon Toimittaja Oy")) \
        .to_be_visible()
    invitee.get_by_label("Nimesi").fill("Maija Meikäläinen")
    invitee.get_by_label("Valitse salasana").fill("maijan salasana")
    invitee.get_by_label("Salasana uudelleen").fill("maijan salasana")
    invitee.get_by_role("button", name="Hyväksy ja kirjaudu").click()

    # Then the invitee is logged in to the organization, and can log out and in again
    expect(invitee.get_by_role("status")).to_contain_text("Tervetuloa")
    expect(invitee.get_by_role("heading", name="Toimittaja Oy")).to_be_visible()
    invitee.get_by_role("button", name="Kirjaudu ulos").click()
    expect(invitee.get_by_role("heading", name="Kirjaudu Glueen")).to_be_visible()
    invitee.goto(f"{live_server}/")
    expect(invitee).to_have_url(re.compile(r"/login\?next=/"))
    _log_in(invitee, live_server, "maija@example.test", "maijan salasana")
    expect(invitee.get_by_role("heading", name="Toimittaja Oy")).to_be_visible()

    # and the admin sees the new member
    admin_page.goto(f"{live_server}/admin/members")
    expect(admin_page.get_by_role("cell", name="maija@example.test")).to_be_visible()
    admin_page.context.close()
    invitee.context.close()


def test_keyboard_only_login_with_visible_focus(browser: Browser, live_server: str,
                                                admin: Person) -> None:
    page = browser.new_context(viewport=LAPTOP, locale="en-GB").new_page()
    page.goto(f"{live_server}/login")
    email = page.get_by_label("E-mail address")
    expect(email).to_be_focused()  # the login form takes the focus on arrival
    page.keyboard.type(admin.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Toimittaja Oy")).to_be_visible()
    # On every other page the first Tab reaches the skip link, which jumps past the menus.
    # (The page is Finnish now: the user's own language setting wins over the browser's.)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Siirry sisältöön")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.context.close()


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_screenshots_of_login_and_members_pages(browser: Browser, live_server: str,
                                                admin: Person, screenshots: Path,
                                                viewport: dict) -> None:
    name = "laptop" if viewport == LAPTOP else "phone"
    page = browser.new_context(viewport=viewport, locale="fi-FI").new_page()
    page.goto(f"{live_server}/login")
    page.screenshot(path=str(screenshots / f"login-{name}.png"), full_page=True)
    _log_in(page, live_server, admin.email, PASSWORD)
    page.goto(f"{live_server}/admin/members")
    expect(page.get_by_role("heading", name="Jäsenet")).to_be_visible()
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / f"members-{name}.png"), full_page=True)
    page.get_by_role("link", name="API-tunnukset").click()
    page.get_by_label("Nimi").fill("Varasto ERP")
    page.get_by_role("button", name="Luo tunnus").click()
    expect(page.get_by_role("heading", name="Tunnus luotu: kopioi salaisuus nyt")).to_be_visible()
    page.screenshot(path=str(screenshots / f"api-accounts-{name}.png"), full_page=True)
    for path, shot in (("/admin/invitations", "invitations"), ("/admin/profile", "profile"),
                       ("/", "home")):
        page.goto(f"{live_server}{path}")
        no_sideways_scroll(page)
        page.screenshot(path=str(screenshots / f"{shot}-{name}.png"), full_page=True)
    page.context.close()
