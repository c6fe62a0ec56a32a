"""Linking tickets to contacts: the one link service, the automatic link, contact from ticket.

- M4 routing links a ticket automatically on exactly one EXACT contact of its
  campaign (:func:`auto_link`); otherwise the candidates are offered and an agent
  links it (:func:`link_ticket`) or creates the contact from the ticket
  (:func:`create_contact_from_ticket`).
- M8 A ticket links only to a contact of its own campaign; linking a merged code
  links the contact it was merged into.
- X5 Linking a ticket to a contact that exists only in another campaign copies it
  into the ticket's campaign (same code), recording where it came from
  (:func:`link_ticket`, ``from_campaign``); a code another person holds there is
  refused.

Choices made where the product documents are silent:

- T19 The manual link of a ticket follows merge tombstones to the surviving
  contact; named by campaign and customer it links the open ticket, or, when none
  is open, the customer's latest ticket there.
- M12 Creating a contact from a ticket is refused when the ticket is already
  linked (link it by hand instead). The customer's address becomes a channel of
  the kind the ticket started on (:func:`ccdomain.rules.matching.customer_channel`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from ccdomain import checks
from ccdomain.errors import DuplicateContact, RuleViolation, UnknownContact, UnknownTicket
from ccdomain.errors import show as _show
from ccdomain.events import LinkHow
from ccdomain.models import Contact, Ticket
from ccdomain.ports import Store, UnitOfWork
from ccdomain.rules.matching import customer_channel, same_person
from ccdomain.rules.tickets import PHONE_CHANNELS, contact_linked_event
from ccdomain.services._common import declared_campaign, get_campaign, live_contact, recorder
from ccdomain.services.contacts import copy_contact_into, create_contact
from ccdomain.services.matching import address_link_code, exact_link_code
from ccdomain.services.ticket_actions import find_ticket

__all__ = ["auto_link", "create_contact_from_ticket", "link_ticket"]


def auto_link(uow: UnitOfWork, ticket: Ticket, at: dt.datetime) -> Ticket | None:
    """M4 inside routing's unit of work: ``ticket`` linked to the one EXACT contact of its
    campaign (X1: the one holding its email, Messenger or Instagram address on those
    channels), with its CONTACT_LINKED event appended; None when no single contact decides.

    The caller stores the ticket (routing writes it once per interaction).
    """
    first = ticket.channels[0] if ticket.channels else ticket.last_channel
    if first is None or first in PHONE_CHANNELS:
        code = exact_link_code(uow, ticket.campaign, ticket.customer)
    else:  # X1: an email, Messenger or Instagram customer, through the identity index
        code = address_link_code(uow, ticket.campaign, first, ticket.customer)
    if code is None:
        return None
    linked = attrs.evolve(ticket, contact=code)
    recorder(uow)(contact_linked_event(linked, LinkHow.AUTO, None, at))
    return linked


def link_ticket(
    store: Store,
    *,
    number: int | None = None,
    campaign: str | None = None,
    customer: str | None = None,
    contact: str,
    agent: str | None,
    at: dt.datetime,
    from_campaign: str | None = None,
) -> Ticket:
    """Link a ticket to a contact by hand (M4's alternative, M8, T19, X5).

    Name the ticket by number, or by campaign and ``customer`` (its open ticket, else
    the customer's latest ticket there). ``contact`` is the contact's code; a merged
    contact resolves to its survivor. Linking the contact it already has changes
    nothing.

    A contact found by a manual search in another campaign is copied into the
    ticket's campaign with the same code and linked (X5, 001: "se crearán en la
    campaña por la que inició la interacción"): ``from_campaign`` names that
    campaign; without it, the code is looked up in the ticket's campaign first,
    then in the others (one must hold it). When the ticket's campaign has a contact
    with that code already, it is linked if it is the same person (the same
    document, or without documents the same full name and a shared channel), and
    the link is refused otherwise. All or nothing (E2).

    Raises:
        UnknownTicket: no such ticket. UnknownCampaign: ``from_campaign`` is not
            declared. UnknownContact: no such contact in the ticket's campaign (nor,
            with ``from_campaign``, in that one). DuplicateContact: the code is another
            person's in the ticket's campaign. RuleViolation: the code is in several
            other campaigns and ``from_campaign`` does not choose, the campaign is not
            the ticket's, or bad input.
    """
    code = checks.identifier(contact, "contact code")
    agent = checks.actor(agent, "agent")
    at = checks.aware(at)
    source = None if from_campaign is None else checks.identifier(from_campaign, "from_campaign")
    with store.unit_of_work() as uow:
        ticket = find_ticket(
            uow, number=number, campaign=campaign, customer=customer, latest_if_none_open=True
        )
        found = _contact_to_link(uow, ticket.campaign, code, source, agent, at)
        if ticket.contact == found.code:
            uow.commit()
            return ticket
        updated = attrs.evolve(ticket, contact=found.code)
        uow.update_ticket(updated)
        recorder(uow)(contact_linked_event(updated, LinkHow.MANUAL, agent, at))
        uow.commit()
    return updated


def _contact_to_link(
    uow: UnitOfWork,
    campaign: str,
    code: str,
    source: str | None,
    agent: str | None,
    at: dt.datetime,
) -> Contact:
    """The live contact of ``campaign`` a link names, copied from ``source`` when needed (X5).

    Campaigns are few: finding which campaigns hold a code reads one contact per
    campaign by its key, never a campaign's contacts.
    """
    if source is None or source == campaign:
        try:
            return live_contact(uow, campaign, code)
        except UnknownContact:
            if source is not None:
                raise
            holders = [
                c.id
                for c in uow.list_campaigns()
                if c.id != campaign and uow.get_contact(c.id, code) is not None
            ]
            if not holders:
                raise
            if len(holders) > 1:
                raise RuleViolation(
                    f"contact {code!r} is not in campaign {campaign!r} and is in campaigns "
                    f"{', '.join(map(repr, holders))}: expected from_campaign naming the one "
                    "to copy it from (X5)"
                ) from None
            source = holders[0]
    origin = live_contact(uow, declared_campaign(uow, source).id, code)
    if uow.get_contact(campaign, origin.code) is not None:
        held = live_contact(uow, campaign, origin.code)
        if same_person(held, origin):
            return held
        raise DuplicateContact(
            f"contact {origin.code!r} of campaign {source!r} cannot be copied into campaign "
            f"{campaign!r}: code {origin.code!r} is another person's there; expected a code "
            "not used in the ticket's campaign, or the contact of that campaign (X5)"
        )
    return copy_contact_into(uow, origin, get_campaign(uow, campaign), agent=agent, at=at)


def create_contact_from_ticket(
    store: Store,
    *,
    number: int,
    first_names: object = "",
    last_names: object = "",
    document: object = None,
    company: object = None,
    vip: object = False,
    channels: Sequence[object] = (),
    addresses: object = (),
    custom: object = None,
    gender: object = "",
    tags: object = (),
    notes: object = "",
    agent: str,
    at: dt.datetime,
) -> Contact:
    """Create a contact from an unlinked ticket and link the ticket to it, all or nothing (M4).

    The contact is created in the ticket's campaign (the product documents: "se crearán en
    la campaña por la que inició la interacción"); with a document its code is the
    document number (K2). The customer's address is added to its channels (a
    phone or WhatsApp number in E.164, by the channel the ticket started on, M12).

    Raises:
        UnknownTicket: no such ticket.
        RuleViolation: the ticket is already linked to a contact, or bad input.
        DuplicateContact, InvalidDocument, InvalidChannel, ...: as create_contact.
    """
    wanted = checks.ticket_number(number, "ticket number", UnknownTicket)
    who, when = checks.agent(agent), checks.aware(at)
    if isinstance(channels, str | bytes) or not isinstance(channels, Sequence):
        raise RuleViolation(f"channels {_show(channels)} are not valid: expected a sequence")
    with store.unit_of_work() as uow:
        ticket = uow.get_ticket(wanted)
        if ticket is None:
            raise UnknownTicket(f"no ticket with number {_show(wanted)}")
        if ticket.contact is not None:
            raise RuleViolation(
                f"ticket {wanted} is already linked to contact {_show(ticket.contact)}: "
                "expected an unlinked ticket"
            )
        own = customer_channel(ticket)
        contact = create_contact(
            store,
            campaign=ticket.campaign,
            first_names=first_names,
            last_names=last_names,
            document=document,
            company=company,
            vip=vip,
            channels=[*([own] if own is not None else []), *channels],
            addresses=addresses,
            custom=custom,
            gender=gender,
            tags=tags,
            notes=notes,
            at=when,
            agent=who,
        )
        link_ticket(store, number=wanted, contact=contact.code, agent=who, at=when)
        uow.commit()
    return contact
