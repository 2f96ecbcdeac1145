"""Shopify webhook deliveries: signature check and parsing into typed objects.

The receiver (``webhooks/``) calls :func:`verify` on the raw body before anything else, stores
the delivery, and the worker calls :func:`parse`. Shopify signs with the app's client secret:
``X-Shopify-Hmac-Sha256`` is the base64 HMAC-SHA256 of the raw body (ShopifyAPI has no helper
for this; its ``validate_hmac`` is for OAuth query strings, which are hex).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.base import WebhookDelivery
from connectors.errors import Fatal
from connectors.shopify.translate import gid

ORDER_TOPICS = ("orders/create", "orders/paid", "orders/cancelled")
TOPICS = (*ORDER_TOPICS, "app/uninstalled", "customers/redact", "shop/redact",
          "customers/data_request")


class UnsupportedTopic(Fatal):
    """A topic Glue does not subscribe to: answer 200 and drop it."""


def verify(body: bytes, signature: str | None, secret: str) -> bool:
    """Whether ``signature`` (the ``X-Shopify-Hmac-Sha256`` header) signs ``body``.

    Constant time over the decoded bytes; a missing, malformed or wrong signature is False,
    never an exception. ``secret`` may be a comma-separated list (the old and the new secret
    while a rotation settles, which Shopify says can take up to an hour).
    """
    if not signature or not secret:
        return False
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    ok = False
    for key in (k.strip() for k in secret.split(",") if k.strip()):
        expected = hmac.new(key.encode(), body, hashlib.sha256).digest()
        ok |= hmac.compare_digest(expected, given)  # try every key: no early exit
    return ok


# --- typed payloads ------------------------------------------------------------------------

@dataclass(frozen=True)
class OrderEvent:
    """orders/create, orders/paid, orders/cancelled; ``order`` is the full REST-shaped order
    that :func:`connectors.shopify.translate.order_draft` reads."""

    order_id: str
    number: str
    financial_status: str
    updated_at: datetime | None
    cancelled_at: datetime | None
    order: Mapping[str, Any]


@dataclass(frozen=True)
class AppUninstalled:
    """The merchant removed the app: the token is already revoked; stop all calls."""

    shop_id: str
    myshopify_domain: str


@dataclass(frozen=True)
class CustomersRedact:
    """Erase one customer's personal data (sent when a merchant asks, or 10 days after a
    customer asked and had no orders in the last 6 months)."""

    shop_id: str
    shop_domain: str
    customer_id: str | None
    email: str
    phone: str
    orders: tuple[str, ...]


@dataclass(frozen=True)
class ShopRedact:
    """Erase the shop's data (48 hours after uninstall)."""

    shop_id: str
    shop_domain: str


@dataclass(frozen=True)
class CustomersDataRequest:
    """Report the data Glue holds about one customer to the merchant."""

    shop_id: str
    shop_domain: str
    customer_id: str | None
    email: str
    phone: str
    orders: tuple[str, ...]
    request_id: str


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _orders(values: Any) -> tuple[str, ...]:
    return tuple(gid("Order", v) or "" for v in values or [])


def payload_for(topic: str, data: Mapping[str, Any]) -> Any:
    """The typed object for ``topic`` from an already parsed body (the inbox keeps bodies
    parsed): :class:`OrderEvent`, :class:`AppUninstalled` or a compliance request."""
    return _payload(topic, data)


def _payload(topic: str, data: Mapping[str, Any]) -> Any:
    if topic in ORDER_TOPICS:
        return OrderEvent(order_id=gid("Order", data.get("admin_graphql_api_id")
                                       or data.get("id")) or "",
                          number=_str(data.get("name")),
                          financial_status=_str(data.get("financial_status")),
                          updated_at=_time(data.get("updated_at")),
                          cancelled_at=_time(data.get("cancelled_at")), order=data)
    if topic == "app/uninstalled":
        return AppUninstalled(shop_id=_str(data.get("id")),
                              myshopify_domain=_str(data.get("myshopify_domain")
                                                    or data.get("domain")))
    customer = data.get("customer") or {}
    common = {"shop_id": _str(data.get("shop_id")), "shop_domain": _str(data.get("shop_domain"))}
    if topic == "shop/redact":
        return ShopRedact(**common)
    person = {"customer_id": gid("Customer", customer.get("id")),
              "email": _str(customer.get("email")), "phone": _str(customer.get("phone"))}
    if topic == "customers/redact":
        return CustomersRedact(**common, **person, orders=_orders(data.get("orders_to_redact")))
    return CustomersDataRequest(**common, **person, orders=_orders(data.get("orders_requested")),
                                request_id=_str((data.get("data_request") or {}).get("id")))


def parse(headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
    """A verified delivery as a :class:`WebhookDelivery` whose ``payload`` is one of the typed
    objects above. ``delivery_id`` is ``X-Shopify-Webhook-Id``; ``extra`` keeps the event id
    and API version, since Shopify's docs disagree on which id identifies a duplicate.

    Raises :class:`UnsupportedTopic` for a topic not in :data:`TOPICS` and :class:`Fatal` for
    a body that is not a JSON object.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    topic = lower.get("x-shopify-topic", "")
    if topic not in TOPICS:
        raise UnsupportedTopic(f"unsupported Shopify topic {topic!r}")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Fatal(f"{topic} delivery is not JSON") from exc
    if not isinstance(data, dict):
        raise Fatal(f"{topic} delivery is not a JSON object")
    return WebhookDelivery(
        topic=topic, shop=lower.get("x-shopify-shop-domain", ""),
        delivery_id=lower.get("x-shopify-webhook-id", ""), payload=_payload(topic, data),
        triggered_at=_time(lower.get("x-shopify-triggered-at")),
        extra={"event_id": lower.get("x-shopify-event-id", ""),
               "api_version": lower.get("x-shopify-api-version", "")})
