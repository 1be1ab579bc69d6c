"""Child processes: start, wait for and stop them (the worker's N processes, the dev stack).

Invariant: a child started with `spawn` gets SIGTERM when this process dies
(PR_SET_PDEATHSIG on Linux). That hook runs between fork and exec, so callers
must not start threads (see `ticketflow.dev`). The dev stack's supervisor, which restarts
children, is `ticketflow.stack`.
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
from pathlib import Path
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


def accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def log_tail(log_file: Path, lines: int = 15) -> str:
    text = log_file.read_text(errors="replace") if log_file.exists() else ""
    return "".join(f"\n    {line}" for line in text.splitlines()[-lines:])
