"""`ticketflow dev` heals: a part that dies once the stack is up is started again, with backoff.

Parts are killed with SIGKILL, as the OOM killer does, in real stacks on free
ports in a temporary folder; `TICKETFLOW_DEV_RESTART_*` settings shorten the
waits so each test stays fast.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from runtime.settings import DEFAULT_POLICY_FILE
from tests.ticketflow.devstack import Stack, processes_in, send_mail, stack
from ticketflow.dev import DevOptions

SUBJECT = "sent after the sink's restart"
PARTS = {"temporal", "smtp-sink", "worker", "api"}
BACK_WITHIN = 60.0  # seconds; a restart takes one or two on an idle machine
TICKET = {
    "requester": {"email": "customer@example.com"},
    "subject": "Still here",
    "description": "Created before a part of the stack died.",
    "channel": "api",
}


def test_a_zero_backoff_is_refused() -> None:
    with pytest.raises(ValidationError, match="TICKETFLOW_DEV_RESTART_BACKOFF"):
        DevOptions.model_validate({"TICKETFLOW_DEV_RESTART_BACKOFF": "0"})


def deaths(log: str, name: str) -> list[tuple[str, str]]:
    """(how it ended, the announced wait) for each death of `name` that `ticketflow dev` saw."""
    line = rf"ticketflow dev: {name} \(pid \d+\) (.+?) after [^;]+ up(?: \(log: [^)]+\))?; "
    return re.findall(line + r"restarting it in ([^\n]+)\n", log)


def create_ticket(running: Stack) -> str:
    """A ticket created through the API, retried while Temporal is coming back (503)."""
    responses: list[httpx.Response] = []

    def created() -> bool:
        responses.append(running.api("post", "/v1/tickets", "dev-service-token", json=TICKET))
        return responses[-1].status_code != 503

    running.wait_for("a ticket created", created, BACK_WITHIN)
    assert responses[-1].status_code == 201, responses[-1].text
    return str(responses[-1].json()["id"])


def answers(running: Stack, ticket_id: str) -> bool:
    """True once the API answers for the ticket: Temporal has it and a worker runs its query."""
    return running.api("get", f"/v1/tickets/{ticket_id}", "dev-agent-token").status_code == 200


@pytest.mark.devserver
def test_a_killed_worker_and_api_come_back_and_the_stack_keeps_serving(tmp_path: Path) -> None:
    folder = tmp_path.resolve()
    with stack(folder, TICKETFLOW_DEV_RESTART_BACKOFF="0.2") as running:
        running.wait_healthy()
        ticket_id = create_ticket(running)
        first = running.pids()

        killed = time.monotonic()
        os.kill(first["worker"], signal.SIGKILL)
        worker = running.replaced("worker", first["worker"])
        assert deaths(running.log(), "worker") == [("was killed by SIGKILL", "0.2 s")]
        assert f"ticketflow dev: worker restarted (pid {worker})\n" in running.log()
        # Its first answer for the ticket may wait for Temporal to give up on the dead
        # worker's sticky queue (10 s), then goes through the ticket queue.
        running.wait_for("the new worker's answer", lambda: answers(running, ticket_id), 60)
        worker_back = time.monotonic() - killed

        killed = time.monotonic()
        os.kill(first["api"], signal.SIGKILL)
        api = running.replaced("api", first["api"])
        running.wait_for("the new API", running.healthy, BACK_WITHIN)
        api_back = time.monotonic() - killed
        assert deaths(running.log(), "api") == [("was killed by SIGKILL", "0.2 s")]
        assert f"ticketflow dev: api restarted (pid {api})\n" in running.log()
        assert answers(running, ticket_id)
        create_ticket(running)

        # Dead again soon after its start: the wait doubles.
        os.kill(worker, signal.SIGKILL)
        running.replaced("worker", worker)
        assert deaths(running.log(), "worker")[-1] == ("was killed by SIGKILL", "0.4 s")

        now = running.pids()
        assert now.keys() == PARTS
        assert (now["temporal"], now["smtp-sink"]) == (first["temporal"], first["smtp-sink"])
        running.ctrl_c()
        assert running.wait_exit() == 0, running.log()
        assert processes_in(folder) == []
        assert not (folder / ".data" / "dev.pids").exists()
    print(
        f"from SIGKILL: a new worker answering for the ticket in {worker_back:.1f} s, "
        f"a new API answering /healthz in {api_back:.1f} s"
    )


@pytest.mark.devserver
@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_a_stop_signal_during_a_restart_wait_stops_everything_at_once(
    tmp_path: Path, stop: str
) -> None:
    folder = tmp_path.resolve()
    with stack(
        folder, TICKETFLOW_DEV_RESTART_BACKOFF="120", TICKETFLOW_DEV_RESTART_BACKOFF_MAX="120"
    ) as running:
        running.wait_healthy()
        os.kill(running.pids()["api"], signal.SIGKILL)
        running.wait_for("the API's death", lambda: bool(deaths(running.log(), "api")), 30)
        assert deaths(running.log(), "api") == [("was killed by SIGKILL", "2 min")]
        assert running.pids().keys() == PARTS - {"api"}  # no dead pid for a stranger to reuse

        started = time.monotonic()
        if stop == "ctrl-c":  # SIGINT to the terminal's group: ticketflow dev, worker, API
            running.ctrl_c()
        else:  # to ticketflow dev alone, as a service manager would
            running.proc.terminate()
        assert running.wait_exit() == 0, running.log()
        stopped_in = time.monotonic() - started
        assert stopped_in < 60, f"stopping took {stopped_in:.0f} s:\n{running.log()}"
        assert "api restarted" not in running.log()
        assert processes_in(folder) == []
        assert not (folder / ".data" / "dev.pids").exists()
    print(f"stopped {stopped_in:.1f} s after {stop} during a restart wait")


@pytest.mark.devserver
def test_a_part_that_dies_at_each_start_is_retried_ever_later_until_it_starts(
    tmp_path: Path,
) -> None:
    folder = tmp_path.resolve()
    policy = folder / "policy.yaml"
    shutil.copyfile(DEFAULT_POLICY_FILE, policy)
    with stack(
        folder,
        TICKETFLOW_CONFIG=str(policy),
        TICKETFLOW_DEV_RESTART_BACKOFF="0.3",
        TICKETFLOW_DEV_RESTART_BACKOFF_MAX="1",
    ) as running:
        running.wait_healthy()
        good = policy.read_text()
        policy.write_text(good.replace("sla_policies:", "sla_policy_typo:", 1))
        os.kill(running.pids()["api"], signal.SIGKILL)  # it restarts with the broken file

        running.wait_for("four deaths", lambda: len(deaths(running.log(), "api")) >= 4, 120)
        policy.write_text(good)
        running.wait_for("the API on the mended file", running.healthy, BACK_WITHIN)
        seen = deaths(running.log(), "api")
        assert seen[0] == ("was killed by SIGKILL", "0.3 s")
        assert [wait for _how, wait in seen[1:4]] == ["0.6 s", "1 s", "1 s"]
        assert {how for how, _wait in seen[1:]} == {"exited with code 2"}  # a bad policy file
        assert "invalid support policy file" in running.log()
        running.ctrl_c()
        assert running.wait_exit() == 0, running.log()
        assert processes_in(folder) == []


@pytest.mark.devserver
def test_a_killed_temporal_server_and_smtp_sink_restart_on_their_data(tmp_path: Path) -> None:
    folder = tmp_path.resolve()
    with stack(folder, TICKETFLOW_DEV_RESTART_BACKOFF="0.2") as running:
        running.wait_healthy()
        ticket_id = create_ticket(running)
        first = running.pids()

        killed = time.monotonic()
        os.kill(first["temporal"], signal.SIGKILL)
        running.replaced("temporal", first["temporal"])
        running.wait_for("the ticket again", lambda: answers(running, ticket_id), 120)
        back = time.monotonic() - killed
        create_ticket(running)
        assert deaths(running.log(), "temporal") == [("was killed by SIGKILL", "0.2 s")]
        assert "(log: .data/temporal.log); restarting" in running.log()
        assert "--- restarted at" in (folder / ".data" / "temporal.log").read_text()

        os.kill(first["smtp-sink"], signal.SIGKILL)
        running.replaced("smtp-sink", first["smtp-sink"])
        running.wait_for("the sink", lambda: accepts_mail(running.smtp_port), 60)
        saved = (folder / ".data" / "mail").glob("*.eml")
        assert any(SUBJECT in path.read_text() for path in saved)

        # The worker and the API reconnected by themselves: neither was restarted.
        now = running.pids()
        assert (now["worker"], now["api"]) == (first["worker"], first["api"])
        running.ctrl_c()
        assert running.wait_exit() == 0, running.log()
        assert processes_in(folder) == []
    print(f"from SIGKILL: the ticket answered again in {back:.1f} s (Temporal)")


def accepts_mail(port: int) -> bool:
    try:
        send_mail(port, SUBJECT)
    except OSError:
        return False
    return True
