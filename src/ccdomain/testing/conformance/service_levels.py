"""Conformance of the optional service-level reads: one pass over interactions, latest time (H5).

:class:`~ccdomain.ports.ServiceLevelReads` is optional: a store whose units of work
do not have it is listed ticket by ticket, and these tests are skipped for it.
"""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from ccdomain.events import EventKind, TicketOpened, TicketResolved
from ccdomain.models import Direction
from ccdomain.ports import ServiceLevelReads, UnitOfWork
from ccdomain.testing.conformance.case import (
    OTHER_PHONE,
    PHONE,
    StoreCase,
    _event,
    _interaction,
)

__all__ = ["ServiceLevelReadsConformance"]


def _reads(uow: UnitOfWork) -> ServiceLevelReads:
    if not isinstance(uow, ServiceLevelReads):
        pytest.skip("the store's units of work have no ServiceLevelReads (optional)")
    return uow


class ServiceLevelReadsConformance(StoreCase):
    """The bulk reads of the tickets listing (H5), when the store offers them."""

    def test_H5_interactions_by_ticket_gives_what_interactions_gives_in_one_pass(self) -> None:
        first = self.open_ticket("ventas", PHONE)
        second = self.open_ticket("soporte", PHONE)
        third = self.open_ticket("ventas", OTHER_PHONE)  # no interaction
        with self.uow() as uow:
            uow.add_interaction(_interaction(first.number, "m1", "hola"))
            uow.add_interaction(_interaction(second.number, "m2", "otro"))
            uow.add_interaction(_interaction(first.number, None, "chau"))
            uow.commit()
        with self.uow() as uow:
            reads = _reads(uow)
            every = list(reads.interactions_by_ticket())
            assert [number for number, _ in every] == [first.number, second.number]
            for number, found in every:
                assert list(found) == list(uow.interactions(number))
            assert [n for n, _ in reads.interactions_by_ticket("ventas")] == [first.number]
            assert [n for n, _ in reads.interactions_by_ticket("nada")] == []
            assert third.number not in dict(every)

    def test_H5_latest_event_time_is_the_latest_instant_whatever_the_offset(self) -> None:
        with self.uow() as uow:
            assert _reads(uow).latest_event_time() is None
        lima = dt.timezone(dt.timedelta(hours=-5))
        later = dt.datetime(2026, 11, 20, 10, 0, tzinfo=lima)  # 15:00 UTC
        # 14:30 UTC: later as text ("2026-11-20T14:30" > "2026-11-20T10:00"), earlier in time.
        earlier = dt.datetime(2026, 11, 20, 14, 30, tzinfo=dt.UTC)
        with self.uow() as uow:
            opened = _event(
                EventKind.TICKET_OPENED, TicketOpened(customer=PHONE, origin=Direction.INBOUND)
            )
            uow.append_event(attrs.evolve(opened, at=later))
            uow.append_event(
                attrs.evolve(_event(EventKind.TICKET_RESOLVED, TicketResolved()), at=earlier)
            )
            uow.commit()
        with self.uow() as uow:
            found = _reads(uow).latest_event_time()
            assert found == later
            assert found is not None and found.utcoffset() == later.utcoffset()
