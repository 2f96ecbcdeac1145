"""``glue demo``: seed demo data for the embedded default, idempotently.

Running it again changes nothing: every object is found by its natural key first (business ID,
e-mail, catalog or order externalId), and product upserts only touch what differs.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import catalogs, inventory, orders, parties, shipments
from core.models import Catalog, CatalogAccess, Order, Organization, Product, User
from core.order_input import parse_order
from core.principal import SYSTEM, Principal
from core.settings import get_settings

PASSWORD = "glue-demo-2026"

SUPPLIERS = [
    {"business_id": "2345678-0", "name": "Pohjolan Retkeily Oy", "prefix": "PR",
     "email": "toimittaja@retkeily.example", "kind": "outdoor"},
    {"business_id": "3456790-2", "name": "Keittiötaika Oy", "prefix": "KT",
     "email": "toimittaja@keittiotaika.example", "kind": "kitchen"},
]
RETAILERS = [
    {"business_id": "4567890-7", "name": "Verkkokauppa Helmi Oy",
     "email": "kauppias@helmi.example"},
    {"business_id": "5678901-2", "name": "Pohjoisen Putiikki Oy",
     "email": "kauppias@putiikki.example"},
]

OUTDOOR = [("Takki", "Jacket", "89.90"), ("Housut", "Trousers", "69.90"),
           ("Fleece", "Fleece", "49.90"), ("Pipo", "Beanie", "19.90"),
           ("Hanskat", "Gloves", "24.90"), ("Sukat", "Socks", "12.90")]
KITCHEN = [("Kattila", "Pot", "59.00"), ("Paistinpannu", "Frying pan", "45.00"),
           ("Kulho", "Bowl", "14.50"), ("Muki", "Mug", "11.00"),
           ("Veitsi", "Knife", "39.00"), ("Leikkuulauta", "Cutting board", "22.00")]
COLOURS = [("Punainen", "Red"), ("Sininen", "Blue"), ("Musta", "Black"), ("Vihreä", "Green")]
SIZES = ["S", "M", "L", "XL"]
KITCHEN_SIZES = ["0.5 l", "1 l", "2 l", "3 l"]
MODELS_PER_KIND = 10  # 6 types x 10 models x 4 colours = 240 products per supplier, in groups


def seed(session: Session) -> dict[str, Any]:
    """Create the demo parties, products, catalogs and orders; return the logins."""
    orgs = {o["business_id"]: _organization(session, o, supplier=True) for o in SUPPLIERS}
    orgs |= {o["business_id"]: _organization(session, o, retailer=True) for o in RETAILERS}
    for spec in SUPPLIERS:
        _products(session, orgs[spec["business_id"]], spec)
    helmi, putiikki = (orgs[r["business_id"]] for r in RETAILERS)
    retkeily, keittio = (orgs[s["business_id"]] for s in SUPPLIERS)

    # Helmi uses both public catalogs; Putiikki's request to Retkeily still waits for an answer.
    _access(session, helmi, retkeily, accept=True)
    _access(session, helmi, keittio, accept=True)
    _access(session, putiikki, retkeily, accept=False)
    private = _private_catalog(session, putiikki, keittio)
    _orders(session, helmi, putiikki, retkeily, keittio, private)
    from sandbox import demo as demo_shops

    shops = demo_shops.seed(session)
    return {
        "url": get_settings().public_url,
        "password": PASSWORD,
        "logins": [{"email": o["email"], "organization": o["name"],
                    "role": "supplier" if o in SUPPLIERS else "retailer"}
                   for o in SUPPLIERS + RETAILERS],
        "demo_shops": [f"{get_settings().public_url}/demo-shops/{key}" for key in shops],
    }


def _actor(org: Organization) -> Principal:
    perms = {"admin"} | ({"supplier"} if org.is_supplier else set()) | (
        {"retailer"} if org.is_retailer else set())
    return Principal(organization_id=org.id, permissions=frozenset(perms), label="demo")


def _organization(session: Session, spec: dict[str, Any], *, supplier: bool = False,
                  retailer: bool = False) -> Organization:
    org = session.scalar(sa.select(Organization).where(
        Organization.business_id == spec["business_id"]))
    if org is None:
        org = parties.create_organization(session, SYSTEM, business_id=spec["business_id"],
                                          name=spec["name"], supplier=supplier,
                                          retailer=retailer)
    if session.scalar(sa.select(User).where(User.email == spec["email"])) is None:
        parties.create_user(session, SYSTEM, email=spec["email"], organization_id=org.id,
                            name=spec["name"], password=PASSWORD,
                            permissions=["admin", "supplier" if supplier else "retailer"])
    return org


def _products(session: Session, supplier: Organization, spec: dict[str, Any]) -> None:
    """The supplier's products, once: a second run must not reset stock that orders took."""
    if session.scalar(sa.select(Product.id).where(Product.supplier_id == supplier.id).limit(1)):
        return
    public = catalogs.public_catalog_of(session, supplier.id)
    types = OUTDOOR if spec["kind"] == "outdoor" else KITCHEN
    sizes = SIZES if spec["kind"] == "outdoor" else KITCHEN_SIZES
    base_url = get_settings().public_url.rstrip("/")
    items = []
    serial = itertools.count(1)
    for (fi, en, price), model in itertools.product(types, range(1, MODELS_PER_KIND + 1)):
        for (colour_fi, colour_en), size in zip(COLOURS, sizes, strict=True):
            n = next(serial)
            sku = f"{spec['prefix']}-{n:04d}"
            group = f"{spec['prefix']}-{en.upper().replace(' ', '')}-{model:02d}"
            rrp = Decimal(price) + model
            items.append({
                "product": {
                    "externalId": sku,
                    "eanCode": _ean13(f"64{int(supplier.business_id[:7]):07d}{n:03d}"),
                    "recommendedRetailPrice": str(rrp), "currency": "EUR",
                    "vatPercentage": "25.5", "unitOfMeasure": "KPL", "status": "ACTIVE",
                    "variantGroupId": group,
                    "measurements": {"weight": "0.8", "length": "0.4", "width": "0.3",
                                     "height": "0.1"},
                    "images": [{"url": f"{base_url}/demo/images/{sku}.png"}],
                    "descriptions": {
                        "fi": {"name": f"{fi} {model} {colour_fi.lower()} {size}",
                               "shortDescription": f"{fi}, malli {model}",
                               "specifications": [{"type": "Options", "properties": [
                                   {"name": "Väri", "value": colour_fi},
                                   {"name": "Koko", "value": size}]}]},
                        "en": {"name": f"{en} {model} {colour_en.lower()} {size}",
                               "shortDescription": f"{en}, model {model}",
                               "specifications": [{"type": "Options", "properties": [
                                   {"name": "Colour", "value": colour_en},
                                   {"name": "Size", "value": size}]}]},
                    },
                },
                "balances": [{"catalogExternalId": public.external_id, "retailerId": None,
                              "quantity": 5 + (n * 7) % 40,
                              "wholesalePrice": str((rrp * Decimal("0.55")).quantize(
                                  Decimal("0.01"))), "currency": "EUR"}],
            })
    for start in range(0, len(items), 2000):
        failed = inventory.upsert_inventory(session, _actor(supplier), items[start:start + 2000])
        if failed:
            raise RuntimeError(f"demo products rejected: {failed[:3]}")


def _ean13(first12: str) -> str:
    digits = [int(d) for d in first12[:12]]
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return first12[:12] + str((10 - total % 10) % 10)


def _access(session: Session, retailer: Organization, supplier: Organization, *,
            accept: bool) -> None:
    public = catalogs.public_catalog_of(session, supplier.id)
    existing = session.scalar(sa.select(CatalogAccess).where(
        CatalogAccess.catalog_id == public.id, CatalogAccess.retailer_id == retailer.id))
    if existing is not None:
        return
    access = catalogs.request_access(session, _actor(retailer), public.external_id,
                                     message="Haluaisimme myydä tuotteitanne.")
    if accept:
        catalogs.decide_access(session, _actor(supplier), access.id, accept=True,
                               message="Tervetuloa!")


def _private_catalog(session: Session, retailer: Organization, supplier: Organization) -> Catalog:
    external_id = "PUTIIKKI-KT"
    catalog = session.scalar(sa.select(Catalog).where(Catalog.external_id == external_id))
    if catalog is not None:
        return catalog
    catalog = catalogs.create_private_catalog(
        session, _actor(retailer), supplier_business_id=supplier.business_id,
        name="Putiikin keittiövalikoima", external_id=external_id, priority=10)
    catalogs.take_into_use(session, _actor(retailer), external_id)
    catalogs.activate_catalog(session, _actor(supplier), external_id)
    items = [{"product": {"externalId": f"KT-{n:04d}"},
              "balances": [{"catalogExternalId": external_id,
                            "retailerId": retailer.business_id, "quantity": 25,
                            "wholesalePrice": "9.50", "currency": "EUR"}]}
             for n in range(1, 41)]
    failed = inventory.upsert_inventory(session, _actor(supplier), items)
    if failed:
        raise RuntimeError(f"demo private catalog rejected: {failed[:3]}")
    return catalog


def _party(name: str, street: str, postal: str, city: str, email: str) -> dict[str, str]:
    return {"name": name, "streetAddress": street, "postalCode": postal, "postOffice": city,
            "country": "FI", "email": email, "telephone": "+358401234567"}


def _order(session: Session, retailer: Organization, external_id: str,
           rows: list[tuple[str, str, int]]) -> Order | None:
    """Create the order unless it exists; ``None`` when it already did."""
    if session.scalar(sa.select(Order).where(Order.retailer_id == retailer.id,
                                             Order.external_id == external_id)):
        return None
    customer = _party("Aino Asiakas", "Mannerheimintie 1", "00100", "Helsinki",
                      "aino@asiakas.example")
    data = {
        "externalId": external_id, "currency": "EUR", "deliveryOperator": "Posti",
        "serviceCode": "2103", "references": [{"name": "SO", "value": external_id}],
        "vendor": _party(retailer.name, "Kauppakatu 5", "33100", "Tampere",
                         "myynti@kauppa.example"),
        "client": customer, "deliveryAddress": customer,
        "rows": [{"externalId": str(i + 1), "externalProductId": sku,
                  "externalWarehouseId": catalog, "quantity": qty}
                 for i, (sku, catalog, qty) in enumerate(rows)],
    }
    return orders.create_order(session, _actor(retailer), parse_order(data))


def _orders(session: Session, helmi: Organization, putiikki: Organization,
            retkeily: Organization, keittio: Organization, private: Catalog) -> None:
    pr = catalogs.public_catalog_of(session, retkeily.id).external_id
    kt = catalogs.public_catalog_of(session, keittio.id).external_id
    _order(session, helmi, "HELMI-1001", [("PR-0001", pr, 1), ("KT-0005", kt, 2)])  # Routed

    delivered = _order(session, helmi, "HELMI-1002", [("PR-0010", pr, 1), ("KT-0010", kt, 1)])
    if delivered:
        for shipment in delivered.shipments:
            shipments.fast_confirm(session, _actor(shipment.supplier), shipment.shipment_id)

    partial = _order(session, helmi, "HELMI-1003", [("PR-0020", pr, 2), ("KT-0020", kt, 1)])
    if partial:
        first, second = partial.shipments
        shipments.fast_confirm(session, _actor(first.supplier), first.shipment_id)
        shipments.set_shipment_status(session, _actor(second.supplier), second.shipment_id,
                                      "Picking")

    cancelled = _order(session, helmi, "HELMI-1004", [("PR-0030", pr, 1)])
    if cancelled:
        orders.cancel_order(session, _actor(helmi), cancelled.external_id)

    own = _order(session, putiikki, "PUTIIKKI-501", [("KT-0003", private.external_id, 3)])
    if own:
        shipments.set_shipment_status(session, _actor(keittio), own.shipments[0].shipment_id,
                                      "Viewed")
