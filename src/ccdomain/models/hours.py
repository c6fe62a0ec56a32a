"""The records of business hours and service levels a campaign declares (H1, H3).

Frozen, data only: :mod:`ccdomain.rules.hours` reads declarations into them and
does the calendar arithmetic, :mod:`ccdomain.rules.service_levels` the service
levels; :mod:`ccdomain.models` re-exports every name here.
"""

from __future__ import annotations

import datetime as dt
import itertools

import attrs

from ccdomain.errors import RuleViolation, show

__all__ = ["Holidays", "ServiceLevels", "WeeklySchedule"]

_DAY_MINUTES = 24 * 60


@attrs.frozen(cache_hash=True)
class WeeklySchedule:
    """Business hours of a week (H1): for each weekday, Monday first, its ranges.

    Each range is ``(start, end)`` in minutes after local midnight, start
    included, end excluded (``end`` up to 1440, midnight). Ranges are sorted,
    disjoint and not touching. Build one with
    :func:`~ccdomain.rules.hours.parse_hours`.
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


def _dates(value: object) -> tuple[dt.date, ...]:
    if not isinstance(value, tuple | list | frozenset | set) or not all(
        isinstance(day, dt.date) and not isinstance(day, dt.datetime) for day in value
    ):
        raise RuleViolation(f"extra {show(value)} is not valid: expected datetime.date values")
    return tuple(sorted(set(value)))


@attrs.frozen(kw_only=True)
class Holidays:
    """The days a campaign is closed besides its weekly hours (H1).

    ``public``: the public holidays of the campaign's region (the ``holidays``
    package's table); ``extra``: the campaign's own closed dates, sorted.
    """

    public: bool = True
    extra: tuple[dt.date, ...] = attrs.field(default=(), converter=_dates)


def _minutes(value: object, field: str) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not 1 <= value <= 3660 * 1440:
        raise RuleViolation(
            f"{field} {show(value)} is not valid: expected whole minutes from 1 to 5270400 "
            "(3660 days)"
        )
    return value


def _first_response(value: object) -> int | None:
    return _minutes(value, "first_response_min")


def _resolution(value: object) -> int | None:
    return _minutes(value, "resolution_min")


@attrs.frozen(kw_only=True)
class ServiceLevels:
    """A campaign's service-level targets in business minutes (H3); None is no target.

    ``first_response_min``: from the ticket's first inbound interaction to the
    first outbound message or answered call by an agent. ``resolution_min``:
    from the first inbound interaction to the ticket's close.
    """

    first_response_min: int | None = attrs.field(default=None, converter=_first_response)
    resolution_min: int | None = attrs.field(default=None, converter=_resolution)
