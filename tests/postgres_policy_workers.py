"""Worker processes for tests/test_store_postgres_policy.py (a module of its own, so the
spawned processes import it without the test module)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ccdomain.postgres import PostgresStore


def add_attempts(dsn: str, schema: str, key: tuple[str, str, str], count: int, start: Any) -> int:
    """Count ``count`` attempts of ``key`` (campaign, customer, ISO day), each in its own
    committed unit of work, plus one in a unit rolled back; the units committed."""
    campaign, customer, day = key
    store = PostgresStore(dsn, schema=schema, max_size=2)
    try:
        start.wait(timeout=60)  # every worker starts counting at once
        committed = 0
        for _ in range(count):
            with store.unit_of_work() as uow:
                uow.add_attempt(campaign, customer, dt.date.fromisoformat(day))
                uow.commit()
            committed += 1
        with store.unit_of_work() as uow:  # left without commit: not counted
            uow.add_attempt(campaign, customer, dt.date.fromisoformat(day))
        return committed
    finally:
        store.close()
