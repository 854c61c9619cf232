"""Trade-register test builders shared by the trade tests (issue 13): a business built directly at service level
(its case with the derived metadata, a notification procedure, its TradeEntry row), for tests that must not wait
for the intake. Helpers add their own functions here; nobody rewrites another's."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from eakte.models import Case, TradeEntry
from eakte.runtime import Runtime
from eakte.services import cases, identity, procedures
from eakte.services.access import Actor, load_principal

TRADE_UNIT, TRADE_PLAN = "32", "32.10"


def trade_actor(rt: Runtime, username: str) -> Actor:
    """The user as the services see them (roles read fresh)."""
    with rt.db.read() as session:
        user = identity.user_by_name(session, username)
        return Actor(load_principal(session, user, rt.registry.restricted, rt.settings.confidentiality), "test")


def anmeldung_payload(**overrides: Any) -> dict[str, Any]:
    """A complete, valid GewA 1 payload (the intake's JSON): a retail shop of one owner with a residence permit
    on file, so that every personal field (birth date, residence permit) is there to be withheld."""
    payload: dict[str, Any] = {
        "notification": "anmeldung", "received_on": "2026-03-02", "effective_on": "2026-03-01",
        "reason": "neuerrichtung", "registered_name": "Feinkost Muster", "legal_form": "einzelunternehmen",
        "street": "Frankfurter Straße", "house_number": "12", "postal_code": "63263", "city": "Neu-Isenburg",
        "phone": "06102 123456", "email": "info@feinkost-muster.de",
        "persons": [{"role": "owner", "family_name": "Muster", "given_names": "Erika", "birth_date": "1980-04-12",
                     "birth_place": "Offenbach am Main", "nationality": "TR", "street": "Bahnhofstraße",
                     "house_number": "3", "postal_code": "63263", "city": "Neu-Isenburg",
                     "residence_permit": True}],
        "activity": "Einzelhandel mit Feinkost und Lebensmitteln", "activity_key": "47.29",
        "business_type": "handel", "part_time": False, "employees_full_time": 2, "employees_part_time": 1,
        "establishment": "hauptniederlassung", "permits": [], "handwerkskarte": False,
    }
    payload.update(overrides)
    return payload


def _entry_from(payload: dict[str, Any], status: str) -> dict[str, Any]:
    """The register entry as the notification would leave it: its entry fields + status and dates."""
    envelope = {"notification", "business_id", "received_on", "effective_on", "reason", "ex_officio"}
    entry = {k: v for k, v in payload.items() if k not in envelope}
    entry.update(status=status, started_on=payload.get("effective_on"),
                 closed_on=payload.get("effective_on") if status == "closed" else None)
    return entry


def build_business(rt: Runtime, actor: Actor, payload: dict[str, Any] | None = None, *,
                   business_id: str = "GW-2026-00001") -> tuple[int, int]:
    """A registered business with one notification procedure (metadata notification, received_on, data) and
    its TradeEntry row, in the trade unit; returns (case id, procedure id). `payload` as anmeldung_payload()."""
    payload = payload or anmeldung_payload()
    kind = payload["notification"]
    status = "closed" if kind == "abmeldung" else "active"
    entry = _entry_from(payload, status)
    person = (payload.get("persons") or [{}])[0]
    derived = {"business_id": business_id, "registered_name": payload.get("registered_name", "Betrieb"),
               "owners": f"{person.get('family_name', '')}, {person.get('given_names', '')}",
               "business_address": f"{payload.get('street', '')} {payload.get('house_number', '')}, "
                                   f"{payload.get('postal_code', '')} {payload.get('city', '')}",
               "postal_code": payload.get("postal_code", ""), "activity": payload.get("activity", ""),
               "business_type": payload.get("business_type", "sonstiges"), "status": status}
    with rt.db.write() as session:
        case = cases.create_case(session, actor, cases.NewCase(TRADE_PLAN, None, TRADE_UNIT, case_type="trade"),
                                 rt.registry, derived=derived)
        procedure = procedures.create_procedure(session, actor, rt.registry, case.id,
                                                f"Gewerbeanzeige ({kind}) vom {payload['received_on']}")
        procedure.metadata_ = {"notification": kind, "received_on": payload["received_on"], "source": "test",
                               "data": {**payload, "business_id": business_id}}
        session.add(TradeEntry(case_id=case.id, procedure_id=procedure.id, version=1, notification=kind,
                               valid_from=dt.date.fromisoformat(payload["effective_on"]), status=status, data=entry,
                               recorded_by=actor.principal.user_id))
        session.flush()
        return case.id, procedure.id


# --- transmissions (helper "outbox") ---------------------------------------------------------------------------

def transmit(rt: Runtime, actor: Actor, case_id: int, procedure_id: int) -> list[int]:
    """The notification's transmissions, created as entering the step Datenübermittlung does; their ids."""
    from eakte.models import Procedure
    from eakte.services.trade import outbox
    with rt.db.write() as session:
        case, procedure = session.get(Case, case_id), session.get(Procedure, procedure_id)
        assert case is not None and procedure is not None
        return [t.id for t in outbox.create_transmissions(rt, session, actor, case, procedure)]


# A recipient table as GewAnzV §3 has it, with the tests' own keys (the shipped table is the pure rules').
TEST_RECIPIENTS: list[dict[str, Any]] = [
    {"key": "ihk", "name": "IHK Offenbach am Main", "notifications": ["anmeldung", "ummeldung", "abmeldung"],
     "business_types": [], "registered_only": False, "excluded_fields": [13, 27, 29, 30, 31, 33],
     "format": "json", "timing": "immediate"},
    {"key": "hwk", "name": "Handwerkskammer Frankfurt-Rhein-Main",
     "notifications": ["anmeldung", "ummeldung", "abmeldung"], "business_types": ["handwerk"],
     "registered_only": False, "excluded_fields": [33], "format": "json", "timing": "immediate"},
    {"key": "eichamt", "name": "Hessische Eichdirektion", "notifications": ["anmeldung", "ummeldung", "abmeldung"],
     "business_types": [], "registered_only": False, "fields": [1, 3, 4, 5, 11, 14, 15, 18, 20],
     "format": "json", "timing": "immediate"},
    {"key": "statistik", "name": "Hessisches Statistisches Landesamt", "notifications": ["anmeldung", "ummeldung"],
     "business_types": [], "registered_only": False, "excluded_fields": [33], "format": "xml",
     "timing": "next_month"},
    {"key": "registergericht", "name": "Amtsgericht Offenbach – Registergericht", "notifications": ["abmeldung"],
     "business_types": [], "registered_only": True, "fields": [1, 2, 14, 20], "format": "json",
     "timing": "immediate"},
]


def outbox_runtime(tmp_path: Path, db_url: str, **settings: Any) -> Runtime:
    """A runtime whose trade register sends to TEST_RECIPIENTS by a directory drop into <tmp>/outbox, giving up
    after 3 attempts; `settings` override."""
    from tests.conftest import make_runtime
    trade = {"recipients": TEST_RECIPIENTS, "outbox_dir": str(tmp_path / "outbox"), "send_attempts": 3, **settings}
    return make_runtime(tmp_path, db_url, case_types={"trade": trade})


# --- added by the letters helper (extracts, retrieval log) ----------------------------------------------------

TRADE_CHECKERS = {"heidi": [(TRADE_UNIT, "approver")], "hanna": [(TRADE_UNIT, "head_of_unit")]}


def add_trade_users(rt: Runtime, town: Any, users: dict[str, list[tuple[str, str]]] | None = None) -> None:
    """Users beside the conftest town (default: the trade unit's approver `heidi` and head of unit `hanna`, who
    read the retrieval log), with their API tokens put into `town`."""
    from tests.conftest import OPERATOR
    with rt.db.write() as session:
        for username, roles in (users or TRADE_CHECKERS).items():
            user = identity.create_user(session, OPERATOR, username, password="correct horse battery",
                                        roles=[identity.UnitRole(u, r) for u, r in roles],
                                        known_roles=rt.registry.roles)
            town.user_ids[username] = user.id
            town.tokens[username] = identity.issue_token(session, OPERATOR, user, "test")


def build_pending_business(rt: Runtime, actor: Actor, *, business_id: str = "GW-2026-00099") -> int:
    """A business notified but not entered yet: its case without any TradeEntry row; returns the case id."""
    with rt.db.write() as session:
        case = cases.create_case(session, actor, cases.NewCase(TRADE_PLAN, None, TRADE_UNIT, case_type="trade"),
                                 rt.registry, derived={"business_id": business_id, "registered_name": "Angezeigt",
                                                       "status": "pending"})
        return case.id


def add_notification(rt: Runtime, actor: Actor, case_id: int, payload: dict[str, Any]) -> int:
    """A later notification (GewA 2 or 3) of the business, already entered: its procedure and a new TradeEntry
    version (the given entry fields changed; an Abmeldung closes the entry). Returns the procedure id."""
    from sqlalchemy import select
    kind = payload["notification"]
    with rt.db.write() as session:
        latest = session.execute(select(TradeEntry).where(TradeEntry.case_id == case_id)
                                 .order_by(TradeEntry.version.desc()).limit(1)).scalar_one()
        procedure = procedures.create_procedure(session, actor, rt.registry, case_id,
                                                f"Gewerbeanzeige ({kind}) vom {payload['received_on']}")
        business_id = session.get(Case, case_id).metadata_["business_id"]  # type: ignore[union-attr]
        procedure.metadata_ = {"notification": kind, "received_on": payload["received_on"], "source": "test",
                               "data": {**payload, "business_id": business_id}}
        if kind == "abmeldung":  # GewA 3 names no entry fields: the entry stays as it was, closed
            entry = {**latest.data, "status": "closed", "closed_on": payload["effective_on"]}
        else:
            entry = {**latest.data, **_entry_from(payload, "active"), "started_on": latest.data.get("started_on")}
        session.add(TradeEntry(case_id=case_id, procedure_id=procedure.id, version=latest.version + 1,
                               notification=kind, valid_from=dt.date.fromisoformat(payload["effective_on"]),
                               status=entry["status"], data=entry, recorded_by=actor.principal.user_id))
        session.flush()
        return procedure.id


# --- intake through the API (helper "intake") ----------------------------------------------------------------

def submit(client: Any, auth: dict[str, str], payload: dict[str, Any], status: int = 201) -> dict[str, Any]:
    """POST /api/v1/intake/trade, asserting the status; the answer's body."""
    resp = client.post("/api/v1/intake/trade", json=payload, headers=auth)
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def open_task(client: Any, auth: dict[str, str], procedure_id: int) -> dict[str, Any]:
    """The notification as GET /api/v1/trade/procedures/{id} shows it (its open task, step, due date …)."""
    resp = client.get(f"/api/v1/trade/procedures/{procedure_id}", headers=auth)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def decide(client: Any, auth: dict[str, str], procedure_id: int, decision: str, status: int = 200,
           comment: str = "") -> dict[str, Any]:
    """Decide the notification's open task with POST /api/v1/tasks/{id}/complete."""
    task_id = open_task(client, auth, procedure_id)["open_task_id"]
    assert task_id, f"procedure {procedure_id} has no open task"
    resp = client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": decision, "comment": comment},
                       headers=auth)
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def mark_sent(rt: Runtime, procedure_id: int) -> None:
    """The procedure's transmissions as the sender leaves them once delivered (status sent)."""
    from sqlalchemy import update
    from eakte.clock import utcnow
    from eakte.models import TradeTransmission
    with rt.db.write() as session:
        session.execute(update(TradeTransmission).where(TradeTransmission.procedure_id == procedure_id)
                        .values(status="sent", sent_at=utcnow(), attempts=1))


def walk_to_done(client: Any, rt: Runtime, auth: dict[str, str], procedure_id: int) -> None:
    """Eingang → Prüfung → Eintragung → Empfangsbescheinigung → Datenübermittlung → done."""
    for decision in ("accept", "complete", "register", "issued"):
        decide(client, auth, procedure_id, decision)
    mark_sent(rt, procedure_id)
    decide(client, auth, procedure_id, "transmitted")
