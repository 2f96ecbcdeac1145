"""/auth/token and bearer tokens (reference page "Auth"; DESIGN.md 2, API account)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from core import api_accounts
from core.api_accounts import AuthenticationFailed, authenticate, create_api_account
from core.db import utcnow
from core.errors import Forbidden, NotFound
from core.models import ApiAccount
from core.principal import SYSTEM
from tests import factories as f
from tests.api.conftest import basic, commit, make_credentials

TOKEN_KEYS = {"access_token", "token_type", "expires_in", "scope"}


@pytest.fixture
def supplier_creds(db):
    supplier = commit(db, lambda s: f.supplier(s))
    account, secret = make_credentials(db, supplier.id)
    return supplier, account, secret


def test_basic_get_returns_exactly_the_four_documented_keys(client, supplier_creds):
    _, account, secret = supplier_creds
    response = client.get("/auth/token", headers=basic(account, secret))
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["scope"] == "internal"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("how", ["basic-post", "query-grant", "form-grant", "form-client"])
def test_post_variants_are_accepted(client, supplier_creds, how):
    _, account, secret = supplier_creds
    if how == "basic-post":
        response = client.post("/auth/token", headers=basic(account, secret))
    elif how == "query-grant":
        response = client.post("/auth/token?grant_type=client_credentials",
                               headers=basic(account, secret))
    elif how == "form-grant":
        response = client.post("/auth/token", headers=basic(account, secret),
                               data={"grant_type": "client_credentials"})
    else:
        response = client.post("/auth/token", data={"grant_type": "client_credentials",
                                                     "client_id": account,
                                                     "client_secret": secret})
    assert response.status_code == 200
    assert set(response.get_json()) == TOKEN_KEYS


def test_the_token_opens_the_api_and_acts_as_the_organization(client, supplier_creds):
    _, account, secret = supplier_creds
    token = client.get("/auth/token", headers=basic(account, secret)).get_json()["access_token"]
    response = client.get("/ecommerce/v3/services",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_unsupported_grant_type_is_400(client, supplier_creds):
    _, account, secret = supplier_creds
    response = client.post("/auth/token?grant_type=password", headers=basic(account, secret))
    assert response.status_code == 400
    assert response.get_json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("case", ["wrong-secret", "unknown-account", "no-credentials"])
def test_refusals_are_one_and_the_same_401(client, supplier_creds, case):
    _, account, secret = supplier_creds
    headers = {"wrong-secret": basic(account, secret + "x"),
               "unknown-account": basic("nobody-123", secret),
               "no-credentials": {}}[case]
    response = client.get("/auth/token", headers=headers)
    assert response.status_code == 401
    body = response.get_json()
    assert body["message"] == "Bad credentials" and body["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_five_failures_lock_the_account_for_an_hour_even_for_the_right_secret(
        db, client, supplier_creds):
    _, account, secret = supplier_creds
    for _ in range(5):
        assert client.get("/auth/token", headers=basic(account, "wrong")).status_code == 401
    locked = client.get("/auth/token", headers=basic(account, secret))
    assert locked.status_code == 401
    assert locked.get_json()["message"] == "Bad credentials"  # no hint that it is a lock
    with db.transaction() as session:
        row = session.scalar(sa.select(ApiAccount).where(ApiAccount.account == account))
        assert row.locked_until is not None
        in_an_hour = row.locked_until + timedelta(seconds=1)
        assert authenticate(session, account, secret, now=in_an_hour).organization_id


def test_success_resets_the_failure_counter(db, client, supplier_creds):
    _, account, secret = supplier_creds
    for _ in range(4):
        client.get("/auth/token", headers=basic(account, "wrong"))
    assert client.get("/auth/token", headers=basic(account, secret)).status_code == 200
    for _ in range(4):
        client.get("/auth/token", headers=basic(account, "wrong"))
    assert client.get("/auth/token", headers=basic(account, secret)).status_code == 200


def test_missing_forged_and_expired_bearer_tokens_are_401(db, client, supplier_creds):
    _, account, secret = supplier_creds
    token = client.get("/auth/token", headers=basic(account, secret)).get_json()["access_token"]
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}AA"
    for headers in ({}, {"Authorization": f"Bearer {forged}"},
                    {"Authorization": "Bearer nonsense"},
                    basic(account, secret)):
        response = client.get("/ecommerce/v3/services", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    with db.transaction() as session:
        later = utcnow() + timedelta(seconds=3601)
        with pytest.raises(AuthenticationFailed):
            api_accounts.principal_for_token(session, token, now=later)
        assert api_accounts.principal_for_token(session, token).organization_id


def test_a_revoked_account_loses_its_tokens_and_cannot_get_new_ones(db, client, supplier_creds):
    _, account, secret = supplier_creds
    token = client.get("/auth/token", headers=basic(account, secret)).get_json()["access_token"]
    with db.transaction() as session:
        api_accounts.revoke_api_account(session, SYSTEM, account)
    response = client.get("/ecommerce/v3/services", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert client.get("/auth/token", headers=basic(account, secret)).status_code == 401


def test_the_secret_is_stored_hashed_and_names_are_unique(db):
    supplier = commit(db, lambda s: f.supplier(s))
    first = make_credentials(db, supplier.id, name="ERP")
    second = make_credentials(db, supplier.id, name="ERP")
    assert first[0] != second[0] and first[0].startswith("erp-")
    with db.transaction() as session:
        stored = session.scalar(sa.select(ApiAccount).where(ApiAccount.account == first[0]))
        assert first[1] not in stored.secret_hash and stored.secret_hash.startswith("$argon2")


def test_an_api_account_has_its_organizations_roles_but_not_admin(db):
    both = commit(db, lambda s: f.org(s, supplier=True, retailer=True))
    account, secret = make_credentials(db, both.id)
    with db.transaction() as session:
        principal = authenticate(session, account, secret)
    assert principal.permissions == {"supplier", "retailer"}
    assert principal.api_account_id is not None


def test_only_the_organizations_admin_creates_and_revokes_accounts(db):
    supplier = commit(db, lambda s: f.supplier(s))
    other = commit(db, lambda s: f.retailer(s))
    with db.transaction() as session:
        with pytest.raises(Forbidden):
            create_api_account(session, f.acting(supplier, "supplier"),
                               organization_id=supplier.id, name="x")
        with pytest.raises(NotFound):
            create_api_account(session, f.acting(other, "admin"),
                               organization_id=supplier.id, name="x")
        account, _ = create_api_account(session, f.acting(supplier, "admin"),
                                        organization_id=supplier.id, name="x")
        with pytest.raises(NotFound):
            api_accounts.revoke_api_account(session, f.acting(other, "admin"), account.account)
        assert api_accounts.revoke_api_account(session, f.acting(supplier, "admin"),
                                               account.account).revoked_at is not None
