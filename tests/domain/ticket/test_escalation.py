"""Every escalation trigger, as pure transitions: who is alerted, what the customer is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.enums import EventType, Metric, Status
from domain.intake.decide import escalation_snapshot
from domain.ticket.actions import AgentReply, CustomerReply, Escalate, Rate, Reopen, Resolve
from domain.ticket.aggregate import Ticket
from domain.ticket.change import Effects
from tests.workflows.harness import DEFAULT_POLICY, request, started

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)
LADDER = escalation_snapshot(DEFAULT_POLICY)
TECH = "tech@ticketflow.local"  # level 1: L2 Specialists (team technical)
ENGINEERING = "engineering@ticketflow.local"  # level 2: L3 Engineering
MANAGEMENT = {"support-managers@ticketflow.local", "judy@ticketflow.local"}  # level 3


def new_ticket(priority: str = "P2", **requester: str) -> Ticket:
    body = request(priority=priority, subject="Cannot export", description="The export fails.")
    if requester:
        body = body.model_copy(update={"requester": body.requester.model_copy(update=requester)})
    ticket, _ = Ticket.create(started("TKT-000009", MONDAY_10, body))
    return ticket


def escalations(effects: Effects) -> list[tuple[int, str]]:
    return [
        (e.data["to"], e.data["trigger"]) for e in effects.events if e.type == EventType.ESCALATED
    ]


def alerts(effects: Effects) -> list[str]:
    return [n.recipient for n in effects.notifications if n.template == "escalation_alert"]


def notices(effects: Effects) -> list[tuple[str, str]]:
    return [
        (n.template, n.language)
        for n in effects.notifications
        if n.template in ("escalation_notice", "sla_breach_apology")
    ]


def test_the_snapshot_resolves_every_recipient() -> None:
    assert [(lv.level, lv.name) for lv in LADDER.levels] == [
        (0, "L1 Frontline"),
        (1, "L2 Specialists"),
        (2, "L3 Engineering"),
        (3, "Management"),
    ]
    assert LADDER.levels[1].recipients == [TECH]
    assert set(LADDER.levels[3].recipients) == MANAGEMENT
    assert LADDER.unresolved_after["P2"] == 4 * 3600


def test_at_risk_alerts_the_team_lead_without_raising() -> None:
    ticket = new_ticket()  # P2: first response 2 business hours, at risk at 80 % = 1h36
    effects = ticket.tick(MONDAY_10 + timedelta(minutes=96))
    lead = DEFAULT_POLICY.agents[DEFAULT_POLICY.teams[ticket.state.team or ""].lead].email
    assert alerts(effects) == [lead]
    assert escalations(effects) == []
    assert ticket.state.escalation_level == 0


def test_unanswered_p2_climbs_l1_l2_l3_at_the_right_seconds() -> None:
    ticket = new_ticket(language="ms")
    ticket.tick(MONDAY_10 + timedelta(minutes=96))  # at risk: the lead's alert only
    # 12:00 first response breaches: level 1, alert to L2, notice + apology to the customer.
    breach = ticket.tick(MONDAY_10 + 2 * H)
    assert escalations(breach) == [(1, "breach:first_response")]
    assert [e.at for e in breach.events if e.type == EventType.ESCALATED] == [MONDAY_10 + 2 * H]
    assert alerts(breach) == [TECH]
    assert notices(breach) == [("escalation_notice", "ms"), ("sla_breach_apology", "ms")]
    assert ticket.tick(MONDAY_10 + 4 * H - timedelta(seconds=1)).events == []
    # 14:00: four business hours unresolved: level 2, one alert to L3, one notice.
    unresolved = ticket.tick(MONDAY_10 + 4 * H)
    assert escalations(unresolved) == [(2, "unresolved")]
    assert alerts(unresolved) == [ENGINEERING]
    assert notices(unresolved) == [("escalation_notice", "ms")]
    # Tuesday 9:00+: eight business hours (Mon 10-18): level 3, management alerted.
    later = ticket.tick(datetime(2026, 11, 23, 18, 0, tzinfo=UTC))
    assert escalations(later) == [(3, "unresolved")]
    assert set(alerts(later)) == MANAGEMENT
    assert ticket.state.escalation_level == 3
    # The top of the ladder: nothing climbs further, nothing is sent twice.
    assert escalations(ticket.tick(datetime(2026, 11, 27, 18, 0, tzinfo=UTC))) == []


def test_waiting_on_the_customer_does_not_count_as_unresolved_time() -> None:
    ticket = new_ticket()
    ticket.reply(AgentReply(actor="alice", body="looking"), MONDAY_10 + timedelta(minutes=30))
    from domain.ticket.actions import RequestInfo

    ticket.request_info(RequestInfo(actor="alice", body="which?"), MONDAY_10 + H)
    assert ticket.unresolved_deadline() is None  # paused
    ticket.customer_reply(CustomerReply(body="this"), MONDAY_10 + 3 * H)
    # 4 business hours minus the 2 paused ones: due at 16:00, not 14:00.
    assert ticket.unresolved_deadline() == MONDAY_10 + 6 * H


def test_the_third_reopen_escalates() -> None:
    ticket = new_ticket()
    at = MONDAY_10
    raised = []
    for n in range(3):
        at += H
        ticket.resolve(Resolve(actor="alice", resolution=f"fix {n}"), at)
        raised += escalations(ticket.reopen(Reopen(actor="alice", reason="again"), at))
    assert raised == [(1, "reopens")]


def test_a_customer_asking_for_a_manager_escalates() -> None:
    ticket = new_ticket()
    calm = ticket.customer_reply(CustomerReply(body="Thanks, waiting."), MONDAY_10 + H)
    angry = ticket.customer_reply(
        CustomerReply(body="Please escalate this to a manager."), MONDAY_10 + 2 * H
    )
    assert escalations(calm) == []
    assert escalations(angry) == [(1, "customer")]


def test_low_csat_owes_a_follow_up_clock_and_escalates() -> None:
    ticket = new_ticket()
    ticket.resolve(Resolve(actor="alice", resolution="done"), MONDAY_10 + H)
    effects = ticket.rate(Rate(score=2, comment="slow"), MONDAY_10 + 2 * H)
    assert escalations(effects) == [(1, "csat")]
    assert [n.template for n in effects.notifications][:1] == ["low_csat_followup"]
    clock = ticket.state.clocks[Metric.CSAT_FOLLOWUP]
    # Twelve business hours: Mon 12:00-18:00 and Tue 09:00-15:00.
    assert clock.due_at == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert ticket.state.csat_score == 2


def test_good_csat_changes_nothing_else() -> None:
    ticket = new_ticket()
    ticket.resolve(Resolve(actor="alice", resolution="done"), MONDAY_10 + H)
    effects = ticket.rate(Rate(score=5), MONDAY_10 + 2 * H)
    assert escalations(effects) == []
    assert Metric.CSAT_FOLLOWUP not in ticket.state.clocks


def test_manual_escalation_alerts_and_de_escalation_is_quiet() -> None:
    ticket = new_ticket()
    up = ticket.escalate(Escalate(actor="alice", reason="needs L3", level=2), MONDAY_10)
    down = ticket.escalate(Escalate(actor="alice", reason="handled", level=0), MONDAY_10 + H)
    assert escalations(up) == [(2, "manual")]
    assert alerts(up) == [ENGINEERING]
    assert up.events[0].actor == "agent:alice"
    assert escalations(down) == [(0, "manual")]
    assert down.notifications == []


def test_survey_after_close_and_none_after_a_silent_auto_resolve() -> None:
    ticket = new_ticket()
    ticket.reply(AgentReply(actor="alice", body="fixed"), MONDAY_10 + H)
    ticket.resolve(Resolve(actor="alice", resolution="done"), MONDAY_10 + H)
    closed_at = MONDAY_10 + H + timedelta(seconds=ticket.state.lifecycle.auto_close_resolved_after)
    ticket.tick(closed_at)
    assert ticket.state.status == Status.CLOSED
    survey_at = closed_at + timedelta(seconds=ticket.state.lifecycle.csat_survey_after)
    assert ticket.tick(survey_at - timedelta(seconds=1)).notifications == []
    survey = ticket.tick(survey_at)
    assert [n.template for n in survey.notifications] == ["csat_survey"]
    assert ticket.tick(survey_at + H).notifications == []


def test_every_message_id_a_ticket_mints_is_a_valid_msg_id() -> None:
    """Staff alerts once embedded the recipient's address, giving two `@`s: the email package
    rewrote such an id on sending, so the outbox and the recipient saw different ids."""
    from email.headerregistry import HeaderRegistry

    from domain.ticket.actions import Escalate
    from tests.domain.ticket.test_lifecycle import MONDAY_10, new_ticket

    ticket = new_ticket("P2")
    effects = ticket.escalate(Escalate(actor="bob", reason="stuck", level=3), MONDAY_10)
    ids = [n.message_id for n in effects.notifications]
    assert len(ids) >= 2
    parse = HeaderRegistry()
    for value in ids:
        assert str(parse("Message-ID", value)) == value
        assert value.count("@") == 1
