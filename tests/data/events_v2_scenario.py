"""A scenario that records every event kind, and the capture of a version-2 database.

``scenario(store)`` replays the bundled demo plus lines and service calls that
record the kinds the demo lacks (comments, a cancel, labels, assignments, a
contact update, a block with a refused interaction, an unblock, an anonymization).
It uses only calls whose shape is the same before and after typed events, so it
runs on both.

Run as a script with the code of ccdomain 0.x before typed events (schema
version 2, ``Event.data`` dicts of strings) on the path, it captures the database
that code writes into ``events_v2.jsonl``: the schema statements, then every row
of every table, one JSON object a line::

    PYTHONPATH=/work/main/src python tests/data/events_v2_scenario.py

``tests/test_event_codec.py`` builds a version-2 file from it by hand and opens it
with the current store, which migrates it.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import sqlite3
import sys
import tempfile
from importlib import resources
from typing import Any

from ccdomain import contacts, replay, tickets
from ccdomain.ports import Store

HERE = pathlib.Path(__file__).parent
CAPTURE = HERE / "events_v2.jsonl"
LIMA = dt.timezone(dt.timedelta(hours=-5))


def _at(hhmm: str) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime(2026, 11, 20, hour, minute, tzinfo=LIMA)


def _lines(*events: dict[str, Any]) -> list[str]:
    return [json.dumps(e, ensure_ascii=False) for e in events]


def scenario(store: Store) -> None:
    """Record events of every kind in ``store`` (which must be empty)."""
    demo = resources.files("ccdomain").joinpath("data", "demo.jsonl").read_text("utf-8")
    done = replay.replay(store, demo.splitlines())
    assert not done.bad_lines, done.bad_lines
    first = _lines(
        {
            "type": "comment",
            "ticket": 10,
            "agent": "ana",
            "at": "2026-11-20T10:10:00-05:00",
            "text": "Pide el catálogo de Navidad",
        },
        {
            "type": "comment",
            "ticket": 3,
            "agent": "ana",
            "at": "2026-11-20T10:11:00-05:00",
            "text": "Cliente molesto",
        },
        {"type": "cancel", "ticket": 3, "agent": "sup1", "at": "2026-11-20T10:12:00-05:00"},
    )
    done = replay.replay(store, first)
    assert not done.bad_lines, done.bad_lines
    tickets.label_ticket(store, number=10, labels=["vip", "catálogo"], agent="ana", at=_at("10:13"))
    tickets.assign_ticket(store, number=10, assignee="luis", agent="sup1", at=_at("10:14"))
    tickets.assign_ticket(store, number=10, assignee=None, agent="sup1", at=_at("10:15"))
    tickets.assign_ticket(store, number=10, assignee="ana", agent="sup1", at=_at("10:16"))
    contacts.update_contact(
        store,
        campaign="ventas",
        code="41862305",
        at=_at("10:17"),
        agent="ana",
        notes="Prefiere WhatsApp",
        tags=("vip",),
    )
    second = _lines(
        {
            "type": "block",
            "campaign": "ventas",
            "customer": "955 111 222",
            "agent": "sup1",
            "at": "2026-11-20T10:18:00-05:00",
        },
        {
            "type": "interaction",
            "id": "wamid.blocked-1",
            "at": "2026-11-20T10:19:00-05:00",
            "channel": "whatsapp",
            "direction": "inbound",
            "line": "wa-ventas",
            "customer": "955111222",
            "text": "¿Hola? ¿Me leen?",
        },
        {
            "type": "unblock",
            "campaign": "ventas",
            "customer": "+51955111222",
            "agent": "sup1",
            "at": "2026-11-20T10:20:00-05:00",
        },
        {
            "type": "block",
            "campaign": "ventas",
            "customer": "944 333 222",
            "agent": "sup1",
            "at": "2026-11-20T10:21:00-05:00",
        },
        {
            "type": "interaction",
            "id": "call-no-line",
            "at": "2026-11-20T10:22:00-05:00",
            "channel": "call",
            "direction": "outbound",
            "campaign": "soporte",
            "customer": "999 888 777",
            "agent": "ana",
            "status": "busy",
            "duration_s": 0,
        },
        {
            "type": "anonymize",
            "campaign": "ventas",
            "contact": "41862305",
            "agent": "dpo",
            "at": "2026-11-20T10:30:00-05:00",
        },
    )
    done = replay.replay(store, second)
    assert not done.bad_lines, done.bad_lines


def capture(path: pathlib.Path = CAPTURE) -> None:
    """Run the scenario on a new SQLite file and write its schema and rows to ``path``."""
    from ccdomain.sqlite import SqliteStore

    folder = pathlib.Path(tempfile.mkdtemp())
    store = SqliteStore(folder / "v2.db")
    assert store.schema_version == 2, "capture with the code of schema version 2"
    scenario(store)
    store.close()
    db = sqlite3.connect(folder / "v2.db")
    out = []
    schema = db.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
    ).fetchall()
    for _, _, sql in schema:
        out.append({"sql": sql})
    for kind, name, _ in schema:
        if kind == "table":
            for row in db.execute(f"SELECT * FROM {name} ORDER BY rowid"):
                out.append({"table": name, "row": list(row)})
    db.close()
    path.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in out), "utf-8")


if __name__ == "__main__":
    capture(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else CAPTURE)
