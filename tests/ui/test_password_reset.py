"""Password reset by e-mail: a single-use, expiring link that ends the user's other logins."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from core.db import utcnow
from tests.ui.conftest import PASSWORD, link_in, log_in, post, stored_mails
from web.ui.models import PasswordReset

NEW_PASSWORD = "a brand new secret"


def _ask_reset(client, email):  # noqa: ANN001, ANN202
    return post(client, "/password/forgot", {"email": email}, token_from="/password/forgot")


def test_reset_link_sets_a_new_password_once(app, db, admin):
    client = app.test_client()
    response = _ask_reset(client, admin.email)
    assert response.status_code == 302
    [mail] = stored_mails(db)
    assert mail["to"] == admin.email
    path = link_in(mail)
    assert path.startswith("/password/reset/")
    assert client.get(path).status_code == 200
    response = post(client, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
                    token_from=path)
    assert response.status_code == 302
    assert log_in(client, admin).status_code == 401
    assert log_in(client, admin, NEW_PASSWORD).status_code == 302
    # used: the same link no longer works
    assert client.get(path).status_code == 410


def test_reset_ends_the_users_other_logins(app, db, admin):
    elsewhere = app.test_client()
    log_in(elsewhere, admin)
    assert elsewhere.get("/").status_code == 200
    client = app.test_client()
    _ask_reset(client, admin.email)
    path = link_in(stored_mails(db)[0])
    post(client, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
         token_from=path)
    assert elsewhere.get("/").status_code == 302


def test_unknown_address_gets_the_same_answer_and_no_mail(client, db, admin):
    known = _ask_reset(client, admin.email)
    unknown = _ask_reset(client, "nobody@example.test")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert [m["to"] for m in stored_mails(db)] == [admin.email]


def test_expired_link_is_refused(client, db, session, admin):
    _ask_reset(client, admin.email)
    path = link_in(stored_mails(db)[0])
    session.execute(sa.update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert client.get(path).status_code == 410
    response = post(client, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 410
    assert log_in(client, admin).status_code == 302  # the old password still works


def test_made_up_link_is_refused(client):
    assert client.get("/password/reset/not-a-real-token").status_code == 410


def test_mismatched_or_short_passwords_are_refused_and_the_link_stays_usable(client, db, admin):
    _ask_reset(client, admin.email)
    path = link_in(stored_mails(db)[0])
    mismatch = post(client, path, {"password": NEW_PASSWORD, "password_confirm": "other one"},
                    token_from=path)
    assert mismatch.status_code == 422
    assert "Salasanat eivät täsmää." in mismatch.get_data(as_text=True)
    short = post(client, path, {"password": "short", "password_confirm": "short"},
                 token_from=path)
    assert short.status_code == 422
    assert client.get(path).status_code == 200


def test_reset_requests_are_capped_per_hour(client, db, admin):
    for _ in range(5):
        _ask_reset(client, admin.email)
    assert len(stored_mails(db)) == 3


def test_reset_mail_is_in_the_language_of_the_page(client, db, admin):
    client.get("/login", headers={"Accept-Language": "en"})
    post(client, "/password/forgot", {"email": admin.email}, token_from="/password/forgot",
         headers={"Accept-Language": "en-GB,en;q=0.9"})
    [mail] = stored_mails(db)
    assert mail["subject"] == "Reset your Glue password"
    assert PASSWORD not in mail["body"]
