"""The SQLite batch write path against the in-memory store, over whole replays (issue 15).

A second review of the batch write path (:mod:`ccdomain.sqlite.overlay`): files from
``bench/make_events.py`` with lines of every other kind mixed in (closes, cancels,
pending and snoozed tickets, typifications, comments, links, merges, agents,
presence, assignments, opt-outs, blocks, anonymizations), redelivered and
conflicting interactions (T9), late ones (T10), and bad lines in the middle of
batches, replayed with ``keep_going`` in small batches on SQLite and on the
in-memory store: the summaries, every listing and the event log must agree (R1,
E2: a bad line leaves nothing of itself, whatever its batch held; T2, T5: the same
tickets and numbers), and a second replay of the same file changes nothing (R4).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import random
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdomain import listings
from ccdomain.memory import MemoryStore
from ccdomain.ports import Store
from ccdomain.replay import ReplaySummary, replay
from ccdomain.sqlite import SqliteStore

BENCH = Path(__file__).resolve().parents[1] / "bench"
AS_OF = dt.date(2026, 11, 20)


def _make_events() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_events", BENCH / "make_events.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE_EVENTS = _make_events()


def _extra(rng: random.Random, event: dict[str, Any], seen: dict[str, list[Any]]) -> Any:
    """A line of another kind, about what the file holds so far (some refused, on purpose)."""
    at = event.get("at", "2026-11-16T08:00:00-05:00")
    campaign, customer = rng.choice(seen["customers"] or [("ventas", "987654321")])
    codes = seen["codes"].get(campaign) or ["40000000"]
    code = rng.choice(codes)
    ticket = rng.randint(1, max(2, seen["tickets"]))
    agent = rng.choice(("ana", "luis", "agente3"))
    kind = rng.randrange(22)
    if kind == 0:
        return {
            "type": "resolve",
            "campaign": campaign,
            "customer": customer,
            "agent": agent,
            "at": at,
        }
    if kind == 1:
        return {"type": "cancel", "ticket": ticket, "agent": agent, "at": at}
    if kind == 2:
        return {"type": "pending", "ticket": ticket, "agent": agent, "at": at}
    if kind == 3:
        until = (dt.datetime.fromisoformat(at) + dt.timedelta(hours=rng.randint(1, 30))).isoformat()
        return {
            "type": "snooze",
            "campaign": campaign,
            "customer": customer,
            "agent": agent,
            "at": at,
            "until": until,
        }
    if kind == 4:
        path = rng.choice(MAKE_EVENTS.TREES[campaign])
        return {
            "type": "typify",
            "campaign": campaign,
            "customer": customer,
            "agent": agent,
            "at": at,
            "path": path,
        }
    if kind == 5:
        return {"type": "comment", "ticket": ticket, "agent": agent, "at": at, "text": "nota"}
    if kind == 6:
        return {
            "type": "link",
            "campaign": campaign,
            "customer": customer,
            "contact": code,
            "agent": agent,
        }
    if kind == 7:
        other = rng.choice(codes)
        return {"type": "merge", "campaign": campaign, "into": code, "from": other, "agent": agent}
    if kind == 8:
        queues = rng.sample(["ventas", "soporte", "cobranzas"], rng.randint(1, 2))
        return {
            "type": "agent",
            "id": agent,
            "name": agent.title(),
            "queues": queues,
            "capacity": {"digital": 2, "voice": 1},
        }
    if kind == 9:
        status = rng.choice(("online", "away", "offline"))
        return {"type": "presence", "agent": agent, "status": status, "at": at}
    if kind == 10:
        return {"type": "assign", "ticket": ticket, "agent": agent, "by": "sup1", "at": at}
    if kind in (11, 12):
        kind_name = "opt_out" if kind == 11 else "opt_in"
        return {
            "type": kind_name,
            "campaign": campaign,
            "customer": customer,
            "channel": rng.choice(("whatsapp", "call")),
            "agent": agent,
            "at": at,
        }
    if kind in (13, 14):
        kind_name = "block" if kind == 13 else "unblock"
        return {
            "type": kind_name,
            "campaign": campaign,
            "customer": customer,
            "agent": agent,
            "at": at,
        }
    if kind == 15 and rng.random() < 0.3:
        return {
            "type": "anonymize",
            "campaign": campaign,
            "contact": code,
            "agent": "dpo",
            "at": at,
        }
    if kind in (16, 17) and seen["interactions"]:  # a redelivery (R4, T9) or a conflicting one
        again = dict(rng.choice(seen["interactions"]))
        if kind == 17:
            again["at"] = at
        return again
    if kind == 18 and seen["interactions"]:  # a late one (T10): closed, then an old time
        late = dict(rng.choice(seen["interactions"]))
        late["id"] = f"late.{rng.randrange(10**6)}"
        close = {"type": "resolve", "campaign": _campaign(late), "customer": late["customer"]}
        return [close | {"agent": agent, "at": at}, late]
    if kind == 19:
        return rng.choice(("{not json", '{"type": "nope"}', "", "[]", '{"type": "interaction"}'))
    if kind == 20:  # an interaction on a line nobody declared (refused)
        return {
            "type": "interaction",
            "id": f"x.{rng.randrange(10**6)}",
            "at": at,
            "channel": "whatsapp",
            "direction": "inbound",
            "line": "wa-nadie",
            "customer": customer,
            "text": "hola",
        }
    return {
        "type": "interaction",
        "id": f"n.{rng.randrange(10**6)}",
        "at": at,
        "channel": "whatsapp",
        "direction": "inbound",
        "line": rng.choice(("wa-ventas", "wa-soporte")),
        "customer": customer,
        "text": "otra vez",
    }


def _campaign(interaction: dict[str, Any]) -> str:
    return str(interaction.get("campaign") or MAKE_EVENTS.LINES[interaction["line"]][2])


def mixed_file(seed: int, n: int, extra: float) -> list[str]:
    """``n`` generated events with about ``extra`` lines of other kinds per event mixed in."""
    rng = random.Random(seed)
    seen: dict[str, Any] = {"customers": [], "codes": {}, "interactions": [], "tickets": 0}
    lines: list[str] = []
    for event in MAKE_EVENTS.events(n, seed):
        lines.append(json.dumps(event, ensure_ascii=False))
        if event["type"] == "line" and event["id"] == "tel-cobranzas":  # the agents, once
            for agent in ("ana", "luis"):
                lines.append(json.dumps(_extra_agent(agent)))
        if event["type"] == "interaction":
            seen["customers"].append((_campaign(event), event["customer"]))
            seen["interactions"].append(event)
            seen["tickets"] += 1
        elif event["type"] == "contact":
            codes = seen["codes"].setdefault(event["campaign"], [])
            codes.append(event["document"]["number"])
        if event["type"] not in ("campaign", "line") and rng.random() < extra:
            added = _extra(rng, event, seen)
            for one in added if isinstance(added, list) else [added]:
                lines.append(one if isinstance(one, str) else json.dumps(one, ensure_ascii=False))
    return lines


def _extra_agent(agent: str) -> dict[str, Any]:
    return {
        "type": "agent",
        "id": agent,
        "name": agent.title(),
        "queues": ["ventas", "soporte", "cobranzas"],
        "capacity": {"digital": 3, "voice": 1},
    }


def _everything(store: Store) -> dict[str, Any]:
    with store.unit_of_work() as uow:
        events = [(e.seq, e.kind, e.at) for e in uow.events()]
        comments = {t.number: list(uow.comments(t.number)) for t in uow.list_tickets()}
        opt_outs = list(uow.opt_outs())
    return {
        "tickets": listings.ticket_rows(store),
        "contacts": listings.contact_rows(store),
        "typifications": listings.typification_rows(store),
        "promises": listings.promise_rows(store, as_of=AS_OF),
        "agents": listings.agent_rows(store),
        "events": events,
        "comments": comments,
        "opt_outs": opt_outs,
    }


def _counts(summary: ReplaySummary) -> Any:
    return summary.lines_report(), [str(bad) for bad in summary.bad_lines]


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 10**6),
    batch=st.sampled_from((1, 2, 3, 7, 16, 1000)),
    again=st.sampled_from((1, 5, 1000)),
)
def test_E2_R1_R4_T2_T5_T9_T10_mixed_replays_leave_on_sqlite_what_memory_leaves(
    tmp_path_factory: pytest.TempPathFactory, seed: int, batch: int, again: int
) -> None:
    lines = mixed_file(seed, 220, 0.35)
    memory = MemoryStore()
    expected = replay(memory, lines, keep_going=True)
    assert expected.bad_lines  # the bad lines in the middle of batches are exercised
    path = tmp_path_factory.mktemp("mixed") / "a.db"
    sqlite = SqliteStore(path)
    try:
        got = replay(sqlite, lines, keep_going=True, batch=batch)
        assert _counts(got) == _counts(expected)
        state = _everything(sqlite)
        assert state == _everything(memory)
        # R4: the same file again does on SQLite, in any batch size, what it does in
        # memory (redeliveries already applied; the kinds that are not idempotent, such
        # as typify or presence, applied again alike).
        second = replay(sqlite, lines, keep_going=True, batch=again)
        assert _counts(second) == _counts(replay(memory, lines, keep_going=True))
        assert second.already_applied > 0
        assert _everything(sqlite) == _everything(memory)
    finally:
        sqlite.close()
