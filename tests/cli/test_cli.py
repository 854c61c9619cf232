"""The `eakte` command, as an operator scripts it: one line and a non-zero exit on every error."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from eakte.cli import main
from tests.helpers import pdf_bytes


@pytest.fixture
def run(tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    env = {"EAKTE_DATA_DIR": str(tmp_path / "data"), "EAKTE_DATABASE_URL": db_url}

    def invoke(*args: str, ok: bool = True):  # type: ignore[no-untyped-def]
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    invoke.env = env  # type: ignore[attr-defined]
    return invoke


def _setup(run) -> None:  # type: ignore[no-untyped-def]
    out = run("init", "--admin", "chef", "--admin-password", "sehr-geheim").output
    assert "API token eak_" in out
    run("unit", "create", "20", "Kämmerei")
    run("user", "create", "anna", "--unit", "20", "--role", "clerk", "--unit", "20", "--role", "approver",
        "--password", "anna-passwort")
    run("file-plan", "add", "20", "Finanzen", "--retention-years", "10")
    run("file-plan", "add", "20.30", "Rechnungen", "--retention-years", "10", "--disposal", "destroy")


def test_setup_and_import(run, tmp_path: Path) -> None:
    _setup(run)
    token = run("user", "token", "anna").output.strip()
    assert token.startswith("eak_")
    assert "20.30" in run("file-plan", "list").output

    from eakte.config import load_settings
    from eakte.bootstrap import build_runtime
    from eakte.services import cases, identity
    from eakte.services.access import Actor, load_principal
    rt = build_runtime(load_settings(environ=run.env))
    with rt.db.write() as session:
        actor = Actor(load_principal(session, identity.user_by_name(session, "anna"), {}))
        reference = cases.create_case(session, actor, cases.NewCase("20.30", "Import", "20"), rt.registry).reference
    rt.close()

    inbox = tmp_path / "scans"
    inbox.mkdir()
    (inbox / "a.pdf").write_bytes(pdf_bytes("A"))
    (inbox / "b.txt").write_text("Bescheid über die Fehlbelegungsabgabe", encoding="utf-8")
    (inbox / "virus.pdf").write_bytes(b"MZ" + b"\x00" * 100)
    (inbox / "leer.txt").write_bytes(b"")
    result = run("import", str(inbox), "--case", reference, "--user", "anna")
    assert "2 imported, 2 rejected." in result.output
    assert "virus.pdf" in result.stderr and "leer.txt" in result.stderr

    assert "Audit trail intact" in run("audit", "verify").output
    assert "All 2 blobs intact." in run("storage", "verify").output


def test_errors_are_one_line_and_nonzero(run) -> None:
    _setup(run)
    for args, needle in [
        (("unit", "create", "20", "Doppelt"), "exists already"),
        (("user", "create", "bob", "--unit", "99", "--role", "clerk"), "no unit"),
        (("user", "create", "bob", "--unit", "20"), "pairs"),
        (("user", "token", "nobody"), "no user"),
        (("file-plan", "add", "x.y", "Falsch", "--retention-years", "1"), "dotted digits"),
        (("import", ".", "--case", "20.30/9999/2026", "--user", "anna"), "no case"),
        (("init",), "has users already"),
    ]:
        result = run(*args, ok=False)
        assert result.exit_code == 1, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("eakte: error:") and needle in lines[0], (args, lines)


def test_bad_setting_is_named(tmp_path: Path) -> None:
    env = {"EAKTE_DATA_DIR": str(tmp_path), "EAKTE_INGEST__MAX_SIZE_MB": "viel"}
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 1
    assert result.stderr.strip() == "eakte: error: ingest.max_size_mb: expected a whole number >= 0, got 'viel'"
    config = tmp_path / "eakte.toml"
    config.write_text('[storage]\nbackend = "ftp"\n')
    result = CliRunner().invoke(main, ["--config", str(config), "db", "upgrade"], env={"EAKTE_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1 and "storage.backend: expected one of" in result.stderr


def test_storage_verify_and_gc_find_tampering(run, tmp_path: Path) -> None:
    _setup(run)
    import io

    from eakte.config import load_settings
    from eakte.bootstrap import build_runtime
    from eakte.services import cases, documents, identity
    from eakte.services.access import Actor, load_principal
    rt = build_runtime(load_settings(environ=run.env))
    with rt.db.write() as session:
        actor = Actor(load_principal(session, identity.user_by_name(session, "anna"), {}))
        case = cases.create_case(session, actor, cases.NewCase("20.30", "Prüfung", "20"), rt.registry)
    doc = documents.add_document(rt, actor, case.id, documents.NewDocument("PDF"),
                                 documents.Upload(io.BytesIO(pdf_bytes()), "a.pdf"))
    orphan = rt.blobs.put(io.BytesIO(b"orphan text without a version"))
    rt.close()
    assert "1 blobs intact" in run("storage", "verify").output

    # gc: the orphan is within the grace period first, then collected; the referenced blob stays.
    assert "0 blobs removed, 1 kept" in run("storage", "gc").output
    out = run("storage", "gc", "--grace-hours", "0").output
    assert f"removed: {orphan.key}" in out and "1 blobs removed" in out
    assert "All 1 blobs intact." in run("storage", "verify").output

    blob = Path(run.env["EAKTE_DATA_DIR"]) / "blobs" / doc.version.blob_key
    blob.chmod(0o644)
    blob.write_bytes(b"tampered")
    result = run("storage", "verify", ok=False)
    assert result.exit_code == 1 and f"corrupt: {doc.version.blob_key}" in result.stderr
    blob.unlink()
    result = run("storage", "verify", ok=False)
    assert result.exit_code == 1 and f"missing: {doc.version.blob_key}" in result.stderr


def test_audit_verify_fails_on_tampering(run) -> None:
    _setup(run)
    from sqlalchemy import create_engine
    engine = create_engine(run.env["EAKTE_DATABASE_URL"])
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        victim = conn.exec_driver_sql("SELECT id FROM audit_events ORDER BY id LIMIT 1 OFFSET 2").scalar()
        conn.exec_driver_sql(f"UPDATE audit_events SET details = '{{}}' WHERE id = {victim}")
        if engine.dialect.name != "sqlite":
            conn.exec_driver_sql("ALTER TABLE audit_events ENABLE TRIGGER USER")
    engine.dispose()
    result = run("audit", "verify", ok=False)
    assert result.exit_code == 1 and f"broken at event {victim}" in result.stderr


def test_server_refuses_outdated_schema(tmp_path: Path) -> None:
    env = {**os.environ, "EAKTE_DATA_DIR": str(tmp_path / "fresh")}
    env.pop("EAKTE_DATABASE_URL", None)
    proc = subprocess.run([sys.executable, "-m", "eakte", "serve", "--port", "0"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1
    assert "eakte db upgrade" in proc.stderr and "Traceback" not in proc.stderr


def test_demo_seeds_once(tmp_path: Path) -> None:
    env = {"EAKTE_DATA_DIR": str(tmp_path / "demo")}
    first = CliRunner().invoke(main, ["demo", "--seed-only"], env=env, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    for user in ["anna", "bernd", "olga", "petra", "helga", "beate", "erika", "wilhelm", "oskar", "heidi", "karl",
                 "rita", "admin"]:
        assert user in first.output
    assert "http://127.0.0.1:8080" in first.output
    second = CliRunner().invoke(main, ["demo", "--seed-only"], env=env, catch_exceptions=False)
    assert second.exit_code == 0
    from sqlalchemy import func, select

    from eakte.config import load_settings
    from eakte.models import Case, DocumentVersion, Task
    from eakte.bootstrap import build_runtime
    rt = build_runtime(load_settings(environ=env))
    with rt.db.read() as session:
        # 3 general cases, 3 invoices, 2 personnel files, 4 businesses of the trade register, 8 levy flats
        assert session.execute(select(func.count()).select_from(Case)).scalar() == 20
        steps = sorted(session.execute(select(Task.step).where(Task.status == "open",
                                                               Task.case_type == "invoice")).scalars())
        statuses = set(session.execute(select(DocumentVersion.text_status)).scalars())
    rt.close()
    assert statuses == {"done"}
    assert steps == ["eingang", "rechnerisch", "sachlich"]
