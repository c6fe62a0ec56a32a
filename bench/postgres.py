"""Benchmark: the PostgreSQL store with 1, 2 and 4 worker processes against SQLite with one.

Routes the workload of ``bench/store.py`` (``bench/workload.py``; default here 20,000
operations over 2,000 customers, 5 campaigns, 3 lines: the PostgreSQL runs take a round
trip per statement) through a SQLite file with one process, then through one PostgreSQL
database with 1, 2 and 4 worker processes, in the same run, and prints interactions per
second and the ratios. Targets: one PostgreSQL worker within 3x of SQLite (ratio SQLite
rate / PostgreSQL rate <= 3); 4 workers at least 1.6x one worker.

Each PostgreSQL run also prints the round trips to the server per operation (a statement
sent alone, or a pipeline of them) and the median round trip of ``SELECT 1`` measured
just before it: a worker waits for the server once per round trip, so ``1 / (round trips
x round trip time)`` bounds its rate whatever its CPU. It prints the CPU seconds of the
workers and of their server processes (each worker's one connection's backend, read from
``/proc``: 0 for a server on another machine), and for one worker the CPU per operation
next to SQLite's: one worker and its backend take turns, so on an idle machine its wall
time is about their CPU added up, and the CPU ratio is what the wall ratio comes to there.

The workers share the work by customer (every operation of a customer goes to the same
worker, in the workload's order), so each run ends with the same tickets but their
numbers, which the end check compares. Every store commits each operation on its own
(``--batch 1``, the way webhook workers do: a transaction per message) unless told
otherwise; PostgreSQL units of work go through ``PostgresStore.run``, which runs one
again when it lost a race. Without ``--dsn`` a throwaway server is started in a
temporary folder (tests/postgres_server.py: ``fsync=off``, unix socket), on the same
machine, sharing its cores with the workers.

``--repeat K`` runs the whole comparison K times in turn (SQLite, then each worker count,
each PostgreSQL run in a new schema) and ends with each ratio of every round and their
median: on a shared machine one round's ratios move by a quarter from run to run.

    python bench/postgres.py [--n 20000] [--customers 2000] [--batch 1] [--dsn DSN] [--repeat 1]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
from workload import Workload, load_workload, make_workload, run_workload

from ccdomain import phones
from ccdomain.ports import Store
from ccdomain.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]


def _customer(op: Any) -> str:
    return re.sub(r"\D", "", str(op.fields["customer"]))[-9:]


def share(work: Workload, worker: int, workers: int) -> Workload:
    """The operations of the customers that fall to ``worker`` of ``workers``, in order.

    A repeated external id (the workload repeats ids of other customers' messages too)
    goes with the message that first used it, so every run sees the same duplicates.
    """
    owner: dict[str, str] = {}
    ops = []
    for op in work.ops:
        customer = _customer(op)
        external_id = op.fields.get("external_id")
        if external_id is not None:
            customer = owner.setdefault(external_id, customer)
        if int(customer) % workers == worker:
            ops.append(op)
    return attrs.evolve(work, ops=tuple(ops))


def run_batches(store: Store, work: Workload, batch: int, retry: Any = None) -> dict[str, int]:
    """Apply the operations, ``batch`` per transaction (through ``retry`` when given)."""
    counts: dict[str, int] = {}
    for start in range(0, len(work.ops), max(batch, 1)):
        chunk = attrs.evolve(work, ops=work.ops[start : start + max(batch, 1)])
        if retry is not None:
            done = retry(lambda chunk=chunk: run_workload(store, chunk))
        else:
            with store.unit_of_work() as uow:
                done = run_workload(store, chunk)
                uow.commit()
        for key, count in done.items():
            counts[key] = counts.get(key, 0) + count
    return counts


def worker(
    args: argparse.Namespace, dsn: str, index: int, workers: int, start: Any, schema: str
) -> Any:
    """One PostgreSQL worker process: its share of the workload; (outcomes, CPU seconds)."""
    from ccdomain.postgres import PostgresStore

    work = share(
        make_workload(args.n, args.customers, args.campaigns, args.lines, args.seed),
        index,
        workers,
    )
    import psycopg

    # Round trips: a statement sent alone, or a pipeline of them (psycopg's pipeline mode).
    statements = [0]
    execute, executemany = psycopg.Connection.execute, psycopg.Cursor.executemany
    pipeline = psycopg.Connection.pipeline

    def counted(self: Any, *a: Any, **k: Any) -> Any:
        if getattr(self, "_pipeline", None) is None:
            statements[0] += 1
        return execute(self, *a, **k)

    def counted_many(self: Any, *a: Any, **k: Any) -> Any:
        if getattr(self.connection, "_pipeline", None) is None:
            statements[0] += 1
        return executemany(self, *a, **k)

    def counted_pipeline(self: Any, *a: Any, **k: Any) -> Any:
        statements[0] += 1
        return pipeline(self, *a, **k)

    psycopg.Connection.execute = counted  # type: ignore[method-assign]
    psycopg.Cursor.executemany = counted_many  # type: ignore[method-assign]
    psycopg.Connection.pipeline = counted_pipeline  # type: ignore[method-assign]
    # The store sends most statements through its own pipeline (one round trip each).
    from ccdomain.postgres import connection

    wire = getattr(connection, "_Wire", None)
    if wire is not None:
        send = wire.send

        def counted_send(self: Any, *a: Any, **k: Any) -> Any:
            statements[0] += 1
            return send(self, *a, **k)

        wire.send = counted_send
    store = PostgresStore(dsn, schema=schema, min_size=1, max_size=1)
    with store._connection() as conn:  # the worker's one connection, and its backend
        backend = conn.info.backend_pid
    start.wait()
    cpu, server = time.process_time(), backend_cpu(backend)
    statements[0] = 0
    counts = run_batches(store, work, args.batch, retry=store.run)
    cpu, server = time.process_time() - cpu, backend_cpu(backend) - server
    store.close()
    return counts, cpu, statements[0], server


def backend_cpu(pid: int) -> float:
    """User + system CPU seconds of a server process so far (0 when it cannot be read:
    a server on another machine)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_postgres(
    args: argparse.Namespace, dsn: str, workers: int, schema: str
) -> tuple[float, float, Any, int, float]:
    """Wall seconds of ``workers`` processes routing the workload into a new ``schema``;
    CPU of the workers; counts; round trips; CPU of their server processes."""
    from ccdomain.postgres import PostgresStore

    store = PostgresStore(dsn, schema=schema)
    load_workload(
        store, make_workload(args.n, args.customers, args.campaigns, args.lines, args.seed)
    )
    store.close()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Manager().Barrier(workers + 1)
    with ctx.Pool(workers) as pool:
        results = [
            pool.apply_async(worker, (args, dsn, i, workers, start, schema)) for i in range(workers)
        ]
        start.wait()
        began = time.perf_counter()
        done = [r.get() for r in results]
        wall = time.perf_counter() - began
    counts: dict[str, int] = {}
    for part, *_ in done:
        for key, count in part.items():
            counts[key] = counts.get(key, 0) + count
    return wall, sum(d[1] for d in done), counts, sum(d[2] for d in done), sum(d[3] for d in done)


def round_trip(dsn: str) -> float:
    """Median seconds of one ``SELECT 1`` round trip to the server, now."""
    import statistics

    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        times = []
        for _ in range(500):
            began = time.perf_counter()
            conn.execute(b"SELECT 1").fetchone()
            times.append(time.perf_counter() - began)
    return statistics.median(times)


def tickets(store: Store) -> list[Any]:
    """The tickets without their numbers, in a stable order (to compare the runs)."""
    with store.unit_of_work() as uow:
        found = [attrs.evolve(t, number=0) for t in uow.list_tickets()]
    return sorted(found, key=lambda t: (t.campaign, t.customer, t.opened_at.isoformat()))


_RATIOS = (
    ("one", "ratio sqlite / postgres, 1 worker", "; target <= 3"),
    ("cpu", "ratio by CPU, 1 worker", ""),
    ("two", "ratio 2 workers / 1 worker", ""),
    ("four", "ratio 4 workers / 1 worker", "; target >= 1.6"),
)


def compare(
    args: argparse.Namespace, work: Workload, dsn: str, round_: int
) -> tuple[dict[str, float], bool]:
    """One round: SQLite with one process, then PostgreSQL with each worker count, each in
    a new schema; prints the figures and returns the ratios and whether every run ended
    with the same tickets and outcomes as SQLite."""
    from ccdomain.postgres import PostgresStore

    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqliteStore(Path(tmp) / "bench.db")
        load_workload(sqlite, work)
        phones._normalize.cache_clear()
        began, cpu = time.perf_counter(), time.process_time()
        sqlite_counts = run_batches(sqlite, work, args.batch)
        sqlite_s, sqlite_cpu = time.perf_counter() - began, time.process_time() - cpu
        reference = tickets(sqlite)
        sqlite.close()
    rate = work.interactions / sqlite_s
    print(
        f"sqlite      1 process  {sqlite_s:7.2f} s wall ({sqlite_cpu:6.2f} s CPU)  "
        f"{rate:8,.0f} interactions/s"
    )
    rates: dict[int, float] = {}
    cpu_one = (0.0, 0.0)
    same = True
    found: dict[str, float] = {}
    for workers in (int(w) for w in args.workers.split(",")):
        schema = f"bench{workers}" if round_ == 0 else f"bench{workers}_{round_}"
        trip = round_trip(dsn)
        wall, cpu, counts, statements, server_cpu = run_postgres(args, dsn, workers, schema)
        rates[workers] = work.interactions / wall
        print(
            f"postgres {workers:4} worker{'s' if workers > 1 else ' '} "
            f"{statements / len(work.ops):.1f} round trips per operation, "
            f"round trip {trip * 1000:.2f} ms before the run: at most "
            f"{len(work.ops) / (statements * trip):,.0f} operations/s per worker"
        )
        store = PostgresStore(dsn, schema=schema, read_only=True)
        ok = counts == sqlite_counts and tickets(store) == reference
        store.close()
        same = same and ok
        print(
            f"postgres {workers:4} worker{'s' if workers > 1 else ' '} {wall:7.2f} s wall "
            f"({cpu:6.2f} s CPU in workers, {server_cpu:6.2f} s in their server processes)  "
            f"{rates[workers]:8,.0f} interactions/s  same tickets and outcomes as SQLite: {ok}"
        )
        if workers == 1:
            cpu_one = (cpu, server_cpu)
    if 1 in rates:
        found["one"] = rate / rates[1]
        print(f"ratio sqlite / postgres, 1 worker: {found['one']:.2f} (target <= 3)")
        client, server_side = cpu_one
        ops = len(work.ops)
        found["cpu"] = (client + server_side) / sqlite_cpu
        print(
            f"CPU per operation: sqlite {sqlite_cpu / ops * 1000:.3f} ms; postgres 1 worker "
            f"{client / ops * 1000:.3f} ms client + {server_side / ops * 1000:.3f} ms server "
            f"(ratio by CPU {found['cpu']:.2f})"
        )
        for workers, value in rates.items():
            if workers > 1:
                if workers in (2, 4):
                    found["two" if workers == 2 else "four"] = value / rates[1]
                print(
                    f"ratio {workers} workers / 1 worker: {value / rates[1]:.2f}"
                    + (" (target >= 1.6)" if workers == 4 else "")
                )
    return found, same


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--campaigns", type=int, default=5)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", type=int, default=1, help="operations per transaction")
    parser.add_argument("--workers", default="1,2,4", help="PostgreSQL worker counts")
    parser.add_argument("--dsn", help="a PostgreSQL database (default: a throwaway server)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of the whole comparison, one after the other (the ratios of each "
        "round, then their medians)",
    )
    args = parser.parse_args(argv)

    work = make_workload(args.n, args.customers, args.campaigns, args.lines, args.seed)
    print(
        f"workload: {len(work.ops):,} operations, {work.interactions:,} interactions, "
        f"{args.customers:,} customers; {max(args.batch, 1):,} operations per transaction"
    )
    server = None
    dsn = args.dsn
    if dsn is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from postgres_server import PostgresServer, find_bindir

        bindir = find_bindir()
        if bindir is None:
            print("no PostgreSQL server binary found; pass --dsn")
            return 2
        server = PostgresServer(bindir)
        server.start()
        dsn = server.dsn()
    try:
        same = True
        rounds: list[dict[str, float]] = []
        for round_ in range(max(args.repeat, 1)):
            if args.repeat > 1:
                print(f"round {round_ + 1} of {args.repeat}")
            found, ok = compare(args, work, dsn, round_)
            rounds.append(found)
            same = same and ok
        if len(rounds) > 1:
            import statistics

            print(f"over {len(rounds)} rounds:")
            for name, label, target in _RATIOS:
                values = [found[name] for found in rounds if name in found]
                if values:
                    print(
                        f"  {label}: {', '.join(f'{v:.2f}' for v in values)} "
                        f"(median {statistics.median(values):.2f}{target})"
                    )
    finally:
        if server is not None:
            server.stop()
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
