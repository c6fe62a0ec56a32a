"""Custom fields of a campaign's contact template (rules K9, K14).

- K9 A template field has a name, a type (text, number, date, boolean, choice),
  ``required`` and the choices of a choice field (:func:`make_custom_field`);
  :func:`convert_custom_values` validates values against it and converts them.

Choices made where the product documents are silent:

- K14 Custom values: blank text counts as absent; numbers are digits with an
  optional ``.`` decimal part (a comma is refused as ambiguous), at most 30
  integer digits; dates are ``YYYY-MM-DD`` or day-first ``DD/MM/YYYY``;
  booleans accept true/false, sí/si/no, yes, 1/0; a choice matches case- and
  accent-insensitively and is stored as the template spells it.
- X9 A contact copied into another campaign (X5) keeps the custom values that
  campaign's template takes (:func:`copied_custom`); the others are left behind.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Final

from dateutil import parser as date_parser

from ccdomain import checks
from ccdomain._folding import fold
from ccdomain.errors import CcdomainError, InvalidCustomField
from ccdomain.errors import show as _show
from ccdomain.models import CustomFieldDef, CustomValue, FieldType

__all__ = [
    "convert_custom_values",
    "copied_custom",
    "custom_field_from",
    "make_custom_field",
    "merge_custom_values",
]

_SHOWN: Final = 60
_NUMBER: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_MAX_INTEGER_DIGITS: Final = 30
_MAX_FRACTION_DIGITS: Final = 12
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DAY_FIRST_DATE: Final = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})")
_TRUE_WORDS: Final = frozenset({"true", "si", "yes", "1", "verdadero"})
_FALSE_WORDS: Final = frozenset({"false", "no", "0", "falso"})
_FIELD_KEYS: Final = ("name", "type", "required", "choices", "label")


# --- the template -----------------------------------------------------------------------------


def make_custom_field(
    name: object,
    type: object = FieldType.TEXT,
    *,
    required: object = False,
    choices: object = (),
    label: object = "",
) -> CustomFieldDef:
    """Validate one field of a campaign's contact template (K9).

    >>> make_custom_field("Plan", "CHOICE", choices=("A", "B")).type
    <FieldType.CHOICE: 'choice'>

    Args:
        name: the field name values are keyed by.
        type: a :class:`FieldType` or its value (``"text"``, ``"number"``, ``"date"``,
            ``"boolean"``, ``"choice"``), any case.
        required: whether a contact must have a value.
        choices: the allowed values of a choice field (non-empty, distinct ignoring
            case and accents); empty for other types.
        label: the name shown to agents.

    Raises:
        InvalidCustomField: naming the offending value.
    """
    field_name = checks.identifier(name, "custom field name", InvalidCustomField)
    kind = checks.member(
        type, FieldType, f"custom field {field_name!r} has type", InvalidCustomField
    )
    options: list[str] = []
    seen: set[str] = set()
    for choice in checks.items(choices, f"choices of {field_name!r}", InvalidCustomField):
        option = checks.identifier(choice, f"a choice of {field_name!r}", InvalidCustomField)
        if fold(option) in seen:
            raise InvalidCustomField(
                f"custom field {field_name!r} lists the choice {option!r} twice: "
                "expected distinct choices (ignoring case and accents)"
            )
        seen.add(fold(option))
        options.append(option)
    if kind is FieldType.CHOICE and not options:
        raise InvalidCustomField(
            f"custom field {field_name!r} is a choice without choices: expected at least one"
        )
    if kind is not FieldType.CHOICE and options:
        raise InvalidCustomField(
            f"custom field {field_name!r} of type {kind.value} lists choices {_show(options)}: "
            "expected choices only for a choice field"
        )
    return CustomFieldDef(
        name=field_name,
        type=kind,
        required=checks.flag(required, f"required of {field_name!r}", InvalidCustomField),
        choices=tuple(options),
        label=checks.name(label, f"label of {field_name!r}", InvalidCustomField),
    )


def custom_field_from(value: object) -> CustomFieldDef:
    """A template field from a CustomFieldDef or a mapping {name, type, required, choices, label}.

    Raises:
        InvalidCustomField: naming the value.
    """
    fields = checks.record_fields(
        value, CustomFieldDef, "custom field", InvalidCustomField, keys=_FIELD_KEYS, required="name"
    )
    name = fields.pop("name")
    kind = fields.pop("type", FieldType.TEXT)
    return make_custom_field(name, kind, **fields)


# --- values -----------------------------------------------------------------------------------


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _to_number(field: CustomFieldDef, value: object) -> Decimal:
    number: Decimal | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = Decimal(value) if abs(value) < 10**_MAX_INTEGER_DIGITS else None
    elif isinstance(value, float):
        number = Decimal(repr(value)) if math.isfinite(value) else None
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and len(value) <= 2 * _SHOWN:
        text = value.strip()
        number = Decimal(text) if _NUMBER.fullmatch(text) else None
    if (
        number is None
        or not number.is_finite()
        or number.adjusted() >= _MAX_INTEGER_DIGITS
        or int(number.as_tuple().exponent) < -_MAX_FRACTION_DIGITS
    ):
        raise InvalidCustomField(
            f"custom field {field.name!r} got {_show(value)}: expected a number such as "
            "1500 or 1500.50 (a dot for decimals, no thousands separators)"
        )
    return number


def _to_date(field: CustomFieldDef, value: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if _ISO_DATE.fullmatch(text):
                return date_parser.isoparse(text).date()
            match = _DAY_FIRST_DATE.fullmatch(text)
            if match is not None:
                day, _, month, year = match.groups()
                return dt.date(int(year), int(month), int(day))
        except (ValueError, OverflowError):
            pass
    raise InvalidCustomField(
        f"custom field {field.name!r} got {_show(value)}: expected a date as YYYY-MM-DD "
        "or DD/MM/YYYY"
    )


def _to_boolean(field: CustomFieldDef, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        word = fold(value.strip())
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise InvalidCustomField(
        f"custom field {field.name!r} got {_show(value)}: expected a yes/no value "
        "(true/false, sí/no, 1/0)"
    )


def _to_choice(field: CustomFieldDef, value: object) -> str:
    if isinstance(value, str):
        text = value.strip()
        if text in field.choices:
            return text
        key = fold(text)
        for choice in field.choices:
            if fold(choice) == key:
                return choice
    raise InvalidCustomField(
        f"custom field {field.name!r} got {_show(value)}: "
        f"expected one of {', '.join(field.choices)}"
    )


def _convert(field: CustomFieldDef, value: object) -> CustomValue:
    if field.type is FieldType.NUMBER:
        return _to_number(field, value)
    if field.type is FieldType.DATE:
        return _to_date(field, value)
    if field.type is FieldType.BOOLEAN:
        return _to_boolean(field, value)
    if field.type is FieldType.CHOICE:
        return _to_choice(field, value)
    return checks.text(
        value, f"custom field {field.name!r}", InvalidCustomField, limit=checks.CUSTOM_TEXT_MAX
    )


def _template(template: object) -> tuple[CustomFieldDef, ...]:
    fields = checks.items(template, "template", InvalidCustomField)
    for field in fields:
        if not isinstance(field, CustomFieldDef):
            raise InvalidCustomField(f"{_show(field)} is not a CustomFieldDef")
    return fields  # type: ignore[return-value]


def convert_custom_values(
    template: Sequence[CustomFieldDef],
    values: Mapping[str, object],
    *,
    partial: bool = False,
) -> dict[str, CustomValue]:
    """Validate and convert custom field values against a campaign template (K9, K14).

    Text and choice become ``str``, number ``Decimal``, date ``datetime.date``,
    boolean ``bool``. ``None`` or blank text means "no value". The result holds
    the fields that have a value, in template order.

    >>> template = (CustomFieldDef(name="edad", type=FieldType.NUMBER),)
    >>> convert_custom_values(template, {"edad": "42"})
    {'edad': Decimal('42')}

    Args:
        template: the campaign's custom fields.
        values: field name -> value as typed.
        partial: when True (an edit of some fields), missing required fields are not
            refused; a required field given as ``None`` still is.

    Raises:
        InvalidCustomField: an unknown field (the message lists the known ones), a value
            of the wrong type, or a required field without value.
    """
    fields = _template(template)
    if not isinstance(values, Mapping):
        raise InvalidCustomField(f"custom values {_show(values)} are not valid: expected a mapping")
    by_name = {f.name: f for f in fields}
    given: dict[str, object] = {}
    for name, value in values.items():
        if not isinstance(name, str) or name not in by_name:
            raise InvalidCustomField(
                f"{_show(name)} is not a custom field of the campaign: expected one of "
                f"{', '.join(by_name) or '(no custom fields)'}"
            )
        given[name] = value
    result: dict[str, CustomValue] = {}
    for field in fields:
        value = given.get(field.name)
        blank = _is_blank(value)
        if blank and field.required and (not partial or field.name in given):
            raise InvalidCustomField(
                f"custom field {field.name!r} is required: got {_show(value)}, expected a value"
            )
        if not blank:
            result[field.name] = _convert(field, value)
    return result


def copied_custom(
    template: Sequence[CustomFieldDef], values: Mapping[str, CustomValue]
) -> dict[str, CustomValue]:
    """The custom values of a contact that another campaign's template takes (X5, X9).

    A value is kept when the template has a field of its name and the value converts
    to that field's type (a number to a text field becomes its text, a text that is
    not one of a choice field's choices is left out); the others are dropped, not
    refused: they belong to the campaign the contact came from.

    >>> template = (CustomFieldDef(name="plan", type=FieldType.CHOICE, choices=("A", "B")),)
    >>> copied_custom(template, {"plan": "A", "deuda": Decimal("10")})
    {'plan': 'A'}
    """
    kept: dict[str, CustomValue] = {}
    for field in _template(template):
        if field.name not in values:
            continue
        value = values[field.name]
        raw: object = value.isoformat() if isinstance(value, dt.date) else value
        if isinstance(value, Decimal) and field.type is not FieldType.NUMBER:
            raw = str(value)
        try:
            kept[field.name] = _convert(field, raw)
        except CcdomainError:
            continue
    return kept


def merge_custom_values(
    template: Sequence[CustomFieldDef], current: Mapping[str, CustomValue], changes: object
) -> dict[str, CustomValue]:
    """The custom values after an edit: given fields are set, those given as None removed (K9).

    >>> template = (CustomFieldDef(name="edad", type=FieldType.NUMBER),
    ...             CustomFieldDef(name="nota"))
    >>> merge_custom_values(template, {"edad": Decimal(30), "nota": "x"}, {"edad": None})
    {'nota': 'x'}

    Raises:
        InvalidCustomField: ``changes`` is not a mapping, or a value does not fit.
    """
    if not isinstance(changes, Mapping):
        raise InvalidCustomField(
            f"custom values {_show(changes)} are not valid: expected a mapping"
        )
    converted = convert_custom_values(template, changes, partial=True)
    merged = {k: v for k, v in current.items() if k not in changes}
    merged.update(converted)
    order = [f.name for f in template]
    return {name: merged[name] for name in order if name in merged}
