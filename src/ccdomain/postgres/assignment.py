"""The PostgreSQL store's assignment repository: agents and waiting lines (A1-A6).

* Agents are JSON rows by id with their queues as an array column; a GIN index on it
  finds the agents of a queue in one indexed lookup, and writing an agent (queues
  included) is one statement.
* ``waiting`` holds one row per waiting ticket, indexed in serving order per
  (queue, family): VIP first (``rank`` 0), then opening instant (a ``timestamptz``, so
  offsets compare as instants), then number. The first of a line is one index probe.
* A2, A3 - no agent past capacity: the services read an agent's counts and then write
  them, so in a unit of work that may write, ``get_agent_state`` and
  ``agent_states_for_queue`` lock the agents' rows (``FOR UPDATE``, the agents of a
  queue in id order): a second unit of work assigning to or freeing the same agent
  waits for this one's commit, then reads the counts it wrote. The same lock orders a
  ticket put in a queue's line (its agents locked, all full) before an agent of that
  queue freed next looks at the line (it reads the line after the lock is granted).
* A3 - a waiting ticket is taken once: ``take_waiting`` is ``DELETE ... RETURNING``; of
  two units of work taking the same ticket, the second waits for the first's commit
  and then deletes nothing (None). A unit that read the ticket's key outside routing
  read its entry with it, locked (the closings that take it out next then need no round
  trip: the ``DELETE`` goes with the next statement).
"""

from __future__ import annotations

from collections.abc import Sequence

from ccdomain.errors import RuleViolation
from ccdomain.models import AgentState, Family, WaitingTicket
from ccdomain.postgres.connection import (
    _AGENT_BY_ID,
    _AGENTS_OF_QUEUE,
    _AGENTS_VERSION,
    _PENDING,
    _guarded,
    _UnitOfWorkBase,
)

_LINE_ORDER = b" ORDER BY rank, opened_at, number"


class PostgresAssignmentRepository(_UnitOfWorkBase):
    """Agents and waiting lines (a part of :class:`~ccdomain.postgres.PostgresUnitOfWork`,
    not used alone)."""

    def _lock_agents(self, query: bytes) -> bytes:
        return query + b" FOR UPDATE" if self._locking else query

    @property
    def _has_agents(self) -> bool:
        """Whether the schema has the assignment tables: one of version 1, read as it is
        (read-only), has none, so it holds no agent and no waiting ticket."""
        return self._schema_version >= _AGENTS_VERSION

    @_guarded
    def put_agent_state(self, state: AgentState) -> None:
        """Insert or replace an agent's state, its queues reindexed (sent with the next
        statement: an upsert by id is refused by nothing; at once in a read-only store,
        whose refusal of any write is the call's, E1)."""
        tx = self._tx
        assert tx is not None
        if None in tx.agents_seen.values() or _PENDING in tx.agent_seen.values():
            # Reads of agents made ahead and not sent yet go first, and are kept: they
            # would otherwise arrive after the write is forgotten, with what it replaced.
            tx.flush()
        self._never_refused(
            b"INSERT INTO agents (id, queues, data) VALUES (%s, %s, %s) "
            b"ON CONFLICT (id) DO UPDATE SET queues = excluded.queues, data = excluded.data",
            (state.agent.id, sorted(set(state.agent.queues)), self._dump(state)),
        )
        # What was read of agents before it no longer answers (A2, A4).
        tx.agents_seen.clear()
        tx.agent_seen.clear()

    @_guarded
    def get_agent_state(self, agent_id: str) -> AgentState | None:
        """The state of the agent with that id, or None (locked in a unit that may write)."""
        if not self._has_agents:
            return None
        tx = self._tx
        assert tx is not None
        if type(agent_id) is str and agent_id in tx.agent_seen:
            if tx.agent_seen[agent_id] is _PENDING:  # read ahead, not sent yet
                tx.flush()
            seen = tx.agent_seen.get(agent_id, _PENDING)
            if seen is not _PENDING:  # locked, and no agent written since
                return None if seen is None else self._load(seen, AgentState)
        return self._one(self._lock_agents(_AGENT_BY_ID), (agent_id,), AgentState)

    @_guarded
    def list_agent_states(self) -> Sequence[AgentState]:
        """Every agent's state, by agent id."""
        if not self._has_agents:
            return []
        return self._all(b"SELECT data FROM agents ORDER BY id", (), AgentState)

    @_guarded
    def agent_states_for_queue(self, queue: str) -> Sequence[AgentState]:
        """The states of the agents serving ``queue``, by agent id (locked, in id order)."""
        if not self._has_agents:
            return []
        tx = self._tx
        assert tx is not None
        if type(queue) is str and queue in tx.agents_seen:
            if tx.agents_seen[queue] is None:  # read ahead, not sent yet
                tx.flush()
            seen = tx.agents_seen.get(queue)
            if seen is not None:  # locked, and no agent written since
                return [self._load(text, AgentState) for text in seen]
        return self._all(self._lock_agents(_AGENTS_OF_QUEUE), (queue,), AgentState)

    @_guarded
    def add_waiting(self, ticket: WaitingTicket) -> None:
        """Put a ticket in its queue's waiting line (RuleViolation if it already waits)."""
        tx = self._tx
        assert tx is not None
        tx.waiting_seen.pop(ticket.number, None)
        done = (
            self._wdb()
            .execute(
                b"INSERT INTO waiting (number, queue, family, rank, opened_at, data) "
                b"VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (number) DO NOTHING",
                (
                    ticket.number,
                    ticket.queue,
                    ticket.family.value,
                    0 if ticket.vip else 1,
                    ticket.opened_at,
                    self._dump(ticket),
                ),
            )
            .rowcount
        )
        if done != 1:
            raise RuleViolation(f"ticket {ticket.number} is already waiting; expected a new one")

    @_guarded
    def take_waiting(self, number: int) -> WaitingTicket | None:
        """Take ticket ``number`` out of its waiting line; None if it does not wait."""
        tx = self._tx
        assert tx is not None
        if type(number) is int and number in tx.waiting_seen:
            # Read locked with its ticket (see ``_open``), nothing written to it since: the
            # delete cannot be refused, and goes with the next statement.
            text = tx.waiting_seen.pop(number)
            if text is None:
                return None
            self._never_refused(b"DELETE FROM waiting WHERE number = %s", (number,))
            return self._load(text, WaitingTicket)
        row = (
            self._wdb()
            .execute(b"DELETE FROM waiting WHERE number = %s RETURNING data", (number,))
            .fetchone()
        )
        return None if row is None else self._load(row[0], WaitingTicket)

    @_guarded
    def first_waiting(self, queue: str, family: Family) -> WaitingTicket | None:
        """The first ticket of a waiting line (VIP, then opening time, then number)."""
        if not self._has_agents:
            return None
        return self._one(
            b"SELECT data FROM waiting WHERE queue = %s AND family = %s"
            + _LINE_ORDER
            + b" LIMIT 1",
            (queue, family.value),
            WaitingTicket,
        )

    @_guarded
    def list_waiting(self, queue: str | None = None) -> Sequence[WaitingTicket]:
        """The waiting tickets of a queue (or all), queue by queue in serving order."""
        if not self._has_agents:
            return []
        if queue is None:
            return self._all(
                b"SELECT data FROM waiting ORDER BY queue, rank, opened_at, number",
                (),
                WaitingTicket,
            )
        return self._all(
            b"SELECT data FROM waiting WHERE queue = %s" + _LINE_ORDER, (queue,), WaitingTicket
        )
