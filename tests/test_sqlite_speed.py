"""What the SQLite store does to be fast changes nothing it returns (E2, T2, T7, T11).

* Tickets, interactions and events are written on every routed message; the store
  writes their JSON without cattrs. Properties check the text is the very text
  :func:`ccdomain.serialization.to_json` gives (for events, the event codec's
  ``encode_event``), for the shipped strategies and for values the strategies do
  not draw (any text, control characters, odd offsets), and that what the fast
  path does not know goes through ``to_json``.
* Reads are remembered across transactions: a commit by another connection, or a
  write outside a unit of work, makes the store read again.
* Events are written at the commit: a nested unit rolled back drops its own, never
  those appended before it, even when they had to be written under its savepoint.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from ccdomain.event_codec import decode_event, encode_event
from ccdomain.events import (
    ContactLinked,
    Event,
    EventKind,
    InteractionAdded,
    LinkHow,
    TicketLabelled,
    TicketOpened,
)
from ccdomain.fast_json import _json
from ccdomain.models import (
    Campaign,
    Channel,
    Direction,
    Interaction,
    RouteOutcome,
    Ticket,
    TicketStatus,
)
from ccdomain.serialization import from_json, to_json
from ccdomain.sqlite import SqliteStore
from ccdomain.testing import strategies as cst

_any_text = st.text(max_size=30)
_FAST_KINDS = (EventKind.INTERACTION_ADDED, EventKind.TICKET_OPENED, EventKind.CONTACT_LINKED)
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
    """Events of the kinds the fast path writes, and one it leaves to the codec, odd values."""
    payloads = st.one_of(
        st.builds(
            InteractionAdded,
            interaction=_odd_interactions(),
            outcome=st.sampled_from(list(RouteOutcome)),
        ),
        st.builds(
            TicketOpened,
            customer=_any_text,
            origin=st.sampled_from(list(Direction)),
            queue=_any_text,
            alias=_any_text,
            line=st.none() | _any_text,
        ),
        st.builds(
            ContactLinked,
            how=st.sampled_from(list(LinkHow)),
            customer=_any_text,
            merged_from=st.none() | _any_text,
        ),
        st.builds(TicketLabelled, labels=st.lists(_any_text, max_size=3).map(tuple)),
    )
    kinds = {
        InteractionAdded: EventKind.INTERACTION_ADDED,
        TicketOpened: EventKind.TICKET_OPENED,
        ContactLinked: EventKind.CONTACT_LINKED,
        TicketLabelled: EventKind.TICKET_LABELLED,
    }
    return payloads.flatmap(
        lambda payload: st.builds(
            Event,
            kind=st.just(kinds[type(payload)]),
            at=_times,
            actor=st.none() | _any_text,
            campaign=st.none() | _any_text,
            ticket=st.none() | st.integers(1, 10**12),
            contact=st.none() | _any_text,
            payload=st.just(payload),
            seq=st.none() | st.integers(1, 10**12),
        )
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
    if isinstance(model, Event):  # the event codec's text, which to_json writes too
        assert text == encode_event(model)
        assert encode_event(decode_event(text)) == text
    assert _json(from_json(text, type(model))) == text


@given(cst.tickets(), cst.events(_FAST_KINDS))
@settings(max_examples=50, deadline=None)
def test_T7_T11_unusual_values_go_through_to_json(ticket: Ticket, event: Event) -> None:
    odd = [
        attrs.evolve(ticket, number=True),
        attrs.evolve(ticket, interactions=3.0),
        attrs.evolve(event, seq=False),
        attrs.evolve(event, ticket=2.0),
    ]
    for model in odd:
        assert _json(model) == to_json(model)


AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
PHONE = "+51987654321"


def _event(text: str) -> Event:
    return Event(kind=EventKind.TICKET_LABELLED, at=AT, payload=TicketLabelled(labels=(text,)))


def _label(event: Event) -> str:
    assert isinstance(event.payload, TicketLabelled)
    return event.payload.labels[0]


def _opener(customer: str) -> Any:
    def open_ticket(number: int) -> Ticket:
        return Ticket(
            number=number,
            campaign="ventas",
            customer=customer,
            origin=Direction.INBOUND,
            opened_at=AT,
        )

    return open_ticket


def test_E2_T11_nested_rollback_keeps_events_appended_before_it(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    with store.unit_of_work() as outer:
        outer.append_event(_event("before"))
        with store.unit_of_work() as line:
            line.append_event(_event("kept"))
            line.commit()
        with store.unit_of_work() as line:
            dropped = line.append_event(_event("dropped"))
            # Rewriting an event writes every pending one, under this unit's savepoint.
            line.replace_event(
                attrs.evolve(dropped, payload=TicketLabelled(labels=("dropped, rewritten",)))
            )
            assert [_label(e) for e in line.events()] == [
                "before",
                "kept",
                "dropped, rewritten",
            ]
        assert [_label(e) for e in outer.events()] == ["before", "kept"]
        after = outer.append_event(_event("after"))
        outer.commit()
    with store.unit_of_work() as uow:
        events = list(uow.events())
    assert [_label(e) for e in events] == ["before", "kept", "after"]
    assert [e.seq for e in events] == [1, 2, 3] and after.seq == 3
    store.close()


def test_E2_T11_outer_rollback_drops_every_pending_event(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    with store.unit_of_work() as uow:
        uow.append_event(_event("kept"))
        uow.commit()
    with store.unit_of_work() as uow:
        with store.unit_of_work() as line:
            line.append_event(_event("gone"))
            line.commit()
        assert [_label(e) for e in uow.events(after=0)] == ["kept", "gone"]
    with store.unit_of_work() as uow:
        assert [(e.seq, _label(e)) for e in uow.events()] == [(1, "kept")]
        assert uow.append_event(_event("next")).seq == 2
        uow.commit()
    store.close()


def test_E2_remembered_reads_follow_other_connections_and_bare_writes(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    first, second = SqliteStore(path), SqliteStore(path)
    with first.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="ventas", name="Ventas"))
        uow.commit()
    with first.unit_of_work() as uow:
        assert uow.get_campaign("ventas") == Campaign(id="ventas", name="Ventas")
        assert uow.get_open_ticket("ventas", PHONE) is None
        uow.commit()
    with second.unit_of_work() as uow:  # another connection commits
        uow.put_campaign(Campaign(id="ventas", name="Ventas 2"))
        uow.get_or_open_ticket("ventas", PHONE, _opener(PHONE))
        uow.commit()
    with first.unit_of_work() as uow:
        assert uow.get_campaign("ventas") == Campaign(id="ventas", name="Ventas 2")
        found = uow.get_open_ticket("ventas", PHONE)
        assert found is not None and found.customer == PHONE
        uow.commit()  # a commit keeps what the unit read remembered
    first.unit_of_work().put_campaign(Campaign(id="ventas", name="Ventas 3"))  # no with
    with first.unit_of_work() as uow:
        assert uow.get_campaign("ventas") == Campaign(id="ventas", name="Ventas 3")
    first.close()
    second.close()


def test_T2_T7_ticket_lookups_after_a_write_see_it(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    with store.unit_of_work() as uow:
        assert uow.tickets_for_customer(PHONE) == []
        assert uow.open_tickets_for_customer(PHONE) == []
        ticket, opened = uow.get_or_open_ticket("ventas", PHONE, _opener(PHONE))
        assert opened and uow.get_open_ticket("ventas", PHONE) == ticket
        assert uow.tickets_for_customer(PHONE, "ventas") == [ticket]
        closed = attrs.evolve(ticket, status=TicketStatus.RESOLVED, closed_at=AT)
        uow.update_ticket(closed)
        assert uow.get_open_ticket("ventas", PHONE) is None
        assert uow.open_tickets_for_customer(PHONE) == []
        assert uow.get_ticket(ticket.number) == closed
        uow.commit()
    with store.unit_of_work() as uow:  # what the commit kept, remembered or not
        assert uow.get_open_ticket("ventas", PHONE) is None
        assert uow.tickets_for_customer(PHONE) == [closed]
        fresh, opened = uow.get_or_open_ticket("ventas", PHONE, _opener(PHONE))
        with store.unit_of_work() as nested:
            nested.update_ticket(attrs.evolve(fresh, labels=("x",)))
        assert uow.get_open_ticket("ventas", PHONE) == fresh  # the nested write is undone
        assert uow.tickets_for_customer(PHONE) == [closed, fresh]
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.tickets_for_customer(PHONE) == [closed, fresh]
        assert uow.get_open_ticket("ventas", PHONE) == fresh
    store.close()
