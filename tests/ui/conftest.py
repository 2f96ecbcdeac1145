"""Fixtures for the browser UI: an app on the test database, a client, and people to log in."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from core.crypto import hash_password
from core.models import Organization, User
from core.settings import Settings
from tests import factories
from web.app import create_app

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with its production cost takes a noticeable fraction of a second per hash; these
    tests hash and verify many times, and test the flows, not the hash's strength."""
    import core.crypto

    monkeypatch.setattr(core.crypto, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def ui_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(instance_dir=tmp_path_factory.mktemp("instance"),
                    public_url="http://glue.test")


@pytest.fixture
def app(db, ui_settings: Settings) -> Flask:  # noqa: ANN001
    return create_app(database=db, settings=ui_settings, TESTING=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class Person:
    user_id: int
    email: str
    organization_id: int
    organization_name: str


def person(session, organization: Organization, *permissions: str,  # noqa: ANN001
           email: str | None = None, name: str = "Test User") -> Person:
    """A user with a password and a membership, committed."""
    user: User = factories.user(session, organization, *permissions, email=email)
    user.password_hash = hash_password(PASSWORD)
    user.name = name
    session.commit()
    return Person(user.id, user.email, organization.id, organization.name)


def organization(session, name: str, *, supplier: bool = False,  # noqa: ANN001
                 retailer: bool = False) -> Organization:
    return factories.org(session, supplier=supplier, retailer=retailer, name=name)


@pytest.fixture
def admin(session) -> Person:  # noqa: ANN001
    org = organization(session, "Toimittaja Oy", supplier=True)
    return person(session, org, "admin", "supplier", email="admin@example.test",
                  name="Anna Admin")


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the client's browser session, as a form on ``path`` carries it."""
    html = client.get(path).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def post(client: FlaskClient, path: str, data: dict | None = None, *,
         token_from: str = "/login", **kwargs):  # noqa: ANN003, ANN201
    """POST a form the way a browser does: with the session's CSRF token."""
    form = {"csrf_token": csrf_token(client, token_from), **(data or {})}
    return client.post(path, data=form, **kwargs)


def log_in(client: FlaskClient, who: Person | str, password: str = PASSWORD):  # noqa: ANN201
    email = who if isinstance(who, str) else who.email
    return post(client, "/login", {"email": email, "password": password})


def stored_mails(db) -> list[dict]:  # noqa: ANN001
    """The mail Glue stored (no SMTP in tests), oldest first; read in a short transaction so the
    app's writers are not blocked."""
    from web.ui.models import StoredMail

    with db.transaction() as s:
        return [{"to": m.recipient, "subject": m.subject, "body": m.body}
                for m in s.query(StoredMail).order_by(StoredMail.id)]


def link_in(mail: dict) -> str:
    """The path of the one link in a mail (the public URL's host stripped)."""
    match = re.search(r"http://glue\.test(/\S+)", mail["body"])
    assert match, mail["body"]
    return match.group(1)
