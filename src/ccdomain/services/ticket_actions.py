"""Ticket actions: close (resolve, typify, cancel), label and assign a ticket (T3, T8, T16, I2).

Each action is one unit of work that appends its event (T11). A ticket is named
by number, or by campaign and customer (its open ticket).

- T3 :func:`resolve_ticket`, :func:`typify_ticket` (T8, checked against the
  campaign's :class:`~ccdomain.rules.tickets.TypificationTree`) and
  :func:`cancel_ticket` (which also removes the case comments, I2) close a
  ticket; a closed ticket never reopens.
- T16 (decision) A ticket cannot be closed at a time before it was opened.
  Labels can be set on closed tickets (they are reporting metadata,
  :func:`label_ticket`); assignment needs an open ticket (:func:`assign_ticket`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from ccdomain import checks
from ccdomain._deprecation import accepts_old_call, warn_deprecated
from ccdomain.errors import InvalidPhoneNumber, RuleViolation, UnknownTicket
from ccdomain.errors import show as _show
from ccdomain.events import (
    EventKind,
    TicketAssigned,
    TicketCancelled,
    TicketLabelled,
    TicketResolved,
)
from ccdomain.models import Ticket, TicketStatus, Typification
from ccdomain.phones import normalize_phone
from ccdomain.ports import Store, UnitOfWork
from ccdomain.rules.tickets import (
    TypificationTree,
    check_close_time,
    closed,
    require_open,
    ticket_event,
    typified_payload,
)
from ccdomain.services._common import get_campaign, recorder
from ccdomain.services.assignment import assignee_changed, release_closed
from ccdomain.services.auto_resolve import resolve_if_due

__all__ = [
    "TypifyResult",
    "assign_ticket",
    "cancel_ticket",
    "find_ticket",
    "label_ticket",
    "resolve_ticket",
    "typify_ticket",
]


@attrs.frozen(kw_only=True)
class TypifyResult:
    """A typified ticket: the ticket as closed and the typification record made (T3, T8).

    Unpacking it as the pair :func:`typify_ticket` used to return
    (``ticket, typification = typify_ticket(...)``) still works until 1.0, with a
    DeprecationWarning: read the fields instead.
    """

    ticket: Ticket
    typification: Typification

    def __iter__(self) -> Iterator[Any]:
        warn_deprecated(
            "unpacking typify_ticket()'s result as a pair",
            "its .ticket and .typification",
        )
        return iter((self.ticket, self.typification))


def _customer_keys(raw: object, region: str) -> tuple[str, ...]:
    """The addresses a customer typed without a channel may be stored under."""
    try:
        return (normalize_phone(raw, region),)
    except InvalidPhoneNumber:
        pass
    value = checks.identifier(raw, "customer", limit=checks.ADDRESS_MAX)
    return (value, value.lower()) if value != value.lower() else (value,)


def find_ticket(
    uow: UnitOfWork,
    *,
    number: object,
    campaign: object,
    customer: object,
    latest_if_none_open: bool = False,
) -> Ticket:
    """The ticket an action names: by number, else the customer's open ticket in a campaign.

    With ``latest_if_none_open`` a customer without an open ticket names their latest
    ticket in the campaign (T19).

    Raises:
        UnknownTicket: no such ticket, or no (open) ticket of the customer there.
        UnknownCampaign: the campaign is not declared.
        RuleViolation: the numbered ticket is of another campaign, or bad input.
    """
    if number is not None:
        ticket = uow.get_ticket(checks.ticket_number(number, "ticket number", UnknownTicket))
        if ticket is None:
            raise UnknownTicket(f"ticket {_show(number)} does not exist; expected a ticket number")
        if campaign is not None and checks.identifier(campaign, "campaign") != ticket.campaign:
            raise RuleViolation(
                f"ticket {ticket.number} belongs to campaign {ticket.campaign!r}, "
                f"not {_show(campaign)}"
            )
        return ticket
    if campaign is None or customer is None:
        raise UnknownTicket(
            f"no ticket named: expected a ticket number, or a campaign and a customer "
            f"(got campaign {_show(campaign)}, customer {_show(customer)})"
        )
    found = get_campaign(uow, checks.identifier(campaign, "campaign"))
    keys = _customer_keys(customer, found.region)
    for key in keys:
        ticket = uow.get_open_ticket(found.id, key)
        if ticket is not None:
            return ticket
    if latest_if_none_open:
        for key in keys:
            tickets = uow.tickets_for_customer(key, found.id)
            if tickets:
                return tickets[-1]
    raise UnknownTicket(
        f"customer {_show(customer)} has no open ticket in campaign {found.id!r}; "
        "expected an open ticket to act on"
    )


def _to_close(
    uow: UnitOfWork,
    action: str,
    at: dt.datetime,
    *,
    number: object,
    campaign: object = None,
    customer: object = None,
) -> Ticket:
    """The open ticket an action closes at ``at`` (T3, T16)."""
    ticket = find_ticket(uow, number=number, campaign=campaign, customer=customer)
    if ticket.is_open:  # a ticket due for auto-resolve before ``at`` was resolved then (P3)
        ticket = resolve_if_due(uow, ticket, at)
    require_open(ticket, action)
    check_close_time(ticket, at)
    return ticket


def resolve_ticket(
    store: Store,
    *,
    number: int | None = None,
    campaign: str | None = None,
    customer: str | None = None,
    agent: str,
    at: dt.datetime,
) -> Ticket:
    """Close a ticket as resolved (T3), named by number or by campaign and customer.

    Raises:
        UnknownTicket: no such ticket, or no open ticket for that campaign and customer.
        TicketClosed: the ticket is already closed.
        RuleViolation: bad agent or time (naive, or before the ticket opened).
    """
    agent = checks.agent(agent)
    at = checks.aware(at)
    with store.unit_of_work() as uow:
        ticket = _to_close(uow, "resolve", at, number=number, campaign=campaign, customer=customer)
        done = closed(ticket, TicketStatus.RESOLVED, agent, at)
        uow.update_ticket(done)
        recorder(uow)(ticket_event(EventKind.TICKET_RESOLVED, done, agent, at, TicketResolved()))
        release_closed(uow, done, at)
        uow.commit()
    return done


def typify_ticket(
    store: Store,
    *,
    number: int | None = None,
    campaign: str | None = None,
    customer: str | None = None,
    agent: str,
    at: dt.datetime,
    path: Sequence[str],
    comment: str = "",
) -> TypifyResult:
    """Typify and close a ticket (T3, T8): the path must be in the campaign's tree.

    The record keeps the time, the ticket's last channel, its line, the customer,
    the agent, the path and the comment.

    Returns:
        The :class:`TypifyResult`: the ticket as closed and the typification record.

    Raises:
        InvalidTypification: the path is not a root-to-leaf path of the tree (T14).
        UnknownTicket, TicketClosed, RuleViolation: as :func:`resolve_ticket`.
    """
    agent = checks.agent(agent)
    at = checks.aware(at)
    comment = checks.text(comment, "comment", limit=checks.COMMENT_MAX)
    with store.unit_of_work() as uow:
        ticket = _to_close(uow, "typify", at, number=number, campaign=campaign, customer=customer)
        tree = TypificationTree.from_campaign(get_campaign(uow, ticket.campaign))
        labels = tree.validate(path)
        done = closed(ticket, TicketStatus.TYPIFIED, agent, at)
        record = Typification(
            ticket=ticket.number,
            campaign=ticket.campaign,
            at=at,
            path=labels,
            customer=ticket.customer,
            agent=agent,
            channel=ticket.last_channel,
            line=ticket.line,
            comment=comment,
        )
        uow.update_ticket(done)
        uow.add_typification(record)
        recorder(uow)(
            ticket_event(EventKind.TICKET_TYPIFIED, done, agent, at, typified_payload(record))
        )
        release_closed(uow, done, at)
        uow.commit()
    return TypifyResult(ticket=done, typification=record)


@accepts_old_call(("number", "agent", "at"))
def cancel_ticket(store: Store, *, number: int, agent: str, at: dt.datetime) -> Ticket:
    """Cancel a case (T3): close it as cancelled and remove its comments (I2).

    Raises:
        UnknownTicket, TicketClosed, RuleViolation: as :func:`resolve_ticket`.
    """
    agent = checks.agent(agent)
    at = checks.aware(at)
    with store.unit_of_work() as uow:
        ticket = _to_close(uow, "cancel", at, number=number)
        removed = len(uow.comments(ticket.number))
        done = closed(ticket, TicketStatus.CANCELLED, agent, at)
        uow.update_ticket(done)
        uow.delete_comments(ticket.number)
        recorder(uow)(
            ticket_event(
                EventKind.TICKET_CANCELLED,
                done,
                agent,
                at,
                TicketCancelled(comments_removed=removed),
            ),
        )
        release_closed(uow, done, at)
        uow.commit()
    return done


def label_ticket(
    store: Store, *, number: int, labels: Sequence[str], agent: str, at: dt.datetime
) -> Ticket:
    """Replace a ticket's labels (deduplicated, in the order given); allowed when closed (T16).

    Raises:
        UnknownTicket: no such ticket. RuleViolation: a label is blank or too long.
    """
    agent = checks.agent(agent)
    at = checks.aware(at)
    clean = tuple(
        dict.fromkeys(
            checks.identifier(label, "label", limit=checks.LABEL_MAX)
            for label in checks.items(labels, "labels")
        )
    )
    with store.unit_of_work() as uow:
        ticket = find_ticket(uow, number=number, campaign=None, customer=None)
        if ticket.labels == clean:
            return ticket
        updated = attrs.evolve(ticket, labels=clean)
        uow.update_ticket(updated)
        labelled = TicketLabelled(labels=clean)
        recorder(uow)(ticket_event(EventKind.TICKET_LABELLED, updated, agent, at, labelled))
        uow.commit()
    return updated


@accepts_old_call(("number", "assignee", "agent", "at"))
def assign_ticket(
    store: Store, *, number: int, assignee: str | None, agent: str, at: dt.datetime
) -> Ticket:
    """Assign an open ticket to an agent (``None`` unassigns it); needs an open ticket (T16).

    Raises:
        UnknownTicket: no such ticket. TicketClosed: the ticket is closed.
        RuleViolation: bad assignee, agent or time.
    """
    agent = checks.agent(agent)
    at = checks.aware(at)
    assignee = checks.actor(assignee, "assignee")
    with store.unit_of_work() as uow:
        ticket = find_ticket(uow, number=number, campaign=None, customer=None)
        require_open(ticket, "assign")
        if ticket.assignee == assignee:
            return ticket
        updated = attrs.evolve(ticket, assignee=assignee)
        uow.update_ticket(updated)
        recorder(uow)(
            ticket_event(
                EventKind.TICKET_ASSIGNED, updated, agent, at, TicketAssigned(assignee=assignee)
            ),
        )
        assignee_changed(uow, ticket, updated, at)
        uow.commit()
    return updated
