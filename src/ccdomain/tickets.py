"""Tickets: routing of interactions, closing, typifications and the ticket views (T1-T19).

The public module of the tickets family: it re-exports the rules and services
below, and keeps the names and call shapes from before the API convention
working until 1.0 (each warns with a :class:`DeprecationWarning`). Where each
part lives, with the rules it holds:

- :mod:`ccdomain.rules.tickets`: customer addresses (T1), the typification tree
  (T8, T14), ticket changes (T3, T7, T15, T16), events and the rebuild (T11).
- :mod:`ccdomain.rules.routing`: which campaign and ticket an interaction goes
  to (T6, T10, T12, T13), blocked identities (I3).
- :mod:`ccdomain.services.routing`: :func:`route_interaction`, the entry point
  for a message or a call (T1-T6, T9, T10, M4, I3).
- :mod:`ccdomain.services.ticket_actions`: resolve, typify, cancel, label and
  assign a ticket (T3, T8, T16, I2).
- :mod:`ccdomain.rules.states`, :mod:`ccdomain.services.states` and
  :mod:`ccdomain.services.auto_resolve`: pending and snoozed tickets, auto-resolve
  and a ticket as of an instant (P1-P7).
- :mod:`ccdomain.services.links`: :func:`link_ticket`, the manual link (M4, T19).
- :mod:`ccdomain.services.ticket_views`: a contact's Typifications and History
  tabs, an agent's ticket list (T8, T17).
- :mod:`ccdomain.services.channels`: send a message or a template, place a call
  (K6, I3, T18).

Deprecated names: ``set_labels`` (use :func:`label_ticket`), ``link_ticket_contact``
(:func:`link_ticket`), ``typification_rows`` (:func:`contact_typifications`),
``history_rows`` (:func:`contact_history`), ``agent_ticket_list``
(:func:`agent_tickets`). Deprecated call shapes: positional arguments after the
store of :func:`cancel_ticket`, :func:`assign_ticket` and the channel services'
``channel_port``; unpacking :func:`typify_ticket`'s :class:`TypifyResult` as a pair.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ccdomain._deprecation import deprecated_alias
from ccdomain.models import Interaction, RouteOutcome, Ticket, Typification
from ccdomain.rules.states import OPEN_STATES, SYSTEM, auto_resolve_at, ticket_as_of
from ccdomain.rules.tickets import (
    PHONE_CHANNELS,
    TypificationTree,
    describe_interaction,
    last_action,
    normalize_customer,
    rebuild_tickets,
    rebuild_typifications,
)
from ccdomain.services.auto_resolve import resolve_if_due, sweep_auto_resolve
from ccdomain.services.channels import place_call, send_message, send_template
from ccdomain.services.links import link_ticket
from ccdomain.services.routing import RouteResult, route_interaction
from ccdomain.services.states import mark_pending, snooze_ticket
from ccdomain.services.ticket_actions import (
    TypifyResult,
    assign_ticket,
    cancel_ticket,
    label_ticket,
    resolve_ticket,
    typify_ticket,
)
from ccdomain.services.ticket_views import (
    CallDetail,
    HistoryRow,
    MessageDetail,
    TicketListItem,
    TypificationRow,
    agent_tickets,
    contact_history,
    contact_typifications,
)

__all__ = [
    "OPEN_STATES",
    "PHONE_CHANNELS",
    "SYSTEM",
    "CallDetail",
    "HistoryRow",
    "Interaction",
    "MessageDetail",
    "RouteOutcome",
    "RouteResult",
    "Ticket",
    "TicketListItem",
    "Typification",
    "TypificationRow",
    "TypificationTree",
    "TypifyResult",
    "agent_ticket_list",
    "agent_tickets",
    "assign_ticket",
    "auto_resolve_at",
    "cancel_ticket",
    "contact_history",
    "contact_typifications",
    "describe_interaction",
    "history_rows",
    "label_ticket",
    "last_action",
    "link_ticket",
    "link_ticket_contact",
    "mark_pending",
    "normalize_customer",
    "place_call",
    "rebuild_tickets",
    "rebuild_typifications",
    "resolve_if_due",
    "resolve_ticket",
    "route_interaction",
    "send_message",
    "send_template",
    "set_labels",
    "snooze_ticket",
    "sweep_auto_resolve",
    "ticket_as_of",
    "typification_rows",
    "typify_ticket",
]

# --- deprecated names (removed in 1.0) ---------------------------------------------------------

set_labels = deprecated_alias(
    label_ticket, "set_labels", positional=("number", "labels", "agent", "at")
)
link_ticket_contact = deprecated_alias(
    link_ticket,
    "link_ticket_contact",
    positional=("number", "campaign", "contact", "agent", "at"),
    renamed={"code": "contact"},
)


def _as_list(view: Callable[..., Iterable[Any]]) -> Callable[..., list[Any]]:
    """The view returning a list, as the old views did."""
    return lambda store, **kw: list(view(store, **kw))


def _old_contact_rows(view: Callable[..., Iterable[Any]], old_name: str) -> Callable[..., Any]:
    """An old per-contact view: ``(store, campaign, code)`` or ``contact_code=``; a list."""
    return deprecated_alias(
        view,
        old_name,
        positional=("campaign", "code"),
        renamed={"contact_code": "code"},
        adapt=_as_list(view),
    )


typification_rows = _old_contact_rows(contact_typifications, "typification_rows")
history_rows = _old_contact_rows(contact_history, "history_rows")
agent_ticket_list = deprecated_alias(
    agent_tickets, "agent_ticket_list", positional=("agent",), adapt=_as_list(agent_tickets)
)
