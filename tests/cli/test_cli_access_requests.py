"""`eakte access-requests list/grant/refuse --as USER`: the same rules as the API (only the granting role
decides, never the requester), errors in one line."""
from __future__ import annotations

from pathlib import Path

from eakte.app import create_app
from tests.cli.test_cli import run  # noqa: F401 - the fixture
from tests.conftest import make_runtime
from tests.personnel import build_personnel_office


def _two_requests(tmp_path: Path, db_url: str) -> tuple[int, int, str]:
    rt = make_runtime(tmp_path, db_url)  # the data directory and database of the `run` fixture
    try:
        client = create_app(rt).test_client()
        office = build_personnel_office(rt, client)
        ids = []
        for user in ("rita", "admin"):
            resp = client.post(f"/api/v1/cases/{office.file.case['id']}/access-requests", headers=office.auth(user),
                               json={"reason": f"Prüfauftrag von {user}"})
            assert resp.status_code == 201, resp.get_json()
            ids.append(resp.get_json()["id"])
        return ids[0], ids[1], office.file.case["reference"]
    finally:
        rt.close()


def test_list_grant_refuse(run, tmp_path: Path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    rita_req, admin_req, reference = _two_requests(tmp_path, db_url)
    listed = run("access-requests", "list", "--as", "hanna", "--status", "pending").output
    assert f"{rita_req}\t{reference}\trita\tpending\tPrüfauftrag von rita" in listed and "2 access requests." in listed
    assert "0 access requests." in run("access-requests", "list", "--as", "anna").output

    for args, needle in [(("grant", str(rita_req), "--as", "rita"), "head_of_unit"),
                         (("grant", str(rita_req), "--as", "petra"), "head_of_unit"),
                         (("refuse", str(admin_req), "--as", "hanna", "--comment", " "), "comment")]:
        result = run("access-requests", *args, ok=False)
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == 1 and len(lines) == 1 and needle in lines[0], (args, lines)

    granted = run("access-requests", "grant", str(rita_req), "--as", "hanna").output
    assert f"{rita_req}\t{reference}\trita\tgranted until " in granted
    refused = run("access-requests", "refuse", str(admin_req), "--as", "hanna", "--comment", "kein Auftrag").output
    assert f"{admin_req}\t{reference}\tadmin\trefused" in refused
    assert "0 access requests." in run("access-requests", "list", "--as", "hanna", "--status", "pending").output
