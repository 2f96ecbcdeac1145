"""The supplier's shipment queue: tabs, search, paging, the shipment's page and its actions,
the documents, and the refusals; and (marked ``browser``) a supplier working a shipment to
Delivered in headless Chromium at laptop and phone widths, with screenshots
(``$GLUE_SCREENSHOT_DIR``, see test_browser.py)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from core.models import Organization, Product, Shipment
from core.order_input import parse_order
from core.orders import create_order
from tests import factories
from tests.ui.conftest import PASSWORD, Person, csrf_token, log_in, organization, person, post
from tests.ui.test_browser import (  # noqa: F401  (fixtures)
    LAPTOP,
    PHONE,
    _log_in,
    browser,
    live_server,
    no_sideways_scroll,
    screenshots,
)
from web.ui import supplier_shipments

_refs = itertools.count(1)


def _org(session, who):  # noqa: ANN001, ANN202
    return session.get(Organization, who.organization_id)


def order_for(session, supplier, *lines, reference=None, **extra):  # noqa: ANN001, ANN002, ANN003, ANN201
    """A retailer's order of ``lines`` ((sku, quantity), ...) from ``supplier``'s public
    catalog, routed into one Created shipment; committed. Returns the shipment."""
    retailer = factories.retailer(session)
    catalog = factories.public_catalog(session, supplier)
    factories.grant(session, catalog, retailer)
    rows = []
    for sku, quantity in lines or (("SKU-A", 2),):
        product = session.scalar(sa.select(Product).where(
            Product.supplier_id == supplier.id,
            Product.external_id == sku))
        if product is None:
            product = factories.product(session, supplier, sku)
            factories.publish(session, product, catalog, 100)
        rows.append({"externalProductId": sku, "quantity": quantity})
    order = create_order(session, factories.acting(retailer), parse_order({
        "externalId": reference or f"ORD-{next(_refs):04d}", "rows": rows, **extra}))
    shipment = order.shipments[0]
    made = Made(shipment.id, shipment.shipment_id, shipment.created_at, order.retailer_id,
                {r.external_product_id: r.external_id for r in shipment.rows})
    session.commit()
    return made


@dataclass
class Made:
    """A shipment as created (read before the commit: touching the ORM object afterwards would
    open a transaction in the test's session and lock SQLite against the app)."""

    id: int
    shipment_id: str
    created_at: datetime
    retailer_id: int
    rows: dict[str, str]  # SKU -> order row externalId


def _status(session, shipment) -> str:  # noqa: ANN001
    session.expire_all()
    value = session.scalar(sa.select(Shipment.status).where(Shipment.id == shipment.id))
    session.rollback()
    return value


def _references(page: str) -> list[str]:
    if 'id="shipments-table"' not in page:
        return []
    table = page.split('id="shipments-table"')[1].split("</table>")[0]
    return re.findall(r"<code>([^<]+)</code>", table)


def _detail(shipment) -> str:  # noqa: ANN001
    return f"/supplier/shipments/{shipment.shipment_id}"


def _act(client, shipment, action: str, data: dict | None = None):  # noqa: ANN001, ANN202
    return post(client, f"{_detail(shipment)}/{action}", data or {},
                token_from="/supplier/shipments", follow_redirects=True)


DELIVERY = {"deliveryAddress": {"name": "Maija Meikäläinen", "streetAddress": "Kauppakatu 1",
                                "postalCode": "00100", "postOffice": "Helsinki",
                                "country": "FI"}}


# --- the queue -----------------------------------------------------------------------------

def test_queue_lists_only_own_shipments_with_counts_per_status(client, session, admin):
    # given two shipments of the supplier, one of them Picking, and another supplier's
    org = _org(session, admin)
    first = order_for(session, org, reference="MINE-1", **DELIVERY)
    order_for(session, org, reference="MINE-2")
    session.get(Shipment, first.id).status = "Picking"
    other = organization(session, "Kilpailija Oy", supplier=True)
    order_for(session, other, reference="THEIRS-1")
    session.commit()
    log_in(client, admin)
    # when the supplier opens the queue
    page = client.get("/supplier/shipments").get_data(as_text=True)
    # then only its own are listed, newest first, with the recipient, and the tabs count them
    assert _references(page) == ["MINE-2", "MINE-1"]
    assert "Maija Meikäläinen, 00100 Helsinki" in page
    assert 'data-count="all">2<' in page
    assert 'data-count="Created">1<' in page and 'data-count="Picking">1<' in page
    assert 'data-count="Delivered">0<' in page
    # and a tab shows only its status
    page = client.get("/supplier/shipments?status=Picking").get_data(as_text=True)
    assert _references(page) == ["MINE-1"]


def test_search_finds_by_the_start_of_the_order_reference(client, session, admin):
    org = _org(session, admin)
    order_for(session, org, reference="WEB-100")
    order_for(session, org, reference="WEB-200")
    order_for(session, org, reference="SHOP_1")
    log_in(client, admin)
    assert _references(client.get("/supplier/shipments?q=web-1").get_data(as_text=True)) == [
        "WEB-100"]
    assert sorted(_references(client.get("/supplier/shipments?q=WEB").get_data(
        as_text=True))) == ["WEB-100", "WEB-200"]
    # LIKE wildcards are taken literally
    assert _references(client.get("/supplier/shipments?q=%25").get_data(as_text=True)) == []
    assert _references(client.get("/supplier/shipments?q=SHOP_").get_data(as_text=True)) == [
        "SHOP_1"]


def test_paging_walks_forward_with_cursors_and_back_by_page(client, session, admin,
                                                            monkeypatch):
    # given 5 shipments and pages of 2
    monkeypatch.setattr(supplier_shipments, "PAGE_SIZE", 2)
    org = _org(session, admin)
    shipments = [order_for(session, org, reference=f"P-{i}") for i in range(5)]
    base = shipments[0].created_at
    for i, sh in enumerate(shipments):  # distinct creation times, P-4 newest
        session.get(Shipment, sh.id).created_at = base + timedelta(minutes=i)
    session.commit()
    log_in(client, admin)
    seen, url, pages = [], "/supplier/shipments", []
    while url:
        page = client.get(url).get_data(as_text=True)
        pages.append(page)
        seen += _references(page)
        match = re.search(r'href="([^"]+)" rel="next"', page)
        url = match.group(1).replace("&amp;", "&") if match else None
    # then every shipment is seen once, newest first
    assert seen == ["P-4", "P-3", "P-2", "P-1", "P-0"]
    assert len(pages) == 3
    # and the last page leads back to the page before it
    back = re.search(r'href="([^"]+)" rel="prev"', pages[-1]).group(1).replace("&amp;", "&")
    assert _references(client.get(back).get_data(as_text=True)) == ["P-2", "P-1"]
    # a forged cursor is refused
    assert client.get("/supplier/shipments?after=garbage").status_code == 400


# --- one shipment --------------------------------------------------------------------------

def test_opening_a_created_shipment_shows_it_and_marks_it_viewed(client, session, admin):
    org = _org(session, admin)
    shipment = order_for(session, org, ("SKU-A", 2), ("SKU-B", 1), reference="OPEN-1",
                         **DELIVERY, pickupPointId="PUP-77",
                         comments=[{"value": "Soita ovikello", "type": "passThrough"},
                                   {"value": "Paketoi huolella", "type": "pickingNote"}])
    log_in(client, admin)
    page = client.get(_detail(shipment)).get_data(as_text=True)
    assert "OPEN-1" in page and "Kauppakatu 1" in page and "PUP-77" in page
    assert "SKU-A" in page and "SKU-B" in page
    assert "Soita ovikello" in page and "Paketoi huolella" in page
    assert _status(session, shipment) == "Viewed"
    history = page.split('id="history"')[1].split("</table>")[0]
    assert 'data-status="Created"' in history
    # opening it again changes nothing
    client.get(_detail(shipment))
    assert _status(session, shipment) == "Viewed"


def test_supplier_works_a_shipment_through_picking_packing_and_shipping(client, session, admin):
    shipment = order_for(session, _org(session, admin))
    log_in(client, admin)
    client.get(_detail(shipment))
    for step in ("Picking", "Packing", "Shipping"):
        response = _act(client, shipment, "status", {"status": step})
        assert response.status_code == 200
        assert _status(session, shipment) == step


def test_an_illegal_step_is_a_message_not_an_error(client, session, admin):
    shipment = order_for(session, _org(session, admin))
    session.get(Shipment, shipment.id).status = "Shipping"
    session.commit()
    log_in(client, admin)
    response = _act(client, shipment, "status", {"status": "Picking"})
    assert response.status_code == 200
    assert "ei ole enää mahdollinen" in response.get_data(as_text=True)
    assert _status(session, shipment) == "Shipping"
    # and a status that is no work step is a bad request
    assert post(client, f"{_detail(shipment)}/status", {"status": "Delivered"},
                token_from="/supplier/shipments").status_code == 400


def test_confirm_with_quantities_and_own_tracking_codes(client, session, admin):
    shipment = order_for(session, _org(session, admin), ("SKU-A", 3), ("SKU-B", 1))
    rows = shipment.rows
    log_in(client, admin)
    response = _act(client, shipment, "confirm", {
        f"delivered-{rows['SKU-A']}": "2", f"delivered-{rows['SKU-B']}": "0",
        "tracking_codes": "JJFI123\nJJFI456"})
    assert "Toimitus vahvistettiin." in response.get_data(as_text=True)
    session.expire_all()
    stored = session.get(Shipment, shipment.id)
    assert stored.status == "Delivered"
    assert {r.external_product_id: r.delivered_quantity for r in stored.rows} == {
        "SKU-A": 2, "SKU-B": 0}
    assert stored.parcels[0].tracking_codes == ["JJFI123", "JJFI456"]
    session.rollback()


def test_confirm_refuses_too_many_or_missing_quantities(client, session, admin):
    shipment = order_for(session, _org(session, admin), ("SKU-A", 3))
    row = shipment.rows["SKU-A"]
    log_in(client, admin)
    page = _act(client, shipment, "confirm", {f"delivered-{row}": "4"}).get_data(as_text=True)
    assert "Rivi 1: toimitettavissa enintään 3." in page
    page = _act(client, shipment, "confirm", {}).get_data(as_text=True)
    assert "Anna jokaisen rivin toimitettu määrä" in page
    # nothing was confirmed (the shipment is only Viewed, by the page the refusal showed)
    assert _status(session, shipment) == "Viewed"


def test_fast_confirm_delivers_everything_and_the_label_is_a_pdf(client, session, admin):
    shipment = order_for(session, _org(session, admin), ("SKU-A", 2))
    log_in(client, admin)
    # before confirming there is no label: a message, not an error
    page = client.get(f"{_detail(shipment)}/parcels/1/label.pdf", follow_redirects=True)
    assert page.status_code == 200 and "flash error" in page.get_data(as_text=True)
    _act(client, shipment, "fast-confirm")
    assert _status(session, shipment) == "Delivered"
    page = client.get(_detail(shipment)).get_data(as_text=True)
    assert f"{_detail(shipment)}/parcels/1/label.pdf" in page
    label = client.get(f"{_detail(shipment)}/parcels/1/label.pdf")
    assert label.mimetype == "application/pdf" and label.data.startswith(b"%PDF")
    # confirming again is refused with a message
    response = _act(client, shipment, "fast-confirm")
    assert response.status_code == 200 and "flash error" in response.get_data(as_text=True)


def test_cancel_needs_a_reason_and_is_shown(client, session, admin):
    shipment = order_for(session, _org(session, admin))
    log_in(client, admin)
    page = _act(client, shipment, "cancel", {"reason": "  "}).get_data(as_text=True)
    assert "Kerro peruutuksen syy." in page and _status(session, shipment) == "Viewed"
    page = _act(client, shipment, "cancel", {"reason": "Tuote loppui"}).get_data(as_text=True)
    assert _status(session, shipment) == "Cancelled"
    assert "Tuote loppui" in page
    assert 'id="confirm-form"' not in page


def test_picking_note_is_added_to_the_order(client, session, admin):
    shipment = order_for(session, _org(session, admin))
    log_in(client, admin)
    page = _act(client, shipment, "notes", {"note": "Hylly B3"}).get_data(as_text=True)
    assert "Hylly B3" in page and "Keräilyohje" in page
    page = _act(client, shipment, "notes", {"note": ""}).get_data(as_text=True)
    assert "Kirjoita ensin huomautus." in page


# --- documents -----------------------------------------------------------------------------

def test_packing_slip_bulk_print_and_manifest_are_pdfs(client, session, admin):
    org = _org(session, admin)
    first = order_for(session, org)
    second = order_for(session, org)
    log_in(client, admin)
    slip = client.get(f"{_detail(first)}/packing-slip.pdf")
    assert slip.mimetype == "application/pdf" and slip.data.startswith(b"%PDF")
    _act(client, first, "fast-confirm")
    _act(client, second, "fast-confirm")
    for kind in ("labels", "slips", "bundle"):
        response = post(client, "/supplier/shipments/print", {
            "kind": kind, "shipment": [first.shipment_id, second.shipment_id]},
            token_from="/supplier/shipments")
        assert response.mimetype == "application/pdf", kind
        assert response.data.startswith(b"%PDF")
    manifest = client.get("/supplier/shipments/manifest.pdf")
    assert manifest.mimetype == "application/pdf" and manifest.data.startswith(b"%PDF")
    assert client.get("/supplier/shipments/manifest.pdf?day=yesterday").status_code == 400
    # printing nothing is a message
    page = post(client, "/supplier/shipments/print", {"kind": "labels"},
                token_from="/supplier/shipments", follow_redirects=True)
    assert "Valitse vähintään yksi lähetys." in page.get_data(as_text=True)


# --- refusals ------------------------------------------------------------------------------

def test_another_suppliers_shipment_is_not_found(client, session, admin):
    other = organization(session, "Kilpailija Oy", supplier=True)
    theirs = order_for(session, other)
    log_in(client, admin)
    assert client.get(_detail(theirs)).status_code == 404
    for action, data in (("status", {"status": "Picking"}), ("fast-confirm", {}),
                         ("cancel", {"reason": "x"}), ("notes", {"note": "x"}),
                         ("confirm", {})):
        response = post(client, f"{_detail(theirs)}/{action}", data,
                        token_from="/supplier/shipments")
        assert response.status_code == 404, action
    assert client.get(f"{_detail(theirs)}/packing-slip.pdf").status_code == 404
    assert client.get(f"{_detail(theirs)}/parcels/1/label.pdf").status_code == 404
    assert post(client, "/supplier/shipments/print", {
        "kind": "slips", "shipment": theirs.shipment_id},
        token_from="/supplier/shipments").status_code == 404
    assert _status(session, theirs) == "Created"


def test_the_retailer_of_the_order_gets_no_supplier_pages(client, session, admin):
    # given the retailer whose order it is, logged in
    shipment = order_for(session, _org(session, admin))
    retailer = session.get(Organization, shipment.retailer_id)
    buyer = person(session, retailer, "retailer", email="buyer@example.test")
    log_in(client, buyer)
    for path in ("/supplier/shipments", _detail(shipment), f"{_detail(shipment)}/packing-slip.pdf",
                 "/supplier/shipments/manifest.pdf"):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client, "/account")
    assert client.post(f"{_detail(shipment)}/fast-confirm",
                       data={"csrf_token": token}).status_code == 403
    assert _status(session, shipment) == "Created"


def test_a_post_without_the_csrf_token_is_refused(client, session, admin):
    shipment = order_for(session, _org(session, admin))
    log_in(client, admin)
    client.get(_detail(shipment))
    assert client.post(f"{_detail(shipment)}/fast-confirm").status_code == 400
    assert client.post("/supplier/shipments/print", data={"kind": "labels"}).status_code == 400
    assert _status(session, shipment) == "Viewed"


def test_anonymous_visitors_are_sent_to_log_in(client, session, admin):
    response = client.get("/supplier/shipments")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- in a browser --------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_supplier_works_a_shipment_to_delivered_and_downloads_its_label(
        browser: Browser, live_server: str, admin: Person, screenshots: Path,  # noqa: F811
        viewport: dict, session) -> None:  # noqa: ANN001
    name = "laptop" if viewport == LAPTOP else "phone"
    supplier = session.get(Organization, admin.organization_id)
    order_for(session, supplier, ("MUKI-1", 2), ("MUKI-2", 1), reference="WEB-1001",
              pickupPointId="PUP-12", **DELIVERY,
              comments=[{"value": "Jätä oven taakse", "type": "passThrough"}])
    order_for(session, supplier, ("MUKI-1", 1), reference="WEB-1002")
    page = browser.new_context(viewport=viewport, locale="fi-FI",
                               accept_downloads=True).new_page()
    _log_in(page, live_server, admin.email, PASSWORD)
    # Given the supplier's queue, with both shipments waiting in Created
    page.get_by_role("link", name="Lähetykset", exact=True).click()
    expect(page.locator("[data-count=Created]")).to_have_text("2")
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / f"shipments-queue-{name}.png"), full_page=True)
    # When it opens one, it becomes Viewed and shows the consignment
    page.get_by_role("link", name="WEB-1001").click()
    expect(page.get_by_role("heading", name="Tilaus WEB-1001")).to_be_visible()
    expect(page.locator("#shipment-status")).to_have_text("Katsottu")
    expect(page.get_by_text("Jätä oven taakse")).to_be_visible()
    expect(page.get_by_text("PUP-12")).to_be_visible()
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / f"shipment-detail-{name}.png"), full_page=True)
    # and it works it step by step
    for step, label in (("Keräilyssä", "Keräilyssä"), ("Pakataan", "Pakataan"),
                        ("Lähetetään", "Lähetetään")):
        page.get_by_role("button", name=f"Merkitse: {step}").click()
        expect(page.locator("#shipment-status")).to_have_text(label)
    # and confirms the delivery, sending one row short
    page.get_by_label("Rivin 2 toimitettu määrä").fill("0")
    page.get_by_role("button", name="Vahvista toimitus").click()
    expect(page.locator("#shipment-status")).to_have_text("Toimitettu")
    expect(page.get_by_role("status")).to_have_text("Toimitus vahvistettiin.")
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / f"shipment-delivered-{name}.png"), full_page=True)
    # Then the label of its parcel downloads as a PDF
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Paketin 1 osoitekortti (PDF)").click()
    path = download_info.value.path()
    assert Path(path).read_bytes().startswith(b"%PDF")
    # and the queue counts it as Delivered
    page.get_by_role("link", name="Lähetykset", exact=True).click()
    expect(page.locator("[data-count=Delivered]")).to_have_text("1")
    expect(page.locator("[data-count=Created]")).to_have_text("1")
