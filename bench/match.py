"""Benchmark of contact matching (M3) on the in-memory store, plus normalization (M1).

Run: ``python bench/match.py [SMALL LARGE] [--queries N] [--repeat N] [--skip-normalize]``
(default sizes 10,000 and 1,000,000 contacts).

Figures printed (no assertion; targets in parentheses):

1. lookup scale: median time of ``find_candidates`` for an EXACT hit with SMALL vs
   LARGE contacts in the memory store, in the same run (ratio <= 1.3); each size's
   best of ``--repeat`` measurements; beside it, at each size, the median time of
   ``find_identities`` for an email (X2: an identity-index lookup), whose target is
   at most 1.5 times the phone EXACT case at the same size (every contact has a
   phone and an email);
2. normalization: ``bench/match_normalize.py`` (normalize_phone vs bare phonenumbers
   parse+format over 100,000 distinct numbers, <= 1.2; a stream repeating each ~10
   times, <= 0.3);
3. memory: bytes per contact held by the memory store with its phone and identity
   indexes at LARGE contacts (RSS delta, <= 2 KiB), and a tracemalloc count at 100,000
   contacts. Since the email case (issue 17) each contact also holds an email channel
   and its name key, indexed.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import random
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from ccdomain.matching import MatchTier, find_candidates, find_identities
from ccdomain.memory import MemoryStore
from ccdomain.models import Campaign, ChannelKind, Contact, ContactChannel

SEED = 20240601
BATCH = 10_000
HOT = 64
CAMPAIGNS = ("ventas", "soporte", "cobranzas")


def _rss_bytes() -> int:
    """Current resident set size (Linux /proc), falling back to the peak."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return pages * resource.getpagesize()


def peruvian_mobiles(count: int, seed: int) -> list[str]:
    """``count`` distinct valid Peruvian mobile numbers in E.164, deterministic."""
    rng = random.Random(seed)
    return [f"+519{n:08d}" for n in rng.sample(range(10**8), count)]


def email_of(phone: str) -> str:
    """The email of the contact holding ``phone`` (one each, as a CRM import gives them)."""
    return f"cliente{phone[3:]}@example.com"


def build_store(phones: list[str]) -> MemoryStore:
    """A memory store holding one contact per phone (with an email), added in units of work
    of 10,000."""
    store = MemoryStore()
    with store.unit_of_work() as uow:
        for campaign in CAMPAIGNS:
            uow.put_campaign(Campaign(id=campaign))
        uow.commit()
    for start in range(0, len(phones), BATCH):
        with store.unit_of_work() as uow:
            for i in range(start, min(start + BATCH, len(phones))):
                uow.add_contact(
                    Contact(
                        campaign=CAMPAIGNS[i % len(CAMPAIGNS)],
                        code=f"C{i:07d}",
                        vip=i % 17 == 0,
                        channels=(
                            ContactChannel(kind=ChannelKind.PHONE, value=phones[i]),
                            ContactChannel(kind=ChannelKind.EMAIL, value=email_of(phones[i])),
                        ),
                    )
                )
            uow.commit()
    return store


def lookup_samples_us(store: MemoryStore, queries: list[str], rounds: int) -> list[float]:
    """Microseconds of each find_candidates call for an EXACT hit, ``rounds`` times each."""
    samples: list[float] = []
    clock = time.perf_counter_ns
    with store.unit_of_work() as uow:
        for _ in range(rounds):
            for query in queries:
                start = clock()
                find_candidates(uow, phone=query, campaign="ventas")
                samples.append((clock() - start) / 1000)
    return samples


def email_samples_us(store: MemoryStore, queries: list[str], rounds: int) -> list[float]:
    """Microseconds of each find_identities call for an email hit, ``rounds`` times each."""
    samples: list[float] = []
    clock = time.perf_counter_ns
    with store.unit_of_work() as uow:
        for _ in range(rounds):
            for query in queries:
                start = clock()
                find_identities(uow, query=query, campaign="ventas")
                samples.append((clock() - start) / 1000)
    return samples


def median_email_us(store: MemoryStore, queries: list[str], rounds: int = 5) -> float:
    """Median microseconds of one find_identities call for an email, after a checked pass."""
    with store.unit_of_work() as uow:
        for query in queries:
            found = find_identities(uow, query=query, campaign="ventas")
            assert found and found[0].tier is MatchTier.EMAIL, query
    return statistics.median(email_samples_us(store, queries, rounds))


def check_and_warm(store: MemoryStore, queries: list[str]) -> None:
    """Warm the normalize cache and check that every query is an EXACT hit."""
    with store.unit_of_work() as uow:
        for query in queries:
            found = find_candidates(uow, phone=query, campaign="ventas")
            assert found and found[0].tier is MatchTier.EXACT, query


def median_lookup_us(store: MemoryStore, queries: list[str], rounds: int = 5) -> float:
    """Median microseconds of one find_candidates call for an EXACT hit, after a warm pass."""
    check_and_warm(store, queries)
    return statistics.median(lookup_samples_us(store, queries, rounds))


def lookup_scale(
    small: int, large: int, queries: int, repeat: int = 3
) -> tuple[MemoryStore, int, float]:
    """Figure 1; returns the large store, its RSS cost and its build time for figure 3.

    Each size is measured right after it is built (the small one before the large one
    exists, as a host with that many contacts would run it): ``repeat`` times a warm
    pass over the queries then 5 timed rounds, keeping the best median.
    """
    phones = peruvian_mobiles(large, SEED)
    rng = random.Random(SEED + 1)
    results: dict[int, float] = {}
    emails: dict[int, float] = {}
    hot: dict[int, float] = {}
    kept: MemoryStore | None = None
    rss_cost, built_in = 0, 0.0
    for size in (small, large):
        gc.collect()
        rss_before = _rss_bytes()
        gc.disable()  # a million long-lived objects: collections would only slow the build
        start = time.perf_counter()
        store = build_store(phones[:size])
        elapsed = time.perf_counter() - start
        gc.enable()
        gc.collect()
        rss_after = _rss_bytes()
        gc.freeze()
        # Fresh string objects, as a webhook's JSON gives them: the store's own strings
        # would compare by identity and sit wherever the build put them.
        sample = ["".join(list(p)) for p in rng.sample(phones[:size], min(queries, size))]
        results[size] = min(median_lookup_us(store, sample) for _ in range(max(repeat, 1)))
        hot[size] = min(
            median_lookup_us(store, sample[:HOT], rounds=50) for _ in range(max(repeat, 1))
        )
        # The same contacts by their emails, typed in another case (X1 folds them).
        by_email = ["".join(list(email_of(p).upper())) for p in sample]
        emails[size] = min(median_email_us(store, by_email) for _ in range(max(repeat, 1)))
        print(
            f"  {size:>9,} contacts: built in {elapsed:6.1f} s, find_candidates EXACT median "
            f"{results[size]:.2f} us ({len(sample):,} random numbers), {hot[size]:.2f} us "
            f"({HOT} numbers, cache-hot); find_identities email median {emails[size]:.2f} us, "
            f"{emails[size] / results[size]:.2f} x the phone EXACT case (target <= 1.5)"
        )
        if size == large:
            kept, rss_cost, built_in = store, rss_after - rss_before, elapsed
        else:
            del store
            gc.unfreeze()
            gc.collect()
    ratio = results[large] / results[small]
    print(f"lookup scale: {large:,} vs {small:,} contacts ratio {ratio:.2f} (target <= 1.3)")
    print(
        f"lookup scale, cache-hot: ratio {hot[large] / hot[small]:.2f} (the rest of the "
        "growth is memory latency: cache and TLB misses in a larger heap)"
    )
    assert kept is not None
    return kept, rss_cost, built_in


def traced_bytes_per_contact(count: int) -> float:
    """tracemalloc's count of bytes the store allocates per contact (models and indexes)."""
    phones = peruvian_mobiles(count, SEED + 2)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    store = build_store(phones)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del store
    return (after - before) / count


def normalization() -> None:
    """Figure 2: the normalization bench written with phones.py."""
    path = Path(__file__).with_name("match_normalize.py")
    spec = importlib.util.spec_from_file_location("match_normalize", path)
    if spec is None or spec.loader is None:
        print(f"normalization: {path} not found")
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3, help="lookup figures: best of N")
    parser.add_argument("--traced", type=int, default=100_000, help="tracemalloc size, 0 skips")
    parser.add_argument("--skip-normalize", action="store_true")
    args = parser.parse_args(argv)
    if len(args.sizes) != 2 or not 0 < args.sizes[0] < args.sizes[1]:
        parser.error("give two sizes, SMALL < LARGE")
    small, large = args.sizes

    print(f"[1] lookup scale (memory store, python {sys.version.split()[0]})")
    store, rss_cost, _ = lookup_scale(small, large, args.queries, args.repeat)

    print("[3] memory")
    per_contact = rss_cost / large
    print(
        f"memory: {per_contact:,.0f} bytes per contact at {large:,} contacts "
        f"(RSS delta {rss_cost / 2**20:,.0f} MiB; target <= 2048)"
    )
    del store
    gc.unfreeze()
    gc.collect()
    if args.traced:
        traced = traced_bytes_per_contact(args.traced)
        print(f"memory: {traced:,.0f} bytes per contact by tracemalloc at {args.traced:,} contacts")

    if not args.skip_normalize:
        print("[2] normalization (bench/match_normalize.py)")
        normalization()


if __name__ == "__main__":
    main()
