"""Levy test builders shared by the levy tests (issue 14): a runtime with the levy configured, a town with the
housing office (unit 50) and its clerks, and a flat's case with a survey procedure and its workflow built directly
at service level (for tests that must not wait for the survey run). Helpers add their own functions at the end;
nobody rewrites another's."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from eakte.models import LevySurvey, Unit
from eakte.runtime import Runtime
from eakte.services import cases, fileplan, identity, procedures, workflow
from eakte.services.access import Actor, load_principal
from sqlalchemy import select

LEVY_UNIT, LEVY_PLAN = "50", "50.20"
# A clearly fictional account (the IBAN standard's example), so notices carry payment details.
LEVY_SETTINGS: dict[str, Any] = {"municipality": "Stadt Musterstadt", "payee_name": "Stadtkasse Musterstadt",
                                 "payee_iban": "DE89370400440532013000", "payee_bic": "COBADEFFXXX",
                                 "objection_authority": "Anhörungsausschuss des Kreises Musterkreis"}
# wilhelm and lena: the housing office's clerks (four-eyes needs two); anna: a clerk of another unit.
LEVY_USERS = {"wilhelm": [(LEVY_UNIT, "clerk")], "lena": [(LEVY_UNIT, "clerk")], "anna": [("20", "clerk")],
              "rita": [("14", "auditor")], "admin": [("10", "admin")]}


def levy_runtime(tmp_path: Path, db_url: str, **settings: Any) -> Runtime:
    from tests.conftest import make_runtime
    return make_runtime(tmp_path, db_url, case_types={"levy": {**LEVY_SETTINGS, **settings}})


def at_day(day: str) -> None:
    """Set the one clock to 09:00 UTC of an ISO day."""
    from eakte.clock import set_clock
    set_clock(lambda: dt.datetime.combine(dt.date.fromisoformat(day), dt.time(9), tzinfo=dt.timezone.utc))


@contextmanager
def levy_runtime_at(tmp_path: Path, db_url: str, now: dt.datetime | None = None, *,
                    town: bool = False) -> Iterator[Runtime]:
    """A levy runtime (with build_levy_town's units and users if `town`) with the clock at `now` while it
    lasts (the real clock if None)."""
    from eakte.clock import set_clock
    runtime = levy_runtime(tmp_path, db_url)
    if town:
        build_levy_town(runtime)
    if now is not None:
        set_clock(lambda: now)
    try:
        yield runtime
    finally:
        set_clock(None)
        runtime.close()


def build_levy_town(rt: Runtime) -> Any:
    """A Town (tests.conftest) with the units 10, 14, 20, 50, the file plan 50/50.20 and LEVY_USERS."""
    from tests.conftest import OPERATOR, Town
    town = Town()
    with rt.db.write() as session:
        for code, name in [("10", "Hauptamt"), ("14", "Rechnungsprüfungsamt"), ("20", "Kämmerei"),
                           (LEVY_UNIT, "Amt für Wohnungswesen")]:
            identity.create_unit(session, OPERATOR, code, name)
        for code, title in [("50", "Wohnen"), (LEVY_PLAN, "Fehlbelegungsabgabe")]:
            fileplan.add_node(session, OPERATOR, code, title, 10, "archive")
        for username, roles in LEVY_USERS.items():
            user = identity.create_user(session, OPERATOR, username, password="correct horse battery",
                                        roles=[identity.UnitRole(u, r) for u, r in roles])
            town.user_ids[username] = user.id
            town.tokens[username] = identity.issue_token(session, OPERATOR, user, "test")
    return town


def levy_actor(rt: Runtime, username: str) -> Actor:
    with rt.db.read() as session:
        user = identity.user_by_name(session, username)
        return Actor(load_principal(session, user, rt.registry.restricted, rt.settings.confidentiality), "test")


def flat_metadata(**overrides: Any) -> dict[str, Any]:
    """A flat of 60 m², built 1985, central heating, Mietenstufe I (Höchstbetrag 4.70 €/m², cap 361 €)."""
    flat = {"flat_id": "GWH-0012-03", "street": "Goethestraße", "house_number": "12", "postal_code": "12345",
            "city": "Musterstadt", "flat_number": "2. OG links", "area_m2": "60", "build_year": 1985,
            "heating": "central", "mietenstufe": "I", "net_rent": "390.00",
            "landlord": "Gemeinnützige Wohnungsbau Musterstadt GmbH", "tenant_name": "Jana Beispiel"}
    flat.update(overrides)
    return flat


def members(*incomes: str | None, children: int = 0) -> list[dict[str, Any]]:
    """Adult members with these annual incomes (tenant: the first), then `children` children without income."""
    out: list[dict[str, Any]] = [{"name": f"Erwachsene Person {i + 1}", "birth_date": f"{1970 + i}-05-01",
                                  "child": False, "tenant": i == 0, "annual_income": income, "benefit": None}
                                 for i, income in enumerate(incomes)]
    out += [{"name": f"Kind {i + 1}", "birth_date": f"{2015 + i}-02-01", "child": True, "tenant": False,
             "annual_income": None, "benefit": None} for i in range(children)]
    return out


def build_flat_procedure(rt: Runtime, actor: Actor, flat: dict[str, Any] | None = None, *,
                         household: list[dict[str, Any]] | None = None, reference_date: str = "2026-01-01",
                         deadline: str = "2026-02-15", period_start: str = "2026-04-01",
                         period_end: str = "2029-03-31") -> tuple[int, int]:
    """A flat's case (levy unit) with one survey procedure (metadata as the survey run writes it, the household
    from `household` or just the tenant) and its workflow in Erhebung; (case id, procedure id)."""
    flat = flat or flat_metadata()
    with rt.db.write() as session:
        unit = session.execute(select(Unit).where(Unit.code == LEVY_UNIT)).scalar_one()
        survey = LevySurvey(unit_id=unit.id, landlord=flat["landlord"],
                            reference_date=dt.date.fromisoformat(reference_date),
                            deadline=dt.date.fromisoformat(deadline), period_start=dt.date.fromisoformat(period_start),
                            period_end=dt.date.fromisoformat(period_end), households=1, source_name="test.csv",
                            created_by=actor.principal.user_id)
        session.add(survey)
        session.flush()
        case = cases.create_case(session, actor, cases.NewCase(LEVY_PLAN, None, LEVY_UNIT, case_type="levy"),
                                 rt.registry, derived=flat)
        procedure = procedures.create_procedure(session, actor, rt.registry, case.id,
                                                f"Fehlbelegungsabgabe {period_start[:4]}–{period_end[:4]}")
        tenant = {"name": flat.get("tenant_name") or "Mieter/in", "birth_date": None, "child": False,
                  "tenant": True, "annual_income": None, "benefit": None}
        procedure.metadata_ = {
            "survey_id": survey.id, "reference_date": reference_date, "deadline": deadline,
            "period_start": period_start, "period_end": period_end,
            "household": {"members": household if household is not None else [tenant], "temporary_use": False},
            "answered_on": None, "reminders": [],
        }
        session.flush()
        workflow.start_workflow(rt, session, actor, case, procedure)
        return case.id, procedure.id


# --- the procedure through the API (helper "core") ---------------------------------------------------------------

def levy_view(client: Any, auth: dict[str, str], procedure_id: int, status: int = 200) -> dict[str, Any]:
    """GET /api/v1/levy/procedures/{id}, asserting the status."""
    resp = client.get(f"/api/v1/levy/procedures/{procedure_id}", headers=auth)
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def levy_decide(client: Any, auth: dict[str, str], procedure_id: int, decision: str, status: int = 200,
                comment: str = "") -> dict[str, Any]:
    """Decide the procedure's open task with POST /api/v1/tasks/{id}/complete, asserting the status."""
    task_id = levy_view(client, auth, procedure_id)["open_task_id"]
    assert task_id, f"procedure {procedure_id} has no open task"
    resp = client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": decision, "comment": comment},
                       headers=auth)
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def put_household(client: Any, auth: dict[str, str], procedure_id: int, household: list[dict[str, Any]], *,
                  temporary_use: bool = False, status: int = 200) -> dict[str, Any]:
    resp = client.put(f"/api/v1/levy/procedures/{procedure_id}/household",
                      json={"members": household, "temporary_use": temporary_use}, headers=auth)
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def compute_assessment(client: Any, auth: dict[str, str], procedure_id: int, status: int = 201) -> dict[str, Any]:
    resp = client.post(f"/api/v1/levy/procedures/{procedure_id}/assessment", headers=auth)
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


# --- after the notice (helper "after"): a procedure brought to "laufend" through the flow --------------------

def decide_open(rt: Runtime, username: str, procedure_id: int, decision: str, comment: str = "") -> None:
    """Decide the procedure's open task as `username` (as the Postkorb does)."""
    from eakte.models import Task
    with rt.db.read() as session:
        task_id = session.execute(select(Task.id).where(Task.procedure_id == procedure_id, Task.status == "open")
                                  .order_by(Task.id)).scalar_one()
    workflow.complete_task(rt, levy_actor(rt, username), task_id, decision, comment)


def run_to_running(rt: Runtime, procedure_id: int, *, clerk: str = "wilhelm", second: str = "lena") -> int:
    """Drive a procedure from Erhebung (its household recorded) to "laufend" as the flow defines it: answered,
    evidence complete, computed and decided by `clerk`, confirmed by `second` (the notice is filed on entering
    Bescheid), marked sent today by the clock; returns the notice's id."""
    from eakte.models import LevyNotice
    from eakte.services.levy import assessment
    decide_open(rt, clerk, procedure_id, "answered")
    decide_open(rt, clerk, procedure_id, "complete")
    assessment.compute(rt, levy_actor(rt, clerk), procedure_id)
    decide_open(rt, clerk, procedure_id, "computed")
    decide_open(rt, second, procedure_id, "confirm")
    decide_open(rt, clerk, procedure_id, "sent")
    with rt.db.read() as session:
        return session.execute(select(LevyNotice.id).where(LevyNotice.procedure_id == procedure_id)
                               .order_by(LevyNotice.id.desc()).limit(1)).scalar_one()
