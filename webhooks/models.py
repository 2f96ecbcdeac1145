"""The spine's tables: the inbox of received webhook deliveries, the outgoing-webhook
subscriptions, one delivery row per (consumer, event) with every attempt, the fan-out cursor
over the event log, and the dead letters.

The event log itself (``core.models.Event``) is never edited: progress is kept here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# Row states shared by the inbox and event deliveries.
PENDING = "pending"
DONE = "done"          # handled (inbox) or accepted by the receiver (outgoing)
SKIPPED = "skipped"    # no handler is registered for the topic
DEAD = "dead"          # dead-lettered; `glue replay` puts it back to pending


class InboxDelivery(Base):
    """One webhook delivery as received: stored before anything acts on it."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (
        sa.UniqueConstraint("platform", "connection_id", "delivery_key",
                            name="uq_webhook_inbox_delivery"),
        sa.Index("ix_webhook_inbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(sa.String(20))
    connection_id: Mapped[int] = mapped_column(
        sa.ForeignKey("shop_connections.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(sa.String(100))
    # Shopify: X-Shopify-Webhook-Id; WooCommerce: webhook id + resource id + body hash;
    # Magento: event + body hash (the subscription is the connection and the event).
    delivery_key: Mapped[str] = mapped_column(sa.String(200))
    event_id: Mapped[str | None] = mapped_column(sa.String(100), default=None)  # X-Shopify-Event-Id
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)
    status: Mapped[str] = mapped_column(sa.String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)


class WebhookSubscription(Base):
    """An API account's outgoing webhook: a URL and the event types it wants."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    api_account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("api_accounts.id", ondelete="SET NULL"), default=None)
    url: Mapped[str] = mapped_column(sa.String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(sa.Text)  # encrypted ``whsec_…``
    status: Mapped[str] = mapped_column(sa.String(10), default="active")  # active | disabled
    disabled_reason: Mapped[str | None] = mapped_column(sa.Text, default=None)
    # Only events after this id are delivered: a new subscription gets no history.
    after_event_id: Mapped[int] = mapped_column(default=0)
    failing_since: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def wants(self, event_type: str, organization_ids: list[int]) -> bool:
        """The visibility rule and the type filter: may and does this subscriber get it?"""
        return (self.status == "active" and self.organization_id in organization_ids
                and ("*" in self.event_types or event_type in self.event_types))


class EventDelivery(Base):
    """One event on its way to one consumer: a subscription (outgoing webhook) or a
    registered in-process event handler (``handler``, e.g. a connector's)."""

    __tablename__ = "event_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("consumer", "event_id", name="uq_event_deliveries_consumer"),
        sa.Index("ix_event_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer: Mapped[str] = mapped_column(sa.String(120))  # "subscription:<id>" | "handler:<name>"
    subscription_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True, default=None)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # An outgoing send holds this lease while the HTTP request runs outside any transaction.
    leased_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)

    subscription: Mapped[WebhookSubscription | None] = relationship()
    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        order_by="DeliveryAttempt.id", cascade="all, delete-orphan")


class DeliveryAttempt(Base):
    """Every outgoing request made for an event delivery, successful or not."""

    __tablename__ = "event_delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("event_deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(default=None)
    duration_ms: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text, default=None)


class OutboxCursor(Base):
    """How far the fan-out has read the event log (one row per reader)."""

    __tablename__ = "outbox_cursors"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeadLetter(Base):
    """A job that ran out of attempts or failed fatally, kept until someone replays it."""

    __tablename__ = "dead_letters"
    __table_args__ = (sa.Index("ix_dead_letters_source", "kind", "ref_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # "inbox" | "event_delivery"
    ref_id: Mapped[int]
    # who may see it: the connection's retailer, or the subscription's organization
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True, default=None)
    error_kind: Mapped[str] = mapped_column(sa.String(20))  # retriable | fatal | configuration
    error: Mapped[str] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    replayed_at: Mapped[datetime | None] = mapped_column(default=None)
