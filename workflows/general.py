"""The general case type: any Akte without a workflow, with free metadata."""
from __future__ import annotations

from workflows.definition import CaseType, DocumentKind

# Any Akte may hold these; an upload of another kind is refused (documents.require_allowed_kind).
GENERAL = CaseType(
    key="general", label_de="Allgemeine Akte", label_en="General case",
    document_kinds=(DocumentKind("document", "Dokument", "Document"), DocumentKind("letter", "Schreiben", "Letter"),
                    DocumentKind("note", "Vermerk", "Note"), DocumentKind("application", "Antrag", "Application"),
                    DocumentKind("notice", "Bescheid", "Decision notice"),
                    DocumentKind("notification", "Anzeige", "Notification"),
                    DocumentKind("contract", "Vertrag", "Contract"), DocumentKind("invoice", "Rechnung", "Invoice"),
                    DocumentKind("delivery_note", "Lieferschein", "Delivery note"),
                    DocumentKind("form", "Formular", "Form")),
    open_schema=True,
)
