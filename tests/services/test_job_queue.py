"""Services enqueue background work through the runtime's `JobQueue` interface (issue 8 point 19): any queue
passed on the Runtime receives the work, and a runtime built without one says so instead of importing the jobs."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from eakte.bootstrap import build_runtime
from eakte.config import DatabaseSettings, JobsSettings, Settings
from eakte.errors import ConfigError
from eakte.jobs import Jobs, jobs_of
from eakte.runtime import JobQueue, Runtime
from eakte.services import cases, documents, identity
from eakte.services.access import Actor, load_principal
from tests.conftest import build_town
from tests.helpers import pdf_bytes


class RecordingQueue:
    """A JobQueue that only notes what was asked of it."""

    def __init__(self, rt: Runtime) -> None:
        self.calls: list[tuple[str, tuple[object, ...]]] = []

    def extract_text(self, version_id: int) -> None:
        self.calls.append(("extract_text", (version_id,)))

    def run_hooks(self, case_id: int, step: str) -> None:
        self.calls.append(("run_hooks", (case_id, step)))

    def drain_search_outbox(self) -> None:
        self.calls.append(("drain_search_outbox", ()))

    def run_verification(self, kind: str, run_id: int) -> None:
        self.calls.append(("run_verification", (kind, run_id)))

    def queue_info(self) -> None:
        return None


def _settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database=DatabaseSettings(url=db_url),
                    jobs=JobsSettings(backend="immediate"))


def test_services_enqueue_into_the_queue_passed_on_the_runtime(tmp_path: Path, db_url: str) -> None:
    rt = Runtime(_settings(tmp_path, db_url), job_queue=RecordingQueue)
    try:
        rt.db.upgrade()
        build_town(rt)
        queue = rt.jobs
        assert isinstance(queue, RecordingQueue)
        with rt.db.read() as session:
            anna = Actor(load_principal(session, identity.user_by_name(session, "anna"), {}))
        with rt.db.write() as session:
            case_id = cases.create_case(session, anna, cases.NewCase("20.30", "Akte", "20"), rt.registry).id
        ingested = documents.add_document(rt, anna, case_id, documents.NewDocument("Brief"),
                                          documents.Upload(io.BytesIO(pdf_bytes()), "brief.pdf"))
        assert ("extract_text", (ingested.version.id,)) in queue.calls
        assert ("drain_search_outbox", ()) in queue.calls
        assert ingested.version.text_status == "pending"  # nothing ran: the recorder only took note
    finally:
        rt.close()


def test_a_runtime_without_a_queue_refuses_to_enqueue(tmp_path: Path) -> None:
    rt = Runtime(_settings(tmp_path, f"sqlite:///{tmp_path / 'x.db'}"))
    with pytest.raises(ConfigError, match="without a job queue"):
        rt.jobs.extract_text(1)
    rt.close()


def test_build_runtime_wires_the_huey_jobs(tmp_path: Path) -> None:
    rt = build_runtime(_settings(tmp_path, f"sqlite:///{tmp_path / 'x.db'}"))
    queue: JobQueue = rt.jobs
    assert isinstance(queue, Jobs) and jobs_of(rt) is queue
    rt.close()
