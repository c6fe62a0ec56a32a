"""Replay of ``resolve``, ``typify``, ``cancel`` and ``link`` lines: a ticket closed or linked.

Part of :mod:`ccdomain.replay`. A closing names its ticket by number, or by campaign
and customer (the customer read in the campaign's region, R5: the customer's open
ticket); it goes to :func:`ccdomain.tickets.resolve_ticket`,
:func:`ccdomain.tickets.typify_ticket` (T8) or :func:`ccdomain.tickets.cancel_ticket`.
A ``link`` names the ticket the same way, else takes the customer's ticket open at
the event time, else the open one, else the latest (:func:`ticket_at`, also R7's
choice for a promise); its contact code follows merge tombstones (R5).

R4: a closing whose ticket was already closed that way, at that time, by that agent
(and for a typify, with that path) is already applied; a ticket closed otherwise
refuses it (T3). A link to the contact the ticket is already linked to is already
applied. When the customer or the contact was anonymized since (I4), the address or
code the line names is gone: a closing or a link naming a customer without tickets
is already applied when the store records that closing or link (kind, campaign,
time, agent, path) of an anonymized ticket or contact, and a link naming a code the
store lost, of a ticket linked to an anonymized contact, is already applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

from ccdomain import checks
from ccdomain import tickets as tk
from ccdomain.events import EventKind
from ccdomain.models import Campaign, Ticket, TicketStatus
from ccdomain.ports import UnitOfWork
from ccdomain.replay.lines import LineContext
from ccdomain.replay.outcomes import Effect, Outcome
from ccdomain.rules.identities import is_anonymous_address

__all__ = ["on_closing", "on_link", "ticket_at"]

_CLOSED_AS: Final = {
    "resolve": TicketStatus.RESOLVED,
    "typify": TicketStatus.TYPIFIED,
    "cancel": TicketStatus.CANCELLED,
}


def _closing_target(ctx: LineContext) -> tuple[int | None, Campaign | None, str | None]:
    """The ticket number, or the campaign and normalized customer, a closing names."""
    number = ctx.ticket_number()
    if number is not None:
        campaign = ctx.campaign() if ctx.has("campaign") else None
        if campaign is not None:
            ticket = ctx.uow.get_ticket(number)
            if ticket is not None and ticket.campaign != campaign.id:
                raise ctx.fail(
                    "campaign", f"ticket {number} belongs to campaign {ticket.campaign!r}"
                )
        return number, campaign, None
    if not ctx.has("campaign") and not ctx.has("customer"):
        raise ctx.fail("ticket", "missing; expected a ticket number, or a campaign and a customer")
    campaign = ctx.campaign()
    return None, campaign, ctx.customer(campaign)


def _closed_by_same(
    ctx: LineContext,
    tickets: Iterable[Ticket],
    at: dt.datetime,
    agent: str,
    path: tuple[str, ...] | None,
) -> Ticket | None:
    status = _CLOSED_AS[ctx.type]
    for ticket in tickets:
        if (
            ticket.status is status
            and ticket.closed_at == at
            and ticket.closed_by == agent
            and (
                path is None
                or any(t.path == path and t.at == at for t in ctx.uow.typifications(ticket.number))
            )
        ):
            return ticket
    return None


_CLOSING_EVENTS: Final = {
    "resolve": EventKind.TICKET_RESOLVED,
    "typify": EventKind.TICKET_TYPIFIED,
    "cancel": EventKind.TICKET_CANCELLED,
}


def _closed_anonymized(
    ctx: LineContext,
    campaign: Campaign,
    at: dt.datetime,
    agent: str,
    path: tuple[str, ...] | None,
) -> Ticket | None:
    """The ticket of an anonymized customer this closing closed (R4, I4).

    The line names the customer by the address anonymization replaced: its ticket is
    found by the closing event it recorded (kind, campaign, time, agent, path).
    """
    kind = _CLOSING_EVENTS[ctx.type]
    for event in ctx.anonymized_events(at):
        if (
            event.kind is kind
            and event.campaign == campaign.id
            and event.actor == agent
            and event.ticket is not None
            and (path is None or getattr(event.payload, "path", None) == path)
        ):
            ticket = ctx.uow.get_ticket(event.ticket)
            if ticket is not None and is_anonymous_address(ticket.customer):
                return ticket
    return None


def on_closing(ctx: LineContext) -> Outcome:
    """A ``resolve``, ``typify`` or ``cancel`` line: close the ticket so (R4: once)."""
    at = ctx.time("at")
    agent = ctx.agent()
    number, campaign, customer = _closing_target(ctx)
    path: tuple[str, ...] | None = None
    comment = ""
    if ctx.type == "typify":
        path = ctx.checked("path", checks.path)
        if path is None:
            raise ctx.fail("path", "missing; expected a list of labels")
        comment = ctx.free_text("comment", limit=checks.COMMENT_MAX) or ""
    if number is not None:
        ticket = ctx.uow.get_ticket(number)
        candidates: list[Ticket] = [] if ticket is None else [ticket]
    else:
        assert campaign is not None and customer is not None
        candidates = list(ctx.uow.tickets_for_customer(customer, campaign.id))
    done = _closed_by_same(ctx, candidates, at, agent, path)
    if done is None and not candidates and campaign is not None:
        done = _closed_anonymized(ctx, campaign, at, agent, path)
    if done is not None:
        return ctx.outcome(
            at, ticket=done.number, detail=f"ticket {done.number} is already closed so"
        )
    blame = {"InvalidTypification": "path", "TicketClosed": "ticket", "UnknownTicket": "ticket"}
    where: dict[str, Any] = (
        {"number": number}
        if number is not None
        else {"campaign": campaign.id if campaign else None, "customer": customer}
    )
    with ctx.blame(None, **blame):
        if ctx.type == "resolve":
            closed = tk.resolve_ticket(ctx.store, agent=agent, at=at, **where)
        elif ctx.type == "typify":
            assert path is not None
            closed = tk.typify_ticket(
                ctx.store, agent=agent, at=at, path=path, comment=comment, **where
            ).ticket
        else:
            if number is None:
                found = ctx.uow.get_open_ticket(where["campaign"], where["customer"])
                if found is None:
                    raise ctx.fail(
                        "customer",
                        f"{customer!r} has no open ticket in campaign {where['campaign']!r}",
                    )
                number = found.number
            closed = tk.cancel_ticket(ctx.store, number=number, agent=agent, at=at)
    return ctx.outcome(at, Effect.TICKET_CLOSED, ticket=closed.number)


def _covering(tickets: Iterable[Ticket], at: dt.datetime) -> Ticket | None:
    """The ticket that was open at ``at`` (the latest opened when several were)."""
    found: Ticket | None = None
    for ticket in tickets:
        closed_at = ticket.closed_at
        covers = ticket.opened_at <= at and (closed_at is None or at <= closed_at)
        if covers and (found is None or ticket.opened_at >= found.opened_at):
            found = ticket
    return found


def ticket_at(uow: UnitOfWork, campaign: str, customer: str, at: dt.datetime) -> Ticket | None:
    """The customer's ticket open at ``at``, else the open one, else the latest (T19, R7)."""
    tickets = uow.tickets_for_customer(customer, campaign)
    chosen = _covering(tickets, at) or uow.get_open_ticket(campaign, customer)
    if chosen is None and tickets:
        chosen = tickets[-1]
    return chosen


def _linked_anonymized(
    ctx: LineContext, campaign: Campaign, at: dt.datetime, agent: str | None
) -> int | None:
    """The ticket this link linked to a contact anonymized since (R4, I4), by its event."""
    for event in ctx.anonymized_events(at):
        if (
            event.kind is EventKind.CONTACT_LINKED
            and event.campaign == campaign.id
            and event.actor == agent
            and event.contact is not None
        ):
            contact = ctx.uow.get_contact(campaign.id, event.contact)
            if contact is not None and contact.anonymized:
                return event.ticket
    return None


def on_link(ctx: LineContext) -> Outcome:
    """A ``link`` line: link the ticket to a contact (R4: once; R5: the live contact)."""
    at = ctx.clock()
    number, campaign, customer = _closing_target(ctx)
    agent = ctx.opt_agent()
    if number is None:
        assert campaign is not None and customer is not None
        chosen = ticket_at(ctx.uow, campaign.id, customer, at)
        if chosen is None:
            linked = _linked_anonymized(ctx, campaign, at, agent)
            if linked is not None:
                return ctx.outcome(at, ticket=linked, detail=f"ticket {linked} was linked so")
            raise ctx.fail("customer", f"{customer!r} has no ticket in campaign {campaign.id!r}")
        ticket = chosen
    else:
        found = ctx.uow.get_ticket(number)
        assert found is not None  # ticket_number() checked it
        ticket = found
    home = ctx.uow.get_campaign(ticket.campaign)
    assert home is not None  # a stored ticket's campaign is declared
    code = ctx.contact_code(home, stored=ticket.contact)
    if ticket.contact == code:
        return ctx.outcome(
            at, ticket=ticket.number, detail=f"ticket {ticket.number} is linked to {code!r}"
        )
    with ctx.blame(None, UnknownContact="contact"):
        tk.link_ticket(ctx.store, number=ticket.number, contact=code, agent=agent, at=at)
    return ctx.outcome(at, Effect.CONTACT_LINKED, ticket=ticket.number)
