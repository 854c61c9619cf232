"""Builders for small but genuine sample files used by the extraction tests."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timezone
from pathlib import Path

from fpdf import FPDF
from PIL import Image
from pypdf import PdfReader, PdfWriter

GERMAN = "Widerspruchsfrist für die Gewerbeanmeldung"
GERMAN_2 = "Straßenreinigungsgebühren Änderungsbescheid"
GERMAN_3 = "Überprüfung der Baugenehmigung"


# --------------------------------------------------------------------------- PDF


def make_pdf(path: Path, pages: list[str]) -> Path:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    pdf.output(str(path))
    return path


def make_encrypted_pdf(path: Path, text: str) -> Path:
    plain = make_pdf(path.with_suffix(".plain.pdf"), [text])
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt("geheim", algorithm="AES-256")
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


# --------------------------------------------------------------------------- images


def _image_bytes(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buf, format=fmt)
    return buf.getvalue()


def png_bytes() -> bytes:
    """A minimal PNG built by hand (no image library involved)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_bytes() -> bytes:
    return _image_bytes("JPEG")


def tiff_bytes() -> bytes:
    return _image_bytes("TIFF")


# --------------------------------------------------------------------------- executables


def pe_stub_bytes() -> bytes:
    """DOS header whose e_lfanew points at a PE signature plus a COFF header."""
    dos = bytearray(b"MZ" + b"\x90\x00" + b"\x00" * 0x3C)
    pe_offset = 0x80
    struct.pack_into("<I", dos, 0x3C, pe_offset)
    dos += b"\x00" * (pe_offset - len(dos))
    coff = struct.pack("<HHIIIHH", 0x14C, 1, 0, 0, 0, 0xE0, 0x0102)
    return bytes(dos) + b"PE\x00\x00" + coff + b"\x00" * 256


# --------------------------------------------------------------------------- OOXML / ODF

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _xml(body: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + body


def _zip(path: Path, members: list[tuple[str, str | bytes]], *, stored: frozenset[str] = frozenset()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            method = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            zf.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, compress_type=method)
    return path


def _unusual(members: list[tuple[str, str | bytes]]) -> list[tuple[str, str | bytes]]:
    """Reorder like Office with sensitivity labels does: an unexpected first entry
    and [Content_Types].xml last. libmagic 5.44 then only reports application/zip."""
    label = ("docMetadata/LabelInfo.xml", _xml('<clbl:labelList xmlns:clbl="urn:x"/>'))
    return [label] + members[1:] + members[:1]


def _w_paragraphs(paragraphs: list[str]) -> str:
    return "".join(f'<w:p><w:r><w:t xml:space="preserve">{p}</w:t></w:r></w:p>' for p in paragraphs)


def docx_members(
    paragraphs: list[str],
    header: str = "Kopfzeile Stadtverwaltung",
    footer: str = "Fußzeile Seite",
    main_content_type: str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
) -> list[tuple[str, str | bytes]]:
    content_types = _xml(
        f'<Types xmlns="{_CT}">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/word/document.xml" ContentType="{main_content_type}"/>'
        '<Override PartName="/word/header1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/>'
        '<Override PartName="/word/footer1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/>'
        "</Types>"
    )
    rels = _xml(
        f'<Relationships xmlns="{_REL}">'
        f'<Relationship Id="rId1" Type="{_DOC_REL}/officeDocument" Target="word/document.xml"/>'
        "</Relationships>"
    )
    doc_rels = _xml(
        f'<Relationships xmlns="{_REL}">'
        f'<Relationship Id="rId1" Type="{_DOC_REL}/header" Target="header1.xml"/>'
        f'<Relationship Id="rId2" Type="{_DOC_REL}/footer" Target="footer1.xml"/>'
        "</Relationships>"
    )
    document = _xml(
        f'<w:document xmlns:w="{_W}" xmlns:r="{_DOC_REL}"><w:body>'
        + _w_paragraphs(paragraphs)
        + '<w:p><w:r><w:t>Zeile</w:t><w:tab/><w:t>mit Tab</w:t><w:br/><w:t>und Umbruch</w:t></w:r></w:p>'
        + '<w:sectPr><w:headerReference w:type="default" r:id="rId1"/>'
        '<w:footerReference w:type="default" r:id="rId2"/></w:sectPr>'
        "</w:body></w:document>"
    )
    header_xml = _xml(f'<w:hdr xmlns:w="{_W}">{_w_paragraphs([header])}</w:hdr>')
    footer_xml = _xml(f'<w:ftr xmlns:w="{_W}">{_w_paragraphs([footer])}</w:ftr>')
    return [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", rels),
        ("word/document.xml", document),
        ("word/_rels/document.xml.rels", doc_rels),
        ("word/header1.xml", header_xml),
        ("word/footer1.xml", footer_xml),
    ]


def make_docx(path: Path, paragraphs: list[str], *, unusual_order: bool = False, **kw: str) -> Path:
    members = docx_members(paragraphs, **kw)
    if unusual_order:
        members = _unusual(members)
    return _zip(path, members)


def make_xlsx(path: Path, shared: list[str], inline: list[str], *, unusual_order: bool = False) -> Path:
    content_types = _xml(
        f'<Types xmlns="{_CT}">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    )
    rels = _xml(
        f'<Relationships xmlns="{_REL}">'
        f'<Relationship Id="rId1" Type="{_DOC_REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    )
    workbook = _xml(
        f'<workbook xmlns="{_S}" xmlns:r="{_DOC_REL}"><sheets>'
        '<sheet name="Tabelle1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    wb_rels = _xml(
        f'<Relationships xmlns="{_REL}">'
        f'<Relationship Id="rId1" Type="{_DOC_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_DOC_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    )
    sst = _xml(
        f'<sst xmlns="{_S}" count="{len(shared)}" uniqueCount="{len(shared)}">'
        + "".join(f"<si><t>{s}</t></si>" for s in shared)
        + "<si><r><t>Rich</t></r><r><t>Text</t></r></si>"
        + "</sst>"
    )
    cells = "".join(
        f'<c r="A{i + 1}" t="s"><v>{i}</v></c>' for i in range(len(shared))
    ) + "".join(f'<c r="B{i + 1}" t="inlineStr"><is><t>{s}</t></is></c>' for i, s in enumerate(inline))
    sheet = _xml(
        f'<worksheet xmlns="{_S}"><sheetData><row r="1">{cells}'
        '<c r="C1"><v>4711</v></c></row></sheetData></worksheet>'
    )
    members: list[tuple[str, str | bytes]] = [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", rels),
        ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", wb_rels),
        ("xl/sharedStrings.xml", sst),
        ("xl/worksheets/sheet1.xml", sheet),
    ]
    if unusual_order:
        members = _unusual(members)
    return _zip(path, members)


_ODF_TEXT = "application/vnd.oasis.opendocument.text"


def make_odt(path: Path, heading: str, paragraphs: list[str], *, unusual_order: bool = False) -> Path:
    manifest = _xml(
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{_ODF_TEXT}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    body = "".join(f"<text:p>{p}</text:p>" for p in paragraphs)
    content = _xml(
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        "<office:body><office:text>"
        f'<text:h text:outline-level="1">{heading}</text:h>{body}'
        '<text:p>Wort<text:s/>mit<text:tab/>Abstand<text:line-break/>neue Zeile '
        '<text:span>im Span</text:span></text:p>'
        "</office:text></office:body></office:document-content>"
    )
    members: list[tuple[str, str | bytes]] = [
        ("mimetype", _ODF_TEXT),
        ("META-INF/manifest.xml", manifest),
        ("content.xml", content),
    ]
    if unusual_order:
        # mimetype neither first nor stored: libmagic then only sees "a zip".
        return _zip(path, list(reversed(members)))
    return _zip(path, members, stored=frozenset({"mimetype"}))


def make_plain_zip(path: Path) -> Path:
    return _zip(path, [("readme.txt", "nur ein Archiv"), ("daten/liste.csv", "a;b\n1;2\n")])


# --------------------------------------------------------------------------- text formats


def make_eml(path: Path, subject: str, body: str, *, html_only: bool = False) -> Path:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = "Jürgen Müller <juergen.mueller@example.org>"
    msg["To"] = "Bürgerbüro <buergerbuero@stadt.example>"
    msg["Date"] = format_datetime(datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc))
    msg["Message-ID"] = "<abc123@example.org>"
    if html_only:
        msg.set_content(f"<html><body><p>{body}</p><script>var geheim=1;</script></body></html>", subtype="html")
    else:
        msg.set_content(body)
        msg.add_alternative(f"<html><body><p>{body}</p></body></html>", subtype="html")
        msg.add_attachment(b"%PDF-1.4 kein Text", maintype="application", subtype="pdf", filename="anlage.pdf")
    path.write_bytes(bytes(msg))
    return path


def make_xml(path: Path, text: str) -> Path:
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<bescheid><betreff>{text}</betreff><absatz>{GERMAN_2}</absatz></bescheid>\n",
        encoding="utf-8",
    )
    return path
