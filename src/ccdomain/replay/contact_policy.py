"""Replay of ``opt_out`` and ``opt_in`` lines (W3, R4).

Part of :mod:`ccdomain.replay`. The line goes to
:func:`ccdomain.services.contact_policy.opt_out` or
:func:`~ccdomain.services.contact_policy.opt_in`; the customer is read as routing reads
the line's channel. R4: opting out an opted-out customer (or opting in one who is not
opted out) is already applied.
"""

from __future__ import annotations

from ccdomain.replay.lines import LineContext
from ccdomain.replay.outcomes import Effect, Outcome
from ccdomain.rules.identities import identity_address
from ccdomain.rules.routing import parse_channel
from ccdomain.services import contact_policy as policy

__all__ = ["on_opt"]


def on_opt(ctx: LineContext) -> Outcome:
    """W3: an ``opt_out`` or ``opt_in`` line (an identical repeat is a no-op)."""
    campaign = ctx.campaign()
    at = ctx.clock()
    agent = ctx.agent()
    with ctx.blame("channel"):
        channel = parse_channel(ctx.text("channel"))
    raw = ctx.text("customer")
    with ctx.blame("customer"):
        address = identity_address(raw, campaign.region, channel)
    opted_out = ctx.uow.get_opt_out(campaign.id, address, channel) is not None
    if ctx.type == "opt_out":
        if opted_out:
            return ctx.outcome(at, detail=f"{address!r} has already opted out of {channel.value}")
        policy.opt_out(
            ctx.store, campaign=campaign.id, customer=address, channel=channel, agent=agent, at=at
        )
        return ctx.outcome(at, Effect.OPTED_OUT)
    if not opted_out:
        return ctx.outcome(at, detail=f"{address!r} has not opted out of {channel.value}")
    policy.opt_in(
        ctx.store, campaign=campaign.id, customer=address, channel=channel, agent=agent, at=at
    )
    return ctx.outcome(at, Effect.OPTED_IN)
