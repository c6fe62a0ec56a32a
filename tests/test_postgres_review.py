"""Adversarial checks of the PostgreSQL store's short ways under ``run`` (issue 16): the
catalog version assumed by a transaction (stale answers retried, never kept), the ticket
counter taken with a key's reads (T2, T5) and events sent with the next statement (T11).

Each test runs on a real server (the ``postgres_server`` fixture); skipped without one.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest

psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")

from ccdomain.models import Campaign, Channel, Line, TicketStatus  # noqa: E402
from ccdomain.postgres import PostgresStore  # noqa: E402
from ccdomain.tickets import route_interaction  # noqa: E402

AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
PHONE = "+51987654321"


@pytest.fixture
def store(postgres_server: Any, postgres_schema: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(postgres_server.dsn(), schema=postgres_schema)
    yield opened
    opened.close()


def _declare(store: PostgresStore, *items: Campaign | Line) -> None:
    with store.unit_of_work() as uow:
        for item in items:
            if isinstance(item, Campaign):
                uow.put_campaign(item)
            else:
                uow.put_line(item)
        uow.commit()


def test_run_after_the_schema_is_recreated_with_an_older_catalog_version_is_not_lost_forever(
    store: PostgresStore, postgres_server: Any, postgres_schema: str
) -> None:
    # The store assumed the latest version it read; a recreated schema brings the number
    # back below it. The first attempt is lost (another version) and the next must use
    # the version it read, not assume the old one again and lose every attempt.
    for name in ("a", "b", "c"):  # the catalog version goes up to several
        _declare(store, Campaign(id="ventas", name=name))

    def name() -> str:
        with store.unit_of_work() as uow:
            found = uow.get_campaign("ventas")
        assert found is not None
        return found.name

    assert store.run(name) == "c"
    assert store.run(name) == "c"  # assumed
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{postgres_schema}" CASCADE'.encode())
    restored = PostgresStore(postgres_server.dsn(), schema=postgres_schema)
    try:
        _declare(restored, Campaign(id="ventas", name="after"))
    finally:
        restored.close()
    assert store.run(name) == "after"
    assert store.run(name) == "after"


def _added(n: int, text: str = "hola") -> Any:
    from ccdomain.events import EventKind, InteractionAdded
    from ccdomain.models import RouteOutcome
    from ccdomain.testing.conformance.case import _event, _interaction

    return _event(
        EventKind.INTERACTION_ADDED,
        InteractionAdded(interaction=_interaction(1, f"e{n}", text), outcome=RouteOutcome.JOINED),
    )


def test_T11_E1_E2_an_event_postgres_cannot_hold_is_refused_at_record_event_alone(
    store: PostgresStore,
) -> None:
    # record_event defers the row: text PostgreSQL cannot hold (a lone surrogate) must be
    # refused at the call, the unit going on, not lose the transaction at its commit.
    from ccdomain.errors import CcdomainError

    with store.unit_of_work() as uow:
        uow.record_event(_added(1))
        with pytest.raises(CcdomainError):
            uow.record_event(_added(2, "a\ud800b"))
        uow.record_event(_added(3))
        uow.commit()
    with store.unit_of_work() as uow:
        kept = list(uow.events())
    assert [e.payload.interaction.external_id for e in kept] == ["e1", "e3"]
    assert [e.seq for e in kept] == sorted({e.seq for e in kept})
