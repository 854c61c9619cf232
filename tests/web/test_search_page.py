"""The search page: German words, facets, snippets that cannot carry HTML, malformed queries at the field, nothing of
other units, the auditors' export (a valid BagIt ZIP) and its receipt, the CSV link; the read-only case page for
auditors and the filters of the audit trail."""
from __future__ import annotations

import hashlib
import io
import re
import zipfile

import pytest
from sqlalchemy import select

from eakte.models import AuditEvent
from eakte.web.snippets import snippet_html
from tests.helpers import create_case, pdf_bytes, upload
from tests.web.conftest import csrf_token

HOSTILE = '<script>alert(1)</script> <img src=x onerror=alert(2)> Quittung'


@pytest.fixture
def env(client, town):  # type: ignore[no-untyped-def]
    anna, olga = town.auth("anna"), town.auth("olga")
    c1 = create_case(client, anna, title="Widerspruch Gebührenbescheid Müller")
    upload(client, anna, c1["id"], pdf_bytes("Bescheid", "Die Widerspruchsfrist für Rechnungen beträgt einen Monat. "
                                             + HOSTILE), title="Bescheid")
    c2 = create_case(client, olga, unit="32", plan="32.10", title="Gewerbeanmeldung Zauberkunst")
    upload(client, olga, c2["id"], pdf_bytes("Anmeldung", "Geheimwort Quastenflosser und Rechnung im Ordnungsamt"),
           title="Anmeldung")
    return c1, c2


def _page(client, **params) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    resp = client.get("/search", query_string=params)
    return resp.status_code, resp.get_data(as_text=True)


def test_snippet_html_keeps_only_mark() -> None:
    out = str(snippet_html('a &amp; <mark>b</mark> &lt;script&gt; <script>x</script><img onerror=y> <mark>c'))
    assert out == "a &amp; <mark>b</mark> &lt;script&gt; &lt;script&gt;x&lt;/script&gt;&lt;img onerror=y&gt; " \
                  "<mark>c</mark>"
    assert str(snippet_html("</mark><MARK>x")) == "<mark>x</mark>"


def test_stemmed_word_finds_document_with_escaped_snippet(env, signed_in) -> None:  # type: ignore[no-untyped-def]
    c1, _ = env
    status, html = _page(signed_in("anna"), q="Rechnung")
    assert status == 200
    assert "1 Treffer" in html and c1["reference"] in html
    assert "<mark>Rechnungen</mark>" in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert f'href="/cases/{c1["id"]}"' in html and re.search(r'href="/documents/\d+"', html)
    assert re.search(r'href="/documents/\d+/preview"', html)


def test_header_has_search_box(env, signed_in, web) -> None:  # type: ignore[no-untyped-def]
    html = signed_in("anna").get("/cases").get_data(as_text=True)
    assert 'role="search"' in html and 'for="header-search"' in html and 'name="q"' in html
    assert 'id="header-search"' not in web.get("/login").get_data(as_text=True)


def test_facets_narrow(env, signed_in) -> None:  # type: ignore[no-untyped-def]
    rita = signed_in("rita")
    status, html = _page(rita, q="Rechnung")
    assert status == 200 and "2 Treffer" in html
    assert re.search(r'href="/search\?q=Rechnung&amp;unit=32"', html)
    status, narrowed = _page(rita, q="Rechnung", unit="32")
    assert status == 200 and "1 Treffer" in narrowed and "Zauberkunst" in narrowed and "Gebührenbescheid" not in narrowed
    assert "Filter entfernen" in narrowed


def test_nothing_of_other_units(env, signed_in) -> None:  # type: ignore[no-untyped-def]
    c1, _ = env
    olga = signed_in("olga")
    for q in ("Widerspruchsfrist", c1["reference"], "Gebührenbescheid"):
        status, html = _page(olga, q=q)
        assert status == 200 and "0 Treffer" in html and "Keine Treffer" in html, q
        assert "Gebührenbescheid" not in html.replace(q, "") and "unit=20" not in html, q
    status, html = _page(olga, q="Rechnung")
    assert "1 Treffer" in html and "unit=20" not in html and "Gebührenbescheid" not in html


def test_malformed_query_at_the_field(env, signed_in) -> None:  # type: ignore[no-untyped-def]
    status, html = _page(signed_in("anna"), q='"offene Wortgruppe')
    assert status == 422
    assert 'id="search-q-error"' in html and "bei Zeichen" in html and 'aria-invalid="true"' in html
    assert "Treffer" not in html.split('id="search-q-error"')[0].split("<main")[1]


def test_empty_result_suggests(env, signed_in) -> None:  # type: ignore[no-untyped-def]
    status, html = _page(signed_in("anna"), q="Nirgendwortxyz")
    assert status == 200 and "Keine Treffer" in html and "rech*" in html


def test_csv_link(env, signed_in) -> None:  # type: ignore[no-untyped-def]
    c1, _ = env
    anna = signed_in("anna")
    _, html = _page(anna, q="Rechnung")
    assert 'href="/search.csv?q=Rechnung"' in html
    resp = anna.get("/search.csv?q=Rechnung")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    body = resp.get_data(as_text=True)
    assert c1["reference"] in body and "Zauberkunst" not in body
    assert anna.get("/search.csv?q=%22offen").status_code == 400


def test_export_by_auditor_is_a_valid_bag(env, signed_in, rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import bagit
    c1, c2 = env
    rita = signed_in("rita")
    _, html = _page(rita, q="Rechnung")
    assert f'name="case_id" value="{c1["id"]}"' in html and "Ausgewählte Akten exportieren" in html
    token = csrf_token(rita, "/search?q=Rechnung")
    assert rita.post("/search/export", data={"case_id": c1["id"]}).status_code == 400  # no CSRF token
    resp = rita.post("/search/export", data={"csrf_token": token, "case_id": str(c1["id"]), "scope": "selected"})
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert 'data-export' in html and "export.js" in html and 'id="export-progress"' in html
    data = resp.get_data()
    assert int(resp.headers["Content-Length"]) == len(data)  # known before the first byte: the page shows progress
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        zf.extractall(tmp_path / "bag")
    bag = bagit.Bag(str(next((tmp_path / "bag").iterdir())))
    bag.validate()
    with rt.db.read() as session:
        done = session.execute(select(AuditEvent).where(AuditEvent.action == "export.complete")).scalar_one()
    assert done.details["cases"] == [c1["id"]] and done.details["sha256"] == hashlib.sha256(data).hexdigest()
    receipt = rita.get(resp.headers["X-Export-Receipt"])
    assert receipt.status_code == 200 and hashlib.sha256(data).hexdigest() in receipt.get_data(as_text=True)
    as_json = rita.get(resp.headers["X-Export-Receipt"], headers={"Accept": "application/json"})  # for export.js
    assert as_json.mimetype == "application/json"
    assert as_json.get_json() == {"name": done.object_id, "complete": True, "sha256": hashlib.sha256(data).hexdigest(),
                                  "size": len(data), "case_count": 1, "url": resp.headers["X-Export-Receipt"]}
    assert hashlib.sha256(data).hexdigest() in rita.get("/search").get_data(as_text=True)  # "Ihre letzten Exporte"
    every = rita.post("/search/export", data={"csrf_token": token, "q": "Rechnung", "scope": "all"})
    assert every.status_code == 200
    assert int(every.headers["Content-Length"]) == len(every.get_data())
    with rt.db.read() as session:
        last = session.execute(select(AuditEvent).where(AuditEvent.action == "export.complete")
                               .order_by(AuditEvent.id.desc())).scalars().first()
    assert sorted(last.details["cases"]) == sorted([c1["id"], c2["id"]])


def test_export_refused_for_clerk(env, signed_in) -> None:  # type: ignore[no-untyped-def]
    c1, _ = env
    anna = signed_in("anna")
    _, html = _page(anna, q="Rechnung")
    assert 'name="case_id"' not in html and "Ausgewählte Akten exportieren" not in html
    assert "nur die Revision" in html
    token = csrf_token(anna, "/search?q=Rechnung")
    resp = anna.post("/search/export", data={"csrf_token": token, "case_id": str(c1["id"])})
    assert resp.status_code == 403 and resp.mimetype == "text/html"
    assert anna.get("/search/exports/eakte-export-x").status_code == 403
    assert anna.get("/search/exports/eakte-export-x", headers={"Accept": "application/json"}).status_code == 403


def test_auditor_case_page_is_read_only(env, signed_in) -> None:  # type: ignore[no-untyped-def]
    c1, _ = env
    rita_page = signed_in("rita").get(f"/cases/{c1['id']}").get_data(as_text=True)
    anna_page = signed_in("anna").get(f"/cases/{c1['id']}").get_data(as_text=True)
    for marker in (f"/cases/{c1['id']}/close", f"/cases/{c1['id']}/documents", "Dokument hochladen"):
        assert marker in anna_page, marker
        assert marker not in rita_page, marker
    doc = re.search(r'href="/documents/(\d+)"', anna_page).group(1)
    assert "Neue Version" in signed_in("anna").get(f"/documents/{doc}").get_data(as_text=True)
    assert "Neue Version" not in signed_in("rita").get(f"/documents/{doc}").get_data(as_text=True)


def test_audit_trail_filters(env, signed_in, town, client) -> None:  # type: ignore[no-untyped-def]
    c1, _ = env
    client.patch(f"/api/v1/cases/{c1['id']}", json={"title": "Neuer Betreff"}, headers=town.auth("anna"))
    rita = signed_in("rita")
    rita.get(f"/cases/{c1['id']}")
    base = f"/cases/{c1['id']}/audit"
    everything = rita.get(base).get_data(as_text=True)
    assert "<code class=\"kern-body--small\">case.create</code>" in everything
    only = rita.get(base, query_string={"action": "case.create"}).get_data(as_text=True)
    assert "case.create</code>" in only and "document.create</code>" not in only
    by_rita = rita.get(base, query_string={"person": "rita"}).get_data(as_text=True)
    assert "case.create</code>" not in by_rita
    future = rita.get(base, query_string={"from": "2999-01-01"}).get_data(as_text=True)
    assert "Keine Einträge" in future
    past = rita.get(base, query_string={"to": "2000-01-01"}).get_data(as_text=True)
    assert "Keine Einträge" in past
    assert rita.get(base, query_string={"from": "kein Datum"}).status_code == 422
    assert signed_in("olga").get(base, query_string={"action": "case.create"}).status_code == 404
