"""Taking in trade notifications (GewA 1–3, GewO §14): from the API's JSON, the web form, the CLI import, and the
authority's own deregistration (§14(4)). A notification becomes a procedure of the business's case, with its own
workflow (Eingang → Prüfung → Eintragung → Empfangsbescheinigung → Datenübermittlung); an Anmeldung creates the
case first, with its business ID. Everything is refused before anything is stored: who may submit (clerks of
the trade unit), the payload (workflows.trade.notification, German messages per field), and for a GewA 2/3 that
it names an existing active business.

Also: putting a notification on hold in Prüfung (missing documents: a note and a follow-up on the procedure) and
resuming it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from eakte.clock import office_today, utcnow
from eakte.errors import Conflict, Invalid, NotFound
from eakte.models import Case, CaseCounter, CaseKey, FilePlanNode, FollowUp, Procedure, Unit, WorkflowInstance
from eakte.runtime import Runtime
from eakte.services import audit, cases, followups, notes, procedures, workflow
from eakte.services.access import Actor, require_change_case, require_create_in_unit, require_view_procedure
from eakte.services.trade import register
from eakte.services.trade.effects import HOLD_KEY
from workflows.definition import CaseType
from workflows.trade import entry as entry_rules
from workflows.trade.case_type import NOTIFICATION_LABELS
from workflows.trade.notification import Notification, NotificationError, parse_notification

CASE_TYPE = "trade"
BUSINESS_ID_FIELD = "business_id"
HOLD_STEP = "pruefung"  # completeness is checked there; only there may a notification wait for documents
MISSING_MAX = 20


@dataclass(frozen=True)
class IntakeResult:
    case: Case
    procedure: Procedure
    created: bool  # True: an Anmeldung created the business's case


def trade_type(rt: Runtime) -> CaseType:
    case_type = rt.registry.get(CASE_TYPE)
    if case_type is None:
        raise Conflict("the trade register (case type 'trade') is not installed",
                       detail_de="Das Gewerberegister (Aktentyp „trade“) ist nicht eingerichtet")
    return case_type


def german_date(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


def procedure_title(n: Notification) -> str:
    """E.g. "Gewerbeanmeldung (GewA 1) vom 01.12.2026" (the day it was received)."""
    return f"{NOTIFICATION_LABELS[n.notification]} vom {german_date(n.received_on)}"


def notification_invalid(exc: NotificationError) -> Invalid:
    """All of the payload's problems in one 422: `field` names the first, `errors` each (as the schema errors)."""
    problems = list(exc.problems)
    first = problems[0]
    rest = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    rest_de = f" (und {len(problems) - 1} weitere)" if len(problems) > 1 else ""
    return Invalid(f"{first.field}: {first.message}{rest}", field=first.field,
                   detail_de=f"{first.field}: {first.message_de}{rest_de}",
                   errors=[{"location": "json", "field": p.field, "messages": [p.message],
                            "messages_de": [p.message_de]} for p in problems])


def _no_business(business_id: str, why: str, why_de: str) -> Invalid:
    return Invalid(f"business_id: no active business with business ID {business_id!r} ({why})",
                   field=BUSINESS_ID_FIELD,
                   detail_de=f"business_id: Es gibt keinen angemeldeten Gewerbebetrieb mit der Betriebsnummer "
                             f"»{business_id}« ({why_de})",
                   errors=[{"location": "json", "field": BUSINESS_ID_FIELD,
                            "messages": [f"no active business with business ID {business_id!r} ({why})"],
                            "messages_de": [f"kein angemeldeter Gewerbebetrieb »{business_id}« ({why_de})"]}])


def _active_business(session: Session, actor: Actor, business_id: str) -> Case:
    """The case of the active business a GewA 2/3 names, locked; else 422 on business_id with the reason."""
    case_id = session.execute(select(CaseKey.case_id).where(CaseKey.case_type == CASE_TYPE,
                                                            CaseKey.name == BUSINESS_ID_FIELD,
                                                            CaseKey.value == business_id)).scalar()
    case = session.get(Case, case_id, with_for_update=True) if case_id is not None else None
    if case is None:
        raise _no_business(business_id, "unknown business ID", "unbekannte Betriebsnummer")
    require_change_case(actor.principal, case)
    current = register.current_entry(session, case.id)
    if case.status != "open" or (current is not None and current.status == "closed"):
        closed = current.data.get("closed_on") if current is not None else None
        return_de = f"abgemeldet zum {german_date(dt.date.fromisoformat(closed))}" if closed else "abgemeldet"
        raise _no_business(business_id, f"closed{' as of ' + closed if closed else ''}", return_de)
    if current is None:
        raise _no_business(business_id, "its Anmeldung is not entered in the register yet",
                           "die Anmeldung ist noch nicht eingetragen")
    return case


def _not_before_start(session: Session, case: Case, n: Notification) -> None:
    """A change or closure dated before the business started would enter a state that was never true."""
    current = register.current_entry(session, case.id)
    started = current.data.get("started_on") if current is not None else None
    if not started or n.effective_on >= dt.date.fromisoformat(str(started)):
        return
    begun = dt.date.fromisoformat(str(started))
    raise Invalid(f"effective_on: before the business started ({begun.isoformat()})", field="effective_on",
                  detail_de=f"effective_on: Das Datum liegt vor dem Beginn des Betriebs am {german_date(begun)}",
                  errors=[{"location": "json", "field": "effective_on",
                           "messages": [f"before the business started ({begun.isoformat()})"],
                           "messages_de": [f"vor dem Beginn des Betriebs am {german_date(begun)}"]}])


def _peek_case_number(session: Session, node_id: int, year: int) -> int:
    """The number `cases.create_case` hands out next in this file plan node and year, with the counter row locked
    until the commit (PostgreSQL; SQLite writes one transaction at a time), so it is the one it will hand out: the
    business ID is made from it and must be in the metadata the case is created with."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(CaseCounter).values(file_plan_node_id=node_id, year=year, last_number=0)
                    .on_conflict_do_nothing())
    last = session.execute(select(CaseCounter.last_number).where(CaseCounter.file_plan_node_id == node_id,
                                                                 CaseCounter.year == year)
                           .with_for_update()).scalar_one()
    return int(last) + 1


def business_id_for(year: int, number: int) -> str:
    return f"GW-{year}-{number:05d}"


def _new_business(rt: Runtime, session: Session, actor: Actor, case_type: CaseType, unit: Unit,
                  n: Notification) -> tuple[Case, str]:
    code = str(case_type.settings.get("file_plan_code") or "")
    node = session.execute(select(FilePlanNode).where(FilePlanNode.code == code)).scalar()
    if node is None:
        raise Conflict(f"the trade register's file plan node {code!r} does not exist",
                       detail_de=f"Die Aktenplanposition {code!r} des Gewerberegisters fehlt")
    year = office_today().year
    business_id = business_id_for(year, _peek_case_number(session, node.id, year))
    case = cases.create_case(session, actor, cases.NewCase(code, None, unit.code, case_type=CASE_TYPE),
                             rt.registry, derived=entry_rules.pending_metadata(n, business_id))
    if business_id != business_id_for(case.year, case.number):  # cannot happen while the counter is locked
        raise Conflict("the business number changed while the case was created; please submit again",
                       detail_de="Die Betriebsnummer hat sich beim Anlegen geändert; bitte erneut senden")
    return case, business_id


def _trade_unit(session: Session, actor: Actor, case_type: CaseType) -> Unit:
    code = str(case_type.settings.get("unit") or case_type.home_unit or "")
    unit = session.execute(select(Unit).where(Unit.code == code)).scalar()
    if unit is None:
        raise Conflict(f"the trade unit {code!r} does not exist",
                       detail_de=f"Die Organisationseinheit {code!r} des Gewerberegisters fehlt")
    require_create_in_unit(actor.principal, unit.id, unit.code)
    return unit


def submit_notification(rt: Runtime, actor: Actor, payload: Mapping[str, Any], *,
                        source: str = "api", note: str | None = None) -> IntakeResult:
    """Take in one notification; `source` says where it came from (api, web, import, ex_officio); `note` is added
    to the Eingangsvermerk. Returns the business's case and the new procedure."""
    case_type = trade_type(rt)
    with rt.db.write() as session:
        unit = _trade_unit(session, actor, case_type)
        if not isinstance(payload, Mapping):
            raise Invalid("the notification must be a JSON object", field="notification",
                          detail_de="Die Gewerbeanzeige muss ein JSON-Objekt sein")
        try:
            n = parse_notification(payload, today=office_today())
        except NotificationError as exc:
            raise notification_invalid(exc) from None
        if n.notification == "anmeldung":
            case, business_id = _new_business(rt, session, actor, case_type, unit, n)
            created = True
        else:
            business_id = str(n.business_id or "")
            case = _active_business(session, actor, business_id)
            _not_before_start(session, case, n)
            created = False
        data = n.to_json()
        data["business_id"] = business_id
        procedure = procedures.create_procedure(session, actor, rt.registry, case.id, procedure_title(n))
        procedure.metadata_ = audit.plain_json({"notification": n.notification, "received_on":
                                                n.received_on.isoformat(), "source": source, "data": data})
        session.flush()
        workflow.start_workflow(rt, session, actor, case, procedure)
        # The Eingangsvermerk: what came in, when and how. It is also the case's first entry in the search index,
        # which finds a business by the case fields its documents and notes carry (name, owners, address,
        # activity) from the moment it is notified; the Eintragung then re-indexes it with the entry's values.
        text = f"Eingang: {procedure_title(n)}, Betriebsnummer {business_id}, über {_SOURCES.get(source, source)}."
        if note:
            text += f" {note}"
        notes.record_note(session, actor, rt.registry, case.id, notes.NewNote(text=text[:notes.MAX_TEXT],
                                                                             procedure_id=procedure.id))
        audit.record(session, actor, "trade.notification", "procedure", procedure.id, case_id=case.id,
                     details={"notification": n.notification, "business_id": business_id, "source": source,
                              "procedure": procedure.reference, "received_on": n.received_on.isoformat(),
                              "effective_on": n.effective_on.isoformat(), "created_business": created})
        return IntakeResult(case, procedure, created)


_SOURCES = {"api": "die Schnittstelle", "web": "das Formular (Papieranzeige erfasst)", "import": "den Import",
            "ex_officio": "Abmeldung von Amts wegen"}


def ex_officio_deregistration(rt: Runtime, actor: Actor, case_id: int, effective_on: dt.date,
                              reason_text: str) -> IntakeResult:
    """The authority closes a business of its own accord (GewO §14(4): it has evidently ceased): a GewA 3 with
    reason von_amts_wegen, the grounds in the Eingangsvermerk and the procedure."""
    reason_text = (reason_text or "").strip()
    if not reason_text:
        raise Invalid("reason_text: the grounds are required", field="reason_text",
                      detail_de="Bitte geben Sie an, woraus sich die Aufgabe des Betriebs ergibt")
    if len(reason_text) > 2000:
        raise Invalid("reason_text: at most 2000 characters", field="reason_text",
                      detail_de="Die Begründung hat höchstens 2000 Zeichen")
    with rt.db.read() as session:
        case = cases.get_case(session, actor, case_id)
        if case.case_type != CASE_TYPE:
            raise NotFound(f"no business with id {case_id}", detail_de="Kein Gewerbebetrieb mit dieser Nummer")
        business_id = str(case.metadata_.get(BUSINESS_ID_FIELD) or "")
    payload = {"notification": "abmeldung", "business_id": business_id, "effective_on": effective_on.isoformat(),
               "reason": "von_amts_wegen", "ex_officio": True}
    return submit_notification(rt, actor, payload, source="ex_officio", note=f"Begründung: {reason_text}")


# --- hold and resume (Prüfung) ----------------------------------------------------------------------------

def _notification_procedure(rt: Runtime, session: Session, actor: Actor, procedure_id: int) -> Procedure:
    procedure = require_view_procedure(session, actor.principal, rt.registry,
                                       session.get(Procedure, procedure_id, with_for_update=True))
    if procedure.case.case_type != CASE_TYPE or "notification" not in (procedure.metadata_ or {}):
        raise NotFound(f"no trade notification {procedure_id}", detail_de="Keine Gewerbeanzeige mit dieser Nummer")
    require_change_case(actor.principal, procedure.case)
    return procedure


def _current_step(session: Session, procedure: Procedure) -> str | None:
    return session.execute(select(WorkflowInstance.current_step)
                           .where(WorkflowInstance.procedure_id == procedure.id)).scalar()


def hold(rt: Runtime, actor: Actor, procedure_id: int, missing: list[str], follow_up_on: dt.date,
         note: str) -> Procedure:
    """Put a notification in Prüfung on hold until missing documents arrive (e.g. the §34c permit): a note saying
    what is missing, a follow-up for the trade unit on the procedure, procedure metadata "hold". Prüfung cannot be
    completed meanwhile (effects.check)."""
    wanted = [str(m).strip() for m in (missing or []) if str(m).strip()]
    if not wanted:
        raise Invalid("missing: name at least one missing document", field="missing",
                      detail_de="Bitte nennen Sie mindestens eine fehlende Unterlage")
    if len(wanted) > MISSING_MAX or any(len(m) > 300 for m in wanted):
        raise Invalid(f"missing: at most {MISSING_MAX} items of 300 characters", field="missing",
                      detail_de=f"Höchstens {MISSING_MAX} fehlende Unterlagen mit je 300 Zeichen")
    note = (note or "").strip()
    with rt.db.write() as session:
        procedure = _notification_procedure(rt, session, actor, procedure_id)
        step = _current_step(session, procedure)
        if step != HOLD_STEP:
            raise Conflict(f"{procedure.reference} is not in Prüfung (step: {step or 'none'}); only a notification "
                           "being checked can wait for documents",
                           detail_de=f"Die Anzeige {procedure.reference} ist nicht in der Prüfung; nur dort kann "
                                     "sie auf Unterlagen warten")
        if (procedure.metadata_ or {}).get(HOLD_KEY):
            raise Conflict(f"{procedure.reference} is on hold already",
                           detail_de=f"Die Anzeige {procedure.reference} ist bereits zurückgestellt")
        listed = "; ".join(wanted)
        reminder = f"Fehlende Unterlagen: {listed}" + (f" – {note}" if note else "")
        fu = followups.create_followup(session, actor, procedure.case_id, followups.NewFollowUp(
            due_on=follow_up_on, note=reminder[:followups.NOTE_MAX], for_unit=True, procedure_id=procedure.id),
            registry=rt.registry)
        text = f"Zurückgestellt bis zum Eingang fehlender Unterlagen: {listed}. Wiedervorlage am " \
               f"{german_date(fu.due_on)}." + (f" {note}" if note else "")
        written = notes.record_note(session, actor, rt.registry, procedure.case_id,
                                    notes.NewNote(text=text[:notes.MAX_TEXT], procedure_id=procedure.id))
        state = {"since": utcnow().isoformat(timespec="seconds"), "by": actor.principal.username,
                 "missing": wanted, "follow_up_on": fu.due_on.isoformat(), "followup_id": fu.id,
                 "note_id": written.id, "note": note}
        procedure.metadata_ = {**(procedure.metadata_ or {}), HOLD_KEY: state}
        procedure.updated_at = utcnow()
        audit.record(session, actor, "trade.hold", "procedure", procedure.id, case_id=procedure.case_id,
                     details={"procedure": procedure.reference, "missing": wanted,
                              "follow_up_on": fu.due_on.isoformat()})
        return procedure


def resume(rt: Runtime, actor: Actor, procedure_id: int) -> Procedure:
    """The documents came (or are no longer needed): the hold ends, its follow-up is done, a note says so."""
    with rt.db.write() as session:
        procedure = _notification_procedure(rt, session, actor, procedure_id)
        state = (procedure.metadata_ or {}).get(HOLD_KEY)
        if not state:
            raise Conflict(f"{procedure.reference} is not on hold",
                           detail_de=f"Die Anzeige {procedure.reference} ist nicht zurückgestellt")
        fu_id = state.get("followup_id") if isinstance(state, dict) else None
        fu = session.get(FollowUp, fu_id) if isinstance(fu_id, int) else None
        if fu is not None and fu.status == "open":
            followups.mark_done(session, actor, fu.id)
        notes.record_note(session, actor, rt.registry, procedure.case_id, notes.NewNote(
            text="Fortgesetzt: Die Zurückstellung wegen fehlender Unterlagen ist beendet.",
            procedure_id=procedure.id))
        procedure.metadata_ = {k: v for k, v in (procedure.metadata_ or {}).items() if k != HOLD_KEY}
        procedure.updated_at = utcnow()
        audit.record(session, actor, "trade.resume", "procedure", procedure.id, case_id=procedure.case_id,
                     details={"procedure": procedure.reference, "held_since": state.get("since")
                              if isinstance(state, dict) else None})
        return procedure
