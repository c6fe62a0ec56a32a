"""The one codec of stored events: versioned JSON, and the upcaster of version 2.

A stored event is a JSON object: the schema version ``"v"``, the event's fields,
and its payload written by :mod:`ccdomain.serialization` (the same converter as
every model, so the :class:`~ccdomain.models.Interaction` inside an
``interaction_added`` event is written as an interaction is anywhere else)::

    {"v":3,"kind":"ticket_assigned","at":"2026-11-20T10:14:00-05:00","actor":"sup1",
     "campaign":"ventas","ticket":10,"contact":null,"payload":{"assignee":"luis"},"seq":100}

Versions (the number continues the SQLite schema version that introduced it):

- 2 (no ``"v"`` key): ``"data"``, a dict of strings, lists inside it as JSON text
  (labels, typification paths) or joined by commas (contact fields, merged
  tickets, products and conflicts), an interaction's fields spread over the
  event and its data. :func:`upcast_v2` turns it into version 3, the way
  pyeventsourcing's ``Mapper`` upcasts old stored events; a key the library
  never wrote, or a value it could not have written, is refused rather than
  dropped.
- 3: ``"payload"``, the typed payload of :mod:`ccdomain.events`.

An event of a version newer than :data:`EVENT_VERSION` is refused.

API: :func:`encode_event` / :func:`decode_event` (text), :func:`event_to_dict` /
:func:`event_from_dict` (JSON-ready dicts), :func:`upcast_v2`, and
:func:`legacy_data`, the version-2 ``data`` of an event (what the deprecated
``Event.data`` returns).

    >>> import datetime as dt
    >>> from ccdomain.events import Event, EventKind, TicketAssigned
    >>> event = Event(kind=EventKind.TICKET_ASSIGNED, at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
    ...               ticket=10, payload=TicketAssigned(assignee="luis"))
    >>> decode_event(encode_event(event)) == event
    True
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from ccdomain import events as ev
from ccdomain._converter import structure, unstructure
from ccdomain.errors import InvalidData, show
from ccdomain.events import PAYLOAD_TYPES, Event, EventKind, Payload

__all__ = [
    "EVENT_VERSION",
    "decode_event",
    "encode_event",
    "event_from_dict",
    "event_to_dict",
    "legacy_data",
    "upcast_v2",
]

EVENT_VERSION: Final = 3
"""The version of the stored events this ccdomain writes (their ``"v"`` key)."""

_LEGACY_VERSION: Final = 2


@attrs.frozen(kw_only=True)
class _Stored:
    """A stored event of the current version, its payload not yet read."""

    v: int
    kind: EventKind
    at: dt.datetime
    actor: str | None = None
    campaign: str | None = None
    ticket: int | None = None
    contact: str | None = None
    payload: dict[str, Any]
    seq: int | None = None


def event_to_dict(event: Event) -> dict[str, Any]:
    """The JSON-ready form of an event, of version :data:`EVENT_VERSION`."""
    return {
        "v": EVENT_VERSION,
        "kind": event.kind.value,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "campaign": event.campaign,
        "ticket": event.ticket,
        "contact": event.contact,
        "payload": unstructure(event.payload),
        "seq": event.seq,
    }


def event_from_dict(data: Any) -> Event:
    """The event a stored form describes, of version :data:`EVENT_VERSION` or 2 (upcast).

    Raises:
        InvalidData: not a stored event, or of a version newer than this ccdomain reads.
    """
    if not isinstance(data, Mapping):
        raise InvalidData(f"{show(data, 80)} is not a stored event; expected a JSON object")
    version = data.get("v", _LEGACY_VERSION)
    if version == _LEGACY_VERSION and "v" not in data:
        data = upcast_v2(data)
    elif version != EVENT_VERSION:
        raise InvalidData(
            f"stored event {show(data, 80)} has version {show(version)}; this ccdomain reads "
            f"events of version {_LEGACY_VERSION} (no 'v') to {EVENT_VERSION}"
        )
    stored = structure(data, _Stored)
    payload = structure(stored.payload, PAYLOAD_TYPES[stored.kind])
    return Event(
        kind=stored.kind,
        at=stored.at,
        actor=stored.actor,
        campaign=stored.campaign,
        ticket=stored.ticket,
        contact=stored.contact,
        payload=payload,
        seq=stored.seq,
    )


def encode_event(event: Event) -> str:
    """The stored JSON text of an event (compact, UTF-8 characters kept).

    The same text as :func:`ccdomain.serialization.to_json` of the event.
    """
    return json.dumps(event_to_dict(event), ensure_ascii=False, separators=(",", ":"))


def decode_event(text: str | bytes) -> Event:
    """Read an event back from its stored JSON text, of any version this ccdomain reads.

    Raises:
        InvalidData: the text is not JSON or not a stored event (see :func:`event_from_dict`).
    """
    try:
        data = json.loads(text)
    except (ValueError, TypeError) as exc:
        raise InvalidData(f"{show(text, 80)} is not JSON: {exc}") from exc
    return event_from_dict(data)


# --- version 2 ------------------------------------------------------------------------------


class _Data:
    """The ``data`` of a version-2 event, read key by key; each key read is marked used."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event
        raw = event.get("data", {})
        if not isinstance(raw, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
        ):
            raise self.error(f"its data {show(raw, 80)} is not a dict of strings")
        self.data: Mapping[str, str] = raw
        self.used: set[str] = set()

    def error(self, reason: str) -> InvalidData:
        kind = self.event.get("kind")
        return InvalidData(
            f"stored event {show(self.event.get('seq'))} ({show(kind)}) of version 2 cannot be "
            f"read: {reason}"
        )

    def get(self, key: str) -> str | None:
        self.used.add(key)
        return self.data.get(key)

    def text(self, key: str, default: str | None = None) -> str:
        value = self.get(key)
        if value is None:
            if default is None:
                raise self.error(f"its data lacks {key!r}; expected the keys the library writes")
            return default
        return value

    def number(self, key: str, default: int | None = None) -> int:
        value = self.get(key)
        if value is None and default is not None:
            return default
        if value is None or not value.isascii() or not value.isdigit():
            raise self.error(f"{key!r} is {show(value)}; expected a whole number")
        return int(value)

    def json_list(self, key: str) -> list[str]:
        text = self.text(key)
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise self.error(f"{key!r} is {show(text)}; expected a JSON list") from exc
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(f"{key!r} is {show(text)}; expected a JSON list of strings")
        return value

    def commas(self, key: str) -> list[str]:
        text = self.text(key, "")
        return text.split(",") if text else []

    def done(self, payload: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(
                f"its data holds {', '.join(map(repr, unknown))}, which the library never "
                "wrote for this kind; expected only the keys it writes"
            )
        return payload


def _interaction_v2(d: _Data) -> dict[str, Any]:
    event = d.event
    duration = d.get("duration_s")
    return {
        "interaction": {
            "at": event.get("at"),
            "channel": d.text("channel"),
            "direction": d.text("direction"),
            "customer": d.text("customer"),
            "external_id": d.get("external_id"),
            "line": d.get("line"),
            "campaign": event.get("campaign"),
            "agent": event.get("actor"),
            "text": d.get("text"),
            "status": d.get("status"),
            "duration_s": None if duration is None else d.number("duration_s"),
            "ticket": event.get("ticket"),
        },
        "outcome": d.text("outcome"),
    }


def _tickets_v2(d: _Data) -> list[int]:
    out = []
    for part in d.commas("tickets"):
        if not part.isascii() or not part.isdigit():
            raise d.error(f"'tickets' holds {show(part)}; expected ticket numbers")
        out.append(int(part))
    return out


# Every field of the payload is a count, so the payload's own fields name them (in order).
_ANONYMIZED_COUNTS: Final = tuple(attrs.fields_dict(ev.ContactAnonymized))


def _texts(*keys: str) -> Callable[[_Data], dict[str, Any]]:
    """Read version-2 data whose keys are all required text, kept under the same names."""
    return lambda d: {k: d.text(k) for k in keys}


# Each kind's version-2 data, as the library wrote it, read into the version-3 payload.
_FROM_V2: Final[Mapping[EventKind, Callable[[_Data], dict[str, Any]]]] = {
    EventKind.CAMPAIGN_DECLARED: _texts("kind", "region"),
    EventKind.LINE_DECLARED: _texts("line", "channel"),
    EventKind.CONTACT_CREATED: lambda d: {
        "fields": d.commas("fields"),
        "fingerprint": d.get("fingerprint"),  # written by Event.data only, never in version 2
        "copied_from": d.get("copied_from"),  # written by Event.data only (X5)
    },
    EventKind.CONTACT_UPDATED: lambda d: {"fields": d.commas("fields")},
    EventKind.CONTACT_LINKED: lambda d: {
        "how": d.text("how"),
        "customer": d.text("customer"),
        "merged_from": d.get("from"),
    },
    EventKind.CONTACTS_MERGED: lambda d: {
        "into": d.text("into"),
        "merged_from": d.text("from"),
        "tickets": _tickets_v2(d),
        "products": d.commas("products"),
        "conflicts": d.commas("conflicts"),
    },
    EventKind.TICKET_OPENED: lambda d: {
        "customer": d.text("customer"),
        "origin": d.text("origin"),
        "queue": d.text("queue", ""),
        "alias": d.text("alias", ""),
        "line": d.get("line"),
    },
    EventKind.INTERACTION_ADDED: _interaction_v2,
    EventKind.INTERACTION_REFUSED: lambda d: {
        "customer": d.text("customer"),
        "channel": d.text("channel"),
        "direction": d.text("direction"),
        "reason": d.text("reason", "blocked"),
        "line": d.get("line"),
        "external_id": d.get("external_id"),
        "text": d.get("text"),
    },
    EventKind.TICKET_RESOLVED: lambda d: {},
    EventKind.TICKET_TYPIFIED: lambda d: {
        "path": d.json_list("path"),
        "customer": d.text("customer"),
        "comment": d.text("comment", ""),
        "channel": d.get("channel"),
        "line": d.get("line"),
    },
    EventKind.TICKET_CANCELLED: lambda d: {"comments_removed": d.number("comments_removed", 0)},
    EventKind.TICKET_LABELLED: lambda d: {"labels": d.json_list("labels")},
    EventKind.TICKET_ASSIGNED: lambda d: {"assignee": d.get("assignee") or None},
    EventKind.COMMENT_ADDED: lambda d: {
        # A store that set no seq (the port says it sets one) wrote "None".
        "comment_seq": None if d.get("seq") == "None" else d.number("seq"),
        "length": d.number("length"),
    },
    EventKind.IDENTITY_BLOCKED: _texts("customer"),
    EventKind.IDENTITY_UNBLOCKED: _texts("customer"),
    EventKind.CONTACT_ANONYMIZED: lambda d: {k: d.number(k, 0) for k in _ANONYMIZED_COUNTS},
    EventKind.PRODUCT_DECLARED: _texts("product", "debt", "currency"),
    EventKind.PAYMENT_RECORDED: _texts("payment", "product", "amount", "status"),
    EventKind.PAYMENT_REVERSED: _texts("payment", "product"),
    EventKind.PROMISE_MADE: _texts("promise", "product", "total"),
    EventKind.PROMISE_CANCELLED: _texts("promise", "product"),
    # Kinds newer than version 2: their version-2 view (legacy_data) reads back too.
    EventKind.TICKET_PENDING: lambda d: {},
    EventKind.TICKET_SNOOZED: _texts("until"),
    EventKind.AGENT_DECLARED: lambda d: {
        "agent": d.text("agent"),
        "name": d.text("name", ""),
        "queues": d.commas("queues"),
        "digital": d.number("digital", 0),
        "voice": d.number("voice", 0),
    },
    EventKind.PRESENCE_CHANGED: _texts("agent", "status"),
    # Never written in version 2; read so for Event.data's round trip (legacy_data).
    EventKind.OPTED_OUT: lambda d: {
        "customer": d.text("customer"),
        "channel": d.text("channel"),
        "stop_word": d.get("stop_word") == "true",
    },
    EventKind.OPTED_IN: _texts("customer", "channel"),
}


def upcast_v2(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A version-2 stored event (``"data"``, a dict of strings) as a version-3 one.

    Raises:
        InvalidData: its kind is unknown, or its data lacks a key the library wrote for
            that kind, holds one it never wrote, or a value it could not have written.
    """
    try:
        kind = EventKind(str(stored.get("kind")))
    except ValueError as exc:
        raise InvalidData(
            f"stored event {show(stored.get('seq'))} has kind {show(stored.get('kind'))}; "
            "expected an EventKind value"
        ) from exc
    reader = _Data(stored)
    payload = reader.done(_FROM_V2[kind](reader))
    upcast = {k: v for k, v in stored.items() if k != "data"}
    upcast["v"] = EVENT_VERSION
    upcast["payload"] = payload
    return upcast


def _some(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v is not None}


def _join(values: tuple[Any, ...]) -> str:
    return ",".join(map(str, values))


def _json_text(values: tuple[str, ...]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def _interaction_data(payload: ev.InteractionAdded) -> dict[str, str]:
    i = payload.interaction
    data = {"channel": i.channel.value, "direction": i.direction.value, "customer": i.customer}
    data.update(
        _some(
            external_id=i.external_id,
            line=i.line,
            text=i.text,
            status=i.status,
            duration_s=None if i.duration_s is None else str(i.duration_s),
        )
    )
    data["outcome"] = payload.outcome.value
    return data


def _data_v2(payload: Payload) -> dict[str, str]:
    match payload:
        case ev.CampaignDeclared():
            return {"kind": payload.kind, "region": payload.region}
        case ev.LineDeclared():
            return {"line": payload.line, "channel": payload.channel.value}
        case ev.ContactCreated():
            return {
                "fields": _join(payload.fields),
                **_some(fingerprint=payload.fingerprint, copied_from=payload.copied_from),
            }
        case ev.ContactUpdated():
            return {"fields": _join(payload.fields)}
        case ev.ContactLinked():
            return {
                "how": payload.how.value,
                "customer": payload.customer,
                **_some(**{"from": payload.merged_from}),
            }
        case ev.ContactsMerged():
            return {
                "into": payload.into,
                "from": payload.merged_from,
                "tickets": _join(payload.tickets),
                "products": _join(payload.products),
                "conflicts": _join(payload.conflicts),
            }
        case ev.TicketOpened():
            return {
                "customer": payload.customer,
                "origin": payload.origin.value,
                "queue": payload.queue,
                "alias": payload.alias,
                **_some(line=payload.line),
            }
        case ev.InteractionAdded():
            return _interaction_data(payload)
        case ev.InteractionRefused():
            return {
                "reason": payload.reason,
                "customer": payload.customer,
                "channel": payload.channel.value,
                "direction": payload.direction.value,
                **_some(line=payload.line, external_id=payload.external_id, text=payload.text),
            }
        case ev.TicketResolved():
            return {}
        case ev.TicketTypified():
            return {
                "path": _json_text(payload.path),
                "comment": payload.comment,
                "customer": payload.customer,
                **_some(
                    channel=None if payload.channel is None else payload.channel.value,
                    line=payload.line,
                ),
            }
        case ev.TicketCancelled():
            return {"comments_removed": str(payload.comments_removed)}
        case ev.TicketLabelled():
            return {"labels": _json_text(payload.labels)}
        case ev.TicketAssigned():
            return _some(assignee=payload.assignee)
        case ev.CommentAdded():
            return {"seq": str(payload.comment_seq), "length": str(payload.length)}
        case ev.IdentityBlocked() | ev.IdentityUnblocked():
            return {"customer": payload.customer}
        case ev.ContactAnonymized():
            return {k: str(getattr(payload, k)) for k in _ANONYMIZED_COUNTS}
        case ev.ProductDeclared():
            return {
                "product": payload.product,
                "debt": str(payload.debt),
                "currency": payload.currency,
            }
        case ev.PaymentRecorded():
            return {
                "payment": payload.payment,
                "product": payload.product,
                "amount": str(payload.amount),
                "status": payload.status,
            }
        case ev.PaymentReversed():
            return {"payment": payload.payment, "product": payload.product}
        case ev.PromiseMade():
            return {
                "promise": payload.promise,
                "product": payload.product,
                "total": str(payload.total),
            }
        case ev.PromiseCancelled():
            return {"promise": payload.promise, "product": payload.product}
        case ev.TicketPending():
            return {}
        case ev.TicketSnoozed():
            return {"until": payload.until.isoformat()}
        case ev.AgentDeclared():
            return {
                "agent": payload.agent,
                "name": payload.name,
                "queues": _join(payload.queues),
                "digital": str(payload.digital),
                "voice": str(payload.voice),
            }
        case ev.PresenceChanged():
            return {"agent": payload.agent, "status": payload.status}
        case ev.OptedOut():
            return {
                "customer": payload.customer,
                "channel": payload.channel.value,
                **_some(stop_word="true" if payload.stop_word else None),
            }
        case ev.OptedIn():  # pragma: no branch - the last payload class
            return {"customer": payload.customer, "channel": payload.channel.value}


def legacy_data(event: Event) -> dict[str, str]:
    """The event's payload as the version-2 dict of strings (what ``Event.data`` returns).

    The keys and values the library wrote before typed payloads: lists as JSON text
    (labels, paths) or joined by commas, numbers and amounts as strings.
    """
    return _data_v2(event.payload)
