"""Routing's own CPU per operation: bench/route.py's workload with a warm phone cache.

bench/route.py starts each routing with a cold phone cache and the collector on, so
its figure mixes three costs: the first parse of each distinct customer string, the
cyclic collector and the routing rules. This script leaves only the last: it routes
the workload once to warm the cache, then times routings of new memory stores with
the collector disabled (CPU time, best of ``--repeat``).

    PYTHONPATH=src python bench/route_warm.py [--n 200000] [--customers 20000] [--repeat 3]

Run it with another checkout's ``src`` on PYTHONPATH to compare two versions of the
library on the same workload.
"""

from __future__ import annotations

import argparse
import gc
import time

from workload import load_workload, make_workload, run_workload

from ccdomain.memory import MemoryStore


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print µs per operation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args(argv)
    work = make_workload(args.n, args.customers, 5, 3, 7)
    warm = MemoryStore()
    load_workload(warm, work)
    run_workload(warm, work)  # every raw customer string is in the phone cache now
    del warm
    best = float("inf")
    for _ in range(max(args.repeat, 1)):
        gc.collect()
        store = MemoryStore()
        load_workload(store, work)
        gc.disable()
        try:
            cpu = time.process_time()
            run_workload(store, work)
            best = min(best, time.process_time() - cpu)
        finally:
            gc.enable()
        del store
    print(
        f"routing, warm phone cache, collector off: {best / len(work.ops) * 1e6:.1f} us/operation "
        f"(cpu, best of {args.repeat}, {len(work.ops):,} operations)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
