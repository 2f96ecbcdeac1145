"""The start page: the active organization's basics and where to go from here."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import render_template

from core.access import active_catalog_ids
from core.db import utcnow
from core.models import Catalog, Invitation, Membership, Organization, Product
from web.ui import bp
from web.ui.context import current, requires, transaction


@bp.get("/")
@requires()
def home() -> Any:
    ui = current()
    org_id = ui.organization_id
    with transaction() as s:
        organization = s.get(Organization, org_id)
        facts: dict[str, Any] = {
            "name": organization.name, "business_id": organization.business_id,
            "is_supplier": organization.is_supplier, "is_retailer": organization.is_retailer,
            "members": s.scalar(sa.select(sa.func.count()).select_from(Membership)
                                .where(Membership.organization_id == org_id)),
        }
        if ui.can("admin"):
            facts["pending_invitations"] = s.scalar(
                sa.select(sa.func.count()).select_from(Invitation).where(
                    Invitation.organization_id == org_id, Invitation.used_at.is_(None),
                    Invitation.revoked_at.is_(None), Invitation.expires_at > utcnow()))
        if ui.can("supplier"):
            facts["products"] = s.scalar(sa.select(sa.func.count()).select_from(Product)
                                         .where(Product.supplier_id == org_id))
            facts["catalogs"] = s.scalar(sa.select(sa.func.count()).select_from(Catalog)
                                         .where(Catalog.supplier_id == org_id))
        if ui.can("retailer"):
            facts["active_catalogs"] = len(active_catalog_ids(s, org_id))
    return render_template("ui/home.html", facts=facts)
