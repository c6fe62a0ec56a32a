"""The ``ccdomain`` command: replay event files into SQLite, list what the store holds, demo.

Subcommands (docs/cli.md has the whole reference)::

    ccdomain replay EVENTS.jsonl --db FILE [--keep-going]     (EVENTS may be - for stdin)
    ccdomain tickets|contacts|typifications --db FILE [--format table|json|csv] [--wide]
    ccdomain tickets --db FILE [--as-of TIME] [...]   (service levels as of TIME)
    ccdomain promises --db FILE [--as-of YYYY-MM-DD] [--format ...] [--wide]
    ccdomain export --db FILE --campaign ID --contact CODE
    ccdomain demo [--wide]
    ccdomain --version

``--db`` names a SQLite file, or a PostgreSQL database as a ``postgresql://`` URL.

Exit status: 0 success; 1 a replay met bad lines (the good ones are applied);
2 a usage error, a file or database that cannot be used, or a store that failed
during a replay (a message on stderr, no traceback). Listings and ``export`` open
the database read-only: they never create or change a file. The CLI is the only
place that reads the clock: ``promises`` defaults ``--as-of`` to today's date
(``tickets`` defaults it to the latest event time in the database, not the clock).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import importlib
import importlib.resources
import io
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Final, TextIO, cast

from ccdomain import __version__, checks
from ccdomain.errors import CcdomainError
from ccdomain.listings import (
    FIELDS,
    IDENTITY_FIELDS,
    agent_rows,
    contact_rows,
    identity_rows,
    promise_rows,
    ticket_rows,
    typification_rows,
)
from ccdomain.ports import Store
from ccdomain.replay import ReplaySummary, replay
from ccdomain.sqlite import SqliteStore

__all__ = ["DEMO_AS_OF", "format_rows", "main"]

DEMO_AS_OF: Final = dt.date(2026, 11, 20)
"""The day the bundled demo's promises are evaluated on (its last day)."""

_PROGRESS_EVERY: Final = 0.2
_CELL_LIMIT: Final = 40

_TABLE_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "identities": ("code", "candidate", "tier", "reason", "first_names", "last_names"),
    "tickets": (
        "number",
        "campaign",
        "customer",
        "status",
        "contact",
        "interactions",
        "channels",
        "origin",
        "line",
        "sla",
        "last_action",
    ),
    "contacts": (
        "campaign",
        "code",
        "avatar",
        "first_names",
        "last_names",
        "vip",
        "phones",
        "document",
        "company",
        "merged_into",
    ),
    "typifications": (
        "ticket",
        "campaign",
        "at",
        "agent",
        "path",
        "comment",
        "customer",
        "channel",
    ),
    "promises": (
        "id",
        "product",
        "contact",
        "status",
        "paid",
        "total",
        "due",
        "currency",
        "made_on",
        "agent",
        "installments",
    ),
    "agents": ("id", "name", "status", "queues", "open", "capacity", "last_assigned_at"),
}


_WIDE_HELP: Final = (
    "print tables whole: no column is cut to the terminal's width, no cell at 40 characters"
)


class _UsageError(Exception):
    """A problem with the command line, a file or a database: exit status 2."""


# --- formatting ----------------------------------------------------------------------------


def _cell(value: Any, *, column: str = "", limit: int | None = None) -> str:
    """A row value as text for a table or CSV cell (a typification path joined by ``>``)."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, dict):
        if set(value) == {"type", "number"}:
            text = f"{value['type']} {value['number']}"
        elif set(value) == {"amount", "date"}:
            text = f"{value['amount']} on {value['date']}"
        elif column == "sla":
            # H5: the statuses only (the dues are in json and csv); empty without targets.
            text = ", ".join(
                f"{label} {value[key]}"
                for label, key in (("response", "first_response"), ("resolution", "resolution"))
                if value.get(key) is not None
            )
        else:
            text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, list):
        text = (" > " if column == "path" else ", ").join(_cell(v) for v in value)
    else:
        text = str(value)
    text = " ".join(text.split()) if "\n" in text or "\r" in text or "\t" in text else text
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


# Never cut to fit a terminal: the columns a reader finds a row by, or acts on.
_KEY_COLUMNS: Final = frozenset({"number", "code", "id", "ticket", "campaign", "status"})
# Cut first: free text, whose start says enough. Cut last: what names a person or a place.
_CUT_FIRST: Final = frozenset(
    {"last_action", "comment", "installments", "channels", "company", "phones"}
    | {"first_names", "last_names", "document", "merged_into", "interactions", "agent"}
)
_CUT_LAST: Final = frozenset({"customer", "contact", "product", "at", "made_on"})
# A cut column keeps at least this many characters (a name's start, a number's end).
_NARROWEST: Final = 6


def _fit(widths: list[int], columns: Sequence[str], width: int) -> list[int]:
    """Column widths whose table fits ``width`` characters.

    Free text is cut first, then the other columns, the identifiers last; within a
    group the widest first, down to the next widest. Key columns keep their width;
    a cut column keeps at least :data:`_NARROWEST` characters, so a table of many
    columns may still be wider than a very narrow terminal.
    """
    fitted = list(widths)
    room = width - (sum(fitted) + 2 * (len(fitted) - 1))
    groups = (
        [i for i, c in enumerate(columns) if c in _CUT_FIRST],
        [i for i, c in enumerate(columns) if c not in _KEY_COLUMNS | _CUT_FIRST | _CUT_LAST],
        [i for i, c in enumerate(columns) if c in _CUT_LAST],
    )
    for group in groups:
        while room < 0:
            cuttable = [i for i in group if fitted[i] > _NARROWEST]
            if not cuttable:
                break
            widest = max(cuttable, key=lambda i: fitted[i])
            next_widest = max((fitted[i] for i in cuttable if i != widest), default=0)
            target = max(next_widest, _NARROWEST, fitted[widest] + room)
            if target >= fitted[widest]:  # ties: one character at a time
                target = fitted[widest] - 1
            room += fitted[widest] - target
            fitted[widest] = target
    return fitted


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    *,
    width: int | None = None,
    wide: bool = False,
) -> str:
    limit = None if wide else _CELL_LIMIT
    cells = [[_cell(row.get(c), column=c, limit=limit) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    if width is not None and not wide:
        widths = _fit(widths, columns, width)
    numeric = [
        bool(rows) and all(isinstance(row.get(c), int | type(None)) for row in rows)
        for c in columns
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            _cut(v, w).rjust(w) if num else _cut(v, w).ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(list(columns)), line(["-" * w for w in widths])]
    out.extend(line(r) for r in cells)
    return "\n".join(out) + "\n"


# A spreadsheet runs a cell starting with one of these as a formula (OWASP, CSV injection).
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER: Final = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def _csv_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs (OWASP CSV injection).

    A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets
    a leading single quote; a plain number (``-12.50``, an E.164 ``+51987654321``)
    is left alone: a spreadsheet reads it as the number it is, and no formula fits
    in it.

    >>> print(_csv_cell('=HYPERLINK("http://x")'), _csv_cell("-12.50"), _csv_cell("Ana"))
    '=HYPERLINK("http://x") -12.50 Ana
    """
    if text.startswith(_FORMULA_START) and _PLAIN_NUMBER.fullmatch(text) is None:
        return "'" + text
    return text


def format_rows(
    rows: Sequence[dict[str, Any]],
    fmt: str,
    columns: Sequence[str],
    *,
    fields: Sequence[str] | None = None,
    width: int | None = None,
    wide: bool = False,
) -> str:
    """Rows as an aligned table (only ``columns``), a JSON array, or CSV (every field).

    A table is cut to ``width`` characters when given: the widest columns first, with
    ``…``, never the key columns (number, code, id, ticket, campaign, status). Without
    ``wide`` a cell is cut at 40 characters anyway; with it nothing is cut.

    The CSV header is ``fields`` (a listing's :data:`ccdomain.listings.FIELDS`), so it
    is the same with or without rows; without ``fields``, the keys of the first row
    (``columns`` when there is none). CSV cells go through :func:`_csv_cell`.

    >>> print(format_rows([{"n": 1, "path": ["A", "B"]}], "table", ["n", "path"]), end="")
    n  path
    -  -----
    1  A > B
    >>> print(format_rows([], "csv", ["n"], fields=["n", "path"]), end="")
    n,path
    """
    if fmt == "json":
        return json.dumps(list(rows), ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        keys = list(fields) if fields is not None else list(rows[0]) if rows else list(columns)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(keys)
        for row in rows:
            writer.writerow([_csv_value(row.get(k), k) for k in keys])
        return buffer.getvalue()
    return _table(rows, columns, width=width, wide=wide)


def _table_width(stdout: TextIO) -> int | None:
    """The width tables are fitted to: ``COLUMNS``, else the terminal's; none in a pipe.

    Output to a pipe or a file without ``COLUMNS`` is as it always was (a script reading
    it sees no cut that depends on where it runs).
    """
    if "COLUMNS" in os.environ or stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def _csv_value(value: Any, column: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    # A CSV cell keeps every field of a mapping (the table shows the sla statuses only).
    return _csv_cell(_cell(value, column="" if column == "sla" else column))


# --- stores and files ------------------------------------------------------------------------


def _open_store(path: str, *, create: bool, write: bool = False) -> Store:
    """The store of ``--db``: opened for writing by ``replay`` (``create``) and ``sweep``
    (``write``: an existing file), else read-only.

    A listing or an export never creates or changes a file; a replay creates one only
    where there is none (or an empty one); another application's database is refused
    by the store itself either way. A ``postgresql://`` (or ``postgres://``) URL opens
    the PostgreSQL store instead (the ``postgres`` extra), the same way.
    """
    if path.startswith(_POSTGRES_URLS):
        return _open_postgres(path, create=create or write)
    if os.path.exists(path) and not os.path.isfile(path):
        raise _UsageError(f"database {path!r} is not a file")
    if not create and not os.path.exists(path):
        raise _UsageError(f"database {path!r} does not exist (run `ccdomain replay` first)")
    parent = os.path.dirname(os.path.abspath(path))
    if create and not os.path.isdir(parent):
        raise _UsageError(f"cannot create database {path!r}: folder {parent!r} does not exist")
    try:
        return SqliteStore(path, read_only=not (create or write))
    except CcdomainError as exc:  # its message names the file and what was expected
        raise _UsageError(str(exc)) from None


_DB_HELP: Final = "the SQLite database file, or a postgresql:// URL (the postgres extra)"
_POSTGRES_URLS: Final = ("postgresql://", "postgres://")


def _shown(db: str) -> str:
    """``--db`` as messages show it: a PostgreSQL URL without its password."""
    if db.startswith(_POSTGRES_URLS):
        return re.sub(r"^([a-z]+://[^:/@?]*):[^@/?]*@", r"\1:***@", db)
    return db


def _open_postgres(url: str, *, create: bool) -> Store:
    """The PostgreSQL store of a ``--db postgresql://...`` URL (imported only then)."""
    try:
        from ccdomain.postgres import PostgresStore
    except ImportError as exc:
        raise _UsageError(
            f"--db names a PostgreSQL database, but its driver is missing ({exc}); "
            "install it with: pip install 'ccdomain[postgres]'"
        ) from None
    try:
        return PostgresStore(url, read_only=not create, max_size=2)
    except CcdomainError as exc:  # its message names the database, never the password
        raise _UsageError(str(exc)) from None


class _Counted:
    """The lines of an event file, counting the bytes read so far (for the progress)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.read = 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self.stream:
            self.read += len(line)
            yield line


def _file_size(stream: IO[bytes]) -> int | None:
    """The size of a regular file (an event file, or stdin redirected from one), else None."""
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) and status.st_size > 0 else None


def _bytes_text(count: float) -> str:
    for unit in ("B", "kB", "MB"):
        if count < 1000:
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1000
    return f"{count:,.1f} GB"


def _duration_text(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole // 60 % 60:02d}m"


class _Progress:
    """Progress of a replay on stderr, at most five times a second, only on a terminal.

    With the size of the input known (a file): the share read, the bytes read of the
    total, the rate and the time left, estimated from the bytes read so far. Without it
    (a pipe): the lines read and the rate.
    """

    def __init__(
        self, stream: TextIO, *, total: int | None = None, done: Callable[[], int] | None = None
    ) -> None:
        self.stream = stream
        self.total = total
        self.done = done
        self.start = time.monotonic()
        self.shown = self.start
        self.width = 0

    def __call__(self, lines: int) -> None:
        now = time.monotonic()
        if now - self.shown < _PROGRESS_EVERY:
            return
        self.shown = now
        elapsed = max(now - self.start, 1e-9)
        text = f"{lines:,} lines  {lines / elapsed:,.0f} lines/s"
        if self.total is not None and self.done is not None:
            read = min(self.done(), self.total)
            left = elapsed * (self.total - read) / read if read else None
            text = (
                f"{100 * read / self.total:3.0f}%  {_bytes_text(read)} of "
                f"{_bytes_text(self.total)}  {text}"
                + (f"  {_duration_text(left)} left" if left is not None else "")
            )
        self.stream.write("\r" + text.ljust(self.width) + " ")
        self.stream.flush()
        self.width = max(self.width, len(text))

    def clear(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * (self.width + 1) + "\r")
            self.stream.flush()


def _report_bad_lines(summary: ReplaySummary, stderr: TextIO) -> None:
    for bad in summary.bad_lines:
        stderr.write(f"{bad}\n")
    if summary.stopped_at is not None:
        stderr.write(
            f"stopped at line {summary.stopped_at}; the lines before it are applied "
            "(use --keep-going to apply every good line)\n"
        )
    elif summary.bad_lines:
        stderr.write(f"{len(summary.bad_lines)} bad lines were not applied\n")


def _replay_into(
    store: Store,
    lines: Iterable[str | bytes],
    *,
    keep_going: bool,
    stdout: TextIO,
    stderr: TextIO,
    total: int | None = None,
    done: Callable[[], int] | None = None,
) -> int:
    progress = _Progress(stderr, total=total, done=done) if stderr.isatty() else None
    try:
        summary = replay(store, lines, keep_going=keep_going, progress=progress)
    finally:
        if progress is not None:
            progress.clear()
    stdout.write("\n".join(summary.lines_report()) + "\n")
    _report_bad_lines(summary, stderr)
    return 1 if summary.bad_lines else 0


# --- subcommands -----------------------------------------------------------------------------


def _cmd_replay(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    source: IO[bytes]
    if args.events == "-":
        source = sys.stdin.buffer
    else:
        try:
            source = open(args.events, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise _UsageError(f"cannot read {args.events!r}: {exc.strerror or exc}") from None
    store = _open_store(args.db, create=True)
    try:
        lines = _Counted(source)
        return _replay_into(
            store,
            lines,
            keep_going=args.keep_going,
            stdout=stdout,
            stderr=stderr,
            total=_file_size(source),
            done=lambda: lines.read,
        )
    finally:
        store.close()
        if source is not sys.stdin.buffer:
            source.close()


def _parse_day(text: str) -> dt.date:
    try:
        if len(text) != 10:
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _parse_time(text: str) -> dt.datetime:
    try:
        return checks.iso_time(text, "--as-of")
    except CcdomainError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time with offset such as 2026-11-20T18:00:00-05:00"
        ) from None


def _declared(store: Store, campaign: str) -> bool:
    with store.unit_of_work() as uow:
        return uow.get_campaign(campaign) is not None


def _listing(name: str) -> Callable[[argparse.Namespace, TextIO, TextIO], int]:
    def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
        if args.campaign is not None:  # checked as every campaign id is, before any file
            args.campaign = checks.identifier(args.campaign, "campaign")
        store = _open_store(args.db, create=False)
        try:
            if args.campaign is not None and not _declared(store, args.campaign):
                # An empty listing would read as "nothing happened in that campaign"; a
                # misspelt id is a usage error. A declared campaign with no rows is empty.
                raise _UsageError(
                    f"no campaign {args.campaign!r} in database {_shown(args.db)!r}; "
                    "expected the id of a declared campaign (see `ccdomain contacts`)"
                )
            rows: list[dict[str, Any]]
            if name == "tickets":
                rows = ticket_rows(store, campaign=args.campaign, as_of=args.as_of)
            elif name == "contacts":
                rows = contact_rows(store, campaign=args.campaign)
            elif name == "typifications":
                rows = typification_rows(store, campaign=args.campaign)
            elif name == "agents":
                rows = agent_rows(store, campaign=args.campaign)
            else:
                # The one place the wall clock is read: a CLI default, never inside a rule.
                as_of = args.as_of if args.as_of is not None else dt.date.today()
                rows = promise_rows(store, as_of=as_of)
                if args.campaign is not None:
                    rows = [r for r in rows if r["campaign"] == args.campaign]
        except CcdomainError as exc:
            raise _UsageError(f"cannot read database {_shown(args.db)!r}: {exc}") from None
        finally:
            store.close()
        width = _table_width(stdout) if args.format == "table" else None
        stdout.write(
            format_rows(
                rows,
                args.format,
                _TABLE_COLUMNS[name],
                fields=FIELDS[name],
                width=width,
                wide=args.wide,
            )
        )
        return 0

    return run


def _cmd_sweep(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from ccdomain.tickets import sweep_auto_resolve

    store = _open_store(args.db, create=False, write=True)
    try:
        resolved = sweep_auto_resolve(store, as_of=args.as_of)
    except CcdomainError as exc:
        raise _UsageError(f"cannot sweep database {_shown(args.db)!r}: {exc}") from None
    finally:
        store.close()
    stdout.write(f"tickets auto-resolved: {len(resolved)}\n")
    for ticket in resolved:
        closed_at = ticket.closed_at.isoformat() if ticket.closed_at is not None else ""
        stdout.write(f"  ticket {ticket.number} ({ticket.campaign}) resolved at {closed_at}\n")
    return 0


def _export_document(store: Store, campaign: str, code: str) -> str:
    """The I5 document of a contact, as the identities service writes it."""
    from ccdomain.identities import export_json

    return export_json(store, campaign=campaign, code=code)


def _cmd_export(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    store = _open_store(args.db, create=False)
    try:
        document = _export_document(store, args.campaign, args.contact)
    except CcdomainError as exc:
        raise _UsageError(str(exc)) from None
    finally:
        store.close()
    stdout.write(document.rstrip("\n") + "\n")
    return 0


def _cmd_identities(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    store = _open_store(args.db, create=False)
    try:
        rows = identity_rows(store, campaign=args.campaign, code=args.contact, query=args.query)
    except CcdomainError as exc:
        raise _UsageError(str(exc)) from None
    finally:
        store.close()
    width = _table_width(stdout) if args.format == "table" else None
    stdout.write(
        format_rows(
            rows,
            args.format,
            _TABLE_COLUMNS["identities"],
            fields=IDENTITY_FIELDS,
            width=width,
            wide=args.wide,
        )
    )
    return 0


def _cmd_demo(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    demo = importlib.resources.files("ccdomain").joinpath("data", "demo.jsonl")
    lines = demo.read_text(encoding="utf-8").splitlines()
    with tempfile.TemporaryDirectory(prefix="ccdomain-demo-") as folder:
        store = SqliteStore(Path(folder) / "demo.sqlite")
        try:
            stdout.write(f"Replaying the bundled demo ({len(lines)} events)\n\n")
            status = _replay_into(store, lines, keep_going=True, stdout=stdout, stderr=stderr)
            sections = (
                ("Tickets", "tickets", ticket_rows(store)),
                ("Contacts", "contacts", contact_rows(store)),
                ("Typifications", "typifications", typification_rows(store)),
                (
                    f"Promises as of {DEMO_AS_OF.isoformat()}",
                    "promises",
                    promise_rows(store, as_of=DEMO_AS_OF),
                ),
            )
            width = _table_width(stdout)
            for title, name, rows in sections:
                stdout.write(f"\n{title}\n\n")
                stdout.write(
                    format_rows(rows, "table", _TABLE_COLUMNS[name], width=width, wide=args.wide)
                )
        finally:
            store.close()
    return status


# --- parser and entry point ------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ccdomain",
        description="The rule book of a contact center: replay event files, list tickets, "
        "contacts, typifications and promises to pay.",
        epilog="Exit status: 0 ok, 1 bad lines in a replay, 2 usage, file or storage errors.",
    )
    parser.add_argument("--version", action="version", version=f"ccdomain {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "replay",
        help="apply an event file (JSON lines) to a SQLite database",
        description="Apply events (one JSON object a line, docs/events.md) to a SQLite "
        "database, created if missing, and print a summary. A bad line is reported on stderr "
        "as 'line N: field F: reason' and the exit status is 1; the lines before it stay "
        "applied. A database that fails (read-only, full disk) stops the replay with status "
        "2. Replaying the same file twice leaves the database as one replay did.",
    )
    p.add_argument("events", metavar="EVENTS", help="the event file, or - to read stdin")
    p.add_argument("--db", required=True, metavar="FILE", help=_DB_HELP)
    p.add_argument(
        "--keep-going",
        action="store_true",
        help="apply every good line and list every bad line at the end",
    )
    p.set_defaults(run=_cmd_replay)

    for name, what in (
        ("tickets", "tickets (number, campaign, customer, status, contact, ...)"),
        ("contacts", "contacts (campaign, code, names, VIP, avatar, phones, ...)"),
        ("typifications", "typifications (ticket, time, agent, path, comment, ...)"),
        ("promises", "promises to pay with their status on a date"),
        ("agents", "agents (id, status, queues, open tickets per channel family, ...)"),
    ):
        p = sub.add_parser(name, help=f"list {what}", description=f"List {what}.")
        p.add_argument("--db", required=True, metavar="FILE", help=_DB_HELP)
        p.add_argument(
            "--format",
            choices=("table", "json", "csv"),
            default="table",
            help="table (aligned, the main columns), json or csv (every field); default table",
        )
        p.add_argument("--campaign", metavar="ID", help="only this campaign")
        p.add_argument("--wide", action="store_true", help=_WIDE_HELP)
        if name == "promises":
            p.add_argument(
                "--as-of",
                type=_parse_day,
                metavar="YYYY-MM-DD",
                help="the date the statuses are evaluated on (default: today)",
            )
        if name == "tickets":
            p.add_argument(
                "--as-of",
                type=_parse_time,
                metavar="TIME",
                help="show each ticket as of this time, ISO 8601 with offset: auto-resolve "
                "and snooze applied, service levels evaluated (default: the latest event "
                "time in the database)",
            )
        p.set_defaults(run=_listing(name))

    p = sub.add_parser(
        "sweep",
        help="write the auto-resolutions due at a time",
        description="Resolve every open, pending or snoozed ticket whose campaign's "
        "auto_resolve_after_h has passed since its last interaction, as of TIME: each is "
        "resolved by 'system' at its last interaction + H. Running it twice changes nothing.",
    )
    p.add_argument("--db", required=True, metavar="FILE", help=_DB_HELP)
    p.add_argument(
        "--as-of",
        required=True,
        type=_parse_time,
        metavar="TIME",
        help="the time to sweep at (ISO 8601 with offset)",
    )
    p.set_defaults(run=_cmd_sweep)

    p = sub.add_parser(
        "identities",
        help="list the contacts that may be the same person as a contact",
        description="List the Identities tab of a contact: the contacts of its campaign that "
        "its phones, emails, document number or full name match, best first, each with the "
        "reason; with --query, those a search for a phone, an email, a document number or a "
        "name finds (X2).",
    )
    p.add_argument("--db", required=True, metavar="FILE", help=_DB_HELP)
    p.add_argument("--campaign", required=True, metavar="ID", help="the contact's campaign")
    p.add_argument("--contact", required=True, metavar="CODE", help="the contact's code")
    p.add_argument("--query", metavar="TEXT", help="search this phone, email, document or name")
    p.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (aligned, the main columns), json or csv (every field); default table",
    )
    p.add_argument("--wide", action="store_true", help=_WIDE_HELP)
    p.set_defaults(run=_cmd_identities)

    p = sub.add_parser(
        "export",
        help="print everything held about a contact as one JSON document",
        description="Print everything held about a contact as one JSON document: the contact, "
        "its company, its tickets with their messages and typifications, its products with "
        "their payments and promises, and every other event about it.",
    )
    p.add_argument("--db", required=True, metavar="FILE", help=_DB_HELP)
    p.add_argument("--campaign", required=True, metavar="ID", help="the contact's campaign")
    p.add_argument("--contact", required=True, metavar="CODE", help="the contact's code")
    p.set_defaults(run=_cmd_export)

    p = sub.add_parser(
        "demo",
        help="replay a bundled sample into a temporary database and print the result",
        description="Replay a bundled week of a Peruvian contact center (Monday 16 to "
        "Friday 20 November 2026: three campaigns, WhatsApp and calls, promises to pay) "
        "into a temporary SQLite file, print the summary and the listings (promises as of "
        f"{DEMO_AS_OF.isoformat()}), then delete it.",
    )
    p.add_argument("--wide", action="store_true", help=_WIDE_HELP)
    p.set_defaults(run=_cmd_demo)
    return parser


class _Reader(io.TextIOBase):
    """Standard output that survives its reader going away (``ccdomain demo | head -1``).

    A closed pipe is not an error of the data: the first write that meets it sends the
    rest of the output to nowhere, and the command ends with the status its work earned.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._gone()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def _gone(self) -> None:
        self.gone = True
        # Python flushes sys.stdout at exit too: point its descriptor at nowhere first.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ccdomain`` command; returns the exit status (0, 1 or 2).

    Args:
        argv: the arguments after the program name (default: ``sys.argv[1:]``).
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (status 2)
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    run: Callable[[argparse.Namespace, TextIO, TextIO], int] = args.run
    stdout = _Reader(sys.stdout)
    out = cast(TextIO, stdout)
    try:
        status = run(args, out, sys.stderr)
        stdout.flush()
        return status
    except _UsageError as exc:
        sys.stderr.write(f"ccdomain {args.command}: error: {exc}\n")
        return 2
    except CcdomainError as exc:
        sys.stderr.write(f"ccdomain {args.command}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted; the lines applied so far are kept\n")
        return 130
