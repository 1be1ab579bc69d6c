"""Business days ("3bd"): hand-computed cases on every kind of calendar, then properties
against an independent, naive reading of the rule in `domain.sla.business_days`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.enums import Metric, Status
from domain.sla.business_days import add_business_days, business_days_seconds
from domain.sla.calendar import (
    CalendarSpec,
    WeeklyInterval,
    business_seconds_between,
    is_open,
    next_open,
)
from domain.sla.clocks import retarget, start_clock
from domain.sla.durations import BusinessDays, parse_duration
from domain.sla.terms import SlaSnapshot, SlaTargets

HOUR = 3600
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def hours(start: str, end: str, days: tuple[str, ...] = WEEKDAYS) -> list[WeeklyInterval]:
    return [WeeklyInterval.model_validate({"day": d, "start": start, "end": end}) for d in days]


OFFICE = CalendarSpec(id="office", weekly=hours("09:00", "17:00"))
NY_OFFICE = CalendarSpec(
    id="ny",
    timezone="America/New_York",
    weekly=hours("09:00", "18:00"),
    holiday_country="US",
).resolved(2026)
SATURDAYS = CalendarSpec(
    id="saturdays", weekly=[*hours("09:00", "17:00"), *hours("09:00", "13:00", ("sat",))]
)
NY_NIGHTS = CalendarSpec(
    id="ny-nights",
    timezone="America/New_York",
    weekly=hours("22:00", "06:00", ("sun", "mon", "tue", "wed", "thu")),
)
NY_24X7 = CalendarSpec(id="ny-24x7", timezone="America/New_York", always_open=True)
UTC_24X7_HOLIDAY = CalendarSpec(id="24x7", always_open=True, holiday_dates=[date(2026, 11, 24)])
SPLIT = CalendarSpec(
    id="split", weekly=[*hours("09:00", "12:00"), *hours("13:00", "17:00")]
)  # a lunch break: two intervals a day


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


CASES = [
    # 2026-11-23 is a Monday.
    pytest.param(OFFICE, utc(2026, 11, 23, 10), 3, utc(2026, 11, 26, 10), id="mon-10-to-thu-10"),
    pytest.param(OFFICE, utc(2026, 11, 23, 9), 1, utc(2026, 11, 23, 17), id="opening-to-close"),
    pytest.param(OFFICE, utc(2026, 11, 23, 7), 2, utc(2026, 11, 24, 17), id="before-opening"),
    pytest.param(OFFICE, utc(2026, 11, 20, 19, 30), 3, utc(2026, 11, 25, 17), id="fri-evening"),
    pytest.param(OFFICE, utc(2026, 11, 21, 12), 1, utc(2026, 11, 23, 17), id="from-saturday"),
    pytest.param(OFFICE, utc(2026, 11, 27, 16), 1, utc(2026, 11, 30, 16), id="over-weekend"),
    # PlumberLeads: Friday 19:30 in New York before Labor Day (Mon 2026-09-07): day 0 is
    # Tuesday, so three business days end on Thursday at closing.
    pytest.param(NY_OFFICE, ny(2026, 9, 4, 19, 30), 3, ny(2026, 9, 10, 18), id="us-holiday"),
    pytest.param(NY_OFFICE, ny(2026, 9, 3, 11), 1, ny(2026, 9, 4, 11), id="us-thu-fri"),
    pytest.param(NY_OFFICE, ny(2026, 9, 4, 11), 1, ny(2026, 9, 8, 11), id="us-fri-over-holiday"),
    # Saturday hours: Saturday is an open day, shorter than a weekday.
    pytest.param(SATURDAYS, utc(2026, 11, 20, 10), 1, utc(2026, 11, 21, 10), id="fri-to-sat"),
    pytest.param(SATURDAYS, utc(2026, 11, 20, 16), 1, utc(2026, 11, 21, 13), id="sat-close"),
    pytest.param(SATURDAYS, utc(2026, 11, 21, 12), 1, utc(2026, 11, 23, 12), id="sat-to-mon"),
    pytest.param(SATURDAYS, utc(2026, 11, 20, 16), 2, utc(2026, 11, 23, 16), id="fri-to-mon"),
    # 24x7: the same wall-clock time, across DST changes and holidays.
    pytest.param(NY_24X7, ny(2026, 10, 31, 10), 1, ny(2026, 11, 1, 10), id="24x7-fall-back"),
    pytest.param(NY_24X7, ny(2026, 3, 7, 10), 1, ny(2026, 3, 8, 10), id="24x7-spring-forward"),
    pytest.param(NY_24X7, ny(2026, 3, 7, 2, 30), 1, ny(2026, 3, 8, 3), id="24x7-into-the-gap"),
    pytest.param(
        UTC_24X7_HOLIDAY, utc(2026, 11, 23, 10), 1, utc(2026, 11, 25, 10), id="24x7-holiday"
    ),
    # Night shift: Tuesday 02:00 is 4 h into Monday's shift; Tuesday's shift is day 1.
    pytest.param(NY_NIGHTS, ny(2026, 11, 24, 2), 1, ny(2026, 11, 25, 2), id="night-shift"),
    pytest.param(NY_NIGHTS, ny(2026, 11, 19, 23), 1, ny(2026, 11, 22, 23), id="night-weekend"),
    # A lunch break: the position is open time, so 12:30 (closed) is the 3 h position = 12:00.
    pytest.param(SPLIT, utc(2026, 11, 23, 14), 1, utc(2026, 11, 24, 14), id="split-afternoon"),
    pytest.param(SPLIT, utc(2026, 11, 23, 12, 30), 1, utc(2026, 11, 24, 12), id="split-lunch"),
]


@pytest.mark.parametrize(("calendar", "start", "days", "expected"), CASES)
def test_business_days_table(
    calendar: CalendarSpec, start: datetime, days: int, expected: datetime
) -> None:
    assert add_business_days(calendar, start, days) == expected.astimezone(UTC)


def test_uniform_days_are_n_times_the_day() -> None:
    assert business_days_seconds(OFFICE, utc(2026, 11, 23, 10), 3) == 24 * HOUR
    assert business_days_seconds(OFFICE, utc(2026, 11, 21, 3), 5) == 40 * HOUR


def test_zero_business_days_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        business_days_seconds(OFFICE, utc(2026, 11, 23, 10), 0)


# --- the policy file's spelling ----------------------------------------------------------------


def test_targets_take_business_days_and_dump_them_as_written() -> None:
    targets = SlaTargets.model_validate({"first_response": "4h", "resolution": "3BD"})
    assert targets.first_response == 4 * HOUR
    assert targets.resolution == BusinessDays(days=3)
    dumped = targets.model_dump(mode="json")
    assert dumped == {"first_response": 14400, "next_update": None, "resolution": "3bd"}
    assert SlaTargets.model_validate(dumped) == targets
    assert SlaTargets.model_validate_json(targets.model_dump_json()) == targets


@pytest.mark.parametrize("value", ["0bd", "3bd4h", "2.5bd", "bd", "367bd", "-1bd"])
def test_bad_business_days_are_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        SlaTargets.model_validate({"resolution": value})


def test_business_days_only_in_sla_targets() -> None:
    with pytest.raises(ValueError, match="SLA targets only"):
        parse_duration("3bd")


# --- clocks ------------------------------------------------------------------------------------


def _snapshot(calendar: CalendarSpec, resolution: str | int) -> SlaSnapshot:
    return SlaSnapshot(
        policy_id="p",
        policy_version="1",
        targets=SlaTargets.model_validate({"first_response": "1h", "resolution": resolution}),
        calendar=calendar,
        at_risk_percent=[80],
        pauses={Metric.RESOLUTION: [Status.AWAITING_CUSTOMER]},
        reopen="new_cycle",
        reason="test",
    )


def test_a_clock_fixes_business_days_in_seconds_when_it_starts() -> None:
    snapshot = _snapshot(SATURDAYS, "2bd")
    clock = start_clock(snapshot, Metric.RESOLUTION, utc(2026, 11, 20, 16))
    assert clock is not None
    # Friday 16:00 -> Monday 16:00: 1 h Friday + 4 h Saturday + 7 h Monday.
    assert (clock.target_seconds, clock.due_at) == (12 * HOUR, utc(2026, 11, 23, 16))
    # A priority change to "1bd" counts from the same start.
    moved = retarget(snapshot, clock, BusinessDays(days=1))
    assert (moved.target_seconds, moved.due_at) == (5 * HOUR, utc(2026, 11, 21, 13))


# --- properties --------------------------------------------------------------------------------

ALL_CALENDARS = [OFFICE, NY_OFFICE, SATURDAYS, NY_NIGHTS, NY_24X7, UTC_24X7_HOLIDAY, SPLIT]
# Calendars whose open days all have the same real length.
UNIFORM = [(OFFICE, 8 * HOUR), (NY_OFFICE, 9 * HOUR), (UTC_24X7_HOLIDAY, 24 * HOUR)]

instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 1), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=0))
day_counts = st.integers(min_value=1, max_value=25)


@settings(max_examples=300, deadline=None)
@given(calendar=st.sampled_from(ALL_CALENDARS), start=instants, days=day_counts)
def test_due_is_after_the_start_and_at_the_end_of_open_time(
    calendar: CalendarSpec, start: datetime, days: int
) -> None:
    due = add_business_days(calendar, start, days)
    assert due > start
    assert is_open(calendar, due - timedelta(seconds=1))


@settings(max_examples=300, deadline=None)
@given(
    calendar=st.sampled_from(ALL_CALENDARS),
    start=instants,
    later=st.integers(min_value=0, max_value=10 * 86400),
    days=day_counts,
)
def test_a_later_start_is_never_due_earlier(
    calendar: CalendarSpec, start: datetime, later: int, days: int
) -> None:
    second = start + timedelta(seconds=later)
    assert add_business_days(calendar, start, days) <= add_business_days(calendar, second, days)


@settings(max_examples=300, deadline=None)
@given(calendar_length=st.sampled_from(UNIFORM), start=instants, days=day_counts)
def test_on_uniform_days_n_business_days_are_n_days_of_open_time(
    calendar_length: tuple[CalendarSpec, int], start: datetime, days: int
) -> None:
    calendar, length = calendar_length
    assert business_days_seconds(calendar, start, days) == days * length


@settings(max_examples=200, deadline=None)
@given(
    calendar=st.sampled_from([OFFICE, NY_OFFICE, UTC_24X7_HOLIDAY]),
    start=instants,
    first=st.integers(min_value=1, max_value=10),
    second=st.integers(min_value=1, max_value=10),
)
def test_business_days_add_up_on_uniform_days(
    calendar: CalendarSpec, start: datetime, first: int, second: int
) -> None:
    halfway = add_business_days(calendar, start, first)
    assert add_business_days(calendar, halfway, second) == add_business_days(
        calendar, start, first + second
    )


def _naive_due(calendar: CalendarSpec, start: datetime, days: int) -> datetime:
    """The rule read literally, for calendars of at most one interval a day within the day and
    no open hours in a DST gap:
    walk dates, find day 0, take the wall-clock position, place it on the n-th open day."""
    tz = ZoneInfo(calendar.timezone)

    def window(day: date) -> tuple[datetime, datetime] | None:
        if day in calendar.holiday_dates:
            return None
        if calendar.always_open:
            return datetime.combine(day, datetime.min.time()), datetime.combine(
                day + timedelta(days=1), datetime.min.time()
            )
        names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        for interval in calendar.weekly:
            if interval.day == names[day.weekday()]:
                midnight = datetime.combine(day, datetime.min.time())
                return (
                    midnight + timedelta(seconds=interval.start_second),
                    midnight + timedelta(seconds=interval.end_second),
                )
        return None

    opening = next_open(calendar, start).astimezone(tz)
    day = opening.date()
    first = window(day)
    assert first is not None
    position = opening.replace(tzinfo=None) - first[0]
    for _ in range(days):
        day += timedelta(days=1)
        while window(day) is None:
            day += timedelta(days=1)
    open_at, close_at = window(day)  # type: ignore[misc]
    # None of the calendars this is used with has open hours in a DST gap.
    return min(open_at + position, close_at).replace(tzinfo=tz).astimezone(UTC)


@settings(max_examples=400, deadline=None)
@given(
    calendar=st.sampled_from([OFFICE, NY_OFFICE, SATURDAYS, UTC_24X7_HOLIDAY]),
    start=instants,
    days=day_counts,
)
def test_due_matches_the_rule_read_literally(
    calendar: CalendarSpec, start: datetime, days: int
) -> None:
    naive = _naive_due(calendar, start, days)
    # The same amount of business time: the engine answers with the earliest such instant.
    assert business_days_seconds(calendar, start, days) == business_seconds_between(
        calendar, start, naive
    )
    assert add_business_days(calendar, start, days) <= naive
