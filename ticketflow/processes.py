"""Child processes for the embedded stack: start, watch, wait for, restart and stop them.

Invariants:
- A child started with `spawn` gets SIGTERM when this process dies
  (PR_SET_PDEATHSIG on Linux). That hook runs between fork and exec, so callers
  must not start threads (see `ticketflow.dev`).
- `Stack` restarts a child that dies only after a delay (`Backoff`, never zero,
  doubling up to `Backoff.cap`), so a child that dies at every start is never
  restarted in a busy loop; its signal handlers only count, and every wait
  polls that count, so a stop signal is acted on within `POLL_SECONDS`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

Process = subprocess.Popen[bytes]
STOP_TIMEOUT_SECONDS = 10.0
POLL_SECONDS = 0.2


class DevError(Exception):
    """A part could not start or stopped; the message says which and where to look."""


class Interrupted(Exception):
    """A stop signal arrived before the stack was up."""


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook that makes Linux send SIGTERM to the child when this process dies."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent_pid = os.getpid()

    def hook() -> None:
        prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return hook


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    own_group: bool = False,
    output: IO[bytes] | None = None,
) -> Process:
    """Start a child (never through a shell); `own_group` keeps it out of the terminal's Ctrl-C."""
    return subprocess.Popen(  # noqa: S603 - a fixed argv built here
        list(argv),
        env=env,
        stdin=subprocess.DEVNULL if own_group else None,
        stdout=output,
        stderr=subprocess.STDOUT if output else None,
        process_group=0 if own_group else None,
        preexec_fn=_die_with_parent(),  # safe: this process has no threads (module doc)
    )


def stop_process(
    proc: Process,
    *,
    timeout: float = STOP_TIMEOUT_SECONDS,
    hurry: Callable[[], bool] = lambda: False,
) -> None:
    """SIGTERM, wait up to `timeout` (or until `hurry()`), then SIGKILL; always reaps."""
    if proc.poll() is None:
        proc.terminate()
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline and not hurry():
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
    proc.wait()


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:  # a real-time signal has no name
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def say(message: str, *, error: bool = False) -> None:
    print(f"ticketflow dev: {message}", file=sys.stderr if error else sys.stdout, flush=True)


def wait_until(
    what: str,
    ready: Callable[[], bool],
    *,
    timeout: float,
    watch: Sequence[tuple[str, Process]] = (),
    interrupted: Callable[[], bool] = lambda: False,
) -> None:
    """Poll `ready()` until true; fail at once if a watched child exits, or after `timeout`."""
    deadline = time.monotonic() + timeout
    while not interrupted():
        for name, proc in watch:
            if proc.poll() is not None:
                raise DevError(f"{name} {describe_exit(proc.returncode)} while starting")
        if ready():
            return
        if time.monotonic() > deadline:
            raise DevError(f"{what} was not ready after {timeout:.0f} s")
        time.sleep(POLL_SECONDS)
    raise Interrupted


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


def accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def log_tail(log_file: Path, lines: int = 15) -> str:
    text = log_file.read_text(errors="replace") if log_file.exists() else ""
    return "".join(f"\n    {line}" for line in text.splitlines()[-lines:])


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
