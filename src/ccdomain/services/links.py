"""Linking tickets to contacts: the one link service, the automatic link, contact from ticket.

- M4 routing links a ticket automatically on exactly one EXACT contact of its
  campaign (:func:`auto_link`); otherwise the candidates are offered and an agent
  links it (:func:`link_ticket`) or creates the contact from the ticket
  (:func:`create_contact_from_ticket`).
- M8 A ticket links only to a contact of its own campaign; linking a merged code
  links the contact it was merged into.

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
from ccdomain.errors import RuleViolation, UnknownTicket
from ccdomain.errors import show as _show
from ccdomain.events import LinkHow
from ccdomain.models import Contact, Ticket
from ccdomain.ports import Store, UnitOfWork
from ccdomain.rules.matching import customer_channel
from ccdomain.rules.tickets import PHONE_CHANNELS, contact_linked_event
from ccdomain.services._common import live_contact
from ccdomain.services.contacts import create_contact
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
    uow.append_event(contact_linked_event(linked, LinkHow.AUTO, None, at))
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
) -> Ticket:
    """Link a ticket to a contact of its campaign by hand (M4's alternative, M8, T19).

    Name the ticket by number, or by campaign and ``customer`` (its open ticket, else
    the customer's latest ticket there). ``contact`` is the contact's code; a merged
    contact resolves to its survivor. Linking the contact it already has changes
    nothing.

    Raises:
        UnknownTicket: no such ticket. UnknownContact: no such contact in the ticket's
            campaign. RuleViolation: the campaign is not the ticket's, or bad input.
    """
    code = checks.identifier(contact, "contact code")
    agent = checks.actor(agent, "agent")
    at = checks.aware(at)
    with store.unit_of_work() as uow:
        ticket = find_ticket(
            uow, number=number, campaign=campaign, customer=customer, latest_if_none_open=True
        )
        found = live_contact(uow, ticket.campaign, code)
        if ticket.contact == found.code:
            return ticket
        updated = attrs.evolve(ticket, contact=found.code)
        uow.update_ticket(updated)
        uow.append_event(contact_linked_event(updated, LinkHow.MANUAL, agent, at))
        uow.commit()
    return updated


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
