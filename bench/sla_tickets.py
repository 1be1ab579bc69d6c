"""The tickets of the SLA benchmark, built as the API builds them, but started directly.

Two kinds, both with the SLA snapshot the default policy gives them:
- *idle* tickets: a mix of priorities, plans and categories whose first timer is at
  least `IDLE_HORIZON` away, so during the run they only hold a timer;
- *breaching* tickets: P1 on the policy's 24x7 calendar, with the first-response
  target shortened so that the clock is due at a chosen whole second.

Invariants: nothing here does I/O or reads a clock; the caller passes `created_at`,
which is when the ticket's clocks start (`TicketStarted.created_at`). A breaching
ticket's due time is computed by the same pure SLA arithmetic the workflow uses and
checked against the one asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from temporalio.common import TypedSearchAttributes

from api.service import static_summary
from domain.enums import Metric
from domain.intake.decide import escalation_snapshot
from domain.intake.routing import route
from domain.policy.support import SupportPolicy
from domain.sla.terms import SlaSnapshot
from domain.ticket.aggregate import Ticket
from domain.ticket.requests import TicketCreate
from domain.ticket.state import TicketEvent, TicketStarted, TicketState, TicketWorkflowInput
from workflows import search_attributes as sa

IDLE_HORIZON = timedelta(hours=1)
"""An idle ticket's first timer (at risk, breach, unresolved step) is at least this far off."""
MIN_BREACH_TARGET_SECONDS = 10
"""A breaching ticket needs at least this long between its start and its due time."""

# (subject, priority, plan): routed by the policy's keyword rules to every team.
IDLE_MIX: tuple[tuple[str, str, str], ...] = tuple(
    (subject, priority, plan)
    for priority in ("P2", "P3", "P4")
    for plan in ("starter", "professional", "enterprise")
    for subject in (
        "Cannot download my invoice",
        "Webhook integration returns an error",
        "How do I export my reports?",
        "Cannot log in after the password reset",
        "VAT number missing on the e-invoice",
    )
)
IDLE_FALLBACK = ("How do I export my reports?", "P4", "starter")
BREACHING = ("Checkout fails for all our customers", "P1", "starter")
CHANNELS = ("email", "portal", "chat", "api", "phone")


@dataclass(frozen=True)
class PlannedTicket:
    """A ticket ready to start: the workflow input and what the API would attach to it."""

    started: TicketStarted
    search_attributes: TypedSearchAttributes
    summary: str
    first_wakeup: datetime | None
    first_response_due_at: datetime | None
    state: TicketState
    """The state right after creation."""
    events: tuple[TicketEvent, ...]
    """The events of the creation (`created`, `assigned`...)."""

    @property
    def ticket_id(self) -> str:
        return self.started.ticket_id

    def workflow_input(self, *, settled: bool) -> TicketWorkflowInput:
        """A new ticket's input, as the API starts it; or, `settled`, the input of a ticket
        whose intake is behind it: its state after creation, carried as a continue-as-new
        carries it, with nothing left to record (`bench.sla_start` wrote its row and events)
        and no email to send (its acknowledgment went out long ago)."""
        if not settled:
            return TicketWorkflowInput(started=self.started)
        return TicketWorkflowInput(started=self.started, carried=self.state)


def breach_due_times(window_start: datetime, window_seconds: float, count: int) -> list[datetime]:
    """`count` whole-second due times spread evenly over `[window_start, +window_seconds)`."""
    if count < 1:
        return []
    first = window_start.replace(microsecond=0)
    if first < window_start:
        first += timedelta(seconds=1)
    return [first + timedelta(seconds=int(i * window_seconds / count)) for i in range(count)]


def ticket_id(run_id: str, kind: str, index: int) -> str:
    """`SLA-<run>-I000001` (idle) or `SLA-<run>-B000001` (breaching)."""
    return f"SLA-{run_id}-{kind}{index:06d}"


class TicketFactory:
    """Builds `PlannedTicket`s for one run; SLA snapshots are resolved once per combination."""

    def __init__(self, policy: SupportPolicy, run_id: str) -> None:
        self.policy = policy
        self.run_id = run_id
        self._escalation = escalation_snapshot(policy)

    @cache  # noqa: B019 - one factory per run; the few combinations are worth keeping
    def _snapshot(
        self, priority: str, plan: str, category: str, channel: str, year: int
    ) -> SlaSnapshot:
        # Resolving a calendar asks the `holidays` package: far too slow to do 10,000 times.
        return self.policy.select_sla(
            priority=priority, plan=plan, category=category, channel=channel, created_year=year
        )

    def _request(
        self, index: int, kind: str, subject: str, priority: str, plan: str
    ) -> TicketCreate:
        return TicketCreate.model_validate(
            {
                "requester": {
                    "email": f"sla-{self.run_id}-{kind.lower()}{index}@example.com",
                    "name": f"Bench Customer {index}",
                    "plan": plan,
                },
                "subject": f"{subject} ({kind}{index})",
                "description": "Reported through the SLA benchmark; nobody will answer it.",
                "channel": CHANNELS[index % len(CHANNELS)],
                "priority": priority,
            }
        )

    def _plan(
        self,
        ticket: str,
        request: TicketCreate,
        created_at: datetime,
        first_response_seconds: int | None = None,
    ) -> PlannedTicket:
        routed = route(self.policy, request)
        sla = self._snapshot(
            routed.priority,
            request.requester.plan,
            routed.category,
            request.channel,
            created_at.year,
        )
        if first_response_seconds is not None:
            targets = sla.targets.model_copy(update={"first_response": first_response_seconds})
            sla = sla.model_copy(update={"targets": targets})
        members = sorted(a for a, spec in self.policy.agents.items() if spec.team == routed.team)
        started = TicketStarted(
            ticket_id=ticket,
            request=request,
            created_at=created_at,
            priority=routed.priority,
            category=routed.category,
            team=routed.team,
            # Round robin as the API would, without its store-side load counts.
            assignee=members[sum(map(ord, ticket)) % len(members)] if members else None,
            sla=sla,
            lifecycle=self.policy.lifecycle,
            escalation=self._escalation,
        )
        created, effects = Ticket.create(started)
        clock = created.state.clocks.get(Metric.FIRST_RESPONSE)
        return PlannedTicket(
            started=started,
            search_attributes=sa.initial_attributes(created.state),
            summary=static_summary(created.state),
            first_wakeup=created.next_wakeup(),
            first_response_due_at=clock.due_at if clock else None,
            state=created.state,
            events=tuple(effects.events),
        )

    def idle(self, index: int, created_at: datetime) -> PlannedTicket:
        """The `index`-th ticket of the mix, or the fallback if its first timer is too near."""
        ticket = ticket_id(self.run_id, "I", index)
        for subject, priority, plan in (IDLE_MIX[index % len(IDLE_MIX)], IDLE_FALLBACK):
            request = self._request(index, "I", subject, priority, plan)
            planned = self._plan(ticket, request, created_at)
            if is_idle(planned.first_wakeup, created_at):
                return planned
        raise ValueError(f"the policy gives {ticket} a timer within {IDLE_HORIZON}")

    def breaching(self, index: int, created_at: datetime, due_at: datetime) -> PlannedTicket:
        """A P1 ticket whose first-response clock is due at `due_at` (a whole second)."""
        ticket = ticket_id(self.run_id, "B", index)
        subject, priority, plan = BREACHING
        request = self._request(index, "B", subject, priority, plan)
        target = int((due_at - created_at.replace(microsecond=0)).total_seconds())
        if target < MIN_BREACH_TARGET_SECONDS:
            raise ValueError(
                f"{ticket} would be due {target} s after its start (at least "
                f"{MIN_BREACH_TARGET_SECONDS} s needed): starting the tickets took too long"
            )
        planned = self._plan(ticket, request, created_at, first_response_seconds=target)
        if planned.first_response_due_at != due_at:
            raise ValueError(
                f"{ticket}: first response due {planned.first_response_due_at}, not {due_at}; "
                "the policy's P1 calendar must be open around the clock"
            )
        return planned


def is_idle(first_wakeup: datetime | None, created_at: datetime) -> bool:
    return first_wakeup is None or first_wakeup - created_at >= IDLE_HORIZON
