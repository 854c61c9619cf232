"""The layout's dependency rules, checked on the imports themselves (issue 8 point 19): also imports inside
functions count, since a lazy import is still a dependency."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Shared by both search backends: they may depend on these, never the other way round.
SHARED_SEARCH = ("search/__init__.py", "search/analysis.py", "search/ast.py", "search/query.py",
                 "search/snippets.py")
BACKENDS = ("search.whoosh_index", "search.postgres_index", "whoosh", "sqlalchemy")


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, wherever in the file the import statement stands."""
    names: set[str] = set()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names |= {f"{module}.{a.name}" for a in node.names}
    return names


def _depends_on(names: set[str], targets: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names for t in targets if n == t or n.startswith(t + "."))


@pytest.mark.parametrize("shared", SHARED_SEARCH)
def test_shared_search_modules_do_not_depend_on_a_backend(shared: str) -> None:
    assert _depends_on(imports_of(ROOT / shared), BACKENDS) == []


@pytest.mark.parametrize("tree", ["search", "storage", "workflows"])
def test_libraries_do_not_import_flask_or_eakte(tree: str) -> None:
    for path in sorted((ROOT / tree).rglob("*.py")):
        assert _depends_on(imports_of(path), ("flask", "apiflask", "eakte")) == [], path


# --- the job registry runs one way: jobs → services → runtime ---------------------------------------------------

CORE = [ROOT / "eakte/runtime.py", ROOT / "eakte/jobs.py", *sorted((ROOT / "eakte/services").glob("*.py"))]


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _module_level_imports(path: Path) -> set[str]:
    """Imports executed when the module loads: at module level, outside `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return names


def test_runtime_knows_neither_jobs_nor_services() -> None:
    assert _depends_on(imports_of(ROOT / "eakte/runtime.py"),
                       ("eakte.jobs", "eakte.services", "eakte.bootstrap", "eakte.api", "eakte.cli")) == []


@pytest.mark.parametrize("path", sorted((ROOT / "eakte/services").glob("*.py")), ids=lambda p: p.name)
def test_services_enqueue_through_the_runtime_not_the_jobs(path: Path) -> None:
    assert _depends_on(imports_of(path), ("eakte.jobs", "eakte.bootstrap", "eakte.api", "eakte.cli")) == []


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_no_lazy_imports_of_eakte_in_the_core(path: Path) -> None:
    """An import inside a function is how a cycle hides; in runtime, jobs and services every eakte import is
    at module level (type-only imports under `if TYPE_CHECKING:` would be at module level too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lazy = [node.lineno for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(fn) if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("eakte")
            or isinstance(node, ast.Import) and any(a.name.startswith("eakte") for a in node.names)]
    assert lazy == [], f"{path.name}: imports of eakte inside functions at lines {lazy}"


def test_no_import_cycles_among_runtime_jobs_and_services() -> None:
    modules = {_module(p): p for p in CORE}
    graph = {m: {n for n in (_module_level_imports(p)) if n in modules and n != m} for m, p in modules.items()}
    state: dict[str, str] = {}

    def visit(m: str, trail: list[str]) -> None:
        state[m] = "open"
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                raise AssertionError("import cycle: " + " → ".join(trail[trail.index(n):] + [n]))
            if n not in state:
                visit(n, trail + [n])
        state[m] = "done"

    for m in sorted(modules):
        if m not in state:
            visit(m, [m])


# --- the whoosh backend: a package of one module per concern -----------------------------------------------------

def test_whoosh_backend_is_a_package_of_small_modules() -> None:
    package = ROOT / "search/whoosh_index"
    assert not (ROOT / "search/whoosh_index.py").exists() and (package / "__init__.py").exists()
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in package.glob("*.py")}
    assert {"schema.py", "postings.py", "plan.py", "evaluate.py", "facets.py", "snippets.py", "index.py"} <= set(sizes)
    assert max(sizes.values()) <= 300, sizes


def test_whoosh_public_import_path_still_works() -> None:
    from search import SearchIndex
    from search.whoosh_index import SCHEMA_VERSION, WhooshIndex, german_analyzer
    from search.whoosh_index.index import WhooshIndex as Implementation
    assert WhooshIndex is Implementation and SCHEMA_VERSION and callable(german_analyzer)
    assert all(hasattr(WhooshIndex, name) for name in ("index", "delete", "clear", "search", "document_ids", "close"))
    assert SearchIndex  # the protocol it implements


# Who may do what is decided in services/access.py; these services ask it and never read roles themselves.
ASKS_ACCESS = ("eakte/services/invoices.py", "eakte/services/exports.py", "eakte/services/workflow.py")
ROLE_READS = ("is_admin", "is_auditor", "has_role", "roles_by_unit", "task_roles_by_unit", "memberships")


@pytest.mark.parametrize("service", ASKS_ACCESS)
def test_permission_decisions_are_made_in_access_not_in_the_service(service: str) -> None:
    tree = ast.parse((ROOT / service).read_text(encoding="utf-8"))
    reads = sorted({(node.attr, node.lineno) for node in ast.walk(tree)
                    if isinstance(node, ast.Attribute) and node.attr in ROLE_READS})
    assert reads == [], f"{service} reads roles itself: {reads}"
