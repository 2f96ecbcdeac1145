"""WooCommerce webhook deliveries: signature check, the ping, and parsing.

WooCommerce signs each delivery with the webhook's own secret: ``X-WC-Webhook-Signature`` is
the base64 HMAC-SHA256 of the raw body. Glue gives all webhooks of one connection the same
random secret (``webhook_secret`` in the connection's encrypted credentials). The ping sent
synchronously while ``POST webhooks`` runs is different: a form body ``webhook_id=N`` with no
signature and no ``X-WC-Webhook-*`` header; it must be answered exactly 200 and nothing else.

``X-WC-Webhook-Delivery-ID`` is shared by every delivery of one queue run, so it cannot
deduplicate: the key is the webhook id, the resource id and a hash of the body (the body is
built when the queue runs, so a later change of the resource is a new body).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import WebhookDelivery
from connectors.errors import Fatal

SIGNATURE = "x-wc-webhook-signature"
ORDER_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")
PRODUCT_TOPICS = ("product.created", "product.updated", "product.deleted", "product.restored")
TOPICS = (*ORDER_TOPICS, *PRODUCT_TOPICS)
_PING = re.compile(rb"webhook_id=\d+")


class UnsupportedTopic(Fatal):
    """A topic Glue does not subscribe to: answer 200 and drop it."""


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def verify(body: bytes, signature: str | None, secret: str) -> bool:
    """Whether ``signature`` (``X-WC-Webhook-Signature``) signs ``body`` with ``secret``.

    Constant time over the decoded bytes; a missing, malformed or wrong signature, or no
    secret, is False, never an exception.
    """
    if not signature or not secret:
        return False
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, given)


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """The unsigned ping of a new webhook: no topic header and a ``webhook_id=N`` form body."""
    lower = _lower(headers)
    return "x-wc-webhook-topic" not in lower and _PING.fullmatch(body.strip()) is not None


def ping_webhook_id(body: bytes) -> str | None:
    """The webhook id a ping names (for a log line: the ping proves nothing else)."""
    match = _PING.fullmatch(body.strip())
    return match.group(0).split(b"=")[1].decode() if match else None


def delivery_key(webhook_id: str, body: bytes) -> str:
    """``<webhook id>:<resource id>:<sha256 of the body>``: unique per delivery content."""
    try:
        data = json.loads(body)
        resource_id = data.get("id", "-") if isinstance(data, dict) else "-"
    except (UnicodeDecodeError, ValueError):
        resource_id = "-"
    return f"{webhook_id}:{resource_id}:{hashlib.sha256(body).hexdigest()}"


@dataclass(frozen=True)
class OrderEvent:
    """order.*: ``order`` is the REST v3 order as built at delivery time (latest state), which
    :func:`connectors.woocommerce.translate.order_draft` reads; deleted sends only the id."""

    order_id: str
    status: str
    event: str
    order: Mapping[str, Any]


@dataclass(frozen=True)
class ProductEvent:
    """product.*: also fired for variations (``type: variation`` with ``parent_id``); stock
    changes after a sale arrive as ``product.updated``."""

    product_id: str
    parent_id: str | None
    type: str
    sku: str
    stock_quantity: int | None
    event: str
    product: Mapping[str, Any]


def _payload(resource: str, event: str, data: Mapping[str, Any]) -> OrderEvent | ProductEvent:
    if resource == "order":
        return OrderEvent(order_id=str(data.get("id")), status=str(data.get("status") or ""),
                          event=event, order=data)
    parent = data.get("parent_id")
    stock = data.get("stock_quantity")
    return ProductEvent(product_id=str(data.get("id")),
                        parent_id=str(parent) if parent not in (None, 0, "0", "") else None,
                        type=str(data.get("type") or ""), sku=str(data.get("sku") or ""),
                        stock_quantity=int(stock) if stock is not None else None, event=event,
                        product=data)


def parse(headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
    """A verified delivery as a :class:`WebhookDelivery` whose ``payload`` is an
    :class:`OrderEvent` or :class:`ProductEvent`. ``shop`` is ``X-WC-Webhook-Source`` without
    its trailing slash; ``delivery_id`` is :func:`delivery_key`; ``extra`` keeps WooCommerce's
    webhook id and its (shared) delivery id.

    Raises :class:`UnsupportedTopic` for a ping or a topic not in :data:`TOPICS`, and
    :class:`Fatal` for a body that is not a JSON object.
    """
    lower = _lower(headers)
    topic = lower.get("x-wc-webhook-topic", "")
    if topic not in TOPICS:
        raise UnsupportedTopic(f"unsupported WooCommerce topic {topic!r}")
    resource, _, event = topic.partition(".")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Fatal(f"{topic} delivery is not JSON") from exc
    if not isinstance(data, dict):
        raise Fatal(f"{topic} delivery is not a JSON object")
    webhook_id = lower.get("x-wc-webhook-id", "")
    return WebhookDelivery(
        topic=topic, shop=lower.get("x-wc-webhook-source", "").rstrip("/"),
        delivery_id=delivery_key(webhook_id, body),
        payload=_payload(lower.get("x-wc-webhook-resource", resource),
                         lower.get("x-wc-webhook-event", event), data),
        extra={"webhook_id": webhook_id,
               "wc_delivery_id": lower.get("x-wc-webhook-delivery-id", "")})


__all__ = ["OrderEvent", "ProductEvent", "TOPICS", "UnsupportedTopic", "delivery_key", "is_ping",
           "parse", "ping_webhook_id", "verify"]
