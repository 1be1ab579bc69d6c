"""The codec server: Temporal's remote-codec protocol over the payload codec (`runtime.codec`).

`POST /codec/decode` and `/codec/encode` take and return `{"payloads": [{"metadata": {name:
base64}, "data": base64}]}`, the JSON form of Temporal's `Payloads`, as the Temporal UI
(`TEMPORAL_CODEC_ENDPOINT`, `--ui-codec-endpoint`) and the `temporal` CLI
(`--codec-endpoint`) send them. Who may call: `api.codec`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payload

from api.auth import TokenTable, bearer_token
from api.codec import dev_ui_request
from api.config import ApiSettings
from api.errors import ApiError, documented
from api.limits import MAX_BODY_BYTES
from domain.enums import Role
from runtime.codec import EncryptionCodec, PayloadKeyError

MAX_PAYLOADS = 1000
MAX_NAMESPACE_CHARS = 255
"""Longer than any Temporal namespace name: only compared with `TEMPORAL_NAMESPACE`."""


class CodecPayload(BaseModel):
    metadata: dict[str, str] = Field(default_factory=dict, description="values in base64")
    data: str = Field(default="", max_length=MAX_BODY_BYTES, description="base64")


class CodecPayloads(BaseModel):
    """Protobuf's JSON leaves out what is empty: `{}` is no payloads (a query without input)."""

    payloads: list[CodecPayload] = Field(default_factory=list, max_length=MAX_PAYLOADS)


def _operator(request: Request) -> None:
    """An admin token, or (`CODEC_ALLOW_LOOPBACK`) the dev UI on this machine."""
    bounds: ApiSettings = request.app.state.bounds
    token = bearer_token(request.headers.get("authorization", ""))
    if token is None:
        if dev_ui_request(request.scope, bounds):
            return
        raise ApiError(401, "unauthorized", "the codec needs an admin token")
    tokens: TokenTable = request.app.state.tokens
    principal = tokens.lookup(token)
    if principal is None:
        raise ApiError(401, "unauthorized", "unknown token")
    if principal.role != Role.ADMIN:
        raise ApiError(403, "forbidden", "the codec needs a token with role: admin")


def _b64(value: str, where: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "validation_error", f"{where}: not base64") from None


def _to_proto(payloads: Sequence[CodecPayload]) -> list[Payload]:
    return [
        Payload(
            metadata={k: _b64(v, f"payloads[{i}].metadata.{k}") for k, v in p.metadata.items()},
            data=_b64(p.data, f"payloads[{i}].data"),
        )
        for i, p in enumerate(payloads)
    ]


def _to_json(payloads: Sequence[Payload]) -> CodecPayloads:
    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return CodecPayloads(
        payloads=[
            CodecPayload(metadata={k: b64(v) for k, v in p.metadata.items()}, data=b64(p.data))
            for p in payloads
        ]
    )


def _namespace(
    request: Request,
    namespace: Annotated[
        str | None,
        Header(
            alias="X-Namespace",
            max_length=MAX_NAMESPACE_CHARS,
            description="The namespace the payloads are of",
        ),
    ] = None,
) -> None:
    served: str = request.app.state.namespace
    if namespace is not None and namespace != served:
        raise ApiError(422, "validation_error", f"X-Namespace: this codec serves {served!r}")


router = APIRouter(
    prefix="/codec",
    tags=["codec"],
    dependencies=[Depends(_operator), Depends(_namespace)],
    responses=documented(401, 403, 422),
)


def _codec(request: Request) -> EncryptionCodec | None:
    codec: EncryptionCodec | None = request.app.state.codec
    return codec


@router.post("/decode", response_model=CodecPayloads)
async def decode(body: CodecPayloads, request: Request) -> CodecPayloads:
    """Decrypt payloads for an operator; plain ones come back as they are."""
    codec, payloads = _codec(request), _to_proto(body.payloads)
    try:
        return _to_json(await codec.decode(payloads) if codec else payloads)
    except PayloadKeyError as err:
        raise ApiError(422, "undecodable", str(err)) from None


@router.post("/encode", response_model=CodecPayloads)
async def encode(body: CodecPayloads, request: Request) -> CodecPayloads:
    """Encrypt payloads under the active key (an operator's input for an Update or a signal)."""
    codec, payloads = _codec(request), _to_proto(body.payloads)
    return _to_json(await codec.encode(payloads) if codec else payloads)
