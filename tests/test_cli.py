"""The ``ccdomain`` command, run as a real process (python -m and the installed script)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdomain import __version__
from ccdomain.cli import DEMO_AS_OF, main

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent / "ccdomain"

EVENTS = [
    {"type": "campaign", "id": "ventas", "region": "PE", "typifications": [["Contactado"]]},
    {
        "type": "line",
        "id": "wa",
        "channel": "whatsapp",
        "address": "+51 1 7001111",
        "campaign": "ventas",
    },
    {
        "type": "contact",
        "campaign": "ventas",
        "first_names": "José",
        "last_names": "Pérez Soto",
        "vip": True,
        "document": {"type": "DNI", "number": "12345678"},
        "channels": [{"kind": "phone", "value": "987 654 321"}],
    },
    {
        "type": "interaction",
        "id": "m1",
        "at": "2026-11-20T09:00:00-05:00",
        "channel": "whatsapp",
        "direction": "inbound",
        "line": "wa",
        "customer": "987654321",
        "text": "Hola",
    },
    {
        "type": "typify",
        "campaign": "ventas",
        "customer": "987 654 321",
        "agent": "ana",
        "at": "2026-11-20T09:10:00-05:00",
        "path": ["Contactado"],
        "comment": "listo",
    },
    {
        "type": "interaction",
        "id": "m2",
        "at": "2026-11-20T10:00:00-05:00",
        "channel": "whatsapp",
        "direction": "inbound",
        "line": "wa",
        "customer": "+51 987-654-321",
        "text": "Otra consulta",
    },
]


def run(
    *args: str, stdin: str | None = None, script: bool = False
) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT)] if script else [sys.executable, "-m", "ccdomain"]
    return subprocess.run(
        [*command, *args], input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def call(*args: str) -> tuple[int, str, str]:
    """Run ``main`` in this process (fast); the subprocess tests cover the real command."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def write_events(path: Path, events: list[dict[str, object]], *extra: str) -> Path:
    text = "\n".join([*(json.dumps(e, ensure_ascii=False) for e in events), *extra]) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cc.sqlite"
    done = run("replay", str(write_events(tmp_path / "events.jsonl", EVENTS)), "--db", str(path))
    assert done.returncode == 0, done.stderr
    return path


def listing(db: Path, name: str, *more: str) -> list[dict[str, object]]:
    code, out, err = call(name, "--db", str(db), "--format", "json", *more)
    assert code == 0, err
    rows: list[dict[str, object]] = json.loads(out)
    return rows


def test_R1_replay_prints_a_summary(db: Path, tmp_path: Path) -> None:
    done = run("replay", str(tmp_path / "events.jsonl"), "--db", str(tmp_path / "other.sqlite"))
    assert done.returncode == 0
    assert "tickets opened:        2" in done.stdout
    assert "tickets closed:        1" in done.stdout
    assert done.stderr == ""  # no progress when stderr is not a terminal


def test_listings_json_carry_the_contract_fields(db: Path) -> None:
    tickets = listing(db, "tickets")
    assert [(t["number"], t["status"], t["contact"], t["interactions"]) for t in tickets] == [
        (1, "typified", "12345678", 1),
        (2, "open", "12345678", 1),
    ]
    for key in ("campaign", "customer", "channels", "origin", "line"):
        assert key in tickets[0]
    (contact,) = listing(db, "contacts")
    assert (contact["code"], contact["avatar"], contact["phones"]) == (
        "12345678",
        "JP★",
        ["+51987654321"],
    )
    (typification,) = listing(db, "typifications")
    assert typification["path"] == ["Contactado"] and typification["agent"] == "ana"
    assert listing(db, "promises", "--as-of", "2026-11-20") == []


@pytest.mark.parametrize("name", ["tickets", "contacts", "typifications", "promises"])
def test_listings_csv_have_a_header(db: Path, name: str) -> None:
    more = ["--as-of", "2026-11-20"] if name == "promises" else []
    code, out, err = call(name, "--db", str(db), "--format", "csv", *more)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][0] in ("number", "campaign", "ticket", "id")
    assert all(len(r) == len(rows[0]) for r in rows)


@pytest.mark.parametrize("name", ["tickets", "contacts", "typifications"])
def test_listings_tables_are_aligned(db: Path, name: str) -> None:
    code, out, err = call(name, "--db", str(db))
    assert code == 0, err
    header, rule, *body = out.splitlines()
    assert body
    starts = [i for i, ch in enumerate(rule) if ch == "-" and (i == 0 or rule[i - 1] == " ")]
    assert [i for i in starts if i == 0 or header[i - 1] == " "] == starts
    for row in body:
        for start in starts[1:]:
            assert len(row) <= start or row[start - 2 : start] == "  ", (row, start)


def test_R1_bad_line_in_the_middle(tmp_path: Path) -> None:
    bad = {**EVENTS[5], "at": "2026-13-01"}
    path = write_events(tmp_path / "bad.jsonl", [*EVENTS[:4], bad, EVENTS[4]])
    db = tmp_path / "bad.sqlite"
    done = run("replay", str(path), "--db", str(db))
    assert done.returncode == 1
    assert "line 5: field 'at': '2026-13-01' is not an ISO 8601 time with offset" in done.stderr
    assert "Traceback" not in done.stderr
    tickets = listing(db, "tickets")
    assert [(t["status"], t["interactions"]) for t in tickets] == [("open", 1)]


def test_R1_keep_going_applies_the_rest_and_lists_every_bad_line(tmp_path: Path) -> None:
    path = write_events(tmp_path / "bad.jsonl", EVENTS[:4], "{oops", '{"type": "nope"}')
    path.write_text(
        path.read_text(encoding="utf-8") + json.dumps(EVENTS[4]) + "\n", encoding="utf-8"
    )
    db = tmp_path / "bad.sqlite"
    done = run("replay", str(path), "--db", str(db), "--keep-going")
    assert done.returncode == 1
    assert "line 5: not JSON" in done.stderr
    assert "line 6: field 'type': 'nope' is not an event type" in done.stderr
    assert [t["status"] for t in listing(db, "tickets")] == ["typified"]


def test_R4_replaying_twice_gives_the_same_listings(db: Path, tmp_path: Path) -> None:
    before = [listing(db, n) for n in ("tickets", "contacts", "typifications")]
    done = run("replay", str(tmp_path / "events.jsonl"), "--db", str(db))
    assert done.returncode == 0
    assert "already applied:       6" in done.stdout
    assert [listing(db, n) for n in ("tickets", "contacts", "typifications")] == before


def test_replay_reads_stdin(tmp_path: Path) -> None:
    text = "\n".join(json.dumps(e) for e in EVENTS)
    db = tmp_path / "stdin.sqlite"
    done = run("replay", "-", "--db", str(db), stdin=text)
    assert done.returncode == 0, done.stderr
    assert len(listing(db, "tickets")) == 2


def test_demo_prints_summary_and_listings_with_statuses() -> None:
    done = run("demo")
    assert "Traceback" not in done.stderr
    out = done.stdout
    for word in ("Tickets", "Contacts", "Promises as of 2026-11-20", "typified", "resolved"):
        assert word in out
    assert "late deliveries:       1" in out
    assert "JP★" in out and "C-000001" in out
    assert done.returncode == 0, done.stderr
    assert "bad lines:             0" in out
    promises = out.split("Promises as of")[1]
    for status in ("kept", "broken", "pending", "cancelled"):
        assert status in promises


@pytest.mark.parametrize(
    "command",
    ["replay", "tickets", "contacts", "typifications", "promises", "export", "demo"],
)
def test_every_subcommand_has_help(command: str) -> None:
    code, out, _ = call(command, "--help")
    assert code == 0
    assert out.startswith("usage: ccdomain " + command)


def test_help_from_the_real_command() -> None:
    done = run("replay", "--help")
    assert done.returncode == 0 and "--keep-going" in done.stdout


def test_version_and_the_installed_script() -> None:
    assert run("--version").stdout.strip() == f"ccdomain {__version__}"
    if not SCRIPT.exists():
        pytest.skip("no console script next to this interpreter")
    done = run("--version", script=True)
    assert done.returncode == 0 and done.stdout.strip() == f"ccdomain {__version__}"


def test_installed_script_replays(tmp_path: Path) -> None:
    if not SCRIPT.exists():
        pytest.skip("no console script next to this interpreter")
    path = write_events(tmp_path / "events.jsonl", EVENTS)
    done = run("replay", str(path), "--db", str(tmp_path / "s.sqlite"), script=True)
    assert done.returncode == 0, done.stderr


def test_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    missing = run("replay", str(tmp_path / "nope.jsonl"), "--db", str(tmp_path / "x.sqlite"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    junk = tmp_path / "junk.sqlite"
    junk.write_text("this is not a database\n" * 100, encoding="utf-8")
    not_db = run("contacts", "--db", str(junk))
    assert not_db.returncode == 2 and "cannot use database" in not_db.stderr
    for done in (missing, not_db):
        assert "Traceback" not in done.stderr
    code, _, err = call("tickets", "--db", str(tmp_path / "absent.sqlite"))
    assert code == 2 and "does not exist" in err
    assert call("promises", "--db", str(junk), "--as-of", "20-11-2026")[0] == 2
    assert call("tickets")[0] == 2


def test_export_prints_one_json_document(db: Path) -> None:
    code, out, err = call(
        "export", "--db", str(db), "--campaign", "ventas", "--contact", "12345678"
    )
    assert code == 0, err
    document = json.loads(out)
    assert "12345678" in json.dumps(document)
    code, _, err = call("export", "--db", str(db), "--campaign", "ventas", "--contact", "999")
    assert code == 2 and "999" in err


def test_L1_a_closed_pipe_is_not_an_error_of_the_data() -> None:
    """`ccdomain demo | head -1`: the reader leaves early; exit 0, nothing on stderr."""
    shell = f'{sys.executable} -m ccdomain demo | head -1; echo "status=${{PIPESTATUS[0]}}"'
    done = subprocess.run(
        ["bash", "-c", shell],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")},
    )
    first, status = done.stdout.splitlines()
    assert first.startswith("Replaying the bundled demo")
    assert status == "status=0"
    assert done.stderr == ""


class _ClosingPipe(io.StringIO):
    """Standard output whose reader leaves after ``writes`` writes (``| head``)."""

    def __init__(self, writes: int) -> None:
        super().__init__()
        self.left = writes

    def write(self, text: str) -> int:
        if self.left <= 0:
            raise BrokenPipeError(32, "Broken pipe")
        self.left -= 1
        return super().write(text)

    def flush(self) -> None:
        if self.left <= 0:
            raise BrokenPipeError(32, "Broken pipe")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    command=st.sampled_from(
        [
            ("tickets",),
            ("contacts", "--format", "csv"),
            ("typifications", "--format", "json"),
            ("promises", "--as-of", "2026-11-20"),
            ("export", "--campaign", "ventas", "--contact", "12345678"),
        ]
    ),
    writes=st.integers(0, 30),
)
def test_L1_a_reader_leaving_at_any_point_changes_neither_status_nor_stderr(
    db: Path, command: tuple[str, ...], writes: int
) -> None:
    """The class of the closed-pipe defect: any listing, any point the reader leaves."""
    argv = [command[0], "--db", str(db), *command[1:]]
    status, _, err = call(*argv)
    assert (status, err) == (0, "")
    pipe, errors = _ClosingPipe(writes), io.StringIO()
    with contextlib.redirect_stdout(pipe), contextlib.redirect_stderr(errors):
        assert main(argv) == status
    assert errors.getvalue() == ""


@pytest.mark.parametrize("name", ["tickets", "contacts", "typifications", "promises"])
def test_L4_an_unknown_campaign_is_status_2_with_a_message(db: Path, name: str) -> None:
    # It printed an empty listing with status 0: a misspelt id read as "nothing happened".
    more = ["--as-of", "2026-11-20"] if name == "promises" else []
    for fmt in ("table", "json", "csv"):
        code, out, err = call(name, "--db", str(db), "--campaign", "nope", "--format", fmt, *more)
        assert (code, out) == (2, "")
        assert "'nope'" in err and "declared campaign" in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["tickets", "contacts", "typifications", "promises"])
def test_a_declared_campaign_without_rows_is_an_empty_listing(tmp_path: Path, name: str) -> None:
    path = tmp_path / "cc.sqlite"
    events = [*EVENTS, {"type": "campaign", "id": "vacia", "region": "PE"}]
    done = run("replay", str(write_events(tmp_path / "e.jsonl", events)), "--db", str(path))
    assert done.returncode == 0, done.stderr
    more = ["--as-of", "2026-11-20"] if name == "promises" else []
    assert listing(path, name, "--campaign", "vacia", *more) == []


def test_L4_export_of_an_unknown_campaign_or_contact_is_status_2(db: Path) -> None:
    for campaign, contact in (("nope", "12345678"), ("ventas", "nope")):
        code, out, err = call(
            "export", "--db", str(db), "--campaign", campaign, "--contact", contact
        )
        assert (code, out) == (2, "")
        assert "'nope'" in err and "Traceback" not in err


_COMMANDS = ["replay", "tickets", "contacts", "typifications", "promises", "export", "demo"]


@pytest.mark.parametrize("command", [None, *_COMMANDS])
def test_help_speaks_the_users_language(command: str | None) -> None:
    # Rule ids (I5) and seeds are the library's words, not the user's.
    code, out, _ = call(*([command] if command else []), "--help")
    assert code == 0
    assert re.search(r"\b[A-Z]{1,2}[0-9]{1,2}\b", out) is None, out
    assert "seed" not in out.lower(), out


def test_the_help_and_the_docs_agree_on_what_the_demo_holds() -> None:
    # README and `demo --help` said "a day", docs/cli.md "a week".
    demo = ROOT / "src" / "ccdomain" / "data" / "demo.jsonl"
    days = {  # its traffic; a payment reversed the week before is older
        event["at"][:10]
        for event in map(json.loads, demo.read_text(encoding="utf-8").splitlines())
        if event["type"] == "interaction"
    }
    assert min(days) == "2026-11-16" and max(days) == DEMO_AS_OF.isoformat() == "2026-11-20"
    said = "week of a Peruvian contact center"
    where = "Monday 16 to Friday 20 November 2026"
    _, help_text, _ = call("demo", "--help")
    for name, text in (
        ("demo --help", help_text),
        ("README.md", (ROOT / "README.md").read_text(encoding="utf-8")),
        ("docs/cli.md", (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")),
    ):
        flat = " ".join(text.split())
        assert said in flat and where in flat, name
        assert "bundled day" not in flat and "a day of a" not in flat, name
