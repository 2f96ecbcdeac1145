"""``/webhooks/...``: the receiver for the shop platforms' deliveries (DESIGN.md section 8).

Each delivery goes through the same steps, and fails at the first that refuses it:

1. size: more than ``GLUE_WEBHOOK_MAX_BYTES`` → 413, read no further;
2. signature over the raw bytes, in constant time → 401, nothing stored;
3. the shop or connection must be known → 404, nothing stored (WooCommerce and Magento keep
   their secret on the connection, so for them the connection is looked up first);
4. store in the inbox with the headers (a duplicate is answered 200 and not processed again),
   commit, enqueue, answer 200.

Steps 3 and 4 run in the process's inbox writer (``webhooks.intake``), which commits the
deliveries of concurrent requests together. The answer never waits for the worker: when the
queue is down the row is already committed and the periodic sweep enqueues it later.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, current_app, jsonify, request

from webhooks import inbox, verify
from webhooks.intake import Arrival, GroupCommitter
from webhooks.spine import INBOX, Spine

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

_WOO_PING = re.compile(rb"webhook_id=\d+")
_EVENT_NAME = re.compile(r"[a-z0-9_.]{1,100}")


def current_spine() -> Spine:
    """The app's spine: built once per app, enqueueing to the worker's queue."""
    spine = current_app.extensions.get("glue.spine")
    if spine is None:
        # imported here: the worker module imports this package
        from glue.worker import enqueue
        from web.app import get_db

        spine = Spine(database=get_db(), enqueue=enqueue)
        current_app.extensions["glue.spine"] = spine
    return spine


def _intake(spine: Spine) -> GroupCommitter:
    committer = current_app.extensions.get("glue.intake")
    if committer is None or committer.database is not spine.database:
        committer = GroupCommitter(spine.database, spine.clock)
        current_app.extensions["glue.intake"] = committer
    return committer


def _refuse(status: int, message: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response


def _read_body(limit: int) -> bytes | None:
    """The raw body, or ``None`` when it is larger than ``limit`` (read at most limit + 1)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = request.stream.read(limit + 1)
    return None if len(body) > limit else body


def _admit(spine: Spine, arrival: Arrival) -> Response:
    outcome = _intake(spine).submit(arrival)
    if outcome.status == 404:
        return _refuse(404, "unknown shop or connection")
    if outcome.status == 401:
        return _refuse(401, "invalid signature")
    if arrival.ping:
        log.info("webhook ping platform=%s connection=%s", arrival.platform,
                 outcome.connection_id)
        return Response(status=200)
    if outcome.created:
        spine.try_enqueue(INBOX, outcome.inbox_id)
    log.info("webhook received platform=%s connection=%s topic=%s inbox_id=%s duplicate=%s",
             arrival.platform, outcome.connection_id, arrival.topic, outcome.inbox_id,
             not outcome.created)
    return Response(status=200)


@bp.post("/shopify")
def shopify() -> Response:
    spine = current_spine()
    body = _read_body(spine.settings.webhook_max_bytes)
    if body is None:
        return _refuse(413, "the body is too large")
    if not verify.shopify_valid(spine.settings.shopify_api_secret, body,
                                request.headers.get("X-Shopify-Hmac-Sha256")):
        return _refuse(401, "invalid signature")
    webhook_id = request.headers.get("X-Shopify-Webhook-Id") or f"body:{inbox.body_hash(body)}"
    return _admit(spine, Arrival(
        platform="shopify", shop=request.headers.get("X-Shopify-Shop-Domain", "").strip().lower(),
        topic=request.headers.get("X-Shopify-Topic", ""), delivery_key=webhook_id, body=body,
        headers=inbox.storable_headers(request.headers),
        event_id=request.headers.get("X-Shopify-Event-Id")))


@bp.post("/woocommerce/<key>")
def woocommerce(key: str) -> Response:
    spine = current_spine()
    body = _read_body(spine.settings.webhook_max_bytes)
    if body is None:
        return _refuse(413, "the body is too large")
    topic = request.headers.get("X-WC-Webhook-Topic", "")
    # The ping WooCommerce sends when a webhook is created is unsigned, and only an exact 200
    # marks the webhook as delivering.
    ping = not topic and _WOO_PING.fullmatch(body.strip()) is not None
    return _admit(spine, Arrival(
        platform="woocommerce", key=key, topic=topic, body=body, ping=ping,
        delivery_key=inbox.woocommerce_key(request.headers.get("X-WC-Webhook-ID", ""), body),
        headers=inbox.storable_headers(request.headers),
        signature=request.headers.get("X-WC-Webhook-Signature"),
        verify=verify.woocommerce_valid))


@bp.post("/magento/<key>/<event>")
def magento(key: str, event: str) -> Response:
    """Mage-OS async events: the event is named only in the URL."""
    spine = current_spine()
    body = _read_body(spine.settings.webhook_max_bytes)
    if body is None:
        return _refuse(413, "the body is too large")
    if not _EVENT_NAME.fullmatch(event):
        return _refuse(404, "unknown event")
    return _admit(spine, Arrival(
        platform="magento", key=key, topic=event, body=body,
        delivery_key=inbox.magento_key(event, body),
        headers=inbox.storable_headers(request.headers),
        signature=request.headers.get("x-magento-signature"), verify=verify.magento_valid))
