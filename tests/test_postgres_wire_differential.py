"""The PostgreSQL store's short ways (issue 16) against the memory store: random sequences
of the operations whose reads are made ahead, cached or sent with the next statement
(T2, T3, T9, T10, W3, M4, A2, A4, I3, E2), each in a nested unit of work as services run
them, some undone by an error, give the same answers and leave the same rows.

Runs on a real server (the ``postgres_server`` fixture); skipped, saying so, without one.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

pytest.importorskip("psycopg", reason="the postgres extra is not installed")

from ccdomain.errors import CcdomainError
from ccdomain.memory import MemoryStore
from ccdomain.models import (
    Agent,
    AgentState,
    Block,
    Campaign,
    Channel,
    ChannelKind,
    Contact,
    ContactChannel,
    Direction,
    Family,
    Interaction,
    Line,
    OptOut,
    Presence,
    Ticket,
    TicketStatus,
    WaitingTicket,
)
from ccdomain.postgres import PostgresStore

AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
CAMPAIGNS = ("ventas", "cobranza")
CUSTOMERS = ("+51987654321", "+51912345678")
AGENTS = ("ana", "bea")
IDS = ("x1", "x2", "x3")


class Undone(Exception):
    """Raised inside a nested unit to have it undone."""


def _opener(campaign: str, customer: str, queue: str) -> Callable[[int], Ticket]:
    return lambda n: Ticket(
        number=n,
        campaign=campaign,
        customer=customer,
        origin=Direction.INBOUND,
        opened_at=AT,
        queue=queue,
    )


def _hint(rng: random.Random) -> Callable[[Any], Any]:
    """Routing's hint of an opening's agents (``prefetch_opening``, A2, A4), which the
    memory store does not take: it must change no answer."""
    agent = rng.choice((None, *AGENTS, "nadie"))
    queue = rng.choice((None, "q1", "q2"))

    def run(uow: Any) -> Any:
        if hasattr(uow, "prefetch_opening"):
            uow.prefetch_opening(agent=agent, queue=queue)
        return agent, queue

    return run


def _step(rng: random.Random, hints: bool = False) -> Callable[[Any], Any]:
    """One operation, the same for both stores, returning what it read (with ``hints``,
    some are routing's hint of an opening, and campaigns name a queue)."""
    if hints and rng.random() < 0.25:
        return _hint(rng)
    campaign_queue = rng.choice(("", "q1", "q2")) if hints else ""
    agent_queues = rng.choice((("q1",), ("q1", "q2"), ("q2",))) if hints else ("q1",)
    line_queue = rng.choice(("", "q1", "q2")) if hints else ""
    read = ("q1", "q2") if hints else ("q1",)
    campaign, customer = rng.choice(CAMPAIGNS), rng.choice(CUSTOMERS)
    agent_id, ext = rng.choice(AGENTS), rng.choice(IDS)
    kind = rng.randrange(22)
    code = f"K{rng.randrange(3)}"
    presence = rng.choice((Presence.ONLINE, Presence.AWAY))
    queue = rng.choice(("", "q1"))
    name = f"n{rng.randrange(1000)}"
    direction = rng.choice((Direction.INBOUND, Direction.OUTBOUND))

    def run(uow: Any) -> Any:
        if kind == 0:
            return uow.get_block(campaign, customer)
        if kind == 1:
            return uow.put_block(Block(campaign=campaign, customer=customer, at=AT))
        if kind == 2:
            return uow.remove_block(campaign, customer)
        if kind == 3:
            return uow.get_open_ticket(campaign, customer)
        if kind == 4:
            return uow.get_or_open_ticket(campaign, customer, _opener(campaign, customer, queue))
        if kind == 5:
            found = uow.get_open_ticket(campaign, customer)
            if found is not None:
                uow.update_ticket(attrs.evolve(found, status=TicketStatus.RESOLVED, closed_at=AT))
            return found
        if kind == 6:
            return list(uow.tickets_for_customer(customer, campaign))
        if kind == 7:
            line = uow.get_line("l1")
            return line, list(uow.tickets_for_customer(customer))
        if kind == 8:
            return uow.get_opt_out(campaign, customer, Channel.SMS)
        if kind == 9:
            return uow.put_opt_out(
                OptOut(campaign=campaign, customer=customer, channel=Channel.SMS, at=AT)
            )
        if kind == 10:
            return uow.remove_opt_out(campaign, customer, Channel.SMS)
        if kind == 11:
            return list(uow.contacts_by_phone(customer))
        if kind == 12:
            phones = (ContactChannel(kind=ChannelKind.PHONE, value=customer),)
            contact = Contact(campaign=campaign, code=code, channels=phones)
            if uow.get_contact(campaign, code) is None:
                return uow.add_contact(contact)
            return uow.update_contact(contact)
        if kind == 13:
            return uow.put_line(
                Line(
                    id="l1",
                    channel=Channel.WHATSAPP,
                    address="+5117001000",
                    campaign=campaign,
                    queue=line_queue,
                )
            )
        if kind == 14:
            return uow.get_campaign(campaign)
        if kind == 15:
            return uow.put_campaign(Campaign(id=campaign, name=name, queue=campaign_queue))
        if kind == 16:
            state = AgentState(agent=Agent(id=agent_id, queues=agent_queues), presence=presence)
            uow.put_agent_state(state)  # then read back, as the assignment does
            return uow.get_agent_state(agent_id), [
                list(uow.agent_states_for_queue(q)) for q in read
            ]
        if kind == 17:
            return uow.get_agent_state(agent_id), [
                list(uow.agent_states_for_queue(q)) for q in read
            ]
        if kind == 18:
            return uow.find_interaction(ext)
        if kind in (20, 21):  # A3: a key's open ticket put in, or taken out of, its line
            found = uow.get_open_ticket(campaign, customer)
            if found is None:
                return None
            if kind == 21:
                return uow.take_waiting(found.number), uow.take_waiting(found.number)
            entry = WaitingTicket(
                number=found.number, queue="q1", family=Family.DIGITAL, opened_at=AT
            )
            uow.add_waiting(entry)
            return list(uow.list_waiting("q1"))
        found = uow.get_open_ticket(campaign, customer)
        if found is None:
            return None
        uow.find_interaction(ext)
        return uow.add_interaction(
            Interaction(
                at=AT,
                channel=Channel.WHATSAPP,
                direction=direction,
                customer=customer,
                external_id=ext,
                ticket=found.number,
                agent=agent_id,
            )
        )

    return run


def _call(rng: random.Random, hints: bool = False) -> Callable[[Any], Any]:
    """A service call: one to three operations in one nested unit of work."""
    steps = [_step(rng, hints) for _ in range(rng.randrange(1, 4))]
    return lambda uow: [step(uow) for step in steps]


def _outcome(store: Any, step: Callable[[Any], Any], undo: bool) -> Any:
    """The step in a nested unit (undone when asked): what it returned, or its error type."""
    try:
        with store.unit_of_work() as nested:
            found = step(nested)
            if undo:
                raise Undone
            nested.commit()
        return found
    except Undone:
        return ("undone", found)
    except CcdomainError as exc:
        return ("refused", type(exc).__name__)


def _rows(store: Any) -> Any:
    with store.unit_of_work() as uow:
        return (
            list(uow.list_tickets()),
            [uow.interactions(t.number) for t in uow.list_tickets()],
            list(uow.list_campaigns()),
            list(uow.list_lines()),
            list(uow.list_contacts()),
            list(uow.list_agent_states()),
            list(uow.list_waiting()),
            list(uow.opt_outs()),
            [uow.get_block(c, k) for c in CAMPAIGNS for k in CUSTOMERS],
            [list(uow.contacts_by_phone(k)) for k in CUSTOMERS],
        )


@pytest.fixture
def store(postgres_server: Any, postgres_schema: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(postgres_server.dsn(), schema=postgres_schema)
    yield opened
    opened.close()


@pytest.mark.parametrize("seed", range(20))
def test_T2_T9_W3_M4_A2_E2_random_units_on_postgres_match_the_memory_store(
    store: PostgresStore, seed: int
) -> None:
    _differential(store, seed, hints=False)


@pytest.mark.parametrize("seed", range(150))
def test_A2_A4_E2_random_units_with_opening_hints_on_postgres_match_the_memory_store(
    store: PostgresStore, seed: int
) -> None:
    """The same with routing's hint of an opening's agents (``prefetch_opening``) among
    the steps: the agents read with a key answer as without it, whatever came before
    (agents written, units undone, several keys read, a hint for another key)."""
    _differential(store, seed, hints=True)


def _differential(store: PostgresStore, seed: int, *, hints: bool) -> None:
    rng = random.Random(seed)
    memory = MemoryStore()
    for _ in range(12):  # transactions
        steps = [(_call(rng, hints), rng.random() < 0.15) for _ in range(rng.randrange(1, 8))]
        commit = rng.random() < 0.85
        outcomes = []
        for reference in (memory, store):
            seen = []
            with reference.unit_of_work() as outer:
                for step, undo in steps:
                    seen.append(_outcome(reference, step, undo))
                if commit:
                    outer.commit()
            outcomes.append(seen)
        assert outcomes[1] == outcomes[0]
        assert _rows(store) == _rows(memory)
