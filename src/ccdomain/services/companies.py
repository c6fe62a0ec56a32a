"""Companies of contacts: find by tax id or name, create when unknown (K16).

- K16 A company's id is its tax document's compact number, else ``"N:"`` and its
  folded name (:func:`ccdomain.rules.contacts.make_company`); find-or-create looks
  up the tax id, else the folded name, through the store's name index
  (:class:`~ccdomain.ports.CompanyNameIndex`) when it has one, never by listing
  every company otherwise needed.
"""

from __future__ import annotations

import datetime as dt

from ccdomain import checks
from ccdomain._deprecation import accepts_old_call
from ccdomain._folding import name_key
from ccdomain.errors import CcdomainError
from ccdomain.models import Company
from ccdomain.ports import CompanyNameIndex, ContactRepository, Store, UnitOfWork
from ccdomain.rules.contacts import make_company
from ccdomain.services._common import reading

__all__ = ["company_named", "find_company", "find_or_create_company", "store_company"]


def _company_by_name(uow: ContactRepository, name: str) -> Company | None:
    key = name_key(name)
    found = uow.get_company("N:" + key)
    if found is not None:
        return found
    if isinstance(uow, CompanyNameIndex):
        return uow.company_by_name_key(key)
    return next((c for c in uow.list_companies() if name_key(c.name) == key), None)


def store_company(uow: ContactRepository, company: Company) -> Company:
    """The stored company with ``company``'s tax id (else its name), or ``company`` stored (K16)."""
    if company.tax_id is not None:
        found = uow.get_company(company.id)
    else:
        found = _company_by_name(uow, company.name)
    if found is None:
        uow.put_company(company)
        found = company
    return found


def company_named(uow: ContactRepository, ref: object) -> Company | None:
    """The stored company a contact's ``company`` reference names, or None (K16).

    The company with that id, else the one with that name (folded, whitespace
    collapsed). None also when ``ref`` is not a valid reference: building the
    contact names what is wrong with it.
    """
    try:
        if ref is None:
            return None
        text = make_company(ref).name
        found = uow.get_company(text)
        return found if found is not None else _company_by_name(uow, text)
    except CcdomainError:
        return None


@accepts_old_call(("name", "tax_id"), renamed={"actor": "agent"})
def find_or_create_company(
    store: Store,
    *,
    name: object,
    tax_id: object = None,
    address: object = None,
    phone: object = None,
    region: object = "PE",
    agent: str | None = None,
    at: dt.datetime,
) -> Company:
    """The company with that tax id, else (without a tax id) that name, else a new one (K16).

    Args:
        store: the store.
        name: the company name.
        tax_id: its tax document: a Document, a mapping {type, number} or a pair.
        address: an Address or a mapping of its fields.
        phone: a phone number, normalized with ``region``.
        region: default region of the phone.
        agent: who asked.
        at: when (with a UTC offset).

    Raises:
        RuleViolation, InvalidDocument, InvalidAddress, InvalidPhoneNumber: bad input.
    """
    company = make_company(name, tax_id, address, phone, region)
    checks.aware(at)
    checks.actor(agent, "agent")
    with store.unit_of_work() as uow:
        found = store_company(uow, company)
        uow.commit()
    return found


@accepts_old_call(("ref",))
def find_company(store: Store | UnitOfWork, *, ref: object) -> Company | None:
    """The stored company a contact's ``company`` reference names, without creating one.

    The same lookup :func:`ccdomain.services.contacts.create_contact` makes (K16): the
    company with that id, else the one with that name (folded, whitespace collapsed).
    None when no company matches, or ``ref`` is not a valid reference (creating the
    contact would say why).

    Raises:
        RuleViolation: ``store`` is neither a store nor a unit of work.
    """
    with reading(store) as uow:
        return company_named(uow, ref)
