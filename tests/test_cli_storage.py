"""What the ``ccdomain`` command does with files it must not change or cannot write (E1, E4, R8).

Listings and ``export`` open the database read-only: they never create, migrate or
change a file and leave no ``-wal``/``-shm`` behind (E4). ``replay`` creates a
database only where there is no file or an empty one, and refuses another
application's database (E4). A store that cannot write stops a replay with exit
status 2 and one message (R8). Arguments that are not UTF-8 never give a traceback
(E1). Permissions are tested as an unprivileged user: this one, or ``nobody`` when
the tests run as root (who ignores permissions).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import ccdomain.cli
from ccdomain.cli import main
from ccdomain.sqlite import MIGRATIONS, SqliteStore

EVENTS = [
    {"type": "campaign", "id": "ventas", "region": "PE"},
    {"type": "line", "id": "wa", "channel": "whatsapp", "address": "+51 1 7001111",
     "campaign": "ventas"},
    {"type": "contact", "campaign": "ventas", "first_names": "Ana", "last_names": "Quispe",
     "document": {"type": "DNI", "number": "12345678"}},
    *(
        {"type": "interaction", "id": f"m{i}", "at": f"2026-11-20T10:{i:02d}:00-05:00",
         "channel": "whatsapp", "direction": "inbound", "line": "wa",
         "customer": f"98765{i:04d}", "text": "x" * 1500}
        for i in range(20)
    ),
]  # fmt: skip
# The subprocesses run in other folders: the source tree is found by its absolute path.
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[1] / "src"), os.environ.get("PYTHONPATH", "")]
    ),
}
READERS = (
    ("tickets",),
    ("contacts",),
    ("typifications",),
    ("promises", "--as-of", "2026-11-20"),
    ("export", "--campaign", "ventas", "--contact", "12345678"),
)


def call(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def write_events(path: Path, events: list[dict[str, Any]] = EVENTS) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def state(path: Path) -> tuple[bytes, list[str]]:
    """The file's bytes and the side files next to it."""
    side = [s for s in ("-wal", "-shm", "-journal") if Path(f"{path}{s}").exists()]
    return path.read_bytes(), side


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cc.sqlite"
    code, _, err = call("replay", str(write_events(tmp_path / "events.jsonl")), "--db", str(path))
    assert code == 0, err
    return path


def foreign(path: Path) -> Path:
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total TEXT)")
    other.execute("INSERT INTO invoices (total) VALUES ('10.00')")
    other.commit()
    other.execute("PRAGMA journal_mode = WAL")
    other.close()
    return path


# -- E4 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r[0])
def test_E4_listings_and_export_leave_a_database_exactly_as_they_found_it(
    db: Path, reader: tuple[str, ...]
) -> None:
    before = state(db)
    code, out, err = call(reader[0], "--db", str(db), *reader[1:])
    assert (code, err) == (0, "") and out
    assert state(db) == before == (before[0], [])


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r[0])
def test_E4_listings_read_a_database_of_an_earlier_version_without_migrating_it(
    tmp_path: Path, reader: tuple[str, ...]
) -> None:
    path = tmp_path / "v1.sqlite"
    old = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        old.execute(statement)
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    before = state(path)
    code, _, err = call(reader[0], "--db", str(path), *reader[1:])
    assert code == (2 if reader[0] == "export" else 0), err  # export: no such contact
    assert "Traceback" not in err
    assert state(path) == before


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r[0])
def test_E4_listings_refuse_another_applications_database_and_an_empty_file(
    tmp_path: Path, reader: tuple[str, ...]
) -> None:
    other = foreign(tmp_path / "other.sqlite")
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    for path, says in ((other, "another application's data ('invoices')"), (empty, "empty")):
        before = state(path)
        code, out, err = call(reader[0], "--db", str(path), *reader[1:])
        assert code == 2 and out == ""
        assert err.startswith(f"ccdomain {reader[0]}: error: cannot use database {str(path)!r}")
        assert says in err and err.count("\n") == 1
        assert state(path) == before


def test_E4_replay_refuses_another_applications_database(tmp_path: Path) -> None:
    other = foreign(tmp_path / "other.sqlite")
    before = state(other)
    events = write_events(tmp_path / "events.jsonl")
    for extra in ((), ("--keep-going",)):
        code, out, err = call("replay", str(events), "--db", str(other), *extra)
        assert code == 2 and out == ""
        assert "another application's data ('invoices')" in err and err.count("\n") == 1
        assert state(other) == before


def test_E4_replay_creates_a_database_in_an_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.touch()  # as mkstemp or NamedTemporaryFile leave it
    code, _, err = call("replay", str(write_events(tmp_path / "events.jsonl")), "--db", str(empty))
    assert code == 0, err
    code, out, _ = call("tickets", "--db", str(empty), "--format", "json")
    assert code == 0 and len(json.loads(out)) == 20


# -- R8 ---------------------------------------------------------------------------------------


def _opened(how: Callable[[SqliteStore], None]) -> Callable[..., SqliteStore]:
    def open_store(path: str, **options: Any) -> SqliteStore:
        store = SqliteStore(path, **options)
        how(store)
        return store

    return open_store


def _full(store: SqliteStore) -> None:
    """The disk is full once the database has grown by four pages."""
    db = store._connection().db
    ((count,),) = db.execute("PRAGMA page_count").fetchall()
    db.execute(f"PRAGMA max_page_count = {count + 4}")


@pytest.mark.parametrize("keep_going", [False, True])
def test_R8_replay_on_a_full_disk_stops_with_status_2_and_one_message(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep_going: bool
) -> None:
    more_events = [
        {**event, "id": f"n{n}", "customer": f"91234{n:04d}"} for n, event in enumerate(EVENTS[3:])
    ]
    events = write_events(tmp_path / "more.jsonl", more_events)
    monkeypatch.setattr(ccdomain.cli, "SqliteStore", _opened(_full))
    more = ("--keep-going",) if keep_going else ()
    code, out, err = call("replay", str(events), "--db", str(db), *more)
    assert code == 2 and out == ""
    assert err.count("\n") == 1, err  # one message, not a line per later line
    found = re.fullmatch(
        r"ccdomain replay: error: line (\d+): \w+ failed: database (.+) is full, or its disk "
        r"is \(database or disk is full\); the replay stopped there: (.+)\n",
        err,
    )
    assert found is not None, err
    line, path, kept = int(found[1]), found[2], found[3]
    assert path == repr(str(db))
    monkeypatch.undo()
    code, out, _ = call("tickets", "--db", str(db), "--format", "json")
    # The tickets of the first replay stay, and those of the lines this one kept.
    if kept == "the lines before it are kept":
        assert len(json.loads(out)) == 20 + line - 1
    else:  # the lines of the batch the disk filled up in could not be committed
        assert kept == "no line was kept: the lines before it could not be committed"
        assert len(json.loads(out)) == 20


def test_R8_replay_into_a_store_that_cannot_write_stops_at_line_1(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The store opened read-only stands for a file root may not write (chattr +i, a
    # read-only mount): SQLite refuses the first write the same way.
    before = state(db)
    soporte = {"type": "campaign", "id": "soporte", "region": "PE"}
    events = write_events(tmp_path / "more.jsonl", [soporte])

    def read_only(path: str, **options: Any) -> SqliteStore:
        return SqliteStore(path, read_only=True)

    monkeypatch.setattr(ccdomain.cli, "SqliteStore", read_only)
    code, out, err = call("replay", str(events), "--db", str(db), "--keep-going")
    assert code == 2 and out == ""
    assert err == (
        f"ccdomain replay: error: line 1: put_campaign failed: database {str(db)!r} cannot "
        "be written (attempt to write a readonly database); the replay stopped there: "
        "no line was applied\n"
    )
    assert state(db) == before


# -- E1: arguments that are not UTF-8 -----------------------------------------------------------


def run_bytes(*args: bytes, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [os.fsencode(sys.executable), b"-m", b"ccdomain", *args],
        capture_output=True,
        cwd=cwd,
        env=ENV,
        timeout=120,
        check=False,
    )


def test_E1_arguments_that_are_not_utf8_never_give_a_traceback(tmp_path: Path) -> None:
    write_events(tmp_path / "events.jsonl", EVENTS[:4])
    name = b"caf\xe9.sqlite"  # Latin-1, not UTF-8
    done = run_bytes(b"replay", b"events.jsonl", b"--db", name, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / os.fsdecode(name)).exists()
    done = run_bytes(b"tickets", b"--db", name, b"--format", b"json", cwd=tmp_path)
    assert done.returncode == 0 and len(json.loads(done.stdout)) == 1
    for listing in (b"tickets", b"contacts", b"typifications", b"promises"):
        done = run_bytes(listing, b"--db", name, b"--campaign", b"ventas\xff", cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert done.stdout == b"" and b"Traceback" not in done.stderr
        assert b"campaign 'ventas\\udcff' contains the lone surrogate U+DCFF" in done.stderr
    for args in (
        (b"export", b"--db", name, b"--campaign", b"\xff", b"--contact", b"1"),
        (b"replay", b"\xff.jsonl", b"--db", name),
        (b"tickets", b"--db", b"\xfe.sqlite"),
    ):
        done = run_bytes(*args, cwd=tmp_path)
        assert done.returncode == 2 and b"Traceback" not in done.stderr, done.stderr
        assert b"\\udc" in done.stderr  # the argument, named as Python read it


# -- permissions, as an unprivileged user --------------------------------------------------------


@pytest.fixture
def unprivileged() -> Iterator[tuple[Path, dict[str, Any]]]:
    """A folder and the ``subprocess.run`` options of a user that permissions apply to."""
    folder = Path(tempfile.mkdtemp(prefix="ccdomain-perm-"))
    options: dict[str, Any] = {}
    try:
        if os.geteuid() == 0:
            options = {"user": 65534, "group": 65534, "extra_groups": []}
            os.chown(folder, 65534, 65534)
            folder.chmod(0o755)
            try:
                probe = subprocess.run(
                    [sys.executable, "-c", "import ccdomain.cli"],
                    capture_output=True,
                    cwd=folder,
                    env=ENV,
                    check=False,
                    **options,
                )
            except OSError:  # the interpreter itself is out of its reach
                probe = None
            if probe is None or probe.returncode != 0:
                pytest.skip("running as root, and user 65534 cannot run ccdomain from here")
        yield folder, options
    finally:
        for path in (folder, *folder.rglob("*")):
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(folder)


def run_as(options: dict[str, Any], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccdomain", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENV,
        timeout=120,
        check=False,
        **options,
    )


def test_E4_R8_a_read_only_database_is_listed_but_not_replayed_into(
    unprivileged: tuple[Path, dict[str, Any]],
) -> None:
    folder, options = unprivileged
    events = write_events(folder / "events.jsonl")
    done = run_as(options, "replay", "events.jsonl", "--db", "cc.sqlite", cwd=folder)
    assert done.returncode == 0, done.stderr
    readonly = folder / "ro"
    readonly.mkdir()
    for name in ("cc.sqlite", "cc-copy.sqlite"):  # one in a read-only folder, one in this one
        shutil.copy(folder / "cc.sqlite", readonly / name if name == "cc.sqlite" else folder / name)
    if options:
        for path in (readonly, readonly / "cc.sqlite", folder / "cc-copy.sqlite", events):
            os.chown(path, 65534, 65534)
    (readonly / "cc.sqlite").chmod(0o444)
    (folder / "cc-copy.sqlite").chmod(0o444)
    readonly.chmod(0o555)
    for path in (readonly / "cc.sqlite", folder / "cc-copy.sqlite"):
        before = state(path)
        done = run_as(options, "tickets", "--db", str(path), "--format", "json", cwd=folder)
        assert done.returncode == 0, done.stderr
        assert len(json.loads(done.stdout)) == 20
        assert state(path) == before == (before[0], [])
        done = run_as(options, "replay", "events.jsonl", "--db", str(path), cwd=folder)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr == (
            f"ccdomain replay: error: cannot use database {str(path)!r}: the file cannot be "
            "written (no permission, or read-only); expected a file this process can write "
            "(a store opened with read_only=True reads it)\n"
        )
        assert state(path) == before
    done = run_as(options, "replay", "events.jsonl", "--db", "ro/new.sqlite", cwd=folder)
    assert done.returncode == 2 and "folder" in done.stderr and "cannot be written" in done.stderr
    assert not (readonly / "new.sqlite").exists()
