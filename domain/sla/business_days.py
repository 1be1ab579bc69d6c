"""Business days: what an SLA target of "n business days" ("3bd") means on a calendar.

The rule, on any calendar (weekdays only, Saturday hours, holidays, 24x7, overnight shifts):

- An *open day* is a local date of the calendar (in its time zone) that has open time: not a
  holiday, and with weekly hours that day (every date of a 24x7 calendar). Its open time is
  the intervals that start on it (an interval crossing midnight belongs to the day it starts).
- A clock that starts at instant `s` begins counting at the first open instant at or after `s`
  (`s` itself when open). The open day that instant lies in is day 0, and the clock's
  *position* is how much of day 0's open time, on the wall clock, lies before it (0 when the
  ticket arrived before opening, after closing, or on a closed day).
- `n` business days later it is due at the same position of the n-th open day after day 0:
  the instant at which that day has been open for as long as day 0 had been. A day with less
  open time than that is due at its close. As everywhere in SLA time, the earliest instant
  with that much business time is the due time, so a position of 0 is the close of open day
  n-1 rather than the opening of day n.

So on Mon-Fri 09:00-17:00, 3bd from Monday 10:00 is Thursday 10:00; from Friday 19:30 it is
Wednesday 17:00 (the end of the third open day, Monday being day 0), or Thursday 17:00 when
Monday is a holiday. With Saturday 09:00-13:00 hours, 1bd from Friday 16:00 is Saturday 13:00
(Saturday is an open day, shorter than Friday's 7 h position). On 24x7, 1bd is the same wall-
clock time the next non-holiday date (23 or 25 real hours across a DST change).

A clock's target is then fixed in business seconds when it starts (`business_days_seconds`),
and runs like any other: pauses move it out, at-risk points are percentages of it. On a
calendar whose open days all last L, n business days are always n x L business seconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.sla.calendar import (
    CalendarSpec,
    add_business_seconds,
    business_seconds_between,
    calendar_key,
    next_open,
)
from domain.sla.spans import MAX_CLOSED_DAYS, ONE_DAY, compile_calendar, from_epoch, to_epoch


def business_days_seconds(calendar: CalendarSpec, start: datetime, days: int) -> int:
    """The business seconds from `start` to the due time of `days` business days."""
    if days < 1:
        raise ValueError(f"business days must be at least 1, got {days}")
    compiled = compile_calendar(calendar_key(calendar))
    opening = to_epoch(next_open(calendar, start))
    today = compiled.local_date(opening)
    day_zero = next(
        day
        for day in (today - ONE_DAY, today)
        if any(a <= opening < b for a, b in compiled.day_spans(day))
    )
    midnight = datetime(day_zero.year, day_zero.month, day_zero.day)
    wall = datetime.fromtimestamp(opening, compiled.tz).replace(tzinfo=None)
    offset = int((wall - midnight).total_seconds())
    position = sum(min(max(offset - a, 0), b - a) for a, b in compiled.wall_intervals(day_zero))
    day, counted, closed = day_zero, 0, 0
    while counted < days:
        day += ONE_DAY
        if compiled.wall_intervals(day) and compiled.day_spans(day):
            counted, closed = counted + 1, 0
        else:
            closed += 1
            if closed > MAX_CLOSED_DAYS:
                raise ValueError(f"calendar {calendar.id!r} has no open day after {day}")
    left = position
    due_offset = 0
    for a, b in compiled.wall_intervals(day):
        due_offset = a + min(left, b - a)
        if left <= b - a:
            break
        left -= b - a
    due_midnight = datetime(day.year, day.month, day.day)
    due = compiled.local_to_epoch(due_midnight + timedelta(seconds=due_offset))
    return business_seconds_between(calendar, start, from_epoch(due))


def add_business_days(calendar: CalendarSpec, start: datetime, days: int) -> datetime:
    """The due time of `days` business days from `start` (the rule is the module docstring)."""
    return add_business_seconds(calendar, start, business_days_seconds(calendar, start, days))
