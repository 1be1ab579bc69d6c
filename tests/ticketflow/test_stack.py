"""`ticketflow.stack.Stack` restarting real, tiny children (`sh`), in a real supervisor process.

The supervisor is a child Python process, as `ticketflow dev` is: it owns signal
handlers and must start no threads, neither of which a test process can promise.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from runtime.processes import describe_exit
from tests.ticketflow import clean_env
from tests.ticketflow.devstack import processes_in
from ticketflow.stack import Backoff

SUPERVISOR = """
import sys
from pathlib import Path
from runtime.processes import spawn
from ticketflow.stack import Backoff, Stack

folder, first, cap, reset_after = Path(sys.argv[1]), *map(float, sys.argv[2:])
# Dies at once while `mode` says so, else stays up.
argv = ["sh", "-c", '[ "$(cat mode)" = die ] && exit 3; exec sleep 600']
stack = Stack(folder / "pids")
try:
    stack.add("child", spawn(argv), lambda: spawn(argv))
    stack.supervise(Backoff(first, cap, reset_after))
finally:
    stack.close()
"""
DEATH = re.compile(r"child \(pid \d+\) (.+?) after [^;]+ up; restarting it in ([^\n]+)\n")


class Supervisor:
    def __init__(self, folder: Path, first: float, cap: float, reset_after: float) -> None:
        self.folder, self.output = folder, folder / "supervisor.log"
        backoff = [str(first), str(cap), str(reset_after)]
        with self.output.open("wb") as output:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", SUPERVISOR, str(folder), *backoff],
                cwd=folder,
                env=clean_env(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        return self.output.read_text()

    def deaths(self) -> list[tuple[str, str]]:
        return DEATH.findall(self.log())

    def child_pid(self) -> int | None:
        lines = (self.folder / "pids").read_text().split()
        return int(lines[1]) if lines else None

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.proc.poll() is None, f"the supervisor exited:\n{self.log()}"
            assert time.monotonic() < deadline, f"no {what}:\n{self.log()}"
            time.sleep(0.02)


def test_the_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(first=1.0, cap=30.0)
    assert [backoff.delay(n) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(100_000) == 30  # a night of crashes overflows nothing
    assert Backoff(first=50.0, cap=30.0).delay(0) == 30


def test_an_exit_is_described_as_a_person_would() -> None:
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(-9) == "was killed by SIGKILL"
    assert describe_exit(-40) == "was killed by signal 40"  # a real-time signal has no name


@contextmanager
def supervisor(folder: Path, *, mode: str, **backoff: float) -> Iterator[Supervisor]:
    (folder / "mode").write_text(mode)
    running = Supervisor(folder, **backoff)
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait()
        for line in processes_in(folder):
            os.kill(int(line.split()[0]), signal.SIGKILL)


def test_a_child_dying_at_each_start_waits_longer_each_time_then_from_the_start_again(
    tmp_path: Path,
) -> None:
    folder = tmp_path.resolve()
    with supervisor(folder, mode="die", first=0.1, cap=0.4, reset_after=1.0) as running:
        started = time.monotonic()
        running.wait_for("six deaths", lambda: len(running.deaths()) >= 6)
        elapsed = time.monotonic() - started
        (folder / "mode").write_text("live")  # read by the next start, 0.4 s from now
        waits = [wait for _how, wait in running.deaths()[:6]]
        assert waits == ["0.1 s", "0.2 s", "0.4 s", "0.4 s", "0.4 s", "0.4 s"]
        assert {how for how, _wait in running.deaths()} == {"exited with code 3"}
        assert elapsed >= 0.1 + 0.2 + 0.4 * 3, "a wait was cut short: a busy loop"
        assert "child restarted (pid " in running.log()

        running.wait_for("a child that stays up", lambda: running.child_pid() is not None)
        pid = running.child_pid()
        assert pid is not None
        time.sleep(1.2)  # longer than reset_after
        assert running.child_pid() == pid
        count = len(running.deaths())
        os.kill(pid, signal.SIGKILL)
        running.wait_for("its death", lambda: len(running.deaths()) > count)
        assert running.deaths()[-1] == ("was killed by SIGKILL", "0.1 s")
        running.wait_for("its restart", lambda: running.child_pid() not in (None, pid))

        running.proc.send_signal(signal.SIGTERM)
        assert running.proc.wait(timeout=30) == 0, running.log()
        assert processes_in(folder) == []
        assert not (folder / "pids").exists()


def test_a_stop_signal_ends_a_restart_wait_at_once(tmp_path: Path) -> None:
    folder = tmp_path.resolve()
    with supervisor(folder, mode="die", first=600.0, cap=600.0, reset_after=600.0) as running:
        running.wait_for("a death", lambda: bool(running.deaths()))
        assert running.deaths() == [("exited with code 3", "10 min")]
        assert (folder / "pids").read_text() == ""  # the dead child's pid is not kept

        asked = time.monotonic()
        running.proc.send_signal(signal.SIGINT)
        assert running.proc.wait(timeout=30) == 0, running.log()
        assert time.monotonic() - asked < 1.0
        assert processes_in(folder) == []
