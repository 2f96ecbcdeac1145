"""Inviting a user: send, resend, withdraw, and accepting by setting a name and password."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from core.db import utcnow
from core.models import Invitation, Membership, Organization, User
from tests.ui.conftest import PASSWORD, link_in, log_in, organization, person, post, stored_mails

NEW_EMAIL = "new.person@example.test"


def _invite(client, email=NEW_EMAIL, *permissions):  # noqa: ANN001, ANN202
    form = {"email": email, **{f"perm_{p}": "1" for p in permissions or ("supplier",)}}
    return post(client, "/admin/invitations", form, token_from="/admin/invitations")


def _accept(client, path, name="Uusi Henkilö", password="fresh password 1"):  # noqa: ANN001, ANN202
    return post(client, path, {"name": name, "password": password,
                               "password_confirm": password}, token_from=path)


def test_admin_invites_and_the_invitee_accepts_and_is_logged_in(app, db, admin):
    admin_browser = app.test_client()
    log_in(admin_browser, admin)
    response = _invite(admin_browser, NEW_EMAIL, "supplier")
    assert response.status_code == 302
    listing = admin_browser.get("/admin/invitations").get_data(as_text=True)
    assert NEW_EMAIL in listing and "Odottaa" in listing
    [mail] = stored_mails(db)
    assert mail["to"] == NEW_EMAIL and "Toimittaja Oy" in mail["subject"]

    invitee = app.test_client()
    path = link_in(mail)
    page = invitee.get(path).get_data(as_text=True)
    assert "Toimittaja Oy" in page and NEW_EMAIL in page
    response = _accept(invitee, path)
    assert response.status_code == 302
    home = invitee.get("/").get_data(as_text=True)
    assert "Toimittaja Oy" in home and "Uusi Henkilö" in home
    assert invitee.get("/admin/members").status_code == 403  # supplier only, not admin
    members = admin_browser.get("/admin/members").get_data(as_text=True)
    assert NEW_EMAIL in members
    assert invitee.get(path).status_code == 410  # used


def test_accept_form_checks_name_and_password(app, db, admin):
    client = app.test_client()
    log_in(client, admin)
    _invite(client)
    path = link_in(stored_mails(db)[0])
    invitee = app.test_client()
    assert _accept(invitee, path, name="").status_code == 422
    assert _accept(invitee, path, password="short").status_code == 422
    assert _accept(invitee, path).status_code == 302


def test_expired_invitation_is_refused(app, db, session, admin):
    client = app.test_client()
    log_in(client, admin)
    _invite(client)
    path = link_in(stored_mails(db)[0])
    session.execute(sa.update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    invitee = app.test_client()
    response = invitee.get(path)
    assert response.status_code == 410
    assert "vanhentunut" in response.get_data(as_text=True)
    assert _accept(invitee, path).status_code == 410


def test_unknown_invitation_is_not_found(client):
    assert client.get("/invitation/nonsense").status_code == 404


def test_resend_gives_a_new_link_and_the_old_one_stops_working(app, db, session, admin):
    client = app.test_client()
    log_in(client, admin)
    _invite(client)
    old_path = link_in(stored_mails(db)[0])
    invitation_id = session.scalar(sa.select(Invitation.id))
    session.commit()
    response = post(client, f"/admin/invitations/{invitation_id}/resend",
                    token_from="/admin/invitations")
    assert response.status_code == 302
    new_path = link_in(stored_mails(db)[1])
    assert new_path != old_path
    invitee = app.test_client()
    assert invitee.get(old_path).status_code == 404
    assert _accept(invitee, new_path).status_code == 302


def test_withdrawn_invitation_cannot_be_accepted(app, db, session, admin):
    client = app.test_client()
    log_in(client, admin)
    _invite(client)
    path = link_in(stored_mails(db)[0])
    invitation_id = session.scalar(sa.select(Invitation.id))
    session.commit()
    post(client, f"/admin/invitations/{invitation_id}/revoke", token_from="/admin/invitations")
    assert "Peruttu" in client.get("/admin/invitations").get_data(as_text=True)
    assert app.test_client().get(path).status_code == 410


def test_existing_user_accepts_with_their_own_password(app, db, session, admin):

    elsewhere = organization(session, "Kauppa Oy", retailer=True)
    existing = person(session, elsewhere, "retailer", email="known@example.test",
                      name="Known Person")
    client = app.test_client()
    log_in(client, admin)
    _invite(client, existing.email, "supplier")
    path = link_in(stored_mails(db)[0])
    invitee = app.test_client()
    page = invitee.get(path).get_data(as_text=True)
    assert "on jo Glue-tunnus" in page
    wrong = post(invitee, path, {"password": "not the password"}, token_from=path)
    assert wrong.status_code == 422
    right = post(invitee, path, {"password": PASSWORD}, token_from=path)
    assert right.status_code == 302
    with db.transaction() as s:
        user = s.scalar(sa.select(User).where(User.email == existing.email))
        assert user.name == "Known Person"  # the admin cannot rename someone else's account
        assert s.scalar(sa.select(sa.func.count()).select_from(Membership)
                        .where(Membership.user_id == user.id)) == 2


def test_inviting_a_current_member_is_refused_on_the_form(client, admin):
    log_in(client, admin)
    response = _invite(client, admin.email)
    assert response.status_code == 422


def test_inviting_without_permissions_is_refused_on_the_form(client, db, admin):
    log_in(client, admin)
    response = post(client, "/admin/invitations", {"email": NEW_EMAIL},
                    token_from="/admin/invitations")
    assert response.status_code == 422
    assert stored_mails(db) == []


def test_admin_cannot_resend_or_revoke_another_organizations_invitation(client, session, admin):

    other = organization(session, "Muu Oy", retailer=True)
    invitation = Invitation(organization_id=other.id, email="x@example.test",
                            permissions="retailer", token_digest="d" * 64,
                            expires_at=utcnow() + timedelta(days=1))
    session.add(invitation)
    session.commit()
    log_in(client, admin)
    for action in ("resend", "revoke"):
        response = post(client, f"/admin/invitations/{invitation.id}/{action}", token_from="/")
        assert response.status_code == 404
    with_org = session.get(Organization, other.id)
    assert with_org is not None
    session.refresh(invitation)
    assert invitation.revoked_at is None
    session.commit()
