"""The API's abuse bounds, read from the environment (and `.env`) like `runtime.settings`.

They live beside the API that enforces them; docs/security.md explains each one.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.enums import Role

ANONYMOUS = "anonymous"
"""The rate-limit class of a request without a known token, limited per client address."""
CODEC_UI = "codec_ui"
"""The rate-limit class of the dev Temporal UI's token-less codec calls (`api.codec`): a
history page decodes in one burst of a request per event."""
LIMITED_CLASSES = frozenset({*(role.value for role in Role), ANONYMOUS, CODEC_UI})
CODEC_UI_DEFAULT = {"per_second": 100, "burst": 1000}


class RateLimit(BaseModel):
    """`per_second` sustained, with bursts of up to `burst` requests at once."""

    per_second: float = Field(gt=0, description="below 1 for slower: 0.1 is one per 10 s")
    burst: int = Field(ge=1)

    @model_validator(mode="after")
    def _burst_covers_a_second(self) -> Self:
        if self.burst < self.per_second:
            raise ValueError("burst must be at least per_second")
        return self


class ApiSettings(BaseSettings):
    """Rate limits, the `/metrics` token, the largest reporting window, the codec's callers."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    rate_limit_enabled: bool = Field(default=True, alias="RATE_LIMIT_ENABLED")
    rate_limit_per_second: float = Field(default=20, gt=0, alias="RATE_LIMIT_PER_SECOND")
    rate_limit_burst: int = Field(default=40, ge=1, alias="RATE_LIMIT_BURST")
    rate_limit_roles: dict[str, RateLimit] = Field(default_factory=dict, alias="RATE_LIMIT_ROLES")
    """Per role (`service`, `agent`, `admin`) or `anonymous`, as JSON:
    `{"service": {"per_second": 100, "burst": 200}}`; a class not named gets the default."""
    metrics_token: SecretStr | None = Field(default=None, alias="METRICS_TOKEN")
    """When set, `GET /metrics` needs `Authorization: Bearer <METRICS_TOKEN>`."""
    metrics_max_window_days: int = Field(default=92, ge=1, le=3660, alias="METRICS_MAX_WINDOW_DAYS")
    """The longest `[from, to)` `GET /v1/metrics/summary` computes: a calendar quarter."""
    codec_ui_origin: str = Field(default="http://127.0.0.1:8233", alias="CODEC_UI_ORIGIN")
    """The Temporal UI's origin: the only one CORS lets call `/codec/*` from a browser."""
    codec_allow_loopback: bool = Field(default=False, alias="CODEC_ALLOW_LOOPBACK")
    """`ticketflow dev` sets it: `/codec/*` then answers, without a token, a request from a
    loopback address that comes from `CODEC_UI_ORIGIN`. Otherwise an admin token is needed."""

    @field_validator("rate_limit_roles")
    @classmethod
    def _known_classes(cls, roles: dict[str, RateLimit]) -> dict[str, RateLimit]:
        unknown = sorted(set(roles) - LIMITED_CLASSES)
        if unknown:
            allowed = ", ".join(sorted(LIMITED_CLASSES))
            raise ValueError(f"unknown role {unknown[0]!r}: expected one of {allowed}")
        return roles

    @model_validator(mode="after")
    def _default_burst_covers_a_second(self) -> Self:
        if self.rate_limit_burst < self.rate_limit_per_second:
            raise ValueError("RATE_LIMIT_BURST must be at least RATE_LIMIT_PER_SECOND")
        return self

    def rate_limit(self, limited_class: str) -> RateLimit:
        """The limit of a role, or of `anonymous` requests."""
        default = RateLimit(per_second=self.rate_limit_per_second, burst=self.rate_limit_burst)
        if limited_class == CODEC_UI:
            default = RateLimit.model_validate(CODEC_UI_DEFAULT)
        return self.rate_limit_roles.get(limited_class, default)
