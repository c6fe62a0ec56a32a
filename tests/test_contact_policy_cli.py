"""The contact policy through the ``ccdomain`` command: replay and listings (W1-W7, R4)."""

from __future__ import annotations

import json
import pathlib
import sqlite3
from typing import Any

import pytest

from ccdomain import cli

CAMPAIGNS: list[dict[str, Any]] = [
    {"type": "campaign", "id": "ventas", "region": "PE", "kind": "sales"},
    {
        "type": "campaign",
        "id": "cobranzas",
        "region": "PE",
        "timezone": "America/Lima",
        "kind": "collections",
        "stop_words": ["BAJA", "NO MOLESTAR", "Cancelar"],
    },
    {
        "type": "line",
        "id": "wa",
        "channel": "whatsapp",
        "address": "+51 1 7001234",
        "campaign": "ventas",
    },
    {
        "type": "line",
        "id": "wa-cob",
        "channel": "whatsapp",
        "address": "+51 1 7005678",
        "campaign": "cobranzas",
    },
    {
        "type": "line",
        "id": "tel",
        "channel": "call",
        "address": "+51 1 7009999",
        "campaign": "cobranzas",
    },
    {
        "type": "contact",
        "campaign": "cobranzas",
        "first_names": "Rosa",
        "last_names": "Quispe",
        "document": {"type": "DNI", "number": "41223344"},
        "channels": [{"kind": "phone", "value": "987 654 321"}],
    },
]


def message(n: int, at: str, direction: str = "outbound", **kw: Any) -> dict[str, Any]:
    event = {
        "type": "interaction",
        "id": f"m{n}",
        "at": at,
        "channel": "whatsapp",
        "direction": direction,
        "line": "wa",
        "customer": "987654321",
    }
    if direction == "outbound":
        event.update(campaign="ventas", agent="ana", text="Hola José")
    else:
        event["text"] = "Hola"
    event.update(kw)
    return event


def call(n: int, at: str, **kw: Any) -> dict[str, Any]:
    event = {
        "type": "interaction",
        "id": f"c{n}",
        "at": at,
        "channel": "call",
        "direction": "outbound",
        "line": "tel",
        "campaign": "cobranzas",
        "customer": "987654321",
        "agent": "rosa",
        "status": "answered",
    }
    event.update(kw)
    return event


def write(path: pathlib.Path, events: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), "utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = cli.main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def replay(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], events: list[dict[str, Any]]
) -> tuple[int, str, str, str]:
    db = str(tmp_path / "cc.sqlite")
    status, out, err = run(capsys, "replay", write(tmp_path / "e.jsonl", events), "--db", db,
                           "--keep-going")  # fmt: skip
    return status, out, err, db


def tickets(capsys: pytest.CaptureFixture[str], db: str) -> list[dict[str, Any]]:
    status, out, _ = run(capsys, "tickets", "--db", db, "--format", "json")
    assert status == 0
    return list(json.loads(out))


def test_W1_W6_replay_reports_a_free_form_message_outside_the_window_as_a_bad_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [
        *CAMPAIGNS,
        message(1, "2026-11-18T10:00:00-05:00"),  # line 7: nobody wrote: refused
        message(2, "2026-11-18T10:05:00-05:00", template="bienvenida", params=["José"], text=None),
        message(3, "2026-11-18T11:00:00-05:00", direction="inbound"),
        message(4, "2026-11-19T10:59:59-05:00"),  # inside the window
        message(5, "2026-11-19T11:00:00-05:00"),  # line 11: exactly 24 h later: closed
    ]
    status, out, err, db = replay(tmp_path, capsys, events)
    assert status == 1
    assert "line 7: W1: free-form whatsapp message to customer '+51987654321' at " in err
    assert "no inbound message" in err
    assert (
        "line 11: W1: free-form whatsapp message to customer '+51987654321' at "
        "2026-11-19T11:00:00-05:00 is outside the customer-service window: the customer last "
        "wrote on this line at 2026-11-18T11:00:00-05:00; the window closed at "
        "2026-11-19T11:00:00-05:00" in err
    )
    (ticket,) = tickets(capsys, db)
    assert ticket["interactions"] == 3  # the template, the inbound message and the reply
    # Replaying again changes nothing: the accepted lines are already applied.
    status, out, err = run(capsys, "replay", str(tmp_path / "e.jsonl"), "--db", db,
                           "--keep-going")  # fmt: skip
    assert "already applied:       9" in out and tickets(capsys, db)[0]["interactions"] == 3


def test_W2_replay_reads_the_human_agent_tag(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page: dict[str, Any] = {"channel": "messenger", "line": "fb", "customer": "psid-77"}
    events = [
        *CAMPAIGNS,
        {
            "type": "line",
            "id": "fb",
            "channel": "messenger",
            "address": "ventas-page",
            "campaign": "ventas",
        },
        message(1, "2026-11-18T10:00:00-05:00", direction="inbound", **page),
        message(2, "2026-11-20T10:00:00-05:00", **page),  # line 9: W2 refuses
        message(3, "2026-11-20T10:00:00-05:00", tag="human_agent", **page),
    ]
    status, _, err, db = replay(tmp_path, capsys, events)
    assert status == 1 and "line 9: W2: " in err and "line 10" not in err
    assert tickets(capsys, db)[0]["interactions"] == 2


def test_W3_W6_opt_out_lines_stop_words_and_the_contacts_listing(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cob: dict[str, Any] = {"line": "wa-cob", "campaign": "cobranzas"}
    events = [
        *CAMPAIGNS,
        {
            "type": "opt_out",
            "campaign": "cobranzas",
            "customer": "987 654 321",
            "channel": "call",
            "agent": "rosa",
            "at": "2026-11-18T09:00:00-05:00",
        },
        call(1, "2026-11-18T10:00:00-05:00"),  # line 8: W3
        message(
            2, "2026-11-18T10:10:00-05:00", direction="inbound", line="wa-cob", text="No molestar!!"
        ),
        message(3, "2026-11-18T10:20:00-05:00", template="aviso", **cob),  # line 10: W3
        {
            "type": "opt_in",
            "campaign": "cobranzas",
            "customer": "987654321",
            "channel": "call",
            "agent": "rosa",
            "at": "2026-11-18T11:00:00-05:00",
        },
        call(4, "2026-11-18T11:30:00-05:00"),
        message(
            5,
            "2026-11-18T11:40:00-05:00",
            direction="inbound",
            line="wa-cob",
            customer="912345678",
            text="cancelar.",
        ),
    ]
    status, out, err, db = replay(tmp_path, capsys, events)
    assert status == 1
    assert "line 8: W3: customer '+51987654321' opted out of call in campaign 'cobranzas'" in err
    assert "line 10: W3: customer '+51987654321' opted out of whatsapp" in err
    assert "line 11" not in err and "line 12" not in err
    status, out, _ = run(capsys, "contacts", "--db", db, "--format", "json")
    (rosa,) = json.loads(out)
    assert rosa["code"] == "41223344" and rosa["opted_out"] == ["whatsapp"]
    with sqlite3.connect(db) as raw:
        stored = raw.execute("SELECT customer, channel FROM opt_outs ORDER BY customer").fetchall()
    assert stored == [("+51912345678", "whatsapp"), ("+51987654321", "whatsapp")]
    status, out, _ = run(capsys, "contacts", "--db", db, "--format", "csv")
    assert out.splitlines()[0].endswith(",opted_out")
    # A second replay applies the opt_out ... opt_in pair again (as a block ... unblock
    # pair, R4), so the call between them is refused again; the listing stays.
    status, out, err = run(capsys, "replay", str(tmp_path / "e.jsonl"), "--db", db,
                           "--keep-going")  # fmt: skip
    assert "already applied:       9" in out and "bad lines:             2" in out
    status, out, _ = run(capsys, "contacts", "--db", db, "--format", "json")
    assert json.loads(out)[0]["opted_out"] == ["whatsapp"]


def test_W4_W5_replay_refuses_calls_outside_hours_on_holidays_and_past_the_cap(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [
        *CAMPAIGNS,
        call(1, "2026-11-18T07:30:00-05:00"),  # line 7: before 08:00
        call(2, "2026-12-08T10:00:00-05:00"),  # line 8: Immaculate Conception, a PE holiday
        call(3, "2026-11-18T09:00:00-05:00"),
        call(4, "2026-11-18T09:30:00-05:00", channel="sms", line="sms", text="Recordatorio"),
        call(5, "2026-11-18T10:00:00-05:00"),
        call(6, "2026-11-18T10:30:00-05:00"),  # line 12: the fourth attempt of the day
        call(7, "2026-11-19T09:00:00-05:00"),
    ]
    events.insert(
        5,
        {
            "type": "line",
            "id": "sms",
            "channel": "sms",
            "address": "+51 1 7008888",
            "campaign": "cobranzas",
        },
    )
    status, _, err, db = replay(tmp_path, capsys, events)
    assert status == 1
    assert "line 8: W4: outbound to customer '+51987654321' at 2026-11-18T07:30:00-05:00" in err
    assert "open again at 2026-11-18T08:00:00-05:00" in err
    assert "line 9: W4: " in err and "closed on PE public holidays" in err
    assert "line 13: W5: customer '+51987654321' was already contacted 3 times on 2026-11-18" in err
    assert "line 14" not in err
    (ticket,) = tickets(capsys, db)
    assert ticket["interactions"] == 4


def test_W7_replay_checks_the_campaign_policy_fields(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [
        {"type": "campaign", "id": "a", "contact_hours": {"mon-fri": ["20:00-08:00"]}},
        {"type": "campaign", "id": "b", "max_daily_attempts": -1},
        {"type": "campaign", "id": "c", "stop_words": "BAJA"},
        {
            "type": "campaign",
            "id": "d",
            "contact_hours": "always",
            "max_daily_attempts": 0,
            "stop_words": [],
        },
    ]
    status, _out, err, _ = replay(tmp_path, capsys, events)
    assert status == 1
    assert "line 1:" in err and "contact_hours" in err
    assert "line 2:" in err and "max_daily_attempts" in err
    assert "line 3:" in err and "stop_words" in err
    assert "line 4" not in err


def test_W6_E4_a_file_of_schema_version_3_lists_contacts_without_opt_outs_read_only(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, _, db = replay(tmp_path, capsys, CAMPAIGNS)
    assert status == 0
    with sqlite3.connect(db) as raw:  # as the file was before migration 4
        for table in ("inbound_messages", "contact_attempts", "opt_outs"):
            raw.execute(f"DROP TABLE {table}")
        raw.execute("PRAGMA user_version = 3")
    status, out, _ = run(capsys, "contacts", "--db", db, "--format", "json")
    assert status == 0 and json.loads(out)[0]["opted_out"] == []
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (3,)  # read, not migrated


def test_W8_replay_refuses_contact_on_the_campaigns_own_closed_dates(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [dict(e) for e in CAMPAIGNS]
    events[1]["holidays"] = ["2026-11-20"]  # cobranzas closes on Friday 20 November
    events += [
        call(1, "2026-11-20T10:00:00-05:00"),  # line 7: the campaign's closed date
        call(2, "2026-11-21T10:00:00-05:00"),  # Saturday: inside the default hours
    ]
    status, _, err, db = replay(tmp_path, capsys, events)
    assert status == 1
    assert "line 7: W4: outbound to customer '+51987654321' at 2026-11-20T10:00:00-05:00" in err
    assert "closed on PE public holidays and on the campaign's closed dates 2026-11-20" in err
    assert "open again at 2026-11-21T08:00:00-05:00" in err
    assert "line 8" not in err
    (ticket,) = tickets(capsys, db)
    assert ticket["interactions"] == 1
