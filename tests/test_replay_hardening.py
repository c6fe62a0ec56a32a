"""Replay hardening (issue 14): nonsense refused (R2, R7) and second replays of anonymized
and merged contacts (R4, I4)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_replay import JORGE, PRODUCT, PROMISE

from ccdomain import checks
from ccdomain.cli import main
from ccdomain.errors import CcdomainError, RuleViolation
from ccdomain.identities import identity_address
from ccdomain.listings import contact_rows, promise_rows, ticket_rows, typification_rows
from ccdomain.memory import MemoryStore
from ccdomain.replay import EventRejected, apply_event, replay
from ccdomain.replay.lines import parse_line
from ccdomain.sqlite import SqliteStore

# The debtor, his loan and his promise: the same records as test_replay's.

COBRANZAS = {
    "type": "campaign",
    "id": "cobranzas",
    "region": "PE",
    "timezone": "America/Lima",
    "kind": "collections",
    "typifications": [["Contactado", "Promesa de pago"]],
}


def store_with(*events: dict[str, Any]) -> MemoryStore:
    store = MemoryStore()
    for i, event in enumerate(events, start=1):
        apply_event(store, event, line_no=i)
    return store


# --- R2: a key given twice ---------------------------------------------------------------------


def test_R2_a_key_given_twice_is_a_bad_line_naming_it() -> None:
    # {"id": "w", "id": "v2"} declared campaign "v2": json keeps the last value silently.
    text = '{"type": "campaign", "id": "w", "id": "v2", "region": "PE"}'
    store = MemoryStore()
    summary = replay(store, [text])
    (bad,) = summary.bad_lines
    assert (bad.line, bad.field) == (1, "id")
    assert "'w', then 'v2'" in bad.reason and "expected each key once" in bad.reason
    with store.unit_of_work() as uow:
        assert uow.list_campaigns() == []


def test_R2_a_key_given_twice_inside_a_nested_object_is_refused_too() -> None:
    text = json.dumps(JORGE).replace('"type": "DNI"', '"type": "DNI", "type": "CE"')
    with pytest.raises(EventRejected, match="'DNI', then 'CE'") as caught:
        parse_line(text, 4)
    assert (caught.value.line, caught.value.field) == (4, "type")


_keys = st.text(alphabet=string.ascii_letters + "_é", min_size=1, max_size=6)
_values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))


def _object_text(pairs: list[tuple[str, Any]]) -> str:
    return "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs) + "}"


@given(st.dictionaries(_keys, _values, min_size=1, max_size=6), st.data())
def test_R2_any_object_with_a_repeated_key_is_refused_and_any_other_reads_as_json(
    obj: dict[str, Any], data: st.DataObject
) -> None:
    # The class of the defect: a key given twice, at the top or nested, wherever it is.
    pairs = list(obj.items())
    assert parse_line(_object_text(pairs), 1) == json.loads(_object_text(pairs))
    nested = {"type": "x", "inner": obj}
    assert parse_line(json.dumps(nested), 1) == nested
    key, _ = data.draw(st.sampled_from(pairs))
    at = data.draw(st.integers(min_value=0, max_value=len(pairs)))
    doubled = [*pairs[:at], (key, data.draw(_values)), *pairs[at:]]
    with pytest.raises(EventRejected) as caught:
        parse_line(_object_text(doubled), 1)
    assert caught.value.field == key
    with pytest.raises(EventRejected):
        parse_line('{"type": "x", "inner": ' + _object_text(doubled) + "}", 1)


# --- R2: offsets in hours and minutes ----------------------------------------------------------


def test_R2_an_offset_with_seconds_is_a_bad_line_naming_the_value() -> None:
    event = {
        "type": "campaign",
        "id": "v",
        "region": "PE",
        "at": "2026-11-20T10:00:00-05:00:30.123456",
    }
    with pytest.raises(EventRejected) as caught:
        apply_event(MemoryStore(), event, line_no=3)
    assert caught.value.field == "at"
    assert "'2026-11-20T10:00:00-05:00:30.123456'" in str(caught.value)
    assert "an offset in hours and minutes like -05:00" in str(caught.value)


@given(
    st.datetimes(min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(2100, 1, 1)),
    st.integers(min_value=-(23 * 3600 + 59 * 60), max_value=23 * 3600 + 59 * 60),
    st.integers(min_value=0, max_value=999_999),
)
def test_R2_times_are_read_with_offsets_of_whole_minutes_only(
    naive: dt.datetime, seconds: int, micros: int
) -> None:
    offset = dt.timedelta(seconds=seconds, microseconds=micros)
    if abs(offset) >= dt.timedelta(hours=24):
        return
    text = naive.replace(tzinfo=dt.timezone(offset)).isoformat()
    if offset % dt.timedelta(minutes=1):
        with pytest.raises(RuleViolation, match="an offset in hours and minutes like -05:00"):
            checks.iso_time(text)
    else:
        read = checks.iso_time(text)
        assert read.isoformat() == text  # echoed as given: hours and minutes


# --- R7, C22: a promise's customer is somebody --------------------------------------------------


@pytest.mark.parametrize("customer", ["%_%", "987654322", "someone@example.com"])
def test_R7_C22_a_ticketless_promise_of_anyone_but_the_products_contact_is_a_bad_line(
    customer: str,
) -> None:
    store = store_with(COBRANZAS, JORGE, PRODUCT)
    with pytest.raises(EventRejected, match="is not an address of contact '41223344'") as caught:
        apply_event(store, {**PROMISE, "customer": customer})
    assert caught.value.field == "customer"
    assert promise_rows(store, as_of=dt.date(2026, 11, 3)) == []


def test_R7_C22_the_products_contact_without_a_ticket_still_gets_the_promise() -> None:
    store = store_with(COBRANZAS, JORGE, PRODUCT)
    apply_event(store, {**PROMISE, "customer": "+51 962-444-555"})
    (row,) = promise_rows(store, as_of=dt.date(2026, 11, 3))
    assert row["ticket"] is None


@given(st.text(max_size=20))
def test_R7_C22_no_customer_string_silently_gets_a_ticketless_promise(customer: str) -> None:
    # The class: whatever the customer string, a promise without a ticket is either
    # the product's contact's or refused.
    store = store_with(COBRANZAS, JORGE, PRODUCT)
    try:
        apply_event(store, {**PROMISE, "customer": customer})
    except EventRejected:
        assert promise_rows(store, as_of=dt.date(2026, 11, 3)) == []
    else:
        assert identity_address(customer, "PE") == "+51962444555"
    with pytest.raises(CcdomainError):
        identity_address("", "PE")


# --- R4, I4: a second replay brings nothing of an anonymized contact back ----------------------

CONTACT_PRODUCT_ANONYMIZE = [
    {**COBRANZAS, "typifications": [["Contactado"]]},
    {
        "type": "contact",
        "campaign": "cobranzas",
        "first_names": "Zacarías",
        "last_names": "Pérez",
        "document": {"type": "DNI", "number": "44556677"},
        "channels": [{"kind": "phone", "value": "962 111 222"}],
    },
    {**PRODUCT, "contact": "44556677"},
    {
        "type": "anonymize",
        "campaign": "cobranzas",
        "contact": "44556677",
        "agent": "dpo",
        "at": "2026-11-20T12:00:00-05:00",
    },
]
PERSONAL = ("Zacar", "Pérez", "44556677", "962111222", "Xilófono", "wilfredo", "Yolanda")


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _cli_listings(db: Path) -> list[str]:
    outs = []
    for name in ("tickets", "contacts", "typifications", "promises"):
        more = ["--as-of", "2026-11-20"] if name == "promises" else []
        code, out, err = _cli(name, "--db", str(db), "--format", "json", *more)
        assert code == 0, err
        outs.append(out)
    return outs


def _leaks(db: Path) -> list[str]:
    """The personal values found in the SQLite file and its write-ahead log, byte for byte."""
    data = b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())
    return [value for value in PERSONAL if value.encode() in data]


def _write(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), "utf-8")
    return path


@pytest.mark.parametrize("with_product", [True, False])
def test_R4_I4_a_second_replay_brings_no_anonymized_contact_back(
    tmp_path: Path, with_product: bool
) -> None:
    # The second replay failed at the product line and the contact was back with his
    # name and phone; without the product, each replay added another ANON- contact.
    events = [e for e in CONTACT_PRODUCT_ANONYMIZE if with_product or e["type"] != "product"]
    file, db = _write(tmp_path / "e.jsonl", events), tmp_path / "cc.sqlite"
    code, out, err = _cli("replay", str(file), "--db", str(db))
    assert code == 0, err
    once = _cli_listings(db)
    assert _leaks(db) == []
    for _ in range(2):
        code, out, err = _cli("replay", str(file), "--db", str(db))
        assert code == 0, err
        assert f"already applied:       {len(events)}" in out
        assert _cli_listings(db) == once
        assert _leaks(db) == []
    (contact,) = json.loads(once[1])
    assert contact["anonymized"] and contact["code"].startswith("ANON-")


def test_R4_I4_the_contact_line_is_found_by_apply_event_alone_too() -> None:
    store = MemoryStore()
    for event in CONTACT_PRODUCT_ANONYMIZE:
        apply_event(store, event)
    for event in CONTACT_PRODUCT_ANONYMIZE:
        assert apply_event(store, event).already_applied, event["type"]


def test_R4_M5_a_contact_without_document_or_phone_merged_into_another_is_not_created_again() -> (
    None
):
    # R4's lookup of a merged contact ran only for contacts with phones.
    text = [
        json.dumps(e)
        for e in (
            {"type": "campaign", "id": "v", "region": "PE"},
            {
                "type": "contact",
                "campaign": "v",
                "first_names": "Ana",
                "document": {"type": "DNI", "number": "12345678"},
                "channels": [{"kind": "phone", "value": "987654321"}],
            },
            {
                "type": "contact",
                "campaign": "v",
                "channels": [{"kind": "email", "value": "a@x.pe"}],
            },
            {"type": "contact", "campaign": "v", "last_names": "Solo"},
            {
                "type": "merge",
                "campaign": "v",
                "into": "12345678",
                "from": "C-000001",
                "agent": "s",
            },
            {
                "type": "merge",
                "campaign": "v",
                "into": "12345678",
                "from": "C-000002",
                "agent": "s",
            },
        )
    ]
    for store_of in (MemoryStore, None):
        store = MemoryStore()
        if store_of is None:  # event by event, without a replay's memory
            for line in text:
                apply_event(store, json.loads(line))
        else:
            replay(store, text)
        again = replay(store, text)
        assert (again.contacts_created, again.already_applied, again.bad_lines) == (0, 6, ())
        assert len(contact_rows(store)) == 3


# Every line type that can name the contact or one of its addresses, with and without ids.
WHOLE_FILE = [
    {**COBRANZAS, "typifications": [["Contactado", "Promesa de pago"], ["No contactado"]]},
    {
        "type": "line",
        "id": "tel",
        "channel": "call",
        "address": "+51 1 7003333",
        "campaign": "cobranzas",
    },
    {
        "type": "line",
        "id": "wa",
        "channel": "whatsapp",
        "address": "+51 1 7003334",
        "campaign": "cobranzas",
    },
    {
        "type": "contact",
        "campaign": "cobranzas",
        "first_names": "Zacarías",
        "last_names": "Pérez",
        "document": {"type": "DNI", "number": "44556677"},
        "channels": [{"kind": "phone", "value": "962 111 222"}],
        "company": "Mina SAC",
    },
    {
        "type": "contact",
        "campaign": "cobranzas",
        "first_names": "Zacarías",
        "document": {"type": "DNI", "number": "44556677"},
    },
    {
        "type": "contact",
        "campaign": "cobranzas",
        "first_names": "Wil",
        "channels": [{"kind": "email", "value": "wilfredo@zmail.pe"}],
    },
    {
        "type": "contact",
        "campaign": "cobranzas",
        "first_names": "Eustaquia",
        "channels": [{"kind": "phone", "value": "962 333 444"}],
    },
    {
        "type": "interaction",
        "id": "c1",
        "at": "2026-11-02T10:00:00-05:00",
        "channel": "call",
        "direction": "outbound",
        "campaign": "cobranzas",
        "line": "tel",
        "customer": "962111222",
        "agent": "rosa",
        "status": "answered",
        "duration_s": 60,
    },
    {
        "type": "interaction",
        "at": "2026-11-02T10:05:00-05:00",
        "channel": "whatsapp",
        "direction": "inbound",
        "line": "wa",
        "customer": "962111222",
        "text": "Xilófono secreto",
    },
    {
        "type": "comment",
        "ticket": 1,
        "agent": "rosa",
        "at": "2026-11-02T10:06:00-05:00",
        "text": "Zacarías molesto",
    },
    {
        "type": "typify",
        "campaign": "cobranzas",
        "customer": "962 111 222",
        "agent": "rosa",
        "at": "2026-11-02T10:10:00-05:00",
        "path": ["Contactado", "Promesa de pago"],
        "comment": "Zacarías paga",
    },
    {
        "type": "interaction",
        "at": "2026-11-02T11:00:00-05:00",
        "channel": "whatsapp",
        "direction": "inbound",
        "line": "wa",
        "customer": "962555666",
        "text": "Soy Yolanda",
    },
    {
        "type": "link",
        "campaign": "cobranzas",
        "customer": "962555666",
        "contact": "44556677",
        "agent": "rosa",
    },
    {
        "type": "resolve",
        "campaign": "cobranzas",
        "customer": "962555666",
        "agent": "rosa",
        "at": "2026-11-02T11:10:00-05:00",
    },
    {**PRODUCT, "contact": "44556677"},
    {"type": "payment", "id": "PAY-1", "product": "P-1", "amount": "100.00", "date": "2026-11-02"},
    {
        **PROMISE,
        "customer": "962111222",
        "installments": [{"amount": "100.00", "date": "2026-11-05"}],
    },
    {
        "type": "block",
        "campaign": "cobranzas",
        "customer": "962111222",
        "agent": "sup",
        "at": "2026-11-02T12:00:00-05:00",
    },
    {
        "type": "interaction",
        "id": "w9",
        "at": "2026-11-02T12:05:00-05:00",
        "channel": "whatsapp",
        "direction": "inbound",
        "line": "wa",
        "customer": "962111222",
        "text": "Déjenme Zacarías",
    },
    {
        "type": "interaction",
        "at": "2026-11-02T12:06:00-05:00",
        "channel": "whatsapp",
        "direction": "inbound",
        "line": "wa",
        "customer": "962111222",
        "text": "Otra vez",
    },
    {
        "type": "merge",
        "campaign": "cobranzas",
        "into": "44556677",
        "from": "C-000001",
        "agent": "sup",
    },
    {
        "type": "anonymize",
        "campaign": "cobranzas",
        "contact": "44556677",
        "agent": "dpo",
        "at": "2026-11-03T09:00:00-05:00",
    },
]


def test_R4_I4_every_line_naming_an_anonymized_contact_or_address_is_already_applied(
    tmp_path: Path,
) -> None:
    db = tmp_path / "cc.sqlite"
    text = [json.dumps(e, ensure_ascii=False) for e in WHOLE_FILE]
    store = SqliteStore(db)
    try:
        once = replay(store, text)
        assert once.bad_lines == () and once.refused == 2
        before = _listings(store)
        assert _leaks(db) == []
        for _ in range(2):
            again = replay(store, text)
            assert (again.applied, again.already_applied, again.bad_lines) == (0, len(text), ())
            assert _listings(store) == before
            assert _leaks(db) == []
    finally:
        store.close()
    assert _leaks(db) == []


def _listings(store: Any) -> tuple[Any, ...]:
    return (
        ticket_rows(store),
        contact_rows(store),
        typification_rows(store),
        promise_rows(store, as_of=dt.date(2026, 11, 20)),
    )
