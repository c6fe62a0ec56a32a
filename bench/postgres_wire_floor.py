"""Benchmark: what one PostgreSQL worker spends on the wire alone, against the whole store.

Routes ``bench/postgres.py``'s workload with one worker through ``PostgresStore.run``,
recording every batch of statements the store sends (``_Wire.send``: the statements'
text, parameter types and values already adapted), then sends the same batches again,
raw, with nothing else (no services, no store logic, no adapting or decoding), to a
second schema brought to the same state. The two runs send the same statements in the
same round trips, so their server CPU is the same; the difference in client CPU is what
the services and the store's own Python cost. The same operations are then routed
through the SQLite store and the memory store (the rules with next to no storage).

It prints microseconds per operation (client and server CPU, wall time) for each:

    store:      the PostgreSQL store, as bench/postgres.py's one worker runs it
    wire alone: the same round trips and statements, sent raw
    sqlite:     the SQLite store
    memory:     the memory store (the services' own cost, about)

so that ``wire alone / sqlite`` (wall) is the floor of the one-worker ratio for the
store's statements and round trips on this machine, before any Python of the store.

Two smaller floors, on the same server and connection, say what any PostgreSQL store
that reads before it writes pays per message, whatever its statements:

    2 round trips: ``BEGIN; SELECT 1`` then ``COMMIT``, and nothing else
    least join:    the least a message that joins an open ticket can send, in plain
                   Python: ``BEGIN`` and the open ticket read ``FOR UPDATE`` (T2), then
                   its interaction, the ticket's new data and one event with ``COMMIT``
                   (4 + 2 statements, 2 round trips, ``json`` for the rows)

Each line ends with its wall time over SQLite's, the one-worker ratio of
``bench/postgres.py`` (target <= 3) that code with that floor could reach at best.

    python bench/postgres_wire_floor.py [--n 4000] [--customers 400] [--warm 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from workload import Workload, load_workload, make_workload, run_workload

from ccdomain.memory import MemoryStore
from ccdomain.ports import Store
from ccdomain.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]


def backend_cpu(pid: int) -> float:
    """User + system CPU seconds of a server process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def each(work: Workload, ops: Any, unit: Callable[[Workload], None]) -> None:
    for op in ops:
        unit(attrs.evolve(work, ops=(op,)))


def committed(store: Store) -> Callable[[Workload], None]:
    """A unit of work per operation, committed (the SQLite and memory stores)."""

    def unit(chunk: Workload) -> None:
        with store.unit_of_work() as uow:
            run_workload(store, chunk)
            uow.commit()

    return unit


def report(name: str, cpu: float, wall: float, count: int) -> None:
    per_op = 1e6 / count
    print(f"{name + ':':11} cpu    {cpu * per_op:5.0f} us/op  wall {wall * per_op:5.0f} us/op")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--warm", type=int, default=1000, help="operations before measuring")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests"))
    from postgres_server import PostgresServer, find_bindir

    from ccdomain.postgres import PostgresStore, connection

    bindir = find_bindir()
    if bindir is None:
        print("no PostgreSQL server binary found")
        return 2
    work = make_workload(args.n, args.customers, 5, 3, 7)
    warm, measured = work.ops[: args.warm], work.ops[args.warm :]
    count = len(measured)
    server = PostgresServer(bindir)
    server.start()
    try:
        stores = {}
        for schema in ("store", "raw"):
            loader = PostgresStore(server.dsn(), schema=schema)
            load_workload(loader, work)
            loader.close()
            store = PostgresStore(server.dsn(), schema=schema, min_size=1, max_size=1)
            each(work, warm, lambda c, s=store: s.run(lambda: run_workload(s, c)))
            stores[schema] = store
        store = stores["store"]
        with store._connection() as conn:
            backend = conn.info.backend_pid
        sent: list[Any] = []
        send = connection._Wire.send

        def recorded(self: Any, sends: Any) -> Any:
            sent.append(list(sends))
            return send(self, sends)

        connection._Wire.send = recorded  # type: ignore[method-assign]
        cpu, server_cpu, wall = time.process_time(), backend_cpu(backend), time.perf_counter()
        each(work, measured, lambda c: store.run(lambda: run_workload(store, c)))
        cpu, server_cpu = time.process_time() - cpu, backend_cpu(backend) - server_cpu
        wall = store_wall = time.perf_counter() - wall
        connection._Wire.send = send  # type: ignore[method-assign]
        print(
            f"store:      client {1e6 * cpu / count:5.0f} us/op  server "
            f"{1e6 * server_cpu / count:5.0f} us/op  wall {1e6 * wall / count:5.0f} us/op  "
            f"({len(sent) / count:.2f} round trips per operation)"
        )
        with stores["raw"]._connection() as conn:
            backend = conn.info.backend_pid
            wire = connection._Wire(conn)
            wire.names = 10**6  # its own statement names beside the store's on this connection
            cpu, server_cpu, wall = time.process_time(), backend_cpu(backend), time.perf_counter()
            for sends in sent:
                wire.send(sends)
            cpu, server_cpu = time.process_time() - cpu, backend_cpu(backend) - server_cpu
            wall = time.perf_counter() - wall
        walls = {"store": store_wall, "wire alone": wall}
        print(
            f"wire alone: client {1e6 * cpu / count:5.0f} us/op  server "
            f"{1e6 * server_cpu / count:5.0f} us/op  wall {1e6 * wall / count:5.0f} us/op"
        )
        with stores["raw"]._connection() as conn:
            floors = least_floors(conn, count)
        for value in stores.values():
            value.close()
    finally:
        server.stop()
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqliteStore(Path(tmp) / "floor.db")
        load_workload(sqlite, work)
        each(work, warm, committed(sqlite))
        cpu, wall = time.process_time(), time.perf_counter()
        each(work, measured, committed(sqlite))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        sqlite.close()
    sqlite_wall = wall
    print(
        f"sqlite:     cpu    {1e6 * cpu / count:5.0f} us/op  wall {1e6 * wall / count:5.0f} us/op"
    )
    memory = MemoryStore()
    load_workload(memory, work)
    each(work, warm, committed(memory))
    cpu, wall = time.process_time(), time.perf_counter()
    each(work, measured, committed(memory))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"memory:     cpu    {1e6 * cpu / count:5.0f} us/op  wall {1e6 * wall / count:5.0f} us/op"
    )
    print("wall / sqlite wall (the best one-worker ratio of bench/postgres.py at that floor):")
    for name, (client, server_cpu, wall) in floors.items():
        print(
            f"{name + ':':14} client {client:5.0f} us/op  server {server_cpu:5.0f} us/op  "
            f"wall {wall:5.0f} us/op"
        )
    for name, wall in walls.items():
        print(f"  {name:12} {wall / sqlite_wall:4.2f}")
    for name, (_, _, wall) in floors.items():
        print(f"  {name:12} {wall * count / 1e6 / sqlite_wall:4.2f}")
    return 0


_LEAST_READ = (
    b"SELECT number, data FROM tickets WHERE campaign = %s AND customer = %s "
    b"AND status = 'open' FOR UPDATE"
)
_LEAST_WRITES = (
    b"INSERT INTO interactions (ticket, external_id, data) VALUES (%s, %s, %s)",
    b"UPDATE tickets SET data = %s WHERE number = %s",
    b"INSERT INTO events (data) VALUES (%s)",
)


def least_floors(conn: Any, count: int) -> dict[str, tuple[float, float, float]]:
    """Client CPU, server CPU and wall time per message (µs) of the two floors."""
    from ccdomain.postgres import connection

    backend = conn.info.backend_pid
    wire = connection._Wire(conn)
    wire.names = 2 * 10**6
    keys = [
        (str(campaign), str(customer))
        for campaign, customer in conn.execute(
            "SELECT campaign, customer FROM tickets WHERE status = 'open' ORDER BY number"
        )
    ]
    conn.commit()
    out = {}

    def measure(name: str, message: Callable[[int], None]) -> None:
        cpu, server_cpu, wall = time.process_time(), backend_cpu(backend), time.perf_counter()
        for index in range(count):
            message(index)
        cpu, server_cpu = time.process_time() - cpu, backend_cpu(backend) - server_cpu
        wall = time.perf_counter() - wall
        out[name] = (1e6 * cpu / count, 1e6 * server_cpu / count, 1e6 * wall / count)

    def two_round_trips(index: int) -> None:
        wire.run([(b"BEGIN", None), (b"SELECT 1", None)])
        wire.run([(b"COMMIT", None)])

    def least_join(index: int) -> None:
        campaign, customer = keys[index % len(keys)]
        _, found = wire.run([(b"BEGIN", None), (_LEAST_READ, (campaign, customer))])
        number, data = found.fetchone() or (None, None)
        if number is None:  # nothing else writes this schema: the keys stay open
            raise AssertionError(f"no open ticket for {campaign}/{customer}")
        ticket = json.loads(data) if isinstance(data, str) else data
        ticket["last_interaction_at"] = f"floor-{index}"
        interaction = {"ticket": number, "text": "hola", "direction": "inbound"}
        event = {"kind": "interaction_added", "ticket": number, "index": index}
        wire.run(
            [
                (_LEAST_WRITES[0], (number, f"floor-{index}", json.dumps(interaction))),
                (_LEAST_WRITES[1], (json.dumps(ticket), number)),
                (_LEAST_WRITES[2], (json.dumps(event),)),
                (b"COMMIT", None),
            ]
        )

    measure("2 round trips", two_round_trips)
    if keys:
        measure("least join", least_join)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
