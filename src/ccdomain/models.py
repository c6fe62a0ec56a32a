"""The frozen data models shared by every module (contacts, tickets, lines).

Models hold data only; the rules that build and change them live in
:mod:`ccdomain.contacts`, :mod:`ccdomain.matching` and :mod:`ccdomain.tickets`,
which re-export the names below. Keeping the models in one module lets the
stores and the serializer depend on them without import cycles.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from decimal import Decimal

import attrs

from ccdomain.documents import Document

__all__ = [
    "DEFAULT_BUCKET_LIMITS",
    "Address",
    "Block",
    "Campaign",
    "Channel",
    "ChannelKind",
    "Comment",
    "Company",
    "Contact",
    "ContactChannel",
    "CustomFieldDef",
    "CustomValue",
    "Direction",
    "FieldType",
    "Interaction",
    "Line",
    "RouteOutcome",
    "Ticket",
    "TicketStatus",
    "Typification",
]

CustomValue = str | Decimal | dt.date | bool
"""A converted custom field value: text/choice -> str, number -> Decimal, date, boolean."""

DEFAULT_BUCKET_LIMITS: tuple[tuple[int, int | None], ...] = (
    (1, 30),
    (31, 60),
    (61, 90),
    (91, 120),
    (121, None),
)


class FieldType(enum.StrEnum):
    """Type of a campaign custom field (K9)."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"


@attrs.frozen(kw_only=True)
class CustomFieldDef:
    """One field of a campaign's contact template (K9)."""

    name: str
    type: FieldType = FieldType.TEXT
    required: bool = False
    choices: tuple[str, ...] = ()
    label: str = ""


@attrs.frozen(kw_only=True)
class Campaign:
    """A campaign: the unit tickets, contacts and typifications belong to.

    ``region`` (ISO 3166 alpha-2) is the default region of phone numbers typed
    without a country code (M1). ``typifications`` are the paths of the
    typification tree (T8). The collections fields are the campaign's promise
    policy (C3-C5); they are ignored by campaigns of other kinds.
    """

    id: str
    name: str = ""
    kind: str = "sales"
    region: str = "PE"
    timezone: str = "America/Lima"
    custom_fields: tuple[CustomFieldDef, ...] = ()
    typifications: tuple[tuple[str, ...], ...] = ()
    grace_days: int = 0
    horizon_days: int = 30
    tolerance: Decimal = Decimal("0")
    buckets: tuple[tuple[int, int | None], ...] = DEFAULT_BUCKET_LIMITS


class ChannelKind(enum.StrEnum):
    """Kind of a contact channel (K4)."""

    PHONE = "phone"
    WHATSAPP = "whatsapp"
    EMAIL = "email"
    MESSENGER = "messenger"
    INSTAGRAM = "instagram"


@attrs.frozen(kw_only=True)
class ContactChannel:
    """A normalized way to reach a contact (K4): E.164 for phones, lower-case email.

    ``label`` distinguishes e.g. the mobile and home phones of a profile (004).
    """

    kind: ChannelKind
    value: str
    label: str = ""


@attrs.frozen(kw_only=True)
class Address:
    """A postal address of a contact or company (K8)."""

    line: str
    district: str = ""
    city: str = ""
    region: str = ""
    country: str = ""
    postal_code: str = ""
    reference: str = ""
    primary: bool = False


@attrs.frozen(kw_only=True)
class Company:
    """A company contacts belong to (002 "Empresa"), found by tax id or name."""

    id: str
    name: str
    tax_id: Document | None = None
    address: Address | None = None
    phone: str | None = None


@attrs.frozen(kw_only=True)
class Contact:
    """A contact (customer or lead) of one campaign (K1).

    A contact whose ``merged_into`` is set is a tombstone: it was merged into
    that contact (M5) and every reference to it resolves there.
    """

    campaign: str
    code: str
    first_names: str = ""
    last_names: str = ""
    document: Document | None = None
    company: str | None = None
    vip: bool = False
    channels: tuple[ContactChannel, ...] = ()
    addresses: tuple[Address, ...] = ()
    custom: dict[str, CustomValue] = attrs.field(factory=dict, hash=False)
    gender: str = ""
    tags: tuple[str, ...] = ()
    notes: str = ""
    last_activity: dt.datetime | None = None
    merged_into: str | None = None
    anonymized: bool = False

    @functools.cached_property
    def phones(self) -> tuple[str, ...]:
        """E.164 numbers of the phone and WhatsApp channels, deduplicated, in order.

        Computed once per contact (contacts are frozen): matching reads it for every
        candidate, and the memory store's phone indexes compute it when they add the
        contact, so a lookup reads one tuple instead of every channel.
        """
        seen: dict[str, None] = {}
        for ch in self.channels:
            if ch.kind in (ChannelKind.PHONE, ChannelKind.WHATSAPP):
                seen.setdefault(ch.value, None)
        return tuple(seen)

    @property
    def full_name(self) -> str:
        """First names and last names joined by a space."""
        return " ".join(p for p in (self.first_names, self.last_names) if p)


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
    """Status of a ticket (T3): open, or closed one of three ways."""

    OPEN = "open"
    RESOLVED = "resolved"
    TYPIFIED = "typified"
    CANCELLED = "cancelled"


@attrs.frozen(kw_only=True)
class Line:
    """A business identifier (a WhatsApp number, a phone line) with its alias (T6)."""

    id: str
    channel: Channel
    address: str
    alias: str = ""
    campaign: str = ""
    queue: str = ""


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
    """A ticket (T7): the conversation of one customer in one campaign while open."""

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

    @property
    def is_open(self) -> bool:
        """True while the ticket is open."""
        return self.status is TicketStatus.OPEN


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
