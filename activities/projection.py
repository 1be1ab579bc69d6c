"""Writing the store projection of a ticket: its row's changes, plus its numbered events
(the rows themselves are built in `store.rows`)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import DataError, IntegrityError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from store import approvals, repository, webhooks
from store.engine import SessionMaker
from store.rows import ProjectionInput, TicketChanges, event_row, sla_event_row

STORE_DATA_ERROR = "StoreDataError"
"""The store refused the data itself (too long, a constraint): retrying cannot help."""


class ProjectionActivities:
    def __init__(self, sessions: SessionMaker) -> None:
        self._sessions = sessions

    @property
    def sessions(self) -> SessionMaker:
        return self._sessions

    @activity.defn(name="record_ticket")
    async def record_ticket(self, projection: ProjectionInput) -> None:
        """Idempotent: an older or equal snapshot and already-stored events change nothing.

        A refusal of the data (value too long, constraint violated) is non-retryable
        (`StoreDataError`); anything else (the store unreachable, a lock timeout) is
        transient and left to the retry policy."""
        try:
            await self._record(projection)
        except (DataError, IntegrityError) as err:
            raise ApplicationError(
                f"the store refused the data of {projection.ticket_id}: "
                f"{type(err.orig).__name__}: {str(err.orig).strip().splitlines()[0]}",
                type=STORE_DATA_ERROR,
                non_retryable=True,
            ) from err

    async def _record(self, projection: ProjectionInput) -> None:
        parsed = TicketChanges.model_validate(projection.changes)
        changes = parsed.model_dump(include=parsed.model_fields_set)
        ticket_id = projection.ticket_id
        async with self._sessions.begin() as session:
            if projection.facts is not None:
                row = {"id": ticket_id, **dict(projection.facts), **changes}
                await repository.upsert_ticket(session, values=row)
            else:
                await repository.update_ticket(session, ticket_id=ticket_id, changes=changes)
            rows = [event_row(e) for e in projection.events]
            await repository.insert_events(session, events=rows)
            # Queued with the events, in the same transaction: once and in `seq` order.
            await webhooks.enqueue(session, events=rows, at=datetime.now(UTC))
            priority = projection.priority
            sla_rows = [sla_event_row(e, priority) for e in projection.events]
            await repository.insert_sla_events(
                session, rows=[row for row in sla_rows if row is not None]
            )
            # Automatic credits granted at once go on the ledger with their event.
            await approvals.record_credits(session, events=projection.events, at=datetime.now(UTC))
