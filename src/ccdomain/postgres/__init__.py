"""PostgreSQL store (psycopg 3 and psycopg-pool): many workers, many hosts, one rule book.

Install it with ``pip install 'ccdomain[postgres]'``; importing :mod:`ccdomain` never
imports this package or ``psycopg``. Each model is a JSON text column written by
:func:`ccdomain.serialization.to_json` (events by :mod:`ccdomain.event_codec`), next to
the plain columns the store queries by, as in the SQLite store.

The rules are kept by the database, not by a lock in Python, so they hold across
every process and host that shares it:

* :mod:`ccdomain.postgres.store` - :class:`PostgresStore` (a connection pool on a
  DSN, the schema checked and migrated, :meth:`~PostgresStore.run` to retry a unit of
  work that lost a race, purge) and :class:`PostgresUnitOfWork`, composed of the
  parts below.
* :mod:`ccdomain.postgres.schema` - the DDL, :data:`MIGRATIONS` and the version table
  (T2's partial unique index, T9's unique external id, T5's counter rows).
* :mod:`ccdomain.postgres.connection` - transactions (READ COMMITTED) and savepoints
  (E2), counter rows locked and written in the transaction (T5), row and advisory
  locks where a rule reads then writes (T2, T7, T9), psycopg errors turned into
  ccdomain errors (E1), :class:`TransactionConflict`.
* :mod:`ccdomain.postgres.contacts`, :mod:`~ccdomain.postgres.tickets`,
  :mod:`~ccdomain.postgres.collections`, :mod:`~ccdomain.postgres.identities`,
  :mod:`~ccdomain.postgres.events` - one part per port of :mod:`ccdomain.ports`.

Example (needs a server; ``dsn`` names a database you may create a schema in)::

    store = PostgresStore("postgresql://cc@db.internal/contactcenter")
    with store.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="ventas"))
        uow.commit()
    store.run(lambda: route_interaction(store, ...))  # retried if it lost a race
    store.close()
"""

from ccdomain.postgres.connection import TransactionConflict
from ccdomain.postgres.schema import MIGRATIONS, VERSION_TABLE
from ccdomain.postgres.store import PostgresStore, PostgresUnitOfWork

__all__ = [
    "MIGRATIONS",
    "VERSION_TABLE",
    "PostgresStore",
    "PostgresUnitOfWork",
    "TransactionConflict",
]
