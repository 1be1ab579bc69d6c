"""The policy file's models, cross-reference checks, error messages and SLA selection."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain.policy.support import PolicyError, SupportPolicy, parse_policy


def minimal_policy() -> dict[str, Any]:
    """A small valid policy, as `yaml.safe_load` would return it."""
    return {
        "version": "test.1",
        "calendars": {
            "24x7": {"always_open": True},
            "office": {
                "timezone": "Europe/Skopje",
                "weekly": [{"day": "mon", "start": "09:00", "end": "17:00"}],
                "holiday_country": "MK",
            },
        },
        "sla_policies": [
            {
                "id": "vip-billing",
                "match": {"plan": ["enterprise"], "category": ["billing"]},
                "targets": {"first_response": "15m", "resolution": "2h"},
                "calendar": "24x7",
            },
            {
                "id": "p1",
                "match": {"priority": ["P1"]},
                "targets": {"first_response": "30m", "next_update": "1h", "resolution": "4h"},
                "calendar": "24x7",
                "at_risk_percent": [90, 50, 90],
            },
            {
                "id": "default",
                "match": {},
                "targets": {"first_response": 7200, "resolution": "1d"},
                "calendar": "office",
                "pauses": {"resolution": ["awaiting_customer", "on_hold"]},
                "reopen": "continue",
            },
        ],
        "categories": ["billing", "general"],
        "teams": {
            "frontline": {
                "name": "Frontline",
                "lead": "alice",
                "email": "front@example.test",
                "calendar": "office",
            },
            "billing": {
                "name": "Billing",
                "lead": "bob",
                "email": "billing@example.test",
                "calendar": "office",
            },
        },
        "agents": {
            "alice": {
                "name": "Alice",
                "email": "a@example.test",
                "team": "frontline",
                "capacity": 5,
            },
            "bob": {
                "name": "Bob",
                "email": "b@example.test",
                "team": "billing",
                "capacity": 5,
                "languages": ["en", "mk"],
            },
        },
        "routing": {
            "rules": [
                {"keywords": ["invoice"], "category": "billing", "team": "billing"},
                {"channel": ["phone"], "priority": "P2"},
            ],
            "raise_priority_for_plans": ["enterprise"],
            "default_category": "general",
            "default_team": "frontline",
        },
        "escalation": {
            "levels": [
                {"level": 0, "name": "L1", "notify_team": "frontline"},
                {"level": 1, "name": "Lead", "notify_agents": ["bob"]},
            ],
            "unresolved_after": {"P1": "1h", "P2": "4h", "P3": "24h", "P4": "72h"},
        },
    }


@pytest.fixture
def policy() -> SupportPolicy:
    return parse_policy(minimal_policy())


def problems_of(data: object) -> list[tuple[str, str]]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(data, source="test.yaml")
    assert caught.value.source == "test.yaml"
    return caught.value.problems


# --- selection ----------------------------------------------------------------------------


def test_first_matching_policy_wins_and_reason_names_the_conditions(policy: SupportPolicy) -> None:
    vip = policy.select_sla(
        priority="P1", plan="enterprise", category="billing", channel="email", created_year=2026
    )
    assert vip.policy_id == "vip-billing"
    assert vip.reason == "policy 'vip-billing' matched plan=enterprise, category=billing"
    p1 = policy.select_sla(
        priority="P1", plan="enterprise", category=None, channel="email", created_year=2026
    )
    assert (p1.policy_id, p1.reason) == ("p1", "policy 'p1' matched priority=P1")
    rest = policy.select_sla(
        priority="P3", plan="starter", category="billing", channel="chat", created_year=2026
    )
    assert (rest.policy_id, rest.reason) == ("default", "policy 'default' matched as the catch-all")


def test_selection_is_a_self_contained_snapshot(policy: SupportPolicy) -> None:
    p1 = policy.select_sla(
        priority="P1", plan="starter", category=None, channel="api", created_year=2026
    )
    assert p1.policy_version == "test.1"
    assert (p1.targets.first_response, p1.targets.next_update, p1.targets.resolution) == (
        1800,
        3600,
        14400,
    )
    assert p1.at_risk_percent == [50, 90]
    assert p1.pauses == {
        "next_update": ["awaiting_customer"],
        "resolution": ["awaiting_customer"],
    }
    assert p1.reopen == "new_cycle"
    rest = policy.select_sla(
        priority="P4", plan="starter", category=None, channel="api", created_year=2026
    )
    assert rest.targets.next_update is None
    assert rest.pauses == {"resolution": ["awaiting_customer", "on_hold"]}
    assert rest.reopen == "continue"
    # The calendar is resolved: the MK holidays are dates now, not a country lookup.
    assert rest.calendar.holiday_country is None
    assert date(2026, 12, 8) in rest.calendar.holiday_dates
    assert type(rest).model_validate_json(rest.model_dump_json()) == rest


def test_policy_round_trips_through_its_own_dump(policy: SupportPolicy) -> None:
    assert parse_policy(policy.model_dump(mode="json")) == policy


def test_defaults(policy: SupportPolicy) -> None:
    assert policy.languages == ["en", "ms", "mk"]
    assert policy.default_language == "en"
    assert policy.lifecycle.awaiting_customer_reminder_after == 48 * 3600
    assert policy.lifecycle.reopen_window == 7 * 86400
    assert policy.escalation.reopen_threshold == 3
    assert policy.agents["alice"].languages == ["en"]
    assert policy.agents["alice"].active


# --- cross references ---------------------------------------------------------------------


def _set(data: dict[str, Any], path: str, value: object) -> None:
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("teams.billing.lead", "zed", "teams.billing.lead: unknown agent 'zed'"),
        ("teams.billing.calendar", "moon", "teams.billing.calendar: unknown calendar 'moon'"),
        ("sla_policies.1.calendar", "moon", "sla_policies.1.calendar: unknown calendar 'moon'"),
        (
            "sla_policies.0.match.category",
            ["billing", "tax"],
            "sla_policies.0.match.category: unknown category 'tax'",
        ),
        ("agents.bob.team", "sales", "agents.bob.team: unknown team 'sales'"),
        ("agents.bob.languages", ["en", "fr"], "agents.bob.languages: unknown language 'fr'"),
        ("routing.rules.0.category", "tax", "routing.rules.0.category: unknown category 'tax'"),
        ("routing.rules.0.team", "sales", "routing.rules.0.team: unknown team 'sales'"),
        ("routing.default_team", "sales", "routing.default_team: unknown team 'sales'"),
        ("routing.default_category", "x", "routing.default_category: unknown category 'x'"),
        (
            "escalation.levels.0.notify_team",
            "sales",
            "escalation.levels.0.notify_team: unknown team 'sales'",
        ),
        (
            "escalation.levels.1.notify_agents",
            ["bob", "zed"],
            "escalation.levels.1.notify_agents: unknown agent 'zed'",
        ),
        ("default_language", "fr", "default_language: unknown language 'fr'"),
        ("calendars.office.id", "other", "calendars.office.id: must be 'office' (its key)"),
        ("sla_policies.1.id", "default", "sla_policies: duplicate policy id 'default'"),
        ("categories", ["billing", "general", "billing"], "categories: duplicate category"),
    ],
)
def test_cross_reference_errors_name_the_key(path: str, value: object, expected: str) -> None:
    data = minimal_policy()
    _set(data, path, value)
    lines = str(PolicyError(problems_of(data))).splitlines()
    assert any(line.startswith(expected) for line in lines), lines


def test_every_ticket_must_match_some_policy() -> None:
    data = minimal_policy()
    del data["sla_policies"][2]
    [(path, message)] = problems_of(data)
    assert path == "sla_policies"
    assert message.startswith("no policy matches priority=P2, plan=starter, channel=email")
    assert "end with a catch-all policy" in message


def test_all_problems_are_reported_one_line_each() -> None:
    data = minimal_policy()
    data["teams"]["billing"]["lead"] = "zed"
    data["agents"]["alice"]["team"] = "sales"
    error_text = str(PolicyError(problems_of(data)))
    assert error_text.splitlines() == [
        "teams.billing.lead: unknown agent 'zed'",
        "agents.alice.team: unknown team 'sales'",
    ]


# --- structure ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            "sla_policies.2.targets.first_response",
            "3x",
            "sla_policies.2.targets.first_response: invalid duration '3x'",
        ),
        ("sla_policies.2.targets.resolution", "0s", "sla_policies.2.targets.resolution: invalid"),
        ("lifecycle", {"reopen_window": "soon"}, "lifecycle.reopen_window: invalid duration"),
        ("escalation.unresolved_after.P2", "4 hours", "escalation.unresolved_after.P2: invalid"),
        ("sla_policies.0.match.priority", ["P5"], "sla_policies.0.match.priority: unknown"),
        ("sla_policies.0.match.priority", ["P 5"], "sla_policies.0.match.priority.0: String"),
        ("sla_policies.1.at_risk_percent", [80, 100], "sla_policies.1.at_risk_percent: at-risk"),
        (
            "sla_policies.1.pauses",
            {"resolve": ["open"]},
            "sla_policies.1.pauses.resolve: invalid key",
        ),
        ("sla_policies.1.reopen", "restart", "sla_policies.1.reopen: Input should be"),
        ("calendars.office.timezone", "Mars/Base", "calendars.office.timezone: unknown time zone"),
        ("agents.bob.capacity", -1, "agents.bob.capacity: Input should be greater than or equal"),
        ("escalation.levels.1.level", 2, "escalation.levels: levels must be listed as 0, 1"),
        ("routing.rules.1", {"channel": ["phone"]}, "routing.rules.1: a routing rule must set"),
    ],
)
def test_structural_errors_name_the_key(path: str, value: object, expected: str) -> None:
    data = minimal_policy()
    _set(data, path, value)
    lines = str(PolicyError(problems_of(data))).splitlines()
    assert any(line.startswith(expected) for line in lines), lines


def test_unknown_keys_are_rejected_at_any_depth() -> None:
    data = minimal_policy()
    data["colour"] = "blue"
    data["sla_policies"][1]["targets"]["first_respons"] = "10m"
    assert sorted(problems_of(data)) == [
        ("colour", "unknown key"),
        ("sla_policies.1.targets.first_respons", "unknown key"),
    ]


def test_missing_keys_and_non_mapping() -> None:
    data = minimal_policy()
    del data["routing"]
    assert problems_of(data) == [("routing", "missing required key")]
    assert problems_of(None) == [("", "the policy must be a mapping of keys to values")]
