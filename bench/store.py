"""Benchmark: the SQLite store against the in-memory store on the routing workload.

Routes the workload of ``bench/route.py`` (default: 200,000 operations, 20,000
customers, 5 campaigns, 3 lines) through both stores in the same run, and prints
each rate and the ratio SQLite time / memory time (target: <= 4).

The memory store runs as in ``bench/route.py``: each service call is its own
unit of work (``--memory-batch 0``). The SQLite store runs an outer unit of work
per ``--batch`` operations (default 1,000), each service call inside it a nested
unit of work (a SAVEPOINT), so a failing call still changes nothing (E2) while
the file is committed once per batch; ``--batch 0`` commits every call on its
own. The SQLite database is a file on disk (``--db``, default a temporary
directory). The workload itself is moved out of the garbage collector's sight
(``gc.freeze``) so neither store pays for traversing it. At the end the two
stores are compared: same tickets and same outcomes.

    .venv/bin/python bench/store.py [--n 200000] [--batch 1000] [--memory-batch 0] [--db FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import tempfile
import time
from pathlib import Path

import attrs
from workload import Workload, load_workload, make_workload, run_workload

from ccdomain import phones
from ccdomain.memory import MemoryStore
from ccdomain.ports import Store
from ccdomain.sqlite import SqliteStore


def run_batched(
    store: Store, work: Workload, batch: int, profiler: cProfile.Profile | None = None
) -> tuple[float, float, dict[str, int]]:
    """Wall and CPU seconds to apply every operation, ``batch`` per outer unit of work.

    With ``batch`` 0 there is no outer unit of work: each service call commits alone.
    """
    load_workload(store, work)
    phones._normalize.cache_clear()  # each store starts with a cold phone cache
    counts: dict[str, int] = {}
    started, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    if batch <= 0:
        counts = run_workload(store, work)
    else:
        for start in range(0, len(work.ops), batch):
            chunk = attrs.evolve(work, ops=work.ops[start : start + batch])
            with store.unit_of_work() as uow:
                for key, count in run_workload(store, chunk).items():
                    counts[key] = counts.get(key, 0) + count
                uow.commit()
    if profiler is not None:
        profiler.disable()
    return time.perf_counter() - started, time.process_time() - cpu, counts


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--campaigns", type=int, default=5)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", type=int, default=1000, help="SQLite operations per transaction")
    parser.add_argument(
        "--memory-batch", type=int, default=0, help="memory operations per unit of work"
    )
    parser.add_argument("--db", type=Path, help="SQLite file (default: a temporary one)")
    parser.add_argument("--profile", action="store_true", help="cProfile the SQLite run")
    args = parser.parse_args(argv)

    work = make_workload(args.n, args.customers, args.campaigns, args.lines, args.seed)
    gc.collect()
    gc.freeze()
    print(
        f"workload: {len(work.ops):,} operations, {work.interactions:,} interactions, "
        f"{args.customers:,} customers, {args.campaigns} campaigns, {args.lines} lines; "
        f"SQLite: {args.batch or 1:,} operations per transaction, "
        f"memory: {args.memory_batch or 1:,} per unit of work"
    )

    memory = MemoryStore()
    memory_s, memory_cpu, memory_counts = run_batched(memory, work, args.memory_batch)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        if path.exists():
            path.unlink()
        sqlite = SqliteStore(path)
        profiler = cProfile.Profile() if args.profile else None
        sqlite_s, sqlite_cpu, sqlite_counts = run_batched(sqlite, work, args.batch, profiler)
        size = os.path.getsize(path)

        print(f"outcomes: {dict(sorted(sqlite_counts.items()))}")
        for name, seconds, cpu in (
            ("memory", memory_s, memory_cpu),
            ("sqlite", sqlite_s, sqlite_cpu),
        ):
            print(
                f"{name:7} {seconds:7.2f} s wall ({cpu:6.2f} s CPU)  "
                f"{len(work.ops) / seconds:9,.0f} operations/s  "
                f"{work.interactions / seconds:9,.0f} interactions/s"
            )
        print(f"sqlite file: {size / 2**20:.1f} MiB, integrity_check: {sqlite.integrity_check()}")
        print(
            f"ratio sqlite / memory: {sqlite_s / memory_s:.2f} wall, "
            f"{sqlite_cpu / memory_cpu:.2f} CPU (target <= 4)"
        )

        with memory.unit_of_work() as m_uow, sqlite.unit_of_work() as s_uow:
            m_tickets, s_tickets = m_uow.list_tickets(), s_uow.list_tickets()
            same = m_tickets == s_tickets and memory_counts == sqlite_counts
            print(f"same tickets and outcomes in both stores: {same} ({len(s_tickets):,} tickets)")
        sqlite.close()
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
