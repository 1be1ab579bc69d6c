"""The one place where failures become HTTP responses: `{"error": {"code", "message"}}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.errors import DomainError
from runtime.temporal import workflow_exists

log = logging.getLogger("ticketflow.api")


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, machine-readable, e.g. `invalid_transition`")
    message: str = Field(description="for people; never a stack trace or a secret")


class ErrorOut(BaseModel):
    """The one shape of every error the API answers."""

    error: ErrorDetail


_MEANINGS = {
    401: "No bearer token, or an unknown one",
    403: "The token's role may not do this",
    404: "No such ticket",
    409: "Refused in the ticket's current state (the message names it)",
    413: "The request body is over 1 MiB, however it was sent",
    422: "A parameter or the body is invalid (the message names the field)",
    429: "Over the token's (or the address's) rate limit",
    503: "Temporal or the store is unreachable",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}},
    429: {
        "Retry-After": {
            "description": "Seconds until the limit lets a request through again",
            "schema": {"type": "integer", "minimum": 1},
            "required": True,
        }
    },
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of these error statuses, all in the error shape."""
    return {
        status: {
            "model": ErrorOut,
            "description": _MEANINGS[status],
            **({"headers": _HEADERS[status]} if status in _HEADERS else {}),
        }
        for status in statuses
    }


class ApiError(Exception):
    """An HTTP-level refusal (auth, size) raised by the API layer itself."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message


def error_response(
    status_code: int, code: str, message: str, *, headers: dict[str, str] | None = None
) -> JSONResponse:
    """Every error the API sends, from a handler below or from a middleware before routing."""
    all_headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else {}
    return JSONResponse(
        status_code=status_code,
        content={"error": {"code": code, "message": message}},
        headers={**all_headers, **(headers or {})},
    )


def _field(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


# Update validators raise ApplicationError(type=<domain error class name>): map them back.
def _with_subclasses(cls: type[DomainError]) -> list[type[DomainError]]:
    return [cls, *(sub for child in cls.__subclasses__() for sub in _with_subclasses(child))]


_UPDATE_REFUSALS = {cls.__name__: cls for cls in _with_subclasses(DomainError)}


async def _workflow_ended(request: Request) -> bool:
    """Whether the ticket named in the path exists but its workflow is no longer running
    (a closed ticket past its survey window, or one an operator terminated)."""
    ticket_id = request.path_params.get("ticket_id")
    if not ticket_id:
        return False
    try:
        return await workflow_exists(request.app.state.temporal, ticket_id)
    except RPCError:
        return False


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, err: ApiError) -> JSONResponse:
        return error_response(err.status_code, err.code, err.message)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, err: DomainError) -> JSONResponse:
        return error_response(err.status_code, err.code, err.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, err: RequestValidationError) -> JSONResponse:
        problems = [f"{_field(tuple(e['loc']))}: {e['msg']}" for e in err.errors()]
        return error_response(422, "validation_error", "; ".join(problems))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, err: StarletteHTTPException) -> JSONResponse:
        if err.status_code == 400:
            # The framework's answer to a body it cannot decode (bytes that are not UTF-8);
            # malformed JSON is already a 422, and 422 is what payload errors are here.
            return error_response(422, "validation_error", f"body: {err.detail}")
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        return error_response(
            err.status_code, codes.get(err.status_code, "http_error"), str(err.detail)
        )

    @app.exception_handler(WorkflowUpdateFailedError)
    async def _update_failed(_: Request, err: WorkflowUpdateFailedError) -> JSONResponse:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type in _UPDATE_REFUSALS:
            refusal = _UPDATE_REFUSALS[cause.type]
            return error_response(refusal.status_code, refusal.code, cause.message)
        log.error("update failed: %s", err, exc_info=err)
        return error_response(500, "internal_error", "the action failed inside the ticket workflow")

    @app.exception_handler(RPCError)
    async def _rpc(request: Request, err: RPCError) -> JSONResponse:
        if err.status == RPCStatusCode.NOT_FOUND:
            if await _workflow_ended(request):
                return error_response(
                    409, "ticket_ended", "the ticket is closed and its workflow has ended"
                )
            return error_response(404, "not_found", "no such ticket")
        log.warning("Temporal call failed: %s (%s)", err.message, err.status)
        return error_response(503, "temporal_unavailable", "the workflow service is unavailable")

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _store(_: Request, err: DBAPIError) -> JSONResponse:
        log.warning("store unavailable: %s", err.orig)
        return error_response(503, "store_unavailable", "the ticket store is unavailable")

    @app.exception_handler(OSError)
    async def _os(_: Request, err: OSError) -> JSONResponse:
        log.warning("dependency unreachable: %s", err)
        return error_response(503, "unavailable", "a dependency of the API is unreachable")

    @app.exception_handler(RuntimeError)
    async def _runtime(_: Request, err: RuntimeError) -> JSONResponse:
        if str(err).startswith("Failed client connect"):
            # What a lazy Temporal client raises while the server cannot be reached.
            log.warning("Temporal unreachable: %s", err)
            return error_response(
                503, "temporal_unavailable", "the workflow service is unavailable"
            )
        log.error("unhandled error", exc_info=err)
        return error_response(500, "internal_error", "internal error")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, err: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=err)
        return error_response(500, "internal_error", "internal error")
