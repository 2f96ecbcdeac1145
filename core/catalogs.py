"""Catalogs (DESIGN.md 3): the supplier's public catalog with its activation requests, and the
private catalogs retailers create.

Service functions take the session and the acting principal, check who may act, record their
events in the same session and flush; the caller commits. A catalog the actor may not see is
``NotFound``; a visible one the actor may not change is ``Forbidden``; a step the current state
does not allow is ``IllegalTransition``.

Private catalog lifecycle, as decided here:

- ``created`` → ``in_use`` (the retailer takes it into use) → ``active`` (the supplier activates).
- Only an ``active`` catalog can be deactivated, by either side; before that, each side holds a
  catalog back simply by not taking its step. The side is remembered in ``deactivated_by``
  (``retailer``, ``supplier`` or ``both``).
- Each side may reactivate only its own hold; the catalog is ``active`` again once neither side
  holds it.

Activation requests: ``requested → active | rejected``, ``active → revoked`` (by the supplier),
``rejected | revoked → requested`` (the retailer asks again).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import Conflict, Forbidden, IllegalTransition, NotFound, ValidationFailed
from core.events import record
from core.models import Balance, Catalog, CatalogAccess, Organization
from core.principal import SYSTEM, Principal

EXTERNAL_ID = re.compile(r"[A-Za-z0-9.\-]{1,64}")  # Code-128-safe: printed as a barcode
_CURRENCY = re.compile(r"[A-Z]{3}")
_GENERATED_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone
SIDES = ("retailer", "supplier")
ROLES = ("RETAILER", "SUPPLIER")
# update_catalog field names, with the wire's camelCase spellings accepted as aliases
_UPDATABLE = {"name": "name", "currency": "currency", "back_order_allowed": "back_order_allowed",
              "backOrderAllowed": "back_order_allowed", "priority": "priority",
              "route_weight": "route_weight", "routeWeight": "route_weight"}


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, [{"field": field, "message": message}])


def validate_external_id(value: str) -> str:
    """A catalog ``externalId``: 1-64 letters, digits, ``-`` or ``.``; else ``ValidationFailed``."""
    if not isinstance(value, str) or not EXTERNAL_ID.fullmatch(value):
        raise _invalid("externalId", f"{value!r} is not a catalog externalId: 1-64 letters, "
                       "digits, '-' or '.'")
    return value


def _taken(session: Session, external_id: str) -> bool:
    return session.scalar(sa.select(Catalog.id).where(Catalog.external_id == external_id)) \
        is not None


def _parties(catalog: Catalog) -> list[int | None]:
    return [catalog.supplier_id, catalog.retailer_id]


def _record(session: Session, actor: Principal, type_: str, catalog: Catalog,
            **data: Any) -> None:
    record(session, actor, type_, "catalog", catalog.external_id, _parties(catalog),
           state=catalog.state, **data)


# --- the public catalog --------------------------------------------------------------------

def public_catalog_of(session: Session, supplier_id: int) -> Catalog | None:
    """The supplier's public catalog, or ``None`` for an organization that never supplied."""
    return session.scalar(sa.select(Catalog).where(
        Catalog.supplier_id == supplier_id, Catalog.is_public.is_(True)))


def ensure_public_catalog(session: Session, supplier_org: Organization, *,
                          actor: Principal = SYSTEM) -> Catalog:
    """The supplier's one public catalog, created if missing.

    Its ``externalId`` is the business ID without ``-`` (the v3 reference's recommendation).
    Should another catalog hold that id already, a ``-2``, ``-3``… suffix keeps it unique.
    """
    catalog = public_catalog_of(session, supplier_org.id)
    if catalog is not None:
        return catalog
    base = supplier_org.business_id.replace("-", "")
    external_id, n = base, 1
    while _taken(session, external_id):
        n += 1
        external_id = f"{base}-{n}"
    catalog = Catalog(external_id=external_id, supplier_id=supplier_org.id,
                      name=supplier_org.name, is_public=True, state="active")
    session.add(catalog)
    session.flush()
    _record(session, actor, "catalog.created", catalog, public=True)
    return catalog


# --- visibility ----------------------------------------------------------------------------

def _may_see(actor: Principal, catalog: Catalog) -> bool:
    if actor.system:
        return True
    org = actor.organization_id
    if org is not None and org in (catalog.supplier_id, catalog.retailer_id):
        return True
    return catalog.is_public and actor.can("retailer") and catalog.supplier.is_supplier


def get_catalog(session: Session, actor: Principal, external_id: str) -> Catalog:
    """The catalog, if the actor may see it (DESIGN.md 2), else ``NotFound``.

    Visible: a supplier's own catalogs, a retailer's own private catalogs, and every supplier's
    public catalog to anyone acting as a retailer.
    """
    catalog = session.scalar(sa.select(Catalog).where(Catalog.external_id == external_id))
    if catalog is None or not _may_see(actor, catalog):
        raise NotFound(f"no catalog {external_id!r}")
    return catalog


def list_catalogs(session: Session, actor: Principal, role: str) -> list[Catalog]:
    """The catalogs the actor sees in one role.

    ``RETAILER``: the public catalogs of every supplier and the actor's own private catalogs;
    which of them it may order from is ``core.access.active_catalog_ids``, and the state of its
    activation requests is :func:`list_access` with role ``RETAILER``. ``SUPPLIER``: the actor's
    own catalogs, public and private, in any state. Public catalogs come first, then by name.
    """
    role = (role or "").upper()
    if role not in ROLES:
        raise _invalid("role", f"role is one of {', '.join(ROLES)}")
    actor.require(role.lower())
    query = sa.select(Catalog).order_by(Catalog.is_public.desc(), Catalog.name, Catalog.id)
    if role == "SUPPLIER":
        if not actor.system:
            query = query.where(Catalog.supplier_id == actor.require_org())
        return list(session.scalars(query))
    public = sa.and_(Catalog.is_public.is_(True), Catalog.supplier_id.in_(
        sa.select(Organization.id).where(Organization.is_supplier.is_(True))))
    if actor.system:
        return list(session.scalars(query.where(public)))
    own = sa.and_(Catalog.is_public.is_(False), Catalog.retailer_id == actor.require_org())
    return list(session.scalars(query.where(sa.or_(public, own))))


# --- private catalogs ----------------------------------------------------------------------

def _generate_external_id(session: Session, supplier_org: Organization) -> str:
    prefix = supplier_org.business_id.replace("-", "")
    while True:
        candidate = f"{prefix}-" + "".join(secrets.choice(_GENERATED_ALPHABET) for _ in range(8))
        if not _taken(session, candidate):
            return candidate


def _currency(value: str) -> str:
    currency = (value or "").strip().upper()
    if not _CURRENCY.fullmatch(currency):
        raise _invalid("currency", f"{value!r} is not an ISO 4217 currency code")
    return currency


def _integer(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(field, f"{field} must be a whole number")
    return value


def create_private_catalog(session: Session, actor: Principal, *, supplier_business_id: str,
                           name: str, external_id: str | None = None, currency: str = "EUR",
                           back_order_allowed: bool = False, priority: int = 0,
                           supplier_country: str = "FI") -> Catalog:
    """A retailer's private catalog naming a supplier, in state ``created``.

    The actor acts as a retailer; the supplier is found by business ID (``NotFound`` if there is
    no such supplier). Without ``external_id`` one is generated (supplier's business ID without
    ``-``, a hyphen and eight random characters); a taken one is a ``Conflict``.
    """
    actor.require("retailer")
    retailer = session.get(Organization, actor.require_org())
    if retailer is None or not retailer.is_retailer:
        raise Forbidden("only a retailer creates private catalogs")
    from core.parties import organization_by_business_id  # parties imports this module

    supplier = organization_by_business_id(session, supplier_business_id, supplier_country)
    if not supplier.is_supplier:
        raise NotFound(f"no supplier with business ID {supplier.business_id}")
    if supplier.id == retailer.id:
        # Each lifecycle step belongs to one side; one organization cannot be both.
        raise _invalid("supplierBusinessId", "a private catalog names another organization")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise _invalid("name", "a catalog needs a name of at most 200 characters")
    if external_id is None:
        external_id = _generate_external_id(session, supplier)
    elif _taken(session, validate_external_id(external_id)):
        raise Conflict(f"catalog externalId {external_id!r} is taken")
    catalog = Catalog(external_id=external_id, supplier_id=supplier.id, retailer_id=retailer.id,
                      name=name, currency=_currency(currency),
                      back_order_allowed=bool(back_order_allowed),
                      priority=_integer("priority", priority), is_public=False, state="created")
    session.add(catalog)
    session.flush()
    _record(session, actor, "catalog.created", catalog, public=False)
    return catalog


def _private(session: Session, actor: Principal, external_id: str) -> Catalog:
    catalog = get_catalog(session, actor, external_id)
    if catalog.is_public:
        raise IllegalTransition("a public catalog has no lifecycle; it uses activation requests")
    return catalog


def _side(actor: Principal, catalog: Catalog, side: str | None = None) -> str:
    """Which side of the private catalog the actor is on, with that side's permission."""
    if actor.system:
        if side not in SIDES:
            raise ValidationFailed("Glue's administration must name the side it acts for")
        return side
    if actor.organization_id == catalog.retailer_id:
        found = "retailer"
    elif actor.organization_id == catalog.supplier_id:
        found = "supplier"
    else:  # pragma: no cover - _private has already hidden the catalog
        raise NotFound("no such catalog")
    if side is not None and side != found:
        raise Forbidden(f"only the {side} may do this")
    actor.require(found)
    return found


def _step(session: Session, actor: Principal, external_id: str, side: str, before: str,
          after: str, event: str) -> Catalog:
    catalog = _private(session, actor, external_id)
    _side(actor, catalog, side)
    if catalog.state != before:
        raise IllegalTransition(f"catalog {external_id} is {catalog.state}, not {before}")
    catalog.state = after
    _record(session, actor, event, catalog)
    session.flush()
    return catalog


def take_into_use(session: Session, actor: Principal, external_id: str) -> Catalog:
    """The retailer takes its private catalog into use: ``created`` → ``in_use``."""
    return _step(session, actor, external_id, "retailer", "created", "in_use",
                 "catalog.taken_into_use")


def activate_catalog(session: Session, actor: Principal, external_id: str) -> Catalog:
    """The supplier activates a private catalog: ``in_use`` → ``active``; orders may use it."""
    return _step(session, actor, external_id, "supplier", "in_use", "active",
                 "catalog.activated")


def _holds(catalog: Catalog) -> set[str]:
    if catalog.deactivated_by == "both":
        return set(SIDES)
    return {catalog.deactivated_by} if catalog.deactivated_by else set()


def _set_holds(catalog: Catalog, holds: set[str]) -> None:
    catalog.deactivated_by = "both" if len(holds) == 2 else (next(iter(holds)) if holds else None)
    catalog.state = "deactivated" if holds else "active"


def deactivate_catalog(session: Session, actor: Principal, external_id: str, *,
                       side: str | None = None) -> Catalog:
    """Either side deactivates an active private catalog (or adds its hold to the other's).

    ``side`` is needed only when SYSTEM acts.
    """
    catalog = _private(session, actor, external_id)
    who = _side(actor, catalog, side)
    holds = _holds(catalog)
    if catalog.state not in ("active", "deactivated") or who in holds:
        raise IllegalTransition(f"catalog {external_id} is {catalog.state}"
                                + (f" by the {who}" if who in holds else ""))
    _set_holds(catalog, holds | {who})
    _record(session, actor, "catalog.deactivated", catalog, by=who,
            deactivatedBy=catalog.deactivated_by)
    session.flush()
    return catalog


def reactivate_catalog(session: Session, actor: Principal, external_id: str, *,
                       side: str | None = None) -> Catalog:
    """Release the actor's side's deactivation; the catalog is ``active`` again once neither
    side holds it. Releasing a hold the side does not have is an ``IllegalTransition``."""
    catalog = _private(session, actor, external_id)
    who = _side(actor, catalog, side)
    holds = _holds(catalog)
    if who not in holds:
        raise IllegalTransition(f"the {who} has not deactivated catalog {external_id}")
    _set_holds(catalog, holds - {who})
    _record(session, actor, "catalog.reactivated", catalog, by=who,
            deactivatedBy=catalog.deactivated_by)
    session.flush()
    return catalog


def update_catalog(session: Session, actor: Principal, external_id: str, /,
                   **fields: Any) -> Catalog:
    """The supplier changes a catalog of its own: name, currency, back_order_allowed, priority,
    route_weight (camelCase spellings accepted). The currency cannot change while products are
    published in the catalog (``Conflict``): their balances are priced in the old one."""
    catalog = get_catalog(session, actor, external_id)
    if not actor.system and actor.organization_id != catalog.supplier_id:
        raise Forbidden("only the catalog's supplier may change it")
    actor.require("supplier")
    clean: dict[str, Any] = {}
    for key, value in fields.items():
        field = _UPDATABLE.get(key)
        if field is None:
            raise _invalid(key, f"{key} cannot be changed")
        if field == "name":
            value = (value or "").strip()
            if not value or len(value) > 200:
                raise _invalid("name", "a catalog needs a name of at most 200 characters")
        elif field == "currency":
            value = _currency(value)
        elif field == "back_order_allowed":
            value = bool(value)
        else:
            value = _integer(key, value)
        clean[field] = value
    changed = {f: v for f, v in clean.items() if getattr(catalog, f) != v}
    if "currency" in changed and session.scalar(
            sa.select(Balance.id).where(Balance.catalog_id == catalog.id).limit(1)):
        raise Conflict("the currency cannot change while products are published in the catalog")
    for field, value in changed.items():
        setattr(catalog, field, value)
    if changed:
        _record(session, actor, "catalog.updated", catalog, fields=sorted(changed))
    session.flush()
    return catalog


# --- activation requests (access to public catalogs) ---------------------------------------

def request_access(session: Session, actor: Principal, catalog_external_id: str,
                   message: str = "") -> CatalogAccess:
    """A retailer asks for access to a supplier's public catalog: a new request, or a rejected
    or revoked one asked again. A pending or active one is an ``IllegalTransition``."""
    actor.require("retailer")
    retailer_id = actor.require_org()
    catalog = get_catalog(session, actor, catalog_external_id)
    if not catalog.is_public:
        raise IllegalTransition("a private catalog needs no activation request")
    if catalog.supplier_id == retailer_id:
        raise _invalid("catalogExternalId", "a supplier needs no access to its own catalog")
    access = session.scalar(sa.select(CatalogAccess).where(
        CatalogAccess.catalog_id == catalog.id, CatalogAccess.retailer_id == retailer_id)
        .with_for_update())
    if access is None:
        access = CatalogAccess(catalog_id=catalog.id, retailer_id=retailer_id)
        try:
            with session.begin_nested():  # a concurrent first request loses cleanly
                session.add(access)
        except IntegrityError:
            raise Conflict("an activation request for this catalog exists") from None
    elif access.state not in ("rejected", "revoked"):
        raise IllegalTransition(f"access to catalog {catalog.external_id} is {access.state}")
    access.state = "requested"
    access.request_message = message
    access.response_message = ""
    access.requested_at = utcnow()
    access.decided_at = None
    session.flush()
    _record_access(session, actor, "catalog_access.requested", access, message=message)
    return access


def _record_access(session: Session, actor: Principal, type_: str, access: CatalogAccess,
                   **data: Any) -> None:
    record(session, actor, type_, "catalog_access", access.id,
           [access.catalog.supplier_id, access.retailer_id],
           catalogExternalId=access.catalog.external_id, retailerId=access.retailer_id,
           state=access.state, **data)


def _supplier_access(session: Session, actor: Principal, access_id: int) -> CatalogAccess:
    actor.require("supplier")
    access = session.get(CatalogAccess, access_id, with_for_update=True)
    if access is None or not (actor.system
                              or access.catalog.supplier_id == actor.organization_id):
        raise NotFound("no such activation request")
    return access


def decide_access(session: Session, actor: Principal, access_id: int, *, accept: bool,
                  message: str = "") -> CatalogAccess:
    """The supplier accepts (``active``) or rejects (``rejected``) a pending request."""
    access = _supplier_access(session, actor, access_id)
    if access.state != "requested":
        raise IllegalTransition(f"the activation request is {access.state}, not requested")
    access.state = "active" if accept else "rejected"
    access.response_message = message
    access.decided_at = utcnow()
    _record_access(session, actor, "catalog_access.accepted" if accept
                   else "catalog_access.rejected", access, message=message)
    session.flush()
    return access


def revoke_access(session: Session, actor: Principal, access_id: int, *,
                  message: str = "") -> CatalogAccess:
    """The supplier revokes a retailer's active access: ``active`` → ``revoked``."""
    access = _supplier_access(session, actor, access_id)
    if access.state != "active":
        raise IllegalTransition(f"access is {access.state}, not active")
    access.state = "revoked"
    access.response_message = message
    access.decided_at = utcnow()
    _record_access(session, actor, "catalog_access.revoked", access, message=message)
    session.flush()
    return access


def list_access(session: Session, actor: Principal, role: str = "SUPPLIER", *,
                catalog_external_id: str | None = None,
                states: tuple[str, ...] | None = None) -> list[CatalogAccess]:
    """Activation requests, newest first: for ``SUPPLIER`` those to the actor's catalogs (who
    uses each public catalog: state ``active``); for ``RETAILER`` the actor's own requests."""
    role = (role or "").upper()
    if role not in ROLES:
        raise _invalid("role", f"role is one of {', '.join(ROLES)}")
    actor.require(role.lower())
    query = (sa.select(CatalogAccess).join(Catalog)
             .order_by(CatalogAccess.requested_at.desc(), CatalogAccess.id.desc()))
    if not actor.system:
        org = actor.require_org()
        query = query.where(Catalog.supplier_id == org if role == "SUPPLIER"
                            else CatalogAccess.retailer_id == org)
    if catalog_external_id is not None:
        query = query.where(Catalog.external_id == catalog_external_id)
    if states:
        query = query.where(CatalogAccess.state.in_(states))
    return list(session.scalars(query))


def retailers_by_catalog(session: Session, actor: Principal) -> dict[str, list[Organization]]:
    """The retailers using each of the supplier's catalogs (visible to it by DESIGN.md 2):
    those with active access to its public catalog and the owner of each private one."""
    actor.require("supplier")
    supplier_id = actor.require_org()
    result: dict[str, list[Organization]] = {}
    for catalog in session.scalars(sa.select(Catalog).where(Catalog.supplier_id == supplier_id)
                                   .order_by(Catalog.is_public.desc(), Catalog.name)):
        if catalog.is_public:
            result[catalog.external_id] = list(session.scalars(
                sa.select(Organization).join(CatalogAccess,
                                             CatalogAccess.retailer_id == Organization.id)
                .where(CatalogAccess.catalog_id == catalog.id, CatalogAccess.state == "active")
                .order_by(Organization.name)))
        else:
            result[catalog.external_id] = [catalog.retailer] if catalog.retailer else []
    return result
