"""The verification page (issue 10 point 4) for auditors and admins, and the status page's additions (point 8):
job queue, sample verify, search check, disk use, failed extractions with a retry button."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from eakte.clock import utcnow
from eakte.models import AuditEvent, DocumentVersion
from eakte.runtime import QueueInfo
from tests.conftest import SQLITE_ONLY, Town
from tests.services.test_verification import corrupt_newest_blob, failed_upload, tamper_third_event, uploaded
from tests.web.conftest import post_form

# Page rendering and form handling over services whose own tests run on both databases: SQLite only here.
pytestmark = SQLITE_ONLY


def _events(rt, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


@pytest.mark.parametrize("user", ["anna", "bernd", "olga"])
def test_other_roles_get_403(signed_in, rt, user: str) -> None:
    client = signed_in(user)
    resp = client.get("/verification")
    assert resp.status_code == 403 and "Keine Berechtigung" in resp.get_data(as_text=True)
    assert post_form(client, "/verification/audit", token_from="/settings").status_code == 403
    assert _events(rt, "audit.verify_started") == []
    assert 'href="/verification"' not in client.get("/").get_data(as_text=True)  # not in their navigation


@pytest.mark.parametrize("user", ["rita", "admin"])
def test_auditor_and_admin_run_both_checks(signed_in, rt, client, town: Town, user: str) -> None:
    uploaded(client, town)
    browser = signed_in(user)
    page = browser.get("/verification").get_data(as_text=True)
    assert 'href="/verification"' in page and "Protokollprüfung" in page and "Speicherprüfung" in page
    assert page.count("Diese Prüfung ist noch nicht gelaufen.") == 2
    for kind in ("audit", "storage"):
        resp = post_form(browser, f"/verification/{kind}")
        assert resp.status_code == 303 and resp.headers["Location"].endswith("/verification")
    page = browser.get("/verification").get_data(as_text=True)
    assert "Die Prüfung ist beauftragt." in page
    assert page.count("Keine Befunde.") == 2 and page.count(f"<dd class=\"kern-description-list-item__value\">{user}</dd>") == 2
    assert [e.actor for e in _events(rt, "audit.verified")] == [user]
    assert [e.details["checked"] for e in _events(rt, "storage.verified")] == [1]
    assert browser.post("/verification/audit").status_code == 400  # no CSRF token


def test_findings_are_listed(signed_in, rt, client, town: Town) -> None:
    uploaded(client, town)
    key = corrupt_newest_blob(rt)
    victim = tamper_third_event(rt)
    rita = signed_in("rita")
    post_form(rita, "/verification/audit")
    post_form(rita, "/verification/storage")
    page = rita.get("/verification").get_data(as_text=True)
    assert page.count("1 Befunde") == 2 and "Keine Befunde." not in page
    assert f"broken at event {victim}" in page and "Protokoll verletzt" in page
    assert f"Datei verändert:</strong> <span class=\"finding__what\">{key}</span>" in page


def test_a_running_check_is_not_started_twice(signed_in, rt, town: Town, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rt.jobs, "run_verification", lambda kind, run_id: None)  # queued, no worker yet
    admin = signed_in("admin")
    post_form(admin, "/verification/storage")
    page = admin.get("/verification").get_data(as_text=True)
    assert "Prüfung läuft" in page and "Beauftragt von admin" in page
    assert page.count('disabled aria-disabled="true"') == 1  # only the storage check's button
    resp = post_form(admin, "/verification/storage", follow_redirects=True)
    assert "Diese Prüfung läuft bereits" in resp.get_data(as_text=True)
    assert len(_events(rt, "storage.verify_started")) == 1
    assert post_form(admin, "/verification/nonsense").status_code == 404


def test_status_page_shows_queue_sample_search_check_and_disk(signed_in, client, town: Town) -> None:
    uploaded(client, town)
    page = signed_in("admin").get("/admin/status").get_data(as_text=True)
    assert "Sofort ausgeführt (keine Warteschlange)." in page
    assert "Stichprobe: neueste Dateien geprüft" in page and "in Ordnung" in page
    assert "Index und Datenbank stimmen überein." in page
    assert "Belegter Speicher im Datenverzeichnis" in page and " KB<" in page
    assert 'href="/verification"' in page


def test_status_page_shows_a_waiting_queue(signed_in, rt, town: Town, monkeypatch: pytest.MonkeyPatch) -> None:
    waiting = QueueInfo(3, "extract_text", utcnow() - dt.timedelta(seconds=75))
    monkeypatch.setattr(rt.jobs, "queue_info", lambda: waiting)
    page = signed_in("admin").get("/admin/status").get_data(as_text=True)
    assert "Wartende Aufgaben" in page and ">3<" in page and ">extract_text<" in page
    assert re.search(r"Uhr \(7\d Sekunden\)", page)


def test_status_page_and_retry_are_admin_only(signed_in, rt, client, town: Town,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    version_id = failed_upload(rt, client, town, monkeypatch)
    rita = signed_in("rita")
    assert rita.get("/admin/status").status_code == 403
    resp = post_form(rita, f"/admin/status/extractions/{version_id}/retry", token_from="/verification")
    assert resp.status_code == 403
    with rt.db.read() as session:
        assert session.get(DocumentVersion, version_id).text_status == "failed"


def test_retry_of_a_failed_extraction(signed_in, rt, client, town: Town, monkeypatch: pytest.MonkeyPatch) -> None:
    version_id = failed_upload(rt, client, town, monkeypatch, title="<script>alert(1)</script>")
    admin = signed_in("admin")
    page = admin.get("/admin/status").get_data(as_text=True)
    assert "timeout after 60 s" in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    path = f"/admin/status/extractions/{version_id}/retry"
    assert f'action="{path}"' in page
    resp = post_form(admin, path, token_from="/admin/status", follow_redirects=True)
    assert "Die Texterkennung wird erneut versucht." in resp.get_data(as_text=True)
    with rt.db.read() as session:
        assert session.get(DocumentVersion, version_id).text_status == "done"
    assert [e.actor for e in _events(rt, "document.extraction_retry")] == ["admin"]
    again = post_form(admin, path, token_from="/admin/status", follow_redirects=True).get_data(as_text=True)
    assert "nicht fehlgeschlagen" in again
