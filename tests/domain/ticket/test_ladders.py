"""Ladder+: any number of levels, ladders per priority with timed steps, team moves, role
addresses, at-risk and breach actions, content triggers and the low-score follow-up, as pure
decisions of the ticket aggregate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.enums import EventType, Metric
from domain.errors import DomainError, InvalidTransition
from domain.policy.support import PolicyError, SupportPolicy, parse_policy
from domain.ticket.actions import (
    Assign,
    ChangePriority,
    CustomerReply,
    Escalate,
    Rate,
    Resolve,
)
from domain.ticket.aggregate import Ticket
from domain.ticket.change import Effects
from tests.domain.ticket import ladder_policies as lp
from tests.domain.ticket import test_wakeup_property as wakeup
from tests.workflows.harness import request, started

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
M = timedelta(minutes=1)
H = timedelta(hours=1)


def new_ticket(policy: SupportPolicy, priority: str = "P2", **fields: object) -> Ticket:
    body = request(priority=priority, subject="Export fails", description="The export fails.")
    if fields:
        body = body.model_copy(update=fields)
    ticket, _ = Ticket.create(started("TKT-000042", MONDAY_10, body, policy))
    return ticket


def climbed(effects: Effects) -> list[tuple[int, str, datetime]]:
    return [
        (e.data["to"], e.data["trigger"], e.at)
        for e in effects.events
        if e.type == EventType.ESCALATED
    ]


def alerted(effects: Effects) -> set[str]:
    return {n.recipient for n in effects.notifications if n.template == "escalation_alert"}


def templates(effects: Effects) -> list[str]:
    return [n.template for n in effects.notifications]


# -- the policy file ---------------------------------------------------------------------------


def test_levels_are_named_anywhere_a_level_is_expected_and_checked() -> None:
    data = lp.policy_data()
    data["escalation"]["ladders"] = [{"steps": [{"to": "Nowhere", "after": "1h"}]}]
    data["escalation"]["low_csat_followup"] = {"target": "24h", "to": 9}
    data["escalation"]["levels"][1]["team"] = "sales"
    with pytest.raises(PolicyError) as caught:
        parse_policy(data)
    text = str(caught.value)
    assert "escalation.ladders.0.steps.0.to: no level 'Nowhere' on the ladder" in text
    assert "escalation.low_csat_followup.to: no level 9 on the ladder" in text
    assert "escalation.levels.1.team: unknown team 'sales'" in text
    data["escalation"]["levels"][1]["level"] = 5
    with pytest.raises(PolicyError, match="levels must be listed as 0, 1, 2"):
        parse_policy(data)


def test_a_level_needs_an_audience_and_role_addresses_are_addresses() -> None:
    data = lp.policy_data()
    data["escalation"]["levels"][1] = {"level": 1, "name": "L2", "notify_emails": ["cto"]}
    with pytest.raises(PolicyError) as caught:
        parse_policy(data)
    assert "not an email address: cto" in str(caught.value)
    data["escalation"]["levels"][1] = {"level": 1, "name": "L2", "team": "technical"}
    with pytest.raises(PolicyError) as caught:
        parse_policy(data)
    assert "needs notify_team, notify_agents or notify_emails" in str(caught.value)


def test_breach_and_at_risk_actions_resolve_per_sla_policy() -> None:
    data = lp.policy_data()
    data["escalation"]["at_risk_action"] = "escalate"
    data["sla_policies"][0]["breach_action"] = "notify"
    policy = parse_policy(data)
    p1 = policy.select_sla(
        priority="P1", plan="enterprise", category=None, channel="email", created_year=2026
    )
    p2 = policy.select_sla(
        priority="P2", plan="starter", category=None, channel="email", created_year=2026
    )
    assert (p1.at_risk_action, p1.breach_action) == ("escalate", "notify")
    assert (p2.at_risk_action, p2.breach_action) == ("escalate", "escalate")


# -- five levels, escalating at 80 % ---------------------------------------------------------


def test_five_levels_and_escalation_at_eighty_percent() -> None:
    ticket = new_ticket(lp.easy_einvoice())  # P2: first response 2 business hours
    at_risk = ticket.tick(MONDAY_10 + 96 * M)  # 80 % of 2 h
    assert climbed(at_risk) == [(1, "at_risk:first_response", MONDAY_10 + 96 * M)]
    assert alerted(at_risk) == {"tech@ticketflow.local"}  # Tier 2, not the lead's alert
    top = ticket.escalate(Escalate(actor="bob", reason="legal", level=4), MONDAY_10 + 97 * M)
    assert climbed(top) == [(4, "manual", MONDAY_10 + 97 * M)]
    assert alerted(top) == {"ceo@easy.example", lp.CTO}
    with pytest.raises(InvalidTransition, match="levels 0-4"):
        ticket.validate_escalate(Escalate(actor="bob", reason="more", level=5))
    with pytest.raises(InvalidTransition, match="already at level 4"):
        ticket.validate_escalate(Escalate(actor="bob", reason="more"))
    # At the top an at-risk point cannot climb: the team lead hears instead.
    resolution_risk = ticket.tick(datetime(2026, 11, 25, 11, 12, tzinfo=UTC))
    assert climbed(resolution_risk) == []
    assert alerted(resolution_risk) == {"alice@ticketflow.local"}


def test_the_customers_notice_names_the_level_in_their_language() -> None:
    data = lp.policy_data()
    levels = data["escalation"]["levels"]
    levels[1]["names"] = {"ms": "pakar teknikal kami", "es": "nuestros especialistas"}
    policy = parse_policy(data)
    when = MONDAY_10 + M

    def notice(language: str) -> tuple[str, str]:
        requester = request().requester.model_copy(update={"language": language})
        ticket = new_ticket(policy, requester=requester)
        effects = ticket.escalate(Escalate(actor="bob", reason="stuck", level=1), when)
        [customer] = [n for n in effects.notifications if n.template == "escalation_notice"]
        alerts = {n.context["level_name"] for n in effects.notifications
                  if n.template == "escalation_alert"}  # fmt: skip
        assert alerts == {levels[1]["name"]}  # staff read the policy's own name
        return customer.language, customer.context["level_name"]

    assert notice("ms") == ("ms", "pakar teknikal kami")
    assert notice("es-MX") == ("es-MX", "nuestros especialistas")
    assert notice("fr") == ("fr", levels[1]["name"])
    data["escalation"]["levels"][1]["names"] = {"Malay": "x"}
    with pytest.raises(PolicyError, match="names"):
        parse_policy(data)


# -- the generic flow: 15 min / 1 h / 4 h / 24 h ------------------------------------------------


def test_generic_flow_climbs_at_one_four_and_twenty_four_hours() -> None:
    ticket = new_ticket(lp.generic_flow())
    assert ticket.wakeup_summary(ticket.next_wakeup()) == "first response at risk (50 %)"
    breach = ticket.tick(MONDAY_10 + 15 * M)
    # breach_action notify: the lead hears, the customer gets the apology, no level change.
    assert climbed(breach) == []
    assert alerted(breach) == {"alice@ticketflow.local"}
    assert "sla_breach_apology" in templates(breach)
    assert ticket.wakeup_summary(ticket.next_wakeup()) == (
        "escalate to L1: unresolved 1h since created"
    )
    day = ticket.tick(MONDAY_10 + 24 * H)
    assert climbed(day) == [
        (1, "unresolved", MONDAY_10 + H),
        (2, "unresolved", MONDAY_10 + 4 * H),
        (3, "unresolved", MONDAY_10 + 24 * H),
    ]
    moves = [e for e in day.events if e.type == EventType.ASSIGNED]
    assert [(e.data["to"]["team"], e.at) for e in moves] == [("engineering", MONDAY_10 + 4 * H)]
    assert ticket.state.team == "engineering"
    assert ticket.state.assignee is None
    assert day.freed_teams == ["engineering"]  # nobody was assigned: only the new queue moves
    after = ticket.next_wakeup()
    assert after is None or after > MONDAY_10 + 24 * H


def test_since_previous_counts_from_the_level_reached_by_any_trigger() -> None:
    data = lp.policy_data()
    data["escalation"]["levels"] = lp.FOUR_LEVELS
    data["escalation"]["breach_action"] = "notify"
    data["escalation"]["ladders"] = [
        {"steps": [{"to": 1, "after": "1h"}, {"to": 2, "after": "1h"}, {"to": 3, "after": "4h"}]}
    ]
    ticket = new_ticket(parse_policy(data), priority="P1")  # 24x7
    ticket.escalate(Escalate(actor="bob", reason="hard", level=1), MONDAY_10 + 20 * M)
    # Every step counts from 10:20: step 1 (to L1) is taken without effect at 11:20, step 2
    # climbs at once, step 3 counts from there.
    assert ticket.unresolved_deadline() == MONDAY_10 + 80 * M
    effects = ticket.tick(MONDAY_10 + 2 * H)
    assert climbed(effects) == [(2, "unresolved", MONDAY_10 + 80 * M)]
    assert ticket.unresolved_deadline() == MONDAY_10 + 80 * M + 4 * H


# -- a path per priority, team moves and role addresses ---------------------------------------


def test_dataflow_p1_goes_to_devops_in_thirty_minutes_with_the_cto_told() -> None:
    ticket = new_ticket(lp.dataflow(), priority="P1")
    assert ticket.state.team == "frontline"
    assert ticket.state.assignee is None
    ticket.assign(Assign(actor="bob", agent_id="alice", team="frontline"), MONDAY_10 + M)
    effects = ticket.tick(MONDAY_10 + 30 * M)
    assert climbed(effects) == [(3, "unresolved", MONDAY_10 + 30 * M)]
    # The lead (alice) at 80 % of the first response (24 min); DevOps and the roles at 30.
    assert alerted(effects) == {"alice@ticketflow.local", "devops@ticketflow.local"} | {
        lp.CTO,
        lp.DIRECTOR,
    }
    assert ticket.state.team == "devops"
    assert ticket.state.assignee is None
    # alice's slot frees up on frontline, and the devops queue is dispatched.
    assert effects.freed_teams == ["frontline", "devops"]
    move = next(e for e in effects.events if e.type == EventType.ASSIGNED)
    assert move.data["from"] == {"agent_id": "alice", "team": "frontline"}
    assert move.data["reason"] == "escalated to DevOps"
    assert ticket.unresolved_deadline() is None  # the path has no more steps


@pytest.mark.parametrize(
    ("priority", "due", "level", "told"),
    [
        ("P2", MONDAY_10 + 2 * H, 2, {"engineering@ticketflow.local", lp.SUPPORT_MANAGER}),
        # 24 business hours of Mon-Fri 09-18: Mon 8 h, Tue 9 h, Wed 7 h.
        ("P3", datetime(2026, 11, 25, 16, 0, tzinfo=UTC), 1, {"product@ticketflow.local"}),
    ],
)
def test_dataflow_other_priorities_take_their_own_path(
    priority: str, due: datetime, level: int, told: set[str]
) -> None:
    ticket = new_ticket(lp.dataflow(), priority=priority)
    assert ticket.unresolved_deadline() == due
    effects = ticket.tick(due)
    assert [(to, at) for to, _, at in climbed(effects)] == [(level, due)]
    assert alerted(effects) >= told


def test_a_priority_change_switches_the_path_and_catches_up() -> None:
    policy = lp.dataflow()
    ticket = new_ticket(policy, priority="P2")
    sla = policy.select_sla(
        priority="P1", plan="starter", category=None, channel="email", created_year=2026
    )
    raised = ChangePriority(actor="bob", priority="P1", reason="outage", sla=sla)
    ticket.change_priority(raised, MONDAY_10 + 45 * M)
    effects = ticket.tick(MONDAY_10 + 45 * M)
    # P1's step is 30 minutes since creation: already due, taken at once.
    assert [(to, at) for to, _, at in climbed(effects)] == [(3, MONDAY_10 + 30 * M)]


def test_a_step_whose_condition_fails_is_skipped_and_start_level_is_silent() -> None:
    data = lp.policy_data()
    data["escalation"]["breach_action"] = "notify"
    data["escalation"]["ladders"] = [
        {
            "match": {"priority": ["P1"]},
            "start_level": "L2 Specialists",
            "steps": [
                {"to": "L3 Engineering", "after": "10m", "when": {"plan": ["enterprise"]}},
                {"to": "Management", "after": "2h", "since": "created"},
            ],
        }
    ]
    policy = parse_policy(data)
    ticket, created = Ticket.create(
        started("TKT-000043", MONDAY_10, request(priority="P1"), policy)
    )
    assert ticket.state.escalation_level == 1
    assert alerted(created) == set()
    effects = ticket.tick(MONDAY_10 + 2 * H)
    assert [(to, at) for to, _, at in climbed(effects)] == [(3, MONDAY_10 + 2 * H)]


def test_without_a_matching_ladder_unresolved_after_applies() -> None:
    ticket = new_ticket(lp.dataflow(), priority="P2")
    data = lp.policy_data()
    data["escalation"]["ladders"] = [{"match": {"channel": ["phone"]}, "steps": []}]
    plain = new_ticket(parse_policy(data))
    assert plain.state.ladder_index is None
    assert plain.unresolved_deadline() == MONDAY_10 + 4 * H  # P2: unresolved_after 4h
    assert ticket.state.ladder_index == 1


# -- content triggers ------------------------------------------------------------------------


def test_content_trigger_at_intake_escalates_to_the_named_level_and_moves_the_team() -> None:
    body = request(subject="Possible data leak", description="Our export shows other data.")
    ticket, created = Ticket.create(started("TKT-000044", MONDAY_10, body, lp.security_trigger()))
    assert climbed(created) == [(4, "content:security", MONDAY_10)]
    assert alerted(created) == {"security@ticketflow.local"}
    assert ticket.state.team == "security"
    assert created.freed_teams[-1] == "security"
    assert [n.template for n in created.notifications][:1] == ["acknowledgment"]


def test_a_quarantined_emails_ticket_is_not_escalated_by_its_words() -> None:
    body = request(subject="Possible data leak", description="Our export shows other data.")
    begin = started("TKT-000046", MONDAY_10, body, lp.security_trigger())
    ticket, created = Ticket.create(begin.model_copy(update={"acknowledge": False}))
    assert ticket.state.escalation_level == 0
    assert climbed(created) == []
    assert created.notifications == []


def test_content_trigger_whole_words_any_language_in_replies_once() -> None:
    ticket = new_ticket(lp.security_trigger())
    assert ticket.state.escalation_level == 0
    near = ticket.customer_reply(CustomerReply(body="The data leaked? no: dataleak"), MONDAY_10)
    assert climbed(near) == []
    reply = CustomerReply(body="Creemos que hay una BRECHA DE SEGURIDAD.")
    hit = ticket.customer_reply(reply, MONDAY_10 + H)
    assert climbed(hit) == [(4, "content:security", MONDAY_10 + H)]
    again = ticket.customer_reply(CustomerReply(body="another data leak"), MONDAY_10 + 2 * H)
    assert climbed(again) == []


# -- the low-score follow-up ------------------------------------------------------------------


def test_low_csat_follow_up_target_and_level_are_the_policys() -> None:
    data = lp.policy_data()
    data["escalation"]["low_csat_followup"] = {"target": "24h", "to": "Management"}
    ticket = new_ticket(parse_policy(data))
    ticket.resolve(Resolve(actor="alice", resolution="done"), MONDAY_10 + H)
    effects = ticket.rate(Rate(score=1), MONDAY_10 + 2 * H)
    assert climbed(effects) == [(3, "csat", MONDAY_10 + 2 * H)]
    clock = ticket.state.clocks[Metric.CSAT_FOLLOWUP]
    assert clock.target_seconds == 24 * 3600
    # 24 business hours from Mon 12:00: Mon 6 h, Tue 9 h, Wed 9 h -> Wed 18:00.
    assert clock.due_at == datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


def test_low_csat_never_de_escalates() -> None:
    data = lp.policy_data()
    data["escalation"]["low_csat_followup"] = {"to": 1}
    ticket = new_ticket(parse_policy(data))
    ticket.escalate(Escalate(actor="bob", reason="hard", level=2), MONDAY_10)
    ticket.resolve(Resolve(actor="alice", resolution="done"), MONDAY_10 + H)
    effects = ticket.rate(Rate(score=1), MONDAY_10 + 2 * H)
    assert climbed(effects) == []
    assert Metric.CSAT_FOLLOWUP in ticket.state.clocks


# -- properties --------------------------------------------------------------------------------

step_specs = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=5),  # to
        st.integers(min_value=1, max_value=48 * 3600),  # after
        st.sampled_from(["previous", "created"]),
    ),
    max_size=6,
)


def _ladder_policy(steps: list[tuple[int, int, str]]) -> SupportPolicy:
    data = lp.policy_data()
    data["escalation"]["levels"] = [
        {"level": n, "name": f"L{n}", "notify_team": "frontline"} for n in range(6)
    ]
    data["escalation"]["ladders"] = [
        {"steps": [{"to": to, "after": after, "since": since} for to, after, since in steps]}
    ]
    return parse_policy(data)


@settings(max_examples=150, deadline=None)
@given(
    steps=step_specs,
    priority=st.sampled_from(["P1", "P2", "P3", "P4"]),
    jumps=st.lists(st.integers(min_value=1, max_value=5 * 86400), min_size=1, max_size=8),
)
def test_catching_up_late_decides_as_ticking_at_every_wakeup(
    steps: list[tuple[int, int, str]], priority: str, jumps: list[int]
) -> None:
    """A worker down for days climbs the same levels at the same instants as one that woke at
    every step; the level only climbs with time, and the next wakeup is never in the past."""
    policy = _ladder_policy(steps)
    end = MONDAY_10 + timedelta(seconds=sum(jumps))
    late = new_ticket(policy, priority)
    late_climbs = climbed(late.tick(end))
    punctual = new_ticket(policy, priority)
    punctual_climbs: list[tuple[int, str, datetime]] = []
    now = MONDAY_10
    while (wakeup := punctual.next_wakeup()) is not None and wakeup <= end:
        assert wakeup > now
        now = wakeup
        punctual_climbs += climbed(punctual.tick(now))
    punctual_climbs += climbed(punctual.tick(end))
    assert late_climbs == punctual_climbs
    levels = [to for to, _, _ in late_climbs]
    assert levels == sorted(levels)
    assert len(set(levels)) == len(levels)
    wakeup = late.next_wakeup()
    assert wakeup is None or wakeup > end


@settings(max_examples=200, deadline=None)
@given(
    policy=st.sampled_from(["generic", "dataflow", "easy", "security"]),
    priority=st.sampled_from(["P1", "P2", "P3", "P4"]),
    plan=wakeup.steps,
)
def test_next_wakeup_is_never_in_the_past_on_any_ladder(
    policy: str, priority: str, plan: list[str | int]
) -> None:
    """The random walk of test_wakeup_property.py, on the ladder policies: team moves,
    content triggers, at-risk escalation and catch-up after a priority change included."""
    chosen = LADDER_POLICIES[policy]()
    body = request(priority=priority, description="A possible data leak in the export.")
    ticket, _ = Ticket.create(started("TKT-000045", MONDAY_10, body, chosen))
    now = MONDAY_10
    wakeup._check(ticket, now)
    for step in plan:
        if step == "wakeup":
            due = ticket.next_wakeup()
            if due is None:
                continue
            now = max(now, due)
        elif isinstance(step, int):
            now += timedelta(seconds=step)
        else:
            try:
                wakeup.ACTIONS[step](ticket, now)
            except DomainError:
                continue
        wakeup._check(ticket, now)


LADDER_POLICIES = {
    "generic": cache(lp.generic_flow),
    "dataflow": cache(lp.dataflow),
    "easy": cache(lp.easy_einvoice),
    "security": cache(lp.security_trigger),
}
