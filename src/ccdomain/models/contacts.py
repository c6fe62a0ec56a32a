"""The records of campaigns and contacts (K1-K10, M5): frozen, data only.

The rules that build and change them live in :mod:`ccdomain.contacts` and
:mod:`ccdomain.matching`; :mod:`ccdomain.models` re-exports every name here.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from decimal import Decimal

import attrs

from ccdomain.documents import Document
from ccdomain.models.hours import Holidays, ServiceLevels, WeeklySchedule

__all__ = [
    "DEFAULT_BUCKET_LIMITS",
    "Address",
    "Campaign",
    "ChannelKind",
    "Company",
    "Contact",
    "ContactChannel",
    "CustomFieldDef",
    "CustomValue",
    "FieldType",
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
"""The aging buckets of a new campaign, as ``(minimum, maximum)`` days past due (C3, C12)."""


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
    policy (C3-C5); they are ignored by campaigns of other kinds. ``hours``
    (None: always open), ``holidays`` and ``sla`` are its business hours and
    service-level targets (H1, H3). ``auto_resolve_after_h`` resolves a ticket
    silent that many hours (P3; None: never). ``queue`` is the queue of its tickets
    when neither the interaction nor the line names one (X4).
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
    hours: WeeklySchedule | None = None
    holidays: Holidays = attrs.field(factory=Holidays)
    sla: ServiceLevels | None = None
    auto_resolve_after_h: int | None = None
    queue: str = ""
    # w: the contact policy (W3-W5); None everywhere means "the default of the kind".
    contact_hours: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    """W4: (days, ranges) pairs of the H1 shape, e.g. ``(("mon-fri", ("08:00-20:00",)),)``;
    ``()`` means no limit; None the kind's default (collections: Mon-Sat 08:00-20:00)."""
    max_daily_attempts: int | None = None
    """W5: outbound attempts per customer per local day; 0 means no cap; None the kind's
    default (collections: 3)."""
    stop_words: tuple[str, ...] | None = None
    """W3: inbound texts that opt the customer out; None means BAJA, STOP, NO MOLESTAR."""


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
