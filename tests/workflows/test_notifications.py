"""Every email goes out exactly once: SMTP refusals, an SMTP server that is down, a worker killed
between the server accepting a message and the outbox recording it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from store.engine import create_engine, create_sessionmaker
from store.models import OutboxEntry
from tests.conftest import Mailbox, _Handler, eventually
from tests.workflows.harness import running_worker, started
from ticketflow.environment import free_port
from workflows.ticket import TicketWorkflow, TicketWorkflowInput

REPO = Path(__file__).resolve().parents[2]


async def _outbox(database_url: str) -> list[OutboxEntry]:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return list((await session.execute(select(OutboxEntry))).scalars())
    finally:
        await engine.dispose()


async def _start(env: WorkflowEnvironment, task_queue: str) -> str:
    ticket_id = f"TKT-{uuid.uuid4().hex[:8]}"
    now = await env.get_current_time()
    await env.client.start_workflow(
        TicketWorkflow.run,
        TicketWorkflowInput(started=started(ticket_id, now)),
        id=ticket_id,
        task_queue=task_queue,
    )
    return ticket_id


async def _sent(database_url: str) -> bool:
    return [e.status for e in await _outbox(database_url)] == ["sent"]


async def test_refused_attempts_are_retried_and_the_email_arrives_once(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    box.refuse = ["451 4.7.1 greylisted, try again", "421 4.3.2 busy"]
    async with running_worker(time_env.client, task_queue, database_url, port):
        await _start(time_env, task_queue)
        await box.wait_for(1, timeout=60)
        await eventually(lambda: _sent(database_url))
        await time_env.sleep(timedelta(minutes=5))
    [entry] = await _outbox(database_url)
    assert len(box.messages) == 1
    assert entry.attempts == 3  # two refused at DATA, the third accepted


async def test_smtp_server_down_then_back_loses_nothing_and_sends_once(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str
) -> None:
    port = free_port()
    box = Mailbox()
    async with running_worker(time_env.client, task_queue, database_url, port):
        await _start(time_env, task_queue)
        await asyncio.sleep(1)  # a few attempts fail: nothing listens on the port
        controller = Controller(
            _Handler(box, asyncio.get_running_loop()), hostname="127.0.0.1", port=port
        )
        controller.start()
        try:
            await time_env.sleep(timedelta(minutes=2))  # past the retry backoff
            await box.wait_for(1, timeout=60)
            await eventually(lambda: _sent(database_url))
            await time_env.sleep(timedelta(minutes=10))
        finally:
            controller.stop()
    assert len(box.messages) == 1


@pytest.fixture
def worker_env(database_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(REPO)}


def _spawn_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.workflows.worker_proc"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_worker_killed_between_smtp_accept_and_record_sends_once(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    database_url: str,
    worker_env: dict[str, str],
) -> None:
    box = Mailbox()
    port = free_port()
    env = {
        **worker_env,
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": task_queue,
        "SMTP_PORT": str(port),
    }
    first = _spawn_worker(env)

    class KillBeforeAccepting(_Handler):
        """Keeps the message, but kills the worker before answering 250 to its DATA."""

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            if first.poll() is None:
                first.send_signal(signal.SIGKILL)
                first.wait()
            return await super().handle_DATA(server, session, envelope)

    controller = Controller(
        KillBeforeAccepting(box, asyncio.get_running_loop()), hostname="127.0.0.1", port=port
    )
    controller.start()
    second: subprocess.Popen[bytes] | None = None
    try:
        await _start(dev_env, task_queue)
        await box.wait_for(1, timeout=60)
        assert first.wait(timeout=10) == -signal.SIGKILL
        [entry] = await _outbox(database_url)
        assert entry.status == "committing"  # the server has it; the outbox could not say so
        second = _spawn_worker(env)
        # On the real server, in real time: the 10 s heartbeat timeout notices the dead
        # worker, and the retry on the new worker finds "committing".
        await eventually(lambda: _sent(database_url), timeout=90, interval=0.5)
        await asyncio.sleep(2)  # anything sent twice would have arrived by now
    finally:
        controller.stop()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    [entry] = await _outbox(database_url)
    assert len(box.messages) == 1
    assert entry.error is not None
    assert "unconfirmed" in entry.error
