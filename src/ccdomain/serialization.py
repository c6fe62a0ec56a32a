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

import json
from typing import Any, TypeVar

from ccdomain._converter import converter, structure, unstructure
from ccdomain.errors import InvalidData, show
from ccdomain.event_codec import event_from_dict, event_to_dict
from ccdomain.events import Event

__all__ = ["from_json", "structure", "to_json", "unstructure"]

T = TypeVar("T")


def _structure_event(value: Any, _: Any) -> Event:
    return event_from_dict(value)


# An event inside a record (an export, say) is written by the event codec.
converter.register_unstructure_hook(Event, event_to_dict)
converter.register_structure_hook(Event, _structure_event)


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
