"""Export of everything held about a contact (I5, I8, I12).

- I5 :func:`export_contact` / :func:`export_json`: one
  :class:`~ccdomain.rules.identities.ContactExport` document, read back with
  ``ccdomain.serialization.from_json(text, ContactExport)``.
- I8 The export (and the anonymization, which starts from it) takes the tickets
  linked to the contact and also the unlinked tickets of the campaign whose
  customer address is one of the contact's channels and no other live contact's:
  they are about that person but were never linked (M4 left them for an agent).
- I12 The export holds: the contact, its company, the codes merged into it, each
  case (ticket, interactions, typifications, comments), each product (payments,
  promises), the blocks of its addresses, the refused interactions of its
  addresses, and every other event naming the contact, one of its tickets or
  products, or one of its addresses in its campaign; and the opt-outs of its
  addresses (W3).
"""

from __future__ import annotations

from collections.abc import Collection

from ccdomain._deprecation import accepts_old_call
from ccdomain.errors import CcdomainError
from ccdomain.events import (
    Event,
    InteractionRefused,
    Payload,
    PaymentRecorded,
    PaymentReversed,
    Personal,
    ProductDeclared,
    PromiseCancelled,
    PromiseMade,
    personal_values,
)
from ccdomain.models import Contact, Ticket
from ccdomain.ports import Store, UnitOfWork
from ccdomain.rules.identities import (
    CaseRecord,
    ContactExport,
    ProductRecord,
    contact_addresses,
)
from ccdomain.serialization import to_json
from ccdomain.services._common import live_contact, reading
from ccdomain.services.identities import live_contact_in

__all__ = ["export_contact", "export_document", "export_json", "held_tickets", "tombstones"]


def held_tickets(uow: UnitOfWork, contact: Contact) -> list[Ticket]:
    """I8: linked tickets, plus unlinked ones of its addresses that no other contact shares."""
    found = {t.number: t for t in uow.tickets_for_contact(contact.campaign, contact.code)}
    own = contact_addresses(contact)
    if own:
        shared = {
            channel.value
            for other in uow.list_contacts(contact.campaign)
            if other.code != contact.code and other.merged_into is None
            for channel in other.channels
        }
        for address in own:
            if address in shared:
                continue
            for ticket in uow.tickets_for_customer(address, contact.campaign):
                if ticket.contact is None:
                    found.setdefault(ticket.number, ticket)
    return [found[n] for n in sorted(found)]


def tombstones(uow: UnitOfWork, contact: Contact) -> list[Contact]:
    """The merge tombstones of the campaign that resolve to ``contact`` (M5)."""
    result = []
    for other in uow.list_contacts(contact.campaign):
        if other.merged_into is None:
            continue
        try:
            live = live_contact(uow, contact.campaign, other.code).code
        except CcdomainError:
            continue
        if live == contact.code:
            result.append(other)
    return result


def _product_of(payload: Payload) -> str | None:
    """The product a collections event is about; None for other events."""
    if isinstance(payload, ProductDeclared | PaymentRecorded | PaymentReversed):
        return payload.product
    if isinstance(payload, PromiseMade | PromiseCancelled):
        return payload.product
    return None


def _names_an_address(payload: Payload, addresses: Collection[str]) -> bool:
    """Whether a payload names one of these customer addresses."""
    return any(
        kind is Personal.ADDRESS and value in addresses for kind, value in personal_values(payload)
    )


def export_document(uow: UnitOfWork, contact: Contact) -> ContactExport:
    """Everything the unit of work holds about a live contact (I12)."""
    campaign = contact.campaign
    tickets = held_tickets(uow, contact)
    merged = tombstones(uow, contact)
    codes = {contact.code, *(t.code for t in merged)}
    numbers = {t.number for t in tickets}
    addresses = {*contact_addresses(contact), *(t.customer for t in tickets)}
    cases = tuple(
        CaseRecord(
            ticket=t,
            interactions=tuple(uow.interactions(t.number)),
            typifications=tuple(uow.typifications(t.number)),
            comments=tuple(uow.comments(t.number)),
        )
        for t in tickets
    )
    products = tuple(
        ProductRecord(
            product=p,
            payments=tuple(uow.payments_for_product(p.id)),
            promises=tuple(uow.promises_for_product(p.id)),
        )
        for p in uow.products_for_contact(campaign, contact.code)
    )
    product_ids = {r.product.id for r in products}
    addresses |= {p.customer for r in products for p in r.promises if p.customer is not None}
    blocks = tuple(
        block
        for address in sorted(addresses)
        if (block := uow.get_block(campaign, address)) is not None
    )
    refused: list[Event] = []
    events: list[Event] = []
    for event in uow.events():
        payload = event.payload
        if type(payload) is InteractionRefused:
            if event.campaign == campaign and payload.customer in addresses:
                refused.append(event)
        elif (
            event.contact in codes
            or event.ticket in numbers
            or _product_of(payload) in product_ids
            or (event.campaign == campaign and _names_an_address(payload, addresses))
        ):
            events.append(event)
    company = None if contact.company is None else uow.get_company(contact.company)
    return ContactExport(
        campaign=campaign,
        code=contact.code,
        contact=contact,
        company=company,
        merged_codes=tuple(t.code for t in merged),
        cases=cases,
        products=products,
        blocks=blocks,
        refused=tuple(refused),
        events=tuple(events),
        opt_outs=tuple(o for o in uow.opt_outs(campaign) if o.customer in addresses),
    )


@accepts_old_call(positional=("campaign", "code"), renamed={"source": "store"})
def export_contact(store: Store | UnitOfWork, *, campaign: str, code: str) -> ContactExport:
    """Everything held about a contact, as one document (I5, I12).

    A merged code exports the contact it was merged into. Serialize it with
    :func:`export_json` (or ``ccdomain.serialization.to_json``); read it back with
    ``from_json(text, ContactExport)``.

    Raises:
        UnknownCampaign: the campaign is not declared.
        UnknownContact: no such contact in it.
    """
    with reading(store) as uow:
        return export_document(uow, live_contact_in(uow, campaign, code))


@accepts_old_call(positional=("campaign", "code"), renamed={"source": "store"})
def export_json(store: Store | UnitOfWork, *, campaign: str, code: str) -> str:
    """The JSON text of :func:`export_contact` (what ``ccdomain export`` prints, I5).

    Raises:
        UnknownCampaign: the campaign is not declared.
        UnknownContact: no such contact in it.
    """
    return to_json(export_contact(store, campaign=campaign, code=code))
