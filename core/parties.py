"""Parties (DESIGN.md 2): organizations, their users and memberships, and invitations.

Every service function takes the session and the acting principal, checks who may act, records
its events in the same session and flushes; the caller commits. API accounts live in
``core.api_accounts``.

Decisions worth knowing:

- Business IDs. A Finnish ID is stored as ``NNNNNNN-C`` with its check digit validated. Another
  country's ID is free text stored as ``CC-ID`` (country code, hyphen, the ID upper-cased without
  spaces), so that IDs of two countries never collide in the unique column and the derived public
  catalog ``externalId`` (the business ID without ``-``) reads like a VAT number.
- Effective permissions are the membership's permissions narrowed to the organization's roles:
  a ``supplier`` permission means nothing in an organization that is not a supplier.
- Adding an existing user (same e-mail) to another organization only adds a membership; the
  account's password, name and language belong to its owner and are never changed by another
  organization's admin. Accepting an invitation as an existing user needs that user's password.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import catalogs
from core.crypto import hash_password, new_secret, token_digest, verify_password
from core.db import utcnow
from core.errors import Conflict, Forbidden, IllegalTransition, NotFound, ValidationFailed
from core.events import record
from core.logos import MAX_BYTES, validate_logo
from core.models import Invitation, Membership, Organization, User
from core.principal import PERMISSIONS, Principal

LANGUAGES = ("fi", "sv", "en")
MIN_PASSWORD_LENGTH = 8
INVITATION_TTL = timedelta(days=7)
MAX_LOGO_BYTES = MAX_BYTES

_Y_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)
_Y_TUNNUS = re.compile(r"(?:FI)?(\d{7})-?(\d)|(\d{6})-(\d)")
_FOREIGN_ID = re.compile(r"[A-Z0-9][A-Z0-9.\-]*")
_COUNTRY = re.compile(r"[A-Z]{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

# profile field -> maximum length (None: unbounded text); ships_to and logo are checked apart
_PROFILE_TEXT = {"name": 200, "description": None, "website": 300, "street_address": 200,
                 "postal_code": 20, "post_office": 100, "email": 200, "telephone": 50}
PROFILE_FIELDS = (*_PROFILE_TEXT, "ships_to", "logo", "logo_content_type")


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, [{"field": field, "message": message}])


# --- business IDs --------------------------------------------------------------------------

def normalize_business_id(value: str, country: str = "FI") -> str:
    """The canonical form of a business ID, or ``ValidationFailed``.

    Finland: ``1234567-8``, ``12345678``, ``FI12345678`` (the VAT form) and a 6-digit body
    (``123456-7`` → ``0123456-7``) are accepted; the check digit (weights 7,9,10,5,8,4,2 mod 11;
    remainder 0 → 0, remainder 1 → no valid ID, else 11 − remainder) must match. Other countries:
    ``CC-ID`` with letters, digits, ``.`` and ``-``; the function is idempotent.
    """
    cc = (country or "").strip().upper()
    if not _COUNTRY.fullmatch(cc):
        raise _invalid("country", f"country must be a two-letter code, not {country!r}")
    text = re.sub(r"\s+", "", value or "").upper()
    if cc == "FI":
        return _normalize_y_tunnus(text, value)
    if text.startswith(f"{cc}-"):
        text = text[3:]
    if not _FOREIGN_ID.fullmatch(text) or len(text) > 37:
        raise _invalid("businessId", f"{value!r} is not a business ID: use letters, digits, "
                       "'.' and '-', at most 37 characters")
    return f"{cc}-{text}"


def _normalize_y_tunnus(text: str, original: str) -> str:
    match = _Y_TUNNUS.fullmatch(text)
    if not match:
        raise _invalid("businessId", f"{original!r} is not a Finnish business ID (1234567-8)")
    body = (match.group(1) or match.group(3)).zfill(7)
    check = match.group(2) or match.group(4)
    remainder = sum(int(d) * w for d, w in zip(body, _Y_WEIGHTS, strict=True)) % 11
    if remainder == 1 or str(0 if remainder == 0 else 11 - remainder) != check:
        raise _invalid("businessId", f"{original!r} has a wrong check digit")
    return f"{body}-{check}"


# --- organizations -------------------------------------------------------------------------

def organization_by_business_id(session: Session, business_id: str,
                                country: str = "FI") -> Organization:
    """The organization with this business ID (any accepted spelling), or ``NotFound``."""
    normalized = normalize_business_id(business_id, country)
    org = session.scalar(sa.select(Organization).where(Organization.business_id == normalized))
    if org is None:
        raise NotFound(f"no organization with business ID {normalized}")
    return org


def _require_platform(actor: Principal) -> None:
    # Glue has no platform-admin role yet; organizations are made by Glue itself (CLI, demo).
    if not actor.system:
        raise Forbidden("only Glue's administration may create organizations or change roles")


def create_organization(session: Session, actor: Principal, *, business_id: str, name: str,
                        supplier: bool = False, retailer: bool = False, country: str = "FI",
                        **profile: Any) -> Organization:
    """Create an organization (SYSTEM only). The supplier role creates its public catalog.

    ``profile`` takes the fields of :func:`update_profile`. A taken business ID is a ``Conflict``.
    """
    _require_platform(actor)
    normalized = normalize_business_id(business_id, country)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise _invalid("name", "an organization needs a name of at most 200 characters")
    if session.scalar(sa.select(Organization.id).where(Organization.business_id == normalized)):
        raise Conflict(f"an organization with business ID {normalized} exists")
    org = Organization(business_id=normalized, country=country.strip().upper(), name=name,
                       is_supplier=supplier, is_retailer=retailer)
    for field, value in _clean_profile(profile).items():
        setattr(org, field, value)
    session.add(org)
    session.flush()
    record(session, actor, "organization.created", "organization", org.business_id, [org.id],
           businessId=org.business_id, name=org.name, supplier=supplier, retailer=retailer)
    if supplier:
        catalogs.ensure_public_catalog(session, org, actor=actor)
    session.flush()
    return org


def set_roles(session: Session, actor: Principal, organization_id: int, *,
              supplier: bool | None = None, retailer: bool | None = None) -> Organization:
    """Give or take the supplier and retailer roles (SYSTEM only); ``None`` leaves a role as is.

    Giving the supplier role ensures the public catalog. Taking it away keeps the catalogs (and
    their history); they stop being listed to retailers.
    """
    _require_platform(actor)
    org = session.get(Organization, organization_id)
    if org is None:
        raise NotFound("no such organization")
    before = {"supplier": org.is_supplier, "retailer": org.is_retailer}
    if supplier is not None:
        org.is_supplier = supplier
    if retailer is not None:
        org.is_retailer = retailer
    after = {"supplier": org.is_supplier, "retailer": org.is_retailer}
    if after != before:
        record(session, actor, "organization.roles_changed", "organization", org.business_id,
               [org.id], **after)
    if org.is_supplier:
        catalogs.ensure_public_catalog(session, org, actor=actor)
    session.flush()
    return org


def _admin_org(session: Session, actor: Principal, organization_id: int | None,
               *, lock: bool = False) -> Organization:
    """The organization an admin action targets: the actor's own (SYSTEM names one)."""
    if actor.system:
        if organization_id is None:
            raise ValidationFailed("Glue's administration must name the organization")
    else:
        own = actor.require_org()
        if organization_id is not None and organization_id != own:
            raise Forbidden("this action is for the admins of that organization")
        organization_id = own
        actor.require("admin")
    org = session.get(Organization, organization_id, with_for_update=lock)
    if org is None:
        raise NotFound("no such organization")
    return org


def update_profile(session: Session, actor: Principal, *, organization_id: int | None = None,
                   **fields: Any) -> Organization:
    """Update the supplier public profile and the address (the organization's admins only).

    Fields: name, description, website (http/https), ships_to (country codes), logo (PNG or
    JPEG bytes, checked by ``core.logos.validate_logo``; ``None`` removes it), street_address,
    postal_code,    post_office, email, telephone. Unknown fields are a ``ValidationFailed``.
    """
    org = _admin_org(session, actor, organization_id)
    changes = _clean_profile(fields)
    changed = [f for f, v in changes.items() if getattr(org, f) != v]
    for field in changed:
        setattr(org, field, changes[field])
    if changed:
        record(session, actor, "organization.profile_updated", "organization", org.business_id,
               [org.id], fields=sorted(changed))
    session.flush()
    return org


def _clean_profile(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate profile fields; report every problem at once."""
    errors: list[dict[str, Any]] = []
    clean: dict[str, Any] = {}
    for field, value in fields.items():
        if field in _PROFILE_TEXT:
            limit = _PROFILE_TEXT[field]
            if not isinstance(value, str):
                errors.append({"field": field, "message": "must be text"})
            elif limit is not None and len(value.strip()) > limit:
                errors.append({"field": field, "message": f"at most {limit} characters"})
            elif field == "name" and not value.strip():
                errors.append({"field": field, "message": "an organization needs a name"})
            elif field == "website" and value.strip() and not re.match(
                    r"https?://[^\s/]+\.[^\s]+$", value.strip()):
                errors.append({"field": field, "message": "must be an http(s) address"})
            elif field == "email" and value.strip() and not _EMAIL.fullmatch(value.strip()):
                errors.append({"field": field, "message": "not an e-mail address"})
            else:
                clean[field] = value.strip()
        elif field == "ships_to":
            codes = [str(c).strip().upper() for c in (value or [])]
            if not all(_COUNTRY.fullmatch(c) for c in codes):
                errors.append({"field": field, "message": "two-letter country codes only"})
            else:
                clean[field] = list(dict.fromkeys(codes))
        elif field not in ("logo", "logo_content_type"):
            errors.append({"field": field, "message": "not a profile field"})
    if "logo" in fields:
        logo = fields["logo"]
        if logo is None:
            clean.update(logo=None, logo_content_type=None)
        else:
            try:  # one rule for logos everywhere: core.logos sniffs and decodes the image
                clean.update(logo=logo, logo_content_type=validate_logo(logo))
            except ValidationFailed as exc:
                errors.extend({"field": "logo", "message": e["message"]} for e in exc.errors)
    if errors:
        raise ValidationFailed("the profile has errors", errors)
    return clean


# --- users and memberships -----------------------------------------------------------------

def normalize_email(value: str) -> str:
    email = (value or "").strip().lower()
    if not _EMAIL.fullmatch(email) or len(email) > 254:
        raise _invalid("email", f"{value!r} is not an e-mail address")
    return email


def _permissions(permissions: Iterable[str] | str) -> frozenset[str]:
    if isinstance(permissions, str):
        permissions = permissions.split(",")
    perms = frozenset(p.strip().lower() for p in permissions if p.strip())
    unknown = perms - set(PERMISSIONS)
    if unknown or not perms:
        raise _invalid("permissions", f"permissions are some of {', '.join(PERMISSIONS)}")
    return perms


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise _invalid("password", f"a password has at least {MIN_PASSWORD_LENGTH} characters")


def _add_membership(session: Session, actor: Principal, user: User, org: Organization,
                    perms: frozenset[str]) -> Membership:
    exists = session.scalar(sa.select(Membership.id).where(
        Membership.user_id == user.id, Membership.organization_id == org.id))
    if exists:
        raise Conflict(f"{user.email} is already a member of {org.name}")
    membership = Membership(user_id=user.id, organization_id=org.id, is_admin="admin" in perms,
                            is_supplier="supplier" in perms, is_retailer="retailer" in perms)
    session.add(membership)
    session.flush()
    record(session, actor, "membership.created", "user", user.id, [org.id],
           email=user.email, permissions=sorted(perms))
    return membership


def create_user(session: Session, actor: Principal, *, email: str, organization_id: int,
                permissions: Iterable[str] | str, name: str = "", password: str | None = None,
                language: str = "fi") -> User:
    """Create a user with a membership (SYSTEM or the organization's admins).

    An existing user (same e-mail, compared lower-case) gets a new membership and is otherwise
    left as is; being a member already is a ``Conflict``. Without a password the user cannot log
    in until one is set (:func:`set_password`).
    """
    org = _admin_org(session, actor, organization_id)
    email = normalize_email(email)
    perms = _permissions(permissions)
    user = session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        if language not in LANGUAGES:
            raise _invalid("language", f"language is one of {', '.join(LANGUAGES)}")
        if password is not None:
            _check_password(password)
        user = User(email=email, name=name.strip(), language=language,
                    password_hash=hash_password(password) if password is not None else None)
        session.add(user)
        session.flush()
        record(session, actor, "user.created", "user", user.id, [org.id], email=email)
    _add_membership(session, actor, user, org, perms)
    return user


def set_password(session: Session, actor: Principal, user_id: int, password: str) -> None:
    """Set a user's password: the user itself or SYSTEM (the CLI's reset)."""
    if not actor.system and actor.user_id != user_id:
        raise Forbidden("only the user itself may set its password")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    _check_password(password)
    user.password_hash = hash_password(password)
    record(session, actor, "user.password_changed", "user", user.id,
           [m.organization_id for m in user.memberships])
    session.flush()


def update_user(session: Session, actor: Principal, user_id: int, *, name: str | None = None,
                language: str | None = None) -> User:
    """Change a user's own name or language: the user itself or SYSTEM."""
    if not actor.system and actor.user_id != user_id:
        raise Forbidden("only the user itself may change its name or language")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    if language is not None:
        if language not in LANGUAGES:
            raise ValidationFailed("unknown language", [
                {"field": "language", "message": f"use one of {', '.join(LANGUAGES)}"}])
        user.language = language
    if name is not None:
        user.name = name.strip()[:200]
    record(session, actor, "user.updated", "user", user.id,
           [m.organization_id for m in user.memberships])
    session.flush()
    return user


def authenticate_user(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else ``None``.

    An unknown or inactive e-mail costs one argon2 verification too, so timing does not tell
    which addresses have accounts.
    """
    user = None
    try:
        user = session.scalar(sa.select(User).where(User.email == normalize_email(email)))
    except ValidationFailed:
        pass
    usable = user is not None and user.is_active
    ok = verify_password(user.password_hash if usable else None, password)
    return user if ok and usable else None


def _membership(session: Session, user_id: int, organization_id: int) -> Membership:
    membership = session.scalar(sa.select(Membership).where(
        Membership.user_id == user_id, Membership.organization_id == organization_id))
    if membership is None:
        raise NotFound("no such member")
    return membership


def user_principal(session: Session, user_id: int, organization_id: int) -> Principal:
    """The principal of a user acting for one organization it is a member of, else ``NotFound``.

    Permissions are the membership's, narrowed to the organization's roles.
    """
    membership = _membership(session, user_id, organization_id)
    if not membership.user.is_active:
        raise NotFound("no such member")
    org = membership.organization
    perms = {p for p, on in (("admin", membership.is_admin),
                             ("supplier", membership.is_supplier and org.is_supplier),
                             ("retailer", membership.is_retailer and org.is_retailer)) if on}
    return Principal(organization_id=organization_id, permissions=frozenset(perms),
                     user_id=user_id, label=f"user:{user_id}")


def _admin_count(session: Session, organization_id: int) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Membership).where(
        Membership.organization_id == organization_id, Membership.is_admin.is_(True))) or 0


def set_permissions(session: Session, actor: Principal, user_id: int,
                    permissions: Iterable[str] | str, *,
                    organization_id: int | None = None) -> Membership:
    """Replace a member's permissions (admins); the last admin keeps ``admin`` (``Conflict``)."""
    # Lock the organization so two admins demoting each other at once cannot both succeed.
    org = _admin_org(session, actor, organization_id, lock=True)
    perms = _permissions(permissions)
    membership = _membership(session, user_id, org.id)
    if membership.is_admin and "admin" not in perms and _admin_count(session, org.id) <= 1:
        raise Conflict("an organization keeps at least one admin")
    membership.is_admin = "admin" in perms
    membership.is_supplier = "supplier" in perms
    membership.is_retailer = "retailer" in perms
    record(session, actor, "membership.permissions_changed", "user", user_id, [org.id],
           permissions=sorted(perms))
    session.flush()
    return membership


def remove_member(session: Session, actor: Principal, user_id: int, *,
                  organization_id: int | None = None) -> None:
    """Remove a user from an organization (its admins, or the user leaving on its own).

    The user account stays (it may belong to other organizations). The last admin cannot be
    removed (``Conflict``).
    """
    leaving = (not actor.system and actor.user_id == user_id
               and organization_id in (None, actor.organization_id))
    if leaving:
        org = session.get(Organization, actor.require_org(), with_for_update=True)
    else:
        org = _admin_org(session, actor, organization_id, lock=True)
    membership = _membership(session, user_id, org.id)
    if membership.is_admin and _admin_count(session, org.id) <= 1:
        raise Conflict("an organization keeps at least one admin")
    session.delete(membership)
    record(session, actor, "membership.removed", "user", user_id, [org.id])
    session.flush()


# --- invitations ---------------------------------------------------------------------------

def invitation_state(invitation: Invitation) -> str:
    """``used``, ``revoked``, ``expired`` or ``pending``."""
    if invitation.used_at is not None:
        return "used"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= utcnow():
        return "expired"
    return "pending"


def _issue(invitation: Invitation, ttl: timedelta) -> str:
    if ttl <= timedelta(0):
        raise _invalid("ttl", "an invitation must expire in the future")
    token = new_secret()
    invitation.token_digest = token_digest(token)
    invitation.expires_at = utcnow() + ttl
    return token


def invite(session: Session, actor: Principal, *, email: str, permissions: Iterable[str] | str,
           ttl: timedelta = INVITATION_TTL,
           organization_id: int | None = None) -> tuple[Invitation, str]:
    """Invite an e-mail address into the organization (its admins).

    Returns the invitation and its token; the token is shown this once and stored only as a
    digest. An earlier pending invitation of the same address is revoked, so one link is live.
    A current member is a ``Conflict``.
    """
    org = _admin_org(session, actor, organization_id)
    email = normalize_email(email)
    perms = _permissions(permissions)
    member = session.scalar(sa.select(Membership.id).join(User).where(
        User.email == email, Membership.organization_id == org.id))
    if member:
        raise Conflict(f"{email} is already a member")
    now = utcnow()
    for old in session.scalars(sa.select(Invitation).where(
            Invitation.organization_id == org.id, Invitation.email == email,
            Invitation.used_at.is_(None), Invitation.revoked_at.is_(None))):
        old.revoked_at = now
    invitation = Invitation(organization_id=org.id, email=email,
                            permissions=",".join(p for p in PERMISSIONS if p in perms),
                            invited_by_id=actor.user_id, token_digest="", expires_at=now)
    token = _issue(invitation, ttl)
    session.add(invitation)
    session.flush()
    record(session, actor, "invitation.created", "invitation", invitation.id, [org.id],
           email=email, permissions=sorted(perms), expiresAt=invitation.expires_at.isoformat())
    return invitation, token


def _admin_invitation(session: Session, actor: Principal, invitation_id: int) -> Invitation:
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or not (actor.system
                                  or invitation.organization_id == actor.organization_id):
        raise NotFound("no such invitation")
    _admin_org(session, actor, invitation.organization_id)
    return invitation


def resend_invitation(session: Session, actor: Principal, invitation_id: int, *,
                      ttl: timedelta = INVITATION_TTL) -> tuple[Invitation, str]:
    """A new token and expiry for a pending or expired invitation; the old link stops working."""
    invitation = _admin_invitation(session, actor, invitation_id)
    state = invitation_state(invitation)
    if state not in ("pending", "expired"):
        raise IllegalTransition(f"a {state} invitation cannot be resent")
    token = _issue(invitation, ttl)
    record(session, actor, "invitation.resent", "invitation", invitation.id,
           [invitation.organization_id], expiresAt=invitation.expires_at.isoformat())
    session.flush()
    return invitation, token


def revoke_invitation(session: Session, actor: Principal, invitation_id: int) -> Invitation:
    """Revoke a pending or expired invitation; a used or revoked one is an ``IllegalTransition``."""
    invitation = _admin_invitation(session, actor, invitation_id)
    state = invitation_state(invitation)
    if state not in ("pending", "expired"):
        raise IllegalTransition(f"a {state} invitation cannot be revoked")
    invitation.revoked_at = utcnow()
    record(session, actor, "invitation.revoked", "invitation", invitation.id,
           [invitation.organization_id])
    session.flush()
    return invitation


def accept_invitation(session: Session, token: str, *, name: str, password: str,
                      language: str = "fi") -> User:
    """Accept an invitation by its token: create the user (or, for an existing account, check
    its password) and the membership. Single use; expired and revoked links are refused
    (``IllegalTransition``); an unknown token is ``NotFound``."""
    invitation = session.scalar(sa.select(Invitation).where(
        Invitation.token_digest == token_digest(token)).with_for_update())
    if invitation is None:
        raise NotFound("no such invitation")
    state = invitation_state(invitation)
    if state != "pending":
        raise IllegalTransition(f"this invitation is {state}")
    org = session.get(Organization, invitation.organization_id)
    user = session.scalar(sa.select(User).where(User.email == invitation.email))
    if user is None:
        if language not in LANGUAGES:
            raise _invalid("language", f"language is one of {', '.join(LANGUAGES)}")
        _check_password(password)
        user = User(email=invitation.email, name=name.strip(), language=language,
                    password_hash=hash_password(password))
        session.add(user)
        session.flush()
        created = True
    elif not user.is_active or not verify_password(user.password_hash, password):
        # Whoever holds the link (the inviting admin saw it too) must not take over an account.
        raise Forbidden("this e-mail has an account; accept with its password")
    else:
        created = False
    actor = Principal(organization_id=org.id, user_id=user.id, label=f"user:{user.id}")
    if created:
        record(session, actor, "user.created", "user", user.id, [org.id], email=user.email)
    _add_membership(session, actor, user, org, _permissions(invitation.permissions))
    invitation.used_at = utcnow()
    record(session, actor, "invitation.accepted", "invitation", invitation.id, [org.id],
           userId=user.id)
    session.flush()
    return user
