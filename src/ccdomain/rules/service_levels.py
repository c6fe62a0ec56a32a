"""Service levels of a ticket: first response and resolution in business time (H3, H4).

Records in, a :class:`ServiceLevel` out; the as-of instant is a parameter, never
the wall clock.

- H3 :func:`service_levels_from` reads ``"sla": {"first_response_min": 30,
  "resolution_min": 1440}`` into a :class:`~ccdomain.models.ServiceLevels`.
  First response: the first outbound message or answered call by an agent at
  or after the ticket's first inbound interaction; resolution: the ticket's
  close. Both are measured in business time (:mod:`ccdomain.rules.hours`) from
  the first inbound interaction; an outbound-opened ticket has no first-response
  target. Time while the ticket is pending (P1) does not count: the pending
  intervals are an input of :func:`service_level`.
- H4 :func:`service_level`: for each target, ``met``, ``breached``,
  ``running`` or ``at_risk`` (80% of the target used), with its due instant,
  as of an instant.

Decisions
---------
- H3 A response is an outbound interaction by an agent (``agent`` set) that is
  a message (any channel but ``call``) or a call with status ``answered``; an
  inbound call an agent answered (``status`` ``answered``, ``agent`` set) is a
  response too. Interactions after the as-of instant, and a close after it, have
  not happened yet.
- H3 Any close ends the resolution clock (resolved, typified or cancelled, T3).
- H4, H7 A target is met when its stop (the response, the close) used no more
  business time than the target, breached otherwise; with no stop yet, it is
  breached once the business time used by the as-of instant exceeds the target
  (a reply after closing time on the due day is met), ``at_risk`` once 80% of the
  target is used, else ``running``. The due instant is the earliest instant at
  which the target's business time has passed, the pending intervals left out;
  while a ticket is pending at the as-of instant, its due instant is computed as
  if the clock restarted then.
- H4 A target the campaign does not set, an outbound-opened ticket's first
  response, and a target whose first inbound interaction comes after the as-of
  instant (or never) have no status (None).
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
from collections.abc import Iterable, Sequence

import attrs

from ccdomain import checks
from ccdomain.errors import CcdomainError, RuleViolation, show
from ccdomain.models import (
    Campaign,
    Channel,
    Direction,
    Interaction,
    ServiceLevels,
    Ticket,
)
from ccdomain.rules.hours import BusinessCalendar, add_business, business_time, campaign_calendar

__all__ = [
    "AT_RISK_SHARE",
    "LevelStatus",
    "ServiceLevel",
    "TargetLevel",
    "first_response",
    "service_level",
    "service_levels_from",
]

Error = type[CcdomainError]

AT_RISK_SHARE = 0.8
"""The share of a target used from which a running target is ``at_risk`` (H4)."""

_ZERO = dt.timedelta(0)
_SLA_KEYS = ("first_response_min", "resolution_min")


class LevelStatus(enum.StrEnum):
    """The status of one service-level target as of an instant (H4)."""

    MET = "met"
    BREACHED = "breached"
    RUNNING = "running"
    AT_RISK = "at_risk"


@attrs.frozen(kw_only=True)
class TargetLevel:
    """One target's status as of an instant (H4).

    ``used`` is the business time spent (until the stop, or the as-of instant);
    ``stopped_at`` the response or close that stopped the clock, if any.
    """

    status: LevelStatus
    due: dt.datetime
    used: dt.timedelta
    stopped_at: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class ServiceLevel:
    """A ticket's service level as of an instant (H4).

    ``first_response_time`` is the business time from the first inbound
    interaction to the first response when there was one by the as-of
    instant (whatever the targets; None for an outbound-opened ticket).
    """

    first_response: TargetLevel | None = None
    resolution: TargetLevel | None = None
    first_response_time: dt.timedelta | None = None


def service_levels_from(
    value: object, field: str = "sla", error: Error = RuleViolation
) -> ServiceLevels | None:
    """The targets an ``sla`` declaration sets, or None for none (H3).

    >>> service_levels_from({"first_response_min": 30, "resolution_min": 1440})
    ServiceLevels(first_response_min=30, resolution_min=1440)

    Raises:
        CcdomainError: ``error``, naming the value: not a mapping, an unknown
            key, or minutes that are not a whole number from 1.
    """
    if value is None or isinstance(value, ServiceLevels):
        return value
    fields = checks.mapping(value, field, error, keys=_SLA_KEYS)
    try:
        levels = ServiceLevels(**fields)
    except RuleViolation as exc:
        raise error(f"{field} {exc}") from None
    if levels.first_response_min is None and levels.resolution_min is None:
        return None
    return levels


def _is_response(interaction: Interaction) -> bool:
    if interaction.agent is None:
        return False
    if interaction.channel is Channel.CALL:
        return interaction.status == "answered"
    return interaction.direction is Direction.OUTBOUND


def first_response(
    interactions: Iterable[Interaction], *, as_of: dt.datetime | None = None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``(first inbound, first response)`` instants among ``interactions`` (H3).

    The response is the first outbound message or answered call by an agent at
    or after the first inbound interaction; with ``as_of``, interactions after
    it are left out. Either is None when there is none.
    """
    happened = sorted(
        (i for i in interactions if as_of is None or i.at <= as_of), key=lambda i: i.at
    )
    inbound = next((i.at for i in happened if i.direction is Direction.INBOUND), None)
    if inbound is None:
        return None, None
    response = next((i.at for i in happened if i.at >= inbound and _is_response(i)), None)
    return inbound, response


def _pauses(
    pending: Iterable[tuple[dt.datetime, dt.datetime | None]], as_of: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The pending intervals up to ``as_of``, sorted; an open one ends at ``as_of``."""
    found: list[tuple[dt.datetime, dt.datetime]] = []
    for item in pending:
        if not isinstance(item, tuple) or len(item) != 2:
            raise RuleViolation(
                f"pending interval {show(item)} is not valid: expected (start, end or None)"
            )
        start = checks.aware(item[0], "pending start")
        end = as_of if item[1] is None else checks.aware(item[1], "pending end")
        if end < start:
            raise RuleViolation(
                f"pending interval {show(item)} ends before it starts: expected start <= end"
            )
        if start < as_of:
            found.append((start, min(end, as_of)))
    found.sort()
    for (_, end), (start, _) in itertools.pairwise(found):
        if start < end:
            raise RuleViolation(
                f"pending intervals {show(found)} overlap: expected disjoint intervals"
            )
    return found


def _counted(
    calendar: BusinessCalendar,
    start: dt.datetime,
    end: dt.datetime,
    pauses: Sequence[tuple[dt.datetime, dt.datetime]],
) -> dt.timedelta:
    """Business time from ``start`` to ``end`` outside the pauses."""
    total = business_time(calendar, start, end)
    for low, high in pauses:
        total -= business_time(calendar, max(low, start), min(high, end))
    return total


def _due(
    calendar: BusinessCalendar,
    start: dt.datetime,
    target: dt.timedelta,
    pauses: Sequence[tuple[dt.datetime, dt.datetime]],
) -> dt.datetime:
    """The earliest instant at which ``target`` of counted business time has passed."""
    left, cursor = target, start
    for low, high in pauses:
        if high <= cursor:
            continue
        if low > cursor:
            stretch = business_time(calendar, cursor, low)
            if stretch >= left:
                return add_business(calendar, cursor, left)
            left -= stretch
        cursor = max(cursor, high)
    return add_business(calendar, cursor, left)


def _level(
    calendar: BusinessCalendar,
    start: dt.datetime,
    minutes: int,
    stop: dt.datetime | None,
    as_of: dt.datetime,
    pauses: Sequence[tuple[dt.datetime, dt.datetime]],
) -> TargetLevel:
    target = dt.timedelta(minutes=minutes)
    due = _due(calendar, start, target, pauses)
    if stop is not None:
        used = _counted(calendar, start, stop, pauses)
        # H7: judged by the business time used, as measured: a reply after closing time
        # on the due day used no more of it than the target.
        status = LevelStatus.MET if used <= target else LevelStatus.BREACHED
        return TargetLevel(status=status, due=due, used=used, stopped_at=stop)
    used = _counted(calendar, start, as_of, pauses)
    if used > target:
        status = LevelStatus.BREACHED
    elif used >= target * AT_RISK_SHARE:
        status = LevelStatus.AT_RISK
    else:
        status = LevelStatus.RUNNING
    return TargetLevel(status=status, due=due, used=used)


def service_level(
    campaign: Campaign,
    ticket: Ticket,
    interactions: Iterable[Interaction],
    *,
    as_of: dt.datetime,
    pending: Iterable[tuple[dt.datetime, dt.datetime | None]] = (),
    calendar: BusinessCalendar | None = None,
) -> ServiceLevel:
    """The service level of ``ticket`` as of ``as_of`` (H3, H4).

    Args:
        campaign: the ticket's campaign: its ``sla`` targets and business hours.
        ticket: the ticket (its origin and close).
        interactions: the ticket's interactions (any order).
        as_of: the instant the status is evaluated at (with a UTC offset).
        pending: the intervals ``(start, end)`` the ticket was pending (P1),
            ``end`` None while it still is; they do not count.
        calendar: the campaign's calendar when the caller holds it
            (default :func:`~ccdomain.rules.hours.campaign_calendar`).

    Raises:
        RuleViolation: a record of the wrong type, a naive time, or pending
            intervals that overlap or end before they start.

    >>> import datetime as dt
    >>> from ccdomain.models import Campaign, Channel, Direction, Interaction, Ticket
    >>> from ccdomain.rules.hours import parse_hours
    >>> from ccdomain.rules.service_levels import service_level
    >>> campaign = Campaign(id="soporte", hours=parse_hours({"mon-fri": ["08:00-18:00"]}),
    ...                     sla=service_levels_from({"first_response_min": 30}))
    >>> friday = dt.datetime.fromisoformat("2026-11-20T17:55:00-05:00")
    >>> ticket = Ticket(number=1, campaign="soporte", customer="+51987654321",
    ...                 origin=Direction.INBOUND, opened_at=friday)
    >>> hello = Interaction(at=friday, channel=Channel.WHATSAPP, direction=Direction.INBOUND,
    ...                     customer="+51987654321", ticket=1)
    >>> level = service_level(campaign, ticket, [hello],
    ...                       as_of=dt.datetime.fromisoformat("2026-11-23T08:20:00-05:00"))
    >>> level.first_response.status.value, level.first_response.due.isoformat()
    ('at_risk', '2026-11-23T08:25:00-05:00')
    """
    campaign = checks.instance(campaign, Campaign, "campaign")
    ticket = checks.instance(ticket, Ticket, "ticket")
    as_of = checks.aware(as_of, "as_of")
    happened = [checks.instance(i, Interaction, "interaction") for i in interactions]
    if calendar is None:
        calendar = campaign_calendar(campaign)
    pauses = _pauses(pending, as_of)
    inbound, response = first_response(happened, as_of=as_of)
    if inbound is None:
        return ServiceLevel()
    if ticket.origin is Direction.OUTBOUND:
        response = None  # no first response to measure (H3)
    spent = None if response is None else _counted(calendar, inbound, response, pauses)
    targets = campaign.sla
    first = None
    if (
        targets is not None
        and targets.first_response_min is not None
        and ticket.origin is Direction.INBOUND
    ):
        first = _level(calendar, inbound, targets.first_response_min, response, as_of, pauses)
    resolution = None
    if targets is not None and targets.resolution_min is not None:
        closed = None if ticket.is_open else ticket.closed_at
        stop = closed if closed is not None and closed <= as_of else None
        resolution = _level(calendar, inbound, targets.resolution_min, stop, as_of, pauses)
    return ServiceLevel(first_response=first, resolution=resolution, first_response_time=spent)
