"""The PostgreSQL store's bulk reads for the service-level listing (H5): one statement each.

* ``latest_event_time`` orders the events by the instant of their ``at`` in SQL (the
  text cast to ``timestamptz`` reads its UTC offset), so the log is not decoded in
  Python; of events at one instant, the one appended last gives the answer (its offset
  kept), as in the SQLite store.
* ``interactions_by_ticket`` reads every interaction of the listed tickets in one
  statement, in ticket and insertion order, instead of one statement a ticket.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Sequence

from ccdomain.models import Interaction
from ccdomain.postgres.connection import _guarded, _UnitOfWorkBase


class PostgresServiceLevelReads(_UnitOfWorkBase):
    """Bulk reads for the service-level listing (a part of
    :class:`~ccdomain.postgres.PostgresUnitOfWork`, not used alone)."""

    @_guarded
    def latest_event_time(self) -> dt.datetime | None:
        """The latest ``at`` of the recorded events (by instant), or None (H5)."""
        row = (
            self._db()
            .execute(
                b"SELECT data::json ->> 'at' FROM events "
                b"ORDER BY (data::json ->> 'at')::timestamptz DESC, seq DESC LIMIT 1"
            )
            .fetchone()
        )
        return None if row is None else dt.datetime.fromisoformat(row[0])

    @_guarded
    def interactions_by_ticket(
        self, campaign: str | None = None
    ) -> Iterator[tuple[int, Sequence[Interaction]]]:
        """Every ticket's interactions (of one campaign, or all), by ticket number (H5)."""
        if campaign is None:
            rows = self._db().execute(b"SELECT ticket, data FROM interactions ORDER BY ticket, seq")
        else:
            rows = self._db().execute(
                b"SELECT i.ticket, i.data FROM interactions AS i "
                b"JOIN tickets AS t ON t.number = i.ticket WHERE t.campaign = %s "
                b"ORDER BY i.ticket, i.seq",
                (campaign,),
            )
        found = [(int(number), self._load(data, Interaction)) for number, data in rows]
        # Read here, inside the guard (and the unit of work): the iterator only groups.
        return (
            (number, [interaction for _, interaction in group])
            for number, group in itertools.groupby(found, key=lambda row: row[0])
        )
