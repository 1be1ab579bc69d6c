"""`/v1/metrics/summary`: the support metrics over a time window (definitions: docs/metrics.md)."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from api.deps import BoundsDep, PolicyDep, SessionDep, StaffPrincipal, given_once
from api.errors import ApiError, documented
from domain.enums import ChannelId, PriorityId
from domain.policy.vocabulary import check_known
from store import reporting

router = APIRouter(prefix="/v1/metrics", tags=["metrics"], responses=documented(401, 403, 422, 503))

DEFAULT_WINDOW = timedelta(days=30)

Percent = Annotated[
    float | None, Field(description="0-100, one decimal; null when nothing to count")
]


class WindowOut(BaseModel):
    """The window `[from, to)` in UTC and the filters, as applied."""

    model_config = ConfigDict(populate_by_name=True)

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    team: str | None
    priority: PriorityId | None
    channel: ChannelId | None


class VolumeOut(BaseModel):
    created: int
    by_channel: dict[str, int]
    by_category: dict[str, int]


class FirstResponseOut(BaseModel):
    count: int
    median_seconds: float | None
    p90_seconds: float | None
    within_sla_percent: Percent


class WithinSlaOut(BaseModel):
    first_cycle: Percent
    all_cycles: Percent


class ResolutionOut(BaseModel):
    count: int
    median_seconds: float | None
    p90_seconds: float | None
    within_sla_percent: WithinSlaOut


class ComplianceOut(BaseModel):
    finished: int
    breached: int
    percent: Percent


class RateOut(BaseModel):
    count: int = Field(description="tickets with the property")
    total: int = Field(description="tickets in the population")
    percent: Percent


class CsatOut(BaseModel):
    average: float | None
    answered: int
    requested: int
    responded: int
    response_rate_percent: Percent


class BacklogOut(BaseModel):
    open: int
    by_status: dict[str, int]
    by_priority: dict[str, int]
    by_team: dict[str, int]


class MetricsSummary(BaseModel):
    window: WindowOut
    volume: VolumeOut
    first_response: FirstResponseOut
    resolution: ResolutionOut
    sla_compliance: dict[str, ComplianceOut]
    first_contact_resolution: RateOut
    escalation_rate: RateOut
    reopen_rate: RateOut
    csat: CsatOut
    backlog: BacklogOut


_NUMBER = re.compile(r"[+-]?\d+(\.\d*)?")


def _not_a_number(value: object) -> object:
    """A bound is an ISO 8601 date-time as the schema says; pydantic alone would also take a
    number as Unix seconds (`to=1555` is 1970-01-01T00:25:55Z)."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        raise ValueError("an ISO 8601 date-time, not a number")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_not_a_number)]


def _utc(at: datetime) -> datetime:
    """A time without an offset is taken as UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@router.get(
    "/summary",
    response_model=MetricsSummary,
    dependencies=[Depends(given_once("from", "to", "team", "priority", "channel"))],
)
async def summary(
    session: SessionDep,
    _: StaffPrincipal,
    bounds: BoundsDep,
    policy: PolicyDep,
    start: Annotated[IsoDateTime | None, Query(alias="from")] = None,
    end: Annotated[IsoDateTime | None, Query(alias="to")] = None,
    team: Annotated[str | None, Query(max_length=50)] = None,
    priority: Annotated[PriorityId | None, Query()] = None,
    channel: Annotated[ChannelId | None, Query()] = None,
) -> MetricsSummary:
    """Support metrics over `[from, to)` (default: the last 30 days), optionally filtered;
    a window longer than `METRICS_MAX_WINDOW_DAYS` (default 92) is refused."""
    vocabulary = policy.vocabulary
    if priority is not None:
        check_known("priority", priority, vocabulary.priority_ids)
    if channel is not None:
        check_known("channel", channel, vocabulary.channel_ids)
    longest = timedelta(days=bounds.metrics_max_window_days)
    try:
        end_at = _utc(end) if end is not None else datetime.now(UTC)
        start_at = _utc(start) if start is not None else end_at - min(DEFAULT_WINDOW, longest)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00 is before the first UTC instant
        raise ApiError(422, "validation_error", "from, to: out of range in UTC") from None
    if start_at >= end_at:
        raise ApiError(422, "validation_error", "from: must be before to")
    if end_at - start_at > longest:
        raise ApiError(
            422,
            "validation_error",
            f"from: the window [from, to) is at most {longest.days} days",
        )
    result = await reporting.summary(
        session,
        start=start_at,
        end=end_at,
        team=team,
        priority=priority,
        channel=channel,
        priorities=vocabulary.priority_ids,
        channels=vocabulary.channel_ids,
    )
    window = WindowOut(start=start_at, end=end_at, team=team, priority=priority, channel=channel)
    return MetricsSummary.model_validate({"window": window, **asdict(result)})
