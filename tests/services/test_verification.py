"""Integrity checks as background jobs (issue 10 point 4), the status page's parts (point 8): runs recorded as audit
events, findings of a tampered trail and a corrupted blob, one run at a time, the queue, the disk walk, retrying a
failed text extraction."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from eakte.bootstrap import build_runtime
from eakte.config import DatabaseSettings, JobsSettings, Settings
from eakte.errors import Conflict, Forbidden
from eakte.extraction.result import ExtractionResult
from eakte.models import AuditEvent, DocumentVersion
from eakte.runtime import QueueInfo, Runtime
from eakte.services import audit_anchor, extraction, system, verification
from eakte.services.access import Actor, load_principal
from eakte.services import identity
from tests.conftest import Town
from tests.helpers import create_case, pdf_bytes, upload
from tests.services.test_audit_anchor import _behind_the_triggers


def actor(rt: Runtime, username: str) -> Actor:
    with rt.db.read() as session:
        return Actor(load_principal(session, identity.user_by_name(session, username), {}), "10.0.0.7")


def _events(rt: Runtime, action: str) -> list[AuditEvent]:
    with rt.db.read() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                    .order_by(AuditEvent.id)).scalars())


def uploaded(client: Any, town: Town, title: str = "Rechnung") -> dict[str, Any]:
    case = create_case(client, town.auth("anna"))
    resp = upload(client, town.auth("anna"), case["id"], pdf_bytes(title), title=title)  # own content: own blob
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def corrupt_newest_blob(rt: Runtime) -> str:
    with rt.db.read() as session:
        key = session.execute(select(DocumentVersion.blob_key).order_by(DocumentVersion.id.desc())).scalar()
    blob = rt.settings.local_blob_path / key
    blob.chmod(0o644)
    blob.write_bytes(b"tampered")
    return key


def tamper_third_event(rt: Runtime) -> int:
    with rt.db.read() as session:
        victim = session.execute(select(AuditEvent.id).order_by(AuditEvent.id).offset(2).limit(1)).scalar_one()
    _behind_the_triggers(rt, lambda conn: conn.execute(
        update(AuditEvent).where(AuditEvent.id == victim).values(details={"forged": True})))
    return victim


def test_a_run_is_recorded_as_audit_events_with_its_result(rt, town: Town) -> None:
    rita = actor(rt, "rita")
    run_id = verification.start_run(rt, rita, "audit")  # immediate backend: the job has run
    started, finished = _events(rt, "audit.verify_started"), _events(rt, "audit.verified")
    assert [e.id for e in started] == [run_id] and started[0].actor == "rita"
    assert (started[0].object_type, started[0].object_id) == ("system", "audit")
    assert len(finished) == 1 and finished[0].actor == "rita" and finished[0].client_addr == "10.0.0.7"
    details = finished[0].details
    assert details["run"] == run_id and details["ok"] is True and details["checked"] > 0
    assert details["problems"] == [] and details["started_at"] <= details["finished_at"]
    audit_status, storage_status = verification.status(rt, rita)
    assert audit_status.kind == "audit" and audit_status.pending is None
    assert audit_status.last is not None and audit_status.last.ok and audit_status.last.started_by == "rita"
    assert storage_status.last is None  # never ran
    assert verification.run(rt, "audit", run_id) is None  # a job that runs twice records nothing twice
    assert len(_events(rt, "audit.verified")) == 1


def test_a_tampered_event_is_a_finding(rt, town: Town) -> None:
    victim = tamper_third_event(rt)
    verification.start_run(rt, actor(rt, "admin"), "audit")
    last = verification.status(rt, actor(rt, "admin"))[0].last
    assert last is not None and not last.ok and last.problem_count == 1
    assert last.problems[0]["kind"] == "broken" and f"broken at event {victim}" in last.problems[0]["what"]


def test_the_result_event_is_anchored_too(rt, town: Town) -> None:
    admin = actor(rt, "admin")
    verification.start_run(rt, admin, "audit")
    _behind_the_triggers(rt, lambda conn: conn.execute(  # remove the newest event: the run's own result
        delete(AuditEvent).where(AuditEvent.id == _events(rt, "audit.verified")[-1].id)))
    assert "cut off" in str(audit_anchor.verify(rt).problem)


def test_runs_of_the_cli_are_recorded(rt, town: Town) -> None:
    from click.testing import CliRunner

    from eakte.cli import main
    env = {"EAKTE_DATA_DIR": str(rt.settings.data_dir), "EAKTE_DATABASE_URL": rt.settings.database_url}
    for args in (["audit", "verify"], ["storage", "verify"]):
        assert CliRunner().invoke(main, args, env=env).exit_code == 0
    audit_status, storage_status = verification.status(rt, actor(rt, "rita"))
    assert audit_status.last is not None and audit_status.last.ok and audit_status.last.started_by.startswith("cli:")
    assert storage_status.last is not None and storage_status.last.ok and storage_status.last.run_id == 0


def test_a_corrupted_and_a_missing_blob_are_findings(rt, client, town: Town) -> None:
    uploaded(client, town, "Erste")
    corrupt = corrupt_newest_blob(rt)
    uploaded(client, town, "Zweite")
    with rt.db.read() as session:
        missing = session.execute(select(DocumentVersion.blob_key).order_by(DocumentVersion.id.desc())).scalar()
    (rt.settings.local_blob_path / missing).unlink()
    verification.start_run(rt, actor(rt, "rita"), "storage")
    last = verification.status(rt, actor(rt, "rita"))[1].last
    assert last is not None and not last.ok and last.checked == 2 and last.problem_count == 2
    assert {(p["kind"], p["what"]) for p in last.problems} == {("corrupt", corrupt), ("missing", missing)}
    details = _events(rt, "storage.verified")[-1].details
    assert (details["missing"], details["corrupt"]) == (1, 1)


def test_one_run_at_a_time(rt, town: Town, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rt.jobs, "run_verification", lambda kind, run_id: None)  # queued, not yet run
    admin = actor(rt, "admin")
    run_id = verification.start_run(rt, admin, "storage")
    with pytest.raises(Conflict):
        verification.start_run(rt, actor(rt, "rita"), "storage")
    assert len(_events(rt, "storage.verify_started")) == 1  # the refused start left no event
    pending = verification.status(rt, admin)[1].pending
    assert pending is not None and pending.run_id == run_id and pending.started_by == "admin"
    verification.start_run(rt, admin, "audit")  # the other check is independent
    assert verification.run(rt, "storage", run_id) is True
    assert verification.status(rt, admin)[1].pending is None
    second = verification.start_run(rt, admin, "storage")
    monkeypatch.setattr(verification, "STALE_AFTER", dt.timedelta(0))  # a start whose job was lost
    assert verification.status(rt, admin)[1].pending is None
    assert verification.start_run(rt, admin, "storage") > second


@pytest.mark.parametrize("user", ["anna", "bernd", "olga"])
def test_only_auditors_and_admins_verify(rt, town: Town, user: str) -> None:
    with pytest.raises(Forbidden):
        verification.start_run(rt, actor(rt, user), "audit")
    with pytest.raises(Forbidden):
        verification.status(rt, actor(rt, user))
    assert _events(rt, "audit.verify_started") == []


def failed_upload(rt: Runtime, client: Any, town: Town, monkeypatch: pytest.MonkeyPatch,
                  title: str = "Rechnung") -> int:
    """A document whose text extraction timed out (the extractor fails while it is patched)."""
    with monkeypatch.context() as patched:
        patched.setattr(rt.extractor, "extract", lambda path, mime: ExtractionResult.failed("timeout after 60 s"))
        uploaded(client, town, title)
    with rt.db.read() as session:
        version = session.execute(select(DocumentVersion).order_by(DocumentVersion.id.desc())).scalars().first()
        assert version.text_status == "failed"
        return version.id


def test_retry_of_a_failed_extraction(rt, client, town: Town, monkeypatch: pytest.MonkeyPatch) -> None:
    version_id = failed_upload(rt, client, town, monkeypatch)
    with pytest.raises(Forbidden):
        extraction.retry_failed(rt, actor(rt, "rita"), version_id)
    info = system.status(rt, actor(rt, "admin"))
    assert [f.version_id for f in info.failures] == [version_id] and info.failures[0].title == "Rechnung"
    extraction.retry_failed(rt, actor(rt, "admin"), version_id)
    with rt.db.read() as session:
        assert session.get(DocumentVersion, version_id).text_status == "done"  # immediate: extracted again
    event = _events(rt, "document.extraction_retry")[-1]
    assert event.actor == "admin" and event.details["version_id"] == version_id
    assert event.details["error"] == "timeout after 60 s"
    with pytest.raises(Conflict):
        extraction.retry_failed(rt, actor(rt, "admin"), version_id)


def test_status_samples_storage_and_checks_the_index(rt, client, town: Town) -> None:
    uploaded(client, town)
    info = system.status(rt, actor(rt, "admin"))
    assert info.queue is None  # immediate backend
    assert info.sample.checked == 1 and info.sample.ok
    assert info.search_check is not None and info.search_check.ok and info.search_check.in_database == 1
    assert info.disk is not None and info.disk.complete and info.disk.bytes > 0
    key = corrupt_newest_blob(rt)
    assert system.status(rt, actor(rt, "admin")).sample.corrupt == [key]


def test_disk_use_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for i, size in enumerate((10, 20, 30)):
        (tmp_path / "a" / ("b" if i else "") / f"f{i}").write_bytes(b"x" * size)
    assert system.disk_use(tmp_path) == system.DiskUse(60, 3, True)
    partial = system.disk_use(tmp_path, max_files=2)
    assert partial.files == 2 and not partial.complete
    assert system.disk_use(tmp_path / "gone") == system.DiskUse(0, 0, True)


def test_queue_info_of_a_waiting_queue(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'x.db'}"),
                        jobs=JobsSettings(backend="sqlite"))
    rt = build_runtime(settings)
    try:
        assert rt.jobs.queue_info() == QueueInfo(0, None, None)
        before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        rt.jobs.extract_text(41)  # no consumer runs: it waits
        rt.jobs.run_verification("audit", 42)
        info = rt.jobs.queue_info()
        assert info is not None and info.waiting == 2 and info.oldest_name == "extract_text"
        assert info.oldest_enqueued_at is not None
        assert before - dt.timedelta(seconds=1) <= info.oldest_enqueued_at <= before + dt.timedelta(seconds=5)
    finally:
        rt.close()
