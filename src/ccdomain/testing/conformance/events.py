"""Conformance of the event log: numbering, reading after a seq, replacing, purging (T11, I4)."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given

from ccdomain.errors import (
    RuleViolation,
)
from ccdomain.events import (
    CommentAdded,
    Event,
    EventKind,
    InteractionAdded,
    TicketOpened,
    TicketResolved,
)
from ccdomain.models import (
    Direction,
    RouteOutcome,
)
from ccdomain.ports import EventRecorder, Purgeable
from ccdomain.testing import strategies as cst
from ccdomain.testing.conformance.case import (
    PHONE,
    StoreCase,
    _event,
    _interaction,
    _properties,
)

__all__ = ["EventLogConformance"]


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

    def test_T11_recorded_events_are_numbered_in_the_order_they_were_recorded(self) -> None:
        """Optional (``EventRecorder``): ``record_event`` numbers an event as
        ``append_event`` does, in the order of recording whichever method recorded it,
        readable at once; a rolled-back nested unit's events are gone."""

        def added(n: int) -> Event:
            interaction = _interaction(1, f"r{n}")
            return _event(
                EventKind.INTERACTION_ADDED,
                InteractionAdded(interaction=interaction, outcome=RouteOutcome.JOINED),
            )

        with self.uow() as uow:
            if not isinstance(uow, EventRecorder):
                pytest.skip("the store does not offer record_event()")
            uow.record_event(added(1))
            appended = uow.append_event(added(2))
            uow.record_event(added(3))
            with self.uow() as nested:
                assert isinstance(nested, EventRecorder)
                nested.record_event(added(4))  # rolled back with its unit
            uow.record_event(added(5))
            inside = list(uow.events())
            uow.commit()
        seqs = [e.seq or 0 for e in inside]
        assert seqs == sorted(set(seqs)) and seqs[1] == appended.seq
        assert [attrs.evolve(e, seq=None) for e in inside] == [added(n) for n in (1, 2, 3, 5)]
        with self.uow() as uow:
            assert list(uow.events()) == inside
            assert isinstance(uow, EventRecorder)
            uow.record_event(added(6))  # not committed: not kept
        with self.uow() as uow:
            assert list(uow.events()) == inside

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
