"""Conformance of :class:`~ccdomain.ports.AssignmentRepository`: agents and waiting lines (A1-A6).

:class:`AssignmentRepositoryConformance` checks a store whose units of work implement
the optional port: agents stored and found by queue, waiting lines in serving order
(VIP first, then opening time, then number), a waiting ticket taken once, everything
undone by a rollback (E2), and, under eight threads routing and closing through the
services at once, no waiting ticket assigned twice and no agent given more tickets
automatically than their capacity. A store without the port skips these tests.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from ccdomain.errors import RuleViolation
from ccdomain.models import (
    Agent,
    AgentState,
    Campaign,
    Channel,
    Family,
    Line,
    PerFamily,
    Presence,
    WaitingTicket,
)
from ccdomain.ports import AssignmentRepository, OpeningPrefetch
from ccdomain.testing.conformance.case import AT, PHONE, StoreCase, _opener

__all__ = ["AssignmentRepositoryConformance"]


def _agent(agent_id: str, *queues: str, digital: int = 2, voice: int = 1) -> AgentState:
    return AgentState(
        agent=Agent(
            id=agent_id,
            name=agent_id.title(),
            queues=queues,
            capacity=PerFamily(digital=digital, voice=voice),
        )
    )


def _waiting(
    number: int, queue: str = "q1", *, minutes: int = 0, vip: bool = False
) -> WaitingTicket:
    return WaitingTicket(
        number=number,
        queue=queue,
        family=Family.DIGITAL,
        opened_at=AT + dt.timedelta(minutes=minutes),
        vip=vip,
    )


class AssignmentRepositoryConformance(StoreCase):
    """The optional assignment port (A1-A6): subclass it and write ``make_store``."""

    def port(self, uow: object) -> AssignmentRepository:
        """The unit of work as the port, or skip the test when the store has none."""
        if not isinstance(uow, AssignmentRepository):
            pytest.skip("the store's unit of work does not implement AssignmentRepository")
        return uow

    def test_A1_agents_are_stored_by_id_and_found_by_queue(self) -> None:
        with self.uow() as uow:
            port = self.port(uow)
            port.put_agent_state(_agent("luis", "q1", "q2"))
            port.put_agent_state(_agent("ana", "q1"))
            uow.commit()
        with self.uow() as uow:
            port = self.port(uow)
            assert [s.id for s in port.list_agent_states()] == ["ana", "luis"]
            assert [s.id for s in port.agent_states_for_queue("q1")] == ["ana", "luis"]
            assert [s.id for s in port.agent_states_for_queue("q2")] == ["luis"]
            assert port.agent_states_for_queue("q3") == []
            assert port.get_agent_state("ana") == _agent("ana", "q1")
            assert port.get_agent_state("nadie") is None

    def test_A1_a_changed_agent_is_reindexed_by_its_new_queues(self) -> None:
        with self.uow() as uow:
            port = self.port(uow)
            port.put_agent_state(_agent("ana", "q1"))
            uow.commit()
        moved = _agent("ana", "q2")
        moved = AgentState(
            agent=moved.agent,
            presence=Presence.ONLINE,
            open=PerFamily(digital=1),
            last_assigned_at=AT,
            presence_at=AT,
        )
        with self.uow() as uow:
            port = self.port(uow)
            port.put_agent_state(moved)
            uow.commit()
        with self.uow() as uow:
            port = self.port(uow)
            assert port.agent_states_for_queue("q1") == []
            assert port.agent_states_for_queue("q2") == [moved]
            assert port.get_agent_state("ana") == moved

    def test_A3_waiting_lines_serve_vip_first_then_opening_time_then_number(self) -> None:
        with self.uow() as uow:
            port = self.port(uow)
            port.add_waiting(_waiting(5, minutes=10))
            port.add_waiting(_waiting(3, minutes=10))
            port.add_waiting(_waiting(9, minutes=20, vip=True))
            port.add_waiting(_waiting(1, minutes=30))
            port.add_waiting(_waiting(7, "q2"))
            uow.commit()
        with self.uow() as uow:
            port = self.port(uow)
            assert [w.number for w in port.list_waiting("q1")] == [9, 3, 5, 1]
            assert [w.number for w in port.list_waiting()] == [9, 3, 5, 1, 7]
            first = port.first_waiting("q1", Family.DIGITAL)
            assert first is not None and first.number == 9
            assert port.first_waiting("q1", Family.VOICE) is None
            taken = port.take_waiting(9)
            assert taken == _waiting(9, minutes=20, vip=True)
            assert port.take_waiting(9) is None  # taken once
            again = port.first_waiting("q1", Family.DIGITAL)
            assert again is not None and again.number == 3
            uow.commit()

    def test_A3_opening_times_compare_as_instants_whatever_their_offset(self) -> None:
        utc = dt.UTC
        with self.uow() as uow:
            port = self.port(uow)
            # 10:00-05:00 is 15:00 UTC: the ticket opened at 14:00 UTC comes first.
            port.add_waiting(_waiting(1))
            early = WaitingTicket(
                number=2,
                queue="q1",
                family=Family.DIGITAL,
                opened_at=dt.datetime(2026, 11, 20, 14, tzinfo=utc),
            )
            port.add_waiting(early)
            first = port.first_waiting("q1", Family.DIGITAL)
            assert first is not None and first.number == 2
            uow.commit()

    def test_A3_a_ticket_waits_once(self) -> None:
        with self.uow() as uow:
            port = self.port(uow)
            port.add_waiting(_waiting(1))
            with pytest.raises(RuleViolation, match="already waiting"):
                port.add_waiting(_waiting(1, minutes=5))
            uow.commit()
        with self.uow() as uow:
            assert self.port(uow).list_waiting() == [_waiting(1)]

    def test_E2_a_rollback_undoes_agents_and_waiting_lines(self) -> None:
        with self.uow() as uow:
            port = self.port(uow)
            port.put_agent_state(_agent("ana", "q1"))
            port.add_waiting(_waiting(1))
            port.add_waiting(_waiting(2, minutes=5))
            uow.commit()
        with self.uow() as uow:
            port = self.port(uow)
            port.put_agent_state(_agent("ana", "q9"))
            port.put_agent_state(_agent("luis", "q1"))
            port.take_waiting(1)
            assert port.first_waiting("q1", Family.DIGITAL) == _waiting(2, minutes=5)
            port.add_waiting(_waiting(3, minutes=1))
            # leaving without commit rolls back
        with self.uow() as uow:
            port = self.port(uow)
            assert [s.id for s in port.agent_states_for_queue("q1")] == ["ana"]
            assert port.agent_states_for_queue("q9") == []
            assert port.first_waiting("q1", Family.DIGITAL) == _waiting(1)
            assert [w.number for w in port.list_waiting()] == [1, 2]

    def test_A2_A4_agents_read_ahead_for_an_opening_answer_as_without_the_hint(self) -> None:
        """Optional (``OpeningPrefetch``): after ``prefetch_opening``, the states of the
        agent and of the queue's agents answer what they answer without it, for a key
        that opens a ticket and for one that has one, an agent written in between
        included."""
        with self.uow() as uow:
            port = self.port(uow)
            if not isinstance(uow, OpeningPrefetch):
                pytest.skip("the store does not offer prefetch_opening()")
            uow.put_campaign(Campaign(id="ventas", region="PE", queue="q1"))
            port.put_agent_state(_agent("ana", "q1"))
            port.put_agent_state(_agent("luis", "q1", "q2"))
            uow.commit()
        ana, luis = _agent("ana", "q1"), _agent("luis", "q1", "q2")
        hints = [(None, None), ("ana", None), ("nadie", None), (None, "q2"), ("nadie", "q3")]
        for n, (agent, queue) in enumerate(hints):
            customer = f"{PHONE}{n}"
            for has_open in (False, True):
                if has_open:
                    self.open_ticket("ventas", customer)
                with self.uow() as uow:
                    port = self.port(uow)
                    assert isinstance(uow, OpeningPrefetch)
                    uow.prefetch_opening(agent=agent, queue=queue)
                    assert uow.get_campaign("ventas") is not None
                    assert uow.get_block("ventas", customer) is None
                    ticket, opened = uow.get_or_open_ticket(
                        "ventas", customer, _opener("ventas", customer)
                    )
                    assert opened is not has_open
                    assert port.get_agent_state("ana") == ana
                    assert port.get_agent_state("nadie") is None
                    assert port.agent_states_for_queue("q1") == [ana, luis]
                    assert port.agent_states_for_queue("q2") == [luis]
                    assert port.agent_states_for_queue("q3") == []
                    busy = AgentState(agent=ana.agent, open=PerFamily(digital=1))
                    port.put_agent_state(busy)
                    assert port.get_agent_state("ana") == busy
                    assert port.agent_states_for_queue("q1") == [busy, luis]
                    uow.rollback()
                with self.uow() as uow:
                    assert self.port(uow).get_agent_state("ana") == ana
                    assert uow.get_open_ticket("ventas", customer) == (ticket if has_open else None)

    def test_A2_A3_concurrent_routing_never_assigns_a_ticket_twice_nor_past_capacity(
        self,
    ) -> None:
        """Eight threads route new customers and close tickets through the services at once."""
        from ccdomain.assignment import declare_agent, make_agent, set_presence
        from ccdomain.tickets import resolve_ticket, route_interaction

        with self.uow() as uow:
            self.port(uow)
            uow.put_campaign(Campaign(id="ventas", region="PE"))
            uow.put_line(
                Line(
                    id="wa",
                    channel=Channel.WHATSAPP,
                    address="+5117001111",
                    campaign="ventas",
                    queue="q1",
                )
            )
            uow.commit()
        for name in ("ana", "luis", "rosa"):
            profile = make_agent(name, queues=["q1"], capacity={"digital": 2, "voice": 1})
            declare_agent(self.store, profile=profile, at=AT)
            set_presence(self.store, agent=name, status="online", at=AT)
        errors: list[BaseException] = []
        start = threading.Barrier(8)

        def worker(offset: int) -> None:
            try:
                start.wait()
                for i in range(12):
                    at = AT + dt.timedelta(minutes=i, seconds=offset)
                    customer = f"+519{offset:02d}{i:06d}"
                    ticket = route_interaction(
                        self.store,
                        at=at,
                        channel="whatsapp",
                        direction="inbound",
                        customer=customer,
                        line="wa",
                        external_id=f"m-{offset}-{i}",
                        text="hola",
                    ).ticket
                    if i % 3 == 2:
                        resolve_ticket(self.store, number=ticket.number, agent="sup", at=at)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with self.uow() as uow:
            port = self.port(uow)
            tickets = uow.list_tickets()
            states = {s.id: s for s in port.list_agent_states()}
            waiting = {w.number for w in port.list_waiting()}
            assigned_events: dict[int, int] = {}
            for event in uow.events():
                if event.kind.value == "ticket_assigned" and event.ticket is not None:
                    assigned_events[event.ticket] = assigned_events.get(event.ticket, 0) + 1
        assert all(count == 1 for count in assigned_events.values()), assigned_events
        for name, state in states.items():
            held = [t for t in tickets if t.is_open and t.assignee == name]
            assert state.open.digital == len(held) <= state.agent.capacity.digital, name
        for ticket in tickets:
            waits = ticket.number in waiting
            assert not (waits and ticket.assignee is not None), ticket.number
            assert not waits or ticket.is_open, ticket.number
            if ticket.is_open and ticket.assignee is None:
                assert waits, ticket.number
