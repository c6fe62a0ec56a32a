"""Domain events (T11): every change is an event with time and actor.

The ticket and typification reports can be rebuilt from the event log alone
(see :func:`ccdomain.tickets.rebuild_tickets`). Events are append-only: a store
numbers them in the order it records them.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

__all__ = ["Event", "EventKind"]


class EventKind(enum.StrEnum):
    """What happened."""

    CAMPAIGN_DECLARED = "campaign_declared"
    LINE_DECLARED = "line_declared"
    CONTACT_CREATED = "contact_created"
    CONTACT_UPDATED = "contact_updated"
    CONTACT_LINKED = "contact_linked"
    CONTACTS_MERGED = "contacts_merged"
    TICKET_OPENED = "ticket_opened"
    INTERACTION_ADDED = "interaction_added"
    INTERACTION_REFUSED = "interaction_refused"
    TICKET_RESOLVED = "ticket_resolved"
    TICKET_TYPIFIED = "ticket_typified"
    TICKET_CANCELLED = "ticket_cancelled"
    TICKET_LABELLED = "ticket_labelled"
    TICKET_ASSIGNED = "ticket_assigned"
    COMMENT_ADDED = "comment_added"
    IDENTITY_BLOCKED = "identity_blocked"
    IDENTITY_UNBLOCKED = "identity_unblocked"
    CONTACT_ANONYMIZED = "contact_anonymized"
    PRODUCT_DECLARED = "product_declared"
    PAYMENT_RECORDED = "payment_recorded"
    PAYMENT_REVERSED = "payment_reversed"
    PROMISE_MADE = "promise_made"
    PROMISE_CANCELLED = "promise_cancelled"


@attrs.frozen(kw_only=True)
class Event:
    """One recorded change.

    Attributes:
        kind: what happened.
        at: when it happened (aware datetime), event time, not arrival time.
        actor: the agent or system that caused it (``None`` for the customer/system).
        campaign: the campaign it happened in, when there is one.
        ticket: the ticket number it concerns, when there is one.
        contact: the contact code it concerns, when there is one.
        data: further details as strings (the payload needed to rebuild reports).
        seq: the store's sequence number, assigned when recorded (``None`` before).
    """

    kind: EventKind
    at: dt.datetime
    actor: str | None = None
    campaign: str | None = None
    ticket: int | None = None
    contact: str | None = None
    data: dict[str, str] = attrs.field(factory=dict, hash=False)
    seq: int | None = None
