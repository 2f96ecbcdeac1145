"""Outgoing mail: SMTP when configured, otherwise stored and listed at /dev/mail."""

from __future__ import annotations

import smtplib

import pytest

from tests.ui.conftest import link_in, log_in, post, stored_mails


class _RecordingSMTP:
    """Stands in for ``smtplib.SMTP`` at the one seam mail leaves through."""

    sent: list = []
    calls: list = []

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.calls.append(("connect", host, port))

    def __enter__(self) -> _RecordingSMTP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.calls.append(("quit",))

    def starttls(self, context: object) -> None:
        self.calls.append(("starttls",))

    def login(self, user: str, password: str) -> None:
        self.calls.append(("login", user))

    def send_message(self, message: object) -> None:
        self.sent.append(message)


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> type[_RecordingSMTP]:
    _RecordingSMTP.sent, _RecordingSMTP.calls = [], []
    monkeypatch.setattr(smtplib, "SMTP", _RecordingSMTP)
    monkeypatch.setenv("GLUE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("GLUE_SMTP_PORT", "2525")
    monkeypatch.setenv("GLUE_SMTP_USER", "glue")
    monkeypatch.setenv("GLUE_SMTP_PASSWORD", "smtp-secret")
    monkeypatch.setenv("GLUE_SMTP_FROM", "noreply@glue.test")
    return _RecordingSMTP


def test_with_smtp_configured_mail_is_sent_and_not_stored(client, db, admin, smtp):
    response = post(client, "/password/forgot", {"email": admin.email},
                    token_from="/password/forgot")
    assert response.status_code == 302
    [message] = smtp.sent
    assert message["To"] == admin.email and message["From"] == "noreply@glue.test"
    assert "/password/reset/" in message.get_content()
    assert smtp.calls[:3] == [("connect", "127.0.0.1", 2525), ("starttls",), ("login", "glue")]
    assert stored_mails(db) == []


def test_dev_mail_lists_stored_mail_with_its_links(client, db, admin):
    post(client, "/password/forgot", {"email": admin.email}, token_from="/password/forgot")
    page = client.get("/dev/mail").get_data(as_text=True)
    path = link_in(stored_mails(db)[0])
    assert admin.email in page and f'href="http://glue.test{path}"' in page


def test_dev_mail_is_hidden_when_smtp_is_configured(client, smtp):
    assert client.get("/dev/mail").status_code == 404


def test_dev_mail_is_hidden_from_other_machines(client):
    response = client.get("/dev/mail", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert response.status_code == 404


def test_dev_mail_can_be_switched_off(client, monkeypatch):
    monkeypatch.setenv("GLUE_DEV_MAIL", "0")
    assert client.get("/dev/mail").status_code == 404


def test_invitation_mail_goes_out_through_smtp(client, admin, smtp):
    log_in(client, admin)
    post(client, "/admin/invitations", {"email": "new@example.test", "perm_supplier": "1"},
         token_from="/admin/invitations")
    [message] = smtp.sent
    assert message["To"] == "new@example.test"
    assert "http://glue.test/invitation/" in message.get_content()
