"""The SQLite store's batch write path (issue 15): writes of nested units held in memory.

Inside a unit of work nested in another, tickets, interactions, typifications and
inbound message times are held until the outermost commit and undone by an undo log
(no savepoint per line); a write the path does not hold first writes what it holds
(each open unit's part after a savepoint of its own). These tests check that what a
batch leaves is what the in-memory store leaves for the same units of work, failures
part-way included (E2), with gap-free numbers (T5), one open ticket per key (T2) and
one interaction per external id (T9); and that a batch's reads see what it holds.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdomain.errors import RuleViolation, StoreError, UnknownTicket
from ccdomain.events import Event, EventKind, TicketResolved
from ccdomain.memory import MemoryStore
from ccdomain.models import (
    Campaign,
    Channel,
    Comment,
    Direction,
    Interaction,
    Ticket,
    TicketStatus,
    Typification,
)
from ccdomain.ports import ServiceLevelReads, Store, UnitOfWork
from ccdomain.sqlite import SqliteStore

AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
_LIMA = dt.timezone(dt.timedelta(hours=-5))
CUSTOMERS = ("+51987654321", "+51987654322", "+51987654323")


class _LineFailed(Exception):
    """A line of the batch fails part-way (what a rejected event does)."""


def _opener(customer: str) -> Callable[[int], Ticket]:
    def open_ticket(number: int) -> Ticket:
        return Ticket(
            number=number,
            campaign="ventas",
            customer=customer,
            origin=Direction.INBOUND,
            opened_at=AT,
        )

    return open_ticket


def _message(ticket: Ticket, external_id: str | None, minute: int) -> Interaction:
    return Interaction(
        at=AT + dt.timedelta(minutes=minute),
        channel=Channel.WHATSAPP,
        direction=Direction.INBOUND,
        customer=ticket.customer,
        external_id=external_id,
        campaign="ventas",
        text=f"m{minute}",
        ticket=ticket.number,
    )


def _apply(uow: UnitOfWork, op: tuple[Any, ...], minute: int) -> None:
    """One write (or a failure) of a line, the same on every store."""
    kind = op[0]
    if kind == "fail":
        raise _LineFailed
    if kind == "other":  # a write the batch path does not hold
        uow.put_campaign(Campaign(id=f"c{op[1]}", name=f"C {op[1]}"))
        return
    customer = CUSTOMERS[op[1]]
    if kind == "message":
        ticket, _ = uow.get_or_open_ticket("ventas", customer, _opener(customer))
        uow.add_interaction(_message(ticket, op[2], minute))
        uow.update_ticket(attrs.evolve(ticket, last_activity_at=AT + dt.timedelta(minutes=minute)))
    elif kind == "close":
        found = uow.get_open_ticket("ventas", customer)
        if found is not None:
            uow.update_ticket(
                attrs.evolve(found, status=TicketStatus.RESOLVED, closed_at=found.opened_at)
            )
    elif kind == "typify":
        tickets = uow.tickets_for_customer(customer, "ventas")
        if tickets:
            uow.add_typification(
                Typification(
                    ticket=tickets[-1].number,
                    campaign="ventas",
                    at=AT,
                    path=("venta",),
                    customer=customer,
                )
            )
    elif kind == "inbound":  # the same instant may come in another offset: the first stays
        at = AT + dt.timedelta(minutes=op[2])
        uow.note_inbound("wa", customer, at.astimezone(_LIMA) if op[3] else at)


_OPS = st.one_of(
    st.tuples(
        st.just("message"),
        st.integers(0, 2),
        st.one_of(st.none(), st.sampled_from(["w1", "w2", "w3", "w4"])),
    ),
    st.tuples(st.just("close"), st.integers(0, 2)),
    st.tuples(st.just("typify"), st.integers(0, 2)),
    st.tuples(st.just("inbound"), st.integers(0, 2), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("other"), st.integers(0, 3)),
    st.tuples(st.just("fail")),
)
# A line: writes, and optionally an inner unit (a service) whose failure the line survives.
_LINE = st.tuples(
    st.lists(_OPS, max_size=4),
    st.one_of(st.none(), st.lists(_OPS, min_size=1, max_size=3)),
    st.lists(_OPS, max_size=3),
)


def _run(store: Store, batches: list[list[Any]]) -> None:
    minute = 0
    for lines in batches:
        with store.unit_of_work() as outer:
            for before, inner, after in lines:
                try:
                    with store.unit_of_work() as line:
                        for op in before:
                            minute += 1
                            _apply(line, op, minute)
                        if inner is not None:
                            try:
                                with store.unit_of_work() as service:
                                    for op in inner:
                                        minute += 1
                                        _apply(service, op, minute)
                                    service.commit()
                            except (_LineFailed, RuleViolation):
                                pass
                        for op in after:
                            minute += 1
                            _apply(line, op, minute)
                        line.commit()
                except (_LineFailed, RuleViolation):
                    pass
            outer.commit()


def _iso(at: dt.datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _state(store: Store) -> dict[str, Any]:
    with store.unit_of_work() as uow:
        tickets = list(uow.list_tickets())
        state = {
            "tickets": tickets,
            "interactions": {t.number: list(uow.interactions(t.number)) for t in tickets},
            "typifications": list(uow.typifications()),
            # (as text: the offset of the time kept counts, not only its instant)
            "inbound": [_iso(uow.last_inbound("wa", c)) for c in CUSTOMERS],
            "campaigns": sorted(c.id for c in uow.list_campaigns()),
            "ids": {i: uow.find_interaction(i) for i in ("w1", "w2", "w3", "w4")},
        }
        # T5: the next number is the one after the last kept, whatever was rolled back.
        fresh, _ = uow.get_or_open_ticket("next", "+51900000000", _next_opener)
        state["next number"] = fresh.number
    return state


def _next_opener(number: int) -> Ticket:
    return Ticket(
        number=number,
        campaign="next",
        customer="+51900000000",
        origin=Direction.INBOUND,
        opened_at=AT,
    )


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=st.lists(st.lists(_LINE, min_size=1, max_size=6), min_size=1, max_size=3))
def test_E2_T2_T5_T9_a_batch_leaves_what_the_memory_store_leaves(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[Any]]
) -> None:
    """Lines failing part-way, inner units failing, writes held or not: same end state."""
    memory = MemoryStore()
    _run(memory, batches)
    path = tmp_path_factory.mktemp("batch") / "a.db"
    sqlite = SqliteStore(path)
    try:
        _run(sqlite, batches)
        assert _state(sqlite) == _state(memory)
    finally:
        sqlite.close()


def _rows(path: Path, sql: str) -> list[Any]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_E2_a_failed_line_leaves_nothing_and_takes_no_savepoint(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    statements: list[str] = []
    with store.unit_of_work() as outer:
        outer._db().set_trace_callback(statements.append)  # type: ignore[attr-defined]
        with store.unit_of_work() as line:
            kept, _ = line.get_or_open_ticket("ventas", CUSTOMERS[0], _opener(CUSTOMERS[0]))
            line.add_interaction(_message(kept, "w1", 1))
            line.commit()
        with pytest.raises(_LineFailed), store.unit_of_work() as line:
            dropped, _ = line.get_or_open_ticket("ventas", CUSTOMERS[1], _opener(CUSTOMERS[1]))
            line.add_interaction(_message(dropped, "w2", 2))
            line.note_inbound("wa", CUSTOMERS[1], AT)
            raise _LineFailed
        assert outer.get_open_ticket("ventas", CUSTOMERS[1]) is None
        assert outer.find_interaction("w2") is None
        assert outer.last_inbound("wa", CUSTOMERS[1]) is None
        with store.unit_of_work() as line:  # T5: the number given back is taken again
            again, _ = line.get_or_open_ticket("ventas", CUSTOMERS[2], _opener(CUSTOMERS[2]))
            line.commit()
        assert again.number == dropped.number == kept.number + 1
        # Nothing reached the file before the commit, and no line took a savepoint.
        assert not [s for s in statements if s.startswith(("SAVEPOINT", "INSERT", "UPDATE"))]
        outer.commit()
    statements.clear()
    assert _rows(tmp_path / "a.db", "SELECT number, customer FROM tickets ORDER BY number") == [
        (kept.number, CUSTOMERS[0]),
        (again.number, CUSTOMERS[2]),
    ]
    assert _rows(tmp_path / "a.db", "SELECT external_id FROM interactions") == [("w1",)]
    store.close()


def test_E2_a_write_not_held_keeps_the_batch_before_it_after_a_failure(tmp_path: Path) -> None:
    """The held writes go first, the line's after its savepoint: its failure undoes its own."""
    store = SqliteStore(tmp_path / "a.db")
    with store.unit_of_work() as outer:
        with store.unit_of_work() as line:
            kept, _ = line.get_or_open_ticket("ventas", CUSTOMERS[0], _opener(CUSTOMERS[0]))
            line.add_interaction(_message(kept, "w1", 1))
            line.commit()
        with pytest.raises(_LineFailed), store.unit_of_work() as line:
            dropped, _ = line.get_or_open_ticket("ventas", CUSTOMERS[1], _opener(CUSTOMERS[1]))
            line.add_interaction(_message(dropped, "w2", 2))
            line.put_campaign(Campaign(id="otra", name="Otra"))  # not held: writes the rest
            line.add_interaction(_message(dropped, "w3", 3))  # written directly now
            raise _LineFailed
        assert outer.get_campaign("otra") is None
        assert [t.number for t in outer.list_tickets()] == [kept.number]
        assert outer.find_interaction("w1") is not None
        assert outer.find_interaction("w2") is None and outer.find_interaction("w3") is None
        outer.commit()
    assert _rows(tmp_path / "a.db", "SELECT external_id FROM interactions") == [("w1",)]
    store.close()


def test_T9_an_external_id_held_in_the_batch_is_refused_again(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    with store.unit_of_work() as outer:
        with store.unit_of_work() as line:
            ticket, _ = line.get_or_open_ticket("ventas", CUSTOMERS[0], _opener(CUSTOMERS[0]))
            line.add_interaction(_message(ticket, "w1", 1))
            line.commit()
        with store.unit_of_work() as line:
            held = line.find_interaction("w1")
            assert held is not None and held.ticket == ticket.number
            with pytest.raises(RuleViolation, match="'w1' is already recorded"):
                line.add_interaction(_message(ticket, "w1", 2))
            with pytest.raises(UnknownTicket, match="expected a stored ticket"):
                line.add_interaction(attrs.evolve(_message(ticket, "w9", 3), ticket=99))
        outer.commit()
    with (
        store.unit_of_work(),
        store.unit_of_work() as line,
        pytest.raises(RuleViolation, match="'w1' is already recorded"),
    ):
        line.add_interaction(_message(ticket, "w1", 4))  # now read from the file
    store.close()


def test_T2_T3_a_batch_closes_and_opens_tickets_of_one_key(tmp_path: Path) -> None:
    """Written as one batch: the closing goes before the opening (the T2 index holds)."""
    store = SqliteStore(tmp_path / "a.db")
    customer = CUSTOMERS[0]
    with store.unit_of_work() as uow:
        first, _ = uow.get_or_open_ticket("ventas", customer, _opener(customer))
        uow.commit()
    with store.unit_of_work() as outer:
        with store.unit_of_work() as line:
            closed = attrs.evolve(first, status=TicketStatus.RESOLVED, closed_at=AT)
            line.update_ticket(closed)
            second, opened = line.get_or_open_ticket("ventas", customer, _opener(customer))
            assert opened and second.number == first.number + 1
            with pytest.raises(RuleViolation, match="a closed ticket never reopens"):
                line.update_ticket(attrs.evolve(closed, status=TicketStatus.OPEN))
            with pytest.raises(RuleViolation, match="cannot change"):
                line.update_ticket(attrs.evolve(second, customer=CUSTOMERS[1]))
            line.commit()
        assert outer.tickets_for_customer(customer) == [closed, second]
        assert outer.open_tickets_for_customer(customer) == [second]
        with store.unit_of_work() as line:  # reads by a scan see what is held too
            linked = attrs.evolve(second, contact="C-1")
            line.update_ticket(linked)
            assert line.tickets_for_contact("ventas", "C-1") == [linked]
            assert line.list_tickets("ventas") == [closed, linked]
            assert line.list_tickets("otra") == []
            line.commit()
        outer.commit()
    assert _rows(
        tmp_path / "a.db", "SELECT number, status, contact FROM tickets ORDER BY number"
    ) == [(first.number, "resolved", None), (second.number, "open", "C-1")]
    store.close()


def _keep_one_line_then(
    store: SqliteStore, write: Callable[[UnitOfWork, Ticket], None], error: str
) -> None:
    """A batch: a good line, then a line whose held write SQLite could never store."""
    with store.unit_of_work() as outer:
        with store.unit_of_work() as line:
            kept, _ = line.get_or_open_ticket("ventas", CUSTOMERS[0], _opener(CUSTOMERS[0]))
            line.add_interaction(_message(kept, "w1", 1))
            line.commit()
        with (
            pytest.raises((StoreError, RuleViolation), match=error),
            store.unit_of_work() as line,
        ):
            write(line, kept)
            line.commit()
        outer.commit()


def _ticket_with_a_lone_surrogate(uow: UnitOfWork, kept: Ticket) -> None:
    uow.update_ticket(attrs.evolve(kept, contact="C-\ud800"))


def _opened_with_a_lone_surrogate(uow: UnitOfWork, kept: Ticket) -> None:
    def opener(number: int) -> Ticket:
        return attrs.evolve(_opener(CUSTOMERS[1])(number), alias="x\udfff")

    uow.get_or_open_ticket("ventas", CUSTOMERS[1], opener)


def _inbound_on_a_lone_surrogate(uow: UnitOfWork, kept: Ticket) -> None:
    uow.note_inbound("wa\ud800", CUSTOMERS[0], AT)


def _opened_in_no_campaign(uow: UnitOfWork, kept: Ticket) -> None:
    """(A caller past the type checks: the column is NOT NULL.)"""

    def opener(number: int) -> Ticket:
        return attrs.evolve(_opener(CUSTOMERS[1])(number), campaign=None)

    uow.get_or_open_ticket(None, CUSTOMERS[1], opener)  # type: ignore[arg-type]


def _typification_past_64_bits(uow: UnitOfWork, kept: Ticket) -> None:
    uow.add_typification(
        Typification(ticket=2**70, campaign="ventas", at=AT, path=("venta",), customer="x")
    )


_CANNOT_HOLD = "a value SQLite cannot hold"


@pytest.mark.parametrize(
    ("write", "error"),
    [
        (_ticket_with_a_lone_surrogate, _CANNOT_HOLD),
        (_opened_with_a_lone_surrogate, _CANNOT_HOLD),
        (_inbound_on_a_lone_surrogate, _CANNOT_HOLD),
        (_typification_past_64_bits, _CANNOT_HOLD),
        (_opened_in_no_campaign, "expected a fresh number"),
    ],
)
def test_E1_E2_a_held_value_sqlite_cannot_store_fails_its_own_unit_not_the_batch(
    tmp_path: Path, write: Callable[[UnitOfWork, Ticket], None], error: str
) -> None:
    """Refused in the unit that wrote it, as a direct write is: before the fix it was
    held, and the outermost commit failed (a bare UnicodeEncodeError or OverflowError, a
    NOT NULL constraint), losing every line of the batch."""
    store = SqliteStore(tmp_path / "a.db")
    _keep_one_line_then(store, write, error)
    assert _rows(tmp_path / "a.db", "SELECT number, customer, contact FROM tickets") == [
        (1, CUSTOMERS[0], None)
    ]
    assert _rows(tmp_path / "a.db", "SELECT external_id FROM interactions") == [("w1",)]
    assert _rows(tmp_path / "a.db", "SELECT count(*) FROM typifications") == [(0,)]
    assert _rows(tmp_path / "a.db", "SELECT count(*) FROM inbound_messages") == [(0,)]
    store.close()


# -- units of any depth, reads logged along the way -------------------------------------------
#
# A wider property than the one above: units nested to any depth, each committed, failed
# or rolled back part-way and then continued; writes the batch path holds mixed with
# writes it does not (comments, campaigns, I4 rewrites) and with reads only SQL answers
# (the service-level bulk read), which write what is held part-way through a unit. Every
# read's answer is logged as it happens, so a read that misses a held row, or sees one
# undone, shows even when the end state agrees.


def _last(uow: UnitOfWork, customer: str) -> Ticket | None:
    tickets = uow.tickets_for_customer(customer, "ventas")
    return tickets[-1] if tickets else None


def _apply_more(uow: UnitOfWork, op: tuple[Any, ...], minute: int, log: list[Any]) -> None:
    kind = op[0]
    if kind in ("message", "close", "typify", "inbound", "other", "fail"):
        _apply(uow, op, minute)
        return
    customer = CUSTOMERS[op[1]] if len(op) > 1 else CUSTOMERS[0]
    if kind == "read":
        found = _last(uow, customer)
        log.append(
            (
                "read",
                list(uow.tickets_for_customer(customer)),
                list(uow.open_tickets_for_customer(customer)),
                uow.get_open_ticket("ventas", customer),
                None if found is None else uow.get_ticket(found.number),
                None if found is None else list(uow.interactions(found.number)),
                list(uow.list_tickets("ventas")),
                list(uow.tickets_for_contact("ventas", "C-1")),
                list(uow.typifications()),
                _iso(uow.last_inbound("wa", customer)),
                _iso(uow.last_inbound("wa", customer, AT + dt.timedelta(minutes=2))),
                [uow.find_interaction(i) for i in ("w1", "w2", "w3", "w4")],
                [(e.seq, e.at) for e in uow.events()],
            )
        )
    elif kind == "event":  # appended events are held too; a unit undone drops its own
        at = AT + dt.timedelta(minutes=minute)
        stored = uow.append_event(
            Event(kind=EventKind.TICKET_RESOLVED, at=at, payload=TicketResolved())
        )
        log.append(("event", stored.seq))
    elif kind == "bulk":  # a read only SQL answers: what is held is written first
        assert isinstance(uow, ServiceLevelReads)
        log.append(
            ("bulk", list(uow.interactions_by_ticket()), list(uow.interactions_by_ticket("ventas")))
        )
    elif kind == "link":
        found = uow.get_open_ticket("ventas", customer)
        if found is not None:
            uow.update_ticket(attrs.evolve(found, contact="C-1"))
    elif kind == "comment":
        found = _last(uow, customer)
        if found is not None:
            stored = uow.add_comment(Comment(ticket=found.number, at=AT, agent="ana", text="n"))
            log.append(("comment", stored.seq))
    elif kind == "rewrite":  # I4: may move an open ticket onto another's key (T2 refuses)
        found = _last(uow, customer)
        if found is not None:
            uow.rewrite_ticket(attrs.evolve(found, customer=CUSTOMERS[op[2]]))
    elif kind == "replace":  # I4: the interactions of a ticket, one for one
        found = _last(uow, customer)
        if found is not None:
            items = uow.interactions(found.number)
            uow.replace_interactions(
                found.number, [attrs.evolve(i, text=f"{i.text}*") for i in items]
            )


_MORE_OPS = st.one_of(
    _OPS,
    st.tuples(st.just("read"), st.integers(0, 2)),
    st.tuples(st.just("bulk")),
    st.tuples(st.just("link"), st.integers(0, 2)),
    st.tuples(st.just("comment"), st.integers(0, 2)),
    st.tuples(st.just("rewrite"), st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.just("replace"), st.integers(0, 2)),
    st.tuples(st.just("event")),
)
# A unit: its steps (writes, reads, units nested in it) and how it ends: "commit",
# "fail" (an exception leaves it), or "rollback" (rolled back part-way, then more steps
# and a commit).
_UNIT = st.recursive(
    st.tuples(st.lists(_MORE_OPS, max_size=4), st.sampled_from(("commit", "fail", "rollback"))),
    lambda inner: st.tuples(
        st.lists(st.one_of(_MORE_OPS, inner), max_size=4),
        st.sampled_from(("commit", "fail", "rollback")),
    ),
    max_leaves=10,
)


def _run_unit(store: Store, unit: tuple[Any, ...], clock: list[int], log: list[Any]) -> None:
    steps, end = unit
    half = len(steps) // 2 if end == "rollback" else len(steps)
    try:
        with store.unit_of_work() as uow:
            for index, step in enumerate(steps):
                if index == half:
                    uow.rollback()
                    log.append(("rolled back",))
                if len(step) == 2 and isinstance(step[0], list):
                    _run_unit(store, step, clock, log)
                else:
                    clock[0] += 1
                    _apply_more(uow, step, clock[0], log)
            if end == "fail":
                raise _LineFailed
            uow.commit()
    except (_LineFailed, RuleViolation, UnknownTicket) as exc:
        log.append(("failed", type(exc).__name__))


@settings(
    max_examples=int(os.environ.get("CCDOMAIN_BATCH_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=st.lists(st.lists(_UNIT, min_size=1, max_size=5), min_size=1, max_size=3))
def test_E2_T2_T3_T5_T9_nested_units_of_any_depth_read_and_leave_what_memory_does(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[Any]]
) -> None:
    """Every read along the way and the end state agree with the in-memory store."""
    logs: list[list[Any]] = []
    states: list[dict[str, Any]] = []
    path = tmp_path_factory.mktemp("units") / "a.db"
    sqlite = SqliteStore(path)
    try:
        for store in (MemoryStore(), sqlite):
            log: list[Any] = []
            clock = [0]
            for units in batches:
                with store.unit_of_work() as outer:
                    for unit in units:
                        _run_unit(store, unit, clock, log)
                    outer.commit()
            logs.append(log)
            state = _state(store)
            with store.unit_of_work() as uow:
                state["comments"] = {
                    t.number: list(uow.comments(t.number)) for t in uow.list_tickets()
                }
            states.append(state)
        assert logs[1] == logs[0]
        assert states[1] == states[0]
    finally:
        sqlite.close()
