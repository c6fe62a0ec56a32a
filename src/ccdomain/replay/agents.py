"""Replay of ``agent``, ``presence`` and ``assign`` lines: who takes the tickets (A1, A4, A5, R4).

Part of :mod:`ccdomain.replay`. An ``agent`` line is built by
:func:`ccdomain.assignment.make_agent` and declared by
:func:`ccdomain.assignment.declare_agent`; ``presence`` goes to
:func:`ccdomain.assignment.set_presence`; ``assign`` (the ticket by number, or by
campaign and customer; ``agent`` the agent it goes to, ``by`` who assigns it) to
:func:`ccdomain.assignment.reassign_ticket`.

R4: an identical agent declaration is already applied (a changed one replaces it,
A9); a presence change at or before the one in force is already applied (A10); an
assignment is already applied when the ticket is the agent's, or when the log holds
it (ticket, agent, time, by) on a ticket assigned again since.
"""

from __future__ import annotations

import datetime as dt

from ccdomain import assignment as asg
from ccdomain.events import TicketAssigned
from ccdomain.replay.lines import LineContext
from ccdomain.replay.outcomes import Effect, Outcome
from ccdomain.services.assignment import assignment_port

__all__ = ["on_agent", "on_assign", "on_presence"]


def on_agent(ctx: LineContext) -> Outcome:
    """An ``agent`` line: declare the agent (R4: once; a changed one replaces it, A9)."""
    at = ctx.clock()
    with ctx.blame(None):
        profile = asg.make_agent(
            ctx.text("id"),
            name=ctx.raw("name") or "",
            queues=ctx.raw("queues"),
            capacity=ctx.raw("capacity"),
        )
    port = assignment_port(ctx.uow)
    before = None if port is None else port.get_agent_state(profile.id)
    if before is not None and before.agent == profile:
        return ctx.outcome(at, detail=f"agent {profile.id!r} is already declared")
    with ctx.blame(None):
        asg.declare_agent(ctx.store, profile=profile, at=at, agent=ctx.opt_agent("by"))
    return ctx.outcome(at, Effect.AGENT_DECLARED)


def on_presence(ctx: LineContext) -> Outcome:
    """A ``presence`` line: change the agent's presence (R4, A10: an older one is applied)."""
    at = ctx.time("at")
    agent = ctx.agent()
    with ctx.blame("status"):
        status = asg.parse_presence(ctx.text("status"))
    port = assignment_port(ctx.uow)
    before = None if port is None else port.get_agent_state(agent)
    if before is not None and before.presence_at is not None and at <= before.presence_at:
        return ctx.outcome(at, detail=f"agent {agent!r} has a presence of that time or later")
    with ctx.blame("agent"):
        asg.set_presence(ctx.store, agent=agent, status=status, at=at)
    return ctx.outcome(at, Effect.PRESENCE_CHANGED)


def on_assign(ctx: LineContext) -> Outcome:
    """An ``assign`` line: give the ticket to the agent by hand (A4; R4: once)."""
    at = ctx.time("at")
    assignee = ctx.agent()
    by = ctx.agent("by")
    number = ctx.ticket_number()
    campaign = customer = None
    if number is not None:
        ticket = ctx.uow.get_ticket(number)
    else:
        if not ctx.has("campaign") and not ctx.has("customer"):
            raise ctx.fail(
                "ticket", "missing; expected a ticket number, or a campaign and a customer"
            )
        found = ctx.campaign()
        campaign, customer = found.id, ctx.customer(found)
        ticket = ctx.uow.get_open_ticket(campaign, customer)
        if ticket is None:
            tickets = ctx.uow.tickets_for_customer(customer, campaign)
            ticket = tickets[-1] if tickets else None
    if ticket is not None and (
        # The cheap test first: the log is read only when the ticket is someone else's.
        (ticket.assignee == assignee and ticket.opened_at <= at)
        or _superseded(ctx, ticket.number, assignee, at)
    ):
        return ctx.outcome(
            at, ticket=ticket.number, detail=f"ticket {ticket.number} was assigned so"
        )
    with ctx.blame(None, UnknownAgent="agent", TicketClosed="ticket", UnknownTicket="ticket"):
        done = asg.reassign_ticket(
            ctx.store,
            number=number,
            campaign=campaign,
            customer=customer,
            assignee=assignee,
            agent=by,
            at=at,
        )
    return ctx.outcome(at, Effect.TICKET_ASSIGNED, ticket=done.number)


def _superseded(ctx: LineContext, number: int, assignee: str, at: dt.datetime) -> bool:
    """Whether the log holds this assignment or a newer one of the ticket (R4, A13).

    By event time, like presence (A10): an assignment older than the ticket's latest
    changes nothing, so a second replay, which finds the later ones already written,
    leaves the ticket with the assignee the first left it with.
    """
    return any(
        type(e.payload) is TicketAssigned
        and e.ticket == number
        and (e.at > at or (e.at == at and e.payload.assignee == assignee))
        for e in ctx.uow.events()
    )
