"""The supplier directory a retailer browses: every supplier's public profile, and what the
retailer may do with the supplier's public catalog.

The browser UI lists it (``/retailer/suppliers``) and shows one supplier's page from it; the
rule of what a retailer sees lives here so that any other face of Glue (an API, a CLI) shows
the same directory. Only public profile fields leave this module: no prices, stock or
members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.access import active_catalog_ids
from core.catalogs import list_access
from core.errors import NotFound
from core.models import Catalog, CatalogAccess, Organization
from core.principal import Principal


@dataclass(frozen=True)
class AccessRequest:
    """The retailer's activation request for a public catalog, as the retailer sees it."""

    state: str
    request_message: str
    response_message: str
    requested_at: datetime | None
    decided_at: datetime | None


@dataclass(frozen=True)
class DirectoryEntry:
    """One supplier as the directory shows it to a retailer.

    ``state`` is one word for what the retailer may do with the supplier's public catalog (see
    :func:`catalog_state`); ``none`` when the supplier has no public catalog or the retailer
    never asked.
    """

    name: str
    business_id: str
    description: str
    website: str
    ships_to: list[str] = field(default_factory=list)
    state: str = "none"
    catalog_external_id: str | None = None
    catalog_name: str | None = None
    access: AccessRequest | None = None


def catalog_state(catalog: Catalog, access: CatalogAccess | None, active: set[int]) -> str:
    """What the retailer may do with ``catalog``: ``active`` (prices, stock and ordering), a
    private catalog's own state, or for a public one its activation request's state (``none``
    when never asked). ``active`` is the retailer's active catalog ids
    (:func:`core.access.active_catalog_ids`)."""
    if catalog.id in active:
        return "active"
    if not catalog.is_public:
        return catalog.state
    return access.state if access is not None else "none"


def access_by_catalog(session: Session, actor: Principal) -> dict[int, CatalogAccess]:
    """The acting retailer's activation requests, by catalog id."""
    return {a.catalog_id: a for a in list_access(session, actor, "RETAILER")}


def _entry(org: Organization, catalog: Catalog | None, access: CatalogAccess | None,
           active: set[int]) -> DirectoryEntry:
    return DirectoryEntry(
        name=org.name, business_id=org.business_id, description=org.description or "",
        website=org.website or "", ships_to=list(org.ships_to or []),
        state=catalog_state(catalog, access, active) if catalog is not None else "none",
        catalog_external_id=catalog.external_id if catalog is not None else None,
        catalog_name=catalog.name if catalog is not None else None,
        access=AccessRequest(access.state, access.request_message or "",
                             access.response_message or "", access.requested_at,
                             access.decided_at) if access is not None else None)


def list_suppliers(session: Session, actor: Principal) -> list[DirectoryEntry]:
    """Every supplier other than the actor's own organization, by name, with the state of the
    actor's access to its public catalog. Needs the ``retailer`` permission."""
    actor.require("retailer")
    retailer_id = actor.require_org()
    suppliers = list(session.scalars(
        sa.select(Organization)
        .where(Organization.is_supplier.is_(True), Organization.id != retailer_id)
        .order_by(Organization.name, Organization.id)))
    publics = {c.supplier_id: c for c in session.scalars(
        sa.select(Catalog).where(Catalog.is_public.is_(True),
                                 Catalog.supplier_id.in_([o.id for o in suppliers])))}
    access = access_by_catalog(session, actor)
    active = active_catalog_ids(session, retailer_id)
    entries = []
    for org in suppliers:
        catalog = publics.get(org.id)
        entries.append(_entry(org, catalog, access.get(catalog.id) if catalog else None, active))
    return entries


def get_supplier(session: Session, actor: Principal, business_id: str) -> DirectoryEntry:
    """One supplier of the directory by business ID, with the actor's activation request.
    ``NotFound`` for an unknown business ID, an organization that is not a supplier, or the
    actor's own organization (its own catalogs are supplier pages)."""
    actor.require("retailer")
    retailer_id = actor.require_org()
    org = session.scalar(sa.select(Organization).where(
        Organization.business_id == business_id, Organization.is_supplier.is_(True)))
    if org is None or org.id == retailer_id:
        raise NotFound(f"no supplier with business ID {business_id}")
    catalog = session.scalar(sa.select(Catalog).where(
        Catalog.supplier_id == org.id, Catalog.is_public.is_(True)))
    access = access_by_catalog(session, actor).get(catalog.id) if catalog else None
    return _entry(org, catalog, access, active_catalog_ids(session, retailer_id))
