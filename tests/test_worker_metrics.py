"""The worker's Temporal SDK metrics, scraped from the Prometheus endpoint its runtime serves."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import worker
from runtime.settings import Settings
from runtime.temporal import connect
from tests.conftest import eventually
from ticketflow.environment import free_port


@workflow.defn
class PingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"pong {name}"


Samples = list[tuple[dict[str, str], float]]


async def sdk_metrics(port: int) -> dict[str, Samples]:
    """The value samples of every `temporal_*` counter and gauge, by metric name, from the
    runtime's endpoint (the text must parse; the parser names counter samples `*_total`)."""
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    response.raise_for_status()
    found: dict[str, Samples] = {}
    for family in text_string_to_metric_families(response.text):
        if family.name.startswith("temporal_") and family.type in ("counter", "gauge"):
            values = found.setdefault(family.name, [])
            values.extend((sample.labels, sample.value) for sample in family.samples)
    return found


def total(samples: Samples, **labels: str) -> float:
    return sum(v for got, v in samples if all(got.get(k) == w for k, w in labels.items()))


def target(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


async def test_runtime_serves_the_sdk_metrics(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    port = free_port()
    runtime = worker.metrics_runtime(port)
    assert runtime is not None
    client = await connect(target(time_env), "default", runtime=runtime)
    ping = Worker(
        client,
        task_queue=task_queue,
        workflows=[PingWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    async with ping:
        result = await client.execute_workflow(
            PingWorkflow.run, "metrics", id=f"ping-{uuid.uuid4()}", task_queue=task_queue
        )
    assert result == "pong metrics"

    async def completed() -> bool:
        found = await sdk_metrics(port)
        done = found.get("temporal_workflow_completed", [])
        return total(done, task_queue=task_queue, workflow_type="PingWorkflow") == 1

    await eventually(completed, timeout=10)
    found = await sdk_metrics(port)
    assert total(found["temporal_request"], operation="StartWorkflowExecution") >= 1


async def test_worker_serves_metrics_on_its_configured_port(
    time_env: WorkflowEnvironment, task_queue: str, sqlite_url: str
) -> None:
    port = free_port()
    settings = Settings.model_validate(
        {
            "DATABASE_URL": sqlite_url,
            "TEMPORAL_ADDRESS": target(time_env),
            "TEMPORAL_TASK_QUEUE": task_queue,
            "WORKER_METRICS_PORT": port,
        }
    )
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(settings, stop))
    try:

        async def polling() -> bool:
            try:
                found = await sdk_metrics(port)
            except httpx.ConnectError:
                return False  # the runtime is not serving yet
            slots = found.get("temporal_worker_task_slots_available", [])
            return total(slots, task_queue=task_queue, worker_type="WorkflowWorker") > 0

        await eventually(polling, timeout=20, interval=0.2)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=30)
    assert worker.metrics_runtime(None) is None
