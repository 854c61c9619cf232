"""Transmissions of trade notifications (GewAnzV §3), at service level: one filed message per matching recipient
holding only the fields that recipient may see, due without delay (the statistics office on the first working
day of the next month), sent by the directory drop, confirmed, retried with growing pauses, failed after the
configured attempts, audited; the outbox lists what is pending and overdue, to the trade unit only."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Iterator
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from eakte.clock import set_clock, utcnow
from eakte.errors import ConfigError, Conflict, Forbidden, NotFound
from eakte.models import AuditEvent, Document, TradeTransmission
from eakte.runtime import Runtime
from eakte.services.trade import outbox, senders
from workflows.trade import recipients as rules
from tests.conftest import Town, build_town
from tests.trade_fixtures import (add_notification, anmeldung_payload, build_business, outbox_runtime as trade_runtime,
                                  trade_actor, transmit)

ENVELOPE = {"business_id", "notification", "received_on"}
BIRTH_DATE = "1980-04-12"  # the owner's, in anmeldung_payload()
# Tuesday 15 December 2026, 10:00 UTC: the next month's first working day is Monday 4 January 2027 (the 1st is
# New Year's Day, then a weekend).
RECEIPT_AT = dt.datetime(2026, 12, 15, 10, 0)
STATISTICS_DUE = dt.datetime(2027, 1, 4, 8, 0)


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    runtime = trade_runtime(tmp_path, db_url)
    yield runtime
    runtime.close()


@pytest.fixture
def fixed_clock() -> Iterator[None]:
    set_clock(lambda: RECEIPT_AT.replace(tzinfo=dt.timezone.utc))
    try:
        yield
    finally:
        set_clock(None)


def _rows(rt: Runtime, ids: list[int]) -> dict[str, TradeTransmission]:
    with rt.db.read() as session:
        rows = session.execute(select(TradeTransmission).where(TradeTransmission.id.in_(ids))).scalars()
        return {r.recipient: r for r in rows}


def _content(rt: Runtime, document_id: int) -> tuple[Document, bytes]:
    with rt.db.read() as session:
        document = session.get(Document, document_id)
        assert document is not None
        version = document.versions[-1]
    with rt.blobs.open(version.blob_key) as fh:
        return document, fh.read()


def _json_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _json_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _json_keys(v)}
    return set()


def _events(rt: Runtime, action: str, transmission_id: int) -> list[AuditEvent]:
    with rt.db.read() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action == action,
                                                             AuditEvent.object_id == str(transmission_id))
                                    .order_by(AuditEvent.id)).scalars())


def _business(rt: Runtime, town: Town, **payload: Any) -> tuple[int, int, list[int]]:
    olga = trade_actor(rt, "olga")
    case_id, procedure_id = build_business(rt, olga, anmeldung_payload(**payload))
    return case_id, procedure_id, transmit(rt, olga, case_id, procedure_id)


# --- generating -----------------------------------------------------------------------------------------------

def test_one_filed_message_per_matching_recipient(rt: Runtime, fixed_clock: None) -> None:
    town = build_town(rt)
    case_id, procedure_id, ids = _business(rt, town)
    rows = _rows(rt, ids)
    # A shop (handel), GewA 1: not the Handwerkskammer (crafts only), not the Registergericht (closures only).
    assert set(rows) == {"ihk", "eichamt", "statistik"}
    for key, row in rows.items():
        assert row.status == "pending" and row.attempts == 0 and row.case_id == case_id
        document, content = _content(rt, row.document_id)
        assert document.kind == "transmission" and document.procedure_id == procedure_id
        assert row.format == ("xml" if key == "statistik" else "json") and content
    assert rows["ihk"].due_at == rows["eichamt"].due_at == RECEIPT_AT  # without delay after the receipt
    assert rows["statistik"].due_at == STATISTICS_DUE
    # Entering the step again adds nothing.
    assert transmit(rt, trade_actor(rt, "olga"), case_id, procedure_id) == []
    assert len(_events(rt, "trade.transmission.create", rows["ihk"].id)) == 1


def test_a_recipient_never_gets_a_field_it_may_not_see(rt: Runtime, fixed_clock: None) -> None:
    town = build_town(rt)
    _case_id, _procedure_id, ids = _business(rt, town)
    rows = _rows(rt, ids)
    ihk = json.loads(_content(rt, rows["ihk"].document_id)[1])
    eichamt_raw = _content(rt, rows["eichamt"].document_id)[1]
    eichamt = json.loads(eichamt_raw)
    # IHK: everything but fields 13 (residence permit), 27, 29–31, 33.
    assert "residence_permit" not in _json_keys(ihk)
    assert "birth_date" in _json_keys(ihk) and BIRTH_DATE in json.dumps(ihk)
    assert "Feinkost Muster" in json.dumps(ihk, ensure_ascii=False)
    # Weights and measures: names, business address, activity, start only — no birth date, nationality, phone…
    keys = _json_keys(eichamt)
    assert BIRTH_DATE.encode() not in eichamt_raw and "birth_date" not in keys
    assert not keys & {"residence_permit", "nationality", "birth_place", "employees_full_time", "business_type",
                       "permits", "handwerkskarte"}
    assert "registered_name" in keys and "activity" in keys and "family_name" in keys
    # Exactly the allowed fields: every key of the message's notification part is one of its allowed fields'.
    for key, numbers in (("ihk", set(range(1, 34)) - {13, 27, 29, 30, 31, 33}),
                         ("eichamt", {1, 3, 4, 5, 11, 14, 15, 18, 20})):
        body = ihk if key == "ihk" else eichamt
        fields = [rules.FORM_FIELDS[n] for n in numbers if n in rules.FORM_FIELDS]
        plain = {k for f in fields for k in (*f.keys, *f.from_notification) if not k.startswith("persons.")}
        personal = {k[len("persons."):] for f in fields for k in f.keys if k.startswith("persons.")}
        notified = body["notification"]
        assert set(notified) - {"persons"} <= plain | ENVELOPE, (key, set(notified) - plain - ENVELOPE)
        assert all(set(person) <= personal for person in notified.get("persons", [])), key
    # The statistics office's XML holds the data but never a signature (field 33).
    statistik = ElementTree.fromstring(_content(rt, rows["statistik"].document_id)[1])
    assert statistik.tag.startswith("{http://www.xgewerbeanzeige.de/spezifikation/2.x}")


def test_a_craft_business_goes_to_the_handwerkskammer(rt: Runtime, fixed_clock: None) -> None:
    town = build_town(rt)
    _case_id, _procedure_id, ids = _business(rt, town, business_type="handwerk", handwerkskarte=True,
                                             activity="Elektroinstallation")
    assert set(_rows(rt, ids)) == {"ihk", "hwk", "eichamt", "statistik"}


# --- sending ------------------------------------------------------------------------------------------------

def test_pending_then_sent_then_confirmed(rt: Runtime, fixed_clock: None, tmp_path: Path) -> None:
    town = build_town(rt)
    _case_id, procedure_id, ids = _business(rt, town)
    rows = _rows(rt, ids)
    report = outbox.send_due(rt, RECEIPT_AT)
    assert report == outbox.SendReport(sent=2, failed=0, retried=0)  # the statistics office is not due yet
    after = _rows(rt, ids)
    for key in ("ihk", "eichamt"):
        row = after[key]
        assert row.status == "sent" and row.sent_at == RECEIPT_AT and row.attempts == 1
        _document, content = _content(rt, row.document_id)
        dropped = list((tmp_path / "outbox" / key).iterdir())
        assert len(dropped) == 1 and dropped[0].read_bytes() == content  # exactly what is in the file
        [event] = _events(rt, "trade.transmission.sent", row.id)
        assert event.details["recipient"] == key and event.details["to"] == str(dropped[0])
    assert after["statistik"].status == "pending" and not (tmp_path / "outbox" / "statistik").exists()
    with rt.db.read() as session:
        assert outbox.open_count(session, procedure_id) == 1  # the step is not done while it waits

    # On the first working day of January the statistics office's message goes out.
    assert outbox.send_due(rt, STATISTICS_DUE - dt.timedelta(minutes=1)).sent == 0
    assert outbox.send_due(rt, STATISTICS_DUE).sent == 1
    assert _rows(rt, ids)["statistik"].status == "sent"
    assert outbox.send_due(rt, STATISTICS_DUE) == outbox.SendReport()  # nothing twice

    entry = outbox.confirm(rt, trade_actor(rt, "olga"), rows["ihk"].id)
    assert entry.status == "confirmed" and entry.confirmed_at == RECEIPT_AT and entry.sent_at == RECEIPT_AT
    assert _events(rt, "trade.transmission.confirmed", rows["ihk"].id)[0].actor == "olga"
    with pytest.raises(Conflict):  # only once, and only what was sent
        outbox.confirm(rt, trade_actor(rt, "olga"), rows["ihk"].id)


def test_a_failing_sender_is_retried_then_failed_and_audited(tmp_path: Path, db_url: str,
                                                             fixed_clock: None) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the outbox should be")
    rt = trade_runtime(tmp_path, db_url, outbox_dir=str(blocker / "outbox"))
    try:
        town = build_town(rt)
        _case_id, _procedure_id, ids = _business(rt, town)
        ihk = _rows(rt, ids)["ihk"].id
        now = RECEIPT_AT
        assert outbox.send_due(rt, now) == outbox.SendReport(sent=0, failed=0, retried=2)
        row = _rows(rt, ids)["ihk"]
        assert row.status == "pending" and row.attempts == 1 and row.last_error
        assert row.next_attempt_at == now + outbox.pause_after(1)
        assert outbox.send_due(rt, now + dt.timedelta(minutes=1)) == outbox.SendReport()  # pausing
        now = row.next_attempt_at
        assert outbox.send_due(rt, now).retried == 2
        row = _rows(rt, ids)["ihk"]
        assert row.attempts == 2 and row.next_attempt_at == now + outbox.pause_after(2) > now + outbox.pause_after(1)
        now = row.next_attempt_at
        assert outbox.send_due(rt, now) == outbox.SendReport(sent=0, failed=2, retried=0)  # the third of 3
        row = _rows(rt, ids)["ihk"]
        assert row.status == "failed" and row.attempts == 3 and row.next_attempt_at is None
        assert outbox.send_due(rt, now + dt.timedelta(days=30)).failed == 0  # no more attempts on its own
        events = _events(rt, "trade.transmission.failed", ihk)
        assert [e.details["attempt"] for e in events] == [1, 2, 3]
        assert [e.details["final"] for e in events] == [False, False, True]
        assert all(e.actor == "system:trade-outbox" and e.details["error"] for e in events)

        # The outbox shows it failed and overdue, first; a clerk retries once the share is back.
        set_clock(lambda: now.replace(tzinfo=dt.timezone.utc))
        page = outbox.outbox_page(rt, trade_actor(rt, "olga"), outbox.OutboxFilter())
        assert page[0].status == "failed" and page[0].may_retry and page[0].overdue
        with pytest.raises(Forbidden):
            outbox.retry(rt, trade_actor(rt, "rita"), ihk)  # the auditor reads, but does not act
        blocker.unlink()
        entry = outbox.retry(rt, trade_actor(rt, "olga"), ihk)
        assert entry.status == "pending" and entry.attempts == 0
        assert _events(rt, "trade.transmission.retry", ihk)[0].details["previous"]["attempts"] == 3
        with pytest.raises(Conflict):
            outbox.retry(rt, trade_actor(rt, "olga"), ihk)  # queued already
        assert outbox.send_due(rt, now).sent == 1  # ihk; eichamt stays failed until retried
        assert _rows(rt, ids)["ihk"].status == "sent" and _rows(rt, ids)["eichamt"].status == "failed"
        assert (blocker / "outbox" / "ihk").is_dir()
    finally:
        rt.close()


def test_the_sender_is_chosen_by_setting(tmp_path: Path, db_url: str, fixed_clock: None,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    delivered: list[tuple[str, str, bytes]] = []

    class Recording:
        def send(self, message: senders.OutgoingMessage) -> str:
            delivered.append((message.recipient, message.mime_type, message.content.read()))
            return f"memory:{message.recipient}"

    monkeypatch.setitem(senders.BUILT_IN, "recording", lambda settings, data_dir: Recording())
    rt = trade_runtime(tmp_path, db_url, sender="recording")
    try:
        town = build_town(rt)
        _business(rt, town)
        assert outbox.send_due(rt, RECEIPT_AT).sent == 2
        assert sorted((r, m) for r, m, _ in delivered) == [("eichamt", "application/json"),
                                                           ("ihk", "application/json")]
        assert all(json.loads(body) for _, _, body in delivered)
    finally:
        rt.close()
    with pytest.raises(ConfigError, match="no sender 'pigeon'"):
        senders.sender_for({"sender": "pigeon"}, tmp_path)


def test_the_directory_drop_writes_atomically_into_a_safe_name(tmp_path: Path) -> None:
    import io
    sender = senders.DirectorySender(tmp_path / "drop")
    where = sender.send(senders.OutgoingMessage(1, "../ihk", "IHK", "../../etc/passwd", "application/json", 2, "x",
                                                "32.10/0001/2026-1", io.BytesIO(b"{}")))
    target = Path(where)
    assert target.read_bytes() == b"{}" and target.parent.parent == tmp_path / "drop"
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp file left behind


def test_the_default_outbox_is_in_the_data_directory(tmp_path: Path) -> None:
    assert senders.outbox_dir({"outbox_dir": ""}, tmp_path / "data") == tmp_path / "data" / "trade-outbox"
    assert senders.outbox_dir({"outbox_dir": str(tmp_path / "x")}, tmp_path) == tmp_path / "x"


# --- the outbox ---------------------------------------------------------------------------------------------

def test_the_outbox_lists_pending_and_overdue_for_the_trade_unit_only(rt: Runtime, fixed_clock: None) -> None:
    town = build_town(rt)
    _case_id, _procedure_id, ids = _business(rt, town)
    rows = _rows(rt, ids)
    set_clock(lambda: (RECEIPT_AT + dt.timedelta(hours=2)).replace(tzinfo=dt.timezone.utc))
    olga = trade_actor(rt, "olga")
    page = outbox.outbox_page(rt, olga, outbox.OutboxFilter())
    assert [e.recipient for e in page][:2] in (["eichamt", "ihk"], ["ihk", "eichamt"])  # overdue first
    assert [e.recipient for e in page][2] == "statistik" and not page[2].overdue
    assert all(e.overdue for e in page[:2]) and page[0].business_id == "GW-2026-00001"
    assert page[0].recipient_name in {"IHK Offenbach am Main", "Hessische Eichdirektion"}
    overdue = outbox.outbox_page(rt, olga, outbox.OutboxFilter(overdue=True))
    assert {e.recipient for e in overdue} == {"ihk", "eichamt"}
    assert outbox.outbox_count(rt, olga, outbox.OutboxFilter(overdue=True)) == 2
    assert not any(e.may_confirm or e.may_retry for e in page)  # nothing sent or failed yet

    outbox.send_due(rt, utcnow())
    pending = outbox.outbox_page(rt, olga, outbox.OutboxFilter(status="pending"))
    assert [e.recipient for e in pending] == ["statistik"]
    sent = outbox.outbox_page(rt, olga, outbox.OutboxFilter(status="sent"))
    assert {e.recipient for e in sent} == {"ihk", "eichamt"} and all(e.may_confirm for e in sent)
    assert outbox.outbox_page(rt, olga, outbox.OutboxFilter(overdue=True)) == []

    # Auditors and admins read it but may not act; other units see nothing of it.
    for reader in ("rita", "admin"):
        seen = outbox.outbox_page(rt, trade_actor(rt, reader), outbox.OutboxFilter())
        assert len(seen) == 3 and not any(e.may_confirm for e in seen)
        with pytest.raises(Forbidden):
            outbox.confirm(rt, trade_actor(rt, reader), rows["ihk"].id)
    anna = trade_actor(rt, "anna")
    with pytest.raises(Forbidden):
        outbox.outbox_page(rt, anna, outbox.OutboxFilter())
    for act in (outbox.confirm, outbox.retry, outbox.read_transmission):
        with pytest.raises(NotFound):
            act(rt, anna, rows["ihk"].id)
    assert _rows(rt, ids)["ihk"].status == "sent"  # the refusals changed nothing


def test_a_closure_goes_to_the_register_court_but_not_to_the_statistics_office(rt: Runtime,
                                                                             fixed_clock: None) -> None:
    build_town(rt)
    olga = trade_actor(rt, "olga")
    case_id, _first = build_business(rt, olga, anmeldung_payload(legal_form="gmbh", registered_name="Muster GmbH",
                                                                 register_court="Amtsgericht Offenbach am Main",
                                                                 register_number="HRB 12345"))
    closure = add_notification(rt, olga, case_id, {"notification": "abmeldung", "received_on": "2026-12-14",
                                                   "effective_on": "2026-12-31", "reason": "aufgabe"})
    ids = transmit(rt, olga, case_id, closure)
    rows = _rows(rt, ids)
    assert set(rows) == {"ihk", "eichamt", "registergericht"}  # GewA 3: no statistics office
    assert all(r.procedure_id == closure and r.due_at == RECEIPT_AT for r in rows.values())
    court = json.loads(_content(rt, rows["registergericht"].document_id)[1])
    assert "HRB 12345" in json.dumps(court) and BIRTH_DATE not in json.dumps(court)
