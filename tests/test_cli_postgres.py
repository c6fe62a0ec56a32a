"""The ``ccdomain`` command on ``--db postgresql://...``: the same output as on SQLite.

The bundled demo week (every line type the command's listings show), docs/events.md's
complete file with a support campaign (hours, holidays, service levels, auto-resolution,
a queue), an email line and an agent appended (assignment, presence, pending, snoozed,
the identity index, service levels) and, when present, the shared contract sample are
replayed into a SQLite file and into a PostgreSQL schema; the replay summaries, a second
replay (R4: all already applied), every listing in every format (tickets also at two
instants: H5, P3) and an export are compared byte for byte. Needs the
``postgres_server`` fixture's server (skipped, saying why, without one).
"""

from __future__ import annotations

import contextlib
import importlib.resources
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("psycopg", reason="the postgres extra is not installed")

from ccdomain.cli import main

CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "contract" / "sample.jsonl"


def call(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _database(server: Any, name: str) -> str:
    """A new database on the server, as the URL the command takes."""
    import psycopg

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"'.encode())
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    return server.url(name)


EVENTS_DOC = Path(__file__).resolve().parents[1] / "docs" / "events.md"
# Appended to docs/events.md's complete file (agents, presence, assign, pending, snooze):
# a support campaign with hours, holidays, service levels, auto-resolution and a queue,
# an email line, a contact found by its email (X1), an agent serving the queue.
_WAVE2_EXTRA = [
    {
        "type": "campaign",
        "id": "soporte",
        "kind": "support",
        "region": "PE",
        "timezone": "America/Lima",
        "hours": {"mon-fri": ["08:00-18:00"], "sat": ["09:00-13:00"]},
        "holidays": ["2026-12-24"],
        "sla": {"first_response_min": 30, "resolution_min": 1440},
        "auto_resolve_after_h": 48,
        "queue": "soporte",
    },
    {
        "type": "line",
        "id": "mail",
        "channel": "email",
        "address": "soporte@acme.pe",
        "campaign": "soporte",
    },
    {
        "type": "contact",
        "campaign": "soporte",
        "first_names": "Marta",
        "last_names": "Díaz",
        "channels": [{"kind": "email", "value": "Marta@Example.com"}],
    },
    {
        "type": "agent",
        "id": "rosa",
        "name": "Rosa",
        "queues": ["soporte"],
        "capacity": {"digital": 1},
    },
    {"type": "presence", "agent": "rosa", "status": "online", "at": "2026-11-20T08:00:00-05:00"},
    *(
        {
            "type": "interaction",
            "id": f"mail-{k}",
            "at": f"2026-11-2{k}T10:00:00-05:00",
            "channel": "email",
            "direction": "inbound",
            "line": "mail",
            "customer": customer,
            "text": "ayuda",
        }
        for k, customer in enumerate(
            ["marta@example.com", "otro@example.com", "marta@example.com"], start=1
        )
    ),
    {
        "type": "interaction",
        "id": "mail-out-1",
        "at": "2026-11-21T10:20:00-05:00",
        "channel": "email",
        "direction": "outbound",
        "campaign": "soporte",
        "line": "mail",
        "customer": "marta@example.com",
        "agent": "rosa",
        "text": "le ayudo",
    },
]


def _wave2_sample() -> str:
    """docs/events.md's complete file and the lines above, as one event file's text."""
    text = EVENTS_DOC.read_text(encoding="utf-8")
    (block,) = re.findall(r"```jsonl\n(.*?)```", text, re.S)
    return block + "".join(json.dumps(line) + "\n" for line in _WAVE2_EXTRA)


def _samples() -> list[tuple[str, str]]:
    demo = importlib.resources.files("ccdomain").joinpath("data", "demo.jsonl")
    found = [("demo", str(demo)), ("wave2", "")]
    if CONTRACT.is_file():
        found.append(("contract", str(CONTRACT)))
    return found


@pytest.mark.parametrize(("name", "events"), _samples())
def test_replay_and_listings_on_postgres_match_sqlite(
    postgres_server: Any, tmp_path: Path, name: str, events: str
) -> None:
    if name == "wave2":
        events = str(tmp_path / "wave2.jsonl")
        Path(events).write_text(_wave2_sample(), encoding="utf-8")
    sqlite = str(tmp_path / "cc.sqlite")
    url = _database(postgres_server, f"cli_{name}")
    for attempt in ("first", "again"):  # the second replay finds every line applied (R4)
        on_sqlite = call("replay", events, "--db", sqlite, "--keep-going")
        on_postgres = call("replay", events, "--db", url, "--keep-going")
        assert on_postgres == on_sqlite, attempt
    listings = [
        (kind, fmt) for kind in ("tickets", "contacts", "typifications") for fmt in ("json", "csv")
    ]
    for kind, fmt in [*listings, ("tickets", "table"), ("contacts", "table")]:
        on_sqlite = call(kind, "--db", sqlite, "--format", fmt)
        on_postgres = call(kind, "--db", url, "--format", fmt)
        assert on_sqlite[0] == 0, on_sqlite[2]
        assert on_postgres == on_sqlite, (kind, fmt)
    for day in ("2026-11-20", "2026-12-31"):
        args = ("promises", "--format", "json", "--as-of", day)
        assert call(*args, "--db", url) == call(*args, "--db", sqlite)
    for instant in ("2026-11-22T12:00:00-05:00", "2026-11-30T12:00:00-05:00"):  # H5, P3
        args = ("tickets", "--format", "json", "--as-of", instant)
        assert call(*args, "--db", url) == call(*args, "--db", sqlite)
    contacts = json.loads(call("contacts", "--db", sqlite, "--format", "json")[1])
    for row in contacts[:3]:
        args = ("export", "--campaign", row["campaign"], "--contact", row["code"])
        assert call(*args, "--db", url) == call(*args, "--db", sqlite)


def test_a_listing_of_an_empty_postgres_database_is_a_usage_error(postgres_server: Any) -> None:
    url = _database(postgres_server, "cli_empty")
    code, out, err = call("tickets", "--db", url)
    assert (code, out) == (2, "")
    assert "holds no ccdomain data yet" in err
    assert "postgres://" not in err.replace("postgresql://", "")


def test_postgres_scheme_alias_and_unknown_campaign(postgres_server: Any, tmp_path: Path) -> None:
    url = _database(postgres_server, "cli_alias")
    alias = "postgres://" + url.removeprefix("postgresql://")
    events = tmp_path / "events.jsonl"
    events.write_text('{"type": "campaign", "id": "ventas"}\n', encoding="utf-8")
    assert call("replay", str(events), "--db", alias)[0] == 0
    code, _, err = call("tickets", "--db", alias, "--campaign", "otra")
    assert code == 2 and "no campaign 'otra'" in err
    assert call("tickets", "--db", alias, "--campaign", "ventas", "--format", "json")[1] == "[]\n"


def test_messages_never_show_the_password_of_a_postgres_url(
    postgres_server: Any, tmp_path: Path
) -> None:
    url = _database(postgres_server, "cli_secret")
    secret = url.replace("postgresql://postgres@", "postgresql://postgres:s3cret@")
    events = tmp_path / "events.jsonl"
    events.write_text('{"type": "campaign", "id": "ventas"}\n', encoding="utf-8")
    assert call("replay", str(events), "--db", secret)[0] == 0  # trust auth ignores it
    code, _, err = call("tickets", "--db", secret, "--campaign", "otra")
    assert code == 2 and "no campaign 'otra'" in err
    assert "s3cret" not in err and "postgres:***@" in err


def _damaged(seed: int) -> str:
    """The wave 2 sample with refused lines, repeated lines and redeclarations spread
    through it (R1-R4: a batch's bad line must leave its good neighbours as on SQLite)."""
    import random

    rng = random.Random(seed)
    lines = _wave2_sample().splitlines()
    out: list[str] = []
    for line in lines:
        out.append(line)
        roll = rng.random()
        if roll < 0.08:
            out.append("{not json")
        elif roll < 0.16:
            out.append(rng.choice(out))  # a line repeated: applied once (R4)
        elif roll < 0.2:
            out.append(json.dumps({"type": "interaction", "id": f"bad-{len(out)}", "line": "?"}))
        elif roll < 0.24:
            out.append(
                json.dumps(
                    {
                        "type": "campaign",
                        "id": "soporte",
                        "kind": "support",
                        "region": "PE",
                        "timezone": "America/Lima",
                        "queue": rng.choice(["soporte", ""]),
                    }
                )
            )
        elif roll < 0.27:
            out.append(
                json.dumps(
                    {
                        "type": "line",
                        "id": "mail",
                        "channel": "email",
                        "address": "soporte@acme.pe",
                        "campaign": rng.choice(["soporte", "ventas"]),
                    }
                )
            )
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("seed", range(3))
def test_R4_E2_a_damaged_file_replayed_on_postgres_matches_sqlite(
    postgres_server: Any, tmp_path: Path, seed: int
) -> None:
    events = tmp_path / "damaged.jsonl"
    events.write_text(_damaged(seed), encoding="utf-8")
    sqlite = str(tmp_path / "cc.sqlite")
    url = _database(postgres_server, f"cli_damaged_{seed}")
    for attempt in ("first", "again"):
        on_sqlite = call("replay", str(events), "--db", sqlite, "--keep-going")
        on_postgres = call("replay", str(events), "--db", url, "--keep-going")
        assert on_postgres == on_sqlite, attempt
    for kind in ("tickets", "contacts", "typifications"):
        on_sqlite = call(kind, "--db", sqlite, "--format", "json")
        assert on_sqlite[0] == 0, on_sqlite[2]
        assert call(kind, "--db", url, "--format", "json") == on_sqlite, kind
