"""SQL for one-click survey links: each used once. Callers own the transaction.

A claim is one `INSERT … ON CONFLICT DO NOTHING`: of any number of concurrent clicks on
one survey's links, exactly one records a score.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import CsatResponse
from store.repository import dialect_insert

PENDING = "pending"
RECORDED = "recorded"
REFUSED = "refused"


async def claim(
    session: AsyncSession,
    *,
    survey_id: str,
    ticket_id: str,
    score: int,
    at: datetime,
    stale_before: datetime,
) -> str | None:
    """Claim the survey's links for `score`: None if this caller got them (also by taking
    over a `pending` claim older than `stale_before`, whose request died), else the outcome
    of the click that did (`pending`, `recorded` or `refused`)."""
    inserted = await session.execute(
        dialect_insert(session, CsatResponse)
        .values(survey_id=survey_id, ticket_id=ticket_id, score=score, outcome=PENDING, used_at=at)
        .on_conflict_do_nothing(index_elements=["survey_id"])
        .returning(CsatResponse.survey_id)
    )
    if inserted.first() is not None:
        return None
    taken_over = await session.execute(
        update(CsatResponse)
        .where(
            CsatResponse.survey_id == survey_id,
            CsatResponse.outcome == PENDING,
            CsatResponse.used_at < stale_before,
        )
        .values(score=score, used_at=at)
        .returning(CsatResponse.survey_id)
    )
    if taken_over.first() is not None:
        return None
    outcome = await session.scalar(
        select(CsatResponse.outcome).where(CsatResponse.survey_id == survey_id)
    )
    return outcome or PENDING


async def finish(session: AsyncSession, *, survey_id: str, outcome: str) -> None:
    await session.execute(
        update(CsatResponse).where(CsatResponse.survey_id == survey_id).values(outcome=outcome)
    )


async def release(session: AsyncSession, *, survey_id: str) -> None:
    """Give up a claim whose score could not be recorded: the link works again."""
    await session.execute(
        delete(CsatResponse).where(
            CsatResponse.survey_id == survey_id, CsatResponse.outcome == PENDING
        )
    )
