"""The domain's refusals in the UI's language.

Core speaks English: its messages are also the API's, and core knows nothing of Flask or of the
person's language. The refusals a person can meet on a page are recognised here by their text
(a regular expression per message, with the changing parts as named groups) and said again with
gettext, so that ``pybabel extract`` finds them and ``tests/ui/test_i18n.py`` checks that every
one is translated. ``tests/ui/test_core_messages.py`` reads core's source and fails when a
message the UI can show has no pattern here, so a new or reworded core message is noticed.

A message nobody foresaw is shown as core wrote it: an English sentence is better than none.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _

Say = Callable[[dict[str, str]], str]


def _state(word: str) -> str:
    """A state or status word of a catalog, an activation request, an invitation or a
    shipment, in the UI's language."""
    names: dict[str, Callable[[], str]] = {
        "created": lambda: _("Created"), "in_use": lambda: _("Taken into use"),
        "active": lambda: _("Active"), "deactivated": lambda: _("Deactivated"),
        "requested": lambda: _("Waiting for decision"), "rejected": lambda: _("Rejected"),
        "revoked": lambda: _("Revoked"), "pending": lambda: _("Pending"),
        "used": lambda: _("Accepted"), "expired": lambda: _("Expired"),
    }
    if word in names:
        return names[word]()
    from web.ui.supplier_shipments import status_label  # the shipment pages own these names

    return status_label(word)


def _states_in(text: str) -> str:
    """``R1 (Shipping), R2 (Delivered)`` with the statuses in the UI's language."""
    return re.sub(r"\(([\w ]+)\)", lambda m: f"({_state(m.group(1))})", text)


def _permission(word: str) -> str:
    return {"admin": _("Admin"), "supplier": _("Supplier"),
            "retailer": _("Retailer")}.get(word, word)


# First match wins: the specific patterns come before the general ones they resemble.
_KNOWN: list[tuple[str, Say]] = [
    # --- catalogs and activation requests (core.catalogs) ---
    (r"an activation request for this catalog exists",
     lambda m: _("You have already asked for access to this catalog.")),
    (r"access to catalog (?P<catalog>\S+) is (?P<state>\w+)",
     lambda m: _("Your access to catalog %(catalog)s is %(state)s.", catalog=m["catalog"],
                 state=_state(m["state"]))),
    (r"the activation request is (?P<state>\w+), not requested",
     lambda m: _("The request has already been decided: %(state)s.",
                 state=_state(m["state"]))),
    (r"access is (?P<state>\w+), not active",
     lambda m: _("The access is not active: %(state)s.", state=_state(m["state"]))),
    (r"a private catalog needs no activation request",
     lambda m: _("A private catalog needs no activation request.")),
    (r"a supplier needs no access to its own catalog",
     lambda m: _("A supplier needs no access to its own catalog.")),
    (r"catalog (?P<catalog>\S+) is (?P<state>\w+) by the (?P<side>\w+)",
     lambda m: _("You have already deactivated catalog %(catalog)s.", catalog=m["catalog"])),
    (r"catalog (?P<catalog>\S+) is (?P<state>\w+)(, not \w+)?$",
     lambda m: _("Catalog %(catalog)s is %(state)s, so this step is not possible.",
                 catalog=m["catalog"], state=_state(m["state"]))),
    (r"the \w+ has not deactivated catalog (?P<catalog>\S+)",
     lambda m: _("You have not deactivated catalog %(catalog)s.", catalog=m["catalog"])),
    (r"a public catalog has no lifecycle",
     lambda m: _("A public catalog has no such steps: it uses activation requests.")),
    (r"a catalog needs a name",
     lambda m: _("Give the catalog a name of at most 200 characters.")),
    (r"a private catalog names another organization",
     lambda m: _("A private catalog names another organization than your own.")),
    (r"is not an ISO 4217 currency code",
     lambda m: _("Give the currency as a three-letter code, such as EUR.")),
    (r"must be a whole number",
     lambda m: _("Enter a whole number.")),
    (r"the currency cannot change while products are published",
     lambda m: _("The currency cannot change while products are published in the catalog.")),
    (r"catalog externalId .* is taken",
     lambda m: _("This catalog ID is taken.")),
    (r"is not a catalog externalId",
     lambda m: _("A catalog ID has 1-64 letters, digits, '-' or '.'.")),
    (r"no supplier with business ID",
     lambda m: _("No supplier has this business ID.")),
    (r"only the (?P<side>\w+) may do this",
     lambda m: _("Only the retailer may do this.") if m["side"] == "retailer"
     else _("Only the supplier may do this.")),
    (r"only the catalog's supplier may change it",
     lambda m: _("Only the catalog's supplier may change it.")),
    (r"only a retailer creates private catalogs",
     lambda m: _("Only a retailer creates private catalogs.")),
    # --- organizations, members and invitations (core.parties, core.api_accounts) ---
    (r"at least one admin", lambda m: _("An organization keeps at least one admin.")),
    (r"password has at least", lambda m: _("A password has at least 8 characters.")),
    (r"permissions are some of", lambda m: _("Choose at least one permission.")),
    (r"not an e-mail address", lambda m: _("Enter a valid e-mail address.")),
    (r"is already a member", lambda m: _("This person is already a member.")),
    (r"must be an http(\(s\))? address|must be an http:// or https:// address",
     lambda m: _("Enter an address that starts with https://.")),
    (r"two-letter country codes|country must be a two-letter code",
     lambda m: _("Use two-letter country codes, such as FI.")),
    (r"is not a business ID|is not a Finnish business ID",
     lambda m: _("Enter a business ID such as 1234567-8.")),
    (r"(?P<value>'[^']*') has a wrong check digit",
     lambda m: _("The business ID %(value)s has a wrong check digit.", value=m["value"])),
    (r"an organization with business ID (?P<id>\S+) exists",
     lambda m: _("An organization with business ID %(id)s exists already.", id=m["id"])),
    (r"needs a name|name is required", lambda m: _("Enter a name.")),
    (r"must be text", lambda m: _("Enter text.")),
    (r"not a profile field", lambda m: _("This is not a field of the profile.")),
    (r"cannot be resent", lambda m: _("Only a pending or expired invitation can be sent again.")),
    (r"cannot be revoked", lambda m: _("Only a pending or expired invitation can be withdrawn.")),
    (r"this invitation is (?P<state>\w+)",
     lambda m: _("This invitation is %(state)s.", state=_state(m["state"]))),
    (r"this e-mail has an account",
     lambda m: _("This e-mail address has an account: accept with its password.")),
    (r"an invitation must expire in the future",
     lambda m: _("An invitation must expire in the future.")),
    (r"already revoked", lambda m: _("The API account is already revoked.")),
    (r"language is one of|use one of|unknown language",
     lambda m: _("Choose one of the options.")),
    (r"the profile has errors", lambda m: _("The profile has errors.")),
    (r"the logo is \d+ bytes; at most (?P<max>\d+)",
     lambda m: _("The logo is too large: at most %(max)s bytes.", max=m["max"])),
    (r"the logo is \d+ × \d+ pixels; each side must be (?P<min>\d+) to (?P<max>\d+)",
     lambda m: _("Each side of the logo must be %(min)s to %(max)s pixels.", min=m["min"],
                 max=m["max"])),
    (r"the logo must be a PNG or JPEG image",
     lambda m: _("The logo must be a PNG or JPEG image.")),
    (r"the logo image could not be read", lambda m: _("The logo image could not be read.")),
    (r"needs a permission of the organization",
     lambda m: _("You have no permission for this.")),
    (r"this action is for the admins of that organization",
     lambda m: _("This is for the admins of the organization.")),
    (r"only the user itself may",
     lambda m: _("Only the person themselves may change this.")),
    # --- identifiers (core.validation) ---
    (r"must be a GTIN-8, -12, -13 or -14 code|must have 8, 12, 13 or 14 digits",
     lambda m: _("An EAN code has 8, 12, 13 or 14 digits.")),
    (r"check digit of (?P<code>'[^']*') is wrong",
     lambda m: _("The check digit of EAN code %(code)s is wrong.", code=m["code"])),
    (r"may have at most (?P<n>\d+) characters|at most (?P<m>\d+) characters$",
     lambda m: _("At most %(n)s characters.", n=m["n"] or m["m"])),
    (r"may contain only letters A-Z",
     lambda m: _("Use only the letters A-Z and a-z, digits, '-' and '.'.")),
    (r"may contain only printable ASCII characters",
     lambda m: _("Use only letters without accents, digits and punctuation.")),
    (r"may not start or end with a space",
     lambda m: _("Remove the spaces at the start and the end.")),
    (r"^(\w+ )?(is )?required$", lambda m: _("This field is required.")),
    # --- products and balances (core.inventory) ---
    (r"this supplier has no catalog (?P<catalog>'[^']*')",
     lambda m: _("You have no catalog %(catalog)s.", catalog=m["catalog"])),
    (r"catalog (?P<catalog>'[^']*') is priced in (?P<currency>\w+)",
     lambda m: _("Catalog %(catalog)s is priced in %(currency)s.", catalog=m["catalog"],
                 currency=m["currency"])),
    (r"the product has two balances for this catalog",
     lambda m: _("The product is listed twice for this catalog.")),
    (r"appears more than once in this request",
     lambda m: _("The product appears twice.")),
    (r"this supplier has no product (?P<sku>'[^']*')",
     lambda m: _("You have no product %(sku)s.", sku=m["sku"])),
    (r"product (?P<sku>'[^']*') is not in catalog (?P<catalog>'[^']*')",
     lambda m: _("Product %(sku)s is not in catalog %(catalog)s.", sku=m["sku"],
                 catalog=m["catalog"])),
    (r"(?P<n>\d+) units are reserved by open orders",
     lambda m: _("%(n)s units are reserved by open orders: set the quantity to 0, and remove "
                 "the product when those orders are done.", n=m["n"])),
    (r"must be empty: the catalog is the supplier's public catalog",
     lambda m: _("A public catalog names no retailer.")),
    (r"is not the private catalog of retailer",
     lambda m: _("The catalog is not this retailer's private catalog.")),
    (r"must be the product's externalId or empty",
     lambda m: _("Leave the SKU empty, or give the product's own SKU.")),
    (r"only a supplier organization has an inventory",
     lambda m: _("Only a supplier has products.")),
    # pydantic's messages, as core passes them on for a field
    (r"Input should be greater than or equal to (?P<n>\S+)",
     lambda m: _("Enter at least %(n)s.", n=m["n"])),
    (r"Input should be greater than (?P<n>\S+)",
     lambda m: _("Enter more than %(n)s.", n=m["n"])),
    (r"Input should be less than or equal to (?P<n>\S+)",
     lambda m: _("Enter at most %(n)s.", n=m["n"])),
    (r"Input should be a valid (number|decimal|integer)", lambda m: _("Enter a number.")),
    (r"should have at most (?P<n>\d+) (characters|items)",
     lambda m: _("At most %(n)s characters.", n=m["n"])),
    (r"no more than (?P<n>\d+) decimal places",
     lambda m: _("At most %(n)s decimals.", n=m["n"])),
    (r"Field required", lambda m: _("This field is required.")),
    # --- shipments and tracking codes (core.shipments, core.tracking*) ---
    (r"a (?P<status>[\w ]+) shipment cannot (be|become) ",
     lambda m: _("The shipment is %(status)s; that step is not possible any more.",
                 status=_state(m["status"]))),
    (r"confirm a delivery with the delivered quantity of every row|required for Delivered",
     lambda m: _("Give the delivered quantity of every row (0 if it was not sent).")),
    (r"cancelling a shipment needs a reason|required for Cancelled",
     lambda m: _("Give the reason for cancelling.")),
    (r"a delivery needs at least one parcel|at least one parcel",
     lambda m: _("A delivery needs at least one parcel.")),
    (r"parcel (?P<parcel>\S+) is listed twice",
     lambda m: _("Parcel %(parcel)s is listed twice.", parcel=m["parcel"])),
    (r"tracking codes must not be empty", lambda m: _("A tracking code cannot be empty.")),
    (r"the row is listed twice in this parcel",
     lambda m: _("The row is listed twice in the parcel.")),
    (r"the row is cancelled; deliver 0", lambda m: _("The row is cancelled: deliver 0.")),
    (r"row (?P<row>\S+): (?P<n>\d+) delivered, (?P<ordered>\d+) ordered",
     lambda m: _("Row %(row)s: %(n)s delivered but %(ordered)s ordered.", row=m["row"],
                 n=m["n"], ordered=m["ordered"])),
    (r"row (?P<row>\S+) \((?P<sku>[^)]*)\) is not listed",
     lambda m: _("Row %(row)s (%(sku)s) is missing: give every row, 0 if it was not sent.",
                 row=m["row"], sku=m["sku"])),
    (r"no (row|item) \S+ in this shipment",
     lambda m: _("The row is not in this shipment.")),
    (r"the (parcels|delivery) (are|is) not valid", lambda m: _("The delivery is not valid.")),
    (r"only the supplier of the shipment may change it",
     lambda m: _("Only the shipment's supplier may change it.")),
    (r"sends the tracking codes of its own system",
     lambda m: _("Give every parcel its tracking code: your tracking settings use the codes of "
                 "your own system.")),
    (r"parcel (?P<parcel>\S+) has no tracking code",
     lambda m: _("Parcel %(parcel)s has no tracking code.", parcel=m["parcel"])),
    (r"has no tracking-code range and no free default block",
     lambda m: _("No tracking codes are available: set up a tracking-code range, or give the "
                 "codes of your own system.")),
    (r"the tracking-code range .* codes left",
     lambda m: _("The tracking-code range is used up: set up a new range.")),
    # --- orders and comments (core.orders) ---
    (r"order (?P<order>\S+) has nothing left to cancel",
     lambda m: _("Order %(order)s has nothing left to cancel.", order=m["order"])),
    (r"rows already on their way or final cannot be cancelled: (?P<rows>.*)",
     lambda m: _("Rows already on their way or finished cannot be cancelled: %(rows)s.",
                 rows=_states_in(m["rows"]))),
    (r"order (?P<order>\S+) is already on its way and cannot change",
     lambda m: _("Order %(order)s is already on its way and cannot change.", order=m["order"])),
    (r"order (?P<order>\S+) is cancelled",
     lambda m: _("Order %(order)s is cancelled.", order=m["order"])),
    (r"no row (?P<row>\S+) in order (?P<order>\S+)",
     lambda m: _("Order %(order)s has no row %(row)s.", order=m["order"], row=m["row"])),
    (r"a comment needs a value", lambda m: _("Write the comment first.")),
    (r"^1-64 printable ASCII characters$",
     lambda m: _("Use 1-64 letters without accents, digits and punctuation.")),
    (r"type must be pickingNote or passThrough", lambda m: _("Choose the type of the comment.")),
    (r"comment (?P<id>\S+) already exists on this order",
     lambda m: _("Comment %(id)s already exists on this order.", id=m["id"])),
    (r"the comment is not valid", lambda m: _("The comment is not valid.")),
    (r"only the author's organization may delete a comment|only the retailer may delete",
     lambda m: _("Only the comment's author may delete it.")),
    (r"unknown rows", lambda m: _("The order has no such row.")),
    (r"not enough stock", lambda m: _("Not enough stock.")),
    (r"the order (update )?was rejected", lambda m: _("The order was rejected.")),
    # --- permissions (core.principal) ---
    (r"needs the '(?P<permission>\w+)' permission",
     lambda m: _("This needs the %(permission)s permission.",
                 permission=_permission(m["permission"]))),
    (r"this action needs an organization", lambda m: _("Choose an organization first.")),
]

_COMPILED = [(re.compile(pattern), say) for pattern, say in _KNOWN]


def translate(message: str) -> str | None:
    """``message`` of core in the UI's language, or None when it is not a known one."""
    for pattern, say in _COMPILED:
        match = pattern.search(message)
        if match:
            return say(match.groupdict())
    return None
