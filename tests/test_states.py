"""Ticket states: pending, snoozed, auto-resolve (P1-P7), through the API and the command."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccdomain.cli import main
from ccdomain.errors import RuleViolation, TicketClosed
from ccdomain.events import EventKind
from ccdomain.listings import ticket_rows
from ccdomain.memory import MemoryStore
from ccdomain.models import Direction, Ticket, TicketStatus
from ccdomain.ports import Store
from ccdomain.replay import apply_event, replay
from ccdomain.rules.states import OPEN_STATES, SYSTEM, auto_resolve_at, paused, ticket_as_of
from ccdomain.rules.tickets import rebuild_tickets
from ccdomain.sqlite import SqliteStore
from ccdomain.tickets import (
    mark_pending,
    resolve_ticket,
    route_interaction,
    snooze_ticket,
    sweep_auto_resolve,
)

T0 = dt.datetime(2026, 11, 20, 10, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
CUSTOMER = "+51987654321"


def _at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _events(auto_resolve_h: int | None = None) -> list[dict[str, Any]]:
    campaign: dict[str, Any] = {"type": "campaign", "id": "ventas", "region": "PE"}
    if auto_resolve_h is not None:
        campaign["auto_resolve_after_h"] = auto_resolve_h
    return [
        campaign,
        {
            "type": "line",
            "id": "wa",
            "channel": "whatsapp",
            "address": "+51 1 7001111",
            "campaign": "ventas",
            "queue": "ventas-general",
        },
    ]


def _message(n: int, minutes: float, direction: str = "inbound") -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "interaction",
        "id": f"m{n}",
        "at": _at(minutes).isoformat(),
        "channel": "whatsapp",
        "direction": direction,
        "line": "wa",
        "customer": "987654321",
        "text": f"mensaje {n}",
    }
    if direction == "outbound":
        event |= {"campaign": "ventas", "agent": "ana"}
    return event


def _store(*events: dict[str, Any], auto_resolve_h: int | None = None) -> MemoryStore:
    store = MemoryStore()
    for event in [*_events(auto_resolve_h), *events]:
        apply_event(store, event)
    return store


def _inbound(store: Store, minutes: float, n: int) -> Ticket:
    return route_interaction(
        store,
        at=_at(minutes),
        channel="whatsapp",
        direction="inbound",
        customer="987654321",
        line="wa",
        external_id=f"api-{n}",
        text="hola",
    ).ticket


def _outbound(store: Store, minutes: float, n: int) -> Ticket:
    return route_interaction(
        store,
        at=_at(minutes),
        channel="whatsapp",
        direction="outbound",
        customer="987654321",
        line="wa",
        campaign="ventas",
        external_id=f"api-{n}",
        agent="ana",
        text="¿sigue ahí?",
    ).ticket


# --- P1 pending ----------------------------------------------------------------------------


def test_P1_a_pending_ticket_stays_the_open_ticket_of_its_key_and_an_outbound_keeps_it() -> None:
    store = _store(_message(1, 0))
    marked = mark_pending(store, number=1, agent="ana", at=_at(5))
    assert marked.status is TicketStatus.PENDING and marked.is_open
    after = _outbound(store, 10, 2)
    assert (after.number, after.status) == (1, TicketStatus.PENDING)
    with store.unit_of_work() as uow:
        assert uow.get_open_ticket("ventas", CUSTOMER) == after  # T2: still the key's ticket


def test_P1_the_customers_next_inbound_makes_a_pending_ticket_open_again() -> None:
    store = _store(_message(1, 0))
    mark_pending(store, campaign="ventas", customer="987654321", agent="ana", at=_at(5))
    woken = _inbound(store, 30, 2)
    assert (woken.number, woken.status) == (1, TicketStatus.OPEN)


def test_P7_an_inbound_from_before_the_mark_delivered_late_does_not_wake_it() -> None:
    store = _store(_message(1, 0))
    mark_pending(store, number=1, agent="ana", at=_at(10))
    late = _inbound(store, 5, 2)
    assert (late.number, late.status) == (1, TicketStatus.PENDING)


def test_P6_pending_is_refused_on_a_closed_ticket_and_before_the_ticket_opened() -> None:
    store = _store(_message(1, 10))
    with pytest.raises(RuleViolation, match="before it opened"):
        mark_pending(store, number=1, agent="ana", at=_at(0))
    resolve_ticket(store, number=1, agent="ana", at=_at(20))
    with pytest.raises(TicketClosed, match="already resolved"):
        mark_pending(store, number=1, agent="ana", at=_at(30))


def test_P1_through_the_command_pending_then_inbound(tmp_path: Path) -> None:
    events = [
        *_events(),
        _message(1, 0),
        {"type": "pending", "ticket": 1, "agent": "ana", "at": _at(5).isoformat()},
    ]
    db = _replayed(tmp_path, events)
    assert [r["status"] for r in _listing(db, "tickets")] == ["pending"]
    db = _replayed(tmp_path, [*events, _message(2, 60)])
    assert [r["status"] for r in _listing(db, "tickets")] == ["open"]


# --- P2 snooze -----------------------------------------------------------------------------


def test_P2_a_snoozed_ticket_woken_by_an_inbound_before_until() -> None:
    store = _store(_message(1, 0))
    snoozed = snooze_ticket(store, number=1, until=_at(24 * 60), agent="ana", at=_at(5))
    assert snoozed.status is TicketStatus.SNOOZED and snoozed.snoozed_until == _at(24 * 60)
    woken = _inbound(store, 60, 2)
    assert (woken.number, woken.status, woken.snoozed_until) == (1, TicketStatus.OPEN, None)


def test_P2_a_snoozed_ticket_reads_open_as_of_until_and_snoozed_before() -> None:
    store = _store(_message(1, 0))
    snoozed = snooze_ticket(store, number=1, until=_at(120), agent="ana", at=_at(5))
    assert ticket_as_of(snoozed, None, _at(119)).status is TicketStatus.SNOOZED
    assert ticket_as_of(snoozed, None, _at(120)).status is TicketStatus.OPEN
    rows = ticket_rows(store, as_of=_at(121))
    assert rows[0]["status"] == "open"
    assert ticket_rows(store, as_of=_at(60))[0]["status"] == "snoozed"


def test_P6_a_snooze_until_not_after_its_time_is_refused() -> None:
    store = _store(_message(1, 0))
    with pytest.raises(RuleViolation, match="is not after"):
        snooze_ticket(store, number=1, until=_at(5), agent="ana", at=_at(5))
    with store.unit_of_work() as uow:
        assert uow.get_ticket(1).status is TicketStatus.OPEN  # type: ignore[union-attr]


def test_P2_through_the_command_snooze_woken_by_an_inbound_before_until(tmp_path: Path) -> None:
    snooze = {
        "type": "snooze",
        "campaign": "ventas",
        "customer": "987654321",
        "agent": "ana",
        "at": _at(5).isoformat(),
        "until": _at(24 * 60).isoformat(),
    }
    db = _replayed(tmp_path, [*_events(), _message(1, 0), snooze])
    assert [r["status"] for r in _listing(db, "tickets", "--as-of", _at(60).isoformat())] == [
        "snoozed"
    ]
    db = _replayed(tmp_path, [*_events(), _message(1, 0), snooze, _message(2, 60)])
    rows = _listing(db, "tickets")
    assert [(r["number"], r["status"], r["interactions"]) for r in rows] == [(1, "open", 2)]


# --- P3 auto-resolve -------------------------------------------------------------------------


def test_P3_a_message_after_the_window_opens_a_new_ticket_old_resolved_at_last_plus_h() -> None:
    store = _store(_message(1, 0), _message(2, 30), auto_resolve_h=24)
    new = _inbound(store, 30 + 24 * 60 + 1, 3)
    assert new.number == 2 and new.status is TicketStatus.OPEN
    with store.unit_of_work() as uow:
        old = uow.get_ticket(1)
        events = [e for e in uow.events() if e.kind is EventKind.TICKET_RESOLVED]
    assert old is not None and old.status is TicketStatus.RESOLVED
    assert old.closed_at == _at(30 + 24 * 60) and old.closed_by == SYSTEM
    assert [(e.ticket, e.actor, e.at) for e in events] == [(1, SYSTEM, _at(30 + 24 * 60))]


def test_P3_T6_a_ticket_due_for_auto_resolve_no_longer_draws_inbound_to_its_campaign() -> None:
    store = _store(auto_resolve_h=1)
    apply_event(store, {"type": "campaign", "id": "soporte", "region": "PE",
                        "auto_resolve_after_h": 1})  # fmt: skip
    apply_event(store, _message(1, 0) | {"campaign": "soporte"})  # a Soporte ticket on wa
    assert _inbound(store, 30, 2).campaign == "soporte"  # T6: its open ticket draws it
    assert _inbound(store, 200, 3).campaign == "ventas"  # due since 90: the line's default


def test_P5_an_interaction_exactly_h_hours_after_the_last_one_still_joins() -> None:
    store = _store(_message(1, 0), auto_resolve_h=2)
    assert _inbound(store, 120, 2).number == 1


def test_P3_pending_and_snoozed_tickets_are_auto_resolved_too() -> None:
    store = _store(_message(1, 0), auto_resolve_h=1)
    snooze_ticket(store, number=1, until=_at(600), agent="ana", at=_at(5))
    assert _inbound(store, 61, 2).number == 2
    with store.unit_of_work() as uow:
        assert uow.get_ticket(1).status is TicketStatus.RESOLVED  # type: ignore[union-attr]


def test_P3_a_closing_after_the_window_is_refused_the_ticket_resolved_then() -> None:
    store = _store(_message(1, 0), auto_resolve_h=1)
    with pytest.raises(TicketClosed):
        resolve_ticket(store, number=1, agent="ana", at=_at(90))
    with store.unit_of_work() as uow:  # E2: the refused closing wrote nothing
        assert uow.get_ticket(1).status is TicketStatus.OPEN  # type: ignore[union-attr]


def test_P3_listings_as_of_an_instant_show_due_tickets_resolved() -> None:
    store = _store(_message(1, 0), auto_resolve_h=1)
    assert ticket_rows(store, as_of=_at(30))[0]["status"] == "open"
    row = ticket_rows(store, as_of=_at(61))[0]
    assert (row["status"], row["closed_by"], row["closed_at"]) == (
        "resolved",
        SYSTEM,
        _at(60).isoformat(),
    )


def test_P3_sweep_writes_the_due_resolutions_once() -> None:
    store = _store(_message(1, 0), auto_resolve_h=1)
    assert sweep_auto_resolve(store, as_of=_at(59)) == ()
    (done,) = sweep_auto_resolve(store, as_of=_at(61))
    assert (done.number, done.status, done.closed_at) == (1, TicketStatus.RESOLVED, _at(60))
    assert sweep_auto_resolve(store, as_of=_at(61)) == ()


def test_P3_through_the_command_replay_sweep_and_listing(tmp_path: Path) -> None:
    events = [*_events(auto_resolve_h=24), _message(1, 0), _message(2, 30)]
    db = _replayed(tmp_path, [*events, _message(3, 30 + 24 * 60 + 1)])
    rows = _listing(db, "tickets")
    assert [(r["number"], r["status"], r["closed_by"]) for r in rows] == [
        (1, "resolved", SYSTEM),
        (2, "open", None),
    ]
    assert rows[0]["closed_at"] == _at(30 + 24 * 60).isoformat()
    code, out, err = _call("sweep", "--db", str(db), "--as-of", _at(5 * 24 * 60).isoformat())
    assert code == 0, err
    assert "tickets auto-resolved: 1" in out
    code, out, _ = _call("sweep", "--db", str(db), "--as-of", _at(5 * 24 * 60).isoformat())
    assert "tickets auto-resolved: 0" in out


def test_P3_replaying_twice_stays_idempotent(tmp_path: Path) -> None:
    events = [
        *_events(auto_resolve_h=1),
        _message(1, 0),
        {"type": "pending", "ticket": 1, "agent": "ana", "at": _at(5).isoformat()},
        _message(2, 30),
        _message(3, 200),
        {
            "type": "snooze",
            "ticket": 2,
            "agent": "ana",
            "at": _at(210).isoformat(),
            "until": _at(230).isoformat(),
        },
        _message(4, 220),
    ]
    db = _replayed(tmp_path, events)
    first = _listing(db, "tickets")
    assert _event_count(db) > 0
    log = _event_count(db)
    db = _replayed(tmp_path, events)
    assert _listing(db, "tickets") == first
    assert _event_count(db) == log


def test_P3_the_rebuild_from_events_equals_the_store() -> None:
    store = _store(
        _message(1, 0),
        {"type": "pending", "ticket": 1, "agent": "ana", "at": _at(5).isoformat()},
        _message(2, 30),
        {
            "type": "snooze",
            "ticket": 1,
            "agent": "ana",
            "at": _at(40).isoformat(),
            "until": _at(50).isoformat(),
        },
        _message(3, 200),
        auto_resolve_h=1,
    )
    with store.unit_of_work() as uow:
        assert rebuild_tickets(uow.events()) == list(uow.list_tickets())


def test_P3_auto_resolve_at_is_last_interaction_plus_h_and_none_without_a_policy() -> None:
    store = _store(_message(1, 0), _message(2, 30), auto_resolve_h=3)
    with store.unit_of_work() as uow:
        ticket, campaign = uow.get_ticket(1), uow.get_campaign("ventas")
    assert ticket is not None and campaign is not None
    assert auto_resolve_at(ticket, campaign) == _at(30 + 180)
    assert auto_resolve_at(ticket, attrs_evolve(campaign, auto_resolve_after_h=None)) is None


# --- P4 statuses ---------------------------------------------------------------------------


def test_P4_pending_and_snoozed_count_as_open_resolved_typified_cancelled_do_not() -> None:
    assert {TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.SNOOZED} == OPEN_STATES
    for status in TicketStatus:
        ticket = Ticket(
            number=1,
            campaign="c",
            customer=CUSTOMER,
            origin=Direction.INBOUND,
            opened_at=T0,
            status=status,
        )
        assert ticket.is_open is (status in OPEN_STATES)


@pytest.mark.parametrize("engine", ["sqlite", "memory"])
def test_P4_T2_a_pending_ticket_blocks_a_second_open_ticket_in_both_stores(
    engine: str, tmp_path: Path
) -> None:
    store: Store = SqliteStore(tmp_path / "t.sqlite") if engine == "sqlite" else MemoryStore()
    for event in [*_events(), _message(1, 0)]:
        apply_event(store, event)
    mark_pending(store, number=1, agent="ana", at=_at(5))
    assert _inbound(store, 10, 2).number == 1
    with store.unit_of_work() as uow:
        assert [t.number for t in uow.open_tickets_for_customer(CUSTOMER)] == [1]
        assert [t.number for t in uow.tickets_for_customer(CUSTOMER)] == [1]


_STEP = st.sampled_from(["in", "out", "pending", "snooze", "resolve"])


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.tuples(_STEP, st.integers(1, 180)), max_size=12))
def test_P4_at_most_one_open_ticket_per_key_and_replaying_twice_changes_nothing(
    steps: list[tuple[str, int]],
) -> None:
    events: list[dict[str, Any]] = [*_events(auto_resolve_h=2)]
    minutes = 0
    for n, (step, gap) in enumerate(steps, start=1):
        minutes += gap
        at = _at(minutes).isoformat()
        if step in ("in", "out"):
            events.append(_message(n, minutes, "inbound" if step == "in" else "outbound"))
        elif step == "pending":
            events.append({"type": "pending", "campaign": "ventas", "customer": "987654321",
                           "agent": "ana", "at": at})  # fmt: skip
        elif step == "snooze":
            until = _at(minutes + 30).isoformat()
            events.append({"type": "snooze", "campaign": "ventas", "customer": "987654321",
                           "agent": "ana", "at": at, "until": until})  # fmt: skip
        else:
            events.append({"type": "resolve", "campaign": "ventas", "customer": "987654321",
                           "agent": "ana", "at": at})  # fmt: skip
    lines = [json.dumps(e) for e in events]
    store = MemoryStore()
    first = replay(store, lines, keep_going=True)
    with store.unit_of_work() as uow:
        tickets = list(uow.list_tickets())
        log = len(list(uow.events()))
    assert sum(1 for t in tickets if t.is_open) <= 1
    replay(store, lines, keep_going=True)
    with store.unit_of_work() as uow:
        if not first.bad_lines:  # a bad line may become good the second time (R4)
            assert list(uow.list_tickets()) == tickets
            assert len(list(uow.events())) == log
        tickets, log = list(uow.list_tickets()), len(list(uow.events()))
        assert sum(1 for t in tickets if t.is_open) <= 1
    replay(store, lines, keep_going=True)
    with store.unit_of_work() as uow:
        assert list(uow.list_tickets()) == tickets
        assert len(list(uow.events())) == log


def test_P6_paused_refuses_a_closed_ticket() -> None:
    ticket = Ticket(
        number=1,
        campaign="c",
        customer=CUSTOMER,
        origin=Direction.INBOUND,
        opened_at=T0,
        status=TicketStatus.TYPIFIED,
    )
    with pytest.raises(TicketClosed):
        paused(ticket, _at(1))


# --- helpers -------------------------------------------------------------------------------


def attrs_evolve(campaign: Any, **changes: Any) -> Any:
    import attrs

    return attrs.evolve(campaign, **changes)


def _call(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _replayed(tmp_path: Path, events: list[dict[str, Any]]) -> Path:
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(json.dumps(e) for e in events) + "\n", encoding="utf-8")
    db = tmp_path / "cc.sqlite"
    code, _, err = _call("replay", str(source), "--db", str(db))
    assert code == 0, err
    return db


def _event_count(db: Path) -> int:
    store = SqliteStore(db)
    try:
        with store.unit_of_work() as uow:
            return sum(1 for _ in uow.events())
    finally:
        store.close()


def _listing(db: Path, name: str, *more: str) -> list[dict[str, Any]]:
    code, out, err = _call(name, "--db", str(db), "--format", "json", *more)
    assert code == 0, err
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def test_P1_R4_a_mark_by_campaign_and_customer_replays_on_the_ticket_it_marked() -> None:
    # On a second replay the key's open ticket is a later one, opened after the mark:
    # the mark was made on the earlier ticket and is found there (it was refused, T16).
    key = {"campaign": "ventas", "customer": "987654321", "agent": "ana"}
    lines = [json.dumps(e) for e in (
        *_events(), _message(1, 0),
        {"type": "pending", **key, "at": _at(5).isoformat()},
        {"type": "resolve", **key, "at": _at(10).isoformat()},
        _message(2, 20),
    )]  # fmt: skip
    store = MemoryStore()
    first = replay(store, lines)
    again = replay(store, lines)
    assert first.bad_lines == () and again.bad_lines == ()
    assert again.already_applied == len(lines)
    assert [(t.number, t.status.value) for t in store.unit_of_work().list_tickets()] == [
        (1, "resolved"),
        (2, "open"),
    ]
