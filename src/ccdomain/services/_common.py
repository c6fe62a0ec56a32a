"""Unit-of-work helpers the services share: reading, the declared campaign, the live contact.

- K17 A contact code names the live contact (:func:`live_contact`): a merged
  contact's code names the contact it was merged into, for reads and edits
  alike (M5: the tombstone resolves to A).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final, cast

from ccdomain import checks
from ccdomain.errors import RuleViolation, UnknownCampaign, UnknownContact
from ccdomain.errors import show as _show
from ccdomain.models import Campaign, Contact
from ccdomain.ports import ContactRepository, Store, UnitOfWork

__all__ = ["declared_campaign", "live_contact", "reading"]

_MAX_TOMBSTONE_HOPS: Final = 1000


@contextlib.contextmanager
def reading(source: Store | UnitOfWork) -> Iterator[UnitOfWork]:
    """A unit of work to read from: the one given, or a new one of the store given.

    Raises:
        RuleViolation: ``source`` is neither a store nor a unit of work.
    """
    opener = getattr(source, "unit_of_work", None)
    if callable(opener):
        with cast(Store, source).unit_of_work() as uow:
            yield uow
        return
    if callable(getattr(source, "get_contact", None)) and callable(getattr(source, "events", None)):
        yield cast(UnitOfWork, source)
        return
    raise RuleViolation(f"{_show(source)} is not a store or a unit of work")


def declared_campaign(uow: UnitOfWork, campaign: object) -> Campaign:
    """The campaign with that id.

    Raises:
        UnknownCampaign: no such campaign, or ``campaign`` is not an id.
    """
    campaign_id = checks.identifier(campaign, "campaign", UnknownCampaign)
    found = uow.get_campaign(campaign_id)
    if found is None:
        raise UnknownCampaign(
            f"campaign {_show(campaign)} is not declared; expected the id of a declared campaign"
        )
    return found


def live_contact(uow: ContactRepository, campaign: object, code: object) -> Contact:
    """The live contact ``code`` names in ``campaign``, following merge tombstones (M5, K17).

    A merged contact is a tombstone that resolves to the contact it was merged into
    (through every later merge), so reads, links, products, late interactions and
    edits that name it all land on the survivor. Every module that takes a contact
    code reads it through this function. Code and campaign are identifiers: checked
    and normalised (E3) before the lookup.

    Raises:
        UnknownContact: no contact with that code in the campaign.
        RuleViolation: the tombstones form a cycle.
    """
    where = checks.identifier(campaign, "campaign", UnknownContact)
    current = checks.identifier(code, "contact code", UnknownContact)
    for _ in range(_MAX_TOMBSTONE_HOPS):
        contact = uow.get_contact(where, current)
        if contact is None:
            raise UnknownContact(f"no contact with code {_show(current)} in campaign {where!r}")
        if contact.merged_into is None:
            return contact
        current = contact.merged_into
    raise RuleViolation(f"contact {_show(code)} in campaign {where!r}: tombstones form a cycle")
