"""A throwaway PostgreSQL cluster the PostgreSQL case starts, stops and drops itself.

Debian's cluster tools (`pg_createcluster`, `pg_ctlcluster`, `pg_dropcluster`; run as
root). The cluster is named `tf_faults_<pid>` on a free port: a name and port no one
else uses, never `main` on 5432. A cluster left by an earlier run that was killed
(its pid is gone) is dropped before a new one is made.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

from faults.support import FaultError

VERSION = "15"
PREFIX = "tf_faults_"
TOOLS = ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster", "pg_lsclusters", "pg_isready")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FaultError(f"{name} not found: the PostgreSQL case needs Debian's postgresql-common")
    return path


def _run(*argv: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv built here
        [_tool(argv[0]), *argv[1:]], capture_output=True, text=True, timeout=timeout, check=False
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_stale() -> list[str]:
    """Drop `tf_faults_<pid>` clusters whose run is gone; their names."""
    listing = _run("pg_lsclusters", "--no-header")
    dropped = []
    for line in listing.stdout.splitlines():
        fields = line.split()
        if len(fields) < 2 or fields[0] != VERSION or not fields[1].startswith(PREFIX):
            continue
        suffix = fields[1].removeprefix(PREFIX)
        if suffix.isdigit() and not _pid_alive(int(suffix)):
            _run("pg_dropcluster", "--stop", VERSION, fields[1])
            dropped.append(fields[1])
    return dropped


class ThrowawayCluster:
    def __init__(self, port: int) -> None:
        if port == 5432:
            raise FaultError("the throwaway cluster never uses 5432 (the shared cluster's port)")
        self.name = f"{PREFIX}{os.getpid()}"
        self.port = port
        self.created = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _check(self, done: subprocess.CompletedProcess[str], what: str) -> None:
        if done.returncode:
            raise FaultError(
                f"{what} of cluster {VERSION}/{self.name} failed: {done.stderr.strip()}"
            )

    def create(self) -> None:
        drop_stale()
        done = _run(
            "pg_createcluster", "--port", str(self.port), "--start-conf", "manual", "--quiet",
            VERSION, self.name, "--", "--auth-local=trust", "--auth-host=trust",
        )  # fmt: skip
        self.created = done.returncode == 0
        self._check(done, "pg_createcluster")
        self.start()

    def ctl(self, action: str, *extra: str) -> None:
        done = _run(
            "pg_ctlcluster", "--skip-systemctl-redirect", *extra, VERSION, self.name, action
        )
        self._check(done, f"pg_ctlcluster {action}")

    def start(self, timeout: float = 60.0) -> None:
        """Start and wait until it accepts connections."""
        self.ctl("start")
        deadline = time.monotonic() + timeout
        while _run("pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)).returncode:
            if time.monotonic() > deadline:
                raise FaultError(f"cluster {self.name} not ready after {timeout:.0f} s")
            time.sleep(0.1)

    def stop(self) -> None:
        """A fast shutdown: connections are cut, new ones refused."""
        self.ctl("stop", "--mode", "fast")

    def drop(self) -> None:
        """Stop and delete it (data, configuration, log); safe to call more than once."""
        if self.created:
            _run("pg_dropcluster", "--stop", VERSION, self.name)
            self.created = False
