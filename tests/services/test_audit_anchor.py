"""Checkpoints in the blob store catch what the hash chain cannot: a deleted tail and a recomputed chain.
Export events land on every exported case's own trail."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from eakte.config import StorageSettings
from eakte.models import AuditEvent
from eakte.runtime import Runtime
from eakte.services import audit, audit_anchor, integrity
from tests.conftest import OPERATOR, build_town, make_runtime
from tests.helpers import create_case


def _events(rt: Runtime) -> list[AuditEvent]:
    with rt.db.read() as session:
        return list(session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())


def _append(rt: Runtime, n: int, action: str = "test.event") -> None:
    for i in range(n):
        with rt.db.write() as session:
            audit.record(session, OPERATOR, action, "test", i)


def _behind_the_triggers(rt: Runtime, change: Callable[[Any], None]) -> None:
    """As a DBA with write access could: past the append-only triggers."""
    with rt.db.engine.begin() as conn:
        if rt.db.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        change(conn)
        if not rt.db.is_sqlite:
            conn.exec_driver_sql("ALTER TABLE audit_events ENABLE TRIGGER USER")


def _cut_tail(rt: Runtime, n: int) -> None:
    victims = [e.id for e in _events(rt)[-n:]]
    _behind_the_triggers(rt, lambda conn: conn.execute(delete(AuditEvent).where(AuditEvent.id.in_(victims))))


def _rewrite_from(rt: Runtime, index: int) -> None:
    """Change event `index` and recompute every hash after it: a chain that verifies on its own."""
    events = _events(rt)
    events[index].details = {"forged": True}
    prev = events[index - 1].hash if index else audit.GENESIS
    rows = []
    for event in events[index:]:
        event.prev_hash = prev
        event.hash = prev = audit.chain_hash(prev, event)
        rows.append((event.id, event.details, event.prev_hash, event.hash))

    def change(conn: Any) -> None:
        for event_id, details, prev_hash, hash_ in rows:
            conn.execute(update(AuditEvent).where(AuditEvent.id == event_id)
                         .values(details=details, prev_hash=prev_hash, hash=hash_[:63] + "!"))
        # Two steps, because `hash` is unique and a recomputed hash may equal another row's old one.
        for event_id, _, _, hash_ in rows:
            conn.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(hash=hash_))
    _behind_the_triggers(rt, change)


def test_verify_records_a_checkpoint_and_agrees_with_it(rt, town) -> None:
    first = audit_anchor.verify(rt)
    assert first.ok and first.compared == 0 and first.recorded is not None
    assert first.recorded.count == len(_events(rt)) and first.recorded.last_hash == _events(rt)[-1].hash
    _append(rt, 2)
    second = audit_anchor.verify(rt)
    assert second.ok and second.compared == 1 and second.checked == first.checked + 2
    assert [c.count for c in audit_anchor.newest(rt)] == [second.checked, first.checked]  # newest first


def test_cut_off_tail_is_detected(rt, town) -> None:
    assert audit_anchor.verify(rt).ok
    _cut_tail(rt, 3)
    with rt.db.read() as session:
        assert audit.verify_chain(session)[1] is None  # the chain alone cannot see it
    result = audit_anchor.verify(rt)
    assert not result.ok and result.problem is not None
    assert "cut off" in result.problem and "3 newest events removed" in result.problem
    assert result.recorded is None  # a failed verify anchors nothing


def test_recomputed_chain_is_detected(rt, town) -> None:
    assert audit_anchor.verify(rt).ok
    _rewrite_from(rt, 2)
    with rt.db.read() as session:
        assert audit.verify_chain(session)[1] is None  # internally consistent again
    result = audit_anchor.verify(rt)
    assert not result.ok and result.problem is not None and "rewritten" in result.problem


def test_cut_tail_refilled_with_new_events_is_detected(rt, town) -> None:
    assert audit_anchor.verify(rt).ok
    _cut_tail(rt, 2)
    _append(rt, 4)  # the count is back above the checkpoint's, but the event at its position is another one
    result = audit_anchor.verify(rt)
    assert not result.ok and result.problem is not None and "rewritten" in result.problem


def test_periodic_checkpoint_anchors_without_a_verify(rt, town) -> None:
    taken = audit_anchor.take_checkpoint(rt)
    assert taken is not None and taken.count == len(_events(rt))
    assert audit_anchor.take_checkpoint(rt) is None  # nothing new: no second record
    _append(rt, 1)
    assert audit_anchor.take_checkpoint(rt) is not None
    _cut_tail(rt, 1)
    result = audit_anchor.verify(rt)
    assert not result.ok and "cut off" in str(result.problem)


def test_the_job_takes_a_checkpoint(rt, town) -> None:
    from eakte.jobs import Jobs
    jobs = rt.jobs if isinstance(rt.jobs, Jobs) else Jobs(rt)
    assert jobs._audit_checkpoint() is True
    assert len(audit_anchor.newest(rt)) == 1


def test_gc_keeps_checkpoints(rt, town) -> None:
    import datetime as dt
    audit_anchor.verify(rt)
    integrity.collect_garbage(rt, OPERATOR, dt.timedelta(0))
    assert len(audit_anchor.newest(rt)) == 1 and audit_anchor.verify(rt).ok


def test_unreadable_checkpoint_is_reported(rt, town) -> None:
    rt.blobs.put_record(f"{audit_anchor.FOLDER}/0000000000000000-forged.json", b"not json")
    result = audit_anchor.verify(rt)
    assert not result.ok and "unreadable" in str(result.problem)


@pytest.fixture
def cli(rt) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    from eakte.cli import main
    env = {"EAKTE_DATA_DIR": str(rt.settings.data_dir), "EAKTE_DATABASE_URL": rt.settings.database_url}
    return lambda *args: CliRunner().invoke(main, list(args), env=env)


def test_cli_audit_verify_reports_a_cut_tail_in_one_line(rt, town, cli) -> None:
    ok = cli("audit", "verify")
    assert ok.exit_code == 0 and "Audit trail intact" in ok.output and "checkpoint recorded" in ok.output
    _cut_tail(rt, 1)
    bad = cli("audit", "verify")
    assert bad.exit_code == 1
    assert len(bad.stderr.strip().splitlines()) == 1 and "cut off" in bad.stderr


@pytest.fixture
def s3_rt(tmp_path: Path, db_url: str, moto_s3) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    storage = StorageSettings(backend="s3", endpoint_url=moto_s3.endpoint_url, region=moto_s3.region,
                              bucket=f"eakte-{uuid.uuid4().hex[:12]}", access_key=moto_s3.access_key,
                              secret_key=moto_s3.secret_key, addressing_style="path", prefix="town")
    runtime = make_runtime(tmp_path, db_url, storage=storage)
    yield runtime
    runtime.close()


def test_checkpoints_on_s3(s3_rt: Runtime) -> None:
    build_town(s3_rt)
    assert audit_anchor.verify(s3_rt).ok
    assert audit_anchor.verify(s3_rt).compared == 1
    _cut_tail(s3_rt, 2)
    assert "cut off" in str(audit_anchor.verify(s3_rt).problem)


# --- exports on each case's own trail --------------------------------------------------------------------

def test_bagit_export_shows_on_each_exported_case(client, town) -> None:  # type: ignore[no-untyped-def]
    h = town.auth("anna")
    exported = [create_case(client, h, title=f"Akte {i}")["id"] for i in range(2)]
    other = create_case(client, h, title="Nicht exportiert")["id"]
    resp = client.post("/api/v1/exports", json={"case_ids": exported}, headers=town.auth("rita"))
    assert resp.status_code == 200
    _ = resp.data  # stream it to the end
    for case_id in exported:
        trail = client.get(f"/api/v1/cases/{case_id}/audit", headers=h).get_json()["items"]
        events = [e for e in trail if e["action"] == "case.export"]
        assert len(events) == 1 and events[0]["actor"] == "rita", trail
    trail = client.get(f"/api/v1/cases/{other}/audit", headers=h).get_json()["items"]
    assert not any(e["action"] == "case.export" for e in trail)
