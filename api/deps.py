"""FastAPI dependencies as `Annotated` aliases; resources live on `app.state` (see lifespan)."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.agent_actions import AgentActions
from api.approvals import ApprovalService
from api.auth import Principal, TokenTable, bearer_token
from api.config import ApiSettings
from api.errors import ApiError
from api.idempotency import KEY_PATTERN, KEY_RULE, MAX_KEY_CHARS, valid_key
from api.service import TicketService
from domain.enums import APPROVER_ROLES, Role
from domain.policy.support import SupportPolicy


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


def _actions(request: Request) -> AgentActions:
    actions: AgentActions = request.app.state.actions
    return actions


def _service(request: Request) -> TicketService:
    service: TicketService = request.app.state.tickets
    return service


def _approvals(request: Request) -> ApprovalService:
    service: ApprovalService = request.app.state.approvals
    return service


def _principal(request: Request) -> Principal:
    token = bearer_token(request.headers.get("authorization", ""))
    if token is None:
        raise ApiError(401, "unauthorized", "missing bearer token")
    tokens: TokenTable = request.app.state.tokens
    principal = tokens.lookup(token)
    if principal is None:
        raise ApiError(401, "unauthorized", "unknown token")
    return principal


def _policy(request: Request) -> SupportPolicy:
    policy: SupportPolicy = request.app.state.policy
    return policy


def _bounds(request: Request) -> ApiSettings:
    bounds: ApiSettings = request.app.state.bounds
    return bounds


def _metrics_scraper(request: Request) -> None:
    """`GET /metrics` is open unless `METRICS_TOKEN` is set; then only that token reads it."""
    expected = _bounds(request).metrics_token
    if expected is None:
        return
    token = bearer_token(request.headers.get("authorization", ""))
    # Constant-time, like TokenTable.lookup: no timing oracle on a prefix of the token.
    if token is None or not hmac.compare_digest(
        token.encode(), expected.get_secret_value().encode()
    ):
        raise ApiError(401, "unauthorized", "GET /metrics needs the metrics token")


def given_once(*names: str) -> Callable[[Request], None]:
    """A dependency refusing (422) a repeat of these query parameters, which the framework
    would otherwise settle by keeping the last: `?to=a&to=b` is not a window."""

    def check(request: Request) -> None:
        for name in names:
            if len(request.query_params.getlist(name)) > 1:
                raise ApiError(422, "validation_error", f"query parameter {name!r}: give it once")

    return check


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    async def check(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise ApiError(403, "forbidden", f"this action needs a token with role: {allowed}")
        return principal

    return check


def _idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=MAX_KEY_CHARS,
            # Described, not enforced here: `valid_key` below refuses with its own message.
            json_schema_extra={"pattern": KEY_PATTERN},
            description=f"Optional; {KEY_RULE}. A repeat of the request returns the first result.",
        ),
    ] = None,
) -> str | None:
    if key is not None and not valid_key(key):
        raise ApiError(422, "validation_error", f"Idempotency-Key: {KEY_RULE}")
    return key


SessionDep = Annotated[AsyncSession, Depends(_session)]
TicketServiceDep = Annotated[TicketService, Depends(_service)]
AgentActionsDep = Annotated[AgentActions, Depends(_actions)]
AnyPrincipal = Annotated[Principal, Depends(require(Role.SERVICE, Role.AGENT, Role.ADMIN))]
ServicePrincipal = Annotated[Principal, Depends(require(Role.SERVICE))]
AgentPrincipal = Annotated[Principal, Depends(require(Role.AGENT))]
StaffPrincipal = Annotated[Principal, Depends(require(Role.AGENT, Role.ADMIN))]
ApproverPrincipal = Annotated[Principal, Depends(require(*APPROVER_ROLES))]
ApprovalReader = Annotated[Principal, Depends(require(*APPROVER_ROLES, Role.ADMIN))]
ApprovalServiceDep = Annotated[ApprovalService, Depends(_approvals)]
BoundsDep = Annotated[ApiSettings, Depends(_bounds)]
PolicyDep = Annotated[SupportPolicy, Depends(_policy)]
MetricsScraper = Annotated[None, Depends(_metrics_scraper)]
IdempotencyKey = Annotated[str | None, Depends(_idempotency_key)]
