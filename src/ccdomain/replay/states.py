"""Replay of ``pending`` and ``snooze`` lines: a ticket waiting on the customer (P1, P2, R4).

Part of :mod:`ccdomain.replay`. The line names its ticket by number, or by campaign
and customer (the customer's open ticket, P4); it goes to
:func:`ccdomain.tickets.mark_pending` or :func:`ccdomain.tickets.snooze_ticket`.

R4: a mark at the time the ticket's last mark was made is already applied, also when
the customer's message has woken the ticket since (the ticket keeps the time of its
last mark); so is one the log records (ticket, kind, time, agent) on a ticket closed or
marked again since. The log is read only then: a fresh mark on an open ticket is
applied at once. Replaying a file twice leaves the ticket as one replay did.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from ccdomain import tickets as tk
from ccdomain.events import EventKind
from ccdomain.models import Ticket
from ccdomain.replay.lines import LineContext
from ccdomain.replay.outcomes import Effect, Outcome

__all__ = ["on_pending", "on_snooze"]


class _Where(NamedTuple):
    number: int | None
    campaign: str | None
    customer: str | None


def _named(ctx: LineContext, at: dt.datetime) -> tuple[Ticket | None, _Where]:
    """The ticket the line names (None when the customer has no ticket) and the
    arguments naming it for the service.

    By campaign and customer, the mark is on the key's ticket open at ``at``: a ticket
    opened after it (the key's next one, on a second replay) is not the one it marked.
    """
    number = ctx.ticket_number()
    if number is not None:
        ticket = ctx.uow.get_ticket(number)
        if ctx.has("campaign"):
            campaign = ctx.campaign()
            if ticket is not None and ticket.campaign != campaign.id:
                raise ctx.fail(
                    "campaign", f"ticket {number} belongs to campaign {ticket.campaign!r}"
                )
        return ticket, _Where(number, None, None)
    if not ctx.has("campaign") and not ctx.has("customer"):
        raise ctx.fail("ticket", "missing; expected a ticket number, or a campaign and a customer")
    campaign = ctx.campaign()
    customer = ctx.customer(campaign)
    ticket = ctx.uow.get_open_ticket(campaign.id, customer)
    if ticket is None or ticket.opened_at > at:
        # The mark may have been made on a ticket closed since (a closing, auto-resolve,
        # P3): R4 looks for it on the key's last ticket opened by then.
        tickets = ctx.uow.tickets_for_customer(customer, campaign.id)
        earlier = [t for t in tickets if t.opened_at <= at]
        ticket = earlier[-1] if earlier else (tickets[-1] if tickets else None)
    return ticket, _Where(None, campaign.id, customer)


def _already(
    ctx: LineContext, ticket: Ticket | None, kind: EventKind, at: dt.datetime, agent: str
) -> bool:
    """Whether this mark is in the store (R4): the ticket's last mark, or in the log."""
    if ticket is None:
        return False
    if ticket.paused_at == at:
        return True
    later = ticket.paused_at is not None and ticket.paused_at > at
    if ticket.is_open and not later:
        return False  # a fresh mark: nothing to look up
    return any(
        (e.kind, e.ticket, e.at, e.actor) == (kind, ticket.number, at, agent)
        for e in ctx.uow.events()
    )


def on_pending(ctx: LineContext) -> Outcome:
    """A ``pending`` line: mark the ticket pending (P1; R4: once)."""
    at = ctx.time("at")
    agent = ctx.agent()
    ticket, where = _named(ctx, at)
    if ticket is not None and _already(ctx, ticket, EventKind.TICKET_PENDING, at, agent):
        return ctx.outcome(at, ticket=ticket.number, detail="the ticket was marked so")
    with ctx.blame(None, TicketClosed="ticket", UnknownTicket="ticket"):
        marked = tk.mark_pending(
            ctx.store,
            number=where.number,
            campaign=where.campaign,
            customer=where.customer,
            agent=agent,
            at=at,
        )
    return ctx.outcome(at, Effect.TICKET_PENDING, ticket=marked.number)


def on_snooze(ctx: LineContext) -> Outcome:
    """A ``snooze`` line: snooze the ticket until ``until`` (P2; R4: once)."""
    at = ctx.time("at")
    until = ctx.time("until")
    agent = ctx.agent()
    ticket, where = _named(ctx, at)
    if ticket is not None and _already(ctx, ticket, EventKind.TICKET_SNOOZED, at, agent):
        return ctx.outcome(at, ticket=ticket.number, detail="the ticket was snoozed so")
    with ctx.blame(None, TicketClosed="ticket", UnknownTicket="ticket"):
        marked = tk.snooze_ticket(
            ctx.store,
            agent=agent,
            at=at,
            until=until,
            number=where.number,
            campaign=where.campaign,
            customer=where.customer,
        )
    return ctx.outcome(at, Effect.TICKET_SNOOZED, ticket=marked.number)
