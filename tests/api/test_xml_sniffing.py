"""XML is recognised by its content even without an XML declaration (libmagic then says text/plain): a BOM,
whitespace, comments and processing instructions may come first. For invoice intake and uploads alike."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from eakte.filetypes import TEXT, XML_TEXT, detect_mime
from tests.conftest import TESTDATA
from tests.helpers import create_case, upload

UBL = TESTDATA / "xrechnung" / "01.01a-INVOICE_ubl.xml"
CII = TESTDATA / "xrechnung" / "01.02a-INVOICE_uncefact.xml"


def _without_declaration(path: Path) -> bytes:
    data = re.sub(rb"^\s*<\?xml[^>]*\?>\s*", b"", path.read_bytes())
    assert data.startswith(b"<") and b"<?xml " not in data[:100]
    return data


VARIANTS = {
    "bare": lambda p: _without_declaration(p),
    "bom": lambda p: b"\xef\xbb\xbf" + _without_declaration(p),
    "whitespace": lambda p: b"\n\n   " + _without_declaration(p),
    "comment": lambda p: b"<!-- Rechnung aus dem Portal -->\n" + _without_declaration(p),
    "pi": lambda p: b'<?xml-stylesheet type="text/xsl" href="rechnung.xsl"?>\n' + _without_declaration(p),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("sample", [UBL, CII], ids=["ubl", "cii"])
def test_xml_without_declaration_is_xml(tmp_path, variant: str, sample: Path) -> None:
    path = tmp_path / "rechnung.xml"
    path.write_bytes(VARIANTS[variant](sample))
    assert detect_mime(path) == XML_TEXT


@pytest.mark.parametrize("content", [
    b"Rechnung <3 und a < b\nZeile 2\n",
    b"<b>fett</b> und dann Text",                      # starts like markup, but is no XML document
    b"<not closed",
    b"   <!-- nur ein Kommentar -->\n",                # no root element
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><x>&a;</x>',  # entity declarations are never expanded
    "Grüße, a<b, Straße".encode("utf-8"),
])
def test_text_with_angle_brackets_stays_text(tmp_path, content: bytes) -> None:
    path = tmp_path / "notiz.txt"
    path.write_bytes(content)
    assert detect_mime(path) == TEXT


@pytest.mark.parametrize("variant", ["bare", "bom", "comment"])
def test_intake_reads_an_invoice_without_declaration(client, town, variant: str) -> None:
    data = VARIANTS[variant](UBL)
    resp = client.post("/api/v1/intake/invoice", headers=town.auth("anna"), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "rechnung.xml")})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["structured"] is True
    assert body["document"]["version"]["mime_type"] == XML_TEXT
    assert body["case"]["metadata"].get("invoice_number")


def test_intake_still_refuses_plain_text(client, town) -> None:
    resp = client.post("/api/v1/intake/invoice", headers=town.auth("anna"), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(b"Rechnung Nr. 1 < 2 Euro"), "rechnung.txt")})
    assert resp.status_code == 422 and "not text/plain" in resp.get_json()["detail"]


def test_upload_of_xml_without_declaration_is_stored_as_xml(client, town) -> None:
    h = town.auth("anna")
    case = create_case(client, h)
    resp = upload(client, h, case["id"], VARIANTS["bom"](CII), filename="rechnung.xml")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["version"]["mime_type"] == XML_TEXT
    text = upload(client, h, case["id"], b"a < b, aber b > c", filename="notiz.txt", title="Notiz")
    assert text.status_code == 201 and text.get_json()["version"]["mime_type"] == TEXT
