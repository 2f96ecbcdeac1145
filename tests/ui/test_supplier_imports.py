"""Importing products from CSV and XLSX: mapping, dry run, per-row errors, batched import."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import sqlalchemy as sa
from openpyxl import Workbook

from core import product_files as import_rows
from core.models import Balance, Catalog, Organization, Product
from tests import factories
from tests.ui.conftest import log_in, organization, person, post
from web.ui.import_models import ProductImport


def _upload(client, data: bytes, filename: str = "products.csv"):  # noqa: ANN001, ANN202
    return post(client, "/supplier/imports", {"file": (io.BytesIO(data), filename)},
                token_from="/supplier/imports", content_type="multipart/form-data")


def _import_id(response) -> int:  # noqa: ANN001
    return int(re.search(r"/supplier/imports/(\d+)", response.headers["Location"]).group(1))


def _public(db, org_id):  # noqa: ANN001, ANN202
    with db.transaction() as s:
        return s.scalar(sa.select(Catalog.external_id).where(Catalog.supplier_id == org_id,
                                                             Catalog.is_public.is_(True)))


CSV = ("Tuotekoodi;Nimi;Name (en);EAN;Hinta;Saldo;Väri;Paino\n"
       "MUG-1;Kahvimuki;Coffee mug;6417182000010;4,50;10;punainen;0,3\n"
       "MUG-2;Teemuki;;;5,00;3;sininen;\n").encode()


# --- reading and guessing (no database) ----------------------------------------------------

def test_the_mapping_is_guessed_from_finnish_and_english_headers():
    header, rows = import_rows.read_table(CSV, "products.csv")
    assert header[0] == "Tuotekoodi" and rows[0][4] == "4,50"
    assert import_rows.guess_mapping(header) == {
        "0": "externalId", "1": "name.fi", "2": "name.en", "3": "eanCode",
        "4": "wholesalePrice", "5": "quantity", "6": "option", "7": "weight"}


def test_a_second_column_claiming_the_same_field_is_left_unmapped():
    assert import_rows.guess_mapping(["sku", "code", "name"]) == {
        "0": "externalId", "1": "", "2": "name.en"}
    assert import_rows.mapping_errors({"0": "name.fi"}) == ["externalId"]


def test_xlsx_cells_are_read_as_text_without_excel_decimals():
    book = Workbook()
    sheet = book.active
    sheet.append(["SKU", "EAN", "Price"])
    sheet.append(["A-1", 6417182000010, 12.5])
    sheet.append([None, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    header, rows = import_rows.read_table(buffer.getvalue(), "products.xlsx")
    assert header == ["SKU", "EAN", "Price"]
    assert rows == [["A-1", "6417182000010", "12.5"]]


def test_a_file_that_is_no_workbook_is_refused():
    try:
        import_rows.read_table(b"PK\x03\x04 not really a zip", "x.xlsx")
    except import_rows.FileUnreadable:
        pass
    else:
        raise AssertionError("a broken XLSX was read")


# --- the pages ------------------------------------------------------------------------------

def test_upload_shows_the_guessed_mapping_with_sample_values(client, admin):
    log_in(client, admin)
    response = _upload(client, CSV)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Kahvimuki, Teemuki" in page
    assert re.search(r'name="col_0">.*?<option value="externalId" selected', page, re.S)


def test_the_dry_run_says_what_would_change_and_writes_nothing(client, db, session, admin):
    # Given one of the two products exists with the same name, and one catalog balance
    org = session.get(Organization, admin.organization_id)
    existing = factories.product(session, org, "MUG-2",
                                 descriptions={"fi": {"name": "Teemuki"},
                                               "en": {"name": "Tea mug"}})
    factories.publish(session, existing, factories.public_catalog(session, org), quantity=3,
                      price="5.00")
    session.commit()
    log_in(client, admin)
    job = _import_id(_upload(client, CSV))
    # When the preview is asked for
    page = client.get(f"/supplier/imports/{job}/preview").get_data(as_text=True)
    # Then MUG-1 is new and MUG-2 changed (its colour option is new); nothing was written
    assert 'data-count="new">1<' in page and 'data-count="changed">1<' in page
    assert 'data-count="error">0<' in page
    with db.transaction() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Product)) == 1
        stored = s.scalar(sa.select(Product).where(Product.external_id == "MUG-2"))
        assert "specifications" not in stored.descriptions["fi"]


def test_an_unchanged_row_is_counted_as_unchanged(client, session, admin):
    org = session.get(Organization, admin.organization_id)
    factories.product(session, org, "SAME-1", descriptions={"fi": {"name": "Sama"}})
    session.commit()
    log_in(client, admin)
    job = _import_id(_upload(client, b"sku,nimi\nSAME-1,Sama\n"))
    page = client.get(f"/supplier/imports/{job}/preview").get_data(as_text=True)
    assert 'data-count="unchanged">1<' in page and 'data-count="changed">0<' in page


def test_per_row_errors_name_the_row_and_the_column(client, db, admin):
    log_in(client, admin)
    data = (b"sku,name,ean,price,quantity\n"
            b"OK-1,Fine,,1.00,1\n"
            b"BAD-1,Bad ean,1234567890123,1.00,1\n"
            b",No sku,,1.00,1\n"
            b"BAD 2,Space in sku,,1.00,1\n"
            b"OK-1,Again,,1.00,1\n"
            b"BAD-3,Negative,,-1,1\n")
    job = _import_id(_upload(client, data))
    page = client.get(f"/supplier/imports/{job}/preview").get_data(as_text=True)
    assert 'data-count="new">1<' in page and 'data-count="error">5<' in page
    errors = page.split('id="import-errors"')[1].split("</table>")[0]
    for row in ("3", "4", "5", "6", "7"):
        assert f'<td data-label="Rivi">{row}</td>' in errors
    assert "<strong>ean</strong>" in errors and "<strong>price</strong>" in errors
    assert "Tuotekoodi puuttuu" in errors and "aiemmalla rivillä" in errors


def test_the_mapping_can_be_changed_and_must_name_the_sku(client, db, admin):
    log_in(client, admin)
    job = _import_id(_upload(client, b"code,title,whatever\nX-1,Thing,42\n"))
    refused = post(client, f"/supplier/imports/{job}",
                   {"col_0": "", "col_1": "name.en", "col_2": "", "catalog": ""},
                   token_from=f"/supplier/imports/{job}")
    assert refused.status_code == 422
    assert "Valitse sarake, jossa on tuotekoodi." in refused.get_data(as_text=True)
    saved = post(client, f"/supplier/imports/{job}",
                 {"col_0": "externalId", "col_1": "name.sv", "col_2": "quantity",
                  "catalog": ""}, token_from=f"/supplier/imports/{job}")
    assert saved.headers["Location"].endswith(f"/supplier/imports/{job}/preview")
    with db.transaction() as s:
        stored = s.get(ProductImport, job)
        assert stored.mapping == {"0": "externalId", "1": "name.sv", "2": "quantity"}
        assert stored.catalog_external_id is None


def test_the_import_runs_in_batches_and_progress_reaches_100(client, db, admin, monkeypatch):
    # Given a file of 5 rows and batches of 2 (the real batch is 2,000)
    import web.ui.imports as imports

    monkeypatch.setattr(imports, "BATCH", 2)
    log_in(client, admin)
    rows = "".join(f"P-{i},Tuote {i},{i}.50,{i}\n" for i in range(5))
    job = _import_id(_upload(client, f"sku,nimi,hinta,saldo\n{rows}".encode()))
    client.get(f"/supplier/imports/{job}/preview")
    # When the import starts and the page drives the steps
    post(client, f"/supplier/imports/{job}/start", token_from=f"/supplier/imports/{job}/preview")
    token_page = f"/supplier/imports/{job}/progress"
    seen = []
    for _ in range(5):
        progress = post(client, f"/supplier/imports/{job}/step", token_from=token_page,
                        headers={"Accept": "application/json"}).get_json()
        seen.append(progress["percent"])
        if progress["state"] != "running":
            break
    # Then progress grows to 100 and every product is stored with its balance
    assert seen == [40, 80, 100]
    assert progress == {"state": "done", "processed": 5, "total": 5, "percent": 100,
                        "created": 5, "updated": 0, "failed": 0}
    with db.transaction() as s:
        balances = s.execute(sa.select(Product.external_id, Balance.wholesale_price,
                                       Balance.quantity)
                             .join(Balance, Balance.product_id == Product.id)
                             .order_by(Product.external_id)).all()
    assert [tuple(b) for b in balances] == [(f"P-{i}", Decimal(f"{i}.50"), i) for i in range(5)]
    # and another step changes nothing
    again = post(client, f"/supplier/imports/{job}/step", token_from=token_page,
                 headers={"Accept": "application/json"}).get_json()
    assert again["processed"] == 5 and again["created"] == 5


def test_rows_that_fail_are_listed_after_the_import_and_the_rest_are_stored(client, db, admin):
    log_in(client, admin)
    job = _import_id(_upload(client, b"sku,name,vat\nG-1,Good,24\nG-2,Bad vat,240\n"))
    post(client, f"/supplier/imports/{job}/start", token_from="/supplier/imports")
    post(client, f"/supplier/imports/{job}/step", token_from="/supplier/imports")
    page = client.get(f"/supplier/imports/{job}/progress").get_data(as_text=True)
    assert 'value="100"' in page and "G-2" in page and "<strong>vat</strong>" in page
    with db.transaction() as s:
        assert list(s.scalars(sa.select(Product.external_id))) == ["G-1"]


def test_an_import_merges_texts_instead_of_wiping_other_languages(client, db, session, admin):
    org = session.get(Organization, admin.organization_id)
    factories.product(session, org, "M-1", descriptions={"en": {"name": "Mug"},
                                                         "fi": {"name": "Muki"}})
    session.commit()
    log_in(client, admin)
    job = _import_id(_upload(client, b"sku,nimi,koko\nM-1,Iso muki,L\n"))
    post(client, f"/supplier/imports/{job}/start", token_from="/supplier/imports")
    post(client, f"/supplier/imports/{job}/step", token_from="/supplier/imports")
    with db.transaction() as s:
        texts = s.scalar(sa.select(Product.descriptions).where(Product.external_id == "M-1"))
    assert texts["en"]["name"] == "Mug" and texts["fi"]["name"] == "Iso muki"
    assert texts["fi"]["specifications"] == [
        {"type": "Options", "properties": [{"name": "koko", "value": "L"}]}]


def test_xlsx_upload_is_imported(client, db, admin):
    book = Workbook()
    book.active.append(["SKU", "Name", "Quantity"])
    book.active.append(["X-1", "Excel product", 7])
    buffer = io.BytesIO()
    book.save(buffer)
    log_in(client, admin)
    job = _import_id(_upload(client, buffer.getvalue(), "products.xlsx"))
    post(client, f"/supplier/imports/{job}/start", token_from="/supplier/imports")
    post(client, f"/supplier/imports/{job}/step", token_from="/supplier/imports")
    with db.transaction() as s:
        assert s.scalar(sa.select(Balance.quantity)) == 7


def test_an_unreadable_or_empty_upload_is_refused(client, admin):
    log_in(client, admin)
    assert _upload(client, b"", "x.csv").status_code == 422
    response = _upload(client, b"PK\x03\x04garbage", "x.xlsx")
    assert response.status_code == 422
    assert "Tiedostoa ei voitu lukea" in response.get_data(as_text=True)


def test_another_supplier_cannot_see_or_drive_an_import(client, session, admin):
    log_in(client, admin)
    job = _import_id(_upload(client, CSV))
    client.post("/logout", data={})  # not needed: a fresh client below
    other_org = organization(session, "Kilpailija Oy", supplier=True)
    other = person(session, other_org, "supplier", email="other@example.test")
    stranger = client.application.test_client()
    log_in(stranger, other)
    for path in (f"/supplier/imports/{job}", f"/supplier/imports/{job}/preview",
                 f"/supplier/imports/{job}/progress"):
        assert stranger.get(path).status_code == 404
    assert post(stranger, f"/supplier/imports/{job}/start",
                token_from="/supplier/imports").status_code == 404
    assert post(stranger, f"/supplier/imports/{job}/step",
                token_from="/supplier/imports").status_code == 404


def test_a_retailer_is_refused_and_a_step_without_csrf_token_is_refused(client, session, admin):
    shop = organization(session, "Kauppa Oy", retailer=True)
    retailer = person(session, shop, "retailer", email="shop@example.test")
    log_in(client, retailer)
    assert client.get("/supplier/imports").status_code == 403
    supplier = client.application.test_client()
    log_in(supplier, admin)
    job = _import_id(_upload(supplier, CSV))
    assert supplier.post(f"/supplier/imports/{job}/start").status_code == 400
    assert supplier.post(f"/supplier/imports/{job}/step",
                         headers={"X-CSRF-Token": "forged"}).status_code == 400



def test_a_step_is_refused_once_the_organization_is_no_longer_a_supplier(
        client, db, session, admin):
    log_in(client, admin)
    job = _import_id(_upload(client, CSV))
    post(client, f"/supplier/imports/{job}/start", token_from="/supplier/imports")
    with db.transaction() as s:
        s.get(Organization, admin.organization_id).is_supplier = False
    response = post(client, f"/supplier/imports/{job}/step", token_from="/",
                    headers={"Accept": "application/json"})
    assert response.status_code == 403
    with db.transaction() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Product)) == 0
        assert s.get(ProductImport, job).processed == 0
