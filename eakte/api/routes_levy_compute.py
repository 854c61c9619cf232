"""The misallocation levy's API (levy_compute): the calculator and the dated table versions. Every rule is the
services' (eakte.services.levy.tables): who may compute (the levy unit, auditors, admins), who may load and
confirm a table (admins)."""
from __future__ import annotations

from typing import Any

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.api.schemas_levy_compute import (COMPUTE_EXAMPLE, LevyComputeIn, LevyComputeOut, LevyTablesIn,
                                            LevyTableVersionAnswer, LevyTableVersionList)
from eakte.services.levy import tables as service


def version_out(row: service.TableVersionRow) -> dict[str, Any]:
    return {"id": row.id, "label": row.label, "sha256": row.sha256, "note": row.note, "loaded_at": row.loaded_at,
            "loaded_by": row.loaded_by, "confirmed": row.confirmed, "confirmed_at": row.confirmed_at,
            "confirmed_by": row.confirmed_by, "builtin": row.builtin, "active": row.active}


@api.post("/levy/compute")
@api.auth_required(token_auth)
@api.input(LevyComputeIn, arg_name="body", example=COMPUTE_EXAMPLE)
@api.output(LevyComputeOut)
@api.doc(summary="Compute a household's monthly levy with the active table version (no record is written); for "
                 "the levy unit, auditors and admins. 422 names the field, also a row the table lacks (e.g. "
                 "area_m2 over 80 m² or a Mietenstufe not loaded)")
def levy_compute(body: dict[str, Any]) -> dict[str, Any]:
    calculation = service.calculate(current_runtime(), current_actor(), body)
    return {**calculation.result.to_json(), "confirmed": calculation.active.confirmed}


@api.post("/levy/tables")
@api.auth_required(token_auth)
@api.input(LevyTablesIn, arg_name="body")
@api.output(LevyTableVersionAnswer, status_code=201)
@api.doc(summary="Load a table version from TOML (admins): validated whole, stored unchanged for good, active "
                 "from now on and unconfirmed until confirmed; 422 names the place in the TOML (`path`)")
def levy_tables_load(body: dict[str, Any]) -> Any:
    row = service.load_tables(current_runtime(), current_actor(), body["toml"], body["label"], body.get("note"))
    return version_out(row), 201


@api.post("/levy/tables/<int:version_id>/confirm")
@api.auth_required(token_auth)
@api.output(LevyTableVersionAnswer)
@api.doc(summary="Confirm a table version (admins; once: 409 when confirmed already)")
def levy_tables_confirm(version_id: int) -> dict[str, Any]:
    return version_out(service.confirm_tables(current_runtime(), current_actor(), version_id))


@api.post("/levy/tables/default/confirm")
@api.auth_required(token_auth)
@api.output(LevyTableVersionAnswer)
@api.doc(summary="Confirm the built-in default tables (admins; once): stores them as a version, the active one")
def levy_tables_confirm_default() -> dict[str, Any]:
    return version_out(service.confirm_tables(current_runtime(), current_actor(), "default"))


@api.get("/levy/tables")
@api.auth_required(token_auth)
@api.output(LevyTableVersionList)
@api.doc(summary="The table versions, newest first, with their confirmation; the built-in default (id null, "
                 "unconfirmed) while it is not stored")
def levy_tables_list() -> dict[str, Any]:
    return {"items": [version_out(r) for r in service.list_versions(current_runtime(), current_actor())]}
