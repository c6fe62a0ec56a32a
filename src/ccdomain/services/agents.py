"""Agents: declare them, change their presence, assign a ticket by hand (A1, A4, A5, A9-A11).

Each service is one unit of work that appends its events (T11): ``agent_declared``,
``presence_changed``, ``ticket_assigned`` (by the person who assigned it; automatic
assignments, made by :mod:`ccdomain.services.assignment`, are by ``system``). See that
module for the decisions A9-A11.
"""

from __future__ import annotations

import datetime as dt

import attrs

from ccdomain import checks
from ccdomain.errors import RuleViolation, UnknownAgent
from ccdomain.errors import show as _show
from ccdomain.events import AgentDeclared, Event, EventKind, PresenceChanged
from ccdomain.models import Agent, AgentState, Presence, Ticket
from ccdomain.ports import AssignmentRepository, Store, UnitOfWork
from ccdomain.rules.assignment import parse_presence, ticket_family, with_released
from ccdomain.rules.tickets import require_open
from ccdomain.services._common import recorder
from ccdomain.services.assignment import (
    assignment_port,
    give_ticket,
    serve_waiting,
    waiting_entry,
)
from ccdomain.services.ticket_actions import find_ticket

__all__ = ["declare_agent", "reassign_ticket", "set_presence"]


def _require_port(uow: UnitOfWork) -> AssignmentRepository:
    port = assignment_port(uow)
    if port is None:
        raise RuleViolation(
            f"the store's unit of work {type(uow).__name__} has no agents: expected one "
            "implementing ccdomain.ports.AssignmentRepository"
        )
    return port


def declare_agent(
    store: Store, *, profile: Agent, at: dt.datetime, agent: str | None = None
) -> AgentState:
    """Declare an agent (``profile``, from :func:`ccdomain.assignment.make_agent`), or
    declare them again with changes (A1, A9); ``agent`` is who declares them.

    A new agent starts offline with no tickets. An identical declaration changes
    nothing; a changed one keeps the agent's presence and open tickets. The first agent
    of a queue puts the queue's open unassigned tickets in its waiting line.

    Returns:
        The agent's state as stored.

    Raises:
        RuleViolation: bad time or actor, or a store without agents.
    """
    at = checks.aware(at)
    actor = None if agent is None else checks.agent(agent)
    if not isinstance(profile, Agent):
        raise RuleViolation(f"{_show(profile)} is not an Agent; expected one from make_agent")
    declared = profile
    with store.unit_of_work() as uow:
        port = _require_port(uow)
        old = port.get_agent_state(declared.id)
        if old is not None and old.agent == declared:
            return old
        new_queues = [
            q
            for q in declared.queues
            if (old is None or q not in old.agent.queues) and not port.agent_states_for_queue(q)
        ]
        state = AgentState(agent=declared) if old is None else attrs.evolve(old, agent=declared)
        port.put_agent_state(state)
        recorder(uow)(
            Event(
                kind=EventKind.AGENT_DECLARED,
                at=at,
                actor=actor,
                payload=AgentDeclared(
                    agent=declared.id,
                    name=declared.name,
                    queues=declared.queues,
                    digital=declared.capacity.digital,
                    voice=declared.capacity.voice,
                ),
            ),
        )
        if new_queues:
            lines = set(new_queues)
            for ticket in uow.list_tickets():
                if ticket.is_open and ticket.assignee is None and ticket.queue in lines:
                    port.add_waiting(waiting_entry(uow, ticket))
        state = serve_waiting(uow, port, state, at)
        uow.commit()
    return state


def set_presence(
    store: Store, *, agent: str, status: Presence | str, at: dt.datetime
) -> AgentState:
    """Change an agent's presence (A1, A5, A10); coming online, they take waiting tickets (A3).

    Away and offline agents keep their tickets and are given no new one. A change older
    than the one in force changes nothing.

    Raises:
        UnknownAgent: the agent is not declared. RuleViolation: bad status or time.
    """
    agent = checks.agent(agent)
    presence = parse_presence(status)
    at = checks.aware(at)
    with store.unit_of_work() as uow:
        port = _require_port(uow)
        state = port.get_agent_state(agent)
        if state is None:
            raise UnknownAgent(f"agent {agent!r} is not declared; expected an agent event first")
        if state.presence_at is not None and at <= state.presence_at:
            return state
        state = attrs.evolve(state, presence=presence, presence_at=at)
        port.put_agent_state(state)
        recorder(uow)(
            Event(
                kind=EventKind.PRESENCE_CHANGED,
                at=at,
                actor=agent,
                payload=PresenceChanged(agent=agent, status=presence.value),
            ),
        )
        state = serve_waiting(uow, port, state, at)
        uow.commit()
    return state


def reassign_ticket(
    store: Store,
    *,
    number: int | None = None,
    campaign: str | None = None,
    customer: str | None = None,
    assignee: str,
    agent: str,
    at: dt.datetime,
) -> Ticket:
    """Assign an open ticket to ``assignee``, a declared agent of its queue, by hand (A4, A11).

    ``agent`` is who assigns it (a supervisor, or the agent taking it).

    Over capacity is allowed. The ticket leaves its waiting line; its previous agent
    frees capacity and takes the next waiting ticket (A3).

    Raises:
        UnknownTicket: no such ticket, or no open ticket for that campaign and customer.
        TicketClosed: the ticket is closed.
        UnknownAgent: the agent is not declared.
        RuleViolation: the agent does not serve the ticket's queue; ``at`` is before the
            ticket opened (T16); bad input.
    """
    assignee = checks.agent(assignee, "assignee")
    agent = checks.agent(agent)
    at = checks.aware(at)
    with store.unit_of_work() as uow:
        port = _require_port(uow)
        ticket = find_ticket(uow, number=number, campaign=campaign, customer=customer)
        require_open(ticket, "assign")
        if at < ticket.opened_at:
            raise RuleViolation(
                f"ticket {ticket.number} opened at {ticket.opened_at.isoformat()}; it cannot "
                f"be assigned at {at.isoformat()}, before it opened (T16)"
            )
        state = port.get_agent_state(assignee)
        if state is None:
            raise UnknownAgent(f"agent {assignee!r} is not declared; expected a declared agent")
        if ticket.queue not in state.agent.queues:
            raise RuleViolation(
                f"agent {assignee!r} does not serve queue {ticket.queue!r} of ticket "
                f"{ticket.number}; expected an agent of that queue (A4)"
            )
        if ticket.assignee == assignee:
            return ticket
        port.take_waiting(ticket.number)
        previous = None if ticket.assignee is None else port.get_agent_state(ticket.assignee)
        updated, _ = give_ticket(uow, port, ticket, state, at, agent)
        if previous is not None:
            freed = with_released(previous, ticket_family(ticket))
            port.put_agent_state(freed)
            serve_waiting(uow, port, freed, at)
        uow.commit()
    return updated
