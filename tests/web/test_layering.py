"""Pages parse, call a service and render: no session, no SQL, no model query in eakte/web (issue 9)."""
from __future__ import annotations

import ast
from pathlib import Path

import eakte.web

WEB_DIR = Path(eakte.web.__file__).parent


def test_pages_never_open_a_session_or_query() -> None:
    offenders = []
    for path in sorted(WEB_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("read", "write") \
                    and isinstance(node.value, ast.Attribute) and node.value.attr == "db":
                offenders.append(f"{path.relative_to(WEB_DIR)}:{node.lineno} .db.{node.attr}()")
            if isinstance(node, ast.ImportFrom) and ((node.module or "").startswith("sqlalchemy")
                                                     or node.module in ("eakte.db",)):
                offenders.append(f"{path.relative_to(WEB_DIR)}:{node.lineno} imports {node.module}")
    assert not offenders, "pages reach past the services:\n" + "\n".join(offenders)


def test_templates_mark_nothing_safe() -> None:
    # Autoescape is the only protection a template has: `|safe` or `Markup` on data would undo it.
    offenders = [f"{p.relative_to(WEB_DIR)}" for p in sorted((WEB_DIR / "templates").rglob("*.html"))
                 if "|safe" in p.read_text(encoding="utf-8").replace(" ", "")
                 or "autoescape false" in p.read_text(encoding="utf-8")]
    assert not offenders, f"templates bypass escaping: {offenders}"


def test_no_inline_script_or_style_in_templates() -> None:
    # The Content-Security-Policy forbids both; a page using them would break silently in the browser.
    offenders = []
    for path in sorted((WEB_DIR / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for bad in ("<style", " style=", " onclick=", " onload=", " onsubmit=", " onchange=", "javascript:"):
            if bad in text:
                offenders.append(f"{path.relative_to(WEB_DIR)}: {bad.strip()}")
        for chunk in text.split("<script")[1:]:
            if "src=" not in chunk.split(">", 1)[0]:
                offenders.append(f"{path.relative_to(WEB_DIR)}: inline <script>")
    assert not offenders, "\n".join(offenders)
