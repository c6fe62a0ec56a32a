"""One check per rule (E3): ``ccdomain.checks``, and the disagreements between modules it ended.

Before it, seven text checkers disagreed on limits and forbidden characters, the
ticket-number check of matching took 0, contacts refused a merged contact that
tickets followed, matching and replay had two "same address" keys, and replay
compared raw input with stripped stored values. Each test below fails if one of
those comes back.
"""

from __future__ import annotations

import ast
import datetime as dt
import doctest
import itertools
import json
import sys
import unicodedata
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdomain import checks, identities, matching, tickets
from ccdomain import collections as coll
from ccdomain import contacts as ct
from ccdomain.errors import (
    CcdomainError,
    InvalidEvent,
    InvalidPromise,
    RuleViolation,
    UnknownTicket,
)
from ccdomain.listings import contact_rows, ticket_rows, typification_rows
from ccdomain.memory import MemoryStore
from ccdomain.models import Address
from ccdomain.ports import Store
from ccdomain.replay import apply_event, replay
from ccdomain.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
LATER = AT + dt.timedelta(hours=1)
DAY = dt.date(2026, 11, 20)

BASE: list[dict[str, Any]] = [
    {
        "type": "campaign",
        "id": "ventas",
        "region": "PE",
        "typifications": [["Contactado", "Venta"], ["No contactado"]],
    },
    {"type": "campaign", "id": "cobranzas", "region": "PE", "kind": "collections"},
    {
        "type": "line",
        "id": "wa",
        "channel": "whatsapp",
        "address": "+51 1 7001111",
        "campaign": "ventas",
    },
    {
        "type": "line",
        "id": "tel-cob",
        "channel": "call",
        "address": "+51 1 7003333",
        "campaign": "cobranzas",
    },
    {
        "type": "contact",
        "campaign": "ventas",
        "first_names": "José",
        "document": {"type": "DNI", "number": "12345678"},
        "channels": [{"kind": "phone", "value": "987 654 321"}],
    },
    {
        "type": "interaction",
        "id": "m1",
        "at": AT.isoformat(),
        "channel": "whatsapp",
        "direction": "inbound",
        "line": "wa",
        "customer": "987654321",
        "text": "Hola",
    },
]

# Characters no identifier may hold: controls (C0, C1), lone surrogates, format
# characters (Cf), separators and whitespace other than the space.
UNSEEN = [
    "\x00",
    "\x1b",
    "\x7f",
    "\x85",
    "\ud800",
    "\udfff",
    "\u200b",
    "\u200f",
    "\u202e",
    "\ufeff",
    "\u2060",
    "\u2028",
    "\u2029",
    "\u00a0",
    "\u3000",
    "\t",
    "\n",
]


def lines(*events: dict[str, Any]) -> list[str]:
    return [json.dumps(e, ensure_ascii=False) for e in events]


def based(store: Store, *more: dict[str, Any]) -> Store:
    """``store`` holding BASE (and ``more``): two campaigns, two lines, José, ticket 1."""
    for i, event in enumerate((*BASE, *more), start=1):
        apply_event(store, event, line_no=i)
    return store


def listings(store: Store) -> tuple[Any, ...]:
    return ticket_rows(store), contact_rows(store), typification_rows(store)


def event_count(store: Store) -> int:
    with store.unit_of_work() as uow:
        return sum(1 for _ in uow.events())


_SQLITE_FILES = itertools.count()


@pytest.fixture
def both_stores(tmp_path: Path) -> Iterator[Callable[[], list[Store]]]:
    """A maker of a fresh (memory, SQLite) pair; the SQLite files are closed at the end."""
    made: list[SqliteStore] = []

    def make() -> list[Store]:
        sqlite = SqliteStore(tmp_path / f"cc{next(_SQLITE_FILES)}.sqlite")
        made.append(sqlite)
        return [MemoryStore(), sqlite]

    yield make
    for store in made:
        store.close()


# --- the checks themselves ---------------------------------------------------------------


def test_E3_doctests() -> None:
    assert doctest.testmod(checks).failed == 0


def test_E3_checks_is_the_bottom_layer() -> None:
    tree = ast.parse((ROOT / "src" / "ccdomain" / "checks.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    own = {name for name in imported if name.split(".")[0] == "ccdomain"}
    assert own == {"ccdomain.errors"}
    others = {name.split(".")[0] for name in imported - own} - {"__future__"}
    assert others <= sys.stdlib_module_names, others


def test_E3_the_limits_table_is_the_one_in_the_docs() -> None:
    page = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    table = page[page.index("## Input limits") :]
    docstring = checks.__doc__ or ""
    constants = [n for n in checks.__all__ if n.isupper()]
    assert len(constants) >= 15
    for name in constants:
        value = getattr(checks, name)
        shown = {
            2**63 - 1: "2**63 - 1",
            10**15: "10**15",
        }.get(value, f"{value:,}")
        assert f"| `{name}` | {shown} |" in table, name
        assert f"``{name}``" in docstring and shown in docstring, name


@pytest.mark.parametrize("char", UNSEEN, ids=lambda c: f"U+{ord(c):04X}")
def test_E3_identifiers_refuse_what_cannot_be_seen(char: str) -> None:
    with pytest.raises(RuleViolation, match=f"campaign .*U\\+{ord(char):04X}"):
        checks.identifier(f"ven{char}tas", "campaign")
    with pytest.raises(InvalidPromise, match="promise agent"):
        checks.identifier(f"ana{char}q", "promise agent", InvalidPromise)


def test_E3_names_keep_format_characters_but_refuse_controls_and_surrogates() -> None:
    assert checks.name(" Zoë\u200d María ", "first_names") == "Zoë\u200d María"
    assert checks.name("Ana\u00a0\u00a0María\u2028", "first_names") == "Ana María"
    assert checks.name("Ana\x85", "first_names") == "Ana"  # stripped first: padding
    for bad in ("A\x00na", "A\x85na", "Ana\ud800", "Ana\tMaría", "Ana\nMaría"):
        with pytest.raises(RuleViolation, match="first_names"):
            checks.name(bad, "first_names")


def test_E3_free_text_keeps_line_breaks_and_tabs_and_refuses_other_controls() -> None:
    assert checks.text(" Hola,\r\n\tgracias\u200b \n", "text") == "Hola,\r\n\tgracias\u200b"
    for bad in ("a\x00b", "a\x0bb", "a\x85b", "a\ud800b", "a\x7fb"):
        with pytest.raises(RuleViolation, match="text"):
            checks.text(bad, "text")


def test_E3_single_line_values_are_stripped_and_their_whitespace_collapsed() -> None:
    assert checks.identifier("  ana   quispe ", "agent") == "ana quispe"
    assert checks.name("  José   Luis ", "first_names") == "José Luis"
    assert checks.path([" No  contactado "], "path") == ("No contactado",)
    # Free text keeps what is inside it: indentation and blank lines mean something.
    assert checks.text("  a  b\n\n  c  ", "text") == "a  b\n\n  c"


def test_E3_limits_count_the_normalised_value() -> None:
    assert checks.agent("  " + "a" * checks.ACTOR_MAX + "  ") == "a" * checks.ACTOR_MAX
    assert checks.agent("a" * 100 + "    " + "a" * 99) == "a" * 100 + " " + "a" * 99
    with pytest.raises(RuleViolation, match=f"at most {checks.ACTOR_MAX} characters"):
        checks.agent("a" * (checks.ACTOR_MAX + 1))
    assert checks.text("x" * checks.TEXT_MAX + "\n", "text") == "x" * checks.TEXT_MAX


@pytest.mark.parametrize(
    "check",
    [
        checks.identifier,
        checks.agent,
        lambda v, f: checks.name(v, f, required=True),
        lambda v, f: checks.text(v, f, required=True),
    ],
)
def test_E3_messages_name_the_field_the_value_and_what_was_expected(
    check: Callable[[object, str], object],
) -> None:
    with pytest.raises(RuleViolation, match=r"^queue '   ' is empty: expected a non-blank text$"):
        check("   ", "queue")
    with pytest.raises(RuleViolation, match=r"^queue 42 is not valid: expected a text, not int$"):
        check(42, "queue")


@pytest.mark.parametrize("bad", [0, -1, True, 2**63, 1.0, "7", None])
def test_T5_ticket_numbers_are_whole_numbers_from_1_to_sqlites_largest(bad: object) -> None:
    assert checks.ticket_number(checks.TICKET_NUMBER_MAX) == 2**63 - 1
    with pytest.raises(UnknownTicket, match="ticket"):
        checks.ticket_number(bad, "ticket", UnknownTicket)


def _unseen(text: str) -> bool:
    return any(
        c != " " and unicodedata.category(c) in {"Cc", "Cs", "Cf", "Zl", "Zp", "Zs"} for c in text
    )


_PIECES = st.sampled_from([*UNSEEN, " ", "  ", "\r", "é", "e\u0301", "ß", "Zoë", "ana", "\u200d"])
TEXTS = st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=6).map("".join)


@given(TEXTS)
def test_E3_the_fast_paths_agree_with_the_character_rules(value: str) -> None:
    limit = 12
    stripped = value.strip()
    collapsed = " ".join(stripped.split())
    try:
        found = checks.identifier(value, "id", limit=limit)
    except RuleViolation:
        assert _unseen(stripped) or not stripped or len(collapsed) > limit
    else:
        assert not _unseen(stripped) and found == collapsed and 0 < len(found) <= limit
        assert checks.identifier(found, "id", limit=limit) == found
    bad_name = any(unicodedata.category(c) in ("Cc", "Cs") for c in stripped)
    try:
        named = checks.name(value, "name", limit=limit)
    except RuleViolation:
        assert bad_name or len(" ".join(value.split())) > limit
    else:
        assert not bad_name and named == " ".join(value.split())
    bad_text = any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r" for c in stripped)
    try:
        kept = checks.text(value, "text", limit=limit)
    except RuleViolation:
        assert bad_text or len(stripped) > limit
    else:
        assert not bad_text and kept == stripped


# --- one limit, one character rule, in every module ----------------------------------------

_ActorOp = Callable[[Store, str], object]
_Setup = Callable[[Store], object]


def _product(**more: Any) -> coll.Product:
    fields: dict[str, Any] = {
        "id": "P-1",
        "campaign": "cobranzas",
        "contact": "C-000001",
        "kind": "loan",
        "debt": coll.money("100.00", "PEN"),
        "due": DAY,
        **more,
    }
    return coll.Product(**fields)


def _debtor(store: Store) -> None:
    ct.create_contact(store, campaign="cobranzas", first_names="Rosa", at=AT)


def _pepe(store: Store) -> None:
    ct.create_contact(store, campaign="ventas", first_names="Pepe", at=AT)


def _merge(store: Store, agent: str) -> object:
    plan = matching.plan_merge(store, campaign="ventas", into="12345678", source="C-000001")
    return matching.apply_merge(store, plan=plan, agent=agent, at=LATER)


ACTOR_OPS: dict[str, _ActorOp] = {
    "contacts.create_contact": lambda s, a: ct.create_contact(
        s, campaign="ventas", first_names="Ana", at=AT, agent=a
    ),
    "contacts.update_contact": lambda s, a: ct.update_contact(
        s, campaign="ventas", code="12345678", notes="x", at=AT, agent=a
    ),
    "contacts.declare_campaign": lambda s, a: ct.declare_campaign(
        s, campaign=ct.make_campaign("soporte"), at=AT, agent=a
    ),
    "tickets.route_interaction": lambda s, a: tickets.route_interaction(
        s,
        at=LATER,
        channel="whatsapp",
        direction="inbound",
        line="wa",
        customer="987654321",
        agent=a,
    ),
    "tickets.resolve_ticket": lambda s, a: tickets.resolve_ticket(s, number=1, agent=a, at=LATER),
    "tickets.label_ticket": lambda s, a: tickets.label_ticket(
        s, number=1, labels=["vip"], agent=a, at=LATER
    ),
    "matching.apply_merge": _merge,
    "identities.add_comment": lambda s, a: identities.add_comment(
        s, ticket=1, agent=a, at=LATER, text="x"
    ),
    "identities.block_identity": lambda s, a: identities.block_identity(
        s, campaign="ventas", customer="912345678", agent=a, at=LATER
    ),
    "collections.declare_product": lambda s, a: coll.declare_product(
        s, product=_product(), agent=a, at=AT
    ),
    "collections.cancel_promise": lambda s, a: coll.cancel_promise(
        s, promise="PR-1", agent=a, at=LATER
    ),
}


def _with_promise(store: Store) -> None:
    _debtor(store)
    coll.declare_product(store, product=_product(), at=AT)
    promise = coll.Promise(
        id="PR-1",
        product="P-1",
        campaign="cobranzas",
        agent="ana",
        made_on=DAY,
        installments=(coll.Installment(coll.money("10", "PEN"), DAY),),
    )
    coll.register_promise(store, promise=promise, at=AT)


SETUPS: dict[str, _Setup] = {
    "matching.apply_merge": _pepe,
    "collections.declare_product": _debtor,
    "collections.cancel_promise": _with_promise,
}


@pytest.mark.parametrize("op", list(ACTOR_OPS), ids=list(ACTOR_OPS))
def test_E3_one_actor_limit_in_every_service(op: str) -> None:
    longest = "a" * checks.ACTOR_MAX
    setup = SETUPS.get(op, lambda _: None)
    fresh, refused = based(MemoryStore()), based(MemoryStore())
    setup(fresh)
    setup(refused)
    ACTOR_OPS[op](fresh, longest)
    before = event_count(refused)
    with pytest.raises(RuleViolation, match=f"at most {checks.ACTOR_MAX} characters"):
        ACTOR_OPS[op](refused, longest + "a")
    assert event_count(refused) == before
    with pytest.raises(InvalidPromise, match=f"at most {checks.ACTOR_MAX}"):
        coll.Promise(
            id="PR-2",
            product="P-1",
            campaign="cobranzas",
            agent=longest + "a",
            made_on=DAY,
            installments=(coll.Installment(coll.money("10", "PEN"), DAY),),
        )


SURROGATE_OPS: dict[str, Callable[[Store], object]] = {
    "message text": lambda s: tickets.route_interaction(
        s,
        at=LATER,
        channel="whatsapp",
        direction="inbound",
        line="wa",
        customer="987654321",
        text="hola \ud800",
    ),
    "agent": lambda s: tickets.resolve_ticket(s, number=1, agent="ana\udc00", at=LATER),
    "typify comment": lambda s: tickets.typify_ticket(
        s, number=1, agent="ana", at=LATER, path=["No contactado"], comment="\ud83d"
    ),
    "first names": lambda s: ct.create_contact(
        s, campaign="ventas", first_names="Jos\udce9", at=AT
    ),
    "notes": lambda s: ct.update_contact(
        s, campaign="ventas", code="12345678", notes="\udfff", at=AT
    ),
    "tag": lambda s: ct.update_contact(
        s, campaign="ventas", code="12345678", tags=["v\ud800"], at=AT
    ),
    "address": lambda s: ct.update_contact(
        s, campaign="ventas", code="12345678", addresses=[{"line": "Av. \ud800"}], at=AT
    ),
    "campaign name": lambda s: ct.declare_campaign(
        s, campaign=ct.make_campaign("c2", name="\ud800"), at=AT
    ),
    "comment": lambda s: identities.add_comment(s, ticket=1, agent="ana", at=LATER, text="\ud800"),
    "product id": lambda s: coll.declare_product(s, _product(id="P\ud800"), at=AT),
    "replay agent": lambda s: apply_event(
        s,
        {
            "type": "resolve",
            "ticket": 1,
            "agent": "\ud800",
            "at": LATER.isoformat(),
        },
    ),
}


@pytest.mark.parametrize("op", list(SURROGATE_OPS), ids=list(SURROGATE_OPS))
def test_E3_a_lone_surrogate_is_a_ccdomain_error_not_an_encoding_error(
    op: str, both_stores: Callable[[], list[Store]]
) -> None:
    for store in both_stores():
        based(store)
        before = listings(store), event_count(store)
        with pytest.raises(CcdomainError, match="surrogate"):
            SURROGATE_OPS[op](store)
        assert (listings(store), event_count(store)) == before


LOOK_ALIKE_OPS: dict[str, Callable[[Store], object]] = {
    "campaign id": lambda s: ct.make_campaign("ventas\u200b"),
    "line id": lambda s: ct.make_line("wa\u2060", "whatsapp", "+51 1 7001111"),
    "routed campaign": lambda s: tickets.route_interaction(
        s,
        at=LATER,
        channel="whatsapp",
        direction="outbound",
        line="wa",
        campaign="ventas\ufeff",
        customer="987654321",
    ),
    "agent": lambda s: tickets.resolve_ticket(s, number=1, agent="ana\u202e", at=LATER),
    "queue": lambda s: tickets.route_interaction(
        s,
        at=LATER,
        channel="whatsapp",
        direction="inbound",
        line="wa",
        customer="912345678",
        queue="ventas\u200f",
    ),
    "ticket label": lambda s: tickets.label_ticket(
        s, number=1, labels=["vip\u200b"], agent="ana", at=LATER
    ),
    "contact tag": lambda s: ct.update_contact(
        s, campaign="ventas", code="12345678", tags=["v\u00a0ip"], at=AT
    ),
    "typification level": lambda s: tickets.typify_ticket(
        s, number=1, agent="ana", at=LATER, path=["No\u00a0contactado"]
    ),
    "contact code": lambda s: ct.get_contact(s, campaign="ventas", code="1234\u200b5678"),
    "product id": lambda s: _product(id="P-\u200b1"),
    "payment id": lambda s: coll.Payment("PAY\u200b", "P-1", coll.money("1", "PEN"), DAY),
    "messenger id": lambda s: ct.normalize_channel("messenger", "ana\u200b", "PE"),
    "replay agent": lambda s: apply_event(
        s, {"type": "resolve", "ticket": 1, "agent": "ana\u200b", "at": LATER.isoformat()}
    ),
}


@pytest.mark.parametrize("op", list(LOOK_ALIKE_OPS), ids=list(LOOK_ALIKE_OPS))
def test_E3_look_alike_identifiers_are_refused_in_every_module(op: str) -> None:
    store = based(MemoryStore())
    before = listings(store), event_count(store)
    with pytest.raises(CcdomainError, match=r"U\+(200B|2060|FEFF|202E|200F|00A0)"):
        LOOK_ALIKE_OPS[op](store)
    assert (listings(store), event_count(store)) == before


def test_E3_inner_whitespace_collapses_alike_in_every_module() -> None:
    store = MemoryStore()
    campaign = ct.make_campaign("soporte", typifications=[["No  contactado"]])
    assert campaign.typifications == (("No contactado",),)
    ct.declare_campaign(store, campaign=campaign, at=AT)
    routed = tickets.route_interaction(
        store,
        at=AT,
        channel="call",
        direction="outbound",
        campaign="soporte",
        customer="987654321",
        agent="ana   quispe",
        status="no  answer",
    )
    assert (routed.interaction.agent, routed.interaction.status) == ("ana quispe", "no answer")
    labelled = tickets.label_ticket(
        store, number=1, labels=["muy  urgente"], agent=" ana quispe ", at=AT
    )
    assert labelled.labels == ("muy urgente",)
    identities.add_comment(store, ticket=1, agent="ana  quispe", at=AT, text="ok")
    # Before E3 tickets kept inner spaces: this path was not the declared one.
    typified = tickets.typify_ticket(
        store, number=1, agent="ana  quispe", at=LATER, path=["No   contactado"]
    )
    closed, typification = typified.ticket, typified.typification
    assert typification.path == ("No contactado",)
    assert closed.closed_by == "ana quispe"
    with store.unit_of_work() as uow:
        assert [c.agent for c in uow.comments(1)] == ["ana quispe"]
    contact = ct.create_contact(
        store, campaign="soporte", first_names="José   Luis", tags=["a  b"], at=AT
    )
    assert (contact.first_names, contact.tags) == ("José Luis", ("a b",))


# --- T5: one ticket-number check -------------------------------------------------------------

TICKET_OPS: dict[str, Callable[[Store, object], object]] = {
    "tickets.resolve_ticket": lambda s, n: tickets.resolve_ticket(
        s,
        number=n,  # type: ignore[arg-type]
        agent="ana",
        at=LATER,
    ),
    "tickets.label_ticket": lambda s, n: tickets.label_ticket(
        s,
        number=n,  # type: ignore[arg-type]
        labels=["x"],
        agent="ana",
        at=LATER,
    ),
    "tickets.link_ticket": lambda s, n: tickets.link_ticket(
        s,
        number=n,  # type: ignore[arg-type]
        contact="12345678",
        agent="ana",
        at=LATER,
    ),
    "matching.create_contact_from_ticket": lambda s, n: matching.create_contact_from_ticket(
        s,
        number=n,  # type: ignore[arg-type]
        agent="ana",
        at=LATER,
    ),
    "identities.add_comment": lambda s, n: identities.add_comment(
        s,
        ticket=n,  # type: ignore[arg-type]
        agent="ana",
        at=LATER,
        text="x",
    ),
}


@pytest.mark.parametrize("number", [0, -1, True, 2**63])
@pytest.mark.parametrize("op", list(TICKET_OPS), ids=list(TICKET_OPS))
def test_T5_a_ticket_number_is_checked_alike_everywhere(
    op: str, number: int, both_stores: Callable[[], list[Store]]
) -> None:
    for store in both_stores():
        based(store)
        before = listings(store), event_count(store)
        with pytest.raises(
            UnknownTicket, match="expected a whole number from 1 to 9223372036854775807"
        ):
            TICKET_OPS[op](store, number)
        assert (listings(store), event_count(store)) == before


@pytest.mark.parametrize("number", [0, -1, 2**63])
def test_T5_replay_and_promises_check_ticket_numbers_alike(number: int) -> None:
    store = based(MemoryStore())
    for event in (
        {"type": "comment", "ticket": number, "agent": "ana", "text": "x"},
        {"type": "resolve", "ticket": number, "agent": "ana", "at": LATER.isoformat()},
    ):
        with pytest.raises(InvalidEvent, match=r"field 'ticket': .*from 1 to 9223372036854775807"):
            apply_event(store, event)
    with pytest.raises(InvalidPromise, match="from 1 to 9223372036854775807"):
        coll.Promise(
            id="PR-1",
            product="P-1",
            campaign="cobranzas",
            agent="ana",
            made_on=DAY,
            installments=(coll.Installment(coll.money("10", "PEN"), DAY),),
            ticket=number,
        )


# --- K17: one notion of live contact ---------------------------------------------------------


def test_K17_a_merged_code_names_the_survivor_in_every_module() -> None:
    store = based(MemoryStore())
    a = ct.create_contact(
        store,
        campaign="cobranzas",
        first_names="Rosa",
        document=("DNI", "45127839"),
        channels=[{"kind": "phone", "value": "912345678"}],
        at=AT,
    )
    b = ct.create_contact(
        store, campaign="cobranzas", channels=[{"kind": "phone", "value": "923456789"}], at=AT
    )
    plan = matching.plan_merge(store, campaign="cobranzas", into=a.code, source=b.code)
    matching.apply_merge(store, plan=plan, agent="sup1", at=AT)
    ticket = tickets.route_interaction(
        store,
        at=LATER,
        channel="call",
        direction="inbound",
        line="tel-cob",
        customer="955555555",
    ).ticket
    # Every module reads a code through contacts.live_contact: B's code is A.
    assert ct.get_contact(store, campaign="cobranzas", code=b.code).code == a.code
    assert (
        ct.update_contact(store, campaign="cobranzas", code=b.code, notes="x", at=LATER).code
        == a.code
    )
    assert tickets.link_ticket(
        store, number=ticket.number, contact=b.code, agent="ana", at=LATER
    ).contact == (a.code)
    assert identities.contact_summary(store, campaign="cobranzas", code=b.code).code == a.code
    product = coll.declare_product(store, product=_product(contact=b.code), at=LATER)
    assert product.contact == a.code
    summaries = coll.contact_products(store, campaign="cobranzas", code=b.code, as_of=DAY)
    assert [s.product.id for s in summaries] == ["P-1"]
    second = tickets.route_interaction(
        store,
        at=LATER,
        channel="call",
        direction="inbound",
        line="tel-cob",
        customer="966666666",
    ).ticket
    linked = matching.link_ticket(
        store, number=second.number, contact=b.code, agent="ana", at=LATER
    )
    assert linked.contact == a.code
    third = tickets.route_interaction(
        store,
        at=LATER,
        channel="call",
        direction="inbound",
        line="tel-cob",
        customer="977777777",
    ).ticket
    apply_event(
        store,
        {"type": "link", "ticket": third.number, "contact": f" {b.code} ", "agent": "ana"},
    )
    with store.unit_of_work() as uow:
        assert uow.get_ticket(third.number).contact == a.code  # type: ignore[union-attr]


# --- M11 and R4: one "same value" comparison, one "same address" key --------------------------


def test_M11_the_same_address_key_folds_case_and_keeps_the_reference() -> None:
    key = matching.address_key
    assert key(Address(line="Av. Perú  123", reference="Frente al parque")) == key(
        Address(line="AV. PERU 123", reference="frente al PARQUE", primary=True)
    )
    assert key(Address(line="Av. Perú 123", reference="frente al parque")) != key(
        Address(line="Av. Perú 123", reference="detrás del parque")
    )


MERGED_FILE: list[dict[str, Any]] = [
    BASE[0],
    {
        "type": "contact",
        "campaign": "ventas",
        "first_names": "Ana",
        "document": {"type": "DNI", "number": "45127839"},
        "channels": [
            {"kind": "phone", "value": "912345678"},
            {"kind": "messenger", "value": "Ana.Perez"},
        ],
        "addresses": [{"line": "Av. Perú 123", "reference": "frente al parque"}],
        "tags": ["VIP"],
    },
    {
        "type": "contact",
        "campaign": "ventas",
        "first_names": "Anita",
        "channels": [
            {"kind": "phone", "value": "923456789"},
            {"kind": "messenger", "value": "ana.perez"},
        ],
        "addresses": [{"line": "AV. PERU  123", "reference": "Frente al Parque"}],
        "tags": ["vip"],
    },
    {"type": "merge", "campaign": "ventas", "into": "45127839", "from": "C-000001", "agent": "s"},
]


def test_R4_M11_a_contact_merged_by_same_values_replays_twice_clean(
    both_stores: Callable[[], list[Store]],
) -> None:
    for store in both_stores():
        first = replay(store, lines(*MERGED_FILE))
        assert first.bad_lines == () and first.contacts_merged == 1
        (survivor,) = [r for r in contact_rows(store) if r["code"] == "45127839"]
        once = listings(store)
        # The merge kept one messenger id, one address and one tag for each pair (M11);
        # the replay must find B's values held by A with the same keys.
        second = replay(store, lines(*MERGED_FILE))
        assert second.bad_lines == ()
        assert (second.contacts_created, second.applied) == (0, 0)
        assert listings(store) == once
        assert survivor in contact_rows(store)


def test_R4_a_contact_redeclared_with_another_address_reference_is_a_bad_line() -> None:
    store = MemoryStore()
    assert replay(store, lines(*MERGED_FILE[:2])).bad_lines == ()
    moved = json.loads(json.dumps(MERGED_FILE[1]))
    moved["addresses"][0]["reference"] = "detrás del parque"
    summary = replay(store, lines(moved))
    (bad,) = summary.bad_lines
    assert bad.field == "addresses"


PADDED_FILE: list[dict[str, Any]] = [
    {
        "type": "campaign",
        "id": " ventas ",
        "region": "PE",
        "typifications": [["A", "B"], ["No contactado"]],
    },
    {"type": "campaign", "id": "cobranzas", "region": "PE", "kind": "collections"},
    {
        "type": "line",
        "id": " wa ",
        "channel": "whatsapp",
        "address": "+51 1 7001111",
        "campaign": "ventas",
    },
    {
        "type": "contact",
        "campaign": "cobranzas",
        "first_names": " Rosa  María ",
        "document": {"type": "DNI", "number": "45127839"},
        "tags": [" al  día "],
        "agent": " X ",
    },
    {
        "type": "interaction",
        "id": " m1 ",
        "at": "2026-11-20T10:00:00-05:00",
        "channel": "whatsapp",
        "direction": "inbound",
        "line": " wa ",
        "customer": " 987654321 ",
        "text": " Hola ",
        "agent": " X ",
    },
    {
        "type": "interaction",
        "at": "2026-11-20T10:05:00-05:00",
        "channel": "whatsapp",
        "direction": "outbound",
        "campaign": " ventas ",
        "line": "wa",
        "customer": "987654321",
        "text": " ¿en qué le ayudo?\n",
        "agent": " X  Y ",
        "status": " sent ",
    },
    {
        "type": "typify",
        "campaign": "ventas",
        "customer": "987654321",
        "agent": " X ",
        "at": "2026-11-20T10:10:00-05:00",
        "path": [" A ", "B  "],
        "comment": " pagará el lunes ",
    },
    {
        "type": "interaction",
        "id": "m2",
        "at": "2026-11-20T11:00:00-05:00",
        "channel": "whatsapp",
        "direction": "inbound",
        "line": "wa",
        "customer": "987654321",
        "text": "otra vez",
    },
    {
        "type": "comment",
        "ticket": 2,
        "agent": " X ",
        "at": "2026-11-20T11:01:00-05:00",
        "text": " cliente molesto \n",
    },
    {"type": "resolve", "ticket": 2, "agent": " Y ", "at": "2026-11-20T11:30:00-05:00"},
    {
        "type": "product",
        "id": " P-1 ",
        "campaign": "cobranzas",
        "contact": " 45127839 ",
        "kind": " loan ",
        "currency": "PEN",
        "debt": "100.00",
        "due": "2026-11-01",
    },
    {
        "type": "payment",
        "id": " PAY-1 ",
        "product": " P-1 ",
        "amount": "10.00",
        "date": "2026-11-02",
    },
    {
        "type": "promise",
        "id": " PR-1 ",
        "product": "P-1",
        "agent": " X ",
        "made_on": "2026-11-20",
        "installments": [{"amount": "50.00", "date": "2026-11-25"}],
    },
    {"type": "cancel_promise", "id": " PR-1 ", "agent": " X ", "at": "2026-11-20T12:00:00-05:00"},
    {"type": "reverse_payment", "id": " PAY-1 ", "at": "2026-11-20T12:30:00-05:00"},
]


def test_R4_padded_agent_replays_twice(both_stores: Callable[[], list[Store]]) -> None:
    for store in both_stores():
        first = replay(store, lines(*PADDED_FILE))
        assert first.bad_lines == ()
        assert first.applied == len(PADDED_FILE)
        once = listings(store), event_count(store)
        second = replay(store, lines(*PADDED_FILE))
        assert second.bad_lines == ()
        assert second.applied == 0
        assert second.already_applied == len(PADDED_FILE)
        assert (listings(store), event_count(store)) == once
        with store.unit_of_work() as uow:
            typification = uow.typifications(1)[0]
            assert (typification.agent, typification.path) == ("X", ("A", "B"))
            assert typification.comment == "pagará el lunes"
            assert [c.text for c in uow.comments(2)] == ["cliente molesto"]
            assert uow.get_promise("PR-1").cancelled_by == "X"  # type: ignore[union-attr]


# --- both stores store the same normalised value ----------------------------------------------


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=TEXTS, agent=TEXTS, first_names=TEXTS)
def test_E3_both_stores_accept_the_same_normalised_value_or_refuse(
    both_stores: Callable[[], list[Store]], text: str, agent: str, first_names: str
) -> None:
    outcomes = []
    for store in both_stores():
        based(store)
        seen: list[object] = []
        try:
            routed = tickets.route_interaction(
                store,
                at=LATER,
                channel="whatsapp",
                direction="inbound",
                line="wa",
                customer="987654321",
                text=text,
                agent=agent,
            )
        except CcdomainError as exc:
            seen.append(type(exc))
        else:
            with store.unit_of_work() as uow:
                stored = uow.interactions(routed.ticket.number)[-1]
            assert (stored.text, stored.agent) == (checks.text(text, "text"), checks.agent(agent))
            seen.append((stored.text, stored.agent))
        try:
            created = ct.create_contact(store, campaign="ventas", first_names=first_names, at=AT)
        except CcdomainError as exc:
            seen.append(type(exc))
        else:
            stored_contact = ct.get_contact(store, campaign="ventas", code=created.code)
            assert stored_contact.first_names == checks.name(first_names, "first_names")
            seen.append(stored_contact.first_names)
        outcomes.append(seen)
    assert outcomes[0] == outcomes[1]


# --- C13: a campaign takes what its own collections policy takes -------------------------------


@pytest.mark.parametrize(
    "settings_",
    [
        {"grace_days": checks.DAYS_MAX + 1},
        {"horizon_days": checks.DAYS_MAX + 1},
        {"tolerance": 10**16},
        {"tolerance": "1e3"},
        {"tolerance": "-0.01"},
    ],
)
def test_C13_a_campaign_is_refused_what_its_collections_policy_refuses(
    settings_: dict[str, Any],
) -> None:
    with pytest.raises(RuleViolation):
        coll.CollectionsPolicy(**settings_)
    with pytest.raises(RuleViolation):
        ct.make_campaign("cobranzas", kind="collections", **settings_)
    edge = ct.make_campaign("c", grace_days=checks.DAYS_MAX, tolerance=Decimal("0.50"))
    assert coll.policy_for(edge).grace_days == checks.DAYS_MAX


def test_E1_a_rule_given_the_wrong_record_names_it_as_before_the_shared_check() -> None:
    """The pure rules' "is not a X" refusals kept their words when they became checks.instance."""
    from ccdomain.rules.addresses import add_address
    from ccdomain.rules.balances import aging_bucket, outstanding_balance
    from ccdomain.rules.contacts import build_contact, require_contact
    from ccdomain.rules.promises import cancelled_promise

    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: require_contact("x"), "'x' is not a Contact"),
        (lambda: add_address("x", Address(line="Av 1")), "'x' is not a Contact"),
        (lambda: build_contact("x"), "'x' is not a Campaign"),  # type: ignore[arg-type]
        (lambda: outstanding_balance("x", ()), "product 'x' is not a Product"),  # type: ignore[arg-type]
        (lambda: aging_bucket(3, "x"), "policy 'x' is not a CollectionsPolicy"),  # type: ignore[arg-type]
        (
            lambda: cancelled_promise("x", agent="ana", on=DAY),  # type: ignore[arg-type]
            "promise 'x' is not a Promise",
        ),
    ]
    for call, words in cases:
        with pytest.raises(RuleViolation) as caught:
            call()
        assert str(caught.value) == words
    assert checks.instance(AT, dt.datetime) is AT


def test_E1_an_unknown_line_channel_or_field_type_is_refused_in_the_same_words() -> None:
    """make_line and make_custom_field read their kind through checks.member, words unchanged."""
    from ccdomain.errors import InvalidCustomField
    from ccdomain.models import Channel, FieldType
    from ccdomain.rules.contacts import make_line
    from ccdomain.rules.custom_fields import make_custom_field

    assert make_line("wa", " WhatsApp ", "+51999888777").channel is Channel.WHATSAPP
    assert make_custom_field("plan", FieldType.NUMBER).type is FieldType.NUMBER
    channels = ", ".join(c.value for c in Channel)
    with pytest.raises(RuleViolation) as a:
        make_line("wa", "fax", "+51999888777")
    assert str(a.value) == f"line 'wa' has channel 'fax': expected one of {channels}"
    with pytest.raises(InvalidCustomField) as b:
        make_custom_field("plan", 3)
    types = ", ".join(t.value for t in FieldType)
    assert str(b.value) == f"custom field 'plan' has type 3: expected one of {types}"
