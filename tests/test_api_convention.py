"""The public services keep one convention (issue 13), so new services keep it too.

Every function the public modules export whose first parameter is the store is a
service: ``verb_noun(store, *, ...)`` with keyword-only arguments after the store,
``agent=`` for the person acting (never ``actor=``), ``at=`` for an event time, and
a frozen record (or a tuple of them) back. Deprecated aliases are exempt: they keep
old call shapes on purpose, and warn.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import types
import typing
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest

PUBLIC_MODULES = (
    "ccdomain.contacts",
    "ccdomain.tickets",
    "ccdomain.matching",
    "ccdomain.collections",
    "ccdomain.identities",
    "ccdomain.contact_policy",
    "ccdomain.listings",
    "ccdomain.assignment",
)
PERSON_WORDS = ("actor", "user", "by", "operator")
TIME_WORDS = ("when", "time", "timestamp", "moment")


def _services() -> Iterator[tuple[str, Callable[..., Any]]]:
    seen: set[int] = set()
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not inspect.isfunction(obj) or getattr(obj, "__deprecated__", False):
                continue
            params = list(inspect.signature(obj).parameters.values())
            if not params or params[0].name != "store" or id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{module_name}.{name}", obj


SERVICES = sorted(_services())


def _frozen_record(tp: Any) -> bool:
    if tp is None or tp is type(None) or tp in (typing.NoReturn, typing.Never):
        return True  # a service that only refuses (editing a comment, I2) returns nothing
    origin = typing.get_origin(tp)
    if origin in (tuple, list) or (origin is not None and origin.__name__ in ("Sequence",)):
        return all(_frozen_record(arg) for arg in typing.get_args(tp) if arg is not Ellipsis)
    if origin in (typing.Union, types.UnionType):
        return all(_frozen_record(arg) for arg in typing.get_args(tp))
    if isinstance(tp, type) and attrs.has(tp):
        return tp.__setattr__ is not object.__setattr__  # frozen attrs classes override it
    # An immutable value is a record too: a JSON text, a count, an instant.
    return tp in (str, int, bool, dt.datetime, dt.date, Decimal)


def test_there_are_services_to_check() -> None:
    assert len(SERVICES) >= 40, [name for name, _ in SERVICES]


@pytest.mark.parametrize(("name", "service"), SERVICES, ids=[n for n, _ in SERVICES])
def test_service_takes_the_store_then_keywords_only(name: str, service: Callable[..., Any]) -> None:
    params = list(inspect.signature(service).parameters.values())[1:]
    positional = [p.name for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert positional == [] or positional == ["changes"], f"{name}: positional {positional}"


@pytest.mark.parametrize(("name", "service"), SERVICES, ids=[n for n, _ in SERVICES])
def test_service_names_the_person_agent_and_the_time_at(
    name: str, service: Callable[..., Any]
) -> None:
    names = set(inspect.signature(service).parameters)
    assert not names & set(PERSON_WORDS), f"{name}: the person acting is agent="
    assert not names & set(TIME_WORDS), f"{name}: the time is at="


@pytest.mark.parametrize(("name", "service"), SERVICES, ids=[n for n, _ in SERVICES])
def test_service_returns_a_frozen_record(name: str, service: Callable[..., Any]) -> None:
    if name.startswith("ccdomain.listings."):
        pytest.skip("listings return plain dict rows on purpose (pandas.DataFrame(rows))")
    hints = typing.get_type_hints(service)
    assert "return" in hints, f"{name}: no return annotation"
    assert _frozen_record(hints["return"]), f"{name} returns {hints['return']!r}"
