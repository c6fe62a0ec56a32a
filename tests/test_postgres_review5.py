"""Review of the opening's agents read with the key (``OpeningPrefetch``, wave 5): the
agents an opening is given to are locked only after the ticket counter, which every
opening takes first; only those of the message's own queue (X4), and only for the
unit of work routing told; and a read-only store refuses an agent's state at the call
(A2, A3, A4, T5, E1).

Each test runs on a real server (the ``postgres_server`` fixture); they are skipped, saying
so, without a PostgreSQL server binary.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")

from ccdomain.errors import StoreUnavailable  # noqa: E402
from ccdomain.models import (  # noqa: E402
    Agent,
    AgentState,
    Campaign,
    Channel,
    Direction,
    Line,
    PerFamily,
    Presence,
    Ticket,
)
from ccdomain.ports import OpeningPrefetch  # noqa: E402
from ccdomain.postgres import PostgresStore  # noqa: E402
from ccdomain.tickets import route_interaction  # noqa: E402
from tests.test_postgres_wire import AT, PHONE, opener  # noqa: E402


@pytest.fixture
def store(postgres_server: Any, postgres_schema: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(postgres_server.dsn(), schema=postgres_schema)
    yield opened
    opened.close()


def _connect(postgres_server: Any, store: PostgresStore, *, autocommit: bool) -> Any:
    conn = psycopg.connect(postgres_server.dsn(), autocommit=autocommit)
    conn.execute(f'SET search_path TO "{store.schema}"'.encode())
    return conn


def _locked(conn: Any, query: bytes, params: tuple[str, ...]) -> bool:
    """Whether another connection finds the row locked."""
    try:
        conn.execute(query + b" FOR UPDATE NOWAIT", params)
    except psycopg.errors.LockNotAvailable:
        return True
    return False


def _waiting_on_a_lock(conn: Any) -> bool:
    row = conn.execute(
        b"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        b"AND datname = current_database()"
    ).fetchone()
    return bool(row and row[0])


def _ana_on_q1_and_a_ticket(store: PostgresStore, capacity: PerFamily) -> None:
    """Campaign ventas (queue q1), agent ana online in q1, and PHONE's open ticket."""
    with store.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="ventas", name="Ventas", queue="q1"))
        uow.put_agent_state(
            AgentState(
                agent=Agent(id="ana", queues=("q1",), capacity=capacity),
                presence=Presence.ONLINE,
            )
        )
        uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        uow.commit()


def _answered_call(store: PostgresStore, **agent: str) -> Any:
    """An answered outbound call to PHONE in campaign ventas, at AT."""
    return route_interaction(
        store,
        at=AT,
        channel="call",
        direction="outbound",
        customer=PHONE,
        campaign="ventas",
        status="answered",
        **agent,
    )


def test_A2_A3_T5_agents_read_with_a_key_whose_ticket_closed_meanwhile_wait_for_the_counter(
    store: PostgresStore, postgres_server: Any
) -> None:
    """The key's open ticket is closed by another transaction while the key's read waits
    for its lock: the counter statement saw it open (and took no counter), the agents'
    statement sees none. Agents locked then, before the counter, deadlock with an
    opening in the same queue (it holds the counter and waits for them, while this one
    waits for the counter to open): they are read after the counter instead."""
    _ana_on_q1_and_a_ticket(store, PerFamily(digital=5))
    closer = _connect(postgres_server, store, autocommit=False)
    other = _connect(postgres_server, store, autocommit=True)
    read, go = threading.Event(), threading.Event()
    seen: list[Any] = []

    def route() -> None:
        try:
            with store.unit_of_work() as uow:
                assert isinstance(uow, OpeningPrefetch)
                uow.prefetch_opening(agent=None, queue=None)
                assert uow.get_campaign("ventas") is not None
                seen.append(uow.get_block("ventas", PHONE))  # waits for the closer
                read.set()
                go.wait(10)
                _, opened = uow.get_or_open_ticket(
                    "ventas",
                    PHONE,
                    lambda n: Ticket(
                        number=n,
                        campaign="ventas",
                        customer=PHONE,
                        origin=Direction.INBOUND,
                        opened_at=AT,
                        queue="q1",
                    ),
                )
                seen.append((opened, [s.agent.id for s in uow.agent_states_for_queue("q1")]))
                uow.rollback()
        except BaseException as exc:  # reported by the main thread
            seen.append(exc)
            read.set()

    try:
        # A key with an open ticket: neither its agents nor the counter are locked.
        with store.unit_of_work() as uow:
            assert isinstance(uow, OpeningPrefetch)
            uow.prefetch_opening(agent="ana", queue="q1")
            assert uow.get_campaign("ventas") is not None
            assert uow.get_block("ventas", PHONE) is None
            assert not _locked(other, b"SELECT 1 FROM agents WHERE id = %s", ("ana",))
            assert not _locked(other, b"SELECT 1 FROM counters WHERE name = %s", ("ticket",))
            uow.rollback()
        closer.execute(
            b"SELECT 1 FROM tickets WHERE campaign = 'ventas' AND customer = %s "
            b"AND status = 'open' FOR UPDATE",
            (PHONE,),
        )
        worker = threading.Thread(target=route)
        worker.start()
        deadline = time.monotonic() + 10
        while not _waiting_on_a_lock(other) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _waiting_on_a_lock(other), "the key's read did not wait for the closer"
        closer.execute(
            b"UPDATE tickets SET status = 'resolved' WHERE campaign = 'ventas' AND customer = %s",
            (PHONE,),
        )
        closer.commit()
        assert read.wait(10)
        agent_locked = _locked(other, b"SELECT 1 FROM agents WHERE id = %s", ("ana",))
        counter_locked = _locked(other, b"SELECT 1 FROM counters WHERE name = %s", ("ticket",))
        go.set()
        worker.join(10)
        assert not worker.is_alive()
        assert seen[0] is None, seen
        assert seen[1] == (True, ["ana"]), seen
        assert counter_locked or not agent_locked, "agents locked before the ticket counter"
    finally:
        go.set()
        closer.close()
        other.close()


def test_E1_A1_a_read_only_store_refuses_an_agents_state_at_its_call(
    store: PostgresStore, postgres_server: Any, postgres_schema: str
) -> None:
    """put_agent_state is sent with the next statement (wave 5); a read-only store
    refuses any write, and that refusal is the call's (E1), as for the other writes it
    would defer, not a later call's."""
    with store.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="ventas", name="Ventas", queue="q1"))
        uow.commit()
    reader = PostgresStore(postgres_server.dsn(), schema=postgres_schema, read_only=True)
    try:
        with reader.unit_of_work() as uow:  # left without a commit: nothing would say so
            assert uow.get_campaign("ventas") is not None
            with pytest.raises(StoreUnavailable, match="cannot be written"):
                uow.put_agent_state(AgentState(agent=Agent(id="ana", queues=("q1",))))
    finally:
        reader.close()


def test_A2_X4_a_message_without_a_line_reads_no_agents_of_the_line_an_earlier_one_read(
    store: PostgresStore, postgres_server: Any
) -> None:
    """The queue whose agents a key's read locks for an opening is the ticket's (X4),
    worked out from the campaign and the line the message read: a message without a
    line that follows one with a line in the same transaction (``run`` with several
    calls) locks the agents of its campaign's queue, not those of the queue the
    earlier line gives that campaign, which nothing reads."""
    with store.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="ventas", name="Ventas", queue="q1"))
        uow.put_campaign(Campaign(id="cobros", name="Cobros"))
        uow.put_line(
            Line(
                id="l1",
                channel=Channel.WHATSAPP,
                address="+5117001000",
                campaign="cobros",
                queues={"ventas": "q2"},
            )
        )
        for agent_id, queue in (("ana", "q1"), ("bea", "q2")):
            uow.put_agent_state(
                AgentState(
                    agent=Agent(id=agent_id, queues=(queue,), capacity=PerFamily(voice=1)),
                    presence=Presence.ONLINE,
                )
            )
        uow.commit()
    other = _connect(postgres_server, store, autocommit=True)
    try:
        with store.unit_of_work() as outer:
            assert outer.get_line("l1") is not None  # read by an earlier message
            called = _answered_call(store)
            assert called.ticket.queue == "q1" and called.ticket.assignee == "ana"
            assert not _locked(other, b"SELECT 1 FROM agents WHERE id = %s", ("bea",))
            outer.rollback()
    finally:
        other.close()


def test_A2_A4_routings_hint_ends_with_its_unit_of_work(
    store: PostgresStore, postgres_server: Any
) -> None:
    """``prefetch_opening`` tells a unit of work about the key it reads next (routing's);
    a later call in the same transaction (``run`` with several calls: a block, an
    export) that reads another key without an open ticket reads no agent with it."""
    _ana_on_q1_and_a_ticket(store, PerFamily(voice=1))
    other = _connect(postgres_server, store, autocommit=True)
    try:
        with store.unit_of_work() as outer:
            called = _answered_call(store, agent="ana")
            assert called.outcome.value == "joined"
            assert not _locked(other, b"SELECT 1 FROM agents WHERE id = %s", ("ana",))
            assert outer.get_block("ventas", "+51944444444") is None
            assert not _locked(other, b"SELECT 1 FROM agents WHERE id = %s", ("ana",))
            outer.rollback()
    finally:
        other.close()
