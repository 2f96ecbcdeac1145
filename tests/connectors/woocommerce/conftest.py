"""Recorded WooCommerce exchanges (vcrpy, replay only) and signed deliveries.

``tests/recordings/woocommerce`` is a copy of the recordings from a real WooCommerce 11.0.1 shop
(see its README upstream: keys scrubbed, webhook secret ``woo-webhook-secret``);
``cassettes/`` holds our own recordings in the same shapes for cases the real ones lack.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import vcr
import yaml

HERE = Path(__file__).parent
RECORDED = HERE.parents[1] / "recordings" / "woocommerce" / "cassettes"
DELIVERIES = HERE.parents[1] / "recordings" / "woocommerce" / "webhooks"
OWN = HERE / "cassettes"
PAYLOADS = HERE / "payloads"
HTTPS_SHOP = "https://woo.example.test"
HTTP_SHOP = "http://woo.example.test"
KEY, SECRET = "ck_REDACTED", "cs_REDACTED"
WEBHOOK_SECRET = "woo-webhook-secret"
OAUTH_NOISE = {"oauth_timestamp", "oauth_nonce", "oauth_signature"}


def query_without_oauth_noise(r1: Any, r2: Any) -> None:
    """vcrpy matcher: the query must match except the per-request OAuth values (scrubbed in
    the cassettes, random in a live request)."""
    def clean(uri: str) -> list[tuple[str, str]]:
        return sorted((k, v) for k, v in parse_qsl(urlsplit(uri).query, keep_blank_values=True)
                      if k not in OAUTH_NOISE)
    assert clean(r1.uri) == clean(r2.uri), "query differs"


def json_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher: request bodies equal as JSON (key order and spacing aside)."""
    def load(body: Any) -> Any:
        if not body:
            return None
        return json.loads(body.decode() if isinstance(body, bytes) else body)
    assert load(r1.body) == load(r2.body), "body differs"


def same_auth(r1: Any, r2: Any) -> None:
    """vcrpy matcher: the same ``Authorization`` header (Basic of the scrubbed keys over
    https, none under OAuth or query-string auth), so a test proves how the client signed."""
    assert r1.headers.get("Authorization") == r2.headers.get("Authorization"), "auth differs"


def _vcr(library: Path) -> vcr.VCR:
    replay = vcr.VCR(cassette_library_dir=str(library), record_mode="none",
                     match_on=["method", "scheme", "host", "path", "oauth_query", "json_body",
                               "auth"])
    replay.register_matcher("oauth_query", query_without_oauth_noise)
    replay.register_matcher("json_body", json_body)
    replay.register_matcher("auth", same_auth)
    return replay


@pytest.fixture
def recorded() -> vcr.VCR:
    """The real shop's cassettes; an unrecorded request fails instead of reaching a network."""
    return _vcr(RECORDED)


@pytest.fixture
def own() -> vcr.VCR:
    """Our own cassettes in the recorded shapes."""
    return _vcr(OWN)


def delivery(name: str) -> dict[str, Any]:
    """A recorded webhook delivery: ``{"method", "url", "headers", "body"}``."""
    return json.loads((DELIVERIES / f"{name}.json").read_text(encoding="utf-8"))


def delivery_body(name: str) -> dict[str, Any]:
    return json.loads(delivery(name)["body"])


def cassette_answer(name: str, index: int) -> Any:
    """The JSON answer of one recorded interaction (to test translations on real shapes)."""
    data = yaml.safe_load((RECORDED / name).read_text(encoding="utf-8"))
    return json.loads(data["interactions"][index]["response"]["body"]["string"])


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


@pytest.fixture
def own_calls() -> vcr.VCR:
    """Our connector cassettes, matched on method, URL and auth; what was sent in the body is
    checked through :class:`SpyAPI` instead."""
    replay = vcr.VCR(cassette_library_dir=str(OWN), record_mode="none",
                     match_on=["method", "scheme", "host", "path", "oauth_query", "auth"])
    replay.register_matcher("oauth_query", query_without_oauth_noise)
    replay.register_matcher("auth", same_auth)
    return replay
