"""The `ticketflow` command line, through `main()` and as `python -m ticketflow`."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ticketflow import clean_env
from ticketflow.cli import build_parser, main

RUNTIME_COMMANDS = ("dev", "worker", "api", "migrate")


def ticketflow(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ticketflow", *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_help_lists_the_runtime_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in RUNTIME_COMMANDS:
        assert command in out


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_each_runtime_command_has_a_handler() -> None:
    parser = build_parser()
    for command in RUNTIME_COMMANDS:
        assert callable(parser.parse_args([command]).handler), command


def test_python_dash_m_ticketflow_is_the_cli(tmp_path: Path) -> None:
    result = ticketflow("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert all(command in result.stdout for command in RUNTIME_COMMANDS)


def test_a_bad_setting_is_reported_by_name_without_a_traceback(tmp_path: Path) -> None:
    result = ticketflow("api", cwd=tmp_path, API_PORT="not-a-port")
    assert result.returncode == 2
    assert "invalid configuration" in result.stderr
    assert "API_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_creates_the_embedded_store_and_can_run_again(tmp_path: Path) -> None:
    pytest.importorskip("store.migrate", reason="store/migrate.py is not written yet")
    for _ in range(2):
        result = ticketflow("migrate", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "to head" in result.stdout

    with sqlite3.connect(tmp_path / ".data" / "tickets.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"alembic_version", "tickets"} <= tables


def test_a_bad_policy_file_stops_api_and_worker_at_start_naming_the_keys(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("version: x\ncalendars: {}\n")
    for command in ("api", "worker"):
        result = subprocess.run(
            [sys.executable, "-m", "ticketflow", command],
            env=clean_env(TICKETFLOW_CONFIG=str(bad)),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert f"invalid support policy file {bad}" in result.stderr
        assert "sla_policies: missing required key" in result.stderr
        assert "Traceback" not in result.stderr
