"""An incident's effects: recording it in the store, and its fan-outs to the linked tickets.

A fan-out is one batch of tickets per activity. Each ticket gets an Update whose id is
deterministic (`<update id>` per ticket), and the ticket itself applies an incident update
once per update id, so a batch retried after a crash (a worker killed mid-broadcast) gives
no ticket anything twice. Progress is heartbeated: a retry skips the tickets done.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.incident.actions import Outcome, TicketOutcome
from domain.incident.state import IncidentEvent, IncidentRowData
from domain.incident.views import incident_event_row
from domain.ticket.links import IncidentLink, IncidentNotice
from store import incidents as store
from store.engine import SessionMaker

STORE_DATA_ERROR = "StoreDataError"
CONCURRENCY = 20
"""Ticket Updates one batch has in flight at once."""


class IncidentProjection(BaseModel):
    incident_id: str
    row: IncidentRowData
    events: list[IncidentEvent]


class LinkBatch(BaseModel):
    incident_id: str
    actor: str
    ticket_ids: list[str]
    unlink: bool = False


class DeliveryBatch(BaseModel):
    incident_id: str
    update_id: str
    kind: str
    body: str
    incident_status: str
    ticket_ids: list[str]


class IncidentActivities:
    def __init__(self, sessions: SessionMaker, client: Client) -> None:
        self._sessions = sessions
        self._client = client

    @activity.defn(name="record_incident")
    async def record_incident(self, projection: IncidentProjection) -> None:
        """Idempotent: an older row and stored events change nothing."""
        try:
            async with self._sessions.begin() as session:
                await store.record_incident(
                    session,
                    row=projection.row.model_dump(),
                    events=[incident_event_row(e) for e in projection.events],
                )
        except (DataError, IntegrityError) as err:
            raise ApplicationError(
                f"the store refused the data of {projection.incident_id}: "
                f"{type(err.orig).__name__}",
                type=STORE_DATA_ERROR,
                non_retryable=True,
            ) from err

    @activity.defn(name="link_tickets")
    async def link_tickets(self, batch: LinkBatch) -> list[TicketOutcome]:
        """Link (or unlink) each ticket: its own Update, refused if it is closed or in
        another incident."""
        link = IncidentLink(incident_id=batch.incident_id, actor=batch.actor)
        name = "unlink_incident" if batch.unlink else "link_incident"
        return await self._each(
            batch.ticket_ids,
            lambda ticket_id: self._send(ticket_id, name, link, None, "linked"),
        )

    @activity.defn(name="deliver_incident_update")
    async def deliver(self, batch: DeliveryBatch) -> list[TicketOutcome]:
        """One incident update (or its resolution) to each ticket of the batch, once each."""
        notice = IncidentNotice(
            incident_id=batch.incident_id,
            update_id=batch.update_id,
            kind="resolve" if batch.kind == "resolve" else "update",
            body=batch.body,
            incident_status=batch.incident_status,
        )
        return await self._each(
            batch.ticket_ids,
            lambda ticket_id: self._send(
                ticket_id, "incident_notice", notice, batch.update_id, "applied"
            ),
        )

    async def _each(self, ticket_ids: list[str], send: Any) -> list[TicketOutcome]:
        details = activity.info().heartbeat_details
        done: dict[str, TicketOutcome] = {}
        if details:
            for item in details[0]:
                outcome = TicketOutcome.model_validate(item)
                done[outcome.ticket_id] = outcome
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(ticket_id: str) -> None:
            async with gate:
                done[ticket_id] = await send(ticket_id)
                activity.heartbeat([o.model_dump() for o in done.values()])

        await asyncio.gather(*(one(t) for t in ticket_ids if t not in done))
        return [done[t] for t in ticket_ids]

    async def _send(
        self,
        ticket_id: str,
        update: str,
        arg: BaseModel,
        update_id: str | None,
        ok: Outcome,
    ) -> TicketOutcome:
        handle = self._client.get_workflow_handle(ticket_id)
        try:
            brief = await handle.execute_update(update, arg, id=update_id)
        except WorkflowUpdateFailedError as err:
            return TicketOutcome(ticket_id=ticket_id, outcome="refused", reason=_message(err))
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            return TicketOutcome(ticket_id=ticket_id, outcome="missing", reason="no such ticket")
        status = brief.get("status") if isinstance(brief, dict) else None
        return TicketOutcome(ticket_id=ticket_id, outcome=ok, status=status)


def _message(err: WorkflowUpdateFailedError) -> str:
    cause: BaseException = err
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return str(cause) or type(cause).__name__
