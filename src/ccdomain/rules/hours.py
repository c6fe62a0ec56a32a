"""Business hours and business time: pure rules (H1, H2).

A :class:`BusinessCalendar` is a campaign's weekly schedule in its time zone,
less its holidays. Records in, values out; every instant is a parameter, never
the wall clock.

- H1 :func:`parse_hours` reads ``{"mon-fri": ["08:00-13:00", "14:00-18:00"],
  "sat": ["09:00-13:00"]}`` into a :class:`WeeklySchedule`;
  :func:`business_calendar` adds the time zone and the holidays (the region's
  public holidays from the ``holidays`` package, by default, plus extra
  ``YYYY-MM-DD`` dates); :func:`is_holiday`, :func:`is_open`,
  :func:`opening_intervals` and :func:`next_opening` answer "is it open".
  No hours means always open.
- H2 :func:`business_time` counts the time inside business hours between two
  instants; :func:`add_business` finds the instant a number of business
  seconds after another (a due instant).

Decisions
---------
- H1 Wall clock: an instant is open when the local wall clock at it, on its
  local date, reads inside one of that weekday's ranges and the date is not a
  holiday. A range is ``HH:MM-HH:MM``, start included, end excluded; ``24:00``
  ends a range at midnight. Ranges of one day may not overlap; touching ranges
  are joined. A day (or day range such as ``mon-fri``; in week order,
  ``mon`` .. ``sun``) is named at most once.
- H1 Daylight saving: wall-clock times that do not exist (the hour skipped
  when clocks go forward) are never open, so a range that starts inside the
  gap opens when the clock jumps; wall-clock times that happen twice (the hour
  repeated when clocks go back) are open both times, so a range across it
  lasts longer by the repeated part. Business time follows from the same
  rule, so :func:`is_open` and :func:`business_time` always agree.
- H1 Holidays: the region's public holidays are the ``holidays`` package's
  table for the region (its ``public`` category, observed days included, as
  that country's law moves them); a region the package does not know is
  refused unless ``"holidays": false``. ``"holidays"`` is ``true`` (the
  default), ``false``, a list of extra dates (public holidays plus these) or
  ``{"public": BOOL, "extra": [DATES]}``.
- H2 Business time is exact to the microsecond; between an end that is not
  after the start it is zero. :func:`add_business` returns the earliest
  instant at which that much business time has passed, with the calendar's
  local UTC offset as a fixed offset (``-05:00``, as event files write times:
  a ``ZoneInfo`` datetime in a repeated hour compares unequal to the same
  instant elsewhere); zero business time after ``start`` is ``start`` itself.
- H2 Instants are supported from 1901 to 9998 (UTC years); a calendar that
  never opens within ten years of an instant is refused by
  :func:`next_opening` and :func:`add_business`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import re
import zoneinfo
from collections.abc import Mapping

import attrs
import holidays as _holidays

from ccdomain import checks
from ccdomain.errors import CcdomainError, RuleViolation, show

__all__ = [
    "WEEKDAYS",
    "BusinessCalendar",
    "WeeklySchedule",
    "add_business",
    "business_calendar",
    "business_time",
    "holidays_spec",
    "hours_spec",
    "is_holiday",
    "is_open",
    "next_opening",
    "opening_intervals",
    "parse_holidays",
    "parse_hours",
]

Error = type[CcdomainError]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""The day names of an ``hours`` declaration, Monday first (``datetime.weekday()`` order)."""

_RANGE = re.compile(r"([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})")
_DAY_MINUTES = 24 * 60
_SECOND_US = 1_000_000
_DAY_S = 86_400
_UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_NAIVE_EPOCH = dt.datetime(1970, 1, 1)
_MICRO = dt.timedelta(microseconds=1)
# Offsets of every zone in the tz database lie within +-15 hours (LMT included):
# the instants whose wall clock is on a given date lie within this of that date.
_REACH_S = 15 * 3600
# Business time is summed over tables of this many microseconds (64 days): a
# month apart is one or two tables, each built once per calendar (about 1 ms).
_SPAN_US = 64 * _DAY_S * _SECOND_US
_FIRST = dt.datetime(1901, 1, 1, tzinfo=_UTC)
_LAST = dt.datetime(9998, 12, 31, tzinfo=_UTC)
_LAST_US = (_LAST - _EPOCH) // _MICRO
_SEARCH_SPANS = 58  # 58 spans of 64 days: "never opens within ten years"


@attrs.frozen(cache_hash=True)
class WeeklySchedule:
    """Business hours of a week (H1): for each weekday, Monday first, its ranges.

    Each range is ``(start, end)`` in minutes after local midnight, start
    included, end excluded (``end`` up to 1440, midnight). Ranges are sorted,
    disjoint and not touching. Build one with :func:`parse_hours`.
    """

    days: tuple[tuple[tuple[int, int], ...], ...]

    def __attrs_post_init__(self) -> None:
        fine = (
            isinstance(self.days, tuple)
            and len(self.days) == 7
            and all(isinstance(day, tuple) for day in self.days)
        )
        for day in self.days if fine else ():
            bounds = [bound for pair in day for bound in pair] if day else []
            fine = (
                fine
                and all(isinstance(pair, tuple) and len(pair) == 2 for pair in day)
                and all(type(bound) is int and 0 <= bound <= _DAY_MINUTES for bound in bounds)
            )
            fine = fine and all(a < b for a, b in itertools.pairwise(bounds))
        if not fine:
            raise RuleViolation(
                f"days {show(self.days)} is not valid: expected 7 tuples of sorted, disjoint "
                "(start, end) minutes from 0 to 1440; parse_hours builds them"
            )


@attrs.frozen(cache_hash=True)
class BusinessCalendar:
    """A campaign's business hours in its time zone, less its holidays (H1).

    ``hours`` is ``None`` when the campaign is always open. ``region`` (ISO
    3166 alpha-2) chooses the public holiday table when ``public_holidays``;
    ``extra_holidays`` are closed dates of the campaign's own. Hashable, so
    the day tables computed from it are cached. Build one with
    :func:`business_calendar`.
    """

    timezone: str
    hours: WeeklySchedule | None = None
    region: str = ""
    public_holidays: bool = True
    extra_holidays: frozenset[dt.date] = frozenset()

    def __attrs_post_init__(self) -> None:
        if checks.timezone(self.timezone) != self.timezone:
            raise RuleViolation(
                f"timezone {show(self.timezone)} is padded: expected an IANA name as is"
            )
        if self.hours is not None:
            checks.instance(self.hours, WeeklySchedule, "hours")
        checks.flag(self.public_holidays, "public_holidays")
        if self.public_holidays and self.region not in _supported_regions():
            raise RuleViolation(
                f"region {show(self.region)} has no public holiday table in the holidays "
                "package: expected a region such as 'PE', 'CO', 'ES', 'CL' or 'MX', or "
                "public_holidays False"
            )
        extra = checks.instance(self.extra_holidays, frozenset, "extra_holidays")
        for day in extra:
            checks.day(day, "extra_holidays day")


def _day_names(key: object, field: str, error: Error) -> tuple[int, ...]:
    expected = "expected a day mon..sun or a range in week order such as 'mon-fri'"
    if not isinstance(key, str):
        raise error(f"{field} day {show(key)} is not valid: {expected}")
    spelled = key.strip().lower()
    first, dash, last = spelled.partition("-")
    if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
        raise error(f"{field} day {show(key)} is not valid: {expected}")
    start = WEEKDAYS.index(first)
    end = WEEKDAYS.index(last) if dash else start
    if end < start:
        raise error(f"{field} day {show(key)} runs backwards: {expected}")
    return tuple(range(start, end + 1))


def _time_range(value: object, field: str, error: Error) -> tuple[int, int]:
    expected = "expected 'HH:MM-HH:MM' with the start before the end, such as '08:00-13:00'"
    match = _RANGE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise error(f"{field} range {show(value)} is not valid: {expected}")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > _DAY_MINUTES or end <= start:
        raise error(f"{field} range {show(value)} is not valid: {expected} (24:00 at most)")
    return start, end


def parse_hours(
    value: object, field: str = "hours", error: Error = RuleViolation
) -> WeeklySchedule:
    """The weekly schedule an ``hours`` declaration describes (H1).

    >>> parse_hours({"mon-fri": ["08:00-13:00", "14:00-18:00"], "sat": ["09:00-13:00"]}).days[5]
    ((540, 780),)

    Raises:
        CcdomainError: ``error``, naming the value: not a mapping, no day with a
            range, an unknown day or a backwards day range, a day named twice, a
            range that is not ``HH:MM-HH:MM`` in order, or ranges that overlap.
    """
    if not isinstance(value, Mapping):
        raise error(
            f"{field} {show(value)} is not valid: expected a mapping of days to ranges, "
            'such as {"mon-fri": ["08:00-18:00"]}'
        )
    days: list[list[tuple[int, int]] | None] = [None] * 7
    for key, ranges in value.items():
        named = _day_names(key, field, error)
        if isinstance(ranges, str) or not isinstance(ranges, list | tuple):
            raise error(
                f"{field} {key!s} {show(ranges)} is not valid: expected a list of ranges "
                "such as ['08:00-13:00']"
            )
        parsed = sorted(_time_range(item, field, error) for item in ranges)
        for (_, end), (start, _) in itertools.pairwise(parsed):
            if start < end:
                raise error(
                    f"{field} {key!s} {show(ranges)} has overlapping ranges: expected "
                    "ranges that do not overlap"
                )
        for index in named:
            if days[index] is not None:
                raise error(
                    f"{field} day {WEEKDAYS[index]} is named twice (in {show(key)}): "
                    "expected each day at most once"
                )
            days[index] = parsed
    if not any(days):
        raise error(
            f"{field} {show(value)} has no range: expected at least one day with hours "
            "(leave hours out for always open)"
        )
    return WeeklySchedule(days=tuple(_joined(day or []) for day in days))


def _joined(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    joined: list[tuple[int, int]] = []
    for start, end in ranges:
        if joined and joined[-1][1] == start:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return tuple(joined)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def hours_spec(schedule: WeeklySchedule) -> dict[str, list[str]]:
    """The ``hours`` declaration of ``schedule``: :func:`parse_hours` reads it back (H1).

    Consecutive days with the same ranges are one day range (``"mon-fri"``);
    days without hours are left out.

    >>> hours_spec(parse_hours({"mon": ["08:00-12:00"], "tue-fri": ["08:00-12:00"]}))
    {'mon-fri': ['08:00-12:00']}
    """
    spec: dict[str, list[str]] = {}
    index = 0
    while index < 7:
        last = index
        while last + 1 < 7 and schedule.days[last + 1] == schedule.days[index]:
            last += 1
        if schedule.days[index]:
            key = WEEKDAYS[index] if last == index else f"{WEEKDAYS[index]}-{WEEKDAYS[last]}"
            spec[key] = [f"{_clock(start)}-{_clock(end)}" for start, end in schedule.days[index]]
        index = last + 1
    return spec


def parse_holidays(
    value: object, field: str = "holidays", error: Error = RuleViolation
) -> tuple[bool, frozenset[dt.date]]:
    """``(public, extra)`` from a ``holidays`` declaration (H1).

    ``true`` or ``false`` (the region's public holidays or not), a list of
    ``YYYY-MM-DD`` dates (the public holidays plus these), or
    ``{"public": BOOL, "extra": [DATES]}``.

    >>> parse_holidays(["2026-12-24"])
    (True, frozenset({datetime.date(2026, 12, 24)}))

    Raises:
        CcdomainError: ``error``, naming the value, for any other shape or a bad date.
    """
    if isinstance(value, bool):
        return value, frozenset()
    if isinstance(value, Mapping):
        fields = checks.mapping(value, field, error, keys=("public", "extra"))
        public = checks.flag(fields.get("public", True), f"{field} public", error)
        extra = fields.get("extra", [])
    elif isinstance(value, list | tuple):
        public, extra = True, value
    else:
        raise error(
            f"{field} {show(value)} is not valid: expected true, false, a list of dates "
            'YYYY-MM-DD or {"public": true, "extra": [...]}'
        )
    dates = checks.items(extra, f"{field} extra", error)
    return public, frozenset(checks.iso_date(item, f"{field} date", error) for item in dates)


def holidays_spec(calendar: BusinessCalendar) -> bool | list[str] | dict[str, object]:
    """The ``holidays`` declaration of ``calendar``: :func:`parse_holidays` reads it back (H1)."""
    extra = sorted(day.isoformat() for day in calendar.extra_holidays)
    if not extra:
        return calendar.public_holidays
    if calendar.public_holidays:
        return extra
    return {"public": False, "extra": extra}


@functools.cache
def _supported_regions() -> frozenset[str]:
    return frozenset(code for code in _holidays.list_supported_countries() if len(code) == 2)


def business_calendar(
    *,
    timezone: str,
    hours: object = None,
    region: str = "",
    holidays: object = True,
    error: Error = RuleViolation,
) -> BusinessCalendar:
    """A campaign's business calendar from its declarations (H1).

    Args:
        timezone: the campaign's IANA time zone.
        hours: an ``hours`` declaration (see :func:`parse_hours`), a
            :class:`WeeklySchedule`, or ``None`` for always open.
        region: the campaign's region (ISO 3166 alpha-2): its public holidays.
        holidays: a ``holidays`` declaration (see :func:`parse_holidays`).
        error: the error class to raise.

    Raises:
        CcdomainError: ``error``: a bad declaration, an unknown time zone, or
            public holidays asked of a region the ``holidays`` package has no
            table for.

    >>> calendar = business_calendar(timezone="America/Lima", hours={"mon-fri": ["08:00-18:00"]},
    ...                              region="PE", holidays=["2026-12-24"])
    >>> is_open(calendar, dt.datetime.fromisoformat("2026-12-24T10:00:00-05:00"))
    False
    """
    zone = checks.timezone(timezone, "timezone", error)
    schedule = (
        hours
        if hours is None or isinstance(hours, WeeklySchedule)
        else parse_hours(hours, "hours", error)
    )
    public, extra = parse_holidays(holidays, "holidays", error)
    if not isinstance(region, str):
        raise error(f"region {show(region)} is not valid: expected an ISO 3166 alpha-2 code")
    code = region.strip().upper()
    if public and code not in _supported_regions():
        raise error(
            f"region {show(region)} has no public holiday table in the holidays package: "
            "expected a region such as 'PE', 'CO', 'ES', 'CL' or 'MX', or holidays false"
        )
    return BusinessCalendar(
        timezone=zone,
        hours=schedule,
        region=code,
        public_holidays=public,
        extra_holidays=extra,
    )


@functools.lru_cache(maxsize=512)
def _public_holidays(region: str, year: int) -> frozenset[dt.date]:
    table = _holidays.country_holidays(region, years=year, categories=("public",))
    return frozenset(day for day in table if day.year == year)


def is_holiday(calendar: BusinessCalendar, day: dt.date) -> bool:
    """Whether ``day`` is closed all day as a holiday of ``calendar`` (H1).

    >>> pe = business_calendar(timezone="America/Lima", region="PE")
    >>> is_holiday(pe, dt.date(2026, 7, 28)), is_holiday(pe, dt.date(2026, 7, 27))
    (True, False)
    """
    day = checks.day(day, "day")
    if day in calendar.extra_holidays:
        return True
    return calendar.public_holidays and day in _public_holidays(calendar.region, day.year)


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def _offset_s(zone: zoneinfo.ZoneInfo, instant_s: int) -> int:
    offset = dt.datetime.fromtimestamp(instant_s, zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _transition_s(zone: zoneinfo.ZoneInfo, low: int, high: int, before: int) -> int:
    # The first second in (low, high] whose offset is no longer ``before``.
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_s(zone, middle) == before:
            low = middle
        else:
            high = middle
    return high


@functools.lru_cache(maxsize=4096)
def _day_seconds(calendar: BusinessCalendar, day: dt.date) -> tuple[tuple[int, int], ...]:
    """The open intervals of local date ``day``, in seconds since the epoch (UTC)."""
    # No hours is always open, holidays included (H1).
    if calendar.hours is None:
        ranges: tuple[tuple[int, int], ...] = ((0, _DAY_MINUTES),)
    else:
        ranges = calendar.hours.days[day.weekday()]
        if not ranges or is_holiday(calendar, day):
            return ()
    zone = _zone(calendar.timezone)
    # ``midnight`` is the date's wall clock read as if it were UTC: an instant u
    # is on it at wall second w when u + offset(u) == midnight + w.
    midnight = (dt.datetime(day.year, day.month, day.day) - _NAIVE_EPOCH) // dt.timedelta(seconds=1)
    low, high = midnight - _REACH_S, midnight + _DAY_S + _REACH_S
    before, after = _offset_s(zone, low), _offset_s(zone, high)
    # Offset segments over the reach of the day: one, or two around a change
    # (zones change offset at most once within a day and a half).
    if before == after:
        segments = [(low, high, before)]
    else:
        change = _transition_s(zone, low, high, before)
        segments = [(low, change, before), (change, high, after)]
    found: list[tuple[int, int]] = []
    for start, end in ranges:
        for seg_low, seg_high, offset in segments:
            first = max(seg_low, midnight + start * 60 - offset)
            last = min(seg_high, midnight + end * 60 - offset)
            if first < last:
                if found and found[-1][1] == first:
                    found[-1] = (found[-1][0], last)
                else:
                    found.append((first, last))
    return tuple(sorted(found))


def _instant(value: object, field: str) -> dt.datetime:
    at = checks.aware(value, field)
    if not _FIRST <= at <= _LAST:
        raise RuleViolation(
            f"{field} {show(value)} is out of range: expected an instant between 1901 and 9998"
        )
    return at


def _calendar(value: object) -> BusinessCalendar:
    return checks.instance(value, BusinessCalendar, "calendar")


def opening_intervals(
    calendar: BusinessCalendar, day: dt.date
) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    """The open intervals ``[start, end)`` of local date ``day``, at local offsets (H1).

    Empty on a holiday or a day without hours. A DST change inside a range
    makes its interval shorter or longer (and, across a repeated hour, may
    split it in two), as the wall clock reads.

    >>> madrid = business_calendar(timezone="Europe/Madrid", hours={"sun": ["00:00-24:00"]},
    ...                            holidays=False)
    >>> ((start, end),) = opening_intervals(madrid, dt.date(2026, 3, 29))
    >>> start.isoformat(), end.isoformat()
    ('2026-03-29T00:00:00+01:00', '2026-03-30T00:00:00+02:00')

    (23 hours apart.) Instants come back with the local UTC offset as a fixed
    offset, as event files write times, so they compare and subtract as instants.
    """
    calendar = _calendar(calendar)
    day = checks.day(day, "day")
    zone = _zone(calendar.timezone)
    return tuple(
        (
            _fixed(_EPOCH + dt.timedelta(seconds=start), zone),
            _fixed(_EPOCH + dt.timedelta(seconds=end), zone),
        )
        for start, end in _day_seconds(calendar, day)
    )


def is_open(calendar: BusinessCalendar, at: dt.datetime) -> bool:
    """Whether ``calendar`` is open at instant ``at`` (H1).

    The wall clock at ``at`` in the calendar's zone, on its local date, reads
    inside one of that weekday's ranges and the date is not a holiday.

    >>> lima = business_calendar(timezone="America/Lima", hours={"mon-fri": ["08:00-18:00"]},
    ...                          region="PE")
    >>> is_open(lima, dt.datetime.fromisoformat("2026-11-20T17:59:59-05:00"))
    True
    >>> is_open(lima, dt.datetime.fromisoformat("2026-11-20T18:00:00-05:00"))
    False
    """
    calendar = _calendar(calendar)
    at = _instant(at, "at")
    if calendar.hours is None:
        return True
    local = at.astimezone(_zone(calendar.timezone))
    if is_holiday(calendar, local.date()):
        return False
    # Ranges start and end on whole minutes: the microseconds never decide.
    second = local.hour * 3600 + local.minute * 60 + local.second
    return any(
        start * 60 <= second < end * 60 for start, end in calendar.hours.days[local.weekday()]
    )


@attrs.frozen
class _Span:
    """The open intervals within one table span, with running totals (microseconds)."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    # done[i]: business time of the span before interval i ends (so done[-1] is the total).
    done: tuple[int, ...]

    def elapsed(self, at: int) -> int:
        """Business time from the span's start to ``at`` (inside the span)."""
        index = bisect.bisect_right(self.starts, at) - 1
        if index < 0:
            return 0
        return self.done[index] - max(0, self.ends[index] - at)


@functools.lru_cache(maxsize=128)
def _span(calendar: BusinessCalendar, number: int) -> _Span:
    low, high = number * _SPAN_US, (number + 1) * _SPAN_US
    first = (_EPOCH + dt.timedelta(microseconds=low)).date() - dt.timedelta(days=1)
    last = (_EPOCH + dt.timedelta(microseconds=high)).date() + dt.timedelta(days=1)
    intervals: list[tuple[int, int]] = []
    day = first
    while day <= last:
        for start_s, end_s in _day_seconds(calendar, day):
            start, end = max(low, start_s * _SECOND_US), min(high, end_s * _SECOND_US)
            if start < end:
                intervals.append((start, end))
        day += dt.timedelta(days=1)
    intervals.sort()
    starts: list[int] = []
    ends: list[int] = []
    done: list[int] = []
    total = 0
    for start, end in intervals:
        if ends and ends[-1] == start:
            ends[-1] = end
        else:
            starts.append(start)
            ends.append(end)
            done.append(total)
        total += end - start
        done[-1] = total
    return _Span(starts=tuple(starts), ends=tuple(ends), done=tuple(done))


def _us(at: dt.datetime) -> int:
    return (at - _EPOCH) // _MICRO


def _fixed(moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    local = moment.astimezone(zone)
    offset = local.utcoffset()
    # A fixed offset, as event files write times: a zone's datetime inside a
    # repeated hour (fold=1) compares unequal to the same instant in another
    # zone, and two of one zone subtract by their wall clocks.
    return local.replace(tzinfo=dt.timezone(offset) if offset else _UTC, fold=0)


def _back(instant: int, calendar: BusinessCalendar) -> dt.datetime:
    return _fixed(_EPOCH + dt.timedelta(microseconds=instant), _zone(calendar.timezone))


def next_opening(calendar: BusinessCalendar, at: dt.datetime) -> dt.datetime:
    """The first instant at or after ``at`` when ``calendar`` is open, at its local offset (H1).

    ``at`` itself when it is open.

    >>> lima = business_calendar(timezone="America/Lima", hours={"mon-fri": ["08:00-18:00"]},
    ...                          region="PE")
    >>> next_opening(lima, dt.datetime.fromisoformat("2026-11-20T18:30:00-05:00")).isoformat()
    '2026-11-23T08:00:00-05:00'

    Raises:
        RuleViolation: the calendar does not open within ten years of ``at``.
    """
    calendar = _calendar(calendar)
    instant = _us(_instant(at, "at"))
    number = instant // _SPAN_US
    for offset in range(_SEARCH_SPANS):
        if (number + offset) * _SPAN_US >= _LAST_US:
            break
        span = _span(calendar, number + offset)
        index = bisect.bisect_right(span.ends, instant)
        if index < len(span.ends):
            return _back(max(instant, span.starts[index]), calendar)
    raise RuleViolation(f"calendar {show(calendar)} does not open within ten years of {at}")


def _between(calendar: BusinessCalendar, start: int, end: int) -> int:
    if end <= start:
        return 0
    first, last = start // _SPAN_US, end // _SPAN_US
    if first == last:
        span = _span(calendar, first)
        return span.elapsed(end) - span.elapsed(start)
    head = _span(calendar, first)
    total = (head.done[-1] if head.done else 0) - head.elapsed(start)
    for number in range(first + 1, last):
        middle = _span(calendar, number)
        total += middle.done[-1] if middle.done else 0
    return total + _span(calendar, last).elapsed(end)


def business_time(calendar: BusinessCalendar, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """The time inside business hours from ``start`` to ``end`` (H2).

    Zero when ``end`` is not after ``start``. Additive (``start``-``mid`` plus
    ``mid``-``end``), never more than ``end - start``, zero while closed.

    >>> lima = business_calendar(timezone="America/Lima", hours={"mon-fri": ["08:00-18:00"]},
    ...                          region="PE")
    >>> business_time(lima, dt.datetime.fromisoformat("2026-11-20T17:55:00-05:00"),
    ...               dt.datetime.fromisoformat("2026-11-23T08:25:00-05:00"))
    datetime.timedelta(seconds=1800)
    """
    calendar = _calendar(calendar)
    low = _us(_instant(start, "start"))
    high = _us(_instant(end, "end"))
    if calendar.hours is None:
        return dt.timedelta(microseconds=max(0, high - low))
    return dt.timedelta(microseconds=_between(calendar, low, high))


def add_business(
    calendar: BusinessCalendar, start: dt.datetime, amount: dt.timedelta
) -> dt.datetime:
    """The earliest instant at which ``amount`` of business time has passed since ``start`` (H2).

    With the calendar's local UTC offset (a fixed offset); ``start`` itself when
    ``amount`` is zero. A due
    instant: a 30-minute target from Friday 17:55 in a Monday-Friday
    08:00-18:00 calendar is due Monday 08:25.

    >>> lima = business_calendar(timezone="America/Lima", hours={"mon-fri": ["08:00-18:00"]},
    ...                          region="PE")
    >>> friday = dt.datetime.fromisoformat("2026-11-20T17:55:00-05:00")
    >>> add_business(lima, friday, dt.timedelta(minutes=30)).isoformat()
    '2026-11-23T08:25:00-05:00'

    Raises:
        RuleViolation: a negative ``amount``, or a calendar that does not
            open within ten years.
    """
    calendar = _calendar(calendar)
    at = _instant(start, "start")
    amount = checks.instance(amount, dt.timedelta, "amount")
    if amount < dt.timedelta(0):
        raise RuleViolation(f"amount {show(amount)} is negative: expected a duration of 0 or more")
    instant, left = _us(at), amount // _MICRO
    if left == 0:
        return _fixed(at, _zone(calendar.timezone))
    if left > _LAST_US - instant:
        # Business time never outruns wall time: the due instant is later still.
        raise RuleViolation(
            f"amount {show(amount)} after {start} ends after 9998: expected a due instant "
            "before 9999"
        )
    if calendar.hours is None:
        return _back(instant + left, calendar)
    number = instant // _SPAN_US
    span = _span(calendar, number)
    target = span.elapsed(instant) + left
    closed = 0
    while closed <= _SEARCH_SPANS and number * _SPAN_US < _LAST_US:
        total = span.done[-1] if span.done else 0
        if target <= total:
            index = bisect.bisect_left(span.done, target)
            return _back(span.ends[index] - (span.done[index] - target), calendar)
        # Only a stretch of closed spans stops the search, not a long amount.
        closed = closed + 1 if total == 0 else 0
        target -= total
        number += 1
        span = _span(calendar, number)
    raise RuleViolation(
        f"calendar {show(calendar)} does not give {amount} of business time after {start} "
        "before 9999: expected a calendar that opens and an amount that ends before then"
    )
