"""The survey's letters as PDF/A-3b: the request for information (Erhebungsschreiben, FBAG §5) and the reminder,
each filed as the managed document of its procedure, and the print batch of one survey run (all its letters in
one PDF for the post room).

A run renders many letters at once, so it shares one WeasyPrint font configuration between them (which halves
the time per letter) and keeps each letter's laid-out pages: the print batch is those pages copied into one
document (WeasyPrint's documented way to combine documents), so it costs no second layout and every letter keeps
its own page numbering."""
from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import IO, Any, Mapping

from eakte.clock import office_today
from eakte.models import Case, Document, Procedure
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import Actor
from eakte.services.levy.common import LETTERS
from eakte.services.pdf_letters import PDF_VARIANT, SHARED, LetterTemplates, file_letter, german_date
from workflows.definition import CaseType
from workflows.levy.terms import REMINDER_KIND, SURVEY_LETTER_KIND

SURVEY_BASIS = "§ 5 FBAG"
SURVEY_TITLE = "Erhebung zur Fehlbelegungsabgabe – Bitte um Auskunft"
REMINDER_TITLE = "Erinnerung: Erhebung zur Fehlbelegungsabgabe"


@dataclass(frozen=True)
class LetterRun(LetterTemplates):
    """The levy templates for one batch of letters (one thread): shared fonts, the pages kept for the batch."""

    _fonts: Any = field(init=False, repr=False, compare=False, default=None)
    _pages: list[Any] = field(init=False, repr=False, compare=False, default_factory=list)
    _first: list[Any] = field(init=False, repr=False, compare=False, default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        from weasyprint.text.fonts import FontConfiguration
        object.__setattr__(self, "_fonts", FontConfiguration())

    def write_pdf(self, template: str, context: Mapping[str, Any], target: IO[bytes] | None = None) -> bytes | None:
        import weasyprint
        document = weasyprint.HTML(string=self.html(template, context), base_url=str(SHARED) + "/").render(
            font_config=self._fonts, pdf_variant=PDF_VARIANT)
        if not self._first:
            self._first.append(document)
        self._pages.extend(document.pages)
        return document.write_pdf(target, pdf_variant=PDF_VARIANT)

    @property
    def pages(self) -> int:
        return len(self._pages)

    def write_batch(self, target: IO[bytes], title: str) -> None:
        """Every letter rendered so far, in order, as one PDF/A."""
        if not self._first:
            raise ValueError("no letter was rendered")
        batch = self._first[0].copy(self._pages)
        batch.metadata = copy.copy(batch.metadata)  # the first letter's metadata object is shared: not its title
        batch.metadata.title = title
        batch.write_pdf(target, pdf_variant=PDF_VARIANT)


def letter_run() -> LetterRun:
    return LetterRun(LETTERS.directory)


def _letterhead(case_type: CaseType) -> dict[str, Any]:
    s = case_type.settings
    return {"municipality": str(s.get("municipality") or ""), "lines": [str(x) for x in s.get("letterhead") or ()]}


def tenant_names(meta: Mapping[str, Any]) -> list[str]:
    members = ((meta.get("household") or {}).get("members") or []) if isinstance(meta.get("household"), Mapping) \
        else []
    return [str(m.get("name") or "") for m in members if isinstance(m, Mapping) and m.get("tenant") and m.get("name")]


def letter_context(case_type: CaseType, case: Case, procedure: Procedure, *, deadline: str,
                   title: str = SURVEY_TITLE, **extra: Any) -> dict[str, Any]:
    """What the survey letter and the reminder print: the flat (case), the household's tenants, the period and
    the deadline (procedure metadata), the evidence asked for (settings)."""
    flat = case.metadata_ or {}
    meta = procedure.metadata_ or {}
    names = tenant_names(meta) or [str(flat.get("tenant_name") or "An die Mieterin / den Mieter")]
    street = " ".join(str(flat.get(k) or "").strip() for k in ("street", "house_number")).strip()
    place = " ".join(str(flat.get(k) or "").strip() for k in ("postal_code", "city")).strip()
    addressee = [*names, *( [str(flat["flat_number"])] if flat.get("flat_number") else []), street, place]
    return {
        "letterhead": _letterhead(case_type), "title": title, "basis": SURVEY_BASIS,
        "addressee": [x for x in addressee if x], "tenants": ", ".join(names),
        "address": ", ".join(x for x in (street, place) if x), "flat_number": str(flat.get("flat_number") or ""),
        "flat_id": str(flat.get("flat_id") or ""), "reference": procedure.reference,
        "reference_date": german_date(meta.get("reference_date")), "period_start": german_date(meta.get("period_start")),
        "period_end": german_date(meta.get("period_end")), "deadline": german_date(deadline),
        "evidence": [str(x) for x in case_type.settings.get("evidence") or ()],
        "issued_on": german_date(office_today()), **extra,
    }


def file_survey_letter(rt: Runtime, session: Any, actor: Actor, run: LetterRun, case_type: CaseType, case: Case,
                       procedure: Procedure) -> tuple[Document, str]:
    """The request for information of the procedure, filed (kind survey_letter) in the caller's transaction."""
    context = letter_context(case_type, case, procedure, deadline=str(procedure.metadata_["deadline"]))
    document, sha256 = file_letter(rt, session, actor, case, run, "survey_letter.html", context,
                                   kind=SURVEY_LETTER_KIND, title=SURVEY_TITLE,
                                   filename=f"Erhebungsschreiben {procedure.reference}.pdf", procedure_id=procedure.id)
    audit.record(session, actor, "levy.survey_letter", "document", document.id, case_id=case.id,
                 details={"procedure": procedure.reference, "deadline": procedure.metadata_["deadline"],
                          "sha256": sha256})
    return document, sha256


def file_reminder(rt: Runtime, session: Any, actor: Actor, run: LetterRun, case_type: CaseType, case: Case,
                  procedure: Procedure, deadline: dt.date, first_letter_on: dt.date | None) -> tuple[Document, str]:
    """The reminder with its new deadline, filed (kind reminder) in the caller's transaction."""
    meta = procedure.metadata_ or {}
    context = letter_context(case_type, case, procedure, deadline=deadline.isoformat(), title=REMINDER_TITLE,
                             first_deadline=german_date(meta.get("deadline")),
                             first_letter_on=german_date(first_letter_on))
    document, sha256 = file_letter(rt, session, actor, case, run, "reminder.html", context, kind=REMINDER_KIND,
                                   title=REMINDER_TITLE, filename=f"Erinnerung {procedure.reference}.pdf",
                                   procedure_id=procedure.id)
    audit.record(session, actor, "levy.reminder_letter", "document", document.id, case_id=case.id,
                 details={"procedure": procedure.reference, "deadline": deadline.isoformat(), "sha256": sha256})
    return document, sha256
