"""The browser UI's own tables: login sessions, login throttling, password resets, stored mail.

Tokens and session ids are stored only as keyed digests (``core.crypto.token_digest``), so a
leaked table neither logs anyone in nor resets a password.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class UiSession(Base):
    """A browser login. The signed cookie names it; the row decides whether it still counts.

    ``expires_at`` is the absolute end; ``last_seen_at`` drives the idle timeout; logging out
    sets ``ended_at``, which ends the session everywhere the cookie was copied to.
    """

    __tablename__ = "ui_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class LoginFailure(Base):
    """One failed login, counted per account (``account:<email>``) and per client address
    (``ip:<address>``) over a sliding window. Kept in the database so that every web process
    sees the same counts."""

    __tablename__ = "ui_login_failures"
    __table_args__ = (sa.Index("ix_ui_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(300))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class PasswordReset(Base):
    """A password reset link: single use, expiring, stored as a digest."""

    __tablename__ = "ui_password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    token_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class StoredMail(Base):
    """Outgoing mail kept in the database when no SMTP server is configured (development and
    the embedded default); listed at ``/dev/mail``."""

    __tablename__ = "ui_stored_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(254), index=True)
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
