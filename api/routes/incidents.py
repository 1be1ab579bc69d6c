"""`/v1/incidents`: declare a major incident, link tickets, broadcast, resolve, report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status

from api.deps import AgentPrincipal, SessionDep, StaffPrincipal, given_once
from api.errors import documented
from api.incident_schemas import (
    IncidentCreate,
    IncidentPage,
    IncidentResolveBody,
    IncidentSummary,
    IncidentUpdateBody,
    IncidentView,
    LinkBody,
    ReportBody,
    SuggestionOut,
    Suggestions,
)
from api.incidents import IncidentService
from domain.enums import Role
from domain.incident.actions import LinkOutcome
from domain.incident.state import IncidentStatus, PostedUpdate
from store import incidents as store

router = APIRouter(
    prefix="/v1/incidents", tags=["incidents"], responses=documented(401, 403, 404, 409, 422, 503)
)
IncidentId = Annotated[str, Path(max_length=40)]
TicketId = Annotated[str, Path(max_length=40)]


def _service(request: Request) -> IncidentService:
    service: IncidentService = request.app.state.incidents
    return service


Incidents = Annotated[IncidentService, Depends(_service)]


def _actor(principal: StaffPrincipal) -> str:
    return principal.agent_id or "admin"


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IncidentView)
async def declare(body: IncidentCreate, incidents: Incidents, who: StaffPrincipal) -> IncidentView:
    """Declare a major incident (`INC-000001`); its clocks start now. Tickets may be linked
    at once (`ticket_ids`)."""
    state = await incidents.declare(
        title=body.title,
        severity=body.severity,
        component=body.component,
        commander=body.commander,
        actor=_actor(who),
    )
    if body.ticket_ids:
        await incidents.link(state.incident_id, body.ticket_ids, _actor(who))
        state = await incidents.get(state.incident_id)
    return IncidentView.of(state)


@router.get("", response_model=IncidentPage, dependencies=[Depends(given_once("limit", "cursor"))])
async def list_incidents(
    session: SessionDep,
    _: StaffPrincipal,
    status_: Annotated[list[IncidentStatus] | None, Query(alias="status", max_length=4)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> IncidentPage:
    """Incidents from the store, newest first, with cursor pagination."""
    statuses = [s.value for s in status_] if status_ else None
    rows, next_cursor = await store.list_incidents(
        session, status=statuses, limit=limit, cursor=cursor
    )
    return IncidentPage(
        items=[IncidentSummary.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get("/suggestions", response_model=Suggestions)
async def suggestions(incidents: Incidents, _: StaffPrincipal) -> Suggestions:
    """Clusters of recent open tickets sharing a category and subject keywords: candidates
    for one incident (window and threshold from the policy)."""
    window, minimum, found = await incidents.suggestions()
    return Suggestions(
        window_seconds=window,
        min_tickets=minimum,
        items=[
            SuggestionOut(category=s.category, keywords=s.keywords, ticket_ids=s.ticket_ids)
            for s in found
        ],
    )


@router.get("/{incident_id}", response_model=IncidentView)
async def get_incident(
    incident_id: IncidentId, incidents: Incidents, _: StaffPrincipal
) -> IncidentView:
    """The incident as its workflow has it: clocks, linked tickets by status, updates."""
    return IncidentView.of(await incidents.get(incident_id))


@router.post("/{incident_id}/acknowledge", response_model=IncidentView)
async def acknowledge(
    incident_id: IncidentId, incidents: Incidents, who: AgentPrincipal
) -> IncidentView:
    """The commander takes the incident (meets the acknowledge clock)."""
    return IncidentView.of(await incidents.acknowledge(incident_id, _actor(who)))


@router.post("/{incident_id}/tickets", response_model=LinkOutcome)
async def link(
    incident_id: IncidentId, body: LinkBody, incidents: Incidents, who: StaffPrincipal
) -> LinkOutcome:
    """Link one or many tickets; each says whether it was linked (a closed ticket, or one
    in another incident, is refused with the reason)."""
    return await incidents.link(incident_id, body.ticket_ids, _actor(who))


@router.delete("/{incident_id}/tickets/{ticket_id}", response_model=IncidentView)
async def unlink(
    incident_id: IncidentId, ticket_id: TicketId, incidents: Incidents, who: StaffPrincipal
) -> IncidentView:
    """Unlink a ticket: it gets no more of the incident's updates."""
    return IncidentView.of(await incidents.unlink(incident_id, ticket_id, _actor(who)))


@router.post(
    "/{incident_id}/updates", status_code=status.HTTP_201_CREATED, response_model=PostedUpdate
)
async def post_update(
    incident_id: IncidentId, body: IncidentUpdateBody, incidents: Incidents, who: StaffPrincipal
) -> PostedUpdate:
    """A public update goes to every linked requester once, in their language (after a
    manager's approval when the policy asks for it); `public: false` is an internal note."""
    return await incidents.post_update(
        incident_id, body=body.body, status=body.status, public=body.public, actor=_actor(who)
    )


@router.post("/{incident_id}/updates/{number}/approve", response_model=PostedUpdate)
async def approve_update(
    incident_id: IncidentId,
    number: Annotated[int, Path(ge=1)],
    incidents: Incidents,
    who: StaffPrincipal,
) -> PostedUpdate:
    """A manager approves a public update waiting for approval: it goes out now."""
    return await incidents.approve(
        incident_id, number, actor=_actor(who), is_admin=who.role == Role.ADMIN
    )


@router.post("/{incident_id}/resolve", response_model=IncidentView)
async def resolve(
    incident_id: IncidentId, body: IncidentResolveBody, incidents: Incidents, who: StaffPrincipal
) -> IncidentView:
    """Resolve the incident: every still-open linked ticket is resolved with the resolution
    and its requester emailed once; the post-incident report clock starts."""
    return IncidentView.of(await incidents.resolve(incident_id, body.resolution, _actor(who)))


@router.post("/{incident_id}/report", response_model=IncidentView)
async def report(
    incident_id: IncidentId, body: ReportBody, incidents: Incidents, who: StaffPrincipal
) -> IncidentView:
    """Submit the post-incident report (meets its clock); the incident then completes."""
    return IncidentView.of(await incidents.report(incident_id, body.body, _actor(who)))
