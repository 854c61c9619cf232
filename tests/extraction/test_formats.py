"""Each supported format yields the expected words (through the real sandbox)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from eakte import filetypes as ft
from eakte.extraction import SUPPORTED_MIME_TYPES, TextExtractor

from . import samples as s


def extract(extractor: TextExtractor, path: Path, mime: str | None = None) -> str:
    result = extractor.extract(path, mime or ft.detect_mime(path))
    assert result.status == "done", result
    assert result.error is None
    return result.text


def test_pdf(extractor: TextExtractor, sample_dir: Path) -> None:
    assert s.GERMAN in extract(extractor, sample_dir / "brief.pdf")


def test_multi_page_pdf_keeps_all_pages(extractor: TextExtractor, sample_dir: Path) -> None:
    text = extract(extractor, sample_dir / "mehrseitig.pdf")
    for expected in ("Seite eins", s.GERMAN, "Seite zwei", s.GERMAN_2, "Seite drei", s.GERMAN_3):
        assert expected in text
    assert text.index("Seite eins") < text.index("Seite zwei") < text.index("Seite drei")


def test_encrypted_pdf_is_flagged_not_decrypted(extractor: TextExtractor, sample_dir: Path) -> None:
    result = extractor.extract(sample_dir / "verschluesselt.pdf", ft.PDF)
    assert result.status == "encrypted"
    assert result.text == ""


def test_corrupt_pdf_fails_without_raising(extractor: TextExtractor, sample_dir: Path, tmp_path: Path) -> None:
    result = extractor.extract(sample_dir / "kaputt.pdf", ft.PDF)
    assert result.status == "failed"
    assert result.error
    garbage = tmp_path / "zufall.pdf"
    garbage.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 40)
    assert extractor.extract(garbage, ft.PDF).status == "failed"
    # The worker survived both and still works.
    assert s.GERMAN in extract(extractor, sample_dir / "brief.pdf")


def test_missing_file_fails_without_raising(extractor: TextExtractor, tmp_path: Path) -> None:
    result = extractor.extract(tmp_path / "gibt-es-nicht.pdf", ft.PDF)
    assert result.status == "failed"
    assert "FileNotFoundError" in (result.error or "")


@pytest.mark.parametrize("name", ["bescheid.docx", "bescheid_label.docx"])
def test_docx_body_headers_footers(extractor: TextExtractor, sample_dir: Path, name: str) -> None:
    text = extract(extractor, sample_dir / name)
    lines = text.splitlines()
    assert s.GERMAN in lines and s.GERMAN_2 in lines  # one paragraph per line
    assert "Zeile\tmit Tab" in text and "und Umbruch" in lines
    assert "Kopfzeile Stadtverwaltung" in text
    assert "Fußzeile Seite" in text


@pytest.mark.parametrize("name", ["liste.xlsx", "liste_label.xlsx"])
def test_xlsx_shared_and_inline_strings(extractor: TextExtractor, sample_dir: Path, name: str) -> None:
    lines = extract(extractor, sample_dir / name).splitlines()
    assert s.GERMAN in lines
    assert "Müllabfuhr" in lines
    assert "RichText" in lines  # rich-text runs of one cell stay one string
    assert s.GERMAN_3 in lines  # inline string in the sheet


@pytest.mark.parametrize("name", ["vermerk.odt", "vermerk_zip.odt"])
def test_odt(extractor: TextExtractor, sample_dir: Path, name: str) -> None:
    lines = extract(extractor, sample_dir / name).splitlines()
    assert "Aktenvermerk Überschrift" in lines
    assert s.GERMAN in lines
    assert "Wort mit\tAbstand" in lines
    assert "neue Zeile im Span" in lines


def test_eml_headers_and_plain_body(extractor: TextExtractor, sample_dir: Path) -> None:
    text = extract(extractor, sample_dir / "mail.eml")
    assert f"Betreff: {s.GERMAN}" in text
    assert "Jürgen Müller" in text and "Bürgerbüro" in text
    assert "2024" in text
    assert s.GERMAN_2 in text and "Mit freundlichen Grüßen" in text
    assert text.count(s.GERMAN_2) == 1  # not again from the HTML alternative
    assert "kein Text" not in text  # attachments are not bodies


def test_eml_html_only_body(extractor: TextExtractor, sample_dir: Path) -> None:
    text = extract(extractor, sample_dir / "html.eml")
    assert s.GERMAN_3 in text
    assert "geheim" not in text and "<p>" not in text


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("notiz.txt", s.GERMAN_2),
        ("notiz_ansi.txt", f"{s.GERMAN} – Gebühr 5 €"),
        ("notiz_utf16.txt", s.GERMAN),
        ("tabelle.csv", "Müller;Köln"),
    ],
)
def test_plain_text_encodings(extractor: TextExtractor, sample_dir: Path, name: str, expected: str) -> None:
    assert expected in extract(extractor, sample_dir / name, ft.TEXT)


def test_latin1_fallback(extractor: TextExtractor, tmp_path: Path) -> None:
    # 0x81 is undefined in cp1252, so only latin-1 can decode this.
    path = tmp_path / "alt.txt"
    path.write_bytes("Gebühr ".encode("latin-1") + b"\x81")
    assert extract(extractor, path, ft.TEXT).startswith("Gebühr ")


@pytest.mark.parametrize("mime", [ft.XML_TEXT, ft.XML_APP])
def test_xml_text_content(extractor: TextExtractor, sample_dir: Path, mime: str) -> None:
    text = extract(extractor, sample_dir / "bescheid.xml", mime)
    assert s.GERMAN in text and s.GERMAN_2 in text
    assert "<" not in text and "betreff" not in text


def test_xml_external_entity_is_not_resolved(extractor: TextExtractor, tmp_path: Path) -> None:
    path = tmp_path / "xxe.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><a>&xxe;</a>'
    )
    result = extractor.extract(path, ft.XML_TEXT)
    assert result.status == "failed"
    assert "root:" not in result.text


def test_xml_billion_laughs_is_refused(extractor: TextExtractor, tmp_path: Path) -> None:
    entities = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)]
    path = tmp_path / "lol.xml"
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE a [{"".join(entities)}]><a>&l9;</a>')
    result = extractor.extract(path, ft.XML_TEXT)
    assert result.status == "failed"
    assert "entity" in (result.error or "").lower()


def test_xml_with_plain_doctype_is_fine(extractor: TextExtractor, tmp_path: Path) -> None:
    path = tmp_path / "dt.xml"
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE akte SYSTEM "akte.dtd"><akte>{s.GERMAN}</akte>')
    assert s.GERMAN in extract(extractor, path, ft.XML_TEXT)


@pytest.mark.parametrize("name", ["bild.png", "foto.jpg", "scan.tif"])
def test_images_are_unsupported(extractor: TextExtractor, sample_dir: Path, name: str) -> None:
    result = extractor.extract(sample_dir / name, ft.detect_mime(sample_dir / name))
    assert result.status == "unsupported"
    assert result.text == ""


def test_every_allowed_type_has_a_defined_outcome() -> None:
    textual = ft.DEFAULT_ALLOWED - {ft.PNG, ft.JPEG, ft.TIFF}
    assert textual <= SUPPORTED_MIME_TYPES


def test_text_is_capped_at_max_chars(sample_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "lang.txt"
    path.write_text("Ä" * 10_000, encoding="utf-8")
    with TextExtractor(max_chars=1000, prestart=False) as ex:
        result = ex.extract(path, ft.TEXT)
        docx = ex.extract(sample_dir / "bescheid.docx", ft.DOCX)
    assert result.status == "done" and result.truncated
    assert result.text == "Ä" * 1000
    assert docx.status == "done" and not docx.truncated


def test_large_text_travels_via_temp_file(extractor: TextExtractor, tmp_path: Path) -> None:
    body = "\n".join(f"Zeile {i} {s.GERMAN}" for i in range(20_000))  # ~1 MB, far above inline size
    path = tmp_path / "gross.txt"
    path.write_text(body, encoding="utf-8")
    result = extractor.extract(path, ft.TEXT)
    assert result.status == "done"
    assert result.text == body
    assert list(Path(extractor._tmpdir).iterdir()) == []  # temp file removed again


def test_office_member_with_exotic_compression_is_refused(extractor: TextExtractor, tmp_path: Path) -> None:
    # zipfile inflates bzip2/lzma without an output bound per read; Office never uses them.
    path = tmp_path / "bzip2.docx"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in s.docx_members([s.GERMAN]):
            method = zipfile.ZIP_BZIP2 if name == "word/document.xml" else zipfile.ZIP_DEFLATED
            zf.writestr(name, data, compress_type=method)
    result = extractor.extract(path, ft.DOCX)
    assert result.status == "failed"
    assert "compression" in (result.error or "")
