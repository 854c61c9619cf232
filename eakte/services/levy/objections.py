"""Objections (Widerspruch, §§68 ff. VwGO) against a levy notice, and the records the after-notice decisions
need.

An objection is recorded against the procedure's newest sent notice with the deadline it had (notified on the
third day after posting, one month from then, to the next working day: workflows.levy.deadlines); one received
later is flagged `late`, not refused (the authority decides what a late objection means). Recording it decides
the running task "objection", so the procedure goes to the review (Widerspruchsprüfung). The review ends in
- remedy (Abhilfe): the objection is remedied, the procedure metadata `pending` asks for a new computation from
  the objected notice's effective day, and the task is decided "remedy" (→ Berechnung; the four-eyes check and a
  new notice follow in the procedure's flow);
- rejection (Nichtabhilfe): the objection goes to the objection authority (forwarded_to, by default the
  configured `objection_authority`), and the task is decided "reject" (→ laufend, the notice stands).

The record comes first, the decision of the step second (two transactions: the workflow service decides in its
own). Whoever may not decide the step now is refused before anything is recorded; should the decision still fail
(someone decided the task meanwhile), the record stays and the step can be decided in the Postkorb, which
`check_decision` then lets through. `check_decision` is what the levy's step effects call so that the Postkorb
cannot decide these steps without the record.

This module imports the workflow service only inside functions: the step effects (imported by the workflow
service) import this module."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from eakte.clock import office_today, utcnow
from eakte.errors import Conflict, Invalid, NotFound
from eakte.models import LevyNotice, LevyObjection, Procedure, Task
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import Actor
from eakte.services.levy.common import levy_procedure, levy_type, require_step, required_text
from workflows.levy import deadlines

GROUNDS_MAX = 20_000
NOTE_MAX = 5_000
AUTHORITY_MAX = 300  # LevyObjection.forwarded_to


# --- shared by the after-notice services (objections, changes) ----------------------------------------------

def not_in_future(day: dt.date, field: str, label_de: str) -> dt.date:
    if day > office_today():
        raise Invalid(f"{field} lies in the future", field=field, detail_de=f"{label_de} liegt in der Zukunft")
    return day


def newest_notice(session: Session, procedure_id: int, *, sent: bool = False) -> LevyNotice | None:
    """The procedure's newest notice (with `sent`: the newest one marked sent)."""
    q = select(LevyNotice).where(LevyNotice.procedure_id == procedure_id)
    if sent:
        q = q.where(LevyNotice.sent_on.is_not(None))
    return session.execute(q.order_by(LevyNotice.issued_at.desc(), LevyNotice.id.desc()).limit(1)).scalar()


def open_task(session: Session, procedure: Procedure, step: str) -> Task:
    """The procedure's open task of `step` (there is one while the workflow is in that step)."""
    task = session.execute(select(Task).where(Task.procedure_id == procedure.id, Task.step == step,
                                              Task.status == "open").order_by(Task.id).limit(1)).scalar()
    if task is None:
        raise Conflict(f"{procedure.reference} has no open task in step {step}",
                       detail_de=f"Vorgang {procedure.reference} hat keine offene Aufgabe in diesem Schritt")
    return task


def require_may_decide(session: Session, actor: Actor, task: Task) -> None:
    """Refuse before anything is recorded what the workflow service would refuse when deciding (a task claimed
    by someone else, one the actor's roles do not open)."""
    from eakte.services.workflow import require_may_act_on
    require_may_act_on(session, actor.principal, task)


def decide(rt: Runtime, actor: Actor, task_id: int, decision: str, comment: str) -> None:
    """Decide the step through the workflow service (its own transaction; the step effects run in it)."""
    from eakte.services import workflow
    workflow.complete_task(rt, actor, task_id, decision, comment)


# --- reading ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ObjectionEntry:
    id: int
    case_id: int
    procedure_id: int
    procedure_reference: str
    notice_id: int
    notice_kind: str
    notice_sent_on: dt.date | None
    received_on: dt.date
    deadline: dt.date
    late: bool
    grounds: str
    status: str  # open | remedied | rejected
    created_at: dt.datetime
    decided_at: dt.datetime | None
    decision_note: str | None
    forwarded_to: str | None


def entry_of(session: Session, row: LevyObjection) -> ObjectionEntry:
    notice = session.get(LevyNotice, row.notice_id)
    reference = session.execute(select(Procedure.reference).where(Procedure.id == row.procedure_id)).scalar_one()
    return ObjectionEntry(row.id, row.case_id, row.procedure_id, reference, row.notice_id,
                          notice.kind if notice else "", notice.sent_on if notice else None, row.received_on,
                          row.deadline, row.late, row.grounds, row.status, row.created_at, row.decided_at,
                          row.decision_note, row.forwarded_to)


def objections_of(session: Session, procedure_id: int) -> list[ObjectionEntry]:
    """The procedure's objections, oldest first (for the procedure page; the caller has checked access)."""
    rows = session.execute(select(LevyObjection).where(LevyObjection.procedure_id == procedure_id)
                           .order_by(LevyObjection.id)).scalars().all()
    return [entry_of(session, r) for r in rows]


def open_objection(session: Session, procedure_id: int) -> LevyObjection | None:
    return session.execute(select(LevyObjection).where(LevyObjection.procedure_id == procedure_id,
                                                       LevyObjection.status == "open")
                           .order_by(LevyObjection.id.desc()).limit(1)).scalar()


def newest_objection(session: Session, procedure_id: int) -> LevyObjection | None:
    return session.execute(select(LevyObjection).where(LevyObjection.procedure_id == procedure_id)
                           .order_by(LevyObjection.id.desc()).limit(1)).scalar()


@dataclass(frozen=True)
class Deadline:
    notice_id: int
    sent_on: dt.date
    notified_on: dt.date
    deadline: dt.date


def deadline_of(rt: Runtime, notice: LevyNotice) -> Deadline:
    """The objection deadline of a sent notice, from the configured notification days and months."""
    if notice.sent_on is None:
        raise Conflict(f"notice {notice.id} has not been sent", detail_de="Der Bescheid ist noch nicht versandt")
    settings = levy_type(rt).settings
    notified = deadlines.notified_on(notice.sent_on, int(settings["notification_days"]))
    return Deadline(notice.id, notice.sent_on, notified,
                    deadlines.objection_deadline(notified, int(settings["objection_months"])))


def objection_deadline(rt: Runtime, actor: Actor, procedure_id: int) -> Deadline | None:
    """The deadline an objection against the procedure's newest sent notice has (None before one is sent)."""
    with rt.db.read() as session:
        procedure = levy_procedure(rt, session, actor, procedure_id)
        notice = newest_notice(session, procedure.id, sent=True)
        return deadline_of(rt, notice) if notice is not None else None


def read_objection(rt: Runtime, actor: Actor, objection_id: int) -> ObjectionEntry:
    with rt.db.read() as session:
        row = _objection(rt, session, actor, objection_id, change=False)
        return entry_of(session, row)


def _objection(rt: Runtime, session: Session, actor: Actor, objection_id: int, *, change: bool,
               lock: bool = False) -> LevyObjection:
    row = session.get(LevyObjection, objection_id)
    if row is None:
        raise NotFound(f"no objection {objection_id}", detail_de="Kein Widerspruch mit dieser Nummer")
    levy_procedure(rt, session, actor, row.procedure_id, change=change, lock=lock)  # 404 for those who see nothing
    if lock:
        session.refresh(row)
    return row


# --- filing and deciding ------------------------------------------------------------------------------------

def file_objection(rt: Runtime, actor: Actor, procedure_id: int, received_on: dt.date,
                   grounds: str) -> ObjectionEntry:
    """Record an objection received on `received_on` against the procedure's newest sent notice (clerks of the
    levy unit, while the levy runs); late ones are flagged. Then the running task is decided "objection"."""
    with rt.db.write() as session:
        procedure = levy_procedure(rt, session, actor, procedure_id, change=True, lock=True)
        require_step(session, procedure, ("laufend",), "Filing an objection", "Ein Widerspruch")
        text = required_text(grounds, "grounds", "die Begründung bzw. den Inhalt des Widerspruchs", GROUNDS_MAX)
        notice = newest_notice(session, procedure.id, sent=True)
        if notice is None:
            raise Conflict(f"{procedure.reference} has no sent notice to object to",
                           detail_de=f"Im Vorgang {procedure.reference} ist noch kein Bescheid versandt")
        not_in_future(received_on, "received_on", "Der Eingang des Widerspruchs")
        if received_on < notice.sent_on:
            raise Invalid("received_on lies before the notice was sent", field="received_on",
                          detail_de="Der Eingang liegt vor dem Versand des Bescheids "
                                    f"({notice.sent_on:%d.%m.%Y})")
        if open_objection(session, procedure.id) is not None:
            raise Conflict(f"{procedure.reference} has an objection not yet decided",
                           detail_de=f"Im Vorgang {procedure.reference} ist bereits ein Widerspruch offen")
        if ((procedure.metadata_ or {}).get("pending") or {}).get("kind") == "cancellation":
            # The review would decide on a notice about to be cancelled, and a remedy would replace the application.
            # The objection keeps its own day of receipt, so recording it after the decision loses nothing.
            raise Conflict(f"a cancellation of {procedure.reference} awaits its confirmation; confirm or withdraw "
                           "it first", detail_de="Für diesen Vorgang ist eine Aufhebung beantragt; sie ist zuerst zu "
                                                 "bestätigen oder zu verwerfen, dann wird der Widerspruch erfasst")
        task = open_task(session, procedure, "laufend")
        require_may_decide(session, actor, task)
        due = deadline_of(rt, notice)
        late = deadlines.is_late(received_on, due.deadline)
        row = LevyObjection(case_id=procedure.case_id, procedure_id=procedure.id, notice_id=notice.id,
                            received_on=received_on, deadline=due.deadline, late=late, grounds=text, status="open",
                            created_at=utcnow(), created_by=actor.principal.user_id)
        session.add(row)
        session.flush()
        audit.record(session, actor, "levy.objection.file", "levy_objection", row.id, case_id=procedure.case_id,
                     details={"procedure": procedure.reference, "notice_id": notice.id,
                              "notice_kind": notice.kind, "sent_on": notice.sent_on.isoformat(),
                              "notified_on": due.notified_on.isoformat(), "received_on": received_on.isoformat(),
                              "deadline": due.deadline.isoformat(), "late": late})
        objection_id, task_id = row.id, task.id
    comment = f"Widerspruch vom {received_on:%d.%m.%Y}" + (" (verspätet)" if late else "")
    decide(rt, actor, task_id, "objection", comment)
    return read_objection(rt, actor, objection_id)


def decide_objection(rt: Runtime, actor: Actor, objection_id: int, remedy: bool, note: str,
                     forwarded_to: str | None = None) -> ObjectionEntry:
    """Decide the review of an open objection: remedy (a new computation and notice from the objected notice's
    effective day) or rejection (forwarded to the objection authority); audited, then the step is decided."""
    with rt.db.write() as session:
        row = _objection(rt, session, actor, objection_id, change=True, lock=True)
        procedure = levy_procedure(rt, session, actor, row.procedure_id, change=True)
        require_step(session, procedure, ("widerspruch",), "Deciding an objection", "Die Entscheidung über den "
                                                                                   "Widerspruch")
        if row.status != "open":
            raise Conflict(f"objection {row.id} is decided already ({row.status})",
                           detail_de="Über diesen Widerspruch ist bereits entschieden")
        text = required_text(note, "note", "die Gründe der Entscheidung", NOTE_MAX)
        task = open_task(session, procedure, "widerspruch")
        require_may_decide(session, actor, task)
        notice = session.get(LevyNotice, row.notice_id)
        assert notice is not None
        details: dict[str, object] = {"procedure": procedure.reference, "notice_id": notice.id, "late": row.late}
        if remedy:
            row.status = "remedied"
            procedure.metadata_ = {**(procedure.metadata_ or {}), "pending": {
                "kind": "remedy", "effective_from": notice.effective_from.isoformat(), "reason": text,
                "objection_id": row.id}}
            procedure.updated_at = utcnow()
            details["effective_from"] = notice.effective_from.isoformat()
        else:
            authority = (forwarded_to or "").strip() or str(levy_type(rt).settings.get("objection_authority") or "")
            if not authority.strip():
                raise Invalid("forwarded_to is required: no objection authority is configured",
                              field="forwarded_to",
                              detail_de="Bitte die Widerspruchsbehörde angeben (keine ist eingerichtet)")
            if len(authority) > AUTHORITY_MAX:
                raise Invalid(f"forwarded_to is longer than {AUTHORITY_MAX} characters", field="forwarded_to",
                              detail_de=f"Die Widerspruchsbehörde ist länger als {AUTHORITY_MAX} Zeichen")
            row.status, row.forwarded_to = "rejected", authority
            details["forwarded_to"] = authority
        row.decided_at, row.decided_by, row.decision_note = utcnow(), actor.principal.user_id, text
        session.flush()
        audit.record(session, actor, "levy.objection." + ("remedy" if remedy else "reject"), "levy_objection",
                     row.id, case_id=procedure.case_id, details={**details, "note": text})
        task_id = task.id
    decide(rt, actor, task_id, "remedy" if remedy else "reject", text)
    return read_objection(rt, actor, objection_id)


# --- what the step effects check ----------------------------------------------------------------------------

def check_decision(session: Session, procedure: Procedure, step: str, decision: str) -> None:
    """Refuse an after-notice decision whose record is missing (for the levy's step effects' check()):
    - laufend/objection: an objection recorded and not yet decided (file_objection);
    - laufend/change: a §8 change asked for (procedure metadata pending kind "change": changes.request_change);
    - laufend/cancel: the cancellation notice filed (the newest notice is one, pending kind "cancellation":
      changes.confirm_cancellation);
    - widerspruch/remedy and widerspruch/reject: the open round's objection decided that way (decide_objection).
    Any other decision passes."""
    ref = procedure.reference
    if step == "laufend" and decision == "objection":
        if open_objection(session, procedure.id) is None:
            raise Conflict(f"record the objection of {ref} first (with its date and grounds)",
                           detail_de="Bitte zuerst den Widerspruch mit Eingangsdatum und Begründung erfassen "
                                     "(Fehlbelegungsabgabe → Widerspruch)")
    elif step == "laufend" and decision == "change":
        if ((procedure.metadata_ or {}).get("pending") or {}).get("kind") != "change":
            raise Conflict(f"record the §8 change of {ref} first (its date and reason)",
                           detail_de="Bitte zuerst die Änderung nach § 8 FBAG mit Datum und Grund erfassen "
                                     "(Fehlbelegungsabgabe → Änderung)")
    elif step == "laufend" and decision == "cancel":
        notice = newest_notice(session, procedure.id)
        if notice is None or notice.kind != "cancellation" or \
                ((procedure.metadata_ or {}).get("pending") or {}).get("kind") != "cancellation":
            raise Conflict(f"issue the cancellation notice of {ref} first",
                           detail_de="Bitte zuerst den Aufhebungsbescheid erstellen "
                                     "(Fehlbelegungsabgabe → Änderung/Aufhebung)")
    elif step == "widerspruch" and decision in ("remedy", "reject"):
        row = newest_objection(session, procedure.id)
        wanted = "remedied" if decision == "remedy" else "rejected"
        pending = (procedure.metadata_ or {}).get("pending") or {}
        ok = row is not None and row.status == wanted and (
            decision == "reject" or (pending.get("kind") == "remedy" and pending.get("objection_id") == row.id))
        if not ok:
            raise Conflict(f"record the decision on the objection of {ref} first",
                           detail_de="Bitte zuerst die Entscheidung über den Widerspruch mit Begründung erfassen "
                                     "(Fehlbelegungsabgabe → Widerspruch entscheiden)")
