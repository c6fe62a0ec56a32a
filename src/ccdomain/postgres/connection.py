"""Transactions of the PostgreSQL store: units of work, savepoints, counters, locks, errors.

How the store keeps its transaction rules on a database many processes share:

* E2 - a unit of work is a transaction: the outermost one takes a connection from
  the store's pool and runs ``BEGIN`` (READ COMMITTED); a nested one is a
  ``SAVEPOINT``, taken before its first write (units nested with no write in between
  share one), except a nested unit that began before its transaction sent anything
  (each service call in ``PostgresStore.run``): undoing it is undoing the transaction,
  which then goes on anew. Leaving without ``commit()`` rolls back only what that unit
  did.
* T5 - numbers (tickets, comments, generated contact codes) come from counter rows.
  A transaction's first take of a counter locks its row and advances it (``INSERT ...
  ON CONFLICT DO UPDATE ... RETURNING``, which waits for any other transaction holding
  it and reads the value it committed); later takes are counted in memory, undone with
  the savepoint they were taken under, and written to the row at the commit when they
  changed it. A rolled back transaction's writes to the row are undone with it, so the
  next one takes the same numbers, and the row lock keeps every other writer of that
  counter waiting until the commit: no number goes to two records, none is skipped.
* T2, T7 - reads of one ticket inside a unit of work (``get_open_ticket``,
  ``get_ticket``, ``get_or_open_ticket``) lock its row (``FOR UPDATE``): the service
  that read it changes it next, and a concurrent unit of work changing the same ticket
  waits, then reads the committed ticket (no lost update).
* T9 - ``find_interaction`` inside a unit of work takes a transaction advisory lock on
  the external id before looking, so of two workers handling the same redelivered
  webhook, the second waits for the first's commit and then finds its interaction.
* Races PostgreSQL settles by aborting a transaction (a deadlock, a serialization
  failure) make the whole transaction lost: it is rolled back, and the operation, and
  every later one of its units of work, raises :class:`TransactionConflict` (a
  ``StoreUnavailable``: nothing of the unit of work was kept). Run the work through
  :meth:`ccdomain.postgres.PostgresStore.run` to have it retried, a bounded number of
  times.
* E1 - no ``psycopg`` exception escapes (:func:`_guarded`): a lost or unreachable
  server, a read-only database, a lock held past the store's timeout are a
  ``StoreUnavailable``, a value the database refuses a ``StoreError``.

Round trips, which cost more than the statements they carry (issue 16): statements go
through :class:`_Wire` (libpq's pipeline mode, each statement prepared once per
connection); statements returning nothing the caller needs wait in ``_Tx.pending`` and go
with the next one (:class:`_Session`), including the writes a part knows cannot be
refused (a refusal after all loses the whole transaction); reads routing makes next are
made ahead and kept in the transaction until it writes what they read (``_Tx.forget``
and the parts' ``_wrote_*``); campaigns and lines are kept across transactions behind
the schema's catalog version (:class:`_Catalog`).

:class:`_UnitOfWorkBase` is the transaction part of
:class:`ccdomain.postgres.PostgresUnitOfWork`; each port's part subclasses it.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Protocol, Self, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.generators import fetch_many as _fetch_many
from psycopg.generators import send as _send
from psycopg.pq.abc import PGresult
from psycopg.waiting import wait as _wait

from ccdomain.errors import RuleViolation, StoreError, StoreUnavailable
from ccdomain.fast_json import _json
from ccdomain.models import Block, Campaign, Company, Line, Payment, Product, Promise, Ticket
from ccdomain.postgres.schema import MIGRATIONS
from ccdomain.rules.routing import ticket_queue
from ccdomain.serialization import from_json

__all__ = ["TransactionConflict"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_U = TypeVar("_U", bound="_UnitOfWorkBase")

Connection = psycopg.Connection[tuple[Any, ...]]
Cursor = psycopg.Cursor[tuple[Any, ...]]

# Models made of immutable values only: one decoded from a row is handed out again for
# the same row text (as the SQLite store does).
_SHAREABLE: frozenset[type] = frozenset(
    {Campaign, Line, Company, Ticket, Block, Product, Payment, Promise}
)
_DECODED_LIMIT = 50_000
_AUTO = PyFormat.AUTO
# The formats asked for n values (each chosen by psycopg), made once; the types and
# formats of n texts as psycopg dumps them (see ``_Wire.adapt_one``).
_MANY = 33
_AUTOS = tuple((_AUTO,) * count for count in range(_MANY))
_UNKNOWN = tuple((0,) * count for count in range(_MANY))
_TEXT = tuple((pq.Format.TEXT,) * count for count in range(_MANY))
_INTERVAL = 0.1  # seconds between checks for an interrupt while waiting (as psycopg's)
_MISSING = object()
_PENDING = object()  # a read made ahead, not sent yet
_FATAL = pq.ExecStatus.FATAL_ERROR
_COMMAND_OK = pq.ExecStatus.COMMAND_OK


class TransactionConflict(StoreUnavailable):
    """PostgreSQL aborted the transaction to settle a race (a deadlock, a serialization
    failure): nothing of the unit of work was kept; running it again may succeed.

    :meth:`ccdomain.postgres.PostgresStore.run` runs a unit of work again on it.
    """


def _q(text: str) -> bytes:
    """A query built from the store's own names (tables, columns), never from values."""
    return text.encode()


def _failure(operation: str, exc: BaseException, where: str) -> StoreError | RuleViolation:
    """The ccdomain error for a database failure during ``operation``."""
    head = f"{operation} failed: {where}" if operation else f"cannot use {where}"
    if isinstance(exc, pg_errors.SerializationFailure | pg_errors.DeadlockDetected):
        return TransactionConflict(
            f"{head}: the transaction lost a race with another one and was rolled back "
            f"({type(exc).__name__}: {str(exc).strip()}); nothing of it was kept, run it again"
        )
    if isinstance(exc, pg_errors.LockNotAvailable | pg_errors.QueryCanceled):
        return StoreUnavailable(
            f"{head}: is locked by another transaction past the timeout ({str(exc).strip()})"
        )
    if isinstance(exc, pg_errors.ReadOnlySqlTransaction):
        return StoreUnavailable(f"{head}: cannot be written (the store is read-only)")
    if isinstance(
        exc,
        psycopg.OperationalError
        | psycopg.InterfaceError
        | pg_errors.InsufficientResources
        | pg_errors.InsufficientPrivilege
        | pg_errors.InternalError_,
    ):
        return StoreUnavailable(f"{head}: the database cannot be used ({str(exc).strip()})")
    if isinstance(exc, psycopg.IntegrityError):
        return RuleViolation(f"{operation} was refused by the database: {str(exc).strip()}")
    return StoreError(f"{operation or 'opening'} failed: {where}: {type(exc).__name__}: {exc}")


def _guarded(method: Callable[Concatenate[_U, _P], _R]) -> Callable[Concatenate[_U, _P], _R]:
    """Run a port method inside its unit's transaction (or its own one, outside a ``with``
    block), turning any ``psycopg`` exception into a ccdomain error (E1)."""
    operation = method.__name__

    # Its arguments passed on as they came (``method(*args)``: no new tuple), the unit
    # read from them without a ``cast`` call: the wrapper runs around every port call.
    @functools.wraps(method)
    def guarded(*args: Any, **kwargs: Any) -> _R:
        unit: _UnitOfWorkBase = args[0]
        tx = unit._tx
        if tx is None:  # not entered: the call is its own unit of work
            with unit._store.unit_of_work() as own:
                found = method(own, *args[1:], **kwargs)
                own.commit()
            return found
        if tx.lost is not None:
            raise StoreUnavailable(tx.lost)
        try:
            return method(*args, **kwargs)
        except psycopg.Error as exc:
            error = _failure(operation, exc, unit._store.where)
            tx.failed(error, exc)
            if tx.lost is not None:  # say so from the first error on
                raise type(error)(tx.lost) from exc
            raise error from exc
        except (UnicodeEncodeError, OverflowError) as exc:
            raise StoreError(
                f"{operation} failed: a value PostgreSQL cannot hold: {exc}; expected text "
                "without NUL characters or lone surrogates and integers of at most 64 bits"
            ) from exc

    return guarded


class _Result:
    """A statement's outcome, its rows read at once: the part of a cursor the store's
    parts use (``fetchone``, iteration, ``rowcount``)."""

    __slots__ = ("_at", "_rows", "rowcount")

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self._at = 0
        self.rowcount = rowcount

    def fetchone(self) -> tuple[Any, ...] | None:
        at = self._at
        if at < len(self._rows):
            self._at = at + 1
            return self._rows[at]
        return None

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._at = self._rows[self._at :], len(self._rows)
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())


# The outcome of most statements (BEGIN, SAVEPOINT, a write of one row or none), shared:
# with no rows, a _Result never changes (fetchall returns a new empty list each time).
_NO_ROWS = (_Result([], 0), _Result([], 1))


@functools.lru_cache(maxsize=512)
def _numbered(query: bytes) -> bytes:
    """The query with libpq's ``$n`` placeholders for the store's ``%s`` ones (the
    store's queries hold no other ``%``)."""
    parts = query.split(b"%s")
    out = [parts[0]]
    for number, part in enumerate(parts[1:], start=1):
        out.append(b"$%d" % number)
        out.append(part)
    return b"".join(out)


# A statement ready to send: its text, its parameter types, values and formats.
_Send = tuple[bytes, tuple[int, ...], Any, Any]


class _Wire:
    """A connection's statements sent the short way: each statement prepared once per
    connection (the server parses and plans it once), values adapted by psycopg's own
    dumpers and loaders, and every batch sent in libpq's pipeline mode as one round trip.

    Why not ``connection.execute``: the store runs ~10 statements per routed message, and
    psycopg's cursor machinery around each (cursor object, query conversion, prepared
    statement bookkeeping, pipeline objects) cost more client CPU than the statement's
    round trip; this sends the same protocol messages with a few calls per statement.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pgconn = conn.pgconn
        self.socket = conn.pgconn.socket
        self.encoding = conn.info.encoding
        self.utf8 = self.encoding == "utf-8"
        self.dumper = Transformer(conn)
        self.loader = Transformer(conn)
        # (query, parameter types) -> name of the statement prepared on this connection.
        self.prepared: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
        self.names = 0
        # The index in the last failed batch of the statement that failed.
        self.failed_at = -1

    def run(self, statements: Sequence[tuple[bytes, Sequence[Any] | None]]) -> list[_Result]:
        """Run the statements in order in one round trip; raise the first one's error."""
        return self.send(self.adapt(statements))

    def adapt(self, statements: Sequence[tuple[bytes, Sequence[Any] | None]]) -> list[_Send]:
        """The statements ready to send: values adapted (before anything is sent, so a
        value PostgreSQL cannot hold raises with nothing sent)."""
        return [self.adapt_one(query, params) for query, params in statements]

    def adapt_one(self, query: bytes, params: Sequence[Any] | None) -> _Send:
        """One statement ready to send (see :meth:`adapt`)."""
        if not params:
            return (_numbered(query), (), None, None)
        count = len(params)
        if count < _MANY and self.utf8:
            # Most statements take text only: what psycopg's dumper makes of a str (its
            # UTF-8 bytes, type unknown, text format), made here; psycopg dumps the rest,
            # and a text holding NUL, which it refuses.
            texts = []
            for value in params:
                if type(value) is not str or "\x00" in value:
                    break
                texts.append(value.encode())
            else:
                return (_numbered(query), _UNKNOWN[count], texts, _TEXT[count])
        dumper = self.dumper
        values = dumper.dump_sequence(params, _AUTOS[count] if count < _MANY else (_AUTO,) * count)
        return (_numbered(query), dumper.types or (), values, dumper.formats)

    def send(self, sends: list[_Send]) -> list[_Result]:
        """Send adapted statements in one round trip; raise the first one's error."""
        pg = self.pgconn
        conn = self.conn
        prepared = self.prepared
        fresh: dict[int, tuple[bytes, tuple[int, ...], bytes]] = {}
        named: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
        results: list[list[PGresult]] = []
        try:
            pg.enter_pipeline_mode()
            try:
                for text, types, values, formats in sends:
                    name = prepared.get((text, types)) or named.get((text, types))
                    if name is None:
                        self.names += 1
                        name = named[(text, types)] = b"ccd_%d" % self.names
                        pg.send_prepare(name, text, types)
                        fresh[len(results)] = (text, types, name)
                        results.append([])
                    pg.send_query_prepared(name, values, formats)
                    results.append([])
                pg.pipeline_sync()
                # psycopg's own wait, without Connection.wait's wrapper (a few µs a call,
                # several calls a round trip); the socket stays the same.
                socket = self.socket
                if pg.flush():
                    _wait(_send(pg), socket, interval=_INTERVAL)
                for index in range(len(results)):
                    results[index] = _wait(_fetch_many(pg), socket, interval=_INTERVAL)
                _wait(_fetch_many(pg), socket, interval=_INTERVAL)  # the sync
            finally:
                pg.exit_pipeline_mode()
        except BaseException:
            # The connection is in an unknown state (the server lost, an interrupt): it
            # is not used again (the pool replaces a closed connection).
            with contextlib.suppress(Exception):
                conn.close()
            raise
        out: list[_Result] = []
        error: psycopg.Error | None = None
        statement = -1
        for index, found in enumerate(results):
            is_prepare = index in fresh
            if not is_prepare:
                statement += 1
            result = found[-1] if found else None
            if result is None:
                continue
            status = result.status
            if status == _FATAL:
                if error is None:
                    error = pg_errors.error_from_result(result, encoding=self.encoding)
                    self.failed_at = statement if not is_prepare else statement + 1
                continue
            if is_prepare:
                if status == _COMMAND_OK:
                    text, types, name = fresh[index]
                    self.prepared[(text, types)] = name
                continue
            if error is not None:
                continue
            if result.ntuples:
                loader = self.loader
                loader.set_pgresult(result)
                rows = loader.load_rows(0, result.ntuples, tuple)
                out.append(_Result(rows, result.command_tuples or 0))
            else:
                count = result.command_tuples or 0
                out.append(_NO_ROWS[count] if count < 2 else _Result([], count))
        if error is not None:
            raise error
        return out


class _Catalog:
    """Campaigns and lines as read, shared by a store's connections while the schema's
    catalog version stays the same.

    Every write to ``campaigns`` or ``lines`` bumps the one row of ``catalog_version``
    (a statement trigger, :mod:`ccdomain.postgres.schema`), whoever writes. Each
    transaction reads that row with its first statement and uses the entries of its
    version only: a campaign another worker redeclared is read anew by every transaction
    that starts after that commit, as it would be without the cache; one that started
    before uses what it saw, as a READ COMMITTED read made at its start would.
    """

    __slots__ = ("_current",)

    def __init__(self) -> None:
        self._current: tuple[tuple[int, str], dict[tuple[str, str], Any]] = ((-1, ""), {})

    def latest(self) -> tuple[tuple[int, str], dict[tuple[str, str], Any]]:
        """The latest version seen and its entries (version ``(-1, "")``: none yet)."""
        return self._current

    def distrust(self, seen: tuple[int, str] | None = None) -> None:
        """The next transactions assume no version (they read it first): a transaction
        of this store changed campaigns or lines (``seen`` None: the number stays), or
        one under ``run`` assumed a version and read ``seen``, which then becomes the
        latest even with a lower number (a recreated schema). Assuming ``seen`` instead
        would lose the retry again whenever campaigns or lines change between attempts."""
        number = self._current[0][0] if seen is None else seen[0]
        self._current = ((number, ""), {})

    def at(self, version: tuple[int, str]) -> dict[tuple[str, str], Any]:
        """The entries of that version (new ones when it is not the latest seen).

        A version is the row's number and the transaction that wrote the row (its
        ``xmin``): a restored or recreated schema brings the number back to one already
        seen, written by another transaction, whose entries are another schema's."""
        current = self._current
        if current[0] == version:
            return current[1]
        entries: dict[tuple[str, str], Any] = {}
        if version[0] >= current[0][0]:
            self._current = (version, entries)
        return entries


_CATALOG_VERSION = b"SELECT version, xmin::text FROM catalog_version"
# The counter of ticket numbers (T5).
TICKET_COUNTER = "ticket"


class _Session:
    """The connection as a unit of work's parts use it.

    Statements that return nothing the caller needs - the transaction's own (``BEGIN``,
    ``SAVEPOINT``, ``RELEASE``, ``ROLLBACK TO``) and the writes a part knows cannot be
    refused (:meth:`defer`) - wait, in order, and go to the server in one round trip
    with the next statement that returns something, or with ``COMMIT``: the server runs
    them in the order they were made, so every read sees the writes made before it.
    """

    __slots__ = ("tx",)

    def __init__(self, tx: _Tx) -> None:
        self.tx = tx

    def execute(self, query: bytes, params: Sequence[Any] | None = None) -> _Result:
        return self.execute_all(((query, params),))[0]

    def execute_all(self, queries: Sequence[tuple[bytes, Sequence[Any] | None]]) -> list[_Result]:
        """Run statements in order in one round trip (each sees what the one before did)."""
        tx = self.tx
        if tx.catalog_unread:
            # The transaction's first statement: the catalog version goes with it.
            tx.catalog_unread = False
            assert tx.catalog_source is not None
            version, *results = self._run([(_CATALOG_VERSION, None), *queries])
            row = version.fetchone()
            seen = None if row is None else (int(row[0]), str(row[1]))
            tx.catalog = None if seen is None else tx.catalog_source.at(seen)
            assumed, tx.catalog_assumed = tx.catalog_assumed, None
            if assumed is not None and seen != assumed:
                tx.catalog_source.distrust(seen)
                tx.stale(seen)
            return results
        return self._run(queries)

    def _run(self, queries: Sequence[tuple[bytes, Sequence[Any] | None]]) -> list[_Result]:
        tx = self.tx
        wire = tx.wire
        adapt = wire.adapt_one  # as wire.adapt, one call fewer (every round trip comes here)
        sends = [adapt(query, params) for query, params in queries]
        pending = tx.pending
        if not pending:
            return wire.send(sends)
        tx.pending = []
        try:
            results = wire.send([send for send, _ in pending] + sends)
        except psycopg.Error:
            failed = wire.failed_at
            if 0 <= failed < len(pending) and pending[failed][1]:
                # A deferred statement failed: which unit of work made it is not known
                # here, so no savepoint can be trusted to undo it alone.
                tx.poisoned = True
            raise
        for result, (_, kind) in zip(results, pending, strict=False):
            if kind is not True and kind is not False:
                kind(result)  # a read made ahead: its result goes where it is kept
        return results[len(pending) :]

    def defer(self, query: bytes, params: Sequence[Any]) -> None:
        """Send a write with the next statement (for writes that cannot be refused); its
        values are adapted now, so one PostgreSQL cannot hold raises here."""
        tx = self.tx
        tx.pending.append((tx.wire.adapt_one(query, params), True))

    def ahead(self, query: bytes, params: Sequence[Any], keep: Callable[[_Result], None]) -> None:
        """Send a read with the next statement; ``keep`` receives its result."""
        tx = self.tx
        tx.pending.append((tx.wire.adapt_one(query, params), keep))

    def cursor(self) -> Cursor:
        self.tx.flush()
        return self.tx.conn.cursor()

    def uncached(self) -> None:
        """The transaction writes campaigns or lines: it reads them from its own rows."""
        tx = self.tx
        if tx.catalog_unread:  # what it read of them so far is checked first
            self.execute_all(())
        tx.catalog = None
        tx.catalog_unread = False
        tx.catalog_written = True


_BEGIN: tuple[_Send, bool | Callable[[_Result], None]] = ((b"BEGIN", (), None, None), False)


def _drop(result: _Result) -> None:
    """What a read made ahead keeps once what it read is forgotten: nothing."""


def _control(statement: str) -> tuple[_Send, bool | Callable[[_Result], None]]:
    """A transaction control statement (no values) as it waits in ``_Tx.pending``."""
    return ((statement.encode(), (), None, None), False)


_ROLLBACK = _control("ROLLBACK")
# The "savepoint" of a nested unit of work that began before its transaction sent
# anything: rolling it back rolls back the transaction (see ``_Tx.mark``).
_WHOLE = "(the whole transaction)"


class _Tx:
    """One thread's connection while it has a unit of work open, and its transaction."""

    # Slots: one is made per transaction, and its fields are read at every port call.
    __slots__ = (
        "active",
        "agent_seen",
        "agents_seen",
        "blocks_seen",
        "catalog",
        "catalog_assumed",
        "catalog_source",
        "catalog_unread",
        "catalog_written",
        "conn",
        "counters",
        "free_ids",
        "generation",
        "guessed",
        "ids_ahead",
        "line_campaign",
        "line_id",
        "lists_seen",
        "locked",
        "lost",
        "open_seen",
        "opened",
        "opening",
        "opening_by",
        "opt_outs_seen",
        "pending",
        "phones_seen",
        "poisoned",
        "session",
        "speculative",
        "stack",
        "unmarked",
        "waiting_seen",
        "wire",
        "written",
    )

    def __init__(self, conn: Connection, wire: _Wire, catalog: _Catalog | None) -> None:
        self.conn = conn
        self.wire = wire
        # The store's catalog (None: the schema has no catalog version), the entries of
        # this transaction's version once read, and whether it is still to be read.
        self.catalog_source = catalog
        self.catalog: dict[tuple[str, str], Any] | None = None
        self.catalog_unread = False
        # Under ``PostgresStore.run`` (``speculative``), a transaction uses the entries of
        # the latest version seen before it reads the version (``catalog_assumed``) with
        # its first statement; another version then loses the transaction as a race
        # does (``run`` runs it again with the entries of the version it read).
        self.speculative = False
        self.catalog_assumed: tuple[int, str] | None = None
        self.catalog_written = False
        # Units of work entered in this thread, outermost first.
        self.stack: list[_UnitOfWorkBase] = []
        # Units from this index of ``stack`` on have no savepoint yet (see ``mark``).
        self.unmarked = 0
        self.active = False
        # Set when the database aborted the whole transaction (a race, a lost server):
        # every later operation of its units of work fails with this message.
        self.lost: str | None = None
        # Set when a deferred write failed: the whole transaction is lost.
        self.poisoned = False
        # Counter values taken in this transaction, by name: the row was locked (and its
        # next value taken) once, the values since counted here; ``written`` holds the
        # value the row has in this transaction, and the commit writes the ones that
        # differ (T5).
        self.counters: dict[str, int] = {}
        self.written: dict[str, int] = {}
        # What this transaction knows of rows it holds locked (each reset when a
        # savepoint is rolled back, which may give the locks back): the tickets it
        # locked or wrote, by number, as (campaign, customer, open); the external ids it
        # looked up under their advisory lock and found unrecorded (T9). And reads of
        # tickets it made since it last wrote one: the open ticket of a key (locked), the
        # tickets of a (customer, campaign).
        self.locked: dict[int, tuple[str, str, bool]] = {}
        self.free_ids: set[str] = set()
        self.open_seen: dict[tuple[str, str], Any] = {}
        self.lists_seen: dict[tuple[str, str], Any] = {}
        # Read ahead with a key's open ticket (see ``get_block``), kept until this
        # transaction writes what they read: the opt-outs of a (campaign, customer) by
        # channel, and the contacts indexed under an E.164 number (their JSON texts).
        self.opt_outs_seen: dict[tuple[str, str], dict[str, str]] = {}
        self.phones_seen: dict[str, list[str]] = {}
        # The agents of a queue (their JSON texts), read locked with the statement after
        # an opening in that queue (see ``get_or_open_ticket``); None until it is sent.
        self.agents_seen: dict[str, list[str] | None] = {}
        # The same for one agent (by id), read after an outbound message of theirs on a
        # ticket this transaction opened (A4); and the numbers of those tickets.
        self.agent_seen: dict[str, Any] = {}  # the text, None, or _PENDING
        self.opened: set[int] = set()
        # The waiting-line entries of open tickets read with their key (their JSON text, or
        # None: not waiting), locked, by ticket number (see ``_open``; A3).
        self.waiting_seen: dict[int, str | None] = {}
        # What routing said an opening is given to (``prefetch_opening``): the outbound
        # message's agent and the queue the message names, until the unit of work that
        # was told (``opening_by``) ends.
        self.opening: tuple[str | None, str | None] | None = None
        self.opening_by: object = None
        # External ids whose T9 lookup was sent ahead (``prefetch_interaction``): a box
        # that receives the recorded interaction's text, or None (not recorded).
        self.ids_ahead: dict[str, list[Any]] = {}
        # The blocks of keys read ahead (their JSON texts), and the default campaign of the
        # line this transaction read last (an inbound message's routing reads the
        # customer's tickets next, then, most often, that campaign's key).
        self.blocks_seen: dict[tuple[str, str], str | None] = {}
        self.line_campaign: str | None = None
        self.line_id: str | None = None
        # The (line, customer) whose key was read ahead by a guess (see
        # ``tickets_for_customer``): the key read next for that customer, if any, is
        # where the message went, and the next guess for them.
        self.guessed: tuple[str, str] | None = None
        self.generation = 0
        # Statements waiting to be sent with the next one (see _Session), each with
        # what it is: True a deferred write, False a transaction control statement, or a
        # read made ahead (the function that keeps its result).
        self.pending: list[tuple[_Send, bool | Callable[[_Result], None]]] = []
        self.session = _Session(self)

    def begin(self) -> None:
        self.pending = [_BEGIN]
        self.active = True
        self.poisoned = False
        self.catalog = None
        self.catalog_assumed = None
        source = self.catalog_source
        self.catalog_unread = source is not None
        if self.speculative and source is not None:
            version, entries = source.latest()
            if version[1]:  # a version read (not one distrusted)
                self.catalog, self.catalog_assumed = entries, version

    def stale(self, seen: tuple[int, str] | None) -> None:
        """The catalog version read is not the one the transaction assumed: it is lost
        (nothing of it was kept) and ``run`` runs it again."""
        self.lose(
            "campaigns or lines changed since this worker last read them (catalog version "
            f"{'none' if seen is None else seen[0]}); the transaction read the old ones"
        )
        assert self.lost is not None
        raise TransactionConflict(self.lost)

    def took_ticket_counter(self, number: int) -> None:
        """The ticket counter's row is locked by this transaction and holds ``number``,
        not used yet (the commit writes back the last number used, T5). Reads of tickets
        made before the lock may miss openings committed meanwhile; from now on no
        opening commits while this transaction runs: they are read again."""
        self.written[TICKET_COUNTER] = number
        self.counters[TICKET_COUNTER] = number - 1
        self.open_seen.clear()
        self.lists_seen.clear()

    def checked(self) -> None:
        """Read the catalog version now if the transaction assumed one and has not read it
        yet (it ends without having sent anything: what it answered from the catalog is
        checked before it ends)."""
        if self.catalog_unread and self.catalog_assumed is not None:
            self.session.execute_all(())

    def flush(self) -> None:
        """Send the deferred statements now."""
        if self.pending:
            self.session._run(())

    def mark(self) -> None:
        """Take the savepoint of the units of work that had not written yet (before a write)."""
        stack = self.stack
        start = self.unmarked
        self.unmarked = len(stack)
        eligible = [
            unit for unit in stack[start:] if unit._nested and unit._generation == self.generation
        ]
        if len(eligible) == 1 and eligible[0]._at_start:
            # The only unit to mark began before the transaction sent anything: undoing
            # it is undoing the whole transaction, which needs no savepoint.
            eligible[0]._savepoint = _WHOLE
            eligible[0]._counters_mark = ({}, {})
            return
        name = None
        counters: tuple[dict[str, int], dict[str, int]] = ({}, {})
        for depth in range(start, len(stack)):
            unit = stack[depth]
            if unit._nested and unit._generation == self.generation:
                if name is None:
                    name = f"uow_{depth}"
                    self.pending.append(_control(f"SAVEPOINT {name}"))
                    unit._owner = True
                    counters = (dict(self.counters), dict(self.written))
                unit._savepoint = name
                unit._counters_mark = counters

    def _unsent(self) -> bool:
        """Whether nothing of the transaction was sent yet, and nothing waits to be written."""
        pending = self.pending
        return bool(pending) and pending[0] is _BEGIN and not any(w is True for _, w in pending)

    def commit(self) -> None:
        self.checked()
        if self._unsent() and not self.counters:  # nothing was sent, nothing to write
            self.pending = []
            self._ended()
            return
        written = self.written
        final: list[tuple[bytes, Sequence[Any] | None]] = [
            (b"UPDATE counters SET value = %s WHERE name = %s", (value, name))
            for name, value in self.counters.items()
            if written.get(name) != value
        ]
        final.append((b"COMMIT", None))
        self.session._run(final)
        if self.catalog_written and self.catalog_source is not None:
            self.catalog_source.distrust()
        self._ended()

    def rollback(self) -> None:
        self.checked()
        begun = not (self.pending and self.pending[0] is _BEGIN)
        self.pending = []
        if begun:
            self.wire.run(((b"ROLLBACK", None),))
        self._ended()

    def reset(self) -> None:
        """Leave no transaction behind (best effort, after a failure)."""
        self.pending = []
        try:
            if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self.wire.run(((b"ROLLBACK", None),))
        except psycopg.Error:
            pass
        self._ended()

    def failed(self, error: StoreError | RuleViolation, exc: psycopg.Error) -> None:
        """After a statement failed: if nothing but a rollback of the whole transaction can
        follow (a race lost, a server gone, no savepoint to return to, a deferred write
        refused), do it and mark the transaction lost."""
        if not self.active:
            return
        try:
            status = self.conn.info.transaction_status
        except psycopg.Error:
            status = None
        savepoint = any(
            u._savepoint is not None and u._generation == self.generation for u in self.stack
        )
        in_error = status == psycopg.pq.TransactionStatus.INERROR
        # Refused before it ran (nothing of the transaction sent yet, or since sent).
        usable = status == psycopg.pq.TransactionStatus.INTRANS or (
            status == psycopg.pq.TransactionStatus.IDLE and self.pending[:1] == [_BEGIN]
        )
        if (
            self.poisoned
            or isinstance(error, StoreUnavailable)
            or not (usable or (in_error and savepoint))
        ):
            self.lose(str(error))

    def lose(self, message: str) -> None:
        """Roll the whole transaction back and mark it lost: every later operation of its
        units of work fails saying ``message`` and that nothing of it was kept."""
        self.reset()
        self.lost = (
            f"{message}; the whole transaction was rolled back: nothing of it was kept"
            if "nothing of it was kept" not in message
            else message
        )

    def forget(self) -> None:
        """Forget what the transaction knew of its locked rows and its reads (a savepoint
        was rolled back: its writes are undone, the locks taken under it may be gone)."""
        if self.pending:
            # Reads made ahead and not sent yet run before the rollback: what they read
            # is forgotten too (they would keep it once it arrives).
            self.pending = [
                (send, kind if type(kind) is bool else _drop) for send, kind in self.pending
            ]
        self.locked.clear()
        self.free_ids.clear()
        self.open_seen.clear()
        self.lists_seen.clear()
        self.opt_outs_seen.clear()
        self.phones_seen.clear()
        self.agents_seen.clear()
        self.agent_seen.clear()
        self.opened.clear()
        self.waiting_seen.clear()
        self.blocks_seen.clear()
        self.ids_ahead.clear()

    def _ended(self) -> None:
        self.opening = self.opening_by = None
        self.line_campaign = None
        self.line_id = None
        self.guessed = None
        self.catalog_written = False
        self.active = False
        self.catalog = None
        self.catalog_unread = False
        self.counters.clear()
        self.written.clear()
        self.forget()
        self.generation += 1


# What routing reads of a (campaign, customer) besides its open ticket, in one row: the
# key's tickets, its block, its opt-outs (channels and data, by channel) and the live
# contacts indexed under the customer's E.164 number (see ``_read_key``).
_AHEAD = (
    # The key's tickets only when none is open: routing reads them only then (T10).
    b"SELECT CASE WHEN EXISTS (SELECT 1 FROM tickets WHERE campaign = %s AND customer = %s "
    b"AND status = 'open') THEN NULL ELSE ARRAY(SELECT data FROM tickets WHERE customer = %s "
    b"AND campaign = %s ORDER BY number) END, "
    b"(SELECT data FROM blocks WHERE campaign = %s AND customer = %s)"
)
_AHEAD_OPT_OUTS = (
    b", ARRAY(SELECT channel FROM opt_outs WHERE campaign = %s AND customer = %s "
    b"ORDER BY channel), ARRAY(SELECT data FROM opt_outs WHERE campaign = %s "
    b"AND customer = %s ORDER BY channel)"
)
_AHEAD_PHONES = (
    b", ARRAY(SELECT c.data FROM phone_index AS p "
    b"JOIN contacts AS c ON c.campaign = p.campaign AND c.code = p.code "
    b"WHERE p.kind = 0 AND p.key = %s ORDER BY p.id)"
)
# The schema version that created the contact policy's tables (opt_outs).
_POLICY_SINCE = next(
    number
    for number, statements in enumerate(MIGRATIONS, start=1)
    if any("CREATE TABLE opt_outs" in statement for statement in statements)
)

_OPEN_SQL = b"SELECT data FROM tickets WHERE campaign = %s AND customer = %s AND status = 'open'"
_OPEN_LOCKED = _OPEN_SQL + b" FOR UPDATE"
_KEY_TICKETS = b"SELECT data FROM tickets WHERE customer = %s AND campaign = %s ORDER BY number"
# A3: the waiting-line entry of a key's open ticket, locked (after the ticket, as a closing
# locks them).
_KEY_WAITING = (
    b"SELECT w.data FROM waiting AS w JOIN tickets AS t ON t.number = w.number "
    b"WHERE t.campaign = %s AND t.customer = %s AND t.status = 'open' FOR UPDATE OF w"
)

# A transaction's first take of a counter: locks its row and takes its next value (which
# the row then holds: a transaction that takes one number writes the row once).
_TAKE_COUNTER = (
    b"INSERT INTO counters (name, value) VALUES (%s, 1) "
    b"ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"
)
# Whether a key has an open ticket; whether a customer has one in any campaign.
_KEY_OPEN = b"SELECT 1 FROM tickets WHERE campaign = %s AND customer = %s AND status = 'open'"
_CUSTOMER_OPEN = b"SELECT 1 FROM tickets WHERE customer = %s AND status = 'open'"
# The same, when a key has no open ticket (routing opens one next, most often): no row
# when it has one. Sent before the key's reads (see ``_open``). For a guessed key (an
# inbound message's), when the customer has no open ticket at all: a message whose key
# was not the one guessed (it goes where its customer has an open ticket) takes nothing.
_TAKE_COUNTER_IF_NONE_OPEN = (
    b"INSERT INTO counters (name, value) SELECT %s, 1 WHERE NOT EXISTS ("
    + _KEY_OPEN
    + b") ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"
)
_TAKE_COUNTER_IF_CUSTOMER_HAS_NONE_OPEN = _TAKE_COUNTER_IF_NONE_OPEN.replace(
    _KEY_OPEN, _CUSTOMER_OPEN
)


# A2, A4: an agent's state, and the states of a queue's agents in id order (the lock order).
_AGENT_BY_ID = b"SELECT data FROM agents WHERE id = %s"
_OF_QUEUE = b'SELECT data FROM agents WHERE queues @> ARRAY[%s::text COLLATE "C"]'
_AGENTS_OF_QUEUE = _OF_QUEUE + b" ORDER BY id"
_AGENTS_VERSION = 2  # the schema version that created the assignment tables
# The ticket counter's row when this transaction holds it, or takes it now (no other does).
_COUNTER_OURS = (
    b"SELECT 1 FROM counters WHERE name = '" + TICKET_COUNTER.encode() + b"' FOR UPDATE SKIP LOCKED"
)


@functools.cache
def _ahead_agents(unless: bytes | None, agent: bool, queue: bool) -> bytes:
    """The columns that read the agents an opening is given to next (A2, A4; see
    ``prefetch_opening``), locked: the outbound message's agent, then the agents of the
    ticket's queue unless that agent is known.

    With ``unless`` (``_KEY_OPEN`` or ``_CUSTOMER_OPEN``), each is read only when that
    finds no open ticket (NULL: not read), and only when this transaction holds the
    ticket counter or takes it here (no other holds it). ``_read_key`` adds them to its
    row, after the key's open ticket is locked, so agents are locked after ticket rows,
    as everywhere else (a closing locks its ticket, then its agent); for a guessed key
    only when the customer has no open ticket at all, so a wrong guess leaves no agent
    locked before the right key's ticket. The counter: its statement, earlier in the
    round trip, takes it only when the key has no open ticket at its start, and a ticket
    closed while the key's lock was awaited leaves it not taken and the key with none
    open here; agents locked before the counter would deadlock with an opening of their
    queue, which holds the counter and waits for them (A2, A3). Without ``unless`` (the
    counter taken earlier in the same round trip), they are read."""
    if unless is None:
        start, end = b"ARRAY(", b")"
    else:
        # CASE tries its conditions in order: the counter only when the key has none open.
        start = b"CASE WHEN EXISTS (" + unless + b") THEN NULL WHEN NOT EXISTS ("
        start += _COUNTER_OURS + b") THEN NULL ELSE ARRAY("
        end = b") END"
    sql = b""
    if agent:
        sql += b", " + start + _AGENT_BY_ID + b" FOR UPDATE" + end
    if queue:
        sql += b", " + start + _OF_QUEUE
        if agent:
            sql += b" AND NOT EXISTS (SELECT 1 FROM agents WHERE id = %s)"
        sql += b" ORDER BY id FOR UPDATE" + end
    return sql


@functools.cache
def _ahead_statement(
    policy: bool, phone: bool, unless: bytes | None, agent: bool, queue: bool
) -> bytes:
    """``_read_key``'s statement: ``_AHEAD``, then its opt-outs, phones and agents
    columns as asked (``unless`` None and neither ``agent`` nor ``queue``: no agents).
    Built once per shape: the same text object each time, its hash kept (the statement
    caches look it up by text)."""
    query = _AHEAD
    if policy:
        query += _AHEAD_OPT_OUTS
    if phone:
        query += _AHEAD_PHONES
    if agent or queue:
        query += _ahead_agents(unless, agent, queue)
    return query


@functools.cache
def _agents_statement(agent: bool, queue: bool) -> bytes:
    """``_ahead_agents``'s columns as a statement of their own (read unconditionally: the
    counter was taken just before it, in the same round trip)."""
    return b"SELECT " + _ahead_agents(None, agent, queue).removeprefix(b", ")


def _agents_params(agent: str | None, queue: str | None, unless: list[str]) -> list[str]:
    """The values of ``_ahead_agents``'s columns for ``agent`` and ``queue`` (each None:
    not read), with ``unless``'s values before each when it has any."""
    params: list[str] = []
    if agent is not None:
        params += (*unless, agent)
    if queue is not None:
        params += (*unless, queue) if agent is None else (*unless, queue, agent)
    return params


def _counter_value(result: _Result) -> int:
    row = result.fetchone()
    assert row is not None  # INSERT ... ON CONFLICT DO UPDATE returns its row
    return int(row[0])


class _StoreHandle(Protocol):
    """What a unit of work needs of its store (:class:`~ccdomain.postgres.PostgresStore`)."""

    _decoded: dict[tuple[type, str], Any]
    _key_guesses: dict[tuple[str, str], str]
    _purge_pending: bool
    _local: threading.local

    @property
    def read_only(self) -> bool: ...

    @property
    def where(self) -> str: ...

    @property
    def schema_version(self) -> int: ...

    def unit_of_work(self) -> Any: ...

    def _acquire(self) -> _Tx: ...

    def _release(self, tx: _Tx) -> None: ...

    def _run_purge(self) -> None: ...


class _UnitOfWorkBase:
    """The transaction of a :class:`~ccdomain.postgres.PostgresUnitOfWork` and the row helpers
    its parts share (each port's part subclasses it).

    Used outside a ``with`` block, each call is its own transaction.
    """

    def __init__(self, store: _StoreHandle) -> None:
        self._store = store
        self._decoded = store._decoded
        # The store's, fixed once it is open, read here once: the parts ask at each call.
        # Whether reads that precede a write take row locks (not in a read-only store).
        self._locking = not store.read_only
        self._schema_version = store.schema_version
        self._tx: _Tx | None = None
        self._nested = False
        self._savepoint: str | None = None
        self._owner = False
        self._counters_mark: tuple[dict[str, int], dict[str, int]] = ({}, {})
        self._at_start = False
        self._first: _Result | None = None
        self._generation = 0
        self._committed = False

    # -- transaction -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        tx: _Tx | None = getattr(self._store._local, "tx", None)
        try:
            if tx is not None and tx.stack:
                if tx.lost is not None:
                    raise StoreUnavailable(tx.lost)
                if not tx.active:
                    tx.begin()
                self._nested = True
            else:
                tx = self._store._acquire()
                self._store._local.tx = tx
                self._nested = False
                try:
                    tx.lost = None
                    # run() runs it again when it loses a race: it may assume the
                    # catalog version (see _Tx.speculative).
                    tx.speculative = getattr(self._store._local, "running", False)
                    tx.begin()
                except BaseException:
                    self._store._local.tx = None
                    self._store._release(tx)
                    raise
        except psycopg.Error as exc:
            raise _failure("unit_of_work", exc, self._store.where) from exc
        self._savepoint = None
        self._owner = False
        self._generation = tx.generation
        self._committed = False
        # Nothing of the transaction sent yet: a nested unit that then writes alone is
        # undone by undoing the transaction (see ``_Tx.mark``).
        self._at_start = self._nested and tx.pending == [_BEGIN] and not tx.counters
        if not self._nested:
            tx.unmarked = 0
        tx.stack.append(self)
        self._tx = tx
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tx = self._tx
        if tx is None:
            return
        failure: StoreError | RuleViolation | None = None
        try:
            if tx.lost is not None:
                if not self._nested:
                    tx.reset()
                    if self._committed and exc is None:
                        failure = StoreUnavailable(tx.lost)
            elif not self._nested:
                if tx.active:
                    if self._committed:
                        tx.commit()
                    else:
                        tx.rollback()
            elif tx.generation == self._generation:
                if not self._committed:
                    self._rollback_savepoint(tx)
                if self._owner:
                    tx.pending.append(_control(f"RELEASE SAVEPOINT {self._savepoint}"))
        except psycopg.Error as error:
            converted = _failure(
                "commit" if self._committed else "rollback", error, self._store.where
            )
            if not self._nested:
                tx.reset()
            else:
                tx.failed(converted, error)
            if exc is None:
                failure = converted
        finally:
            if tx.opening_by is self:  # routing's hint was about this unit's key (A2, A4)
                tx.opening = tx.opening_by = None
            if tx.stack and tx.stack[-1] is self:
                tx.stack.pop()
            elif self in tx.stack:
                tx.stack.remove(self)
            tx.unmarked = min(tx.unmarked, len(tx.stack))
            self._tx = None
            if not self._nested:
                tx.lost = None
                self._store._local.tx = None
                self._store._release(tx)
        if failure is not None:
            raise failure
        if not self._nested and self._committed and exc is None and self._store._purge_pending:
            self._store._run_purge()

    def _rollback_savepoint(self, tx: _Tx) -> None:
        if self._savepoint is None:  # nothing written since this unit began
            return
        if self._savepoint is _WHOLE:
            # Nothing of the transaction came before this unit: roll it all back and go
            # on in a new one (sent with the next statement).
            tx.pending = [_BEGIN] if tx.pending[:1] == [_BEGIN] else [_ROLLBACK, _BEGIN]
            tx.counters.clear()
            tx.written.clear()
            tx.forget()
            tx.catalog = None
            tx.catalog_unread = tx.catalog_source is not None
            return
        taken = _control(f"SAVEPOINT {self._savepoint}")
        if taken in tx.pending:  # not sent yet, nor anything after it: nothing to undo
            del tx.pending[len(tx.pending) - tx.pending[::-1].index(taken) :]
        else:
            tx.pending.append(_control(f"ROLLBACK TO SAVEPOINT {self._savepoint}"))
        counters, written = self._counters_mark
        if tx.counters != counters or tx.written != written:
            # Counters first taken under the savepoint lost their row lock with it: forgotten.
            tx.counters.clear()
            tx.counters.update(counters)
            tx.written.clear()
            tx.written.update(written)
        tx.forget()

    def commit(self) -> None:
        """Keep the changes (the outermost commit makes them durable)."""
        tx = self._tx
        if tx is not None and tx.lost is not None:
            raise StoreUnavailable(tx.lost)
        self._committed = True
        if tx is not None and not self._nested and tx.active:
            try:
                tx.commit()
            except psycopg.Error as exc:
                error = _failure("commit", exc, self._store.where)
                tx.reset()
                raise error from exc

    def rollback(self) -> None:
        """Undo every change made since this unit of work started (or last committed)."""
        tx = self._tx
        if tx is None:
            return
        try:
            if tx.lost is not None:
                if not self._nested:
                    tx.reset()
                    tx.lost = None
            elif not self._nested:
                if tx.active:
                    tx.rollback()
            elif tx.generation == self._generation:
                self._rollback_savepoint(tx)
        except psycopg.Error as exc:
            error = _failure("rollback", exc, self._store.where)
            tx.failed(error, exc)
            raise error from exc

    def _db(self) -> _Session:
        """The connection to read on, inside this unit's transaction."""
        tx = self._tx
        assert tx is not None  # _guarded enters a unit for calls made outside one
        if tx.lost is not None:
            raise StoreUnavailable(tx.lost)
        if not tx.active:  # the outermost unit committed or rolled back: go on in a new one
            tx.begin()
            if not self._nested:
                self._generation = tx.generation
        return tx.session

    def _wdb(self) -> _Session:
        """The connection to write on: the savepoints of the active units are taken first."""
        tx = self._tx
        assert tx is not None
        if tx.lost is not None or not tx.active:  # as _db (called here only then)
            self._db()
        if tx.unmarked < len(tx.stack):
            tx.mark()
        return tx.session

    def _never_refused(self, query: bytes, params: Sequence[Any]) -> None:
        """A write that is never refused, sent with the next statement; at once in a
        read-only store, whose refusal of any write is the call's (E1)."""
        db = self._wdb()
        if not self._locking:  # a read-only store
            db.execute(query, params)
        else:
            db.defer(query, params)

    def _next(self, name: str) -> int:
        """Take the next value of counter ``name`` inside this unit's transaction (T5)."""
        tx = self._tx
        assert tx is not None
        value = tx.counters.get(name)
        if value is None:
            conn = self._wdb()  # the lock is taken under the savepoint that would undo it
            value = _counter_value(conn.execute(_TAKE_COUNTER, (name,)))
            tx.written[name] = value
        else:
            self._wdb()
            value += 1
        tx.counters[name] = value
        return value

    # -- tickets read together -----------------------------------------------------------------

    def _open(
        self,
        campaign: str,
        customer: str,
        ahead: tuple[bytes, Sequence[Any]] | None = None,
        first: tuple[bytes, Sequence[Any]] | None = None,
    ) -> tuple[Any, ...]:
        """Read the open ticket of a key, locked (T2, T7), and the key's tickets (routing
        reads them next when there is none, T10), into the transaction's reads (kept
        until it writes a ticket), in one round trip.

        ``ahead``, a statement returning one row whose first column is the array of the
        key's tickets (``_KEY_TICKETS`` as an ``ARRAY``, or NULL: not read), replaces the
        second read: its row is returned. It runs after the lock is granted, so it sees
        what the ticket's last writer committed. ``first`` runs before them; its result is
        left in ``_first``.
        """
        tx = self._tx
        assert tx is not None
        key = (campaign, customer)
        queries: list[tuple[bytes, Sequence[Any] | None]] = [
            (_OPEN_LOCKED, key),
            ahead or (_KEY_TICKETS, (customer, campaign)),
        ]
        counter = ahead is not None and tx.opening is not None and TICKET_COUNTER not in tx.counters
        if counter:
            # T2, T5: when the key has no open ticket, the ticket counter is taken first
            # (every opening takes it), so the key's reads after it see any opening of
            # the key committed by then, as get_or_open_ticket's second look would; an
            # opening then needs no round trip of its own. Unused, the commit writes the
            # row back (no gap). Only in routing, which may open a ticket (it says so with
            # ``prefetch_opening``): a read elsewhere (a block, for a screen) leaves the
            # counter, which serializes every opening, to the openings.
            queries.insert(
                0,
                (_TAKE_COUNTER_IF_NONE_OPEN, (TICKET_COUNTER, *key))
                if first is None
                else (_TAKE_COUNTER_IF_CUSTOMER_HAS_NONE_OPEN, (TICKET_COUNTER, customer)),
            )
        waiting = ahead is None and self._locking and self._schema_version >= _AGENTS_VERSION
        if waiting:
            # Outside routing, the key's open ticket is read to be changed, most often
            # closed, which takes it out of its waiting line (A3): its entry, read locked
            # now, lets take_waiting answer without a round trip.
            queries.append((_KEY_WAITING, key))
        db = self._wdb() if counter else self._db()  # the counter under its savepoint
        if first is not None:
            self._first, *results = db.execute_all([first, *queries])
        else:
            results = db.execute_all(queries)
        if counter:
            taken = results.pop(0).fetchone()
            if taken is not None:
                tx.took_ticket_counter(int(taken[0]))
        found, listed, *entry = results
        row = found.fetchone()
        ticket = None if row is None else self._load(row[0], Ticket)
        if waiting and ticket is not None:
            waits = entry[0].fetchone()
            tx.waiting_seen[ticket.number] = None if waits is None else waits[0]
        tx.open_seen[key] = ticket
        out: tuple[Any, ...] = ()
        if ahead is None:
            texts = [r[0] for r in listed]
        else:
            out = listed.fetchone() or (None,)
            texts = out[0]
        if texts is not None:
            tx.lists_seen[(customer, campaign)] = texts  # decoded when asked
        if ticket is not None:
            tx.locked[ticket.number] = (campaign, customer, True)
        return out

    def _default_queue(self, campaign: str) -> str | None:
        """X4: the queue of a new ticket of ``campaign`` on the line this transaction read
        last, from the catalog's entries (None when they are not there: not read here)."""
        tx = self._tx
        assert tx is not None
        catalog = tx.catalog
        if catalog is None:
            return None
        record = catalog.get(("campaigns", campaign))
        if type(record) is not Campaign:
            return None
        line = None if tx.line_id is None else catalog.get(("lines", tx.line_id))
        return ticket_queue(record, line if type(line) is Line else None)

    def _open_ticket(self, campaign: str, customer: str) -> Ticket | None:
        """The open ticket of a key, locked (see :meth:`_open`)."""
        tx = self._tx
        assert tx is not None
        key = (campaign, customer)
        if key not in tx.open_seen:
            self._open(campaign, customer)
        ticket: Ticket | None = tx.open_seen[key]  # typed here: no cast call, no union built
        return ticket

    def _read_key(
        self,
        campaign: str,
        customer: str,
        first: tuple[bytes, Sequence[Any]] | None = None,
    ) -> _Result | None:
        """Read what routing reads of a (campaign, customer), in one round trip: its open
        ticket (locked), its tickets, its block, its opt-outs (W3) and the live contacts
        indexed under the customer's number (M4), each kept until the transaction writes
        what it read. ``first``, a statement to run first in the same round trip, has
        its result returned."""
        tx = self._tx
        assert tx is not None
        self._first = None
        guessed = tx.guessed
        if guessed is None and first is None and tx.opening is not None and tx.line_id:
            # A message routed on a line to the campaign it names (an outbound one): the
            # customer's reply on that line goes to this campaign's ticket (T6), the next
            # guess for them.
            guessed = (tx.line_id, customer)
        if guessed is not None and guessed[1] == customer:
            # The key read ahead for this customer's message was not its key: this one
            # is, and is the next guess (bounded: forgotten all at once when full).
            guesses = self._store._key_guesses
            if campaign == tx.line_campaign:
                guesses.pop(guessed, None)  # the line's default, guessed without it
            else:
                if len(guesses) >= _DECODED_LIMIT:
                    guesses.clear()
                guesses[guessed] = campaign
            tx.guessed = None
        params = [campaign, customer, customer, campaign, campaign, customer]
        policy = self._schema_version >= _POLICY_SINCE
        if policy:
            params += (campaign, customer, campaign, customer)
        phone = customer.startswith("+")
        if phone:
            params.append(customer)
        agent, queue = self._opening_agents(campaign)
        unless = None
        if agent is not None or queue is not None:
            # A key read first for an inbound message is a guess (``first``: the
            # customer's tickets, which say where it goes).
            if first is None:
                unless, key = _KEY_OPEN, [campaign, customer]
            else:
                unless, key = _CUSTOMER_OPEN, [customer]
            params += _agents_params(agent, queue, key)
        query = _ahead_statement(policy, phone, unless, agent is not None, queue is not None)
        _, block, *rest = self._open(campaign, customer, (query, params), first)
        tx.blocks_seen[(campaign, customer)] = block
        if policy:
            channels, texts = rest.pop(0), rest.pop(0)
            tx.opt_outs_seen[(campaign, customer)] = dict(zip(channels, texts, strict=True))
        if phone:
            tx.phones_seen[customer] = rest.pop(0)
        self._kept_agents(agent, queue, rest)
        return self._first

    def _kept_agents(self, agent: str | None, queue: str | None, columns: Sequence[Any]) -> None:
        """Keep what ``_ahead_agents``'s columns for ``agent`` and ``queue`` read, locked
        (a column NULL: not read): the agent's text or None (no such agent), and the
        queue's agents' texts unless the agent was found (then they were not read)."""
        tx = self._tx
        assert tx is not None
        values = list(columns)
        known = None
        if agent is not None and values:
            known = values.pop(0)
            if known is not None:
                tx.agent_seen[agent] = known[0] if known else None
        if queue is not None and values:
            texts = values.pop(0)
            # Read, locked, unless the agent was to be read and was not (neither was, or
            # the counter was freed between the two) or is known (A4).
            if texts is not None and (agent is None or known == []):
                tx.agents_seen[queue] = list(texts)

    def _opening_agents(self, campaign: str) -> tuple[str | None, str | None]:
        """The agent and the queue whose agents an opening of ``campaign``'s key would
        read next, as routing said (``prefetch_opening``; (None, None): not said). The
        queue is the one the message names, else the ticket's (X4) when the campaign and
        the line this transaction read last are known without a read."""
        tx = self._tx
        assert tx is not None
        opening = tx.opening
        if opening is None or self._schema_version < _AGENTS_VERSION:
            return None, None
        agent, queue = opening
        if queue is None:
            queue = self._default_queue(campaign)
        return (
            agent if type(agent) is str else None,
            queue if type(queue) is str and queue else None,
        )

    # -- rows --------------------------------------------------------------------------------

    def _load(self, text: str, cls: type[_R]) -> _R:
        """The model a row's JSON describes, decoded once per distinct text when shareable."""
        if cls not in _SHAREABLE:
            return from_json(text, cls)
        key = (cls, text)
        found: _R | None = self._decoded.get(key)
        if found is None:
            found = from_json(text, cls)
            if len(self._decoded) >= _DECODED_LIMIT:
                self._decoded.clear()
            self._decoded[key] = found
        return found

    def _dump(self, obj: Any) -> str:
        """The JSON of a model about to be written (:mod:`ccdomain.fast_json`),
        remembered for the next read of that text (routing reads next the ticket it
        wrote last)."""
        text = _json(obj)
        if type(obj) in _SHAREABLE:
            decoded = self._decoded
            if len(decoded) >= _DECODED_LIMIT:
                decoded.clear()
            decoded[(type(obj), text)] = obj
        return text

    def _one(self, query: bytes, params: Sequence[Any], cls: type[_R]) -> _R | None:
        row = self._db().execute(query, params).fetchone()
        return None if row is None else self._load(row[0], cls)

    def _all(self, query: bytes, params: Sequence[Any], cls: type[_R]) -> list[_R]:
        return [self._load(row[0], cls) for row in self._db().execute(query, params)]

    def _get(self, table: str, key: str, cls: type[_R]) -> _R | None:
        return self._one(_q(f"SELECT data FROM {table} WHERE id = %s"), (key,), cls)

    def _cached(self, table: str, key: str, cls: type[_R]) -> _R | None:
        """``_get`` of a campaign or line, from the store's catalog when it holds it."""
        tx = self._tx
        assert tx is not None
        catalog = tx.catalog if tx.active else None
        if catalog is not None and type(key) is str:
            # Typed by the annotation, not ``cast``: ``_R | None`` would build a union at
            # each call.
            kept: _R | None = catalog.get((table, key), _MISSING)
            if kept is not _MISSING:
                return kept
        found = self._get(table, key, cls)
        catalog = tx.catalog  # read with the transaction's first statement
        if catalog is not None and type(key) is str:
            catalog[(table, key)] = found
        return found

    def _put(self, table: str, key: str, data: str) -> None:
        self._wdb().execute(
            _q(
                f"INSERT INTO {table} (id, data) VALUES (%s, %s) "
                "ON CONFLICT (id) DO UPDATE SET data = excluded.data"
            ),
            (key, data),
        )

    def _seqs(self, table: str, ticket: int, what: str, items: Sequence[Any]) -> list[int]:
        """The row seqs of a ticket's records, checked for a one-for-one replacement (I4)."""
        seqs = [
            int(row[0])
            for row in self._db().execute(
                _q(f"SELECT seq FROM {table} WHERE ticket = %s ORDER BY seq"), (ticket,)
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
