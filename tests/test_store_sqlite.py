"""The SQLite store passes the store conformance suite (T2, T5, T9, E1, E2), plus its specifics.

The specifics: schema version and forward migrations, WAL and foreign keys, the
partial unique index behind T2, counters written only by a commit (T5),
money stored as text (C1), lookups served by index searches (M3), and every
sqlite3 failure turned into a ccdomain error (E1).
"""

import datetime as dt
import doctest
import sqlite3
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

import ccdomain.sqlite.schema
from ccdomain.collections import Product, money
from ccdomain.errors import StoreError
from ccdomain.models import (
    Campaign,
    ChannelKind,
    Comment,
    Company,
    Contact,
    ContactChannel,
    Direction,
    Ticket,
    TicketStatus,
)
from ccdomain.ports import (
    CollectionsRepository,
    CompanyNameIndex,
    ContactPolicyRepository,
    ContactRepository,
    EventLog,
    IdentityRepository,
    TicketRepository,
    UnitOfWork,
)
from ccdomain.serialization import to_json
from ccdomain.sqlite import MIGRATIONS, SqliteStore
from ccdomain.sqlite.collections import SqliteCollectionsRepository
from ccdomain.sqlite.connection import _UnitOfWorkBase
from ccdomain.sqlite.contact_policy import SqliteContactPolicyRepository
from ccdomain.sqlite.contacts import SqliteContactRepository
from ccdomain.sqlite.events import SqliteEventLog
from ccdomain.sqlite.identities import SqliteIdentityRepository
from ccdomain.sqlite.tickets import SqliteTicketRepository
from ccdomain.testing.conformance import StoreConformance


class TestSqliteStore(StoreConformance):
    def make_store(self) -> SqliteStore:
        return SqliteStore(self.tmp_path / "store.db")


# -- SQLite specifics ----------------------------------------------------------------------------

AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
PHONE = "+51987654321"


def opener(campaign: str, customer: str = PHONE) -> Callable[[int], Ticket]:
    return lambda n: Ticket(
        number=n, campaign=campaign, customer=customer, origin=Direction.INBOUND, opened_at=AT
    )


def test_module_doctests_pass() -> None:
    assert doctest.testmod(ccdomain.sqlite).failed == 0


def _public(cls: type) -> set[str]:
    return {name for name in vars(cls) if not name.startswith("_")}


@pytest.mark.parametrize(
    ("part", "ports"),
    [
        (SqliteContactRepository, (ContactRepository, CompanyNameIndex)),
        (SqliteTicketRepository, (TicketRepository,)),
        (SqliteCollectionsRepository, (CollectionsRepository,)),
        (SqliteIdentityRepository, (IdentityRepository,)),
        (SqliteEventLog, (EventLog,)),
        (SqliteContactPolicyRepository, (ContactPolicyRepository,)),
        (_UnitOfWorkBase, (UnitOfWork,)),
    ],
)
def test_each_part_of_the_unit_of_work_holds_the_methods_of_its_port(
    part: type, ports: tuple[type, ...]
) -> None:
    # The unit of work is composed of one part per port: a method in the wrong part
    # (or a port method nobody implements) shows here.
    assert _public(part) == set().union(*map(_public, ports))


def test_schema_version_wal_and_foreign_keys(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    assert store.schema_version == len(MIGRATIONS) == 6
    assert store.integrity_check() == "ok"
    db = sqlite3.connect(tmp_path / "a.db")
    assert db.execute("PRAGMA user_version").fetchone() == (6,)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()
    with store.unit_of_work() as uow:
        fk = uow._db().execute("PRAGMA foreign_keys").fetchone()  # type: ignore[attr-defined]
    assert fk == (1,)
    store.close()


def test_data_survives_reopening(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    with store.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="ventas"))
        ticket, _ = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        uow.commit()
    store.close()
    again = SqliteStore(tmp_path / "a.db")
    with again.unit_of_work() as uow:
        assert uow.get_campaign("ventas") == Campaign(id="ventas")
        assert uow.get_open_ticket("ventas", PHONE) == ticket
    again.close()


def test_migrations_apply_in_order_on_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    SqliteStore(tmp_path / "a.db").close()
    later = (*MIGRATIONS, ("CREATE TABLE later (x TEXT)",), ("INSERT INTO later VALUES ('2')",))
    monkeypatch.setattr(ccdomain.sqlite.schema, "MIGRATIONS", later)
    store = SqliteStore(tmp_path / "a.db")
    assert store.schema_version == len(later)
    db = sqlite3.connect(tmp_path / "a.db")
    assert db.execute("SELECT x FROM later").fetchall() == [("2",)]
    assert db.execute("PRAGMA user_version").fetchone() == (len(later),)
    db.close()
    store.close()


def test_K16_migration_2_keys_the_companies_of_a_version_1_database(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        db.execute(statement)
    for company in (
        Company(id="20131312955", name="  Acme  PERÚ SAC", tax_id=None),
        Company(id="N:zeta", name="Zeta"),
    ):
        db.execute("INSERT INTO companies VALUES (?, ?)", (company.id, to_json(company)))
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    store = SqliteStore(path)
    assert store.schema_version == len(MIGRATIONS)
    with store.unit_of_work() as uow:
        found = uow.company_by_name_key("acme peru sac")
        assert found is not None and found.id == "20131312955"
        assert uow.company_by_name_key("zeta") == uow.get_company("N:zeta")
        assert uow.company_by_name_key("acme") is None
    store.close()


def test_E1_newer_schema_is_refused(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "new.db").close()  # a ccdomain database, of a later version:
    db = sqlite3.connect(tmp_path / "new.db")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="schema version 99"):
        SqliteStore(tmp_path / "new.db")
    with pytest.raises(StoreError, match="schema version 99"):
        SqliteStore(tmp_path / "new.db", read_only=True)


def test_E1_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database, just some text " * 200)
    with pytest.raises(StoreError, match=r"junk\.db"):
        SqliteStore(path)


@pytest.mark.parametrize("path", [None, 42, object()])
def test_E1_bad_path_is_refused(path: object) -> None:
    with pytest.raises(StoreError, match="not a database path"):
        SqliteStore(path)  # type: ignore[arg-type]


def test_E1_bad_timeout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="timeout"):
        SqliteStore(tmp_path / "a.db", timeout=-1)


def test_E1_locked_database_raises_store_error_naming_the_operation(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db", timeout=0.05)
    other = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match=r"unit_of_work.*locked"), store.unit_of_work():
            pass
        # Reading outside a unit of work still works in WAL mode.
        assert store.unit_of_work().get_campaign("x") is None
    finally:
        other.execute("ROLLBACK")
        other.close()
    with store.unit_of_work() as uow:  # the store recovers once the lock is gone
        uow.put_campaign(Campaign(id="ventas"))
        uow.commit()
    store.close()


def test_E1_closed_store_raises_store_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    store.close()
    with pytest.raises(StoreError, match="closed"), store.unit_of_work():
        pass
    with pytest.raises(StoreError):
        store.unit_of_work().get_campaign("ventas")
    with pytest.raises(StoreError):
        store.integrity_check()


def test_E1_unbindable_value_raises_store_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    with store.unit_of_work() as uow, pytest.raises(StoreError, match="get_campaign"):
        uow.get_campaign(object())  # type: ignore[arg-type]
    store.close()


def test_E2_failed_unit_releases_the_write_lock(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="ventas"))
        raise RuntimeError("boom")
    other = sqlite3.connect(tmp_path / "a.db", isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")  # would raise "database is locked" if still held
    assert other.execute("SELECT count(*) FROM campaigns").fetchone() == (0,)
    other.execute("ROLLBACK")
    other.close()
    store.close()


def test_T2_partial_unique_index_refuses_a_second_open_ticket(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    store.close()
    db = sqlite3.connect(tmp_path / "a.db")
    insert = "INSERT INTO tickets (number, campaign, customer, status, data) VALUES (?, ?, ?, ?, ?)"
    db.execute(insert, (1, "ventas", PHONE, "open", "{}"))
    db.execute(insert, (2, "ventas", PHONE, "resolved", "{}"))
    db.execute(insert, (3, "ventas", PHONE, "resolved", "{}"))
    db.execute(insert, (4, "soporte", PHONE, "open", "{}"))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        db.execute(insert, (5, "ventas", PHONE, "open", "{}"))
    db.close()


def test_T5_counters_are_written_only_by_the_commit_of_what_they_number(tmp_path: Path) -> None:
    """A rolled-back number is given back for good: the file never held it (issue 14)."""

    def counters() -> dict[str, int]:
        db = sqlite3.connect(tmp_path / "a.db")
        try:
            return dict(db.execute("SELECT name, value FROM counters").fetchall())
        finally:
            db.close()

    store = SqliteStore(tmp_path / "a.db")
    with store.unit_of_work() as uow:
        dropped, _ = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        uow.next_contact_number("ventas")
        uow.add_comment(Comment(ticket=dropped.number, at=AT, agent="ana", text="x"))
        assert counters() == {}  # another connection reads the last commit
    assert counters() == {}
    store.close()
    store = SqliteStore(tmp_path / "a.db")
    with store.unit_of_work() as uow:
        kept, _ = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        with store.unit_of_work() as nested:  # a rolled-back savepoint
            nested.next_contact_number("ventas")
        assert uow.next_contact_number("ventas") == 1
        uow.commit()
    assert kept.number == dropped.number == 1
    assert counters() == {"ticket": 1, "contact:ventas": 1}
    store.close()


def test_C1_money_is_stored_as_text_never_real(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    product = Product(
        id="P-1",
        campaign="cobranzas",
        contact="C-1",
        kind="loan",
        debt=money("1500.10", "PEN"),
        due=dt.date(2026, 10, 1),
    )
    with store.unit_of_work() as uow:
        uow.put_product(product)
        uow.commit()
    store.close()
    db = sqlite3.connect(tmp_path / "a.db")
    tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for table in tables:
        for column in db.execute(f"PRAGMA table_info({table})"):
            assert column[2].upper() not in ("REAL", "FLOAT", "DOUBLE"), (table, column)
    (data,) = db.execute("SELECT data FROM products").fetchone()
    assert '"1500.10"' in data
    db.close()


def test_M3_T1_lookups_are_index_searches_not_scans(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    statements: list[str] = []
    with store.unit_of_work() as uow:
        db = uow._db()  # type: ignore[attr-defined]
        channels = (ContactChannel(kind=ChannelKind.PHONE, value=PHONE),)
        uow.add_contact(Contact(campaign="ventas", code="C-1", channels=channels))
        ticket, _ = uow.get_or_open_ticket("ventas", PHONE, opener("ventas"))
        uow.update_ticket(attrs.evolve(ticket, contact="C-1", status=TicketStatus.RESOLVED))
        db.set_trace_callback(statements.append)
        uow.contacts_by_phone(PHONE)
        uow.contacts_by_national_number("987654321")
        uow.contacts_by_phone_suffix("7654321")
        uow.get_open_ticket("ventas", PHONE)
        uow.tickets_for_customer(PHONE)
        uow.tickets_for_customer(PHONE, "ventas")
        uow.open_tickets_for_customer(PHONE)
        uow.tickets_for_contact("ventas", "C-1")
        uow.find_interaction("wamid.1")
        uow.interactions(ticket.number)
        uow.get_contact("ventas", "C-1")
        uow.payments_for_product("P-1")
        uow.promises_for_product("P-1")
        uow.products_for_contact("ventas", "C-1")
        uow.comments(ticket.number)
        uow.typifications(ticket.number)
        uow.get_block("ventas", PHONE)
        db.set_trace_callback(None)
        selects = [s for s in statements if s.startswith("SELECT")]
        assert len(selects) == 17  # one statement per lookup
        for sql in selects:
            plan = " | ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + sql))
            assert "SEARCH" in plan and "SCAN" not in plan, (sql, plan)
    store.close()
