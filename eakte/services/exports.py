"""The auditors' export: a set of cases as a ZIP in BagIt layout (RFC 8493), streamed, never built in memory.

Payload per case: the original file of every version, case and document metadata (JSON), the case's audit trail
and workflow history; plus a CSV listing of all cases and documents. The manifest holds the SHA-256 of every
payload file (for stored files the hash recorded at upload, so a corrupt blob makes the bag fail validation, as it
should); the export itself is audited with the package's own SHA-256 once the last byte has gone out.

Every member is stored (no compression) and has a known size before the first byte goes out: stored files their
recorded size, the generated members (metadata, listing, manifests) are built up front as bytes. So the package's
exact length is known in advance (a download can send Content-Length and show its progress), while the files
themselves are still read chunk by chunk as they stream. A stored file whose length no longer matches its record
breaks the stream off (zipstream raises): the package would not be what its length announced, and the export
stays without a checksum.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any, Iterator

from sqlalchemy import select
from zipstream import ZipStream

from eakte import __version__
from eakte.clock import office_today, utcnow
from eakte.errors import Invalid, NotFound
from eakte.models import AuditEvent, Case, Document, Procedure, WorkflowEvent, WorkflowInstance
from eakte.runtime import Runtime
from eakte.services import audit, procedures, reads, search
from eakte.services.access import (Actor, can_export_cases, can_see_procedure, hidden_subfiles,
                                   require_case_exporter, require_view_case)
from search import Filters
from workflows.spreadsheet import SafeCsvWriter

CHUNK = 1024 * 1024
MAX_CASES = 10_000


@dataclass(frozen=True)
class ExportSelection:
    case_ids: tuple[int, ...] = ()
    query: str | None = None
    filters: Filters = Filters()


def select_cases(rt: Runtime, actor: Actor, selection: ExportSelection) -> list[int]:
    p = actor.principal
    require_case_exporter(p)
    ids = set(selection.case_ids)
    if selection.query is not None:
        offset = 0
        while True:
            # Only the selection (ids): the hits are not shown, their cases' reads are traced as the export's.
            hits, page = search.search(rt, actor, selection.query, selection.filters, offset=offset, limit=200,
                                       shown=None)
            ids.update(h.case_id for h in hits)
            offset += 200
            if offset >= page.total or len(ids) > MAX_CASES:
                break
    if not ids:
        raise Invalid("choose cases by case_ids or by a search query", field="case_ids")
    if len(ids) > MAX_CASES:
        raise Invalid(f"at most {MAX_CASES} cases per export", field="case_ids")
    with rt.db.read() as session:
        for case_id in ids:
            require_view_case(p, session.get(Case, case_id))
    return sorted(ids)


@dataclass(frozen=True)
class BagStream:
    """A bag ready to stream: its name (the receipt's key), its file name, its exact length and its bytes."""

    name: str
    filename: str
    size: int
    chunks: Iterator[bytes]


def stream_bag(rt: Runtime, actor: Actor, case_ids: list[int]) -> BagStream:
    """The bag of these cases; the audit event with its SHA-256 is written when the stream is complete."""
    name = f"eakte-export-{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    with rt.db.write() as session:
        audit.record(session, actor, "export.start", "export", name, details={"cases": case_ids})
        # Each case's own trail (GET /cases/{id}/audit) must show that it left the system, and with which package.
        for case_id in case_ids:
            audit.record(session, actor, "case.export", "case", case_id, case_id=case_id,
                         details={"export": name, "cases_in_export": len(case_ids)})
        # Restricted cases (personnel files) in the package: each a read for its access log.
        restricted = sorted(rt.registry.restricted)
        if restricted:
            traced = session.execute(select(Case).where(Case.id.in_(case_ids), Case.case_type.in_(restricted))
                                     .order_by(Case.id)).scalars().all()
            reads.record_reads(session, rt.registry, actor,
                               [reads.Read(c, "read.export", details={"export": name}) for c in traced])
    # Sized: stored members of known sizes only, so len(zs) is the exact length before the first byte.
    zs = ZipStream(sized=True)
    manifest: list[tuple[str, str]] = []

    def add(data: bytes | _Blob, path: str, sha256: str | None = None) -> None:
        if isinstance(data, bytes):
            manifest.append((hashlib.sha256(data).hexdigest(), path))
            zs.add(data, f"{name}/{path}")
        else:
            manifest.append((sha256 or "", path))
            # The size recorded at upload; without it a sized ZipStream would read the file into memory.
            zs.add(_blob_chunks(rt, data.key), f"{name}/{path}", size=data.size)

    listing = io.StringIO()
    writer = SafeCsvWriter(listing, delimiter=";")  # titles and file names are user input: no formulas
    writer.writerow(["Aktenzeichen", "Betreff", "Aktentyp", "Organisationseinheit", "Status", "Dokument",
                     "Version", "Dateiname", "MIME-Typ", "Größe", "SHA-256", "Pfad"])
    for case_id in case_ids:
        for path, data, sha in _case_files(rt, actor, case_id, writer):
            add(data, path, sha)
    add(listing.getvalue().encode("utf-8-sig"), "data/cases.csv")
    manifest_text = "".join(f"{sha}  {path}\n" for sha, path in manifest).encode()
    tags = {
        "bagit.txt": b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
        "bag-info.txt": (f"Source-Organization: eakte\nBagging-Date: {office_today().isoformat()}\n"
                         f"Bag-Software-Agent: eakte {__version__}\nExternal-Identifier: {name}\n"
                         f"Internal-Sender-Description: {len(case_ids)} Akten, exportiert von "
                         f"{actor.principal.username}\n").encode(),
        "manifest-sha256.txt": manifest_text,
    }
    for path, data in tags.items():
        zs.add(data, f"{name}/{path}")
    zs.add("".join(f"{hashlib.sha256(d).hexdigest()}  {p}\n" for p, d in tags.items()).encode(),
           f"{name}/tagmanifest-sha256.txt")

    expected = len(zs)

    def body() -> Iterator[bytes]:
        # Hashed as the bytes pass: the package is never held whole. A client that stops reading closes this
        # generator at a yield, so an interrupted export is never recorded as complete.
        digest, size = hashlib.sha256(), 0
        for chunk in zs:
            digest.update(chunk)
            size += len(chunk)
            yield chunk
        with rt.db.write() as session:
            audit.record(session, actor, "export.complete", "export", name,
                         details={"cases": case_ids, "files": len(manifest), "size": size,
                                  "sha256": digest.hexdigest()})

    return BagStream(name, f"{name}.zip", expected, body())


@dataclass(frozen=True)
class ExportReceipt:
    """One export as its audit trail records it: the package's SHA-256 is known once the last byte went out."""

    name: str
    started_at: dt.datetime
    case_count: int
    complete: bool
    sha256: str | None
    size: int | None


def may_export(actor: Actor) -> bool:
    return can_export_cases(actor.principal)


def my_exports(rt: Runtime, actor: Actor, *, limit: int = 10) -> list[ExportReceipt]:
    """The caller's own latest exports, newest first."""
    require_case_exporter(actor.principal)
    with rt.db.read() as session:
        starts = list(session.execute(select(AuditEvent).where(
            AuditEvent.action == "export.start", AuditEvent.actor == actor.principal.username)
            .order_by(AuditEvent.id.desc()).limit(limit)).scalars())
        return _receipts(session, starts)


def export_receipt(rt: Runtime, actor: Actor, name: str) -> ExportReceipt:
    """One of the caller's exports by its name; others' exports look missing."""
    require_case_exporter(actor.principal)
    with rt.db.read() as session:
        start = session.execute(select(AuditEvent).where(
            AuditEvent.action == "export.start", AuditEvent.object_type == "export", AuditEvent.object_id == name,
            AuditEvent.actor == actor.principal.username)).scalar()
        if start is None:
            raise NotFound("No export with this name", detail_de="Kein Export unter diesem Namen")
        return _receipts(session, [start])[0]


def _receipts(session: Any, starts: list[AuditEvent]) -> list[ExportReceipt]:
    names = [e.object_id for e in starts]
    done = {e.object_id: e for e in session.execute(select(AuditEvent).where(
        AuditEvent.action == "export.complete", AuditEvent.object_type == "export",
        AuditEvent.object_id.in_(names))).scalars()} if names else {}
    out = []
    for e in starts:
        end = done.get(e.object_id)
        out.append(ExportReceipt(e.object_id, e.occurred_at, len(e.details.get("cases", [])), end is not None,
                                 end.details.get("sha256") if end else None, end.details.get("size") if end else None))
    return out


@dataclass(frozen=True)
class _Blob:
    """A stored file to stream into the bag: read only when its turn comes, its size known before."""

    key: str
    size: int


def _case_files(rt: Runtime, actor: Actor, case_id: int,
                listing: Any) -> Iterator[tuple[str, bytes | _Blob, str | None]]:
    with rt.db.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        base = f"data/{_safe(case.reference)}"
        # The tree as the exporter may see it: sub-files hidden from them (access.hidden_subfiles) are left out,
        # with their documents and the audit events about those (the trail's hash chain shows the gaps).
        hidden = hidden_subfiles(session, actor.principal, rt.registry)
        procs = {p.id: p for p in session.execute(select(Procedure).where(
            Procedure.case_id == case.id).order_by(Procedure.number)).scalars()}
        shown = {i: p for i, p in procs.items() if can_see_procedure(hidden, case, p)}
        all_docs = list(session.execute(select(Document).where(Document.case_id == case.id)
                                        .order_by(Document.id)).scalars())
        case_level = can_see_procedure(hidden, case, None)  # not for a partial view (a sub-file's unit)
        documents = [d for d in all_docs if (case_level if d.procedure_id is None else d.procedure_id in shown)]
        # The same objects the case's trail hides from the exporter (the sub-files, their documents, follow-ups).
        left_out = set(procedures.hidden_objects(session, actor, rt.registry, case.id))
        only = procedures.trail_only(session, actor, rt.registry, case.id)
        events = [e for e in session.execute(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                             .order_by(AuditEvent.id)).scalars()
                  if (e.object_type, str(e.object_id)) not in left_out
                  and (only is None or (e.object_type, str(e.object_id)) in only)]

        def folder(d: Document) -> str:
            return base if d.procedure_id is None else f"{base}/{_procedure_folder(shown[d.procedure_id])}"
        instance = session.execute(select(WorkflowInstance).where(WorkflowInstance.case_id == case.id,
                                                                  WorkflowInstance.procedure_id.is_(None))).scalar()
        history = list(session.execute(select(WorkflowEvent).where(WorkflowEvent.instance_id == instance.id)
                                       .order_by(WorkflowEvent.id)).scalars()) if instance else []
        case_json = {"id": case.id, "reference": case.reference, "title": case.title, "case_type": case.case_type,
                     "unit": case.unit.code, "unit_name": case.unit.name, "file_plan_code": case.file_plan_node.code,
                     "file_plan_title": case.file_plan_node.title,
                     "retention_years": case.file_plan_node.retention_years,
                     "disposal": case.file_plan_node.disposal, "status": case.status,
                     # xdomea Vertraulichkeitsstufe: the configured key and its code (the code list's version
                     # is the one configured for the archive's xdomea version)
                     "confidentiality": case.confidentiality,
                     "confidentiality_xdomea_code": actor.principal.confidentiality.effective(
                         case.confidentiality).xdomea_code,
                     "created_at": case.created_at, "closed_at": case.closed_at, "metadata": case.metadata_,
                     "procedures": [_procedure_json(p, base) for p in shown.values()],
                     "documents": [{"id": d.id, "title": d.title, "kind": d.kind, "document_date": d.document_date,
                                    "current_version": d.current_version,
                                    "procedure": _procedure_json(shown[d.procedure_id], base)
                                    if d.procedure_id is not None else None,
                                    "versions": [{"number": v.number, "filename": v.filename, "sha256": v.sha256,
                                                  "size": v.size, "mime_type": v.mime_type,
                                                  "uploaded_at": v.uploaded_at, "uploaded_by": v.uploaded_by,
                                                  "path": _version_path(folder(d), d.id, v.number, v.filename)}
                                                 for v in d.versions]} for d in documents]}
        audit_json = [{"id": e.id, "occurred_at": e.occurred_at, "actor": e.actor, "action": e.action,
                       "object_type": e.object_type, "object_id": e.object_id, "details": e.details,
                       "client_addr": e.client_addr, "prev_hash": e.prev_hash, "hash": e.hash} for e in events]
        workflow_json = {"status": instance.status if instance else None,
                         "history": [{"at": e.at, "action": e.action, "step": e.step, "actor": e.actor,
                                      "decision": e.decision, "comment": e.comment} for e in history]}
        versions = [(d, v, folder(d)) for d in documents for v in d.versions]
    yield f"{base}/case.json", _json(case_json), None
    yield f"{base}/audit.json", _json(audit_json), None
    yield f"{base}/workflow.json", _json(workflow_json), None
    for document, version, where in versions:
        path = _version_path(where, document.id, version.number, version.filename)
        listing.writerow([case.reference, case.title, case.case_type, case.unit.code, case.status, document.title,
                          version.number, version.filename, version.mime_type, version.size, version.sha256, path])
        yield path, _Blob(version.blob_key, version.size), version.sha256


def _blob_chunks(rt: Runtime, key: str) -> Iterator[bytes]:
    with rt.blobs.open(key) as stream:
        while block := stream.read(CHUNK):
            yield block


def _procedure_folder(procedure: Procedure) -> str:
    """A procedure's folder beside the case's own documents: its number (sorting as the tree does) and title."""
    return _safe(f"{procedure.number:03d} {procedure.title}")


def _procedure_json(procedure: Procedure, base: str) -> dict[str, Any]:
    return {"id": procedure.id, "number": procedure.number, "reference": procedure.reference,
            "kind": procedure.kind, "subfile": procedure.subfile, "title": procedure.title,
            "status": procedure.status, "created_at": procedure.created_at, "closed_at": procedure.closed_at,
            "path": f"{base}/{_procedure_folder(procedure)}"}


def _version_path(base: str, document_id: int, number: int, filename: str) -> str:
    return f"{base}/documents/{document_id}/v{number}-{_safe(filename)}"


def _safe(name: str) -> str:
    """A path segment that means the same on every system and can never climb out of its folder."""
    cleaned = re.sub(r"[^\w.\-äöüÄÖÜß ]+", "_", name).strip(" .") or "_"
    return cleaned[:150]


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, default=_default).encode()


def _default(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)
