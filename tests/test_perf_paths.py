"""The fast paths of issue 15 behave as the plain ones (T11, R4, E2).

No test here times anything: each checks that a shortcut taken for speed cannot be
seen by a caller.
"""

from __future__ import annotations

import datetime as dt
import json
import weakref

import attrs
import pytest

from ccdomain.events import Event, EventKind, TicketOpened
from ccdomain.listings import ticket_rows
from ccdomain.memory import MemoryStore
from ccdomain.models import Direction
from ccdomain.replay import memos, replay

AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def _event() -> Event:
    return Event(
        kind=EventKind.TICKET_OPENED,
        at=AT,
        campaign="ventas",
        ticket=1,
        payload=TicketOpened(
            customer="+51987654321", origin=Direction.INBOUND, queue="", alias="", line=None
        ),
    )


def test_T11_an_event_the_caller_holds_is_not_changed_by_append() -> None:
    store = MemoryStore()
    held = _event()
    with store.unit_of_work() as uow:
        stored = uow.append_event(held)
        uow.commit()
    assert held.seq is None
    assert stored is not held
    assert stored == attrs.evolve(held, seq=1)


def test_T11_an_event_built_in_the_call_is_recorded_numbered() -> None:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        first = uow.append_event(_event())
        second = uow.append_event(_event())
        uow.commit()
        assert [e.seq for e in uow.events()] == [1, 2]
    assert (first.seq, second.seq) == (1, 2)
    assert first == attrs.evolve(_event(), seq=1)


def test_T11_an_event_watched_by_a_weak_reference_is_copied() -> None:
    store = MemoryStore()
    watches: list[weakref.ref[Event]] = []

    def watched() -> Event:
        event = _event()
        watches.append(weakref.ref(event))
        return event

    with store.unit_of_work() as uow:
        stored = uow.append_event(watched())  # no strong reference left but the call's
        uow.commit()
    assert stored.seq == 1
    assert watches[0]() is None  # the watched one was not kept: it never changed


def test_T11_a_rolled_back_append_leaves_the_log_as_it_was() -> None:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        uow.append_event(_event())
        uow.commit()
    with store.unit_of_work() as uow:
        uow.append_event(_event())
    with store.unit_of_work() as uow:
        assert [e.seq for e in uow.events()] == [1]


def _chat(n: int, customer: str) -> str:
    return json.dumps(
        {
            "type": "interaction",
            "at": f"2026-11-20T10:{n:02d}:00-05:00",
            "channel": "whatsapp",
            "direction": "inbound",
            "line": "wa",
            "customer": customer,
            "text": f"hola {n % 3}",
        }
    )


def test_R4_redeliveries_forgotten_past_their_bound_are_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bounded memory of id-less interactions answers as an unbounded one."""
    head = [
        '{"type": "campaign", "id": "ventas", "region": "PE"}',
        '{"type": "line", "id": "wa", "channel": "whatsapp", "address": "+51 1 7001111",'
        ' "campaign": "ventas"}',
    ]
    customers = ["987654321", "912345678", "923456789", "934567890"]
    chat = [_chat(n, customers[n % 4]) for n in range(24)]
    text = [*head, *chat, *chat[::3], *chat]
    reference = MemoryStore()
    unbounded = replay(reference, text)
    monkeypatch.setattr(memos, "REDELIVERY_CUSTOMERS", 1)
    store = MemoryStore()
    bounded = replay(store, text)
    assert bounded == unbounded
    assert bounded.already_applied == len(chat) // 3 + len(chat)
    assert ticket_rows(store) == ticket_rows(reference)


def test_R4_redeliveries_keep_at_most_their_bound_of_customers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    head = [
        '{"type": "campaign", "id": "ventas", "region": "PE"}',
        '{"type": "line", "id": "wa", "channel": "whatsapp", "address": "+51 1 7001111",'
        ' "campaign": "ventas"}',
    ]
    customers = ["987654321", "912345678", "923456789"]
    store = MemoryStore()
    replay(store, [*head, *(_chat(n, c) for n, c in enumerate(customers))])
    monkeypatch.setattr(memos, "REDELIVERY_CUSTOMERS", 2)
    memory = memos.Redeliveries()
    with store.unit_of_work() as uow:
        recorded = [uow.interactions(t.number)[0] for t in uow.list_tickets()]
        for interaction in recorded:
            assert memory.ticket_holding(uow, interaction) == interaction.ticket
            memory.settle(kept=True)
            assert len(memory.customers) <= 2
        # Forgotten, and read again from the store when asked.
        assert memory.ticket_holding(uow, recorded[0]) == recorded[0].ticket


# --- record builders (routing's Ticket, Interaction and event construction) -------------


def _records() -> list[tuple[type, dict[str, object]]]:
    from ccdomain.events import InteractionAdded
    from ccdomain.models import Channel, Interaction, RouteOutcome, Ticket, TicketStatus

    interaction = Interaction(
        at=AT,
        channel=Channel.WHATSAPP,
        direction=Direction.INBOUND,
        customer="+51987654321",
        external_id="wamid.1",
        line="l1",
        campaign="ventas",
        text="hola",
        ticket=7,
    )
    ticket = {
        "number": 7,
        "campaign": "ventas",
        "customer": "+51987654321",
        "origin": Direction.OUTBOUND,
        "opened_at": AT,
        "status": TicketStatus.PENDING,
        "channels": (Channel.CALL, Channel.WHATSAPP),
        "last_activity_at": AT,
        "interactions": 3,
        "pending_spans": ((AT, AT),),
    }
    added = InteractionAdded(interaction=interaction, outcome=RouteOutcome.JOINED)
    return [
        (Ticket, ticket),
        (Ticket, {k: ticket[k] for k in ("number", "campaign", "customer", "origin", "opened_at")}),
        (Interaction, attrs.asdict(interaction, recurse=False)),
        (InteractionAdded, {"interaction": interaction, "outcome": RouteOutcome.LATE}),
        (Event, attrs.asdict(_event(), recurse=False)),
        (
            Event,
            {
                "kind": EventKind.INTERACTION_ADDED,
                "at": AT,
                "actor": "ana",
                "ticket": 7,
                "payload": added,
            },
        ),
    ]


@pytest.mark.parametrize(("cls", "values"), _records())
def test_T7_a_record_builder_makes_the_record_its_class_makes(
    cls: type, values: dict[str, object]
) -> None:
    from ccdomain.models._build import record_builder

    built = record_builder(cls)(**values)
    made = cls(**values)
    assert type(built) is cls
    assert built == made
    assert hash(built) == hash(made)
    assert repr(built) == repr(made)
    # Every field set, defaults included: a slot left empty would raise here.
    assert attrs.asdict(built, recurse=False) == attrs.asdict(made, recurse=False)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.seq = 1  # type: ignore[attr-defined]


def test_T7_the_record_builders_of_rules_have_every_field_of_their_class() -> None:
    import inspect

    from ccdomain.events import InteractionAdded
    from ccdomain.models import Interaction, Ticket
    from ccdomain.rules import tickets

    for build, cls in (
        (tickets.build_ticket, Ticket),
        (tickets.build_interaction, Interaction),
        (tickets._build_event, Event),
        (tickets._build_interaction_added, InteractionAdded),
        (tickets._build_ticket_opened, TicketOpened),
    ):
        assert list(inspect.signature(build).parameters) == [f.name for f in attrs.fields(cls)]


def test_T7_a_record_builder_refuses_a_class_it_would_build_wrong() -> None:
    from ccdomain.models import Line
    from ccdomain.models._build import record_builder

    @attrs.frozen
    class Converted:
        value: int = attrs.field(converter=int)

    @attrs.frozen
    class Hooked:
        value: int

        def __attrs_post_init__(self) -> None:
            pass

    @attrs.frozen(slots=False)
    class Unslotted:
        value: int

    for cls in (Line, Converted, Hooked, Unslotted):  # Line.queues has a factory default
        with pytest.raises(TypeError):
            record_builder(cls)
