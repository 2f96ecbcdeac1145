"""What the documents say, as plain data built from the model rows.

Rendering modules take these dataclasses only, so they can be drawn (and tested, and
benchmarked) without a database, and the white-label decisions live here in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.carriers import CarrierBackend
from core.document_settings import DocumentSettings
from core.models import Order, Organization, Parcel, Shipment


@dataclass(frozen=True)
class Address:
    """A party as printed: name (may span lines) and address lines."""

    name: str
    lines: tuple[str, ...] = ()
    contact: tuple[str, ...] = ()

    @property
    def name_lines(self) -> list[str]:
        return [line for line in self.name.splitlines() if line.strip()] or [""]


@dataclass(frozen=True)
class LabelData:
    sender: Address
    recipient: Address
    service_name: str
    service_code: str
    order_reference: str
    parcel_number: int
    parcel_count: int
    tracking_code: str | None
    weight_kg: Decimal | None = None
    pickup_point: str | None = None
    shipment_id: str = ""


@dataclass(frozen=True)
class SlipRow:
    name: str
    sku: str
    ean: str
    ordered: int
    delivered: int
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class SlipData:
    retailer: Address
    recipient: Address
    order_reference: str
    order_date: datetime | None
    shipment_id: str
    rows: tuple[SlipRow, ...]
    comments: tuple[str, ...] = ()
    logo: bytes | None = None
    supplier: Address | None = None  # only when the retailer allows it
    currency: str | None = None  # only when the retailer shows prices
    show_prices: bool = False


@dataclass(frozen=True)
class ManifestLine:
    shipment_id: str
    order_reference: str
    parcel_id: str
    recipient: str
    service: str
    weight_kg: Decimal | None
    tracking_codes: tuple[str, ...]
    delivered_at: datetime | None


@dataclass(frozen=True)
class ManifestData:
    supplier: Address
    supplier_business_id: str
    title_date: str
    lines: tuple[ManifestLine, ...] = field(default_factory=tuple)


def party_address(party: dict[str, Any] | None) -> Address | None:
    """An order party (``{name, streetAddress, postalCode, postOffice, country, ...}``)."""
    if not party or not any(party.get(k) for k in ("name", "streetAddress", "postOffice")):
        return None
    city = " ".join(str(party.get(k) or "").strip() for k in ("postalCode", "postOffice")).strip()
    country = str(party.get("country") or "").strip()
    lines = [str(party.get("streetAddress") or "").strip(), city]
    if country and country.upper() != "FI":
        lines.append(country)
    contact = [str(party.get(k) or "").strip() for k in ("telephone", "email")]
    return Address(name=str(party.get("name") or "").strip(),
                   lines=tuple(line for line in lines if line),
                   contact=tuple(c for c in contact if c))


def organization_address(organization: Organization, *, with_contact: bool = True) -> Address:
    city = f"{organization.postal_code} {organization.post_office}".strip()
    lines = tuple(line for line in (organization.street_address, city) if line)
    contact = (tuple(c for c in (organization.telephone, organization.email) if c)
               if with_contact else ())
    return Address(name=organization.name, lines=lines, contact=contact)


def retailer_address(order: Order) -> Address:
    """The shop as the customer knows it: the order's ``vendor`` party, else the retailer."""
    return party_address(order.parties.get("vendor")) or organization_address(order.retailer)


def label_data(shipment: Shipment, parcel: Parcel, carrier: CarrierBackend) -> LabelData:
    """The label of one parcel. The sender is the order's ``sender`` party (returns go there),
    else the shop: a label never names the supplier unless the order made it the sender."""
    order = shipment.order
    parties = order.parties or {}
    sender = party_address(parties.get("sender")) or retailer_address(order)
    recipient = (party_address(parties.get("deliveryAddress"))
                 or party_address(parties.get("client")) or Address(name=""))
    service = carrier.describe_service(parcel.service_code or order.service_code)
    parcels = list(shipment.parcels)
    return LabelData(
        sender=sender, recipient=recipient, service_name=service.name,
        service_code=service.code, order_reference=order.external_id,
        parcel_number=parcels.index(parcel) + 1, parcel_count=len(parcels),
        tracking_code=parcel.tracking_codes[0] if parcel.tracking_codes else None,
        weight_kg=parcel.weight, pickup_point=order.pickup_point_id,
        shipment_id=shipment.shipment_id)


def slip_data(shipment: Shipment, settings: DocumentSettings) -> SlipData:
    """The white-label packing slip of a shipment under the retailer's settings."""
    order = shipment.order
    rows = tuple(SlipRow(
        name=row.product_description or _product_name(row.product.descriptions)
        or row.external_product_id,
        sku=row.external_product_id, ean=row.product_ean_code or row.product.ean_code or "",
        ordered=row.quantity, delivered=row.delivered_quantity,
        unit_price=row.price if settings.show_prices else None) for row in shipment.rows)
    comments = tuple(c.value for c in order.comments if c.type == "passThrough")
    return SlipData(
        retailer=retailer_address(order),
        recipient=(party_address((order.parties or {}).get("deliveryAddress"))
                   or party_address((order.parties or {}).get("client")) or Address(name="")),
        order_reference=order.external_id, order_date=order.order_date,
        shipment_id=shipment.shipment_id, rows=rows, comments=comments,
        logo=order.retailer.logo,
        supplier=(organization_address(shipment.supplier, with_contact=False)
                  if settings.show_supplier else None),
        currency=order.currency if settings.show_prices else None,
        show_prices=settings.show_prices)


def manifest_lines(shipments: list[Shipment],
                   carrier: CarrierBackend) -> tuple[ManifestLine, ...]:
    """One line per parcel of ``shipments``, the recipient as name and post office."""
    lines = []
    for shipment in shipments:
        order = shipment.order
        recipient = party_address((order.parties or {}).get("deliveryAddress"))
        where = ", ".join(x for x in (recipient.name_lines[0], recipient.lines[-1]
                                      if recipient.lines else "") if x) if recipient else ""
        for parcel in shipment.parcels:
            service = carrier.describe_service(parcel.service_code or order.service_code)
            lines.append(ManifestLine(
                shipment_id=shipment.shipment_id, order_reference=order.external_id,
                parcel_id=parcel.parcel_id, recipient=where,
                service=f"{service.name} {service.code}", weight_kg=parcel.weight,
                tracking_codes=tuple(parcel.tracking_codes or ()),
                delivered_at=shipment.delivered_at))
    return tuple(lines)


def _product_name(descriptions: dict[str, Any] | None) -> str:
    for language in ("fi", "en", "sv"):
        name = ((descriptions or {}).get(language) or {}).get("name")
        if name:
            return str(name)
    for texts in (descriptions or {}).values():
        if isinstance(texts, dict) and texts.get("name"):
            return str(texts["name"])
    return ""
