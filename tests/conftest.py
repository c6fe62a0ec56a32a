"""Shared fixtures: counting a store method's calls (scans that must not repeat)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # tests/postgres_server.py


class Calls:
    """How many calls a wrapped method got, or how many items it returned."""

    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def count_calls(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Calls]:
    """Wrap ``owner.name`` for the test; ``items=True`` counts the items it returns."""

    def wrap(owner: type, name: str, *, items: bool = False) -> Calls:
        calls = Calls()
        original = getattr(owner, name)

        def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
            found = original(self, *args, **kwargs)
            if not items:
                calls.count += 1
                return found
            found = list(found)
            calls.count += len(found)
            return found

        monkeypatch.setattr(owner, name, counting)
        return calls

    return wrap


# -- PostgreSQL: one throwaway server per test session (tests/postgres_server.py) ---------------


@pytest.fixture(scope="session")
def postgres_server() -> Any:
    """A PostgreSQL server started for the session, or a skip saying why there is none."""
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    from postgres_server import PostgresServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        pytest.skip(
            "no PostgreSQL server binary (initdb, pg_ctl) found: looked in $CCDOMAIN_PG_BINDIR, "
            "/usr/lib/postgresql/*/bin, `pg_config --bindir` and PATH"
        )
    server = PostgresServer(bindir)
    try:
        server.start()
    except Exception as exc:
        server.stop()
        pytest.fail(f"the PostgreSQL server in {bindir} did not start: {exc}")
    yield server
    server.stop()


_SCHEMAS = iter(range(1, 10**9))


@pytest.fixture
def postgres_schema(postgres_server: Any) -> Any:
    """A new, empty PostgreSQL schema name for one test, dropped after it."""
    import os

    import psycopg

    name = f"t{os.getpid()}_{next(_SCHEMAS)}"
    yield name
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'.encode())
