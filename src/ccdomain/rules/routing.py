"""Routing decisions: which campaign and ticket an interaction goes to (T6, T10, T12, T13, I3).

Pure functions over records; :func:`ccdomain.services.routing.route_interaction`
reads the records from the store and applies them. Everything here runs once per
routed interaction: plain functions, no copies.

- T6 an outbound interaction names its campaign; an inbound one arrives on a
  line and goes to the campaign holding an open ticket with that customer on
  that line (the most recently active one, :func:`campaign_on_line`), else to
  the line's default campaign.
- T10 an interaction that happened while a now-closed ticket was open
  (``opened_at <= at <= closed_at``) is recorded on that ticket, which stays
  closed (:func:`closed_covering`).
- I3 a blocked identity is refused and the refusal recorded
  (:func:`refusal_event`, :func:`blocked_error`).

Decisions taken where the product documents are silent (ids continue the T list of docs/rules.md):

- T12 An inbound interaction that names a campaign goes to that campaign (the
  host already chose it, e.g. in an IVR menu); the line is still recorded. An
  inbound interaction with neither line nor campaign is refused.
- T13 T6 is read in event time: the inbound candidates are the tickets of the
  customer on that line that were open at the interaction's time; when none
  was, the tickets open now on that line; else the line's default campaign.
  "Most recently active" compares ``last_activity_at`` (then the number).
- X4 A new ticket's queue (:func:`ticket_queue`): the interaction's, else the one
  the line declares for the ticket's campaign, else the campaign's, else the
  line's own when the campaign is the line's default, else none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NamedTuple

import phonenumbers

from ccdomain.errors import BlockedIdentity, InvalidChannel, RuleViolation
from ccdomain.errors import show as _show
from ccdomain.events import Event, EventKind, InteractionRefused
from ccdomain.models import Campaign, Channel, Direction, Interaction, Line, Ticket
from ccdomain.rules.tickets import build_ticket, channels_with, describe_interaction

__all__ = [
    "Target",
    "blocked_error",
    "campaign_on_line",
    "closed_covering",
    "line_region",
    "opened_ticket",
    "parse_channel",
    "parse_direction",
    "recency",
    "refusal_event",
    "ticket_queue",
]

_CHANNEL_NAMES = ", ".join(c.value for c in Channel)
# StrEnum members hash and compare as their values: one lookup serves both spellings.
_CHANNEL_BY_NAME: dict[str, Channel] = {c.value: c for c in Channel}
_DIRECTION_BY_NAME: dict[str, Direction] = {d.value: d for d in Direction}


def parse_channel(value: object) -> Channel:
    """The channel a value names (a Channel, or its name in any case).

    Raises:
        InvalidChannel: the value names no channel; the message lists them.
    """
    if isinstance(value, str):
        found = _CHANNEL_BY_NAME.get(value) or _CHANNEL_BY_NAME.get(value.strip().lower())
        if found is not None:
            return found
    raise InvalidChannel(f"channel {_show(value)} is not valid: expected one of {_CHANNEL_NAMES}")


def parse_direction(value: object) -> Direction:
    """The direction a value names (a Direction, or ``inbound``/``outbound``).

    Raises:
        RuleViolation: the value names no direction.
    """
    if isinstance(value, str):
        found = _DIRECTION_BY_NAME.get(value) or _DIRECTION_BY_NAME.get(value.strip().lower())
        if found is not None:
            return found
    raise RuleViolation(f"direction {_show(value)} is not valid: expected 'inbound' or 'outbound'")


class Target(NamedTuple):
    """Where an interaction goes: its campaign, its normalized customer, its line.

    A named tuple rather than an attrs class: routing builds one per interaction.
    """

    campaign: Campaign
    customer: str
    line: Line | None


def line_region(line: Line) -> str:
    """The region of a line's own number, for a line without a default campaign.

    Raises:
        RuleViolation: the line's address names no region.
    """
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(line.address, None))
    except phonenumbers.NumberParseException:
        region = None
    if not isinstance(region, str) or len(region) != 2:
        raise RuleViolation(
            f"line {line.id!r} has no default campaign and its address {_show(line.address)} "
            "names no region; expected a line with a default campaign"
        )
    return region


def recency(ticket: Ticket) -> tuple[dt.datetime, int]:
    """How recently a ticket was active: its last activity (else its opening), then its number."""
    return (ticket.last_activity_at or ticket.opened_at, ticket.number)


def campaign_on_line(tickets: Iterable[Ticket], line_id: str, at: dt.datetime) -> str | None:
    """T6/T13: the campaign of the customer's ticket on this line, open at ``at`` or now.

    ``tickets`` are the customer's tickets (every campaign).
    """
    open_then: Ticket | None = None
    open_now: Ticket | None = None
    for ticket in tickets:
        if ticket.line != line_id:
            continue
        closed_at = ticket.closed_at
        if ticket.opened_at <= at and (
            ticket.is_open or (closed_at is not None and at <= closed_at)
        ):
            if open_then is None or recency(ticket) > recency(open_then):
                open_then = ticket
        elif ticket.is_open and (open_now is None or recency(ticket) > recency(open_now)):
            open_now = ticket
    chosen = open_then or open_now
    return None if chosen is None else chosen.campaign


def closed_covering(tickets: Iterable[Ticket], at: dt.datetime) -> Ticket | None:
    """T10: among a customer's tickets of one campaign, the closed one that was open at ``at``."""
    found: Ticket | None = None
    for ticket in tickets:
        closed_at = ticket.closed_at
        if closed_at is not None and ticket.opened_at <= at <= closed_at:
            found = ticket
    return found


def opened_ticket(
    number: int, target: Target, interaction: Interaction, queue: str | None
) -> Ticket:
    """A new ticket with its first interaction applied (T7, T15): one construction.

    Equals :func:`ccdomain.rules.tickets.with_interaction` of the bare ticket (a test
    checks it). ``queue`` is the queue the interaction names, None when it names none
    (then :func:`ticket_queue` chooses, X4).
    """
    line = target.line
    channel = interaction.channel
    agent = interaction.agent
    return build_ticket(
        number=number,
        campaign=target.campaign.id,
        customer=target.customer,
        origin=interaction.direction,
        opened_at=interaction.at,
        queue=queue if queue is not None else ticket_queue(target.campaign, line),
        line=None if line is None else line.id,
        alias="" if line is None else line.alias,
        channels=channels_with((), channel) if type(channel) is Channel else (channel,),
        last_agent=agent,
        last_activity_at=interaction.at,
        last_channel=channel,
        last_action=describe_interaction(interaction),
        interactions=1,
    )


def ticket_queue(campaign: Campaign, line: Line | None) -> str:
    """X4: the queue of a new ticket of ``campaign`` on ``line`` when the interaction names none.

    In order: the queue the line declares for the campaign (``queues``); the
    campaign's own ``queue``; the line's ``queue`` when the campaign is the line's
    default campaign; else none (``""``). A ticket of another campaign on a shared
    line never takes the default campaign's queue.
    """
    if line is not None:
        named = line.queues.get(campaign.id)
        if named:
            return named
    if campaign.queue:
        return campaign.queue
    if line is not None and line.campaign == campaign.id:
        return line.queue
    return ""


def refusal_event(
    target: Target,
    *,
    at: dt.datetime,
    channel: Channel,
    direction: Direction,
    agent: str | None,
    external_id: str | None,
    text: str | None,
) -> Event:
    """The INTERACTION_REFUSED event of an interaction with a blocked identity (I3)."""
    return Event(
        kind=EventKind.INTERACTION_REFUSED,
        at=at,
        actor=agent,
        campaign=target.campaign.id,
        payload=InteractionRefused(
            customer=target.customer,
            channel=channel,
            direction=direction,
            line=None if target.line is None else target.line.id,
            external_id=external_id,
            text=text,
        ),
    )


def blocked_error(target: Target) -> BlockedIdentity:
    """The error raised for a blocked identity, once its refusal is recorded (I3)."""
    return BlockedIdentity(
        f"customer {target.customer!r} is blocked in campaign {target.campaign.id!r}; "
        "the interaction was refused and the refusal recorded (I3)"
    )
