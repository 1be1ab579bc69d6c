"""The policy's customer-facing keys: brand, emails, csat, plans[].languages, language_rules."""

from __future__ import annotations

from typing import Any

import pytest

from domain.policy.customer import DEFAULT_ESCALATION_WORDS, merged_language_rules
from domain.policy.support import PolicyError, SupportPolicy, parse_policy
from tests.domain.policy.test_policy import minimal_policy


def policy_with(**keys: Any) -> SupportPolicy:
    return parse_policy({**minimal_policy(), **keys})


def problems(**keys: Any) -> str:
    with pytest.raises(PolicyError) as refused:
        policy_with(**keys)
    return str(refused.value)


def test_every_key_is_optional_and_defaults_to_todays_behaviour() -> None:
    policy = policy_with()
    assert policy.brand.name is None
    assert policy.emails.disabled == []
    assert policy.emails.status_changes == []
    assert policy.csat.send_after == "closed"
    assert policy.survey_delay == 24 * 3600
    assert policy.csat.link_ttl == 7 * 86400
    assert policy.language_for("starter", "es") == "es"


def test_a_full_customer_section_validates() -> None:
    policy = policy_with(
        brand={"name": "DataFlow Support", "manager_name": "Dana Reyes"},
        emails={"disabled": ["awaiting_reminder"], "status_changes": ["on_hold", "resolved"]},
        csat={"send_after": "resolved", "delay": "2h", "link_ttl": "3d"},
        languages=["en", "ms", "mk", "es", "fr"],
        plans=[
            {"id": "starter", "languages": ["en"]},
            {"id": "professional"},
            {"id": "enterprise", "languages": ["en", "es", "fr"]},
        ],
        language_rules={"es": {"escalation_words": ["Urgente"], "reply_headers": ["^El .*:$"]}},
    )
    assert policy.survey_delay == 7200
    assert policy.csat.link_ttl == 3 * 86400
    assert policy.language_rules["es"].escalation_words == ["urgente"]
    assert policy.language_for("starter", "es") == "en"
    assert policy.language_for("enterprise", "es-MX") == "es-MX"
    assert policy.language_for("professional", "fr") == "fr"  # not listed: any language


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            {"emails": {"disabled": ["welcome"]}},
            "emails.disabled: unknown customer email 'welcome'",
        ),
        ({"emails": {"status_changes": ["new"]}}, "emails.status_changes"),
        ({"csat": {"send_after": "opened"}}, "csat.send_after"),
        ({"csat": {"link_ttl": "0s"}}, "csat.link_ttl"),
        (
            {"csat": {"delay": "2h"}, "lifecycle": {"csat_survey_after": "1h"}},
            "csat.delay: give the survey delay once",
        ),
        ({"plans": [{"id": "starter", "languages": ["de"]}]}, "unknown language 'de'"),
        ({"language_rules": {"es": {"reply_headers": ["(unclosed"]}}}, "invalid regular expr"),
        ({"language_rules": {"Spanish": {}}}, "language_rules.Spanish: not a language tag"),
        ({"brand": {"support_address": "nobody"}}, "brand.support_address"),
    ],
)
def test_bad_keys_are_named(keys: dict[str, Any], message: str) -> None:
    assert message in problems(**keys)


def test_a_configured_language_replaces_only_its_own_defaults() -> None:
    rules = merged_language_rules(policy_with(language_rules={"en": {}}).language_rules)
    assert rules["en"].escalation_words == []
    assert rules["ms"].escalation_words == DEFAULT_ESCALATION_WORDS["ms"]
