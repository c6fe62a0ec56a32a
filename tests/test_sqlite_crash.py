"""A process killed in the middle of a batch leaves whole operations only (E2).

A child process routes a batch of 5,000 interactions, each in its own unit of
work (a ticket, the interaction and its events per operation), and is killed
with SIGKILL part-way. The file must then open, pass ``PRAGMA
integrity_check``, and hold only whole operations: every interaction on a
stored ticket, one "interaction added" event per interaction, ticket counters
matching their interactions. Re-running the whole batch completes it without a
duplicate, because a known external id changes nothing (T9).
"""

from __future__ import annotations

import collections
import datetime as dt
import multiprocessing
import os
import signal
import sys
from pathlib import Path

import pytest

from ccdomain.events import EventKind
from ccdomain.models import Campaign, Channel, Line
from ccdomain.sqlite import SqliteStore
from ccdomain.tickets import RouteOutcome, route_interaction

LIMA = dt.timezone(dt.timedelta(hours=-5))
START = dt.datetime(2026, 11, 20, 8, 0, tzinfo=LIMA)
BATCH = 5000
KILL_AFTER = 800


def operation(i: int) -> dict[str, object]:
    """The i-th operation of the batch: a message of one of 300 customers."""
    return {
        "at": START + dt.timedelta(seconds=i),
        "channel": "whatsapp",
        "direction": "inbound",
        "customer": f"+5190000{i % 300:04d}",
        "line": "wa",
        "external_id": f"op-{i}",
        "text": f"mensaje {i}",
    }


def run_batch(path: str, started: object) -> None:
    """The child: route the batch, telling the parent when it is well under way."""
    store = SqliteStore(path)
    for i in range(BATCH):
        route_interaction(store, **operation(i))  # type: ignore[arg-type]
        if i == KILL_AFTER:
            started.set()  # type: ignore[attr-defined]
    store.close()


def check_whole_operations(store: SqliteStore) -> int:
    """Assert the store holds whole operations only; return how many interactions it holds."""
    assert store.integrity_check() == "ok"
    with store.unit_of_work() as uow:
        tickets = uow.list_tickets()
        events = list(uow.events())
        interactions = [i for t in tickets for i in uow.interactions(t.number)]
        for ticket in tickets:
            assert ticket.interactions == len(uow.interactions(ticket.number)), ticket.number
        kinds = collections.Counter(e.kind for e in events)
        assert kinds[EventKind.INTERACTION_ADDED] == len(interactions)
        assert kinds[EventKind.TICKET_OPENED] == len(tickets)
        ids = [i.external_id for i in interactions]
        assert len(set(ids)) == len(ids)
        # Operations commit in order: what is there is a prefix of the batch.
        assert sorted(ids, key=lambda x: int((x or "op-0")[3:])) == [
            f"op-{i}" for i in range(len(ids))
        ]
        seqs = [e.seq for e in events]
        assert seqs == sorted(set(s for s in seqs if s is not None))
    return len(interactions)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_E2_killed_batch_leaves_whole_operations_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "batch.db"
    store = SqliteStore(path)
    with store.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="ventas", region="PE"))
        uow.put_line(
            Line(id="wa", channel=Channel.WHATSAPP, address="+5117001111", campaign="ventas")
        )
        uow.commit()
    store.close()

    context = multiprocessing.get_context("spawn")
    started = context.Event()
    child = context.Process(target=run_batch, args=(str(path), started))
    child.start()
    assert started.wait(timeout=120), "the batch did not start"
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=30)
    assert child.exitcode == -signal.SIGKILL

    store = SqliteStore(path)
    done = check_whole_operations(store)
    assert KILL_AFTER < done < BATCH

    outcomes = collections.Counter(
        route_interaction(store, **operation(i)).outcome  # type: ignore[arg-type]
        for i in range(BATCH)
    )
    assert outcomes[RouteOutcome.DUPLICATE] == done
    assert check_whole_operations(store) == BATCH
    store.close()
