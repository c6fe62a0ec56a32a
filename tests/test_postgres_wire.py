"""The PostgreSQL store's short ways (issue 16) keep its rules: campaigns and lines kept
across transactions behind the catalog version, writes sent with the next statement,
reads made ahead with a key's open ticket, and nested units of work without a savepoint
(T2, T5, T9, W3, M4, E2).

Each test runs on a real server (the ``postgres_server`` fixture); they are skipped, saying
so, without a PostgreSQL server binary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")

from ccdomain.errors import (  # noqa: E402
    BlockedIdentity,
    RuleViolation,
    StoreError,
    StoreUnavailable,
)
from ccdomain.models import (  # noqa: E402
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
    PerFamily,
    Presence,
    Ticket,
    TicketStatus,
    Typification,
    WaitingTicket,
)
from ccdomain.ports import OpeningPrefetch  # noqa: E402
from ccdomain.postgres import MIGRATIONS, VERSION_TABLE, PostgresStore  # noqa: E402
from ccdomain.tickets import resolve_ticket, route_interaction  # noqa: E402

AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
PHONE = "+51987654321"
OTHER = "+51912345678"


@pytest.fixture
def store(postgres_server: Any, postgres_schema: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(postgres_server.dsn(), schema=postgres_schema)
    yield opened
    opened.close()


def opener(campaign: str, customer: str = PHONE) -> Callable[[int], Ticket]:
    return lambda n: Ticket(
        number=n, campaign=campaign, customer=customer, origin=Direction.INBOUND, opened_at=AT
    )


def interaction(ticket: int, external_id: str | None, customer: str = PHONE) -> Interaction:
    return Interaction(
        at=AT,
        channel=Channel.WHATSAPP,
        direction=Direction.INBOUND,
        customer=customer,
        external_id=external_id,
        ticket=ticket,
    )


def sql(postgres_server: Any, store: PostgresStore) -> Any:
    conn = psycopg.connect(postgres_server.dsn(), autocommit=True)
    conn.execute(f'SET search_path TO "{store.schema}"'.encode())
    return conn


# -- campaigns and lines kept across transactions ---------------------------------------------


def test_a_campaign_another_worker_redeclares_is_read_anew(
    store: PostgresStore, postgres_server: Any, postgres_schema: str
) -> None:
    with store.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="ventas", name="Ventas"))
        uow.put_line(Line(id="l1", channel=Channel.WHATSAPP, address="+5117001000"))
        uow.commit()
    for _ in range(2):  # read, and kept
        with store.unit_of_work() as uow:
            assert uow.get_ticket(1) is None  # the transaction's first statement
            assert uow.get_campaign("ventas") == Campaign(id="ventas", name="Ventas")
            assert uow.get_line("l1") is not None
    other = PostgresStore(postgres_server.dsn(), schema=postgres_schema)
    try:
        with other.unit_of_work() as uow:
            uow.put_campaign(Campaign(id="ventas", name="Ventas 2"))
            uow.commit()
    finally:
        other.close()
    with store.unit_of_work() as uow:
        assert uow.get_ticket(1) is None
        found = uow.get_campaign("ventas")
    assert found is not None and found.name == "Ventas 2"


def test_a_campaign_written_by_hand_is_read_anew(
    store: PostgresStore, postgres_server: Any
) -> None:
    with store.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="ventas", name="Ventas"))
        uow.commit()
    for _ in range(2):
        with store.unit_of_work() as uow:
            assert uow.get_ticket(1) is None
            assert uow.get_campaign("ventas") is not None
    # An operator's statement, with another search path: the trigger still counts it.
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        conn.execute(f'DELETE FROM "{store.schema}".campaigns'.encode())
    with store.unit_of_work() as uow:
        assert uow.get_ticket(1) is None
        assert uow.get_campaign("ventas") is None


def test_a_unit_reads_the_campaign_it_wrote_and_a_rollback_keeps_nothing_of_it(
    store: PostgresStore,
) -> None:
    with store.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="ventas", name="Ventas"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.get_ticket(1) is None
        assert uow.get_campaign("ventas") is not None  # kept in the catalog
        uow.put_campaign(Campaign(id="ventas", name="Nueva"))
        found = uow.get_campaign("ventas")
        assert found is not None and found.name == "Nueva"
        uow.rollback()
    with store.unit_of_work() as uow:
        assert uow.get_ticket(1) is None
        found = uow.get_campaign("ventas")
    assert found is not None and found.name == "Ventas"


def test_a_read_only_store_of_an_older_schema_reads_campaigns_without_the_catalog(
    postgres_server: Any, postgres_schema: str
) -> None:
    since = next(
        number
        for number, statements in enumerate(MIGRATIONS, start=1)
        if any("catalog_version" in statement for statement in statements)
    )
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{postgres_schema}"'.encode())
        conn.execute(f'SET search_path TO "{postgres_schema}"'.encode())
        for migration in MIGRATIONS[: since - 1]:
            for statement in migration:
                conn.execute(statement.encode())
        conn.execute(f"CREATE TABLE {VERSION_TABLE} (version integer NOT NULL)".encode())
        conn.execute(f"INSERT INTO {VERSION_TABLE} VALUES ({since - 1})".encode())
        conn.execute(
            b"INSERT INTO campaigns (id, data) VALUES ('ventas', %s)",
            ('{"id": "ventas"}',),
        )
    reader = PostgresStore(postgres_server.dsn(), schema=postgres_schema, read_only=True)
    try:
        assert reader.schema_version == since - 1
        for _ in range(2):
            with reader.unit_of_work() as uow:
                assert uow.get_campaign("ventas") == Campaign(id="ventas")
    finally:
        reader.close()


# -- writes sent with the next statement ------------------------------------------------------


def test_T9_E2_a_deferred_interaction_refused_at_commit_loses_the_whole_transaction(
    store: PostgresStore, postgres_server: Any
) -> None:
    with store.unit_of_work() as uow:
        uow.get_or_open_ticket("ventas", OTHER, opener("ventas", OTHER))
        uow.commit()
    with sql(postgres_server, store) as conn, store.unit_of_work() as uow:
        ticket, opened = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        assert opened and ticket.number == 2
        assert uow.find_interaction("x1") is None  # under the id's lock
        # A writer that skips the lock records the id meanwhile.
        conn.execute(b"INSERT INTO interactions (ticket, external_id, data) VALUES (1, 'x1', '{}')")
        uow.add_interaction(interaction(ticket.number, "x1"))  # sent with the next statement
        with pytest.raises(RuleViolation, match="refused by the database"):
            uow.commit()
    with store.unit_of_work() as uow:  # nothing of it was kept, its number included (T5)
        assert [t.customer for t in uow.list_tickets()] == [OTHER]
        assert uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))[0].number == 2


def test_T9_a_second_add_of_an_id_in_one_unit_is_refused_at_the_call(
    store: PostgresStore,
) -> None:
    with store.unit_of_work() as uow:
        ticket, _ = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        assert uow.find_interaction("x1") is None
        uow.add_interaction(interaction(ticket.number, "x1"))
        with pytest.raises(RuleViolation, match="already recorded"):
            uow.add_interaction(interaction(ticket.number, "x1"))
        found = uow.find_interaction("x1")
        assert found is not None and found.ticket == ticket.number
        uow.commit()
    with store.unit_of_work() as uow:
        assert len(uow.interactions(ticket.number)) == 1


def test_T3_an_update_of_a_locked_ticket_is_kept_and_a_reopening_still_refused(
    store: PostgresStore,
) -> None:
    with store.unit_of_work() as uow:
        ticket, _ = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        uow.commit()
    with store.unit_of_work() as uow:
        held = uow.get_open_ticket("ventas", PHONE)
        assert held is not None
        closed = attrs.evolve(held, status=TicketStatus.RESOLVED, closed_at=AT)
        uow.update_ticket(closed)  # sent with the next statement
        assert uow.get_open_ticket("ventas", PHONE) is None
        with pytest.raises(RuleViolation, match="never reopens"):
            uow.update_ticket(held)
        uow.commit()
    with store.unit_of_work() as uow:
        found = uow.get_ticket(ticket.number)
    assert found is not None and found.status is TicketStatus.RESOLVED


# -- reads made ahead with a key's open ticket ------------------------------------------------


def test_W3_M4_reads_made_ahead_see_what_the_unit_writes_next(store: PostgresStore) -> None:
    with store.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="ventas"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.get_block("ventas", PHONE) is None  # reads the key ahead
        assert uow.get_opt_out("ventas", PHONE, Channel.SMS) is None
        assert uow.contacts_by_phone(PHONE) == []
        uow.put_opt_out(OptOut(campaign="ventas", customer=PHONE, channel=Channel.SMS, at=AT))
        uow.add_contact(
            Contact(
                campaign="ventas",
                code="C1",
                channels=(ContactChannel(kind=ChannelKind.PHONE, value=PHONE),),
            )
        )
        opted = uow.get_opt_out("ventas", PHONE, Channel.SMS)
        assert opted is not None and opted.channel is Channel.SMS
        assert [c.code for c in uow.contacts_by_phone(PHONE)] == ["C1"]
        uow.put_block(Block(campaign="ventas", customer=PHONE, at=AT))
        assert uow.get_block("ventas", PHONE) is not None
        uow.commit()


def test_T2_T10_the_tickets_read_ahead_are_read_again_after_a_ticket_write(
    store: PostgresStore,
) -> None:
    with store.unit_of_work() as uow:
        assert uow.get_block("ventas", PHONE) is None
        assert uow.get_open_ticket("ventas", PHONE) is None
        assert uow.tickets_for_customer(PHONE, "ventas") == []
        ticket, opened = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        assert opened
        assert uow.get_open_ticket("ventas", PHONE) == ticket
        assert uow.tickets_for_customer(PHONE, "ventas") == [ticket]
        uow.commit()


def test_T2_an_opening_committed_after_the_read_ahead_is_found_not_doubled(
    store: PostgresStore, postgres_server: Any, postgres_schema: str
) -> None:
    other = PostgresStore(postgres_server.dsn(), schema=postgres_schema)
    try:
        with store.unit_of_work() as uow:
            assert uow.get_open_ticket("ventas", PHONE) is None  # read before the other commits
            with other.unit_of_work() as second:
                theirs, _ = second.get_or_open_ticket("ventas", PHONE, opener("ventas"))
                second.commit()
            found, opened = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
            assert not opened and found == theirs
            uow.commit()
    finally:
        other.close()


# -- nested units of work without a savepoint -------------------------------------------------


def test_E2_T5_a_nested_unit_that_began_first_is_undone_alone(store: PostgresStore) -> None:
    with store.unit_of_work() as outer:
        with pytest.raises(RuntimeError), store.unit_of_work() as inner:
            inner.get_or_open_ticket("ventas", PHONE, opener("ventas"))
            inner.put_campaign(Campaign(id="gone"))
            raise RuntimeError("refused")
        outer.put_campaign(Campaign(id="kept"))
        ticket, opened = outer.get_or_open_ticket("ventas", OTHER, opener("ventas", OTHER))
        assert opened and ticket.number == 1  # the number the undone unit took, again
        outer.commit()
    with store.unit_of_work() as uow:
        assert [c.id for c in uow.list_campaigns()] == ["kept"]
        assert [t.customer for t in uow.list_tickets()] == [OTHER]


def test_E2_run_retries_and_an_undone_first_unit_leaves_the_rest(store: PostgresStore) -> None:
    def work() -> None:
        with store.unit_of_work() as first:
            first.put_campaign(Campaign(id="gone"))
            first.rollback()  # undone, and the unit goes on
            first.put_campaign(Campaign(id="first"))
            first.commit()
        with store.unit_of_work() as second:
            second.put_campaign(Campaign(id="second"))
            second.commit()

    store.run(work)
    with store.unit_of_work() as uow:
        assert [c.id for c in uow.list_campaigns()] == ["first", "second"]


def test_E1_a_value_postgres_cannot_hold_in_a_deferred_write_fails_at_its_call(
    store: PostgresStore,
) -> None:
    with store.unit_of_work() as uow:
        with pytest.raises(StoreError, match="note_inbound failed"):
            uow.note_inbound("l1", "a\x00b", AT)
        uow.put_campaign(Campaign(id="ventas"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.get_campaign("ventas") is not None


def test_E1_texts_are_adapted_as_psycopg_dumps_them(postgres_server: Any) -> None:
    # The wire adapts statements of texts only itself (most of a round trip's): the same
    # bytes, types and formats as psycopg's dumper, which adapts everything else.
    from ccdomain.postgres.connection import _Wire

    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        wire = _Wire(conn)
        query = b"SELECT %s, %s, %s"
        for params in (["a", "", "ñandú 🦜"], ("x" * 500, "+5491155550000", "{}")):
            text, types, values, formats = wire.adapt_one(query, params)
            dumped = wire.dumper.dump_sequence(params, [psycopg.adapt.PyFormat.AUTO] * 3)
            assert text == b"SELECT $1, $2, $3"
            assert types == wire.dumper.types
            assert [bytes(v) for v in values] == [bytes(v) for v in dumped]
            assert list(formats) == list(wire.dumper.formats)
        mixed = wire.adapt_one(query, ["a", 7, None])  # psycopg's: an int is no text
        assert mixed[1] == (0, 21, 0)
        with pytest.raises(psycopg.DataError, match="NUL"):
            wire.adapt_one(query, ["a", "b\x00", "c"])  # refused by psycopg's dumper
        with pytest.raises(UnicodeEncodeError):
            wire.adapt_one(query, ["\ud800", "b", "c"])


# -- reads made ahead for the assignment and for an inbound message's key ---------------------


def agent(agent_id: str, queue: str = "q1") -> AgentState:
    return AgentState(agent=Agent(id=agent_id, queues=(queue,)), presence=Presence.ONLINE)


def _store_ana(store: PostgresStore) -> None:
    """Agent ana, online in queue q1, committed."""
    with store.unit_of_work() as uow:
        uow.put_agent_state(agent("ana"))
        uow.commit()


def test_A2_an_opening_reads_its_queue_agents_ahead_and_a_write_is_read_again(
    store: PostgresStore,
) -> None:
    _store_ana(store)
    with store.unit_of_work() as uow:
        _, opened = uow.get_or_open_ticket(
            "ventas", PHONE, lambda n: attrs.evolve(opener("ventas")(n), queue="q1")
        )
        assert opened
        assert [s.id for s in uow.agent_states_for_queue("q1")] == ["ana"]
        uow.put_agent_state(agent("bea"))
        assert [s.id for s in uow.agent_states_for_queue("q1")] == ["ana", "bea"]
        assert uow.agent_states_for_queue("q2") == []
        uow.commit()


def test_A4_an_outbound_opening_reads_its_agent_ahead(store: PostgresStore) -> None:
    _store_ana(store)
    with store.unit_of_work() as uow:
        ticket, _ = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        sent = attrs.evolve(
            interaction(ticket.number, None), direction=Direction.OUTBOUND, agent="ana"
        )
        uow.add_interaction(sent)
        state = uow.get_agent_state("ana")
        assert state is not None and state.presence is Presence.ONLINE
        uow.put_agent_state(attrs.evolve(state, presence=Presence.AWAY))
        again = uow.get_agent_state("ana")
        assert again is not None and again.presence is Presence.AWAY
        unknown = attrs.evolve(sent, agent="nadie")
        uow.add_interaction(unknown)
        assert uow.get_agent_state("nadie") is None
        uow.commit()


def test_T6_an_inbound_key_read_ahead_for_the_line_default_leaves_other_campaigns_right(
    store: PostgresStore,
) -> None:
    with store.unit_of_work() as uow:
        uow.put_line(
            Line(id="l1", channel=Channel.WHATSAPP, address="+5117001000", campaign="ventas")
        )
        theirs, _ = uow.get_or_open_ticket("cobranza", PHONE, opener("cobranza"))
        uow.put_block(Block(campaign="cobranza", customer=PHONE, at=AT))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.get_ticket(0) is None
        line = uow.get_line("l1")
        assert line is not None and line.campaign == "ventas"
        assert uow.tickets_for_customer(PHONE) == [theirs]  # reads (ventas, PHONE) ahead
        assert uow.get_block("ventas", PHONE) is None
        assert uow.get_open_ticket("ventas", PHONE) is None
        assert uow.get_block("cobranza", PHONE) is not None  # another key: read
        assert uow.get_open_ticket("cobranza", PHONE) == theirs
        uow.commit()


# -- adversarial review (issue 16): paths that must not reach a deferred write -----------------


def test_T9_an_id_recorded_unlocked_after_its_lookup_is_refused_at_the_second_call(
    store: PostgresStore,
) -> None:
    # The id is looked up (found free), then recorded on a ticket this transaction does not
    # hold: the lookup's "free" no longer holds, and a second add of the id on a locked
    # ticket must be refused at its call, the transaction kept (as in the memory store).
    with store.unit_of_work() as uow:
        elsewhere, _ = uow.get_or_open_ticket("cobranza", OTHER, opener("cobranza", OTHER))
        uow.commit()
    with store.unit_of_work() as uow:
        ticket, _ = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        assert uow.find_interaction("x1") is None
        uow.add_interaction(interaction(elsewhere.number, "x1", OTHER))  # not locked here
        with pytest.raises(RuleViolation, match="already recorded"):
            uow.add_interaction(interaction(ticket.number, "x1"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert len(uow.interactions(elsewhere.number)) == 1
        assert uow.interactions(ticket.number) == []


def test_T9_I4_an_id_given_by_a_replacement_after_its_lookup_is_refused_at_the_call(
    store: PostgresStore,
) -> None:
    with store.unit_of_work() as uow:
        elsewhere, _ = uow.get_or_open_ticket("cobranza", OTHER, opener("cobranza", OTHER))
        uow.add_interaction(interaction(elsewhere.number, "old", OTHER))
        uow.commit()
    with store.unit_of_work() as uow:
        ticket, _ = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        assert uow.find_interaction("x1") is None
        uow.replace_interactions(elsewhere.number, [interaction(elsewhere.number, "x1", OTHER)])
        with pytest.raises(RuleViolation, match="already recorded"):
            uow.add_interaction(interaction(ticket.number, "x1"))
        uow.commit()
    with store.unit_of_work() as uow:
        found = uow.find_interaction("x1")
        assert found is not None and found.ticket == elsewhere.number
        assert uow.interactions(ticket.number) == []


def test_A2_an_agent_written_before_the_queue_read_ahead_is_sent_is_read_again(
    store: PostgresStore,
) -> None:
    _store_ana(store)
    with store.unit_of_work() as uow:
        _, opened = uow.get_or_open_ticket(
            "ventas", PHONE, lambda n: attrs.evolve(opener("ventas")(n), queue="q1")
        )
        assert opened  # the queue's agents wait to be read with the next statement
        uow.put_agent_state(agent("bea"))  # that statement: the read goes before it
        assert [s.id for s in uow.agent_states_for_queue("q1")] == ["ana", "bea"]
        uow.commit()


def test_A4_an_agent_written_before_its_read_ahead_is_sent_is_read_again(
    store: PostgresStore,
) -> None:
    _store_ana(store)
    with store.unit_of_work() as uow:
        ticket, _ = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        sent = attrs.evolve(
            interaction(ticket.number, None), direction=Direction.OUTBOUND, agent="ana"
        )
        uow.add_interaction(sent)  # the agent waits to be read with the next statement
        uow.put_agent_state(attrs.evolve(agent("ana"), presence=Presence.AWAY))
        state = uow.get_agent_state("ana")
        assert state is not None and state.presence is Presence.AWAY
        uow.commit()


def test_a_campaign_is_read_anew_after_the_schema_is_restored_to_an_older_catalog_version(
    store: PostgresStore, postgres_server: Any, postgres_schema: str
) -> None:
    # A restore (here: the schema dropped and created anew) brings the catalog version
    # back to a number this store has already seen: what it kept under that number is
    # another schema's and must not be used.
    with store.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="ventas", name="before"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.get_campaign("otra") is None
        found = uow.get_campaign("ventas")
        assert found is not None and found.name == "before"  # kept by the store
    with sql(postgres_server, store) as conn:
        conn.execute(f'DROP SCHEMA "{postgres_schema}" CASCADE'.encode())
    restored = PostgresStore(postgres_server.dsn(), schema=postgres_schema)
    try:
        with restored.unit_of_work() as uow:
            uow.put_campaign(Campaign(id="ventas", name="after"))
            uow.commit()
    finally:
        restored.close()
    with store.unit_of_work() as uow:
        assert uow.get_campaign("otra") is None  # the catalog version is read with it
        found = uow.get_campaign("ventas")
    assert found is not None and found.name == "after"


def test_E1_W1_W5_a_read_only_store_refuses_the_writes_it_would_defer_at_their_call(
    store: PostgresStore, postgres_server: Any, postgres_schema: str
) -> None:
    reader = PostgresStore(postgres_server.dsn(), schema=postgres_schema, read_only=True)
    try:
        with reader.unit_of_work() as uow:  # left without a commit: nothing would say so
            with pytest.raises(StoreUnavailable, match="cannot be written"):
                uow.note_inbound("l1", PHONE, AT)
            with pytest.raises(StoreUnavailable, match="cannot be written"):
                uow.add_attempt("ventas", PHONE, AT.date())
            with pytest.raises(StoreUnavailable, match="cannot be written"):
                uow.put_agent_state(agent("ana"))
            with pytest.raises(StoreUnavailable, match="cannot be written"):
                uow.add_typification(
                    Typification(ticket=1, campaign="ventas", at=AT, path=("ok",), customer=PHONE)
                )
    finally:
        reader.close()


def test_T6_a_line_truncated_by_hand_or_redeclared_in_the_unit_is_read_anew(
    store: PostgresStore, postgres_server: Any
) -> None:
    line = Line(id="l1", channel=Channel.WHATSAPP, address="+5117001000", campaign="ventas")
    with store.unit_of_work() as uow:
        uow.put_line(line)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.get_ticket(1) is None  # the catalog version is read with it
        assert uow.get_line("l1") == line  # kept by the store
    with store.unit_of_work() as uow:
        assert uow.get_ticket(1) is None
        assert uow.get_line("l1") == line  # from what the store kept
        moved = attrs.evolve(line, campaign="cobranza")
        uow.put_line(moved)
        assert uow.get_line("l1") == moved  # its own write, in the same transaction
        uow.commit()
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        conn.execute(f'TRUNCATE "{store.schema}".lines'.encode())
    with store.unit_of_work() as uow:
        assert uow.get_ticket(1) is None
        assert uow.get_line("l1") is None


# -- under run(): the catalog assumed, the T9 lookup sent with the key's reads ---------------


def _declare(store: PostgresStore, campaign: Campaign, line: Line | None = None) -> None:
    with store.unit_of_work() as uow:
        uow.put_campaign(campaign)
        if line is not None:
            uow.put_line(line)
        uow.commit()


def _redeclare_elsewhere(postgres_server: Any, postgres_schema: str, campaign: Campaign) -> None:
    other = PostgresStore(postgres_server.dsn(), schema=postgres_schema)
    try:
        _declare(other, campaign)
    finally:
        other.close()


def test_run_a_campaign_another_worker_redeclares_is_read_anew_though_nothing_else_is_read(
    store: PostgresStore, postgres_server: Any, postgres_schema: str
) -> None:
    _declare(store, Campaign(id="ventas", name="Ventas"))
    calls: list[str] = []

    def name() -> str:
        with store.unit_of_work() as uow:
            found = uow.get_campaign("ventas")
        assert found is not None
        calls.append(found.name)
        return found.name

    assert store.run(name) == "Ventas"  # reads the version, and keeps the campaign
    assert store.run(name) == "Ventas"  # from what it kept; the version checked at its end
    _redeclare_elsewhere(postgres_server, postgres_schema, Campaign(id="ventas", name="Otra"))
    calls.clear()
    # The first attempt answers from what the store kept, then finds the version changed
    # before it ends: run runs it again, with the campaign as now declared.
    assert store.run(name) == "Otra"
    assert calls == ["Ventas", "Otra"]
    assert store.run(name) == "Otra"


def test_T6_run_routes_to_a_campaign_declared_by_another_worker_after_this_one_read_it_missing(
    store: PostgresStore, postgres_server: Any, postgres_schema: str
) -> None:
    _ventas_on_l1(store)
    with store.unit_of_work() as uow:
        assert uow.get_ticket(0) is None
        assert uow.get_campaign("cobranza") is None  # kept: not declared
    _redeclare_elsewhere(postgres_server, postgres_schema, Campaign(id="cobranza", name="C"))

    def route() -> Any:
        return route_interaction(
            store,
            at=AT,
            channel="whatsapp",
            direction="outbound",
            customer=PHONE,
            campaign="cobranza",
            external_id="out-1",
            template="hola",
        )

    result = store.run(route)  # not UnknownCampaign: the stale answer loses the race
    assert result.ticket.campaign == "cobranza"


def _inbound(store: PostgresStore, customer: str, external_id: str, minutes: int) -> Any:
    """An inbound WhatsApp message on line l1, routed through ``run``."""
    return store.run(
        lambda: route_interaction(
            store,
            at=AT + dt.timedelta(minutes=minutes),
            channel="whatsapp",
            direction="inbound",
            customer=customer,
            line="l1",
            external_id=external_id,
            text="hola",
        )
    )


def _ventas_on_l1(store: PostgresStore) -> None:
    _declare(
        store,
        Campaign(id="ventas", name="Ventas"),
        Line(id="l1", channel=Channel.WHATSAPP, address="+5117001000", campaign="ventas"),
    )


def _count_round_trips(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """From now on, the round trips the stores' connections make (``counted["sends"]``)."""
    from ccdomain.postgres import connection

    counted = {"sends": 0}
    send = connection._Wire.send

    def counting(self: Any, sends: Any) -> Any:
        counted["sends"] += 1
        return send(self, sends)

    monkeypatch.setattr(connection._Wire, "send", counting)
    return counted


def test_T9_run_sends_the_id_lookup_with_the_key_reads_and_a_join_takes_two_round_trips(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ventas_on_l1(store)

    def route(external_id: str, minutes: int = 0) -> Any:
        return _inbound(store, PHONE, external_id, minutes)

    first = route("m1")
    counted = _count_round_trips(monkeypatch)
    joined = route("m2", 1)
    # The reads (the id's lock and lookup, the catalog version, the customer's tickets,
    # the key's open ticket and what routing reads of it) in one, the writes with COMMIT.
    assert counted["sends"] == 2
    assert joined.outcome.value == "joined" and joined.ticket.number == first.ticket.number
    counted["sends"] = 0
    again = route("m2", 2)
    assert again.outcome.value == "duplicate" and again.interaction == joined.interaction
    with store.unit_of_work() as uow:
        assert len(uow.interactions(first.ticket.number)) == 2


def test_T9_an_id_looked_up_ahead_then_recorded_in_the_unit_is_found(
    store: PostgresStore,
) -> None:
    with store.unit_of_work() as uow:
        ticket, _ = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        uow.commit()
    with store.unit_of_work() as uow:
        uow.prefetch_interaction("m1")
        uow.prefetch_interaction("m2")
        assert uow.get_open_ticket("ventas", PHONE) == ticket  # sends the lookups with it
        uow.add_interaction(interaction(ticket.number, "m1"))
        found = uow.find_interaction("m1")  # recorded since: the answer ahead is not used
        assert found is not None and found.external_id == "m1"
        assert uow.find_interaction("m2") is None
        with pytest.raises(RuleViolation, match="already recorded"):
            uow.add_interaction(interaction(ticket.number, "m1"))
        uow.commit()
    with store.unit_of_work() as uow:
        uow.prefetch_interaction("m1")
        uow.rollback()
    with store.unit_of_work() as uow:
        uow.prefetch_interaction("m1")
        with store.unit_of_work() as nested:  # looked up ahead in a unit left uncommitted
            nested.prefetch_interaction("m3")
            nested.put_block(Block(campaign="ventas", customer=OTHER, at=AT))
        assert uow.find_interaction("m3") is None
        found = uow.find_interaction("m1")
        assert found is not None and found.ticket == ticket.number


def test_T2_T5_run_takes_the_counter_with_the_key_reads_and_an_unused_number_leaves_no_gap(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ventas_on_l1(store)
    with store.unit_of_work() as uow:
        uow.put_block(Block(campaign="ventas", customer=OTHER, at=AT))
        uow.commit()

    def route(customer: str, external_id: str, minutes: int = 0) -> Any:
        return _inbound(store, customer, external_id, minutes)

    warm = route("+51911111111", "m0")  # the store reads the line and campaign once
    assert warm.ticket.number == 1
    counted = _count_round_trips(monkeypatch)
    first = route(PHONE, "m1")
    # The reads with the counter (no ticket open for the key), then the writes with COMMIT.
    assert counted["sends"] == 2
    assert first.outcome.value == "opened" and first.ticket.number == 2
    with pytest.raises(BlockedIdentity):
        route(OTHER, "m2", 1)  # the counter taken with the key's reads, and not used
    store.run(lambda: resolve_ticket(store, number=2, agent="ana", at=AT + dt.timedelta(minutes=2)))
    late = route(PHONE, "m3", 1)  # T10: on the closed ticket; the counter taken, not used
    assert late.outcome.value == "late" and late.ticket.number == 2
    again = route(PHONE, "m4", 3)
    assert again.outcome.value == "opened" and again.ticket.number == 3  # no gap (T5)
    with store.unit_of_work() as uow:
        assert [t.number for t in uow.list_tickets()] == [1, 2, 3]


def _outbound_on_l1(
    store: PostgresStore, campaign: str, external_id: str, minutes: int, **content: str
) -> Any:
    """An outbound WhatsApp message on line l1 (a template or a text), routed through ``run``."""
    return store.run(
        lambda: route_interaction(
            store,
            at=AT + dt.timedelta(minutes=minutes),
            channel="whatsapp",
            direction="outbound",
            customer=PHONE,
            campaign=campaign,
            line="l1",
            external_id=external_id,
            **content,
        )
    )


def test_T6_an_inbound_message_reads_ahead_the_key_where_the_customers_last_one_went_on_the_line(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ventas_on_l1(store)
    _declare(store, Campaign(id="cobranza", name="Cobranza"))
    outbound = _outbound_on_l1(store, "cobranza", "out-1", 0, template="hola")
    assert outbound.ticket.campaign == "cobranza"
    _inbound(store, OTHER, "warm", 0)  # the store reads the line and campaign once
    counted = _count_round_trips(monkeypatch)
    first = _inbound(store, PHONE, "in-1", 1)
    # T6: the reply goes to the ticket open on the line (cobranza), not the line's default
    # (ventas): the outbound message routed on the line made cobranza's key the guess.
    assert first.ticket.number == outbound.ticket.number and first.outcome.value == "joined"
    assert counted["sends"] == 2
    counted["sends"] = 0
    second = _inbound(store, PHONE, "in-2", 2)
    assert second.ticket.number == outbound.ticket.number
    assert counted["sends"] == 2  # cobranza's key read ahead again
    store.run(
        lambda: resolve_ticket(
            store, number=outbound.ticket.number, agent="ana", at=AT + dt.timedelta(minutes=3)
        )
    )
    counted["sends"] = 0
    back = _inbound(store, PHONE, "in-3", 4)  # nothing open on the line: the default's
    assert back.ticket.campaign == "ventas" and back.outcome.value == "opened"
    assert counted["sends"] == 3  # the guess (cobranza) missed once
    counted["sends"] = 0
    assert _inbound(store, PHONE, "in-4", 5).ticket.number == back.ticket.number
    assert counted["sends"] == 2
    # A message to the line's default campaign on the line makes it the guess again.
    _outbound_on_l1(store, "cobranza", "out-2", 6, template="hola")
    _outbound_on_l1(store, "ventas", "out-3", 7, text="seguimos")
    counted["sends"] = 0
    latest = _inbound(store, PHONE, "in-5", 8)  # T6: the most recently active one, ventas
    assert latest.ticket.number == back.ticket.number
    assert counted["sends"] == 2


# -- an opening's agents read with the key (OpeningPrefetch) -------------------------------------


def _agents_on_q1(store: PostgresStore) -> None:
    _declare(
        store,
        Campaign(id="ventas", name="Ventas", queue="q1"),
        Line(id="l1", channel=Channel.WHATSAPP, address="+5117001000", campaign="ventas"),
    )
    _declare(store, Campaign(id="cobros", name="Cobros"))
    with store.unit_of_work() as uow:
        uow.put_agent_state(
            AgentState(
                agent=Agent(id="ana", queues=("q1",), capacity=PerFamily(digital=5, voice=1)),
                presence=Presence.ONLINE,
            )
        )
        uow.commit()


def _agent_locked(sql: Any, agent_id: str) -> bool:
    """Whether another connection finds the agent's row locked."""
    try:
        sql.execute(b"SELECT 1 FROM agents WHERE id = %s FOR UPDATE NOWAIT", (agent_id,))
    except psycopg.errors.LockNotAvailable:
        return True
    return False


def test_A2_A4_run_reads_an_openings_agents_with_the_key_and_an_opening_takes_two_round_trips(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _agents_on_q1(store)
    _inbound(store, "+51911111111", "warm", 0)  # the catalog and the statements, known

    def outbound(customer: str, minutes: int) -> Any:
        return store.run(
            lambda: route_interaction(
                store,
                at=AT + dt.timedelta(minutes=minutes),
                channel="call",
                direction="outbound",
                customer=customer,
                campaign="ventas",
                agent="ana",
                status="answered",
            )
        )

    counted = _count_round_trips(monkeypatch)
    called = outbound(PHONE, 1)
    assert called.outcome.value == "opened" and called.ticket.assignee == "ana"  # A4
    assert counted["sends"] == 2
    counted["sends"] = 0
    wrote = _inbound(store, "+51922222222", "m-2", 2)
    assert wrote.outcome.value == "opened" and wrote.ticket.assignee == "ana"  # A2
    assert counted["sends"] == 2
    counted["sends"] = 0
    joined = _inbound(store, "+51922222222", "m-3", 3)
    assert joined.outcome.value == "joined" and counted["sends"] == 2
    with store.unit_of_work() as uow:
        state = uow.get_agent_state("ana")
        assert state is not None and state.open == PerFamily(digital=2, voice=1)


def test_A2_T2_agents_are_locked_after_the_key_and_only_when_it_opens(
    store: PostgresStore, postgres_server: Any
) -> None:
    _agents_on_q1(store)
    other = sql(postgres_server, store)
    with store.unit_of_work() as uow:
        uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        uow.get_or_open_ticket("cobros", "+51933333333", opener("cobros", "+51933333333"))
        uow.commit()
    # A key with an open ticket: its row is locked, no agent (a closing of that ticket
    # locks the row, then its agent: nothing here waits on the other's lock).
    with store.unit_of_work() as uow:
        assert isinstance(uow, OpeningPrefetch)
        uow.prefetch_opening(agent="ana", queue=None)
        assert uow.get_campaign("ventas") is not None
        assert uow.get_block("ventas", PHONE) is None
        assert not _agent_locked(other, "ana")
        uow.rollback()
    # A key without one: its opening's agents are read, locked, with the key.
    with store.unit_of_work() as uow:
        assert isinstance(uow, OpeningPrefetch)
        uow.prefetch_opening(agent=None, queue=None)
        assert uow.get_campaign("ventas") is not None
        assert uow.get_block("ventas", "+51944444444") is None
        assert _agent_locked(other, "ana")
        uow.rollback()
    # A guessed key (an inbound message's line default): only when the customer has no
    # open ticket at all, so that the key read next, the message's, has none to lock.
    for customer, locked in (("+51933333333", False), ("+51955555555", True)):
        with store.unit_of_work() as uow:
            assert isinstance(uow, OpeningPrefetch)
            uow.prefetch_opening(agent=None, queue=None)
            assert uow.get_line("l1") is not None and uow.get_campaign("ventas") is not None
            uow.tickets_for_customer(customer)
            assert _agent_locked(other, "ana") is locked, customer
            uow.rollback()


def test_A2_E2_a_read_made_ahead_in_a_unit_rolled_back_keeps_nothing_of_it(
    store: PostgresStore,
) -> None:
    _store_ana(store)
    with store.unit_of_work() as outer:
        assert outer.get_open_ticket("ventas", PHONE) is None  # the nested unit's savepoint
        with store.unit_of_work() as nested:
            nested.put_agent_state(attrs.evolve(agent("ana"), presence=Presence.AWAY))
            assert [s.presence for s in nested.agent_states_for_queue("q1")] == [Presence.AWAY]
            nested.get_or_open_ticket(
                "ventas", PHONE, lambda n: attrs.evolve(opener("ventas")(n), queue="q1")
            )  # its queue's agents read ahead, not sent yet
            nested.rollback()
        for _ in range(2):  # read, then answered from what was read
            assert [s.presence for s in outer.agent_states_for_queue("q1")] == [Presence.ONLINE]
        assert outer.get_open_ticket("ventas", PHONE) is None
        outer.commit()


def _counter_locked(sql: Any) -> bool:
    """Whether another connection finds the ticket counter's row locked."""
    try:
        sql.execute(b"SELECT 1 FROM counters WHERE name = 'ticket' FOR UPDATE NOWAIT")
    except psycopg.errors.LockNotAvailable:
        return True
    return False


def test_T2_T5_A2_a_guessed_key_takes_the_counter_only_when_the_customer_has_no_open_ticket(
    store: PostgresStore, postgres_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message whose key was not the one guessed goes where its customer has an open
    ticket: it takes no counter for the guess. An opening after such a read takes the
    counter with its second look, and reads its queue's agents in that round trip."""
    _agents_on_q1(store)
    other = sql(postgres_server, store)
    elsewhere = "+51933333333"
    with store.unit_of_work() as uow:
        uow.get_or_open_ticket("cobros", elsewhere, opener("cobros", elsewhere))
        uow.commit()
    for customer, locked in ((elsewhere, False), ("+51966666666", True)):
        with store.unit_of_work() as uow:
            assert isinstance(uow, OpeningPrefetch)
            uow.prefetch_opening(agent=None, queue=None)
            assert uow.get_line("l1") is not None and uow.get_campaign("ventas") is not None
            uow.tickets_for_customer(customer)
            assert _counter_locked(other) is locked, customer
            counted = _count_round_trips(monkeypatch)
            ticket, opened = uow.get_or_open_ticket(
                "ventas",
                customer,
                lambda n, c=customer: attrs.evolve(opener("ventas", c)(n), queue="q1"),
            )
            assert opened and ticket.number == 2
            assert [s.id for s in uow.agent_states_for_queue("q1")] == ["ana"]
            assert counted["sends"] == (0 if locked else 1)
            assert _counter_locked(other) and _agent_locked(other, "ana")
            monkeypatch.undo()
            uow.rollback()
    with store.unit_of_work() as uow:
        ticket, _ = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        assert ticket.number == 2  # T5: no number lost to the rolled-back openings
        uow.rollback()


def test_T2_T5_a_key_read_outside_routing_leaves_the_counter(
    store: PostgresStore, postgres_server: Any
) -> None:
    """Routing's key read takes the ticket counter when the key has no open ticket (its
    opening then needs no round trip of its own); the same read made elsewhere (a block
    looked up for a screen) may open nothing, and leaves the counter, which every
    opening waits for, free."""
    other = sql(postgres_server, store)
    with store.unit_of_work() as uow:  # the counter's row, committed
        uow.get_or_open_ticket("cobros", PHONE, opener("cobros"))
        uow.commit()
    for routing in (False, True):
        with store.unit_of_work() as uow:
            if routing:
                assert isinstance(uow, OpeningPrefetch)
                uow.prefetch_opening(agent=None, queue=None)
            assert uow.get_block("ventas", PHONE) is None  # the key's reads, made ahead
            assert _counter_locked(other) is routing
            ticket, opened = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
            assert opened and ticket.number == 2  # T5: the same number either way
            assert _counter_locked(other)
            uow.rollback()


def test_A3_a_closing_takes_its_ticket_out_of_its_line_without_a_round_trip(
    store: PostgresStore, postgres_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = sql(postgres_server, store)
    with store.unit_of_work() as uow:
        ticket, _ = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        entry = WaitingTicket(number=ticket.number, queue="q1", family=Family.DIGITAL, opened_at=AT)
        uow.add_waiting(entry)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.get_open_ticket("ventas", PHONE) == ticket
        with pytest.raises(psycopg.errors.LockNotAvailable):  # another worker's take waits
            other.execute(
                b"SELECT 1 FROM waiting WHERE number = %s FOR UPDATE NOWAIT", (ticket.number,)
            )
        counted = _count_round_trips(monkeypatch)
        assert uow.take_waiting(ticket.number) == entry
        assert counted["sends"] == 0
        assert uow.take_waiting(ticket.number) is None  # taken once (A3)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.list_waiting() == []
        assert uow.get_open_ticket("ventas", PHONE) == ticket
        uow.add_waiting(entry)  # what was read with the ticket no longer answers
        assert uow.take_waiting(ticket.number) == entry
        uow.rollback()
    with store.unit_of_work() as uow:
        assert uow.get_open_ticket("ventas", PHONE) == ticket
        counted["sends"] = 0
        assert uow.take_waiting(ticket.number) is None  # not waiting, known with the ticket
        assert counted["sends"] == 0
        uow.rollback()
