"""Customer information views and edits (I1, I8-I10, M3, M5).

The customer information panel of an agent's desk, over the store ports. Every
view takes a store or a unit of work (read in a unit of work of its own, or in the
one given) and returns frozen records:

- I1 :func:`contact_summary`: the activity, newest first, in pages;
- I9 :func:`cases_tab` (the agents' replies with the case comments) and
  :func:`messages_tab` (threads of customer and agent messages);
- I10 :func:`profile_tab` and :func:`update_profile` (through the validated
  contacts service, :func:`ccdomain.contacts.update_contact`);
- M3, X2 :func:`identities_tab` and :func:`search_identities`; M5 :func:`merge_identities`.
- X3 :func:`update_profile`: ``email`` changes the primary email, ``add_email``
  adds a secondary one and keeps the others.

Decisions (docs/rules.md):

- I8 The views show the tickets linked to the contact (a merged code resolves to
  its survivor); the export and the anonymization also take unlinked tickets of
  its addresses (:func:`ccdomain.services.export.held_tickets`).
- I9 The Cases tab lists every case of the contact, newest activity first, with
  the outbound interactions (the agents' replies and calls; only one agent's with
  ``agent=``) and the comments. 004 says both "only the agent's messages" and "the
  customer's messages only"; the issue asks for the agents', the customer's are
  in the Messages tab. The Messages tab lists, per ticket with messages, every
  non-call interaction in event time.
- I10 Profile: ``email`` is the contact's first email channel; ``mobile_phone``
  the first phone or WhatsApp channel labelled ``mobile`` (``movil``,
  ``celular``), else the first phone or WhatsApp channel not labelled home;
  ``home_phone`` the first phone channel labelled ``home`` (``casa``, ``fijo``).
  Editing ``email`` replaces the first email channel; editing ``mobile_phone`` or
  ``home_phone`` replaces the phone channels with that label, the new one labelled
  ``mobile`` or ``home``; an empty value or ``None`` removes it
  (:func:`~ccdomain.rules.identities.profile_channels`). An anonymized contact's
  profile cannot be edited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import attrs

from ccdomain import checks
from ccdomain._deprecation import accepts_old_call
from ccdomain.errors import RuleViolation, UnknownContact
from ccdomain.errors import show as _show
from ccdomain.models import Channel, Contact, ContactChannel, Direction, Interaction, Ticket
from ccdomain.ports import Store, UnitOfWork
from ccdomain.rules.contacts import contact_avatar
from ccdomain.rules.identities import (
    UNSET,
    CaseView,
    MessageThread,
    Profile,
    SummaryPage,
    contact_addresses,
    event_activity,
    newest_first,
    newest_first_activity,
    profile_channels,
    profile_of,
    ticket_activity,
)
from ccdomain.rules.matching import Candidate
from ccdomain.services._common import declared_campaign, live_contact, reading
from ccdomain.services.contacts import update_contact
from ccdomain.services.matching import find_identities, identity_candidates
from ccdomain.services.merge import apply_merge, plan_merge

__all__ = [
    "IdentitiesView",
    "cases_tab",
    "contact_summary",
    "identities_tab",
    "live_contact_in",
    "merge_identities",
    "messages_tab",
    "profile_tab",
    "search_identities",
    "update_profile",
]

# Readers took (source, campaign, code) positionally before the API convention.
_old_reader_call = accepts_old_call(positional=("campaign", "code"), renamed={"source": "store"})


@attrs.frozen(kw_only=True)
class IdentitiesView:
    """The Identities tab (004): the contact's channel addresses and matching contacts (M3)."""

    contact: Contact
    identities: tuple[ContactChannel, ...]
    candidates: tuple[Candidate, ...]


def live_contact_in(uow: UnitOfWork, campaign: object, code: object) -> Contact:
    """The live contact ``code`` names in a declared campaign, merge tombstones followed (K17).

    Raises:
        UnknownCampaign: the campaign is not declared.
        UnknownContact: no such contact in it.
    """
    found = declared_campaign(uow, campaign)
    return live_contact(uow, found.id, code)


def _linked_tickets(uow: UnitOfWork, contact: Contact) -> list[Ticket]:
    return list(uow.tickets_for_contact(contact.campaign, contact.code))


def _cases(
    uow: UnitOfWork, contact: Contact, keep: Callable[[Interaction], bool]
) -> Iterator[tuple[Ticket, tuple[Interaction, ...]]]:
    """The contact's cases, newest activity first, each with the interactions ``keep``
    takes, in time order (I9)."""
    for ticket in newest_first(_linked_tickets(uow, contact)):
        kept = (i for i in uow.interactions(ticket.number) if keep(i))
        yield ticket, tuple(sorted(kept, key=lambda i: i.at))


@_old_reader_call
def contact_summary(
    store: Store | UnitOfWork,
    *,
    campaign: str,
    code: str,
    page: int = 1,
    page_size: int = 20,
) -> SummaryPage:
    """The contact's activity, newest first, one page of it (I1, 004 "Resumen").

    Items: each linked case opened and closed, its interactions, typifications and
    comments, the promises of the contact's products, and the refused interactions,
    blocks and unblocks of its addresses. A merged code resolves to its survivor.

    Args:
        store: a store (read in a unit of work of its own) or a unit of work.
        campaign: the contact's campaign.
        code: the contact's code.
        page: the page, from 1 (a page past the end is empty).
        page_size: items per page, 1 to 500.

    Raises:
        UnknownCampaign, UnknownContact: no such campaign or contact.
        RuleViolation: a bad page or page size.
    """
    page = checks.whole(page, "page", minimum=1)
    page_size = checks.whole(page_size, "page_size", minimum=1, maximum=checks.PAGE_SIZE_MAX)
    with reading(store) as uow:
        contact = live_contact_in(uow, campaign, code)
        tickets = _linked_tickets(uow, contact)
        items = []
        for ticket in tickets:
            n = ticket.number
            items.extend(
                ticket_activity(ticket, uow.interactions(n), uow.typifications(n), uow.comments(n))
            )
        promises = {
            p.id: p
            for product in uow.products_for_contact(contact.campaign, contact.code)
            for p in uow.promises_for_product(product.id)
        }
        addresses = {*contact_addresses(contact), *(t.customer for t in tickets)}
        items.extend(event_activity(uow.events(), contact.campaign, addresses, promises))
    activity = newest_first_activity(items)
    start = (page - 1) * page_size
    return SummaryPage(
        campaign=contact.campaign,
        code=contact.code,
        items=tuple(activity[start : start + page_size]),
        page=page,
        page_size=page_size,
        total=len(activity),
    )


@_old_reader_call
def cases_tab(
    store: Store | UnitOfWork, *, campaign: str, code: str, agent: str | None = None
) -> tuple[CaseView, ...]:
    """The Cases tab (004 "Casos"): each case with the agents' replies and its comments (I9).

    Args:
        store: a store or a unit of work.
        campaign: the contact's campaign.
        code: the contact's code.
        agent: show only this agent's replies ("sus respuestas anteriores").

    Raises:
        UnknownCampaign: the campaign is not declared.
        UnknownContact: no such contact in it.
        RuleViolation: a bad agent.
    """
    wanted = checks.actor(agent, "agent")

    def reply(item: Interaction) -> bool:
        return item.direction is Direction.OUTBOUND and (wanted is None or item.agent == wanted)

    with reading(store) as uow:
        contact = live_contact_in(uow, campaign, code)
        views = [
            CaseView(ticket=ticket, replies=replies, comments=tuple(uow.comments(ticket.number)))
            for ticket, replies in _cases(uow, contact, reply)
        ]
    return tuple(views)


@_old_reader_call
def messages_tab(
    store: Store | UnitOfWork, *, campaign: str, code: str
) -> tuple[MessageThread, ...]:
    """The Messages tab (004 "Mensajes"): per case, customer and agent messages in time order.

    Calls are not messages; a case with no message is left out. Newest activity first.

    Raises:
        UnknownCampaign: the campaign is not declared.
        UnknownContact: no such contact in it.
    """
    with reading(store) as uow:
        contact = live_contact_in(uow, campaign, code)
        threads = [
            MessageThread(ticket=ticket, messages=messages)
            for ticket, messages in _cases(uow, contact, lambda i: i.channel is not Channel.CALL)
            if messages
        ]
    return tuple(threads)


@_old_reader_call
def profile_tab(store: Store | UnitOfWork, *, campaign: str, code: str) -> Profile:
    """The Profile tab (004 "Perfil"): names, company, gender, email, phones, tags, notes.

    Raises:
        UnknownCampaign: the campaign is not declared.
        UnknownContact: no such contact in it.
    """
    with reading(store) as uow:
        contact = live_contact_in(uow, campaign, code)
        company = None
        if contact.company is not None:
            found = uow.get_company(contact.company)
            company = found.name if found is not None else contact.company
    return profile_of(contact, company=company, avatar=contact_avatar(contact))


@accepts_old_call(positional=("campaign", "code"), renamed={"actor": "agent"})
def update_profile(
    store: Store,
    *,
    campaign: str,
    code: str,
    agent: str | None = None,
    at: dt.datetime,
    first_names: object = UNSET,
    last_names: object = UNSET,
    company: object = UNSET,
    gender: object = UNSET,
    email: object = UNSET,
    mobile_phone: object = UNSET,
    home_phone: object = UNSET,
    tags: object = UNSET,
    notes: object = UNSET,
    add_email: object = UNSET,
) -> Contact:
    """Edit the Profile fields of 004 through :func:`ccdomain.contacts.update_contact` (I10).

    Only the fields given change. ``email`` changes the primary (first) email
    channel; ``add_email`` adds a secondary email and keeps the others (X3, 004
    "correo electrónico secundario");
    ``mobile_phone`` and ``home_phone`` replace the phone labelled ``mobile`` or
    ``home`` (normalized with the campaign's region, K4); ``None`` or ``""``
    removes it. All or nothing (E2).

    Raises:
        UnknownCampaign: the campaign is not declared.
        UnknownContact: no such contact in it.
        InvalidPhoneNumber: naming the bad phone.
        InvalidChannel: naming the bad channel.
        RuleViolation: a merged or anonymized contact, a bad value; and the
            validation errors of :func:`ccdomain.contacts.update_contact`.
    """
    plain = {
        "first_names": first_names,
        "last_names": last_names,
        "company": company,
        "gender": gender,
        "tags": tags,
        "notes": notes,
    }
    changes: dict[str, object] = {k: v for k, v in plain.items() if v is not UNSET}
    with store.unit_of_work() as uow:
        contact = live_contact_in(uow, campaign, code)
        if contact.anonymized:
            raise RuleViolation(
                f"contact {contact.code!r} is anonymized: its profile cannot be edited (I4)"
            )
        if (email, mobile_phone, home_phone, add_email) != (UNSET,) * 4:
            changes["channels"] = profile_channels(
                contact, email, mobile_phone, home_phone, add_email=add_email
            )
        updated = update_contact(
            store, campaign=contact.campaign, code=contact.code, at=at, agent=agent, **changes
        )
        uow.commit()
    return updated


@_old_reader_call
def identities_tab(store: Store | UnitOfWork, *, campaign: str, code: str) -> IdentitiesView:
    """The Identities tab (004 "Identidades"): the contact's addresses and matching contacts.

    Candidates are the other live contacts of the campaign that any of its phones
    matches by the M3 tiers, or its email, document number or full name (X2), ranked,
    with reasons: the ones a merge may join.

    Raises:
        UnknownCampaign: the campaign is not declared.
        UnknownContact: no such contact in it.
    """
    with reading(store) as uow:
        contact = live_contact_in(uow, campaign, code)
        candidates = identity_candidates(uow, contact=contact, only_campaign=True)
    return IdentitiesView(
        contact=contact, identities=contact.channels, candidates=tuple(candidates)
    )


@accepts_old_call(positional=("campaign", "code", "query"), renamed={"source": "store"})
def search_identities(
    store: Store | UnitOfWork, *, campaign: str, code: str, query: str
) -> tuple[Candidate, ...]:
    """Search identities matching what is typed in the Identities tab, in its campaign (X2).

    The query may be a phone (M3 tiers), an email, a document number, a Messenger or
    Instagram id or a full name (:func:`ccdomain.matching.find_identities`); each
    candidate carries its reason. The contact itself is left out.

    Raises:
        UnknownCampaign, UnknownContact; RuleViolation: an empty or malformed query.
    """
    with reading(store) as uow:
        contact = live_contact_in(uow, campaign, code)
        found = find_identities(uow, query=query, campaign=contact.campaign, only_campaign=True)
    return tuple(c for c in found if c.contact.code != contact.code)


def merge_identities(
    store: Store, *, campaign: str, into: str, source: str, agent: str, at: dt.datetime
) -> Contact:
    """Merge contact ``source`` into ``into`` (004 "combinar"): plan_merge then apply_merge (M5).

    Returns the merged contact (``into``'s code kept).

    Raises:
        RuleViolation: a contact into itself, across campaigns, a merged or anonymized contact.
        UnknownCampaign: the campaign is not declared.
        UnknownContact: no such contact in it.
    """
    with store.unit_of_work() as uow:
        found = declared_campaign(uow, campaign)
        a = checks.identifier(into, "contact code", UnknownContact)
        b = checks.identifier(source, "contact code", UnknownContact)
        if a == b:
            raise RuleViolation(f"cannot merge contact {_show(a)} into itself")
        plan = plan_merge(uow, campaign=found.id, into=a, source=b)
        merged = apply_merge(store, plan=plan, agent=agent, at=at)
        uow.commit()
    return merged
