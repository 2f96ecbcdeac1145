"""The handover manifest: every parcel a supplier handed over on a day, with its codes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.errors import Forbidden, NotFound
from documents import service
from tests import factories
from tests.documents import builders, pdfs


def test_manifest_lists_every_parcel_handed_over_that_day(session):
    # given two shipments delivered on 26.11. (Finnish time), one the evening before, one of
    # another supplier, and one still being packed
    supplier = builders.new_supplier(session, name="Tehdas Äänekoski Oy")
    on_the_day = [
        builders.shipment(session, supplier=supplier, parcels=2,
                          rows=[("A", 1, 1, "1"), ("B", 1, 1, "1")],
                          delivered_at=datetime(2026, 11, 26, 7, 0, tzinfo=UTC)),
        # 23:30 UTC on the 25th is 01:30 on the 26th in Helsinki
        builders.shipment(session, supplier=supplier,
                          delivered_at=datetime(2026, 11, 25, 23, 30, tzinfo=UTC)),
    ]
    day_before = builders.shipment(session, supplier=supplier,
                                   delivered_at=datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    other = builders.shipment(session, delivered_at=datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    packing = builders.shipment(session, supplier=supplier, status="Packing")
    # when the supplier prints the day's manifest
    pdf = service.manifest_pdf(session, factories.acting(supplier), day=date(2026, 11, 26))
    text = pdfs.text(pdf)
    # then every parcel of that day is there with its tracking code, and nothing else
    codes = [c for s in on_the_day for p in s.parcels for c in p.tracking_codes]
    assert len(codes) == 3
    assert all(code in text for code in codes)
    for excluded in (day_before, other):
        assert excluded.parcels[0].tracking_codes[0] not in text
    assert packing.shipment_id not in text
    assert "Parcels in total: 3" in text and "Shipments: 2" in text
    assert "Tehdas Äänekoski Oy" in text and "26.11.2026" in text
    assert "Received by (carrier)" in text and "Handed over by" in text


def test_manifest_of_chosen_shipments(session):
    supplier = builders.new_supplier(session)
    chosen = builders.shipment(session, supplier=supplier, own_codes=True)
    builders.shipment(session, supplier=supplier)
    pdf = service.manifest_pdf(session, factories.acting(supplier),
                               shipment_ids=[chosen.shipment_id])
    text = pdfs.text(pdf)
    assert chosen.parcels[0].tracking_codes[0] in text
    assert "Parcels in total: 1" in text


def test_manifest_spans_pages_and_counts_them_all(session):
    supplier = builders.new_supplier(session)
    day = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    shipments = [builders.shipment(session, supplier=supplier, delivered_at=day, parcels=3,
                                   rows=[("A", 1, 1, "1"), ("B", 1, 1, "1"), ("C", 1, 1, "1")])
                 for _ in range(25)]
    pdf = service.manifest_pdf(session, factories.acting(supplier), day=date(2026, 11, 26))
    text = pdfs.text(pdf)
    assert len(pdfs.reader(pdf).pages) >= 2
    assert all(p.tracking_codes[0] in text for s in shipments for p in s.parcels)
    assert "Parcels in total: 75" in text


def test_only_the_supplier_gets_its_manifest(session):
    shipment = builders.shipment(session)
    with pytest.raises(Forbidden):
        service.manifest_pdf(session, factories.acting(shipment.order.retailer),
                             day=date(2026, 11, 26))
    with pytest.raises(NotFound):
        service.manifest_pdf(session, factories.acting(builders.new_supplier(session)),
                             shipment_ids=[shipment.shipment_id])
