"""The documents API: PDFs and settings over HTTP, behind bearer tokens."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from core.api_accounts import create_api_account, issue_token
from core.principal import SYSTEM, Principal
from tests.documents import builders, pdfs
from web.app import create_app


@pytest.fixture
def client(db):  # noqa: ANN001, ANN201
    return create_app(database=db, TESTING=True).test_client()


def bearer(db, organization_id: int) -> dict[str, str]:  # noqa: ANN001
    with db.transaction() as session:
        account, _secret = create_api_account(session, SYSTEM, organization_id=organization_id,
                                             name="ERP")
        # issue_token needs only the account; skipping authenticate saves an argon2 check
        token = issue_token(session, Principal(organization_id=organization_id,
                                               api_account_id=account.id))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(db):  # noqa: ANN001, ANN201
    """A delivered shipment, its supplier's and retailer's tokens, and an outsider's."""
    with db.transaction() as session:
        shipment = builders.shipment(session, parcels=2,
                                     rows=[("Sähkövatkain", 1, 1, "9.90"),
                                           ("Öljy", 2, 2, "3.50")])
        ids = (shipment.shipment_id, shipment.supplier_id, shipment.order.retailer_id,
               builders.new_supplier(session).id,
               [p.tracking_codes[0] for p in shipment.parcels], shipment.order.external_id)
    shipment_id, supplier_id, retailer_id, outsider_id, codes, reference = ids
    return {"shipment": shipment_id, "codes": codes, "reference": reference,
            "supplier": bearer(db, supplier_id), "retailer": bearer(db, retailer_id),
            "outsider": bearer(db, outsider_id)}


def test_label_and_note_are_pdfs_for_the_supplier(client, world):
    base = f"/ecommerce/v3/shipments/{world['shipment']}/parcels/1"
    label = client.get(f"{base}/label", headers=world["supplier"])
    assert label.status_code == 200 and label.mimetype == "application/pdf"
    assert pdfs.barcodes(label.data, dpi=300) == [world["codes"][0]]
    note = client.get(f"{base}/note", headers=world["supplier"])
    assert note.status_code == 200 and note.mimetype == "application/pdf"
    assert "Sähkövatkain" in pdfs.text(note.data)
    a4 = client.get(f"{base}/label?pageSize=A4", headers=world["supplier"])
    assert pdfs.page_sizes_mm(a4.data) == [(210, 297)]


def test_who_gets_what(client, world):
    base = f"/ecommerce/v3/shipments/{world['shipment']}/parcels/1"
    assert client.get(f"{base}/label").status_code == 401
    assert client.get(f"{base}/label", headers=world["outsider"]).status_code == 404
    assert client.get(f"{base}/note", headers=world["outsider"]).status_code == 404
    assert client.get(f"{base}/label", headers=world["retailer"]).status_code == 403
    assert client.get(f"{base}/note", headers=world["retailer"]).status_code == 200
    missing = client.get("/ecommerce/v3/shipments/NOPE/parcels/1/label",
                         headers=world["supplier"])
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"


def test_bulk_endpoints(client, world):
    body = {"shipmentIds": [world["shipment"]]}
    labels = client.post("/ecommerce/v3/documents/labels", json=body, headers=world["supplier"])
    assert labels.status_code == 200 and len(pdfs.reader(labels.data).pages) == 2
    bundle = client.post("/ecommerce/v3/documents/bundle", json=body, headers=world["supplier"])
    assert len(pdfs.reader(bundle.data).pages) == 3
    slips = client.post("/ecommerce/v3/documents/slips", json=body, headers=world["retailer"])
    assert slips.status_code == 200 and len(pdfs.reader(slips.data).pages) == 1
    bad = client.post("/ecommerce/v3/documents/labels", json={"shipmentIds": "x"},
                      headers=world["supplier"])
    assert bad.status_code == 422


def test_manifest_endpoint(client, world):
    response = client.get(f"/ecommerce/v3/documents/manifest?shipmentIds={world['shipment']}",
                          headers=world["supplier"])
    assert response.status_code == 200
    assert all(code in pdfs.text(response.data) for code in world["codes"])
    today = client.get("/ecommerce/v3/documents/manifest", headers=world["supplier"])
    assert today.status_code == 200
    bad = client.get("/ecommerce/v3/documents/manifest?date=26.11.2026",
                     headers=world["supplier"])
    assert bad.status_code == 422


def test_document_settings_change_the_slip(client, world):
    url = "/ecommerce/v3/organization/document-settings"
    assert client.get(url, headers=world["retailer"]).get_json() == {
        "showPrices": False, "showSupplier": False}
    changed = client.put(url, json={"showPrices": True}, headers=world["retailer"])
    assert changed.get_json() == {"showPrices": True, "showSupplier": False}
    assert client.put(url, json={"showPrices": "yes"},
                      headers=world["retailer"]).status_code == 422
    assert client.put(url, json={"showPrices": True},
                      headers=world["supplier"]).status_code == 403
    note = client.get(f"/ecommerce/v3/shipments/{world['shipment']}/parcels/1/note",
                      headers=world["supplier"])
    assert "9,90" in pdfs.text(note.data)


def test_tracking_settings(client, world):
    url = "/ecommerce/v3/organization/tracking"
    current = client.get(url, headers=world["supplier"]).get_json()
    assert current["mode"] == "glue" and "s10" in current["carriers"]
    assert current["remaining"] > 0  # the default block claimed at the confirm
    changed = client.put(url, json={"mode": "own", "serviceIndicator": "JK",
                                    "rangeStart": 1, "rangeEnd": 999},
                         headers=world["supplier"])
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["rangeStart"] == 1 and changed.get_json()["remaining"] == 999
    assert changed.get_json()["mode"] == "own"
    clash = client.put(url, json={"serviceIndicator": "JK", "rangeStart": 500,
                                  "rangeEnd": 600}, headers=world["outsider"])
    assert clash.status_code == 409
    assert client.put(url, json={"rangeStart": "1", "rangeEnd": 2},
                      headers=world["supplier"]).status_code == 422
    assert client.get(url, headers=world["retailer"]).status_code == 403


def test_logo_upload_round_trip(client, world):
    buffer = io.BytesIO()
    Image.new("RGB", (60, 30), "navy").save(buffer, "PNG")
    url = "/ecommerce/v3/organization/logo"
    put = client.put(url, data=buffer.getvalue(), content_type="image/png",
                     headers=world["retailer"])
    assert put.status_code == 200 and put.get_json()["contentType"] == "image/png"
    got = client.get(url, headers=world["retailer"])
    assert got.data == buffer.getvalue() and got.mimetype == "image/png"
    note = client.get(f"/ecommerce/v3/shipments/{world['shipment']}/parcels/1/note",
                      headers=world["supplier"])
    assert len(pdfs.reader(note.data).pages[0].images) == 1
    assert client.put(url, data=b"GIF89a....", headers=world["retailer"]).status_code == 422
    too_big = client.put(url, data=b"\0" * (2 * 1024 * 1024), headers=world["retailer"])
    assert too_big.status_code == 413
    assert client.delete(url, headers=world["retailer"]).status_code == 204
    assert client.get(url, headers=world["retailer"]).status_code == 404
