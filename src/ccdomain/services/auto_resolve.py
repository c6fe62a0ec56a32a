"""Auto-resolve: a silent ticket is resolved at its last interaction + H (P3, P5).

Applied lazily. Routing calls :func:`resolve_if_due` before an interaction joins the
open ticket of its key (so a later interaction first resolves the old ticket at its
due instant, then opens a new one, T3), and so do the ticket actions before they act;
:func:`sweep_auto_resolve` writes every resolution due at an instant (``ccdomain
sweep``). The resolution is a ``ticket_resolved`` event by ``system`` at the due
instant, whenever it is written: writing it twice is not possible (the ticket is
closed after the first), so a replay or a sweep run twice changes nothing.
"""

from __future__ import annotations

import datetime as dt

from ccdomain import checks
from ccdomain.events import EventKind, TicketResolved
from ccdomain.models import Campaign, Ticket, TicketStatus
from ccdomain.ports import Store, UnitOfWork
from ccdomain.rules.states import SYSTEM, is_due
from ccdomain.rules.tickets import closed, ticket_event
from ccdomain.services._common import get_campaign, recorder
from ccdomain.services.assignment import release_closed

__all__ = ["resolve_if_due", "sweep_auto_resolve"]


def resolve_if_due(
    uow: UnitOfWork, ticket: Ticket, at: dt.datetime, campaign: Campaign | None = None
) -> Ticket:
    """The ticket as of ``at``: resolved by ``system`` at its due instant when it was due
    before ``at`` (P3), the resolution written through ``uow``; else unchanged.

    ``campaign`` is the ticket's campaign when the caller holds it (else read).
    """
    if campaign is None:
        campaign = get_campaign(uow, ticket.campaign)
    if campaign.auto_resolve_after_h is None:
        return ticket
    due = is_due(ticket, campaign, at)
    if due is None:
        return ticket
    done = closed(ticket, TicketStatus.RESOLVED, SYSTEM, due)
    uow.update_ticket(done)
    recorder(uow)(ticket_event(EventKind.TICKET_RESOLVED, done, SYSTEM, due, TicketResolved()))
    release_closed(uow, done, due)
    return done


def sweep_auto_resolve(store: Store, *, as_of: dt.datetime) -> tuple[Ticket, ...]:
    """Resolve every open ticket due for auto-resolve before ``as_of`` (P3), in one unit of work.

    Returns:
        The tickets resolved now, by number (empty when none was due: a second sweep at
        the same instant changes nothing).

    Raises:
        RuleViolation: ``as_of`` is not an aware datetime.
    """
    as_of = checks.aware(as_of, "as_of")
    resolved: list[Ticket] = []
    with store.unit_of_work() as uow:
        for campaign in uow.list_campaigns():
            if campaign.auto_resolve_after_h is None:
                continue
            for ticket in uow.list_tickets(campaign.id):
                if ticket.is_open:
                    done = resolve_if_due(uow, ticket, as_of, campaign)
                    if done is not ticket:
                        resolved.append(done)
        uow.commit()
    return tuple(sorted(resolved, key=lambda t: t.number))
