"""Ticket views: a contact's Typifications and History tabs, an agent's ticket list (T8, T17).

The rows the workspace shows (a contact's tabs, an agent's ticket list), newest
first. Every view reads a store (in a unit of work of its own) or a unit of work,
and returns a tuple of frozen rows.

- T17 (decision) The agent's ticket list holds the tickets the agent is assigned
  to, closed, was the last agent of, or took part in by an interaction; newest
  activity (last interaction or close) first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Final, Protocol, TypeVar

import attrs

from ccdomain import checks
from ccdomain.models import Channel, Direction, Ticket, TicketStatus
from ccdomain.ports import Store, UnitOfWork
from ccdomain.rules.tickets import activity
from ccdomain.services._common import live_contact, reading

__all__ = [
    "CallDetail",
    "HistoryRow",
    "MessageDetail",
    "TicketListItem",
    "TypificationRow",
    "agent_tickets",
    "contact_history",
    "contact_typifications",
]

_READS: Final = ("get_contact", "get_line", "tickets_for_contact", "interactions")


@attrs.frozen(kw_only=True)
class TypificationRow:
    """One row of a contact's Typifications tab (T8)."""

    at: dt.datetime
    ticket: int
    campaign: str
    channel: Channel | None
    line: str | None
    alias: str
    customer: str
    agent: str | None
    group: str
    result: str
    reason: str
    sub_reason: str
    comment: str
    path: tuple[str, ...]


@attrs.frozen(kw_only=True)
class CallDetail:
    """A call in a ticket's detail: time, duration and the line (identifier)."""

    at: dt.datetime
    duration_s: int | None
    line: str | None
    alias: str
    direction: Direction
    status: str | None
    agent: str | None


@attrs.frozen(kw_only=True)
class MessageDetail:
    """A message in a ticket's detail: time, direction and text."""

    at: dt.datetime
    direction: Direction
    channel: Channel
    text: str
    agent: str | None


@attrs.frozen(kw_only=True)
class HistoryRow:
    """One row of a contact's History tab, with the ticket's detail."""

    at: dt.datetime
    ticket: int
    campaign: str
    status: TicketStatus
    last_agent: str | None
    channels: tuple[Channel, ...]
    agents: tuple[str, ...]
    typification: tuple[str, ...] | None
    comments: tuple[str, ...]
    calls: tuple[CallDetail, ...]
    messages: tuple[MessageDetail, ...]


@attrs.frozen(kw_only=True)
class TicketListItem:
    """One entry of an agent's ticket list (its first column)."""

    number: int
    campaign: str
    title: str
    customer: str
    contact: str | None
    channel: Channel | None
    last_action: str
    labels: tuple[str, ...]
    status: TicketStatus
    at: dt.datetime


class _Row(Protocol):
    """A row of a contact tab: what the tab's newest-first order reads."""

    @property
    def at(self) -> dt.datetime: ...
    @property
    def ticket(self) -> int: ...


_R = TypeVar("_R", bound=_Row)


def _contact_rows(
    store: Store | UnitOfWork,
    campaign: object,
    code: object,
    rows_of: Callable[[UnitOfWork, Ticket, dict[str, str]], Iterable[_R]],
) -> tuple[_R, ...]:
    """The rows of each ticket of a contact, newest first: a contact tab.

    ``rows_of`` gets the unit of work, a ticket and the line aliases read so far.
    A merged code reads the contact it was merged into.

    Raises:
        UnknownContact: no such contact in the campaign.
    """
    with reading(store, _READS) as uow:
        contact = live_contact(uow, campaign, code)
        aliases: dict[str, str] = {}
        rows = [
            row
            for ticket in uow.tickets_for_contact(contact.campaign, contact.code)
            for row in rows_of(uow, ticket, aliases)
        ]
    rows.sort(key=lambda r: (r.at, r.ticket), reverse=True)
    return tuple(rows)


def _alias_of(uow: UnitOfWork, cache: dict[str, str], line: str | None) -> str:
    if line is None:
        return ""
    if line not in cache:
        found = uow.get_line(line)
        cache[line] = found.alias if found is not None and found.alias else line
    return cache[line]


def contact_typifications(
    store: Store | UnitOfWork, *, campaign: str, code: str
) -> tuple[TypificationRow, ...]:
    """The contact's Typifications tab, newest first (T8).

    ``code`` names the contact (a merged code reads the contact it was merged into).

    Raises:
        UnknownContact: no such contact in the campaign.
    """
    return _contact_rows(store, campaign, code, _typification_rows)


def _typification_rows(
    uow: UnitOfWork, ticket: Ticket, aliases: dict[str, str]
) -> Iterator[TypificationRow]:
    for record in uow.typifications(ticket.number):
        levels = (*record.path, "", "", "", "")
        yield TypificationRow(
            at=record.at,
            ticket=record.ticket,
            campaign=record.campaign,
            channel=record.channel,
            line=record.line,
            alias=_alias_of(uow, aliases, record.line),
            customer=record.customer,
            agent=record.agent,
            group=levels[0],
            result=levels[1],
            reason=levels[2],
            sub_reason=levels[3],
            comment=record.comment,
            path=record.path,
        )


def _history_row(uow: UnitOfWork, ticket: Ticket, aliases: dict[str, str]) -> HistoryRow:
    calls = []
    messages = []
    agents: dict[str, None] = {}
    for item in sorted(uow.interactions(ticket.number), key=lambda i: i.at):
        if item.agent is not None:
            agents.setdefault(item.agent, None)
        if item.channel is Channel.CALL:
            calls.append(
                CallDetail(
                    at=item.at,
                    duration_s=item.duration_s,
                    line=item.line,
                    alias=_alias_of(uow, aliases, item.line),
                    direction=item.direction,
                    status=item.status,
                    agent=item.agent,
                )
            )
        else:
            messages.append(
                MessageDetail(
                    at=item.at,
                    direction=item.direction,
                    channel=item.channel,
                    text=item.text or "",
                    agent=item.agent,
                )
            )
    if ticket.closed_by is not None:
        agents.setdefault(ticket.closed_by, None)
    typifications = uow.typifications(ticket.number)
    return HistoryRow(
        at=ticket.last_activity_at or ticket.opened_at,
        ticket=ticket.number,
        campaign=ticket.campaign,
        status=ticket.status,
        last_agent=ticket.last_agent,
        channels=ticket.channels,
        agents=tuple(agents),
        typification=typifications[-1].path if typifications else None,
        comments=tuple(c.text for c in uow.comments(ticket.number)),
        calls=tuple(calls),
        messages=tuple(messages),
    )


def contact_history(
    store: Store | UnitOfWork, *, campaign: str, code: str
) -> tuple[HistoryRow, ...]:
    """The contact's History tab with each ticket's detail, newest first (I1).

    Raises:
        UnknownContact: no such contact in the campaign.
    """
    return _contact_rows(
        store, campaign, code, lambda uow, ticket, aliases: (_history_row(uow, ticket, aliases),)
    )


def _handled_by(uow: UnitOfWork, ticket: Ticket, agent: str) -> bool:
    if agent in (ticket.assignee, ticket.last_agent, ticket.closed_by):
        return True
    return any(item.agent == agent for item in uow.interactions(ticket.number))


def agent_tickets(
    store: Store | UnitOfWork,
    *,
    agent: str,
    campaign: str | None = None,
    open_only: bool = False,
) -> tuple[TicketListItem, ...]:
    """The tickets an agent handled, newest activity first (T17).

    A ticket is listed when the agent is its assignee, its last agent, its closer,
    or the agent of one of its interactions. Each item shows the contact's name
    (or the customer address when unlinked), the channel of the last interaction,
    the last action and the labels. The scan reads every ticket of the store
    (optionally of one campaign): a host with a large store lists from its own index.

    Raises:
        RuleViolation: the agent name is not valid.
    """
    agent = checks.agent(agent)
    campaign_id = None if campaign is None else checks.identifier(campaign, "campaign")
    with reading(store, _READS) as uow:
        return _agent_tickets(uow, agent, campaign_id, open_only)


def _agent_tickets(
    uow: UnitOfWork, agent: str, campaign_id: str | None, open_only: bool
) -> tuple[TicketListItem, ...]:
    items = []
    for ticket in uow.list_tickets(campaign_id):
        if open_only and not ticket.is_open:
            continue
        if not _handled_by(uow, ticket, agent):
            continue
        title = ticket.customer
        if ticket.contact is not None:
            contact = uow.get_contact(ticket.campaign, ticket.contact)
            if contact is not None and contact.full_name:
                title = contact.full_name
        items.append(
            TicketListItem(
                number=ticket.number,
                campaign=ticket.campaign,
                title=title,
                customer=ticket.customer,
                contact=ticket.contact,
                channel=ticket.last_channel,
                last_action=ticket.last_action,
                labels=ticket.labels,
                status=ticket.status,
                at=activity(ticket),
            )
        )
    items.sort(key=lambda i: (i.at, i.number), reverse=True)
    return tuple(items)
