"""The dev stack's supervisor: children watched, restarted after a backoff, stopped in order.

Invariant: `Stack` restarts a child that dies only after a delay (`Backoff`, never zero,
doubling up to `Backoff.cap`), so a child that dies at every start is never restarted in a
busy loop; its signal handlers only count, and every wait polls that count, so a stop
signal is acted on within `POLL_SECONDS`.
"""

from __future__ import annotations

import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from runtime.processes import (
    POLL_SECONDS,
    DevError,
    Process,
    describe_exit,
    stop_process,
    wait_until,
)


def say(message: str, *, error: bool = False) -> None:
    print(f"ticketflow dev: {message}", file=sys.stderr if error else sys.stdout, flush=True)


def ensure_port_free(host: str, port: int, what: str, setting: str) -> None:
    """Fail before starting anything if `port` is taken: a wait for it would meet a stranger."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise DevError(
                f"{what} port {host}:{port} is taken ({exc.strerror}); stop what holds it "
                f"(another `make run`?) or set {setting}"
            ) from None


def _duration(seconds: float) -> str:
    """`0.25 s`, `12 s`, `2 min`, `3 min 12 s`, `2 h 5 min`: as a person would say it."""
    if seconds < 10:
        return f"{seconds:.2g} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min" + (f" {whole % 60} s" if whole % 60 else "")
    return f"{whole // 3600} h {whole % 3600 // 60} min"


@dataclass(frozen=True)
class Backoff:
    """The wait before restarting a child that died: `first` seconds, doubling with each
    further quick death up to `cap`. A child that stayed up `reset_after` seconds or more was
    not crash-looping, so its next wait is `first` again."""

    first: float = 1.0
    cap: float = 30.0
    reset_after: float = 60.0

    def delay(self, quick_deaths: int) -> float:
        """The wait after a death that follows `quick_deaths` quick deaths in a row."""
        return min(self.cap, self.first * 2.0 ** min(quick_deaths, 64))


@dataclass
class Child:
    """One part of the stack: its process now, how to start it again, its restart state."""

    name: str
    proc: Process
    restart: Callable[[], Process]
    hint: str = ""  # ends the line that reports its death, e.g. where its log is
    started_at: float = field(default_factory=time.monotonic)
    restart_at: float | None = None  # while it is dead: when to start it again (monotonic)
    quick_deaths: int = 0


class Stack:
    """The children in start order (live pids in `pids_file`), and the stop signals seen.

    Signal handlers only count, so no code is interrupted midway; every wait polls the count.
    A restarted child keeps its place, so `close` still stops them in reverse start order.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self, pids_file: Path) -> None:
        self.children: list[Child] = []
        self.pids_file = pids_file
        self.signals_seen = 0
        self._previous = {signum: signal.signal(signum, self._count) for signum in self.SIGNALS}

    def _count(self, signum: int, frame: FrameType | None) -> None:
        self.signals_seen += 1

    def interrupted(self) -> bool:
        return self.signals_seen > 0

    def add(
        self, name: str, proc: Process, restart: Callable[[], Process], *, hint: str = ""
    ) -> Process:
        """Watch `proc`, started as `name`; `restart()` starts it again after a death."""
        self.children.append(Child(name, proc, restart, hint))
        self._write_pids()
        return proc

    def _write_pids(self) -> None:
        """`name pid` of each live child; replaced whole, so a reader never sees half of it.

        A dead child's line goes as soon as it is reaped: its pid may be reused by a stranger.
        """
        lines = "".join(f"{c.name} {c.proc.pid}\n" for c in self.children if c.restart_at is None)
        partial = self.pids_file.with_name(f".{self.pids_file.name}.tmp")
        partial.write_text(lines)
        partial.replace(self.pids_file)

    def wait_until(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        watch = [(child.name, child.proc) for child in self.children]
        wait_until(what, ready, timeout=timeout, watch=watch, interrupted=self.interrupted)

    def supervise(self, backoff: Backoff) -> None:
        """Until a stop signal: restart each child that exits, after its `backoff` delay."""
        while not self.interrupted():
            for child in self.children:
                if child.restart_at is None:
                    if child.proc.poll() is not None and not self.interrupted():
                        self._died(child, backoff)
                elif time.monotonic() >= child.restart_at and not self.interrupted():
                    self._restart(child, backoff)
            time.sleep(POLL_SECONDS)

    def _schedule(self, child: Child, backoff: Backoff) -> float:
        delay = backoff.delay(child.quick_deaths)
        child.quick_deaths += 1
        child.restart_at = time.monotonic() + delay
        return delay

    def _died(self, child: Child, backoff: Backoff) -> None:
        up = time.monotonic() - child.started_at
        if up >= backoff.reset_after:
            child.quick_deaths = 0
        delay = self._schedule(child, backoff)
        how = describe_exit(child.proc.returncode)
        say(
            f"{child.name} (pid {child.proc.pid}) {how} after {_duration(up)} up{child.hint}; "
            f"restarting it in {_duration(delay)}",
            error=True,
        )
        self._write_pids()

    def _restart(self, child: Child, backoff: Backoff) -> None:
        try:
            proc = child.restart()
        except OSError as exc:  # e.g. out of processes or file descriptors: try again later
            delay = self._schedule(child, backoff)
            say(
                f"{child.name} could not restart ({exc}); trying again in {_duration(delay)}",
                error=True,
            )
            return
        child.proc, child.started_at, child.restart_at = proc, time.monotonic(), None
        say(f"{child.name} restarted (pid {proc.pid})")  # said before `dev.pids` shows it
        self._write_pids()

    def close(self) -> None:
        """Stop every child, newest first; one more signal meanwhile skips the grace periods."""
        seen_before = self.signals_seen
        for child in reversed(self.children):
            stop_process(child.proc, hurry=lambda: self.signals_seen > seen_before)
        self.pids_file.unlink(missing_ok=True)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
