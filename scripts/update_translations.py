"""Extract the German msgids of the web interface, bring the English catalogue up to date, list what is untranslated.

    python scripts/update_translations.py          # extract + update eakte/translations/en/.../messages.po
    python scripts/update_translations.py --check  # change nothing; report msgids missing or untranslated

Exit status 1 when any msgid has no English (empty, fuzzy, or not yet in the catalogue), so CI can run --check.
The .mo files are not committed: setup.py compiles them when the package is built or installed."""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "eakte" / "translations"
LOCALES = ("en",)
# The Python side marks strings with gettext (`_`) and lazy_gettext (`_l`); templates use `_` and `gettext`.
KEYWORDS = ["_l", "lazy_gettext", "lazy_ngettext:1,2", "lazy_pgettext:1c,2"]


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(pot: Path) -> None:
    keywords = [arg for k in KEYWORDS for arg in ("-k", k)]
    # No source locations: they change with every edit of a view and would churn the catalogue's diff.
    pybabel("extract", "-F", str(ROOT / "babel.cfg"), *keywords, "--no-location", "--sort-output",
            "--project", "eakte", "-o", str(pot), str(ROOT))


def catalogue_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def update(pot: Path, locale: str) -> None:
    po = catalogue_path(locale)
    if po.exists():
        pybabel("update", "-i", str(pot), "-d", str(TRANSLATIONS), "-l", locale, "--ignore-obsolete",
                "--no-wrap")
    else:
        pybabel("init", "-i", str(pot), "-d", str(TRANSLATIONS), "-l", locale, "--no-wrap")


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def untranslated(message: Message) -> bool:
    strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
    return message.fuzzy or not all(strings)


def problems(catalogue: Catalog, template: Catalog) -> list[str]:
    """msgids of the template the catalogue lacks, then the catalogue's empty or fuzzy ones."""
    missing = [m.id for m in template if m.id and catalogue.get(m.id, m.context) is None]
    pending = [m.id for m in catalogue if m.id and untranslated(m)]
    return [f"missing: {i!r}" for i in missing] + [f"untranslated: {i!r}" for i in pending]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report only, do not change the catalogue")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        extract(pot)
        template = read(pot)
        failed = False
        for locale in LOCALES:
            if not args.check:
                update(pot, locale)
            po = catalogue_path(locale)
            found = problems(read(po, locale), template) if po.exists() else [f"no catalogue {po}"]
            for line in found:
                print(f"{locale}: {line}")
            total = sum(1 for m in template if m.id)
            print(f"{locale}: {total} msgids, {len(found)} need an English text", file=sys.stderr)
            failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
