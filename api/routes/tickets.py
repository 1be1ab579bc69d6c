"""`/v1/tickets`: intake, reading and agent actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from api.deps import AgentPrincipal, AnyPrincipal, ServicePrincipal, TicketServiceDep
from domain.ticket import ActionBody, TicketCreate
from domain.views import TicketView, ticket_view

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TicketView)
async def create_ticket(
    body: TicketCreate,
    response: Response,
    tickets: TicketServiceDep,
    _: ServicePrincipal,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> TicketView:
    """Open a ticket; a repeat with the same `Idempotency-Key` and body returns it with 200."""
    intake = await tickets.create(body, idempotency_key)
    if not intake.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/tickets/{intake.state.ticket_id}"
    return ticket_view(intake.state, datetime.now(UTC))


@router.get("/{ticket_id}", response_model=TicketView)
async def get_ticket(ticket_id: str, tickets: TicketServiceDep, _: AnyPrincipal) -> TicketView:
    """The ticket with its SLA clocks as of now."""
    return ticket_view(await tickets.get(ticket_id), datetime.now(UTC))


@router.post("/{ticket_id}/reply", response_model=TicketView)
async def reply(
    ticket_id: str, body: ActionBody, tickets: TicketServiceDep, agent: AgentPrincipal
) -> TicketView:
    """A public reply from the calling agent, emailed to the customer."""
    assert agent.agent_id is not None  # agent tokens always carry one (api.auth)
    state = await tickets.reply(ticket_id, agent.agent_id, body.body)
    return ticket_view(state, datetime.now(UTC))
