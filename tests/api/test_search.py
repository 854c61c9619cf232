"""Search over the API: German words, references, facets, snippets; nothing leaks across units; the export."""
from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from sqlalchemy import select

from eakte.app import create_app
from eakte.models import AuditEvent
from eakte.services import identity
from tests.conftest import OPERATOR, build_town, make_runtime
from tests.helpers import create_case, pdf_bytes, upload
from workflows.definition import CaseType
from workflows.registry import load_registry

PERSONNEL = CaseType(key="personnel_file", label_de="Personalakte", label_en="Personnel file", open_schema=True,
                     restricted=True)


@pytest.fixture
def env(tmp_path, db_url):  # type: ignore[no-untyped-def]
    rt = make_runtime(tmp_path, db_url)
    rt.__dict__["registry"] = load_registry(extra={"personnel_file": PERSONNEL})
    town = build_town(rt)
    client = create_app(rt).test_client()
    anna, olga = town.auth("anna"), town.auth("olga")
    c1 = create_case(client, anna, title="Widerspruch gegen Gebührenbescheid Müller")
    upload(client, anna, c1["id"], pdf_bytes("Bescheid", "Die Widerspruchsfrist für Rechnungen beträgt einen Monat. "
                                                         "<script>alert(1)</script>"), title="Bescheid")
    c2 = create_case(client, olga, unit="32", plan="32.10", title="Gewerbeanmeldung Zauberkunst")
    upload(client, olga, c2["id"], pdf_bytes("Anmeldung", "Geheimwort Quastenflosser im Ordnungsamt"),
           title="Anmeldung")
    c3 = create_case(client, anna, title="Personalakte Beispiel", case_type="personnel_file")
    upload(client, anna, c3["id"], pdf_bytes("Beurteilung", "Quastenflosser Beurteilung vertraulich"),
           title="Beurteilung")
    yield rt, town, client, (c1, c2, c3)
    rt.close()


def search(client, town, user: str, **params):  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/search", headers=town.auth(user), query_string=params)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_finds_by_stemmed_word_reference_and_compound(env) -> None:
    rt, town, client, (c1, _, _) = env
    hit = search(client, town, "anna", q="Rechnung")
    assert hit["total"] == 1 and hit["items"][0]["reference"] == c1["reference"]
    assert "<mark>" in hit["items"][0]["snippet"] and "<script>" not in hit["items"][0]["snippet"]
    assert search(client, town, "anna", q=c1["reference"])["total"] == 1
    assert search(client, town, "anna", q="frist")["total"] == 1
    assert search(client, town, "anna", q="Mueller")["total"] == 1
    facets = search(client, town, "anna", q="Rechnung")["facets"]
    assert facets["unit"] == {"20": 1} and facets["case_type"] == {"general": 1}


def test_nothing_leaks_to_other_units(env) -> None:
    rt, town, client, (c1, c2, c3) = env
    for q in ["Rechnung", "Quastenflosser", "Beurteilung", c1["reference"], c3["reference"]]:
        result = search(client, town, "olga", q=q)
        expected = 1 if q == "Quastenflosser" else 0  # only her own Gewerbe case
        assert result["total"] == expected, q
        assert all(sum(v.values()) == expected for v in result["facets"].values()), (q, result["facets"])
    bernd = search(client, town, "bernd", q="Quastenflosser")  # Kämmerei approver: personnel case is restricted? no
    assert bernd["total"] == 1  # same unit as the personnel case (20): members see it
    # The auditor sees all units, but not the restricted personnel file.
    rita = search(client, town, "rita", q="Quastenflosser")
    assert rita["total"] == 1 and rita["items"][0]["case_id"] == c2["id"]
    assert rita["facets"]["case_type"] == {"general": 1}


def test_membership_change_takes_effect_at_once(env) -> None:
    rt, town, client, _ = env
    assert search(client, town, "olga", q="Rechnung")["total"] == 0
    with rt.db.write() as session:
        identity.grant_role(session, OPERATOR, identity.user_by_name(session, "olga"),
                            identity.UnitRole("20", "clerk"))
    assert search(client, town, "olga", q="Rechnung")["total"] == 1


def test_malformed_query_is_a_400(env) -> None:
    rt, town, client, _ = env
    for q in ['"open phrase', "(Rechnung", "Rechnung AND", "nosuchfield:x", "created_at:[2026-13-01 TO 2026-12-31]"]:
        resp = client.get("/api/v1/search", headers=town.auth("anna"), query_string={"q": q})
        assert resp.status_code == 400, q
        assert resp.headers["Content-Type"] == "application/problem+json" and resp.get_json()["detail"]


def test_search_csv(env) -> None:
    rt, town, client, (c1, _, _) = env
    resp = client.get("/api/v1/search.csv", headers=town.auth("anna"), query_string={"q": "Rechnung"})
    assert resp.status_code == 200 and c1["reference"] in resp.data.decode()


def test_auditor_export_is_a_valid_bag(env, tmp_path) -> None:
    import bagit
    rt, town, client, (c1, c2, c3) = env
    denied = client.post("/api/v1/exports", json={"case_ids": [c1["id"]]}, headers=town.auth("anna"))
    assert denied.status_code == 403
    resp = client.post("/api/v1/exports", json={"q": "Rechnung OR Quastenflosser"}, headers=town.auth("rita"))
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    data = resp.data
    assert int(resp.headers["Content-Length"]) == len(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}  # stored: the length is known
        zf.extractall(tmp_path / "bag")
        names = zf.namelist()
    root = next((tmp_path / "bag").iterdir())
    bag = bagit.Bag(str(root))
    bag.validate()  # every checksum in the manifest
    assert any(n.endswith("/audit.json") for n in names) and any(n.endswith("/case.json") for n in names)
    assert any("/documents/" in n and n.endswith(".pdf") for n in names)
    assert any(n.endswith("data/cases.csv") for n in names)
    assert not any(c3["reference"].replace("/", "_") in n for n in names)  # restricted: not the auditor's
    with rt.db.read() as session:
        done = session.execute(select(AuditEvent).where(AuditEvent.action == "export.complete")).scalar_one()
    assert done.details["sha256"] == hashlib.sha256(data).hexdigest()
    assert sorted(done.details["cases"]) == sorted([c1["id"], c2["id"]])


def test_export_streams_files_only_as_it_goes_and_an_interrupted_one_is_not_complete(env, monkeypatch) -> None:
    """The length is known before any stored file is read; files are read chunk by chunk while the bytes go out;
    a client that stops reading leaves an export without a checksum."""
    from eakte.services import exports
    from eakte.services.access import Actor, load_principal
    rt, _town, _client, (c1, c2, _c3) = env
    opened: list[str] = []
    real_open = rt.blobs.open
    monkeypatch.setattr(rt.blobs, "open", lambda key: (opened.append(key), real_open(key))[1])
    with rt.db.read() as session:
        rita = Actor(load_principal(session, identity.user_by_name(session, "rita"), rt.registry.restricted))
    bag = exports.stream_bag(rt, rita, [c1["id"], c2["id"]])
    assert bag.size > 0 and opened == []  # sized up front, nothing read yet
    first = next(bag.chunks)
    bag.chunks.close()  # the client went away
    assert first.startswith(b"PK") and len(opened) <= 1
    receipt = exports.export_receipt(rt, rita, bag.name)
    assert not receipt.complete and receipt.sha256 is None
    again = exports.stream_bag(rt, rita, [c1["id"]])
    data = b"".join(again.chunks)
    assert len(data) == again.size
    assert exports.export_receipt(rt, rita, again.name).sha256 == hashlib.sha256(data).hexdigest()


def test_cli_export_writes_the_announced_length(env, tmp_path) -> None:
    from click.testing import CliRunner

    from eakte.cli import main
    rt, _town, _client, (c1, _c2, _c3) = env
    out = tmp_path / "bag.zip"
    env_vars = {"EAKTE_DATA_DIR": str(rt.settings.data_dir), "EAKTE_DATABASE_URL": rt.settings.database_url,
                "EAKTE_JOBS__BACKEND": "immediate"}
    result = CliRunner().invoke(main, ["export", "--case-id", str(c1["id"]), "--out", str(out), "--user", "rita"],
                                env=env_vars)
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert f"1 cases, {len(data)} bytes" in result.output
    with rt.db.read() as session:
        done = session.execute(select(AuditEvent).where(AuditEvent.action == "export.complete")).scalar_one()
    assert done.details["sha256"] == hashlib.sha256(data).hexdigest() and done.details["size"] == len(data)


def test_restricted_case_is_invisible_outside_its_unit_everywhere(env) -> None:
    """A personnel file is not only absent from search: the auditor cannot open, list or export it either."""
    rt, town, client, (c1, c2, c3) = env
    rita = town.auth("rita")
    assert client.get(f"/api/v1/cases/{c3['id']}", headers=rita).status_code == 404
    assert client.get(f"/api/v1/cases/{c3['id']}/documents", headers=rita).status_code == 404
    assert client.get(f"/api/v1/cases/{c3['id']}/audit", headers=rita).status_code == 404
    listed = client.get("/api/v1/cases", headers=rita, query_string={"limit": 100}).get_json()
    assert c3["id"] not in {c["id"] for c in listed["items"]} and c1["id"] in {c["id"] for c in listed["items"]}
    export = client.post("/api/v1/exports", json={"case_ids": [c3["id"]]}, headers=rita)
    assert export.status_code == 404 and export.headers["Content-Type"] == "application/problem+json"
    # Its own unit's members and admins see it, in search too.
    for user in ("anna", "bernd", "admin"):
        assert client.get(f"/api/v1/cases/{c3['id']}", headers=town.auth(user)).status_code == 200, user
    assert search(client, town, "admin", q="Beurteilung")["total"] == 1
