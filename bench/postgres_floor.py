"""Benchmark: the floor of routing one message per PostgreSQL transaction (issue 16).

How fast can any PostgreSQL store route the workload of ``bench/postgres.py`` on this
machine, a transaction per message? This script strips routing down to the writes
its guarantees need and runs them through plain psycopg 3, next to the same statements
in a bare SQLite file and the library's SQLite store, and prints messages per second,
round trips per message, the ratios and where the CPU went.

One routed message, in one transaction: refuse a repeated external id (unique index on
``interaction.external_id``); find the open ticket of (campaign, customer) with a row
lock (a partial unique index keeps one open ticket per pair); when there is none, take
the next gap-free number from the ``ticket`` counter row (held until commit) and insert
the ticket, else rewrite it (JSON text, ~600 bytes); insert the interaction (~300 bytes)
and append one event (~400 bytes); commit. A resolve or typify closes the open ticket
and appends an event. The messages are the workload's (``bench/workload.py``): the
campaign of an inbound message is its line's, the customer the last nine digits.

Variants, each run with 1, 2 and 4 worker processes sharing the work by customer:

* ``plain``: a statement per round trip (``BEGIN``, lookups, writes, ``COMMIT``): 7-8
  round trips per routed message;
* ``pipeline``: psycopg's pipeline mode, the lookups with ``BEGIN`` in one round trip, the
  writes (the opening as one statement of data-modifying CTEs) with ``COMMIT`` in a
  second: 2 round trips;
* ``function``: one call of a PL/pgSQL function that does it all, in autocommit: 1.

It also measures the median ``SELECT 1`` round trip with 1, 2 and 4 client processes
looping at once, and for every PostgreSQL run the CPU seconds of the client processes
and of the server's processes (``/proc/<pid>/stat`` of the postmaster's children). The
server is a throwaway one (tests/postgres_server.py: ``fsync=off``, unix socket) on the
same machine unless ``--dsn`` names one (then the server CPU is not read).

    python bench/postgres_floor.py [--n 6000] [--customers 600] [--workers 1,2,4]
        [--variants plain,pipeline,function] [--library] [--dsn DSN]

``--library`` also runs the library's PostgresStore with one worker (``bench/postgres.py``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from workload import Workload, load_workload, make_workload

from ccdomain import phones
from ccdomain.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")

# (kind, campaign, customer, external id or None, at); kind is "route" or "close".
Message = tuple[str, str, str, str | None, str]

SCHEMA = """
CREATE TABLE counter (name text PRIMARY KEY, value bigint NOT NULL);
INSERT INTO counter VALUES ('ticket', 0);
CREATE TABLE ticket (
    number bigint PRIMARY KEY, campaign text NOT NULL, customer text NOT NULL,
    open boolean NOT NULL, body text NOT NULL
);
CREATE UNIQUE INDEX ticket_open ON ticket (campaign, customer) WHERE open;
CREATE TABLE interaction (
    id {serial} PRIMARY KEY, external_id text UNIQUE, ticket bigint NOT NULL,
    body text NOT NULL
);
CREATE TABLE event (seq {serial} PRIMARY KEY, body text NOT NULL);
"""

FUNCTIONS = """
CREATE FUNCTION route(p_campaign text, p_customer text, p_external text,
                      p_ticket text, p_interaction text, p_event text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE n bigint; outcome text;
BEGIN
    IF p_external IS NOT NULL
       AND EXISTS (SELECT 1 FROM interaction WHERE external_id = p_external) THEN
        RETURN 'duplicate';
    END IF;
    SELECT number INTO n FROM ticket
     WHERE campaign = p_campaign AND customer = p_customer AND open FOR UPDATE;
    IF n IS NULL THEN
        UPDATE counter SET value = value + 1 WHERE name = 'ticket' RETURNING value INTO n;
        INSERT INTO ticket VALUES (n, p_campaign, p_customer, true, p_ticket);
        outcome := 'opened';
    ELSE
        UPDATE ticket SET body = p_ticket WHERE number = n;
        outcome := 'attached';
    END IF;
    INSERT INTO interaction (external_id, ticket, body) VALUES (p_external, n, p_interaction);
    INSERT INTO event (body) VALUES (p_event);
    RETURN outcome;
END $$;
CREATE FUNCTION close(p_campaign text, p_customer text, p_ticket text, p_event text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    UPDATE ticket SET open = false, body = p_ticket
     WHERE campaign = p_campaign AND customer = p_customer AND open RETURNING number INTO n;
    IF n IS NULL THEN
        RETURN 'missing';
    END IF;
    INSERT INTO event (body) VALUES (p_event);
    RETURN 'closed';
END $$;
"""

OPEN_CTE = (
    "WITH n AS (UPDATE counter SET value = value + 1 WHERE name = 'ticket' RETURNING value),"
    " t AS (INSERT INTO ticket SELECT value, %s, %s, true, %s FROM n RETURNING number)"
    " INSERT INTO interaction (external_id, ticket, body) SELECT %s, number, %s FROM t"
)
CLOSE_CTE = (
    "WITH t AS (UPDATE ticket SET open = false, body = %s"
    " WHERE campaign = %s AND customer = %s AND open RETURNING number)"
    " INSERT INTO event (body) SELECT %s FROM t RETURNING seq"
)
FIND = "SELECT number FROM ticket WHERE campaign = %s AND customer = %s AND open FOR UPDATE"
DUP = "SELECT 1 FROM interaction WHERE external_id = %s"


def messages(work: Workload) -> list[Message]:
    """The workload's operations as the floor's messages."""
    line_campaign = {line.id: line.campaign for line in work.lines}
    found: list[Message] = []
    for op in work.ops:
        f = op.fields
        customer = re.sub(r"\D", "", str(f["customer"]))[-9:]
        campaign = f.get("campaign") or line_campaign[f["line"]]
        kind = "route" if op.kind == "route" else "close"
        found.append((kind, campaign, customer, f.get("external_id"), f["at"].isoformat()))
    return found


def share(msgs: list[Message], worker: int, workers: int) -> list[Message]:
    """The messages of the customers that fall to ``worker``; a repeated external id goes
    with the customer that first used it (as in ``bench/postgres.py``)."""
    owner: dict[str, str] = {}
    mine = []
    for m in msgs:
        customer = m[2] if m[3] is None else owner.setdefault(m[3], m[2])
        if int(customer) % workers == worker:
            mine.append(m)
    return mine


def bodies(m: Message) -> tuple[str, str, str]:
    """The ticket (~600 bytes), interaction (~300) and event (~400) JSON texts of ``m``."""
    kind, campaign, customer, external_id, at = m
    ticket = json.dumps(
        {"campaign": campaign, "customer": customer, "at": at, "state": kind, "pad": "t" * 500}
    )
    interaction = json.dumps({"external_id": external_id, "at": at, "pad": "i" * 220})
    event = json.dumps({"kind": kind, "campaign": campaign, "at": at, "pad": "e" * 320})
    return ticket, interaction, event


# --- PostgreSQL variants: each returns (outcome, round trips) -----------------------------


def pg_plain(conn: Any, m: Message) -> tuple[str, int]:
    """A statement per round trip."""
    kind, campaign, customer, external_id, _ = m
    ticket, interaction, event = bodies(m)
    conn.execute("BEGIN")
    trips = 1
    if kind == "close":
        row = conn.execute(FIND, (campaign, customer)).fetchone()
        trips += 1
        if row is not None:
            conn.execute(
                "UPDATE ticket SET open = false, body = %s WHERE number = %s", (ticket, row[0])
            )
            conn.execute("INSERT INTO event (body) VALUES (%s)", (event,))
            trips += 2
        conn.execute("COMMIT")
        return ("closed" if row else "missing"), trips + 1
    if external_id is not None:
        trips += 1
        if conn.execute(DUP, (external_id,)).fetchone() is not None:
            conn.execute("COMMIT")
            return "duplicate", trips + 1
    row = conn.execute(FIND, (campaign, customer)).fetchone()
    trips += 1
    if row is None:
        (number,) = conn.execute(
            "UPDATE counter SET value = value + 1 WHERE name = 'ticket' RETURNING value"
        ).fetchone()
        conn.execute(
            "INSERT INTO ticket VALUES (%s, %s, %s, true, %s)", (number, campaign, customer, ticket)
        )
        trips += 2
        outcome = "opened"
    else:
        number = row[0]
        conn.execute("UPDATE ticket SET body = %s WHERE number = %s", (ticket, number))
        trips += 1
        outcome = "attached"
    conn.execute(
        "INSERT INTO interaction (external_id, ticket, body) VALUES (%s, %s, %s)",
        (external_id, number, interaction),
    )
    conn.execute("INSERT INTO event (body) VALUES (%s)", (event,))
    conn.execute("COMMIT")
    return outcome, trips + 3


def pg_pipeline(conn: Any, m: Message) -> tuple[str, int]:
    """The lookups in one round trip, the writes with COMMIT in a second."""
    kind, campaign, customer, external_id, _ = m
    ticket, interaction, event = bodies(m)
    if kind == "close":
        with conn.pipeline():
            conn.execute("BEGIN")
            cur = conn.execute(CLOSE_CTE, (ticket, campaign, customer, event))
            conn.execute("COMMIT")
        return ("closed" if cur.fetchone() else "missing"), 1
    with conn.pipeline() as p:
        conn.execute("BEGIN")
        dup = conn.execute(DUP, (external_id,)) if external_id is not None else None
        find = conn.execute(FIND, (campaign, customer))
        p.sync()
        if dup is not None and dup.fetchone() is not None:
            conn.execute("COMMIT")
            outcome = "duplicate"
        else:
            row = find.fetchone()
            if row is None:
                conn.execute(OPEN_CTE, (campaign, customer, ticket, external_id, interaction))
                outcome = "opened"
            else:
                conn.execute("UPDATE ticket SET body = %s WHERE number = %s", (ticket, row[0]))
                conn.execute(
                    "INSERT INTO interaction (external_id, ticket, body) VALUES (%s, %s, %s)",
                    (external_id, row[0], interaction),
                )
                outcome = "attached"
            conn.execute("INSERT INTO event (body) VALUES (%s)", (event,))
            conn.execute("COMMIT")
    return outcome, 2


def pg_function(conn: Any, m: Message) -> tuple[str, int]:
    """One call of a server-side function, its own transaction (autocommit)."""
    kind, campaign, customer, external_id, _ = m
    ticket, interaction, event = bodies(m)
    if kind == "close":
        row = conn.execute("SELECT close(%s, %s, %s, %s)", (campaign, customer, ticket, event))
    else:
        row = conn.execute(
            "SELECT route(%s, %s, %s, %s, %s, %s)",
            (campaign, customer, external_id, ticket, interaction, event),
        )
    return row.fetchone()[0], 1


VARIANTS = {"plain": pg_plain, "pipeline": pg_pipeline, "function": pg_function}


def sqlite_bare(db: sqlite3.Connection, m: Message) -> str:
    """The plain variant's statements in a SQLite file."""
    kind, campaign, customer, external_id, _ = m
    ticket, interaction, event = bodies(m)
    find = "SELECT number FROM ticket WHERE campaign = ? AND customer = ? AND open"
    db.execute("BEGIN IMMEDIATE")
    try:
        if kind == "close":
            row = db.execute(find, (campaign, customer)).fetchone()
            if row is not None:
                db.execute(
                    "UPDATE ticket SET open = 0, body = ? WHERE number = ?", (ticket, row[0])
                )
                db.execute("INSERT INTO event (body) VALUES (?)", (event,))
            return "closed" if row else "missing"
        if (
            external_id is not None
            and db.execute(
                "SELECT 1 FROM interaction WHERE external_id = ?", (external_id,)
            ).fetchone()
        ):
            return "duplicate"
        row = db.execute(find, (campaign, customer)).fetchone()
        if row is None:
            (number,) = db.execute(
                "UPDATE counter SET value = value + 1 WHERE name = 'ticket' RETURNING value"
            ).fetchone()
            db.execute(
                "INSERT INTO ticket VALUES (?, ?, ?, 1, ?)", (number, campaign, customer, ticket)
            )
            outcome = "opened"
        else:
            number = row[0]
            db.execute("UPDATE ticket SET body = ? WHERE number = ?", (ticket, number))
            outcome = "attached"
        db.execute(
            "INSERT INTO interaction (external_id, ticket, body) VALUES (?, ?, ?)",
            (external_id, number, interaction),
        )
        db.execute("INSERT INTO event (body) VALUES (?)", (event,))
        return outcome
    finally:
        db.execute("COMMIT")


# --- CPU accounting --------------------------------------------------------------------


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def server_cpu(postmaster: int | None) -> dict[int, float]:
    """CPU seconds so far of the postmaster and each of its living children, by process id.

    A backend ends when its client disconnects, so the workers read their backends' CPU
    themselves; this covers the rest (writers, checkpointer, the postmaster).
    """
    if postmaster is None:
        return {}
    found = {postmaster: cpu_of(postmaster)}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == postmaster:
                found[int(entry)] = (int(stat[11]) + int(stat[12])) / TICKS
    return found


class ServerCpu:
    """CPU seconds the server's processes spend while it runs, read every 50 ms.

    A backend ends when its client disconnects, taking its ``/proc`` entry with it, so the
    last reading of each process counts; a process born meanwhile counts from zero.
    """

    def __init__(self, postmaster: int | None) -> None:
        import threading

        self.postmaster = postmaster
        self.first = server_cpu(postmaster)
        self.last = dict(self.first)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        while not self.done.wait(0.05):
            self.last.update(server_cpu(self.postmaster))

    def stop(self) -> float:
        """Stop reading; the seconds spent since the start."""
        self.done.set()
        self.thread.join()
        self.last.update(server_cpu(self.postmaster))
        return sum(cpu - self.first.get(pid, 0.0) for pid, cpu in self.last.items())


# --- worker processes ------------------------------------------------------------------


def pg_worker(
    dsn: str, variant: str, msgs: list[Message], start: Any
) -> tuple[dict[str, int], int, float, float]:
    """Route ``msgs`` with ``variant``: outcomes, round trips, client CPU, backend CPU."""
    import psycopg

    step = VARIANTS[variant]
    counts: dict[str, int] = {}
    trips = 0
    with psycopg.connect(dsn, autocommit=True, options="-c search_path=floor") as conn:
        (backend,) = conn.execute("SELECT pg_backend_pid()").fetchone()  # type: ignore[misc]
        start.wait()
        cpu, backend_cpu = time.process_time(), cpu_of(backend)
        for m in msgs:
            outcome, n = step(conn, m)
            counts[outcome] = counts.get(outcome, 0) + 1
            trips += n
        cpu, backend_cpu = time.process_time() - cpu, cpu_of(backend) - backend_cpu
    return counts, trips, cpu, backend_cpu


def ping_worker(dsn: str, seconds: float, start: Any) -> list[float]:
    """``SELECT 1`` round trips, back to back for ``seconds``: each one's seconds."""
    import psycopg

    times: list[float] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        start.wait()
        end = time.perf_counter() + seconds
        while (now := time.perf_counter()) < end:
            conn.execute(b"SELECT 1").fetchone()
            times.append(time.perf_counter() - now)
    return times


def in_processes(
    count: int, target: Any, argsets: list[tuple[Any, ...]]
) -> tuple[float, list[Any]]:
    """Run ``target`` in ``count`` spawned processes started together: wall seconds, results."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Manager().Barrier(count + 1)
    with ctx.Pool(count) as pool:
        pending = [pool.apply_async(target, (*a, start)) for a in argsets]
        start.wait()
        began = time.perf_counter()
        results = [p.get() for p in pending]
        return time.perf_counter() - began, results


def reset(dsn: str) -> None:
    """A fresh ``floor`` schema with its tables and functions."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS floor CASCADE")
        conn.execute("CREATE SCHEMA floor")
        conn.execute("SET search_path = floor")
        conn.execute(SCHEMA.format(serial="bigserial"))  # type: ignore[arg-type]
        conn.execute(FUNCTIONS)  # type: ignore[arg-type]


def postmaster_pid(dsn: str) -> int | None:
    """The server's postmaster process id (the parent of a backend), when it runs here."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        (backend,) = conn.execute("SELECT pg_backend_pid()").fetchone()  # type: ignore[misc]
        try:
            stat = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
    return int(stat[1])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6_000)
    parser.add_argument("--customers", type=int, default=600)
    parser.add_argument("--campaigns", type=int, default=5)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", default="1,2,4", help="PostgreSQL worker counts")
    parser.add_argument("--variants", default="plain,pipeline,function")
    parser.add_argument("--ping", type=float, default=2.0, help="seconds of each SELECT 1 run")
    parser.add_argument("--library", action="store_true", help="also the library PostgresStore")
    parser.add_argument("--dsn", help="a PostgreSQL database (default: a throwaway server)")
    args = parser.parse_args(argv)

    work = make_workload(args.n, args.customers, args.campaigns, args.lines, args.seed)
    msgs = messages(work)
    print(f"workload: {len(msgs):,} messages ({work.interactions:,} routed), load {load()}")
    rates: dict[str, float] = {}

    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqliteStore(Path(tmp) / "lib.db")
        load_workload(sqlite, work)
        phones._normalize.cache_clear()
        from postgres import run_batches

        began, cpu = time.perf_counter(), time.process_time()
        run_batches(sqlite, work, 1)
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        sqlite.close()
        rates["sqlite library"] = len(msgs) / wall
        report("sqlite library", 1, wall, cpu, None, None, len(msgs))

        db = sqlite3.connect(Path(tmp) / "bare.db", isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL").fetchall()
        db.execute("PRAGMA synchronous = NORMAL")
        db.executescript(SCHEMA.format(serial="INTEGER"))
        bare: dict[str, int] = {}
        began, cpu = time.perf_counter(), time.process_time()
        for m in msgs:
            outcome = sqlite_bare(db, m)
            bare[outcome] = bare.get(outcome, 0) + 1
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        db.close()
        rates["sqlite bare"] = len(msgs) / wall
        report("sqlite bare", 1, wall, cpu, None, None, len(msgs))
        print(f"  outcomes: {dict(sorted(bare.items()))}")

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
    same = True
    try:
        postmaster = postmaster_pid(dsn) if server is not None else None
        for count in (1, 2, 4):
            _, results = in_processes(count, ping_worker, [(dsn, args.ping)] * count)
            times = [t for r in results for t in r]
            print(
                f"SELECT 1, {count} client process{'es' if count > 1 else '  '}: median "
                f"{statistics.median(times) * 1000:.3f} ms, "
                f"{len(times) / args.ping:8,.0f} round trips/s in all  load {load()}"
            )
        worker_counts = [int(w) for w in args.workers.split(",")]
        for variant in args.variants.split(","):
            for workers in worker_counts:
                reset(dsn)
                server_before = ServerCpu(postmaster)
                wall, results = in_processes(
                    workers,
                    pg_worker,
                    [(dsn, variant, share(msgs, i, workers)) for i in range(workers)],
                )
                server_used = server_before.stop()
                counts: dict[str, int] = {}
                for part in results:
                    for key, value in part[0].items():
                        counts[key] = counts.get(key, 0) + value
                trips = sum(r[1] for r in results)
                name = f"pg {variant}"
                rates[f"{name} {workers}"] = len(msgs) / wall
                report(
                    name,
                    workers,
                    wall,
                    sum(r[2] for r in results),
                    sum(r[3] for r in results),
                    server_used if postmaster else None,
                    len(msgs),
                    trips,
                )
                ok = counts == bare
                same = same and ok
                if not ok:
                    print(f"  outcomes differ from SQLite bare: {dict(sorted(counts.items()))}")
        if args.library:
            from postgres import run_postgres

            lib_args = argparse.Namespace(**vars(args), batch=1)
            server_before = ServerCpu(postmaster)
            try:
                wall, cpu, _, statements = run_postgres(lib_args, dsn, 1)
            except Exception as error:  # a store lacking a port is reported
                server_before.stop()
                print(f"pg library      failed: {type(error).__name__}: {error}")
            else:
                server_used = server_before.stop()
                rates["pg library 1"] = len(msgs) / wall
                report("pg library", 1, wall, cpu, None, server_used, len(msgs), statements)
    finally:
        if server is not None:
            server.stop()

    base = rates["sqlite library"]
    print("ratios, sqlite library rate / this rate (target for the library: <= 3):")
    for name, value in rates.items():
        print(f"  {name:22} {base / value:6.2f}")
    for variant in args.variants.split(","):
        one = rates.get(f"pg {variant} 1")
        if one:
            scaled = ", ".join(
                f"{w} workers {rates[f'pg {variant} {w}'] / one:.2f}"
                for w in worker_counts
                if w > 1
            )
            print(f"  pg {variant}: x over 1 worker: {scaled} (target for 4: >= 1.6)")
    return 0 if same else 1


def load() -> str:
    """The 1-minute load average now."""
    return f"{os.getloadavg()[0]:.2f}"


def report(
    name: str,
    workers: int,
    wall: float,
    cpu: float,
    backend: float | None,
    server: float | None,
    messages: int,
    trips: int | None = None,
) -> None:
    """One line of figures."""
    extra = f", {trips / messages:.2f} round trips/msg" if trips is not None else ""
    if server is not None:
        extra += f", server CPU {server:.2f} s"
    if backend is not None:
        extra += f" (backends {backend:.2f} s)"
    print(
        f"{name:15} {workers} proc  {wall:7.2f} s wall, client CPU {cpu:6.2f} s{extra}, "
        f"{messages / wall:7,.0f} msg/s  load {load()}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
