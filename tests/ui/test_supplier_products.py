"""The supplier's products: list, search, filters, paging, edit, publishing, export, refusals."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import sqlalchemy as sa

from core.models import Balance, Organization, Product
from tests import factories
from tests.ui.conftest import log_in, organization, person, post
from web.ui import supplier_products


def _org(session, admin):  # noqa: ANN001, ANN202
    return session.get(Organization, admin.organization_id)


def _skus(page: str) -> list[str]:
    table = page.split('id="products-table"')[1].split("</table>")[0] \
        if 'id="products-table"' in page else ""
    return re.findall(r"<code>([^<]+)</code>", table)


def test_the_list_shows_only_the_suppliers_own_products(client, session, admin):
    org = _org(session, admin)
    factories.product(session, org, "MINE-1", descriptions={"fi": {"name": "Oma tuote"}})
    other = organization(session, "Kilpailija Oy", supplier=True)
    factories.product(session, other, "THEIRS-1")
    session.commit()
    log_in(client, admin)
    page = client.get("/supplier/products").get_data(as_text=True)
    assert _skus(page) == ["MINE-1"] and "Oma tuote" in page
    assert "Tuotteita: 1" in page


def test_search_finds_by_name_sku_and_ean(client, session, admin):
    org = _org(session, admin)
    factories.product(session, org, "KUP-1", descriptions={"fi": {"name": "Pöytä iso"}})
    factories.product(session, org, "TUO-2", ean_code="6417182000010",
                      descriptions={"en": {"name": "Chair"}})
    factories.product(session, org, "XYZ-3", descriptions={"en": {"name": "100% wool"}})
    session.commit()
    log_in(client, admin)
    assert _skus(client.get("/supplier/products?q=pöytä").get_data(as_text=True)) == ["KUP-1"]
    assert _skus(client.get("/supplier/products?q=tuo-").get_data(as_text=True)) == ["TUO-2"]
    assert _skus(client.get("/supplier/products?q=6417182000010").get_data(as_text=True)) == [
        "TUO-2"]
    # LIKE wildcards in the search are taken literally
    assert _skus(client.get("/supplier/products?q=0%25").get_data(as_text=True)) == ["XYZ-3"]
    assert _skus(client.get("/supplier/products?q=_").get_data(as_text=True)) == []


def test_filters_by_status_catalog_and_variant_group(client, session, admin):
    org = _org(session, admin)
    a = factories.product(session, org, "A-1", variant_group_id="SHIRT")
    factories.product(session, org, "B-1", status="EOS", variant_group_id="SHIRT")
    factories.product(session, org, "C-1")
    factories.publish(session, a, factories.public_catalog(session, org))
    public = factories.public_catalog(session, org).external_id
    session.commit()
    log_in(client, admin)
    get = client.get
    assert _skus(get("/supplier/products?status=EOS").get_data(as_text=True)) == ["B-1"]
    assert _skus(get("/supplier/products?group=SHIRT").get_data(as_text=True)) == ["A-1", "B-1"]
    assert _skus(get(f"/supplier/products?catalog={public}").get_data(as_text=True)) == ["A-1"]


def test_keyset_paging_walks_forward_and_back(client, session, admin, monkeypatch):
    monkeypatch.setattr(supplier_products, "PAGE_SIZE", 2)
    org = _org(session, admin)
    for i in range(5):
        factories.product(session, org, f"P-{i}")
    session.commit()
    log_in(client, admin)
    first = client.get("/supplier/products").get_data(as_text=True)
    assert _skus(first) == ["P-0", "P-1"] and 'rel="prev"' not in first
    second_url = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(second_url).get_data(as_text=True)
    assert _skus(second) == ["P-2", "P-3"]
    third_url = re.search(r'href="([^"]+)" rel="next"', second).group(1).replace("&amp;", "&")
    third = client.get(third_url).get_data(as_text=True)
    assert _skus(third) == ["P-4"] and 'rel="next"' not in third
    back_url = re.search(r'href="([^"]+)" rel="prev"', third).group(1).replace("&amp;", "&")
    assert _skus(client.get(back_url).get_data(as_text=True)) == ["P-2", "P-3"]


def test_edit_saves_texts_options_images_measurements_and_status(client, db, session, admin):
    org = _org(session, admin)
    product = factories.product(session, org, "E-1", descriptions={
        "fi": {"name": "Vanha", "attachments": [{"name": "manual"}]},
        "de": {"name": "Alt"}})
    session.commit()
    log_in(client, admin)
    form = {"eanCode": "6417182000010", "status": "EOS", "variantGroupId": "G-1",
            "recommendedRetailPrice": "19,90", "vatPercentage": "25.5", "unitOfMeasure": "kpl",
            "currency": "EUR", "fi.name": "Uusi nimi", "fi.shortDescription": "",
            "fi.description": "Pitkä kuvaus", "fi.options": "Väri: punainen\nKoko: L",
            "sv.name": "", "en.name": "New name", "en.options": "",
            "images": "https://img.example/a.jpg\nhttps://img.example/b.jpg",
            "weight": "1,5", "length": "", "width": "0.2", "height": "", "volume": ""}
    response = post(client, f"/supplier/products/{product.id}", form,
                    token_from=f"/supplier/products/{product.id}")
    assert response.status_code == 302
    with db.transaction() as s:
        saved = s.get(Product, product.id)
        assert saved.status == "EOS" and saved.ean_code == "6417182000010"
        assert saved.variant_group_id == "G-1" and saved.unit_of_measure == "KPL"
        assert saved.recommended_retail_price == Decimal("19.90")
        assert saved.measurements == {"weight": 1.5, "width": 0.2}
        assert [i["url"] for i in saved.images] == ["https://img.example/a.jpg",
                                                    "https://img.example/b.jpg"]
        fi = saved.descriptions["fi"]
        assert fi["name"] == "Uusi nimi" and fi["description"] == "Pitkä kuvaus"
        assert fi["attachments"] == [{"name": "manual"}]  # kept: the form does not show them
        assert fi["specifications"] == [{"type": "Options", "properties": [
            {"name": "Väri", "value": "punainen"}, {"name": "Koko", "value": "L"}]}]
        assert saved.descriptions["en"] == {"name": "New name"}
        assert saved.descriptions["de"] == {"name": "Alt"}  # a language the form lacks
        assert "sv" not in saved.descriptions
    page = client.get(f"/supplier/products/{product.id}").get_data(as_text=True)
    assert "Väri: punainen\nKoko: L" in page


def test_edit_errors_are_shown_by_their_fields(client, db, session, admin):
    product = factories.product(session, _org(session, admin), "E-2")
    session.commit()
    log_in(client, admin)
    response = post(client, f"/supplier/products/{product.id}",
                    {"eanCode": "1234567890123", "status": "ACTIVE", "images": "ftp://x/y.jpg",
                     "fi.options": "no colon here"},
                    token_from=f"/supplier/products/{product.id}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="f-fi.options-error"' in page
    response = post(client, f"/supplier/products/{product.id}",
                    {"eanCode": "1234567890123", "status": "ACTIVE", "images": "ftp://x/y.jpg"},
                    token_from=f"/supplier/products/{product.id}")
    page = response.get_data(as_text=True)
    assert 'id="f-eanCode-error"' in page and 'id="f-images-error"' in page
    with db.transaction() as s:
        assert s.get(Product, product.id).ean_code is None


def test_publish_into_a_catalog_and_take_off(client, db, session, admin):
    org = _org(session, admin)
    product = factories.product(session, org, "PUB-1")
    public = factories.public_catalog(session, org).external_id
    session.commit()
    log_in(client, admin)
    page = f"/supplier/products/{product.id}"
    post(client, f"{page}/balances", {"target_catalog": public, "price": "12,50",
                                      "quantity": "4"}, token_from=page)
    with db.transaction() as s:
        balance = s.scalar(sa.select(Balance))
        assert (balance.wholesale_price, balance.quantity) == (Decimal("12.50"), 4)
    post(client, f"{page}/balances/remove", {"catalog": public}, token_from=page)
    with db.transaction() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Balance)) == 0


def test_bulk_publish_and_end_of_sale_from_the_list(client, db, session, admin):
    org = _org(session, admin)
    ids = [factories.product(session, org, f"BU-{i}").id for i in range(3)]
    public = factories.public_catalog(session, org).external_id
    session.commit()
    log_in(client, admin)
    response = post(client, "/supplier/products/bulk",
                    {"product": [str(ids[0]), str(ids[1])], "action": "publish",
                     "target_catalog": public, "price": "3.00", "quantity": "9"},
                    token_from="/supplier/products")
    assert response.status_code == 302
    post(client, "/supplier/products/bulk", {"product": [str(ids[2])], "action": "eos"},
         token_from="/supplier/products")
    with db.transaction() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Balance)
                        .where(Balance.quantity == 9)) == 2
        assert s.get(Product, ids[2]).status == "EOS"
    # a price that is no number is refused without changing anything
    post(client, "/supplier/products/bulk", {"product": [str(ids[2])], "action": "publish",
                                             "target_catalog": public, "price": "abc",
                                             "quantity": "1"}, token_from="/supplier/products")
    assert "Anna kelvollinen hinta ja määrä." in client.get("/supplier/products").get_data(
        as_text=True)


def test_bulk_action_cannot_touch_another_suppliers_products(client, db, session, admin):
    other = organization(session, "Kilpailija Oy", supplier=True)
    theirs = factories.product(session, other, "THEIRS-1")
    session.commit()
    log_in(client, admin)
    post(client, "/supplier/products/bulk", {"product": [str(theirs.id)], "action": "eos"},
         token_from="/supplier/products")
    with db.transaction() as s:
        assert s.get(Product, theirs.id).status == "ACTIVE"


def test_export_is_csv_that_the_import_reads_back(client, session, admin):
    org = _org(session, admin)
    factories.product(session, org, "X-1", ean_code="6417182000010",
                      descriptions={"fi": {"name": "Ääkkönen"}}, measurements={"weight": 2})
    factories.product(session, org, "X-2", status="EOS")
    session.commit()
    log_in(client, admin)
    response = client.get("/supplier/products.csv?status=ACTIVE")
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["externalId"] for r in rows] == ["X-1"]
    assert rows[0]["name.fi"] == "Ääkkönen" and rows[0]["weight"] == "2"
    from core.product_files import guess_mapping

    header = next(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    mapping = guess_mapping(header)
    assert mapping["0"] == "externalId" and mapping[str(header.index("name.fi"))] == "name.fi"


def test_another_suppliers_product_page_is_not_found(client, session, admin):
    other = organization(session, "Kilpailija Oy", supplier=True)
    theirs = factories.product(session, other, "THEIRS-1")
    session.commit()
    log_in(client, admin)
    assert client.get(f"/supplier/products/{theirs.id}").status_code == 404
    assert post(client, f"/supplier/products/{theirs.id}", {"status": "EOS"},
                token_from="/supplier/products").status_code == 404
    assert post(client, f"/supplier/products/{theirs.id}/balances/remove", {"catalog": "x"},
                token_from="/supplier/products").status_code == 404


def test_a_retailer_or_anonymous_visitor_is_refused(client, session):
    shop = organization(session, "Kauppa Oy", retailer=True)
    retailer = person(session, shop, "retailer", email="shop@example.test")
    assert client.get("/supplier/products").status_code == 302  # to the login page
    log_in(client, retailer)
    for path in ("/supplier/products", "/supplier/products.csv", "/supplier/products/1"):
        assert client.get(path).status_code == 403
    assert post(client, "/supplier/products/bulk", {"action": "eos", "product": ["1"]},
                token_from="/").status_code == 403


def test_a_supplier_user_without_the_permission_is_refused(client, session, admin):
    org = _org(session, admin)
    clerk = person(session, org, "admin", email="clerk@example.test")
    log_in(client, clerk)
    assert client.get("/supplier/products").status_code == 403


def test_forms_without_csrf_token_are_refused(client, session, admin):
    product = factories.product(session, _org(session, admin), "CS-1")
    session.commit()
    log_in(client, admin)
    assert client.post(f"/supplier/products/{product.id}", data={"status": "EOS"}
                       ).status_code == 400
    assert client.post("/supplier/products/bulk", data={"action": "eos",
                                                        "product": [str(product.id)]},
                       ).status_code == 400
    assert client.post(f"/supplier/products/{product.id}/balances",
                       data={"csrf_token": "wrong"}).status_code == 400


def test_the_nav_shows_supplier_pages_to_suppliers_only(client, session, admin):
    log_in(client, admin)
    page = client.get("/").get_data(as_text=True)
    assert 'href="/supplier/products"' in page and 'href="/supplier/catalogs"' in page
    shop = organization(session, "Kauppa Oy", retailer=True)
    retailer = person(session, shop, "retailer", email="shop@example.test")
    other = client.application.test_client()
    log_in(other, retailer)
    assert 'href="/supplier/products"' not in other.get("/").get_data(as_text=True)
