"""Customer information and identities, as in seed 004 (rules I1-I5).

The customer information panel of an agent's desk, built over the store ports:

- I1 :func:`contact_summary`: the contact's activity (tickets opened and closed,
  interactions, typifications, comments, promises, refused interactions, blocks),
  newest first, in pages.
- The tabs of 004: :func:`cases_tab` (the agents' replies, with the case
  comments), :func:`messages_tab` (threads of customer and agent messages),
  :func:`profile_tab` and :func:`update_profile` (name, last names, company,
  gender, email, mobile and home phone, tags, notes, through the same validated
  service as every contact edit, :func:`ccdomain.contacts.update_contact`),
  :func:`identities_tab` and :func:`search_identities` (the contact's channel
  addresses and the contacts matching them by the M3 tiers), and the extra
  actions: :func:`merge_identities`, :func:`block_identity`,
  :func:`anonymize_contact`, :func:`export_contact`.
- I2 :func:`add_comment`; :func:`edit_comment` and :func:`delete_comment` exist
  only to refuse (:class:`~ccdomain.errors.CommentImmutable`). Cancelling a case
  (:func:`ccdomain.tickets.cancel_ticket`) removes its comments.
- I3 :func:`block_identity` / :func:`unblock_identity`. Routing
  (:func:`ccdomain.tickets.route_interaction`) refuses inbound and outbound
  interactions of a blocked identity with :class:`~ccdomain.errors.BlockedIdentity`
  and records the refusal as an ``INTERACTION_REFUSED`` event.
- I4 :func:`anonymize_contact` replaces every personal value of the contact, its
  cases (interactions, typifications, comments), promises, blocks and events,
  keeping counts, dates, statuses, paths and amounts.
- I5 :func:`export_contact` / :func:`export_json`: one :class:`ContactExport`
  document, read back with ``ccdomain.serialization.from_json(text, ContactExport)``.

Choices made where DESIGN is silent (ids proposed for docs/rules.md):

- I6 A comment is free text (not blank, at most 10,000 characters, line breaks
  and tabs allowed, no other control characters) by a named agent, at a time not
  before the case opened. Resolved and typified cases still take comments (a
  follow-up note); a cancelled case does not (its comments were removed), nor does
  a case of an anonymized contact. The ``COMMENT_ADDED`` event records the
  comment's seq and length, never its text, so cancelling a case really removes
  the text from the store.
- I7 Blocking an identity already blocked in that campaign changes nothing (the
  first block keeps its time and agent); unblocking one that is not blocked
  changes nothing either. An identity is read in the campaign's region: a
  phone-looking value (digits and ``+ ( ) - .`` only) must be a valid number
  (``InvalidPhoneNumber``), a value with ``@`` is an email (lower-cased), any other
  value a Messenger/Instagram/web chat id (stripped).
- I8 The views (summary, tabs) show the tickets linked to the contact (a merged
  code resolves to its survivor). The export and the anonymization also take the
  unlinked tickets of the campaign whose customer address is one of the contact's
  channels and no other live contact's: they are about that person but were never
  linked (M4 left them for an agent).
- I9 The Cases tab lists every case of the contact, newest activity first, with
  the outbound interactions (the agents' replies and calls; only one agent's with
  ``agent=``) and the comments. 004 says both "only the agent's messages" and "the
  customer's messages only"; the issue asks for the agents', the customer's are
  in the Messages tab. The Messages tab lists, per ticket with messages, every
  non-call interaction in event time.
- I10 Profile: ``email`` is the contact's first email channel; ``mobile_phone``
  the first phone or WhatsApp channel labelled ``mobile`` (``movil``,
  ``celular``), else the first phone or WhatsApp channel not labelled home;
  ``home_phone`` the first phone channel labelled ``home`` (``casa``, ``fijo``).
  Editing ``email`` replaces the first email channel; editing ``mobile_phone`` or
  ``home_phone`` replaces the phone channels with that label, the new one labelled
  ``mobile`` or ``home``; an empty value or ``None`` removes it. An anonymized
  contact's profile cannot be edited.
- I11 Anonymizing an anonymized contact (anonymizing twice) is refused. An open
  case stays open under its new anonymous address: the customer's next message
  from the real address opens a new, unlinked ticket (T3 is untouched). Names,
  document, company reference, gender, tags, notes, channels, addresses and
  custom values are emptied; VIP and last activity stay. The code becomes
  ``ANON-`` and 16 hex digits of a SHA-256 over everything held about the contact
  and the time: opaque, stable for the same store and time, and not computable
  from the code alone. Merge tombstones resolving to the contact get opaque codes
  too. Customer addresses become ``anon-<hex>-<n>``; message texts, typification
  and case comments, and refusal texts become ``[anonymized]`` (empty ones stay
  empty). Interaction external ids stay (a redelivered webhook stays a duplicate,
  T9), as do agents, lines, queues, labels, statuses, paths, dates, amounts and
  counts. Blocks of the contact's addresses are removed (the address is no longer
  held). A company record is shared and stays; the contact's reference to it is
  dropped. Events are rewritten in place (the one exception to the append-only
  log), so :func:`ccdomain.tickets.rebuild_tickets` still equals the stored
  tickets. A store that is :class:`~ccdomain.ports.Purgeable` is purged after the
  commit, so the old values cannot be read from its files either.
- I12 The export holds: the contact, its company, the codes merged into it, each
  case (ticket, interactions, typifications, comments), each product (payments,
  promises), the blocks of its addresses, the refused interactions of its
  addresses, and every other event naming the contact, one of its tickets or
  products, or one of its addresses in its campaign.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import hashlib
import math
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Final, NoReturn, cast

import attrs

from ccdomain import checks
from ccdomain import contacts as _contacts
from ccdomain.errors import (
    CcdomainError,
    CommentImmutable,
    InvalidChannel,
    RuleViolation,
    TicketClosed,
    UnknownCampaign,
    UnknownContact,
    UnknownTicket,
)
from ccdomain.errors import (
    show as _show,
)
from ccdomain.events import (
    CommentAdded,
    ContactAnonymized,
    Event,
    EventKind,
    IdentityBlocked,
    IdentityUnblocked,
    InteractionRefused,
    Payload,
    PaymentRecorded,
    PaymentReversed,
    Personal,
    ProductDeclared,
    PromiseCancelled,
    PromiseMade,
    personal_values,
    scrub,
)
from ccdomain.matching import Candidate, apply_merge, find_candidates, identity_candidates
from ccdomain.matching import plan_merge as _plan_merge
from ccdomain.models import (
    Block,
    Campaign,
    Channel,
    ChannelKind,
    Comment,
    Company,
    Contact,
    ContactChannel,
    Direction,
    Interaction,
    Payment,
    Product,
    Promise,
    Ticket,
    TicketStatus,
    Typification,
)
from ccdomain.phones import normalize_phone
from ccdomain.ports import Purgeable, Store, UnitOfWork
from ccdomain.serialization import to_json
from ccdomain.tickets import describe_interaction, normalize_customer

__all__ = [
    "ANONYMIZED_TEXT",
    "EXPORT_FORMAT",
    "ActivityItem",
    "ActivityKind",
    "CaseRecord",
    "CaseView",
    "ContactExport",
    "IdentitiesView",
    "MessageThread",
    "ProductRecord",
    "Profile",
    "SummaryPage",
    "add_comment",
    "anonymize_contact",
    "block_identity",
    "cases_tab",
    "contact_summary",
    "delete_comment",
    "edit_comment",
    "export_contact",
    "export_json",
    "identities_tab",
    "identity_address",
    "merge_identities",
    "messages_tab",
    "profile_tab",
    "search_identities",
    "unblock_identity",
    "update_profile",
]

ANONYMIZED_TEXT: Final = "[anonymized]"
"""What a message text, a typification or case comment becomes when anonymized (I4)."""

EXPORT_FORMAT: Final = "ccdomain.contact-export/1"
"""The ``format`` of a :class:`ContactExport` (I5)."""

_PHONE_LIKE: Final = re.compile(r"[0-9+().\-\s]+")
_PHONE_KINDS: Final = frozenset({ChannelKind.PHONE, ChannelKind.WHATSAPP})
_MOBILE_LABELS: Final = frozenset({"mobile", "movil", "celular", "cel"})
_HOME_LABELS: Final = frozenset({"home", "casa", "fijo", "domicilio"})
_UNSET: Final = cast(object, attrs.NOTHING)
_CHANNELS: Final[Mapping[str, Channel]] = {c.value: c for c in Channel}


# --- results ---------------------------------------------------------------------------------


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
class IdentitiesView:
    """The Identities tab (004): the contact's channel addresses and matching contacts (M3)."""

    contact: Contact
    identities: tuple[ContactChannel, ...]
    candidates: tuple[Candidate, ...]


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
    >>> from ccdomain.memory import MemoryStore
    >>> from ccdomain.models import Campaign
    >>> from ccdomain.serialization import from_json
    >>> store = MemoryStore()
    >>> with store.unit_of_work() as uow:
    ...     uow.put_campaign(Campaign(id="ventas"))
    ...     uow.add_contact(Contact(campaign="ventas", code="12345678", first_names="José"))
    ...     uow.commit()
    >>> text = export_json(store, "ventas", "12345678")
    >>> from_json(text, ContactExport) == export_contact(store, "ventas", "12345678")
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


# --- input checks ----------------------------------------------------------------------------


def _channel(value: object) -> Channel:
    if isinstance(value, Channel):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return Channel(value.strip().lower())
    raise InvalidChannel(
        f"channel {_show(value)} is not valid: expected one of {', '.join(_CHANNELS)}"
    )


@contextlib.contextmanager
def _reading(source: object) -> Iterator[UnitOfWork]:
    """A unit of work to read from: the one given, or a new one of the store given."""
    opener = getattr(source, "unit_of_work", None)
    if callable(opener):
        with cast(Store, source).unit_of_work() as uow:
            yield uow
        return
    if callable(getattr(source, "get_contact", None)) and callable(getattr(source, "events", None)):
        yield cast(UnitOfWork, source)
        return
    raise RuleViolation(f"{_show(source)} is not a store or a unit of work")


def _campaign(uow: UnitOfWork, campaign: object) -> Campaign:
    campaign_id = checks.identifier(campaign, "campaign", UnknownCampaign)
    found = uow.get_campaign(campaign_id)
    if found is None:
        raise UnknownCampaign(
            f"campaign {_show(campaign)} is not declared; expected the id of a declared campaign"
        )
    return found


def _contact(uow: UnitOfWork, campaign: Campaign, code: object) -> Contact:
    """The live contact ``code`` names in the campaign, merge tombstones followed (K17)."""
    return _contacts.live_contact(uow, campaign.id, code)


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


# --- what belongs to a contact --------------------------------------------------------------


def _addresses(contact: Contact) -> tuple[str, ...]:
    """The contact's channel addresses (its identities), deduplicated, in order."""
    return tuple(dict.fromkeys(ch.value for ch in contact.channels))


def _linked_tickets(uow: UnitOfWork, contact: Contact) -> list[Ticket]:
    return list(uow.tickets_for_contact(contact.campaign, contact.code))


def _held_tickets(uow: UnitOfWork, contact: Contact) -> list[Ticket]:
    """I8: linked tickets, plus unlinked ones of its addresses that no other contact shares."""
    found = {t.number: t for t in _linked_tickets(uow, contact)}
    own = _addresses(contact)
    if own:
        shared = {
            channel.value
            for other in uow.list_contacts(contact.campaign)
            if other.code != contact.code and other.merged_into is None
            for channel in other.channels
        }
        for address in own:
            if address in shared:
                continue
            for ticket in uow.tickets_for_customer(address, contact.campaign):
                if ticket.contact is None:
                    found.setdefault(ticket.number, ticket)
    return [found[n] for n in sorted(found)]


def _tombstones(uow: UnitOfWork, contact: Contact) -> list[Contact]:
    """The merge tombstones of the campaign that resolve to ``contact`` (M5)."""
    result = []
    for other in uow.list_contacts(contact.campaign):
        if other.merged_into is None:
            continue
        try:
            live = _contacts.live_contact(uow, contact.campaign, other.code).code
        except CcdomainError:
            continue
        if live == contact.code:
            result.append(other)
    return result


# --- I1 summary and the tabs -----------------------------------------------------------------


def _ticket_items(uow: UnitOfWork, ticket: Ticket) -> list[ActivityItem]:
    n = ticket.number
    opened = f"{ticket.origin.value} case opened" + (
        f" in queue {ticket.queue}" if ticket.queue else ""
    )
    items = [
        ActivityItem(at=ticket.opened_at, kind=ActivityKind.TICKET_OPENED, ticket=n, text=opened)
    ]
    for item in uow.interactions(n):
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
    for record in uow.typifications(n):
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
    for comment in uow.comments(n):
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


def _event_items(
    uow: UnitOfWork, contact: Contact, addresses: Iterable[str], promises: Mapping[str, Promise]
) -> list[ActivityItem]:
    """Refusals, blocks (by address) and promise times, from the event log."""
    own = set(addresses)
    promise_at: dict[str, dt.datetime] = {}
    items: list[ActivityItem] = []
    for event in uow.events():
        payload = event.payload
        match payload:
            case PromiseMade():
                if payload.promise in promises:
                    promise_at.setdefault(payload.promise, event.at)
            case InteractionRefused() if (
                event.campaign == contact.campaign and payload.customer in own
            ):
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
                event.campaign == contact.campaign and payload.customer in own
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


def _activity(uow: UnitOfWork, contact: Contact) -> list[ActivityItem]:
    tickets = _linked_tickets(uow, contact)
    items: list[ActivityItem] = []
    for ticket in tickets:
        items.extend(_ticket_items(uow, ticket))
    promises = {
        p.id: p
        for product in uow.products_for_contact(contact.campaign, contact.code)
        for p in uow.promises_for_product(product.id)
    }
    addresses = {*_addresses(contact), *(t.customer for t in tickets)}
    items.extend(_event_items(uow, contact, addresses, promises))
    # Newest first; equal times keep a fixed order (the later recorded first).
    order = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda i: (i.at, order[id(i)]), reverse=True)
    return items


def contact_summary(
    source: Store | UnitOfWork,
    campaign: str,
    code: str,
    *,
    page: int = 1,
    page_size: int = 20,
) -> SummaryPage:
    """The contact's activity, newest first, one page of it (I1, 004 "Resumen").

    Items: each linked case opened and closed, its interactions, typifications and
    comments, the promises of the contact's products, and the refused interactions,
    blocks and unblocks of its addresses. A merged code resolves to its survivor.

    Args:
        source: a store (read in a unit of work of its own) or a unit of work.
        campaign: the contact's campaign.
        code: the contact's code.
        page: the page, from 1 (a page past the end is empty).
        page_size: items per page, 1 to 500.

    Raises:
        UnknownCampaign, UnknownContact: no such campaign or contact.
        RuleViolation: a bad page or page size.
    """
    page = checks.whole(page, "page", minimum=1)
    page_size = checks.whole(page_size, "page_size", minimum=1, maximum=checks.PAGE_SIZE_MAX)
    with _reading(source) as uow:
        contact = _contact(uow, _campaign(uow, campaign), code)
        items = _activity(uow, contact)
    start = (page - 1) * page_size
    return SummaryPage(
        campaign=contact.campaign,
        code=contact.code,
        items=tuple(items[start : start + page_size]),
        page=page,
        page_size=page_size,
        total=len(items),
    )


def _newest_first(tickets: Iterable[Ticket]) -> list[Ticket]:
    def activity(ticket: Ticket) -> tuple[dt.datetime, int]:
        at = ticket.last_activity_at or ticket.opened_at
        if ticket.closed_at is not None and ticket.closed_at > at:
            at = ticket.closed_at
        return (at, ticket.number)

    return sorted(tickets, key=activity, reverse=True)


def cases_tab(
    source: Store | UnitOfWork, campaign: str, code: str, *, agent: str | None = None
) -> tuple[CaseView, ...]:
    """The Cases tab (004 "Casos"): each case with the agents' replies and its comments (I9).

    Args:
        source: a store or a unit of work.
        campaign, code: the contact.
        agent: show only this agent's replies ("sus respuestas anteriores").

    Raises:
        UnknownCampaign, UnknownContact, RuleViolation (a bad agent).
    """
    wanted = checks.actor(agent, "agent")
    with _reading(source) as uow:
        contact = _contact(uow, _campaign(uow, campaign), code)
        views = []
        for ticket in _newest_first(_linked_tickets(uow, contact)):
            replies = tuple(
                sorted(
                    (
                        i
                        for i in uow.interactions(ticket.number)
                        if i.direction is Direction.OUTBOUND
                        and (wanted is None or i.agent == wanted)
                    ),
                    key=lambda i: i.at,
                )
            )
            views.append(
                CaseView(
                    ticket=ticket, replies=replies, comments=tuple(uow.comments(ticket.number))
                )
            )
    return tuple(views)


def messages_tab(source: Store | UnitOfWork, campaign: str, code: str) -> tuple[MessageThread, ...]:
    """The Messages tab (004 "Mensajes"): per case, customer and agent messages in time order.

    Calls are not messages; a case with no message is left out. Newest activity first.

    Raises:
        UnknownCampaign, UnknownContact.
    """
    with _reading(source) as uow:
        contact = _contact(uow, _campaign(uow, campaign), code)
        threads = []
        for ticket in _newest_first(_linked_tickets(uow, contact)):
            messages = tuple(
                sorted(
                    (i for i in uow.interactions(ticket.number) if i.channel is not Channel.CALL),
                    key=lambda i: i.at,
                )
            )
            if messages:
                threads.append(MessageThread(ticket=ticket, messages=messages))
    return tuple(threads)


def _label(channel: ContactChannel) -> str:
    return _contacts.fold(channel.label).strip()


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


def profile_tab(source: Store | UnitOfWork, campaign: str, code: str) -> Profile:
    """The Profile tab (004 "Perfil"): names, company, gender, email, phones, tags, notes.

    Raises:
        UnknownCampaign, UnknownContact.
    """
    with _reading(source) as uow:
        contact = _contact(uow, _campaign(uow, campaign), code)
        company = None
        if contact.company is not None:
            found = uow.get_company(contact.company)
            company = found.name if found is not None else contact.company
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
        avatar=_contacts.contact_avatar(contact),
        vip=contact.vip,
        anonymized=contact.anonymized,
    )


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _profile_channels(
    contact: Contact, email: object, mobile_phone: object, home_phone: object
) -> list[object]:
    """The contact's channels with the edited email and phones (I10), for update_contact."""
    channels: list[object] = list(contact.channels)
    if email is not _UNSET:
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
    for value, labels, label in (
        (mobile_phone, _MOBILE_LABELS, "mobile"),
        (home_phone, _HOME_LABELS, "home"),
    ):
        if value is _UNSET:
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


def update_profile(
    store: Store,
    campaign: str,
    code: str,
    *,
    at: dt.datetime,
    actor: str | None = None,
    first_names: object = _UNSET,
    last_names: object = _UNSET,
    company: object = _UNSET,
    gender: object = _UNSET,
    email: object = _UNSET,
    mobile_phone: object = _UNSET,
    home_phone: object = _UNSET,
    tags: object = _UNSET,
    notes: object = _UNSET,
) -> Contact:
    """Edit the Profile fields of 004 through :func:`ccdomain.contacts.update_contact` (I10).

    Only the fields given change. ``email`` replaces the first email channel;
    ``mobile_phone`` and ``home_phone`` replace the phone labelled ``mobile`` or
    ``home`` (normalized with the campaign's region, K4); ``None`` or ``""``
    removes it. All or nothing (E2).

    Raises:
        UnknownCampaign, UnknownContact, InvalidPhoneNumber, InvalidChannel,
        RuleViolation (a merged or anonymized contact, a bad value), and the
        validation errors of :func:`ccdomain.contacts.update_contact`.
    """
    plain = {
        "first_names": first_names,
        "last_names": last_names,
        "company": company,
        "gender": gender,
        "tags": tags,
        "notes": notes,
    }
    changes: dict[str, object] = {k: v for k, v in plain.items() if v is not _UNSET}
    with store.unit_of_work() as uow:
        found = _campaign(uow, campaign)
        contact = _contacts.live_contact(uow, found.id, code)
        if contact.anonymized:
            raise RuleViolation(
                f"contact {contact.code!r} is anonymized: its profile cannot be edited (I4)"
            )
        if (email, mobile_phone, home_phone) != (_UNSET,) * 3:
            changes["channels"] = _profile_channels(contact, email, mobile_phone, home_phone)
        updated = _contacts.update_contact(
            store, campaign=found.id, code=contact.code, at=at, agent=actor, **changes
        )
        uow.commit()
    return updated


def identities_tab(source: Store | UnitOfWork, campaign: str, code: str) -> IdentitiesView:
    """The Identities tab (004 "Identidades"): the contact's addresses and matching contacts.

    Candidates are the other live contacts of the campaign that any of its phones
    matches by the M3 tiers (ranked, with reasons): the ones a merge may join.

    Raises:
        UnknownCampaign, UnknownContact.
    """
    with _reading(source) as uow:
        contact = _contact(uow, _campaign(uow, campaign), code)
        candidates = identity_candidates(uow, contact=contact, only_campaign=True)
    return IdentitiesView(
        contact=contact, identities=contact.channels, candidates=tuple(candidates)
    )


def search_identities(
    source: Store | UnitOfWork, campaign: str, code: str, query: str
) -> tuple[Candidate, ...]:
    """Search identities matching a phone typed in the Identities tab (M3 tiers, its campaign).

    The contact itself is left out.

    Raises:
        UnknownCampaign, UnknownContact; InvalidPhoneNumber: ``query`` is not a valid number.
    """
    with _reading(source) as uow:
        contact = _contact(uow, _campaign(uow, campaign), code)
        found = find_candidates(uow, phone=query, campaign=contact.campaign, only_campaign=True)
    return tuple(c for c in found if c.contact.code != contact.code)


def merge_identities(
    store: Store, *, campaign: str, into: str, source: str, agent: str, at: dt.datetime
) -> Contact:
    """Merge contact ``source`` into ``into`` (004 "combinar"): plan_merge then apply_merge (M5).

    Returns the merged contact (``into``'s code kept).

    Raises:
        RuleViolation: a contact into itself, across campaigns, a merged or anonymized contact.
        UnknownCampaign, UnknownContact.
    """
    with store.unit_of_work() as uow:
        found = _campaign(uow, campaign)
        a = checks.identifier(into, "contact code", UnknownContact)
        b = checks.identifier(source, "contact code", UnknownContact)
        if a == b:
            raise RuleViolation(f"cannot merge contact {_show(a)} into itself")
        plan = _plan_merge(uow, campaign=found.id, into=a, source=b)
        merged = apply_merge(store, plan=plan, agent=agent, at=at)
        uow.commit()
    return merged


# --- I2 comments ------------------------------------------------------------------------------


def add_comment(store: Store, *, ticket: int, agent: str, at: dt.datetime, text: str) -> Comment:
    """Add a comment to a case (I2, I6); it can never be edited or deleted.

    Returns the comment as stored (its ``seq`` set). Records a ``COMMENT_ADDED``
    event with the seq and length of the text.

    Raises:
        UnknownTicket: no such ticket.
        TicketClosed: the case was cancelled (its comments were removed).
        RuleViolation: a bad agent, time (naive, or before the case opened) or text,
            or a case of an anonymized contact.
    """
    number = checks.ticket_number(ticket, "ticket number", UnknownTicket)
    who = checks.agent(agent)
    when = checks.aware(at)
    body = checks.text(text, "comment text", limit=checks.COMMENT_MAX, required=True)
    with store.unit_of_work() as uow:
        found = uow.get_ticket(number)
        if found is None:
            raise UnknownTicket(f"ticket {number} does not exist; expected a ticket number")
        if found.status is TicketStatus.CANCELLED:
            raise TicketClosed(
                f"ticket {number} was cancelled; a cancelled case takes no comments (I2)"
            )
        if when < found.opened_at:
            raise RuleViolation(
                f"comment time {when.isoformat()} is before ticket {number} opened at "
                f"{found.opened_at.isoformat()}"
            )
        if found.contact is not None:
            owner = uow.get_contact(found.campaign, found.contact)
            if owner is not None and owner.anonymized:
                raise RuleViolation(
                    f"ticket {number} belongs to an anonymized contact: it takes no comments (I4)"
                )
        stored = uow.add_comment(Comment(ticket=number, at=when, agent=who, text=body))
        uow.append_event(
            Event(
                kind=EventKind.COMMENT_ADDED,
                at=when,
                actor=who,
                campaign=found.campaign,
                ticket=number,
                contact=found.contact,
                payload=CommentAdded(comment_seq=stored.seq, length=len(body)),
            )
        )
        uow.commit()
    return stored


def _immutable(action: str, ticket: object, seq: object) -> CommentImmutable:
    return CommentImmutable(
        f"comment {_show(seq)} of ticket {_show(ticket)} cannot be {action}: case comments "
        "are never edited or deleted; they go only when the case is cancelled (I2)"
    )


def edit_comment(
    store: Store,
    *,
    ticket: object,
    seq: object,
    text: object = None,
    agent: object = None,
    at: object = None,
) -> NoReturn:
    """Refuse to edit a case comment: comments are never edited (I2). Nothing is written.

    Raises:
        CommentImmutable: always, naming the comment.
    """
    raise _immutable("edited", ticket, seq)


def delete_comment(
    store: Store, *, ticket: object, seq: object, agent: object = None, at: object = None
) -> NoReturn:
    """Refuse to delete a case comment: only cancelling the case removes them (I2).

    Raises:
        CommentImmutable: always, naming the comment.
    """
    raise _immutable("deleted", ticket, seq)


# --- I3 blocks ----------------------------------------------------------------------------------


def _identity_event(kind: EventKind, block: Block, agent: str, at: dt.datetime) -> Event:
    payload = (
        IdentityBlocked(customer=block.customer)
        if kind is EventKind.IDENTITY_BLOCKED
        else IdentityUnblocked(customer=block.customer)
    )
    return Event(kind=kind, at=at, actor=agent, campaign=block.campaign, payload=payload)


def block_identity(
    store: Store,
    *,
    campaign: str,
    customer: str,
    agent: str,
    at: dt.datetime,
    channel: Channel | str | None = None,
) -> Block:
    """Block an identity (a customer address) in a campaign (I3, I7).

    From then on, routing refuses its inbound and outbound interactions in that
    campaign with ``BlockedIdentity`` and records each refusal. Blocking a blocked
    identity changes nothing and returns the existing block.

    Args:
        campaign: the campaign.
        customer: the address as typed (read in the campaign's region).
        agent, at: who blocks it, when.
        channel: the channel the address is of, to read it as routing does; by
            default its shape decides (I7).

    Raises:
        UnknownCampaign; InvalidPhoneNumber: a phone-looking value that is not a valid
        number; InvalidChannel, RuleViolation: other bad input.
    """
    who = checks.agent(agent)
    when = checks.aware(at)
    with store.unit_of_work() as uow:
        found = _campaign(uow, campaign)
        address = identity_address(customer, found.region, channel)
        existing = uow.get_block(found.id, address)
        if existing is not None:
            return existing
        block = Block(campaign=found.id, customer=address, at=when, agent=who)
        uow.put_block(block)
        uow.append_event(_identity_event(EventKind.IDENTITY_BLOCKED, block, who, when))
        uow.commit()
    return block


def unblock_identity(
    store: Store,
    *,
    campaign: str,
    customer: str,
    agent: str,
    at: dt.datetime,
    channel: Channel | str | None = None,
) -> Block | None:
    """Unblock an identity in a campaign: routing treats it normally again (I3, I7).

    Returns the block removed, or ``None`` when it was not blocked (nothing changes).

    Raises:
        As :func:`block_identity`.
    """
    who = checks.agent(agent)
    when = checks.aware(at)
    with store.unit_of_work() as uow:
        found = _campaign(uow, campaign)
        address = identity_address(customer, found.region, channel)
        existing = uow.get_block(found.id, address)
        if existing is None:
            return None
        uow.remove_block(found.id, address)
        uow.append_event(_identity_event(EventKind.IDENTITY_UNBLOCKED, existing, who, when))
        uow.commit()
    return existing


# --- I5 export ----------------------------------------------------------------------------------


def _product_of(payload: Payload) -> str | None:
    """The product a collections event is about; None for other events."""
    if isinstance(payload, ProductDeclared | PaymentRecorded | PaymentReversed):
        return payload.product
    if isinstance(payload, PromiseMade | PromiseCancelled):
        return payload.product
    return None


def _names_an_address(payload: Payload, addresses: Collection[str]) -> bool:
    """Whether a payload names one of these customer addresses."""
    return any(
        kind is Personal.ADDRESS and value in addresses for kind, value in personal_values(payload)
    )


def _export(uow: UnitOfWork, contact: Contact) -> ContactExport:
    campaign = contact.campaign
    tickets = _held_tickets(uow, contact)
    tombstones = _tombstones(uow, contact)
    codes = {contact.code, *(t.code for t in tombstones)}
    numbers = {t.number for t in tickets}
    addresses = {*_addresses(contact), *(t.customer for t in tickets)}
    cases = tuple(
        CaseRecord(
            ticket=t,
            interactions=tuple(uow.interactions(t.number)),
            typifications=tuple(uow.typifications(t.number)),
            comments=tuple(uow.comments(t.number)),
        )
        for t in tickets
    )
    products = tuple(
        ProductRecord(
            product=p,
            payments=tuple(uow.payments_for_product(p.id)),
            promises=tuple(uow.promises_for_product(p.id)),
        )
        for p in uow.products_for_contact(campaign, contact.code)
    )
    product_ids = {r.product.id for r in products}
    addresses |= {p.customer for r in products for p in r.promises if p.customer is not None}
    blocks = tuple(
        block
        for address in sorted(addresses)
        if (block := uow.get_block(campaign, address)) is not None
    )
    refused: list[Event] = []
    events: list[Event] = []
    for event in uow.events():
        payload = event.payload
        if type(payload) is InteractionRefused:
            if event.campaign == campaign and payload.customer in addresses:
                refused.append(event)
        elif (
            event.contact in codes
            or event.ticket in numbers
            or _product_of(payload) in product_ids
            or (event.campaign == campaign and _names_an_address(payload, addresses))
        ):
            events.append(event)
    company = None if contact.company is None else uow.get_company(contact.company)
    return ContactExport(
        campaign=campaign,
        code=contact.code,
        contact=contact,
        company=company,
        merged_codes=tuple(t.code for t in tombstones),
        cases=cases,
        products=products,
        blocks=blocks,
        refused=tuple(refused),
        events=tuple(events),
    )


def export_contact(source: Store | UnitOfWork, campaign: str, code: str) -> ContactExport:
    """Everything held about a contact, as one document (I5, I12).

    A merged code exports the contact it was merged into. Serialize it with
    :func:`export_json` (or ``ccdomain.serialization.to_json``); read it back with
    ``from_json(text, ContactExport)``.

    Raises:
        UnknownCampaign, UnknownContact.
    """
    with _reading(source) as uow:
        contact = _contact(uow, _campaign(uow, campaign), code)
        return _export(uow, contact)


def export_json(source: Store | UnitOfWork, campaign: str, code: str) -> str:
    """The JSON text of :func:`export_contact` (what ``ccdomain export`` prints, I5).

    Raises:
        UnknownCampaign, UnknownContact.
    """
    return to_json(export_contact(source, campaign, code))


# --- I4 anonymization ----------------------------------------------------------------------------


def _opaque(seed: str, *parts: str) -> str:
    return hashlib.sha256("\x1f".join((seed, *parts)).encode("utf-8")).hexdigest()


def _blanked(text: str | None) -> str | None:
    return ANONYMIZED_TEXT if text else text


def _last_action(ticket: Ticket, interactions: Sequence[Interaction]) -> str:
    """The last action again, from the scrubbed interactions, as routing computes it (T15)."""
    last: Interaction | None = None
    for item in interactions:
        if last is None or item.at >= last.at:
            last = item
    if last is None:
        return ANONYMIZED_TEXT if ticket.last_action else ""
    return describe_interaction(last)


def _scrub_event(
    event: Event,
    *,
    campaign: str,
    numbers: set[int],
    codes: Mapping[str, str],
    addresses: Mapping[str, str],
) -> Event:
    """The event with the contact's personal values replaced (I4), or the event itself.

    The payload's personal fields are replaced field by field (``events.scrub``).
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
        return ANONYMIZED_TEXT if kind is Personal.TEXT and value else value

    payload = scrub(event.payload, replace)
    contact = event.contact
    if contact is not None:
        contact = codes.get(contact, contact)
    if payload is event.payload and contact == event.contact:
        return event
    return attrs.evolve(event, contact=contact, payload=payload)


def _new_code(uow: UnitOfWork, campaign: str, seed: str, *parts: str) -> str:
    for attempt in range(100):
        code = "ANON-" + _opaque(seed, *parts, str(attempt))[:16].upper()
        if uow.get_contact(campaign, code) is None:
            return code
    raise RuleViolation(  # pragma: no cover - 100 collisions of 64-bit codes
        f"no free anonymous code found in campaign {campaign!r}"
    )


def anonymize_contact(
    store: Store, *, campaign: str, code: str, agent: str, at: dt.datetime
) -> Contact:
    """Replace every personal value held about a contact (I4, I11); returns it anonymized.

    The contact, its cases (those of I8: interactions, typifications, comments),
    its products' promises, the blocks of its addresses, its merge tombstones and
    every event about them lose their personal values; the contact gets a new
    opaque code. Counts, dates, statuses, typification paths and amounts stay, so
    reports still add up, and :func:`ccdomain.tickets.rebuild_tickets` still
    equals the stored tickets. One unit of work; a ``Purgeable`` store is purged
    after it commits. Records a ``CONTACT_ANONYMIZED`` event (with counts only).

    Raises:
        UnknownCampaign, UnknownContact: no such campaign or contact.
        RuleViolation: the contact is already anonymized, or bad input.
        StoreError: the store could not purge its files (the anonymization is committed).
    """
    who = checks.agent(agent)
    when = checks.aware(at)
    with store.unit_of_work() as uow:
        found = _campaign(uow, campaign)
        contact = _contact(uow, found, code)
        if contact.anonymized:
            raise RuleViolation(
                f"contact {contact.code!r} of campaign {found.id!r} is already anonymized"
            )
        document = _export(uow, contact)
        tickets = [case.ticket for case in document.cases]
        seed = _opaque(to_json(document), when.isoformat())
        new_code = _new_code(uow, found.id, seed, "contact")
        codes = {contact.code: new_code}
        for merged_code in document.merged_codes:
            codes[merged_code] = _new_code(uow, found.id, seed, "merged", merged_code)
        originals: dict[str, None] = dict.fromkeys(_addresses(contact))
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
        addresses = {value: f"anon-{seed[:12]}-{i}" for i, value in enumerate(originals, start=1)}

        uow.rename_contact(
            found.id,
            contact.code,
            Contact(
                campaign=found.id,
                code=new_code,
                vip=contact.vip,
                last_activity=contact.last_activity,
                anonymized=True,
            ),
        )
        for tomb_code in document.merged_codes:
            tomb = uow.get_contact(found.id, tomb_code)
            if tomb is None:  # pragma: no cover - listed in this unit of work
                continue
            target = tomb.merged_into
            uow.rename_contact(
                found.id,
                tomb_code,
                Contact(
                    campaign=found.id,
                    code=codes[tomb_code],
                    last_activity=tomb.last_activity,
                    merged_into=codes.get(target, new_code) if target is not None else new_code,
                    anonymized=True,
                ),
            )
        counts = {"tickets": 0, "interactions": 0, "typifications": 0, "comments": 0}
        for case in document.cases:
            ticket = case.ticket
            interactions = [
                attrs.evolve(
                    i, customer=addresses.get(i.customer, i.customer), text=_blanked(i.text)
                )
                for i in case.interactions
            ]
            uow.replace_interactions(ticket.number, interactions)
            uow.replace_typifications(
                ticket.number,
                [
                    attrs.evolve(
                        t,
                        customer=addresses.get(t.customer, t.customer),
                        comment=_blanked(t.comment) or "",
                    )
                    for t in case.typifications
                ],
            )
            uow.replace_comments(
                ticket.number, [attrs.evolve(c, text=ANONYMIZED_TEXT) for c in case.comments]
            )
            uow.rewrite_ticket(
                attrs.evolve(
                    ticket,
                    customer=addresses.get(ticket.customer, ticket.customer),
                    contact=None if ticket.contact is None else codes.get(ticket.contact, new_code),
                    last_action=_last_action(ticket, interactions),
                )
            )
            counts["tickets"] += 1
            counts["interactions"] += len(interactions)
            counts["typifications"] += len(case.typifications)
            counts["comments"] += len(case.comments)
        for held in document.products:
            uow.put_product(attrs.evolve(held.product, contact=new_code))
            for promise in held.promises:
                if promise.customer is not None:
                    uow.put_promise(attrs.evolve(promise, customer=addresses.get(promise.customer)))
        for block in document.blocks:
            uow.remove_block(block.campaign, block.customer)
        numbers = {t.number for t in tickets}
        rewritten = 0
        for event in list(uow.events()):
            scrubbed = _scrub_event(
                event, campaign=found.id, numbers=numbers, codes=codes, addresses=addresses
            )
            if scrubbed is not event:
                uow.replace_event(scrubbed)
                rewritten += 1
        uow.append_event(
            Event(
                kind=EventKind.CONTACT_ANONYMIZED,
                at=when,
                actor=who,
                campaign=found.id,
                contact=new_code,
                payload=ContactAnonymized(
                    **counts,
                    products=len(document.products),
                    blocks_removed=len(document.blocks),
                    events_rewritten=rewritten,
                ),
            )
        )
        anonymized = uow.get_contact(found.id, new_code)
        uow.commit()
    if isinstance(store, Purgeable):
        store.purge()
    assert anonymized is not None
    return anonymized
