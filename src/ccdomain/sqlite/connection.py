"""Connections and transactions of the SQLite store: units of work, savepoints, remembered reads.

How the store keeps its transaction rules:

* E2 - a unit of work is a transaction: the outermost one runs ``BEGIN
  IMMEDIATE`` (it takes the database's write lock at once, so units of work of
  other threads and processes wait for it), a nested one is a ``SAVEPOINT``,
  taken before its first write (a unit that only reads costs no statement; units
  nested in one another with no write in between share one). Leaving without
  ``commit()`` rolls back only what that unit of work did.
* T5 - numbers (tickets, comments, generated contact codes) come from counter
  rows, read and taken inside the unit of work's transaction: a unit that rolls
  back (an exception, ``KeyboardInterrupt``, a killed process) gives its numbers
  back, so the next unit takes the same ones and a resumed replay numbers as a
  clean one would. No number goes to two records: one rolled back was never
  stored, and the write lock keeps every other writer out until the commit. A
  counter row is read once per transaction; the values taken are counted in
  memory, undone with the savepoint they were taken under, and written at commit.
* E1 - no ``sqlite3`` exception escapes (:func:`_guarded`): unique keys become the
  ccdomain error the in-memory store raises (``DuplicateContact``,
  ``RuleViolation``, in each port's part), a failure of the storage itself
  (read-only, full, I/O, locked, damaged) a ``StoreUnavailable`` naming the
  operation and the file, every other database failure a ``StoreError``.

Each thread uses its own connection (:class:`_Connection`), opened on first use.

Speed (the routing hot path): each connection remembers what it read by key
(campaigns, lines, blocks, products..., phone lookups, ticket lookups) and the
next event number, across transactions as long as ``PRAGMA data_version`` says no
other connection committed in between; a rollback forgets it all. Appended events
are written together at the commit (a unit's own reads see them; a rolled-back
savepoint drops those appended since). Models made of immutable values are decoded
once per distinct row text and handed out again.

:class:`_UnitOfWorkBase` is the transaction part of
:class:`ccdomain.sqlite.SqliteUnitOfWork`; each port's part subclasses it.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, ParamSpec, Protocol, Self, TypeVar, cast

from ccdomain.errors import RuleViolation, StoreError, StoreUnavailable
from ccdomain.fast_json import _json
from ccdomain.models import (
    AgentState,
    Block,
    Campaign,
    Company,
    Contact,
    Line,
    Payment,
    Product,
    Promise,
    Ticket,
    WaitingTicket,
)
from ccdomain.serialization import from_json
from ccdomain.sqlite.overlay import _Overlay

_P = ParamSpec("_P")
_R = TypeVar("_R")

_EVENTS_PAGE = 1000


# Models made of immutable values only, read again and again: one decoded from a
# row is handed out again for the same row text, as the in-memory store hands out
# what it holds. (Contact and Event hold a dict, so each read decodes its own copy;
# interactions and the like are rarely read twice, so they would only crowd it.)
_SHAREABLE: frozenset[type] = frozenset(
    {Campaign, Line, Company, Ticket, Block, Product, Payment, Promise, AgentState, WaitingTicket}
)
# Memory bounds (issue 15: a replay's peak RSS must not grow with the file). Each
# bound is a count of entries; past it, the whole table is dropped and refilled from
# the file, which costs reads, never correctness. Sizes measured on bench/make_events.py
# files: a decoded ticket with its ~600-byte row text as key is about 1.5 KB, a
# remembered ticket lookup about 1 KB, a phone lookup about 0.2 KB.
# - decoded models, by row text, shared by every connection of the store: ~30 MB full;
_DECODED_LIMIT = 20_000
# - remembered reads per connection (by key, phone lookups, ticket lookups), each, kept
#   across transactions and dropped at the commit that finds them past the bound:
#   ~65 MB for the ticket lookups, the largest, when full.
_READS_LIMIT = 65_536


# What a failure of the storage itself (StoreUnavailable) says about the database, by
# SQLite's primary result code; other codes of those classes say "cannot be used".
_UNAVAILABLE: dict[int, str] = {
    sqlite3.SQLITE_READONLY: "cannot be written",
    sqlite3.SQLITE_BUSY: "is locked by another connection",
    sqlite3.SQLITE_LOCKED: "is locked by another connection",
    sqlite3.SQLITE_FULL: "is full, or its disk is",
    sqlite3.SQLITE_IOERR: "could not be read or written (disk I/O)",
    sqlite3.SQLITE_CORRUPT: "is damaged",
    sqlite3.SQLITE_NOTADB: "is not a SQLite database",
    sqlite3.SQLITE_CANTOPEN: "cannot be opened",
    sqlite3.SQLITE_PERM: "cannot be written (permission denied)",
}


def _failure(
    operation: str, exc: sqlite3.Error, path: str | None = None
) -> StoreError | RuleViolation:
    """The ccdomain error for a database failure during ``operation`` on the file ``path``.

    A failure of the storage itself (read-only, full, I/O, locked, damaged, closed: the
    classes SQLite raises for them) is a :class:`StoreUnavailable`, whatever the values;
    a refused unique key a :class:`RuleViolation`; anything else (a value SQLite cannot
    bind or hold) a plain :class:`StoreError`.
    """
    if isinstance(exc, sqlite3.IntegrityError):
        return RuleViolation(f"{operation} was refused by the database: {exc}")
    database = "the database" if path is None else f"database {path!r}"
    # Without an operation, the store is being opened.
    head = f"{operation} failed: {database}" if operation else f"cannot use {database}: it"
    if (
        isinstance(exc, sqlite3.OperationalError | sqlite3.InternalError)
        or type(exc) is sqlite3.DatabaseError
    ):
        code = getattr(exc, "sqlite_errorcode", sqlite3.SQLITE_ERROR) & 0xFF
        return StoreUnavailable(f"{head} {_UNAVAILABLE.get(code, 'cannot be used')} ({exc})")
    if isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc):
        return StoreUnavailable(f"{head} is closed ({exc})")
    return StoreError(f"{operation or 'opening'} failed: {database}: {type(exc).__name__}: {exc}")


def _guarded(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Translate any ``sqlite3`` exception raised by ``method`` into a ccdomain error (E1).

    A value SQLite cannot take (text with a lone surrogate, an integer past 64 bits)
    is a :class:`StoreError` too: the services' input checks refuse such values
    first, so only a direct caller of the store meets it.
    """
    operation = method.__name__

    @functools.wraps(method)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as exc:
            unit = args[0] if args else None
            error = _failure(operation, exc, getattr(getattr(unit, "_store", None), "path", None))
            conn = getattr(unit, "_conn", None)
            if isinstance(conn, _Connection):
                conn.note_failure(error)
            raise error from exc
        except (UnicodeEncodeError, OverflowError) as exc:
            raise StoreError(
                f"{operation} failed: a value SQLite cannot hold: {exc}; expected text "
                "without lone surrogates and integers of at most 64 bits"
            ) from exc

    return guarded


class _Connection:
    """One thread's connection and the state of its transaction."""

    __slots__ = (
        "active",
        "blocks_empty",
        "counters",
        "db",
        "decoded",
        "generation",
        "lost",
        "new_events",
        "next_event",
        "overlay",
        "phones",
        "reads",
        "stack",
        "tickets",
        "tickets_after",
        "unmarked",
        "version",
    )

    def __init__(
        self, db: sqlite3.Connection, decoded: dict[tuple[type, str], Any] | None = None
    ) -> None:
        self.db = db
        # The store's decoded models by row text (see ``_UnitOfWorkBase._load``).
        self.decoded: dict[tuple[type, str], Any] = {} if decoded is None else decoded
        # Units of work entered in this thread, outermost first.
        self.stack: list[_UnitOfWorkBase] = []
        # Units of work from this index of ``stack`` on have no savepoint yet: one is
        # taken only before their first write (see ``mark``).
        self.unmarked = 0
        # True while this connection holds a transaction begun by a unit of work.
        self.active = False
        # Set when SQLite rolled the whole transaction back after a failure of the
        # storage (a full disk, an I/O error): every later operation of the units of
        # work in it fails with this message, instead of going on outside any
        # transaction, until the outermost unit of work ends.
        self.lost: str | None = None
        # Counter values in the current transaction, by counter name: read from its row
        # once, then counted here, and written to the rows at commit (T5). Nobody else
        # can change a row while this transaction holds the write lock.
        self.counters: dict[str, int] = {}
        # Increases at each end of transaction, so a savepoint knows it is gone.
        self.generation = 0
        # What this connection read (and wrote) stays true while nobody else changes
        # the file: inside a transaction it holds the write lock, and between two of
        # them ``PRAGMA data_version`` tells whether another connection committed. So
        # the next event seq, campaigns, lines, blocks... by key and phone lookups are
        # remembered across transactions and forgotten on a rollback or a foreign commit.
        self.version: int | None = None
        self.next_event: int | None = None
        # Events appended in this transaction and not written yet, as (seq, JSON): they
        # are written together, at the commit or once no savepoint is open (a savepoint
        # rolled back drops those appended since it was taken).
        self.new_events: list[tuple[int, str]] = []
        self.reads: dict[tuple[str, ...], Any] = {}
        self.phones: dict[tuple[int | str, str], tuple[Contact, ...]] = {}
        # Whether the blocks table is empty (None: not known).
        self.blocks_empty: bool | None = None
        # Ticket lookups by key (see ``SqliteTicketRepository._ticket_lookup``), kept up to
        # date by the writes; a write of an outermost unit hides the lookups it changes
        # until the commit (``tickets_after``), see ``_ticket_written``.
        self.tickets: dict[tuple[Any, ...], Any] = {}
        self.tickets_after: dict[tuple[Any, ...], Any] = {}
        # The batch write path (ccdomain.sqlite.overlay): writes of nested units held in
        # memory until the commit, while no unit of the transaction holds a savepoint.
        self.overlay = _Overlay()

    def begin(self) -> None:
        """Start the write transaction (a rollback undoes all of it, counters included)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        self.active = True
        ((version,),) = db.execute("PRAGMA data_version").fetchall()
        if version != self.version:
            self.forget()
            self.version = version

    def mark(self) -> None:
        """Take the savepoint of the units of work that had not written yet (before a write).

        Units without a savepoint are the top of the stack and have seen no write since
        they began, so one savepoint marks the start of all of them; the lowest of them
        owns it (releases it) and the others roll back to it.
        """
        if self.overlay:  # held writes go first, each open unit's after its savepoint
            self.spill()
            return
        stack = self.stack
        start = self.unmarked
        self.unmarked = len(stack)
        name = None
        for depth in range(start, len(stack)):
            unit = stack[depth]
            if unit._nested and unit._generation == self.generation:
                if name is None:  # named after its owner's depth: unique among open ones
                    name = f"uow_{depth}"
                    self.db.execute(f"SAVEPOINT {name}")
                    unit._owner = True
                unit._savepoint = name

    def spill(self) -> None:
        """Write what the overlay holds, then go on with a savepoint per open unit (E2).

        Before a write the overlay does not hold (or a read it cannot answer): its rows
        from before the open nested units are written first, then, for each open unit,
        a savepoint and the rows that unit added. A unit that fails afterwards rolls
        back to its savepoint as without the overlay. The open units write directly
        from here on (``overlay_on`` is false while a savepoint is held).
        """
        overlay = self.overlay
        if not overlay:
            return
        entries = list(overlay.undo)
        overlay.undo_to(0)
        db = self.db
        written = overlay.write(db, self.dump)
        generation = self.generation
        stack = self.stack
        units = [
            (depth, unit)
            for depth, unit in enumerate(stack)
            if unit._nested and unit._generation == generation
        ]
        name: str | None = None
        previous = -1
        for index, (depth, unit) in enumerate(units):
            mark = unit._undo_mark
            if unit._savepoint is not None:
                name = unit._savepoint
            else:
                # Units with no change between their starts share one savepoint.
                if name is None or mark != previous:
                    name = f"uow_{depth}"
                    db.execute(f"SAVEPOINT {name}")
                    unit._owner = True
                unit._savepoint = name
            previous = mark
            end = units[index + 1][1]._undo_mark if index + 1 < len(units) else len(entries)
            if end > mark:
                overlay.redo(entries[mark:end], written)
                written |= overlay.write(db, self.dump)
        for _, unit in units:
            unit._undo_mark = 0
        self.unmarked = len(stack)

    def overlay_on(self) -> bool:
        """Whether a nested unit's write may be held in the overlay (no savepoint held)."""
        return self.unmarked <= 1 and self.active and self.lost is None

    def dump(self, obj: Any) -> str:
        """The JSON of a model about to be written, remembered for the next read of it."""
        text = _json(obj)
        if type(obj) in _SHAREABLE:
            decoded = self.decoded
            if len(decoded) >= _DECODED_LIMIT:
                decoded.clear()
            decoded[type(obj), text] = obj
        return text

    def savepoint_open(self) -> bool:
        """Whether a unit of work of this transaction holds a savepoint."""
        generation = self.generation
        return any(u._savepoint is not None and u._generation == generation for u in self.stack)

    def write_events(self) -> None:
        """Write the events appended and not written yet.

        Under an open savepoint, events appended before it are now written after it:
        its unit keeps a copy, to append them again should it roll back.
        """
        rows = self.new_events
        if not rows:
            return
        generation = self.generation
        for unit in self.stack:
            if unit._savepoint is not None and unit._generation == generation:
                unit._events_before.extend(rows[: unit._events_mark])
                unit._events_mark = 0
        self.db.executemany("INSERT INTO events (seq, data) VALUES (?, ?)", rows)
        self.new_events = []

    def commit(self) -> None:
        """Make the transaction's changes durable."""
        if self.overlay:
            self.overlay.write(self.db, self.dump)
        self.write_events()
        if self.counters:
            self.db.executemany(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                list(self.counters.items()),
            )
        self.db.execute("COMMIT")
        self._ended(keep=True)

    def rollback(self) -> None:
        """Undo the transaction, the numbers it took included (T5)."""
        self.new_events.clear()
        self.overlay.clear()
        self.db.execute("ROLLBACK")
        self._ended(keep=False)

    def note_failure(self, error: Exception) -> None:
        """After a statement failed with ``error``: mark the transaction lost if it is gone."""
        try:
            gone = self.active and not self.db.in_transaction
        except sqlite3.Error:  # the connection was closed
            gone = self.active
        if gone and self.lost is None:
            self.lost = (
                f"{error}; the database rolled back the whole transaction: nothing of it was kept"
            )

    def reset(self) -> None:
        """Leave no transaction behind after a failure (best effort)."""
        self.new_events.clear()
        self.overlay.clear()
        try:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        self._ended(keep=False)

    def forget(self) -> None:
        """Drop what this connection remembers of its reads (after a rollback)."""
        self.next_event = self.new_events[-1][0] + 1 if self.new_events else None
        self.reads.clear()
        self.phones.clear()
        self.blocks_empty = None
        self.tickets.clear()
        self.tickets_after.clear()

    def _ended(self, *, keep: bool) -> None:
        self.active = False
        self.lost = None
        self.counters.clear()
        self.overlay.clear()
        if keep:
            # What a committed transaction read and wrote is what the file holds.
            if len(self.reads) > _READS_LIMIT:
                self.reads.clear()
            if len(self.phones) > _READS_LIMIT:
                self.phones.clear()
            self.tickets.update(self.tickets_after)
            self.tickets_after.clear()
            if len(self.tickets) > _READS_LIMIT:
                self.tickets.clear()
        else:
            self.forget()
            self.version = None
        self.generation += 1


class _StoreHandle(Protocol):
    """What a unit of work needs of its store (:class:`~ccdomain.sqlite.SqliteStore`)."""

    _decoded: dict[tuple[type, str], Any]
    _purge_pending: bool

    @property
    def path(self) -> str: ...

    @property
    def schema_version(self) -> int: ...

    def _connection(self) -> _Connection: ...

    def _run_purge(self, conn: _Connection) -> None: ...


class _UnitOfWorkBase:
    """The transaction of a :class:`~ccdomain.sqlite.SqliteUnitOfWork` and the row helpers
    its parts share (each port's part subclasses it).

    Used outside a ``with`` block, each call is its own transaction.
    """

    def __init__(self, store: _StoreHandle) -> None:
        self._store = store
        self._decoded = store._decoded
        self._conn: _Connection | None = None
        # A nested unit is a savepoint of the outer one, taken before its first write
        # (``_Connection.mark``): a unit that only reads costs no statement.
        self._nested = False
        self._savepoint: str | None = None
        self._owner = False
        self._events_mark = 0
        self._events_before: list[tuple[int, str]] = []
        # The transaction's counters when this unit began (T5: a rollback gives back the
        # numbers it took) and the length of the overlay's undo log then (E2).
        self._counters_mark: dict[str, int] = {}
        self._undo_mark = 0
        self._generation = 0
        self._committed = False

    # -- transaction -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        conn = self._store._connection()
        try:
            if conn.stack:
                if not conn.active:
                    conn.begin()
                self._nested = True
            else:
                if conn.db.in_transaction:  # left over by a failure: start clean
                    conn.reset()
                self._nested = False
                conn.begin()
        except sqlite3.Error as exc:
            if not conn.stack:
                conn.reset()
            raise _failure("unit_of_work", exc, self._store.path) from exc
        self._savepoint = None
        self._owner = False
        self._events_before = []
        self._generation = conn.generation
        self._committed = False
        if self._nested:
            # What a rollback of this unit undoes without a savepoint: the events it
            # appends, the overlay's changes it makes, the numbers it takes.
            self._events_mark = len(conn.new_events)
            self._undo_mark = len(conn.overlay.undo)
            self._counters_mark = dict(conn.counters) if conn.counters else {}
        else:
            self._events_mark = 0
            self._undo_mark = 0
            conn.unmarked = 0
        conn.stack.append(self)
        self._conn = conn
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            if conn.lost is not None:  # nothing to commit or roll back: end what is left
                if not self._nested:
                    conn.reset()
            elif not self._nested:
                if conn.active:
                    if self._committed:
                        conn.commit()
                    else:
                        conn.rollback()
            elif conn.generation == self._generation:
                if not self._committed:
                    self._rollback_savepoint(conn)
                if self._owner:
                    conn.db.execute(f"RELEASE {self._savepoint}")
        except sqlite3.Error as error:
            if not self._nested:
                conn.reset()
            if exc is None:
                raise _failure(
                    "commit" if self._committed else "rollback", error, self._store.path
                ) from error
        finally:
            if conn.stack and conn.stack[-1] is self:
                conn.stack.pop()
            elif self in conn.stack:
                conn.stack.remove(self)
            conn.unmarked = min(conn.unmarked, len(conn.stack))
            self._conn = None
            if len(conn.stack) == 1:  # a line of a batch ended: its changes are the batch's
                conn.overlay.undo.clear()
        # Events are written in pages between lines only: an open unit may still undo its
        # own from memory.
        if (
            len(conn.new_events) >= _EVENTS_PAGE
            and conn.active
            and conn.lost is None
            and exc is None
            and len(conn.stack) <= 1
            and not conn.savepoint_open()
        ):
            try:
                conn.write_events()
            except sqlite3.Error as error:
                raise _failure("append_event", error, self._store.path) from error
        if not self._nested and self._committed and exc is None and self._store._purge_pending:
            self._store._run_purge(conn)

    def _rollback_savepoint(self, conn: _Connection) -> None:
        """Undo this nested unit: the overlay from its undo log, SQL from its savepoint."""
        events = conn.new_events
        cut = len(events) > self._events_mark
        if cut:
            del events[self._events_mark :]
        undone = conn.overlay.undo_to(self._undo_mark)
        counters = conn.counters
        if counters != self._counters_mark:
            counters.clear()
            counters.update(self._counters_mark)
        if self._savepoint is not None:
            conn.db.execute(f"ROLLBACK TO {self._savepoint}")
            if self._events_before:  # appended before the savepoint, written after it
                events[:0] = self._events_before
                self._events_mark = len(self._events_before)
                self._events_before = []
            conn.forget()
        elif undone:  # the remembered lookups followed the overlay's changes
            conn.forget()
        elif cut:
            conn.next_event = events[-1][0] + 1 if events else None

    @_guarded
    def commit(self) -> None:
        """Keep the changes (the outermost commit makes them durable)."""
        conn = self._conn
        if conn is not None and conn.lost is not None:
            raise StoreUnavailable(conn.lost)
        self._committed = True
        if conn is not None and not self._nested and conn.active:
            conn.commit()

    @_guarded
    def rollback(self) -> None:
        """Undo every change made since this unit of work started (or last committed)."""
        conn = self._conn
        if conn is None:
            return
        if conn.lost is not None:  # SQLite undid it all already
            if not self._nested:
                conn.reset()
        elif not self._nested:
            if conn.active:
                conn.rollback()
        elif conn.generation == self._generation:
            self._rollback_savepoint(conn)

    def _db(self) -> sqlite3.Connection:
        """The connection to run reads on, inside this unit's transaction."""
        conn = self._conn
        if conn is None:
            return self._store._connection().db
        if conn.lost is not None:
            raise StoreUnavailable(conn.lost)
        if not conn.active:  # the outermost unit committed or rolled back: go on in a new one
            conn.begin()
            if not self._nested:
                self._generation = conn.generation
        return conn.db

    def _wdb(self) -> sqlite3.Connection:
        """The connection to run a write on: the savepoints of the active units are taken.

        What the overlay holds is written first (``_Connection.spill``): a write it does
        not hold comes after every write before it.
        """
        db = self._db()
        conn = self._conn
        if conn is None:
            # Its own transaction: what the connection remembers may no longer hold.
            thread = self._store._connection()
            thread.write_events()
            thread.forget()
        elif conn.overlay or conn.unmarked < len(conn.stack):
            conn.mark()
        return db

    def _settle(self) -> None:
        """Before a read SQL must answer alone: write what the overlay holds."""
        conn = self._conn
        if conn is not None and conn.overlay:
            conn.spill()

    def _held(self) -> _Overlay | None:
        """The overlay, when this unit's writes are held in it (nested, no savepoint held)."""
        conn = self._conn
        if (
            conn is not None
            and self._nested
            and self._generation == conn.generation
            and conn.overlay_on()
        ):
            return conn.overlay
        return None

    def _counter(self, name: str) -> int | None:
        """The value counter ``name`` has in this unit's transaction (None outside a unit)."""
        db = self._db()
        conn = self._conn
        if conn is None:
            return None
        value = conn.counters.get(name)
        if value is None:
            row = db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
            value = 0 if row is None else int(row[0])
            conn.counters[name] = value
        return value

    def _take(self, name: str, value: int) -> None:
        """Take ``value`` of counter ``name`` in this unit (a rollback gives it back: T5).

        A nested unit's rollback restores the counters it began with; an outermost one's
        forgets them all.
        """
        conn = self._conn
        if conn is None:
            return
        conn.counters[name] = value

    def _next(self, name: str) -> int:
        """Take the next value of a counter, inside this unit's transaction (T5)."""
        current = self._counter(name)
        if current is not None:
            self._take(name, current + 1)
            return current + 1
        # Outside a unit of work each call is its own transaction: taken at once.
        ((value,),) = (
            self._wdb()
            .execute(
                "INSERT INTO counters (name, value) VALUES (?, 1) "
                "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
                (name,),
            )
            .fetchall()
        )
        return int(value)

    # -- rows --------------------------------------------------------------------------------

    def _load(self, text: str, cls: type[_R]) -> _R:
        """The model a row's JSON describes, decoded once per distinct text when shareable."""
        if cls not in _SHAREABLE:
            return from_json(text, cls)
        key = (cls, text)
        found = self._decoded.get(key)
        if found is None:
            found = from_json(text, cls)
            self._remember(key, found)
        return cast(_R, found)

    def _dump(self, obj: Any) -> str:
        """The JSON of a model about to be written, remembered for the next read of it."""
        text = _json(obj)
        if type(obj) in _SHAREABLE:
            self._remember((type(obj), text), obj)
        return text

    def _remember(self, key: tuple[type, str], obj: Any) -> None:
        if len(self._decoded) >= _DECODED_LIMIT:
            self._decoded.clear()
        self._decoded[key] = obj

    def _get(self, table: str, key: str, cls: type[_R]) -> _R | None:
        db = self._db()
        conn = self._conn
        reads = None if conn is None or not conn.active or type(key) is not str else conn.reads
        if reads is not None and (table, key) in reads:
            return cast(_R | None, reads[table, key])
        row = db.execute(f"SELECT data FROM {table} WHERE id = ?", (key,)).fetchone()
        found = None if row is None else self._load(row[0], cls)
        if reads is not None:
            reads[table, key] = found
        return found

    def _forget(self, key: tuple[str, ...]) -> None:
        """Drop a remembered read before the row it read changes."""
        conn = self._conn
        if conn is not None:
            conn.reads.pop(key, None)

    def _one(self, sql: str, params: tuple[object, ...], cls: type[_R]) -> _R | None:
        row = self._db().execute(sql, params).fetchone()
        return None if row is None else self._load(row[0], cls)

    def _all(self, sql: str, params: tuple[object, ...], cls: type[_R]) -> list[_R]:
        return [self._load(data, cls) for (data,) in self._db().execute(sql, params)]

    def _seqs(self, table: str, ticket: int, what: str, items: Sequence[Any]) -> list[int]:
        """The row seqs of a ticket's records, checked for a one-for-one replacement (I4)."""
        seqs = [
            int(seq)
            for (seq,) in self._db().execute(
                f"SELECT seq FROM {table} WHERE ticket = ? ORDER BY seq", (ticket,)
            )
        ]
        if len(items) != len(seqs):
            raise RuleViolation(
                f"ticket {ticket} holds {len(seqs)} {what}; expected as many replacements, "
                f"got {len(items)}"
            )
        for item in items:
            if item.ticket != ticket:
                raise RuleViolation(
                    f"{what} of ticket {ticket} cannot be replaced by one of ticket {item.ticket!r}"
                )
        return seqs
