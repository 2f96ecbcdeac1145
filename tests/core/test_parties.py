"""Organizations: business IDs, creation with roles, the public profile."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core import catalogs, parties
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.models import Catalog, Organization
from core.principal import SYSTEM
from tests import factories as f
from tests.factories import events

# --- business IDs --------------------------------------------------------------------------

@pytest.mark.parametrize("given, expected", [
    ("0737546-2", "0737546-2"),        # Posti Group Oyj
    ("07375462", "0737546-2"),         # without the hyphen
    ("FI07375462", "0737546-2"),       # the VAT form
    (" fi0737546-2 ", "0737546-2"),
    ("737546-2", "0737546-2"),         # a 6-digit body is zero-padded
    ("0112038-9", "0112038-9"),        # Nokia Oyj
    ("1234567-1", "1234567-1"),        # remainder 10 → 1
])
def test_finnish_business_ids_are_normalised(given, expected):
    # given an accepted spelling / when normalised / then the canonical NNNNNNN-C
    assert parties.normalize_business_id(given) == expected


def test_check_digit_zero_is_accepted():
    # given a body whose weighted sum is divisible by 11
    body = next(f"{n:07d}" for n in range(1, 10_000) if sum(
        int(d) * w for d, w in zip(f"{n:07d}", (7, 9, 10, 5, 8, 4, 2), strict=True)) % 11 == 0)
    # when / then its check digit is 0
    assert parties.normalize_business_id(f"{body}-0") == f"{body}-0"


@pytest.mark.parametrize("bad", [
    "0737546-3",     # wrong check digit
    "1234567-8",     # wrong check digit
    "0000001-0",     # remainder 1: no valid check digit exists (weights end in 2 → 2 % 11)
    "12345-6",       # too short
    "12345678-9",    # too long
    "1234567",       # no check digit (7 digits are ambiguous without the hyphen)
    "ABCDEFG-H",
    "",
])
def test_bad_finnish_business_ids_are_refused(bad):
    with pytest.raises(ValidationFailed) as info:
        parties.normalize_business_id(bad)
    assert info.value.errors[0]["field"] == "businessId"


def test_remainder_one_body_is_refused_whatever_the_check_digit():
    # given a body whose weighted sum leaves remainder 1
    body = next(f"{n:07d}" for n in range(1, 10_000) if sum(
        int(d) * w for d, w in zip(f"{n:07d}", (7, 9, 10, 5, 8, 4, 2), strict=True)) % 11 == 1)
    # then no check digit makes it valid
    for digit in range(10):
        with pytest.raises(ValidationFailed):
            parties.normalize_business_id(f"{body}-{digit}")


def test_other_countries_ids_are_free_text_with_the_country_prefix():
    assert parties.normalize_business_id(" 556036-0793 ", "se") == "SE-556036-0793"
    assert parties.normalize_business_id("hrb 12345", "DE") == "DE-HRB12345"
    # idempotent: the canonical form normalises to itself
    assert parties.normalize_business_id("SE-556036-0793", "SE") == "SE-556036-0793"


@pytest.mark.parametrize("value, country", [("556036/0793", "SE"), ("", "SE"),
                                            ("123", "SWE"), ("123", "1X")])
def test_bad_foreign_ids_and_countries_are_refused(value, country):
    with pytest.raises(ValidationFailed):
        parties.normalize_business_id(value, country)


# --- organizations -------------------------------------------------------------------------

def test_system_creates_a_supplier_with_its_public_catalog(session):
    # when Glue's administration creates a supplier
    org = parties.create_organization(session, SYSTEM, business_id="07375462", name=" Posti ",
                                      supplier=True, description="Parcels")
    # then the business ID is canonical and the public catalog exists, id without the hyphen
    assert (org.business_id, org.name, org.description) == ("0737546-2", "Posti", "Parcels")
    catalog = session.scalar(sa.select(Catalog).where(Catalog.supplier_id == org.id))
    assert (catalog.external_id, catalog.is_public, catalog.retailer_id) == \
        ("07375462", True, None)
    assert catalogs.public_catalog_of(session, org.id) is catalog
    assert [e.subject_id for e in events(session, "organization.created")] == ["0737546-2"]
    created = events(session, "catalog.created")
    assert [(e.subject_id, e.organization_ids) for e in created] == [("07375462", [org.id])]


def test_a_retailer_gets_no_catalog(session):
    org = parties.create_organization(session, SYSTEM, business_id=f.business_id(), name="Shop",
                                      retailer=True)
    assert org.is_retailer and not org.is_supplier
    assert catalogs.public_catalog_of(session, org.id) is None
    assert session.scalar(sa.select(sa.func.count()).select_from(Catalog)) == 0


def test_only_system_creates_organizations(session):
    admin = f.acting(f.retailer(session), "admin", "retailer")
    with pytest.raises(Forbidden):
        parties.create_organization(session, admin, business_id=f.business_id(), name="X")


def test_a_business_id_is_registered_once(session):
    bid = f.business_id()
    parties.create_organization(session, SYSTEM, business_id=bid, name="A")
    with pytest.raises(Conflict):
        parties.create_organization(session, SYSTEM, business_id=bid.replace("-", ""), name="B")


def test_creation_refuses_bad_input(session):
    with pytest.raises(ValidationFailed):
        parties.create_organization(session, SYSTEM, business_id="1234567-8", name="X")
    with pytest.raises(ValidationFailed):
        parties.create_organization(session, SYSTEM, business_id=f.business_id(), name=" ")
    with pytest.raises(ValidationFailed):
        parties.create_organization(session, SYSTEM, business_id=f.business_id(), name="X",
                                    colour="red")
    assert session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 0


def test_public_catalog_id_stays_unique_when_taken(session):
    # given a private catalog that already holds the id a new supplier's public catalog wants
    bid = f.business_id()
    squatter = f.private_catalog(session, f.supplier(session), f.retailer(session))
    squatter.external_id = bid.replace("-", "")
    session.flush()
    # when the supplier is created
    org = parties.create_organization(session, SYSTEM, business_id=bid, name="Late",
                                      supplier=True)
    # then its public catalog takes a suffixed id
    catalog = f.public_catalog(session, org)
    assert catalog.external_id == bid.replace("-", "") + "-2"


def test_giving_the_supplier_role_later_creates_the_public_catalog_once(session):
    org = parties.create_organization(session, SYSTEM, business_id=f.business_id(), name="R",
                                      retailer=True)
    parties.set_roles(session, SYSTEM, org.id, supplier=True)
    parties.set_roles(session, SYSTEM, org.id, supplier=True)  # no change, no second catalog
    assert (org.is_supplier, org.is_retailer) == (True, True)
    assert f.public_catalog(session, org).external_id == org.business_id.replace("-", "")
    changes = events(session, "organization.roles_changed")
    assert [e.data for e in changes] == [{"supplier": True, "retailer": True}]
    # taking the role away keeps the catalog
    parties.set_roles(session, SYSTEM, org.id, supplier=False)
    assert not org.is_supplier and f.public_catalog(session, org)


def test_set_roles_refusals(session):
    org = f.retailer(session)
    with pytest.raises(Forbidden):
        parties.set_roles(session, f.acting(org, "admin"), org.id, supplier=True)
    with pytest.raises(NotFound):
        parties.set_roles(session, SYSTEM, org.id + 1000, supplier=True)


def test_organization_by_business_id(session):
    org = f.supplier(session)
    assert parties.organization_by_business_id(session, org.business_id.replace("-", "")) is org
    with pytest.raises(NotFound):
        parties.organization_by_business_id(session, f.business_id())


# --- the profile ---------------------------------------------------------------------------

def _png() -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (64, 32), "teal").save(buffer, format="PNG")
    return buffer.getvalue()


def test_admin_updates_the_profile(session):
    org = f.supplier(session)
    admin = f.acting(org, "admin")
    # when the admin updates profile and address
    parties.update_profile(session, admin, description="Tools", website="https://tools.example",
                           ships_to=["fi", "SE", "fi"], street_address="Katu 1",
                           logo=_png(), logo_content_type="image/jpeg")
    # then the values are cleaned, the logo's type is read from its bytes, and one event lists
    # the changed fields
    assert (org.description, org.ships_to, org.logo_content_type) == \
        ("Tools", ["FI", "SE"], "image/png")
    (event,) = events(session, "organization.profile_updated")
    assert event.data["fields"] == ["description", "logo", "logo_content_type", "ships_to",
                                    "street_address", "website"]
    # an unchanged update records nothing
    parties.update_profile(session, admin, description="Tools")
    assert len(events(session, "organization.profile_updated")) == 1


def test_profile_refusals(session):
    org, other = f.supplier(session), f.supplier(session)
    with pytest.raises(Forbidden):  # not an admin
        parties.update_profile(session, f.acting(org, "supplier"), description="x")
    with pytest.raises(Forbidden):  # wrong tenant
        parties.update_profile(session, f.acting(org, "admin"), organization_id=other.id,
                               description="x")
    with pytest.raises(ValidationFailed) as info:
        parties.update_profile(session, f.acting(org, "admin"), website="ftp://x",
                               ships_to=["FIN"], logo=b"<svg/>", logo_content_type="image/svg",
                               email="nope", shoe_size=42)
    assert {e["field"] for e in info.value.errors} == \
        {"website", "ships_to", "logo", "email", "shoe_size"}
    with pytest.raises(ValidationFailed):  # SYSTEM must name the organization
        parties.update_profile(session, SYSTEM, description="x")
    parties.update_profile(session, SYSTEM, organization_id=other.id, description="ok")
    assert other.description == "ok" and org.description == ""
