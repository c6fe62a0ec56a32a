"""Case comments (I2, I6): added, never edited or deleted.

- I2 :func:`add_comment`; :func:`edit_comment` and :func:`delete_comment` exist
  only to refuse (:class:`~ccdomain.errors.CommentImmutable`). Cancelling a case
  (:func:`ccdomain.tickets.cancel_ticket`) removes its comments.
- I6 A comment is free text (not blank, at most 10,000 characters, line breaks
  and tabs allowed, no other control characters) by a named agent, at a time not
  before the case opened. Resolved and typified cases still take comments (a
  follow-up note); a cancelled case does not (its comments were removed), nor does
  a case of an anonymized contact. The ``COMMENT_ADDED`` event records the
  comment's seq and length, never its text, so cancelling a case really removes
  the text from the store.
"""

from __future__ import annotations

import datetime as dt
from typing import NoReturn

from ccdomain import checks
from ccdomain.errors import CommentImmutable, RuleViolation, TicketClosed, UnknownTicket
from ccdomain.errors import show as _show
from ccdomain.events import CommentAdded, EventKind
from ccdomain.models import Comment, TicketStatus
from ccdomain.ports import Store
from ccdomain.rules.tickets import ticket_event
from ccdomain.services._common import recorder

__all__ = ["add_comment", "delete_comment", "edit_comment"]


def add_comment(store: Store, *, ticket: int, agent: str, at: dt.datetime, text: str) -> Comment:
    """Add a comment to a case (I2, I6); it can never be edited or deleted.

    Returns the comment as stored (its ``seq`` set). Records a ``COMMENT_ADDED``
    event with the seq and length of the text.

    Raises:
        UnknownTicket: no such ticket.
        TicketClosed: the case was cancelled (its comments were removed).
        RuleViolation: a bad agent, time (naive, or before the case opened) or text,
            or a case of an anonymized contact.
    """
    number = checks.ticket_number(ticket, "ticket number", UnknownTicket)
    who = checks.agent(agent)
    when = checks.aware(at)
    body = checks.text(text, "comment text", limit=checks.COMMENT_MAX, required=True)
    with store.unit_of_work() as uow:
        found = uow.get_ticket(number)
        if found is None:
            raise UnknownTicket(f"ticket {number} does not exist; expected a ticket number")
        if found.status is TicketStatus.CANCELLED:
            raise TicketClosed(
                f"ticket {number} was cancelled; a cancelled case takes no comments (I2)"
            )
        if when < found.opened_at:
            raise RuleViolation(
                f"comment time {when.isoformat()} is before ticket {number} opened at "
                f"{found.opened_at.isoformat()}"
            )
        if found.contact is not None:
            owner = uow.get_contact(found.campaign, found.contact)
            if owner is not None and owner.anonymized:
                raise RuleViolation(
                    f"ticket {number} belongs to an anonymized contact: it takes no comments (I4)"
                )
        stored = uow.add_comment(Comment(ticket=number, at=when, agent=who, text=body))
        added = CommentAdded(comment_seq=stored.seq, length=len(body))
        recorder(uow)(ticket_event(EventKind.COMMENT_ADDED, found, who, when, added))
        uow.commit()
    return stored


def _immutable(action: str, ticket: object, seq: object) -> CommentImmutable:
    return CommentImmutable(
        f"comment {_show(seq)} of ticket {_show(ticket)} cannot be {action}: case comments "
        "are never edited or deleted; they go only when the case is cancelled (I2)"
    )


def edit_comment(
    store: Store,
    *,
    ticket: object,
    seq: object,
    text: object = None,
    agent: object = None,
    at: object = None,
) -> NoReturn:
    """Refuse to edit a case comment: comments are never edited (I2). Nothing is written.

    Raises:
        CommentImmutable: always, naming the comment.
    """
    raise _immutable("edited", ticket, seq)


def delete_comment(
    store: Store, *, ticket: object, seq: object, agent: object = None, at: object = None
) -> NoReturn:
    """Refuse to delete a case comment: only cancelling the case removes them (I2).

    Raises:
        CommentImmutable: always, naming the comment.
    """
    raise _immutable("deleted", ticket, seq)
