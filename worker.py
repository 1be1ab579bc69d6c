"""The ticketflow worker process: runs `TicketWorkflow` and its activities."""

from __future__ import annotations

import asyncio
import logging
import signal

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from activities.dispatch import DispatchActivities
from activities.email import EmailActivities, SmtpConfig, SmtpMailer
from activities.projection import ProjectionActivities
from activities.rendering import TemplateRenderer
from domain.policy import load_policy
from store.engine import create_engine, create_sessionmaker
from ticketflow.settings import Settings, get_settings
from ticketflow.temporal import build_worker, connect

log = logging.getLogger("ticketflow.worker")


def metrics_runtime(port: int | None) -> Runtime | None:
    """A Temporal runtime serving the SDK's metrics at `127.0.0.1:<port>/metrics` (None: no port
    configured, the SDK's default runtime, no metrics endpoint)."""
    if port is None:
        return None
    prometheus = PrometheusConfig(bind_address=f"127.0.0.1:{port}")
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))


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
    )
    mailer = SmtpMailer(
        SmtpConfig(
            host=settings.effective_smtp_host,
            port=settings.effective_smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            use_tls=settings.smtp_use_tls,
            timeout=settings.smtp_timeout,
        )
    )
    client = await connect(
        settings.effective_temporal_address,
        settings.temporal_namespace,
        runtime=metrics_runtime(settings.metrics_port),
    )
    worker = build_worker(
        client,
        settings.temporal_task_queue,
        projection=ProjectionActivities(sessions),
        email=EmailActivities(sessions, mailer, renderer, settings.mail_from),
        dispatch=DispatchActivities(sessions, client, policy),
    )
    log.info(
        "worker polling %s on %s", settings.temporal_task_queue, settings.effective_temporal_address
    )
    try:
        async with worker:
            await stop.wait()
    finally:
        await engine.dispose()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(get_settings(), stop)

    asyncio.run(_main())


if __name__ == "__main__":
    main()
