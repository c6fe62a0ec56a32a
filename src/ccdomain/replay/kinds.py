"""The line types of the event format: each one's fields, handler and events (R2, R6).

Part of :mod:`ccdomain.replay`, which exports :data:`EVENT_TYPES` and
:data:`LINE_EVENTS`. One table, :data:`LINE_KINDS`, says for every line type which
fields it may carry (R2: any other is refused, keys starting with ``_`` excepted),
which function applies it, and which event kinds it may record (R6: every type of
the contract goes through the library's services; docs/events.md lists the same).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

import attrs

from ccdomain.events import EventKind
from ccdomain.replay.agents import on_agent, on_assign, on_presence
from ccdomain.replay.closing import on_closing, on_link
from ccdomain.replay.collections import (
    on_cancel_promise,
    on_payment,
    on_product,
    on_promise,
    on_reverse_payment,
)
from ccdomain.replay.contact_policy import on_opt
from ccdomain.replay.contacts import CONTACT_INPUTS, on_contact
from ccdomain.replay.identities import on_anonymize, on_block, on_comment, on_merge
from ccdomain.replay.interactions import on_interaction
from ccdomain.replay.lines import LineContext
from ccdomain.replay.outcomes import Outcome
from ccdomain.replay.setup import CAMPAIGN_INPUTS, on_campaign, on_line
from ccdomain.replay.states import on_pending, on_snooze

__all__ = ["EVENT_TYPES", "LINE_EVENTS", "LINE_KINDS", "LineKind"]


@attrs.frozen
class LineKind:
    """A line type: the function applying it, its fields, the event kinds it may record."""

    apply: Callable[[LineContext], Outcome]
    fields: frozenset[str]
    records: frozenset[EventKind]


def _kind(
    apply: Callable[[LineContext], Outcome], fields: tuple[str, ...], *records: EventKind
) -> LineKind:
    return LineKind(apply, frozenset({"type", *fields}), frozenset(records))


_K = EventKind
_CLOSE: Final = ("ticket", "campaign", "customer", "agent", "at")
_BLOCK: Final = ("campaign", "customer", "agent", "at")
_OPT: Final = ("campaign", "customer", "channel", "agent", "at")

LINE_KINDS: Final[Mapping[str, LineKind]] = {
    "campaign": _kind(on_campaign, ("id", *CAMPAIGN_INPUTS, "agent", "at"), _K.CAMPAIGN_DECLARED),
    "line": _kind(
        on_line,
        ("id", "channel", "address", "alias", "campaign", "queue", "agent", "at", "queues"),
        _K.LINE_DECLARED,
    ),
    "contact": _kind(on_contact, ("campaign", *CONTACT_INPUTS, "agent", "at"), _K.CONTACT_CREATED),
    "interaction": _kind(
        on_interaction,
        (
            "id",
            "at",
            "channel",
            "direction",
            "line",
            "campaign",
            "customer",
            "agent",
            "text",
            "status",
            "duration_s",
            "queue",
            "template",
            "params",
            "tag",
        ),
        _K.TICKET_OPENED,
        _K.INTERACTION_ADDED,
        _K.CONTACT_LINKED,
        _K.INTERACTION_REFUSED,
        _K.TICKET_RESOLVED,  # P3: the key's ticket due for auto-resolve, resolved first
        _K.OPTED_OUT,
    ),
    "resolve": _kind(on_closing, _CLOSE, _K.TICKET_RESOLVED),
    "typify": _kind(on_closing, (*_CLOSE, "path", "comment"), _K.TICKET_TYPIFIED),
    "cancel": _kind(on_closing, _CLOSE, _K.TICKET_CANCELLED),
    "link": _kind(
        on_link,
        ("ticket", "campaign", "customer", "contact", "agent", "at", "from_campaign"),
        _K.CONTACT_LINKED,
        _K.CONTACT_CREATED,
    ),
    "product": _kind(
        on_product,
        ("id", "campaign", "contact", "kind", "currency", "debt", "due", "installments", "at"),
        _K.PRODUCT_DECLARED,
    ),
    "payment": _kind(
        on_payment, ("id", "product", "amount", "date", "status", "at"), _K.PAYMENT_RECORDED
    ),
    "promise": _kind(
        on_promise,
        (
            "id",
            "product",
            "agent",
            "made_on",
            "campaign",
            "customer",
            "ticket",
            "installments",
            "at",
        ),
        _K.PROMISE_MADE,
    ),
    "reverse_payment": _kind(on_reverse_payment, ("id", "at", "agent"), _K.PAYMENT_REVERSED),
    "cancel_promise": _kind(on_cancel_promise, ("id", "agent", "at"), _K.PROMISE_CANCELLED),
    "merge": _kind(
        on_merge,
        ("campaign", "into", "from", "agent", "at"),
        _K.CONTACTS_MERGED,
        _K.CONTACT_LINKED,
    ),
    "comment": _kind(on_comment, ("ticket", "agent", "at", "text"), _K.COMMENT_ADDED),
    "block": _kind(on_block, _BLOCK, _K.IDENTITY_BLOCKED),
    "unblock": _kind(on_block, _BLOCK, _K.IDENTITY_UNBLOCKED),
    "anonymize": _kind(on_anonymize, ("campaign", "contact", "agent", "at"), _K.CONTACT_ANONYMIZED),
    # ap: ticket states (P1, P2).
    "pending": _kind(on_pending, _CLOSE, _K.TICKET_PENDING),
    "snooze": _kind(on_snooze, (*_CLOSE, "until"), _K.TICKET_SNOOZED),
    # ap: assignment (A1, A4, A5); each may give waiting tickets to an agent (A3).
    "agent": _kind(
        on_agent,
        ("id", "name", "queues", "capacity", "by", "at"),
        _K.AGENT_DECLARED,
        _K.TICKET_ASSIGNED,
    ),
    "presence": _kind(
        on_presence, ("agent", "status", "at"), _K.PRESENCE_CHANGED, _K.TICKET_ASSIGNED
    ),
    "assign": _kind(on_assign, (*_CLOSE, "by"), _K.TICKET_ASSIGNED),
    "opt_out": _kind(on_opt, _OPT, _K.OPTED_OUT),
    "opt_in": _kind(on_opt, _OPT, _K.OPTED_IN),
}
"""Every line type of the format, in the order docs/events.md presents them."""

EVENT_TYPES: Final[tuple[str, ...]] = tuple(LINE_KINDS)
"""Every event type of the format (docs/events.md)."""

LINE_EVENTS: Final[Mapping[str, frozenset[EventKind]]] = {
    name: kind.records for name, kind in LINE_KINDS.items()
}
"""The event kinds each line type (a command of the format) may record (docs/events.md).

A line is a command; what the services record for it are events. An ``anonymize``
line also rewrites the personal values of earlier events in place (I4).
"""
