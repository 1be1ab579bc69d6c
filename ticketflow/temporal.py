"""One way to connect to Temporal and one worker definition, shared by API, worker and tests."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.dispatch import DispatchActivities
from activities.email import EmailActivities
from activities.projection import ProjectionActivities
from workflows.ticket import TicketWorkflow

# Pure modules the workflow sandbox may share with the host instead of
# re-importing them for every workflow run (keeps starting a ticket cheap).
PASSTHROUGH_MODULES = ("domain", "pydantic", "pydantic_core", "holidays", "zoneinfo")


async def connect(
    address: str, namespace: str, *, lazy: bool = False, runtime: Runtime | None = None
) -> Client:
    """A client with the pydantic converter; `runtime` (default: the SDK's) owns its telemetry."""
    return await Client.connect(
        address,
        namespace=namespace,
        data_converter=pydantic_data_converter,
        lazy=lazy,
        runtime=runtime,
    )


def build_worker(
    client: Client,
    task_queue: str,
    *,
    projection: ProjectionActivities,
    email: EmailActivities,
    dispatch: DispatchActivities,
    max_concurrent_activities: int = 100,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[TicketWorkflow],
        activities=[projection.record_ticket, email.send_email, dispatch.dispatch_queue],
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
        ),
        max_concurrent_activities=max_concurrent_activities,
    )
