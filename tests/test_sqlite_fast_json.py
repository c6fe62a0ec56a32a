"""The SQLite store's fast JSON writers write exactly what ``to_json`` writes (T7, T11).

Tickets, interactions and events are written on every routed message; the store writes
their JSON without cattrs. These properties check the text is the very text
:func:`ccdomain.serialization.to_json` gives, for the shipped strategies and for values
the strategies do not draw (any text, control characters, odd offsets), and that what
the fast path does not know goes through ``to_json``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from ccdomain.events import Event, EventKind
from ccdomain.models import Channel, Direction, Interaction, Ticket, TicketStatus
from ccdomain.serialization import from_json, to_json
from ccdomain.sqlite import _json  # type: ignore[attr-defined]
from ccdomain.testing import strategies as cst

_any_text = st.text(max_size=30)
_times = st.datetimes(
    min_value=dt.datetime(1, 1, 2),
    max_value=dt.datetime(9999, 12, 30),
    timezones=st.timezones() | st.just(dt.UTC),
)


def _odd_tickets() -> st.SearchStrategy[Ticket]:
    return st.builds(
        Ticket,
        number=st.integers(-(10**20), 10**20),
        campaign=_any_text,
        customer=_any_text,
        origin=st.sampled_from(list(Direction)),
        opened_at=_times,
        status=st.sampled_from(list(TicketStatus)),
        queue=_any_text,
        line=st.none() | _any_text,
        alias=_any_text,
        contact=st.none() | _any_text,
        channels=st.lists(st.sampled_from(list(Channel)), max_size=7).map(tuple),
        labels=st.lists(_any_text, max_size=3).map(tuple),
        assignee=st.none() | _any_text,
        last_agent=st.none() | _any_text,
        last_activity_at=st.none() | _times,
        last_channel=st.none() | st.sampled_from(list(Channel)),
        last_action=_any_text,
        interactions=st.integers(0, 10**12),
        closed_at=st.none() | _times,
        closed_by=st.none() | _any_text,
    )


def _odd_interactions() -> st.SearchStrategy[Interaction]:
    return st.builds(
        Interaction,
        at=_times,
        channel=st.sampled_from(list(Channel)),
        direction=st.sampled_from(list(Direction)),
        customer=_any_text,
        external_id=st.none() | _any_text,
        line=st.none() | _any_text,
        campaign=st.none() | _any_text,
        agent=st.none() | _any_text,
        text=st.none() | st.text(max_size=200),
        status=st.none() | _any_text,
        duration_s=st.none() | st.integers(-5, 10**9),
        ticket=st.none() | st.integers(1, 10**12),
    )


def _odd_events() -> st.SearchStrategy[Event]:
    return st.builds(
        Event,
        kind=st.sampled_from(list(EventKind)),
        at=_times,
        actor=st.none() | _any_text,
        campaign=st.none() | _any_text,
        ticket=st.none() | st.integers(1, 10**12),
        contact=st.none() | _any_text,
        data=st.dictionaries(_any_text, _any_text, max_size=5),
        seq=st.none() | st.integers(1, 10**12),
    )


_models = st.one_of(
    cst.tickets(),
    cst.interactions(),
    cst.events(),
    _odd_tickets(),
    _odd_interactions(),
    _odd_events(),
)


@settings(max_examples=400, deadline=None)
@given(_models)
def test_T7_T11_fast_json_is_the_text_to_json_writes(model: Any) -> None:
    text = _json(model)
    assert text == to_json(model)
    assert _json(from_json(text, type(model))) == text


@given(cst.tickets(), cst.events())
@settings(max_examples=50, deadline=None)
def test_T7_T11_unusual_values_go_through_to_json(ticket: Ticket, event: Event) -> None:
    odd = [
        attrs.evolve(ticket, number=True),
        attrs.evolve(ticket, interactions=3.0),
        attrs.evolve(event, data={1: "x", "b": "y"}),
        attrs.evolve(event, data={"a": 2}),
        attrs.evolve(event, seq=False),
    ]
    for model in odd:
        assert _json(model) == to_json(model)
