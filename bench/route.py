"""Benchmark: routing throughput against bare phone parsing (DESIGN T1-T10, M1).

Routes the shared workload (default: 200,000 interactions, 20,000 customers,
5 campaigns, 3 lines, mixed channels, 5% closes) through the in-memory store,
and times bare ``phonenumbers.parse`` + ``format_number(E164)`` over the same raw
customer strings. Prints interactions per second and the ratio routing time /
bare parsing time (target: <= 0.5).

    .venv/bin/python bench/route.py [--n 200000] [--customers 20000] [--profile] [--gc-off]

The phone cache is cleared before routing, so routing pays each distinct raw
string's first parse (40,000 here: two spellings per customer).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time

import phonenumbers
from workload import load_workload, make_workload, run_workload

from ccdomain import phones
from ccdomain.memory import MemoryStore
from ccdomain.tickets import rebuild_tickets


def bare_parse(raws: tuple[str, ...], region: str = "PE") -> float:
    """Seconds to parse and format every raw string with phonenumbers alone."""
    e164 = phonenumbers.PhoneNumberFormat.E164
    started = time.perf_counter()
    for raw in raws:
        phonenumbers.format_number(phonenumbers.parse(raw, region), e164)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--campaigns", type=int, default=5)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="cProfile the routing run")
    parser.add_argument("--check", action="store_true", help="rebuild tickets from events")
    parser.add_argument(
        "--gc-off", action="store_true", help="disable the cyclic GC while routing (its share)"
    )
    args = parser.parse_args(argv)

    work = make_workload(args.n, args.customers, args.campaigns, args.lines, args.seed)
    print(
        f"workload: {len(work.ops):,} operations, {work.interactions:,} interactions, "
        f"{args.customers:,} customers, {args.campaigns} campaigns, {args.lines} lines"
    )
    parse_s = bare_parse(work.raw_customers)

    store = MemoryStore()
    load_workload(store, work)
    phones._normalize.cache_clear()  # routing starts with a cold phone cache
    profiler = cProfile.Profile() if args.profile else None
    if args.gc_off:
        gc.disable()
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    counts = run_workload(store, work)
    if profiler is not None:
        profiler.disable()
    route_s = time.perf_counter() - started
    gc.enable()

    print(f"outcomes: {dict(sorted(counts.items()))}")
    print(
        f"routing:      {route_s:7.2f} s  {len(work.ops) / route_s:10,.0f} operations/s  "
        f"{work.interactions / route_s:10,.0f} interactions/s"
    )
    print(f"bare parsing: {parse_s:7.2f} s  {work.interactions / parse_s:10,.0f} numbers/s")
    ratio = route_s / parse_s
    print(f"ratio routing / bare parsing: {ratio:.2f} (target <= 0.5)")
    if args.check:
        with store.unit_of_work() as uow:
            same = rebuild_tickets(uow.events()) == list(uow.list_tickets())
        print(f"rebuild_tickets(events) == store tickets: {same}")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
