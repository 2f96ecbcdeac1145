"""The receiver: size, signature, shop, store once, enqueue, answer 200 — in that order."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from core.db import Database
from tests.webhooks.conftest import (
    MAGENTO_SECRET,
    SHOPIFY_SECRET,
    WOO_SECRET,
    RecordingQueue,
    make_connection,
    recorded,
)
from webhooks.models import InboxDelivery
from webhooks.spine import INBOX, Spine


def stored(db: Database) -> list[InboxDelivery]:
    with db.sessions() as session:
        return list(session.scalars(sa.select(InboxDelivery).order_by(InboxDelivery.id)))


def shopify_headers(body: bytes, *, shop: str = "glue-test.myshopify.com",
                    webhook_id: str = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
                    secret: str = SHOPIFY_SECRET) -> dict[str, str]:
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return {"Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-Sha256": signature.decode(), "X-Shopify-Shop-Domain": shop,
            "X-Shopify-API-Version": "2025-01", "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5"}


# --- WooCommerce ---------------------------------------------------------------------------

def test_recorded_woocommerce_order_is_stored_with_headers_and_enqueued(
        db: Database, client: FlaskClient, queue: RecordingQueue) -> None:
    connection = make_connection(db, "woocommerce", secret=WOO_SECRET)
    sample = recorded("woocommerce", "order_created")

    response = client.post(f"/webhooks/woocommerce/{connection.key}", data=sample.body,
                           headers=sample.post_headers())

    assert response.status_code == 200
    [row] = stored(db)
    assert (row.platform, row.connection_id, row.topic) == ("woocommerce", connection.id,
                                                            "order.created")
    assert row.body == sample.body
    assert row.headers["X-Wc-Webhook-Delivery-Id"] == "0b4c2ef7f0e21d0c78c1edf3f4de2483"
    assert row.delivery_key.startswith("1:29:")
    assert queue.jobs == [(INBOX, row.id, None)]


def test_woocommerce_signature_failures_answer_401_and_store_nothing(
        db: Database, client: FlaskClient, queue: RecordingQueue) -> None:
    connection = make_connection(db, "woocommerce", secret=WOO_SECRET)
    sample = recorded("woocommerce", "order_created")
    url = f"/webhooks/woocommerce/{connection.key}"
    wrong_secret = make_connection(db, "woocommerce", secret="not-the-secret")

    answers = [
        client.post(f"/webhooks/woocommerce/{wrong_secret.key}", data=sample.body,
                    headers=sample.post_headers()),
        client.post(url, data=sample.body.replace(b"processing", b"completed!"),
                    headers=sample.post_headers()),
        client.post(url, data=sample.body,
                    headers=sample.post_headers(**{"X-WC-Webhook-Signature": None})),
    ]

    assert [a.status_code for a in answers] == [401, 401, 401]
    assert stored(db) == [] and queue.jobs == []


def test_unknown_connection_answers_404_and_stores_nothing(
        db: Database, client: FlaskClient) -> None:
    make_connection(db, "woocommerce", secret=WOO_SECRET)
    magento = make_connection(db, "magento", secret=MAGENTO_SECRET)
    sample = recorded("woocommerce", "order_created")

    woo = client.post("/webhooks/woocommerce/no-such-key", data=sample.body,
                      headers=sample.post_headers())
    # a Magento connection's key is not a WooCommerce connection
    crossed = client.post(f"/webhooks/woocommerce/{magento.key}", data=sample.body,
                          headers=sample.post_headers())

    assert (woo.status_code, crossed.status_code) == (404, 404)
    assert stored(db) == []


def test_woocommerce_ping_is_answered_exactly_200_and_not_stored(
        db: Database, client: FlaskClient, queue: RecordingQueue) -> None:
    connection = make_connection(db, "woocommerce", secret=WOO_SECRET)
    ping = recorded("woocommerce", "webhook_ping")

    response = client.post(f"/webhooks/woocommerce/{connection.key}", data=ping.body,
                           headers=ping.post_headers())

    assert response.status_code == 200
    assert stored(db) == [] and queue.jobs == []


def test_woocommerce_created_and_updated_with_identical_bodies_are_two_deliveries(
        db: Database, client: FlaskClient) -> None:
    connection = make_connection(db, "woocommerce", secret=WOO_SECRET)
    created, updated = recorded("woocommerce", "order_created"), recorded("woocommerce",
                                                                         "order_updated")
    assert created.body == updated.body  # as recorded: both built when the queue ran

    for sample in (created, updated, created):
        assert client.post(f"/webhooks/woocommerce/{connection.key}", data=sample.body,
                           headers=sample.post_headers()).status_code == 200

    assert [r.topic for r in stored(db)] == ["order.created", "order.updated"]


def test_deliveries_sharing_woocommerce_delivery_id_are_kept_apart(
        db: Database, client: FlaskClient) -> None:
    connection = make_connection(db, "woocommerce", secret=WOO_SECRET)
    names = ["product_created_variable", "product_created_variation",
             "product_created_simple_gtin"]

    for name in names:
        sample = recorded("woocommerce", name)
        client.post(f"/webhooks/woocommerce/{connection.key}", data=sample.body,
                    headers=sample.post_headers())

    rows = stored(db)
    assert len(rows) == 3
    assert {r.headers["X-Wc-Webhook-Delivery-Id"] for r in rows} == {
        "d397457795b1dfb6549f7d3a5c47518c"}


def test_the_same_delivery_posted_concurrently_is_stored_once(
        db: Database, app: Flask, queue: RecordingQueue) -> None:
    connection = make_connection(db, "woocommerce", secret=WOO_SECRET)
    sample = recorded("woocommerce", "order_updated_completed_tracking")
    statuses: list[int] = []
    barrier = threading.Barrier(5)

    def post() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(f"/webhooks/woocommerce/{connection.key}",
                                    data=sample.body, headers=sample.post_headers()).status_code)

    threads = [threading.Thread(target=post) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    later = app.test_client().post(f"/webhooks/woocommerce/{connection.key}", data=sample.body,
                                   headers=sample.post_headers())

    assert statuses == [200] * 5 and later.status_code == 200
    [row] = stored(db)
    assert queue.ids(INBOX) == [row.id]


# --- Magento -------------------------------------------------------------------------------

def test_recorded_magento_async_event_is_stored_under_the_event_in_the_url(
        db: Database, client: FlaskClient, queue: RecordingQueue) -> None:
    connection = make_connection(db, "magento", secret=MAGENTO_SECRET)
    sample = recorded("magento", "sales_order_created")
    url = f"/webhooks/magento/{connection.key}/sales.order.created"

    first = client.post(url, data=sample.body, headers=sample.post_headers())
    again = client.post(url, data=sample.body, headers=sample.post_headers())

    assert (first.status_code, again.status_code) == (200, 200)
    [row] = stored(db)
    assert (row.platform, row.topic) == ("magento", "sales.order.created")
    assert queue.ids(INBOX) == [row.id]


def test_magento_bad_signature_answers_401(db: Database, client: FlaskClient) -> None:
    connection = make_connection(db, "magento", secret="a-different-token")
    sample = recorded("magento", "catalog_product_created_configurable")

    response = client.post(f"/webhooks/magento/{connection.key}/catalog.product.created",
                           data=sample.body, headers=sample.post_headers())

    assert response.status_code == 401
    assert stored(db) == []


# --- Shopify -------------------------------------------------------------------------------

def test_shopify_delivery_is_stored_with_webhook_and_event_ids(
        db: Database, client: FlaskClient) -> None:
    connection = make_connection(db, "shopify", shop="glue-test.myshopify.com")
    body = json.dumps({"id": 450789469, "updated_at": "2026-11-26T12:00:00Z"}).encode()

    response = client.post("/webhooks/shopify", data=body, headers=shopify_headers(body))
    duplicate = client.post("/webhooks/shopify", data=body, headers=shopify_headers(body))

    assert (response.status_code, duplicate.status_code) == (200, 200)
    [row] = stored(db)
    assert row.connection_id == connection.id and row.topic == "orders/create"
    assert row.delivery_key == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert row.event_id == "98880550-7158-44d4-b7cd-2c97c8a091b5"


def test_shopify_bad_signature_is_401_and_unknown_shop_is_404(
        db: Database, client: FlaskClient) -> None:
    make_connection(db, "shopify", shop="glue-test.myshopify.com")
    body = b'{"id": 1}'

    forged = client.post("/webhooks/shopify", data=body,
                         headers=shopify_headers(body, secret="someone-else"))
    unknown = client.post("/webhooks/shopify", data=body,
                          headers=shopify_headers(body, shop="other.myshopify.com"))

    assert (forged.status_code, unknown.status_code) == (401, 404)
    assert stored(db) == []


def test_authorization_and_cookie_headers_are_not_stored(
        db: Database, client: FlaskClient) -> None:
    make_connection(db, "shopify", shop="glue-test.myshopify.com")
    body = b'{"id": 2}'
    headers = shopify_headers(body) | {"Authorization": "Bearer x", "Cookie": "a=b"}

    client.post("/webhooks/shopify", data=body, headers=headers)

    [row] = stored(db)
    assert not {"Authorization", "Cookie"} & set(row.headers)


# --- size and availability -----------------------------------------------------------------

def test_body_over_the_limit_answers_413_before_anything_else(
        db: Database, client: FlaskClient, spine: Spine) -> None:
    connection = make_connection(db, "woocommerce", secret=WOO_SECRET)
    sample = recorded("woocommerce", "order_created")
    spine.settings.webhook_max_bytes = len(sample.body) - 1

    too_big = client.post(f"/webhooks/woocommerce/{connection.key}", data=sample.body,
                          headers=sample.post_headers())
    unsigned_too_big = client.post("/webhooks/shopify", data=sample.body)

    assert (too_big.status_code, unsigned_too_big.status_code) == (413, 413)
    assert stored(db) == []


def test_the_receiver_answers_200_while_the_queue_is_down(
        db: Database, client: FlaskClient, queue: RecordingQueue) -> None:
    connection = make_connection(db, "woocommerce", secret=WOO_SECRET)
    sample = recorded("woocommerce", "product_updated_variation_stock")
    queue.down = True

    response = client.post(f"/webhooks/woocommerce/{connection.key}", data=sample.body,
                           headers=sample.post_headers())

    assert response.status_code == 200
    [row] = stored(db)
    assert row.status == "pending"
