"""Contacts: codes, channels, phones, avatar, addresses, custom fields, search (K1-K10, E1, E2)."""

from __future__ import annotations

import datetime as dt
import doctest
from collections.abc import Callable
from decimal import Decimal
from types import ModuleType
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ccdomain._folding
import ccdomain.rules.addresses
import ccdomain.rules.contact_channels
import ccdomain.rules.contacts
import ccdomain.rules.custom_fields
import ccdomain.rules.search
from ccdomain.contacts import (
    Address,
    ChannelKind,
    Contact,
    ContactChannel,
    CustomFieldDef,
    Document,
    FieldType,
    Line,
    add_address,
    add_contact_address,
    add_contact_phone,
    add_phone,
    avatar,
    build_contact,
    channel_kind,
    channels_by_kind,
    check_template_precondition,
    code_for,
    contact_avatar,
    contact_detail_view,
    contact_matches,
    convert_custom_values,
    create_contact,
    declare_campaign,
    declare_line,
    dedupe_channels,
    delete_contact_phone,
    delete_phone,
    edit_contact,
    edit_contact_phone,
    edit_phone,
    find_company,
    find_or_create_company,
    fold,
    generated_code,
    get_contact,
    live_contact,
    make_address,
    make_campaign,
    make_company,
    make_custom_field,
    make_document,
    make_line,
    normalize_channel,
    personal_data_view,
    remove_address,
    remove_contact_address,
    resolve_contact_code,
    search_contacts,
    set_contact_primary_address,
    set_primary_address,
    update_contact,
)
from ccdomain.errors import (
    CcdomainError,
    DuplicateContact,
    InvalidAddress,
    InvalidChannel,
    InvalidCustomField,
    InvalidDocument,
    InvalidPhoneNumber,
    InvalidTypification,
    RuleViolation,
    UnknownCampaign,
    UnknownContact,
)
from ccdomain.events import ContactCreated, EventKind
from ccdomain.memory import MemoryStore, MemoryUnitOfWork
from ccdomain.models import Channel
from ccdomain.rules.addresses import address_from
from ccdomain.rules.contacts import CONTACT_FIELDS, company_id
from ccdomain.rules.custom_fields import custom_field_from
from ccdomain.testing import strategies as cst

AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
JUNK = st.one_of(st.none(), st.integers(), st.text(), st.binary(), st.floats())
# Junk also nested in the lists and mappings that some arguments take.
DEEP_JUNK = st.one_of(
    JUNK,
    st.lists(JUNK, max_size=3),
    st.lists(st.dictionaries(st.sampled_from(["kind", "value", "line", "type", "number"]), JUNK)),
    st.dictionaries(st.sampled_from(["plan", "edad", "nacimiento", "acepta", "nota"]), JUNK),
)

TEMPLATE = (
    {"name": "plan", "type": "choice", "choices": ["A", "Básico"], "required": False},
    {"name": "edad", "type": "number"},
    {"name": "nacimiento", "type": "date"},
    {"name": "acepta", "type": "boolean"},
    {"name": "nota", "type": "text"},
)


def new_store(**campaign: Any) -> MemoryStore:
    """A memory store holding campaign 'ventas' (PE) and 'soporte'."""
    store = MemoryStore()
    settings_ = {"custom_fields": TEMPLATE, **campaign}
    declare_campaign(store, campaign=make_campaign("ventas", name="Ventas", **settings_), at=AT)
    declare_campaign(store, campaign=make_campaign("soporte", region="CL"), at=AT)
    return store


def snapshot(store: MemoryStore) -> tuple[Any, ...]:
    """Everything a contact service may write."""
    with store.unit_of_work() as uow:
        return (
            list(uow.list_contacts()),
            list(uow.list_companies()),
            [e.seq for e in uow.events()],
        )


def events_of(store: MemoryStore, kind: EventKind) -> list[Any]:
    with store.unit_of_work() as uow:
        return [e for e in uow.events() if e.kind is kind]


def jose(store: MemoryStore, **extra: Any) -> Contact:
    fields: dict[str, Any] = {
        "first_names": "José",
        "last_names": "Pérez Soto",
        "document": {"type": "DNI", "number": "12345678"},
        "vip": True,
        "company": "ACME SAC",
        "channels": [
            {"kind": "phone", "value": "987 654 321"},
            {"kind": "email", "value": "Jose@Example.com"},
        ],
        "addresses": [{"line": "Av. Arequipa 123", "district": "Lince", "country": "PE"}],
        "custom": {"plan": "A"},
        **extra,
    }
    return create_contact(store, campaign="ventas", at=AT, agent="ana", **fields)


@pytest.mark.parametrize(
    "module",
    [
        ccdomain.rules.contacts,
        ccdomain.rules.contact_channels,
        ccdomain.rules.addresses,
        ccdomain.rules.custom_fields,
        ccdomain.rules.search,
        ccdomain._folding,
    ],
    ids=lambda m: m.__name__,
)
def test_doctests(module: ModuleType) -> None:
    """The examples in the docstrings of the family's rule modules run."""
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


# --- K1 / K2 ----------------------------------------------------------------------------------


def test_K1_contact_belongs_to_its_campaign_and_code_is_unique_there() -> None:
    store = new_store()
    first = jose(store)
    other = create_contact(
        store, campaign="soporte", first_names="José", document=("DNI", "12345678"), at=AT
    )
    assert (first.campaign, other.campaign) == ("ventas", "soporte")
    assert first.code == other.code == "12345678"
    with pytest.raises(DuplicateContact, match=r"12345678.*ventas"):
        jose(store)


def test_K1_unknown_campaign_is_refused() -> None:
    store = new_store()
    with pytest.raises(UnknownCampaign, match="'nope'"):
        create_contact(store, campaign="nope", first_names="Ana", at=AT)


def test_K2_code_is_the_compact_document_number() -> None:
    store = new_store()
    contact = create_contact(store, campaign="ventas", document=("RUC", "20-51233379-7"), at=AT)
    assert contact.code == "20512333797"
    assert contact.document == Document(type="RUC", number="20512333797")
    assert code_for(make_document("rut", "12.531.909-2")) == "125319092"
    by_object = create_contact(
        store, campaign="ventas", document=make_document("CE", "ab-123456789"), at=AT
    )
    assert by_object.code == "AB123456789"


def test_K2_contacts_without_document_get_generated_codes() -> None:
    store = new_store()
    codes = [
        create_contact(store, campaign="ventas", first_names=n, at=AT).code for n in ("A", "B")
    ]
    assert codes == ["C-000001", "C-000002"]
    assert create_contact(store, campaign="soporte", at=AT).code == "C-000001"
    assert generated_code(31) == "C-000031"
    with pytest.raises(RuleViolation):
        generated_code(0)


def test_K2_duplicate_is_refused_and_the_store_unchanged() -> None:
    store = new_store()
    jose(store)
    before = snapshot(store)
    with pytest.raises(DuplicateContact, match="'12345678'"):
        create_contact(
            store, campaign="ventas", first_names="Otro", document=("DNI", "12.345.678"), at=AT
        )
    assert snapshot(store) == before


def test_K3_invalid_document_is_refused() -> None:
    store = new_store()
    with pytest.raises(InvalidDocument, match="1234"):
        create_contact(store, campaign="ventas", document=("DNI", "1234"), at=AT)
    with pytest.raises(InvalidDocument):
        create_contact(store, campaign="ventas", document={"number": "12345678"}, at=AT)
    with pytest.raises(InvalidDocument):
        create_contact(store, campaign="ventas", document="12345678", at=AT)


def test_K11_document_change_keeps_the_code() -> None:
    store = new_store()
    contact = create_contact(store, campaign="ventas", first_names="Ana", at=AT)
    updated = update_contact(
        store, campaign="ventas", code=contact.code, document=("DNI", "87654321"), at=AT
    )
    assert updated.code == contact.code == "C-000001"
    assert updated.document == Document(type="DNI", number="87654321")
    jose(store)
    with pytest.raises(DuplicateContact, match="12345678"):
        update_contact(
            store, campaign="ventas", code=contact.code, document=("DNI", "12345678"), at=AT
        )


# --- K4 channels --------------------------------------------------------------------------------


def test_K4_channels_are_normalized_per_kind() -> None:
    assert normalize_channel("phone", "(01) 700-1234", "PE").value == "+5117001234"
    assert normalize_channel("WhatsApp", "987-654-321", "PE").value == "+51987654321"
    assert normalize_channel("correo", " Ana.Lopez@Mail.COM ", "PE").value == "ana.lopez@mail.com"
    assert normalize_channel("instagram", "@Pepe.Perez_", "PE").value == "pepe.perez_"
    assert normalize_channel("messenger", " 1234567890 ", "PE").value == "1234567890"
    assert normalize_channel("phone", "987654321", "PE", "móvil").label == "móvil"
    assert channel_kind("e-mail") is ChannelKind.EMAIL


@pytest.mark.parametrize(
    ("kind", "value", "error"),
    [
        ("fax", "123", InvalidChannel),
        ("email", "ana@", InvalidChannel),
        ("email", "ana lopez@mail.com", InvalidChannel),
        ("email", "ana@mail", InvalidChannel),
        ("instagram", "pepe perez", InvalidChannel),
        ("phone", "98765", InvalidPhoneNumber),
        ("whatsapp", "", InvalidChannel),
    ],
)
def test_K4_invalid_channels_are_refused(kind: str, value: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        normalize_channel(kind, value, "PE")


def test_K4_channels_are_deduplicated_on_create() -> None:
    store = new_store()
    contact = jose(
        store,
        channels=[
            {"kind": "phone", "value": "987 654 321", "label": "móvil"},
            ContactChannel(kind=ChannelKind.PHONE, value="+51 987 654 321"),
            {"kind": "whatsapp", "value": "987654321"},
            {"kind": "email", "value": "JOSE@example.com"},
            {"kind": "email", "value": "jose@EXAMPLE.com"},
        ],
    )
    assert [(c.kind, c.value, c.label) for c in contact.channels] == [
        (ChannelKind.PHONE, "+51987654321", "móvil"),
        (ChannelKind.WHATSAPP, "+51987654321", ""),
        (ChannelKind.EMAIL, "jose@example.com", ""),
    ]
    assert contact.phones == ("+51987654321",)
    assert dedupe_channels(contact.channels * 2) == contact.channels


def test_K4_detail_view_groups_channels_by_kind() -> None:
    store = new_store()
    contact = jose(
        store,
        channels=[
            {"kind": "instagram", "value": "@jose"},
            {"kind": "phone", "value": "987654321"},
            {"kind": "email", "value": "a@b.pe"},
            {"kind": "whatsapp", "value": "987654322"},
            {"kind": "phone", "value": "017001234"},
        ],
    )
    groups = channels_by_kind(contact)
    assert list(groups) == [
        ChannelKind.WHATSAPP,
        ChannelKind.EMAIL,
        ChannelKind.PHONE,
        ChannelKind.INSTAGRAM,
    ]
    assert groups[ChannelKind.PHONE] == ("+51987654321", "+5117001234")
    with store.unit_of_work() as uow:
        detail = contact_detail_view(uow, contact=contact)
    assert detail.channels == groups
    assert detail.avatar == "JP★"
    assert detail.company is not None and detail.company.name == "ACME SAC"
    assert detail.addresses[0].primary


# --- K5 phones ----------------------------------------------------------------------------------


def test_K5_phones_are_added_edited_and_deleted() -> None:
    contact = Contact(campaign="ventas", code="C-000001")
    contact = add_phone(contact, "987 654 321", "PE")
    contact = add_phone(contact, "+51987654321", "PE")  # the same number: ignored
    contact = add_phone(contact, "987654322", "PE", kind="whatsapp", label="wa")
    assert contact.phones == ("+51987654321", "+51987654322")
    edited = edit_phone(contact, "987 654 321", "0051 912 345 678", "PE")
    assert edited.phones == ("+51912345678", "+51987654322")
    with pytest.raises(RuleViolation, match="'\\+51900000000'"):
        edit_phone(contact, "+51900000000", "987654321", "PE")
    with pytest.raises(InvalidPhoneNumber):
        edit_phone(contact, "+51987654321", "12", "PE")
    emptied = delete_phone(delete_phone(edited, "+51912345678"), "987654322")
    assert emptied.phones == ()
    with pytest.raises(InvalidChannel):
        add_phone(contact, "a@b.pe", "PE", kind="email")


_CHANNEL_VALUES = ("+51987654321", "+51912345678", "+5215512345678", "ana@acme.pe")


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(st.sampled_from(list(ChannelKind)), st.sampled_from(_CHANNEL_VALUES)),
        max_size=5,
    ),
    st.lists(
        st.tuples(st.sampled_from(list(ChannelKind)), st.sampled_from(_CHANNEL_VALUES)),
        max_size=5,
    ),
)
def test_K5_phones_are_the_phone_channels_even_once_computed(
    first: list[tuple[ChannelKind, str]], second: list[tuple[ChannelKind, str]]
) -> None:
    """``Contact.phones`` is cached per contact: a changed copy computes its own."""

    def channels(pairs: list[tuple[ChannelKind, str]]) -> tuple[ContactChannel, ...]:
        return tuple(ContactChannel(kind=kind, value=value) for kind, value in pairs)

    def expected(pairs: list[tuple[ChannelKind, str]]) -> tuple[str, ...]:
        kinds = (ChannelKind.PHONE, ChannelKind.WHATSAPP)
        return tuple(dict.fromkeys(value for kind, value in pairs if kind in kinds))

    contact = Contact(campaign="ventas", code="C-1", channels=channels(first))
    assert contact.phones == expected(first)
    changed = attrs.evolve(contact, channels=channels(second))
    assert changed.phones == expected(second)
    assert contact.phones == expected(first)
    assert changed == Contact(campaign="ventas", code="C-1", channels=channels(second))


def test_K5_phone_services_record_events_and_deleting_the_last_is_allowed() -> None:
    store = new_store()
    contact = jose(store)
    add_contact_phone(
        store, campaign="ventas", code=contact.code, phone="987 111 222", kind="whatsapp", at=AT
    )
    edited = edit_contact_phone(
        store, campaign="ventas", code=contact.code, old="+51987111222", new="987111333", at=AT
    )
    assert edited.phones == ("+51987654321", "+51987111333")
    delete_contact_phone(store, campaign="ventas", code=contact.code, phone="987654321", at=AT)
    last = delete_contact_phone(
        store, campaign="ventas", code=contact.code, phone="+51987111333", at=AT
    )
    assert last.phones == ()
    assert get_contact(store, campaign="ventas", code=contact.code).phones == ()
    assert len(events_of(store, EventKind.CONTACT_UPDATED)) == 4
    with store.unit_of_work() as uow:
        assert uow.contacts_by_phone("+51987654321") == []


def test_K5_a_no_op_edit_records_nothing() -> None:
    store = new_store()
    contact = jose(store)
    before = snapshot(store)
    add_contact_phone(store, campaign="ventas", code=contact.code, phone="987654321", at=AT)
    update_contact(store, campaign="ventas", code=contact.code, first_names=" José ", at=AT)
    assert snapshot(store) == before


# --- K6 ----------------------------------------------------------------------------------------


def test_K6_template_needs_a_campaign_and_a_queue() -> None:
    check_template_precondition("ventas", "ventas-general")
    with pytest.raises(RuleViolation, match="missing queue"):
        check_template_precondition("ventas", "  ")
    with pytest.raises(RuleViolation, match="missing campaign and queue"):
        check_template_precondition(None, None)
    with pytest.raises(RuleViolation, match="missing campaign"):
        check_template_precondition(7, "cola")


# --- K7 avatar ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "vip", "expected"),
    [
        ("José", "Pérez Soto", True, "JP★"),
        ("José", "Pérez Soto", False, "JP"),
        ("María José", "de la Cruz Rojas", False, "MC"),
        ("ana", "del Pino", False, "AP"),
        ("Ángel", "Öztürk", False, "ÁÖ"),
        ("A\u0301ngel", "Ruiz", False, "ÁR"),
        ("Tran", "Do", False, "TD"),
        ("Luis", "", True, "L★"),
        ("", "", False, ""),
        ("", "", True, "★"),
        ("  (Pepe) ", "O'Brien", False, "PO"),
    ],
)
def test_K7_avatar_is_initials_plus_star_for_vip(
    first: str, last: str, vip: bool, expected: str
) -> None:
    assert avatar(first, last, vip) == expected


def test_K7_contact_avatar_follows_vip_flag() -> None:
    store = new_store()
    contact = jose(store)
    assert contact_avatar(contact) == "JP★"
    plain = update_contact(store, campaign="ventas", code=contact.code, vip=False, at=AT)
    assert contact_avatar(plain) == "JP"


# --- K8 addresses -------------------------------------------------------------------------------


def primaries(contact: Contact) -> list[str]:
    return [a.line for a in contact.addresses if a.primary]


def test_K8_first_address_is_primary_and_primary_can_move() -> None:
    contact = Contact(campaign="ventas", code="X")
    contact = add_address(contact, make_address("Av. Uno 1"))
    contact = add_address(contact, make_address("Av. Dos 2"))
    assert primaries(contact) == ["Av. Uno 1"]
    contact = add_address(contact, make_address("Av. Tres 3"), primary=True)
    assert primaries(contact) == ["Av. Tres 3"]
    contact = set_primary_address(contact, 1)
    assert primaries(contact) == ["Av. Dos 2"]
    removed = remove_address(contact, 1)
    assert [a.line for a in removed.addresses] == ["Av. Uno 1", "Av. Tres 3"]
    assert primaries(removed) == ["Av. Uno 1"]  # the oldest remaining
    assert remove_address(remove_address(removed, 0), 0).addresses == ()


def test_K8_bad_addresses_and_indexes_are_refused() -> None:
    contact = add_address(Contact(campaign="v", code="X"), make_address("Jr. Lima 1"))
    with pytest.raises(InvalidAddress, match="5"):
        remove_address(contact, 5)
    with pytest.raises(InvalidAddress):
        set_primary_address(contact, True)
    with pytest.raises(InvalidAddress):
        make_address("   ")
    with pytest.raises(InvalidAddress, match="'XX'"):
        make_address("Jr. Lima 1", country="XX")
    assert make_address(" Jr.  Lima 1 ", country="pe").country == "PE"


def test_K8_address_services() -> None:
    store = new_store()
    contact = jose(store)
    code = contact.code
    added = add_contact_address(
        store, campaign="ventas", code=code, address={"line": "Calle 2"}, primary=True, at=AT
    )
    assert primaries(added) == ["Calle 2"]
    again = set_contact_primary_address(store, campaign="ventas", code=code, index=0, at=AT)
    assert primaries(again) == ["Av. Arequipa 123"]
    left = remove_contact_address(store, campaign="ventas", code=code, index=0, at=AT)
    assert primaries(left) == ["Calle 2"]
    with store.unit_of_work() as uow:
        detail = contact_detail_view(uow, contact=left)
    assert [a.line for a in detail.addresses] == ["Calle 2"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 6), st.booleans()), max_size=25))
def test_K8_exactly_one_primary_while_any_address(steps: list[tuple[bool, int, bool]]) -> None:
    contact = Contact(campaign="v", code="X")
    made = 0
    for add, index, primary in steps:
        if add or not contact.addresses:
            made += 1
            contact = add_address(contact, make_address(f"Calle {made}"), primary=primary)
        else:
            count = len(contact.addresses)
            if index >= count:
                with pytest.raises(InvalidAddress):
                    remove_address(contact, index)
                continue
            left = [a.line for i, a in enumerate(contact.addresses) if i != index]
            was_primary = contact.addresses[index].primary
            contact = remove_address(contact, index)
            assert [a.line for a in contact.addresses] == left
            if was_primary and left:
                assert contact.addresses[0].primary  # the oldest remaining
        count = sum(a.primary for a in contact.addresses)
        assert count == (1 if contact.addresses else 0)


# --- K9 custom fields ---------------------------------------------------------------------------


def template() -> tuple[CustomFieldDef, ...]:
    return make_campaign("x", custom_fields=TEMPLATE).custom_fields


def test_K9_values_are_converted_against_the_template() -> None:
    values = convert_custom_values(
        template(),
        {
            "plan": "básico",
            "edad": "42.5",
            "nacimiento": "20/11/1990",
            "acepta": "Sí",
            "nota": " hola ",
        },
    )
    assert values == {
        "plan": "Básico",
        "edad": Decimal("42.5"),
        "nacimiento": dt.date(1990, 11, 20),
        "acepta": True,
        "nota": "hola",
    }
    assert convert_custom_values(template(), {"nacimiento": "1990-11-20", "acepta": 0}) == {
        "nacimiento": dt.date(1990, 11, 20),
        "acepta": False,
    }
    assert convert_custom_values(template(), {"edad": 7, "plan": None, "nota": ""}) == {
        "edad": Decimal(7)
    }


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"color": "rojo"}, "'color'.*plan, edad"),
        ({"plan": "C"}, "one of A, Básico"),
        ({"edad": "1,5"}, "'1,5'"),
        ({"edad": True}, "True"),
        ({"edad": float("nan")}, "nan"),
        ({"nacimiento": "31/02/2026"}, "31/02/2026"),
        ({"nacimiento": "mañana"}, "mañana"),
        ({"nacimiento": dt.datetime(2026, 1, 1)}, "datetime"),
        ({"acepta": "quizás"}, "quizás"),
        ({"nota": 12}, "12"),
    ],
)
def test_K9_unknown_field_or_wrong_type_is_refused(values: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidCustomField, match=match):
        convert_custom_values(template(), values)


def test_K9_required_fields() -> None:
    fields = (make_custom_field("plan", "choice", required=True, choices=["A"]),)
    with pytest.raises(InvalidCustomField, match="'plan' is required"):
        convert_custom_values(fields, {})
    assert convert_custom_values(fields, {}, partial=True) == {}
    with pytest.raises(InvalidCustomField, match="required"):
        convert_custom_values(fields, {"plan": None}, partial=True)


def test_K9_update_merges_custom_values_and_none_removes() -> None:
    store = new_store()
    contact = jose(store, custom={"plan": "A", "edad": 30})
    updated = update_contact(
        store, campaign="ventas", code=contact.code, custom={"edad": None, "acepta": "no"}, at=AT
    )
    assert updated.custom == {"plan": "A", "acepta": False}


def test_K9_template_is_validated() -> None:
    with pytest.raises(InvalidCustomField, match="without choices"):
        make_custom_field("plan", "choice")
    with pytest.raises(InvalidCustomField, match="'money'"):
        make_custom_field("monto", "money")
    with pytest.raises(InvalidCustomField, match="twice"):
        make_campaign("x", custom_fields=[{"name": "a"}, {"name": "a", "type": "number"}])
    assert make_custom_field("Plan", "CHOICE", choices=("A",)).type is FieldType.CHOICE


@settings(max_examples=40, deadline=None)
@given(cst.addresses(), cst.custom_field_defs())
def test_K8_K9_a_record_given_as_itself_or_as_its_fields_reads_the_same(
    address: Address, field: CustomFieldDef
) -> None:
    # address_from and custom_field_from read a record's fields through one helper
    # (checks.record_fields): a record and the mapping of its fields are one input,
    # built or refused alike (the strategies draw some the rules refuse).
    def outcome(read: Callable[[object], object], value: object) -> object:
        try:
            return read(value)
        except (InvalidAddress, InvalidCustomField) as exc:
            return type(exc), str(exc)

    assert outcome(address_from, address) == outcome(address_from, attrs.asdict(address))
    assert outcome(custom_field_from, field) == outcome(custom_field_from, attrs.asdict(field))
    with pytest.raises(InvalidAddress, match=r"^address \{'city': 'Lima'\} has no line$"):
        address_from({"city": "Lima"})
    with pytest.raises(InvalidCustomField, match=r"^7 is not a custom field: expected a Cust"):
        custom_field_from(7)


# --- K10 search ---------------------------------------------------------------------------------


def test_K10_search_is_case_and_accent_insensitive_and_every_word_must_match() -> None:
    store = new_store()
    jose_ = jose(store)
    maria = create_contact(
        store,
        campaign="ventas",
        first_names="María",
        last_names="Ñúñez",
        channels=[{"kind": "phone", "value": "912 000 111"}],
        at=AT,
    )
    assert search_contacts(store, campaign="ventas", query="jose") == (jose_,)
    assert search_contacts(store, campaign="ventas", query="PEREZ jose") == (jose_,)
    assert search_contacts(store, campaign="ventas", query="jose nunez") == ()
    assert search_contacts(store, campaign="ventas", query="nuñez") == (maria,)
    assert search_contacts(store, campaign="ventas", query="acme") == (jose_,)
    assert search_contacts(store, campaign="ventas", query="12.345.678") == (jose_,)
    assert search_contacts(store, campaign="ventas", query="example.COM") == (jose_,)
    assert search_contacts(store, campaign=None, query="maria") == (maria,)
    assert len(search_contacts(store, campaign="ventas", query="  ")) == 2
    with pytest.raises(UnknownCampaign):
        search_contacts(store, campaign="nope", query="x")


def test_K10_phone_looking_query_is_normalized_first() -> None:
    store = new_store()
    contact = jose(store)
    assert search_contacts(store, campaign="ventas", query="+51 987-654-321") == (contact,)
    assert search_contacts(store, campaign="ventas", query="0051 987 654 321") == (contact,)
    assert search_contacts(store, campaign="ventas", query="654 321") == (
        contact,
    )  # digits of a phone
    assert search_contacts(store, campaign="ventas", query="987 654 322") == ()
    assert contact_matches(contact, "(987) 654-321", "PE")
    assert not contact_matches(contact, "(01) 700-1234", "PE")


def test_K10_fold() -> None:
    assert fold("ÁÉÍÓÚ ñ Straße") == "aeiou n strasse"
    with pytest.raises(RuleViolation):
        fold(None)  # type: ignore[arg-type]


NAMES = st.text(
    alphabet=st.sampled_from("abcdefghijklmnñopqrstuvwxyzáéíóúüÁÉÍÓÚÑ'-"), min_size=1, max_size=12
)


@settings(max_examples=60, deadline=None)
@given(st.lists(NAMES, min_size=1, max_size=3), st.lists(NAMES, max_size=3), st.data())
def test_K10_any_word_of_the_name_finds_the_contact(
    first: list[str], last: list[str], data: st.DataObject
) -> None:
    contact = Contact(
        campaign="ventas", code="C-000001", first_names=" ".join(first), last_names=" ".join(last)
    )
    word = data.draw(st.sampled_from(first + last))
    assert contact_matches(contact, word, "PE")
    assert contact_matches(contact, fold(word).upper(), "PE")


# --- companies, campaigns, lines, views ----------------------------------------------------------


def test_K16_companies_are_found_by_tax_id_or_name() -> None:
    store = new_store()
    acme = find_or_create_company(store, name="ACME SAC", tax_id=("RUC", "20512333797"), at=AT)
    assert acme.id == "20512333797"
    same = find_or_create_company(
        store, name="Acme S.A.C.", tax_id={"type": "RUC", "number": "20512333797"}, at=AT
    )
    assert same == acme
    by_name = create_contact(
        store, campaign="ventas", first_names="Ana", company=" acme  sac", at=AT
    )
    assert by_name.company == "20512333797"
    new = create_contact(store, campaign="ventas", first_names="Eva", company="Otra SRL", at=AT)
    assert new.company == "N:otra srl"
    assert make_company("Otra SRL", phone="017001234").phone == "+5117001234"


def test_K16_find_company_looks_up_by_id_or_name_and_creates_nothing(
    count_calls: Callable[..., Any],
) -> None:
    store = new_store()
    acme = find_or_create_company(store, name="ACME SAC", tax_id=("RUC", "20512333797"), at=AT)
    otra = find_or_create_company(store, name="Otra SRL", at=AT)
    before = snapshot(store)
    listed = count_calls(MemoryUnitOfWork, "list_companies")
    with store.unit_of_work() as uow:
        assert find_company(uow, ref="20512333797") == acme
        assert find_company(uow, ref=" Acme   sac ") == acme  # a tax-id company, by name
        assert find_company(uow, ref="OTRA srl") == otra
        assert find_company(uow, ref="Nueva SAC") is None
        assert find_company(uow, ref=None) is None
        assert find_company(uow, ref=42) is None
    assert listed.count == 0  # the store's name index, not a scan of every company

    class Scanned:
        """A unit of work without CompanyNameIndex: the services scan, same answers."""

        def __init__(self, uow: Any) -> None:
            self.get_company = uow.get_company
            self.list_companies = uow.list_companies
            self.get_contact = uow.get_contact
            self.events = uow.events

    with store.unit_of_work() as uow:
        plain: Any = Scanned(uow)
        assert find_company(plain, ref=" Acme   sac ") == acme
        assert find_company(plain, ref="Nueva SAC") is None
    assert listed.count == 2
    assert snapshot(store) == before


def test_campaign_declaration_is_idempotent_and_conflicts_refused() -> None:
    store = new_store()
    before = snapshot(store)
    declare_campaign(
        store, campaign=make_campaign("ventas", name="Ventas", custom_fields=TEMPLATE), at=AT
    )
    assert snapshot(store) == before
    with pytest.raises(RuleViolation, match="'ventas'"):
        declare_campaign(store, campaign=make_campaign("ventas", region="MX"), at=AT)
    assert len(events_of(store, EventKind.CAMPAIGN_DECLARED)) == 2


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"id": ""}, RuleViolation),
        ({"region": "XX"}, RuleViolation),
        ({"timezone": "Mars/Olympus"}, RuleViolation),
        ({"timezone": "../etc/passwd"}, RuleViolation),
        ({"grace_days": -1}, RuleViolation),
        ({"horizon_days": 0}, RuleViolation),
        ({"tolerance": "-0.5"}, RuleViolation),
        ({"tolerance": 0.5}, RuleViolation),
        ({"typifications": [["A", "B", "C", "D", "E"]]}, InvalidTypification),
        ({"typifications": [["A", " "]]}, InvalidTypification),
        ({"typifications": ["Contactado"]}, InvalidTypification),
        ({"buckets": [(1, 30), (20, None)]}, RuleViolation),
        ({"buckets": [(1, None), (31, 60)]}, RuleViolation),
        ({"buckets": [(30, 1)]}, RuleViolation),
        ({"buckets": [(1, 30), (40, None)]}, RuleViolation),
        ({"buckets": []}, RuleViolation),
    ],
)
def test_make_campaign_refuses_bad_settings(fields: dict[str, Any], error: type[Exception]) -> None:
    args = {"id": "ventas", **fields}
    with pytest.raises(error):
        make_campaign(args.pop("id"), **args)


def test_make_campaign_accepts_the_event_format() -> None:
    campaign = make_campaign(
        "cobranzas",
        kind="collections",
        region="pe",
        typifications=[["Contactado", "Venta", "Contado"], ["No contactado", "Buzón"]],
        grace_days=2,
        tolerance="0.50",
    )
    assert campaign.region == "PE"
    assert campaign.tolerance == Decimal("0.50")
    assert campaign.typifications[1] == ("No contactado", "Buzón")


def test_declare_line_normalizes_its_address_with_the_campaign_region() -> None:
    store = new_store()
    line = Line(
        id="wa-main",
        channel=Channel.WHATSAPP,
        address="+51 1 7001234",
        alias="WhatsApp principal",
        campaign="ventas",
        queue="ventas-general",
    )
    stored = declare_line(store, line=line, at=AT)
    assert stored.address == "+5117001234"
    assert declare_line(store, line=line, at=AT) == stored  # identical: no-op
    assert len(events_of(store, EventKind.LINE_DECLARED)) == 1
    with pytest.raises(RuleViolation, match="'wa-main'"):
        declare_line(store, line=attrs.evolve(line, queue="otra"), at=AT)
    with pytest.raises(UnknownCampaign):
        declare_line(store, line=attrs.evolve(line, id="x", campaign="nope"), at=AT)
    with pytest.raises(RuleViolation, match="'fax'"):
        make_line("x", "fax", "123")


def test_personal_data_view_has_personal_and_custom_sections() -> None:
    store = new_store()
    contact = jose(store, custom={"edad": "40"})
    with store.unit_of_work() as uow:
        campaign = uow.get_campaign("ventas")
        company = uow.get_company(contact.company or "")
    assert campaign is not None
    view = personal_data_view(campaign, contact, company)
    personal = dict(view.personal)
    assert personal["document_number"] == "12345678"
    assert personal["emails"] == ("jose@example.com",)
    assert personal["company"] == "ACME SAC"
    assert view.custom == (
        ("plan", None),
        ("edad", Decimal("40")),
        ("nacimiento", None),
        ("acepta", None),
        ("nota", None),
    )


# --- tombstones (M5 references), K17 ------------------------------------------------------------


def test_K17_references_and_edits_follow_tombstones() -> None:
    store = new_store()
    alive = jose(store)
    merged = create_contact(store, campaign="ventas", first_names="Pepe", at=AT)
    with store.unit_of_work() as uow:
        uow.update_contact(attrs.evolve(merged, merged_into=alive.code))
        uow.commit()
        assert resolve_contact_code(uow, campaign="ventas", code=merged.code) == alive.code
        assert live_contact(uow, "ventas", f"  {merged.code} ") == alive
    assert get_contact(store, campaign="ventas", code=merged.code) == alive
    assert search_contacts(store, campaign="ventas", query="pepe") == ()
    # An edit naming the tombstone lands on the survivor, as a late interaction does (M5).
    edited = update_contact(store, campaign="ventas", code=merged.code, notes="x", at=AT)
    assert edited.code == alive.code and edited.notes == "x"
    assert get_contact(store, campaign="ventas", code=alive.code).notes == "x"
    with store.unit_of_work() as uow:
        assert uow.get_contact("ventas", merged.code) == attrs.evolve(
            merged, merged_into=alive.code
        )
    with pytest.raises(UnknownContact, match="'C-999999'"):
        get_contact(store, campaign="ventas", code="C-999999")


def test_update_contact_refuses_unknown_fields() -> None:
    store = new_store()
    contact = jose(store)
    with pytest.raises(RuleViolation, match="'nickname'"):
        update_contact(store, campaign="ventas", code=contact.code, nickname="Pepe", at=AT)


# --- E1 / E2 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"custom": {"edad": "mucho"}},
        {"custom": {"inexistente": 1}},
        {"channels": [{"kind": "phone", "value": "98765"}]},
        {"channels": [{"kind": "email", "value": "no-es-correo"}]},
        {"document": ("DNI", "123")},
        {"addresses": [{"line": ""}]},
        {"company": 42},
        {"first_names": "x" * 10_000},
    ],
)
def test_E2_a_rejected_create_leaves_the_store_unchanged(bad: dict[str, Any]) -> None:
    store = new_store()
    jose(store, document=None, company="Nueva SAC")
    before = snapshot(store)
    with pytest.raises(CcdomainError):
        jose(store, **{"document": None, "company": "Otra Nueva SAC", **bad})
    assert snapshot(store) == before
    # The generated-code counter rolled back too: the next contact gets C-000002.
    assert jose(store, document=None).code == "C-000002"


def test_E2_a_rejected_update_leaves_the_store_unchanged() -> None:
    store = new_store()
    contact = jose(store)
    before = snapshot(store)
    with pytest.raises(InvalidPhoneNumber):
        update_contact(
            store,
            campaign="ventas",
            code=contact.code,
            first_names="Nuevo",
            company="Otra SAC",
            channels=[{"kind": "phone", "value": "1"}],
            at=AT,
        )
    assert snapshot(store) == before


def test_E1_messages_name_the_value() -> None:
    with pytest.raises(InvalidChannel, match="'nope@'"):
        normalize_channel("email", "nope@", "PE")
    with pytest.raises(RuleViolation, match="first_names 42"):
        avatar(42, "", False)  # type: ignore[arg-type]
    long = "x" * 10_000
    with pytest.raises(RuleViolation) as info:
        create_contact(new_store(), campaign="ventas", first_names=long, at=AT)
    assert len(str(info.value)) < 200


def test_E1_events_carry_time_actor_and_no_personal_values() -> None:
    store = new_store()
    contact = jose(store)
    [event] = events_of(store, EventKind.CONTACT_CREATED)
    assert (event.at, event.actor, event.campaign, event.contact) == (
        AT,
        "ana",
        "ventas",
        "12345678",
    )
    assert "José" not in repr(event.payload)
    assert isinstance(event.payload, ContactCreated)
    assert "first_names" in event.payload.fields
    with pytest.raises(RuleViolation):
        create_contact(store, campaign="ventas", at=dt.datetime(2026, 1, 1))  # naive time
    assert contact.custom == {"plan": "A"}


CREATE_ARGS = (*CONTACT_FIELDS, "agent")


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CREATE_ARGS), DEEP_JUNK)
def test_E1_create_contact_with_junk_raises_only_ccdomain_errors(name: str, junk: object) -> None:
    store = new_store()
    before = snapshot(store)
    try:
        create_contact(store, campaign="ventas", at=AT, **{name: junk})
    except CcdomainError:
        assert snapshot(store) == before
    except Exception as error:  # pragma: no cover - the failure being tested
        pytest.fail(f"{type(error).__name__} escaped create_contact({name}={junk!r}): {error}")


SAMPLE = Contact(
    campaign="ventas",
    code="X",
    first_names="Ana",
    channels=(ContactChannel(kind=ChannelKind.PHONE, value="+51987654321"),),
    addresses=(Address(line="Calle 1", primary=True),),
)

PURE_RULES = [
    lambda x: make_campaign(x),
    lambda x: make_campaign("v", region=x),
    lambda x: make_campaign("v", timezone=x),
    lambda x: make_campaign("v", tolerance=x),
    lambda x: make_campaign("v", custom_fields=[x]),
    lambda x: make_campaign("v", typifications=[[x]]),
    lambda x: make_campaign("v", grace_days=x),
    lambda x: make_line("l", x, "987654321", region="PE"),
    lambda x: make_line("l", "call", x, region="PE"),
    lambda x: normalize_channel(x, "a@b.pe", "PE"),
    lambda x: normalize_channel("email", x, "PE"),
    lambda x: normalize_channel("phone", x, "PE"),
    lambda x: normalize_channel("instagram", x, "PE"),
    lambda x: normalize_channel("phone", "987654321", x),
    lambda x: normalize_channel("messenger", "pepe", "PE", x),
    lambda x: channel_kind(x),
    lambda x: dedupe_channels(x),
    lambda x: channels_by_kind(x),
    lambda x: avatar(x, "Pérez", False),
    lambda x: avatar("Ana", x, False),
    lambda x: avatar("Ana", "Pérez", x),
    lambda x: make_address(x),
    lambda x: make_address("Calle 1", country=x),
    lambda x: add_address(SAMPLE, x),
    lambda x: remove_address(SAMPLE, x),
    lambda x: set_primary_address(SAMPLE, x),
    lambda x: add_phone(SAMPLE, x, "PE"),
    lambda x: add_phone(SAMPLE, "987654322", "PE", kind=x),
    lambda x: edit_phone(SAMPLE, x, "987654322", "PE"),
    lambda x: edit_phone(SAMPLE, "+51987654321", x, "PE"),
    lambda x: delete_phone(SAMPLE, x),
    lambda x: check_template_precondition(x, "cola"),
    lambda x: convert_custom_values(template(), {"edad": x}),
    lambda x: convert_custom_values(template(), {"nacimiento": x}),
    lambda x: convert_custom_values(template(), {"acepta": x}),
    lambda x: convert_custom_values(template(), {"plan": x}),
    lambda x: convert_custom_values(template(), {"nota": x}),
    lambda x: convert_custom_values(template(), x),
    lambda x: convert_custom_values(x, {}),
    lambda x: make_custom_field(x),
    lambda x: make_custom_field("f", x),
    lambda x: make_custom_field("f", "choice", choices=x),
    lambda x: fold(x),
    lambda x: contact_matches(SAMPLE, x, "PE"),
    lambda x: contact_matches(SAMPLE, "ana", x),
    lambda x: contact_matches(x, "ana", "PE"),
    lambda x: generated_code(x),
    lambda x: get_contact(MemoryStore(), campaign=x, code="X"),
    lambda x: get_contact(MemoryStore(), campaign="ventas", code=x),
    lambda x: code_for(x),
    lambda x: make_company(x),
    lambda x: make_company("ACME", x),
    lambda x: make_company("ACME", address=x),
    lambda x: make_company("ACME", phone=x),
    lambda x: find_company(MemoryStore().unit_of_work(), ref=x),
    lambda x: find_company(x, ref="ACME"),
    lambda x: resolve_contact_code(MemoryStore(), campaign="ventas", code=x),
    lambda x: contact_detail_view(MemoryStore(), contact=x),
    lambda x: build_contact(make_campaign("v"), code=x),
    lambda x: build_contact(make_campaign("v"), code="C-1", first_names=x),
    lambda x: build_contact(make_campaign("v"), code="C-1", company=x),
    lambda x: build_contact(make_campaign("v"), code="C-1", companies=x),
    lambda x: build_contact(make_campaign("v"), document=x),
    lambda x: build_contact(x, code="C-1"),
    lambda x: edit_contact(make_campaign("v"), SAMPLE, x),
    lambda x: edit_contact(make_campaign("v"), SAMPLE, {"channels": x}),
    lambda x: edit_contact(make_campaign("v"), x, {}),
    lambda x: company_id(x),
    lambda x: company_id("ACME", x),
]


@settings(max_examples=1000, deadline=None)
@given(st.integers(0, len(PURE_RULES) - 1), DEEP_JUNK)
def test_E1_pure_rules_with_junk_raise_only_ccdomain_errors(rule: int, junk: object) -> None:
    try:
        PURE_RULES[rule](junk)
    except CcdomainError:
        pass
    except Exception as error:  # pragma: no cover - the failure being tested
        pytest.fail(f"{type(error).__name__} escaped rule {rule} with {junk!r}: {error}")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40), st.booleans())
def test_K7_avatar_of_any_text_is_short(first: str, last: str, vip: bool) -> None:
    try:
        result = avatar(first, last, vip)
    except RuleViolation:
        return  # control characters
    assert len(result) <= 3
    assert result.endswith("★") == vip


SERVICES = [
    lambda s, x: update_contact(s, campaign="ventas", code="12345678", at=AT, **{"first_names": x}),
    lambda s, x: update_contact(s, campaign="ventas", code="12345678", at=AT, **{"document": x}),
    lambda s, x: update_contact(s, campaign="ventas", code="12345678", at=AT, **{"channels": x}),
    lambda s, x: update_contact(s, campaign="ventas", code="12345678", at=AT, **{"addresses": x}),
    lambda s, x: update_contact(s, campaign="ventas", code="12345678", at=AT, **{"custom": x}),
    lambda s, x: update_contact(s, campaign="ventas", code="12345678", at=AT, **{"tags": x}),
    lambda s, x: update_contact(s, campaign="ventas", code="12345678", at=AT, **{"company": x}),
    lambda s, x: update_contact(s, campaign="ventas", code=x, at=AT),
    lambda s, x: update_contact(s, campaign=x, code="12345678", at=AT),
    lambda s, x: update_contact(s, campaign="ventas", code="12345678", at=x),
    lambda s, x: add_contact_phone(s, campaign="ventas", code="12345678", phone=x, at=AT),
    lambda s, x: edit_contact_phone(
        s, campaign="ventas", code="12345678", old="987654321", new=x, at=AT
    ),
    lambda s, x: delete_contact_phone(s, campaign="ventas", code="12345678", phone=x, at=AT),
    lambda s, x: add_contact_address(s, campaign="ventas", code="12345678", address=x, at=AT),
    lambda s, x: remove_contact_address(s, campaign="ventas", code="12345678", index=x, at=AT),
    lambda s, x: set_contact_primary_address(s, campaign="ventas", code="12345678", index=x, at=AT),
    lambda s, x: search_contacts(s, campaign="ventas", query=x),
    lambda s, x: search_contacts(s, campaign=x, query="jose"),
    lambda s, x: find_or_create_company(s, name=x, at=AT),
    lambda s, x: find_or_create_company(s, name="ACME", tax_id=x, at=AT),
    lambda s, x: declare_campaign(s, campaign=x, at=AT),
    lambda s, x: declare_line(s, line=x, at=AT),
    lambda s, x: declare_line(
        s, line=Line(id="l", channel=Channel.CALL, address=x, campaign="ventas"), at=AT
    ),
]


@settings(max_examples=400, deadline=None)
@given(st.integers(0, len(SERVICES) - 1), DEEP_JUNK)
def test_E1_E2_services_with_junk_raise_only_ccdomain_errors_and_change_nothing(
    service: int, junk: object
) -> None:
    store = new_store()
    jose(store)
    before = snapshot(store)
    try:
        SERVICES[service](store, junk)
    except CcdomainError:
        assert snapshot(store) == before
    except Exception as error:  # pragma: no cover - the failure being tested
        pytest.fail(f"{type(error).__name__} escaped service {service} with {junk!r}: {error}")
