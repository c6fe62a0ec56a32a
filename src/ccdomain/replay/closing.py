"""Replay of ``resolve``, ``typify``, ``cancel`` and ``link`` lines: a ticket closed or linked.

Part of :mod:`ccdomain.replay`. A closing names its ticket by number, or by campaign
and customer (the customer read in the campaign's region, R5: the customer's open
ticket); it goes to :func:`ccdomain.tickets.resolve_ticket`,
:func:`ccdomain.tickets.typify_ticket` (T8) or :func:`ccdomain.tickets.cancel_ticket`.
A ``link`` names the ticket the same way, else takes the customer's ticket open at
the event time, else the open one, else the latest (:func:`ticket_at`, also R7's
choice for a promise); its contact code follows merge tombstones (R5).

R4: a closing whose ticket was already closed that way, at that time, by that agent (and
for a typify, with that path) is already applied; a ticket closed otherwise refuses it
(T3). A link to the contact the ticket is already linked to is already applied, and so
is a link the log records (ticket, contact, time, agent) of a ticket a later line linked
to another contact, or of another ticket of the customer (a later line opened the one it
would take now). When the customer or the contact was anonymized since (I4), the address
or code the line names is gone: a closing or a link naming a customer without tickets is
already applied when the store records that closing or link (kind, campaign, time,
agent, path) of an anonymized ticket or contact, and a link naming a code the store
lost, of a ticket linked to an anonymized contact, is already applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

from ccdomain import checks
from ccdomain import contacts as ct
from ccdomain import tickets as tk
from ccdomain.events import ContactLinked, EventKind, LinkHow
from ccdomain.models import Campaign, Ticket, TicketStatus
from ccdomain.ports import UnitOfWork
from ccdomain.replay.lines import LineContext
from ccdomain.replay.outcomes import Effect, EventRejected, Outcome
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
    *,
    before_replay: bool = False,
) -> Ticket | None:
    """The ticket of an anonymized customer this closing closed (R4, I4).

    The line names the customer by the address anonymization replaced: its ticket is
    found by the closing event it recorded (kind, campaign, time, agent, path).
    """
    kind = _CLOSING_EVENTS[ctx.type]
    for event in ctx.anonymized_events(at, before_replay=before_replay):
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
        if ctx.memos is not None:  # and the customer's tickets anonymized since (I4)
            candidates += ctx.memos.anonymized.tickets_of(ctx.uow, campaign.id, customer)
    done = _closed_by_same(ctx, candidates, at, agent, path)
    # The customer's address may have been anonymized since (I4): the closing is recorded
    # on the anonymous ticket, and the address may hold a newer ticket the line must not
    # close. A replay reads what was anonymized before it began; apply_event alone, for a
    # customer without tickets only. A closing that would fail is looked up too (below).
    lookup = ctx.memos is not None or not candidates
    if done is None and number is None and campaign is not None and lookup:
        done = _closed_anonymized(
            ctx, campaign, at, agent, path, before_replay=ctx.memos is not None
        )
    if done is not None:
        return ctx.outcome(
            at, ticket=done.number, detail=f"ticket {done.number} is already closed so"
        )
    try:
        return _close(ctx, number, campaign, customer, at, agent, path, comment)
    except EventRejected:
        again = (
            None
            if number is not None or campaign is None
            else _closed_anonymized(ctx, campaign, at, agent, path)
        )
        if again is None:
            raise
        return ctx.outcome(
            at, ticket=again.number, detail=f"ticket {again.number} is already closed so"
        )


def _close(
    ctx: LineContext,
    number: int | None,
    campaign: Campaign | None,
    customer: str | None,
    at: dt.datetime,
    agent: str,
    path: tuple[str, ...] | None,
    comment: str,
) -> Outcome:
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


def _already_linked(ctx: LineContext, ticket: Ticket, at: dt.datetime, agent: str | None) -> bool:
    """Whether anonymized ``ticket`` holds this link: to the contact the line names, or,
    when its code is gone, to a contact anonymized since (R4, I4)."""
    raw = ctx.text("contact")
    if ctx.uow.get_contact(ticket.campaign, raw) is not None:
        code = ct.live_contact(ctx.uow, ticket.campaign, raw).code
        return ticket.contact == code or _linked_before(ctx, ticket.number, code, agent, at)
    held = None if ticket.contact is None else ctx.uow.get_contact(ticket.campaign, ticket.contact)
    return held is not None and held.anonymized


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
    ctx: LineContext,
    campaign: Campaign,
    customer: str,
    at: dt.datetime,
    agent: str | None,
    *,
    before_replay: bool = False,
) -> int | None:
    """The ticket this link linked, which anonymization took from the line (R4, I4).

    Its event (campaign, time, agent) is recorded on a ticket of an anonymous customer
    or to a contact anonymized since, to the contact the line names when it still
    exists. In a replay, a later link of the same customer to the same code repeated
    one found so (it recorded nothing): it is on the same ticket.
    """
    memo = ctx.memos.anonymized if ctx.memos is not None else None
    raw = ctx.text("contact")
    key = (campaign.id, customer, raw)
    if memo is not None and key in memo.linked:
        return memo.linked[key]
    live = ctx.uow.get_contact(campaign.id, raw)
    code = None if live is None else ct.live_contact(ctx.uow, campaign.id, raw).code
    for event in ctx.anonymized_events(at, before_replay=before_replay):
        if (
            event.kind is not EventKind.CONTACT_LINKED
            or (event.campaign, event.actor) != (campaign.id, agent)
            or event.contact is None
            or event.ticket is None
        ):
            continue
        if code is not None:
            ticket = ctx.uow.get_ticket(event.ticket) if event.contact == code else None
            found = ticket is not None and is_anonymous_address(ticket.customer)
        else:
            contact = ctx.uow.get_contact(campaign.id, event.contact)
            found = contact is not None and contact.anonymized
        if found:
            if memo is not None:
                memo.linked[key] = event.ticket
            return event.ticket
    return None


def _linked_before(
    ctx: LineContext, number: int, code: str, agent: str | None, at: dt.datetime
) -> bool:
    """Whether the log holds this very link: ticket, contact, time and agent (T19)."""
    return any(
        type(e.payload) is ContactLinked
        and e.payload.how is LinkHow.MANUAL
        and (e.ticket, e.contact, e.at, e.actor) == (number, code, at, agent)
        for e in ctx.uow.events()
    )


def _link_across(
    ctx: LineContext, ticket: Ticket, home: Campaign, agent: str | None, at: dt.datetime
) -> Outcome | None:
    """X5: a ``link`` naming a contact of another campaign (``from_campaign``, or a code the
    ticket's campaign lacks and one other campaign holds) copies it and links the copy.

    None when the line names a contact of the ticket's own campaign. R4: a ticket
    already linked to the copy is already applied.
    """
    source = ctx.opt_text("from_campaign")
    code = ctx.text("contact")
    if source is not None and ctx.uow.get_campaign(source) is None:
        raise ctx.fail("from_campaign", f"campaign {source!r} is not declared")
    if source is None or source == home.id:
        if source is not None or ctx.uow.get_contact(home.id, code) is not None:
            return None
        if not any(
            c.id != home.id and ctx.uow.get_contact(c.id, code) is not None
            for c in ctx.uow.list_campaigns()
        ):
            return None
    if ticket.contact is not None and source is not None:
        origin = ctx.uow.get_contact(source, code)
        if origin is not None and ticket.contact in {code, origin.merged_into}:
            return ctx.outcome(
                at, ticket=ticket.number, detail=f"ticket {ticket.number} is linked to {code!r}"
            )
    before = ticket.contact
    new_code = ctx.uow.get_contact(home.id, code) is None
    with ctx.blame(
        None,
        UnknownContact="contact",
        DuplicateContact="contact",
        UnknownCampaign="from_campaign",
    ):
        linked = tk.link_ticket(
            ctx.store,
            number=ticket.number,
            contact=code,
            from_campaign=source,
            agent=agent,
            at=at,
        )
    if linked.contact == before:
        return ctx.outcome(
            at, ticket=ticket.number, detail=f"ticket {ticket.number} is linked to {before!r}"
        )
    created = (Effect.CONTACT_CREATED,) if new_code and ctx.uow.get_contact(home.id, code) else ()
    return ctx.outcome(at, *created, Effect.CONTACT_LINKED, ticket=ticket.number)


def on_link(ctx: LineContext) -> Outcome:
    """A ``link`` line: link the ticket to a contact (R4: once; R5: the live contact)."""
    at = ctx.clock()
    number, campaign, customer = _closing_target(ctx)
    agent = ctx.opt_agent()
    if number is None:
        assert campaign is not None and customer is not None
        if ctx.memos is not None:
            # As a closing: the link is recorded on the customer's ticket anonymized since,
            # and the address may hold a newer ticket this line must not link (I4).
            linked = _linked_anonymized(ctx, campaign, customer, at, agent, before_replay=True)
            if linked is not None:
                return ctx.outcome(at, ticket=linked, detail=f"ticket {linked} was linked so")
        chosen = ticket_at(ctx.uow, campaign.id, customer, at)
        if ctx.memos is not None:
            # The customer's tickets anonymized since (I4), found by this replay's lines:
            # the one the line took the first time may be one of them.
            hidden = ctx.memos.anonymized.tickets_of(ctx.uow, campaign.id, customer)
            taken = (_covering(hidden, at) or hidden[-1]) if hidden else None
            if taken is not None and _already_linked(ctx, taken, at, agent):
                return ctx.outcome(
                    at, ticket=taken.number, detail=f"ticket {taken.number} was linked so"
                )
        if chosen is None:
            linked = _linked_anonymized(ctx, campaign, customer, at, agent)
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
    copied = _link_across(ctx, ticket, home, agent, at)
    if copied is not None:
        return copied
    try:
        code = ctx.contact_code(home, stored=ticket.contact)
    except EventRejected:
        # The code is gone: the link may be recorded to the contact anonymized since,
        # on a ticket of the customer the line can no longer find (I4).
        linked = _linked_anonymized(ctx, home, customer or f"#{ticket.number}", at, agent)
        if linked is None:
            raise
        return ctx.outcome(at, ticket=linked, detail=f"ticket {linked} was linked so")
    if ticket.contact == code:
        return ctx.outcome(
            at, ticket=ticket.number, detail=f"ticket {ticket.number} is linked to {code!r}"
        )
    # This very link may be in the log on a ticket that no longer looks so: relinked by a
    # later line of the file, or another ticket of the customer than the one chosen now
    # (a later line opened one at this time). Read only when such a ticket exists.
    suspects = [ticket] if ticket.contact is not None else []
    if number is None:
        assert customer is not None
        suspects += [
            t
            for t in ctx.uow.tickets_for_customer(customer, ticket.campaign)
            if t.contact == code and t.number != ticket.number
        ]
    for suspect in suspects:
        if _linked_before(ctx, suspect.number, code, agent, at):
            return ctx.outcome(
                at, ticket=suspect.number, detail=f"ticket {suspect.number} was linked so"
            )
    with ctx.blame(None, UnknownContact="contact"):
        tk.link_ticket(ctx.store, number=ticket.number, contact=code, agent=agent, at=at)
    return ctx.outcome(at, Effect.CONTACT_LINKED, ticket=ticket.number)
