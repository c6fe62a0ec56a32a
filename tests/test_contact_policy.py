"""The contact policy through the API: windows, opt-outs, contact hours, attempts (W1-W7)."""

from __future__ import annotations

import datetime as dt
import pathlib
import re
import zoneinfo
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdomain.contact_policy import (
    ContactDecision,
    may_contact,
    opt_in,
    opt_out,
)
from ccdomain.contacts import create_contact, make_campaign
from ccdomain.errors import ContactNotAllowed, RuleViolation, WindowClosed
from ccdomain.events import EventKind, OptedOut
from ccdomain.memory import MemoryStore
from ccdomain.models import Campaign, Channel, Line, RouteOutcome
from ccdomain.ports import Store
from ccdomain.sqlite import SqliteStore
from ccdomain.testing.fakes import RecordingChannel
from ccdomain.tickets import route_interaction, send_message, send_template

LIMA = dt.timezone(dt.timedelta(hours=-5))
# Wednesday 18 November 2026, 10:00 in Lima: inside every default contact hours.
T0 = dt.datetime(2026, 11, 18, 10, 0, tzinfo=LIMA)
PHONE = "+51987654321"
OTHER = "+51912345678"


def at(hours: float = 0, days: float = 0) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours, days=days)


def fill(store: Store, *campaigns: Campaign) -> Store:
    """Campaigns ventas (sales) and cobranzas (collections), and their lines."""
    with store.unit_of_work() as uow:
        uow.put_campaign(make_campaign("ventas", kind="sales"))
        uow.put_campaign(make_campaign("cobranzas", kind="collections"))
        for campaign in campaigns:
            uow.put_campaign(campaign)
        for line_id, channel, address, campaign_id in (
            ("wa", Channel.WHATSAPP, "+5117001234", "ventas"),
            ("wa-2", Channel.WHATSAPP, "+5117001235", "ventas"),
            ("wa-cob", Channel.WHATSAPP, "+5117001236", "cobranzas"),
            ("tel", Channel.CALL, "+5117001237", "cobranzas"),
            ("sms", Channel.SMS, "+5117001238", "cobranzas"),
            ("fb", Channel.MESSENGER, "ventas-page", "ventas"),
            ("ig", Channel.INSTAGRAM, "ventas-ig", "ventas"),
        ):
            uow.put_line(Line(id=line_id, channel=channel, address=address, campaign=campaign_id))
        uow.commit()
    return store


@pytest.fixture
def store() -> Store:
    return fill(MemoryStore())


def inbound(store: Store, when: dt.datetime, **kw: Any) -> Any:
    fields: dict[str, Any] = {
        "at": when,
        "channel": "whatsapp",
        "direction": "inbound",
        "customer": "987654321",
        "line": "wa",
        "text": "Hola",
    }
    fields.update(kw)
    return route_interaction(store, **fields)


def outbound(store: Store, when: dt.datetime, **kw: Any) -> Any:
    fields: dict[str, Any] = {
        "at": when,
        "channel": "whatsapp",
        "direction": "outbound",
        "customer": "987654321",
        "line": "wa",
        "campaign": "ventas",
        "agent": "ana",
        "text": "Le escribo por su pedido",
    }
    fields.update(kw)
    return route_interaction(store, **fields)


def call(store: Store, when: dt.datetime, **kw: Any) -> Any:
    fields: dict[str, Any] = {
        "channel": "call",
        "line": "tel",
        "campaign": "cobranzas",
        "status": "answered",
        "text": None,
    }
    fields.update(kw)
    return outbound(store, when, **fields)


def snapshot(store: Store) -> tuple[Any, ...]:
    with store.unit_of_work() as uow:
        tickets = list(uow.list_tickets())
        return (
            tickets,
            {t.number: list(uow.interactions(t.number)) for t in tickets},
            list(uow.events()),
            list(uow.opt_outs()),
            uow.attempts("cobranzas", PHONE, T0.date()),
        )


# --- W1 the WhatsApp customer-service window ---------------------------------------------


def test_W1_W6_free_form_whatsapp_to_a_customer_who_never_wrote_is_refused(
    store: Store,
) -> None:
    before = snapshot(store)
    with pytest.raises(WindowClosed, match=r"^W1: .*'\+51987654321'.*2026-11-18T10:00:00") as e:
        outbound(store, at())
    assert "no inbound message" in str(e.value) and "only a template" in str(e.value)
    assert isinstance(e.value, ContactNotAllowed) and isinstance(e.value, RuleViolation)
    assert snapshot(store) == before  # E2: nothing recorded


def test_W1_the_window_is_half_open_exactly_24_hours_after_the_last_inbound_is_closed(
    store: Store,
) -> None:
    inbound(store, at())
    inbound(store, at(-3))  # an earlier message arriving late does not move the window
    last = outbound(store, at(24) - dt.timedelta(microseconds=1))
    assert last.outcome is RouteOutcome.JOINED
    before = snapshot(store)
    with pytest.raises(WindowClosed) as e:
        outbound(store, at(24))
    message = str(e.value)
    assert "last wrote on this line at 2026-11-18T10:00:00-05:00" in message
    assert "the window closed at 2026-11-19T10:00:00-05:00" in message
    assert snapshot(store) == before
    inbound(store, at(30))  # the customer writes again: a new window
    assert outbound(store, at(30.5)).outcome is RouteOutcome.JOINED


def test_W1_T10_event_time_decides_when_messages_arrive_out_of_order(store: Store) -> None:
    inbound(store, at())
    inbound(store, at(30))  # delivered before the reply below, though it happened after
    reply = outbound(store, at(20))  # inside the window of the 10:00 message
    assert reply.outcome is RouteOutcome.JOINED
    with pytest.raises(WindowClosed, match="last wrote on this line at 2026-11-18T10:00"):
        outbound(store, at(25))  # the 10:00 window closed; the next message came at 16:00


def test_W1_the_window_is_per_line_and_customer_whatever_the_campaign(store: Store) -> None:
    inbound(store, at())
    # Cobranzas writes on the Ventas number, where the customer wrote to Ventas.
    reply = outbound(store, at(1), campaign="cobranzas")
    assert reply.ticket.campaign == "cobranzas"
    with pytest.raises(WindowClosed):
        outbound(store, at(1), line="wa-2")  # another business number
    with pytest.raises(WindowClosed):
        outbound(store, at(1), customer=OTHER)  # another customer


def test_W1_a_template_outside_the_window_is_allowed_and_does_not_open_it(store: Store) -> None:
    sent = outbound(store, at(), template="seguimiento", params=["José", "Plan Plus"], text=None)
    assert sent.outcome is RouteOutcome.OPENED
    assert sent.interaction.text == "[template seguimiento] José, Plan Plus"
    with pytest.raises(WindowClosed, match="no inbound message"):
        outbound(store, at(0.1))
    with pytest.raises(RuleViolation, match="templates on WhatsApp only"):
        outbound(store, at(), channel="sms", line="sms", template="x")
    with pytest.raises(RuleViolation, match="outbound WhatsApp messages only"):
        inbound(store, at(), template="x")


def test_W1_T18_channel_services_check_the_window_before_the_channel_is_called(
    store: Store,
) -> None:
    channel = RecordingChannel()
    common: dict[str, Any] = {"line": "wa", "to": "987654321", "agent": "ana", "at": at()}
    before = snapshot(store)
    with pytest.raises(WindowClosed):
        send_message(store, channel_port=channel, text="hola", campaign="ventas", **common)
    assert channel.attempts == 0 and snapshot(store) == before
    done = send_template(
        store, channel_port=channel, template="bienvenida", params=["José"], campaign="ventas",
        queue="ventas", **common,
    )  # fmt: skip
    assert done.outcome is RouteOutcome.OPENED and channel.attempts == 1
    inbound(store, at(1))
    common["at"] = at(2)
    reply = send_message(store, channel_port=channel, text="hola", campaign="ventas", **common)
    assert reply.outcome is RouteOutcome.JOINED and channel.attempts == 2


# --- W2 Messenger and Instagram ------------------------------------------------------------


@pytest.mark.parametrize(("line", "channel"), [("fb", "messenger"), ("ig", "instagram")])
def test_W2_messenger_and_instagram_window_and_the_human_agent_tag(
    store: Store, line: str, channel: str
) -> None:
    who = {"line": line, "channel": channel, "customer": "psid-123"}
    inbound(store, at(), **who)
    assert outbound(store, at(23), **who).outcome is RouteOutcome.JOINED
    with pytest.raises(WindowClosed, match=r"^W2: .*human_agent"):
        outbound(store, at(24), **who)
    assert outbound(store, at(days=6.9), tag="human_agent", **who).outcome is RouteOutcome.JOINED
    with pytest.raises(WindowClosed, match=r"^W2: .*closed at 2026-11-25T10:00:00-05:00"):
        outbound(store, at(days=7), tag="human_agent", **who)


# --- W3 opt-out and opt-in -----------------------------------------------------------------


def test_W3_an_opt_out_refuses_that_channel_in_that_campaign_templates_included(
    store: Store,
) -> None:
    opted = opt_out(
        store, campaign="cobranzas", customer="987 654 321", channel="whatsapp", agent="rosa",
        at=at(-1),
    )  # fmt: skip
    assert (opted.customer, opted.channel) == (PHONE, Channel.WHATSAPP)
    again = opt_out(
        store, campaign="cobranzas", customer=PHONE, channel="whatsapp", agent="x", at=at()
    )
    assert again == opted  # the first opt-out stays
    before = snapshot(store)
    with pytest.raises(ContactNotAllowed, match=r"^W3: customer '\+51987654321' opted out"):
        outbound(store, at(), campaign="cobranzas", line="wa-cob", template="aviso")
    assert snapshot(store) == before
    assert call(store, at()).outcome is RouteOutcome.OPENED  # calls are another channel
    assert outbound(store, at(), template="aviso").ticket.campaign == "ventas"  # other campaign
    # Inbound still routes, and opens the window; the opt-out still refuses.
    assert inbound(store, at(0.5), line="wa-cob").ticket.campaign == "cobranzas"
    with pytest.raises(ContactNotAllowed, match="W3"):
        outbound(store, at(1), campaign="cobranzas", line="wa-cob")
    removed = opt_in(
        store, campaign="cobranzas", customer=PHONE, channel="whatsapp", agent="rosa", at=at(1)
    )
    assert removed == opted
    assert outbound(store, at(1), campaign="cobranzas", line="wa-cob").outcome is (
        RouteOutcome.JOINED
    )
    assert opt_in(store, campaign="cobranzas", customer=PHONE, channel="whatsapp",
                  agent="rosa", at=at(2)) is None  # fmt: skip
    with store.unit_of_work() as uow:
        kinds = [e.kind for e in uow.events() if e.kind.value.startswith("opted")]
    assert kinds == [EventKind.OPTED_OUT, EventKind.OPTED_IN]


@pytest.mark.parametrize("text", ["baja.", "No molestar!!", "  STOP ", "¡Bájá!", "no-molestar"])
def test_W3_an_inbound_stop_word_with_accents_and_punctuation_opts_out(
    store: Store, text: str
) -> None:
    routed = inbound(store, at(), line="wa-cob", text=text)
    assert routed.ticket.campaign == "cobranzas"  # the message itself still routes
    with store.unit_of_work() as uow:
        opted = uow.get_opt_out("cobranzas", PHONE, Channel.WHATSAPP)
        events = [e for e in uow.events() if e.kind is EventKind.OPTED_OUT]
    assert opted is not None and opted.agent is None
    assert [e.payload for e in events] == [
        OptedOut(customer=PHONE, channel=Channel.WHATSAPP, stop_word=True)
    ]
    with pytest.raises(ContactNotAllowed, match="W3"):
        outbound(store, at(0.1), campaign="cobranzas", line="wa-cob")


@pytest.mark.parametrize("text", ["bajar el precio", "no me molestes", "stop?? no, sigue"])
def test_W3_a_text_that_only_contains_a_stop_word_does_not_opt_out(store: Store, text: str) -> None:
    inbound(store, at(), line="wa-cob", text=text)
    with store.unit_of_work() as uow:
        assert uow.opt_outs() == []


def test_W3_a_campaign_declares_its_own_stop_words() -> None:
    store = fill(MemoryStore(), make_campaign("encuestas", stop_words=["Cancelar", "NO MÁS"]))
    with store.unit_of_work() as uow:
        uow.put_line(Line(id="wa-enc", channel=Channel.WHATSAPP, address="+5117009999",
                          campaign="encuestas"))  # fmt: skip
        uow.commit()
    inbound(store, at(), line="wa-enc", text="BAJA")
    inbound(store, at(1), line="wa-enc", text="no mas.", customer=OTHER)
    with store.unit_of_work() as uow:
        assert [o.customer for o in uow.opt_outs("encuestas")] == [OTHER]
    with pytest.raises(RuleViolation, match="stop word"):
        make_campaign("x", stop_words=["!!"])


# --- W4 contact hours ----------------------------------------------------------------------


def test_W4_collections_default_to_monday_saturday_8_to_20(store: Store) -> None:
    day = dt.datetime(2026, 11, 18, tzinfo=LIMA)
    with pytest.raises(ContactNotAllowed, match=r"^W4: .*07:59.*open again at 2026-11-18T08:00"):
        call(store, day + dt.timedelta(hours=7, minutes=59))
    assert call(store, day + dt.timedelta(hours=8)).outcome is RouteOutcome.OPENED
    with pytest.raises(ContactNotAllowed, match="W4"):
        call(store, day + dt.timedelta(hours=20))
    with pytest.raises(ContactNotAllowed, match=r"W4: .*open again at 2026-11-23T08:00"):
        call(store, day + dt.timedelta(days=4, hours=11))  # Sunday
    saturday = day + dt.timedelta(days=3, hours=19, minutes=59)
    assert call(store, saturday, customer=OTHER).outcome is RouteOutcome.OPENED
    # Other kinds have no contact hours: Ventas writes on Sunday at 23:00.
    inbound(store, day + dt.timedelta(days=4, hours=22))
    assert outbound(store, day + dt.timedelta(days=4, hours=23)).outcome is RouteOutcome.JOINED


def test_W4_never_on_a_public_holiday_of_the_campaigns_region() -> None:
    chile = make_campaign(
        "cobranzas-cl", kind="collections", region="CL", timezone="America/Santiago"
    )
    store = fill(MemoryStore(), chile)
    independence = dt.datetime(2026, 7, 28, 10, 0, tzinfo=LIMA)  # a Tuesday, PE holiday
    with pytest.raises(ContactNotAllowed, match=r"closed on PE public holidays.*2026-07-30T08"):
        call(store, independence)
    chilean = call(store, independence, campaign="cobranzas-cl", customer="+56961234567")
    assert chilean.outcome is RouteOutcome.OPENED  # not a holiday in Chile
    with pytest.raises(ContactNotAllowed, match="W4"):
        call(store, dt.datetime(2026, 9, 18, 10, tzinfo=LIMA), campaign="cobranzas-cl",
             customer="+56961234567")  # fmt: skip


def test_W4_W7_a_campaign_declares_its_hours_or_lifts_them() -> None:
    mornings = make_campaign(
        "mananas", kind="collections", contact_hours={"mon-fri": ["09:00-13:00"]}
    )
    always = make_campaign("siempre", kind="collections", contact_hours="always")
    store = fill(MemoryStore(), mornings, always)
    assert call(store, at(), campaign="mananas").outcome is RouteOutcome.OPENED
    with pytest.raises(ContactNotAllowed, match=r"mon-fri 09:00-13:00.*2026-11-19T09:00"):
        call(store, at(3.5), campaign="mananas")
    sunday_night = dt.datetime(2026, 11, 22, 23, 30, tzinfo=LIMA)
    assert call(store, sunday_night, campaign="siempre").outcome is RouteOutcome.OPENED
    for bad in ({"lun": ["09:00-13:00"]}, {"mon": ["13:00-09:00"]}, {"mon": "09:00-13:00"}, 7):
        with pytest.raises(RuleViolation, match="contact_hours"):
            make_campaign("x", contact_hours=bad)


def test_W4_a_DST_change_inside_the_contact_hours_santiago() -> None:
    # Chile moved its clocks from 00:00 to 01:00 on Sunday 6 September 2026.
    night = make_campaign(
        "noche", region="CL", timezone="America/Santiago",
        contact_hours={"sun": ["00:00-02:00"]}, max_daily_attempts=0,
    )  # fmt: skip
    store = fill(MemoryStore(), night)
    utc = dt.UTC
    kw: dict[str, Any] = {"campaign": "noche", "customer": "+56961234567"}
    with pytest.raises(ContactNotAllowed, match=r"open again at 2026-09-06T01:00:00-03:00"):
        call(store, dt.datetime(2026, 9, 6, 3, 59, tzinfo=utc), **kw)  # Sat 23:59 -04:00
    assert call(store, dt.datetime(2026, 9, 6, 4, 0, tzinfo=utc), **kw).outcome in (
        RouteOutcome.OPENED,
    )
    assert call(store, dt.datetime(2026, 9, 6, 4, 59, tzinfo=utc), **kw).ticket is not None
    with pytest.raises(ContactNotAllowed, match="W4"):  # 02:00 -03:00: one hour was open
        call(store, dt.datetime(2026, 9, 6, 5, 0, tzinfo=utc), **kw)


def test_W4_a_DST_change_inside_the_contact_hours_mexico_city() -> None:
    # Mexico City's last change: 02:00 back to 01:00 on Sunday 30 October 2022.
    night = make_campaign(
        "noche", region="MX", timezone="America/Mexico_City",
        contact_hours={"sun": ["01:00-02:00"]},
    )  # fmt: skip
    store = fill(MemoryStore(), night)
    zone = zoneinfo.ZoneInfo("America/Mexico_City")
    kw: dict[str, Any] = {"campaign": "noche", "customer": "+525512345678"}
    first = dt.datetime(2022, 10, 30, 1, 30, tzinfo=zone, fold=0)  # 06:30 UTC
    second = dt.datetime(2022, 10, 30, 1, 30, tzinfo=zone, fold=1)  # 07:30 UTC
    assert second - first == dt.timedelta(0) and second.utcoffset() != first.utcoffset()
    assert call(store, first, **kw).outcome is RouteOutcome.OPENED
    assert call(store, second, **kw).outcome is RouteOutcome.JOINED  # the hour came twice
    with pytest.raises(ContactNotAllowed, match="W4"):
        call(store, dt.datetime(2022, 10, 30, 8, 0, tzinfo=dt.UTC), **kw)  # 02:00 CST


# --- W5 the daily attempt cap --------------------------------------------------------------


def test_W5_the_cap_is_reached_by_calls_and_messages_together(store: Store) -> None:
    sms: dict[str, Any] = {"channel": "sms", "line": "sms", "campaign": "cobranzas"}
    call(store, at())
    outbound(store, at(0.5), **sms)
    call(store, at(1))
    inbound(store, at(1.2), channel="call", line="tel", text=None)  # inbound: not counted
    before = snapshot(store)
    with pytest.raises(ContactNotAllowed, match=r"^W5: .*3 times on 2026-11-18.*2026-11-19T00"):
        outbound(store, at(2), **sms)
    with pytest.raises(ContactNotAllowed, match="W5"):
        call(store, at(3))
    assert snapshot(store) == before
    # Templates are not attempts; the next local day starts again.
    assert outbound(store, at(4), line="wa-cob", campaign="cobranzas", template="aviso").ticket
    assert call(store, at(days=1)).outcome is RouteOutcome.JOINED
    assert call(store, at(1), customer=OTHER).outcome is RouteOutcome.OPENED  # per customer


def test_W5_replies_within_the_window_do_not_count(store: Store) -> None:
    inbound(store, at(), line="wa-cob")
    for n in range(5):
        outbound(store, at(0.1 * (n + 1)), line="wa-cob", campaign="cobranzas")
    with store.unit_of_work() as uow:
        assert uow.attempts("cobranzas", PHONE, T0.date()) == 0
    for n in range(3):
        call(store, at(2 + n))
    with pytest.raises(ContactNotAllowed, match="W5"):
        call(store, at(6))


def test_W5_the_cap_counts_per_local_calendar_day_and_a_campaign_sets_it() -> None:
    two = make_campaign("dos", max_daily_attempts=2)  # a sales campaign: no contact hours
    store = fill(MemoryStore(), two)
    kw: dict[str, Any] = {"campaign": "dos"}
    late = dt.datetime(2026, 11, 18, 23, 0, tzinfo=LIMA)  # already the 19th in UTC
    call(store, late, **kw)
    call(store, late + dt.timedelta(minutes=30), **kw)
    with pytest.raises(ContactNotAllowed, match="on 2026-11-18"):
        call(store, late + dt.timedelta(minutes=50), **kw)
    assert call(store, late + dt.timedelta(hours=1, minutes=10), **kw).ticket is not None
    for bad in (-1, 1001, "3", True):
        with pytest.raises(RuleViolation, match="max_daily_attempts"):
            make_campaign("x", max_daily_attempts=bad)


def test_W5_W7_zero_lifts_the_collections_cap() -> None:
    store = fill(MemoryStore(), make_campaign("libre", kind="collections", max_daily_attempts=0))
    for n in range(6):
        call(store, at(n / 10), campaign="libre")


# --- W6 refusals ---------------------------------------------------------------------------


def test_W6_every_refusal_names_the_rule_the_customer_and_the_time_and_changes_nothing(
    store: Store,
) -> None:
    ticket = call(store, at()).ticket  # an open Cobranzas ticket the refusals must not touch
    opt_out(store, campaign="cobranzas", customer=PHONE, channel="sms", agent="r", at=at())
    refusals = [
        ("W1", lambda: outbound(store, at(1), line="wa-cob", campaign="cobranzas")),
        ("W3", lambda: outbound(store, at(1), channel="sms", line="sms", campaign="cobranzas")),
        ("W4", lambda: call(store, at(11))),
    ]
    call(store, at(1))
    call(store, at(2))
    refusals.append(("W5", lambda: call(store, at(3))))
    before = snapshot(store)
    for rule, attempt in refusals:
        with pytest.raises(ContactNotAllowed) as e:
            attempt()
        assert str(e.value).startswith(f"{rule}: ") and "'+51987654321'" in str(e.value)
        assert "2026-11-18T" in str(e.value)
    assert snapshot(store) == before
    with store.unit_of_work() as uow:
        assert uow.get_ticket(ticket.number) == before[0][0]


def test_W1_W5_may_contact_decides_without_a_store() -> None:
    cobranzas = make_campaign("cobranzas", kind="collections")
    allowed = may_contact(cobranzas, channel=Channel.CALL, customer=PHONE, at=at())
    assert allowed == ContactDecision(allowed=True)
    closed = may_contact(
        cobranzas, channel=Channel.WHATSAPP, customer=PHONE, at=at(), last_inbound=at(-30)
    )
    assert (closed.allowed, closed.rule, closed.until) == (False, "W1", None)
    assert may_contact(
        cobranzas, channel=Channel.WHATSAPP, customer=PHONE, at=at(), template="aviso"
    ).allowed
    capped = may_contact(cobranzas, channel=Channel.CALL, customer=PHONE, at=at(),
                         attempts_today=3)  # fmt: skip
    assert capped.rule == "W5" and capped.until == dt.datetime(
        2026, 11, 19, tzinfo=zoneinfo.ZoneInfo("America/Lima")
    )
    night = may_contact(cobranzas, channel=Channel.CALL, customer=PHONE, at=at(11))
    assert night.rule == "W4" and night.until == at(22)
    out = may_contact(cobranzas, channel=Channel.SMS, customer=PHONE, at=at(), opted_out=True)
    assert (out.rule, out.until) == ("W3", None)
    sunday_night = dt.datetime(2026, 11, 22, 23, 0, tzinfo=LIMA)
    sales = make_campaign("ventas")  # no contact hours, no cap
    assert may_contact(sales, channel=Channel.CALL, customer=PHONE, at=sunday_night,
                       attempts_today=50).allowed  # fmt: skip


# --- properties ----------------------------------------------------------------------------

_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["in", "free", "template"]),
        st.sampled_from(["wa", "wa-2"]),
        st.sampled_from(["987654321", "912345678"]),
        st.integers(0, 60 * 72),  # minutes after T0, in any order
    ),
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=_STEPS)
def test_W1_no_accepted_free_form_message_lies_outside_its_window_and_the_stores_agree(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, str, str, int]]
) -> None:
    stores: list[Store] = [
        fill(MemoryStore()),
        fill(SqliteStore(tmp_path_factory.mktemp("w1") / "w1.db")),
    ]
    try:
        inbounds: list[tuple[str, str, dt.datetime]] = []
        for n, (kind, line, customer, minutes) in enumerate(steps):
            when = T0 + dt.timedelta(minutes=minutes)
            results = []
            for store in stores:
                try:
                    if kind == "in":
                        inbound(store, when, line=line, customer=customer, external_id=f"m{n}")
                    else:
                        template = "aviso" if kind == "template" else None
                        outbound(store, when, line=line, customer=customer, template=template,
                                 external_id=f"m{n}")  # fmt: skip
                    results.append("accepted")
                except WindowClosed:
                    results.append("refused")
            assert results[0] == results[1]  # the stores agree
            if kind == "in":
                inbounds.append((line, customer, when))
            elif kind == "free":
                # Accepted exactly when an inbound message on that line opened a window
                # holding it: none lies outside, none inside is refused (event time).
                covered = any(
                    (line, customer) == (i_line, i_customer)
                    and i_at <= when < i_at + dt.timedelta(hours=24)
                    for i_line, i_customer, i_at in inbounds
                )
                assert (results[0] == "accepted") == covered
            elif kind == "template":
                assert results[0] == "accepted"
        views = []
        for store in stores:
            with store.unit_of_work() as uow:
                tickets = list(uow.list_tickets())
                views.append((tickets, [list(uow.interactions(t.number)) for t in tickets]))
        assert views[0] == views[1]
    finally:
        for store in stores:
            store.close()


def test_W1_W3_W4_W5_the_contact_policy_page_runs_as_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    page = pathlib.Path(__file__).resolve().parents[1] / "docs" / "contact-policy.md"
    (block,) = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    namespace: dict[str, Any] = {}
    exec(compile(block, "docs/contact-policy.md", "exec"), namespace)
    out = capsys.readouterr().out.splitlines()
    assert [line[:3] for line in out[2:]] == ["W1:", "W3:", "W5:"]
    assert "open again at 2026-11-19T08:00:00-05:00" in out[0]
    assert "already contacted 2 times" in str(namespace["capped"])
    with namespace["store"].unit_of_work() as uow:
        assert [o.channel.value for o in uow.opt_outs("cobranzas")] == ["sms", "whatsapp"]


def test_W3_I5_the_export_holds_the_opt_outs_and_anonymizing_forgets_them() -> None:
    from ccdomain.identities import anonymize_contact, export_contact

    store = fill(MemoryStore())
    create_contact(
        store, campaign="cobranzas", first_names="Rosa", at=at(-1),
        document={"type": "DNI", "number": "41223344"},
        channels=[{"kind": "phone", "value": PHONE}],
    )  # fmt: skip
    inbound(store, at(), line="wa-cob", text="BAJA")
    opt_out(store, campaign="cobranzas", customer=OTHER, channel="sms", agent="r", at=at())
    document = export_contact(store, campaign="cobranzas", code="41223344")
    assert [(o.customer, o.channel) for o in document.opt_outs] == [(PHONE, Channel.WHATSAPP)]
    anonymize_contact(store, campaign="cobranzas", code="41223344", agent="dpo", at=at(1))
    with store.unit_of_work() as uow:
        assert [o.customer for o in uow.opt_outs()] == [OTHER]
        assert uow.last_inbound("wa-cob", PHONE) is None
        events = [e for e in uow.events() if e.kind is EventKind.OPTED_OUT]
    assert [e.payload.customer != PHONE for e in events] == [True, True]  # type: ignore[union-attr]


def test_W2_T18_send_message_takes_the_human_agent_tag(store: Store) -> None:
    channel = RecordingChannel()
    inbound(store, at(), line="fb", channel="messenger", customer="psid-9")
    common: dict[str, Any] = {"line": "fb", "to": "psid-9", "campaign": "ventas", "agent": "ana"}
    with pytest.raises(WindowClosed, match="W2"):
        send_message(store, channel_port=channel, text="¿Sigue ahí?", at=at(days=2), **common)
    assert channel.attempts == 0
    sent = send_message(store, channel_port=channel, text="¿Sigue ahí?", at=at(days=2),
                        tag="human_agent", **common)  # fmt: skip
    assert sent.outcome is RouteOutcome.JOINED and channel.attempts == 1


def test_W1_params_without_a_template_are_refused(store: Store) -> None:
    inbound(store, at())
    with pytest.raises(RuleViolation, match="without a template"):
        outbound(store, at(1), params=["José"])


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_W8_contact_hours_close_on_the_campaigns_own_closed_dates(
    kind: str, tmp_path: pathlib.Path
) -> None:
    closed = make_campaign(
        "cerrado",
        kind="collections",
        holidays=["2026-11-18"],
        contact_hours={"wed": ["08:00-20:00"]},
    )
    default_hours = make_campaign("cob-cerrado", kind="collections", holidays=["2026-11-18"])
    declared_open = make_campaign("abierto", kind="collections", holidays={"public": False})
    base: Store = MemoryStore() if kind == "memory" else SqliteStore(tmp_path / "w8.db")
    store = fill(base, closed, default_hours, declared_open)
    for campaign in ("cerrado", "cob-cerrado"):
        with pytest.raises(ContactNotAllowed, match="closed dates 2026-11-18") as refused:
            call(store, T0, campaign=campaign)
        assert "W4" in str(refused.value)
    # The next opening skips the closed date: Wednesday 25 November for the declared
    # hours, Thursday 19 November 08:00 for a collections campaign's default hours.
    with pytest.raises(ContactNotAllowed, match=r"open again at 2026-11-25T08:00:00-05:00"):
        call(store, T0, campaign="cerrado")
    with pytest.raises(ContactNotAllowed, match=r"open again at 2026-11-19T08:00:00-05:00"):
        call(store, T0, campaign="cob-cerrado")
    # The next day is open; "holidays": false does not open public holidays for contact.
    assert call(store, at(days=1), campaign="cob-cerrado").outcome is RouteOutcome.OPENED
    assert call(store, T0, campaign="abierto").outcome is RouteOutcome.OPENED
    holiday = dt.datetime(2026, 12, 8, 10, 0, tzinfo=LIMA)  # Immaculate Conception, PE
    with pytest.raises(ContactNotAllowed, match="closed on PE public holidays"):
        call(store, holiday, campaign="abierto", customer=OTHER)
