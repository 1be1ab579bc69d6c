"""`Incident`: one major incident's state and everything that changes it.

The workflow is a durable shell around it (like `Ticket`): it supplies the time, runs the
`check_*` methods in its Update validators, records the events, sends the staff alerts and
runs the broadcasts the effects ask for. The writes under every action (state, events,
clocks) are its base's, `IncidentRecord` (`domain.incident.record`). Nothing here reads a
clock or does I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from domain.errors import InvalidTransition
from domain.incident import broadcasts, clocks
from domain.incident.actions import (
    Acknowledge,
    ApproveUpdate,
    LinkTickets,
    PostUpdate,
    ResolveIncident,
    SubmitReport,
    TicketOutcome,
    UnlinkTicket,
)
from domain.incident.alerts import staff_alerts
from domain.incident.broadcasts import resolution_id, update_id
from domain.incident.record import IncidentRecord
from domain.incident.state import (
    ClockName,
    EscalationTarget,
    IncidentEventType,
    IncidentStarted,
    IncidentState,
    IncidentStatus,
    PostedUpdate,
)

MAX_LINKED = 10_000
"""Tickets one incident links at most (its state travels in every continue-as-new)."""
OPEN_TICKET_STATUSES = ("new", "open", "awaiting_customer", "on_hold")

E = IncidentEventType


class Incident(IncidentRecord):
    @classmethod
    def declare(cls, started: IncidentStarted) -> Incident:
        at, terms = started.created_at, started.terms
        incident = cls(
            IncidentState(
                incident_id=started.incident_id,
                title=started.title,
                severity=started.severity,
                component=started.component,
                commander=started.commander,
                declared_by=started.declared_by,
                created_at=at,
                updated_at=at,
                terms=terms,
            ),
            started.mail_domain,
        )
        for name, seconds in (
            (ClockName.ACKNOWLEDGE, terms.acknowledge),
            (ClockName.FIRST_NOTICE, terms.first_notice),
        ):
            incident._set_clock(clocks.start_with_risk(name, at, seconds, terms.at_risk_percent))
        incident._event(
            E.DECLARED,
            at,
            started.declared_by,
            severity=started.severity,
            component=started.component,
            commander=started.commander,
            policy_version=terms.policy_version,
        )
        return incident

    # -- checks (Update validators) -------------------------------------------------------------

    def check_open(self, what: str) -> None:
        if not self.state.open:
            raise InvalidTransition(f"cannot {what}: incident {self.state.incident_id} is resolved")

    def check_link(self, link: LinkTickets) -> None:
        self.check_open("link tickets")
        new = set(link.ticket_ids) - set(self.state.linked)
        if len(self.state.linked) + len(new) > MAX_LINKED:
            raise InvalidTransition(f"cannot link: an incident links at most {MAX_LINKED} tickets")

    def check_approve(self, approve: ApproveUpdate) -> None:
        pending = [u for u in self.state.updates if u.number == approve.number]
        if not pending or pending[0].state != "pending_approval":
            raise InvalidTransition(f"no update {approve.number} waits for approval")

    def check_report(self) -> None:
        if self.state.status != IncidentStatus.RESOLVED:
            raise InvalidTransition(
                f"cannot submit the report: incident {self.state.incident_id}"
                f" is {self.state.status.value}"
            )
        if self.state.report_submitted_at is not None:
            raise InvalidTransition("the post-incident report was already submitted")

    # -- actions --------------------------------------------------------------------------------

    def acknowledge(self, ack: Acknowledge, at: datetime) -> None:
        self.check_open("acknowledge")
        if self.state.acknowledged_at is None:
            self._update(acknowledged_at=at, commander=self.state.commander or ack.actor)
            self._event(E.ACKNOWLEDGED, at, ack.actor, commander=self.state.commander)
        self._meet(ClockName.ACKNOWLEDGE, at)

    def linked(self, actor: str, outcomes: list[TicketOutcome], at: datetime) -> None:
        """Tickets the link fan-out linked (or found linked already) join the incident."""
        joined = [o for o in outcomes if o.outcome in ("linked", "already")]
        if not joined:
            return
        linked = dict(self.state.linked)
        for outcome in joined:
            linked[outcome.ticket_id] = outcome.status or "open"
        self._update(linked=linked)
        self._event(
            E.TICKETS_LINKED, at, actor, ticket_ids=[o.ticket_id for o in joined], count=len(linked)
        )

    def unlink(self, unlink: UnlinkTicket, at: datetime) -> bool:
        if unlink.ticket_id not in self.state.linked:
            return False
        linked = dict(self.state.linked)
        del linked[unlink.ticket_id]
        self._update(linked=linked)
        self._event(
            E.TICKET_UNLINKED, at, unlink.actor, ticket_id=unlink.ticket_id, reason=unlink.reason
        )
        return True

    def post_update(self, post: PostUpdate, at: datetime) -> PostedUpdate:
        self.check_open("post an update")
        number = len(self.state.updates) + 1
        waits = post.public and self.state.terms.approval_required
        update = PostedUpdate(
            number=number,
            update_id=update_id(self.state.incident_id, number),
            body=post.body,
            status=post.status,
            public=post.public,
            author=post.actor,
            at=at,
            state="pending_approval" if waits else ("sent" if post.public else "internal"),
        )
        self._update(updates=[*self.state.updates, update])
        if post.status is not None and post.status != IncidentStatus.RESOLVED:
            self._set_status(post.status, at, post.actor)
        if waits:
            self._event(E.UPDATE_PENDING, at, post.actor, number=number)
            return update
        self._event(
            E.UPDATE_POSTED, at, post.actor, number=number, public=post.public, body=post.body
        )
        if post.public:
            self._publish(update, at)
        return update

    def approve(self, approve: ApproveUpdate, at: datetime) -> PostedUpdate:
        self.check_approve(approve)
        self.check_open("approve an update")
        approved: PostedUpdate | None = None
        updates = []
        for update in self.state.updates:
            if update.number == approve.number:
                update = update.model_copy(update={"state": "sent", "approved_by": approve.actor})
                approved = update
            updates.append(update)
        assert approved is not None
        self._update(updates=updates)
        self._event(E.UPDATE_APPROVED, at, approve.actor, number=approve.number, body=approved.body)
        self._publish(approved, at)
        return approved

    def _publish(self, update: PostedUpdate, at: datetime) -> None:
        """A public update went out: it meets the notice and cadence clocks and is broadcast."""
        self._meet(ClockName.FIRST_NOTICE, at)
        if self.state.acknowledged_at is None:
            self.acknowledge(Acknowledge(actor=update.author), at)
        self._meet(ClockName.UPDATE, at)
        cadence = self.state.terms.update_every
        if cadence is not None and self.state.open:
            previous = self.state.clocks.get(ClockName.UPDATE)
            self._set_clock(
                clocks.start_with_risk(
                    ClockName.UPDATE, at, cadence, self.state.terms.at_risk_percent, previous
                )
            )
        self._broadcast(update.update_id, "update", update.body)

    def _broadcast(self, key: str, kind: Literal["update", "resolve"], body: str) -> None:
        self._update(broadcasts=broadcasts.queued(self.state, key, kind, body))

    def _set_status(self, status: IncidentStatus, at: datetime, actor: str) -> None:
        if status == self.state.status:
            return
        previous = self.state.status
        self._update(status=status)
        self._event(E.STATUS_CHANGED, at, actor, **{"from": previous.value, "to": status.value})

    def resolve(self, resolve: ResolveIncident, at: datetime) -> None:
        self.check_open("resolve")
        for name in (ClockName.ACKNOWLEDGE, ClockName.FIRST_NOTICE, ClockName.UPDATE):
            clock = self.state.clocks.get(name)
            if clock is not None and clock.state == "running":
                self._set_clock(clocks.cancel(clock))
        self._update(resolved_at=at, resolution=resolve.resolution)
        self._set_status(IncidentStatus.RESOLVED, at, resolve.actor)
        self._event(
            E.RESOLVED,
            at,
            resolve.actor,
            resolution=resolve.resolution,
            linked=len(self.state.linked),
        )
        self._set_clock(
            clocks.start_with_risk(
                ClockName.REPORT, at, self.state.terms.report_due, self.state.terms.at_risk_percent
            )
        )
        self._broadcast(resolution_id(self.state.incident_id), "resolve", resolve.resolution)

    def submit_report(self, report: SubmitReport, at: datetime) -> None:
        self.check_report()
        self._update(report_submitted_at=at, report=report.body)
        self._event(E.REPORT_SUBMITTED, at, report.actor)
        self._meet(ClockName.REPORT, at)

    def delivered(self, outcomes: list[TicketOutcome], at: datetime) -> None:
        """One batch of the first broadcast went out; it is done once every recipient had it."""
        changes, finished = broadcasts.after_batch(self.state, outcomes)
        self._update(**changes)
        if finished is not None:
            self._event(
                E.BROADCAST_DONE,
                at,
                "system",
                update_id=finished.update_id,
                tickets=len(finished.ticket_ids),
            )

    # -- time -----------------------------------------------------------------------------------

    def tick(self, now: datetime) -> None:
        """Every at-risk point and breach due by `now`, each at its own instant."""
        while (due := clocks.next_deadline(self.state)) is not None and due <= now:
            for clock in list(self.state.clocks.values()):
                if clocks.next_point(clock) != due:
                    continue
                if not clock.at_risk_fired and clock.at_risk_at < clock.due_at:
                    self._set_clock(clock.model_copy(update={"at_risk_fired": True}))
                    self._event(
                        E.CLOCK_AT_RISK,
                        due,
                        "system",
                        clock=clock.name.value,
                        due_at=clock.due_at.isoformat(),
                    )
                    self._escalate(self.state.terms.at_risk, due, f"{clock.name.value} at risk")
                else:
                    self._set_clock(
                        clock.model_copy(
                            update={"state": "breached", "breached_at": due, "at_risk_fired": True}
                        )
                    )
                    self._event(E.CLOCK_BREACHED, due, "system", clock=clock.name.value)
                    self._escalate(self.state.terms.breach, due, f"{clock.name.value} breached")

    def _escalate(self, target: EscalationTarget | None, at: datetime, reason: str) -> None:
        if target is None:
            return
        if target.level > self.state.escalation_level:
            self._update(escalation_level=target.level, escalation_name=target.name)
        seq = self._event(
            E.ESCALATED, at, "system", level=target.level, name=target.name, reason=reason
        )
        self._effects.notifications += staff_alerts(
            self.state, seq, target, reason, self.mail_domain
        )

    def next_wakeup(self) -> datetime | None:
        return clocks.next_deadline(self.state)

    def finished(self) -> bool:
        """Resolved, reported and nothing left to broadcast."""
        return self.state.report_submitted_at is not None and not self.state.broadcasts
