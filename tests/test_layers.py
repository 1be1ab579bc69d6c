"""The layers of the source tree (docs/architecture.md): what may import what, read from the
source with `ast`, so a forbidden import fails here before it runs anywhere.

Lowest first: `domain` (pure), `store`, `activities` and `workflows`, `runtime`, then the
two processes `api` and `worker`, then the commands `ticketflow`. Inside `domain`: the
vocabulary (`enums`, `errors`), then `sla`, `policy`, `approvals`, `ticket`, `intake`. An
import under `if TYPE_CHECKING:` is for annotations only and never runs, so it does not
count.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ("domain", "store", "activities", "workflows", "runtime", "api", "ticketflow")
TOOLS = ("bench", "faults", "migrations")
FIRST_PARTY = {*SOURCE, *TOOLS, "worker", "tests"}

# What each part may import from the others (itself always). A prefix allows its children.
ALLOWED: dict[str, tuple[str, ...]] = {
    "domain": (),
    "store": ("domain",),
    "activities": ("domain", "store"),
    # Activities and the store's pure row builders only to name activity methods and build
    # their inputs, inside `workflow.unsafe.imports_passed_through()` (test_sandbox.py).
    "workflows": ("domain", "activities", "store.rows"),
    "runtime": ("domain",),
    "api": ("domain", "store", "runtime", "workflows"),
    "worker": ("domain", "store", "activities", "workflows", "runtime"),
    "ticketflow": ("domain", "store", "activities", "workflows", "runtime", "api", "worker"),
    "migrations": ("store",),
    "bench": (
        "domain",
        "store",
        "activities",
        "workflows",
        "runtime",
        "api",
        "worker",
        "ticketflow",
    ),
    "faults": ("domain", "store", "workflows", "runtime", "ticketflow", "tests"),
}
# Inside domain, lowest first; each may import those before it (and enums, errors).
DOMAIN_ORDER = (
    "domain.sla",
    "domain.policy",
    "domain.approvals",
    "domain.ticket",
    "domain.incident",
    "domain.intake",
)
DOMAIN_BASE = ("domain.enums", "domain.errors")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> Iterator[Path]:
    for top in (*SOURCE, *TOOLS):
        yield from sorted((ROOT / top).rglob("*.py"))
    yield ROOT / "worker.py"


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            return True
    return False


def imports(path: Path) -> set[str]:
    """First-party modules `path` imports at run time (at module level or in a function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import sub` imports the submodule `pkg.sub` when there is one.
            names = [node.module]
            names += [
                f"{node.module}.{alias.name}"
                for alias in node.names
                if _is_module(f"{node.module}.{alias.name}")
            ]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] in FIRST_PARTY)
    return found


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def graph() -> dict[str, set[str]]:
    return {module_name(path): imports(path) for path in source_files()}


def test_every_import_goes_down_a_layer() -> None:
    upward = []
    for module, imported in graph().items():
        top = module.split(".")[0]
        allowed = (top, *ALLOWED[top])
        upward += [
            f"{module} imports {name}"
            for name in sorted(imported)
            if not any(_within(name, prefix) for prefix in allowed)
        ]
    assert upward == []


def test_domain_imports_go_down_its_own_order() -> None:
    wrong = []
    for module, imported in graph().items():
        if not _within(module, "domain"):
            continue
        own = next((p for p in DOMAIN_ORDER if _within(module, p)), None)
        allowed = [*DOMAIN_BASE, *DOMAIN_ORDER[: DOMAIN_ORDER.index(own) + 1]] if own else []
        wrong += [
            f"{module} imports {name}"
            for name in sorted(imported)
            if name != "domain" and not any(_within(name, prefix) for prefix in allowed)
        ]
    assert wrong == []


def test_no_import_cycle() -> None:
    edges = graph()
    modules = set(edges)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for name in sorted(edges[module] & modules):
            if state.get(name) == 1:
                cycles.append([*path[path.index(name) :], name])
            elif name not in state:
                visit(name, [*path, name])
        state[module] = 2

    for module in sorted(modules):
        if module not in state:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("domain", ("sqlalchemy", "temporalio", "httpx", "fastapi", "yaml", "aiosmtplib", "os")),
        ("workflows", ("sqlalchemy", "httpx", "fastapi", "yaml", "aiosmtplib", "os", "time")),
    ],
)
def test_pure_layers_import_no_io(module: str, forbidden: tuple[str, ...]) -> None:
    """`domain` does no I/O; workflow code never touches the store, HTTP or the clock (the
    activities it names are imported for their names only)."""
    found = []
    for path in sorted((ROOT / module).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            found += [
                f"{module_name(path)} imports {name}"
                for name in names
                if name.split(".")[0] in forbidden
            ]
    assert found == []


def test_every_package_is_installed() -> None:
    """The image installs the packages pyproject lists: a new subpackage must be listed."""
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    packages = {
        module_name(init)
        for top in (*SOURCE, "migrations")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert packages - listed == set()
