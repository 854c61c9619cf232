"""pyproject.toml holds all of the package's metadata; this file only adds one build step.

build_py compiles the translation catalogues eakte/translations/<locale>/LC_MESSAGES/*.po into .mo files (which
are never committed): into the build directory for a wheel (`pip install .`), and next to the .po in the source
tree for an editable install (`pip install -e .`), where the package is imported from the source tree. After
changing a .po in a checkout, run `pip install -e .` again; eakte/web/i18n.py also compiles a catalogue whose
.mo is missing or older than its .po at start (into the data directory), so a stale checkout never shows German
where English was translated."""
from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
CATALOGUES = "eakte/translations/*/LC_MESSAGES/*.po"


def compile_catalogue(po: Path, mo: Path) -> None:
    from babel.messages.mofile import write_mo  # a build requirement ([build-system].requires)
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalogue = read_po(f)
    mo.parent.mkdir(parents=True, exist_ok=True)
    with mo.open("wb") as f:
        write_mo(f, catalogue)  # fuzzy entries are left out: they fall back to the German msgid


class BuildPyWithCatalogues(build_py):
    def run(self) -> None:
        super().run()
        target = ROOT if self.editable_mode else Path(self.build_lib)
        for po in sorted(ROOT.glob(CATALOGUES)):
            compile_catalogue(po, target / po.relative_to(ROOT).with_suffix(".mo"))


setup(cmdclass={"build_py": BuildPyWithCatalogues})
