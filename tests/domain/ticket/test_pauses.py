"""Pausing and resuming a clock are timeline events: which status caused them, and how much
business time the clock had used by then."""

from __future__ import annotations

from datetime import timedelta

from domain.enums import EventType, Metric
from domain.ticket.actions import AgentReply, CustomerReply, RequestInfo
from tests.domain.ticket.test_lifecycle import MONDAY_10, new_ticket


def test_waiting_on_the_customer_pauses_and_their_reply_resumes_each_clock() -> None:
    ticket = new_ticket("P2")  # business hours: Monday 10:00 is inside them
    ticket.reply(AgentReply(actor="alice", body="Looking"), MONDAY_10 + timedelta(minutes=30))
    asked_at = MONDAY_10 + timedelta(hours=1)
    asked = ticket.request_info(RequestInfo(actor="alice", body="Which invoice?"), asked_at)
    paused = [e for e in asked.events if e.type == EventType.SLA_PAUSED]
    assert {e.data["metric"]: e.data["business_seconds_used"] for e in paused} == {
        "next_update": 0,  # the reply just restarted it
        "resolution": 3600,
    }
    assert {e.data["status"] for e in paused} == {"awaiting_customer"}
    assert all(e.at == asked_at for e in paused)

    answered_at = asked_at + timedelta(hours=2)
    answered = ticket.customer_reply(CustomerReply(body="INV-7"), answered_at)
    resumed = [e for e in answered.events if e.type == EventType.SLA_RESUMED]
    by_metric = {e.data["metric"]: e.data for e in resumed}
    assert {m: d["business_seconds_used"] for m, d in by_metric.items()} == {
        "next_update": 0,
        "resolution": 3600,  # the two paused hours do not count
    }
    assert {d["status"] for d in by_metric.values()} == {"open"}
    due = ticket.state.clocks[Metric.RESOLUTION].due_at
    assert due is not None
    assert by_metric["resolution"]["due_at"] == due.isoformat()
    # 24 business hours from Monday 10:00 end Wednesday 16:00; the two paused hours push it on.
    assert due == MONDAY_10 + timedelta(days=2, hours=8)


def test_a_status_that_pauses_nothing_records_no_pause() -> None:
    ticket = new_ticket("P2")
    effects = ticket.reply(AgentReply(actor="alice", body="Hi"), MONDAY_10)
    kinds = {e.type for e in effects.events}
    assert EventType.SLA_PAUSED not in kinds
    assert EventType.SLA_RESUMED not in kinds
