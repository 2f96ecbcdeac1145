"""Replay-only vcrpy and a fake clock for the Shopify client tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import vcr

CASSETTES = Path(__file__).parent / "cassettes"
SHOP = "glue-demo.myshopify.com"


@pytest.fixture
def replay() -> vcr.VCR:
    """Cassettes replay only: an unexpected request fails instead of reaching a network."""
    return vcr.VCR(cassette_library_dir=str(CASSETTES), record_mode="none",
                   match_on=["method", "uri"], filter_headers=["X-Shopify-Access-Token"])


class FakeTime:
    """An injectable clock whose sleep only moves time forward and remembers the waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()
