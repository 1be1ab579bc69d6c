"""`/v1/sla/explain`: which SLA policy a ticket would get, and why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import AnyPrincipal, PolicyDep, given_once
from api.errors import documented
from api.schemas import SlaExplanation
from domain.enums import ChannelId, CountryCode, PlanId, PriorityId
from domain.policy.vocabulary import check_known
from domain.ticket.requests import TimeZoneName

router = APIRouter(prefix="/v1/sla", tags=["sla"], responses=documented(401, 403, 422))


@router.get(
    "/explain",
    response_model=SlaExplanation,
    dependencies=[
        Depends(given_once("priority", "plan", "channel", "category", "country", "timezone"))
    ],
)
async def explain(
    _: AnyPrincipal,
    policy: PolicyDep,
    priority: Annotated[PriorityId, Query()],
    plan: Annotated[PlanId | None, Query(description="default: the policy's first plan")] = None,
    channel: Annotated[ChannelId, Query()] = "email",
    category: Annotated[str | None, Query(max_length=50)] = None,
    country: Annotated[CountryCode | None, Query(description="the requester's")] = None,
    timezone: Annotated[TimeZoneName | None, Query(description="the requester's")] = None,
) -> SlaExplanation:
    """The SLA policy the current policy file gives such a ticket, and the conditions it matched."""
    vocabulary = policy.vocabulary
    plan = plan or vocabulary.plan_ids[0]
    check_known("priority", priority, vocabulary.priority_ids)
    check_known("plan", plan, vocabulary.plan_ids)
    check_known("channel", channel, vocabulary.channel_ids)
    selection = policy.select_sla(
        priority=priority,
        plan=plan,
        category=category,
        channel=channel,
        created_year=datetime.now(UTC).year,
        requester_country=country,
        requester_timezone=timezone,
    )
    return SlaExplanation(
        policy_id=selection.policy_id,
        policy_version=selection.policy_version,
        reason=selection.reason,
        calendar=selection.calendar.id,
        timezone=selection.calendar.timezone,
        targets=selection.targets.model_dump(),
        at_risk_percent=selection.at_risk_percent,
        pauses={str(k): [str(s) for s in v] for k, v in selection.pauses.items()},
        reopen=selection.reopen,
    )
