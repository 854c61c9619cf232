"""A levy procedure through the API (issue 14): the household recorded → Prüfung complete → computed with every
input → computed → a second clerk confirms → the notice is filed (a PDF/A holding the monthly amount) → sent →
laufend. The four-eyes step refuses the computing clerk, the Berechnung's decider and their deputy, and inputs
changed since the computation; "no answer" only after the deadline, then at the highest band; other units see
nothing, auditors read but do not write; a notice keeps its amount when new tables are loaded.

The flat (tests.levy_fixtures.flat_metadata): 60 m², built 1985, central heating, Mietenstufe I → build years
1979–1990, over 50 to 80 m²: Höchstbetrag 4.70 €/m² × 60 = 282.00 € (under the cap of 361 €). One person with
25,000 € on 01.01.2026: limit 18,166 €, exceedance (25,000 − 18,166) / 18,166 = 37.61 % (shown rounded down) →
30 % → 84.60 € a month."""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from eakte.clock import set_clock
from eakte.models import AuditEvent, Document, FollowUp, LevyAssessment, LevyNotice, Procedure
from eakte.runtime import Runtime
from eakte.services import identity, workflow
from tests.conftest import OPERATOR, Town
from tests.levy_fixtures import (build_flat_procedure, build_levy_town, compute_assessment, levy_actor, levy_decide,
                                 levy_runtime, levy_runtime_at, levy_view, members, put_household)
from tests.services.test_trade_letters import assert_pdfa, pdf_text

BEFORE_DEADLINE = dt.datetime(2026, 2, 10, 9, 0, tzinfo=dt.timezone.utc)
AFTER_DEADLINE = dt.datetime(2026, 2, 20, 9, 0, tzinfo=dt.timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = BEFORE_DEADLINE

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Iterator[Clock]:
    c = Clock()
    set_clock(c)
    try:
        yield c
    finally:
        set_clock(None)


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    with levy_runtime_at(tmp_path, db_url) as runtime:
        yield runtime


@pytest.fixture
def town(rt: Runtime) -> Town:
    return build_levy_town(rt)


def _procedure(rt: Runtime, **kwargs: Any) -> int:
    return build_flat_procedure(rt, levy_actor(rt, "wilhelm"), **kwargs)[1]


def _to_berechnung(client: Any, town: Town, pid: int, *incomes: str | None) -> None:
    put_household(client, town.auth("wilhelm"), pid, members(*incomes))
    levy_decide(client, town.auth("wilhelm"), pid, "answered")
    levy_decide(client, town.auth("wilhelm"), pid, "complete")


def _to_bescheid(client: Any, town: Town, pid: int, income: str) -> None:
    """Through Berechnung (wilhelm computes and decides) and the four-eyes step (lena confirms): the notice."""
    _to_berechnung(client, town, pid, income)
    compute_assessment(client, town.auth("wilhelm"), pid)
    levy_decide(client, town.auth("wilhelm"), pid, "computed")
    levy_decide(client, town.auth("lena"), pid, "confirm")


def _content(rt: Runtime, document_id: int) -> bytes:
    with rt.db.read() as session:
        document = session.get(Document, document_id)
        assert document is not None
        with rt.blobs.open(document.versions[-1].blob_key) as fh:
            return fh.read()


def test_household_to_notice_to_laufend(rt: Runtime, town: Town, client: Any, clock: Clock) -> None:
    wilhelm, lena = town.auth("wilhelm"), town.auth("lena")
    pid = _procedure(rt)
    assert levy_view(client, wilhelm, pid)["step"] == "erhebung"
    shown = put_household(client, wilhelm, pid, members("25000.00"))
    assert shown["answered_on"] == "2026-02-10" and shown["household"]["members"][0]["annual_income"] == "25000.00"
    levy_decide(client, wilhelm, pid, "answered")
    levy_decide(client, wilhelm, pid, "complete")
    # Berechnung: "computed" needs a computation of this round first.
    levy_decide(client, wilhelm, pid, "computed", status=409)
    shown = compute_assessment(client, wilhelm, pid)
    [a] = shown["assessments"]
    assert a["monthly_levy"] == "84.60" and a["kind"] == "initial" and a["effective_from"] == "2026-04-01"
    assert a["inputs"] == {"household_size": 1, "children": 0, "annual_income": "25000.00", "area_m2": "60",
                           "build_year": 1985, "heating": "central", "mietenstufe": "I",
                           "reference_date": "2026-01-01", "answered": True, "exempt": None}
    assert a["result"]["limit"] == "18166.00" and a["result"]["rate_percent"] == "30"
    assert a["table_version"] == "fbag-default-1" and not a["tables_confirmed"] and a["computed_by"] == "wilhelm"
    assert shown["monthly_levy"] == "84.60"
    levy_decide(client, wilhelm, pid, "computed")
    assert levy_view(client, wilhelm, pid)["step"] == "vier_augen"
    refused = levy_decide(client, wilhelm, pid, "confirm", status=409)
    assert "Vier-Augen-Prinzip" in refused["detail_de"]
    levy_decide(client, lena, pid, "confirm")

    shown = levy_view(client, wilhelm, pid)
    assert shown["step"] == "bescheid"
    [notice] = shown["notices"]
    assert notice["kind"] == "assessment" and notice["monthly_levy"] == "84.60" and notice["sent_on"] is None
    assert (notice["effective_from"], notice["effective_to"]) == ("2026-04-01", "2029-03-31")
    content = _content(rt, notice["document_id"])
    assert_pdfa(content)
    text = pdf_text(content)
    for expected in ("Festsetzungsbescheid", "84,60 €", "01.04.2026 bis 31.03.2029", "18.166,00 €", "30 %",
                     "fbag-default-1", "Standardwerte, von der Gemeinde noch nicht bestätigt",
                     "DE89370400440532013000", "Stadtkasse Musterstadt", "Rechtsbehelfsbelehrung",
                     "innerhalb eines Monats", "Magistrat der Stadt Musterstadt", "Goethestraße 12"):
        assert expected in text.replace("\n", " "), expected
    with rt.db.read() as session:
        document = session.get(Document, notice["document_id"])
        assert document is not None and (document.kind, document.procedure_id) == ("notice", pid)
        actions = set(session.execute(select(AuditEvent.action).where(AuditEvent.case_id == document.case_id))
                      .scalars())
    assert {"levy.household", "levy.assessment", "levy.notice"} <= actions

    levy_decide(client, wilhelm, pid, "sent")
    shown = levy_view(client, wilhelm, pid)
    assert shown["step"] == "laufend" and shown["notices"][0]["sent_on"] == "2026-02-10"
    # In laufend: nothing to act on before it is recorded or due.
    for decision in ("objection", "change", "cancel", "period_end"):
        levy_decide(client, wilhelm, pid, decision, status=409)
    put_household(client, wilhelm, pid, members("1.00"), status=409)  # the household is fixed by the notice


def test_the_household_is_validated_per_field(rt: Runtime, town: Town, client: Any, clock: Clock) -> None:
    wilhelm = town.auth("wilhelm")
    pid = _procedure(rt)
    bad = members("-5", None, children=1)
    bad[2]["tenant"], bad[0]["tenant"] = True, False
    bad[1]["benefit"] = "lottery"
    resp = client.put(f"/api/v1/levy/procedures/{pid}/household", json={"members": bad}, headers=wilhelm)
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["field"] == "members[0].annual_income"
    assert {e["field"] for e in body["errors"]} == {"members[0].annual_income", "members[1].benefit"}
    no_adult = members(children=2)
    no_adult[0]["tenant"] = True
    body = put_household(client, wilhelm, pid, no_adult, status=422)
    assert body["field"] == "members" and "erwachsene" in body["detail_de"]
    # Complete only with every adult's income (or a benefit).
    put_household(client, wilhelm, pid, members("20000", None))
    levy_decide(client, wilhelm, pid, "answered")
    refused = levy_decide(client, wilhelm, pid, "complete", status=409)
    assert refused["field"] == "members[1].annual_income" and "Erwachsene Person 2" in refused["detail_de"]
    household = members("20000", None)
    household[1]["benefit"] = "wohngeld"
    put_household(client, wilhelm, pid, household)
    levy_decide(client, wilhelm, pid, "complete")


def test_four_eyes_refuses_the_computer_the_decider_and_their_deputy(rt: Runtime, town: Town, client: Any,
                                                                      clock: Clock) -> None:
    with rt.db.write() as session:
        user = identity.create_user(session, OPERATOR, "karl", password="correct horse battery",
                                    roles=[identity.UnitRole("50", "clerk")])
        town.tokens["karl"] = identity.issue_token(session, OPERATOR, user, "test")
    workflow.set_deputies(rt, levy_actor(rt, "admin"),
                          [workflow.DeputyPeriod("anna", dt.date(2026, 1, 1), dt.date(2026, 12, 31))],
                          for_user="wilhelm")
    wilhelm, lena = town.auth("wilhelm"), town.auth("lena")
    pid = _procedure(rt)
    _to_berechnung(client, town, pid, "25000")
    compute_assessment(client, lena, pid)  # lena computes, wilhelm decides the step
    levy_decide(client, wilhelm, pid, "computed")
    for name in ("lena", "wilhelm", "anna"):  # anna: only as wilhelm's deputy
        refused = levy_decide(client, town.auth(name), pid, "confirm", status=409)
        assert "Vier-Augen" in refused["detail_de"], name
    levy_decide(client, town.auth("karl"), pid, "confirm")
    assert levy_view(client, wilhelm, pid)["step"] == "bescheid"


def test_inputs_changed_after_computing_refuse_the_confirmation(rt: Runtime, town: Town, client: Any,
                                                                clock: Clock) -> None:
    wilhelm, lena = town.auth("wilhelm"), town.auth("lena")
    pid = _procedure(rt)
    _to_berechnung(client, town, pid, "25000")
    compute_assessment(client, wilhelm, pid)
    put_household(client, wilhelm, pid, members("40000"))  # still allowed in Berechnung …
    levy_decide(client, wilhelm, pid, "computed")
    refused = levy_decide(client, lena, pid, "confirm", status=409)  # … but not confirmed so
    assert "seit der Berechnung geändert" in refused["detail_de"]
    levy_decide(client, lena, pid, "back", comment="Einkommen geändert, neu berechnen")
    shown = compute_assessment(client, wilhelm, pid)
    assert [a["number"] for a in shown["assessments"]] == [2, 1]
    # (40,000 − 18,166) / 18,166 = 120.19 % → 100 % → 282.00 €
    assert shown["assessments"][0]["monthly_levy"] == "282.00"
    levy_decide(client, wilhelm, pid, "computed")
    levy_decide(client, lena, pid, "confirm")
    [notice] = levy_view(client, wilhelm, pid)["notices"]
    assert notice["monthly_levy"] == "282.00"


def test_no_answer_only_after_the_deadline_then_the_highest_band(rt: Runtime, town: Town, client: Any,
                                                                 clock: Clock) -> None:
    wilhelm = town.auth("wilhelm")
    pid = _procedure(rt)
    refused = levy_decide(client, wilhelm, pid, "no_answer", status=409)
    assert "15.02.2026" in refused["detail_de"]
    clock.now = AFTER_DEADLINE
    levy_decide(client, wilhelm, pid, "no_answer")
    shown = compute_assessment(client, wilhelm, pid)
    [a] = shown["assessments"]
    assert a["inputs"]["answered"] is False and a["inputs"]["annual_income"] is None
    assert a["result"]["outcome"] == "no_answer" and a["result"]["rate_percent"] == "100"
    assert a["monthly_levy"] == "282.00"


def test_no_answer_is_refused_once_the_household_has_answered(rt: Runtime, town: Town, client: Any,
                                                               clock: Clock) -> None:
    """The highest band is for silence: a clerk cannot choose it over the figures the household gave."""
    wilhelm = town.auth("wilhelm")
    pid = _procedure(rt)
    put_household(client, wilhelm, pid, members("25000"))
    clock.now = AFTER_DEADLINE
    refused = levy_decide(client, wilhelm, pid, "no_answer", status=409)
    assert "Auskunft gegeben" in refused["detail_de"]
    assert levy_view(client, wilhelm, pid)["step"] == "erhebung"


def test_other_units_see_nothing_and_auditors_only_read(rt: Runtime, town: Town, client: Any,
                                                         clock: Clock) -> None:
    pid = _procedure(rt)
    anna, rita = town.auth("anna"), town.auth("rita")
    levy_view(client, anna, pid, status=404)
    assert levy_view(client, town.auth("wilhelm"), pid)["may_edit_household"] is True
    put_household(client, anna, pid, members("1"), status=404)
    assert client.get("/api/v1/levy/procedures", headers=anna).get_json()["total"] == 0
    shown = levy_view(client, rita, pid)
    assert shown["may_edit_household"] is False and shown["flat"]["flat_id"] == "GWH-0012-03"
    assert client.get("/api/v1/levy/procedures", headers=rita).get_json()["total"] == 1
    put_household(client, rita, pid, members("1"), status=403)
    _to_berechnung(client, town, pid, "25000")
    compute_assessment(client, rita, pid, status=403)
    compute_assessment(client, anna, pid, status=404)
    listed = client.get("/api/v1/levy/procedures?step=berechnung", headers=town.auth("wilhelm")).get_json()
    assert [r["procedure_id"] for r in listed["items"]] == [pid]
    assert client.get("/api/v1/levy/procedures?step=erhebung", headers=rita).get_json()["total"] == 0
    assert client.get("/api/v1/levy/procedures?step=nonsense", headers=rita).status_code == 422


def test_evidence_is_uploaded_into_the_procedure(rt: Runtime, town: Town, client: Any, clock: Clock) -> None:
    pid = _procedure(rt)
    form = {"title": "Lohnbescheinigung 2025", "kind": "income_evidence",
            "file": (io.BytesIO(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
                     "lohn.pdf", "application/pdf")}
    resp = client.post(f"/api/v1/procedures/{pid}/documents", data=form, headers=town.auth("wilhelm"),
                       content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    [evidence] = levy_view(client, town.auth("rita"), pid)["evidence"]
    assert evidence["kind"] == "income_evidence" and evidence["title"] == "Lohnbescheinigung 2025"
    form["file"] = (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "x.pdf", "application/pdf")
    resp = client.post(f"/api/v1/procedures/{pid}/documents", data=form, headers=town.auth("anna"),
                       content_type="multipart/form-data")
    assert resp.status_code == 404
    form["file"] = (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "x.pdf", "application/pdf")
    form["kind"] = "notice"  # generated by the flow only
    resp = client.post(f"/api/v1/procedures/{pid}/documents", data=form, headers=town.auth("wilhelm"),
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and resp.get_json()["field"] == "kind"


def test_a_notice_keeps_its_amount_when_new_tables_are_loaded(rt: Runtime, town: Town, client: Any,
                                                              clock: Clock) -> None:
    from eakte.services.levy import tables
    wilhelm = town.auth("wilhelm")
    pid = _procedure(rt)
    _to_bescheid(client, town, pid, "25000")
    document_id = levy_view(client, wilhelm, pid)["notices"][0]["document_id"]
    before = _content(rt, document_id)
    toml = (Path(__file__).resolve().parents[2] / "workflows/levy/default_tables.toml").read_text()
    tables.load_tables(rt, levy_actor(rt, "admin"), toml.replace("4.70", "5.70"), "fbag-2026-neu", "test")
    shown = levy_view(client, wilhelm, pid)
    assert shown["notices"][0]["monthly_levy"] == "84.60" and shown["monthly_levy"] == "84.60"
    assert shown["assessments"][0]["table_version"] == "fbag-default-1"
    assert _content(rt, document_id) == before
    with rt.db.read() as session:
        assert session.execute(select(LevyNotice.monthly_levy)).scalars().all() == ["84.60"]
        assert session.execute(select(LevyAssessment.monthly_levy)).scalars().all() == ["84.60"]


def test_period_end_sets_the_resurvey_follow_up_and_closes(rt: Runtime, town: Town, client: Any,
                                                            clock: Clock) -> None:
    wilhelm = town.auth("wilhelm")
    pid = _procedure(rt, period_end="2026-03-31")
    _to_bescheid(client, town, pid, "25000")
    levy_decide(client, wilhelm, pid, "sent")
    levy_decide(client, wilhelm, pid, "period_end", status=409)
    clock.now = dt.datetime(2026, 3, 31, 9, 0, tzinfo=dt.timezone.utc)
    levy_decide(client, wilhelm, pid, "period_end")
    shown = levy_view(client, wilhelm, pid)
    assert shown["step"] is None and shown["status"] == "closed" and shown["open_task_id"] is None
    with rt.db.read() as session:
        procedure = session.get(Procedure, pid)
        assert procedure is not None
        [fu] = session.execute(select(FollowUp).where(FollowUp.case_id == procedure.case_id)).scalars().all()
        assert fu.user_id is None and "Neuerhebung" in fu.note


def _set_pending(rt: Runtime, pid: int, **pending: Any) -> None:
    """A pending §8 change as the change service records it (helper "after"), written directly here."""
    with rt.db.write() as session:
        procedure = session.get(Procedure, pid)
        assert procedure is not None
        procedure.metadata_ = {**procedure.metadata_, "pending": pending}


def test_a_change_is_a_new_round_with_its_own_four_eyes_and_notice(rt: Runtime, town: Town, client: Any,
                                                                   clock: Clock) -> None:
    wilhelm, lena = town.auth("wilhelm"), town.auth("lena")
    pid = _procedure(rt)
    _to_bescheid(client, town, pid, "25000")
    levy_decide(client, wilhelm, pid, "sent")
    _set_pending(rt, pid, kind="change", effective_from="2027-01-01", reason="Einkommen gestiegen",
                 objection_id=None)
    levy_decide(client, wilhelm, pid, "change")
    put_household(client, wilhelm, pid, members("40000"))
    # lena confirmed the first round: in this round she computes, and wilhelm may confirm.
    shown = compute_assessment(client, lena, pid)
    latest = shown["assessments"][0]
    assert (latest["kind"], latest["effective_from"], latest["monthly_levy"]) == ("change", "2027-01-01", "282.00")
    assert latest["inputs"]["reference_date"] == "2027-01-01"
    levy_decide(client, lena, pid, "computed")
    levy_decide(client, lena, pid, "confirm", status=409)
    levy_decide(client, wilhelm, pid, "confirm")
    shown = levy_view(client, wilhelm, pid)
    change, first = shown["notices"]
    assert (change["kind"], change["effective_from"], change["monthly_levy"]) == ("change", "2027-01-01", "282.00")
    assert first["superseded_from"] == "2027-01-01" and first["monthly_levy"] == "84.60"
    assert shown["pending"] is None and shown["monthly_levy"] == "282.00"
    text = pdf_text(_content(rt, change["document_id"])).replace("\n", " ")
    assert "Änderungsbescheid" in text and "282,00 €" in text and "01.01.2027" in text
    levy_decide(client, wilhelm, pid, "sent")
    assert levy_view(client, wilhelm, pid)["step"] == "laufend"


def test_no_notice_without_the_payee_account(tmp_path: Path, db_url: str, clock: Clock) -> None:
    from eakte.app import create_app
    runtime = levy_runtime(tmp_path / "nopayee", db_url, payee_name="", payee_iban="", payee_bic="")
    try:
        town = build_levy_town(runtime)
        api = create_app(runtime).test_client()
        pid = build_flat_procedure(runtime, levy_actor(runtime, "wilhelm"))[1]
        _to_berechnung(api, town, pid, "25000")
        compute_assessment(api, town.auth("wilhelm"), pid)
        levy_decide(api, town.auth("wilhelm"), pid, "computed")
        refused = levy_decide(api, town.auth("lena"), pid, "confirm", status=409)
        assert "Bankverbindung" in refused["detail_de"]
        shown = levy_view(api, town.auth("lena"), pid)
        assert shown["step"] == "vier_augen" and shown["notices"] == []  # nothing of the decision was kept
    finally:
        runtime.close()


def test_a_late_answer_goes_through_pruefung_and_counts(rt: Runtime, town: Town, client: Any, clock: Clock) -> None:
    wilhelm = town.auth("wilhelm")
    pid = _procedure(rt)
    clock.now = AFTER_DEADLINE
    levy_decide(client, wilhelm, pid, "no_answer")
    put_household(client, wilhelm, pid, members("25000"))  # the answer comes after all
    assert compute_assessment(client, wilhelm, pid)["assessments"][0]["monthly_levy"] == "282.00"
    levy_decide(client, wilhelm, pid, "back", comment="Auskunft nachträglich eingegangen")
    levy_decide(client, wilhelm, pid, "complete")
    latest = compute_assessment(client, wilhelm, pid)["assessments"][0]
    assert latest["inputs"]["answered"] is True and latest["monthly_levy"] == "84.60"


def test_a_cancellation_notice_supersedes_the_one_in_force(rt: Runtime, town: Town, client: Any,
                                                           clock: Clock) -> None:
    from eakte.errors import Invalid
    from eakte.services.levy import notices
    wilhelm = town.auth("wilhelm")
    pid = _procedure(rt)
    _to_bescheid(client, town, pid, "25000")
    actor = levy_actor(rt, "wilhelm")
    with rt.db.write() as session:
        procedure = session.get(Procedure, pid)
        assert procedure is not None
        with pytest.raises(Invalid):
            notices.file_notice(rt, session, actor, procedure.case, procedure, "cancellation",
                                session.execute(select(LevyAssessment)).scalar_one(), dt.date(2027, 1, 1))
        with pytest.raises(Invalid):
            notices.file_notice(rt, session, actor, procedure.case, procedure, "refund", None, dt.date(2027, 1, 1))
        cancel = notices.file_notice(rt, session, actor, procedure.case, procedure, "cancellation", None,
                                     dt.date(2027, 1, 1))
        document_id, monthly = cancel.document_id, cancel.monthly_levy
    assert monthly == "0.00"
    text = pdf_text(_content(rt, document_id)).replace("\n", " ")
    assert "Aufhebungsbescheid" in text and "mit Wirkung vom 01.01.2027 aufgehoben" in text
    assert "Rechtsbehelfsbelehrung" in text and "IBAN" not in text
    first = levy_view(client, wilhelm, pid)["notices"][1]
    assert first["superseded_from"] == "2027-01-01"
