"""Replay of event lines (R1-R5 in ccdomain.replay) and the rows the listings print."""

from __future__ import annotations

import datetime as dt
import doctest
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import ccdomain.listings
import ccdomain.replay
from ccdomain import matching
from ccdomain.errors import CcdomainError, InvalidEvent
from ccdomain.events import EventKind
from ccdomain.listings import contact_rows, promise_rows, ticket_rows, typification_rows
from ccdomain.memory import MemoryStore, MemoryUnitOfWork
from ccdomain.replay import EVENT_TYPES, LINE_EVENTS, Effect, EventRejected, apply_event, replay
from ccdomain.replay.kinds import LINE_KINDS
from ccdomain.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "contract"
DEMO = ROOT / "src" / "ccdomain" / "data" / "demo.jsonl"

CAMPAIGN = {
    "type": "campaign",
    "id": "ventas",
    "name": "Ventas",
    "region": "PE",
    "timezone": "America/Lima",
    "kind": "sales",
    "typifications": [["Contactado", "Venta", "Contado"], ["No contactado"]],
}
COBRANZAS = {
    "type": "campaign",
    "id": "cobranzas",
    "region": "PE",
    "kind": "collections",
    "typifications": [["Contactado", "Promesa de pago"]],
    "grace_days": 1,
    "tolerance": "0.00",
}
LINE = {
    "type": "line",
    "id": "wa",
    "channel": "whatsapp",
    "address": "+51 1 7001111",
    "alias": "Ventas WhatsApp",
    "campaign": "ventas",
    "queue": "ventas",
}
COBRANZAS_LINE = {
    "type": "line",
    "id": "tel-cob",
    "channel": "call",
    "address": "+51 1 7003333",
    "campaign": "cobranzas",
}
JOSE = {
    "type": "contact",
    "campaign": "ventas",
    "first_names": "José",
    "last_names": "Pérez Soto",
    "document": {"type": "DNI", "number": "12345678"},
    "vip": True,
    "channels": [{"kind": "phone", "value": "987 654 321"}],
}


def message(n: int, at: str, customer: str = "987654321", **more: Any) -> dict[str, Any]:
    return {
        "type": "interaction",
        "id": f"m{n}",
        "at": at,
        "channel": "whatsapp",
        "direction": "inbound",
        "line": "wa",
        "customer": customer,
        "text": f"mensaje {n}",
        **more,
    }


def store_with(*events: dict[str, Any]) -> MemoryStore:
    store = MemoryStore()
    for i, event in enumerate(events, start=1):
        apply_event(store, event, line_no=i)
    return store


def lines(*events: dict[str, Any]) -> list[str]:
    return [json.dumps(e, ensure_ascii=False) for e in events]


def listings(store: Any) -> tuple[Any, ...]:
    as_of = dt.date(2026, 11, 20)
    return (
        ticket_rows(store),
        contact_rows(store),
        typification_rows(store),
        promise_rows(store, as_of=as_of),
    )


# --- R2 validation -------------------------------------------------------------------------


def test_R2_bad_time_names_line_field_and_value() -> None:
    store = store_with(CAMPAIGN, LINE)
    with pytest.raises(InvalidEvent) as caught:
        apply_event(store, message(1, "2026-13-01"), line_no=7)
    assert str(caught.value) == (
        "line 7: field 'at': '2026-13-01' is not an ISO 8601 time with offset"
    )
    assert caught.value.field == "at" and caught.value.line == 7  # type: ignore[attr-defined]


def test_R2_time_without_offset_is_refused() -> None:
    store = store_with(CAMPAIGN, LINE)
    with pytest.raises(EventRejected, match="offset is missing"):
        apply_event(store, message(1, "2026-11-20T10:00:00"))


def test_R2_unknown_type_and_unknown_field_are_refused() -> None:
    store = MemoryStore()
    with pytest.raises(EventRejected, match="'ticket_opened' is not an event type") as caught:
        apply_event(store, {"type": "ticket_opened"})
    assert caught.value.field == "type"
    with pytest.raises(EventRejected, match="unknown field") as caught:
        apply_event(store, {**CAMPAIGN, "regoin": "PE"})
    assert caught.value.field == "regoin"


def test_R2_underscore_keys_are_comments() -> None:
    store = MemoryStore()
    outcome = apply_event(store, {**CAMPAIGN, "_note": "declared by the import job"})
    assert outcome.effects == (Effect.CAMPAIGN_DECLARED,)


def test_R2_money_must_be_a_string() -> None:
    store = store_with(COBRANZAS, {**JOSE, "campaign": "cobranzas"})
    product = {
        "type": "product",
        "id": "P-1",
        "campaign": "cobranzas",
        "contact": "12345678",
        "kind": "loan",
        "currency": "PEN",
        "debt": 1500.0,
        "due": "2026-10-01",
    }
    with pytest.raises(EventRejected) as caught:
        apply_event(store, product)
    assert caught.value.field == "debt"
    assert caught.value.reason == "1500.0 is not an amount as a string such as '100.00'"


def test_R2_service_errors_name_the_field() -> None:
    store = store_with(CAMPAIGN, LINE)
    with pytest.raises(EventRejected) as caught:
        apply_event(store, message(1, "2026-11-20T10:00:00-05:00", customer="98765"))
    assert caught.value.field == "customer"
    assert "'98765'" in caught.value.reason
    with pytest.raises(EventRejected) as caught:
        apply_event(store, message(2, "2026-11-20T10:00:00-05:00", line="nope"))
    assert caught.value.field == "line"


# --- per event type -------------------------------------------------------------------------


def test_R4_campaign_redeclaration_identical_is_noop_conflicting_is_refused() -> None:
    store = store_with(CAMPAIGN)
    assert apply_event(store, CAMPAIGN).already_applied
    with pytest.raises(EventRejected, match="other settings"):
        apply_event(store, {**CAMPAIGN, "region": "CL"})


def test_R4_line_redeclaration() -> None:
    store = store_with(CAMPAIGN, LINE)
    assert apply_event(store, LINE).already_applied
    with pytest.raises(EventRejected, match="other settings"):
        apply_event(store, {**LINE, "alias": "otro"})


def test_K2_contact_event_creates_contact_with_document_code() -> None:
    store = store_with(CAMPAIGN)
    outcome = apply_event(store, JOSE)
    assert outcome.effects == (Effect.CONTACT_CREATED,)
    (row,) = contact_rows(store)
    assert row["code"] == "12345678"
    assert row["phones"] == ["+51987654321"]
    assert row["avatar"] == "JP★"
    assert row["document"] == {"type": "DNI", "number": "12345678"}


def test_R4_contact_redeclaration_identical_noop_conflicting_refused() -> None:
    store = store_with(CAMPAIGN, JOSE)
    assert apply_event(store, JOSE).already_applied
    with pytest.raises(EventRejected, match="already exists") as caught:
        apply_event(store, {**JOSE, "first_names": "Pepe"})
    assert caught.value.field == "first_names"
    assert len(contact_rows(store)) == 1


def test_R4_contact_without_document_is_not_created_twice() -> None:
    valeria = {
        "type": "contact",
        "campaign": "ventas",
        "first_names": "Valeria",
        "last_names": "Gómez",
        "channels": [{"kind": "whatsapp", "value": "913 579 246"}],
    }
    store = store_with(CAMPAIGN, valeria)
    assert apply_event(store, valeria).already_applied
    assert [r["code"] for r in contact_rows(store)] == ["C-000001"]


def test_R1_bad_contact_applies_nothing() -> None:
    store = store_with(CAMPAIGN)
    bad = {**JOSE, "channels": [{"kind": "phone", "value": "987 654 321"}, {"kind": "fax"}]}
    with pytest.raises(EventRejected) as caught:
        apply_event(store, bad, line_no=3)
    assert str(caught.value).startswith("line 3: ")
    assert contact_rows(store) == []


def test_T1_T9_T10_interactions_open_join_duplicate_late() -> None:
    store = store_with(CAMPAIGN, LINE, JOSE)
    opened = apply_event(store, message(1, "2026-11-20T09:00:00-05:00"))
    assert opened.effects == (Effect.TICKET_OPENED, Effect.CONTACT_LINKED)
    joined = apply_event(store, message(2, "2026-11-21T09:00:00-05:00", customer="+51 987-654-321"))
    assert joined.effects == (Effect.INTERACTION_JOINED,)
    assert apply_event(store, message(2, "2026-11-21T09:00:00-05:00")).already_applied
    apply_event(
        store,
        {
            "type": "resolve",
            "campaign": "ventas",
            "customer": "987654321",
            "agent": "ana",
            "at": "2026-11-21T10:00:00-05:00",
        },
    )
    late = apply_event(store, message(3, "2026-11-21T09:30:00-05:00"))
    assert late.effects == (Effect.INTERACTION_LATE,)
    (ticket,) = ticket_rows(store)
    assert ticket["status"] == "resolved" and ticket["interactions"] == 3


def test_R4_interaction_without_id_is_deduplicated() -> None:
    store = store_with(CAMPAIGN, LINE)
    event = {k: v for k, v in message(1, "2026-11-20T09:00:00-05:00").items() if k != "id"}
    assert apply_event(store, event).effects == (Effect.TICKET_OPENED,)
    assert apply_event(store, event).already_applied
    assert ticket_rows(store)[0]["interactions"] == 1


def test_T3_T8_typify_closes_and_a_new_message_opens_a_new_ticket() -> None:
    store = store_with(CAMPAIGN, LINE, message(1, "2026-11-20T09:00:00-05:00"))
    typify = {
        "type": "typify",
        "campaign": "ventas",
        "customer": "987 654 321",
        "agent": "ana",
        "at": "2026-11-20T09:30:00-05:00",
        "path": ["Contactado", "Venta", "Contado"],
        "comment": "pagará el lunes",
    }
    assert apply_event(store, typify).effects == (Effect.TICKET_CLOSED,)
    assert apply_event(store, typify).already_applied  # R4: closed so, by this event
    apply_event(store, message(2, "2026-11-20T10:00:00-05:00"))
    assert [(t["number"], t["status"]) for t in ticket_rows(store)] == [
        (1, "typified"),
        (2, "open"),
    ]
    (row,) = typification_rows(store)
    assert row["path"] == ["Contactado", "Venta", "Contado"]
    assert row["comment"] == "pagará el lunes" and row["customer"] == "+51987654321"


def test_T8_typify_with_a_path_outside_the_tree_is_refused_and_changes_nothing() -> None:
    store = store_with(CAMPAIGN, LINE, message(1, "2026-11-20T09:00:00-05:00"))
    with pytest.raises(EventRejected) as caught:
        apply_event(
            store,
            {
                "type": "typify",
                "ticket": 1,
                "agent": "ana",
                "at": "2026-11-20T09:30:00-05:00",
                "path": ["Inventado"],
            },
        )
    assert caught.value.field == "path"
    assert ticket_rows(store)[0]["status"] == "open"


def test_T3_closing_an_already_closed_ticket_otherwise_is_a_bad_line() -> None:
    store = store_with(CAMPAIGN, LINE, message(1, "2026-11-20T09:00:00-05:00"))
    resolve = {"type": "resolve", "ticket": 1, "agent": "ana", "at": "2026-11-20T09:30:00-05:00"}
    apply_event(store, resolve)
    with pytest.raises(EventRejected):
        apply_event(store, {**resolve, "agent": "luis"})


def test_T3_cancel_event_cancels_the_case() -> None:
    store = store_with(CAMPAIGN, LINE, message(1, "2026-11-20T09:00:00-05:00"))
    cancel = {"type": "cancel", "ticket": 1, "agent": "sup1", "at": "2026-11-20T09:30:00-05:00"}
    assert apply_event(store, cancel).effects == (Effect.TICKET_CLOSED,)
    assert apply_event(store, cancel).already_applied
    assert ticket_rows(store)[0]["status"] == "cancelled"


def test_R5_I7_a_line_names_a_chat_customer_by_the_id_its_ticket_holds() -> None:
    """Closings read customers as blocks do: an id with digits was refused as a bad phone."""
    chat_line = {"type": "line", "id": "fb", "channel": "messenger", "address": "ventas-fb",
                 "campaign": "ventas"}  # fmt: skip
    chat = {**message(1, "2026-11-20T09:00:00-05:00", customer="psid1234"), "line": "fb",
            "channel": "messenger"}  # fmt: skip
    store = store_with(CAMPAIGN, chat_line, JOSE, chat)
    where = {"campaign": "ventas", "customer": "psid1234", "at": "2026-11-20T09:05:00-05:00"}
    link = {"type": "link", "contact": "12345678", "agent": "ana", **where}
    assert apply_event(store, link).effects == (Effect.CONTACT_LINKED,)
    resolve = {"type": "resolve", "agent": "ana", **where}
    assert apply_event(store, resolve).effects == (Effect.TICKET_CLOSED,)
    assert apply_event(store, resolve).already_applied
    (ticket,) = ticket_rows(store)
    assert (ticket["customer"], ticket["contact"], ticket["status"]) == (
        "psid1234",
        "12345678",
        "resolved",
    )


def test_M4_link_event_links_the_ticket_open_at_its_time_and_is_idempotent() -> None:
    rosa = {**JOSE, "first_names": "Rosa", "document": {"type": "DNI", "number": "10293847"}}
    carlos = {**JOSE, "first_names": "Carlos", "document": {"type": "DNI", "number": "10293856"}}
    store = store_with(CAMPAIGN, LINE, rosa, carlos, message(1, "2026-11-20T09:00:00-05:00"))
    assert ticket_rows(store)[0]["contact"] is None  # two EXACT candidates: ambiguous
    link = {"type": "link", "campaign": "ventas", "customer": "987654321", "contact": "10293847"}
    assert apply_event(store, link).effects == (Effect.CONTACT_LINKED,)
    assert apply_event(store, link).already_applied
    assert ticket_rows(store)[0]["contact"] == "10293847"


def test_R4_merge_event_then_redeclaration_of_merged_contacts_is_noop() -> None:
    pepe = {
        "type": "contact",
        "campaign": "ventas",
        "first_names": "Pepe",
        "channels": [{"kind": "whatsapp", "value": "912345678"}],
    }
    merge = {
        "type": "merge",
        "campaign": "ventas",
        "into": "12345678",
        "from": "C-000001",
        "agent": "sup1",
    }
    store = store_with(CAMPAIGN, LINE, JOSE, pepe, message(1, "2026-11-20T09:00:00-05:00"))
    outcome = apply_event(store, merge)
    assert outcome.effects == (Effect.CONTACTS_MERGED,)
    assert apply_event(store, merge).already_applied
    assert apply_event(store, JOSE).already_applied
    assert apply_event(store, pepe).already_applied
    rows = {r["code"]: r for r in contact_rows(store)}
    assert rows["C-000001"]["merged_into"] == "12345678"
    assert rows["12345678"]["phones"] == ["+51987654321", "+51912345678"]


def test_M5_merge_across_campaigns_is_refused() -> None:
    store = store_with(CAMPAIGN, JOSE, COBRANZAS)
    with pytest.raises(EventRejected) as caught:
        apply_event(
            store,
            {
                "type": "merge",
                "campaign": "cobranzas",
                "into": "X",
                "from": "12345678",
                "agent": "a",
            },
        )
    assert caught.value.field == "from"


CONTRACT_TYPES = (
    "campaign",
    "line",
    "contact",
    "interaction",
    "resolve",
    "typify",
    "link",
    "product",
    "payment",
    "promise",
    "reverse_payment",
    "cancel_promise",
    "comment",
    "cancel",
    "merge",
    "block",
    "unblock",
    "anonymize",
)


def test_R6_every_contract_event_type_has_a_handler() -> None:
    assert set(CONTRACT_TYPES) <= set(EVENT_TYPES)


_IDENTITY_LINES = [
    {"type": "comment", "ticket": 10, "agent": "ana", "at": "2026-11-20T10:10:00-05:00",
     "text": "Pide el catálogo"},
    {"type": "comment", "ticket": 3, "agent": "ana", "at": "2026-11-20T10:11:00-05:00",
     "text": "Cliente molesto"},
    {"type": "cancel", "ticket": 3, "agent": "sup1", "at": "2026-11-20T10:12:00-05:00"},
    {"type": "block", "campaign": "ventas", "customer": "955 111 222", "agent": "sup1",
     "at": "2026-11-20T10:18:00-05:00"},
    {"type": "interaction", "id": "wamid.blocked-1", "at": "2026-11-20T10:19:00-05:00",
     "channel": "whatsapp", "direction": "inbound", "line": "wa-ventas",
     "customer": "955111222", "text": "¿Hola?"},
    {"type": "unblock", "campaign": "ventas", "customer": "+51955111222", "agent": "sup1",
     "at": "2026-11-20T10:20:00-05:00"},
    {"type": "interaction", "id": "wamid.stop-1", "at": "2026-11-20T10:21:00-05:00",
     "channel": "whatsapp", "direction": "inbound", "line": "wa-ventas",
     "customer": "955111222", "text": "Baja."},
    {"type": "opt_in", "campaign": "ventas", "customer": "955111222", "channel": "whatsapp",
     "agent": "sup1", "at": "2026-11-20T10:22:00-05:00"},
    {"type": "opt_out", "campaign": "ventas", "customer": "955111222", "channel": "call",
     "agent": "sup1", "at": "2026-11-20T10:23:00-05:00"},
    {"type": "anonymize", "campaign": "ventas", "contact": "41862305", "agent": "dpo",
     "at": "2026-11-20T10:30:00-05:00"},
    # X5: a link to a contact of another campaign copies it (contact_created).
    {"type": "contact", "campaign": "soporte", "first_names": "Copia",
     "document": {"type": "DNI", "number": "70000017"}},
    {"type": "interaction", "id": "wamid.x5-1", "at": "2026-11-20T10:40:00-05:00",
     "channel": "whatsapp", "direction": "inbound", "line": "wa-ventas",
     "customer": "955 000 017", "text": "Hola"},
    {"type": "link", "campaign": "ventas", "customer": "955000017", "contact": "70000017",
     "from_campaign": "soporte", "agent": "ana"},
]  # fmt: skip


# P1-P3: a campaign with auto-resolve, a ticket marked pending and snoozed, then a message
# after the window (its ticket is resolved by ``system`` first).
_STATE_LINES: list[dict[str, Any]] = [
    {"type": "campaign", "id": "soporte-p", "region": "PE", "auto_resolve_after_h": 1},
    {"type": "interaction", "id": "p-1", "at": "2026-11-21T10:00:00-05:00", "channel": "sms",
     "direction": "outbound", "campaign": "soporte-p", "customer": "955000111", "agent": "ana"},
    {"type": "pending", "campaign": "soporte-p", "customer": "955000111",
     "agent": "ana", "at": "2026-11-21T10:05:00-05:00"},
    {"type": "snooze", "campaign": "soporte-p", "customer": "955000111", "agent": "ana",
     "at": "2026-11-21T10:06:00-05:00", "until": "2026-11-21T10:30:00-05:00"},
    {"type": "interaction", "id": "p-2", "at": "2026-11-21T12:00:00-05:00", "channel": "sms",
     "direction": "outbound", "campaign": "soporte-p", "customer": "955000111", "agent": "ana"},
    # A1-A4: the first agent of a queue puts its open ticket in line, the agent coming
    # online takes it, then the next one when given more capacity, and a supervisor
    # gives one to another agent.
    {"type": "line", "id": "sms-p", "channel": "sms", "address": "+51 1 7009999",
     "campaign": "soporte-p", "queue": "soporte-p1"},
    {"type": "interaction", "id": "p-3", "at": "2026-11-21T12:10:00-05:00", "channel": "sms",
     "direction": "inbound", "line": "sms-p", "customer": "955000222", "text": "Ayuda"},
    {"type": "agent", "id": "pia", "queues": ["soporte-p1"], "capacity": {"digital": 1}},
    {"type": "presence", "agent": "pia", "status": "online", "at": "2026-11-21T12:20:00-05:00"},
    {"type": "agent", "id": "teo", "queues": ["soporte-p1"], "capacity": {"digital": 1}},
    {"type": "interaction", "id": "p-4", "at": "2026-11-21T12:25:00-05:00", "channel": "sms",
     "direction": "inbound", "line": "sms-p", "customer": "955000333", "text": "Hola"},
    {"type": "agent", "id": "pia", "queues": ["soporte-p1"], "capacity": {"digital": 2}},
    {"type": "presence", "agent": "teo", "status": "online", "at": "2026-11-21T12:30:00-05:00"},
    {"type": "assign", "campaign": "soporte-p", "customer": "955000222", "agent": "teo",
     "by": "sup1", "at": "2026-11-21T12:40:00-05:00"},
]  # fmt: skip


def test_R6_each_line_type_records_exactly_the_event_kinds_it_declares() -> None:
    """LINE_EVENTS is the one table of line types (commands) and event kinds."""
    assert tuple(LINE_EVENTS) == EVENT_TYPES
    store = MemoryStore()
    recorded: dict[str, set[EventKind]] = {}
    latest: dt.datetime | None = None
    demo = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    for number, event in enumerate([*demo, *_IDENTITY_LINES, *_STATE_LINES], start=1):
        with store.unit_of_work() as uow:
            seen = sum(1 for _ in uow.events())
        outcome = apply_event(store, event, line_no=number, default_at=latest)
        latest = outcome.at if latest is None else max(latest, outcome.at)
        with store.unit_of_work() as uow:
            kinds = {e.kind for e in uow.events(seen)}
        assert kinds <= LINE_EVENTS[event["type"]], (number, event["type"], kinds)
        recorded.setdefault(event["type"], set()).update(kinds)
    assert recorded == dict(LINE_EVENTS)  # the demo and these lines record every one


def test_R6_effects_reuse_the_event_kinds_they_duplicate() -> None:
    kinds = {k.value for k in EventKind}
    only_effects = {e.value for e in Effect} - kinds
    assert only_effects == {"interaction_joined", "interaction_late", "ticket_closed"}
    for effect in Effect:
        if effect.value in kinds:
            assert effect.name == EventKind(effect.value).name


def test_R6_docs_list_the_event_kinds_of_each_line_type() -> None:
    text = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    text = text.split("## Lines and the events they record", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| (`[^|]*) \|", text, flags=re.MULTILINE)
    table = {kind: frozenset(EventKind(k) for k in re.findall(r"`([a-z_]+)`", kinds))
             for kind, kinds in rows}  # fmt: skip
    assert table == dict(LINE_EVENTS)


def test_R6_the_replay_docstring_names_every_line_type_and_the_module_applying_it() -> None:
    doc = ccdomain.replay.__doc__ or ""
    section = doc.split("The line types", 1)[1].split("\n\n", 2)[1]
    named: dict[str, str] = {}
    for bullet in section.split("\n- "):
        (module,) = re.findall(r":mod:`([\w.]+)`", bullet)
        named |= dict.fromkeys(re.findall(r"``(\w+)``", bullet), module)
    assert named == {name: kind.apply.__module__ for name, kind in LINE_KINDS.items()}


@pytest.mark.parametrize("kind", ["comment", "block", "unblock", "anonymize"])
def test_R6_identity_events_are_applied_through_their_services(kind: str) -> None:
    store = store_with(CAMPAIGN, LINE, JOSE, message(1, "2026-11-20T09:00:00-05:00"))
    event: dict[str, Any] = {"type": kind, "agent": "sup1", "at": "2026-11-20T10:00:00-05:00"}
    if kind == "comment":
        event |= {"ticket": 1, "text": "cliente molesto"}
    elif kind == "anonymize":
        event |= {"campaign": "ventas", "contact": "12345678"}
    else:
        event |= {"campaign": "ventas", "customer": "987654321"}
    summary = replay(store, lines(event))
    assert summary.bad_lines == ()
    assert summary.applied + summary.already_applied == 1


# --- collections -----------------------------------------------------------------------------

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
JORGE = {
    "type": "contact",
    "campaign": "cobranzas",
    "first_names": "Jorge",
    "last_names": "Chávez",
    "document": {"type": "DNI", "number": "41223344"},
    "channels": [{"kind": "phone", "value": "+51 962 444 555"}],
}
CALL = {
    "type": "interaction",
    "id": "c1",
    "at": "2026-11-02T10:00:00-05:00",
    "channel": "call",
    "direction": "outbound",
    "campaign": "cobranzas",
    "line": "tel-cob",
    "customer": "962444555",
    "agent": "rosa",
    "status": "answered",
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
PAYMENT = {
    "type": "payment",
    "id": "PAY-1",
    "product": "P-1",
    "amount": "300.00",
    "date": "2026-11-05",
    "status": "made",
}


def test_R2_a_bad_installment_date_names_its_index_in_products_as_in_promises() -> None:
    """A product's installment date was blamed on a field 'date' the product line lacks."""
    store = store_with(COBRANZAS, COBRANZAS_LINE, JORGE, PRODUCT, CALL)
    plan = [{"amount": "600.00", "date": "2026-10-10"}, {"amount": "600.00", "date": "10/11"}]
    for event in (
        {**PRODUCT, "id": "P-2", "installments": plan},
        {**PROMISE, "installments": plan},
    ):
        with pytest.raises(EventRejected) as caught:
            apply_event(store, event)
        assert caught.value.field == "installments[1].date", event["type"]
        assert "'10/11'" in caught.value.reason


def test_R4_products_payments_and_promises_are_kept_by_id_and_refused_otherwise() -> None:
    store = store_with(COBRANZAS, COBRANZAS_LINE, JORGE, PRODUCT, CALL, PROMISE, PAYMENT)
    for event in (PRODUCT, PROMISE, PAYMENT, {**PAYMENT, "status": "scheduled"}):
        assert apply_event(store, event).already_applied, event
    for event, what, expected in (
        ({**PRODUCT, "debt": "1300.00"}, "product 'P-1' is already declared",
         "an identical re-declaration"),
        ({**PAYMENT, "amount": "301.00"}, "payment 'PAY-1' is already recorded",
         "an identical one"),
        ({**PROMISE, "agent": "otra"}, "promise 'PR-1' is already registered",
         "an identical one"),
    ):  # fmt: skip
        with pytest.raises(EventRejected) as caught:
            apply_event(store, event)
        assert caught.value.field == "id"
        assert caught.value.reason == f"{what} with other values; expected {expected}"


def test_C5_promise_kept_then_broken_when_its_payment_bounces() -> None:
    store = store_with(COBRANZAS, COBRANZAS_LINE, JORGE, PRODUCT, CALL, PROMISE, PAYMENT)
    day = dt.date(2026, 11, 9)
    assert [(r["id"], r["status"], r["paid"]) for r in promise_rows(store, as_of=day)] == [
        ("PR-1", "kept", "300.00")
    ]
    reverse = {"type": "reverse_payment", "id": "PAY-1", "at": "2026-11-08T12:00:00-05:00"}
    assert apply_event(store, reverse).effects == (Effect.PAYMENT_REVERSED,)
    assert apply_event(store, reverse).already_applied
    assert apply_event(store, PAYMENT).already_applied  # made, then reversed: moved on
    assert promise_rows(store, as_of=day)[0]["status"] == "broken"


def test_R4_collections_events_with_ids_are_idempotent() -> None:
    store = store_with(COBRANZAS, COBRANZAS_LINE, JORGE, PRODUCT, CALL, PROMISE, PAYMENT)
    for event in (PRODUCT, PROMISE, PAYMENT):
        assert apply_event(store, event).already_applied
    with pytest.raises(EventRejected):
        apply_event(store, {**PRODUCT, "debt": "999.00"})
    with pytest.raises(EventRejected):
        apply_event(store, {**PAYMENT, "amount": "10.00"})


def test_C4_cancel_promise_event() -> None:
    store = store_with(COBRANZAS, COBRANZAS_LINE, JORGE, PRODUCT, CALL, PROMISE)
    cancel = {
        "type": "cancel_promise",
        "id": "PR-1",
        "agent": "rosa",
        "at": "2026-11-03T09:00:00-05:00",
    }
    assert apply_event(store, cancel).effects == (Effect.PROMISE_CANCELLED,)
    assert apply_event(store, cancel).already_applied
    assert apply_event(store, PROMISE).already_applied
    assert promise_rows(store, as_of=dt.date(2026, 11, 9))[0]["status"] == "cancelled"


def test_R7_C22_promise_of_a_customer_without_ticket_is_stored_without_one() -> None:
    store = store_with(COBRANZAS, JORGE, PRODUCT)
    assert apply_event(store, PROMISE).effects == (Effect.PROMISE_MADE,)
    assert apply_event(store, PROMISE).already_applied
    (row,) = promise_rows(store, as_of=dt.date(2026, 11, 3))
    assert (row["ticket"], row["status"], row["contact"]) == (None, "pending", "41223344")


def test_C4_promise_over_the_balance_is_refused_naming_installments() -> None:
    store = store_with(COBRANZAS, COBRANZAS_LINE, JORGE, PRODUCT, CALL)
    too_much = {**PROMISE, "installments": [{"amount": "5000.00", "date": "2026-11-06"}]}
    with pytest.raises(EventRejected, match="exceeds the outstanding balance") as caught:
        apply_event(store, too_much)
    assert caught.value.field == "installments"
    assert promise_rows(store, as_of=dt.date(2026, 11, 3)) == []


def test_R7_promise_goes_to_the_ticket_open_at_its_time() -> None:
    store = store_with(COBRANZAS, COBRANZAS_LINE, JORGE, PRODUCT, CALL, PROMISE)
    assert promise_rows(store, as_of=dt.date(2026, 11, 3))[0]["ticket"] == 1


# --- R3 times ---------------------------------------------------------------------------------


def _event_times(store: MemoryStore, kind: EventKind) -> list[dt.datetime]:
    with store.unit_of_work() as uow:
        return [e.at for e in uow.events() if e.kind is kind]


def test_R3_timeless_events_take_the_latest_time_seen_else_the_epoch() -> None:
    store = MemoryStore()
    replay(
        store,
        lines(
            CAMPAIGN,
            LINE,
            message(1, "2026-11-20T09:00:00-05:00"),
            message(2, "2026-11-19T09:00:00-05:00"),
            JOSE,
        ),
    )
    assert _event_times(store, EventKind.CAMPAIGN_DECLARED) == [
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    ]
    (created,) = _event_times(store, EventKind.CONTACT_CREATED)
    assert created == dt.datetime.fromisoformat("2026-11-20T09:00:00-05:00")


def test_R3_identity_lines_without_at_take_the_latest_time_seen() -> None:
    """comment, block, unblock and anonymize may leave out ``at``, as the docstring says."""
    store = MemoryStore()
    hola = "2026-11-20T09:00:00-05:00"
    who = {"campaign": "ventas", "customer": "955111222", "agent": "sup1"}
    summary = replay(
        store,
        lines(
            CAMPAIGN,
            LINE,
            JOSE,
            message(1, hola),
            {"type": "comment", "ticket": 1, "agent": "ana", "text": "cliente molesto"},
            {"type": "block", **who},
            {"type": "unblock", **who},
            {"type": "anonymize", "campaign": "ventas", "contact": "12345678", "agent": "dpo"},
        ),
    )
    assert summary.bad_lines == ()
    for kind in (
        EventKind.COMMENT_ADDED,
        EventKind.IDENTITY_BLOCKED,
        EventKind.IDENTITY_UNBLOCKED,
        EventKind.CONTACT_ANONYMIZED,
    ):
        assert _event_times(store, kind) == [dt.datetime.fromisoformat(hola)], kind


def test_R3_explicit_at_wins() -> None:
    store = MemoryStore()
    replay(store, lines({**CAMPAIGN, "at": "2026-01-02T03:04:05+00:00"}))
    assert _event_times(store, EventKind.CAMPAIGN_DECLARED) == [
        dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    ]


# --- R1 files ---------------------------------------------------------------------------------


def test_R1_replay_stops_at_the_first_bad_line_keeping_earlier_ones() -> None:
    store = MemoryStore()
    summary = replay(
        store,
        [
            *lines(CAMPAIGN, LINE, message(1, "2026-11-20T09:00:00-05:00")),
            "{not json",
            json.dumps(message(2, "2026-11-20T10:00:00-05:00")),
        ],
    )
    assert summary.stopped_at == 4
    (bad,) = summary.bad_lines
    assert str(bad).startswith("line 4: not JSON")
    assert summary.tickets_opened == 1 and summary.interactions_joined == 0
    assert ticket_rows(store)[0]["interactions"] == 1


def test_R1_keep_going_applies_every_good_line_and_lists_every_bad_one() -> None:
    store = MemoryStore()
    summary = replay(
        store,
        [
            *lines(CAMPAIGN, LINE),
            "",
            "[1, 2]",
            json.dumps(message(1, "2026-11-20T09:00:00-05:00")),
            json.dumps(message(2, "yesterday")),
            json.dumps(message(3, "2026-11-20T10:00:00-05:00")),
        ],
        keep_going=True,
    )
    assert [(b.line, b.field) for b in summary.bad_lines] == [(4, None), (6, "at")]
    assert summary.stopped_at is None
    assert summary.lines == 6  # the blank line is not counted
    assert ticket_rows(store)[0]["interactions"] == 2


def test_R1_batches_commit_every_line_on_sqlite(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "cc.sqlite")
    events = [message(i, f"2026-11-20T09:{i:02d}:00-05:00") for i in range(1, 8)]
    summary = replay(store, lines(CAMPAIGN, LINE, *events), batch=3)
    assert summary.applied == 9
    store.close()
    again = SqliteStore(tmp_path / "cc.sqlite")
    assert ticket_rows(again)[0]["interactions"] == 7
    again.close()


def test_R1_progress_is_called_with_the_line_count() -> None:
    seen: list[int] = []
    replay(MemoryStore(), lines(CAMPAIGN, LINE), progress=seen.append)
    assert seen == [1, 2]


def test_R1_the_collector_is_paused_per_batch_and_restored() -> None:
    import gc

    states: list[bool] = []
    was_enabled = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            states.clear()
            summary = replay(
                MemoryStore(),
                [*lines(CAMPAIGN, LINE), "{not json"],
                progress=lambda _: states.append(gc.isenabled()),
            )
            assert summary.stopped_at == 3
            assert states == [False, False]  # the bad line stops before its progress call
            assert gc.isenabled() is enabled
    finally:
        (gc.enable if was_enabled else gc.disable)()


def test_R4_refusals_read_the_event_log_once_per_replay(count_calls: Callable[..., Any]) -> None:
    read = count_calls(MemoryUnitOfWork, "events", items=True)
    block = {"type": "block", "campaign": "ventas", "customer": "987654321", "agent": "sup"}
    spam = [message(n, f"2026-11-20T10:{n // 60:02d}:{n % 60:02d}-05:00") for n in range(300)]
    text = lines(CAMPAIGN, LINE, {**block, "at": "2026-11-20T09:00:00-05:00"}, *spam)
    store = MemoryStore()
    first = replay(store, text)
    assert first.refused == 300 and first.bad_lines == ()
    logged = sum(1 for _ in store.unit_of_work().events())
    assert read.count <= 2 * logged  # the whole log once, not once per refusal
    read.count = 0
    again = replay(store, text)  # R4: the same refusals are not recorded twice
    assert again.refused == 0 and again.already_applied == len(text)
    assert sum(1 for _ in store.unit_of_work().events()) == logged
    assert read.count <= 3 * logged


def test_R4_contacts_without_document_or_phone_are_found_without_listing_the_campaign(
    count_calls: Callable[..., Any],
) -> None:
    listed = count_calls(MemoryUnitOfWork, "list_contacts")
    people = [
        {
            "type": "contact",
            "campaign": "ventas",
            "first_names": f"Ana {n}",
            "channels": [{"kind": "email", "value": f"ana{n}@acme.pe"}],
        }
        for n in range(200)
    ]
    named = [
        {"type": "contact", "campaign": "ventas", "last_names": f"Quispe {n}"} for n in range(50)
    ]
    text = lines(CAMPAIGN, *people, *named)
    store = MemoryStore()
    assert replay(store, text).contacts_created == 250
    # The index is built once, not a scan per contact; so is the list of campaigns
    # holding an anonymized contact (looked up by fingerprint, I11).
    assert listed.count <= 2
    listed.count = 0
    again = replay(store, text)
    assert again.contacts_created == 0 and again.already_applied == len(text)
    assert listed.count <= 1
    assert len(contact_rows(store)) == 250


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_R4_a_replay_knows_a_contact_merged_earlier_in_the_same_file(
    kind: str, tmp_path: Path
) -> None:
    pepe = {
        "type": "contact",
        "campaign": "ventas",
        "first_names": "Pepe",
        "channels": [{"kind": "whatsapp", "value": "912345678"}],
    }
    # An e-mail-only contact, given twice: the replay's contact index reads Pepe before
    # the merge, which names the contact kept (the tombstone is in its data).
    email = {"kind": "email", "value": "a@b.pe"}
    ana = {"type": "contact", "campaign": "ventas", "channels": [email]}
    merge = {"type": "merge", "campaign": "ventas", "into": "12345678", "from": "C-000002"}
    store: Any = MemoryStore() if kind == "memory" else SqliteStore(tmp_path / "cc.sqlite")
    text = lines(CAMPAIGN, ana, JOSE, pepe, ana, {**merge, "agent": "sup1"}, pepe)
    summary = replay(store, text)
    assert summary.bad_lines == () and summary.already_applied == 2
    assert [r["code"] for r in contact_rows(store)] == ["12345678", "C-000001", "C-000002"]


def test_K16_R4_contacts_naming_companies_never_list_every_company(
    count_calls: Callable[..., Any],
) -> None:
    listed = count_calls(MemoryUnitOfWork, "list_companies")
    people = [
        {
            "type": "contact",
            "campaign": "ventas",
            "first_names": f"Ana {n}",
            "company": f"Empresa {n % 40} SAC",
            "channels": [{"kind": "email", "value": f"ana{n}@acme.pe"}],
        }
        for n in range(120)
    ]
    store = MemoryStore()
    assert replay(store, lines(CAMPAIGN, *people)).contacts_created == 120
    again = replay(store, lines(CAMPAIGN, *people, {**people[0], "company": "empresa  0 sac"}))
    assert again.contacts_created == 0 and again.already_applied == 122
    assert listed.count == 0
    rows = contact_rows(store)
    assert len({r["company"] for r in rows}) == 40


def test_R4_id_less_interactions_read_each_customers_tickets_once(
    count_calls: Callable[..., Any],
) -> None:
    read = count_calls(MemoryUnitOfWork, "interactions", items=True)
    chat = [
        {
            k: v
            for k, v in message(n, f"2026-11-20T10:{n // 60:02d}:{n % 60:02d}-05:00").items()
            if k != "id"
        }
        for n in range(300)
    ]
    text = lines(CAMPAIGN, LINE, *chat, chat[7])  # the last line is a redelivery
    store = MemoryStore()
    first = replay(store, text)
    assert first.interactions_joined == 299 and first.already_applied == 1
    assert read.count <= 300  # the ticket once, not once per message
    read.count = 0
    again = replay(store, text)
    assert again.already_applied == len(text) and again.interactions_joined == 0
    assert read.count <= 300
    assert ticket_rows(store)[0]["interactions"] == 300


def test_R4_an_undone_line_leaves_no_interaction_in_the_replays_memory() -> None:
    from ccdomain.replay.memos import Redeliveries

    store = store_with(CAMPAIGN, LINE)
    event = {k: v for k, v in message(1, "2026-11-20T09:00:00-05:00").items() if k != "id"}
    outcome = apply_event(store, event)
    memory = Redeliveries()
    with store.unit_of_work() as uow:
        (ticket,) = uow.tickets_for_customer("+51987654321")
        (recorded,) = uow.interactions(ticket.number)
        later = attrs.evolve(recorded, text="otro")
        assert memory.ticket_holding(uow, recorded) == outcome.ticket
        assert memory.ticket_holding(uow, later) is None
        memory.recorded(later, ticket.number)
        memory.settle(kept=False)  # the line that recorded it was rolled back
        assert memory.ticket_holding(uow, later) is None
        memory.recorded(later, ticket.number)
        memory.settle(kept=True)
        assert memory.ticket_holding(uow, later) == ticket.number


def test_R4_I4_after_an_anonymization_a_message_is_compared_with_what_is_left() -> None:
    hola = {k: v for k, v in message(1, "2026-11-20T09:00:00-05:00").items() if k != "id"}
    forget = {"type": "anonymize", "campaign": "ventas", "contact": "12345678", "agent": "dpo"}
    text = lines(
        CAMPAIGN, LINE, JOSE, hola, hola, {**forget, "at": "2026-11-20T11:00:00-05:00"}, hola
    )
    indexed = MemoryStore()
    summary = replay(indexed, text)
    scanned = store_with(*(json.loads(line) for line in text[:-1]))
    last = apply_event(scanned, json.loads(text[-1]))
    assert summary.bad_lines == () and summary.already_applied == 1  # the first repeat only
    assert not last.already_applied  # the anonymized ticket no longer holds the number
    assert ticket_rows(indexed) == ticket_rows(scanned)


_CHAT_EVENTS = st.builds(
    lambda n, minute, customer, with_id, text: {
        "type": "interaction",
        **({"id": f"m{n}"} if with_id else {}),
        "at": f"2026-11-20T10:{minute:02d}:00-05:00",
        "channel": "whatsapp",
        "direction": "inbound",
        "line": "wa",
        "customer": customer,
        "text": text,
    },
    st.integers(0, 3),
    st.integers(0, 3),
    st.sampled_from(["987654321", "912345678", "+51 987 654 321"]),
    st.booleans(),
    st.sampled_from(["hola", "gracias"]),
)
_CLOSINGS = st.sampled_from(["987654321", "912345678"]).map(
    lambda customer: {
        "type": "resolve",
        "campaign": "ventas",
        "customer": customer,
        "agent": "ana",
        "at": "2026-11-20T10:02:30-05:00",
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_CHAT_EVENTS, _CHAT_EVENTS, _CLOSINGS), max_size=14))
def test_R4_replay_finds_the_same_redeliveries_as_event_by_event(
    events: list[dict[str, Any]],
) -> None:
    """The replay's memory of interactions answers as reading the tickets each time."""
    text = lines(CAMPAIGN, LINE, *events, *events)
    indexed = MemoryStore()
    summary = replay(indexed, text, keep_going=True)
    scanned = MemoryStore()
    bad: list[int] = []
    already = 0
    for number, line in enumerate(text, start=1):
        try:
            already += apply_event(scanned, json.loads(line), line_no=number).already_applied
        except InvalidEvent:
            bad.append(number)
    assert [b.line for b in summary.bad_lines] == bad
    assert summary.already_applied == already
    assert ticket_rows(indexed) == ticket_rows(scanned)


_POOL_CONTACTS = (
    {"first_names": "Ana", "channels": [{"kind": "email", "value": "ana@acme.pe"}]},
    {"channels": [{"kind": "email", "value": "ana@acme.pe"}]},
    {"first_names": "Ana", "last_names": "Ruiz"},
    {"last_names": "Ruiz"},
    {"first_names": "Luis", "channels": [{"kind": "phone", "value": "987654321"}]},
    {"channels": [{"kind": "whatsapp", "value": "912345678"}]},
    {
        "first_names": "Ana",
        "document": {"type": "DNI", "number": "12345678"},
        "channels": [{"kind": "email", "value": "ana@acme.pe"}],
    },
    {
        "first_names": "Luis",
        "document": {"type": "DNI", "number": "87654321"},
        "channels": [{"kind": "phone", "value": "912345678"}],
    },
    {"tags": ["moroso"]},
)
_POOL_CODES = ("12345678", "87654321", "C-000001", "C-000002", "C-000003", "C-000004")
_POOL_EVENTS = st.one_of(
    st.sampled_from(_POOL_CONTACTS).map(lambda c: {"type": "contact", "campaign": "ventas", **c}),
    st.tuples(st.sampled_from(_POOL_CODES), st.sampled_from(_POOL_CODES)).map(
        lambda pair: {
            "type": "merge",
            "campaign": "ventas",
            "into": pair[0],
            "from": pair[1],
            "agent": "sup",
        }
    ),
    st.sampled_from(_POOL_CODES).map(
        lambda code: {"type": "anonymize", "campaign": "ventas", "contact": code, "agent": "dpo"}
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_POOL_EVENTS, max_size=14))
# Found by this property: without the replay's contact index, a phone-less contact
# merged into another was not found by its creation fingerprint (I11).
@example(
    [{"type": "contact", "campaign": "ventas", "first_names": "Luis",
      "channels": [{"kind": "phone", "value": "987654321"}]},
     {"type": "contact", "campaign": "ventas", "first_names": "Ana", "last_names": "Ruiz"},
     {"type": "merge", "campaign": "ventas", "into": "C-000001", "from": "C-000002",
      "agent": "sup"}]
)  # fmt: skip
@example(
    [{"type": "contact", "campaign": "ventas", "first_names": "Luis",
      "channels": [{"kind": "phone", "value": "987654321"}]},
     {"type": "contact", "campaign": "ventas", "first_names": "Ana", "last_names": "Ruiz"},
     {"type": "contact", "campaign": "ventas", "first_names": "Ana",
      "channels": [{"kind": "email", "value": "ana@acme.pe"}]},
     {"type": "merge", "campaign": "ventas", "into": "12345678", "from": "C-000004",
      "agent": "sup"},
     {"type": "merge", "campaign": "ventas", "into": "C-000001", "from": "C-000002",
      "agent": "sup"}]
)  # fmt: skip
def test_R4_replay_finds_the_same_existing_contacts_as_event_by_event(
    events: list[dict[str, Any]],
) -> None:
    """The replay's contact index answers as the scan of ``apply_event`` does."""
    from ccdomain.replay.memos import ContactKeys

    text = lines(CAMPAIGN, *events, *events)  # twice: the second pass is all R4
    indexed = MemoryStore()
    summary = replay(indexed, text, keep_going=True)
    # The same replay without the index reads the contacts as apply_event does.
    unindexed = MemoryStore()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ContactKeys, "catch_up", lambda self, uow: False)
        without = replay(unindexed, text, keep_going=True)
    assert without.bad_lines == summary.bad_lines
    assert contact_rows(indexed) == contact_rows(unindexed)
    if any(e["type"] == "anonymize" for e in events):
        # A replay also knows the file: a contact line repeating part of one it found
        # anonymized is that contact (docs/events.md); apply_event alone cannot tell.
        return
    scanned = MemoryStore()
    bad: list[int] = []
    for number, line in enumerate(text, start=1):
        try:
            apply_event(scanned, json.loads(line), line_no=number)
        except InvalidEvent:
            bad.append(number)
    assert [b.line for b in summary.bad_lines] == bad
    assert contact_rows(indexed) == contact_rows(scanned)


def test_R4_replaying_the_demo_twice_leaves_the_store_as_one_replay_did() -> None:
    text = DEMO.read_text(encoding="utf-8").splitlines()
    store = MemoryStore()
    first = replay(store, text, keep_going=True)
    once = listings(store)
    second = replay(store, text, keep_going=True)
    assert listings(store) == once
    assert second.applied == 0
    assert second.already_applied == first.applied + first.already_applied
    assert first.bad_lines == second.bad_lines == ()


def test_demo_exercises_the_ventas_soporte_story() -> None:
    store = MemoryStore()
    summary = replay(store, DEMO.read_text(encoding="utf-8").splitlines(), keep_going=True)
    assert summary.late == 1
    assert summary.already_applied == 1  # the redelivered webhook
    assert summary.contacts_merged == 1
    jose = [t for t in ticket_rows(store) if t["customer"] == "+51987654321"]
    # Ventas ticket typified, Soporte's own ticket, then a new Ventas ticket (T3, T4).
    assert [(t["campaign"], t["status"]) for t in jose] == [
        ("ventas", "typified"),
        ("soporte", "resolved"),
        ("ventas", "resolved"),
    ]
    ambiguous = next(t for t in ticket_rows(store) if t["customer"] == "+51944333222")
    assert ambiguous["contact"] == "10293847"  # linked by hand, not guessed
    statuses = {r["id"]: r["status"] for r in promise_rows(store, as_of=dt.date(2026, 11, 20))}
    assert statuses == {
        "PR-1001": "kept",
        "PR-1002": "broken",
        "PR-1003": "cancelled",
        "PR-1004": "pending",
    }
    assert summary.promises == {"kept": 1, "broken": 1, "cancelled": 1, "pending": 1}


# --- the public contract ----------------------------------------------------------------------


@pytest.mark.skipif(not (CONTRACT / "sample.jsonl").exists(), reason="no ../shared/contract")
def test_contract_sample_matches_expected(tmp_path: Path) -> None:
    want = json.loads((CONTRACT / "expected.json").read_text(encoding="utf-8"))
    store = SqliteStore(tmp_path / "contract.sqlite")
    sample = (CONTRACT / "sample.jsonl").read_text(encoding="utf-8").splitlines()
    summary = replay(store, sample, keep_going=True)
    tickets = ticket_rows(store)
    assert [{k: t[k] for k in want["tickets"][0]} for t in tickets] == want["tickets"]
    contacts = contact_rows(store)
    for w in want["contacts"]:
        (found,) = [c for c in contacts if (c["campaign"], c["code"]) == (w["campaign"], w["code"])]
        assert {k: found[k] for k in w} == w
    assert summary.bad_lines == ()
    for day, statuses in want["promises"].items():
        rows = {p["id"]: p["status"] for p in promise_rows(store, as_of=dt.date.fromisoformat(day))}
        assert {pid: rows.get(pid) for pid in statuses} == statuses
    store.close()


# --- listings ---------------------------------------------------------------------------------


def test_doctests_of_replay_and_listings_pass() -> None:
    for module in (ccdomain.replay, ccdomain.listings):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


@pytest.mark.parametrize(
    ("name", "old_arguments", "new_arguments"),
    [
        ("ticket_rows", ("ventas",), {"campaign": "ventas"}),
        ("contact_rows", ("ventas",), {"campaign": "ventas"}),
        ("typification_rows", ("ventas",), {"campaign": "ventas"}),
        ("promise_rows", (dt.date(2026, 11, 20),), {"as_of": dt.date(2026, 11, 20)}),
    ],
)
def test_the_listings_old_names_in_replay_warn_and_still_work(
    name: str, old_arguments: tuple[Any, ...], new_arguments: dict[str, Any]
) -> None:
    store = MemoryStore()
    replay(store, DEMO.read_text(encoding="utf-8").splitlines(), keep_going=True)
    with pytest.warns(DeprecationWarning, match=f"ccdomain.listings.{name}"):
        rows = getattr(ccdomain.replay, name)(store, *old_arguments)
    assert rows == getattr(ccdomain.listings, name)(store, **new_arguments)
    assert rows


# --- junk ------------------------------------------------------------------------------------

_json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
_json = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_FIELDS = [
    "id",
    "at",
    "campaign",
    "customer",
    "channel",
    "direction",
    "line",
    "agent",
    "path",
    "contact",
    "ticket",
    "document",
    "channels",
    "product",
    "amount",
    "date",
    "made_on",
    "installments",
    "into",
    "from",
    "debt",
    "currency",
    "due",
    "kind",
    "region",
]
_plausible = st.sampled_from(
    ["ventas", "wa", "987654321", "2026-11-20T09:00:00-05:00", "2026-11-20", "12345678", "1", ""]
)
_events = st.builds(
    lambda kind, fields: {"type": kind, **fields},
    st.sampled_from([*EVENT_TYPES, "nope"]),
    st.dictionaries(st.sampled_from(_FIELDS), _plausible | _json, max_size=8),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_events)
def test_R2_junk_events_raise_only_ccdomain_errors(event: dict[str, Any]) -> None:
    store = store_with(CAMPAIGN, LINE, JOSE, message(1, "2026-11-20T09:00:00-05:00"))
    before = listings(store)
    try:
        apply_event(store, event, line_no=1)
    except CcdomainError as exc:
        assert isinstance(exc, InvalidEvent)
        assert str(exc).startswith("line 1: ")
        assert listings(store) == before  # R1: nothing of a bad line is applied


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40) | _json.map(json.dumps), max_size=5))
def test_R2_junk_lines_are_only_reported(junk: list[str]) -> None:
    store = MemoryStore()
    summary = replay(store, junk, keep_going=True)
    assert summary.lines == len([j for j in junk if j.strip()])
    assert summary.applied + summary.already_applied + len(summary.bad_lines) == summary.lines


def test_matching_services_are_the_ones_used() -> None:
    assert callable(matching.plan_merge) and callable(matching.apply_merge)


# --- random files: the stores agree, and a second replay changes nothing (R4) ---------------

_MINUTES = st.integers(0, 5)
_CUSTOMERS = st.sampled_from(["987654321", "912345678", "+51 987 654 321"])


def _at(minute: int) -> str:
    return f"2026-11-20T10:{minute:02d}:00-05:00"


_FILE_EVENTS = st.one_of(
    st.sampled_from(_POOL_CONTACTS).map(lambda c: {"type": "contact", "campaign": "ventas", **c}),
    _CHAT_EVENTS,
    _CHAT_EVENTS,
    st.builds(
        lambda kind, customer, minute: {
            "type": kind,
            "campaign": "ventas",
            "customer": customer,
            "agent": "ana",
            "at": _at(minute),
            **({"path": ["Contactado", "Venta", "Contado"]} if kind == "typify" else {}),
        },
        st.sampled_from(["resolve", "typify"]),
        _CUSTOMERS,
        _MINUTES,
    ),
    st.builds(
        lambda customer, code: {
            "type": "link",
            "campaign": "ventas",
            "customer": customer,
            "contact": code,
            "agent": "ana",
        },
        _CUSTOMERS,
        st.sampled_from(_POOL_CODES),
    ),
    st.tuples(st.sampled_from(_POOL_CODES), st.sampled_from(_POOL_CODES)).map(
        lambda pair: {
            "type": "merge",
            "campaign": "ventas",
            "into": pair[0],
            "from": pair[1],
            "agent": "sup",
        }
    ),
    st.builds(
        lambda kind, customer, minute: {
            "type": kind,
            "campaign": "ventas",
            "customer": customer,
            "agent": "sup",
            "at": _at(minute),
        },
        st.sampled_from(["block", "unblock"]),
        _CUSTOMERS,
        _MINUTES,
    ),
)


_DAYS = st.integers(1, 20).map(lambda d: f"2026-11-{d:02d}")
_AMOUNTS = st.sampled_from(["50.00", "100.00", "100.50", "700.00"])
_MONEY_EVENTS = st.one_of(
    st.builds(
        lambda n, amount, day, status: {
            "type": "payment",
            "id": f"PAY-{n}",
            "product": "P-1",
            "amount": amount,
            "date": day,
            "status": status,
        },
        st.integers(1, 4),
        _AMOUNTS,
        _DAYS,
        st.sampled_from(["made", "made", "scheduled"]),
    ),
    st.builds(
        lambda n, made_on, amounts: {
            "type": "promise",
            "id": f"PR-{n}",
            "product": "P-1",
            "agent": "ana",
            "made_on": made_on,
            "campaign": "cobranzas",
            "customer": "962444555",
            "installments": [
                {"amount": a, "date": f"2026-11-{min(int(made_on[-2:]) + 2 * i + 1, 28):02d}"}
                for i, a in enumerate(amounts)
            ],
        },
        st.integers(1, 3),
        _DAYS,
        st.lists(_AMOUNTS, min_size=1, max_size=2),
    ),
    st.builds(
        lambda n, day: {
            "type": "reverse_payment",
            "id": f"PAY-{n}",
            "at": f"{day}T09:00:00-05:00",
        },
        st.integers(1, 4),
        _DAYS,
    ),
    st.builds(
        lambda n, day: {
            "type": "cancel_promise",
            "id": f"PR-{n}",
            "agent": "ana",
            "at": f"{day}T09:00:00-05:00",
        },
        st.integers(1, 3),
        _DAYS,
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_MONEY_EVENTS, max_size=14))
def test_C5_R4_random_collections_files_agree_on_both_stores_and_replay_once(
    events: list[dict[str, Any]],
) -> None:
    import tempfile

    text = lines(COBRANZAS, JORGE, PRODUCT, *events)
    memory = MemoryStore()
    in_memory = replay(memory, text, keep_going=True)
    with tempfile.TemporaryDirectory() as folder:
        sqlite = SqliteStore(Path(folder) / "cc.sqlite")
        try:
            on_disk = replay(sqlite, text, keep_going=True)
            assert listings(sqlite) == listings(memory)
            assert on_disk == in_memory
        finally:
            sqlite.close()
    if not in_memory.bad_lines:
        again = replay(memory, text, keep_going=True)
        assert again.applied == 0 and again.bad_lines == (), again


_ANONYMIZE = st.sampled_from(_POOL_CODES).map(
    lambda code: {"type": "anonymize", "campaign": "ventas", "contact": code, "agent": "dpo"}
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_FILE_EVENTS, _ANONYMIZE), max_size=16))
def test_I4_a_random_file_with_anonymizations_gives_the_same_listings_on_both_stores(
    events: list[dict[str, Any]],
) -> None:
    import tempfile

    text = lines(CAMPAIGN, LINE, *events)
    memory = MemoryStore()
    in_memory = replay(memory, text, keep_going=True)
    with tempfile.TemporaryDirectory() as folder:
        sqlite = SqliteStore(Path(folder) / "cc.sqlite")
        try:
            on_disk = replay(sqlite, text, keep_going=True)
            assert listings(sqlite) == listings(memory)
            assert on_disk == in_memory
        finally:
            sqlite.close()


# What the pool's contacts and messages hold that anonymization must erase (I4).
_PERSONAL_VALUES = (
    "Ana",
    "Ruiz",
    "Luis",
    "ana@acme.pe",
    "+51987654321",
    "+51912345678",
    "12345678",
    "87654321",
    "moroso",
    "hola",
    "gracias",
)


def _held_values(path: Path) -> set[str]:
    """The personal values of the pool found in a SQLite file or its log, byte for byte."""
    data = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    return {value for value in _PERSONAL_VALUES if value.encode() in data}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(_POOL_CONTACTS), min_size=1, max_size=4),
    st.lists(_FILE_EVENTS, max_size=10),
    st.lists(_ANONYMIZE, min_size=1, max_size=2),
    st.lists(_FILE_EVENTS, max_size=4),
)
def test_R4_I4_a_file_with_anonymizations_replayed_twice_brings_nothing_back(
    people: list[dict[str, Any]],
    before: list[dict[str, Any]],
    forget: list[dict[str, Any]],
    after: list[dict[str, Any]],
) -> None:
    # The class of issue 14's defect 3: whatever the file says about a contact or its
    # addresses before and after anonymizing it (contacts with or without document,
    # merges, messages with and without ids, closings, links, blocks), a second replay
    # leaves the listings and the personal values of the SQLite file as the first did.
    import tempfile

    contacts = [{"type": "contact", "campaign": "ventas", **c} for c in people]
    drawn = [*contacts, *before, *({**f, "at": _at(6)} for f in forget), *after]
    # One link per customer: relinking a ticket whose first link M4 had made already is
    # applied again by a second replay, anonymized or not (a limit of R4 outside I4).
    linked: set[str] = set()
    for event in list(drawn):
        if event["type"] == "link":
            number = "".join(ch for ch in event["customer"] if ch.isdigit())[-9:]
            if number in linked:
                drawn.remove(event)
            linked.add(number)
    # R4 is about files that replay clean: the bad lines drawn are left out (they applied
    # nothing, so the rest replays as it did with them).
    bad = {
        b.line
        for b in replay(MemoryStore(), lines(CAMPAIGN, LINE, *drawn), keep_going=True).bad_lines
    }
    events = [e for n, e in enumerate(drawn, start=3) if n not in bad]
    text = lines(CAMPAIGN, LINE, *events)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cc.sqlite"
        store = SqliteStore(path)
        try:
            once = replay(store, text, keep_going=True)
            assert once.bad_lines == ()
            listed, held = listings(store), _held_values(path)
            for _ in range(2):
                again = replay(store, text, keep_going=True)
                assert again.bad_lines == ()
                assert listings(store) == listed
                assert _held_values(path) <= held
                toggles = sum(e["type"] in ("block", "unblock") for e in events)
                assert again.applied <= toggles, again
        finally:
            store.close()
        assert _held_values(path) <= held


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_FILE_EVENTS, max_size=16))
def test_R4_a_random_file_replayed_twice_and_on_both_stores_gives_the_same_listings(
    events: list[dict[str, Any]],
) -> None:
    import tempfile

    text = lines(CAMPAIGN, LINE, *events)
    memory = MemoryStore()
    once = replay(memory, text, keep_going=True)
    after_once = listings(memory)
    if not once.bad_lines:
        # A bad line may name what a later line creates: only a clean file is R4's.
        again = replay(memory, text, keep_going=True)
        assert listings(memory) == after_once
        assert again.bad_lines == ()
        # Blocks and unblocks are applied again, so that the messages between them are
        # refused again as the first time (docs/events.md); nothing else is.
        toggles = sum(e["type"] in ("block", "unblock") for e in events)
        assert again.applied <= toggles, again
        assert again.refused == 0
    with tempfile.TemporaryDirectory() as folder:
        sqlite = SqliteStore(Path(folder) / "cc.sqlite")
        try:
            on_disk = replay(sqlite, text, keep_going=True)
            assert listings(sqlite) == after_once
            assert on_disk == once
        finally:
            sqlite.close()
