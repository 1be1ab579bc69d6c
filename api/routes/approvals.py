"""Refunds, credits and cancellations by authority level: the request on a ticket, the
approvers' pending list and decisions, the payment system's settlement report, and the
approvals report beside the support metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import (
    AgentPrincipal,
    ApprovalReader,
    ApprovalServiceDep,
    ApproverPrincipal,
    BoundsDep,
    IdempotencyKey,
    ServicePrincipal,
    StaffPrincipal,
    given_once,
)
from api.errors import ApiError, documented
from api.routes.metrics import IsoDateTime
from domain.approvals.models import MAX_COMMENT_CHARS, ApprovalStatus, ApprovalView, RefundRequest
from domain.approvals.report import ApprovalReport

router = APIRouter(tags=["approvals"], responses=documented(401, 403, 404, 409, 422, 503))

ApprovalId = Annotated[str, Path(max_length=48)]
TicketId = Annotated[str, Path(max_length=40)]


def _utc(at: datetime) -> datetime:
    """A time without an offset is taken as UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=MAX_COMMENT_CHARS)


class DenyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(min_length=1, max_length=MAX_COMMENT_CHARS)
    """The reason, emailed to the customer."""


class SettledBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(default="", max_length=100)


class ApprovalPage(BaseModel):
    items: list[ApprovalView]
    next_cursor: str | None = None
    """Pass as `cursor` for the next page; absent on the last one."""


@router.post(
    "/v1/tickets/{ticket_id}/refund-requests",
    status_code=status.HTTP_201_CREATED,
    response_model=ApprovalView,
)
async def request_refund(
    ticket_id: TicketId,
    body: RefundRequest,
    agent: AgentPrincipal,
    service: ApprovalServiceDep,
    key: IdempotencyKey,
) -> ApprovalView:
    """Ask for a refund, credit or cancellation: an approval (`<ticket>-R<n>`) waiting on the
    rung the policy names; the ticket waits on hold meanwhile."""
    assert agent.agent_id is not None  # parse_tokens binds every agent token to an agent
    return await service.request(ticket_id, agent.agent_id, body, key=key)


@router.get(
    "/v1/approvals",
    response_model=ApprovalPage,
    dependencies=[Depends(given_once("status", "ticket_id", "limit", "cursor"))],
)
async def list_approvals(
    reader: ApprovalReader,
    service: ApprovalServiceDep,
    approval_status: Annotated[ApprovalStatus | None, Query(alias="status")] = None,
    ticket_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> ApprovalPage:
    """Approvals at the caller's rung (admin: every rung), oldest first, a page of `limit`
    with the cursor of the next."""
    items, next_cursor = await service.list(
        reader, status=approval_status, ticket_id=ticket_id, limit=limit, cursor=cursor
    )
    return ApprovalPage(items=items, next_cursor=next_cursor)


@router.get("/v1/approvals/{approval_id}", response_model=ApprovalView)
async def get_approval(
    approval_id: ApprovalId, _: ApprovalReader, service: ApprovalServiceDep
) -> ApprovalView:
    """One approval as the store has it."""
    return await service.get(approval_id)


@router.post("/v1/approvals/{approval_id}/approve", response_model=ApprovalView)
async def approve(
    approval_id: ApprovalId,
    body: DecisionBody,
    approver: ApproverPrincipal,
    service: ApprovalServiceDep,
) -> ApprovalView:
    """Approve a pending request at (or above) the rung it waits on."""
    return await service.decide(approval_id, approver, approve=True, comment=body.comment)


@router.post("/v1/approvals/{approval_id}/deny", response_model=ApprovalView)
async def deny(
    approval_id: ApprovalId,
    body: DenyBody,
    approver: ApproverPrincipal,
    service: ApprovalServiceDep,
) -> ApprovalView:
    """Deny a pending request; the comment is emailed to the customer as the reason."""
    return await service.decide(approval_id, approver, approve=False, comment=body.comment)


@router.post("/v1/approvals/{approval_id}/settled", status_code=status.HTTP_202_ACCEPTED)
async def settled(
    approval_id: ApprovalId,
    body: SettledBody,
    _: ServicePrincipal,
    service: ApprovalServiceDep,
) -> dict[str, str]:
    """The payment system reports the money settled: the settlement clock stops."""
    await service.settled(approval_id, body.reference)
    return {"status": "accepted"}


@router.get(
    "/v1/metrics/approvals",
    response_model=ApprovalReport,
    dependencies=[Depends(given_once("from", "to"))],
)
async def approvals_report(
    service: ApprovalServiceDep,
    _: StaffPrincipal,
    bounds: BoundsDep,
    start: Annotated[IsoDateTime | None, Query(alias="from")] = None,
    end: Annotated[IsoDateTime | None, Query(alias="to")] = None,
) -> ApprovalReport:
    """Refunds, credits and cancellations requested in `[from, to)` (default: 30 days): by
    kind, deciding rung and outcome, time to decision, automatic credits, refund rate."""
    end_at = end if end and end.tzinfo else (end or datetime.now(UTC)).replace(tzinfo=UTC)
    start_at = start.replace(tzinfo=start.tzinfo or UTC) if start else end_at - timedelta(days=30)
    if start_at >= end_at:
        raise ApiError(422, "validation_error", "from: must be before to")
    if end_at - start_at > timedelta(days=bounds.metrics_max_window_days):
        raise ApiError(422, "validation_error", "from: the window [from, to) is too long")
    return await service.report(start=start_at, end=end_at)
