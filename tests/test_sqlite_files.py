"""Which files the SQLite store opens, how, and what a failing disk does (E1, E2, E4, R8).

E1: a path that cannot name a file, another application's database, a file that
cannot be written are refused with a ccdomain error naming the file. E4: only a
store opened for writing changes a file, and only a ccdomain database, a new file
or an empty one; a read-only store writes nothing and leaves no ``-wal``/``-shm``
behind. R8/E2: a storage failure during a replay stops it, keeping whole lines only.

Failing storage is made with SQLite itself, so the tests hold when run as root
(who ignores file permissions): a read-only store, ``PRAGMA max_page_count`` (the
database is full), another connection holding the write lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdomain.errors import RuleViolation, StoreError, StoreUnavailable
from ccdomain.listings import contact_rows, ticket_rows, typification_rows
from ccdomain.memory import MemoryStore
from ccdomain.models import Campaign
from ccdomain.ports import Store
from ccdomain.replay import ReplayStopped, replay
from ccdomain.sqlite import APPLICATION_ID, MIGRATIONS, SqliteStore

DATA = Path(__file__).parent / "data"
SIDE_FILES = ("-wal", "-shm", "-journal")


def side_files(path: Path) -> list[str]:
    return [suffix for suffix in SIDE_FILES if Path(f"{path}{suffix}").exists()]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pragma(path: Path, name: str) -> object:
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)  # no side files
    try:
        return db.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        db.close()


def ccdomain_file(path: Path) -> Path:
    store = SqliteStore(path)
    with store.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="ventas"))
        uow.commit()
    store.close()
    assert side_files(path) == []  # the last connection tidied up
    return path


# -- E1: paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("a\x00b", "NUL character"),
        ("\ud800.db", "cannot encode U[+]D800"),
        ("", "expected a file name"),
        (b"cc.db", "expected a str or path"),
        (None, "expected a str or path"),
    ],
)
@pytest.mark.parametrize("read_only", [False, True])
def test_E1_a_path_that_cannot_name_a_file_is_refused(
    path: object, says: str, read_only: bool
) -> None:
    with pytest.raises(StoreError, match=says) as caught:
        SqliteStore(path, read_only=read_only)  # type: ignore[arg-type]
    assert "database path" in str(caught.value)


@settings(max_examples=60, deadline=None)
@given(name=st.text(min_size=0, max_size=40), read_only=st.booleans())
def test_E1_any_text_as_a_path_opens_a_store_or_raises_a_store_error(
    name: str, read_only: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        try:
            store = SqliteStore(os.path.join(folder, name), read_only=read_only)
        except StoreError:
            return
        store.close()


def test_E1_a_value_sqlite_cannot_hold_is_a_store_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    with store.unit_of_work() as uow:
        with pytest.raises(StoreError, match=r"get_campaign.*surrogate"):
            uow.get_campaign("\udcff")
        with pytest.raises(StoreError, match="list_tickets"):
            uow.list_tickets("\ud800")
        with pytest.raises(StoreError, match="get_ticket"):
            uow.get_ticket(2**64)
    store.close()


def test_E3_a_listing_reads_its_campaign_filter_alike_in_every_store(tmp_path: Path) -> None:
    stores: list[Store] = [MemoryStore(), SqliteStore(tmp_path / "a.db")]
    for listing in (ticket_rows, contact_rows, typification_rows):
        messages = set()
        for store in stores:
            with pytest.raises(RuleViolation, match=r"lone surrogate U[+]DCFF") as caught:
                listing(store, campaign="\udcff")
            messages.add(str(caught.value))
        assert len(messages) == 1, messages


# -- E4: which files are ccdomain's -------------------------------------------------------------


def _foreign_table(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    db.execute("INSERT INTO notes (body) VALUES ('keep me')")
    db.commit()
    db.close()


def _foreign_wal(path: Path) -> None:
    _foreign_table(path)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.close()


def _foreign_versioned(path: Path) -> None:
    _foreign_table(path)
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 2")  # a version ccdomain had, without its tables
    db.close()


def _foreign_application(path: Path) -> None:
    ccdomain_file(path)
    db = sqlite3.connect(path)
    db.execute("PRAGMA application_id = 1234")  # ccdomain's tables, someone else's file
    db.close()


def _version_without_tables(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()


FOREIGN: dict[str, Callable[[Path], None]] = {
    "table": _foreign_table,
    "wal": _foreign_wal,
    "versioned": _foreign_versioned,
    "application_id": _foreign_application,
    "version_only": _version_without_tables,
}


@pytest.mark.parametrize("kind", FOREIGN)
@pytest.mark.parametrize("read_only", [False, True])
def test_E4_another_applications_database_is_refused_and_left_as_it_was(
    tmp_path: Path, kind: str, read_only: bool
) -> None:
    path = tmp_path / "other.sqlite"
    FOREIGN[kind](path)
    before = digest(path)
    with pytest.raises(StoreError, match="expected a ccdomain database") as caught:
        SqliteStore(path, read_only=read_only)
    assert repr(str(path)) in str(caught.value)
    assert not isinstance(caught.value, StoreUnavailable)
    assert digest(path) == before
    assert side_files(path) == []


@pytest.mark.parametrize("kind", ["zero bytes", "no tables"])
def test_E4_an_empty_file_becomes_a_database_only_when_opened_for_writing(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "empty.sqlite"
    path.touch()
    if kind == "no tables":  # a SQLite file that held something once, and holds nothing
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE t (x)")
        db.execute("DROP TABLE t")
        db.commit()
        db.close()
    before = digest(path)
    with pytest.raises(StoreError, match="it is empty; expected a ccdomain database"):
        SqliteStore(path, read_only=True)
    assert digest(path) == before and side_files(path) == []
    store = SqliteStore(path)
    assert store.schema_version == len(MIGRATIONS)
    store.close()
    assert pragma(path, "application_id") == APPLICATION_ID
    assert path.read_bytes()[18:20] == b"\x02\x02"  # the header's WAL mode


def _version_1(path: Path) -> None:
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()


def _version_2(path: Path) -> None:
    """The database the code before typed events wrote (tests/data/events_v2.jsonl)."""
    db = sqlite3.connect(path)
    for line in (DATA / "events_v2.jsonl").read_text("utf-8").splitlines():
        item = json.loads(line)
        if "sql" in item:
            db.execute(item["sql"])
        else:
            row = item["row"]
            db.execute(f"INSERT INTO {item['table']} VALUES ({', '.join('?' * len(row))})", row)
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()


def _version_3_without_application_id(path: Path) -> None:
    ccdomain_file(path)
    db = sqlite3.connect(path)
    # ccdomain_file writes the current schema: back to version 3's tables (migration 4
    # added the assignment tables, 5 the identity index of X1, X2).
    # (6) the contact policy's tables.
    for table in ("waiting", "agent_queues", "agents", "identity_index", "inbound_messages",
                  "contact_attempts", "opt_outs"):  # fmt: skip
        db.execute(f"DROP TABLE {table}")
    db.execute("PRAGMA user_version = 3")
    db.execute("PRAGMA application_id = 0")  # as every file written before it was set
    db.commit()
    db.close()


@pytest.mark.parametrize(
    ("make", "version"),
    [(_version_1, 1), (_version_2, 2), (_version_3_without_application_id, 3)],
)
def test_E4_files_of_earlier_versions_are_read_as_they_are_and_migrated_when_writing(
    tmp_path: Path, make: Callable[[Path], None], version: int
) -> None:
    path = tmp_path / "old.sqlite"
    make(path)
    before = digest(path)
    reader = SqliteStore(path, read_only=True)
    assert reader.read_only and reader.schema_version == version
    as_is = (ticket_rows(reader), contact_rows(reader), typification_rows(reader))
    reader.close()
    assert digest(path) == before and side_files(path) == []
    writer = SqliteStore(path)
    assert writer.schema_version == len(MIGRATIONS)
    assert (ticket_rows(writer), contact_rows(writer), typification_rows(writer)) == as_is
    writer.close()
    assert pragma(path, "application_id") == APPLICATION_ID
    assert pragma(path, "user_version") == len(MIGRATIONS)


def test_E4_a_read_only_store_never_writes_and_leaves_no_side_files(tmp_path: Path) -> None:
    path = ccdomain_file(tmp_path / "cc.sqlite")
    before = digest(path)
    store = SqliteStore(path, read_only=True)
    with store.unit_of_work() as uow:
        assert uow.get_campaign("ventas") == Campaign(id="ventas")
        with pytest.raises(StoreUnavailable, match=r"put_campaign failed: database .* cannot be"):
            uow.put_campaign(Campaign(id="soporte"))
    with pytest.raises(StoreUnavailable, match="read-only"):
        store.purge()
    assert store.integrity_check() == "ok"
    store.close()
    assert digest(path) == before
    assert side_files(path) == []


def test_E4_a_read_only_store_reads_what_a_writer_commits_and_leaves_its_files_to_it(
    tmp_path: Path,
) -> None:
    path = ccdomain_file(tmp_path / "cc.sqlite")
    writer = SqliteStore(path)
    reader = SqliteStore(path, read_only=True)
    with writer.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="soporte"))
        uow.commit()
    with reader.unit_of_work() as uow:
        assert [c.id for c in uow.list_campaigns()] == ["soporte", "ventas"]
    reader.close()
    assert side_files(path) == ["-wal", "-shm"]  # the writer's, still open
    with writer.unit_of_work() as uow:  # and the writer goes on undisturbed
        uow.put_campaign(Campaign(id="cobranzas"))
        uow.commit()
    writer.close()
    assert side_files(path) == []


def test_E4_a_file_that_cannot_be_written_is_read_without_creating_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a read-only folder or another user's file looks like to the store (root
    # ignores permissions, so access() is made to answer as for anyone else).
    path = ccdomain_file(tmp_path / "cc.sqlite")
    before = digest(path)
    real_access = os.access

    def access(target: Any, mode: int, **kwargs: Any) -> bool:
        return not mode & os.W_OK and real_access(target, mode, **kwargs)

    monkeypatch.setattr("ccdomain.sqlite.store.os.access", access)
    store = SqliteStore(path, read_only=True)
    assert side_files(path) == []  # immutable: no lock files at all
    assert [row["campaign"] for row in ticket_rows(store)] == []
    with store.unit_of_work() as uow:
        assert uow.get_campaign("ventas") == Campaign(id="ventas")
    store.close()
    assert digest(path) == before and side_files(path) == []
    with pytest.raises(StoreUnavailable, match="the file cannot be written"):
        SqliteStore(path)
    with pytest.raises(StoreUnavailable, match="cannot be written; expected a folder"):
        SqliteStore(tmp_path / "new.sqlite")
    assert not (tmp_path / "new.sqlite").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_E4_a_read_only_database_in_a_read_only_folder_can_be_read(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = ccdomain_file(folder / "cc.sqlite")
    path.chmod(0o444)
    folder.chmod(0o555)
    try:
        store = SqliteStore(path, read_only=True)
        with store.unit_of_work() as uow:
            assert uow.get_campaign("ventas") == Campaign(id="ventas")
        store.close()
        assert side_files(path) == []
        with pytest.raises(StoreUnavailable, match="cannot be written"):
            SqliteStore(path)
    finally:
        folder.chmod(0o755)


def test_E4_a_missing_file_is_not_created_by_a_read_only_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        SqliteStore(tmp_path / "absent.sqlite", read_only=True)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(StoreError, match="it is a folder"):
        SqliteStore(tmp_path)
    with pytest.raises(StoreError, match="not a file"):
        SqliteStore(tmp_path, read_only=True)


# -- R8, E2: a store that fails under a replay ----------------------------------------------------


def interaction(i: int, text: str = "x" * 1500) -> dict[str, Any]:
    return {
        "type": "interaction",
        "id": f"m{i}",
        "at": f"2026-11-20T10:{i % 60:02d}:00-05:00",
        "channel": "whatsapp",
        "direction": "inbound",
        "line": "wa",
        "customer": f"98765{i:04d}",
        "text": text,
    }


SETUP = [
    {"type": "campaign", "id": "ventas", "region": "PE"},
    {"type": "line", "id": "wa", "channel": "whatsapp", "address": "+51 1 7001111",
     "campaign": "ventas"},
]  # fmt: skip


def as_lines(events: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(event) for event in events]


def listings(store: Store) -> tuple[object, ...]:
    return (ticket_rows(store), contact_rows(store), typification_rows(store))


def memory_replay(lines: list[str]) -> MemoryStore:
    store = MemoryStore()
    replay(store, lines, keep_going=True)
    return store


def full_after(store: SqliteStore, pages: int) -> None:
    """Make the database full once it has grown by ``pages`` pages."""
    db = store._connection().db
    ((count,),) = db.execute("PRAGMA page_count").fetchall()
    db.execute(f"PRAGMA max_page_count = {count + pages}")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pages=st.integers(min_value=0, max_value=12),
    batch=st.integers(min_value=1, max_value=12),
    keep_going=st.booleans(),
)
def test_R8_E2_a_full_database_stops_the_replay_keeping_whole_lines_only(
    tmp_path_factory: pytest.TempPathFactory, pages: int, batch: int, keep_going: bool
) -> None:
    lines = as_lines([*SETUP, *(interaction(i) for i in range(24))])
    path = tmp_path_factory.mktemp("full") / "cc.sqlite"
    store = SqliteStore(path)
    full_after(store, pages)
    with pytest.raises(ReplayStopped) as caught:
        replay(store, lines, batch=batch, keep_going=keep_going)
    store.close()
    stopped = caught.value
    assert 0 <= stopped.kept < stopped.line <= len(lines)
    assert isinstance(stopped.cause, StoreUnavailable)
    assert "is full" in str(stopped) and repr(str(path)) in str(stopped)
    assert str(stopped).startswith(f"line {stopped.line}: ")
    reader = SqliteStore(path, read_only=True)
    assert reader.integrity_check() == "ok"
    assert listings(reader) == listings(memory_replay(lines[: stopped.kept]))
    reader.close()


def test_R8_replay_into_a_read_only_store_stops_at_the_first_write(tmp_path: Path) -> None:
    path = ccdomain_file(tmp_path / "cc.sqlite")
    before = digest(path)
    store = SqliteStore(path, read_only=True)
    lines = as_lines([{"type": "campaign", "id": "soporte", "region": "PE"}, *SETUP])
    for keep_going in (False, True):
        with pytest.raises(ReplayStopped, match=r"^line 1: .* cannot be written") as caught:
            replay(store, lines, keep_going=keep_going)
        assert (caught.value.line, caught.value.kept) == (1, 0)
        assert "no line was applied" in str(caught.value)
    store.close()
    assert digest(path) == before


def test_R8_a_lock_held_past_the_timeout_stops_the_replay(tmp_path: Path) -> None:
    path = ccdomain_file(tmp_path / "cc.sqlite")
    store = SqliteStore(path, timeout=0.05)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ReplayStopped, match="is locked by another connection") as caught:
            replay(store, as_lines(SETUP))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert (caught.value.line, caught.value.kept) == (1, 0)
    assert "no line was applied" in str(caught.value)
    assert listings(store) == listings(MemoryStore())
    store.close()


class _FailingStore:
    """A store whose storage fails from a given moment on (every call of its units)."""

    def __init__(self, inner: Store, *, commit_fails: bool) -> None:
        self.inner = inner
        self.failing = False
        self.commit_fails = commit_fails

    def unit_of_work(self) -> Any:
        return _FailingUnit(self, self.inner.unit_of_work())

    def close(self) -> None:
        self.inner.close()


class _FailingUnit:
    def __init__(self, store: _FailingStore, inner: Any) -> None:
        self.store = store
        self.inner = inner

    def __enter__(self) -> _FailingUnit:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(*exc)

    def commit(self) -> None:
        if self.store.failing and self.store.commit_fails:
            raise StoreUnavailable("commit failed: the disk is gone")
        self.inner.commit()

    def rollback(self) -> None:
        self.inner.rollback()

    def __getattr__(self, name: str) -> Any:
        if self.store.failing:
            raise StoreUnavailable(f"{name} failed: the disk is gone")
        return getattr(self.inner, name)


@settings(max_examples=80, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=10),
    fail_after=st.integers(min_value=0, max_value=11),
    batch=st.integers(min_value=1, max_value=4),
    keep_going=st.booleans(),
    commit_fails=st.booleans(),
    bad=st.sets(st.integers(min_value=3, max_value=11), max_size=3),
)
def test_R8_any_store_failing_stops_the_replay_at_the_line_and_keeps_what_was_committed(
    count: int, fail_after: int, batch: int, keep_going: bool, commit_fails: bool, bad: set[int]
) -> None:
    lines = as_lines([*SETUP, *(interaction(i, "hola") for i in range(count))])
    fail_after = min(fail_after, len(lines) - 1)  # the storage fails under a later line
    for number in bad:  # bad lines (before the failure) are not the storage's doing
        if number <= fail_after:
            lines[number - 1] = "{not json"
    store = _FailingStore(MemoryStore(), commit_fails=commit_fails)
    store.failing = fail_after == 0

    def fail_from_here(line: int) -> None:
        if line == fail_after:
            store.failing = True

    if not keep_going and any(number <= fail_after for number in bad):
        summary = replay(store, lines, batch=batch, keep_going=False, progress=fail_from_here)
        assert summary.stopped_at == min(bad)  # a bad line stopped it first
        return
    with pytest.raises(ReplayStopped) as caught:
        replay(store, lines, batch=batch, keep_going=keep_going, progress=fail_from_here)
    if commit_fails and fail_after and fail_after % batch == 0:
        # The storage failed at the commit of the batch fail_after ended.
        line, kept = fail_after, fail_after - batch
    else:
        line = fail_after + 1
        kept = (line - 1) // batch * batch if commit_fails else line - 1
    assert (caught.value.line, caught.value.kept) == (line, kept)
    assert "the disk is gone" in str(caught.value)
    assert listings(store.inner) == listings(memory_replay(lines[:kept]))
