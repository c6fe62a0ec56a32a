"""The SQLite store's schema: DDL, forward migrations, and which files are ccdomain's (T2,
T5, T9, K16, T11, E1).

The schema version is ``PRAGMA user_version``. Opening a store applies
:data:`MIGRATIONS` in order (:meth:`ccdomain.sqlite.SqliteStore._migrate`), all in
one transaction: migration 1 is the initial schema, 2 adds the company name index
(K16), 3 rewrites stored events in version 3 of the event codec (T11), 4 adds the
identity index of contacts (X1, X2).

A ccdomain database says so in its header: ``PRAGMA application_id`` is
:data:`APPLICATION_ID`. Files written before it was set (schema versions 1 to 3)
are known by their tables. :func:`_check_database` refuses every other file that
holds something (another application's database) before anything is written to
it, so neither a listing nor a replay ever converts one.

Rules the schema itself keeps, whatever the writer:

* T2 - a partial unique index on ``tickets(campaign, customer) WHERE status =
  'open'`` makes two open tickets of one (campaign, customer) impossible.
* T5 - ticket, comment and contact numbers come from rows of ``counters``,
  written in the transaction that stores what they number.
* T9 - ``interactions.external_id`` is UNIQUE.
* C1 - every model is a JSON text column (money a decimal string in it), never a REAL.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Final

from ccdomain._folding import name_key
from ccdomain.errors import InvalidData, StoreError
from ccdomain.event_codec import decode_event, encode_event
from ccdomain.models import Company, Contact
from ccdomain.rules.matching import identity_keys
from ccdomain.serialization import from_json

__all__ = ["APPLICATION_ID", "MIGRATIONS"]

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
    # ap: 4: assignment (A1-A6): agents, the agents of each queue, and the waiting lines
    # in serving order per (queue, family): VIP first (rank 0), opening instant, number.
    (
        "CREATE TABLE agents (id TEXT PRIMARY KEY, data TEXT NOT NULL)",
        "CREATE TABLE agent_queues (queue TEXT NOT NULL, agent TEXT NOT NULL, "
        "PRIMARY KEY (queue, agent))",
        "CREATE INDEX agent_queues_by_agent ON agent_queues (agent)",
        """CREATE TABLE waiting (
            number INTEGER PRIMARY KEY,
            queue TEXT NOT NULL,
            family TEXT NOT NULL,
            rank INTEGER NOT NULL,
            opened_us INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX waiting_line ON waiting (queue, family, rank, opened_us, number)",
    ),
    # x: 5: the identity index (X1, X2): each live contact's email, Messenger and Instagram
    # channels, document number and folded full name (rules.matching.identity_keys), so
    # candidates by them are index searches. Existing contacts are keyed by
    # ccdomain_identity_keys, a function registered while migrating (a JSON array of
    # [kind, key] pairs); rowid order is the order contacts were (re)indexed in.
    (
        """CREATE TABLE identity_index (
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            campaign TEXT NOT NULL,
            code TEXT NOT NULL,
            FOREIGN KEY (campaign, code) REFERENCES contacts (campaign, code)
        )""",
        "CREATE INDEX identity_index_by_key ON identity_index (kind, key)",
        "CREATE INDEX identity_index_by_contact ON identity_index (campaign, code)",
        "INSERT INTO identity_index (kind, key, campaign, code) "
        "SELECT json_extract(k.value, '$[0]'), json_extract(k.value, '$[1]'), c.campaign, c.code "
        "FROM contacts AS c, json_each(ccdomain_identity_keys(c.data)) AS k "
        "ORDER BY c.rowid, k.key",
    ),
    # w: 6: the contact policy's indexes (W1-W5): the inbound message times per (line,
    # customer), attempts per (campaign, customer, local day), opt-outs; each also by
    # customer, for anonymization (I4).
    (
        """CREATE TABLE inbound_messages (
            line TEXT NOT NULL,
            customer TEXT NOT NULL,
            ts INTEGER NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (line, customer, ts)
        )""",
        "CREATE INDEX inbound_messages_by_customer ON inbound_messages (customer)",
        """CREATE TABLE contact_attempts (
            campaign TEXT NOT NULL,
            customer TEXT NOT NULL,
            day TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (campaign, customer, day)
        )""",
        "CREATE INDEX contact_attempts_by_customer ON contact_attempts (customer)",
        """CREATE TABLE opt_outs (
            campaign TEXT NOT NULL,
            customer TEXT NOT NULL,
            channel TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (campaign, customer, channel)
        )""",
        "CREATE INDEX opt_outs_by_customer ON opt_outs (customer)",
    ),
)
"""Forward migrations, in order; migration ``n`` brings ``user_version`` from n-1 to n."""

APPLICATION_ID: Final = 0x6363646D
"""``PRAGMA application_id`` of a ccdomain database: the bytes ``ccdm``.

Set when a store opened for writing creates or migrates the file (a file of schema
version 1 to 3 gets it at its next such opening), so ``file(1)`` and
:func:`_check_database` tell a ccdomain database from another application's.
"""

# The tables ccdomain had created by schema versions 1, 2 and 3, which did not set the
# application id: a file of such a version with all of them is ccdomain's. History,
# so computed once from the migrations as shipped.
_LEGACY_TABLES: Final = {
    version: frozenset(
        re.findall(
            r"CREATE TABLE (\w+)",
            " ".join(statement for step in MIGRATIONS[:version] for statement in step),
        )
    )
    for version in (1, 2, 3)
}


def _check_database(db: sqlite3.Connection, path: str, *, known: int, writing: bool) -> int:
    """The schema version of the database open on ``db``, once it is known to be ccdomain's.

    Run inside a transaction: its answer holds until the transaction ends.

    Args:
        db: a connection to the file.
        path: the file, for messages.
        known: the newest schema version this code knows.
        writing: whether the store will write. An empty database (a 0-byte file, or one
            with no table, index, view or trigger and no application id or user version)
            is then returned as version 0, to be created; a read-only store refuses it.

    Raises:
        StoreError: the file is empty (reading), holds another application's data, or
            has a schema version newer than ``known``.
        sqlite3.Error: the file cannot be read (not a database, locked, ...).
    """
    ((application,),) = db.execute("PRAGMA application_id").fetchall()
    ((version,),) = db.execute("PRAGMA user_version").fetchall()
    objects = db.execute(
        "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite!_%' ESCAPE '!' "
        "ORDER BY name"
    ).fetchall()
    where = f"cannot use database {path!r}"
    if application == 0 and version == 0 and not objects:
        if writing:
            return 0
        raise StoreError(
            f"{where}: it is empty; expected a ccdomain database (`ccdomain replay` "
            "or a store opened for writing creates one)"
        )
    tables = {name for kind, name in objects if kind == "table"}
    legacy = application == 0 and version in _LEGACY_TABLES and _LEGACY_TABLES[version] <= tables
    if application != APPLICATION_ID and not legacy:
        if application != 0:
            held = f"its application_id is {application:#x}, another application's"
        elif objects:
            names = ", ".join(repr(name) for _, name in objects[:5])
            more = f" and {len(objects) - 5} more" if len(objects) > 5 else ""
            held = f"it holds another application's data ({names}{more})"
        else:
            held = f"it has user_version {version} but no ccdomain tables"
        new = ", or the name of a file that does not exist yet" if writing else ""
        raise StoreError(
            f"{where}: {held}; expected a ccdomain database{new} (ccdomain never "
            "converts another application's database)"
        )
    if version > known:
        raise StoreError(
            f"{where}: it has schema version {version}; this ccdomain knows versions up to {known}"
        )
    if version == 0 and not writing:
        raise StoreError(f"{where}: it has no schema yet; expected a ccdomain database")
    return int(version)


def _identity_keys(data: str) -> str:
    """The identity keys of a stored contact's JSON as a JSON array of [kind, key] pairs
    (migration 4 indexes existing contacts, X1, X2)."""
    return json.dumps(identity_keys(from_json(data, Contact)), ensure_ascii=False)


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
