"""Review r2: the status page's sample check is bounded in bytes, not only in versions (uploads may be 2 GiB
each, and twenty of them re-hashed, or downloaded from S3, on every page view would take minutes)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from eakte.models import AuditEvent, DocumentVersion
from eakte.services import integrity, system
from tests.conftest import Town
from tests.services.test_verification import actor, uploaded


def test_sample_stays_within_its_byte_budget(rt, client, town: Town, monkeypatch: Any) -> None:  # type: ignore[no-untyped-def]
    for title in ("A", "B", "C"):
        uploaded(client, town, title)
    with rt.db.read() as session:
        sizes = list(session.execute(select(DocumentVersion.size).order_by(DocumentVersion.id.desc())).scalars())
    hashed: list[str] = []
    real = rt.blobs.verify
    monkeypatch.setattr(rt.blobs, "verify", lambda key: (hashed.append(key), real(key))[1])
    report = integrity.verify_sample(rt, 20, max_bytes=sizes[0] + sizes[1])
    assert report.checked == 2 and len(hashed) == 2  # the two newest fit, the third would exceed the budget
    hashed.clear()
    assert integrity.verify_sample(rt, 20, max_bytes=min(sizes) - 1).checked == 0 and hashed == []
    monkeypatch.setattr(system, "SAMPLE_MAX_BYTES", sizes[0])
    assert system.status(rt, actor(rt, "admin")).sample.checked == 1



def test_a_finished_run_stays_finished_after_many_cli_runs(rt, town: Town, monkeypatch: Any) -> None:  # type: ignore[no-untyped-def]
    """Runs of `eakte storage verify` (say hourly from cron) record results without a run id: however many come
    after a run of the page, that run does not seem to be running again (which would also refuse a new start)."""
    import datetime as dt

    from eakte.clock import utcnow
    from eakte.services import verification
    monkeypatch.setattr(rt.jobs, "run_verification", lambda kind, run_id: None)
    admin = actor(rt, "admin")
    run_id = verification.start_run(rt, admin, "storage")
    assert verification.run(rt, "storage", run_id) is True
    for _ in range(verification._FINISHED_LOOKED_AT + 1):
        verification.record_result(rt, admin, "storage", utcnow(), integrity.VerifyReport())
    assert verification.status(rt, admin)[1].pending is None
    assert verification.run(rt, "storage", run_id) is None  # a job delivered twice does not check twice
    assert verification.start_run(rt, admin, "storage") > run_id
    assert dt.timedelta(0) < verification.STALE_AFTER


def test_concurrent_starts_start_one_run(rt, town: Town, monkeypatch: Any) -> None:  # type: ignore[no-untyped-def]
    import threading

    from eakte.errors import Conflict
    from eakte.services import verification
    monkeypatch.setattr(rt.jobs, "run_verification", lambda kind, run_id: None)
    actors = [actor(rt, "admin"), actor(rt, "rita")] * 3
    barrier = threading.Barrier(len(actors))
    outcomes: list[object] = []

    def start(who: Any) -> None:
        barrier.wait()
        try:
            outcomes.append(verification.start_run(rt, who, "audit"))
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=start, args=(a,)) for a in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(o, int) for o in outcomes) == 1
    assert sum(isinstance(o, Conflict) for o in outcomes) == len(actors) - 1
    with rt.db.read() as session:
        assert len(session.execute(select(AuditEvent).where(AuditEvent.action == "audit.verify_started"))
                   .all()) == 1


def test_disk_walk_stops_at_its_deadline(tmp_path, monkeypatch: Any) -> None:  # type: ignore[no-untyped-def]
    """A slow file system (NFS) under the data directory must not hold the status page for minutes: the walk also
    stops after DISK_WALK_MAX_SECONDS, its sum then a lower bound like after DISK_WALK_MAX_FILES files."""
    for i in range(5):
        (tmp_path / f"f{i}").write_bytes(b"x")
    ticks = iter(range(100))
    monkeypatch.setattr(system.time, "monotonic", lambda: float(next(ticks)))
    partial = system.disk_use(tmp_path, max_seconds=2.5)
    assert not partial.complete and 0 < partial.files < 5
