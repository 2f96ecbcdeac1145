"""A retailer's shop connections as the retailer manages them: list them, read one, and save
its settings.

The settings' schema belongs to the connectors (``connectors.base.ConnectionSettings``); core
stays below the connectors and takes the settings as the JSON they validated. What core
decides here is who may do what (DESIGN.md 2: a retailer's admins manage its shop
connections; another retailer's connection does not exist for the actor) and the rules any
face of Glue must keep when saving: only catalogs the retailer has active access to are
published, the connector's own ``platform`` state is never overwritten by the merchant, and a
``linked`` connection becomes ``active`` once its settings are saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import events
from core.access import active_catalogs_query
from core.db import utcnow
from core.errors import NotFound, ValidationFailed
from core.models import Catalog, ShopConnection
from core.principal import Principal


def list_connections(session: Session, actor: Principal) -> list[ShopConnection]:
    """The actor's retailer's shop connections, by platform and shop. Needs ``retailer``."""
    actor.require("retailer")
    return list(session.scalars(
        sa.select(ShopConnection)
        .where(ShopConnection.retailer_id == actor.require_org())
        .order_by(ShopConnection.platform, ShopConnection.shop, ShopConnection.id)))


def get_connection(session: Session, actor: Principal, key: str) -> ShopConnection:
    """One of the actor's retailer's connections by its public key; another retailer's
    connection, or an unknown key, is ``NotFound``. Needs ``retailer``."""
    actor.require("retailer")
    found = session.scalar(sa.select(ShopConnection).where(
        ShopConnection.key == key, ShopConnection.retailer_id == actor.require_org()))
    if found is None:
        raise NotFound(f"no shop connection {key}")
    return found


def publishable_catalogs(session: Session, actor: Principal) -> list[Catalog]:
    """The catalogs the actor's retailer may publish into a shop: those with active access
    (public ones accepted by the supplier, its own active private ones), by name."""
    actor.require("retailer")
    ids = active_catalogs_query(actor.require_org()).subquery()
    return list(session.scalars(sa.select(Catalog).where(Catalog.id.in_(sa.select(ids)))
                                .order_by(Catalog.name, Catalog.id)))


def save_settings(session: Session, actor: Principal, key: str,
                  settings: Mapping[str, Any]) -> ShopConnection:
    """Store ``settings`` (the JSON of a validated ``ConnectionSettings``) on the connection.

    Needs ``retailer`` and ``admin``. A catalog without active access is refused with a
    ``ValidationFailed`` on ``catalogs`` (it would publish nothing, and its prices are not the
    retailer's to see). The stored ``platform`` state is kept whatever ``settings`` holds. A
    ``linked`` connection becomes ``active``; the change is an event for the retailer.
    """
    actor.require("retailer")
    actor.require("admin")
    connection = get_connection(session, actor, key)
    chosen = [str(c) for c in settings.get("catalogs") or []]
    allowed = {c.external_id for c in publishable_catalogs(session, actor)}
    unknown = sorted(set(chosen) - allowed)
    if unknown:
        raise ValidationFailed(
            f"no active access to catalog {', '.join(unknown)}",
            [{"field": "catalogs", "message": "only catalogs with active access are published"}])
    platform = dict((connection.settings or {}).get("platform") or {})
    connection.settings = {**dict(settings), "platform": platform}
    if connection.status == "linked":
        connection.status = "active"
    connection.updated_at = utcnow()
    events.record(session, actor, "shop_connection.settings_changed", "shop_connection",
                  connection.key, [connection.retailer_id])
    session.flush()
    return connection
