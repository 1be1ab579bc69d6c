"""Tokens and passwords are `SecretStr`: no repr, str, dump or log line shows them."""

from __future__ import annotations

import logging

import pytest

from api.auth import parse_tokens
from api.config import ApiSettings
from runtime.settings import Settings

SMTP_PASSWORD = "smtp-pw-7c1e"
TOKEN = "svc-token-9f3a"
METRICS_TOKEN = "scrape-token-41d0"


def test_settings_never_show_their_secrets(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings.model_validate(
        {"SMTP_PASSWORD": SMTP_PASSWORD, "TICKETFLOW_TOKENS": f"{TOKEN}:service"}
    )
    bounds = ApiSettings.model_validate({"METRICS_TOKEN": METRICS_TOKEN})
    with caplog.at_level(logging.INFO):
        logging.getLogger("ticketflow.test").info("settings: %s %r %s", settings, settings, bounds)
    shown = " ".join(
        [
            repr(settings),
            str(settings),
            settings.model_dump_json(),
            str(settings.model_dump()),
            repr(bounds),
            bounds.model_dump_json(),
            caplog.text,
        ]
    )
    for secret in (SMTP_PASSWORD, TOKEN, METRICS_TOKEN):
        assert secret not in shown
    assert "**********" in shown
    # The values are still there for the code that needs them.
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == SMTP_PASSWORD
    assert settings.tokens is not None
    assert TOKEN in parse_tokens(settings.tokens.get_secret_value())
