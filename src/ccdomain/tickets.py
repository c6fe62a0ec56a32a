"""Tickets: routing of interactions, closing, typifications and the ticket views (T1-T13).

:func:`route_interaction` is the single entry point for a message or a call. It
applies, in one unit of work:

- T9 an interaction whose external id is already recorded changes nothing
  (outcome ``DUPLICATE``);
- T6 an outbound interaction names its campaign; an inbound one arrives on a
  line and goes to the campaign holding an open ticket with that customer on
  that line (the most recently active one), else to the line's default campaign;
- I3 a blocked identity is refused with :class:`~ccdomain.errors.BlockedIdentity`,
  and the refusal is recorded as an ``INTERACTION_REFUSED`` event;
- T10 an interaction that happened while a now-closed ticket was open
  (``opened_at <= at <= closed_at``) is recorded on that ticket, which stays
  closed (outcome ``LATE``);
- T1, T2, T5 otherwise it joins the open ticket of (campaign, customer), or the
  store opens one with a fresh number (outcome ``JOINED`` / ``OPENED``);
- M4 a ticket without a contact is linked when exactly one contact of its
  campaign has the customer's E.164 number.

Closing (T3): :func:`resolve_ticket`, :func:`typify_ticket` (T8, checked against
the campaign's :class:`TypificationTree`) and :func:`cancel_ticket` (which also
removes the case comments, I2). A closed ticket never reopens.

Every change appends an event (T11) carrying what the reports need, so
:func:`rebuild_tickets` and :func:`rebuild_typifications` rebuild the store's
tickets and typifications from the event log alone.

Decisions taken where DESIGN is silent (ids continue DESIGN's T list):

- T12 An inbound interaction that names a campaign goes to that campaign (the
  host already chose it, e.g. in an IVR menu); the line is still recorded. An
  inbound interaction with neither line nor campaign is refused.
- T13 T6 is read in event time: the inbound candidates are the tickets of the
  customer on that line that were open at the interaction's time; when none
  was, the tickets open now on that line; else the line's default campaign.
  "Most recently active" compares ``last_activity_at`` (then the number).
- T14 A typification path is valid when it is one of the campaign's declared
  paths (from the root down to a leaf, 1 to 4 levels). A prefix of a path is
  not valid unless it is declared itself: ``["Contactado"]`` is refused when the
  tree only holds ``["Contactado", "Venta", "Contado"]``.
- T15 The ``last_*`` fields of a ticket (activity time, channel, action, agent)
  follow the latest interaction in event time, not in arrival order; closing
  sets ``last_agent`` to the closer. The last action of a message is its text;
  of a call, its status and duration (``"answered 95 s"``).
- T16 A ticket cannot be closed at a time before it was opened. Labels can be
  set on closed tickets (they are reporting metadata); assignment needs an open
  ticket.
- T17 The agent's ticket list holds the tickets the agent is assigned to,
  closed, was the last agent of, or took part in by an interaction; newest
  activity (last interaction or close) first.
- T18 The channel services check every rule (K6, I3, the phone) before calling
  the host's channel; a channel that fails records nothing and its error is
  re-raised as :class:`~ccdomain.errors.RuleViolation` naming the channel error.
- T19 The manual link of a ticket (``link_ticket_contact``) follows merge
  tombstones to the surviving contact; named by campaign and customer it links
  the open ticket, or, when none is open, the customer's latest ticket there.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import attrs
import phonenumbers

from ccdomain import checks
from ccdomain.contacts import check_template_precondition, live_contact
from ccdomain.errors import (
    BlockedIdentity,
    CcdomainError,
    InvalidChannel,
    InvalidPhoneNumber,
    InvalidTypification,
    RuleViolation,
    TicketClosed,
    UnknownCampaign,
    UnknownLine,
    UnknownTicket,
)
from ccdomain.errors import (
    show as _show,
)
from ccdomain.events import (
    ContactLinked,
    Event,
    EventKind,
    InteractionAdded,
    InteractionRefused,
    LinkHow,
    Payload,
    TicketAssigned,
    TicketCancelled,
    TicketLabelled,
    TicketOpened,
    TicketResolved,
    TicketTypified,
)
from ccdomain.matching import auto_link_contact
from ccdomain.models import (
    Campaign,
    Channel,
    Direction,
    Interaction,
    Line,
    RouteOutcome,
    Ticket,
    TicketStatus,
    Typification,
)
from ccdomain.phones import normalize_phone
from ccdomain.ports import ChannelPort, Store, UnitOfWork

__all__ = [
    "PHONE_CHANNELS",
    "CallDetail",
    "HistoryRow",
    "Interaction",
    "MessageDetail",
    "RouteOutcome",
    "RouteResult",
    "Ticket",
    "TicketListItem",
    "Typification",
    "TypificationRow",
    "TypificationTree",
    "agent_ticket_list",
    "assign_ticket",
    "cancel_ticket",
    "describe_interaction",
    "history_rows",
    "last_action",
    "link_ticket_contact",
    "normalize_customer",
    "place_call",
    "rebuild_tickets",
    "rebuild_typifications",
    "resolve_ticket",
    "route_interaction",
    "send_message",
    "send_template",
    "set_labels",
    "typification_rows",
    "typify_ticket",
]

PHONE_CHANNELS = frozenset({Channel.CALL, Channel.WHATSAPP, Channel.SMS})
"""Channels whose customer address is a phone number, stored as E.164 (T1, M1)."""

_CHANNEL_NAMES = ", ".join(c.value for c in Channel)
_TEXT_LINES = frozenset(Channel) - {Channel.CALL}
# StrEnum members hash and compare as their values: one lookup serves both spellings.
_CHANNEL_BY_NAME: dict[str, Channel] = {c.value: c for c in Channel}
_DIRECTION_BY_NAME: dict[str, Direction] = {d.value: d for d in Direction}


# --- results and rows ------------------------------------------------------------------


# Enum members read as class attributes go through a descriptor on Python 3.11; the hot
# path reads these module constants instead.
_OPENED = RouteOutcome.OPENED
_JOINED = RouteOutcome.JOINED
_LATE = RouteOutcome.LATE
_CALL = Channel.CALL
_OUTBOUND = Direction.OUTBOUND
_INTERACTION_ADDED = EventKind.INTERACTION_ADDED
_TICKET_OPENED = EventKind.TICKET_OPENED


@attrs.frozen(kw_only=True)
class RouteResult:
    """The ticket an interaction went to, how, and the interaction as recorded."""

    ticket: Ticket
    outcome: RouteOutcome
    interaction: Interaction


@attrs.frozen(kw_only=True)
class TypificationRow:
    """One row of a contact's Typifications tab (T8, seed 000)."""

    at: dt.datetime
    ticket: int
    campaign: str
    channel: Channel | None
    line: str | None
    alias: str
    customer: str
    agent: str | None
    group: str
    result: str
    reason: str
    sub_reason: str
    comment: str
    path: tuple[str, ...]


@attrs.frozen(kw_only=True)
class CallDetail:
    """A call in a ticket's detail: time, duration and the line (identifier)."""

    at: dt.datetime
    duration_s: int | None
    line: str | None
    alias: str
    direction: Direction
    status: str | None
    agent: str | None


@attrs.frozen(kw_only=True)
class MessageDetail:
    """A message in a ticket's detail: time, direction and text."""

    at: dt.datetime
    direction: Direction
    channel: Channel
    text: str
    agent: str | None


@attrs.frozen(kw_only=True)
class HistoryRow:
    """One row of a contact's History tab (seed 000), with the ticket's detail."""

    at: dt.datetime
    ticket: int
    campaign: str
    status: TicketStatus
    last_agent: str | None
    channels: tuple[Channel, ...]
    agents: tuple[str, ...]
    typification: tuple[str, ...] | None
    comments: tuple[str, ...]
    calls: tuple[CallDetail, ...]
    messages: tuple[MessageDetail, ...]


@attrs.frozen(kw_only=True)
class TicketListItem:
    """One entry of an agent's ticket list (seed 001, first column)."""

    number: int
    campaign: str
    title: str
    customer: str
    contact: str | None
    channel: Channel | None
    last_action: str
    labels: tuple[str, ...]
    status: TicketStatus
    at: dt.datetime


# --- input checks ------------------------------------------------------------------------


def _channel(value: object) -> Channel:
    if isinstance(value, str):
        found = _CHANNEL_BY_NAME.get(value) or _CHANNEL_BY_NAME.get(value.strip().lower())
        if found is not None:
            return found
    raise InvalidChannel(f"channel {_show(value)} is not valid: expected one of {_CHANNEL_NAMES}")


def _direction(value: object) -> Direction:
    if isinstance(value, str):
        found = _DIRECTION_BY_NAME.get(value) or _DIRECTION_BY_NAME.get(value.strip().lower())
        if found is not None:
            return found
    raise RuleViolation(f"direction {_show(value)} is not valid: expected 'inbound' or 'outbound'")


def normalize_customer(channel: Channel, raw: object, region: str) -> str:
    """The customer address of a ticket (T1): E.164 on phone channels, else normalized.

    Phone channels (call, WhatsApp, SMS) go through :func:`ccdomain.phones.normalize_phone`
    with the campaign's region; an email address is lower-cased; other addresses
    (Messenger, Instagram, web chat ids) are stripped.

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
    value = value.lower()
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


# --- pure transitions (shared by the services and the rebuild) ---------------------------


def describe_interaction(interaction: Interaction) -> str:
    """The "last action" an interaction leaves on its ticket (T7, T15).

    A message's text; a call's status with its duration.

    >>> import datetime as dt
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
def _channels_with(channels: tuple[Channel, ...], channel: Channel) -> tuple[Channel, ...]:
    """``channels`` followed by ``channel``: one shared tuple per distinct sequence.

    Tickets hold few distinct channel sequences; sharing them saves an object per
    ticket (and the garbage collector's time to scan it).
    """
    return (*channels, channel)


def _with_interaction(ticket: Ticket, interaction: Interaction) -> Ticket:
    """The ticket after recording ``interaction`` on it (T7, T15).

    Built field by field rather than with ``attrs.evolve``: this runs once per routed
    interaction and the explicit constructor costs a third of ``evolve``. A test checks
    that every field of :class:`Ticket` is carried over.
    """
    channel = interaction.channel
    channels = ticket.channels
    if channel not in channels:
        channels = (
            _channels_with(channels, channel) if type(channel) is Channel else (*channels, channel)
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
    return Ticket(
        number=ticket.number,
        campaign=ticket.campaign,
        customer=ticket.customer,
        origin=ticket.origin,
        opened_at=ticket.opened_at,
        status=ticket.status,
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
    )


def _closed(ticket: Ticket, status: TicketStatus, agent: str, at: dt.datetime) -> Ticket:
    return attrs.evolve(ticket, status=status, closed_at=at, closed_by=agent, last_agent=agent)


def _activity(ticket: Ticket) -> dt.datetime:
    """The time of a ticket's newest activity: its last interaction or its close."""
    at = ticket.last_activity_at or ticket.opened_at
    closed = ticket.closed_at
    return closed if closed is not None and closed > at else at


def _recency(ticket: Ticket) -> tuple[dt.datetime, int]:
    return (ticket.last_activity_at or ticket.opened_at, ticket.number)


# --- events (T11) --------------------------------------------------------------------------


def _opened_event(ticket: Ticket, actor: str | None) -> Event:
    return Event(
        kind=_TICKET_OPENED,
        at=ticket.opened_at,
        actor=actor,
        campaign=ticket.campaign,
        ticket=ticket.number,
        payload=TicketOpened(
            customer=ticket.customer,
            origin=ticket.origin,
            queue=ticket.queue,
            alias=ticket.alias,
            line=ticket.line,
        ),
    )


def _interaction_event(interaction: Interaction, outcome: RouteOutcome) -> Event:
    return Event(
        kind=_INTERACTION_ADDED,
        at=interaction.at,
        actor=interaction.agent,
        campaign=interaction.campaign,
        ticket=interaction.ticket,
        payload=InteractionAdded(interaction=interaction, outcome=outcome),
    )


def _ticket_event(
    kind: EventKind,
    ticket: Ticket,
    agent: str | None,
    at: dt.datetime,
    payload: Payload,
    contact: str | None = None,
) -> Event:
    return Event(
        kind=kind,
        at=at,
        actor=agent,
        campaign=ticket.campaign,
        ticket=ticket.number,
        contact=contact if contact is not None else ticket.contact,
        payload=payload,
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
                ticket = _with_interaction(ticket, payload.interaction)
            case ContactLinked():
                ticket = attrs.evolve(ticket, contact=event.contact)
            case TicketResolved():
                ticket = _closed(ticket, TicketStatus.RESOLVED, event.actor or "", event.at)
            case TicketTypified():
                ticket = _closed(ticket, TicketStatus.TYPIFIED, event.actor or "", event.at)
            case TicketCancelled():
                ticket = _closed(ticket, TicketStatus.CANCELLED, event.actor or "", event.at)
            case TicketLabelled():
                ticket = attrs.evolve(ticket, labels=payload.labels)
            case TicketAssigned():
                ticket = attrs.evolve(ticket, assignee=payload.assignee)
            case _:
                continue
        tickets[number] = ticket
    return [tickets[n] for n in sorted(tickets)]


def _typified_payload(typification: Typification) -> TicketTypified:
    return TicketTypified(
        path=typification.path,
        customer=typification.customer,
        comment=typification.comment,
        channel=typification.channel,
        line=typification.line,
    )


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


# --- routing (T1-T6, T9, T10, M4, I3) ------------------------------------------------------


class _Target(NamedTuple):
    """Where an interaction goes: its campaign, its normalized customer, its line.

    A named tuple rather than an attrs class: routing builds one per interaction.
    """

    campaign: Campaign
    customer: str
    line: Line | None


def _get_campaign(uow: UnitOfWork, campaign_id: str) -> Campaign:
    campaign = uow.get_campaign(campaign_id)
    if campaign is None:
        raise UnknownCampaign(
            f"campaign {_show(campaign_id)} is not declared; expected the id of a declared campaign"
        )
    return campaign


def _get_line(uow: UnitOfWork, line_id: str) -> Line:
    line = uow.get_line(line_id)
    if line is None:
        raise UnknownLine(
            f"line {_show(line_id)} is not declared; expected the id of a declared line"
        )
    return line


def _line_region(line: Line) -> str:
    """The region of a line's own number, for a line without a default campaign."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(line.address, None))
    except phonenumbers.NumberParseException:
        region = None
    if not isinstance(region, str) or len(region) != 2:
        raise RuleViolation(
            f"line {line.id!r} has no default campaign and its address {_show(line.address)} "
            "names no region; expected a line with a default campaign"
        )
    return region


def _campaign_on_line(uow: UnitOfWork, customer: str, line_id: str, at: dt.datetime) -> str | None:
    """T6/T13: the campaign of the customer's ticket on this line, open at ``at`` or now."""
    open_then: Ticket | None = None
    open_now: Ticket | None = None
    for ticket in uow.tickets_for_customer(customer):
        if ticket.line != line_id:
            continue
        closed_at = ticket.closed_at
        if ticket.opened_at <= at and (
            ticket.is_open or (closed_at is not None and at <= closed_at)
        ):
            if open_then is None or _recency(ticket) > _recency(open_then):
                open_then = ticket
        elif ticket.is_open and (open_now is None or _recency(ticket) > _recency(open_now)):
            open_now = ticket
    chosen = open_then or open_now
    return None if chosen is None else chosen.campaign


def _resolve_target(
    uow: UnitOfWork,
    *,
    channel: Channel,
    direction: Direction,
    customer: object,
    line_id: str | None,
    campaign_id: str | None,
    at: dt.datetime,
) -> _Target:
    """T6/T12: the campaign, normalized customer and line of an interaction (no writes)."""
    line = None if line_id is None else _get_line(uow, line_id)
    if campaign_id is not None:
        campaign = _get_campaign(uow, campaign_id)
        return _Target(campaign, normalize_customer(channel, customer, campaign.region), line)
    if direction is _OUTBOUND:
        raise RuleViolation(
            f"outbound interaction to {_show(customer)} names no campaign; "
            "expected the campaign it is made for (T6)"
        )
    if line is None:
        raise RuleViolation(
            f"inbound interaction from {_show(customer)} names no line; "
            "expected the line it arrived on (T6)"
        )
    default = None
    if line.campaign:
        default = uow.get_campaign(line.campaign)
        if default is None:
            raise UnknownCampaign(
                f"line {line.id!r} names default campaign {_show(line.campaign)}, "
                "which is not declared"
            )
    region = default.region if default is not None else _line_region(line)
    normalized = normalize_customer(channel, customer, region)
    chosen = _campaign_on_line(uow, normalized, line.id, at)
    if chosen is not None and (default is None or chosen != default.id):
        return _Target(_get_campaign(uow, chosen), normalized, line)
    if default is None:
        raise RuleViolation(
            f"line {line.id!r} has no default campaign and customer {normalized!r} has no "
            "ticket on it; expected a line with a default campaign (T6)"
        )
    return _Target(default, normalized, line)


def _refusal(
    target: _Target,
    *,
    at: dt.datetime,
    channel: Channel,
    direction: Direction,
    agent: str | None,
    external_id: str | None,
    text: str | None,
) -> Event:
    return Event(
        kind=EventKind.INTERACTION_REFUSED,
        at=at,
        actor=agent,
        campaign=target.campaign.id,
        payload=InteractionRefused(
            customer=target.customer,
            channel=channel,
            direction=direction,
            line=None if target.line is None else target.line.id,
            external_id=external_id,
            text=text,
        ),
    )


def _blocked_error(target: _Target) -> BlockedIdentity:
    return BlockedIdentity(
        f"customer {target.customer!r} is blocked in campaign {target.campaign.id!r}; "
        "the interaction was refused and the refusal recorded (I3)"
    )


def _closed_covering(
    uow: UnitOfWork, campaign: str, customer: str, at: dt.datetime
) -> Ticket | None:
    """T10: the closed ticket of (campaign, customer) that was open at ``at``."""
    found: Ticket | None = None
    for ticket in uow.tickets_for_customer(customer, campaign):
        closed_at = ticket.closed_at
        if closed_at is not None and ticket.opened_at <= at <= closed_at:
            found = ticket
    return found


def route_interaction(
    store: Store,
    *,
    at: dt.datetime,
    channel: Channel | str,
    direction: Direction | str,
    customer: str,
    line: str | None = None,
    campaign: str | None = None,
    external_id: str | None = None,
    agent: str | None = None,
    text: str | None = None,
    status: str | None = None,
    duration_s: int | None = None,
    queue: str | None = None,
) -> RouteResult:
    """Route one message or call to its ticket (T1-T6, T9, T10, M4, I3); the entry point.

    Args:
        store: where tickets, interactions and events live (one unit of work is used).
        at: when the interaction happened (aware datetime): event time decides (T10).
        channel: call, whatsapp, sms, email, messenger, instagram or webchat.
        direction: inbound (arrives on ``line``) or outbound (made for ``campaign``).
        customer: the customer's address as received; normalized per channel (E.164 for
            phone channels, in the target campaign's region).
        line: the line (business identifier) it arrived on or left from.
        campaign: the campaign; required when outbound (T6); an inbound interaction that
            names one goes there (T12).
        external_id: the provider's id; a repeated one changes nothing (T9).
        agent: the agent who made it (outbound) or answered it.
        text: the message text. status, duration_s: a call's status and duration.
        queue: the queue of a ticket this interaction opens (default: the line's queue).

    Returns:
        The :class:`RouteResult`: the ticket after the interaction, the outcome and the
        interaction as recorded.

    Raises:
        UnknownCampaign, UnknownLine: the campaign or line is not declared.
        InvalidPhoneNumber: a phone channel's customer is not a valid number.
        BlockedIdentity: the customer is blocked in the target campaign (the refusal is
            recorded as an event, nothing else changes).
        RuleViolation, InvalidChannel: any other bad input. Nothing changes on any error.
    """
    at = checks.aware(at)
    channel = _channel(channel)
    direction = _direction(direction)
    # Optional fields spelled out: this runs once per routed interaction.
    line_id = None if line is None else checks.identifier(line, "line")
    campaign_id = None if campaign is None else checks.identifier(campaign, "campaign")
    external_id = None if external_id is None else checks.identifier(external_id, "external_id")
    agent = None if agent is None else checks.agent(agent)
    text = None if text is None else checks.text(text, "text")
    status = None if status is None else checks.identifier(status, "status")
    duration_s = None if duration_s is None else checks.duration(duration_s)
    queue = None if queue is None else checks.identifier(queue, "queue")
    with store.unit_of_work() as uow:
        if external_id is not None:
            seen = uow.find_interaction(external_id)
            if seen is not None and seen.ticket is not None:
                known = uow.get_ticket(seen.ticket)
                if known is not None:
                    return RouteResult(
                        ticket=known, outcome=RouteOutcome.DUPLICATE, interaction=seen
                    )
        target = _resolve_target(
            uow,
            channel=channel,
            direction=direction,
            customer=customer,
            line_id=line_id,
            campaign_id=campaign_id,
            at=at,
        )
        if uow.get_block(target.campaign.id, target.customer) is not None:
            uow.append_event(
                _refusal(
                    target,
                    at=at,
                    channel=channel,
                    direction=direction,
                    agent=agent,
                    external_id=external_id,
                    text=text,
                )
            )
            uow.commit()
            blocked = _blocked_error(target)
        else:
            result = _record(
                uow,
                target,
                at=at,
                channel=channel,
                direction=direction,
                external_id=external_id,
                agent=agent,
                text=text,
                status=status,
                duration_s=duration_s,
                queue=queue,
            )
            uow.commit()
            return result
    raise blocked


def _opened_ticket(
    number: int, target: _Target, interaction: Interaction, queue: str | None
) -> Ticket:
    """A new ticket with its first interaction applied (T7, T15): one construction.

    Equals ``_with_interaction`` of the bare ticket (a test checks it).
    """
    line = target.line
    channel = interaction.channel
    agent = interaction.agent
    return Ticket(
        number=number,
        campaign=target.campaign.id,
        customer=target.customer,
        origin=interaction.direction,
        opened_at=interaction.at,
        queue=queue if queue is not None else ("" if line is None else line.queue),
        line=None if line is None else line.id,
        alias="" if line is None else line.alias,
        channels=_channels_with((), channel) if type(channel) is Channel else (channel,),
        last_agent=agent,
        last_activity_at=interaction.at,
        last_channel=channel,
        last_action=describe_interaction(interaction),
        interactions=1,
    )


def _record(
    uow: UnitOfWork,
    target: _Target,
    *,
    at: dt.datetime,
    channel: Channel,
    direction: Direction,
    external_id: str | None,
    agent: str | None,
    text: str | None,
    status: str | None,
    duration_s: int | None,
    queue: str | None,
) -> RouteResult:
    """T1/T3/T10: put a checked interaction on its ticket, opening one when needed.

    This is the hot path of routing: the interaction and the ticket are each built
    once, one store write per change, no copies of listings.
    """
    campaign_id = target.campaign.id
    customer = target.customer
    line_id = None if target.line is None else target.line.id
    ticket = uow.get_open_ticket(campaign_id, customer)
    outcome = _JOINED
    if ticket is None or at < ticket.opened_at:
        late = _closed_covering(uow, campaign_id, customer, at)
        if late is not None:
            ticket, outcome = late, _LATE
    recorded: Interaction | None = None
    if ticket is None:

        def opener(number: int) -> Ticket:
            nonlocal recorded
            recorded = Interaction(
                at=at,
                channel=channel,
                direction=direction,
                customer=customer,
                external_id=external_id,
                line=line_id,
                campaign=campaign_id,
                agent=agent,
                text=text,
                status=status,
                duration_s=duration_s,
                ticket=number,
            )
            # Stored with its first interaction applied: no second write.
            return _opened_ticket(number, target, recorded, queue)

        ticket, opened = uow.get_or_open_ticket(campaign_id, customer, opener)
        if opened:
            outcome = _OPENED
            uow.append_event(_opened_event(ticket, agent))
    if outcome is _OPENED and recorded is not None:
        updated, changed = ticket, False
    else:
        recorded = Interaction(
            at=at,
            channel=channel,
            direction=direction,
            customer=customer,
            external_id=external_id,
            line=line_id,
            campaign=campaign_id,
            agent=agent,
            text=text,
            status=status,
            duration_s=duration_s,
            ticket=ticket.number,
        )
        updated, changed = _with_interaction(ticket, recorded), True
    uow.add_interaction(recorded)
    uow.append_event(_interaction_event(recorded, outcome))
    if updated.contact is None:
        code = auto_link_contact(uow, campaign_id, customer)
        if code is not None:
            updated = attrs.evolve(updated, contact=code)
            changed = True
            uow.append_event(
                _ticket_event(
                    EventKind.CONTACT_LINKED,
                    updated,
                    None,
                    at,
                    ContactLinked(how=LinkHow.AUTO, customer=customer),
                )
            )
    if changed:
        uow.update_ticket(updated)
    return RouteResult(ticket=updated, outcome=outcome, interaction=recorded)


# --- ticket actions (T3, T8, I2) -----------------------------------------------------------


def _customer_keys(raw: object, region: str) -> tuple[str, ...]:
    """The addresses a customer typed without a channel may be stored under."""
    try:
        return (normalize_phone(raw, region),)
    except InvalidPhoneNumber:
        pass
    value = checks.identifier(raw, "customer", limit=checks.ADDRESS_MAX)
    return (value, value.lower()) if value != value.lower() else (value,)


def _find_ticket(
    uow: UnitOfWork,
    *,
    number: object,
    campaign: object,
    customer: object,
    latest_if_none_open: bool = False,
) -> Ticket:
    if number is not None:
        ticket = uow.get_ticket(checks.ticket_number(number, "ticket number", UnknownTicket))
        if ticket is None:
            raise UnknownTicket(f"ticket {_show(number)} does not exist; expected a ticket number")
        if campaign is not None and checks.identifier(campaign, "campaign") != ticket.campaign:
            raise RuleViolation(
                f"ticket {ticket.number} belongs to campaign {ticket.campaign!r}, "
                f"not {_show(campaign)}"
            )
        return ticket
    if campaign is None or customer is None:
        raise UnknownTicket(
            f"no ticket named: expected a ticket number, or a campaign and a customer "
            f"(got campaign {_show(campaign)}, customer {_show(customer)})"
        )
    found = _get_campaign(uow, checks.identifier(campaign, "campaign"))
    keys = _customer_keys(customer, found.region)
    for key in keys:
        ticket = uow.get_open_ticket(found.id, key)
        if ticket is not None:
            return ticket
    if latest_if_none_open:
        for key in keys:
            tickets = uow.tickets_for_customer(key, found.id)
            if tickets:
                return tickets[-1]
    raise UnknownTicket(
        f"customer {_show(customer)} has no open ticket in campaign {found.id!r}; "
        "expected an open ticket to act on"
    )


def _require_open(ticket: Ticket, action: str) -> None:
    if not ticket.is_open:
        raise TicketClosed(
            f"ticket {ticket.number} is already {ticket.status.value}; cannot {action} it: "
            "a closed ticket never reopens (T3)"
        )


def _check_close_time(ticket: Ticket, at: dt.datetime) -> None:
    if at < ticket.opened_at:
        raise RuleViolation(
            f"ticket {ticket.number} opened at {ticket.opened_at.isoformat()}; it cannot be "
            f"closed at {at.isoformat()}, before it opened (T16)"
        )


def resolve_ticket(
    store: Store,
    *,
    number: int | None = None,
    campaign: str | None = None,
    customer: str | None = None,
    agent: str,
    at: dt.datetime,
) -> Ticket:
    """Close a ticket as resolved (T3), named by number or by campaign and customer.

    Raises:
        UnknownTicket: no such ticket, or no open ticket for that campaign and customer.
        TicketClosed: the ticket is already closed.
        RuleViolation: bad agent or time (naive, or before the ticket opened).
    """
    agent = checks.agent(agent)
    at = checks.aware(at)
    with store.unit_of_work() as uow:
        ticket = _find_ticket(uow, number=number, campaign=campaign, customer=customer)
        _require_open(ticket, "resolve")
        _check_close_time(ticket, at)
        closed = _closed(ticket, TicketStatus.RESOLVED, agent, at)
        uow.update_ticket(closed)
        uow.append_event(
            _ticket_event(EventKind.TICKET_RESOLVED, closed, agent, at, TicketResolved())
        )
        uow.commit()
    return closed


def typify_ticket(
    store: Store,
    *,
    number: int | None = None,
    campaign: str | None = None,
    customer: str | None = None,
    agent: str,
    at: dt.datetime,
    path: Sequence[str],
    comment: str = "",
) -> tuple[Ticket, Typification]:
    """Typify and close a ticket (T3, T8): the path must be in the campaign's tree.

    The record keeps the time, the ticket's last channel, its line, the customer,
    the agent, the path and the comment.

    Raises:
        InvalidTypification: the path is not a root-to-leaf path of the tree (T14).
        UnknownTicket, TicketClosed, RuleViolation: as :func:`resolve_ticket`.
    """
    agent = checks.agent(agent)
    at = checks.aware(at)
    comment = checks.text(comment, "comment", limit=checks.COMMENT_MAX)
    with store.unit_of_work() as uow:
        ticket = _find_ticket(uow, number=number, campaign=campaign, customer=customer)
        _require_open(ticket, "typify")
        _check_close_time(ticket, at)
        tree = TypificationTree.from_campaign(_get_campaign(uow, ticket.campaign))
        labels = tree.validate(path)
        closed = _closed(ticket, TicketStatus.TYPIFIED, agent, at)
        record = Typification(
            ticket=ticket.number,
            campaign=ticket.campaign,
            at=at,
            path=labels,
            customer=ticket.customer,
            agent=agent,
            channel=ticket.last_channel,
            line=ticket.line,
            comment=comment,
        )
        uow.update_ticket(closed)
        uow.add_typification(record)
        uow.append_event(
            _ticket_event(EventKind.TICKET_TYPIFIED, closed, agent, at, _typified_payload(record))
        )
        uow.commit()
    return closed, record


def cancel_ticket(store: Store, number: int, agent: str, at: dt.datetime) -> Ticket:
    """Cancel a case (T3): close it as cancelled and remove its comments (I2).

    Raises:
        UnknownTicket, TicketClosed, RuleViolation: as :func:`resolve_ticket`.
    """
    agent = checks.agent(agent)
    at = checks.aware(at)
    with store.unit_of_work() as uow:
        ticket = _find_ticket(uow, number=number, campaign=None, customer=None)
        _require_open(ticket, "cancel")
        _check_close_time(ticket, at)
        removed = len(uow.comments(ticket.number))
        closed = _closed(ticket, TicketStatus.CANCELLED, agent, at)
        uow.update_ticket(closed)
        uow.delete_comments(ticket.number)
        uow.append_event(
            _ticket_event(
                EventKind.TICKET_CANCELLED,
                closed,
                agent,
                at,
                TicketCancelled(comments_removed=removed),
            )
        )
        uow.commit()
    return closed


def set_labels(
    store: Store, number: int, labels: Sequence[str], agent: str, at: dt.datetime
) -> Ticket:
    """Replace a ticket's labels (deduplicated, in the order given); allowed when closed.

    Raises:
        UnknownTicket: no such ticket. RuleViolation: a label is blank or too long.
    """
    agent = checks.agent(agent)
    at = checks.aware(at)
    clean = tuple(
        dict.fromkeys(
            checks.identifier(label, "label", limit=checks.LABEL_MAX)
            for label in checks.items(labels, "labels")
        )
    )
    with store.unit_of_work() as uow:
        ticket = _find_ticket(uow, number=number, campaign=None, customer=None)
        if ticket.labels == clean:
            return ticket
        updated = attrs.evolve(ticket, labels=clean)
        uow.update_ticket(updated)
        uow.append_event(
            _ticket_event(
                EventKind.TICKET_LABELLED,
                updated,
                agent,
                at,
                TicketLabelled(labels=clean),
            )
        )
        uow.commit()
    return updated


def assign_ticket(
    store: Store, number: int, assignee: str | None, agent: str, at: dt.datetime
) -> Ticket:
    """Assign an open ticket to an agent (``None`` unassigns it).

    Raises:
        UnknownTicket: no such ticket. TicketClosed: the ticket is closed.
        RuleViolation: bad assignee, agent or time.
    """
    agent = checks.agent(agent)
    at = checks.aware(at)
    assignee = checks.actor(assignee, "assignee")
    with store.unit_of_work() as uow:
        ticket = _find_ticket(uow, number=number, campaign=None, customer=None)
        _require_open(ticket, "assign")
        if ticket.assignee == assignee:
            return ticket
        updated = attrs.evolve(ticket, assignee=assignee)
        uow.update_ticket(updated)
        uow.append_event(
            _ticket_event(
                EventKind.TICKET_ASSIGNED, updated, agent, at, TicketAssigned(assignee=assignee)
            )
        )
        uow.commit()
    return updated


def link_ticket_contact(
    store: Store,
    number: int | None,
    campaign: str | None,
    code: str,
    agent: str | None,
    at: dt.datetime,
    *,
    customer: str | None = None,
) -> Ticket:
    """Link a ticket to a contact of its campaign by hand (M4's alternative, T19).

    Name the ticket by number, or by campaign and ``customer`` (its open ticket, else
    the customer's latest ticket there). A merged contact resolves to its survivor.

    Raises:
        UnknownTicket: no such ticket. UnknownContact: no such contact in the ticket's
            campaign. RuleViolation: the campaign is not the ticket's, or bad input.
    """
    code = checks.identifier(code, "contact code")
    agent = checks.actor(agent, "agent")
    at = checks.aware(at)
    with store.unit_of_work() as uow:
        ticket = _find_ticket(
            uow, number=number, campaign=campaign, customer=customer, latest_if_none_open=True
        )
        contact = live_contact(uow, ticket.campaign, code)
        if ticket.contact == contact.code:
            return ticket
        updated = attrs.evolve(ticket, contact=contact.code)
        uow.update_ticket(updated)
        uow.append_event(
            _ticket_event(
                EventKind.CONTACT_LINKED,
                updated,
                agent,
                at,
                ContactLinked(how=LinkHow.MANUAL, customer=ticket.customer),
            )
        )
        uow.commit()
    return updated


# --- views (seed 000 Tickets tab, seed 001 ticket list) ------------------------------------


def _contact_tickets(uow: UnitOfWork, campaign: str, contact_code: str) -> Sequence[Ticket]:
    contact = live_contact(uow, campaign, contact_code)
    return uow.tickets_for_contact(contact.campaign, contact.code)


def _alias_of(uow: UnitOfWork, cache: dict[str, str], line: str | None) -> str:
    if line is None:
        return ""
    if line not in cache:
        found = uow.get_line(line)
        cache[line] = found.alias if found is not None and found.alias else line
    return cache[line]


def typification_rows(uow: UnitOfWork, campaign: str, contact_code: str) -> list[TypificationRow]:
    """The contact's Typifications tab, newest first (seed 000, T8).

    Raises:
        UnknownContact: no such contact in the campaign.
    """
    aliases: dict[str, str] = {}
    rows = []
    for ticket in _contact_tickets(uow, campaign, contact_code):
        for record in uow.typifications(ticket.number):
            levels = (*record.path, "", "", "", "")
            rows.append(
                TypificationRow(
                    at=record.at,
                    ticket=record.ticket,
                    campaign=record.campaign,
                    channel=record.channel,
                    line=record.line,
                    alias=_alias_of(uow, aliases, record.line),
                    customer=record.customer,
                    agent=record.agent,
                    group=levels[0],
                    result=levels[1],
                    reason=levels[2],
                    sub_reason=levels[3],
                    comment=record.comment,
                    path=record.path,
                )
            )
    rows.sort(key=lambda r: (r.at, r.ticket), reverse=True)
    return rows


def history_rows(uow: UnitOfWork, campaign: str, contact_code: str) -> list[HistoryRow]:
    """The contact's History tab with each ticket's detail, newest first (seed 000, I1).

    Raises:
        UnknownContact: no such contact in the campaign.
    """
    aliases: dict[str, str] = {}
    rows = []
    for ticket in _contact_tickets(uow, campaign, contact_code):
        calls = []
        messages = []
        agents: dict[str, None] = {}
        for item in sorted(uow.interactions(ticket.number), key=lambda i: i.at):
            if item.agent is not None:
                agents.setdefault(item.agent, None)
            if item.channel is Channel.CALL:
                calls.append(
                    CallDetail(
                        at=item.at,
                        duration_s=item.duration_s,
                        line=item.line,
                        alias=_alias_of(uow, aliases, item.line),
                        direction=item.direction,
                        status=item.status,
                        agent=item.agent,
                    )
                )
            else:
                messages.append(
                    MessageDetail(
                        at=item.at,
                        direction=item.direction,
                        channel=item.channel,
                        text=item.text or "",
                        agent=item.agent,
                    )
                )
        if ticket.closed_by is not None:
            agents.setdefault(ticket.closed_by, None)
        typifications = uow.typifications(ticket.number)
        rows.append(
            HistoryRow(
                at=ticket.last_activity_at or ticket.opened_at,
                ticket=ticket.number,
                campaign=ticket.campaign,
                status=ticket.status,
                last_agent=ticket.last_agent,
                channels=ticket.channels,
                agents=tuple(agents),
                typification=typifications[-1].path if typifications else None,
                comments=tuple(c.text for c in uow.comments(ticket.number)),
                calls=tuple(calls),
                messages=tuple(messages),
            )
        )
    rows.sort(key=lambda r: (r.at, r.ticket), reverse=True)
    return rows


def _handled_by(uow: UnitOfWork, ticket: Ticket, agent: str) -> bool:
    if agent in (ticket.assignee, ticket.last_agent, ticket.closed_by):
        return True
    return any(item.agent == agent for item in uow.interactions(ticket.number))


def agent_ticket_list(
    uow: UnitOfWork, agent: str, *, campaign: str | None = None, open_only: bool = False
) -> list[TicketListItem]:
    """The tickets an agent handled, newest activity first (seed 001, T17).

    A ticket is listed when the agent is its assignee, its last agent, its closer,
    or the agent of one of its interactions. Each item shows the contact's name
    (or the customer address when unlinked), the channel of the last interaction,
    the last action and the labels. The scan reads every ticket of the store
    (optionally of one campaign): a host with a large store lists from its own index.

    Raises:
        RuleViolation: the agent name is not valid.
    """
    agent = checks.agent(agent)
    campaign_id = None if campaign is None else checks.identifier(campaign, "campaign")
    items = []
    for ticket in uow.list_tickets(campaign_id):
        if open_only and not ticket.is_open:
            continue
        if not _handled_by(uow, ticket, agent):
            continue
        title = ticket.customer
        if ticket.contact is not None:
            contact = uow.get_contact(ticket.campaign, ticket.contact)
            if contact is not None and contact.full_name:
                title = contact.full_name
        items.append(
            TicketListItem(
                number=ticket.number,
                campaign=ticket.campaign,
                title=title,
                customer=ticket.customer,
                contact=ticket.contact,
                channel=ticket.last_channel,
                last_action=ticket.last_action,
                labels=ticket.labels,
                status=ticket.status,
                at=_activity(ticket),
            )
        )
    items.sort(key=lambda i: (i.at, i.number), reverse=True)
    return items


# --- channels (K6, I3, T18) -----------------------------------------------------------------


def _prepare_outbound(
    store: Store,
    *,
    channel: Channel | None,
    line: object,
    to: object,
    campaign: object,
    agent: str,
    at: dt.datetime,
    allowed: frozenset[Channel],
    what: str,
) -> tuple[Line, Channel, _Target]:
    """Check an outbound send before the channel is called; record a blocked refusal (I3).

    ``channel`` None means the line's own channel.
    """
    line_id = checks.identifier(line, "line")
    campaign_id = checks.identifier(campaign, "campaign")
    with store.unit_of_work() as uow:
        found = _get_line(uow, line_id)
        if found.channel not in allowed:
            raise RuleViolation(
                f"line {found.id!r} is a {found.channel.value} line; cannot {what} from it"
            )
        if channel is None:
            channel = found.channel
        target = _resolve_target(
            uow,
            channel=channel,
            direction=Direction.OUTBOUND,
            customer=to,
            line_id=line_id,
            campaign_id=campaign_id,
            at=at,
        )
        blocked = uow.get_block(target.campaign.id, target.customer) is not None
        if blocked:
            uow.append_event(
                _refusal(
                    target,
                    at=at,
                    channel=channel,
                    direction=Direction.OUTBOUND,
                    agent=agent,
                    external_id=None,
                    text=None,
                )
            )
            uow.commit()
    if blocked:
        raise _blocked_error(target)
    return found, channel, target


def _call_channel(what: str, to: str, send: Callable[[], object]) -> str:
    """Call the host's channel; its failure records nothing and becomes a ccdomain error."""
    try:
        provider_id = send()
    except CcdomainError:
        raise
    except Exception as exc:
        raise RuleViolation(
            f"the channel failed to {what} to {to!r}: {_show(exc)}; nothing was recorded"
        ) from exc
    if not isinstance(provider_id, str) or not provider_id.strip():
        raise RuleViolation(
            f"the channel returned {_show(provider_id)} after {what} to {to!r}; "
            "expected the provider's id (a non-empty string)"
        )
    return provider_id.strip()


def send_message(
    store: Store,
    channel_port: ChannelPort,
    *,
    line: str,
    to: str,
    text: str,
    campaign: str,
    agent: str,
    at: dt.datetime,
) -> RouteResult:
    """Send a text from a line through the host's channel and route it outbound (T18).

    Raises:
        UnknownLine, UnknownCampaign, InvalidPhoneNumber, BlockedIdentity (recorded),
        RuleViolation (bad input, a call line, or the channel failed: nothing recorded).
    """
    agent = checks.agent(agent)
    at = checks.aware(at)
    body = checks.text(text, "text", required=True)
    found, channel, target = _prepare_outbound(
        store,
        channel=None,
        line=line,
        to=to,
        campaign=campaign,
        agent=agent,
        at=at,
        allowed=_TEXT_LINES,
        what="send a text message",
    )
    provider_id = _call_channel(
        "send a message",
        target.customer,
        lambda: channel_port.send_text(found, target.customer, body),
    )
    return route_interaction(
        store,
        at=at,
        channel=channel,
        direction=Direction.OUTBOUND,
        customer=target.customer,
        line=found.id,
        campaign=target.campaign.id,
        external_id=provider_id,
        agent=agent,
        text=body,
    )


def send_template(
    store: Store,
    channel_port: ChannelPort,
    *,
    line: str,
    to: str,
    template: str,
    params: Sequence[str],
    campaign: str | None,
    queue: str | None,
    agent: str,
    at: dt.datetime,
) -> RouteResult:
    """Send a WhatsApp template (K6: needs a campaign and a queue) and route it outbound.

    The rules are checked before the channel is called; a ticket the template opens
    takes the given queue.

    Raises:
        RuleViolation: no campaign or queue (K6), bad input, a non-WhatsApp line, or the
            channel failed (nothing recorded).
        UnknownLine, UnknownCampaign, InvalidPhoneNumber, BlockedIdentity (recorded).
    """
    check_template_precondition(campaign, queue)
    agent = checks.agent(agent)
    at = checks.aware(at)
    queue_name = checks.identifier(queue, "queue")
    template_name = checks.identifier(template, "template")
    values = tuple(
        checks.text(p, "template param", limit=checks.PARAM_MAX)
        for p in checks.items(params, "template params")
    )
    found, _, target = _prepare_outbound(
        store,
        channel=Channel.WHATSAPP,
        line=line,
        to=to,
        campaign=campaign,
        agent=agent,
        at=at,
        allowed=frozenset({Channel.WHATSAPP}),
        what="send a WhatsApp template",
    )
    provider_id = _call_channel(
        "send a WhatsApp template",
        target.customer,
        lambda: channel_port.send_template(
            found, target.customer, template_name, values, target.campaign.id, queue_name
        ),
    )
    shown = f"[template {template_name}]"
    if values:
        shown += " " + ", ".join(values)
    return route_interaction(
        store,
        at=at,
        channel=Channel.WHATSAPP,
        direction=Direction.OUTBOUND,
        customer=target.customer,
        line=found.id,
        campaign=target.campaign.id,
        external_id=provider_id,
        agent=agent,
        text=shown[: checks.TEXT_MAX],
        queue=queue_name,
    )


def place_call(
    store: Store,
    channel_port: ChannelPort,
    *,
    line: str,
    to: str,
    agent: str,
    campaign: str,
    at: dt.datetime,
) -> RouteResult:
    """Place a call from a phone line through the host's channel and route it (status "placed").

    Raises:
        UnknownLine, UnknownCampaign, InvalidPhoneNumber, BlockedIdentity (recorded),
        RuleViolation (bad input, a non-phone line, or the channel failed: nothing recorded).
    """
    agent = checks.agent(agent)
    at = checks.aware(at)
    found, _, target = _prepare_outbound(
        store,
        channel=Channel.CALL,
        line=line,
        to=to,
        campaign=campaign,
        agent=agent,
        at=at,
        allowed=PHONE_CHANNELS,
        what="place a call",
    )
    provider_id = _call_channel(
        "place a call",
        target.customer,
        lambda: channel_port.place_call(found, target.customer, agent),
    )
    return route_interaction(
        store,
        at=at,
        channel=Channel.CALL,
        direction=Direction.OUTBOUND,
        customer=target.customer,
        line=found.id,
        campaign=target.campaign.id,
        external_id=provider_id,
        agent=agent,
        status="placed",
    )
