"""The ``ccdomain`` command on ``--db postgresql://...``: the same output as on SQLite.

The bundled demo week (every line type the command's listings show) and, when present, the
shared contract sample are replayed into a SQLite file and into a PostgreSQL schema; the
replay summaries, a second replay (R4: all already applied), every listing in every format
and an export are compared byte for byte. Needs the ``postgres_server`` fixture's server
(skipped, saying why, without one).
"""

from __future__ import annotations

import contextlib
import importlib.resources
import io
import json
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


def _samples() -> list[tuple[str, str]]:
    demo = importlib.resources.files("ccdomain").joinpath("data", "demo.jsonl")
    found = [("demo", str(demo))]
    if CONTRACT.is_file():
        found.append(("contract", str(CONTRACT)))
    return found


@pytest.mark.parametrize(("name", "events"), _samples())
def test_replay_and_listings_on_postgres_match_sqlite(
    postgres_server: Any, tmp_path: Path, name: str, events: str
) -> None:
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
