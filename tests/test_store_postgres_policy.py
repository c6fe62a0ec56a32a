"""The PostgreSQL store's contact-policy indexes under concurrent processes, and on a
schema older than their migration (W5, W1, W3).

* W5 - several processes counting attempts of the same (campaign, customer, day) at
  once never lose a count: the upsert locks the row it increments.
* A schema written before the policy tables, opened read-only, answers as an empty store
  (no window, no attempt, no opt-out); opened for writing, it is migrated.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
from typing import Any

import pytest

psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")

import postgres_policy_workers as workers  # noqa: E402

from ccdomain.models import Channel  # noqa: E402
from ccdomain.postgres import MIGRATIONS, VERSION_TABLE, PostgresStore  # noqa: E402
from ccdomain.postgres.contact_policy import _SINCE  # noqa: E402

_SPAWN = multiprocessing.get_context("spawn")
AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
PHONE = "+51987654321"


def test_W5_processes_counting_the_same_key_at_once_lose_no_attempt(
    postgres_server: Any, postgres_schema: str
) -> None:
    dsn = postgres_server.dsn()
    PostgresStore(dsn, schema=postgres_schema).close()  # created once, not by the workers
    workers_count, each = 6, 40
    key = ("cobranzas", PHONE, "2026-11-20")
    start = _SPAWN.Manager().Barrier(workers_count)
    with _SPAWN.Pool(workers_count) as pool:
        results = [
            pool.apply_async(workers.add_attempts, (dsn, postgres_schema, key, each, start))
            for _ in range(workers_count)
        ]
        committed = [r.get(timeout=300) for r in results]
    assert committed == [each] * workers_count
    store = PostgresStore(dsn, schema=postgres_schema, read_only=True)
    try:
        with store.unit_of_work() as uow:
            assert uow.attempts("cobranzas", PHONE, dt.date(2026, 11, 20)) == workers_count * each
            assert uow.attempts("cobranzas", PHONE, dt.date(2026, 11, 21)) == 0
    finally:
        store.close()


def test_W1_W3_W5_a_schema_before_the_policy_tables_reads_empty_and_is_migrated(
    postgres_server: Any, postgres_schema: str
) -> None:
    dsn = postgres_server.dsn()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{postgres_schema}"'.encode())
        conn.execute(f'SET search_path TO "{postgres_schema}"'.encode())
        conn.execute(f"CREATE TABLE {VERSION_TABLE} (version integer NOT NULL)".encode())
        conn.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (%s)".encode(), (_SINCE - 1,))
        for migration in MIGRATIONS[: _SINCE - 1]:
            for statement in migration:
                conn.execute(statement.encode())
    reader = PostgresStore(dsn, schema=postgres_schema, read_only=True)
    try:
        assert reader.schema_version == _SINCE - 1
        with reader.unit_of_work() as uow:
            assert uow.last_inbound("wa", PHONE) is None
            assert uow.last_inbound("wa", PHONE, AT) is None
            assert uow.attempts("cobranzas", PHONE, AT.date()) == 0
            assert uow.get_opt_out("cobranzas", PHONE, Channel.WHATSAPP) is None
            assert list(uow.opt_outs()) == []
            assert list(uow.opt_outs("cobranzas")) == []
    finally:
        reader.close()
    store = PostgresStore(dsn, schema=postgres_schema)
    try:
        assert store.schema_version == len(MIGRATIONS)
        with store.unit_of_work() as uow:
            uow.note_inbound("wa", PHONE, AT)
            uow.add_attempt("cobranzas", PHONE, AT.date())
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.last_inbound("wa", PHONE) == AT
            assert uow.attempts("cobranzas", PHONE, AT.date()) == 1
    finally:
        store.close()
