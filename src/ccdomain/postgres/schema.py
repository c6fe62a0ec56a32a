"""The PostgreSQL store's schema: DDL, forward migrations and the version table (T2, T5, T9,
K16, P4, A3, X1, E1).

Every table lives in one PostgreSQL schema (``ccdomain`` unless told otherwise), with
a version table, ``ccdomain_schema_version`` (one row: the schema version), playing
the part of the SQLite store's ``user_version``. Opening a store for writing applies
:data:`MIGRATIONS` in order, in one transaction under an advisory lock, so two
processes opening a new database at once do not both create it. A schema newer than
this code knows, or a PostgreSQL schema holding other tables and no version table
(another application's), is refused with a :class:`~ccdomain.errors.StoreError`
before anything is written.

Rules the schema itself keeps, whatever the writer:

* T2 - a partial unique index on ``tickets(campaign, customer) WHERE status = 'open'``.
* T5 - ticket, comment and contact numbers come from rows of ``counters``, locked
  and written in the transaction that stores what they number (never a SEQUENCE,
  which keeps its value on rollback and leaves gaps).
* T9 - ``interactions.external_id`` is UNIQUE.
* P4 - pending and snoozed tickets are open: their ``status`` column says ``'open'``
  (the JSON holds the precise status), so the partial unique index covers them.
* C1 - every model is a JSON text column (money a decimal string in it).

Events are numbered by a sequence (``events.seq`` is a ``bigserial``): the log's seqs
increase but a rolled-back event leaves a gap there, which no rule forbids.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import psycopg
from psycopg import sql

from ccdomain.errors import StoreError
from ccdomain.models import Contact
from ccdomain.rules.matching import identity_keys
from ccdomain.serialization import from_json

__all__ = ["MIGRATIONS", "VERSION_TABLE"]

VERSION_TABLE: Final = "ccdomain_schema_version"
"""The table holding the schema version (one row)."""

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the schema of ccdomain's SQLite version 3, in PostgreSQL.
    (
        'CREATE TABLE campaigns (id text COLLATE "C" PRIMARY KEY, data text NOT NULL)',
        'CREATE TABLE lines (id text COLLATE "C" PRIMARY KEY, data text NOT NULL)',
        'CREATE TABLE companies (id text COLLATE "C" PRIMARY KEY, data text NOT NULL)',
        'CREATE TABLE company_names (id text COLLATE "C" PRIMARY KEY REFERENCES companies (id), '
        'key text COLLATE "C" NOT NULL)',
        "CREATE INDEX company_names_by_key ON company_names (key, id)",
        """CREATE TABLE contacts (
            campaign text COLLATE \"C\" NOT NULL,
            code text COLLATE \"C\" NOT NULL,
            data text NOT NULL,
            PRIMARY KEY (campaign, code)
        )""",
        # kind 0 = E.164, 1 = national significant number, 2 = 7-digit suffix; only live
        # contacts; ``id`` order is the order contacts were (re)indexed in (M3).
        """CREATE TABLE phone_index (
            id bigserial PRIMARY KEY,
            kind smallint NOT NULL,
            key text COLLATE \"C\" NOT NULL,
            campaign text COLLATE \"C\" NOT NULL,
            code text COLLATE \"C\" NOT NULL,
            FOREIGN KEY (campaign, code) REFERENCES contacts (campaign, code)
        )""",
        "CREATE INDEX phone_index_by_key ON phone_index (kind, key, id)",
        "CREATE INDEX phone_index_by_contact ON phone_index (campaign, code)",
        'CREATE TABLE counters (name text COLLATE "C" PRIMARY KEY, value bigint NOT NULL)',
        """CREATE TABLE tickets (
            number bigint PRIMARY KEY,
            campaign text COLLATE \"C\" NOT NULL,
            customer text COLLATE \"C\" NOT NULL,
            status text COLLATE \"C\" NOT NULL,
            contact text COLLATE \"C\",
            data text NOT NULL
        )""",
        # T2: at most one open ticket per (campaign, customer), whatever the writer.
        "CREATE UNIQUE INDEX tickets_one_open ON tickets (campaign, customer) "
        "WHERE status = 'open'",
        "CREATE INDEX tickets_by_customer ON tickets (customer, campaign, number)",
        "CREATE INDEX tickets_by_campaign ON tickets (campaign, number)",
        "CREATE INDEX tickets_by_contact ON tickets (campaign, contact, number) "
        "WHERE contact IS NOT NULL",
        """CREATE TABLE interactions (
            seq bigserial PRIMARY KEY,
            ticket bigint NOT NULL REFERENCES tickets (number),
            external_id text COLLATE \"C\" UNIQUE,
            data text NOT NULL
        )""",
        "CREATE INDEX interactions_by_ticket ON interactions (ticket, seq)",
        """CREATE TABLE typifications (
            seq bigserial PRIMARY KEY,
            ticket bigint NOT NULL,
            data text NOT NULL
        )""",
        "CREATE INDEX typifications_by_ticket ON typifications (ticket, seq)",
        """CREATE TABLE products (
            id text COLLATE \"C\" PRIMARY KEY,
            campaign text COLLATE \"C\" NOT NULL,
            contact text COLLATE \"C\" NOT NULL,
            data text NOT NULL
        )""",
        "CREATE INDEX products_by_contact ON products (campaign, contact, id)",
        """CREATE TABLE payments (
            id text COLLATE \"C\" PRIMARY KEY,
            product text COLLATE \"C\" NOT NULL,
            date text COLLATE \"C\" NOT NULL,
            data text NOT NULL
        )""",
        "CREATE INDEX payments_by_product ON payments (product, date, id)",
        """CREATE TABLE promises (
            id text COLLATE \"C\" PRIMARY KEY,
            product text COLLATE \"C\" NOT NULL,
            made_on text COLLATE \"C\" NOT NULL,
            data text NOT NULL
        )""",
        "CREATE INDEX promises_by_product ON promises (product, made_on, id)",
        """CREATE TABLE comments (
            seq bigint PRIMARY KEY,
            ticket bigint NOT NULL,
            data text NOT NULL
        )""",
        "CREATE INDEX comments_by_ticket ON comments (ticket, seq)",
        """CREATE TABLE blocks (
            campaign text COLLATE \"C\" NOT NULL,
            customer text COLLATE \"C\" NOT NULL,
            data text NOT NULL,
            PRIMARY KEY (campaign, customer)
        )""",
        # The event's JSON (event codec, version 3); its seq is this column's.
        "CREATE TABLE events (seq bigserial PRIMARY KEY, data text NOT NULL)",
    ),
    # 2: assignment (A1-A6) and ticket states (P4). Agents are rows by id with their
    # queues as an array (a GIN index finds the agents of a queue: one statement writes
    # an agent, queues included); the waiting lines in serving order per (queue, family):
    # VIP first (rank 0), opening instant, number. Pending and snoozed tickets are open
    # (T2, P4): the status column says 'open' for them (the JSON holds the precise status),
    # so rows written as 'pending' or 'snoozed' before this migration are corrected.
    (
        """CREATE TABLE agents (
            id text COLLATE \"C\" PRIMARY KEY,
            queues text[] COLLATE \"C\" NOT NULL,
            data text NOT NULL
        )""",
        "CREATE INDEX agents_by_queue ON agents USING gin (queues)",
        """CREATE TABLE waiting (
            number bigint PRIMARY KEY,
            queue text COLLATE \"C\" NOT NULL,
            family text COLLATE \"C\" NOT NULL,
            rank smallint NOT NULL,
            opened_at timestamptz NOT NULL,
            data text NOT NULL
        )""",
        "CREATE INDEX waiting_line ON waiting (queue, family, rank, opened_at, number)",
        "UPDATE tickets SET status = 'open' WHERE status IN ('pending', 'snoozed')",
    ),
    # 3: the identity index (X1, X2): each live contact's email, Messenger and Instagram
    # channels, document number and folded full name (rules.matching.identity_keys); ``id``
    # order is the order contacts were (re)indexed in. Contacts stored before it are
    # indexed by :func:`_index_identities`, in Python (the keys are ccdomain's rules).
    (
        """CREATE TABLE identity_index (
            id bigserial PRIMARY KEY,
            kind text COLLATE \"C\" NOT NULL,
            key text COLLATE \"C\" NOT NULL,
            campaign text COLLATE \"C\" NOT NULL,
            code text COLLATE \"C\" NOT NULL,
            FOREIGN KEY (campaign, code) REFERENCES contacts (campaign, code)
        )""",
        "CREATE INDEX identity_index_by_key ON identity_index (kind, key, id)",
        "CREATE INDEX identity_index_by_contact ON identity_index (campaign, code)",
    ),
    # 4: contact policy (W1-W5): the inbound message times per (line, customer), as
    # written and as an instant; attempts per (campaign, customer, local day); opt-outs;
    # each also by customer, for anonymization (I4).
    (
        """CREATE TABLE inbound_messages (
            line text COLLATE \"C\" NOT NULL,
            customer text COLLATE \"C\" NOT NULL,
            ts timestamptz NOT NULL,
            at text NOT NULL,
            PRIMARY KEY (line, customer, ts)
        )""",
        "CREATE INDEX inbound_messages_by_customer ON inbound_messages (customer)",
        """CREATE TABLE contact_attempts (
            campaign text COLLATE \"C\" NOT NULL,
            customer text COLLATE \"C\" NOT NULL,
            day date NOT NULL,
            count bigint NOT NULL,
            PRIMARY KEY (campaign, customer, day)
        )""",
        "CREATE INDEX contact_attempts_by_customer ON contact_attempts (customer)",
        """CREATE TABLE opt_outs (
            campaign text COLLATE \"C\" NOT NULL,
            customer text COLLATE \"C\" NOT NULL,
            channel text COLLATE \"C\" NOT NULL,
            data text NOT NULL,
            PRIMARY KEY (campaign, customer, channel)
        )""",
        "CREATE INDEX opt_outs_by_customer ON opt_outs (customer)",
    ),
    # 5: the catalog version: one row, bumped by every transaction that writes campaigns
    # or lines (whoever runs it), so a store may keep them in memory across transactions
    # and read them anew once they change (ccdomain.postgres.connection._Catalog). The
    # row is bumped at the writer's commit (a deferred trigger), so writers of different
    # campaigns do not wait for each other until then. The function keeps this schema as
    # its search path, whatever the writer's.
    (
        "CREATE TABLE catalog_version (version bigint NOT NULL)",
        "INSERT INTO catalog_version (version) VALUES (0)",
        """CREATE FUNCTION ccdomain_catalog_changed() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        BEGIN
            UPDATE catalog_version SET version = version + 1;
            RETURN NULL;
        END
        $$""",
        "CREATE CONSTRAINT TRIGGER campaigns_changed AFTER INSERT OR UPDATE OR DELETE "
        "ON campaigns DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        "EXECUTE FUNCTION ccdomain_catalog_changed()",
        "CREATE TRIGGER campaigns_truncated AFTER TRUNCATE ON campaigns "
        "FOR EACH STATEMENT EXECUTE FUNCTION ccdomain_catalog_changed()",
        "CREATE CONSTRAINT TRIGGER lines_changed AFTER INSERT OR UPDATE OR DELETE "
        "ON lines DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        "EXECUTE FUNCTION ccdomain_catalog_changed()",
        "CREATE TRIGGER lines_truncated AFTER TRUNCATE ON lines "
        "FOR EACH STATEMENT EXECUTE FUNCTION ccdomain_catalog_changed()",
        # Routing rewrites an open ticket's row with each interaction, its indexed
        # columns unchanged: room left on each page lets that be a heap-only update (no
        # index entry written).
        "ALTER TABLE tickets SET (fillfactor = 70)",
    ),
)
"""Forward migrations, in order; migration ``n`` brings the schema from version n-1 to n.

To change the schema, append a migration (a tuple of SQL statements); never edit one
that has shipped.
"""

# The schema version that created the catalog version (found by its statement, so
# renumbering migrations when branches are merged cannot leave it stale).
CATALOG_VERSION: Final = next(
    number
    for number, statements in enumerate(MIGRATIONS, start=1)
    if any("CREATE TABLE catalog_version" in statement for statement in statements)
)


def _index_identities(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    """Migration 3's data step: index the identity keys of the contacts already stored."""
    rows = [
        (kind, key, campaign, code)
        for campaign, code, data in conn.execute(
            b"SELECT campaign, code, data FROM contacts ORDER BY campaign, code"
        )
        for kind, key in identity_keys(from_json(data, Contact))
    ]
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                b"INSERT INTO identity_index (kind, key, campaign, code) VALUES (%s, %s, %s, %s)",
                rows,
            )


# Steps in Python run after a migration's statements, in its transaction.
_AFTER: Final[dict[int, Callable[[psycopg.Connection[tuple[Any, ...]]], None]]] = {
    3: _index_identities
}


def migrate(
    conn: psycopg.Connection[tuple[Any, ...]], schema: str, *, where: str, writing: bool
) -> int:
    """Check the schema ``schema`` and (``writing``) bring it up to date; its version.

    ``conn`` is in autocommit mode; this runs its own transaction.

    Raises:
        StoreError: the schema belongs to another application, is newer than this code
            knows, or (not ``writing``) holds no ccdomain schema yet.
        psycopg.Error: the database failed (turned into a ccdomain error by the caller).
    """
    known = len(MIGRATIONS)
    name = sql.Identifier(schema)
    with conn.transaction():
        if writing:
            # One migrating process at a time per schema (released at commit).
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                (f"ccdomain schema {schema}",),
            )
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            )
        }
        version = 0
        if VERSION_TABLE in tables:
            row = conn.execute(
                sql.SQL("SELECT max(version) FROM {}.{}").format(
                    name, sql.Identifier(VERSION_TABLE)
                )
            ).fetchone()
            version = int(row[0]) if row is not None and row[0] is not None else 0
        elif tables:
            shown = ", ".join(repr(t) for t in sorted(tables)[:5])
            more = f" and {len(tables) - 5} more" if len(tables) > 5 else ""
            raise StoreError(
                f"{where}: schema {schema!r} holds another application's tables ({shown}{more}) "
                f"and no {VERSION_TABLE} table; expected a ccdomain schema or an empty one "
                "(ccdomain never converts another application's tables)"
            )
        if version > known:
            raise StoreError(
                f"{where}: schema {schema!r} has version {version}; this ccdomain knows "
                f"versions up to {known}"
            )
        if not writing:
            if version == 0:
                raise StoreError(
                    f"{where}: schema {schema!r} holds no ccdomain data yet; expected a "
                    "ccdomain database (`ccdomain replay` or a store opened for writing "
                    "creates one)"
                )
            return version
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(name))
        if VERSION_TABLE not in tables:
            conn.execute(
                sql.SQL("CREATE TABLE {} (version integer NOT NULL)").format(
                    sql.Identifier(VERSION_TABLE)
                )
            )
            conn.execute(
                sql.SQL("INSERT INTO {} (version) VALUES (0)").format(sql.Identifier(VERSION_TABLE))
            )
        for number in range(version + 1, known + 1):
            for statement in MIGRATIONS[number - 1]:
                conn.execute(statement.encode())
            after = _AFTER.get(number)
            if after is not None:
                after(conn)
            conn.execute(
                sql.SQL("UPDATE {} SET version = %s").format(sql.Identifier(VERSION_TABLE)),
                (number,),
            )
    return known
