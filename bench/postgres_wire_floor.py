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

    python bench/postgres_wire_floor.py [--n 4000] [--customers 400] [--warm 1000]
"""

from __future__ import annotations

import argparse
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
        wall = time.perf_counter() - wall
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
        print(
            f"wire alone: client {1e6 * cpu / count:5.0f} us/op  server "
            f"{1e6 * server_cpu / count:5.0f} us/op  wall {1e6 * wall / count:5.0f} us/op"
        )
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
