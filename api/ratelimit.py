"""Per-token request rate limits, counted by the `limits` library, refused with 429.

A request with a known bearer token counts against that token, under its role's limit;
any other request (no token, an unknown one) counts against its client address under the
`anonymous` limit, so guessing tokens is bounded too; the dev Temporal UI's token-less codec
calls (`api.codec.dev_ui_request`) count under `codec_ui`, whose default fits the burst of a
history page. A limit of `per_second` with a
`burst` is a moving window of `burst` requests per `ceil(burst / per_second)` seconds:
at most `burst` at once, and no more than `per_second` on average.

Counts are kept in this process's memory: N API replicas allow N times the limit.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import TokenTable, bearer_token
from api.codec import dev_ui_request
from api.config import ANONYMOUS, CODEC_UI, LIMITED_CLASSES, ApiSettings, RateLimit
from api.errors import error_response


def window(limit: RateLimit) -> RateLimitItem:
    """The moving window that enforces `limit`: `burst` hits per burst/rate seconds."""
    return RateLimitItemPerSecond(limit.burst, math.ceil(limit.burst / limit.per_second))


class RequestRateLimit:
    """Pure ASGI middleware: counts every HTTP request before anything reads its body."""

    def __init__(self, app: ASGIApp, *, tokens: TokenTable, settings: ApiSettings) -> None:
        self.app = app
        self.tokens = tokens
        self.settings = settings
        self.windows = {name: window(settings.rate_limit(name)) for name in LIMITED_CLASSES}
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def _classify(self, scope: Scope) -> tuple[str, str]:
        """(limited class, counter key); a key never holds a token, only its digest."""
        token = bearer_token(Headers(scope=scope).get("authorization", ""))
        principal = self.tokens.lookup(token) if token else None
        if token and principal is not None:
            digest = hashlib.sha256(token.encode()).hexdigest()[:32]
            return principal.role.value, f"token:{digest}"
        client = scope.get("client")
        address = client[0] if client else "unknown"
        if dev_ui_request(scope, self.settings):
            return CODEC_UI, f"codec-ui:{address}"
        return ANONYMOUS, f"address:{address}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limited_class, key = self._classify(scope)
        item = self.windows[limited_class]
        if await self.limiter.hit(item, key):
            await self.app(scope, receive, send)
            return
        stats = await self.limiter.get_window_stats(item, key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        who = "this token" if limited_class != ANONYMOUS else "this address without a token"
        response = error_response(
            429,
            "rate_limited",
            f"more than {item.amount} requests in {item.multiples} s from {who}; "
            f"retry after {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)
