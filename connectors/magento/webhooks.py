"""Mage-OS async-event deliveries: signature check, parsing, and the subscription body.

Magento Open Source sends no webhooks; the Mage-OS ``mageos-async-events`` modules (installable
on a stock shop) add them. What the real 2.4.7-p3 shop sent (``reference/platforms.md`` 7):

- ``POST`` JSON ``{"data": {...}}``, the entity loaded when the queue consumer ran (so a
  ``created`` delivery may already show later changes, and duplicates are normal);
- ``x-magento-signature`` = **hex** HMAC-SHA256 of the raw body with the subscription's
  verification token; no other identifying header;
- the event name is in neither headers nor body: every event gets its own receiver URL
  (``/webhooks/magento/<connection key>/<event>``), and the receiver passes it on;
- there is no delivery id: a delivery is identified by the subscription and the body hash.

The poll stays the safety net; a delivery only triggers the same import sooner.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.base import WebhookDelivery
from connectors.errors import Fatal
from connectors.magento.translate import parse_time

ORDER_EVENTS = ("sales.order.created", "sales.order.updated", "sales.order.paid",
                "sales.order.shipped", "sales.order.holded", "sales.order.unholded",
                "sales.order.cancelled")
PRODUCT_EVENTS = ("catalog.product.created", "catalog.product.updated")
EVENTS = (*ORDER_EVENTS, *PRODUCT_EVENTS)
SUBSCRIBED = ("sales.order.created", "sales.order.updated")  # what Glue subscribes to
EVENT_HEADER = "x-glue-event"  # how the receiver hands the URL's event name to parse()
_HEX = re.compile(r"[0-9a-fA-F]{64}")


class UnsupportedEvent(Fatal):
    """An event Glue does not handle: answer 200 and drop it."""


def verify(body: bytes, signature: str | None, token: str) -> bool:
    """Whether ``signature`` (``x-magento-signature``) signs ``body`` with ``token``.

    Constant time over the hex digests; a missing, malformed or wrong signature is False, never
    an exception. ``token`` may list several tokens separated by commas (a rotation).
    """
    if not signature or not token or not _HEX.fullmatch(signature.strip()):
        return False
    given = signature.strip().lower().encode()
    ok = False
    for key in (k.strip() for k in token.split(",") if k.strip()):
        expected = hmac.new(key.encode(), body, hashlib.sha256).hexdigest().encode()
        ok |= hmac.compare_digest(expected, given)  # try every token: no early exit
    return ok


def delivery_key(event: str, body: bytes) -> str:
    """The inbox key of a delivery: its subscription (the event) and the body's sha256, the
    same as ``webhooks.inbox.magento_key``. A repeated identical body is a duplicate; a later
    state of the same order is a new delivery."""
    return f"{event}:{hashlib.sha256(body).hexdigest()}"


def event_from_url(url: str) -> str:
    """The event named by a receiver URL's last path segment."""
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


# --- typed payloads ------------------------------------------------------------------------

@dataclass(frozen=True)
class OrderEvent:
    """A ``sales.order.*`` delivery; ``order`` is the full order as ``GET /V1/orders/{id}``
    answers it, which :func:`connectors.magento.translate.order_draft` reads."""

    order_id: str
    increment_id: str
    state: str
    updated_at: datetime | None
    order: Mapping[str, Any]


@dataclass(frozen=True)
class ProductEvent:
    """A ``catalog.product.*`` delivery (Glue does not act on it yet; merchants edit their
    own products, and Glue's own writes come back as these)."""

    product_id: str
    sku: str
    type_id: str
    updated_at: datetime | None
    product: Mapping[str, Any]


def _payload(event: str, data: Mapping[str, Any]) -> OrderEvent | ProductEvent:
    if event in ORDER_EVENTS:
        if data.get("entity_id") is None:
            raise Fatal(f"{event} delivery has no entity_id")
        return OrderEvent(order_id=str(data["entity_id"]),
                          increment_id=str(data.get("increment_id") or ""),
                          state=str(data.get("state") or ""),
                          updated_at=parse_time(data.get("updated_at")), order=data)
    return ProductEvent(product_id=str(data.get("id") or ""), sku=str(data.get("sku") or ""),
                        type_id=str(data.get("type_id") or ""),
                        updated_at=parse_time(data.get("updated_at")), product=data)


def parse(event: str, body: bytes, *, shop: str = "") -> WebhookDelivery:
    """A verified delivery as a :class:`WebhookDelivery` with an :class:`OrderEvent` or
    :class:`ProductEvent` payload; ``delivery_id`` is :func:`delivery_key`.

    Raises :class:`UnsupportedEvent` for an event not in :data:`EVENTS` and :class:`Fatal` for
    a body that is not ``{"data": {...}}``.
    """
    if event not in EVENTS:
        raise UnsupportedEvent(f"unsupported Magento event {event!r}")
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Fatal(f"{event} delivery is not JSON") from exc
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        raise Fatal(f"{event} delivery has no data object")
    payload = _payload(event, data)
    return WebhookDelivery(topic=event, shop=shop, delivery_id=delivery_key(event, body),
                           payload=payload, triggered_at=payload.updated_at)


def subscription(event: str, recipient_url: str, token: str) -> dict[str, Any]:
    """``POST /V1/async_event`` body subscribing ``recipient_url`` to ``event``; Magento never
    echoes the token back, so Glue keeps it (encrypted) as the connection's webhook secret."""
    if event not in EVENTS:
        raise ValueError(f"unknown Magento event {event!r}")
    return {"asyncEvent": {"event_name": event, "recipient_url": recipient_url,
                           "verification_token": token, "metadata": "http"}}
