"""The FastAPI application factory; resources are built in the lifespan, never at import."""

from __future__ import annotations

import email.utils
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api import errors, observability, openapi
from api.agent_actions import AgentActions
from api.approvals import ApprovalService
from api.auth import TokenTable, parse_tokens
from api.codec import CodecCors
from api.config import ApiSettings
from api.incidents import IncidentService
from api.limits import BodySizeLimit
from api.nul import RefuseNul
from api.ratelimit import RequestRateLimit
from api.routes import (
    approvals,
    codec,
    csat,
    health,
    inbound,
    incidents,
    metrics,
    sla,
    ticket_customer,
    tickets,
    webhooks,
)
from api.service import TicketService
from api.webhooks import WebhookService
from domain.webhooks import parse_patterns
from runtime.codec import settings_codec
from runtime.policy_file import load_policy
from runtime.settings import Settings, get_settings
from runtime.temporal import connect
from store.engine import create_engine, create_sessionmaker


def mail_domain(mail_from: str) -> str:
    """The domain of `MAIL_FROM`, used to mint Message-IDs."""
    address = email.utils.parseaddr(mail_from)[1]
    return address.rpartition("@")[2] or "ticketflow.local"


def create_app(
    settings: Settings | None = None,
    *,
    temporal: Client | None = None,
    bounds: ApiSettings | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    bounds = bounds or ApiSettings()
    tokens = settings.tokens.get_secret_value() if settings.tokens else None
    token_table = TokenTable(parse_tokens(tokens))
    policy = load_policy(settings.policy_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.effective_database_url)
        client = temporal or await connect(
            settings.effective_temporal_address,
            settings.temporal_namespace,
            lazy=True,
            codec=app.state.codec,
        )
        app.state.sessions = create_sessionmaker(engine)
        app.state.temporal = client
        app.state.tokens = token_table
        app.state.policy = policy
        app.state.tickets = TicketService(
            client=client,
            sessions=app.state.sessions,
            policy=policy,
            task_queue=settings.temporal_task_queue,
            ticket_prefix=settings.ticket_prefix,
            mail_domain=mail_domain(settings.mail_from),
        )
        app.state.actions = AgentActions(client=client, sessions=app.state.sessions, policy=policy)
        app.state.incidents = IncidentService(
            client=client,
            sessions=app.state.sessions,
            policy=policy,
            task_queue=settings.temporal_task_queue,
            mail_domain=mail_domain(settings.mail_from),
        )
        app.state.approvals = ApprovalService(
            client=client, sessions=app.state.sessions, policy=policy
        )
        app.state.webhooks = WebhookService(
            app.state.sessions, parse_patterns(settings.webhook_allowed_hosts)
        )
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="ticketflow",
        version="1",
        summary="Support tickets as durable Temporal workflows with exact SLAs.",
        lifespan=lifespan,
        responses=errors.documented(413, 429),
    )
    app.state.bounds = bounds
    app.state.tokens = token_table
    app.state.codec = settings_codec(settings)
    app.state.namespace = settings.temporal_namespace
    app.state.policy = policy
    app.state.csat_secret = (
        settings.csat_secret.get_secret_value().encode() if settings.csat_secret else None
    )
    # Added innermost first: latency (outermost) sees every answer, a refused rate never
    # reads its body, the body limit buffers what the NUL check and the routes read.
    app.add_middleware(RefuseNul)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(CodecCors, settings=bounds)
    if bounds.rate_limit_enabled:
        app.add_middleware(RequestRateLimit, tokens=token_table, settings=bounds)
    observability.install(app)
    errors.install(app)
    openapi.install(app, policy.vocabulary)
    app.include_router(health.router)
    app.include_router(tickets.router)
    app.include_router(ticket_customer.router)
    app.include_router(incidents.router)
    app.include_router(sla.router)
    app.include_router(metrics.router)
    app.include_router(webhooks.router)
    app.include_router(approvals.router)
    app.include_router(codec.router)
    app.include_router(csat.router)
    app.include_router(
        inbound.build_router(
            ticket_prefix=settings.ticket_prefix,
            mail_domain=mail_domain(settings.mail_from),
            mail_from=settings.mail_from,
        )
    )
    return app
