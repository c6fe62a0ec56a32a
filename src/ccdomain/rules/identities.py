"""Customer information, pure parts: activity, profile, identities, anonymization (I1-I12).

Records in, records out; the services of :mod:`ccdomain.services.identities` (and
``comments``, ``blocks``, ``export``, ``anonymize``) read and write them through a
unit of work.

- The records of the views and the export: :class:`ActivityItem` and
  :class:`SummaryPage` (I1), :class:`CaseView` and :class:`MessageThread` (I9),
  :class:`Profile` (I10), :class:`ContactExport` with :class:`CaseRecord` and
  :class:`ProductRecord` (I5, I12).
- I1 activity: :func:`ticket_activity`, :func:`event_activity`, ordered by
  :func:`newest_first_activity`; cases by :func:`newest_first`.
- I7 :func:`identity_address`: an identity read by its shape.
- I10 the profile: :func:`profile_of`, :func:`profile_channels`.
- I4, I11 anonymization: :func:`opaque`, :func:`contact_fingerprint`,
  :func:`anonymous_code`, :func:`anonymous_addresses`, :func:`is_anonymous_address`,
  :func:`scrubbed_case`, :func:`scrubbed_event`, :func:`anonymized_contact`, and
  :data:`ANONYMIZED_TEXT`, what a personal text becomes.

The decisions (I6-I12 in docs/rules.md) are written in the services that apply
them: I6 :mod:`ccdomain.services.comments`, I7 :mod:`ccdomain.services.blocks`,
I8-I10 :mod:`ccdomain.services.identities`, I11 :mod:`ccdomain.services.anonymize`,
I12 :mod:`ccdomain.services.export`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Final, cast

import attrs

from ccdomain import checks
from ccdomain._converter import unstructure
from ccdomain._folding import fold
from ccdomain.errors import InvalidChannel
from ccdomain.errors import show as _show
from ccdomain.events import (
    Event,
    IdentityBlocked,
    IdentityUnblocked,
    InteractionRefused,
    Personal,
    PromiseMade,
    personal_values,
    scrub,
)
from ccdomain.models import (
    Block,
    Channel,
    ChannelKind,
    Comment,
    Company,
    Contact,
    ContactChannel,
    Direction,
    Interaction,
    OptOut,
    Payment,
    Product,
    Promise,
    Ticket,
    Typification,
)
from ccdomain.phones import normalize_phone
from ccdomain.rules.tickets import describe_interaction, normalize_customer

__all__ = [
    "ANONYMIZED_TEXT",
    "EXPORT_FORMAT",
    "UNSET",
    "ActivityItem",
    "ActivityKind",
    "CaseRecord",
    "CaseView",
    "ContactExport",
    "MessageThread",
    "ProductRecord",
    "Profile",
    "SummaryPage",
    "anonymized_contact",
    "anonymous_addresses",
    "anonymous_code",
    "contact_addresses",
    "contact_fingerprint",
    "event_activity",
    "identity_address",
    "is_anonymous_address",
    "newest_first",
    "newest_first_activity",
    "opaque",
    "profile_channels",
    "profile_of",
    "scrubbed_case",
    "scrubbed_event",
    "ticket_activity",
]

ANONYMIZED_TEXT: Final = "[anonymized]"
"""What a message text, a typification or case comment becomes when anonymized (I4)."""

EXPORT_FORMAT: Final = "ccdomain.contact-export/1"
"""The ``format`` of a :class:`ContactExport` (I5)."""

UNSET: Final = cast(object, attrs.NOTHING)
"""A profile field not given to :func:`profile_channels` (left as it is)."""

_PHONE_LIKE: Final = re.compile(r"[0-9+().\-\s]+")
_PHONE_KINDS: Final = frozenset({ChannelKind.PHONE, ChannelKind.WHATSAPP})
_MOBILE_LABELS: Final = frozenset({"mobile", "movil", "celular", "cel"})
_HOME_LABELS: Final = frozenset({"home", "casa", "fijo", "domicilio"})
_CHANNELS: Final[Mapping[str, Channel]] = {c.value: c for c in Channel}


# --- records ---------------------------------------------------------------------------------


class ActivityKind(enum.StrEnum):
    """What an item of the summary (I1) records."""

    TICKET_OPENED = "ticket_opened"
    TICKET_CLOSED = "ticket_closed"
    INTERACTION = "interaction"
    TYPIFICATION = "typification"
    COMMENT = "comment"
    PROMISE = "promise"
    INTERACTION_REFUSED = "interaction_refused"
    IDENTITY_BLOCKED = "identity_blocked"
    IDENTITY_UNBLOCKED = "identity_unblocked"


@attrs.frozen(kw_only=True)
class ActivityItem:
    """One line of a contact's activity (I1): when, what, which ticket, a short text."""

    at: dt.datetime
    kind: ActivityKind
    ticket: int | None
    text: str
    agent: str | None = None
    channel: Channel | None = None
    direction: Direction | None = None


@attrs.frozen(kw_only=True)
class SummaryPage:
    """One page of a contact's activity, newest first (I1).

    ``total`` counts every item of the activity; ``page`` starts at 1.
    """

    campaign: str
    code: str
    items: tuple[ActivityItem, ...]
    page: int
    page_size: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages the activity fills (at least 1)."""
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def has_next(self) -> bool:
        """True when a later page holds more items."""
        return self.page < self.pages


@attrs.frozen(kw_only=True)
class CaseView:
    """One case of the Cases tab (004): the agents' replies and the comments (I9)."""

    ticket: Ticket
    replies: tuple[Interaction, ...]
    comments: tuple[Comment, ...]


@attrs.frozen(kw_only=True)
class MessageThread:
    """One thread of the Messages tab (004): customer and agent messages in time order."""

    ticket: Ticket
    messages: tuple[Interaction, ...]


@attrs.frozen(kw_only=True)
class Profile:
    """The Profile tab (004 "Perfil"): the fields an agent sees and edits (I10)."""

    campaign: str
    code: str
    first_names: str
    last_names: str
    company: str | None
    gender: str
    email: str | None
    emails: tuple[str, ...]
    mobile_phone: str | None
    home_phone: str | None
    tags: tuple[str, ...]
    notes: str
    avatar: str
    vip: bool
    anonymized: bool


@attrs.frozen(kw_only=True)
class CaseRecord:
    """A case in an export (I5): the ticket with everything recorded on it."""

    ticket: Ticket
    interactions: tuple[Interaction, ...] = ()
    typifications: tuple[Typification, ...] = ()
    comments: tuple[Comment, ...] = ()


@attrs.frozen(kw_only=True)
class ProductRecord:
    """A product in an export (I5) with its payments and promises."""

    product: Product
    payments: tuple[Payment, ...] = ()
    promises: tuple[Promise, ...] = ()


@attrs.frozen(kw_only=True)
class ContactExport:
    """Everything held about a contact (I5, I12), as one JSON document.

    >>> import datetime as dt
    >>> from ccdomain.identities import export_contact, export_json
    >>> from ccdomain.memory import MemoryStore
    >>> from ccdomain.models import Campaign
    >>> from ccdomain.serialization import from_json
    >>> store = MemoryStore()
    >>> with store.unit_of_work() as uow:
    ...     uow.put_campaign(Campaign(id="ventas"))
    ...     uow.add_contact(Contact(campaign="ventas", code="12345678", first_names="José"))
    ...     uow.commit()
    >>> text = export_json(store, campaign="ventas", code="12345678")
    >>> from_json(text, ContactExport) == export_contact(store, campaign="ventas", code="12345678")
    True
    """

    format: str = EXPORT_FORMAT
    campaign: str
    code: str
    contact: Contact
    company: Company | None = None
    merged_codes: tuple[str, ...] = ()
    cases: tuple[CaseRecord, ...] = ()
    products: tuple[ProductRecord, ...] = ()
    blocks: tuple[Block, ...] = ()
    refused: tuple[Event, ...] = ()
    events: tuple[Event, ...] = ()
    opt_outs: tuple[OptOut, ...] = ()
    """W3: the opt-outs of its addresses in its campaign."""


# --- I7 identities ----------------------------------------------------------------------------


def _channel(value: object) -> Channel:
    if isinstance(value, Channel):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return Channel(value.strip().lower())
    raise InvalidChannel(
        f"channel {_show(value)} is not valid: expected one of {', '.join(_CHANNELS)}"
    )


def identity_address(raw: object, region: str, channel: object = None) -> str:
    """An identity (customer address) as tickets and blocks hold it (I7).

    With ``channel``, read as routing reads that channel's customers; otherwise a
    phone-looking value becomes E.164 (in ``region``), a value with ``@`` a
    lower-case email, anything else a stripped id.

    >>> identity_address("987-654-321", "PE"), identity_address(" Ana@Mail.COM", "PE")
    ('+51987654321', 'ana@mail.com')

    Raises:
        InvalidPhoneNumber: a phone-looking value that is not a valid number.
        InvalidChannel, RuleViolation: a bad channel or value.
    """
    if channel is not None:
        return normalize_customer(_channel(channel), raw, region)
    text = checks.identifier(raw, "customer", limit=checks.ADDRESS_MAX)
    if "@" in text:
        return text.lower()
    if _PHONE_LIKE.fullmatch(text) and any(ch.isdigit() for ch in text):
        return normalize_phone(text, region)
    return text


def contact_addresses(contact: Contact) -> tuple[str, ...]:
    """The contact's channel addresses (its identities), deduplicated, in order."""
    return tuple(dict.fromkeys(ch.value for ch in contact.channels))


# --- I1 activity --------------------------------------------------------------------------------


def ticket_activity(
    ticket: Ticket,
    interactions: Iterable[Interaction],
    typifications: Iterable[Typification],
    comments: Iterable[Comment],
) -> list[ActivityItem]:
    """The activity of one case: opened, its interactions, typifications, comments, closed."""
    n = ticket.number
    opened = f"{ticket.origin.value} case opened" + (
        f" in queue {ticket.queue}" if ticket.queue else ""
    )
    items = [
        ActivityItem(at=ticket.opened_at, kind=ActivityKind.TICKET_OPENED, ticket=n, text=opened)
    ]
    for item in interactions:
        items.append(
            ActivityItem(
                at=item.at,
                kind=ActivityKind.INTERACTION,
                ticket=n,
                text=describe_interaction(item),
                agent=item.agent,
                channel=item.channel,
                direction=item.direction,
            )
        )
    for record in typifications:
        text = " > ".join(record.path) + (f": {record.comment}" if record.comment else "")
        items.append(
            ActivityItem(
                at=record.at,
                kind=ActivityKind.TYPIFICATION,
                ticket=n,
                text=text,
                agent=record.agent,
                channel=record.channel,
            )
        )
    for comment in comments:
        items.append(
            ActivityItem(
                at=comment.at,
                kind=ActivityKind.COMMENT,
                ticket=n,
                text=comment.text,
                agent=comment.agent,
            )
        )
    if ticket.closed_at is not None:
        items.append(
            ActivityItem(
                at=ticket.closed_at,
                kind=ActivityKind.TICKET_CLOSED,
                ticket=n,
                text=f"case {ticket.status.value}",
                agent=ticket.closed_by,
            )
        )
    return items


def _promise_text(promise: Promise) -> str:
    count = len(promise.installments)
    text = (
        f"promise {promise.id} of {promise.total.amount} {promise.currency} for product "
        f"{promise.product} in {count} installment{'s' if count != 1 else ''}"
    )
    return text + (" (cancelled)" if promise.cancelled_on is not None else "")


def event_activity(
    events: Iterable[Event],
    campaign: str,
    addresses: Iterable[str],
    promises: Mapping[str, Promise],
) -> list[ActivityItem]:
    """Refusals, blocks and unblocks of these addresses in the campaign, and the promises.

    A promise is dated by its ``PROMISE_MADE`` event, else by midnight UTC of its
    ``made_on`` day.
    """
    own = set(addresses)
    promise_at: dict[str, dt.datetime] = {}
    items: list[ActivityItem] = []
    for event in events:
        payload = event.payload
        match payload:
            case PromiseMade():
                if payload.promise in promises:
                    promise_at.setdefault(payload.promise, event.at)
            case InteractionRefused() if event.campaign == campaign and payload.customer in own:
                channel, direction = payload.channel, payload.direction
                items.append(
                    ActivityItem(
                        at=event.at,
                        kind=ActivityKind.INTERACTION_REFUSED,
                        ticket=None,
                        text=f"{direction.value} {channel.value} of {payload.customer} refused: "
                        "the identity is blocked",
                        agent=event.actor,
                        channel=channel,
                        direction=direction,
                    )
                )
            case IdentityBlocked() | IdentityUnblocked() if (
                event.campaign == campaign and payload.customer in own
            ):
                blocked = type(payload) is IdentityBlocked
                items.append(
                    ActivityItem(
                        at=event.at,
                        kind=ActivityKind.IDENTITY_BLOCKED
                        if blocked
                        else ActivityKind.IDENTITY_UNBLOCKED,
                        ticket=None,
                        text=f"{payload.customer} {'blocked' if blocked else 'unblocked'}",
                        agent=event.actor,
                    )
                )
    for promise in promises.values():
        at = promise_at.get(promise.id) or dt.datetime.combine(
            promise.made_on, dt.time(0), tzinfo=dt.UTC
        )
        items.append(
            ActivityItem(
                at=at,
                kind=ActivityKind.PROMISE,
                ticket=promise.ticket,
                text=_promise_text(promise),
                agent=promise.agent,
            )
        )
    return items


def newest_first_activity(items: Iterable[ActivityItem]) -> list[ActivityItem]:
    """Newest first (I1); items of equal time keep a fixed order, the later given first."""
    ordered = list(items)
    order = {id(item): i for i, item in enumerate(ordered)}
    ordered.sort(key=lambda i: (i.at, order[id(i)]), reverse=True)
    return ordered


def newest_first(tickets: Iterable[Ticket]) -> list[Ticket]:
    """Cases by their latest activity (an interaction or the close), newest first (I9)."""

    def activity(ticket: Ticket) -> tuple[dt.datetime, int]:
        at = ticket.last_activity_at or ticket.opened_at
        if ticket.closed_at is not None and ticket.closed_at > at:
            at = ticket.closed_at
        return (at, ticket.number)

    return sorted(tickets, key=activity, reverse=True)


# --- I10 profile --------------------------------------------------------------------------------


def _label(channel: ContactChannel) -> str:
    return fold(channel.label).strip()


def _mobile(contact: Contact) -> str | None:
    phones = [c for c in contact.channels if c.kind in _PHONE_KINDS]
    for channel in phones:
        if _label(channel) in _MOBILE_LABELS:
            return channel.value
    for channel in phones:
        if _label(channel) not in _HOME_LABELS:
            return channel.value
    return None


def _home(contact: Contact) -> str | None:
    for channel in contact.channels:
        if channel.kind is ChannelKind.PHONE and _label(channel) in _HOME_LABELS:
            return channel.value
    return None


def profile_of(contact: Contact, *, company: str | None, avatar: str) -> Profile:
    """The Profile tab of a contact (I10), given its company's name and its avatar (K7)."""
    emails = tuple(c.value for c in contact.channels if c.kind is ChannelKind.EMAIL)
    return Profile(
        campaign=contact.campaign,
        code=contact.code,
        first_names=contact.first_names,
        last_names=contact.last_names,
        company=company,
        gender=contact.gender,
        email=emails[0] if emails else None,
        emails=emails,
        mobile_phone=_mobile(contact),
        home_phone=_home(contact),
        tags=contact.tags,
        notes=contact.notes,
        avatar=avatar,
        vip=contact.vip,
        anonymized=contact.anonymized,
    )


def _is_email(channel: object) -> bool:
    if isinstance(channel, ContactChannel):
        return channel.kind is ChannelKind.EMAIL
    return isinstance(channel, dict) and channel.get("kind") == "email"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def profile_channels(
    contact: Contact,
    email: object,
    mobile_phone: object,
    home_phone: object,
    *,
    add_email: object = UNSET,
) -> list[object]:
    """The contact's channels with the edited email and phones (I10, X3), for ``update_contact``.

    A value :data:`UNSET` leaves that field as it is; ``None`` or blank removes it.
    ``email`` changes the primary (first) email; ``add_email`` adds a secondary one
    after the others, keeping them (the primary when the contact has none). New
    values are plain mappings: the contacts service normalizes and deduplicates
    them (K4).
    """
    channels: list[object] = list(contact.channels)
    if email is not UNSET:
        first = next(
            (i for i, c in enumerate(contact.channels) if c.kind is ChannelKind.EMAIL), None
        )
        new = None if _blank(email) else {"kind": "email", "value": email}
        if first is None:
            if new is not None:
                channels.append(new)
        elif new is None:
            del channels[first]
        else:
            channels[first] = new
    if add_email is not UNSET and not _blank(add_email):
        last = max((i for i, c in enumerate(channels) if _is_email(c)), default=len(channels) - 1)
        channels.insert(last + 1, {"kind": "email", "value": add_email})
    for value, labels, label in (
        (mobile_phone, _MOBILE_LABELS, "mobile"),
        (home_phone, _HOME_LABELS, "home"),
    ):
        if value is UNSET:
            continue
        channels = [
            c
            for c in channels
            if not (
                isinstance(c, ContactChannel)
                and c.kind is ChannelKind.PHONE
                and _label(c) in labels
            )
        ]
        if not _blank(value):
            channels.append({"kind": "phone", "value": value, "label": label})
    return channels


# --- I4, I11 anonymization ----------------------------------------------------------------------


def opaque(seed: str, *parts: str) -> str:
    """A SHA-256 (hex) over a seed and parts: the opaque stuff anonymous values are made of."""
    return hashlib.sha256("\x1f".join((seed, *parts)).encode("utf-8")).hexdigest()


# What a contact is created with, without what the store adds: its number (a generated
# code), activity, merge and anonymization marks.
_NOT_GIVEN: Final = ("code", "last_activity", "merged_into", "anonymized")


def contact_fingerprint(contact: Contact) -> str:
    """A SHA-256 (hex) over every value a contact was created with but its code (I11, R4).

    Two contacts built from the same values (the same ``contact`` line of an event
    file) have the same fingerprint, whatever code a store gave them. It is recorded
    when the contact is created (``ContactCreated.fingerprint``) and, once the contact
    is anonymized, survives only as its anonymous code (:func:`anonymous_code`): the
    line that created the contact finds it again, nothing else can read it back.
    """
    values = {k: v for k, v in unstructure(contact).items() if k not in _NOT_GIVEN}
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return opaque("contact", text)


def anonymous_code(fingerprint: str, attempt: int = 0) -> str:
    """The ``ANON-`` code of an anonymized contact created with ``fingerprint`` (I11).

    ``attempt`` counts codes already taken in the campaign (two contacts created with
    the same values); the code says nothing of the contact without its values.

    >>> anonymous_code("0" * 64)
    'ANON-B2299F0002583C20'
    """
    return "ANON-" + opaque("anonymous contact", fingerprint, str(attempt))[:16].upper()


_ANONYMOUS_ADDRESS: Final = re.compile(r"anon-[0-9a-f]{12}-[0-9]+")


def is_anonymous_address(value: object) -> bool:
    """Whether ``value`` is a customer address anonymization wrote (``anon-<hex>-<n>``, I11).

    >>> is_anonymous_address("anon-0123456789ab-2"), is_anonymous_address("+51987654321")
    (True, False)
    """
    return isinstance(value, str) and _ANONYMOUS_ADDRESS.fullmatch(value) is not None


def _blanked(text: str | None) -> str | None:
    return ANONYMIZED_TEXT if text else text


def anonymous_addresses(document: ContactExport, seed: str) -> dict[str, str]:
    """Every customer address held about the contact -> its anonymous ``anon-<hex>-<n>`` (I11).

    The addresses come from its channels, cases, promises, blocks and refusals,
    numbered in that order.
    """
    originals: dict[str, None] = dict.fromkeys(contact_addresses(document.contact))
    for case in document.cases:
        originals.setdefault(case.ticket.customer, None)
        for item in case.interactions:
            originals.setdefault(item.customer, None)
        for record in case.typifications:
            originals.setdefault(record.customer, None)
    for product in document.products:
        for promise in product.promises:
            if promise.customer is not None:
                originals.setdefault(promise.customer, None)
    for block in document.blocks:
        originals.setdefault(block.customer, None)
    for event in document.refused:
        for kind, value in personal_values(event.payload):
            if kind is Personal.ADDRESS:
                originals.setdefault(value, None)
    originals.pop("", None)
    return {value: f"anon-{seed[:12]}-{i}" for i, value in enumerate(originals, start=1)}


def _last_action(ticket: Ticket, interactions: Iterable[Interaction]) -> str:
    """The last action again, from the scrubbed interactions, as routing computes it (T15)."""
    last: Interaction | None = None
    for item in interactions:
        if last is None or item.at >= last.at:
            last = item
    if last is None:
        return ANONYMIZED_TEXT if ticket.last_action else ""
    return describe_interaction(last)


def scrubbed_case(
    case: CaseRecord, *, addresses: Mapping[str, str], codes: Mapping[str, str], new_code: str
) -> CaseRecord:
    """The case with its personal values replaced (I4, I11); counts, dates and paths kept.

    Customer addresses become their anonymous ones, texts and comments
    :data:`ANONYMIZED_TEXT` (empty ones stay empty), the contact its new code.
    """
    ticket = case.ticket
    interactions = tuple(
        attrs.evolve(i, customer=addresses.get(i.customer, i.customer), text=_blanked(i.text))
        for i in case.interactions
    )
    return CaseRecord(
        ticket=attrs.evolve(
            ticket,
            customer=addresses.get(ticket.customer, ticket.customer),
            contact=None if ticket.contact is None else codes.get(ticket.contact, new_code),
            last_action=_last_action(ticket, interactions),
        ),
        interactions=interactions,
        typifications=tuple(
            attrs.evolve(
                t,
                customer=addresses.get(t.customer, t.customer),
                comment=_blanked(t.comment) or "",
            )
            for t in case.typifications
        ),
        comments=tuple(attrs.evolve(c, text=ANONYMIZED_TEXT) for c in case.comments),
    )


def anonymized_contact(contact: Contact, *, code: str, merged_into: str | None = None) -> Contact:
    """The contact under its opaque ``code`` with every personal field emptied (I11).

    VIP (of a live contact) and last activity stay; a merge tombstone keeps
    pointing at its survivor's new code.
    """
    return Contact(
        campaign=contact.campaign,
        code=code,
        vip=contact.vip if merged_into is None else False,
        last_activity=contact.last_activity,
        merged_into=merged_into,
        anonymized=True,
    )


def scrubbed_event(
    event: Event,
    *,
    campaign: str,
    numbers: set[int],
    codes: Mapping[str, str],
    addresses: Mapping[str, str],
) -> Event:
    """The event with the contact's personal values replaced (I4), or the event itself.

    An event is the contact's when it names one of its tickets or codes, or, in
    its campaign, one of its addresses; the payload's personal fields are
    replaced field by field (``events.scrub``).
    """
    related = (
        event.ticket in numbers
        or event.contact in codes
        or (
            event.campaign == campaign
            and any(v in addresses or v in codes for _, v in personal_values(event.payload))
        )
    )
    if not related:
        return event

    def replace(kind: Personal, value: str) -> str:
        if value in addresses:
            return addresses[value]
        if value in codes:
            return codes[value]
        if kind is Personal.DIGEST:
            return ""  # the anonymous code is made of it: the digest itself goes (I11)
        return ANONYMIZED_TEXT if kind is Personal.TEXT and value else value

    payload = scrub(event.payload, replace)
    contact = event.contact
    if contact is not None:
        contact = codes.get(contact, contact)
    if payload is event.payload and contact == event.contact:
        return event
    return attrs.evolve(event, contact=contact, payload=payload)
