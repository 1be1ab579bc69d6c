"""The policy's own priorities, plans and channels, and the checks that hold references to
them; customer-local clocks (`calendar_by_country`, `requester_timezone`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.enums import Metric
from domain.intake.admission import admit
from domain.intake.routing import route
from domain.policy.support import PolicyError, SupportPolicy, parse_policy
from domain.policy.vocabulary import ChannelNotEntitled, UnknownVocabulary
from domain.sla.calendar import add_business_seconds
from domain.sla.clocks import start_clock
from domain.ticket.requests import TicketCreate
from tests.domain.policy.test_policy import minimal_policy


def dataflow_like() -> dict[str, Any]:
    """P0-P3 with labels, phone and chat for professional and enterprise only (seed 004)."""
    data = minimal_policy()
    data["priorities"] = [
        {"id": "P0", "label": "Critical", "rank": 0},
        {"id": "P1", "label": "High", "rank": 1},
        {"id": "P2", "label": "Medium", "rank": 2},
        {"id": "P3", "label": "Low", "rank": 3},
    ]
    data["plans"] = [
        {"id": "starter", "label": "Starter"},
        {"id": "professional", "label": "Professional"},
        {"id": "enterprise", "label": "Enterprise"},
    ]
    data["channels"] = [
        {"id": "email"},
        {"id": "portal"},
        {"id": "chat", "plans": ["professional", "enterprise"], "otherwise": "email"},
        {"id": "phone", "plans": ["professional", "enterprise"], "otherwise": "reject"},
    ]
    data["escalation"]["unresolved_after"] = {"P0": "30m", "P1": "2h", "P2": "24h", "P3": "24h"}
    data["routing"]["default_priority"] = "P2"
    data["routing"]["raise_priority_for_plans"] = ["enterprise"]
    data["sla_policies"][1]["match"] = {"priority": ["P0"]}
    return data


@pytest.fixture(scope="module")
def dataflow() -> SupportPolicy:
    return parse_policy(dataflow_like())


def problems_of(data: object) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(data)
    return str(caught.value).splitlines()


def request(**fields: Any) -> TicketCreate:
    requester = {"email": "ann@example.test", **fields.pop("requester", {})}
    body = {"subject": "Export fails", "description": "It fails.", "channel": "email"}
    return TicketCreate.model_validate({"requester": requester, **body, **fields})


def test_defaults_are_p1_to_p4_three_plans_five_channels() -> None:
    vocabulary = parse_policy(minimal_policy()).vocabulary
    assert vocabulary.priority_ids == ["P1", "P2", "P3", "P4"]
    assert vocabulary.plan_ids == ["starter", "professional", "enterprise"]
    assert vocabulary.channel_ids == ["email", "chat", "phone", "portal", "api"]
    assert vocabulary.priority_label("P1") == "Critical"


def test_categories_are_bare_ids_or_labelled_entries() -> None:
    data = minimal_policy()
    bare = parse_policy(data)
    data["categories"] = [
        {"id": "billing", "label": "billing matter", "labels": {"ms": "urusan bil"}},
        *[c for c in data["categories"] if c != "billing"],
    ]
    labelled = parse_policy(data)
    assert labelled.category_ids == bare.category_ids
    vocabulary = labelled.vocabulary
    assert vocabulary.category_label("billing", "ms") == "urusan bil"
    assert vocabulary.category_label("billing", "en") == "billing matter"
    assert vocabulary.category_label(bare.category_ids[-1], "ms") == bare.category_ids[-1]
    data["categories"].append("billing")
    assert any("categories" in line and "billing" in line for line in problems_of(data))


def test_p0_is_a_priority_like_any_other(dataflow: SupportPolicy) -> None:
    vocabulary = dataflow.vocabulary
    assert vocabulary.priority_ids == ["P0", "P1", "P2", "P3"]
    assert vocabulary.priority_label("P0") == "Critical"
    admitted = admit(vocabulary, request(priority="P0"))
    assert admitted.priority == "P0"
    snapshot = dataflow.select_sla(
        priority="P0", plan="starter", category=None, channel="email", created_year=2026
    )
    assert snapshot.policy_id == "p1"


def test_raise_for_plan_goes_by_rank(dataflow: SupportPolicy) -> None:
    enterprise = {"plan": "enterprise"}
    assert route(dataflow, request(requester=enterprise)).priority == "P1"
    platform_down = request(requester=enterprise, priority="P1")
    assert route(dataflow, platform_down).priority == "P1"  # named by the request: kept


def test_unknown_ids_are_refused_naming_the_allowed_ones(dataflow: SupportPolicy) -> None:
    with pytest.raises(UnknownVocabulary, match="priority: unknown 'P4'; allowed: P0, P1, P2, P3"):
        admit(dataflow.vocabulary, request(priority="P4"))
    with pytest.raises(UnknownVocabulary, match="channel: unknown 'fax'; allowed: email, portal"):
        admit(dataflow.vocabulary, request(channel="fax"))
    with pytest.raises(UnknownVocabulary, match=r"requester\.plan: unknown 'gold'"):
        admit(dataflow.vocabulary, request(requester={"plan": "gold"}))
    assert UnknownVocabulary.status_code == 422


def test_channel_entitlement(dataflow: SupportPolicy) -> None:
    vocabulary = dataflow.vocabulary
    starter_chat = admit(vocabulary, request(channel="chat"))
    assert (starter_chat.requester.plan, starter_chat.channel) == ("starter", "email")
    pro = {"plan": "professional"}
    assert admit(vocabulary, request(channel="chat", requester=pro)).channel == "chat"
    assert admit(vocabulary, request(channel="phone", requester=pro)).channel == "phone"
    with pytest.raises(ChannelNotEntitled, match="'phone' is for the plans professional"):
        admit(vocabulary, request(channel="phone"))


def test_a_requester_without_a_plan_gets_the_first_plan() -> None:
    data = dataflow_like()
    data["plans"] = [{"id": "basic"}, {"id": "starter"}, {"id": "enterprise"}]
    for channel in data["channels"]:
        channel.pop("plans", None)
    policy = parse_policy(data)
    assert admit(policy.vocabulary, request()).requester.plan == "basic"
    named = admit(policy.vocabulary, request(requester={"plan": "starter"}))
    assert named.requester.plan == "starter"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["priorities"].append({"id": "P0", "rank": 9}),
            "priorities: duplicate priority 'P0'",
        ),
        (
            lambda d: d["priorities"].append({"id": "P9", "rank": 0}),
            "priorities: duplicate rank '0'",
        ),
        (
            lambda d: d["priorities"].append({"id": "way-too-long-priority", "rank": 7}),
            "priorities.4.id: String should",
        ),
        (
            lambda d: d["channels"][2].update(otherwise="fax"),
            "channels.2.otherwise: unknown channel 'fax'",
        ),
        (
            lambda d: d["channels"][2].update(plans=["gold"]),
            "channels.2.plans: unknown plan 'gold'",
        ),
        (
            lambda d: d["sla_policies"][1]["match"].update(priority=["P4"]),
            "sla_policies.1.match.priority: unknown priority 'P4'",
        ),
        (
            lambda d: d["routing"].update(default_priority="P4"),
            "routing.default_priority: unknown priority 'P4'",
        ),
        (
            lambda d: d["routing"].update(raise_priority_for_plans=["gold"]),
            "routing.raise_priority_for_plans: unknown plan 'gold'",
        ),
        (
            lambda d: d["escalation"]["unresolved_after"].pop("P0"),
            "escalation.unresolved_after: missing priorities P0",
        ),
        (
            lambda d: d["escalation"].pop("unresolved_after"),
            "escalation.unresolved_after: missing priorities P0 (the default covers P1-P4",
        ),
        (
            lambda d: d["plans"][0].update(languages=["xx"]),
            "plans.0.languages: unknown language 'xx'",
        ),
    ],
)
def test_vocabulary_problems_name_the_key(change: Any, expected: str) -> None:
    data = dataflow_like()
    change(data)
    lines = problems_of(data)
    assert any(line.startswith(expected) for line in lines), lines


def test_coverage_is_checked_over_the_policys_own_priorities() -> None:
    data = dataflow_like()
    data["sla_policies"] = [
        {
            "id": "only-p0",
            "match": {"priority": ["P0"]},
            "targets": {"first_response": "1h"},
            "calendar": "24x7",
        }
    ]
    assert any("no policy matches priority=P1" in line for line in problems_of(data))


# --- customer-local clocks ----------------------------------------------------------------------


def local_clock_policy(**sla_keys: Any) -> SupportPolicy:
    data = dataflow_like()
    data["calendars"] = {
        "us-business": {
            "timezone": "America/New_York",
            "weekly": [
                {"day": d, "start": "09:00", "end": "17:00"}
                for d in ("mon", "tue", "wed", "thu", "fri")
            ],
        },
        "uk-business": {
            "timezone": "Europe/London",
            "weekly": [
                {"day": d, "start": "09:00", "end": "17:00"}
                for d in ("mon", "tue", "wed", "thu", "fri")
            ],
            "holiday_country": "GB",
        },
        "24x7": {"always_open": True},
    }
    for team in data["teams"].values():
        team["calendar"] = "us-business"
    data["sla_policies"] = [
        {
            "id": "p1-business-hours",
            "match": {"priority": ["P1"]},
            "targets": {"first_response": "1h", "resolution": "4h"},
            "calendar": "us-business",
            **sla_keys,
        },
        {"id": "rest", "match": {}, "targets": {"resolution": "3bd"}, "calendar": "us-business"},
    ]
    return parse_policy(data)


def _resolution_due(policy: SupportPolicy, ticket: TicketCreate, at: datetime) -> datetime:
    requester = ticket.requester
    snapshot = policy.select_sla(
        priority="P1",
        plan=requester.plan,
        category=None,
        channel=ticket.channel,
        created_year=at.year,
        requester_country=requester.country,
        requester_timezone=requester.timezone,
    )
    clock = start_clock(snapshot, Metric.RESOLUTION, at)
    assert clock is not None
    assert clock.due_at is not None
    return clock.due_at


# Tuesday 2026-12-01, 07:30 in London (GMT, UTC+0): before either office opens.
LONDON_EARLY = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)


def test_a_uk_customers_p1_starts_at_9_london_time_by_country() -> None:
    policy = local_clock_policy(calendar_by_country={"GB": "uk-business"})
    uk = request(requester={"country": "gb"})
    assert uk.requester.country == "GB"
    # DataFlow: a UK customer's 4 h P1 during business hours starts at 9 AM London time.
    assert _resolution_due(policy, uk, LONDON_EARLY) == datetime(2026, 12, 1, 13, tzinfo=UTC)
    # A US customer, or one with no country, runs on New York hours (09:00 EST = 14:00 UTC).
    for other in (request(requester={"country": "US"}), request()):
        assert _resolution_due(policy, other, LONDON_EARLY) == datetime(2026, 12, 1, 18, tzinfo=UTC)


def test_a_uk_customers_p1_starts_at_9_london_time_by_time_zone() -> None:
    policy = local_clock_policy(requester_timezone=True)
    uk = request(requester={"timezone": "Europe/London"})
    assert _resolution_due(policy, uk, LONDON_EARLY) == datetime(2026, 12, 1, 13, tzinfo=UTC)
    # No time zone given: the calendar's own.
    assert _resolution_due(policy, request(), LONDON_EARLY) == datetime(2026, 12, 1, 18, tzinfo=UTC)


def test_country_and_time_zone_together_and_the_reason_says_so() -> None:
    policy = local_clock_policy(calendar_by_country={"GB": "uk-business"}, requester_timezone=True)
    # A UK customer travelling in Kuala Lumpur (UTC+8): UK holidays, Kuala Lumpur hours.
    snapshot = policy.select_sla(
        priority="P1",
        plan="starter",
        category=None,
        channel="email",
        created_year=2026,
        requester_country="GB",
        requester_timezone="Asia/Kuala_Lumpur",
    )
    calendar = snapshot.calendar
    assert (calendar.id, calendar.timezone) == ("uk-business", "Asia/Kuala_Lumpur")
    assert snapshot.calendar.holiday_dates  # resolved: the snapshot keeps the GB holidays
    assert "calendar 'uk-business' by requester country" in snapshot.reason
    assert "requester's time zone" in snapshot.reason
    assert "Asia" not in snapshot.reason
    start = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # 08:30 in Kuala Lumpur
    assert add_business_seconds(snapshot.calendar, start, 3600) == datetime(
        2026, 12, 1, 2, tzinfo=UTC
    )


def test_calendar_by_country_names_known_calendars() -> None:
    data = dataflow_like()
    data["sla_policies"][2]["calendar_by_country"] = {"GB": "uk-business"}
    assert any(
        line.startswith("sla_policies.2.calendar_by_country: unknown calendar 'uk-business'")
        for line in problems_of(data)
    )
    data["sla_policies"][2]["calendar_by_country"] = {"Britain": "office"}
    assert any("sla_policies.2.calendar_by_country" in line for line in problems_of(data))
