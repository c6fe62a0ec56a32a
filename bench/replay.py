"""Benchmark of ``ccdomain replay`` against bare phone parsing of the same customers.

Run: ``python -P bench/replay.py [N] [--seed S]``  (default 100,000 events)

It writes N synthetic events (bench/make_events.py), times ``ccdomain replay`` into a
fresh SQLite file as a whole process (start-up, imports, commits: what a user waits
for), then, in this process, two baselines over the same file:

- bare parsing: ``phonenumbers.parse`` + ``format_number(E164)`` over its customer
  strings (target: replay / bare parsing <= 3);
- bare insert: read each line, ``json.loads`` it and INSERT it as one row of a new
  SQLite file, all in one transaction (target: replay / bare insert <= 12).

It prints events per second, both ratios in wall and CPU time (on a busy machine the
CPU seconds are the fairer comparison; the verdict uses them) and the replay's peak
RSS. Each figure is the best of ``--runs`` runs (default 1 for the replay, 3 for the
baselines).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat

HERE = Path(__file__).resolve().parent
TARGET = 3.0  # replay / bare parsing
TARGET_INSERT = 12.0  # replay / bare insert


def _command() -> list[str]:
    script = Path(sys.executable).parent / "ccdomain"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ccdomain"]


def _customers(path: Path) -> list[tuple[str, str]]:
    """(customer string, region) of every event that names a customer."""
    out = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            event = json.loads(line)
            if isinstance(event.get("customer"), str):
                out.append((event["customer"], "PE"))
    return out


def _bare_parse(customers: list[tuple[str, str]]) -> tuple[float, float]:
    """Wall and CPU seconds of parse + format over the customer strings."""
    e164 = PhoneNumberFormat.E164
    start, cpu = time.perf_counter(), time.process_time()
    for text, region in customers:
        phonenumbers.format_number(phonenumbers.parse(text, region), e164)
    return time.perf_counter() - start, time.process_time() - cpu


def _bare_insert(path: Path, db: Path) -> tuple[float, float]:
    """Wall and CPU seconds to read, ``json.loads`` and INSERT every line, one transaction."""
    start, cpu = time.perf_counter(), time.process_time()
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, type TEXT, data TEXT)")
        conn.execute("BEGIN")
        insert = "INSERT INTO events (type, data) VALUES (?, ?)"
        execute, loads = conn.execute, json.loads
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                execute(insert, (loads(line)["type"], line))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return time.perf_counter() - start, time.process_time() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    """Generate, replay, parse; print the figures. Exit 1 when the ratio misses the target."""
    parser = argparse.ArgumentParser(description="Benchmark ccdomain replay.")
    parser.add_argument("n", type=int, nargs="?", default=100_000, help="events (100,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=1, help="replay runs (best is kept)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="ccdomain-bench-"))
    try:
        events = folder / "events.jsonl"
        generate = [sys.executable, "-P", str(HERE / "make_events.py"), str(args.n)]
        with events.open("w", encoding="utf-8") as out:
            subprocess.run(
                [*generate, "--seed", str(args.seed)],
                stdout=out,
                check=True,
            )
        customers = _customers(events)
        replay_s = replay_cpu = float("inf")
        for run in range(args.runs):
            db = folder / f"replay-{run}.sqlite"
            start, cpu = time.perf_counter(), _children_cpu()
            done = subprocess.run(
                [*_command(), "replay", str(events), "--db", str(db), "--keep-going"],
                capture_output=True,
                text=True,
                check=False,
            )
            replay_s = min(replay_s, time.perf_counter() - start)
            replay_cpu = min(replay_cpu, _children_cpu() - cpu)
            if done.returncode == 2:
                sys.stderr.write(done.stdout + done.stderr)
                return 2
            if done.returncode == 1:  # every line is valid: only a missing service does this
                sys.stderr.write(done.stderr[-2000:])
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        summary = done.stdout
        parse_s, parse_cpu = min(_bare_parse(customers) for _ in range(3))
        inserts = [_bare_insert(events, folder / f"bare-{run}.sqlite") for run in range(3)]
        insert_s, insert_cpu = min(t[0] for t in inserts), min(t[1] for t in inserts)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(summary.rstrip())
    print()
    print(f"events:                {args.n:,} ({len(customers):,} with a customer string)")
    print(f"replay (process):      {replay_s:.2f} s  {args.n / replay_s:,.0f} events/s")
    print(f"  peak RSS:            {peak:.0f} MiB (the replay process, or the generator if larger)")
    print(f"bare parse + format:   {parse_s:.2f} s  {len(customers) / parse_s:,.0f} numbers/s")
    print(f"bare insert:           {insert_s:.2f} s  {args.n / insert_s:,.0f} events/s")
    cpu_ratio = replay_cpu / parse_cpu
    insert_ratio = replay_cpu / insert_cpu
    print(
        f"ratio replay / parse:  {cpu_ratio:.2f} cpu, {replay_s / parse_s:.2f} wall "
        f"(target <= {TARGET:g}: {'met' if cpu_ratio <= TARGET else 'not met'})"
    )
    print(
        f"ratio replay / insert: {insert_ratio:.2f} cpu, {replay_s / insert_s:.2f} wall "
        f"(target <= {TARGET_INSERT:g}: {'met' if insert_ratio <= TARGET_INSERT else 'not met'})"
    )
    print(f"cpu: replay {replay_cpu:.2f} s, parse {parse_cpu:.2f} s, insert {insert_cpu:.2f} s")
    print(f"cpus: {os.cpu_count()}  python: {sys.version.split()[0]}")
    return 0 if cpu_ratio <= TARGET and insert_ratio <= TARGET_INSERT else 1


if __name__ == "__main__":
    sys.exit(main())
