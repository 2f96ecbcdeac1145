"""Signature checks for each platform's webhook deliveries, over the raw body bytes.

Every comparison goes through ``hmac.compare_digest`` so timing reveals nothing; a missing or
undecodable signature is simply invalid. ``secret`` may list several secrets separated by
commas (the old and the new one while a rotation settles: Shopify takes up to an hour to
switch); every one is tried, without an early exit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable


def _secrets(secret: str) -> list[bytes]:
    return [s.strip().encode() for s in secret.split(",") if s.strip()]


def _any_matches(secret: str, signature: str | None,
                 expected: Callable[[bytes], bytes]) -> bool:
    if not signature:
        return False
    given = signature.strip().encode("ascii", "replace")
    ok = False
    for key in _secrets(secret):
        ok |= hmac.compare_digest(expected(key), given)
    return ok


def _digest(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()


def shopify_valid(secret: str, body: bytes, signature: str | None) -> bool:
    """``X-Shopify-Hmac-Sha256``: base64 HMAC-SHA256 of the body with the app's client secret."""
    return _any_matches(secret, signature, lambda key: base64.b64encode(_digest(key, body)))


def woocommerce_valid(secret: str, body: bytes, signature: str | None) -> bool:
    """``X-WC-Webhook-Signature``: base64 HMAC-SHA256 of the body with the webhook's secret."""
    return _any_matches(secret, signature, lambda key: base64.b64encode(_digest(key, body)))


def magento_valid(secret: str, body: bytes, signature: str | None) -> bool:
    """``x-magento-signature``: hex HMAC-SHA256 of the body with the verification token."""
    return _any_matches(secret, signature.lower() if signature else signature,
                        lambda key: _digest(key, body).hex().encode())
