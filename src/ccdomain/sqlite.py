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
  ``SAVEPOINT``. Leaving without ``commit()`` rolls back only what that unit of
  work did.
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
:data:`MIGRATIONS` are applied in order (migration 1 is the initial schema).
The database runs in WAL mode with ``synchronous=NORMAL``: a committed unit of
work survives a crash of the process; a power loss may lose the last few
commits but never corrupts the file.

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
    ('ok', 1)
    >>> store.close()
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, Self, TypeVar, cast

import attrs

from ccdomain.collections import Payment, Product, Promise
from ccdomain.errors import (
    DuplicateContact,
    RuleViolation,
    StoreError,
    UnknownContact,
    UnknownTicket,
)
from ccdomain.events import Event
from ccdomain.models import (
    Block,
    Campaign,
    Comment,
    Company,
    Contact,
    Interaction,
    Line,
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
)
"""Forward migrations, in order; migration ``n`` brings ``user_version`` from n-1 to n."""

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


class _Connection:
    """One thread's connection and the state of its transaction."""

    __slots__ = ("active", "db", "generation", "handed", "next_event", "phones", "reads", "stack")

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        # Units of work entered in this thread, outermost first.
        self.stack: list[SqliteUnitOfWork] = []
        # True while this connection holds a transaction begun by a unit of work.
        self.active = False
        # Counter values handed out in the current transaction (kept on rollback: T5).
        self.handed: dict[str, int] = {}
        # Increases at each end of transaction, so a savepoint knows it is gone.
        self.generation = 0
        # While this transaction holds the write lock nobody else can change the file,
        # so what it read stays true until it writes it or rolls back: the next event
        # seq, campaigns, lines and blocks by key, phone lookups.
        self.next_event: int | None = None
        self.reads: dict[tuple[str, ...], Any] = {}
        self.phones: dict[tuple[int, str], tuple[Contact, ...]] = {}

    def begin(self) -> None:
        """Start the write transaction and the savepoint a rollback returns to."""
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("SAVEPOINT uow_start")
        self.active = True

    def commit(self) -> None:
        """Make the transaction's changes durable."""
        self.db.execute("COMMIT")
        self._ended()

    def rollback(self) -> None:
        """Undo the transaction, except the counters it took numbers from (T5)."""
        if self.handed:
            self.db.execute("ROLLBACK TO uow_start")
            self.restore_counters()
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")
        self._ended()

    def restore_counters(self) -> None:
        """Raise every counter again to the highest value handed out in this transaction."""
        self.db.executemany(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)",
            list(self.handed.items()),
        )

    def reset(self) -> None:
        """Leave no transaction behind after a failure (best effort)."""
        try:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        self._ended()

    def forget(self) -> None:
        """Drop what this transaction remembers of its reads (after a rollback)."""
        self.next_event = None
        self.reads.clear()
        self.phones.clear()

    def _ended(self) -> None:
        self.active = False
        self.handed.clear()
        self.forget()
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
        self._savepoint: str | None = None
        self._generation = 0
        self._committed = False

    # -- transaction -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        conn = self._store._connection()
        try:
            if conn.stack:
                if not conn.active:
                    conn.begin()
                self._savepoint = f"uow_{len(conn.stack)}"
                conn.db.execute(f"SAVEPOINT {self._savepoint}")
            else:
                if conn.db.in_transaction:  # left over by a failure: start clean
                    conn.reset()
                self._savepoint = None
                conn.begin()
        except sqlite3.Error as exc:
            if not conn.stack:
                conn.reset()
            raise _failure("unit_of_work", exc) from exc
        self._generation = conn.generation
        self._committed = False
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
            if self._savepoint is None:
                if conn.active:
                    if self._committed:
                        conn.commit()
                    else:
                        conn.rollback()
            elif conn.generation == self._generation:
                if not self._committed:
                    self._rollback_savepoint(conn)
                conn.db.execute(f"RELEASE {self._savepoint}")
        except sqlite3.Error as error:
            if self._savepoint is None:
                conn.reset()
            if exc is None:
                raise _failure("commit" if self._committed else "rollback", error) from error
        finally:
            if conn.stack and conn.stack[-1] is self:
                conn.stack.pop()
            elif self in conn.stack:
                conn.stack.remove(self)
            self._conn = None
        if (
            self._savepoint is None
            and self._committed
            and exc is None
            and self._store._purge_pending
        ):
            self._store._run_purge(conn)

    def _rollback_savepoint(self, conn: _Connection) -> None:
        conn.db.execute(f"ROLLBACK TO {self._savepoint}")
        conn.forget()
        if conn.handed:
            conn.restore_counters()

    @_guarded
    def commit(self) -> None:
        """Keep the changes (the outermost commit makes them durable)."""
        conn = self._conn
        self._committed = True
        if conn is not None and self._savepoint is None and conn.active:
            conn.commit()

    @_guarded
    def rollback(self) -> None:
        """Undo every change made since this unit of work started (or last committed)."""
        conn = self._conn
        if conn is None:
            return
        if self._savepoint is None:
            if conn.active:
                conn.rollback()
        elif conn.generation == self._generation:
            self._rollback_savepoint(conn)

    def _db(self) -> sqlite3.Connection:
        """The connection to run statements on, inside this unit's transaction."""
        conn = self._conn
        if conn is None:
            return self._store._connection().db
        if not conn.active:  # the outermost unit committed or rolled back: go on in a new one
            conn.begin()
            if self._savepoint is None:
                self._generation = conn.generation
        return conn.db

    def _next(self, db: sqlite3.Connection, name: str) -> int:
        """The next value of a counter; remembered so a rollback does not reuse it."""
        ((value,),) = db.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
            (name,),
        ).fetchall()
        conn = self._conn
        if conn is not None and conn.active:
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
        self._put("companies", company.id, self._dump(company))

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
        self._db().execute(
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
        text = to_json(obj)
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
        db = self._db()
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
        db = self._db()
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
        return self._next(self._db(), f"contact:{campaign}")

    @_guarded
    def rename_contact(self, campaign: str, code: str, contact: Contact) -> None:
        """Replace the contact (campaign, code) by ``contact``, which may carry a new code (I4)."""
        if contact.campaign != campaign:
            raise RuleViolation(
                f"contact {code!r} belongs to campaign {campaign!r}; "
                f"it cannot move to {contact.campaign!r}"
            )
        rows = _phone_rows(contact)
        db = self._db()
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
        db = self._db()
        row = db.execute(
            "SELECT data FROM tickets WHERE campaign = ? AND customer = ? AND status = 'open'",
            (campaign, customer),
        ).fetchone()
        if row is not None:
            return self._load(row[0], Ticket), False
        ticket = opener(self._next(db, _TICKET_COUNTER))
        if (ticket.campaign, ticket.customer) != (campaign, customer) or not ticket.is_open:
            raise RuleViolation(
                f"the opener returned ticket {ticket.number} for "
                f"({ticket.campaign!r}, {ticket.customer!r}); expected an open ticket for "
                f"({campaign!r}, {customer!r})"
            )
        try:
            db.execute(
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
        return ticket, True

    @_guarded
    def get_open_ticket(self, campaign: str, customer: str) -> Ticket | None:
        """The open ticket of (campaign, customer), or None."""
        return self._one(
            "SELECT data FROM tickets WHERE campaign = ? AND customer = ? AND status = 'open'",
            (campaign, customer),
            Ticket,
        )

    @_guarded
    def get_ticket(self, number: int) -> Ticket | None:
        """The ticket with that number, or None."""
        return self._one("SELECT data FROM tickets WHERE number = ?", (number,), Ticket)

    @_guarded
    def update_ticket(self, ticket: Ticket) -> None:
        """Replace the stored ticket with the same number (T3: a closed ticket never reopens)."""
        db = self._db()
        # One statement on the hot path; the reason is looked up only when it refuses.
        changed = db.execute(
            "UPDATE tickets SET status = ?, contact = ?, data = ? "
            "WHERE number = ? AND campaign = ? AND customer = ? AND (status = 'open' OR ?)",
            (
                ticket.status.value,
                ticket.contact,
                self._dump(ticket),
                ticket.number,
                ticket.campaign,
                ticket.customer,
                not ticket.is_open,
            ),
        ).rowcount
        if changed == 1:
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
        db = self._db()
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
            return self._all(
                "SELECT data FROM tickets WHERE customer = ? ORDER BY number", (customer,), Ticket
            )
        return self._all(
            "SELECT data FROM tickets WHERE customer = ? AND campaign = ? ORDER BY number",
            (customer, campaign),
            Ticket,
        )

    @_guarded
    def open_tickets_for_customer(self, customer: str) -> Sequence[Ticket]:
        """Open tickets of a customer address across campaigns, by number."""
        return self._all(
            "SELECT data FROM tickets WHERE customer = ? AND status = 'open' ORDER BY number",
            (customer,),
            Ticket,
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
        db = self._db()
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
        self._db().execute(
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
        db = self._db()
        # Ids first cleared, so ids moving between rows of the ticket never collide.
        db.execute("UPDATE interactions SET external_id = NULL WHERE ticket = ?", (ticket,))
        for seq, item in zip(seqs, new, strict=True):
            try:
                db.execute(
                    "UPDATE interactions SET external_id = ?, data = ? WHERE seq = ?",
                    (item.external_id, to_json(item), seq),
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
        self._db().executemany(
            "UPDATE typifications SET data = ? WHERE seq = ?",
            [(to_json(item), seq) for seq, item in zip(seqs, new, strict=True)],
        )

    # -- collections ---------------------------------------------------------------------------

    @_guarded
    def put_product(self, product: Product) -> None:
        """Insert or replace a product by id."""
        self._forget(("products", product.id))
        self._db().execute(
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
        self._db().execute(
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
        self._db().execute(
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
        db = self._db()
        stored = attrs.evolve(comment, seq=self._next(db, _COMMENT_COUNTER))
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
        self._db().execute("DELETE FROM comments WHERE ticket = ?", (ticket,))

    @_guarded
    def put_block(self, block: Block) -> None:
        """Block an identity in a campaign (replacing an existing block)."""
        self._forget(("blocks", block.campaign, block.customer))
        self._db().execute(
            "INSERT INTO blocks (campaign, customer, data) VALUES (?, ?, ?) "
            "ON CONFLICT (campaign, customer) DO UPDATE SET data = excluded.data",
            (block.campaign, block.customer, to_json(block)),
        )

    @_guarded
    def remove_block(self, campaign: str, customer: str) -> None:
        """Unblock an identity (no-op when not blocked)."""
        self._forget(("blocks", campaign, customer))
        self._db().execute(
            "DELETE FROM blocks WHERE campaign = ? AND customer = ?", (campaign, customer)
        )

    @_guarded
    def get_block(self, campaign: str, customer: str) -> Block | None:
        """The block of an identity in a campaign, or None."""
        db = self._db()
        conn = self._conn
        plain = type(campaign) is str and type(customer) is str
        reads = None if conn is None or not conn.active or not plain else conn.reads
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
        self._db().executemany(
            "UPDATE comments SET data = ? WHERE seq = ?", [(to_json(c), c.seq) for c in new]
        )

    # -- events --------------------------------------------------------------------------------

    @_guarded
    def append_event(self, event: Event) -> Event:
        """Record an event with the next sequence number (T11)."""
        db = self._db()
        conn = self._conn
        seq = None if conn is None else conn.next_event
        if seq is None:
            ((last,),) = db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchall()
            seq = int(last) + 1
        stored = attrs.evolve(event, seq=seq)
        db.execute("INSERT INTO events (seq, data) VALUES (?, ?)", (seq, to_json(stored)))
        if conn is not None and conn.active:
            conn.next_event = seq + 1
        return stored

    @_guarded
    def events(self, after: int = 0) -> Iterator[Event]:
        """Events with seq > after, in order (those recorded when called), read in pages."""
        db = self._db()
        ((last,),) = db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchall()
        return self._event_pages(after, int(last))

    @_guarded
    def replace_event(self, event: Event) -> None:
        """Replace the recorded event with the same seq (I4)."""
        seq = event.seq
        row = (
            self._db().execute("SELECT data FROM events WHERE seq = ?", (seq,)).fetchone()
            if isinstance(seq, int) and not isinstance(seq, bool)
            else None
        )
        if row is None:
            raise RuleViolation(f"event seq {seq!r} is not recorded; expected a recorded event")
        old = self._load(row[0], Event)
        if old.kind != event.kind:
            raise RuleViolation(
                f"event {seq} is a {old.kind.value} event, not {event.kind.value}; "
                "a replaced event keeps its kind"
            )
        self._db().execute("UPDATE events SET data = ? WHERE seq = ?", (to_json(event), seq))

    def _event_pages(self, after: int, last: int) -> Iterator[Event]:
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
                return
            for seq, data in rows:
                yield self._load(data, Event)
                after = seq


if TYPE_CHECKING:

    def _implements_store(store: SqliteStore) -> Store:
        return store

    def _implements_unit_of_work(uow: SqliteUnitOfWork) -> UnitOfWork:
        return uow
