"""Routes parse, call a service and shape the answer; the service opens the unit of work (issue 8, point 19)."""
from __future__ import annotations

import ast
from pathlib import Path

import eakte.api

API_DIR = Path(eakte.api.__file__).parent


def test_routes_never_open_a_session() -> None:
    offenders = []
    for path in sorted(API_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("read", "write") \
                    and isinstance(node.value, ast.Attribute) and node.value.attr == "db":
                offenders.append(f"{path.name}:{node.lineno} .db.{node.attr}()")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                offenders.append(f"{path.name}:{node.lineno} imports {node.module}")
    assert not offenders, "routes open sessions themselves:\n" + "\n".join(offenders)
