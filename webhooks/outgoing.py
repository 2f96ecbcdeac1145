"""Glue's outgoing webhooks, signed per the Standard Webhooks scheme.

Each request carries ``webhook-id`` (the same for every retry of one delivery, so receivers can
deduplicate), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` =
``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` keyed with the base64-decoded
``whsec_`` secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
from urllib.parse import urlsplit

from core.models import Event

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh subscription secret, shown to the subscriber once."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signed_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, msg_id, timestamp, body)}


def event_body(event: Event) -> bytes:
    """The JSON a subscriber receives: the Standard Webhooks envelope around the event."""
    return json.dumps({
        "type": event.type,
        "timestamp": event.created_at.isoformat(),
        "data": {"eventId": event.id, "subjectType": event.subject_type,
                 "subjectId": event.subject_id, **event.data},
    }, separators=(",", ":"), default=str, ensure_ascii=False).encode()


def target_refusal(url: str, *, allow_private: bool) -> str | None:
    """Why Glue will not send to ``url`` (``None`` when it will): only http(s), and, unless
    allowed, no loopback, private, link-local or reserved addresses, which would let a
    subscriber reach Glue's own network."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the URL must be http or https with a host"
    if allow_private:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return "the host does not resolve"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return "the host resolves to a private or reserved address"
    return None
