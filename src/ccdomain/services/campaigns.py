"""Declaring campaigns and lines (T6, K9 templates, C3-C5 settings), one unit of work each.

A declaration is idempotent: an identical re-declaration is a no-op that
records nothing; one with other settings is refused. The records are validated
by :func:`ccdomain.rules.contacts.make_campaign` and
:func:`~ccdomain.rules.contacts.make_line`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Final, TypeVar, cast

import attrs

from ccdomain import checks
from ccdomain._deprecation import accepts_old_call
from ccdomain.errors import RuleViolation
from ccdomain.errors import show as _show
from ccdomain.events import CampaignDeclared, Event, EventKind, LineDeclared
from ccdomain.models import Campaign, Line
from ccdomain.ports import Store, UnitOfWork
from ccdomain.rules.contacts import make_campaign, make_line
from ccdomain.services._common import declared_campaign, recorder

__all__ = ["declare_campaign", "declare_line"]

_CAMPAIGN_FIELDS: Final = tuple(f.name for f in attrs.fields(Campaign))
_LINE_FIELDS: Final = tuple(f.name for f in attrs.fields(Line))

_Declared = TypeVar("_Declared", Campaign, Line)


def _fields(value: object, kind: type, required: tuple[str, ...]) -> dict[str, object]:
    """The fields of a record of ``kind``, or of a plain mapping of them."""
    what = kind.__name__
    if isinstance(value, kind):
        return attrs.asdict(cast(attrs.AttrsInstance, value), recurse=False)
    if not isinstance(value, Mapping):
        raise RuleViolation(
            f"{_show(value)} is not a {what}: expected a {what} or a mapping of its fields"
        )
    keys = _CAMPAIGN_FIELDS if kind is Campaign else _LINE_FIELDS
    fields = checks.mapping(value, f"a {what.lower()}", keys=keys)
    missing = [name for name in required if name not in fields]
    if missing:
        raise RuleViolation(
            f"{what.lower()} {_show(value)} has no {' and no '.join(missing)}: expected "
            f"{', '.join(required)}"
        )
    return fields


def _declare(
    uow: UnitOfWork,
    checked: _Declared,
    existing: _Declared | None,
    put: Callable[[_Declared], None],
    event: Event,
) -> _Declared:
    """Store ``checked`` with its event, unless the same is stored; refuse a conflict."""
    if existing == checked:
        return existing
    if existing is not None:
        raise RuleViolation(
            f"{type(checked).__name__.lower()} {checked.id!r} is already declared with other "
            "settings: expected an identical re-declaration"
        )
    put(checked)
    recorder(uow)(event)
    uow.commit()
    return checked


@accepts_old_call(("campaign",), renamed={"actor": "agent"})
def declare_campaign(
    store: Store,
    *,
    campaign: Campaign | Mapping[str, object],
    agent: str | None = None,
    at: dt.datetime,
) -> Campaign:
    """Store a campaign; an identical re-declaration is a no-op, a conflicting one refused.

    Args:
        store: the store.
        campaign: a Campaign, or a mapping of :func:`~ccdomain.rules.contacts.make_campaign`'s
            fields (``id`` required), as an event line gives them.
        agent: who declared it.
        at: when (with a UTC offset).

    Returns:
        The stored campaign (validated and normalized by ``make_campaign``).

    Raises:
        RuleViolation: ``campaign`` is not a valid campaign, or another campaign with
            the same id and different settings exists.
    """
    fields = _fields(campaign, Campaign, ("id",))
    checked = make_campaign(fields.pop("id"), **fields)
    when, who = checks.aware(at), checks.actor(agent, "agent")
    with store.unit_of_work() as uow:
        event = Event(
            kind=EventKind.CAMPAIGN_DECLARED,
            at=when,
            actor=who,
            campaign=checked.id,
            payload=CampaignDeclared(kind=checked.kind, region=checked.region),
        )
        return _declare(uow, checked, uow.get_campaign(checked.id), uow.put_campaign, event)


@accepts_old_call(("line",), renamed={"actor": "agent"})
def declare_line(
    store: Store,
    *,
    line: Line | Mapping[str, object],
    agent: str | None = None,
    at: dt.datetime,
) -> Line:
    """Store a line, its address normalized with its campaign's region (T6).

    An identical re-declaration is a no-op; a conflicting one is refused.

    Args:
        store: the store.
        line: a Line, or a mapping of its fields (``id``, ``channel`` and ``address``
            required; ``alias``, ``campaign``, ``queue``, ``queues``: the queue of each
            other campaign's tickets on the line, X4).
        agent: who declared it.
        at: when (with a UTC offset).

    Raises:
        UnknownCampaign: the line's default campaign is not declared.
        RuleViolation: the line is malformed or conflicts with a stored one.
        InvalidPhoneNumber: a phone line's address is not a valid number.
    """
    fields = _fields(line, Line, ("id", "channel", "address"))
    when, who = checks.aware(at), checks.actor(agent, "agent")
    with store.unit_of_work() as uow:
        campaign = declared_campaign(uow, fields.get("campaign", ""))
        checked = make_line(
            fields.pop("id"),
            fields.pop("channel"),
            fields.pop("address"),
            **fields,
            region=campaign.region,
        )
        for named in checked.queues:  # X4: a line names queues of declared campaigns only
            declared_campaign(uow, named)
        event = Event(
            kind=EventKind.LINE_DECLARED,
            at=when,
            actor=who,
            campaign=checked.campaign,
            payload=LineDeclared(line=checked.id, channel=checked.channel),
        )
        return _declare(uow, checked, uow.get_line(checked.id), uow.put_line, event)
