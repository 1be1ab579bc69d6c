"""The escalation ladder: levels 0-3, what raises them, and who hears about it.

A ticket snapshots the ladder at intake (`EscalationSnapshot`), with every
recipient resolved to an address, so the workflow never reads configuration.
Triggers: a clock's at-risk point (alert the team lead, no level change), a
breach (one level up), time unresolved per priority (one level per multiple
of the priority's threshold), the reopen threshold, a low CSAT score, a
customer asking for escalation, and an agent's manual `escalate`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from domain.calendar import add_business_seconds
from domain.enums import EventType, Metric, Status
from domain.escalation_models import MAX_LEVEL, target_level
from domain.machine import SYSTEM, Effects, TicketCore
from domain.notifications import Notification, message_id, notification_key
from domain.sla import SlaTransition

# What a customer writes when they want a manager (en, ms, mk).
ESCALATION_REQUEST_WORDS = (
    "escalate",
    "escalation",
    "manager",
    "supervisor",
    "pengurus",
    "eskalasi",
    "менаџер",
    "ескалација",
)


def recipient_tag(recipient: str) -> str:
    """A short stable stand-in for an address inside a Message-ID (which allows one `@`)."""
    return hashlib.sha256(recipient.lower().encode()).hexdigest()[:12]


def asks_for_escalation(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in ESCALATION_REQUEST_WORDS)


class EscalatingTicket(TicketCore):
    """Escalation steps, internal alerts and the customer's notices."""

    def _internal(
        self,
        effects: Effects,
        seq: int,
        template: str,
        recipient: str,
        *,
        purpose: str | None = None,
        **context: Any,
    ) -> None:
        """An email to staff (English). `purpose` tells apart two alerts of one event."""
        state = self.state
        kind = f"{template}.{purpose}" if purpose else template
        effects.notifications.append(
            Notification(
                key=notification_key(state.ticket_id, seq, kind, recipient),
                ticket_id=state.ticket_id,
                seq=seq,
                template=template,
                language="en",
                recipient=recipient,
                message_id=message_id(
                    state.ticket_id, seq, f"{kind}.{recipient_tag(recipient)}", self.mail_domain
                ),
                context=self.template_context(None, **context),
            )
        )

    def _sla_summary(self) -> str:
        parts = []
        for metric, clock in self.state.clocks.items():
            due = clock.due_at.strftime("%Y-%m-%d %H:%M UTC") if clock.due_at else "paused"
            parts.append(f"{metric.value}: {clock.state.value} (due {due})")
        return "; ".join(parts) or "no clocks"

    def raise_level(
        self,
        effects: Effects,
        at: datetime,
        *,
        reason: str,
        trigger: str,
        actor: str = SYSTEM,
        level: int | None = None,
    ) -> bool:
        """Move to `level` (default one up): event, internal alert, customer notice."""
        previous = self.state.escalation_level
        target = target_level(previous, level)
        if target == previous:
            return False
        self._update(escalation_level=target)
        event = self._event(
            effects,
            EventType.ESCALATED,
            at,
            actor,
            **{"from": previous, "to": target},
            reason=reason,
            trigger=trigger,
            direction="up" if target > previous else "down",
        )
        if target < previous:
            return True
        ladder = self.state.escalation.level(target)
        name = ladder.name if ladder else f"Level {target}"
        for recipient in ladder.recipients if ladder else []:
            self._internal(
                effects,
                event.seq,
                "escalation_alert",
                recipient,
                level=target,
                level_name=name,
                reason=reason,
                plan=self.state.requester.plan.value,
                agent=self.state.assignee,
                impact=f"{self.state.priority.value} {self.state.category} ticket",
                actions_taken=self._actions_taken(),
                sla_summary=self._sla_summary(),
                ticket_url=None,
            )
        self._notify_customer(effects, event, "escalation_notice", level=target, level_name=name)
        return True

    def _actions_taken(self) -> list[str]:
        state = self.state
        taken = []
        if state.assignee:
            taken.append(f"assigned to {state.assignee}")
        if state.first_responded_at:
            taken.append(f"first response at {state.first_responded_at:%Y-%m-%d %H:%M} UTC")
        if state.reopen_count:
            taken.append(f"reopened {state.reopen_count} time(s)")
        return taken

    def on_sla_transitions(self, effects: Effects, transitions: list[SlaTransition]) -> None:
        """At risk: tell the team lead. Breached: one level up, and apologise to the customer."""
        for t in transitions:
            if t.kind == "at_risk":
                lead = self.state.escalation.team_leads.get(self.state.team or "")
                if lead is not None:
                    seq = self.state.last_seq
                    self._internal(
                        effects,
                        seq,
                        "escalation_alert",
                        lead,
                        purpose=f"at_risk.{t.metric.value}.{t.cycle}.{t.percent}",
                        level=self.state.escalation_level,
                        level_name=f"{t.metric.value.replace('_', ' ')} at {t.percent}%",
                        reason=f"{t.metric.value.replace('_', ' ')} is at risk",
                        plan=self.state.requester.plan.value,
                        agent=self.state.assignee,
                        impact=None,
                        actions_taken=self._actions_taken(),
                        sla_summary=self._sla_summary(),
                        ticket_url=None,
                    )
            elif t.kind == "breached":
                metric = t.metric.value.replace("_", " ")
                self.raise_level(
                    effects, t.at, reason=f"{metric} breached", trigger=f"breach:{t.metric.value}"
                )
                if t.metric != Metric.CSAT_FOLLOWUP:
                    event = effects.events[-1]
                    self._notify_customer(
                        effects, event, "sla_breach_apology", metric=t.metric.value
                    )

    # -- time unresolved -------------------------------------------------------------------------

    def unresolved_deadline(self) -> datetime | None:
        """When the next "unresolved for too long" step is due (business time, pauses excluded)."""
        state = self.state
        threshold = state.escalation.unresolved_after.get(state.priority)
        clock = state.clocks.get(Metric.RESOLUTION)
        if (
            threshold is None
            or clock is None
            or not clock.is_live
            or clock.paused_since is not None
            or state.status in (Status.RESOLVED, Status.CLOSED)
            or state.unresolved_steps >= MAX_LEVEL
        ):
            return None
        seconds = threshold * (state.unresolved_steps + 1)
        return add_business_seconds(state.sla.calendar, clock.started_at, seconds, clock.pauses)

    def escalate_unresolved(self, effects: Effects, now: datetime) -> None:
        """One level up for each multiple of the priority's threshold that `now` has reached."""
        while (deadline := self.unresolved_deadline()) is not None and deadline <= now:
            steps = self.state.unresolved_steps + 1
            threshold = self.state.escalation.unresolved_after[self.state.priority]
            self._update(unresolved_steps=steps)
            self.raise_level(
                effects,
                deadline,
                reason=f"unresolved after {threshold * steps / 3600:g} business hours",
                trigger="unresolved",
            )
