"""The shipped config/policy.yaml encodes the seed support procedures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from domain.enums import Metric
from domain.policy.models import METRICS
from domain.policy.support import SupportPolicy
from domain.policy.vocabulary import Vocabulary
from domain.sla.calendar import add_business_seconds, is_open
from runtime.policy_file import load_policy

POLICY_FILE = Path(__file__).resolve().parents[3] / "config" / "policy.yaml"
MINUTE, HOUR, DAY = 60, 3600, 86400
STANDARD_PLANS = ("starter", "professional")
DEFAULTS = Vocabulary()
PRIORITIES, CHANNELS = DEFAULTS.priority_ids, DEFAULTS.channel_ids

# Seed targets: first response / next update / resolution, in business time.
SEED_TARGETS: dict[str, tuple[int, int, int]] = {
    "P1": (30 * MINUTE, 1 * HOUR, 4 * HOUR),
    "P2": (2 * HOUR, 4 * HOUR, 24 * HOUR),
    "P3": (8 * HOUR, 24 * HOUR, 72 * HOUR),
    "P4": (24 * HOUR, 7 * DAY, 7 * DAY),
}
ENTERPRISE_TARGETS: dict[str, tuple[int, int, int]] = {
    "P1": (15 * MINUTE, 30 * MINUTE, 2 * HOUR),
    "P2": (1 * HOUR, 2 * HOUR, 12 * HOUR),
    "P3": (4 * HOUR, 12 * HOUR, 48 * HOUR),
    "P4": (12 * HOUR, 3 * DAY, 5 * DAY),
}


@pytest.fixture(scope="module")
def policy() -> SupportPolicy:
    return load_policy(POLICY_FILE)


def targets(
    policy: SupportPolicy, priority: str, plan: str, channel: str = "email"
) -> list[object]:
    selection = policy.select_sla(
        priority=priority, plan=plan, category=None, channel=channel, created_year=2026
    )
    return [selection.targets.for_metric(metric) for metric in METRICS]


@pytest.mark.parametrize("priority", PRIORITIES)
@pytest.mark.parametrize("plan", STANDARD_PLANS)
def test_standard_plans_get_the_seed_targets(
    policy: SupportPolicy, priority: str, plan: str
) -> None:
    for channel in CHANNELS:
        assert targets(policy, priority, plan, channel) == list(SEED_TARGETS[priority])


@pytest.mark.parametrize("priority", PRIORITIES)
def test_enterprise_targets(policy: SupportPolicy, priority: str) -> None:
    assert targets(policy, priority, "enterprise") == list(ENTERPRISE_TARGETS[priority])


@pytest.mark.parametrize("priority", PRIORITIES)
@pytest.mark.parametrize("plan", STANDARD_PLANS)
def test_enterprise_is_at_least_as_tight_for_every_metric(
    policy: SupportPolicy, priority: str, plan: str
) -> None:
    for category in [None, *policy.category_ids]:
        for channel in CHANNELS:
            enterprise, standard = (
                policy.select_sla(
                    priority=priority,
                    plan=selected_plan,
                    category=category,
                    channel=channel,
                    created_year=2026,
                )
                for selected_plan in ("enterprise", plan)
            )
            for metric in METRICS:
                tight, loose = (
                    enterprise.targets.for_metric(metric),
                    standard.targets.for_metric(metric),
                )
                assert loose is None or (
                    isinstance(tight, int) and isinstance(loose, int) and tight <= loose
                ), (metric, channel)


def test_calendars_at_risk_and_pauses(policy: SupportPolicy) -> None:
    for priority in PRIORITIES:
        selection = policy.select_sla(
            priority=priority, plan="starter", category=None, channel="email", created_year=2026
        )
        assert selection.calendar.id == ("24x7" if priority == "P1" else "business-hours")
        assert selection.at_risk_percent == [80]
        assert selection.pauses[Metric.RESOLUTION] == ["awaiting_customer"]
        assert selection.policy_version == policy.version
    office = policy.calendars["business-hours"]
    assert office.timezone == "UTC"
    assert office.holiday_country is None
    assert is_open(office, datetime(2026, 11, 23, 9, tzinfo=UTC))  # Monday
    assert not is_open(office, datetime(2026, 11, 23, 18, tzinfo=UTC))
    assert not is_open(office, datetime(2026, 11, 21, 12, tzinfo=UTC))  # Saturday
    assert policy.calendars["24x7"].always_open
    assert policy.sla_policies[-1].match.is_catch_all


def test_example_calendars_resolve_their_holidays(policy: SupportPolicy) -> None:
    kuala_lumpur = policy.calendars["kuala-lumpur"].resolved(2026)
    skopje = policy.calendars["skopje"].resolved(2026)
    assert date(2026, 2, 1) in kuala_lumpur.holiday_dates  # Federal Territory Day
    assert date(2026, 12, 8) in skopje.holiday_dates  # Saint Clement of Ohrid Day


def test_p2_created_friday_1759_with_monday_holiday_is_due_tuesday_1059(
    policy: SupportPolicy,
) -> None:
    selection = policy.select_sla(
        priority="P2", plan="starter", category="billing", channel="email", created_year=2026
    )
    calendar = selection.calendar.model_copy(update={"holiday_dates": [date(2026, 11, 23)]})
    target = selection.targets.first_response
    assert target == 2 * HOUR
    due = add_business_seconds(calendar, datetime(2026, 11, 20, 17, 59, tzinfo=UTC), target)
    assert due == datetime(2026, 11, 24, 10, 59, tzinfo=UTC)


def test_routing_teams_and_escalation(policy: SupportPolicy) -> None:
    assert policy.category_ids == ["billing", "technical", "compliance", "account", "general"]
    routed = {rule.category: rule.team for rule in policy.routing.rules if rule.category}
    assert routed == {
        "billing": "billing",
        "technical": "technical",
        "compliance": "compliance",
        "account": "accounts",
    }
    assert (policy.routing.default_category, policy.routing.default_team) == (
        "general",
        "frontline",
    )
    assert policy.routing.raise_priority_for_plans == ["enterprise"]

    def first_rule(subject: str) -> str | None:
        for rule in policy.routing.rules:
            if rule.matches(subject=subject, description="", channel="email", plan="starter"):
                return rule.name
        return None

    assert first_rule("Refund for a double charge") == "billing"
    assert first_rule("VAT on my e-invoice") == "compliance"
    assert first_rule("API returns an error") == "technical"
    assert first_rule("Cannot reset my password") == "account"
    assert first_rule("Everything is down") == "critical"
    assert first_rule("How do I download a report?") is None
    critical = next(rule for rule in policy.routing.rules if rule.name == "critical")
    assert critical.priority == "P1"

    for team_id, team in policy.teams.items():
        assert policy.agents[team.lead].team == team_id
    for routed_team in routed.values():
        assert sum(agent.team == routed_team for agent in policy.agents.values()) >= 2

    escalation = policy.escalation
    assert [level.name for level in escalation.levels] == [
        "L1 Frontline",
        "L2 Specialists",
        "L3 Engineering",
        "Management",
    ]
    assert escalation.unresolved_after == {"P1": HOUR, "P2": 4 * HOUR, "P3": DAY, "P4": 3 * DAY}
    lifecycle = policy.lifecycle
    assert lifecycle.awaiting_customer_reminder_after == 48 * HOUR
    assert lifecycle.auto_resolve_after_reminder == 5 * DAY
    assert lifecycle.auto_close_resolved_after == 4 * DAY
    assert lifecycle.reopen_window == 7 * DAY
    assert lifecycle.csat_survey_after == DAY
    assert (policy.languages, policy.default_language) == (["en", "ms", "mk"], "en")
