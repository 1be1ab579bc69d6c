"""Business time: when a support calendar is open, and SLA arithmetic over it, to the second.

Pure and deterministic: no clock reads, no I/O at call time. Workflows use it passed through
the sandbox (`workflows.sandbox`), and only with `resolved()` calendars (an SLA
snapshot's calendar is one): an unresolved calendar asks the `holidays` package for a year's
holidays (cached per country, subdivision and year), which the sandbox does not allow.

Conventions:
- Every datetime argument must be timezone-aware (ValueError otherwise). Arguments are
  truncated to whole seconds (microseconds dropped) before any arithmetic, pause bounds
  included; results are whole-second datetimes in UTC. The two "nothing to do" answers,
  `add_business_seconds(..., 0)` and `next_open` of an open instant, return the argument's own
  instant (in UTC), so neither answer is ever earlier than what was passed in.
- A weekly interval whose end is at or before its start crosses midnight and belongs to the
  day it starts on (also for holidays). "24:00" is accepted as an end meaning midnight.
- DST: open intervals are laid out per local date and converted to UTC; a wall time inside a
  spring-forward gap maps forward to the instant the clocks jump, an ambiguous fall-back wall
  time means its first occurrence (fold=0). Lengths are real (UTC) lengths.
- Pauses are half-open intervals that may overlap; paused time never counts. A pause that is
  still running is passed as `Interval(start=paused_at, end=OPEN_ENDED)`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.sla.spans import (
    ONE_DAY,
    CalendarKey,
    CompiledCalendar,
    check_holiday_region,
    compile_calendar,
    counted_spans,
    from_epoch,
    holiday_dates,
    merge_pauses,
    open_spans,
    to_epoch,
)

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The end of an open-ended pause: far enough to be "never", near enough for date arithmetic.
OPEN_ENDED = datetime(9999, 1, 1, tzinfo=UTC)

_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


@lru_cache(maxsize=1024)
def _clock_seconds(value: str, *, allow_midnight_end: bool) -> int:
    match = _CLOCK_RE.match(value)
    if match is None:
        raise ValueError(f"invalid time {value!r}: expected HH:MM or HH:MM:SS")
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if allow_midnight_end and hours == 24 and minutes == 0 and seconds == 0:
        return 86400
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"invalid time {value!r}")
    return hours * 3600 + minutes * 60 + seconds


class WeeklyInterval(BaseModel):
    """Open hours on one weekday, in the calendar's local time. `end <= start` crosses midnight."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    day: Weekday
    start: str
    end: str

    @field_validator("start")
    @classmethod
    def _check_start(cls, value: str) -> str:
        _clock_seconds(value, allow_midnight_end=False)
        return value

    @field_validator("end")
    @classmethod
    def _check_end(cls, value: str) -> str:
        _clock_seconds(value, allow_midnight_end=True)
        return value

    @property
    def start_second(self) -> int:
        """Seconds after local midnight of `day` at which the interval opens."""
        return _clock_seconds(self.start, allow_midnight_end=False)

    @property
    def end_second(self) -> int:
        """Seconds after local midnight of `day` at which it closes (> start_second, <= 2 days)."""
        end = _clock_seconds(self.end, allow_midnight_end=True)
        return end if end > self.start_second else end + 86400


class CalendarSpec(BaseModel):
    """A business-hours calendar. JSON-serialisable: it travels in workflow inputs.

    Open time is `always_open` (24x7 in local days) or the `weekly` intervals, minus every local
    date that is a holiday: from the `holidays` package for `holiday_country` (and
    subdivision) unless the spec is resolved, plus `holiday_dates`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    timezone: str = "UTC"
    always_open: bool = False
    weekly: list[WeeklyInterval] = Field(default_factory=list)
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    holiday_dates: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> CalendarSpec:
        if self.always_open and self.weekly:
            raise ValueError("an always_open calendar takes no weekly hours")
        if self.holiday_subdivision is not None and self.holiday_country is None:
            raise ValueError("holiday_subdivision needs holiday_country")
        if self.holiday_country is not None:
            check_holiday_region(self.holiday_country, self.holiday_subdivision)
        return self

    def resolved(self, from_year: int, years: int = 3) -> CalendarSpec:
        """A copy with the package holidays of `from_year` .. `from_year + years - 1` written into
        `holiday_dates` and the country cleared: the snapshot a ticket keeps, so neither a
        `holidays` upgrade nor a config edit changes a running ticket. Idempotent."""
        if self.holiday_country is None:
            return self
        dates = set(self.holiday_dates)
        for year in range(from_year, from_year + years):
            dates |= holiday_dates(self.holiday_country, self.holiday_subdivision, year)
        data = self.model_dump()
        data.update(holiday_country=None, holiday_subdivision=None, holiday_dates=sorted(dates))
        return CalendarSpec.model_validate(data)


class Interval(BaseModel):
    """A half-open span of time `[start, end)` between two aware instants."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _check_order(self) -> Interval:
        if self.end < self.start:
            raise ValueError("interval end is before its start")
        return self


def add_business_seconds(
    calendar: CalendarSpec, start: datetime, seconds: int, pauses: Sequence[Interval] = ()
) -> datetime:
    """The earliest instant t >= start with business_seconds_between(start, t, pauses) == seconds.

    For seconds > 0 the second just before the result is open and unpaused. Raises ValueError
    for negative seconds or when no open time can be found (see MAX_CLOSED_DAYS).
    """
    if seconds < 0:
        raise ValueError(f"seconds must not be negative, got {seconds}")
    position = _seconds_of(start, "start")
    if seconds == 0:
        return start.astimezone(UTC)
    remaining = seconds
    try:
        for span_start, span_end in counted_spans(
            _compiled(calendar), position, _pause_spans(pauses), None
        ):
            if span_end - span_start >= remaining:
                return from_epoch(span_start + remaining)
            remaining -= span_end - span_start
    except OverflowError:
        pass
    raise ValueError(f"calendar {calendar.id!r} has no open time left before year 9999")


def business_seconds_between(
    calendar: CalendarSpec, start: datetime, end: datetime, pauses: Sequence[Interval] = ()
) -> int:
    """Open, non-holiday, unpaused seconds in [start, end); 0 if end <= start."""
    first, last = _seconds_of(start, "start"), _seconds_of(end, "end")
    if last <= first:
        return 0
    total = 0
    for span_start, span_end in counted_spans(
        _compiled(calendar), first, _pause_spans(pauses), last
    ):
        if span_start >= last:
            break
        total += min(span_end, last) - span_start
    return total


def is_open(calendar: CalendarSpec, at: datetime) -> bool:
    """Whether `at` falls in the calendar's open time (pauses are the ticket's, not considered)."""
    moment = _seconds_of(at, "at")
    compiled = _compiled(calendar)
    today = compiled.local_date(moment)
    return any(
        start <= moment < end
        for day in (today - ONE_DAY, today)
        for start, end in compiled.day_spans(day)
    )


def next_open(calendar: CalendarSpec, at: datetime) -> datetime:
    """`at` itself (in UTC) if the calendar is open then, else the instant it next opens."""
    moment = _seconds_of(at, "at")
    try:
        for span_start, _ in open_spans(_compiled(calendar), moment, None):
            return at.astimezone(UTC) if span_start == moment else from_epoch(span_start)
    except OverflowError:
        pass
    raise ValueError(f"calendar {calendar.id!r} never opens after {at.isoformat()}")


def calendar_key(calendar: CalendarSpec) -> CalendarKey:
    """Everything that decides when `calendar` is open, as a hashable value (not the id)."""
    weekly = tuple(
        (WEEKDAYS.index(interval.day), interval.start_second, interval.end_second)
        for interval in calendar.weekly
    )
    return (
        calendar.timezone,
        calendar.always_open,
        weekly,
        calendar.holiday_country,
        calendar.holiday_subdivision,
        tuple(calendar.holiday_dates),
    )


def _compiled(calendar: CalendarSpec) -> CompiledCalendar:
    return compile_calendar(calendar_key(calendar))


def _seconds_of(moment: datetime, name: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment!r}")
    return to_epoch(moment)


def _pause_spans(pauses: Sequence[Interval]) -> list[tuple[int, int]]:
    return merge_pauses([(to_epoch(pause.start), to_epoch(pause.end)) for pause in pauses])
