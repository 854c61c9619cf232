"""`eakte levy tables`: list the versions (the built-in default while not stored), load a TOML file as a new
version and confirm a version or the default, as a named admin; errors are one line with a non-zero exit (a
clerk is refused, a bad table names the place, a second confirmation is refused)."""
from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import run  # noqa: F401 - the fixture
from workflows.levy.tables import DEFAULT_FILE, default_tables


def _office(run) -> None:  # type: ignore[no-untyped-def]
    run("init", "--admin", "chef", "--admin-password", "sehr-geheim")
    run("unit", "create", "50", "Amt für Wohnungswesen")
    run("user", "create", "wilhelm", "--unit", "50", "--role", "clerk", "--password", "wilhelm-passwort")


def _error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eakte: error:"), result.stderr
    return lines[0]


def test_list_load_and_confirm(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _office(run)
    sha = default_tables().sha256
    assert run("levy", "tables", "list").stdout.splitlines() == \
        [f"default\tfbag-default-1\t{sha[:12]}\tunconfirmed\tactive\tbuilt-in"]
    table = tmp_path / "tabelle.toml"
    table.write_text(DEFAULT_FILE.read_text(encoding="utf-8").replace("per_child = 833", "per_child = 900"),
                     encoding="utf-8")
    out = run("levy", "tables", "load", str(table), "--label", "hessen-2026", "--note", "Erlass 2026",
              "--as", "chef").stdout.strip()
    assert out.startswith("Loaded 1\thessen-2026\t") and out.endswith("unconfirmed\tactive")
    out = run("levy", "tables", "confirm", "1", "--as", "chef").stdout.strip()
    assert out.startswith("Confirmed 1\thessen-2026\t") and "confirmed 20" in out and "by chef" in out
    lines = run("levy", "tables", "list").stdout.splitlines()
    assert lines[0].startswith("1\thessen-2026\t") and lines[0].endswith("by chef\tactive")
    assert lines[1] == f"default\tfbag-default-1\t{sha[:12]}\tunconfirmed\tbuilt-in"
    # Confirming the defaults now would make them the newest version and silently replace the table in force.
    assert "a loaded table is in force" in _error(run("levy", "tables", "confirm", "default", "--as", "chef",
                                                      ok=False))
    assert run("levy", "tables", "list").stdout.splitlines()[0].endswith("by chef\tactive")


def test_errors_are_one_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _office(run)
    table = tmp_path / "tabelle.toml"
    table.write_text(DEFAULT_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    assert "only admins" in _error(run("levy", "tables", "load", str(table), "--label", "x", "--as", "wilhelm",
                                       ok=False))
    broken = tmp_path / "kaputt.toml"
    broken.write_text(DEFAULT_FILE.read_text(encoding="utf-8").replace("cap = [197,", "cap = [0,"),
                      encoding="utf-8")
    assert "max_amounts[0].to_50.cap[0]" in _error(run("levy", "tables", "load", str(broken), "--label", "x",
                                                       "--as", "chef", ok=False))
    syntax = tmp_path / "syntax.toml"
    syntax.write_text("[[income_limits]\n", encoding="utf-8")
    assert "not valid TOML" in _error(run("levy", "tables", "load", str(syntax), "--label", "y", "--as", "chef",
                                          ok=False))
    assert "no levy table version 7" in _error(run("levy", "tables", "confirm", "7", "--as", "chef", ok=False))
    assert "'default'" in _error(run("levy", "tables", "confirm", "neu", "--as", "chef", ok=False))
    run("levy", "tables", "confirm", "default", "--as", "chef")
    assert "confirmed already" in _error(run("levy", "tables", "confirm", "default", "--as", "chef", ok=False))
    # nothing was loaded by the refused attempts
    assert len(run("levy", "tables", "list").stdout.splitlines()) == 1
