"""Durations between two timestamp columns, summarised in SQL: count, median and p90.

Invariants: a duration is the exact wall-clock time from `begin` to `finish` in whole
microseconds, computed by the database (nothing but three numbers comes back, however
many rows the window holds). Percentiles are nearest-rank: the p-th percentile of n
ascending values is the ceil(p * n / 100)-th (1-based). Both backends give the same
figures to the microsecond, as `(finish - begin).total_seconds()` in Python would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

MICROSECONDS = 1_000_000


class elapsed_microseconds(FunctionElement[int]):
    """`finish - begin` in whole microseconds, for two `UtcDateTime` columns."""

    type = BigInteger()
    name = "elapsed_microseconds"
    inherit_cache = True


@compiles(elapsed_microseconds, "postgresql")
def _postgresql(element: elapsed_microseconds, compiler: SQLCompiler, **kw: Any) -> str:
    begin, finish = (compiler.process(clause, **kw) for clause in element.clauses)
    # EXTRACT(EPOCH FROM interval) is numeric (exact) since PostgreSQL 14.
    return f"CAST(EXTRACT(EPOCH FROM ({finish} - {begin})) * {MICROSECONDS} AS BIGINT)"


@compiles(elapsed_microseconds, "sqlite")
def _sqlite(element: elapsed_microseconds, compiler: SQLCompiler, **kw: Any) -> str:
    begin, finish = (compiler.process(clause, **kw) for clause in element.clauses)

    # SQLite keeps `YYYY-MM-DD HH:MM:SS.ffffff` (SQLAlchemy's format, always six digits).
    # Its date functions round to milliseconds (…:59.999999 would count as the next
    # second), so whole seconds come from the text up to the seconds (characters 1-19)
    # and the microseconds from the text itself (characters 21-26).
    def seconds(ts: str) -> str:
        return f"CAST(strftime('%s', substr({ts}, 1, 19)) AS INTEGER)"

    def micros(ts: str) -> str:
        return f"CAST(substr({ts}, 21, 6) AS INTEGER)"

    return (
        f"(({seconds(finish)} - {seconds(begin)}) * {MICROSECONDS}"
        f" + {micros(finish)} - {micros(begin)})"
    )


@dataclass(frozen=True)
class Durations:
    count: int
    median_seconds: float | None
    p90_seconds: float | None


def _nearest_rank(percentile: int, count: ColumnElement[int]) -> ColumnElement[int]:
    """ceil(percentile * count / 100) in integer arithmetic (at least 1 when count >= 1)."""
    return (percentile * count + 99) // 100


async def durations(
    session: AsyncSession, begin: Any, finish: Any, *where: ColumnElement[bool]
) -> Durations:
    """Count, median and p90 of `finish - begin` over the rows where `finish` is set."""
    elapsed = elapsed_microseconds(begin, finish)
    ranked = (
        select(
            elapsed.label("micros"),
            func.row_number().over(order_by=elapsed).label("position"),
            func.count().over().label("n"),
        )
        .where(finish.is_not(None), *where)
        .subquery("ranked")
    )

    def at(percentile: int) -> ColumnElement[Any]:
        hit = ranked.c.position == _nearest_rank(percentile, ranked.c.n)
        return func.max(case((hit, ranked.c.micros)))

    count, median, p90 = (
        await session.execute(select(func.count(), at(50), at(90)).select_from(ranked))
    ).one()
    return Durations(int(count), _seconds(median), _seconds(p90))


def _seconds(micros: int | None) -> float | None:
    # int / int is correctly rounded, exactly like timedelta.total_seconds().
    return None if micros is None else int(micros) / MICROSECONDS
