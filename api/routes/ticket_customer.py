"""`/v1/tickets/{id}/customer-reply` and `/csat`: the customer's side of a ticket, called by
the service that fronts the customer (a service token). Same prefix, tags and documented
errors as `api.routes.tickets`; the app includes this router right after that one."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response, status

from api.deps import IdempotencyKey, ServicePrincipal, TicketServiceDep
from api.errors import documented
from api.routes.tickets import TicketId
from api.schemas import CsatBody
from domain.ticket.requests import ActionBody
from domain.ticket.views import TicketBrief, TicketView, ticket_view

router = APIRouter(
    prefix="/v1/tickets", tags=["tickets"], responses=documented(401, 403, 404, 409, 422, 503)
)


@router.post(
    "/{ticket_id}/customer-reply",
    response_model=TicketView | TicketBrief,
    responses={201: {"model": TicketView, "description": "A follow-up ticket was opened"}},
)
async def customer_reply(
    ticket_id: TicketId,
    body: ActionBody,
    response: Response,
    tickets: TicketServiceDep,
    _: ServicePrincipal,
    key: IdempotencyKey,
) -> TicketView | TicketBrief:
    """The customer wrote. A closed ticket gets a linked follow-up ticket instead (201, the
    whole new ticket)."""
    replied = await tickets.customer_reply(ticket_id, body.body, key=key)
    if replied.follow_up:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = f"/v1/tickets/{replied.ticket.id}"
        return ticket_view(replied.follow_up.state, datetime.now(UTC))
    return replied.ticket


@router.post("/{ticket_id}/csat", response_model=TicketBrief)
async def csat(
    ticket_id: TicketId,
    body: CsatBody,
    tickets: TicketServiceDep,
    _: ServicePrincipal,
    key: IdempotencyKey,
) -> TicketBrief:
    """The customer's satisfaction score (1-5), once, after resolution."""
    return await tickets.rate(ticket_id, body.score, body.comment, key=key)
