"""In-memory reference store: thread-safe, with rollback (E2) and nested units of work.

Every unit of work holds the store's lock from its start to its end, so units of
work from different threads run one after the other (which is what makes the
get-or-open of T2 atomic). Changes are applied at once and an undo log records
how to take each back; rolling back replays the log backwards to the mark the
unit of work (or savepoint) started at.

Counters (ticket numbers, comment seqs, generated contact numbers) are changes
like any other: a number is taken through the undo log, together with what it
numbers, so a unit that rolls back (an exception, ``KeyboardInterrupt``) gives it
back and the next unit takes the same one (T5: no gap, and no number goes to two
records, since the lock keeps other units out until this one ends).

All stored values are immutable models, so reads hand out the stored objects
themselves and nobody can change the store behind its back. The phone indexes
hold the contacts themselves (not their keys), so a lookup is one probe (M3).

Routing runs through here once per interaction, so the write path is kept lean:
the undo log holds plain ``(container, key, old value)`` records rather than
closures, index tuples of ticket numbers are kept sorted as they are written (reads
need no sort), and an update that changes neither a ticket's contact nor its
status rewrites no index.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import sys
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Self

import attrs

from ccdomain._folding import name_key
from ccdomain.errors import DuplicateContact, RuleViolation, UnknownContact, UnknownTicket
from ccdomain.events import Event
from ccdomain.models import (
    AgentState,
    Block,
    Campaign,
    Comment,
    Company,
    Contact,
    Family,
    Interaction,
    Line,
    OptOut,
    Payment,
    Product,
    Promise,
    Ticket,
    Typification,
    WaitingTicket,
)
from ccdomain.phones import national_number, phone_suffix
from ccdomain.ports import checked_opening
from ccdomain.rules.assignment import waiting_key
from ccdomain.rules.matching import identity_keys
from ccdomain.rules.tickets import check_replacement

__all__ = ["MemoryStore", "MemoryUnitOfWork"]

_MISSING: Any = object()
# append_event numbers in place an event only it references: its parameter and the
# count's own argument (CPython; elsewhere the count is never this low, so it copies).
_refcount: Callable[[object], int] = getattr(sys, "getrefcount", lambda _: 1 << 30)
_ONLY_HERE = 2
_weakrefs = weakref.getweakrefcount
_set_attr = object.__setattr__
_TICKET_COUNTER = "ticket"
_COMMENT_COUNTER = "comment"
# The key of an undo record that takes back a list append.
_APPEND: Any = object()
# The key of an undo record that pushes a popped entry back on a heap.
_HEAP_PUSH: Any = object()
ContactKey = tuple[str, str]
# (container, key, old value): rolling back sets ``container[key] = old`` again, deletes
# the key when ``old`` is _MISSING, or pops the list when ``key`` is _APPEND.
UndoRecord = tuple[Any, Any, Any]


# A phone index entry: one contact, or several in a tuple. A lone contact saves a
# tuple (48 bytes in each of three indexes) and a pointer chase on every lookup.
_Indexed = Contact | tuple[Contact, ...]


def _indexed(entry: _Indexed | None) -> list[Contact]:
    """The contacts of a phone index entry, as a new list."""
    if entry is None:
        return []
    if type(entry) is tuple:
        return list(entry)
    return [entry]  # type: ignore[list-item]


def _phone_keys(contact: Contact) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The index keys of a live contact: E.164 numbers, national numbers, 7-digit suffixes."""
    if contact.merged_into is not None:
        return (), (), ()
    phones = contact.phones
    return (
        phones,
        tuple(dict.fromkeys(national_number(p) for p in phones)),
        tuple(dict.fromkeys(phone_suffix(p) for p in phones)),
    )


class _State:
    """Everything the store holds. Values are immutable (models, tuples) except the
    append-only lists, whose appends the undo log pops."""

    def __init__(self) -> None:
        self.campaigns: dict[str, Campaign] = {}
        self.lines: dict[str, Line] = {}
        self.companies: dict[str, Company] = {}
        # Company ids by name key (K16), each tuple in increasing id order.
        self.companies_by_name: dict[str, tuple[str, ...]] = {}
        self.contacts: dict[ContactKey, Contact] = {}
        # Phone indexes hold the live contacts themselves, in the order indexed: the
        # contact alone when it is the only one under its key (most are), else a tuple.
        self.by_phone: dict[str, _Indexed] = {}
        self.by_national: dict[str, _Indexed] = {}
        self.by_suffix: dict[str, _Indexed] = {}
        # X1, X2: the identity keys of live contacts ((kind, key) of identity_keys), held
        # the same way as the phone indexes.
        self.by_identity: dict[tuple[str, str], _Indexed] = {}
        # Counters by name, as the SQLite store names them: "ticket", "comment",
        # "contact:<campaign>". Written through the undo log like everything else (T5).
        self.counters: dict[str, int] = {}
        self.tickets: dict[int, Ticket] = {}
        self.open_tickets: dict[tuple[str, str], int] = {}
        # Ticket numbers, kept in increasing order by _index_insort.
        self.tickets_by_customer: dict[str, tuple[int, ...]] = {}
        self.tickets_by_contact: dict[ContactKey, tuple[int, ...]] = {}
        self.interactions: dict[int, list[Interaction]] = {}
        self.by_external_id: dict[str, Interaction] = {}
        self.typifications: list[Typification] = []
        self.typifications_by_ticket: dict[int, tuple[int, ...]] = {}
        self.products: dict[str, Product] = {}
        self.products_by_contact: dict[ContactKey, tuple[str, ...]] = {}
        self.payments: dict[str, Payment] = {}
        self.payments_by_product: dict[str, tuple[str, ...]] = {}
        self.promises: dict[str, Promise] = {}
        self.promises_by_product: dict[str, tuple[str, ...]] = {}
        self.comments: dict[int, tuple[Comment, ...]] = {}
        self.blocks: dict[tuple[str, str], Block] = {}
        self.events: list[Event] = []
        # Assignment (A1-A6): agents by id, agent ids by queue (sorted), waiting tickets
        # by number, and per (queue, family) a heap of (A3 order key, number) whose
        # entries for tickets no longer waiting are skipped when met.
        self.agents: dict[str, AgentState] = {}
        self.agents_by_queue: dict[str, tuple[str, ...]] = {}
        self.waiting: dict[int, WaitingTicket] = {}
        self.waiting_lines: dict[tuple[str, Family], list[Any]] = {}
        # w: the contact policy's indexes (W1-W5), keyed as the port asks them.
        # Inbound message times per (line, customer), sorted by instant (W1, W2). Tuples
        # of datetimes, which the cyclic GC stops tracking: routing keeps one per pair.
        self.inbound_times: dict[tuple[str, str], tuple[dt.datetime, ...]] = {}
        self.attempts: dict[tuple[str, str, dt.date], int] = {}
        self.opt_outs: dict[tuple[str, str, str], OptOut] = {}


class MemoryStore:
    """The in-memory reference implementation of :class:`ccdomain.ports.Store`.

    Example:
        >>> from ccdomain.models import Campaign
        >>> store = MemoryStore()
        >>> with store.unit_of_work() as uow:
        ...     uow.put_campaign(Campaign(id="ventas"))
        ...     uow.commit()
        >>> with store.unit_of_work() as uow:
        ...     uow.get_campaign("ventas").id
        'ventas'
    """

    def __init__(self) -> None:
        self._state = _State()
        self._lock = threading.RLock()
        # The outermost unit of work in progress. Only the thread holding the lock can
        # see it set: it is cleared before the lock is released for the last time.
        self._active: MemoryUnitOfWork | None = None

    def unit_of_work(self) -> MemoryUnitOfWork:
        """A new unit of work; a savepoint of the active one when nested in this thread."""
        return MemoryUnitOfWork(self)

    def close(self) -> None:
        """Nothing to release; present for the Store protocol."""

    def purge(self) -> None:
        """Nothing lingers in memory once a unit of work ends; present for Purgeable (I4)."""


def _check_one_for_one(what: str, ticket: int, count: int, items: Sequence[Any]) -> None:
    """A one-for-one replacement (I4) keeps the count, and every item names the ticket."""
    if len(items) != count:
        raise RuleViolation(
            f"ticket {ticket} holds {count} {what}; expected as many replacements, got {len(items)}"
        )
    for item in items:
        if item.ticket != ticket:
            raise RuleViolation(
                f"{what} of ticket {ticket} cannot be replaced by one of ticket {item.ticket!r}"
            )


class MemoryUnitOfWork:
    """A unit of work over a :class:`MemoryStore` (see :mod:`ccdomain.ports`)."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._s = store._state
        self._mark = 0
        self._outer = False
        self._committed = False
        self._undo: list[UndoRecord] = []

    # -- transaction -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        store = self._store
        store._lock.acquire()
        # With the lock held, an active unit can only be this thread's own outer unit.
        active = store._active
        if active is None:
            self._outer = True
            store._active = self
        else:
            self._undo = active._undo
        self._mark = len(self._undo)
        self._committed = False
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                self.rollback()
        finally:
            if self._outer:
                self._store._active = None
                self._undo.clear()
            self._store._lock.release()

    def commit(self) -> None:
        """Keep the changes (the outermost commit makes them final)."""
        self._committed = True
        if self._outer:
            self._undo.clear()
            self._mark = 0

    def rollback(self) -> None:
        """Undo every change made since this unit of work started."""
        undo = self._undo
        mark = self._mark
        while len(undo) > mark:
            container, key, old = undo.pop()
            if key is _APPEND:
                container.pop()
            elif key is _HEAP_PUSH:
                heapq.heappush(container, old)
            elif old is _MISSING:
                container.pop(key, None)
            else:
                container[key] = old

    # -- undo-logged primitives ----------------------------------------------------------------

    def _set(self, mapping: dict[Any, Any], key: Any, value: Any) -> None:
        self._undo.append((mapping, key, mapping.get(key, _MISSING)))
        mapping[key] = value

    def _delete(self, mapping: dict[Any, Any], key: Any) -> None:
        if key in mapping:
            self._undo.append((mapping, key, mapping.pop(key)))

    def _append(self, items: list[Any], value: Any) -> None:
        items.append(value)
        self._undo.append((items, _APPEND, None))

    def _set_item(self, items: list[Any], index: int, value: Any) -> None:
        self._undo.append((items, index, items[index]))
        items[index] = value

    def _index_add(self, index: dict[Any, tuple[Any, ...]], key: Any, value: Any) -> None:
        current = index.get(key, ())
        if value not in current:
            self._set(index, key, (*current, value))

    def _index_insort(self, index: dict[Any, tuple[int, ...]], key: Any, value: int) -> None:
        """Add a number to an index tuple kept in increasing order."""
        current = index.get(key, ())
        if not current or current[-1] < value:
            self._set(index, key, (*current, value))
        elif value not in current:
            self._set(index, key, tuple(sorted((*current, value))))

    def _index_remove(self, index: dict[Any, tuple[Any, ...]], key: Any, value: Any) -> None:
        current = index.get(key, ())
        if value in current:
            rest = tuple(v for v in current if v != value)
            if rest:
                self._set(index, key, rest)
            else:
                self._delete(index, key)

    # -- campaigns, lines, companies ------------------------------------------------------------

    def put_campaign(self, campaign: Campaign) -> None:
        """Insert or replace a campaign (by id)."""
        self._set(self._s.campaigns, campaign.id, campaign)

    def get_campaign(self, campaign_id: str) -> Campaign | None:
        """The campaign with that id, or None."""
        return self._s.campaigns.get(campaign_id)

    def list_campaigns(self) -> Sequence[Campaign]:
        """Every campaign, by id."""
        return [self._s.campaigns[k] for k in sorted(self._s.campaigns)]

    def put_line(self, line: Line) -> None:
        """Insert or replace a line by id."""
        self._set(self._s.lines, line.id, line)

    def get_line(self, line_id: str) -> Line | None:
        """The line with that id, or None."""
        return self._s.lines.get(line_id)

    def list_lines(self) -> Sequence[Line]:
        """Every line, by id."""
        return [self._s.lines[k] for k in sorted(self._s.lines)]

    def put_company(self, company: Company) -> None:
        """Insert or replace a company by id."""
        s = self._s
        key = name_key(company.name)
        old = s.companies.get(company.id)
        old_key = None if old is None else name_key(old.name)
        if old_key is not None and old_key != key:
            self._index_remove(s.companies_by_name, old_key, company.id)
        ids = s.companies_by_name.get(key, ())
        if company.id not in ids:
            self._set(s.companies_by_name, key, tuple(sorted((*ids, company.id))))
        self._set(s.companies, company.id, company)

    def company_by_name_key(self, key: str) -> Company | None:
        """The company whose name key is ``key``, the smallest id first (CompanyNameIndex)."""
        ids = self._s.companies_by_name.get(key)
        return self._s.companies[ids[0]] if ids else None

    def get_company(self, company_id: str) -> Company | None:
        """The company with that id, or None."""
        return self._s.companies.get(company_id)

    def list_companies(self) -> Sequence[Company]:
        """Every company, by id."""
        return [self._s.companies[k] for k in sorted(self._s.companies)]

    # -- contacts --------------------------------------------------------------------------------

    def _index_contact(self, contact: Contact, add: bool) -> None:
        """Add a live contact to the phone and identity indexes, or take it (by campaign and
        code) out."""
        phones, nationals, suffixes = _phone_keys(contact)
        s = self._s
        indexes: tuple[tuple[dict[Any, _Indexed], tuple[Any, ...]], ...] = (
            (s.by_phone, phones),
            (s.by_national, nationals),
            (s.by_suffix, suffixes),
            (s.by_identity, identity_keys(contact)),
        )
        for index, keys in indexes:
            for key in keys:
                current = index.get(key)
                if add:
                    if current is None:
                        self._set(index, key, contact)
                    elif type(current) is tuple:
                        self._set(index, key, (*current, contact))
                    else:
                        self._set(index, key, (current, contact))
                    continue
                held = _indexed(current)
                campaign, code = contact.campaign, contact.code
                rest = [c for c in held if c.code != code or c.campaign != campaign]
                if len(rest) == len(held):
                    continue
                if not rest:
                    self._delete(index, key)
                else:
                    self._set(index, key, rest[0] if len(rest) == 1 else tuple(rest))

    def add_contact(self, contact: Contact) -> None:
        """Insert a new contact; DuplicateContact if its code exists in its campaign."""
        key = (contact.campaign, contact.code)
        if key in self._s.contacts:
            raise DuplicateContact(
                f"a contact with code {contact.code!r} already exists in campaign "
                f"{contact.campaign!r}; expected a code not used in that campaign"
            )
        self._set(self._s.contacts, key, contact)
        self._index_contact(contact, add=True)

    def update_contact(self, contact: Contact) -> None:
        """Replace the stored contact with the same (campaign, code), reindexing phones."""
        key = (contact.campaign, contact.code)
        old = self._s.contacts.get(key)
        if old is None:
            raise UnknownContact(
                f"no contact with code {contact.code!r} in campaign {contact.campaign!r}"
            )
        self._index_contact(old, add=False)
        self._set(self._s.contacts, key, contact)
        self._index_contact(contact, add=True)

    def get_contact(self, campaign: str, code: str) -> Contact | None:
        """The stored contact (tombstones included) with that code, or None."""
        return self._s.contacts.get((campaign, code))

    def list_contacts(self, campaign: str | None = None) -> Sequence[Contact]:
        """Contacts of a campaign (or all), by (campaign, code)."""
        keys = sorted(k for k in self._s.contacts if campaign is None or k[0] == campaign)
        return [self._s.contacts[k] for k in keys]

    def contacts_by_phone(self, e164: str) -> Sequence[Contact]:
        """Live contacts with this exact E.164 phone (index lookup)."""
        return _indexed(self._s.by_phone.get(e164))

    def contacts_by_national_number(self, national: str) -> Sequence[Contact]:
        """Live contacts with a phone of this national significant number (index lookup)."""
        return _indexed(self._s.by_national.get(national))

    def contacts_by_phone_suffix(self, suffix: str) -> Sequence[Contact]:
        """Live contacts with a phone ending in these 7 digits (index lookup)."""
        return _indexed(self._s.by_suffix.get(suffix))

    def contacts_by_identity(self, kind: str, key: str) -> Sequence[Contact]:
        """Live contacts with this identity key (X1, X2: email, messenger, instagram,
        document, name; index lookup)."""
        return _indexed(self._s.by_identity.get((kind, key)))

    def _next(self, counter: str) -> int:
        """Take the next value of a counter; a rollback gives it back (T5)."""
        number = self._s.counters.get(counter, 0) + 1
        self._set(self._s.counters, counter, number)
        return number

    def next_contact_number(self, campaign: str) -> int:
        """The next number of this campaign's generated codes; a rollback gives it back."""
        return self._next(f"contact:{campaign}")

    def rename_contact(self, campaign: str, code: str, contact: Contact) -> None:
        """Replace the contact (campaign, code) by ``contact``, which may carry a new code."""
        old = self._s.contacts.get((campaign, code))
        if old is None:
            raise UnknownContact(f"no contact with code {code!r} in campaign {campaign!r}")
        if contact.campaign != campaign:
            raise RuleViolation(
                f"contact {code!r} belongs to campaign {campaign!r}; "
                f"it cannot move to {contact.campaign!r}"
            )
        new_key = (campaign, contact.code)
        if contact.code != code and new_key in self._s.contacts:
            raise DuplicateContact(
                f"a contact with code {contact.code!r} already exists in campaign "
                f"{campaign!r}; expected a code not used in that campaign"
            )
        self._index_contact(old, add=False)
        self._delete(self._s.contacts, (campaign, code))
        self._set(self._s.contacts, new_key, contact)
        self._index_contact(contact, add=True)

    # -- tickets -------------------------------------------------------------------------------

    def _ticket_indexes(self, ticket: Ticket, add: bool) -> None:
        change = self._index_insort if add else self._index_remove
        change(self._s.tickets_by_customer, ticket.customer, ticket.number)
        if ticket.contact is not None:
            change(self._s.tickets_by_contact, (ticket.campaign, ticket.contact), ticket.number)
        open_key = (ticket.campaign, ticket.customer)
        if ticket.is_open:
            if add:
                self._set(self._s.open_tickets, open_key, ticket.number)
            elif self._s.open_tickets.get(open_key) == ticket.number:
                self._delete(self._s.open_tickets, open_key)

    def get_or_open_ticket(
        self, campaign: str, customer: str, opener: Callable[[int], Ticket]
    ) -> tuple[Ticket, bool]:
        """The open ticket of (campaign, customer), or a new one numbered by the store."""
        s = self._s
        open_key = (campaign, customer)
        number = s.open_tickets.get(open_key)
        if number is not None:
            return s.tickets[number], False
        # The number is taken only with the ticket it numbers, through the undo log:
        # a refused opener or a rolled-back unit leaves no gap (T5).
        counters = s.counters
        previous = counters.get(_TICKET_COUNTER, _MISSING)
        number = 1 if previous is _MISSING else previous + 1
        ticket = checked_opening(
            opener(number), campaign=campaign, customer=customer, number=number
        )
        # Once per opened ticket (routing's hot path): the undo records of _next, _set and
        # _ticket_indexes written out. A new number is in no index, and the open key was
        # free (checked above, under the lock).
        by_customer = s.tickets_by_customer
        numbers = by_customer.get(customer, _MISSING)
        contact = ticket.contact
        undo = self._undo
        undo.append((counters, _TICKET_COUNTER, previous))
        counters[_TICKET_COUNTER] = number
        undo.append((s.tickets, number, _MISSING))
        s.tickets[number] = ticket
        undo.append((by_customer, customer, numbers))
        if numbers is _MISSING or not numbers:
            by_customer[customer] = (number,)
        elif numbers[-1] < number:
            by_customer[customer] = (*numbers, number)
        else:  # a rolled-back unit gave a number back: keep the tuple in order
            by_customer[customer] = tuple(sorted((*numbers, number)))
        if contact is not None:
            self._index_insort(s.tickets_by_contact, (campaign, contact), number)
        undo.append((s.open_tickets, open_key, _MISSING))
        s.open_tickets[open_key] = number
        undo.append((s.interactions, number, _MISSING))
        s.interactions[number] = []
        return ticket, True

    def get_open_ticket(self, campaign: str, customer: str) -> Ticket | None:
        """The open ticket of (campaign, customer), or None."""
        number = self._s.open_tickets.get((campaign, customer))
        return None if number is None else self._s.tickets[number]

    def get_ticket(self, number: int) -> Ticket | None:
        """The ticket with that number, or None."""
        return self._s.tickets.get(number)

    def update_ticket(self, ticket: Ticket) -> None:
        """Replace the stored ticket with the same number."""
        old = self._s.tickets.get(ticket.number)
        if old is None:
            raise UnknownTicket(f"no ticket with number {ticket.number!r}")
        check_replacement(
            ticket, campaign=old.campaign, customer=old.customer, was_open=old.is_open
        )
        if ticket.contact == old.contact and ticket.status == old.status:
            # Same customer, contact and status: every index already holds it (routing's
            # usual update, once per joined interaction).
            self._undo.append((self._s.tickets, ticket.number, old))
            self._s.tickets[ticket.number] = ticket
            return
        self._ticket_indexes(old, add=False)
        self._set(self._s.tickets, ticket.number, ticket)
        self._ticket_indexes(ticket, add=True)

    def rewrite_ticket(self, ticket: Ticket) -> None:
        """Replace the stored ticket with the same number, its customer included (I4)."""
        old = self._s.tickets.get(ticket.number)
        if old is None:
            raise UnknownTicket(f"no ticket with number {ticket.number!r}")
        check_replacement(ticket, campaign=old.campaign, customer=None, was_open=old.is_open)
        open_key = (ticket.campaign, ticket.customer)
        holder = self._s.open_tickets.get(open_key)
        if ticket.is_open and holder is not None and holder != ticket.number:
            raise RuleViolation(
                f"customer {ticket.customer!r} already has open ticket {holder} in campaign "
                f"{ticket.campaign!r} (T2)"
            )
        self._ticket_indexes(old, add=False)
        self._set(self._s.tickets, ticket.number, ticket)
        self._ticket_indexes(ticket, add=True)

    def list_tickets(self, campaign: str | None = None) -> Sequence[Ticket]:
        """Tickets of a campaign (or all), by number."""
        return [
            t
            for n, t in sorted(self._s.tickets.items())
            if campaign is None or t.campaign == campaign
        ]

    def tickets_for_customer(self, customer: str, campaign: str | None = None) -> Sequence[Ticket]:
        """Tickets of a customer address, by number."""
        numbers = self._s.tickets_by_customer.get(customer)
        if not numbers:
            return []
        tickets = self._s.tickets
        if campaign is None:
            return [tickets[n] for n in numbers]
        return [t for n in numbers if (t := tickets[n]).campaign == campaign]

    def open_tickets_for_customer(self, customer: str) -> Sequence[Ticket]:
        """Open tickets of a customer address across campaigns, by number."""
        return [t for t in self.tickets_for_customer(customer) if t.is_open]

    def tickets_for_contact(self, campaign: str, code: str) -> Sequence[Ticket]:
        """Tickets linked to that contact, by number."""
        tickets = self._s.tickets
        return [tickets[n] for n in self._s.tickets_by_contact.get((campaign, code), ())]

    def add_interaction(self, interaction: Interaction) -> None:
        """Append a routed interaction to its ticket (O(1))."""
        s = self._s
        items = s.interactions.get(interaction.ticket)  # type: ignore[arg-type]
        if items is None:
            raise UnknownTicket(
                f"interaction names ticket {interaction.ticket!r}; expected a stored ticket"
            )
        external_id = interaction.external_id
        undo = self._undo
        if external_id is not None:
            known = s.by_external_id
            if external_id in known:
                raise RuleViolation(
                    f"interaction {external_id!r} is already recorded; expected a new external id"
                )
            undo.append((known, external_id, _MISSING))
            known[external_id] = interaction
        items.append(interaction)
        undo.append((items, _APPEND, None))

    def interactions(self, ticket: int) -> Sequence[Interaction]:
        """Interactions of a ticket, in the order added."""
        return list(self._s.interactions.get(ticket, ()))

    def find_interaction(self, external_id: str) -> Interaction | None:
        """The recorded interaction with that external id, or None."""
        return self._s.by_external_id.get(external_id)

    def add_typification(self, typification: Typification) -> None:
        """Record a typification."""
        index = len(self._s.typifications)
        self._append(self._s.typifications, typification)
        self._index_add(self._s.typifications_by_ticket, typification.ticket, index)

    def typifications(self, ticket: int | None = None) -> Sequence[Typification]:
        """Typifications of a ticket (or all), in the order recorded."""
        if ticket is None:
            return list(self._s.typifications)
        return [self._s.typifications[i] for i in self._s.typifications_by_ticket.get(ticket, ())]

    def replace_interactions(self, ticket: int, interactions: Sequence[Interaction]) -> None:
        """Replace the interactions of a ticket one for one, in place (I4)."""
        current = self._s.interactions.get(ticket, [])
        new = list(interactions)
        _check_one_for_one("interactions", ticket, len(current), new)
        taken = {i.external_id for i in current if i.external_id is not None}
        for item in new:
            known = (
                None if item.external_id is None else self._s.by_external_id.get(item.external_id)
            )
            if known is not None and item.external_id not in taken:
                raise RuleViolation(
                    f"interaction {item.external_id!r} is already recorded on ticket "
                    f"{known.ticket}; expected a new external id"
                )
        for item in current:
            if item.external_id is not None:
                self._delete(self._s.by_external_id, item.external_id)
        for item in new:
            if item.external_id is not None:
                self._set(self._s.by_external_id, item.external_id, item)
        self._set(self._s.interactions, ticket, new)

    def replace_typifications(self, ticket: int, typifications: Sequence[Typification]) -> None:
        """Replace the typification records of a ticket one for one, in place (I4)."""
        places = self._s.typifications_by_ticket.get(ticket, ())
        new = list(typifications)
        _check_one_for_one("typifications", ticket, len(places), new)
        for index, record in zip(places, new, strict=True):
            self._set_item(self._s.typifications, index, record)

    # -- collections ---------------------------------------------------------------------------

    def put_product(self, product: Product) -> None:
        """Insert or replace a product by id."""
        old = self._s.products.get(product.id)
        if old is not None:
            self._index_remove(self._s.products_by_contact, (old.campaign, old.contact), old.id)
        self._set(self._s.products, product.id, product)
        self._index_add(
            self._s.products_by_contact, (product.campaign, product.contact), product.id
        )

    def get_product(self, product_id: str) -> Product | None:
        """The product with that id, or None."""
        return self._s.products.get(product_id)

    def list_products(self, campaign: str | None = None) -> Sequence[Product]:
        """Products of a campaign (or all), by id."""
        return [
            p
            for _, p in sorted(self._s.products.items())
            if campaign is None or p.campaign == campaign
        ]

    def products_for_contact(self, campaign: str, code: str) -> Sequence[Product]:
        """Products of a contact, by id."""
        ids = sorted(self._s.products_by_contact.get((campaign, code), ()))
        return [self._s.products[i] for i in ids]

    def put_payment(self, payment: Payment) -> None:
        """Insert or replace a payment by id."""
        old = self._s.payments.get(payment.id)
        if old is not None and old.product != payment.product:
            self._index_remove(self._s.payments_by_product, old.product, old.id)
        self._set(self._s.payments, payment.id, payment)
        self._index_add(self._s.payments_by_product, payment.product, payment.id)

    def get_payment(self, payment_id: str) -> Payment | None:
        """The payment with that id, or None."""
        return self._s.payments.get(payment_id)

    def payments_for_product(self, product_id: str) -> Sequence[Payment]:
        """Payments of a product, by (date, id)."""
        payments = [self._s.payments[i] for i in self._s.payments_by_product.get(product_id, ())]
        return sorted(payments, key=lambda p: (p.date, p.id))

    def put_promise(self, promise: Promise) -> None:
        """Insert or replace a promise by id."""
        old = self._s.promises.get(promise.id)
        if old is not None and old.product != promise.product:
            self._index_remove(self._s.promises_by_product, old.product, old.id)
        self._set(self._s.promises, promise.id, promise)
        self._index_add(self._s.promises_by_product, promise.product, promise.id)

    def get_promise(self, promise_id: str) -> Promise | None:
        """The promise with that id, or None."""
        return self._s.promises.get(promise_id)

    def promises_for_product(self, product_id: str) -> Sequence[Promise]:
        """Promises of a product, by (made_on, id)."""
        promises = [self._s.promises[i] for i in self._s.promises_by_product.get(product_id, ())]
        return sorted(promises, key=lambda p: (p.made_on, p.id))

    def list_promises(self) -> Sequence[Promise]:
        """Every promise, by id."""
        return [p for _, p in sorted(self._s.promises.items())]

    # -- identities ----------------------------------------------------------------------------

    def add_comment(self, comment: Comment) -> Comment:
        """Record a comment, returning it with its seq set."""
        stored = attrs.evolve(comment, seq=self._next(_COMMENT_COUNTER))
        self._set(
            self._s.comments, comment.ticket, (*self._s.comments.get(comment.ticket, ()), stored)
        )
        return stored

    def comments(self, ticket: int) -> Sequence[Comment]:
        """Comments of a ticket, in the order added."""
        return list(self._s.comments.get(ticket, ()))

    def delete_comments(self, ticket: int) -> None:
        """Remove the comments of a ticket."""
        self._delete(self._s.comments, ticket)

    def put_block(self, block: Block) -> None:
        """Block an identity in a campaign."""
        self._set(self._s.blocks, (block.campaign, block.customer), block)

    def remove_block(self, campaign: str, customer: str) -> None:
        """Unblock an identity."""
        self._delete(self._s.blocks, (campaign, customer))

    def get_block(self, campaign: str, customer: str) -> Block | None:
        """The block of an identity in a campaign, or None."""
        return self._s.blocks.get((campaign, customer))

    def replace_comments(self, ticket: int, comments: Sequence[Comment]) -> None:
        """Replace the comments of a ticket one for one, keeping their seq (I4)."""
        current = self._s.comments.get(ticket, ())
        new = tuple(comments)
        _check_one_for_one("comments", ticket, len(current), new)
        for old, item in zip(current, new, strict=True):
            if item.seq != old.seq:
                raise RuleViolation(
                    f"comment {item.seq!r} of ticket {ticket} is not comment {old.seq!r}; "
                    "expected the comments in their order with their seq"
                )
        if new:
            self._set(self._s.comments, ticket, new)

    # -- events --------------------------------------------------------------------------------

    def append_event(self, event: Event) -> Event:
        """Record an event with the next sequence number."""
        events = self._s.events
        seq = len(events) + 1
        if (
            type(event) is Event
            and event.seq is None
            and _refcount(event) <= _ONLY_HERE
            and not _weakrefs(event)
        ):
            # The caller built the event in the call and holds no reference to it (the
            # services do: ``uow.append_event(opened_event(...))``): nobody can see it
            # change, so it takes its number in place instead of being copied.
            _set_attr(event, "seq", seq)
            stored = event
        else:
            stored = event.numbered(seq)
        events.append(stored)
        self._undo.append((events, _APPEND, None))
        return stored

    def events(self, after: int = 0) -> Iterator[Event]:
        """Events with seq > after, in order."""
        return iter(self._s.events[max(after, 0) :])

    def replace_event(self, event: Event) -> None:
        """Replace the recorded event with the same seq (I4)."""
        seq = event.seq
        if not isinstance(seq, int) or not 1 <= seq <= len(self._s.events):
            raise RuleViolation(f"event seq {seq!r} is not recorded; expected a recorded event")
        old = self._s.events[seq - 1]
        if old.kind != event.kind:
            raise RuleViolation(
                f"event {seq} is a {old.kind.value} event, not {event.kind.value}; "
                "a replaced event keeps its kind"
            )
        self._set_item(self._s.events, seq - 1, event)

    # -- service-level reads (H5) --------------------------------------------------------------

    def latest_event_time(self) -> dt.datetime | None:
        """The latest ``at`` of the recorded events, or None (H5)."""
        return max((event.at for event in self._s.events), default=None)

    def interactions_by_ticket(
        self, campaign: str | None = None
    ) -> Iterator[tuple[int, Sequence[Interaction]]]:
        """Every ticket's interactions (of one campaign, or all), by ticket number (H5)."""
        tickets = self._s.tickets
        for number in sorted(self._s.interactions):
            found = self._s.interactions[number]
            if found and (campaign is None or tickets[number].campaign == campaign):
                yield number, list(found)

    # -- assignment (A1-A6) ---------------------------------------------------------------------

    def put_agent_state(self, state: AgentState) -> None:
        """Insert or replace an agent's state, its queues reindexed."""
        s = self._s
        agent_id = state.agent.id
        old = s.agents.get(agent_id)
        if old is not None and old.agent.queues != state.agent.queues:
            for queue in old.agent.queues:
                self._index_remove(s.agents_by_queue, queue, agent_id)
        if old is None or old.agent.queues != state.agent.queues:
            for queue in state.agent.queues:
                current = s.agents_by_queue.get(queue, ())
                if agent_id not in current:
                    self._set(s.agents_by_queue, queue, tuple(sorted((*current, agent_id))))
        self._set(s.agents, agent_id, state)

    def get_agent_state(self, agent_id: str) -> AgentState | None:
        """The state of the agent with that id, or None."""
        return self._s.agents.get(agent_id)

    def list_agent_states(self) -> Sequence[AgentState]:
        """Every agent's state, by agent id."""
        return [self._s.agents[k] for k in sorted(self._s.agents)]

    def agent_states_for_queue(self, queue: str) -> Sequence[AgentState]:
        """The states of the agents serving ``queue``, by agent id."""
        agents = self._s.agents
        return [agents[k] for k in self._s.agents_by_queue.get(queue, ())]

    def add_waiting(self, ticket: WaitingTicket) -> None:
        """Put a ticket in its queue's waiting line (RuleViolation if it already waits)."""
        s = self._s
        if ticket.number in s.waiting:
            raise RuleViolation(f"ticket {ticket.number} is already waiting; expected a new one")
        self._set(s.waiting, ticket.number, ticket)
        # Pushing is not undone: an entry whose ticket no longer waits is skipped (stale).
        line = s.waiting_lines.setdefault((ticket.queue, ticket.family), [])
        heapq.heappush(line, (waiting_key(ticket), ticket.number))

    def take_waiting(self, number: int) -> WaitingTicket | None:
        """Take ticket ``number`` out of its waiting line; None if it does not wait."""
        found = self._s.waiting.get(number)
        if found is not None:
            self._delete(self._s.waiting, number)
        return found

    def first_waiting(self, queue: str, family: Family) -> WaitingTicket | None:
        """The first ticket of a waiting line (VIP, then opening time, then number)."""
        line = self._s.waiting_lines.get((queue, family))
        waiting = self._s.waiting
        while line:
            key, number = line[0]
            found = waiting.get(number)
            if found is not None and found.queue == queue and waiting_key(found) == key:
                return found
            # A stale entry: popped, and pushed back if this unit of work rolls back.
            heapq.heappop(line)
            self._undo.append((line, _HEAP_PUSH, (key, number)))
        return None

    def list_waiting(self, queue: str | None = None) -> Sequence[WaitingTicket]:
        """The waiting tickets of a queue (or all), queue by queue in serving order."""
        items = [w for w in self._s.waiting.values() if queue is None or w.queue == queue]
        return sorted(items, key=lambda w: (w.queue, waiting_key(w)))

    # -- contact policy (W1-W5) ----------------------------------------------------------------

    def note_inbound(self, line: str, customer: str, at: dt.datetime) -> None:
        """Record the time of an inbound message on a line (W1)."""
        key = (line, customer)
        times = self._s.inbound_times.get(key, ())
        if not times or at > times[-1]:  # the usual case: messages in order
            self._set(self._s.inbound_times, key, (*times, at))
            return
        index = bisect.bisect_left(times, at)
        if index == len(times) or times[index] != at:
            self._set(self._s.inbound_times, key, (*times[:index], at, *times[index:]))

    def last_inbound(
        self, line: str, customer: str, at: dt.datetime | None = None
    ) -> dt.datetime | None:
        """The latest inbound message time on the line at or before ``at``, or None."""
        times = self._s.inbound_times.get((line, customer))
        if not times:
            return None
        if at is None or times[-1] <= at:
            return times[-1]
        index = bisect.bisect_right(times, at)
        return times[index - 1] if index else None

    def add_attempt(self, campaign: str, customer: str, day: dt.date) -> None:
        """Count one outbound attempt on a local day (W5)."""
        key = (campaign, customer, day)
        self._set(self._s.attempts, key, self._s.attempts.get(key, 0) + 1)

    def attempts(self, campaign: str, customer: str, day: dt.date) -> int:
        """The attempts counted on that local day (W5)."""
        return self._s.attempts.get((campaign, customer, day), 0)

    def put_opt_out(self, opt_out: OptOut) -> None:
        """Record an opt-out (W3)."""
        key = (opt_out.campaign, opt_out.customer, opt_out.channel.value)
        self._set(self._s.opt_outs, key, opt_out)

    def remove_opt_out(self, campaign: str, customer: str, channel: str) -> None:
        """Remove an opt-out (W3); no-op when there is none."""
        self._delete(self._s.opt_outs, (campaign, customer, str(channel)))

    def get_opt_out(self, campaign: str, customer: str, channel: str) -> OptOut | None:
        """The opt-out of (campaign, customer, channel), or None (W3)."""
        return self._s.opt_outs.get((campaign, customer, str(channel)))

    def opt_outs(self, campaign: str | None = None) -> Sequence[OptOut]:
        """Opt-outs of a campaign, or of all, by (campaign, customer, channel)."""
        return [
            item
            for key, item in sorted(self._s.opt_outs.items(), key=lambda pair: pair[0])
            if campaign is None or key[0] == campaign
        ]

    def forget_customer_policy(self, customer: str) -> None:
        """Remove the windows, attempt counts and opt-outs of an address (I4).

        A scan: anonymization is rare, and the sends ask only keyed lookups.
        """
        s = self._s
        for index in (s.inbound_times, s.attempts, s.opt_outs):
            for key in [k for k in index if k[1] == customer]:
                self._delete(index, key)
