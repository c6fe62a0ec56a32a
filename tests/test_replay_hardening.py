"""Replay hardening (issue 14): nonsense refused (R2, R7) and second replays of anonymized
and merged contacts (R4, I4)."""

from __future__ import annotations

import datetime as dt
import json
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdomain import checks
from ccdomain.errors import CcdomainError, RuleViolation
from ccdomain.identities import identity_address
from ccdomain.listings import promise_rows
from ccdomain.memory import MemoryStore
from ccdomain.replay import EventRejected, apply_event, replay
from ccdomain.replay.lines import parse_line

COBRANZAS = {
    "type": "campaign",
    "id": "cobranzas",
    "region": "PE",
    "timezone": "America/Lima",
    "kind": "collections",
    "typifications": [["Contactado", "Promesa de pago"]],
}
JORGE = {
    "type": "contact",
    "campaign": "cobranzas",
    "first_names": "Jorge",
    "last_names": "Chávez",
    "document": {"type": "DNI", "number": "41223344"},
    "channels": [{"kind": "phone", "value": "+51 962 444 555"}],
}
PRODUCT = {
    "type": "product",
    "id": "P-1",
    "campaign": "cobranzas",
    "contact": "41223344",
    "kind": "loan",
    "currency": "PEN",
    "debt": "1200.00",
    "due": "2026-10-10",
}
PROMISE = {
    "type": "promise",
    "id": "PR-1",
    "product": "P-1",
    "agent": "rosa",
    "made_on": "2026-11-02",
    "campaign": "cobranzas",
    "customer": "962444555",
    "installments": [{"amount": "300.00", "date": "2026-11-06"}],
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
