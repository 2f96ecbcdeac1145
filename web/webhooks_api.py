"""Glue extension endpoints for outgoing webhooks and dead letters (not in Posti's v3):

- ``GET|POST /ecommerce/v3/webhooks``: the organization's subscriptions; create one with
  ``{"url", "eventTypes": [...]}`` (the answer carries the ``whsec_`` secret, once);
- ``GET|DELETE /ecommerce/v3/webhooks/<id>``, ``POST .../<id>/enable``;
- ``GET /ecommerce/v3/webhooks/<id>/deliveries``: every delivery and attempt;
- ``GET /ecommerce/v3/dead-letters``, ``POST /ecommerce/v3/dead-letters/<id>/replay``.

Every endpoint needs an API bearer token (``web.auth``); errors answer the API's problem body.

``bp`` also nests the webhook receiver (``webhooks.receiver``) and serves ``/metrics`` (the
spine's backlog gauges for Prometheus), so the app factory registers the spine with one entry.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request

from core.db import utcnow
from core.errors import GlueError, ValidationFailed
from web.api.errors import from_glue_error
from web.api.paging import envelope, page_request
from web.app import get_db
from web.auth import api_principal
from webhooks import deadletters, metrics, receiver, subscriptions
from webhooks.models import DeadLetter, EventDelivery, WebhookSubscription
from webhooks.receiver import current_spine

api = Blueprint("webhooks_api", __name__, url_prefix="/ecommerce/v3")
bp = Blueprint("spine", __name__)


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    """Backlog gauges. With ``GLUE_METRICS_TOKEN`` set, the scraper sends it as a bearer
    token; without it only loopback may scrape."""
    token = os.environ.get("GLUE_METRICS_TOKEN", "")
    if token:
        sent = request.authorization.token if request.authorization else None
        if not sent or not hmac.compare_digest(sent.encode(), token.encode()):
            abort(401)
    elif request.remote_addr not in ("127.0.0.1", "::1"):
        abort(403)
    with get_db().sessions() as session:
        values = metrics.counts(session)
    return Response(metrics.exposition(values), mimetype="text/plain; version=0.0.4")


@api.errorhandler(GlueError)
def _glue_error(error: GlueError) -> Response:
    return from_glue_error(error)


def _subscription(s: WebhookSubscription) -> dict[str, Any]:
    return {"id": s.id, "url": s.url, "eventTypes": s.event_types, "status": s.status,
            "disabledReason": s.disabled_reason, "createdAt": s.created_at.isoformat(),
            "failingSince": s.failing_since.isoformat() if s.failing_since else None}


def _delivery(d: EventDelivery) -> dict[str, Any]:
    return {"id": d.id, "messageId": f"msg_{d.id}", "eventId": d.event_id, "status": d.status,
            "attempts": d.attempts, "nextAttemptAt": d.next_attempt_at.isoformat(),
            "lastError": d.last_error,
            "deliveredAt": d.delivered_at.isoformat() if d.delivered_at else None,
            "attemptLog": [{"at": a.attempted_at.isoformat(), "statusCode": a.status_code,
                            "durationMs": a.duration_ms, "error": a.error}
                           for a in d.attempt_log]}


def _dead_letter(letter: DeadLetter) -> dict[str, Any]:
    return {"id": letter.id, "kind": letter.kind, "errorKind": letter.error_kind,
            "error": letter.error, "attempts": letter.attempts, "details": letter.details,
            "createdAt": letter.created_at.isoformat(),
            "replayedAt": letter.replayed_at.isoformat() if letter.replayed_at else None}


@api.get("/webhooks")
def list_subscriptions() -> Response:
    principal = api_principal()
    with get_db().sessions() as session:
        rows = subscriptions.list_(session, principal)
        return jsonify(content=[_subscription(s) for s in rows])


@api.post("/webhooks")
def create_subscription() -> tuple[Response, int]:
    principal = api_principal()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    event_types = body.get("eventTypes")
    if not isinstance(event_types, list):
        raise ValidationFailed("eventTypes must be a list",
                               [{"field": "eventTypes", "message": "must be a list"}])
    with get_db().transaction() as session:
        subscription, secret = subscriptions.create(
            session, principal, str(body.get("url") or ""), event_types,
            allow_private=current_spine().settings.webhook_allow_private_targets, now=utcnow())
        answer = _subscription(subscription) | {"secret": secret}
    return jsonify(answer), 201


@api.get("/webhooks/<int:subscription_id>")
def get_subscription(subscription_id: int) -> Response:
    principal = api_principal()
    with get_db().sessions() as session:
        return jsonify(_subscription(subscriptions.get(session, principal, subscription_id)))


@api.delete("/webhooks/<int:subscription_id>")
def delete_subscription(subscription_id: int) -> tuple[str, int]:
    principal = api_principal()
    with get_db().transaction() as session:
        subscriptions.delete(session, principal, subscription_id)
    return "", 204


@api.post("/webhooks/<int:subscription_id>/enable")
def enable_subscription(subscription_id: int) -> Response:
    principal = api_principal()
    with get_db().transaction() as session:
        answer = _subscription(subscriptions.enable(session, principal, subscription_id))
    return jsonify(answer)


@api.get("/webhooks/<int:subscription_id>/deliveries")
def list_deliveries(subscription_id: int) -> Response:
    principal = api_principal()
    page = page_request()
    with get_db().sessions() as session:
        rows, total = subscriptions.deliveries(session, principal, subscription_id,
                                               offset=page.offset, limit=page.size)
        return jsonify(envelope([_delivery(d) for d in rows], total, page))


@api.get("/dead-letters")
def list_dead_letters() -> Response:
    principal = api_principal()
    page = page_request()
    include_replayed = request.args.get("includeReplayed", "").lower() == "true"
    with get_db().sessions() as session:
        rows, total = subscriptions.dead_letters(session, principal, offset=page.offset,
                                                 limit=page.size,
                                                 include_replayed=include_replayed)
        return jsonify(envelope([_dead_letter(d) for d in rows], total, page))


@api.post("/dead-letters/<int:letter_id>/replay")
def replay_dead_letter(letter_id: int) -> Response:
    principal = api_principal()
    with get_db().sessions() as session:
        letter = subscriptions.dead_letter(session, principal, letter_id)
        organization_id = letter.organization_id
    replayed = deadletters.replay(current_spine(), [letter_id], organization_id=organization_id)
    return jsonify(replayed=replayed)


bp.register_blueprint(receiver.bp)
bp.register_blueprint(api)
