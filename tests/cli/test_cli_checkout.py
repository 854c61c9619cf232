"""`eakte documents unlock` (an operator breaks a stale check-out, audited) and the kind check of `eakte import`."""
from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select

from eakte.bootstrap import build_runtime
from eakte.config import load_settings
from eakte.models import AuditEvent, Document
from eakte.services import cases, checkout, documents, identity
from eakte.services.access import Actor, load_principal
from tests.cli.test_cli import _setup, run  # noqa: F401 - the fixture
from tests.helpers import pdf_bytes


def _checked_out_document(run) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    _setup(run)
    rt = build_runtime(load_settings(environ=run.env))
    try:
        with rt.db.write() as session:
            anna = Actor(load_principal(session, identity.user_by_name(session, "anna"), {}))
            case = cases.create_case(session, anna, cases.NewCase("20.30", "Sperre", "20"), rt.registry)
        doc = documents.add_document(rt, anna, case.id, documents.NewDocument("Bescheid"),
                                     documents.Upload(io.BytesIO(pdf_bytes()), "a.pdf"))
        checkout.check_out(rt, anna, doc.document.id)
        return doc.document.id, case.reference
    finally:
        rt.close()


def test_unlock_breaks_the_lock_and_is_audited(run) -> None:  # type: ignore[no-untyped-def]
    doc_id, _reference = _checked_out_document(run)
    out = run("documents", "unlock", str(doc_id), "--reason", "anna ist in Elternzeit").output
    assert f"Document {doc_id} (Bescheid): check-out by anna since" in out and "broken" in out
    rt = build_runtime(load_settings(environ=run.env))
    try:
        with rt.db.read() as session:
            assert session.get(Document, doc_id).checked_out_by is None
            event = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    finally:
        rt.close()
    assert event.action == "document.checkout_break" and event.actor.startswith("cli:")
    assert event.details["holder"] == "anna" and event.details["reason"] == "anna ist in Elternzeit"


def test_unlock_errors_are_one_line(run) -> None:  # type: ignore[no-untyped-def]
    doc_id, _reference = _checked_out_document(run)
    run("documents", "unlock", str(doc_id), "--reason", "frei")
    for args, needle in [((str(doc_id), "--reason", "nochmal"), "not checked out"),
                         (("999999", "--reason", "x"), "No document")]:
        result = run("documents", "unlock", *args, ok=False)
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == 1 and len(lines) == 1 and needle in lines[0], lines
    assert run("documents", "unlock", str(doc_id), ok=False).exit_code == 2  # --reason is required


def test_import_refuses_an_undeclared_kind_in_one_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _doc_id, reference = _checked_out_document(run)
    inbox = tmp_path / "scans"
    inbox.mkdir()
    (inbox / "a.pdf").write_bytes(pdf_bytes("A"))
    result = run("import", str(inbox), "--case", reference, "--user", "anna", "--kind", "spreadsheet", ok=False)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and "kind" in lines[0] and "letter" in lines[0], lines
    assert "1 imported" in run("import", str(inbox), "--case", reference, "--user", "anna", "--kind", "letter").output
