"""Logging in and out, session expiry, throttling, CSRF, and choosing the organization."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from core.db import utcnow
from tests.ui.conftest import PASSWORD, csrf_token, log_in, organization, person, post
from web.ui import logins
from web.ui.models import LoginFailure, UiSession


def test_login_page_renders_a_form_with_a_csrf_token(client):
    response = client.get("/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="csrf_token"' in html and 'type="password"' in html
    assert '<label for="f-email">' in html


def test_anonymous_visitor_is_sent_to_login_with_the_page_to_return_to(client):
    response = client.get("/admin/members")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/admin/members"


def test_right_password_logs_in_and_goes_to_the_requested_page(client, admin):
    response = post(client, "/login", {"email": admin.email.upper(), "password": PASSWORD,
                                       "next": "/admin/members"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/members"
    page = client.get("/").get_data(as_text=True)
    assert "Toimittaja Oy" in page and "Anna Admin" in page


def test_next_pointing_to_another_site_is_ignored(client, admin):
    response = post(client, "/login", {"email": admin.email, "password": PASSWORD,
                                       "next": "//evil.example/"})
    assert response.headers["Location"] == "/"


def test_wrong_password_is_refused_with_the_same_words_as_an_unknown_address(client, admin):
    wrong = post(client, "/login", {"email": admin.email, "password": "nope-nope"})
    unknown = post(client, "/login", {"email": "nobody@example.test", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert client.get("/").status_code == 302  # still anonymous
    message = "Väärä sähköpostiosoite tai salasana."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)


def test_sixth_attempt_on_an_account_is_throttled_even_with_the_right_password(client, admin):
    for _ in range(logins.ACCOUNT_LIMIT):
        assert log_in(client, admin, "wrong-password").status_code == 401
    response = log_in(client, admin)
    assert response.status_code == 429
    assert "15" in response.get_data(as_text=True)


def test_throttling_is_per_address_too(client, admin, session):
    now = utcnow()
    session.add_all([LoginFailure(key="ip:127.0.0.1", at=now)
                     for _ in range(logins.ADDRESS_LIMIT)])
    session.commit()
    assert log_in(client, admin).status_code == 429
    other_address = post(client, "/login", {"email": admin.email, "password": PASSWORD},
                         environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert other_address.status_code == 302


def test_failures_older_than_the_window_do_not_count(client, admin, session):
    old = utcnow() - logins.WINDOW - timedelta(seconds=1)
    session.add_all([LoginFailure(key=f"account:{admin.email}", at=old) for _ in range(10)])
    session.commit()
    assert log_in(client, admin).status_code == 302


def test_a_successful_login_forgives_earlier_failures_of_the_account(client, admin, session):
    for _ in range(logins.ACCOUNT_LIMIT - 1):
        log_in(client, admin, "wrong-password")
    assert log_in(client, admin).status_code == 302
    count = session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)
                           .where(LoginFailure.key == f"account:{admin.email}"))
    assert count == 0


def test_post_without_csrf_token_is_refused(client, admin):
    client.get("/login")
    response = client.post("/login", data={"email": admin.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_post_with_a_wrong_csrf_token_is_refused(client, admin):
    csrf_token(client)
    response = client.post("/login", data={"email": admin.email, "password": PASSWORD,
                                           "csrf_token": "forged"})
    assert response.status_code == 400


def test_token_of_another_browser_session_is_refused(app, admin):
    first, second = app.test_client(), app.test_client()
    token = csrf_token(first)
    csrf_token(second)
    response = second.post("/login", data={"email": admin.email, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 400


def test_logged_in_forms_need_the_token_too(client, admin):
    log_in(client, admin)
    assert client.post("/logout").status_code == 400
    assert client.post("/admin/api-accounts", data={"name": "ERP"}).status_code == 400


def test_token_header_is_accepted_for_scripts(client, admin):
    log_in(client, admin)
    token = csrf_token(client, "/")
    response = client.post("/admin/api-accounts", data={"name": "ERP"},
                           headers={"X-CSRF-Token": token})
    assert response.status_code == 200


def test_logout_ends_the_session_for_every_copy_of_the_cookie(app, admin):
    client = app.test_client()
    log_in(client, admin)
    cookie = client.get_cookie("session").value
    assert post(client, "/logout", token_from="/").status_code == 302
    assert client.get("/").status_code == 302
    copy = app.test_client()
    copy.set_cookie("session", cookie)
    assert copy.get("/").status_code == 302


def test_idle_session_expires(client, admin, session):
    log_in(client, admin)
    session.execute(sa.update(UiSession).values(
        last_seen_at=utcnow() - logins.IDLE_TIMEOUT - timedelta(minutes=1)))
    session.commit()
    response = client.get("/admin/members")
    assert response.status_code == 302
    assert "expired=1" in response.headers["Location"]
    assert "Istuntosi on vanhentunut" in client.get(response.headers["Location"]).get_data(
        as_text=True)


def test_session_ends_at_its_maximum_age_however_active(client, admin, session):
    log_in(client, admin)
    session.execute(sa.update(UiSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert client.get("/").status_code == 302


def test_a_deactivated_user_is_logged_out(client, admin, session):
    from core.models import User

    log_in(client, admin)
    session.get(User, admin.user_id).is_active = False
    session.commit()
    assert client.get("/").status_code == 302


def test_session_cookie_is_httponly_and_samesite_lax(client, admin):
    response = log_in(client, admin)
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header


def test_pages_carry_security_headers(client, admin):
    log_in(client, admin)
    response = client.get("/")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_user_of_several_organizations_chooses_the_active_one(client, session, admin):
    other = organization(session, "Kauppa Oy", retailer=True)
    from core.models import Membership

    session.add(Membership(user_id=admin.user_id, organization_id=other.id, is_retailer=True))
    session.commit()
    log_in(client, admin)
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/organization")
    chooser = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Kauppa Oy" in chooser and "Toimittaja Oy" in chooser
    post(client, "/organization", {"organization_id": str(other.id)}, token_from="/organization")
    home = client.get("/").get_data(as_text=True)
    assert "<h1>Kauppa Oy</h1>" in home
    # The retailer membership has no admin permission: the admin pages are closed there.
    assert client.get("/admin/members").status_code == 403


def test_choosing_an_organization_one_is_not_a_member_of_is_refused(client, session, admin):
    stranger = organization(session, "Vieras Oy", retailer=True)
    session.commit()
    log_in(client, admin)
    response = post(client, "/organization", {"organization_id": str(stranger.id)},
                    token_from="/")
    assert response.status_code == 403


def test_user_without_any_organization_is_told_to_ask_for_an_invitation(client, session):
    from core.crypto import hash_password
    from core.models import User

    session.add(User(email="alone@example.test", name="Alone",
                     password_hash=hash_password(PASSWORD)))
    session.commit()
    log_in(client, "alone@example.test")
    response = client.get("/admin/members")
    assert response.status_code == 302 and response.headers["Location"].startswith("/organization")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Et ole minkään organisaation jäsen" in page


def test_a_member_without_admin_gets_403_on_every_admin_page(client, session, admin):
    org_id = admin.organization_id
    from core.models import Organization

    worker = person(session, session.get(Organization, org_id), "supplier",
                    email="worker@example.test")
    log_in(client, worker)
    for path in ("/admin/members", "/admin/invitations", "/admin/api-accounts",
                 "/admin/profile"):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client, "/")
    for path in (f"/admin/members/{admin.user_id}/permissions",
                 f"/admin/members/{admin.user_id}/remove", "/admin/invitations",
                 "/admin/invitations/1/resend", "/admin/invitations/1/revoke",
                 "/admin/api-accounts", "/admin/api-accounts/x/revoke", "/admin/profile"):
        response = client.post(path, data={"csrf_token": token, "perm_supplier": "1",
                                           "email": "x@example.test", "name": "X"})
        assert response.status_code == 403, path
