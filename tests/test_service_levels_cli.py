"""H5 through the listing and the command: ``ccdomain tickets --as-of``, first_response_s, sla."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ccdomain.cli import main
from ccdomain.listings import FIELDS, ticket_rows
from ccdomain.memory import MemoryStore
from ccdomain.ports import ServiceLevelReads, Store
from ccdomain.replay import apply_event
from ccdomain.sqlite import SqliteStore
from ccdomain.sqlite.store import SqliteUnitOfWork

SOPORTE = {
    "type": "campaign",
    "id": "soporte",
    "region": "PE",
    "timezone": "America/Lima",
    "hours": {"mon-fri": ["08:00-18:00"]},
    "sla": {"first_response_min": 30, "resolution_min": 1440},
}
LINE = {
    "type": "line",
    "id": "wa",
    "channel": "whatsapp",
    "address": "+51 1 7001234",
    "campaign": "soporte",
}


def inbound(customer: str, at: str, ident: str) -> dict[str, object]:
    return {
        "type": "interaction",
        "id": ident,
        "at": at,
        "channel": "whatsapp",
        "direction": "inbound",
        "line": "wa",
        "customer": customer,
        "text": "Hola",
    }


def outbound(customer: str, at: str, ident: str) -> dict[str, object]:
    return {
        "type": "interaction",
        "id": ident,
        "at": at,
        "channel": "whatsapp",
        "direction": "outbound",
        "campaign": "soporte",
        "line": "wa",
        "customer": customer,
        "agent": "ana",
        # A template: the customer wrote on Friday, so Monday is outside the WhatsApp
        # window (W1), and a template reply counts as the first response (H3).
        "template": "buenos_dias",
    }


def events(campaign: dict[str, object] = SOPORTE) -> list[dict[str, object]]:
    return [
        campaign,
        LINE,
        # 1: Friday 17:55, no answer yet.
        inbound("987654321", "2026-11-20T17:55:00-05:00", "m1"),
        # 2: Friday 17:58, answered Monday 08:10 (15 business minutes) and resolved.
        inbound("912345678", "2026-11-20T17:58:00-05:00", "m2"),
        outbound("912345678", "2026-11-23T08:13:00-05:00", "m3"),
        {
            "type": "resolve",
            "campaign": "soporte",
            "customer": "912345678",
            "agent": "ana",
            "at": "2026-11-23T08:30:00-05:00",
        },
        # 3: opened by an agent: no first-response target.
        outbound("955111222", "2026-11-23T08:15:00-05:00", "m4"),
    ]


def write(path: Path, lines: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in lines), encoding="utf-8")
    return path


def call(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def replayed(tmp_path: Path, lines: list[dict[str, object]]) -> Path:
    db = tmp_path / "cc.sqlite"
    code, _, err = call("replay", str(write(tmp_path / "events.jsonl", lines)), "--db", str(db))
    assert code == 0, err
    return db


def tickets(db: Path, *more: str) -> list[dict[str, Any]]:
    code, out, err = call("tickets", "--db", str(db), "--format", "json", *more)
    assert code == 0, err
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def test_H3_H4_H5_tickets_as_of_shows_first_response_and_sla(tmp_path: Path) -> None:
    db = replayed(tmp_path, events())
    one, two, three = tickets(db, "--as-of", "2026-11-23T08:20:00-05:00")
    assert one["first_response_s"] is None
    assert one["sla"] == {
        "first_response": "at_risk",  # 25 of 30 minutes used
        "resolution": "running",
        "first_response_due": "2026-11-23T08:25:00-05:00",
        "resolution_due": "2026-11-25T11:55:00-05:00",
    }
    assert two["first_response_s"] == 15 * 60
    assert two["sla"]["first_response"] == "met"
    assert two["sla"]["resolution"] == "running"  # closed at 08:30, after the as-of instant
    assert three["first_response_s"] is None
    assert three["sla"] == {
        "first_response": None,
        "resolution": None,
        "first_response_due": None,
        "resolution_due": None,
    }
    assert list(one) == list(FIELDS["tickets"])


def test_H5_the_default_as_of_is_the_latest_event_time(tmp_path: Path) -> None:
    db = replayed(tmp_path, events())
    # The latest event is the resolve at Monday 08:30: ticket 1 is past its due 08:25.
    one, two, _ = tickets(db)
    assert one["sla"]["first_response"] == "breached"
    assert two["sla"]["resolution"] == "met"
    assert tickets(db) == tickets(db, "--as-of", "2026-11-23T13:30:00Z")


def test_H1_H2_H5_a_holiday_monday_moves_the_due_instant_to_tuesday(tmp_path: Path) -> None:
    db = replayed(tmp_path, events({**SOPORTE, "holidays": ["2026-11-23"]}))
    one, two, _ = tickets(db, "--as-of", "2026-11-23T12:00:00-05:00")
    assert one["sla"]["first_response_due"] == "2026-11-24T08:25:00-05:00"
    assert one["sla"]["first_response"] == "running"  # only 5 minutes used by Monday noon
    assert two["first_response_s"] == 2 * 60  # Friday 17:58-18:00; Monday is closed


def test_H1_H2_H5_across_a_DST_change_the_due_instant_keeps_the_wall_clock(tmp_path: Path) -> None:
    # Santiago: Sunday 6 September 2026 starts at 01:00 (-04:00 becomes -03:00).
    chile = {
        **SOPORTE,
        "region": "CL",
        "timezone": "America/Santiago",
        "hours": {"mon-sat": ["09:00-18:00"]},
    }
    lines = [
        chile,
        {**LINE, "address": "+56 2 2345 6789"},
        inbound("+56 9 8765 4321", "2026-09-05T17:50:00-04:00", "c1"),
    ]
    db = replayed(tmp_path, lines)
    (one,) = tickets(db, "--as-of", "2026-09-07T09:00:00-03:00")
    assert one["sla"]["first_response_due"] == "2026-09-07T09:20:00-03:00"
    assert one["sla"]["first_response"] == "running"


def test_H5_the_table_has_one_sla_column_and_csv_keeps_the_dues(tmp_path: Path) -> None:
    db = replayed(tmp_path, events())
    code, out, _ = call("tickets", "--db", str(db), "--as-of", "2026-11-23T08:20:00-05:00")
    assert code == 0
    header, _, first, second, third = out.splitlines()
    assert " sla " in header
    assert "response at_risk, resolution running" in first
    assert "response met, resolution running" in second
    assert "response" not in third
    code, out, _ = call(
        "tickets", "--db", str(db), "--format", "csv", "--as-of", "2026-11-23T08:20:00-05:00"
    )
    assert code == 0
    assert '""first_response_due"": ""2026-11-23T08:25:00-05:00""' in out


@pytest.mark.parametrize("value", ["2026-11-23", "2026-11-23T08:20:00", "ayer"])
def test_H5_an_as_of_without_an_offset_is_a_usage_error(tmp_path: Path, value: str) -> None:
    db = replayed(tmp_path, events())
    code, out, err = call("tickets", "--db", str(db), "--as-of", value)
    assert code == 2
    assert out == ""
    assert repr(value) in err and "offset" in err


def test_H5_campaign_lines_keep_hours_holidays_and_sla_and_refuse_bad_ones(tmp_path: Path) -> None:
    bad = {**SOPORTE, "id": "otra", "hours": {"mon-fry": ["08:00-18:00"]}}
    path = write(tmp_path / "events.jsonl", [*events(), bad, {**SOPORTE, "sla": None}])
    code, _, err = call("replay", str(path), "--db", str(tmp_path / "x.sqlite"), "--keep-going")
    assert code == 1
    assert "line 8" in err and "'mon-fry'" in err and "mon..sun" in err
    # A re-declaration without the targets is another campaign: refused (R4).
    assert "line 9" in err and "already declared with other settings" in err


def _filled(store: Store) -> Store:
    for line in events():
        apply_event(store, line)
    return store


def test_H5_both_stores_list_the_same_service_levels(tmp_path: Path) -> None:
    as_of = dt.datetime.fromisoformat("2026-11-23T08:20:00-05:00")
    memory = _filled(MemoryStore())
    sqlite = _filled(SqliteStore(tmp_path / "both.sqlite"))
    assert ticket_rows(memory, as_of=as_of) == ticket_rows(sqlite, as_of=as_of)
    assert ticket_rows(memory) == ticket_rows(sqlite)
    assert ticket_rows(memory, campaign="soporte") == ticket_rows(memory)
    with memory.unit_of_work() as uow:
        assert isinstance(uow, ServiceLevelReads)
        assert uow.latest_event_time() == as_of + dt.timedelta(minutes=10)
    sqlite.close()


def test_H5_the_listing_reads_interactions_in_one_pass_not_one_read_a_ticket(
    tmp_path: Path, count_calls: Callable[..., Any]
) -> None:
    store = _filled(SqliteStore(tmp_path / "n.sqlite"))
    for n in range(200):
        apply_event(store, inbound(f"9{n:08d}", "2026-11-23T09:00:00-05:00", f"x{n}"))
    reads = count_calls(SqliteUnitOfWork, "interactions")
    passes = count_calls(SqliteUnitOfWork, "interactions_by_ticket")
    rows = ticket_rows(store)
    assert len(rows) == 203
    assert (reads.count, passes.count) == (0, 1)
    store.close()


class _Plain:
    """A host's unit of work without the optional bulk reads (ServiceLevelReads)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name in ("latest_event_time", "interactions_by_ticket"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __enter__(self) -> _Plain:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)


class _PlainStore:
    def __init__(self, inner: MemoryStore) -> None:
        self._inner = inner

    def unit_of_work(self) -> _Plain:
        return _Plain(self._inner.unit_of_work())


def test_H5_a_store_without_the_bulk_reads_lists_the_same_rows() -> None:
    memory = _filled(MemoryStore())
    plain = _PlainStore(memory)  # type: ignore[arg-type]
    with plain.unit_of_work() as uow:
        assert not isinstance(uow, ServiceLevelReads)
    assert ticket_rows(plain) == ticket_rows(memory)  # type: ignore[arg-type]


def test_H1_H4_the_operations_page_example_runs_as_written() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text("utf-8")
    section = page.split("## Hours and service levels", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```python\n(.*?)```", section, re.S)
    namespace: dict[str, Any] = {}
    exec(compile(block, "docs/operations.md", "exec"), namespace)
    assert namespace["level"].first_response.status.value == "at_risk"


# H3, H6: the time a ticket is pending (P1) does not count, through the listing and the
# command. Always open (no hours): business time is wall time. Inbound 10:00, answered
# 10:05, pending 10:10-10:50 (the customer writes), resolved 11:20: 80 minutes, 40 of
# them pending, against a 60-minute resolution target.
_PENDING_DAY = [
    {"type": "campaign", "id": "soporte", "region": "PE", "timezone": "America/Lima",
     "sla": {"first_response_min": 30, "resolution_min": 60}},
    LINE,
    inbound("912345678", "2026-11-23T10:00:00-05:00", "p1"),
    {**outbound("912345678", "2026-11-23T10:05:00-05:00", "p2"), "template": None,
     "text": "Le escribo en un momento"},
    {"type": "pending", "ticket": 1, "agent": "ana", "at": "2026-11-23T10:10:00-05:00"},
    inbound("912345678", "2026-11-23T10:50:00-05:00", "p3"),
    {"type": "resolve", "ticket": 1, "agent": "ana", "at": "2026-11-23T11:20:00-05:00"},
]  # fmt: skip


def _without_none(event: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in event.items() if v is not None}


def test_H3_H6_pending_time_does_not_count_through_the_listing() -> None:
    store = MemoryStore()
    for event in _PENDING_DAY[:5]:
        apply_event(store, _without_none(event))
    # Pending now: the resolution clock stands still from 10:10 (due moves with as-of).
    (row,) = ticket_rows(store, as_of=dt.datetime.fromisoformat("2026-11-23T12:00:00-05:00"))
    assert row["status"] == "pending" and row["sla"]["resolution"] == "running"  # 10 of 60 min
    for event in _PENDING_DAY[5:]:
        apply_event(store, _without_none(event))
    (row,) = ticket_rows(store)
    assert row["first_response_s"] == 5 * 60
    assert row["sla"]["resolution"] == "met"  # 40 minutes of business time, not 80
    assert row["sla"]["resolution_due"] == "2026-11-23T11:40:00-05:00"  # 10:00 + 60 + 40


def test_H3_H6_pending_time_does_not_count_through_the_command(tmp_path: Path) -> None:
    db = replayed(tmp_path, [_without_none(e) for e in _PENDING_DAY])
    (row,) = tickets(db)
    assert (row["status"], row["sla"]["resolution"]) == ("resolved", "met")
    assert row["sla"]["resolution_due"] == "2026-11-23T11:40:00-05:00"
