"""Signature checks for each platform's webhook deliveries, over the raw body bytes.

Every comparison goes through ``hmac.compare_digest`` so timing reveals nothing; a missing or
undecodable signature is simply invalid. ``secret`` may list several secrets separated by
commas (the old and the new one while a rotation settles: Shopify takes up to an hour to
switch); every one is tried, without an early exit.

Adobe Commerce webhooks are the exception: they are signed with the shop's RSA private key, so
the secret is the PEM public key the merchant copies from Stores > Configuration > Adobe
Services > Webhooks (several PEM blocks while a regenerated key pair settles).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


@lru_cache(maxsize=256)
def _secrets(secret: str) -> tuple[hmac.HMAC, ...]:
    """One keyed HMAC per secret, made once: each check copies it instead of hashing the key
    again (the secret's text is the cache key, so a rotated secret is a new entry)."""
    return tuple(hmac.new(s.strip().encode(), digestmod=hashlib.sha256)
                 for s in secret.split(",") if s.strip())


def _any_matches(secret: str, signature: str | None,
                 expected: Callable[[hmac.HMAC], bytes]) -> bool:
    if not signature:
        return False
    given = signature.strip().encode("ascii", "replace")
    ok = False
    for keyed in _secrets(secret):
        ok |= hmac.compare_digest(expected(keyed), given)
    return ok


def _digest(keyed: hmac.HMAC, body: bytes) -> bytes:
    mac = keyed.copy()
    mac.update(body)
    return mac.digest()


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


@lru_cache(maxsize=64)
def _public_keys(pem_text: str) -> tuple[rsa.RSAPublicKey, ...]:
    keys = []
    for block in _PEM.findall(pem_text):
        try:
            key = serialization.load_pem_public_key(block.encode())
        except ValueError:
            continue  # a mangled paste verifies nothing
        if isinstance(key, rsa.RSAPublicKey):
            keys.append(key)
    return tuple(keys)


def adobe_commerce_valid(public_key: str, body: bytes, signature: str | None) -> bool:
    """``x-adobe-commerce-webhook-signature``: base64 RSA-SHA256 (PKCS#1 v1.5) signature, made
    with the shop's private key, of the base64-encoded raw body (Adobe's documented scheme),
    checked with the merchant's PEM ``public_key``. Public-key verification leaks nothing
    through timing, so no constant-time comparison is needed here."""
    if not signature:
        return False
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    signed = base64.b64encode(body)
    ok = False
    for key in _public_keys(public_key):
        try:
            key.verify(raw, signed, padding.PKCS1v15(), hashes.SHA256())
            ok = True
        except InvalidSignature:
            pass
    return ok
