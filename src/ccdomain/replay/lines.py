"""Reading one line of an event file: the JSON object, its fields and its context (R2, R3, R5).

Part of :mod:`ccdomain.replay`. :func:`parse_line` turns a line into a JSON object;
a :class:`LineContext` is the event being applied: its fields, the unit of work it
is applied in, and its time.

- R2 Every field is read through the check the services apply (:mod:`ccdomain.checks`,
  E3), so the value read is the one the store holds; a refusal names the line, the
  field and the reason (:class:`~ccdomain.replay.EventRejected`).
- R3 :meth:`LineContext.clock`: an event's own ``at``, else the latest time seen in
  the file, else 00:00 of its own date in its campaign's zone, else the epoch.
- R5 :meth:`LineContext.customer` reads a customer in the campaign's region, as
  blocks read it (:func:`ccdomain.identities.identity_address`, I7);
  :meth:`LineContext.contact_code` follows merge tombstones to the live contact.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final, TypeVar

from ccdomain import checks
from ccdomain import collections as coll
from ccdomain import contacts as ct
from ccdomain import identities as ids
from ccdomain.errors import CcdomainError
from ccdomain.errors import show as _show
from ccdomain.events import Event
from ccdomain.models import Campaign
from ccdomain.ports import Store, UnitOfWork
from ccdomain.replay.memos import Memos, anonymized_trail
from ccdomain.replay.outcomes import EPOCH, Effect, EventRejected, Outcome

__all__ = ["LineContext", "parse_line"]

_T = TypeVar("_T")


class _DuplicateKey(ValueError):
    """A JSON object of the line names a key twice (raised by the decoder's hook)."""

    def __init__(self, key: str, first: object, second: object) -> None:
        super().__init__(key)
        self.key, self.first, self.second = key, first, second


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """The object of ``pairs``, refusing a key given twice (``json`` keeps the last one)."""
    found = dict(pairs)
    if len(found) < len(pairs):
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                raise _DuplicateKey(key, seen[key], value)
            seen[key] = value
    return found


# Built once: the hook costs one dict and one length test per object of the line, about
# half a microsecond a line (json.loads builds a decoder at every call with a hook).
_DECODER: Final = json.JSONDecoder(object_pairs_hook=_unique_keys)


def parse_line(line: str | bytes, number: int) -> Mapping[str, Any]:
    """The JSON object of line ``number`` (UTF-8 bytes or text; a BOM on line 1 is dropped).

    Raises:
        EventRejected: the line is not UTF-8, not JSON, not a JSON object, or one of its
            objects names a key twice (``{"id": "w", "id": "v2"}``: which one was meant?).
    """
    if isinstance(line, bytes):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EventRejected(
                f"not UTF-8 text ({exc.reason} at byte {exc.start})", line=number
            ) from None
    else:
        text = line
    if number == 1:
        text = text.removeprefix("\ufeff")
    try:
        data = _DECODER.decode(text)
    except _DuplicateKey as dup:
        raise EventRejected(
            f"given twice in one JSON object ({_show(dup.first)}, then {_show(dup.second)}); "
            "expected each key once",
            field=dup.key,
            line=number,
        ) from None
    except ValueError as exc:
        raise EventRejected(f"not JSON ({exc})", line=number) from None
    except RecursionError:
        raise EventRejected("not JSON (nested too deeply)", line=number) from None
    if not isinstance(data, dict):
        raise EventRejected(f"{_show(data)} is not a JSON object", line=number)
    return data


class LineContext:
    """One event being applied: its fields, line, the unit of work and the clock (R3)."""

    def __init__(
        self,
        store: Store,
        uow: UnitOfWork,
        data: Mapping[str, Any],
        line: int | None,
        default_at: dt.datetime | None,
        memos: Memos | None = None,
    ) -> None:
        self.store = store
        self.uow = uow
        self.data = data
        self.line = line
        self.default_at = default_at
        self.memos = memos
        self.type = str(data.get("type"))

    def nested(self, data: Mapping[str, Any]) -> LineContext:
        """An object inside the event (an installment) read as the event is."""
        return LineContext(self.store, self.uow, data, self.line, None)

    def outcome(self, at: dt.datetime, *effects: Effect, **more: Any) -> Outcome:
        """What applying the event did (nothing when ``effects`` is empty: R4)."""
        return Outcome(type=self.type, effects=effects, at=at, timed=self.has("at"), **more)

    def fail(self, field: str | None, reason: str) -> EventRejected:
        return EventRejected(reason, field=field, line=self.line)

    @contextmanager
    def blame(self, field: str | None, **more: str) -> Iterator[None]:
        """Turn a ccdomain error raised inside into an EventRejected naming a field.

        ``more`` maps error class names to other fields (``UnknownLine="line"``).
        """
        try:
            yield
        except EventRejected:
            raise
        except CcdomainError as exc:
            chosen = field
            for klass in type(exc).__mro__:
                if klass.__name__ in more:
                    chosen = more[klass.__name__]
                    break
            raise self.fail(chosen, str(exc)) from exc

    def raw(self, name: str) -> Any:
        return self.data.get(name)

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def checked(self, name: str, check: Callable[..., _T], **options: Any) -> _T | None:
        """The field read through ``check`` (a :mod:`ccdomain.checks` function), None if absent.

        The services read their inputs through the same checks, so the value returned
        is the one they store: R4's comparisons with the store use it.
        """
        value = self.data.get(name)
        if value is None:
            return None
        try:
            return check(value, name, **options)
        except CcdomainError as exc:
            # Every check's message starts with the field name, which the line names too.
            raise self.fail(name, str(exc).removeprefix(f"{name} ")) from None

    def text(self, name: str, *, limit: int = checks.ID_MAX) -> str:
        """A required identifier (an id, a code, a name of a kind): :func:`checks.identifier`."""
        found = self.checked(name, checks.identifier, limit=limit)
        if found is None:
            raise self.fail(name, "missing; expected a non-empty text")
        return found

    def opt_text(self, name: str, *, limit: int = checks.ID_MAX) -> str | None:
        # Most optional fields are absent: answered without the call to ``checked``.
        if self.data.get(name) is None:
            return None
        return self.checked(name, checks.identifier, limit=limit)

    def agent(self, name: str = "agent") -> str:
        found = self.checked(name, checks.agent)
        if found is None:
            raise self.fail(name, "missing; expected an agent id")
        return found

    def opt_agent(self, name: str = "agent") -> str | None:
        if self.data.get(name) is None:
            return None
        return self.checked(name, checks.agent)

    def free_text(self, name: str, *, limit: int = checks.TEXT_MAX) -> str | None:
        if self.data.get(name) is None:
            return None
        return self.checked(name, checks.text, limit=limit)

    def time(self, name: str = "at") -> dt.datetime:
        found = self.checked(name, checks.iso_time)
        if found is None:
            raise self.fail(name, "missing; expected an ISO 8601 time with offset")
        return found

    def date(self, name: str) -> dt.date:
        found = self.checked(name, checks.iso_date)
        if found is None:
            raise self.fail(name, "missing; expected a date YYYY-MM-DD")
        return found

    def amount(self, name: str, currency: str) -> coll.Money:
        value = self.data.get(name)
        if value is None:
            raise self.fail(name, "missing; expected an amount as a string such as '100.00'")
        return self.amount_value(name, value, currency)

    def amount_value(self, name: str, value: object, currency: str) -> coll.Money:
        """``value`` (given under ``name``) as money: a string such as '100.00' (R2)."""
        if not isinstance(value, str):
            raise self.fail(name, f"{_show(value)} is not an amount as a string such as '100.00'")
        with self.blame(name):
            return coll.money(value, currency)

    def listing(self, name: str) -> list[Any]:
        return list(self.checked(name, checks.items) or ())

    def clock(self, *, on: dt.date | None = None, campaign: Campaign | None = None) -> dt.datetime:
        """The event's time: its own ``at``, else the R3 default."""
        if self.has("at"):
            return self.time("at")
        if self.default_at is not None:
            return self.default_at
        if on is not None:
            zone = zoneinfo.ZoneInfo(campaign.timezone if campaign is not None else "UTC")
            return dt.datetime.combine(on, dt.time(0, 0), tzinfo=zone)
        return EPOCH

    # -- lookups ----------------------------------------------------------------------------

    def campaign(self, name: str = "campaign") -> Campaign:
        campaign_id = self.text(name)
        found = self.uow.get_campaign(campaign_id)
        if found is None:
            raise self.fail(name, f"{_show(campaign_id)} is not a declared campaign")
        return found

    def customer(self, campaign: Campaign, name: str = "customer") -> str:
        """The customer address read in the campaign's region, as blocks read it (R5, I7).

        A phone-looking value is E.164, a value with ``@`` a lower-case email, anything
        else an id (a Messenger or web chat id, digits and all).
        """
        raw = self.text(name, limit=checks.ADDRESS_MAX)
        with self.blame(name):
            return ids.identity_address(raw, campaign.region)

    def contact_code(
        self, campaign: Campaign, name: str = "contact", *, stored: str | None = None
    ) -> str:
        """The live contact the line names by code (R5: merge tombstones followed).

        ``stored`` is the contact the record this line repeats holds (a product's, a
        ticket's): when the line's code is gone from the store and ``stored`` was
        anonymized, the line names it (I4 took the code away, R4).
        """
        code = self.text(name)
        if stored is not None and self.uow.get_contact(campaign.id, code) is None:
            held = self.uow.get_contact(campaign.id, stored)
            if held is not None and held.anonymized:
                return stored
        with self.blame(name):
            return ct.live_contact(self.uow, campaign.id, code).code

    def anonymized_events(self, at: dt.datetime, *, before_replay: bool = False) -> list[Event]:
        """The events about anonymized contacts, tickets and addresses at ``at`` (R4, I4).

        A replay keeps them (:class:`~ccdomain.replay.memos.Anonymized`): as they were
        before it anonymized anything when ``before_replay``, else as they are now;
        :func:`~ccdomain.replay.apply_event` alone reads the log now.
        """
        if self.memos is None:
            return anonymized_trail(self.uow).get(at, [])
        memo = self.memos.anonymized
        trail = memo.trail(self.uow) if before_replay else memo.live_trail(self.uow)
        return trail.get(at, [])

    def ticket_number(self, name: str = "ticket") -> int | None:
        number = self.checked(name, checks.ticket_number)
        if number is not None and self.uow.get_ticket(number) is None:
            raise self.fail(name, f"{number} is not the number of a stored ticket")
        return number
