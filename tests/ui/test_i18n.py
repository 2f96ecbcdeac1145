"""Finnish and English: complete catalogs, and the language chosen per request."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

from tests.ui.conftest import log_in, post
from web.ui import i18n

UI_DIR = Path(i18n.__file__).parent
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
# modules outside web/ui whose messages the UI shows (marked with N_)
SHOWN_BY_THE_UI = [UI_DIR.parent.parent / "core" / "product_files.py"]


def _source_strings() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(UI_DIR), METHODS):
        found.add(message if isinstance(message, str) else message[0])
    for path in SHOWN_BY_THE_UI:
        for _line, message, _comments, _context in extract_from_file(
                "python", str(path), keywords={"N_": None}):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_the_source_has_strings_to_translate():
    strings = _source_strings()
    assert "Log in to Glue" in strings and "Organization profile" in strings
    assert len(strings) > 100


def test_every_string_of_the_ui_is_translated_in_every_language():
    strings = _source_strings()
    for lang, path in i18n.catalog_paths().items():
        catalog = read_po(io.BytesIO(path.read_bytes()), locale=lang)
        translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
        missing = sorted(strings - translated)
        assert not missing, f"{lang}: untranslated {missing[:10]}"


def test_placeholders_survive_translation():
    catalog = read_po(io.BytesIO(i18n.catalog_paths()["fi"].read_bytes()), locale="fi")
    for message in catalog:
        if message.id and "%(" in message.id:
            names = sorted(p.split(")")[0] for p in message.id.split("%(")[1:])
            assert sorted(p.split(")")[0] for p in message.string.split("%(")[1:]) == names


def test_finnish_is_the_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="fi">' in page and "Kirjaudu Glueen" in page


def test_browser_language_is_used(client):
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.8"}).get_data(
        as_text=True)
    assert '<html lang="en">' in page and "Log in to Glue" in page


def test_users_own_language_wins_over_the_browsers(client, session, admin):
    from core.models import User

    session.get(User, admin.user_id).language = "en"
    session.commit()
    log_in(client, admin)
    page = client.get("/", headers={"Accept-Language": "fi"}).get_data(as_text=True)
    assert "Business ID" in page


def test_language_switch_sets_this_browsers_language(client):
    response = post(client, "/language", {"language": "en", "next": "/login"})
    assert response.headers["Location"] == "/login"
    page = client.get("/login", headers={"Accept-Language": "fi"}).get_data(as_text=True)
    assert "Log in to Glue" in page


def test_catalogs_compile_once_and_again_when_a_catalog_changes(tmp_path, monkeypatch):
    source = tmp_path / "src"
    for lang, path in i18n.catalog_paths().items():
        target = source / lang / "LC_MESSAGES"
        target.mkdir(parents=True)
        (target / "messages.po").write_bytes(path.read_bytes())
    monkeypatch.setattr(i18n, "SOURCE_DIR", source)
    out = tmp_path / "out"
    i18n.compile_catalogs(out)
    mo = out / "fi" / "LC_MESSAGES" / "messages.mo"
    first = mo.stat().st_mtime_ns
    i18n.compile_catalogs(out)
    assert mo.stat().st_mtime_ns == first
    po = source / "fi" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text().replace('msgstr "Kirjaudu Glueen"', 'msgstr "Sisään"'))
    i18n.compile_catalogs(out)
    from babel.support import Translations

    assert Translations.load(str(out), ["fi"]).gettext("Log in to Glue") == "Sisään"
