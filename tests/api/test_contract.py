"""The v3 contract, replayed: one realistic flow with requests in exactly the shapes the
reference page shows the PHP library and the WooCommerce plugin sending (nulls for unset
optional fields, comma-separated lists, timestamps with offsets, ``size``/``page`` on every
list), and the answers' shapes checked -- the paged envelope on every list, the fields the
clients read, numbers for money.

Flow: the retailer creates a private catalog and takes it into use, the supplier activates it
and publishes with PUT /inventory; the retailer reads catalogs, balances and inventory and
places an order; the supplier polls shipments with status=Created,Viewed and confirms Delivered
with parcels and its own tracking codes; the retailer reads the order with trackingCodes.
"""

from __future__ import annotations

from urllib.parse import quote

from tests import factories as f
from tests.api.conftest import basic, commit, make_credentials

V3 = "/ecommerce/v3"
PAGE_KEYS = {"size", "totalElements", "totalPages", "number"}
BALANCE_KEYS = {"retailerId", "catalogExternalId", "productExternalId", "quantity", "incoming",
                "wholesalePrice", "currency"}
PRODUCT_KEYS = {"externalId", "supplierId", "distributor", "eanCode", "recommendedRetailPrice",
                "currency", "vatPercentage", "unitOfMeasure", "status", "measurements",
                "isFragile", "isDangerousGoods", "isOversized", "images", "descriptions"}
CATALOG_KEYS = {"externalId", "catalogType", "catalogName", "supplierId", "retailerId",
                "backOrderAllowed", "priority", "routeWeight", "public"}
SINCE = quote("2020-01-01T00:00:00.000+03:00")  # as the plugin sends modifiedFromDate


def envelope(response, size: int | None = None) -> list[dict]:
    """The content of a paged answer, after checking the envelope's shape."""
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert {"content", "page"} <= set(body) and isinstance(body["content"], list)
    assert PAGE_KEYS <= set(body["page"])
    assert all(isinstance(body["page"][k], int) for k in PAGE_KEYS)
    if size is not None:
        assert body["page"]["size"] == size
    return body["content"]


def php_product(external_id: str, ean: str, price: float) -> dict:
    """A product as the PHP library serialises it: every field present, unset ones null."""
    return {
        "externalId": external_id, "supplierId": None, "distributor": None, "eanCode": ean,
        "recommendedRetailPrice": price, "currency": "EUR", "vatPercentage": 25.5,
        "unitOfMeasure": "KPL", "status": "ACTIVE",
        "measurements": {"weight": 0.35, "length": 0.2, "width": 0.1, "height": 0.05,
                         "volume": None},
        "isFragile": False, "isDangerousGoods": None, "isOversized": None,
        "images": [{"url": "https://cdn.example.test/mug.jpg"}],
        "descriptions": {"en": {"name": "Mug", "shortDescription": None,
                                "description": "A mug.", "specifications": [
                                    {"type": "Options", "properties": [
                                        {"name": "Colour", "value": "Blue", "specifier": None,
                                         "description": None}]}],
                                "attachments": None}},
    }


def token(client, db, organization) -> dict[str, str]:
    account, secret = make_credentials(db, organization.id)
    answer = client.get("/auth/token", headers=basic(account, secret))
    assert answer.status_code == 200
    body = answer.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    return {"Authorization": f"Bearer {body['access_token']}", "Accept": "application/json"}


def test_the_v3_flow_in_the_clients_shapes(db, client):
    parties = commit(db, lambda s: (f.supplier(s, name="Tukku Oy"),
                                    f.retailer(s, name="Kauppa Oy")))
    supplier_org, retailer_org = parties
    supplier, retailer = token(client, db, supplier_org), token(client, db, retailer_org)

    # the retailer creates a private catalog (extension) and both sides activate it
    created = client.post(f"{V3}/catalogs", headers=retailer, json={
        "catalogName": "Kauppa / Tukku", "supplierId": supplier_org.business_id,
        "currency": "EUR"})
    assert created.status_code == 201
    catalog = created.get_json()
    assert CATALOG_KEYS <= set(catalog) and catalog["state"] == "created"
    path = f"{V3}/catalogs/{catalog['externalId']}"
    assert client.patch(path, headers=retailer, json={"state": "in_use"}).status_code == 200
    assert client.patch(path, headers=supplier,
                        json={"state": "active"}).get_json()["state"] == "active"

    # the supplier publishes: PUT /inventory answers 200 with the failed items only
    items = [{"product": php_product("MUG-1", "6438314000104", 19.9),
              "balances": [{"retailerId": retailer_org.business_id,
                            "catalogExternalId": catalog["externalId"],
                            "productExternalId": "MUG-1", "quantity": 5, "incoming": None,
                            "wholesalePrice": 8.25, "currency": "EUR"}]},
             {"product": php_product("MUG-2", None, 21.0),
              "balances": [{"retailerId": retailer_org.business_id,
                            "catalogExternalId": catalog["externalId"],
                            "productExternalId": None, "quantity": 2, "incoming": 0,
                            "wholesalePrice": 9, "currency": "EUR"}]},
             {"product": {**php_product("BAD ID", None, 1.0)}, "balances": None}]
    published = client.put(f"{V3}/inventory", headers=supplier, json=items)
    assert published.status_code == 200
    [failure] = published.get_json()
    assert failure["index"] == 2 and failure["externalId"] == "BAD ID" and failure["errors"]

    # the retailer reads its catalogs, balances and the catalog's products
    catalogs = envelope(client.get(f"{V3}/catalogs?role=RETAILER", headers=retailer))
    assert {(c["externalId"] == catalog["externalId"], c["public"]) for c in catalogs} == \
        {(True, False), (False, True)}  # its private catalog and the supplier's public one
    assert all(CATALOG_KEYS <= set(c) for c in catalogs)
    balances = envelope(client.get(f"{V3}/catalogs/balances?modifiedFromDate={SINCE}"
                                   "&size=100&page=0", headers=retailer), size=100)
    assert sorted(b["productExternalId"] for b in balances) == ["MUG-1", "MUG-2"]
    assert all(BALANCE_KEYS <= set(b) for b in balances)
    assert {b["wholesalePrice"] for b in balances} == {8.25, 9}
    assert all(isinstance(b["wholesalePrice"], float | int) for b in balances)
    some = envelope(client.get(f"{V3}/catalogs/balances?productExternalId=MUG-2,NOPE",
                               headers=retailer))
    assert [b["productExternalId"] for b in some] == ["MUG-2"]
    one = envelope(client.get(f"{path}/balances?modifiedFromDate={SINCE}&size=20&page=0",
                              headers=retailer))
    assert {b["retailerId"] for b in one} == {retailer_org.business_id}
    inventory = envelope(client.get(
        f"{V3}/inventory?retailerId={retailer_org.business_id}"
        f"&catalogExternalId={catalog['externalId']}&size=2000&page=0", headers=retailer),
        size=2000)
    assert [i["product"]["externalId"] for i in inventory] == ["MUG-1", "MUG-2"]
    mug = inventory[0]
    assert PRODUCT_KEYS <= set(mug["product"]) and mug["product"]["vatPercentage"] == 25.5
    assert mug["product"]["measurements"]["weight"] == 0.35
    assert mug["product"]["descriptions"]["en"]["specifications"][0]["type"] == "Options"
    assert [b["quantity"] for b in mug["balances"]] == [5]
    several = envelope(client.get(f"{V3}/inventory?productExternalId=MUG-1,MUG-2",
                                  headers=retailer))
    assert len(several) == 2
    single = client.get(f"{V3}/inventory/MUG-2", headers=retailer).get_json()
    assert set(single) == {"product", "balances"} and single["product"]["eanCode"] is None

    # the retailer places an order as the PHP library sends it
    order_in = {
        "externalId": None, "orderDate": "2026-05-01T12:00:00.000+03:00",
        "metadata": {"documentType": "SalesOrder", "client": None},
        "references": [{"name": "PO", "value": "WC-1001"}],
        "vendor": {"externalId": None, "name": "Kauppa Oy", "streetAddress": "Kauppakatu 1",
                   "postalCode": "00100", "postOffice": "HELSINKI", "country": "FI",
                   "telephone": None, "email": "shop@example.test"},
        "sender": None,
        "client": {"externalId": None, "name": "Maija Meikäläinen", "streetAddress":
                   "Kotikatu 2", "postalCode": "00530", "postOffice": "HELSINKI",
                   "country": "FI", "telephone": None, "email": "maija@example.test"},
        "recipient": None,
        "deliveryAddress": {"externalId": None, "name": "Maija Meikäläinen",
                            "streetAddress": "Kotikatu 2", "postalCode": "00530",
                            "postOffice": "HELSINKI", "country": "FI", "telephone": None,
                            "email": None},
        "currency": "EUR", "serviceCode": "2103", "routingServiceCode": None,
        "pickupPointId": None, "deliveryOperator": "Posti", "additionalServices": [],
        "totalPrice": 60.8, "totalTax": 12.36, "totalWholeSalePrice": None,
        "status": None, "preferences": None, "comments": None,
        "rows": [{"externalId": "1", "externalProductId": "MUG-1",
                  "productEANCode": "6438314000104", "productUnitOfMeasure": "KPL",
                  "productDescription": "Mug", "externalWarehouseId": catalog["externalId"],
                  "quantity": 2},
                 {"externalId": "2", "externalProductId": "MUG-2", "productEANCode": None,
                  "productUnitOfMeasure": "KPL", "productDescription": "Mug",
                  "externalWarehouseId": None, "quantity": 1}],
    }
    placed = client.post(f"{V3}/orders", headers=retailer, json=order_in)
    assert placed.status_code == 201, placed.get_json()
    order_id = placed.get_json()["externalId"]
    assert placed.get_json()["status"] == {"value": "Routed"}

    # the supplier polls its new shipments and confirms with parcels and its own codes
    polled = envelope(client.get(f"{V3}/shipments?from=2026-01-01T00:00:00Z"
                                 "&status=Created,Viewed&size=20&page=0", headers=supplier),
                      size=20)
    [shipment] = polled
    assert {"shipmentId", "externalId", "clientId", "metadata", "references", "createdDate",
            "status", "trackingCodes", "consignment"} <= set(shipment)
    assert shipment["status"]["value"] == "Created"
    assert shipment["metadata"]["sourceOrganization"] == retailer_org.business_id
    consignment = shipment["consignment"]
    assert consignment["reference"] == order_id
    assert [(r["itemId"], r["quantity"]) for r in consignment["rows"]] == \
        [("MUG-1", 2), ("MUG-2", 1)]
    [parcel] = consignment["parcels"]
    assert parcel["parcelId"] == "1" and parcel["packageType"] == "PC"
    viewed = client.patch(f"{V3}/shipments/{shipment['shipmentId']}", headers=supplier,
                          json={"status": {"value": "Viewed"}})
    assert viewed.get_json()["status"]["value"] == "Viewed"
    confirm = {"status": {"value": "Delivered"}, "externalId": "ERP-5521",
               "consignment": {"parcels": [
                   {"parcelId": "1", "packageType": "PC", "serviceCode": "2103",
                    "trackingCodes": ["JJFI64383140001234"], "ready": True,
                    "rows": [{"externalWarehouseId": catalog["externalId"], "itemId": "MUG-1",
                              "deliveredQuantity": 2, "quantity": 2},
                             {"externalWarehouseId": catalog["externalId"], "itemId": "MUG-2",
                              "deliveredQuantity": 0, "quantity": 1}]}]}}
    delivered = client.patch(f"{V3}/shipments/{shipment['shipmentId']}", headers=supplier,
                             json=confirm)
    assert delivered.status_code == 200, delivered.get_json()
    assert delivered.get_json()["status"]["value"] == "Delivered"
    assert delivered.get_json()["trackingCodes"] == ["JJFI64383140001234"]
    assert envelope(client.get(f"{V3}/shipments?status=Created,Viewed",
                               headers=supplier)) == []

    # the retailer reads the order: status, row statuses, delivered quantities, tracking
    order = client.get(f"{V3}/orders/{order_id}", headers=retailer).get_json()
    assert order["trackingCodes"] == ["JJFI64383140001234"]
    assert order["status"]["value"] in ("Delivered", "Partially delivered")
    assert [r["deliveredQuantity"] for r in order["rows"]] == [2, 0]
    assert all(set(r["status"]) >= {"value"} for r in order["rows"])
    assert order["preferences"]["autoSubmit"] is True
    assert isinstance(order["totalPrice"], float | int)
    found = envelope(client.get(f"{V3}/orders?modifiedFromDate={SINCE}&size=10&page=0",
                                headers=retailer), size=10)
    assert [o["externalId"] for o in found] == [order_id]
    by_ref = envelope(client.get(f"{V3}/orders?refName=PO&refValue=WC-1001", headers=retailer))
    assert [o["externalId"] for o in by_ref] == [order_id]
    services = client.get(f"{V3}/services?workflow=DROPSHIPPING", headers=retailer)
    assert services.status_code == 200
