"""The sync health of each shop connection on the retailer's connections page
(``connectors.sync.health``), and its retry button (``connectors.sync.retry_failures``, then a
sync run on the worker's queue); and (marked ``browser``) the health at phone width, with a
screenshot (``$GLUE_SCREENSHOT_DIR``, see test_browser.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from connectors.models import ConnectionSync, ExternalReference
from core.models import ShopConnection
from tests.ui.conftest import PASSWORD, log_in, organization, person, post
from tests.ui.test_browser import (  # noqa: F401  (fixtures)
    PHONE,
    _log_in,
    browser,
    live_server,
    no_sideways_scroll,
    screenshots,
)
from webhooks.spine import Spine

KEY = "h" * 32


def _world(session):  # noqa: ANN001, ANN202
    shop = organization(session, "Kauppa Oy", retailer=True)
    admin = person(session, shop, "admin", "retailer", email="buyer@example.test")
    clerk = person(session, shop, "retailer", email="clerk@example.test")
    connection = ShopConnection(key=KEY, retailer_id=shop.id, platform="woocommerce",
                                shop="https://kauppa.example", status="active", settings={})
    quiet = ShopConnection(key="q" * 32, retailer_id=shop.id, platform="shopify",
                           shop="hiljainen.myshopify.com", status="active", settings={})
    session.add_all([connection, quiet])
    session.flush()
    session.add_all([
        ConnectionSync(connection_id=connection.id,
                       last_sync_at=datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
                       last_poll_at=datetime(2026, 11, 26, 9, 45, tzinfo=UTC), listings=12,
                       orders_imported=3, failures=1, last_error="shop answered 503",
                       last_error_at=datetime(2026, 11, 26, 9, 31, tzinfo=UTC),
                       refused={"product:7": {"hash": "x", "kind": "product",
                                              "title": "Kahvimuki",
                                              "error": "SKU already exists in the shop"}}),
        ExternalReference(connection_id=connection.id, kind="fulfilment", glue_id="S-100",
                          shop_id="1001", state="failed",
                          extra={"error": "the order is already completed"}),
    ])
    session.commit()
    return admin, clerk, connection.id


def test_each_connection_shows_its_sync_health(client, session):
    admin, _clerk, _id = _world(session)
    log_in(client, admin)
    page = client.get("/retailer/connections").get_data(as_text=True)
    health = page.split(f'id="health-{KEY}"')[1].split("</section>")[0]
    assert 'data-health="listings">12<' in health
    assert 'data-health="orders">3<' in health
    assert "Viimeisin synkronointi" in health and "Ei vielä" not in health
    assert "Kahvimuki" in health and "SKU already exists in the shop" in health
    assert "the order is already completed" in health and "Toimitus" in health
    assert "shop answered 503" in health
    assert "Yritä virheellisiä uudelleen" in health
    quiet = page.split(f'id="health-{"q" * 32}"')[1].split("</section>")[0]
    assert "Ei vielä" in quiet and 'data-health="no-failures"' in quiet


def test_retry_plans_the_failures_again_and_queues_a_sync(app, client, session, db):
    admin, _clerk, connection_id = _world(session)
    queued = []
    app.extensions["glue.spine"] = Spine(database=db, enqueue=lambda job, ref, eta=None:
                                         queued.append((job, ref)))
    log_in(client, admin)
    response = post(client, f"/retailer/connections/{KEY}/retry",
                    token_from="/retailer/connections", follow_redirects=True)
    assert "Yritettiin uudelleen: 1 tuotetta, 0 tilausta ja 1 toimitusta." in \
        response.get_data(as_text=True)
    assert queued == [("sync", connection_id)]
    with db.transaction() as s:
        assert s.get(ConnectionSync, connection_id).refused == {}
        assert s.scalar(sa.select(ExternalReference.state)) == "pending"


def test_only_admins_retry(client, session):
    _admin, clerk, _id = _world(session)
    log_in(client, clerk)
    page = client.get("/retailer/connections").get_data(as_text=True)
    assert "Kahvimuki" in page and "Yritä virheellisiä uudelleen" not in page
    response = post(client, f"/retailer/connections/{KEY}/retry",
                    token_from="/retailer/connections")
    assert response.status_code == 403


def test_another_retailers_connection_cannot_be_retried(client, session):
    _world(session)
    other = person(session, organization(session, "Toinen Oy", retailer=True), "admin",
                   "retailer", email="other@example.test")
    log_in(client, other)
    response = post(client, f"/retailer/connections/{KEY}/retry",
                    token_from="/retailer/connections")
    assert response.status_code == 404


@pytest.mark.browser
def test_sync_health_fits_a_phone(browser: Browser, live_server: str,  # noqa: F811
                                  session, screenshots: Path) -> None:  # noqa: ANN001, F811
    admin, _clerk, _id = _world(session)
    page = browser.new_context(viewport=PHONE, locale="fi-FI").new_page()
    _log_in(page, live_server, admin.email, PASSWORD)
    page.get_by_role("link", name="Kauppayhteydet", exact=True).click()
    health = page.locator(f"#health-{KEY}")
    expect(health.locator("[data-health=listings]")).to_have_text("12")
    expect(health.get_by_role("button", name="Yritä virheellisiä uudelleen")).to_be_visible()
    no_sideways_scroll(page)
    health.screenshot(path=str(screenshots / "retailer-sync-health-phone.png"))
    page.context.close()
