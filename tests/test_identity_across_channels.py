"""Identity across channels (X1-X6): the seed statements the library got wrong, replayed
through the ``ccdomain`` command and its listings, and called through the API.

Each statement of the issue has two tests named after its rule: ``..._command`` replays
an event file with ``ccdomain replay`` and reads a listing; ``..._api`` calls the services.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdomain import cli
from ccdomain.contacts import create_contact, declare_campaign, declare_line
from ccdomain.documents import Document
from ccdomain.errors import (
    DuplicateContact,
    InvalidCustomField,
    RuleViolation,
    StoreUnavailable,
    UnknownCampaign,
    UnknownContact,
)
from ccdomain.events import ContactCreated, EventKind
from ccdomain.identities import identities_tab, profile_tab, search_identities, update_profile
from ccdomain.matching import (
    MatchTier,
    auto_link_contact,
    find_candidates,
    find_identities,
    link_ticket,
)
from ccdomain.memory import MemoryStore
from ccdomain.models import (
    ChannelKind,
    Contact,
    ContactChannel,
    CustomFieldDef,
    FieldType,
)
from ccdomain.ports import Store
from ccdomain.replay import apply_event
from ccdomain.rules.custom_fields import copied_custom
from ccdomain.rules.matching import same_person
from ccdomain.sqlite import SqliteStore
from ccdomain.testing import strategies as cst
from ccdomain.tickets import rebuild_tickets, route_interaction

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
DNI = "12345678"


def _at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _iso(minutes: int) -> str:
    return _at(minutes).isoformat()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "cc.db")
    try:
        yield made
    finally:
        made.close()


def _write(path: pathlib.Path, events: list[dict[str, Any]]) -> pathlib.Path:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), "utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = cli.main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _replay(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], events: list[dict[str, Any]]
) -> str:
    """Replay ``events`` twice with the command (R4: the second changes nothing); the db."""
    db = str(tmp_path / "cc.sqlite")
    path = _write(tmp_path / "events.jsonl", events)
    status, out, err = _run(capsys, "replay", str(path), "--db", db)
    assert status == 0, out + err
    first = _listings(capsys, db)
    status, out, err = _run(capsys, "replay", str(path), "--db", db)
    assert status == 0, out + err
    assert _listings(capsys, db) == first
    return db


def _listings(capsys: pytest.CaptureFixture[str], db: str) -> tuple[str, str]:
    return _list(capsys, "tickets", db), _list(capsys, "contacts", db)


def _list(capsys: pytest.CaptureFixture[str], name: str, db: str, *more: str) -> Any:
    status, out, err = _run(capsys, name, "--db", db, "--format", "json", *more)
    assert status == 0, err
    return json.loads(out)


CAMPAIGNS: list[dict[str, Any]] = [
    {"type": "campaign", "id": "ventas", "region": "PE", "custom_fields": [
        {"name": "plan", "type": "choice", "choices": ["A", "B"]}]},
    {"type": "campaign", "id": "soporte", "region": "PE", "custom_fields": [
        {"name": "plan", "type": "text"}, {"name": "nivel", "type": "number"}]},
    {"type": "line", "id": "wa", "channel": "whatsapp", "address": "+51 1 7001234",
     "campaign": "ventas", "queue": "ventas-general"},
    {"type": "line", "id": "central", "channel": "call", "address": "+51 1 7001235",
     "campaign": "ventas", "queue": "ventas-general"},
    {"type": "line", "id": "mail", "channel": "email", "address": "hola@empresa.pe",
     "campaign": "ventas", "queue": "ventas-correo"},
    {"type": "line", "id": "fb", "channel": "messenger", "address": "empresa.pe",
     "campaign": "ventas"},
    {"type": "line", "id": "ig", "channel": "instagram", "address": "empresa.pe",
     "campaign": "ventas"},
]  # fmt: skip

JOSE: dict[str, Any] = {
    "type": "contact", "campaign": "ventas", "first_names": "José", "last_names": "Pérez Soto",
    "document": {"type": "DNI", "number": DNI},
    "channels": [{"kind": "phone", "value": "987 654 321"},
                 {"kind": "email", "value": "Jose@Example.com"},
                 {"kind": "messenger", "value": "psid-77"},
                 {"kind": "instagram", "value": "@Jose.Perez"}],
}  # fmt: skip


def _inbound(ident: str, minutes: int, channel: str, line: str, customer: str) -> dict[str, Any]:
    return {
        "type": "interaction", "id": ident, "at": _iso(minutes), "channel": channel,
        "direction": "inbound", "line": line, "customer": customer, "text": "Hola",
    }  # fmt: skip


# --- X1 (S11): one contact, whatever the channel ---------------------------------------------

S11_TRAFFIC = [
    _inbound("wa-1", 0, "whatsapp", "wa", "987654321"),
    _inbound("call-1", 5, "call", "central", "+51 987 654 321"),
    _inbound("mail-1", 10, "email", "mail", "  JOSE@example.COM "),
    _inbound("fb-1", 15, "messenger", "fb", " psid-77 "),
    _inbound("ig-1", 20, "instagram", "ig", "@jose.perez"),
]


def test_X1_S11_email_messenger_and_instagram_tickets_link_to_the_contact_command(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _replay(tmp_path, capsys, [*CAMPAIGNS, JOSE, *S11_TRAFFIC])
    tickets = _list(capsys, "tickets", db)
    assert [(t["number"], t["customer"], t["channels"], t["contact"]) for t in tickets] == [
        (1, "+51987654321", ["whatsapp", "call"], DNI),
        (2, "jose@example.com", ["email"], DNI),
        (3, "psid-77", ["messenger"], DNI),
        (4, "@jose.perez", ["instagram"], DNI),
    ]


def test_X1_S11_email_messenger_and_instagram_tickets_link_to_the_contact_api(
    store: Store,
) -> None:
    for event in [*CAMPAIGNS, JOSE]:
        apply_event(store, event)
    results = [
        route_interaction(
            store,
            at=_at(i),
            channel=e["channel"],
            direction="inbound",
            line=e["line"],
            customer=e["customer"],
            text="Hola",
        )
        for i, e in enumerate(S11_TRAFFIC)
    ]
    assert [r.ticket.number for r in results] == [1, 1, 2, 3, 4]
    assert {r.ticket.contact for r in results} == {DNI}
    assert auto_link_contact(store, campaign="ventas", customer="Jose@EXAMPLE.com") == DNI
    assert (
        auto_link_contact(store, campaign="ventas", customer="pepe.perez", channel="instagram")
        is None
    )


def test_X1_two_contacts_with_the_email_link_none_and_are_offered(store: Store) -> None:
    for event in CAMPAIGNS:
        apply_event(store, event)
    for name in ("Ana", "Rosa"):
        create_contact(
            store,
            campaign="ventas",
            first_names=name,
            channels=[{"kind": "email", "value": "familia@example.com"}],
            at=_at(0),
        )
    result = route_interaction(
        store,
        at=_at(1),
        channel="email",
        direction="inbound",
        line="mail",
        customer="Familia@Example.com",
    )
    assert result.ticket.contact is None
    found = find_identities(store, query=result.ticket.customer, campaign="ventas")
    assert [(c.contact.code, c.tier) for c in found] == [
        ("C-000001", MatchTier.EMAIL),
        ("C-000002", MatchTier.EMAIL),
    ]


def test_X7_a_web_chat_ticket_is_trimmed_and_never_linked(store: Store) -> None:
    for event in CAMPAIGNS:
        apply_event(store, event)
    apply_event(store, JOSE)
    result = route_interaction(
        store, at=_at(0), channel="webchat", direction="inbound", campaign="ventas",
        customer="  visitor-psid-77 ",
    )  # fmt: skip
    assert result.ticket.customer == "visitor-psid-77" and result.ticket.contact is None


# --- X2 (S43): identities by email, document and name -------------------------------------------

S43_CONTACTS: list[dict[str, Any]] = [
    {"type": "contact", "campaign": "ventas", "first_names": "Pepe",
     "channels": [{"kind": "email", "value": "JOSE@example.com"}]},
    {"type": "contact", "campaign": "ventas", "first_names": "Otro",
     "channels": [{"kind": "whatsapp", "value": "+51 987 654 321"}]},
    {"type": "contact", "campaign": "ventas", "first_names": "Jose", "last_names": "PEREZ soto"},
    {"type": "contact", "campaign": "ventas", "first_names": "Lejano",
     "channels": [{"kind": "phone", "value": "917 654 321"}]},
]  # fmt: skip


def test_X2_S43_identities_by_phone_email_and_name_command(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _replay(tmp_path, capsys, [*CAMPAIGNS, JOSE, *S43_CONTACTS])
    where = ("--campaign", "ventas", "--contact", DNI)
    rows = _list(capsys, "identities", db, *where)
    assert [(r["candidate"], r["tier"]) for r in rows] == [
        ("C-000002", "exact"),
        ("C-000001", "email"),
        ("C-000004", "suffix"),
        ("C-000003", "name"),
    ]
    assert rows[1]["reason"] == "same email jose@example.com"
    by_email = _list(capsys, "identities", db, *where, "--query", "Jose@Example.com")
    assert [r["candidate"] for r in by_email] == ["C-000001"]
    by_name = _list(capsys, "identities", db, *where, "--query", "josé pérez  soto")
    assert [(r["candidate"], r["tier"]) for r in by_name] == [("C-000003", "name")]
    # Not a phone, nor anything else held: no candidate, and no error (it was
    # InvalidPhoneNumber).
    assert _list(capsys, "identities", db, *where, "--query", "98765") == []


def test_X2_S43_identities_by_phone_email_document_and_name_api(store: Store) -> None:
    for event in [*CAMPAIGNS, JOSE, *S43_CONTACTS]:
        apply_event(store, event)
    # The services refuse a document that is another contact's code, but a host's import
    # may hold one (a legacy code): the document finds it, ranked first.
    late = Contact(
        campaign="ventas", code="LEG-1", first_names="Doc", document=Document("DNI", DNI)
    )
    with store.unit_of_work() as uow:
        uow.add_contact(late)
        uow.commit()
    view = identities_tab(store, campaign="ventas", code=DNI)
    assert [(c.contact.code, c.tier) for c in view.candidates] == [
        (late.code, MatchTier.DOCUMENT),
        ("C-000002", MatchTier.EXACT),
        ("C-000001", MatchTier.EMAIL),
        ("C-000004", MatchTier.SUFFIX),
        ("C-000003", MatchTier.NAME),
    ]
    assert view.candidates[0].reason == f"same document number {DNI}"
    search = search_identities(store, campaign="ventas", code="C-000003", query="jose@example.com")
    assert [(c.contact.code, c.tier) for c in search] == [
        (DNI, MatchTier.EMAIL),
        ("C-000001", MatchTier.EMAIL),
    ]
    by_document = search_identities(store, campaign="ventas", code="C-000001", query="12.345.678")
    assert [(c.contact.code, c.tier) for c in by_document] == [
        (DNI, MatchTier.DOCUMENT),
        (late.code, MatchTier.DOCUMENT),
    ]
    by_name = search_identities(store, campaign="ventas", code="C-000001", query="JOSE Perez Soto")
    assert [c.contact.code for c in by_name] == [DNI, "C-000003"]
    # No longer InvalidPhoneNumber for what is not a phone.
    assert search_identities(store, campaign="ventas", code=DNI, query="nadie@example.com") == ()
    with pytest.raises(RuleViolation, match="query"):
        search_identities(store, campaign="ventas", code=DNI, query="   ")


def test_X8_a_search_is_read_as_every_identity_it_can_be(store: Store) -> None:
    for event in CAMPAIGNS:
        apply_event(store, event)
    apply_event(store, JOSE)
    apply_event(store, {"type": "contact", "campaign": "ventas", "first_names": "Fb",
                        "channels": [{"kind": "messenger", "value": "1234567"}]})  # fmt: skip

    def found(query: str) -> list[tuple[str, MatchTier]]:
        return [(c.contact.code, c.tier) for c in find_identities(store, query=query)]

    assert found("@JOSE.perez") == [(DNI, MatchTier.CHANNEL)]
    assert found("psid-77") == [(DNI, MatchTier.CHANNEL)]
    assert found("12.345.678") == [(DNI, MatchTier.DOCUMENT)]
    assert found("+51 987 654 321") == [(DNI, MatchTier.EXACT)]
    # Digits that are a Messenger id and no valid phone: found as the id, no error.
    assert found("1234567") == [("C-000001", MatchTier.CHANNEL)]
    assert found("pérez soto josé") == []  # a full name is its words in order
    assert found("José  Pérez SOTO") == [(DNI, MatchTier.NAME)]
    with pytest.raises(RuleViolation, match="only_campaign"):
        find_identities(store, query="jose", only_campaign=True)


def test_X9_copied_custom_keeps_what_the_target_template_takes() -> None:
    template = (
        CustomFieldDef(name="plan", type=FieldType.CHOICE, choices=("A", "B")),
        CustomFieldDef(name="nivel", type=FieldType.TEXT),
        CustomFieldDef(name="alta", type=FieldType.DATE),
        CustomFieldDef(name="vip", type=FieldType.BOOLEAN),
    )
    values = {
        "plan": "C",  # not a choice there: left behind
        "nivel": Decimal("2"),  # a number to a text field: its text
        "alta": dt.date(2026, 1, 5),
        "vip": True,
        "deuda": Decimal("10"),  # no such field there
    }
    assert copied_custom(template, values) == {
        "nivel": "2",
        "alta": dt.date(2026, 1, 5),
        "vip": True,
    }


def test_X10_same_person_by_document_or_by_name_and_a_channel() -> None:
    email = ContactChannel(kind=ChannelKind.EMAIL, value="ana@example.com")
    doc = Document("DNI", DNI)
    a = Contact(campaign="ventas", code="C-1", first_names="Ana", channels=(email,))
    assert same_person(a, attrs.evolve(a, campaign="soporte", first_names="ANA"))
    assert not same_person(a, attrs.evolve(a, channels=()))
    assert not same_person(a, attrs.evolve(a, first_names="Rosa"))
    assert not same_person(a, attrs.evolve(a, document=doc))
    assert same_person(attrs.evolve(a, document=doc), Contact(campaign="s", code=DNI, document=doc))
    assert not same_person(
        attrs.evolve(a, document=doc), attrs.evolve(a, document=Document("DNI", "87654321"))
    )
    assert not same_person(Contact(campaign="v", code="1"), Contact(campaign="s", code="1"))


# --- X3 (S40): a secondary email ---------------------------------------------------------------


def test_X3_S40_secondary_email_kept_in_order_command(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contact = {**JOSE, "channels": [*JOSE["channels"], {"kind": "email", "value": "J@Trabajo.pe"}]}
    db = _replay(tmp_path, capsys, [*CAMPAIGNS, contact])
    [row] = _list(capsys, "contacts", db)
    assert row["emails"] == ["jose@example.com", "j@trabajo.pe"]


def test_X3_S40_add_email_keeps_the_others_and_email_changes_the_primary_api(
    store: Store,
) -> None:
    for event in [*CAMPAIGNS, JOSE]:
        apply_event(store, event)
    update_profile(store, campaign="ventas", code=DNI, at=_at(1), add_email="J@Trabajo.pe")
    assert profile_tab(store, campaign="ventas", code=DNI).emails == (
        "jose@example.com",
        "j@trabajo.pe",
    )
    update_profile(store, campaign="ventas", code=DNI, at=_at(2), email="pepe@example.com")
    profile = profile_tab(store, campaign="ventas", code=DNI)
    assert (profile.email, profile.emails) == (
        "pepe@example.com",
        ("pepe@example.com", "j@trabajo.pe"),
    )
    # Adding one it has changes nothing; the index follows the edits (X1).
    update_profile(store, campaign="ventas", code=DNI, at=_at(3), add_email="PEPE@example.com")
    assert profile_tab(store, campaign="ventas", code=DNI).emails == profile.emails
    assert auto_link_contact(store, campaign="ventas", customer="j@trabajo.pe") == DNI
    assert auto_link_contact(store, campaign="ventas", customer="jose@example.com") is None


# --- X4 (S15): the queue of a ticket ------------------------------------------------------------

QUEUE_SETUP: list[dict[str, Any]] = [
    {"type": "campaign", "id": "ventas", "region": "PE"},
    {"type": "campaign", "id": "soporte", "region": "PE"},
    {"type": "campaign", "id": "cobranzas", "region": "PE", "queue": "cobranzas-mora"},
    {"type": "campaign", "id": "calidad", "region": "PE"},
    {"type": "line", "id": "wa", "channel": "whatsapp", "address": "+51 1 7001234",
     "campaign": "ventas", "queue": "ventas-general", "queues": {"soporte": "soporte-n1"}},
]  # fmt: skip


def _outbound(campaign: str, customer: str, minutes: int, **more: Any) -> dict[str, Any]:
    return {
        "type": "interaction", "at": _iso(minutes), "channel": "whatsapp",
        "direction": "outbound", "campaign": campaign, "line": "wa", "customer": customer,
        "agent": "ana", "template": "saludo", **more,
    }  # fmt: skip


S15_TRAFFIC = [
    _inbound("wa-1", 0, "whatsapp", "wa", "911111111"),  # ventas: the line's queue
    _outbound("soporte", "922222222", 1),  # the line's queue for soporte
    _outbound("cobranzas", "933333333", 2),  # the campaign's queue
    _outbound("calidad", "944444444", 3),  # none: never Ventas' queue
    _outbound("calidad", "955555555", 4, queue="calidad-vip"),  # the interaction's queue
]


def test_X4_S15_queue_precedence_command(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _replay(tmp_path, capsys, [*QUEUE_SETUP, *S15_TRAFFIC])
    tickets = _list(capsys, "tickets", db)
    assert [(t["campaign"], t["queue"]) for t in tickets] == [
        ("ventas", "ventas-general"),
        ("soporte", "soporte-n1"),
        ("cobranzas", "cobranzas-mora"),
        ("calidad", ""),
        ("calidad", "calidad-vip"),
    ]


def test_X4_S15_queue_precedence_api(store: Store) -> None:
    for event in QUEUE_SETUP:
        apply_event(store, event)
    queues = []
    for i, e in enumerate(S15_TRAFFIC):
        result = route_interaction(
            store,
            at=_at(i),
            channel="whatsapp",
            direction=e["direction"],
            line="wa",
            campaign=e.get("campaign"),
            customer=e["customer"],
            queue=e.get("queue"),
            template=e.get("template"),
        )
        queues.append(result.ticket.queue)
    assert queues == ["ventas-general", "soporte-n1", "cobranzas-mora", "", "calidad-vip"]


def test_X4_a_line_names_queues_of_declared_campaigns_only(store: Store) -> None:
    declare_campaign(store, campaign={"id": "ventas"}, at=_at(0))
    with pytest.raises(UnknownCampaign, match="nadie"):
        declare_line(
            store,
            line={"id": "wa", "channel": "whatsapp", "address": "+51 1 7001234",
                  "campaign": "ventas", "queues": {"nadie": "q"}},
            at=_at(0),
        )  # fmt: skip
    with pytest.raises(RuleViolation, match="mapping"):
        declare_line(
            store,
            line={"id": "wa", "channel": "whatsapp", "address": "+51 1 7001234",
                  "campaign": "ventas", "queues": ["soporte"]},
            at=_at(0),
        )  # fmt: skip


# --- X5 (S19): a contact found in another campaign is copied into the ticket's ------------------

SOPORTE_JOSE: dict[str, Any] = {
    **JOSE, "campaign": "soporte", "vip": True, "custom": {"plan": "A", "nivel": "2"},
    "addresses": [{"line": "Av. Arequipa 123", "city": "Lima", "country": "PE"}],
    "tags": ["reclamo"],
}  # fmt: skip
S19_TRAFFIC = [
    _inbound("wa-1", 0, "whatsapp", "wa", "955 555 555"),
    {"type": "link", "campaign": "ventas", "customer": "955555555", "contact": DNI,
     "from_campaign": "soporte", "agent": "ana"},
]  # fmt: skip


def test_X5_S19_linking_a_contact_of_another_campaign_copies_it_command(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _replay(tmp_path, capsys, [*CAMPAIGNS, SOPORTE_JOSE, *S19_TRAFFIC])
    [ticket] = _list(capsys, "tickets", db)
    assert (ticket["campaign"], ticket["contact"]) == ("ventas", DNI)
    contacts = _list(capsys, "contacts", db)
    assert [(c["campaign"], c["code"], c["vip"], c["phones"], c["emails"]) for c in contacts] == [
        ("soporte", DNI, True, ["+51987654321"], ["jose@example.com"]),
        ("ventas", DNI, True, ["+51987654321"], ["jose@example.com"]),
    ]
    # Without from_campaign, a code only another campaign holds is found there.
    again = tmp_path / "again"
    again.mkdir()
    link = {k: v for k, v in S19_TRAFFIC[1].items() if k != "from_campaign"}
    db = _replay(again, capsys, [*CAMPAIGNS, SOPORTE_JOSE, S19_TRAFFIC[0], link])
    assert [t["contact"] for t in _list(capsys, "tickets", db)] == [DNI]


def test_X5_S19_a_code_another_person_holds_is_refused_command(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [
        *CAMPAIGNS,
        {"type": "contact", "campaign": "ventas", "first_names": "Ana"},
        {"type": "contact", "campaign": "soporte", "first_names": "Pepe"},
        S19_TRAFFIC[0],
        {**S19_TRAFFIC[1], "contact": "C-000001"},
    ]
    db = str(tmp_path / "cc.sqlite")
    status, _, err = _run(capsys, "replay", str(_write(tmp_path / "e.jsonl", events)), "--db", db)
    assert status == 1
    assert "line 11: field 'contact':" in err and "another person's" in err
    assert [t["contact"] for t in _list(capsys, "tickets", db)] == [None]


def test_X5_S19_linking_a_contact_of_another_campaign_copies_it_api(store: Store) -> None:
    for event in [*CAMPAIGNS, SOPORTE_JOSE, S19_TRAFFIC[0]]:
        apply_event(store, event)
    ticket = link_ticket(
        store, number=1, contact=DNI, from_campaign="soporte", agent="ana", at=_at(1)
    )
    assert ticket.contact == DNI
    with store.unit_of_work() as uow:
        source = uow.get_contact("soporte", DNI)
        copy = uow.get_contact("ventas", DNI)
        created = [e for e in uow.events() if e.kind is EventKind.CONTACT_CREATED]
    assert source is not None and copy is not None
    assert (copy.document, copy.channels, copy.vip) == (source.document, source.channels, True)
    assert [a.line for a in copy.addresses] == ["Av. Arequipa 123"]
    # The target template's fields only, converted to it; tags stay in Soporte.
    assert (copy.custom, copy.tags) == ({"plan": "A"}, ())
    assert isinstance(created[-1].payload, ContactCreated)
    assert (created[-1].campaign, created[-1].payload.copied_from) == ("ventas", "soporte")
    # Linking again, with or without from_campaign, links the copy and copies nothing.
    assert link_ticket(store, number=1, contact=DNI, agent="ana", at=_at(2)) == ticket
    again = link_ticket(store, number=1, contact=DNI, from_campaign="soporte", agent="a", at=_at(3))
    assert again == ticket
    with store.unit_of_work() as uow:
        assert len([e for e in uow.events() if e.kind is EventKind.CONTACT_CREATED]) == 2


def test_X5_X9_refusals_change_nothing(store: Store) -> None:
    for event in [
        {"type": "campaign", "id": "ventas", "region": "PE",
         "custom_fields": [{"name": "ruc", "type": "text", "required": True}]},
        {"type": "campaign", "id": "soporte", "region": "PE"},
        {"type": "campaign", "id": "calidad", "region": "PE"},
        {"type": "line", "id": "wa", "channel": "whatsapp", "address": "+51 1 7001234",
         "campaign": "ventas"},
        {"type": "contact", "campaign": "ventas", "first_names": "Ana",
         "custom": {"ruc": "20131312955"}},
        {"type": "contact", "campaign": "soporte", "first_names": "Pepe"},
        {"type": "contact", "campaign": "calidad", "first_names": "Pepe"},
        {**SOPORTE_JOSE, "custom": {}},
        _inbound("wa-1", 0, "whatsapp", "wa", "955 555 555"),
    ]:  # fmt: skip
        apply_event(store, event)
    with store.unit_of_work() as uow:
        before = (list(uow.list_contacts()), list(uow.events()))
    with pytest.raises(DuplicateContact, match="another person's"):
        link_ticket(store, number=1, contact="C-000001", from_campaign="soporte", agent="a",
                    at=_at(1))  # fmt: skip
    with pytest.raises(InvalidCustomField, match="ruc"):  # Ventas requires a field
        link_ticket(store, number=1, contact=DNI, agent="a", at=_at(1))
    with pytest.raises(UnknownContact, match="C-000009"):
        link_ticket(store, number=1, contact="C-000009", agent="a", at=_at(1))
    with pytest.raises(UnknownContact, match="soporte"):
        link_ticket(store, number=1, contact="C-000002", from_campaign="soporte", agent="a",
                    at=_at(1))  # fmt: skip
    with store.unit_of_work() as uow:
        assert (list(uow.list_contacts()), list(uow.events())) == before


def test_X5_a_code_in_several_other_campaigns_needs_from_campaign(store: Store) -> None:
    for event in [*CAMPAIGNS, {"type": "campaign", "id": "calidad", "region": "PE"},
                  SOPORTE_JOSE, {**SOPORTE_JOSE, "campaign": "calidad", "custom": {}},
                  S19_TRAFFIC[0]]:  # fmt: skip
        apply_event(store, event)
    with pytest.raises(RuleViolation, match=r"'calidad', 'soporte'.*from_campaign"):
        link_ticket(store, number=1, contact=DNI, agent="a", at=_at(1))
    assert (
        link_ticket(
            store, number=1, contact=DNI, from_campaign="calidad", agent="a", at=_at(1)
        ).contact
        == DNI
    )


def test_X5_a_generated_code_copied_in_is_skipped_by_the_sequence(store: Store) -> None:
    for event in [*CAMPAIGNS,
                  {"type": "contact", "campaign": "soporte", "first_names": "Uno"},
                  {"type": "contact", "campaign": "soporte", "first_names": "Dos"},
                  S19_TRAFFIC[0]]:  # fmt: skip
        apply_event(store, event)
    link_ticket(store, number=1, contact="C-000001", from_campaign="soporte", agent="a", at=_at(1))
    made = create_contact(store, campaign="ventas", first_names="Tres", at=_at(2))
    assert made.code == "C-000002"
    with store.unit_of_work() as uow:
        copied = uow.get_contact("ventas", "C-000001")
    assert copied is not None and copied.first_names == "Uno"


# --- X6: origin and opening from the earliest interaction -------------------------------------

ORIGIN_EVENTS: list[dict[str, Any]] = [
    _outbound("ventas", "987654321", 60, id="out-10"),
    {**_inbound("in-09", 0, "whatsapp", "wa", "987654321")},
]


def test_X6_origin_and_opening_from_the_earliest_interaction_command(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _replay(tmp_path, capsys, [*QUEUE_SETUP, *ORIGIN_EVENTS])
    [ticket] = _list(capsys, "tickets", db)
    assert (ticket["origin"], ticket["opened_at"], ticket["interactions"]) == (
        "inbound",
        _iso(0),
        2,
    )


def test_X6_origin_and_opening_from_the_earliest_interaction_api(store: Store) -> None:
    for event in QUEUE_SETUP:
        apply_event(store, event)
    out = route_interaction(
        store, at=_at(60), channel="whatsapp", direction="outbound", campaign="ventas",
        line="wa", customer="987654321", agent="ana", template="saludo",
    )  # fmt: skip
    assert (out.ticket.origin.value, out.ticket.opened_at) == ("outbound", _at(60))
    late = route_interaction(
        store, at=_at(0), channel="whatsapp", direction="inbound", line="wa",
        customer="987654321", text="Hola",
    )  # fmt: skip
    assert late.ticket.number == out.ticket.number
    assert (late.ticket.origin.value, late.ticket.opened_at) == ("inbound", _at(0))
    assert late.ticket.last_activity_at == _at(60)
    with store.unit_of_work() as uow:
        assert rebuild_tickets(uow.events()) == list(uow.list_tickets())


# --- a contact reachable by any of its channels is found by that channel ------------------------

_CHANNEL_OF = {
    ChannelKind.PHONE: "call",
    ChannelKind.WHATSAPP: "whatsapp",
    ChannelKind.EMAIL: "email",
    ChannelKind.MESSENGER: "messenger",
    ChannelKind.INSTAGRAM: "instagram",
}


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(contacts=st.lists(cst.contacts(campaign="ventas"), min_size=1, max_size=4))
def test_X1_X2_a_contact_reachable_by_a_channel_is_found_by_it(
    kind: str, tmp_path_factory: pytest.TempPathFactory, contacts: list[Contact]
) -> None:
    made: Store
    if kind == "memory":
        made = MemoryStore()
    else:
        made = SqliteStore(tmp_path_factory.mktemp("x") / "cc.db")
    try:
        stored: dict[str, Contact] = {}
        with made.unit_of_work() as uow:
            for contact in contacts:
                if contact.code not in stored:
                    uow.add_contact(contact)
                    stored[contact.code] = contact
            uow.commit()
        for contact in stored.values():
            for channel in contact.channels:
                if channel.kind in (ChannelKind.PHONE, ChannelKind.WHATSAPP):
                    found = find_candidates(made, phone=channel.value, campaign="ventas")
                    tier = MatchTier.EXACT
                else:
                    found = find_identities(made, query=channel.value, campaign="ventas")
                    tier = MatchTier.EMAIL if channel.kind is ChannelKind.EMAIL else None
                mine = [c for c in found if c.contact.code == contact.code]
                assert mine, (channel, found)
                assert tier is None or mine[0].tier in (tier, MatchTier.DOCUMENT)
                holders = {
                    c.code
                    for c in stored.values()
                    if any(
                        ch.kind is channel.kind
                        or {ch.kind, channel.kind} <= {ChannelKind.PHONE, ChannelKind.WHATSAPP}
                        for ch in c.channels
                        if ch.value == channel.value
                    )
                }
                linked = auto_link_contact(
                    made, campaign="ventas", customer=channel.value,
                    channel=_CHANNEL_OF[channel.kind],
                )  # fmt: skip
                assert linked == (contact.code if holders == {contact.code} else None)
    finally:
        made.close()


def test_X2_migration_5_indexes_the_contacts_of_a_version_4_database(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "v4.db"
    old = SqliteStore(path)
    email = ContactChannel(kind=ChannelKind.EMAIL, value="ana@example.com")
    with old.unit_of_work() as uow:
        uow.add_contact(Contact(campaign="v", code="1", first_names="Ana", channels=(email,)))
        uow.add_contact(Contact(campaign="v", code="2", first_names="Ana", merged_into="1"))
        uow.commit()
    old.close()
    raw = sqlite3.connect(path)
    # As a file of version 4 was: without the identity index (5) and the contact
    # policy's tables (6).
    for table in ("identity_index", "inbound_messages", "contact_attempts", "opt_outs"):
        raw.execute(f"DROP TABLE {table}")
    raw.execute("PRAGMA user_version = 4")
    raw.commit()
    raw.close()
    reader = SqliteStore(path, read_only=True)
    with pytest.raises(StoreUnavailable, match="identity_index"), reader.unit_of_work() as uow:
        uow.contacts_by_identity("name", "ana")
    reader.close()
    store = SqliteStore(path)
    try:
        assert store.schema_version == 6
        with store.unit_of_work() as uow:
            assert [c.code for c in uow.contacts_by_identity("name", "ana")] == ["1"]
            assert [c.code for c in uow.contacts_by_identity("email", "ana@example.com")] == ["1"]
    finally:
        store.close()


def test_X2_identity_lookups_are_index_searches_not_scans(tmp_path: pathlib.Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    statements: list[str] = []
    try:
        with store.unit_of_work() as uow:
            db = uow._db()  # type: ignore[attr-defined]
            email = ContactChannel(kind=ChannelKind.EMAIL, value="ana@example.com")
            uow.add_contact(Contact(campaign="v", code="1", first_names="Ana", channels=(email,)))
            db.set_trace_callback(statements.append)
            for kind, key in (("email", "ana@example.com"), ("document", DNI), ("name", "ana")):
                uow.contacts_by_identity(kind, key)
            db.set_trace_callback(None)
            selects = [s for s in statements if s.startswith("SELECT")]
            assert len(selects) == 3  # one statement per lookup
            for sql in selects:
                plan = " | ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + sql))
                assert "SEARCH" in plan and "SCAN" not in plan, (sql, plan)
    finally:
        store.close()
