"""`ticketflow dev`: its Temporal dev server across restarts, and the whole stack's lifecycle.

Everything here runs real processes on free ports in a temporary folder, so it
can run beside a developer's own `make run`.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError

from runtime.settings import Settings
from tests.ticketflow.devstack import START_TIMEOUT, STOP_TIMEOUT, processes_in, send_mail, stack
from ticketflow import dev
from ticketflow.environment import free_port
from ticketflow.smtp_sink import MailSink
from workflows.search_attributes import ALL_KEYS, TICKET_STATUS

STACK_PARTS = {"temporal", "smtp-sink", "worker", "api"}
EXPECTED_ATTRIBUTES = {key.name: key.indexed_value_type for key in ALL_KEYS}


def settings_from(**env: str) -> Settings:
    """Settings from exactly these variables (no .env file, no developer shell)."""
    return Settings.model_validate(env)


# --- the pieces, without processes --------------------------------------------------


def test_children_get_the_embedded_parts_and_the_dev_tokens() -> None:
    options = dev.DevOptions.model_validate({"TICKETFLOW_DEV_TEMPORAL_PORT": "17233"})
    env = dev.child_env(settings_from(), options, {"PATH": "/bin"})

    assert env["PATH"] == "/bin"
    assert env["TEMPORAL_ADDRESS"] == "127.0.0.1:17233"
    assert (env["SMTP_HOST"], env["SMTP_PORT"]) == ("127.0.0.1", "1025")
    assert env["TICKETFLOW_TOKENS"] == dev.DEV_TOKENS
    assert env["TICKETFLOW_WEBHOOK_ALLOWED_HOSTS"] == "127.0.0.1,localhost"
    assert Path(env["TICKETFLOW_DATA_DIR"]).is_absolute()
    assert "DATABASE_URL" not in env


def test_children_keep_the_parts_that_point_elsewhere() -> None:
    settings = settings_from(
        TEMPORAL_ADDRESS="temporal.internal:7233",
        DATABASE_URL="postgresql+psycopg://app@db/tickets",
        SMTP_HOST="mail.internal",
        TICKETFLOW_TOKENS="secret:admin",
    )
    env = dev.child_env(settings, dev.DevOptions.model_validate({}), {})

    assert env["TEMPORAL_ADDRESS"] == "temporal.internal:7233"
    assert env["DATABASE_URL"] == "postgresql+psycopg://app@db/tickets"
    assert "SMTP_HOST" not in env  # not injected: the children read their own settings
    assert "SMTP_PORT" not in env
    assert "TICKETFLOW_TOKENS" not in env


def test_the_banner_shows_the_dev_tokens_only_when_they_are_in_use() -> None:
    options = dev.DevOptions.model_validate({})
    text = dev.banner(settings_from(API_PORT="8001"), options)
    assert "http://127.0.0.1:8001/docs" in text
    assert "http://127.0.0.1:8233" in text
    assert "dev-agent-token" in text
    assert "Ctrl-C stops everything" in text

    assert "dev-agent-token" not in dev.banner(settings_from(TICKETFLOW_TOKENS="x:admin"), options)


def test_a_taken_port_is_refused_before_anything_starts() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with pytest.raises(dev.DevError, match="API_PORT"):
            dev.ensure_port_free("127.0.0.1", port, "API", "API_PORT")


# --- the Temporal dev server --------------------------------------------------------


@contextmanager
def dev_server(data_dir: Path, port: int, ui_port: int) -> Iterator[None]:
    """The dev server as `ticketflow dev` starts it, ready when the block starts."""
    binary, log_file = dev.temporal_binary(), data_dir / "temporal.log"
    proc = dev.start_temporal(
        binary,
        db_file=data_dir / "temporal.db",
        log_file=log_file,
        port=port,
        ui_port=ui_port,
        namespace="default",
    )
    try:
        dev.wait_until(
            "the Temporal dev server",
            lambda: dev.temporal_ready(binary, f"127.0.0.1:{port}", "default"),
            timeout=START_TIMEOUT,
            watch=[("the Temporal dev server", proc)],
        )
        yield
    except dev.DevError as exc:
        pytest.fail(f"{exc}; the end of its log:{dev.log_tail(log_file)}")
    finally:
        dev.stop_process(proc)


async def registered_search_attributes(client: Client) -> dict[str, int]:
    request = ListSearchAttributesRequest(namespace="default")
    response = await client.operator_service.list_search_attributes(request)
    return dict(response.custom_attributes)


@pytest.mark.devserver
async def test_the_dev_server_keeps_attributes_and_workflows_across_restarts(
    tmp_path: Path,
) -> None:
    port, ui_port = free_port(), free_port()
    workflow_id = f"kept-{uuid.uuid4()}"

    with dev_server(tmp_path, port, ui_port):
        client = await Client.connect(f"127.0.0.1:{port}")
        assert EXPECTED_ATTRIBUTES.items() <= (await registered_search_attributes(client)).items()
        # No worker serves this type: the workflow simply stays running.
        await client.start_workflow(
            "NoSuchWorkflow",
            id=workflow_id,
            task_queue="x",
            search_attributes=TypedSearchAttributes([SearchAttributePair(TICKET_STATUS, "open")]),
        )

    # Second start on the same database file, with the same --search-attribute flags.
    with dev_server(tmp_path, port, ui_port):
        client = await Client.connect(f"127.0.0.1:{port}")
        assert EXPECTED_ATTRIBUTES.items() <= (await registered_search_attributes(client)).items()
        described = await client.get_workflow_handle(workflow_id).describe()
        assert described.status == WorkflowExecutionStatus.RUNNING
        assert described.typed_search_attributes.get(TICKET_STATUS) == "open"


@asynccontextmanager
async def plain_dev_server(data_dir: Path, port: int, *flags: str) -> AsyncIterator[dict[str, int]]:
    """`temporal server start-dev` without ticketflow's help; yields its search attributes."""
    argv = [
        str(dev.temporal_binary()), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
        "--db-filename", str(data_dir / "temporal.db"), "--port", str(port), *flags,
    ]  # fmt: skip
    log_file = data_dir / "plain.log"
    with log_file.open("wb") as log:
        proc = dev.spawn(argv, own_group=True, output=log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert proc.poll() is None, dev.log_tail(log_file)
            try:
                client = await Client.connect(f"127.0.0.1:{port}")
                registered = await registered_search_attributes(client)
                break
            except (RuntimeError, RPCError):  # not up yet
                assert time.monotonic() < deadline, "the plain dev server never answered"
                await asyncio.sleep(0.5)
        yield registered
    finally:
        dev.stop_process(proc)


@pytest.mark.devserver
async def test_search_attributes_missing_from_an_existing_database_are_created(
    tmp_path: Path,
) -> None:
    port, ui_port = free_port(), free_port()
    async with plain_dev_server(tmp_path, port) as registered:
        assert not EXPECTED_ATTRIBUTES.keys() & registered.keys()

    with dev_server(tmp_path, port, ui_port):
        client = await Client.connect(f"127.0.0.1:{port}")
        assert EXPECTED_ATTRIBUTES.items() <= (await registered_search_attributes(client)).items()


@pytest.mark.devserver
async def test_a_search_attribute_registered_with_another_type_is_a_clear_error(
    tmp_path: Path,
) -> None:
    port, ui_port = free_port(), free_port()
    async with plain_dev_server(tmp_path, port, "--search-attribute", "TicketStatus=Int"):
        pass

    binary, address = dev.temporal_binary(), f"127.0.0.1:{port}"
    proc = dev.start_temporal(
        binary,
        db_file=tmp_path / "temporal.db",
        log_file=tmp_path / "temporal.log",
        port=port,
        ui_port=ui_port,
        namespace="default",
    )
    try:
        with pytest.raises(dev.DevError, match="TicketStatus is INT, not KEYWORD"):
            dev.wait_until(
                "the Temporal dev server",
                lambda: dev.temporal_ready(binary, address, "default"),
                timeout=START_TIMEOUT,
                watch=[("the Temporal dev server", proc)],
            )
    finally:
        dev.stop_process(proc)


# --- the whole stack: `python -m ticketflow dev` -------------------------------------


@pytest.mark.devserver
def test_ticketflow_dev_runs_the_stack_and_ctrl_c_leaves_nothing_behind(tmp_path: Path) -> None:
    folder = tmp_path.resolve()
    with stack(folder, run=1) as first:
        first.wait_healthy()
        assert set(first.pids()) == STACK_PARTS
        assert "dev-agent-token" in first.log()
        send_mail(first.smtp_port, "through the sink")
        mail_dir = folder / ".data" / "mail"
        deadline = time.monotonic() + 60
        while not list(mail_dir.glob("*.eml")):
            assert time.monotonic() < deadline, "the sink saved nothing"
            time.sleep(0.2)

        ticket = {
            "requester": {"email": "customer@example.com"},
            "subject": "Kept across restarts",
            "description": "Created in the first run.",
            "channel": "api",
        }
        created = first.api("post", "/v1/tickets", "dev-service-token", json=ticket)
        assert created.status_code == 201, created.text
        ticket_id = created.json()["id"]

        first.ctrl_c()
        assert first.wait_exit() == 0, first.log()
        assert processes_in(folder) == []
        assert not (folder / ".data" / "dev.pids").exists()
    assert (folder / ".data" / "temporal.db").is_file()
    assert (folder / ".data" / "tickets.db").is_file()

    # A second run in the same folder starts on the kept data; an impatient
    # double Ctrl-C still leaves nothing behind.
    with stack(folder, run=2) as second:
        second.wait_healthy()
        kept = second.api("get", f"/v1/tickets/{ticket_id}", "dev-agent-token")
        assert kept.status_code == 200, kept.text
        assert kept.json()["subject"] == "Kept across restarts"
        second.ctrl_c()
        time.sleep(0.3)
        second.ctrl_c()
        assert second.wait_exit() == 0, second.log()
        assert processes_in(folder) == []


@pytest.mark.devserver
def test_ticketflow_dev_starts_no_embedded_part_whose_setting_points_elsewhere(
    tmp_path: Path,
) -> None:
    folder, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    temporal_port, smtp_port = free_port(), free_port()
    database = elsewhere / "tickets.db"
    with (
        dev_server(elsewhere, temporal_port, free_port()),
        MailSink(elsewhere / "mail", port=smtp_port),
        stack(
            folder,
            TEMPORAL_ADDRESS=f"127.0.0.1:{temporal_port}",
            DATABASE_URL=f"sqlite+aiosqlite:///{database}",
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(smtp_port),
        ) as running,
    ):
        running.wait_healthy()
        assert set(running.pids()) == {"worker", "api"}
        assert database.is_file(), "the migrations ran against DATABASE_URL"
        # No embedded part's files; the dev payload keyring and survey-link secret are made
        # all the same (the worker and the API encrypt and sign whatever they talk to).
        made = sorted(path.name for path in (folder / ".data").iterdir())
        assert made == ["csat-secret", "dev.pids", "payload-keys"]
        running.ctrl_c()
        assert running.wait_exit() == 0, running.log()
        assert processes_in(folder) == []


@pytest.mark.devserver
def test_ctrl_c_while_starting_leaves_nothing_behind(tmp_path: Path) -> None:
    folder = tmp_path.resolve()
    with stack(folder) as starting:
        deadline = time.monotonic() + START_TIMEOUT
        while not (folder / ".data" / "dev.pids").exists():  # the first part is starting
            assert starting.proc.poll() is None, starting.log()
            assert time.monotonic() < deadline, starting.log()
            time.sleep(0.05)
        starting.ctrl_c()
        assert starting.wait_exit() == 0, starting.log()
        assert processes_in(folder) == []


@pytest.mark.devserver
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_killing_ticketflow_dev_outright_still_leaves_nothing_behind(tmp_path: Path) -> None:
    folder = tmp_path.resolve()
    with stack(folder) as running:
        running.wait_healthy()
        running.proc.kill()  # no chance to clean up: the children must notice by themselves
        running.proc.wait()
        deadline = time.monotonic() + STOP_TIMEOUT
        while left := processes_in(folder):
            assert time.monotonic() < deadline, f"left behind: {left}"
            time.sleep(0.5)
