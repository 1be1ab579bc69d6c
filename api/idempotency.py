"""`Idempotency-Key` on actions: the key becomes the Temporal Update id, one per action.

Temporal deduplicates Updates by id within one workflow run, whatever the Update's name:
a repeat of an id gets the first Update's outcome and runs nothing. So the id is
`<action>:<key>` (`reply:K`, `note:K`), and a client that reuses a key for another
action has that action applied, not answered with the first one's result. The ticket
scopes it: Update ids are per workflow, and the workflow id is the ticket id.

Not promised: deduplication across a continue-as-new or a reset (a new run remembers no
Update ids), and a repeat's body is not compared with the first one's (the first wins).
"""

from __future__ import annotations

import hashlib
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from domain.ticket.actions import Action
from domain.ticket.views import TicketBrief

MAX_KEY_CHARS = 200
"""`idempotency_keys.key` is VARCHAR(200); action keys are held to the same bound."""

KEY_RULE = f"must be 1-{MAX_KEY_CHARS} printable ASCII characters"
KEY_PATTERN = r"^[ -~]*[!-~][ -~]*$"
"""`valid_key` as the OpenAPI description states it (with maxLength `MAX_KEY_CHARS`)."""


def valid_key(key: str) -> bool:
    """Printable ASCII (space to `~`), not blank, at most `MAX_KEY_CHARS`."""
    return (
        0 < len(key) <= MAX_KEY_CHARS and bool(key.strip()) and all(" " <= ch <= "~" for ch in key)
    )


def update_id(action: Action, key: str | None) -> str | None:
    """The Temporal Update id of an action sent with `key` (None: Temporal picks a fresh one)."""
    return None if key is None else f"{action.value}:{key}"


def follow_up_key(ticket_id: str, key: str) -> str:
    """The create key of the follow-up ticket a keyed `customer-reply` to a closed ticket opens.

    Scoped to the ticket, like action keys: the same key on another ticket opens another one.
    A digest, so it fits `idempotency_keys.key` whatever the ticket id and key.
    """
    digest = hashlib.sha256(f"{ticket_id}\n{key}".encode()).hexdigest()
    return f"follow-up:{digest}"


async def earlier_result(
    handle: WorkflowHandle[Any, Any], update_id: str | None
) -> TicketBrief | None:
    """The outcome of an Update this workflow run already took with this id, or None.

    Asked before the API's own checks (an agent's capacity, the SLA policy), so a repeat
    is answered from the first result even when those checks would now refuse it. A
    failed first Update raises its failure again; a refused one (validator) left no
    trace, so a retry is checked afresh.
    """
    if update_id is None:
        return None
    try:
        result: TicketBrief = await handle.get_update_handle(
            update_id, result_type=TicketBrief
        ).result()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return result
