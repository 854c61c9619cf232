"""The levy calculator and its table versions through the API: the OpenAPI example is a worked example, a bad
input is a 422 naming the field, only the levy unit, auditors and admins compute (a clerk of another unit is
refused), only admins load and confirm tables; a loaded table changes the result and its table_version while
the built-in default stays as it was."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from eakte.api.schemas_levy_compute import COMPUTE_EXAMPLE, COMPUTE_EXAMPLE_RESULT
from eakte.models import AuditEvent, LevyTableVersion
from eakte.runtime import Runtime
from tests.conftest import SQLITE_ONLY, Town
from tests.levy_fixtures import build_levy_town, levy_runtime_at
from workflows.levy.tables import DEFAULT_FILE, default_tables

# The levy's pages and API bodies are the same code on either database; the levy services' tests (survey,
# assessment, payments, objections) run on both.
pytestmark = SQLITE_ONLY

URL = "/api/v1/levy/compute"


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    with levy_runtime_at(tmp_path, db_url) as runtime:
        yield runtime


@pytest.fixture
def town(rt: Runtime) -> Town:
    return build_levy_town(rt)


def _compute(client: Any, town: Town, user: str, **change: Any) -> Any:
    return client.post(URL, json={**COMPUTE_EXAMPLE, **change}, headers=town.auth(user))


def test_the_openapi_example_is_the_worked_example(client: Any, town: Town) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    body = spec["paths"][URL]["post"]["requestBody"]["content"]["application/json"]
    assert body["example"] == COMPUTE_EXAMPLE
    resp = _compute(client, town, "wilhelm")
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    assert {k: out[k] for k in COMPUTE_EXAMPLE_RESULT} == COMPUTE_EXAMPLE_RESULT
    default = default_tables()
    assert (out["table_version"], out["table_sha256"], out["confirmed"], out["outcome"]) == \
        ("fbag-default-1", default.sha256, False, "levied")
    assert out["inputs"]["annual_income"] == "50000.00" and "155,10 €" in out["explanation_de"]
    assert {"/api/v1/levy/tables", "/api/v1/levy/tables/{version_id}/confirm"} <= set(spec["paths"])


@pytest.mark.parametrize("change, field", [
    ({"annual_income": 50000.0}, "annual_income"), ({"area_m2": "-3"}, "area_m2"),
    ({"household_size": 0}, "household_size"), ({"heating": "gas"}, "heating"),
    ({"reference_date": "2026-13-01"}, "reference_date"), ({"children": 3}, "children"),
    ({"area_m2": "95"}, "area_m2"),          # over 80 m²: no row in the default table
    ({"mietenstufe": "IV"}, "mietenstufe"),  # not loaded
    ({"area_m2": "1" * 30}, "area_m2"), ({"annual_income": "9" * 40 + ".00"}, "annual_income"),  # no 500
    ({"household_size": "1" * 5000}, "household_size"),
])
def test_bad_input_is_422_naming_the_field(client: Any, town: Town, change: dict[str, Any], field: str) -> None:
    resp = _compute(client, town, "wilhelm", **change)
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    problem = resp.get_json()
    assert problem["field"] == field and problem["errors"][0]["field"] == field and problem["detail_de"]


def test_unknown_field_is_refused_by_the_schema(client: Any, town: Town) -> None:
    resp = _compute(client, town, "wilhelm", colour="blue")
    assert resp.status_code == 422 and any(e["field"] == "colour" for e in resp.get_json()["errors"])


def test_who_may_compute(client: Any, town: Town) -> None:
    for user in ("wilhelm", "lena", "rita", "admin"):  # levy clerks, the auditor, the admin
        assert _compute(client, town, user).status_code == 200, user
    refused = _compute(client, town, "anna")  # a clerk of the Kämmerei
    assert refused.status_code == 403 and "Wohnungswesen" in refused.get_json()["detail_de"]
    assert client.post(URL, json=COMPUTE_EXAMPLE).status_code == 401
    assert client.get("/api/v1/levy/tables", headers=town.auth("anna")).status_code == 403


TABLE_2026 = DEFAULT_FILE.read_text(encoding="utf-8").replace(
    "one_person = 18166\ntwo_persons = 27561\nper_further_person = 6265\nper_child = 833",
    "one_person = 18166\ntwo_persons = 27561\nper_further_person = 6265\nper_child = 833\n\n"
    "[[income_limits]]\nvalid_from = 2026-01-01\none_person = 19000\ntwo_persons = 28800\n"
    "per_further_person = 6500\nper_child = 900")


def test_admin_loads_and_confirms_a_table_which_changes_the_result(rt: Runtime, client: Any, town: Town) -> None:
    admin = town.auth("admin")
    listed = client.get("/api/v1/levy/tables", headers=town.auth("wilhelm")).get_json()["items"]
    assert [(v["id"], v["label"], v["confirmed"], v["builtin"], v["active"]) for v in listed] == \
        [(None, "fbag-default-1", False, True, True)]
    # a clerk may not load or confirm
    assert client.post("/api/v1/levy/tables", json={"label": "x", "toml": TABLE_2026},
                       headers=town.auth("wilhelm")).status_code == 403
    assert client.post("/api/v1/levy/tables/default/confirm", headers=town.auth("wilhelm")).status_code == 403
    # a bad table names the place inside it
    bad = client.post("/api/v1/levy/tables", json={"label": "kaputt", "toml": TABLE_2026.replace("= 19000", "= -1")},
                      headers=admin)
    assert bad.status_code == 422 and bad.get_json()["field"] == "toml"
    assert bad.get_json()["path"] == "income_limits[4].one_person"
    resp = client.post("/api/v1/levy/tables", json={"label": "hessen-2026", "toml": TABLE_2026,
                                                     "note": "Anpassung 2026"}, headers=admin)
    assert resp.status_code == 201, resp.get_json()
    loaded = resp.get_json()
    assert (loaded["label"], loaded["confirmed"], loaded["active"], loaded["loaded_by"]) == \
        ("hessen-2026", False, True, "admin")
    assert client.post("/api/v1/levy/tables", json={"label": "hessen-2026", "toml": TABLE_2026},
                       headers=admin).status_code == 409
    # the example with the new row: 28,800 + 6,500 + 900 = 36,200.00; (50,000 − 36,200) / 36,200 = 38.12 % → 30 %:
    # 0.30 × 282.00 = 84.60
    out = _compute(client, town, "wilhelm").get_json()
    assert (out["limit"], out["exceedance_percent"], out["rate_percent"], out["monthly_levy"]) == \
        ("36200.00", "38.12", "30", "84.60")
    assert (out["table_version"], out["confirmed"]) == ("hessen-2026", False)
    assert out["table_sha256"] == loaded["sha256"] != default_tables().sha256
    # confirm it (once)
    confirmed = client.post(f"/api/v1/levy/tables/{loaded['id']}/confirm", headers=admin)
    assert confirmed.status_code == 200 and confirmed.get_json()["confirmed_by"] == "admin"
    assert client.post(f"/api/v1/levy/tables/{loaded['id']}/confirm", headers=admin).status_code == 409
    assert client.post("/api/v1/levy/tables/999/confirm", headers=admin).status_code == 404
    assert _compute(client, town, "rita").get_json()["confirmed"] is True
    # the default stays as it was (listed, unconfirmed, not active)
    listed = client.get("/api/v1/levy/tables", headers=town.auth("rita")).get_json()["items"]
    assert [(v["label"], v["confirmed"], v["active"]) for v in listed] == \
        [("hessen-2026", True, True), ("fbag-default-1", False, False)]
    assert default_tables().sha256 == listed[1]["sha256"]
    with rt.db.read() as session:
        actions = [e.action for e in session.execute(select(AuditEvent).where(
            AuditEvent.action.like("levy.tables.%")).order_by(AuditEvent.id)).scalars()]
        assert actions == ["levy.tables.loaded", "levy.tables.confirmed"]
        stored = session.execute(select(LevyTableVersion)).scalar_one()
        assert stored.sha256 == loaded["sha256"] and stored.note == "Anpassung 2026"


def test_confirming_the_default_stores_it_as_the_active_version(client: Any, town: Town) -> None:
    admin = town.auth("admin")
    resp = client.post("/api/v1/levy/tables/default/confirm", headers=admin)
    assert resp.status_code == 200
    row = resp.get_json()
    assert (row["label"], row["confirmed"], row["builtin"], row["active"], row["sha256"]) == \
        ("fbag-default-1", True, True, True, default_tables().sha256)
    assert client.post("/api/v1/levy/tables/default/confirm", headers=admin).status_code == 409
    out = _compute(client, town, "lena").get_json()
    assert (out["table_version"], out["confirmed"], out["monthly_levy"]) == ("fbag-default-1", True, "155.10")
    # the default's label is reserved
    assert client.post("/api/v1/levy/tables", json={"label": "fbag-default-1", "toml": TABLE_2026},
                       headers=admin).status_code == 422
