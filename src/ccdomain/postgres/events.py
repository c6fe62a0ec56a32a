"""The PostgreSQL store's event log: append-only, numbered, one codec text a row (T11, I4).

* T11 - each event gets the next value of the ``events.seq`` sequence, so seqs
  increase in the order events are appended, across every worker; a rolled-back event
  leaves a gap in the log's seqs (no rule numbers events without gap, and a counter row
  would make every unit of work that appends an event wait for every other one).
  Events are written through :mod:`ccdomain.event_codec` (with seq 0: the ``seq`` column
  is the event's seq) and read back in pages.
* I4 - ``replace_event`` is the log's one rewrite (anonymization): same seq, same kind.
* T11 - ``record_event`` (:class:`~ccdomain.ports.EventRecorder`, what the services
  call) writes the same row without returning its seq, so it goes with the unit of
  work's next statement instead of taking a round trip of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

from ccdomain.errors import RuleViolation
from ccdomain.event_codec import decode_event, encode_event
from ccdomain.events import Event
from ccdomain.fast_json import _json
from ccdomain.postgres.connection import _guarded, _UnitOfWorkBase

_PAGE = 1000


class PostgresEventLog(_UnitOfWorkBase):
    """The append-only event log (a part of :class:`~ccdomain.postgres.PostgresUnitOfWork`,
    not used alone)."""

    @_guarded
    def append_event(self, event: Event) -> Event:
        """Record an event with the next sequence number (T11)."""
        # One statement: the row's seq comes from the column's sequence, and the JSON is
        # written without it (the seq column is the event's seq when it is read back).
        row = (
            self._wdb()
            .execute(
                b"INSERT INTO events (data) VALUES (%s) RETURNING seq",
                (encode_event(event.numbered(0)),),
            )
            .fetchone()
        )
        assert row is not None
        return event.numbered(int(row[0]))

    @_guarded
    def record_event(self, event: Event) -> None:
        """Record an event as :meth:`append_event` does, sent with the next statement.

        Nothing refuses the row (its seq is the column sequence's next value, taken when
        it runs), so it waits for the unit of work's next statement or its commit: the
        server runs it in the order it was made, holding the locks taken before it, so
        the log's order is the same as with :meth:`append_event`. Its text is encoded
        and adapted at the call: an event PostgreSQL cannot hold is refused there (E1).
        In a read-only store it is sent at once (the refusal of any write is the
        call's).
        """
        text = _json(event.numbered(0))  # encode_event's text, written directly
        self._never_refused(b"INSERT INTO events (data) VALUES (%s)", (text,))

    @_guarded
    def events(self, after: int = 0) -> Iterator[Event]:
        """Events with seq > after, in order (those recorded when called), read in pages."""
        row = self._db().execute(b"SELECT coalesce(max(seq), 0) FROM events").fetchone()
        last = 0 if row is None else int(row[0])
        return self._event_pages(after, last)

    @_guarded
    def _page(self, after: int, last: int) -> list[tuple[int, str]]:
        return [
            (int(seq), data)
            for seq, data in self._db().execute(
                b"SELECT seq, data FROM events WHERE seq > %s AND seq <= %s ORDER BY seq LIMIT %s",
                (after, last, _PAGE),
            )
        ]

    def _event_pages(self, after: int, last: int) -> Iterator[Event]:
        while after < last:
            rows = self._page(after, last)
            if not rows:
                break
            for seq, data in rows:
                yield decode_event(data).numbered(seq)
                after = seq

    @_guarded
    def replace_event(self, event: Event) -> None:
        """Replace the recorded event with the same seq (I4)."""
        seq = event.seq
        db = self._wdb()
        row = (
            db.execute(b"SELECT data FROM events WHERE seq = %s", (seq,)).fetchone()
            if isinstance(seq, int) and not isinstance(seq, bool)
            else None
        )
        if row is None:
            raise RuleViolation(f"event seq {seq!r} is not recorded; expected a recorded event")
        old = decode_event(row[0])
        if old.kind != event.kind:
            raise RuleViolation(
                f"event {seq} is a {old.kind.value} event, not {event.kind.value}; "
                "a replaced event keeps its kind"
            )
        db.execute(b"UPDATE events SET data = %s WHERE seq = %s", (encode_event(event), seq))
