"""SQLite store (standard library ``sqlite3``): the embedded default store.

One database file holds everything. Each model is kept as a JSON column written
by :func:`ccdomain.serialization.to_json`, next to the plain columns the store
queries by (campaign, code, customer, status, contact, external id, product).
Money therefore stays exact: it is a decimal string inside the JSON, never a
REAL. Events are stored through :mod:`ccdomain.event_codec`, one JSON text a row.

Where each part lives (each module's docstring names the rules it keeps):

* :mod:`ccdomain.sqlite.store` - :class:`SqliteStore` (open for writing or
  read-only, migrate, purge, integrity check; WAL durability) and
  :class:`SqliteUnitOfWork`, composed of the parts below (E1, E4, I4).
* :mod:`ccdomain.sqlite.schema` - the DDL and :data:`MIGRATIONS` (T2's partial
  unique index, T9's unique external id, K16's company names, T11's event version 3),
  and :data:`APPLICATION_ID`, which tells a ccdomain database from another
  application's (E4).
* :mod:`ccdomain.sqlite.connection` - per-thread connections, transactions and
  savepoints (E2), counters taken inside the transaction so that a rollback leaves
  no gap (T5), sqlite3 errors turned into ccdomain errors (E1), and the reads
  remembered for speed.
* :mod:`ccdomain.sqlite.contacts`, :mod:`~ccdomain.sqlite.tickets`,
  :mod:`~ccdomain.sqlite.collections`, :mod:`~ccdomain.sqlite.identities`,
  :mod:`~ccdomain.sqlite.events` - one part per port of :mod:`ccdomain.ports`
  (K1, M3, M5; T1-T9; C1-C5; I2, I3; T11; and I4's rewrites).
* :mod:`ccdomain.fast_json` (shared with the PostgreSQL store) - the JSON of tickets,
  interactions and routing's events written without cattrs: the same text as
  ``to_json`` and ``encode_event``.

Example (what a committed unit of work wrote is in the file for the next store):
    >>> import tempfile, pathlib
    >>> from ccdomain.models import Campaign
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "cc.db"
    >>> store = SqliteStore(path)
    >>> with store.unit_of_work() as uow:
    ...     uow.put_campaign(Campaign(id="ventas"))
    ...     uow.commit()
    >>> store.close()
    >>> reopened = SqliteStore(path)
    >>> with reopened.unit_of_work() as uow:
    ...     uow.get_campaign("ventas").id
    'ventas'
    >>> reopened.integrity_check(), reopened.schema_version
    ('ok', 6)
    >>> reopened.close()
"""

from ccdomain.sqlite.schema import APPLICATION_ID, MIGRATIONS
from ccdomain.sqlite.store import SqliteStore, SqliteUnitOfWork

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SqliteStore", "SqliteUnitOfWork"]
