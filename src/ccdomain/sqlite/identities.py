"""The SQLite store's identity repository: case comments and blocks (I2, I3, I4).

* I2 - comments get increasing ``seq`` from a counter, taken in the unit of work
  (a rolled-back comment gives its seq back; a committed one is never reused, even
  after a cancelled case's comments are deleted); they are never edited.
* I3 - blocks are keyed by (campaign, customer). Most stores block nobody: while
  the table is empty one look at it answers every lookup.
* I4 - ``replace_comments`` is the anonymization's one-for-one rewrite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import attrs

from ccdomain.errors import RuleViolation
from ccdomain.models import Block, Comment
from ccdomain.serialization import to_json
from ccdomain.sqlite.connection import _guarded, _UnitOfWorkBase

_COMMENT_COUNTER = "comment"


class SqliteIdentityRepository(_UnitOfWorkBase):
    """Case comments and blocked identities (a part of
    :class:`~ccdomain.sqlite.SqliteUnitOfWork`, not used alone)."""

    @_guarded
    def add_comment(self, comment: Comment) -> Comment:
        """Record a comment, returning it with its seq set (never reused, even after delete)."""
        stored = attrs.evolve(comment, seq=self._next(_COMMENT_COUNTER))
        db = self._wdb()
        db.execute(
            "INSERT INTO comments (seq, ticket, data) VALUES (?, ?, ?)",
            (stored.seq, stored.ticket, to_json(stored)),
        )
        return stored

    @_guarded
    def comments(self, ticket: int) -> Sequence[Comment]:
        """Comments of a ticket, in the order added."""
        return self._all(
            "SELECT data FROM comments WHERE ticket = ? ORDER BY seq", (ticket,), Comment
        )

    @_guarded
    def delete_comments(self, ticket: int) -> None:
        """Remove the comments of a ticket."""
        self._wdb().execute("DELETE FROM comments WHERE ticket = ?", (ticket,))

    @_guarded
    def put_block(self, block: Block) -> None:
        """Block an identity in a campaign (replacing an existing block)."""
        self._forget(("blocks", block.campaign, block.customer))
        self._wdb().execute(
            "INSERT INTO blocks (campaign, customer, data) VALUES (?, ?, ?) "
            "ON CONFLICT (campaign, customer) DO UPDATE SET data = excluded.data",
            (block.campaign, block.customer, to_json(block)),
        )
        if self._conn is not None:
            self._conn.blocks_empty = False

    @_guarded
    def remove_block(self, campaign: str, customer: str) -> None:
        """Unblock an identity (no-op when not blocked)."""
        self._forget(("blocks", campaign, customer))
        self._wdb().execute(
            "DELETE FROM blocks WHERE campaign = ? AND customer = ?", (campaign, customer)
        )
        if self._conn is not None:
            self._conn.blocks_empty = None

    @_guarded
    def get_block(self, campaign: str, customer: str) -> Block | None:
        """The block of an identity in a campaign, or None."""
        db = self._db()
        conn = self._conn
        plain = type(campaign) is str and type(customer) is str
        reads = None if conn is None or not conn.active or not plain else conn.reads
        if reads is not None and conn is not None:
            # Most stores block nobody: one look at the table answers every lookup.
            if conn.blocks_empty is None:
                ((last,),) = db.execute("SELECT max(campaign) FROM blocks").fetchall()
                conn.blocks_empty = last is None
                if conn.blocks_empty:
                    return None
            elif conn.blocks_empty:
                return None
        key = ("blocks", campaign, customer)
        if reads is not None and key in reads:
            return cast(Block | None, reads[key])
        row = db.execute(
            "SELECT data FROM blocks WHERE campaign = ? AND customer = ?", (campaign, customer)
        ).fetchone()
        found = None if row is None else self._load(row[0], Block)
        if reads is not None:
            reads[key] = found
        return found

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
        self._wdb().executemany(
            "UPDATE comments SET data = ? WHERE seq = ?", [(to_json(c), c.seq) for c in new]
        )
