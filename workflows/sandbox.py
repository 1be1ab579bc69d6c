"""The workflow sandbox: which modules a ticket's workflow shares with the worker process.

The sandbox imports every module it does not pass through afresh for each workflow run,
and checks that code as it runs (no clock, no I/O, no randomness, no threads). What the
workflow needs, and nothing else, is passed through, all of it pure and deterministic:

- `DATA`: what the payloads are made of, enums, errors and pydantic models (the data
  converter must see the worker's own classes, and a model class takes milliseconds to
  build);
- `ARITHMETIC`: the SLA calendar and clocks of `domain.sla`, whose caches of compiled
  calendars are per process on purpose;
- `DECISIONS`: the ticket aggregate and the modules it calls, and the workflow's helpers.
  Importing them afresh costs about 20 ms of CPU per new workflow instance (measured by
  replaying a history: 32 ms passed through, 56 ms not), which intake pays per ticket.

So production passes `DECISIONS` through, and CI checks them in the sandbox instead:
every recorded history also replays with `sandbox_runner(check_decisions=True)`
(tests/workflows/test_replay.py). Not passed through: intake (routing, inbound email),
the policy file's loading and checks, `holidays`. tests/workflows/test_sandbox.py asserts
these lists and what each listed module may import. The standard library, `temporalio`
and `pydantic` pass through by the SDK's default.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

DATA = (
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
ARITHMETIC = ("domain.sla",)
DECISIONS = (
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
PASSTHROUGH_MODULES = (*DATA, *ARITHMETIC, *DECISIONS)


def sandbox_runner(*, check_decisions: bool = False) -> SandboxedWorkflowRunner:
    """The runner of every ticket worker and replayer; `check_decisions` (CI's replay)
    imports `DECISIONS` into each run's sandbox, which then checks them as they run."""
    modules = (*DATA, *ARITHMETIC) if check_decisions else PASSTHROUGH_MODULES
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*modules)
    )
