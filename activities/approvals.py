"""Approvals' activities: the store row of an approval, and `issue_refund`, the payment.

`issue_refund` moves money once per approval id. With no payment URL configured the store
is the ledger: the entry is written accepted and settled in one transaction. With one, the
attempt first claims the ledger entry (`calling`); only the claim holder calls, with
`Idempotency-Key: <approval id>`. An attempt that finds the entry `calling` (its holder
died between the call and recording the answer) asks the payment system for that key
before calling again, so a crash at any point never pays twice.

The payment system's HTTP contract (docs/api.md, "Payment adapter"):
- `POST <url>` with the `PaymentOrder` as JSON and `Idempotency-Key`: 2xx with
  `{"reference", "status": "accepted"|"settled"}`; 4xx (but 408, 409, 429) is a refusal,
  never retried; anything else is retried.
- `GET <url>/<approval id>`: 200 with the same body if it has that payment, 404 if not.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.approvals.models import ApprovalView, PaymentOrder, PaymentResult
from store import approvals
from store.approval_models import LedgerStatus
from store.engine import SessionMaker

PAYMENT_REFUSED = "PaymentRefused"
PAYMENT_UNKNOWN = "PaymentOutcomeUnknown"
"""The call may have reached the payment system (no answer): the claim stays, and the next
attempt asks before it calls."""
_RETRYABLE_4XX = {408, 409, 429}


class ApprovalActivities:
    def __init__(
        self,
        sessions: SessionMaker,
        *,
        payment_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 5.0,
    ) -> None:
        self._sessions = sessions
        self._url = payment_url.rstrip("/") if payment_url else None
        self._http = http
        self._timeout = timeout

    @activity.defn(name="record_approval")
    async def record_approval(self, view: ApprovalView) -> None:
        """The approval's row as its workflow has it now (an upsert: a retry is harmless)."""
        async with self._sessions.begin() as session:
            await approvals.upsert_approval(session, view=view)

    @activity.defn(name="issue_refund")
    async def issue_refund(self, order: PaymentOrder) -> PaymentResult:
        """Pay (refund, credit or cancel) once per `order.approval_id`; see the module doc."""
        now = datetime.now(UTC)
        entry: dict[str, Any] = {
            "key": order.approval_id,
            "ticket_id": order.ticket_id,
            "approval_id": order.approval_id,
            "kind": order.kind.value,
            "amount": order.amount,
            "currency": order.currency,
            "trigger": None,
            "created_at": now,
        }
        if self._url is None:
            reference = f"ledger-{order.approval_id}"
            async with self._sessions.begin() as session:
                await approvals.claim_entry(
                    session,
                    values=entry | {"adapter": "ledger", "status": LedgerStatus.SETTLED,
                                    "reference": reference, "settled_at": now},
                )  # fmt: skip
                found = await approvals.ledger_entry(session, key=order.approval_id)
            assert found is not None
            return PaymentResult(reference=found.reference or reference, settled=True)
        token = str(uuid.uuid4())
        async with self._sessions.begin() as session:
            claimed = await approvals.claim_entry(
                session,
                values=entry | {"adapter": "http", "status": LedgerStatus.CALLING,
                                "claim_token": token},
            )  # fmt: skip
            found = await approvals.ledger_entry(session, key=order.approval_id)
        assert found is not None
        if not claimed:
            if found.status != LedgerStatus.CALLING:
                return PaymentResult(
                    reference=found.reference or "", settled=found.status == LedgerStatus.SETTLED
                )
            # A previous attempt called (or died calling): the payment system knows.
            known = await self._lookup(order.approval_id)
            if known is not None:
                await self._record(order.approval_id, known)
                return known
        try:
            result = await self._call(order)
        except ApplicationError as err:
            if claimed and err.type != PAYMENT_UNKNOWN:
                async with self._sessions.begin() as session:
                    await approvals.release_entry(session, key=order.approval_id, token=token)
            raise
        await self._record(order.approval_id, result)
        return result

    async def _record(self, key: str, result: PaymentResult) -> None:
        status = LedgerStatus.SETTLED if result.settled else LedgerStatus.ACCEPTED
        async with self._sessions.begin() as session:
            await approvals.settle_entry(
                session, key=key, status=status, reference=result.reference, at=datetime.now(UTC)
            )

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient()
        return self._http

    async def _call(self, order: PaymentOrder) -> PaymentResult:
        assert self._url is not None
        try:
            response = await self._client().post(
                self._url,
                content=order.model_dump_json(),
                headers={"Idempotency-Key": order.approval_id, "Content-Type": "application/json"},
                timeout=self._timeout,
            )
        except httpx.HTTPError as err:
            raise ApplicationError(
                f"no answer from the payment system: {type(err).__name__}", type=PAYMENT_UNKNOWN
            ) from err
        return _result(response)

    async def _lookup(self, approval_id: str) -> PaymentResult | None:
        assert self._url is not None
        try:
            response = await self._client().get(f"{self._url}/{approval_id}", timeout=self._timeout)
        except httpx.HTTPError as err:
            raise ApplicationError(f"payment system unreachable: {type(err).__name__}") from err
        if response.status_code == 404:
            return None
        return _result(response)


def _result(response: httpx.Response) -> PaymentResult:
    status = response.status_code
    if 400 <= status < 500 and status not in _RETRYABLE_4XX:
        raise ApplicationError(
            f"payment refused: HTTP {status}", type=PAYMENT_REFUSED, non_retryable=True
        )
    if not 200 <= status < 300:
        raise ApplicationError(f"payment system answered HTTP {status}")
    body = response.json()
    return PaymentResult(
        reference=str(body.get("reference", ""))[:100], settled=body.get("status") == "settled"
    )
