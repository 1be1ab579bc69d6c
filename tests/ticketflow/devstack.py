"""A real `python -m ticketflow dev` for tests: on free ports, in a folder of the test's own.

It runs in its own session, as a terminal would run it, so a test can press
Ctrl-C (SIGINT to its process group) and look for what is left in /proc.
"""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ticketflow import clean_env
from ticketflow.environment import free_port

START_TIMEOUT = 240.0  # generous: a first start on a busy two-core machine
STOP_TIMEOUT = 120.0


def processes_in(directory: Path) -> list[str]:
    """Live (non-zombie) processes whose working directory is `directory`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if Path(os.readlink(entry / "cwd")) != directory:
                continue
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile, or not ours to see
            continue
        if state != "Z":
            found.append(f"{entry.name} {command}")
    return found


class Stack:
    """One `python -m ticketflow dev` in its own session, as a terminal would run it."""

    def __init__(self, folder: Path, run: int, **settings: str) -> None:
        self.folder = folder
        self.api_port = free_port()
        self.smtp_port = free_port()
        env = clean_env(
            TICKETFLOW_DEV_TEMPORAL_PORT=str(free_port()),
            TICKETFLOW_DEV_UI_PORT=str(free_port()),
            TICKETFLOW_DEV_SMTP_PORT=str(self.smtp_port),
            API_PORT=str(self.api_port),
            TICKETFLOW_DEV_START_TIMEOUT=str(START_TIMEOUT),
            **settings,
        )
        self.output = folder / f"dev-{run}.log"
        with self.output.open("wb") as output:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ticketflow", "dev"],
                cwd=folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, like a shell job
            )

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    def healthy(self) -> bool:
        url = f"http://127.0.0.1:{self.api_port}/healthz"
        try:
            return httpx.get(url, timeout=5, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float) -> float:
        """Poll `condition()` while `ticketflow dev` runs; the seconds it took to hold."""
        start = time.monotonic()
        while not condition():
            assert self.proc.poll() is None, f"ticketflow dev exited before {what}:\n{self.log()}"
            elapsed = time.monotonic() - start
            assert elapsed < timeout, f"no {what} after {timeout:.0f} s:\n{self.log()}"
            time.sleep(0.05)
        return time.monotonic() - start

    def wait_healthy(self) -> None:
        self.wait_for("API answering /healthz", self.healthy, START_TIMEOUT)
        # The banner follows the health check; give the parent a moment to print it.
        deadline = time.monotonic() + 60
        while "Ctrl-C stops everything" not in self.log():
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.2)

    def api(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        url = f"http://127.0.0.1:{self.api_port}{path}"
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.request(method, url, headers=headers, timeout=60, trust_env=False, **kwargs)

    def pids(self) -> dict[str, int]:
        lines = (self.folder / ".data" / "dev.pids").read_text().split("\n")
        return {name: int(pid) for name, pid in (line.split() for line in lines if line)}

    def replaced(self, name: str, old_pid: int, timeout: float = 60.0) -> int:
        """Wait until `dev.pids` names another live process for `name`; its pid."""
        self.wait_for(
            f"new {name} in dev.pids",
            lambda: self.pids().get(name, old_pid) != old_pid,
            timeout,
        )
        new_pid = self.pids()[name]
        live = {int(line.split()[0]) for line in processes_in(self.folder)}
        assert new_pid in live, f"{name} {new_pid} is not running:\n{self.log()}"
        return new_pid

    def ctrl_c(self) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)

    def wait_exit(self) -> int:
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"ticketflow dev did not stop:\n{self.log()}")

    def kill(self) -> None:
        """Clean up after a failed test: this run's processes only."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for line in processes_in(self.folder):
            os.kill(int(line.split()[0]), signal.SIGKILL)


@contextmanager
def stack(folder: Path, run: int = 1, **settings: str) -> Iterator[Stack]:
    for module in ("worker", "api.app", "store.migrate"):
        pytest.importorskip(module, reason=f"{module} is not written yet")
    started = Stack(folder, run, **settings)
    try:
        yield started
    finally:
        started.kill()


def send_mail(port: int, subject: str) -> None:
    message = EmailMessage()
    message["From"] = "support@ticketflow.local"
    message["To"] = "customer@example.com"
    message["Subject"] = subject
    message.set_content("hello")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.send_message(message)
