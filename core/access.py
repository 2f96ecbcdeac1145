"""The visibility rule (DESIGN.md 2) as queries, so every service asks the same question."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.models import Catalog, CatalogAccess

# Private catalog states and public-catalog access states (DESIGN.md 3).
PRIVATE_STATES = ("created", "in_use", "active", "deactivated")
ACCESS_STATES = ("requested", "active", "rejected", "revoked")


def active_catalogs_query(retailer_id: int) -> sa.Select[tuple[int]]:
    """Ids of the catalogs whose prices and stock the retailer sees and may order from:
    public catalogs it has active access to, and its own active private catalogs."""
    public = (sa.select(CatalogAccess.catalog_id)
              .where(CatalogAccess.retailer_id == retailer_id, CatalogAccess.state == "active"))
    private = (sa.select(Catalog.id)
               .where(Catalog.retailer_id == retailer_id, Catalog.is_public.is_(False),
                      Catalog.state == "active"))
    return sa.union(public, private)


def active_catalog_ids(session: Session, retailer_id: int) -> set[int]:
    return set(session.scalars(active_catalogs_query(retailer_id)))
