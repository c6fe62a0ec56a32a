"""The records of lines, interactions, tickets and their history (T1-T11, I2, I3).

Frozen, data only: routing and the ticket rules live in :mod:`ccdomain.tickets`,
comments and blocks are written by :mod:`ccdomain.identities`;
:mod:`ccdomain.models` re-exports every name here.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

__all__ = [
    "Block",
    "Channel",
    "Comment",
    "Direction",
    "Interaction",
    "Line",
    "RouteOutcome",
    "Ticket",
    "TicketStatus",
    "Typification",
]


class Channel(enum.StrEnum):
    """Channel an interaction happens on (T1, T7)."""

    CALL = "call"
    WHATSAPP = "whatsapp"
    SMS = "sms"
    EMAIL = "email"
    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    WEBCHAT = "webchat"


class Direction(enum.StrEnum):
    """Inbound (the customer reached us) or outbound (an agent reached the customer)."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class TicketStatus(enum.StrEnum):
    """Status of a ticket (T3, P4): open (also pending or snoozed), or closed one of three ways.

    ``pending`` (waiting on the customer, P1) and ``snoozed`` (P2) are open states: the
    ticket is still the open ticket of its campaign and customer (T2).
    """

    OPEN = "open"
    RESOLVED = "resolved"
    TYPIFIED = "typified"
    CANCELLED = "cancelled"
    PENDING = "pending"
    SNOOZED = "snoozed"


# Module constants: Ticket.is_open runs on the routing hot path.
_OPEN = TicketStatus.OPEN
_PENDING = TicketStatus.PENDING
_SNOOZED = TicketStatus.SNOOZED


@attrs.frozen(kw_only=True)
class Line:
    """A business identifier (a WhatsApp number, a phone line) with its alias (T6).

    ``queue`` is the queue of the tickets of its default ``campaign``; ``queues`` the
    queue of the tickets of other campaigns on it, by campaign id (X4).
    """

    id: str
    channel: Channel
    address: str
    alias: str = ""
    campaign: str = ""
    queue: str = ""
    queues: dict[str, str] = attrs.field(factory=dict, hash=False)


@attrs.frozen(kw_only=True)
class Interaction:
    """One message or call between a customer and the contact center (T1).

    ``customer`` is the normalized customer address (E.164 for phone channels).
    ``ticket`` is set once the interaction has been routed.
    """

    at: dt.datetime
    channel: Channel
    direction: Direction
    customer: str
    external_id: str | None = None
    line: str | None = None
    campaign: str | None = None
    agent: str | None = None
    text: str | None = None
    status: str | None = None
    duration_s: int | None = None
    ticket: int | None = None


class RouteOutcome(enum.StrEnum):
    """What routing did with an interaction (recorded in its ``INTERACTION_ADDED`` event)."""

    OPENED = "opened"
    """A new ticket was opened for it (T1, T3, T5)."""
    JOINED = "joined"
    """It joined the open ticket of its campaign and customer (T1)."""
    DUPLICATE = "duplicate"
    """Its external id was already recorded; nothing changed (T9)."""
    LATE = "late"
    """It happened while a now-closed ticket was open and was recorded there (T10)."""


@attrs.frozen(kw_only=True)
class Ticket:
    """A ticket (T7): the conversation of one customer in one campaign while open.

    ``paused_at`` is when it was last marked pending or snoozed (P1, P2; kept after it
    wakes, so a replayed mark is recognised); ``snoozed_until`` is when a snoozed ticket
    wakes by itself (P2). ``pending_spans`` are the ended periods it was pending, each
    ``(marked, ended)`` (ended by the customer's inbound interaction, another mark or
    its close); a ticket pending now has one more, from ``paused_at``. Service levels
    do not count them (H3, H6).
    """

    number: int
    campaign: str
    customer: str
    origin: Direction
    opened_at: dt.datetime
    status: TicketStatus = TicketStatus.OPEN
    queue: str = ""
    line: str | None = None
    alias: str = ""
    contact: str | None = None
    channels: tuple[Channel, ...] = ()
    labels: tuple[str, ...] = ()
    assignee: str | None = None
    last_agent: str | None = None
    last_activity_at: dt.datetime | None = None
    last_channel: Channel | None = None
    last_action: str = ""
    interactions: int = 0
    closed_at: dt.datetime | None = None
    closed_by: str | None = None
    paused_at: dt.datetime | None = None
    snoozed_until: dt.datetime | None = None
    pending_spans: tuple[tuple[dt.datetime, dt.datetime], ...] = ()

    @property
    def is_open(self) -> bool:
        """True while the ticket is open: status open, pending or snoozed (T2, P4)."""
        status = self.status
        return status is _OPEN or status is _PENDING or status is _SNOOZED


@attrs.frozen(kw_only=True)
class Typification:
    """A typification record (T8): the path chosen when closing a ticket.

    It names its ticket, not a contact: the contact is read through the ticket,
    so a merge (M5) that relinks the ticket relinks its typifications too.
    """

    ticket: int
    campaign: str
    at: dt.datetime
    path: tuple[str, ...]
    customer: str
    agent: str | None = None
    channel: Channel | None = None
    line: str | None = None
    comment: str = ""


@attrs.frozen(kw_only=True)
class Comment:
    """A comment an agent added to a case (ticket) (I2); never edited or deleted."""

    ticket: int
    at: dt.datetime
    agent: str
    text: str
    seq: int | None = None


@attrs.frozen(kw_only=True)
class Block:
    """A blocked identity (customer address) in a campaign (I3)."""

    campaign: str
    customer: str
    at: dt.datetime
    agent: str | None = None
