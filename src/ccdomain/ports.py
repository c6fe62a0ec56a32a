"""Ports: the protocols a host implements to plug its own storage and channels.

A :class:`Store` hands out units of work. Everything a service reads or writes
goes through one :class:`UnitOfWork`, used as a context manager::

    with store.unit_of_work() as uow:
        ...                # reads and writes through uow
        uow.commit()       # without this, leaving the block rolls everything back

Units of work nest: a unit of work opened while another is active in the same
thread is a savepoint inside it. Its ``commit`` keeps its changes as part of the
outer one; leaving it without ``commit`` (or by an exception) undoes only its
own changes. This lets a host batch many service calls in one transaction while
each service call stays all-or-nothing (E2).

Every method raises :class:`ccdomain.errors.CcdomainError` subclasses, never a
driver's exception. Lookups return ``None`` (or an empty sequence) for missing
things; writes that break a uniqueness rule raise the matching ccdomain error.

The in-memory (:mod:`ccdomain.memory`) and SQLite (:mod:`ccdomain.sqlite`)
stores implement these protocols and pass the conformance suite in
:mod:`ccdomain.testing`, which a host runs against its own store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from ccdomain.errors import RuleViolation
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

__all__ = [
    "AssignmentRepository",
    "ChannelPort",
    "CollectionsRepository",
    "CompanyNameIndex",
    "ContactPolicyRepository",
    "ContactRepository",
    "EventLog",
    "EventRecorder",
    "IdentityRepository",
    "InteractionPrefetch",
    "OpeningPrefetch",
    "Purgeable",
    "ServiceLevelReads",
    "Store",
    "TicketRepository",
    "UnitOfWork",
    "checked_opening",
]


class ContactRepository(Protocol):
    """Campaigns, lines, companies and contacts, with the phone index (K1, M3)."""

    def put_campaign(self, campaign: Campaign) -> None:
        """Insert or replace a campaign (by id)."""

    def get_campaign(self, campaign_id: str) -> Campaign | None:
        """The campaign with that id, or None."""

    def list_campaigns(self) -> Sequence[Campaign]:
        """Every campaign, by id."""

    def put_line(self, line: Line) -> None:
        """Insert or replace a line (business identifier) by id."""

    def get_line(self, line_id: str) -> Line | None:
        """The line with that id, or None."""

    def list_lines(self) -> Sequence[Line]:
        """Every line, by id."""

    def put_company(self, company: Company) -> None:
        """Insert or replace a company by id."""

    def get_company(self, company_id: str) -> Company | None:
        """The company with that id, or None."""

    def list_companies(self) -> Sequence[Company]:
        """Every company, by id."""

    def add_contact(self, contact: Contact) -> None:
        """Insert a new contact; raises DuplicateContact if (campaign, code) exists (K1)."""

    def update_contact(self, contact: Contact) -> None:
        """Replace the stored contact with the same (campaign, code), reindexing its phones.

        Raises UnknownContact when there is none.
        """

    def get_contact(self, campaign: str, code: str) -> Contact | None:
        """The stored contact (a tombstone included) with that code, or None."""

    def list_contacts(self, campaign: str | None = None) -> Sequence[Contact]:
        """Contacts (tombstones included) of a campaign, or of all, by (campaign, code)."""

    def contacts_by_phone(self, e164: str) -> Sequence[Contact]:
        """Live contacts (not tombstones) having this exact E.164 phone, any campaign.

        Served from an index: cost does not grow with the number of contacts.
        """

    def contacts_by_national_number(self, national: str) -> Sequence[Contact]:
        """Live contacts with a phone whose national significant number is ``national``."""

    def contacts_by_phone_suffix(self, suffix: str) -> Sequence[Contact]:
        """Live contacts with a phone ending in ``suffix`` (exactly 7 digits)."""

    def next_contact_number(self, campaign: str) -> int:
        """The next number of this campaign's generated codes (K2).

        Taken inside the unit of work: a rollback gives it back, so the next unit
        gets the same number (no gap, T5); a committed number is never returned again.
        """

    def rename_contact(self, campaign: str, code: str, contact: Contact) -> None:
        """Replace the contact (campaign, code) by ``contact``, which may carry a new code.

        For anonymization (I4): the old code is gone afterwards and the phones are
        reindexed. Tickets and products naming the old code are not changed: move
        them with ``rewrite_ticket`` and ``put_product``. Raises UnknownContact when
        there is no such contact, DuplicateContact when the new code is another
        contact's, RuleViolation when ``contact`` is of another campaign.
        """

    def contacts_by_identity(self, kind: str, key: str) -> Sequence[Contact]:
        """Live contacts holding the identity key ``key`` of ``kind``, any campaign (X1, X2).

        The keys of a contact are :func:`ccdomain.rules.matching.identity_keys`: kinds
        ``email``, ``messenger``, ``instagram`` (its channels of that kind), ``document``
        (its document number) and ``name`` (its folded full name). Tombstones and
        anonymized contacts have none. Contacts come in the order they were (re)indexed.
        Served from an index, maintained by ``add_contact``, ``update_contact`` and
        ``rename_contact``: cost does not grow with the number of contacts.
        """


class TicketRepository(Protocol):
    """Tickets with atomic get-or-open (T2) and numbering (T5), interactions, typifications."""

    def get_or_open_ticket(
        self, campaign: str, customer: str, opener: Callable[[int], Ticket]
    ) -> tuple[Ticket, bool]:
        """The open ticket of (campaign, customer), or a new one.

        When none is open, calls ``opener(number)`` with the next ticket number
        (unique across campaigns, increasing: T5) and stores the ticket it returns,
        which must carry that number. The number is taken inside the unit of work,
        with the ticket: a refused opener or a unit that rolls back leaves no gap
        (the next opening gets the same number), and a committed number is never
        given again. Atomic: two concurrent callers never both open (T2).
        Returns the ticket and whether it was opened now.
        """

    def get_open_ticket(self, campaign: str, customer: str) -> Ticket | None:
        """The open ticket of (campaign, customer), or None."""

    def get_ticket(self, number: int) -> Ticket | None:
        """The ticket with that number, or None."""

    def update_ticket(self, ticket: Ticket) -> None:
        """Replace the stored ticket with the same number (UnknownTicket if none)."""

    def list_tickets(self, campaign: str | None = None) -> Sequence[Ticket]:
        """Tickets of a campaign, or of all, by number."""

    def tickets_for_customer(self, customer: str, campaign: str | None = None) -> Sequence[Ticket]:
        """Tickets of a customer address (in one campaign or all), by number."""

    def open_tickets_for_customer(self, customer: str) -> Sequence[Ticket]:
        """Open tickets of a customer address across campaigns, by number."""

    def tickets_for_contact(self, campaign: str, code: str) -> Sequence[Ticket]:
        """Tickets whose contact is that code, by number."""

    def add_interaction(self, interaction: Interaction) -> None:
        """Append a routed interaction (its ``ticket`` set) in O(1).

        Raises RuleViolation when its external id is already recorded (T9).
        """

    def interactions(self, ticket: int) -> Sequence[Interaction]:
        """Interactions of a ticket, in the order they were added."""

    def find_interaction(self, external_id: str) -> Interaction | None:
        """The recorded interaction with that external id, or None (T9)."""

    def add_typification(self, typification: Typification) -> None:
        """Record a typification (T8)."""

    def typifications(self, ticket: int | None = None) -> Sequence[Typification]:
        """Typifications of a ticket, or all, in the order recorded."""

    def rewrite_ticket(self, ticket: Ticket) -> None:
        """Replace the stored ticket with the same number, its customer address included.

        For anonymization (I4) only; every other change goes through ``update_ticket``.
        The campaign cannot change and a closed ticket never reopens (RuleViolation);
        UnknownTicket when there is none.
        """

    def replace_interactions(self, ticket: int, interactions: Sequence[Interaction]) -> None:
        """Replace the interactions of a ticket one for one, in place (I4).

        ``interactions`` has as many items as the ticket holds, in the same order;
        each names the ticket. RuleViolation otherwise, or when an external id is
        another ticket's interaction's (T9).
        """

    def replace_typifications(self, ticket: int, typifications: Sequence[Typification]) -> None:
        """Replace the typification records of a ticket one for one, in place (I4).

        Their place in the order of all records is kept. RuleViolation when the
        count differs or a record names another ticket.
        """


class CollectionsRepository(Protocol):
    """Products, payments and promises (C1-C6)."""

    def put_product(self, product: Product) -> None:
        """Insert or replace a product by id."""

    def get_product(self, product_id: str) -> Product | None:
        """The product with that id, or None."""

    def list_products(self, campaign: str | None = None) -> Sequence[Product]:
        """Products of a campaign, or all, by id."""

    def products_for_contact(self, campaign: str, code: str) -> Sequence[Product]:
        """Products of a contact, by id."""

    def put_payment(self, payment: Payment) -> None:
        """Insert or replace a payment by id."""

    def get_payment(self, payment_id: str) -> Payment | None:
        """The payment with that id, or None."""

    def payments_for_product(self, product_id: str) -> Sequence[Payment]:
        """Payments of a product, by (date, id)."""

    def put_promise(self, promise: Promise) -> None:
        """Insert or replace a promise by id."""

    def get_promise(self, promise_id: str) -> Promise | None:
        """The promise with that id, or None."""

    def promises_for_product(self, product_id: str) -> Sequence[Promise]:
        """Promises of a product, by (made_on, id)."""

    def list_promises(self) -> Sequence[Promise]:
        """Every promise, by id."""


class IdentityRepository(Protocol):
    """Case comments (I2) and blocked identities (I3)."""

    def add_comment(self, comment: Comment) -> Comment:
        """Record a comment, returning it with its ``seq`` set.

        The seq is the next of an increasing counter, taken inside the unit of work
        (a rollback gives it back: T5); a committed seq is never given again, even
        after ``delete_comments``.
        """

    def comments(self, ticket: int) -> Sequence[Comment]:
        """Comments of a ticket, in the order added."""

    def delete_comments(self, ticket: int) -> None:
        """Remove the comments of a ticket (only when the case is cancelled)."""

    def put_block(self, block: Block) -> None:
        """Block an identity in a campaign (replaces an existing block)."""

    def remove_block(self, campaign: str, customer: str) -> None:
        """Unblock an identity (no-op when not blocked)."""

    def get_block(self, campaign: str, customer: str) -> Block | None:
        """The block of an identity in a campaign, or None."""

    def replace_comments(self, ticket: int, comments: Sequence[Comment]) -> None:
        """Replace the comments of a ticket one for one, keeping their ``seq`` (I4).

        Not an edit (I2 forbids those): anonymization only. RuleViolation when the
        count or a ``seq`` differs, or a comment names another ticket.
        """


class EventLog(Protocol):
    """The append-only event log (T11)."""

    def append_event(self, event: Event) -> Event:
        """Record an event, returning it with its ``seq`` set (increasing)."""

    def events(self, after: int = 0) -> Iterator[Event]:
        """Events with seq > ``after``, in order."""

    def replace_event(self, event: Event) -> None:
        """Replace the recorded event with the same ``seq`` (I4 scrubs personal values).

        The log is otherwise append-only; anonymization is the one rewrite.
        RuleViolation when the seq is missing or not recorded, or the kind differs.
        """


class ContactPolicyRepository(Protocol):
    """What the contact policy asks for every outbound interaction, by index (W1-W5).

    Each answer is a keyed lookup: its cost does not grow with a customer's history
    or the number of customers. Routing keeps these up to date in the same unit of
    work as the interaction (a rollback undoes them too).
    """

    def note_inbound(self, line: str, customer: str, at: dt.datetime) -> None:
        """Record the event time of an inbound message on a line (W1, W2).

        ``line`` is ``""`` for an interaction that names no line. Two messages at the
        same instant are one entry.
        """

    def last_inbound(
        self, line: str, customer: str, at: dt.datetime | None = None
    ) -> dt.datetime | None:
        """The customer's latest inbound message on the line at or before ``at`` (any
        time when None), by instant, or None: an index search, whatever the history."""

    def add_attempt(self, campaign: str, customer: str, day: dt.date) -> None:
        """Count one outbound attempt to the customer in the campaign on a local day (W5)."""

    def attempts(self, campaign: str, customer: str, day: dt.date) -> int:
        """The attempts counted for the customer in the campaign on that local day (W5)."""

    def put_opt_out(self, opt_out: OptOut) -> None:
        """Record an opt-out (W3), replacing one of the same (campaign, customer, channel)."""

    def remove_opt_out(self, campaign: str, customer: str, channel: str) -> None:
        """Remove an opt-out (W3 ``opt_in``); no-op when there is none."""

    def get_opt_out(self, campaign: str, customer: str, channel: str) -> OptOut | None:
        """The opt-out of the customer from the channel in the campaign, or None (W3)."""

    def opt_outs(self, campaign: str | None = None) -> Sequence[OptOut]:
        """Opt-outs of a campaign, or of all, by (campaign, customer, channel)."""

    def forget_customer_policy(self, customer: str) -> None:
        """Remove every window, attempt count and opt-out of a customer address (I4).

        Anonymization calls it for each address of the contact: the address is no
        longer held anywhere.
        """


class UnitOfWork(
    ContactRepository,
    TicketRepository,
    CollectionsRepository,
    IdentityRepository,
    EventLog,
    ContactPolicyRepository,
    Protocol,
):
    """A transaction over every repository; rolls back unless committed (E2)."""

    def commit(self) -> None:
        """Keep the changes made in this unit of work."""

    def rollback(self) -> None:
        """Undo the changes made in this unit of work (also done on exit without commit)."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class Store(Protocol):
    """A storage engine: hands out units of work."""

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work (a savepoint when one is already active in this thread)."""

    def close(self) -> None:
        """Release the resources held by the store."""


@runtime_checkable
class Purgeable(Protocol):
    """A store that can physically erase what it no longer holds (I4).

    Deleted and overwritten values can linger in a database's files (free pages,
    journal frames) until they are reused. After anonymizing, the services call
    ``purge`` on a store that has it, so no original value can be read back from
    its files either.
    """

    def purge(self) -> None:
        """Erase freed and superseded data from the storage files (done after the
        current unit of work commits when one is active).

        Raises:
            StoreError: the files could not be purged (e.g. a long reader held them).
        """


@runtime_checkable
class EventRecorder(Protocol):
    """A unit of work that records an event without answering its seq (T11).

    Optional. :meth:`EventLog.append_event` returns the event numbered, so a store
    that numbers events in its database answers it with a round trip to the database
    per event. The services never read that number back: they record their events
    through ``record_event`` when the unit of work has it (else through
    ``append_event``), so such a store can send the event with its next statement.
    The event is numbered as ``append_event`` would number it (increasing, in the
    order the unit of work records events, whichever of the two methods it used) and
    is read back by ``events`` at once. The PostgreSQL store has it; the conformance
    suite checks it when a host's unit of work does.
    """

    def record_event(self, event: Event) -> None:
        """Record an event, as :meth:`EventLog.append_event` does, without returning it."""


@runtime_checkable
class InteractionPrefetch(Protocol):
    """A unit of work told ahead which external id routing will look up (T9).

    Optional. Routing resolves an interaction's target (its line, campaign and, for an
    inbound message, the customer's tickets) and then asks
    :meth:`TicketRepository.find_interaction` for its external id. A store whose
    lookups are round trips to a database can send that lookup with the target's reads
    when told of it first: routing calls ``prefetch_interaction`` before resolving the
    target when the unit of work has it. ``find_interaction`` answers as it would
    without the hint. The PostgreSQL store has it; the conformance suite checks it when
    a host's unit of work does.
    """

    def prefetch_interaction(self, external_id: str) -> None:
        """A hint: ``find_interaction(external_id)`` is asked soon in this unit of work."""


@runtime_checkable
class OpeningPrefetch(Protocol):
    """A unit of work told ahead whose agents routing reads if it opens a ticket (A2, A4).

    Optional. When routing opens a ticket it gives it to an agent next: to ``agent``,
    the agent of an outbound message, when that agent is known (A4), else to an agent
    of the ticket's queue (A2), whose states it reads (locked, in a store that locks).
    A store whose reads are round trips to a database can read those states with the
    key's reads when told first: routing calls ``prefetch_opening`` before resolving
    the target when the unit of work has it. ``queue`` is the queue the message names
    (None: the ticket takes its campaign's or line's, X4, which the store may work out
    itself). ``get_agent_state`` and ``agent_states_for_queue`` answer as they would
    without the hint. The PostgreSQL store has it; the conformance suite checks it when
    a host's unit of work does.
    """

    def prefetch_opening(self, *, agent: str | None, queue: str | None) -> None:
        """A hint: if this unit of work opens a ticket for the key it reads next, it
        asks for ``agent``'s state (when not None) and the states of the ticket's
        queue's agents soon."""


@runtime_checkable
class CompanyNameIndex(Protocol):
    """A unit of work that finds companies by name without listing them all (K16).

    Optional. Naming a company that is not stored yet makes the services look for a
    company with the same name among those with a tax id (whose ids are not derived
    from the name); without this method that is a scan of every company, once per
    new company, which makes loading many companies quadratic. Both stores have it;
    the conformance suite checks it when a host's unit of work does.
    """

    def company_by_name_key(self, key: str) -> Company | None:
        """The company whose name key (:func:`ccdomain.contacts.name_key`: folded,
        whitespace collapsed) is ``key``, the smallest id when several are; or None."""


class ChannelPort(Protocol):
    """The host's channels: they do the sending; ccdomain checks rules and records.

    Each method returns the provider's id for what it sent (used as the
    interaction's external id) or raises; a channel that fails records nothing.
    """

    def send_text(self, line: Line, to: str, text: str) -> str:
        """Send a text message from a line to a customer address."""

    def send_template(
        self, line: Line, to: str, template: str, params: Sequence[str], campaign: str, queue: str
    ) -> str:
        """Send a WhatsApp template (K6: needs campaign and queue)."""

    def place_call(self, line: Line, to: str, agent: str) -> str:
        """Place a call from a line to a customer."""


def checked_opening(ticket: Ticket, *, campaign: str, customer: str, number: int) -> Ticket:
    """What :meth:`TicketRepository.get_or_open_ticket`'s opener returned, if it may be stored.

    Every store runs this check (a host store may too): the opener must return the
    open ticket of (``campaign``, ``customer``) carrying the ``number`` it was given,
    or the store would overwrite another ticket or leave a gap (T2, T5).

    Raises:
        RuleViolation: the ticket is another one, or not open.
    """
    if (
        (ticket.campaign, ticket.customer) != (campaign, customer)
        or not ticket.is_open
        or ticket.number != number
    ):
        raise RuleViolation(
            f"the opener returned ticket {ticket.number} for "
            f"({ticket.campaign!r}, {ticket.customer!r}); expected open ticket {number} for "
            f"({campaign!r}, {customer!r})"
        )
    return ticket


@runtime_checkable
class ServiceLevelReads(Protocol):
    """Bulk reads for the service-level listing (H5): one pass each. Optional.

    The ``ccdomain tickets`` listing computes every ticket's first response and
    service level from its interactions. A unit of work with these methods (the
    shipped stores' have them) is read in one pass; without them, the listing
    reads ``interactions(ticket)`` ticket by ticket and the whole event log.
    """

    def latest_event_time(self) -> dt.datetime | None:
        """The latest ``at`` of the recorded events (by instant), or None without events."""

    def interactions_by_ticket(
        self, campaign: str | None = None
    ) -> Iterator[tuple[int, Sequence[Interaction]]]:
        """Every ticket's interactions (of one campaign, or all), by ticket number.

        Each ticket with at least one interaction once, its interactions in the
        order added (as ``interactions(ticket)`` gives them).
        """


@runtime_checkable
class AssignmentRepository(Protocol):
    """A unit of work that assigns tickets to agents (A1-A6): agents and waiting lines.

    Optional, like :class:`CompanyNameIndex`: a host's unit of work without it routes
    as before and assigns nothing automatically. Both shipped stores have it; the
    conformance suite checks it when a host's unit of work does.

    The store keeps what one assignment reads, so that it is a few lookups and never a
    scan: each agent's state (presence, open tickets per family, last assignment), the
    agents of each queue, and each queue's waiting line per channel family in serving
    order (VIP first, then opening time, then number: A3). Writes go through the unit
    of work like every other (E2); two units of work never interleave on one agent or
    one waiting ticket (the SQLite store's write lock, the memory store's lock).
    """

    def put_agent_state(self, state: AgentState) -> None:
        """Insert or replace an agent's state (by agent id), its queues reindexed."""

    def get_agent_state(self, agent_id: str) -> AgentState | None:
        """The state of the agent with that id, or None."""

    def list_agent_states(self) -> Sequence[AgentState]:
        """Every agent's state, by agent id."""

    def agent_states_for_queue(self, queue: str) -> Sequence[AgentState]:
        """The states of the agents serving ``queue``, by agent id (an index, not a scan)."""

    def add_waiting(self, ticket: WaitingTicket) -> None:
        """Put a ticket in its queue's waiting line; RuleViolation if it already waits."""

    def take_waiting(self, number: int) -> WaitingTicket | None:
        """Take ticket ``number`` out of its waiting line, returning it; None if not waiting.

        Two units of work never both take the same ticket: the second sees None.
        """

    def first_waiting(self, queue: str, family: Family) -> WaitingTicket | None:
        """The first ticket of ``queue``'s waiting line of ``family`` (A3 order), or None."""

    def list_waiting(self, queue: str | None = None) -> Sequence[WaitingTicket]:
        """The waiting tickets of a queue (or all), in serving order (queue by queue)."""
