"""Benchmark: routing with assignment to agents against routing without (A1-A6).

Runs the workload of ``bench/route.py`` (default: 200,000 operations, 20,000
customers, 5 campaigns) on 5 lines, one queue each, twice per store in the same
run: once as is (no agent declared: the baseline), once with 50 agents (10 per
queue, capacity 5 digital and 1 voice, all online at the start) and a presence
change every ``--presence-every`` operations (an agent goes offline, or back
online, taking waiting tickets). Both runs route, resolve and typify the same
operations; outbound interactions name ``agent0`` .. ``agent49``, so with agents
declared they are assigned to the agent who made them (A4). Prints CPU and wall
seconds and the ratio with / without (target: <= 1.5) for the memory store (a
unit of work per call, as ``bench/route.py``) and the SQLite store (an outer unit
of work per ``--batch`` operations, as ``bench/store.py``).

    .venv/bin/python bench/operations.py [--n 200000] [--batch 1000] [--repeat 1]
                                         [--stores memory,sqlite] [--profile]

Each figure is the best of ``--repeat`` runs; with and without are interleaved so
machine load hits both alike. At the end the run checks that no agent holds more
open tickets than the store counts, and that every open ticket is assigned or
waiting (A2, A3).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
from workload import Op, Workload, load_workload, make_workload, run_workload

from ccdomain import phones
from ccdomain.assignment import declare_agent, make_agent, set_presence
from ccdomain.memory import MemoryStore
from ccdomain.ports import Store
from ccdomain.sqlite import SqliteStore

TARGET = 1.5
AGENTS = 50
QUEUES = 5


def with_presence(work: Workload, every: int, seed: int) -> Workload:
    """The workload with a presence change every ``every`` operations (kind "presence")."""
    rnd = random.Random(seed)
    online = {f"agent{k}": True for k in range(AGENTS)}
    ops: list[Op] = []
    for i, op in enumerate(work.ops, start=1):
        ops.append(op)
        if every and i % every == 0:
            agent = f"agent{rnd.randrange(AGENTS)}"
            online[agent] = not online[agent]
            status = "online" if online[agent] else rnd.choice(["offline", "away"])
            ops.append(Op("presence", {"agent": agent, "status": status, "at": op.fields["at"]}))
    return attrs.evolve(work, ops=tuple(ops))


def declare_agents(store: Store, work: Workload) -> None:
    """50 agents, agent k serving queue k % 5, all online at the workload's start."""
    at = min(op.fields["at"] for op in work.ops[:100])
    for k in range(AGENTS):
        profile = make_agent(
            f"agent{k}",
            name=f"Agent {k}",
            queues=[f"queue{k % QUEUES}"],
            capacity={"digital": 5, "voice": 1},
        )
        declare_agent(store, profile=profile, at=at)
        set_presence(store, agent=profile.id, status="online", at=at)


def run(
    store: Store, work: Workload, batch: int, profiler: cProfile.Profile | None = None
) -> tuple[float, float, dict[str, int]]:
    """CPU and wall seconds to apply the operations (presence changes included)."""
    phones._normalize.cache_clear()
    counts: dict[str, int] = {}
    chunks = [work.ops] if batch <= 0 else [
        work.ops[s : s + batch] for s in range(0, len(work.ops), batch)
    ]  # fmt: skip
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    for chunk in chunks:
        context: Any = store.unit_of_work() if batch > 0 else None
        if context is not None:
            context.__enter__()
        try:
            routed: list[Op] = []
            for op in chunk:
                if op.kind == "presence":
                    if routed:
                        _add(counts, run_workload(store, attrs.evolve(work, ops=tuple(routed))))
                        routed = []
                    set_presence(store, **op.fields)
                    counts["presence"] = counts.get("presence", 0) + 1
                else:
                    routed.append(op)
            if routed:
                _add(counts, run_workload(store, attrs.evolve(work, ops=tuple(routed))))
            if context is not None:
                context.commit()
        finally:
            if context is not None:
                context.__exit__(None, None, None)
    if profiler is not None:
        profiler.disable()
    return time.process_time() - cpu, time.perf_counter() - wall, counts


def _add(counts: dict[str, int], more: dict[str, int]) -> None:
    for key, count in more.items():
        counts[key] = counts.get(key, 0) + count


def _store(kind: str, folder: Path, name: str) -> Store:
    return SqliteStore(folder / f"{name}.db") if kind == "sqlite" else MemoryStore()


def check(store: Store) -> str:
    """A2, A3: agents' counts match the tickets they hold; open tickets assigned or waiting."""
    with store.unit_of_work() as uow:
        states = uow.list_agent_states()  # type: ignore[attr-defined]
        waiting = {w.number for w in uow.list_waiting()}  # type: ignore[attr-defined]
        tickets = uow.list_tickets()
    held: dict[str, int] = {}
    for t in tickets:
        if t.is_open and t.assignee is not None:
            held[t.assignee] = held.get(t.assignee, 0) + 1
    counts_ok = all(s.open.digital + s.open.voice == held.get(s.id, 0) for s in states)
    queued = {t.queue for t in tickets}
    lines_ok = all(
        t.assignee is not None or t.number in waiting
        for t in tickets
        if t.is_open and t.queue in queued and t.queue
    )
    assigned = sum(1 for t in tickets if t.assignee is not None)
    return (
        f"agents' counts match their tickets: {counts_ok}; open tickets assigned or "
        f"waiting: {lines_ok}; {assigned:,} of {len(tickets):,} tickets assigned, "
        f"{len(waiting):,} waiting"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--campaigns", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--presence-every", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=1000, help="SQLite operations per unit")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    parser.add_argument("--stores", default="memory,sqlite")
    parser.add_argument("--profile", action="store_true", help="cProfile the last run with agents")
    args = parser.parse_args(argv)

    base = make_workload(args.n, args.customers, args.campaigns, QUEUES, args.seed)
    work = with_presence(base, args.presence_every, args.seed)
    gc.collect()
    gc.freeze()
    print(
        f"workload: {len(base.ops):,} operations, {base.interactions:,} interactions, "
        f"{args.customers:,} customers, {args.campaigns} campaigns, {QUEUES} lines/queues; "
        f"with agents: {AGENTS} agents, {len(work.ops) - len(base.ops)} presence changes"
    )
    status = 0
    for kind in args.stores.split(","):
        batch = args.batch if kind == "sqlite" else 0
        without: list[tuple[float, float]] = []
        with_: list[tuple[float, float]] = []
        summary = ""
        for attempt in range(max(args.repeat, 1)):
            with tempfile.TemporaryDirectory() as tmp:
                store = _store(kind, Path(tmp), "plain")
                load_workload(store, base)
                cpu, wall, _ = run(store, base, batch)
                without.append((cpu, wall))
                store.close()
                store = _store(kind, Path(tmp), "agents")
                load_workload(store, work)
                declare_agents(store, work)
                last = attempt == max(args.repeat, 1) - 1
                profiler = cProfile.Profile() if args.profile and last else None
                cpu, wall, counts = run(store, work, batch, profiler)
                with_.append((cpu, wall))
                if last:
                    summary = check(store)
                    print(f"{kind}: outcomes {dict(sorted(counts.items()))}")
                store.close()
                if profiler is not None:
                    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
        cpu0, wall0 = min(c for c, _ in without), min(w for _, w in without)
        cpu1, wall1 = min(c for c, _ in with_), min(w for _, w in with_)
        ratio = cpu1 / cpu0
        print(
            f"{kind:6}  without agents: cpu {cpu0:6.2f} s  wall {wall0:6.2f} s   "
            f"with agents: cpu {cpu1:6.2f} s  wall {wall1:6.2f} s"
        )
        print(
            f"{kind:6}  ratio with / without: {ratio:.2f} cpu, {wall1 / wall0:.2f} wall "
            f"(target <= {TARGET}: {'met' if ratio <= TARGET else 'not met'})"
        )
        print(f"{kind:6}  {summary}")
        if "False" in summary:
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
