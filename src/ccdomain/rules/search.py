"""Contact search: the words an agent types against a contact (rules K10, K15).

- K10 Words match names, company, code, document, emails and phones, case- and
  accent-insensitive (``"jose"`` finds ``"José"``); a phone-looking query is
  normalized first; every word must match (:func:`contact_matches`).

Choices made where the product documents are silent:

- K15 Each word matches as a substring of the folded names, company, code,
  document number and channel values (a word's dots and dashes are also
  ignored); a phone-looking query (digits and ``+ ( ) - .``, at least 6 digits)
  also matches the contact holding that normalized number, or, when it does not
  normalize, any phone containing its digits. An empty query matches every
  contact (the search service lists only live ones).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

import phonenumbers

from ccdomain import checks
from ccdomain._folding import fold
from ccdomain.errors import InvalidPhoneNumber
from ccdomain.models import Contact
from ccdomain.phones import normalize_phone
from ccdomain.rules.contacts import require_contact

__all__ = ["contact_matcher", "contact_matches"]

_REGIONS: Final = frozenset(phonenumbers.SUPPORTED_REGIONS)
_PHONE_LIKE: Final = re.compile(r"[0-9+().\-\s]+")
_MIN_PHONE_DIGITS: Final = 6
_WORD_SEPARATORS: Final = str.maketrans("", "", ".-")


def _digits(text: str) -> str:
    return "".join(c for c in text if "0" <= c <= "9")


def _haystack(contact: Contact, company_name: str) -> str:
    parts = [contact.first_names, contact.last_names, company_name, contact.code]
    if contact.document is not None:
        parts.append(contact.document.number)
    parts.extend(c.value for c in contact.channels)
    return fold("\n".join(parts))


def contact_matcher(query: str, region: str) -> Callable[[Contact, str], bool]:
    """A predicate ``(contact, company name) -> bool`` for one checked query in one region.

    The query's words are folded and its phone normalized once, so a search over
    many contacts pays for them once (K15). The arguments are not checked here:
    :func:`contact_matches` checks them for a single contact.
    """
    words = [fold(w) for w in query.split()]
    variants = [(w, w.translate(_WORD_SEPARATORS)) for w in words]
    phone: str | None = None
    phone_digits = ""
    stripped = query.strip()
    if _PHONE_LIKE.fullmatch(stripped) and len(_digits(stripped)) >= _MIN_PHONE_DIGITS:
        try:
            phone = normalize_phone(stripped, region)
        except InvalidPhoneNumber:
            phone_digits = _digits(stripped)

    def matches(contact: Contact, company_name: str) -> bool:
        if phone is not None and phone in contact.phones:
            return True
        if phone_digits and any(phone_digits in _digits(p) for p in contact.phones):
            return True
        hay = _haystack(contact, company_name)
        return all(w in hay or (bool(c) and c in hay) for w, c in variants)

    return matches


def contact_matches(contact: Contact, query: str, region: str, *, company_name: str = "") -> bool:
    """Tell whether a contact matches an agent's search words (K10, K15).

    >>> jose = Contact(campaign="ventas", code="12345678", first_names="José",
    ...                last_names="Pérez")
    >>> contact_matches(jose, "perez jose", "PE")
    True

    Args:
        contact: the contact.
        query: the words typed; every word must match.
        region: the campaign's region, for a phone-looking query.
        company_name: the name of the contact's company, when it has one.

    Raises:
        RuleViolation: an argument is not of the expected type.
    """
    require_contact(contact)
    text = checks.name(query, "search query")
    company = checks.name(company_name, "company_name")
    return contact_matcher(text, checks.region(region, "region", known=_REGIONS))(contact, company)
