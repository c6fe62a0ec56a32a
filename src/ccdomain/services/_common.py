"""Helpers every service shares: the unit of work a reader reads in, a declared campaign."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import cast

from ccdomain import checks
from ccdomain.errors import RuleViolation, UnknownCampaign
from ccdomain.errors import show as _show
from ccdomain.models import Campaign
from ccdomain.ports import Store, UnitOfWork

__all__ = ["declared_campaign", "reading"]


@contextlib.contextmanager
def reading(source: Store | UnitOfWork) -> Iterator[UnitOfWork]:
    """A unit of work to read from: the one given, or a new one of the store given.

    Readers accept either, so a host can read inside the unit of work it is
    writing in, or straight from the store.

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
