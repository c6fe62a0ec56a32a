"""Assignment: agents, presence, and who takes each ticket (A1-A11).

The public module of the assignment family: it re-exports the records, the pure
decision and the services. Where each part lives:

- :mod:`ccdomain.models.assignment`: :class:`Agent`, :class:`AgentState`,
  :class:`PerFamily`, :class:`Presence`, :class:`Family`, :class:`WaitingTicket`.
- :mod:`ccdomain.rules.assignment`: the decision, a pure function of the agents'
  state and the waiting tickets (A2 :func:`choose_agent`, A3 :func:`next_waiting`).
- :mod:`ccdomain.services.agents`: :func:`declare_agent`, :func:`set_presence`,
  :func:`reassign_ticket` (A1, A4, A5).
- :mod:`ccdomain.services.assignment`: what routing and closing call inside their
  unit of work (A2-A4): a ticket that opens is assigned or waits; one that closes
  frees its agent, who takes the next waiting ticket.

Example::

    >>> import datetime as dt
    >>> from ccdomain.memory import MemoryStore
    >>> store = MemoryStore()
    >>> at = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    >>> ana = make_agent("ana", queues=["ventas"], capacity={"digital": 2, "voice": 1})
    >>> declare_agent(store, profile=ana, at=at).presence.value
    'offline'
    >>> set_presence(store, agent="ana", status="online", at=at).presence.value
    'online'
"""

from __future__ import annotations

from ccdomain.models.assignment import (
    Agent,
    AgentState,
    Family,
    PerFamily,
    Presence,
    WaitingTicket,
)
from ccdomain.rules.assignment import (
    CAPACITY_MAX,
    choose_agent,
    family_of,
    has_room,
    make_agent,
    next_waiting,
    parse_presence,
    ticket_family,
    waiting_key,
)
from ccdomain.services.agents import declare_agent, reassign_ticket, set_presence

__all__ = [
    "CAPACITY_MAX",
    "Agent",
    "AgentState",
    "Family",
    "PerFamily",
    "Presence",
    "WaitingTicket",
    "choose_agent",
    "declare_agent",
    "family_of",
    "has_room",
    "make_agent",
    "next_waiting",
    "parse_presence",
    "reassign_ticket",
    "set_presence",
    "ticket_family",
    "waiting_key",
]
