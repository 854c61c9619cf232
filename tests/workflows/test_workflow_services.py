"""Workflow persistence: concurrent completion, hooks, jobs surviving a restart, the CLI."""
from __future__ import annotations

import io
import threading
from dataclasses import replace

import pytest
from click.testing import CliRunner

from eakte.cli import main
from eakte.config import JobsSettings
from eakte.errors import Conflict
from eakte.services import cases, documents, identity, workflow
from eakte.services.access import Actor, load_principal
from tests.conftest import build_town, make_runtime
from tests.helpers import pdf_bytes
from workflows.definition import CaseType, Decision, HookContext, Step
from workflows.registry import load_registry

HOOK_CALLS: list[HookContext] = []

MEMO = CaseType(key="memo", label_de="Vorlage", label_en="Memo", start="check", open_schema=True, steps=(
    Step("check", "Prüfen", "Check", "clerk", decisions=(Decision("ok", "OK", "OK", "sign"),)),
    Step("sign", "Zeichnen", "Sign", "approver", on_enter=(HOOK_CALLS.append,),
         decisions=(Decision("sign", "Zeichnen", "Sign", None),)),
))


def _actor(rt, name: str) -> Actor:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return Actor(load_principal(session, identity.user_by_name(session, name), {}))


@pytest.fixture
def memo_rt(tmp_path, db_url):  # type: ignore[no-untyped-def]
    rt = make_runtime(tmp_path, db_url)
    rt.__dict__["registry"] = load_registry(extra={"memo": MEMO})
    build_town(rt)
    with rt.db.write() as session:
        identity.create_user(session, OPERATOR_FOR_TESTS, "clara", roles=[identity.UnitRole("20", "clerk")])
    yield rt
    rt.close()


from tests.conftest import OPERATOR as OPERATOR_FOR_TESTS  # noqa: E402


def _memo_case(rt) -> int:  # type: ignore[no-untyped-def]
    anna = _actor(rt, "anna")
    with rt.db.write() as session:
        case = cases.create_case(session, anna, cases.NewCase("20.30", "Vorlage", "20", "memo"), rt.registry)
        workflow.start_workflow(rt, session, anna, case)
        return case.id


def _open_task(rt, case_id: int) -> int:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        _, tasks, _ = workflow.workflow_of(session, _actor(rt, "admin"), case_id)
        return next(t.id for t in tasks if t.status == "open")


def test_two_people_completing_the_same_task_one_wins(memo_rt) -> None:
    rt = memo_rt
    case_id = _memo_case(rt)
    task_id = _open_task(rt, case_id)
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def attempt(name: str) -> None:
        actor = _actor(rt, name)
        barrier.wait()
        try:
            workflow.complete_task(rt, actor, task_id, "ok")
            results[name] = "ok"
        except Conflict:
            results[name] = "409"

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("anna", "clara")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == ["409", "ok"]
    with rt.db.read() as session:
        _, tasks, events = workflow.workflow_of(session, _actor(rt, "admin"), case_id)
    assert [t.step for t in tasks] == ["check", "sign"]  # exactly one successor
    assert [e.action for e in events].count("decided") == 1


def test_enter_hooks_run_after_commit(memo_rt) -> None:
    rt = memo_rt
    HOOK_CALLS.clear()
    case_id = _memo_case(rt)
    workflow.complete_task(rt, _actor(rt, "anna"), _open_task(rt, case_id), "ok")
    assert [(c.case_id, c.step) for c in HOOK_CALLS] == [(case_id, "sign")]


def test_queued_jobs_survive_a_restart(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'eakte.db'}"
    rt = make_runtime(tmp_path, url)
    rt.settings = replace(rt.settings, jobs=JobsSettings(backend="sqlite"))  # a durable queue, no consumer
    build_town(rt)
    anna = _actor(rt, "anna")
    with rt.db.write() as session:
        case = cases.create_case(session, anna, cases.NewCase("20.30", "Akte", "20"), rt.registry)
    doc = documents.add_document(rt, anna, case.id, documents.NewDocument("Brief"),
                                 documents.Upload(io.BytesIO(pdf_bytes()), "brief.pdf"))
    assert doc.version.text_status == "pending"
    queued = len(rt.jobs.huey)  # text extraction and the search indexer
    assert queued == 2
    rt.close()  # "the server stops" with the jobs still queued

    again = make_runtime(tmp_path, url)
    again.settings = replace(again.settings, jobs=JobsSettings(backend="sqlite"))
    assert len(again.jobs.huey) == queued
    while (task := again.jobs.huey.dequeue()) is not None:
        again.jobs.huey.execute(task)
    with again.db.read() as session:
        assert documents.get_document(session, anna, doc.document.id, registry=again.registry
                                      ).versions[0].text_status == "done"
    again.close()


def test_cli_lists_case_types_and_refuses_broken_settings(tmp_path) -> None:
    env = {"EAKTE_DATA_DIR": str(tmp_path)}
    out = CliRunner().invoke(main, ["case-types"], env=env)
    assert out.exit_code == 0 and "eingang → sachlich → rechnerisch → anordnung → zahlung" in out.output
    bad = CliRunner().invoke(main, ["case-types"], env={**env, "EAKTE_CASE_TYPES__INVOICE__TIERS": "viel"})
    assert bad.exit_code == 1 and bad.stderr.startswith("eakte: error: case type 'invoice'")
    assert len(bad.stderr.strip().splitlines()) == 1
    immediate = CliRunner().invoke(main, ["worker"], env={**env, "EAKTE_JOBS__BACKEND": "immediate"})
    assert immediate.exit_code == 1 and "immediate" in immediate.stderr


def test_jobs_through_redis(tmp_path) -> None:
    import uuid

    import redis
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0").ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    rt = make_runtime(tmp_path, f"sqlite:///{tmp_path / 'eakte.db'}")
    rt.settings = replace(rt.settings, jobs=JobsSettings(backend="redis", queue_name=f"eakte-test-{uuid.uuid4().hex}"))
    try:
        build_town(rt)
        anna = _actor(rt, "anna")
        with rt.db.write() as session:
            case = cases.create_case(session, anna, cases.NewCase("20.30", "Akte", "20"), rt.registry)
        doc = documents.add_document(rt, anna, case.id, documents.NewDocument("Brief"),
                                     documents.Upload(io.BytesIO(pdf_bytes()), "brief.pdf"))
        assert len(rt.jobs.huey) == 2  # text extraction and the search indexer
        while (task := rt.jobs.huey.dequeue()) is not None:
            rt.jobs.huey.execute(task)
        with rt.db.read() as session:
            assert documents.get_document(session, anna, doc.document.id, registry=rt.registry
                                          ).versions[0].text_status == "done"
    finally:
        rt.jobs.huey.flush()
        rt.close()


def test_task_due_at_skonto_deadline_else_due_date() -> None:
    import datetime as dt

    from workflows.invoice.case_type import SkontoOrDueDate
    rule = SkontoOrDueDate(10)
    now = dt.datetime(2026, 11, 24, 8, 0)
    skonto = [{"days": 14, "percent": "2.00", "deadline": "2026-12-01"}, {"days": 0, "percent": "0.00",
                                                                         "deadline": "2026-11-25"}]
    assert rule({"skonto": skonto, "due_date": "2026-12-24"}, now).date() == dt.date(2026, 12, 1)
    assert rule({"skonto": [], "due_date": "2026-12-24"}, now).date() == dt.date(2026, 12, 24)
    assert rule({"skonto": [{"percent": "2", "deadline": "2026-11-01"}], "due_date": "2026-12-24"},
                now).date() == dt.date(2026, 12, 24)  # a Skonto deadline already past no longer counts
    assert rule({}, now) == now + dt.timedelta(days=10)
