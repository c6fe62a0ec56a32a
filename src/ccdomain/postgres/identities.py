"""The PostgreSQL store's identity repository: case comments and blocks (I2, I3, I4).

* I2 - comments get increasing ``seq`` from the ``comment`` counter row, taken in the
  unit of work (a rolled-back comment gives its seq back; a committed one is never
  reused, even after a cancelled case's comments are deleted); never edited.
* I3 - blocks are keyed by (campaign, customer).
* I4 - ``replace_comments`` is the anonymization's one-for-one rewrite.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ccdomain.errors import RuleViolation
from ccdomain.models import Block, Comment
from ccdomain.postgres.connection import _guarded, _UnitOfWorkBase
from ccdomain.postgres.contact_policy import _SINCE as _POLICY_SINCE

_COMMENT_COUNTER = "comment"

# What routing reads of a (campaign, customer) besides its open ticket, in one row: the
# key's tickets, its block, its opt-outs (channels and data, by channel) and the live
# contacts indexed under the customer's E.164 number (see ``get_block``).
_AHEAD = (
    b"SELECT ARRAY(SELECT data FROM tickets WHERE customer = %s AND campaign = %s "
    b"ORDER BY number), (SELECT data FROM blocks WHERE campaign = %s AND customer = %s)"
)
_AHEAD_OPT_OUTS = (
    b", ARRAY(SELECT channel FROM opt_outs WHERE campaign = %s AND customer = %s "
    b"ORDER BY channel), ARRAY(SELECT data FROM opt_outs WHERE campaign = %s "
    b"AND customer = %s ORDER BY channel)"
)
_AHEAD_PHONES = (
    b", ARRAY(SELECT c.data FROM phone_index AS p "
    b"JOIN contacts AS c ON c.campaign = p.campaign AND c.code = p.code "
    b"WHERE p.kind = 0 AND p.key = %s ORDER BY p.id)"
)


class PostgresIdentityRepository(_UnitOfWorkBase):
    """Case comments and blocked identities (a part of
    :class:`~ccdomain.postgres.PostgresUnitOfWork`, not used alone)."""

    @_guarded
    def add_comment(self, comment: Comment) -> Comment:
        """Record a comment, returning it with its seq set (never reused, even after delete)."""
        stored = attrs.evolve(comment, seq=self._next(_COMMENT_COUNTER))
        self._wdb().execute(
            b"INSERT INTO comments (seq, ticket, data) VALUES (%s, %s, %s)",
            (stored.seq, stored.ticket, self._dump(stored)),
        )
        return stored

    @_guarded
    def comments(self, ticket: int) -> Sequence[Comment]:
        """Comments of a ticket, in the order added."""
        return self._all(
            b"SELECT data FROM comments WHERE ticket = %s ORDER BY seq", (ticket,), Comment
        )

    @_guarded
    def delete_comments(self, ticket: int) -> None:
        """Remove the comments of a ticket."""
        self._wdb().execute(b"DELETE FROM comments WHERE ticket = %s", (ticket,))

    @_guarded
    def put_block(self, block: Block) -> None:
        """Block an identity in a campaign (replacing an existing block)."""
        self._wdb().execute(
            b"INSERT INTO blocks (campaign, customer, data) VALUES (%s, %s, %s) "
            b"ON CONFLICT (campaign, customer) DO UPDATE SET data = excluded.data",
            (block.campaign, block.customer, self._dump(block)),
        )

    @_guarded
    def remove_block(self, campaign: str, customer: str) -> None:
        """Unblock an identity (no-op when not blocked)."""
        self._wdb().execute(
            b"DELETE FROM blocks WHERE campaign = %s AND customer = %s", (campaign, customer)
        )

    @_guarded
    def get_block(self, campaign: str, customer: str) -> Block | None:
        """The block of an identity in a campaign, or None."""
        query = b"SELECT data FROM blocks WHERE campaign = %s AND customer = %s"
        tx = self._tx
        assert tx is not None
        if not (
            self._locking
            and type(campaign) is str
            and type(customer) is str
            and (campaign, customer) not in tx.open_seen
        ):
            return self._one(query, (campaign, customer), Block)
        # Routing reads a block, then the key's open ticket (T2), its opt-outs (W3, when
        # outbound) and the contacts of its number (M4, when the ticket has none): all in
        # one round trip, two statements (the lock, then the rest), each kept for the rest of
        # the transaction.
        query, params = _AHEAD, [customer, campaign, campaign, customer]
        policy = self._store.schema_version >= _POLICY_SINCE
        if policy:
            query += _AHEAD_OPT_OUTS
            params += (campaign, customer, campaign, customer)
        phone = customer.startswith("+")
        if phone:
            query += _AHEAD_PHONES
            params.append(customer)
        _, block, *rest = self._open(campaign, customer, (query, params))
        if policy:
            channels, texts = rest.pop(0), rest.pop(0)
            tx.opt_outs_seen[(campaign, customer)] = dict(zip(channels, texts, strict=True))
        if phone:
            tx.phones_seen[customer] = rest[0]
        return None if block is None else self._load(block, Block)

    @_guarded
    def replace_comments(self, ticket: int, comments: Sequence[Comment]) -> None:
        """Replace the comments of a ticket one for one, keeping their seq (I4)."""
        new = list(comments)
        seqs = self._seqs("comments", ticket, "comments", new)
        for seq, item in zip(seqs, new, strict=True):
            if item.seq != seq:
                raise RuleViolation(
                    f"comment {item.seq!r} of ticket {ticket} is not comment {seq!r}; "
                    "expected the comments in their order with their seq"
                )
        with self._wdb().cursor() as cur:
            cur.executemany(
                b"UPDATE comments SET data = %s WHERE seq = %s",
                [(self._dump(c), c.seq) for c in new],
            )
