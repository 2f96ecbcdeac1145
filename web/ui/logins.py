"""Browser logins kept server-side, and login throttling.

The signed session cookie carries only a random session id; the ``ui_sessions`` row (looked up by
the id's digest) decides whether the login still counts: it ends after ``IDLE_TIMEOUT`` without a
request, at ``MAX_AGE`` in any case, and at logout or a password reset, in every browser that
holds a copy of the cookie.

Throttling counts failed logins per account and per client address in the database, so every
web process agrees: more than ``ACCOUNT_LIMIT`` failures of one account, or ``ADDRESS_LIMIT`` from
one address, within ``WINDOW`` refuse further attempts until the window slides past them. A
refused attempt does not check the password at all.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.crypto import token_digest
from core.db import utcnow
from web.ui.models import LoginFailure, UiSession

IDLE_TIMEOUT = timedelta(hours=2)
MAX_AGE = timedelta(hours=12)
# last_seen_at is written at most this often, so that most page views do not write.
TOUCH_INTERVAL = timedelta(minutes=1)

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 30


# --- sessions ------------------------------------------------------------------------------

def start_session(session: Session, user_id: int, now: datetime | None = None) -> str:
    """Open a login for ``user_id``; returns the session id to put in the cookie."""
    now = now or utcnow()
    sid = secrets.token_urlsafe(32)
    # The user's finished logins are of no further use; dropping them here keeps the table small.
    session.execute(sa.delete(UiSession).where(
        UiSession.user_id == user_id,
        sa.or_(UiSession.ended_at.is_not(None), UiSession.expires_at <= now)))
    session.add(UiSession(sid_digest=token_digest(sid), user_id=user_id, created_at=now,
                          last_seen_at=now, expires_at=now + MAX_AGE))
    session.flush()
    return sid


def resolve_session(session: Session, sid: str, now: datetime | None = None,
                    idle_timeout: timedelta = IDLE_TIMEOUT) -> int | None:
    """The user id of a live login, touching its idle clock; ``None`` when it has ended."""
    now = now or utcnow()
    row = session.scalar(sa.select(UiSession).where(UiSession.sid_digest == token_digest(sid)))
    if (row is None or row.ended_at is not None or row.expires_at <= now
            or row.last_seen_at + idle_timeout <= now):
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
    return row.user_id


def end_session(session: Session, sid: str, now: datetime | None = None) -> None:
    session.execute(sa.update(UiSession).where(UiSession.sid_digest == token_digest(sid),
                                               UiSession.ended_at.is_(None))
                    .values(ended_at=now or utcnow()))


def end_all_sessions(session: Session, user_id: int, now: datetime | None = None) -> None:
    """End every login of a user (after a password reset)."""
    session.execute(sa.update(UiSession).where(UiSession.user_id == user_id,
                                               UiSession.ended_at.is_(None))
                    .values(ended_at=now or utcnow()))


# --- throttling ----------------------------------------------------------------------------

def _keys(email: str, address: str | None) -> tuple[str, str]:
    return f"account:{email.strip().lower()}"[:300], f"ip:{address or '-'}"[:300]


def _failures(session: Session, key: str, since: datetime) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)
                          .where(LoginFailure.key == key, LoginFailure.at > since)) or 0


def login_blocked(session: Session, email: str, address: str | None,
                  now: datetime | None = None) -> bool:
    """Whether attempts for this account or from this address are refused for now."""
    since = (now or utcnow()) - WINDOW
    account_key, address_key = _keys(email, address)
    return (_failures(session, account_key, since) >= ACCOUNT_LIMIT
            or _failures(session, address_key, since) >= ADDRESS_LIMIT)


def record_failure(session: Session, email: str, address: str | None,
                   now: datetime | None = None) -> None:
    """Count a failed login for the account and the address; forget failures past the window."""
    now = now or utcnow()
    keys = _keys(email, address)
    session.execute(sa.delete(LoginFailure).where(LoginFailure.key.in_(keys),
                                                  LoginFailure.at <= now - WINDOW))
    session.add_all([LoginFailure(key=key, at=now) for key in keys])
    session.flush()


def clear_failures(session: Session, email: str) -> None:
    """A successful login forgives the account's failures (not the address's)."""
    account_key, _ = _keys(email, None)
    session.execute(sa.delete(LoginFailure).where(LoginFailure.key == account_key))
