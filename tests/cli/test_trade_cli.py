"""`eakte trade`: send the due transmissions now (one line), take in a file of notifications as JSON lines (one
line each, exit 1 if any was refused), purge old retrieval logs; errors are one line."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from eakte.bootstrap import build_runtime
from eakte.config import load_settings
from eakte.models import AuditEvent, TradeTransmission
from tests.cli.test_cli import run  # noqa: F401 - the fixture
from tests.trade_fixtures import anmeldung_payload, build_business, trade_actor, transmit


def _trade_office(run) -> None:  # type: ignore[no-untyped-def]
    run("init", "--admin", "chef", "--admin-password", "sehr-geheim")
    run("unit", "create", "32", "Ordnungsamt")
    run("unit", "create", "20", "Kämmerei")
    run("user", "create", "olga", "--unit", "32", "--role", "clerk", "--password", "olga-passwort")
    run("user", "create", "anna", "--unit", "20", "--role", "clerk", "--password", "anna-passwort")
    run("file-plan", "add", "32", "Ordnung", "--retention-years", "10")
    run("file-plan", "add", "32.10", "Gewerbeangelegenheiten", "--retention-years", "10")


def _runtime(run):  # type: ignore[no-untyped-def]
    return build_runtime(load_settings(environ=run.env))


def test_send_drops_the_due_messages_into_the_data_directory(run) -> None:  # type: ignore[no-untyped-def]
    _trade_office(run)
    rt = _runtime(run)
    try:
        olga = trade_actor(rt, "olga")
        case_id, procedure_id = build_business(rt, olga, anmeldung_payload())
        ids = transmit(rt, olga, case_id, procedure_id)
        with rt.db.read() as session:
            due = [t for t in session.execute(select(TradeTransmission)).scalars()
                   if t.due_at <= t.created_at]  # the immediate ones (not the statistics office's)
    finally:
        rt.close()
    assert ids and due
    result = run("trade", "send")
    lines = result.stdout.strip().splitlines()
    assert lines == [f"{len(due)} transmissions sent, 0 to be retried, 0 failed."]
    outbox_dir = Path(run.env["EAKTE_DATA_DIR"]) / "trade-outbox"  # the default: outbox_dir = ""
    assert sorted(p.name for p in outbox_dir.iterdir()) == sorted(t.recipient for t in due)
    assert run("trade", "send").output.strip() == "0 transmissions sent, 0 to be retried, 0 failed."
    rt = _runtime(run)
    try:
        with rt.db.read() as session:
            sent = session.execute(select(AuditEvent).where(AuditEvent.action == "trade.transmission.sent")).scalars()
            assert len(list(sent)) == len(due)
    finally:
        rt.close()


def _write_lines(path: Path, items: list[Any]) -> Path:
    path.write_text("".join((item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)) + "\n"
                            for item in items), encoding="utf-8")
    return path


def test_import_reports_each_notification_and_fails_if_any_was_refused(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _trade_office(run)
    good = anmeldung_payload()
    unknown_business = {"notification": "abmeldung", "business_id": "GW-1999-99999", "effective_on": "2026-01-05",
                        "reason": "aufgabe"}
    path = _write_lines(tmp_path / "anzeigen.jsonl", [good, unknown_business, "{not json", "", [1, 2]])
    result = run("trade", "import", str(path), "--as", "olga", ok=False)
    lines = result.stdout.strip().splitlines()
    assert result.exit_code == 1
    assert len(lines) == 4, lines  # the blank line is no notification
    assert lines[0].startswith("line 1: anmeldung GW-") and lines[0].endswith("new business")
    assert lines[1].startswith("line 2: refused: business_id")
    assert lines[2].startswith("line 3: refused:") and lines[3].startswith("line 5: refused: not a JSON object")
    assert result.stderr.strip() == "eakte: error: 3 of 4 notifications refused"
    # The good one is in, once.
    assert run("trade", "import", str(_write_lines(tmp_path / "one.jsonl", [good])), "--as", "olga").output \
        .startswith("line 1: anmeldung GW-")


def test_import_as_someone_outside_the_trade_unit_refuses_each_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _trade_office(run)
    path = _write_lines(tmp_path / "a.jsonl", [anmeldung_payload(received_on="2026-01-05")])
    result = run("trade", "import", str(path), "--as", "anna", ok=False)
    assert result.exit_code == 1 and result.stdout.startswith("line 1: refused:")


def test_cli_errors_are_one_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _trade_office(run)
    path = _write_lines(tmp_path / "a.jsonl", [anmeldung_payload()])
    result = run("trade", "import", str(path), "--as", "nobody", ok=False)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and "nobody" in lines[0], lines
    assert run("trade", "import", str(path), ok=False).exit_code == 2  # --as is required
    assert run("trade", "import", str(tmp_path / "missing.jsonl"), "--as", "olga", ok=False).exit_code == 2


def test_purge_retrievals_prints_one_line(run) -> None:  # type: ignore[no-untyped-def]
    _trade_office(run)
    assert run("trade", "purge-retrievals").stdout.strip().splitlines() == ["0 retrieval log entries deleted."]
