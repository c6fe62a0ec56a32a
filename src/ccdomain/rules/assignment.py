"""Assignment: which agent takes a ticket, which waiting ticket an agent takes (A1-A5).

Pure functions of the agents' state and the waiting tickets: no store, no clock.
:mod:`ccdomain.services.assignment` reads the few records they need (the agents of
one queue, the head of a few waiting lines) and applies them.

- A1 :func:`family_of`: a call is ``voice``, every other channel ``digital``; an
  agent's capacity is a count per family (:class:`~ccdomain.models.PerFamily`).
- A2 :func:`choose_agent`: among the online agents of the ticket's queue with free
  capacity in its family, fewest open assigned tickets first, then the one idle
  longest (oldest last assignment; never assigned first), then agent id.
  :func:`has_room` counts open, pending and snoozed tickets (P4).
- A3 :func:`next_waiting`: an agent who comes online or frees capacity takes the
  waiting ticket first in line among the queues and families they have room for:
  VIP contacts first (K7), then by opening time, then by number
  (:func:`waiting_key`).
- A5 only an ``online`` agent has room: away and offline agents keep their tickets
  and are given none.

Decisions taken where DESIGN.md is silent (ids continue the A list of docs/rules.md):

- A7 A ticket's family is the one of the channel it opened on, for its whole life.
- A8 "Fewest open assigned tickets" counts both families together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Final

import attrs

from ccdomain import checks
from ccdomain.errors import RuleViolation
from ccdomain.errors import show as _show
from ccdomain.models import (
    Agent,
    AgentState,
    Channel,
    Family,
    PerFamily,
    Presence,
    Ticket,
    WaitingTicket,
)

__all__ = [
    "CAPACITY_MAX",
    "choose_agent",
    "family_of",
    "has_room",
    "make_agent",
    "next_waiting",
    "parse_presence",
    "ticket_family",
    "waiting_key",
    "with_assigned",
    "with_released",
]

_ONLINE = Presence.ONLINE
_VOICE = Family.VOICE
_DIGITAL = Family.DIGITAL
_CALL = Channel.CALL
# "Never assigned" sorts before any real instant: that agent is idle longest.
_NEVER: Final = dt.datetime.min.replace(tzinfo=dt.UTC)


CAPACITY_MAX: Final = 1000
"""The largest capacity of an agent in one channel family (E3)."""

_PRESENCE_BY_NAME: Final = {p.value: p for p in Presence}


def make_agent(id: object, *, name: object = "", queues: object, capacity: object) -> Agent:
    """Validate and build an agent (A1).

    Args:
        id: the agent id (the ``agent`` of interactions and closings).
        name: the display name.
        queues: the queues they serve: a non-empty list of queue ids (duplicates dropped).
        capacity: ``{"digital": n, "voice": n}``, whole numbers from 0 to
            :data:`CAPACITY_MAX` (a missing family is 0), or a :class:`PerFamily`.

    >>> make_agent("ana", queues=["ventas-general"], capacity={"digital": 3, "voice": 1}).capacity
    PerFamily(digital=3, voice=1)

    Raises:
        RuleViolation: a field is missing, blank, of the wrong type or out of range.
    """
    agent_id = checks.agent(id)
    listed = checks.items(queues, "queues")
    if not listed:
        raise RuleViolation(
            f"agent {agent_id!r} serves no queue: expected a non-empty list of queue ids"
        )
    if isinstance(capacity, PerFamily):
        counts = {"digital": capacity.digital, "voice": capacity.voice}
    elif isinstance(capacity, dict) and set(capacity) <= {"digital", "voice"}:
        counts = {k: capacity.get(k, 0) for k in ("digital", "voice")}
    else:
        raise RuleViolation(
            f"capacity {_show(capacity)} of agent {agent_id!r} is not valid: expected "
            '{"digital": n, "voice": n}'
        )
    return Agent(
        id=agent_id,
        name=checks.name(name, "agent name"),
        queues=tuple(dict.fromkeys(checks.identifier(q, "queue") for q in listed)),
        capacity=PerFamily(
            **{
                k: checks.whole(v, f"capacity {k}", minimum=0, maximum=CAPACITY_MAX)
                for k, v in counts.items()
            }
        ),
    )


def parse_presence(value: object) -> Presence:
    """The presence a value names: ``online``, ``away`` or ``offline`` (A1).

    Raises:
        RuleViolation: the value names none of them.
    """
    found = _PRESENCE_BY_NAME.get(value) if isinstance(value, str) else None
    if found is None:
        raise RuleViolation(
            f"presence {_show(value)} is not valid: expected 'online', 'away' or 'offline'"
        )
    return found


def family_of(channel: Channel) -> Family:
    """The channel family (A1): ``voice`` for calls, ``digital`` for every other channel."""
    return _VOICE if channel is _CALL else _DIGITAL


def ticket_family(ticket: Ticket) -> Family:
    """The family of a ticket: the one of the channel it opened on (A7)."""
    return family_of(ticket.channels[0]) if ticket.channels else _DIGITAL


def has_room(state: AgentState, family: Family) -> bool:
    """Whether an agent may be given a ticket of ``family`` automatically (A2, A5)."""
    return state.presence is _ONLINE and state.open.of(family) < state.agent.capacity.of(family)


def _load(state: AgentState) -> tuple[int, dt.datetime, str]:
    open_ = state.open
    return (open_.digital + open_.voice, state.last_assigned_at or _NEVER, state.agent.id)


def choose_agent(states: Iterable[AgentState], family: Family) -> AgentState | None:
    """The agent a ticket of ``family`` goes to, among the agents of its queue (A2), or None.

    Only online agents with room in ``family``; fewest open tickets first (A8), then
    the oldest last assignment (never assigned first), then the agent id.
    """
    best: AgentState | None = None
    best_key: tuple[int, dt.datetime, str] | None = None
    for state in states:
        if has_room(state, family):
            key = _load(state)
            if best_key is None or key < best_key:
                best, best_key = state, key
    return best


def waiting_key(ticket: WaitingTicket) -> tuple[bool, dt.datetime, int]:
    """The order of a waiting line (A3): VIP first, then opening time, then number."""
    return (not ticket.vip, ticket.opened_at, ticket.number)


def next_waiting(state: AgentState, heads: Iterable[WaitingTicket]) -> WaitingTicket | None:
    """The waiting ticket an agent takes next (A3), among the heads of the waiting lines of
    their queues; None when they have room for none of them (or are not online, A5)."""
    best: WaitingTicket | None = None
    for head in heads:
        if (
            head.queue in state.agent.queues
            and has_room(state, head.family)
            and (best is None or waiting_key(head) < waiting_key(best))
        ):
            best = head
    return best


def _changed(counts: PerFamily, family: Family, delta: int) -> PerFamily:
    if family is _VOICE:
        return PerFamily(digital=counts.digital, voice=max(0, counts.voice + delta))
    return PerFamily(digital=max(0, counts.digital + delta), voice=counts.voice)


def with_assigned(state: AgentState, family: Family, at: dt.datetime) -> AgentState:
    """The agent after being given a ticket of ``family`` at ``at`` (A2, A4)."""
    last = state.last_assigned_at
    return attrs.evolve(
        state,
        open=_changed(state.open, family, 1),
        last_assigned_at=at if last is None or at > last else last,
    )


def with_released(state: AgentState, family: Family) -> AgentState:
    """The agent after a ticket of ``family`` of theirs closed or went to another (A3)."""
    return attrs.evolve(state, open=_changed(state.open, family, -1))
