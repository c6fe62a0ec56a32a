"""Ticket rules: customer addresses, typification trees, ticket changes and the rebuild.

Pure functions over records (T1, T3, T7, T8, T11); the services in
:mod:`ccdomain.services.ticket_actions` and :mod:`ccdomain.services.routing`
apply them inside a unit of work, and :func:`rebuild_tickets` applies the same
changes to the event log alone.

- T1 :func:`normalize_customer`: the customer address of a ticket, E.164 on
  phone channels.
- T3 :func:`require_open`: a closed ticket never reopens; :func:`closed` is the
  one way a ticket closes.
- T7 :func:`with_interaction` records an interaction on a ticket;
  :func:`describe_interaction` is the "last action" it leaves. P1, P2: an inbound
  interaction makes a pending or snoozed ticket open again (:func:`woken`; the other
  state rules are in :mod:`ccdomain.rules.states`).
- X6 a ticket's ``origin`` and ``opened_at`` are those of its earliest interaction
  by event time, also one that arrives after later ones (:func:`with_interaction`).
- T8 :class:`TypificationTree`: a campaign's tree and the paths it accepts.
- T11 every change is an event (:func:`ticket_event` and the builders below), so
  :func:`rebuild_tickets` and :func:`rebuild_typifications` rebuild the store's
  tickets and typifications from the event log alone.

Decisions taken where the product documents are silent (ids continue the T list of docs/rules.md):

- T14 A typification path is valid when it is one of the campaign's declared
  paths (from the root down to a leaf, 1 to 4 levels). A prefix of a path is
  not valid unless it is declared itself: ``["Contactado"]`` is refused when the
  tree only holds ``["Contactado", "Venta", "Contado"]``.
- T15 The ``last_*`` fields of a ticket (activity time, channel, action, agent)
  follow the latest interaction in event time, not in arrival order; closing
  sets ``last_agent`` to the closer. The last action of a message is its text;
  of a call, its status and duration (``"answered 95 s"``).
- T16 A ticket cannot be closed at a time before it was opened
  (:func:`check_close_time`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence

import attrs

from ccdomain import checks
from ccdomain.errors import InvalidTypification, RuleViolation, TicketClosed
from ccdomain.errors import show as _show
from ccdomain.events import (
    ContactLinked,
    Event,
    EventKind,
    InteractionAdded,
    LinkHow,
    Payload,
    TicketAssigned,
    TicketCancelled,
    TicketLabelled,
    TicketOpened,
    TicketPending,
    TicketResolved,
    TicketSnoozed,
    TicketTypified,
)
from ccdomain.models import (
    Campaign,
    Channel,
    Direction,
    Interaction,
    RouteOutcome,
    Ticket,
    TicketStatus,
    Typification,
)
from ccdomain.models._build import record_builder
from ccdomain.phones import normalize_phone

__all__ = [
    "PHONE_CHANNELS",
    "TypificationTree",
    "activity",
    "channels_with",
    "check_close_time",
    "check_replacement",
    "closed",
    "contact_linked_event",
    "describe_interaction",
    "interaction_event",
    "last_action",
    "normalize_customer",
    "opened_event",
    "pending_ended",
    "rebuild_tickets",
    "rebuild_typifications",
    "require_open",
    "ticket_event",
    "typified_payload",
    "with_interaction",
    "woken",
]

PHONE_CHANNELS = frozenset({Channel.CALL, Channel.WHATSAPP, Channel.SMS})
"""Channels whose customer address is a phone number, stored as E.164 (T1, M1)."""

# Enum members read as class attributes go through a descriptor on Python 3.11; the hot
# path reads these module constants instead.
_CALL = Channel.CALL
_INTERACTION_ADDED = EventKind.INTERACTION_ADDED
_TICKET_OPENED = EventKind.TICKET_OPENED
_OPEN = TicketStatus.OPEN
_PENDING = TicketStatus.PENDING
_SNOOZED = TicketStatus.SNOOZED
_INBOUND = Direction.INBOUND
# The records routing builds once or twice per interaction, from values already checked
# (see ccdomain.models._build): the same records as their classes make, a third faster.
# The events get the payload class of their kind by construction.
build_ticket = record_builder(Ticket)
build_interaction = record_builder(Interaction)
_build_event = record_builder(Event)
_build_interaction_added = record_builder(InteractionAdded)
_build_ticket_opened = record_builder(TicketOpened)


def normalize_customer(channel: Channel, raw: object, region: str) -> str:
    """The customer address of a ticket (T1): E.164 on phone channels, else normalized.

    Phone channels (call, WhatsApp, SMS) go through :func:`ccdomain.phones.normalize_phone`
    with the campaign's region; an email address is case-folded; other addresses
    (Messenger, Instagram, web chat ids) are stripped (X1).

    >>> normalize_customer(Channel.WHATSAPP, "987 654 321", "PE")
    '+51987654321'
    >>> normalize_customer(Channel.EMAIL, " Jose@Example.com ", "PE")
    'jose@example.com'

    Raises:
        InvalidPhoneNumber: a phone channel's address is not a valid number.
        RuleViolation: another channel's address is empty, too long or malformed.
    """
    if channel in PHONE_CHANNELS:
        return normalize_phone(raw, region)
    value = checks.identifier(raw, f"{channel.value} customer", limit=checks.ADDRESS_MAX)
    if channel is not Channel.EMAIL:
        return value
    # X1: case-folded, so an address typed in any case is one customer (and one contact).
    value = value.casefold()
    local, at_sign, domain = value.partition("@")
    if local and at_sign and domain and " " not in value and "@" not in domain:
        return value
    raise RuleViolation(
        f"customer {_show(raw)} is not a valid email address: expected the form name@domain"
    )


# --- typification trees (T8) -------------------------------------------------------------


@attrs.frozen
class TypificationTree:
    """A campaign's typification tree: group > result > reason > sub-reason (T8, T14).

    Built from the campaign's declared paths. A path is valid when it is one of
    them: from the root down to a leaf, with the deeper levels absent where the
    tree has none.

    >>> tree = TypificationTree.from_paths(
    ...     [["Contactado", "Venta", "Contado"], ["No contactado", "Buzón"]]
    ... )
    >>> tree.is_valid(["Contactado", "Venta", "Contado"])
    True
    >>> tree.is_valid(["Contactado"]), tree.is_valid(["Contactado", "Venta", "Crédito"])
    (False, False)
    >>> tree.children(["Contactado"])
    ('Venta',)
    """

    paths: tuple[tuple[str, ...], ...]
    _terminal: frozenset[tuple[str, ...]] = attrs.field(eq=False, repr=False)
    _children: dict[tuple[str, ...], tuple[str, ...]] = attrs.field(
        eq=False, repr=False, hash=False
    )

    @classmethod
    def from_paths(cls, paths: Iterable[Sequence[str]]) -> TypificationTree:
        """Build a tree from its root-to-leaf paths (1 to 4 non-empty labels each).

        Raises:
            InvalidTypification: a path is empty, deeper than 4 levels, or has a blank label.
        """
        if isinstance(paths, str) or not isinstance(paths, Iterable):
            raise InvalidTypification(
                f"typification tree {_show(paths)} is not valid: expected a list of paths"
            )
        declared: dict[tuple[str, ...], None] = {}
        children: dict[tuple[str, ...], dict[str, None]] = {}
        for raw in paths:
            path = checks.path(raw, "typification tree path", InvalidTypification)
            declared.setdefault(path, None)
            for depth in range(len(path)):
                children.setdefault(path[:depth], {}).setdefault(path[depth], None)
        return cls(
            tuple(declared),
            frozenset(declared),
            {prefix: tuple(labels) for prefix, labels in children.items()},
        )

    @classmethod
    def from_campaign(cls, campaign: Campaign) -> TypificationTree:
        """The tree of a campaign's ``typifications`` (cached per distinct tree)."""
        return _tree_of(campaign.typifications)

    def children(self, prefix: Sequence[str] = ()) -> tuple[str, ...]:
        """The labels offered below ``prefix`` (the groups for the empty prefix)."""
        return self._children.get(tuple(prefix), ())

    def is_valid(self, path: Sequence[str]) -> bool:
        """True when ``path`` is a declared root-to-leaf path of the tree."""
        try:
            return checks.path(path, "typification path", InvalidTypification) in self._terminal
        except InvalidTypification:
            return False

    def validate(self, path: object) -> tuple[str, ...]:
        """The path as a tuple of stripped labels when it is in the tree.

        Raises:
            InvalidTypification: the path is not a root-to-leaf path of the tree; the
                message names it and the labels the tree offers where it went astray.
        """
        labels = checks.path(path, "typification path", InvalidTypification)
        if labels in self._terminal:
            return labels
        depth = 0
        while depth < len(labels) and labels[depth] in self.children(labels[:depth]):
            depth += 1
        if depth == len(labels):
            offered = self.children(labels)
            hint = f"it stops early; below it the tree offers {_show(list(offered))}"
        else:
            offered = self.children(labels[:depth])
            hint = f"level {depth + 1} must be one of {_show(list(offered))}"
        if not self.paths:
            hint = "the campaign has no typification tree"
        raise InvalidTypification(
            f"typification path {_show(list(labels))} is not a path of the tree: {hint}"
        )


@functools.lru_cache(maxsize=256)
def _tree_of(paths: tuple[tuple[str, ...], ...]) -> TypificationTree:
    return TypificationTree.from_paths(paths)


# --- ticket changes (shared by the services and the rebuild) ------------------------------


def describe_interaction(interaction: Interaction) -> str:
    """The "last action" an interaction leaves on its ticket (T7, T15).

    A message's text; a call's status with its duration.

    >>> import datetime as dt
    >>> from ccdomain.models import Direction
    >>> at = dt.datetime(2026, 11, 20, 10, tzinfo=dt.timezone.utc)
    >>> call = Interaction(at=at, channel=Channel.CALL, direction=Direction.OUTBOUND,
    ...                    customer="+51987654321", status="answered", duration_s=95)
    >>> describe_interaction(call)
    'answered 95 s'
    """
    if interaction.channel is _CALL:
        status = interaction.status or "call"
        if interaction.duration_s is not None:
            return f"{status} {interaction.duration_s} s"
        return status
    if interaction.text:
        return interaction.text
    return interaction.status or ""


def last_action(ticket: Ticket) -> str:
    """The last action of a ticket: its last message's text or its last call's status (T7)."""
    return ticket.last_action


@functools.lru_cache(maxsize=1024)
def channels_with(channels: tuple[Channel, ...], channel: Channel) -> tuple[Channel, ...]:
    """``channels`` followed by ``channel``: one shared tuple per distinct sequence.

    Tickets hold few distinct channel sequences; sharing them saves an object per
    ticket (and the garbage collector's time to scan it).
    """
    return (*channels, channel)


def woken(ticket: Ticket, interaction: Interaction) -> bool:
    """Whether ``interaction`` makes a pending or snoozed ticket open again (P1, P2, P7).

    An inbound interaction at or after the mark does; an outbound one, or one that
    happened before the mark (a late delivery, T10), does not.
    """
    status = ticket.status
    if status is not _PENDING and status is not _SNOOZED:
        return False
    if interaction.direction is not _INBOUND:
        return False
    mark = ticket.paused_at
    return mark is None or interaction.at >= mark


def with_interaction(ticket: Ticket, interaction: Interaction) -> Ticket:
    """The ticket after recording ``interaction`` on it (T7, T15).

    Built field by field rather than with ``attrs.evolve``: this runs once per routed
    interaction and the explicit constructor costs a third of ``evolve``. A test checks
    that every field of :class:`Ticket` is carried over.
    """
    channel = interaction.channel
    channels = ticket.channels
    if channel not in channels:
        channels = (
            channels_with(channels, channel) if type(channel) is Channel else (*channels, channel)
        )
    last_at = ticket.last_activity_at
    if last_at is None or interaction.at >= last_at:
        agent = interaction.agent
        last_at = interaction.at
        last_channel: Channel | None = channel
        action = describe_interaction(interaction)
        last_agent = agent if agent is not None else ticket.last_agent
    else:
        last_channel = ticket.last_channel
        action = ticket.last_action
        last_agent = ticket.last_agent
    status = ticket.status
    snoozed_until = ticket.snoozed_until
    pending_spans = ticket.pending_spans
    if status is not _OPEN and woken(ticket, interaction):
        pending_spans = pending_ended(ticket, interaction.at)
        status, snoozed_until = _OPEN, None
    origin, opened_at = ticket.origin, ticket.opened_at
    if interaction.at < opened_at:
        # X6: the earliest interaction by event time opened the ticket, however late it came.
        origin, opened_at = interaction.direction, interaction.at
    return build_ticket(
        number=ticket.number,
        campaign=ticket.campaign,
        customer=ticket.customer,
        origin=origin,
        opened_at=opened_at,
        status=status,
        queue=ticket.queue,
        line=ticket.line,
        alias=ticket.alias,
        contact=ticket.contact,
        channels=channels,
        labels=ticket.labels,
        assignee=ticket.assignee,
        last_agent=last_agent,
        last_activity_at=last_at,
        last_channel=last_channel,
        last_action=action,
        interactions=ticket.interactions + 1,
        closed_at=ticket.closed_at,
        closed_by=ticket.closed_by,
        paused_at=ticket.paused_at,
        snoozed_until=snoozed_until,
        pending_spans=pending_spans,
    )


def closed(ticket: Ticket, status: TicketStatus, agent: str, at: dt.datetime) -> Ticket:
    """The ticket closed with ``status`` by ``agent`` at ``at`` (T3, T15: the closer is its
    last agent); a pending period ends with it (H6)."""
    return attrs.evolve(
        ticket,
        status=status,
        closed_at=at,
        closed_by=agent,
        last_agent=agent,
        pending_spans=pending_ended(ticket, at),
    )


def pending_ended(ticket: Ticket, at: dt.datetime) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    """The ticket's pending periods once the one it is in, if pending, ends at ``at`` (H6).

    A pending ticket's period runs from its mark (``paused_at``) to the customer's next
    inbound interaction, another mark or its close; a snoozed ticket's is not one.
    """
    mark = ticket.paused_at
    if ticket.status is not _PENDING or mark is None:
        return ticket.pending_spans
    return (*ticket.pending_spans, (mark, max(mark, at)))


def require_open(ticket: Ticket, action: str) -> None:
    """Refuse to ``action`` a closed ticket (T3).

    Raises:
        TicketClosed: the ticket is closed; the message names it and its status.
    """
    if not ticket.is_open:
        raise TicketClosed(
            f"ticket {ticket.number} is already {ticket.status.value}; cannot {action} it: "
            "a closed ticket never reopens (T3)"
        )


def check_replacement(
    ticket: Ticket, *, campaign: str, customer: str | None, was_open: bool
) -> None:
    """T3 and a ticket's key, when a store replaces its stored ticket with ``ticket``.

    The stored ticket of the same number belongs to ``campaign`` and ``customer`` and
    was open or not (``was_open``). Its campaign never changes; its customer neither,
    but for I4's rewrite (``customer`` None); a closed ticket never reopens. Every store
    asks this one function, so they refuse alike and say it alike.

    Raises:
        RuleViolation: the replacement changes the key, or reopens a closed ticket.
    """
    number = ticket.number
    if customer is None:
        if campaign != ticket.campaign:
            raise RuleViolation(
                f"ticket {number} belongs to campaign {campaign!r}; its campaign cannot change"
            )
    elif campaign != ticket.campaign or customer != ticket.customer:
        raise RuleViolation(
            f"ticket {number} belongs to ({campaign!r}, {customer!r}); "
            "its campaign and customer cannot change"
        )
    if ticket.is_open and not was_open:
        raise RuleViolation(f"ticket {number} is closed; a closed ticket never reopens")


def check_close_time(ticket: Ticket, at: dt.datetime) -> None:
    """Refuse to close a ticket before it opened (T16).

    Raises:
        RuleViolation: ``at`` is before the ticket's ``opened_at``.
    """
    if at < ticket.opened_at:
        raise RuleViolation(
            f"ticket {ticket.number} opened at {ticket.opened_at.isoformat()}; it cannot be "
            f"closed at {at.isoformat()}, before it opened (T16)"
        )


def activity(ticket: Ticket) -> dt.datetime:
    """The time of a ticket's newest activity: its last interaction or its close."""
    at = ticket.last_activity_at or ticket.opened_at
    closed_at = ticket.closed_at
    return closed_at if closed_at is not None and closed_at > at else at


# --- events (T11) --------------------------------------------------------------------------


def opened_event(ticket: Ticket, agent: str | None) -> Event:
    """The TICKET_OPENED event of a new ticket: what the rebuild needs to open it again."""
    return _build_event(
        kind=_TICKET_OPENED,
        at=ticket.opened_at,
        actor=agent,
        campaign=ticket.campaign,
        ticket=ticket.number,
        payload=_build_ticket_opened(
            customer=ticket.customer,
            origin=ticket.origin,
            queue=ticket.queue,
            alias=ticket.alias,
            line=ticket.line,
        ),
    )


def interaction_event(interaction: Interaction, outcome: RouteOutcome) -> Event:
    """The INTERACTION_ADDED event of a recorded interaction, with how it was routed."""
    return _build_event(
        kind=_INTERACTION_ADDED,
        at=interaction.at,
        actor=interaction.agent,
        campaign=interaction.campaign,
        ticket=interaction.ticket,
        payload=_build_interaction_added(interaction=interaction, outcome=outcome),
    )


def ticket_event(
    kind: EventKind,
    ticket: Ticket,
    agent: str | None,
    at: dt.datetime,
    payload: Payload,
) -> Event:
    """An event about ``ticket`` (as changed), naming its campaign, number and contact."""
    return Event(
        kind=kind,
        at=at,
        actor=agent,
        campaign=ticket.campaign,
        ticket=ticket.number,
        contact=ticket.contact,
        payload=payload,
    )


def contact_linked_event(
    ticket: Ticket,
    how: LinkHow,
    agent: str | None,
    at: dt.datetime,
    *,
    merged_from: str | None = None,
) -> Event:
    """The CONTACT_LINKED event of ``ticket`` as linked (M4, T19, M5): one shape for every link.

    ``how`` says who linked it (routing, an agent, a merge); ``merged_from`` names the
    merged contact when a merge relinked it.
    """
    return ticket_event(
        EventKind.CONTACT_LINKED,
        ticket,
        agent,
        at,
        ContactLinked(how=how, customer=ticket.customer, merged_from=merged_from),
    )


def typified_payload(typification: Typification) -> TicketTypified:
    """The TICKET_TYPIFIED payload: the typification record less what the event holds."""
    return TicketTypified(
        path=typification.path,
        customer=typification.customer,
        comment=typification.comment,
        channel=typification.channel,
        line=typification.line,
    )


def rebuild_tickets(events: Iterable[Event]) -> list[Ticket]:
    """The tickets, by number, as the event log alone describes them (T11).

    Equals the store's ``list_tickets()`` when the log holds every change.
    """
    tickets: dict[int, Ticket] = {}
    for event in events:
        number = event.ticket
        if number is None:
            continue
        payload = event.payload
        if type(payload) is TicketOpened:
            tickets[number] = Ticket(
                number=number,
                campaign=event.campaign or "",
                customer=payload.customer,
                origin=payload.origin,
                opened_at=event.at,
                queue=payload.queue,
                line=payload.line,
                alias=payload.alias,
            )
            continue
        ticket = tickets.get(number)
        if ticket is None:
            continue
        match payload:
            case InteractionAdded():
                ticket = with_interaction(ticket, payload.interaction)
            case ContactLinked():
                ticket = attrs.evolve(ticket, contact=event.contact)
            case TicketResolved():
                ticket = closed(ticket, TicketStatus.RESOLVED, event.actor or "", event.at)
            case TicketTypified():
                ticket = closed(ticket, TicketStatus.TYPIFIED, event.actor or "", event.at)
            case TicketCancelled():
                ticket = closed(ticket, TicketStatus.CANCELLED, event.actor or "", event.at)
            case TicketLabelled():
                ticket = attrs.evolve(ticket, labels=payload.labels)
            case TicketAssigned():
                ticket = attrs.evolve(ticket, assignee=payload.assignee)
            case TicketPending():
                ticket = attrs.evolve(
                    ticket,
                    status=_PENDING,
                    paused_at=event.at,
                    snoozed_until=None,
                    pending_spans=pending_ended(ticket, event.at),
                )
            case TicketSnoozed():
                ticket = attrs.evolve(
                    ticket,
                    status=_SNOOZED,
                    paused_at=event.at,
                    snoozed_until=payload.until,
                    pending_spans=pending_ended(ticket, event.at),
                )
            case _:
                continue
        tickets[number] = ticket
    return [tickets[n] for n in sorted(tickets)]


def rebuild_typifications(events: Iterable[Event]) -> list[Typification]:
    """The typification records, in the order made, from the event log alone (T8, T11)."""
    records = []
    for event in events:
        payload = event.payload
        if type(payload) is not TicketTypified or event.ticket is None:
            continue
        records.append(
            Typification(
                ticket=event.ticket,
                campaign=event.campaign or "",
                at=event.at,
                path=payload.path,
                customer=payload.customer,
                agent=event.actor,
                channel=payload.channel,
                line=payload.line,
                comment=payload.comment,
            )
        )
    return records
