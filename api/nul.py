"""No request text may hold U+0000: PostgreSQL's text cannot store it, so it is refused at
the edge (422) instead of failing a query (500) or, worse, a projection after the workflow
accepted it. SQLite would store it: the refusal is the same on both backends.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response
from api.limits import MAX_BODY_BYTES, read_body, replaying

_ESCAPED_NUL = b"\\u0000"


def _holds_nul(value: Any) -> bool:
    """Whether any string (key or value) in a decoded JSON document contains U+0000."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _body_holds_nul(body: bytes) -> bool:
    # A JSON string can carry NUL only as the escape \u0000 (a raw NUL is invalid JSON,
    # which the route refuses anyway); decode only the rare body that has the escape.
    if _ESCAPED_NUL not in body:
        return False
    try:
        return _holds_nul(json.loads(body))
    except ValueError:
        return False  # not JSON: the route's own validation answers


class RefuseNul:
    """Pure ASGI middleware: checks the path, the query and a (buffered) JSON body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
            await self._refuse(scope, receive, send, "path, query")
            return
        # Inside BodySizeLimit: the body is already read and bounded, one message.
        body = await read_body(receive, MAX_BODY_BYTES)
        if body is None:
            return  # the client went away before it finished sending
        if _body_holds_nul(body):
            await self._refuse(scope, receive, send, "body")
            return
        await self.app(scope, replaying(body, receive), send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, where: str) -> None:
        message = f"{where}: text must not contain NUL (U+0000)"
        await error_response(422, "validation_error", message)(scope, receive, send)
