"""Signature checks against the recorded deliveries of real shops."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from tests.webhooks.conftest import MAGENTO_SECRET, WOO_SECRET, recorded
from webhooks import verify

WOO_SAMPLES = ["order_created", "order_updated", "order_updated_completed_tracking",
               "product_created_simple_gtin", "product_created_variable",
               "product_created_variation", "product_updated_variation_stock"]
MAGENTO_SAMPLES = ["sales_order_created", "sales_order_updated_shipped",
                   "catalog_product_created_configurable"]


@pytest.mark.parametrize("name", WOO_SAMPLES)
def test_recorded_woocommerce_deliveries_verify(name: str) -> None:
    sample = recorded("woocommerce", name)
    signature = sample.headers["X-WC-Webhook-Signature"]

    assert verify.woocommerce_valid(WOO_SECRET, sample.body, signature)
    assert not verify.woocommerce_valid("another-secret", sample.body, signature)
    assert not verify.woocommerce_valid(WOO_SECRET, sample.body + b" ", signature)


@pytest.mark.parametrize("name", MAGENTO_SAMPLES)
def test_recorded_magento_deliveries_verify(name: str) -> None:
    sample = recorded("magento", name)
    signature = sample.headers["x-magento-signature"]

    assert verify.magento_valid(MAGENTO_SECRET, sample.body, signature)
    assert verify.magento_valid(MAGENTO_SECRET, sample.body, signature.upper())
    assert not verify.magento_valid("another-token", sample.body, signature)
    assert not verify.magento_valid(MAGENTO_SECRET, sample.body[:-1], signature)


def test_shopify_signature_is_base64_hmac_of_the_raw_body() -> None:
    body = b'{"id": 820982911946154508, "email": "jon@example.com"}'
    signature = base64.b64encode(hmac.new(b"app-secret", body, hashlib.sha256).digest()).decode()

    assert verify.shopify_valid("app-secret", body, signature)
    assert not verify.shopify_valid("app-secret", body, signature[:-2])
    assert not verify.shopify_valid("app-secret", body.replace(b"jon", b"joe"), signature)


@pytest.mark.parametrize("check", [verify.shopify_valid, verify.woocommerce_valid,
                                   verify.magento_valid])
@pytest.mark.parametrize("secret, signature", [("secret", None), ("secret", ""),
                                               ("", "c2lnbmF0dXJl"), ("secret", "ä-non-ascii")])
def test_missing_secret_or_signature_is_invalid(check, secret, signature) -> None:  # noqa: ANN001
    assert check(secret, b"{}", signature) is False


def test_during_a_secret_rotation_both_secrets_verify() -> None:
    body = b'{"id": 1}'
    old = base64.b64encode(hmac.new(b"old", body, hashlib.sha256).digest()).decode()
    new = base64.b64encode(hmac.new(b"new", body, hashlib.sha256).digest()).decode()

    assert verify.shopify_valid("new, old", body, old)
    assert verify.shopify_valid("new, old", body, new)
    assert not verify.shopify_valid("new", body, old)
