"""The policy's automatic credits: on a breach (per metric, priority and plan) and on a low
satisfaction score (per plan), granted at once (a `credit_granted` event, which the store
puts on the ledger) or sent through an approver (`Effects.credit_asks`). Pure.
"""

from __future__ import annotations

from datetime import datetime

from domain.approvals.models import format_money
from domain.enums import EventType
from domain.policy.approvals import CreditRule
from domain.ticket.change import SYSTEM, Change, CreditAsk


def _grant(change: Change, rule: CreditRule, trigger: str, at: datetime) -> str | None:
    """Grant (or ask an approver for) the credit `rule` gives; the amount as the customer's
    email states it when granted at once, else None."""
    change.update(credits_granted=[*change.state.credits_granted, trigger])
    if rule.approval is not None:
        change.effects.credit_asks.append(
            CreditAsk(trigger=trigger, amount=rule.amount, currency=rule.currency,
                      role=rule.approval)
        )  # fmt: skip
        return None
    change.event(
        EventType.CREDIT_GRANTED,
        at,
        SYSTEM,
        amount=str(rule.amount),
        currency=rule.currency,
        trigger=trigger,
    )
    return format_money(rule.amount, rule.currency)


def credit_on_breach(change: Change, metric: str, at: datetime) -> str | None:
    """The policy's credit for this breach (metric, priority, plan), once per metric."""
    state = change.state
    trigger = f"breach:{metric}"
    if state.approvals is None or trigger in state.credits_granted:
        return None
    for rule in state.approvals.credits.breach:
        if rule.matches_breach(
            metric=metric, priority=str(state.priority), plan=str(state.requester.plan)
        ):
            return _grant(change, rule, trigger, at)
    return None


def credit_on_score(change: Change, score: int, at: datetime) -> str | None:
    """The policy's credit for a low satisfaction score (per plan), once per ticket."""
    state = change.state
    if state.approvals is None or "csat" in state.credits_granted:
        return None
    for rule in state.approvals.credits.low_csat:
        if rule.matches_score(score=score, plan=str(state.requester.plan)):
            return _grant(change, rule, "csat", at)
    return None
