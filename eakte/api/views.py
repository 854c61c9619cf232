"""ORM rows → the dictionaries the response schemas dump."""
from __future__ import annotations

from typing import Any, Mapping

from eakte.models import Case, Document, DocumentVersion, FilePlanNode
from eakte.services.retention import Retention, RetentionLine


def case_view(case: Case) -> dict[str, Any]:
    return {"id": case.id, "reference": case.reference, "title": case.title, "case_type": case.case_type,
            "unit": case.unit.code, "unit_name": case.unit.name, "file_plan_code": case.file_plan_node.code,
            "status": case.status, "metadata": case.metadata_, "confidentiality": case.confidentiality,
            "created_at": case.created_at,
            "updated_at": case.updated_at, "closed_at": case.closed_at}


def retention_view(retention: Retention) -> dict[str, Any]:
    def line(r: RetentionLine) -> dict[str, Any]:
        return {"subfile": r.subfile, "procedure_id": r.procedure_id, "label_de": r.label_de,
                "label_en": r.label_en, "years": r.years, "source": r.source, "kept_until": r.kept_until}
    return {"file": line(retention.file), "subfiles": [line(r) for r in retention.subfiles]}


def version_view(version: DocumentVersion) -> dict[str, Any]:
    return {"number": version.number, "sha256": version.sha256, "size": version.size,
            "mime_type": version.mime_type, "filename": version.filename, "uploaded_at": version.uploaded_at,
            "uploaded_by": version.uploaded_by, "text_status": version.text_status}


def document_view(document: Document, usernames: Mapping[int, str] | None = None) -> dict[str, Any]:
    """`usernames`: user id → name, covering the check-out's holder (documents.case_files and
    document_with_uploaders give it); a document nobody holds needs none."""
    holder = document.checked_out_by
    return {"id": document.id, "case_id": document.case_id, "title": document.title, "kind": document.kind,
            "document_date": document.document_date, "current_version": document.current_version,
            "created_at": document.created_at, "procedure_id": document.procedure_id,
            "versions": [version_view(v) for v in document.versions],
            "checked_out_by": None if holder is None else (usernames or {}).get(holder, str(holder)),
            "checked_out_at": document.checked_out_at}


def file_plan_view(node: FilePlanNode, codes_by_id: dict[int, str]) -> dict[str, Any]:
    return {"id": node.id, "code": node.code, "title": node.title, "retention_years": node.retention_years,
            "disposal": node.disposal, "parent_code": codes_by_id.get(node.parent_id) if node.parent_id else None}
