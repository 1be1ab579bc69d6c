"""What the workflow sandbox passes through (`workflows.sandbox`): only what the workflow
needs, all of it deterministic. Production passes the ticket's decisions through (they
are pure, and importing them per run costs); CI replays every history with them checked
by the sandbox (test_replay.py)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.test_layers import ROOT, graph, module_name
from workflows.sandbox import ARITHMETIC, DATA, DECISIONS, PASSTHROUGH_MODULES

# What passed-through code may import besides itself: libraries that are deterministic for
# a given version (`holidays` serves calendars not yet resolved, which no workflow sees) and,
# in the workflow's helpers, the SDK's workflow API (its clock is `workflow.now()`).
PURE_LIBRARIES = {
    "__future__", "collections", "dataclasses", "datetime", "decimal", "enum", "functools",
    "hashlib", "itertools", "re", "typing", "unicodedata", "zoneinfo", "pydantic", "holidays",
}  # fmt: skip
WORKFLOW_LIBRARIES = {"asyncio", "contextlib", "temporalio"}
# Parents of listed modules, imported afresh in the sandbox: each holds only a docstring.
PACKAGES = {
    "domain",
    "domain.approvals",
    "domain.incident",
    "domain.policy",
    "domain.ticket",
    "workflows",
}
WORKFLOWS = {"workflows.ticket", "workflows.incident"}


def _passed_through(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in PASSTHROUGH_MODULES)


def test_the_passthrough_lists() -> None:
    assert DATA == (
        "domain.enums",
        "domain.errors",
        "domain.approvals.models",
        "domain.policy.approvals",
        "domain.incident.actions",
        "domain.incident.state",
        "domain.policy.models",
        "domain.ticket.actions",
        "domain.ticket.correspondence",
        "domain.ticket.ladder",
        "domain.ticket.notifications",
        "domain.ticket.requests",
        "domain.ticket.state",
        "domain.ticket.views",
    )
    assert ARITHMETIC == ("domain.sla",)
    assert DECISIONS == (
        "domain.approvals.decide",
        "domain.incident.aggregate",
        "domain.incident.alerts",
        "domain.incident.broadcasts",
        "domain.incident.clocks",
        "domain.incident.record",
        "domain.incident.views",
        "domain.ticket.agent",
        "domain.ticket.aggregate",
        "domain.ticket.approvals",
        "domain.ticket.change",
        "domain.ticket.clocks",
        "domain.ticket.creation",
        "domain.ticket.credits",
        "domain.ticket.customer",
        "domain.ticket.escalation",
        "domain.ticket.links",
        "domain.ticket.timers",
        "domain.ticket.transitions",
        "domain.ticket.unresolved",
        "workflows.approvals_of_ticket",
        "workflows.details",
        "workflows.effects",
        "workflows.incident_effects",
        "workflows.mail",
        "workflows.search_attributes",
        "workflows.ticket_actions",
        "workflows.timer",
    )
    assert (*DATA, *ARITHMETIC, *DECISIONS) == PASSTHROUGH_MODULES


def _reached_from_the_workflow() -> set[str]:
    """First-party modules the workflows import, however indirectly, leaving out what
    its helpers import inside `imports_passed_through()` (checked below)."""
    edges = graph()
    reached: set[str] = set()
    todo = sorted(WORKFLOWS)
    while todo:
        module = todo.pop()
        if module in reached or module not in edges:
            continue
        if module.split(".")[0] in ("activities", "store"):
            continue
        reached.add(module)
        todo += edges[module]
    return reached


def test_the_workflow_needs_every_listed_module_and_no_other() -> None:
    reached = _reached_from_the_workflow()
    assert {m for m in reached if not _passed_through(m)} - PACKAGES == WORKFLOWS
    listed_modules = {m for m in PASSTHROUGH_MODULES if m != "domain.sla"}
    assert listed_modules - reached == set()
    assert {m for m in reached if m.startswith("domain.sla")}, "the clocks are needed"
    assert not any(m.startswith(("domain.intake", "domain.policy.support")) for m in reached)


def _imported_in_passthrough_blocks(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.With) and "imports_passed_through" in ast.unparse(node):
            found |= {
                inner.module
                for inner in ast.walk(node)
                if isinstance(inner, ast.ImportFrom) and inner.module
            }
    return found


def test_the_workflow_passes_through_activities_only_to_name_them() -> None:
    """Inside `imports_passed_through()`: the activity classes (for their method names and
    error types) and the store's pure row builders, nothing else."""
    blocks = {
        module_name(path): _imported_in_passthrough_blocks(path)
        for path in sorted((ROOT / "workflows").glob("*.py"))
    }
    assert {module: names for module, names in blocks.items() if names} == {
        "workflows.effects": {"activities.dispatch", "activities.projection", "store.rows"},
        "workflows.incident": {"activities.incidents"},
        "workflows.incident_effects": {"activities.incidents"},
        "workflows.mail": {"activities.email"},
        "workflows.approval": {"activities.approvals"},
        "workflows.approval_effects": {"activities.approvals", "activities.email"},
    }


def test_passed_through_modules_are_deterministic() -> None:
    """They import only pure libraries, the SDK's workflow API and each other (activities
    only inside `imports_passed_through()`, above), and read no clock but the workflow's."""
    problems = []
    for path in sorted([*(ROOT / "domain").rglob("*.py"), *(ROOT / "workflows").glob("*.py")]):
        module = module_name(path)
        if not _passed_through(module):
            continue
        libraries = PURE_LIBRARIES
        if module.startswith("workflows"):
            libraries = libraries | WORKFLOW_LIBRARIES
        in_blocks = _imported_in_passthrough_blocks(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                problems += [
                    f"{module} imports {name}"
                    for name in names
                    if name.split(".")[0] not in libraries
                    and not _passed_through(name)
                    and name not in PACKAGES
                    and name not in in_blocks
                ]
            clock = isinstance(node, ast.Attribute) and node.attr in {"now", "today", "utcnow"}
            if clock and ast.unparse(node) != "workflow.now":
                problems.append(f"{module} reads the clock: {ast.unparse(node)}")
    assert problems == []


def test_replaying_a_history_imports_no_holidays() -> None:
    """A workflow only ever sees resolved calendars: replaying every recorded history in a
    fresh interpreter never loads the `holidays` package."""
    script = textwrap.dedent(
        """
        import asyncio, sys
        from pathlib import Path
        from temporalio.client import WorkflowHistory
        from temporalio.contrib.pydantic import pydantic_data_converter
        from temporalio.worker import Replayer
        from workflows.incident import IncidentWorkflow
        from workflows.approval import ApprovalWorkflow
        from workflows.sandbox import sandbox_runner
        from workflows.ticket import TicketWorkflow

        async def main():
            replayer = Replayer(
                workflows=[TicketWorkflow, ApprovalWorkflow, IncidentWorkflow],
                data_converter=pydantic_data_converter,
                workflow_runner=sandbox_runner(),
            )
            for path in sorted(Path("tests/histories").glob("*.json")):
                history = WorkflowHistory.from_json(path.stem, path.read_text())
                await replayer.replay_workflow(history)

        asyncio.run(main())
        print("holidays" in sys.modules)
        sys.stdout.flush()
        import os
        os._exit(0)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
