"""Activation requests: a retailer's access to a supplier's public catalog."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core import catalogs
from core.access import active_catalog_ids
from core.errors import Conflict, Forbidden, IllegalTransition, NotFound, ValidationFailed
from core.models import CatalogAccess
from core.principal import SYSTEM
from tests import factories as f
from tests.factories import events


@pytest.fixture
def stage(session):
    supplier, retailer = f.supplier(session, name="Supplier"), f.retailer(session, name="Shop")
    public = f.public_catalog(session, supplier)
    return supplier, retailer, public, f.acting(supplier), f.acting(retailer)


def test_request_accept_revoke_and_ask_again(session, stage):
    supplier, retailer, public, as_supplier, as_retailer = stage
    # when the retailer asks for access
    access = catalogs.request_access(session, as_retailer, public.external_id, "Hello")
    assert (access.state, access.request_message, access.retailer_id) == \
        ("requested", "Hello", retailer.id)
    assert public.id not in active_catalog_ids(session, retailer.id)
    # and the supplier accepts
    catalogs.decide_access(session, as_supplier, access.id, accept=True, message="Welcome")
    assert (access.state, access.response_message) == ("active", "Welcome")
    assert access.decided_at is not None
    # then the retailer may order from the catalog
    assert public.id in active_catalog_ids(session, retailer.id)
    # when the supplier revokes, access ends; the retailer may ask again
    catalogs.revoke_access(session, as_supplier, access.id, message="Unpaid invoices")
    assert access.state == "revoked"
    assert public.id not in active_catalog_ids(session, retailer.id)
    again = catalogs.request_access(session, as_retailer, public.external_id, "Paid now")
    assert again is access
    assert (access.state, access.request_message, access.response_message,
            access.decided_at) == ("requested", "Paid now", "", None)
    trail = [(e.type, e.data["state"], e.organization_ids) for e in events(session)
             if e.subject_type == "catalog_access"]
    both = sorted([supplier.id, retailer.id])
    assert trail == [("catalog_access.requested", "requested", both),
                     ("catalog_access.accepted", "active", both),
                     ("catalog_access.revoked", "revoked", both),
                     ("catalog_access.requested", "requested", both)]


def test_a_rejected_retailer_may_ask_again(session, stage):
    _, retailer, public, as_supplier, as_retailer = stage
    access = catalogs.request_access(session, as_retailer, public.external_id)
    catalogs.decide_access(session, as_supplier, access.id, accept=False, message="Not now")
    assert (access.state, access.response_message) == ("rejected", "Not now")
    assert public.id not in active_catalog_ids(session, retailer.id)
    assert events(session)[-1].type == "catalog_access.rejected"
    catalogs.request_access(session, as_retailer, public.external_id)
    assert access.state == "requested"


def test_illegal_access_transitions(session, stage):
    _, _, public, as_supplier, as_retailer = stage
    access = catalogs.request_access(session, as_retailer, public.external_id)
    with pytest.raises(IllegalTransition):  # requested → requested
        catalogs.request_access(session, as_retailer, public.external_id)
    with pytest.raises(IllegalTransition):  # requested → revoked
        catalogs.revoke_access(session, as_supplier, access.id)
    catalogs.decide_access(session, as_supplier, access.id, accept=True)
    with pytest.raises(IllegalTransition):  # active → requested
        catalogs.request_access(session, as_retailer, public.external_id)
    with pytest.raises(IllegalTransition):  # active → rejected
        catalogs.decide_access(session, as_supplier, access.id, accept=False)
    catalogs.revoke_access(session, as_supplier, access.id)
    with pytest.raises(IllegalTransition):  # revoked → active without a request
        catalogs.decide_access(session, as_supplier, access.id, accept=True)
    with pytest.raises(IllegalTransition):
        catalogs.revoke_access(session, as_supplier, access.id)


def test_access_refusals(session, stage):
    supplier, retailer, public, as_supplier, as_retailer = stage
    with pytest.raises(Forbidden):  # a supplier acting as itself does not ask for access
        catalogs.request_access(session, as_supplier, public.external_id)
    with pytest.raises(NotFound):
        catalogs.request_access(session, as_retailer, "NO-SUCH")
    private = f.private_catalog(session, supplier, retailer)
    with pytest.raises(IllegalTransition):
        catalogs.request_access(session, as_retailer, private.external_id)
    with pytest.raises(NotFound):  # another retailer's private catalog stays hidden
        catalogs.request_access(session, f.acting(f.retailer(session)), private.external_id)
    both = f.org(session, supplier=True, retailer=True)
    with pytest.raises(ValidationFailed):
        catalogs.request_access(session, f.acting(both),
                                f.public_catalog(session, both).external_id)
    access = catalogs.request_access(session, as_retailer, public.external_id)
    # only the catalog's supplier decides: not the retailer, not another supplier
    with pytest.raises(Forbidden):
        catalogs.decide_access(session, as_retailer, access.id, accept=True)
    with pytest.raises(NotFound):
        catalogs.decide_access(session, f.acting(f.supplier(session)), access.id, accept=True)
    with pytest.raises(NotFound):
        catalogs.revoke_access(session, as_supplier, access.id + 1000)
    assert access.state == "requested"


def test_system_may_decide(session, stage):
    _, _, public, _, as_retailer = stage
    access = catalogs.request_access(session, as_retailer, public.external_id)
    catalogs.decide_access(session, SYSTEM, access.id, accept=True)
    assert access.state == "active"
    assert events(session)[-1].actor == "system"


def test_supplier_lists_requests_and_the_retailers_using_each_catalog(session, stage):
    supplier, retailer, public, as_supplier, as_retailer = stage
    pending_shop = f.retailer(session, name="Pending shop")
    first = catalogs.request_access(session, as_retailer, public.external_id)
    catalogs.decide_access(session, as_supplier, first.id, accept=True)
    second = catalogs.request_access(session, f.acting(pending_shop), public.external_id)
    private = f.private_catalog(session, supplier, retailer)
    # access to another supplier's catalog is not listed
    other = f.public_catalog(session, f.supplier(session))
    catalogs.request_access(session, as_retailer, other.external_id)

    assert {a.id for a in catalogs.list_access(session, as_supplier)} == {first.id, second.id}
    assert catalogs.list_access(session, as_supplier, states=("requested",)) == [second]
    assert catalogs.list_access(session, as_supplier, catalog_external_id="NOPE") == []
    assert {a.catalog.external_id for a in catalogs.list_access(session, as_retailer,
                                                                "RETAILER")} == \
        {public.external_id, other.external_id}
    assert catalogs.retailers_by_catalog(session, as_supplier) == {
        public.external_id: [retailer], private.external_id: [retailer]}
    with pytest.raises(Forbidden):
        catalogs.list_access(session, as_retailer)
    with pytest.raises(Forbidden):
        catalogs.retailers_by_catalog(session, as_retailer)


def test_a_racing_first_request_is_a_conflict(session, stage, monkeypatch):
    # given a request that another transaction inserted after this one looked (simulated by
    # hiding the existing row from the lookup)
    _, retailer, public, _, as_retailer = stage
    f.grant(session, public, retailer, state="requested")
    real_scalar = session.scalar

    def lookup_misses(statement, *args, **kwargs):
        if "catalog_access" in str(statement):
            return None
        return real_scalar(statement, *args, **kwargs)

    monkeypatch.setattr(session, "scalar", lookup_misses)
    # when / then the unique pair stops a second row, and the session stays usable
    with pytest.raises(Conflict):
        catalogs.request_access(session, as_retailer, public.external_id)
    monkeypatch.undo()
    assert session.scalar(sa.select(sa.func.count()).select_from(CatalogAccess)) == 1
    assert events(session, "catalog_access.requested") == []
