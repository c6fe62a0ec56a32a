"""Assignment services: agents, presence, automatic and manual assignment (A1-A6, A9-A12).

Each public service is one unit of work that appends its events (T11, A6: every
assignment is a ``ticket_assigned`` event, actor ``system`` when automatic). The
decisions are the pure functions of :mod:`ccdomain.rules.assignment`; the store's
:class:`~ccdomain.ports.AssignmentRepository` keeps the agents of each queue and the
waiting lines, so one assignment is a few lookups.

The hooks the other services call inside their own unit of work:

- :func:`assign_opened` when routing opens a ticket (A2, A4: an outbound interaction
  by a declared agent gives the ticket to that agent, over capacity if need be);
- :func:`release_closed` when a ticket closes (T3, P3): its agent frees capacity and
  takes the next waiting ticket of their queues (A3); a waiting ticket leaves its line.

A unit of work without the port (a host store that has not implemented it) assigns
nothing: routing and closing work as before.

Decisions taken where DESIGN.md is silent (ids continue the A list of docs/rules.md):

- A9 A queue waits only once an agent serves it: a ticket opened in a queue no
  declared agent serves is not put in a waiting line. Declaring the first agent of a
  queue puts the queue's open unassigned tickets in its line (a scan, once per queue).
  Declaring an agent again with other queues, name or capacity replaces them and
  keeps their presence and open tickets; an identical declaration changes nothing.
- A10 Presence follows event time: a presence change older than the one in force
  changes nothing (so a replayed file leaves presence as one replay did).
- A11 A manual assignment (``assign``) moves the ticket off its waiting line and off
  its previous agent, who takes the next waiting ticket; assigning a ticket to the
  agent who holds it changes nothing.
- A12 Capacity held by a ticket due for auto-resolve (P3) frees when the resolution
  is written: lazily, when its customer writes again, or by a sweep
  (:func:`ccdomain.tickets.sweep_auto_resolve`); assignment reads the store, so a host
  sweeps periodically. A ticket a late-written resolution frees capacity for is
  assigned at the later of that instant and its own opening.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import attrs

from ccdomain.errors import CcdomainError
from ccdomain.events import EventKind, TicketAssigned
from ccdomain.models import (
    AgentState,
    Direction,
    Family,
    Presence,
    Ticket,
    WaitingTicket,
)
from ccdomain.ports import AssignmentRepository, UnitOfWork
from ccdomain.rules.assignment import (
    choose_agent,
    has_room,
    next_waiting,
    ticket_family,
    with_assigned,
    with_released,
)
from ccdomain.rules.states import SYSTEM
from ccdomain.rules.tickets import ticket_event
from ccdomain.services._common import implements, live_contact, recorder

__all__ = [
    "assign_opened",
    "assignee_changed",
    "assignment_port",
    "give_ticket",
    "release_closed",
    "serve_waiting",
    "waiting_entry",
]

_OUTBOUND = Direction.OUTBOUND
_FAMILIES: Final = (Family.DIGITAL, Family.VOICE)


def assignment_port(uow: UnitOfWork) -> AssignmentRepository | None:
    """The unit of work as an assignment repository, or None when it is not one."""
    return uow if implements(uow, AssignmentRepository) else None  # type: ignore[return-value]


def _vip(uow: UnitOfWork, ticket: Ticket) -> bool:
    if ticket.contact is None:
        return False
    try:
        return live_contact(uow, ticket.campaign, ticket.contact).vip
    except CcdomainError:
        return False


def waiting_entry(uow: UnitOfWork, ticket: Ticket) -> WaitingTicket:
    """The waiting-line entry of an open ticket (A3: VIP read from its contact now)."""
    return WaitingTicket(
        number=ticket.number,
        queue=ticket.queue,
        family=ticket_family(ticket),
        opened_at=ticket.opened_at,
        vip=_vip(uow, ticket),
    )


def give_ticket(
    uow: UnitOfWork,
    port: AssignmentRepository,
    ticket: Ticket,
    state: AgentState,
    at: dt.datetime,
    actor: str,
) -> tuple[Ticket, AgentState]:
    """Assign ``ticket`` to the agent of ``state`` (over capacity if so asked: the caller
    decides), writing the ticket, the agent's counts and the event; both as changed."""
    updated = attrs.evolve(ticket, assignee=state.agent.id)
    now = with_assigned(state, ticket_family(ticket), at)
    uow.update_ticket(updated)
    port.put_agent_state(now)
    recorder(uow)(
        ticket_event(
            EventKind.TICKET_ASSIGNED, updated, actor, at, TicketAssigned(assignee=state.agent.id)
        ),
    )
    return updated, now


def serve_waiting(
    uow: UnitOfWork, port: AssignmentRepository, state: AgentState, at: dt.datetime
) -> AgentState:
    """A3: the agent takes waiting tickets of their queues while they have room; the
    agent's state afterwards."""
    while state.presence is Presence.ONLINE:
        heads = [
            head
            for queue in state.agent.queues
            for family in _FAMILIES
            if has_room(state, family)
            for head in (port.first_waiting(queue, family),)
            if head is not None
        ]
        chosen = next_waiting(state, heads)
        if chosen is None:
            break
        port.take_waiting(chosen.number)
        ticket = uow.get_ticket(chosen.number)
        if ticket is None or not ticket.is_open or ticket.assignee is not None:
            continue  # not waiting any more (closed or assigned by other means)
        # Capacity freed by a resolution written late (P3: at its due instant) serves a
        # ticket that opened after it when that ticket opened, never before.
        when = at if at >= ticket.opened_at else ticket.opened_at
        _, state = give_ticket(uow, port, ticket, state, when, SYSTEM)
    return state


def assign_opened(
    uow: UnitOfWork, ticket: Ticket, at: dt.datetime, direction: Direction, agent: str | None
) -> Ticket:
    """A2, A4, A9: assign a ticket routing just opened, or put it in its queue's line.

    Runs inside the caller's unit of work. Returns the ticket as assigned (or as given).
    """
    port = assignment_port(uow)
    if port is None:
        return ticket
    if direction is _OUTBOUND and agent is not None:
        own = port.get_agent_state(agent)
        if own is not None:  # A4: the agent who reached out holds it, over capacity too
            return give_ticket(uow, port, ticket, own, at, SYSTEM)[0]
    queue = ticket.queue
    if not queue or ticket.assignee is not None:
        return ticket
    states = port.agent_states_for_queue(queue)
    if not states:
        return ticket  # A9: no agent serves the queue, so it has no waiting line
    chosen = choose_agent(states, ticket_family(ticket))
    if chosen is not None:
        return give_ticket(uow, port, ticket, chosen, at, SYSTEM)[0]
    port.add_waiting(waiting_entry(uow, ticket))
    return ticket


def release_closed(uow: UnitOfWork, ticket: Ticket, at: dt.datetime) -> None:
    """A3: a closed ticket leaves its waiting line, or frees its agent, who takes the next.

    Runs inside the caller's unit of work, after the closed ticket is written.
    """
    port = assignment_port(uow)
    if port is None:
        return
    if ticket.assignee is None:
        port.take_waiting(ticket.number)
        return
    state = port.get_agent_state(ticket.assignee)
    if state is None:
        return
    freed = with_released(state, ticket_family(ticket))
    port.put_agent_state(freed)
    serve_waiting(uow, port, freed, at)


def assignee_changed(uow: UnitOfWork, before: Ticket, after: Ticket, at: dt.datetime) -> None:
    """Keep the agents' counts and the waiting line in step with a ticket whose assignee
    a caller changed itself (:func:`ccdomain.tickets.assign_ticket`, any assignee)."""
    port = assignment_port(uow)
    if port is None or before.assignee == after.assignee:
        return
    port.take_waiting(after.number)
    family = ticket_family(after)
    if after.assignee is not None:
        new = port.get_agent_state(after.assignee)
        if new is not None:
            port.put_agent_state(with_assigned(new, family, at))
    elif after.is_open and after.queue and port.agent_states_for_queue(after.queue):
        port.add_waiting(waiting_entry(uow, after))  # unassigned: back in its line (A3)
    if before.assignee is not None:
        old = port.get_agent_state(before.assignee)
        if old is not None:
            freed = with_released(old, family)
            port.put_agent_state(freed)
            serve_waiting(uow, port, freed, at)
