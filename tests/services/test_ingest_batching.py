"""Ingest keeps up (issue 8 point 16): a burst of uploads reaches the search index in a few batched commits, not in
a drain job (and an index commit) per change; job results are not stored; the SQLite queue does not fsync per job."""
from __future__ import annotations

import io
import threading
import time
from dataclasses import replace
from pathlib import Path

from eakte.coalesce import Coalescer
from eakte.config import JobsSettings, SearchSettings
from eakte.jobs import jobs_of
from eakte.models import SearchOutbox
from eakte.services import cases, documents, identity, search
from eakte.services.access import Actor, load_principal
from sqlalchemy import func, select
from tests.conftest import build_town, make_runtime
from tests.helpers import pdf_bytes


def test_coalescer_calls_once_now_and_once_after_the_interval_for_a_burst() -> None:
    calls: list[float] = []
    done = threading.Event()

    def call() -> None:
        calls.append(time.monotonic())
        if len(calls) == 2:
            done.set()

    coalesce = Coalescer(call, 0.2)
    for _ in range(50):
        coalesce()
    assert len(calls) == 1  # the leading call, at once
    assert done.wait(2.0)  # one trailing call covers the other 49 requests
    time.sleep(0.3)
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.19
    coalesce()  # a request after a quiet interval is served at once again
    assert len(calls) == 3


def test_coalescer_flush_makes_the_planned_call_now() -> None:
    calls: list[int] = []
    coalesce = Coalescer(lambda: calls.append(1), 60.0)
    coalesce()
    coalesce()
    assert calls == [1]
    coalesce.flush()
    assert calls == [1, 1]
    coalesce.flush()  # nothing planned: no call
    assert calls == [1, 1]


def test_coalescer_hurry_brings_the_planned_call_forward_but_not_to_now() -> None:
    """The tail of a burst: drawn in from the stretched interval to `within_s` after the last call, so a stream of
    requests that each look like a burst's end is still served once per `within_s`."""
    calls: list[float] = []
    coalesce = Coalescer(lambda: calls.append(time.monotonic()), 0.05)
    coalesce.stretch(60.0)
    coalesce()  # the leading call
    coalesce()  # planned 60 s on
    coalesce.hurry(0.3)
    assert len(calls) == 1  # not at once: 0.3 s after the leading call
    time.sleep(0.6)
    assert len(calls) == 2 and 0.25 <= calls[1] - calls[0] < 0.6
    coalesce()  # the stretch is gone: after the least interval a request is served at once
    assert len(calls) == 3
    coalesce.hurry(0.3)  # nothing planned: nothing happens
    assert len(calls) == 3


def test_coalescer_hurry_never_goes_below_the_least_interval() -> None:
    calls: list[float] = []
    coalesce = Coalescer(lambda: calls.append(time.monotonic()), 0.4)
    coalesce()
    coalesce()
    coalesce.hurry(0.05)  # asks for less than the least interval: the least interval it is
    time.sleep(0.2)
    assert len(calls) == 1
    time.sleep(0.5)
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.39


def _queued(rt, name: str) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for task in jobs_of(rt).huey.pending() if task.name == name)


def test_a_burst_of_uploads_is_indexed_in_few_drains(tmp_path: Path) -> None:
    rt = make_runtime(tmp_path, f"sqlite:///{tmp_path / 'eakte.db'}")
    # The embedded default's durable queue, without a consumer: the test runs the queued jobs itself.
    rt.settings = replace(rt.settings, jobs=JobsSettings(backend="sqlite"),
                          search=SearchSettings(drain_interval_s=30.0))
    rt.__dict__.pop("jobs", None)
    try:
        build_town(rt)
        with rt.db.read() as session:
            anna = Actor(load_principal(session, identity.user_by_name(session, "anna"), {}))
        with rt.db.write() as session:
            case_id = cases.create_case(session, anna, cases.NewCase("20.30", "Akte", "20"), rt.registry).id
        jobs = jobs_of(rt)
        jobs.huey.flush()
        for i in range(12):
            documents.add_document(rt, anna, case_id, documents.NewDocument(f"Brief {i}"),
                                   documents.Upload(io.BytesIO(pdf_bytes(f"Brief {i}", "Gewerbeanmeldung")),
                                                    f"brief-{i}.pdf"))
        assert _queued(rt, "extract_text") == 12
        assert _queued(rt, "drain_search_outbox") == 1  # one at once; the rest waits for the interval
        jobs.drain_search_outbox.flush()  # the end of the interval, now
        assert _queued(rt, "drain_search_outbox") == 2
        while (task := jobs.huey.dequeue()) is not None:
            jobs.huey.execute(task)
        jobs.drain_search_outbox.flush()  # the extraction commits asked for one more drain
        while (task := jobs.huey.dequeue()) is not None:
            jobs.huey.execute(task)
        with rt.db.read() as session:
            assert session.execute(select(func.count()).select_from(SearchOutbox)).scalar_one() == 0
        assert search.search(rt, anna, "Gewerbeanmeldung", search.Filters())[1].total == 12
        assert jobs.huey.result_count() == 0  # job results are not kept
        assert jobs.huey.storage.conn.execute("pragma synchronous").fetchone() == (1,)  # NORMAL, not FULL
    finally:
        jobs_of(rt).huey.flush()
        rt.close()


def test_a_drain_leaves_rows_written_meanwhile_to_the_next_drain(tmp_path: Path) -> None:
    """Going on until the outbox is empty, a drain commits the index for every few documents of a burst."""
    rt = make_runtime(tmp_path, f"sqlite:///{tmp_path / 'eakte.db'}")
    try:
        build_town(rt)
        with rt.db.read() as session:
            anna = Actor(load_principal(session, identity.user_by_name(session, "anna"), {}))
        with rt.db.write() as session:
            case_id = cases.create_case(session, anna, cases.NewCase("20.30", "Akte", "20"), rt.registry).id
        index, commits = rt.search_index, []
        original = index.index

        def index_while_a_change_arrives(docs):  # type: ignore[no-untyped-def]
            commits.append(len(list(docs)))
            if len(commits) == 1:  # a commit of another writer lands while the index writes
                with rt.db.write() as writer:
                    writer.add(SearchOutbox(case_id=case_id))
            original(docs)

        index.index = index_while_a_change_arrives  # type: ignore[method-assign]
        with rt.db.write() as session:
            session.add(SearchOutbox(case_id=case_id))
        from eakte.services import indexing
        assert indexing.drain(rt) == 1  # one commit; the row written meanwhile waits for its own drain
        assert len(commits) == 1
        with rt.db.read() as session:
            assert session.execute(select(func.count()).select_from(SearchOutbox)).scalar_one() == 1
        assert indexing.drain(rt) == 1
        with rt.db.read() as session:
            assert session.execute(select(func.count()).select_from(SearchOutbox)).scalar_one() == 0
    finally:
        rt.close()
