"""API accounts: machine credentials of one organization, exchanged for short-lived bearer tokens.

An account has a public name (``account``) and a secret shown once at creation and stored only as
an argon2 hash. ``authenticate`` checks the pair; five wrong secrets in a row lock the account for
an hour. Every refusal (unknown account, wrong secret, locked, revoked) raises the same
``AuthenticationFailed`` with the same message, so a caller learns nothing about which part failed.

Bearer tokens are stateless: ``g3.<payload>.<signature>``, the payload naming the account, the
expiry and a fingerprint of the account's secret hash, signed with HMAC-SHA256 under a key derived
from the settings' secret key. Nothing is kept in process memory, so any web process validates any
token; ``principal_for_token`` re-reads the account, so revoking it (or replacing its secret) ends
its tokens at once.

An API account acts as its whole organization: its permissions are the organization's roles
(``supplier``, ``retailer``), never ``admin`` -- a leaked machine credential must not be able to
manage users or mint further API accounts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import events
from core.crypto import hash_password, new_secret, verify_password
from core.db import utcnow
from core.errors import Conflict, GlueError, NotFound, ValidationFailed
from core.models import ApiAccount, Organization
from core.principal import Principal
from core.settings import get_settings

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(hours=1)
TOKEN_PREFIX = "g3"
_TOKEN_KEY_LABEL = b"glue-api-bearer-token-v1"


class AuthenticationFailed(GlueError):
    """Credentials or token not accepted. The message never says which part was wrong."""

    code = "unauthorized"

    def __init__(self) -> None:
        super().__init__("Bad credentials")


# --- managing accounts ---------------------------------------------------------------------

def _require_admin_of(actor: Principal, organization_id: int) -> None:
    if actor.system:
        return
    if actor.organization_id != organization_id:
        raise NotFound("organization not found")
    actor.require("admin")


def _account_name(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "api"
    return f"{slug}-{secrets.token_hex(4)}"


def create_api_account(session: Session, actor: Principal, *, organization_id: int,
                       name: str) -> tuple[ApiAccount, str]:
    """Create an API account for ``organization_id`` (its admin, or the system, only).

    Returns the account and its secret; the secret is not stored and cannot be shown again.
    The account name is derived from ``name`` plus a random suffix, unique across Glue.
    """
    _require_admin_of(actor, organization_id)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("name is required", [{"field": "name", "message": "required"}])
    if session.get(Organization, organization_id) is None:
        raise NotFound("organization not found")
    secret = new_secret()
    account = ApiAccount(organization_id=organization_id, account=_account_name(name),
                         name=name[:200], secret_hash=hash_password(secret))
    session.add(account)
    session.flush()
    events.record(session, actor, "api_account.created", "api_account", account.account,
                  [organization_id], name=account.name)
    return account, secret


def list_api_accounts(session: Session, actor: Principal,
                      organization_id: int) -> list[ApiAccount]:
    """The organization's API accounts, revoked ones included (admin only)."""
    _require_admin_of(actor, organization_id)
    return list(session.scalars(sa.select(ApiAccount)
                                .where(ApiAccount.organization_id == organization_id)
                                .order_by(ApiAccount.id)))


def revoke_api_account(session: Session, actor: Principal, account: str,
                       now: datetime | None = None) -> ApiAccount:
    """Revoke an account by name; its tokens stop working immediately. Idempotent refusal:
    revoking twice is a Conflict."""
    row = session.scalar(sa.select(ApiAccount).where(ApiAccount.account == account))
    if row is None or not (actor.system or actor.organization_id == row.organization_id):
        raise NotFound("API account not found")
    _require_admin_of(actor, row.organization_id)
    if row.revoked_at is not None:
        raise Conflict("API account is already revoked")
    row.revoked_at = now or utcnow()
    events.record(session, actor, "api_account.revoked", "api_account", row.account,
                  [row.organization_id])
    return row


# --- authentication ------------------------------------------------------------------------

def _principal(account: ApiAccount) -> Principal:
    org = account.organization
    permissions = {p for p, has in (("supplier", org.is_supplier),
                                    ("retailer", org.is_retailer)) if has}
    return Principal(organization_id=account.organization_id,
                     permissions=frozenset(permissions), api_account_id=account.id,
                     label=f"api:{account.account}")


def _usable(account: ApiAccount | None, now: datetime) -> bool:
    return (account is not None and account.revoked_at is None
            and (account.locked_until is None or account.locked_until <= now))


def authenticate(session: Session, account: str, secret: str,
                 now: datetime | None = None) -> Principal:
    """Check ``account``/``secret`` and return the principal the account acts as.

    Raises ``AuthenticationFailed`` for every refusal. A wrong secret counts a failed attempt
    and the fifth locks the account for an hour; the caller must COMMIT the session even when
    this raises, because the counter is part of the state. Success resets the counter.
    """
    now = now or utcnow()
    row = session.scalar(sa.select(ApiAccount).where(ApiAccount.account == account))
    if not _usable(row, now):
        verify_password(None, secret)  # same time as a real check: no hint which part failed
        raise AuthenticationFailed()
    if not verify_password(row.secret_hash, secret):
        # An atomic increment: concurrent guesses must not lose counts (and so evade the lock).
        failed = session.scalar(
            sa.update(ApiAccount).where(ApiAccount.id == row.id)
            .values(failed_attempts=ApiAccount.failed_attempts + 1)
            .returning(ApiAccount.failed_attempts))
        if failed >= MAX_FAILED_ATTEMPTS:
            session.execute(sa.update(ApiAccount).where(ApiAccount.id == row.id)
                            .values(failed_attempts=0, locked_until=now + LOCKOUT))
            events.record(session, _principal(row), "api_account.locked", "api_account",
                          row.account, [row.organization_id])
        session.expire(row)
        raise AuthenticationFailed()
    if row.failed_attempts or row.locked_until is not None:
        row.failed_attempts = 0
        row.locked_until = None
    return _principal(row)


# --- bearer tokens -------------------------------------------------------------------------

def token_ttl_seconds() -> int:
    return get_settings().token_ttl_seconds


def _token_key() -> bytes:
    secret_key = get_settings().resolved_secret_key().encode()
    return hmac.new(secret_key, _TOKEN_KEY_LABEL, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _secret_fingerprint(account: ApiAccount) -> str:
    # Ties a token to the secret it was issued for: replacing the secret ends old tokens.
    return hashlib.sha256(account.secret_hash.encode()).hexdigest()[:16]


def issue_token(session: Session, principal: Principal, now: datetime | None = None) -> str:
    """A bearer token for the API account ``principal`` (from ``authenticate``), valid for
    ``token_ttl_seconds()``."""
    account = session.get(ApiAccount, principal.api_account_id)
    if account is None:
        raise AuthenticationFailed()
    now = now or utcnow()
    payload = json.dumps({"a": account.id, "s": _secret_fingerprint(account),
                          "e": int(now.timestamp()) + token_ttl_seconds()},
                         separators=(",", ":")).encode()
    body = f"{TOKEN_PREFIX}.{_b64(payload)}"
    signature = hmac.new(_token_key(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(signature)}"


def _verified_payload(token: str) -> dict:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise AuthenticationFailed()
    body = f"{parts[0]}.{parts[1]}".encode()
    try:
        signature = _unb64(parts[2])
        expected = hmac.new(_token_key(), body, hashlib.sha256).digest()
        if not hmac.compare_digest(signature, expected):
            raise AuthenticationFailed()
        payload = json.loads(_unb64(parts[1]))
    except (ValueError, TypeError) as exc:  # bad base64 or JSON
        raise AuthenticationFailed() from exc
    if not isinstance(payload, dict):
        raise AuthenticationFailed()
    return payload


def principal_for_token(session: Session, token: str, now: datetime | None = None) -> Principal:
    """The principal a bearer token stands for; ``AuthenticationFailed`` when the token is
    malformed, forged, expired, or its account is revoked or has a new secret.

    A lockout does not end tokens already issued: the lock stops secret guessing, and ending the
    legitimate client's session too would hand a guesser a denial of service.
    """
    payload = _verified_payload(token)
    now = now or utcnow()
    expires = payload.get("e")
    if not isinstance(expires, int) or datetime.fromtimestamp(expires, UTC) <= now:
        raise AuthenticationFailed()
    account_id = payload.get("a")
    account = session.get(ApiAccount, account_id) if isinstance(account_id, int) else None
    if account is None or account.revoked_at is not None or not hmac.compare_digest(
            str(payload.get("s", "")).encode(), _secret_fingerprint(account).encode()):
        raise AuthenticationFailed()
    return _principal(account)
