"""Conformance of units of work: rollback unless committed, nested savepoints, threads (E2).

A rollback also gives back the numbers the unit took (ticket numbers, generated
contact numbers, comment seqs): what is stored is numbered without gap (T5).
"""

from __future__ import annotations

import itertools
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdomain.errors import (
    CcdomainError,
)
from ccdomain.events import (
    EventKind,
    TicketOpened,
)
from ccdomain.models import (
    Block,
    Campaign,
    Channel,
    Comment,
    Company,
    Direction,
    Line,
    Typification,
)
from ccdomain.ports import UnitOfWork
from ccdomain.testing.conformance.case import (
    AT,
    OTHER_PHONE,
    PHONE,
    StoreCase,
    _codes,
    _contact,
    _event,
    _interaction,
    _numbers,
    _opener,
    _payment,
    _product,
    _promise,
    _properties,
)

__all__ = ["UnitOfWorkConformance"]


# How a unit of work of the T5 property ends: committed, left without commit, by a
# KeyboardInterrupt, with a rolled-back nested unit, or after an explicit rollback.
_ENDINGS = ("commit", "leave", "raise", "nested", "rollback")
_TAKES = st.lists(st.sampled_from(["ticket", "contact", "comment"]), max_size=4)
_CUSTOMERS = itertools.count(1)


def _take_numbers(uow: UnitOfWork, takes: list[str]) -> None:
    """Open a ticket, add a contact with a generated number, or comment, for each take."""
    for take in takes:
        if take == "ticket":
            customer = f"+5190{next(_CUSTOMERS):07d}"
            uow.get_or_open_ticket("numbers", customer, _opener("numbers", customer))
        elif take == "contact":
            number = uow.next_contact_number("numbers")
            uow.add_contact(_contact("numbers", f"C-{number:06d}"))
        else:
            uow.add_comment(Comment(ticket=1, at=AT, agent="ana", text="numbered"))


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

    def _nest_a_then_b_deeper(self, *, commit_middle: bool) -> None:
        """Inside the current unit: ``a`` in a committed nested unit, then ``b`` in a
        committed unit two levels down, whose middle unit commits only if asked."""
        with self.uow() as nested:
            self._write_everything(nested, "a")
            nested.commit()
        with self.uow() as nested, self.uow() as deeper:
            self._write_everything(deeper, "b")
            deeper.commit()
            if commit_middle:
                nested.commit()

    def test_E2_nested_commit_is_kept_with_the_outer_unit(self) -> None:
        with self.uow() as outer:
            self._nest_a_then_b_deeper(commit_middle=True)
            outer.commit()
        self._assert_holds("a", True)
        self._assert_holds("b", True)

    def test_E2_nested_commit_undone_when_outer_rolls_back(self) -> None:
        with self.uow() as outer:
            # the middle unit left without commit: b goes, though deeper committed
            self._nest_a_then_b_deeper(commit_middle=False)
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

    @_properties
    @given(units=st.lists(st.tuples(st.sampled_from(_ENDINGS), _TAKES, _TAKES), max_size=8))
    def test_T5_E2_numbers_taken_by_units_that_roll_back_are_taken_again(
        self, units: list[tuple[str, list[str], list[str]]]
    ) -> None:
        """Whatever units roll back, and however, the numbers kept run 1, 2, 3... (T5).

        Ticket numbers, generated contact numbers and comment seqs are taken inside the
        unit of work: a rollback gives them back, so what is stored has no gap.
        """
        before = self._numbered()
        kept = {"ticket": 0, "contact": 0, "comment": 0}
        for ending, takes, more in units:
            if ending == "raise":  # KeyboardInterrupt half-way: nothing kept
                with pytest.raises(KeyboardInterrupt), self.uow() as uow:
                    _take_numbers(uow, takes)
                    raise KeyboardInterrupt
                continue
            with self.uow() as uow:
                if ending == "nested":  # a rolled-back savepoint, then the unit goes on
                    with self.uow() as nested:
                        _take_numbers(nested, takes)
                elif ending == "rollback":  # an explicit rollback, then the unit goes on
                    _take_numbers(uow, takes)
                    uow.rollback()
                else:
                    _take_numbers(uow, takes)
                _take_numbers(uow, more)
                if ending != "leave":
                    uow.commit()
            for take in (*takes, *more) if ending == "commit" else more:
                kept[take] += ending != "leave"
        after = self._numbered()
        for name, numbers in after.items():
            assert numbers == list(range(1, len(numbers) + 1)), name
            assert len(numbers) == len(before[name]) + kept[name], name

    def _numbered(self) -> dict[str, list[int]]:
        """What the numbers taken by :func:`_take_numbers` numbered, as stored."""
        with self.uow() as uow:
            return {
                "ticket": _numbers(uow.list_tickets("numbers")),
                "contact": sorted(int(c.code[2:]) for c in uow.list_contacts("numbers")),
                "comment": [c.seq for c in uow.comments(1) if c.seq is not None],
            }
