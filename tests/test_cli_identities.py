"""The ``ccdomain`` command with identity events: comment, cancel, block, unblock, anonymize,
and the ``export`` document (DESIGN I2-I5, R4, E1)."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from ccdomain import cli
from ccdomain.events import InteractionRefused
from ccdomain.identities import ANONYMIZED_TEXT, ContactExport
from ccdomain.serialization import from_json

EVENTS: list[dict[str, Any]] = [
    {
        "type": "campaign",
        "id": "ventas",
        "region": "PE",
        "typifications": [["Contactado", "Venta"]],
    },
    {
        "type": "line",
        "id": "wa-main",
        "channel": "whatsapp",
        "address": "+51 1 7001234",
        "campaign": "ventas",
    },
    {
        "type": "contact",
        "campaign": "ventas",
        "first_names": "Gertrudis",
        "last_names": "Quispecahuana",
        "document": {"type": "DNI", "number": "45127839"},
        "channels": [
            {"kind": "phone", "value": "987 654 321"},
            {"kind": "email", "value": "Gertrudis.Q@Example.com"},
        ],
        "addresses": [{"line": "Jr. Huallaga 777", "city": "Lima"}],
    },
    {
        "type": "interaction",
        "id": "wamid.001",
        "at": "2026-11-20T10:00:00-05:00",
        "channel": "whatsapp",
        "direction": "inbound",
        "line": "wa-main",
        "customer": "987654321",
        "text": "Quiero reclamar mi devolución",
    },
    {
        "type": "comment",
        "ticket": 1,
        "agent": "ana",
        "at": "2026-11-20T10:05:00-05:00",
        "text": "reclamo duplicado",
    },
    {"type": "cancel", "ticket": 1, "agent": "sup1", "at": "2026-11-20T10:10:00-05:00"},
    {
        "type": "interaction",
        "id": "wamid.002",
        "at": "2026-11-20T11:00:00-05:00",
        "channel": "whatsapp",
        "direction": "inbound",
        "line": "wa-main",
        "customer": "987654321",
        "text": "Sigo esperando la devolución",
    },
    {
        "type": "comment",
        "ticket": 2,
        "agent": "ana",
        "at": "2026-11-20T11:05:00-05:00",
        "text": "derivado a finanzas",
    },
    {
        "type": "typify",
        "ticket": 2,
        "agent": "ana",
        "at": "2026-11-20T11:10:00-05:00",
        "path": ["Contactado", "Venta"],
        "comment": "devolución aprobada",
    },
    {
        "type": "block",
        "campaign": "ventas",
        "customer": "987-654-321",
        "agent": "sup1",
        "at": "2026-11-20T12:00:00-05:00",
    },
    {
        "type": "interaction",
        "id": "wamid.003",
        "at": "2026-11-20T12:30:00-05:00",
        "channel": "whatsapp",
        "direction": "inbound",
        "line": "wa-main",
        "customer": "987654321",
        "text": "¿Por qué no me responden?",
    },
]
UNBLOCK = {
    "type": "unblock",
    "campaign": "ventas",
    "customer": "+51987654321",
    "agent": "sup1",
    "at": "2026-11-20T13:00:00-05:00",
}
ANONYMIZE = {
    "type": "anonymize",
    "campaign": "ventas",
    "contact": "45127839",
    "agent": "dpo",
    "at": "2026-11-20T14:00:00-05:00",
}
ORIGINALS = (
    "Gertrudis",
    "Quispecahuana",
    "45127839",
    "+51987654321",
    "987654321",
    "gertrudis.q@example.com",
    "Jr. Huallaga 777",
    "reclamar mi devolución",
    "Sigo esperando",
    "derivado a finanzas",
    "devolución aprobada",
    "no me responden",
)


def _write(path: pathlib.Path, events: list[dict[str, Any]]) -> pathlib.Path:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), "utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = cli.main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_I2_I3_identity_events_replay_through_the_services(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "cc.sqlite")
    events = _write(tmp_path / "events.jsonl", [*EVENTS, UNBLOCK])
    status, out, err = _run(capsys, "replay", str(events), "--db", db)
    assert status == 0, err
    assert "interactions refused:  1" in out and "bad lines:             0" in out
    status, out, _ = _run(capsys, "tickets", "--db", db, "--format", "json")
    tickets = json.loads(out)
    assert [(t["number"], t["status"], t["contact"]) for t in tickets] == [
        (1, "cancelled", "45127839"),
        (2, "typified", "45127839"),
    ]
    status, out, _ = _run(
        capsys, "export", "--db", db, "--campaign", "ventas", "--contact", "45127839"
    )
    assert status == 0
    document = from_json(out, ContactExport)
    cancelled, typified = document.cases
    assert cancelled.comments == () and len(cancelled.interactions) == 1  # I2
    assert [c.text for c in typified.comments] == ["derivado a finanzas"]
    assert document.blocks == ()  # unblocked at the end
    [refusal] = document.refused
    assert isinstance(refusal.payload, InteractionRefused)
    assert refusal.payload.text == "¿Por qué no me responden?"
    # R4: a second replay changes no case, block or refusal. (The block and unblock
    # lines are applied again, so the interaction between them is refused again,
    # as the first time, and that refusal is not recorded twice.)
    status, out, err = _run(capsys, "replay", str(events), "--db", db)
    assert status == 0, err
    assert "applied:               2" in out and "bad lines:             0" in out
    status, again, _ = _run(
        capsys, "export", "--db", db, "--campaign", "ventas", "--contact", "45127839"
    )
    second = from_json(again, ContactExport)
    assert (second.cases, second.blocks, second.refused) == (
        document.cases,
        document.blocks,
        document.refused,
    )


def test_I4_anonymize_event_leaves_no_original_value_in_the_file_or_any_output(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cc.sqlite"
    events = _write(tmp_path / "events.jsonl", [*EVENTS, ANONYMIZE])
    status, out, err = _run(capsys, "replay", str(events), "--db", str(db))
    assert status == 0, err
    outputs = [out]
    for command in ("tickets", "contacts", "typifications"):
        for fmt in ("table", "json", "csv"):
            status, out, _ = _run(capsys, command, "--db", str(db), "--format", fmt)
            assert status == 0
            outputs.append(out)
    status, out, _ = _run(capsys, "contacts", "--db", str(db), "--format", "json")
    [contact] = json.loads(out)
    assert contact["anonymized"] is True and contact["code"].startswith("ANON-")
    status, out, _ = _run(
        capsys, "export", "--db", str(db), "--campaign", "ventas", "--contact", contact["code"]
    )
    assert status == 0
    outputs.append(out)
    document = from_json(out, ContactExport)
    assert [len(c.interactions) for c in document.cases] == [1, 1]
    assert {i.text for c in document.cases for i in c.interactions} == {ANONYMIZED_TEXT}
    assert [t.path for c in document.cases for t in c.typifications] == [("Contactado", "Venta")]
    joined = "\n".join(outputs)
    assert [v for v in ORIGINALS if v in joined] == []
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("cc.sqlite"))
    assert [v for v in ORIGINALS if v.encode("utf-8") in raw] == []
    # Replaying the anonymize line again is a no-op, not a bad line.
    anonymize_again = _write(tmp_path / "again.jsonl", [ANONYMIZE])
    status, out, err = _run(capsys, "replay", str(anonymize_again), "--db", str(db))
    assert status == 0, err
    assert "already applied:       1" in out


@pytest.mark.parametrize(
    ("event", "field", "shown"),
    [
        ({"type": "comment", "ticket": 1, "agent": "ana", "text": "tarde"}, "ticket", "cancelled"),
        ({"type": "comment", "ticket": 9, "agent": "ana", "text": "x"}, "ticket", "9"),
        ({"type": "comment", "ticket": 2, "agent": "ana", "text": "   "}, "text", "'   '"),
        ({"type": "comment", "ticket": 2, "agent": "ana"}, "text", "missing"),
        (
            {"type": "block", "campaign": "ventas", "customer": "98765", "agent": "s"},
            "customer",
            "98765",
        ),
        (
            {"type": "block", "campaign": "nope", "customer": "987654321", "agent": "s"},
            "campaign",
            "nope",
        ),
        (
            {"type": "anonymize", "campaign": "ventas", "contact": "C-404", "agent": "dpo"},
            "contact",
            "C-404",
        ),
        (
            {"type": "merge", "campaign": "ventas", "into": "45127839", "from": "45127839"},
            None,
            "itself",
        ),
    ],
)
def test_E1_bad_identity_lines_are_reported_with_field_and_value(
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
    event: dict[str, Any],
    field: str | None,
    shown: str,
) -> None:
    db = str(tmp_path / "cc.sqlite")
    _run(capsys, "replay", str(_write(tmp_path / "base.jsonl", EVENTS)), "--db", db)
    _, before, _ = _run(capsys, "tickets", "--db", db, "--format", "json")
    line = {**event, "at": "2026-11-20T15:00:00-05:00"}
    if line["type"] == "merge":
        line["agent"] = "sup1"
    status, _, err = _run(capsys, "replay", str(_write(tmp_path / "bad.jsonl", [line])), "--db", db)
    assert status == 1
    assert err.startswith("line 1: " + (f"field {field!r}: " if field else ""))
    assert shown in err
    _, after, _ = _run(capsys, "tickets", "--db", db, "--format", "json")
    assert after == before


def test_I5_export_of_an_unknown_contact_is_a_usage_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "cc.sqlite")
    _run(capsys, "replay", str(_write(tmp_path / "base.jsonl", EVENTS[:3])), "--db", db)
    status, out, err = _run(capsys, "export", "--db", db, "--campaign", "ventas", "--contact", "X9")
    assert (status, out) == (2, "") and "'X9'" in err
