"""``/webhooks/...``: the receiver for the shop platforms' deliveries (DESIGN.md section 8).

Each delivery goes through the same steps, and fails at the first that refuses it:

1. size: more than ``GLUE_WEBHOOK_MAX_BYTES`` → 413, read no further;
2. signature over the raw bytes, in constant time → 401, nothing stored;
3. the shop or connection must be known → 404, nothing stored (WooCommerce and Magento keep
   their secret on the connection, so for them the connection is looked up first);
4. store in the inbox with the headers (a duplicate is answered 200 and not processed again),
   commit, enqueue, answer 200.

Steps 3 and 4 run in the process's group commit (``webhooks.intake``), which commits the
deliveries of concurrent requests together and enqueues them with one queue write. The answer
never waits for the worker: when the queue is down the row is already committed and the
periodic sweep enqueues it later.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from functools import partial

from flask import Blueprint, Response, current_app, g, jsonify, request

from webhooks import inbox, logline, verify
from webhooks.intake import Arrival, GroupCommitter
from webhooks.spine import INBOX, Spine

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

_WOO_PING = re.compile(rb"webhook_id=\d+")
_EVENT_NAME = re.compile(r"[a-z0-9_.]{1,100}")
ADOBE_SIGNATURE = "x-adobe-commerce-webhook-signature"
MAGENTO_EVENT_HEADER = "X-Glue-Event"
# A commit's leader hands every commit back to request threads that wait for it; with
# CPython's default 5 ms switch interval each handoff could wait that long for the GIL, which
# was most of the receiver's latency under load. A web process that receives webhooks lowers
# it (never raises it) when its group commit is made.
SWITCH_INTERVAL = 0.0005


def current_spine() -> Spine:
    """The app's spine: built once per app, enqueueing to the worker's queue."""
    spine = current_app.extensions.get("glue.spine")
    if spine is None:
        # imported here: the worker module imports this package
        from glue.worker import enqueue, enqueue_many
        from web.app import get_db

        spine = Spine(database=get_db(), enqueue=enqueue, enqueue_many=enqueue_many)
        current_app.extensions["glue.spine"] = spine
    return spine


def _intake(spine: Spine) -> GroupCommitter:
    """The app's inbox writer for this spine: its database, clock and queue."""
    kept = current_app.extensions.get("glue.intake")
    if kept is None or kept[0] is not spine:
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        committer = GroupCommitter(spine.database, spine.clock,
                                   enqueue=partial(spine.try_enqueue_many, INBOX))
        kept = current_app.extensions["glue.intake"] = (spine, committer)
    return kept[1]


@bp.before_request
def _start_clock() -> None:
    g.webhook_started = time.perf_counter()
    g.webhook_log = {}
    # tell the inbox writer a delivery is coming, so a commit starting now may wait for it
    g.webhook_intake = _intake(current_spine())
    g.webhook_intake.announce()


@bp.teardown_request
def _withdraw(_error: BaseException | None = None) -> None:
    """A request refused (or failed) before it submitted its delivery withdraws it."""
    intake = g.pop("webhook_intake", None)
    if intake is not None:
        intake.withdraw()


@bp.after_request
def _log_delivery(response: Response) -> Response:
    """One line per delivery: ids, topic, outcome and time taken; never the body, a header
    value other than the topic, or a secret."""
    if log.isEnabledFor(logging.INFO):
        fields = getattr(g, "webhook_log", {})
        url = request.view_args or {}
        logline.emit(
            log, "webhook.received", platform=(request.endpoint or "").rpartition(".")[2],
            connection=fields.get("connection", url.get("key")), delivery=fields.get("delivery"),
            topic=fields.get("topic", url.get("event")),
            outcome=fields.get("outcome", _OUTCOMES.get(response.status_code,
                                                        str(response.status_code))),
            status=response.status_code,
            duration_ms=(time.perf_counter() - g.webhook_started) * 1000
            if hasattr(g, "webhook_started") else None)
    return response


_OUTCOMES = {401: "invalid_signature", 404: "unknown_connection", 413: "too_large"}


def _note(**fields: object) -> None:
    g.webhook_log.update(fields)


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
    intake = g.pop("webhook_intake", None)
    outcome = (intake or _intake(spine)).submit(arrival, announced=intake is not None)
    _note(platform=arrival.platform, topic=arrival.topic or None,
          connection=outcome.connection_key or arrival.key or arrival.shop)
    if outcome.status == 404:
        return _refuse(404, "unknown shop or connection")
    if outcome.status == 401:
        return _refuse(401, "invalid signature")
    if arrival.ping:
        _note(outcome="ping")
        return Response(status=200)
    _note(delivery=outcome.inbox_id, outcome="stored" if outcome.created else "duplicate")
    return Response(status=200)


@bp.post("/shopify")
def shopify() -> Response:
    spine = current_spine()
    body = _read_body(spine.settings.webhook_max_bytes)
    if body is None:
        return _refuse(413, "the body is too large")
    shop = request.headers.get("X-Shopify-Shop-Domain", "").strip().lower()
    _note(connection=shop or None, topic=request.headers.get("X-Shopify-Topic"))
    if not verify.shopify_valid(spine.settings.shopify_api_secret, body,
                                request.headers.get("X-Shopify-Hmac-Sha256")):
        return _refuse(401, "invalid signature")
    webhook_id = request.headers.get("X-Shopify-Webhook-Id") or f"body:{inbox.body_hash(body)}"
    return _admit(spine, Arrival(
        platform="shopify", shop=shop,
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
    """Mage-OS async events and Adobe Commerce webhooks: the event is named only in the URL.

    A delivery carrying ``x-adobe-commerce-webhook-signature`` is an Adobe Commerce webhook,
    checked against the RSA public key kept as ``webhook_public_key`` and answered with the
    ``{"op": "success"}`` Commerce expects; any other is a Mage-OS async event with its hex
    HMAC in ``x-magento-signature``. Either way the URL's event is stored as the topic and as
    the ``X-Glue-Event`` header, which the Magento connector's ``parse_webhook`` reads.
    """
    spine = current_spine()
    body = _read_body(spine.settings.webhook_max_bytes)
    if body is None:
        return _refuse(413, "the body is too large")
    if not _EVENT_NAME.fullmatch(event):
        return _refuse(404, "unknown event")
    headers = inbox.storable_headers(request.headers)
    headers[MAGENTO_EVENT_HEADER] = event  # the URL's word, never a sender's header
    adobe = request.headers.get(ADOBE_SIGNATURE)
    if adobe is not None:
        arrival = Arrival(platform="magento", key=key, topic=event, body=body, headers=headers,
                          delivery_key=inbox.magento_key(event, body), signature=adobe,
                          verify=verify.adobe_commerce_valid, credential="webhook_public_key")
        response = _admit(spine, arrival)
        return jsonify(op="success") if response.status_code == 200 else response
    return _admit(spine, Arrival(
        platform="magento", key=key, topic=event, body=body, headers=headers,
        delivery_key=inbox.magento_key(event, body),
        signature=request.headers.get("x-magento-signature"), verify=verify.magento_valid))
