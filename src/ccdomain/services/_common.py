"""Unit-of-work helpers the services share: reading, the declared campaign and line, the
live contact.

- K17 A contact code names the live contact (:func:`live_contact`): a merged
  contact's code names the contact it was merged into, for reads and edits
  alike (M5: the tombstone resolves to A).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Final, cast

from ccdomain import checks
from ccdomain.errors import (
    RuleViolation,
    UnknownCampaign,
    UnknownContact,
    UnknownLine,
)
from ccdomain.errors import show as _show
from ccdomain.events import Event
from ccdomain.models import Campaign, Contact, Line
from ccdomain.ports import ContactRepository, EventRecorder, Store, UnitOfWork

__all__ = [
    "declared_campaign",
    "get_campaign",
    "get_line",
    "implements",
    "live_contact",
    "reading",
    "recorder",
]

_MAX_TOMBSTONE_HOPS: Final = 1000
_UNIT_OF_WORK: Final = ("get_contact", "events")


# Whether a unit-of-work class implements an optional port, by (class, port): asked once
# per class, not per call (a runtime Protocol check walks every method of the port).
_IMPLEMENTS: dict[tuple[type, type], bool] = {}


def implements(uow: object, port: type) -> bool:
    """Whether ``uow`` implements the optional ``port`` (a runtime-checkable Protocol of
    :mod:`ccdomain.ports`), asked once per class."""
    key = (type(uow), port)
    known = _IMPLEMENTS.get(key)
    if known is None:
        known = _IMPLEMENTS[key] = isinstance(uow, port)
    return known


def recorder(uow: UnitOfWork) -> Callable[[Event], object]:
    """How the services record an event in the unit of work's log (T11):
    :meth:`~ccdomain.ports.EventRecorder.record_event` when it has it (a store may then
    send the event with its next statement), else ``append_event``.

    The method itself is returned, to be called with the event built in the call
    (``recorder(uow)(ticket_event(...))``): a store may then number in place an event
    nobody else holds.
    """
    if implements(uow, EventRecorder):
        return uow.record_event  # type: ignore[attr-defined,no-any-return]
    return uow.append_event


def reading(
    source: Store | UnitOfWork | ContactRepository, needs: Sequence[str] = _UNIT_OF_WORK
) -> AbstractContextManager[UnitOfWork]:
    """A unit of work to read from: the one given, or a new one of the store given.

    Readers accept either, so a host reads inside the unit of work it already has
    open and a notebook reads from the store; a new unit of work is left without
    ``commit``, so reading changes nothing. Not a generator: ``find_candidates``
    reads through it, a few microseconds a lookup.

    Args:
        source: a :class:`~ccdomain.ports.Store` or a :class:`~ccdomain.ports.UnitOfWork`.
        needs: the methods a unit of work given directly must have (a reader that
            only looks contacts up accepts any contact repository).

    Raises:
        RuleViolation: ``source`` is neither a store nor a unit of work.
    """
    opener = getattr(source, "unit_of_work", None)
    if callable(opener):
        return cast(AbstractContextManager[UnitOfWork], opener())
    for name in needs:
        if not callable(getattr(source, name, None)):
            raise RuleViolation(f"{_show(source)} is not a store or a unit of work")
    return contextlib.nullcontext(cast(UnitOfWork, source))


def get_campaign(uow: ContactRepository, campaign_id: str) -> Campaign:
    """The declared campaign ``campaign_id`` (an id already checked).

    Raises:
        UnknownCampaign: no campaign has that id.
    """
    # Spelled out rather than shared with get_line: routing calls both once per interaction.
    found = uow.get_campaign(campaign_id)
    if found is None:
        raise UnknownCampaign(
            f"campaign {_show(campaign_id)} is not declared; expected the id of a declared campaign"
        )
    return found


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


def get_line(uow: ContactRepository, line_id: str) -> Line:
    """The declared line ``line_id`` (an id already checked).

    Raises:
        UnknownLine: no line has that id.
    """
    found = uow.get_line(line_id)
    if found is None:
        raise UnknownLine(
            f"line {_show(line_id)} is not declared; expected the id of a declared line"
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
