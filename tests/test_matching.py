"""Contact matching: candidate tiers (M3), linking (M4), merging (M5)."""

from __future__ import annotations

import contextlib
import datetime as dt
import doctest
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ccdomain.rules.matching
import ccdomain.rules.merge
import ccdomain.services.matching
from ccdomain import matching
from ccdomain.collections import Installment, Money, Payment, Product, Promise
from ccdomain.contacts import get_contact, resolve_contact_code
from ccdomain.documents import Document
from ccdomain.errors import (
    CcdomainError,
    DuplicateContact,
    InvalidPhoneNumber,
    RuleViolation,
    UnknownContact,
    UnknownTicket,
)
from ccdomain.events import ContactsMerged, EventKind
from ccdomain.matching import (
    Candidate,
    LinkOutcome,
    MatchTier,
    apply_merge,
    auto_link_contact,
    create_contact_from_ticket,
    decide_link,
    find_candidates,
    identity_candidates,
    link_ticket,
    link_ticket_to_contact,
    plan_merge,
)
from ccdomain.memory import MemoryStore
from ccdomain.models import (
    Address,
    Campaign,
    ChannelKind,
    Contact,
    ContactChannel,
    Direction,
    Ticket,
)
from ccdomain.phones import national_number, normalize_phone, phone_variants
from ccdomain.ports import Store
from ccdomain.tickets import rebuild_tickets, resolve_ticket, route_interaction

AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))


def phone(value: str, kind: ChannelKind = ChannelKind.PHONE) -> ContactChannel:
    return ContactChannel(kind=kind, value=value)


def person(
    code: str,
    *phones: str,
    campaign: str = "ventas",
    vip: bool = False,
    last: dt.datetime | None = None,
    **fields: Any,
) -> Contact:
    channels = tuple(phone(p) for p in phones) + tuple(fields.pop("channels", ()))
    return Contact(
        campaign=campaign, code=code, vip=vip, last_activity=last, channels=channels, **fields
    )


def store_with(*contacts: Contact, region: str = "PE") -> MemoryStore:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        uow.put_campaign(Campaign(id="ventas", region=region))
        uow.put_campaign(Campaign(id="soporte", region=region))
        for contact in contacts:
            uow.add_contact(contact)
        uow.commit()
    return store


def candidates(store: Store, raw: str, **kwargs: Any) -> list[Candidate]:
    with store.unit_of_work() as uow:
        return find_candidates(uow, phone=raw, **kwargs)


def codes(found: Sequence[Candidate]) -> list[str]:
    return [c.contact.code for c in found]


def open_ticket(store: Store, campaign: str, customer: str, contact: str | None) -> int:
    with store.unit_of_work() as uow:
        ticket, _ = uow.get_or_open_ticket(
            campaign,
            customer,
            lambda n: Ticket(
                number=n,
                campaign=campaign,
                customer=customer,
                origin=Direction.INBOUND,
                opened_at=AT,
                contact=contact,
            ),
        )
        uow.commit()
    return ticket.number


def snapshot(store: MemoryStore) -> tuple[Any, ...]:
    """Everything a refused operation must leave as it was (E2)."""
    with store.unit_of_work() as uow:
        return (
            list(uow.list_contacts()),
            list(uow.list_tickets()),
            list(uow.list_products()),
            list(uow.events()),
        )


# --- M3 tiers --------------------------------------------------------------------------------


def test_M3_each_tier_found_with_a_specific_reason() -> None:
    store = store_with(
        person("EXACT", "+51987654321"),
        person("NATIONAL", "+56987654321"),
        person("SUFFIX", "+51997654321"),
        person("NONE", "+51912345678"),
    )
    found = candidates(store, "987 654 321", campaign="ventas")
    assert [(c.contact.code, c.tier) for c in found] == [
        ("EXACT", MatchTier.EXACT),
        ("NATIONAL", MatchTier.NATIONAL),
        ("SUFFIX", MatchTier.SUFFIX),
    ]
    assert found[0].reason == "same number +51987654321"
    assert found[1].reason == (
        "same national number 987654321 (+56987654321 on the contact, +51987654321 searched)"
    )
    assert found[1].phone == "+56987654321"
    assert found[2].reason == "last 7 digits 7654321 agree (+51997654321 vs +51987654321)"


def test_M3_variant_tiers_mexico_brazil_argentina() -> None:
    store = store_with(
        person("MX", "+5215512345678"),
        person("BR", "+551187654321"),
        person("AR", "+54111523456789"),
    )
    mx = candidates(store, "+52 55 1234 5678")
    assert [(c.contact.code, c.tier) for c in mx] == [("MX", MatchTier.VARIANT)]
    assert "+5215512345678" in mx[0].reason and "Mexico" in mx[0].reason
    br = candidates(store, "(11) 98765-4321", region="BR")
    assert [(c.contact.code, c.tier) for c in br] == [("BR", MatchTier.VARIANT)]
    assert "Brazil ninth digit" in br[0].reason
    ar = candidates(store, "+54 9 11 2345-6789")
    assert [(c.contact.code, c.tier) for c in ar] == [("AR", MatchTier.VARIANT)]
    assert "15" in ar[0].reason and ar[0].phone == "+54111523456789"


def test_M3_suffix_reports_how_many_digits_agree() -> None:
    # A legacy import lost the leading 9 of a Peruvian mobile: the last 8 digits agree.
    store = store_with(person("OLD", "+5187654321"))
    [found] = candidates(store, "+51987654321")
    assert found.tier is MatchTier.SUFFIX
    assert found.reason.startswith("last 8 digits 87654321 agree")


def test_M3_a_contact_appears_once_at_its_best_tier() -> None:
    store = store_with(person("BOTH", "+51997654321", "+56987654321", "+51987654321"))
    [found] = candidates(store, "+51987654321")
    assert (found.tier, found.phone) == (MatchTier.EXACT, "+51987654321")


def test_M3_ties_same_campaign_then_vip_then_recent_activity() -> None:
    early, late = AT, AT + dt.timedelta(days=3)
    store = store_with(
        person("S-VIP", "+51987654321", campaign="soporte", vip=True, last=late),
        person("V-OLD", "+51987654321", last=early),
        person("V-NEVER", "+51987654321"),
        person("V-NEW", "+51987654321", last=late),
        person("V-VIP", "+51987654321", vip=True),
    )
    found = candidates(store, "987654321", campaign="ventas")
    assert codes(found) == ["V-VIP", "V-NEW", "V-OLD", "V-NEVER", "S-VIP"]
    # Without a campaign, VIP then activity decide across campaigns.
    assert codes(candidates(store, "987654321"))[:2] == ["S-VIP", "V-VIP"]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_M14_most_recent_activity_comes_from_the_contacts_tickets(kind: str, tmp_path: Any) -> None:
    from ccdomain.sqlite import SqliteStore

    twins = (person("V-A", "+51987654321"), person("V-B", "+51987654321"))
    store: Store = store_with(*twins) if kind == "memory" else SqliteStore(tmp_path / "s.db")
    if kind == "sqlite":
        with store.unit_of_work() as uow:
            uow.put_campaign(Campaign(id="ventas", region="PE"))
            for twin in twins:
                uow.add_contact(twin)
            uow.commit()
    # Nothing known: (campaign, code) decides.
    assert codes(candidates(store, "987654321", campaign="ventas")) == ["V-A", "V-B"]
    kw: dict[str, Any] = {"channel": "call", "direction": Direction.OUTBOUND, "agent": "ana"}
    first = route_interaction(store, at=AT, customer="987654321", campaign="ventas", **kw)
    assert first.ticket.contact is None  # two EXACT candidates: ambiguous (M4)
    number = first.ticket.number
    link_ticket(store, number=number, contact="V-B", agent="ana", at=AT)
    found = candidates(store, "987654321", campaign="ventas")
    assert codes(found) == ["V-B", "V-A"]
    assert [c.activity for c in found] == [AT, None]
    # A later interaction on V-B's ticket moves its activity; a host-set later
    # last_activity on V-A wins over it.
    later = AT + dt.timedelta(hours=2)
    route_interaction(store, at=later, customer="987654321", campaign="ventas", **kw)
    with store.unit_of_work() as uow:
        assert matching.contact_activity(uow, contact=twins[1]) == later
        uow.update_contact(attrs.evolve(twins[0], last_activity=later + dt.timedelta(days=1)))
        uow.commit()
    assert codes(candidates(store, "987654321", campaign="ventas")) == ["V-A", "V-B"]
    store.close()
    # A lone candidate is not ranked against anyone: no ticket is read for it.
    (alone,) = candidates(store_with(person("S", "+51911222333")), "911222333")
    assert alone.activity is None


def test_M3_tombstones_never_match_and_only_campaign_filters() -> None:
    store = store_with(
        person("LIVE", "+51987654321"),
        person("GONE", "+51987654321", merged_into="LIVE"),
        person("OTHER", "+51987654321", campaign="soporte"),
    )
    assert codes(candidates(store, "987654321", campaign="ventas")) == ["LIVE", "OTHER"]
    only = candidates(store, "987654321", campaign="ventas", only_campaign=True)
    assert codes(only) == ["LIVE"]
    with pytest.raises(RuleViolation, match="only_campaign"):
        candidates(store, "987654321", only_campaign=True)


def test_M3_number_without_country_code_read_in_the_campaigns_region() -> None:
    store = store_with(person("MX", "+525512345678", campaign="ventas"), region="MX")
    assert codes(candidates(store, "55 1234 5678", campaign="ventas")) == ["MX"]
    with pytest.raises(InvalidPhoneNumber, match="'98765'"):
        candidates(store, "98765", campaign="ventas")


class _IndexOnly:
    """A unit of work that refuses scans: the lookup must use the indexes (M3)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.lookups = 0

    def __getattr__(self, name: str) -> Any:
        if name.startswith("list_"):
            raise AssertionError(f"{name} scans the store")
        found = getattr(self._inner, name)
        if not name.startswith("contacts_by_"):
            return found

        def counted(*args: Any) -> Any:
            self.lookups += 1
            return found(*args)

        return counted


def test_M3_lookup_uses_index_lookups_only() -> None:
    store = store_with(*(person(f"C{i}", f"+5198765{i:04d}") for i in range(300)))
    with store.unit_of_work() as uow:
        spy = _IndexOnly(uow)
        found = find_candidates(spy, phone="+51987650007", campaign="ventas")
    assert found[0].contact.code == "C7" and found[0].tier is MatchTier.EXACT
    # One suffix lookup serves EXACT, NATIONAL and SUFFIX; Peru has no variants.
    assert spy.lookups == 1
    with store.unit_of_work() as uow:
        spy = _IndexOnly(uow)
        find_candidates(spy, phone="+52 55 1234 5678")
    assert spy.lookups == 2  # plus one EXACT lookup of the +52 1 variant


def test_M3_identity_candidates_match_any_phone_of_the_contact() -> None:
    me = person("ME", "+51987654321", "+525512345678")
    store = store_with(
        me,
        person("TWIN", "+51987654321"),
        person("MX-OLD", "+5215512345678"),
        person("OTHER", "+51911111111"),
    )
    with store.unit_of_work() as uow:
        found = identity_candidates(uow, contact=me)
    assert [(c.contact.code, c.tier) for c in found] == [
        ("TWIN", MatchTier.EXACT),
        ("MX-OLD", MatchTier.VARIANT),
    ]


# Stored phones: E.164 spellings of a few lines that collide in every tier.
POOL = (
    "+51987654321",
    "+56987654321",
    "+51997654321",
    "+5117654321",
    "+5187654321",
    "+51912345678",
    "+525512345678",
    "+5215512345678",
    "+525587654321",
    "+5511987654321",
    "+551187654321",
    "+5491123456789",
    "+541123456789",
    "+54111523456789",
    "+12025550123",
)


def _searchable(raw: str) -> bool:
    try:
        normalize_phone(raw, "PE")
    except InvalidPhoneNumber:
        return False
    return True


SEARCHABLE = tuple(p for p in POOL if _searchable(p))
TIMES = (None, AT, AT + dt.timedelta(hours=1), AT - dt.timedelta(days=2))


def _common(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def _phone_tier(p: str, searched: str) -> MatchTier | None:
    """The tier a stored phone earns for a searched number, recomputed from M3's words."""
    if p == searched:
        return MatchTier.EXACT
    if national_number(p) == national_number(searched):
        return MatchTier.NATIONAL
    if p in phone_variants(searched):
        return MatchTier.VARIANT
    if _common(national_number(p), national_number(searched)) >= 7:
        return MatchTier.SUFFIX
    return None


RANK = {MatchTier.EXACT: 0, MatchTier.NATIONAL: 1, MatchTier.SUFFIX: 2, MatchTier.VARIANT: 3}

contact_specs = st.lists(
    st.tuples(
        st.sampled_from(("ventas", "soporte")),
        st.booleans(),
        st.sampled_from(TIMES),
        st.lists(st.sampled_from(POOL), max_size=3, unique=True),
        st.booleans(),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=contact_specs,
    query=st.sampled_from(SEARCHABLE),
    campaign=st.sampled_from(("ventas", "soporte", None)),
)
def test_M3_every_candidate_is_justified_complete_and_ranked(
    specs: list[tuple[str, bool, dt.datetime | None, list[str], bool]],
    query: str,
    campaign: str | None,
) -> None:
    contacts = [
        person(
            f"K{i:02d}",
            *phones,
            campaign=camp,
            vip=vip,
            last=last,
            merged_into="K99" if dead else None,
        )
        for i, (camp, vip, last, phones, dead) in enumerate(specs)
    ]
    store = store_with(*contacts)
    searched = normalize_phone(query, "PE")
    found = candidates(store, query, campaign=campaign)

    expected: dict[str, MatchTier] = {}
    for c in contacts:
        tiers = [t for t in (_phone_tier(p, searched) for p in c.phones) if t is not None]
        if tiers and c.merged_into is None:
            expected[c.code] = min(tiers, key=RANK.__getitem__)
    assert {c.contact.code: c.tier for c in found} == expected
    for cand in found:
        assert cand.phone in cand.contact.phones or cand.tier is MatchTier.EXACT
        assert _phone_tier(cand.phone, searched) is cand.tier
        assert cand.phone in cand.reason
        if cand.tier is MatchTier.SUFFIX:
            digits = int(re.match(r"last (\d+) digits", cand.reason).group(1))  # type: ignore[union-attr]
            assert digits == _common(national_number(cand.phone), national_number(searched))

    def key(c: Candidate) -> tuple[Any, ...]:
        last = c.contact.last_activity
        return (
            RANK[c.tier],
            campaign is not None and c.contact.campaign != campaign,
            not c.contact.vip,
            last is None,
            -(last.timestamp()) if last else 0,
            c.contact.campaign,
            c.contact.code,
        )

    assert [key(c) for c in found] == sorted(key(c) for c in found)


JUNK = (
    None,
    42,
    3.5,
    b"987654321",
    object(),
    ["987654321"],
    "",
    "😀😀😀",
    "9" * 10_000,
    "98765\x00 4321",
    "\x1b[31m987654321",
    "+51 987 654 321 ext 5",
)


@pytest.mark.parametrize("junk", JUNK, ids=lambda v: repr(v)[:20])
def test_M3_junk_into_find_candidates_raises_only_ccdomain_errors(junk: object) -> None:
    store = store_with(person("A", "+51987654321"))
    with store.unit_of_work() as uow:
        must_refuse = (
            lambda: find_candidates(uow, phone=junk),  # type: ignore[arg-type]
            lambda: find_candidates(junk, phone="987654321"),  # type: ignore[arg-type]
            lambda: identity_candidates(uow, contact=junk),  # type: ignore[arg-type]
            lambda: plan_merge(uow, campaign="ventas", into="A", source=junk),  # type: ignore[arg-type]
            lambda: plan_merge(junk, campaign="ventas", into="A", source="A"),  # type: ignore[arg-type]
        )
        for call in must_refuse:
            with pytest.raises(CcdomainError) as info:
                call()
            assert len(str(info.value)) < 400
        may_accept = (  # None is a valid campaign or region here
            lambda: find_candidates(uow, phone="987654321", campaign=junk),  # type: ignore[arg-type]
            lambda: find_candidates(uow, phone="987654321", region=junk),  # type: ignore[arg-type]
            lambda: plan_merge(uow, campaign=junk, into="A", source="B"),  # type: ignore[arg-type]
            lambda: decide_link(junk, "ventas"),  # type: ignore[arg-type]
            lambda: decide_link([], junk),  # type: ignore[arg-type]
        )
        for call in may_accept:
            with contextlib.suppress(CcdomainError):
                call()


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40) | st.binary(max_size=10) | st.integers() | st.none())
def test_M3_random_junk_raises_only_ccdomain_errors(junk: object) -> None:
    store = store_with(person("A", "+51987654321"))
    with store.unit_of_work() as uow:
        with contextlib.suppress(CcdomainError):
            find_candidates(uow, phone=junk)  # type: ignore[arg-type]
        for args in ((junk, "A"), ("A", junk)):
            with pytest.raises(CcdomainError):
                plan_merge(uow, campaign="ventas", into=args[0], source=args[1])  # type: ignore[arg-type]


# --- M4 linking -------------------------------------------------------------------------------


def exact(code: str, campaign: str = "ventas") -> Candidate:
    return Candidate(
        contact=person(code, "+51987654321", campaign=campaign),
        tier=MatchTier.EXACT,
        reason="same number +51987654321",
        phone="+51987654321",
    )


def test_M4_exactly_one_exact_in_campaign_links() -> None:
    suffix = attrs.evolve(exact("S"), tier=MatchTier.SUFFIX)
    decision = decide_link([suffix, exact("A"), exact("X", "soporte")], "ventas")
    assert decision.linked and decision.contact_code == "A"
    assert decision.outcome is LinkOutcome.LINKED
    assert codes(decision.candidates) == ["A", "S"]
    assert codes(decision.elsewhere) == ["X"]


def test_M4_two_exact_in_campaign_is_ambiguous_and_no_link() -> None:
    decision = decide_link([exact("A"), exact("B")], "ventas")
    assert decision.contact_code is None and decision.ambiguous
    assert "A" in decision.reason and "B" in decision.reason and "choose" in decision.reason
    assert codes(decision.candidates) == ["A", "B"]


def test_M4_exact_only_in_another_campaign_or_weaker_tiers_never_link() -> None:
    assert decide_link([exact("X", "soporte")], "ventas").outcome is LinkOutcome.NO_MATCH
    national = attrs.evolve(exact("N"), tier=MatchTier.NATIONAL)
    decision = decide_link([national], "ventas")
    assert decision.outcome is LinkOutcome.UNCONFIRMED and decision.contact_code is None
    assert codes(decision.candidates) == ["N"]


@settings(max_examples=80, deadline=None)
@given(specs=contact_specs, query=st.sampled_from(SEARCHABLE))
def test_M4_auto_link_agrees_with_decide_link(
    specs: list[tuple[str, bool, dt.datetime | None, list[str], bool]], query: str
) -> None:
    store = store_with(
        *(
            person(f"K{i}", *phones, campaign=camp, merged_into="K99" if dead else None)
            for i, (camp, _, _, phones, dead) in enumerate(specs)
        )
    )
    customer = normalize_phone(query, "PE")
    with store.unit_of_work() as uow:
        decision = decide_link(find_candidates(uow, phone=customer), "ventas")
        assert auto_link_contact(uow, campaign="ventas", customer=customer) == decision.contact_code


def test_M4_routing_links_on_one_exact_and_leaves_ambiguous_unlinked() -> None:
    store = store_with(
        person("ONE", "+51987654321"),
        person("TWIN1", "+51912345678"),
        person("TWIN2", "+51912345678"),
    )
    kw: dict[str, Any] = {"at": AT, "channel": "call", "direction": "outbound"}
    one = route_interaction(store, customer="987654321", campaign="ventas", **kw)
    two = route_interaction(store, customer="912345678", campaign="ventas", **kw)
    assert one.ticket.contact == "ONE"
    assert two.ticket.contact is None


def test_M4_manual_link_to_a_candidate() -> None:
    store = store_with(person("TWIN1", "+51912345678"), person("TWIN2", "+51912345678"))
    number = open_ticket(store, "ventas", "+51912345678", None)
    ticket = link_ticket(store, number=number, contact="TWIN2", agent="ana", at=AT)
    assert ticket.contact == "TWIN2"
    with store.unit_of_work() as uow:
        assert uow.get_ticket(number).contact == "TWIN2"  # type: ignore[union-attr]
        linked = [e for e in uow.events() if e.kind is EventKind.CONTACT_LINKED]
    assert [(e.ticket, e.contact, e.actor) for e in linked] == [(number, "TWIN2", "ana")]


def test_M4_manual_link_refuses_unknown_contact_or_ticket_and_changes_nothing() -> None:
    store = store_with(person("A", "+51912345678"), person("S", "+51912345678", campaign="soporte"))
    number = open_ticket(store, "ventas", "+51912345678", None)
    before = snapshot(store)
    with pytest.raises(UnknownContact):
        link_ticket(store, number=number, contact="NADIE", agent="ana", at=AT)
    # "S" is Soporte's only: X5 copies it into Ventas and links the copy (it was refused).
    with pytest.raises(UnknownContact):
        link_ticket(store, number=number, contact="S", from_campaign="ventas", agent="a", at=AT)
    with pytest.raises(UnknownTicket):
        link_ticket(store, number=999, contact="A", agent="ana", at=AT)
    with pytest.raises(UnknownTicket):
        link_ticket(store, number="1", contact="A", agent="ana", at=AT)  # type: ignore[arg-type]
    assert snapshot(store) == before


def test_M4_create_contact_from_ticket_code_is_document_phone_added_ticket_linked() -> None:
    store = store_with()
    routed = route_interaction(
        store,
        at=AT,
        channel="call",
        direction="outbound",
        customer="912 345 678",
        campaign="soporte",
    )
    contact = create_contact_from_ticket(
        store,
        number=routed.ticket.number,
        first_names="José",
        last_names="Pérez Soto",
        document={"type": "DNI", "number": "12.345.678"},
        channels=[{"kind": "email", "value": "Jose@Example.com"}],
        agent="ana",
        at=AT,
    )
    assert (contact.campaign, contact.code) == ("soporte", "12345678")
    assert contact.phones == ("+51912345678",)
    assert ContactChannel(kind=ChannelKind.EMAIL, value="jose@example.com") in contact.channels
    with store.unit_of_work() as uow:
        assert uow.get_ticket(routed.ticket.number).contact == "12345678"  # type: ignore[union-attr]
        kinds = [e.kind for e in uow.events()][-2:]
    assert kinds == [EventKind.CONTACT_CREATED, EventKind.CONTACT_LINKED]
    # The next ticket of that phone links by itself (one EXACT candidate, M4).
    resolve_ticket(store, number=routed.ticket.number, agent="ana", at=AT)
    again = route_interaction(
        store,
        at=AT + dt.timedelta(days=1),
        channel="whatsapp",
        direction="outbound",
        customer="+51912345678",
        campaign="soporte",
        template="aviso",  # W1: the customer has not written on a line
    )
    assert again.ticket.contact == "12345678"


def test_M4_create_contact_from_ticket_refused_changes_nothing() -> None:
    store = store_with(person("12345678", "+51987654321"))
    number = open_ticket(store, "ventas", "+51912345678", None)
    linked = open_ticket(store, "ventas", "+51987654321", "12345678")
    before = snapshot(store)
    with pytest.raises(DuplicateContact):
        create_contact_from_ticket(
            store, number=number, document=("DNI", "12345678"), agent="ana", at=AT
        )
    with pytest.raises(RuleViolation, match="already linked"):
        create_contact_from_ticket(store, number=linked, first_names="X", agent="ana", at=AT)
    with pytest.raises(UnknownTicket):
        create_contact_from_ticket(store, number=404, agent="ana", at=AT)
    with pytest.raises(CcdomainError):
        create_contact_from_ticket(
            store, number=number, channels=[{"kind": "phone", "value": "😀"}], agent="a", at=AT
        )
    assert snapshot(store) == before


# --- M5 merge ---------------------------------------------------------------------------------


def pen(amount: str) -> Money:
    return Money(Decimal(amount), "PEN")


def merge_store() -> MemoryStore:
    a = person(
        "A",
        "+51987654321",
        first_names="José",
        last_names="Pérez",
        document=Document(type="DNI", number="12345678"),
        gender="",
        tags=("moroso", "VIP-2024"),
        addresses=(Address(line="Av. Arequipa 123", city="Lima", primary=True),),
        custom={"plan": "A", "score": Decimal("3")},
        last=AT,
    )
    b = person(
        "B",
        "+51987654321",
        "+51912345678",
        first_names="Jose Luis",
        last_names="",
        company="ACME SAC",
        vip=True,
        gender="M",
        tags=("Moroso", "nuevo"),
        addresses=(
            Address(line="av. arequipa  123", city="LIMA", primary=True),
            Address(line="Jr. Cusco 45", city="Lima"),
        ),
        custom={"plan": "B", "segment": "oro"},
        channels=(phone("jose@example.com", ChannelKind.EMAIL),),
        last=AT + dt.timedelta(days=1),
    )
    store = store_with(a, b)
    with store.unit_of_work() as uow:
        uow.put_product(
            Product(
                id="P-1",
                campaign="ventas",
                contact="B",
                kind="loan",
                debt=pen("1500.00"),
                due=dt.date(2026, 10, 1),
            )
        )
        uow.put_payment(
            Payment(id="PAY-1", product="P-1", amount=pen("100.00"), date=dt.date(2026, 11, 2))
        )
        uow.put_promise(
            Promise(
                id="PR-1",
                product="P-1",
                campaign="ventas",
                agent="ana",
                made_on=dt.date(2026, 11, 1),
                installments=(Installment(pen("100.00"), dt.date(2026, 11, 5)),),
            )
        )
        uow.commit()
    open_ticket(store, "ventas", "+51987654321", "A")  # 1
    open_ticket(store, "ventas", "+51912345678", "B")  # 2
    return store


def test_M5_plan_lists_conflicts_winners_open_ticket_pairs_and_moves() -> None:
    store = merge_store()
    plan = plan_merge(store, campaign="ventas", into="A", source="B")
    conflicts = {c.field: (c.a_value, c.b_value, c.winner) for c in plan.conflicts}
    assert conflicts == {
        "first_names": ("José", "Jose Luis", "José"),
        "custom.plan": ("A", "B", "A"),
    }
    assert plan.open_ticket_pairs == ((1, 2),)
    assert plan.moves.tickets == (2,)
    assert plan.moves.products == ("P-1",)
    assert (plan.moves.payments, plan.moves.promises) == (("PAY-1",), ("PR-1",))
    merged = plan.merged
    assert merged.code == "A" and merged.first_names == "José"
    assert (merged.last_names, merged.company, merged.gender) == ("Pérez", "ACME SAC", "M")
    assert merged.document == Document(type="DNI", number="12345678")
    assert merged.custom == {"plan": "A", "score": Decimal("3"), "segment": "oro"}
    assert merged.last_activity == AT + dt.timedelta(days=1)
    # Planning writes nothing.
    assert get_contact(store, campaign="ventas", code="B").merged_into is None


def test_M5_apply_merge_unions_and_repoints_everything() -> None:
    store = merge_store()
    merged = apply_merge(
        store, plan=plan_merge(store, campaign="ventas", into="A", source="B"), agent="sup1", at=AT
    )
    assert merged.vip is True
    assert merged.phones == ("+51987654321", "+51912345678")
    assert [c.value for c in merged.channels if c.kind is ChannelKind.EMAIL] == ["jose@example.com"]
    assert merged.tags == ("moroso", "VIP-2024", "nuevo")
    assert [(a.line, a.primary) for a in merged.addresses] == [
        ("Av. Arequipa 123", True),
        ("Jr. Cusco 45", False),
    ]
    with store.unit_of_work() as uow:
        assert uow.get_contact("ventas", "A") == merged
        tomb = uow.get_contact("ventas", "B")
        assert tomb is not None and tomb.merged_into == "A" and tomb.channels == ()
        assert resolve_contact_code(uow, campaign="ventas", code="B") == "A"
        assert [t.number for t in uow.tickets_for_contact("ventas", "A")] == [1, 2]
        assert uow.tickets_for_contact("ventas", "B") == []
        assert [p.id for p in uow.products_for_contact("ventas", "A")] == ["P-1"]
        assert [p.id for p in uow.payments_for_product("P-1")] == ["PAY-1"]
        assert codes(find_candidates(uow, phone="+51912345678")) == ["A"]
        merges = [e for e in uow.events() if e.kind is EventKind.CONTACTS_MERGED]
    assert [(e.contact, e.actor) for e in merges] == [("A", "sup1")]
    merged = merges[0].payload
    assert isinstance(merged, ContactsMerged) and (merged.into, merged.merged_from) == ("A", "B")
    assert "José" not in repr(merged)  # field names, never values


def test_M5_merge_events_rebuild_the_ticket_links() -> None:
    store = store_with(person("A", "+51987654321"), person("B", "+51912345678"))
    kw: dict[str, Any] = {"at": AT, "channel": "sms", "direction": "outbound"}
    route_interaction(store, customer="987654321", campaign="ventas", **kw)
    route_interaction(store, customer="912345678", campaign="ventas", **kw)
    apply_merge(
        store, plan=plan_merge(store, campaign="ventas", into="A", source="B"), agent="sup1", at=AT
    )
    with store.unit_of_work() as uow:
        tickets = list(uow.list_tickets())
        assert [t.contact for t in tickets] == ["A", "A"]
        assert rebuild_tickets(uow.events()) == tickets  # T11: the log alone tells the links


def test_M5_late_interactions_for_B_land_on_A() -> None:
    store = merge_store()
    apply_merge(
        store, plan=plan_merge(store, campaign="ventas", into="A", source="B"), agent="sup1", at=AT
    )
    kw: dict[str, Any] = {"channel": "whatsapp", "direction": "outbound", "campaign": "ventas"}
    kw["template"] = "aviso"  # W1: the customer has not written on a line
    late = route_interaction(store, at=AT + dt.timedelta(hours=2), customer="912345678", **kw)
    assert (late.ticket.number, late.ticket.contact) == (2, "A")
    resolve_ticket(store, number=2, agent="ana", at=AT + dt.timedelta(hours=3))
    fresh = route_interaction(store, at=AT + dt.timedelta(days=2), customer="912345678", **kw)
    assert fresh.ticket.number != 2 and fresh.ticket.contact == "A"
    # A link naming B's old code (a late replay line) lands on A too.
    ticket = link_ticket(store, number=fresh.ticket.number, contact="B", agent="ana", at=AT)
    assert ticket.contact == "A"
    assert get_contact(store, campaign="ventas", code="B").code == "A"


def test_M5_refusals_change_nothing() -> None:
    store = merge_store()
    with store.unit_of_work() as uow:
        uow.add_contact(person("S", "+51987654321", campaign="soporte"))
        uow.add_contact(person("T", merged_into="A"))
        uow.add_contact(person("ANON", anonymized=True))
        uow.commit()
    before = snapshot(store)
    with pytest.raises(RuleViolation, match=r"'soporte'.*'ventas'"):
        plan_merge(store, campaign="ventas", into="A", source="S", from_campaign="soporte")
    with pytest.raises(RuleViolation, match="into itself"):
        plan_merge(store, campaign="ventas", into="A", source="A")
    with pytest.raises(RuleViolation, match="already merged"):
        plan_merge(store, campaign="ventas", into="A", source="T")
    with pytest.raises(RuleViolation, match="already merged"):
        plan_merge(store, campaign="ventas", into="T", source="B")
    with pytest.raises(RuleViolation, match="anonymized"):
        plan_merge(store, campaign="ventas", into="A", source="ANON")
    with pytest.raises(UnknownContact, match="'NOPE'"):
        plan_merge(store, campaign="ventas", into="A", source="NOPE")
    with pytest.raises(UnknownContact):
        plan_merge(store, campaign="ventas", into="S", source="A")  # S is not a contact of ventas
    plan = plan_merge(store, campaign="ventas", into="A", source="B")
    for bad in ({"agent": ""}, {"at": AT.replace(tzinfo=None)}, {"agent": None}):
        with pytest.raises(RuleViolation):
            apply_merge(store, plan=plan, **{"agent": "sup1", "at": AT, **bad})
    with pytest.raises(RuleViolation):
        apply_merge(store, plan="plan", agent="sup1", at=AT)  # type: ignore[arg-type]
    assert snapshot(store) == before


def test_M5_stale_plan_refused() -> None:
    store = merge_store()
    plan = plan_merge(store, campaign="ventas", into="A", source="B")
    open_ticket(store, "ventas", "+51955555555", "B")  # B gains a ticket after planning
    before = snapshot(store)
    with pytest.raises(RuleViolation, match="stale"):
        apply_merge(store, plan=plan, agent="sup1", at=AT)
    assert snapshot(store) == before
    # An edit of A also makes it stale; a fresh plan applies.
    with store.unit_of_work() as uow:
        a = uow.get_contact("ventas", "A")
        assert a is not None
        uow.update_contact(attrs.evolve(a, notes="llamar tarde"))
        uow.commit()
    with pytest.raises(RuleViolation, match="stale"):
        apply_merge(store, plan=plan, agent="sup1", at=AT)
    apply_merge(
        store, plan=plan_merge(store, campaign="ventas", into="A", source="B"), agent="sup1", at=AT
    )
    with pytest.raises(RuleViolation, match="already merged"):
        apply_merge(store, plan=plan, agent="sup1", at=AT)


def test_M5_merge_inside_a_unit_of_work_plans_on_it() -> None:
    store = merge_store()
    with store.unit_of_work() as uow:
        plan = plan_merge(uow, campaign="ventas", into="A", source="B")
        apply_merge(store, plan=plan, agent="sup1", at=AT)  # joins the outer unit of work
        uow.rollback()
    assert (
        get_contact(store, campaign="ventas", code="B").code == "B"
    )  # rolled back with the outer one


def _key(text: str) -> str:
    from ccdomain.contacts import fold

    return " ".join(fold(text).split())


channels_st = st.lists(
    st.sampled_from(
        (
            phone("+51987654321"),
            phone("+51912345678"),
            phone("+51987654321", ChannelKind.WHATSAPP),
            phone("ana@example.com", ChannelKind.EMAIL),
            phone("ANA@example.com", ChannelKind.EMAIL),
            phone("pepe.ig", ChannelKind.INSTAGRAM),
        )
    ),
    max_size=4,
    unique=True,
)
addresses_st = st.lists(
    st.sampled_from(
        (
            Address(line="Av. Arequipa 123", city="Lima"),
            Address(line="AV. AREQUIPA 123", city="lima"),
            Address(line="Jr. Cusco 45", city="Lima"),
            Address(line="Calle Ñandú 9", district="Surco"),
        )
    ),
    max_size=3,
    unique=True,
).map(lambda items: tuple(attrs.evolve(a, primary=i == 0) for i, a in enumerate(items)))
tags_st = st.lists(st.sampled_from(("moroso", "Moroso", "nuevo", "VIP", "José")), max_size=3)
side_st = st.fixed_dictionaries(
    {
        "channels": channels_st,
        "addresses": addresses_st,
        "tags": tags_st.map(tuple),
        "vip": st.booleans(),
        "first_names": st.sampled_from(("", "José", "Ana")),
        "tickets": st.integers(0, 2),
        "products": st.integers(0, 2),
    }
)


@settings(max_examples=60, deadline=None)
@given(a=side_st, b=side_st)
def test_M5_applied_merge_loses_no_channel_address_tag_or_reference(
    a: dict[str, Any], b: dict[str, Any]
) -> None:
    store = store_with()
    refs: dict[str, list[int]] = {}
    products: list[str] = []
    for code, side in (("A", a), ("B", b)):
        with store.unit_of_work() as uow:
            uow.add_contact(
                Contact(
                    campaign="ventas",
                    code=code,
                    channels=tuple(side["channels"]),
                    addresses=side["addresses"],
                    tags=side["tags"],
                    vip=side["vip"],
                    first_names=side["first_names"],
                )
            )
            for i in range(side["products"]):
                products.append(f"{code}-{i}")
                uow.put_product(
                    Product(
                        id=f"{code}-{i}",
                        campaign="ventas",
                        contact=code,
                        kind="card",
                        debt=pen("10"),
                        due=dt.date(2026, 1, 1),
                    )
                )
            uow.commit()
        digit = "1" if code == "A" else "2"
        refs[code] = [
            open_ticket(store, "ventas", f"+51955555{digit}{i}0", code)
            for i in range(side["tickets"])
        ]
    plan = plan_merge(store, campaign="ventas", into="A", source="B")
    merged = apply_merge(store, plan=plan, agent="sup1", at=AT)

    def chan_key(c: ContactChannel) -> tuple[str, str]:
        return (c.kind, c.value if c.kind in ("phone", "whatsapp") else c.value.casefold())

    for side in (a, b):
        assert {chan_key(c) for c in side["channels"]} <= {chan_key(c) for c in merged.channels}
        assert {_key(t) for t in side["tags"]} <= {_key(t) for t in merged.tags}
        assert {_key(x.line) for x in side["addresses"]} <= {_key(x.line) for x in merged.addresses}
    assert len({chan_key(c) for c in merged.channels}) == len(merged.channels)
    assert len({_key(t) for t in merged.tags}) == len(merged.tags)
    assert sum(x.primary for x in merged.addresses) == (1 if merged.addresses else 0)
    if a["addresses"]:
        assert merged.addresses[0] == a["addresses"][0]
    assert merged.vip == (a["vip"] or b["vip"])
    assert merged.first_names == (a["first_names"] or b["first_names"])
    with store.unit_of_work() as uow:
        numbers = [t.number for t in uow.tickets_for_contact("ventas", "A")]
        assert numbers == sorted(refs["A"] + refs["B"])
        assert uow.tickets_for_contact("ventas", "B") == []
        assert sorted(p.id for p in uow.products_for_contact("ventas", "A")) == sorted(products)
        assert resolve_contact_code(uow, campaign="ventas", code="B") == "A"
        for p in merged.phones:
            assert "A" in codes(find_candidates(uow, phone=p)) and "B" not in codes(
                find_candidates(uow, phone=p)
            )


def test_M1_matching_reexports_normalize_phone() -> None:
    assert matching.normalize_phone("987 654 321", "PE") == "+51987654321"


def test_M3_doctests_of_the_matching_modules() -> None:
    for module in (ccdomain.rules.matching, ccdomain.rules.merge, ccdomain.services.matching):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_M3_readers_take_a_store_or_a_unit_of_work_alike() -> None:
    me = person("ME", "+51987654321")
    store = store_with(me, person("TWIN", "+51987654321", last=AT), person("B", "+51912345678"))
    with store.unit_of_work() as uow:
        in_uow = (
            find_candidates(uow, phone="987654321", campaign="ventas"),
            identity_candidates(uow, contact=me),
            matching.contact_activity(uow, contact=me),
            auto_link_contact(uow, campaign="ventas", customer="+51912345678"),
            plan_merge(uow, campaign="ventas", into="ME", source="TWIN"),
        )
    assert in_uow == (
        find_candidates(store, phone="987654321", campaign="ventas"),
        identity_candidates(store, contact=me),
        matching.contact_activity(store, contact=me),
        auto_link_contact(store, campaign="ventas", customer="+51912345678"),
        plan_merge(store, campaign="ventas", into="ME", source="TWIN"),
    )
    assert codes(in_uow[0]) == ["TWIN", "ME"] and in_uow[3] == "B"


# --- the API convention: old call shapes and names warn and still work -----------------------


def test_M3_old_positional_calls_of_the_readers_warn_and_still_work() -> None:
    me = person("ME", "+51987654321")
    store = store_with(me, person("TWIN", "+51987654321"))
    with store.unit_of_work() as uow:
        calls: dict[str, Callable[[], Any]] = {
            "find_candidates": lambda: find_candidates(uow, "987654321"),  # type: ignore[call-arg]
            "identity_candidates": lambda: identity_candidates(uow, me),  # type: ignore[call-arg]
            "contact_activity": lambda: matching.contact_activity(uow, me),  # type: ignore[call-arg]
            "auto_link_contact": lambda: auto_link_contact(uow, "ventas", "+51987654321"),  # type: ignore[call-arg]
        }
        results: dict[str, Any] = {}
        for name, call in calls.items():
            with pytest.warns(DeprecationWarning, match=rf"{name}\(\) with positional"):
                results[name] = call()
    assert codes(results["find_candidates"]) == ["ME", "TWIN"]
    assert codes(results["identity_candidates"]) == ["TWIN"]
    assert results["contact_activity"] is None and results["auto_link_contact"] is None


def test_M5_old_plan_merge_and_apply_merge_calls_warn_and_still_work() -> None:
    store = store_with(person("A", "+51987654321"), person("B", "+51912345678"))
    with pytest.warns(DeprecationWarning, match=r"plan_merge\(\) with positional campaign"):
        plan = plan_merge(store, "ventas", "A", "B")  # type: ignore[call-arg]
    with pytest.warns(DeprecationWarning, match="into_code=.*from_code="):
        assert plan_merge(store, campaign="ventas", into_code="A", from_code="B") == plan  # type: ignore[call-arg]
    with pytest.warns(DeprecationWarning, match=r"apply_merge\(\) with positional plan"):
        merged = apply_merge(store, plan, agent="sup1", at=AT)  # type: ignore[call-arg]
    assert merged.code == "A" and get_contact(store, campaign="ventas", code="B").code == "A"


def test_M4_link_ticket_to_contact_is_a_deprecated_alias_of_link_ticket() -> None:
    store = store_with(person("TWIN1", "+51912345678"), person("TWIN2", "+51912345678"))
    number = open_ticket(store, "ventas", "+51912345678", None)
    with pytest.warns(DeprecationWarning, match=r"link_ticket_to_contact\(\).*link_ticket\(\)"):
        ticket = link_ticket_to_contact(
            store, number=number, contact_code="TWIN2", agent="ana", at=AT
        )
    assert ticket.contact == "TWIN2"
    # The old name required an agent; it still does.
    with pytest.warns(DeprecationWarning), pytest.raises(RuleViolation, match="agent"):
        link_ticket_to_contact(store, number=number, contact_code="TWIN1", agent=None, at=AT)
