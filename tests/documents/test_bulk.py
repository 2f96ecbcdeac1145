"""Bulk printing: many shipments into one PDF, in picking order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import Conflict, NotFound, ValidationFailed
from documents import service
from tests import factories
from tests.documents import builders, pdfs

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def _three(session):  # noqa: ANN001, ANN202
    supplier = builders.new_supplier(session)
    # created in the order 2nd, 3rd, 1st, so picking order differs from the request order
    second = builders.shipment(session, supplier=supplier, parcels=2, created_at=T0,
                               rows=[("A", 1, 1, "1"), ("B", 1, 1, "1")])
    third = builders.shipment(session, supplier=supplier, created_at=T0 + timedelta(hours=1))
    first = builders.shipment(session, supplier=supplier, created_at=T0 - timedelta(hours=1))
    return supplier, [first, second, third]


def test_labels_of_many_shipments_in_one_pdf(session):
    supplier, shipments = _three(session)
    ids = [s.shipment_id for s in reversed(shipments)]
    pdf = service.bulk_pdf(session, factories.acting(supplier), ids, "labels")
    assert pdfs.page_sizes_mm(pdf) == [(105, 148)] * 4
    expected = [p.tracking_codes[0] for s in shipments for p in s.parcels]
    assert [pdfs.barcodes(pdf, i)[0] for i in range(4)] == expected


def test_slips_of_many_shipments_one_each(session):
    supplier, shipments = _three(session)
    pdf = service.bulk_pdf(session, factories.acting(supplier),
                           [s.shipment_id for s in shipments], "slips")
    assert pdfs.page_sizes_mm(pdf) == [(210, 297)] * 3
    assert [pdfs.barcodes(pdf, i) for i in range(3)] == [[s.order.external_id]
                                                         for s in shipments]


def test_bundle_interleaves_each_slip_with_its_labels(session):
    supplier, shipments = _three(session)
    pdf = service.bulk_pdf(session, factories.acting(supplier),
                           [s.shipment_id for s in shipments], "bundle")
    # slip, label | slip, label, label | slip, label
    assert pdfs.page_sizes_mm(pdf) == [(210, 297), (105, 148), (210, 297), (105, 148),
                                       (105, 148), (210, 297), (105, 148)]
    assert pdfs.barcodes(pdf, 2) == [shipments[1].order.external_id]
    assert pdfs.barcodes(pdf, 4) == [shipments[1].parcels[1].tracking_codes[0]]


def test_bulk_refuses_foreign_shipments_and_bad_requests(session):
    supplier, shipments = _three(session)
    foreign = builders.shipment(session)
    actor = factories.acting(supplier)
    with pytest.raises(NotFound):
        service.bulk_pdf(session, actor, [shipments[0].shipment_id, foreign.shipment_id],
                         "labels")
    with pytest.raises(ValidationFailed):
        service.bulk_pdf(session, actor, [], "labels")
    with pytest.raises(ValidationFailed):
        service.bulk_pdf(session, actor, [shipments[0].shipment_id], "labels", "A5")


def test_labels_need_at_least_one_glue_label(session):
    supplier = builders.new_supplier(session)
    own = builders.shipment(session, supplier=supplier, own_codes=True)
    with pytest.raises(Conflict):
        service.bulk_pdf(session, factories.acting(supplier), [own.shipment_id], "labels")
