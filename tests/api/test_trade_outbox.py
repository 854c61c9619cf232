"""The trade register's outbox through the API: listing pending and overdue transmissions, a clerk's confirm and
retry, and who may not (other units, auditors and admins acting, unknown ids)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterator

import pytest

from eakte.clock import set_clock
from eakte.runtime import Runtime
from eakte.services.trade import outbox
from tests.conftest import Town
from tests.trade_fixtures import anmeldung_payload, build_business, outbox_runtime, trade_actor, transmit

RECEIPT_AT = dt.datetime(2026, 12, 15, 10, 0)


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    runtime = outbox_runtime(tmp_path, db_url)
    yield runtime
    runtime.close()


@pytest.fixture
def clock() -> Iterator[Any]:
    def move(at: dt.datetime) -> None:
        set_clock(lambda: at.replace(tzinfo=dt.timezone.utc))
    move(RECEIPT_AT)
    try:
        yield move
    finally:
        set_clock(None)


def _transmissions(rt: Runtime) -> dict[str, int]:
    olga = trade_actor(rt, "olga")
    case_id, procedure_id = build_business(rt, olga, anmeldung_payload())
    ids = transmit(rt, olga, case_id, procedure_id)
    page = outbox.outbox_page(rt, olga, outbox.OutboxFilter())
    return {e.recipient: e.id for e in page if e.id in ids}


def test_the_outbox_lists_pending_and_overdue(rt: Runtime, town: Town, client: Any, clock: Any) -> None:
    ids = _transmissions(rt)
    clock(RECEIPT_AT + dt.timedelta(hours=1))
    resp = client.get("/api/v1/trade/outbox", headers=town.auth("olga"))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["total"] == 3 and {i["recipient"] for i in body["items"]} == {"ihk", "eichamt", "statistik"}
    first = body["items"][0]
    assert first["overdue"] is True and first["status"] == "pending" and first["business_id"] == "GW-2026-00001"
    assert first["business_name"] == "Feinkost Muster" and first["notification"] == "anmeldung"
    assert first["format"] == "json" and first["document_id"] and first["may_confirm"] is False
    statistik = next(i for i in body["items"] if i["recipient"] == "statistik")
    assert statistik["overdue"] is False and statistik["format"] == "xml"
    assert statistik["due_at"].startswith("2027-01-04T08:00")
    overdue = client.get("/api/v1/trade/outbox?overdue=true", headers=town.auth("olga")).get_json()
    assert {i["recipient"] for i in overdue["items"]} == {"ihk", "eichamt"} and overdue["total"] == 2
    one = client.get(f"/api/v1/trade/transmissions/{ids['ihk']}", headers=town.auth("olga")).get_json()
    assert one["recipient_name"] == "IHK Offenbach am Main"
    assert client.get("/api/v1/trade/outbox?status=lost", headers=town.auth("olga")).status_code == 422


def test_who_may_read_the_outbox(rt: Runtime, town: Town, client: Any, clock: Any) -> None:
    ids = _transmissions(rt)
    for reader in ("rita", "admin"):  # auditor and admin: read
        assert client.get("/api/v1/trade/outbox", headers=town.auth(reader)).get_json()["total"] == 3
    resp = client.get("/api/v1/trade/outbox", headers=town.auth("anna"))  # another unit's clerk
    assert resp.status_code == 403 and resp.get_json()["detail_de"]
    assert client.get(f"/api/v1/trade/transmissions/{ids['ihk']}", headers=town.auth("anna")).status_code == 404
    assert client.get("/api/v1/trade/outbox").status_code == 401


def test_a_clerk_confirms_what_was_sent(rt: Runtime, town: Town, client: Any, clock: Any, tmp_path: Path) -> None:
    ids = _transmissions(rt)
    url = f"/api/v1/trade/transmissions/{ids['ihk']}/confirm"
    assert client.post(url, headers=town.auth("olga")).status_code == 409  # not sent yet
    assert outbox.send_due(rt, RECEIPT_AT).sent == 2
    assert (tmp_path / "outbox" / "ihk").is_dir()
    for user, status in (("anna", 404), ("rita", 403), ("admin", 403), ("bernd", 404)):
        assert client.post(url, headers=town.auth(user)).status_code == status, user
    clock(RECEIPT_AT + dt.timedelta(days=1))
    resp = client.post(url, headers=town.auth("olga"))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "confirmed" and body["confirmed_at"].startswith("2026-12-16T10:00")
    assert body["sent_at"].startswith("2026-12-15T10:00")
    assert client.post(url, headers=town.auth("olga")).status_code == 409
    confirmed = client.get("/api/v1/trade/outbox?status=confirmed", headers=town.auth("olga")).get_json()
    assert [i["id"] for i in confirmed["items"]] == [ids["ihk"]]
    assert ids["ihk"] not in [i["id"] for i in client.get("/api/v1/trade/outbox",
                                                           headers=town.auth("olga")).get_json()["items"]]


def test_retry_only_for_failed_and_only_by_trade_clerks(tmp_path: Path, db_url: str, clock: Any) -> None:
    from eakte.app import create_app
    from tests.conftest import build_town
    blocker = tmp_path / "blocked"
    blocker.write_text("no directory here")
    rt = outbox_runtime(tmp_path, db_url, outbox_dir=str(blocker / "x"), send_attempts=1)
    try:
        town = build_town(rt)
        client = create_app(rt).test_client()
        ids = _transmissions(rt)
        url = f"/api/v1/trade/transmissions/{ids['ihk']}/retry"
        assert client.post(url, headers=town.auth("olga")).status_code == 409  # pending, never tried
        assert outbox.send_due(rt, RECEIPT_AT).failed == 2
        item = client.get(f"/api/v1/trade/transmissions/{ids['ihk']}", headers=town.auth("olga")).get_json()
        assert item["status"] == "failed" and item["attempts"] == 1 and item["may_retry"] is True
        assert "NotADirectoryError" in item["last_error"] or "FileExistsError" in item["last_error"]
        for user, status in (("anna", 404), ("rita", 403), ("admin", 403)):
            assert client.post(url, headers=town.auth(user)).status_code == status, user
        resp = client.post(url, headers=town.auth("olga"))
        assert resp.status_code == 200 and resp.get_json()["status"] == "pending"
        assert resp.get_json()["attempts"] == 0
        assert client.post("/api/v1/trade/transmissions/999999/retry", headers=town.auth("olga")).status_code == 404
    finally:
        rt.close()
