"""What a desk's email switches, survey timing and words do to a ticket (pure, no I/O)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.enums import EventType, Status
from domain.intake.decide import decide
from domain.policy.support import SupportPolicy, parse_policy
from domain.ticket.actions import AgentReply, Close, CustomerReply, Hold, Resolve
from domain.ticket.aggregate import Ticket
from domain.ticket.change import Effects
from tests.domain.ticket.test_lifecycle import MONDAY_10, types
from tests.workflows.harness import DEFAULT_POLICY, request

H = timedelta(hours=1)


def policy(**keys: Any) -> SupportPolicy:
    """The default policy with `keys` on top (`csat.delay` replacing its older name)."""
    data = DEFAULT_POLICY.model_dump(mode="json", exclude_unset=True)
    if "delay" in keys.get("csat", {}):
        data["lifecycle"].pop("csat_survey_after")
    return parse_policy({**data, **keys})


def ticket_under(desk: SupportPolicy, **overrides: Any) -> tuple[Ticket, Effects]:
    start = decide(
        desk,
        ticket_id="TKT-000001",
        request=request(**overrides),
        created_at=MONDAY_10,
        mail_domain="desk.example",
    )
    return Ticket.create(start)


def templates(effects: Effects) -> list[str]:
    return [n.template for n in effects.notifications]


def test_a_disabled_email_is_never_asked_for_and_nothing_else_changes() -> None:
    desk = policy(emails={"disabled": ["acknowledgment", "resolution"]})
    ticket, created = ticket_under(desk)
    assert templates(created) == []
    assert ticket.state.thread_message_id is None
    resolved = ticket.resolve(Resolve(actor="alice", resolution="Fixed"), MONDAY_10 + H)
    assert templates(resolved) == []
    assert EventType.RESOLVED in types(resolved)


def test_status_changes_send_the_status_change_email_for_the_listed_statuses() -> None:
    ticket, _ = ticket_under(policy(emails={"status_changes": ["on_hold", "resolved"]}))
    opened = ticket.reply(AgentReply(actor="alice", body="On it"), MONDAY_10)
    assert templates(opened) == ["agent_reply"]  # `open` is not listed
    held = ticket.hold(Hold(actor="alice", reason="bank"), MONDAY_10 + H)
    assert templates(held) == ["status_change"]
    context = held.notifications[0].context
    assert (context["previous_status"], context["new_status"]) == ("open", "on_hold")
    resolved = ticket.resolve(Resolve(actor="alice", resolution="Fixed"), MONDAY_10 + 2 * H)
    assert templates(resolved) == ["resolution", "status_change"]


def test_the_default_policy_sends_no_status_change_email() -> None:
    ticket, _ = ticket_under(DEFAULT_POLICY)
    held = ticket.hold(Hold(actor="alice", reason="bank"), MONDAY_10)
    assert templates(held) == []


def test_the_survey_goes_after_resolving_when_the_desk_says_so() -> None:
    ticket, _ = ticket_under(policy(csat={"send_after": "resolved", "delay": "2h"}))
    ticket.reply(AgentReply(actor="alice", body="On it"), MONDAY_10)
    ticket.resolve(Resolve(actor="alice", resolution="Fixed"), MONDAY_10 + H)
    due = ticket.next_wakeup()
    assert due == MONDAY_10 + 3 * H
    assert ticket.wakeup_summary(due) == "survey"
    surveyed = ticket.tick(due)
    assert templates(surveyed) == ["csat_survey"]
    assert ticket.state.status == Status.RESOLVED  # still resolved: auto-close comes later
    expires = surveyed.notifications[0].context["links_expire_at"]
    assert expires == (MONDAY_10 + 3 * H + timedelta(days=7)).isoformat()
    assert ticket.wakeup_summary(ticket.next_wakeup()) == "auto-close"
    ticket.close(Close(actor="alice"), MONDAY_10 + 4 * H)
    # No second survey after closing; the workflow waits out the links' lifetime.
    end = MONDAY_10 + 3 * H + timedelta(days=7)
    assert ticket.next_wakeup() == end
    assert templates(ticket.tick(end)) == []


def test_the_survey_after_closing_waits_out_the_links_lifetime() -> None:
    ticket, _ = ticket_under(policy(csat={"link_ttl": "2d"}))
    ticket.reply(AgentReply(actor="alice", body="On it"), MONDAY_10)
    ticket.resolve(Resolve(actor="alice", resolution="Fixed"), MONDAY_10 + H)
    ticket.close(Close(actor="alice"), MONDAY_10 + 2 * H)
    survey = ticket.next_wakeup()
    assert survey == MONDAY_10 + 2 * H + timedelta(hours=24)
    ticket.tick(survey)
    assert ticket.ends_at() == survey + timedelta(days=2)


def test_the_desks_escalation_words_are_the_ones_that_escalate() -> None:
    desk = policy(
        languages=["en", "ms", "mk", "es"],
        language_rules={"es": {"escalation_words": ["inaceptable"]}, "en": {}},
    )
    ticket, _ = ticket_under(desk)
    ticket.reply(AgentReply(actor="alice", body="On it"), MONDAY_10)
    calm = ticket.customer_reply(CustomerReply(body="Please get a manager"), MONDAY_10 + H)
    assert EventType.ESCALATED not in types(calm)  # `en` words replaced by none
    angry = ticket.customer_reply(CustomerReply(body="Esto es INACEPTABLE"), MONDAY_10 + 2 * H)
    assert EventType.ESCALATED in types(angry)


def test_the_default_escalation_words_still_escalate() -> None:
    ticket, _ = ticket_under(DEFAULT_POLICY)
    ticket.reply(AgentReply(actor="alice", body="On it"), MONDAY_10)
    asked = ticket.customer_reply(CustomerReply(body="Ве молам менаџер"), MONDAY_10 + H)  # noqa: RUF001
    assert EventType.ESCALATED in types(asked)


def test_an_unentitled_language_is_written_to_in_the_default_language() -> None:
    plans = [{"id": "starter", "languages": ["en"]}, {"id": "professional"}, {"id": "enterprise"}]
    desk = policy(languages=["en", "ms", "mk", "es"], plans=plans)
    ticket, created = ticket_under(
        desk, requester={"email": "eva@example.com", "plan": "starter", "language": "es"}
    )
    assert ticket.state.requester.language == "en"
    assert created.notifications[0].language == "en"
    entitled, _ = ticket_under(
        desk, requester={"email": "eva@example.com", "plan": "enterprise", "language": "es"}
    )
    assert entitled.state.requester.language == "es"


def test_the_acknowledgment_carries_the_promise_in_the_customers_time_zone() -> None:
    _, created = ticket_under(
        DEFAULT_POLICY,
        requester={"email": "eva@example.com", "plan": "starter", "timezone": "Europe/Madrid"},
    )
    context = created.notifications[0].context
    assert context["timezone"] == "Europe/Madrid"
    assert context["due_metric"] == "first_response"
    assert context["target_seconds"] == 2 * 3600  # P2 first response, default policy
    assert context["due_at"] == (MONDAY_10 + 2 * H).isoformat()
    assert context["plan"] == "starter"


def test_a_target_in_business_days_reaches_the_email_as_business_days() -> None:
    data = DEFAULT_POLICY.model_dump(mode="json", exclude_unset=True)
    data["sla_policies"] = [
        {
            "id": "all",
            "match": {},
            "targets": {"first_response": "2bd", "resolution": "5bd"},
            "calendar": "business-hours",
        }
    ]
    _, created = ticket_under(parse_policy(data))
    context = created.notifications[0].context
    assert context["target_business_days"] == 2
    assert context["target_seconds"] == 2 * 9 * 3600  # Mon-Fri 09-18: two open days
