"""The ticketflow worker: runs `TicketWorkflow`, `IncidentWorkflow` and their activities.

`main()` is one worker process. `run_processes(n)` is `ticketflow worker --processes N`:
N such processes, each with its own Temporal client, event loop and workflow cache, polling
the same task queue; the parent only starts them, forwards SIGINT/SIGTERM to them, and
exits once they have all stopped. When one stops by itself (a crash), the parent stops
the others and exits with its code, so whatever supervises the parent (compose's restart
policy, `ticketflow dev`) restarts the whole set.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from types import FrameType
from typing import NoReturn

import httpx
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from activities.approvals import ApprovalActivities
from activities.dispatch import DispatchActivities
from activities.email import EmailActivities, SmtpConfig, SmtpMailer
from activities.incidents import IncidentActivities
from activities.letterhead import Letterhead
from activities.projection import ProjectionActivities
from activities.rendering import TemplateRenderer
from activities.webhook_dispatch import WebhookDispatcher, running
from activities.webhooks import WebhookConfig, WebhookSender
from domain.policy.support import SupportPolicy
from domain.webhooks import parse_patterns
from runtime.codec import settings_codec
from runtime.policy_file import load_policy
from runtime.processes import Process, describe_exit, spawn
from runtime.settings import Settings, get_settings
from runtime.temporal import connect
from store.engine import create_engine, create_sessionmaker
from workflows.approval import ApprovalWorkflow
from workflows.incident import IncidentWorkflow
from workflows.sandbox import sandbox_runner
from workflows.ticket import TicketWorkflow

log = logging.getLogger("ticketflow.worker")


def metrics_runtime(port: int | None) -> Runtime | None:
    """A Temporal runtime serving the SDK's metrics at `127.0.0.1:<port>/metrics` (None: no port
    configured, the SDK's default runtime, no metrics endpoint)."""
    if port is None:
        return None
    prometheus = PrometheusConfig(bind_address=f"127.0.0.1:{port}")
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))


def build_worker(
    client: Client,
    task_queue: str,
    *,
    projection: ProjectionActivities,
    email: EmailActivities,
    dispatch: DispatchActivities,
    incidents: IncidentActivities,
    approvals: ApprovalActivities | None = None,
    max_concurrent_activities: int = 100,
    max_cached_workflows: int = 1000,
) -> Worker:
    """The ticket worker; `max_cached_workflows` bounds its memory (WORKER_MAX_CACHED_WORKFLOWS).
    `approvals` None: the store-only ledger on the projection's store."""
    approvals = approvals or ApprovalActivities(projection.sessions)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[TicketWorkflow, ApprovalWorkflow, IncidentWorkflow],
        activities=[
            projection.record_ticket,
            email.send_emails,
            email.send_email,
            dispatch.dispatch_queue,
            incidents.record_incident,
            incidents.link_tickets,
            incidents.deliver,
            approvals.record_approval,
            approvals.issue_refund,
        ],
        workflow_runner=sandbox_runner(),
        max_concurrent_activities=max_concurrent_activities,
        max_cached_workflows=max_cached_workflows,
    )


def letterhead(settings: Settings, policy: SupportPolicy) -> Letterhead:
    """The brand (policy), the ticket links and the survey's signed links (settings)."""
    secret = settings.csat_secret.get_secret_value().encode() if settings.csat_secret else None
    if secret is None:
        log.warning("no TICKETFLOW_CSAT_SECRET: surveys ask for a reply instead of links")
    return Letterhead(
        brand=policy.brand,
        portal_url=settings.portal_url,
        survey_url=settings.survey_base_url,
        survey_secret=secret,
    )


async def run(settings: Settings, stop: asyncio.Event) -> None:
    """Serve the task queue until `stop` is set, then drain and shut down."""
    policy = load_policy(settings.policy_file)
    engine = create_engine(settings.effective_database_url)
    sessions = create_sessionmaker(engine)
    renderer = TemplateRenderer(
        override_dir=settings.policy_file.parent / policy.templates_dir
        if policy.templates_dir
        else None,
        fallback_language=policy.default_language,
        vocabulary=policy.vocabulary,
    )
    mailer = SmtpMailer(
        SmtpConfig(
            host=settings.effective_smtp_host,
            port=settings.effective_smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
            use_tls=settings.smtp_use_tls,
            timeout=settings.smtp_timeout,
        )
    )
    runtime = metrics_runtime(settings.metrics_port)
    codec = settings_codec(settings)
    if codec is None:
        log.warning("no TICKETFLOW_PAYLOAD_KEYS: customer data goes to Temporal in clear")
    client = await connect(
        settings.effective_temporal_address,
        settings.temporal_namespace,
        runtime=runtime,
        codec=codec,
    )
    worker = build_worker(
        client,
        settings.temporal_task_queue,
        projection=ProjectionActivities(sessions),
        email=EmailActivities(
            sessions, mailer, renderer, settings.mail_from, letterhead(settings, policy)
        ),
        dispatch=DispatchActivities(sessions, client, policy),
        incidents=IncidentActivities(sessions, client),
        approvals=ApprovalActivities(sessions, payment_url=settings.payment_url),
        max_cached_workflows=settings.worker_max_cached_workflows,
    )
    log.info(
        "worker polling %s on %s (workflow cache %d)",
        settings.temporal_task_queue,
        settings.effective_temporal_address,
        settings.worker_max_cached_workflows,
    )
    config = webhook_config(settings)
    try:
        async with httpx.AsyncClient() as http, worker:
            sender = WebhookSender(
                sessions, http, config, (runtime or Runtime.default()).metric_meter
            )
            async with running(WebhookDispatcher(sessions, sender, config)):
                await stop.wait()
    finally:
        await engine.dispose()


def webhook_config(settings: Settings) -> WebhookConfig:
    return WebhookConfig(
        allowed_hosts=parse_patterns(settings.webhook_allowed_hosts),
        retry_window=timedelta(seconds=settings.webhook_retry_seconds),
        pause_after=timedelta(seconds=settings.webhook_pause_after_seconds),
        backoff=timedelta(seconds=settings.webhook_backoff_seconds),
        backoff_max=timedelta(seconds=settings.webhook_backoff_max_seconds),
        timeout=settings.webhook_timeout_seconds,
        poll=settings.webhook_poll_seconds,
    )


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s worker[%(process)d] %(levelname)s %(message)s"
    )

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(get_settings(), stop)

    asyncio.run(_main())
    leave(0)  # an error raised above keeps its traceback and exit status


def leave(status: int) -> NoReturn:
    """Exit without the interpreter's finalization, where temporalio's native runtime can
    crash (sdk-python #300: "PyGILState_Release" and exit 134 after a clean stop); the worker
    has shut down by now, so only the logs and standard streams are left to flush."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


# -- N processes ----------------------------------------------------------------------------

POLL_SECONDS = 0.2


def child_env(settings: Settings, index: int) -> dict[str, str]:
    """Process `index`'s environment: one process each; its own metrics port if any."""
    env = {**os.environ, "WORKER_PROCESSES": "1"}
    if settings.metrics_port is not None:
        env["WORKER_METRICS_PORT"] = str(settings.metrics_port + index)
    return env


def run_processes(count: int, settings: Settings) -> int:
    """Run `count` worker processes until a stop signal or until one of them stops by itself;
    the exit code: 0 after a stop signal that every process obeyed, else the first failure's
    (a process killed by signal S counts as 128 + S)."""
    children: list[Process] = []
    stop_signal: int | None = None

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stop_signal
        stop_signal = signum
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        argv = [sys.executable, "-m", "ticketflow", "worker", "--processes", "1"]
        for index in range(count):
            if stop_signal is not None:
                break
            children.append(spawn(argv, env=child_env(settings, index)))
        print(
            f"worker: {len(children)} processes, pids {' '.join(str(c.pid) for c in children)}",
            file=sys.stderr,
            flush=True,
        )
        failure = _wait(children, lambda: stop_signal is not None)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return failure


def _wait(children: list[Process], stopping: Callable[[], bool]) -> int:
    """Until every child has exited. The first to exit before a stop signal makes the others
    stop (SIGTERM) and decides the exit code; after a stop signal, any child that did not
    exit cleanly does."""
    failure = 0
    while any(child.poll() is None for child in children):
        crashed = [c for c in children if c.poll() is not None]
        if crashed and not failure and not stopping():
            first = crashed[0]
            assert first.returncode is not None
            print(
                f"worker: process {first.pid} {describe_exit(first.returncode)}; "
                "stopping the others",
                file=sys.stderr,
                flush=True,
            )
            failure = _exit_code(first.returncode) or 1
            for other in children:
                if other.poll() is None:
                    other.terminate()
        time.sleep(POLL_SECONDS)
    if failure:
        return failure
    for child in children:
        code = child.wait()
        if code not in (0, -signal.SIGINT, -signal.SIGTERM) or not stopping():
            return _exit_code(code) or 1
    return 0


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


if __name__ == "__main__":
    main()
