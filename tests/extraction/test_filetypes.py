from __future__ import annotations

import threading
from pathlib import Path

import pytest

from eakte import filetypes as ft

from . import samples as s

EXPECTED = {
    "brief.pdf": ft.PDF,
    "verschluesselt.pdf": ft.PDF,
    "bild.png": ft.PNG,
    "foto.jpg": ft.JPEG,
    "scan.tif": ft.TIFF,
    "bescheid.docx": ft.DOCX,
    "bescheid_label.docx": ft.DOCX,
    "liste.xlsx": ft.XLSX,
    "liste_label.xlsx": ft.XLSX,
    "vermerk.odt": ft.ODT,
    "vermerk_zip.odt": ft.ODT,
    "mail.eml": ft.EML,
    "html.eml": ft.EML,
    "kurz.eml": ft.EML,
    "bescheid.xml": ft.XML_TEXT,
    "ohne_deklaration.xml": ft.XML_TEXT,  # well-formed XML without <?xml ...?>: libmagic says text/plain
    "notiz.txt": ft.TEXT,
    "notiz_ansi.txt": ft.TEXT,
    "notiz_utf16.txt": ft.TEXT,
    "tabelle.csv": ft.TEXT,
    "seite.html": ft.TEXT,
    "archiv.zip": "application/zip",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_detects_type_from_content(sample_dir: Path, name: str) -> None:
    assert ft.detect_mime(sample_dir / name) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(n for n, m in EXPECTED.items() if m in ft.DEFAULT_ALLOWED))
def test_allowed_samples_pass_verification_under_their_own_name(sample_dir: Path, name: str) -> None:
    assert ft.verify_upload(sample_dir / name, None, name) == EXPECTED[name]


def test_name_is_irrelevant_for_detection(sample_dir: Path, tmp_path: Path) -> None:
    disguised = tmp_path / "bescheid.txt"
    disguised.write_bytes((sample_dir / "brief.pdf").read_bytes())
    assert ft.detect_mime(disguised) == ft.PDF


def test_unusual_zip_order_really_defeats_libmagic(sample_dir: Path) -> None:
    # Guards the premise of the zip inspection: should libmagic learn these
    # layouts, the zip fallback is still exercised by vermerk_zip.odt.
    import magic

    assert magic.Magic(mime=True).from_file(str(sample_dir / "vermerk_zip.odt")) == "application/zip"


def test_macro_enabled_word_document_is_not_docx(sample_dir: Path) -> None:
    detected = ft.detect_mime(sample_dir / "makro.docx")
    assert detected == "application/vnd.ms-word.document.macroenabled.12"
    with pytest.raises(ft.FileTypeNotAllowed):
        ft.verify_upload(sample_dir / "makro.docx", None, "makro.docx")


def test_zip_cannot_claim_another_type_via_mimetype_member(tmp_path: Path) -> None:
    path = s._zip(tmp_path / "trick.zip", [("mimetype", "application/pdf"), ("content.xml", "<a/>")])
    assert ft.detect_mime(path) == "application/zip"


def test_truncated_zip_is_not_an_office_document(sample_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "kaputt.docx"
    broken.write_bytes((sample_dir / "bescheid.docx").read_bytes()[:300])
    assert ft.detect_mime(broken) not in ft.DEFAULT_ALLOWED


def test_executable_named_pdf_is_rejected(sample_dir: Path) -> None:
    with pytest.raises(ft.FileTypeNotAllowed) as info:
        ft.verify_upload(sample_dir / "programm.exe", "application/pdf", "invoice.pdf")
    err = info.value
    assert err.detected not in ft.DEFAULT_ALLOWED
    assert err.allowed == ft.DEFAULT_ALLOWED
    assert err.message == f"File type {err.detected} is not allowed"
    assert err.message_de == f"Dateityp {err.detected} ist nicht zulässig"
    assert isinstance(err, ft.FileTypeError)


def test_png_named_pdf_contradicts(sample_dir: Path) -> None:
    with pytest.raises(ft.ContentContradictsClaim) as info:
        ft.verify_upload(sample_dir / "bild.png", None, "scan.pdf")
    assert (info.value.detected, info.value.claimed) == (ft.PNG, ft.PDF)
    assert "application/pdf" in info.value.message_de


def test_png_with_pdf_content_type_contradicts() -> None:
    with pytest.raises(ft.ContentContradictsClaim):
        ft.check_claim(ft.PNG, "application/pdf", None)


def test_generic_zip_named_docx_contradicts() -> None:
    with pytest.raises(ft.ContentContradictsClaim):
        ft.check_claim("application/zip", None, "bescheid.docx")


@pytest.mark.parametrize(
    ("detected", "claimed", "filename"),
    [
        (ft.TEXT, None, "daten.xml"),  # XML without declaration sniffed as text
        (ft.XML_TEXT, None, "notiz.txt"),  # a .txt that is XML
        (ft.XML_TEXT, "application/xml", "x.xml"),
        (ft.TEXT, "text/csv", "tabelle.csv"),
        (ft.TEXT, "application/vnd.ms-excel", "tabelle.csv"),  # what Windows browsers send
        (ft.TEXT, "text/plain; charset=UTF-8", None),
        (ft.EML, None, "mail.txt"),
        (ft.TEXT, "message/rfc822", "mail.eml"),
        (ft.PNG, "image/jpeg", "foto.jpg"),  # misnamed image: harmless
        (ft.PDF, "application/octet-stream", None),
        (ft.PDF, "", "scan"),
        (ft.PDF, None, "scan.unbekannteendung"),
        (ft.PDF, "APPLICATION/PDF", "SCAN.PDF"),
        (ft.DOCX, None, "C:\\Users\\amt\\bescheid.docx"),
        (ft.PDF, None, None),
    ],
)
def test_compatible_claims(detected: str, claimed: str | None, filename: str | None) -> None:
    ft.check_claim(detected, claimed, filename)


@pytest.mark.parametrize(
    ("detected", "claimed", "filename"),
    [
        (ft.PDF, None, "bescheid.txt"),
        (ft.PDF, None, "scan.pdf.exe"),
        (ft.TEXT, None, "scan.pdf"),
        (ft.XLSX, None, "bescheid.docx"),
        (ft.DOCX, None, "vermerk.odt"),
        (ft.DOCX, "application/pdf", "bescheid.docx"),  # header contradicts even if the name fits
        (ft.EML, None, "mail.pdf"),
        (ft.XML_TEXT, None, "tabelle.csv"),
    ],
)
def test_contradicting_claims(detected: str, claimed: str | None, filename: str | None) -> None:
    with pytest.raises(ft.ContentContradictsClaim):
        ft.check_claim(detected, claimed, filename)


def test_check_allowed_with_custom_list() -> None:
    ft.check_allowed(ft.PDF, {ft.PDF})
    with pytest.raises(ft.FileTypeNotAllowed):
        ft.check_allowed(ft.PNG, {ft.PDF})


def test_default_allowed_list() -> None:
    assert ft.DEFAULT_ALLOWED == {
        "application/pdf",
        "image/tiff",
        "image/png",
        "image/jpeg",
        "text/plain",
        "text/xml",
        "application/xml",
        "message/rfc822",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.text",
    }


def test_detection_from_many_threads(sample_dir: Path) -> None:
    names = sorted(EXPECTED)
    errors: list[str] = []
    barrier = threading.Barrier(8)

    def work(offset: int) -> None:
        barrier.wait()
        for i in range(60):
            name = names[(i + offset) % len(names)]
            got = ft.detect_mime(sample_dir / name)
            if got != EXPECTED[name]:
                errors.append(f"{name}: {got}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
