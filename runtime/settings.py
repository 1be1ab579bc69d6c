"""Process configuration, read once from the environment (and `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POLICY_FILE = REPO_ROOT / "config" / "policy.yaml"


class Settings(BaseSettings):
    """Every knob of a ticketflow process. Unset parts mean "use the embedded default"."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path(".data"), alias="TICKETFLOW_DATA_DIR")
    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    temporal_address: str | None = Field(default=None, alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", alias="TEMPORAL_NAMESPACE")
    temporal_task_queue: str = Field(default="tickets", alias="TEMPORAL_TASK_QUEUE")
    smtp_host: str | None = Field(default=None, alias="SMTP_HOST")
    smtp_port: int | None = Field(default=None, alias="SMTP_PORT")
    smtp_username: str | None = Field(default=None, alias="SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(default=None, alias="SMTP_PASSWORD")
    smtp_starttls: bool = Field(default=False, alias="SMTP_STARTTLS")
    smtp_use_tls: bool = Field(default=False, alias="SMTP_USE_TLS")
    smtp_timeout: float = Field(default=30.0, gt=0, le=30.0, alias="SMTP_TIMEOUT")
    """Seconds for each SMTP step; at most 30 (the send activity heartbeats every step and
    its heartbeat timeout is 45 s)."""
    mail_from: str = Field(default="Support <support@ticketflow.local>", alias="MAIL_FROM")
    policy_file: Path = Field(default=DEFAULT_POLICY_FILE, alias="TICKETFLOW_CONFIG")
    tokens: SecretStr | None = Field(default=None, alias="TICKETFLOW_TOKENS")
    """Secrets are `SecretStr`: a repr, a log line or a dump shows `**********`."""
    payload_keys: SecretStr | None = Field(default=None, alias="TICKETFLOW_PAYLOAD_KEYS")
    """`id:base64key,…` (32-byte AES keys): the keyring of the payload codec (`runtime.codec`).
    Unset: the development keyring `ticketflow dev` keeps in the data dir, if any."""
    payload_active_key: str | None = Field(default=None, alias="TICKETFLOW_PAYLOAD_ACTIVE_KEY")
    """The key id new payloads are encrypted with; default: the first of the keyring."""
    ticket_prefix: str = Field(default="TKT", alias="TICKETFLOW_TICKET_PREFIX")
    portal_url: str | None = Field(default=None, alias="PORTAL_URL")
    """Where customers and agents open a ticket: emails link `{PORTAL_URL}/tickets/{id}`."""
    public_url: str | None = Field(default=None, alias="PUBLIC_URL")
    """This API as customers reach it: survey links are `{PUBLIC_URL}/csat/{token}?score=N`
    (default: `PORTAL_URL`, when the portal forwards `/csat/` to the API)."""
    csat_secret: SecretStr | None = Field(default=None, alias="TICKETFLOW_CSAT_SECRET")
    """Signs the survey's one-click links (HMAC-SHA256); the same value on every worker and
    API replica. Unset: surveys carry no links and ask the customer to reply with a number."""
    api_host: str = Field(default="127.0.0.1", alias="API_HOST")
    api_port: int = Field(default=8000, alias="API_PORT")
    metrics_port: int | None = Field(default=None, alias="WORKER_METRICS_PORT")
    """With `worker --processes N`, process i serves its metrics on this port + i."""
    worker_processes: int = Field(default=1, ge=1, alias="WORKER_PROCESSES")
    """Worker processes `ticketflow worker` runs (its `--processes` overrides it)."""
    worker_max_cached_workflows: int = Field(
        default=1000, ge=0, alias="WORKER_MAX_CACHED_WORKFLOWS"
    )
    """Workflows one worker process keeps in memory (sticky), about 0.2 MiB each; a ticket
    not in the cache is replayed from its history when it next has a task. The SDK's
    default; docs/benchmarks.md measures the memory and the replay."""
    payment_url: str | None = Field(default=None, alias="TICKETFLOW_PAYMENT_URL")
    """The payment adapter's endpoint (`issue_refund` POSTs approved refunds, credits and
    cancellations to it with `Idempotency-Key: <approval id>`); unset: the store-only ledger."""
    webhook_allowed_hosts: str = Field(default="", alias="TICKETFLOW_WEBHOOK_ALLOWED_HOSTS")
    """Comma-separated host patterns (`*` globs, addresses, networks) webhooks may reach
    although they are not public; unlisted hosts must resolve to public addresses only."""
    webhook_retry_seconds: float = Field(
        default=86400, gt=0, alias="TICKETFLOW_WEBHOOK_RETRY_SECONDS"
    )
    """How long an event is retried (exponential backoff) before it is recorded as failed."""
    webhook_pause_after_seconds: float = Field(
        default=86400, gt=0, alias="TICKETFLOW_WEBHOOK_PAUSE_AFTER_SECONDS"
    )
    """A subscription whose every attempt failed for this long is paused."""
    webhook_backoff_seconds: float = Field(
        default=1, gt=0, alias="TICKETFLOW_WEBHOOK_BACKOFF_SECONDS"
    )
    webhook_backoff_max_seconds: float = Field(
        default=3600, gt=0, alias="TICKETFLOW_WEBHOOK_BACKOFF_MAX_SECONDS"
    )
    webhook_timeout_seconds: float = Field(
        default=10, gt=0, le=60, alias="TICKETFLOW_WEBHOOK_TIMEOUT_SECONDS"
    )
    """Each request's deadline; a claim older than this plus 5 s belongs to a dead attempt."""
    webhook_poll_seconds: float = Field(default=0.5, gt=0, alias="TICKETFLOW_WEBHOOK_POLL_SECONDS")

    @property
    def effective_database_url(self) -> str:
        """The store: `DATABASE_URL`, else the embedded SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tickets.db').resolve()}"

    @property
    def survey_base_url(self) -> str | None:
        return self.public_url or self.portal_url

    @property
    def effective_temporal_address(self) -> str:
        return self.temporal_address or "127.0.0.1:7233"

    @property
    def effective_smtp_host(self) -> str:
        return self.smtp_host or "127.0.0.1"

    @property
    def effective_smtp_port(self) -> int:
        return self.smtp_port or 1025


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
