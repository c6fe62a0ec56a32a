"""The SQLite store's ticket repository: tickets, interactions, typifications (T1-T9, I4).

* T2 - get-or-open runs inside the unit of work's write transaction, and the
  partial unique index on open tickets (:mod:`ccdomain.sqlite.schema`) refuses a
  second open ticket of a (campaign, customer) whatever the writer: atomic across
  threads and processes.
* T5 - ticket numbers come from a counter row, taken in the unit of work's
  transaction together with the ticket they number (see
  :mod:`ccdomain.sqlite.connection`): a rolled-back opening leaves no gap.
* T3, T7 - an update keeps the ticket's campaign and customer, and a closed ticket
  never reopens.
* T9 - ``interactions.external_id`` is UNIQUE: a repeated id is a RuleViolation.
* I4 - ``rewrite_ticket`` and ``replace_*`` are the anonymization's one-for-one rewrites.

Batch write path (issue 15, :mod:`ccdomain.sqlite.overlay`): in a nested unit of work
with no savepoint held, tickets opened and changed and interactions added are held in
memory until the outermost commit, the checks SQLite's keys made (T2, T3, T9) made in
memory against the file and what is held; every read here merges what is held.

Speed (the routing hot path): ticket lookups are remembered per connection and
kept up to date by the ticket writes (those of an outermost unit only at its
commit: until then its lookups after its own writes are read again). A ticket
change that keeps its status and contact rewrites the row's text only, touching no
index. Tickets and interactions are written by :mod:`ccdomain.fast_json`.
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, cast

import attrs

from ccdomain.errors import RuleViolation, UnknownTicket
from ccdomain.fast_json import _json
from ccdomain.models import Interaction, Ticket, TicketStatus, Typification
from ccdomain.ports import checked_opening
from ccdomain.rules.tickets import check_replacement
from ccdomain.serialization import to_json
from ccdomain.sqlite.connection import _guarded, _UnitOfWorkBase
from ccdomain.sqlite.overlay import _Overlay, storable

_TICKET_COUNTER = "ticket"
_OPEN = TicketStatus.OPEN.value


def _state(ticket: Ticket) -> str:
    """The ``status`` column of a ticket: ``'open'`` for every open state (P4).

    Pending and snoozed tickets are open tickets of their key (T2): the column (and the
    partial unique index on it) says open, and the row's data holds the precise status.
    """
    return _OPEN if ticket.is_open else ticket.status.value


_MISSING: Any = object()

# Every field of a ticket, for the check of a ticket held in the overlay (E1, E2).
_TICKET_FIELDS = operator.attrgetter(*(field.name for field in attrs.fields(Ticket)))
# The integers SQLite can bind (64 bits, signed).
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def _ticket_storable(ticket: Ticket) -> None:
    """Fail now on text SQLite cannot hold (a lone surrogate) in a ticket about to be held.

    A held ticket is written at the outermost commit: a value refused there would fail
    the whole transaction, every line of the batch with it, not the unit that wrote it.
    The ``UnicodeEncodeError`` is a StoreError through ``_guarded``, as on a direct write.
    """
    for value in _TICKET_FIELDS(ticket):
        kind = type(value)
        if kind is str:
            storable(value)
        elif kind is tuple:
            for item in value:
                if type(item) is str:
                    storable(item)


def _plain(params: tuple[Any, ...]) -> bool:
    """Whether lookup parameters are plain str/int values, fit to key a remembered lookup."""
    for p in params:
        kind = type(p)
        if kind is not str and kind is not int:
            return False
    return True


def _derived(cache: dict[tuple[Any, ...], Any], key: tuple[Any, ...]) -> Any:
    """A ticket lookup answered from the remembered tickets of its customer, or _MISSING.

    (Done in nested units only: an outermost unit's lookups stay one statement each,
    as the store's tests trace them.)
    """
    kind, customer = key[0], key[2] if key[0] == "open" else key[1]
    every = cache.get(("customer", customer), _MISSING)
    if every is _MISSING or kind == "number":
        return _MISSING
    if kind == "open":
        campaign = key[1]
        return next((t for t in every if t.campaign == campaign and t.is_open), None)
    if kind == "open customer":
        return tuple(t for t in every if t.is_open)
    if len(key) == 3:  # ("customer", customer, campaign)
        campaign = key[2]
        return tuple(t for t in every if t.campaign == campaign)
    return _MISSING


def _merged(
    overlay: _Overlay, key: tuple[Any, ...], found: Ticket | Sequence[Ticket] | None, one: bool
) -> Any:
    """A lookup read from the file with the tickets the overlay holds in their place."""
    kind = key[0]
    if kind == "number":
        held_one = overlay.tickets.get(key[1])
        return found if held_one is None else held_one
    held = overlay.by_customer.get(key[2] if kind == "open" else key[1])
    if not held:
        return found
    if kind == "open":
        campaign = key[1]
        picked = [t for t in held.values() if t.campaign == campaign and t.is_open]
    elif kind == "open customer":
        picked = [t for t in held.values() if t.is_open]
    elif len(key) == 3:  # ("customer", customer, campaign)
        campaign = key[2]
        picked = [t for t in held.values() if t.campaign == campaign]
    else:
        picked = list(held.values())
    rows: list[Ticket]
    if one:
        rows = [] if found is None else [cast(Ticket, found)]
    else:
        rows = list(cast(Sequence[Ticket], found))
    merged = [t for t in rows if t.number not in held]
    merged += picked
    merged.sort(key=lambda t: t.number)
    if one:
        return merged[0] if merged else None
    return merged


def _with_held(
    overlay: _Overlay, found: list[Ticket], keep: Callable[[Ticket], bool]
) -> list[Ticket]:
    """Tickets read from the file with those the overlay holds in their place (a scan)."""
    held = overlay.tickets
    if not held:
        return found
    merged = [t for t in found if t.number not in held]
    merged += [t for t in held.values() if keep(t)]
    merged.sort(key=lambda t: t.number)
    return merged


def _by_number(tickets: tuple[Ticket, ...], ticket: Ticket, keep: bool) -> tuple[Ticket, ...]:
    """``tickets`` (by number) with ``ticket`` in its place, or without it unless ``keep``."""
    number = ticket.number
    if tickets and tickets[-1].number == number:  # the customer's latest ticket changed
        return (*tickets[:-1], ticket) if keep else tickets[:-1]
    if keep and (not tickets or tickets[-1].number < number):  # a new one
        return (*tickets, ticket)
    others = [t for t in tickets if t.number != number]
    if keep:
        others.append(ticket)
        others.sort(key=lambda t: t.number)
    return tuple(others)


class SqliteTicketRepository(_UnitOfWorkBase):
    """Tickets, interactions and typifications (a part of
    :class:`~ccdomain.sqlite.SqliteUnitOfWork`, not used alone)."""

    @_guarded
    def get_or_open_ticket(
        self, campaign: str, customer: str, opener: Callable[[int], Ticket]
    ) -> tuple[Ticket, bool]:
        """The open ticket of (campaign, customer), or a new one numbered by the store (T2, T5)."""
        found = self._open_ticket(campaign, customer)
        if found is not None:
            return found, False
        db = self._db()
        current = self._counter(_TICKET_COUNTER)
        held = self._held()
        if (
            held is not None
            and current is not None
            and type(campaign) is str
            and type(customer) is str
        ):
            # T2: the lookup above read the file and what is held; T5: the number is
            # taken from the counters, which a rollback of the unit gives back. (Other
            # keys go the direct way: the columns refuse them there, in this unit.)
            number = current + 1
            ticket = checked_opening(
                opener(number), campaign=campaign, customer=customer, number=number
            )
            _ticket_storable(ticket)
            held.put_ticket(ticket, True)
            self._take(_TICKET_COUNTER, number)
            self._ticket_written(ticket)
            return ticket, True
        # Inside a unit of work the number is taken only once its ticket is stored: a
        # refused opener or a rolled-back unit leaves no gap (T5).
        number = self._next(_TICKET_COUNTER) if current is None else current + 1
        ticket = checked_opening(
            opener(number), campaign=campaign, customer=customer, number=number
        )
        try:
            self._wdb().execute(
                "INSERT INTO tickets (number, campaign, customer, status, contact, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (ticket.number, campaign, customer, _OPEN, ticket.contact, self._dump(ticket)),
            )
        except sqlite3.IntegrityError as exc:
            # Only a writer outside any unit of work can get here (T2 race): take its ticket.
            row = db.execute(
                "SELECT data FROM tickets WHERE campaign = ? AND customer = ? AND status = 'open'",
                (campaign, customer),
            ).fetchone()
            if row is not None:
                return self._load(row[0], Ticket), False
            raise RuleViolation(
                f"ticket number {ticket.number!r} is already used; expected a fresh number"
            ) from exc
        if current is not None:
            self._take(_TICKET_COUNTER, number)
        self._ticket_written(ticket)
        return ticket, True

    @_guarded
    def get_open_ticket(self, campaign: str, customer: str) -> Ticket | None:
        """The open ticket of (campaign, customer), or None."""
        return self._open_ticket(campaign, customer)

    def _open_ticket(self, campaign: str, customer: str) -> Ticket | None:
        return cast(
            Ticket | None,
            self._ticket_lookup(
                ("open", campaign, customer),
                "SELECT data FROM tickets WHERE campaign = ? AND customer = ? AND status = 'open'",
                (campaign, customer),
                one=True,
            ),
        )

    @_guarded
    def get_ticket(self, number: int) -> Ticket | None:
        """The ticket with that number, or None."""
        return self._number_lookup(number)

    def _known(self, number: int, campaign: object, customer: object) -> Ticket | None:
        """Ticket ``number`` as stored, from the remembered open ticket of its key if there."""
        conn = self._conn
        if conn is not None and type(campaign) is str and type(customer) is str:
            found = conn.tickets.get(("open", campaign, customer))
            if found is not None and found.number == number:
                return cast(Ticket, found)
        return self._number_lookup(number)

    def _number_lookup(self, number: int) -> Ticket | None:
        return cast(
            Ticket | None,
            self._ticket_lookup(
                ("number", number),
                "SELECT data FROM tickets WHERE number = ?",
                (number,),
                one=True,
            ),
        )

    def _ticket_lookup(
        self, key: tuple[Any, ...], sql: str, params: tuple[Any, ...], *, one: bool
    ) -> Ticket | list[Ticket] | None:
        """A ticket lookup, remembered by ``key`` while the connection holds the file."""
        self._db()  # begins the transaction when due, so ``conn.active`` is current
        conn = self._conn
        cache = None
        if conn is not None and conn.active and _plain(params):
            cache = conn.tickets
            found = cache.get(key, _MISSING)
            if found is _MISSING and self._nested:
                found = _derived(cache, key)
                if found is not _MISSING:
                    cache[key] = found
            if found is not _MISSING:
                return cast(Ticket | None, found) if one else list(found)
        overlay = conn.overlay if conn is not None and conn.active else None
        if one:
            ticket = self._one(sql, params, Ticket)
            if overlay is not None and overlay.tickets:
                ticket = _merged(overlay, key, ticket, True)
            if cache is not None:
                cache[key] = ticket
            return ticket
        tickets = self._all(sql, params, Ticket)
        if overlay is not None and overlay.tickets:
            tickets = _merged(overlay, key, tickets, False)
        if cache is not None:
            cache[key] = tuple(tickets)
        return tickets

    def _ticket_written(self, ticket: Ticket) -> None:
        """Bring the remembered lookups a written ticket changes up to date.

        A write of a nested unit (a service call in a batch) updates them at once; one
        of an outermost unit hides them until its commit, so that a unit's lookups after
        its own writes are read again (what the store's tests trace).
        """
        conn = self._conn
        if conn is None or not conn.active:
            return
        number, campaign, customer = ticket.number, ticket.campaign, ticket.customer
        shown, after = conn.tickets, conn.tickets_after
        if type(campaign) is not str or type(customer) is not str or type(number) is not int:
            shown.clear()
            after.clear()
            return
        target = shown if self._nested else after
        is_open = ticket.is_open
        key: tuple[Any, ...] = ("open", campaign, customer)
        old = shown.pop(key, _MISSING)
        if old is _MISSING:
            old = after.pop(key, _MISSING)
        if is_open:
            target[key] = ticket  # T2: the only open ticket of its (campaign, customer)
        elif old is not _MISSING and old is not None and old.number == number:
            target[key] = None
        elif old is not _MISSING:
            target[key] = old
        key = ("number", number)
        if shown.pop(key, None) is not None or after.pop(key, None) is not None:
            target[key] = ticket
        for key, keep in (
            (("customer", customer), True),
            (("customer", customer, campaign), True),
            (("open customer", customer), is_open),
        ):
            old = shown.pop(key, _MISSING)
            if old is _MISSING:
                old = after.pop(key, _MISSING)
                if old is _MISSING:
                    continue
            target[key] = _by_number(old, ticket, keep)

    @_guarded
    def update_ticket(self, ticket: Ticket) -> None:
        """Replace the stored ticket with the same number (T3: a closed ticket never reopens)."""
        self._db()
        held = self._held()
        number = ticket.number
        if (
            held is not None
            and type(number) is int
            and type(ticket.campaign) is str
            and type(ticket.customer) is str
        ):
            old = held.tickets.get(number) or self._known(number, ticket.campaign, ticket.customer)
            if old is None:
                raise UnknownTicket(f"no ticket with number {number!r}")
            check_replacement(
                ticket, campaign=old.campaign, customer=old.customer, was_open=old.is_open
            )
            _ticket_storable(ticket)
            held.put_ticket(ticket, number in held.new)
            self._ticket_written(ticket)
            return
        db = self._wdb()
        data = self._dump(ticket)
        key = (ticket.number, ticket.campaign, ticket.customer)
        # Most changes (a message joining) keep the status and the contact: then only the
        # row's text is rewritten and no index is touched. (Same status, so T3 holds.)
        changed = db.execute(
            "UPDATE tickets SET data = ? WHERE number = ? AND campaign = ? AND customer = ? "
            "AND status = ? AND contact IS ?",
            (data, *key, _state(ticket), ticket.contact),
        ).rowcount
        if changed != 1:
            # The reason is looked up only when this refuses.
            changed = db.execute(
                "UPDATE tickets SET status = ?, contact = ?, data = ? "
                "WHERE number = ? AND campaign = ? AND customer = ? AND (status = 'open' OR ?)",
                (_state(ticket), ticket.contact, data, *key, not ticket.is_open),
            ).rowcount
        if changed == 1:
            self._ticket_written(ticket)
            return
        old = db.execute(
            "SELECT campaign, customer FROM tickets WHERE number = ?", (ticket.number,)
        ).fetchone()
        if old is None:
            raise UnknownTicket(f"no ticket with number {ticket.number!r}")
        # The update refused it: its key differs, or it reopens a closed ticket (was_open
        # False: the conditional update above accepts every other replacement).
        check_replacement(ticket, campaign=old[0], customer=old[1], was_open=False)
        raise RuleViolation(f"ticket {ticket.number} could not be replaced")  # not reached

    @_guarded
    def rewrite_ticket(self, ticket: Ticket) -> None:
        """Replace the stored ticket with the same number, its customer included (I4)."""
        db = self._wdb()
        conn = self._conn
        if conn is not None:  # its customer may change: every remembered lookup may be off
            conn.tickets.clear()
            conn.tickets_after.clear()
        old = db.execute(
            "SELECT campaign, status FROM tickets WHERE number = ?", (ticket.number,)
        ).fetchone()
        if old is None:
            raise UnknownTicket(f"no ticket with number {ticket.number!r}")
        check_replacement(ticket, campaign=old[0], customer=None, was_open=old[1] == _OPEN)
        try:
            db.execute(
                "UPDATE tickets SET customer = ?, status = ?, contact = ?, data = ? "
                "WHERE number = ?",
                (
                    ticket.customer,
                    _state(ticket),
                    ticket.contact,
                    self._dump(ticket),
                    ticket.number,
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise RuleViolation(
                f"customer {ticket.customer!r} already has an open ticket in campaign "
                f"{ticket.campaign!r} (T2)"
            ) from exc

    @_guarded
    def list_tickets(self, campaign: str | None = None) -> Sequence[Ticket]:
        """Tickets of a campaign (or all), by number."""
        if campaign is None:
            found = self._all("SELECT data FROM tickets ORDER BY number", (), Ticket)
        else:
            found = self._all(
                "SELECT data FROM tickets WHERE campaign = ? ORDER BY number", (campaign,), Ticket
            )
        conn = self._conn
        if conn is None or not conn.overlay.tickets:
            return found
        return _with_held(conn.overlay, found, lambda t: campaign is None or t.campaign == campaign)

    @_guarded
    def tickets_for_customer(self, customer: str, campaign: str | None = None) -> Sequence[Ticket]:
        """Tickets of a customer address (in one campaign or all), by number."""
        if campaign is None:
            found = self._ticket_lookup(
                ("customer", customer),
                "SELECT data FROM tickets WHERE customer = ? ORDER BY number",
                (customer,),
                one=False,
            )
        else:
            found = self._ticket_lookup(
                ("customer", customer, campaign),
                "SELECT data FROM tickets WHERE customer = ? AND campaign = ? ORDER BY number",
                (customer, campaign),
                one=False,
            )
        return cast(list[Ticket], found)

    @_guarded
    def open_tickets_for_customer(self, customer: str) -> Sequence[Ticket]:
        """Open tickets of a customer address across campaigns, by number."""
        return cast(
            list[Ticket],
            self._ticket_lookup(
                ("open customer", customer),
                "SELECT data FROM tickets WHERE customer = ? AND status = 'open' ORDER BY number",
                (customer,),
                one=False,
            ),
        )

    @_guarded
    def tickets_for_contact(self, campaign: str, code: str) -> Sequence[Ticket]:
        """Tickets linked to that contact, by number."""
        found = self._all(
            "SELECT data FROM tickets WHERE campaign = ? AND contact = ? ORDER BY number",
            (campaign, code),
            Ticket,
        )
        conn = self._conn
        if conn is None or not conn.overlay.tickets:
            return found
        return _with_held(
            conn.overlay, found, lambda t: t.campaign == campaign and t.contact == code
        )

    @_guarded
    def add_interaction(self, interaction: Interaction) -> None:
        """Append a routed interaction to its ticket; RuleViolation on a known external id (T9)."""
        if interaction.ticket is None:
            raise UnknownTicket(
                f"interaction names ticket {interaction.ticket!r}; expected a stored ticket"
            )
        self._db()
        held = self._held()
        number, external_id = interaction.ticket, interaction.external_id
        if (
            held is not None
            and type(number) is int
            and (external_id is None or type(external_id) is str)
        ):
            if (
                number not in held.tickets
                and self._known(number, interaction.campaign, interaction.customer) is None
            ):
                raise UnknownTicket(
                    f"interaction names ticket {number!r}; expected a stored ticket"
                )
            if external_id is not None and (
                external_id in held.ids
                or (external_id not in held.absent_ids and self._stored_id(external_id))
            ):
                raise RuleViolation(
                    f"interaction {external_id!r} is already recorded; expected a new external id"
                )
            text = _json(interaction)
            storable(text)
            held.add_interaction(interaction, text)
            return
        db = self._wdb()
        if external_id is not None and self._conn is not None:
            self._conn.overlay.absent_ids.discard(external_id)
        try:
            db.execute(
                "INSERT INTO interactions (ticket, external_id, data) VALUES (?, ?, ?)",
                (interaction.ticket, interaction.external_id, self._dump(interaction)),
            )
        except sqlite3.IntegrityError as exc:
            known = db.execute(
                "SELECT 1 FROM tickets WHERE number = ?", (interaction.ticket,)
            ).fetchone()
            if known is None:
                raise UnknownTicket(
                    f"interaction names ticket {interaction.ticket!r}; expected a stored ticket"
                ) from exc
            raise RuleViolation(
                f"interaction {interaction.external_id!r} is already recorded; "
                "expected a new external id"
            ) from exc

    @_guarded
    def interactions(self, ticket: int) -> Sequence[Interaction]:
        """Interactions of a ticket, in the order added."""
        found = self._all(
            "SELECT data FROM interactions WHERE ticket = ? ORDER BY seq", (ticket,), Interaction
        )
        conn = self._conn
        if conn is not None and conn.active:
            held = conn.overlay.by_ticket.get(ticket)
            if held:  # added after every written one
                found.extend(held)
        return found

    @_guarded
    def find_interaction(self, external_id: str) -> Interaction | None:
        """The recorded interaction with that external id, or None (T9)."""
        self._db()
        conn = self._conn
        overlay = conn.overlay if conn is not None and conn.active else None
        if overlay is not None:
            held = overlay.ids.get(external_id)
            if held is not None:
                return held
            if external_id in overlay.absent_ids:
                return None
        found = self._one(
            "SELECT data FROM interactions WHERE external_id = ?", (external_id,), Interaction
        )
        if found is None and overlay is not None and type(external_id) is str:
            overlay.absent_ids.add(external_id)
        return found

    def _stored_id(self, external_id: str) -> bool:
        """Whether the file holds an interaction with that external id (T9)."""
        row = (
            self._db()
            .execute("SELECT 1 FROM interactions WHERE external_id = ?", (external_id,))
            .fetchone()
        )
        return row is not None

    @_guarded
    def add_typification(self, typification: Typification) -> None:
        """Record a typification (T8)."""
        self._db()
        held = self._held()
        number = typification.ticket
        if held is not None and type(number) is int and _INT_MIN <= number <= _INT_MAX:
            # (A number past 64 bits goes the direct way, refused there in this unit.)
            text = self._dump(typification)
            storable(text)
            held.add_typification(typification, text)
            return
        self._wdb().execute(
            "INSERT INTO typifications (ticket, data) VALUES (?, ?)",
            (typification.ticket, self._dump(typification)),
        )

    @_guarded
    def typifications(self, ticket: int | None = None) -> Sequence[Typification]:
        """Typifications of a ticket (or all), in the order recorded."""
        if ticket is None:
            found = self._all("SELECT data FROM typifications ORDER BY seq", (), Typification)
        else:
            found = self._all(
                "SELECT data FROM typifications WHERE ticket = ? ORDER BY seq",
                (ticket,),
                Typification,
            )
        conn = self._conn
        if conn is not None and conn.active and conn.overlay.typifications:
            # Recorded after every written one.
            found += [
                t for t, _ in conn.overlay.typifications if ticket is None or t.ticket == ticket
            ]
        return found

    @_guarded
    def replace_interactions(self, ticket: int, interactions: Sequence[Interaction]) -> None:
        """Replace the interactions of a ticket one for one, in place (I4)."""
        new = list(interactions)
        self._settle()
        seqs = self._seqs("interactions", ticket, "interactions", new)
        db = self._wdb()
        if self._conn is not None:  # ids move: what was read absent may not be
            self._conn.overlay.absent_ids.clear()
        # Ids first cleared, so ids moving between rows of the ticket never collide.
        db.execute("UPDATE interactions SET external_id = NULL WHERE ticket = ?", (ticket,))
        for seq, item in zip(seqs, new, strict=True):
            try:
                db.execute(
                    "UPDATE interactions SET external_id = ?, data = ? WHERE seq = ?",
                    (item.external_id, _json(item), seq),
                )
            except sqlite3.IntegrityError as exc:
                raise RuleViolation(
                    f"interaction {item.external_id!r} is already recorded on another ticket; "
                    "expected a new external id"
                ) from exc

    @_guarded
    def replace_typifications(self, ticket: int, typifications: Sequence[Typification]) -> None:
        """Replace the typification records of a ticket one for one, in place (I4)."""
        new = list(typifications)
        self._settle()
        seqs = self._seqs("typifications", ticket, "typifications", new)
        self._wdb().executemany(
            "UPDATE typifications SET data = ? WHERE seq = ?",
            [(to_json(item), seq) for seq, item in zip(seqs, new, strict=True)],
        )
