"""An OAuth 1.0a HMAC-SHA256 check written from RFC 5849 section 3.4, independent of oauthlib,
so the tests prove Glue's signatures are what a Magento shop verifies."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl, quote, unquote, urlsplit


def _enc(value: str) -> str:
    return quote(value, safe="~-._")


def header_params(authorization: str | bytes) -> dict[str, str]:
    """The ``oauth_*`` parameters of an ``Authorization: OAuth ...`` header."""
    if isinstance(authorization, bytes):
        authorization = authorization.decode("ascii")
    assert authorization.startswith("OAuth "), authorization
    params = {}
    for part in authorization[len("OAuth "):].split(","):
        key, _, value = part.strip().partition("=")
        params[unquote(key)] = unquote(value.strip('"'))
    return params


def expected_signature(method: str, url: str, authorization: str | bytes, consumer_secret: str,
                       token_secret: str = "", form: str = "") -> str:
    """The signature a verifier computes for the request (base64 HMAC-SHA256)."""
    oauth = header_params(authorization)
    parts = urlsplit(url)
    base_url = f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    pairs += parse_qsl(form, keep_blank_values=True)
    pairs += [(k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm")]
    # parameters are sorted by their encoded names, then encoded values
    normalized = "&".join(f"{k}={v}" for k, v in sorted((_enc(k), _enc(v)) for k, v in pairs))
    base = "&".join([method.upper(), _enc(base_url), _enc(normalized)])
    key = f"{_enc(consumer_secret)}&{_enc(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode()


def verifies(method: str, url: str, authorization: str | bytes, consumer_secret: str,
             token_secret: str = "") -> bool:
    oauth = header_params(authorization)
    if oauth.get("oauth_signature_method") != "HMAC-SHA256":
        return False
    expected = expected_signature(method, url, authorization, consumer_secret, token_secret)
    return hmac.compare_digest(expected, oauth.get("oauth_signature", ""))
