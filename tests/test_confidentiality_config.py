"""The [confidentiality] settings: defaults documented in the example, the xdomea codes, and refusals at start-up."""
from __future__ import annotations

from pathlib import Path

import pytest

from eakte.config import ConfidentialitySettings, load_settings
from eakte.errors import ConfigError
from tests.conftest import make_runtime

ROOT = Path(__file__).resolve().parent.parent


def _load(tmp_path: Path, toml: str, environ: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    path = tmp_path / "eakte.toml"
    path.write_text(toml, encoding="utf-8")
    return load_settings(path, environ=environ or {})


def test_defaults_follow_the_xdomea_code_list() -> None:
    c = load_settings(ROOT / "config.example.toml", environ={}).confidentiality
    assert c == ConfidentialitySettings()
    assert c.keys == ("open", "restricted", "confidential", "strictly_confidential", "secret")
    assert [lv.xdomea_code for lv in c.levels] == ["003", "002", "005", "001", "001"]  # code list 1.0 (3.0.0)
    assert [lv.min_role for lv in c.levels] == ["clerk", "clerk", "approver", "approver", "head_of_unit"]
    assert c.may_see(frozenset({"mayor"}), "restricted") and not c.may_see(frozenset({"mayor"}), "confidential")
    assert c.may_lower(frozenset({"head_of_unit"})) and not c.may_lower(frozenset({"clerk", "approver"}))


def test_own_levels(tmp_path: Path) -> None:
    s = _load(tmp_path, """
[confidentiality]
role_order = ["clerk", "head_of_unit"]
levels = [{key = "open", label_de = "offen", label_en = "open", xdomea_code = "003"},
          {key = "secret", label_de = "geheim", label_en = "secret", xdomea_code = "001", min_role = "head_of_unit", auditors = false}]
""")
    c = s.confidentiality
    assert c.keys == ("open", "secret") and c.levels[1].auditors is False and c.levels[0].min_role == "clerk"


@pytest.mark.parametrize("toml, message", [
    ('levels = [{key = "open", label_de = "offen", label_en = "open", xdomea_code = "003", min_role = "boss"}]',
     "confidentiality.levels[0].min_role: unknown role 'boss'"),
    ('levels = [{key = "open", label_de = "offen", label_en = "open", xdomea_code = "3"}]',
     "confidentiality.levels[0].xdomea_code"),
    ('levels = [{key = "open", label_de = "offen", label_en = "open"}]',
     "confidentiality.levels[0].xdomea_code: missing"),
    ('levels = []', "confidentiality.levels: expected a list of tables"),
    ('levels = [{key = "a", label_de = "a", label_en = "a", xdomea_code = "003"},'
     ' {key = "a", label_de = "b", label_en = "b", xdomea_code = "002"}]', "duplicate keys"),
    ('levels = [{key = "Offen!", label_de = "a", label_en = "a", xdomea_code = "003"}]', "levels[0].key"),
    ('lower_role = "mayor"', "confidentiality.lower_role: unknown role 'mayor'"),
    ('levels = [{key = "open", label_de = "offen", label_en = "open", xdomea_code = "003", colour = "red"}]',
     "confidentiality.levels[0].colour: unknown setting"),
])
def test_bad_levels_are_refused(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        _load(tmp_path, f"[confidentiality]\n{toml}\n")


def test_levels_cannot_come_from_the_environment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="confidentiality.levels: expected a list of tables"):
        load_settings(None, environ={"EAKTE_CONFIDENTIALITY__LEVELS": "open"})


def test_a_role_no_case_type_knows_stops_the_start(tmp_path: Path) -> None:
    from dataclasses import replace
    rt = make_runtime(tmp_path, f"sqlite:///{tmp_path / 'e.db'}")
    try:
        rt.settings = replace(rt.settings, confidentiality=ConfidentialitySettings(
            role_order=("clerk", "approver", "head_of_unit", "chief")))
        rt.__dict__.pop("registry", None)
        with pytest.raises(ConfigError, match="confidentiality.role_order: unknown role.*chief"):
            rt.registry  # noqa: B018
    finally:
        rt.close()
