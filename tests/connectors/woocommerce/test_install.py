"""The wc-auth key exchange and manual key entry, through Flask's test client."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connectors.base import ConnectionContext
from connectors.woocommerce import install
from core.models import ShopConnection
from core.settings import Settings
from tests import factories
from web.app import create_app
from web.ui import logins

CK, CS = "ck_" + "a" * 40, "cs_" + "b" * 40
CSRF = "csrf-token-for-tests"


@pytest.fixture
def app(db, tmp_path) -> Flask:  # noqa: ANN001
    app = create_app(database=db, settings=Settings(instance_dir=tmp_path,
                                                    public_url="https://glue.example.test"),
                     TESTING=True)
    return app


@pytest.fixture
def people(db):  # noqa: ANN001, ANN201
    with db.transaction() as s:
        retailer = factories.retailer(s)
        supplier = factories.supplier(s)
        admin = factories.user(s, retailer, "admin", "retailer")
        clerk = factories.user(s, retailer, "retailer")
        supplier_admin = factories.user(s, supplier, "admin", "supplier")
        return {"retailer": retailer.id, "supplier": supplier.id, "admin": admin.id,
                "clerk": clerk.id, "supplier_admin": supplier_admin.id}


def logged_in(app: Flask, db, user_id: int, org_id: int) -> FlaskClient:  # noqa: ANN001
    client = app.test_client()
    with db.transaction() as s:
        sid = logins.start_session(s, user_id)
    with client.session_transaction() as session:
        session.update(sid=sid, org=org_id, csrf=CSRF)
    return client


def start(client: FlaskClient, site: str = "shop.example.fi/") -> tuple[str, dict]:
    answer = client.post("/connect/woocommerce/install",
                         data={"site_url": site, "csrf_token": CSRF})
    assert answer.status_code == 303
    url = urlsplit(answer.headers["Location"])
    return f"{url.scheme}://{url.netloc}{url.path}", {k: v[0] for k, v in
                                                       parse_qs(url.query).items()}


def keys(user_id: str, **over) -> dict:  # noqa: ANN003
    return {"key_id": 3, "user_id": user_id, "consumer_key": CK, "consumer_secret": CS,
            "key_permissions": "read_write", **over}


def connection(db) -> ShopConnection:  # noqa: ANN001
    with db.sessions() as s:
        found = s.query(ShopConnection).one()
        s.expunge(found)
        return found


def test_install_sends_the_merchant_to_wc_auth_with_the_five_parameters(app, db, people) -> None:  # noqa: ANN001
    client = logged_in(app, db, people["admin"], people["retailer"])
    target, query = start(client)
    assert target == "https://shop.example.fi/wc-auth/v1/authorize"
    assert query["app_name"] == "Glue" and query["scope"] == "read_write"
    assert query["callback_url"] == "https://glue.example.test/connect/woocommerce/callback"
    assert query["return_url"] == "https://glue.example.test/connect/woocommerce/installed"
    pending = connection(db)
    assert pending.status == "installing" and pending.shop == "https://shop.example.fi"
    assert pending.retailer_id == people["retailer"] and pending.credentials is None
    # the user id names the pending connection, and its token is stored only as a digest
    key, _, token = query["user_id"].partition(".")
    assert key == pending.key and token not in json.dumps(pending.settings)


def test_the_callback_stores_the_keys_encrypted_and_answers_exactly_200(app, db,
                                                                          people) -> None:  # noqa: ANN001
    client = logged_in(app, db, people["admin"], people["retailer"])
    _, query = start(client)
    # WooCommerce's server posts JSON (user_id as a string), without any session
    answer = app.test_client().post("/connect/woocommerce/callback",
                                    data=json.dumps(keys(query["user_id"])),
                                    content_type="application/json;charset=UTF-8")
    assert answer.status_code == 200
    linked = connection(db)
    assert linked.status == "linked" and CS not in linked.credentials
    credentials = ConnectionContext.from_model(linked).credentials
    assert credentials["consumer_key"] == CK and credentials["consumer_secret"] == CS
    assert credentials["key_id"] == "3" and len(credentials["webhook_secret"]) >= 40
    # the token is used up: a replay of the same callback is refused
    again = app.test_client().post("/connect/woocommerce/callback",
                                   json=keys(query["user_id"]))
    assert again.status_code == 400
    # and the merchant's browser comes back to a page saying the shop is connected
    back = client.get("/connect/woocommerce/installed",
                      query_string={"success": "1", "user_id": query["user_id"]})
    assert back.status_code == 200 and b"https://shop.example.fi" in back.data


@pytest.mark.parametrize("change", [
    {"user_id": "nosuchkey.token"}, {"key_permissions": "read"},
    {"consumer_secret": "cs_short"}, {"user_id": ""}])
def test_a_callback_that_names_no_pending_connection_is_refused(app, db, people,  # noqa: ANN001
                                                                change: dict) -> None:
    client = logged_in(app, db, people["admin"], people["retailer"])
    _, query = start(client)
    answer = app.test_client().post("/connect/woocommerce/callback",
                                    json={**keys(query["user_id"]), **change})
    assert answer.status_code == 400
    assert connection(db).credentials is None and connection(db).status == "installing"


def test_a_forged_token_for_a_real_connection_is_refused(app, db, people) -> None:  # noqa: ANN001
    client = logged_in(app, db, people["admin"], people["retailer"])
    _, query = start(client)
    key = query["user_id"].partition(".")[0]
    answer = app.test_client().post("/connect/woocommerce/callback",
                                    json=keys(f"{key}.guessed-token"))
    assert answer.status_code == 400 and connection(db).credentials is None


def test_a_callback_body_that_is_not_json_is_refused(app) -> None:  # noqa: ANN001
    answer = app.test_client().post("/connect/woocommerce/callback", data=b"webhook_id=1")
    assert answer.status_code == 400


def test_who_may_install(app, db, people) -> None:  # noqa: ANN001
    # anonymous visitors are sent to log in
    anonymous = app.test_client().get("/connect/woocommerce/install")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    # a retailer user who is not an admin, and a supplier's admin, are refused
    clerk = logged_in(app, db, people["clerk"], people["retailer"])
    assert clerk.post("/connect/woocommerce/install",
                      data={"site_url": "shop.example.fi", "csrf_token": CSRF}).status_code == 403
    supplier = logged_in(app, db, people["supplier_admin"], people["supplier"])
    assert supplier.get("/connect/woocommerce/manual").status_code == 403
    # an admin without the CSRF token is refused before anything is stored
    admin = logged_in(app, db, people["admin"], people["retailer"])
    assert admin.post("/connect/woocommerce/install",
                      data={"site_url": "shop.example.fi"}).status_code == 400
    assert admin.get("/connect/woocommerce/install").status_code == 200
    with db.sessions() as s:
        assert s.query(ShopConnection).count() == 0


def test_keys_entered_by_hand_link_the_shop(app, db, people) -> None:  # noqa: ANN001
    client = logged_in(app, db, people["admin"], people["retailer"])
    answer = client.post("/connect/woocommerce/manual", data={
        "site_url": "http://shop.lan:8080/", "consumer_key": CK, "consumer_secret": CS,
        "csrf_token": CSRF})
    assert answer.status_code == 200
    linked = connection(db)
    assert linked.status == "linked" and linked.shop == "http://shop.lan:8080"
    assert ConnectionContext.from_model(linked).credentials["consumer_secret"] == CS


def test_manual_keys_that_are_not_woocommerce_keys_are_refused(app, db, people) -> None:  # noqa: ANN001
    client = logged_in(app, db, people["admin"], people["retailer"])
    answer = client.post("/connect/woocommerce/manual", data={
        "site_url": "shop.example.fi", "consumer_key": "my-key", "consumer_secret": CS,
        "csrf_token": CSRF})
    assert answer.status_code == 400 and b"ck_" in answer.data
    with db.sessions() as s:
        assert s.query(ShopConnection).count() == 0


def test_a_reinstall_keeps_the_webhook_secret(db, people) -> None:  # noqa: ANN001
    with db.transaction() as s:
        first = install.link_manually(s, retailer_id=people["retailer"],
                                      site_url="https://shop.example.fi", consumer_key=CK,
                                      consumer_secret=CS)
        secret = ConnectionContext.from_model(first).credentials["webhook_secret"]
        _, user_id = install.start_install(s, retailer_id=people["retailer"],
                                           site_url="https://shop.example.fi/")
        again = install.complete_install(s, keys(user_id, consumer_key="ck_" + "c" * 40))
        assert again.id == first.id
        credentials = ConnectionContext.from_model(again).credentials
    assert credentials["webhook_secret"] == secret
    assert credentials["consumer_key"] == "ck_" + "c" * 40


@pytest.mark.parametrize("bad", ["", "ftp://shop.example", "https://user:pw@shop.example",
                                 "https://"])
def test_site_urls_must_be_shop_addresses(bad: str) -> None:
    from core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        install.normalise_site_url(bad)
    assert install.normalise_site_url("Shop.Example.FI/kauppa/?x=1") == \
        "https://shop.example.fi/kauppa"
