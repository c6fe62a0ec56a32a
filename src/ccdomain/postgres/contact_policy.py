"""The PostgreSQL store's contact-policy indexes: windows, attempts, opt-outs (W1-W5, I4).

* W1, W2 - ``inbound_messages`` holds one row per inbound message time of a (line,
  customer): as written (``at``, text, so its UTC offset comes back) and as an instant
  (``ts``, ``timestamptz``), which orders them whatever the offsets; the latest at or
  before an instant is one backward search of the primary key (line, customer, ts).
  A second message at the same instant is ignored (``ON CONFLICT DO NOTHING``).
* W5 - ``contact_attempts`` counts attempts per (campaign, customer, local day). Adding
  one is a single ``INSERT ... ON CONFLICT DO UPDATE SET count = count + 1``: the row
  is locked by the statement that increments it, so two workers counting the same key
  at once both count (the second waits for the first to end), and neither fails.
* W3 - ``opt_outs`` is keyed by (campaign, customer, channel); ``put_opt_out`` is an
  upsert.
* I4 - each table has an index by customer, so anonymization forgets an address
  without a scan.

A schema of an earlier version opened read-only has none of these tables: its reads
answer as an empty store would (no window, no attempt, no opt-out), as the SQLite store's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ccdomain.models import OptOut
from ccdomain.postgres.connection import _guarded, _UnitOfWorkBase
from ccdomain.postgres.schema import MIGRATIONS

# The schema version that created the tables: found by its statement rather than
# written as a number, so renumbering the migrations (when branches that each appended
# one are merged) cannot leave it stale.
_SINCE = next(
    number
    for number, statements in enumerate(MIGRATIONS, start=1)
    if any("CREATE TABLE inbound_messages" in statement for statement in statements)
)


class PostgresContactPolicyRepository(_UnitOfWorkBase):
    """The contact policy's indexes (a part of :class:`~ccdomain.postgres.PostgresUnitOfWork`,
    not used alone)."""

    def _wrote_opt_outs(self) -> None:
        tx = self._tx
        assert tx is not None
        tx.opt_outs_seen.clear()

    @property
    def _has_policy_tables(self) -> bool:
        return self._schema_version >= _SINCE

    @_guarded
    def note_inbound(self, line: str, customer: str, at: dt.datetime) -> None:
        """Record the time of an inbound message on a line (W1)."""
        # Never refused (a second message at the same instant is ignored).
        self._never_refused(
            b"INSERT INTO inbound_messages (line, customer, ts, at) VALUES (%s, %s, %s, %s) "
            b"ON CONFLICT (line, customer, ts) DO NOTHING",
            (line, customer, at, at.isoformat()),
        )

    @_guarded
    def last_inbound(
        self, line: str, customer: str, at: dt.datetime | None = None
    ) -> dt.datetime | None:
        """The latest inbound message time on the line at or before ``at``, or None."""
        if not self._has_policy_tables:
            return None
        if at is None:
            row = (
                self._db()
                .execute(
                    b"SELECT at FROM inbound_messages WHERE line = %s AND customer = %s "
                    b"ORDER BY ts DESC LIMIT 1",
                    (line, customer),
                )
                .fetchone()
            )
        else:
            row = (
                self._db()
                .execute(
                    b"SELECT at FROM inbound_messages WHERE line = %s AND customer = %s "
                    b"AND ts <= %s ORDER BY ts DESC LIMIT 1",
                    (line, customer, at),
                )
                .fetchone()
            )
        return None if row is None else dt.datetime.fromisoformat(row[0])

    @_guarded
    def add_attempt(self, campaign: str, customer: str, day: dt.date) -> None:
        """Count one outbound attempt on a local day (W5)."""
        self._never_refused(
            b"INSERT INTO contact_attempts (campaign, customer, day, count) "
            b"VALUES (%s, %s, %s, 1) ON CONFLICT (campaign, customer, day) "
            b"DO UPDATE SET count = contact_attempts.count + 1",
            (campaign, customer, day),
        )

    @_guarded
    def attempts(self, campaign: str, customer: str, day: dt.date) -> int:
        """The attempts counted on that local day (W5)."""
        if not self._has_policy_tables:
            return 0
        row = (
            self._db()
            .execute(
                b"SELECT count FROM contact_attempts "
                b"WHERE campaign = %s AND customer = %s AND day = %s",
                (campaign, customer, day),
            )
            .fetchone()
        )
        return 0 if row is None else int(row[0])

    @_guarded
    def put_opt_out(self, opt_out: OptOut) -> None:
        """Record an opt-out (W3), replacing one of the same key."""
        self._wrote_opt_outs()
        self._wdb().execute(
            b"INSERT INTO opt_outs (campaign, customer, channel, data) VALUES (%s, %s, %s, %s) "
            b"ON CONFLICT (campaign, customer, channel) DO UPDATE SET data = excluded.data",
            (opt_out.campaign, opt_out.customer, opt_out.channel.value, self._dump(opt_out)),
        )

    @_guarded
    def remove_opt_out(self, campaign: str, customer: str, channel: str) -> None:
        """Remove an opt-out (W3); no-op when there is none."""
        self._wrote_opt_outs()
        self._wdb().execute(
            b"DELETE FROM opt_outs WHERE campaign = %s AND customer = %s AND channel = %s",
            (campaign, customer, str(channel)),
        )

    @_guarded
    def get_opt_out(self, campaign: str, customer: str, channel: str) -> OptOut | None:
        """The opt-out of (campaign, customer, channel), or None (W3)."""
        if not self._has_policy_tables:
            return None
        tx = self._tx
        assert tx is not None
        seen = tx.opt_outs_seen.get((campaign, customer))
        if seen is not None:  # read with the key's open ticket, none written since
            text = seen.get(str(channel))
            return None if text is None else self._load(text, OptOut)
        return self._one(
            b"SELECT data FROM opt_outs WHERE campaign = %s AND customer = %s AND channel = %s",
            (campaign, customer, str(channel)),
            OptOut,
        )

    @_guarded
    def opt_outs(self, campaign: str | None = None) -> Sequence[OptOut]:
        """Opt-outs of a campaign, or of all, by (campaign, customer, channel)."""
        if not self._has_policy_tables:
            return []
        if campaign is None:
            return self._all(
                b"SELECT data FROM opt_outs ORDER BY campaign, customer, channel", (), OptOut
            )
        return self._all(
            b"SELECT data FROM opt_outs WHERE campaign = %s ORDER BY customer, channel",
            (campaign,),
            OptOut,
        )

    @_guarded
    def forget_customer_policy(self, customer: str) -> None:
        """Remove the windows, attempt counts and opt-outs of an address (I4)."""
        self._wrote_opt_outs()
        db = self._wdb()
        db.execute(b"DELETE FROM inbound_messages WHERE customer = %s", (customer,))
        db.execute(b"DELETE FROM contact_attempts WHERE customer = %s", (customer,))
        db.execute(b"DELETE FROM opt_outs WHERE customer = %s", (customer,))
