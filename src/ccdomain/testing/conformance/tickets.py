"""Conformance of the ticket repository: get-or-open, numbering, lookups, interactions.

Rules: T1-T9, I4, P4.
"""

from __future__ import annotations

import datetime as dt
import threading

import attrs
import pytest
from hypothesis import given

from ccdomain.errors import (
    RuleViolation,
    UnknownTicket,
)
from ccdomain.models import (
    Interaction,
    Ticket,
    TicketStatus,
    Typification,
)
from ccdomain.ports import InteractionPrefetch
from ccdomain.testing import strategies as cst
from ccdomain.testing.conformance.case import (
    AT,
    OTHER_PHONE,
    PHONE,
    StoreCase,
    _interaction,
    _numbers,
    _opener,
    _properties,
)

__all__ = ["TicketRepositoryConformance"]


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

    def test_T5_a_rolled_back_opening_gives_its_number_back(self) -> None:
        """No gap: a number taken by a unit that rolls back is taken again by the next."""
        first = self.open_ticket("ventas", PHONE).number
        with self.uow() as uow:  # left without commit
            dropped, _ = uow.get_or_open_ticket(
                "ventas", OTHER_PHONE, _opener("ventas", OTHER_PHONE)
            )
        assert dropped.number == first + 1
        with pytest.raises(KeyboardInterrupt), self.uow() as uow:  # Ctrl-C half-way
            uow.get_or_open_ticket("ventas", OTHER_PHONE, _opener("ventas", OTHER_PHONE))
            raise KeyboardInterrupt
        with self.uow() as uow:
            with self.uow() as nested:  # a savepoint rolled back
                dropped_nested, _ = nested.get_or_open_ticket(
                    "soporte", PHONE, _opener("soporte", PHONE)
                )
            after_nested, _ = uow.get_or_open_ticket("soporte", PHONE, _opener("soporte", PHONE))
            uow.rollback()  # an explicit rollback; the unit goes on
            again, _ = uow.get_or_open_ticket("soporte", PHONE, _opener("soporte", PHONE))
            uow.commit()
        assert dropped_nested.number == after_nested.number == again.number == first + 1
        last = self.open_ticket("ventas", OTHER_PHONE).number
        assert last == first + 2
        with self.uow() as uow:
            assert _numbers(uow.list_tickets()) == [first, first + 1, first + 2]

    def test_T5_E2_a_refused_opening_takes_no_number(self) -> None:
        def refused(number: int) -> Ticket:
            raise RuleViolation(f"cannot open ticket {number}")

        def wrong_number(number: int) -> Ticket:
            return _opener("ventas", OTHER_PHONE)(number + 1)

        first = self.open_ticket("ventas", PHONE).number
        with self.uow() as uow:
            with pytest.raises(RuleViolation, match="cannot open"):
                uow.get_or_open_ticket("ventas", OTHER_PHONE, refused)
            with pytest.raises(RuleViolation, match=f"expected open ticket {first + 1}"):
                uow.get_or_open_ticket("ventas", OTHER_PHONE, wrong_number)
            uow.commit()
        assert self.open_ticket("ventas", OTHER_PHONE).number == first + 1

    def test_T2_T5_concurrent_openings_some_rolled_back_number_without_gap_or_repeat(
        self,
    ) -> None:
        errors: list[BaseException] = []
        start = threading.Barrier(4)

        def worker(offset: int) -> None:
            try:
                start.wait()
                for i in range(60):
                    customer = f"+519{offset}{i:07d}"
                    with self.uow() as uow:
                        uow.get_or_open_ticket("ventas", customer, _opener("ventas", customer))
                        if i % 3:
                            uow.commit()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with self.uow() as uow:
            assert _numbers(uow.list_tickets()) == list(range(1, 4 * 40 + 1))

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

    def test_P4_pending_and_snoozed_tickets_are_the_open_ticket_of_their_key(self) -> None:
        # A store that files these states apart from 'open' would open a second ticket.
        for status, customer in ((TicketStatus.PENDING, PHONE), (TicketStatus.SNOOZED, "c2")):
            ticket = self.open_ticket("ventas", customer)
            paused = attrs.evolve(
                ticket,
                status=status,
                paused_at=AT,
                snoozed_until=AT + dt.timedelta(hours=4)
                if status is TicketStatus.SNOOZED
                else None,
            )
            with self.uow() as uow:
                uow.update_ticket(paused)
                uow.commit()
            with self.uow() as uow:
                assert uow.get_open_ticket("ventas", customer) == paused
                found, opened = uow.get_or_open_ticket(
                    "ventas", customer, _opener("ventas", customer)
                )
                assert (found, opened) == (paused, False)
                assert uow.open_tickets_for_customer(customer) == [paused]
                assert uow.get_ticket(ticket.number) == paused
                with pytest.raises(RuleViolation, match="T2"):
                    uow.rewrite_ticket(
                        attrs.evolve(self.open_ticket("ventas", "c3"), customer=customer)
                    )
                woken = attrs.evolve(paused, status=TicketStatus.OPEN)
                uow.update_ticket(woken)  # back to open: T3 does not see a reopening
                uow.commit()
            with self.uow() as uow:
                assert uow.get_open_ticket("ventas", customer) == woken

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

    def test_T9_an_id_looked_up_ahead_is_answered_as_without_the_hint(self) -> None:
        """Optional (``InteractionPrefetch``): ``find_interaction`` after
        ``prefetch_interaction`` answers what it answers without it, an interaction
        recorded in between included."""
        ticket = self.open_ticket("ventas", PHONE)
        first = _interaction(ticket.number, "pre-1", "hola")
        with self.uow() as uow:
            if not isinstance(uow, InteractionPrefetch):
                pytest.skip("the store does not offer prefetch_interaction()")
            uow.add_interaction(first)
            uow.commit()
        second = _interaction(ticket.number, "pre-2", "otra")
        with self.uow() as uow:
            assert isinstance(uow, InteractionPrefetch)
            for external_id in ("pre-1", "pre-2", "pre-3"):
                uow.prefetch_interaction(external_id)
            assert uow.get_open_ticket("ventas", PHONE) == ticket
            assert uow.find_interaction("pre-1") == first
            uow.add_interaction(second)
            assert uow.find_interaction("pre-2") == second
            assert uow.find_interaction("pre-3") is None
            with pytest.raises(RuleViolation, match=r"pre-2"):
                uow.add_interaction(_interaction(ticket.number, "pre-2", "de nuevo"))
            uow.prefetch_interaction("pre-4")
            uow.commit()
        with self.uow() as uow:
            assert uow.find_interaction("pre-2") == second
            assert uow.find_interaction("pre-4") is None

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
