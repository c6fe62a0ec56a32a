"""The SQLite store's assignment repository: agents and waiting lines (A1-A6).

* Agents are JSON rows by id; ``agent_queues`` indexes them by queue, so the agents
  of a ticket's queue are one indexed lookup (then remembered by the connection).
* ``waiting`` holds one row per waiting ticket, indexed in serving order per
  (queue, family): VIP first (``rank`` 0), then opening time (``opened_us``,
  microseconds since 1970 UTC, so offsets compare as instants), then number. The
  first of a line is one index probe.
* Two workers never take the same waiting ticket nor push an agent past capacity:
  every unit of work holds the database's write lock from its start (``BEGIN
  IMMEDIATE``, :mod:`ccdomain.sqlite.connection`), so their read-then-write of an
  agent's counts and of a waiting row run one after the other, and a taken row is
  gone for the next (``take_waiting`` reports whether it deleted it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final, cast

from ccdomain.errors import RuleViolation
from ccdomain.models import AgentState, Family, WaitingTicket
from ccdomain.sqlite.connection import _guarded, _UnitOfWorkBase

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US: Final = dt.timedelta(microseconds=1)


def _micros(at: dt.datetime) -> int:
    return (at - _EPOCH) // _US


class SqliteAssignmentRepository(_UnitOfWorkBase):
    """Agents and waiting lines (a part of :class:`~ccdomain.sqlite.SqliteUnitOfWork`,
    not used alone).

    Agent states and the agents of each queue are remembered by the connection (as
    campaigns and lines are, :mod:`ccdomain.sqlite.connection`): routing reads the
    agents of a queue for every ticket it opens. A write updates what is remembered; a
    rollback or another connection's commit forgets it all.
    """

    def _reads(self) -> dict[tuple[str, ...], Any] | None:
        self._db()  # begins the transaction when due, so ``conn.active`` is current
        conn = self._conn
        return conn.reads if conn is not None and conn.active else None

    @_guarded
    def put_agent_state(self, state: AgentState) -> None:
        """Insert or replace an agent's state, its queues reindexed."""
        agent_id = state.agent.id
        old = self._agent(agent_id)
        db = self._wdb()
        db.execute(
            "INSERT INTO agents (id, data) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            (agent_id, self._dump(state)),
        )
        reads = self._reads()
        if old is None or old.agent.queues != state.agent.queues:
            queues = sorted(set(state.agent.queues))
            db.execute("DELETE FROM agent_queues WHERE agent = ?", (agent_id,))
            db.executemany(
                "INSERT INTO agent_queues (queue, agent) VALUES (?, ?)",
                [(queue, agent_id) for queue in queues],
            )
            if reads is not None:
                for queue in {*queues, *(() if old is None else old.agent.queues)}:
                    reads.pop(("queue agents", queue), None)
        if reads is not None:
            reads["agent", agent_id] = state

    def _agent(self, agent_id: str) -> AgentState | None:
        reads = self._reads()
        key = ("agent", agent_id)
        if reads is not None and key in reads:
            return cast(AgentState | None, reads[key])
        found = self._one("SELECT data FROM agents WHERE id = ?", (agent_id,), AgentState)
        if reads is not None:
            reads[key] = found
        return found

    @_guarded
    def get_agent_state(self, agent_id: str) -> AgentState | None:
        """The state of the agent with that id, or None."""
        return self._agent(agent_id)

    def _has_agents(self) -> bool:
        """Whether the file has the assignment tables: a file of schema version 3 or
        earlier, read as it is (read-only), has none, so it holds no agent."""
        row = (
            self._db()
            .execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'waiting'")
            .fetchone()
        )
        return row is not None

    @_guarded
    def list_agent_states(self) -> Sequence[AgentState]:
        """Every agent's state, by agent id."""
        if not self._has_agents():
            return []
        return self._all("SELECT data FROM agents ORDER BY id", (), AgentState)

    @_guarded
    def agent_states_for_queue(self, queue: str) -> Sequence[AgentState]:
        """The states of the agents serving ``queue``, by agent id."""
        reads = self._reads()
        key = ("queue agents", queue)
        ids = None if reads is None else reads.get(key)
        if ids is None:
            ids = tuple(
                row[0]
                for row in self._db().execute(
                    "SELECT agent FROM agent_queues WHERE queue = ? ORDER BY agent", (queue,)
                )
            )
            if reads is not None:
                reads[key] = ids
        states = [self._agent(agent_id) for agent_id in ids]
        return [state for state in states if state is not None]

    @_guarded
    def add_waiting(self, ticket: WaitingTicket) -> None:
        """Put a ticket in its queue's waiting line (RuleViolation if it already waits)."""
        db = self._wdb()
        done = db.execute(
            "INSERT INTO waiting (number, queue, family, rank, opened_us, data) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (number) DO NOTHING",
            (
                ticket.number,
                ticket.queue,
                ticket.family.value,
                0 if ticket.vip else 1,
                _micros(ticket.opened_at),
                self._dump(ticket),
            ),
        ).rowcount
        if done != 1:
            raise RuleViolation(f"ticket {ticket.number} is already waiting; expected a new one")

    @_guarded
    def take_waiting(self, number: int) -> WaitingTicket | None:
        """Take ticket ``number`` out of its waiting line; None if it does not wait."""
        found = self._one("SELECT data FROM waiting WHERE number = ?", (number,), WaitingTicket)
        if found is not None:
            self._wdb().execute("DELETE FROM waiting WHERE number = ?", (number,))
        return found

    @_guarded
    def first_waiting(self, queue: str, family: Family) -> WaitingTicket | None:
        """The first ticket of a waiting line (VIP, then opening time, then number)."""
        return self._one(
            "SELECT data FROM waiting WHERE queue = ? AND family = ? "
            "ORDER BY rank, opened_us, number LIMIT 1",
            (queue, family.value),
            WaitingTicket,
        )

    @_guarded
    def list_waiting(self, queue: str | None = None) -> Sequence[WaitingTicket]:
        """The waiting tickets of a queue (or all), queue by queue in serving order."""
        if not self._has_agents():
            return []
        if queue is None:
            return self._all(
                "SELECT data FROM waiting ORDER BY queue, rank, opened_us, number",
                (),
                WaitingTicket,
            )
        return self._all(
            "SELECT data FROM waiting WHERE queue = ? ORDER BY rank, opened_us, number",
            (queue,),
            WaitingTicket,
        )
