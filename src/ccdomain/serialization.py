"""JSON round trip of every model, through one private cattrs converter.

Datetimes are ISO 8601 with their offset, dates ``YYYY-MM-DD``, Decimals
strings (exact), enums their value. Custom field values keep their type:
text and choices are JSON strings, booleans JSON booleans, numbers
``{"number": "12.50"}`` and dates ``{"date": "2026-11-20"}``. An
:class:`~ccdomain.events.Event` (inside an export, say) is written and read by the
event codec, :mod:`ccdomain.event_codec`, which writes its payload through this
converter: so ``to_json(event)`` is the text a store keeps.

    >>> import datetime as dt
    >>> from ccdomain.models import Contact
    >>> c = Contact(campaign="ventas", code="12345678", first_names="José",
    ...             custom={"plan": "A", "limite": Decimal("1500.00")})
    >>> text = to_json(c)
    >>> from_json(text, Contact) == c
    True
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from cattrs.errors import BaseValidationError
from cattrs.preconf.json import make_converter

from ccdomain.errors import InvalidData, show
from ccdomain.events import Event
from ccdomain.models import CustomValue

__all__ = ["from_json", "structure", "to_json", "unstructure"]

T = TypeVar("T")

_converter = make_converter(forbid_extra_keys=False)


def _structure_decimal(value: Any, _: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidData(f"{value!r} is not a decimal; expected a string such as '12.50'")
    try:
        result = Decimal(value)
    except InvalidOperation as exc:
        raise InvalidData(f"{value!r} is not a decimal; expected a string such as '12.50'") from exc
    if not result.is_finite():
        raise InvalidData(f"{value!r} is not a finite decimal")
    return result


def _unstructure_custom(value: CustomValue) -> Any:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, Decimal):
        return {"number": str(value)}
    return {"date": value.isoformat()}


def _structure_custom(value: Any, _: Any) -> CustomValue:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        if "number" in value:
            return _structure_decimal(value["number"], Decimal)
        if "date" in value and isinstance(value["date"], str):
            return dt.date.fromisoformat(value["date"])
    raise InvalidData(
        f"{value!r} is not a custom field value; expected a string, a boolean, "
        "{'number': '...'} or {'date': 'YYYY-MM-DD'}"
    )


def _unstructure_event(event: Event) -> Any:
    from ccdomain.event_codec import event_to_dict  # it imports this module

    return event_to_dict(event)


def _structure_event(value: Any, _: Any) -> Event:
    from ccdomain.event_codec import event_from_dict  # it imports this module

    return event_from_dict(value)


_converter.register_unstructure_hook(Decimal, str)
_converter.register_unstructure_hook(Event, _unstructure_event)
_converter.register_structure_hook(Event, _structure_event)
_converter.register_structure_hook(Decimal, _structure_decimal)
# Predicate hooks, registered last, win over the JSON preset's union passthrough.
_converter.register_unstructure_hook_func(lambda t: t == CustomValue, _unstructure_custom)
_converter.register_structure_hook_func(lambda t: t == CustomValue, _structure_custom)


def unstructure(obj: Any) -> Any:
    """The JSON-ready form (dicts, lists, strings, numbers) of a model or collection of models."""
    return _converter.unstructure(obj)


def structure(data: Any, cls: type[T]) -> T:
    """Build a ``cls`` from its unstructured form.

    Raises:
        InvalidData: when ``data`` does not describe a ``cls``.
    """
    try:
        return _converter.structure(data, cls)
    except InvalidData:
        raise
    except (BaseValidationError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidData(
            f"{show(data, 80)} does not describe a {getattr(cls, '__name__', cls)}: {exc}"
        ) from exc


def to_json(obj: Any) -> str:
    """The JSON text of a model (compact, UTF-8 characters kept, keys in field order)."""
    return json.dumps(unstructure(obj), ensure_ascii=False, separators=(",", ":"))


def from_json(text: str | bytes, cls: type[T]) -> T:
    """Read a ``cls`` back from :func:`to_json` output.

    Raises:
        InvalidData: when the text is not JSON or does not describe a ``cls``.
    """
    try:
        data = json.loads(text)
    except (ValueError, TypeError) as exc:
        raise InvalidData(f"{show(text, 80)} is not JSON: {exc}") from exc
    return structure(data, cls)
