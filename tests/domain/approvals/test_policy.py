"""The `approvals:` block: DataFlow's authority levels from the default policy, and the
references it makes checked like the rest of the policy."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from domain.approvals.decide import age_in_days, check_decision
from domain.approvals.models import ApprovalStatus, Decision
from domain.errors import InvalidTransition, NotApprover
from domain.policy.approvals import ApprovalKind, ApprovalsSpec
from domain.policy.support import PolicyError, parse_policy
from runtime.policy_file import load_policy
from runtime.settings import DEFAULT_POLICY_FILE
from tests.domain.policy.test_policy import minimal_policy

SPEC = load_policy(DEFAULT_POLICY_FILE).approvals


@pytest.mark.parametrize(
    ("kind", "plan", "amount", "age", "role"),
    [
        (ApprovalKind.REFUND, "starter", "49", 12, "agent"),
        (ApprovalKind.REFUND, "professional", "149", 30, "agent"),
        (ApprovalKind.REFUND, "professional", "149", 31, "support_manager"),
        (ApprovalKind.REFUND, "professional", "600", 45, "support_manager"),
        (ApprovalKind.REFUND, "starter", "49", None, "support_manager"),  # no purchase date
        (ApprovalKind.REFUND, "enterprise", "49", 3, "support_manager"),
        (ApprovalKind.CREDIT, "enterprise", "1000", None, "support_manager"),
        (ApprovalKind.REFUND, "professional", "1000.01", 3, "finance_director"),
        (ApprovalKind.REFUND, "enterprise", "2500", 10, "finance_director"),
        (ApprovalKind.CANCELLATION, "starter", "49", None, "agent"),
        (ApprovalKind.CANCELLATION, "enterprise", "5000", None, "support_manager"),
    ],
)
def test_dataflows_authority_levels(
    kind: ApprovalKind, plan: str, amount: str, age: int | None, role: str
) -> None:
    assert SPEC.first_role(kind=kind, plan=plan, amount=Decimal(amount), age_days=age) == role


def test_a_missed_deadline_climbs_the_chain_from_the_first_rung() -> None:
    assert [lv.role for lv in SPEC.chain("support_manager")] == [
        "support_manager",
        "finance_director",
    ]
    assert [lv.decide_within for lv in SPEC.chain("agent")] == [4 * 3600, 24 * 3600, 48 * 3600]


def test_a_rung_or_one_above_decides_a_pending_request_once() -> None:
    ladder = [lv.role for lv in SPEC.levels]

    def check(role: str, status: ApprovalStatus = ApprovalStatus.PENDING) -> None:
        check_decision(
            approval_id="TKT-1-R1",
            status=status,
            waiting_on="support_manager",
            ladder=ladder,
            d=Decision(actor="agent:x", role=role),
        )

    check("support_manager")
    check("finance_director")
    with pytest.raises(NotApprover):
        check("agent")
    with pytest.raises(InvalidTransition):
        check("finance_director", ApprovalStatus.APPROVED)


def test_age_counts_whole_days_since_the_purchase() -> None:
    at = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert age_in_days(date(2026, 10, 31), at) == 30
    assert age_in_days(None, at) is None


def _with(approvals: dict[str, Any]) -> dict[str, Any]:
    return {**minimal_policy(), "approvals": approvals}


def test_a_rule_naming_a_role_off_the_ladder_or_an_unknown_plan_is_refused() -> None:
    with pytest.raises(PolicyError, match="not on the approval ladder"):
        parse_policy(_with({"rules": [{"role": "ceo"}]}))
    with pytest.raises(PolicyError, match=r"approvals.rules.0.plan: unknown plan 'platinum'"):
        parse_policy(_with({"rules": [{"plan": ["platinum"], "role": "agent"}]}))
    credit = {"priority": ["P9"], "amount": 50}
    with pytest.raises(PolicyError, match=r"approvals.credits.breach.0.priority"):
        parse_policy(_with({"credits": {"breach": [credit]}}))


def test_the_default_block_asks_the_top_rung_and_grants_nothing() -> None:
    spec = ApprovalsSpec()
    assert (
        spec.first_role(kind=ApprovalKind.REFUND, plan="starter", amount=Decimal(1), age_days=1)
        == "finance_director"
    )
    assert spec.credits.breach == []
    assert spec.credits.low_csat == []
    assert str(spec.settle_within) == "3bd"
