"""The test suite stands alone: its sample files live in the project, never beside it."""
from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import TESTDATA
from tests.workflows.invoice.conftest_parse import FACTURX_PDF, XRECHNUNG_FILES, ZUGFERD_XML_FILES

ROOT = Path(__file__).resolve().parents[1]


def test_sample_invoices_are_the_projects_own_copies() -> None:
    assert TESTDATA.is_relative_to(ROOT)
    # a glob over a missing folder is empty and would silently parametrize nothing
    assert len(XRECHNUNG_FILES) == 20 and len(ZUGFERD_XML_FILES) == 8 and FACTURX_PDF.is_file()
    for folder, licence in (("xrechnung", "LICENSE"), ("zugferd", "LICENSE-drafthorse-samples"),
                            ("zugferd", "LICENSE-factur-x-fixture")):
        assert (TESTDATA / folder / licence).is_file()


def test_nothing_reads_the_shared_folder() -> None:
    pattern = re.compile(r"""\.\./shared|/\s*["']shared["']""")  # a path into the folder beside the project
    places = [ROOT / ".ci" / "run", *ROOT.glob("tests/**/*.py"), *ROOT.glob("benchmarks/*.py"),
              *ROOT.glob("eakte/**/*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in places
                 if p != Path(__file__).resolve() and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
