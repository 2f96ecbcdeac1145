"""Benchmark: address labels into one bulk PDF (issue 4's measure: 1,000 labels ≤ 5 s).

Renders N distinct labels (each its own S10 code and Code 128 barcode) into one PDF, A6 and A4
four-up, and reports seconds, labels per second, the PDF's size, and the peak Python memory of
a second, traced run. No database: this measures the documents themselves. Then the same
through ``documents.service.bulk_pdf`` on a temporary SQLite database (250 shipments of two
parcels), which adds loading the shipments and the access checks.

    .venv/bin/python bench/documents.py [N ...]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import s10  # noqa: E402
from documents.content import Address, LabelData  # noqa: E402
from documents.fonts import register_fonts  # noqa: E402
from documents.labels import render_labels  # noqa: E402


def labels(n: int) -> list[LabelData]:
    sender = Address("Kauppa Åland Öljy Oy", ("Mäkitie 5", "00100 HELSINKI"))
    return [LabelData(
        sender=sender,
        recipient=Address(f"Äijä Östman {i}", ("Runebergin katu 55 B", "00260 HELSINKI"),
                          ("+358 40 765 4321",)),
        service_name="Postipaketti", service_code="2103", order_reference=f"ORD-{i:06d}",
        parcel_number=1, parcel_count=1, tracking_code=s10.format_code("JJ", 1_000_000 + i),
        weight_kg=Decimal("1.25"), shipment_id=f"SHP-{i:06d}") for i in range(n)]


def main(counts: list[int]) -> None:
    register_fonts()
    render_labels(labels(4))  # warm up font subsetting and imports
    print(f"{'labels':>7} {'page':>4} {'seconds':>8} {'labels/s':>9} {'PDF MiB':>8} "
          f"{'peak MiB':>9}")
    for n in counts:
        data = labels(n)
        for page in ("A6", "A4"):
            start = time.perf_counter()
            pdf = render_labels(data, page)
            seconds = time.perf_counter() - start
            tracemalloc.start()
            render_labels(data, page)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"{n:>7} {page:>4} {seconds:>8.2f} {n / seconds:>9.0f} "
                  f"{len(pdf) / 2**20:>8.2f} {peak / 2**20:>9.1f}")


def through_the_service(shipments: int = 250) -> None:
    import tempfile

    from core.db import Database
    from documents.service import bulk_pdf
    from glue.schema import metadata
    from tests import factories
    from tests.documents import builders

    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{folder}/bench.db")
        metadata.create_all(database.engine)
        with database.transaction() as session:
            supplier = builders.new_supplier(session)
            ids = [builders.shipment(session, supplier=supplier, parcels=2,
                                     rows=[("Sähkövatkain", 1, 1, "9.90"),
                                           ("Öljy", 1, 1, "2.00")]).shipment_id
                   for _ in range(shipments)]
            actor = factories.acting(supplier)
        for kind in ("labels", "bundle"):
            with database.transaction() as session:
                start = time.perf_counter()
                pdf = bulk_pdf(session, actor, ids, kind)
                seconds = time.perf_counter() - start
            print(f"service bulk_pdf {kind}: {shipments} shipments, {2 * shipments} labels: "
                  f"{seconds:.2f} s, {2 * shipments / seconds:.0f} labels/s, "
                  f"{len(pdf) / 2**20:.2f} MiB")
        database.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("counts", nargs="*", type=int, default=[500, 1000],
                        help="label counts to render (default: 500 1000)")
    main(parser.parse_args().counts)
    through_the_service()
