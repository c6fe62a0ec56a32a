"""Addresses of a contact (rule K8): any number, exactly one primary while any exist.

- K8 :func:`add_address` makes the first address primary, a later one only when
  asked; :func:`remove_address` promotes the oldest remaining when the primary
  goes; :func:`set_primary_address` moves the primary.
"""

from __future__ import annotations

from typing import Final

import attrs
import phonenumbers

from ccdomain import checks
from ccdomain.errors import InvalidAddress
from ccdomain.errors import show as _show
from ccdomain.models import Address, Contact

__all__ = [
    "add_address",
    "address_from",
    "make_address",
    "remove_address",
    "set_primary_address",
]

_REGIONS: Final = frozenset(phonenumbers.SUPPORTED_REGIONS)
_ADDRESS_FIELDS: Final = (
    "line",
    "district",
    "city",
    "region",
    "country",
    "postal_code",
    "reference",
    "primary",
)


def _require_contact(contact: object) -> Contact:
    return checks.instance(contact, Contact)


def make_address(
    line: object,
    *,
    district: object = "",
    city: object = "",
    region: object = "",
    country: object = "",
    postal_code: object = "",
    reference: object = "",
    primary: object = False,
) -> Address:
    """Validate and build an address (K8).

    >>> make_address(" Jr.  Lima 1 ", country="pe").country
    'PE'

    Raises:
        InvalidAddress: the line is blank, a field is not a text, or the country is
            not an ISO 3166 alpha-2 code.
    """

    def part(value: object, what: str) -> str:
        return checks.name(value, f"address {what}", InvalidAddress)

    code = checks.region(country, "address country", InvalidAddress, known=_REGIONS, required=False)
    return Address(
        line=checks.name(line, "address line", InvalidAddress, required=True),
        district=part(district, "district"),
        city=part(city, "city"),
        region=part(region, "region"),
        country=code,
        postal_code=part(postal_code, "postal_code"),
        reference=part(reference, "reference"),
        primary=checks.flag(primary, "address primary", InvalidAddress),
    )


def address_from(value: object) -> Address:
    """A validated address from an Address or a mapping of :func:`make_address`'s fields.

    Raises:
        InvalidAddress: naming the value.
    """
    fields = checks.record_fields(
        value, Address, "address", InvalidAddress, keys=_ADDRESS_FIELDS, required="line"
    )
    return make_address(fields.pop("line"), **fields)


def add_address(contact: Contact, address: Address, *, primary: bool = False) -> Contact:
    """Add an address; the first one is primary, a later one only when asked (K8).

    Asking (``primary=True`` or ``address.primary``) demotes the current primary.

    Raises:
        InvalidAddress: ``address`` is not a valid address.
    """
    _require_contact(contact)
    checked = address_from(address)
    wanted = checks.flag(primary, "primary", InvalidAddress) or checked.primary
    if not contact.addresses or wanted:
        existing = tuple(attrs.evolve(a, primary=False) for a in contact.addresses)
        return attrs.evolve(contact, addresses=(*existing, attrs.evolve(checked, primary=True)))
    return attrs.evolve(
        contact, addresses=(*contact.addresses, attrs.evolve(checked, primary=False))
    )


def _address_index(contact: Contact, index: object) -> int:
    count = len(contact.addresses)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
        raise InvalidAddress(
            f"address index {_show(index)} is not valid for contact {contact.code!r}: "
            f"expected 0 to {count - 1}"
            if count
            else f"address index {_show(index)} is not valid: {contact.code!r} has no address"
        )
    return index


def remove_address(contact: Contact, index: int) -> Contact:
    """Remove the address at ``index``; removing the primary promotes the oldest remaining (K8).

    Raises:
        InvalidAddress: ``index`` is out of range.
    """
    _require_contact(contact)
    at = _address_index(contact, index)
    removed = contact.addresses[at]
    rest = contact.addresses[:at] + contact.addresses[at + 1 :]
    if removed.primary and rest:
        rest = (attrs.evolve(rest[0], primary=True), *rest[1:])
    return attrs.evolve(contact, addresses=rest)


def set_primary_address(contact: Contact, index: int) -> Contact:
    """Make the address at ``index`` the primary one, demoting the other (K8).

    Raises:
        InvalidAddress: ``index`` is out of range.
    """
    _require_contact(contact)
    at = _address_index(contact, index)
    return attrs.evolve(
        contact,
        addresses=tuple(attrs.evolve(a, primary=i == at) for i, a in enumerate(contact.addresses)),
    )
