"""One case's stack, each part a real process it can kill: Temporal, worker, API.

- The Temporal dev server persists to a file in the case's directory and is
  started and checked with `ticketflow.devserver`'s own functions (search attributes
  registered), so a restart uses the same file and the same port.
- The worker and the API are `python -m ticketflow worker|api` with the settings
  in their environment (nothing from the caller's shell or `.env` leaks in: they
  run in the case's directory with every ticketflow variable replaced).
- The SMTP server runs in this process (`faults.mail`); the store is a SQLite
  file in the directory unless the case passes a database URL.
- Every child gets SIGTERM if this process dies (`processes.spawn`); `close()`
  stops what is left, newest first, whatever happened before.
- Children are spawned from the event loop's thread only: `spawn`'s pre-exec
  hook ties a child to the thread that forked it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from faults.mail import SmtpSink
from faults.store import StoreReader
from faults.support import FaultError, eventually, free_port, say
from runtime.processes import Process, log_tail, spawn, stop_process, wait_until
from runtime.temporal import connect
from ticketflow import environment
from ticketflow.dev import DEV_TOKENS
from ticketflow.devserver import start_temporal, temporal_binary, temporal_ready

NAMESPACE = "default"
TASK_QUEUE = "tickets"
START_TIMEOUT_SECONDS = 180.0  # a first start on a busy two-core machine


def clean_env(**settings: str) -> dict[str, str]:
    """The environment of the stack's processes: the caller's ticketflow settings left out
    (`ticketflow.environment`), output unbuffered, then `settings`."""
    return environment.clean_env(PYTHONUNBUFFERED="1", **settings)


class FaultStack:
    def __init__(
        self, directory: Path, *, policy_file: Path, database_url: str | None = None
    ) -> None:
        self.directory = directory.resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        taken: set[int] = set()
        self.temporal_port, self.ui_port, self.smtp_port, self.api_port = (
            free_port(taken) for _ in range(4)
        )
        self.policy_file = policy_file.resolve()
        self.database_url = database_url or f"sqlite+aiosqlite:///{self.directory / 'tickets.db'}"
        self.smtp = SmtpSink(self.smtp_port)
        self.store = StoreReader(self.database_url)
        self.temporal: Process | None = None
        self.worker: Process | None = None
        self.api: Process | None = None
        self._client: Client | None = None
        self._logs: Counter[str] = Counter()
        self._binary = temporal_binary()

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def client(self) -> Client:
        if self._client is None:
            raise FaultError("not connected to Temporal yet")
        return self._client

    def env(self) -> dict[str, str]:
        return clean_env(
            TICKETFLOW_DATA_DIR=str(self.directory / "data"),
            DATABASE_URL=self.database_url,
            TEMPORAL_ADDRESS=self.temporal_address,
            TEMPORAL_NAMESPACE=NAMESPACE,
            TEMPORAL_TASK_QUEUE=TASK_QUEUE,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(self.smtp_port),
            TICKETFLOW_CONFIG=str(self.policy_file),
            TICKETFLOW_TOKENS=DEV_TOKENS,
            API_HOST="127.0.0.1",
            API_PORT=str(self.api_port),
        )

    def _log(self, name: str) -> Path:
        self._logs[name] += 1
        return self.directory / f"{name}-{self._logs[name]}.log"

    def _spawn_python(self, name: str, *args: str) -> Process:
        """`python -m <args>` in the case's directory (so no `.env` is read), logging to a file."""
        chdir = shutil.which("env") or "/usr/bin/env"
        argv = [chdir, "-C", str(self.directory), sys.executable, "-m", *args]
        with self._log(name).open("wb") as log:
            return spawn(argv, env=self.env(), output=log)  # `env` execs: same pid

    def tail(self, name: str) -> str:
        """The end of the newest log of a part, for error messages."""
        return log_tail(self.directory / f"{name}-{self._logs[name]}.log")

    # -- starting parts ------------------------------------------------------------------

    async def start(self) -> None:
        say(f"starting a stack in {self.directory}")
        self.smtp.start()
        await self.start_temporal()
        self._client = await connect(self.temporal_address, NAMESPACE)
        await self.migrate()
        await self.start_worker()
        await self.start_api()

    async def start_temporal(self) -> float:
        """Start the dev server on its file and port; the time it was ready (search attributes
        registered)."""
        log = self._log("temporal")
        self.temporal = start_temporal(
            self._binary,
            db_file=self.directory / "temporal.db",
            log_file=log,
            port=self.temporal_port,
            ui_port=self.ui_port,
            namespace=NAMESPACE,
        )
        binary, address, proc = self._binary, self.temporal_address, self.temporal
        try:
            await asyncio.to_thread(
                wait_until,
                "the Temporal dev server",
                lambda: temporal_ready(binary, address, NAMESPACE),
                timeout=START_TIMEOUT_SECONDS,
                watch=[("temporal", proc)],
            )
        except Exception as err:
            raise FaultError(f"{err}; end of {log}:{log_tail(log)}") from err
        return time.time()

    async def migrate(self) -> None:
        proc = self._spawn_python("migrate", "ticketflow", "migrate")
        code = await asyncio.to_thread(proc.wait, START_TIMEOUT_SECONDS)
        if code:
            raise FaultError(f"migrations exited with {code}:{self.tail('migrate')}")

    async def start_worker(self) -> float:
        """Start a worker; the time its pollers reached Temporal."""
        self.worker = proc = self._spawn_python("worker", "ticketflow", "worker")

        async def polling() -> tuple[bool, str]:
            if proc.poll() is not None:
                raise FaultError(f"the worker exited with {proc.returncode}:{self.tail('worker')}")
            return await self.worker_polling(proc.pid), f"pid {proc.pid}"

        await eventually("the worker polling", polling, limit=START_TIMEOUT_SECONDS, interval=0.2)
        return time.time()

    async def worker_polling(self, pid: int) -> bool:
        """Whether the worker with this pid polls both the workflow and the activity queue."""
        prefix = f"{pid}@"
        for kind in (
            TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        ):
            request = DescribeTaskQueueRequest(
                namespace=NAMESPACE, task_queue=TaskQueue(name=TASK_QUEUE), task_queue_type=kind
            )
            try:
                described = await self.client.workflow_service.describe_task_queue(request)
            except Exception:  # Temporal not answering yet counts as "not polling"
                return False
            if not any(p.identity.startswith(prefix) for p in described.pollers):
                return False
        return True

    async def start_api(self) -> None:
        self.api = proc = self._spawn_python("api", "ticketflow", "api")

        async def ready() -> tuple[bool, str]:
            if proc.poll() is not None:
                raise FaultError(f"the API exited with {proc.returncode}:{self.tail('api')}")
            try:
                async with httpx.AsyncClient(trust_env=False, timeout=5.0) as http:
                    answer = await http.get(f"{self.api_url}/readyz")
            except httpx.HTTPError as err:
                return False, type(err).__name__
            return answer.status_code == 200, answer.text[:200]

        await eventually("the API ready", ready, limit=START_TIMEOUT_SECONDS, interval=0.2)

    # -- faults --------------------------------------------------------------------------

    @staticmethod
    def kill(proc: Process | None) -> None:
        """SIGKILL and reap: no grace, no cleanup, as a crash or the OOM killer."""
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()

    def check_alive(self) -> list[str]:
        """The parts that should run but exited, each with the end of its log."""
        dead = []
        for name, proc in (("temporal", self.temporal), ("worker", self.worker), ("api", self.api)):
            if proc is not None and proc.poll() is not None:
                dead.append(f"{name} exited with {proc.returncode}:{self.tail(name)}")
        return dead

    async def close(self) -> None:
        """Stop everything still running, newest first; never raises."""
        for proc in (self.api, self.worker, self.temporal):
            if proc is not None:
                await asyncio.to_thread(stop_process, proc)
        with contextlib.suppress(Exception):  # a port still open is not worth a teardown error
            self.smtp.stop()
        self.store.close()
