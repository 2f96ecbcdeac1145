"""The user's own account page: changing the password."""

from __future__ import annotations

from tests.ui.conftest import PASSWORD, log_in, post

NEW = "another good password"


def _change(client, current=PASSWORD, new=NEW, confirm=NEW):  # noqa: ANN001, ANN202
    return post(client, "/account", {"current_password": current, "password": new,
                                     "password_confirm": confirm}, token_from="/account")


def test_changing_the_password_keeps_this_browser_and_logs_out_the_others(app, admin):
    here, elsewhere = app.test_client(), app.test_client()
    log_in(here, admin)
    log_in(elsewhere, admin)
    assert _change(here).status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    fresh = app.test_client()
    assert log_in(fresh, admin).status_code == 401
    assert log_in(fresh, admin, NEW).status_code == 302


def test_wrong_current_password_or_mismatch_changes_nothing(app, admin):
    client = app.test_client()
    log_in(client, admin)
    assert _change(client, current="not it").status_code == 422
    assert _change(client, confirm="something else").status_code == 422
    assert _change(client, new="short", confirm="short").status_code == 422
    assert log_in(app.test_client(), admin).status_code == 302


def test_account_page_needs_a_login(client):
    assert client.get("/account").status_code == 302
