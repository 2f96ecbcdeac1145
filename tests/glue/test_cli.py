"""The ``glue`` command's administration verbs print JSON and refuse bad input cleanly."""

from __future__ import annotations

import json

import pytest
import sqlite_utils
from click.testing import CliRunner

from glue import cli


@pytest.fixture
def glue(db, monkeypatch):
    monkeypatch.setattr(cli, "_database", lambda: db)
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(cli.main, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) is ok, result.output
        return json.loads(result.stdout) if ok else result.output

    return run


def test_org_user_and_api_account_are_created_and_printed_as_json(glue, db):
    # given a supplier organization created from the command line
    org = glue("org", "create", "--business-id", "1234567-1", "--name", "Työkalu Oy",
               "--supplier")
    assert org == {"businessId": "1234567-1", "publicCatalogExternalId": "12345671"}
    # when a user and an API account are created for it
    user = glue("user", "create", "--email", "Maija@Tyokalu.example", "--org", "1234567-1",
                "--permissions", "admin,supplier", "--password", "a long enough password")
    account = glue("api-account", "create", "--org", "1234567-1", "--name", "ERP")
    # then both are printed, the secret once, and the secret is stored only hashed
    assert user == {"email": "maija@tyokalu.example", "businessId": "1234567-1",
                    "permissions": ["admin", "supplier"]}
    assert set(account) == {"account", "secret"} and len(account["secret"]) >= 32
    with db.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT secret_hash FROM api_accounts").scalar_one()
    assert account["secret"] not in stored


def test_a_retailer_has_no_public_catalog(glue):
    org = glue("org", "create", "--business-id", "0000001-9", "--name", "Kauppa", "--retailer")
    assert org["publicCatalogExternalId"] is None


@pytest.mark.parametrize("args", [
    ("org", "create", "--business-id", "1234567-8", "--name", "Bad check digit"),
    ("user", "create", "--email", "x@example.test", "--org", "7654321-0",
     "--permissions", "admin"),
    ("api-account", "create", "--org", "7654321-0", "--name", "No such org"),
])
def test_refusals_exit_non_zero_with_a_message_and_no_traceback(glue, args):
    output = glue(*args, ok=False)
    assert "Error:" in output and "Traceback" not in output


def test_export_writes_only_the_organizations_own_data_with_full_text_search(glue, db, tmp_path):
    from core import inventory
    from tests import factories as f

    with db.transaction() as s:
        supplier, other = f.supplier(s, name="Mine"), f.supplier(s, name="Theirs")
        for org, name in ((supplier, "Sininen takki"), (other, "Punainen pipo")):
            failed = inventory.upsert_inventory(s, f.acting(org), [
                {"product": {"externalId": "SKU-1", "descriptions": {"fi": {"name": name}}},
                 "balances": [{"catalogExternalId": f.public_catalog(s, org).external_id,
                               "quantity": 3, "wholesalePrice": "9.90"}]}])
            assert failed == []
        business_id = supplier.business_id
    out = tmp_path / "export.db"

    result = glue("export", "--org", business_id, "--out", str(out))

    assert result["tables"]["products"] == 1 and result["tables"]["balances"] == 1
    exported = sqlite_utils.Database(out)
    assert [r["name_fi"] for r in exported["products"].rows] == ["Sininen takki"]
    hits = list(exported["products"].search("takki"))
    assert [h["external_id"] for h in hits] == ["SKU-1"]
    assert not list(exported["products"].search("pipo"))
    assert all(business_id.replace("-", "") in c["external_id"]
               for c in exported["catalogs"].rows)


def test_import_products_reads_a_csv_in_batches_and_reports_row_errors(glue, db, tmp_path):
    glue("org", "create", "--business-id", "1234567-1", "--name", "Työkalu Oy", "--supplier")
    csv = tmp_path / "tuotteet.csv"
    csv.write_text("SKU;Nimi;EAN;Hinta;Saldo\n"
                   "T-1;Vasara;4006381333931;12,50;4\n"
                   "T-2;Saha;123;9,90;2\n"
                   "T-3;Pihdit;;7,00;1\n", encoding="utf-8")

    dry = glue("import-products", "--org", "1234567-1", "--catalog", "12345671", "--dry-run",
               str(csv))
    result = glue("import-products", "--org", "1234567-1", "--catalog", "12345671", str(csv))
    again = glue("import-products", "--org", "1234567-1", "--catalog", "12345671", str(csv))

    assert (dry["new"], dry["error"]) == (2, 1)
    assert (result["new"], result["error"]) == (2, 1)
    assert [e["row"] for e in result["errors"]] == [3]  # the bad EAN, on the file's row 3
    assert (again["new"], again["unchanged"]) == (0, 2)
    with db.engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT p.external_id, b.quantity, b.wholesale_price FROM products p "
            "JOIN balances b ON b.product_id = p.id ORDER BY p.external_id").all()
    assert [(sku, qty) for sku, qty, _ in stored] == [("T-1", 4), ("T-3", 1)]


def test_import_products_refuses_a_retailer_and_a_file_without_skus(glue, tmp_path):
    glue("org", "create", "--business-id", "0000001-9", "--name", "Kauppa", "--retailer")
    good = tmp_path / "ok.csv"
    good.write_text("SKU\nA-1\n")
    no_sku = tmp_path / "names.csv"
    no_sku.write_text("Nimi\nVasara\n")
    assert "not a supplier" in glue("import-products", "--org", "0000001-9", str(good), ok=False)
    assert "externalId" in glue("import-products", "--org", "0000001-9", str(no_sku), ok=False)
