"""The retailer's supplier directory, activation requests, private catalogs and catalog pages,
and the rule that no page shows a public catalog's prices or stock without active access."""

from __future__ import annotations

import sqlalchemy as sa

from core.models import Catalog, CatalogAccess, Organization
from tests import factories
from tests.ui.conftest import log_in, organization, person
from tests.ui.conftest import post as _post

SECRET_PRICE = "987.65"
SECRET_QUANTITY = 4321


def post(client, path, data=None, **kwargs):  # noqa: ANN001, ANN003, ANN201
    """POST with the CSRF token of a logged-in page (home's logout form carries it)."""
    return _post(client, path, data, token_from="/", **kwargs)


def _world(session):  # noqa: ANN001, ANN202
    """A retailer (with its admin) and two suppliers: 'Avoin Oy' whose public catalog the
    retailer has active access to, and 'Suljettu Oy' without access, each with one product
    priced and stocked with numbers that appear nowhere else."""
    shop = organization(session, "Kauppa Oy", retailer=True)
    buyer = person(session, shop, "admin", "retailer", email="buyer@example.test")
    open_sup = organization(session, "Avoin Oy", supplier=True)
    closed_sup = organization(session, "Suljettu Oy", supplier=True)
    closed_sup.description = "Laadukkaita mukeja"
    closed_sup.ships_to = ["FI", "SE"]
    open_cat = factories.public_catalog(session, open_sup)
    closed_cat = factories.public_catalog(session, closed_sup)
    factories.grant(session, open_cat, shop)
    factories.publish(session, factories.product(session, open_sup, "AUKI-1"), open_cat,
                      quantity=77, price="12.34")
    factories.publish(session, factories.product(session, closed_sup, "KIINNI-1"), closed_cat,
                      quantity=SECRET_QUANTITY, price=SECRET_PRICE)
    session.commit()
    return {"buyer": buyer, "shop": shop.id, "open": open_cat.external_id,
            "closed": closed_cat.external_id, "closed_business_id": closed_sup.business_id,
            "open_business_id": open_sup.business_id, "closed_supplier": closed_sup.id}


def _assert_no_secret(html: str) -> None:
    assert SECRET_PRICE not in html and "987,65" not in html
    assert str(SECRET_QUANTITY) not in html


def test_directory_lists_suppliers_with_profile_and_access_state(client, session):
    w = _world(session)
    log_in(client, w["buyer"])
    page = client.get("/retailer/suppliers").get_data(as_text=True)
    assert "Avoin Oy" in page and "Suljettu Oy" in page
    assert "Laadukkaita mukeja" in page and "FI, SE" in page
    assert "Käytössä" in page and "Ei pyydetty" in page


def test_public_catalog_without_access_shows_products_but_no_price_or_quantity(client, session):
    w = _world(session)
    log_in(client, w["buyer"])
    page = client.get(f"/retailer/catalogs/{w['closed']}").get_data(as_text=True)
    assert "KIINNI-1" in page and "Piilotettu" in page
    _assert_no_secret(page)


def test_catalog_with_active_access_shows_prices_and_quantities(client, session):
    w = _world(session)
    log_in(client, w["buyer"])
    page = client.get(f"/retailer/catalogs/{w['open']}").get_data(as_text=True)
    assert "AUKI-1" in page and "12.34" in page and ">77<" in page


def test_no_retailer_page_shows_a_price_or_quantity_of_a_catalog_without_access(
        client, session):
    w = _world(session)
    log_in(client, w["buyer"])
    pages = ["/retailer/suppliers", f"/retailer/suppliers/{w['closed_business_id']}",
             f"/retailer/suppliers/{w['open_business_id']}", "/retailer/catalogs",
             f"/retailer/catalogs/{w['closed']}", f"/retailer/catalogs/{w['open']}",
             "/retailer/orders", "/retailer/connections", "/"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        _assert_no_secret(response.get_data(as_text=True))


def test_requesting_activation_with_a_message_shows_the_request_state(client, session, db):
    w = _world(session)
    log_in(client, w["buyer"])
    response = post(client, f"/retailer/suppliers/{w['closed_business_id']}/request",
                    {"message": "Myymme mukeja verkossa"})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Odottaa päätöstä" in page and "Myymme mukeja verkossa" in page
    assert "Pyydä aktivointia" not in page.split("</nav>", 1)[1]
    with db.transaction() as s:
        access = s.scalar(sa.select(CatalogAccess).where(CatalogAccess.retailer_id == w["shop"],
                                                         CatalogAccess.state == "requested"))
        assert access.request_message == "Myymme mukeja verkossa"


def test_a_rejected_request_shows_the_answer_and_can_be_asked_again(client, session, db):
    w = _world(session)
    closed = session.scalar(sa.select(Catalog).where(Catalog.external_id == w["closed"]))
    access = factories.grant(session, closed, session.get(Organization, w["shop"]),
                             state="rejected")
    access.response_message = "Emme toimita Ahvenanmaalle"
    session.commit()
    log_in(client, w["buyer"])
    page = client.get(f"/retailer/suppliers/{w['closed_business_id']}").get_data(as_text=True)
    assert "Hylätty" in page and "Emme toimita Ahvenanmaalle" in page
    assert "Pyydä aktivointia uudelleen" in page
    post(client, f"/retailer/suppliers/{w['closed_business_id']}/request", {"message": ""})
    with db.transaction() as s:
        assert s.get(CatalogAccess, access.id).state == "requested"


def test_requesting_again_while_pending_is_refused_with_a_message(client, session):
    w = _world(session)
    log_in(client, w["buyer"])
    path = f"/retailer/suppliers/{w['closed_business_id']}/request"
    post(client, path, {"message": "1"})
    page = post(client, path, {"message": "2"}, follow_redirects=True).get_data(as_text=True)
    assert 'class="flash error"' in page


def test_private_catalog_is_created_taken_into_use_and_deactivated(client, session, db):
    w = _world(session)
    log_in(client, w["buyer"])
    # when the retailer names a supplier by business ID
    response = post(client, "/retailer/catalogs", {
        "supplier_business_id": w["closed_business_id"], "name": "Omat mukit",
        "currency": "EUR"})
    assert response.status_code == 302
    external_id = response.location.rsplit("/", 1)[1]
    page = client.get(response.location).get_data(as_text=True)
    assert "Omat mukit" in page and "Luotu" in page and "Ota käyttöön" in page
    # then it takes it into use
    post(client, f"/retailer/catalogs/{external_id}/state", {"action": "take_into_use"})
    with db.transaction() as s:
        catalog = s.scalar(sa.select(Catalog).where(Catalog.external_id == external_id))
        assert catalog.state == "in_use" and catalog.retailer_id == w["shop"]
        catalog.state = "active"  # the supplier activates it
    post(client, f"/retailer/catalogs/{external_id}/state", {"action": "deactivate"})
    with db.transaction() as s:
        catalog = s.scalar(sa.select(Catalog).where(Catalog.external_id == external_id))
        assert (catalog.state, catalog.deactivated_by) == ("deactivated", "retailer")
    page = client.get(f"/retailer/catalogs/{external_id}").get_data(as_text=True)
    assert "Ota uudelleen käyttöön" in page
    post(client, f"/retailer/catalogs/{external_id}/state", {"action": "reactivate"})
    with db.transaction() as s:
        assert s.scalar(sa.select(Catalog.state).where(
            Catalog.external_id == external_id)) == "active"
    assert external_id in client.get("/retailer/catalogs").get_data(as_text=True)


def test_private_catalog_with_an_unknown_business_id_is_refused_on_the_field(client, session):
    w = _world(session)
    log_in(client, w["buyer"])
    response = post(client, "/retailer/catalogs", {"supplier_business_id": "0000000-0",
                                                   "name": "X"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in page and 'value="0000000-0"' in page


def test_private_catalog_without_a_name_is_refused(client, session):
    w = _world(session)
    log_in(client, w["buyer"])
    response = post(client, "/retailer/catalogs", {
        "supplier_business_id": w["closed_business_id"], "name": ""})
    assert response.status_code == 400
    assert 'id="f-name-error"' in response.get_data(as_text=True)


def test_another_retailers_private_catalog_is_not_found(client, session):
    w = _world(session)
    other = organization(session, "Toinen Kauppa Oy", retailer=True)
    supplier = session.get(Organization, w["closed_supplier"])
    private = factories.private_catalog(session, supplier, other)
    session.commit()
    log_in(client, w["buyer"])
    assert client.get(f"/retailer/catalogs/{private.external_id}").status_code == 404
    response = post(client, f"/retailer/catalogs/{private.external_id}/state",
                    {"action": "deactivate"})
    assert response.status_code == 404
    assert client.get("/retailer/suppliers/0000000-0").status_code == 404


def test_a_supplier_gets_403_on_retailer_pages(client, session, admin):
    log_in(client, admin)
    for path in ("/retailer/suppliers", "/retailer/catalogs", "/retailer/orders",
                 "/retailer/connections"):
        assert client.get(path).status_code == 403, path
    assert post(client, "/retailer/catalogs", {"name": "x"}).status_code == 403


def test_forms_without_the_csrf_token_are_refused(client, session):
    w = _world(session)
    log_in(client, w["buyer"])
    response = client.post(f"/retailer/suppliers/{w['closed_business_id']}/request",
                           data={"message": "x"})
    assert response.status_code == 400
    assert client.post("/retailer/catalogs", data={"name": "x"}).status_code == 400


def test_catalog_pages_are_keyset_paged(client, session):
    w = _world(session)
    supplier = session.get(Organization, w["closed_supplier"])
    closed = factories.public_catalog(session, supplier)
    for i in range(55):
        factories.publish(session, factories.product(session, supplier, f"SIVU-{i:03}"),
                          closed)
    session.commit()
    log_in(client, w["buyer"])
    first = client.get(f"/retailer/catalogs/{w['closed']}").get_data(as_text=True)
    assert first.count("<tr>") == 51  # header + 50
    next_link = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = client.get(next_link.replace("&amp;", "&")).get_data(as_text=True)
    assert second.count("<tr>") == 7 and "SIVU-054" in second and 'rel="next"' not in second
    assert client.get(f"/retailer/catalogs/{w['closed']}?after=garbage").status_code == 200
