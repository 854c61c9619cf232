"""The audit trail is hash-chained: changing, removing or inserting a row is found and named."""
from __future__ import annotations

from sqlalchemy import select, text

from eakte.models import AuditEvent
from eakte.services import audit
from tests.conftest import OPERATOR


def _ids(rt) -> list[int]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return list(session.execute(select(AuditEvent.id).order_by(AuditEvent.id)).scalars())


def _verify(rt):  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return audit.verify_chain(session)


def _tamper(rt, sql: str, **params) -> None:  # type: ignore[no-untyped-def]
    """Straight at the table, as a DBA with write access could: past the append-only triggers."""
    with rt.db.engine.begin() as conn:
        if rt.db.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        conn.execute(text(sql), params)
        if not rt.db.is_sqlite:
            conn.exec_driver_sql("ALTER TABLE audit_events ENABLE TRIGGER USER")


def test_clean_chain_verifies(rt, town) -> None:
    checked, broken = _verify(rt)
    assert broken is None and checked == len(_ids(rt)) > 5


def test_changed_event_is_named(rt, town) -> None:
    victim = _ids(rt)[3]
    _tamper(rt, "UPDATE audit_events SET actor = 'mallory' WHERE id = :id", id=victim)
    checked, broken = _verify(rt)
    assert broken is not None and broken.event_id == victim and "changed" in broken.reason
    assert checked == 3


def test_removed_event_is_named(rt, town) -> None:
    ids = _ids(rt)
    _tamper(rt, "DELETE FROM audit_events WHERE id = :id", id=ids[2])
    _, broken = _verify(rt)
    assert broken is not None and broken.event_id == ids[3]


def test_inserted_event_is_named(rt, town) -> None:
    ids = _ids(rt)
    with rt.db.read() as session:
        template = session.get(AuditEvent, ids[1])
        assert template is not None
        forged_hash = audit.chain_hash(template.hash, template)
    # A forged event squeezed in after the second one, with a plausible prev_hash.
    _tamper(rt, "UPDATE audit_events SET id = id + 1000 WHERE id > :id", id=ids[1])
    _tamper(rt, "INSERT INTO audit_events (id, occurred_at, actor, action, object_type, object_id, details, "
                "prev_hash, hash) VALUES (:id, :ts, 'mallory', 'case.create', 'case', '1', '{}', :prev, :h)",
            id=ids[1] + 1, ts=template.occurred_at, prev=template.hash, h=forged_hash)
    _, broken = _verify(rt)
    assert broken is not None and broken.event_id == ids[1] + 1


def test_database_refuses_update_and_delete(rt, town) -> None:
    import pytest
    from sqlalchemy.exc import DBAPIError
    victim = _ids(rt)[0]
    for sql in ["UPDATE audit_events SET actor = 'x' WHERE id = :id", "DELETE FROM audit_events WHERE id = :id"]:
        with pytest.raises(DBAPIError):
            with rt.db.engine.begin() as conn:
                conn.execute(text(sql), {"id": victim})
    assert _verify(rt)[1] is None


def test_append_continues_chain(rt, town) -> None:
    with rt.db.write() as session:
        event = audit.record(session, OPERATOR, "test.event", "test", 1, details={"ä": "ö", "n": [1, 2]})
    with rt.db.read() as session:
        previous = session.execute(select(AuditEvent).where(AuditEvent.id < event.id)
                                   .order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    assert event.prev_hash == previous.hash
    assert _verify(rt)[1] is None
