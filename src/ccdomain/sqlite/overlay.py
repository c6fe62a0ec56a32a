"""The SQLite store's batch write path: a transaction's hot writes kept in memory (E2, T2, T5, T9).

Issue 15. Inside a batch (a unit of work nested in another: a replay line, a service
called in a larger unit), the writes of routing - tickets opened and changed,
interactions, inbound message times - are not sent to SQLite one statement at a
time: they are kept here, the store's reads answer from them first, and they are
written when the outermost unit commits, each changed ticket once, each table with
one ``executemany``.

* E2 - a nested unit that fails part-way is undone by an undo log in memory (each
  change here records what it replaced), not by a SAVEPOINT per line. A SAVEPOINT
  is still taken before a write this batch path does not hold (another table): the
  :class:`~ccdomain.sqlite.connection._Connection` first writes what is held here,
  the part of the units still open after a savepoint of their own, then goes on
  writing directly (see ``_Connection.spill``).
* T2, T3, T9 - the checks SQLite's keys made are made here against what the store
  holds (file and memory): one open ticket per (campaign, customer), a closed ticket
  never reopens, an external id once. The write lock of the transaction keeps every
  other writer out until the commit, so the answers stay true.
* E1, E2 - a value SQLite could not store (a lone surrogate, an integer past 64 bits,
  a key that is not text) is refused before it is held (or sent the direct way), in
  the unit that wrote it: at the commit it would fail every line of the batch.
* T5 - ticket numbers are taken from the in-memory counters as before; a unit undone
  gives them back (its counters as they were when it began).
* Crash safety - nothing of a batch reaches the file before its commit: a killed
  process leaves whole batches.

The undo log holds tuples: ``("t", number, old, was_new, new, is_new)`` for a ticket,
``("i", interaction, text)`` for an interaction, ``("y", typification, text)`` for a
typification, ``("n", key, at)`` for an inbound
message time. Redo (after a spill) applies them again in order.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ccdomain.models import Interaction, Ticket, TicketStatus, Typification

_OPEN = TicketStatus.OPEN.value


def storable(text: str) -> None:
    """Fail now, with ``UnicodeEncodeError`` (a StoreError through the store's guard), on
    text SQLite cannot hold (a lone surrogate), before it is held: at the commit it would
    fail every line of the batch, not the unit that wrote it (E1, E2)."""
    if not text.isascii():
        text.encode()


class _Overlay:
    """Changes of the current transaction held in memory until they are written."""

    __slots__ = (
        "absent_ids",
        "by_customer",
        "by_ticket",
        "ids",
        "inbound",
        "inbound_keys",
        "interactions",
        "new",
        "tickets",
        "typifications",
        "undo",
    )

    def __init__(self) -> None:
        # Changed tickets by number, the latest version; ``new`` are not in the file yet.
        self.tickets: dict[int, Ticket] = {}
        self.new: set[int] = set()
        # The same tickets by customer (number -> ticket): lookups by customer merge them.
        self.by_customer: dict[str, dict[int, Ticket]] = {}
        # Interactions in the order added, with their JSON; by external id and by ticket.
        self.interactions: list[tuple[Interaction, str]] = []
        self.ids: dict[str, Interaction] = {}
        self.by_ticket: dict[int, list[Interaction]] = {}
        # Typifications in the order recorded, with their JSON.
        self.typifications: list[tuple[Typification, str]] = []
        # Inbound message times (W1) by (line, customer, ts) -> at text; and their ts by
        # (line, customer).
        self.inbound: dict[tuple[str, str, int], str] = {}
        self.inbound_keys: dict[tuple[str, str], list[int]] = {}
        # External ids read as absent from the file in this transaction (T9): the check
        # before an insert needs no second statement. Only this batch path adds ids.
        self.absent_ids: set[str] = set()
        self.undo: list[tuple[Any, ...]] = []

    def __bool__(self) -> bool:
        return bool(self.tickets or self.interactions or self.inbound or self.typifications)

    # -- changes (each logged for undo) ----------------------------------------------------

    def put_ticket(self, ticket: Ticket, is_new: bool) -> None:
        number = ticket.number
        old = self.tickets.get(number)
        self.undo.append(("t", number, old, number in self.new, ticket, is_new))
        self._set_ticket(number, ticket, is_new)

    def _set_ticket(self, number: int, ticket: Ticket | None, is_new: bool) -> None:
        if ticket is None:
            gone = self.tickets.pop(number, None)
            if gone is not None:
                self.by_customer[gone.customer].pop(number, None)
            self.new.discard(number)
            return
        self.tickets[number] = ticket
        self.by_customer.setdefault(ticket.customer, {})[number] = ticket
        if is_new:
            self.new.add(number)
        else:
            self.new.discard(number)

    def add_interaction(self, interaction: Interaction, text: str) -> None:
        self.undo.append(("i", interaction, text))
        self._push_interaction(interaction, text)

    def _push_interaction(self, interaction: Interaction, text: str) -> None:
        self.interactions.append((interaction, text))
        if interaction.external_id is not None:
            self.ids[interaction.external_id] = interaction
            self.absent_ids.discard(interaction.external_id)
        number: int = interaction.ticket  # type: ignore[assignment]  # checked by the caller
        self.by_ticket.setdefault(number, []).append(interaction)

    def _pop_interaction(self) -> None:
        interaction, _ = self.interactions.pop()
        if interaction.external_id is not None:
            del self.ids[interaction.external_id]
        number: int = interaction.ticket  # type: ignore[assignment]
        held = self.by_ticket[number]
        held.pop()
        if not held:
            del self.by_ticket[number]

    def add_typification(self, typification: Typification, text: str) -> None:
        self.undo.append(("y", typification, text))
        self.typifications.append((typification, text))

    def add_inbound(self, line: str, customer: str, ts: int, at: str) -> None:
        key = (line, customer, ts)
        if key in self.inbound:  # INSERT OR IGNORE: the first time of an instant stays
            return
        self.undo.append(("n", key, at))
        self._push_inbound(key, at)

    def _push_inbound(self, key: tuple[str, str, int], at: str) -> None:
        self.inbound[key] = at
        self.inbound_keys.setdefault((key[0], key[1]), []).append(key[2])

    def _pop_inbound(self, key: tuple[str, str, int]) -> None:
        del self.inbound[key]
        times = self.inbound_keys[key[0], key[1]]
        times.remove(key[2])
        if not times:
            del self.inbound_keys[key[0], key[1]]

    # -- undo and redo ---------------------------------------------------------------------

    def undo_to(self, mark: int) -> bool:
        """Undo the changes logged from ``mark`` on; whether there were any."""
        log = self.undo
        if len(log) <= mark:
            return False
        for entry in reversed(log[mark:]):
            kind = entry[0]
            if kind == "t":
                _, number, old, was_new, _, _ = entry
                self._set_ticket(number, old, was_new)
            elif kind == "i":
                self._pop_interaction()
            elif kind == "y":
                self.typifications.pop()
            else:
                self._pop_inbound(entry[1])
        del log[mark:]
        return True

    def redo(self, entries: list[tuple[Any, ...]], written: set[int]) -> None:
        """Apply logged changes again, in order (not logged again).

        ``written``: tickets inserted into the file since the changes were made, which a
        change now updates there.
        """
        for entry in entries:
            kind = entry[0]
            if kind == "t":
                _, number, _, _, new, is_new = entry
                self._set_ticket(number, new, is_new and number not in written)
            elif kind == "i":
                self._push_interaction(entry[1], entry[2])
            elif kind == "y":
                self.typifications.append((entry[1], entry[2]))
            else:
                self._push_inbound(entry[1], entry[2])

    # -- reads -----------------------------------------------------------------------------

    def last_inbound(self, line: str, customer: str, bound: int) -> tuple[int, str] | None:
        """The latest inbound time held here of (line, customer) at or before ``bound``."""
        times = self.inbound_keys.get((line, customer))
        if not times:
            return None
        best = max((ts for ts in times if ts <= bound), default=None)
        return None if best is None else (best, self.inbound[line, customer, best])

    # -- writing ---------------------------------------------------------------------------

    def write(self, db: sqlite3.Connection, dump: Any) -> set[int]:
        """Write what is held (``dump`` gives a ticket's JSON) and forget it.

        Returns the numbers of the tickets inserted.
        """
        tickets, new = self.tickets, self.new
        inserted = set(new)
        if tickets:
            # Changes first: they may close a ticket whose key a new one then opens (T2).
            changed = [
                (_OPEN if t.is_open else t.status.value, t.contact, dump(t), n)
                for n, t in tickets.items()
                if n not in new
            ]
            if changed:
                db.executemany(
                    "UPDATE tickets SET status = ?, contact = ?, data = ? WHERE number = ?",
                    changed,
                )
            opened = [
                (
                    n,
                    t.campaign,
                    t.customer,
                    _OPEN if t.is_open else t.status.value,
                    t.contact,
                    dump(t),
                )
                for n, t in tickets.items()
                if n in new
            ]
            if opened:
                opened.sort()
                db.executemany(
                    "INSERT INTO tickets (number, campaign, customer, status, contact, data) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    opened,
                )
        if self.interactions:
            db.executemany(
                "INSERT INTO interactions (ticket, external_id, data) VALUES (?, ?, ?)",
                [(i.ticket, i.external_id, text) for i, text in self.interactions],
            )
        if self.typifications:
            db.executemany(
                "INSERT INTO typifications (ticket, data) VALUES (?, ?)",
                [(t.ticket, text) for t, text in self.typifications],
            )
        if self.inbound:
            db.executemany(
                "INSERT OR IGNORE INTO inbound_messages (line, customer, ts, at) "
                "VALUES (?, ?, ?, ?)",
                [(line, customer, ts, at) for (line, customer, ts), at in self.inbound.items()],
            )
        self.clear_rows()
        return inserted

    def clear_rows(self) -> None:
        """Forget the held rows (written, or rolled back with the transaction)."""
        self.tickets.clear()
        self.new.clear()
        self.by_customer.clear()
        self.interactions.clear()
        self.typifications.clear()
        self.ids.clear()
        self.by_ticket.clear()
        self.inbound.clear()
        self.inbound_keys.clear()

    def clear(self) -> None:
        """Forget everything (the transaction ended)."""
        self.clear_rows()
        self.undo.clear()
        self.absent_ids.clear()
