"""Benchmark of business_time (H2): one call between two instants about a month apart.

Run: ``python bench/business_time.py`` (or ``python bench/business_time.py 200000`` for
another number of calls).

Times ``business_time`` on a Monday-Friday 08:00-13:00, 14:00-18:00 and Saturday
09:00-13:00 calendar in Europe/Madrid (so DST changes and Spain's public holidays
are in the tables), between pairs of instants 28 to 35 days apart, spread over 2026
and 2027 (deterministic, seeded). The calendar's tables are built once before the
timed run (one call per pair, untimed): the target is the cached case, as a
service-level listing asks the same calendar for many tickets. A plain baseline
runs the same loop with ``end - start`` (the wall time), and a cold figure times
the first call on a fresh calendar (table building included).

Prints microseconds per call (CPU time of this process, so other work on a shared
machine does not skew it) and the verdict against the target: under 20 µs.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time

from ccdomain.rules.hours import business_calendar, business_time

SEED = 20261130
CALLS = 100_000
TARGET_US = 20.0
HOURS = {"mon-fri": ["08:00-13:00", "14:00-18:00"], "sat": ["09:00-13:00"]}
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def pairs(count: int, seed: int = SEED) -> list[tuple[dt.datetime, dt.datetime]]:
    """``count`` pairs of instants 28 to 35 days apart, starting anywhere in 2026-2027."""
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        start = START + dt.timedelta(seconds=rng.randrange(0, 2 * 365 * 86_400))
        found.append((start, start + dt.timedelta(seconds=rng.randrange(28 * 86_400, 35 * 86_400))))
    return found


def main(calls: int = CALLS) -> int:
    """Run the benchmark; 0 when under the target, 1 otherwise."""
    calendar = business_calendar(timezone="Europe/Madrid", hours=HOURS, region="ES")
    work = pairs(calls)

    fresh = business_calendar(
        timezone="Europe/Madrid", hours=HOURS, region="ES", holidays=["2031-01-02"]
    )
    started = time.process_time()
    business_time(fresh, *work[0])
    cold = (time.process_time() - started) * 1e6

    for start, end in work:  # build and cache the tables, untimed
        business_time(calendar, start, end)

    started = time.process_time()
    total = dt.timedelta(0)
    for start, end in work:
        total += business_time(calendar, start, end)
    per_call = (time.process_time() - started) / calls * 1e6

    started = time.process_time()
    wall = dt.timedelta(0)
    for start, end in work:
        wall += end - start
    baseline = (time.process_time() - started) / calls * 1e6

    print(f"business_time, {calls:,} calls a month apart (Europe/Madrid, ES holidays)")
    print(f"  cached:   {per_call:6.2f} µs per call (target under {TARGET_US:.0f} µs)")
    print(f"  baseline: {baseline:6.2f} µs per call (end - start, the same loop)")
    print(f"  cold:     {cold:8.0f} µs for the first call on a new calendar (tables built)")
    print(f"  business share of wall time: {total / wall:.3f}")
    verdict = per_call < TARGET_US
    print("  verdict: " + ("under the target" if verdict else "OVER the target"))
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else CALLS))
