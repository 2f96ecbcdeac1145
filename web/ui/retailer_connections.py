"""The retailer's shop connections.

- ``/retailer/connections``: the retailer's ``ShopConnection`` rows with their state, and how to
  connect a shop: Shopify (the app is installed from the shop's admin, which opens Glue's
  signed ``/connect/shopify/install``), WooCommerce (``/connect/woocommerce/install``, or keys by
  hand at ``/connect/woocommerce/manual``) and Magento (the integration's callback URL
  ``/connect/magento/callback`` and identity link URL ``/connect/magento/link``).
  Each connection shows its sync health (``connectors.sync.health``): the last sync and order
  poll, products in the shop, orders imported, deliveries waiting, and every failure, with a
  retry button for admins (``/retailer/connections/<key>/retry``).
- ``/retailer/connections/<key>/settings``: the connection's ``connectors.base.
  ConnectionSettings``: catalogs to publish (only those with active access), auto-publish,
  pricing rule with an example price computed by ``connectors.pricing``, stock buffer,
  end-of-sale behaviour and order forwarding. The connector's own ``platform`` state is kept
  as it is.

Listing needs the ``retailer`` permission; changing a connection's settings also ``admin``
(an organization's admins manage its shop connections, DESIGN.md 2). Another retailer's
connection is 404.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from pydantic import ValidationError
from sqlalchemy.orm import Session

from connectors import sync
from connectors.base import ConnectionSettings
from connectors.pricing import ENDINGS, PricingRule, retail_price
from core.connections import get_connection, list_connections, publishable_catalogs, save_settings
from core.db import utcnow
from core.errors import Forbidden, NotFound, ValidationFailed
from core.models import ShopConnection
from web.ui import bp
from web.ui.context import current, requires, transaction
from web.ui.forms import field_errors, say
from webhooks.receiver import current_spine

PLATFORMS = ("shopify", "woocommerce", "magento")
EXAMPLE_WHOLESALE = Decimal("10.00")
EXAMPLE_RECOMMENDED = Decimal("24.90")


def _connection(s: Session, key: str) -> ShopConnection:
    try:
        return get_connection(s, current().principal, key)
    except NotFound:
        abort(404)


def _public(path: str) -> str:
    return current_app.config["GLUE_SETTINGS"].public_url.rstrip("/") + path


@bp.get("/retailer/connections")
@requires("retailer")
def retailer_connections() -> Any:
    ui = current()
    with transaction() as s:
        rows = [{"key": c.key, "platform": c.platform, "shop": c.shop, "status": c.status,
                 "catalogs": ConnectionSettings.from_json(c.settings).catalogs
                 if isinstance(c.settings, dict) else [], "updated_at": c.updated_at,
                 "health": sync.health(s, c)}
                for c in list_connections(s, ui.principal)]
    return render_template(
        "ui/retailer/connections.html", connections=rows, can_manage=ui.can("admin"),
        shopify_app_url=_public("/connect/shopify/install"),
        magento_callback=_public("/connect/magento/callback"),
        magento_link=_public("/connect/magento/link"))


@bp.post("/retailer/connections/<key>/retry")
@requires("retailer")
def retailer_connection_retry(key: str) -> Any:
    """The retry button of the sync health: the engine plans the refused products again, queues
    the failed deliveries again and imports the refused orders again from their stored
    payload (``connectors.sync.retry_failures``); a sync run is then put on the worker's queue
    (should the queue be down, the engine's watchdog starts it within a minute)."""
    _admin()
    with transaction() as s:
        connection = _connection(s, key)
        connection_id = connection.id
        counts = sync.retry_failures(s, connection, now=utcnow())
    if counts["sync"]:
        current_spine().try_enqueue(sync.SYNC, connection_id)
    flash(_("Tried again: %(products)s products, %(orders)s orders and %(deliveries)s "
            "deliveries.", products=counts["listings"], orders=counts["orders"],
            deliveries=counts["fulfilments"]), "success")
    return redirect(url_for("ui.retailer_connections") + f"#health-{key}")


def example_price(rule: PricingRule) -> dict[str, Decimal | None]:
    """What the example product (wholesale 10.00, recommended 24.90; and one without a
    recommended price) costs in the shop under ``rule``."""
    return {"with_recommended": retail_price(rule, wholesale=EXAMPLE_WHOLESALE,
                                             recommended=EXAMPLE_RECOMMENDED),
            "without_recommended": retail_price(rule, wholesale=EXAMPLE_WHOLESALE,
                                                recommended=None)}


def settings_from_form(form: Any, stored: ConnectionSettings,
                       allowed: set[str]) -> tuple[ConnectionSettings | None, dict[str, str]]:
    """The settings a submitted form asks for (``platform`` and the fields the form does not
    show kept from ``stored``), or None and {field: message}."""
    errors: dict[str, str] = {}
    catalogs = [c for c in form.getlist("catalogs") if c]
    if not set(catalogs) <= allowed:
        errors["catalogs"] = _("Choose only catalogs that you have access to.")

    def number(name: str) -> Decimal | None:
        try:
            value = Decimal((form.get(name) or "").strip().replace(",", "."))
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            errors[name] = _("Enter a number.")
        return value

    markup, fixed = number("markup"), number("fixed")
    buffer = (form.get("stock_buffer") or "0").strip()
    if not buffer.isdigit():
        errors["stock_buffer"] = _("Enter a whole number, 0 or more.")
    hold = (form.get("hold_minutes") or "0").strip()
    if not hold.isdigit():
        errors["hold_minutes"] = _("Enter a whole number, 0 or more.")
    if errors:
        return None, errors
    ending = form.get("ending") or None
    try:
        rule = PricingRule(basis=form.get("basis", "recommended_retail"), markup=markup,
                           fixed=fixed, ending=ending)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "basis"
            errors[name if name in ("markup", "fixed", "ending", "basis") else "basis"] = {
                "markup": _("The markup is at least 1."),
                "fixed": _("The fixed amount is 0 or more, with at most two decimals."),
            }.get(name, _("Choose one of the options."))
        return None, errors
    try:
        chosen = ConnectionSettings.model_validate({
            **stored.model_dump(),
            "catalogs": catalogs,
            "auto_publish_new": form.get("auto_publish_new") == "1",
            "pricing": rule.model_dump(),
            "stock_buffer": int(buffer),
            "end_of_sale": form.get("end_of_sale", ""),
            "order_forwarding": {"trigger": form.get("order_trigger", ""),
                                 "hold_minutes": int(hold)},
        })
    except ValidationError as exc:
        for error in exc.errors():
            loc = [str(p) for p in error["loc"]]
            name = {"end_of_sale": "end_of_sale", "order_forwarding": "order_trigger"}.get(
                loc[0] if loc else "", "_form")
            if loc[-1:] == ["hold_minutes"]:
                name = "hold_minutes"
            errors[name] = _("Choose one of the options.") if name != "hold_minutes" \
                else _("At most a week (10080 minutes).")
        return None, errors
    return chosen, {}


def _page(s: Session, connection: ShopConnection, settings: ConnectionSettings,
          errors: dict[str, str], status: int = 200, preview: PricingRule | None = None) -> Any:
    catalogs = [{"external_id": c.external_id, "name": c.name, "supplier": c.supplier.name}
                for c in publishable_catalogs(s, current().principal)]
    rule = preview or settings.pricing
    return render_template(
        "ui/retailer/connection_settings.html",
        connection={"key": connection.key, "platform": connection.platform,
                    "shop": connection.shop, "status": connection.status},
        settings=settings, catalogs=catalogs, errors=errors, endings=ENDINGS,
        example=example_price(rule), example_wholesale=EXAMPLE_WHOLESALE,
        example_recommended=EXAMPLE_RECOMMENDED), status


def _admin() -> None:
    if not current().can("admin"):
        abort(403)


@bp.get("/retailer/connections/<key>/settings")
@requires("retailer")
def retailer_connection_settings(key: str) -> Any:
    _admin()
    with transaction() as s:
        connection = _connection(s, key)
        return _page(s, connection, ConnectionSettings.from_json(connection.settings), {})


@bp.post("/retailer/connections/<key>/settings")
@requires("retailer")
def retailer_connection_save(key: str) -> Any:
    """Store the settings through ``core.connections.save_settings`` (the ``preview`` button
    only recomputes the example price); this view only reads the form and shows the page."""
    _admin()
    ui = current()
    try:
        with transaction() as s:
            connection = _connection(s, key)
            stored = ConnectionSettings.from_json(connection.settings)
            allowed = {c.external_id for c in publishable_catalogs(s, ui.principal)}
            chosen, errors = settings_from_form(request.form, stored, allowed)
            if chosen is None:
                return _page(s, connection, stored, errors, 400)
            if request.form.get("action") == "preview":
                return _page(s, connection, chosen, {}, preview=chosen.pricing)
            save_settings(s, ui.principal, key, chosen.to_json())
    except Forbidden:
        abort(403)
    except ValidationFailed as exc:  # access to a catalog ended while the form was open
        with transaction() as s:
            connection = _connection(s, key)
            return _page(s, connection, ConnectionSettings.from_json(connection.settings),
                         {k: _("Choose only catalogs that you have access to.")
                          if k == "catalogs" else say(v)
                          for k, v in field_errors(exc).items()}, 400)
    flash(_("The settings were saved."), "success")
    return redirect(url_for("ui.retailer_connection_settings", key=key))
