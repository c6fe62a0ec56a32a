"""Input checks and limits: one check per kind of value, used by every module (E1, E3).

Every service (contacts, tickets, matching, collections, identities) and the
replay read their inputs through these functions, so one kind of value obeys
one rule wherever it comes in. Each check takes the value, the field name its
message names, and the error class to raise (:class:`~ccdomain.errors.RuleViolation`
unless told), and returns the value normalised: what is stored, and what every
later comparison uses (replay's already-applied checks included, R4)::

    >>> identifier("  ventas  norte ", "campaign")
    'ventas norte'
    >>> identifier("ventas\\u200b", "campaign")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ccdomain.errors.RuleViolation: campaign 'ventas\\u200b' contains the invisible format ...

Every message starts with the field name, then the value as given, then what
was expected (E1); the replay drops the leading field name, which its
``line N: field 'x':`` prefix already says. This module is the bottom layer: it
imports only :mod:`ccdomain.errors` and the standard library.

E3 Kinds of text (decisions where the product documents are silent):

- identifiers (ids, codes, agents and actors, queue and status names, labels,
  tags, typification levels, customer and channel addresses): one line,
  stripped, runs of spaces collapsed to one; no control character (C0, C1), no
  lone surrogate, no invisible format character (Unicode Cf: U+200B, U+200F,
  U+202E, U+FEFF...), no line or paragraph separator and no whitespace other
  than the ASCII space: two identifiers that look alike are equal.
- names (names of persons, companies and campaigns, aliases, address parts,
  search queries): one line, stripped, every run of whitespace collapsed to one
  space; no control character and no lone surrogate; format characters stay
  (they shape some scripts' names).
- free text (message texts, comments, notes, custom text values): stripped,
  the inside kept as given; tab, line feed and carriage return allowed; no
  other control character and no lone surrogate.

Every text is stripped first (whitespace at either end is padding, whatever it
is) and what is left is checked. Single-line values also collapse inner
whitespace (the rule contacts had, now everywhere): a screen shows ``"ana  q"`` and ``"ana q"``
alike, so they are one value. Free text keeps its inner whitespace: line breaks
and indentation are part of a message. Limits count the characters of the
normalised value.

Limits (module constants; docs/rules.md "Input limits" shows the same table):

========================  ==========  ===============================================
Constant                  Limit       Used for
========================  ==========  ===============================================
``ID_MAX``                200         ids of campaigns, lines, products, payments,
                                      promises; contact codes; external ids; queue,
                                      status, kind, template and custom field names;
                                      choices; typification levels; time zones
``ACTOR_MAX``             200         agents and actors, in every service and replay
``LABEL_MAX``             60          ticket labels, contact tags, channel labels,
                                      gender
``NAME_MAX``              200         names of persons, companies and campaigns; line
                                      aliases; address parts; field labels; searches
``ADDRESS_MAX``           320         customer addresses, line addresses, channel
                                      values (an email address is at most 320)
``TEXT_MAX``              65,536      message texts
``COMMENT_MAX``           10,000      typification and case comments, contact notes
``CUSTOM_TEXT_MAX``       1,000       text custom field values (K9)
``PARAM_MAX``             1,024       WhatsApp template parameters
``PHONE_TEXT_MAX``        64          a phone number as typed (M1)
``DOCUMENT_TEXT_MAX``     100         a document number as typed (K3)
``TIME_TEXT_MAX``         64          an ISO 8601 time in an event file (R2)
``TICKET_NUMBER_MAX``     2**63 - 1   ticket numbers, from 1 (SQLite's INTEGER)
``DURATION_MAX``          604,800     call durations in seconds (7 days), from 0
``DAYS_MAX``              3,660       grace and horizon days (C13)
``TYPIFICATION_DEPTH``    4           levels of a typification path (T8)
``PAGE_SIZE_MAX``         500         page size of a contact summary (I1)
``AMOUNT_MAX``            10**15      money amounts, exclusive (C7)
========================  ==========  ===============================================
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
import zoneinfo
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Final, TypeVar, overload

from ccdomain.errors import CcdomainError, RuleViolation, show

__all__ = [
    "ACTOR_MAX",
    "ADDRESS_MAX",
    "AMOUNT_MAX",
    "COMMENT_MAX",
    "CUSTOM_TEXT_MAX",
    "DAYS_MAX",
    "DOCUMENT_TEXT_MAX",
    "DURATION_MAX",
    "ID_MAX",
    "LABEL_MAX",
    "NAME_MAX",
    "PAGE_SIZE_MAX",
    "PARAM_MAX",
    "PHONE_TEXT_MAX",
    "TEXT_MAX",
    "TICKET_NUMBER_MAX",
    "TIME_TEXT_MAX",
    "TYPIFICATION_DEPTH",
    "actor",
    "agent",
    "aware",
    "day",
    "duration",
    "flag",
    "identifier",
    "iso_date",
    "iso_time",
    "items",
    "mapping",
    "name",
    "path",
    "record_fields",
    "region",
    "text",
    "ticket_number",
    "timezone",
    "whole",
]

ID_MAX: Final = 200
ACTOR_MAX: Final = 200
LABEL_MAX: Final = 60
NAME_MAX: Final = 200
ADDRESS_MAX: Final = 320
TEXT_MAX: Final = 65_536
COMMENT_MAX: Final = 10_000
CUSTOM_TEXT_MAX: Final = 1_000
PARAM_MAX: Final = 1_024
PHONE_TEXT_MAX: Final = 64
DOCUMENT_TEXT_MAX: Final = 100
TIME_TEXT_MAX: Final = 64
TICKET_NUMBER_MAX: Final = 2**63 - 1
DURATION_MAX: Final = 7 * 24 * 3600
DAYS_MAX: Final = 3660
TYPIFICATION_DEPTH: Final = 4
PAGE_SIZE_MAX: Final = 500
AMOUNT_MAX: Final = 10**15

T = TypeVar("T")
_Named = TypeVar("_Named", bound=enum.Enum)
Error = type[CcdomainError]

# Names: C0 and C1 controls and lone surrogates (UTF-8 cannot encode them: SQLite refuses).
_NAME_REFUSED: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Free text: the same, but tab, line feed and carriage return are part of a text.
_TEXT_REFUSED: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Identifiers also refuse what cannot be seen: format characters, separators, and
# whitespace other than the ASCII space (private-use and unassigned code points stay).
_ID_REFUSED: Final = frozenset({"Cc", "Cs", "Cf", "Zl", "Zp", "Zs"})
_KINDS: Final = {
    "Cc": "the control character",
    "Cs": "the lone surrogate",
    "Cf": "the invisible format character",
    "Zl": "the line separator",
    "Zp": "the paragraph separator",
    "Zs": "the whitespace character",
}
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_OFFSET_SECONDS: Final = re.compile(r"[+-][0-9]{2}:?[0-9]{2}:?[0-9]{2}(?:[.,][0-9]+)?\Z")
_ID_EXPECTED: Final = "an identifier without control, invisible or non-space whitespace characters"
_NAME_EXPECTED: Final = "a single line without control characters"
_TEXT_EXPECTED: Final = "a text without control characters other than tab and line breaks"


def _refuse_char(value: object, field: str, char: str, expected: str, error: Error) -> None:
    kind = _KINDS.get(unicodedata.category(char), "the character")
    raise error(f"{field} {show(value)} contains {kind} U+{ord(char):04X}: expected {expected}")


def _string(value: object, field: str, error: Error) -> str:
    if isinstance(value, str):
        return value
    raise error(f"{field} {show(value)} is not valid: expected a text, not {type(value).__name__}")


def _sized(value: object, text: str, field: str, limit: int, required: bool, error: Error) -> str:
    if len(text) > limit:
        raise error(f"{field} {show(value)} is too long: expected at most {limit} characters")
    if required and not text:
        raise error(f"{field} {show(value)} is empty: expected a non-blank text")
    return text


def identifier(
    value: object,
    field: str,
    error: Error = RuleViolation,
    *,
    limit: int = ID_MAX,
    required: bool = True,
) -> str:
    """An id, code, agent, label or address: one visible line, stripped, spaces collapsed.

    >>> identifier(" wamid.001 ", "external_id")
    'wamid.001'

    Raises:
        CcdomainError: ``error``, naming ``field`` and the value: not a text, blank
            (unless not ``required``: then ``""``), longer than ``limit``, or holding a
            control, surrogate, format, separator or non-space whitespace character.
    """
    if isinstance(value, str):
        stripped = value.strip()
        # isprintable() is False exactly for the Cc, Cf, Cs, Co, Cn and Z* characters other
        # than the ASCII space: one C-level pass clears the common case (routing is hot).
        if stripped.isprintable() and "  " not in stripped and 0 < len(stripped) <= limit:
            return stripped
    return _identifier(value, field, error, limit, required)


def _identifier(value: object, field: str, error: Error, limit: int, required: bool) -> str:
    stripped = _string(value, field, error).strip()
    if not stripped.isprintable():
        for char in stripped:
            if char != " " and unicodedata.category(char) in _ID_REFUSED:
                _refuse_char(value, field, char, _ID_EXPECTED, error)
    if "  " in stripped:
        stripped = " ".join(stripped.split())  # only ASCII spaces are left to split on
    return _sized(value, stripped, field, limit, required, error)


def agent(value: object, field: str = "agent", error: Error = RuleViolation) -> str:
    """An agent (who did something): an identifier of at most :data:`ACTOR_MAX` characters.

    Raises:
        CcdomainError: ``error``, naming ``field`` and the value.
    """
    return identifier(value, field, error, limit=ACTOR_MAX)


def actor(value: object, field: str = "actor", error: Error = RuleViolation) -> str | None:
    """An optional agent: ``None`` (the system, the customer) or an :func:`agent`.

    Raises:
        CcdomainError: ``error``, naming ``field`` and the value.
    """
    return None if value is None else identifier(value, field, error, limit=ACTOR_MAX)


def name(
    value: object,
    field: str,
    error: Error = RuleViolation,
    *,
    limit: int = NAME_MAX,
    required: bool = False,
) -> str:
    """A single-line free text (a person's or company's name): stripped, whitespace collapsed.

    >>> name("  José   Pérez ", "first_names")
    'José Pérez'

    Raises:
        CcdomainError: ``error``, naming ``field`` and the value: not a text, holding a
            control character or a lone surrogate, too long, or blank when ``required``.
    """
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.isprintable() and "  " not in stripped and 0 < len(stripped) <= limit:
            return stripped
    stripped = _string(value, field, error).strip()
    bad = _NAME_REFUSED.search(stripped)
    if bad is not None:
        _refuse_char(value, field, bad.group(), _NAME_EXPECTED, error)
    return _sized(value, " ".join(stripped.split()), field, limit, required, error)


def text(
    value: object,
    field: str,
    error: Error = RuleViolation,
    *,
    limit: int = TEXT_MAX,
    required: bool = False,
) -> str:
    """A free multi-line text, stripped; inside, tabs and line breaks stay as given.

    >>> text("  Hola,\\n\\tgracias  ", "text")
    'Hola,\\n\\tgracias'

    Raises:
        CcdomainError: ``error``, naming ``field`` and the value: not a text, longer
            than ``limit``, holding another control character or a lone surrogate, or
            blank when ``required``.
    """
    if isinstance(value, str):
        stripped = value.strip()
        if (
            len(stripped) <= limit
            and (stripped or not required)
            and (stripped.isprintable() or _TEXT_REFUSED.search(stripped) is None)
        ):
            return stripped
    stripped = _string(value, field, error).strip()
    bad = _TEXT_REFUSED.search(stripped)
    if bad is not None:
        _refuse_char(value, field, bad.group(), _TEXT_EXPECTED, error)
    return _sized(value, stripped, field, limit, required, error)


def whole(
    value: object,
    field: str,
    error: Error = RuleViolation,
    *,
    minimum: int = 0,
    maximum: int | None = None,
) -> int:
    """A whole number (an ``int``, not a ``bool``) from ``minimum`` to ``maximum``.

    Raises:
        CcdomainError: ``error``, naming ``field``, the value and the bounds.
    """
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= minimum
        and (maximum is None or value <= maximum)
    ):
        return value
    bound = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
    raise error(f"{field} {show(value)} is not valid: expected a whole number {bound}")


def ticket_number(value: object, field: str = "ticket", error: Error = RuleViolation) -> int:
    """A ticket number: a whole number from 1 to :data:`TICKET_NUMBER_MAX` (T5).

    >>> ticket_number(0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ccdomain.errors.RuleViolation: ticket 0 is not valid: expected a whole number from 1 to 92...
    """
    return whole(value, field, error, minimum=1, maximum=TICKET_NUMBER_MAX)


def duration(value: object, field: str = "duration_s", error: Error = RuleViolation) -> int:
    """A call duration in whole seconds, from 0 to :data:`DURATION_MAX`."""
    return whole(value, field, error, minimum=0, maximum=DURATION_MAX)


def flag(value: object, field: str, error: Error = RuleViolation) -> bool:
    """A flag: only ``True`` or ``False`` (not 0, 1 or ``"yes"``)."""
    if isinstance(value, bool):
        return value
    raise error(f"{field} {show(value)} is not valid: expected True or False")


@overload
def items(value: object, field: str, error: Error = ..., *, of: type[T]) -> tuple[T, ...]: ...
@overload
def items(value: object, field: str, error: Error = ...) -> tuple[object, ...]: ...
def items(
    value: object, field: str, error: Error = RuleViolation, *, of: type[Any] | None = None
) -> tuple[object, ...]:
    """A list-like input (not a text, bytes or a mapping) as a tuple; with ``of``, of that type.

    Raises:
        CcdomainError: ``error``, naming ``field`` and the value or the stray item.
    """
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise error(f"{field} {show(value)} is not valid: expected a list")
    found = tuple(value)
    if of is not None:
        for item in found:
            if not isinstance(item, of):
                raise error(f"{field} holds {show(item)}: expected only {of.__name__} items")
    return found


def instance(value: object, kind: type[T], what: str = "", error: Error = RuleViolation) -> T:
    """``value`` itself when it is a ``kind`` record; ``what`` names it in the refusal.

    >>> instance(3, int)
    3

    Raises:
        CcdomainError: ``error``, naming the value and the kind expected.
    """
    if not isinstance(value, kind):
        named = f"{what} " if what else ""
        raise error(f"{named}{show(value)} is not a {kind.__name__}")
    return value


def member(value: object, kind: type[_Named], named: str, error: Error = RuleViolation) -> _Named:
    """The member of ``kind`` whose value ``value`` spells, in any case and padding.

    ``named`` opens the refusal (``"line 'wa' has channel"``).

    Raises:
        CcdomainError: ``error``, naming the value and listing the members' values.
    """
    if isinstance(value, str):
        spelled = value.strip().lower()
        for found in kind:
            if found.value == spelled:
                return found
    raise error(f"{named} {show(value)}: expected one of {', '.join(str(m.value) for m in kind)}")


def mapping(
    value: object, field: str, error: Error = RuleViolation, *, keys: Iterable[str]
) -> dict[str, object]:
    """A mapping input whose keys are all among ``keys``, as a plain dict.

    Raises:
        CcdomainError: ``error``: not a mapping, or a key that is not a field name.
    """
    names = tuple(keys)
    if not isinstance(value, Mapping):
        raise error(f"{field} {show(value)} is not valid: expected a mapping of {', '.join(names)}")
    fields: dict[str, object] = {}
    for key, item in value.items():
        if not isinstance(key, str) or key not in names:
            raise error(
                f"{field} has an unknown field {show(key)}: expected some of {', '.join(names)}"
            )
        fields[key] = item
    return fields


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def record_fields(
    value: object,
    record: type[Any],
    field: str,
    error: Error = RuleViolation,
    *,
    keys: Sequence[str],
    required: str,
) -> dict[str, object]:
    """The fields ``keys`` of a ``record``, given as one or as a plain mapping of them.

    What a rule reads from a host that holds a record or the shape of an event line
    (an address, a template field): the rule then builds it with its checks.

    Raises:
        CcdomainError: ``error``: neither a ``record`` nor a mapping, a key that is
            not a field name, or a mapping without ``required``.
    """
    if isinstance(value, record):
        return {key: getattr(value, key) for key in keys}
    if not isinstance(value, Mapping):
        raise error(
            f"{show(value)} is not {_a(field)}: expected {_a(record.__name__)} or a mapping"
        )
    fields = mapping(value, _a(field), error, keys=keys)
    if required not in fields:
        raise error(f"{field} {show(value)} has no {required}")
    return fields


def region(
    value: object,
    field: str,
    error: Error = RuleViolation,
    *,
    known: Collection[str],
    required: bool = True,
) -> str:
    """An ISO 3166 alpha-2 region among ``known``, any case, returned upper case.

    ``known`` comes from the caller (the regions the phone library knows): this
    module holds no region list. Blank is ``""`` when not ``required``.
    """
    if isinstance(value, str):
        code = value.strip().upper()
        if code in known or (not code and not required):
            return code
    raise error(
        f"{field} {show(value)} is not a known region: expected an ISO 3166 alpha-2 code "
        "such as 'PE', 'CL' or 'MX'"
    )


def day(value: object, field: str, error: Error = RuleViolation) -> dt.date:
    """A calendar date: a ``datetime.date`` that is not a ``datetime`` (C9)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise error(f"{field} {show(value)} is not valid: expected a datetime.date")


def aware(value: object, field: str = "at", error: Error = RuleViolation) -> dt.datetime:
    """A datetime with a UTC offset (event times always carry one)."""
    if isinstance(value, dt.datetime) and value.utcoffset() is not None:
        return value
    raise error(
        f"{field} {show(value)} is not valid: expected an aware datetime (with a UTC offset)"
    )


def iso_time(value: object, field: str = "at", error: Error = RuleViolation) -> dt.datetime:
    """An ISO 8601 time with an offset in hours and minutes, given as a string (event files, R2).

    >>> iso_time("2026-11-20T10:00:00-05:00").isoformat()
    '2026-11-20T10:00:00-05:00'
    >>> iso_time("2026-11-20T10:00:00-05:00:30")
    Traceback (most recent call last):
    ...
    ccdomain.errors.RuleViolation: at '2026-11-20T10:00:00-05:00:30' has an offset with seconds; \
expected an offset in hours and minutes like -05:00
    """
    reason = f"{field} {show(value)} is not an ISO 8601 time with offset"
    if not isinstance(value, str) or len(value) > TIME_TEXT_MAX:
        raise error(reason)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise error(reason) from None
    offset = parsed.utcoffset()
    if offset is None:
        raise error(reason + " (the offset is missing)")
    # "...-05:00" or "...Z", as nearly every file writes it, has no seconds to look for.
    plain = value[-6:-5] in ("+", "-") or value.endswith(("Z", "z"))
    if offset % dt.timedelta(minutes=1) or (not plain and _OFFSET_SECONDS.search(value)):
        # ISO 8601 offsets are hours and minutes; Python also reads seconds and
        # microseconds (and loses some of them), which would be echoed.
        raise error(
            f"{field} {show(value)} has an offset with seconds; expected an offset in hours "
            "and minutes like -05:00"
        )
    return parsed


def iso_date(value: object, field: str, error: Error = RuleViolation) -> dt.date:
    """A date ``YYYY-MM-DD``, given as a string (event files, R2)."""
    reason = f"{field} {show(value)} is not a date YYYY-MM-DD"
    if not isinstance(value, str) or _ISO_DATE.fullmatch(value) is None:
        raise error(reason)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise error(reason) from None


def timezone(value: object, field: str = "timezone", error: Error = RuleViolation) -> str:
    """An IANA time zone name that zoneinfo knows (``"America/Lima"``)."""
    zone = identifier(value, field, error)
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise error(
            f"{field} {show(value)} is not a known time zone: expected an IANA name "
            "such as 'America/Lima'"
        ) from None
    return zone


def path(
    value: object, field: str, error: Error = RuleViolation, *, depth: int = TYPIFICATION_DEPTH
) -> tuple[str, ...]:
    """A typification path: 1 to ``depth`` identifier labels (T8, T14).

    >>> path([" Contactado ", "Venta"], "path")
    ('Contactado', 'Venta')
    """
    labels = items(value, field, error)
    if not labels:
        raise error(f"{field} {show(value)} is empty: expected a non-empty list of labels")
    if len(labels) > depth:
        raise error(
            f"{field} {show(value)} has {len(labels)} levels: expected at most {depth} "
            "(group > result > reason > sub-reason)"
        )
    return tuple(identifier(label, f"{field} level", error) for label in labels)
