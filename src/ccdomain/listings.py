"""The rows the ``ccdomain`` command lists: plain dicts, JSON-ready and pandas-ready (T7, T8, C5).

Each function reads a store in one unit of work and gives one ``dict`` per record,
values being strings, numbers, booleans, lists or None (times and dates in ISO
8601), so ``json.dumps`` and ``pandas.DataFrame`` take the rows as they are::

    >>> from ccdomain.memory import MemoryStore
    >>> from ccdomain.replay import apply_event
    >>> store = MemoryStore()
    >>> _ = apply_event(store, {"type": "campaign", "id": "cobranzas", "region": "PE"})
    >>> _ = apply_event(store, {"type": "contact", "campaign": "cobranzas", "first_names": "Ana",
    ...                         "last_names": "Quispe", "document": {"type": "DNI",
    ...                         "number": "12345678"}})
    >>> [(c["code"], c["avatar"], c["document"]) for c in contact_rows(store, campaign="cobranzas")]
    [('12345678', 'AQ', {'type': 'DNI', 'number': '12345678'})]

The keys of each listing are a public contract (docs/cli.md): extended, never
renamed. :data:`FIELDS` holds them, in order, by the name of the command that
lists them, so a listing without rows still has its columns (a CSV header). A
contact code in a row is the live contact's, merge tombstones followed (M5): the
one a user would look up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

from ccdomain import checks
from ccdomain import collections as coll
from ccdomain import contacts as ct
from ccdomain.errors import CcdomainError
from ccdomain.identities import identities_tab, search_identities
from ccdomain.models import Campaign, Interaction, Ticket, TicketStatus
from ccdomain.ports import ServiceLevelReads, Store, UnitOfWork
from ccdomain.rules.hours import BusinessCalendar, campaign_calendar
from ccdomain.rules.service_levels import ServiceLevel, TargetLevel, service_level
from ccdomain.rules.states import ticket_as_of
from ccdomain.services.assignment import assignment_port

__all__ = [
    "FIELDS",
    "IDENTITY_FIELDS",
    "agent_rows",
    "contact_rows",
    "identity_rows",
    "promise_rows",
    "ticket_rows",
    "typification_rows",
]

FIELDS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "tickets": (
            "number",
            "campaign",
            "customer",
            "status",
            "contact",
            "interactions",
            "channels",
            "origin",
            "line",
            "alias",
            "queue",
            "labels",
            "assignee",
            "opened_at",
            "closed_at",
            "closed_by",
            "last_action",
            "first_response_s",
            "sla",
        ),
        "contacts": (
            "campaign",
            "code",
            "first_names",
            "last_names",
            "vip",
            "avatar",
            "phones",
            "emails",
            "document",
            "company",
            "tags",
            "merged_into",
            "anonymized",
            "opted_out",
        ),
        "typifications": (
            "ticket",
            "campaign",
            "at",
            "agent",
            "path",
            "comment",
            "customer",
            "channel",
            "line",
            "contact",
        ),
        "promises": (
            "id",
            "product",
            "status",
            "paid",
            "total",
            "due",
            "currency",
            "campaign",
            "contact",
            "agent",
            "made_on",
            "ticket",
            "installments",
            "cancelled_on",
        ),
        "agents": (
            "id",
            "name",
            "status",
            "queues",
            "open",
            "capacity",
            "last_assigned_at",
        ),
    }
)
"""The keys of the rows of each listing, in order, by command name (``ccdomain tickets``...).

Every row of :func:`ticket_rows` has exactly the keys ``FIELDS["tickets"]``, in that
order, and so on: the header of a listing comes from here, never from its rows.
"""


IDENTITY_FIELDS: Final[tuple[str, ...]] = (
    "campaign",
    "code",
    "candidate",
    "tier",
    "reason",
    "vip",
    "first_names",
    "last_names",
)
"""The keys of the rows of :func:`identity_rows` (``ccdomain identities``), in order (X2).

Kept apart from :data:`FIELDS`: that listing is of one contact, not of a store.
"""


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _campaign(campaign: str | None) -> str | None:
    """The ``campaign`` filter, read as every campaign id is (E3), so every store answers
    alike: text SQLite cannot hold is refused here, not by the store."""
    return None if campaign is None else checks.identifier(campaign, "campaign")


def _live_code(uow: UnitOfWork, campaign: str, code: str | None) -> str | None:
    if code is None:
        return None
    try:
        return ct.live_contact(uow, campaign, code).code
    except CcdomainError:
        return code


def _latest_event_time(uow: UnitOfWork) -> dt.datetime | None:
    if isinstance(uow, ServiceLevelReads):
        return uow.latest_event_time()
    return max((event.at for event in uow.events()), default=None)


def _interactions_by_ticket(
    uow: UnitOfWork, tickets: list[Ticket], campaign: str | None
) -> Iterator[tuple[Ticket, Sequence[Interaction]]]:
    """Each ticket with its interactions: one pass when the store can (no read a ticket)."""
    if not isinstance(uow, ServiceLevelReads):
        for ticket in tickets:
            yield ticket, uow.interactions(ticket.number)
        return
    scan = uow.interactions_by_ticket(campaign)
    pending = next(scan, None)
    for ticket in tickets:  # both by number: a merge join
        while pending is not None and pending[0] < ticket.number:
            pending = next(scan, None)
        if pending is not None and pending[0] == ticket.number:
            yield ticket, pending[1]
        else:
            yield ticket, ()


def _pending(ticket: Ticket) -> list[tuple[dt.datetime, dt.datetime | None]]:
    """The periods the ticket was pending (H3, H6): ended ones, and the current one."""
    spans: list[tuple[dt.datetime, dt.datetime | None]] = list(ticket.pending_spans)
    if ticket.status is TicketStatus.PENDING and ticket.paused_at is not None:
        spans.append((ticket.paused_at, None))
    return spans


def _seconds(value: dt.timedelta | None) -> int | None:
    # Whole seconds, rounded down: event times carry seconds.
    return None if value is None else value // dt.timedelta(seconds=1)


def _target(level: TargetLevel | None) -> tuple[str | None, str | None]:
    return (None, None) if level is None else (level.status.value, _iso(level.due))


def _sla(level: ServiceLevel) -> dict[str, str | None]:
    first, first_due = _target(level.first_response)
    resolution, resolution_due = _target(level.resolution)
    return {
        "first_response": first,
        "resolution": resolution,
        "first_response_due": first_due,
        "resolution_due": resolution_due,
    }


def ticket_rows(
    store: Store, *, campaign: str | None = None, as_of: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """One row per ticket, by number (the ``ccdomain tickets`` listing, T7, H5).

    Keys: number, campaign, customer (E.164), status, contact (the live contact's
    code, merge tombstones followed, or None), interactions (count), channels, origin,
    line, alias, queue, labels, assignee, opened_at, closed_at, closed_by, last_action,
    first_response_s (business seconds from the first inbound interaction to the first
    response, or None) and sla (``{first_response, resolution, first_response_due,
    resolution_due}``: each target's status ``met``, ``breached``, ``running`` or
    ``at_risk`` and its due instant, None without a target), as of ``as_of``
    (default: the latest event time in the store).

    Each ticket is shown as of that instant (P2, P3: a ticket due for auto-resolve
    reads resolved by ``system`` at its due instant, a snoozed one past its ``until``
    reads open), and its service level is evaluated on what it shows.

    The interactions of every ticket are read in one pass where the store can
    (:class:`~ccdomain.ports.ServiceLevelReads`), not one read a ticket.

    Raises:
        RuleViolation: ``as_of`` is not an aware datetime.
    """
    campaign = _campaign(campaign)
    if as_of is not None:
        as_of = checks.aware(as_of, "as_of")
    rows: list[dict[str, Any]] = []
    with store.unit_of_work() as uow:
        when = as_of if as_of is not None else _latest_event_time(uow)
        campaigns: dict[str, tuple[Campaign, BusinessCalendar] | None] = {}
        tickets = list(uow.list_tickets(campaign))
        for stored, interactions in _interactions_by_ticket(uow, tickets, campaign):
            if stored.campaign not in campaigns:
                declared = uow.get_campaign(stored.campaign)
                campaigns[stored.campaign] = (
                    None if declared is None else (declared, campaign_calendar(declared))
                )
            found = campaigns[stored.campaign]
            t = (
                stored
                if when is None
                else ticket_as_of(stored, None if found is None else found[0], when)
            )
            level = (
                ServiceLevel()
                if found is None or when is None
                else service_level(
                    found[0], t, interactions, as_of=when, calendar=found[1], pending=_pending(t)
                )
            )
            rows.append(
                {
                    "number": t.number,
                    "campaign": t.campaign,
                    "customer": t.customer,
                    "status": t.status.value,
                    "contact": _live_code(uow, t.campaign, t.contact),
                    "interactions": t.interactions,
                    "channels": [c.value for c in t.channels],
                    "origin": t.origin.value,
                    "line": t.line,
                    "alias": t.alias,
                    "queue": t.queue,
                    "labels": list(t.labels),
                    "assignee": t.assignee,
                    "opened_at": _iso(t.opened_at),
                    "closed_at": _iso(t.closed_at),
                    "closed_by": t.closed_by,
                    "last_action": t.last_action,
                    "first_response_s": _seconds(level.first_response_time),
                    "sla": _sla(level),
                }
            )
    return rows


def contact_rows(store: Store, *, campaign: str | None = None) -> list[dict[str, Any]]:
    """One row per contact, by (campaign, code) (the ``ccdomain contacts`` listing).

    Keys: campaign, code, first_names, last_names, vip, avatar (K7), phones (E.164),
    emails, document ({type, number} or None), company (its name), tags, merged_into
    (set on a merge tombstone, M5), anonymized, opted_out (the channels any of its
    addresses opted out of in its campaign, sorted, W6).
    """
    campaign = _campaign(campaign)
    rows: list[dict[str, Any]] = []
    with store.unit_of_work() as uow:
        refused: dict[tuple[str, str], set[str]] = {}
        for opt in uow.opt_outs(campaign):
            refused.setdefault((opt.campaign, opt.customer), set()).add(opt.channel.value)
        names: dict[str, str] = {}
        for c in uow.list_contacts(campaign):
            company = None
            if c.company is not None:
                if c.company not in names:
                    found = uow.get_company(c.company)
                    names[c.company] = found.name if found is not None else c.company
                company = names[c.company]
            try:
                face = ct.contact_avatar(c)
            except CcdomainError:
                face = ""
            rows.append(
                {
                    "campaign": c.campaign,
                    "code": c.code,
                    "first_names": c.first_names,
                    "last_names": c.last_names,
                    "vip": c.vip,
                    "avatar": face,
                    "phones": list(c.phones),
                    "emails": [ch.value for ch in c.channels if ch.kind.value == "email"],
                    "document": (
                        None
                        if c.document is None
                        else {"type": c.document.type, "number": c.document.number}
                    ),
                    "company": company,
                    "tags": list(c.tags),
                    "merged_into": c.merged_into,
                    "anonymized": c.anonymized,
                    "opted_out": sorted(
                        {
                            channel
                            for ch in c.channels
                            for channel in refused.get((c.campaign, ch.value), ())
                        }
                    ),
                }
            )
    return rows


def _policy(campaign: Campaign | None) -> coll.CollectionsPolicy:
    return coll.CollectionsPolicy() if campaign is None else coll.policy_for(campaign)


def promise_rows(store: Store, *, as_of: dt.date) -> list[dict[str, Any]]:
    """One row per promise, by id, with its status on ``as_of`` (C5, C6).

    Keys: id, product, status (pending, kept, broken, cancelled), paid, total and due
    (what remains to pay) as strings, currency, campaign, contact (live code), agent,
    made_on, ticket, installments ([{amount, date}]), cancelled_on.

    Raises:
        RuleViolation: ``as_of`` is not a date.
    """
    as_of = checks.day(as_of, "as_of")
    rows: list[dict[str, Any]] = []
    with store.unit_of_work() as uow:
        for promise in uow.list_promises():
            product = uow.get_product(promise.product)
            campaign = None if promise.campaign is None else uow.get_campaign(promise.campaign)
            siblings = uow.promises_for_product(promise.product)
            payments = uow.payments_for_product(promise.product)
            status = coll.promise_statuses(siblings, payments, _policy(campaign), as_of)[promise.id]
            rows.append(
                {
                    "id": promise.id,
                    "product": promise.product,
                    "status": status.status.value,
                    "paid": str(status.paid.amount),
                    "total": str(status.total.amount),
                    "due": str(status.due.amount),
                    "currency": promise.currency,
                    "campaign": promise.campaign,
                    "contact": (
                        None
                        if product is None
                        else _live_code(uow, product.campaign, product.contact)
                    ),
                    "agent": promise.agent,
                    "made_on": _iso(promise.made_on),
                    "ticket": promise.ticket,
                    "installments": [
                        {"amount": str(i.amount.amount), "date": i.date.isoformat()}
                        for i in promise.installments
                    ],
                    "cancelled_on": _iso(promise.cancelled_on),
                }
            )
    return rows


def typification_rows(store: Store, *, campaign: str | None = None) -> list[dict[str, Any]]:
    """One row per typification, in the order recorded (T8, the typifications report).

    Keys: ticket, campaign, at, agent, path (list of labels), comment, customer,
    channel, line, contact (the ticket's live contact code, or None).
    """
    campaign = _campaign(campaign)
    rows: list[dict[str, Any]] = []
    with store.unit_of_work() as uow:
        for t in uow.typifications():
            if campaign is not None and t.campaign != campaign:
                continue
            ticket = uow.get_ticket(t.ticket)
            contact = None if ticket is None else ticket.contact
            rows.append(
                {
                    "ticket": t.ticket,
                    "campaign": t.campaign,
                    "at": _iso(t.at),
                    "agent": t.agent,
                    "path": list(t.path),
                    "comment": t.comment,
                    "customer": t.customer,
                    "channel": None if t.channel is None else t.channel.value,
                    "line": t.line,
                    "contact": _live_code(uow, t.campaign, contact),
                }
            )
    return rows


def agent_rows(store: Store, *, campaign: str | None = None) -> list[dict[str, Any]]:
    """One row per agent, by id (the ``ccdomain agents`` listing, A6).

    Keys: id, name, status (``online``, ``away``, ``offline``), queues, open
    (``{"digital": n, "voice": n}``: their open, pending and snoozed tickets), capacity
    (the same shape), last_assigned_at. A store without agents lists none. With a
    ``campaign``, the agents serving a queue of its lines or of its tickets.
    """
    campaign = _campaign(campaign)
    with store.unit_of_work() as uow:
        port = assignment_port(uow)
        states = [] if port is None else port.list_agent_states()
        if campaign is not None:
            queues = {t.queue for t in uow.list_tickets(campaign)} | {
                line.queue for line in uow.list_lines() if line.campaign == campaign
            }
            states = [a for a in states if queues.intersection(a.agent.queues)]
        return [
            {
                "id": a.agent.id,
                "name": a.agent.name,
                "status": a.presence.value,
                "queues": list(a.agent.queues),
                "open": {"digital": a.open.digital, "voice": a.open.voice},
                "capacity": {
                    "digital": a.agent.capacity.digital,
                    "voice": a.agent.capacity.voice,
                },
                "last_assigned_at": _iso(a.last_assigned_at),
            }
            for a in states
        ]


def identity_rows(
    store: Store, *, campaign: str, code: str, query: str | None = None
) -> list[dict[str, Any]]:
    """The Identities tab of a contact, one row per candidate, best first (the ``ccdomain
    identities`` listing, X2).

    Without ``query``: the contacts of its campaign its phones, emails, document or
    full name match; with one: those a search for ``query`` (a phone, an email, a
    document number or a name) finds. Keys: campaign, code (the contact's), candidate
    (the candidate's code), tier, reason, vip, first_names, last_names.
    """
    if query is None:
        found = identities_tab(store, campaign=campaign, code=code).candidates
    else:
        found = search_identities(store, campaign=campaign, code=code, query=query)
    live = ct.get_contact(store, campaign=campaign, code=code)
    return [
        {
            "campaign": live.campaign,
            "code": live.code,
            "candidate": c.contact.code,
            "tier": c.tier.value,
            "reason": c.reason,
            "vip": c.contact.vip,
            "first_names": c.contact.first_names,
            "last_names": c.contact.last_names,
        }
        for c in found
    ]
