"""Random interleavings of routing, resolving and typifying (T2, T3, T5, T9, T10, T11).

A hypothesis state machine routes interactions (random times, random and
repeated external ids, inbound on lines and outbound per campaign) and closes
tickets over 3 campaigns and 5 customers, checking the ticket invariants after
every step.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ccdomain.errors import UnknownTicket
from ccdomain.events import EventKind
from ccdomain.memory import MemoryStore
from ccdomain.models import Campaign, Channel, Direction, Line, TicketStatus
from ccdomain.tickets import (
    RouteOutcome,
    rebuild_tickets,
    rebuild_typifications,
    resolve_ticket,
    route_interaction,
    typify_ticket,
)

T0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
CAMPAIGNS = ("ventas", "soporte", "cobranzas")
LINES = ("wa-ventas", "wa-soporte", "call-main")
CUSTOMERS = ("987654321", "912345678", "+51 923 456 789", "51934567890", "945-678-901")
TREE = (("Contactado", "Venta"), ("No contactado", "Buzón", "Lleno"))
EXTERNAL_IDS = st.one_of(st.none(), st.sampled_from([f"ext-{n}" for n in range(25)]))


class TicketMachine(RuleBasedStateMachine):
    """The model: the closed tickets seen, the recorded external ids and interaction count."""

    def __init__(self) -> None:
        super().__init__()
        self.store = MemoryStore()
        with self.store.unit_of_work() as uow:
            for cid in CAMPAIGNS:
                uow.put_campaign(Campaign(id=cid, region="PE", typifications=TREE))
            for lid, channel, campaign in zip(
                LINES, (Channel.WHATSAPP, Channel.WHATSAPP, Channel.CALL), CAMPAIGNS, strict=True
            ):
                uow.put_line(
                    Line(id=lid, channel=channel, address="+5117001234", campaign=campaign)
                )
            uow.commit()
        self.clock = T0
        self.closed: set[int] = set()
        self.external_ids: set[str] = set()
        self.recorded = 0

    def _state(self) -> tuple[Any, ...]:
        with self.store.unit_of_work() as uow:
            tickets = list(uow.list_tickets())
            return (
                tickets,
                {x.number: list(uow.interactions(x.number)) for x in tickets},
                list(uow.typifications()),
                list(uow.events()),
            )

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        outbound=st.booleans(),
        campaign=st.sampled_from(CAMPAIGNS),
        line=st.sampled_from((*LINES, None)),
        channel=st.sampled_from([Channel.WHATSAPP, Channel.CALL, Channel.SMS]),
        advance=st.integers(0, 30),
        offset=st.integers(-120, 0),
        external_id=EXTERNAL_IDS,
        agent=st.sampled_from([None, "ana", "bea"]),
    )
    def route(
        self,
        customer: str,
        outbound: bool,
        campaign: str,
        line: str | None,
        channel: Channel,
        advance: int,
        offset: int,
        external_id: str | None,
        agent: str | None,
    ) -> None:
        self.clock += dt.timedelta(minutes=advance)
        if not outbound and line is None:
            line = LINES[0]
        before = self._state() if external_id in self.external_ids else None
        result = route_interaction(
            self.store,
            at=self.clock + dt.timedelta(minutes=offset),
            channel=channel,
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            customer=customer,
            campaign=campaign if outbound else None,
            line=line,
            external_id=external_id,
            agent=agent,
            text=None if channel is Channel.CALL else "hola",
            status="answered" if channel is Channel.CALL else None,
            # W1: an outbound WhatsApp message outside a window must be a template; the
            # machine checks routing, so every outbound one is (W1 has its own tests).
            template="aviso" if outbound and channel is Channel.WHATSAPP else None,
        )
        if before is not None:
            # T9: a repeated external id changes nothing.
            assert result.outcome is RouteOutcome.DUPLICATE
            assert self._state() == before
            return
        assert result.outcome is not RouteOutcome.DUPLICATE
        self.recorded += 1
        if external_id is not None:
            self.external_ids.add(external_id)
        if result.outcome is RouteOutcome.LATE:
            assert result.ticket.number in self.closed
            assert not result.ticket.is_open
        else:
            assert result.ticket.is_open
            assert result.ticket.number not in self.closed

    @precondition(lambda self: bool(self.external_ids))
    @rule(data=st.data())
    def replay_duplicate(self, data: st.DataObject) -> None:
        external_id = data.draw(st.sampled_from(sorted(self.external_ids)))
        before = self._state()
        with self.store.unit_of_work() as uow:
            seen = uow.find_interaction(external_id)
        assert seen is not None
        result = route_interaction(
            self.store,
            at=seen.at,
            channel=seen.channel,
            direction=seen.direction,
            customer=seen.customer,
            campaign=seen.campaign,
            line=seen.line,
            external_id=external_id,
        )
        assert result.outcome is RouteOutcome.DUPLICATE
        assert result.interaction == seen
        assert self._state() == before

    @rule(
        campaign=st.sampled_from(CAMPAIGNS),
        customer=st.sampled_from(CUSTOMERS),
        typify=st.booleans(),
        path=st.sampled_from(TREE),
    )
    def close(self, campaign: str, customer: str, typify: bool, path: tuple[str, ...]) -> None:
        with self.store.unit_of_work() as uow:
            open_ticket = uow.get_open_ticket(campaign, _e164(customer))
        try:
            if typify:
                typified = typify_ticket(
                    self.store,
                    campaign=campaign,
                    customer=customer,
                    agent="ana",
                    at=self.clock,
                    path=path,
                )
                ticket, record = typified.ticket, typified.typification
                assert ticket.status is TicketStatus.TYPIFIED and record.path == path
            else:
                ticket = resolve_ticket(
                    self.store, campaign=campaign, customer=customer, agent="bea", at=self.clock
                )
                assert ticket.status is TicketStatus.RESOLVED
        except UnknownTicket:
            assert open_ticket is None
            return
        assert open_ticket is not None and ticket.number == open_ticket.number
        self.closed.add(ticket.number)

    @invariant()
    def at_most_one_open_ticket_per_key(self) -> None:
        with self.store.unit_of_work() as uow:
            keys = [(x.campaign, x.customer) for x in uow.list_tickets() if x.is_open]
        assert len(keys) == len(set(keys))

    @invariant()
    def numbers_unique_and_increasing_in_open_order(self) -> None:
        with self.store.unit_of_work() as uow:
            opened = [e.ticket or 0 for e in uow.events() if e.kind is EventKind.TICKET_OPENED]
            numbers = [x.number for x in uow.list_tickets()]
        assert opened == sorted(opened) == numbers
        assert len(set(numbers)) == len(numbers)

    @invariant()
    def closed_tickets_never_reopen(self) -> None:
        with self.store.unit_of_work() as uow:
            for number in self.closed:
                ticket = uow.get_ticket(number)
                assert ticket is not None and not ticket.is_open

    @invariant()
    def every_interaction_recorded_once(self) -> None:
        with self.store.unit_of_work() as uow:
            tickets = list(uow.list_tickets())
            recorded = [i for x in tickets for i in uow.interactions(x.number)]
            assert all(i.ticket == x.number for x in tickets for i in uow.interactions(x.number))
        assert len(recorded) == self.recorded == sum(x.interactions for x in tickets)
        ids = [i.external_id for i in recorded if i.external_id is not None]
        assert sorted(ids) == sorted(self.external_ids)

    @invariant()
    def reports_rebuild_from_events(self) -> None:
        with self.store.unit_of_work() as uow:
            assert rebuild_tickets(uow.events()) == list(uow.list_tickets())
            assert rebuild_typifications(uow.events()) == list(uow.typifications())


def _e164(customer: str) -> str:
    digits = "".join(c for c in customer if c.isdigit())
    return "+51" + digits[-9:]


TicketMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
test_T2_T3_T5_T9_T10_T11_ticket_state_machine = TicketMachine.TestCase
