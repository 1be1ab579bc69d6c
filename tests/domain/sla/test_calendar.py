"""Business-time arithmetic: hand-computed tables plus hypothesis properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.sla.calendar import (
    OPEN_ENDED,
    CalendarSpec,
    Interval,
    WeeklyInterval,
    add_business_seconds,
    business_seconds_between,
    is_open,
    next_open,
)

SKOPJE = ZoneInfo("Europe/Skopje")
NEW_YORK = ZoneInfo("America/New_York")
KUALA_LUMPUR = ZoneInfo("Asia/Kuala_Lumpur")
HOUR = 3600
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def weekdays(start: str, end: str, days: tuple[str, ...] = WEEKDAYS) -> list[WeeklyInterval]:
    return [WeeklyInterval.model_validate({"day": d, "start": start, "end": end}) for d in days]


UTC_24X7 = CalendarSpec(id="24x7", always_open=True)
UTC_OFFICE = CalendarSpec(id="office", weekly=weekdays("09:00", "18:00"))
SKOPJE_OFFICE = CalendarSpec(
    id="skopje", timezone="Europe/Skopje", weekly=weekdays("09:00", "18:00"), holiday_country="MK"
)
KL_OFFICE = CalendarSpec(
    id="kl",
    timezone="Asia/Kuala_Lumpur",
    weekly=weekdays("09:00", "18:00"),
    holiday_country="MY",
    holiday_subdivision="14",
)
NY_NIGHTS = CalendarSpec(
    id="ny-nights",
    timezone="America/New_York",
    weekly=weekdays("22:00", "06:00", ("sun", "mon", "tue", "wed", "thu")),
)
SKOPJE_24X7 = CalendarSpec(id="skopje-24x7", timezone="Europe/Skopje", always_open=True)
NY_24X7 = CalendarSpec(id="ny-24x7", timezone="America/New_York", always_open=True)
NY_OFFICE = CalendarSpec(id="ny", timezone="America/New_York", weekly=weekdays("09:00", "18:00"))


def at(
    tz: ZoneInfo,
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    microsecond: int = 0,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=tz)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return at(ZoneInfo("UTC"), year, month, day, hour, minute, second, us)


# --- tables -------------------------------------------------------------------------------

ADD_CASES = [
    pytest.param(UTC_OFFICE, utc(2026, 11, 20, 17), 2 * HOUR, utc(2026, 11, 23, 10), id="weekend"),
    pytest.param(UTC_OFFICE, utc(2026, 11, 21, 12), 1, utc(2026, 11, 23, 9, 0, 1), id="from-sat"),
    pytest.param(UTC_OFFICE, utc(2026, 11, 23, 9), 9 * HOUR, utc(2026, 11, 23, 18), id="full-day"),
    pytest.param(
        SKOPJE_OFFICE,  # Tue 2026-12-08 is Saint Clement of Ohrid Day in MK
        at(SKOPJE, 2026, 12, 7, 17),
        2 * HOUR,
        at(SKOPJE, 2026, 12, 9, 10),
        id="mk-holiday",
    ),
    pytest.param(
        KL_OFFICE,  # Mon 2026-02-02 is Federal Territory Day (observed) in Kuala Lumpur
        at(KUALA_LUMPUR, 2026, 1, 30, 17),
        2 * HOUR,
        at(KUALA_LUMPUR, 2026, 2, 3, 10),
        id="my-kul-holiday",
    ),
    pytest.param(
        SKOPJE_24X7,  # 2026-03-29 has 23 hours in Skopje
        at(SKOPJE, 2026, 3, 28, 12),
        24 * HOUR,
        at(SKOPJE, 2026, 3, 29, 13),
        id="skopje-24x7-spring",
    ),
    pytest.param(
        SKOPJE_24X7,  # 2026-10-25 has 25 hours
        at(SKOPJE, 2026, 10, 24, 12),
        24 * HOUR,
        at(SKOPJE, 2026, 10, 25, 11),
        id="skopje-24x7-fall",
    ),
    pytest.param(
        NY_24X7,
        at(NEW_YORK, 2026, 3, 7, 12),
        24 * HOUR,
        at(NEW_YORK, 2026, 3, 8, 13),
        id="ny-spring",
    ),
    pytest.param(
        NY_24X7,
        at(NEW_YORK, 2026, 10, 31, 12),
        24 * HOUR,
        at(NEW_YORK, 2026, 11, 1, 11),
        id="ny-fall",
    ),
    pytest.param(
        SKOPJE_OFFICE,  # Fri 17:00 CET + 2h -> Mon 10:00 CEST: 63 real hours, 62 wall hours
        at(SKOPJE, 2026, 3, 27, 17),
        2 * HOUR,
        at(SKOPJE, 2026, 3, 30, 10),
        id="skopje-office-spring",
    ),
    pytest.param(
        SKOPJE_OFFICE,  # Thu 17:00 CEST + 2h; Fri 10-23 is a holiday; Mon 10:00 CET
        at(SKOPJE, 2026, 10, 22, 17),
        2 * HOUR,
        at(SKOPJE, 2026, 10, 26, 10),
        id="skopje-office-fall-and-holiday",
    ),
    pytest.param(
        NY_OFFICE,
        at(NEW_YORK, 2026, 3, 6, 17),
        2 * HOUR,
        at(NEW_YORK, 2026, 3, 9, 10),
        id="ny-office",
    ),
    pytest.param(
        NY_NIGHTS,  # 1h left of Sun night's shift, then Mon 22:00 + 2h
        at(NEW_YORK, 2026, 11, 16, 5),
        3 * HOUR,
        at(NEW_YORK, 2026, 11, 17, 0),
        id="night-shift",
    ),
    pytest.param(
        NY_NIGHTS,  # Fri 05:00 is in Thursday's shift; the next shift starts Sunday 22:00
        at(NEW_YORK, 2026, 11, 20, 5),
        2 * HOUR,
        at(NEW_YORK, 2026, 11, 22, 23),
        id="night-shift-weekend",
    ),
    pytest.param(
        NY_NIGHTS,  # Sat 2026-10-31 has no shift; Sun 22:00 EST after the fall-back
        at(NEW_YORK, 2026, 10, 30, 5, 30),
        HOUR,
        at(NEW_YORK, 2026, 11, 1, 22, 30),
        id="night-shift-fall",
    ),
]


@pytest.mark.parametrize(("calendar", "start", "seconds", "expected"), ADD_CASES)
def test_add_business_seconds_table(
    calendar: CalendarSpec, start: datetime, seconds: int, expected: datetime
) -> None:
    due = add_business_seconds(calendar, start, seconds)
    assert due == expected
    assert due.tzinfo is UTC
    assert business_seconds_between(calendar, start, due) == seconds


def test_issue_p2_friday_1759_with_monday_holiday_is_due_tuesday_1059() -> None:
    office = SKOPJE_OFFICE.model_copy(update={"holiday_dates": [date(2026, 11, 23)]})
    due = add_business_seconds(office, at(SKOPJE, 2026, 11, 20, 17, 59), 2 * HOUR)
    assert due.astimezone(SKOPJE) == at(SKOPJE, 2026, 11, 24, 10, 59)


BETWEEN_CASES = [
    pytest.param(
        SKOPJE_24X7, at(SKOPJE, 2026, 3, 29), at(SKOPJE, 2026, 3, 30), 23 * HOUR, id="skopje-23h"
    ),
    pytest.param(
        SKOPJE_24X7, at(SKOPJE, 2026, 10, 25), at(SKOPJE, 2026, 10, 26), 25 * HOUR, id="skopje-25h"
    ),
    pytest.param(
        NY_24X7, at(NEW_YORK, 2026, 3, 8), at(NEW_YORK, 2026, 3, 9), 23 * HOUR, id="ny-23h"
    ),
    pytest.param(
        NY_24X7, at(NEW_YORK, 2026, 11, 1), at(NEW_YORK, 2026, 11, 2), 25 * HOUR, id="ny-25h"
    ),
    pytest.param(
        UTC_OFFICE, utc(2026, 11, 20, 12), utc(2026, 11, 23, 12), 6 * HOUR + 3 * HOUR, id="weekend"
    ),
    pytest.param(UTC_OFFICE, utc(2026, 11, 23, 12), utc(2026, 11, 20, 12), 0, id="reversed"),
    pytest.param(
        SKOPJE_OFFICE, at(SKOPJE, 2026, 12, 7), at(SKOPJE, 2026, 12, 10), 2 * 9 * HOUR, id="holiday"
    ),
]


@pytest.mark.parametrize(("calendar", "start", "end", "expected"), BETWEEN_CASES)
def test_business_seconds_between_table(
    calendar: CalendarSpec, start: datetime, end: datetime, expected: int
) -> None:
    assert business_seconds_between(calendar, start, end) == expected


def test_business_day_interval_over_dst_nights_has_real_length() -> None:
    # A Saturday night shift 22:00-06:00 lasts 7h over spring-forward and 9h over fall-back.
    saturday_nights = CalendarSpec(
        id="sat", timezone="America/New_York", weekly=weekdays("22:00", "06:00", ("sat",))
    )
    spring = business_seconds_between(
        saturday_nights, at(NEW_YORK, 2026, 3, 7), at(NEW_YORK, 2026, 3, 9)
    )
    fall = business_seconds_between(
        saturday_nights, at(NEW_YORK, 2026, 10, 31), at(NEW_YORK, 2026, 11, 2)
    )
    assert (spring, fall) == (7 * HOUR, 9 * HOUR)
    # A whole-day weekly interval ("00:00"-"00:00") on the 23-hour Sunday in Skopje.
    sundays = CalendarSpec(
        id="sun", timezone="Europe/Skopje", weekly=weekdays("00:00", "00:00", ("sun",))
    )
    assert (
        business_seconds_between(sundays, at(SKOPJE, 2026, 3, 28), at(SKOPJE, 2026, 3, 31))
        == 23 * HOUR
    )


def test_gap_wall_time_maps_forward_and_ambiguous_uses_first_occurrence() -> None:
    # 02:30 does not exist on 2026-03-08 in New York: the interval closes when clocks jump.
    until_0230 = CalendarSpec(
        id="gap", timezone="America/New_York", weekly=weekdays("00:00", "02:30", ("sun",))
    )
    assert (
        business_seconds_between(until_0230, at(NEW_YORK, 2026, 3, 8), at(NEW_YORK, 2026, 3, 9))
        == 2 * HOUR
    )
    # 01:30 happens twice on 2026-11-01: the first (EDT) one closes the interval.
    until_0130 = CalendarSpec(
        id="fold", timezone="America/New_York", weekly=weekdays("00:00", "01:30", ("sun",))
    )
    assert (
        business_seconds_between(until_0130, at(NEW_YORK, 2026, 11, 1), at(NEW_YORK, 2026, 11, 2))
        == 90 * 60
    )
    assert next_open(until_0230, at(NEW_YORK, 2026, 3, 7, 12)) == utc(2026, 3, 8, 5)


def test_holiday_closes_the_night_shift_that_starts_on_it() -> None:
    thursday_off = NY_NIGHTS.model_copy(update={"holiday_dates": [date(2026, 11, 19)]})
    # Wed 22:00 -> Thu 06:00 still runs; Thu 22:00 -> Fri 06:00 does not.
    assert is_open(thursday_off, at(NEW_YORK, 2026, 11, 19, 5))
    assert not is_open(thursday_off, at(NEW_YORK, 2026, 11, 20, 5))
    assert (
        business_seconds_between(
            thursday_off, at(NEW_YORK, 2026, 11, 19), at(NEW_YORK, 2026, 11, 21)
        )
        == 6 * HOUR
    )


def test_pause_over_a_weekend() -> None:
    pause = Interval(start=utc(2026, 11, 20, 17), end=utc(2026, 11, 23, 10))
    due = add_business_seconds(UTC_OFFICE, utc(2026, 11, 20, 16), 4 * HOUR, [pause])
    assert due == utc(2026, 11, 23, 13)
    assert business_seconds_between(UTC_OFFICE, utc(2026, 11, 20, 16), due, [pause]) == 4 * HOUR


def test_overlapping_pauses_count_once() -> None:
    pauses = [
        Interval(start=utc(2026, 11, 23, 10), end=utc(2026, 11, 23, 12)),
        Interval(start=utc(2026, 11, 23, 11), end=utc(2026, 11, 23, 13)),
        Interval(start=utc(2026, 11, 23, 11), end=utc(2026, 11, 23, 11)),
    ]
    start, end = utc(2026, 11, 23, 9), utc(2026, 11, 23, 18)
    assert business_seconds_between(UTC_OFFICE, start, end, pauses) == 6 * HOUR


def test_open_ended_pause_pushes_the_due_time_past_it() -> None:
    pause = Interval(start=utc(2026, 11, 23, 10), end=OPEN_ENDED)
    due = add_business_seconds(UTC_OFFICE, utc(2026, 11, 23, 9), 2 * HOUR, [pause])
    assert due > OPEN_ENDED
    assert business_seconds_between(UTC_OFFICE, utc(2026, 11, 23, 9), OPEN_ENDED, [pause]) == HOUR


def test_is_open_and_next_open() -> None:
    assert is_open(UTC_OFFICE, utc(2026, 11, 23, 9))
    assert not is_open(UTC_OFFICE, utc(2026, 11, 23, 18))
    assert next_open(UTC_OFFICE, utc(2026, 11, 21, 3)) == utc(2026, 11, 23, 9)
    inside = at(SKOPJE, 2026, 11, 23, 10, 15, 30, 250)
    assert next_open(SKOPJE_OFFICE, inside) == inside
    assert next_open(SKOPJE_OFFICE, inside).tzinfo is UTC
    assert is_open(UTC_24X7, utc(2026, 1, 1))


def test_zero_seconds_returns_start_and_microseconds_truncate() -> None:
    start = at(SKOPJE, 2026, 11, 21, 3, 0, 0, 999_999)  # a Saturday: closed
    assert add_business_seconds(SKOPJE_OFFICE, start, 0) == start
    # 09:00:00.7 counts from 09:00:00: due times are whole seconds.
    assert add_business_seconds(UTC_OFFICE, utc(2026, 11, 23, 9, 0, 0, 700_000), 60) == utc(
        2026, 11, 23, 9, 1
    )
    assert (
        business_seconds_between(
            UTC_OFFICE, utc(2026, 11, 23, 9, 0, 0, 900_000), utc(2026, 11, 23, 9, 0, 1, 100_000)
        )
        == 1
    )


def test_rejects_naive_negative_and_never_open() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_seconds(UTC_OFFICE, datetime(2026, 1, 1), 60)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(UTC_OFFICE, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="negative"):
        add_business_seconds(UTC_OFFICE, utc(2026, 1, 1), -1)
    never = CalendarSpec(id="never")
    with pytest.raises(ValueError, match="no open time"):
        add_business_seconds(never, utc(2026, 1, 1), 1)
    with pytest.raises(ValueError, match="no open time"):
        next_open(never, utc(2026, 1, 1))
    assert business_seconds_between(never, utc(2026, 1, 1), utc(2030, 1, 1)) == 0


def test_resolved_snapshot_keeps_the_package_holidays() -> None:
    snapshot = SKOPJE_OFFICE.resolved(2026)
    assert snapshot.holiday_country is None
    assert snapshot.holiday_subdivision is None
    assert date(2026, 12, 8) in snapshot.holiday_dates
    assert date(2028, 1, 1) in snapshot.holiday_dates
    assert all(2026 <= day.year <= 2028 for day in snapshot.holiday_dates)
    assert snapshot.resolved(2026) == snapshot
    assert CalendarSpec.model_validate_json(snapshot.model_dump_json()) == snapshot
    start = at(SKOPJE, 2026, 12, 7, 17)
    assert add_business_seconds(snapshot, start, 20 * HOUR) == add_business_seconds(
        SKOPJE_OFFICE, start, 20 * HOUR
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": "x", "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"id": "x", "weekly": [{"day": "mon", "start": "9am", "end": "18:00"}]}, "invalid time"),
        ({"id": "x", "weekly": [{"day": "mon", "start": "09:00", "end": "25:00"}]}, "invalid time"),
        ({"id": "x", "holiday_subdivision": "14"}, "needs holiday_country"),
        ({"id": "x", "holiday_country": "ZZ"}, "unknown holiday region"),
        (
            {"id": "x", "holiday_country": "MY", "holiday_subdivision": "99"},
            "unknown holiday region",
        ),
        (
            {
                "id": "x",
                "always_open": True,
                "weekly": [{"day": "mon", "start": "09:00", "end": "18:00"}],
            },
            "always_open",
        ),
    ],
)
def test_calendar_spec_validation(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CalendarSpec.model_validate(data)


# --- properties ---------------------------------------------------------------------------

PROPERTY_CALENDARS = [UTC_24X7, SKOPJE_OFFICE, KL_OFFICE, NY_NIGHTS]
FIRST_SECOND = int(utc(2025, 6, 1).timestamp())
LAST_SECOND = int(utc(2027, 6, 1).timestamp())

calendars = st.sampled_from(PROPERTY_CALENDARS)
instants = st.integers(FIRST_SECOND, LAST_SECOND).map(lambda s: datetime.fromtimestamp(s, UTC))
amounts = st.integers(0, 15 * 9 * HOUR)


@st.composite
def pause_lists(draw: st.DrawFn, around: datetime) -> list[Interval]:
    pauses = []
    for _ in range(draw(st.integers(0, 3))):
        offset = draw(st.integers(-3 * 86400, 20 * 86400))
        length = draw(st.integers(0, 5 * 86400))
        start = around + timedelta(seconds=offset)
        pauses.append(Interval(start=start, end=start + timedelta(seconds=length)))
    return pauses


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


@PROPERTY_SETTINGS
@given(calendar=calendars, start=instants, seconds=amounts, data=st.data())
def test_add_then_measure_returns_the_amount(
    calendar: CalendarSpec, start: datetime, seconds: int, data: st.DataObject
) -> None:
    pauses = data.draw(pause_lists(start))
    due = add_business_seconds(calendar, start, seconds, pauses)
    assert due >= start
    assert business_seconds_between(calendar, start, due, pauses) == seconds
    if seconds > 0:
        # The due time is the *earliest* such instant: its previous second is open, unpaused.
        just_before = due - timedelta(seconds=1)
        assert is_open(calendar, just_before)
        assert not any(p.start <= just_before < p.end for p in pauses)
        assert business_seconds_between(calendar, start, just_before, pauses) == seconds - 1


@PROPERTY_SETTINGS
@given(
    calendar=calendars,
    start=instants,
    first=amounts,
    second=amounts,
    shift=st.integers(0, 9 * 86400),
)
def test_add_is_monotonic_in_seconds_and_start(
    calendar: CalendarSpec, start: datetime, first: int, second: int, shift: int
) -> None:
    low, high = sorted((first, second))
    assert add_business_seconds(calendar, start, low) <= add_business_seconds(calendar, start, high)
    later = start + timedelta(seconds=shift)
    assert add_business_seconds(calendar, start, high) <= add_business_seconds(
        calendar, later, high
    )


@PROPERTY_SETTINGS
@given(
    calendar=calendars,
    start=instants,
    lengths=st.tuples(*[st.integers(0, 12 * 86400)] * 2),
    data=st.data(),
)
def test_between_is_additive_and_pauses_never_count(
    calendar: CalendarSpec, start: datetime, lengths: tuple[int, int], data: st.DataObject
) -> None:
    pauses = data.draw(pause_lists(start))
    middle = start + timedelta(seconds=lengths[0])
    end = middle + timedelta(seconds=lengths[1])
    whole = business_seconds_between(calendar, start, end, pauses)
    assert whole == business_seconds_between(
        calendar, start, middle, pauses
    ) + business_seconds_between(calendar, middle, end, pauses)
    assert whole <= business_seconds_between(calendar, start, end)
    for pause in pauses:
        assert business_seconds_between(calendar, pause.start, pause.end, pauses) == 0


@settings(max_examples=40, deadline=None)
@given(calendar=calendars, start=instants.map(lambda moment: moment.replace(second=0)))
def test_between_agrees_with_minute_by_minute_count(
    calendar: CalendarSpec, start: datetime
) -> None:
    # Every boundary here (opening hours, DST changes) falls on a whole minute.
    end = start + timedelta(days=4)
    minutes = sum(
        is_open(calendar, start + timedelta(minutes=minute)) for minute in range(4 * 24 * 60)
    )
    assert business_seconds_between(calendar, start, end) == minutes * 60


@settings(max_examples=100, deadline=None)
@given(calendar=calendars, moment=instants)
def test_next_open_is_open_and_nothing_is_open_before_it(
    calendar: CalendarSpec, moment: datetime
) -> None:
    opening = next_open(calendar, moment)
    assert is_open(calendar, opening)
    assert business_seconds_between(calendar, moment, opening) == 0
