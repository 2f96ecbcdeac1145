"""Fixtures for the API tests: the app on the test database and authenticated clients.

Credentials are made through ``core.api_accounts.create_api_account`` and exchanged at
``/auth/token``, so every API test also goes through the real authentication path.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.api_accounts import create_api_account
from core.db import Database
from core.principal import SYSTEM
from web.app import create_app


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production argon2 parameters cost ~0.1 s a hash; these tests make many accounts, and
    what they check (hashing happens, lockout, revocation) does not depend on the cost."""
    from argon2 import PasswordHasher

    from core import crypto

    monkeypatch.setattr(crypto, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                          parallelism=1))


@pytest.fixture
def app(db: Database) -> Flask:
    return create_app(database=db, TESTING=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def basic(account: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{account}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}", "Accept": "application/json"}


def make_credentials(db: Database, organization_id: int, name: str = "ERP") -> tuple[str, str]:
    with db.transaction() as session:
        account, secret = create_api_account(session, SYSTEM, organization_id=organization_id,
                                             name=name)
        return account.account, secret


@dataclass
class Api:
    """A test client that sends one organization's bearer token with every request."""

    client: FlaskClient
    token: str
    organization_id: int

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kw: Any) -> Any:
        return self._call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self._call("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self._call("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self._call("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self._call("DELETE", path, **kw)


@pytest.fixture
def api_for(db: Database, client: FlaskClient) -> Callable[[Any], Api]:
    """``api_for(organization)`` → an ``Api`` acting as that organization's API account."""

    def make(organization: Any) -> Api:
        account, secret = make_credentials(db, organization.id)
        response = client.get("/auth/token", headers=basic(account, secret))
        assert response.status_code == 200, response.get_data(as_text=True)
        return Api(client, response.get_json()["access_token"], organization.id)

    return make


def commit(db: Database, build: Callable[..., Any]) -> Any:
    """Run ``build(session)`` in a committed transaction and return its result."""
    with db.transaction() as session:
        result = build(session)
        session.flush()
        return result


@dataclass
class World:
    """A supplier with a public catalog, a retailer with active access to it, a second
    retailer without access, and two products published with stock."""

    supplier: Any
    retailer: Any
    outsider: Any
    catalog: Any
    products: list[Any]


@pytest.fixture
def world(db: Database) -> World:
    from tests import factories as f

    def build(session: Any) -> World:
        supplier = f.supplier(session, name="Tukku Oy")
        retailer = f.retailer(session, name="Kauppa Oy")
        outsider = f.retailer(session, name="Muu Kauppa Oy")
        catalog = f.public_catalog(session, supplier)
        f.grant(session, catalog, retailer)
        items = [f.product(session, supplier, f"SKU-{n}") for n in (1, 2)]
        for item in items:
            f.publish(session, item, catalog, quantity=10, price="12.50")
        return World(supplier, retailer, outsider, catalog, items)

    return commit(db, build)
