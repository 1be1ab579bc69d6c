"""Running a policy pack's process on the time-skipping server: a worker with the pack's
policy and templates, real SMTP and the real store, and small readers for what it did."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from activities.letterhead import Letterhead
from domain.intake.admission import admit
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.dispatch import DispatchActivities
from activities.email import EmailActivities, SmtpConfig, SmtpMailer
from activities.projection import ProjectionActivities
from activities.rendering import TemplateRenderer
from domain.enums import EventType
from domain.policy.support import SupportPolicy
from domain.ticket.requests import TicketCreate
from runtime.policy_file import load_policy
from store.engine import create_engine, create_sessionmaker
from tests.conftest import Mailbox
from tests.workflows.harness import started, store_events
from worker import build_worker
from workflows.ticket import TicketWorkflow, TicketWorkflowInput

PACKS = Path(__file__).resolve().parents[2] / "config" / "packs"
PORTAL_URL = "https://support.desk.example"
SURVEY_SECRET = b"pack-scenario-survey-secret"


def pack_file(name: str) -> Path:
    return PACKS / name / "policy.yaml"


def load_pack(name: str) -> SupportPolicy:
    return load_policy(pack_file(name))


def pack_renderer(name: str, policy: SupportPolicy) -> TemplateRenderer:
    """The renderer the worker builds for this pack (`worker.run`): its templates first."""
    override = pack_file(name).parent / policy.templates_dir if policy.templates_dir else None
    return TemplateRenderer(
        override_dir=override,
        fallback_language=policy.default_language,
        vocabulary=policy.vocabulary,
    )


@asynccontextmanager
async def pack_worker(
    client: Client, task_queue: str, database_url: str, smtp_port: int, name: str
) -> AsyncIterator[SupportPolicy]:
    """A worker running `name`'s policy and templates, as `worker.run` builds it, with
    `PORTAL_URL` set (ticket links) and a survey secret (one-click score links)."""
    policy = load_pack(name)
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    mailer = SmtpMailer(SmtpConfig(host="127.0.0.1", port=smtp_port, timeout=10))
    worker = build_worker(
        client,
        task_queue,
        projection=ProjectionActivities(sessions),
        email=EmailActivities(
            sessions,
            mailer,
            pack_renderer(name, policy),
            "support@desk.example",
            Letterhead(
                brand=policy.brand,
                portal_url=PORTAL_URL,
                survey_url=PORTAL_URL,
                survey_secret=SURVEY_SECRET,
            ),
        ),
        dispatch=DispatchActivities(sessions, client, policy),
    )
    try:
        async with worker:
            yield policy
    finally:
        await engine.dispose()


async def start_ticket(
    env: WorkflowEnvironment,
    task_queue: str,
    policy: SupportPolicy,
    ticket_id: str,
    body: dict[str, Any],
    created_at: datetime,
) -> WorkflowHandle[Any, Any]:
    """Open a ticket as the API would at `created_at`: the request admitted by the policy's
    vocabulary (default plan, channel entitlement), then routed and snapshotted."""
    request = admit(policy.vocabulary, TicketCreate.model_validate(body))
    start = started(ticket_id, created_at, request, policy)
    return await env.client.start_workflow(
        TicketWorkflow.run, TicketWorkflowInput(started=start), id=ticket_id, task_queue=task_queue
    )


async def skip_to(env: WorkflowEnvironment, moment: datetime) -> None:
    """Let the test server's clock run to `moment` (timers fire on the way)."""
    now = await env.get_current_time()
    if moment > now:
        await env.sleep(moment - now)


async def escalations(database_url: str, ticket_id: str) -> list[tuple[int, int, str, datetime]]:
    """(from, to, trigger, at) of every escalation on the ticket's timeline."""
    return [
        (e.data["from"], e.data["to"], e.data["trigger"], e.at.replace(tzinfo=UTC))
        for e in await store_events(database_url, ticket_id)
        if e.type == EventType.ESCALATED
    ]


def address(message: EmailMessage) -> str:
    return str(message["To"]).split("<")[-1].rstrip(">").lower()


def text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def sent_to(box: Mailbox, recipient: str) -> list[EmailMessage]:
    return [m for m in box.messages if address(m) == recipient.lower()]
