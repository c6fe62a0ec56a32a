"""Benchmark of promise_statuses (C5, C6): promises evaluated per second at two sizes.

Run: ``python bench/promise_status.py`` (or ``python bench/promise_status.py 10000 100000``
for other numbers of promises; there are three payments per promise).

Evaluates 100,000 promises against 300,000 payments, then 1,000,000 against
3,000,000, in one ``promise_statuses`` call each (grouping payments by product is
part of the timed work, and so is a full garbage collection right after the call, the
pass its paused collector deferred; generating the data is not). Prints promises per second
for both and the ratio of the two times; the target is a ratio of at most 11
for ten times the data (O(n log n)). Times are wall clock and CPU time of this
process; the verdict uses CPU time, so other work on a shared machine does not
skew it.

Data: two promises per product (the first cancelled one time in five, the second
made after the first is decided), about three payments per promise (80% made,
10% reversed, 10% scheduled), around the promised dates, deterministic (seeded).
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import resource
import sys
import time
from collections import Counter
from decimal import Decimal

from ccdomain.collections import (
    CollectionsPolicy,
    Installment,
    Money,
    Payment,
    PaymentStatus,
    Promise,
    money,
    promise_statuses,
)

SEED = 20261101
SIZES = (100_000, 1_000_000)
TARGET_RATIO = 11.0
START = dt.date(2026, 1, 1)
AS_OF = dt.date(2026, 6, 30)
POLICY = CollectionsPolicy(grace_days=2, tolerance=Decimal("0.50"), horizon_days=30)


def generate(promises: int, seed: int = SEED) -> tuple[list[Promise], list[Payment]]:
    """``promises`` promises (two per product) and three payments per promise."""
    rng = random.Random(seed)
    days = [START + dt.timedelta(days=n) for n in range(400)]
    amounts: dict[int, Money] = {}

    def pen(cents: int) -> Money:
        found = amounts.get(cents)
        if found is None:
            found = amounts[cents] = money(Decimal(cents).scaleb(-2), "PEN")
        return found

    statuses = [PaymentStatus.MADE] * 8 + [PaymentStatus.REVERSED, PaymentStatus.SCHEDULED]
    made: list[Promise] = []
    payments: list[Payment] = []
    for p in range(promises // 2):
        product = f"P{p}"
        made_on = rng.randrange(0, 120)
        for k in range(2):
            count = rng.choice((1, 1, 2, 3))
            dates = sorted(made_on + rng.randrange(0, 31) for _ in range(count))
            installments = tuple(
                Installment(pen(rng.randrange(50, 500) * 100), days[d]) for d in dates
            )
            cancelled = k == 0 and rng.random() < 0.2
            cancelled_on = days[made_on + rng.randrange(0, 10)] if cancelled else None
            made.append(
                Promise(
                    id=f"PR{p}-{k}",
                    product=product,
                    campaign="cobranzas",
                    agent="ana",
                    made_on=days[made_on],
                    installments=installments,
                    ticket=p + 1,
                    cancelled_on=cancelled_on,
                    cancelled_by="sup" if cancelled else None,
                )
            )
            for n in range(3):
                target = installments[min(n, count - 1)]
                cents = int(target.amount.amount * 100)
                paid = rng.choice((cents, cents, cents // 2, cents - 30, cents * 2))
                when = dates[min(n, count - 1)] + rng.randrange(-6, 5)
                payments.append(
                    Payment(
                        f"PAY{p}-{k}-{n}",
                        product,
                        pen(max(paid, 1)),
                        days[max(when, made_on - 3, 0)],
                        rng.choice(statuses),
                    )
                )
            made_on = dates[-1] + POLICY.grace_days + rng.randrange(1, 10)
    rng.shuffle(payments)
    rng.shuffle(made)
    return made, payments


def run(promises: int) -> tuple[float, float]:
    """Generate, evaluate once, print figures; return the wall and CPU seconds it took."""
    began = time.perf_counter()
    data, payments = generate(promises)
    generated = time.perf_counter() - began
    gc.collect()
    gc.freeze()  # the generated data is long-lived; don't rescan it during the timed run
    began, began_cpu = time.perf_counter(), time.process_time()
    result = promise_statuses(data, payments, POLICY, AS_OF)
    # promise_statuses pauses the cyclic collector; the pass it deferred is timed too.
    gc.collect()
    elapsed, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    counts = Counter(status.status.value for status in result.values())
    allocations = sum(len(status.allocations) for status in result.values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(
        f"{len(data):>9,} promises, {len(payments):>9,} payments: {elapsed:7.2f} s wall, "
        f"{cpu:7.2f} s CPU, {len(data) / cpu:>7,.0f} promises/s of CPU "
        f"(generated in {generated:.1f} s; peak RSS {peak:.1f} GiB)"
    )
    print(f"           statuses {dict(sorted(counts.items()))}, {allocations:,} allocations")
    del result, data, payments
    gc.unfreeze()
    gc.collect()
    return elapsed, cpu


def main(argv: list[str]) -> int:
    sizes = tuple(int(a) for a in argv) if argv else SIZES
    times = [run(size) for size in sizes]
    if len(times) >= 2:
        wall = times[-1][0] / times[0][0]
        ratio = times[-1][1] / times[0][1]
        scale = sizes[-1] / sizes[0]
        verdict = "ok" if ratio <= TARGET_RATIO * scale / 10 else "ABOVE TARGET"
        target = f"target <= {TARGET_RATIO:g} for 10x"
        print(
            f"time ratio {ratio:.2f} CPU ({wall:.2f} wall) for {scale:g}x the data "
            f"({target}): {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
