"""The custom search attributes a ticket workflow keeps up to date.

One list, used by the workflow (to upsert) and the API (to start a ticket findable), by
`make run` and the tests to register them on the server (`ticketflow.search_attributes`),
and mirrored in docker-compose's admin job.
No personal data ever goes into these: ids, enums, numbers and times only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)

from domain.sla.clocks import next_due_at

if TYPE_CHECKING:
    from domain.ticket.state import TicketState

TICKET_STATUS = SearchAttributeKey.for_keyword("TicketStatus")
TICKET_PRIORITY = SearchAttributeKey.for_keyword("TicketPriority")
TICKET_TEAM = SearchAttributeKey.for_keyword("TicketTeam")
TICKET_ASSIGNEE = SearchAttributeKey.for_keyword("TicketAssignee")
TICKET_CHANNEL = SearchAttributeKey.for_keyword("TicketChannel")
CUSTOMER_PLAN = SearchAttributeKey.for_keyword("CustomerPlan")
ESCALATION_LEVEL = SearchAttributeKey.for_int("EscalationLevel")
SLA_BREACHED = SearchAttributeKey.for_bool("SlaBreached")
NEXT_SLA_DUE_AT = SearchAttributeKey.for_datetime("NextSlaDueAt")
APPROVAL_PENDING = SearchAttributeKey.for_bool("ApprovalPending")
"""True while a refund, credit or cancellation of the ticket waits on an approver (unset
otherwise, so tickets from before approvals publish nothing new)."""
INCIDENT_ID = SearchAttributeKey.for_keyword("IncidentId")
"""The major incident a ticket is linked to: `IncidentId="INC-000001"` lists its tickets."""
FAILED_EFFECTS = SearchAttributeKey.for_keyword_list("FailedEffects")
"""`email` once an email was given up on, `store` while the store refuses the ticket's data."""

ALL_KEYS: tuple[SearchAttributeKey[Any], ...] = (
    TICKET_STATUS,
    TICKET_PRIORITY,
    TICKET_TEAM,
    TICKET_ASSIGNEE,
    TICKET_CHANNEL,
    CUSTOMER_PLAN,
    ESCALATION_LEVEL,
    SLA_BREACHED,
    NEXT_SLA_DUE_AT,
    FAILED_EFFECTS,
    APPROVAL_PENDING,
    INCIDENT_ID,
)


def ticket_values(state: TicketState) -> list[tuple[SearchAttributeKey[Any], Any]]:
    """Every ticket search attribute with its value for `state` (None: unset it)."""
    return [
        (TICKET_STATUS, state.status.value),
        (TICKET_PRIORITY, state.priority),
        (TICKET_TEAM, state.team),
        (TICKET_ASSIGNEE, state.assignee),
        (TICKET_CHANNEL, state.channel),
        (CUSTOMER_PLAN, state.requester.plan),
        (ESCALATION_LEVEL, state.escalation_level),
        (SLA_BREACHED, state.sla_breached),
        (NEXT_SLA_DUE_AT, next_due_at(list(state.clocks.values()))),
        (APPROVAL_PENDING, True if state.approvals_pending else None),
        (INCIDENT_ID, state.incident_id),
    ]


def initial_attributes(state: TicketState) -> TypedSearchAttributes:
    """The attributes a ticket workflow starts with, so it is findable before its first task."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(key, value)
            for key, value in ticket_values(state)
            if value is not None
        ]
    )


def updates_for(
    state: TicketState, published: dict[str, Any], *, failed_effects: list[str] | None = None
) -> list[SearchAttributeUpdate[Any]]:
    """Upserts for the attributes whose value differs from `published` (which is updated)."""
    updates: list[SearchAttributeUpdate[Any]] = []
    values = [*ticket_values(state), (FAILED_EFFECTS, failed_effects or None)]
    for key, value in values:
        if published.get(key.name) == value:
            continue
        published[key.name] = value
        updates.append(key.value_set(value) if value is not None else key.value_unset())
    return updates
