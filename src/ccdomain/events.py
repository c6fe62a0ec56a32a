"""Domain events (T11): every change is an event with time, actor and a typed payload.

The ticket and typification reports can be rebuilt from the event log alone
(see :func:`ccdomain.tickets.rebuild_tickets`). Events are append-only: a store
numbers them in the order it records them. The one exception is anonymization
(I4), which rewrites the personal values of past events in place: each payload
class marks its personal fields, and :func:`scrub` replaces them field by field.

Each :class:`EventKind` has one frozen payload class (``PAYLOAD_TYPES``), named
after it: an ``INTERACTION_ADDED`` event carries an :class:`InteractionAdded`
holding the :class:`~ccdomain.models.Interaction` as recorded. An
:class:`Event` refuses a payload that is not its kind's.

Events are stored through one codec, :mod:`ccdomain.event_codec` (versioned
JSON; it reads the dicts of strings of version 2 too). ``Event.data``, that
version-2 dict, is still readable, with a ``DeprecationWarning``.

Money in payloads is a ``Decimal`` (the currency is the product's): the money
records live with the collections services, which import this module.

    >>> import datetime as dt
    >>> at = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
    >>> event = Event(kind=EventKind.TICKET_ASSIGNED, at=at, actor="sup1", ticket=12,
    ...               payload=TicketAssigned(assignee="ana"))
    >>> event.payload.assignee
    'ana'
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Final, TypeAlias, TypeVar

import attrs

from ccdomain._deprecation import warn_deprecated
from ccdomain.errors import InvalidEvent
from ccdomain.models import Channel, Direction, Interaction, RouteOutcome

__all__ = [
    "PAYLOAD_TYPES",
    "AgentDeclared",
    "CampaignDeclared",
    "CommentAdded",
    "ContactAnonymized",
    "ContactCreated",
    "ContactLinked",
    "ContactUpdated",
    "ContactsMerged",
    "Event",
    "EventKind",
    "IdentityBlocked",
    "IdentityUnblocked",
    "InteractionAdded",
    "InteractionRefused",
    "LineDeclared",
    "LinkHow",
    "OptedIn",
    "OptedOut",
    "Payload",
    "PaymentRecorded",
    "PaymentReversed",
    "Personal",
    "PresenceChanged",
    "ProductDeclared",
    "PromiseCancelled",
    "PromiseMade",
    "TicketAssigned",
    "TicketCancelled",
    "TicketLabelled",
    "TicketOpened",
    "TicketPending",
    "TicketResolved",
    "TicketSnoozed",
    "TicketTypified",
    "personal_values",
    "scrub",
]


class EventKind(enum.StrEnum):
    """What happened (the values are stored: never rename one)."""

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
    TICKET_PENDING = "ticket_pending"
    TICKET_SNOOZED = "ticket_snoozed"
    AGENT_DECLARED = "agent_declared"
    PRESENCE_CHANGED = "presence_changed"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"


class Personal(enum.Enum):
    """The personal values a payload field may hold, which anonymization replaces (I4)."""

    ADDRESS = "address"
    """A customer address (E.164 number, email, chat id)."""
    CONTACT = "contact"
    """A contact code (a document number is personal)."""
    TEXT = "text"
    """Free text someone typed (a message, a comment)."""
    DIGEST = "digest"
    """A one-way digest of a contact's values (its creation fingerprint, I11)."""


_PERSONAL: Final = "ccdomain.personal"


def _personal(kind: Personal | Mapping[str, Personal], **field: Any) -> Any:
    """A payload field holding a personal value; a mapping names a record's personal fields."""
    return attrs.field(metadata={_PERSONAL: kind}, **field)


# --- payloads, one per kind ----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CampaignDeclared:
    """A campaign was declared: its kind (``sales``, ``collections``...) and region."""

    kind: str
    region: str


@attrs.frozen(kw_only=True)
class LineDeclared:
    """A line (business identifier) was declared (T6)."""

    line: str
    channel: Channel


@attrs.frozen(kw_only=True)
class ContactCreated:
    """A contact was created; ``fields`` names the fields it was given, never their values.

    ``fingerprint`` is :func:`ccdomain.rules.identities.contact_fingerprint` of the
    contact as created (None in events recorded before it existed): a replayed
    ``contact`` line finds its contact by it once anonymization took the values away
    (R4, I11). Anonymization blanks it; the anonymous code is derived from it.
    ``copied_from`` names the campaign a contact linked across campaigns was copied
    from (X5).
    """

    fields: tuple[str, ...] = ()
    fingerprint: str | None = _personal(Personal.DIGEST, default=None)
    copied_from: str | None = None
    """The campaign the contact was copied from when a link copied it (X5), else None."""


@attrs.frozen(kw_only=True)
class ContactUpdated:
    """A contact was edited; ``fields`` names the fields that changed, never their values."""

    fields: tuple[str, ...] = ()


class LinkHow(enum.StrEnum):
    """How a ticket got its contact."""

    AUTO = "auto"
    """By routing's phone match (M4)."""
    MANUAL = "manual"
    """By an agent (T19)."""
    MERGE = "merge"
    """By a merge that moved the ticket to the contact kept (M5)."""


@attrs.frozen(kw_only=True)
class ContactLinked:
    """A ticket was linked to the event's contact (M4, T19, M5).

    ``merged_from`` is the merged contact's code when a merge relinked it.
    """

    how: LinkHow
    customer: str = _personal(Personal.ADDRESS)
    merged_from: str | None = _personal(Personal.CONTACT, default=None)


@attrs.frozen(kw_only=True)
class ContactsMerged:
    """Contact ``merged_from`` was merged into ``into`` (M5), moving tickets and products.

    ``conflicts`` names the fields whose values disagreed (never the values).
    """

    into: str = _personal(Personal.CONTACT)
    merged_from: str = _personal(Personal.CONTACT)
    tickets: tuple[int, ...] = ()
    products: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class TicketOpened:
    """A ticket was opened (T1, T5) for a customer, with its origin, queue, line and alias."""

    customer: str = _personal(Personal.ADDRESS)
    origin: Direction
    queue: str = ""
    alias: str = ""
    line: str | None = None


_INTERACTION_PERSONAL: Final = {"customer": Personal.ADDRESS, "text": Personal.TEXT}


@attrs.frozen(kw_only=True)
class InteractionAdded:
    """An interaction was recorded on the event's ticket, and how routing placed it (T1, T10)."""

    interaction: Interaction = _personal(_INTERACTION_PERSONAL)  # noqa: RUF009 - a field
    outcome: RouteOutcome


@attrs.frozen(kw_only=True)
class InteractionRefused:
    """An interaction of a blocked identity was refused (I3); ``reason`` is ``"blocked"``."""

    customer: str = _personal(Personal.ADDRESS)
    channel: Channel
    direction: Direction
    reason: str = "blocked"
    line: str | None = None
    external_id: str | None = None
    text: str | None = _personal(Personal.TEXT, default=None)


@attrs.frozen(kw_only=True)
class TicketResolved:
    """A ticket was closed as resolved (T3); the event says who and when."""


@attrs.frozen(kw_only=True)
class TicketTypified:
    """A ticket was typified and closed (T3, T8): what its typification record holds."""

    path: tuple[str, ...]
    customer: str = _personal(Personal.ADDRESS)
    comment: str = _personal(Personal.TEXT, default="")
    channel: Channel | None = None
    line: str | None = None


@attrs.frozen(kw_only=True)
class TicketCancelled:
    """A case was cancelled (T3), removing that many comments (I2)."""

    comments_removed: int = 0


@attrs.frozen(kw_only=True)
class TicketLabelled:
    """A ticket's labels were replaced by these."""

    labels: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class TicketAssigned:
    """A ticket was assigned to an agent, or unassigned (``None``)."""

    assignee: str | None = None


@attrs.frozen(kw_only=True)
class CommentAdded:
    """A case comment was added (I2, I6): its seq and length, never its text."""

    comment_seq: int | None
    length: int


@attrs.frozen(kw_only=True)
class IdentityBlocked:
    """A customer address was blocked in the event's campaign (I3)."""

    customer: str = _personal(Personal.ADDRESS)


@attrs.frozen(kw_only=True)
class IdentityUnblocked:
    """A customer address was unblocked in the event's campaign (I3)."""

    customer: str = _personal(Personal.ADDRESS)


@attrs.frozen(kw_only=True)
class OptedOut:
    """A customer refused a channel in the event's campaign (W3).

    ``stop_word`` is True when the customer's own inbound text recorded it.
    """

    customer: str = _personal(Personal.ADDRESS)
    channel: Channel
    stop_word: bool = False


@attrs.frozen(kw_only=True)
class OptedIn:
    """A customer accepted again a channel they had refused in the event's campaign (W3)."""

    customer: str = _personal(Personal.ADDRESS)
    channel: Channel


@attrs.frozen(kw_only=True)
class ContactAnonymized:
    """The event's contact was anonymized (I4): counts of what was rewritten, nothing else."""

    tickets: int = 0
    interactions: int = 0
    typifications: int = 0
    comments: int = 0
    products: int = 0
    blocks_removed: int = 0
    events_rewritten: int = 0


@attrs.frozen(kw_only=True)
class ProductDeclared:
    """A collections product was declared with its debt (C1)."""

    product: str
    debt: Decimal
    currency: str


@attrs.frozen(kw_only=True)
class PaymentRecorded:
    """A payment of a product was recorded (C2); ``status`` is made, scheduled or reversed."""

    payment: str
    product: str
    amount: Decimal
    status: str


@attrs.frozen(kw_only=True)
class PaymentReversed:
    """A made payment was reversed (a bounced payment, C5)."""

    payment: str
    product: str


@attrs.frozen(kw_only=True)
class PromiseMade:
    """A promise to pay was registered (C4) for that total."""

    promise: str
    product: str
    total: Decimal


@attrs.frozen(kw_only=True)
class PromiseCancelled:
    """A promise to pay was cancelled (C4)."""

    promise: str
    product: str


@attrs.frozen(kw_only=True)
class TicketPending:
    """A ticket was marked pending: waiting on the customer (P1)."""


@attrs.frozen(kw_only=True)
class TicketSnoozed:
    """A ticket was snoozed until ``until`` or the customer's next message (P2)."""

    until: dt.datetime


@attrs.frozen(kw_only=True)
class AgentDeclared:
    """An agent was declared, or declared again with changes (A1): what they serve."""

    agent: str
    name: str = ""
    queues: tuple[str, ...] = ()
    digital: int = 0
    voice: int = 0


@attrs.frozen(kw_only=True)
class PresenceChanged:
    """An agent's presence changed: ``online``, ``away`` or ``offline`` (A1, A5)."""

    agent: str
    status: str


Payload: TypeAlias = (
    CampaignDeclared
    | LineDeclared
    | ContactCreated
    | ContactUpdated
    | ContactLinked
    | ContactsMerged
    | TicketOpened
    | InteractionAdded
    | InteractionRefused
    | TicketResolved
    | TicketTypified
    | TicketCancelled
    | TicketLabelled
    | TicketAssigned
    | CommentAdded
    | IdentityBlocked
    | IdentityUnblocked
    | ContactAnonymized
    | ProductDeclared
    | PaymentRecorded
    | PaymentReversed
    | PromiseMade
    | PromiseCancelled
    | TicketPending
    | TicketSnoozed
    | AgentDeclared
    | PresenceChanged
    | OptedOut
    | OptedIn
)
"""The payload of any event."""

PAYLOAD_TYPES: Final[Mapping[EventKind, type[Payload]]] = {
    EventKind.CAMPAIGN_DECLARED: CampaignDeclared,
    EventKind.LINE_DECLARED: LineDeclared,
    EventKind.CONTACT_CREATED: ContactCreated,
    EventKind.CONTACT_UPDATED: ContactUpdated,
    EventKind.CONTACT_LINKED: ContactLinked,
    EventKind.CONTACTS_MERGED: ContactsMerged,
    EventKind.TICKET_OPENED: TicketOpened,
    EventKind.INTERACTION_ADDED: InteractionAdded,
    EventKind.INTERACTION_REFUSED: InteractionRefused,
    EventKind.TICKET_RESOLVED: TicketResolved,
    EventKind.TICKET_TYPIFIED: TicketTypified,
    EventKind.TICKET_CANCELLED: TicketCancelled,
    EventKind.TICKET_LABELLED: TicketLabelled,
    EventKind.TICKET_ASSIGNED: TicketAssigned,
    EventKind.COMMENT_ADDED: CommentAdded,
    EventKind.IDENTITY_BLOCKED: IdentityBlocked,
    EventKind.IDENTITY_UNBLOCKED: IdentityUnblocked,
    EventKind.CONTACT_ANONYMIZED: ContactAnonymized,
    EventKind.PRODUCT_DECLARED: ProductDeclared,
    EventKind.PAYMENT_RECORDED: PaymentRecorded,
    EventKind.PAYMENT_REVERSED: PaymentReversed,
    EventKind.PROMISE_MADE: PromiseMade,
    EventKind.PROMISE_CANCELLED: PromiseCancelled,
    EventKind.TICKET_PENDING: TicketPending,
    EventKind.TICKET_SNOOZED: TicketSnoozed,
    EventKind.AGENT_DECLARED: AgentDeclared,
    EventKind.PRESENCE_CHANGED: PresenceChanged,
    EventKind.OPTED_OUT: OptedOut,
    EventKind.OPTED_IN: OptedIn,
}
"""The payload class of each event kind."""


def _payload_fits(event: Event, _: Any, payload: Payload) -> None:
    # One dict lookup per event: cheap next to the event's own construction.
    expected = PAYLOAD_TYPES.get(event.kind)
    if expected is None or type(payload) is not expected:
        raise InvalidEvent(
            f"a {getattr(event.kind, 'value', event.kind)!r} event cannot carry "
            f"{type(payload).__name__} {payload!r:.80}; expected a "
            f"{getattr(expected, '__name__', 'payload of an EventKind')}"
        )


_new = object.__new__
_set = object.__setattr__  # how attrs itself sets the fields of a frozen instance


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
        payload: what the reports need to be rebuilt: an instance of
            ``PAYLOAD_TYPES[kind]``.
        seq: the store's sequence number, assigned when recorded (``None`` before).

    Raises:
        InvalidEvent: the payload is not the kind's payload class.
    """

    kind: EventKind
    at: dt.datetime
    actor: str | None = None
    campaign: str | None = None
    ticket: int | None = None
    contact: str | None = None
    payload: Payload = attrs.field(validator=_payload_fits)
    seq: int | None = None

    def numbered(self, seq: int) -> Event:
        """This event with the sequence number a store gives it when recording it (T11).

        Equal to ``attrs.evolve(self, seq=seq)``, made without running the constructor
        again: stores call it on every append, and the event's payload was checked
        when the event was built.
        """
        if type(self) is not Event:  # a subclass may hold more fields: let attrs copy it
            return attrs.evolve(self, seq=seq)
        new: Event = _new(Event)
        _set(new, "kind", self.kind)
        _set(new, "at", self.at)
        _set(new, "actor", self.actor)
        _set(new, "campaign", self.campaign)
        _set(new, "ticket", self.ticket)
        _set(new, "contact", self.contact)
        _set(new, "payload", self.payload)
        _set(new, "seq", seq)
        return new

    @property
    def data(self) -> dict[str, str]:
        """The payload as the dict of strings of event version 2 (deprecated).

        Deprecated: read :attr:`payload` instead; ``data`` is removed in 1.0.
        """
        from ccdomain.event_codec import legacy_data  # the codec imports this module

        warn_deprecated("Event.data", "Event.payload (a typed payload)")
        return legacy_data(self)


# --- personal values (I4) ------------------------------------------------------------------

_P = TypeVar("_P", bound=Payload)

# For each payload class: its personal fields, each with its Personal kind, or with the
# Personal kinds of the fields of the record it holds.
_PERSONAL_FIELDS: Final[Mapping[type, tuple[tuple[str, Any], ...]]] = {
    cls: tuple(
        (f.name, f.metadata[_PERSONAL]) for f in attrs.fields(cls) if _PERSONAL in f.metadata
    )
    for cls in PAYLOAD_TYPES.values()
}


def personal_values(payload: Payload) -> Iterator[tuple[Personal, str]]:
    """The personal values a payload holds (I4), with what each is; ``None`` ones skipped.

    >>> list(personal_values(IdentityBlocked(customer="+51987654321")))
    [(<Personal.ADDRESS: 'address'>, '+51987654321')]
    """
    for name, kind in _PERSONAL_FIELDS[type(payload)]:
        value = getattr(payload, name)
        if isinstance(kind, Personal):
            if value is not None:
                yield kind, value
            continue
        for inner, inner_kind in kind.items():
            found = getattr(value, inner)
            if found is not None:
                yield inner_kind, found


def scrub(payload: _P, replace: Callable[[Personal, str], str]) -> _P:
    """The payload with each personal value ``v`` of kind ``k`` replaced by ``replace(k, v)``.

    Field by field, through the payload class's marks (I4); the other fields are kept.
    Returns ``payload`` itself when nothing changes.

        >>> typified = TicketTypified(path=("Contactado",), customer="+51987654321",
        ...                           comment="llamar el lunes")
        >>> new = scrub(typified, lambda kind, v: "[x]" if kind is Personal.TEXT else "anon-1")
        >>> new.customer, new.comment, new.path
        ('anon-1', '[x]', ('Contactado',))
    """
    changes: dict[str, Any] = {}
    for name, kind in _PERSONAL_FIELDS[type(payload)]:
        value = getattr(payload, name)
        if isinstance(kind, Personal):
            if value is not None and (new := replace(kind, value)) != value:
                changes[name] = new
            continue
        inner_changes = {
            inner: new
            for inner, inner_kind in kind.items()
            if (found := getattr(value, inner)) is not None
            and (new := replace(inner_kind, found)) != found
        }
        if inner_changes:
            changes[name] = attrs.evolve(value, **inner_changes)
    return attrs.evolve(payload, **changes) if changes else payload
