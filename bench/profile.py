"""`--profile DIR`: py-spy attached to the ticket worker and the API during our intake batch,
and what their samples say.

py-spy (a dev extra) samples each process `RATE` times a second without stopping it
(`--nonblocking`), children included (`--subprocesses`), idle threads left out, and writes
the stacks in its raw (collapsed) format: one line per distinct stack, `frame;frame;...
count`, each frame `function (file:line)`. Each process is sampled twice at once: every
non-idle thread (`<name>.txt`), and only the thread holding the GIL (`<name>.gil.txt`):
the Python time of the one core a process can use. (A thread blocked inside C without the
GIL, such as aiosqlite's thread waiting for its next statement, shows in the first only.)

`summarise` turns a file into shares of its samples: per *category* (the first rule of
`CATEGORIES` a frame of the stack matches: which task or part of the SDK the time went
to), per function of ours (inclusive: the function is anywhere on the stack), and per
package of the innermost frame (self).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load import BenchError
from runtime.settings import REPO_ROOT

RATE = 50
STOP_TIMEOUT_SECONDS = 30.0
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
OURS = ("domain/", "workflows/", "activities/", "store/", "runtime/", "api/", "worker.py")
"""Files of ticketflow itself (short paths, see `short_file`); the entry points (`main`) are
left out: every sample is under them."""
ENTRY_POINTS = ("main (worker.py)",)
TASKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("new workflow instance (sandbox imports)", ("SandboxedWorkflowRunner.create_instance",
                                                 "_create_workflow_instance")),
    ("workflow activation (sandboxed code)", ("_Instance.activate", "_RunningWorkflow.activate")),
    ("activity send_email", ("EmailActivities.send_email (",)),
    ("activity send_emails", ("EmailActivities.send_emails (",)),
    ("activity record_ticket", ("ProjectionActivities.record_ticket",)),
    ("activity dispatch_queue", ("DispatchActivities.dispatch_queue",)),
    ("payload conversion (converter, visitor)", ("PayloadVisitor.visit", "DataConverter.",
                                                 "_external_store_payload",
                                                 "_external_retrieve_payload")),
    ("activity heartbeats", ("_heartbeat_async",)),
    ("API: create a ticket", ("TicketService.create",)),
    ("API: other routes", ("(api/routes/",)),
    ("SQLite thread (statements, commits, waits)", ("_connection_worker_thread",)),
    ("event loop waiting in epoll", ("EpollSelector.select",)),
)  # fmt: skip
"""Which task the time went to: the first rule a frame of the stack matches."""
BY_LEAF: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Temporal SDK (poll, complete, RPC)", ("temporalio",)),
    ("SQLAlchemy (outside those tasks)", ("sqlalchemy", "greenlet")),
    ("pydantic (outside those tasks)", ("pydantic", "pydantic_core")),
    ("HTTP (uvicorn, starlette, h11, fastapi)", ("uvicorn", "starlette", "h11", "fastapi",
                                                 "anyio")),
    ("event loop, sockets, threads", ("asyncio", "selectors", "socket", "threading",
                                      "concurrent", "ssl", "queue")),
)  # fmt: skip
"""Otherwise, by the package of the innermost frame."""
OTHER = "other"


def py_spy() -> Path:
    beside = Path(sys.executable).parent / "py-spy"
    if beside.is_file():
        return beside
    if found := shutil.which("py-spy"):
        return Path(found)
    raise BenchError("--profile needs py-spy: install the dev extras (make test does)")


def short_file(path: str) -> str:
    """`temporalio/worker/_workflow.py`, `asyncio/events.py`, `workflows/ticket.py`."""
    for anchor in ("site-packages/", "/lib/python3."):
        if anchor in path:
            rest = path.split(anchor, 1)[1]
            return rest.split("/", 1)[1] if anchor.startswith("/lib") else rest
    return path.removeprefix(str(REPO_ROOT) + "/")


def frame_key(frame: str) -> tuple[str, str]:
    """(`function (short file)`, package) of one collapsed frame."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), frame.strip()
    file = short_file(match["file"])
    return f"{match['function']} ({file})", file.split("/", 1)[0].removesuffix(".py")


def category(frames: list[tuple[str, str]]) -> str:
    keys = [key for key, _ in frames]
    for name, patterns in TASKS:
        if any(pattern in key for key in keys for pattern in patterns):
            return name
    leaf_package = frames[-1][1]
    for name, packages in BY_LEAF:
        if leaf_package in packages:
            return name
    return f"{OTHER} ({leaf_package})"


def is_ours(key: str) -> bool:
    return any(f"({prefix}" in key for prefix in OURS) and key not in ENTRY_POINTS


@dataclass
class ProfileSummary:
    samples: int = 0
    categories: Counter[str] = field(default_factory=Counter)
    ours: Counter[str] = field(default_factory=Counter)
    packages: Counter[str] = field(default_factory=Counter)

    def shares(self, counter: Counter[str], top: int) -> list[tuple[str, float]]:
        total = max(self.samples, 1)
        return [(k, round(100 * v / total, 1)) for k, v in counter.most_common(top)]

    def to_json(self, top: int = 20) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "category_percent": self.shares(self.categories, top),
            "ours_inclusive_percent": self.shares(self.ours, top),
            "package_self_percent": self.shares(self.packages, top),
        }


def summarise(text: str) -> ProfileSummary:
    summary = ProfileSummary()
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [
            frame_key(f)
            for f in stack.split(";")
            if f.strip() and not f.startswith(("process ", "thread "))
        ]
        if not frames:
            continue
        keys = [key for key, _ in frames]
        summary.samples += count
        summary.categories[category(frames)] += count
        for key in {key for key in keys if is_ours(key)}:
            summary.ours[key] += count
        summary.packages[frames[-1][1]] += count
    return summary


class Profiler:
    """py-spy on each named pid until `stop()`: `<dir>/<name>.txt` (every non-idle thread)
    and `<dir>/<name>.gil.txt` (the thread holding the GIL)."""

    def __init__(self, directory: Path, pids: dict[str, int], rate: int = RATE) -> None:
        self.directory = directory
        self.pids = pids
        self.rate = rate
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        binary = py_spy()
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, pid in self.pids.items():
            for variant, extra in ((name, []), (f"{name}.gil", ["--gil"])):
                argv = [
                    *(str(binary), "record", "--nonblocking", "--subprocesses", *extra),
                    *("-r", str(self.rate), "-f", "raw", "--pid", str(pid)),
                    *("-o", str(self.directory / f"{variant}.txt")),
                ]
                with (self.directory / f"{variant}.py-spy.log").open("wb") as log:
                    self._procs[variant] = subprocess.Popen(
                        argv, stdout=log, stderr=subprocess.STDOUT
                    )

    def stop(self) -> dict[str, dict[str, Any]]:
        """Stop sampling (py-spy writes its file on SIGINT); each file's summary."""
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        summaries = {}
        for variant, proc in self._procs.items():
            try:
                proc.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raw = self.directory / f"{variant}.txt"
            if raw.is_file():
                summaries[variant] = summarise(raw.read_text()).to_json()
        self._procs.clear()
        return summaries


def profile_rows(summary: dict[str, Any], key: str, top: int = 12) -> list[tuple[str, ...]]:
    return [(name, f"{share:.1f}") for name, share in summary[key][:top]]
