"""Replay: event lines (docs/events.md) turned into the library's service calls.

:func:`apply_event` applies one event (a JSON object already parsed) through the
services of :mod:`ccdomain.contacts`, :mod:`ccdomain.tickets`,
:mod:`ccdomain.collections`, :mod:`ccdomain.matching` and :mod:`ccdomain.identities`;
:func:`replay` applies a whole file of JSON lines and counts what happened. The
rows the ``ccdomain`` command lists are :mod:`ccdomain.listings` (the ``*_rows``
names here are its deprecated aliases)::

    >>> from ccdomain.memory import MemoryStore
    >>> store = MemoryStore()
    >>> summary = replay(store, [
    ...     '{"type": "campaign", "id": "ventas", "region": "PE"}',
    ...     '{"type": "line", "id": "wa", "channel": "whatsapp", "address": "+51 1 7001111",'
    ...     ' "campaign": "ventas"}',
    ...     '{"type": "interaction", "id": "m1", "at": "2026-11-20T10:00:00-05:00",'
    ...     ' "channel": "whatsapp", "direction": "inbound", "line": "wa",'
    ...     ' "customer": "987 654 321", "text": "Hola"}',
    ... ])
    >>> summary.tickets_opened, summary.bad_lines
    (1, ())
    >>> outcome = apply_event(store, {"type": "resolve", "ticket": 1, "agent": "ana",
    ...                               "at": "2026-11-20T10:05:00-05:00"})
    >>> outcome.effects, outcome.ticket
    ((<Effect.TICKET_CLOSED: 'ticket_closed'>,), 1)
    >>> apply_event(store, {"type": "resolve", "ticket": 1, "agent": "ana",
    ...                     "at": "2026-11-20T10:05:00-05:00"}).already_applied
    True

The line types (:data:`EVENT_TYPES`), by the module that applies them; the one
table of their fields, functions and event kinds is :mod:`ccdomain.replay.kinds`:

- ``campaign``, ``line``: :mod:`ccdomain.replay.setup`;
- ``contact``: :mod:`ccdomain.replay.contacts`;
- ``interaction``: :mod:`ccdomain.replay.interactions`;
- ``resolve``, ``typify``, ``cancel``, ``link``: :mod:`ccdomain.replay.closing`;
- ``product``, ``payment``, ``reverse_payment``, ``promise``, ``cancel_promise``:
  :mod:`ccdomain.replay.collections`;
- ``merge``, ``comment``, ``block``, ``unblock``, ``anonymize``:
  :mod:`ccdomain.replay.identities`;
- ``pending``, ``snooze``: :mod:`ccdomain.replay.states`;
- ``agent``, ``presence``, ``assign``: :mod:`ccdomain.replay.agents`;
- ``opt_out``, ``opt_in``: :mod:`ccdomain.replay.contact_policy`.

A line is read by :mod:`ccdomain.replay.lines`; what a replay remembers from line
to line, so that no check rescans the store, is :mod:`ccdomain.replay.memos`; the
records given back are :mod:`ccdomain.replay.outcomes`.

Rules of the replay (docs/rules.md):

- R1 One line, one unit of work: a line is applied whole or not at all (E2).
  Lines before a bad line stay applied; without ``keep_going`` the replay stops
  at the first bad line, with it every good line is applied and every bad one
  listed. Lines are committed in batches (each line a unit of work nested in one
  transaction per batch: a savepoint, or on SQLite an undo log in memory, see
  docs/storage.md), so a crash loses at most the current batch of whole lines,
  never part of one.
- R2 Events are validated before any service is called: unknown event types
  and unknown fields are refused (keys starting with ``_`` are comments and are
  ignored), and so is a key given twice in one JSON object; times are ISO 8601
  with an offset in hours and minutes, dates ``YYYY-MM-DD``, money a string.
  Every refusal names the line, the field when one is to blame, and the
  reason: ``line 7: field 'at': '2026-13-01' is not an ISO 8601 time with offset``.
- R3 Events without a time of their own (campaign, line, contact, link, product,
  payment, promise, merge; and comment, block, unblock and anonymize when they
  leave out ``at``) happen at the latest event time seen so far in the file (lines
  applied or already applied), else at 00:00 of the event's own date (payment
  ``date``, promise ``made_on``) in its campaign's time zone, else at
  1970-01-01T00:00Z. Never the wall clock, so a replay is deterministic. Any of
  them may carry an explicit ``at``.
- R4 Replaying a file twice leaves the store as one replay did. A line whose
  effect is already in the store is a no-op ("already applied"), not a bad line;
  a line that contradicts the store is a bad line. Every field is read through
  the check the services apply (:mod:`ccdomain.checks`, E3), so what is compared
  with the store is what the store holds (a padded ``" ana "`` agent is ``"ana"``);
  a contact's channels, addresses and tags are held by the keys a merge dedupes
  them by (M11). A line naming a contact merged or anonymized since, or an
  anonymized address, is already applied: an anonymized contact is found by the
  fingerprint of the values its line created it with (I11), the other lines by
  what they recorded but the personal values (:class:`~ccdomain.replay.memos.Anonymized`),
  so nothing of it comes back. When a line of each type is already applied is
  said by the module that applies it (above).
- R5 Customer strings in resolve, typify, cancel, link, promise, block and unblock
  events are read in the campaign's region as blocks read them (I7: a phone-looking
  value a phone, a value with ``@`` an email, else an id); contact codes in link,
  product and merge events follow merge tombstones to the live contact.
- R6 Every event type of the contract is applied through the library's services
  (:data:`LINE_EVENTS` lists the event kinds each may record); an unknown type is
  a bad line, never skipped.
- R7 A promise names the ticket it was made in: ``ticket``, else the customer's
  ticket of the campaign open at the event time, else the open one, else the
  latest; a customer with no ticket in the campaign still gets the promise,
  without a ticket (C22), when it is an address of the product's contact; any
  other customer without a ticket is a bad line.
- R8 A failure of the store itself (:class:`~ccdomain.errors.StoreUnavailable`: a
  read-only, full, failing or locked database) is not a bad line, with or without
  ``keep_going``: the replay stops at once and raises :class:`ReplayStopped`, naming
  the line and the last line kept. The lines before it stay applied: the batch
  they are in is committed if the store still can.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from ccdomain import listings
from ccdomain._deprecation import deprecated_alias
from ccdomain._gc import collector_paused
from ccdomain.errors import CcdomainError, StoreUnavailable
from ccdomain.errors import show as _show
from ccdomain.ports import Store
from ccdomain.replay.kinds import EVENT_TYPES, LINE_EVENTS, LINE_KINDS
from ccdomain.replay.lines import LineContext, parse_line
from ccdomain.replay.memos import Memos
from ccdomain.replay.outcomes import (
    BadLine,
    Effect,
    EventRejected,
    Outcome,
    ReplayStopped,
    ReplaySummary,
)

__all__ = [
    "EVENT_TYPES",
    "LINE_EVENTS",
    "BadLine",
    "Effect",
    "EventRejected",
    "Outcome",
    "ReplayStopped",
    "ReplaySummary",
    "apply_event",
    "contact_rows",
    "promise_rows",
    "replay",
    "ticket_rows",
    "typification_rows",
]

_BATCH: Final = 2000


def apply_event(
    store: Store,
    event: Mapping[str, Any],
    *,
    line_no: int | None = None,
    default_at: dt.datetime | None = None,
) -> Outcome:
    """Apply one event through the library's services, all or nothing (R1-R5).

    Args:
        store: the store to apply it to.
        event: the event, a JSON object already parsed (docs/events.md).
        line_no: its line number, used in error messages.
        default_at: the time of events without one (R3): :func:`replay` passes the
            latest event time seen so far.

    Returns:
        The :class:`Outcome`; ``outcome.already_applied`` when the store already held
        its effect (R4).

    Raises:
        EventRejected: (an :class:`~ccdomain.errors.InvalidEvent`) the event is malformed
            or a rule refused it; its message names the line, the field and the reason.
            Nothing of the event was applied.
        StoreUnavailable: the store could not read or write (R8); nothing of the event
            was applied.
    """
    return _apply(store, event, line_no=line_no, default_at=default_at, memos=None)


def _apply(
    store: Store,
    event: Mapping[str, Any],
    *,
    line_no: int | None,
    default_at: dt.datetime | None,
    memos: Memos | None,
) -> Outcome:
    if not isinstance(event, Mapping):
        raise EventRejected(f"{_show(event)} is not a JSON object", line=line_no)
    kind_name = event.get("type")
    if kind_name is None:
        raise EventRejected(
            "missing; expected an event type such as 'interaction'", field="type", line=line_no
        )
    kind = LINE_KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        raise EventRejected(
            f"{_show(kind_name)} is not an event type; expected one of {', '.join(EVENT_TYPES)}",
            field="type",
            line=line_no,
        )
    if not kind.fields.issuperset(event):  # one set test for the usual line (R2)
        for key in event:
            if not isinstance(key, str):
                raise EventRejected(f"{_show(key)} is not a field name", line=line_no)
            if key not in kind.fields and not key.startswith("_"):
                raise EventRejected(
                    f"unknown field for a {kind_name!r} event; expected some of "
                    f"{', '.join(sorted(kind.fields - {'type'}))}",
                    field=key,
                    line=line_no,
                )
    kept = False
    try:
        with store.unit_of_work() as uow:
            ctx = LineContext(store, uow, event, line_no, default_at, memos)
            outcome = kind.apply(ctx)
            if outcome.effects:
                uow.commit()
        kept = bool(outcome.effects)
    except StoreUnavailable:
        raise
    except EventRejected as exc:
        failure = _storage_failure(exc)
        if failure is not None:  # a handler blamed a field for the storage's failure (R8)
            raise failure from None
        raise
    except CcdomainError as exc:
        raise EventRejected(str(exc), line=line_no) from exc
    finally:
        if memos is not None:
            memos.redeliveries.settle(kept)
    return outcome


def _storage_failure(exc: BaseException) -> StoreUnavailable | None:
    """The StoreUnavailable behind a rejection, if the store's failure caused it (R8)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, StoreUnavailable):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


class _Tally:
    """Counts while replaying (a summary is built from it at the end)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.bad: list[BadLine] = []
        self.last_at: dt.datetime | None = None

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def record(self, outcome: Outcome) -> None:
        if outcome.already_applied:
            self.add("already_applied")
        else:
            self.add("applied")
        for effect in outcome.effects:
            self.add(effect.value)
        if outcome.timed and (self.last_at is None or outcome.at > self.last_at):
            self.last_at = outcome.at


def replay(
    store: Store,
    lines: Iterable[str | bytes],
    *,
    keep_going: bool = False,
    progress: Callable[[int], None] | None = None,
    batch: int = _BATCH,
) -> ReplaySummary:
    """Apply event lines (JSON objects, one a line) to a store and count what happened.

    Blank lines are skipped (they still count for line numbers). Each line is applied
    all or nothing (R1); lines are committed every ``batch`` lines and at the end.

    Args:
        store: the store.
        lines: the lines of the file, text or UTF-8 bytes (``\\n`` endings are fine).
        keep_going: go on past bad lines and list them all; otherwise stop at the first.
        progress: called with the number of lines read so far, after every line.
        batch: lines per transaction (each line a nested unit of work in it). The cyclic
            garbage collector is paused during each batch and restored after it.

    Returns:
        The :class:`ReplaySummary`. Bad lines are in ``bad_lines``; without
        ``keep_going``, ``stopped_at`` is the line the replay stopped at.

    Raises:
        ReplayStopped: (a :class:`~ccdomain.errors.StoreUnavailable`) the store could not
            read or write (R8); it names the line and the last line kept.
    """
    tally = _Tally()
    memos = Memos()
    stopped: int | None = None
    source = iter(enumerate(lines, start=1))
    pending = next(source, None)  # read before a batch begins: no empty last batch
    kept = 0  # the last line whose effect is committed
    while pending is not None:
        at = pending[0]  # the line being applied (the first, while the batch begins)
        done = pending[0] - 1  # the last line this batch went past
        failed: StoreUnavailable | None = None
        try:
            # The collector is paused batch by batch (ccdomain._gc): the store keeps every
            # ticket, interaction and event, and its passes over them were pure cost.
            with collector_paused(), store.unit_of_work() as outer:
                in_batch = 0
                try:
                    while pending is not None and (in_batch == 0 or in_batch < batch):
                        number, text = pending
                        at = number
                        if text.strip():
                            tally.add("lines")
                            try:
                                outcome = _apply(
                                    store,
                                    parse_line(text, number),
                                    line_no=number,
                                    default_at=tally.last_at,
                                    memos=memos,
                                )
                            except EventRejected as exc:
                                tally.bad.append(
                                    BadLine(line=number, field=exc.field, reason=exc.reason)
                                )
                                if not keep_going:
                                    stopped = done = number
                                    pending = None
                                    break
                            except StoreUnavailable as exc:
                                failed = exc
                                break
                            else:
                                tally.record(outcome)
                        done = number
                        if progress is not None:
                            progress(number)
                        in_batch += 1
                        pending = next(source, None)
                finally:
                    # Whole lines only: a line that failed half-way was undone by its own
                    # unit of work, so what the batch holds can always be kept.
                    outer.commit()
        except StoreUnavailable as exc:  # the batch could not begin or be committed
            raise ReplayStopped(failed or exc, line=at, kept=kept) from exc
        kept = done
        if failed is not None:
            raise ReplayStopped(failed, line=at, kept=kept) from failed
    return _summary(store, tally, stopped)


def _summary(store: Store, tally: _Tally, stopped: int | None) -> ReplaySummary:
    counts = tally.counts
    as_of = None if tally.last_at is None else tally.last_at.date()
    statuses: dict[str, int] = {}
    if as_of is not None:
        for row in listings.promise_rows(store, as_of=as_of):
            statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    return ReplaySummary(
        lines=counts.get("lines", 0),
        applied=counts.get("applied", 0),
        already_applied=counts.get("already_applied", 0),
        tickets_opened=counts.get(Effect.TICKET_OPENED.value, 0),
        interactions_joined=counts.get(Effect.INTERACTION_JOINED.value, 0),
        late=counts.get(Effect.INTERACTION_LATE.value, 0),
        refused=counts.get(Effect.INTERACTION_REFUSED.value, 0),
        tickets_closed=counts.get(Effect.TICKET_CLOSED.value, 0),
        contacts_created=counts.get(Effect.CONTACT_CREATED.value, 0),
        contacts_linked=counts.get(Effect.CONTACT_LINKED.value, 0),
        contacts_merged=counts.get(Effect.CONTACTS_MERGED.value, 0),
        products=counts.get(Effect.PRODUCT_DECLARED.value, 0),
        payments=counts.get(Effect.PAYMENT_RECORDED.value, 0),
        promises_made=counts.get(Effect.PROMISE_MADE.value, 0),
        bad_lines=tuple(tally.bad),
        stopped_at=stopped,
        last_at=tally.last_at,
        as_of=as_of,
        promises=statuses,
    )


# --- deprecated names ----------------------------------------------------------------------------
# The listings moved to ccdomain.listings (keyword-only there); the old names and
# positional shapes keep working until 1.0.
ticket_rows = deprecated_alias(listings.ticket_rows, "ticket_rows", positional=("campaign",))
contact_rows = deprecated_alias(listings.contact_rows, "contact_rows", positional=("campaign",))
promise_rows = deprecated_alias(listings.promise_rows, "promise_rows", positional=("as_of",))
typification_rows = deprecated_alias(
    listings.typification_rows, "typification_rows", positional=("campaign",)
)
