"""Unit-of-work helpers the services share: read in a store or a unit of work, get or raise."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Concatenate, ParamSpec, TypeVar, cast

from ccdomain.errors import CcdomainError, RuleViolation, UnknownCampaign, UnknownLine
from ccdomain.errors import show as _show
from ccdomain.models import Campaign, Line
from ccdomain.ports import ContactRepository, Store, UnitOfWork

__all__ = ["get_campaign", "get_line", "read"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


def read(
    store: Store | UnitOfWork | ContactRepository,
    needs: Sequence[str],
    reader: Callable[Concatenate[UnitOfWork, _P], _T],
    /,
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> _T:
    """``reader(uow, *args, **kwargs)`` in a new unit of work of ``store``, or in ``store``
    itself when it is a unit of work.

    Readers accept either, so a host reads inside the unit of work it already has
    open and a notebook reads from the store. Reading changes nothing: a new unit of
    work is left without ``commit``. A call, not a context manager: ``find_candidates``
    reads through it, a few microseconds a lookup.

    Args:
        store: a :class:`~ccdomain.ports.Store` or a :class:`~ccdomain.ports.UnitOfWork`.
        needs: the methods a unit of work given directly must have.
        reader: what reads, given the unit of work first.

    Raises:
        RuleViolation: ``store`` is neither (a unit of work lacks a method of ``needs``).
    """
    opener = getattr(store, "unit_of_work", None)
    if callable(opener):
        with opener() as uow:
            return reader(uow, *args, **kwargs)
    for name in needs:
        if not callable(getattr(store, name, None)):
            raise RuleViolation(
                f"{_show(store)} is not a store or unit of work: expected a ccdomain store "
                "or unit of work"
            )
    return reader(cast(UnitOfWork, store), *args, **kwargs)


def _declared(found: _T | None, what: str, ident: str, error: type[CcdomainError]) -> _T:
    if found is None:
        raise error(f"{what} {_show(ident)} is not declared; expected the id of a declared {what}")
    return found


def get_campaign(uow: ContactRepository, campaign_id: str) -> Campaign:
    """The declared campaign ``campaign_id``.

    Raises:
        UnknownCampaign: no campaign has that id.
    """
    return _declared(uow.get_campaign(campaign_id), "campaign", campaign_id, UnknownCampaign)


def get_line(uow: ContactRepository, line_id: str) -> Line:
    """The declared line ``line_id``.

    Raises:
        UnknownLine: no line has that id.
    """
    return _declared(uow.get_line(line_id), "line", line_id, UnknownLine)
