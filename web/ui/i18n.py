"""Languages of the browser UI (Flask-Babel): Finnish and English.

The catalogs are kept as ``.po`` text in ``web/ui/translations`` and compiled to ``.mo`` when the
app starts, into ``<instance dir>/translations`` (only when a catalog changed), so a fresh clone
works after ``pip install -e .`` with no build step and no binary files in the repository.

The language of a request: the one picked with the language switch in this browser, else the
user's own setting, else the browser's ``Accept-Language``, else Finnish.

Maintaining the catalogs (strings are written in English in code and templates)::

    pybabel extract -F web/ui/babel.cfg -o /tmp/messages.pot web/ui
    pybabel update -i /tmp/messages.pot -d web/ui/translations

``tests/ui/test_i18n.py`` fails when a string of the code has no translation in a catalog.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, request, session
from flask_babel import Babel

SUPPORTED = ("fi", "en")
DEFAULT = "fi"
SESSION_KEY = "lang"
SOURCE_DIR = Path(__file__).parent / "translations"


def catalog_paths() -> dict[str, Path]:
    """The ``.po`` file of every supported language."""
    return {lang: SOURCE_DIR / lang / "LC_MESSAGES" / "messages.po" for lang in SUPPORTED}


def compile_catalogs(target: Path) -> Path:
    """Compile every ``.po`` into ``target/<lang>/LC_MESSAGES/messages.mo`` and return
    ``target``. A catalog is rewritten only when its source changed (a digest is kept beside
    it); the write is atomic, so several processes starting at once do not see half a file."""
    for lang, po_path in catalog_paths().items():
        source = po_path.read_bytes()
        digest = hashlib.sha256(source).hexdigest()
        out_dir = target / lang / "LC_MESSAGES"
        stamp = out_dir / "messages.sha256"
        if stamp.exists() and stamp.read_text() == digest and (out_dir / "messages.mo").exists():
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        fd, tmp = tempfile.mkstemp(dir=out_dir, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        os.replace(tmp, out_dir / "messages.mo")
        stamp.write_text(digest)
    return target


def select_locale() -> str:
    chosen = session.get(SESSION_KEY)
    if chosen in SUPPORTED:
        return chosen
    user_language = getattr(g, "ui_user_language", None)
    if user_language in SUPPORTED:
        return user_language
    return request.accept_languages.best_match(SUPPORTED) or DEFAULT


def init_app(app: Flask) -> None:
    """Set up Flask-Babel with the compiled catalogs (called when the UI blueprint is
    registered; an app that already has Babel keeps it)."""
    if "babel" in app.extensions:
        return
    settings = app.config["GLUE_SETTINGS"]
    try:
        compiled = compile_catalogs(Path(settings.instance_dir) / "translations")
    except OSError:  # a read-only instance folder: compile into this process's own folder
        compiled = compile_catalogs(Path(tempfile.mkdtemp(prefix="glue-translations-")))
    Babel(app, locale_selector=select_locale, default_locale=DEFAULT,
          default_translation_directories=str(compiled))
