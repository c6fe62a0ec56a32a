"""The records of assignment: agents, their presence and load, waiting tickets (A1-A6).

Frozen, data only: the assignment decision lives in :mod:`ccdomain.rules.assignment`
and the services in :mod:`ccdomain.services.assignment`; :mod:`ccdomain.models`
re-exports every name here.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

__all__ = ["Agent", "AgentState", "Family", "PerFamily", "Presence", "WaitingTicket"]


class Presence(enum.StrEnum):
    """An agent's presence (A1, A5): only an online agent is given new tickets."""

    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class Family(enum.StrEnum):
    """A channel family (A1): ``voice`` is calls, ``digital`` every other channel."""

    DIGITAL = "digital"
    VOICE = "voice"


@attrs.frozen(kw_only=True)
class PerFamily:
    """A count per channel family: an agent's capacity, or their open tickets (A1, A2)."""

    digital: int = 0
    voice: int = 0

    def of(self, family: Family) -> int:
        """The count of ``family``."""
        return self.voice if family is Family.VOICE else self.digital


@attrs.frozen(kw_only=True)
class Agent:
    """An agent as declared (A1): id, name, the queues they serve and their capacity."""

    id: str
    name: str = ""
    queues: tuple[str, ...] = ()
    capacity: PerFamily = PerFamily()


@attrs.frozen(kw_only=True)
class AgentState:
    """An agent with their presence and load: what the assignment decision reads (A2).

    ``open`` counts the open tickets (open, pending or snoozed, P4) assigned to the
    agent, per family; ``last_assigned_at`` is when they were last given a ticket (None:
    never), for "idle longest first"; ``presence_at`` is the time of the presence change
    in force (None: never changed, offline since declared).
    """

    agent: Agent
    presence: Presence = Presence.OFFLINE
    open: PerFamily = PerFamily()
    last_assigned_at: dt.datetime | None = None
    presence_at: dt.datetime | None = None

    @property
    def id(self) -> str:
        """The agent's id."""
        return self.agent.id


@attrs.frozen(kw_only=True)
class WaitingTicket:
    """An open ticket no agent could take yet, in its queue's waiting line (A3).

    Served VIP first (K7), then by opening time, then by number.
    """

    number: int
    queue: str
    family: Family
    opened_at: dt.datetime
    vip: bool = False
