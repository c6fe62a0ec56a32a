"""Customer information and identities (DESIGN I1-I5, seed 004; choices I6-I12), both stores."""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from ccdomain import cli
from ccdomain.collections import (
    Installment,
    Payment,
    Product,
    Promise,
    declare_product,
    money,
    record_payment,
    register_promise,
)
from ccdomain.contacts import (
    create_contact,
    declare_campaign,
    declare_line,
    make_campaign,
    make_custom_field,
    make_line,
)
from ccdomain.errors import (
    BlockedIdentity,
    CcdomainError,
    CommentImmutable,
    InvalidChannel,
    InvalidPhoneNumber,
    RuleViolation,
    TicketClosed,
    UnknownCampaign,
    UnknownContact,
    UnknownTicket,
)
from ccdomain.events import (
    CommentAdded,
    ContactAnonymized,
    ContactUpdated,
    Event,
    EventKind,
    InteractionRefused,
    Personal,
    personal_values,
)
from ccdomain.identities import (
    ANONYMIZED_TEXT,
    ActivityKind,
    ContactExport,
    add_comment,
    anonymize_contact,
    block_identity,
    cases_tab,
    contact_summary,
    delete_comment,
    edit_comment,
    export_contact,
    export_json,
    identities_tab,
    merge_identities,
    messages_tab,
    profile_tab,
    search_identities,
    unblock_identity,
    update_profile,
)
from ccdomain.matching import MatchTier
from ccdomain.memory import MemoryStore
from ccdomain.models import Channel, Direction, Ticket, TicketStatus
from ccdomain.ports import Store
from ccdomain.serialization import from_json, to_json
from ccdomain.sqlite import SqliteStore
from ccdomain.testing import strategies as cst
from ccdomain.tickets import (
    cancel_ticket,
    rebuild_tickets,
    rebuild_typifications,
    resolve_ticket,
    route_interaction,
    typify_ticket,
)

LIMA = dt.timezone(dt.timedelta(hours=-5))
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=LIMA)
CAMPAIGN = "cobranzas"
DNI = "45127839"
PHONE = "+51987654321"
HOME = "+5114221133"
PATH = ("Contactado", "Promesa de pago")


def _at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "cc.db")
    try:
        yield made
    finally:
        made.close()


def _declare(store: Store) -> None:
    declare_campaign(
        store,
        campaign=make_campaign(
            CAMPAIGN,
            kind="collections",
            region="PE",
            typifications=[list(PATH), ["No contactado", "Buzón"]],
            custom_fields=[make_custom_field("plan"), make_custom_field("limite", "number")],
        ),
        at=T0,
    )
    declare_line(
        store,
        line=make_line(
            id="wa-main",
            channel="whatsapp",
            address="+51 1 7001234",
            campaign=CAMPAIGN,
            alias="WhatsApp cobranzas",
        ),
        at=T0,
    )


def _jose(store: Store) -> str:
    contact = create_contact(
        store,
        campaign=CAMPAIGN,
        first_names="José Luis",
        last_names="Pérez Soto",
        document={"type": "DNI", "number": DNI},
        company="Transportes Quispe SAC",
        channels=[
            {"kind": "phone", "value": "987 654 321", "label": "mobile"},
            {"kind": "phone", "value": "(01) 422-1133", "label": "home"},
            {"kind": "email", "value": "Jose.Perez@Example.com"},
        ],
        addresses=[{"line": "Av. Arequipa 1234", "district": "Lince", "city": "Lima"}],
        custom={"plan": "Plan Oro Especial", "limite": "7345.25"},
        gender="M",
        tags=["deudor-frecuente"],
        notes="Prefiere llamadas por la tarde",
        at=T0,
    )
    return contact.code


def _case(store: Store) -> int:
    """An inbound message, an agent reply, a call, a comment; left open."""
    first = route_interaction(
        store,
        at=_at(1),
        channel="whatsapp",
        direction="inbound",
        line="wa-main",
        customer="987 654 321",
        external_id="wamid.001",
        text="Hola, soy José Luis y no puedo pagar",
    )
    route_interaction(
        store,
        at=_at(2),
        channel="whatsapp",
        direction="outbound",
        line="wa-main",
        campaign=CAMPAIGN,
        customer=PHONE,
        agent="ana",
        text="Buenos días José, ¿cuándo podría pagar?",
    )
    route_interaction(
        store,
        at=_at(3),
        channel="call",
        direction="outbound",
        line="wa-main",
        campaign=CAMPAIGN,
        customer=PHONE,
        agent="luis",
        status="answered",
        duration_s=95,
    )
    add_comment(
        store,
        ticket=first.ticket.number,
        agent="ana",
        at=_at(4),
        text="Cliente molesto, vive en Lince",
    )
    return first.ticket.number


def _world(store: Store) -> dict[str, Any]:
    """A contact with a typified case, a product with a promise and a payment."""
    _declare(store)
    code = _jose(store)
    number = _case(store)
    declare_product(
        store,
        product=Product(
            id="L-100",
            campaign=CAMPAIGN,
            contact=code,
            kind="loan",
            debt=money("1200.00", "PEN"),
            due=dt.date(2026, 10, 10),
        ),
        at=_at(5),
    )
    register_promise(
        store,
        promise=Promise(
            id="PP-1",
            product="L-100",
            campaign=CAMPAIGN,
            agent="ana",
            made_on=dt.date(2026, 11, 2),
            ticket=number,
            customer=PHONE,
            installments=(Installment(money("300.00", "PEN"), dt.date(2026, 11, 6)),),
        ),
        at=_at(6),
    )
    record_payment(
        store,
        payment=Payment("PG-1", "L-100", money("300.00", "PEN"), dt.date(2026, 11, 5)),
        at=_at(7),
    )
    typify_ticket(
        store, number=number, agent="ana", at=_at(8), path=PATH, comment="Pagará el viernes 6"
    )
    return {"code": code, "ticket": number}


def _snapshot(store: Store) -> tuple[Any, ...]:
    """Everything a service could write, for E2 checks."""
    with store.unit_of_work() as uow:
        tickets = list(uow.list_tickets())
        return (
            list(uow.list_contacts()),
            tickets,
            [list(uow.interactions(t.number)) for t in tickets],
            [list(uow.comments(t.number)) for t in tickets],
            list(uow.typifications()),
            list(uow.list_products()),
            list(uow.list_promises()),
            [uow.get_block(CAMPAIGN, a) for a in (PHONE, HOME, "jose.perez@example.com")],
            list(uow.events()),
        )


def _events(store: Store, kind: EventKind) -> list[Any]:
    with store.unit_of_work() as uow:
        return [e for e in uow.events() if e.kind is kind]


def _refused(event: Event) -> tuple[Direction, str]:
    """The direction and customer of a refusal event (I3)."""
    assert isinstance(event.payload, InteractionRefused)
    return event.payload.direction, event.payload.customer


# --- I1 summary ---------------------------------------------------------------------------------


def test_I1_summary_lists_the_activity_newest_first(store: Store) -> None:
    world = _world(store)
    page = contact_summary(store, campaign=CAMPAIGN, code=world["code"], page_size=50)
    times = [item.at for item in page.items]
    assert times == sorted(times, reverse=True)
    kinds = [item.kind for item in page.items]
    assert kinds[0] is ActivityKind.TICKET_CLOSED
    assert kinds[-1] is ActivityKind.TICKET_OPENED
    assert set(kinds) == {
        ActivityKind.TICKET_OPENED,
        ActivityKind.INTERACTION,
        ActivityKind.COMMENT,
        ActivityKind.PROMISE,
        ActivityKind.TYPIFICATION,
        ActivityKind.TICKET_CLOSED,
    }
    by_kind = {item.kind: item for item in page.items}
    assert by_kind[ActivityKind.COMMENT].text == "Cliente molesto, vive en Lince"
    assert by_kind[ActivityKind.PROMISE].at == _at(6)
    assert "PP-1" in by_kind[ActivityKind.PROMISE].text
    assert by_kind[ActivityKind.TYPIFICATION].text.startswith("Contactado > Promesa de pago")
    interactions = [i for i in page.items if i.kind is ActivityKind.INTERACTION]
    assert [i.text for i in interactions] == [
        "answered 95 s",
        "Buenos días José, ¿cuándo podría pagar?",
        "Hola, soy José Luis y no puedo pagar",
    ]
    assert interactions[1].agent == "ana" and interactions[1].direction is Direction.OUTBOUND
    assert all(item.ticket == world["ticket"] for item in page.items)
    assert page.total == len(page.items) == 8


def test_I1_summary_pages_with_a_total(store: Store) -> None:
    world = _world(store)
    everything = contact_summary(store, campaign=CAMPAIGN, code=world["code"], page_size=50).items
    first = contact_summary(store, campaign=CAMPAIGN, code=world["code"], page=1, page_size=3)
    third = contact_summary(store, campaign=CAMPAIGN, code=world["code"], page=3, page_size=3)
    beyond = contact_summary(store, campaign=CAMPAIGN, code=world["code"], page=9, page_size=3)
    assert first.items == everything[:3] and third.items == everything[6:]
    assert (first.total, first.pages, first.has_next) == (8, 3, True)
    assert third.has_next is False and beyond.items == () and beyond.total == 8
    with store.unit_of_work() as uow:  # a unit of work is a source too
        assert contact_summary(uow, campaign=CAMPAIGN, code=world["code"], page_size=3) == first


@pytest.mark.parametrize(
    ("page", "page_size", "shown"),
    [(0, 20, "0"), (1, 0, "0"), (1, 501, "501"), ("2", 20, "'2'"), (True, 20, "True")],
)
def test_I1_bad_page_refused_naming_the_value(
    store: Store, page: Any, page_size: Any, shown: str
) -> None:
    world = _world(store)
    with pytest.raises(RuleViolation, match=shown):
        contact_summary(
            store, campaign=CAMPAIGN, code=world["code"], page=page, page_size=page_size
        )


def test_I1_unknown_contact_or_campaign_refused(store: Store) -> None:
    _world(store)
    with pytest.raises(UnknownContact, match="C-404"):
        contact_summary(store, campaign=CAMPAIGN, code="C-404")
    with pytest.raises(UnknownCampaign, match="nope"):
        contact_summary(store, campaign="nope", code=DNI)
    with pytest.raises(CcdomainError, match="None"):
        contact_summary(store, campaign=CAMPAIGN, code=None)  # type: ignore[arg-type]


# --- tabs of 004 ------------------------------------------------------------------------------


def test_I9_cases_tab_shows_only_agent_replies_with_comments(store: Store) -> None:
    world = _world(store)
    [case] = cases_tab(store, campaign=CAMPAIGN, code=world["code"])
    assert case.ticket.number == world["ticket"]
    assert [(r.agent, r.direction, r.channel) for r in case.replies] == [
        ("ana", Direction.OUTBOUND, Channel.WHATSAPP),
        ("luis", Direction.OUTBOUND, Channel.CALL),
    ]
    assert [c.text for c in case.comments] == ["Cliente molesto, vive en Lince"]
    [only_ana] = cases_tab(store, campaign=CAMPAIGN, code=world["code"], agent="ana")
    assert [r.text for r in only_ana.replies] == ["Buenos días José, ¿cuándo podría pagar?"]


def test_I9_messages_tab_threads_customer_and_agent_messages(store: Store) -> None:
    world = _world(store)
    [thread] = messages_tab(store, campaign=CAMPAIGN, code=world["code"])
    assert [(m.direction, m.text) for m in thread.messages] == [
        (Direction.INBOUND, "Hola, soy José Luis y no puedo pagar"),
        (Direction.OUTBOUND, "Buenos días José, ¿cuándo podría pagar?"),
    ]


def test_I10_profile_tab_has_the_004_fields(store: Store) -> None:
    world = _world(store)
    profile = profile_tab(store, campaign=CAMPAIGN, code=world["code"])
    assert (profile.first_names, profile.last_names) == ("José Luis", "Pérez Soto")
    assert profile.company == "Transportes Quispe SAC"
    assert (profile.gender, profile.email) == ("M", "jose.perez@example.com")
    assert (profile.mobile_phone, profile.home_phone) == (PHONE, HOME)
    assert profile.tags == ("deudor-frecuente",) and profile.notes.startswith("Prefiere")
    assert profile.avatar == "JP" and not profile.anonymized


def test_I10_update_profile_goes_through_the_validated_service(store: Store) -> None:
    world = _world(store)
    code = world["code"]
    updated = update_profile(
        store,
        campaign=CAMPAIGN,
        code=code,
        agent="ana",
        at=_at(30),
        first_names="José",
        email="JL.Perez@Example.org",
        mobile_phone="912 345 678",
        home_phone=None,
        tags=["vip-potencial"],
    )
    profile = profile_tab(store, campaign=CAMPAIGN, code=code)
    assert profile.first_names == "José" and profile.last_names == "Pérez Soto"
    assert profile.email == "jl.perez@example.org"
    assert (profile.mobile_phone, profile.home_phone) == ("+51912345678", None)
    assert profile.tags == ("vip-potencial",)
    assert updated.code == code
    [event] = _events(store, EventKind.CONTACT_UPDATED)
    assert event.payload == ContactUpdated(fields=("channels", "first_names", "tags"))
    assert event.actor == "ana"
    # Bad values are refused by the same service, naming the value; nothing is written.
    before = _snapshot(store)
    with pytest.raises(InvalidPhoneNumber, match="98765"):
        update_profile(store, campaign=CAMPAIGN, code=code, at=_at(31), mobile_phone="98765")
    with pytest.raises(InvalidChannel, match="not-an-email"):
        update_profile(
            store, campaign=CAMPAIGN, code=code, at=_at(31), email="not-an-email", notes="x"
        )
    with pytest.raises(RuleViolation, match="x" * 10):
        update_profile(store, campaign=CAMPAIGN, code=code, at=_at(31), gender="x" * 10_000)
    assert _snapshot(store) == before
    assert (
        update_profile(store, campaign=CAMPAIGN, code=code, at=_at(32)) == updated
    )  # nothing given


def test_M3_identities_tab_lists_addresses_and_matching_contacts(store: Store) -> None:
    world = _world(store)
    twin = create_contact(
        store,
        campaign=CAMPAIGN,
        first_names="José",
        channels=[{"kind": "whatsapp", "value": "+51 987 654 321"}],
        at=_at(20),
    )
    near = create_contact(
        store,
        campaign=CAMPAIGN,
        first_names="Otro",
        channels=[{"kind": "phone", "value": "917654321"}],
        at=_at(20),
    )
    view = identities_tab(store, campaign=CAMPAIGN, code=world["code"])
    assert [c.value for c in view.identities] == [PHONE, HOME, "jose.perez@example.com"]
    assert [(c.contact.code, c.tier) for c in view.candidates] == [
        (twin.code, MatchTier.EXACT),
        (near.code, MatchTier.SUFFIX),
    ]
    found = search_identities(store, campaign=CAMPAIGN, code=world["code"], query="987-654-321")
    assert [c.contact.code for c in found] == [twin.code, near.code]
    # X2: a text that is no phone is read the other ways (it was InvalidPhoneNumber).
    assert search_identities(store, campaign=CAMPAIGN, code=world["code"], query="12") == ()


def test_M5_merge_identities_plans_then_applies(store: Store) -> None:
    world = _world(store)
    twin = create_contact(
        store,
        campaign=CAMPAIGN,
        first_names="Pepe",
        channels=[{"kind": "whatsapp", "value": "+51 999 888 777"}],
        at=_at(20),
    )
    merged = merge_identities(
        store, campaign=CAMPAIGN, into=world["code"], source=twin.code, agent="sup1", at=_at(21)
    )
    assert merged.code == world["code"] and "+51999888777" in merged.phones
    assert merged.first_names == "José Luis"  # A's value wins (M5)
    # The tombstone resolves to the survivor in every view.
    assert contact_summary(store, campaign=CAMPAIGN, code=twin.code).code == world["code"]
    before = _snapshot(store)
    with pytest.raises(RuleViolation, match=DNI):
        merge_identities(
            store, campaign=CAMPAIGN, into=DNI, source=f" {DNI}", agent="sup1", at=_at(22)
        )
    with pytest.raises(UnknownContact, match="C-404"):
        merge_identities(
            store, campaign=CAMPAIGN, into=DNI, source="C-404", agent="sup1", at=_at(22)
        )
    assert _snapshot(store) == before


# --- I2 comments ----------------------------------------------------------------------------------


def test_I2_comment_recorded_with_an_event_that_holds_no_text(store: Store) -> None:
    world = _world(store)
    [comment] = cases_tab(store, campaign=CAMPAIGN, code=world["code"])[0].comments
    assert comment.seq is not None and comment.agent == "ana"
    [event] = _events(store, EventKind.COMMENT_ADDED)
    assert event.ticket == world["ticket"] and event.contact == world["code"]
    assert event.payload == CommentAdded(comment_seq=comment.seq, length=len(comment.text))


def test_I2_comments_can_be_neither_edited_nor_deleted(store: Store) -> None:
    world = _world(store)
    [comment] = cases_tab(store, campaign=CAMPAIGN, code=world["code"])[0].comments
    before = _snapshot(store)
    with pytest.raises(CommentImmutable, match=rf"comment {comment.seq} of ticket"):
        edit_comment(
            store, ticket=world["ticket"], seq=comment.seq, text="otro", agent="ana", at=_at(9)
        )
    with pytest.raises(CommentImmutable, match="deleted"):
        delete_comment(store, ticket=world["ticket"], seq=comment.seq, agent="ana", at=_at(9))
    assert _snapshot(store) == before


def test_I2_cancelling_a_case_removes_its_comments_and_keeps_its_history(store: Store) -> None:
    _declare(store)
    code = _jose(store)
    number = _case(store)
    add_comment(store, ticket=number, agent="luis", at=_at(5), text="segundo comentario")
    with store.unit_of_work() as uow:
        interactions = list(uow.interactions(number))
        events_before = list(uow.events())
    cancelled = cancel_ticket(store, number=number, agent="sup1", at=_at(6))
    assert cancelled.status is TicketStatus.CANCELLED
    with store.unit_of_work() as uow:
        assert uow.comments(number) == []
        assert list(uow.interactions(number)) == interactions
        events_after = list(uow.events())
    assert events_after[: len(events_before)] == events_before
    assert events_after[-1].kind is EventKind.TICKET_CANCELLED
    assert contact_summary(store, campaign=CAMPAIGN, code=code).items[0].text == "case cancelled"
    before = _snapshot(store)
    with pytest.raises(TicketClosed, match=rf"ticket {number}"):
        add_comment(store, ticket=number, agent="ana", at=_at(7), text="tarde")
    assert _snapshot(store) == before


def test_I6_closed_but_not_cancelled_cases_take_comments(store: Store) -> None:
    _declare(store)
    _jose(store)
    number = _case(store)
    resolve_ticket(store, number=number, agent="ana", at=_at(10))
    later = add_comment(store, ticket=number, agent="ana", at=_at(11), text="seguimiento\nok")
    assert later.text == "seguimiento\nok"


@pytest.mark.parametrize(
    ("changes", "error", "shown"),
    [
        ({"text": "   "}, RuleViolation, "'   '"),
        ({"text": "x" * 10_001}, RuleViolation, "xxxx"),
        ({"text": "hola\x00"}, RuleViolation, "hola"),
        ({"text": None}, RuleViolation, "None"),
        ({"agent": ""}, RuleViolation, "''"),
        ({"at": dt.datetime(2026, 11, 2, 9, 30)}, RuleViolation, "2026"),
        ({"at": T0 - dt.timedelta(days=1)}, RuleViolation, "before ticket"),
        ({"ticket": 999}, UnknownTicket, "999"),
        ({"ticket": "1"}, UnknownTicket, "'1'"),
    ],
)
def test_I6_bad_comments_refused_naming_the_value(
    store: Store, changes: dict[str, Any], error: type[CcdomainError], shown: str
) -> None:
    _declare(store)
    _jose(store)
    number = _case(store)
    before = _snapshot(store)
    arguments: dict[str, Any] = {"ticket": number, "agent": "ana", "at": _at(5), "text": "ok"}
    arguments.update(changes)
    with pytest.raises(error, match=shown):
        add_comment(store, **arguments)
    assert _snapshot(store) == before


# --- I3 blocks ------------------------------------------------------------------------------------


def test_I3_blocked_identity_is_refused_both_ways_and_recorded(store: Store) -> None:
    world = _world(store)
    block = block_identity(
        store, campaign=CAMPAIGN, customer="987-654-321", agent="sup1", at=_at(10)
    )
    assert block.customer == PHONE
    before = _snapshot(store)
    with pytest.raises(BlockedIdentity, match=r"\+51987654321"):
        route_interaction(
            store,
            at=_at(11),
            channel="whatsapp",
            direction="inbound",
            line="wa-main",
            customer="987654321",
            text="¿me desbloquean?",
        )
    with pytest.raises(BlockedIdentity):
        route_interaction(
            store,
            at=_at(12),
            channel="call",
            direction="outbound",
            campaign=CAMPAIGN,
            line="wa-main",
            customer=PHONE,
            agent="ana",
            status="placed",
        )
    after = _snapshot(store)
    assert after[:-1] == before[:-1]  # no ticket, interaction, ... only the refusals
    refusals = _events(store, EventKind.INTERACTION_REFUSED)
    assert [_refused(e) for e in refusals] == [
        (Direction.INBOUND, PHONE),
        (Direction.OUTBOUND, PHONE),
    ]
    summary = contact_summary(store, campaign=CAMPAIGN, code=world["code"], page_size=50)
    kinds = [i.kind for i in summary.items[:3]]
    assert kinds == [
        ActivityKind.INTERACTION_REFUSED,
        ActivityKind.INTERACTION_REFUSED,
        ActivityKind.IDENTITY_BLOCKED,
    ]
    document = export_contact(store, campaign=CAMPAIGN, code=world["code"])
    assert document.blocks == (block,)
    assert [_refused(e)[0] for e in document.refused] == [Direction.INBOUND, Direction.OUTBOUND]


def test_I3_unblock_restores_normal_routing(store: Store) -> None:
    world = _world(store)
    block_identity(store, campaign=CAMPAIGN, customer=PHONE, agent="sup1", at=_at(10))
    removed = unblock_identity(
        store, campaign=CAMPAIGN, customer="987 654 321", agent="sup1", at=_at(11)
    )
    assert removed is not None and removed.agent == "sup1"
    result = route_interaction(
        store,
        at=_at(12),
        channel="whatsapp",
        direction="inbound",
        line="wa-main",
        customer="987654321",
        text="gracias",
    )
    assert result.ticket.number != world["ticket"] and result.ticket.contact == world["code"]
    kinds = [e.kind for e in _events(store, EventKind.IDENTITY_UNBLOCKED)]
    assert kinds == [EventKind.IDENTITY_UNBLOCKED]


def test_I7_blocking_twice_or_unblocking_an_unblocked_identity_changes_nothing(
    store: Store,
) -> None:
    _declare(store)
    first = block_identity(store, campaign=CAMPAIGN, customer=PHONE, agent="sup1", at=_at(1))
    before = _snapshot(store)
    again = block_identity(store, campaign=CAMPAIGN, customer="987654321", agent="sup2", at=_at(2))
    assert again == first
    assert (
        unblock_identity(store, campaign=CAMPAIGN, customer=HOME, agent="sup2", at=_at(3)) is None
    )
    assert _snapshot(store) == before


def test_I7_identities_are_read_by_their_shape(store: Store) -> None:
    _declare(store)
    email = block_identity(
        store, campaign=CAMPAIGN, customer=" Jose@Example.COM ", agent="sup1", at=_at(1)
    )
    handle = block_identity(store, campaign=CAMPAIGN, customer="jose.perez99", agent="s", at=_at(1))
    ig = block_identity(
        store, campaign=CAMPAIGN, customer="@Jose", agent="s", at=_at(1), channel="instagram"
    )
    assert (email.customer, handle.customer, ig.customer) == (
        "jose@example.com",
        "jose.perez99",
        "@Jose",
    )


@pytest.mark.parametrize(
    ("customer", "campaign", "error", "shown"),
    [
        ("98765", CAMPAIGN, InvalidPhoneNumber, "98765"),
        ("+51 123", CAMPAIGN, InvalidPhoneNumber, r"\+51 123"),
        (None, CAMPAIGN, RuleViolation, "None"),
        (51987654321, CAMPAIGN, RuleViolation, "51987654321"),
        ("x" * 400, CAMPAIGN, RuleViolation, "xxx"),
        (PHONE, "nope", UnknownCampaign, "nope"),
    ],
)
def test_I3_bad_identities_refused_naming_the_value(
    store: Store, customer: Any, campaign: str, error: type[CcdomainError], shown: str
) -> None:
    _declare(store)
    before = _snapshot(store)
    for service in (block_identity, unblock_identity):
        with pytest.raises(error, match=shown):
            service(store, campaign=campaign, customer=customer, agent="sup1", at=_at(1))
    assert _snapshot(store) == before


# --- I4 anonymization ----------------------------------------------------------------------------

ORIGINALS = (
    "José Luis",
    "Pérez Soto",
    DNI,
    PHONE,
    "987654321",
    "987 654 321",
    HOME,
    "4221133",
    "(01) 422-1133",
    "jose.perez@example.com",
    "Jose.Perez@Example.com",
    "Av. Arequipa 1234",
    "Plan Oro Especial",
    "7345.25",
    "deudor-frecuente",
    "Prefiere llamadas",
    "Hola, soy José Luis",
    "no puedo pagar",
    "cuándo podría pagar",
    "Cliente molesto",
    "vive en Lince",
    "Pagará el viernes",
    "te escribo de nuevo",
    "José",
)


def _anonymizable(store: Store) -> dict[str, Any]:
    """The world, closed, with a refused interaction and a block: ready to anonymize."""
    world = _world(store)
    block_identity(store, campaign=CAMPAIGN, customer=PHONE, agent="sup1", at=_at(40))
    with pytest.raises(BlockedIdentity):
        route_interaction(
            store,
            at=_at(41),
            channel="whatsapp",
            direction="inbound",
            line="wa-main",
            customer="987654321",
            text="te escribo de nuevo",
        )
    return world


def _reports(store: Store) -> tuple[Any, ...]:
    """What the reports add up: counts, dates, statuses, paths, amounts."""
    with store.unit_of_work() as uow:
        tickets = [
            (t.number, t.status, t.opened_at, t.closed_at, t.interactions, t.channels, t.line)
            for t in uow.list_tickets()
        ]
        typifications = [(t.ticket, t.at, t.path, t.agent) for t in uow.typifications()]
        products = [(p.id, p.debt, p.due) for p in uow.list_products()]
        promises = [(p.id, p.total, p.made_on, p.installments) for p in uow.list_promises()]
        payments = list(uow.payments_for_product("L-100"))
        comments = [
            (c.seq, c.at, c.agent) for t in uow.list_tickets() for c in uow.comments(t.number)
        ]
        events = [(e.seq, e.kind, e.at, e.actor, e.ticket) for e in uow.events()]
    return tickets, typifications, products, promises, payments, comments, events


def _leaks(text: str) -> list[str]:
    return [value for value in ORIGINALS if value in text]


def test_I4_anonymize_replaces_every_personal_value_and_keeps_the_reports(store: Store) -> None:
    world = _anonymizable(store)
    reports = _reports(store)
    assert _leaks(
        export_json(store, campaign=CAMPAIGN, code=world["code"])
    )  # the values are there before
    anonymous = anonymize_contact(
        store, campaign=CAMPAIGN, code=world["code"], agent="dpo", at=_at(60)
    )
    assert anonymous.anonymized and anonymous.code.startswith("ANON-")
    assert DNI not in anonymous.code
    assert (anonymous.first_names, anonymous.document, anonymous.channels) == ("", None, ())
    assert (anonymous.addresses, anonymous.custom, anonymous.tags) == ((), {}, ())
    # Counts, dates, statuses, paths and amounts are unchanged (one more event).
    after = _reports(store)
    assert after[:-1] == reports[:-1]
    assert after[-1][:-1] == reports[-1] and after[-1][-1][1] is EventKind.CONTACT_ANONYMIZED
    # Nothing personal is left in any stored record nor in the export.
    snapshot = to_json(_snapshot(store)[:-1]) + "".join(to_json(e) for e in _snapshot(store)[-1])
    assert _leaks(snapshot) == []
    text = export_json(store, campaign=CAMPAIGN, code=anonymous.code)
    assert _leaks(text) == []
    document = from_json(text, ContactExport)
    [case] = document.cases
    assert case.ticket.contact == anonymous.code and case.ticket.customer.startswith("anon-")
    assert {i.text for i in case.interactions} == {ANONYMIZED_TEXT, None}
    assert [c.text for c in case.comments] == [ANONYMIZED_TEXT]
    assert [t.comment for t in case.typifications] == [ANONYMIZED_TEXT]
    assert document.blocks == () and len(document.refused) == 1
    assert document.products[0].product.contact == anonymous.code
    # The event log still rebuilds the stored tickets and typifications (T11).
    with store.unit_of_work() as uow:
        events = list(uow.events())
        assert rebuild_tickets(events) == list(uow.list_tickets())
        assert rebuild_typifications(events) == list(uow.typifications())
    [event] = _events(store, EventKind.CONTACT_ANONYMIZED)
    assert event.contact == anonymous.code and event.actor == "dpo"
    assert isinstance(event.payload, ContactAnonymized)
    assert (event.payload.tickets, event.payload.interactions) == (1, 3)
    # The old code is gone, the views work on the new one.
    with pytest.raises(UnknownContact, match=DNI):
        contact_summary(store, campaign=CAMPAIGN, code=DNI)
    assert (
        contact_summary(store, campaign=CAMPAIGN, code=anonymous.code).total == 10
    )  # 8, block, refusal


def test_I4_anonymized_code_is_opaque_and_deterministic(tmp_path: pathlib.Path) -> None:
    codes = []
    for store in (MemoryStore(), SqliteStore(tmp_path / "a.db")):
        world = _anonymizable(store)
        codes.append(
            anonymize_contact(
                store, campaign=CAMPAIGN, code=world["code"], agent="dpo", at=_at(60)
            ).code
        )
        store.close()
    assert codes[0] == codes[1]
    assert not _leaks(codes[0])
    # The code is made of what the contact was created with (its fingerprint), not of
    # the time, so the contact line that created it finds it again (R4): the same
    # contact anonymized later has the same code, another contact another one.
    other = MemoryStore()
    world = _anonymizable(other)
    later = anonymize_contact(other, campaign=CAMPAIGN, code=world["code"], agent="dpo", at=_at(61))
    assert later.code == codes[0]
    with other.unit_of_work() as uow:
        created = [e for e in uow.events() if e.kind is EventKind.CONTACT_CREATED]
    assert [e.payload.fingerprint for e in created if e.contact == later.code] == [""]
    stranger = create_contact(other, campaign=CAMPAIGN, first_names="Rosa", agent="ana", at=_at(62))
    hidden = anonymize_contact(
        other, campaign=CAMPAIGN, code=stranger.code, agent="dpo", at=_at(63)
    )
    assert hidden.code not in (codes[0], stranger.code) and hidden.code.startswith("ANON-")


def test_I4_the_sqlite_file_and_every_listing_hold_no_original_value(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever the SQLite build's default, freed cells keep their bytes here: the
    # store's purge (VACUUM, then an emptied log) is what must erase them.
    connect = sqlite3.connect

    def keeping_freed_bytes(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = connect(*args, **kwargs)
        db.execute("PRAGMA secure_delete = OFF")
        return db

    monkeypatch.setattr(sqlite3, "connect", keeping_freed_bytes)
    path = tmp_path / "cc.sqlite"
    store = SqliteStore(path)
    world = _anonymizable(store)
    # A bystander's own values stay.
    create_contact(
        store,
        campaign=CAMPAIGN,
        first_names="Rosa",
        channels=[{"kind": "phone", "value": "912 000 111"}],
        at=_at(50),
    )
    store.purge()  # the originals now sit in the main file, not only in the log
    assert "José Luis".encode() in path.read_bytes() and DNI.encode() in path.read_bytes()
    anonymous = anonymize_contact(
        store, campaign=CAMPAIGN, code=world["code"], agent="dpo", at=_at(60)
    )

    def raw_bytes() -> bytes:
        return b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("cc."))

    assert [v for v in ORIGINALS if v.encode("utf-8") in raw_bytes()] == []  # store still open
    store.close()
    raw = raw_bytes()
    assert [v for v in ORIGINALS if v.encode("utf-8") in raw] == []
    assert b"Rosa" in raw and b"+51912000111" in raw
    listings = []
    for command in ("tickets", "contacts", "typifications", "promises"):
        for fmt in ("json", "table", "csv"):
            extra = ["--as-of", "2026-11-20"] if command == "promises" else []
            assert cli.main([command, "--db", str(path), "--format", fmt, *extra]) == 0
            listings.append(capsys.readouterr().out)
    joined = "\n".join(listings)
    assert _leaks(joined) == []
    assert anonymous.code in joined and "Rosa" in joined
    tickets = json.loads(listings[0])
    assert [(t["status"], t["interactions"], t["contact"]) for t in tickets] == [
        ("typified", 3, anonymous.code)
    ]
    [promise] = json.loads(listings[9])
    assert (promise["status"], promise["paid"], promise["total"]) == ("kept", "300.00", "300.00")


def test_I4_anonymizing_twice_is_refused(store: Store) -> None:
    world = _anonymizable(store)
    anonymous = anonymize_contact(
        store, campaign=CAMPAIGN, code=world["code"], agent="dpo", at=_at(60)
    )
    before = _snapshot(store)
    with pytest.raises(RuleViolation, match=anonymous.code):
        anonymize_contact(store, campaign=CAMPAIGN, code=anonymous.code, agent="dpo", at=_at(61))
    with pytest.raises(UnknownContact, match=DNI):
        anonymize_contact(store, campaign=CAMPAIGN, code=DNI, agent="dpo", at=_at(61))
    with pytest.raises(RuleViolation, match="anonymized"):
        update_profile(
            store, campaign=CAMPAIGN, code=anonymous.code, at=_at(61), first_names="Juan"
        )
    with pytest.raises(RuleViolation, match="anonymized"):
        add_comment(store, ticket=world["ticket"], agent="ana", at=_at(61), text="x")
    with pytest.raises(RuleViolation, match="agent"):
        anonymize_contact(store, campaign=CAMPAIGN, code=anonymous.code, agent="", at=_at(61))
    assert _snapshot(store) == before


def test_I11_an_open_case_stays_open_under_its_anonymous_address(store: Store) -> None:
    _declare(store)
    code = _jose(store)
    number = _case(store)  # left open
    anonymous = anonymize_contact(store, campaign=CAMPAIGN, code=code, agent="dpo", at=_at(10))
    with store.unit_of_work() as uow:
        ticket = uow.get_ticket(number)
        assert ticket is not None and ticket.is_open and ticket.contact == anonymous.code
        assert uow.get_open_ticket(CAMPAIGN, ticket.customer) == ticket
        assert uow.get_open_ticket(CAMPAIGN, PHONE) is None
        assert rebuild_tickets(list(uow.events())) == list(uow.list_tickets())
    later = route_interaction(
        store,
        at=_at(11),
        channel="whatsapp",
        direction="inbound",
        line="wa-main",
        customer="987654321",
        text="hola de nuevo",
    )
    assert later.ticket.number != number and later.ticket.contact is None


def test_I4_merge_tombstones_and_unlinked_cases_of_its_addresses_are_anonymized(
    store: Store,
) -> None:
    _declare(store)
    # An email case opened before any contact held the address stays unlinked (X1 links
    # an email case to the one contact holding it, when there is one then).
    unlinked = route_interaction(
        store,
        at=_at(3),
        channel="email",
        direction="inbound",
        campaign=CAMPAIGN,
        customer="Jose.Perez@Example.com",
        text="Adjunto mi voucher José",
    )
    assert unlinked.ticket.contact is None
    resolve_ticket(store, number=unlinked.ticket.number, agent="ana", at=_at(4))
    code = _jose(store)
    twin = create_contact(
        store,
        campaign=CAMPAIGN,
        document={"type": "DNI", "number": "70112233"},
        first_names="Pepe",
        channels=[{"kind": "email", "value": "pepe70112233@example.com"}],
        at=_at(1),
    )
    merge_identities(store, campaign=CAMPAIGN, into=code, source=twin.code, agent="s", at=_at(2))
    anonymous = anonymize_contact(store, campaign=CAMPAIGN, code=twin.code, agent="dpo", at=_at(5))
    with store.unit_of_work() as uow:
        contacts = list(uow.list_contacts(CAMPAIGN))
        ticket = uow.get_ticket(unlinked.ticket.number)
        texts = [i.text for i in uow.interactions(unlinked.ticket.number)]
        events = to_json(list(uow.events()))
    assert "70112233" not in {c.code for c in contacts}
    assert all(c.anonymized and c.code.startswith("ANON-") for c in contacts)
    [tomb] = [c for c in contacts if c.merged_into is not None]
    assert tomb.merged_into == anonymous.code
    assert ticket is not None and ticket.customer.startswith("anon-") and ticket.contact is None
    assert texts == [ANONYMIZED_TEXT]
    for value in ("70112233", "pepe70112233", DNI, "Adjunto mi voucher", "jose.perez@example.com"):
        assert value not in events


# --- I5 export -----------------------------------------------------------------------------------


def test_I5_export_holds_everything_about_the_contact_and_reads_back(store: Store) -> None:
    world = _anonymizable(store)
    document = export_contact(store, campaign=CAMPAIGN, code=world["code"])
    assert document.contact.code == DNI and document.company is not None
    assert document.company.name == "Transportes Quispe SAC"
    [case] = document.cases
    assert (len(case.interactions), len(case.typifications), len(case.comments)) == (3, 1, 1)
    [product] = document.products
    assert [p.id for p in product.payments] == ["PG-1"] and [p.id for p in product.promises] == [
        "PP-1"
    ]
    assert [b.customer for b in document.blocks] == [PHONE]
    assert len(document.refused) == 1
    kinds = {e.kind for e in document.events}
    assert {
        EventKind.CONTACT_CREATED,
        EventKind.TICKET_OPENED,
        EventKind.INTERACTION_ADDED,
        EventKind.COMMENT_ADDED,
        EventKind.PRODUCT_DECLARED,
        EventKind.PROMISE_MADE,
        EventKind.PAYMENT_RECORDED,
        EventKind.TICKET_TYPIFIED,
        EventKind.IDENTITY_BLOCKED,
    } <= kinds
    assert EventKind.CAMPAIGN_DECLARED not in kinds
    text = export_json(store, campaign=CAMPAIGN, code=world["code"])
    assert json.loads(text)["format"] == "ccdomain.contact-export/1"
    assert from_json(text, ContactExport) == document


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    contact=cst.contacts(campaign=CAMPAIGN), comments=cst.comments(), interaction=cst.interactions()
)
def test_I5_export_then_import_reads_back_equal_for_arbitrary_contacts(
    contact: Any, comments: Any, interaction: Any
) -> None:
    store = MemoryStore()
    _declare(store)
    with store.unit_of_work() as uow:
        uow.add_contact(contact)
        ticket, _ = uow.get_or_open_ticket(
            CAMPAIGN,
            interaction.customer,
            lambda n: Ticket(
                number=n,
                campaign=CAMPAIGN,
                customer=interaction.customer,
                origin=Direction.INBOUND,
                opened_at=T0,
                contact=contact.code,
            ),
        )
        uow.add_interaction(attrs.evolve(interaction, ticket=ticket.number, external_id=None))
        uow.add_comment(attrs.evolve(comments, ticket=ticket.number))
        uow.commit()
    document = export_contact(store, campaign=CAMPAIGN, code=contact.code)
    assert document.contact == contact and len(document.cases) == 1
    assert (
        from_json(export_json(store, campaign=CAMPAIGN, code=contact.code), ContactExport)
        == document
    )


# --- bad input: only ccdomain errors, naming the value, nothing written ------------------------

_BAD_CALLS: list[tuple[str, Callable[[Store], object], str]] = [
    (
        "summary of an int code",
        lambda s: contact_summary(s, campaign=CAMPAIGN, code=12345678),
        "12345678",
    ),  # type: ignore[arg-type]
    ("cases of an emoji", lambda s: cases_tab(s, campaign=CAMPAIGN, code="😀"), "😀"),
    (
        "profile of a huge code",
        lambda s: profile_tab(s, campaign=CAMPAIGN, code="9" * 10_000),
        "999",
    ),
    ("messages of None campaign", lambda s: messages_tab(s, campaign=None, code=DNI), "None"),  # type: ignore[arg-type]
    (
        "identities of a control char",
        lambda s: identities_tab(s, campaign=CAMPAIGN, code="a\x07b"),
        "a",
    ),
    (
        "export of an unknown code",
        lambda s: export_contact(s, campaign=CAMPAIGN, code="C-404"),
        "C-404",
    ),
    (
        "anonymize with a naive time",
        lambda s: anonymize_contact(
            s, campaign=CAMPAIGN, code=DNI, agent="dpo", at=dt.datetime(2026, 11, 3)
        ),
        "2026",
    ),
    (
        "comment on a float ticket",
        lambda s: add_comment(s, ticket=1.0, agent="ana", at=_at(9), text="x"),  # type: ignore[arg-type]
        "1.0",
    ),
    (
        "update profile with a list name",
        lambda s: update_profile(s, campaign=CAMPAIGN, code=DNI, at=_at(9), first_names=["José"]),
        "José",
    ),
    (
        "summary from a string",
        lambda s: contact_summary("store", campaign=CAMPAIGN, code=DNI),
        "store",
    ),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(
    ("call", "shown"), [(c, s) for _, c, s in _BAD_CALLS], ids=[n for n, _, _ in _BAD_CALLS]
)
def test_E1_bad_input_raises_ccdomain_errors_naming_the_value(
    store: Store, call: Callable[[Store], object], shown: str
) -> None:
    _world(store)
    before = _snapshot(store)
    with pytest.raises(CcdomainError, match=shown):
        call(store)
    assert _snapshot(store) == before


def test_I4_channel_kinds_of_the_contact_are_all_scrubbed_from_blocks(store: Store) -> None:
    world = _world(store)
    block_identity(
        store, campaign=CAMPAIGN, customer="jose.perez@example.com", agent="s", at=_at(9)
    )
    block_identity(store, campaign=CAMPAIGN, customer=HOME, agent="s", at=_at(9))
    anonymize_contact(store, campaign=CAMPAIGN, code=world["code"], agent="dpo", at=_at(10))
    with store.unit_of_work() as uow:
        assert uow.get_block(CAMPAIGN, "jose.perez@example.com") is None
        assert uow.get_block(CAMPAIGN, HOME) is None
        customers = {
            value
            for e in uow.events()
            for kind, value in personal_values(e.payload)
            if kind is Personal.ADDRESS
        }
    assert "jose.perez@example.com" not in customers and HOME not in customers
    assert len([c for c in customers if c is not None and c.startswith("anon-")]) == 3


# --- the old call shapes still work, with a warning (removed in 1.0) ----------------------------

_OLD_SHAPES: dict[str, Callable[[Store, str], object]] = {
    "contact_summary(source, campaign, code)": lambda s, c: contact_summary(s, CAMPAIGN, c).code,
    "contact_summary(source=...)": lambda s, c: (
        contact_summary(source=s, campaign=CAMPAIGN, code=c).code
    ),
    "cases_tab(source, campaign, code)": lambda s, c: len(cases_tab(s, CAMPAIGN, c)),
    "messages_tab(source, campaign, code)": lambda s, c: len(messages_tab(s, CAMPAIGN, c)),
    "profile_tab(source, campaign, code)": lambda s, c: profile_tab(s, CAMPAIGN, c).code,
    "identities_tab(source, campaign, code)": lambda s, c: (
        identities_tab(s, CAMPAIGN, c).contact.code
    ),
    "search_identities(source, campaign, code, query)": lambda s, c: len(
        search_identities(s, CAMPAIGN, c, "987654321")
    ),
    "update_profile(store, campaign, code, actor=)": lambda s, c: (
        update_profile(s, CAMPAIGN, c, at=_at(30), actor="ana", notes="x").code
    ),
    "export_contact(source, campaign, code)": lambda s, c: export_contact(s, CAMPAIGN, c).code,
    "export_json(source, campaign, code)": lambda s, c: (
        from_json(export_json(s, CAMPAIGN, c), ContactExport).code
    ),
}
_OLD_RESULTS: dict[str, object] = {
    "cases_tab(source, campaign, code)": 1,
    "messages_tab(source, campaign, code)": 1,
    "search_identities(source, campaign, code, query)": 0,
}


@pytest.mark.parametrize("shape", sorted(_OLD_SHAPES))
def test_old_positional_shapes_of_the_identities_services_warn_and_still_work(
    store: Store, shape: str
) -> None:
    code = _world(store)["code"]
    with pytest.warns(DeprecationWarning, match="deprecated"):
        result = _OLD_SHAPES[shape](store, code)
    assert result == _OLD_RESULTS.get(shape, code)


def test_I5_I7_module_doctests() -> None:
    import doctest

    from ccdomain.rules import identities as rules

    result = doctest.testmod(rules)
    assert result.attempted > 0 and result.failed == 0
