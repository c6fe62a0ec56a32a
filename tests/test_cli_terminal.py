"""The ``ccdomain`` command on a terminal: tables fitted to its width, progress on stderr.

The terminal tests run the real command in a pseudo-terminal (``pty``) of a given
width, without ``COLUMNS``, as a person's shell would.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from ccdomain.cli import main

EVENTS = [
    {"type": "campaign", "id": "ventas-y-postventa-hogar", "region": "PE"},
    {
        "type": "line",
        "id": "wa",
        "channel": "whatsapp",
        "address": "+51 1 7001111",
        "campaign": "ventas-y-postventa-hogar",
    },
    *(
        {
            "type": "interaction",
            "id": f"m{i}",
            "at": f"2026-11-20T09:{i:02d}:00-05:00",
            "channel": "whatsapp",
            "direction": "inbound",
            "line": "wa",
            "customer": f"98765{i:04d}",
            "text": "Buenos días, quisiera saber el estado de mi pedido del martes " * 2,
        }
        for i in range(12)
    ),
]


def call(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def in_a_terminal(*args: str, columns: int) -> tuple[int, list[str]]:
    """Run ``ccdomain ARGS`` on a terminal ``columns`` wide: its status and the lines shown."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    process = subprocess.Popen(
        [sys.executable, "-m", "ccdomain", *args],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env=env,
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            data = os.read(controller, 65536)
        except OSError:  # EIO: the command closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(controller)
    status = process.wait(timeout=120)
    text = b"".join(chunks).decode("utf-8")
    # What the terminal shows of each line: what follows its last carriage return.
    return status, [line.split("\r")[-1] for line in text.split("\r\n")]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in EVENTS))
    path = tmp_path / "cc.sqlite"
    assert call("replay", str(events), "--db", str(path))[0] == 0
    return path


def test_L3_the_demo_on_a_terminal_100_columns_wide_wraps_no_line() -> None:
    status, lines = in_a_terminal("demo", columns=100)
    assert status == 0
    assert any(line.startswith("number  campaign") for line in lines)
    too_long = [line for line in lines if len(line) > 100]
    assert too_long == []


def test_L3_columns_fits_the_demo_and_wide_prints_it_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    code, out, _ = call("demo")
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 100
    code, wide, _ = call("demo", "--wide")
    assert code == 0 and max(len(line) for line in wide.splitlines()) > 100
    assert "…" not in wide  # nothing of the demo is cut


@pytest.mark.parametrize("columns", [40, 60, 100])
def test_key_columns_are_never_cut(db: Path, columns: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    code, out, _ = call("tickets", "--db", str(db))
    assert code == 0
    header, _, *body = out.splitlines()
    assert header.split()[:2] == ["number", "campaign"] and "status" in header.split()
    for row, ticket in zip(
        body, json.loads(call("tickets", "--db", str(db), "--format", "json")[1]), strict=True
    ):
        assert row.split()[:2] == [str(ticket["number"]), ticket["campaign"]]
        assert f"  {ticket['status']}  " in row
    if columns == 100:
        assert max(map(len, out.splitlines())) <= 100


def test_output_to_a_pipe_is_not_fitted(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A script reading a listing sees the same table wherever it runs.
    monkeypatch.delenv("COLUMNS", raising=False)
    code, out, _ = call("tickets", "--db", str(db))
    assert code == 0 and max(map(len, out.splitlines())) > 100
    monkeypatch.setenv("COLUMNS", "100")
    assert (
        call("tickets", "--db", str(db), "--format", "json")[1]
        == call("tickets", "--db", str(db), "--format", "json", "--wide")[1]
    )


# The real command with its progress shown after every line (not five times a second),
# so that a short file shows some on any machine.
_EVERY_LINE = (
    "import sys, ccdomain.cli as cli; cli._PROGRESS_EVERY = 0.0; sys.exit(cli.main(sys.argv[1:]))"
)


def _replay_on_a_terminal(events: Path, db: Path, *, stdin: bool) -> tuple[int, str]:
    """Replay with stderr on a terminal; the status and everything the terminal got."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 100, 0, 0))
    args = ["replay", "-" if stdin else str(events), "--db", str(db)]
    with open(events, "rb") as source:
        process = subprocess.Popen(
            [sys.executable, "-c", _EVERY_LINE, *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=terminal,
        )
        os.close(terminal)
        if stdin:  # a pipe: its size is not known
            assert process.stdin is not None
            process.stdin.write(source.read())
            process.stdin.close()
        chunks = []
        while True:
            try:
                data = os.read(controller, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    os.close(controller)
    return process.wait(timeout=120), b"".join(chunks).decode("utf-8")


def _many_events(path: Path) -> Path:
    lines = [json.dumps(e, ensure_ascii=False) for e in EVENTS[:2]]
    for i in range(300):
        message = {**EVENTS[2], "id": f"x{i}", "customer": f"98766{i:04d}"}
        lines.append(json.dumps(message, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_L5_progress_of_a_file_shows_its_share_read_total_rate_and_time_left(
    tmp_path: Path,
) -> None:
    events = _many_events(tmp_path / "events.jsonl")
    status, shown = _replay_on_a_terminal(events, tmp_path / "cc.sqlite", stdin=False)
    assert status == 0
    updates = [u.strip() for u in shown.split("\r") if "lines/s" in u]
    assert updates
    size = events.stat().st_size
    for update in updates:
        assert re.fullmatch(
            r"\s*\d{1,3}%  [\d,.]+ k?B of [\d,.]+ kB  [\d,]+ lines  [\d,]+ lines/s  "
            r"(\d+s|\d+m\d\ds|\d+h\d\dm) left",
            update,
        ), update
    assert f"of {size / 1000:,.1f} kB" in updates[-1]
    assert int(updates[-1].split("%")[0]) >= 90
    assert shown.endswith("\r")  # cleared before the bad lines, if any, are listed


def test_L5_progress_of_stdin_shows_a_count_and_a_rate(tmp_path: Path) -> None:
    events = _many_events(tmp_path / "events.jsonl")
    status, shown = _replay_on_a_terminal(events, tmp_path / "cc.sqlite", stdin=True)
    assert status == 0
    updates = [u.strip() for u in shown.split("\r") if "lines/s" in u]
    assert updates
    for update in updates:
        assert re.fullmatch(r"[\d,]+ lines  [\d,]+ lines/s", update), update
