"""The contacts family's API: pure ``build_contact``, keyword services, old call shapes (issue 13).

``create_contact`` is :func:`build_contact` plus the store's part, so replay can
build the contact an event would create without a scratch store; the services
take the store then keywords, readers take a store or a unit of work, records
come from plain mappings, and every call shape from before still works with a
DeprecationWarning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccdomain.contacts import (
    Line,
    add_contact_address,
    add_contact_phone,
    build_contact,
    contact_detail_view,
    create_contact,
    declare_campaign,
    declare_line,
    delete_contact_phone,
    edit_contact,
    edit_contact_phone,
    find_company,
    find_or_create_company,
    generated_code,
    get_contact,
    make_campaign,
    make_company,
    remove_contact_address,
    resolve_contact_code,
    search_contacts,
    set_contact_primary_address,
    update_contact,
)
from ccdomain.errors import CcdomainError, InvalidDocument, RuleViolation, UnknownCampaign
from ccdomain.memory import MemoryStore
from ccdomain.models import Campaign, Channel
from ccdomain.rules.contacts import company_id
from ccdomain.sqlite import SqliteStore

AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
TEMPLATE = (
    {"name": "plan", "type": "choice", "choices": ["A", "Básico"]},
    {"name": "edad", "type": "number"},
)
ACME = make_company("ACME SAC", ("RUC", "20512333797"))


def new_store() -> MemoryStore:
    """Campaign 'ventas' with a template, company ACME and contact 12345678 (José)."""
    store = MemoryStore()
    declare_campaign(store, campaign={"id": "ventas", "custom_fields": TEMPLATE}, at=AT)
    find_or_create_company(store, name=ACME.name, tax_id=ACME.tax_id, at=AT)
    create_contact(
        store,
        campaign="ventas",
        first_names="José",
        last_names="Pérez",
        document=("DNI", "12345678"),
        company="ACME SAC",
        channels=[{"kind": "phone", "value": "987 654 321"}],
        addresses=[{"line": "Av. Uno 1"}],
        agent="ana",
        at=AT,
    )
    return store


def ventas(store: MemoryStore) -> Campaign:
    with store.unit_of_work() as uow:
        found = uow.get_campaign("ventas")
    assert found is not None
    return found


def everything(store: MemoryStore) -> tuple[Any, ...]:
    """All a contacts service may write, events with their actor and payload."""
    with store.unit_of_work() as uow:
        return (
            list(uow.list_campaigns()),
            list(uow.list_contacts()),
            list(uow.list_companies()),
            [(e.seq, e.kind, e.actor, e.campaign, e.contact, e.payload) for e in uow.events()],
        )


def outcome(call: Callable[[], Any]) -> Any:
    """What a call gives: its result, or the ccdomain error it raises (type and message)."""
    try:
        return call()
    except CcdomainError as error:
        return (type(error), str(error))


# --- build_contact: create_contact without the store (K1, K2, K16) ------------------------------

FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "first_names": st.sampled_from(["José", "  Ana   María ", "", 42, "x" * 300]),
        "last_names": st.sampled_from(["Pérez Soto", "de la Cruz"]),
        "document": st.sampled_from(
            [None, ("DNI", "87654321"), {"type": "RUC", "number": "20-51233379-7"}, ("DNI", "1")]
        ),
        "company": st.sampled_from([None, "ACME SAC", " acme  sac", "20512333797", "Nueva SAC", 7]),
        "vip": st.sampled_from([True, False, "sí"]),
        "channels": st.sampled_from(
            [
                (),
                [{"kind": "phone", "value": "987 111 222"}, {"kind": "correo", "value": "A@B.pe"}],
                [{"kind": "phone", "value": "98765"}],
            ]
        ),
        "addresses": st.sampled_from(
            [(), [{"line": "Calle 1"}, {"line": "Calle 2", "primary": True}], [{"line": " "}]]
        ),
        "custom": st.sampled_from([None, {"plan": "básico", "edad": "42"}, {"edad": "mucho"}]),
        "gender": st.sampled_from(["", "F"]),
        "tags": st.sampled_from([(), ["vip", "vip", "mora"], [3]]),
        "notes": st.sampled_from(["", "llamar de tarde"]),
    },
)


@settings(max_examples=150, deadline=None)
@given(FIELDS)
def test_K2_create_contact_is_build_contact_plus_the_store(fields: dict[str, Any]) -> None:
    """Same contact, or the same refusal, from the pure rule and from the service."""
    store = new_store()
    code = None if fields.get("document") is not None else generated_code(1)
    with store.unit_of_work() as uow:
        companies = list(uow.list_companies())
    built = outcome(lambda: build_contact(ventas(store), code=code, companies=companies, **fields))
    created = outcome(lambda: create_contact(store, campaign="ventas", at=AT, **fields))
    assert created == built


@pytest.mark.parametrize("engine", ["memory", "sqlite"])
def test_K2_E2_a_refused_contact_uses_up_no_generated_code(engine: str, tmp_path: Path) -> None:
    """The store numbers a contact only once it is valid: SQLite never hands a number twice."""
    store = MemoryStore() if engine == "memory" else SqliteStore(tmp_path / "cc.sqlite")
    declare_campaign(store, campaign={"id": "ventas"}, at=AT)
    for bad in ({"first_names": 42}, {"channels": [{"kind": "phone", "value": "1"}]}):
        with pytest.raises(CcdomainError):
            create_contact(store, campaign="ventas", at=AT, **bad)
    assert create_contact(store, campaign="ventas", first_names="Eva", at=AT).code == "C-000001"


def test_K2_build_contact_needs_a_code_or_a_document_and_reads_no_store() -> None:
    campaign = make_campaign("ventas")
    jose = build_contact(campaign, document=("DNI", "12.345.678"), company="ACME SAC")
    assert (jose.campaign, jose.code, jose.company) == ("ventas", "12345678", "N:acme sac")
    assert build_contact(campaign, code=" C-000007 ").code == "C-000007"
    with pytest.raises(RuleViolation, match="no code"):
        build_contact(campaign, first_names="Ana")
    with pytest.raises(RuleViolation, match="'C-000001' is not the code of document '12345678'"):
        build_contact(campaign, code="C-000001", document=("DNI", "12345678"))
    with pytest.raises(InvalidDocument, match="'1'"):
        build_contact(campaign, first_names="Ana", document=("DNI", "1"))
    with pytest.raises(RuleViolation, match="is not a Campaign"):
        build_contact("ventas", code="C-1")  # type: ignore[arg-type]
    with pytest.raises(RuleViolation, match="companies holds 'ACME SAC'"):
        build_contact(campaign, code="C-1", companies=["ACME SAC"])  # type: ignore[list-item]


def test_K16_company_id_names_a_known_company_by_id_then_name_else_a_new_one() -> None:
    by_name = make_company("Otra SRL")
    assert company_id("20512333797", [ACME, by_name]) == "20512333797"
    assert company_id(" acme   SAC", [ACME]) == "20512333797"
    assert company_id("OTRA srl", [ACME, by_name]) == "N:otra srl"
    assert company_id("Nueva SAC") == "N:nueva sac"
    assert company_id(None, [ACME]) is None
    with pytest.raises(RuleViolation, match="company 42"):
        company_id(42)


def test_K11_edit_contact_is_update_contact_without_the_store() -> None:
    store = new_store()
    before = get_contact(store, campaign="ventas", code="12345678")
    changes: dict[str, Any] = {
        "document": ("DNI", "87654321"),
        "company": "Nueva SAC",
        "custom": {"edad": 40},
        "vip": True,
    }
    edited = edit_contact(ventas(store), before, changes)
    assert edited.code == "12345678"  # K11: the code stays
    assert update_contact(store, campaign="ventas", code="12345678", at=AT, **changes) == edited
    with pytest.raises(RuleViolation, match="'nickname'"):
        edit_contact(ventas(store), before, {"nickname": "Pepe"})


# --- records from plain mappings, readers on a store or a unit of work -------------------------


def test_K9_declare_campaign_takes_a_campaign_or_a_plain_mapping() -> None:
    store = MemoryStore()
    fields: dict[str, Any] = {"kind": "collections", "tolerance": "0.50", "custom_fields": TEMPLATE}
    declared = declare_campaign(store, campaign={"id": "cobranzas", **fields}, at=AT)
    assert declared == make_campaign("cobranzas", **fields)
    assert declare_campaign(store, campaign=declared, agent="sup1", at=AT) == declared
    with pytest.raises(RuleViolation, match="unknown field 'nickname'"):
        declare_campaign(store, campaign={"id": "x", "nickname": "y"}, at=AT)
    with pytest.raises(RuleViolation, match="has no id"):
        declare_campaign(store, campaign={"name": "Sin id"}, at=AT)
    with pytest.raises(RuleViolation, match="'cobranzas' is not a Campaign"):
        declare_campaign(store, campaign="cobranzas", at=AT)  # type: ignore[arg-type]


def test_T6_declare_line_takes_a_line_or_a_plain_mapping() -> None:
    store = new_store()
    fields = {"id": "wa-main", "channel": "whatsapp", "address": "+51 1 7001234"}
    line = declare_line(store, line={**fields, "campaign": "ventas"}, agent="sup1", at=AT)
    assert line == Line(
        id="wa-main", channel=Channel.WHATSAPP, address="+5117001234", campaign="ventas"
    )
    assert declare_line(store, line=line, at=AT) == line
    with pytest.raises(RuleViolation, match="has no channel and no address"):
        declare_line(store, line={"id": "l", "campaign": "ventas"}, at=AT)
    with pytest.raises(UnknownCampaign):
        declare_line(store, line=fields, at=AT)  # no campaign


def test_K17_readers_take_a_store_or_a_unit_of_work() -> None:
    store = new_store()
    jose = get_contact(store, campaign="ventas", code="12345678")

    def read(source: Any) -> tuple[Any, ...]:
        return (
            get_contact(source, campaign="ventas", code="12345678"),
            search_contacts(source, query="jose"),
            resolve_contact_code(source, campaign="ventas", code="12345678"),
            contact_detail_view(source, contact=jose),
            find_company(source, ref="acme sac"),
        )

    with store.unit_of_work() as uow:
        on_a_unit_of_work = read(uow)
    assert read(store) == on_a_unit_of_work
    assert on_a_unit_of_work[:3] == (jose, (jose,), "12345678")
    assert on_a_unit_of_work[3].company == on_a_unit_of_work[4] == ACME
    with pytest.raises(RuleViolation, match="is not a store or a unit of work"):
        get_contact(object(), campaign="ventas", code="12345678")  # type: ignore[arg-type]


# --- the old call shapes: warned, and the same result and writes as the new ones ----------------

OLD_AND_NEW: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "declare_campaign": (
        lambda s: declare_campaign(s, make_campaign("otra"), at=AT, actor="ana"),
        lambda s: declare_campaign(s, campaign=make_campaign("otra"), at=AT, agent="ana"),
    ),
    "declare_line": (
        lambda s: declare_line(
            s, Line(id="l", channel=Channel.CALL, address="017001234", campaign="ventas"), at=AT
        ),
        lambda s: declare_line(
            s,
            line=Line(id="l", channel=Channel.CALL, address="017001234", campaign="ventas"),
            at=AT,
        ),
    ),
    "create_contact": (
        lambda s: create_contact(s, "ventas", first_names="Eva", at=AT, actor="ana"),
        lambda s: create_contact(s, campaign="ventas", first_names="Eva", at=AT, agent="ana"),
    ),
    "update_contact": (
        lambda s: update_contact(s, "ventas", "12345678", notes="x", at=AT, actor="ana"),
        lambda s: update_contact(
            s, campaign="ventas", code="12345678", notes="x", at=AT, agent="ana"
        ),
    ),
    "add_contact_phone": (
        lambda s: add_contact_phone(s, "ventas", "12345678", "912 345 678", at=AT, actor="ana"),
        lambda s: add_contact_phone(
            s, campaign="ventas", code="12345678", phone="912 345 678", at=AT, agent="ana"
        ),
    ),
    "add_contact_phone raw=": (
        lambda s: add_contact_phone(s, campaign="ventas", code="12345678", raw="912345678", at=AT),
        lambda s: add_contact_phone(
            s, campaign="ventas", code="12345678", phone="912345678", at=AT
        ),
    ),
    "edit_contact_phone": (
        lambda s: edit_contact_phone(s, "ventas", "12345678", "987654321", "912345678", at=AT),
        lambda s: edit_contact_phone(
            s, campaign="ventas", code="12345678", old="987654321", new="912345678", at=AT
        ),
    ),
    "edit_contact_phone new_raw=": (
        lambda s: edit_contact_phone(
            s, campaign="ventas", code="12345678", old="987654321", new_raw="912345678", at=AT
        ),
        lambda s: edit_contact_phone(
            s, campaign="ventas", code="12345678", old="987654321", new="912345678", at=AT
        ),
    ),
    "delete_contact_phone": (
        lambda s: delete_contact_phone(s, "ventas", "12345678", "987654321", at=AT),
        lambda s: delete_contact_phone(
            s, campaign="ventas", code="12345678", phone="987654321", at=AT
        ),
    ),
    "delete_contact_phone value=": (
        lambda s: delete_contact_phone(
            s, campaign="ventas", code="12345678", value="987654321", at=AT
        ),
        lambda s: delete_contact_phone(
            s, campaign="ventas", code="12345678", phone="987654321", at=AT
        ),
    ),
    "add_contact_address": (
        lambda s: add_contact_address(s, "ventas", "12345678", {"line": "Calle 2"}, at=AT),
        lambda s: add_contact_address(
            s, campaign="ventas", code="12345678", address={"line": "Calle 2"}, at=AT
        ),
    ),
    "remove_contact_address": (
        lambda s: remove_contact_address(s, "ventas", "12345678", 0, at=AT),
        lambda s: remove_contact_address(s, campaign="ventas", code="12345678", index=0, at=AT),
    ),
    "set_contact_primary_address": (
        lambda s: set_contact_primary_address(s, "ventas", "12345678", 0, at=AT),
        lambda s: set_contact_primary_address(
            s, campaign="ventas", code="12345678", index=0, at=AT
        ),
    ),
    "find_or_create_company": (
        lambda s: find_or_create_company(s, "Otra SRL", None, at=AT, actor="ana"),
        lambda s: find_or_create_company(s, name="Otra SRL", tax_id=None, at=AT, agent="ana"),
    ),
    "get_contact": (
        lambda s: get_contact(s, "ventas", "12345678"),
        lambda s: get_contact(s, campaign="ventas", code="12345678"),
    ),
    "search_contacts (a list, as before)": (
        lambda s: search_contacts(s, "ventas", "jose"),
        lambda s: list(search_contacts(s, campaign="ventas", query="jose")),
    ),
    "resolve_contact_code": (
        lambda s: resolve_contact_code(s, "ventas", "12345678"),
        lambda s: resolve_contact_code(s, campaign="ventas", code="12345678"),
    ),
    "find_company": (
        lambda s: find_company(s, "ACME SAC"),
        lambda s: find_company(s, ref="ACME SAC"),
    ),
    "contact_detail_view": (
        lambda s: contact_detail_view(s, get_contact(s, campaign="ventas", code="12345678")),
        lambda s: contact_detail_view(
            s, contact=get_contact(s, campaign="ventas", code="12345678")
        ),
    ),
}


@pytest.mark.parametrize("shape", list(OLD_AND_NEW))
def test_old_call_shape_warns_and_works_as_the_new_one(shape: str) -> None:
    old, new = OLD_AND_NEW[shape]
    old_store, new_store_ = new_store(), new_store()
    with pytest.warns(DeprecationWarning, match=r"deprecated and will be removed in ccdomain 1\.0"):
        old_result = old(old_store)
    assert old_result == new(new_store_)
    if shape.startswith("search_contacts"):
        assert isinstance(old_result, list)  # what old callers had, not the new tuple
    assert everything(old_store) == everything(new_store_)


def test_old_call_shapes_keep_working_in_junk_and_errors() -> None:
    """An old shape refused names the same problem as the new one, and changes nothing."""
    store = new_store()
    before = everything(store)
    with pytest.warns(DeprecationWarning), pytest.raises(UnknownCampaign, match="'nope'"):
        create_contact(store, "nope", first_names="Eva", at=AT)
    with pytest.raises(TypeError, match="both 'actor' and 'agent'"):
        update_contact(store, campaign="ventas", code="12345678", at=AT, actor="a", agent="b")
    with pytest.raises(TypeError, match="multiple values for argument 'query'"):
        search_contacts(store, "ventas", "jose", query="pepe")  # type: ignore[misc]
    with pytest.raises(TypeError, match="at most 3 positional arguments, 4 given"):
        search_contacts(store, "ventas", "jose", "pepe")  # type: ignore[misc]
    assert everything(store) == before
