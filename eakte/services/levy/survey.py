"""The survey run (Erhebung, issue 14 point 2): from a landlord's list of social rental flats, create or update each
flat's case, open one levy procedure per household for the payment period, start its workflow (Erhebung, due at
the answer deadline: a Postkorb task), and file the request letter; plus the print batch of all letters. Then
reminders after the deadline, the list of runs and one run's page.

Everything is refused before anything is stored: who may run it (clerks of the levy unit), the request's dates,
and the list (workflows.levy.survey_list: every bad line at once). A flat whose open levy procedure covers part of
the same period is skipped with a message (its household is being surveyed or assessed already)."""
from __future__ import annotations

import calendar
import datetime as dt
import io
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterator, TextIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from eakte.clock import office_today, utcnow
from eakte.errors import Conflict, Invalid, NotFound
from eakte.models import (Case, CaseKey, Document, FilePlanNode, LevySurvey, Procedure, Task, Unit, User,
                          WorkflowInstance)
from eakte.runtime import Runtime
from eakte.services import audit, cases, integrity, procedures, workflow
from eakte.services.access import Actor, Principal, can_create_in_unit, require_change_case, \
    require_create_in_unit, visible_cases_filter
from eakte.services.documents import iter_chunks
from eakte.services.levy.common import CASE_TYPE, levy_type, levy_unit
from eakte.services.levy.letters import LetterRun, file_reminder, file_survey_letter, letter_run, tenant_names
from eakte.services.pdf_letters import german_date
from storage import BlobNotFound, key_for
from workflows.definition import CaseType
from workflows.levy.case_type import answer_due
from workflows.levy.survey_list import FlatListError, FlatRow, ListProblem, parse_flat_list, text_stream

SURVEY_STEP = "erhebung"
MAX_PERIOD_MONTHS = 120


@dataclass(frozen=True)
class SurveyRequest:
    landlord: str
    reference_date: dt.date
    period_start: dt.date
    deadline: dt.date | None = None      # None: today + settings response_days
    period_months: int | None = None     # None: settings period_months
    source_name: str | None = None       # the list's file name


@dataclass(frozen=True)
class SurveyHousehold:
    line: int
    flat_id: str
    case_id: int
    case_reference: str
    procedure_id: int
    procedure_reference: str
    created: bool                  # the flat's case was created (else updated)
    letter_document_id: int


@dataclass(frozen=True)
class SurveyResult:
    survey_id: int
    households: list[SurveyHousehold]
    skipped: list[ListProblem]     # flats refused (an open levy procedure for the period)
    batch_sha256: str
    batch_size: int
    seconds: float

    @property
    def letters(self) -> int:
        return len(self.households)

    @property
    def created(self) -> int:
        return sum(1 for h in self.households if h.created)


# --- checking the request ----------------------------------------------------------------------------------

MAX_YEARS_AWAY = 5  # a payment period starts within this many years of today
MAX_DEADLINE_DAYS = 365  # the tenant's answer is due within a year


def _invalid(field_name: str, message: str, message_de: str) -> Invalid:
    return Invalid(f"{field_name}: {message}", field=field_name, detail_de=message_de,
                   errors=[{"location": "form", "field": field_name, "messages": [message],
                            "messages_de": [message_de]}])


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class _Checked:
    landlord: str
    reference_date: dt.date
    deadline: dt.date
    period_start: dt.date
    period_end: dt.date
    source_name: str | None


def _checked(case_type: CaseType, request: SurveyRequest) -> _Checked:
    s = case_type.settings
    landlord = (request.landlord or "").strip()
    if not landlord:
        raise _invalid("landlord", "the landlord is required", "Bitte geben Sie den Vermieter an")
    if len(landlord) > 300:
        raise _invalid("landlord", "at most 300 characters", "Der Vermieter hat höchstens 300 Zeichen")
    start = request.period_start
    if start.day != 1:
        raise _invalid("period_start", "the payment period starts on the 1st of a month",
                       "Der Leistungszeitraum beginnt am Ersten eines Monats")
    months = request.period_months if request.period_months is not None else int(s["period_months"])
    if not 1 <= months <= MAX_PERIOD_MONTHS:
        raise _invalid("period_months", f"between 1 and {MAX_PERIOD_MONTHS} months",
                       f"Der Leistungszeitraum hat 1 bis {MAX_PERIOD_MONTHS} Monate")
    today = office_today()
    if abs((start - today).days) > 366 * MAX_YEARS_AWAY:
        raise _invalid("period_start", f"the payment period starts within {MAX_YEARS_AWAY} years of today",
                       f"Der Leistungszeitraum beginnt höchstens {MAX_YEARS_AWAY} Jahre vor oder nach heute")
    deadline = request.deadline or today + dt.timedelta(days=int(s["response_days"]))
    if deadline < today:
        raise _invalid("deadline", "the deadline is in the past", "Die Antwortfrist liegt in der Vergangenheit")
    if deadline > today + dt.timedelta(days=MAX_DEADLINE_DAYS):
        raise _invalid("deadline", f"the deadline is at most {MAX_DEADLINE_DAYS} days away",
                       f"Die Antwortfrist endet höchstens {MAX_DEADLINE_DAYS} Tage nach heute")
    if request.reference_date > start:
        raise _invalid("reference_date", "the reference date lies after the start of the period",
                       "Der Stichtag liegt nach dem Beginn des Leistungszeitraums")
    return _Checked(landlord, request.reference_date, deadline, start,
                    add_months(start, months) - dt.timedelta(days=1), (request.source_name or "")[:255] or None)


def list_invalid(exc: FlatListError) -> Invalid:
    """All the list's problems in one 422 on `file`: `errors` one entry per problem with its line and column."""
    first = exc.problems[0]
    more = len(exc.problems) - 1
    return Invalid(f"file: line {first.line}: {first.message}" + (f" (and {more} more)" if more else ""),
                   field="file", detail_de=f"Zeile {first.line}"
                   + (f", Spalte »{first.column}«" if first.column else "") + f": {first.message_de}"
                   + (f" (und {more} weitere)" if more else ""),
                   errors=[{"location": "file", "field": "file", "line": p.line, "column": p.column,
                            "messages": [p.message], "messages_de": [p.message_de]} for p in exc.problems])


def parse_list(case_type: CaseType, stream: BinaryIO | TextIO) -> list[FlatRow]:
    """The list's flats (a binary stream is read as UTF-8); Invalid with every bad line."""
    text = stream if isinstance(stream, io.TextIOBase) else text_stream(stream)  # type: ignore[arg-type]
    try:
        return parse_flat_list(text, default_mietenstufe=str(case_type.settings["mietenstufe"]))
    except FlatListError as exc:
        raise list_invalid(exc) from None


def _require_levy_clerk(session: Session, actor: Actor, case_type: CaseType) -> Unit:
    unit = levy_unit(session, case_type)
    require_create_in_unit(actor.principal, unit.id, unit.code)
    return unit


def may_run_survey(rt: Runtime, actor: Actor) -> bool:
    """Whether the actor may start a survey (a clerk of the levy unit), for pages that offer the button."""
    with rt.db.read() as session:
        unit = levy_unit(session, levy_type(rt))
        return can_create_in_unit(actor.principal, unit.id)


def _file_plan(session: Session, case_type: CaseType) -> str:
    code = str(case_type.settings.get("file_plan_code") or "")
    if session.execute(select(FilePlanNode.id).where(FilePlanNode.code == code)).scalar() is None:
        raise Conflict(f"the levy's file plan node {code!r} does not exist",
                       detail_de=f"Die Aktenplanposition {code!r} der Fehlbelegungsabgabe fehlt")
    return code


# --- the run -----------------------------------------------------------------------------------------------

def procedure_title(period_start: dt.date, period_end: dt.date) -> str:
    return f"Fehlbelegungsabgabe {period_start.year}–{period_end.year} (Erhebung)"


def _flat_case(session: Session, flat_id: str) -> Case | None:
    case_id = session.execute(select(CaseKey.case_id).where(CaseKey.case_type == CASE_TYPE,
                                                            CaseKey.name == "flat_id",
                                                            CaseKey.value == flat_id)).scalar()
    return session.get(Case, case_id, with_for_update=True) if case_id is not None else None


def _overlapping(session: Session, case: Case, start: dt.date, end: dt.date) -> Procedure | None:
    """An open levy procedure of the flat whose period meets [start, end]."""
    for p in session.execute(select(Procedure).where(Procedure.case_id == case.id, Procedure.status == "open")
                             .order_by(Procedure.id)).scalars():
        meta = p.metadata_ or {}
        if "survey_id" not in meta:
            continue
        try:
            p_start = dt.date.fromisoformat(str(meta["period_start"]))
            p_end = dt.date.fromisoformat(str(meta["period_end"]))
        except (KeyError, ValueError):
            return p  # a levy procedure without a readable period: do not guess it away
        if p_start <= end and start <= p_end:
            return p
    return None


def _skip(row: FlatRow, message: str, message_de: str) -> ListProblem:
    return ListProblem(row.line, "flat_id", f"flat {row.flat_id}: {message}",
                       f"Wohnung {row.flat_id}: {message_de}")


def _household(row: FlatRow) -> dict[str, Any]:
    return {"members": [{"name": name, "birth_date": None, "child": False, "tenant": True, "annual_income": None,
                         "benefit": None} for name in row.tenants], "temporary_use": False}


def run_survey(rt: Runtime, actor: Actor, request: SurveyRequest, stream: BinaryIO | TextIO) -> SurveyResult:
    """Run the survey for the list in `stream` (read line by line) in one write transaction."""
    began = time.monotonic()
    case_type = levy_type(rt)
    with rt.db.read() as session:  # fail fast, before the list is read
        _require_levy_clerk(session, actor, case_type)
    checked = _checked(case_type, request)
    rows = parse_list(case_type, stream)
    try:
        return _run(rt, actor, case_type, checked, rows, began)
    except IntegrityError:
        # Another run created one of these flats' cases at the same moment (the flat_id key is unique).
        raise Conflict("another survey created one of these flats meanwhile; please run the survey again",
                       detail_de="Eine gleichzeitige Erhebung hat eine dieser Wohnungen angelegt; bitte die "
                                 "Erhebung erneut durchführen") from None


def _run(rt: Runtime, actor: Actor, case_type: CaseType, checked: _Checked, rows: list[FlatRow],
         began: float) -> SurveyResult:
    run = letter_run()
    with rt.db.write() as session:
        unit = _require_levy_clerk(session, actor, case_type)
        plan = _file_plan(session, case_type)
        survey = LevySurvey(unit_id=unit.id, landlord=checked.landlord, reference_date=checked.reference_date,
                            deadline=checked.deadline, period_start=checked.period_start,
                            period_end=checked.period_end, households=0, source_name=checked.source_name,
                            created_by=actor.principal.user_id)
        session.add(survey)
        session.flush()
        households: list[SurveyHousehold] = []
        skipped: list[ListProblem] = []
        for row in rows:
            done = _survey_flat(rt, session, actor, case_type, unit, plan, survey, checked, run, row)
            if isinstance(done, ListProblem):
                skipped.append(done)
            else:
                households.append(done)
        if not households:
            raise Invalid("file: no flat left to survey", field="file",
                          detail_de="Keine Wohnung der Liste kann erhoben werden",
                          errors=[{"location": "file", "field": "file", "line": p.line, "column": p.column,
                                   "messages": [p.message], "messages_de": [p.message_de]} for p in skipped])
        with tempfile.TemporaryFile(dir=rt.tmp_dir, prefix="levy-batch-") as fh:
            run.write_batch(fh, f"Druckstapel Erhebung {survey.id} – {checked.landlord}")
            fh.seek(0)
            blob = integrity.store_referenced(rt, session, fh)  # kept from gc until the survey row commits
        survey.households = len(households)
        survey.batch_sha256, survey.batch_size = blob.sha256, blob.size
        audit.record(session, actor, "levy.survey", "levy_survey", survey.id,
                     details={"landlord": checked.landlord, "source_name": checked.source_name,
                              "reference_date": checked.reference_date.isoformat(),
                              "deadline": checked.deadline.isoformat(),
                              "period_start": checked.period_start.isoformat(),
                              "period_end": checked.period_end.isoformat(), "households": len(households),
                              "created": sum(1 for h in households if h.created),
                              "skipped": [p.to_json() for p in skipped], "batch_sha256": blob.sha256,
                              "batch_pages": run.pages})
        survey_id = survey.id
    return SurveyResult(survey_id, households, skipped, blob.sha256, blob.size, time.monotonic() - began)


def _survey_flat(rt: Runtime, session: Session, actor: Actor, case_type: CaseType, unit: Unit, plan: str,
                 survey: LevySurvey, checked: _Checked, run: LetterRun, row: FlatRow) -> SurveyHousehold | ListProblem:
    flat = {**row.flat, "landlord": checked.landlord}
    case = _flat_case(session, row.flat_id)
    if case is None:
        case = cases.create_case(session, actor, cases.NewCase(plan, None, unit.code, case_type=CASE_TYPE),
                                 rt.registry, derived=flat)
        created = True
    else:
        require_change_case(actor.principal, case)
        if case.status != "open":
            return _skip(row, f"its case {case.reference} is closed", f"die Akte {case.reference} ist geschlossen")
        other = _overlapping(session, case, checked.period_start, checked.period_end)
        if other is not None:
            return _skip(row, f"the open levy procedure {other.reference} covers this period",
                         f"der offene Vorgang {other.reference} betrifft diesen Zeitraum bereits")
        # Through the cases service: validated, audited (old → new) and re-indexed like any change.
        case = cases.update_case(session, actor, case.id, cases.CaseChanges(metadata=flat), rt.registry)
        created = False
    procedure = procedures.create_procedure(session, actor, rt.registry, case.id,
                                            procedure_title(checked.period_start, checked.period_end))
    procedure.metadata_ = audit.plain_json({
        "survey_id": survey.id, "reference_date": checked.reference_date.isoformat(),
        "deadline": checked.deadline.isoformat(), "period_start": checked.period_start.isoformat(),
        "period_end": checked.period_end.isoformat(), "household": _household(row), "answered_on": None,
        "reminders": []})
    session.flush()
    workflow.start_workflow(rt, session, actor, case, procedure)
    document, _ = file_survey_letter(rt, session, actor, run, case_type, case, procedure)
    procedure.metadata_ = {**procedure.metadata_, "letter_document_id": document.id}
    audit.record(session, actor, "levy.survey_household", "procedure", procedure.id, case_id=case.id,
                 details={"survey_id": survey.id, "procedure": procedure.reference, "flat_id": row.flat_id,
                          "line": row.line, "created_case": created, "tenants": list(row.tenants),
                          "deadline": checked.deadline.isoformat(), "letter_document_id": document.id})
    return SurveyHousehold(row.line, row.flat_id, case.id, case.reference, procedure.id, procedure.reference,
                           created, document.id)


# --- reminders ---------------------------------------------------------------------------------------------

def _waiting(session: Session) -> list[tuple[Procedure, WorkflowInstance]]:
    rows = session.execute(select(Procedure, WorkflowInstance)
                           .join(WorkflowInstance, WorkflowInstance.procedure_id == Procedure.id)
                           .where(WorkflowInstance.case_type == CASE_TYPE,
                                  WorkflowInstance.current_step == SURVEY_STEP, Procedure.status == "open")
                           .order_by(Procedure.id)).all()
    return [(p, i) for p, i in rows]


def _reminder_due(meta: dict[str, Any], today: dt.date) -> bool:
    if "survey_id" not in meta or meta.get("answered_on") or meta.get("reminders"):
        return False
    try:
        return dt.date.fromisoformat(str(meta.get("deadline"))) < today
    except ValueError:
        return False


def send_reminders(rt: Runtime, actor: Actor, today: dt.date | None = None) -> int:
    """A reminder (kind reminder) with a new deadline (today + settings reminder_days) for every procedure still
    in Erhebung whose deadline has passed and that has had no reminder: the deadline in its metadata and the due
    date of its Erhebung task move to the new one. The number of reminders sent."""
    case_type = levy_type(rt)
    today = today or office_today()
    new_deadline = today + dt.timedelta(days=int(case_type.settings["reminder_days"]))
    run = letter_run()
    sent = 0
    with rt.db.write() as session:
        _require_levy_clerk(session, actor, case_type)
        for procedure, instance in _waiting(session):
            meta = dict(procedure.metadata_ or {})
            if not _reminder_due(meta, today):
                continue
            procedure = session.get(Procedure, procedure.id, with_for_update=True)
            case = require_change_case(actor.principal, procedure.case)
            letter = session.get(Document, meta.get("letter_document_id")) \
                if isinstance(meta.get("letter_document_id"), int) else None
            document, _ = file_reminder(rt, session, actor, run, case_type, case, procedure, new_deadline,
                                        letter.document_date if letter is not None else None)
            old = meta.get("deadline")
            procedure.metadata_ = {**meta, "deadline": new_deadline.isoformat(), "reminders": [
                *(meta.get("reminders") or []), {"sent_on": today.isoformat(), "deadline": new_deadline.isoformat(),
                                                 "document_id": document.id}]}
            procedure.updated_at = utcnow()
            due = answer_due(procedure.metadata_, utcnow())
            for task in session.execute(select(Task).where(Task.instance_id == instance.id, Task.step == SURVEY_STEP,
                                                           Task.status == "open")).scalars():
                task.due_at = due
            audit.record(session, actor, "levy.reminder", "procedure", procedure.id, case_id=case.id,
                         details={"procedure": procedure.reference, "old_deadline": old,
                                  "deadline": new_deadline.isoformat(), "document_id": document.id})
            sent += 1
    return sent


# --- reading -----------------------------------------------------------------------------------------------

def _require_reader(session: Session, p: Principal, case_type: CaseType) -> Unit:
    """The levy unit's members, auditors and admins read the surveys; to anyone else they do not exist."""
    unit = levy_unit(session, case_type)
    if not (p.is_admin or p.is_auditor or unit.id in p.roles_by_unit):
        raise NotFound("no levy surveys", detail_de="Keine Erhebungen der Fehlbelegungsabgabe")
    return unit


@dataclass(frozen=True)
class SurveySummary:
    id: int
    landlord: str
    reference_date: dt.date
    deadline: dt.date
    period_start: dt.date
    period_end: dt.date
    households: int
    source_name: str | None
    created_at: dt.datetime
    created_by: str
    has_batch: bool

    @property
    def period_label(self) -> str:
        return f"{german_date(self.period_start)} – {german_date(self.period_end)}"


@dataclass(frozen=True)
class HouseholdRow:
    case_id: int
    case_reference: str
    flat_id: str
    address: str
    tenants: list[str]
    procedure_id: int
    procedure_reference: str
    step: str | None           # None: the workflow has finished
    step_label: str
    deadline: str | None
    answered_on: str | None
    overdue: bool
    letter_document_id: int | None
    reminder_document_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class SurveyPage:
    survey: SurveySummary
    households: list[HouseholdRow]
    may_change: bool

    @property
    def overdue(self) -> int:
        return sum(1 for h in self.households if h.overdue)

    @property
    def answered(self) -> int:
        return sum(1 for h in self.households if h.answered_on)


def _summary(session: Session, s: LevySurvey) -> SurveySummary:
    user = session.get(User, s.created_by)
    return SurveySummary(s.id, s.landlord, s.reference_date, s.deadline, s.period_start, s.period_end, s.households,
                         s.source_name, s.created_at, user.username if user is not None else "", bool(s.batch_sha256))


def survey_list(rt: Runtime, actor: Actor, *, limit: int = 200) -> list[SurveySummary]:
    case_type = levy_type(rt)
    with rt.db.read() as session:
        unit = _require_reader(session, actor.principal, case_type)
        surveys = session.execute(select(LevySurvey).where(LevySurvey.unit_id == unit.id)
                                  .order_by(LevySurvey.id.desc()).limit(limit)).scalars().all()
        return [_summary(session, s) for s in surveys]


def _survey(session: Session, unit: Unit, survey_id: int) -> LevySurvey:
    survey = session.get(LevySurvey, survey_id)
    if survey is None or survey.unit_id != unit.id:
        raise NotFound(f"no levy survey {survey_id}", detail_de="Keine Erhebung mit dieser Nummer")
    return survey


def survey_page(rt: Runtime, actor: Actor, survey_id: int) -> SurveyPage:
    """One run: its households with the step they are in, answered or overdue, their letters."""
    case_type = levy_type(rt)
    today = office_today()
    with rt.db.read() as session:
        unit = _require_reader(session, actor.principal, case_type)
        survey = _survey(session, unit, survey_id)
        rows = session.execute(
            select(Procedure, Case, WorkflowInstance.current_step)
            .join(Case, Case.id == Procedure.case_id)
            .outerjoin(WorkflowInstance, WorkflowInstance.procedure_id == Procedure.id)
            .where(Case.case_type == CASE_TYPE, Procedure.metadata_["survey_id"].as_integer() == survey.id,
                   visible_cases_filter(actor.principal))
            .order_by(Procedure.id)).all()
        labels = {s.key: s.label_de for s in case_type.steps}
        households = []
        for procedure, case, step in rows:
            meta = procedure.metadata_ or {}
            if meta.get("survey_id") != survey.id:
                continue
            households.append(_household_row(procedure, case, step, labels, today))
        return SurveyPage(_summary(session, survey), households,
                          actor.principal.is_admin or actor.principal.has_role(unit.id, "clerk"))


def _household_row(procedure: Procedure, case: Case, step: str | None, labels: dict[str, str],
                   today: dt.date) -> HouseholdRow:
    meta, flat = procedure.metadata_ or {}, case.metadata_ or {}
    deadline = meta.get("deadline")
    overdue = step == SURVEY_STEP and not meta.get("answered_on") and bool(deadline) and \
        str(deadline) < today.isoformat()
    address = " ".join(str(flat.get(k) or "") for k in ("street", "house_number")).strip()
    if flat.get("flat_number"):
        address += f", {flat['flat_number']}"
    reminders = [int(r["document_id"]) for r in meta.get("reminders") or []
                 if isinstance(r, dict) and isinstance(r.get("document_id"), int)]
    return HouseholdRow(case.id, case.reference, str(flat.get("flat_id") or ""), address, tenant_names(meta),
                        procedure.id, procedure.reference, step,
                        labels.get(step, "abgeschlossen") if step else "abgeschlossen",
                        str(deadline) if deadline else None, meta.get("answered_on"), overdue,
                        meta.get("letter_document_id") if isinstance(meta.get("letter_document_id"), int) else None,
                        reminders)


@dataclass(frozen=True)
class PrintBatch:
    filename: str
    size: int
    chunks: Iterator[bytes]


def print_batch(rt: Runtime, actor: Actor, survey_id: int) -> PrintBatch:
    """The run's print batch as a stream of chunks (the blob is read as it is sent)."""
    case_type = levy_type(rt)
    with rt.db.write() as session:  # the download is audited
        unit = _require_reader(session, actor.principal, case_type)
        survey = _survey(session, unit, survey_id)
        if not survey.batch_sha256:
            raise NotFound(f"survey {survey_id} has no print batch", detail_de="Zu dieser Erhebung gibt es keinen "
                                                                           "Druckstapel")
        sha256, size = survey.batch_sha256, int(survey.batch_size or 0)
        audit.record(session, actor, "levy.print_batch", "levy_survey", survey.id, details={"sha256": sha256})
    try:
        stream = rt.blobs.open(key_for(sha256))
    except BlobNotFound:
        raise Conflict(f"the print batch of survey {survey_id} is missing from the blob store",
                       detail_de="Der Druckstapel dieser Erhebung fehlt im Speicher; die einzelnen Schreiben "
                                 "liegen in den Vorgängen") from None

    def chunks() -> Iterator[bytes]:
        with stream:
            yield from iter_chunks(stream)
    return PrintBatch(f"Druckstapel-Erhebung-{survey_id}.pdf", size, chunks())

