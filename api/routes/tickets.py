"""`/v1/tickets`: intake, reading, and one route per agent action (the customer's reply and
score are `api.routes.ticket_customer`'s)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from api.deps import (
    AgentActionsDep,
    AgentPrincipal,
    AnyPrincipal,
    IdempotencyKey,
    PolicyDep,
    ServicePrincipal,
    SessionDep,
    StaffPrincipal,
    TicketServiceDep,
    given_once,
)
from api.errors import ApiError, documented
from api.incident_schemas import ParentBody
from api.schemas import (
    AssignBody,
    EmptyBody,
    EscalateBody,
    EventOut,
    NotificationOut,
    PriorityBody,
    ReasonBody,
    ResolveBody,
    TicketPage,
    TicketSummary,
    Timeline,
)
from domain.enums import PriorityId, Status
from domain.errors import TicketNotFound
from domain.policy.vocabulary import check_known
from domain.ticket.requests import ActionBody, TicketCreate
from domain.ticket.state import TicketState
from domain.ticket.views import TicketBrief, TicketView, ticket_view
from store import repository

router = APIRouter(
    prefix="/v1/tickets", tags=["tickets"], responses=documented(401, 403, 404, 409, 422, 503)
)

MAX_TICKET_ID_CHARS = 40
"""`tickets.id` is VARCHAR(40); a path id becomes `related_ticket_id` of a follow-up."""
TicketId = Annotated[str, Path(max_length=MAX_TICKET_ID_CHARS)]


def _view(state: TicketState) -> TicketView:
    return ticket_view(state, datetime.now(UTC))


def _actor(agent: AgentPrincipal) -> str:
    if agent.agent_id is None:  # parse_tokens guarantees agent tokens name an agent
        raise ApiError(403, "forbidden", "this token is not bound to an agent")
    return agent.agent_id


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TicketView)
async def create_ticket(
    body: TicketCreate,
    response: Response,
    tickets: TicketServiceDep,
    _: ServicePrincipal,
    idempotency_key: IdempotencyKey,
) -> TicketView:
    """Open a ticket; a repeat with the same `Idempotency-Key` and body returns it with 200."""
    intake = await tickets.create(body, idempotency_key)
    if not intake.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/tickets/{intake.state.ticket_id}"
    return _view(intake.state)


@router.get(
    "",
    response_model=TicketPage,
    dependencies=[Depends(given_once("team", "assignee", "breached", "limit", "cursor"))],
)
async def list_tickets(
    session: SessionDep,
    _: StaffPrincipal,
    policy: PolicyDep,
    status_: Annotated[list[Status] | None, Query(alias="status")] = None,
    priority: Annotated[list[PriorityId] | None, Query()] = None,
    team: Annotated[str | None, Query(max_length=50)] = None,
    assignee: Annotated[str | None, Query(max_length=50)] = None,
    breached: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> TicketPage:
    """Tickets from the store, newest first, with cursor pagination."""
    for value in priority or []:
        check_known("priority", value, policy.vocabulary.priority_ids)
    where = repository.TicketFilter(
        status=[s.value for s in status_] if status_ else None,
        priority=list(priority) if priority else None,
        team=team,
        assignee=assignee,
        breached=breached,
    )
    rows, next_cursor = await repository.list_tickets(
        session, where=where, limit=limit, cursor=cursor
    )
    return TicketPage(
        items=[TicketSummary.model_validate(row, from_attributes=True) for row in rows],
        next_cursor=next_cursor,
    )


@router.get("/{ticket_id}", response_model=TicketView)
async def get_ticket(ticket_id: TicketId, tickets: TicketServiceDep, _: AnyPrincipal) -> TicketView:
    """The ticket with its SLA clocks as of now."""
    return _view(await tickets.get(ticket_id))


@router.get("/{ticket_id}/events", response_model=Timeline)
async def ticket_events(ticket_id: TicketId, session: SessionDep, _: AnyPrincipal) -> Timeline:
    """The ticket's timeline, oldest first, and every email it sent, from the store."""
    if await repository.get_ticket(session, ticket_id=ticket_id) is None:
        raise TicketNotFound(f"no ticket {ticket_id}")
    events = await repository.list_events(session, ticket_id=ticket_id)
    sent = await repository.list_notifications(session, ticket_id=ticket_id)
    return Timeline(
        ticket_id=ticket_id,
        items=[EventOut.model_validate(e, from_attributes=True) for e in events],
        notifications=[NotificationOut.model_validate(n, from_attributes=True) for n in sent],
    )


@router.post("/{ticket_id}/reply", response_model=TicketBrief)
async def reply(
    ticket_id: TicketId,
    body: ActionBody,
    actions: AgentActionsDep,
    agent: AgentPrincipal,
    key: IdempotencyKey,
) -> TicketBrief:
    """A public reply from the calling agent, emailed to the customer."""
    return await actions.reply(ticket_id, _actor(agent), body.body, key=key)


@router.post("/{ticket_id}/note", response_model=TicketBrief)
async def note(
    ticket_id: TicketId,
    body: ActionBody,
    actions: AgentActionsDep,
    agent: AgentPrincipal,
    key: IdempotencyKey,
) -> TicketBrief:
    """An internal note: never emailed, not an SLA response."""
    return await actions.note(ticket_id, _actor(agent), body.body, key=key)


@router.post("/{ticket_id}/request-info", response_model=TicketBrief)
async def request_info(
    ticket_id: TicketId,
    body: ActionBody,
    actions: AgentActionsDep,
    agent: AgentPrincipal,
    key: IdempotencyKey,
) -> TicketBrief:
    """Ask the customer; the ticket waits in `awaiting_customer` and its clocks pause."""
    return await actions.request_info(ticket_id, _actor(agent), body.body, key=key)


@router.post("/{ticket_id}/assign", response_model=TicketBrief)
async def assign(
    ticket_id: TicketId,
    body: AssignBody,
    actions: AgentActionsDep,
    agent: AgentPrincipal,
    key: IdempotencyKey,
) -> TicketBrief:
    """To an agent (active, with capacity) or to a team's queue."""
    return await actions.assign(
        ticket_id, _actor(agent), agent_id=body.agent_id, team=body.team, key=key
    )


@router.post("/{ticket_id}/priority", response_model=TicketBrief)
async def change_priority(
    ticket_id: TicketId,
    body: PriorityBody,
    actions: AgentActionsDep,
    agent: AgentPrincipal,
    key: IdempotencyKey,
) -> TicketBrief:
    """Change the priority; the SLA policy is re-applied and the change recorded."""
    return await actions.change_priority(
        ticket_id, _actor(agent), body.priority, body.reason, key=key
    )


@router.post("/{ticket_id}/escalate", response_model=TicketBrief)
async def escalate(
    ticket_id: TicketId,
    body: EscalateBody,
    actions: AgentActionsDep,
    agent: AgentPrincipal,
    key: IdempotencyKey,
) -> TicketBrief:
    """Raise the escalation level by one, or set it to any level of the ticket's ladder (so also
    de-escalate); a level above its top is refused (409)."""
    return await actions.escalate(ticket_id, _actor(agent), body.reason, body.level, key=key)


@router.post("/{ticket_id}/hold", response_model=TicketBrief)
async def hold(
    ticket_id: TicketId,
    body: ReasonBody,
    actions: AgentActionsDep,
    agent: AgentPrincipal,
    key: IdempotencyKey,
) -> TicketBrief:
    """Put on hold: waiting on a third party or another team, not on the customer."""
    return await actions.hold(ticket_id, _actor(agent), body.reason, key=key)


@router.post("/{ticket_id}/resolve", response_model=TicketBrief)
async def resolve(
    ticket_id: TicketId,
    body: ResolveBody,
    actions: AgentActionsDep,
    agent: AgentPrincipal,
    key: IdempotencyKey,
) -> TicketBrief:
    """Resolve with a resolution note, emailed to the customer. A parent with open children
    is refused (409 naming them) unless `resolve_children` resolves them too."""
    return await actions.resolve_parent(
        ticket_id, _actor(agent), body.resolution, body.resolve_children, key=key
    )


@router.post("/{ticket_id}/link", response_model=TicketBrief)
async def link_parent(
    ticket_id: TicketId,
    body: ParentBody,
    actions: AgentActionsDep,
    agent: AgentPrincipal,
    key: IdempotencyKey,
) -> TicketBrief:
    """Make this ticket a child of `parent_id`: the parent is not resolved while it is open."""
    return await actions.link_parent(ticket_id, _actor(agent), body.parent_id, key=key)


@router.post("/{ticket_id}/reopen", response_model=TicketBrief)
async def reopen(
    ticket_id: TicketId,
    body: ReasonBody,
    actions: AgentActionsDep,
    agent: AgentPrincipal,
    key: IdempotencyKey,
) -> TicketBrief:
    """Reopen a resolved ticket; its resolution clock starts a new cycle."""
    return await actions.reopen(ticket_id, _actor(agent), body.reason, key=key)


@router.post("/{ticket_id}/close", response_model=TicketBrief)
async def close(
    ticket_id: TicketId,
    _body: EmptyBody,
    actions: AgentActionsDep,
    agent: AgentPrincipal,
    key: IdempotencyKey,
) -> TicketBrief:
    """Close a resolved ticket for good."""
    return await actions.close(ticket_id, _actor(agent), key=key)
