"""The trade register's letters (issue 13): the receipt (GewO §15(1)) is a PDF/A-3b with embedded fonts, filed
once as the managed document of kind `receipt` in the notification's procedure, and names the business, its
address, the notification and its date, the business ID, the procedure reference and the legal basis; the simple
extract holds the §14(5) data only, the extended one the whole entry with the requester and the interest."""
from __future__ import annotations

import io
from typing import Any

import pypdf
import pytest
from sqlalchemy import func, select

from eakte.errors import Invalid
from eakte.models import AuditEvent, Case, Document, Procedure
from eakte.runtime import Runtime
from eakte.services import documents
from eakte.services.trade import letters
from eakte.services.trade.extracts import ExtractRequest
from tests.trade_fixtures import anmeldung_payload, build_business, trade_actor
from workflows.trade.case_type import trade_case_type


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def assert_pdfa(content: bytes) -> None:
    """PDF/A as far as the file says it: the XMP identification (part and conformance), an output intent, and
    every font of every page embedded (a font file in its descriptor, for composite fonts in the descendant's)."""
    reader = pypdf.PdfReader(io.BytesIO(content))
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    intents = root["/OutputIntents"]
    assert len(intents) >= 1 and intents[0].get_object()["/S"] == "/GTS_PDFA1"
    assert "/DestOutputProfile" in intents[0].get_object()
    fonts = 0
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            described = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = described["/FontDescriptor"].get_object()
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), descriptor
            assert "DejaVu" in str(descriptor["/FontName"])
            fonts += 1
    assert fonts >= 1


def _receipt(rt: Runtime, actor: Any, case_id: int, procedure_id: int) -> tuple[int, bytes]:
    with rt.db.write() as session:
        case, procedure = session.get(Case, case_id), session.get(Procedure, procedure_id)
        document = letters.file_receipt(rt, session, actor, case, procedure)
        version = document.versions[0]
        with rt.blobs.open(version.blob_key) as fh:
            return document.id, fh.read()


def test_the_receipt_is_a_filed_pdfa_naming_the_business(rt: Runtime, town: Any) -> None:
    olga = trade_actor(rt, "olga")
    case_id, procedure_id = build_business(rt, olga)
    document_id, content = _receipt(rt, olga, case_id, procedure_id)
    assert_pdfa(content)
    assert len(pypdf.PdfReader(io.BytesIO(content)).pages) == 1
    text = pdf_text(content)
    with rt.db.read() as session:
        document = session.get(Document, document_id)
        procedure = session.get(Procedure, procedure_id)
        assert (document.kind, document.procedure_id, document.case_id) == ("receipt", procedure_id, case_id)
        assert document.versions[0].mime_type == "application/pdf"
        reference = procedure.reference
        events = session.execute(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                          AuditEvent.action.in_(["document.create",
                                                                                 "trade.receipt"]))).scalars().all()
    for expected in ("Stadt Musterstadt", "Ordnungsamt – Gewerbeangelegenheiten", "Feinkost Muster",
                     "Frankfurter Straße 12, 63263 Neu-Isenburg", "Gewerbeanmeldung (GewA 1)", "02.03.2026",
                     "GW-2026-00001", reference, "§ 15 Abs. 1 GewO", "Muster, Erika"):
        assert expected in text, expected
    assert {e.action for e in events} == {"document.create", "trade.receipt"}
    created = next(e for e in events if e.action == "document.create")
    assert created.details["kind"] == "receipt" and "title" not in created.details  # a managed kind


def test_a_procedure_keeps_its_one_receipt(rt: Runtime, town: Any) -> None:
    olga = trade_actor(rt, "olga")
    case_id, procedure_id = build_business(rt, olga)
    first, _ = _receipt(rt, olga, case_id, procedure_id)
    again, _ = _receipt(rt, olga, case_id, procedure_id)
    assert again == first
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(Document)
                               .where(Document.kind == "receipt")).scalar_one() == 1


def test_a_receipt_cannot_be_uploaded_by_hand(rt: Runtime, town: Any) -> None:
    olga = trade_actor(rt, "olga")
    case_id, procedure_id = build_business(rt, olga)
    _, content = _receipt(rt, olga, case_id, procedure_id)
    with pytest.raises(Invalid) as refused:
        documents.add_document(rt, olga, case_id, documents.NewDocument("Eigene Bescheinigung", "receipt",
                                                                        procedure_id=procedure_id),
                               documents.Upload(io.BytesIO(content), "bescheinigung.pdf"))
    assert refused.value.extra["field"] == "kind"


def test_the_letterhead_comes_from_the_settings_and_text_is_escaped(rt: Runtime, town: Any) -> None:
    olga = trade_actor(rt, "olga")
    payload = anmeldung_payload(registered_name="Müller & <b>Söhne</b>")
    case_id, procedure_id = build_business(rt, olga, payload)
    other_town = trade_case_type({"municipality": "Stadt Musterhausen",
                                  "letterhead": ["Bürgeramt", "Marktplatz 1", "12345 Musterhausen"]})
    with rt.db.read() as session:
        case, procedure = session.get(Case, case_id), session.get(Procedure, procedure_id)
        content = letters.render_receipt(other_town, case, procedure, letters._entry_for(session, case, procedure))
    assert_pdfa(content)
    text = pdf_text(content)
    assert "Stadt Musterhausen" in text and "Marktplatz 1" in text and "Bürgeramt" in text
    assert "Rathausplatz" not in text and "Stadt Musterstadt" not in text
    assert "Müller & <b>Söhne</b>" in text  # printed as typed, not taken for markup


def test_the_simple_extract_holds_the_public_data_only(rt: Runtime, town: Any) -> None:
    olga = trade_actor(rt, "olga")
    case_id, procedure_id = build_business(rt, olga)
    case_type = rt.registry.get("trade")
    with rt.db.read() as session:
        case = session.get(Case, case_id)
        entry = letters._entry_for(session, case, session.get(Procedure, procedure_id))
    simple = letters.render_extract(case_type, case, entry, "simple", ExtractRequest())
    assert_pdfa(simple)
    text = pdf_text(simple)
    for shown in ("Muster, Erika", "Feinkost Muster", "Frankfurter Straße 12, 63263 Neu-Isenburg",
                  "Einzelhandel mit Feinkost und Lebensmitteln", "§ 14 Abs. 5 GewO"):
        assert shown in text, shown
    for withheld in ("12.04.1980", "Offenbach am Main", "06102 123456", "info@feinkost-muster.de",
                     "Bahnhofstraße", "47.29", "Staatsangehörigkeit", "Aufenthaltstitel"):
        assert withheld not in text, withheld

    request = ExtractRequest(requester="Rechtsanwältin Dr. Beispiel", requester_kind="private",
                             interest="Titulierte Forderung gegen die Inhaberin", purpose="Zwangsvollstreckung",
                             reference="AZ 7 C 123/26")
    extended = letters.render_extract(case_type, case, entry, "extended", request)
    assert_pdfa(extended)
    text = pdf_text(extended)
    for shown in ("12.04.1980", "Offenbach am Main", "06102 123456", "info@feinkost-muster.de", "47.29",
                  "Bahnhofstraße 3, 63263 Neu-Isenburg", "Rechtsanwältin Dr. Beispiel",
                  "Titulierte Forderung gegen die Inhaberin", "Zwangsvollstreckung", "AZ 7 C 123/26",
                  "Datum der Auskunft", "GW-2026-00001"):
        assert shown in text, shown
