"""An API app wired to a real Temporal test server, a real store and a real SMTP server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from runtime.settings import Settings
from tests.conftest import Mailbox
from tests.workflows.harness import running_worker

TOKENS = "svc:service,alice-token:agent:alice,bob-token:agent:bob,admin-token:admin"
SERVICE = {"Authorization": "Bearer svc"}
ALICE = {"Authorization": "Bearer alice-token"}
ADMIN = {"Authorization": "Bearer admin-token"}


@dataclass
class Api:
    http: httpx.AsyncClient
    mailbox: Mailbox
    database_url: str
    client: Client


def settings_for(database_url: str, task_queue: str, smtp_port: int) -> Settings:
    return Settings.model_validate(
        {
            "DATABASE_URL": database_url,
            "TEMPORAL_TASK_QUEUE": task_queue,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": smtp_port,
            "TICKETFLOW_TOKENS": TOKENS,
            "MAIL_FROM": "Support <support@desk.example>",
        }
    )


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on `app` in process, its lifespan (startup, shutdown) around it."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        yield http


def inbound_mail(sender: str = "Ana Novak <ana@example.com>", **overrides: Any) -> dict[str, Any]:
    """A `POST /v1/inbound/email` body from `sender`, a fresh Message-ID, `overrides` on top."""
    body: dict[str, Any] = {
        "from": sender,
        "to": ["Support <support@desk.example>"],
        "subject": "Export fails",
        "text": "The CSV export stops halfway.",
        "message_id": f"<{uuid.uuid4()}@mail.example.com>",
    }
    return body | overrides


@pytest.fixture
async def api(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> AsyncIterator[Api]:
    box, port = smtp
    app = create_app(settings_for(database_url, task_queue, port), temporal=time_env.client)
    async with (
        running_worker(time_env.client, task_queue, database_url, port),
        serving(app) as http,
    ):
        yield Api(http=http, mailbox=box, database_url=database_url, client=time_env.client)
