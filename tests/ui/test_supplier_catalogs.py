"""The supplier's catalogs (settings, lifecycle, bulk price and stock edits, retailers) and
activation requests (accept, reject, revoke)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from core.models import Balance, Catalog, CatalogAccess, Organization
from tests import factories
from tests.ui.conftest import log_in, organization, person, post
from web.ui.supplier_catalogs import adjusted


def _setup(session, admin):  # noqa: ANN001, ANN202
    """The admin's supplier with two published products, a retailer with active access to the
    public catalog, and a private catalog of another retailer taken into use."""
    org = session.get(Organization, admin.organization_id)
    public = factories.public_catalog(session, org)
    shop = organization(session, "Kauppa Oy", retailer=True)
    other_shop = organization(session, "Toinen Kauppa Oy", retailer=True)
    factories.grant(session, public, shop)
    private = factories.private_catalog(session, org, other_shop, state="in_use")
    balances = [factories.publish(session, factories.product(session, org, f"C-{i}"), public,
                                  quantity=10, price="10.00") for i in range(2)]
    ids = {"public": public.external_id, "private": private.external_id,
           "products": [b.product_id for b in balances], "shop": shop.id,
           "other_shop": other_shop.id}
    session.commit()
    return ids


def _balances(db):  # noqa: ANN001, ANN202
    with db.transaction() as s:
        return [(b.wholesale_price, b.quantity)
                for b in s.scalars(sa.select(Balance).order_by(Balance.product_id))]


def test_adjusting_by_set_percent_and_amount():
    assert adjusted(Decimal("10"), "set", Decimal("7")) == Decimal("7")
    assert adjusted(Decimal("10"), "percent", Decimal("-15")) == Decimal("8.5")
    assert adjusted(3, "amount", Decimal("-5")) == Decimal("-2")
    assert adjusted(None, "percent", Decimal("10")) is None


def test_catalogs_page_lists_public_and_private_catalogs_with_their_retailers(
        client, session, admin):
    ids = _setup(session, admin)
    log_in(client, admin)
    page = client.get("/supplier/catalogs").get_data(as_text=True)
    assert ids["public"] in page and ids["private"] in page
    assert "Kauppa Oy" in page and "Yksityinen: Toinen Kauppa Oy" in page
    assert "Otettu käyttöön" in page


def test_catalog_page_shows_its_products_prices_and_users(client, session, admin):
    ids = _setup(session, admin)
    log_in(client, admin)
    page = client.get(f"/supplier/catalogs/{ids['public']}").get_data(as_text=True)
    assert "C-0" in page and "C-1" in page and "10.00 EUR" in page
    assert "<li>Kauppa Oy</li>" in page


def test_bulk_price_edit_by_percent_rounds_to_cents(client, db, session, admin):
    ids = _setup(session, admin)
    log_in(client, admin)
    page = f"/supplier/catalogs/{ids['public']}"
    post(client, f"{page}/bulk", {"product": [str(ids["products"][0])], "action": "edit",
                                  "field": "price", "mode": "percent", "value": "12,345"},
         token_from=page)
    assert _balances(db) == [(Decimal("11.23"), 10), (Decimal("10.00"), 10)]


def test_bulk_stock_edit_by_amount_stops_at_zero_and_set_works(client, db, session, admin):
    ids = _setup(session, admin)
    log_in(client, admin)
    page = f"/supplier/catalogs/{ids['public']}"
    everything = [str(p) for p in ids["products"]]
    post(client, f"{page}/bulk", {"product": everything, "action": "edit", "field": "quantity",
                                  "mode": "amount", "value": "-15"}, token_from=page)
    assert [q for _p, q in _balances(db)] == [0, 0]
    post(client, f"{page}/bulk", {"product": everything, "action": "edit", "field": "price",
                                  "mode": "set", "value": "4.5"}, token_from=page)
    assert [p for p, _q in _balances(db)] == [Decimal("4.50"), Decimal("4.50")]


def test_a_price_below_zero_is_refused_for_that_row(client, db, session, admin):
    ids = _setup(session, admin)
    log_in(client, admin)
    page = f"/supplier/catalogs/{ids['public']}"
    post(client, f"{page}/bulk", {"product": [str(ids["products"][0])], "action": "edit",
                                  "field": "price", "mode": "amount", "value": "-20"},
         token_from=page)
    assert _balances(db)[0] == (Decimal("10.00"), 10)
    assert "Hinta puuttuisi tai olisi alle nollan." in client.get(page).get_data(as_text=True)


def test_bulk_take_off_the_catalog(client, db, session, admin):
    ids = _setup(session, admin)
    log_in(client, admin)
    page = f"/supplier/catalogs/{ids['public']}"
    post(client, f"{page}/bulk", {"product": [str(ids["products"][1])], "action": "remove"},
         token_from=page)
    assert len(_balances(db)) == 1


def test_settings_are_saved(client, db, session, admin):
    ids = _setup(session, admin)
    log_in(client, admin)
    page = f"/supplier/catalogs/{ids['public']}"
    post(client, f"{page}/settings", {"name": "Tukkuluettelo", "priority": "5",
                                      "back_order_allowed": "1"}, token_from=page)
    with db.transaction() as s:
        catalog = s.scalar(sa.select(Catalog).where(Catalog.external_id == ids["public"]))
        assert (catalog.name, catalog.priority, catalog.back_order_allowed) == (
            "Tukkuluettelo", 5, True)
    post(client, f"{page}/settings", {"name": "", "priority": "x"}, token_from=page)
    assert "Anna kokonaisluku." in client.get(page).get_data(as_text=True)


def test_the_supplier_activates_a_private_catalog_taken_into_use(client, db, session, admin):
    ids = _setup(session, admin)
    log_in(client, admin)
    page = f"/supplier/catalogs/{ids['private']}"
    assert "Aktivoi katalogi" in client.get(page).get_data(as_text=True)
    post(client, f"{page}/state", {"action": "activate"}, token_from=page)
    post(client, f"{page}/state", {"action": "deactivate"}, token_from=page)
    with db.transaction() as s:
        catalog = s.scalar(sa.select(Catalog).where(Catalog.external_id == ids["private"]))
        assert (catalog.state, catalog.deactivated_by) == ("deactivated", "supplier")
    # a step the state does not allow is refused with a message
    post(client, f"{page}/state", {"action": "activate"}, token_from=page)
    assert 'class="flash error"' in client.get(page).get_data(as_text=True)


def test_another_suppliers_catalog_is_not_found(client, session, admin):
    other = organization(session, "Kilpailija Oy", supplier=True)
    theirs = factories.public_catalog(session, other).external_id
    session.commit()
    log_in(client, admin)
    assert client.get(f"/supplier/catalogs/{theirs}").status_code == 404
    for action in ("settings", "state", "bulk"):
        response = post(client, f"/supplier/catalogs/{theirs}/{action}",
                        {"action": "activate", "product": ["1"], "field": "price",
                         "mode": "set", "value": "1", "name": "x"},
                        token_from="/supplier/catalogs")
        assert response.status_code == 404


def test_an_organization_with_both_roles_cannot_open_another_suppliers_public_catalog(
        client, session, admin):
    org = session.get(Organization, admin.organization_id)
    org.is_retailer = True
    both = person(session, org, "supplier", "retailer", email="both@example.test")
    other = organization(session, "Kilpailija Oy", supplier=True)
    theirs = factories.public_catalog(session, other).external_id
    session.commit()
    log_in(client, both)
    assert client.get(f"/supplier/catalogs/{theirs}").status_code == 404


# --- activation requests -------------------------------------------------------------------

def _request(session, admin, state="requested"):  # noqa: ANN001, ANN202
    org = session.get(Organization, admin.organization_id)
    shop = organization(session, "Pyytäjä Oy", retailer=True)
    access = factories.grant(session, factories.public_catalog(session, org), shop, state=state)
    access.request_message = "Myymme teidän tuotteitanne"
    session.commit()
    return access.id


def _access(db, access_id):  # noqa: ANN001, ANN202
    with db.transaction() as s:
        access = s.get(CatalogAccess, access_id)
        return access.state, access.response_message


def test_requests_waiting_are_listed_with_their_message(client, session, admin):
    _request(session, admin)
    log_in(client, admin)
    page = client.get("/supplier/activation-requests").get_data(as_text=True)
    assert "Pyytäjä Oy" in page and "Myymme teidän tuotteitanne" in page
    assert 'value="accept"' in page


def test_accept_with_a_message(client, db, session, admin):
    access_id = _request(session, admin)
    log_in(client, admin)
    post(client, f"/supplier/activation-requests/{access_id}/decide",
         {"decision": "accept", "message": "Tervetuloa"},
         token_from="/supplier/activation-requests")
    assert _access(db, access_id) == ("active", "Tervetuloa")
    assert "Pyyntö hyväksyttiin." in client.get("/supplier/activation-requests").get_data(
        as_text=True)


def test_reject_with_a_message_and_revoke(client, db, session, admin):
    rejected = _request(session, admin)
    log_in(client, admin)
    post(client, f"/supplier/activation-requests/{rejected}/decide",
         {"decision": "reject", "message": "Ei nyt"}, token_from="/supplier/activation-requests")
    assert _access(db, rejected) == ("rejected", "Ei nyt")
    # deciding twice is refused with a message, not an error page
    response = post(client, f"/supplier/activation-requests/{rejected}/decide",
                    {"decision": "accept"}, token_from="/supplier/activation-requests")
    assert response.status_code == 302 and _access(db, rejected)[0] == "rejected"


def test_revoke_an_active_access(client, db, session, admin):
    access_id = _request(session, admin, state="active")
    log_in(client, admin)
    post(client, f"/supplier/activation-requests/{access_id}/revoke",
         {"message": "Sopimus päättyi"}, token_from="/supplier/activation-requests")
    assert _access(db, access_id) == ("revoked", "Sopimus päättyi")


def test_another_suppliers_request_cannot_be_decided(client, db, session, admin):
    other = organization(session, "Kilpailija Oy", supplier=True)
    shop = organization(session, "Kauppa Oy", retailer=True)
    access = factories.grant(session, factories.public_catalog(session, other), shop,
                             state="requested")
    session.commit()
    log_in(client, admin)
    assert "Kauppa Oy" not in client.get("/supplier/activation-requests").get_data(as_text=True)
    response = post(client, f"/supplier/activation-requests/{access.id}/decide",
                    {"decision": "accept"}, token_from="/supplier/activation-requests")
    assert response.status_code == 404
    assert post(client, f"/supplier/activation-requests/{access.id}/revoke",
                token_from="/supplier/activation-requests").status_code == 404
    assert _access(db, access.id)[0] == "requested"


def test_a_retailer_is_refused_and_csrf_is_checked(client, session, admin):
    access_id = _request(session, admin)
    shop = organization(session, "Kauppa Oy", retailer=True)
    retailer = person(session, shop, "retailer", email="shop@example.test")
    log_in(client, retailer)
    for path in ("/supplier/catalogs", "/supplier/activation-requests"):
        assert client.get(path).status_code == 403
    assert post(client, f"/supplier/activation-requests/{access_id}/decide",
                {"decision": "accept"}, token_from="/").status_code == 403
    supplier = client.application.test_client()
    log_in(supplier, admin)
    assert supplier.post(f"/supplier/activation-requests/{access_id}/decide",
                         data={"decision": "accept"}).status_code == 400
    assert supplier.post("/supplier/catalogs/x/bulk", data={"csrf_token": "no"}
                         ).status_code == 400
