"""JSON of the models routing writes on every message, without cattrs (the codec's text).

Routing writes a ticket, an interaction and two events per message (and, with
agents, an agent's state, a waiting ticket and an assignment event): the writers
here give the very text :func:`ccdomain.serialization.to_json` gives (for events,
:func:`ccdomain.event_codec.encode_event`): same keys, order and escapes, a few
times faster. ``tests/test_sqlite_speed.py`` proves the texts identical with
hypothesis for random records, odd values included. Anything unusual in a value
(a bool where an int is expected, a key that is not a string...) goes through
``to_json`` instead, so the stored text always comes from the one codec.

Both database stores write through it (SQLite and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from json.encoder import encode_basestring as _quote
from typing import Any

from ccdomain.event_codec import EVENT_VERSION, encode_event
from ccdomain.events import ContactLinked, Event, InteractionAdded, TicketAssigned, TicketOpened
from ccdomain.models import AgentState, Interaction, PerFamily, Ticket, WaitingTicket
from ccdomain.serialization import to_json


class _Unusual(Exception):
    """A value the fast JSON writers leave to ``to_json``."""


def _int(value: object) -> str:
    if type(value) is not int:
        raise _Unusual
    return str(value)


def _opt_int(value: object) -> str:
    return "null" if value is None else _int(value)


def _opt_str(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def _opt_time(value: dt.datetime | None) -> str:
    return "null" if value is None else _quote(value.isoformat())


def _ticket_json(t: Ticket) -> str:
    last_channel = t.last_channel
    return (
        f'{{"number":{_int(t.number)},"campaign":{_quote(t.campaign)},'
        f'"customer":{_quote(t.customer)},"origin":{_quote(t.origin)},'
        f'"opened_at":{_quote(t.opened_at.isoformat())},"status":{_quote(t.status)},'
        f'"queue":{_quote(t.queue)},"line":{_opt_str(t.line)},"alias":{_quote(t.alias)},'
        f'"contact":{_opt_str(t.contact)},"channels":[{",".join(map(_quote, t.channels))}],'
        f'"labels":[{",".join(map(_quote, t.labels))}],"assignee":{_opt_str(t.assignee)},'
        f'"last_agent":{_opt_str(t.last_agent)},'
        f'"last_activity_at":{_opt_time(t.last_activity_at)},'
        f'"last_channel":{"null" if last_channel is None else _quote(last_channel)},'
        f'"last_action":{_quote(t.last_action)},"interactions":{_int(t.interactions)},'
        f'"closed_at":{_opt_time(t.closed_at)},"closed_by":{_opt_str(t.closed_by)},'
        f'"paused_at":{_opt_time(t.paused_at)},"snoozed_until":{_opt_time(t.snoozed_until)},'
        f'"pending_spans":[{",".join(_span(s) for s in t.pending_spans)}]}}'
    )


def _span(span: tuple[dt.datetime, dt.datetime]) -> str:
    return f"[{_quote(span[0].isoformat())},{_quote(span[1].isoformat())}]"


# Routing writes each interaction twice: its row, then inside its INTERACTION_ADDED event.
# The last text is kept with its (frozen) record so the second write reuses it; one
# tuple, swapped whole, so threads sharing the module never see a mismatched pair.
_last_interaction: tuple[Interaction | None, str] = (None, "")


def _interaction_json(i: Interaction) -> str:
    global _last_interaction
    last = _last_interaction
    if last[0] is i:
        return last[1]
    text = _interaction_text(i)
    _last_interaction = (i, text)
    return text


def _interaction_text(i: Interaction) -> str:
    return (
        f'{{"at":{_quote(i.at.isoformat())},"channel":{_quote(i.channel)},'
        f'"direction":{_quote(i.direction)},"customer":{_quote(i.customer)},'
        f'"external_id":{_opt_str(i.external_id)},"line":{_opt_str(i.line)},'
        f'"campaign":{_opt_str(i.campaign)},"agent":{_opt_str(i.agent)},'
        f'"text":{_opt_str(i.text)},"status":{_opt_str(i.status)},'
        f'"duration_s":{_opt_int(i.duration_s)},"ticket":{_opt_int(i.ticket)}}}'
    )


def _event_json(e: Event) -> str:
    """``encode_event(e)`` for routing's events; the codec writes the others."""
    payload = e.payload
    if type(payload) is InteractionAdded:
        body = (
            f'{{"interaction":{_interaction_json(payload.interaction)},'
            f'"outcome":{_quote(payload.outcome)}}}'
        )
    elif type(payload) is TicketOpened:
        body = (
            f'{{"customer":{_quote(payload.customer)},"origin":{_quote(payload.origin)},'
            f'"queue":{_quote(payload.queue)},"alias":{_quote(payload.alias)},'
            f'"line":{_opt_str(payload.line)}}}'
        )
    elif type(payload) is TicketAssigned:
        body = f'{{"assignee":{_opt_str(payload.assignee)}}}'
    elif type(payload) is ContactLinked:
        body = (
            f'{{"how":{_quote(payload.how)},"customer":{_quote(payload.customer)},'
            f'"merged_from":{_opt_str(payload.merged_from)}}}'
        )
    else:
        return encode_event(e)
    return (
        f'{{"v":{EVENT_VERSION},"kind":{_quote(e.kind)},"at":{_quote(e.at.isoformat())},'
        f'"actor":{_opt_str(e.actor)},"campaign":{_opt_str(e.campaign)},'
        f'"ticket":{_opt_int(e.ticket)},"contact":{_opt_str(e.contact)},'
        f'"payload":{body},"seq":{_opt_int(e.seq)}}}'
    )


def _counts_json(c: PerFamily) -> str:
    if type(c) is not PerFamily:
        raise _Unusual
    return f'{{"digital":{_int(c.digital)},"voice":{_int(c.voice)}}}'


def _agent_state_json(s: AgentState) -> str:
    """The state of an agent (A2): written on every assignment."""
    a = s.agent
    return (
        f'{{"agent":{{"id":{_quote(a.id)},"name":{_quote(a.name)},'
        f'"queues":[{",".join(map(_quote, a.queues))}],"capacity":{_counts_json(a.capacity)}}},'
        f'"presence":{_quote(s.presence)},"open":{_counts_json(s.open)},'
        f'"last_assigned_at":{_opt_time(s.last_assigned_at)},'
        f'"presence_at":{_opt_time(s.presence_at)}}}'
    )


def _waiting_json(w: WaitingTicket) -> str:
    """A waiting ticket (A3): written for every ticket no agent can take."""
    if type(w.vip) is not bool:
        raise _Unusual
    return (
        f'{{"number":{_int(w.number)},"queue":{_quote(w.queue)},"family":{_quote(w.family)},'
        f'"opened_at":{_quote(w.opened_at.isoformat())},"vip":{"true" if w.vip else "false"}}}'
    )


_FAST_JSON: dict[type, Callable[[Any], str]] = {
    Ticket: _ticket_json,
    Interaction: _interaction_json,
    Event: _event_json,
    AgentState: _agent_state_json,
    WaitingTicket: _waiting_json,
}


def _json(obj: Any) -> str:
    """``to_json(obj)``, written directly for tickets, interactions and events."""
    fast = _FAST_JSON.get(type(obj))
    if fast is not None:
        try:
            return fast(obj)
        except (_Unusual, TypeError, AttributeError):
            pass
    return to_json(obj)
