"""The survey run through the API (issue 14 point 2): POST /api/v1/levy/surveys with the landlord's list opens a
procedure per household and files the letters; the run and its households are listed, the print batch is a
streamed PDF/A, reminders go out after the deadline. A bad list is one 422 listing every bad line; other units
see nothing, auditors read but do not run a survey."""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any, Iterator

import pypdf
import pytest
from sqlalchemy import func, select

from eakte.clock import set_clock
from eakte.models import LevySurvey
from eakte.runtime import Runtime
from tests.conftest import SQLITE_ONLY
from tests.levy_fixtures import build_levy_town, levy_runtime_at
from tests.services.test_trade_letters import assert_pdfa

# The levy's pages and API bodies are the same code on either database; the levy services' tests (survey,
# assessment, payments, objections) run on both.
pytestmark = SQLITE_ONLY

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "levy" / "landlord_list.csv"
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    with levy_runtime_at(tmp_path, db_url, NOW) as runtime:
        yield runtime


@pytest.fixture
def town(rt: Runtime) -> Any:
    return build_levy_town(rt)


def post_survey(client: Any, town: Any, user: str = "wilhelm", content: bytes | None = None, **over: str) -> Any:
    data: dict[str, Any] = {"landlord": "GWH Musterstadt", "reference_date": "2026-01-01",
                            "period_start": "2026-07-01", **over,
                            "file": (io.BytesIO(content if content is not None else SAMPLE.read_bytes()),
                                     "liste.csv", "text/csv")}
    return client.post("/api/v1/levy/surveys", data=data, headers=town.auth(user),
                       content_type="multipart/form-data")


def test_a_survey_run_and_its_page(client: Any, town: Any) -> None:
    response = post_survey(client, town)
    assert response.status_code == 201, response.json
    body = response.json
    survey_id = body["survey"]["id"]
    assert body["survey"]["households"] == 6 and body["survey"]["deadline"] == "2026-03-30"
    assert body["survey"]["period_end"] == "2029-06-30" and body["survey"]["source_name"] == "liste.csv"
    assert len(body["households"]) == 6 and all(h["created"] for h in body["households"])
    assert body["skipped"] == []
    listed = client.get("/api/v1/levy/surveys", headers=town.auth("rita")).json["items"]
    assert [s["id"] for s in listed] == [survey_id]
    page = client.get(f"/api/v1/levy/surveys/{survey_id}", headers=town.auth("lena")).json
    assert [h["step"] for h in page["households"]] == ["erhebung"] * 6
    assert page["overdue"] == 0 and page["households"][0]["letter_document_id"] == \
        body["households"][0]["letter_document_id"]
    letter = client.get(f"/api/v1/documents/{body['households'][0]['letter_document_id']}/content",
                        headers=town.auth("wilhelm"))
    assert letter.status_code == 200 and letter.mimetype == "application/pdf"
    batch = client.get(f"/api/v1/levy/surveys/{survey_id}/print-batch", headers=town.auth("wilhelm"))
    assert batch.status_code == 200 and batch.mimetype == "application/pdf"
    assert batch.is_streamed and int(batch.headers["Content-Length"]) == len(batch.data)
    assert_pdfa(batch.data)
    assert len(pypdf.PdfReader(io.BytesIO(batch.data)).pages) == 6


def test_a_bad_list_is_one_422_naming_every_line(client: Any, town: Any, rt: Runtime) -> None:
    bad = ("Wohnungsnummer;Straße;Hausnummer;PLZ;Ort;Wohnfläche;Baujahr;Heizung;Mieter\n"
           "A-1;Weg;1;12345;Ort;50;1980;Gas;Eva Muster\n"
           "A-2;Weg;2;123;Ort;0;1980;Ofen;Udo Muster\n").encode()
    response = post_survey(client, town, content=bad)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    problem = response.json
    assert problem["field"] == "file"
    assert [(e["line"], e["column"]) for e in problem["errors"]] == [(2, "Heizung"), (3, "PLZ"), (3, "Wohnfläche")]
    assert problem["errors"][1]["messages_de"] == ["die Postleitzahl hat fünf Ziffern"]
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(LevySurvey)).scalar() == 0


@pytest.mark.parametrize("over, field", [({"period_start": "2026-07-15"}, "period_start"),
                                         ({"period_months": "0"}, "period_months"),
                                         ({"deadline": "2026-01-01"}, "deadline"),
                                         ({"deadline": "9999-12-31"}, "deadline"),
                                         ({"period_start": "9999-12-01"}, "period_start")])
def test_the_dates_are_checked(client: Any, town: Any, over: dict[str, str], field: str) -> None:
    response = post_survey(client, town, **over)
    assert response.status_code == 422 and response.json["field"] == field


def test_who_may_do_what(client: Any, town: Any) -> None:
    assert post_survey(client, town, "anna").status_code == 403
    assert post_survey(client, town, "rita").status_code == 403
    survey_id = post_survey(client, town).json["survey"]["id"]
    for path in ("/api/v1/levy/surveys", f"/api/v1/levy/surveys/{survey_id}",
                 f"/api/v1/levy/surveys/{survey_id}/print-batch"):
        assert client.get(path, headers=town.auth("anna")).status_code == 404, path
    assert client.get(f"/api/v1/levy/surveys/{survey_id}/print-batch", headers=town.auth("rita")).status_code == 200
    assert client.post("/api/v1/levy/surveys/reminders", headers=town.auth("rita")).status_code == 403
    assert client.get("/api/v1/levy/surveys/999", headers=town.auth("wilhelm")).status_code == 404


def test_reminders_after_the_deadline(client: Any, town: Any) -> None:
    survey_id = post_survey(client, town).json["survey"]["id"]
    assert client.post("/api/v1/levy/surveys/reminders", headers=town.auth("lena")).json == {"sent": 0}
    set_clock(lambda: NOW + dt.timedelta(days=29))
    assert client.get(f"/api/v1/levy/surveys/{survey_id}", headers=town.auth("lena")).json["overdue"] == 6
    assert client.post("/api/v1/levy/surveys/reminders", headers=town.auth("lena")).json == {"sent": 6}
    page = client.get(f"/api/v1/levy/surveys/{survey_id}", headers=town.auth("lena")).json
    assert page["overdue"] == 0 and all(h["deadline"] == "2026-04-14" for h in page["households"])
    assert all(len(h["reminder_document_ids"]) == 1 for h in page["households"])
