"""The SQLite store's bulk reads for the service-level listing (H5): one statement each.

* ``latest_event_time`` orders the events by the instant of their ``at`` in SQL
  (``julianday`` reads the UTC offset), so the log is not decoded in Python.
* ``interactions_by_ticket`` reads every interaction of the listed tickets in one
  statement, in ticket and insertion order, instead of one statement a ticket.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator, Sequence

from ccdomain.models import Interaction
from ccdomain.serialization import from_json
from ccdomain.sqlite.connection import _guarded, _UnitOfWorkBase


class SqliteServiceLevelReads(_UnitOfWorkBase):
    """Bulk reads for the service-level listing (a part of
    :class:`~ccdomain.sqlite.SqliteUnitOfWork`, not used alone)."""

    @_guarded
    def latest_event_time(self) -> dt.datetime | None:
        """The latest ``at`` of the recorded events (by instant), or None (H5)."""
        db = self._db()
        row = db.execute(
            "SELECT json_extract(data, '$.at') FROM events "
            "ORDER BY julianday(json_extract(data, '$.at')) DESC, seq DESC LIMIT 1"
        ).fetchone()
        found = [dt.datetime.fromisoformat(row[0])] if row is not None else []
        conn = self._conn
        if conn is not None and conn.active:  # events of this unit, written at its commit
            found += [
                dt.datetime.fromisoformat(json.loads(text)["at"]) for _, text in conn.new_events
            ]
        return max(found, default=None)

    @_guarded
    def interactions_by_ticket(
        self, campaign: str | None = None
    ) -> Iterator[tuple[int, Sequence[Interaction]]]:
        """Every ticket's interactions (of one campaign, or all), by ticket number (H5)."""
        self._settle()
        if campaign is None:
            rows = self._db().execute("SELECT ticket, data FROM interactions ORDER BY ticket, seq")
        else:
            rows = self._db().execute(
                "SELECT i.ticket, i.data FROM interactions AS i "
                "JOIN tickets AS t ON t.number = i.ticket WHERE t.campaign = ? "
                "ORDER BY i.ticket, i.seq",
                (campaign,),
            )
        found = [(int(number), from_json(data, Interaction)) for number, data in rows]
        for number, group in itertools.groupby(found, key=lambda row: row[0]):
            yield number, [interaction for _, interaction in group]
