"""Ticket states: pending, snoozed and auto-resolve, decided from event time (P1-P4).

Pure functions over records: no store, no clock; the instant is always a parameter.
:mod:`ccdomain.services.states` applies them in a unit of work, routing applies
:func:`woken` and :func:`auto_resolve_at` to every interaction, and the listings show
a ticket :func:`ticket_as_of` an instant.

- P1 :func:`paused` marks an open ticket ``pending`` (waiting on the customer); it
  stays the open ticket of its key (T2). The customer's next inbound interaction
  (at or after the mark) makes it ``open`` again
  (:func:`ccdomain.rules.tickets.woken`, which recording an interaction applies); an
  outbound one leaves it pending.
- P2 :func:`paused` with an ``until`` snoozes it: ``snoozed`` until ``until`` or the
  next inbound interaction, whichever comes first (:func:`ticket_as_of`).
- P3 :func:`auto_resolve_at`: a campaign's ``auto_resolve_after_h`` resolves an open,
  pending or snoozed ticket at its last interaction + H, actor ``system``
  (:data:`SYSTEM`); :func:`ticket_as_of` shows it resolved after that instant.
- P4 :data:`OPEN_STATES`: ``open``, ``pending`` and ``snoozed`` count as open (T2, T6,
  A2 capacity); ``resolved``, ``typified`` and ``cancelled`` are closed.

Decisions taken where DESIGN.md is silent (ids continue the P list of docs/rules.md):

- P5 The auto-resolve window is measured from the ticket's last interaction (its
  opening when it has none); marking it pending or snoozed is not an interaction.
  A ticket is due when more than H hours passed: an interaction exactly H hours after
  the last one still joins it (T1), one later first resolves it at last + H (T3).
- P6 A pending or snoozed mark is refused on a closed ticket (T3) and at a time
  before the ticket opened (T16); marking a snoozed ticket pending (or the reverse)
  replaces the mark. A snooze ``until`` must be after the mark's time.
- P7 An inbound interaction that happened before the mark (a late delivery, T10)
  does not wake the ticket.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import attrs

from ccdomain.errors import RuleViolation
from ccdomain.models import Campaign, Ticket, TicketStatus
from ccdomain.rules.tickets import check_close_time, closed, pending_ended, require_open

__all__ = [
    "OPEN_STATES",
    "SYSTEM",
    "auto_resolve_at",
    "is_due",
    "paused",
    "ticket_as_of",
]

OPEN_STATES: Final = frozenset({TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.SNOOZED})
"""The statuses that count as open (P4): the ticket is its key's open ticket (T2)."""

SYSTEM: Final = "system"
"""The actor of what the library decides by itself: auto-resolve (P3), auto-assignment (A6)."""

_OPEN = TicketStatus.OPEN
_PENDING = TicketStatus.PENDING
_SNOOZED = TicketStatus.SNOOZED


def paused(ticket: Ticket, at: dt.datetime, until: dt.datetime | None = None) -> Ticket:
    """The ticket marked pending at ``at`` (P1), or snoozed until ``until`` (P2).

    >>> import datetime as dt
    >>> from ccdomain.models import Direction
    >>> t0 = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
    >>> ticket = Ticket(number=1, campaign="ventas", customer="+51987654321",
    ...                 origin=Direction.INBOUND, opened_at=t0)
    >>> paused(ticket, t0).status.value, paused(ticket, t0, t0 + dt.timedelta(hours=2)).status.value
    ('pending', 'snoozed')

    Raises:
        TicketClosed: the ticket is closed (T3).
        RuleViolation: ``at`` is before the ticket opened (T16), or ``until`` is not
            after ``at`` (P6).
    """
    action = "snooze" if until is not None else "mark pending"
    require_open(ticket, action)
    check_close_time(ticket, at)
    if until is not None and until <= at:
        raise RuleViolation(
            f"snooze until {until.isoformat()} is not after {at.isoformat()}; "
            "expected a time after the snooze (P6)"
        )
    status = _SNOOZED if until is not None else _PENDING
    return attrs.evolve(
        ticket,
        status=status,
        paused_at=at,
        snoozed_until=until,
        pending_spans=pending_ended(ticket, at),
    )


def auto_resolve_at(ticket: Ticket, campaign: Campaign) -> dt.datetime | None:
    """When an open ticket is resolved for silence (P3, P5): last interaction + H, or None.

    None when the campaign has no ``auto_resolve_after_h`` or the ticket is closed.
    """
    hours = campaign.auto_resolve_after_h
    if hours is None or not ticket.is_open:
        return None
    last = ticket.last_activity_at or ticket.opened_at
    return last + dt.timedelta(hours=hours)


def is_due(ticket: Ticket, campaign: Campaign, at: dt.datetime) -> dt.datetime | None:
    """The instant the ticket was auto-resolved when that is before ``at`` (P3, P5), else None."""
    due = auto_resolve_at(ticket, campaign)
    return due if due is not None and due < at else None


def ticket_as_of(ticket: Ticket, campaign: Campaign | None, at: dt.datetime) -> Ticket:
    """The ticket as it stands at instant ``at`` (P2, P3).

    A ticket due for auto-resolve before ``at`` reads resolved at its due instant by
    :data:`SYSTEM`; a snoozed ticket whose ``until`` is at or before ``at`` reads open.
    Otherwise the ticket as stored.
    """
    if campaign is not None:
        due = is_due(ticket, campaign, at)
        if due is not None:
            return closed(ticket, TicketStatus.RESOLVED, SYSTEM, due)
    until = ticket.snoozed_until
    if ticket.status is _SNOOZED and until is not None and until <= at:
        return attrs.evolve(ticket, status=_OPEN, snoozed_until=None)
    return ticket
