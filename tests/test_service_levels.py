"""Service levels H3, H4 through the API: targets, first response, statuses, pending time."""

from __future__ import annotations

import datetime as dt
import doctest
from collections.abc import Sequence

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ccdomain.errors import RuleViolation
from ccdomain.models import (
    Campaign,
    Channel,
    Direction,
    Holidays,
    Interaction,
    ServiceLevels,
    Ticket,
    TicketStatus,
)
from ccdomain.rules import service_levels
from ccdomain.rules.contacts import make_campaign
from ccdomain.rules.hours import business_time, campaign_calendar
from ccdomain.rules.service_levels import (
    LevelStatus,
    first_response,
    service_level,
    service_levels_from,
)

CUSTOMER = "+51987654321"
FRIDAY = dt.datetime.fromisoformat("2026-11-20T17:55:00-05:00")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def campaign(**more: object) -> Campaign:
    fields: dict[str, object] = {
        "region": "PE",
        "hours": {"mon-fri": ["08:00-18:00"]},
        "sla": {"first_response_min": 30, "resolution_min": 1440},
    }
    fields.update(more)
    return make_campaign("soporte", **fields)


def ticket(origin: Direction = Direction.INBOUND, closed_at: dt.datetime | None = None) -> Ticket:
    return Ticket(
        number=1,
        campaign="soporte",
        customer=CUSTOMER,
        origin=origin,
        opened_at=FRIDAY,
        status=TicketStatus.OPEN if closed_at is None else TicketStatus.RESOLVED,
        closed_at=closed_at,
    )


def message(
    when: dt.datetime,
    direction: Direction = Direction.INBOUND,
    agent: str | None = None,
    channel: Channel = Channel.WHATSAPP,
    status: str | None = None,
) -> Interaction:
    return Interaction(
        at=when,
        channel=channel,
        direction=direction,
        customer=CUSTOMER,
        agent=agent,
        status=status,
        ticket=1,
    )


def test_H3_H4_module_doctests() -> None:
    assert doctest.testmod(service_levels).failed == 0


# --- H3 targets on a campaign ---------------------------------------------------------------


def test_H3_a_campaign_declares_hours_holidays_and_targets() -> None:
    found = campaign(holidays=["2026-11-23"])
    assert found.sla == ServiceLevels(first_response_min=30, resolution_min=1440)
    assert found.holidays == Holidays(public=True, extra=(dt.date(2026, 11, 23),))
    assert found.hours is not None and found.hours.days[0] == ((480, 1080),)
    plain = make_campaign("ventas")
    assert (plain.hours, plain.holidays, plain.sla) == (None, Holidays(), None)


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ({"first_response_min": 0}, ["first_response_min 0", "whole minutes"]),
        ({"first_response_min": "30"}, ["'30'", "whole minutes"]),
        ({"resolution_min": 1.5}, ["1.5"]),
        ({"first_reply_min": 30}, ["'first_reply_min'", "first_response_min, resolution_min"]),
        ([30, 1440], ["[30, 1440]", "mapping"]),
    ],
)
def test_H3_a_bad_sla_is_refused_naming_the_value(value: object, names: list[str]) -> None:
    with pytest.raises(RuleViolation) as caught:
        make_campaign("soporte", sla=value)
    for name in names:
        assert name in str(caught.value)
    assert service_levels_from({}) is None


def test_H3_hours_with_public_holidays_need_a_region_with_a_holiday_table() -> None:
    # Ascension Island has phone numbers but no public holiday table in the package.
    with pytest.raises(RuleViolation, match="'AC'"):
        make_campaign("polar", region="AC", hours={"mon": ["08:00-18:00"]})
    polar = make_campaign("polar", region="AC", hours={"mon": ["08:00-18:00"]}, holidays=False)
    assert campaign_calendar(polar).public_holidays is False


def test_H3_first_response_is_the_first_agent_message_or_answered_call_after_the_inbound() -> None:
    hello = message(FRIDAY)
    before = message(FRIDAY - dt.timedelta(hours=1), Direction.OUTBOUND, agent="ana")
    bot = message(FRIDAY + dt.timedelta(minutes=1), Direction.OUTBOUND)  # no agent
    missed = message(
        FRIDAY + dt.timedelta(minutes=2),
        Direction.OUTBOUND,
        agent="ana",
        channel=Channel.CALL,
        status="no_answer",
    )
    answered = message(
        FRIDAY + dt.timedelta(minutes=3),
        Direction.OUTBOUND,
        agent="ana",
        channel=Channel.CALL,
        status="answered",
    )
    reply = message(FRIDAY + dt.timedelta(minutes=4), Direction.OUTBOUND, agent="ana")
    assert first_response([reply, answered, missed, bot, hello, before]) == (
        FRIDAY,
        answered.at,
    )
    assert first_response([reply, hello]) == (FRIDAY, reply.at)
    assert first_response([before]) == (None, None)
    assert first_response([hello, reply], as_of=FRIDAY + dt.timedelta(minutes=3)) == (FRIDAY, None)


def test_H3_an_inbound_call_an_agent_answered_is_its_own_first_response() -> None:
    call = message(FRIDAY, Direction.INBOUND, agent="ana", channel=Channel.CALL, status="answered")
    level = service_level(campaign(), ticket(), [call], as_of=FRIDAY + dt.timedelta(hours=1))
    assert level.first_response is not None
    assert level.first_response.status is LevelStatus.MET
    assert level.first_response_time == dt.timedelta(0)


def test_H3_an_outbound_opened_ticket_has_no_first_response_target() -> None:
    call = message(FRIDAY, Direction.OUTBOUND, agent="ana", channel=Channel.CALL, status="answered")
    reply = message(FRIDAY + dt.timedelta(minutes=1))
    later = message(FRIDAY + dt.timedelta(minutes=2), Direction.OUTBOUND, agent="ana")
    level = service_level(
        campaign(),
        ticket(Direction.OUTBOUND),
        [call, reply, later],
        as_of=at("2026-11-23T09:00-05:00"),
    )
    assert level.first_response is None
    assert level.first_response_time is None
    assert level.resolution is not None  # measured from the customer's reply
    # 24 business hours from Friday 17:56: 4 minutes, Monday, Tuesday, Wednesday 3:56.
    assert level.resolution.due == at("2026-11-25T11:56:00-05:00")
    assert (
        service_level(
            campaign(), ticket(Direction.OUTBOUND), [call], as_of=at("2026-11-23T09:00-05:00")
        )
        == service_levels.ServiceLevel()
    )


def test_H3_pending_time_does_not_count() -> None:
    hello = message(FRIDAY)
    reply = message(at("2026-11-23T09:00:00-05:00"), Direction.OUTBOUND, agent="ana")
    monday_pause = (at("2026-11-23T08:00:00-05:00"), at("2026-11-23T08:50:00-05:00"))
    level = service_level(
        campaign(), ticket(), [hello, reply], as_of=reply.at, pending=[monday_pause]
    )
    assert level.first_response is not None
    # 5 minutes on Friday, 10 on Monday after the pause.
    assert level.first_response_time == dt.timedelta(minutes=15)
    assert level.first_response.due == at("2026-11-23T09:15:00-05:00")
    assert level.first_response.status is LevelStatus.MET


def test_H3_a_ticket_pending_at_the_as_of_instant_has_its_clock_stopped() -> None:
    hello = message(FRIDAY)
    pause = (at("2026-11-23T08:10:00-05:00"), None)
    as_of = at("2026-11-23T11:00:00-05:00")
    level = service_level(campaign(), ticket(), [hello], as_of=as_of, pending=[pause])
    assert level.first_response is not None
    assert level.first_response.used == dt.timedelta(minutes=15)
    assert level.first_response.status is LevelStatus.RUNNING
    assert level.first_response.due == as_of + dt.timedelta(minutes=15)


@pytest.mark.parametrize(
    "pending",
    [
        [(at("2026-11-23T09:00:00-05:00"), at("2026-11-23T08:00:00-05:00"))],
        [
            (at("2026-11-23T08:00:00-05:00"), at("2026-11-23T09:00:00-05:00")),
            (at("2026-11-23T08:30:00-05:00"), None),
        ],
        ["2026-11-23"],
    ],
)
def test_H3_pending_intervals_that_end_before_they_start_or_overlap_are_refused(
    pending: Sequence[object],
) -> None:
    with pytest.raises(RuleViolation, match="pending"):
        service_level(
            campaign(),
            ticket(),
            [message(FRIDAY)],
            as_of=at("2026-11-24T08:00:00-05:00"),
            pending=pending,  # type: ignore[arg-type]
        )


# --- H4 statuses ----------------------------------------------------------------------------


def test_H4_friday_17_55_with_30_minutes_is_due_monday_08_25() -> None:
    level = service_level(campaign(), ticket(), [message(FRIDAY)], as_of=FRIDAY)
    assert level.first_response is not None and level.resolution is not None
    assert level.first_response.due.isoformat() == "2026-11-23T08:25:00-05:00"
    # 1440 business minutes = 2.4 days of 10 hours: Friday 5 min, Mon, Tue, Wed to 11:55.
    assert level.resolution.due.isoformat() == "2026-11-25T11:55:00-05:00"
    assert level.first_response.status is LevelStatus.RUNNING


def test_H4_a_holiday_monday_moves_the_due_instant_to_tuesday() -> None:
    level = service_level(
        campaign(holidays=["2026-11-23"]), ticket(), [message(FRIDAY)], as_of=FRIDAY
    )
    assert level.first_response is not None
    assert level.first_response.due.isoformat() == "2026-11-24T08:25:00-05:00"


def test_H4_across_a_DST_change_due_instants_keep_wall_clock_hours() -> None:
    # Santiago, Sunday 6 September 2026: midnight becomes 01:00 (-04:00 to -03:00).
    chile = make_campaign(
        "soporte",
        region="CL",
        timezone="America/Santiago",
        hours={"mon-sat": ["09:00-18:00"]},
        sla={"first_response_min": 30},
    )
    saturday = at("2026-09-05T17:50:00-04:00")
    level = service_level(chile, ticket(), [message(saturday)], as_of=saturday)
    assert level.first_response is not None
    assert level.first_response.due.isoformat() == "2026-09-07T09:20:00-03:00"


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        ("2026-11-23T08:00:00-05:00", LevelStatus.RUNNING),  # 5 of 30 minutes
        ("2026-11-23T08:18:59-05:00", LevelStatus.RUNNING),  # 23:59 used
        ("2026-11-23T08:19:00-05:00", LevelStatus.AT_RISK),  # 24 minutes: 80%
        ("2026-11-23T08:25:00-05:00", LevelStatus.AT_RISK),  # due, not yet past it
        ("2026-11-23T08:25:01-05:00", LevelStatus.BREACHED),
    ],
)
def test_H4_running_at_risk_from_80_percent_and_breached_past_the_due_instant(
    as_of: str, status: LevelStatus
) -> None:
    level = service_level(campaign(), ticket(), [message(FRIDAY)], as_of=at(as_of))
    assert level.first_response is not None
    assert level.first_response.status is status


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        ("2026-11-23T08:25:00-05:00", LevelStatus.MET),  # at the due instant
        ("2026-11-23T08:25:01-05:00", LevelStatus.BREACHED),
    ],
)
def test_H4_met_when_the_response_comes_by_the_due_instant(reply: str, status: LevelStatus) -> None:
    answer = message(at(reply), Direction.OUTBOUND, agent="ana")
    level = service_level(
        campaign(), ticket(), [message(FRIDAY), answer], as_of=at("2026-11-30T12:00:00-05:00")
    )
    assert level.first_response is not None
    assert level.first_response.status is status
    assert level.first_response.stopped_at == answer.at


def test_H4_resolution_is_the_close_and_a_close_after_the_as_of_instant_has_not_happened() -> None:
    closed = ticket(closed_at=at("2026-11-23T10:00:00-05:00"))
    hello = [message(FRIDAY)]
    after = service_level(campaign(), closed, hello, as_of=at("2026-11-23T12:00:00-05:00"))
    assert after.resolution is not None
    assert after.resolution.status is LevelStatus.MET
    assert after.resolution.used == dt.timedelta(hours=2, minutes=5)
    before = service_level(campaign(), closed, hello, as_of=at("2026-11-23T09:00:00-05:00"))
    assert before.resolution is not None
    assert before.resolution.status is LevelStatus.RUNNING


def test_H4_no_target_no_status_and_nothing_before_the_first_inbound() -> None:
    none = make_campaign("ventas", hours={"mon-fri": ["08:00-18:00"]})
    level = service_level(none, ticket(), [message(FRIDAY)], as_of=FRIDAY)
    assert (level.first_response, level.resolution) == (None, None)
    early = service_level(campaign(), ticket(), [message(FRIDAY)], as_of=FRIDAY - dt.timedelta(1))
    assert early == service_levels.ServiceLevel()


def test_H4_records_of_the_wrong_type_and_naive_times_are_refused() -> None:
    with pytest.raises(RuleViolation):
        service_level("soporte", ticket(), [], as_of=FRIDAY)  # type: ignore[arg-type]
    with pytest.raises(RuleViolation):
        service_level(campaign(), ticket(), [], as_of=dt.datetime(2026, 11, 20))
    with pytest.raises(RuleViolation):
        service_level(campaign(), ticket(), ["hola"], as_of=FRIDAY)  # type: ignore[list-item]


minutes = st.integers(0, 14 * 24 * 60)


@settings(max_examples=100, deadline=None)
@given(minutes, minutes, st.integers(1, 3000))
# Found by this property: a reply at 18:01 to a 17:55 message with a 5-minute target used
# 5 business minutes (the campaign closes at 18:00) and was called breached (H7).
@example(reply_after=6, as_of_after=6, target=5)
def test_H4_the_status_follows_the_business_time_used(
    reply_after: int, as_of_after: int, target: int
) -> None:
    found = campaign(sla={"first_response_min": target})
    reply = FRIDAY + dt.timedelta(minutes=reply_after)
    as_of = FRIDAY + dt.timedelta(minutes=as_of_after)
    answer = message(reply, Direction.OUTBOUND, agent="ana")
    level = service_level(found, ticket(), [message(FRIDAY), answer], as_of=as_of)
    first = level.first_response
    assert first is not None
    used = business_time(campaign_calendar(found), FRIDAY, min(reply, as_of))
    assert first.used == used
    limit = dt.timedelta(minutes=target)
    assert business_time(campaign_calendar(found), FRIDAY, first.due) == limit
    if reply <= as_of:
        assert first.status is (LevelStatus.MET if used <= limit else LevelStatus.BREACHED)
        assert level.first_response_time == used
    elif used > limit:  # H7: by the business time used, not by the wall clock
        assert first.status is LevelStatus.BREACHED
    else:
        expected = LevelStatus.AT_RISK if used >= limit * 0.8 else LevelStatus.RUNNING
        assert first.status is expected


def test_H7_a_reply_after_closing_on_the_due_day_is_met_and_one_after_reopening_breached() -> None:
    # Friday 17:55, 5 minutes, Monday-Friday 08:00-18:00: due Friday 18:00.
    found = campaign(sla={"first_response_min": 5})
    for reply, status in (
        (at("2026-11-20T18:01:00-05:00"), LevelStatus.MET),  # 5 business minutes used
        (at("2026-11-21T10:00:00-05:00"), LevelStatus.MET),  # Saturday: still 5
        (at("2026-11-23T08:00:30-05:00"), LevelStatus.BREACHED),  # Monday: 5.5
    ):
        answer = message(reply, Direction.OUTBOUND, agent="ana")
        level = service_level(found, ticket(), [message(FRIDAY), answer], as_of=reply)
        assert level.first_response is not None
        assert level.first_response.status is status, reply
    # Unanswered: not breached until the business clock passes the target on Monday.
    quiet = service_level(found, ticket(), [message(FRIDAY)], as_of=at("2026-11-22T12:00:00-05:00"))
    assert quiet.first_response is not None
    assert quiet.first_response.status is LevelStatus.AT_RISK
    late = service_level(found, ticket(), [message(FRIDAY)], as_of=at("2026-11-23T08:01:00-05:00"))
    assert late.first_response is not None
    assert late.first_response.status is LevelStatus.BREACHED
