"""`/v1/webhooks`: admins subscribe a backend to ticket events, and watch its deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from api.auth import Principal
from api.deps import require
from api.errors import documented
from api.webhook_schemas import DeliveryOut, WebhookCreate, WebhookOut, WebhookPatch
from api.webhooks import WebhookService
from domain.enums import Role

router = APIRouter(
    prefix="/v1/webhooks", tags=["webhooks"], responses=documented(401, 403, 404, 422, 503)
)

AdminPrincipal = Annotated[Principal, Depends(require(Role.ADMIN))]
WebhookId = Annotated[str, Path(max_length=40)]
MAX_DELIVERY_ID = 2**63 - 1
"""`webhook_deliveries.id` is a BIGINT on PostgreSQL."""


def _service(request: Request) -> WebhookService:
    service: WebhookService = request.app.state.webhooks
    return service


WebhookServiceDep = Annotated[WebhookService, Depends(_service)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookOut)
async def create_webhook(
    body: WebhookCreate, webhooks: WebhookServiceDep, _: AdminPrincipal
) -> WebhookOut:
    """Subscribe a URL to event types; the answer holds the secret in clear, once."""
    return await webhooks.create(body)


@router.get("", response_model=list[WebhookOut])
async def list_webhooks(webhooks: WebhookServiceDep, _: AdminPrincipal) -> list[WebhookOut]:
    """Every subscription, secrets masked."""
    return await webhooks.list_all()


@router.get("/{webhook_id}", response_model=WebhookOut)
async def get_webhook(
    webhook_id: WebhookId, webhooks: WebhookServiceDep, _: AdminPrincipal
) -> WebhookOut:
    """One subscription, its secret masked, with its health (failing since, paused)."""
    return await webhooks.get(webhook_id)


@router.patch("/{webhook_id}", response_model=WebhookOut)
async def update_webhook(
    webhook_id: WebhookId, body: WebhookPatch, webhooks: WebhookServiceDep, _: AdminPrincipal
) -> WebhookOut:
    """Change the URL, secret, event types or `active` (true resumes a paused one)."""
    return await webhooks.update(webhook_id, body)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(
    webhook_id: WebhookId, webhooks: WebhookServiceDep, _: AdminPrincipal
) -> Response:
    """Remove the subscription and its deliveries."""
    await webhooks.delete(webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryOut])
async def list_deliveries(
    webhook_id: WebhookId,
    webhooks: WebhookServiceDep,
    _: AdminPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[DeliveryOut]:
    """The latest deliveries, newest first, each with its attempts (status, latency, error)."""
    return await webhooks.deliveries(webhook_id, limit)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    responses=documented(409),
)
async def redeliver(
    webhook_id: WebhookId,
    delivery_id: Annotated[int, Path(ge=1, le=MAX_DELIVERY_ID)],
    webhooks: WebhookServiceDep,
    _: AdminPrincipal,
) -> DeliveryOut:
    """Send a settled delivery (delivered, failed, unconfirmed) again, with the same event id."""
    return await webhooks.redeliver(webhook_id, delivery_id)
