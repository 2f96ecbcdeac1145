"""Fixtures for the event spine: a spine on the test database with a fake clock and a queue
that records what was enqueued, the app wired to it, shop connections, and the recorded
webhook deliveries from ``tests/recordings``."""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.crypto import encrypt
from core.db import Database
from core.models import Organization, ShopConnection
from tests import factories
from web.app import create_app
from webhooks.handlers import Registry
from webhooks.settings import SpineSettings
from webhooks.spine import Spine

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"
# The recordings README: the webhook secrets after scrubbing.
WOO_SECRET = "woo-webhook-secret"
MAGENTO_SECRET = "magento-verification-token"
SHOPIFY_SECRET = "shpss_test_app_secret"

_keys = itertools.count(1)


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class RecordingQueue:
    """Stands in for Huey: remembers jobs; ``down`` makes every enqueue fail."""

    jobs: list[tuple[str, int | None, datetime | None]] = field(default_factory=list)
    down: bool = False

    def __call__(self, job: str, ref_id: int | None = None, eta: datetime | None = None) -> None:
        if self.down:
            raise ConnectionError("queue unavailable")
        self.jobs.append((job, ref_id, eta))

    def ids(self, job: str) -> list[int | None]:
        return [ref for name, ref, _ in self.jobs if name == job]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def spine(db: Database, clock: FakeClock, queue: RecordingQueue) -> Spine:
    settings = SpineSettings(shopify_api_secret=SHOPIFY_SECRET, webhook_allow_private_targets=True,
                             inbox_max_attempts=4, outbox_max_attempts=4,
                             retry_base_seconds=10, retry_max_seconds=3600,
                             sweep_grace_seconds=60, outgoing_timeout_seconds=5)
    return Spine(database=db, settings=settings, registry=Registry(), clock=clock,
                 rng=random.Random(5), enqueue=queue)


@pytest.fixture
def app(db: Database, spine: Spine) -> Flask:
    app = create_app(database=db, TESTING=True)
    app.extensions["glue.spine"] = spine
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def new_org(session: Session, *, supplier: bool = False) -> Organization:
    return factories.supplier(session) if supplier else factories.retailer(session)


def make_connection(db: Database, platform: str, *, shop: str = "",
                    secret: str | None = None) -> ShopConnection:
    """A retailer's shop connection; ``secret`` goes into the encrypted credentials as
    ``webhook_secret``."""
    with db.transaction() as session:
        retailer = new_org(session)
        credentials = {"access_token": "not-used"}
        if secret is not None:
            credentials["webhook_secret"] = secret
        connection = ShopConnection(key=f"conn{next(_keys)}", retailer_id=retailer.id,
                                    platform=platform,
                                    shop=shop or f"https://{platform}.example.test",
                                    status="active", credentials=encrypt(json.dumps(credentials)))
        session.add(connection)
    return connection


@dataclass(frozen=True)
class Sample:
    headers: dict[str, str]
    body: bytes

    def post_headers(self, **changes: str | None) -> dict[str, str]:
        """The recorded headers, without the hop-by-hop ones the test client sets itself."""
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "content-length", "connection")}
        for name, value in changes.items():
            headers.pop(name, None)
            if value is not None:
                headers[name] = value
        return headers


def recorded(platform: str, name: str) -> Sample:
    data: dict[str, Any] = json.loads((RECORDINGS / platform / "webhooks" / f"{name}.json")
                                      .read_text(encoding="utf-8"))
    return Sample(headers=data["headers"], body=data["body"].encode("utf-8"))
