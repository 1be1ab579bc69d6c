"""The minimal anchor's two activities, written as plainly as possible (`bench.anchors`).

`insert_ticket` inserts the ticket's row and its `created` event in one transaction, with
the store's own tables and engine set-up (WAL and busy timeout on SQLite, a pool on
PostgreSQL); `send_acknowledgment` sends one plain-text email over SMTP. No rendering
engine, no outbox, no idempotency: the least that puts a ticket in the store and an
acknowledgment in the customer's inbox. The shape anchor's activities do nothing at all.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from bench.anchors import AnchorIntake
from store.models import Base

TICKETS = Base.metadata.tables["tickets"]
EVENTS = Base.metadata.tables["ticket_events"]


def ticket_row(intake: AnchorIntake, now: datetime) -> dict[str, Any]:
    """The `tickets` row of a new ticket, for whichever of these columns the table has."""
    row: dict[str, Any] = {
        "id": intake.ticket_id,
        "subject": intake.subject,
        "description": intake.description,
        "status": "new",
        "priority": intake.priority,
        "channel": intake.channel,
        "category": "general",
        "plan": intake.plan,
        "requester_email": intake.requester_email,
        "language": "en",
        "escalation_level": 0,
        "sla_breached": False,
        "sla_policy_id": "anchor",
        "sla_policy_version": "1",
        "created_at": now,
        "updated_at": now,
        "last_seq": 1,
        "state": {"subject": intake.subject, "description": intake.description},
    }
    return {name: value for name, value in row.items() if name in TICKETS.c}


class AnchorActivities:
    def __init__(self, engine: AsyncEngine, smtp_host: str, smtp_port: int) -> None:
        self._engine = engine
        self._smtp_host = smtp_host
        self._smtp_port = smtp_port
        self._ehlo = socket.getfqdn()  # once, as ticketflow's mailer does

    @activity.defn(name="noop_record")
    async def noop_record(self, intake: AnchorIntake) -> None:
        return None

    @activity.defn(name="noop_acknowledge")
    async def noop_acknowledge(self, intake: AnchorIntake) -> None:
        return None

    @activity.defn(name="insert_ticket")
    async def insert_ticket(self, intake: AnchorIntake) -> None:
        now = datetime.now(UTC)
        async with self._engine.begin() as db:
            await db.execute(insert(TICKETS).values(ticket_row(intake, now)))
            await db.execute(
                insert(EVENTS).values(
                    ticket_id=intake.ticket_id,
                    seq=1,
                    type="created",
                    at=now,
                    actor="system",
                    data={"channel": intake.channel, "priority": intake.priority},
                )
            )

    @activity.defn(name="send_acknowledgment")
    async def send_acknowledgment(self, intake: AnchorIntake) -> None:
        message = EmailMessage()
        message["From"] = "Support <support@ticketflow.local>"
        message["To"] = f"{intake.requester_name} <{intake.requester_email}>"
        message["Subject"] = f"[{intake.ticket_id}] {intake.subject}"
        message.set_content(
            f"Hello {intake.requester_name},\n\nwe have received your request "
            f"{intake.ticket_id} ({intake.priority}) and will answer soon.\n"
        )
        await aiosmtplib.send(
            message, hostname=self._smtp_host, port=self._smtp_port, local_hostname=self._ehlo
        )

    def all(self) -> list[Any]:
        return [
            self.noop_record,
            self.noop_acknowledge,
            self.insert_ticket,
            self.send_acknowledgment,
        ]
