"""Outgoing mail: through SMTP when ``GLUE_SMTP_HOST`` is set, otherwise stored in the database
and listed at ``/dev/mail``, so that invitations and password resets work on the embedded default.

Settings (environment): ``GLUE_SMTP_HOST``, ``GLUE_SMTP_PORT`` (587), ``GLUE_SMTP_USER``,
``GLUE_SMTP_PASSWORD``, ``GLUE_SMTP_FROM`` (``glue@localhost``), ``GLUE_SMTP_SECURITY``
(``starttls`` default, ``ssl`` or ``none``). ``GLUE_DEV_MAIL=0`` hides ``/dev/mail`` even without
SMTP. Stored mail holds live links, so the page answers only requests from this machine.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app, url_for
from sqlalchemy.orm import Session

from web.ui.models import StoredMail

SMTP_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str
    password: str
    sender: str
    security: str


def smtp_settings() -> SmtpSettings | None:
    """The SMTP settings from the environment, or ``None`` when mail is stored instead."""
    host = os.environ.get("GLUE_SMTP_HOST", "").strip()
    if not host:
        return None
    return SmtpSettings(host=host, port=int(os.environ.get("GLUE_SMTP_PORT", "587")),
                        user=os.environ.get("GLUE_SMTP_USER", ""),
                        password=os.environ.get("GLUE_SMTP_PASSWORD", ""),
                        sender=os.environ.get("GLUE_SMTP_FROM", "glue@localhost"),
                        security=os.environ.get("GLUE_SMTP_SECURITY", "starttls").lower())


def absolute_url(endpoint: str, **values: object) -> str:
    """A link for a mail: the page's path on the public URL Glue is reached at."""
    base = current_app.config["GLUE_SETTINGS"].public_url.rstrip("/")
    return base + url_for(endpoint, **values)


def dev_mail_enabled() -> bool:
    return smtp_settings() is None and os.environ.get("GLUE_DEV_MAIL", "1") != "0"


def send_mail(session: Session, *, to: str, subject: str, body: str) -> None:
    """Send a plain-text mail now (SMTP) or store it in ``session`` (committed by the caller).

    With SMTP the mail leaves before the caller commits: send only after the state it refers to
    is settled, or accept that a failed commit leaves a dead link in someone's inbox.
    """
    settings = smtp_settings()
    if settings is None:
        session.add(StoredMail(recipient=to, subject=subject, body=body))
        session.flush()
        return
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    _deliver(settings, message)


def _deliver(settings: SmtpSettings, message: EmailMessage) -> None:
    context = ssl.create_default_context()
    if settings.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port,
                                                timeout=SMTP_TIMEOUT_SECONDS, context=context)
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        if settings.security == "starttls":
            client.starttls(context=context)
        if settings.user:
            client.login(settings.user, settings.password)
        client.send_message(message)


def stored_mail(session: Session, limit: int = 50) -> list[StoredMail]:
    """The newest stored mail first."""
    return list(session.scalars(sa.select(StoredMail).order_by(StoredMail.id.desc())
                                .limit(limit)))
