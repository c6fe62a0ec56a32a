"""What replaying gives back: a rejected line, its outcome and effects, the summary (R1, R2, R6).

Part of :mod:`ccdomain.replay`, which exports every name here: import them from there.
:class:`EventRejected` is a line that cannot be applied, naming the line, the field to
blame and the reason (R2); :class:`Outcome` is what one applied line did, its
:class:`Effect` values named as the event kinds the line recorded (R6); :class:`BadLine`
and :class:`ReplaySummary` are what a whole replay counts (R1); :class:`ReplayStopped`
is a replay the store failed under (R8).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Final

import attrs

from ccdomain.errors import InvalidEvent, StoreUnavailable
from ccdomain.events import EventKind

__all__ = [
    "EPOCH",
    "BadLine",
    "Effect",
    "EventRejected",
    "Outcome",
    "ReplayStopped",
    "ReplaySummary",
]

EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
"""The time of an event with no time of its own and none to take (R3)."""


def _where(line: int | None, field: str | None) -> str:
    parts = []
    if line is not None:
        parts.append(f"line {line}: ")
    if field is not None:
        parts.append(f"field {field!r}: ")
    return "".join(parts)


class EventRejected(InvalidEvent):
    """An event that cannot be applied, naming its line, the field to blame and the reason.

    Attributes:
        reason: why, naming the offending value and what was expected.
        field: the event field to blame, or ``None`` when no single field is.
        line: the line number in the file, when known.
    """

    def __init__(self, reason: str, *, field: str | None = None, line: int | None = None) -> None:
        self.reason = reason
        self.field = field
        self.line = line
        super().__init__(_where(line, field) + reason)


class ReplayStopped(StoreUnavailable):
    """The store failed during a replay (read-only, full, I/O, locked...): the replay stopped.

    Not a bad line: the line was not to blame, and every later one would have failed
    the same way (R8). The lines before ``line`` were applied, but only those up to
    ``kept`` are in the store: the rest of their batch could not be committed.

    Attributes:
        line: the line being applied when the store failed, or the first line of the
            batch the store could not begin.
        kept: the last line whose effect is in the store (0: none of this replay's).
        cause: the store's error, naming the operation and the file.
    """

    def __init__(self, cause: StoreUnavailable, *, line: int, kept: int) -> None:
        self.cause = cause
        self.line = line
        self.kept = kept
        if kept == line - 1:
            tail = "the lines before it are kept" if kept else "no line was applied"
        elif kept:
            tail = f"lines 1 to {kept} are kept; the lines after them could not be committed"
        else:
            tail = "no line was kept: the lines before it could not be committed"
        super().__init__(f"line {line}: {cause}; the replay stopped there: {tail}")


@attrs.frozen(kw_only=True)
class BadLine:
    """A line that was not applied: its number, the field to blame (if one is) and why."""

    line: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        return _where(self.line, self.field) + self.reason


class Effect(enum.StrEnum):
    """What applying an event line changed in the store.

    An effect named as an :class:`~ccdomain.events.EventKind` is that event
    recorded, and has its value. The other three say more than the event:
    ``interaction_joined`` and ``interaction_late`` are an ``interaction_added``
    on an open ticket or on a closed one (T1, T10); ``ticket_closed`` is a
    ``ticket_resolved``, ``ticket_typified`` or ``ticket_cancelled``.
    :data:`LINE_EVENTS` lists the event kinds each line type may record.
    """

    CAMPAIGN_DECLARED = EventKind.CAMPAIGN_DECLARED.value
    LINE_DECLARED = EventKind.LINE_DECLARED.value
    CONTACT_CREATED = EventKind.CONTACT_CREATED.value
    TICKET_OPENED = EventKind.TICKET_OPENED.value
    INTERACTION_JOINED = "interaction_joined"
    INTERACTION_LATE = "interaction_late"
    INTERACTION_REFUSED = EventKind.INTERACTION_REFUSED.value
    TICKET_CLOSED = "ticket_closed"
    CONTACT_LINKED = EventKind.CONTACT_LINKED.value
    CONTACTS_MERGED = EventKind.CONTACTS_MERGED.value
    PRODUCT_DECLARED = EventKind.PRODUCT_DECLARED.value
    PAYMENT_RECORDED = EventKind.PAYMENT_RECORDED.value
    PAYMENT_REVERSED = EventKind.PAYMENT_REVERSED.value
    PROMISE_MADE = EventKind.PROMISE_MADE.value
    PROMISE_CANCELLED = EventKind.PROMISE_CANCELLED.value
    COMMENT_ADDED = EventKind.COMMENT_ADDED.value
    IDENTITY_BLOCKED = EventKind.IDENTITY_BLOCKED.value
    IDENTITY_UNBLOCKED = EventKind.IDENTITY_UNBLOCKED.value
    CONTACT_ANONYMIZED = EventKind.CONTACT_ANONYMIZED.value
    TICKET_PENDING = EventKind.TICKET_PENDING.value
    TICKET_SNOOZED = EventKind.TICKET_SNOOZED.value
    AGENT_DECLARED = EventKind.AGENT_DECLARED.value
    PRESENCE_CHANGED = EventKind.PRESENCE_CHANGED.value
    TICKET_ASSIGNED = EventKind.TICKET_ASSIGNED.value
    OPTED_OUT = EventKind.OPTED_OUT.value
    OPTED_IN = EventKind.OPTED_IN.value


@attrs.frozen(kw_only=True)
class Outcome:
    """What :func:`apply_event` did with one event.

    Attributes:
        type: the event type.
        effects: what changed; empty when the event was already applied (R4).
        at: the event time used (its own, or the one R3 gave it).
        timed: whether the event carried its own time.
        ticket: the ticket the event concerned, when there is one.
        detail: a short human explanation (why it was a no-op, which code was created).
    """

    type: str
    effects: tuple[Effect, ...] = ()
    at: dt.datetime = EPOCH
    timed: bool = False
    ticket: int | None = None
    detail: str = ""

    @property
    def already_applied(self) -> bool:
        """True when the event changed nothing because its effect was already there."""
        return not self.effects


@attrs.frozen(kw_only=True)
class ReplaySummary:
    """What a replay did: counts, bad lines, and promise statuses at the end.

    ``promises`` counts promise statuses (``pending``, ``kept``, ``broken``,
    ``cancelled``) as of ``as_of``: the calendar date of the latest event time
    of the file, as written (its own offset).
    """

    lines: int = 0
    applied: int = 0
    already_applied: int = 0
    tickets_opened: int = 0
    interactions_joined: int = 0
    late: int = 0
    refused: int = 0
    tickets_closed: int = 0
    contacts_created: int = 0
    contacts_linked: int = 0
    contacts_merged: int = 0
    products: int = 0
    payments: int = 0
    promises_made: int = 0
    bad_lines: tuple[BadLine, ...] = ()
    stopped_at: int | None = None
    last_at: dt.datetime | None = None
    as_of: dt.date | None = None
    promises: Mapping[str, int] = attrs.field(factory=dict)

    def lines_report(self) -> list[str]:
        """The summary as short text lines (what ``ccdomain replay`` prints)."""
        out = [
            f"lines read:            {self.lines}",
            f"applied:               {self.applied}",
            f"already applied:       {self.already_applied}",
            f"tickets opened:        {self.tickets_opened}",
            f"interactions joined:   {self.interactions_joined}",
            f"late deliveries:       {self.late}",
            f"tickets closed:        {self.tickets_closed}",
            f"contacts created:      {self.contacts_created}",
            f"contacts linked:       {self.contacts_linked}",
            f"contacts merged:       {self.contacts_merged}",
            f"promises made:         {self.promises_made}",
        ]
        if self.refused:
            out.append(f"interactions refused:  {self.refused}")
        if self.as_of is not None and self.promises:
            counts = ", ".join(f"{n} {status}" for status, n in sorted(self.promises.items()))
            out.append(f"promises on {self.as_of.isoformat()}: {counts}")
        out.append(f"bad lines:             {len(self.bad_lines)}")
        return out
