"""Ticket routing, closing, typifications, events and views (DESIGN T1-T11, I2, I3, K6, M4, E2)."""

from __future__ import annotations

import contextlib
import datetime as dt
import doctest
import random
import threading
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ccdomain.rules.tickets
from ccdomain import checks
from ccdomain.errors import (
    BlockedIdentity,
    CcdomainError,
    InvalidChannel,
    InvalidPhoneNumber,
    InvalidTypification,
    RuleViolation,
    TicketClosed,
    UnknownCampaign,
    UnknownContact,
    UnknownLine,
    UnknownTicket,
)
from ccdomain.events import (
    ContactLinked,
    EventKind,
    InteractionRefused,
    LinkHow,
    TicketCancelled,
)
from ccdomain.memory import MemoryStore
from ccdomain.models import (
    Block,
    Campaign,
    Channel,
    ChannelKind,
    Comment,
    Contact,
    ContactChannel,
    Direction,
    Interaction,
    Line,
    Ticket,
    TicketStatus,
)
from ccdomain.rules.routing import Target, opened_ticket, ticket_queue
from ccdomain.rules.tickets import with_interaction, woken
from ccdomain.services.routing import route_checked
from ccdomain.testing import strategies as cst
from ccdomain.testing.fakes import RecordingChannel
from ccdomain.tickets import (
    RouteOutcome,
    TypificationTree,
    TypifyResult,
    agent_ticket_list,
    agent_tickets,
    assign_ticket,
    cancel_ticket,
    contact_history,
    contact_typifications,
    describe_interaction,
    history_rows,
    label_ticket,
    last_action,
    link_ticket,
    link_ticket_contact,
    normalize_customer,
    place_call,
    rebuild_tickets,
    rebuild_typifications,
    resolve_ticket,
    route_interaction,
    send_message,
    send_template,
    set_labels,
    typification_rows,
    typify_ticket,
)

LIMA = dt.timezone(dt.timedelta(hours=-5))
T0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=LIMA)
TREE = (
    ("Contactado", "Venta", "Contado"),
    ("Contactado", "Venta", "Crédito", "12 cuotas"),
    ("Contactado", "No interesado"),
    ("No contactado", "Buzón"),
)
PHONE = "+51987654321"


def t(minutes: float = 0, days: float = 0) -> dt.datetime:
    """A time ``minutes`` and ``days`` after T0."""
    return T0 + dt.timedelta(minutes=minutes, days=days)


def make_store() -> MemoryStore:
    """Three campaigns and four lines, put straight into a memory store."""
    store = MemoryStore()
    with store.unit_of_work() as uow:
        for cid in ("ventas", "soporte", "cobranzas"):
            uow.put_campaign(Campaign(id=cid, name=cid.title(), region="PE", typifications=TREE))
        uow.put_line(
            Line(
                id="wa-ventas",
                channel=Channel.WHATSAPP,
                address="+5117001234",
                alias="WhatsApp Ventas",
                campaign="ventas",
                queue="ventas-general",
            )
        )
        uow.put_line(
            Line(
                id="wa-soporte",
                channel=Channel.WHATSAPP,
                address="+5117001235",
                alias="WhatsApp Soporte",
                campaign="soporte",
                queue="soporte-n1",
            )
        )
        uow.put_line(
            Line(
                id="call-main",
                channel=Channel.CALL,
                address="+5117001236",
                alias="Central",
                campaign="ventas",
                queue="ventas-voz",
            )
        )
        uow.put_line(
            Line(
                id="mail",
                channel=Channel.EMAIL,
                address="ventas@example.com",
                alias="Correo",
                campaign="ventas",
                queue="correo",
            )
        )
        uow.commit()
    return store


@pytest.fixture
def store() -> MemoryStore:
    return make_store()


def inbound(store: MemoryStore, minutes: float = 0, **kw: Any) -> Any:
    fields: dict[str, Any] = {
        "at": t(minutes),
        "channel": Channel.WHATSAPP,
        "direction": Direction.INBOUND,
        "customer": "987654321",
        "line": "wa-ventas",
        "text": "Hola",
    }
    fields.update(kw)
    return route_interaction(store, **fields)


def outbound(store: MemoryStore, campaign: str, minutes: float = 0, **kw: Any) -> Any:
    fields: dict[str, Any] = {
        "at": t(minutes),
        "channel": Channel.CALL,
        "direction": Direction.OUTBOUND,
        "customer": "987 654 321",
        "campaign": campaign,
        "agent": "ana",
        "status": "answered",
        "duration_s": 63,
    }
    fields.update(kw)
    return route_interaction(store, **fields)


def snapshot(store: MemoryStore) -> tuple[Any, ...]:
    """Everything a routing service could change, for E2 comparisons."""
    with store.unit_of_work() as uow:
        tickets = list(uow.list_tickets())
        return (
            tickets,
            {n.number: list(uow.interactions(n.number)) for n in tickets},
            list(uow.typifications()),
            list(uow.events()),
            list(uow.list_contacts()),
            list(uow.list_campaigns()),
            list(uow.list_lines()),
            {n.number: list(uow.comments(n.number)) for n in tickets},
        )


def events_of(store: MemoryStore) -> list[Any]:
    with store.unit_of_work() as uow:
        return list(uow.events())


def tickets_of(store: MemoryStore) -> list[Any]:
    with store.unit_of_work() as uow:
        return list(uow.list_tickets())


def add_contact(
    store: MemoryStore, campaign: str, code: str, phone: str = PHONE, **kw: Any
) -> None:
    with store.unit_of_work() as uow:
        uow.add_contact(
            Contact(
                campaign=campaign,
                code=code,
                channels=(ContactChannel(kind=ChannelKind.PHONE, value=phone),),
                **kw,
            )
        )
        uow.commit()


# --- the worked example of seed 003 ------------------------------------------------------


def test_T1_T3_T4_T5_the_ventas_soporte_worked_example(store: MemoryStore) -> None:
    """Seed 003: #1234 in Ventas, #5678 in Soporte, #7890 after the close."""
    first = inbound(store, 0, text="Hola, quiero información", external_id="wamid.1")
    assert first.outcome is RouteOutcome.OPENED
    n1234 = first.ticket.number
    assert first.ticket.campaign == "ventas"
    assert first.ticket.customer == PHONE

    # The customer keeps writing, days later: still #1234 (T1).
    later = inbound(store, 0, text="¿Siguen ahí?", external_id="wamid.2", at=t(days=3))
    assert later.outcome is RouteOutcome.JOINED
    assert later.ticket.number == n1234
    assert later.ticket.interactions == 2

    # Soporte contacts the same number outbound: a different ticket (T4).
    soporte = outbound(store, "soporte", at=t(days=3, minutes=5), external_id="call-77")
    n5678 = soporte.ticket.number
    assert soporte.outcome is RouteOutcome.OPENED
    assert soporte.ticket.campaign == "soporte"
    assert n5678 != n1234 and n5678 > n1234  # T5

    # The customer answers on the Soporte line: it joins #5678, not #1234.
    answer = inbound(store, line="wa-soporte", at=t(days=3, minutes=6), external_id="wamid.3")
    assert answer.ticket.number == n5678

    # Ventas typifies #1234 (T3).
    typified = typify_ticket(
        store,
        number=n1234,
        agent="ana",
        at=t(days=3, minutes=10),
        path=["Contactado", "Venta", "Contado"],
    )
    closed, record = typified.ticket, typified.typification
    assert closed.status is TicketStatus.TYPIFIED
    assert record.ticket == n1234

    # The customer writes to Ventas again: a new ticket with a new, larger number (#7890).
    again = inbound(store, at=t(days=4), text="Una consulta más", external_id="wamid.4")
    n7890 = again.ticket.number
    assert again.outcome is RouteOutcome.OPENED
    assert n7890 not in (n1234, n5678) and n7890 > n5678

    with store.unit_of_work() as uow:
        assert uow.get_ticket(n1234).status is TicketStatus.TYPIFIED  # type: ignore[union-attr]
        assert uow.get_ticket(n5678).is_open  # type: ignore[union-attr]
        assert [x.number for x in uow.open_tickets_for_customer(PHONE)] == [n5678, n7890]
        assert len(uow.interactions(n1234)) == 2


def test_T1_joins_whatever_channel_however_late(store: MemoryStore) -> None:
    a = inbound(store, 0)
    b = outbound(store, "ventas", 30)
    c = route_interaction(
        store,
        at=t(days=45),
        channel="sms",
        direction="inbound",
        customer="+51 987-654-321",
        line="wa-ventas",
        text="sigo aquí",
    )
    assert a.ticket.number == b.ticket.number == c.ticket.number
    assert c.ticket.channels == (Channel.WHATSAPP, Channel.CALL, Channel.SMS)
    assert c.ticket.interactions == 3


# --- T2 under concurrency ----------------------------------------------------------------


def test_T2_threaded_routing_keeps_one_open_ticket_per_key() -> None:
    store = make_store()
    customers = [f"9{n:08d}" for n in range(11000000, 11000050)]
    campaigns = ["ventas", "soporte", "cobranzas"]
    errors: list[BaseException] = []
    per_thread = 250

    def work(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            for i in range(per_thread):
                customer = rnd.choice(customers)
                if rnd.random() < 0.5:
                    route_interaction(
                        store,
                        at=t(i),
                        channel=Channel.WHATSAPP,
                        direction=Direction.INBOUND,
                        customer=customer,
                        line="wa-ventas",
                        external_id=f"t{seed}-{i}",
                        text="hola",
                    )
                else:
                    route_interaction(
                        store,
                        at=t(i),
                        channel=Channel.CALL,
                        direction=Direction.OUTBOUND,
                        customer=customer,
                        campaign=rnd.choice(campaigns),
                        external_id=f"t{seed}-{i}",
                        agent=f"agent{seed}",
                    )
                if rnd.random() < 0.05:
                    with contextlib.suppress(UnknownTicket, RuleViolation):
                        resolve_ticket(
                            store,
                            campaign=rnd.choice(campaigns),
                            customer=customer,
                            agent="sup",
                            at=t(i + 0.5),
                        )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    with store.unit_of_work() as uow:
        tickets = list(uow.list_tickets())
        open_keys = [(x.campaign, x.customer) for x in tickets if x.is_open]
        assert len(open_keys) == len(set(open_keys))
        recorded = [i for x in tickets for i in uow.interactions(x.number)]
        assert len(recorded) == 8 * per_thread
        assert len({i.external_id for i in recorded}) == 8 * per_thread
        assert sum(x.interactions for x in tickets) == 8 * per_thread
        numbers = [x.number for x in tickets]
        assert len(set(numbers)) == len(numbers)
        assert rebuild_tickets(uow.events()) == tickets


# --- T3 closing --------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["resolve", "typify", "cancel"])
def test_T3_closed_ticket_never_reopens(store: MemoryStore, how: str) -> None:
    first = inbound(store, 0).ticket
    if how == "resolve":
        closed = resolve_ticket(
            store, campaign="ventas", customer="987654321", agent="ana", at=t(5)
        )
        assert closed.status is TicketStatus.RESOLVED
    elif how == "typify":
        closed = typify_ticket(
            store, campaign="ventas", customer="987654321", agent="ana", at=t(5),
            path=("No contactado", "Buzón"),
        ).ticket  # fmt: skip
    else:
        closed = cancel_ticket(store, number=first.number, agent="sup", at=t(5))
        assert closed.status is TicketStatus.CANCELLED
    assert closed.closed_at == t(5)
    assert closed.closed_by == ("sup" if how == "cancel" else "ana")
    nxt = inbound(store, 10)
    assert nxt.outcome is RouteOutcome.OPENED
    assert nxt.ticket.number > first.number
    with store.unit_of_work() as uow:
        assert not uow.get_ticket(first.number).is_open  # type: ignore[union-attr]


def test_T3_acting_on_a_closed_ticket_raises_TicketClosed(store: MemoryStore) -> None:
    number = inbound(store, 0).ticket.number
    resolve_ticket(store, number=number, agent="ana", at=t(1))
    before = snapshot(store)
    with pytest.raises(TicketClosed, match=str(number)):
        resolve_ticket(store, number=number, agent="ana", at=t(2))
    with pytest.raises(TicketClosed):
        typify_ticket(store, number=number, agent="ana", at=t(2), path=TREE[0])
    with pytest.raises(TicketClosed):
        cancel_ticket(store, number=number, agent="sup", at=t(2))
    with pytest.raises(TicketClosed):
        assign_ticket(store, number=number, assignee="bea", agent="sup", at=t(2))
    with pytest.raises(UnknownTicket, match="ventas"):
        resolve_ticket(store, campaign="ventas", customer="987654321", agent="ana", at=t(2))
    assert snapshot(store) == before


def test_T3_unknown_ticket_named(store: MemoryStore) -> None:
    with pytest.raises(UnknownTicket, match="4242"):
        resolve_ticket(store, number=4242, agent="ana", at=t())
    with pytest.raises(UnknownTicket, match="soporte"):
        resolve_ticket(store, campaign="soporte", customer="987654321", agent="ana", at=t())
    with pytest.raises(UnknownCampaign, match="nope"):
        resolve_ticket(store, campaign="nope", customer="987654321", agent="ana", at=t())


# --- T4, T5 -------------------------------------------------------------------------------


def test_T4_one_open_ticket_in_each_campaign(store: MemoryStore) -> None:
    numbers = {c: outbound(store, c, i).ticket.number for i, c in enumerate(TREE_CAMPAIGNS)}
    assert len(set(numbers.values())) == 3
    resolve_ticket(store, campaign="soporte", customer=PHONE, agent="ana", at=t(10))
    with store.unit_of_work() as uow:
        still = {x.campaign for x in uow.open_tickets_for_customer(PHONE)}
    assert still == {"ventas", "cobranzas"}


TREE_CAMPAIGNS = ("ventas", "soporte", "cobranzas")


def test_T5_numbers_unique_increasing_never_reused(store: MemoryStore) -> None:
    seen: list[int] = []
    for i in range(12):
        result = outbound(store, TREE_CAMPAIGNS[i % 3], i, customer=f"9{i:08d}")
        seen.append(result.ticket.number)
        if i % 2:
            resolve_ticket(store, number=result.ticket.number, agent="ana", at=t(i + 0.5))
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    again = outbound(store, "soporte", 20, customer="900000001")
    assert again.outcome is RouteOutcome.OPENED and again.ticket.number > max(seen)


# --- T6 lines -----------------------------------------------------------------------------


def test_T6_outbound_must_carry_its_campaign(store: MemoryStore) -> None:
    before = snapshot(store)
    with pytest.raises(RuleViolation, match="campaign"):
        outbound(store, None)  # type: ignore[arg-type]
    assert snapshot(store) == before


def test_T6_inbound_goes_to_the_line_default_campaign(store: MemoryStore) -> None:
    result = inbound(store, line="call-main", channel="call", status="answered", duration_s=10)
    assert result.ticket.campaign == "ventas"
    assert result.ticket.queue == "ventas-voz"
    assert result.ticket.alias == "Central"


def test_T6_inbound_goes_to_the_campaign_with_an_open_ticket_on_that_line(
    store: MemoryStore,
) -> None:
    # Soporte writes from the Ventas WhatsApp line (the DESIGN example "call-77").
    sop = outbound(store, "soporte", 0, channel="whatsapp", line="wa-ventas", template="saludo")
    # X4: a Soporte ticket on the Ventas line does not take Ventas' queue (it did).
    assert sop.ticket.line == "wa-ventas" and sop.ticket.queue == ""
    answer = inbound(store, 1, text="Gracias")
    assert answer.ticket.number == sop.ticket.number
    assert answer.ticket.campaign == "soporte"
    # Once Soporte closes, the line's default campaign takes the next message.
    resolve_ticket(store, number=sop.ticket.number, agent="ana", at=t(2))
    nxt = inbound(store, 3)
    assert nxt.ticket.campaign == "ventas" and nxt.outcome is RouteOutcome.OPENED


def test_T6_most_recently_active_campaign_wins(store: MemoryStore) -> None:
    a = outbound(store, "soporte", 0, channel="whatsapp", line="wa-ventas", template="saludo")
    b = outbound(store, "cobranzas", 1, channel="whatsapp", line="wa-ventas", template="aviso")
    assert inbound(store, 2).ticket.number == b.ticket.number
    outbound(store, "soporte", 3, channel="whatsapp", line="wa-ventas", text="soporte otra vez")
    assert inbound(store, 4).ticket.number == a.ticket.number


def test_T6_an_open_ticket_on_another_line_does_not_capture(store: MemoryStore) -> None:
    sop = outbound(store, "soporte", 0, channel="whatsapp", line="wa-soporte", template="saludo")
    result = inbound(store, 1)
    assert result.ticket.campaign == "ventas"
    assert result.ticket.number != sop.ticket.number


def test_T6_inbound_needs_a_line_and_the_line_must_exist(store: MemoryStore) -> None:
    before = snapshot(store)
    with pytest.raises(RuleViolation, match="line"):
        inbound(store, line=None)
    with pytest.raises(UnknownLine, match="wa-nada"):
        inbound(store, line="wa-nada")
    assert snapshot(store) == before


def test_T6_inbound_naming_a_campaign_goes_there(store: MemoryStore) -> None:
    """T12 (decision): the host's explicit campaign wins over line routing."""
    result = inbound(store, campaign="cobranzas")
    assert result.ticket.campaign == "cobranzas"
    assert result.ticket.line == "wa-ventas"


# --- T7 ticket fields ---------------------------------------------------------------------


def test_T7_ticket_records_what_the_workspace_shows(store: MemoryStore) -> None:
    a = inbound(store, 0, text="Hola")
    assert a.ticket.origin is Direction.INBOUND
    assert (a.ticket.queue, a.ticket.line, a.ticket.alias) == (
        "ventas-general",
        "wa-ventas",
        "WhatsApp Ventas",
    )
    assert a.ticket.contact is None
    b = outbound(
        store, "ventas", 5, agent="bea", status="answered", duration_s=95, line="call-main"
    )
    assert b.ticket.origin is Direction.INBOUND  # the first interaction decides
    assert b.ticket.channels == (Channel.WHATSAPP, Channel.CALL)
    assert last_action(b.ticket) == "answered 95 s"
    assert b.ticket.last_agent == "bea" and b.ticket.last_channel is Channel.CALL
    assert b.ticket.last_activity_at == t(5)
    c = inbound(store, 6, text="Gracias por llamar")
    assert last_action(c.ticket) == "Gracias por llamar"
    assert c.ticket.last_agent == "bea"  # an inbound message has no agent
    assert c.ticket.interactions == 3
    labelled = label_ticket(
        store, number=c.ticket.number, labels=["vip", "urgente", "vip"], agent="bea", at=t(7)
    )
    assert labelled.labels == ("vip", "urgente")
    assigned = assign_ticket(store, number=c.ticket.number, assignee="carla", agent="sup", at=t(8))
    assert assigned.assignee == "carla"
    out = outbound(store, "soporte", 9)
    assert out.ticket.origin is Direction.OUTBOUND and out.ticket.queue == ""
    assert out.ticket.line is None


def test_T7_last_action_follows_event_time_not_arrival(store: MemoryStore) -> None:
    """T15 (decision): the last_* fields follow the latest interaction in event time."""
    inbound(store, 10, text="segundo")
    old = inbound(store, 5, text="primero")
    assert old.outcome is RouteOutcome.JOINED
    assert last_action(old.ticket) == "segundo" and old.ticket.last_activity_at == t(10)


def test_T7_describe_interaction() -> None:
    base: dict[str, Any] = {"at": T0, "direction": Direction.OUTBOUND, "customer": PHONE}
    assert describe_interaction(Interaction(channel=Channel.CALL, **base)) == "call"
    assert (
        describe_interaction(Interaction(channel=Channel.CALL, status="no answer", **base))
        == "no answer"
    )
    assert describe_interaction(Interaction(channel=Channel.SMS, text="hola", **base)) == "hola"


# --- T8 typifications --------------------------------------------------------------------


def test_T8_doctests_of_the_ticket_rules() -> None:
    assert doctest.testmod(ccdomain.rules.tickets).failed == 0


def test_T8_tree_accepts_full_paths_only() -> None:
    tree = TypificationTree.from_paths(
        [["Contactado", "Venta", "Contado"], ["No contactado", "Buzón"]]
    )
    assert tree.validate(["Contactado", "Venta", "Contado"]) == ("Contactado", "Venta", "Contado")
    assert tree.validate((" No contactado ", "Buzón")) == ("No contactado", "Buzón")
    assert tree.children() == ("Contactado", "No contactado")
    with pytest.raises(InvalidTypification, match="stops early"):
        tree.validate(["Contactado"])
    with pytest.raises(InvalidTypification, match="Crédito"):
        tree.validate(["Contactado", "Venta", "Crédito"])
    with pytest.raises(InvalidTypification):
        tree.validate("Contactado")
    assert not tree.is_valid(["Contactado", "Venta"])
    with pytest.raises(InvalidTypification, match="at most 4"):
        TypificationTree.from_paths([["a", "b", "c", "d", "e"]])
    with pytest.raises(InvalidTypification):
        TypificationTree.from_paths([["a", " "]])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, max_size=4).map(tuple),
        min_size=1,
        max_size=8,
    ),
    st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, max_size=5).map(tuple),
)
def test_T8_tree_validity_is_membership_in_declared_paths(
    paths: list[tuple[str, ...]], probe: tuple[str, ...]
) -> None:
    tree = TypificationTree.from_paths(paths)
    assert tree.is_valid(probe) == (probe in paths)
    for path in paths:
        assert tree.validate(path) == path
        for depth in range(len(path)):
            assert path[depth] in tree.children(path[:depth])


def test_T8_typify_records_the_typification(store: MemoryStore) -> None:
    inbound(store, 0, text="Hola")
    outbound(store, "ventas", 2, line="call-main", agent="ana")
    result = typify_ticket(
        store,
        campaign="ventas",
        customer="987 654 321",
        agent="ana",
        at=t(5),
        path=["Contactado", "Venta", "Crédito", "12 cuotas"],
        comment="pagará el lunes",
    )
    assert isinstance(result, TypifyResult)
    ticket, record = result.ticket, result.typification
    assert ticket.status is TicketStatus.TYPIFIED and ticket.closed_by == "ana"
    assert (record.at, record.channel, record.line, record.customer, record.agent) == (
        t(5),
        Channel.CALL,
        "wa-ventas",
        PHONE,
        "ana",
    )
    assert record.path == ("Contactado", "Venta", "Crédito", "12 cuotas")
    assert record.comment == "pagará el lunes"
    with store.unit_of_work() as uow:
        assert list(uow.typifications(ticket.number)) == [record]


@pytest.mark.parametrize(
    "path",
    [["Contactado"], ["Contactado", "Venta", "Crédito"], ["Otro"], [], "Contactado", [1, 2]],
)
def test_T8_path_not_in_tree_refused_without_change(store: MemoryStore, path: Any) -> None:
    number = inbound(store, 0).ticket.number
    before = snapshot(store)
    with pytest.raises(InvalidTypification):
        typify_ticket(store, number=number, agent="ana", at=t(1), path=path)
    assert snapshot(store) == before


# --- T9 idempotency -------------------------------------------------------------------------


def test_T9_repeated_external_id_changes_nothing(store: MemoryStore) -> None:
    first = inbound(store, 0, external_id="wamid.001")
    before = snapshot(store)
    again = inbound(store, 0, external_id="wamid.001")
    assert again.outcome is RouteOutcome.DUPLICATE
    assert again.ticket == first.ticket and again.interaction == first.interaction
    # Even a redelivery that looks different, or comes after the close, changes nothing.
    assert (
        inbound(store, 99, external_id="wamid.001", text="otro").outcome is RouteOutcome.DUPLICATE
    )
    assert snapshot(store) == before
    resolve_ticket(store, number=first.ticket.number, agent="ana", at=t(1))
    late = inbound(store, 50, external_id="wamid.001")
    assert late.outcome is RouteOutcome.DUPLICATE
    assert late.ticket.status is TicketStatus.RESOLVED


def test_T9_I3_a_redelivery_after_its_customer_is_blocked_is_a_duplicate(
    store: MemoryStore,
) -> None:
    # Routing reads the key's block before the T9 lookup (a store may send both in one
    # round trip): a recorded message still changes nothing, and refuses nothing.
    first = inbound(store, 0, external_id="wamid.blk")
    block(store)
    before = snapshot(store)
    again = inbound(store, 5, external_id="wamid.blk")
    assert again.outcome is RouteOutcome.DUPLICATE
    assert again.interaction == first.interaction
    assert snapshot(store) == before
    with pytest.raises(BlockedIdentity):
        inbound(store, 6, external_id="wamid.new")


# --- T10 late delivery -----------------------------------------------------------------------


def test_T10_late_delivery_goes_to_the_closed_ticket_which_stays_closed(
    store: MemoryStore,
) -> None:
    first = inbound(store, 0, text="Hola")
    resolve_ticket(store, number=first.ticket.number, agent="ana", at=t(10))
    late = inbound(store, 9, text="antes del cierre", external_id="late-1")
    assert late.outcome is RouteOutcome.LATE
    assert late.ticket.number == first.ticket.number
    assert late.ticket.status is TicketStatus.RESOLVED
    assert late.ticket.interactions == 2
    assert late.ticket.last_action == "antes del cierre"
    with store.unit_of_work() as uow:
        assert uow.get_open_ticket("ventas", PHONE) is None
    # At the very close time it is still late; after it, a new ticket opens.
    assert inbound(store, 10).outcome is RouteOutcome.LATE
    after = inbound(store, 11)
    assert after.outcome is RouteOutcome.OPENED and after.ticket.number > first.ticket.number
    # With a new ticket open, a message from the first ticket's time still goes there.
    assert inbound(store, 5).ticket.number == first.ticket.number


def test_T10_late_delivery_on_a_line_follows_the_ticket_open_then(store: MemoryStore) -> None:
    """T13 (decision): line routing looks at the tickets open at the message's time."""
    sop = outbound(store, "soporte", 0, channel="whatsapp", line="wa-ventas", template="saludo")
    resolve_ticket(store, number=sop.ticket.number, agent="ana", at=t(10))
    late = inbound(store, 5, text="respuesta tardía")
    assert late.outcome is RouteOutcome.LATE and late.ticket.number == sop.ticket.number


def test_T10_before_any_ticket_opens_a_ticket(store: MemoryStore) -> None:
    first = inbound(store, 10)
    resolve_ticket(store, number=first.ticket.number, agent="ana", at=t(20))
    earlier = inbound(store, 1)
    assert earlier.outcome is RouteOutcome.OPENED


def test_T10_close_before_open_refused(store: MemoryStore) -> None:
    number = inbound(store, 10).ticket.number
    with pytest.raises(RuleViolation, match="before it opened"):
        resolve_ticket(store, number=number, agent="ana", at=t(5))


# --- T11 events ---------------------------------------------------------------------------


def test_T11_every_change_is_an_event_and_reports_rebuild(store: MemoryStore) -> None:
    add_contact(store, "ventas", "12345678", first_names="José")
    a = inbound(store, 0, external_id="m1")
    outbound(store, "soporte", 1, external_id="c1")
    label_ticket(store, number=a.ticket.number, labels=["vip"], agent="ana", at=t(2))
    assign_ticket(store, number=a.ticket.number, assignee="ana", agent="sup", at=t(2))
    typify_ticket(store, number=a.ticket.number, agent="ana", at=t(3), path=TREE[0], comment="ok")
    inbound(store, 2.5, external_id="m2")  # late
    inbound(store, 4, external_id="m3")  # new ticket
    resolve_ticket(store, campaign="soporte", customer=PHONE, agent="bea", at=t(5))
    kinds = [e.kind for e in events_of(store)]
    for kind in (
        EventKind.TICKET_OPENED,
        EventKind.INTERACTION_ADDED,
        EventKind.CONTACT_LINKED,
        EventKind.TICKET_LABELLED,
        EventKind.TICKET_ASSIGNED,
        EventKind.TICKET_TYPIFIED,
        EventKind.TICKET_RESOLVED,
    ):
        assert kind in kinds
    for event in events_of(store):
        assert event.at.utcoffset() is not None
    assert [e.actor for e in events_of(store) if e.kind is EventKind.TICKET_RESOLVED] == ["bea"]
    with store.unit_of_work() as uow:
        assert rebuild_tickets(uow.events()) == list(uow.list_tickets())
        assert rebuild_typifications(uow.events()) == list(uow.typifications())


# --- E2 bad input changes nothing ----------------------------------------------------------


BAD_ROUTES: list[tuple[dict[str, Any], type[CcdomainError], str]] = [
    ({"campaign": "nope", "direction": "outbound"}, UnknownCampaign, "nope"),
    ({"line": "nada"}, UnknownLine, "nada"),
    ({"customer": ""}, InvalidPhoneNumber, "''"),
    ({"customer": None}, InvalidPhoneNumber, "None"),
    ({"customer": "98765"}, InvalidPhoneNumber, "98765"),
    ({"customer": 987654321}, InvalidPhoneNumber, "987654321"),
    ({"customer": "x" * 10000}, InvalidPhoneNumber, "xxx"),
    ({"at": dt.datetime(2026, 11, 20, 10)}, RuleViolation, "2026"),
    ({"at": "2026-11-20T10:00:00-05:00"}, RuleViolation, "2026"),
    ({"channel": "fax"}, InvalidChannel, "fax"),
    ({"channel": None}, InvalidChannel, "None"),
    ({"direction": "sideways"}, RuleViolation, "sideways"),
    ({"external_id": 17}, RuleViolation, "17"),
    ({"external_id": "a\x00b"}, RuleViolation, "external_id"),
    ({"agent": "\U0001f600" * 300}, RuleViolation, "agent"),
    ({"text": 12}, RuleViolation, "12"),
    ({"duration_s": -1}, RuleViolation, "-1"),
    ({"duration_s": True}, RuleViolation, "True"),
    ({"channel": "email", "customer": "no-at-sign", "line": "mail"}, RuleViolation, "no-at"),
    ({"channel": "messenger", "customer": "   "}, RuleViolation, "messenger"),
]


@pytest.mark.parametrize(("change", "error", "named"), BAD_ROUTES)
def test_E2_bad_interaction_raises_and_changes_nothing(
    store: MemoryStore, change: dict[str, Any], error: type[CcdomainError], named: str
) -> None:
    inbound(store, 0)
    before = snapshot(store)
    with pytest.raises(error) as info:
        inbound(store, 1, **change)
    assert named in str(info.value)
    assert snapshot(store) == before


def test_E2_line_with_undeclared_default_campaign(store: MemoryStore) -> None:
    with store.unit_of_work() as uow:
        uow.put_line(
            Line(id="orphan", channel=Channel.WHATSAPP, address="+5117009999", campaign="x")
        )
        uow.commit()
    before = snapshot(store)
    with pytest.raises(UnknownCampaign, match="'x'"):
        inbound(store, line="orphan")
    assert snapshot(store) == before


@settings(max_examples=80, deadline=None)
@given(
    customer=st.one_of(st.none(), st.integers(), st.text(max_size=30), st.just("987654321")),
    channel=st.one_of(st.sampled_from(list(Channel)), st.text(max_size=8), st.none()),
    direction=st.one_of(st.sampled_from(list(Direction)), st.text(max_size=8)),
    line=st.one_of(st.none(), st.sampled_from(["wa-ventas", "mail", "zz"]), st.integers()),
    campaign=st.one_of(st.none(), st.sampled_from(["ventas", "zz"]), st.integers()),
    text=st.one_of(st.none(), st.text(max_size=20), st.integers()),
)
def test_E1_junk_raises_only_ccdomain_errors(**fields: Any) -> None:
    store = make_store()
    try:
        route_interaction(store, at=T0, **fields)
    except CcdomainError:
        assert tickets_of(store) == []


# --- I2, I3 ---------------------------------------------------------------------------------


def test_I2_cancel_removes_the_case_comments(store: MemoryStore) -> None:
    number = inbound(store, 0).ticket.number
    with store.unit_of_work() as uow:
        uow.add_comment(Comment(ticket=number, at=t(1), agent="ana", text="cliente molesto"))
        uow.commit()
    cancel_ticket(store, number=number, agent="sup", at=t(2))
    with store.unit_of_work() as uow:
        assert list(uow.comments(number)) == []
    cancelled = [e for e in events_of(store) if e.kind is EventKind.TICKET_CANCELLED]
    assert cancelled[0].payload == TicketCancelled(comments_removed=1)


def block(store: MemoryStore, campaign: str = "ventas") -> None:
    with store.unit_of_work() as uow:
        uow.put_block(Block(campaign=campaign, customer=PHONE, at=T0, agent="sup"))
        uow.commit()


def test_I3_blocked_identity_refused_and_recorded(store: MemoryStore) -> None:
    block(store)
    with pytest.raises(BlockedIdentity, match=r"\+51987654321"):
        inbound(store, 1, external_id="wamid.9", text="hola")
    assert tickets_of(store) == []
    refused = [e for e in events_of(store) if e.kind is EventKind.INTERACTION_REFUSED]
    assert len(refused) == 1
    payload = refused[0].payload
    assert isinstance(payload, InteractionRefused) and refused[0].campaign == "ventas"
    assert (payload.customer, payload.external_id, payload.text) == (PHONE, "wamid.9", "hola")
    # Other campaigns are not blocked.
    assert outbound(store, "soporte", 2).outcome is RouteOutcome.OPENED


def test_I3_outbound_to_blocked_identity_refused_before_the_channel(store: MemoryStore) -> None:
    block(store)
    channel = RecordingChannel()
    with pytest.raises(BlockedIdentity):
        send_message(
            store, channel_port=channel, line="wa-ventas", to="987654321", text="hola",
            campaign="ventas", agent="ana", at=t(1),
        )  # fmt: skip
    with pytest.raises(BlockedIdentity):
        place_call(
            store, channel_port=channel, line="call-main", to="987654321", agent="ana",
            campaign="ventas", at=t(1),
        )  # fmt: skip
    assert channel.attempts == 0 and channel.sent == []
    assert tickets_of(store) == []
    assert len([e for e in events_of(store) if e.kind is EventKind.INTERACTION_REFUSED]) == 2


# --- K6 and the channel services -------------------------------------------------------------


@pytest.mark.parametrize(
    ("campaign", "queue"), [(None, "q"), ("ventas", None), ("", "q"), ("ventas", " ")]
)
def test_K6_template_needs_campaign_and_queue(
    store: MemoryStore, campaign: str | None, queue: str | None
) -> None:
    channel = RecordingChannel()
    before = snapshot(store)
    with pytest.raises(RuleViolation, match="campaign and a queue"):
        send_template(
            store, channel_port=channel, line="wa-ventas", to="987654321", template="bienvenida",
            params=["José"], campaign=campaign, queue=queue, agent="ana", at=t(),
        )  # fmt: skip
    assert channel.attempts == 0
    assert snapshot(store) == before


def test_K6_template_sent_and_routed_with_its_queue(store: MemoryStore) -> None:
    channel = RecordingChannel()
    result = send_template(
        store, channel_port=channel, line="wa-ventas", to="987 654 321", template="bienvenida",
        params=["José", "20%"], campaign="soporte", queue="soporte-vip", agent="ana", at=t(),
    )  # fmt: skip
    assert channel.sent[0].kind == "template"
    assert channel.sent[0].to == PHONE and channel.sent[0].queue == "soporte-vip"
    assert result.interaction.external_id == "fake-1"
    assert result.ticket.campaign == "soporte" and result.ticket.queue == "soporte-vip"
    assert result.ticket.origin is Direction.OUTBOUND
    assert "bienvenida" in result.ticket.last_action


def test_K6_send_message_and_place_call_route_outbound(store: MemoryStore) -> None:
    channel = RecordingChannel()
    # The customer wrote first (on Soporte's behalf, T12): W1's window is open on the line.
    inbound(store, -1, campaign="soporte")
    msg = send_message(
        store, channel_port=channel, line="wa-ventas", to="987654321", text="Hola José",
        campaign="ventas", agent="ana", at=t(),
    )  # fmt: skip
    call = place_call(
        store, channel_port=channel, line="call-main", to="+51 987 654 321", agent="ana",
        campaign="ventas", at=t(1),
    )  # fmt: skip
    assert msg.outcome is RouteOutcome.OPENED and call.outcome is RouteOutcome.JOINED
    assert [r.provider_id for r in channel.sent] == ["fake-1", "fake-2"]
    assert call.interaction.external_id == "fake-2" and call.ticket.last_action == "placed"
    mail = send_message(
        store, channel_port=channel, line="mail", to="Jose@Example.com", text="Adjunto",
        campaign="ventas", agent="ana", at=t(2),
    )  # fmt: skip
    assert mail.ticket.customer == "jose@example.com"


def test_K6_failing_channel_records_nothing(store: MemoryStore) -> None:
    channel = RecordingChannel(failing=True)
    inbound(store, -1, campaign="soporte")  # W1: the window is open
    before = snapshot(store)
    with pytest.raises(RuleViolation, match="fake channel told to fail"):
        send_message(
            store, channel_port=channel, line="wa-ventas", to="987654321", text="hola",
            campaign="ventas", agent="ana", at=t(),
        )  # fmt: skip
    assert snapshot(store) == before
    assert channel.attempts == 1 and channel.sent == []


@pytest.mark.parametrize(
    ("kw", "error"),
    [
        ({"to": "98765"}, InvalidPhoneNumber),
        ({"line": "nada"}, UnknownLine),
        ({"line": "call-main"}, RuleViolation),
        ({"campaign": "nope"}, UnknownCampaign),
        ({"text": ""}, RuleViolation),
        ({"agent": None}, RuleViolation),
    ],
)
def test_K6_send_message_checks_rules_before_the_channel(
    store: MemoryStore, kw: dict[str, Any], error: type[CcdomainError]
) -> None:
    channel = RecordingChannel()
    fields: dict[str, Any] = {
        "line": "wa-ventas",
        "to": "987654321",
        "text": "hola",
        "campaign": "ventas",
        "agent": "ana",
        "at": t(),
    }
    fields.update(kw)
    before = snapshot(store)
    with pytest.raises(error):
        send_message(store, channel_port=channel, **fields)
    assert channel.attempts == 0 and snapshot(store) == before


# --- M4 linking ------------------------------------------------------------------------------


def test_M4_ticket_links_the_single_exact_contact_of_its_campaign(store: MemoryStore) -> None:
    add_contact(store, "ventas", "12345678", first_names="José", last_names="Pérez")
    add_contact(store, "soporte", "S-1")
    add_contact(store, "cobranzas", "C-1")
    add_contact(store, "cobranzas", "C-2")
    ventas = inbound(store, 0)
    assert ventas.ticket.contact == "12345678"
    assert outbound(store, "soporte", 1).ticket.contact == "S-1"
    # Two exact candidates in cobranzas: ambiguous, stays unlinked.
    assert outbound(store, "cobranzas", 2).ticket.contact is None
    linked = [e for e in events_of(store) if e.kind is EventKind.CONTACT_LINKED]
    assert [(e.ticket, e.contact, e.payload) for e in linked] == [
        (ventas.ticket.number, "12345678", ContactLinked(how=LinkHow.AUTO, customer=PHONE)),
        (ventas.ticket.number + 1, "S-1", ContactLinked(how=LinkHow.AUTO, customer=PHONE)),
    ]


def test_M4_link_happens_when_the_contact_appears_later(store: MemoryStore) -> None:
    first = inbound(store, 0)
    assert first.ticket.contact is None
    add_contact(store, "ventas", "12345678")
    assert inbound(store, 1).ticket.contact == "12345678"


def test_M4_manual_link_follows_merge_tombstones(store: MemoryStore) -> None:
    add_contact(store, "cobranzas", "C-1")
    add_contact(store, "cobranzas", "C-2")
    add_contact(store, "cobranzas", "OLD", phone="+51987000111", merged_into="C-2")
    number = outbound(store, "cobranzas", 0).ticket.number
    linked = link_ticket(
        store, number=number, campaign="cobranzas", contact="OLD", agent="ana", at=t(1)
    )
    assert linked.contact == "C-2"
    with pytest.raises(UnknownContact, match="ZZ"):
        link_ticket(store, number=number, campaign="cobranzas", contact="ZZ", agent="ana", at=t(1))
    with pytest.raises(RuleViolation, match="cobranzas"):
        link_ticket(store, number=number, campaign="ventas", contact="C-1", agent="ana", at=t(1))
    by_customer = link_ticket(
        store, campaign="cobranzas", customer="987654321", contact="C-1", agent="ana", at=t(2)
    )
    assert by_customer.number == number and by_customer.contact == "C-1"
    with store.unit_of_work() as uow:
        assert rebuild_tickets(uow.events()) == list(uow.list_tickets())


# --- views (seed 000 Tickets tab, seed 001 list) ------------------------------------------------


def test_T8_views_typification_and_history_rows_newest_first(store: MemoryStore) -> None:
    add_contact(store, "ventas", "12345678", first_names="José", last_names="Pérez")
    first = inbound(store, 0, text="Hola")
    outbound(store, "ventas", 1, line="call-main", agent="ana", duration_s=95)
    typify_ticket(
        store, number=first.ticket.number, agent="ana", at=t(2),
        path=TREE[1], comment="cuotas",
    )  # fmt: skip
    second = inbound(store, 60, text="Otra vez")
    with store.unit_of_work() as uow:
        uow.add_comment(Comment(ticket=second.ticket.number, at=t(61), agent="bea", text="ojo"))
        uow.commit()
    typify_ticket(store, number=second.ticket.number, agent="bea", at=t(62), path=TREE[3])
    with store.unit_of_work() as uow:
        rows = contact_typifications(uow, campaign="ventas", code="12345678")
        history = contact_history(uow, campaign="ventas", code="12345678")
        with pytest.raises(UnknownContact):
            contact_history(uow, campaign="ventas", code="nadie")
    assert rows == contact_typifications(store, campaign="ventas", code="12345678")
    assert history == contact_history(store, campaign="ventas", code="12345678")
    assert [r.ticket for r in rows] == [second.ticket.number, first.ticket.number]
    old = rows[1]
    assert (old.group, old.result, old.reason, old.sub_reason) == TREE[1]
    assert (old.channel, old.alias, old.customer, old.agent, old.comment) == (
        Channel.CALL,
        "WhatsApp Ventas",
        PHONE,
        "ana",
        "cuotas",
    )
    assert (rows[0].group, rows[0].result, rows[0].reason, rows[0].sub_reason) == (
        "No contactado",
        "Buzón",
        "",
        "",
    )
    assert [h.ticket for h in history] == [second.ticket.number, first.ticket.number]
    detail = history[1]
    assert detail.channels == (Channel.WHATSAPP, Channel.CALL)
    assert detail.last_agent == "ana" and detail.typification == TREE[1]
    assert [(c.duration_s, c.alias) for c in detail.calls] == [(95, "Central")]
    assert [(m.direction, m.text) for m in detail.messages] == [(Direction.INBOUND, "Hola")]
    assert history[0].comments == ("ojo",)


def test_T7_agent_ticket_list_newest_first(store: MemoryStore) -> None:
    add_contact(store, "ventas", "12345678", first_names="José", last_names="Pérez")
    a = inbound(store, 0, text="Hola")
    b = outbound(store, "soporte", 5, agent="ana", customer="912345678", status="busy")
    c = outbound(store, "cobranzas", 6, agent="bea", customer="912345679")
    assign_ticket(store, number=c.ticket.number, assignee="ana", agent="sup", at=t(7))
    label_ticket(store, number=b.ticket.number, labels=["reclamo"], agent="ana", at=t(8))
    resolve_ticket(store, number=a.ticket.number, agent="ana", at=t(9))
    with store.unit_of_work() as uow:
        items = agent_tickets(uow, agent="ana")
        for_bea = agent_tickets(uow, agent="bea")
        open_for_ana = agent_tickets(uow, agent="ana", open_only=True)
    assert agent_tickets(store, agent="ana") == items
    assert [i.number for i in items] == [a.ticket.number, c.ticket.number, b.ticket.number]
    assert items[0].title == "José Pérez" and items[0].channel is Channel.WHATSAPP
    assert items[0].last_action == "Hola"
    assert items[2].title == "+51912345678" and items[2].labels == ("reclamo",)
    assert items[2].last_action == "busy 63 s" and items[2].channel is Channel.CALL
    assert [i.number for i in for_bea] == [c.ticket.number]
    assert [i.number for i in open_for_ana] == [c.ticket.number, b.ticket.number]


def test_T1_normalize_customer_per_channel() -> None:
    assert normalize_customer(Channel.SMS, "0051 987 654 321", "PE") == PHONE
    assert normalize_customer(Channel.INSTAGRAM, " @jose ", "PE") == "@jose"
    with pytest.raises(InvalidPhoneNumber):
        normalize_customer(Channel.CALL, "abc", "PE")


def test_T7_route_result_of_many_interactions_counts_each_once(store: MemoryStore) -> None:
    results: list[Any] = []
    calls: list[Callable[[], Any]] = [
        lambda: inbound(store, 0, external_id="a"),
        lambda: inbound(store, 1, external_id="b"),
        lambda: inbound(store, 1, external_id="a"),
        lambda: outbound(store, "ventas", 2, external_id="c"),
    ]
    for call in calls:
        results.append(call())
    assert [r.outcome for r in results] == [
        RouteOutcome.OPENED,
        RouteOutcome.JOINED,
        RouteOutcome.DUPLICATE,
        RouteOutcome.JOINED,
    ]
    assert results[-1].ticket.interactions == 3


_CHANGED_BY_AN_EARLIER_INTERACTION = {"origin", "opened_at"}
_CHANGED_BY_AN_INTERACTION = {
    "channels",
    "interactions",
    "last_agent",
    "last_activity_at",
    "last_channel",
    "last_action",
}


@settings(max_examples=60, deadline=None)
@given(cst.tickets(), cst.interactions())
def test_T7_recording_an_interaction_keeps_every_other_ticket_field(
    ticket: Ticket, interaction: Interaction
) -> None:
    """The hot path builds the ticket field by field: no field of Ticket may be dropped."""
    assert {a.name for a in attrs.fields(Ticket)} == {
        "number", "campaign", "customer", "origin", "opened_at", "status", "queue", "line",
        "alias", "contact", "channels", "labels", "assignee", "last_agent", "last_activity_at",
        "last_channel", "last_action", "interactions", "closed_at", "closed_by",
        "paused_at", "snoozed_until", "pending_spans",
    }  # fmt: skip
    updated = with_interaction(ticket, interaction)
    # P1, P2: an inbound interaction wakes a pending or snoozed ticket.
    # H6: a pending period ends when the customer writes.
    wakes = {"status", "snoozed_until", "pending_spans"} if woken(ticket, interaction) else set()
    for field in attrs.fields(Ticket):
        if (
            field.name
            not in _CHANGED_BY_AN_INTERACTION | _CHANGED_BY_AN_EARLIER_INTERACTION | wakes
        ):
            assert getattr(updated, field.name) == getattr(ticket, field.name)
    # X6: an interaction before the ticket's opening becomes its origin and opening.
    earliest = interaction.at < ticket.opened_at
    assert updated.opened_at == (interaction.at if earliest else ticket.opened_at)
    assert updated.origin == (interaction.direction if earliest else ticket.origin)
    assert updated.interactions == ticket.interactions + 1
    assert set(updated.channels) == {*ticket.channels, interaction.channel}
    latest = ticket.last_activity_at is None or interaction.at >= ticket.last_activity_at
    assert updated.last_activity_at == (interaction.at if latest else ticket.last_activity_at)
    assert updated.last_action == (
        describe_interaction(interaction) if latest else ticket.last_action
    )


@settings(max_examples=60, deadline=None)
@given(
    cst.interactions(),
    cst.campaigns(),
    st.none() | cst.lines(),
    st.none() | st.sampled_from(["q-ventas", "q-vip"]),
)
def test_T7_a_new_ticket_equals_its_first_interaction_recorded_on_the_bare_ticket(
    interaction: Interaction, campaign: Campaign, line: Line | None, queue: str | None
) -> None:
    """Routing builds a new ticket in one construction: the same as with_interaction."""
    target = Target(campaign, interaction.customer, line)
    bare = Ticket(
        number=7,
        campaign=campaign.id,
        customer=interaction.customer,
        origin=interaction.direction,
        opened_at=interaction.at,
        queue=queue if queue is not None else ticket_queue(campaign, line),
        line=None if line is None else line.id,
        alias="" if line is None else line.alias,
    )
    assert opened_ticket(7, target, interaction, queue) == with_interaction(bare, interaction)


# --- the API convention: keyword-only services, old names and shapes warn ------------------


def test_T8_typify_returns_a_record_whose_unpacking_warns_and_still_works(
    store: MemoryStore,
) -> None:
    number = inbound(store, 0).ticket.number
    result = typify_ticket(store, number=number, agent="ana", at=t(1), path=TREE[0])
    assert attrs.has(type(result)) and result.ticket.status is TicketStatus.TYPIFIED
    with pytest.warns(DeprecationWarning, match=r"\.ticket and \.typification"):
        ticket, record = result
    assert (ticket, record) == (result.ticket, result.typification)


@pytest.mark.parametrize("service", ["cancel_ticket", "assign_ticket"])
def test_T3_old_positional_calls_warn_and_still_work(store: MemoryStore, service: str) -> None:
    number = inbound(store, 0).ticket.number
    with pytest.warns(DeprecationWarning, match=rf"{service}\(\) with positional number"):
        if service == "cancel_ticket":
            done = cancel_ticket(store, number, "sup", t(1))  # type: ignore[call-arg]
            assert done.status is TicketStatus.CANCELLED
        else:
            done = assign_ticket(store, number, "bea", "sup", t(1))  # type: ignore[call-arg]
            assert done.assignee == "bea"


def test_T16_set_labels_is_a_deprecated_alias_of_label_ticket(store: MemoryStore) -> None:
    number = inbound(store, 0).ticket.number
    resolve_ticket(store, number=number, agent="ana", at=t(1))
    with pytest.warns(DeprecationWarning, match=r"set_labels\(\).*label_ticket\(\)"):
        labelled = set_labels(store, number, ["vip", "vip"], "ana", t(2))
    assert labelled.labels == ("vip",)


def test_T19_link_ticket_contact_is_a_deprecated_alias_of_link_ticket(store: MemoryStore) -> None:
    add_contact(store, "ventas", "C-1", phone="+51911111111")
    number = inbound(store, 0).ticket.number
    with pytest.warns(DeprecationWarning, match=r"link_ticket_contact\(\).*link_ticket\(\)"):
        by_number = link_ticket_contact(store, number, None, "C-1", "ana", t(1))
    assert by_number.contact == "C-1"
    add_contact(store, "ventas", "C-2", phone="+51922222222")
    with pytest.warns(DeprecationWarning, match="link_ticket_contact"):
        by_customer = link_ticket_contact(
            store, None, "ventas", "C-2", None, t(2), customer="987654321"
        )
    assert (by_customer.number, by_customer.contact) == (number, "C-2")


@pytest.mark.parametrize(
    ("old", "new", "args"),
    [
        (typification_rows, contact_typifications, ("ventas", "12345678")),
        (history_rows, contact_history, ("ventas", "12345678")),
        (agent_ticket_list, agent_tickets, ("ana",)),
    ],
    ids=["typification_rows", "history_rows", "agent_ticket_list"],
)
def test_T8_T17_old_view_names_warn_and_still_return_lists(
    store: MemoryStore, old: Callable[..., Any], new: Callable[..., Any], args: tuple[str, ...]
) -> None:
    add_contact(store, "ventas", "12345678")
    number = outbound(store, "ventas", 0).ticket.number
    typify_ticket(store, number=number, agent="ana", at=t(1), path=TREE[0])
    keywords = dict(zip(("agent",) if len(args) == 1 else ("campaign", "code"), args, strict=True))
    with store.unit_of_work() as uow:
        with pytest.warns(DeprecationWarning, match=rf"{old.__name__}\(\).*{new.__name__}\(\)"):
            rows = old(uow, *args)
        assert isinstance(rows, list) and len(rows) == 1
        assert tuple(rows) == new(uow, **keywords)


@pytest.mark.parametrize("service", ["send_message", "send_template", "place_call"])
def test_T18_channel_services_take_the_port_positionally_with_a_warning(
    store: MemoryStore, service: str
) -> None:
    channel = RecordingChannel()
    inbound(store, -1, campaign="soporte")  # W1: the window is open
    common: dict[str, Any] = {"to": "987654321", "campaign": "ventas", "agent": "ana", "at": t()}
    with pytest.warns(DeprecationWarning, match=rf"{service}\(\) with positional channel_port"):
        if service == "send_message":
            result = send_message(store, channel, line="wa-ventas", text="hola", **common)  # type: ignore[call-arg]
        elif service == "send_template":
            result = send_template(
                store, channel, line="wa-ventas", template="t", params=[], queue="q", **common
            )  # type: ignore[call-arg]
        else:
            result = place_call(store, channel, line="call-main", **common)  # type: ignore[call-arg]
    assert result.outcome is RouteOutcome.OPENED and channel.attempts == 1


_padded = st.sampled_from(["", " ", "  "])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 600),
            st.sampled_from(["987654321", " +51 912 345 678 ", "51987000111"]),
            st.sampled_from([None, "wa-ventas"]),
            st.sampled_from([None, "ventas", "soporte"]),
            st.sampled_from([None, "wamid.1", "wamid.2"]),
            st.sampled_from([None, "ana", "bo  b"]),
            st.sampled_from([None, "Hola", "  dos\tlíneas\n "]),
            _padded,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_E3_route_checked_equals_route_interaction(calls: list[tuple[Any, ...]]) -> None:
    """Replay's entry (values checked once, by replay) routes exactly as the public one."""
    public, checked = make_store(), make_store()
    for minutes, customer, line, campaign, external_id, agent, text, pad in calls:
        if line is None and campaign is None:
            line = "wa-ventas"
        raw: dict[str, Any] = {
            "at": t(minutes),
            "channel": "whatsapp",
            "direction": "outbound" if campaign is not None else "inbound",
            "customer": customer,
            "line": None if line is None else pad + line + pad,
            "campaign": None if campaign is None else pad + campaign,
            "external_id": external_id,
            "agent": None if agent is None else agent + pad,
            "text": text,
        }
        outcomes = []
        for store, entry in ((public, route_interaction), (checked, _route_checked)):
            try:
                outcomes.append(entry(store, **raw).outcome)
            except CcdomainError as exc:
                outcomes.append(type(exc))
        assert outcomes[0] == outcomes[1]
    assert snapshot(public) == snapshot(checked)


def _route_checked(store: MemoryStore, **raw: Any) -> Any:
    """The values read the way replay reads them, then the unchecked entry."""

    def opt(check: Any, name: str) -> Any:
        value = raw[name]
        return None if value is None else check(value, name)

    return route_checked(
        store,
        at=checks.aware(raw["at"]),
        channel=Channel(raw["channel"]),
        direction=Direction(raw["direction"]),
        customer=checks.identifier(raw["customer"], "customer", limit=checks.ADDRESS_MAX),
        line=opt(checks.identifier, "line"),
        campaign=opt(checks.identifier, "campaign"),
        external_id=opt(checks.identifier, "external_id"),
        agent=opt(checks.agent, "agent"),
        text=opt(checks.text, "text"),
        status=None,
        duration_s=None,
        queue=None,
    )
