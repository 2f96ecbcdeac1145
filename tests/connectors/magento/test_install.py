"""The integration activation end to end in-process, against a fake Magento on loopback that
checks Glue's OAuth 1.0a signatures independently (tests/connectors/magento/oauth_check.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from core.crypto import decrypt
from core.models import Event, ShopConnection
from core.settings import Settings
from tests.connectors.magento import oauth_check
from tests.ui.conftest import csrf_token, log_in, organization, person
from web.app import create_app

CONSUMER_KEY, CONSUMER_SECRET, VERIFIER = "ck" * 16, "cs" * 16, "vf" * 16
REQUEST_TOKEN, REQUEST_SECRET = "rt" * 16, "rs" * 16
ACCESS_TOKEN, ACCESS_SECRET = "at" * 16, "as" * 16


@dataclass
class FakeMagento:
    """``/oauth/token/request`` and ``/oauth/token/access`` as Magento answers them, refusing
    (401) any request whose signature does not verify."""

    base_url: str = ""
    seen: list[tuple[str, bool]] = field(default_factory=list)

    def __call__(self, environ, start_response):  # noqa: ANN001, ANN204
        request = Request(environ)
        authorization = request.headers.get("Authorization", "")
        params = oauth_check.header_params(authorization) if authorization else {}
        url = request.url
        if request.path == "/oauth/token/request":
            ok = bool(params) and oauth_check.verifies("POST", url, authorization,
                                                       CONSUMER_SECRET)
            body = urlencode({"oauth_token": REQUEST_TOKEN, "oauth_token_secret":
                              REQUEST_SECRET})
        elif request.path == "/oauth/token/access":
            ok = (bool(params) and params.get("oauth_token") == REQUEST_TOKEN
                  and params.get("oauth_verifier") == VERIFIER
                  and oauth_check.verifies("POST", url, authorization, CONSUMER_SECRET,
                                           REQUEST_SECRET))
            body = urlencode({"oauth_token": ACCESS_TOKEN, "oauth_token_secret": ACCESS_SECRET})
        else:
            return Response("not found", 404)(environ, start_response)
        self.seen.append((request.path, ok))
        if not ok:
            body = json.dumps({"message": "The signature is invalid. Verify and try again."})
            return Response(body, 401, content_type="application/json")(environ,
                                                                          start_response)
        return Response(body, 200, content_type="text/plain")(environ, start_response)


@pytest.fixture
def magento() -> Iterator[FakeMagento]:
    fake = FakeMagento()
    server = make_server("127.0.0.1", 0, fake, threaded=True)
    fake.base_url = f"http://127.0.0.1:{server.server_port}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    thread.join()


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.crypto

    monkeypatch.setattr(core.crypto, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def app(db, tmp_path) -> Flask:  # noqa: ANN001
    settings = Settings(instance_dir=tmp_path, public_url="http://glue.test")
    app = create_app(database=db, settings=settings, TESTING=True)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _activation(base_url: str, **overrides: str) -> dict[str, str]:
    return {"oauth_consumer_key": CONSUMER_KEY, "oauth_consumer_secret": CONSUMER_SECRET,
            "store_base_url": base_url, "oauth_verifier": VERIFIER, **overrides}


def _link_path(base_url: str, success: str | None = None) -> str:
    query = urlencode({"oauth_consumer_key": CONSUMER_KEY,
                       "success_call_back": success or f"{base_url}admin/integration/done"})
    return f"/connect/magento/link?{query}"


def _connection(db) -> ShopConnection:  # noqa: ANN001
    with db.transaction() as s:
        connection = s.scalar(sa.select(ShopConnection))
        s.expunge(connection)
        return connection


def _retailer(session, name: str = "Kauppa Oy", *permissions: str):  # noqa: ANN001, ANN202
    org = organization(session, name, retailer=True)
    return person(session, org, *(permissions or ("admin", "retailer")))


def test_the_activation_post_is_kept_encrypted_in_a_pending_connection(
        client: FlaskClient, db, magento: FakeMagento) -> None:  # noqa: ANN001
    answer = client.post("/connect/magento/callback", data=_activation(magento.base_url))
    assert answer.status_code == 200
    connection = _connection(db)
    assert (connection.platform, connection.status, connection.retailer_id) == \
        ("magento", "installing", None)
    assert connection.shop == magento.base_url
    # the secret is not stored readable, and the public key does not reveal the consumer key
    assert CONSUMER_SECRET not in connection.credentials and CONSUMER_KEY not in connection.key
    pending = json.loads(decrypt(connection.credentials))["pending"]
    assert pending["oauth_consumer_secret"] == CONSUMER_SECRET
    # and nothing was asked of the shop yet
    assert magento.seen == []


@pytest.mark.parametrize("bad", [{"oauth_verifier": ""}, {"store_base_url": "ftp://x"},
                                 {"store_base_url": "not a url"}])
def test_an_unusable_activation_is_refused(client: FlaskClient, db, bad: dict) -> None:  # noqa: ANN001
    answer = client.post("/connect/magento/callback", data=_activation("http://m.test/", **bad))
    assert answer.status_code == 400
    with db.transaction() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ShopConnection)) == 0


def test_the_identity_link_needs_a_login(client: FlaskClient, magento: FakeMagento) -> None:
    client.post("/connect/magento/callback", data=_activation(magento.base_url))
    answer = client.get(_link_path(magento.base_url))
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_a_retailer_links_the_shop_and_the_exchange_completes(
        client: FlaskClient, db, session, magento: FakeMagento) -> None:  # noqa: ANN001
    # given an activation and a logged-in retailer admin
    client.post("/connect/magento/callback", data=_activation(magento.base_url))
    who = _retailer(session)
    log_in(client, who)
    path = _link_path(magento.base_url)
    # when the merchant opens the identity link, the page says what will be linked
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and magento.base_url in html and "Kauppa Oy" in html
    assert page.headers["X-Frame-Options"] == "DENY"
    # and confirms it
    form = {"csrf_token": csrf_token(client, path), "oauth_consumer_key": CONSUMER_KEY,
            "success_call_back": f"{magento.base_url}admin/integration/done"}
    answer = client.post("/connect/magento/link", data=form)
    # then both token calls were signed so that the shop's own check accepted them
    assert magento.seen == [("/oauth/token/request", True), ("/oauth/token/access", True)]
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"{magento.base_url}admin/integration/done"
    connection = _connection(db)
    assert (connection.retailer_id, connection.status) == (who.organization_id, "linked")
    assert json.loads(decrypt(connection.credentials)) == {
        "consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET,
        "access_token": ACCESS_TOKEN, "access_token_secret": ACCESS_SECRET}
    with db.transaction() as s:
        event = s.scalar(sa.select(Event).where(Event.type == "shop_connection.linked"))
        assert event.organization_ids == [who.organization_id]


def test_a_link_without_the_csrf_token_is_refused(client: FlaskClient, session,  # noqa: ANN001
                                                  magento: FakeMagento) -> None:
    client.post("/connect/magento/callback", data=_activation(magento.base_url))
    log_in(client, _retailer(session))
    answer = client.post("/connect/magento/link", data={
        "oauth_consumer_key": CONSUMER_KEY,
        "success_call_back": f"{magento.base_url}admin/integration/done"})
    assert answer.status_code == 400 and magento.seen == []


def test_a_success_call_back_on_another_host_is_refused(client: FlaskClient, session,  # noqa: ANN001
                                                         magento: FakeMagento) -> None:
    client.post("/connect/magento/callback", data=_activation(magento.base_url))
    log_in(client, _retailer(session))
    answer = client.get(_link_path(magento.base_url, "https://evil.example/steal"))
    assert answer.status_code == 400 and "host" in answer.get_data(as_text=True)


@pytest.mark.parametrize(("supplier", "permissions"), [(True, ("admin", "supplier")),
                                                       (False, ("retailer",))])
def test_only_a_retailers_admin_can_link(client: FlaskClient, session,  # noqa: ANN001
                                         magento: FakeMagento, supplier: bool,
                                         permissions: tuple[str, ...]) -> None:
    client.post("/connect/magento/callback", data=_activation(magento.base_url))
    org = organization(session, "Yritys Oy", supplier=supplier, retailer=not supplier)
    log_in(client, person(session, org, *permissions))
    assert client.get(_link_path(magento.base_url)).status_code == 403


def test_a_wrong_consumer_secret_is_refused_by_the_shop_and_nothing_is_linked(
        client: FlaskClient, db, session, magento: FakeMagento) -> None:  # noqa: ANN001
    client.post("/connect/magento/callback",
                data=_activation(magento.base_url, oauth_consumer_secret="wrong-secret"))
    log_in(client, _retailer(session))
    path = _link_path(magento.base_url)
    form = {"csrf_token": csrf_token(client, path), "oauth_consumer_key": CONSUMER_KEY,
            "success_call_back": f"{magento.base_url}admin/integration/done"}
    answer = client.post("/connect/magento/link", data=form)
    assert answer.status_code == 502 and magento.seen == [("/oauth/token/request", False)]
    connection = _connection(db)
    assert connection.retailer_id is None and connection.status == "installing"


def test_a_reactivation_of_a_linked_shop_waits_for_the_same_retailer(
        app: Flask, client: FlaskClient, db, session,  # noqa: ANN001
        magento: FakeMagento) -> None:
    # given a shop linked to one retailer
    client.post("/connect/magento/callback", data=_activation(magento.base_url))
    owner = _retailer(session)
    log_in(client, owner)
    path = _link_path(magento.base_url)
    client.post("/connect/magento/link", data={
        "csrf_token": csrf_token(client, path), "oauth_consumer_key": CONSUMER_KEY,
        "success_call_back": f"{magento.base_url}admin/integration/done"})
    linked = json.loads(decrypt(_connection(db).credentials))
    # when an activation POST for the same integration comes again
    client.post("/connect/magento/callback",
                data=_activation(magento.base_url, oauth_consumer_secret="new-secret"))
    # then the working credentials stay until someone links again
    stored = json.loads(decrypt(_connection(db).credentials))
    assert {k: v for k, v in stored.items() if k != "pending"} == linked
    # and a user of another retailer cannot take the shop over
    other_browser = app.test_client()
    log_in(other_browser, _retailer(session, "Toinen Kauppa Oy"))
    refused = other_browser.get(path)
    assert refused.status_code == 400 and "another retailer" in refused.get_data(as_text=True)
    assert _connection(db).retailer_id == owner.organization_id
