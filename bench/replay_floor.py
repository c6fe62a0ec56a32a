"""The floor of ``ccdomain replay`` into SQLite: the hot path in plain Python + sqlite3.

Run: ``python -P bench/replay_floor.py [N] [--seed S] [--runs R]``  (default 20,000 events)

Issue 15 asks, where a target is out of reach, for "the smallest plain-Python version
of the hot path to see what the floor is". This is it for replay: the same file of
``bench/make_events.py``, read line by line in this process, with what the library's
replay does on its hot path and nothing more:

- every field of an interaction checked for its type, the time parsed
  (``datetime.fromisoformat``), the customer parsed and formatted to E.164 by
  ``phonenumbers`` (cached by the digits, so a number typed twice is parsed once);
- T9: an external id seen before is a redelivery (memory for the run, one SELECT for
  an id not seen: the file may hold it, R4);
- T1/T2/T5: the open ticket of (campaign, customer) joined, or a new one numbered by a
  counter; M4: a ticket opening is linked to the one contact of its campaign with the
  customer's number; the ticket's summary fields kept up to date;
- contacts (a row and a phone index), ``resolve`` and ``typify`` closing the customer's
  open ticket (a typification row), the collections lines stored as rows;
- an event per change; all written per batch of 2,000 lines with ``executemany`` in one
  transaction per batch (each changed ticket once), tickets and interactions as JSON
  of the library's shape.

It leaves out what the library does besides: the rules of contact hours, windows and
opt-outs, assignment, late deliveries (T10), auto-resolve, blocks, anonymized lines,
R4 for every line type, E2 for a line failing part-way, the error messages. So it is a
floor, not a rival. It prints its CPU time against the two baselines of
``bench/replay.py`` (bare parse, bare insert), all in this process; start-up (imports)
is not counted, which ``bench/replay.py``'s whole-process figure does count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberFormat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from replay import _bare_insert, _bare_parse, _customers

HERE = Path(__file__).resolve().parent
_BATCH = 2000
_E164 = PhoneNumberFormat.E164
_CHANNELS = frozenset({"whatsapp", "call", "sms", "email", "messenger", "webchat"})
_DIRECTIONS = frozenset({"inbound", "outbound"})
_SEPARATORS = str.maketrans("", "", " -().")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class _Floor:
    """The replay's hot path, plain: dicts for records, one transaction per batch."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.lines: dict[str, dict[str, Any]] = {}
        self.open: dict[tuple[str, str], dict[str, Any]] = {}
        self.ids: set[str] = set()
        self.phones: dict[tuple[str, str], str] = {}
        self.contacts_by_phone: dict[tuple[str, str], list[str]] = {}
        self.contact_count: dict[str, int] = {}
        self.number = 0
        self.seq = 0
        self.changed: dict[int, dict[str, Any]] = {}
        self.new: set[int] = set()
        self.interactions: list[tuple[int, str | None, str]] = []
        self.events: list[tuple[int, str]] = []
        self.rows: list[tuple[str, str, str]] = []
        self.typifications: list[tuple[int, str]] = []
        self.contact_rows: list[tuple[str, str, str]] = []
        self.phone_rows: list[tuple[str, str, str]] = []

    def e164(self, text: str, region: str) -> str:
        key = (text.translate(_SEPARATORS), region)
        found = self.phones.get(key)
        if found is None:
            found = phonenumbers.format_number(phonenumbers.parse(text, region), _E164)
            self.phones[key] = found
        return found

    def event(
        self, kind: str, at: str, campaign: str | None, ticket: int | None, **payload: Any
    ) -> None:
        self.seq += 1
        self.events.append(
            (
                self.seq,
                _dumps(
                    {
                        "v": 3,
                        "kind": kind,
                        "at": at,
                        "actor": None,
                        "campaign": campaign,
                        "ticket": ticket,
                        "contact": None,
                        "payload": payload,
                        "seq": self.seq,
                    }
                ),
            )
        )

    def apply(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "interaction":
            self.interaction(event)
        elif kind in ("resolve", "typify"):
            self.close(event)
        elif kind == "contact":
            self.contact(event)
        elif kind == "campaign":
            self.campaigns[event["id"]] = event
            self.rows.append(("campaigns", event["id"], _dumps(event)))
        elif kind == "line":
            self.lines[event["id"]] = event
            self.rows.append(("lines", event["id"], _dumps(event)))
        else:  # collections: stored as they come (their rules are not the hot path)
            self.rows.append((kind, str(self.seq), _dumps(event)))
            self.event(kind, "1970-01-01T00:00:00+00:00", event.get("campaign"), None)

    def interaction(self, e: dict[str, Any]) -> None:
        at_text = e["at"]
        if type(at_text) is not str:
            raise ValueError("at")
        dt.datetime.fromisoformat(at_text)
        external_id = e.get("id")
        channel, direction = e["channel"], e["direction"]
        if channel not in _CHANNELS or direction not in _DIRECTIONS:
            raise ValueError("channel")
        for name in ("line", "campaign", "agent", "text", "status"):
            value = e.get(name)
            if value is not None and type(value) is not str:
                raise ValueError(name)
        duration = e.get("duration_s")
        if duration is not None and type(duration) is not int:
            raise ValueError("duration_s")
        if external_id is not None:
            if external_id in self.ids:
                return  # T9: a redelivery
            if self.db.execute(
                "SELECT 1 FROM interactions WHERE external_id = ?", (external_id,)
            ).fetchone():
                return
            self.ids.add(external_id)
        line = self.lines[e["line"]]
        campaign_id = e.get("campaign") or line["campaign"]
        customer = self.e164(e["customer"], self.campaigns[campaign_id]["region"])
        key = (campaign_id, customer)
        ticket = self.open.get(key)
        agent = e.get("agent")
        if ticket is None:
            self.number += 1
            contacts = self.contacts_by_phone.get(key, [])
            ticket = {
                "number": self.number,
                "campaign": campaign_id,
                "customer": customer,
                "origin": direction,
                "opened_at": at_text,
                "status": "open",
                "queue": line.get("queue"),
                "line": line["id"],
                "alias": line.get("alias"),
                "contact": contacts[0] if len(contacts) == 1 else None,
                "channels": [],
                "labels": [],
                "assignee": None,
                "last_agent": None,
                "last_activity_at": None,
                "last_channel": None,
                "last_action": None,
                "interactions": 0,
                "closed_at": None,
                "closed_by": None,
                "paused_at": None,
                "snoozed_until": None,
                "pending_spans": [],
            }
            self.open[key] = ticket
            self.new.add(self.number)
            self.event("ticket_opened", at_text, campaign_id, self.number, origin=direction)
        number = ticket["number"]
        if channel not in ticket["channels"]:
            ticket["channels"].append(channel)
        if agent is not None:
            ticket["last_agent"] = agent
        ticket["last_activity_at"] = at_text
        ticket["last_channel"] = channel
        status = e.get("status")
        ticket["last_action"] = f"{status} {duration} s" if duration is not None else status
        ticket["interactions"] += 1
        self.changed[number] = ticket
        record = {
            "at": at_text,
            "channel": channel,
            "direction": direction,
            "customer": customer,
            "external_id": external_id,
            "line": line["id"],
            "campaign": campaign_id,
            "agent": agent,
            "text": e.get("text"),
            "status": status,
            "duration_s": duration,
            "ticket": number,
        }
        self.interactions.append((number, external_id, _dumps(record)))
        self.event("interaction_added", at_text, campaign_id, number, interaction=record)

    def close(self, e: dict[str, Any]) -> None:
        campaign = self.campaigns[e["campaign"]]
        customer = self.e164(e["customer"], campaign["region"])
        ticket = self.open.pop((campaign["id"], customer), None)
        if ticket is None:
            return
        dt.datetime.fromisoformat(e["at"])
        ticket["status"] = "resolved"
        ticket["closed_at"] = e["at"]
        ticket["closed_by"] = e["agent"]
        self.changed[ticket["number"]] = ticket
        if e["type"] == "typify":
            self.typifications.append((ticket["number"], _dumps({"path": e["path"]})))
        self.event("ticket_closed", e["at"], campaign["id"], ticket["number"])

    def contact(self, e: dict[str, Any]) -> None:
        campaign = self.campaigns[e["campaign"]]
        count = self.contact_count.get(campaign["id"], 0) + 1
        self.contact_count[campaign["id"]] = count
        code = f"C-{count}"
        for channel in e.get("channels", ()):
            if channel["kind"] == "phone":
                phone = self.e164(channel["value"], campaign["region"])
                self.contacts_by_phone.setdefault((campaign["id"], phone), []).append(code)
                self.phone_rows.append((phone, campaign["id"], code))
        self.contact_rows.append((campaign["id"], code, _dumps(e)))
        self.event("contact_created", "1970-01-01T00:00:00+00:00", campaign["id"], None)

    def flush(self) -> None:
        """One batch: each changed ticket once, every table with executemany, one commit."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        changed = self.changed
        db.executemany(
            "INSERT INTO tickets (number, campaign, customer, status, contact, data) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (number) DO UPDATE SET "
            "status = excluded.status, contact = excluded.contact, data = excluded.data",
            [
                (n, t["campaign"], t["customer"], t["status"], t["contact"], _dumps(t))
                for n, t in changed.items()
            ],
        )
        db.executemany(
            "INSERT INTO interactions (ticket, external_id, data) VALUES (?, ?, ?)",
            self.interactions,
        )
        db.executemany("INSERT INTO events (seq, data) VALUES (?, ?)", self.events)
        db.executemany("INSERT INTO typifications (ticket, data) VALUES (?, ?)", self.typifications)
        db.executemany(
            "INSERT INTO contacts (campaign, code, data) VALUES (?, ?, ?)", self.contact_rows
        )
        db.executemany(
            "INSERT INTO phone_index (key, campaign, code) VALUES (?, ?, ?)", self.phone_rows
        )
        db.executemany("INSERT INTO other (kind, id, data) VALUES (?, ?, ?)", self.rows)
        db.execute(
            "INSERT OR REPLACE INTO counters (name, value) VALUES ('ticket', ?)", (self.number,)
        )
        db.execute("COMMIT")
        for items in (
            self.interactions,
            self.events,
            self.typifications,
            self.contact_rows,
            self.phone_rows,
            self.rows,
        ):
            items.clear()
        changed.clear()
        self.new.clear()


_SCHEMA = (
    "CREATE TABLE tickets (number INTEGER PRIMARY KEY, campaign TEXT NOT NULL, "
    "customer TEXT NOT NULL, status TEXT NOT NULL, contact TEXT, data TEXT NOT NULL)",
    "CREATE UNIQUE INDEX tickets_one_open ON tickets (campaign, customer) WHERE status = 'open'",
    "CREATE INDEX tickets_by_customer ON tickets (customer, campaign, number)",
    "CREATE TABLE interactions (seq INTEGER PRIMARY KEY, ticket INTEGER NOT NULL "
    "REFERENCES tickets (number), external_id TEXT UNIQUE, data TEXT NOT NULL)",
    "CREATE INDEX interactions_by_ticket ON interactions (ticket, seq)",
    "CREATE TABLE events (seq INTEGER PRIMARY KEY, data TEXT NOT NULL)",
    "CREATE TABLE typifications (seq INTEGER PRIMARY KEY, ticket INTEGER NOT NULL, data TEXT)",
    "CREATE TABLE contacts (campaign TEXT, code TEXT, data TEXT, PRIMARY KEY (campaign, code))",
    "CREATE TABLE phone_index (key TEXT, campaign TEXT, code TEXT)",
    "CREATE INDEX phone_index_by_key ON phone_index (key)",
    "CREATE TABLE other (kind TEXT, id TEXT, data TEXT)",
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)


def floor(path: Path, db_path: Path) -> float:
    """CPU seconds of the plain replay of ``path`` into a new SQLite file."""
    cpu = time.process_time()
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    for sql in _SCHEMA:
        db.execute(sql)
    plain = _Floor(db)
    with path.open(encoding="utf-8") as lines:
        in_batch = 0
        for line in lines:
            plain.apply(json.loads(line))
            in_batch += 1
            if in_batch == _BATCH:
                plain.flush()
                in_batch = 0
    plain.flush()
    db.close()
    return time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The floor of ccdomain replay, plain Python.")
    parser.add_argument("n", type=int, nargs="?", default=20_000, help="events (20,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ccdomain-floor-") as tmp:
        folder = Path(tmp)
        events = folder / "events.jsonl"
        generate = [sys.executable, "-P", str(HERE / "make_events.py"), str(args.n)]
        with events.open("w", encoding="utf-8") as out:
            subprocess.run([*generate, "--seed", str(args.seed)], stdout=out, check=True)
        customers = _customers(events)
        floors = [floor(events, folder / f"floor-{run}.sqlite") for run in range(args.runs)]
        parse_cpu = min(_bare_parse(customers)[1] for _ in range(args.runs))
        insert_cpu = min(
            _bare_insert(events, folder / f"bare-{run}.sqlite")[1] for run in range(args.runs)
        )
    best = min(floors)
    print(f"events:               {args.n:,} ({len(customers):,} with a customer string)")
    print(
        f"floor (in process):   {best:.2f} s cpu  {1e6 * best / args.n:.1f} us/event "
        f"(runs: {', '.join(f'{f:.2f}' for f in floors)})"
    )
    print(f"bare parse + format:  {parse_cpu:.2f} s cpu")
    print(f"bare insert:          {insert_cpu:.2f} s cpu")
    print(f"ratio floor / parse:  {best / parse_cpu:.2f} (replay target <= 3)")
    print(f"ratio floor / insert: {best / insert_cpu:.2f} (replay target <= 12)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
