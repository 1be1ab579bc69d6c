"""`ticketflow dev`: the whole stack on one machine, for `make run`.

Starts each embedded part whose setting is unset — the Temporal dev server
(`TEMPORAL_ADDRESS`), the SMTP sink (`SMTP_HOST`/`SMTP_PORT`); the SQLite
store needs no process — then runs the migrations, the worker and the API as
child processes, and supervises them until a stop signal.

Invariants:
- Until the stack is first up, a child's death is an error that stops
  everything (exit 1): a taken port, a bad policy file or a broken database
  would only die again.
- Once it is up, any child that dies (crash, SIGKILL, OOM) is started again in
  its place after a wait: `TICKETFLOW_DEV_RESTART_BACKOFF` (1 s), doubling
  with each quick death up to `TICKETFLOW_DEV_RESTART_BACKOFF_MAX` (30 s),
  back to the first once the child had stayed up
  `TICKETFLOW_DEV_RESTART_RESET_AFTER` (60 s). The wait is never zero: a child
  that dies at every start costs one start per 30 s, never a busy loop. One
  line says what died, how, and when it restarts; one gives the new pid, which
  replaces the old one in `.data/dev.pids` (a dead child has no line there).
- The worker and the API reconnect to Temporal, the store and SMTP by
  themselves. The infrastructure is restarted too, because that is safe:
  Temporal keeps its workflows, timers and search attributes in
  `.data/temporal.db` (the restart is appended to its log), and the sink keeps
  nothing in memory (a message is a file once accepted; a send it refused is
  retried by the worker).
- Children stop in reverse start order (API, worker, sink, Temporal): SIGTERM,
  up to `STOP_TIMEOUT_SECONDS` each, then SIGKILL; every child is reaped. A
  stop signal during a backoff wait or a restart is acted on within
  `POLL_SECONDS`; a further signal during shutdown kills what is left at once.
- Temporal and the sink run in their own process groups, so Ctrl-C (SIGINT to
  the foreground group) reaches only this process, the worker and the API; the
  infrastructure stays up until the worker and the API have drained.
- Temporal is ready when it lists every ticket search attribute with its
  type (`ticketflow.devserver`).
- On Linux every child gets SIGTERM when this process dies (PR_SET_PDEATHSIG),
  so even `kill -9` of `ticketflow dev` leaves nothing behind. That hook runs
  between fork and exec, so this process starts no threads: readiness of
  Temporal is checked with the `temporal` CLI, not a temporalio client, and
  the supervision is a polling loop, not a thread per child.
"""

from __future__ import annotations

import math
import os
import secrets
import sys
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.codec import dev_keyring_file
from runtime.processes import (
    STOP_TIMEOUT_SECONDS,
    DevError,
    Interrupted,
    Process,
    _die_with_parent,
    accepts_connections,
    describe_exit,
    log_tail,
    spawn,
    stop_process,
    wait_until,
)
from runtime.settings import Settings
from ticketflow.devserver import start_temporal, temporal_binary, temporal_ready
from ticketflow.stack import Backoff, Stack, ensure_port_free, say

DEV_CSAT_SECRET_FILE = "csat-secret"  # noqa: S105 - a file name, not a secret
DEV_TOKENS = (
    "dev-service-token:service,dev-agent-token:agent:alice,"
    "dev-agent2-token:agent:bob,dev-admin-token:admin,"
    "dev-manager-token:support_manager:judy,dev-finance-token:finance_director:frida"
)

__all__ = [
    "DEV_TOKENS",
    "STOP_TIMEOUT_SECONDS",
    "DevError",
    "DevOptions",
    "Interrupted",
    "Process",
    "_die_with_parent",
    "accepts_connections",
    "describe_exit",
    "ensure_port_free",
    "log_tail",
    "run",
    "spawn",
    "start_temporal",
    "stop_process",
    "temporal_binary",
    "temporal_ready",
    "wait_until",
]


class DevOptions(BaseSettings):
    """Ports and restart waits of the embedded parts, overridable so a test stack can run
    beside `make run`, and quickly."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    temporal_port: int = Field(default=7233, alias="TICKETFLOW_DEV_TEMPORAL_PORT")
    ui_port: int = Field(default=8233, alias="TICKETFLOW_DEV_UI_PORT")
    smtp_port: int = Field(default=1025, alias="TICKETFLOW_DEV_SMTP_PORT")
    start_timeout: float = Field(default=120.0, alias="TICKETFLOW_DEV_START_TIMEOUT")
    # A part that dies is started again after 1 s, 2 s, 4 s ... up to 30 s, and after 1 s
    # again once it has stayed up for a minute (stack.Backoff).
    restart_backoff: float = Field(default=1.0, gt=0, alias="TICKETFLOW_DEV_RESTART_BACKOFF")
    restart_backoff_max: float = Field(
        default=30.0, gt=0, alias="TICKETFLOW_DEV_RESTART_BACKOFF_MAX"
    )
    restart_reset_after: float = Field(
        default=60.0, gt=0, alias="TICKETFLOW_DEV_RESTART_RESET_AFTER"
    )

    def backoff(self) -> Backoff:
        return Backoff(self.restart_backoff, self.restart_backoff_max, self.restart_reset_after)


def _embedded_smtp(settings: Settings) -> bool:
    return not settings.smtp_host and settings.smtp_port is None


def child_env(settings: Settings, options: DevOptions, base: Mapping[str, str]) -> dict[str, str]:
    """The environment of the worker, API and migrations: `base` plus the embedded parts."""
    env = {**base, "PYTHONUNBUFFERED": "1", "TICKETFLOW_DATA_DIR": str(settings.data_dir.resolve())}
    env["TEMPORAL_ADDRESS"] = settings.temporal_address or f"127.0.0.1:{options.temporal_port}"
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    if _embedded_smtp(settings):
        env.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(options.smtp_port))
    if settings.tokens is None:
        env["TICKETFLOW_TOKENS"] = DEV_TOKENS
    if not settings.webhook_allowed_hosts:  # a receiver on this machine, for trying webhooks
        env["TICKETFLOW_WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    # The dev UI (in a browser on this machine) decodes payloads without a token (api.codec).
    env.setdefault("CODEC_ALLOW_LOOPBACK", "true")
    env.setdefault("CODEC_UI_ORIGIN", f"http://127.0.0.1:{options.ui_port}")
    return env


def dev_csat_secret(data_dir: Path) -> str:
    """The development survey-link secret in `data_dir`, created once (mode 0600)."""
    path = data_dir / DEV_CSAT_SECRET_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    secret = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    return secret


def codec_endpoint(settings: Settings) -> str:
    """The API's codec server, as the dev UI and `temporal … --codec-endpoint` call it."""
    return f"{api_url(settings)}/codec"


def api_url(settings: Settings) -> str:
    wildcard = settings.api_host in ("", "0.0.0.0", "::")  # noqa: S104 - comparing, not binding
    return f"http://{'127.0.0.1' if wildcard else settings.api_host}:{settings.api_port}"


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def banner(settings: Settings, options: DevOptions) -> str:
    api, temporal = api_url(settings), f"Temporal     {settings.temporal_address} (external)"
    if not settings.temporal_address:
        temporal = (
            f"Temporal UI  http://127.0.0.1:{options.ui_port}  (gRPC :{options.temporal_port})"
        )
    mail = f"SMTP {settings.effective_smtp_host}:{settings.effective_smtp_port} (external)"
    if _embedded_smtp(settings):
        mail = f"{settings.data_dir / 'mail'}/  (SMTP sink on 127.0.0.1:{options.smtp_port})"
    lines = [
        "",
        "ticketflow is running",
        f"  API          {api}",
        f"  API docs     {api}/docs",
        f"  {temporal}",
        f"  Mail         {mail}",
        f"  Codec        {codec_endpoint(settings)}  (decodes payloads for the UI and CLI)",
    ]
    if settings.tokens is None:
        lines.append("  Dev tokens   (Authorization: Bearer <token>)")
        for token, role in (entry.split(":", 1) for entry in DEV_TOKENS.split(",")):
            lines.append(f"    {token:<18} {role.replace(':', ' ')}")
    return "\n".join([*lines, "Ctrl-C stops everything.", ""])


def _check_ports(settings: Settings, options: DevOptions) -> None:
    if not settings.temporal_address:
        also = "TICKETFLOW_DEV_TEMPORAL_PORT (or TEMPORAL_ADDRESS to use that server)"
        ensure_port_free("127.0.0.1", options.temporal_port, "Temporal", also)
        ensure_port_free("127.0.0.1", options.ui_port, "Temporal UI", "TICKETFLOW_DEV_UI_PORT")
    if _embedded_smtp(settings):
        also = "TICKETFLOW_DEV_SMTP_PORT (or SMTP_HOST/SMTP_PORT to use that server)"
        ensure_port_free("127.0.0.1", options.smtp_port, "SMTP sink", also)
    ensure_port_free(settings.api_host, settings.api_port, "API", "API_PORT")


def _start_temporal(settings: Settings, options: DevOptions, stack: Stack) -> None:
    binary, namespace = temporal_binary(), settings.temporal_namespace
    db_file = (settings.data_dir / "temporal.db").resolve()
    log_file = settings.data_dir / "temporal.log"
    say(f"starting the Temporal dev server (log: {log_file})")

    def start(*, append: bool = True) -> Process:
        return start_temporal(binary, db_file=db_file, log_file=log_file, append=append,
                              port=options.temporal_port, ui_port=options.ui_port,
                              namespace=namespace,
                              codec_endpoint=codec_endpoint(settings))  # fmt: skip

    # A restart needs no readiness wait: the attributes are in the database file now.
    stack.add("temporal", start(append=False), start, hint=f" (log: {log_file})")
    address = f"127.0.0.1:{options.temporal_port}"
    try:
        stack.wait_until(
            "the Temporal dev server with the search attributes",
            lambda: temporal_ready(binary, address, namespace),
            options.start_timeout,
        )
    except DevError as exc:
        tail = log_tail(log_file)
        raise DevError(f"{exc}\n  database: {db_file}\n  end of {log_file}:{tail}") from None


def _start(settings: Settings, options: DevOptions, stack: Stack) -> None:
    _check_ports(settings, options)
    if settings.payload_keys is None:
        # Kept in the data dir (0600): the worker, the API and the commands all find it there.
        say(f"payload key: {dev_keyring_file(settings.data_dir)}")
    env = child_env(settings, options, os.environ)
    if settings.csat_secret is None:
        # Survey emails carry one-click links to this API, signed with a secret kept (0600)
        # in the data dir, like the payload key.
        env["TICKETFLOW_CSAT_SECRET"] = dev_csat_secret(settings.data_dir)
        env.setdefault("PUBLIC_URL", api_url(settings))
    python, timeout = [sys.executable, "-m"], options.start_timeout
    if not settings.temporal_address:
        _start_temporal(settings, options, stack)
    if _embedded_smtp(settings):
        port, mail_dir = options.smtp_port, settings.data_dir / "mail"
        sink = [*python, "ticketflow.smtp_sink", "--port", str(port), "--dir", str(mail_dir)]
        start_sink = partial(spawn, sink, env=env, own_group=True)
        stack.add("smtp-sink", start_sink(), start_sink)
        stack.wait_until("the SMTP sink", lambda: accepts_connections("127.0.0.1", port), timeout)

    say("running migrations")
    migrate = spawn([*python, "ticketflow", "migrate"], env=env)
    try:  # no time limit: a migration cut short helps nobody
        stack.wait_until("migrations", lambda: migrate.poll() is not None, math.inf)
    finally:
        stop_process(migrate)
    if migrate.returncode:
        raise DevError(f"migrations {describe_exit(migrate.returncode)}; see the output above")

    say("starting the worker and the API")
    for name in ("worker", "api"):
        start = partial(spawn, [*python, "ticketflow", name], env=env)
        stack.add(name, start(), start)
    health = f"{api_url(settings)}/healthz"
    stack.wait_until(f"the API ({health})", lambda: _healthy(health), timeout)


def run(settings: Settings, options: DevOptions | None = None) -> int:
    """Run the stack until a stop signal (exit 0) or a failure to start (exit 1); restart a
    part that dies once the stack is up; leave no child behind."""
    options = options or DevOptions()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(settings.data_dir / "dev.pids")
    try:
        _start(settings, options, stack)
        print(banner(settings, options), flush=True)
        stack.supervise(options.backoff())
        say("stopping")
        return 0
    except DevError as exc:
        say(f"error: {exc}", error=True)
        return 1
    except Interrupted:
        say("interrupted while starting; stopping")
        return 0
    finally:
        stack.close()
