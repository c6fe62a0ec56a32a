"""The SQLite store: opening, migrating, purging and checking a database file (E1, I4).

:class:`SqliteStore` opens (or creates) the file and brings its schema up to date
(:mod:`ccdomain.sqlite.schema`), or, opened with ``read_only=True``, reads it as it
is without ever writing to it; :class:`SqliteUnitOfWork` is composed of one part
per repository port over the transaction part of :mod:`ccdomain.sqlite.connection`.

E1 at the door: a path that cannot name a file, another application's database, a
file or folder that cannot be written (when writing) are refused with a ccdomain
error naming the file and what was expected, before SQLite touches anything.

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
import urllib.parse
from typing import TYPE_CHECKING, Any

from ccdomain.errors import StoreError, StoreUnavailable, show
from ccdomain.event_codec import EVENT_VERSION
from ccdomain.sqlite import schema
from ccdomain.sqlite.assignment import SqliteAssignmentRepository
from ccdomain.sqlite.collections import SqliteCollectionsRepository
from ccdomain.sqlite.connection import _Connection, _failure
from ccdomain.sqlite.contact_policy import SqliteContactPolicyRepository
from ccdomain.sqlite.contacts import SqliteContactRepository
from ccdomain.sqlite.events import SqliteEventLog
from ccdomain.sqlite.identities import SqliteIdentityRepository
from ccdomain.sqlite.service_levels import SqliteServiceLevelReads
from ccdomain.sqlite.tickets import SqliteTicketRepository

if TYPE_CHECKING:
    from ccdomain.ports import ServiceLevelReads, Store, UnitOfWork

__all__ = ["SqliteStore", "SqliteUnitOfWork"]


def _database_path(path: object) -> str:
    """``path`` as the text of a file name, or a StoreError saying why it cannot be one."""
    try:
        text = os.fspath(path)  # type: ignore[call-overload]
    except TypeError:
        text = None
    if not isinstance(text, str):
        raise StoreError(f"{show(path)} is not a database path; expected a str or path")
    if not text:
        raise StoreError(
            "'' is not a database path; expected a file name (SQLite would open a "
            "temporary database, lost at close)"
        )
    if "\x00" in text:
        raise StoreError(
            f"{show(text)} is not a database path: it holds a NUL character; expected a file name"
        )
    try:
        os.fsencode(text)  # what SQLite is given: a surrogate-escaped byte is fine
    except UnicodeEncodeError as exc:
        raise StoreError(
            f"{show(text)} is not a database path: the file system cannot encode "
            f"U+{ord(text[exc.start]):04X} at position {exc.start}; expected a file name"
        ) from None
    return text


def _uri(path: str, options: str) -> str:
    """The SQLite URI of ``path`` with query ``options`` (every byte of the name kept)."""
    return f"file:{urllib.parse.quote(os.fsencode(os.path.abspath(path)))}?{options}"


class SqliteStore:
    """The SQLite implementation of :class:`ccdomain.ports.Store` (see :mod:`ccdomain.sqlite`).

    Args:
        path: the database file. Opened for writing, it is created with its schema when
            missing (or empty: 0 bytes, or a SQLite file holding nothing) and migrated
            when older.
        timeout: seconds a unit of work waits for another writer before failing.
        read_only: open an existing ccdomain database for reading only: nothing is
            created, migrated or written, and no ``-wal`` or ``-shm`` file is left
            behind; a write raises :class:`~ccdomain.errors.StoreUnavailable`.

    Raises:
        StoreError: the path cannot name a file; the file is not a SQLite database,
            is another application's database, holds a schema newer than this version
            of ccdomain knows, or (``read_only``) does not exist or is empty.
        StoreUnavailable: (a StoreError) the file cannot be opened, or (writing) the
            file or its folder cannot be written.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 30.0, read_only: bool = False
    ) -> None:
        self._path = _database_path(path)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise StoreError(f"{timeout!r:.60} is not a timeout; expected seconds >= 0")
        if not isinstance(read_only, bool):
            raise StoreError(f"read_only {show(read_only)} is not valid; expected True or False")
        self._timeout = float(timeout)
        self._read_only = read_only
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[_Connection] = []
        self._closed = False
        # Decoded models by (class, row text), so unchanged rows are not decoded again.
        self._decoded: dict[tuple[type, str], Any] = {}
        # Set by purge() inside a unit of work: the outermost one purges after its commit.
        self._purge_pending = False
        # The URI a read-only store opens, and whether the -wal and -shm files its
        # connections may make are to be removed at close (see _open_read_only).
        self._uri: str | None = None
        self._tidy = False
        if read_only:
            self._schema_version = self._open_read_only()
        else:
            self._check_writable()
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

    @property
    def read_only(self) -> bool:
        """Whether the store was opened with ``read_only=True`` (it never writes)."""
        return self._read_only

    def unit_of_work(self) -> SqliteUnitOfWork:
        """A new unit of work; a savepoint of the active one when nested in this thread."""
        return SqliteUnitOfWork(self)

    def close(self) -> None:
        """Close every connection the store opened; later use raises StoreUnavailable."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
            tidy, self._tidy = self._tidy, False
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):
                conn.db.close()
        if tidy:
            self._remove_side_files()

    def purge(self) -> None:
        """Erase freed and superseded data from the database files (I4, ``Purgeable``).

        ``VACUUM`` rewrites the file without its free pages, then a ``TRUNCATE``
        checkpoint empties the write-ahead log, so values deleted or overwritten
        (by an anonymization) cannot be read back from the file's bytes. Called
        inside a unit of work, it runs when the outermost one commits.

        Raises:
            StoreError: the database is closed or read-only, or a reader in another
                connection kept the log from being emptied (call it again later).
        """
        if self._read_only:
            raise StoreUnavailable(
                f"cannot purge database {self._path!r}: the store was opened read-only; "
                "expected a store opened for writing"
            )
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
            raise _failure("integrity_check", exc, self._path) from exc
        return "\n".join(str(row[0]) for row in rows)

    # -- connections and schema ----------------------------------------------------------------

    def _connection(self) -> _Connection:
        """This thread's connection, opened on first use."""
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is not None and not self._closed:
            return conn
        with self._lock:
            if self._closed:
                raise StoreUnavailable(f"the store on {self._path!r} is closed")
            try:
                db = sqlite3.connect(
                    self._path if self._uri is None else self._uri,
                    timeout=self._timeout,
                    isolation_level=None,
                    check_same_thread=False,
                    cached_statements=256,
                    uri=self._uri is not None,
                )
                db.execute("PRAGMA foreign_keys = ON")
                db.execute("PRAGMA synchronous = NORMAL")
                # 32 MiB of page cache (the default is 2 MiB): the indexes of a busy
                # contact center's day stay in memory.
                db.execute("PRAGMA cache_size = -32768")
            except sqlite3.Error as exc:
                raise _failure("", exc, self._path) from exc
            conn = _Connection(db, self._decoded)
            self._connections.append(conn)
        self._local.conn = conn
        return conn

    def _check_writable(self) -> None:
        """Refuse, before SQLite creates anything, a file or folder this process cannot write.

        WAL needs the folder too: SQLite creates the ``-wal`` and ``-shm`` files there.
        (A write that fails anyway, on a full disk or a file locked by its file system,
        is a StoreUnavailable from the operation.)
        """
        path = self._path
        if path == ":memory:":
            return
        where = f"cannot use database {path!r}"
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise StoreError(f"{where}: it is a folder; expected a database file")
        if not os.path.isdir(folder):
            raise StoreUnavailable(f"{where}: its folder {folder!r} does not exist")
        if os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK):
            raise StoreUnavailable(
                f"{where}: the file cannot be written (no permission, or read-only); "
                "expected a file this process can write (a store opened with "
                "read_only=True reads it)"
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            raise StoreUnavailable(
                f"{where}: its folder {folder!r} cannot be written; expected a folder "
                "where SQLite can create the database and its -wal and -shm files"
            )

    def _open_read_only(self) -> int:
        """Open an existing ccdomain database for reading; its schema version.

        SQLite reads a WAL database through its ``-wal`` and ``-shm`` files, and a
        read-only connection (``mode=ro``) creates them when missing but never removes
        them. So: with a ``-wal`` file there (a writer is at work, or crashed), read
        through it; otherwise, where this process may write the file and its folder,
        read with ``mode=ro`` and, at close, let SQLite remove the files it made (it
        does so only when no other connection uses them); otherwise (read-only media,
        another user's file) read the file as it is (``immutable``), creating nothing.
        """
        path = self._path
        where = f"cannot use database {path!r}"
        if not os.path.exists(path):
            raise StoreError(
                f"{where}: it does not exist; expected an existing ccdomain database "
                "(a read-only store never creates one)"
            )
        if not os.path.isfile(path):
            raise StoreError(f"{where}: it is not a file; expected a database file")
        wal, shm = f"{path}-wal", f"{path}-shm"
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.exists(wal):
            options = "mode=ro"
        elif os.access(path, os.W_OK) and os.access(folder, os.W_OK | os.X_OK):
            options = "mode=ro"
            self._tidy = not os.path.exists(shm)
        else:
            options = "mode=ro&immutable=1"
        self._uri = _uri(path, options)
        try:
            db = self._connection().db
            db.execute("BEGIN")
            try:
                return schema._check_database(db, path, known=len(schema.MIGRATIONS), writing=False)
            finally:
                db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            self.close()
            raise _failure("", exc, path) from exc
        except BaseException:
            self.close()
            raise

    def _remove_side_files(self) -> None:
        """Let SQLite remove the ``-wal`` and ``-shm`` files the read-only connections made.

        Closing the last connection of a WAL database that may write removes them; a
        read-only one never does. So one such connection is opened and closed: if
        another connection still uses the database, SQLite leaves the files to it.
        """
        path = self._path
        if not (os.path.exists(f"{path}-wal") or os.path.exists(f"{path}-shm")):
            return
        with contextlib.suppress(sqlite3.Error):
            db = sqlite3.connect(_uri(path, "mode=rw"), uri=True, timeout=0)
            try:
                db.execute("SELECT count(*) FROM sqlite_master").fetchall()
            finally:
                db.close()

    def _migrate(self) -> int:
        """Bring the schema up to the newest version, returning it.

        The file is checked first, inside the write transaction (so two processes
        creating it at once do not both do it): another application's database is
        refused before anything is written to it, WAL included.
        """
        migrations = schema.MIGRATIONS  # read here, so a test can add a later one
        rewriter = schema._EventRewriter()
        conn = self._connection()
        db = conn.db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                version = schema._check_database(
                    db, self._path, known=len(migrations), writing=True
                )
                db.create_function(
                    "ccdomain_company_name_key", 1, schema._company_name_key, deterministic=True
                )
                db.create_function("ccdomain_event_v3", 1, rewriter, deterministic=True)
                db.create_function(
                    "ccdomain_identity_keys", 1, schema._identity_keys, deterministic=True
                )
                for number in range(version + 1, len(migrations) + 1):
                    for statement in migrations[number - 1]:
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {number}")
                ((application,),) = db.execute("PRAGMA application_id").fetchall()
                if application != schema.APPLICATION_ID:
                    db.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
                db.execute("COMMIT")
            except BaseException:
                conn.reset()
                raise
            db.execute("PRAGMA journal_mode = WAL").fetchall()
        except sqlite3.Error as exc:
            self.close()
            if rewriter.error is not None:
                raise StoreError(
                    f"cannot migrate the events of {self._path!r} to version {EVENT_VERSION} "
                    f"(nothing was changed): {rewriter.error}"
                ) from exc
            raise _failure("", exc, self._path) from exc
        except BaseException:
            self.close()
            raise
        return len(migrations)


class SqliteUnitOfWork(
    SqliteAssignmentRepository,
    SqliteContactRepository,
    SqliteTicketRepository,
    SqliteCollectionsRepository,
    SqliteIdentityRepository,
    SqliteEventLog,
    SqliteServiceLevelReads,
    SqliteContactPolicyRepository,
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

    def _implements_service_level_reads(uow: SqliteUnitOfWork) -> ServiceLevelReads:
        return uow
