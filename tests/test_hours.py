"""Business hours and business time H1, H2: schedules, holidays, DST, arithmetic."""

from __future__ import annotations

import datetime as dt
import doctest
import zoneinfo
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccdomain.errors import CcdomainError, RuleViolation
from ccdomain.rules import hours
from ccdomain.rules.hours import (
    BusinessCalendar,
    WeeklySchedule,
    add_business,
    business_calendar,
    business_time,
    holidays_spec,
    hours_spec,
    is_holiday,
    is_open,
    next_opening,
    opening_intervals,
    parse_holidays,
    parse_hours,
)

OFFICE = {"mon-fri": ["08:00-18:00"]}


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def lima(**kwargs: Any) -> BusinessCalendar:
    return business_calendar(timezone="America/Lima", hours=OFFICE, region="PE", **kwargs)


def test_H1_H2_module_doctests() -> None:
    assert doctest.testmod(hours).failed == 0


# --- H1 the weekly schedule -------------------------------------------------------------


def test_H1_hours_read_days_day_ranges_and_several_ranges_a_day() -> None:
    schedule = parse_hours({"mon-fri": ["08:00-13:00", "14:00-18:00"], "sat": ["09:00-13:00"]})
    assert schedule.days[0] == ((480, 780), (840, 1080))
    assert schedule.days[4] == schedule.days[0]
    assert schedule.days[5] == ((540, 780),)
    assert schedule.days[6] == ()


def test_H1_touching_ranges_join_and_24_00_ends_the_day() -> None:
    schedule = parse_hours({"sun": ["12:00-24:00", "00:00-12:00"], " Mon ": ["08:00-09:00"]})
    assert schedule.days[6] == ((0, 1440),)
    assert schedule.days[0] == ((480, 540),)


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ({"lun": ["08:00-18:00"]}, ["'lun'", "mon..sun"]),
        ({"fri-mon": ["08:00-18:00"]}, ["'fri-mon'", "week order"]),
        ({"mon-fri": ["08:00-18:00"], "fri": ["09:00-10:00"]}, ["fri", "named twice"]),
        ({"mon": ["8:00-18:00"]}, ["'8:00-18:00'", "HH:MM-HH:MM"]),
        ({"mon": ["18:00-08:00"]}, ["'18:00-08:00'", "start before the end"]),
        ({"mon": ["08:00-24:30"]}, ["'08:00-24:30'", "24:00 at most"]),
        ({"mon": ["24:00-24:00"]}, ["'24:00-24:00'"]),
        ({"mon": ["08:60-09:00"]}, ["'08:60-09:00'"]),
        ({"mon": ["08:00-12:00", "11:00-13:00"]}, ["overlapping", "'11:00-13:00'"]),
        ({"mon": "08:00-18:00"}, ["'08:00-18:00'", "a list of ranges"]),
        ({"mon": []}, ["no range", "always open"]),
        ({}, ["no range"]),
        (["mon", "08:00-18:00"], ["mapping of days"]),
        ({1: ["08:00-18:00"]}, ["day 1"]),
    ],
)
def test_H1_a_bad_hours_declaration_is_refused_naming_the_value(
    value: object, names: list[str]
) -> None:
    with pytest.raises(RuleViolation) as caught:
        parse_hours(value)
    for name in names:
        assert name in str(caught.value)
    assert str(caught.value).startswith("hours")


@given(
    st.lists(
        st.lists(
            st.tuples(st.integers(0, 47), st.integers(1, 48)).filter(lambda r: r[0] < r[1]),
            max_size=3,
        ),
        min_size=7,
        max_size=7,
    )
)
def test_H1_hours_spec_reads_back_as_the_same_schedule(days: list[list[tuple[int, int]]]) -> None:
    spec: dict[str, list[str]] = {}
    for index, ranges in enumerate(days):
        free: list[tuple[int, int]] = []
        for start, end in sorted(ranges):
            if not free or start >= free[-1][1]:
                free.append((start, end))
        if free:
            spec[hours.WEEKDAYS[index]] = [
                f"{s // 2:02d}:{s % 2 * 30:02d}-{e // 2:02d}:{e % 2 * 30:02d}" for s, e in free
            ]
    if not spec:
        return
    schedule = parse_hours(spec)
    assert parse_hours(hours_spec(schedule)) == schedule


def test_H1_holidays_declarations() -> None:
    assert parse_holidays(True) == (True, frozenset())
    assert parse_holidays(False) == (False, frozenset())
    assert parse_holidays(["2026-12-24"]) == (True, frozenset({dt.date(2026, 12, 24)}))
    assert parse_holidays({"public": False, "extra": ["2026-12-31"]}) == (
        False,
        frozenset({dt.date(2026, 12, 31)}),
    )
    for value in (
        True,
        False,
        ["2026-12-24"],
        {"public": False, "extra": ["2026-12-24"]},
    ):
        calendar = business_calendar(
            timezone="America/Lima", hours=OFFICE, region="PE", holidays=value
        )
        assert parse_holidays(holidays_spec(calendar)) == parse_holidays(value)


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("yes", ["'yes'", "true, false"]),
        (["2026-13-01"], ["'2026-13-01'", "YYYY-MM-DD"]),
        ({"public": 1}, ["public 1", "True or False"]),
        ({"extras": []}, ["'extras'", "public, extra"]),
    ],
)
def test_H1_a_bad_holidays_declaration_is_refused_naming_the_value(
    value: object, names: list[str]
) -> None:
    with pytest.raises(RuleViolation) as caught:
        parse_holidays(value)
    for name in names:
        assert name in str(caught.value)


def test_H1_a_calendar_refuses_an_unknown_zone_or_a_region_without_a_holiday_table() -> None:
    with pytest.raises(RuleViolation, match=r"'Mars/Base'.*IANA"):
        business_calendar(timezone="Mars/Base", hours=OFFICE)
    with pytest.raises(RuleViolation, match=r"'XX'.*holidays false"):
        business_calendar(timezone="America/Lima", hours=OFFICE, region="XX")
    calendar = business_calendar(timezone="America/Lima", hours=OFFICE, region="XX", holidays=False)
    assert not is_holiday(calendar, dt.date(2026, 7, 28))


def test_H1_errors_are_ccdomain_errors_whatever_the_input() -> None:
    for call in (
        lambda: is_open("calendar", at("2026-11-20T10:00:00-05:00")),  # type: ignore[arg-type]
        lambda: is_open(lima(), dt.datetime(2026, 11, 20, 10)),
        lambda: is_open(lima(), at("1800-01-01T00:00:00+00:00")),
        lambda: is_holiday(lima(), "2026-11-20"),  # type: ignore[arg-type]
        lambda: business_calendar(timezone="America/Lima", region=5),  # type: ignore[arg-type]
        lambda: add_business(lima(), at("2026-11-20T10:00:00-05:00"), dt.timedelta(-1)),
        lambda: add_business(lima(), at("2026-11-20T10:00:00-05:00"), 60),  # type: ignore[arg-type]
        lambda: BusinessCalendar(timezone="America/Lima", region="XX"),
        lambda: BusinessCalendar(timezone="Nowhere/Land", public_holidays=False),
        lambda: WeeklySchedule(days=((), ())),
        lambda: WeeklySchedule(days=(((600, 500),),) * 7),
        lambda: WeeklySchedule(days=(((0, 60), (60, 120)),) * 7),
    ):
        with pytest.raises(CcdomainError):
            call()


@pytest.mark.parametrize(
    ("region", "zone", "day"),
    [
        ("PE", "America/Lima", dt.date(2026, 7, 28)),  # Independence Day
        ("CO", "America/Bogota", dt.date(2026, 7, 20)),  # Independence Day
        ("CO", "America/Bogota", dt.date(2026, 1, 12)),  # Epiphany, moved to Monday (Ley Emiliani)
        ("ES", "Europe/Madrid", dt.date(2026, 10, 12)),  # Fiesta Nacional
        ("CL", "America/Santiago", dt.date(2026, 9, 18)),  # Fiestas Patrias
        ("MX", "America/Mexico_City", dt.date(2026, 11, 16)),  # Revolution, third Monday
    ],
)
def test_H1_public_holidays_of_the_region_are_closed(region: str, zone: str, day: dt.date) -> None:
    calendar = business_calendar(timezone=zone, hours={"mon-sun": ["08:00-18:00"]}, region=region)
    assert is_holiday(calendar, day)
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=zoneinfo.ZoneInfo(zone))
    assert not is_open(calendar, noon)
    assert opening_intervals(calendar, day) == ()
    without = business_calendar(
        timezone=zone, hours={"mon-sun": ["08:00-18:00"]}, region=region, holidays=False
    )
    assert is_open(without, noon)


def test_H1_extra_dates_are_closed_as_well_as_public_holidays() -> None:
    calendar = lima(holidays=["2026-11-23"])
    assert is_holiday(calendar, dt.date(2026, 11, 23))
    assert is_holiday(calendar, dt.date(2026, 7, 28))
    assert not is_open(calendar, at("2026-11-23T10:00:00-05:00"))


def test_H1_no_hours_is_always_open_holidays_included() -> None:
    calendar = business_calendar(timezone="America/Lima", region="PE")
    assert is_open(calendar, at("2026-07-28T03:00:00-05:00"))
    start, end = at("2026-07-27T00:00:00-05:00"), at("2026-07-30T00:00:00-05:00")
    assert business_time(calendar, start, end) == end - start


def test_H1_is_open_includes_the_start_and_excludes_the_end_in_local_time() -> None:
    calendar = lima()
    assert not is_open(calendar, at("2026-11-20T07:59:59.999999-05:00"))
    assert is_open(calendar, at("2026-11-20T08:00:00-05:00"))
    assert is_open(calendar, at("2026-11-20T13:00:00Z"))  # 08:00 in Lima
    assert is_open(calendar, at("2026-11-20T17:59:59.999999-05:00"))
    assert not is_open(calendar, at("2026-11-20T18:00:00-05:00"))
    assert not is_open(calendar, at("2026-11-21T10:00:00-05:00"))  # Saturday


def test_H1_next_opening_skips_the_weekend_and_a_holiday_monday() -> None:
    friday = at("2026-11-20T18:00:00-05:00")
    assert next_opening(lima(), friday) == at("2026-11-23T08:00:00-05:00")
    assert next_opening(lima(holidays=["2026-11-23"]), friday) == at("2026-11-24T08:00:00-05:00")
    assert next_opening(lima(), at("2026-11-20T09:00:00-05:00")) == at("2026-11-20T09:00:00-05:00")
    assert next_opening(lima(), friday).utcoffset() == dt.timedelta(hours=-5)


def test_H1_a_calendar_that_never_opens_is_refused() -> None:
    first_sunday = dt.date(2026, 1, 4)
    sundays = frozenset(first_sunday + dt.timedelta(weeks=n) for n in range(52 * 12))
    never = business_calendar(
        timezone="America/Lima", hours={"sun": ["08:00-09:00"]}, holidays=False
    )
    never = BusinessCalendar(
        timezone=never.timezone, hours=never.hours, public_holidays=False, extra_holidays=sundays
    )
    start = at("2026-01-01T00:00:00-05:00")
    with pytest.raises(RuleViolation, match="does not open within ten years"):
        next_opening(never, start)
    with pytest.raises(RuleViolation, match="9999"):
        add_business(never, start, dt.timedelta(hours=1))
    with pytest.raises(RuleViolation, match="9999"):
        add_business(lima(), start, dt.timedelta(days=3_000_000))


# --- H1 daylight saving -------------------------------------------------------------------


def test_H1_DST_a_range_starting_in_the_skipped_hour_opens_when_the_clock_jumps() -> None:
    # Madrid, 29 March 2026: 02:00 CET becomes 03:00 CEST.
    madrid = business_calendar(
        timezone="Europe/Madrid", hours={"sun": ["02:30-05:00"]}, holidays=False
    )
    ((start, end),) = opening_intervals(madrid, dt.date(2026, 3, 29))
    assert start == at("2026-03-29T03:00:00+02:00")
    assert end == at("2026-03-29T05:00:00+02:00")
    assert not is_open(madrid, at("2026-03-29T00:59:59+00:00"))
    assert is_open(madrid, at("2026-03-29T01:00:00+00:00"))
    assert business_time(madrid, at("2026-03-29T00:00:00Z"), at("2026-03-30T00:00:00Z")) == (
        dt.timedelta(hours=2)
    )


def test_H1_DST_a_repeated_hour_is_open_both_times_its_clock_is_in_range() -> None:
    # Madrid, 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:00-02:59 happens twice.
    madrid = business_calendar(
        timezone="Europe/Madrid", hours={"sun": ["02:30-05:00"]}, holidays=False
    )
    intervals = opening_intervals(madrid, dt.date(2026, 10, 25))
    assert [(s.astimezone(dt.UTC), e.astimezone(dt.UTC)) for s, e in intervals] == [
        (at("2026-10-25T00:30:00Z"), at("2026-10-25T01:00:00Z")),  # 02:30-03:00 CEST
        (at("2026-10-25T01:30:00Z"), at("2026-10-25T04:00:00Z")),  # 02:30-05:00 CET
    ]
    assert not is_open(madrid, at("2026-10-25T01:15:00Z"))  # 02:15 CET, second pass
    assert is_open(madrid, at("2026-10-25T00:45:00Z"))  # 02:45 CEST, first pass
    day = business_time(madrid, at("2026-10-25T00:00:00Z"), at("2026-10-26T00:00:00Z"))
    assert day == dt.timedelta(hours=3)


def test_H1_DST_santiago_a_day_that_starts_at_one_is_23_hours_open() -> None:
    # Chile, 6 September 2026: midnight does not happen, the clock jumps to 01:00.
    santiago = business_calendar(
        timezone="America/Santiago", hours={"mon-sun": ["00:00-24:00"]}, holidays=False
    )
    ((start, end),) = opening_intervals(santiago, dt.date(2026, 9, 6))
    assert start == at("2026-09-06T01:00:00-03:00")
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=23)
    assert next_opening(santiago, at("2026-09-06T03:30:00Z")) == at("2026-09-06T03:30:00Z")


def test_H1_DST_mexico_city_before_2023_keeps_wall_clock_hours() -> None:
    # Mexico City, 3 April 2022: 02:00 CST became 03:00 CDT (DST ended there in 2022).
    mexico = business_calendar(
        timezone="America/Mexico_City", hours={"sat-sun": ["08:00-18:00"]}, holidays=False
    )
    ((start, end),) = opening_intervals(mexico, dt.date(2022, 4, 3))
    assert start == at("2022-04-03T08:00:00-05:00")
    assert end == at("2022-04-03T18:00:00-05:00")
    saturday = at("2022-04-02T12:00:00-06:00")
    sunday = at("2022-04-03T12:00:00-05:00")
    assert sunday - saturday == dt.timedelta(hours=23)
    assert business_time(mexico, saturday, sunday) == dt.timedelta(hours=10)
    assert add_business(mexico, saturday, dt.timedelta(hours=10)) == sunday


# --- H2 business time -----------------------------------------------------------------------


def test_H2_friday_17_55_plus_30_business_minutes_is_monday_08_25() -> None:
    friday = at("2026-11-20T17:55:00-05:00")
    due = add_business(lima(), friday, dt.timedelta(minutes=30))
    assert due == at("2026-11-23T08:25:00-05:00")
    assert due.isoformat() == "2026-11-23T08:25:00-05:00"
    assert business_time(lima(), friday, due) == dt.timedelta(minutes=30)


def test_H2_a_holiday_monday_moves_the_due_instant_to_tuesday() -> None:
    friday = at("2026-11-20T17:55:00-05:00")
    calendar = lima(holidays=["2026-11-23"])
    assert add_business(calendar, friday, dt.timedelta(minutes=30)) == at(
        "2026-11-24T08:25:00-05:00"
    )


def test_H2_DST_santiago_business_time_across_the_change_counts_wall_clock_hours() -> None:
    santiago = business_calendar(
        timezone="America/Santiago", hours={"mon-sun": ["08:00-18:00"]}, region="CL"
    )
    saturday = at("2026-09-05T12:00:00-04:00")
    sunday = at("2026-09-06T12:00:00-03:00")
    assert sunday - saturday == dt.timedelta(hours=23)
    assert business_time(santiago, saturday, sunday) == dt.timedelta(hours=10)
    due = add_business(santiago, saturday, dt.timedelta(hours=10))
    assert due.isoformat() == "2026-09-06T12:00:00-03:00"


def test_H2_zero_between_an_end_not_after_the_start_and_zero_business_time_is_the_start() -> None:
    friday = at("2026-11-20T19:00:00-05:00")
    assert business_time(lima(), friday, friday) == dt.timedelta(0)
    assert business_time(lima(), friday, friday - dt.timedelta(days=3)) == dt.timedelta(0)
    assert add_business(lima(), friday, dt.timedelta(0)) == friday


def test_H2_business_time_over_years_adds_the_spans() -> None:
    calendar = lima()
    start, end = at("2024-01-01T00:00:00-05:00"), at("2027-01-01T00:00:00-05:00")
    total = business_time(calendar, start, end)
    by_year = sum(
        (
            business_time(
                calendar, at(f"{year}-01-01T00:00:00-05:00"), at(f"{year + 1}-01-01T00:00:00-05:00")
            )
            for year in (2024, 2025, 2026)
        ),
        dt.timedelta(0),
    )
    assert total == by_year
    assert add_business(calendar, start, total) == at("2026-12-31T18:00:00-05:00")


# --- H2 properties ------------------------------------------------------------------------

_ZONES = [
    ("America/Lima", "PE"),
    ("America/Bogota", "CO"),
    ("Europe/Madrid", "ES"),
    ("America/Santiago", "CL"),
    ("America/Mexico_City", "MX"),
]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    zone, region = draw(st.sampled_from(_ZONES))
    spec: dict[str, list[str]] = {}
    for day in hours.WEEKDAYS:
        cuts = sorted(draw(st.sets(st.integers(0, 96), max_size=4)))
        ranges = [
            f"{a // 4:02d}:{a % 4 * 15:02d}-{b // 4:02d}:{b % 4 * 15:02d}"
            for a, b in zip(cuts[::2], cuts[1::2], strict=False)
        ]
        if ranges:
            spec[day] = ranges
    if not spec:
        spec = {"mon": ["00:00-24:00"]}
    extra = draw(st.lists(st.dates(dt.date(2022, 1, 1), dt.date(2026, 12, 31)), max_size=3))
    return business_calendar(
        timezone=zone,
        hours=spec,
        region=region,
        holidays={"public": draw(st.booleans()), "extra": [d.isoformat() for d in extra]},
    )


# Around the DST changes of 2021-2027 in these zones, and anywhere in between.
_CHANGES = [
    dt.datetime(2022, 4, 3, 8, tzinfo=dt.UTC),
    dt.datetime(2022, 10, 30, 7, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 25, 1, tzinfo=dt.UTC),
    dt.datetime(2026, 4, 5, 3, tzinfo=dt.UTC),
    dt.datetime(2026, 9, 6, 4, tzinfo=dt.UTC),
]
instants = st.one_of(
    st.builds(
        lambda change, seconds: change + dt.timedelta(seconds=seconds),
        st.sampled_from(_CHANGES),
        st.integers(-3 * 86_400, 3 * 86_400),
    ),
    st.datetimes(dt.datetime(2022, 1, 1), dt.datetime(2026, 12, 31)).map(
        lambda moment: moment.replace(tzinfo=dt.UTC)
    ),
)


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, instants, instants)
def test_H2_business_time_is_additive_and_never_more_than_wall_time(
    calendar: BusinessCalendar, a: dt.datetime, b: dt.datetime, c: dt.datetime
) -> None:
    first, middle, last = sorted((a, b, c))
    whole = business_time(calendar, first, last)
    assert whole == business_time(calendar, first, middle) + business_time(calendar, middle, last)
    assert dt.timedelta(0) <= whole <= last - first


@settings(max_examples=150, deadline=None)
@given(calendars(), instants)
def test_H2_zero_while_closed_and_is_open_agrees_with_business_time(
    calendar: BusinessCalendar, moment: dt.datetime
) -> None:
    moment = moment.replace(microsecond=0)
    second = dt.timedelta(seconds=1)
    assert is_open(calendar, moment) == (
        business_time(calendar, moment, moment + second) > dt.timedelta(0)
    )
    opening = next_opening(calendar, moment)
    assert opening >= moment
    assert business_time(calendar, moment, opening) == dt.timedelta(0)
    assert is_open(calendar, opening)


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, instants)
def test_H2_add_business_of_the_business_time_reaches_the_same_business_instant(
    calendar: BusinessCalendar, a: dt.datetime, b: dt.datetime
) -> None:
    start, end = sorted((a, b))
    spent = business_time(calendar, start, end)
    due = add_business(calendar, start, spent)
    assert start <= due <= end
    assert business_time(calendar, start, due) == spent
    assert business_time(calendar, due, end) == dt.timedelta(0)
    if spent and is_open(calendar, end - dt.timedelta(microseconds=1)):
        # Inside an open interval (not at its start), nothing is left to reach.
        assert due == end
