"""Accessibility checks with axe-core (vendored in tests/e2e/vendor/axe by scripts/refresh_vendor.py)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe" / "axe.min.js"
AXE_RULESETS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING_IMPACTS = {"serious", "critical"}


class AccessibilityError(AssertionError):
    """axe-core found serious or critical WCAG violations on the page."""


def axe_violations(page: Page, rulesets: list[str] | None = None) -> list[dict[str, Any]]:
    """All axe-core violations on the page as it is now (any impact)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        rulesets or AXE_RULESETS)
    return list(result["violations"])


def assert_accessible(page: Page, *, max_nodes: int = 3) -> None:
    """Fails listing every serious or critical violation: rule id, what it asks, the first nodes' selectors."""
    blocking = [v for v in axe_violations(page) if v.get("impact") in BLOCKING_IMPACTS]
    if not blocking:
        return
    lines = [f"{len(blocking)} accessibility violation(s) on {page.url}:"]
    for v in blocking:
        targets = ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:max_nodes])
        more = f" (+{len(v['nodes']) - max_nodes} more)" if len(v["nodes"]) > max_nodes else ""
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} -> {targets}{more}")
    raise AccessibilityError("\n".join(lines))
