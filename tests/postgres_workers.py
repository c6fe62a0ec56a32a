"""Worker processes of the PostgreSQL concurrency tests (tests/test_store_postgres_concurrency.py).

Each function runs in a process of its own (multiprocessing, spawn), opens its own
:class:`~ccdomain.postgres.PostgresStore` on the shared database, and reports through
its return value, a queue or its standard output.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import sys
from typing import Any

from ccdomain.models import Campaign, Channel, Line

START = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
CAMPAIGNS = (Campaign(id="ventas", region="PE"), Campaign(id="soporte", region="PE"))
LINES = (
    Line(id="wa-ventas", channel=Channel.WHATSAPP, address="+5117001111", campaign="ventas"),
    Line(id="wa-soporte", channel=Channel.WHATSAPP, address="+5117002222", campaign="soporte"),
)


def interactions(
    customers: int = 200, per_customer: int = 4, seed: int = 16
) -> list[dict[str, Any]]:
    """Inbound WhatsApp messages of ``customers`` customers on two lines, shuffled, with
    redeliveries (about one in eight sent again, as a webhook provider does)."""
    rnd = random.Random(seed)
    sent: list[dict[str, Any]] = []
    for c in range(customers):
        for k in range(per_customer):
            line = LINES[(c + k) % 2]
            sent.append(
                {
                    "at": (START + dt.timedelta(minutes=k, seconds=c)).isoformat(),
                    "channel": "whatsapp",
                    "direction": "inbound",
                    "line": line.id,
                    "customer": f"9{c:08d}",
                    "external_id": f"wamid.{c}.{k}",
                    "text": f"mensaje {k}",
                }
            )
    rnd.shuffle(sent)
    again = [dict(m) for m in rnd.sample(sent, len(sent) // 8)]
    for message in again:  # each redelivery somewhere after its first delivery
        where = rnd.randrange(sent.index(message), len(sent))
        sent.insert(where + 1, message)
    return sent


def event_lines(messages: list[dict[str, Any]]) -> list[str]:
    """The same as the lines of an event file (docs/events.md)."""
    lines = [json.dumps({"type": "campaign", "id": c.id, "region": c.region}) for c in CAMPAIGNS]
    lines += [
        json.dumps(
            {
                "type": "line",
                "id": ln.id,
                "channel": ln.channel.value,
                "address": ln.address,
                "campaign": ln.campaign,
            }
        )
        for ln in LINES
    ]
    for m in messages:
        line = {"type": "interaction", "id": m["external_id"], **m}
        del line["external_id"]
        lines.append(json.dumps(line))
    return lines


def declare(dsn: str, schema: str) -> None:
    """Declare the campaigns and lines (once, before the workers start)."""
    from ccdomain.postgres import PostgresStore

    store = PostgresStore(dsn, schema=schema)
    with store.unit_of_work() as uow:
        for campaign in CAMPAIGNS:
            uow.put_campaign(campaign)
        for line in LINES:
            uow.put_line(line)
        uow.commit()
    store.close()


def route_all(dsn: str, schema: str, messages: list[dict[str, Any]], start: Any) -> dict[str, int]:
    """Route each message in its own retried unit of work (a webhook worker); outcomes."""
    from ccdomain.postgres import PostgresStore
    from ccdomain.tickets import route_interaction

    store = PostgresStore(dsn, schema=schema, max_size=2)
    counts: dict[str, int] = {}
    if start is not None:
        start.wait(timeout=60)
    try:
        for message in messages:
            fields = dict(message, at=dt.datetime.fromisoformat(message["at"]))
            result = store.run(lambda fields=fields: route_interaction(store, **fields))
            outcome = result.outcome.value
            counts[outcome] = counts.get(outcome, 0) + 1
    finally:
        store.close()
    return counts


def replay_file(dsn: str, schema: str, path: str, start: Any, batch: int) -> dict[str, int]:
    """Replay an event file; run again when it stopped at a lost race (R4 makes it safe)."""
    from ccdomain.postgres import PostgresStore, TransactionConflict
    from ccdomain.replay import ReplayStopped, replay

    store = PostgresStore(dsn, schema=schema, max_size=2)
    if start is not None:
        start.wait(timeout=60)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        for attempt in range(1, 11):
            try:
                summary = replay(store, lines, batch=batch)
            except ReplayStopped as exc:
                if not isinstance(exc.cause, TransactionConflict):
                    raise
                continue
            return {
                "attempts": attempt,
                "applied": summary.applied,
                "already_applied": summary.already_applied,
                "bad": len(summary.bad_lines),
            }
        raise RuntimeError("the replay lost a race 10 times in a row")
    finally:
        store.close()


def batches_until_killed(dsn: str, schema: str, messages: list[dict[str, Any]], batch: int) -> None:
    """Route messages ``batch`` per transaction, printing the count committed after each
    commit: the parent kills this process (SIGKILL) at some point."""
    from ccdomain.postgres import PostgresStore
    from ccdomain.tickets import route_interaction

    store = PostgresStore(dsn, schema=schema, max_size=1)
    for start in range(0, len(messages), batch):
        with store.unit_of_work() as uow:
            for message in messages[start : start + batch]:
                route_interaction(
                    store, **dict(message, at=dt.datetime.fromisoformat(message["at"]))
                )
            uow.commit()
        print(start + batch, flush=True)
    sys.stdout.write("done\n")


QUEUE_LINES = (
    Line(
        id="wa-q1",
        channel=Channel.WHATSAPP,
        address="+5117003333",
        campaign="ventas",
        queue="q1",
    ),
    Line(
        id="wa-q2",
        channel=Channel.WHATSAPP,
        address="+5117004444",
        campaign="soporte",
        queue="q2",
    ),
)
# Small capacities, so most tickets wait and every closing serves the line (A2, A3).
AGENTS = (("ana", ("q1", "q2"), 2), ("luis", ("q1",), 1), ("rosa", ("q2",), 1))


def declare_agents(dsn: str, schema: str) -> None:
    """Campaigns, queued lines and three online agents of small capacity (before the workers)."""
    from ccdomain.assignment import declare_agent, make_agent, set_presence
    from ccdomain.postgres import PostgresStore

    store = PostgresStore(dsn, schema=schema)
    try:
        with store.unit_of_work() as uow:
            for campaign in CAMPAIGNS:
                uow.put_campaign(campaign)
            for line in QUEUE_LINES:
                uow.put_line(line)
            uow.commit()
        for name, queues, digital in AGENTS:
            profile = make_agent(name, queues=list(queues), capacity={"digital": digital})
            declare_agent(store, profile=profile, at=START)
            set_presence(store, agent=name, status="online", at=START)
    finally:
        store.close()


def route_and_close(dsn: str, schema: str, worker: int, count: int, start: Any) -> int:
    """Route ``count`` new customers into the queues, resolving every third ticket and
    (worker 0) taking an agent away and back; each call its own retried unit of work.
    Returns the number of calls made."""
    from ccdomain.assignment import set_presence
    from ccdomain.errors import CcdomainError
    from ccdomain.postgres import PostgresStore
    from ccdomain.tickets import resolve_ticket, route_interaction

    store = PostgresStore(dsn, schema=schema, max_size=2)
    calls = 0
    if start is not None:
        start.wait(timeout=60)
    try:
        for i in range(count):
            at = START + dt.timedelta(minutes=i + 1, seconds=worker)
            line = QUEUE_LINES[(worker + i) % 2]
            fields = {
                "at": at,
                "channel": "whatsapp",
                "direction": "inbound",
                "customer": f"+519{worker:02d}{i:06d}",
                "line": line.id,
                "external_id": f"q-{worker}-{i}",
                "text": "hola",
            }
            store.run(lambda fields=fields: route_interaction(store, **fields))
            calls += 1
            if i % 2 == 1:  # an agent resolves one of the tickets held (freeing a place)
                with store.unit_of_work() as uow:
                    held = [t.number for t in uow.list_tickets() if t.is_open and t.assignee]
                if held:
                    number = held[(worker * 7 + i) % len(held)]
                    with contextlib.suppress(CcdomainError):  # another worker closed it first
                        store.run(
                            lambda n=number, at=at: resolve_ticket(
                                store, number=n, agent="sup", at=at
                            )
                        )
                    calls += 1
            if worker == 0 and i % 4 == 1:
                status = "away" if i % 8 == 1 else "online"
                store.run(
                    lambda s=status, at=at: set_presence(store, agent="luis", status=s, at=at)
                )
                calls += 1
    finally:
        store.close()
    return calls
