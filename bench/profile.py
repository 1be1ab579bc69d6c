"""`--profile DIR`: py-spy attached to the ticket worker and the API during our intake batch,
and what their samples say.

py-spy (a dev extra) samples each process `RATE` times a second without stopping it
(`--nonblocking`), children included (`--subprocesses`), idle threads left out, and writes
the stacks in its raw (collapsed) format: one line per distinct stack, `frame;frame;...
count`, each frame `function (file:line)`. `summarise` turns a file into shares of the
non-idle samples: per function, *inclusive* (the function is anywhere on the stack) and
*self* (it is the innermost frame), and per package of the innermost frame.
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
from ticketflow.settings import REPO_ROOT

RATE = 100
STOP_TIMEOUT_SECONDS = 30.0
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


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
    root = str(REPO_ROOT) + "/"
    return path.removeprefix(root)


def frame_key(frame: str) -> tuple[str, str]:
    """(`function (short file)`, package) of one collapsed frame."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), frame.strip()
    file = short_file(match["file"])
    package = file.split("/", 1)[0].removesuffix(".py")
    return f"{match['function']} ({file})", package


@dataclass
class ProfileSummary:
    samples: int = 0
    inclusive: Counter[str] = field(default_factory=Counter)
    self_time: Counter[str] = field(default_factory=Counter)
    packages: Counter[str] = field(default_factory=Counter)

    def shares(self, counter: Counter[str], top: int) -> list[tuple[str, float]]:
        return [(k, round(100 * v / self.samples, 1)) for k, v in counter.most_common(top)]

    def to_json(self, top: int = 25) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "inclusive_percent": self.shares(self.inclusive, top),
            "self_percent": self.shares(self.self_time, top),
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
            if not f.startswith(("process ", "thread ")) and f.strip()
        ]
        if not frames:
            continue
        summary.samples += count
        for key in {key for key, _ in frames}:
            summary.inclusive[key] += count
        leaf, package = frames[-1]
        summary.self_time[leaf] += count
        summary.packages[package] += count
    return summary


class Profiler:
    """py-spy on each named pid until `stop()`; the raw stacks go to `<dir>/<name>.txt`."""

    def __init__(self, directory: Path, pids: dict[str, int], rate: int = RATE) -> None:
        self.directory = directory
        self.pids = pids
        self.rate = rate
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        binary = py_spy()
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, pid in self.pids.items():
            argv = [
                *(str(binary), "record", "--nonblocking", "--subprocesses", "-r", str(self.rate)),
                *("-f", "raw", "-o", str(self.directory / f"{name}.txt"), "--pid", str(pid)),
            ]
            log = (self.directory / f"{name}.py-spy.log").open("wb")
            self._procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
            log.close()

    def stop(self) -> dict[str, dict[str, Any]]:
        """Stop sampling (py-spy writes its file on SIGINT); each process's summary."""
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        summaries = {}
        for name, proc in self._procs.items():
            try:
                proc.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raw = self.directory / f"{name}.txt"
            if raw.is_file():
                summaries[name] = summarise(raw.read_text()).to_json()
        self._procs.clear()
        return summaries


def profile_rows(summary: dict[str, Any], key: str, top: int = 12) -> list[tuple[str, ...]]:
    return [(name, f"{share:.1f}") for name, share in summary[key][:top]]
