"""Replay: event lines (docs/events.md) turned into the library's service calls.

:func:`apply_event` applies one event (a JSON object already parsed) through the
services of :mod:`ccdomain.contacts`, :mod:`ccdomain.tickets`,
:mod:`ccdomain.collections` and :mod:`ccdomain.matching`; :func:`replay` applies
a whole file of JSON lines and counts what happened. The ``*_rows`` functions
turn what a store holds into plain rows (``list[dict]``) that the ``ccdomain``
command prints and that ``pandas.DataFrame`` takes as they are::

    >>> from ccdomain.memory import MemoryStore
    >>> store = MemoryStore()
    >>> summary = replay(store, [
    ...     '{"type": "campaign", "id": "ventas", "region": "PE"}',
    ...     '{"type": "line", "id": "wa", "channel": "whatsapp", "address": "+51 1 7001111",'
    ...     ' "campaign": "ventas"}',
    ...     '{"type": "interaction", "id": "m1", "at": "2026-11-20T10:00:00-05:00",'
    ...     ' "channel": "whatsapp", "direction": "inbound", "line": "wa",'
    ...     ' "customer": "987 654 321", "text": "Hola"}',
    ... ])
    >>> summary.tickets_opened, summary.bad_lines
    (1, ())
    >>> [(t["number"], t["customer"], t["status"]) for t in ticket_rows(store)]
    [(1, '+51987654321', 'open')]

Rules of the replay (ids proposed for docs/rules.md):

- R1 One line, one unit of work: a line is applied whole or not at all (E2).
  Lines before a bad line stay applied; without ``keep_going`` the replay stops
  at the first bad line, with it every good line is applied and every bad one
  listed. Lines are committed in batches (a savepoint per line inside one
  transaction per batch), so a crash loses at most the current batch of whole
  lines, never part of one.
- R2 Events are validated before any service is called: unknown event types
  and unknown fields are refused (keys starting with ``_`` are comments and are
  ignored); times are ISO 8601 with an offset, dates ``YYYY-MM-DD``, money a
  string. Every refusal names the line, the field when one is to blame, and the
  reason: ``line 7: field 'at': '2026-13-01' is not an ISO 8601 time with offset``.
- R3 Events without a time of their own (campaign, line, contact, link,
  product, payment, promise, merge) happen at the latest event time seen so far
  in the file (lines applied or already applied), else at 00:00 of the event's
  own date (payment ``date``, promise ``made_on``) in its campaign's time zone,
  else at 1970-01-01T00:00Z. Never the wall clock, so a replay is deterministic.
  Any of them may carry an explicit ``at``.
- R4 Replaying a file twice leaves the store as one replay did. A line whose
  effect is already in the store is a no-op ("already applied"), not a bad line;
  a line that contradicts the store is a bad line. Every field is read through
  the check the services apply (:mod:`ccdomain.checks`, E3), so what is compared
  with the store is what the store holds (a padded ``" ana "`` agent is ``"ana"``);
  a contact's channels, addresses and tags are held by the keys a merge dedupes
  them by (M11). Per event type:
  identical campaign and line re-declarations; a contact whose code (document)
  exists and already holds what the event says (equal names and document, its
  channels, addresses, tags and custom values among the stored ones, VIP unless
  the stored contact is VIP: a merge may have added to it), or that was merged
  or anonymized since; a contact without document matching a contact without
  document of the campaign the same way (found through its phones, or among all
  contacts of the campaign when it has none), or a live contact holding its phones
  that absorbed a merged contact; an interaction whose id is recorded (T9), or,
  without id, an identical interaction (time, channel, direction, line, text,
  status, duration, agent) of that customer; a resolve, typify or cancel whose
  ticket was already closed that way at that time by that agent (and, for a
  typify, with that path); a link whose ticket (the customer's ticket open at the
  event time, else as :func:`ccdomain.tickets.link_ticket_contact` chooses) is
  already linked to that contact; products, payments and promises with an id
  equal to the stored one (a stored payment that moved on from ``scheduled`` to
  ``made`` or ``reversed``, or a promise cancelled since, still counts as equal);
  a reversal of a reversed payment; a cancellation of a promise cancelled by the
  same agent that day; a merge of a contact already merged into the same one.
- R5 Customer strings in resolve, typify, link and promise events are read in the
  campaign's region; contact codes in link, product and merge events follow
  merge tombstones to the live contact.
- R6 Every event type of the contract is applied through the library's services
  (:data:`LINE_EVENTS` lists the event kinds each may record); an unknown type is
  a bad line, never skipped.
- R7 A promise names the ticket it was made in: ``ticket``, else the customer's
  ticket of the campaign open at the event time, else the open one, else the
  latest; a customer with no ticket in the campaign still gets the promise,
  without a ticket (C22).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final, TypeVar

import attrs

from ccdomain import checks, matching
from ccdomain import collections as coll
from ccdomain import contacts as ct
from ccdomain import identities as ids
from ccdomain import tickets as tk
from ccdomain._gc import collector_paused
from ccdomain.errors import BlockedIdentity, CcdomainError, InvalidEvent, InvalidPhoneNumber
from ccdomain.errors import show as _show
from ccdomain.events import CommentAdded, ContactsMerged, Event, EventKind
from ccdomain.memory import MemoryStore
from ccdomain.models import (
    Campaign,
    Channel,
    Contact,
    Direction,
    Interaction,
    Ticket,
    TicketStatus,
)
from ccdomain.phones import normalize_phone
from ccdomain.ports import Store, UnitOfWork

__all__ = [
    "EVENT_TYPES",
    "LINE_EVENTS",
    "BadLine",
    "Effect",
    "EventRejected",
    "Outcome",
    "ReplaySummary",
    "apply_event",
    "contact_rows",
    "promise_rows",
    "replay",
    "ticket_rows",
    "typification_rows",
]

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_T = TypeVar("_T")
_BATCH: Final = 2000


def _where(line: int | None, field: str | None) -> str:
    parts = []
    if line is not None:
        parts.append(f"line {line}: ")
    if field is not None:
        parts.append(f"field {field!r}: ")
    return "".join(parts)


class EventRejected(InvalidEvent):
    """An event that cannot be applied, naming its line, the field to blame and the reason.

    Attributes:
        reason: why, naming the offending value and what was expected.
        field: the event field to blame, or ``None`` when no single field is.
        line: the line number in the file, when known.
    """

    def __init__(self, reason: str, *, field: str | None = None, line: int | None = None) -> None:
        self.reason = reason
        self.field = field
        self.line = line
        super().__init__(_where(line, field) + reason)


@attrs.frozen(kw_only=True)
class BadLine:
    """A line that was not applied: its number, the field to blame (if one is) and why."""

    line: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        return _where(self.line, self.field) + self.reason


class Effect(enum.StrEnum):
    """What applying an event line changed in the store.

    An effect named as an :class:`~ccdomain.events.EventKind` is that event
    recorded, and has its value. The other three say more than the event:
    ``interaction_joined`` and ``interaction_late`` are an ``interaction_added``
    on an open ticket or on a closed one (T1, T10); ``ticket_closed`` is a
    ``ticket_resolved``, ``ticket_typified`` or ``ticket_cancelled``.
    :data:`LINE_EVENTS` lists the event kinds each line type may record.
    """

    CAMPAIGN_DECLARED = EventKind.CAMPAIGN_DECLARED.value
    LINE_DECLARED = EventKind.LINE_DECLARED.value
    CONTACT_CREATED = EventKind.CONTACT_CREATED.value
    TICKET_OPENED = EventKind.TICKET_OPENED.value
    INTERACTION_JOINED = "interaction_joined"
    INTERACTION_LATE = "interaction_late"
    INTERACTION_REFUSED = EventKind.INTERACTION_REFUSED.value
    TICKET_CLOSED = "ticket_closed"
    CONTACT_LINKED = EventKind.CONTACT_LINKED.value
    CONTACTS_MERGED = EventKind.CONTACTS_MERGED.value
    PRODUCT_DECLARED = EventKind.PRODUCT_DECLARED.value
    PAYMENT_RECORDED = EventKind.PAYMENT_RECORDED.value
    PAYMENT_REVERSED = EventKind.PAYMENT_REVERSED.value
    PROMISE_MADE = EventKind.PROMISE_MADE.value
    PROMISE_CANCELLED = EventKind.PROMISE_CANCELLED.value
    COMMENT_ADDED = EventKind.COMMENT_ADDED.value
    IDENTITY_BLOCKED = EventKind.IDENTITY_BLOCKED.value
    IDENTITY_UNBLOCKED = EventKind.IDENTITY_UNBLOCKED.value
    CONTACT_ANONYMIZED = EventKind.CONTACT_ANONYMIZED.value


@attrs.frozen(kw_only=True)
class Outcome:
    """What :func:`apply_event` did with one event.

    Attributes:
        type: the event type.
        effects: what changed; empty when the event was already applied (R4).
        at: the event time used (its own, or the one R3 gave it).
        timed: whether the event carried its own time.
        ticket: the ticket the event concerned, when there is one.
        detail: a short human explanation (why it was a no-op, which code was created).
    """

    type: str
    effects: tuple[Effect, ...] = ()
    at: dt.datetime = _EPOCH
    timed: bool = False
    ticket: int | None = None
    detail: str = ""

    @property
    def already_applied(self) -> bool:
        """True when the event changed nothing because its effect was already there."""
        return not self.effects


@attrs.frozen(kw_only=True)
class ReplaySummary:
    """What a replay did: counts, bad lines, and promise statuses at the end.

    ``promises`` counts promise statuses (``pending``, ``kept``, ``broken``,
    ``cancelled``) as of ``as_of``: the calendar date of the latest event time
    of the file, as written (its own offset).
    """

    lines: int = 0
    applied: int = 0
    already_applied: int = 0
    tickets_opened: int = 0
    interactions_joined: int = 0
    late: int = 0
    refused: int = 0
    tickets_closed: int = 0
    contacts_created: int = 0
    contacts_linked: int = 0
    contacts_merged: int = 0
    products: int = 0
    payments: int = 0
    promises_made: int = 0
    bad_lines: tuple[BadLine, ...] = ()
    stopped_at: int | None = None
    last_at: dt.datetime | None = None
    as_of: dt.date | None = None
    promises: Mapping[str, int] = attrs.field(factory=dict)

    def lines_report(self) -> list[str]:
        """The summary as short text lines (what ``ccdomain replay`` prints)."""
        out = [
            f"lines read:            {self.lines}",
            f"applied:               {self.applied}",
            f"already applied:       {self.already_applied}",
            f"tickets opened:        {self.tickets_opened}",
            f"interactions joined:   {self.interactions_joined}",
            f"late deliveries:       {self.late}",
            f"tickets closed:        {self.tickets_closed}",
            f"contacts created:      {self.contacts_created}",
            f"contacts linked:       {self.contacts_linked}",
            f"contacts merged:       {self.contacts_merged}",
            f"promises made:         {self.promises_made}",
        ]
        if self.refused:
            out.append(f"interactions refused:  {self.refused}")
        if self.as_of is not None and self.promises:
            counts = ", ".join(f"{n} {status}" for status, n in sorted(self.promises.items()))
            out.append(f"promises on {self.as_of.isoformat()}: {counts}")
        out.append(f"bad lines:             {len(self.bad_lines)}")
        return out


# --- reading fields ------------------------------------------------------------------------


class _Ctx:
    """One event being applied: its fields, line, the unit of work and the clock (R3)."""

    def __init__(
        self,
        store: Store,
        uow: UnitOfWork,
        data: Mapping[str, Any],
        line: int | None,
        default_at: dt.datetime | None,
        memos: _Memos | None = None,
    ) -> None:
        self.store = store
        self.uow = uow
        self.data = data
        self.line = line
        self.default_at = default_at
        self.memos = memos
        self.type = str(data.get("type"))

    def fail(self, field: str | None, reason: str) -> EventRejected:
        return EventRejected(reason, field=field, line=self.line)

    @contextmanager
    def blame(self, field: str | None, **more: str) -> Iterator[None]:
        """Turn a ccdomain error raised inside into an EventRejected naming a field.

        ``more`` maps error class names to other fields (``UnknownLine="line"``).
        """
        try:
            yield
        except EventRejected:
            raise
        except CcdomainError as exc:
            chosen = field
            for klass in type(exc).__mro__:
                if klass.__name__ in more:
                    chosen = more[klass.__name__]
                    break
            raise self.fail(chosen, str(exc)) from exc

    def raw(self, name: str) -> Any:
        return self.data.get(name)

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def checked(self, name: str, check: Callable[..., _T], **options: Any) -> _T | None:
        """The field read through ``check`` (a :mod:`ccdomain.checks` function), None if absent.

        The services read their inputs through the same checks, so the value returned
        is the one they store: R4's comparisons with the store use it.
        """
        value = self.data.get(name)
        if value is None:
            return None
        try:
            return check(value, name, **options)
        except CcdomainError as exc:
            # Every check's message starts with the field name, which the line names too.
            raise self.fail(name, str(exc).removeprefix(f"{name} ")) from None

    def text(self, name: str, *, limit: int = checks.ID_MAX) -> str:
        """A required identifier (an id, a code, a name of a kind): :func:`checks.identifier`."""
        found = self.checked(name, checks.identifier, limit=limit)
        if found is None:
            raise self.fail(name, "missing; expected a non-empty text")
        return found

    def opt_text(self, name: str, *, limit: int = checks.ID_MAX) -> str | None:
        return self.checked(name, checks.identifier, limit=limit)

    def agent(self, name: str = "agent") -> str:
        found = self.checked(name, checks.agent)
        if found is None:
            raise self.fail(name, "missing; expected an agent id")
        return found

    def opt_agent(self, name: str = "agent") -> str | None:
        return self.checked(name, checks.agent)

    def free_text(self, name: str, *, limit: int = checks.TEXT_MAX) -> str | None:
        return self.checked(name, checks.text, limit=limit)

    def time(self, name: str = "at") -> dt.datetime:
        found = self.checked(name, checks.iso_time)
        if found is None:
            raise self.fail(name, "missing; expected an ISO 8601 time with offset")
        return found

    def date(self, name: str) -> dt.date:
        found = self.checked(name, checks.iso_date)
        if found is None:
            raise self.fail(name, "missing; expected a date YYYY-MM-DD")
        return found

    def amount(self, name: str, currency: str) -> coll.Money:
        value = self.data.get(name)
        if value is None:
            raise self.fail(name, "missing; expected an amount as a string such as '100.00'")
        return self._amount(name, value, currency)

    def _amount(self, name: str, value: object, currency: str) -> coll.Money:
        if not isinstance(value, str):
            raise self.fail(name, f"{_show(value)} is not an amount as a string such as '100.00'")
        with self.blame(name):
            return coll.money(value, currency)

    def listing(self, name: str) -> list[Any]:
        return list(self.checked(name, checks.items) or ())

    def clock(self, *, on: dt.date | None = None, campaign: Campaign | None = None) -> dt.datetime:
        """The event's time: its own ``at``, else the R3 default."""
        if self.has("at"):
            return self.time("at")
        if self.default_at is not None:
            return self.default_at
        if on is not None:
            zone = zoneinfo.ZoneInfo(campaign.timezone if campaign is not None else "UTC")
            return dt.datetime.combine(on, dt.time(0, 0), tzinfo=zone)
        return _EPOCH

    # -- lookups ----------------------------------------------------------------------------

    def campaign(self, name: str = "campaign") -> Campaign:
        campaign_id = self.text(name)
        found = self.uow.get_campaign(campaign_id)
        if found is None:
            raise self.fail(name, f"{_show(campaign_id)} is not a declared campaign")
        return found

    def customer(self, campaign: Campaign, name: str = "customer") -> str:
        """The customer address read in the campaign's region (R5): E.164 when a phone."""
        raw = self.text(name, limit=checks.ADDRESS_MAX)
        try:
            return normalize_phone(raw, campaign.region)
        except InvalidPhoneNumber as exc:
            if "@" in raw or not any(ch.isdigit() for ch in raw):
                return raw.lower() if "@" in raw else raw
            raise self.fail(name, str(exc)) from exc

    def contact_code(self, campaign: Campaign, name: str = "contact") -> str:
        code = self.text(name)
        with self.blame(name):
            return ct.resolve_contact_code(self.uow, campaign.id, code)

    def ticket_number(self, name: str = "ticket") -> int | None:
        number = self.checked(name, checks.ticket_number)
        if number is not None and self.uow.get_ticket(number) is None:
            raise self.fail(name, f"{number} is not the number of a stored ticket")
        return number


# --- handlers --------------------------------------------------------------------------------


def _outcome(ctx: _Ctx, at: dt.datetime, *effects: Effect, **more: Any) -> Outcome:
    return Outcome(type=ctx.type, effects=effects, at=at, timed=ctx.has("at"), **more)


def _h_campaign(ctx: _Ctx) -> Outcome:
    at = ctx.clock()
    campaign_id = ctx.text("id")
    given = {
        key: ctx.raw(key)
        for key in (
            "name",
            "kind",
            "region",
            "timezone",
            "custom_fields",
            "typifications",
            "grace_days",
            "horizon_days",
            "tolerance",
            "buckets",
        )
        if ctx.has(key)
    }
    if "buckets" in given and isinstance(given["buckets"], list):
        given["buckets"] = [tuple(b) if isinstance(b, list) else b for b in given["buckets"]]
    with ctx.blame(
        None,
        InvalidTypification="typifications",
        InvalidCustomField="custom_fields",
    ):
        campaign = ct.make_campaign(campaign_id, **given)
    before = ctx.uow.get_campaign(campaign.id)
    with ctx.blame("id"):
        ct.declare_campaign(ctx.store, campaign, at=at, actor=ctx.opt_agent())
    if before is not None:
        return _outcome(ctx, at, detail=f"campaign {campaign.id!r} is already declared")
    return _outcome(ctx, at, Effect.CAMPAIGN_DECLARED)


def _h_line(ctx: _Ctx) -> Outcome:
    at = ctx.clock()
    with ctx.blame(None):
        line = ct.make_line(
            ctx.text("id"),
            ctx.text("channel"),
            ctx.text("address", limit=checks.ADDRESS_MAX),
            alias=ctx.checked("alias", checks.name) or "",
            campaign=ctx.opt_text("campaign") or "",
            queue=ctx.opt_text("queue") or "",
        )
    before = ctx.uow.get_line(line.id)
    with ctx.blame("id", UnknownCampaign="campaign", InvalidPhoneNumber="address"):
        ct.declare_line(ctx.store, line, at=at, actor=ctx.opt_agent())
    if before is not None:
        return _outcome(ctx, at, detail=f"line {line.id!r} is already declared")
    return _outcome(ctx, at, Effect.LINE_DECLARED)


_CONTACT_INPUTS: Final = (
    "first_names",
    "last_names",
    "document",
    "company",
    "vip",
    "channels",
    "addresses",
    "custom",
    "gender",
    "tags",
    "notes",
)
_CONTACT_BLAME: Final = {
    "InvalidDocument": "document",
    "DuplicateContact": "document",
    "InvalidPhoneNumber": "channels",
    "InvalidChannel": "channels",
    "InvalidAddress": "addresses",
    "InvalidCustomField": "custom",
}


def _contact_conflicts(stored: Contact, new: Contact, *, names: bool = True) -> list[str]:
    """The fields of ``new`` that ``stored`` does not already hold (R4)."""
    out: list[str] = []
    for name in ("first_names", "last_names", "gender", "notes"):
        value = getattr(new, name)
        if value and value != getattr(stored, name) and (names or name in ("gender", "notes")):
            out.append(name)
    if new.document is not None and new.document != stored.document:
        out.append("document")
    if new.company is not None and new.company != stored.company:
        out.append("company")
    if new.vip and not stored.vip:
        out.append("vip")
    # Held means held by M11's keys: what a merge keeps one of counts as the same value.
    held = {matching.channel_key(c) for c in stored.channels}
    if any(matching.channel_key(c) not in held for c in new.channels):
        out.append("channels")
    addresses = {matching.address_key(a) for a in stored.addresses}
    if any(matching.address_key(a) not in addresses for a in new.addresses):
        out.append("addresses")
    if any(stored.custom.get(k) != v for k, v in new.custom.items()):
        out.append("custom")
    if not {ct.name_key(t) for t in new.tags} <= {ct.name_key(t) for t in stored.tags}:
        out.append("tags")
    return out


def _contact_candidate(ctx: _Ctx, campaign: Campaign, fields: dict[str, Any]) -> Contact:
    """The contact the event would create, built in a scratch store (nothing written here)."""
    scratch = MemoryStore()
    with scratch.unit_of_work() as uow:
        uow.put_campaign(campaign)
        company = ct.find_company(ctx.uow, fields.get("company"))
        if company is not None:  # the one company the new contact would name
            uow.put_company(company)
        uow.commit()
    with ctx.blame(None, **_CONTACT_BLAME):
        return ct.create_contact(scratch, campaign.id, at=_EPOCH, **fields)


def _same_undocumented(ctx: _Ctx, campaign: Campaign, new: Contact) -> Contact | None:
    """A contact without document of the campaign that already holds ``new`` (R4)."""
    keys = ctx.memos.contacts if ctx.memos is not None else None
    seen: dict[str, Contact] = {}
    for phone in new.phones:
        for found in ctx.uow.contacts_by_phone(phone):
            if found.campaign == campaign.id:
                seen.setdefault(found.code, found)
    if not new.phones:
        held = keys.holding(ctx.uow, new) if keys is not None else None
        for found in ctx.uow.list_contacts(campaign.id) if held is None else held:
            if found.merged_into is None and not found.anonymized:
                seen.setdefault(found.code, found)
    for found in seen.values():
        if found.document is None and not _contact_conflicts(found, new):
            return found
    holders = [found for found in seen.values() if not _contact_conflicts(found, new, names=False)]
    if new.phones and holders:
        if keys is not None and keys.catch_up(ctx.uow):
            absorbed = {
                f.code for f in holders if keys.is_merge_target(ctx.uow, campaign.id, f.code)
            }
        else:
            absorbed = {c.merged_into for c in ctx.uow.list_contacts(campaign.id) if c.merged_into}
        for found in holders:
            if found.code in absorbed:
                return found
    return None


class _ContactKeys:
    """The contacts of a replayed store by channel and by name, and the merge targets (R4).

    Without it, a contact event with neither document nor phone compared the new
    contact with every contact of its campaign, and one whose phone a documented
    contact holds listed every contact of the campaign for tombstones: quadratic in a
    contact file of e-mail addresses (1,000 such contacts took 10 s, 4,000 took 157 s).
    Built from the store on first use, then kept up from the event log: every change
    to a contact records an event naming it (T11), and that contact is read again.
    Entries are only added, so the index may name contacts that changed since; every
    one it gives is read from the store again, and the caller checks it in full.
    """

    def __init__(self) -> None:
        self.codes: dict[tuple[str, ...], set[str]] = {}
        self.tombstones: dict[tuple[str, str], set[str]] = {}
        self.seen: int | None = None  # the last event read; None: not built yet

    def _add(self, contact: Contact) -> None:
        campaign = contact.campaign
        keys = [(campaign, *matching.channel_key(channel)) for channel in contact.channels]
        if contact.first_names:
            keys.append((campaign, "first_names", contact.first_names))
        if contact.last_names:
            keys.append((campaign, "last_names", contact.last_names))
        for key in keys:
            self.codes.setdefault(key, set()).add(contact.code)
        if contact.merged_into is not None:
            target = (campaign, contact.merged_into)
            self.tombstones.setdefault(target, set()).add(contact.code)

    def catch_up(self, uow: UnitOfWork) -> bool:
        """Read the contacts that changed since the last call; False if the log has no seq."""
        if self.seen is None:
            last = 0
            for event in uow.events():
                if event.seq is None:  # pragma: no cover - a host store that numbers no event
                    return False
                last = event.seq
            for contact in uow.list_contacts():
                self._add(contact)
            self.seen = last
            return True
        for event in uow.events(self.seen):
            if event.seq is None:  # pragma: no cover - a host store that numbers no event
                return False
            if event.campaign is not None:
                # A merge names the contact kept; the tombstone is its "from".
                payload = event.payload
                named = (
                    (event.contact, payload.merged_from)
                    if type(payload) is ContactsMerged
                    else (event.contact,)
                )
                for code in named:
                    changed = uow.get_contact(event.campaign, code) if code else None
                    if changed is not None:
                        self._add(changed)
            self.seen = event.seq
        return True

    def holding(self, uow: UnitOfWork, new: Contact) -> list[Contact] | None:
        """The contacts of ``new``'s campaign that may hold it, by code; None: list them all.

        A contact holds ``new`` only if it has ``new``'s first channel, else its first
        names, else its last names (``_contact_conflicts``): those are the keys.
        """
        if new.channels:
            key: tuple[str, ...] = (new.campaign, *matching.channel_key(new.channels[0]))
        elif new.first_names:
            key = (new.campaign, "first_names", new.first_names)
        elif new.last_names:
            key = (new.campaign, "last_names", new.last_names)
        else:
            return None
        if not self.catch_up(uow):
            return None
        found = (uow.get_contact(new.campaign, code) for code in sorted(self.codes.get(key, ())))
        return [contact for contact in found if contact is not None]

    def is_merge_target(self, uow: UnitOfWork, campaign: str, code: str) -> bool:
        """Whether a tombstone of ``campaign`` points to ``code`` (M5), after :meth:`catch_up`."""
        for tomb_code in self.tombstones.get((campaign, code), ()):
            tomb = uow.get_contact(campaign, tomb_code)
            if tomb is not None and tomb.merged_into == code:
                return True
        return False


def _h_contact(ctx: _Ctx) -> Outcome:
    campaign = ctx.campaign()
    at = ctx.clock()
    fields = {key: ctx.raw(key) for key in _CONTACT_INPUTS if ctx.has(key)}
    actor = ctx.opt_agent()
    document = fields.get("document")
    if document is not None:
        if not isinstance(document, Mapping):
            raise ctx.fail("document", f"{_show(document)} is not an object {{type, number}}")
        with ctx.blame("document"):
            code = ct.code_for(ct.make_document(document.get("type"), document.get("number")))
        stored = ctx.uow.get_contact(campaign.id, code)
        if stored is not None:
            if stored.merged_into is not None or stored.anonymized:
                why = "merged into " + repr(stored.merged_into) if stored.merged_into else ""
                return _outcome(ctx, at, detail=f"contact {code!r} exists ({why or 'anonymized'})")
            conflicts = _contact_conflicts(stored, _contact_candidate(ctx, campaign, fields))
            if conflicts:
                raise ctx.fail(
                    conflicts[0] if len(conflicts) == 1 else "document",
                    f"contact {code!r} already exists in campaign {campaign.id!r} with other "
                    f"{', '.join(conflicts)}; expected an identical re-declaration",
                )
            return _outcome(ctx, at, detail=f"contact {code!r} already exists")
    else:
        existing = _same_undocumented(ctx, campaign, _contact_candidate(ctx, campaign, fields))
        if existing is not None:
            return _outcome(ctx, at, detail=f"contact {existing.code!r} already holds it")
    with ctx.blame(None, **_CONTACT_BLAME):
        created = ct.create_contact(ctx.store, campaign.id, at=at, actor=actor, **fields)
    return _outcome(ctx, at, Effect.CONTACT_CREATED, detail=f"contact {created.code!r}")


_INTERACTION_FIELDS: Final = (
    "at",
    "channel",
    "direction",
    "line",
    "agent",
    "text",
    "status",
    "duration_s",
)


def _same_interaction(a: Interaction, b: Interaction) -> bool:
    return all(getattr(a, f) == getattr(b, f) for f in _INTERACTION_FIELDS)


def _interaction_key(interaction: Interaction) -> tuple[Any, ...]:
    """Equal for two interactions exactly when :func:`_same_interaction` says so."""
    return tuple(getattr(interaction, f) for f in _INTERACTION_FIELDS)


class _Redeliveries:
    """The interactions of each customer a replay has looked at, for R4 without an id.

    An interaction without an external id is a redelivery when one with the same
    fields is on a ticket of the customer. Comparing it with every interaction of
    the customer's tickets made a customer's n id-less messages cost n^2/2
    comparisons (1,000 took 5.8 s on SQLite, 3,000 took 48 s). A customer's tickets
    are read once, the first time one of their interactions has no id; after that
    the interactions this replay records are added, once the line that recorded
    them is kept (a line undone leaves nothing behind).
    """

    def __init__(self) -> None:
        self.customers: dict[str, dict[tuple[Any, ...], int]] = {}
        self.pending: list[tuple[Interaction, int]] = []

    def forget(self) -> None:
        """Read the customers' tickets again (anonymization rewrote interactions)."""
        self.customers.clear()
        self.pending.clear()

    def ticket_holding(self, uow: UnitOfWork, probe: Interaction) -> int | None:
        """The first ticket of ``probe``'s customer holding an identical interaction."""
        keys = self.customers.get(probe.customer)
        if keys is None:
            keys = self.customers[probe.customer] = {}
            for ticket in uow.tickets_for_customer(probe.customer):
                for interaction in uow.interactions(ticket.number):
                    keys.setdefault(_interaction_key(interaction), ticket.number)
        return keys.get(_interaction_key(probe))

    def recorded(self, interaction: Interaction, ticket: int) -> None:
        """Note an interaction the current line recorded on ``ticket``.

        Only for a customer already read: another is read whole when first needed.
        """
        if interaction.customer in self.customers:
            self.pending.append((interaction, ticket))

    def settle(self, kept: bool) -> None:
        """The current line is over: keep what it recorded, or drop it if it was undone."""
        if kept:
            for interaction, ticket in self.pending:
                keys = self.customers[interaction.customer]
                key = _interaction_key(interaction)
                keys[key] = min(keys.get(key, ticket), ticket)  # tickets come by number
        self.pending.clear()


class _Memos:
    """What one replay remembers from line to line, each keeping a scan from repeating."""

    def __init__(self) -> None:
        self.refusals = _Refusals()
        self.contacts = _ContactKeys()
        self.redeliveries = _Redeliveries()

    def forget(self) -> None:
        """An anonymization rewrote data the memos hold (I4)."""
        self.refusals.forget()
        self.redeliveries.forget()


def _h_interaction(ctx: _Ctx) -> Outcome:
    at = ctx.time("at")
    external_id = ctx.opt_text("id")
    channel_name = ctx.text("channel")
    channel = next((c for c in Channel if c.value == channel_name), None)
    if channel is None:
        raise ctx.fail(
            "channel",
            f"{_show(channel_name)} is not a channel; expected one of "
            + ", ".join(c.value for c in Channel),
        )
    direction = ctx.text("direction")
    if direction not in ("inbound", "outbound"):
        raise ctx.fail("direction", f"{_show(direction)} is not 'inbound' or 'outbound'")
    line_id = ctx.opt_text("line")
    campaign_id = ctx.opt_text("campaign")
    raw_customer = ctx.text("customer", limit=checks.ADDRESS_MAX)
    agent = ctx.opt_agent()
    text = ctx.free_text("text")
    status = ctx.opt_text("status")
    duration = ctx.checked("duration_s", checks.duration)
    if external_id is None:
        # Without an id, an identical interaction of the customer is a redelivery (R4).
        home: Campaign | None = None
        if campaign_id is not None:
            home = ctx.uow.get_campaign(campaign_id)
        elif line_id is not None:
            line = ctx.uow.get_line(line_id)
            if line is not None and line.campaign:
                home = ctx.uow.get_campaign(line.campaign)
        if home is not None:
            with ctx.blame("customer"):
                customer = tk.normalize_customer(channel, raw_customer, home.region)
            probe = Interaction(
                at=at,
                channel=channel,
                direction=Direction(direction),
                customer=customer,
                line=line_id,
                agent=agent,
                text=text,
                status=status,
                duration_s=duration,
            )
            if ctx.memos is not None:
                number = ctx.memos.redeliveries.ticket_holding(ctx.uow, probe)
            else:
                number = next(
                    (
                        ticket.number
                        for ticket in ctx.uow.tickets_for_customer(customer)
                        if any(
                            _same_interaction(i, probe) for i in ctx.uow.interactions(ticket.number)
                        )
                    ),
                    None,
                )
            if number is not None:
                return _outcome(
                    ctx, at, ticket=number, detail=f"an identical interaction is on ticket {number}"
                )
    try:
        result = tk.route_interaction(
            ctx.store,
            at=at,
            channel=channel,
            direction=direction,
            customer=raw_customer,
            line=line_id,
            campaign=campaign_id,
            external_id=external_id,
            agent=agent,
            text=text,
            status=status,
            duration_s=duration,
        )
    except BlockedIdentity as exc:
        return _refused(ctx, at, exc)
    except CcdomainError as exc:
        with ctx.blame(
            None, InvalidPhoneNumber="customer", UnknownLine="line", UnknownCampaign="campaign"
        ):
            raise exc from None
    ticket = result.ticket
    if result.outcome is tk.RouteOutcome.DUPLICATE:
        return _outcome(
            ctx, at, ticket=ticket.number, detail=f"interaction {external_id!r} is recorded"
        )
    if ctx.memos is not None:
        ctx.memos.redeliveries.recorded(result.interaction, ticket.number)
    if result.outcome is tk.RouteOutcome.OPENED:
        # M4 links a ticket when it opens (a later message may link it too: not counted).
        linked = (Effect.CONTACT_LINKED,) if ticket.contact is not None else ()
        return _outcome(ctx, at, Effect.TICKET_OPENED, *linked, ticket=ticket.number)
    late = result.outcome is tk.RouteOutcome.LATE
    effect = Effect.INTERACTION_LATE if late else Effect.INTERACTION_JOINED
    return _outcome(ctx, at, effect, ticket=ticket.number)


def _refusal_key(event: Event) -> tuple[Any, ...]:
    return (event.at, event.campaign, event.actor, event.payload)


class _Refusals:
    """The refusals a replay has seen in the event log, read once (I3, R4).

    Without it every refused interaction read the whole log to tell whether the same
    refusal was recorded before: quadratic in a log with many messages from a blocked
    number. Events are read from the last one seen; the one a line undoes (a refusal
    already recorded) is forgotten, so its number, given again, is read again.
    """

    def __init__(self) -> None:
        self.keys: set[tuple[Any, ...]] = set()
        self.seen = 0

    def forget(self) -> None:
        """Read the whole log again at the next refusal (events were rewritten)."""
        self.keys.clear()
        self.seen = 0

    def recorded_before(self, uow: UnitOfWork) -> bool:
        """Whether the refusal just recorded (the log's last) repeats an earlier one."""
        new = [e for e in uow.events(self.seen) if e.kind is EventKind.INTERACTION_REFUSED]
        if not new and self.seen:  # a host store numbered events otherwise: read them all
            self.forget()
            new = [e for e in uow.events() if e.kind is EventKind.INTERACTION_REFUSED]
        if not new:
            return False
        for event in new[:-1]:
            self.keys.add(_refusal_key(event))
        last = new[-1]
        key = _refusal_key(last)
        if key in self.keys:
            self.seen = (last.seq or 1) - 1
            return True
        self.keys.add(key)
        self.seen = last.seq or 0
        return False


def _refused(ctx: _Ctx, at: dt.datetime, exc: BlockedIdentity) -> Outcome:
    """I3: the refusal the service recorded is kept, unless the same one was recorded before."""
    memo = ctx.memos.refusals if ctx.memos is not None else _Refusals()
    if memo.recorded_before(ctx.uow):
        return _outcome(ctx, at, detail="the refusal is already recorded")
    return _outcome(ctx, at, Effect.INTERACTION_REFUSED, detail=str(exc))


_CLOSED_AS: Final = {
    "resolve": TicketStatus.RESOLVED,
    "typify": TicketStatus.TYPIFIED,
    "cancel": TicketStatus.CANCELLED,
}


def _closing_target(ctx: _Ctx) -> tuple[int | None, Campaign | None, str | None]:
    """The ticket number, or the campaign and normalized customer, a closing names."""
    number = ctx.ticket_number()
    if number is not None:
        campaign = ctx.campaign() if ctx.has("campaign") else None
        if campaign is not None:
            ticket = ctx.uow.get_ticket(number)
            if ticket is not None and ticket.campaign != campaign.id:
                raise ctx.fail(
                    "campaign", f"ticket {number} belongs to campaign {ticket.campaign!r}"
                )
        return number, campaign, None
    if not ctx.has("campaign") and not ctx.has("customer"):
        raise ctx.fail("ticket", "missing; expected a ticket number, or a campaign and a customer")
    campaign = ctx.campaign()
    return None, campaign, ctx.customer(campaign)


def _closed_by_same(
    ctx: _Ctx, tickets: Iterable[Ticket], at: dt.datetime, agent: str, path: tuple[str, ...] | None
) -> Ticket | None:
    status = _CLOSED_AS[ctx.type]
    for ticket in tickets:
        if (
            ticket.status is status
            and ticket.closed_at == at
            and ticket.closed_by == agent
            and (
                path is None
                or any(t.path == path and t.at == at for t in ctx.uow.typifications(ticket.number))
            )
        ):
            return ticket
    return None


def _h_close(ctx: _Ctx) -> Outcome:
    at = ctx.time("at")
    agent = ctx.agent()
    number, campaign, customer = _closing_target(ctx)
    path: tuple[str, ...] | None = None
    comment = ""
    if ctx.type == "typify":
        path = ctx.checked("path", checks.path)
        if path is None:
            raise ctx.fail("path", "missing; expected a list of labels")
        comment = ctx.free_text("comment", limit=checks.COMMENT_MAX) or ""
    if number is not None:
        ticket = ctx.uow.get_ticket(number)
        candidates: list[Ticket] = [] if ticket is None else [ticket]
    else:
        assert campaign is not None and customer is not None
        candidates = list(ctx.uow.tickets_for_customer(customer, campaign.id))
    done = _closed_by_same(ctx, candidates, at, agent, path)
    if done is not None:
        return _outcome(
            ctx, at, ticket=done.number, detail=f"ticket {done.number} is already closed so"
        )
    blame = {"InvalidTypification": "path", "TicketClosed": "ticket", "UnknownTicket": "ticket"}
    where: dict[str, Any] = (
        {"number": number}
        if number is not None
        else {"campaign": campaign.id if campaign else None, "customer": customer}
    )
    with ctx.blame(None, **blame):
        if ctx.type == "resolve":
            closed = tk.resolve_ticket(ctx.store, agent=agent, at=at, **where)
        elif ctx.type == "typify":
            assert path is not None
            closed = tk.typify_ticket(
                ctx.store, agent=agent, at=at, path=path, comment=comment, **where
            ).ticket
        else:
            if number is None:
                found = ctx.uow.get_open_ticket(where["campaign"], where["customer"])
                if found is None:
                    raise ctx.fail(
                        "customer",
                        f"{customer!r} has no open ticket in campaign {where['campaign']!r}",
                    )
                number = found.number
            closed = tk.cancel_ticket(ctx.store, number=number, agent=agent, at=at)
    return _outcome(ctx, at, Effect.TICKET_CLOSED, ticket=closed.number)


def _covering(tickets: Iterable[Ticket], at: dt.datetime) -> Ticket | None:
    """The ticket that was open at ``at`` (the latest opened when several were)."""
    found: Ticket | None = None
    for ticket in tickets:
        closed_at = ticket.closed_at
        covers = ticket.opened_at <= at and (closed_at is None or at <= closed_at)
        if covers and (found is None or ticket.opened_at >= found.opened_at):
            found = ticket
    return found


def _customer_ticket(ctx: _Ctx, campaign: Campaign, customer: str, at: dt.datetime) -> Ticket:
    """The customer's ticket open at ``at``, else the open one, else the latest (T19)."""
    tickets = ctx.uow.tickets_for_customer(customer, campaign.id)
    chosen = _covering(tickets, at) or ctx.uow.get_open_ticket(campaign.id, customer)
    if chosen is None and tickets:
        chosen = tickets[-1]
    if chosen is None:
        raise ctx.fail("customer", f"{customer!r} has no ticket in campaign {campaign.id!r}")
    return chosen


def _h_link(ctx: _Ctx) -> Outcome:
    at = ctx.clock()
    number, campaign, customer = _closing_target(ctx)
    agent = ctx.opt_agent()
    if number is None:
        assert campaign is not None and customer is not None
        ticket = _customer_ticket(ctx, campaign, customer, at)
    else:
        found = ctx.uow.get_ticket(number)
        assert found is not None  # ticket_number() checked it
        ticket = found
    raw_code = ctx.text("contact")
    with ctx.blame("contact"):
        code = ct.resolve_contact_code(ctx.uow, ticket.campaign, raw_code)
    if ticket.contact == code:
        return _outcome(
            ctx, at, ticket=ticket.number, detail=f"ticket {ticket.number} is linked to {code!r}"
        )
    with ctx.blame(None, UnknownContact="contact"):
        tk.link_ticket(ctx.store, number=ticket.number, contact=code, agent=agent, at=at)
    return _outcome(ctx, at, Effect.CONTACT_LINKED, ticket=ticket.number)


# --- collections -----------------------------------------------------------------------------


def _product_of(ctx: _Ctx, name: str = "product") -> coll.Product:
    product_id = ctx.text(name)
    product = ctx.uow.get_product(product_id)
    if product is None:
        raise ctx.fail(name, f"{_show(product_id)} is not a declared product")
    return product


def _campaign_by_id(ctx: _Ctx, campaign_id: str) -> Campaign | None:
    return ctx.uow.get_campaign(campaign_id)


def _h_product(ctx: _Ctx) -> Outcome:
    campaign = ctx.campaign()
    at = ctx.clock()
    product_id = ctx.text("id")
    code = ctx.contact_code(campaign)
    currency = ctx.text("currency")
    debt = ctx.amount("debt", currency)
    due = ctx.date("due")
    schedule = []
    for i, item in enumerate(ctx.listing("installments")):
        if not isinstance(item, Mapping):
            raise ctx.fail("installments", f"{_show(item)} is not an object {{amount, date}}")
        amount = ctx._amount(f"installments[{i}].amount", item.get("amount"), currency)
        sub = _Ctx(ctx.store, ctx.uow, item, ctx.line, None)
        day = sub.date("date")
        schedule.append(coll.ProductInstallment(day, amount))
    with ctx.blame(None):
        product = coll.Product(
            id=product_id,
            campaign=campaign.id,
            contact=code,
            kind=ctx.text("kind"),
            debt=debt,
            due=due,
            installments=tuple(schedule),
        )
    stored = ctx.uow.get_product(product_id)
    if stored is not None:
        if stored == product:
            return _outcome(ctx, at, detail=f"product {product_id!r} is declared")
        raise ctx.fail(
            "id",
            f"product {product_id!r} is already declared with other values; "
            "expected an identical re-declaration",
        )
    with ctx.blame(None, UnknownContact="contact", UnknownCampaign="campaign"):
        coll.declare_product(ctx.store, product, at=at)
    return _outcome(ctx, at, Effect.PRODUCT_DECLARED)


_PAYMENT_ORDER: Final = {"scheduled": 0, "made": 1, "reversed": 2}


def _h_payment(ctx: _Ctx) -> Outcome:
    product = _product_of(ctx)
    campaign = _campaign_by_id(ctx, product.campaign)
    day = ctx.date("date")
    at = ctx.clock(on=day, campaign=campaign)
    payment_id = ctx.text("id")
    status = ctx.opt_text("status") or "made"
    if status not in _PAYMENT_ORDER:
        raise ctx.fail("status", f"{_show(status)} is not 'made', 'scheduled' or 'reversed'")
    with ctx.blame(None):
        payment = coll.Payment(
            payment_id, product.id, ctx.amount("amount", product.currency), day, status
        )
    stored = ctx.uow.get_payment(payment_id)
    if stored is not None:
        same = attrs.evolve(stored, status=payment.status) == payment
        if same and _PAYMENT_ORDER[stored.status.value] >= _PAYMENT_ORDER[status]:
            return _outcome(ctx, at, detail=f"payment {payment_id!r} is recorded")
        if not same:
            raise ctx.fail(
                "id",
                f"payment {payment_id!r} is already recorded with other values; "
                "expected an identical one",
            )
    with ctx.blame(None, UnknownProduct="product"):
        coll.record_payment(ctx.store, payment, at=at)
    return _outcome(ctx, at, Effect.PAYMENT_RECORDED)


def _h_reverse_payment(ctx: _Ctx) -> Outcome:
    at = ctx.time("at")
    payment_id = ctx.text("id")
    stored = ctx.uow.get_payment(payment_id)
    if stored is None:
        raise ctx.fail("id", f"{_show(payment_id)} is not a recorded payment")
    if stored.status is coll.PaymentStatus.REVERSED:
        return _outcome(ctx, at, detail=f"payment {payment_id!r} is reversed")
    with ctx.blame("id"):
        coll.reverse_payment(ctx.store, payment_id, at=at, actor=ctx.opt_agent())
    return _outcome(ctx, at, Effect.PAYMENT_REVERSED)


def _promise_ticket(
    ctx: _Ctx, campaign: Campaign, at: dt.datetime
) -> tuple[int | None, str | None]:
    """The ticket a promise was made in: named, else the customer's ticket at ``at`` (R5).

    None when the customer has no ticket in the campaign (C22: kept without one).
    """
    number = ctx.ticket_number()
    customer = ctx.customer(campaign) if ctx.has("customer") else None
    if number is not None or customer is None:
        return number, customer
    tickets = ctx.uow.tickets_for_customer(customer, campaign.id)
    chosen = _covering(tickets, at) or ctx.uow.get_open_ticket(campaign.id, customer)
    if chosen is None and tickets:
        chosen = tickets[-1]
    return (None if chosen is None else chosen.number), customer


def _h_promise(ctx: _Ctx) -> Outcome:
    product = _product_of(ctx)
    campaign = ctx.campaign() if ctx.has("campaign") else _campaign_by_id(ctx, product.campaign)
    if campaign is None:
        raise ctx.fail("campaign", f"product {product.id!r} names an undeclared campaign")
    made_on = ctx.date("made_on")
    at = ctx.clock(on=made_on, campaign=campaign)
    promise_id = ctx.text("id")
    agent = ctx.agent()
    installments = []
    items = ctx.listing("installments")
    if not items:
        raise ctx.fail("installments", "missing; expected a list of {amount, date}")
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ctx.fail("installments", f"{_show(item)} is not an object {{amount, date}}")
        amount = ctx._amount(f"installments[{i}].amount", item.get("amount"), product.currency)
        sub = _Ctx(ctx.store, ctx.uow, item, ctx.line, None)
        try:
            day = sub.date("date")
        except EventRejected as exc:
            raise ctx.fail(f"installments[{i}].date", exc.reason) from None
        installments.append(coll.Installment(amount, day))
    ticket, customer = _promise_ticket(ctx, campaign, at)
    with ctx.blame("installments"):
        promise = coll.Promise(
            id=promise_id,
            product=product.id,
            campaign=campaign.id,
            agent=agent,
            made_on=made_on,
            installments=tuple(installments),
            ticket=ticket,
            customer=customer,
        )
    stored = ctx.uow.get_promise(promise_id)
    if stored is not None:
        plain = attrs.evolve(stored, cancelled_on=None, cancelled_by=None, ticket=ticket)
        if plain == promise:
            return _outcome(ctx, at, detail=f"promise {promise_id!r} is registered")
        raise ctx.fail(
            "id",
            f"promise {promise_id!r} is already registered with other values; "
            "expected an identical one",
        )
    with ctx.blame("installments", UnknownProduct="product", UnknownTicket="customer"):
        coll.register_promise(ctx.store, promise, at=at)
    return _outcome(ctx, at, Effect.PROMISE_MADE, ticket=ticket)


def _h_cancel_promise(ctx: _Ctx) -> Outcome:
    at = ctx.time("at")
    agent = ctx.agent()
    promise_id = ctx.text("id")
    stored = ctx.uow.get_promise(promise_id)
    if stored is None:
        raise ctx.fail("id", f"{_show(promise_id)} is not a registered promise")
    if stored.cancelled_on is not None:
        campaign = _campaign_by_id(ctx, stored.campaign)
        zone = campaign.timezone if campaign is not None else "UTC"
        if stored.cancelled_by == agent and stored.cancelled_on == coll.local_date(at, zone):
            return _outcome(ctx, at, detail=f"promise {promise_id!r} is cancelled")
    with ctx.blame("id"):
        coll.withdraw_promise(ctx.store, promise_id, agent=agent, at=at)
    return _outcome(ctx, at, Effect.PROMISE_CANCELLED)


# --- merge and identities ----------------------------------------------------------------------


def _h_merge(ctx: _Ctx) -> Outcome:
    campaign = ctx.campaign()
    at = ctx.clock()
    into = ctx.text("into")
    source = ctx.text("from")
    target = ctx.uow.get_contact(campaign.id, source)
    if target is None:
        raise ctx.fail("from", f"no contact with code {source!r} in campaign {campaign.id!r}")
    with ctx.blame("into"):
        live_into = ct.resolve_contact_code(ctx.uow, campaign.id, into)
    if target.merged_into is not None:
        with ctx.blame("from"):
            live_from = ct.resolve_contact_code(ctx.uow, campaign.id, source)
        if live_from == live_into:
            return _outcome(ctx, at, detail=f"contact {source!r} is merged into {live_into!r}")
    agent = ctx.agent()
    with ctx.blame(None):
        plan = matching.plan_merge(ctx.uow, campaign=campaign.id, into=live_into, source=source)
        matching.apply_merge(ctx.store, plan=plan, agent=agent, at=at)
    return _outcome(ctx, at, Effect.CONTACTS_MERGED)


def _h_comment(ctx: _Ctx) -> Outcome:
    """I2: a case comment, through :func:`ccdomain.identities.add_comment`."""
    at = ctx.clock()
    number = ctx.ticket_number()
    if number is None:
        raise ctx.fail("ticket", "missing; expected the number of the ticket to comment on")
    agent = ctx.agent()
    text = ctx.checked("text", checks.text, limit=checks.COMMENT_MAX, required=True)
    if text is None:
        raise ctx.fail("text", "missing; expected the comment's text")
    if any((c.at, c.agent, c.text) == (at, agent, text) for c in ctx.uow.comments(number)):
        return _outcome(ctx, at, ticket=number, detail="the comment is already recorded")
    # Cancelling removes a comment (I2), anonymizing replaces its text (I4): its event,
    # which holds the length and never the text, still says it was made.
    length = len(text)
    for event in ctx.uow.events():
        payload = event.payload
        if (
            type(payload) is CommentAdded
            and (event.ticket, event.at, event.actor) == (number, at, agent)
            and payload.length == length
        ):
            return _outcome(ctx, at, ticket=number, detail="the comment was made before")
    with ctx.blame("text", TicketClosed="ticket", UnknownTicket="ticket"):
        ids.add_comment(ctx.store, ticket=number, agent=agent, at=at, text=text)
    return _outcome(ctx, at, Effect.COMMENT_ADDED, ticket=number)


def _h_block(ctx: _Ctx) -> Outcome:
    """I3: block or unblock an identity in a campaign (an identical repeat is a no-op, I7)."""
    campaign = ctx.campaign()
    at = ctx.clock()
    agent = ctx.agent()
    raw = ctx.text("customer", limit=checks.ADDRESS_MAX)
    with ctx.blame("customer"):
        address = ids.identity_address(raw, campaign.region)
    blocked = ctx.uow.get_block(campaign.id, address) is not None
    if ctx.type == "block":
        if blocked:
            return _outcome(ctx, at, detail=f"{address!r} is already blocked")
        ids.block_identity(ctx.store, campaign=campaign.id, customer=address, agent=agent, at=at)
        return _outcome(ctx, at, Effect.IDENTITY_BLOCKED)
    if not blocked:
        return _outcome(ctx, at, detail=f"{address!r} is not blocked")
    ids.unblock_identity(ctx.store, campaign=campaign.id, customer=address, agent=agent, at=at)
    return _outcome(ctx, at, Effect.IDENTITY_UNBLOCKED)


def _h_anonymize(ctx: _Ctx) -> Outcome:
    """I4: anonymize a contact (already anonymized: a no-op)."""
    campaign = ctx.campaign()
    at = ctx.clock()
    agent = ctx.agent()
    code = ctx.text("contact")
    contact = ctx.uow.get_contact(campaign.id, code)
    if contact is None:
        # The code is gone when this very event anonymized it in an earlier replay.
        for event in ctx.uow.events():
            if event.kind is EventKind.CONTACT_ANONYMIZED and (
                event.campaign,
                event.at,
                event.actor,
            ) == (campaign.id, at, agent):
                return _outcome(ctx, at, detail="the contact is already anonymized")
        raise ctx.fail("contact", f"no contact with code {code!r} in campaign {campaign.id!r}")
    if contact.anonymized:
        return _outcome(ctx, at, detail=f"contact {code!r} is already anonymized")
    with ctx.blame("contact"):
        anonymous = ids.anonymize_contact(
            ctx.store, campaign=campaign.id, code=code, agent=agent, at=at
        )
    if ctx.memos is not None:
        ctx.memos.forget()  # the recorded refusals' and interactions' data changed (I4)
    return _outcome(ctx, at, Effect.CONTACT_ANONYMIZED, detail=f"now {anonymous.code}")


@attrs.frozen
class _Kind:
    handler: Callable[[_Ctx], Outcome]
    fields: frozenset[str]


def _kind(handler: Callable[[_Ctx], Outcome], *fields: str) -> _Kind:
    return _Kind(handler, frozenset({"type", *fields}))


_CLOSE_FIELDS: Final = ("ticket", "campaign", "customer", "agent", "at")

_EVENT_KINDS: Final[Mapping[str, _Kind]] = {
    "campaign": _kind(
        _h_campaign,
        "id",
        "name",
        "region",
        "timezone",
        "kind",
        "typifications",
        "custom_fields",
        "grace_days",
        "horizon_days",
        "tolerance",
        "buckets",
        "agent",
        "at",
    ),
    "line": _kind(_h_line, "id", "channel", "address", "alias", "campaign", "queue", "agent", "at"),
    "contact": _kind(_h_contact, "campaign", *_CONTACT_INPUTS, "agent", "at"),
    "interaction": _kind(
        _h_interaction,
        "id",
        "at",
        "channel",
        "direction",
        "line",
        "campaign",
        "customer",
        "agent",
        "text",
        "status",
        "duration_s",
    ),
    "resolve": _kind(_h_close, *_CLOSE_FIELDS),
    "typify": _kind(_h_close, *_CLOSE_FIELDS, "path", "comment"),
    "cancel": _kind(_h_close, *_CLOSE_FIELDS),
    "link": _kind(_h_link, "ticket", "campaign", "customer", "contact", "agent", "at"),
    "product": _kind(
        _h_product,
        "id",
        "campaign",
        "contact",
        "kind",
        "currency",
        "debt",
        "due",
        "installments",
        "at",
    ),
    "payment": _kind(_h_payment, "id", "product", "amount", "date", "status", "at"),
    "promise": _kind(
        _h_promise,
        "id",
        "product",
        "agent",
        "made_on",
        "campaign",
        "customer",
        "ticket",
        "installments",
        "at",
    ),
    "reverse_payment": _kind(_h_reverse_payment, "id", "at", "agent"),
    "cancel_promise": _kind(_h_cancel_promise, "id", "agent", "at"),
    "merge": _kind(_h_merge, "campaign", "into", "from", "agent", "at"),
    "comment": _kind(_h_comment, "ticket", "agent", "at", "text"),
    "block": _kind(_h_block, "campaign", "customer", "agent", "at"),
    "unblock": _kind(_h_block, "campaign", "customer", "agent", "at"),
    "anonymize": _kind(_h_anonymize, "campaign", "contact", "agent", "at"),
}

EVENT_TYPES: Final[tuple[str, ...]] = tuple(_EVENT_KINDS)
"""Every event type of the format (docs/events.md)."""

_K = EventKind
LINE_EVENTS: Final[Mapping[str, frozenset[EventKind]]] = {
    "campaign": frozenset({_K.CAMPAIGN_DECLARED}),
    "line": frozenset({_K.LINE_DECLARED}),
    "contact": frozenset({_K.CONTACT_CREATED}),
    "interaction": frozenset(
        {_K.TICKET_OPENED, _K.INTERACTION_ADDED, _K.CONTACT_LINKED, _K.INTERACTION_REFUSED}
    ),
    "resolve": frozenset({_K.TICKET_RESOLVED}),
    "typify": frozenset({_K.TICKET_TYPIFIED}),
    "cancel": frozenset({_K.TICKET_CANCELLED}),
    "link": frozenset({_K.CONTACT_LINKED}),
    "product": frozenset({_K.PRODUCT_DECLARED}),
    "payment": frozenset({_K.PAYMENT_RECORDED}),
    "promise": frozenset({_K.PROMISE_MADE}),
    "reverse_payment": frozenset({_K.PAYMENT_REVERSED}),
    "cancel_promise": frozenset({_K.PROMISE_CANCELLED}),
    "merge": frozenset({_K.CONTACTS_MERGED, _K.CONTACT_LINKED}),
    "comment": frozenset({_K.COMMENT_ADDED}),
    "block": frozenset({_K.IDENTITY_BLOCKED}),
    "unblock": frozenset({_K.IDENTITY_UNBLOCKED}),
    "anonymize": frozenset({_K.CONTACT_ANONYMIZED}),
}
"""The event kinds each line type (a command of the format) may record (docs/events.md).

A line is a command; what the services record for it are events. An ``anonymize``
line also rewrites the personal values of earlier events in place (I4).
"""


# --- applying ------------------------------------------------------------------------------------


def apply_event(
    store: Store,
    event: Mapping[str, Any],
    *,
    line_no: int | None = None,
    default_at: dt.datetime | None = None,
) -> Outcome:
    """Apply one event through the library's services, all or nothing (R1-R5).

    Args:
        store: the store to apply it to.
        event: the event, a JSON object already parsed (docs/events.md).
        line_no: its line number, used in error messages.
        default_at: the time of events without one (R3): :func:`replay` passes the
            latest event time seen so far.

    Returns:
        The :class:`Outcome`; ``outcome.already_applied`` when the store already held
        its effect (R4).

    Raises:
        EventRejected: (an :class:`~ccdomain.errors.InvalidEvent`) the event is malformed
            or a rule refused it; its message names the line, the field and the reason.
            Nothing of the event was applied.
    """
    return _apply(store, event, line_no=line_no, default_at=default_at, memos=None)


def _apply(
    store: Store,
    event: Mapping[str, Any],
    *,
    line_no: int | None,
    default_at: dt.datetime | None,
    memos: _Memos | None,
) -> Outcome:
    if not isinstance(event, Mapping):
        raise EventRejected(f"{_show(event)} is not a JSON object", line=line_no)
    kind_name = event.get("type")
    if kind_name is None:
        raise EventRejected(
            "missing; expected an event type such as 'interaction'", field="type", line=line_no
        )
    kind = _EVENT_KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        raise EventRejected(
            f"{_show(kind_name)} is not an event type; expected one of {', '.join(EVENT_TYPES)}",
            field="type",
            line=line_no,
        )
    for key in event:
        if not isinstance(key, str):
            raise EventRejected(f"{_show(key)} is not a field name", line=line_no)
        if key not in kind.fields and not key.startswith("_"):
            raise EventRejected(
                f"unknown field for a {kind_name!r} event; expected some of "
                f"{', '.join(sorted(kind.fields - {'type'}))}",
                field=key,
                line=line_no,
            )
    kept = False
    try:
        with store.unit_of_work() as uow:
            ctx = _Ctx(store, uow, event, line_no, default_at, memos)
            outcome = kind.handler(ctx)
            if outcome.effects:
                uow.commit()
        kept = bool(outcome.effects)
    except EventRejected:
        raise
    except CcdomainError as exc:
        raise EventRejected(str(exc), line=line_no) from exc
    finally:
        if memos is not None:
            memos.redeliveries.settle(kept)
    return outcome


def _parse_line(line: str | bytes, number: int) -> Mapping[str, Any]:
    if isinstance(line, bytes):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EventRejected(
                f"not UTF-8 text ({exc.reason} at byte {exc.start})", line=number
            ) from None
    else:
        text = line
    if number == 1:
        text = text.removeprefix("\ufeff")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise EventRejected(f"not JSON ({exc})", line=number) from None
    except RecursionError:
        raise EventRejected("not JSON (nested too deeply)", line=number) from None
    if not isinstance(data, dict):
        raise EventRejected(f"{_show(data)} is not a JSON object", line=number)
    return data


class _Tally:
    """Counts while replaying (a summary is built from it at the end)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.bad: list[BadLine] = []
        self.last_at: dt.datetime | None = None

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def record(self, outcome: Outcome) -> None:
        if outcome.already_applied:
            self.add("already_applied")
        else:
            self.add("applied")
        for effect in outcome.effects:
            self.add(effect.value)
        if outcome.timed and (self.last_at is None or outcome.at > self.last_at):
            self.last_at = outcome.at


def replay(
    store: Store,
    lines: Iterable[str | bytes],
    *,
    keep_going: bool = False,
    progress: Callable[[int], None] | None = None,
    batch: int = _BATCH,
) -> ReplaySummary:
    """Apply event lines (JSON objects, one a line) to a store and count what happened.

    Blank lines are skipped (they still count for line numbers). Each line is applied
    all or nothing (R1); lines are committed every ``batch`` lines and at the end.

    Args:
        store: the store.
        lines: the lines of the file, text or UTF-8 bytes (``\\n`` endings are fine).
        keep_going: go on past bad lines and list them all; otherwise stop at the first.
        progress: called with the number of lines read so far, after every line.
        batch: lines per transaction (a savepoint per line inside it). The cyclic
            garbage collector is paused during each batch and restored after it.

    Returns:
        The :class:`ReplaySummary`. Bad lines are in ``bad_lines``; without
        ``keep_going``, ``stopped_at`` is the line the replay stopped at.
    """
    tally = _Tally()
    memos = _Memos()
    stopped: int | None = None
    source = iter(enumerate(lines, start=1))
    done = False
    while not done:
        # The collector is paused batch by batch (ccdomain._gc): the store keeps every
        # ticket, interaction and event, and its passes over them were pure cost.
        with collector_paused(), store.unit_of_work() as outer:
            in_batch = 0
            try:
                for number, text in source:
                    if text.strip():
                        tally.add("lines")
                        try:
                            outcome = _apply(
                                store,
                                _parse_line(text, number),
                                line_no=number,
                                default_at=tally.last_at,
                                memos=memos,
                            )
                        except EventRejected as exc:
                            tally.bad.append(
                                BadLine(line=number, field=exc.field, reason=exc.reason)
                            )
                            if not keep_going:
                                stopped = number
                                done = True
                                break
                        else:
                            tally.record(outcome)
                    if progress is not None:
                        progress(number)
                    in_batch += 1
                    if in_batch >= batch:
                        break
                else:
                    done = True
            finally:
                # Whole lines only: a line that failed half-way was undone by its own
                # unit of work, so what the batch holds can always be kept.
                outer.commit()
    return _summary(store, tally, stopped)


def _summary(store: Store, tally: _Tally, stopped: int | None) -> ReplaySummary:
    counts = tally.counts
    as_of = None if tally.last_at is None else tally.last_at.date()
    statuses: dict[str, int] = {}
    if as_of is not None:
        for row in promise_rows(store, as_of):
            statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    return ReplaySummary(
        lines=counts.get("lines", 0),
        applied=counts.get("applied", 0),
        already_applied=counts.get("already_applied", 0),
        tickets_opened=counts.get(Effect.TICKET_OPENED.value, 0),
        interactions_joined=counts.get(Effect.INTERACTION_JOINED.value, 0),
        late=counts.get(Effect.INTERACTION_LATE.value, 0),
        refused=counts.get(Effect.INTERACTION_REFUSED.value, 0),
        tickets_closed=counts.get(Effect.TICKET_CLOSED.value, 0),
        contacts_created=counts.get(Effect.CONTACT_CREATED.value, 0),
        contacts_linked=counts.get(Effect.CONTACT_LINKED.value, 0),
        contacts_merged=counts.get(Effect.CONTACTS_MERGED.value, 0),
        products=counts.get(Effect.PRODUCT_DECLARED.value, 0),
        payments=counts.get(Effect.PAYMENT_RECORDED.value, 0),
        promises_made=counts.get(Effect.PROMISE_MADE.value, 0),
        bad_lines=tuple(tally.bad),
        stopped_at=stopped,
        last_at=tally.last_at,
        as_of=as_of,
        promises=statuses,
    )


# --- rows for listings and notebooks -------------------------------------------------------------


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _live_code(uow: UnitOfWork, campaign: str, code: str | None) -> str | None:
    if code is None:
        return None
    try:
        return ct.resolve_contact_code(uow, campaign, code)
    except CcdomainError:
        return code


def ticket_rows(store: Store, campaign: str | None = None) -> list[dict[str, Any]]:
    """One row per ticket, by number (the ``ccdomain tickets`` listing, T7).

    Keys: number, campaign, customer (E.164), status, contact (the live contact's
    code, merge tombstones followed, or None), interactions (count), channels, origin,
    line, alias, queue, labels, assignee, opened_at, closed_at, closed_by, last_action.
    """
    with store.unit_of_work() as uow:
        return [
            {
                "number": t.number,
                "campaign": t.campaign,
                "customer": t.customer,
                "status": t.status.value,
                "contact": _live_code(uow, t.campaign, t.contact),
                "interactions": t.interactions,
                "channels": [c.value for c in t.channels],
                "origin": t.origin.value,
                "line": t.line,
                "alias": t.alias,
                "queue": t.queue,
                "labels": list(t.labels),
                "assignee": t.assignee,
                "opened_at": _iso(t.opened_at),
                "closed_at": _iso(t.closed_at),
                "closed_by": t.closed_by,
                "last_action": t.last_action,
            }
            for t in uow.list_tickets(campaign)
        ]


def contact_rows(store: Store, campaign: str | None = None) -> list[dict[str, Any]]:
    """One row per contact, by (campaign, code) (the ``ccdomain contacts`` listing).

    Keys: campaign, code, first_names, last_names, vip, avatar (K7), phones (E.164),
    emails, document ({type, number} or None), company (its name), tags, merged_into
    (set on a merge tombstone, M5), anonymized.
    """
    rows: list[dict[str, Any]] = []
    with store.unit_of_work() as uow:
        names: dict[str, str] = {}
        for c in uow.list_contacts(campaign):
            company = None
            if c.company is not None:
                if c.company not in names:
                    found = uow.get_company(c.company)
                    names[c.company] = found.name if found is not None else c.company
                company = names[c.company]
            try:
                face = ct.contact_avatar(c)
            except CcdomainError:
                face = ""
            rows.append(
                {
                    "campaign": c.campaign,
                    "code": c.code,
                    "first_names": c.first_names,
                    "last_names": c.last_names,
                    "vip": c.vip,
                    "avatar": face,
                    "phones": list(c.phones),
                    "emails": [ch.value for ch in c.channels if ch.kind.value == "email"],
                    "document": (
                        None
                        if c.document is None
                        else {"type": c.document.type, "number": c.document.number}
                    ),
                    "company": company,
                    "tags": list(c.tags),
                    "merged_into": c.merged_into,
                    "anonymized": c.anonymized,
                }
            )
    return rows


def _policy(campaign: Campaign | None) -> coll.CollectionsPolicy:
    return coll.CollectionsPolicy() if campaign is None else coll.policy_for(campaign)


def promise_rows(store: Store, as_of: dt.date) -> list[dict[str, Any]]:
    """One row per promise, by id, with its status on ``as_of`` (C5, C6).

    Keys: id, product, status (pending, kept, broken, cancelled), paid, total and due
    (what remains to pay) as strings, currency, campaign, contact (live code), agent,
    made_on, ticket, installments ([{amount, date}]), cancelled_on.

    Raises:
        RuleViolation: ``as_of`` is not a date.
    """
    rows: list[dict[str, Any]] = []
    with store.unit_of_work() as uow:
        for promise in uow.list_promises():
            product = uow.get_product(promise.product)
            campaign = uow.get_campaign(promise.campaign)
            siblings = uow.promises_for_product(promise.product)
            payments = uow.payments_for_product(promise.product)
            status = coll.promise_statuses(siblings, payments, _policy(campaign), as_of)[promise.id]
            rows.append(
                {
                    "id": promise.id,
                    "product": promise.product,
                    "status": status.status.value,
                    "paid": str(status.paid.amount),
                    "total": str(status.total.amount),
                    "due": str(status.due.amount),
                    "currency": promise.currency,
                    "campaign": promise.campaign,
                    "contact": (
                        None
                        if product is None
                        else _live_code(uow, product.campaign, product.contact)
                    ),
                    "agent": promise.agent,
                    "made_on": _iso(promise.made_on),
                    "ticket": promise.ticket,
                    "installments": [
                        {"amount": str(i.amount.amount), "date": i.date.isoformat()}
                        for i in promise.installments
                    ],
                    "cancelled_on": _iso(promise.cancelled_on),
                }
            )
    return rows


def typification_rows(store: Store, campaign: str | None = None) -> list[dict[str, Any]]:
    """One row per typification, in the order recorded (T8, the typifications report).

    Keys: ticket, campaign, at, agent, path (list of labels), comment, customer,
    channel, line, contact (the ticket's live contact code, or None).
    """
    rows: list[dict[str, Any]] = []
    with store.unit_of_work() as uow:
        for t in uow.typifications():
            if campaign is not None and t.campaign != campaign:
                continue
            ticket = uow.get_ticket(t.ticket)
            contact = None if ticket is None else ticket.contact
            rows.append(
                {
                    "ticket": t.ticket,
                    "campaign": t.campaign,
                    "at": _iso(t.at),
                    "agent": t.agent,
                    "path": list(t.path),
                    "comment": t.comment,
                    "customer": t.customer,
                    "channel": None if t.channel is None else t.channel.value,
                    "line": t.line,
                    "contact": _live_code(uow, t.campaign, contact),
                }
            )
    return rows
