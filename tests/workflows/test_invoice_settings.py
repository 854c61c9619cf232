"""No real municipality as a default (issue 8, point 14): the payment export refuses until the debtor account is
configured; case-type settings naming units that do not exist are reported at start-up and by `eakte case-types`,
one line each; the demo brings its own fictional debtor."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from eakte.app import create_app
from eakte.cli import main
from eakte.config import Settings
from eakte.demo import demo_settings
from eakte.models import InvoicePayment
from eakte.services import identity
from tests.conftest import OPERATOR, build_town, make_runtime
from tests.workflows.test_frozen_fields import CHAIN, export, walk
from tests.workflows.test_invoice_flow import EXTRA_USERS, XR, intake
from workflows.definition import DefinitionError
from workflows.invoice.case_type import DEFAULTS, configured_debtor
from workflows.registry import load_registry

ROOT = Path(__file__).resolve().parents[2]


def cli_env(rt) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"EAKTE_DATA_DIR": str(rt.settings.data_dir), "EAKTE_DATABASE_URL": rt.settings.database_url,
            "EAKTE_JOBS__BACKEND": "immediate"}


def test_no_real_municipality_is_the_default_debtor() -> None:
    assert DEFAULTS["debtor_name"] == "" and DEFAULTS["debtor_iban"] == ""
    assert configured_debtor(load_registry({}).types["invoice"].settings) is None
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    assert "Neu-Isenburg" not in example and "DE02500105170137075030" not in example


def test_no_real_municipality_heads_the_register_letters() -> None:
    from workflows.trade.case_type import DEFAULTS as TRADE_DEFAULTS
    from workflows.levy.case_type import DEFAULTS as LEVY_DEFAULTS
    for defaults in (TRADE_DEFAULTS, LEVY_DEFAULTS):
        assert defaults["municipality"] == "Stadt Musterstadt"
        assert not any("Neu-Isenburg" in line or "Hugenottenallee" in line for line in defaults["letterhead"])
    assert TRADE_DEFAULTS["municipality_key"] != "06438008"  # Neu-Isenburg's Gemeindeschlüssel


@pytest.mark.parametrize("settings, needle", [
    ({"debtor_name": "Gemeinde Musterstadt", "debtor_iban": "DE00123"}, "IBAN"),
    ({"debtor_name": "Gemeinde Musterstadt"}, "debtor_iban"),
])
def test_a_wrong_debtor_account_stops_the_start(settings: dict, needle: str) -> None:
    with pytest.raises(DefinitionError, match=needle):
        load_registry({"invoice": settings})


def test_export_refuses_until_the_debtor_account_is_configured(tmp_path, db_url) -> None:
    rt = make_runtime(tmp_path, db_url, case_types={"invoice": {"routing": {"12345": "32"}}})
    town = build_town(rt)
    with rt.db.write() as session:
        for name, roles in EXTRA_USERS.items():
            user = identity.create_user(session, OPERATOR, name, roles=[identity.UnitRole(u, r) for u, r in roles],
                                        known_roles=rt.registry.roles)
            town.tokens[name] = identity.issue_token(session, OPERATOR, user)
    client = create_app(rt).test_client()
    walk(client, town, intake(client, town, XR / "01.01a-INVOICE_ubl.xml").get_json()["case"]["id"], CHAIN)
    refused = export(client, town)
    assert refused.status_code == 409
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "debtor_iban" in refused.get_json()["detail"]
    out = CliRunner().invoke(main, ["invoices", "export-payments", "--user", "kurt", "--out-dir", str(tmp_path)],
                             env=cli_env(rt))
    assert out.exit_code == 1 and "debtor_iban" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.output
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(InvoicePayment)).scalar() == 0
    rt.close()


UNKNOWN_UNITS = {"invoice": {"receipt_unit": "21", "routing": {"12345": "32", "99999": "77"},
                             "tiers": [{"above": "50000", "role": "mayor", "unit": "01"}]}}


def test_settings_naming_missing_units_are_reported_at_start_up(tmp_path, db_url, caplog) -> None:
    rt = make_runtime(tmp_path, db_url, case_types=UNKNOWN_UNITS)
    build_town(rt)  # units 10, 14, 20 and 32
    with caplog.at_level(logging.WARNING, logger="eakte.case_types"):
        app = create_app(rt)
    lines = [r.getMessage() for r in caplog.records if r.name == "eakte.case_types"
             and r.getMessage().startswith("case type 'invoice'")]  # the personnel type's units are its own
    assert len(lines) == 3, lines
    for where, code in [("receipt_unit", "21"), ("tiers[0].unit", "01"), ("routing.99999", "77")]:
        assert any(f"{where} names unit '{code}'" in line for line in lines), where
    assert all("\n" not in line and line.startswith("case type 'invoice'") for line in lines)
    assert app.test_client().get("/login").status_code == 200  # the server still starts
    rt.close()


def test_case_types_command_reports_missing_units_one_line_each(tmp_path) -> None:
    rt = make_runtime(tmp_path, f"sqlite:///{tmp_path / 'eakte.db'}")
    build_town(rt)
    env = {**cli_env(rt), "EAKTE_CASE_TYPES__INVOICE__RECEIPT_UNIT": "21", "EAKTE_CASE_TYPES__INVOICE__CASH_UNIT": "22"}
    out = CliRunner().invoke(main, ["case-types"], env=env)
    assert out.exit_code == 0, out.output
    assert "eingang → sachlich" in out.stdout
    # only the invoice type's lines: the other types' units (personnel 11, levy 50) are not in this town
    warnings = [w for w in out.stderr.strip().splitlines() if "case type 'invoice'" in w]
    assert len(warnings) == 2 and all(w.startswith("eakte: warning: case type 'invoice'") for w in warnings)
    assert all(w.startswith("eakte: warning: case type ") for w in out.stderr.strip().splitlines())
    assert "receipt_unit names unit '21'" in warnings[0] and "cash_unit names unit '22'" in warnings[1]
    clean = CliRunner().invoke(main, ["case-types"], env=cli_env(rt))
    # the town has unit 20 (not the personnel units 11 and 11.1, whose warnings are the personnel type's)
    assert clean.exit_code == 0 and "case type 'invoice'" not in clean.stderr
    rt.close()


def test_demo_brings_its_own_fictional_debtor() -> None:
    settings = demo_settings(Settings())
    debtor = configured_debtor(load_registry(settings.case_types).types["invoice"].settings)
    assert debtor is not None and "Musterstadt" in debtor.name
    own = {"invoice": {"debtor_name": "Stadt Beispiel", "debtor_iban": "DE02120300000000202051",
                       "routing": {"99999": "20"}}}
    assert demo_settings(Settings(case_types=own)).case_types["invoice"] == own["invoice"]  # configured ones win


def test_demo_routes_the_sample_invoices_to_an_ordering_unit() -> None:
    settings = demo_settings(Settings())
    assert settings.case_types["invoice"]["routing"]["12345"] == "32"
