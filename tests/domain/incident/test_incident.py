"""The incident aggregate, its terms and the suggestion keywords: pure, no Temporal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InvalidTransition
from domain.incident.actions import LinkTickets, PostUpdate, ResolveIncident, TicketOutcome
from domain.incident.aggregate import Incident
from domain.incident.keywords import subject_keywords
from domain.incident.state import ClockName, IncidentEventType, IncidentStarted
from domain.incident.terms import UnknownSeverity, incident_terms
from domain.policy.support import PolicyError, parse_policy
from runtime.policy_file import load_policy
from runtime.settings import DEFAULT_POLICY_FILE

POLICY = load_policy(DEFAULT_POLICY_FILE)
T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def _declared(severity: str = "P1") -> Incident:
    return Incident.declare(
        IncidentStarted(
            incident_id="INC-000001",
            title="Checkout down",
            severity=severity,
            component="payments-api",
            commander="alice",
            declared_by="alice",
            created_at=T0,
            terms=incident_terms(POLICY, severity),
            mail_domain="desk.example",
        )
    )


def _linked(incident: Incident, *ids: str) -> None:
    outcomes = [TicketOutcome(ticket_id=t, outcome="linked", status="open") for t in ids]
    incident.linked("alice", outcomes, T0)


def test_a_missed_cadence_is_at_risk_then_breached_and_escalates_to_the_named_levels() -> None:
    incident = _declared()
    _linked(incident, "TKT-1")
    incident.post_update(PostUpdate(actor="alice", body="On it"), T0 + timedelta(minutes=5))
    update = incident.state.clocks[ClockName.UPDATE]
    assert update.due_at == T0 + timedelta(minutes=35)
    incident.take_effects()
    incident.tick(T0 + timedelta(minutes=29))  # 80 % of 30 min after the update
    assert incident.state.escalation_name == "L3 Engineering"
    incident.tick(T0 + timedelta(minutes=35))
    assert incident.state.clocks[ClockName.UPDATE].state == "breached"
    assert incident.state.escalation_name == "Management"
    effects = incident.take_effects()
    kinds = [e.type for e in effects.events]
    assert kinds.count(IncidentEventType.ESCALATED) == 2
    assert {n.template for n in effects.notifications} == {"incident_escalation"}
    # The next wakeup is never in the past.
    wakeup = incident.next_wakeup()
    assert wakeup is None or wakeup > T0 + timedelta(minutes=35)


def test_each_public_update_is_broadcast_to_the_tickets_linked_when_posted() -> None:
    incident = _declared()
    _linked(incident, "TKT-2", "TKT-1")
    posted = incident.post_update(PostUpdate(actor="alice", body="x"), T0)
    assert posted.update_id == "INC-000001/u1"
    [broadcast] = incident.state.broadcasts
    assert broadcast.ticket_ids == ["TKT-1", "TKT-2"]
    note = incident.post_update(PostUpdate(actor="alice", body="y", public=False), T0)
    assert note.state == "internal"
    assert len(incident.state.broadcasts) == 1
    outcome = TicketOutcome(ticket_id="TKT-1", outcome="applied", status="open")
    incident.delivered([outcome], T0)
    assert incident.state.broadcasts[0].done == 1
    incident.delivered([outcome.model_copy(update={"ticket_id": "TKT-2"})], T0)
    assert incident.state.broadcasts == []
    assert incident.state.delivered == 2


def test_resolved_incident_takes_no_more_links_and_starts_the_report_clock() -> None:
    incident = _declared("P3")
    assert ClockName.UPDATE not in incident.state.clocks
    incident.resolve(ResolveIncident(actor="alice", resolution="fixed"), T0)
    assert incident.state.clocks[ClockName.REPORT].due_at == T0 + timedelta(hours=24)
    with pytest.raises(InvalidTransition):
        incident.check_link(LinkTickets(actor="alice", ticket_ids=["TKT-1"]))


def test_severity_must_be_a_priority_of_the_policy() -> None:
    with pytest.raises(UnknownSeverity):
        incident_terms(POLICY, "P9")


def test_the_incidents_block_names_levels_priorities_and_agents_that_exist() -> None:
    data = POLICY.model_dump(mode="json")
    data["incidents"] = {
        "update_every": {"P7": "30m"},
        "breach": {"escalate_to": "Nobody"},
        "approvers": ["zed"],
    }
    with pytest.raises(PolicyError) as raised:
        parse_policy(data)
    paths = {path for path, _ in raised.value.problems}
    assert {"incidents.update_every.P7", "incidents.breach.escalate_to"} <= paths
    assert "incidents.approvers" in paths


def test_subject_keywords_skip_short_and_common_words() -> None:
    assert subject_keywords("The API is down: cannot pay, payments FAILING") == [
        "api",
        "pay",
        "payments",
        "failing",
    ]
