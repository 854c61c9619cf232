"""`eakte levy payments import FILE --as USER` books the cash office's CSV as a named levy clerk: one line per line
not booked (duplicate, unmatched), a summary line; a malformed file books nothing and exits non-zero, as does a
user who may not book."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select

from eakte.bootstrap import build_runtime
from eakte.clock import set_clock
from eakte.config import load_settings
from eakte.models import LevyPayment, Procedure
from tests.cli.test_cli import run  # noqa: F401 - the fixture
from tests.levy_fixtures import build_flat_procedure, levy_actor, members, run_to_running
HEADER = "Buchungsnummer;Buchungsdatum;Betrag;Verwendungszweck\n"


def _office(run, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    """The housing office with two clerks, the payee configured, one levy running; its procedure reference."""
    config = tmp_path / "eakte.toml"
    config.write_text('[case_types.levy]\npayee_name = "Stadtkasse Musterstadt"\n'
                      'payee_iban = "DE89370400440532013000"\n', encoding="utf-8")
    run.env["EAKTE_CONFIG"] = str(config)
    run("init", "--admin", "chef", "--admin-password", "sehr-geheim")
    run("unit", "create", "50", "Amt für Wohnungswesen")
    run("unit", "create", "14", "Rechnungsprüfungsamt")
    for name in ("wilhelm", "lena"):
        run("user", "create", name, "--unit", "50", "--role", "clerk", "--password", f"{name}-passwort")
    run("user", "create", "rita", "--unit", "14", "--role", "auditor", "--password", "rita-passwort")
    run("file-plan", "add", "50", "Wohnen", "--retention-years", "10")
    run("file-plan", "add", "50.20", "Fehlbelegungsabgabe", "--retention-years", "10")
    rt = build_runtime(load_settings(environ=run.env))
    try:
        _, pid = build_flat_procedure(rt, levy_actor(rt, "wilhelm"), household=members("27000.00"))
        run_to_running(rt, pid)
        with rt.db.read() as session:
            return session.get(Procedure, pid).reference
    finally:
        rt.close()


def _payments(run) -> int:  # type: ignore[no-untyped-def]
    rt = build_runtime(load_settings(environ=run.env))
    try:
        with rt.db.read() as session:
            return int(session.execute(select(func.count()).select_from(LevyPayment)).scalar())
    finally:
        rt.close()


def test_import_reports_each_line_not_booked(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    set_clock(lambda: dt.datetime(2026, 4, 2, 9, tzinfo=dt.timezone.utc))
    try:
        reference = _office(run, tmp_path)
        csv = tmp_path / "kasse.csv"
        csv.write_text(HEADER + f"K-1;02.04.2026;155,10;FBA {reference}\nK-2;02.04.2026;9,00;Spende\n"
                       f"K-1;02.04.2026;155,10;FBA {reference}\n", encoding="utf-8")
        out = run("levy", "payments", "import", str(csv), "--as", "wilhelm").stdout.strip().splitlines()
        assert out == ["line 3: unmatched: K-2: kein Aktenzeichen im Verwendungszweck",
                       "line 4: duplicate: K-1: Buchung K-1 wurde bereits weiter oben in dieser Datei gebucht",
                       "1 of 3 payments booked (155.10 EUR; 0 confirm payments typed in by hand), 1 duplicates, "
                       "1 unmatched."]
        out = run("levy", "payments", "import", str(csv), "--as", "lena").stdout.strip().splitlines()
        assert out[-1] == "0 of 3 payments booked (0.00 EUR; 0 confirm payments typed in by hand), 2 duplicates, " \
            "1 unmatched."
        assert _payments(run) == 1
    finally:
        set_clock(None)


def test_a_malformed_file_or_a_reader_books_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    set_clock(lambda: dt.datetime(2026, 4, 2, 9, tzinfo=dt.timezone.utc))
    try:
        reference = _office(run, tmp_path)
        bad = tmp_path / "kaputt.csv"
        bad.write_text(HEADER + f"K-1;02.04.2026;155,10;FBA {reference}\nK-2;2.4.;1,00;FBA {reference}\n",
                       encoding="utf-8")
        result = run("levy", "payments", "import", str(bad), "--as", "wilhelm", ok=False)
        assert result.exit_code == 1
        assert "Zeile 3, Spalte Buchungsdatum" in result.output and "nichts gebucht" in result.output
        good = tmp_path / "gut.csv"
        good.write_text(HEADER + f"K-1;02.04.2026;155,10;FBA {reference}\n", encoding="utf-8")
        result = run("levy", "payments", "import", str(good), "--as", "rita", ok=False)
        assert result.exit_code == 1 and "Sachbearbeitung" in result.output
        assert _payments(run) == 0
    finally:
        set_clock(None)


def test_reverse_books_a_reversal_and_refuses_in_one_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    set_clock(lambda: dt.datetime(2026, 4, 2, 9, tzinfo=dt.timezone.utc))
    try:
        reference = _office(run, tmp_path)
        csv = tmp_path / "kasse.csv"
        csv.write_text(HEADER + f"K-1;02.04.2026;155,10;FBA {reference}\n", encoding="utf-8")
        run("levy", "payments", "import", str(csv), "--as", "wilhelm")
        rt = build_runtime(load_settings(environ=run.env))
        try:
            with rt.db.read() as session:
                payment_id = session.execute(select(LevyPayment.id)).scalar_one()
        finally:
            rt.close()
        result = run("levy", "payments", "reverse", str(payment_id), "--reason", "falsch", "--as", "rita", ok=False)
        assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
        out = run("levy", "payments", "reverse", str(payment_id), "--reason", "falscher Vorgang", "--as", "lena")
        assert out.stdout.strip() == f"payment {payment_id} reversed (155.10 EUR), reversal {payment_id + 1}."
        result = run("levy", "payments", "reverse", str(payment_id), "--reason", "nochmal", "--as", "lena", ok=False)
        assert result.exit_code == 1 and "bereits storniert" in result.output
        assert _payments(run) == 2
    finally:
        set_clock(None)
