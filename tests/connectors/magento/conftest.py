"""Recorded Magento 2.4.7-p3 exchanges (tests/recordings/magento) and replay helpers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import vcr
import yaml

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings" / "magento"
RECORDED = RECORDINGS / "cassettes"
OWN = Path(__file__).parent / "cassettes"
BASE = "http://magento.example.test"
TOKEN = "magento-verification-token"


def cassette_answers(name: str) -> list[tuple[str, str, Any]]:
    """``(method, uri, JSON answer)`` of every interaction of a recorded cassette."""
    data = yaml.safe_load((RECORDED / name).read_text())
    return [(i["request"]["method"], i["request"]["uri"],
             json.loads(i["response"]["body"]["string"])) for i in data["interactions"]]


def cassette_requests(name: str) -> list[tuple[str, str, Any]]:
    data = yaml.safe_load((RECORDED / name).read_text())
    return [(i["request"]["method"], i["request"]["uri"],
             json.loads(i["request"]["body"]) if i["request"]["body"] else None)
            for i in data["interactions"]]


def recorded_order() -> dict[str, Any]:
    """GET /V1/orders/3: a configurable row pair and a simple row, state new."""
    return cassette_answers("mag_order_get.yaml")[0][2]


def shipped_order() -> dict[str, Any]:
    """The same order after the ship call (parent qty_shipped 1, child 0)."""
    return cassette_answers("mag_order_ship.yaml")[1][2]


def delivery(name: str) -> dict[str, Any]:
    return json.loads((RECORDINGS / "webhooks" / name).read_text())


def _query_without_oauth(uri: str) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in parse_qsl(urlsplit(uri).query, keep_blank_values=True)
                  if not k.startswith("oauth_"))


def oauth_blind(r1: Any, r2: Any) -> None:
    """Match path and the non-OAuth query: nonce, timestamp and signature differ per call,
    and the recordings carry a redacted admin token where Glue signs with OAuth 1.0a."""
    assert urlsplit(r1.uri).path == urlsplit(r2.uri).path
    assert _query_without_oauth(r1.uri) == _query_without_oauth(r2.uri)


def make_vcr(directory: Path) -> vcr.VCR:
    # nothing is ever recorded (record_mode none), so the Authorization header is kept in
    # ``cassette.requests`` where the tests check Glue's signatures
    replay = vcr.VCR(cassette_library_dir=str(directory), record_mode="none",
                     match_on=["method", "scheme", "host", "port", "oauth_blind"])
    replay.register_matcher("oauth_blind", oauth_blind)
    return replay


@pytest.fixture
def recorded() -> vcr.VCR:
    """Replays the real recordings only: an unexpected request fails the test."""
    return make_vcr(RECORDED)


@pytest.fixture
def own() -> vcr.VCR:
    """Replays this folder's cassettes, written in the recorded shapes (see its README)."""
    return make_vcr(OWN)


def listing(key: str, variants: list[Mapping[str, Any]], **extra: Any) -> dict[str, Any]:
    """A listing document as :mod:`connectors.publish` builds it."""
    options: list[str] = []
    for variant in variants:
        for name, _ in variant.get("options", []):
            if name not in options:
                options.append(name)
    return {"key": key, "title": extra.get("title", "Glue-huppari"),
            "short_description": "", "description": extra.get("description", ""),
            "vendor": "Toimittaja Oy", "images": extra.get("images", []), "options": options,
            "variants": [{"product_id": 100 + i, "barcode": None, "currency": "EUR",
                          "weight_kg": "0.6", "quantity": 20, "options": [], **v}
                         for i, v in enumerate(variants)]}


CREDENTIALS = {"consumer_key": "ck-glue", "consumer_secret": "cs-glue",
               "access_token": "at-glue", "access_token_secret": "ats-glue"}


class Sent(list):
    """The requests a client sent, as prepared (the recorded ones are the shop's view)."""

    def session(self) -> requests.Session:
        from connectors.magento.client import _session

        session = _session()
        session.hooks["response"].append(lambda response, *a, **kw: self.append(
            response.request))
        return session
