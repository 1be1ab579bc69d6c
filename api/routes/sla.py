"""`/v1/sla/explain`: which SLA policy a ticket would get, and why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.deps import AnyPrincipal, given_once
from api.errors import documented
from api.schemas import SlaExplanation
from domain.enums import Channel, Plan, Priority
from domain.policy.support import SupportPolicy

router = APIRouter(prefix="/v1/sla", tags=["sla"], responses=documented(401, 403, 422))


@router.get(
    "/explain",
    response_model=SlaExplanation,
    dependencies=[Depends(given_once("priority", "plan", "channel", "category"))],
)
async def explain(
    request: Request,
    _: AnyPrincipal,
    priority: Annotated[Priority, Query()],
    plan: Annotated[Plan, Query()] = Plan.STARTER,
    channel: Annotated[Channel, Query()] = Channel.EMAIL,
    category: Annotated[str | None, Query(max_length=50)] = None,
) -> SlaExplanation:
    """The SLA policy the current policy file gives such a ticket, and the conditions it matched."""
    policy: SupportPolicy = request.app.state.policy
    selection = policy.select_sla(
        priority=priority.value,
        plan=plan.value,
        category=category,
        channel=channel.value,
        created_year=datetime.now(UTC).year,
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
