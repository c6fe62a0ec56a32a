"""Benchmark: routing throughput against bare phone parsing (DESIGN T1-T10, M1).

Routes the shared workload (default: 200,000 operations, 20,000 customers,
5 campaigns, 3 lines, mixed channels, 5% closes) through the in-memory store,
and times bare ``phonenumbers.parse`` + ``format_number(E164)`` over the same raw
customer strings (one per routed interaction), in the same run. Prints
interactions per second and the ratio routing time / bare parsing time, in CPU
time (what the verdict uses: other processes on the machine do not move it) and
in wall time. Targets (issue 15): <= 1.3 with the collector as Python starts it,
<= 0.8 with the policy docs/performance.md documents for hosts.

    .venv/bin/python bench/route.py [--n 200000] [--customers 20000] [--repeat 3]
                                    [--gc both|on|host|freeze|off] [--profile] [--check]

Each figure is the best of ``--repeat`` runs; parsing and routing runs are
interleaved so machine load hits both sides alike. Every routing run starts
from an empty store and a cold phone cache, so it pays each distinct raw
string's first parse (40,000 here: two spellings per customer).

The cyclic garbage collector is a large share of routing time: the store keeps
every interaction, ticket and event as objects, and each full collection scans
all of them. ``--gc`` picks how routing runs:

- ``on``: the collector as Python starts it (default thresholds);
- ``host``: the policy documented for hosts (docs/performance.md, "Garbage
  collection"): ``gc.freeze()`` once warmed up, and a first-generation threshold
  of 50,000 (:data:`HOST_THRESHOLDS`);
- ``freeze``: ``gc.freeze()`` after the workload is built, so the collector
  never rescans the benchmark's own 400,000 operation objects (the store's
  objects are still scanned);
- ``off``: the collector disabled while routing (the pure CPU cost);
- ``both`` (default): ``on`` and ``host``, both reported.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time
from collections.abc import Callable

import phonenumbers
from workload import Workload, load_workload, make_workload, run_workload

from ccdomain import phones
from ccdomain.memory import MemoryStore
from ccdomain.tickets import rebuild_tickets

TARGETS = {"on": 1.3, "host": 0.8}  # routing / bare parsing, CPU time (issue 15)
# The host policy's thresholds (docs/performance.md): a young collection every 50,000
# allocations instead of 700; the older generations as Python sets them.
HOST_THRESHOLDS = (50_000, 10, 10)
Timing = tuple[float, float]  # (cpu seconds, wall seconds)


def bare_parse(raws: tuple[str, ...], region: str = "PE") -> Timing:
    """(CPU, wall) seconds to parse and format every raw string with phonenumbers alone."""
    parse, format_number = phonenumbers.parse, phonenumbers.format_number
    e164 = phonenumbers.PhoneNumberFormat.E164
    cpu, wall = time.process_time(), time.perf_counter()
    for raw in raws:
        format_number(parse(raw, region), e164)
    return time.process_time() - cpu, time.perf_counter() - wall


def route_once(
    work: Workload, gc_mode: str, profiler: cProfile.Profile | None = None
) -> tuple[Timing, float, MemoryStore, dict[str, int]]:
    """Route the workload through a new memory store with a cold phone cache.

    Returns the (CPU, wall) timing, the CPU seconds the cyclic GC took of it, the
    store and the outcome counts.
    """
    gc.collect()
    store = MemoryStore()
    load_workload(store, work)
    phones._normalize.cache_clear()  # routing starts with a cold phone cache
    thresholds = gc.get_threshold()
    if gc_mode in ("freeze", "host"):
        gc.freeze()
    if gc_mode == "host":
        gc.set_threshold(*HOST_THRESHOLDS)
    elif gc_mode == "off":
        gc.disable()
    read_gc = _gc_collections()
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        counts = run_workload(store, work)
        if profiler is not None:
            profiler.disable()
        timing = (time.process_time() - cpu, time.perf_counter() - wall)
    finally:
        spent = read_gc()
        gc.enable()
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    return timing, spent, store, counts


def _best(timings: list[Timing]) -> Timing:
    return min(t[0] for t in timings), min(t[1] for t in timings)


def _gc_collections() -> Callable[[], float]:
    """Start counting CPU seconds spent in the cyclic GC; the result reads the total."""
    spent = [0.0, 0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            spent[1] = time.process_time()
        else:
            spent[0] += time.process_time() - spent[1]

    gc.callbacks.append(callback)

    def total() -> float:
        gc.callbacks.remove(callback)
        return spent[0]

    return total


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--campaigns", type=int, default=5)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--gc", choices=("both", "on", "host", "freeze", "off"), default="both")
    parser.add_argument("--profile", action="store_true", help="cProfile one extra routing run")
    parser.add_argument("--check", action="store_true", help="rebuild tickets from events")
    args = parser.parse_args(argv)
    modes = ("on", "host") if args.gc == "both" else (args.gc,)

    work = make_workload(args.n, args.customers, args.campaigns, args.lines, args.seed)
    print(
        f"workload: {len(work.ops):,} operations, {work.interactions:,} interactions, "
        f"{args.customers:,} customers, {args.campaigns} campaigns, {args.lines} lines; "
        f"best of {args.repeat}"
    )
    parse_runs: list[Timing] = []
    route_runs: dict[str, list[Timing]] = {mode: [] for mode in modes}
    gc_share: dict[str, float] = {}
    store: MemoryStore | None = None
    counts: dict[str, int] = {}
    for _ in range(max(args.repeat, 1)):
        parse_runs.append(bare_parse(work.raw_customers))
        for mode in modes:
            store = None
            timing, spent, store, counts = route_once(work, mode)
            route_runs[mode].append(timing)
            if timing == min(route_runs[mode]):
                gc_share[mode] = spent / timing[0]

    print(f"outcomes: {dict(sorted(counts.items()))}")
    parse_cpu, parse_wall = _best(parse_runs)
    n = work.interactions
    print(
        f"bare parsing:   cpu {parse_cpu:6.2f} s  wall {parse_wall:6.2f} s  "
        f"{n / parse_cpu:9,.0f} numbers/s  {parse_cpu / n * 1e6:5.1f} us/number (cpu)"
    )
    for mode in modes:
        cpu, wall = _best(route_runs[mode])
        print(
            f"routing gc {mode:<6} cpu {cpu:6.2f} s  wall {wall:6.2f} s  "
            f"{n / cpu:9,.0f} interactions/s  {cpu / len(work.ops) * 1e6:5.1f} us/operation "
            f"(cyclic GC {gc_share.get(mode, 0.0):.0%} of it)"
        )
    for mode in modes:
        cpu, wall = _best(route_runs[mode])
        ratio = cpu / parse_cpu
        target = TARGETS.get(mode)
        verdict = (
            "no target"
            if target is None
            else f"target <= {target}: " + ("met" if ratio <= target else "not met")
        )
        print(
            f"ratio routing / bare parsing, gc {mode}: {ratio:.2f} cpu, "
            f"{wall / parse_wall:.2f} wall ({verdict})"
        )
    if args.check and store is not None:
        with store.unit_of_work() as uow:
            same = rebuild_tickets(uow.events()) == list(uow.list_tickets())
        print(f"rebuild_tickets(events) == store tickets: {same}")
    if args.profile:
        store = None
        profiler = cProfile.Profile()
        route_once(work, modes[-1], profiler)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
