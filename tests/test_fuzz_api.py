"""Every public service under junk input, on both stores (issue 14, E1, E2).

Each example picks a public service (the list ``tests/test_api_convention.py``
walks) and calls it on two stores holding the bundled demo: the in-memory store
and the SQLite store. Each argument is either a plausible value (a campaign,
contact code, ticket number... of the demo) or junk (None, blanks, lone
surrogates, invisible characters, huge texts and numbers, wrong types, naive
datetimes...). Whatever comes back:

- only :class:`ccdomain.errors.CcdomainError` may be raised (E1);
- both stores answer alike: the same result, or the same error and message;
- after the call both stores hold the same listings (E2: a refused call changed
  nothing on either, an accepted one changed both alike).
"""

from __future__ import annotations

import datetime as dt
import inspect
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_api_convention import SERVICES
from test_fuzz_replay import DEMO, JUNK_VALUES, listings_of

from ccdomain import listings
from ccdomain.errors import CcdomainError, RuleViolation
from ccdomain.matching import auto_link_contact
from ccdomain.memory import MemoryStore
from ccdomain.ports import Store
from ccdomain.replay import replay
from ccdomain.sqlite import SqliteStore
from ccdomain.testing.fakes import RecordingChannel

EXAMPLES = int(os.environ.get("CCDOMAIN_FUZZ_EXAMPLES", "60"))
AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))

PLAUSIBLE: dict[str, tuple[Any, ...]] = {
    "campaign": ("ventas", "cobranzas", "soporte"),
    "from_campaign": ("ventas", None),
    "code": ("45821739", "10293847", "41862305"),
    "into": ("45821739",),
    "source": ("10293856", "10293847"),
    "customer": ("+51987654321", "987 654 321"),
    "to": ("+51987654321",),
    "phone": ("944 333 222", "+51955111222"),
    "old": ("944 333 222",),
    "new": ("944 333 999",),
    "mobile_phone": ("987654000",),
    "home_phone": (None,),
    "number": (1, 2, 5),
    "ticket": (1, 3),
    "seq": (1, 2),
    "agent": ("ana", None),
    "assignee": ("ana", None),
    "at": (AT,),
    "as_of": (dt.date(2026, 11, 20),),
    "line": ("wa-ventas", "tel-cobranzas"),
    "channel": ("whatsapp", "call", None),
    "direction": ("inbound", "outbound"),
    "text": ("Hola",),
    "comment": ("llamar luego",),
    "query": ("Huamán", "987"),
    "path": (("Contactado", "Venta", "Contado"), ("No contactado",)),
    "labels": (("vip",),),
    "tags": (("x",), None),
    "params": (("José",),),
    "template": ("saludo",),
    "promise": ("PR-1001",),
    "payment": ("PAY-4990",),
    "first_names": ("Ana",),
    "last_names": ("Soto",),
    "email": ("ana@example.com",),
    "index": (0, 1),
    "page": (1,),
    "page_size": (10,),
    "primary": (True, False),
    "only_campaign": (True, False),
    "open_only": (True, False),
    "vip": (True, False),
    "ref": ("ACME",),
    "name": ("ACME SAC",),
}

junk = st.one_of(
    st.sampled_from((*JUNK_VALUES, dt.datetime(2026, 11, 20, 10, 0), dt.date(2026, 1, 1))),
    st.text(st.characters(codec=None), max_size=8),
    st.integers(),
    st.lists(st.text(max_size=3), max_size=3),
)


def _argument(name: str) -> st.SearchStrategy[Any]:
    plausible = PLAUSIBLE.get(name)
    if plausible is None:
        return junk
    return st.one_of(st.sampled_from(plausible), st.sampled_from(plausible), junk)


@st.composite
def calls(draw: st.DrawFn) -> tuple[str, Callable[..., Any], dict[str, Any]]:
    """A public service and keyword arguments for it, plausible or junk."""
    name, service = draw(st.sampled_from(SERVICES))
    kwargs: dict[str, Any] = {}
    for param in list(inspect.signature(service).parameters.values())[1:]:
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            if draw(st.booleans()):
                kwargs["first_names"] = draw(_argument("first_names"))
            continue
        if param.name == "channel_port":
            kwargs[param.name] = None  # a fresh fake per store, below
            continue
        if param.default is not inspect.Parameter.empty and draw(st.booleans()):
            continue
        kwargs[param.name] = draw(_argument(param.name))
    return name, service, kwargs


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the demo, copied for each example."""
    path = tmp_path_factory.mktemp("seed") / "demo.sqlite"
    store = SqliteStore(path)
    assert replay(store, DEMO).bad_lines == ()
    store.close()
    return path


def _stores(seeded: Path, folder: Path) -> Iterator[tuple[str, Store]]:
    memory = MemoryStore()
    replay(memory, DEMO)
    yield "memory", memory
    copy = folder / "copy.sqlite"
    shutil.copyfile(seeded, copy)
    yield "sqlite", SqliteStore(copy)


def _answer(service: Callable[..., Any], store: Store, kwargs: dict[str, Any]) -> Any:
    if "channel_port" in kwargs:
        kwargs = {**kwargs, "channel_port": RecordingChannel()}
    try:
        result = service(store, **kwargs)
    except CcdomainError as exc:
        return (type(exc).__name__, str(exc))
    return ("ok", result)


@settings(
    max_examples=EXAMPLES * 3,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(calls())
def test_E1_E2_every_service_refuses_junk_alike_on_both_stores(
    seeded: Path, call: tuple[str, Callable[..., Any], dict[str, Any]]
) -> None:
    name, service, kwargs = call
    with tempfile.TemporaryDirectory() as folder:
        answers, states = [], []
        for _kind, store in _stores(seeded, Path(folder)):
            answers.append(_answer(service, store, kwargs))
            states.append(listings_of(store))
            close = getattr(store, "close", None)
            if close is not None:
                close()
        assert answers[0] == answers[1], name
        assert states[0] == states[1], name


@pytest.mark.parametrize("campaign", [[""], "\ud800", "\u200bventas", 7])
def test_E3_listings_check_the_campaign_they_filter_on(campaign: Any, tmp_path: Path) -> None:
    """Found by the fuzz test: SQLite raised on these while memory listed nothing."""
    for store in (MemoryStore(), SqliteStore(tmp_path / "x.sqlite")):
        for listing in (listings.ticket_rows, listings.contact_rows, listings.typification_rows):
            with pytest.raises(RuleViolation, match="campaign"):
                listing(store, campaign=campaign)
        with pytest.raises(RuleViolation, match="as_of"):
            listings.promise_rows(store, as_of="2026-11-20")  # type: ignore[arg-type]


@pytest.mark.parametrize("customer", ["\ud800", "\u200b+51987654321", 51987654321])
def test_E3_auto_link_contact_checks_the_customer(customer: Any, tmp_path: Path) -> None:
    """Found by the fuzz test: SQLite raised StoreError where memory answered None."""
    for store in (MemoryStore(), SqliteStore(tmp_path / "x.sqlite")):
        with pytest.raises(RuleViolation, match="customer"):
            auto_link_contact(store, campaign="ventas", customer=customer)
