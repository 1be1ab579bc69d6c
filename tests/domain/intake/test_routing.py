"""Routing table tests on the shipped policy: the seed categories land on the right teams."""

from __future__ import annotations

from typing import Any

import pytest

from domain.intake.routing import route
from domain.policy.models import RoutingRule
from domain.policy.vocabulary import PrioritySpec, Vocabulary
from tests.workflows.harness import DEFAULT_POLICY, request


def _route(subject: str, description: str = "Please help.", **overrides: Any) -> Any:
    body: dict[str, Any] = {"subject": subject, "description": description, "priority": None}
    body.update(overrides)
    return route(DEFAULT_POLICY, request(**body))


@pytest.mark.parametrize(
    ("subject", "category", "team", "priority"),
    [
        ("I was charged twice for my subscription", "billing", "billing", "P3"),
        ("Refund for invoice 2211", "billing", "billing", "P3"),
        ("API returns error 500 on /orders", "technical", "technical", "P3"),
        ("Webhook integration crash", "technical", "technical", "P3"),
        ("VAT return (DDV-04) rejected", "compliance", "compliance", "P3"),
        ("e-invoice submission to MyInvois fails", "compliance", "compliance", "P3"),
        ("Cannot log in, 2FA code never arrives", "account", "accounts", "P3"),
        ("Reset my password please", "account", "accounts", "P3"),
        ("How do I export a report?", "general", "frontline", "P3"),
        ("Whole platform is down!", "technical", "technical", "P1"),
        ("Possible security breach on my account", "account", "accounts", "P1"),
    ],
)
def test_seed_categories_route_to_their_teams(
    subject: str, category: str, team: str, priority: str
) -> None:
    routed = _route(subject)
    assert (routed.category, routed.team, routed.priority) == (category, team, priority)


def test_keywords_match_whole_words_only() -> None:
    # "download" contains "down", "rapid" contains "api": neither may match.
    routed = _route("Rapid download of statements")
    assert (routed.category, routed.priority) == ("general", "P3")


def test_keywords_are_found_in_the_description_too() -> None:
    routed = _route("Question", "Our last invoice looks wrong")
    assert routed.team == "billing"


def test_request_fields_win_over_rules() -> None:
    routed = _route("Refund please", category="technical", priority="P4")
    assert (routed.category, routed.priority) == ("technical", "P4")
    # The category was given, but the team still comes from the first rule setting one.
    assert routed.team == "billing"


def test_enterprise_plan_raises_a_derived_priority_one_step() -> None:
    enterprise = {"email": "cto@bigcorp.example", "plan": "enterprise"}
    assert _route("How do I export?", requester=enterprise).priority == "P2"
    assert _route("Platform down", requester=enterprise).priority == "P1"
    # A priority the request names is kept as is.
    assert _route("How?", requester=enterprise, priority="P4").priority == "P4"
    assert "raised priority P3 to P2" in _route("How?", requester=enterprise).reason


def test_raise_one_step_stops_at_p1() -> None:
    defaults = Vocabulary()
    assert [defaults.more_urgent(p) for p in ("P1", "P2", "P3", "P4")] == ["P1", "P1", "P2", "P3"]


def test_raise_one_step_follows_rank_not_names() -> None:
    vocabulary = Vocabulary(
        priorities=[
            PrioritySpec(id="low", rank=9),
            PrioritySpec(id="P0", label="Critical", rank=0),
            PrioritySpec(id="urgent", rank=4),
        ]
    )
    assert vocabulary.priority_ids == ["P0", "urgent", "low"]
    assert [vocabulary.more_urgent(p) for p in ("low", "urgent", "P0")] == ["urgent", "P0", "P0"]


def test_routing_rule_matches_whole_words_case_insensitively() -> None:
    rule = RoutingRule(keywords=["down", "data loss", "e-invoice"], priority="P1")

    def matches(subject: str, description: str = "") -> bool:
        return rule.matches(
            subject=subject, description=description, channel="email", plan="starter"
        )

    assert matches("Site is DOWN")
    assert matches("hello", "we had some Data Loss today")
    assert matches("My e-invoice was rejected")
    assert not matches("Cannot download report")
    assert not matches("data lossy compression")
    channel_rule = RoutingRule(channel=["phone"], plan=["enterprise"], priority="P2")
    assert channel_rule.matches(subject="", description="", channel="phone", plan="enterprise")
    assert not channel_rule.matches(subject="", description="", channel="phone", plan="starter")
