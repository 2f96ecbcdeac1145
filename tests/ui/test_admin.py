"""Organization admin: members and permissions, API accounts, the profile and the logo."""

from __future__ import annotations

import struct
import zlib

import sqlalchemy as sa

from core.models import ApiAccount, Membership, Organization
from tests.ui.conftest import log_in, organization, person, post


def _png(width: int = 32, height: int = 32, padding: int = 0) -> bytes:
    """A real PNG image (optionally with a large comment chunk to make it big)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    text = chunk(b"tEXt", b"Comment\x00" + b"x" * padding) if padding else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                             0, 0, 0))
            + text + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _membership(db, user_id, org_id):  # noqa: ANN001, ANN202
    with db.transaction() as s:
        return s.scalar(sa.select(Membership).where(Membership.user_id == user_id,
                                                    Membership.organization_id == org_id))


# --- members -------------------------------------------------------------------------------

def test_members_page_lists_the_organizations_members_only(client, session, admin):
    org = session.get(Organization, admin.organization_id)
    person(session, org, "supplier", email="colleague@example.test", name="Kalle Kollega")
    other = organization(session, "Muu Oy", retailer=True)
    person(session, other, "admin", "retailer", email="stranger@example.test")
    log_in(client, admin)
    page = client.get("/admin/members").get_data(as_text=True)
    assert "Kalle Kollega" in page and "colleague@example.test" in page
    assert "stranger@example.test" not in page
    # only the roles the organization has are offered (it is no retailer)
    assert 'name="perm_supplier"' in page and 'name="perm_retailer"' not in page


def test_admin_changes_a_members_permissions(client, db, session, admin):
    org = session.get(Organization, admin.organization_id)
    colleague = person(session, org, "supplier", email="colleague@example.test")
    log_in(client, admin)
    response = post(client, f"/admin/members/{colleague.user_id}/permissions",
                    {"perm_admin": "1", "perm_supplier": "1"}, token_from="/admin/members")
    assert response.status_code == 302
    membership = _membership(db, colleague.user_id, org.id)
    assert membership.is_admin and membership.is_supplier


def test_the_last_admin_cannot_drop_their_own_admin_permission(client, db, admin):
    log_in(client, admin)
    response = post(client, f"/admin/members/{admin.user_id}/permissions",
                    {"perm_supplier": "1"}, token_from="/admin/members")
    assert response.status_code == 302
    page = client.get("/admin/members").get_data(as_text=True)
    assert "Organisaatiolla on oltava ainakin yksi pääkäyttäjä." in page
    assert _membership(db, admin.user_id, admin.organization_id).is_admin


def test_admin_removes_a_member(client, db, session, admin):
    org = session.get(Organization, admin.organization_id)
    colleague = person(session, org, "supplier", email="colleague@example.test")
    log_in(client, admin)
    response = post(client, f"/admin/members/{colleague.user_id}/remove",
                    token_from="/admin/members")
    assert response.status_code == 302
    assert _membership(db, colleague.user_id, org.id) is None


def test_another_organizations_member_cannot_be_edited_or_removed(client, db, session, admin):
    other = organization(session, "Muu Oy", retailer=True)
    stranger = person(session, other, "retailer", email="stranger@example.test")
    log_in(client, admin)
    changed = post(client, f"/admin/members/{stranger.user_id}/permissions",
                   {"perm_admin": "1", "perm_retailer": "1"}, token_from="/admin/members")
    removed = post(client, f"/admin/members/{stranger.user_id}/remove",
                   token_from="/admin/members")
    assert changed.status_code == 404 and removed.status_code == 404
    membership = _membership(db, stranger.user_id, other.id)
    assert membership is not None and not membership.is_admin


# --- API accounts --------------------------------------------------------------------------

def test_api_account_secret_is_shown_once_and_the_account_can_be_revoked(client, db, admin):
    log_in(client, admin)
    response = post(client, "/admin/api-accounts", {"name": "Varasto ERP"},
                    token_from="/admin/api-accounts")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    with db.transaction() as s:
        account = s.scalar(sa.select(ApiAccount))
        name, secret_hash = account.account, account.secret_hash
    secret = page.split('<code id="new-secret">')[1].split("</code>")[0]
    assert len(secret) >= 32 and secret not in secret_hash
    listing = client.get("/admin/api-accounts").get_data(as_text=True)
    assert name in listing and secret not in listing

    revoked = post(client, f"/admin/api-accounts/{name}/revoke", token_from="/admin/api-accounts")
    assert revoked.status_code == 302
    with db.transaction() as s:
        assert s.scalar(sa.select(ApiAccount.revoked_at)) is not None
    from core.api_accounts import AuthenticationFailed, authenticate

    with db.transaction() as s:
        try:
            authenticate(s, name, secret)
        except AuthenticationFailed:
            pass
        else:
            raise AssertionError("a revoked account still authenticates")


def test_api_account_needs_a_name(client, admin):
    log_in(client, admin)
    response = post(client, "/admin/api-accounts", {"name": " "}, token_from="/admin/api-accounts")
    assert response.status_code == 422


def test_another_organizations_api_account_cannot_be_revoked(client, db, session, admin):
    from core.api_accounts import create_api_account
    from core.principal import SYSTEM

    other = organization(session, "Muu Oy", retailer=True)
    account, _ = create_api_account(session, SYSTEM, organization_id=other.id, name="Theirs")
    session.commit()
    log_in(client, admin)
    response = post(client, f"/admin/api-accounts/{account.account}/revoke", token_from="/")
    assert response.status_code == 404
    with db.transaction() as s:
        assert s.scalar(sa.select(ApiAccount.revoked_at)) is None


# --- profile and logo ----------------------------------------------------------------------

def test_admin_updates_the_profile_and_uploads_a_png_logo(client, db, admin):
    log_in(client, admin)
    response = post(client, "/admin/profile",
                    {"name": "Toimittaja Oyj", "description": "Laadukkaita tuotteita",
                     "website": "https://toimittaja.example", "ships_to": "fi, se EE",
                     "street_address": "Katu 1", "postal_code": "00100",
                     "post_office": "Helsinki", "email": "info@toimittaja.example",
                     "telephone": "+358 9 123", "logo": (__import__("io").BytesIO(_png()),
                                                          "logo.png")},
                    token_from="/admin/profile", content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    with db.transaction() as s:
        org = s.get(Organization, admin.organization_id)
        assert org.name == "Toimittaja Oyj" and org.ships_to == ["FI", "SE", "EE"]
        assert org.logo_content_type == "image/png"
    logo = client.get(f"/organizations/{admin.organization_id}/logo")
    assert logo.status_code == 200 and logo.headers["Content-Type"] == "image/png"
    assert logo.data == _png()


def _upload(client, data: bytes, filename: str):  # noqa: ANN001, ANN202
    import io

    return post(client, "/admin/profile", {"name": "Toimittaja Oy",
                                           "logo": (io.BytesIO(data), filename)},
                token_from="/admin/profile", content_type="multipart/form-data")


def test_logo_that_is_not_png_or_jpeg_is_refused_whatever_its_name(client, admin):
    log_in(client, admin)
    response = _upload(client, b"<svg xmlns='http://www.w3.org/2000/svg'/>", "logo.png")
    assert response.status_code == 422
    assert "PNG- tai JPEG-kuva" in response.get_data(as_text=True)


def test_logo_with_png_magic_but_broken_content_is_refused(client, admin):
    log_in(client, admin)
    assert _upload(client, _png()[:40], "cut.png").status_code == 422
    assert _upload(client, _png(width=2, height=2), "tiny.png").status_code == 422


def test_too_large_logo_is_refused(client, admin):
    from core.parties import MAX_LOGO_BYTES

    log_in(client, admin)
    response = _upload(client, _png(padding=MAX_LOGO_BYTES), "big.png")
    assert response.status_code == 422


def test_profile_errors_are_shown_by_their_fields(client, admin):
    log_in(client, admin)
    response = post(client, "/admin/profile", {"name": "", "website": "not a url"},
                    token_from="/admin/profile")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="f-website-error"' in page and 'id="f-name-error"' in page
    assert "Anna osoite, joka alkaa https://." in page and "Anna nimi." in page


def test_a_retailers_logo_is_not_shown_to_other_organizations(client, session, admin):
    retailer = organization(session, "Kauppa Oy", retailer=True)
    retailer.logo, retailer.logo_content_type = _png(), "image/png"
    supplier = organization(session, "Toinen Toimittaja", supplier=True)
    supplier.logo, supplier.logo_content_type = _png(), "image/png"
    session.commit()
    log_in(client, admin)
    assert client.get(f"/organizations/{retailer.id}/logo").status_code == 404
    assert client.get(f"/organizations/{supplier.id}/logo").status_code == 200


def test_home_page_lists_the_organizations_basics(client, admin):
    log_in(client, admin)
    page = client.get("/").get_data(as_text=True)
    assert "Toimittaja Oy" in page and "Y-tunnus" in page
    assert "Ei vielä valmis" not in page  # every role's pages exist now: no placeholder left
