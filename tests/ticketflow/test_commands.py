"""The operator commands: `config check`, `sla explain`, `tickets list` and `tickets show`.

`tickets show` runs against the time-skipping test server with a real worker, store and SMTP
server; it is called in-process (`show_ticket`) and as a process (`python -m ticketflow`).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.testing import WorkflowEnvironment

from domain.enums import Status
from domain.ticket.aggregate import Ticket
from runtime.settings import DEFAULT_POLICY_FILE, get_settings
from store import repository
from store.engine import create_engine, create_sessionmaker
from tests.conftest import Mailbox, eventually
from tests.store.test_repository import T0, _row
from tests.ticketflow import clean_env
from tests.workflows.harness import request, running_worker, started
from ticketflow.cli import main
from ticketflow.commands import tickets as tickets_command
from ticketflow.commands.tickets import show_ticket
from ticketflow.environment import free_port
from workflows import search_attributes as sa
from workflows.ticket import TicketWorkflow, TicketWorkflowInput


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Settings from this test's environment only (no `.env`, no cached settings)."""
    for name, value in clean_env().items():
        monkeypatch.setenv(name, value)
    for name in ("DATABASE_URL", "TEMPORAL_ADDRESS", "TICKETFLOW_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def ticketflow(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ticketflow", *args],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# -- config check ------------------------------------------------------------------------------


def test_config_check_accepts_the_shipped_policy(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "config", "check", str(DEFAULT_POLICY_FILE))
    assert code == 0
    [line] = out.splitlines()
    assert line.startswith("OK ")
    assert "4 calendars, 8 SLA policies, 7 teams, 15 agents" in line
    assert "; priorities P1 P2 P3 P4; plans starter professional enterprise; " in line
    assert line.endswith("; channels email chat phone portal api")


def _broken_policy(tmp_path: Path, edit: Any) -> Path:
    data = yaml.safe_load(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_config_check_reports_a_bad_duration_and_an_unknown_team_together(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["sla_policies"][0]["targets"]["first_response"] = "15 minutes"
        data["agents"]["alice"]["team"] = "nowhere"

    code, out, _ = run_cli(capsys, "config", "check", str(_broken_policy(tmp_path, edit)))
    assert code == 1
    lines = out.splitlines()
    assert any(line.startswith("sla_policies.0.targets.first_response: ") for line in lines)
    assert "agents.alice.team: unknown team 'nowhere'" in lines
    assert lines[-1].endswith("2 problems")
    assert not any(line.startswith("OK") for line in lines)


def test_config_check_says_when_a_broken_required_key_hides_the_reference_checks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["teams"]["billing"]["email"] = "not-an-email"
        data["agents"]["alice"]["team"] = "nowhere"

    code, out, _ = run_cli(capsys, "config", "check", str(_broken_policy(tmp_path, edit)))
    assert code == 1
    assert "teams.billing.email: " in out
    assert "references between keys are checked once these are fixed" in out
    # Dropping the billing team to check the rest would report its members as false problems.
    assert "agents.carol.team" not in out


def test_config_check_of_a_missing_file_is_one_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run_cli(capsys, "config", "check", str(tmp_path / "nope.yaml"))
    assert code == 1
    assert "cannot read policy file" in out


# -- sla explain -------------------------------------------------------------------------------


def test_sla_explain_names_the_enterprise_p1_policy_and_its_targets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(capsys, "sla", "explain", "--priority", "P1", "--plan", "enterprise")
    assert code == 0
    assert "policy:   p1-enterprise " in out
    assert "matched priority=P1, plan=enterprise" in out
    assert "first response  15m (900 s)" in out
    assert "resolution      2h (7200 s)" in out
    assert "calendar: 24x7, time zone UTC" in out
    assert "warned at 80% of each target (first response: at 12m)" in out
    assert "next update while awaiting_customer" in out


def test_sla_explain_says_which_policies_it_skipped_and_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(
        capsys, "sla", "explain", "--priority", "P2", "--channel", "chat", "--category", "billing"
    )
    assert code == 0
    assert "policy:   p2 " in out
    assert "skipped p2-enterprise: plan starter is not in [enterprise]" in out
    assert "first response  2h (7200 s)" in out
    assert "open mon-fri 09:00-18:00" in out


def _p0_pack(tmp_path: Path) -> Path:
    """The default policy with P0 above P1, business days for P3 and UK customers on London
    hours (a DataFlow-like pack)."""

    def edit(data: dict[str, Any]) -> None:
        data["priorities"] = [
            {"id": "P0", "label": "Critical", "rank": 0},
            *({"id": f"P{n}", "rank": n} for n in range(1, 5)),
        ]
        data["escalation"]["unresolved_after"]["P0"] = "30m"
        data["calendars"]["uk-business"] = {
            "timezone": "Europe/London",
            "weekly": [
                {"day": day, "start": "09:00", "end": "17:00"}
                for day in ("mon", "tue", "wed", "thu", "fri")
            ],
            "holiday_country": "GB",
        }
        p0 = {
            "id": "p0",
            "match": {"priority": ["P0"]},
            "targets": {"first_response": "1h", "resolution": "4h"},
            "calendar": "business-hours",
            "calendar_by_country": {"GB": "uk-business"},
        }
        p3 = next(p for p in data["sla_policies"] if p["id"] == "p3")
        p3["targets"]["resolution"] = "3bd"
        data["sla_policies"].insert(0, p0)

    return _broken_policy(tmp_path, edit)


def test_config_check_and_sla_explain_of_a_p0_pack(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pack = str(_p0_pack(tmp_path))
    code, out, _ = run_cli(capsys, "config", "check", pack)
    assert code == 0, out
    assert "priorities P0 P1 P2 P3 P4" in out
    code, out, _ = run_cli(
        capsys, "sla", "explain", "--config", pack, "--priority", "P0", "--country", "gb"
    )
    assert code == 0
    assert "ticket:   priority P0 (Critical), plan starter (Starter)" in out
    assert "country GB" in out
    assert "calendar 'uk-business' by requester country" in out
    assert "calendar: uk-business, time zone Europe/London" in out
    code, out, _ = run_cli(capsys, "sla", "explain", "--config", pack, "--priority", "P3")
    assert code == 0
    assert "resolution      3bd (3 business days:" in out
    code, _, err = run_cli(capsys, "sla", "explain", "--config", pack, "--priority", "P9")
    assert code == 2
    assert "unknown priority 'P9'" in err
    assert "(known: P0, P1, P2, P3, P4)" in err


def test_sla_explain_refuses_an_unknown_category(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "sla", "explain", "--priority", "P3", "--category", "nope")
    assert code == 2
    assert err.startswith("ticketflow: unknown category 'nope'")


def test_command_choices_are_the_domain_vocabulary() -> None:
    assert tuple(Status) == tickets_command.STATUSES


# -- tickets list ------------------------------------------------------------------------------


@pytest.fixture
def filled_store(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    rows = [
        _row("TKT-000001", priority="P1", sla_breached=True, team="technical", status="open"),
        _row("TKT-000002", created=T0 + timedelta(minutes=1), priority="P1"),
        _row("TKT-000003", created=T0 + timedelta(minutes=2), priority="P3", sla_breached=True),
        _row("TKT-000004", created=T0 + timedelta(minutes=3), status="closed", assignee="alice"),
    ]

    async def fill() -> None:
        engine = create_engine(sqlite_url)
        try:
            async with create_sessionmaker(engine).begin() as session:
                for row in rows:
                    await repository.upsert_ticket(session, values=row)
        finally:
            await engine.dispose()

    asyncio.run(fill())
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    return sqlite_url


def _ids(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines() if line.startswith("TKT-")]


def test_tickets_list_shows_the_newest_first_in_a_table(
    filled_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "tickets", "list")
    assert code == 0
    header = out.splitlines()[0].split()
    assert header[:4] == ["ID", "PRI", "STATUS", "TEAM"]
    assert _ids(out) == ["TKT-000004", "TKT-000003", "TKT-000002", "TKT-000001"]
    assert "2026-11-20 09:00:00" in out


def test_tickets_list_filters_like_the_api(
    filled_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _ids(run_cli(capsys, "tickets", "list", "--priority", "P1", "--breached")[1]) == [
        "TKT-000001"
    ]
    assert _ids(run_cli(capsys, "tickets", "list", "--no-breached", "--status", "new")[1]) == [
        "TKT-000002"
    ]
    assert _ids(run_cli(capsys, "tickets", "list", "--assignee", "alice")[1]) == ["TKT-000004"]
    assert _ids(run_cli(capsys, "tickets", "list", "--team", "technical")[1]) == ["TKT-000001"]
    both = run_cli(capsys, "tickets", "list", "--status", "open", "--status", "closed")[1]
    assert _ids(both) == ["TKT-000004", "TKT-000001"]


def test_tickets_list_limit_says_more_match_and_json_is_parseable(
    filled_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "tickets", "list", "--limit", "1")
    assert code == 0
    assert _ids(out) == ["TKT-000004"]
    assert "more match" in out
    code, out, _ = run_cli(capsys, "tickets", "list", "--json", "--priority", "P1")
    entries = json.loads(out)
    assert [(e["id"], e["sla_breached"]) for e in entries] == [
        ("TKT-000002", False),
        ("TKT-000001", True),
    ]
    assert entries[1]["created_at"] == T0.isoformat()


def test_tickets_list_without_a_store_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'missing.db'}")
    code, out, err = run_cli(capsys, "tickets", "list")
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("ticketflow: no store at ")
    assert not (tmp_path / "missing.db").exists()


# -- tickets show ------------------------------------------------------------------------------


async def _start_ticket(env: WorkflowEnvironment, task_queue: str, created: datetime) -> str:
    ticket_id = f"TKT-{uuid.uuid4().hex[:8]}"
    begin = started(ticket_id, created, request(priority="P1"))  # policy p1: 30m, 24x7
    initial = Ticket.create(begin)[0].state
    await env.client.start_workflow(
        TicketWorkflow.run,
        TicketWorkflowInput(started=begin),
        id=ticket_id,
        task_queue=task_queue,
        search_attributes=sa.initial_attributes(initial),
    )
    return ticket_id


async def _event_count(database_url: str, ticket_id: str) -> int:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return len(await repository.list_events(session, ticket_id=ticket_id))
    finally:
        await engine.dispose()


async def test_tickets_show_prints_live_clocks_and_the_last_events(
    time_env: WorkflowEnvironment,
    task_queue: str,
    sqlite_url: str,
    smtp: tuple[Mailbox, int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, port = smtp
    created = (await time_env.get_current_time()).replace(microsecond=0)
    async with running_worker(time_env.client, task_queue, sqlite_url, port):
        ticket_id = await _start_ticket(time_env, task_queue, created)

        async def recorded() -> bool:
            return await _event_count(sqlite_url, ticket_id) >= 1

        await eventually(recorded)
        code = await show_ticket(
            time_env.client, ticket_id, database_url=sqlite_url, now=created + timedelta(minutes=1)
        )
        out = capsys.readouterr().out
        assert code == 0
        assert out.startswith(f"{ticket_id}  [P1] Cannot download my invoice")
        assert "policy p1 v" in out
        assert "\nworkflow   running · run " in out
        [first_response] = [line for line in out.splitlines() if line.startswith("first_response")]
        due = (created + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M:%S")
        assert first_response.split()[2] == "running"
        assert due in first_response
        assert "1740 s (29m)" in first_response  # 30 min target, 1 min elapsed
        assert "created" in out.split("events (from the store):")[1]

        # Past the due second: the workflow has breached the clock; JSON says so too.
        await time_env.sleep(timedelta(minutes=31))
        now = await time_env.get_current_time()
        code = await show_ticket(
            time_env.client, ticket_id, database_url=sqlite_url, now=now, as_json=True
        )
        document = json.loads(capsys.readouterr().out)

        # Terminated, it runs no timer any more: the clocks are shown as they were when it ended.
        handle = time_env.client.get_workflow_handle(ticket_id)
        await handle.terminate(reason="test")
        await time_env.sleep(timedelta(hours=1))
        later = await time_env.get_current_time()
        code = await show_ticket(time_env.client, ticket_id, database_url=sqlite_url, now=later)
        terminated = capsys.readouterr().out
        await show_ticket(
            time_env.client, ticket_id, database_url=sqlite_url, now=later, as_json=True
        )
        ended = json.loads(capsys.readouterr().out)
    assert ended["workflow"]["status"] == "terminated"
    assert ended["as_of"] == ended["workflow"]["closed_at"]
    assert code == 0
    assert "workflow   TERMINATED at " in terminated
    assert "when the workflow ended" in terminated
    assert document["workflow"]["status"] == "running"
    clock = document["ticket"]["sla"]["first_response"]
    assert clock["state"] == "breached"
    assert clock["business_seconds_left"] < 0
    assert document["ticket"]["sla_breached"] is True
    assert document["ticket"]["status"] == Status.NEW.value
    assert document["events"][0]["type"] == "created"
    assert document["events_total"] >= 1


async def test_tickets_show_of_an_unknown_ticket_is_a_one_line_error(
    time_env: WorkflowEnvironment, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await show_ticket(
        time_env.client, "TKT-999999", database_url=sqlite_url, now=datetime.now(UTC)
    )
    out, err = capsys.readouterr()
    assert code != 0
    assert out == ""
    assert err == "ticketflow: no such ticket TKT-999999 in namespace default\n"


async def test_the_show_command_exits_cleanly_with_one_line_errors(
    time_env: WorkflowEnvironment, sqlite_url: str
) -> None:
    address = time_env.client.service_client.config.target_host
    unknown = await asyncio.to_thread(
        ticketflow, "tickets", "show", "TKT-999999", TEMPORAL_ADDRESS=address
    )
    assert unknown.returncode == 1, unknown.stderr
    assert unknown.stderr == "ticketflow: no such ticket TKT-999999 in namespace default\n"

    nobody = f"127.0.0.1:{free_port()}"
    down = await asyncio.to_thread(
        ticketflow, "tickets", "show", "TKT-000001", TEMPORAL_ADDRESS=nobody
    )
    assert down.returncode == 1, down.stderr
    assert down.stderr == f"ticketflow: cannot reach Temporal at {nobody}: connection refused\n"
