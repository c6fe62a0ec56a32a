"""Store conformance suite: run it against your own store to prove it keeps the contract.

The store ports of :mod:`ccdomain.ports` are a contract; this module is its test
suite, shipped in the package so a host can run it against its own store (the
way pyeventsourcing ships the tests of its recorders). Both stores ccdomain
ships, :class:`ccdomain.memory.MemoryStore` and
:class:`ccdomain.sqlite.SqliteStore`, pass it.

To use it, subclass :class:`StoreConformance` (or one class per port) in a
pytest test module and write one factory method returning a new, empty store::

    from ccdomain.testing.conformance import StoreConformance
    from myapp.store import PostgresStore

    class TestPostgresStore(StoreConformance):
        def make_store(self):
            return PostgresStore(dsn=..., schema=fresh_schema())

``self.tmp_path`` (pytest's temporary directory of the test) is set before
``make_store`` is called, for stores kept in files::

    class TestSqliteStore(StoreConformance):
        def make_store(self):
            return SqliteStore(self.tmp_path / "store.db")

Override ``close_store(store)`` when a store needs more than ``store.close()``
to be released. A test that the store cannot support (there should be none)
can be overridden in the subclass.

The classes, one per port: :class:`ContactRepositoryConformance`,
:class:`TicketRepositoryConformance`, :class:`CollectionsRepositoryConformance`,
:class:`IdentityRepositoryConformance`, :class:`EventLogConformance`,
:class:`UnitOfWorkConformance`. Their names do not start with ``Test``, so
pytest collects only your subclasses. Test names carry the DESIGN rule they
check (``test_T2_...``); ``E2`` (a rejected operation changes nothing) is
checked throughout. The suite needs ``pytest`` and ``hypothesis``.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdomain.collections import Installment, Payment, PaymentStatus, Product, Promise, money
from ccdomain.contacts import name_key
from ccdomain.errors import (
    CcdomainError,
    DuplicateContact,
    RuleViolation,
    UnknownContact,
    UnknownTicket,
)
from ccdomain.events import (
    CommentAdded,
    Event,
    EventKind,
    InteractionAdded,
    Payload,
    TicketOpened,
    TicketResolved,
)
from ccdomain.models import (
    Block,
    Campaign,
    Channel,
    ChannelKind,
    Comment,
    Company,
    Contact,
    ContactChannel,
    Direction,
    Interaction,
    Line,
    RouteOutcome,
    Ticket,
    TicketStatus,
    Typification,
)
from ccdomain.ports import CompanyNameIndex, Purgeable, Store, UnitOfWork
from ccdomain.testing import strategies as cst

__all__ = [
    "CollectionsRepositoryConformance",
    "ContactRepositoryConformance",
    "EventLogConformance",
    "IdentityRepositoryConformance",
    "StoreCase",
    "StoreConformance",
    "TicketRepositoryConformance",
    "UnitOfWorkConformance",
]

AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
PHONE = "+51987654321"
OTHER_PHONE = "+51912345678"

_properties = settings(
    max_examples=25,
    deadline=None,
    # One store per test (not per example) is what these properties want; the
    # same test runs from each store's subclass, hence the differing executors.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.differing_executors,
        HealthCheck.too_slow,
    ],
)


def _opener(campaign: str, customer: str, *, contact: str | None = None) -> Callable[[int], Ticket]:
    """An opener building a plain open ticket, as routing would."""

    def open_ticket(number: int) -> Ticket:
        return Ticket(
            number=number,
            campaign=campaign,
            customer=customer,
            origin=Direction.INBOUND,
            opened_at=AT,
            contact=contact,
        )

    return open_ticket


def _contact(campaign: str, code: str, *phones: str, **fields: Any) -> Contact:
    channels = tuple(ContactChannel(kind=ChannelKind.PHONE, value=p) for p in phones)
    return attrs.evolve(Contact(campaign=campaign, code=code, channels=channels), **fields)


def _event(kind: EventKind, payload: Payload, *, ticket: int | None = 1, **fields: Any) -> Event:
    """An event at ``AT`` about ticket 1 unless told otherwise."""
    return Event(kind=kind, at=AT, ticket=ticket, payload=payload, **fields)


def _interaction(ticket: int, external_id: str | None = None, text: str = "hola") -> Interaction:
    return Interaction(
        at=AT,
        channel=Channel.WHATSAPP,
        direction=Direction.INBOUND,
        customer=PHONE,
        external_id=external_id,
        text=text,
        ticket=ticket,
    )


def _codes(contacts: object) -> list[tuple[str, str]]:
    assert isinstance(contacts, list | tuple)
    return [(c.campaign, c.code) for c in contacts]


def _numbers(tickets: object) -> list[int]:
    assert isinstance(tickets, list | tuple)
    return [t.number for t in tickets]


class StoreCase:
    """Base of every conformance class: a fresh store for each test, from ``make_store``."""

    store: Store
    tmp_path: pathlib.Path

    def make_store(self) -> Store:
        """Return a new, empty store (the one method a host writes)."""
        raise NotImplementedError("subclass the conformance class and return a new, empty store")

    def close_store(self, store: Store) -> None:
        """Release a store made by :meth:`make_store` (``store.close()`` by default)."""
        store.close()

    @pytest.fixture(autouse=True)
    def _fresh_store(self, tmp_path: pathlib.Path) -> Iterator[None]:
        self.tmp_path = tmp_path
        self.store = self.make_store()
        try:
            yield
        finally:
            self.close_store(self.store)

    def uow(self) -> UnitOfWork:
        """A unit of work of the store under test."""
        return self.store.unit_of_work()

    def open_ticket(self, campaign: str = "ventas", customer: str = PHONE) -> Ticket:
        """Open (or get) the ticket of (campaign, customer) in a committed unit of work."""
        with self.uow() as uow:
            ticket, _ = uow.get_or_open_ticket(campaign, customer, _opener(campaign, customer))
            uow.commit()
        return ticket


class ContactRepositoryConformance(StoreCase):
    """Campaigns, lines, companies, contacts and the phone index (K1, K2, M3, M5)."""

    def test_K1_campaigns_put_replace_get_list_by_id(self) -> None:
        with self.uow() as uow:
            uow.put_campaign(Campaign(id="ventas", name="Ventas"))
            uow.put_campaign(Campaign(id="cobranzas", kind="collections"))
            uow.put_campaign(Campaign(id="ventas", name="Ventas 2026"))
            uow.commit()
        with self.uow() as uow:
            assert uow.get_campaign("ventas") == Campaign(id="ventas", name="Ventas 2026")
            assert uow.get_campaign("nope") is None
            assert [c.id for c in uow.list_campaigns()] == ["cobranzas", "ventas"]

    def test_T6_lines_put_replace_get_list_by_id(self) -> None:
        wa = Line(id="wa-main", channel=Channel.WHATSAPP, address="+5117001234", campaign="v")
        with self.uow() as uow:
            uow.put_line(wa)
            uow.put_line(Line(id="call-1", channel=Channel.CALL, address="+5117001235"))
            uow.put_line(attrs.evolve(wa, alias="WhatsApp principal"))
            uow.commit()
        with self.uow() as uow:
            assert uow.get_line("wa-main") == attrs.evolve(wa, alias="WhatsApp principal")
            assert uow.get_line("nope") is None
            assert [line.id for line in uow.list_lines()] == ["call-1", "wa-main"]

    def test_companies_put_replace_get_list_by_id(self) -> None:
        with self.uow() as uow:
            uow.put_company(Company(id="acme", name="ACME"))
            uow.put_company(Company(id="acme", name="ACME SAC", phone=PHONE))
            uow.put_company(Company(id="84", name="84 SA"))
            uow.commit()
        with self.uow() as uow:
            assert uow.get_company("acme") == Company(id="acme", name="ACME SAC", phone=PHONE)
            assert uow.get_company("nope") is None
            assert [c.id for c in uow.list_companies()] == ["84", "acme"]

    @_properties
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(["20131312955", "N:acme", "b", "a"]),
                st.sampled_from(["ACME", "  acme ", "Ácme", "Zeta SAC", "zeta  sac"]),
                st.booleans(),
            ),
            max_size=8,
        )
    )
    def test_K16_companies_by_name_key_when_the_store_indexes_them(
        self, writes: list[tuple[str, str, bool]]
    ) -> None:
        """Optional (``CompanyNameIndex``): the answer a scan of every company gives."""
        with self.uow() as uow:
            if not isinstance(uow, CompanyNameIndex):
                return
            for company_id, name, keep in writes:
                with self.uow() as nested:  # a rolled-back write leaves no key behind
                    nested.put_company(Company(id=company_id, name=name))
                    if keep:
                        nested.commit()
            uow.commit()
        with self.uow() as uow:
            assert isinstance(uow, CompanyNameIndex)
            companies = uow.list_companies()
            for key in ("acme", "zeta sac", "nope"):
                expected = next((c for c in companies if name_key(c.name) == key), None)
                assert uow.company_by_name_key(key) == expected

    def test_K1_contacts_add_get_list_by_campaign_and_code(self) -> None:
        with self.uow() as uow:
            for campaign, code in [("b", "2"), ("a", "9"), ("b", "10"), ("a", "1")]:
                uow.add_contact(_contact(campaign, code, first_names=f"{campaign}{code}"))
            uow.commit()
        with self.uow() as uow:
            assert uow.get_contact("a", "9") == _contact("a", "9", first_names="a9")
            assert uow.get_contact("a", "2") is None
            assert _codes(uow.list_contacts()) == [("a", "1"), ("a", "9"), ("b", "10"), ("b", "2")]
            assert _codes(uow.list_contacts("b")) == [("b", "10"), ("b", "2")]
            assert uow.list_contacts("zzz") == []

    def test_K1_duplicate_code_in_campaign_refused_and_changes_nothing(self) -> None:
        with self.uow() as uow:
            uow.add_contact(_contact("ventas", "12345678", PHONE, first_names="José"))
            uow.add_contact(_contact("soporte", "12345678"))  # another campaign: fine
            with pytest.raises(DuplicateContact, match="12345678"):
                uow.add_contact(_contact("ventas", "12345678", OTHER_PHONE, first_names="Ana"))
            uow.commit()
        with self.uow() as uow:
            kept = uow.get_contact("ventas", "12345678")
            assert kept is not None and kept.first_names == "José"
            assert uow.contacts_by_phone(OTHER_PHONE) == []
            assert len(uow.list_contacts()) == 2

    def test_K1_update_contact_replaces_and_unknown_refused(self) -> None:
        with self.uow() as uow:
            uow.add_contact(_contact("ventas", "C-1", first_names="José"))
            uow.update_contact(_contact("ventas", "C-1", first_names="José Luis", vip=True))
            with pytest.raises(UnknownContact, match="C-2"):
                uow.update_contact(_contact("ventas", "C-2"))
            with pytest.raises(UnknownContact):
                uow.update_contact(_contact("soporte", "C-1"))
            uow.commit()
        with self.uow() as uow:
            assert uow.get_contact("ventas", "C-1") == _contact(
                "ventas", "C-1", first_names="José Luis", vip=True
            )
            assert uow.get_contact("ventas", "C-2") is None
            assert uow.get_contact("soporte", "C-1") is None

    def test_M3_phone_index_exact_national_and_suffix(self) -> None:
        with self.uow() as uow:
            uow.add_contact(_contact("ventas", "A", PHONE))
            uow.add_contact(_contact("soporte", "B", "+52987654321"))  # same national number
            uow.add_contact(_contact("ventas", "C", "+51917654321"))  # same last 7 digits
            uow.add_contact(_contact("ventas", "D", OTHER_PHONE))
            uow.commit()
        with self.uow() as uow:
            assert _codes(uow.contacts_by_phone(PHONE)) == [("ventas", "A")]
            assert _codes(uow.contacts_by_national_number("987654321")) == [
                ("ventas", "A"),
                ("soporte", "B"),
            ]
            assert _codes(uow.contacts_by_phone_suffix("7654321")) == [
                ("ventas", "A"),
                ("soporte", "B"),
                ("ventas", "C"),
            ]
            assert uow.contacts_by_phone("+51900000000") == []
            assert uow.contacts_by_national_number("900000000") == []
            assert uow.contacts_by_phone_suffix("0000000") == []
            found = uow.contacts_by_phone(OTHER_PHONE)
            assert found == [_contact("ventas", "D", OTHER_PHONE)]

    def test_M3_contact_with_two_phones_listed_once_per_key(self) -> None:
        with self.uow() as uow:
            uow.add_contact(_contact("ventas", "A", PHONE, "+52987654321"))
            contact = _contact("ventas", "B", PHONE)
            uow.add_contact(attrs.evolve(contact, channels=(*contact.channels, *contact.channels)))
            uow.commit()
        with self.uow() as uow:
            assert _codes(uow.contacts_by_national_number("987654321")) == [
                ("ventas", "A"),
                ("ventas", "B"),
            ]
            assert _codes(uow.contacts_by_phone_suffix("7654321")) == [
                ("ventas", "A"),
                ("ventas", "B"),
            ]
            assert _codes(uow.contacts_by_phone(PHONE)) == [("ventas", "A"), ("ventas", "B")]

    def test_M3_phone_index_follows_updates_in_indexing_order(self) -> None:
        with self.uow() as uow:
            uow.add_contact(_contact("ventas", "A", PHONE))
            uow.add_contact(_contact("ventas", "B", PHONE))
            uow.commit()
        with self.uow() as uow:
            assert _codes(uow.contacts_by_phone(PHONE)) == [("ventas", "A"), ("ventas", "B")]
            # Updating a contact reindexes it: it moves to the end of its keys.
            uow.update_contact(_contact("ventas", "A", PHONE, first_names="Ana"))
            assert _codes(uow.contacts_by_phone(PHONE)) == [("ventas", "B"), ("ventas", "A")]
            # A changed phone: found by the new number only.
            uow.update_contact(_contact("ventas", "B", OTHER_PHONE))
            uow.commit()
        with self.uow() as uow:
            assert _codes(uow.contacts_by_phone(PHONE)) == [("ventas", "A")]
            assert _codes(uow.contacts_by_phone(OTHER_PHONE)) == [("ventas", "B")]
            assert _codes(uow.contacts_by_phone_suffix("2345678")) == [("ventas", "B")]
            assert _codes(uow.contacts_by_national_number("987654321")) == [("ventas", "A")]
            # K5: deleting the last phone leaves the contact out of every key.
            uow.update_contact(_contact("ventas", "B"))
            assert uow.contacts_by_phone(OTHER_PHONE) == []
            assert uow.contacts_by_phone_suffix("2345678") == []
            assert uow.contacts_by_national_number("912345678") == []

    def test_M5_tombstones_are_not_found_by_phone(self) -> None:
        with self.uow() as uow:
            uow.add_contact(_contact("ventas", "A", PHONE))
            uow.add_contact(_contact("ventas", "B", PHONE))
            uow.add_contact(_contact("ventas", "T", OTHER_PHONE, merged_into="A"))
            uow.update_contact(_contact("ventas", "B", PHONE, merged_into="A"))
            uow.commit()
        with self.uow() as uow:
            assert _codes(uow.contacts_by_phone(PHONE)) == [("ventas", "A")]
            assert _codes(uow.contacts_by_national_number("987654321")) == [("ventas", "A")]
            assert _codes(uow.contacts_by_phone_suffix("7654321")) == [("ventas", "A")]
            assert uow.contacts_by_phone(OTHER_PHONE) == []
            # Tombstones stay readable and listed.
            tombstone = uow.get_contact("ventas", "B")
            assert tombstone is not None and tombstone.merged_into == "A"
            assert _codes(uow.list_contacts("ventas")) == [
                ("ventas", "A"),
                ("ventas", "B"),
                ("ventas", "T"),
            ]

    def test_I4_rename_contact_moves_code_and_phone_index(self) -> None:
        with self.uow() as uow:
            uow.add_contact(_contact("ventas", "12345678", PHONE, first_names="José"))
            uow.add_contact(_contact("ventas", "C-2", OTHER_PHONE))
            uow.commit()
        with self.uow() as uow:
            with pytest.raises(DuplicateContact, match="C-2"):
                uow.rename_contact("ventas", "12345678", _contact("ventas", "C-2"))
            with pytest.raises(UnknownContact, match="C-9"):
                uow.rename_contact("ventas", "C-9", _contact("ventas", "ANON-1"))
            with pytest.raises(RuleViolation, match="soporte"):
                uow.rename_contact("ventas", "12345678", _contact("soporte", "ANON-1"))
            uow.rename_contact("ventas", "12345678", _contact("ventas", "ANON-1", anonymized=True))
            uow.commit()
        with self.uow() as uow:
            assert uow.get_contact("ventas", "12345678") is None
            assert uow.get_contact("ventas", "ANON-1") == _contact(
                "ventas", "ANON-1", anonymized=True
            )
            assert uow.contacts_by_phone(PHONE) == []
            assert uow.contacts_by_phone_suffix("7654321") == []
            assert _codes(uow.list_contacts("ventas")) == [("ventas", "ANON-1"), ("ventas", "C-2")]
            # Renaming to the same code is a plain replacement, phones reindexed.
            uow.rename_contact("ventas", "C-2", _contact("ventas", "C-2", PHONE))
            uow.commit()
        with self.uow() as uow:
            assert _codes(uow.contacts_by_phone(PHONE)) == [("ventas", "C-2")]
            assert uow.contacts_by_phone(OTHER_PHONE) == []

    def test_K2_next_contact_number_increases_per_campaign(self) -> None:
        with self.uow() as uow:
            first = [uow.next_contact_number("ventas") for _ in range(3)]
            other = uow.next_contact_number("soporte")
            uow.commit()
        with self.uow() as uow:
            later = uow.next_contact_number("ventas")
            uow.commit()
        assert first == sorted(set(first))
        assert later > first[-1]
        assert other >= 1

    @_properties
    @given(contact=cst.contacts())
    def test_K1_contact_round_trip(self, contact: Contact) -> None:
        with self.uow() as uow:
            if uow.get_contact(contact.campaign, contact.code) is None:
                uow.add_contact(contact)
            else:
                uow.update_contact(contact)
            uow.commit()
        with self.uow() as uow:
            assert uow.get_contact(contact.campaign, contact.code) == contact
            for phone in contact.phones:
                assert contact in uow.contacts_by_phone(phone)

    @_properties
    @given(campaign=cst.campaigns(), line=cst.lines(), company=cst.companies())
    def test_campaign_line_company_round_trip(
        self, campaign: Campaign, line: Line, company: Company
    ) -> None:
        with self.uow() as uow:
            uow.put_campaign(campaign)
            uow.put_line(line)
            uow.put_company(company)
            uow.commit()
        with self.uow() as uow:
            assert uow.get_campaign(campaign.id) == campaign
            assert uow.get_line(line.id) == line
            assert uow.get_company(company.id) == company


class TicketRepositoryConformance(StoreCase):
    """Tickets: atomic get-or-open (T2), numbering (T5), lookups, interactions (T9), T8."""

    def test_T2_get_or_open_returns_the_open_ticket(self) -> None:
        calls: list[int] = []

        def opener(number: int) -> Ticket:
            calls.append(number)
            return _opener("ventas", PHONE)(number)

        with self.uow() as uow:
            first, opened = uow.get_or_open_ticket("ventas", PHONE, opener)
            assert opened and first.number == calls[0]
            again, opened_again = uow.get_or_open_ticket("ventas", PHONE, opener)
            uow.commit()
        assert (again, opened_again) == (first, False)
        with self.uow() as uow:
            later, opened_later = uow.get_or_open_ticket("ventas", PHONE, opener)
            assert uow.get_open_ticket("ventas", PHONE) == first
        assert (later, opened_later) == (first, False)
        assert len(calls) == 1

    def test_T2_opener_must_return_an_open_ticket_of_the_key(self) -> None:
        def wrong_customer(number: int) -> Ticket:
            return _opener("ventas", OTHER_PHONE)(number)

        def closed(number: int) -> Ticket:
            ticket = _opener("ventas", PHONE)(number)
            return attrs.evolve(ticket, status=TicketStatus.RESOLVED)

        with self.uow() as uow:
            with pytest.raises(RuleViolation):
                uow.get_or_open_ticket("ventas", PHONE, wrong_customer)
            with pytest.raises(RuleViolation):
                uow.get_or_open_ticket("ventas", PHONE, closed)
            uow.commit()
        with self.uow() as uow:
            assert uow.list_tickets() == []
            assert uow.get_open_ticket("ventas", OTHER_PHONE) is None

    def test_T2_opener_error_propagates_and_opens_nothing(self) -> None:
        def failing(number: int) -> Ticket:
            raise RuleViolation(f"cannot open ticket {number}")

        with self.uow() as uow:
            with pytest.raises(RuleViolation, match="cannot open"):
                uow.get_or_open_ticket("ventas", PHONE, failing)
            uow.commit()
        with self.uow() as uow:
            assert uow.get_open_ticket("ventas", PHONE) is None

    def test_T2_concurrent_get_or_open_makes_one_ticket_per_key(self) -> None:
        keys = [(f"c{k % 4}", f"+5198765{k:04d}") for k in range(20)]
        results: list[tuple[tuple[str, str], int, bool]] = []
        errors: list[BaseException] = []
        lock = threading.Lock()
        start = threading.Barrier(8)

        def worker(offset: int) -> None:
            try:
                start.wait()
                for i in range(200):
                    key = keys[(i * 7 + offset) % len(keys)]
                    with self.uow() as uow:
                        ticket, opened = uow.get_or_open_ticket(*key, _opener(*key))
                        uow.commit()
                    with lock:
                        results.append((key, ticket.number, opened))
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(results) == 8 * 200
        for key in keys:
            mine = [(number, opened) for k, number, opened in results if k == key]
            assert len({number for number, _ in mine}) == 1, key
            assert sum(opened for _, opened in mine) == 1, key
        with self.uow() as uow:
            tickets = uow.list_tickets()
            assert len(tickets) == len(keys)
            assert len({t.number for t in tickets}) == len(keys)
            for key in keys:
                assert len(uow.tickets_for_customer(key[1], key[0])) == 1

    def test_T5_numbers_unique_and_increasing_across_campaigns(self) -> None:
        numbers = [
            self.open_ticket(campaign, customer).number
            for campaign in ("ventas", "soporte", "cobranzas")
            for customer in (PHONE, OTHER_PHONE)
        ]
        assert numbers == sorted(set(numbers))
        assert all(n >= 1 for n in numbers)
        with self.uow() as uow:
            assert _numbers(uow.list_tickets()) == numbers

    def test_T5_number_of_a_rolled_back_opening_is_never_handed_out_again(self) -> None:
        kept = self.open_ticket("ventas", PHONE).number
        with self.uow() as uow:
            dropped, _ = uow.get_or_open_ticket(
                "ventas", OTHER_PHONE, _opener("ventas", OTHER_PHONE)
            )
        with self.uow() as uow:
            with self.uow() as nested:
                dropped_nested, _ = nested.get_or_open_ticket(
                    "soporte", PHONE, _opener("soporte", PHONE)
                )
            after_nested, _ = uow.get_or_open_ticket("soporte", PHONE, _opener("soporte", PHONE))
            uow.commit()
        last = self.open_ticket("ventas", OTHER_PHONE).number
        assert kept < dropped.number < dropped_nested.number < after_nested.number < last

    def test_T3_closed_ticket_never_reopens_and_next_interaction_gets_new_number(self) -> None:
        ticket = self.open_ticket("ventas", PHONE)
        closed = attrs.evolve(ticket, status=TicketStatus.RESOLVED, closed_at=AT, closed_by="ana")
        with self.uow() as uow:
            uow.update_ticket(closed)
            uow.commit()
        with self.uow() as uow:
            with pytest.raises(RuleViolation, match="never reopens"):
                uow.update_ticket(attrs.evolve(closed, status=TicketStatus.OPEN))
            assert uow.get_ticket(ticket.number) == closed
            assert uow.get_open_ticket("ventas", PHONE) is None
            fresh, opened = uow.get_or_open_ticket("ventas", PHONE, _opener("ventas", PHONE))
            uow.commit()
        assert opened and fresh.number > ticket.number
        with self.uow() as uow:
            assert _numbers(uow.tickets_for_customer(PHONE, "ventas")) == [
                ticket.number,
                fresh.number,
            ]
            assert _numbers(uow.open_tickets_for_customer(PHONE)) == [fresh.number]

    def test_T7_update_ticket_rules(self) -> None:
        ticket = self.open_ticket("ventas", PHONE)
        with self.uow() as uow:
            with pytest.raises(UnknownTicket, match="999999"):
                uow.update_ticket(attrs.evolve(ticket, number=999999))
            with pytest.raises(RuleViolation, match="cannot change"):
                uow.update_ticket(attrs.evolve(ticket, campaign="soporte"))
            with pytest.raises(RuleViolation, match="cannot change"):
                uow.update_ticket(attrs.evolve(ticket, customer=OTHER_PHONE))
            labelled = attrs.evolve(ticket, labels=("urgente",), assignee="ana", interactions=3)
            uow.update_ticket(labelled)
            uow.commit()
        with self.uow() as uow:
            assert uow.get_ticket(ticket.number) == labelled
            assert uow.get_open_ticket("ventas", PHONE) == labelled
            assert uow.get_ticket(999999) is None

    def test_I4_rewrite_ticket_changes_customer_and_contact_not_campaign(self) -> None:
        ticket = self.open_ticket(customer=PHONE)
        other = self.open_ticket(customer=OTHER_PHONE)
        with self.uow() as uow:
            with pytest.raises(RuleViolation, match="campaign"):
                uow.rewrite_ticket(attrs.evolve(ticket, campaign="soporte"))
            with pytest.raises(UnknownTicket):
                uow.rewrite_ticket(attrs.evolve(ticket, number=999))
            with pytest.raises(RuleViolation, match="T2"):  # another open ticket's key
                uow.rewrite_ticket(attrs.evolve(ticket, customer=OTHER_PHONE))
            closed = attrs.evolve(
                ticket,
                customer="anon-1",
                contact="ANON-1",
                status=TicketStatus.RESOLVED,
                closed_at=AT,
            )
            uow.rewrite_ticket(closed)
            uow.commit()
        with self.uow() as uow:
            assert uow.get_ticket(ticket.number) == closed
            assert uow.tickets_for_customer(PHONE) == []
            assert uow.tickets_for_customer("anon-1", "ventas") == [closed]
            assert uow.tickets_for_contact("ventas", "ANON-1") == [closed]
            assert uow.get_open_ticket("ventas", PHONE) is None
            with pytest.raises(RuleViolation, match="reopen"):
                uow.rewrite_ticket(attrs.evolve(closed, status=TicketStatus.OPEN))
            # An open ticket moved to a new customer is that customer's open ticket.
            uow.rewrite_ticket(attrs.evolve(other, customer="anon-2"))
            uow.commit()
        with self.uow() as uow:
            assert _numbers([uow.get_open_ticket("ventas", "anon-2")]) == [other.number]
            assert uow.get_open_ticket("ventas", OTHER_PHONE) is None
            reopened, opened = uow.get_or_open_ticket(
                "ventas", OTHER_PHONE, _opener("ventas", OTHER_PHONE)
            )
            assert opened and reopened.number > other.number

    def test_I4_replace_interactions_and_typifications_one_for_one(self) -> None:
        first = self.open_ticket(customer=PHONE)
        second = self.open_ticket(customer=OTHER_PHONE)
        record = Typification(
            ticket=first.number, campaign="ventas", at=AT, path=("A",), customer=PHONE
        )
        with self.uow() as uow:
            uow.add_interaction(_interaction(first.number, "m1", "hola"))
            uow.add_interaction(_interaction(second.number, "m2", "otro"))
            uow.add_interaction(_interaction(first.number, None, "chau"))
            uow.add_typification(record)
            uow.add_typification(attrs.evolve(record, ticket=second.number, path=("B",)))
            uow.add_typification(attrs.evolve(record, comment="llamar"))
            uow.commit()
        scrubbed = [
            attrs.evolve(_interaction(first.number, "m1", "[x]"), customer="anon-1"),
            attrs.evolve(_interaction(first.number, None, "[x]"), customer="anon-1"),
        ]
        with self.uow() as uow:
            with pytest.raises(RuleViolation, match="2 interactions"):
                uow.replace_interactions(first.number, scrubbed[:1])
            with pytest.raises(RuleViolation, match=str(second.number)):
                uow.replace_interactions(
                    first.number, [scrubbed[0], attrs.evolve(scrubbed[1], ticket=second.number)]
                )
            with pytest.raises(RuleViolation, match="m2"):  # another ticket's external id
                uow.replace_interactions(
                    first.number, [scrubbed[0], attrs.evolve(scrubbed[1], external_id="m2")]
                )
            with pytest.raises(RuleViolation, match="1 typifications"):
                uow.replace_typifications(second.number, [])
            uow.replace_interactions(first.number, scrubbed)
            uow.replace_typifications(
                first.number,
                [
                    attrs.evolve(t, customer="anon-1", comment="")
                    for t in uow.typifications(first.number)
                ],
            )
            uow.commit()
        with self.uow() as uow:
            assert list(uow.interactions(first.number)) == scrubbed
            assert uow.find_interaction("m1") == scrubbed[0]
            assert [i.text for i in uow.interactions(second.number)] == ["otro"]
            assert [(t.ticket, t.customer, t.path, t.comment) for t in uow.typifications()] == [
                (first.number, "anon-1", ("A",), ""),
                (second.number, PHONE, ("B",), ""),
                (first.number, "anon-1", ("A",), ""),
            ]
            with pytest.raises(RuleViolation):  # T9 still holds after a replacement
                uow.add_interaction(_interaction(second.number, "m1"))

    def test_T4_campaigns_are_independent(self) -> None:
        a = self.open_ticket("ventas", PHONE)
        b = self.open_ticket("soporte", PHONE)
        assert a.number != b.number
        with self.uow() as uow:
            assert uow.get_open_ticket("ventas", PHONE) == a
            assert uow.get_open_ticket("soporte", PHONE) == b
            assert _numbers(uow.open_tickets_for_customer(PHONE)) == [a.number, b.number]

    def test_T1_ticket_lookups(self) -> None:
        t1 = self.open_ticket("ventas", PHONE)
        t2 = self.open_ticket("soporte", PHONE)
        t3 = self.open_ticket("ventas", OTHER_PHONE)
        with self.uow() as uow:
            uow.update_ticket(attrs.evolve(t1, status=TicketStatus.TYPIFIED, contact="C-1"))
            uow.update_ticket(attrs.evolve(t3, contact="C-1"))
            uow.commit()
        t4 = self.open_ticket("ventas", PHONE)
        with self.uow() as uow:
            assert _numbers(uow.list_tickets()) == [t1.number, t2.number, t3.number, t4.number]
            assert _numbers(uow.list_tickets("ventas")) == [t1.number, t3.number, t4.number]
            assert uow.list_tickets("nope") == []
            assert _numbers(uow.tickets_for_customer(PHONE)) == [t1.number, t2.number, t4.number]
            assert _numbers(uow.tickets_for_customer(PHONE, "ventas")) == [t1.number, t4.number]
            assert uow.tickets_for_customer("+51900000000") == []
            assert _numbers(uow.open_tickets_for_customer(PHONE)) == [t2.number, t4.number]
            assert _numbers(uow.tickets_for_contact("ventas", "C-1")) == [t1.number, t3.number]
            assert uow.tickets_for_contact("soporte", "C-1") == []
            # Relinking moves the ticket to its new contact (M5).
            uow.update_ticket(attrs.evolve(t3, contact="C-2"))
            assert _numbers(uow.tickets_for_contact("ventas", "C-1")) == [t1.number]
            assert _numbers(uow.tickets_for_contact("ventas", "C-2")) == [t3.number]
            uow.commit()

    def test_T1_interactions_kept_in_the_order_added(self) -> None:
        a = self.open_ticket("ventas", PHONE)
        b = self.open_ticket("soporte", PHONE)
        added = [_interaction(a.number if i % 3 else b.number, text=f"m{i}") for i in range(9)]
        with self.uow() as uow:
            for interaction in added:
                uow.add_interaction(interaction)
            uow.commit()
        with self.uow() as uow:
            assert list(uow.interactions(a.number)) == [i for i in added if i.ticket == a.number]
            assert list(uow.interactions(b.number)) == [i for i in added if i.ticket == b.number]
            assert uow.interactions(999999) == []

    def test_T9_external_id_recorded_once_and_found(self) -> None:
        ticket = self.open_ticket("ventas", PHONE)
        first = _interaction(ticket.number, "wamid.001", "hola")
        with self.uow() as uow:
            assert uow.find_interaction("wamid.001") is None
            uow.add_interaction(first)
            with pytest.raises(RuleViolation, match=r"wamid\.001"):
                uow.add_interaction(_interaction(ticket.number, "wamid.001", "otra vez"))
            uow.add_interaction(_interaction(ticket.number, None, "sin id"))
            uow.add_interaction(_interaction(ticket.number, None, "sin id 2"))
            uow.commit()
        with self.uow() as uow:
            assert uow.find_interaction("wamid.001") == first
            assert [i.text for i in uow.interactions(ticket.number)] == [
                "hola",
                "sin id",
                "sin id 2",
            ]
            with pytest.raises(RuleViolation):
                uow.add_interaction(_interaction(ticket.number, "wamid.001", "después"))
            assert len(uow.interactions(ticket.number)) == 3

    def test_E1_interaction_needs_a_stored_ticket(self) -> None:
        with self.uow() as uow:
            with pytest.raises(UnknownTicket):
                uow.add_interaction(_interaction(424242, "x-1"))
            with pytest.raises(UnknownTicket):
                uow.add_interaction(attrs.evolve(_interaction(1, "x-2"), ticket=None))
            uow.commit()
        with self.uow() as uow:
            assert uow.find_interaction("x-1") is None
            assert uow.find_interaction("x-2") is None

    def test_T8_typifications_in_the_order_recorded(self) -> None:
        a = self.open_ticket("ventas", PHONE)
        b = self.open_ticket("ventas", OTHER_PHONE)
        records = [
            Typification(
                ticket=n, campaign="ventas", at=AT, path=("Contactado", f"r{i}"), customer=PHONE
            )
            for i, n in enumerate([a.number, b.number, a.number])
        ]
        with self.uow() as uow:
            for record in records:
                uow.add_typification(record)
            uow.commit()
        with self.uow() as uow:
            assert list(uow.typifications()) == records
            assert list(uow.typifications(a.number)) == [records[0], records[2]]
            assert list(uow.typifications(b.number)) == [records[1]]
            assert uow.typifications(999999) == []

    @_properties
    @given(ticket=cst.tickets(), interaction=cst.interactions(), typification=cst.typifications())
    def test_T7_ticket_interaction_typification_round_trip(
        self, ticket: Ticket, interaction: Interaction, typification: Typification
    ) -> None:
        with self.uow() as uow:
            opened, _ = uow.get_or_open_ticket(
                ticket.campaign,
                ticket.customer,
                lambda n: attrs.evolve(ticket, number=n, status=TicketStatus.OPEN),
            )
            stored = attrs.evolve(ticket, number=opened.number)
            uow.update_ticket(stored)
            if interaction.external_id is not None:
                # Keep the external id new: examples share the store.
                interaction = attrs.evolve(
                    interaction, external_id=f"{interaction.external_id}#{opened.number}"
                )
            interaction = attrs.evolve(interaction, ticket=opened.number)
            typification = attrs.evolve(typification, ticket=opened.number)
            uow.add_interaction(interaction)
            uow.add_typification(typification)
            if stored.is_open:  # leave the key free for the next example
                uow.update_ticket(attrs.evolve(stored, status=TicketStatus.CANCELLED))
                stored = attrs.evolve(stored, status=TicketStatus.CANCELLED)
            uow.commit()
        with self.uow() as uow:
            assert uow.get_ticket(stored.number) == stored
            assert list(uow.interactions(stored.number)) == [interaction]
            assert list(uow.typifications(stored.number)) == [typification]
            if interaction.external_id is not None:
                assert uow.find_interaction(interaction.external_id) == interaction


def _product(product_id: str, contact: str = "C-1", debt: str = "1500.00") -> Product:
    return Product(
        id=product_id,
        campaign="cobranzas",
        contact=contact,
        kind="loan",
        debt=money(debt, "PEN"),
        due=dt.date(2026, 10, 1),
    )


def _payment(payment_id: str, product: str, day: int, amount: str = "100.00") -> Payment:
    return Payment(
        id=payment_id,
        product=product,
        amount=money(amount, "PEN"),
        date=dt.date(2026, 11, day),
        status=PaymentStatus.MADE,
    )


def _promise(promise_id: str, product: str, day: int, **fields: Any) -> Promise:
    promise = Promise(
        id=promise_id,
        product=product,
        campaign="cobranzas",
        agent="ana",
        made_on=dt.date(2026, 11, day),
        installments=(Installment(amount=money("100.10", "PEN"), date=dt.date(2026, 11, 28)),),
        ticket=7,
        customer=PHONE,
    )
    return attrs.evolve(promise, **fields)


class CollectionsRepositoryConformance(StoreCase):
    """Products, payments and promises (C1-C5): exact money, orders, replacement."""

    def test_C1_products_put_replace_get_list_and_by_contact(self) -> None:
        with self.uow() as uow:
            uow.put_product(_product("P-2"))
            uow.put_product(_product("P-1", contact="C-2"))
            uow.put_product(attrs.evolve(_product("P-3"), campaign="otra"))
            uow.put_product(_product("P-1", contact="C-1", debt="1499.99"))  # moves to C-1
            uow.commit()
        with self.uow() as uow:
            assert uow.get_product("P-1") == _product("P-1", debt="1499.99")
            assert uow.get_product("nope") is None
            assert [p.id for p in uow.list_products()] == ["P-1", "P-2", "P-3"]
            assert [p.id for p in uow.list_products("cobranzas")] == ["P-1", "P-2"]
            assert [p.id for p in uow.products_for_contact("cobranzas", "C-1")] == ["P-1", "P-2"]
            assert uow.products_for_contact("cobranzas", "C-2") == []

    def test_C1_money_is_kept_exactly(self) -> None:
        product = _product("P-1", debt="0.10")
        payment = _payment("PAY-1", "P-1", 2, amount="0.30")
        with self.uow() as uow:
            uow.put_product(product)
            uow.put_payment(payment)
            uow.commit()
        with self.uow() as uow:
            stored_product = uow.get_product("P-1")
            stored_payment = uow.get_payment("PAY-1")
        assert stored_product is not None and stored_payment is not None
        assert stored_product.debt.amount == Decimal("0.10")
        assert str(stored_product.debt.amount) == "0.10"
        assert stored_payment.amount.amount + stored_product.debt.amount == Decimal("0.40")

    def test_C2_payments_by_date_then_id_and_replaced_by_id(self) -> None:
        with self.uow() as uow:
            uow.put_product(_product("P-1"))
            uow.put_payment(_payment("PAY-3", "P-1", 5))
            uow.put_payment(_payment("PAY-2", "P-1", 9))
            uow.put_payment(_payment("PAY-1", "P-1", 5))
            uow.put_payment(_payment("PAY-9", "P-2", 1))
            reversed_ = attrs.evolve(_payment("PAY-2", "P-1", 1), status=PaymentStatus.REVERSED)
            uow.put_payment(reversed_)
            uow.put_payment(_payment("PAY-9", "P-1", 20))  # moves to P-1
            uow.commit()
        with self.uow() as uow:
            assert uow.get_payment("PAY-2") == reversed_
            assert uow.get_payment("nope") is None
            assert [p.id for p in uow.payments_for_product("P-1")] == [
                "PAY-2",
                "PAY-1",
                "PAY-3",
                "PAY-9",
            ]
            assert uow.payments_for_product("P-2") == []

    def test_C4_promises_by_made_on_then_id_and_cancelled_by_replacement(self) -> None:
        with self.uow() as uow:
            uow.put_promise(_promise("PR-2", "P-1", 3))
            uow.put_promise(_promise("PR-1", "P-1", 3))
            uow.put_promise(_promise("PR-0", "P-1", 4))
            uow.put_promise(_promise("PR-9", "P-2", 1))
            cancelled = _promise(
                "PR-2", "P-1", 3, cancelled_on=dt.date(2026, 11, 4), cancelled_by="sup1"
            )
            uow.put_promise(cancelled)
            uow.put_promise(_promise("PR-9", "P-1", 1))  # moves to P-1
            uow.commit()
        with self.uow() as uow:
            assert uow.get_promise("PR-2") == cancelled
            assert uow.get_promise("nope") is None
            assert [p.id for p in uow.promises_for_product("P-1")] == [
                "PR-9",
                "PR-1",
                "PR-2",
                "PR-0",
            ]
            assert uow.promises_for_product("P-2") == []
            assert [p.id for p in uow.list_promises()] == ["PR-0", "PR-1", "PR-2", "PR-9"]

    def test_C1_collections_round_trip(self) -> None:
        names = ("products", "payments", "promises")
        found = [getattr(cst, name, None) for name in names]
        if any(strategy is None for strategy in found):
            pytest.skip("ccdomain.testing.strategies has no products/payments/promises yet")
        products, payments, promises = found
        assert products is not None and payments is not None and promises is not None

        @_properties
        @given(product=products(), payment=payments(), promise=promises())
        def check(product: Product, payment: Payment, promise: Promise) -> None:
            with self.uow() as uow:
                uow.put_product(product)
                uow.put_payment(payment)
                uow.put_promise(promise)
                uow.commit()
            with self.uow() as uow:
                assert uow.get_product(product.id) == product
                assert uow.get_payment(payment.id) == payment
                assert uow.get_promise(promise.id) == promise
                assert payment in uow.payments_for_product(payment.product)
                assert promise in uow.promises_for_product(promise.product)
                assert product in uow.products_for_contact(product.campaign, product.contact)

        check()


class IdentityRepositoryConformance(StoreCase):
    """Case comments (I2) and blocked identities (I3)."""

    def test_I2_comments_get_increasing_seq_in_order_added(self) -> None:
        with self.uow() as uow:
            a1 = uow.add_comment(Comment(ticket=1, at=AT, agent="ana", text="uno"))
            b1 = uow.add_comment(Comment(ticket=2, at=AT, agent="ana", text="otro"))
            a2 = uow.add_comment(Comment(ticket=1, at=AT, agent="luis", text="dos"))
            uow.commit()
        assert a1.seq is not None and b1.seq is not None and a2.seq is not None
        assert a1.seq < b1.seq < a2.seq
        assert attrs.evolve(a1, seq=None) == Comment(ticket=1, at=AT, agent="ana", text="uno")
        with self.uow() as uow:
            assert list(uow.comments(1)) == [a1, a2]
            assert list(uow.comments(2)) == [b1]
            assert uow.comments(3) == []

    def test_I2_comments_removed_only_by_delete_comments(self) -> None:
        with self.uow() as uow:
            first = uow.add_comment(Comment(ticket=1, at=AT, agent="ana", text="uno"))
            kept = uow.add_comment(Comment(ticket=2, at=AT, agent="ana", text="otro"))
            uow.delete_comments(1)
            uow.delete_comments(99)  # nothing to delete: no error
            uow.commit()
        with self.uow() as uow:
            assert uow.comments(1) == []
            assert list(uow.comments(2)) == [kept]
            again = uow.add_comment(Comment(ticket=1, at=AT, agent="ana", text="nuevo"))
            uow.commit()
        assert again.seq is not None and kept.seq is not None and first.seq is not None
        assert again.seq > kept.seq > first.seq

    def test_I3_blocks_put_replace_get_remove(self) -> None:
        block = Block(campaign="ventas", customer=PHONE, at=AT, agent="sup1")
        with self.uow() as uow:
            assert uow.get_block("ventas", PHONE) is None
            uow.put_block(block)
            uow.put_block(attrs.evolve(block, agent="sup2"))
            uow.put_block(Block(campaign="soporte", customer=PHONE, at=AT))
            uow.commit()
        with self.uow() as uow:
            assert uow.get_block("ventas", PHONE) == attrs.evolve(block, agent="sup2")
            assert uow.get_block("ventas", OTHER_PHONE) is None
            uow.remove_block("ventas", PHONE)
            uow.remove_block("ventas", OTHER_PHONE)  # not blocked: no-op
            uow.commit()
        with self.uow() as uow:
            assert uow.get_block("ventas", PHONE) is None
            assert uow.get_block("soporte", PHONE) is not None

    def test_I4_replace_comments_keeps_seq_and_count(self) -> None:
        with self.uow() as uow:
            a1 = uow.add_comment(Comment(ticket=1, at=AT, agent="ana", text="José llamó"))
            b1 = uow.add_comment(Comment(ticket=2, at=AT, agent="ana", text="otro"))
            a2 = uow.add_comment(Comment(ticket=1, at=AT, agent="luis", text="dos"))
            uow.commit()
        blank = [attrs.evolve(a1, text="[x]"), attrs.evolve(a2, text="[x]")]
        with self.uow() as uow:
            with pytest.raises(RuleViolation, match="2 comments"):
                uow.replace_comments(1, blank[:1])
            with pytest.raises(RuleViolation, match="seq"):
                uow.replace_comments(1, [blank[1], blank[0]])
            uow.replace_comments(1, blank)
            uow.replace_comments(3, [])  # nothing held, nothing given: fine
            uow.commit()
        with self.uow() as uow:
            assert list(uow.comments(1)) == blank
            assert list(uow.comments(2)) == [b1]
            assert uow.comments(3) == []

    @_properties
    @given(comment=cst.comments(), block=cst.blocks())
    def test_I2_I3_comment_and_block_round_trip(self, comment: Comment, block: Block) -> None:
        with self.uow() as uow:
            stored = uow.add_comment(comment)
            uow.put_block(block)
            uow.commit()
        assert attrs.evolve(stored, seq=comment.seq) == comment
        with self.uow() as uow:
            assert uow.comments(comment.ticket)[-1] == stored
            assert uow.get_block(block.campaign, block.customer) == block


class EventLogConformance(StoreCase):
    """The append-only event log (T11)."""

    def test_T11_events_numbered_increasing_and_read_after(self) -> None:
        events = [
            _event(EventKind.TICKET_OPENED, TicketOpened(customer=PHONE, origin=Direction.INBOUND)),
            _event(
                EventKind.INTERACTION_ADDED,
                InteractionAdded(interaction=_interaction(1, "m1"), outcome=RouteOutcome.OPENED),
            ),
            _event(EventKind.TICKET_RESOLVED, TicketResolved(), actor="ana"),
        ]
        with self.uow() as uow:
            assert list(uow.events()) == []
            recorded = [uow.append_event(e) for e in events]
            uow.commit()
        seqs = [e.seq or 0 for e in recorded]
        assert all(s >= 1 for s in seqs)
        assert seqs == sorted(set(seqs))
        assert [attrs.evolve(e, seq=None) for e in recorded] == events
        first = recorded[0].seq
        assert first is not None
        with self.uow() as uow:
            assert list(uow.events()) == recorded
            assert list(uow.events(after=first)) == recorded[1:]
            assert list(uow.events(after=recorded[-1].seq or 0)) == []
            more = uow.append_event(
                _event(EventKind.COMMENT_ADDED, CommentAdded(comment_seq=1, length=4), actor="ana")
            )
            uow.commit()
        assert more.seq is not None and more.seq > (recorded[-1].seq or 0)

    def test_T11_many_events_read_back_in_order(self) -> None:
        with self.uow() as uow:
            recorded = [
                uow.append_event(
                    _event(
                        EventKind.INTERACTION_ADDED,
                        InteractionAdded(
                            interaction=_interaction(1, f"m{i}"), outcome=RouteOutcome.JOINED
                        ),
                    )
                )
                for i in range(2500)
            ]
            uow.commit()
        with self.uow() as uow:
            assert list(uow.events()) == recorded
            assert list(uow.events(after=recorded[1200].seq or 0)) == recorded[1201:]

    def test_I4_replace_event_keeps_seq_and_kind(self) -> None:
        added = InteractionAdded(
            interaction=_interaction(1, text="José"), outcome=RouteOutcome.OPENED
        )
        with self.uow() as uow:
            first = uow.append_event(_event(EventKind.INTERACTION_ADDED, added))
            second = uow.append_event(_event(EventKind.TICKET_RESOLVED, TicketResolved()))
            uow.commit()
        assert first.seq is not None
        anonymous = attrs.evolve(added.interaction, text="[x]", customer="anon-1")
        scrubbed = attrs.evolve(
            first, payload=attrs.evolve(added, interaction=anonymous), contact="ANON"
        )
        with self.uow() as uow:
            with pytest.raises(RuleViolation, match="keeps its kind"):
                uow.replace_event(
                    attrs.evolve(scrubbed, kind=EventKind.TICKET_RESOLVED, payload=TicketResolved())
                )
            with pytest.raises(RuleViolation, match="999"):
                uow.replace_event(attrs.evolve(scrubbed, seq=999))
            with pytest.raises(RuleViolation, match="None"):
                uow.replace_event(attrs.evolve(scrubbed, seq=None))
            uow.replace_event(scrubbed)
            uow.commit()
        with self.uow() as uow:
            assert list(uow.events()) == [scrubbed, second]
            later = uow.append_event(
                _event(EventKind.COMMENT_ADDED, CommentAdded(comment_seq=1, length=1))
            )
            uow.commit()
        assert later.seq is not None and second.seq is not None and later.seq > second.seq

    def test_I4_a_purgeable_store_purges_inside_and_outside_a_unit_of_work(self) -> None:
        if not isinstance(self.store, Purgeable):
            pytest.skip("the store does not offer purge()")
        with self.uow() as uow:
            uow.append_event(_event(EventKind.TICKET_RESOLVED, TicketResolved()))
            self.store.purge()  # deferred until the unit of work ends
            uow.commit()
        self.store.purge()
        with self.uow() as uow:
            assert [e.ticket for e in uow.events()] == [1]

    @_properties
    @given(event=cst.events())
    def test_T11_event_round_trip(self, event: Event) -> None:
        with self.uow() as uow:
            stored = uow.append_event(event)
            uow.commit()
        assert stored.seq is not None
        assert attrs.evolve(stored, seq=event.seq) == event
        with self.uow() as uow:
            assert list(uow.events(after=stored.seq - 1)) == [stored]


class UnitOfWorkConformance(StoreCase):
    """Units of work: rollback unless committed, nested savepoints (E2)."""

    def _write_everything(self, uow: UnitOfWork, tag: str) -> None:
        """One write of every kind, tagged so two calls do not collide."""
        uow.put_campaign(Campaign(id=f"camp-{tag}"))
        uow.put_line(Line(id=f"line-{tag}", channel=Channel.CALL, address="+5117001234"))
        uow.put_company(Company(id=f"co-{tag}", name=tag))
        uow.add_contact(_contact(f"camp-{tag}", f"C-{tag}", PHONE))
        ticket, _ = uow.get_or_open_ticket(f"camp-{tag}", PHONE, _opener(f"camp-{tag}", PHONE))
        uow.add_interaction(_interaction(ticket.number, f"ext-{tag}"))
        uow.add_typification(
            Typification(
                ticket=ticket.number, campaign=f"camp-{tag}", at=AT, path=("x",), customer=PHONE
            )
        )
        uow.put_product(_product(f"P-{tag}"))
        uow.put_payment(_payment(f"PAY-{tag}", f"P-{tag}", 2))
        uow.put_promise(_promise(f"PR-{tag}", f"P-{tag}", 2))
        uow.add_comment(Comment(ticket=ticket.number, at=AT, agent="ana", text=tag))
        uow.put_block(Block(campaign=f"camp-{tag}", customer=PHONE, at=AT))
        uow.append_event(
            _event(
                EventKind.TICKET_OPENED,
                TicketOpened(customer=PHONE, origin=Direction.INBOUND),
                campaign=f"camp-{tag}",
                ticket=ticket.number,
            )
        )

    def _holds(self, uow: UnitOfWork, tag: str) -> dict[str, bool]:
        """Which of the writes of :meth:`_write_everything` the store holds."""
        open_ticket = uow.get_open_ticket(f"camp-{tag}", PHONE)
        return {
            "campaign": uow.get_campaign(f"camp-{tag}") is not None,
            "line": uow.get_line(f"line-{tag}") is not None,
            "company": uow.get_company(f"co-{tag}") is not None,
            "contact": uow.get_contact(f"camp-{tag}", f"C-{tag}") is not None,
            "phone index": any(c.code == f"C-{tag}" for c in uow.contacts_by_phone(PHONE)),
            "ticket": open_ticket is not None,
            "interaction": uow.find_interaction(f"ext-{tag}") is not None,
            "typification": any(t.campaign == f"camp-{tag}" for t in uow.typifications()),
            "product": uow.get_product(f"P-{tag}") is not None,
            "payment": uow.get_payment(f"PAY-{tag}") is not None,
            "promise": uow.get_promise(f"PR-{tag}") is not None,
            "comment": open_ticket is not None and len(uow.comments(open_ticket.number)) > 0,
            "block": uow.get_block(f"camp-{tag}", PHONE) is not None,
            "event": any(e.campaign == f"camp-{tag}" for e in uow.events()),
        }

    def _assert_holds(self, tag: str, expected: bool) -> None:
        with self.uow() as uow:
            held = self._holds(uow, tag)
        assert held == dict.fromkeys(held, expected), held

    def test_E2_committed_unit_keeps_every_write(self) -> None:
        with self.uow() as uow:
            self._write_everything(uow, "a")
            uow.commit()
        self._assert_holds("a", True)

    def test_E2_unit_left_without_commit_keeps_nothing(self) -> None:
        with self.uow() as uow:
            self._write_everything(uow, "a")
            assert all(self._holds(uow, "a").values())  # visible inside the unit
        self._assert_holds("a", False)

    def test_E2_exception_in_unit_rolls_everything_back(self) -> None:
        with pytest.raises(RuntimeError, match="boom"), self.uow() as uow:
            self._write_everything(uow, "a")
            raise RuntimeError("boom")
        self._assert_holds("a", False)
        with self.uow() as uow:
            assert uow.list_tickets() == []
            assert list(uow.events()) == []

    def test_E2_explicit_rollback_undoes_and_unit_goes_on(self) -> None:
        with self.uow() as uow:
            self._write_everything(uow, "a")
            uow.rollback()
            assert not any(self._holds(uow, "a").values())
            self._write_everything(uow, "b")
            uow.commit()
        self._assert_holds("a", False)
        self._assert_holds("b", True)

    def test_E2_nested_unit_rolled_back_undoes_only_its_own_changes(self) -> None:
        with self.uow() as outer:
            self._write_everything(outer, "a")
            with pytest.raises(RuntimeError), self.uow() as nested:
                self._write_everything(nested, "b")
                raise RuntimeError("nested failure")
            with self.uow() as nested:
                self._write_everything(nested, "c")  # left without commit
            assert not any(self._holds(outer, "b").values())
            assert all(self._holds(outer, "a").values())
            self._write_everything(outer, "d")
            outer.commit()
        self._assert_holds("a", True)
        self._assert_holds("b", False)
        self._assert_holds("c", False)
        self._assert_holds("d", True)

    def test_E2_nested_commit_is_kept_with_the_outer_unit(self) -> None:
        with self.uow() as outer:
            with self.uow() as nested:
                self._write_everything(nested, "a")
                nested.commit()
            with self.uow() as nested, self.uow() as deeper:
                self._write_everything(deeper, "b")
                deeper.commit()
                nested.commit()
            outer.commit()
        self._assert_holds("a", True)
        self._assert_holds("b", True)

    def test_E2_nested_commit_undone_when_outer_rolls_back(self) -> None:
        with self.uow() as outer:
            with self.uow() as nested:
                self._write_everything(nested, "a")
                nested.commit()
            with self.uow() as nested, self.uow() as deeper:
                self._write_everything(deeper, "b")
                deeper.commit()
                # nested left without commit: b goes, though deeper committed
            assert not any(self._holds(outer, "b").values())
            assert all(self._holds(outer, "a").values())
        self._assert_holds("a", False)
        self._assert_holds("b", False)

    def test_E2_rejected_write_in_a_batch_changes_nothing_else(self) -> None:
        with self.uow() as outer:
            outer.add_contact(_contact("ventas", "12345678", PHONE))
            for tag in ("a", "b", "c"):
                try:
                    with self.uow() as nested:
                        self._write_everything(nested, tag)
                        if tag == "b":
                            nested.add_contact(_contact("ventas", "12345678", OTHER_PHONE))
                        nested.commit()
                except CcdomainError:
                    pass
            outer.commit()
        self._assert_holds("a", True)
        self._assert_holds("b", False)
        self._assert_holds("c", True)
        with self.uow() as uow:
            assert uow.contacts_by_phone(OTHER_PHONE) == []

    def test_E2_a_unit_reads_its_own_writes_and_forgets_them_on_rollback(self) -> None:
        block = Block(campaign="ventas", customer=PHONE, at=AT)
        with self.uow() as uow:
            assert uow.get_campaign("ventas") is None
            assert uow.get_line("wa") is None
            assert uow.get_block("ventas", PHONE) is None
            assert uow.contacts_by_phone(PHONE) == []
            with self.uow() as nested:
                nested.put_campaign(Campaign(id="ventas"))
                nested.put_line(Line(id="wa", channel=Channel.WHATSAPP, address="+5117001111"))
                nested.put_block(block)
                nested.add_contact(_contact("ventas", "A", PHONE))
                assert uow.get_campaign("ventas") == Campaign(id="ventas")
                assert uow.get_line("wa") is not None
                assert uow.get_block("ventas", PHONE) == block
                assert _codes(uow.contacts_by_phone(PHONE)) == [("ventas", "A")]
                nested.update_contact(_contact("ventas", "A", PHONE, first_names="Ana"))
                assert [c.first_names for c in uow.contacts_by_phone(PHONE)] == ["Ana"]
            assert uow.get_campaign("ventas") is None
            assert uow.get_line("wa") is None
            assert uow.get_block("ventas", PHONE) is None
            assert uow.contacts_by_phone(PHONE) == []
            uow.put_block(block)
            uow.remove_block("ventas", PHONE)
            assert uow.get_block("ventas", PHONE) is None
            uow.put_campaign(Campaign(id="ventas", name="Ventas"))
            assert uow.get_campaign("ventas") == Campaign(id="ventas", name="Ventas")
            uow.commit()
        with self.uow() as uow:
            assert uow.get_campaign("ventas") == Campaign(id="ventas", name="Ventas")

    def test_E2_units_of_work_of_other_threads_see_only_committed_work(self) -> None:
        seen: list[bool] = []

        def look() -> None:
            with self.uow() as uow:
                seen.append(uow.get_campaign("camp-a") is not None)

        with self.uow() as uow:
            self._write_everything(uow, "a")
            uow.commit()
        reader = threading.Thread(target=look)
        reader.start()
        reader.join()
        assert seen == [True]


class StoreConformance(
    ContactRepositoryConformance,
    TicketRepositoryConformance,
    CollectionsRepositoryConformance,
    IdentityRepositoryConformance,
    EventLogConformance,
    UnitOfWorkConformance,
):
    """Every port of the store contract: subclass it and write ``make_store``."""
