"""Bulk printing: many shipments' documents in one PDF.

``labels`` prints every label, ``slips`` every packing slip, ``bundle`` both interleaved: each
shipment's slip followed by its labels, so a packer takes one shipment's papers off the printer
in one go. The caller passes shipments in picking order.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from documents.content import LabelData, SlipData
from documents.labels import draw_label_pages
from documents.labels import new_canvas as new_label_canvas
from documents.packing_slip import draw_packing_slip

KINDS = ("labels", "slips", "bundle")


@dataclass(frozen=True)
class ShipmentDocuments:
    """The documents of one shipment: its slip and the labels of its parcels."""

    slip: SlipData | None
    labels: tuple[LabelData, ...]


def render_bulk(kind: str, shipments: Sequence[ShipmentDocuments],
                page_size: str = "A6") -> bytes:
    """One PDF of ``kind`` for ``shipments`` in the given order; labels on ``page_size``."""
    if kind not in KINDS:
        raise ValueError(f"kind is one of {KINDS}")
    buffer = io.BytesIO()
    canvas = new_label_canvas(buffer, page_size)
    canvas.setTitle({"labels": "Address labels", "slips": "Packing slips",
                     "bundle": "Packing slips and labels"}[kind])
    if kind == "labels":
        # all labels together, so A4 sheets are filled four-up across shipments
        draw_label_pages(canvas, [label for docs in shipments for label in docs.labels],
                         page_size)
    else:
        for docs in shipments:
            if docs.slip is not None:
                draw_packing_slip(canvas, docs.slip)
            if kind == "bundle":
                draw_label_pages(canvas, docs.labels, page_size)
    canvas.save()
    return buffer.getvalue()
