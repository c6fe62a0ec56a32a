"""The PostgreSQL store's ticket repository: tickets, interactions, typifications (T1-T9, I4).

* T2 - ``get_or_open_ticket`` looks for the open ticket with a row lock (``FOR
  UPDATE``); when there is none it locks the ``ticket`` counter row, which every
  opening takes, and looks again: a concurrent opening of the same key has committed
  by then (it held the counter) and is found. The partial unique index on open tickets
  (:mod:`ccdomain.postgres.schema`) refuses a second open ticket whatever the writer.
* T5 - ticket numbers come from the counter row, taken in the unit of work's
  transaction together with the ticket they number: a rolled-back opening leaves no gap.
* T3, T7 - an update keeps the ticket's campaign and customer, and a closed ticket
  never reopens. Single-ticket reads in a unit of work lock the row (the service
  changes it next: no lost update between workers).
* T9 - ``interactions.external_id`` is UNIQUE; ``find_interaction`` takes an advisory
  lock on the id first, so a redelivery handled by two workers at once is recorded once
  and found by the second.
* T2, T3, T9 - writes sent with the next statement (one round trip fewer each): a new
  ticket (the transaction holds the counter every opening takes), an update of a ticket
  the transaction holds locked in a state the update accepts, an interaction on a
  locked ticket whose external id was looked up under its lock and found unrecorded.
  What makes them certain is held by the transaction, so none is refused unless a
  writer outside the store skips the protocol; then the whole transaction is lost (E2).
* A2, A4, T6, T10 - reads routing makes next are made ahead: the key's tickets with its
  open ticket, an opening's queue agents and an outbound opening's agent (locked), an
  inbound message's key (its line's default campaign) with the customer's tickets.
* I4 - ``rewrite_ticket`` and ``replace_*`` are the anonymization's one-for-one rewrites.
* P4 - pending and snoozed tickets are open: the ``status`` column says ``'open'`` for
  every open state (the JSON holds the precise one), so they are their key's open ticket
  for the lookups and the partial unique index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ccdomain.errors import RuleViolation, UnknownTicket
from ccdomain.models import Direction, Interaction, Ticket, TicketStatus, Typification
from ccdomain.ports import checked_opening
from ccdomain.postgres.connection import (
    _AGENT_BY_ID,
    _AGENTS_OF_QUEUE,
    _AGENTS_VERSION,
    _KEY_TICKETS,
    _OPEN_SQL,
    _PENDING,
    _TAKE_COUNTER,
    TICKET_COUNTER,
    _agents_params,
    _agents_statement,
    _counter_value,
    _guarded,
    _Result,
    _UnitOfWorkBase,
)
from ccdomain.rules.tickets import check_replacement

# T9: an external id's lock, then its lookup (which sees what was committed by then).
_ID_LOCK = b"SELECT pg_advisory_xact_lock(hashtextextended(%s, 9))"
_ID_LOOKUP = b"SELECT data FROM interactions WHERE external_id = %s"


def _ignore(result: _Result) -> None:
    """The result of a statement read ahead for its effect (a lock)."""


_OPEN = TicketStatus.OPEN.value


def _state(ticket: Ticket) -> str:
    """The ``status`` column of a ticket: ``'open'`` for every open state (P4).

    Pending and snoozed tickets are open tickets of their key (T2): the column (and the
    partial unique index on it) says open, and the row's data holds the precise status.
    """
    return _OPEN if ticket.is_open else ticket.status.value


_UPDATE_TICKET = (
    b"UPDATE tickets SET status = %s, contact = %s, data = %s "
    b"WHERE number = %s AND campaign = %s AND customer = %s AND (status = 'open' OR %s)"
)


class PostgresTicketRepository(_UnitOfWorkBase):
    """Tickets, interactions and typifications (a part of
    :class:`~ccdomain.postgres.PostgresUnitOfWork`, not used alone)."""

    def _lock(self, query: bytes) -> bytes:
        return query + b" FOR UPDATE" if self._locking else query

    def _wrote_tickets(self) -> None:
        """This transaction wrote a ticket: its reads of tickets are read again."""
        tx = self._tx
        assert tx is not None
        tx.open_seen.clear()
        tx.lists_seen.clear()

    @_guarded
    def get_or_open_ticket(
        self, campaign: str, customer: str, opener: Callable[[int], Ticket]
    ) -> tuple[Ticket, bool]:
        """The open ticket of (campaign, customer), or a new one numbered by the store (T2, T5)."""
        tx = self._tx
        assert tx is not None
        if self._locking:
            found = self._open_ticket(campaign, customer)
        else:
            found = self._one(_OPEN_SQL, (campaign, customer), Ticket)
        if found is not None:
            return found, False
        number = tx.counters.get(TICKET_COUNTER)
        if number is not None:
            self._wdb()
            number += 1
        else:
            # The counter was not ours: an opening of this key may have committed while
            # we waited for it. The second statement runs once the lock is granted, and
            # sees it (one round trip). The agents the opening is given to, when routing
            # said who, are read with them, locked after the key's ticket (A2, A4).
            statements: list[tuple[bytes, Sequence[Any]]] = [
                (_TAKE_COUNTER, (TICKET_COUNTER,)),
                (self._lock(_OPEN_SQL), (campaign, customer)),
            ]
            agent, queue = self._opening_agents(campaign) if self._locking else (None, None)
            if agent is not None or queue is not None:
                statement = _agents_statement(agent is not None, queue is not None)
                statements.append((statement, _agents_params(agent, queue, [])))
            taken, again, *agents = self._wdb().execute_all(statements)
            number = _counter_value(taken)
            tx.took_ticket_counter(number)
            if agents:
                self._kept_agents(agent, queue, agents[0].fetchone() or ())
            row = again.fetchone()
            if row is not None:
                found = self._load(row[0], Ticket)
                tx.locked[found.number] = (campaign, customer, True)
                tx.open_seen[(campaign, customer)] = found
                return found, False
        ticket = checked_opening(
            opener(number), campaign=campaign, customer=customer, number=number
        )
        # Sent with the next statement: the partial unique index refuses a second open
        # ticket of the key whatever the writer, and no opening of it runs while this
        # transaction holds the counter (a refusal, then, loses the whole transaction).
        self._wdb().defer(
            b"INSERT INTO tickets (number, campaign, customer, status, contact, data) "
            b"VALUES (%s, %s, %s, %s, %s, %s)",
            (ticket.number, campaign, customer, _OPEN, ticket.contact, self._dump(ticket)),
        )
        tx.counters[TICKET_COUNTER] = number
        self._wrote_tickets()
        tx.locked[number] = (campaign, customer, True)
        tx.opened.add(number)
        queue = ticket.queue
        if (
            queue
            and ticket.assignee is None
            and queue not in tx.agents_seen
            and not self._agent_known()
            and self._schema_version >= _AGENTS_VERSION
        ):
            # Routing gives an opened ticket to an agent of its queue next (A2), reading
            # them locked: read with the next statement. The transaction holds the ticket
            # counter, which every opening takes first, so no opening waits longer.
            def keep(result: _Result, queue: str = queue) -> None:
                tx.agents_seen[queue] = [row[0] for row in result]

            tx.agents_seen[queue] = None
            self._db().ahead(_AGENTS_OF_QUEUE + b" FOR UPDATE", (queue,), keep)
        return ticket, True

    def _agent_known(self) -> bool:
        """Whether the agent of an outbound message routing said it opens for
        (``prefetch_opening``) was read and exists: the ticket goes to them (A4), and
        the queue's agents are not read."""
        tx = self._tx
        assert tx is not None
        agent = None if tx.opening is None else tx.opening[0]
        return agent is not None and type(tx.agent_seen.get(agent)) is str

    @_guarded
    def get_open_ticket(self, campaign: str, customer: str) -> Ticket | None:
        """The open ticket of (campaign, customer), or None."""
        if self._locking:
            return self._open_ticket(campaign, customer)
        return self._one(_OPEN_SQL, (campaign, customer), Ticket)

    @_guarded
    def get_ticket(self, number: int) -> Ticket | None:
        """The ticket with that number, or None."""
        found = self._one(
            self._lock(b"SELECT data FROM tickets WHERE number = %s"), (number,), Ticket
        )
        if found is not None and self._locking:
            tx = self._tx
            assert tx is not None
            tx.locked[found.number] = (found.campaign, found.customer, found.is_open)
        return found

    @_guarded
    def update_ticket(self, ticket: Ticket) -> None:
        """Replace the stored ticket with the same number (T3: a closed ticket never reopens)."""
        tx = self._tx
        assert tx is not None
        db = self._wdb()
        key = (ticket.number, ticket.campaign, ticket.customer)
        held = tx.locked.get(ticket.number)
        values = (_state(ticket), ticket.contact, self._dump(ticket), *key, not ticket.is_open)
        self._wrote_tickets()
        if held is not None and held[:2] == key[1:] and (held[2] or not ticket.is_open):
            # A row this transaction holds locked, in a state the update accepts: it
            # cannot be refused, so it goes with the next statement.
            db.defer(_UPDATE_TICKET, values)
            tx.locked[ticket.number] = (ticket.campaign, ticket.customer, ticket.is_open)
            return
        changed = db.execute(_UPDATE_TICKET, values).rowcount
        if changed == 1:
            return
        old = db.execute(
            b"SELECT campaign, customer FROM tickets WHERE number = %s", (ticket.number,)
        ).fetchone()
        if old is None:
            raise UnknownTicket(f"no ticket with number {ticket.number!r}")
        # The update refused it: its key differs, or it reopens a closed ticket (was_open
        # False: the conditional update above accepts every other replacement).
        check_replacement(ticket, campaign=old[0], customer=old[1], was_open=False)
        raise RuleViolation(f"ticket {ticket.number} could not be replaced")  # not reached

    @_guarded
    def rewrite_ticket(self, ticket: Ticket) -> None:
        """Replace the stored ticket with the same number, its customer included (I4)."""
        db = self._wdb()
        self._wrote_tickets()
        tx = self._tx
        assert tx is not None
        tx.locked.pop(ticket.number, None)
        old = db.execute(
            b"SELECT campaign, status FROM tickets WHERE number = %s FOR UPDATE", (ticket.number,)
        ).fetchone()
        if old is None:
            raise UnknownTicket(f"no ticket with number {ticket.number!r}")
        check_replacement(ticket, campaign=old[0], customer=None, was_open=old[1] == _OPEN)
        if ticket.is_open:
            other = db.execute(
                b"SELECT number FROM tickets WHERE campaign = %s AND customer = %s "
                b"AND status = 'open' AND number <> %s",
                (ticket.campaign, ticket.customer, ticket.number),
            ).fetchone()
            if other is not None:
                raise RuleViolation(
                    f"customer {ticket.customer!r} already has an open ticket in campaign "
                    f"{ticket.campaign!r} (T2)"
                )
        db.execute(
            b"UPDATE tickets SET customer = %s, status = %s, contact = %s, data = %s "
            b"WHERE number = %s",
            (
                ticket.customer,
                _state(ticket),
                ticket.contact,
                self._dump(ticket),
                ticket.number,
            ),
        )

    @_guarded
    def list_tickets(self, campaign: str | None = None) -> Sequence[Ticket]:
        """Tickets of a campaign (or all), by number."""
        if campaign is None:
            return self._all(b"SELECT data FROM tickets ORDER BY number", (), Ticket)
        return self._all(
            b"SELECT data FROM tickets WHERE campaign = %s ORDER BY number", (campaign,), Ticket
        )

    @_guarded
    def tickets_for_customer(self, customer: str, campaign: str | None = None) -> Sequence[Ticket]:
        """Tickets of a customer address (in one campaign or all), by number."""
        if campaign is None:
            query = b"SELECT data FROM tickets WHERE customer = %s ORDER BY number"
            tx = self._tx
            assert tx is not None
            default = tx.line_campaign
            line = tx.line_id
            if line is not None and type(customer) is str:
                # The campaign this customer's last message on the line went to, when it
                # was not the default (T6: a conversation goes on where it is open).
                default = self._store._key_guesses.get((line, customer), default)
            if (
                default
                and self._locking
                and type(customer) is str
                and (default, customer) not in tx.open_seen
            ):
                # An inbound message's routing reads the customer's tickets, then the key
                # of the campaign it goes to, most often its line's default or where the
                # customer's last message went: read ahead in the same round trip.
                found = self._read_key(default, customer, (query, (customer,)))
                if line is not None:
                    tx.guessed = (line, customer)
                if found is not None:
                    return [self._load(row[0], Ticket) for row in found]
            return self._all(query, (customer,), Ticket)
        tx = self._tx
        assert tx is not None
        seen = tx.lists_seen.get((customer, campaign))
        if seen is not None:  # read with the key's open ticket, no ticket written since
            return [self._load(text, Ticket) for text in seen]
        return self._all(_KEY_TICKETS, (customer, campaign), Ticket)

    @_guarded
    def open_tickets_for_customer(self, customer: str) -> Sequence[Ticket]:
        """Open tickets of a customer address across campaigns, by number."""
        return self._all(
            b"SELECT data FROM tickets WHERE customer = %s AND status = 'open' ORDER BY number",
            (customer,),
            Ticket,
        )

    @_guarded
    def tickets_for_contact(self, campaign: str, code: str) -> Sequence[Ticket]:
        """Tickets linked to that contact, by number."""
        return self._all(
            b"SELECT data FROM tickets WHERE campaign = %s AND contact = %s ORDER BY number",
            (campaign, code),
            Ticket,
        )

    @_guarded
    def add_interaction(self, interaction: Interaction) -> None:
        """Append a routed interaction to its ticket; RuleViolation on a known external id (T9)."""
        if interaction.ticket is None:
            raise UnknownTicket(
                f"interaction names ticket {interaction.ticket!r}; expected a stored ticket"
            )
        db = self._wdb()
        tx = self._tx
        assert tx is not None
        tx.ids_ahead.clear()  # a lookup made ahead no longer answers for its id
        external_id = interaction.external_id
        if interaction.ticket in tx.locked and (external_id is None or external_id in tx.free_ids):
            # Its ticket is locked by this transaction and its external id was looked up
            # under the id's lock (T9) and found unrecorded: it cannot be refused, so it
            # goes with the next statement (a plain INSERT: were it refused after all, by
            # a writer that skipped the lock, the whole transaction would be lost).
            tx.free_ids.discard(external_id)
            db.defer(
                b"INSERT INTO interactions (ticket, external_id, data) VALUES (%s, %s, %s)",
                (interaction.ticket, external_id, self._dump(interaction)),
            )
            agent = interaction.agent
            if (
                interaction.ticket in tx.opened
                and interaction.direction is Direction.OUTBOUND
                and type(agent) is str
                and agent not in tx.agent_seen
                and self._schema_version >= _AGENTS_VERSION
            ):
                # The agent who reached out is given the ticket they opened next (A4),
                # their state read locked: read with the next statement.
                def keep(result: _Result, agent: str = agent) -> None:
                    row = result.fetchone()
                    tx.agent_seen[agent] = None if row is None else row[0]

                tx.agent_seen[agent] = _PENDING
                db.ahead(_AGENT_BY_ID + b" FOR UPDATE", (agent,), keep)
            return
        # Recorded here, the id is no longer free: a later add of it must be refused at its
        # call, not deferred (T9).
        tx.free_ids.discard(external_id)
        # Refusals change nothing and leave the transaction usable: no failing statement.
        added = db.execute(
            b"INSERT INTO interactions (ticket, external_id, data) "
            b"SELECT %s, %s, %s WHERE EXISTS (SELECT 1 FROM tickets WHERE number = %s) "
            b"ON CONFLICT DO NOTHING",
            (
                interaction.ticket,
                interaction.external_id,
                self._dump(interaction),
                interaction.ticket,
            ),
        ).rowcount
        if added == 1:
            return
        known = db.execute(
            b"SELECT 1 FROM tickets WHERE number = %s", (interaction.ticket,)
        ).fetchone()
        if known is None:
            raise UnknownTicket(
                f"interaction names ticket {interaction.ticket!r}; expected a stored ticket"
            )
        raise RuleViolation(
            f"interaction {interaction.external_id!r} is already recorded; "
            "expected a new external id"
        )

    @_guarded
    def interactions(self, ticket: int) -> Sequence[Interaction]:
        """Interactions of a ticket, in the order added."""
        return self._all(
            b"SELECT data FROM interactions WHERE ticket = %s ORDER BY seq", (ticket,), Interaction
        )

    @_guarded
    def prefetch_interaction(self, external_id: str) -> None:
        """Send :meth:`find_interaction`'s lookup of ``external_id`` (its lock, then the
        lookup) with the next statement (:class:`~ccdomain.ports.InteractionPrefetch`)."""
        tx = self._tx
        assert tx is not None
        if not (self._locking and isinstance(external_id, str)) or external_id in tx.ids_ahead:
            return
        box: list[Any] = [_PENDING]

        def keep(result: _Result) -> None:
            row = result.fetchone()
            box[0] = None if row is None else row[0]

        db = self._db()
        db.ahead(_ID_LOCK, (external_id,), _ignore)
        db.ahead(_ID_LOOKUP, (external_id,), keep)
        tx.ids_ahead[external_id] = box

    @_guarded
    def prefetch_opening(self, *, agent: str | None, queue: str | None) -> None:
        """Read the agents an opening of the key read next is given to, locked, with the
        key's reads (:class:`~ccdomain.ports.OpeningPrefetch`; see ``_open``)."""
        tx = self._tx
        assert tx is not None
        if self._locking:
            tx.opening, tx.opening_by = (agent, queue), self
            # A message's routing starts here and reads its line next, if it has one: the
            # line an earlier message of the transaction read gives this one's ticket no
            # queue (X4), nor its key to guess.
            tx.line_id = tx.line_campaign = None

    @_guarded
    def find_interaction(self, external_id: str) -> Interaction | None:
        """The recorded interaction with that external id, or None (T9)."""
        if not (self._locking and isinstance(external_id, str)):
            return self._one(_ID_LOOKUP, (external_id,), Interaction)
        tx = self._tx
        assert tx is not None
        box = tx.ids_ahead.pop(external_id, None)
        if box is not None:  # looked up ahead (no interaction written since)
            if box[0] is _PENDING:
                self._db().execute_all(())
            text = box[0]
        else:
            # The lock is held to the end of the transaction: another worker handling the
            # same id waits here for this one's commit, then finds what it recorded. One
            # round trip: the lookup runs after the lock is granted, so it sees what was
            # committed by then.
            _, found = self._db().execute_all(
                [(_ID_LOCK, (external_id,)), (_ID_LOOKUP, (external_id,))]
            )
            row = found.fetchone()
            text = None if row is None else row[0]
        if text is None:
            tx.free_ids.add(external_id)
            return None
        return self._load(text, Interaction)

    @_guarded
    def add_typification(self, typification: Typification) -> None:
        """Record a typification (T8; sent with the next statement: nothing refuses it)."""
        self._never_refused(
            b"INSERT INTO typifications (ticket, data) VALUES (%s, %s)",
            (typification.ticket, self._dump(typification)),
        )

    @_guarded
    def typifications(self, ticket: int | None = None) -> Sequence[Typification]:
        """Typifications of a ticket (or all), in the order recorded."""
        if ticket is None:
            return self._all(b"SELECT data FROM typifications ORDER BY seq", (), Typification)
        return self._all(
            b"SELECT data FROM typifications WHERE ticket = %s ORDER BY seq",
            (ticket,),
            Typification,
        )

    @_guarded
    def replace_interactions(self, ticket: int, interactions: Sequence[Interaction]) -> None:
        """Replace the interactions of a ticket one for one, in place (I4)."""
        new = list(interactions)
        seqs = self._seqs("interactions", ticket, "interactions", new)
        db = self._wdb()
        ids = [item.external_id for item in new if item.external_id is not None]
        if len(set(ids)) != len(ids):
            raise RuleViolation(
                f"the replacements of ticket {ticket}'s interactions repeat an external id; "
                "expected each once"
            )
        if ids:
            taken = db.execute(
                b"SELECT external_id FROM interactions WHERE external_id = ANY(%s) "
                b"AND ticket <> %s LIMIT 1",
                (ids, ticket),
            ).fetchone()
            if taken is not None:
                raise RuleViolation(
                    f"interaction {taken[0]!r} is already recorded on another ticket; "
                    "expected a new external id"
                )
        tx = self._tx
        assert tx is not None
        tx.free_ids.difference_update(ids)  # recorded now: no longer free (T9)
        tx.ids_ahead.clear()
        # Ids first cleared, so ids moving between rows of the ticket never collide.
        db.execute(b"UPDATE interactions SET external_id = NULL WHERE ticket = %s", (ticket,))
        with db.cursor() as cur:
            cur.executemany(
                b"UPDATE interactions SET external_id = %s, data = %s WHERE seq = %s",
                [
                    (item.external_id, self._dump(item), seq)
                    for seq, item in zip(seqs, new, strict=True)
                ],
            )

    @_guarded
    def replace_typifications(self, ticket: int, typifications: Sequence[Typification]) -> None:
        """Replace the typification records of a ticket one for one, in place (I4)."""
        new = list(typifications)
        seqs = self._seqs("typifications", ticket, "typifications", new)
        with self._wdb().cursor() as cur:
            cur.executemany(
                b"UPDATE typifications SET data = %s WHERE seq = %s",
                [(self._dump(item), seq) for seq, item in zip(seqs, new, strict=True)],
            )
