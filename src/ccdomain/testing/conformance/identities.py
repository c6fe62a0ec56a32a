"""Conformance of the identity repository: case comments and blocks (I2, I3, I4)."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given

from ccdomain.errors import (
    RuleViolation,
)
from ccdomain.models import (
    Block,
    Comment,
)
from ccdomain.testing import strategies as cst
from ccdomain.testing.conformance.case import (
    AT,
    OTHER_PHONE,
    PHONE,
    StoreCase,
    _properties,
)

__all__ = ["IdentityRepositoryConformance"]


class IdentityRepositoryConformance(StoreCase):
    """Case comments (I2) and blocked identities (I3)."""

    def _comment_twice_on_1_once_on_2(self) -> tuple[Comment, Comment, Comment]:
        """Ticket 1's first comment, ticket 2's, ticket 1's second: added in that order."""
        with self.uow() as uow:
            a1 = uow.add_comment(Comment(ticket=1, at=AT, agent="ana", text="José llamó"))
            b1 = uow.add_comment(Comment(ticket=2, at=AT, agent="ana", text="otro"))
            a2 = uow.add_comment(Comment(ticket=1, at=AT, agent="luis", text="dos"))
            uow.commit()
        return a1, b1, a2

    def test_I2_comments_get_increasing_seq_in_order_added(self) -> None:
        a1, b1, a2 = self._comment_twice_on_1_once_on_2()
        assert a1.seq is not None and b1.seq is not None and a2.seq is not None
        assert a1.seq < b1.seq < a2.seq
        first = Comment(ticket=1, at=AT, agent="ana", text="José llamó")
        assert attrs.evolve(a1, seq=None) == first
        with self.uow() as uow:
            assert list(uow.comments(1)) == [a1, a2]
            assert list(uow.comments(2)) == [b1]
            assert uow.comments(3) == []

    def test_I2_comments_removed_only_by_delete_comments(self) -> None:
        with self.uow() as uow:
            first = uow.add_comment(Comment(ticket=1, at=AT, agent="ana", text="uno"))
            kept = uow.add_comment(Comment(ticket=2, at=AT, agent="ana", text="otro"))
            uow.delete_comments(1)
            uow.delete_comments(99)  # nothing to delete: no error
            uow.commit()
        with self.uow() as uow:
            assert uow.comments(1) == []
            assert list(uow.comments(2)) == [kept]
            again = uow.add_comment(Comment(ticket=1, at=AT, agent="ana", text="nuevo"))
            uow.commit()
        assert again.seq is not None and kept.seq is not None and first.seq is not None
        assert again.seq > kept.seq > first.seq

    def test_I2_T5_a_rolled_back_comment_gives_its_seq_back(self) -> None:
        comment = Comment(ticket=1, at=AT, agent="ana", text="uno")
        with self.uow() as uow:
            first = uow.add_comment(comment).seq
            uow.commit()
        assert first is not None
        with self.uow() as uow:  # left without commit
            assert uow.add_comment(comment).seq == first + 1
        with self.uow() as uow:
            with self.uow() as nested:  # a savepoint rolled back
                assert nested.add_comment(comment).seq == first + 1
            kept = uow.add_comment(comment)
            uow.commit()
        assert kept.seq == first + 1
        with self.uow() as uow:
            assert list(uow.comments(1)) == [attrs.evolve(comment, seq=first), kept]

    def test_I3_blocks_put_replace_get_remove(self) -> None:
        block = Block(campaign="ventas", customer=PHONE, at=AT, agent="sup1")
        with self.uow() as uow:
            assert uow.get_block("ventas", PHONE) is None
            uow.put_block(block)
            uow.put_block(attrs.evolve(block, agent="sup2"))
            uow.put_block(Block(campaign="soporte", customer=PHONE, at=AT))
            uow.commit()
        with self.uow() as uow:
            assert uow.get_block("ventas", PHONE) == attrs.evolve(block, agent="sup2")
            assert uow.get_block("ventas", OTHER_PHONE) is None
            uow.remove_block("ventas", PHONE)
            uow.remove_block("ventas", OTHER_PHONE)  # not blocked: no-op
            uow.commit()
        with self.uow() as uow:
            assert uow.get_block("ventas", PHONE) is None
            assert uow.get_block("soporte", PHONE) is not None

    def test_I4_replace_comments_keeps_seq_and_count(self) -> None:
        a1, b1, a2 = self._comment_twice_on_1_once_on_2()
        blank = [attrs.evolve(a1, text="[x]"), attrs.evolve(a2, text="[x]")]
        with self.uow() as uow:
            with pytest.raises(RuleViolation, match="2 comments"):
                uow.replace_comments(1, blank[:1])
            with pytest.raises(RuleViolation, match="seq"):
                uow.replace_comments(1, [blank[1], blank[0]])
            uow.replace_comments(1, blank)
            uow.replace_comments(3, [])  # nothing held, nothing given: fine
            uow.commit()
        with self.uow() as uow:
            assert list(uow.comments(1)) == blank
            assert list(uow.comments(2)) == [b1]
            assert uow.comments(3) == []

    @_properties
    @given(comment=cst.comments(), block=cst.blocks())
    def test_I2_I3_comment_and_block_round_trip(self, comment: Comment, block: Block) -> None:
        with self.uow() as uow:
            stored = uow.add_comment(comment)
            uow.put_block(block)
            uow.commit()
        assert attrs.evolve(stored, seq=comment.seq) == comment
        with self.uow() as uow:
            assert uow.comments(comment.ticket)[-1] == stored
            assert uow.get_block(block.campaign, block.customer) == block
