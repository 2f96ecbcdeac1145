"""The Magento route: Adobe Commerce webhooks (RSA signature with the merchant's public key)
next to Mage-OS async events (hex HMAC), and the URL's event passed on to the handler."""

from __future__ import annotations

import base64
import itertools
import json

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask.testing import FlaskClient

from connectors.magento.webhooks import EVENT_HEADER
from core.crypto import encrypt
from core.db import Database
from core.models import ShopConnection
from tests.webhooks.conftest import (
    MAGENTO_SECRET,
    RecordingQueue,
    make_connection,
    new_org,
    recorded,
)
from webhooks import inbox, verify
from webhooks.handlers import InboxContext
from webhooks.models import InboxDelivery
from webhooks.spine import INBOX, Spine

EVENT = "observer.sales_order_place_after"
BODY = json.dumps({"eventName": EVENT, "data": {"order": {"increment_id": "000000042",
                                                          "grand_total": "49.90"}}}).encode()
_keys = itertools.count(1)


@pytest.fixture(scope="module")
def shop_key() -> rsa.RSAPrivateKey:
    """The key pair Adobe Commerce generates ("Regenerate key pair")."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def adobe_sign(key: rsa.RSAPrivateKey, body: bytes) -> str:
    """As Commerce signs: RSA-SHA256 over the base64 of the body, sent base64-encoded."""
    signature = key.sign(base64.b64encode(body), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def adobe_connection(db: Database, public_key: str) -> ShopConnection:
    with db.transaction() as session:
        connection = ShopConnection(
            key=f"adobe{next(_keys)}", retailer_id=new_org(session).id, platform="magento",
            shop="https://commerce.example.test", status="active",
            credentials=encrypt(json.dumps({"access_token": "not-used",
                                            "webhook_public_key": public_key})))
        session.add(connection)
    return connection


def stored(db: Database) -> list[InboxDelivery]:
    with db.sessions() as session:
        return list(session.scalars(sa.select(InboxDelivery).order_by(InboxDelivery.id)))


def header(row: InboxDelivery, name: str) -> str | None:
    return next((v for k, v in row.headers.items() if k.lower() == name.lower()), None)


def test_adobe_commerce_webhook_is_stored_under_the_url_event_and_answered_success(
        db: Database, client: FlaskClient, queue: RecordingQueue,
        shop_key: rsa.RSAPrivateKey) -> None:
    connection = adobe_connection(db, public_pem(shop_key))

    response = client.post(f"/webhooks/magento/{connection.key}/{EVENT}", data=BODY, headers={
        "Content-Type": "application/json",
        "x-adobe-commerce-webhook-signature": adobe_sign(shop_key, BODY)})

    assert response.status_code == 200
    assert response.get_json() == {"op": "success"}
    [row] = stored(db)
    assert (row.platform, row.connection_id, row.topic) == ("magento", connection.id, EVENT)
    assert row.body == BODY and header(row, EVENT_HEADER) == EVENT
    assert queue.ids(INBOX) == [row.id]


def test_adobe_commerce_signature_failures_answer_401_and_store_nothing(
        db: Database, client: FlaskClient, queue: RecordingQueue,
        shop_key: rsa.RSAPrivateKey) -> None:
    connection = adobe_connection(db, public_pem(shop_key))
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    url = f"/webhooks/magento/{connection.key}/{EVENT}"

    def post(body: bytes, signature: str) -> int:
        return client.post(url, data=body, headers={
            "x-adobe-commerce-webhook-signature": signature}).status_code

    answers = [post(BODY, adobe_sign(other_key, BODY)),                 # another shop's key
               post(BODY.replace(b"49.90", b"0.01"), adobe_sign(shop_key, BODY)),  # altered
               post(BODY, ""),                                          # empty header
               post(BODY, "not base64 at all!")]

    assert answers == [401, 401, 401, 401]
    assert stored(db) == [] and queue.jobs == []


def test_adobe_commerce_key_rotation_accepts_either_pasted_key(
        shop_key: rsa.RSAPrivateKey) -> None:
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    both = public_pem(shop_key) + "\n" + public_pem(new_key)

    assert verify.adobe_commerce_valid(both, BODY, adobe_sign(shop_key, BODY))
    assert verify.adobe_commerce_valid(both, BODY, adobe_sign(new_key, BODY))
    assert not verify.adobe_commerce_valid(public_pem(new_key), BODY, adobe_sign(shop_key, BODY))
    assert not verify.adobe_commerce_valid("not a key", BODY, adobe_sign(shop_key, BODY))


def test_adobe_signature_is_not_checked_against_the_mage_os_token(
        db: Database, client: FlaskClient, shop_key: rsa.RSAPrivateKey) -> None:
    # a Mage-OS connection (HMAC token, no public key) refuses an Adobe-signed delivery
    connection = make_connection(db, "magento", secret=MAGENTO_SECRET)

    response = client.post(f"/webhooks/magento/{connection.key}/{EVENT}", data=BODY, headers={
        "x-adobe-commerce-webhook-signature": adobe_sign(shop_key, BODY)})

    assert response.status_code == 401 and stored(db) == []


def test_the_url_event_reaches_the_handler_as_topic_and_header_whatever_the_sender_says(
        db: Database, client: FlaskClient, spine: Spine) -> None:
    connection = make_connection(db, "magento", secret=MAGENTO_SECRET)
    sample = recorded("magento", "sales_order_created")
    seen: list[tuple[str, str | None]] = []

    @spine.registry.inbox("magento", "*")
    def handle(ctx: InboxContext) -> None:
        seen.append((ctx.topic, header(ctx.delivery, EVENT_HEADER)))

    response = client.post(f"/webhooks/magento/{connection.key}/sales.order.created",
                           data=sample.body,
                           headers=sample.post_headers(**{"X-Glue-Event": "sales.order.paid"}))
    [row] = stored(db)
    inbox.process_delivery(spine, row.id)

    assert response.status_code == 200
    assert seen == [("sales.order.created", "sales.order.created")]
