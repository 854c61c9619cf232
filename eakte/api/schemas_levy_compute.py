"""Request and response shapes of the levy calculator and its table versions (eakte.api.routes_levy_compute).

The calculator's fields take the JSON value as it comes (`Raw`) and say their type in the OpenAPI document: the
values are checked by workflows.levy.compute.parse_compute_request, whose German message names the field, the
same for the API and the web form."""
from __future__ import annotations

from typing import Any

from apiflask import Schema, fields, validators

from eakte.api.schemas import Strict

MONEY = {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$"}


def _raw(kind: dict[str, Any], description: str, **more: Any) -> fields.Raw:
    return fields.Raw(allow_none=True, metadata={**kind, "description": description, **more})


class LevyComputeIn(Strict):
    household_size = _raw({"type": "integer", "minimum": 1, "maximum": 30},
                          "persons in the household, children included; required")
    children = _raw({"type": "integer", "minimum": 0}, "of them children (each adds the child amount K); default 0")
    annual_income = _raw(MONEY, "the household's relevant annual income in euros as a decimal string, e.g. "
                                "\"50000.00\"; required unless answered is false or exempt is given")
    area_m2 = _raw(MONEY, "living area in m² as a decimal string, e.g. \"60\" or \"50.01\"; required")
    build_year = _raw({"type": "integer", "minimum": 1800, "maximum": 2100}, "year the flat was ready; required")
    heating = _raw({"type": "string"}, "stove (Ofenheizung) or central (Sammelheizung): splits the build years "
                                       "up to 1948; required", enum=["stove", "central"])
    mietenstufe = _raw({"type": "string"}, "the Mietenstufe (Wohngeldverordnung) of the municipality; required",
                       enum=["I", "II", "III", "IV", "V", "VI", "VII"])
    reference_date = _raw({"type": "string", "format": "date"}, "the Stichtag: picks the table rows; required")
    answered = _raw({"type": "boolean"}, "false: the household did not answer the survey → the highest band; "
                                         "default true")
    exempt = _raw({"type": "string"}, "transfer_benefits or temporary_use → no levy; default null",
                  enum=["transfer_benefits", "temporary_use", None])


# A hand-worked example (a test posts it and checks every figure): 3 persons with 1 child on 01.01.2026:
# limit = 27,561 + 1 × 6,265 + 1 × 833 = 34,659.00; threshold = 34,659 × 1.2 = 41,590.80;
# exceedance = (50,000 − 34,659) / 34,659 × 100 = 44.262… → 44.26 % → band from 40 %: rate 55 %;
# 60 m², built 1985 (1979–1990), over 50 to 80 m², Mietenstufe I: 4.70 €/m² × 60 = 282.00 € (cap 361.00);
# monthly = 55 % × 282.00 = 155.10 €.
COMPUTE_EXAMPLE: dict[str, Any] = {
    "household_size": 3, "children": 1, "annual_income": "50000.00", "area_m2": "60", "build_year": 1985,
    "heating": "central", "mietenstufe": "I", "reference_date": "2026-01-01", "answered": True,
}
COMPUTE_EXAMPLE_RESULT: dict[str, str] = {
    "limit": "34659.00", "threshold": "41590.80", "exceedance_percent": "44.26", "rate_percent": "55",
    "max_amount_per_m2": "4.70", "cap_per_flat": "361.00", "monthly_levy": "155.10",
}


class LevyComputeOut(Schema):
    limit = fields.String(metadata={"description": "the household's income limit (€ per year)"})
    threshold = fields.String(metadata={"description": "the limit × (1 + threshold): the levy starts here"})
    exceedance_percent = fields.String(allow_none=True, metadata={
        "description": "(income − limit) / limit × 100, two decimals rounded down; null without an income"})
    rate_percent = fields.String(metadata={"description": "the band's rate (0: no levy)"})
    max_amount_per_m2 = fields.String(allow_none=True, metadata={
        "description": "Höchstbetrag € per m² and month; null only when nothing is levied and the table has no row"})
    cap_per_flat = fields.String(allow_none=True, metadata={"description": "cap per flat and month (€)"})
    monthly_levy = fields.String(metadata={"description": "rate × min(per_m2 × area, cap), rounded half up"})
    table_version = fields.String(metadata={"description": "the label of the table version used"})
    table_sha256 = fields.String(metadata={"description": "the sha256 of the table version's content"})
    confirmed = fields.Boolean(metadata={"description": "false: the table is not yet confirmed by the municipality "
                                                        "(e.g. the built-in defaults)"})
    build_class = fields.String()
    area_class = fields.String()
    outcome = fields.String(metadata={"description": "levied, below_threshold, exempt or no_answer"})
    explanation_de = fields.String(metadata={"description": "the computation in words (German)"})
    inputs = fields.Dict(metadata={"description": "every input as the computation took it"})


class LevyTableVersionOut(Schema):
    id = fields.Integer(allow_none=True, metadata={"description": "null: the built-in default, not stored "
                                                                  "until it is confirmed"})
    label = fields.String()
    sha256 = fields.String()
    note = fields.String(allow_none=True)
    loaded_at = fields.DateTime(allow_none=True)
    loaded_by = fields.String(allow_none=True)
    confirmed = fields.Boolean()
    confirmed_at = fields.DateTime(allow_none=True)
    confirmed_by = fields.String(allow_none=True)
    builtin = fields.Boolean(metadata={"description": "the built-in default tables"})
    active = fields.Boolean(metadata={"description": "the version computations use now (the newest loaded)"})


class LevyTableVersionList(Schema):
    items = fields.List(fields.Nested(LevyTableVersionOut), metadata={"description": "newest first"})


class LevyTableVersionAnswer(LevyTableVersionOut):
    """A version as the single answer (its own name: apispec registers LevyTableVersionOut where it is nested)."""


class LevyTablesIn(Strict):
    label = fields.String(required=True, validate=validators.Length(min=1, max=64), metadata={
        "description": "the version's name, unique, e.g. hessen-2026-01"})
    toml = fields.String(required=True, validate=validators.Length(min=1, max=200_000), metadata={
        "description": "the tables as TOML (format: workflows/levy/tables.py, example: config.example.toml)"})
    note = fields.String(load_default=None, allow_none=True, validate=validators.Length(max=1000))
