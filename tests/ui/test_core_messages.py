"""Core's refusals on the UI's pages are in the person's language (web.ui.core_messages).

Core writes its messages in English (they are also the API's). The UI recognises each one it
can show and says it again with gettext. These tests read core's source for the messages of
the services the UI calls, and fail when one has no translation, so that a new or reworded
message is noticed here rather than by a Finnish user; and they show a refusal of core on a
Finnish page.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask import Flask

from core.models import Organization
from tests import factories
from tests.ui.conftest import log_in, organization, person, post
from web.ui.core_messages import translate

CORE = Path(__file__).resolve().parents[2] / "core"
ERRORS = {"ValidationFailed", "Conflict", "IllegalTransition", "Forbidden", "GlueError",
          "TrackingCodesRequired", "TrackingNotConfigured", "TrackingRangeExhausted"}
HELPERS = {"_invalid", "_fail", "_error"}  # core's (field, message) and (message) builders

# The modules whose services the UI calls, and for the larger ones only the functions it uses
# (the rest is the API's or the connectors').
SHOWN: dict[str, set[str] | None] = {
    "catalogs.py": None, "parties.py": None, "api_accounts.py": None, "logos.py": None,
    "validation.py": None, "inventory.py": None, "tracking.py": None, "principal.py": None,
    "shipments.py": {"_supplier_shipment", "set_shipment_status", "cancel_shipment",
                     "confirm_shipment", "fast_confirm", "_parse_parcels", "_plan_delivery",
                     "_match_row", "_deliver"},
    "tracking_ranges.py": {"allocate_serials"},
    "orders.py": {"get_order", "_order_for_change", "cancel_order", "add_comment",
                  "_add_comment", "_comment_errors"},
}
# Messages of those modules that no page can meet, with why.
NOT_SHOWN = {
    "role is one of 7",  # list_access: the UI names the role itself
    "Glue's administration must name the side it acts for",  # the system actor only
    "7 cannot be changed",  # update_catalog: the UI sends only the fields it has
    "only Glue's administration may create organizations or change roles",  # system only
    "Glue's administration must name the organization",  # system only
    "7 7",  # validation's "{field} {message}" summary; its parts are checked one by one
    "the body must be a list of 7",  # the API's body shape
    "at most 7 7 per request, not 7",  # the API's batch size; UI pages are smaller
    "an item must be an object {product, balances}",  # the API's body shape
    "unknown shipment status '7'", "unknown status",  # the UI offers only the next steps
}


def _render(node: ast.AST) -> str | None:
    """A message literal with every placeholder as ``7`` (``'7'`` for a ``!r`` one), which
    fits the patterns' word, number and quoted groups."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant)
                       else "'7'" if v.conversion == ord("r") else "7" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _render(node.left)
        return None if left is None else left + (_render(node.right) or "7")
    return None


def _messages(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            arg = node.args[0] if name in ERRORS else node.args[-1] if name in HELPERS else None
            if arg is not None and (text := _render(arg)):
                found.append((node.lineno, text))
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "message" \
                        and (text := _render(value)):
                    found.append((node.lineno, text))
    return found


def core_messages() -> list[tuple[str, str]]:
    """(where, message) of every message the UI may show, from core's source."""
    out = []
    for module, functions in SHOWN.items():
        tree = ast.parse((CORE / module).read_text())
        scopes = [tree] if functions is None else [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name in functions]
        assert functions is None or len(scopes) == len(functions), f"{module}: renamed?"
        for scope in scopes:
            out += [(f"core/{module}:{line}", text) for line, text in _messages(scope)
                    if text not in NOT_SHOWN]
    return out


def test_the_source_scan_finds_the_messages():
    messages = {text for _where, text in core_messages()}
    assert len(messages) > 100
    assert "a catalog needs a name of at most 200 characters" in messages
    assert "order 7 has nothing left to cancel" in messages


def test_every_core_message_the_ui_shows_is_said_in_finnish_and_english(app: Flask):
    untranslated = []
    for where, message in core_messages():
        with app.test_request_context(headers={"Accept-Language": "fi"}):
            finnish = translate(message)
        with app.test_request_context(headers={"Accept-Language": "en"}):
            english = translate(message)
        if finnish is None or finnish == english:
            untranslated.append(f"{where}: {message}")
    assert not untranslated, "no Finnish for:\n" + "\n".join(untranslated)


@pytest.mark.parametrize(("message", "finnish"), [
    ("catalog ABC-1 is created, not in_use",
     "Katalogi ABC-1 on tilassa Luotu, joten tämä vaihe ei ole mahdollinen."),
    ("rows already on their way or final cannot be cancelled: R1 (Shipping), R2 (Delivered)",
     "Jo matkalla olevia tai valmiita rivejä ei voi perua: R1 (Lähetetään), R2 (Toimitettu)."),
    ("check digit of '6417182000011' is wrong",
     "EAN-koodin '6417182000011' tarkistusnumero on väärä."),
    ("this action needs the 'admin' permission", "Tähän tarvitaan oikeus Pääkäyttäjä."),
])
def test_the_changing_parts_are_kept_and_state_words_translated(app, message, finnish):
    with app.test_request_context(headers={"Accept-Language": "fi"}):
        assert translate(message) == finnish


def test_an_unknown_message_is_shown_as_core_wrote_it(app):
    from web.ui.forms import say

    with app.test_request_context(headers={"Accept-Language": "fi"}):
        assert say("something nobody foresaw") == "something nobody foresaw"


def test_a_finnish_page_shows_a_core_refusal_in_finnish(client, session, admin):
    # Given a supplier's catalog page in Finnish
    org = session.get(Organization, admin.organization_id)
    page = f"/supplier/catalogs/{factories.public_catalog(session, org).external_id}"
    session.commit()
    log_in(client, admin)
    # When the catalog is saved without a name, which core.catalogs.update_catalog refuses
    response = post(client, f"{page}/settings", {"name": " ", "priority": "0"},
                    token_from=page, follow_redirects=True)
    # Then the page says so in Finnish, not in core's English
    html = response.get_data(as_text=True)
    assert "Anna katalogille nimi, enintään 200 merkkiä." in html
    assert "a catalog needs a name" not in html


def test_a_retailer_asking_twice_is_told_in_finnish(client, session, admin):
    org = session.get(Organization, admin.organization_id)
    shop = organization(session, "Kauppa Oy", retailer=True)
    buyer = person(session, shop, "retailer", email="buyer@example.test")
    session.commit()
    log_in(client, buyer)
    page = f"/retailer/suppliers/{org.business_id}"
    post(client, f"{page}/request", {"message": "Hei"}, token_from=page)
    html = post(client, f"{page}/request", {"message": "Hei taas"}, token_from=page,
                follow_redirects=True).get_data(as_text=True)
    assert "tilassa Odottaa päätöstä" in html and "is requested" not in html
