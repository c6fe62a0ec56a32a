"""SQLite store (standard library ``sqlite3``): the embedded default store.

One database file holds everything. Each model is kept as a JSON column written
by :func:`ccdomain.serialization.to_json`, next to the plain columns the store
queries by (campaign, code, customer, status, contact, external id, product).
Money therefore stays exact: it is a decimal string inside the JSON, never a
REAL.

How the rules of the store contract are kept:

* E2 - a unit of work is a transaction: the outermost one runs
  ``BEGIN IMMEDIATE`` (it takes the database's write lock at once, so units of
  work of other threads and processes wait for it), a nested one is a
  ``SAVEPOINT``, taken before its first write (a unit that only reads costs no
  statement; units nested in one another with no write in between share one).
  Leaving without ``commit()`` rolls back only what that unit of work did.
* T2 - a partial unique index on ``tickets(campaign, customer) WHERE status =
  'open'`` makes two open tickets of one (campaign, customer) impossible, and
  get-or-open runs inside the unit of work's write transaction, so it is atomic
  across threads and processes.
* T5 - ticket numbers come from a counter row. A number handed out by a unit of
  work that is then rolled back is still burnt: the rollback keeps the counter
  (``ROLLBACK TO`` the unit's start, then the counter is raised again and
  committed under the same lock), so no number is ever handed out twice.
* T9 - ``interactions.external_id`` is UNIQUE.
* E1 - no ``sqlite3`` exception escapes: unique keys become the ccdomain error
  the in-memory store raises (``DuplicateContact``, ``RuleViolation``), every
  other database failure a ``StoreError`` naming the operation.

Each thread uses its own connection, opened on first use. Opening the store
creates or migrates the schema: its version is ``PRAGMA user_version`` and
:data:`MIGRATIONS` are applied in order (migration 1 is the initial schema, 2 adds
the company name index, 3 rewrites stored events in version 3 of the event codec).
Events are stored through :mod:`ccdomain.event_codec`, one JSON text a row.
The database runs in WAL mode with ``synchronous=NORMAL``: a committed unit of
work survives a crash of the process; a power loss may lose the last few
commits but never corrupts the file.

Speed (the routing hot path): each connection remembers what it read by key
(campaigns, lines, blocks, products..., phone lookups, ticket lookups) and the
next event number, across transactions as long as ``PRAGMA data_version`` says
no other connection committed in between; a rollback forgets it all. Ticket
writes keep the remembered lookups up to date (those of an outermost unit only at
its commit: until then its lookups after its own writes are read again).
Counters are raised once per transaction and written back at its end; appended
events are written together at the commit (a unit's own reads see them; a
rolled-back savepoint drops those appended since).
Tickets, interactions and routing's events are written to JSON without cattrs (same
text as ``to_json`` and ``encode_event``), and a ticket change that keeps its status
and contact rewrites the row's text only, touching no index.

Example:
    >>> import tempfile, pathlib
    >>> from ccdomain.models import Campaign
    >>> store = SqliteStore(pathlib.Path(tempfile.mkdtemp()) / "cc.db")
    >>> with store.unit_of_work() as uow:
    ...     uow.put_campaign(Campaign(id="ventas"))
    ...     uow.commit()
    >>> with store.unit_of_work() as uow:
    ...     uow.get_campaign("ventas").id
    'ventas'
    >>> store.integrity_check(), store.schema_version
    ('ok', 3)
    >>> store.close()
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from json.encoder import encode_basestring as _quote
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, Self, TypeVar, cast

import attrs

from ccdomain._folding import name_key
from ccdomain.errors import (
    DuplicateContact,
    InvalidData,
    RuleViolation,
    StoreError,
    UnknownContact,
    UnknownTicket,
)
from ccdomain.event_codec import EVENT_VERSION, decode_event, encode_event
from ccdomain.events import ContactLinked, Event, InteractionAdded, TicketOpened
from ccdomain.models import (
    Block,
    Campaign,
    Comment,
    Company,
    Contact,
    Interaction,
    Line,
    Payment,
    Product,
    Promise,
    Ticket,
    TicketStatus,
    Typification,
)
from ccdomain.phones import national_number, phone_suffix
from ccdomain.serialization import from_json, to_json

if TYPE_CHECKING:
    from ccdomain.ports import Store, UnitOfWork

__all__ = ["MIGRATIONS", "SqliteStore", "SqliteUnitOfWork"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the initial schema.
    (
        "CREATE TABLE campaigns (id TEXT PRIMARY KEY, data TEXT NOT NULL)",
        "CREATE TABLE lines (id TEXT PRIMARY KEY, data TEXT NOT NULL)",
        "CREATE TABLE companies (id TEXT PRIMARY KEY, data TEXT NOT NULL)",
        """CREATE TABLE contacts (
            campaign TEXT NOT NULL,
            code TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (campaign, code)
        )""",
        # kind 0 = E.164, 1 = national significant number, 2 = 7-digit suffix.
        # Only live contacts (not tombstones) are indexed; rowid order is the
        # order contacts were (re)indexed in, which is the order lookups return.
        """CREATE TABLE phone_index (
            kind INTEGER NOT NULL,
            key TEXT NOT NULL,
            campaign TEXT NOT NULL,
            code TEXT NOT NULL,
            FOREIGN KEY (campaign, code) REFERENCES contacts (campaign, code)
        )""",
        "CREATE INDEX phone_index_by_key ON phone_index (kind, key)",
        "CREATE INDEX phone_index_by_contact ON phone_index (campaign, code)",
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        """CREATE TABLE tickets (
            number INTEGER PRIMARY KEY,
            campaign TEXT NOT NULL,
            customer TEXT NOT NULL,
            status TEXT NOT NULL,
            contact TEXT,
            data TEXT NOT NULL
        )""",
        # T2: at most one open ticket per (campaign, customer), whatever the writer.
        "CREATE UNIQUE INDEX tickets_one_open ON tickets (campaign, customer) "
        "WHERE status = 'open'",
        # (customer, campaign, number) serves both customer lookups; with (customer,
        # number) only, SQLite would rather walk tickets_by_campaign in number order.
        "CREATE INDEX tickets_by_customer ON tickets (customer, campaign, number)",
        "CREATE INDEX tickets_by_campaign ON tickets (campaign, number)",
        "CREATE INDEX tickets_by_contact ON tickets (campaign, contact, number) "
        "WHERE contact IS NOT NULL",
        """CREATE TABLE interactions (
            seq INTEGER PRIMARY KEY,
            ticket INTEGER NOT NULL REFERENCES tickets (number),
            external_id TEXT UNIQUE,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX interactions_by_ticket ON interactions (ticket, seq)",
        """CREATE TABLE typifications (
            seq INTEGER PRIMARY KEY,
            ticket INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX typifications_by_ticket ON typifications (ticket, seq)",
        """CREATE TABLE products (
            id TEXT PRIMARY KEY,
            campaign TEXT NOT NULL,
            contact TEXT NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX products_by_contact ON products (campaign, contact, id)",
        """CREATE TABLE payments (
            id TEXT PRIMARY KEY,
            product TEXT NOT NULL,
            date TEXT NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX payments_by_product ON payments (product, date, id)",
        """CREATE TABLE promises (
            id TEXT PRIMARY KEY,
            product TEXT NOT NULL,
            made_on TEXT NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX promises_by_product ON promises (product, made_on, id)",
        """CREATE TABLE comments (
            seq INTEGER PRIMARY KEY,
            ticket INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX comments_by_ticket ON comments (ticket, seq)",
        """CREATE TABLE blocks (
            campaign TEXT NOT NULL,
            customer TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (campaign, customer)
        )""",
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, data TEXT NOT NULL)",
    ),
    # 2: companies by name key (K16, CompanyNameIndex); existing companies are keyed by
    # ccdomain_company_name_key, a function registered while migrating.
    (
        "CREATE TABLE company_names (id TEXT PRIMARY KEY REFERENCES companies (id), "
        "key TEXT NOT NULL)",
        "CREATE INDEX company_names_by_key ON company_names (key, id)",
        "INSERT INTO company_names (id, key) "
        "SELECT id, ccdomain_company_name_key(data) FROM companies",
    ),
    # 3: events of version 3 (typed payloads): every stored event is read through the
    # codec, which upcasts version 2, and written again by ccdomain_event_v3, a function
    # registered while migrating.
    ("UPDATE events SET data = ccdomain_event_v3(data)",),
)
"""Forward migrations, in order; migration ``n`` brings ``user_version`` from n-1 to n."""


def _company_name_key(data: str) -> str:
    """The name key of a stored company's JSON (migration 2 keys existing companies)."""
    return name_key(from_json(data, Company).name)


class _EventRewriter:
    """``ccdomain_event_v3``: a stored event's text, of any version, as the codec writes it.

    SQLite reports an exception raised in a function as a bare "user-defined function
    raised exception"; the first error is kept here to name the event and the reason.
    """

    def __init__(self) -> None:
        self.error: InvalidData | None = None

    def __call__(self, data: str) -> str:
        try:
            return encode_event(decode_event(data))
        except InvalidData as exc:
            self.error = self.error or exc
            raise


_TICKET_COUNTER = "ticket"
_COMMENT_COUNTER = "comment"
_OPEN = TicketStatus.OPEN.value
_EVENTS_PAGE = 1000

_PHONE, _NATIONAL, _SUFFIX = 0, 1, 2

# Models made of immutable values only, read again and again: one decoded from a
# row is handed out again for the same row text, as the in-memory store hands out
# what it holds. (Contact and Event hold a dict, so each read decodes its own copy;
# interactions and the like are rarely read twice, so they would only crowd it.)
_SHAREABLE: frozenset[type] = frozenset(
    {Campaign, Line, Company, Ticket, Block, Product, Payment, Promise}
)
_DECODED_LIMIT = 50_000
# Remembered reads per connection (by key, phone lookups, ticket lookups), each, kept
# across transactions: past this many, they are dropped at the next commit.
_READS_LIMIT = 250_000


def _failure(operation: str, exc: sqlite3.Error) -> StoreError | RuleViolation:
    """The ccdomain error for a database failure during ``operation``."""
    if isinstance(exc, sqlite3.IntegrityError):
        return RuleViolation(f"{operation} was refused by the database: {exc}")
    return StoreError(f"{operation} failed: {type(exc).__name__}: {exc}")


def _guarded(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Translate any ``sqlite3`` exception raised by ``method`` into a ccdomain error (E1)."""
    operation = method.__name__

    @functools.wraps(method)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as exc:
            raise _failure(operation, exc) from exc

    return guarded


def _phone_rows(contact: Contact) -> list[tuple[int, str, str, str]]:
    """The phone index rows of a contact: none for a tombstone (M3, M5)."""
    if contact.merged_into is not None:
        return []
    phones = contact.phones
    key = (contact.campaign, contact.code)
    rows = [(_PHONE, p, *key) for p in phones]
    rows += [(_NATIONAL, n, *key) for n in dict.fromkeys(national_number(p) for p in phones)]
    rows += [(_SUFFIX, s, *key) for s in dict.fromkeys(phone_suffix(p) for p in phones)]
    return rows


# -- JSON of the hottest models ----------------------------------------------------------------
#
# Routing writes a ticket, an interaction and two events per message: these write the
# very text ``to_json`` writes (same keys, order and escapes; checked by property tests),
# a few times faster than going through cattrs. Anything unusual in a value (a bool where
# an int is expected, a key that is not a string...) goes through ``to_json`` instead.


class _Unusual(Exception):
    """A value the fast JSON writers leave to ``to_json``."""


def _int(value: object) -> str:
    if type(value) is not int:
        raise _Unusual
    return str(value)


def _opt_int(value: object) -> str:
    return "null" if value is None else _int(value)


def _opt_str(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def _opt_time(value: dt.datetime | None) -> str:
    return "null" if value is None else _quote(value.isoformat())


def _ticket_json(t: Ticket) -> str:
    last_channel = t.last_channel
    return (
        f'{{"number":{_int(t.number)},"campaign":{_quote(t.campaign)},'
        f'"customer":{_quote(t.customer)},"origin":{_quote(t.origin)},'
        f'"opened_at":{_quote(t.opened_at.isoformat())},"status":{_quote(t.status)},'
        f'"queue":{_quote(t.queue)},"line":{_opt_str(t.line)},"alias":{_quote(t.alias)},'
        f'"contact":{_opt_str(t.contact)},"channels":[{",".join(map(_quote, t.channels))}],'
        f'"labels":[{",".join(map(_quote, t.labels))}],"assignee":{_opt_str(t.assignee)},'
        f'"last_agent":{_opt_str(t.last_agent)},'
        f'"last_activity_at":{_opt_time(t.last_activity_at)},'
        f'"last_channel":{"null" if last_channel is None else _quote(last_channel)},'
        f'"last_action":{_quote(t.last_action)},"interactions":{_int(t.interactions)},'
        f'"closed_at":{_opt_time(t.closed_at)},"closed_by":{_opt_str(t.closed_by)}}}'
    )


def _interaction_json(i: Interaction) -> str:
    return (
        f'{{"at":{_quote(i.at.isoformat())},"channel":{_quote(i.channel)},'
        f'"direction":{_quote(i.direction)},"customer":{_quote(i.customer)},'
        f'"external_id":{_opt_str(i.external_id)},"line":{_opt_str(i.line)},'
        f'"campaign":{_opt_str(i.campaign)},"agent":{_opt_str(i.agent)},'
        f'"text":{_opt_str(i.text)},"status":{_opt_str(i.status)},'
        f'"duration_s":{_opt_int(i.duration_s)},"ticket":{_opt_int(i.ticket)}}}'
    )


def _event_json(e: Event) -> str:
    """``encode_event(e)`` for routing's events; the codec writes the others."""
    payload = e.payload
    if type(payload) is InteractionAdded:
        body = (
            f'{{"interaction":{_interaction_json(payload.interaction)},'
            f'"outcome":{_quote(payload.outcome)}}}'
        )
    elif type(payload) is TicketOpened:
        body = (
            f'{{"customer":{_quote(payload.customer)},"origin":{_quote(payload.origin)},'
            f'"queue":{_quote(payload.queue)},"alias":{_quote(payload.alias)},'
            f'"line":{_opt_str(payload.line)}}}'
        )
    elif type(payload) is ContactLinked:
        body = (
            f'{{"how":{_quote(payload.how)},"customer":{_quote(payload.customer)},'
            f'"merged_from":{_opt_str(payload.merged_from)}}}'
        )
    else:
        return encode_event(e)
    return (
        f'{{"v":{EVENT_VERSION},"kind":{_quote(e.kind)},"at":{_quote(e.at.isoformat())},'
        f'"actor":{_opt_str(e.actor)},"campaign":{_opt_str(e.campaign)},'
        f'"ticket":{_opt_int(e.ticket)},"contact":{_opt_str(e.contact)},'
        f'"payload":{body},"seq":{_opt_int(e.seq)}}}'
    )


_FAST_JSON: dict[type, Callable[[Any], str]] = {
    Ticket: _ticket_json,
    Interaction: _interaction_json,
    Event: _event_json,
}


def _json(obj: Any) -> str:
    """``to_json(obj)``, written directly for tickets, interactions and events."""
    fast = _FAST_JSON.get(type(obj))
    if fast is not None:
        try:
            return fast(obj)
        except (_Unusual, TypeError, AttributeError):
            pass
    return to_json(obj)


# -- remembered ticket lookups ------------------------------------------------------------------

_MISSING: Any = object()


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


class _Connection:
    """One thread's connection and the state of its transaction."""

    __slots__ = (
        "active",
        "blocks_empty",
        "db",
        "generation",
        "handed",
        "new_events",
        "next_event",
        "phones",
        "reads",
        "stack",
        "tickets",
        "tickets_after",
        "unmarked",
        "version",
    )

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        # Units of work entered in this thread, outermost first.
        self.stack: list[SqliteUnitOfWork] = []
        # Units of work from this index of ``stack`` on have no savepoint yet: one is
        # taken only before their first write (see ``mark``).
        self.unmarked = 0
        # True while this connection holds a transaction begun by a unit of work.
        self.active = False
        # Counter values handed out in the current transaction (kept on rollback: T5).
        # After its first number a counter is counted here and written at commit.
        self.handed: dict[str, int] = {}
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
        self.phones: dict[tuple[int, str], tuple[Contact, ...]] = {}
        # Whether the blocks table is empty (None: not known).
        self.blocks_empty: bool | None = None
        # Ticket lookups by key (see ``SqliteUnitOfWork._ticket_lookup``), kept up to
        # date by the writes; a write of an outermost unit hides the lookups it changes
        # until the commit (``tickets_after``), see ``_ticket_written``.
        self.tickets: dict[tuple[Any, ...], Any] = {}
        self.tickets_after: dict[tuple[Any, ...], Any] = {}

    def begin(self) -> None:
        """Start the write transaction and the savepoint a rollback returns to."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        self.active = True
        ((version,),) = db.execute("PRAGMA data_version").fetchall()
        if version != self.version:
            self.forget()
            self.version = version
        db.execute("SAVEPOINT uow_start")

    def mark(self) -> None:
        """Take the savepoint of the units of work that had not written yet (before a write).

        Units without a savepoint are the top of the stack and have seen no write since
        they began, so one savepoint marks the start of all of them; the lowest of them
        owns it (releases it) and the others roll back to it.
        """
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
                unit._events_mark = len(self.new_events)

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
        self.write_events()
        if self.handed:
            self.restore_counters()
        self.db.execute("COMMIT")
        self._ended(keep=True)

    def rollback(self) -> None:
        """Undo the transaction, except the counters it took numbers from (T5)."""
        self.new_events.clear()
        if self.handed:
            self.db.execute("ROLLBACK TO uow_start")
            self.restore_counters()
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")
        self._ended(keep=False)

    def restore_counters(self) -> None:
        """Raise every counter again to the highest value handed out in this transaction."""
        self.db.executemany(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)",
            list(self.handed.items()),
        )

    def reset(self) -> None:
        """Leave no transaction behind after a failure (best effort)."""
        self.new_events.clear()
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
        self.handed.clear()
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


class SqliteStore:
    """The SQLite implementation of :class:`ccdomain.ports.Store` (see the module docstring).

    Args:
        path: the database file; created with its schema when missing.
        timeout: seconds a unit of work waits for another writer before failing.

    Raises:
        StoreError: the file cannot be opened, is not a database, or holds a
            schema newer than this version of ccdomain knows.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        try:
            self._path = os.fspath(path)
        except TypeError as exc:
            raise StoreError(
                f"{path!r:.60} is not a database path; expected a str or path"
            ) from exc
        if not isinstance(self._path, str):
            raise StoreError(f"{path!r:.60} is not a database path; expected a str or path")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise StoreError(f"{timeout!r:.60} is not a timeout; expected seconds >= 0")
        self._timeout = float(timeout)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[_Connection] = []
        self._closed = False
        # Decoded models by (class, row text), so unchanged rows are not decoded again.
        self._decoded: dict[tuple[type, str], Any] = {}
        # Set by purge() inside a unit of work: the outermost one purges after its commit.
        self._purge_pending = False
        self._schema_version = self._migrate()

    def __repr__(self) -> str:
        return f"SqliteStore({self._path!r})"

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    @property
    def schema_version(self) -> int:
        """The schema version of the database (``PRAGMA user_version``)."""
        return self._schema_version

    def unit_of_work(self) -> SqliteUnitOfWork:
        """A new unit of work; a savepoint of the active one when nested in this thread."""
        return SqliteUnitOfWork(self)

    def close(self) -> None:
        """Close every connection the store opened; later use raises StoreError."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):
                conn.db.close()

    def purge(self) -> None:
        """Erase freed and superseded data from the database files (I4, ``Purgeable``).

        ``VACUUM`` rewrites the file without its free pages, then a ``TRUNCATE``
        checkpoint empties the write-ahead log, so values deleted or overwritten
        (by an anonymization) cannot be read back from the file's bytes. Called
        inside a unit of work, it runs when the outermost one commits.

        Raises:
            StoreError: the database is closed, or a reader in another connection kept
                the log from being emptied (call it again later).
        """
        conn = self._connection()
        if conn.stack or conn.active:
            self._purge_pending = True
            return
        self._run_purge(conn)

    def _run_purge(self, conn: _Connection) -> None:
        self._purge_pending = False
        try:
            conn.db.execute("VACUUM")
            busy, _, _ = conn.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"purging {self._path!r} failed: {exc}") from exc
        if busy:
            raise StoreError(
                f"purging {self._path!r} did not finish: another connection was reading; "
                "the changes are committed, call purge() again"
            )

    def integrity_check(self) -> str:
        """The result of ``PRAGMA integrity_check``: ``'ok'`` for a sound database."""
        try:
            rows = self._connection().db.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.Error as exc:
            raise _failure("integrity_check", exc) from exc
        return "\n".join(str(row[0]) for row in rows)

    # -- connections and schema ----------------------------------------------------------------

    def _connection(self) -> _Connection:
        """This thread's connection, opened on first use."""
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is not None and not self._closed:
            return conn
        with self._lock:
            if self._closed:
                raise StoreError(f"the store on {self._path!r} is closed")
            try:
                db = sqlite3.connect(
                    self._path,
                    timeout=self._timeout,
                    isolation_level=None,
                    check_same_thread=False,
                    cached_statements=256,
                )
                db.execute("PRAGMA foreign_keys = ON")
                db.execute("PRAGMA synchronous = NORMAL")
                # 32 MiB of page cache (the default is 2 MiB): the indexes of a busy
                # contact center's day stay in memory.
                db.execute("PRAGMA cache_size = -32768")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open the database {self._path!r}: {exc}") from exc
            conn = _Connection(db)
            self._connections.append(conn)
        self._local.conn = conn
        return conn

    def _migrate(self) -> int:
        """Bring the schema up to the newest version, returning it."""
        rewriter = _EventRewriter()
        conn = self._connection()
        db = conn.db
        try:
            db.execute("PRAGMA journal_mode = WAL").fetchall()
            db.execute("BEGIN IMMEDIATE")
            try:
                (version,) = db.execute("PRAGMA user_version").fetchone()
                if version > len(MIGRATIONS):
                    raise StoreError(
                        f"the database {self._path!r} has schema version {version}; "
                        f"this ccdomain knows versions up to {len(MIGRATIONS)}"
                    )
                db.create_function(
                    "ccdomain_company_name_key", 1, _company_name_key, deterministic=True
                )
                db.create_function("ccdomain_event_v3", 1, rewriter, deterministic=True)
                for number in range(version + 1, len(MIGRATIONS) + 1):
                    for statement in MIGRATIONS[number - 1]:
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {number}")
                db.execute("COMMIT")
            except BaseException:
                conn.reset()
                raise
        except sqlite3.Error as exc:
            self.close()
            if rewriter.error is not None:
                raise StoreError(
                    f"cannot migrate the events of {self._path!r} to version {EVENT_VERSION} "
                    f"(nothing was changed): {rewriter.error}"
                ) from exc
            raise StoreError(f"cannot open the database {self._path!r}: {exc}") from exc
        except BaseException:
            self.close()
            raise
        return len(MIGRATIONS)


class SqliteUnitOfWork:
    """A unit of work over a :class:`SqliteStore` (see :mod:`ccdomain.ports`).

    Used outside a ``with`` block, each call is its own transaction.
    """

    def __init__(self, store: SqliteStore) -> None:
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
            raise _failure("unit_of_work", exc) from exc
        self._savepoint = None
        self._owner = False
        self._events_mark = 0
        self._events_before = []
        self._generation = conn.generation
        self._committed = False
        if not self._nested:
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
            if not self._nested:
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
                raise _failure("commit" if self._committed else "rollback", error) from error
        finally:
            if conn.stack and conn.stack[-1] is self:
                conn.stack.pop()
            elif self in conn.stack:
                conn.stack.remove(self)
            conn.unmarked = min(conn.unmarked, len(conn.stack))
            self._conn = None
        if (
            len(conn.new_events) >= _EVENTS_PAGE
            and conn.active
            and exc is None
            and not conn.savepoint_open()
        ):
            try:
                conn.write_events()
            except sqlite3.Error as error:
                raise _failure("append_event", error) from error
        if not self._nested and self._committed and exc is None and self._store._purge_pending:
            self._store._run_purge(conn)

    def _rollback_savepoint(self, conn: _Connection) -> None:
        if self._savepoint is None:  # nothing written since this unit began
            return
        del conn.new_events[self._events_mark :]
        conn.db.execute(f"ROLLBACK TO {self._savepoint}")
        if self._events_before:  # appended before the savepoint, written after it
            conn.new_events[:0] = self._events_before
            self._events_mark = len(self._events_before)
            self._events_before = []
        conn.forget()
        if conn.handed:
            conn.restore_counters()

    @_guarded
    def commit(self) -> None:
        """Keep the changes (the outermost commit makes them durable)."""
        conn = self._conn
        self._committed = True
        if conn is not None and not self._nested and conn.active:
            conn.commit()

    @_guarded
    def rollback(self) -> None:
        """Undo every change made since this unit of work started (or last committed)."""
        conn = self._conn
        if conn is None:
            return
        if not self._nested:
            if conn.active:
                conn.rollback()
        elif conn.generation == self._generation:
            self._rollback_savepoint(conn)

    def _db(self) -> sqlite3.Connection:
        """The connection to run reads on, inside this unit's transaction."""
        conn = self._conn
        if conn is None:
            return self._store._connection().db
        if not conn.active:  # the outermost unit committed or rolled back: go on in a new one
            conn.begin()
            if not self._nested:
                self._generation = conn.generation
        return conn.db

    def _wdb(self) -> sqlite3.Connection:
        """The connection to run a write on: the savepoints of the active units are taken."""
        db = self._db()
        conn = self._conn
        if conn is None:
            # Its own transaction: what the connection remembers may no longer hold.
            thread = self._store._connection()
            thread.write_events()
            thread.forget()
        elif conn.unmarked < len(conn.stack):
            conn.mark()
        return db

    def _next(self, name: str) -> int:
        """The next value of a counter; remembered so a rollback does not reuse it.

        Inside a transaction the counter row is read and raised once; the following
        numbers are counted in memory and the row is raised to the last one at commit
        (or rollback): nobody else can read it while this transaction holds the lock.
        """
        conn = self._conn
        active = conn is not None and conn.active
        if active and conn is not None and name in conn.handed:
            value = conn.handed[name] + 1
            conn.handed[name] = value
            return value
        ((value,),) = (
            self._wdb()
            .execute(
                "INSERT INTO counters (name, value) VALUES (?, 1) "
                "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
                (name,),
            )
            .fetchall()
        )
        if active and conn is not None:
            conn.handed[name] = value
        return int(value)

    # -- campaigns, lines, companies ----------------------------------------------------------

    @_guarded
    def put_campaign(self, campaign: Campaign) -> None:
        """Insert or replace a campaign (by id)."""
        self._put("campaigns", campaign.id, self._dump(campaign))

    @_guarded
    def get_campaign(self, campaign_id: str) -> Campaign | None:
        """The campaign with that id, or None."""
        return self._get("campaigns", campaign_id, Campaign)

    @_guarded
    def list_campaigns(self) -> Sequence[Campaign]:
        """Every campaign, by id."""
        return self._all("SELECT data FROM campaigns ORDER BY id", (), Campaign)

    @_guarded
    def put_line(self, line: Line) -> None:
        """Insert or replace a line by id."""
        self._put("lines", line.id, self._dump(line))

    @_guarded
    def get_line(self, line_id: str) -> Line | None:
        """The line with that id, or None."""
        return self._get("lines", line_id, Line)

    @_guarded
    def list_lines(self) -> Sequence[Line]:
        """Every line, by id."""
        return self._all("SELECT data FROM lines ORDER BY id", (), Line)

    @_guarded
    def put_company(self, company: Company) -> None:
        """Insert or replace a company by id."""
        key = name_key(company.name)
        self._put("companies", company.id, self._dump(company))
        self._wdb().execute(
            "INSERT INTO company_names (id, key) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET key = excluded.key",
            (company.id, key),
        )

    @_guarded
    def company_by_name_key(self, key: str) -> Company | None:
        """The company whose name key is ``key``, the smallest id first (CompanyNameIndex)."""
        return self._one(
            "SELECT c.data FROM company_names n JOIN companies c ON c.id = n.id "
            "WHERE n.key = ? ORDER BY n.id LIMIT 1",
            (key,),
            Company,
        )

    @_guarded
    def get_company(self, company_id: str) -> Company | None:
        """The company with that id, or None."""
        return self._get("companies", company_id, Company)

    @_guarded
    def list_companies(self) -> Sequence[Company]:
        """Every company, by id."""
        return self._all("SELECT data FROM companies ORDER BY id", (), Company)

    def _put(self, table: str, key: str, data: str) -> None:
        self._forget((table, key))
        self._wdb().execute(
            f"INSERT INTO {table} (id, data) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            (key, data),
        )

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

    def _forget_phones(self) -> None:
        """Drop remembered phone lookups: a contact is about to change."""
        conn = self._conn
        if conn is not None:
            conn.phones.clear()

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

    # -- contacts ------------------------------------------------------------------------------

    @_guarded
    def add_contact(self, contact: Contact) -> None:
        """Insert a new contact; DuplicateContact if its code exists in its campaign (K1)."""
        rows = _phone_rows(contact)
        db = self._wdb()
        self._forget_phones()
        try:
            db.execute(
                "INSERT INTO contacts (campaign, code, data) VALUES (?, ?, ?)",
                (contact.campaign, contact.code, to_json(contact)),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateContact(
                f"a contact with code {contact.code!r} already exists in campaign "
                f"{contact.campaign!r}; expected a code not used in that campaign"
            ) from exc
        if rows:
            db.executemany(
                "INSERT INTO phone_index (kind, key, campaign, code) VALUES (?, ?, ?, ?)", rows
            )

    @_guarded
    def update_contact(self, contact: Contact) -> None:
        """Replace the stored contact with the same (campaign, code), reindexing phones."""
        rows = _phone_rows(contact)
        key = (contact.campaign, contact.code)
        db = self._wdb()
        self._forget_phones()
        cursor = db.execute(
            "UPDATE contacts SET data = ? WHERE campaign = ? AND code = ?",
            (to_json(contact), *key),
        )
        if cursor.rowcount == 0:
            raise UnknownContact(
                f"no contact with code {contact.code!r} in campaign {contact.campaign!r}"
            )
        db.execute("DELETE FROM phone_index WHERE campaign = ? AND code = ?", key)
        if rows:
            db.executemany(
                "INSERT INTO phone_index (kind, key, campaign, code) VALUES (?, ?, ?, ?)", rows
            )

    @_guarded
    def get_contact(self, campaign: str, code: str) -> Contact | None:
        """The stored contact (tombstones included) with that code, or None."""
        return self._one(
            "SELECT data FROM contacts WHERE campaign = ? AND code = ?", (campaign, code), Contact
        )

    @_guarded
    def list_contacts(self, campaign: str | None = None) -> Sequence[Contact]:
        """Contacts of a campaign (or all), by (campaign, code)."""
        if campaign is None:
            return self._all("SELECT data FROM contacts ORDER BY campaign, code", (), Contact)
        return self._all(
            "SELECT data FROM contacts WHERE campaign = ? ORDER BY code", (campaign,), Contact
        )

    def _by_phone_key(self, kind: int, key: str) -> list[Contact]:
        self._db()  # begins the transaction when due, so ``conn.active`` is current
        conn = self._conn
        if conn is not None and conn.active and type(key) is str:
            found = conn.phones.get((kind, key))
            if found is None:
                found = conn.phones[kind, key] = tuple(self._phone_lookup(kind, key))
            return list(found)
        return self._phone_lookup(kind, key)

    def _phone_lookup(self, kind: int, key: str) -> list[Contact]:
        return self._all(
            "SELECT c.data FROM phone_index AS p "
            "JOIN contacts AS c ON c.campaign = p.campaign AND c.code = p.code "
            "WHERE p.kind = ? AND p.key = ? ORDER BY p.rowid",
            (kind, key),
            Contact,
        )

    @_guarded
    def contacts_by_phone(self, e164: str) -> Sequence[Contact]:
        """Live contacts with this exact E.164 phone (index lookup)."""
        return self._by_phone_key(_PHONE, e164)

    @_guarded
    def contacts_by_national_number(self, national: str) -> Sequence[Contact]:
        """Live contacts with a phone of this national significant number (index lookup)."""
        return self._by_phone_key(_NATIONAL, national)

    @_guarded
    def contacts_by_phone_suffix(self, suffix: str) -> Sequence[Contact]:
        """Live contacts with a phone ending in these 7 digits (index lookup)."""
        return self._by_phone_key(_SUFFIX, suffix)

    @_guarded
    def next_contact_number(self, campaign: str) -> int:
        """A number never returned before for this campaign (a rollback does not reuse it)."""
        return self._next(f"contact:{campaign}")

    @_guarded
    def rename_contact(self, campaign: str, code: str, contact: Contact) -> None:
        """Replace the contact (campaign, code) by ``contact``, which may carry a new code (I4)."""
        if contact.campaign != campaign:
            raise RuleViolation(
                f"contact {code!r} belongs to campaign {campaign!r}; "
                f"it cannot move to {contact.campaign!r}"
            )
        rows = _phone_rows(contact)
        db = self._wdb()
        self._forget_phones()
        db.execute("DELETE FROM phone_index WHERE campaign = ? AND code = ?", (campaign, code))
        try:
            cursor = db.execute(
                "UPDATE contacts SET code = ?, data = ? WHERE campaign = ? AND code = ?",
                (contact.code, to_json(contact), campaign, code),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateContact(
                f"a contact with code {contact.code!r} already exists in campaign "
                f"{campaign!r}; expected a code not used in that campaign"
            ) from exc
        if cursor.rowcount == 0:
            raise UnknownContact(f"no contact with code {code!r} in campaign {campaign!r}")
        if rows:
            db.executemany(
                "INSERT INTO phone_index (kind, key, campaign, code) VALUES (?, ?, ?, ?)", rows
            )

    # -- tickets -------------------------------------------------------------------------------

    @_guarded
    def get_or_open_ticket(
        self, campaign: str, customer: str, opener: Callable[[int], Ticket]
    ) -> tuple[Ticket, bool]:
        """The open ticket of (campaign, customer), or a new one numbered by the store (T2, T5)."""
        found = self._open_ticket(campaign, customer)
        if found is not None:
            return found, False
        db = self._db()
        ticket = opener(self._next(_TICKET_COUNTER))
        if (ticket.campaign, ticket.customer) != (campaign, customer) or not ticket.is_open:
            raise RuleViolation(
                f"the opener returned ticket {ticket.number} for "
                f"({ticket.campaign!r}, {ticket.customer!r}); expected an open ticket for "
                f"({campaign!r}, {customer!r})"
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
        if one:
            ticket = self._one(sql, params, Ticket)
            if cache is not None:
                cache[key] = ticket
            return ticket
        tickets = self._all(sql, params, Ticket)
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
        db = self._wdb()
        data = self._dump(ticket)
        key = (ticket.number, ticket.campaign, ticket.customer)
        # Most changes (a message joining) keep the status and the contact: then only the
        # row's text is rewritten and no index is touched. (Same status, so T3 holds.)
        changed = db.execute(
            "UPDATE tickets SET data = ? WHERE number = ? AND campaign = ? AND customer = ? "
            "AND status = ? AND contact IS ?",
            (data, *key, ticket.status.value, ticket.contact),
        ).rowcount
        if changed != 1:
            # The reason is looked up only when this refuses.
            changed = db.execute(
                "UPDATE tickets SET status = ?, contact = ?, data = ? "
                "WHERE number = ? AND campaign = ? AND customer = ? AND (status = 'open' OR ?)",
                (ticket.status.value, ticket.contact, data, *key, not ticket.is_open),
            ).rowcount
        if changed == 1:
            self._ticket_written(ticket)
            return
        old = db.execute(
            "SELECT campaign, customer FROM tickets WHERE number = ?", (ticket.number,)
        ).fetchone()
        if old is None:
            raise UnknownTicket(f"no ticket with number {ticket.number!r}")
        if (old[0], old[1]) != (ticket.campaign, ticket.customer):
            raise RuleViolation(
                f"ticket {ticket.number} belongs to ({old[0]!r}, {old[1]!r}); "
                "its campaign and customer cannot change"
            )
        raise RuleViolation(f"ticket {ticket.number} is closed; a closed ticket never reopens")

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
        if old[0] != ticket.campaign:
            raise RuleViolation(
                f"ticket {ticket.number} belongs to campaign {old[0]!r}; its campaign cannot change"
            )
        if ticket.is_open and old[1] != _OPEN:
            raise RuleViolation(f"ticket {ticket.number} is closed; a closed ticket never reopens")
        try:
            db.execute(
                "UPDATE tickets SET customer = ?, status = ?, contact = ?, data = ? "
                "WHERE number = ?",
                (
                    ticket.customer,
                    ticket.status.value,
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
            return self._all("SELECT data FROM tickets ORDER BY number", (), Ticket)
        return self._all(
            "SELECT data FROM tickets WHERE campaign = ? ORDER BY number", (campaign,), Ticket
        )

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
        return self._all(
            "SELECT data FROM tickets WHERE campaign = ? AND contact = ? ORDER BY number",
            (campaign, code),
            Ticket,
        )

    @_guarded
    def add_interaction(self, interaction: Interaction) -> None:
        """Append a routed interaction to its ticket; RuleViolation on a known external id (T9)."""
        if interaction.ticket is None:
            raise UnknownTicket(
                f"interaction names ticket {interaction.ticket!r}; expected a stored ticket"
            )
        db = self._wdb()
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
        return self._all(
            "SELECT data FROM interactions WHERE ticket = ? ORDER BY seq", (ticket,), Interaction
        )

    @_guarded
    def find_interaction(self, external_id: str) -> Interaction | None:
        """The recorded interaction with that external id, or None (T9)."""
        return self._one(
            "SELECT data FROM interactions WHERE external_id = ?", (external_id,), Interaction
        )

    @_guarded
    def add_typification(self, typification: Typification) -> None:
        """Record a typification (T8)."""
        self._wdb().execute(
            "INSERT INTO typifications (ticket, data) VALUES (?, ?)",
            (typification.ticket, self._dump(typification)),
        )

    @_guarded
    def typifications(self, ticket: int | None = None) -> Sequence[Typification]:
        """Typifications of a ticket (or all), in the order recorded."""
        if ticket is None:
            return self._all("SELECT data FROM typifications ORDER BY seq", (), Typification)
        return self._all(
            "SELECT data FROM typifications WHERE ticket = ? ORDER BY seq", (ticket,), Typification
        )

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

    @_guarded
    def replace_interactions(self, ticket: int, interactions: Sequence[Interaction]) -> None:
        """Replace the interactions of a ticket one for one, in place (I4)."""
        new = list(interactions)
        seqs = self._seqs("interactions", ticket, "interactions", new)
        db = self._wdb()
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
        seqs = self._seqs("typifications", ticket, "typifications", new)
        self._wdb().executemany(
            "UPDATE typifications SET data = ? WHERE seq = ?",
            [(to_json(item), seq) for seq, item in zip(seqs, new, strict=True)],
        )

    # -- collections ---------------------------------------------------------------------------

    @_guarded
    def put_product(self, product: Product) -> None:
        """Insert or replace a product by id."""
        self._forget(("products", product.id))
        self._wdb().execute(
            "INSERT INTO products (id, campaign, contact, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET campaign = excluded.campaign, "
            "contact = excluded.contact, data = excluded.data",
            (product.id, product.campaign, product.contact, to_json(product)),
        )

    @_guarded
    def get_product(self, product_id: str) -> Product | None:
        """The product with that id, or None."""
        return self._get("products", product_id, Product)

    @_guarded
    def list_products(self, campaign: str | None = None) -> Sequence[Product]:
        """Products of a campaign (or all), by id."""
        if campaign is None:
            return self._all("SELECT data FROM products ORDER BY id", (), Product)
        return self._all(
            "SELECT data FROM products WHERE campaign = ? ORDER BY id", (campaign,), Product
        )

    @_guarded
    def products_for_contact(self, campaign: str, code: str) -> Sequence[Product]:
        """Products of a contact, by id."""
        return self._all(
            "SELECT data FROM products WHERE campaign = ? AND contact = ? ORDER BY id",
            (campaign, code),
            Product,
        )

    @_guarded
    def put_payment(self, payment: Payment) -> None:
        """Insert or replace a payment by id."""
        self._forget(("payments", payment.id))
        self._wdb().execute(
            "INSERT INTO payments (id, product, date, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET product = excluded.product, "
            "date = excluded.date, data = excluded.data",
            (payment.id, payment.product, payment.date.isoformat(), to_json(payment)),
        )

    @_guarded
    def get_payment(self, payment_id: str) -> Payment | None:
        """The payment with that id, or None."""
        return self._get("payments", payment_id, Payment)

    @_guarded
    def payments_for_product(self, product_id: str) -> Sequence[Payment]:
        """Payments of a product, by (date, id)."""
        return self._all(
            "SELECT data FROM payments WHERE product = ? ORDER BY date, id", (product_id,), Payment
        )

    @_guarded
    def put_promise(self, promise: Promise) -> None:
        """Insert or replace a promise by id."""
        self._forget(("promises", promise.id))
        self._wdb().execute(
            "INSERT INTO promises (id, product, made_on, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET product = excluded.product, "
            "made_on = excluded.made_on, data = excluded.data",
            (promise.id, promise.product, promise.made_on.isoformat(), to_json(promise)),
        )

    @_guarded
    def get_promise(self, promise_id: str) -> Promise | None:
        """The promise with that id, or None."""
        return self._get("promises", promise_id, Promise)

    @_guarded
    def promises_for_product(self, product_id: str) -> Sequence[Promise]:
        """Promises of a product, by (made_on, id)."""
        return self._all(
            "SELECT data FROM promises WHERE product = ? ORDER BY made_on, id",
            (product_id,),
            Promise,
        )

    @_guarded
    def list_promises(self) -> Sequence[Promise]:
        """Every promise, by id."""
        return self._all("SELECT data FROM promises ORDER BY id", (), Promise)

    # -- identities ----------------------------------------------------------------------------

    @_guarded
    def add_comment(self, comment: Comment) -> Comment:
        """Record a comment, returning it with its seq set (never reused, even after delete)."""
        stored = attrs.evolve(comment, seq=self._next(_COMMENT_COUNTER))
        db = self._wdb()
        db.execute(
            "INSERT INTO comments (seq, ticket, data) VALUES (?, ?, ?)",
            (stored.seq, stored.ticket, to_json(stored)),
        )
        return stored

    @_guarded
    def comments(self, ticket: int) -> Sequence[Comment]:
        """Comments of a ticket, in the order added."""
        return self._all(
            "SELECT data FROM comments WHERE ticket = ? ORDER BY seq", (ticket,), Comment
        )

    @_guarded
    def delete_comments(self, ticket: int) -> None:
        """Remove the comments of a ticket."""
        self._wdb().execute("DELETE FROM comments WHERE ticket = ?", (ticket,))

    @_guarded
    def put_block(self, block: Block) -> None:
        """Block an identity in a campaign (replacing an existing block)."""
        self._forget(("blocks", block.campaign, block.customer))
        self._wdb().execute(
            "INSERT INTO blocks (campaign, customer, data) VALUES (?, ?, ?) "
            "ON CONFLICT (campaign, customer) DO UPDATE SET data = excluded.data",
            (block.campaign, block.customer, to_json(block)),
        )
        if self._conn is not None:
            self._conn.blocks_empty = False

    @_guarded
    def remove_block(self, campaign: str, customer: str) -> None:
        """Unblock an identity (no-op when not blocked)."""
        self._forget(("blocks", campaign, customer))
        self._wdb().execute(
            "DELETE FROM blocks WHERE campaign = ? AND customer = ?", (campaign, customer)
        )
        if self._conn is not None:
            self._conn.blocks_empty = None

    @_guarded
    def get_block(self, campaign: str, customer: str) -> Block | None:
        """The block of an identity in a campaign, or None."""
        db = self._db()
        conn = self._conn
        plain = type(campaign) is str and type(customer) is str
        reads = None if conn is None or not conn.active or not plain else conn.reads
        if reads is not None and conn is not None:
            # Most stores block nobody: one look at the table answers every lookup.
            if conn.blocks_empty is None:
                ((last,),) = db.execute("SELECT max(campaign) FROM blocks").fetchall()
                conn.blocks_empty = last is None
                if conn.blocks_empty:
                    return None
            elif conn.blocks_empty:
                return None
        key = ("blocks", campaign, customer)
        if reads is not None and key in reads:
            return cast(Block | None, reads[key])
        row = db.execute(
            "SELECT data FROM blocks WHERE campaign = ? AND customer = ?", (campaign, customer)
        ).fetchone()
        found = None if row is None else self._load(row[0], Block)
        if reads is not None:
            reads[key] = found
        return found

    @_guarded
    def replace_comments(self, ticket: int, comments: Sequence[Comment]) -> None:
        """Replace the comments of a ticket one for one, keeping their seq (I4)."""
        new = list(comments)
        seqs = self._seqs("comments", ticket, "comments", new)
        for seq, item in zip(seqs, new, strict=True):
            if item.seq != seq:
                raise RuleViolation(
                    f"comment {item.seq!r} of ticket {ticket} is not comment {seq!r}; "
                    "expected the comments in their order with their seq"
                )
        self._wdb().executemany(
            "UPDATE comments SET data = ? WHERE seq = ?", [(to_json(c), c.seq) for c in new]
        )

    # -- events --------------------------------------------------------------------------------

    @_guarded
    def append_event(self, event: Event) -> Event:
        """Record an event with the next sequence number (T11)."""
        db = self._wdb()
        conn = self._conn
        seq = None if conn is None else conn.next_event
        if seq is None:
            ((last,),) = db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchall()
            seq = int(last) + 1
        stored = event.numbered(seq)
        if conn is not None and conn.active:
            conn.new_events.append((seq, _json(stored)))  # written at the commit
            conn.next_event = seq + 1
        else:
            db.execute("INSERT INTO events (seq, data) VALUES (?, ?)", (seq, _json(stored)))
        return stored

    @_guarded
    def events(self, after: int = 0) -> Iterator[Event]:
        """Events with seq > after, in order (those recorded when called), read in pages."""
        db = self._db()
        conn = self._conn
        ((last,),) = db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchall()
        new = [] if conn is None or not conn.active else list(conn.new_events)
        return self._event_pages(after, int(last), new)

    @_guarded
    def replace_event(self, event: Event) -> None:
        """Replace the recorded event with the same seq (I4)."""
        seq = event.seq
        db = self._wdb()
        conn = self._conn
        if conn is not None and conn.active:
            conn.write_events()
        row = (
            db.execute("SELECT data FROM events WHERE seq = ?", (seq,)).fetchone()
            if isinstance(seq, int) and not isinstance(seq, bool)
            else None
        )
        if row is None:
            raise RuleViolation(f"event seq {seq!r} is not recorded; expected a recorded event")
        old = decode_event(row[0])
        if old.kind != event.kind:
            raise RuleViolation(
                f"event {seq} is a {old.kind.value} event, not {event.kind.value}; "
                "a replaced event keeps its kind"
            )
        db.execute("UPDATE events SET data = ? WHERE seq = ?", (_json(event), seq))

    def _event_pages(self, after: int, last: int, new: list[tuple[int, str]]) -> Iterator[Event]:
        first = after
        while after < last:
            try:
                rows = (
                    self._db()
                    .execute(
                        "SELECT seq, data FROM events WHERE seq > ? AND seq <= ? "
                        "ORDER BY seq LIMIT ?",
                        (after, last, _EVENTS_PAGE),
                    )
                    .fetchall()
                )
            except sqlite3.Error as exc:
                raise _failure("events", exc) from exc
            if not rows:
                break
            for seq, data in rows:
                yield decode_event(data)
                after = seq
        for seq, data in new:  # appended in this transaction, after every written one
            if seq > first:
                yield decode_event(data)


if TYPE_CHECKING:

    def _implements_store(store: SqliteStore) -> Store:
        return store

    def _implements_unit_of_work(uow: SqliteUnitOfWork) -> UnitOfWork:
        return uow
