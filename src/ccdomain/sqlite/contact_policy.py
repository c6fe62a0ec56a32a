"""The SQLite store's contact-policy indexes: windows, attempts, opt-outs (W1-W5, I4).

* W1, W2 - ``inbound_messages`` holds one row per inbound message time of a (line,
  customer): as written (``at``) and as a UTC instant in microseconds (``ts``), which
  orders them whatever the offsets; the latest at or before an instant is one index
  search of the primary key (line, customer, ts), however long the history.
* W5 - ``contact_attempts`` counts attempts per (campaign, customer, local day).
* W3 - ``opt_outs`` is keyed by (campaign, customer, channel).
* I4 - each table has an index by customer, so anonymization forgets an address
  without a scan.

A file of an earlier schema version opened read-only has none of these tables: its
reads answer as an empty store would (no window, no attempt, no opt-out).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ccdomain.models import OptOut
from ccdomain.serialization import to_json
from ccdomain.sqlite.connection import _guarded, _UnitOfWorkBase
from ccdomain.sqlite.overlay import storable

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_MICROS = 2**63 - 1
# The schema version that created the tables (the migration marked "w" in schema.py).
_SINCE = 4


def _micros(at: dt.datetime) -> int:
    return (at - _EPOCH) // dt.timedelta(microseconds=1)


class SqliteContactPolicyRepository(_UnitOfWorkBase):
    """The contact policy's indexes (a part of :class:`~ccdomain.sqlite.SqliteUnitOfWork`,
    not used alone)."""

    def _has_tables(self) -> bool:
        return self._store.schema_version >= _SINCE

    @_guarded
    def note_inbound(self, line: str, customer: str, at: dt.datetime) -> None:
        """Record the time of an inbound message on a line (W1)."""
        self._db()
        held = self._held()
        if held is not None and type(line) is str and type(customer) is str:
            # Held until the commit (the batch write path, ccdomain.sqlite.overlay); text
            # SQLite cannot hold fails here, in this unit, not at the commit (E2).
            storable(line)
            storable(customer)
            held.add_inbound(line, customer, _micros(at), at.isoformat())
            return
        self._wdb().execute(
            "INSERT OR IGNORE INTO inbound_messages (line, customer, ts, at) VALUES (?, ?, ?, ?)",
            (line, customer, _micros(at), at.isoformat()),
        )

    @_guarded
    def last_inbound(
        self, line: str, customer: str, at: dt.datetime | None = None
    ) -> dt.datetime | None:
        """The latest inbound message time on the line at or before ``at``, or None."""
        if not self._has_tables():
            return None
        bound = _MAX_MICROS if at is None else _micros(at)
        row = (
            self._db()
            .execute(
                "SELECT ts, at FROM inbound_messages WHERE line = ? AND customer = ? AND ts <= ? "
                "ORDER BY ts DESC LIMIT 1",
                (line, customer, bound),
            )
            .fetchone()
        )
        conn = self._conn
        if conn is not None and conn.active and conn.overlay.inbound:
            held = conn.overlay.last_inbound(line, customer, bound)
            if held is not None and (row is None or held[0] > row[0]):
                row = held
        return None if row is None else dt.datetime.fromisoformat(row[1])

    @_guarded
    def add_attempt(self, campaign: str, customer: str, day: dt.date) -> None:
        """Count one outbound attempt on a local day (W5)."""
        self._wdb().execute(
            "INSERT INTO contact_attempts (campaign, customer, day, count) VALUES (?, ?, ?, 1) "
            "ON CONFLICT (campaign, customer, day) DO UPDATE SET count = count + 1",
            (campaign, customer, day.isoformat()),
        )

    @_guarded
    def attempts(self, campaign: str, customer: str, day: dt.date) -> int:
        """The attempts counted on that local day (W5)."""
        if not self._has_tables():
            return 0
        row = (
            self._db()
            .execute(
                "SELECT count FROM contact_attempts WHERE campaign = ? AND customer = ? "
                "AND day = ?",
                (campaign, customer, day.isoformat()),
            )
            .fetchone()
        )
        return 0 if row is None else int(row[0])

    @_guarded
    def put_opt_out(self, opt_out: OptOut) -> None:
        """Record an opt-out (W3), replacing one of the same key."""
        self._wdb().execute(
            "INSERT INTO opt_outs (campaign, customer, channel, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (campaign, customer, channel) DO UPDATE SET data = excluded.data",
            (opt_out.campaign, opt_out.customer, opt_out.channel.value, to_json(opt_out)),
        )

    @_guarded
    def remove_opt_out(self, campaign: str, customer: str, channel: str) -> None:
        """Remove an opt-out (W3); no-op when there is none."""
        self._wdb().execute(
            "DELETE FROM opt_outs WHERE campaign = ? AND customer = ? AND channel = ?",
            (campaign, customer, str(channel)),
        )

    @_guarded
    def get_opt_out(self, campaign: str, customer: str, channel: str) -> OptOut | None:
        """The opt-out of (campaign, customer, channel), or None (W3)."""
        if not self._has_tables():
            return None
        return self._one(
            "SELECT data FROM opt_outs WHERE campaign = ? AND customer = ? AND channel = ?",
            (campaign, customer, str(channel)),
            OptOut,
        )

    @_guarded
    def opt_outs(self, campaign: str | None = None) -> Sequence[OptOut]:
        """Opt-outs of a campaign, or of all, by (campaign, customer, channel)."""
        if not self._has_tables():
            return []
        if campaign is None:
            return self._all(
                "SELECT data FROM opt_outs ORDER BY campaign, customer, channel", (), OptOut
            )
        return self._all(
            "SELECT data FROM opt_outs WHERE campaign = ? ORDER BY customer, channel",
            (campaign,),
            OptOut,
        )

    @_guarded
    def forget_customer_policy(self, customer: str) -> None:
        """Remove the windows, attempt counts and opt-outs of an address (I4)."""
        db = self._wdb()
        for table in ("inbound_messages", "contact_attempts", "opt_outs"):
            db.execute(f"DELETE FROM {table} WHERE customer = ?", (customer,))
