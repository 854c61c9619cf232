"""The levy's survey run (issue 14 point 2): a landlord's list creates or updates the flats' cases, opens one
procedure per household with its workflow in Erhebung (a Postkorb task due at the deadline), files the request
letter (PDF/A naming the tenant and the deadline) and one print batch; reminders after the deadline move it.
Only the levy unit's clerks run it; a list with a bad line stores nothing."""
from __future__ import annotations

import datetime as dt
import io
import time
from pathlib import Path
from typing import Any, Iterator

import pypdf
import pytest
from sqlalchemy import func, select

from eakte.clock import set_clock
from eakte.errors import Forbidden, Invalid, NotFound
from eakte.models import AuditEvent, Case, Document, LevySurvey, Procedure, Task, WorkflowInstance
from eakte.runtime import Runtime
from eakte.services import integrity
from eakte.services.levy import survey as levy_survey
from eakte.services.levy.survey import SurveyRequest
from storage import key_for
from tests.conftest import OPERATOR
from tests.levy_fixtures import build_flat_procedure, build_levy_town, flat_metadata, levy_actor, levy_runtime_at
from tests.services.test_trade_letters import assert_pdfa, pdf_text

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "levy" / "landlord_list.csv"
LANDLORD = "Gemeinnützige Wohnungsbau Musterstadt GmbH"
TODAY = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    with levy_runtime_at(tmp_path, db_url, TODAY) as runtime:
        yield runtime


@pytest.fixture
def town(rt: Runtime) -> Any:
    return build_levy_town(rt)


def request(**over: Any) -> SurveyRequest:
    values: dict[str, Any] = {"landlord": LANDLORD, "reference_date": dt.date(2026, 1, 1),
                              "period_start": dt.date(2026, 7, 1), "source_name": "landlord_list.csv"}
    values.update(over)
    return SurveyRequest(**values)


def run(rt: Runtime, user: str = "wilhelm", stream: Any = None, **over: Any) -> levy_survey.SurveyResult:
    with (stream if stream is not None else SAMPLE.open("rb")) as fh:
        return levy_survey.run_survey(rt, levy_actor(rt, user), request(**over), fh)


def blob(rt: Runtime, document_id: int) -> bytes:
    with rt.db.read() as session:
        key = session.get(Document, document_id).versions[0].blob_key
    with rt.blobs.open(key) as fh:
        return fh.read()


def test_the_run_creates_cases_procedures_workflows_and_letters(rt: Runtime, town: Any) -> None:
    result = run(rt)
    assert result.letters == 6 and result.created == 6 and not result.skipped
    with rt.db.read() as session:
        survey = session.get(LevySurvey, result.survey_id)
        assert (survey.households, survey.deadline, survey.period_start, survey.period_end) == \
            (6, dt.date(2026, 3, 30), dt.date(2026, 7, 1), dt.date(2029, 6, 30))  # 28 days; 36 months
        first = result.households[1]  # "Jana und Max Beispiel"
        case = session.get(Case, first.case_id)
        assert case.case_type == "levy" and case.unit.code == "50" and case.reference.startswith("50.20/")
        assert case.metadata_["area_m2"] == "62" and case.metadata_["landlord"] == LANDLORD
        assert case.metadata_["net_rent"] == "395.50" and case.metadata_["heating"] == "central"
        procedure = session.get(Procedure, first.procedure_id)
        assert procedure.title == "Fehlbelegungsabgabe 2026–2029 (Erhebung)"
        meta = procedure.metadata_
        assert meta["survey_id"] == survey.id and meta["deadline"] == "2026-03-30"
        assert meta["period_end"] == "2029-06-30" and meta["answered_on"] is None and meta["reminders"] == []
        assert [m["name"] for m in meta["household"]["members"]] == ["Jana Beispiel", "Max Beispiel"]
        assert all(m["tenant"] for m in meta["household"]["members"])
        assert meta["letter_document_id"] == first.letter_document_id
        instance = session.execute(select(WorkflowInstance).where(
            WorkflowInstance.procedure_id == procedure.id)).scalar_one()
        assert instance.current_step == "erhebung"
        task = session.execute(select(Task).where(Task.instance_id == instance.id)).scalar_one()
        assert task.due_at.date() == dt.date(2026, 3, 30) and task.unit_id == case.unit_id
        letter = session.get(Document, first.letter_document_id)
        assert (letter.kind, letter.procedure_id) == ("survey_letter", procedure.id)
        actions = set(session.execute(select(AuditEvent.action).where(AuditEvent.case_id == case.id)).scalars())
        assert {"case.create", "workflow.start", "document.create", "levy.survey_letter",
                "levy.survey_household"} <= actions
        assert session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "levy.survey")).scalar() == 1
    content = blob(rt, first.letter_document_id)
    assert_pdfa(content)
    text = pdf_text(content)
    for expected in ("Stadt Musterstadt", "Jana Beispiel", "Max Beispiel", "30.03.2026", "§ 5 FBAG",
                     "höchsten Stufe", "Einkommensnachweise", "Goethestraße 12", first.procedure_reference):
        assert expected in text, expected


def test_the_print_batch_holds_every_letter(rt: Runtime, town: Any) -> None:
    result = run(rt)
    batch = levy_survey.print_batch(rt, levy_actor(rt, "wilhelm"), result.survey_id)
    content = b"".join(batch.chunks)
    assert len(content) == batch.size == result.batch_size and batch.filename.endswith(".pdf")
    assert_pdfa(content)
    letters = sum(len(pypdf.PdfReader(io.BytesIO(blob(rt, h.letter_document_id))).pages) for h in result.households)
    assert len(pypdf.PdfReader(io.BytesIO(content)).pages) == letters >= 6
    text = pdf_text(content)
    assert all(name in text for name in ("Erika Mustermann", "Karl Schmidt", "Thomas Klein"))
    # The auditor reads it; a clerk of another unit sees no survey at all.
    assert b"".join(levy_survey.print_batch(rt, levy_actor(rt, "rita"), result.survey_id).chunks) == content
    with pytest.raises(NotFound):
        levy_survey.print_batch(rt, levy_actor(rt, "anna"), result.survey_id)


def test_gc_and_verify_keep_the_print_batch(rt: Runtime, town: Any) -> None:
    """The batch is referenced by its survey row only: gc must not take it, the storage check must cover it."""
    result = run(rt)
    key = key_for(result.batch_sha256)
    assert key in integrity.referenced_keys(rt)
    assert key not in integrity.collect_garbage(rt, OPERATOR, dt.timedelta(0)).removed
    assert rt.blobs.exists(key)
    assert integrity.verify_storage(rt).ok


def test_a_second_run_updates_the_flat_and_skips_an_open_period(rt: Runtime, town: Any) -> None:
    first = run(rt)
    again = run(rt, stream=io.BytesIO(
        "flat_id;street;house_number;postal_code;city;area_m2;build_year;heating;tenant_name\n"
        "GWH-0012-01;Goethestraße;12;12345;Musterstadt;49,0;1972;central;Erika Mustermann\n".encode()),
        period_start=dt.date(2029, 7, 1), reference_date=dt.date(2029, 1, 1))
    assert again.created == 0 and again.letters == 1
    household = again.households[0]
    assert household.case_id == first.households[0].case_id
    with rt.db.read() as session:
        case = session.get(Case, household.case_id)
        assert case.metadata_["area_m2"] == "49.0"
        assert "flat_number" in case.metadata_  # what the list leaves out stays as it was
        assert session.execute(select(func.count()).select_from(Procedure).where(
            Procedure.case_id == case.id)).scalar() == 2
        update = session.execute(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                          AuditEvent.action == "case.update")).scalar_one()
        assert update.details["metadata"]["new"]["area_m2"] == "49.0"
    # A list naming a flat whose open procedure covers the period and a new flat: the one is skipped.
    mixed = run(rt, stream=io.BytesIO(
        "flat_id;street;house_number;postal_code;city;area_m2;build_year;heating;tenant_name\n"
        "GWH-0012-02;Goethestraße;12;12345;Musterstadt;62;1972;central;Jana Beispiel\n"
        "NEU-1;Parkweg;1;12345;Musterstadt;50;1990;central;Nina Neu\n".encode()), period_start=dt.date(2027, 1, 1))
    assert [h.flat_id for h in mixed.households] == ["NEU-1"]
    [skip] = mixed.skipped
    assert skip.line == 2 and "GWH-0012-02" in skip.message_de and first.households[1].procedure_reference \
        in skip.message_de


def test_an_overlapping_period_refuses_every_flat_when_none_is_left(rt: Runtime, town: Any) -> None:
    run(rt)
    with pytest.raises(Invalid) as caught:
        run(rt, period_start=dt.date(2027, 1, 1))
    errors = caught.value.extra["errors"]
    assert len(errors) == 6 and errors[0]["line"] == 2
    assert "betrifft diesen Zeitraum bereits" in errors[0]["messages_de"][0]
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(LevySurvey)).scalar() == 1


def test_a_bad_line_stores_nothing(rt: Runtime, town: Any) -> None:
    bad = ("Wohnungsnummer;Straße;Hausnummer;PLZ;Ort;Wohnfläche;Baujahr;Heizung;Mieter\n"
           "A-1;Weg;1;12345;Ort;50;1980;Sammelheizung;Eva Muster\n"
           "A-2;Weg;1;1234;Ort;fünfzig;1980;Gas;Udo Muster\n").encode()
    with pytest.raises(Invalid) as caught:
        run(rt, stream=io.BytesIO(bad))
    assert caught.value.extra["field"] == "file" and "Zeile 3" in caught.value.detail_de
    errors = caught.value.extra["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [(3, "PLZ"), (3, "Wohnfläche"), (3, "Heizung")]
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(Case)).scalar() == 0
        assert session.execute(select(func.count()).select_from(LevySurvey)).scalar() == 0


@pytest.mark.parametrize("over, field", [({"period_start": dt.date(2026, 7, 2)}, "period_start"),
                                         ({"deadline": dt.date(2026, 3, 1)}, "deadline"),
                                         ({"landlord": " "}, "landlord"),
                                         ({"period_months": 0}, "period_months")])
def test_the_request_is_checked(rt: Runtime, town: Any, over: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        run(rt, **over)
    assert caught.value.extra["field"] == field


@pytest.mark.parametrize("user", ["anna", "rita"])
def test_only_the_levy_clerks_run_a_survey_or_send_reminders(rt: Runtime, town: Any, user: str) -> None:
    with pytest.raises(Forbidden):
        run(rt, user)
    with pytest.raises(Forbidden):
        levy_survey.send_reminders(rt, levy_actor(rt, user))
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(LevySurvey)).scalar() == 0


def test_the_lists_and_the_page_are_for_the_unit_and_auditors(rt: Runtime, town: Any) -> None:
    result = run(rt)
    for user in ("wilhelm", "rita"):
        assert [s.id for s in levy_survey.survey_list(rt, levy_actor(rt, user))] == [result.survey_id]
    page = levy_survey.survey_page(rt, levy_actor(rt, "lena"), result.survey_id)
    assert len(page.households) == 6 and page.may_change
    assert {h.step for h in page.households} == {"erhebung"} and not page.overdue
    assert page.households[0].letter_document_id == result.households[0].letter_document_id
    assert not levy_survey.survey_page(rt, levy_actor(rt, "rita"), result.survey_id).may_change
    with pytest.raises(NotFound):
        levy_survey.survey_list(rt, levy_actor(rt, "anna"))
    with pytest.raises(NotFound):
        levy_survey.survey_page(rt, levy_actor(rt, "anna"), result.survey_id)


def test_reminders_after_the_deadline_move_it_and_the_task(rt: Runtime, town: Any) -> None:
    result = run(rt)
    wilhelm = levy_actor(rt, "wilhelm")
    answered = result.households[0].procedure_id
    with rt.db.write() as session:  # one household answered already: it gets no reminder
        p = session.get(Procedure, answered)
        p.metadata_ = {**p.metadata_, "answered_on": "2026-03-20"}
    assert levy_survey.send_reminders(rt, wilhelm) == 0  # before the deadline
    set_clock(lambda: TODAY + dt.timedelta(days=29))  # 31.03.2026: the deadline 30.03. has passed
    assert levy_survey.survey_page(rt, wilhelm, result.survey_id).overdue == 5
    assert levy_survey.send_reminders(rt, wilhelm) == 5
    assert levy_survey.send_reminders(rt, wilhelm) == 0  # one reminder each
    pid = result.households[1].procedure_id
    with rt.db.read() as session:
        meta = session.get(Procedure, pid).metadata_
        assert meta["deadline"] == "2026-04-14"  # 31.03. + 14 days
        [reminder] = meta["reminders"]
        assert reminder["sent_on"] == "2026-03-31" and reminder["deadline"] == "2026-04-14"
        document = session.get(Document, reminder["document_id"])
        assert (document.kind, document.procedure_id) == ("reminder", pid)
        task = session.execute(select(Task).where(Task.procedure_id == pid, Task.status == "open")).scalar_one()
        assert task.due_at.date() == dt.date(2026, 4, 14)
        assert session.get(Procedure, answered).metadata_["reminders"] == []
        assert session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "levy.reminder")).scalar() == 5
    content = blob(rt, reminder["document_id"])
    assert_pdfa(content)
    text = pdf_text(content)
    assert "14.04.2026" in text and "30.03.2026" in text and "Jana Beispiel" in text and "Erinnerung" in text
    page = levy_survey.survey_page(rt, wilhelm, result.survey_id)
    assert page.overdue == 0 and page.households[1].reminder_document_ids == [reminder["document_id"]]


def test_a_procedure_built_elsewhere_is_reminded_too(rt: Runtime, town: Any) -> None:
    """A procedure of the shared fixture (no letter) past its deadline gets its reminder."""
    wilhelm = levy_actor(rt, "wilhelm")
    _, pid = build_flat_procedure(rt, wilhelm, flat_metadata(), deadline="2026-02-15")
    assert levy_survey.send_reminders(rt, wilhelm) == 1
    with rt.db.read() as session:
        assert session.get(Procedure, pid).metadata_["deadline"] == "2026-03-16"


def test_fifty_flats_take_seconds_not_minutes(rt: Runtime, town: Any) -> None:
    lines = ["Wohnungsnummer;Straße;Hausnummer;PLZ;Ort;Wohnfläche;Baujahr;Heizung;Mieter"]
    lines += [f"P-{i:03d};Parkweg;{i};12345;Musterstadt;{40 + i % 50},5;{1950 + i % 70};Sammelheizung;"
              f"Person {i} Muster" for i in range(50)]
    began = time.monotonic()
    result = run(rt, stream=io.BytesIO("\n".join(lines).encode()))
    seconds = time.monotonic() - began
    print(f"survey of 50 flats: {seconds:.1f} s")
    assert result.letters == 50 and seconds < 60  # ~0.2 s a letter; measured 100 flats: ~21 s
