"""Packing slips: white-label by default, prices and supplier only when the retailer says."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from core.document_settings import update_document_settings
from core.errors import NotFound
from documents import service
from tests import factories
from tests.documents import builders, pdfs


def _png(width: int = 120, height: int = 40) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 40, 120)).save(buffer, "PNG")
    return buffer.getvalue()


def test_default_slip_shows_the_shop_and_hides_supplier_and_prices(session):
    # given a shipment whose rows carry prices, for a retailer with default settings
    shipment = builders.shipment(
        session, rows=[("Sähkövatkain Ärjy", 3, 2, "49.90"), ("Öljykannu", 1, 1, "12.35")],
        passthrough=["Jätä ovelle, kiitos!"])
    # when the supplier prints the packing slip
    pdf = service.packing_slip_pdf(session, factories.acting(shipment.supplier),
                                   shipment.shipment_id, "1")
    text = pdfs.text(pdf)
    # then the shop, the rows, quantities and the customer's message are there
    for expected in ("Kauppa Åland Öljy Oy", "Mäkitie 5", "Äijä Östman", "Sähkövatkain Ärjy",
                     "Öljykannu", shipment.rows[0].external_product_id, "6415712345678",
                     "Jätä ovelle, kiitos!", shipment.order.external_id):
        assert expected in text
    # ... but neither the supplier nor any price
    assert shipment.supplier.name not in text
    for price in ("49", "12,35", "12.35", "EUR", "99,80"):
        assert price not in text
    # ... and the order reference scans from its barcode
    assert pdfs.barcodes(pdf) == [shipment.order.external_id]
    assert pdfs.page_sizes_mm(pdf) == [(210, 297)]


def test_slip_shows_prices_and_supplier_when_the_retailer_allows(session):
    shipment = builders.shipment(session, rows=[("Sähkövatkain", 3, 2, "49.90")])
    update_document_settings(session, factories.acting(shipment.order.retailer),
                             show_prices=True, show_supplier=True)
    text = pdfs.text(service.packing_slip_pdf(session, factories.acting(shipment.supplier),
                                              shipment.shipment_id))
    assert shipment.supplier.name in text
    assert "49,90" in text and "99,80" in text and "EUR" in text


def test_slip_carries_the_retailers_logo(session):
    shipment = builders.shipment(session)
    shipment.order.retailer.logo = _png()
    pdf = service.packing_slip_pdf(session, factories.acting(shipment.supplier),
                                   shipment.shipment_id)
    images = pdfs.reader(pdf).pages[0].images
    assert len(images) == 1 and images[0].image.size == (120, 40)


def test_long_shipments_continue_on_further_pages(session):
    rows = [(f"Tuote {i} Äö", 1, 1, "1") for i in range(80)]
    shipment = builders.shipment(session, rows=rows)
    pdf = service.packing_slip_pdf(session, factories.acting(shipment.supplier),
                                   shipment.shipment_id)
    assert len(pdfs.reader(pdf).pages) >= 2
    text = pdfs.text(pdf)
    assert all(f"Tuote {i} Äö" in text for i in range(80))


def test_the_retailer_gets_its_own_orders_slip_and_nobody_else_does(session):
    shipment = builders.shipment(session)
    retailer = factories.acting(shipment.order.retailer)
    assert service.packing_slip_pdf(session, retailer, shipment.shipment_id).startswith(b"%PDF")
    with pytest.raises(NotFound):
        service.packing_slip_pdf(session, factories.acting(builders.new_retailer(session)),
                                 shipment.shipment_id)
