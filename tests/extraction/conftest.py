from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eakte.extraction import TextExtractor

from . import samples as s


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One genuine file per supported format (and some hostile ones), built once."""
    d = tmp_path_factory.mktemp("samples")
    s.make_pdf(d / "brief.pdf", [s.GERMAN])
    s.make_pdf(d / "mehrseitig.pdf", [f"Seite eins {s.GERMAN}", f"Seite zwei {s.GERMAN_2}", f"Seite drei {s.GERMAN_3}"])
    s.make_encrypted_pdf(d / "verschluesselt.pdf", s.GERMAN)
    (d / "kaputt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<<>>\n%%EOF garbage \x00\xff")
    (d / "bild.png").write_bytes(s.png_bytes())
    (d / "foto.jpg").write_bytes(s.jpeg_bytes())
    (d / "scan.tif").write_bytes(s.tiff_bytes())
    (d / "programm.exe").write_bytes(s.pe_stub_bytes())
    s.make_docx(d / "bescheid.docx", [s.GERMAN, s.GERMAN_2])
    s.make_docx(d / "bescheid_label.docx", [s.GERMAN, s.GERMAN_2], unusual_order=True)
    s.make_docx(
        d / "makro.docx",
        [s.GERMAN],
        main_content_type="application/vnd.ms-word.document.macroEnabled.main+xml",
    )
    s.make_xlsx(d / "liste.xlsx", [s.GERMAN, "Müllabfuhr"], [s.GERMAN_3])
    s.make_xlsx(d / "liste_label.xlsx", [s.GERMAN, "Müllabfuhr"], [s.GERMAN_3], unusual_order=True)
    s.make_odt(d / "vermerk.odt", "Aktenvermerk Überschrift", [s.GERMAN, s.GERMAN_2])
    s.make_odt(d / "vermerk_zip.odt", "Aktenvermerk Überschrift", [s.GERMAN], unusual_order=True)
    s.make_plain_zip(d / "archiv.zip")
    s.make_eml(d / "mail.eml", s.GERMAN, f"Sehr geehrte Damen und Herren,\n{s.GERMAN_2}\nMit freundlichen Grüßen")
    s.make_eml(d / "html.eml", "Nur HTML", s.GERMAN_3, html_only=True)
    (d / "kurz.eml").write_text("From: a@example.org\nTo: b@example.org\nSubject: Hallo\n\nText\n")
    s.make_xml(d / "bescheid.xml", s.GERMAN)
    (d / "ohne_deklaration.xml").write_text(f"<akte><titel>{s.GERMAN}</titel></akte>\n", encoding="utf-8")
    (d / "notiz.txt").write_text(f"{s.GERMAN}\n{s.GERMAN_2}\n", encoding="utf-8")
    (d / "notiz_ansi.txt").write_bytes(f"{s.GERMAN} – Gebühr 5 €\n".encode("cp1252"))
    (d / "notiz_utf16.txt").write_bytes(f"{s.GERMAN}\n".encode("utf-16"))
    (d / "tabelle.csv").write_text("Name;Ort\nMüller;Köln\nSchmidt;Bonn\n", encoding="utf-8")
    (d / "seite.html").write_text("<html><body><p>Hallo</p></body></html>\n", encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def extractor() -> Iterator[TextExtractor]:
    with TextExtractor(timeout_s=30, memory_mb=512) as ex:
        yield ex


@pytest.fixture
def hooked_extractor(monkeypatch: pytest.MonkeyPatch) -> Iterator[TextExtractor]:
    """An extractor whose workers honour the test hooks (see eakte.extraction.testhooks)."""
    monkeypatch.setenv("EAKTE_EXTRACTION_TEST_HOOKS", "1")
    with TextExtractor(timeout_s=2, memory_mb=256) as ex:
        yield ex
