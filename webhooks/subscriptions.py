"""Outgoing-webhook subscriptions and dead letters as an organization sees them.

Every function takes the acting principal and shows or changes only its organization's rows;
another organization's ids answer ``NotFound`` so their existence does not leak.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from core.crypto import encrypt
from core.errors import Forbidden, NotFound, ValidationFailed
from core.models import Event
from core.principal import Principal
from webhooks import outgoing
from webhooks.models import DeadLetter, EventDelivery, WebhookSubscription

EVENT_TYPE = re.compile(r"\*|[a-z_]+(\.[a-z_]+)+")
MAX_EVENT_TYPES = 50


def _org(principal: Principal) -> int:
    """Subscriptions are managed by the organization's API accounts and admins."""
    org_id = principal.require_org()
    if principal.api_account_id is None and not principal.can("admin"):
        raise Forbidden("managing webhooks needs an API account or the admin permission")
    return org_id


def create(session: Session, principal: Principal, url: str, event_types: Sequence[str], *,
           allow_private: bool, now: datetime) -> tuple[WebhookSubscription, str]:
    """Subscribe ``url`` to ``event_types`` (``*`` for all); returns the subscription and its
    secret, which is shown this once and stored only encrypted. Only events recorded after
    this call are delivered."""
    org_id = _org(principal)
    errors = []
    refusal = outgoing.target_refusal(url or "", allow_private=allow_private)
    if refusal:
        errors.append({"field": "url", "message": refusal})
    types = sorted(set(event_types or []))
    if not types or len(types) > MAX_EVENT_TYPES:
        errors.append({"field": "eventTypes",
                       "message": f"give 1 to {MAX_EVENT_TYPES} event types"})
    errors += [{"field": f"eventTypes[{i}]", "message": f"not an event type: {t!r}"}
               for i, t in enumerate(types) if not isinstance(t, str) or
               not EVENT_TYPE.fullmatch(t)]
    if errors:
        raise ValidationFailed("the subscription is not valid", errors)
    secret = outgoing.new_secret()
    last_event = session.scalar(sa.select(sa.func.max(Event.id))) or 0
    subscription = WebhookSubscription(
        organization_id=org_id, api_account_id=principal.api_account_id, url=url,
        event_types=types, secret=encrypt(secret), after_event_id=last_event, created_at=now)
    session.add(subscription)
    session.flush()
    return subscription, secret


def list_(session: Session, principal: Principal) -> list[WebhookSubscription]:
    return list(session.scalars(sa.select(WebhookSubscription)
                                .where(WebhookSubscription.organization_id == _org(principal))
                                .order_by(WebhookSubscription.id)))


def get(session: Session, principal: Principal, subscription_id: int) -> WebhookSubscription:
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None or subscription.organization_id != _org(principal):
        raise NotFound("webhook subscription not found")
    return subscription


def delete(session: Session, principal: Principal, subscription_id: int) -> None:
    session.delete(get(session, principal, subscription_id))


def enable(session: Session, principal: Principal, subscription_id: int) -> WebhookSubscription:
    """Re-enable a disabled subscription; events are delivered again from now on."""
    subscription = get(session, principal, subscription_id)
    subscription.status, subscription.disabled_reason = "active", None
    subscription.failing_since = None
    return subscription


def deliveries(session: Session, principal: Principal, subscription_id: int, *,
               offset: int, limit: int) -> tuple[list[EventDelivery], int]:
    """The subscription's deliveries, newest first, with their attempts."""
    subscription = get(session, principal, subscription_id)
    where = EventDelivery.subscription_id == subscription.id
    total = session.scalar(sa.select(sa.func.count()).where(where)) or 0
    rows = session.scalars(sa.select(EventDelivery).where(where)
                           .options(selectinload(EventDelivery.attempt_log))
                           .order_by(EventDelivery.id.desc()).offset(offset).limit(limit))
    return list(rows), total


def dead_letters(session: Session, principal: Principal, *, offset: int, limit: int,
                 include_replayed: bool = False) -> tuple[list[DeadLetter], int]:
    where = [DeadLetter.organization_id == principal.require_org()]
    if not include_replayed:
        where.append(DeadLetter.replayed_at.is_(None))
    total = session.scalar(sa.select(sa.func.count()).select_from(DeadLetter).where(*where))
    rows = session.scalars(sa.select(DeadLetter).where(*where)
                           .order_by(DeadLetter.id.desc()).offset(offset).limit(limit))
    return list(rows), total or 0


def dead_letter(session: Session, principal: Principal, letter_id: int) -> DeadLetter:
    letter = session.get(DeadLetter, letter_id)
    if letter is None or letter.organization_id != principal.require_org():
        raise NotFound("dead letter not found")
    return letter
