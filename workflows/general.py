"""The general case type: any Akte without a workflow, with free metadata."""
from __future__ import annotations

from workflows.definition import CaseType, DocumentKind

GENERAL = CaseType(
    key="general", label_de="Allgemeine Akte", label_en="General case",
    document_kinds=(DocumentKind("document", "Dokument", "Document"), DocumentKind("letter", "Schreiben", "Letter"),
                    DocumentKind("note", "Vermerk", "Note")),
    open_schema=True,
)
