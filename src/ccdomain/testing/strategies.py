"""Hypothesis strategies for every ccdomain model, shipped so hosts reuse them.

Needs ``hypothesis`` (the ``test`` extra). Every strategy draws models that are
valid by construction, the way the library's services would build them::

    from hypothesis import given
    from ccdomain.testing import strategies as cst

    @given(cst.contacts())
    def test_my_store_keeps_contacts(contact): ...

:data:`MODEL_STRATEGIES` maps each model class (event payloads included) to a
strategy for it, which the serialization round-trip property walks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, cast

import attrs
from hypothesis import strategies as st

from ccdomain.checks import DAYS_MAX
from ccdomain.collections import (
    MINOR_UNITS,
    Installment,
    Money,
    Payment,
    PaymentStatus,
    Product,
    ProductInstallment,
    Promise,
    money,
)
from ccdomain.documents import Document
from ccdomain.events import (
    PAYLOAD_TYPES,
    AgentDeclared,
    CampaignDeclared,
    CommentAdded,
    ContactAnonymized,
    ContactCreated,
    ContactLinked,
    ContactsMerged,
    ContactUpdated,
    Event,
    EventKind,
    IdentityBlocked,
    IdentityUnblocked,
    InteractionAdded,
    InteractionRefused,
    LineDeclared,
    LinkHow,
    OptedIn,
    OptedOut,
    Payload,
    PaymentRecorded,
    PaymentReversed,
    PresenceChanged,
    ProductDeclared,
    PromiseCancelled,
    PromiseMade,
    TicketAssigned,
    TicketCancelled,
    TicketLabelled,
    TicketOpened,
    TicketPending,
    TicketResolved,
    TicketSnoozed,
    TicketTypified,
)
from ccdomain.models import (
    DEFAULT_BUCKET_LIMITS,
    Address,
    Agent,
    AgentState,
    Block,
    Campaign,
    Channel,
    ChannelKind,
    Comment,
    Company,
    Contact,
    ContactChannel,
    CustomFieldDef,
    CustomValue,
    Direction,
    Family,
    FieldType,
    Holidays,
    Interaction,
    Line,
    OptOut,
    PerFamily,
    Presence,
    RouteOutcome,
    ServiceLevels,
    Ticket,
    TicketStatus,
    Typification,
    WaitingTicket,
    WeeklySchedule,
)
from ccdomain.rules.contact_policy import fold_stop_word
from ccdomain.rules.hours import hours_spec
from ccdomain.rules.identities import anonymized_contact
from ccdomain.rules.merge import tombstone

__all__ = [
    "MODEL_STRATEGIES",
    "addresses",
    "agent_states",
    "agents",
    "aware_datetimes",
    "blocks",
    "campaigns",
    "comments",
    "companies",
    "contact_channels",
    "contacts",
    "custom_field_defs",
    "custom_values",
    "documents",
    "e164_phones",
    "events",
    "holidays",
    "interactions",
    "lines",
    "money_amounts",
    "names",
    "opt_outs",
    "payloads",
    "payments",
    "products",
    "promises",
    "service_levels",
    "tickets",
    "typifications",
    "waiting_tickets",
    "weekly_schedules",
]

_words = st.sampled_from(
    ["José", "María", "Pérez", "Soto", "Lucía", "Ñuñez", "de la Cruz", "Ana", "O'Brien", "Chávez"]
)
names = st.lists(_words, min_size=1, max_size=3).map(" ".join)
"""Spanish-looking person names, accents and particles included."""

_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
_text = st.text(max_size=40).filter(lambda s: "\x00" not in s)

#: Valid E.164 mobile numbers of Peru, Mexico, Spain and Brazil.
e164_phones = st.one_of(
    st.integers(900_000_000, 999_999_999).map(lambda n: f"+51{n}"),
    st.integers(5_510_000_000, 5_599_999_999).map(lambda n: f"+52{n}"),
    st.integers(600_000_000, 699_999_999).map(lambda n: f"+34{n}"),
    st.integers(910_000_000, 999_999_999).map(lambda n: f"+5511{n}"),
)

_offsets = st.sampled_from([-5, -3, 0, 1]).map(lambda h: dt.timezone(dt.timedelta(hours=h)))
aware_datetimes = st.datetimes(
    min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 12, 31), timezones=_offsets
)
"""Timezone-aware datetimes (event times always carry their offset)."""

_dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))
_decimals = st.decimals(
    min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=2, allow_nan=False
)


def documents() -> st.SearchStrategy[Document]:
    """Peruvian DNI documents (compact 8 digits)."""
    return st.integers(10_000_000, 99_999_999).map(lambda n: Document(type="DNI", number=str(n)))


_channel_labels = st.sampled_from(["", "", "móvil", "casa", "trabajo"])


def contact_channels() -> st.SearchStrategy[ContactChannel]:
    """Normalized contact channels of every kind, some labelled (004)."""
    label = _channel_labels
    return st.one_of(
        st.builds(ContactChannel, kind=st.just(ChannelKind.PHONE), value=e164_phones, label=label),
        st.builds(
            ContactChannel, kind=st.just(ChannelKind.WHATSAPP), value=e164_phones, label=label
        ),
        st.builds(
            ContactChannel,
            kind=st.just(ChannelKind.EMAIL),
            value=st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.(pe|com)", fullmatch=True),
            label=label,
        ),
        st.builds(ContactChannel, kind=st.just(ChannelKind.INSTAGRAM), value=_ids, label=label),
    )


def addresses(primary: bool = False) -> st.SearchStrategy[Address]:
    """Postal addresses."""
    return st.builds(
        Address,
        line=names.map(lambda n: f"Av. {n} 123"),
        district=_text,
        city=st.sampled_from(["Lima", "Arequipa", "Cusco", ""]),
        region=st.sampled_from(["Lima", "Arequipa", ""]),
        country=st.sampled_from(["PE", ""]),
        postal_code=st.just("") | st.from_regex(r"[0-9]{5}", fullmatch=True),
        reference=_text,
        primary=st.just(primary),
    )


def custom_values() -> st.SearchStrategy[CustomValue]:
    """Converted custom field values of every type."""
    return st.one_of(_text, _decimals, _dates, st.booleans())


def contacts(campaign: str | None = None, *, retired: bool = False) -> st.SearchStrategy[Contact]:
    """Contacts with channels, addresses (first primary) and custom values.

    With ``retired``, one in five is retired the way the services retire one: a
    merge tombstone (M10) or an anonymized contact (I11), itself maybe a
    tombstone. Off by default: a tombstone names a survivor the host's store
    may not hold, and most properties are about live contacts.
    """

    @st.composite
    def build(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Contact:
        document = draw(st.none() | documents())
        code = document.number if document else f"C-{draw(st.integers(1, 999_999)):06d}"
        n_addresses = draw(st.integers(0, 3))
        live = Contact(
            campaign=campaign if campaign is not None else draw(_ids),
            code=code,
            first_names=draw(names),
            last_names=draw(names),
            document=document,
            company=draw(st.none() | _ids),
            vip=draw(st.booleans()),
            channels=tuple(
                {
                    (c.kind, c.value): c for c in draw(st.lists(contact_channels(), max_size=4))
                }.values()
            ),
            addresses=tuple(draw(addresses(primary=i == 0)) for i in range(n_addresses)),
            custom=draw(st.dictionaries(_ids, custom_values(), max_size=3)),
            gender=draw(st.sampled_from(["", "F", "M"])),
            tags=tuple(draw(st.lists(_ids, max_size=3, unique=True))),
            notes=draw(_text),
            last_activity=draw(st.none() | aware_datetimes),
        )
        fate = draw(st.sampled_from(["live"] * 8 + ["merged", "anonymized"])) if retired else ""
        if fate == "merged":
            return tombstone(live, into=draw(_ids))
        if fate == "anonymized":
            anon = f"ANON-{draw(st.text('0123456789ABCDEF', min_size=12, max_size=12))}"
            return anonymized_contact(live, code=anon, merged_into=draw(st.none() | _ids))
        return live

    return build()


def custom_field_defs() -> st.SearchStrategy[CustomFieldDef]:
    """Fields of a campaign's contact template (K9)."""
    return st.builds(
        CustomFieldDef,
        name=_ids,
        type=st.sampled_from(list(FieldType)),
        required=st.booleans(),
        choices=st.lists(_ids, max_size=3, unique=True).map(tuple),
        label=_text,
    )


def _valid_custom_field_defs() -> st.SearchStrategy[CustomFieldDef]:
    """Template fields ``make_custom_field`` accepts: choices for (and only for) a choice field."""
    label = st.just("") | names
    plain = st.sampled_from([t for t in FieldType if t is not FieldType.CHOICE])
    return st.builds(
        CustomFieldDef, name=_ids, type=plain, required=st.booleans(), label=label
    ) | st.builds(
        CustomFieldDef,
        name=_ids,
        type=st.just(FieldType.CHOICE),
        required=st.booleans(),
        choices=st.lists(_ids, min_size=1, max_size=3, unique=True).map(tuple),
        label=label,
    )


def weekly_schedules() -> st.SearchStrategy[WeeklySchedule]:
    """Business hours of a week with at least one open day, as ``parse_hours`` reads them (H1)."""
    # Even counts of distinct minutes, sorted, pair up into disjoint, non-touching ranges.
    day = st.lists(st.integers(0, 24 * 60), max_size=4, unique=True).map(
        lambda bounds: tuple(zip(*[iter(sorted(bounds)[: len(bounds) // 2 * 2])] * 2, strict=True))
    )

    @st.composite
    def build(draw: Callable[[st.SearchStrategy[Any]], Any]) -> WeeklySchedule:
        days = [draw(day) for _ in range(7)]
        if not any(days):
            days[draw(st.integers(0, 6))] = ((8 * 60, 18 * 60),)
        return WeeklySchedule(days=tuple(days))

    return build()


def holidays() -> st.SearchStrategy[Holidays]:
    """A campaign's closed days: its region's public holidays or not, and dates of its own."""
    return st.builds(Holidays, public=st.booleans(), extra=st.lists(_dates, max_size=3).map(tuple))


def service_levels() -> st.SearchStrategy[ServiceLevels]:
    """Service-level targets with at least one target set, as ``service_levels_from`` reads them."""
    minutes = st.integers(1, 3660 * 1440)
    return st.one_of(
        st.builds(ServiceLevels, first_response_min=minutes, resolution_min=st.none() | minutes),
        st.builds(ServiceLevels, resolution_min=minutes),
    )


def _bucket_limits() -> st.SearchStrategy[tuple[tuple[int, int | None], ...]]:
    """Aging buckets (C3): from day 1, no gap, the last open-ended."""

    def chain(starts: list[int]) -> tuple[tuple[int, int | None], ...]:
        lows = [1, *sorted(starts)]
        highs: list[int | None] = [low - 1 for low in lows[1:]]
        return tuple(zip(lows, [*highs, None], strict=True))

    return st.just(DEFAULT_BUCKET_LIMITS) | st.lists(
        st.integers(2, 400), max_size=5, unique=True
    ).map(chain)


def _contact_hours() -> st.SearchStrategy[tuple[tuple[str, tuple[str, ...]], ...] | None]:
    """W4 contact hours in the canonical form ``parse_contact_hours`` keeps; () no limit."""
    return (
        st.none()
        | st.just(())
        | weekly_schedules().map(
            lambda schedule: tuple((days, tuple(r)) for days, r in hours_spec(schedule).items())
        )
    )


_stop_words = st.none() | st.lists(
    _words | st.sampled_from(["baja", "Stop!", "no molestar", "DESUSCRIBIR", "cancelar ya"]),
    max_size=4,
).map(lambda words: tuple(dict.fromkeys(fold_stop_word(w) for w in words)))
"""W3 stop words, folded and deduplicated as ``parse_stop_words`` keeps them; () is none."""


def campaigns() -> st.SearchStrategy[Campaign]:
    """Campaigns with custom field templates, typification trees, collections policy,
    business hours, service levels and contact policy; each of the later fields
    is sometimes left at its default.

    Every campaign drawn reads back unchanged through ``make_campaign``.
    """
    fields = _valid_custom_field_defs()
    paths = st.lists(st.lists(_words, min_size=1, max_size=4).map(tuple), max_size=5)
    return st.builds(
        Campaign,
        id=_ids,
        name=names,
        kind=st.sampled_from(["sales", "support", "collections"]),
        region=st.sampled_from(["PE", "CL", "CO", "MX", "AR", "BR", "ES", "US"]),
        timezone=st.sampled_from(["America/Lima", "America/Bogota", "Europe/Madrid", "UTC"]),
        custom_fields=st.lists(fields, max_size=3, unique_by=lambda f: f.name).map(tuple),
        typifications=paths.map(lambda p: tuple(dict.fromkeys(p))),
        grace_days=st.integers(0, 10),
        horizon_days=st.integers(1, 90),
        tolerance=st.decimals(min_value=0, max_value=10, places=2),
        buckets=_bucket_limits(),
        hours=st.none() | weekly_schedules(),
        holidays=st.just(Holidays()) | holidays(),
        sla=st.none() | service_levels(),
        auto_resolve_after_h=st.none() | st.integers(1, 24 * DAYS_MAX),
        queue=st.just("") | _ids,
        contact_hours=_contact_hours(),
        max_daily_attempts=st.none() | st.integers(0, 1000),
        stop_words=_stop_words,
    )


def companies() -> st.SearchStrategy[Company]:
    """Companies, with or without tax id and address."""
    return st.builds(
        Company,
        id=_ids,
        name=names,
        tax_id=st.none() | st.just(Document(type="RUC", number="20100070970")),
        address=st.none() | addresses(),
        phone=st.none() | e164_phones,
    )


def lines() -> st.SearchStrategy[Line]:
    """Lines (business identifiers), some with queues for other campaigns (X4)."""
    return st.builds(
        Line,
        id=_ids,
        channel=st.sampled_from(list(Channel)),
        address=e164_phones,
        alias=names,
        campaign=_ids,
        queue=_ids,
        queues=st.dictionaries(_ids, _ids, max_size=3).map(lambda q: dict(sorted(q.items()))),
    )


def interactions() -> st.SearchStrategy[Interaction]:
    """Interactions as routing records them (ticket set)."""
    return st.builds(
        Interaction,
        at=aware_datetimes,
        channel=st.sampled_from(list(Channel)),
        direction=st.sampled_from(list(Direction)),
        customer=e164_phones,
        external_id=st.none() | _ids,
        line=st.none() | _ids,
        campaign=st.none() | _ids,
        agent=st.none() | _ids,
        text=st.none() | _text,
        status=st.none() | st.sampled_from(["answered", "no-answer", "busy"]),
        duration_s=st.none() | st.integers(0, 7200),
        ticket=st.integers(1, 10_000),
    )


def tickets() -> st.SearchStrategy[Ticket]:
    """Tickets in any status."""
    return st.builds(
        Ticket,
        number=st.integers(1, 10_000_000),
        campaign=_ids,
        customer=e164_phones,
        origin=st.sampled_from(list(Direction)),
        opened_at=aware_datetimes,
        status=st.sampled_from(list(TicketStatus)),
        queue=_ids,
        line=st.none() | _ids,
        alias=names,
        contact=st.none() | _ids,
        channels=st.lists(st.sampled_from(list(Channel)), unique=True).map(tuple),
        labels=st.lists(_ids, unique=True, max_size=3).map(tuple),
        assignee=st.none() | _ids,
        last_agent=st.none() | _ids,
        last_activity_at=st.none() | aware_datetimes,
        last_channel=st.none() | st.sampled_from(list(Channel)),
        last_action=_text,
        interactions=st.integers(0, 1000),
        closed_at=st.none() | aware_datetimes,
        closed_by=st.none() | _ids,
        paused_at=st.none() | aware_datetimes,
        snoozed_until=st.none() | aware_datetimes,
        pending_spans=st.lists(st.tuples(aware_datetimes, aware_datetimes), max_size=2).map(tuple),
    )


def typifications() -> st.SearchStrategy[Typification]:
    """Typification records."""
    return st.builds(
        Typification,
        ticket=st.integers(1, 10_000),
        campaign=_ids,
        at=aware_datetimes,
        path=st.lists(_words, min_size=1, max_size=4).map(tuple),
        customer=e164_phones,
        agent=st.none() | _ids,
        channel=st.none() | st.sampled_from(list(Channel)),
        line=st.none() | _ids,
        comment=_text,
    )


def comments() -> st.SearchStrategy[Comment]:
    """Case comments."""
    return st.builds(
        Comment,
        ticket=st.integers(1, 10_000),
        at=aware_datetimes,
        agent=_ids,
        text=_text,
        seq=st.none() | st.integers(1, 1000),
    )


def blocks() -> st.SearchStrategy[Block]:
    """Blocked identities."""
    return st.builds(
        Block, campaign=_ids, customer=e164_phones, at=aware_datetimes, agent=st.none() | _ids
    )


def opt_outs() -> st.SearchStrategy[OptOut]:
    """Opt-outs (W3), recorded by an agent or by the customer's stop word (no agent)."""
    return st.builds(
        OptOut,
        campaign=_ids,
        customer=e164_phones | _ids,
        channel=st.sampled_from(list(Channel)),
        at=aware_datetimes,
        agent=st.none() | _ids,
    )


def _per_family(digital: int, voice: int) -> st.SearchStrategy[PerFamily]:
    return st.builds(PerFamily, digital=st.integers(0, digital), voice=st.integers(0, voice))


def agents() -> st.SearchStrategy[Agent]:
    """Agents as ``make_agent`` builds them (A1): at least one queue, a capacity per family."""
    return st.builds(
        Agent,
        id=_ids,
        name=st.just("") | names,
        queues=st.lists(_ids, unique=True, min_size=1, max_size=3).map(tuple),
        capacity=_per_family(20, 5),
    )


def agent_states() -> st.SearchStrategy[AgentState]:
    """Agents with their presence, open tickets per family and last assignment (A2)."""
    return st.builds(
        AgentState,
        agent=agents(),
        presence=st.sampled_from(list(Presence)),
        open=_per_family(30, 5),
        last_assigned_at=st.none() | aware_datetimes,
        presence_at=st.none() | aware_datetimes,
    )


def waiting_tickets() -> st.SearchStrategy[WaitingTicket]:
    """Tickets waiting in a queue's line (A3), some of VIP contacts."""
    return st.builds(
        WaitingTicket,
        number=st.integers(1, 10_000_000),
        queue=_ids,
        family=st.sampled_from(list(Family)),
        opened_at=aware_datetimes,
        vip=st.booleans(),
    )


def _comma_free(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, ...]]:
    """Tuples of ids (no commas: version-2 events joined such lists with commas)."""
    return st.lists(strategy, max_size=3, unique=True).map(tuple)


_customers = e164_phones | _ids
_kinds_of_campaign = st.sampled_from(["sales", "support", "collections"])
_amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
_currencies = st.sampled_from(["PEN", "USD", "CLP"])

_PAYLOADS: dict[EventKind, st.SearchStrategy[Any]] = {
    EventKind.CAMPAIGN_DECLARED: st.builds(
        CampaignDeclared, kind=_kinds_of_campaign, region=st.sampled_from(["PE", "CL", "MX"])
    ),
    EventKind.LINE_DECLARED: st.builds(
        LineDeclared, line=_ids, channel=st.sampled_from(list(Channel))
    ),
    EventKind.CONTACT_CREATED: st.builds(
        ContactCreated,
        fields=_comma_free(_ids),
        fingerprint=st.none() | st.just("") | st.text("0123456789abcdef", min_size=64, max_size=64),
        copied_from=st.none() | _ids,
    ),
    EventKind.CONTACT_UPDATED: st.builds(ContactUpdated, fields=_comma_free(_ids)),
    EventKind.CONTACT_LINKED: st.one_of(
        st.builds(
            ContactLinked,
            how=st.sampled_from([LinkHow.AUTO, LinkHow.MANUAL]),
            customer=_customers,
        ),
        st.builds(ContactLinked, how=st.just(LinkHow.MERGE), customer=_customers, merged_from=_ids),
    ),
    EventKind.CONTACTS_MERGED: st.builds(
        ContactsMerged,
        into=_ids,
        merged_from=_ids,
        tickets=st.lists(st.integers(1, 10_000), max_size=3).map(tuple),
        products=_comma_free(_ids),
        conflicts=_comma_free(_ids),
    ),
    EventKind.TICKET_OPENED: st.builds(
        TicketOpened,
        customer=_customers,
        origin=st.sampled_from(list(Direction)),
        queue=st.just("") | _ids,
        alias=st.just("") | names,
        line=st.none() | _ids,
    ),
    EventKind.INTERACTION_ADDED: st.builds(
        InteractionAdded,
        interaction=interactions(),
        outcome=st.sampled_from([RouteOutcome.OPENED, RouteOutcome.JOINED, RouteOutcome.LATE]),
    ),
    EventKind.INTERACTION_REFUSED: st.builds(
        InteractionRefused,
        customer=_customers,
        # Routing writes "blocked"; the codec keeps any reason a later version writes.
        reason=st.just("blocked") | _ids,
        channel=st.sampled_from(list(Channel)),
        direction=st.sampled_from(list(Direction)),
        line=st.none() | _ids,
        external_id=st.none() | _ids,
        text=st.none() | _text,
    ),
    EventKind.TICKET_RESOLVED: st.just(TicketResolved()),
    EventKind.TICKET_TYPIFIED: st.builds(
        TicketTypified,
        path=st.lists(_words, min_size=1, max_size=4).map(tuple),
        customer=_customers,
        comment=_text,
        channel=st.none() | st.sampled_from(list(Channel)),
        line=st.none() | _ids,
    ),
    EventKind.TICKET_CANCELLED: st.builds(TicketCancelled, comments_removed=st.integers(0, 50)),
    EventKind.TICKET_LABELLED: st.builds(
        TicketLabelled, labels=st.lists(_text.filter(bool), max_size=3, unique=True).map(tuple)
    ),
    EventKind.TICKET_ASSIGNED: st.builds(TicketAssigned, assignee=st.none() | _ids),
    EventKind.COMMENT_ADDED: st.builds(
        CommentAdded, comment_seq=st.integers(1, 10_000), length=st.integers(1, 10_000)
    ),
    EventKind.IDENTITY_BLOCKED: st.builds(IdentityBlocked, customer=_customers),
    EventKind.IDENTITY_UNBLOCKED: st.builds(IdentityUnblocked, customer=_customers),
    EventKind.CONTACT_ANONYMIZED: st.builds(
        ContactAnonymized,
        **{name: st.integers(0, 1000) for name in attrs.fields_dict(ContactAnonymized)},
    ),
    EventKind.PRODUCT_DECLARED: st.builds(
        ProductDeclared, product=_ids, debt=_amounts, currency=_currencies
    ),
    EventKind.PAYMENT_RECORDED: st.builds(
        PaymentRecorded,
        payment=_ids,
        product=_ids,
        amount=_amounts,
        status=st.sampled_from([s.value for s in PaymentStatus]),
    ),
    EventKind.PAYMENT_REVERSED: st.builds(PaymentReversed, payment=_ids, product=_ids),
    EventKind.PROMISE_MADE: st.builds(PromiseMade, promise=_ids, product=_ids, total=_amounts),
    EventKind.PROMISE_CANCELLED: st.builds(PromiseCancelled, promise=_ids, product=_ids),
    EventKind.TICKET_PENDING: st.builds(TicketPending),
    EventKind.TICKET_SNOOZED: st.builds(TicketSnoozed, until=aware_datetimes),
    EventKind.AGENT_DECLARED: st.builds(
        AgentDeclared,
        agent=_ids,
        name=names,
        queues=st.lists(_ids, unique=True, min_size=1, max_size=3).map(tuple),
        digital=st.integers(0, 20),
        voice=st.integers(0, 5),
    ),
    EventKind.PRESENCE_CHANGED: st.builds(
        PresenceChanged, agent=_ids, status=st.sampled_from(["online", "away", "offline"])
    ),
    EventKind.OPTED_OUT: st.builds(
        OptedOut,
        customer=_customers,
        channel=st.sampled_from(list(Channel)),
        stop_word=st.booleans(),
    ),
    EventKind.OPTED_IN: st.builds(
        OptedIn, customer=_customers, channel=st.sampled_from(list(Channel))
    ),
}


def payloads(kind: EventKind) -> st.SearchStrategy[Payload]:
    """Payloads of one event kind, as the services write them."""
    return cast(st.SearchStrategy[Payload], _PAYLOADS[kind])


def events(kinds: Sequence[EventKind] | None = None) -> st.SearchStrategy[Event]:
    """Domain events of every kind (or of ``kinds``) with their typed payloads.

    As the services record them: an ``interaction_added`` event has its
    interaction's time, campaign, agent and ticket.
    """

    @st.composite
    def build(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Event:
        kind = draw(st.sampled_from(list(kinds or EventKind)))
        payload = draw(payloads(kind))
        at, actor = draw(aware_datetimes), draw(st.none() | _ids)
        campaign, ticket = draw(st.none() | _ids), draw(st.none() | st.integers(1, 10_000))
        if isinstance(payload, InteractionAdded):
            recorded = payload.interaction
            at, actor, campaign = recorded.at, recorded.agent, recorded.campaign
            ticket = recorded.ticket
        return Event(
            kind=kind,
            at=at,
            actor=actor,
            campaign=campaign,
            ticket=ticket,
            contact=draw(st.none() | _ids),
            payload=payload,
            seq=draw(st.none() | st.integers(1, 10_000)),
        )

    return build()


def money_amounts(
    currency: str | None = None, *, positive: bool = True
) -> st.SearchStrategy[Money]:
    """Money at its currency's minor unit (C1), positive by default."""

    @st.composite
    def build(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Money:
        code = currency or draw(st.sampled_from(["PEN", "USD", "CLP", "COP", "MXN", "EUR"]))
        places = MINOR_UNITS[code]
        cents = draw(st.integers(1 if positive else -(10**9), 10**9))
        return money(Decimal(cents).scaleb(-places), code)

    return build()


def products() -> st.SearchStrategy[Product]:
    """Products of collections campaigns, some with an installment schedule."""

    @st.composite
    def build(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Product:
        debt = draw(money_amounts())
        due = draw(_dates)
        schedule: tuple[ProductInstallment, ...] = ()
        if draw(st.booleans()):
            first = money(debt.amount / 2, debt.currency)
            rest = debt - first
            if first.amount > 0 and rest.amount > 0:
                schedule = (
                    ProductInstallment(due - dt.timedelta(days=30), first),
                    ProductInstallment(due, rest),
                )
        return Product(
            id=draw(_ids),
            campaign=draw(_ids),
            contact=draw(_ids),
            kind=draw(st.sampled_from(["loan", "card"])),
            debt=debt,
            due=due,
            installments=schedule,
        )

    return build()


def payments() -> st.SearchStrategy[Payment]:
    """Payments made, scheduled or reversed."""
    return st.builds(
        Payment,
        id=_ids,
        product=_ids,
        amount=money_amounts(),
        date=_dates,
        status=st.sampled_from(list(PaymentStatus)),
    )


def promises() -> st.SearchStrategy[Promise]:
    """Promises with one to three installments, some cancelled."""

    @st.composite
    def build(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Promise:
        currency = draw(st.sampled_from(["PEN", "CLP"]))
        made_on = draw(_dates)
        count = draw(st.integers(1, 3))
        installments = tuple(
            Installment(draw(money_amounts(currency)), made_on + dt.timedelta(days=i * 7))
            for i in range(count)
        )
        cancelled = draw(st.booleans())
        return Promise(
            id=draw(_ids),
            product=draw(_ids),
            campaign=draw(_ids),
            agent=draw(_ids),
            made_on=made_on,
            installments=installments,
            ticket=draw(st.none() | st.integers(1, 10_000)),
            customer=draw(st.none() | e164_phones),
            cancelled_on=made_on + dt.timedelta(days=1) if cancelled else None,
            cancelled_by=draw(_ids) if cancelled else None,
        )

    return build()


MODEL_STRATEGIES: dict[type, st.SearchStrategy[Any]] = {
    Money: money_amounts(),
    CustomFieldDef: custom_field_defs(),
    Installment: st.builds(Installment, amount=money_amounts(), date=_dates),
    ProductInstallment: st.builds(ProductInstallment, due=_dates, amount=money_amounts()),
    Product: products(),
    Payment: payments(),
    Promise: promises(),
    Document: documents(),
    ContactChannel: contact_channels(),
    Address: st.booleans().flatmap(addresses),
    Contact: contacts(retired=True),
    Campaign: campaigns(),
    WeeklySchedule: weekly_schedules(),
    Holidays: holidays(),
    ServiceLevels: service_levels(),
    Company: companies(),
    Line: lines(),
    Interaction: interactions(),
    Ticket: tickets(),
    Typification: typifications(),
    Comment: comments(),
    Block: blocks(),
    OptOut: opt_outs(),
    PerFamily: _per_family(20, 5),
    Agent: agents(),
    AgentState: agent_states(),
    WaitingTicket: waiting_tickets(),
    Event: events(),
    **{cls: payloads(kind) for kind, cls in PAYLOAD_TYPES.items()},
}
"""A strategy for each model class."""
