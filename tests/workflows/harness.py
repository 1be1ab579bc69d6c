"""A worker with the real activities on a given Temporal environment, store and SMTP port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from temporalio.client import Client
from temporalio.worker import Worker

from activities.approvals import ApprovalActivities
from activities.dispatch import DispatchActivities
from activities.email import EmailActivities, SmtpConfig, SmtpMailer
from activities.incidents import IncidentActivities
from activities.letterhead import Letterhead
from activities.projection import ProjectionActivities
from activities.rendering import TemplateRenderer
from domain.intake.decide import decide
from domain.policy.support import SupportPolicy
from domain.ticket.requests import TicketCreate
from domain.ticket.state import TicketStarted
from runtime.policy_file import load_policy
from runtime.settings import DEFAULT_POLICY_FILE
from store.engine import create_engine, create_sessionmaker
from store.models import Ticket as StoredTicket
from store.models import TicketEventRow
from store.repository import get_ticket, list_events
from worker import build_worker

DEFAULT_POLICY = load_policy(DEFAULT_POLICY_FILE)


@asynccontextmanager
async def running_worker(
    client: Client,
    task_queue: str,
    database_url: str,
    smtp_port: int,
    policy: SupportPolicy = DEFAULT_POLICY,
    max_cached_workflows: int = 1000,
    letterhead: Letterhead | None = None,
    payment_url: str | None = None,
) -> AsyncIterator[Worker]:
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    mailer = SmtpMailer(SmtpConfig(host="127.0.0.1", port=smtp_port, timeout=10))
    worker = build_worker(
        client,
        task_queue,
        projection=ProjectionActivities(sessions),
        email=EmailActivities(
            sessions, mailer, TemplateRenderer(), "support@desk.example", letterhead
        ),
        dispatch=DispatchActivities(sessions, client, policy),
        incidents=IncidentActivities(sessions, client),
        approvals=ApprovalActivities(sessions, payment_url=payment_url),
        max_cached_workflows=max_cached_workflows,
    )
    try:
        async with worker:
            yield worker
    finally:
        await engine.dispose()


def request(**overrides: object) -> TicketCreate:
    body: dict[str, object] = {
        "requester": {"email": "ana@example.com", "name": "Ana Novak", "plan": "starter"},
        "subject": "Cannot download my invoice",
        "description": "The invoice page shows an error since this morning.",
        "channel": "email",
        "priority": "P2",
    }
    body.update(overrides)
    return TicketCreate.model_validate(body)


def started(
    ticket_id: str,
    created_at: datetime,
    body: TicketCreate | None = None,
    policy: SupportPolicy = DEFAULT_POLICY,
) -> TicketStarted:
    """The workflow input the API would build (routing and snapshots), without a store."""
    return decide(
        policy,
        ticket_id=ticket_id,
        request=body or request(),
        created_at=created_at,
        mail_domain="desk.example",
    )


async def store_events(database_url: str, ticket_id: str) -> list[TicketEventRow]:
    """The ticket's timeline as the store has it now."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return await list_events(session, ticket_id=ticket_id)
    finally:
        await engine.dispose()


async def store_row(database_url: str, ticket_id: str) -> StoredTicket | None:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return await get_ticket(session, ticket_id=ticket_id)
    finally:
        await engine.dispose()
