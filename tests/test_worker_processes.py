"""`ticketflow worker --processes N`: N real worker processes polling one task queue, each
with its own Temporal runtime (seen on its own metrics port), behind a parent that forwards
stop signals and stops the rest when one of them dies."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from runtime.settings import REPO_ROOT, Settings
from tests.conftest import eventually
from tests.test_worker_metrics import sdk_metrics, target, total
from ticketflow.environment import free_port

STOP_SECONDS = 30


def children_of(pid: int) -> list[int]:
    """The pids whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(entry.name))
    return found


@contextmanager
def worker_processes(
    count: int, env: WorkflowEnvironment, task_queue: str, database_url: str, port: int
) -> Iterator[subprocess.Popen[bytes]]:
    settings = {alias for f in Settings.model_fields.values() if (alias := f.alias)}
    environ = {k: v for k, v in os.environ.items() if k not in settings}
    environ |= {
        "TEMPORAL_ADDRESS": target(env),
        "TEMPORAL_TASK_QUEUE": task_queue,
        "DATABASE_URL": database_url,
        "WORKER_METRICS_PORT": str(port),
        "PYTHONPATH": str(REPO_ROOT),
    }
    parent = subprocess.Popen(
        [sys.executable, "-m", "ticketflow", "worker", "--processes", str(count)],
        cwd=REPO_ROOT,
        env=environ,
    )
    try:
        yield parent
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.wait()


async def polling(port: int, task_queue: str) -> bool:
    """The worker whose runtime serves `port` polls `task_queue` for workflow tasks."""
    try:
        found = await sdk_metrics(port)
    except httpx.HTTPError:
        return False  # not serving yet
    slots = found.get("temporal_worker_task_slots_available", [])
    return total(slots, task_queue=task_queue, worker_type="WorkflowWorker") > 0


async def all_polling(ports: list[int], task_queue: str) -> bool:
    return all(await asyncio.gather(*(polling(p, task_queue) for p in ports)))


async def wait_for_exit(proc: subprocess.Popen[bytes]) -> int:
    async def exited() -> bool:
        return proc.poll() is not None

    await eventually(exited, timeout=STOP_SECONDS, interval=0.1)
    assert proc.returncode is not None
    return proc.returncode


async def test_n_processes_poll_and_stop_together_on_sigterm(
    time_env: WorkflowEnvironment, task_queue: str, sqlite_url: str
) -> None:
    port = free_port()
    ports = [port, port + 1]
    with worker_processes(2, time_env, task_queue, sqlite_url, port) as parent:
        await eventually(lambda: all_polling(ports, task_queue), timeout=60, interval=0.5)
        children = children_of(parent.pid)
        assert len(children) == 2

        parent.send_signal(signal.SIGTERM)

        assert await wait_for_exit(parent) == 0
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]


async def test_one_process_dying_stops_the_others_and_fails(
    time_env: WorkflowEnvironment, task_queue: str, sqlite_url: str
) -> None:
    port = free_port()
    with worker_processes(2, time_env, task_queue, sqlite_url, port) as parent:
        await eventually(
            lambda: all_polling([port, port + 1], task_queue), timeout=60, interval=0.5
        )
        first, second = sorted(children_of(parent.pid))

        os.kill(first, signal.SIGKILL)

        assert await wait_for_exit(parent) == 128 + signal.SIGKILL
        assert not Path(f"/proc/{second}").exists()
