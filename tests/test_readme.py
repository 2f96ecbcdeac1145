"""The README is part of the product: every setting Glue reads is documented there."""

from __future__ import annotations

import re
from pathlib import Path

from core.settings import Settings
from webhooks.settings import SpineSettings

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("core", "web", "webhooks", "connectors", "glue", "documents", "sandbox")
ENV_READ = re.compile(r"""environ(?:\.get)?[\(\[]\s*["'](GLUE_[A-Z0-9_]+)["']""")


def _settings_read_by_the_code() -> set[str]:
    names = {f"GLUE_{name.upper()}" for cls in (Settings, SpineSettings)
             for name in cls.model_fields}
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(ENV_READ.findall(path.read_text()))
    return names


def test_every_setting_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`(GLUE_[A-Z0-9_]+)`", readme))
    missing = sorted(_settings_read_by_the_code() - documented)
    assert not missing, f"settings missing from the README: {missing}"


def test_the_readme_names_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
