"""Who may call the codec server (`/codec/*`) and from which browser origin.

The Temporal UI calls the codec server from the operator's browser, which holds none of our
bearer tokens. So:
- with an `Authorization: Bearer <admin token>` any caller may (the `temporal` CLI's
  `--codec-auth`, a proxy in front of a production UI);
- without a token only under `CODEC_ALLOW_LOOPBACK` (`ticketflow dev` sets it), and only a
  request from a loopback address whose `Origin` is `CODEC_UI_ORIGIN`: the dev UI, in a
  browser on this machine;
- CORS answers only `CODEC_UI_ORIGIN`, and only on `/codec/*`.
"""

from __future__ import annotations

import ipaddress

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from api.config import ApiSettings

PREFIX = "/codec/"


def _loopback(scope: Scope) -> bool:
    client = scope.get("client")
    try:
        return client is not None and ipaddress.ip_address(client[0]).is_loopback
    except ValueError:  # not an address (an in-process test transport names none)
        return False


def dev_ui_request(scope: Scope, settings: ApiSettings) -> bool:
    """A token-less codec call from the dev UI: loopback, from its origin, allowed at all."""
    headers = Headers(scope=scope)
    return (
        settings.codec_allow_loopback
        and scope["path"].startswith(PREFIX)
        and "authorization" not in headers
        and headers.get("origin") == settings.codec_ui_origin
        and _loopback(scope)
    )


class CodecCors:
    """CORS for the UI's origin on `/codec/*`; every other path answers no browser origin."""

    def __init__(self, app: ASGIApp, *, settings: ApiSettings) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=[settings.codec_ui_origin],
            allow_methods=["POST"],
            allow_headers=["Authorization", "Content-Type", "X-Namespace"],
            allow_credentials=True,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
