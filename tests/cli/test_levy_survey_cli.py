"""`eakte levy survey` runs the survey for a landlord's list as a named clerk (one summary line; the bad lines one
line each and a non-zero exit, nothing stored); `eakte levy remind` prints how many reminders it sent."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select

from eakte.bootstrap import build_runtime
from eakte.clock import set_clock
from eakte.config import load_settings
from eakte.models import LevySurvey, Procedure
from tests.cli.test_cli import run  # noqa: F401 - the fixture

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "levy" / "landlord_list.csv"


def _office(run) -> None:  # type: ignore[no-untyped-def]
    run("init", "--admin", "chef", "--admin-password", "sehr-geheim")
    run("unit", "create", "50", "Amt für Wohnungswesen")
    run("unit", "create", "20", "Kämmerei")
    run("user", "create", "wilhelm", "--unit", "50", "--role", "clerk", "--password", "wilhelm-passwort")
    run("user", "create", "anna", "--unit", "20", "--role", "clerk", "--password", "anna-passwort")
    run("file-plan", "add", "50", "Wohnen", "--retention-years", "10")
    run("file-plan", "add", "50.20", "Fehlbelegungsabgabe", "--retention-years", "10")


def _count(run, model) -> int:  # type: ignore[no-untyped-def]
    rt = build_runtime(load_settings(environ=run.env))
    try:
        with rt.db.read() as session:
            return int(session.execute(select(func.count()).select_from(model)).scalar())
    finally:
        rt.close()


def test_survey_then_remind(run) -> None:  # type: ignore[no-untyped-def]
    _office(run)
    set_clock(lambda: dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc))
    try:
        out = run("levy", "survey", "--flats", str(SAMPLE), "--landlord", "GWH Musterstadt", "--as", "wilhelm",
                  "--reference-date", "2026-01-01", "--period-start", "2026-07-01").stdout.strip().splitlines()
        assert len(out) == 1 and out[0].startswith("survey 1: 6 households (6 new flats), 6 letters, 0 skipped")
        assert _count(run, Procedure) == 6
        assert run("levy", "remind", "--as", "wilhelm").stdout.strip() == "0 reminders sent."
        set_clock(lambda: dt.datetime(2026, 4, 1, 9, tzinfo=dt.timezone.utc))  # after the 28 days
        assert run("levy", "remind", "--as", "wilhelm").stdout.strip() == "6 reminders sent."
    finally:
        set_clock(None)


def test_bad_lines_and_refusals_exit_non_zero(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _office(run)
    bad = tmp_path / "liste.csv"
    bad.write_text("Wohnungsnummer;Straße;Hausnummer;PLZ;Ort;Wohnfläche;Baujahr;Heizung;Mieter\n"
                   "A-1;Weg;1;12345;Ort;50;1980;Gas;Eva Muster\n"
                   "A-2;Weg;2;123;Ort;50;1980;Ofen;Udo Muster\n", encoding="utf-8")
    result = run("levy", "survey", "--flats", str(bad), "--landlord", "GWH", "--as", "wilhelm",
                 "--period-start", "2030-01-01", ok=False)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["line 2 (Heizung): unbekannte Heizungsart »Gas« (erlaubt: Ofen oder "
                                          "Sammelheizung)", "line 3 (PLZ): die Postleitzahl hat fünf Ziffern"]
    assert result.stderr.strip().startswith("eakte: error: Zeile 2")
    assert _count(run, LevySurvey) == 0
    refused = run("levy", "survey", "--flats", str(SAMPLE), "--landlord", "GWH", "--as", "anna", ok=False)
    assert refused.exit_code == 1 and "needs the clerk role" in refused.stderr
    wrong = run("levy", "survey", "--flats", str(SAMPLE), "--landlord", "GWH", "--as", "wilhelm",
                "--period-start", "2030-01-15", ok=False)
    assert wrong.exit_code == 1 and "Ersten eines Monats" in wrong.stderr
    assert run("levy", "remind", "--as", "anna", ok=False).exit_code == 1
