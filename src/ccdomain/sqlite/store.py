"""The SQLite store: opening, migrating, purging and checking a database file (E1, I4).

:class:`SqliteStore` opens (or creates) the file and brings its schema up to date
(:mod:`ccdomain.sqlite.schema`); :class:`SqliteUnitOfWork` is composed of one part
per repository port over the transaction part of :mod:`ccdomain.sqlite.connection`.

The database runs in WAL mode with ``synchronous=NORMAL``: a committed unit of
work survives a crash of the process; a power loss may lose the last few commits
but never corrupts the file. ``purge`` (I4) rewrites the file so no anonymized
value can be read back from it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from typing import TYPE_CHECKING, Any

from ccdomain.errors import StoreError
from ccdomain.event_codec import EVENT_VERSION
from ccdomain.sqlite import schema
from ccdomain.sqlite.collections import SqliteCollectionsRepository
from ccdomain.sqlite.connection import _Connection, _failure
from ccdomain.sqlite.contacts import SqliteContactRepository
from ccdomain.sqlite.events import SqliteEventLog
from ccdomain.sqlite.identities import SqliteIdentityRepository
from ccdomain.sqlite.tickets import SqliteTicketRepository

if TYPE_CHECKING:
    from ccdomain.ports import Store, UnitOfWork

__all__ = ["SqliteStore", "SqliteUnitOfWork"]


class SqliteStore:
    """The SQLite implementation of :class:`ccdomain.ports.Store` (see :mod:`ccdomain.sqlite`).

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
        migrations = schema.MIGRATIONS  # read here, so a test can add a later one
        rewriter = schema._EventRewriter()
        conn = self._connection()
        db = conn.db
        try:
            db.execute("PRAGMA journal_mode = WAL").fetchall()
            db.execute("BEGIN IMMEDIATE")
            try:
                (version,) = db.execute("PRAGMA user_version").fetchone()
                if version > len(migrations):
                    raise StoreError(
                        f"the database {self._path!r} has schema version {version}; "
                        f"this ccdomain knows versions up to {len(migrations)}"
                    )
                db.create_function(
                    "ccdomain_company_name_key", 1, schema._company_name_key, deterministic=True
                )
                db.create_function("ccdomain_event_v3", 1, rewriter, deterministic=True)
                for number in range(version + 1, len(migrations) + 1):
                    for statement in migrations[number - 1]:
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
        return len(migrations)


class SqliteUnitOfWork(
    SqliteContactRepository,
    SqliteTicketRepository,
    SqliteCollectionsRepository,
    SqliteIdentityRepository,
    SqliteEventLog,
):
    """A unit of work over a :class:`SqliteStore` (see :mod:`ccdomain.ports`): one part per
    repository port over the transaction part (:mod:`ccdomain.sqlite.connection`).

    Used outside a ``with`` block, each call is its own transaction.
    """


if TYPE_CHECKING:

    def _implements_store(store: SqliteStore) -> Store:
        return store

    def _implements_unit_of_work(uow: SqliteUnitOfWork) -> UnitOfWork:
        return uow
