"""The demo's misallocation levy (issue 14 point 8): two landlords' lists surveyed through the real levy services —
six households answered (one exempt, one below the threshold, one in each band) and taken to different steps
(notice sent, objection pending, notice not yet sent, waiting for lena's four-eyes confirmation), two overdue in
Erhebung — with the survey letters and notices filed as PDF/A and their text extracted."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from eakte.demo import LEVY_HOUSEHOLDS, TOWN, demo_settings, seed_demo
from eakte.errors import Conflict, EakteError
from eakte.models import (Case, Document, DocumentVersion, LevyAssessment, LevyNotice, LevyObjection, LevySurvey,
                          Procedure, Task, WorkflowInstance)
from eakte.services import identity, workflow
from eakte.services.access import Actor, load_principal
from eakte.services.levy import survey
from eakte.services.levy.notices import euro
from tests.conftest import make_runtime

OUTCOMES = {  # flat → (outcome, rate in percent)
    "GWH-0014-01": ("exempt", "0"), "GWH-0012-01": ("below_threshold", "0"), "GWH-0012-03": ("levied", "30"),
    "GWH-0012-02": ("levied", "55"), "GWH-0016-01": ("levied", "80"), "GWH-0014-02": ("levied", "100")}
STEPS = {"GWH-0014-01": "laufend", "GWH-0014-02": "laufend", "GWH-0012-03": "laufend", "GWH-0016-01": "widerspruch",
         "GWH-0012-01": "bescheid", "GWH-0012-02": "vier_augen", "BG-0007-01": "erhebung", "BG-0007-02": "erhebung"}


def _seeded(tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    rt = make_runtime(tmp_path, db_url)
    rt.settings = demo_settings(rt.settings)  # as `eakte demo` does, before the case types load
    return rt, {login.username: login for login in seed_demo(rt)}


def _actor(rt, session, name: str) -> Actor:  # type: ignore[no-untyped-def]
    return Actor(load_principal(session, identity.user_by_name(session, name), rt.registry.restricted,
                                rt.settings.confidentiality), "test")


def _procedures(session) -> dict[str, Procedure]:  # type: ignore[no-untyped-def]
    rows = session.execute(select(Procedure, Case).join(Case, Case.id == Procedure.case_id)
                           .where(Case.case_type == "levy")).all()
    return {case.metadata_["flat_id"]: procedure for procedure, case in rows}


def test_the_demo_surveys_and_assesses_the_levy_through_the_services(tmp_path: Path, db_url: str) -> None:
    rt, logins = _seeded(tmp_path, db_url)
    try:
        assert logins["wilhelm"].roles == "clerk@50, approver@50" and logins["lena"].roles == "clerk@50"
        with rt.db.read() as session:
            # The former general placeholder case of the housing office is gone: its files are levy cases.
            assert session.execute(select(Case.title).where(Case.case_type == "general", Case.unit.has(code="50"))
                                   ).scalars().all() == []
            flats = list(session.execute(select(Case).where(Case.case_type == "levy")).scalars())
            assert len(flats) == 8 and {c.unit.code for c in flats} == {"50"}
            assert {c.metadata_["landlord"] for c in flats} == {"Gemeinnützige Wohnungsbau Musterstadt GmbH",
                                                                 "Baugenossenschaft Musterstadt eG"}
            surveys = {s.landlord: s for s in session.execute(select(LevySurvey)).scalars()}
            main = surveys["Gemeinnützige Wohnungsbau Musterstadt GmbH"]
            late = surveys["Baugenossenschaft Musterstadt eG"]
            assert (main.households, late.households) == (6, 2) and main.batch_sha256 and late.batch_sha256
            assert main.period_start.day == 1 and main.period_start > main.created_at.date()

            procs = _procedures(session)
            steps = {flat: session.execute(select(WorkflowInstance.current_step).where(
                WorkflowInstance.procedure_id == p.id)).scalar_one() for flat, p in procs.items()}
            assert steps == STEPS
            outcomes = {}
            for flat, p in procs.items():
                newest = session.execute(select(LevyAssessment).where(LevyAssessment.procedure_id == p.id)
                                         .order_by(LevyAssessment.number.desc())).scalars().first()
                if newest is not None:
                    outcomes[flat] = (newest.result["outcome"], newest.result["rate_percent"])
                    assert newest.inputs["answered"] is True and newest.table_version == "fbag-default-1"
            assert outcomes == OUTCOMES
            weber = session.execute(select(LevyAssessment).where(
                LevyAssessment.procedure_id == procs["GWH-0014-02"].id)).scalar_one()
            assert weber.monthly_levy == weber.result["cap_per_flat"] == "197.00"  # the cap, not 4,86 € × 45 m²

            # Every answered household filed its evidence; the overdue ones have only their letter.
            for flat, p in procs.items():
                kinds = session.execute(select(Document.kind).where(Document.procedure_id == p.id)).scalars().all()
                assert kinds.count("survey_letter") == 1
                assert ("income_evidence" in kinds) == (flat in OUTCOMES)
                assert (p.metadata_.get("answered_on") is not None) == (flat in OUTCOMES)

            notices = {flat: session.execute(select(LevyNotice).where(LevyNotice.procedure_id == p.id)).scalar()
                       for flat, p in procs.items()}
            sent = {flat for flat, n in notices.items() if n is not None and n.sent_on is not None}
            assert sent == {"GWH-0014-01", "GWH-0014-02", "GWH-0012-03", "GWH-0016-01"}
            assert notices["GWH-0012-01"] is not None and notices["GWH-0012-01"].sent_on is None
            assert notices["GWH-0012-02"] is None and notices["BG-0007-01"] is None
            assert notices["GWH-0014-01"].monthly_levy == "0.00"
            yilmaz = notices["GWH-0012-03"]
            version = session.execute(select(DocumentVersion).where(
                DocumentVersion.document_id == yilmaz.document_id)).scalar_one()
            with rt.blobs.open(version.blob_key) as fh:
                pdf = fh.read()

            [objection] = session.execute(select(LevyObjection)).scalars().all()
            assert objection.procedure_id == procs["GWH-0016-01"].id and objection.status == "open"
            assert not objection.late

            # The Erhebung of the second list is overdue; nobody has been reminded yet.
            wilhelm = _actor(rt, session, "wilhelm")
        page = survey.survey_page(rt, wilhelm, late.id)
        assert page.overdue == 2 and page.answered == 0
        assert survey.survey_page(rt, wilhelm, main.id).answered == 6
        with rt.db.read() as session:
            assert session.execute(select(DocumentVersion.id).where(DocumentVersion.text_status == "pending")
                                   ).first() is None  # searchable at once, like every demo document
        reader = PdfReader(io.BytesIO(pdf))
        assert b"pdfaid:part" in reader.trailer["/Root"]["/Metadata"].get_data()
        text = "".join(p.extract_text() for p in reader.pages)
        assert euro(yilmaz.monthly_levy) in text and "Yilmaz" in text and TOWN in text
        assert rt.registry.get("levy").settings["municipality"] == TOWN  # type: ignore[union-attr]

        again = seed_demo(rt)  # a second start seeds nothing again
        assert {l.username for l in again} == set(logins)
        with rt.db.read() as session:
            assert len(session.execute(select(Case.id).where(Case.case_type == "levy")).all()) == 8
    finally:
        rt.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the seeding itself runs on both
def test_the_demo_computation_waits_for_lena_and_not_for_its_author(tmp_path: Path, db_url: str) -> None:
    """wilhelm computed the Beispiel household: he may not confirm it, anna (Kämmerei) may not even take the task;
    lena confirms and the notice is filed."""
    rt, _ = _seeded(tmp_path, db_url)
    try:
        with rt.db.read() as session:
            wilhelm, lena, anna = (_actor(rt, session, n) for n in ("wilhelm", "lena", "anna"))
            pid = _procedures(session)["GWH-0012-02"].id
            task = session.execute(select(Task).where(Task.procedure_id == pid, Task.status == "open")).scalar_one()
            assert task.step == "vier_augen"
            task_id = task.id
        with pytest.raises(EakteError):
            workflow.claim_task(rt, anna, task_id)
        with pytest.raises(Conflict) as refused:
            workflow.complete_task(rt, wilhelm, task_id, "confirm")
        assert "Vier-Augen-Prinzip" in refused.value.detail_de
        workflow.claim_task(rt, lena, task_id)
        workflow.complete_task(rt, lena, task_id, "confirm")
        with rt.db.read() as session:
            notice = session.execute(select(LevyNotice).where(LevyNotice.procedure_id == pid)).scalar_one()
            assessment = session.execute(select(LevyAssessment).where(LevyAssessment.procedure_id == pid)
                                         ).scalar_one()
            assert notice.monthly_levy == assessment.monthly_levy and notice.sent_on is None
    finally:
        rt.close()


def test_the_demo_households_have_one_of_each_outcome() -> None:
    """The seed's own table: six answered households, each taken as far as its row says, steps in order."""
    assert {h.flat_id for h in LEVY_HOUSEHOLDS} == set(OUTCOMES)
    for h in LEVY_HOUSEHOLDS:
        days = [d for d in (h.answered, h.computed, h.confirmed, h.sent, h.objection) if d is not None]
        assert days == sorted(days, reverse=True), h.flat_id
