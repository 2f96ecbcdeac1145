"""Test data built straight from the models: fast, and independent of the services under test.

Service tests for parties, catalogs and products exercise the real service functions; every
other test uses these to set the stage.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.models import (
    Balance,
    Catalog,
    CatalogAccess,
    Event,
    Membership,
    Organization,
    Product,
    User,
)
from core.principal import Principal

_seq = itertools.count(1)


def business_id(serial: int | None = None) -> str:
    """A valid Finnish business ID (Y-tunnus), distinct for every serial below 1,000,000."""
    serial = next(_seq) if serial is None else serial
    weights = (7, 9, 10, 5, 8, 4, 2)
    for last in range(10):  # exactly one seventh digit leaves remainder 1 (no check digit)
        body = f"{serial % 1_000_000:06d}{last}"
        rem = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11
        if rem != 1:
            return f"{body}-{0 if rem == 0 else 11 - rem}"
    raise AssertionError("unreachable")


def org(session: Session, *, supplier: bool = False, retailer: bool = False,
        name: str | None = None) -> Organization:
    n = next(_seq)
    organization = Organization(business_id=business_id(n), name=name or f"Org {n}",
                                is_supplier=supplier, is_retailer=retailer)
    session.add(organization)
    session.flush()
    if supplier:
        session.add(Catalog(external_id=organization.business_id.replace("-", ""),
                            supplier_id=organization.id, name=f"{organization.name} catalog",
                            is_public=True, state="active"))
        session.flush()
    return organization


def supplier(session: Session, **kw) -> Organization:  # noqa: ANN003
    return org(session, supplier=True, **kw)


def retailer(session: Session, **kw) -> Organization:  # noqa: ANN003
    return org(session, retailer=True, **kw)


def public_catalog(session: Session, supplier_org: Organization) -> Catalog:
    return session.query(Catalog).filter_by(supplier_id=supplier_org.id, is_public=True).one()


def private_catalog(session: Session, supplier_org: Organization, retailer_org: Organization,
                    *, state: str = "active", **kw) -> Catalog:  # noqa: ANN003
    catalog = Catalog(external_id=f"PRIV-{next(_seq)}", supplier_id=supplier_org.id,
                      retailer_id=retailer_org.id, name="Private", is_public=False,
                      state=state, **kw)
    session.add(catalog)
    session.flush()
    return catalog


def grant(session: Session, catalog: Catalog, retailer_org: Organization,
          state: str = "active") -> CatalogAccess:
    access = CatalogAccess(catalog_id=catalog.id, retailer_id=retailer_org.id, state=state)
    session.add(access)
    session.flush()
    return access


def product(session: Session, supplier_org: Organization, external_id: str | None = None,
            **kw) -> Product:  # noqa: ANN003
    kw.setdefault("descriptions", {"en": {"name": f"Product {external_id or ''}".strip()}})
    p = Product(supplier_id=supplier_org.id, external_id=external_id or f"P-{next(_seq)}", **kw)
    session.add(p)
    session.flush()
    return p


def publish(session: Session, product_: Product, catalog: Catalog, quantity: int = 10,
            price: Decimal | str = "10.00") -> Balance:
    balance = Balance(catalog_id=catalog.id, product_id=product_.id, quantity=quantity,
                      wholesale_price=Decimal(price), currency=catalog.currency)
    session.add(balance)
    session.flush()
    return balance


def user(session: Session, organization: Organization, *permissions: str,
         email: str | None = None) -> User:
    u = User(email=email or f"user{next(_seq)}@example.test", name="Test User")
    session.add(u)
    session.flush()
    session.add(Membership(user_id=u.id, organization_id=organization.id,
                           is_admin="admin" in permissions, is_supplier="supplier" in permissions,
                           is_retailer="retailer" in permissions))
    session.flush()
    return u


def acting(organization: Organization, *permissions: str) -> Principal:
    """A principal acting for ``organization``; by default with the organization's roles."""
    perms = set(permissions) or ({"supplier"} if organization.is_supplier else set()) | (
        {"retailer"} if organization.is_retailer else set())
    return Principal(organization_id=organization.id, permissions=frozenset(perms),
                     label=f"test:{organization.name}")


def events(session: Session, type_: str | None = None) -> list[Event]:
    """The recorded events, oldest first, optionally of one type."""
    query = sa.select(Event).order_by(Event.id)
    if type_ is not None:
        query = query.where(Event.type == type_)
    return list(session.scalars(query))
