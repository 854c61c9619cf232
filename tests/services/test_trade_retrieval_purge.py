"""Retrieval logs of the trade register (GewO §14(10)): every extract is logged with purpose and reference, and
the periodic job deletes the rows older than `retrieval_log_months` (six by default), tested with the clock
moved; younger rows stay; the audit trail keeps one "trade.retrievals_purged" event with the count — and never
held the log's personal data itself."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from eakte import clock
from eakte.jobs import jobs_of
from eakte.models import AuditEvent, TradeRetrieval
from eakte.runtime import Runtime
from eakte.services.trade import extracts
from eakte.services.trade.extracts import ExtractRequest, months_before
from tests.trade_fixtures import build_business, trade_actor

START = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def moved_clock() -> Iterator[list[dt.datetime]]:
    """The clock reads the list's last entry; append to move it."""
    at = [START]
    clock.set_clock(lambda: at[-1])
    try:
        yield at
    finally:
        clock.set_clock(None)


def _retrieve(rt: Runtime, actor: Any, case_id: int, kind: str = "simple", **request: str) -> None:
    extracts.extract(rt, actor, case_id, kind, ExtractRequest(**request))


def _purge_events(rt: Runtime) -> list[AuditEvent]:
    with rt.db.read() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action == "trade.retrievals_purged")
                                    .order_by(AuditEvent.id)).scalars())


def _logged(rt: Runtime) -> list[TradeRetrieval]:
    with rt.db.read() as session:
        return list(session.execute(select(TradeRetrieval).order_by(TradeRetrieval.id)).scalars())


def test_logs_older_than_six_months_go_younger_ones_stay(rt: Runtime, town: Any,
                                                         moved_clock: list[dt.datetime]) -> None:
    olga = trade_actor(rt, "olga")
    case_id, _ = build_business(rt, olga)
    _retrieve(rt, olga, case_id, purpose="Bürgeranfrage am Schalter", reference="alt-1")
    _retrieve(rt, olga, case_id, "extended", requester="Inkasso Beispiel GmbH", interest="Offene Forderung",
              purpose="Forderungseinzug", reference="alt-2")
    moved_clock.append(START + dt.timedelta(days=120))  # four months later
    _retrieve(rt, olga, case_id, purpose="Presseanfrage", reference="jung-1")
    assert [r.reference for r in _logged(rt)] == ["alt-1", "alt-2", "jung-1"]

    # Five months and a half after the first: nothing is six months old yet.
    assert extracts.purge_retrievals(rt, (START + dt.timedelta(days=167)).replace(tzinfo=None)) == 0
    assert len(_logged(rt)) == 3 and _purge_events(rt) == []

    later = START + dt.timedelta(days=190)  # six months and a week after the first two, 70 days after the third
    assert extracts.purge_retrievals(rt, later.replace(tzinfo=None)) == 2
    kept = _logged(rt)
    assert [(r.reference, r.purpose) for r in kept] == [("jung-1", "Presseanfrage")]
    events = _purge_events(rt)
    assert len(events) == 1
    assert events[0].details["count"] == 2 and events[0].actor == "system:trade-retrievals"
    assert events[0].details["cutoff"] == months_before(later.replace(tzinfo=None), 6).isoformat()
    # A second run finds nothing more and leaves no second event.
    assert extracts.purge_retrievals(rt, later.replace(tzinfo=None)) == 0
    assert len(_purge_events(rt)) == 1


def test_the_periodic_job_purges_with_the_clock_moved(rt: Runtime, town: Any,
                                                     moved_clock: list[dt.datetime]) -> None:
    olga = trade_actor(rt, "olga")
    case_id, _ = build_business(rt, olga)
    _retrieve(rt, olga, case_id, purpose="alt", reference="A-1")
    moved_clock.append(START + dt.timedelta(days=100))
    _retrieve(rt, olga, case_id, purpose="jung", reference="J-1")
    moved_clock.append(START + dt.timedelta(days=200))
    result = jobs_of(rt)._periodic()
    assert result["retrievals_purged"] == 1
    assert [r.reference for r in _logged(rt)] == ["J-1"]
    assert [e.details["count"] for e in _purge_events(rt)] == [1]


def test_the_audit_trail_holds_no_copy_of_the_log(rt: Runtime, town: Any, moved_clock: list[dt.datetime]) -> None:
    """What §14(10) deletes must not live on in the audit trail: its extract events name the kind and the row."""
    olga = trade_actor(rt, "olga")
    case_id, _ = build_business(rt, olga)
    _retrieve(rt, olga, case_id, "extended", requester="Detektei Spürnase", interest="Unterhaltsforderung",
              purpose="Ermittlung des Arbeitgebers", reference="SP-77")
    row = _logged(rt)[0]
    assert (row.kind, row.requester, row.requester_kind, row.interest, row.purpose, row.reference) == (
        "extended", "Detektei Spürnase", "private", "Unterhaltsforderung", "Ermittlung des Arbeitgebers", "SP-77")
    assert row.retrieved_by == town.user_ids["olga"] and row.retrieved_at == START.replace(tzinfo=None)
    with rt.db.read() as session:
        events = list(session.execute(select(AuditEvent).where(AuditEvent.action == "trade.extract")).scalars())
    assert len(events) == 1 and events[0].details == {"kind": "extended", "retrieval": row.id}
    assert events[0].case_id == case_id and events[0].object_id == str(row.id)
    moved_clock.append(START + dt.timedelta(days=200))
    assert extracts.purge_retrievals(rt, clock.utcnow()) == 1
    with rt.db.read() as session:
        trail = json.dumps([e.details for e in session.execute(select(AuditEvent)).scalars()], ensure_ascii=False)
    for personal in ("Detektei Spürnase", "Unterhaltsforderung", "Ermittlung des Arbeitgebers", "SP-77"):
        assert personal not in trail


def test_the_log_keeps_as_many_months_as_configured(tmp_path: Any, db_url: str,
                                                    moved_clock: list[dt.datetime]) -> None:
    from tests.conftest import build_town, make_runtime
    rt = make_runtime(tmp_path, db_url, case_types={"trade": {"retrieval_log_months": 1}})
    try:
        build_town(rt)
        olga = trade_actor(rt, "olga")
        case_id, _ = build_business(rt, olga)
        _retrieve(rt, olga, case_id)
        moved_clock.append(START + dt.timedelta(days=25))
        assert extracts.purge_retrievals(rt, clock.utcnow()) == 0
        moved_clock.append(START + dt.timedelta(days=32))
        assert extracts.purge_retrievals(rt, clock.utcnow()) == 1
    finally:
        rt.close()


@pytest.mark.parametrize(("moment", "months", "expected"), [
    (dt.datetime(2026, 9, 15, 8, 30), 6, dt.datetime(2026, 3, 15, 8, 30)),
    (dt.datetime(2026, 8, 31, 12, 0), 6, dt.datetime(2026, 2, 28, 12, 0)),  # no 31 February
    (dt.datetime(2028, 8, 31), 6, dt.datetime(2028, 2, 29)),
    (dt.datetime(2026, 3, 1), 6, dt.datetime(2025, 9, 1)),  # across the year
    (dt.datetime(2026, 1, 31), 1, dt.datetime(2025, 12, 31)),
])
def test_months_are_calendar_months(moment: dt.datetime, months: int, expected: dt.datetime) -> None:
    assert months_before(moment, months) == expected
