"""Matching services: the candidates for a phone or a contact, and the automatic link (M3, M4).

The lookups go through the store's phone indexes only: their cost does not grow
with the number of contacts. The tiers, ranking and link decision they apply are
in :mod:`ccdomain.rules.matching`.

- M3 :func:`find_candidates` ranks the contacts a phone may belong to;
  :func:`identity_candidates` the other contacts any phone of a contact matches.
- M4 :func:`auto_link_contact` is the automatic link of a ticket: the one EXACT
  contact of its campaign (:func:`exact_link_code` is its routing hot path, the
  same rule :func:`~ccdomain.rules.matching.decide_link` gives).
- M14 :func:`contact_activity`: a contact's most recent activity, the third
  tie-break of M3, is the later of its ``last_activity`` and the last activity of
  the tickets linked to it (routing writes tickets, never contacts).
- X1 :func:`address_link_code`: M4 for an email, Messenger or Instagram customer,
  through the store's identity index; :func:`auto_link_contact` takes the channel.
- X2 :func:`find_identities` reads a search typed by an agent as a phone, an
  email, a document number, a Messenger or Instagram id and a name, and ranks
  what each finds; :func:`identity_candidates` matches a contact's phones, emails,
  document and full name.

Decisions (docs/rules.md):

- X8 A search is read every way it can be: a text with ``@`` as an email (and,
  when it starts with ``@``, an Instagram handle); otherwise as a document number
  when, compacted, it is letters and digits with a digit; as a phone when it parses
  as one in the campaign's region (a text that does not is no error: the other
  readings answer); as a Messenger or Instagram id; and as a full name when it has
  a letter. A contact found several ways appears once, at its best tier.

Every reader accepts a store (it reads in a unit of work of its own) or a unit
of work.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Final

import attrs

from ccdomain import checks
from ccdomain._deprecation import accepts_old_call
from ccdomain._folding import name_key
from ccdomain.errors import InvalidPhoneNumber, RuleViolation
from ccdomain.errors import show as _show
from ccdomain.models import Channel, Contact
from ccdomain.phones import national_number, normalize_phone, phone_variants_with_reason
from ccdomain.ports import ContactRepository, Store, UnitOfWork
from ccdomain.rules.matching import (
    SUFFIX_DIGITS,
    Candidate,
    classify,
    customer_identity_key,
    document_key,
    identity_candidate,
    identity_keys,
    latest,
    national_or_none,
    rank,
)
from ccdomain.rules.tickets import PHONE_CHANNELS
from ccdomain.services._common import reading

__all__ = [
    "address_link_code",
    "auto_link_contact",
    "contact_activity",
    "exact_link_code",
    "find_candidates",
    "find_identities",
    "identity_candidates",
]

_DEFAULT_REGION: Final = "PE"
# What a contact repository given directly must have: find_candidates reads phones only,
# so a host's repository from before the identity index still serves it.
_PHONE_INDEXES: Final = ("contacts_by_phone", "contacts_by_national_number", "get_contact")
_INDEXES: Final = (*_PHONE_INDEXES, "contacts_by_identity")
_PHONE_LOOKING: Final = re.compile(r"[\d\s+().\-/]+")
_DOCUMENT_LOOKING: Final = re.compile(r"[0-9A-Z]*[0-9][0-9A-Z]*")

ContactKey = tuple[str, str]


def _activity(uow: object, contact: Contact) -> dt.datetime | None:
    latest_at = contact.last_activity
    tickets_for_contact = getattr(uow, "tickets_for_contact", None)
    if tickets_for_contact is None:
        return latest_at
    for ticket in tickets_for_contact(contact.campaign, contact.code):
        latest_at = latest(latest_at, ticket.last_activity_at or ticket.opened_at)
    return latest_at


@accepts_old_call(("contact",))
def contact_activity(store: Store | UnitOfWork, *, contact: Contact) -> dt.datetime | None:
    """A contact's most recent activity (M14): the later of its ``last_activity`` and the
    last activity (else the opening) of each ticket linked to it.

    Routing writes tickets, never contacts, so the tickets are where a contact's
    activity shows; a host that sets ``last_activity`` itself is heard too. A bare
    contact repository (without ``tickets_for_contact``) gives ``last_activity``.

    >>> import datetime as dt
    >>> from ccdomain.memory import MemoryStore
    >>> from ccdomain.models import Contact
    >>> seen = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    >>> contact_activity(MemoryStore(), contact=Contact(campaign="c", code="1", last_activity=seen))
    datetime.datetime(2026, 11, 2, 9, 30, tzinfo=datetime.timezone.utc)
    """
    if not isinstance(contact, Contact):
        raise RuleViolation(f"{_show(contact)} is not a Contact")
    with reading(store, ()) as uow:
        return _activity(uow, contact)


def _ranked(uow: object, candidates: list[Candidate], campaign: str | None) -> list[Candidate]:
    """Rank candidates, looking up each one's activity first when there are several (M14).

    A lone candidate needs no ranking, so routing's auto-link reads no tickets for it.
    """
    if len(candidates) < 2:
        return candidates
    return rank([attrs.evolve(c, activity=_activity(uow, c.contact)) for c in candidates], campaign)


def _candidates_for(
    uow: ContactRepository,
    e164: str,
    *,
    campaign: str | None,
    only_campaign: bool,
    exclude: ContactKey | None = None,
) -> list[Candidate]:
    """The best candidate per contact for an E.164 number: index lookups only (M3).

    One lookup finds the EXACT, NATIONAL and SUFFIX candidates together: numbers
    with the same national number share its last 7 digits (a national number
    shorter than that is its own suffix key, so the national index serves it).
    Then one EXACT lookup per national variant, which may differ in the last 7.
    A contact found once needs no (campaign, code) key: most lookups find one, and
    not reading its code saves a memory access in a large store.
    """
    nsn = national_number(e164)
    variants = dict(phone_variants_with_reason(e164))
    if len(nsn) >= SUFFIX_DIGITS:
        found = list(uow.contacts_by_phone_suffix(nsn[-SUFFIX_DIGITS:]))
    else:
        found = list(uow.contacts_by_national_number(nsn))
    for variant in variants:
        found.extend(uow.contacts_by_phone(variant))
    seen: set[ContactKey] | None = set() if len(found) > 1 or exclude is not None else None
    best: list[Candidate] = []
    for contact in found:
        if contact.merged_into is not None:
            continue
        if only_campaign and contact.campaign != campaign:
            continue
        if seen is not None:
            key = (contact.campaign, contact.code)
            if key in seen or key == exclude:
                continue
            seen.add(key)
        candidate = classify(contact, e164, nsn, variants)
        if candidate is not None:
            best.append(candidate)
    return best


def _region_for(uow: ContactRepository, campaign: str | None, region: object) -> object:
    if region is not None:
        return region
    found = uow.get_campaign(campaign) if campaign is not None else None
    return found.region if found is not None else _DEFAULT_REGION


@accepts_old_call(("phone",))
def find_candidates(
    store: Store | UnitOfWork,
    *,
    phone: str,
    campaign: str | None = None,
    region: str | None = None,
    only_campaign: bool = False,
) -> list[Candidate]:
    """The contacts that may own ``phone``, ranked, each with why it matched (M3).

    Tiers: EXACT (same E.164), NATIONAL (same national number, other country
    code), SUFFIX (last 7+ digits agree), VARIANT (national mobile quirks). A
    contact appears once, at its best tier. Inside a tier: contacts of
    ``campaign`` first (when given), then VIP, then most recent activity, then
    (campaign, code). Only index lookups: the cost does not grow with the number
    of contacts. Tombstones never match.

    Args:
        store: a store, or a unit of work (or any contact repository).
        phone: the number as typed or as E.164.
        campaign: the campaign asking (ranks its contacts first).
        region: the region for a number without country code; default: the
            campaign's region, else ``PE``.
        only_campaign: keep only contacts of ``campaign``.

    Raises:
        InvalidPhoneNumber: ``phone`` is not a valid number (M2).
        RuleViolation: ``only_campaign`` without a campaign, or a bad argument.

    Examples:
        >>> from ccdomain.memory import MemoryStore
        >>> from ccdomain.models import Contact, ContactChannel, ChannelKind
        >>> store = MemoryStore()
        >>> with store.unit_of_work() as uow:
        ...     uow.add_contact(Contact(campaign="ventas", code="12345678", channels=(
        ...         ContactChannel(kind=ChannelKind.PHONE, value="+51987654321"),)))
        ...     uow.commit()
        >>> [(c.contact.code, c.tier.value, c.reason)
        ...  for c in find_candidates(store, phone="987 654 321", campaign="ventas")]
        [('12345678', 'exact', 'same number +51987654321')]
    """
    with reading(store, _PHONE_INDEXES) as uow:
        return _find(uow, phone, campaign, region, only_campaign)


def _find(
    uow: UnitOfWork, phone: object, campaign: object, region: object, only_campaign: object
) -> list[Candidate]:
    wanted_campaign = None if campaign is None else checks.identifier(campaign, "campaign")
    checks.flag(only_campaign, "only_campaign")
    if only_campaign and wanted_campaign is None:
        raise RuleViolation("only_campaign=True needs a campaign: expected a campaign id")
    e164 = normalize_phone(phone, _region_for(uow, wanted_campaign, region))
    found = _candidates_for(uow, e164, campaign=wanted_campaign, only_campaign=bool(only_campaign))
    return _ranked(uow, found, wanted_campaign)


@accepts_old_call(("contact",))
def identity_candidates(
    store: Store | UnitOfWork, *, contact: Contact, only_campaign: bool = False
) -> list[Candidate]:
    """Other contacts that any phone of ``contact`` matches by the M3 tiers (issue: Identities).

    A contact appears once, at the best tier over all the phones; ranking as in
    :func:`find_candidates`, the contact's own campaign first.

    Raises:
        RuleViolation: ``contact`` is not a Contact, or ``store`` is neither a store
            nor a unit of work.
    """
    with reading(store, _INDEXES) as uow:
        return _identities(uow, contact, only_campaign)


def _identities(uow: UnitOfWork, contact: object, only_campaign: bool) -> list[Candidate]:
    if not isinstance(contact, Contact):
        raise RuleViolation(f"{_show(contact)} is not a Contact")
    key = (contact.campaign, contact.code)
    best: dict[ContactKey, Candidate] = {}
    for phone in contact.phones:
        if national_or_none(phone) is None:
            continue
        found = _candidates_for(
            uow, phone, campaign=contact.campaign, only_campaign=only_campaign, exclude=key
        )
        _keep_best(best, found)
    for kind, value in identity_keys(contact):
        _keep_best(
            best,
            _by_identity(uow, kind, value, campaign=contact.campaign, only_campaign=only_campaign),
            exclude=key,
        )
    return _ranked(uow, list(best.values()), contact.campaign)


def _keep_best(
    best: dict[ContactKey, Candidate],
    found: Iterable[Candidate],
    exclude: ContactKey | None = None,
) -> None:
    """Keep each contact once, at the best tier it was found by (M3, X2)."""
    for candidate in found:
        other = (candidate.contact.campaign, candidate.contact.code)
        if other == exclude:
            continue
        current = best.get(other)
        if current is None or candidate.tier.rank < current.tier.rank:
            best[other] = candidate


def _by_identity(
    uow: ContactRepository, kind: str, key: str, *, campaign: str | None, only_campaign: bool
) -> list[Candidate]:
    """The candidates one identity key finds: one index lookup (X1, X2)."""
    return [
        identity_candidate(contact, kind, key)
        for contact in uow.contacts_by_identity(kind, key)
        if contact.merged_into is None and (not only_campaign or contact.campaign == campaign)
    ]


def find_identities(
    store: Store | UnitOfWork,
    *,
    query: str,
    campaign: str | None = None,
    region: str | None = None,
    only_campaign: bool = False,
) -> list[Candidate]:
    """The contacts a search typed by an agent finds, ranked, each with its reason (X2, X8).

    The query is read as an email, a document number, a phone (M3 tiers), a
    Messenger or Instagram id and a full name, whichever it can be; a contact
    found several ways appears once, at its best tier. Tiers rank document >
    phone exact > email > Messenger/Instagram > phone national, suffix, variant >
    name; inside a tier as :func:`find_candidates` (same campaign, VIP, recent
    activity, then campaign and code). Index lookups only: the cost does not grow
    with the number of contacts. A phone that does not parse is no error.

    Args:
        store: a store, or a unit of work (or any contact repository).
        query: what the agent typed.
        campaign: the campaign asking (ranks its contacts first; its region reads phones).
        region: the region for a phone without country code (default: the campaign's).
        only_campaign: keep only contacts of ``campaign``.

    Raises:
        RuleViolation: an empty query, ``only_campaign`` without a campaign, or a bad
            argument.

    Examples:
        >>> from ccdomain.memory import MemoryStore
        >>> from ccdomain.models import Contact, ContactChannel, ChannelKind
        >>> store = MemoryStore()
        >>> with store.unit_of_work() as uow:
        ...     uow.add_contact(Contact(campaign="ventas", code="C-000001", channels=(
        ...         ContactChannel(kind=ChannelKind.EMAIL, value="jose@example.com"),)))
        ...     uow.commit()
        >>> [(c.contact.code, c.tier.value, c.reason)
        ...  for c in find_identities(store, query="Jose@Example.com", campaign="ventas")]
        [('C-000001', 'email', 'same email jose@example.com')]
    """
    with reading(store, _INDEXES) as uow:
        return _search(uow, query, campaign, region, only_campaign)


def _search(
    uow: UnitOfWork, query: object, campaign: object, region: object, only_campaign: object
) -> list[Candidate]:
    text = checks.identifier(query, "query", limit=checks.ADDRESS_MAX)
    wanted = None if campaign is None else checks.identifier(campaign, "campaign")
    checks.flag(only_campaign, "only_campaign")
    if only_campaign and wanted is None:
        raise RuleViolation("only_campaign=True needs a campaign: expected a campaign id")
    only = bool(only_campaign)
    keys: list[tuple[str, str]] = []
    if "@" in text:
        email = customer_identity_key(Channel.EMAIL, text)
        if email is not None:
            keys.append(email)
        if text.startswith("@") and text.count("@") == 1:
            keys.append(("instagram", text[1:].lower()))
    else:
        compact = document_key(text)
        if _DOCUMENT_LOOKING.fullmatch(compact):
            keys.append(("document", compact))
        keys.append(("messenger", text))
        keys.append(("instagram", text.lower()))
        if any(ch.isalpha() for ch in text):
            keys.append(("name", name_key(text)))
    best: dict[ContactKey, Candidate] = {}
    if "@" not in text and _PHONE_LOOKING.fullmatch(text):
        try:
            e164 = normalize_phone(text, _region_for(uow, wanted, region))
        except InvalidPhoneNumber:
            e164 = None
        if e164 is not None:
            _keep_best(best, _candidates_for(uow, e164, campaign=wanted, only_campaign=only))
    for kind, key in dict.fromkeys(keys):
        _keep_best(best, _by_identity(uow, kind, key, campaign=wanted, only_campaign=only))
    return _ranked(uow, list(best.values()), wanted)


def exact_link_code(uow: ContactRepository, campaign: str, customer: str) -> str | None:
    """M4 on the routing hot path: the code of the one contact of ``campaign`` with the
    customer's E.164 number, else None. Arguments already checked; one index lookup.

    Only EXACT candidates can decide, so the other tiers are not searched; the result
    is the one :func:`~ccdomain.rules.matching.decide_link` gives on the full list.
    """
    found = uow.contacts_by_phone(customer)
    if not found:  # most routed customers: no contact holds the number
        return None
    exact = [c for c in found if c.campaign == campaign]
    return exact[0].code if len(exact) == 1 else None


def address_link_code(
    uow: ContactRepository, campaign: str, channel: Channel, customer: str
) -> str | None:
    """X1: M4 for a customer on ``channel``: the code of the one live contact of ``campaign``
    holding the customer's address, else None (several: an agent chooses among them).

    Phone channels (call, SMS, WhatsApp) go through :func:`exact_link_code`; an email,
    Messenger or Instagram address through one identity index lookup
    (:func:`~ccdomain.rules.matching.customer_identity_key`); a web chat id links nothing (X7).
    """
    if channel in PHONE_CHANNELS:
        return exact_link_code(uow, campaign, customer)
    key = customer_identity_key(channel, customer)
    if key is None:
        return None
    found = [
        c
        for c in uow.contacts_by_identity(*key)
        if c.campaign == campaign and c.merged_into is None
    ]
    return found[0].code if len(found) == 1 else None


@accepts_old_call(("campaign", "customer"))
def auto_link_contact(
    store: Store | UnitOfWork,
    *,
    campaign: str,
    customer: str,
    channel: Channel | str | None = None,
) -> str | None:
    """The code of the contact a ticket of ``customer`` in ``campaign`` links to (M4, X1).

    A ticket is linked automatically only when exactly one live contact of the
    ticket's campaign holds the customer's address: its E.164 number (one EXACT
    candidate) on a phone channel, its email, Messenger or Instagram id on those;
    otherwise it stays unlinked (``None``) and the candidates are offered
    (:func:`find_identities`). Without ``channel``, the customer is read as a phone
    when it is an E.164 number, as an email when it holds ``@``.

    Raises:
        RuleViolation, InvalidChannel: the campaign, customer or channel is not valid
            (E3: one SQLite could not hold is refused here, on every store), or
            ``store`` is neither a store nor a unit of work.
    """
    campaign = checks.identifier(campaign, "campaign")
    customer = checks.identifier(customer, "customer", limit=checks.ADDRESS_MAX)
    if channel is None:
        kind = Channel.EMAIL if "@" in customer else Channel.CALL
    else:
        kind = checks.member(channel, Channel, "channel")
    needs = _PHONE_INDEXES if kind in PHONE_CHANNELS else _INDEXES
    with reading(store, needs) as uow:
        return address_link_code(uow, campaign, kind, customer)
