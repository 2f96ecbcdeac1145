"""Structured logs: one line per delivery and per job, with ids and outcome; never a secret,
a signature or any part of a body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from core.db import Database
from tests.webhooks.conftest import (
    SHOPIFY_SECRET,
    WOO_SECRET,
    make_connection,
    recorded,
)
from webhooks import inbox, logline
from webhooks.handlers import InboxContext
from webhooks.models import InboxDelivery
from webhooks.spine import Spine


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every message the spine and the worker log, down to DEBUG, as formatted."""
    caplog.set_level(logging.DEBUG, logger="webhooks")
    caplog.set_level(logging.DEBUG, logger="glue")
    captured: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(self.format(record))

    handler = Collect()
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logging.getLogger().addHandler(handler)
    yield captured
    logging.getLogger().removeHandler(handler)


def fields(line: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in line.split()[2:])


def body_fragments(body: bytes) -> list[str]:
    """Values from the body a leak would show: names, address, e-mail, phone, order key."""
    order = json.loads(body)
    billing = order["billing"]
    return [billing["email"], billing["phone"], billing["last_name"], billing["address_1"],
            order["order_key"], body.decode()[:40]]


def test_signed_delivery_logs_one_line_each_for_receipt_and_job_without_secrets_or_body(
        db: Database, client: FlaskClient, spine: Spine, lines: list[str]) -> None:
    connection = make_connection(db, "woocommerce", secret=WOO_SECRET)
    sample = recorded("woocommerce", "order_created")
    spine.registry.inbox("woocommerce", "order.created")(lambda ctx: None)

    response = client.post(f"/webhooks/woocommerce/{connection.key}", data=sample.body,
                           headers=sample.post_headers())
    with db.sessions() as session:
        delivery_id = session.scalar(sa.select(InboxDelivery.id))
    inbox.process_delivery(spine, delivery_id)

    assert response.status_code == 200
    received = [line for line in lines if " webhook.received " in line]
    processed = [line for line in lines if " inbox.processed " in line]
    assert len(received) == 1 and len(processed) == 1
    assert fields(received[0]) | {"duration_ms": "?"} == {
        "platform": "woocommerce", "connection": connection.key, "delivery": str(delivery_id),
        "topic": "order.created", "outcome": "stored", "status": "200", "duration_ms": "?"}
    assert float(fields(received[0])["duration_ms"]) >= 0
    job = fields(processed[0])
    assert (job["delivery"], job["connection"], job["topic"], job["attempt"],
            job["outcome"]) == (str(delivery_id), connection.key, "order.created", "1", "done")
    text = "\n".join(lines)
    signature = sample.headers["X-WC-Webhook-Signature"]
    for secret in [WOO_SECRET, signature, *body_fragments(sample.body)]:
        assert secret not in text


def test_refused_and_failed_deliveries_are_logged_without_secrets(
        db: Database, client: FlaskClient, spine: Spine, lines: list[str]) -> None:
    make_connection(db, "shopify", shop="glue-test.myshopify.com")
    body = b'{"id": 820982911946154508, "email": "jon@example.test", "token": "tok_secret_1"}'
    good = base64.b64encode(hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest())
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain":
               "glue-test.myshopify.com", "X-Shopify-Webhook-Id": "w-1",
               "Authorization": "Bearer not-for-logs"}

    forged = client.post("/webhooks/shopify", data=body,
                         headers={**headers, "X-Shopify-Hmac-Sha256": "Zm9yZ2Vk"})
    signed = client.post("/webhooks/shopify", data=body,
                         headers={**headers, "X-Shopify-Hmac-Sha256": good.decode()})
    spine.registry.inbox("shopify", "*")(_fail)
    with db.sessions() as session:
        delivery_id = session.scalar(sa.select(InboxDelivery.id))
    inbox.process_delivery(spine, delivery_id)

    assert (forged.status_code, signed.status_code) == (401, 200)
    receipts = [fields(line) for line in lines if " webhook.received " in line]
    assert [(r["connection"], r["topic"], r["outcome"]) for r in receipts] == [
        ("glue-test.myshopify.com", "orders/create", "invalid_signature"),
        (receipts[1]["connection"], "orders/create", "stored")]
    [job] = [fields(line) for line in lines if " inbox.processed " in line]
    assert (job["outcome"], job["error_kind"]) == ("retry", "retriable")
    text = "\n".join(lines)
    for secret in [SHOPIFY_SECRET, good.decode(), "jon@example.test", "tok_secret_1",
                   "not-for-logs", "820982911946154508"]:
        assert secret not in text


def _fail(ctx: InboxContext) -> None:
    raise ConnectionError(f"shop said no to {ctx.payload['email']}")


def test_a_value_cannot_forge_a_field_or_a_line() -> None:
    line = logline.line("webhook.received", topic="orders/create\noutcome=stored x=1",
                        connection=None, duration_ms=1.25)

    assert "\n" not in line
    assert line == ('webhook.received topic="orders/create\\noutcome=stored x=1" '
                    'connection=- duration_ms=1.2')
