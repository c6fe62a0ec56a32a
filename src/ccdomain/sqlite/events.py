"""The SQLite store's event log: append-only, numbered, one codec text a row (T11, I4).

* T11 - each event gets the next ``seq``; events are written through
  :mod:`ccdomain.event_codec` (routing's through :mod:`ccdomain.fast_json`,
  the same text). Appended events are written together at the commit and read
  back in pages.
* I4 - ``replace_event`` is the log's one rewrite (anonymization): same seq, same kind.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from ccdomain.errors import RuleViolation
from ccdomain.event_codec import decode_event
from ccdomain.events import Event
from ccdomain.fast_json import _json
from ccdomain.sqlite.connection import _EVENTS_PAGE, _failure, _guarded, _UnitOfWorkBase


class SqliteEventLog(_UnitOfWorkBase):
    """The append-only event log (a part of :class:`~ccdomain.sqlite.SqliteUnitOfWork`,
    not used alone)."""

    @_guarded
    def append_event(self, event: Event) -> Event:
        """Record an event with the next sequence number (T11)."""
        db = self._db()
        conn = self._conn
        seq = None if conn is None else conn.next_event
        if seq is None:
            ((last,),) = db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchall()
            seq = int(last) + 1
        stored = event.numbered(seq)
        if conn is not None and conn.active:
            # Held until the commit (or a page between lines): a unit that rolls back
            # drops those it appended, with or without a savepoint.
            conn.new_events.append((seq, _json(stored)))
            conn.next_event = seq + 1
        else:
            self._wdb().execute(
                "INSERT INTO events (seq, data) VALUES (?, ?)", (seq, _json(stored))
            )
        return stored

    @_guarded
    def events(self, after: int = 0) -> Iterator[Event]:
        """Events with seq > after, in order (those recorded when called), read in pages."""
        db = self._db()
        conn = self._conn
        ((last,),) = db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchall()
        new = [] if conn is None or not conn.active else list(conn.new_events)
        return self._event_pages(after, int(last), new)

    @_guarded
    def replace_event(self, event: Event) -> None:
        """Replace the recorded event with the same seq (I4)."""
        seq = event.seq
        db = self._wdb()
        conn = self._conn
        if conn is not None and conn.active:
            conn.write_events()
        row = (
            db.execute("SELECT data FROM events WHERE seq = ?", (seq,)).fetchone()
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
        db.execute("UPDATE events SET data = ? WHERE seq = ?", (_json(event), seq))

    def _event_pages(self, after: int, last: int, new: list[tuple[int, str]]) -> Iterator[Event]:
        first = after
        while after < last:
            try:
                rows = (
                    self._db()
                    .execute(
                        "SELECT seq, data FROM events WHERE seq > ? AND seq <= ? "
                        "ORDER BY seq LIMIT ?",
                        (after, last, _EVENTS_PAGE),
                    )
                    .fetchall()
                )
            except sqlite3.Error as exc:
                raise _failure("events", exc, self._store.path) from exc
            if not rows:
                break
            for seq, data in rows:
                yield decode_event(data)
                after = seq
        for seq, data in new:  # appended in this transaction, after every written one
            if seq > first:
                yield decode_event(data)
