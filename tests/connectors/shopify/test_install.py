"""The Shopify install flow end to end: Glue's blueprint against the sandbox over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from connectors.base import ConnectionContext
from connectors.shopify import install
from core.crypto import decrypt, encrypt
from core.models import Event, ShopConnection
from core.settings import Settings
from sandbox.shopify import ShopifySandbox
from tests import factories
from tests.sandbox.conftest import API_KEY, API_SECRET, SHOP, make_sandbox
from tests.ui.conftest import csrf_token, log_in, organization, person
from web.app import create_app

APP_URL = "https://glue.test/connect/shopify/install"


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.crypto

    monkeypatch.setattr(core.crypto, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[ShopifySandbox]:
    with make_sandbox() as running:
        running.add_shop(SHOP)
        monkeypatch.setenv("GLUE_SHOPIFY_API_KEY", API_KEY)
        monkeypatch.setenv("GLUE_SHOPIFY_API_SECRET", API_SECRET)
        monkeypatch.setenv("GLUE_PUBLIC_URL", "https://glue.test")
        monkeypatch.setenv("GLUE_SHOPIFY_ADMIN_URL", f"{running.server.url}/shops/{{shop}}")
        yield running


@pytest.fixture
def app(db, tmp_path) -> Flask:  # noqa: ANN001
    app = create_app(database=db, settings=Settings(instance_dir=tmp_path,
                                                    public_url="http://glue.test"),
                     TESTING=True)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def local(url: str) -> str:
    """The path and query of a URL on Glue's public host."""
    parts = urlsplit(url)
    assert parts.netloc in ("glue.test", ""), url
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def signed(params: dict[str, str], secret: str = API_SECRET) -> str:
    params = {**params, "hmac": install.query_hmac(MultiDict(params), secret)}
    return "/connect/shopify/install?" + urlencode(params)


def install_until_callback(client: FlaskClient, sandbox: ShopifySandbox) -> str:
    """The merchant's browser from the Shopify admin to Glue's callback URL (not yet hit)."""
    answer = client.get(local(sandbox.install_link(SHOP, APP_URL)))
    assert answer.status_code == 302, answer.get_data(as_text=True)
    authorize = answer.headers["Location"]
    assert authorize.startswith(sandbox.base_url(SHOP) + "/admin/oauth/authorize?")
    approved = requests.get(authorize, allow_redirects=False, timeout=5)
    assert approved.status_code == 302
    return local(approved.headers["Location"])


def install_fully(client: FlaskClient, sandbox: ShopifySandbox) -> str:
    """Run the whole handshake; the link page's path (with its one-time token)."""
    answer = client.get(install_until_callback(client, sandbox))
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return local(answer.headers["Location"])


def connection_row(db) -> ShopConnection:  # noqa: ANN001
    with db.transaction() as s:
        return s.scalars(sa.select(ShopConnection)).one()


# --- the signed install hit ----------------------------------------------------------------

def test_install_hit_with_a_wrong_hmac_is_refused_and_creates_nothing(client, db,
                                                                     sandbox) -> None:
    link = local(sandbox.install_link(SHOP, APP_URL))
    tampered = link.replace("hmac=", "hmac=0")
    assert client.get(tampered).status_code == 401
    forged = signed({"shop": SHOP, "timestamp": str(int(datetime.now(UTC).timestamp()))},
                    secret="not-the-app-secret")
    assert client.get(forged).status_code == 401
    with db.transaction() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ShopConnection)) == 0


@pytest.mark.parametrize("shop", ["evil.example.com", "glue-demo.myshopify.com.evil.test",
                                  "https://glue-demo.myshopify.com", "GLUE.myshopify.com",
                                  "-x.myshopify.com", "glue-demo.myshopify.com/admin"])
def test_a_shop_that_is_not_exactly_a_myshopify_domain_is_refused(client, sandbox,
                                                                  shop: str) -> None:
    now = str(int(datetime.now(UTC).timestamp()))
    assert client.get(signed({"shop": shop, "timestamp": now})).status_code == 400


def test_a_signed_hit_older_than_a_day_is_refused(client, sandbox) -> None:
    old = str(int((datetime.now(UTC) - timedelta(hours=25)).timestamp()))
    assert client.get(signed({"shop": SHOP, "timestamp": old})).status_code == 401


def test_hmac_rules_match_shopifys_for_arrays_and_escapes() -> None:
    import shopify

    params = MultiDict([("shop", SHOP), ("ids[]", "1"), ("ids[]", "2"), ("a=b", "c&d%")])
    shopify.Session.secret = API_SECRET
    try:
        expected = shopify.Session.calculate_hmac({"shop": SHOP, "ids[]": ["1", "2"],
                                                   "a=b": "c&d%"})
    finally:
        shopify.Session.secret = None
    assert install.query_hmac(params, API_SECRET) == expected


# --- the OAuth handshake -------------------------------------------------------------------

def test_install_exchanges_the_code_for_expiring_tokens_and_sets_up_the_shop(
        client, db, sandbox) -> None:
    before = datetime.now(UTC)
    link_page = install_fully(client, sandbox)
    connection = connection_row(db)
    assert link_page.startswith(f"/connect/shopify/{connection.key}?token=")
    assert connection.status == "installing" and connection.retailer_id is None
    # the credentials are stored encrypted, with the refresh token and the expiry
    assert "shpat_" not in connection.credentials
    credentials = json.loads(decrypt(connection.credentials))
    assert credentials["access_token"].startswith("shpat_")
    assert credentials["refresh_token"].startswith("shprt_")
    expires = datetime.fromisoformat(credentials["expires_at"])
    assert before + timedelta(minutes=59) < expires < before + timedelta(minutes=61)
    # the sandbox holds the webhook subscriptions and Glue's fulfilment-service location
    shop = sandbox.shops[SHOP]
    assert sorted(s["topic"] for s in shop.subscriptions.values()) == [
        "app/uninstalled", "orders/cancelled", "orders/create", "orders/paid"]
    assert {s["uri"] for s in shop.subscriptions.values()} == {
        "https://glue.test/webhooks/shopify"}
    platform = connection.settings["platform"]
    assert platform["location_id"] == f"gid://shopify/Location/" \
        f"{next(iter(shop.services.values()))['location_id']}"
    assert platform["base_url"] == sandbox.base_url(SHOP)
    assert "oauth_states" in platform and platform["oauth_states"] == []
    # and the connector can use the connection as stored
    context = ConnectionContext.from_model(connection)
    from connectors.shopify import ShopifyConnector

    assert ShopifyConnector(context).client.execute("query { shop { name } }") == {
        "shop": {"name": "glue-demo"}}


def test_a_replayed_callback_is_refused(client, db, sandbox) -> None:
    callback = install_until_callback(client, sandbox)
    assert client.get(callback).status_code == 302
    assert client.get(callback).status_code == 403  # the nonce was used


def test_a_callback_with_a_state_never_issued_is_refused(client, db, sandbox) -> None:
    callback = install_until_callback(client, sandbox)
    params = dict(parse_qsl(urlsplit(callback).query))
    params["state"] = "guessed"
    params["hmac"] = install.query_hmac(MultiDict(params), API_SECRET)
    assert client.get("/connect/shopify/callback?" + urlencode(params)).status_code == 403
    assert connection_row(db).credentials is None


def test_a_tampered_callback_is_refused_before_the_state_is_spent(client, db,
                                                                  sandbox) -> None:
    callback = install_until_callback(client, sandbox)
    assert client.get(callback.replace("code=", "code=x")).status_code == 401
    assert client.get(callback).status_code == 302  # the real one still works


def test_opening_the_app_of_an_installed_shop_skips_oauth(client, db, sandbox) -> None:
    install_fully(client, sandbox)
    with db.transaction() as s:
        s.scalars(sa.select(ShopConnection)).one().status = "active"
    answer = client.get(local(sandbox.install_link(SHOP, APP_URL)))
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/connect/shopify/{connection_row(db).key}")


# --- linking to a retailer and settings ----------------------------------------------------

@pytest.fixture
def retailer_admin(session):  # noqa: ANN001, ANN201
    org = organization(session, "Kauppa Oy", retailer=True)
    return person(session, org, "admin", "retailer", email="kauppa@example.test")


def test_the_link_page_needs_a_login(client, sandbox) -> None:
    link_page = install_fully(client, sandbox)
    answer = client.get(link_page)
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_a_retailer_admin_links_the_shop_and_chooses_settings(client, db, session, sandbox,
                                                               retailer_admin) -> None:
    link_page = install_fully(client, sandbox)
    log_in(client, retailer_admin)
    page = client.get(link_page)
    assert page.status_code == 200 and SHOP in page.get_data(as_text=True)
    key = connection_row(db).key
    token = link_page.split("token=")[1]
    # a POST without the CSRF token is refused
    assert client.post(f"/connect/shopify/{key}/link", data={"token": token}).status_code == 400
    csrf = csrf_token(client, link_page)
    answer = client.post(f"/connect/shopify/{key}/link", data={"token": token,
                                                               "csrf_token": csrf})
    assert answer.status_code == 302
    linked = connection_row(db)
    assert linked.status == "linked" and linked.retailer_id == retailer_admin.organization_id
    # the link token was single use
    assert client.get(link_page).status_code == 200  # now the settings page, by ownership
    assert "link" not in linked.settings["platform"]
    # when the admin chooses a catalog the retailer may use, the connection becomes active
    supplier = organization(session, "Toimittaja A", supplier=True)
    catalog = factories.private_catalog(session, supplier, session.get(
        type(supplier), retailer_admin.organization_id))
    session.commit()
    answer = client.post(f"/connect/shopify/{key}/settings", data={
        "csrf_token": csrf, "catalogs": catalog.external_id, "auto_publish_new": "1",
        "stock_buffer": "2", "end_of_sale": "unpublish", "order_trigger": "created",
        "language": "en", "notify_customer": "1"})
    assert answer.status_code == 302
    active = connection_row(db)
    assert active.status == "active"
    settings = ConnectionContext.from_model(active).settings
    assert settings.catalogs == [catalog.external_id] and settings.stock_buffer == 2
    assert settings.end_of_sale == "unpublish" and settings.order_forwarding.trigger == "created"
    assert settings.platform["location_id"]  # the connector's own state is kept
    with db.transaction() as s:
        types = [e.type for e in s.scalars(sa.select(Event).order_by(Event.id))]
    assert types[-3:] == ["shop_connection.installed", "shop_connection.linked",
                          "shop_connection.settings_changed"]
    # and a catalog the retailer has no access to is refused
    other = organization(session, "Toimittaja B", supplier=True)
    foreign = factories.private_catalog(session, other, other).external_id
    session.commit()
    refused = client.post(f"/connect/shopify/{key}/settings", data={
        "csrf_token": csrf, "catalogs": foreign})
    assert refused.status_code == 400


def test_another_retailer_cannot_use_a_spent_link(client, db, session, sandbox,
                                                  retailer_admin) -> None:
    link_page = install_fully(client, sandbox)
    log_in(client, retailer_admin)
    key, token = connection_row(db).key, link_page.split("token=")[1]
    client.post(f"/connect/shopify/{key}/link",
                data={"token": token, "csrf_token": csrf_token(client, link_page)})
    other = person(session, organization(session, "Toinen Oy", retailer=True), "admin",
                   "retailer", email="toinen@example.test")
    intruder = client.application.test_client()
    log_in(intruder, other)
    assert intruder.get(link_page).status_code == 404
    answer = intruder.post(f"/connect/shopify/{key}/link", data={
        "token": token, "csrf_token": csrf_token(intruder, "/")})
    assert answer.status_code == 404
    assert connection_row(db).retailer_id == retailer_admin.organization_id


def test_a_supplier_admin_cannot_link_a_shop(client, db, session, sandbox) -> None:
    link_page = install_fully(client, sandbox)
    supplier_admin = person(session, organization(session, "Toimittaja Oy", supplier=True),
                            "admin", "supplier", email="toimittaja@example.test")
    log_in(client, supplier_admin)
    assert client.get(link_page).status_code == 403
    assert connection_row(db).retailer_id is None


# --- install from Glue (unsigned: the retailer types the shop) ------------------------------

@pytest.mark.parametrize(("typed", "shop"), [
    ("glue-demo", SHOP), (" Glue-Demo.myshopify.com ", SHOP),
    ("https://glue-demo.myshopify.com/admin/apps", SHOP), ("kauppa.example.com", None),
    ("glue-demo.myshopify.com.evil.test", None), ("", None), ("-x", None),
    ("glue-demo.myshopify.com:8443", None)])
def test_a_typed_shop_address_becomes_its_myshopify_domain_or_nothing(typed: str,
                                                                     shop: str | None) -> None:
    assert install.shop_domain(typed) == shop


def test_install_from_glue_links_the_shop_to_the_admin_who_started_it(
        client, db, sandbox, retailer_admin) -> None:
    log_in(client, retailer_admin)
    form = client.get("/connect/shopify/start?shop=glue-demo")
    assert form.status_code == 200 and 'value="glue-demo"' in form.get_data(as_text=True)
    csrf = csrf_token(client, "/connect/shopify/start")
    # a POST without the CSRF token is refused; a custom domain is refused with the form
    assert client.post("/connect/shopify/start", data={"shop": "glue-demo"}).status_code == 400
    refused = client.post("/connect/shopify/start", data={"shop": "kauppa.fi",
                                                          "csrf_token": csrf})
    assert refused.status_code == 400 and "myshopify.com" in refused.get_data(as_text=True)
    # when the admin submits the shop, the browser goes to Shopify with a state nonce
    answer = client.post("/connect/shopify/start", data={"shop": "glue-demo",
                                                         "csrf_token": csrf})
    assert answer.status_code == 302
    authorize = answer.headers["Location"]
    assert authorize.startswith(sandbox.base_url(SHOP) + "/admin/oauth/authorize?")
    query = dict(parse_qsl(urlsplit(authorize).query))
    assert query["redirect_uri"] == "https://glue.test/connect/shopify/callback"
    assert len(query["state"]) >= 32
    # and after the merchant approves, the callback in that session links at once
    approved = requests.get(authorize, allow_redirects=False, timeout=5)
    done = client.get(local(approved.headers["Location"]))
    connection = connection_row(db)
    assert done.status_code == 302
    assert local(done.headers["Location"]) == f"/connect/shopify/{connection.key}"
    assert connection.status == "linked"
    assert connection.retailer_id == retailer_admin.organization_id
    assert connection.settings["platform"]["location_id"]
    with db.transaction() as s:
        types = [e.type for e in s.scalars(sa.select(Event).order_by(Event.id))]
    assert types[-2:] == ["shop_connection.installed", "shop_connection.linked"]


def test_a_callback_from_another_browser_falls_back_to_the_link_page(
        client, db, sandbox, retailer_admin) -> None:
    # given an admin started from Glue, but the approval came back to a browser without
    # that login (the merchant approved on another device)
    log_in(client, retailer_admin)
    answer = client.post("/connect/shopify/start", data={
        "shop": SHOP, "csrf_token": csrf_token(client, "/connect/shopify/start")})
    approved = requests.get(answer.headers["Location"], allow_redirects=False, timeout=5)
    other = client.application.test_client()
    done = other.get(local(approved.headers["Location"]))
    # then nothing is linked: that browser gets the one-time link page
    assert done.status_code == 302 and "token=" in done.headers["Location"]
    assert connection_row(db).retailer_id is None


def test_install_from_glue_needs_a_retailer_admin_and_refuses_a_taken_shop(
        client, db, session, sandbox, retailer_admin) -> None:
    assert client.get("/connect/shopify/start").status_code == 302  # to the login
    supplier_admin = person(session, organization(session, "Toimittaja Oy", supplier=True),
                            "admin", "supplier", email="toimittaja@example.test")
    log_in(client, supplier_admin)
    assert client.get("/connect/shopify/start").status_code == 403
    # given the shop is connected to another retailer
    with db.transaction() as s:
        s.add(ShopConnection(key="t" * 32, platform="shopify", shop=SHOP, status="active",
                             retailer_id=retailer_admin.organization_id, settings={}))
    other = person(session, organization(session, "Toinen Oy", retailer=True), "admin",
                   "retailer", email="toinen@example.test")
    intruder = client.application.test_client()
    log_in(intruder, other)
    answer = intruder.post("/connect/shopify/start", data={
        "shop": SHOP, "csrf_token": csrf_token(intruder, "/connect/shopify/start")})
    assert answer.status_code == 409
    assert connection_row(db).retailer_id == retailer_admin.organization_id


# --- token refresh -------------------------------------------------------------------------

def test_due_tokens_are_refreshed_and_the_rotated_pair_stored(client, db, sandbox) -> None:
    install_fully(client, sandbox)
    old = json.loads(decrypt(connection_row(db).credentials))
    now = datetime.now(UTC)
    with db.sessions() as s:
        assert install.refresh_due_tokens(s, now) == []  # an hour left: not due yet
        refreshed = install.refresh_due_tokens(s, now + timedelta(minutes=55))
    assert refreshed == [connection_row(db).key]
    new = json.loads(decrypt(connection_row(db).credentials))
    assert new["refresh_token"] != old["refresh_token"]
    assert new["access_token"] != old["access_token"]
    assert datetime.fromisoformat(new["expires_at"]) > now + timedelta(minutes=110)
    # the old refresh token is spent at Shopify; the new one works
    assert old["refresh_token"] not in sandbox.shops[SHOP].refresh_tokens
    assert new["refresh_token"] in sandbox.shops[SHOP].refresh_tokens


def test_a_refresh_never_overwrites_credentials_written_meanwhile(client, db,
                                                                  sandbox) -> None:
    install_fully(client, sandbox)
    connection_id = connection_row(db).id
    meanwhile = encrypt(json.dumps({"access_token": "shpat_from_a_reinstall"}))

    def post_and_reinstall(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        answer = requests.post(*args, **kwargs)
        with db.transaction() as s:  # a reinstall commits while the refresh is in flight
            s.get(ShopConnection, connection_id).credentials = meanwhile
        return answer

    with db.sessions() as s:
        stored = install.refresh_connection(s, connection_id, datetime.now(UTC),
                                            post=post_and_reinstall)
    assert stored is False
    assert connection_row(db).credentials == meanwhile


def test_a_refused_refresh_pauses_the_connection(client, db, session, sandbox,
                                                 retailer_admin) -> None:
    install_fully(client, sandbox)
    with db.transaction() as s:
        row = s.scalars(sa.select(ShopConnection)).one()
        row.status, row.retailer_id = "active", retailer_admin.organization_id
    sandbox.shops[SHOP].refresh_tokens.clear()  # the refresh token died at Shopify
    with db.sessions() as s:
        assert install.refresh_due_tokens(s, datetime.now(UTC) + timedelta(hours=2)) == []
    assert connection_row(db).status == "paused"
    with db.transaction() as s:
        assert s.scalars(sa.select(Event.type).order_by(Event.id.desc())).first() == \
            "shop_connection.paused"


def test_the_worker_refreshes_tokens_every_five_minutes(client, db, sandbox) -> None:
    from connectors.shopify import sync as shopify_sync
    from webhooks.handlers import registry
    from webhooks.spine import Spine

    job = {j.name: j for j in registry.periodic_jobs()}["shopify.token_refresh"]
    assert [job.due(datetime(2026, 11, 26, 12, m, tzinfo=UTC)) for m in (0, 3, 5)] == [
        True, False, True]
    install_fully(client, sandbox)
    spine = Spine(database=db, clock=lambda: datetime.now(UTC) + timedelta(minutes=55))
    assert shopify_sync.refresh_tokens(spine) == [connection_row(db).key]
