"""The English catalogue: complete (no empty or fuzzy entries), compilable, in step with the German msgids of the
code, and used by the interface."""
from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from eakte.web import i18n
from tests.web.conftest import post_form

ROOT = Path(__file__).resolve().parents[2]
EN = ROOT / "eakte" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def english() -> list:  # type: ignore[type-arg]
    with EN.open("rb") as f:
        return [m for m in read_po(f, locale="en") if m.id]


def test_every_msgid_has_an_english_translation() -> None:
    messages = english()
    assert len(messages) > 50
    empty = [m.id for m in messages if not m.string]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert empty == [] and fuzzy == []


def test_translations_keep_the_placeholders() -> None:
    wrong = [m.id for m in english() if sorted(PLACEHOLDER.findall(m.id)) != sorted(PLACEHOLDER.findall(m.string))]
    assert wrong == []


def test_catalogue_compiles_and_holds_every_message() -> None:
    with EN.open("rb") as f:
        catalogue = read_po(f, locale="en")
    buf = io.BytesIO()
    write_mo(buf, catalogue)
    buf.seek(0)
    compiled = read_mo(buf)
    assert compiled.get("Anmelden").string == "Sign in"
    assert len([m for m in compiled if m.id]) == len(english())


def test_catalogue_covers_the_msgids_of_the_code() -> None:
    """scripts/update_translations.py --check extracts the msgids and fails on any without English."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "update_translations.py"), "--check"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_outdated_catalogue_is_compiled_at_start(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "translations" / "en" / "LC_MESSAGES"
    source.mkdir(parents=True)
    (source / "messages.po").write_bytes(EN.read_bytes())
    monkeypatch.setattr(i18n, "TRANSLATIONS", tmp_path / "translations")
    directory = i18n.translation_directory(tmp_path / "data")
    assert directory == tmp_path / "data" / "cache" / "translations"  # no .mo beside the .po: compiled now
    with (directory / "en" / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        assert read_mo(f).get("Abmelden").string == "Sign out"
    i18n.compile_catalogue(source / "messages.po", source / "messages.mo")
    assert i18n.translation_directory(tmp_path / "data") == tmp_path / "translations"  # current: used as is


def test_login_page_in_german_and_english(web: FlaskClient) -> None:
    german = web.get("/login").get_data(as_text=True)
    assert '<html lang="de">' in german and "Anmelden" in german and "Benutzername" in german
    assert "Sign in" not in german
    post_form(web, "/language", {"locale": "en", "next": "/login"}, token_from="/login")
    english_page = web.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in english_page and "Sign in" in english_page and "User name" in english_page
    assert "Anmelden" not in english_page and "Benutzername" not in english_page
