"""One way to connect to Temporal (the pydantic data converter, the payload codec), shared by
the API, the worker, the commands and the tests, and the calls the API makes beside starting
workflows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.converter import PayloadCodec
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from runtime.codec import data_converter

T = TypeVar("T")


async def connect(
    address: str,
    namespace: str,
    *,
    lazy: bool = False,
    runtime: Runtime | None = None,
    codec: PayloadCodec | None = None,
) -> Client:
    """A client with the pydantic converter and `codec` (`runtime.codec.settings_codec`: the
    payload encryption) over its payloads; `runtime` (default: the SDK's) owns its telemetry.
    A worker built on this client encodes and decodes with the same codec."""
    return await Client.connect(
        address,
        namespace=namespace,
        data_converter=data_converter(codec),
        lazy=lazy,
        runtime=runtime,
    )


async def workflow_exists(client: Client, workflow_id: str) -> bool:
    """Whether any run of `workflow_id` exists, running or ended (a closed ticket past its
    window, one an operator terminated). Asks the service directly: nothing to decode, so
    it works whatever the search attributes hold (the time-skipping test server keeps an
    unset Datetime attribute as a null the SDK cannot decode in `describe()`)."""
    request = DescribeWorkflowExecutionRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
    )
    try:
        await client.workflow_service.describe_workflow_execution(request)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


NOT_READY_RETRIES = 5


def _not_ready(err: RPCError) -> bool:
    details = err.grpc_status.details
    return err.status == RPCStatusCode.FAILED_PRECONDITION and any(
        detail.type_url.endswith(".WorkflowNotReadyFailure") for detail in details
    )


async def retrying_not_ready(call: Callable[[], Awaitable[T]]) -> T:
    """Run `call` (an Update sent with a fixed Update id), again if the workflow task that
    was to take it failed: the server answers "workflow not ready" when an Update lands in
    the task that continues the workflow as new, and the Update then belongs to the next
    run. The same Update id makes a retry safe."""
    for attempt in range(NOT_READY_RETRIES):
        try:
            return await call()
        except RPCError as err:
            if not _not_ready(err) or attempt == NOT_READY_RETRIES - 1:
                raise
            await asyncio.sleep(0.1 * 2**attempt)
    raise AssertionError("unreachable")
