"""Replay of ``campaign`` and ``line`` lines: what a file declares before its traffic (R4).

Part of :mod:`ccdomain.replay`. A campaign is built by
:func:`ccdomain.contacts.make_campaign` and a line by :func:`ccdomain.contacts.make_line`
(the checks the services apply, E3), then declared through
:func:`ccdomain.contacts.declare_campaign` and :func:`ccdomain.contacts.declare_line`.
R4: an identical re-declaration is already applied; a conflicting one is a bad line
(the service refuses it).
"""

from __future__ import annotations

from typing import Final

from ccdomain import checks
from ccdomain import contacts as ct
from ccdomain.replay.lines import LineContext
from ccdomain.replay.outcomes import Effect, Outcome

__all__ = ["CAMPAIGN_INPUTS", "on_campaign", "on_line"]

CAMPAIGN_INPUTS: Final = (
    "name",
    "kind",
    "region",
    "timezone",
    "custom_fields",
    "typifications",
    "grace_days",
    "horizon_days",
    "tolerance",
    "buckets",
    "hours",
    "holidays",
    "sla",
    "auto_resolve_after_h",
    "queue",
    "contact_hours",
    "max_daily_attempts",
    "stop_words",
)
"""The fields of a ``campaign`` line that :func:`ccdomain.contacts.make_campaign` reads."""


def on_campaign(ctx: LineContext) -> Outcome:
    """A ``campaign`` line: declare the campaign (R4: once)."""
    at = ctx.clock()
    campaign_id = ctx.text("id")
    given = {key: ctx.raw(key) for key in CAMPAIGN_INPUTS if ctx.has(key)}
    if "buckets" in given and isinstance(given["buckets"], list):
        given["buckets"] = [tuple(b) if isinstance(b, list) else b for b in given["buckets"]]
    with ctx.blame(
        None,
        InvalidTypification="typifications",
        InvalidCustomField="custom_fields",
    ):
        campaign = ct.make_campaign(campaign_id, **given)
    before = ctx.uow.get_campaign(campaign.id)
    with ctx.blame("id"):
        ct.declare_campaign(ctx.store, campaign=campaign, at=at, agent=ctx.opt_agent())
    if before is not None:
        return ctx.outcome(at, detail=f"campaign {campaign.id!r} is already declared")
    return ctx.outcome(at, Effect.CAMPAIGN_DECLARED)


def on_line(ctx: LineContext) -> Outcome:
    """A ``line`` line: declare the line, its address read in its campaign's region (R4: once)."""
    at = ctx.clock()
    with ctx.blame(None):
        line = ct.make_line(
            ctx.text("id"),
            ctx.text("channel"),
            ctx.text("address", limit=checks.ADDRESS_MAX),
            alias=ctx.checked("alias", checks.name) or "",
            campaign=ctx.opt_text("campaign") or "",
            queue=ctx.opt_text("queue") or "",
            queues=ctx.raw("queues") if ctx.has("queues") else None,
        )
    before = ctx.uow.get_line(line.id)
    with ctx.blame("id", UnknownCampaign="campaign", InvalidPhoneNumber="address"):
        ct.declare_line(ctx.store, line=line, at=at, agent=ctx.opt_agent())
    if before is not None:
        return ctx.outcome(at, detail=f"line {line.id!r} is already declared")
    return ctx.outcome(at, Effect.LINE_DECLARED)
