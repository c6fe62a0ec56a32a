"""Ticket states: mark a ticket pending or snooze it (P1, P2, P6).

Each is one unit of work that appends its event (T11): ``ticket_pending`` or
``ticket_snoozed``. The ticket is named by number, or by campaign and customer (its
open ticket, pending and snoozed ones included, P4). A ticket due for auto-resolve
before the mark's time is resolved first (P3, :mod:`ccdomain.services.auto_resolve`),
so the mark is then refused (T3) and nothing is written (E2).
"""

from __future__ import annotations

import datetime as dt

from ccdomain import checks
from ccdomain.events import EventKind, Payload, TicketPending, TicketSnoozed
from ccdomain.models import Ticket
from ccdomain.ports import Store
from ccdomain.rules.states import paused
from ccdomain.rules.tickets import ticket_event
from ccdomain.services._common import recorder
from ccdomain.services.auto_resolve import resolve_if_due
from ccdomain.services.ticket_actions import find_ticket

__all__ = ["mark_pending", "snooze_ticket"]


def mark_pending(
    store: Store,
    *,
    number: int | None = None,
    campaign: str | None = None,
    customer: str | None = None,
    agent: str,
    at: dt.datetime,
) -> Ticket:
    """Mark an open ticket pending: waiting on the customer (P1).

    It stays the open ticket of its campaign and customer (T2); the customer's next
    inbound interaction makes it open again; an outbound one leaves it pending.

    Raises:
        UnknownTicket: no such ticket, or no open ticket for that campaign and customer.
        TicketClosed: the ticket is closed (or was due for auto-resolve before ``at``).
        RuleViolation: bad agent or time (naive, or before the ticket opened).
    """
    return _pause(store, number, campaign, customer, checks.agent(agent), checks.aware(at), None)


def snooze_ticket(
    store: Store,
    *,
    number: int | None = None,
    campaign: str | None = None,
    customer: str | None = None,
    until: dt.datetime,
    agent: str,
    at: dt.datetime,
) -> Ticket:
    """Snooze an open ticket until ``until`` or the customer's next inbound interaction (P2).

    Whichever comes first makes it open again; both are event times, never a clock.

    Raises:
        RuleViolation: ``until`` is not an aware time after ``at`` (P6); and the errors
            of :func:`mark_pending`.
    """
    until = checks.aware(until, "until")
    return _pause(store, number, campaign, customer, checks.agent(agent), checks.aware(at), until)


def _pause(
    store: Store,
    number: int | None,
    campaign: str | None,
    customer: str | None,
    agent: str,
    at: dt.datetime,
    until: dt.datetime | None,
) -> Ticket:
    with store.unit_of_work() as uow:
        ticket = find_ticket(uow, number=number, campaign=campaign, customer=customer)
        if ticket.is_open:
            ticket = resolve_if_due(uow, ticket, at)
        marked = paused(ticket, at, until)
        kind = EventKind.TICKET_PENDING if until is None else EventKind.TICKET_SNOOZED
        payload: Payload = TicketPending() if until is None else TicketSnoozed(until=until)
        uow.update_ticket(marked)
        recorder(uow)(ticket_event(kind, marked, agent, at, payload))
        uow.commit()
    return marked
