"""Users, memberships and invitations."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from core import parties
from core.crypto import token_digest
from core.db import utcnow
from core.errors import Conflict, Forbidden, IllegalTransition, NotFound, ValidationFailed
from core.models import Invitation, Membership, User
from core.principal import SYSTEM
from tests import factories as f
from tests.factories import events


def event_types(session) -> list[str]:
    return [e.type for e in events(session)]


def admin_of(session, org):
    """A real admin user of ``org`` and its principal."""
    user = parties.create_user(session, SYSTEM, email=f"admin{org.id}@example.test",
                               organization_id=org.id, permissions=["admin"])
    return user, parties.user_principal(session, user.id, org.id)


# --- users ---------------------------------------------------------------------------------

def test_system_creates_a_user_who_can_log_in(session):
    org = f.supplier(session)
    # when the CLI creates a user with a password (e-mail in mixed case)
    user = parties.create_user(session, SYSTEM, email=" Anna@Example.TEST ",
                               organization_id=org.id, permissions="admin,supplier",
                               name="Anna", password="correct horse", language="en")
    # then the e-mail is lower-case, the password argon2-hashed, and both events recorded
    assert user.email == "anna@example.test"
    assert user.password_hash.startswith("$argon2") and "correct" not in user.password_hash
    assert event_types(session)[-2:] == ["user.created", "membership.created"]
    # and the user authenticates with any casing of the address, only with the right password
    assert parties.authenticate_user(session, "ANNA@example.test", "correct horse") is user
    assert parties.authenticate_user(session, "anna@example.test", "wrong horse") is None
    assert parties.authenticate_user(session, "nobody@example.test", "correct horse") is None
    assert parties.authenticate_user(session, "not an email", "correct horse") is None
    user.is_active = False
    assert parties.authenticate_user(session, "anna@example.test", "correct horse") is None


def test_a_user_without_password_cannot_log_in(session):
    org = f.retailer(session)
    parties.create_user(session, SYSTEM, email="x@example.test", organization_id=org.id,
                        permissions=["retailer"])
    assert parties.authenticate_user(session, "x@example.test", "") is None


def test_principal_permissions_are_narrowed_to_the_organizations_roles(session):
    org = f.supplier(session)
    user = parties.create_user(session, SYSTEM, email="a@example.test", organization_id=org.id,
                               permissions=["admin", "supplier", "retailer"])
    principal = parties.user_principal(session, user.id, org.id)
    assert principal.permissions == {"admin", "supplier"}  # org is not a retailer
    assert (principal.organization_id, principal.user_id) == (org.id, user.id)
    with pytest.raises(NotFound):  # not a member there
        parties.user_principal(session, user.id, f.retailer(session).id)


def test_an_existing_user_gets_a_membership_and_keeps_its_account(session):
    first, second = f.supplier(session), f.retailer(session)
    user = parties.create_user(session, SYSTEM, email="a@example.test", organization_id=first.id,
                               permissions=["supplier"], password="first password", name="A")
    _, admin = admin_of(session, second)
    # when another organization's admin adds the same e-mail with a password of its choosing
    again = parties.create_user(session, admin, email="A@example.test",
                                organization_id=second.id, permissions=["retailer"],
                                password="takeover!!", name="Evil")
    # then it is the same user, with a second membership, and the account is untouched
    assert again is user and user.name == "A"
    assert parties.authenticate_user(session, "a@example.test", "first password") is user
    assert parties.user_principal(session, user.id, second.id).permissions == {"retailer"}
    with pytest.raises(Conflict):
        parties.create_user(session, admin, email="a@example.test", organization_id=second.id,
                            permissions=["retailer"])


def test_create_user_refusals(session):
    org, other = f.supplier(session), f.supplier(session)
    _, admin = admin_of(session, org)
    member = f.acting(org, "supplier")
    kw = {"email": "b@example.test", "permissions": ["supplier"]}
    with pytest.raises(Forbidden):  # not an admin
        parties.create_user(session, member, organization_id=org.id, **kw)
    with pytest.raises(Forbidden):  # wrong tenant
        parties.create_user(session, admin, organization_id=other.id, **kw)
    with pytest.raises(ValidationFailed):
        parties.create_user(session, admin, organization_id=org.id, email="b@",
                            permissions=["supplier"])
    with pytest.raises(ValidationFailed):
        parties.create_user(session, admin, organization_id=org.id, email="b@example.test",
                            permissions=["owner"])
    with pytest.raises(ValidationFailed):
        parties.create_user(session, admin, organization_id=org.id, permissions=[],
                            email="b@example.test")
    with pytest.raises(ValidationFailed):
        parties.create_user(session, admin, organization_id=org.id, password="short", **kw)
    with pytest.raises(ValidationFailed):
        parties.create_user(session, admin, organization_id=org.id, language="de", **kw)
    with pytest.raises(NotFound):
        parties.create_user(session, SYSTEM, organization_id=other.id + 99, **kw)


def test_set_password_by_the_user_itself_or_system(session):
    org = f.retailer(session)
    user, principal = admin_of(session, org)
    parties.set_password(session, principal, user.id, "a new password")
    assert parties.authenticate_user(session, user.email, "a new password") is user
    parties.set_password(session, SYSTEM, user.id, "reset by cli")
    assert parties.authenticate_user(session, user.email, "reset by cli") is user
    other, _ = admin_of(session, f.retailer(session))
    with pytest.raises(Forbidden):
        parties.set_password(session, principal, other.id, "not yours!")
    assert "user.password_changed" in event_types(session)


# --- memberships ---------------------------------------------------------------------------

def test_admin_changes_permissions_but_never_of_the_last_admin(session):
    org = f.supplier(session)
    user, admin = admin_of(session, org)
    # the only admin cannot drop its own admin permission
    with pytest.raises(Conflict):
        parties.set_permissions(session, admin, user.id, ["supplier"])
    # with a second admin it can
    second = parties.create_user(session, admin, email="c@example.test", organization_id=org.id,
                                 permissions=["admin"])
    membership = parties.set_permissions(session, admin, user.id, ["supplier"])
    assert (membership.is_admin, membership.is_supplier) == (False, True)
    assert event_types(session)[-1] == "membership.permissions_changed"
    # and now the remaining admin is the last one
    with pytest.raises(Conflict):
        parties.set_permissions(session, SYSTEM, second.id, ["supplier"], organization_id=org.id)


def test_set_permissions_refusals(session):
    org, other = f.supplier(session), f.supplier(session)
    user, admin = admin_of(session, org)
    outsider, _ = admin_of(session, other)
    with pytest.raises(NotFound):  # not a member of the admin's organization
        parties.set_permissions(session, admin, outsider.id, ["supplier"])
    with pytest.raises(Forbidden):  # wrong tenant
        parties.set_permissions(session, admin, outsider.id, ["supplier"],
                                organization_id=other.id)
    with pytest.raises(Forbidden):  # not an admin
        parties.set_permissions(session, f.acting(org, "supplier"), user.id, ["admin"])


def test_remove_member_keeps_the_last_admin(session):
    org = f.retailer(session)
    user, admin = admin_of(session, org)
    clerk = parties.create_user(session, admin, email="d@example.test", organization_id=org.id,
                                permissions=["retailer"])
    with pytest.raises(Conflict):
        parties.remove_member(session, admin, user.id)
    # an admin removes a member; the account stays
    parties.remove_member(session, admin, clerk.id)
    assert session.get(User, clerk.id) is not None
    assert session.scalar(sa.select(Membership).where(Membership.user_id == clerk.id)) is None
    assert event_types(session)[-1] == "membership.removed"
    with pytest.raises(NotFound):
        parties.remove_member(session, admin, clerk.id)


def test_a_member_may_leave_but_not_remove_others(session):
    org = f.retailer(session)
    _, admin = admin_of(session, org)
    a = parties.create_user(session, admin, email="a@example.test", organization_id=org.id,
                            permissions=["retailer"])
    b = parties.create_user(session, admin, email="b@example.test", organization_id=org.id,
                            permissions=["retailer"])
    a_principal = parties.user_principal(session, a.id, org.id)
    with pytest.raises(Forbidden):
        parties.remove_member(session, a_principal, b.id)
    parties.remove_member(session, a_principal, a.id)
    with pytest.raises(NotFound):
        parties.user_principal(session, a.id, org.id)


# --- invitations ---------------------------------------------------------------------------

def test_invitation_round_trip(session):
    org = f.supplier(session)
    inviter, admin = admin_of(session, org)
    # when an admin invites an address
    invitation, token = parties.invite(session, admin, email="New@Example.test",
                                       permissions=["supplier", "admin"])
    # then only the token's digest is stored, and the invitation expires in a week
    assert invitation.token_digest == token_digest(token) and token not in invitation.token_digest
    assert (invitation.email, invitation.permissions) == ("new@example.test", "admin,supplier")
    assert invitation.invited_by_id == inviter.id
    assert timedelta(days=6) < invitation.expires_at - utcnow() <= timedelta(days=7)
    # when the invitee accepts
    user = parties.accept_invitation(session, token, name="Niko", password="niko's password")
    # then the user exists, is a member with the invited permissions, and can log in
    assert parties.user_principal(session, user.id, org.id).permissions == {"admin", "supplier"}
    assert parties.authenticate_user(session, "new@example.test", "niko's password") is user
    assert parties.invitation_state(invitation) == "used"
    assert event_types(session)[-4:] == ["invitation.created", "user.created",
                                         "membership.created", "invitation.accepted"]
    # and the link is single use
    with pytest.raises(IllegalTransition):
        parties.accept_invitation(session, token, name="Again", password="whatever1")


def test_expired_and_revoked_invitations_are_refused(session):
    org = f.retailer(session)
    _, admin = admin_of(session, org)
    expired, expired_token = parties.invite(session, admin, email="e@example.test",
                                            permissions=["retailer"])
    expired.expires_at = utcnow() - timedelta(seconds=1)
    revoked, revoked_token = parties.invite(session, admin, email="r@example.test",
                                            permissions=["retailer"])
    parties.revoke_invitation(session, admin, revoked.id)
    with pytest.raises(IllegalTransition, match="expired"):
        parties.accept_invitation(session, expired_token, name="E", password="password1")
    with pytest.raises(IllegalTransition, match="revoked"):
        parties.accept_invitation(session, revoked_token, name="R", password="password1")
    with pytest.raises(NotFound):
        parties.accept_invitation(session, "made-up", name="X", password="password1")
    with pytest.raises(IllegalTransition):  # revoked twice
        parties.revoke_invitation(session, admin, revoked.id)
    with pytest.raises(IllegalTransition):  # a revoked one is not resent
        parties.resend_invitation(session, admin, revoked.id)
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 1  # the admin only


def test_resend_replaces_the_link(session):
    org = f.retailer(session)
    _, admin = admin_of(session, org)
    invitation, old_token = parties.invite(session, admin, email="e@example.test",
                                           permissions=["retailer"])
    invitation.expires_at = utcnow() - timedelta(days=1)
    # when an expired invitation is resent
    same, new_token = parties.resend_invitation(session, admin, invitation.id)
    # then the old link no longer works and the new one does
    assert same is invitation and new_token != old_token
    assert parties.invitation_state(invitation) == "pending"
    with pytest.raises(NotFound):
        parties.accept_invitation(session, old_token, name="E", password="password1")
    parties.accept_invitation(session, new_token, name="E", password="password1")
    assert "invitation.resent" in event_types(session)
    with pytest.raises(IllegalTransition):  # used: neither resent nor revoked
        parties.resend_invitation(session, admin, invitation.id)
    with pytest.raises(IllegalTransition):
        parties.revoke_invitation(session, admin, invitation.id)


def test_a_new_invitation_supersedes_the_pending_one(session):
    org = f.retailer(session)
    _, admin = admin_of(session, org)
    first, first_token = parties.invite(session, admin, email="e@example.test",
                                        permissions=["retailer"])
    parties.invite(session, admin, email="e@example.test", permissions=["retailer", "admin"])
    assert parties.invitation_state(first) == "revoked"
    with pytest.raises(IllegalTransition):
        parties.accept_invitation(session, first_token, name="E", password="password1")


def test_invitation_refusals(session):
    org, other = f.retailer(session), f.retailer(session)
    member, admin = admin_of(session, org)
    _, other_admin = admin_of(session, other)
    with pytest.raises(Forbidden):  # not an admin
        parties.invite(session, f.acting(org, "retailer"), email="x@example.test",
                       permissions=["retailer"])
    with pytest.raises(Conflict):  # already a member
        parties.invite(session, admin, email=member.email, permissions=["retailer"])
    with pytest.raises(ValidationFailed):
        parties.invite(session, admin, email="x@example.test", permissions=["retailer"],
                       ttl=timedelta(0))
    invitation, _ = parties.invite(session, admin, email="x@example.test",
                                   permissions=["retailer"])
    with pytest.raises(NotFound):  # wrong tenant cannot see it
        parties.revoke_invitation(session, other_admin, invitation.id)
    with pytest.raises(NotFound):
        parties.resend_invitation(session, other_admin, invitation.id)
    assert parties.invitation_state(invitation) == "pending"


def test_existing_account_accepts_only_with_its_own_password(session):
    home, org = f.supplier(session), f.retailer(session)
    existing = parties.create_user(session, SYSTEM, email="e@example.test",
                                   organization_id=home.id, permissions=["supplier"],
                                   password="my own password")
    _, admin = admin_of(session, org)
    _, token = parties.invite(session, admin, email="e@example.test", permissions=["retailer"])
    # the inviting admin saw the token; it must not take over the account with it
    with pytest.raises(Forbidden):
        parties.accept_invitation(session, token, name="Admin", password="chosen by admin")
    user = parties.accept_invitation(session, token, name="", password="my own password")
    assert user is existing
    assert parties.user_principal(session, user.id, org.id).permissions == {"retailer"}
    assert parties.authenticate_user(session, "e@example.test", "my own password") is existing


def test_accepting_commits_cleanly(db):
    # the whole flow through real transactions, as the web layer will run it
    with db.transaction() as s:
        org = f.retailer(s)
        _, admin = admin_of(s, org)
        _, token = parties.invite(s, admin, email="t@example.test", permissions=["retailer"])
    with db.transaction() as s:
        parties.accept_invitation(s, token, name="T", password="password1")
    with db.transaction() as s:
        invitation = s.scalar(sa.select(Invitation).where(Invitation.email == "t@example.test"))
        assert invitation.used_at is not None
        assert parties.authenticate_user(s, "t@example.test", "password1") is not None


def test_a_user_changes_its_own_name_and_language_but_not_anothers(session):
    from core.errors import Forbidden, ValidationFailed
    from core.parties import update_user
    from core.principal import Principal
    from tests import factories

    org = factories.retailer(session)
    me = factories.user(session, org, "retailer")
    other = factories.user(session, org, "retailer")
    acting_as_me = Principal(organization_id=org.id, user_id=me.id,
                             permissions=frozenset({"retailer"}))

    update_user(session, acting_as_me, me.id, name="Maija", language="en")

    assert (me.name, me.language) == ("Maija", "en")
    with pytest.raises(Forbidden):
        update_user(session, acting_as_me, other.id, language="en")
    with pytest.raises(ValidationFailed):
        update_user(session, acting_as_me, me.id, language="de")
