"""Liveness, readiness and Prometheus metrics; no authentication but `METRICS_TOKEN`."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4
from pydantic import BaseModel, Field
from sqlalchemy import text

from api import observability
from api.deps import MetricsScraper
from api.errors import documented

router = APIRouter(tags=["health"])


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, str] = Field(description='per dependency: "ok" or "unavailable: <error>"')


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency is unreachable"}},
)
async def readyz(request: Request) -> JSONResponse:
    """Temporal and the store are reachable."""
    checks: dict[str, str] = {}

    async def store() -> None:
        async with request.app.state.sessions() as session:
            await session.execute(text("SELECT 1"))

    async def temporal() -> None:
        await request.app.state.temporal.service_client.check_health()

    for name, probe in (("store", store), ("temporal", temporal)):
        try:
            await asyncio.wait_for(probe(), timeout=3)
            checks[name] = "ok"
        except Exception as err:  # readiness reports any failure, it never raises
            checks[name] = f"unavailable: {type(err).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        status_code=200 if ready else 503,
        content={"status": "ready" if ready else "unavailable", "checks": checks},
    )


@router.get("/metrics", response_class=PlainTextResponse, responses=documented(401))
async def metrics(request: Request, _: MetricsScraper) -> Response:
    """Prometheus text: ticket counts from the store, request latency, process metrics
    (behind `METRICS_TOKEN` when it is set)."""
    # 0.0.4 is the text format every Prometheus version reads; all our names are legacy-safe.
    body = await observability.scrape(request.app)
    return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)
