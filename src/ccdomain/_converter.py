"""The one private cattrs converter of ccdomain, and its record hooks.

:mod:`ccdomain.serialization` is the public face (``to_json``/``from_json``); this
module sits below the event codec so the codec can write payload records with the
same converter without importing the public module (which registers the codec's
``Event`` hooks, and so imports the codec).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from cattrs.errors import BaseValidationError
from cattrs.preconf.json import make_converter

from ccdomain.errors import InvalidData, show
from ccdomain.models import CustomValue

__all__ = ["converter", "structure", "unstructure"]

T = TypeVar("T")

converter = _converter = make_converter(forbid_extra_keys=False)


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


_converter.register_unstructure_hook(Decimal, str)
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
