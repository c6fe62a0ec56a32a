"""Contact services: create, edit, read and search contacts in one unit of work each (K1-K17).

Each service loads through the store, applies the rules of
:mod:`ccdomain.rules.contacts` and saves in one unit of work, validating
everything before the first write (E2). Every change records an event naming
the changed fields, never their values (T11, I4); an edit that changes nothing
records nothing (K17).

- K1/K2 :func:`create_contact`: the code is the document's compact number, else the
  campaign's next ``C-000031``; a second contact with the same code is refused.
- K11 :func:`update_contact` keeps the code, and refuses a document that is the code
  of another contact of the campaign.
- K5 phones, K8 addresses: :func:`add_contact_phone`, :func:`edit_contact_phone`,
  :func:`delete_contact_phone`, :func:`add_contact_address`,
  :func:`remove_contact_address`, :func:`set_contact_primary_address`.
- K10 :func:`search_contacts`; K17 :func:`get_contact`, :func:`resolve_contact_code`
  (a merged code names the live contact, :func:`live_contact`).

Readers (:func:`get_contact`, :func:`search_contacts`, :func:`resolve_contact_code`,
:func:`contact_detail_view`) take a store or a unit of work.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeVar

import attrs

from ccdomain import checks
from ccdomain._deprecation import accepts_old_call, warn_deprecated
from ccdomain.errors import DuplicateContact
from ccdomain.events import ContactCreated, ContactUpdated, Event, EventKind
from ccdomain.models import Address, Campaign, ChannelKind, Company, Contact
from ccdomain.ports import Store, UnitOfWork
from ccdomain.rules.addresses import add_address, address_from, remove_address, set_primary_address
from ccdomain.rules.contacts import (
    CONTACT_FIELDS,
    ContactDetail,
    add_phone,
    build_contact,
    code_for,
    contact_detail,
    delete_phone,
    edit_contact,
    edit_phone,
    generated_code,
    make_company,
    require_contact,
)
from ccdomain.rules.custom_fields import copied_custom
from ccdomain.rules.identities import contact_fingerprint
from ccdomain.rules.search import contact_matcher
from ccdomain.services._common import declared_campaign, live_contact, reading, recorder
from ccdomain.services.companies import company_named

__all__ = [
    "add_contact_address",
    "add_contact_phone",
    "contact_detail_view",
    "create_contact",
    "delete_contact_phone",
    "edit_contact_phone",
    "get_contact",
    "live_contact",
    "remove_contact_address",
    "resolve_contact_code",
    "search_contacts",
    "set_contact_primary_address",
    "update_contact",
]

_F = TypeVar("_F", bound=Callable[..., Any])
_UNNUMBERED: Final = "C-000000"
"""The code a contact without document is built with until the store numbers it."""


# --- reading -----------------------------------------------------------------------------------


@accepts_old_call(("campaign", "code"))
def resolve_contact_code(store: Store | UnitOfWork, *, campaign: str, code: str) -> str:
    """The code of the live contact ``code`` refers to (:func:`live_contact`, M5).

    Raises:
        UnknownContact: no contact with that code in the campaign.
        RuleViolation: the tombstones form a cycle.
    """
    with reading(store) as uow:
        return live_contact(uow, campaign, code).code


@accepts_old_call(("campaign", "code"))
def get_contact(store: Store | UnitOfWork, *, campaign: str, code: str) -> Contact:
    """The live contact ``code`` refers to in ``campaign`` (a merged code resolves, M5).

    Raises:
        UnknownContact: no contact with that code.
    """
    with reading(store) as uow:
        return live_contact(uow, campaign, code)


def _old_search_gives_a_list(func: _F) -> _F:
    """Keep ``search_contacts(store, campaign, query)`` working: warned, and a list as before."""
    names = ("campaign", "query")

    @functools.wraps(func)
    def search(*args: Any, **kwargs: Any) -> Any:
        if len(args) <= 1:
            return func(*args, **kwargs)
        if len(args) > 1 + len(names):
            raise TypeError(
                f"search_contacts() takes at most 3 positional arguments, {len(args)} given"
            )
        moved = dict(zip(names, args[1:], strict=False))
        for name in moved:
            if name in kwargs:
                raise TypeError(f"search_contacts() got multiple values for argument {name!r}")
        warn_deprecated(
            f"calling search_contacts() with positional {', '.join(moved)}",
            "keyword arguments as documented",
        )
        return list(func(args[0], **moved, **kwargs))

    return search  # type: ignore[return-value]


@_old_search_gives_a_list
def search_contacts(
    store: Store | UnitOfWork, *, query: str, campaign: str | None = None
) -> tuple[Contact, ...]:
    """Live contacts of a campaign (or of all when ``None``) matching the query (K10).

    Results come in (campaign, code) order; an empty query lists every live contact.

    Raises:
        UnknownCampaign: the campaign is not declared.
        RuleViolation: the query is not a text.
    """
    text = checks.name(query, "search query")
    with reading(store) as uow:
        if campaign is not None:
            declared_campaign(uow, campaign)
        regions = {c.id: c.region for c in uow.list_campaigns()}
        matchers: dict[str, Callable[[Contact, str], bool]] = {}
        names: dict[str, str] = {}
        found: list[Contact] = []
        for contact in uow.list_contacts(campaign):
            if contact.merged_into is not None:
                continue
            region = regions.get(contact.campaign, "PE")
            match = matchers.get(region)
            if match is None:
                match = matchers[region] = contact_matcher(text, region)
            company = ""
            if contact.company is not None:
                if contact.company not in names:
                    stored = uow.get_company(contact.company)
                    names[contact.company] = stored.name if stored else contact.company
                company = names[contact.company]
            if match(contact, company):
                found.append(contact)
    return tuple(found)


@accepts_old_call(("contact",))
def contact_detail_view(store: Store | UnitOfWork, *, contact: Contact) -> ContactDetail:
    """The detail view of a contact (002): channels grouped by kind, company, addresses.

    Addresses come with the primary first, the others in the order added
    (:func:`ccdomain.rules.contacts.contact_detail`).

    Raises:
        RuleViolation: ``contact`` is not a Contact.
    """
    require_contact(contact)
    with reading(store) as uow:
        company = uow.get_company(contact.company) if contact.company is not None else None
    return contact_detail(contact, company)


# --- creating and editing -------------------------------------------------------------------------


def _event(
    kind: EventKind, contact: Contact, at: dt.datetime, actor: str | None, fields: Iterable[str]
) -> Event:
    # Only field names, never values: the log must hold no personal data (I4). The
    # fingerprint is one-way, and anonymization blanks it (I11).
    names = tuple(sorted(fields))
    return Event(
        kind=kind,
        at=at,
        actor=actor,
        campaign=contact.campaign,
        contact=contact.code,
        payload=ContactCreated(fields=names, fingerprint=contact_fingerprint(contact))
        if kind is EventKind.CONTACT_CREATED
        else ContactUpdated(fields=names),
    )


def _known_company(uow: UnitOfWork, ref: object) -> tuple[Company, ...]:
    found = company_named(uow, ref)
    return () if found is None else (found,)


def _store_new_company(uow: UnitOfWork, contact: Contact, ref: object) -> None:
    """Create the company ``ref`` names when no stored one has the contact's company id (K16)."""
    if contact.company is not None and uow.get_company(contact.company) is None:
        uow.put_company(make_company(ref))


@accepts_old_call(("campaign",), renamed={"actor": "agent"})
def create_contact(
    store: Store,
    *,
    campaign: str,
    first_names: object = "",
    last_names: object = "",
    document: object = None,
    company: object = None,
    vip: object = False,
    channels: object = (),
    addresses: object = (),
    custom: object = None,
    gender: object = "",
    tags: object = (),
    notes: object = "",
    agent: str | None = None,
    at: dt.datetime,
) -> Contact:
    """Create a contact in a campaign (K1, K2), validating everything first (E2).

    The contact is :func:`ccdomain.rules.contacts.build_contact` of the fields; the
    store adds the code of a contact without document (the campaign's next
    ``C-000031``), refuses a document already used as a code, and creates a
    company named by a name it does not know.

    Args:
        store: the store.
        campaign: the campaign id.
        first_names: the first names.
        last_names: the last names.
        gender: the gender, as typed.
        notes: free notes.
        document: a Document, a mapping {type, number} or a (type, number) pair.
        company: a company id or name (a company unknown by both is created by name).
        vip: the VIP flag.
        channels: ContactChannel or mappings {kind, value[, label]}, normalized (K4).
        addresses: Address or mappings; the first is primary unless one asks (K8).
        custom: custom field values, checked against the campaign template (K9).
        tags: short texts.
        agent: who did it.
        at: when it happened (with a UTC offset).

    Raises:
        UnknownCampaign: the campaign is not declared.
        DuplicateContact: the campaign has a contact with the code (K2).
        InvalidDocument: naming the bad document.
        InvalidChannel: naming the bad channel.
        InvalidPhoneNumber: naming the bad phone.
        InvalidAddress: naming the bad address.
        InvalidCustomField: naming the bad custom field.
        RuleViolation: any other value that is not valid.
    """
    when, who = checks.aware(at), checks.actor(agent, "agent")
    with store.unit_of_work() as uow:
        found = declared_campaign(uow, campaign)
        contact = build_contact(
            found,
            code=None if document is not None else _UNNUMBERED,
            first_names=first_names,
            last_names=last_names,
            document=document,
            company=company,
            vip=vip,
            channels=channels,
            addresses=addresses,
            custom=custom,
            gender=gender,
            tags=tags,
            notes=notes,
            companies=_known_company(uow, company),
        )
        if document is None:
            # Numbered only once every field is valid: a store may never hand out a number
            # twice, even when the unit of work rolls back (SQLite), and a refused contact
            # must not use one up.
            number = uow.next_contact_number(found.id)
            # X5: a contact copied from another campaign may hold a generated code of this
            # one's sequence already; the next free number is taken.
            while uow.get_contact(found.id, generated_code(number)) is not None:
                number = uow.next_contact_number(found.id)
            contact = attrs.evolve(contact, code=generated_code(number))
        elif uow.get_contact(found.id, contact.code) is not None:
            raise DuplicateContact(
                f"a contact with code {contact.code!r} already exists in campaign {found.id!r}: "
                "expected a document not used by another contact of the campaign"
            )
        _store_new_company(uow, contact, company)
        uow.add_contact(contact)
        set_fields = [name for name in CONTACT_FIELDS if getattr(contact, name)]
        recorder(uow)(_event(EventKind.CONTACT_CREATED, contact, when, who, set_fields))
        uow.commit()
    return contact


def copy_contact_into(
    uow: UnitOfWork, source: Contact, campaign: Campaign, *, agent: str | None, at: dt.datetime
) -> Contact:
    """X5 inside a unit of work: ``source`` (a live contact of another campaign) created in
    ``campaign`` with the same code, its CONTACT_CREATED event naming where it came from.

    Copied: names, document, company, VIP, gender, channels, addresses, and the custom
    values whose field the campaign's template has and whose value fits it (X9); tags
    and notes stay with the campaign they were written in. Arguments already checked;
    the caller commits.

    Raises:
        DuplicateContact: ``campaign`` has a contact with that code.
        InvalidCustomField: the campaign's template requires a field the copy has no
            value for; the validation errors of :func:`create_contact`.
    """
    if uow.get_contact(campaign.id, source.code) is not None:
        raise DuplicateContact(
            f"a contact with code {source.code!r} already exists in campaign {campaign.id!r}; "
            f"expected a code not used there to copy contact {source.code!r} of campaign "
            f"{source.campaign!r} (X5)"
        )
    contact = build_contact(
        campaign,
        code=source.code,
        first_names=source.first_names,
        last_names=source.last_names,
        document=source.document,
        company=source.company,
        vip=source.vip,
        channels=source.channels,
        addresses=source.addresses,
        custom=copied_custom(campaign.custom_fields, source.custom),
        gender=source.gender,
        companies=_known_company(uow, source.company),
    )
    uow.add_contact(contact)
    names = tuple(sorted(name for name in CONTACT_FIELDS if getattr(contact, name)))
    recorder(uow)(
        Event(
            kind=EventKind.CONTACT_CREATED,
            at=at,
            actor=agent,
            campaign=contact.campaign,
            contact=contact.code,
            payload=ContactCreated(
                fields=names,
                fingerprint=contact_fingerprint(contact),
                copied_from=source.campaign,
            ),
        ),
    )
    return contact


def _edit(
    store: Store,
    campaign: str,
    code: str,
    at: dt.datetime,
    agent: str | None,
    change: Callable[[UnitOfWork, Campaign, Contact], Contact],
) -> Contact:
    """Load a live contact, apply ``change`` and save it with an event, in one unit of work."""
    when, who = checks.aware(at), checks.actor(agent, "agent")
    with store.unit_of_work() as uow:
        found = declared_campaign(uow, campaign)
        before = live_contact(uow, found.id, code)
        after = change(uow, found, before)
        if after == before:
            return before
        changed = [
            f.name
            for f in attrs.fields(Contact)
            if getattr(before, f.name) != getattr(after, f.name)
        ]
        uow.update_contact(after)
        recorder(uow)(_event(EventKind.CONTACT_UPDATED, after, when, who, changed))
        uow.commit()
    return after


@accepts_old_call(("campaign", "code"), renamed={"actor": "agent"})
def update_contact(
    store: Store,
    *,
    campaign: str,
    code: str,
    agent: str | None = None,
    at: dt.datetime,
    **changes: object,
) -> Contact:
    """Change fields of a contact: those of :func:`create_contact` (E2, K11, K17).

    ``channels`` and ``addresses`` replace the lists; ``custom`` changes only the
    fields given (``None`` removes one). The code never changes, even with a new
    document (K11). A merged contact's code edits the contact it was merged into (K17).

    Raises:
        UnknownContact: no such contact.
        UnknownCampaign: the campaign is not declared.
        DuplicateContact: the new code is another contact's.
        RuleViolation: an unknown field; and the validation errors of
            :func:`create_contact`.
    """

    def change(uow: UnitOfWork, found: Campaign, before: Contact) -> Contact:
        ref = changes.get("company")
        after = edit_contact(found, before, changes, companies=_known_company(uow, ref))
        doc = after.document
        if "document" in changes and doc is not None and doc != before.document:
            other = uow.get_contact(found.id, code_for(doc))
            if other is not None and other.code != before.code:
                raise DuplicateContact(
                    f"document {doc.number!r} is the code of contact {other.code!r} in campaign "
                    f"{found.id!r}: expected a document not used by another contact"
                )
        if "company" in changes:
            _store_new_company(uow, after, ref)
        return after

    return _edit(store, campaign, code, at, agent, change)


@accepts_old_call(("campaign", "code", "phone"), renamed={"actor": "agent", "raw": "phone"})
def add_contact_phone(
    store: Store,
    *,
    campaign: str,
    code: str,
    phone: object,
    kind: object = ChannelKind.PHONE,
    label: object = "",
    agent: str | None = None,
    at: dt.datetime,
) -> Contact:
    """Add a phone to a contact, normalized with the campaign's region (K5)."""
    return _edit(
        store, campaign, code, at, agent, lambda _, c, k: add_phone(k, phone, c.region, kind, label)
    )


@accepts_old_call(("campaign", "code", "old", "new"), renamed={"actor": "agent", "new_raw": "new"})
def edit_contact_phone(
    store: Store,
    *,
    campaign: str,
    code: str,
    old: object,
    new: object,
    agent: str | None = None,
    at: dt.datetime,
) -> Contact:
    """Replace a phone of a contact, re-normalized (K5)."""
    return _edit(
        store, campaign, code, at, agent, lambda _, c, k: edit_phone(k, old, new, c.region)
    )


@accepts_old_call(("campaign", "code", "phone"), renamed={"actor": "agent", "value": "phone"})
def delete_contact_phone(
    store: Store,
    *,
    campaign: str,
    code: str,
    phone: object,
    agent: str | None = None,
    at: dt.datetime,
) -> Contact:
    """Delete a phone of a contact; the last one may go too (K5)."""
    return _edit(store, campaign, code, at, agent, lambda _, c, k: delete_phone(k, phone, c.region))


@accepts_old_call(("campaign", "code", "address"), renamed={"actor": "agent"})
def add_contact_address(
    store: Store,
    *,
    campaign: str,
    code: str,
    address: Address | Mapping[str, object],
    primary: bool = False,
    agent: str | None = None,
    at: dt.datetime,
) -> Contact:
    """Add an address (an Address or a mapping of its fields) to a contact (K8)."""
    return _edit(
        store,
        campaign,
        code,
        at,
        agent,
        lambda _, c, k: add_address(k, address_from(address), primary=primary),
    )


@accepts_old_call(("campaign", "code", "index"), renamed={"actor": "agent"})
def remove_contact_address(
    store: Store,
    *,
    campaign: str,
    code: str,
    index: int,
    agent: str | None = None,
    at: dt.datetime,
) -> Contact:
    """Remove the address at ``index`` of a contact; the oldest left becomes primary (K8)."""
    return _edit(store, campaign, code, at, agent, lambda _, c, k: remove_address(k, index))


@accepts_old_call(("campaign", "code", "index"), renamed={"actor": "agent"})
def set_contact_primary_address(
    store: Store,
    *,
    campaign: str,
    code: str,
    index: int,
    agent: str | None = None,
    at: dt.datetime,
) -> Contact:
    """Make the address at ``index`` the contact's primary address (K8)."""
    return _edit(store, campaign, code, at, agent, lambda _, c, k: set_primary_address(k, index))
