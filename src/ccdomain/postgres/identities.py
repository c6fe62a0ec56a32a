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

_COMMENT_COUNTER = "comment"


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

    def _wrote_blocks(self) -> None:
        tx = self._tx
        assert tx is not None
        tx.blocks_seen.clear()

    @_guarded
    def put_block(self, block: Block) -> None:
        """Block an identity in a campaign (replacing an existing block)."""
        self._wrote_blocks()
        self._wdb().execute(
            b"INSERT INTO blocks (campaign, customer, data) VALUES (%s, %s, %s) "
            b"ON CONFLICT (campaign, customer) DO UPDATE SET data = excluded.data",
            (block.campaign, block.customer, self._dump(block)),
        )

    @_guarded
    def remove_block(self, campaign: str, customer: str) -> None:
        """Unblock an identity (no-op when not blocked)."""
        self._wrote_blocks()
        self._wdb().execute(
            b"DELETE FROM blocks WHERE campaign = %s AND customer = %s", (campaign, customer)
        )

    @_guarded
    def get_block(self, campaign: str, customer: str) -> Block | None:
        """The block of an identity in a campaign, or None."""
        tx = self._tx
        assert tx is not None
        key = (campaign, customer)
        if key not in tx.blocks_seen:
            if not (
                self._locking
                and type(campaign) is str
                and type(customer) is str
                and key not in tx.open_seen
            ):
                return self._one(
                    b"SELECT data FROM blocks WHERE campaign = %s AND customer = %s", key, Block
                )
            # Routing reads a block, then the key's open ticket (T2), its opt-outs (W3,
            # when outbound) and the contacts of its number (M4, when the ticket has none).
            self._read_key(campaign, customer)
        block = tx.blocks_seen[key]
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
