"""The product import's own table: one row per uploaded file, holding its parsed rows, the
column mapping and the progress of the real import.

Everything an import needs between requests lives here, so that any web process can serve
the next step of an import another process started (DESIGN.md 9: no state in process memory).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow
from core.models import JSON

# mapping: the file's columns are mapped and the preview may be asked for;
# running: batches are being written; done: every row was sent; failed: it stopped on an error.
STATES = ("mapping", "running", "done", "failed")


class ProductImport(Base):
    """A CSV or XLSX file of products uploaded by a supplier user.

    ``rows`` are the file's data rows as lists of strings (the header is ``header``);
    ``mapping`` is {column index as a string: target field}; ``processed`` counts the rows
    already sent to ``core.inventory.upsert_inventory``, which is where the next batch starts.
    ``errors`` keeps the first per-row errors as ``{"row", "sku", "errors": [...]}``.
    """

    __tablename__ = "ui_product_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), default=None)
    filename: Mapped[str] = mapped_column(sa.String(300))
    header: Mapped[list[str]] = mapped_column(JSON, default=list)
    rows: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    catalog_external_id: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    state: Mapped[str] = mapped_column(sa.String(10), default="mapping")
    total: Mapped[int] = mapped_column(default=0)
    processed: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def percent(self) -> int:
        """How far the real import is, 0-100 (an empty file is done at once)."""
        if self.state == "done":
            return 100
        return int(self.processed * 100 / self.total) if self.total else 0
