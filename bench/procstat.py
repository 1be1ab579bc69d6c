"""Memory and CPU of the stack's processes, read from `/proc` (Linux only).

The pids come from `dev.pids` in the stack's data dir, which `ticketflow dev`
writes as `<name> <pid>` lines (`temporal`, `smtp-sink`, `worker`, `api`).
A named process counts with its descendants (`read_tree`): `ticketflow worker
--processes N` is a parent and N workers, and its RSS and CPU are theirs together.
`Sampler` reads VmRSS and CPU time of the named processes every `interval`
seconds, labelling each sample with the benchmark's current phase; the summary
per phase gives the median and peak RSS and the CPU used (in % of one core).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SAMPLE_SECONDS = 0.5
PEAK_SPAN_SECONDS = 2.0
MIB = 1024 * 1024


def parse_dev_pids(text: str) -> dict[str, int]:
    """`{"temporal": 123, "worker": 456, ...}` from the lines of `dev.pids`."""
    pids: dict[str, int] = {}
    for line in text.splitlines():
        name, _, pid = line.strip().partition(" ")
        if name and pid.strip().isdigit():
            pids[name] = int(pid)
    return pids


def parse_status_kib(text: str, field_name: str) -> int | None:
    """A `kB` field of `/proc/<pid>/status` (e.g. `VmRSS`, `VmHWM`) in bytes, or None."""
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name == field_name:
            number, _, unit = value.strip().partition(" ")
            return int(number) * (1024 if unit.strip() == "kB" else 1)
    return None


def parse_cpu_ticks(stat: str) -> int:
    """utime + stime (clock ticks) from `/proc/<pid>/stat`; the name may hold spaces."""
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5), from `state` (3)


def parse_machine_ticks(stat: str) -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs from the `cpu` line of `/proc/stat`."""
    for line in stat.splitlines():
        if line.startswith("cpu "):
            ticks = [int(v) for v in line.split()[1:]]
            idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
            total = sum(ticks[:8])  # guest time is already counted in user
            return total - idle, total
    raise ValueError("no cpu line in /proc/stat")


def machine_ticks() -> tuple[int, int] | None:
    try:
        return parse_machine_ticks(Path("/proc/stat").read_text())
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class Reading:
    rss: int
    """bytes"""
    cpu_seconds: float


def read(pid: int) -> Reading | None:
    """The process's RSS and CPU time now, or None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return Reading(
        rss=parse_status_kib(status, "VmRSS") or 0,
        cpu_seconds=parse_cpu_ticks(stat) / os.sysconf("SC_CLK_TCK"),
    )


def children(pid: int) -> list[int]:
    """The pids of `pid`'s children (from every thread's `children` file); [] if it is gone."""
    found: list[int] = []
    try:
        threads = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for thread in threads:
        try:
            found += [int(child) for child in (thread / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return found


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    pids, pending = [], [pid]
    while pending:
        current = pending.pop()
        pids.append(current)
        pending += children(current)
    return pids


def read_tree(pid: int) -> Reading | None:
    """RSS and CPU time of `pid` and its descendants together, or None if `pid` is gone.

    A descendant that exits takes its CPU time with it (unless its parent reaped it, which
    adds it to the parent's `cutime`, not read here): compare readings of a stable tree."""
    root = read(pid)
    if root is None:
        return None
    rss, cpu = root.rss, root.cpu_seconds
    for descendant in tree(pid)[1:]:
        if (reading := read(descendant)) is not None:
            rss, cpu = rss + reading.rss, cpu + reading.cpu_seconds
    return Reading(rss=rss, cpu_seconds=cpu)


def peak_rss(pid: int) -> int | None:
    """VmHWM: the highest RSS of the process's life, in bytes."""
    try:
        return parse_status_kib(Path(f"/proc/{pid}/status").read_text(), "VmHWM")
    except OSError:
        return None


@dataclass(frozen=True)
class Sample:
    at: float
    """`time.monotonic()`"""
    phase: str
    readings: dict[str, Reading]
    machine: tuple[int, int] | None = None
    """(busy, total) ticks of all CPUs: how busy the machine was, whoever used it"""


@dataclass
class Sampler:
    """Samples the named processes until stopped; `phase` labels the samples taken from now."""

    pids: dict[str, int]
    interval: float = SAMPLE_SECONDS
    phase: str = "start"
    samples: list[Sample] = field(default_factory=list)

    def sample(self) -> None:
        readings = {name: r for name, pid in self.pids.items() if (r := read_tree(pid)) is not None}
        self.samples.append(Sample(time.monotonic(), self.phase, readings, machine_ticks()))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
        self.sample()

    def cpu_percent(self, name: str, seconds: float) -> float | None:
        """CPU of `name` over about the last `seconds`, in % of one core (None: too few samples)."""
        recent = [s for s in self.samples if name in s.readings]
        if len(recent) < 2:
            return None
        last = recent[-1]
        first = next((s for s in recent if s.at >= last.at - seconds), recent[0])
        if last.at - first.at < seconds / 2:
            return None
        used = last.readings[name].cpu_seconds - first.readings[name].cpu_seconds
        return 100 * used / (last.at - first.at)


def peak_cpu_percent(
    samples: list[Sample], name: str, span: float = PEAK_SPAN_SECONDS
) -> float | None:
    """The highest CPU of `name` over any `span` seconds between samples, in % of one core."""
    mine = [s for s in samples if name in s.readings]
    times = [s.at for s in mine]
    peak: float | None = None
    for end in mine:
        i = bisect.bisect_right(times, end.at - span) - 1
        if i < 0:
            continue
        begin = mine[i]
        used = end.readings[name].cpu_seconds - begin.readings[name].cpu_seconds
        rate = 100 * used / (end.at - begin.at)
        peak = rate if peak is None else max(peak, rate)
    return peak


def phase_summary(samples: list[Sample]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per phase, per process: median and max RSS (MiB), CPU % of one core (on average and
    at its peak over `PEAK_SPAN_SECONDS`), seconds covered;
    and `machine`: how busy all CPUs were, in % of all of them.

    A phase's CPU is measured from the last sample before it to its own last sample, so
    consecutive phases share no interval and miss none."""
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    previous: Sample | None = None
    for phase in dict.fromkeys(s.phase for s in samples):  # in order of appearance
        own = [s for s in samples if s.phase == phase]
        start = previous or own[0]
        per_process: dict[str, dict[str, Any]] = {}
        for name in own[-1].readings:
            rss = [s.readings[name].rss for s in own if name in s.readings]
            wall = own[-1].at - start.at
            cpu = None
            if name in start.readings and wall > 0:
                used = own[-1].readings[name].cpu_seconds - start.readings[name].cpu_seconds
                cpu = round(100 * used / wall, 1)
            peak = peak_cpu_percent([start, *own] if start is not own[0] else own, name)
            per_process[name] = {
                "rss_median_mib": round(statistics.median(rss) / MIB, 1),
                "rss_max_mib": round(max(rss) / MIB, 1),
                "cpu_percent": cpu,
                "cpu_peak_percent": None if peak is None else round(peak, 1),
                "seconds": round(wall, 1),
            }
        if start.machine and own[-1].machine and own[-1].machine[1] > start.machine[1]:
            busy = own[-1].machine[0] - start.machine[0]
            per_process["machine"] = {
                "busy_percent": round(100 * busy / (own[-1].machine[1] - start.machine[1]), 1)
            }
        summary[phase] = per_process
        previous = own[-1]
    return summary
