"""The engine behind `domain.sla.calendar`: a calendar's open time as spans of epoch seconds.

Everything here works on ints (seconds since the Unix epoch, UTC) so the arithmetic is exact
and cheap. A calendar is compiled once per distinct definition (module-level LRU cache) and
memoises the open spans of each local date it has been asked about; both caches are pure
functions of their keys, so they are safe to share between tickets, threads and workflow runs.

Invariants of the span streams:
- spans are half-open `(start, end)` with `start < end`, sorted and pairwise disjoint;
- the open time of local date D is the weekly intervals whose day is D's weekday, placed on D
  (an interval that crosses midnight belongs to the day it starts on), unless D is a holiday;
- a local wall time in a DST gap maps to the first instant whose wall time is at or after it
  (the instant the clocks jump); an ambiguous wall time (fall-back) uses fold=0, its first
  occurrence. So an interval's length is its real, UTC length (a 24x7 day may be 23h or 25h).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

Span = tuple[int, int]
# (timezone, always_open, ((weekday 0-6, start second, end second), ...), holiday country,
#  holiday subdivision, explicit holiday dates): everything that decides when a calendar is open.
CalendarKey = tuple[
    str, bool, tuple[tuple[int, int, int], ...], str | None, str | None, tuple[date, ...]
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_SECOND = timedelta(seconds=1)
ONE_DAY = timedelta(days=1)
# A calendar with no open time in this many consecutive local days is treated as never open.
MAX_CLOSED_DAYS = 2 * 366
_DAY_MEMO_LIMIT = 50_000


@lru_cache(maxsize=1024)
def holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """Public holidays (observed days included) of `country`/`subdivision` in `year`."""
    import holidays  # lazily: resolved calendar snapshots never need the package

    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def check_holiday_region(country: str, subdivision: str | None) -> None:
    """Raise ValueError unless the `holidays` package knows this country and subdivision."""
    import holidays

    try:
        holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError as error:
        raise ValueError(f"unknown holiday region: {error}") from None


def to_epoch(moment: datetime) -> int:
    """Whole seconds since the epoch, microseconds truncated (floored)."""
    return (moment - EPOCH) // ONE_SECOND


def from_epoch(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


class CompiledCalendar:
    """A calendar definition turned into something fast to query. Build with `compile_calendar`."""

    __slots__ = (
        "_days",
        "_extra_holidays",
        "_weekly",
        "always_open",
        "country",
        "subdivision",
        "tz",
    )

    def __init__(self, key: CalendarKey) -> None:
        timezone, always_open, weekly, country, subdivision, extra_holidays = key
        self.tz = ZoneInfo(timezone)
        self.always_open = always_open
        self.country = country
        self.subdivision = subdivision
        self._extra_holidays = frozenset(extra_holidays)
        by_weekday: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        for weekday, start_second, end_second in weekly:
            by_weekday[weekday].append((start_second, end_second))
        self._weekly = tuple(tuple(sorted(intervals)) for intervals in by_weekday)
        self._days: dict[date, tuple[Span, ...]] = {}

    def is_holiday(self, day: date) -> bool:
        if day in self._extra_holidays:
            return True
        return self.country is not None and day in holiday_dates(
            self.country, self.subdivision, day.year
        )

    def local_date(self, seconds: int) -> date:
        return datetime.fromtimestamp(seconds, self.tz).date()

    def local_to_epoch(self, wall: datetime) -> int:
        """The instant of naive local `wall` time (see the module docstring for gaps/folds)."""
        instant = to_epoch(wall.replace(tzinfo=self.tz))
        if self._wall(instant) == wall:
            return instant
        # `wall` is in a DST gap; fold=0 placed it after the jump. Find the jump itself: the
        # earliest instant whose wall time is >= `wall` (wall time is monotonic around a gap).
        low, high = instant - 2 * 86400, instant
        while high - low > 1:
            middle = (low + high) // 2
            if self._wall(middle) >= wall:
                high = middle
            else:
                low = middle
        return high

    def _wall(self, seconds: int) -> datetime:
        return datetime.fromtimestamp(seconds, self.tz).replace(tzinfo=None)

    def day_spans(self, day: date) -> tuple[Span, ...]:
        """The open spans that start on local date `day`, sorted by start (may overlap)."""
        spans = self._days.get(day)
        if spans is None:
            spans = self._compute_day_spans(day)
            if len(self._days) >= _DAY_MEMO_LIMIT:
                self._days.clear()
            self._days[day] = spans
        return spans

    def wall_intervals(self, day: date) -> tuple[Span, ...]:
        """The open time of local date `day` on the wall clock: sorted, disjoint (start, end)
        seconds after its local midnight (an end past 86400 crosses into the next day); empty
        on a holiday or a day without hours."""
        if self.is_holiday(day):
            return ()
        if self.always_open:
            return ((0, 86400),)
        merged: list[Span] = []
        for start, end in self._weekly[day.weekday()]:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return tuple(merged)

    def _compute_day_spans(self, day: date) -> tuple[Span, ...]:
        if self.is_holiday(day):
            return ()
        midnight = datetime(day.year, day.month, day.day)
        if self.always_open:
            return ((self.local_to_epoch(midnight), self.local_to_epoch(midnight + ONE_DAY)),)
        spans = []
        for start_second, end_second in self._weekly[day.weekday()]:
            start = self.local_to_epoch(midnight + timedelta(seconds=start_second))
            end = self.local_to_epoch(midnight + timedelta(seconds=end_second))
            if start < end:
                spans.append((start, end))
        return tuple(sorted(spans))


compile_calendar = lru_cache(maxsize=256)(CompiledCalendar)


def open_spans(calendar: CompiledCalendar, position: int, until: int | None) -> Iterator[Span]:
    """Disjoint, sorted open spans clipped to start at or after `position`.

    Stops after the local date of `until` when given; otherwise raises ValueError once
    MAX_CLOSED_DAYS consecutive days without open time have been scanned.
    """
    # The day before may hold an interval that crosses midnight into `position`'s day.
    day = calendar.local_date(position) - ONE_DAY
    last_day = calendar.local_date(until) if until is not None else None
    frontier = position
    closed_since = day
    while last_day is None or day <= last_day:
        for start, end in calendar.day_spans(day):
            # Intervals of one day (or of consecutive days) may overlap: count each second once.
            start = max(start, frontier)
            if start < end:
                yield start, end
                frontier = end
                closed_since = day + ONE_DAY
        if last_day is None and (day - closed_since).days >= MAX_CLOSED_DAYS:
            raise ValueError(
                f"calendar has no open time in the {MAX_CLOSED_DAYS} days from {closed_since}"
            )
        day += ONE_DAY


def merge_pauses(pauses: Sequence[Span]) -> list[Span]:
    """Sorted, disjoint union of the non-empty `pauses`."""
    merged: list[Span] = []
    for start, end in sorted(pause for pause in pauses if pause[0] < pause[1]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def counted_spans(
    calendar: CompiledCalendar, position: int, pauses: list[Span], until: int | None
) -> Iterator[Span]:
    """Open spans from `position` with the (merged) `pauses` cut out: the time that counts."""
    index = 0
    while until is None or position < until:
        jump_to: int | None = None
        for start, end in open_spans(calendar, position, until):
            while start < end:
                while index < len(pauses) and pauses[index][1] <= start:
                    index += 1
                if index < len(pauses) and pauses[index][0] <= start:
                    if pauses[index][1] >= end:
                        # Paused past this span: restart the day walk at the pause's end, so a
                        # long (or open-ended) pause costs one step, not one step per day.
                        jump_to = pauses[index][1]
                        break
                    start = pauses[index][1]
                    continue
                cut = end if index == len(pauses) else min(end, pauses[index][0])
                yield start, cut
                start = cut
            if jump_to is not None:
                break
        if jump_to is None:
            return
        position = jump_to
