"""Recorded histories of the main lifecycle scenarios replay against the current workflow code.

A change to TicketWorkflow (or the domain code it runs) that would break running
tickets fails here; guard such changes with `workflow.patched`. CI runs this with
`make test`; tests/histories/record.py says how a new scenario is recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.approval import ApprovalWorkflow
from workflows.incident import IncidentWorkflow
from workflows.sandbox import sandbox_runner
from workflows.ticket import TicketWorkflow

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "histories").glob("*.json"))


def _replayer(*, check_decisions: bool = False) -> Replayer:
    return Replayer(
        workflows=[TicketWorkflow, ApprovalWorkflow, IncidentWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=sandbox_runner(check_decisions=check_decisions),
    )


def test_the_main_scenarios_are_recorded() -> None:
    assert {p.stem for p in HISTORIES} >= {
        "created_replied_resolved_closed",
        "waiting_on_customer_then_breach",
        "unanswered_breach_and_auto_close",
        "low_csat_followed_up_late",
        "escalation_ladder",
        "dispatch_after_resolve",
        "failed_notification",
        "continue_as_new_first_run",
        "continue_as_new_second_run",
        "intake_then_lifecycle",
        "intake_then_escalation_ladder",
        "ladder_team_move",
        "content_trigger_in_reply",
        "refund_approved_then_closed",
        "refund_approval_approved",
        "enterprise_breach_credit",
        "incident_broadcast_breach_resolve_report",
        "ticket_in_incident_updated_resolved_reopened",
    }


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await _replayer().replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_with_the_decisions_checked_by_the_sandbox(path: Path) -> None:
    """The ticket's decisions, passed through in production (workflows/sandbox.py), run
    inside the sandbox here, which refuses any clock, I/O or randomness in them."""
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = _replayer(check_decisions=True)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


async def test_a_history_the_code_does_not_match_fails_replay() -> None:
    """The check can fail: rename the first activity the history scheduled, as a code change
    that schedules something else would, and replay reports nondeterminism."""
    history = json.loads(HISTORIES[0].read_text())
    scheduled = next(
        e["activityTaskScheduledEventAttributes"]
        for e in history["events"]
        if "activityTaskScheduledEventAttributes" in e
    )
    scheduled["activityType"]["name"] = "renamed_activity"
    broken = WorkflowHistory.from_json("broken", json.dumps(history))
    result = await _replayer().replay_workflow(broken, raise_on_replay_failure=False)
    assert result.replay_failure is not None
