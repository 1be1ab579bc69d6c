"""The stack under test: `ticketflow dev` in a fresh data dir, on free ports, and the
bench's own worker process beside it (`bench.yardstick`: bare workflows and anchors).

Invariants:
- The bench runs exactly what `make run` runs (`ticketflow dev`: Temporal dev
  server, SMTP sink, migrations, worker, API), as one child in its own process
  group, so Ctrl-C reaches only the bench, which then stops the child with
  SIGTERM; `ticketflow dev` stops its own children in order.
- The child is started before the bench creates any thread (the Temporal
  client's runtime): it gets `ticketflow.dev`'s pre-exec hook that makes Linux
  stop it if the bench dies, and such a hook is only safe then.
- No setting of the developer's shell or `.env` leaks in: every ticketflow
  variable is removed from the child's environment, and it runs in the data dir.
  The store is the data dir's SQLite file unless `database_url` is given (the bench's
  `--database-url`, a PostgreSQL database whose schema the bench resets first).
- The yardstick worker and any extra ticket workers (`start_workers`) get the same
  Temporal, store and SMTP sink as `ticketflow dev`'s worker, and are stopped with it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.procstat import parse_dev_pids
from ticketflow import dev, environment
from ticketflow.environment import free_ports

START_TIMEOUT_SECONDS = 240.0  # a first start on a busy two-core machine
STOP_TIMEOUT_SECONDS = 60.0  # `ticketflow dev` gives each of its children 10 s


BENCH_RATE_LIMITS = json.dumps(
    {role: {"per_second": 1000, "burst": 2000} for role in ("service", "agent")}
)
"""The API's per-token rate limit stays on (its cost is part of what is measured) but far
above what the bench sends with its one service and one agent token (about 130/s at most):
a deployment gives a backend that creates in bulk such a limit with `RATE_LIMIT_ROLES`."""
NOT_INHERITED = ("PYTHONDONTWRITEBYTECODE",)
"""Left out of the stack's environment: without bytecode caches, the workflow sandbox
compiles the workflow's modules from source for every new workflow instance (a deployed
image has them: pip compiles what it installs), which is not what production pays."""


def clean_env(**overrides: str) -> dict[str, str]:
    """`ticketflow.environment.clean_env` without `NOT_INHERITED`, the bench's rate limits
    (`BENCH_RATE_LIMITS`), then `overrides`."""
    return environment.clean_env(
        drop=NOT_INHERITED, RATE_LIMIT_ROLES=BENCH_RATE_LIMITS, **overrides
    )


@dataclass(frozen=True)
class Ports:
    temporal: int
    ui: int
    smtp: int
    api: int

    @classmethod
    def free(cls) -> Ports:
        temporal, ui, smtp, api = free_ports(4)
        return cls(temporal=temporal, ui=ui, smtp=smtp, api=api)


class BenchStack:
    """`ticketflow dev` with the dev tokens and the yardstick worker; `start()` returns once the
    API is ready. `worker_settings` go to the ticket worker's environment (e.g.
    `WORKER_MAX_CACHED_WORKFLOWS`)."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        keep: bool = False,
        database_url: str | None = None,
        worker_settings: dict[str, str] | None = None,
    ) -> None:
        self.owns_dir = data_dir is None
        self.data_dir = (data_dir or Path(tempfile.mkdtemp(prefix="ticketflow-bench-"))).resolve()
        self.keep = keep
        self.ports = Ports.free()
        self.database_url = database_url
        self.worker_settings = dict(worker_settings or {})
        self.yardstick_queue = f"bench-{uuid.uuid4().hex[:8]}"
        self._proc: dev.Process | None = None
        self._yardstick: dev.Process | None = None
        self._extra: list[dev.Process] = []

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.ports.temporal}"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def store_url(self) -> str:
        """The store's URL as ticketflow's processes get it."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'tickets.db'}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "dev.log"

    def env(self) -> dict[str, str]:
        store = {"DATABASE_URL": self.database_url} if self.database_url else {}
        return clean_env(
            TICKETFLOW_DATA_DIR=str(self.data_dir),
            TICKETFLOW_DEV_TEMPORAL_PORT=str(self.ports.temporal),
            TICKETFLOW_DEV_UI_PORT=str(self.ports.ui),
            TICKETFLOW_DEV_SMTP_PORT=str(self.ports.smtp),
            API_HOST="127.0.0.1",
            API_PORT=str(self.ports.api),
            **store,
            **self.worker_settings,
        )

    def worker_env(self) -> dict[str, str]:
        """What `ticketflow dev` gives its worker: the same Temporal, store and SMTP sink."""
        return clean_env(
            TICKETFLOW_DATA_DIR=str(self.data_dir),
            TEMPORAL_ADDRESS=self.temporal_address,
            DATABASE_URL=self.store_url,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(self.ports.smtp),
            PYTHONUNBUFFERED="1",
            **self.worker_settings,
        )

    def pids(self) -> dict[str, int]:
        """`temporal`, `worker`, `api`, `smtp-sink` (from `dev.pids`), `yardstick`, and the
        extra ticket workers as `worker+1`, `worker+2`, ..."""
        try:
            pids = parse_dev_pids((self.data_dir / "dev.pids").read_text())
        except OSError:
            pids = {}
        if self._yardstick is not None:
            pids["yardstick"] = self._yardstick.pid
        for index, proc in enumerate(self._extra, start=1):
            pids[f"worker+{index}"] = proc.pid
        return pids

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "ticketflow", "dev"]
        with self.log_file.open("wb") as log:
            # What `dev.spawn(own_group=True)` does, plus a working directory (spawn has no
            # `cwd`): the data dir, so no `.env` file is read.
            self._proc = subprocess.Popen(
                argv,
                cwd=self.data_dir,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
                preexec_fn=dev._die_with_parent(),  # safe: no thread yet (module doc)
            )
        try:
            dev.wait_until(
                "the stack (ticketflow dev)",
                self._ready,
                timeout=timeout,
                watch=[("ticketflow dev", self._proc)],
            )
        except dev.DevError as exc:
            raise dev.DevError(
                f"{exc}; end of {self.log_file}:{dev.log_tail(self.log_file)}"
            ) from None
        yardstick = [
            *(sys.executable, "-m", "bench.yardstick", "--address", self.temporal_address),
            *("--task-queue", self.yardstick_queue, "--database-url", self.store_url),
            *("--smtp-port", str(self.ports.smtp)),
        ]
        self._yardstick = self._spawn(yardstick, "yardstick.log")

    def _spawn(self, argv: list[str], log_name: str) -> dev.Process:
        with (self.data_dir / log_name).open("ab") as log:
            return subprocess.Popen(
                argv,
                cwd=self.data_dir,
                env=self.worker_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
                preexec_fn=dev._die_with_parent(),  # no thread here (safe) or after: see below
            )

    def start_workers(self, processes: int) -> dev.Process:
        """`ticketflow worker --processes N` beside the stack's own worker, until `stop()`.

        Started once threads exist: the pre-exec hook only calls prctl and getppid, which
        need no lock another thread could hold."""
        argv = [sys.executable, "-m", "ticketflow", "worker", "--processes", str(processes)]
        proc = self._spawn(argv, f"worker+{len(self._extra) + 1}.log")
        self._extra.append(proc)
        return proc

    def stop_workers(self) -> None:
        for proc in self._extra:
            dev.stop_process(proc, timeout=STOP_TIMEOUT_SECONDS)
        self._extra.clear()

    def _ready(self) -> bool:
        try:
            response = httpx.get(f"{self.api_url}/readyz", timeout=2.0, trust_env=False)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def stop(self) -> None:
        """Stop the extra workers, the yardstick and `ticketflow dev` (and so everything it
        started); remove the data dir we made."""
        self.stop_workers()
        if self._yardstick is not None:
            dev.stop_process(self._yardstick, timeout=STOP_TIMEOUT_SECONDS)
            self._yardstick = None
        if self._proc is not None:
            dev.stop_process(self._proc, timeout=STOP_TIMEOUT_SECONDS)
            self._proc = None
        if self.owns_dir and not self.keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)
