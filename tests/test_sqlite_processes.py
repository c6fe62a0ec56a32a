"""Several processes routing into one SQLite file keep T2, T5 and T9.

Four processes (spawned, so nothing is shared but the file) deliver the same 600
webhook messages of 100 customers, each in its own order, through the real
routing service, and now and then resolve a customer's open ticket. Whatever
the interleaving, the file ends with at most one open ticket per (campaign,
customer) (T2), ticket numbers handed out in increasing order and never twice
(T5), and every message recorded exactly once (T9).
"""

from __future__ import annotations

import collections
import datetime as dt
import multiprocessing
import random
from pathlib import Path

import attrs

from ccdomain.events import EventKind
from ccdomain.models import Campaign, Channel, Line, TicketStatus
from ccdomain.sqlite import SqliteStore
from ccdomain.tickets import route_interaction

LIMA = dt.timezone(dt.timedelta(hours=-5))
START = dt.datetime(2026, 11, 20, 8, 0, tzinfo=LIMA)
CUSTOMERS = [f"+5190000{k:04d}" for k in range(100)]
MESSAGES = [(f"wamid.{j}", CUSTOMERS[j % 100], START + dt.timedelta(minutes=j)) for j in range(600)]
PROCESSES = 4


def declare(path: Path) -> None:
    """The campaign and line the messages arrive on."""
    store = SqliteStore(path)
    with store.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="ventas", region="PE"))
        uow.put_line(
            Line(id="wa", channel=Channel.WHATSAPP, address="+5117001111", campaign="ventas")
        )
        uow.commit()
    store.close()


def deliver(path: str, seed: int) -> None:
    """One process: every message in its own order, resolving a ticket every 40 messages."""
    store = SqliteStore(path)
    order = list(MESSAGES)
    random.Random(seed).shuffle(order)
    for n, (message_id, customer, at) in enumerate(order, start=1):
        route_interaction(
            store,
            at=at,
            channel="whatsapp",
            direction="inbound",
            customer=customer,
            line="wa",
            external_id=message_id,
            text=f"hola {message_id}",
        )
        if n % 40 == 0:
            with store.unit_of_work() as uow:
                ticket = uow.get_open_ticket("ventas", customer)
                if ticket is not None:
                    closed_at = max(at, ticket.last_activity_at or at)
                    uow.update_ticket(
                        attrs.evolve(
                            ticket,
                            status=TicketStatus.RESOLVED,
                            closed_at=closed_at,
                            closed_by=f"agent-{seed}",
                        )
                    )
                    uow.commit()
    store.close()


def test_T2_T5_T9_four_processes_routing_into_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    declare(path)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=deliver, args=(str(path), seed)) for seed in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES

    store = SqliteStore(path)
    assert store.integrity_check() == "ok"
    with store.unit_of_work() as uow:
        tickets = uow.list_tickets()
        events = list(uow.events())
        # T2: at most one open ticket per (campaign, customer).
        open_per_key = collections.Counter((t.campaign, t.customer) for t in tickets if t.is_open)
        assert open_per_key and max(open_per_key.values()) == 1
        # T5: numbers unique, and handed out in increasing order of opening.
        numbers = [t.number for t in tickets]
        assert len(set(numbers)) == len(numbers)
        opened = [e.ticket for e in events if e.kind is EventKind.TICKET_OPENED]
        assert sorted(opened, key=lambda n: n or 0) == opened
        assert sorted(n for n in opened if n is not None) == numbers
        # T9: every message recorded exactly once, on a ticket of its customer.
        recorded = [i for t in tickets for i in uow.interactions(t.number)]
        assert sorted(i.external_id or "" for i in recorded) == sorted(m for m, _, _ in MESSAGES)
        for message_id, customer, _ in MESSAGES:
            interaction = uow.find_interaction(message_id)
            assert interaction is not None and interaction.customer == customer
        added = [e for e in events if e.kind is EventKind.INTERACTION_ADDED]
        assert len(added) == len(MESSAGES)
        assert sum(t.interactions for t in tickets) == len(MESSAGES)
        # Several tickets were resolved, so customers have had more than one ticket.
        assert len(tickets) > len(CUSTOMERS)
    store.close()
