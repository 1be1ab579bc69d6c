"""A desk running one policy pack: the API app and a worker built as `worker.run` builds them
(the pack's policy, its template overrides, its brand), on the time-skipping server, a real
store and a real SMTP server. The scenario tests walk a seed desk's process through it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from activities.dispatch import DispatchActivities
from activities.email import EmailActivities, SmtpConfig, SmtpMailer
from activities.incidents import IncidentActivities
from activities.projection import ProjectionActivities
from activities.rendering import TemplateRenderer
from api.app import create_app
from domain.policy.support import SupportPolicy
from domain.ticket.requests import TicketCreate
from runtime.policy_file import load_policy
from runtime.settings import Settings
from store.engine import create_engine, create_sessionmaker
from store.models import TicketEventRow
from tests.api.conftest import serving
from tests.conftest import Mailbox, eventually
from tests.workflows.harness import started, store_events
from worker import build_worker, letterhead
from workflows.ticket import TicketWorkflow, TicketWorkflowInput

REPO = Path(__file__).resolve().parents[2]
PACKS = REPO / "config" / "packs"
SERVICE = {"Authorization": "Bearer svc"}
PORTAL_URL = "https://portal.desk.example"
# The in-process API answers on http://api: survey links point there, so a test follows them.
PUBLIC_URL = "http://api"


def pack_file(pack: str) -> Path:
    return PACKS / pack / "policy.yaml"


def agent_headers(agent_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {agent_id}-token"}


def pack_settings(pack: str, database_url: str, task_queue: str, smtp_port: int) -> Settings:
    agents = load_policy(pack_file(pack)).agents
    tokens = ",".join(
        ["svc:service", "admin-token:admin", *(f"{a}-token:agent:{a}" for a in agents)]
    )
    return Settings.model_validate(
        {
            "DATABASE_URL": database_url,
            "TEMPORAL_TASK_QUEUE": task_queue,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": smtp_port,
            "TICKETFLOW_CONFIG": str(pack_file(pack)),
            "TICKETFLOW_TOKENS": tokens,
            "MAIL_FROM": "Support <support@desk.example>",
            "PORTAL_URL": PORTAL_URL,
            "PUBLIC_URL": PUBLIC_URL,
            "TICKETFLOW_CSAT_SECRET": "pack-scenario-secret",
        }
    )


@dataclass
class Desk:
    env: WorkflowEnvironment
    policy: SupportPolicy
    http: httpx.AsyncClient
    mailbox: Mailbox
    database_url: str
    task_queue: str

    async def start(self, ticket_id: str, created_at: datetime, body: TicketCreate) -> None:
        """Start a ticket created at `created_at` (the time-skipping clock must be there):
        what `POST /v1/tickets` does, at a chosen instant."""
        await self.env.client.start_workflow(
            TicketWorkflow.run,
            TicketWorkflowInput(started=started(ticket_id, created_at, body, self.policy)),
            id=ticket_id,
            task_queue=self.task_queue,
        )

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post("/v1/tickets", json=body, headers=SERVICE)
        assert response.status_code == 201, response.text
        ticket: dict[str, Any] = response.json()
        return ticket

    async def ticket(self, ticket_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/v1/tickets/{ticket_id}", headers=SERVICE)
        assert response.status_code == 200, response.text
        ticket: dict[str, Any] = response.json()
        return ticket

    async def act(
        self, agent_id: str, ticket_id: str, action: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        response = await self.http.post(
            f"/v1/tickets/{ticket_id}/{action}", json=body, headers=agent_headers(agent_id)
        )
        assert response.status_code == 200, response.text
        ticket: dict[str, Any] = response.json()
        return ticket

    async def events(self, ticket_id: str) -> list[TicketEventRow]:
        return await store_events(self.database_url, ticket_id)

    async def wait_for_events(self, ticket_id: str, type_: str, count: int) -> list[TicketEventRow]:
        """The ticket's events of `type_`, once the store has at least `count` of them."""

        async def recorded() -> bool:
            return sum(e.type == type_ for e in await self.events(ticket_id)) >= count

        await eventually(recorded)
        return [e for e in await self.events(ticket_id) if e.type == type_]

    async def wait_for_team(self, ticket_id: str, team: str) -> dict[str, Any]:
        """The ticket once it is in `team`'s queue (a level's team move, then dispatch)."""

        async def moved() -> bool:
            return bool((await self.ticket(ticket_id))["team"] == team)

        await eventually(moved)
        return await self.ticket(ticket_id)

    async def wait_for_mail(self, matches: Any, count: int = 1) -> list[EmailMessage]:
        """The messages `matches(message)` accepts, once `count` of them arrived."""

        async def arrived() -> bool:
            return sum(bool(matches(m)) for m in self.mailbox.messages) >= count

        await eventually(arrived)
        return [m for m in self.mailbox.messages if matches(m)]


@asynccontextmanager
async def open_desk(
    pack: str,
    env: WorkflowEnvironment,
    task_queue: str,
    database_url: str,
    smtp: tuple[Mailbox, int],
) -> AsyncIterator[Desk]:
    box, port = smtp
    settings = pack_settings(pack, database_url, task_queue, port)
    policy = load_policy(settings.policy_file)
    renderer = TemplateRenderer(
        override_dir=settings.policy_file.parent / policy.templates_dir
        if policy.templates_dir
        else None,
        fallback_language=policy.default_language,
        vocabulary=policy.vocabulary,
    )
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    mailer = SmtpMailer(SmtpConfig(host="127.0.0.1", port=port, timeout=10))
    worker = build_worker(
        env.client,
        task_queue,
        projection=ProjectionActivities(sessions),
        email=EmailActivities(
            sessions, mailer, renderer, settings.mail_from, letterhead(settings, policy)
        ),
        dispatch=DispatchActivities(sessions, env.client, policy),
        incidents=IncidentActivities(sessions, env.client),
    )
    app = create_app(settings, temporal=env.client)
    try:
        async with worker, serving(app) as http:
            yield Desk(
                env=env,
                policy=policy,
                http=http,
                mailbox=box,
                database_url=database_url,
                task_queue=task_queue,
            )
    finally:
        await engine.dispose()


# -- reading the mail ------------------------------------------------------------------------


def recipient(message: EmailMessage) -> str:
    return str(message["To"]).split("<")[-1].rstrip(">").lower()


def subject_of(message: EmailMessage) -> str:
    # An encoded (non-ASCII) subject reads back with the folding space in front.
    return str(message["Subject"]).strip()


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def to(address: str) -> Any:
    """A matcher for messages to `address`."""
    return lambda message: recipient(message) == address.lower()


def score_link(message: EmailMessage, score: int) -> str:
    """The path of the survey's one-click link for `score`."""
    links: list[str] = re.findall(rf"{re.escape(PUBLIC_URL)}(/csat/\S+)", text_of(message))
    chosen = [link for link in links if link.endswith(f"score={score}")]
    assert chosen, f"no link for score {score} in:\n{text_of(message)}"
    return chosen[0]
