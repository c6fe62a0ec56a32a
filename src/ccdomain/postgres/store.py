"""The PostgreSQL store: a connection pool, the schema, retries and purging (E1, I4).

:class:`PostgresStore` opens a :class:`psycopg_pool.ConnectionPool` on a DSN, checks
and (for writing) migrates its schema (:mod:`ccdomain.postgres.schema`), and hands
out :class:`PostgresUnitOfWork` objects, composed of one part per repository port over
the transaction part of :mod:`ccdomain.postgres.connection`. :meth:`PostgresStore.run`
runs a unit of work again when it lost a race with another one (a deadlock, a
serialization failure), a bounded number of times.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from ccdomain.errors import StoreError, StoreUnavailable, show
from ccdomain.postgres.assignment import PostgresAssignmentRepository
from ccdomain.postgres.collections import PostgresCollectionsRepository
from ccdomain.postgres.connection import (
    Connection,
    TransactionConflict,
    _Catalog,
    _failure,
    _Tx,
    _Wire,
)
from ccdomain.postgres.contact_policy import PostgresContactPolicyRepository
from ccdomain.postgres.contacts import PostgresContactRepository
from ccdomain.postgres.events import PostgresEventLog
from ccdomain.postgres.identities import PostgresIdentityRepository
from ccdomain.postgres.schema import CATALOG_VERSION, migrate
from ccdomain.postgres.service_levels import PostgresServiceLevelReads
from ccdomain.postgres.tickets import PostgresTicketRepository

if TYPE_CHECKING:
    from ccdomain.ports import AssignmentRepository, ServiceLevelReads, Store, UnitOfWork

__all__ = ["PostgresStore", "PostgresUnitOfWork"]

_T = TypeVar("_T")


def _describe(dsn: str) -> str:
    """The DSN for messages: its database, host and port, never its password."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "the PostgreSQL database (its DSN cannot be read)"
    name = parts.get("dbname") or parts.get("user") or "?"
    host = parts.get("host") or "localhost"
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"PostgreSQL database {str(name)!r} on {host}{port}"


class PostgresStore:
    """The PostgreSQL implementation of :class:`ccdomain.ports.Store` (see
    :mod:`ccdomain.postgres`).

    Args:
        dsn: a libpq connection string, ``"host=... dbname=..."`` or
            ``"postgresql://user@host:5432/db"``.
        schema: the PostgreSQL schema holding the tables (created when missing).
        read_only: never create, migrate or write: every transaction is read-only, and a
            database without a ccdomain schema is refused.
        min_size: connections the pool keeps open.
        max_size: connections the pool may open at most (a thread holds one while a unit
            of work is open in it).
        timeout: seconds to wait for a connection from the pool, and for a row lock
            another transaction holds (``lock_timeout``), before a ``StoreUnavailable``.

    Raises:
        StoreError: the schema is another application's, newer than this code knows, or
            (``read_only``) holds no ccdomain data.
        StoreUnavailable: (a StoreError) the server cannot be reached.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "ccdomain",
        read_only: bool = False,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 30.0,
    ) -> None:
        if not isinstance(dsn, str) or not dsn.strip():
            raise StoreError(f"{show(dsn)} is not a PostgreSQL DSN; expected a connection string")
        if not isinstance(schema, str) or not schema or "\x00" in schema:
            raise StoreError(f"{show(schema)} is not a schema name; expected a non-empty name")
        if not isinstance(read_only, bool):
            raise StoreError(f"read_only {show(read_only)} is not valid; expected True or False")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise StoreError(f"{timeout!r:.60} is not a timeout; expected seconds > 0")
        self._where = _describe(dsn)
        self._schema = schema
        self._read_only = read_only
        self._timeout = float(timeout)
        self._local = threading.local()
        self._decoded: dict[tuple[type, str], Any] = {}
        # (line, customer) -> the campaign the customer's last inbound message on the
        # line went to when it was not the line's default: the key read ahead next time.
        self._key_guesses: dict[tuple[str, str], str] = {}
        self._purge_pending = False
        self._closed = False
        # Each pooled connection's statement sender, with the statements it prepared.
        self._wires: weakref.WeakKeyDictionary[Connection, _Wire] = weakref.WeakKeyDictionary()
        # Campaigns and lines kept across transactions (schemas with a catalog version).
        self._catalog: _Catalog | None = None
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            dsn,
            kwargs={"autocommit": True},
            min_size=min_size,
            max_size=max(max_size, min_size),
            open=False,
            configure=self._configure,
            timeout=self._timeout,
            name="ccdomain",
        )
        try:
            self._pool.open(wait=True, timeout=self._timeout)
            with self._pool.connection() as conn:
                self._schema_version = migrate(
                    conn, self._schema, where=f"cannot use {self._where}", writing=not read_only
                )
            if self._schema_version >= CATALOG_VERSION:
                self._catalog = _Catalog()
        except psycopg.Error as exc:
            self.close()
            raise _failure("", exc, self._where) from exc
        except PoolTimeout as exc:
            self.close()
            raise StoreUnavailable(
                f"cannot use {self._where}: no connection within {self._timeout:g} s ({exc})"
            ) from exc
        except BaseException:
            self.close()
            raise

    def _configure(self, conn: Connection) -> None:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self._schema)))
        conn.execute(
            sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{int(self._timeout * 1000)}ms"))
        )
        if self._read_only:
            conn.execute(b"SET default_transaction_read_only = on")

    def __repr__(self) -> str:
        return f"PostgresStore({self._where}, schema={self._schema!r})"

    @property
    def where(self) -> str:
        """The database, as messages name it (never with its password)."""
        return self._where

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding the tables."""
        return self._schema

    @property
    def schema_version(self) -> int:
        """The version of the ccdomain schema (its ``ccdomain_schema_version`` row)."""
        return self._schema_version

    @property
    def read_only(self) -> bool:
        """Whether the store was opened with ``read_only=True`` (it never writes)."""
        return self._read_only

    def unit_of_work(self) -> PostgresUnitOfWork:
        """A new unit of work; a savepoint of the active one when nested in this thread."""
        return PostgresUnitOfWork(self)

    def run(self, work: Callable[[], _T], *, attempts: int = 5) -> _T:
        """``work()`` inside one committed unit of work, run again when it lost a race.

        PostgreSQL settles some races between transactions by aborting one (a deadlock,
        a serialization failure): that unit of work kept nothing, and running it again
        usually succeeds. ``work`` calls the services with this store (each call a
        savepoint of the unit of work ``run`` opened) and may run more than once, so it
        must not have effects outside the store.

        Raises:
            StoreError: it lost ``attempts`` times in a row (naming the last race).
            CcdomainError: whatever ``work`` raised otherwise (the unit of work rolled back).
        """
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise StoreError(f"{attempts!r:.60} is not a number of attempts; expected >= 1")
        if getattr(self._local, "tx", None) is not None:
            raise StoreError(
                "run() was called inside a unit of work; expected it outermost (a race "
                "aborts the whole transaction, which only the outermost unit can run again)"
            )
        for attempt in range(1, attempts + 1):
            try:
                self._local.running = True
                try:
                    with self.unit_of_work() as uow:
                        result = work()
                        uow.commit()
                finally:
                    self._local.running = False
                return result
            except TransactionConflict as exc:
                if attempt == attempts:
                    raise StoreError(
                        f"gave up after {attempts} attempts, each lost a race with another "
                        f"transaction; the last: {exc}"
                    ) from exc
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close the pool and its connections; later use raises StoreUnavailable."""
        self._closed = True
        with contextlib.suppress(Exception):
            self._pool.close(timeout=5)

    def purge(self) -> None:
        """Erase freed and superseded rows from the tables' files (I4, ``Purgeable``).

        ``VACUUM FULL`` rewrites every table of the schema without its dead rows, so values
        deleted or overwritten (by an anonymization) cannot be read back from the table
        files. (The server's write-ahead log and backups are the operator's to manage.)
        Called inside a unit of work, it runs when the outermost one commits.

        Raises:
            StoreError: the store is read-only or closed, or the database failed.
        """
        if self._read_only:
            raise StoreUnavailable(
                f"cannot purge {self._where}: the store was opened read-only; "
                "expected a store opened for writing"
            )
        if getattr(self._local, "tx", None) is not None:
            self._purge_pending = True
            return
        self._run_purge()

    def _run_purge(self) -> None:
        self._purge_pending = False
        try:
            with self._connection() as conn:
                tables = [
                    row[0]
                    for row in conn.execute(
                        b"SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1",
                        (self._schema,),
                    )
                ]
                for table in tables:
                    conn.execute(
                        sql.SQL("VACUUM FULL {}.{}").format(
                            sql.Identifier(self._schema), sql.Identifier(table)
                        )
                    )
        except psycopg.Error as exc:
            raise _failure("purge", exc, self._where) from exc

    # -- connections -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _connection(self) -> Any:
        tx = self._acquire()
        try:
            yield tx.conn
        finally:
            self._release(tx)

    def _acquire(self) -> _Tx:
        if self._closed:
            raise StoreUnavailable(f"the store on {self._where} is closed")
        try:
            conn = self._pool.getconn()
        except PoolTimeout as exc:
            raise StoreUnavailable(
                f"cannot use {self._where}: no free connection within {self._timeout:g} s; "
                "expected fewer units of work open at once, or a larger max_size"
            ) from exc
        except psycopg.Error as exc:
            raise _failure("unit_of_work", exc, self._where) from exc
        wire = self._wires.get(conn)
        if wire is None:  # a connection new to the store: its statements are prepared anew
            wire = self._wires[conn] = _Wire(conn)
        return _Tx(conn, wire, self._catalog)

    def _release(self, tx: _Tx) -> None:
        # As contextlib.suppress(Exception), without its three calls (once per transaction):
        # the pool discards a connection it cannot take back.
        try:  # noqa: SIM105
            self._pool.putconn(tx.conn)
        except Exception:
            pass


class PostgresUnitOfWork(
    PostgresContactRepository,
    PostgresTicketRepository,
    PostgresCollectionsRepository,
    PostgresIdentityRepository,
    PostgresEventLog,
    PostgresServiceLevelReads,
    PostgresAssignmentRepository,
    PostgresContactPolicyRepository,
):
    """A unit of work over a :class:`PostgresStore` (see :mod:`ccdomain.ports`): one part per
    repository port over the transaction part (:mod:`ccdomain.postgres.connection`).

    Used outside a ``with`` block, each call is its own transaction.
    """


if TYPE_CHECKING:

    def _implements_store(store: PostgresStore) -> Store:
        return store

    def _implements_unit_of_work(uow: PostgresUnitOfWork) -> UnitOfWork:
        return uow

    def _implements_service_level_reads(uow: PostgresUnitOfWork) -> ServiceLevelReads:
        return uow

    def _implements_assignment(uow: PostgresUnitOfWork) -> AssignmentRepository:
        return uow
