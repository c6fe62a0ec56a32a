"""Replay of ``interaction`` lines: each message or call routed once (T1, T9, T10, I3, R4).

Part of :mod:`ccdomain.replay`. The line goes to :func:`ccdomain.tickets.route_interaction`,
which opens or joins the customer's ticket (T1), or adds a late delivery to the
closed one (T10), and links a contact when the ticket opens (M4).

R4: an interaction whose id is recorded is already applied (T9, the service says so);
one without id is already applied when an identical interaction (time, channel,
direction, line, text, status, duration, agent) is on a ticket of the customer. A
message of a blocked identity is refused and the refusal recorded (I3), once: the
same refusal recorded before is already applied. In a replay, an interaction (or a
refusal) recorded before anonymization replaced its customer and text (I4) is
already applied when the rest is identical (time, channel, direction, line, id,
agent, status, duration, and a text that was empty or not).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ccdomain import checks
from ccdomain import tickets as tk
from ccdomain.errors import BlockedIdentity, CcdomainError
from ccdomain.errors import show as _show
from ccdomain.events import Event, InteractionAdded, InteractionRefused
from ccdomain.models import Campaign, Channel, Direction, Interaction, RouteOutcome
from ccdomain.replay.lines import LineContext
from ccdomain.replay.memos import Refusals, interaction_key
from ccdomain.replay.outcomes import Effect, Outcome
from ccdomain.rules.contact_policy import template_text
from ccdomain.rules.identities import ANONYMIZED_TEXT, is_anonymous_address
from ccdomain.services.routing import route_checked

__all__ = ["on_interaction"]

_CHANNELS = {c.value: c for c in Channel}
_DUPLICATE = RouteOutcome.DUPLICATE
_OPENED = RouteOutcome.OPENED
_LATE = RouteOutcome.LATE
_INBOUND = Direction.INBOUND
_OUTBOUND = Direction.OUTBOUND


def on_interaction(ctx: LineContext) -> Outcome:
    """An ``interaction`` line: route it, unless it is a redelivery (R4)."""
    at = ctx.time("at")
    external_id = ctx.opt_text("id")
    channel_name = ctx.text("channel")
    channel = _CHANNELS.get(channel_name)
    if channel is None:
        raise ctx.fail(
            "channel",
            f"{_show(channel_name)} is not a channel; expected one of "
            + ", ".join(c.value for c in Channel),
        )
    direction_name = ctx.text("direction")
    if direction_name == "inbound":
        direction = _INBOUND
    elif direction_name == "outbound":
        direction = _OUTBOUND
    else:
        raise ctx.fail("direction", f"{_show(direction_name)} is not 'inbound' or 'outbound'")
    line_id = ctx.opt_text("line")
    campaign_id = ctx.opt_text("campaign")
    raw_customer = ctx.text("customer", limit=checks.ADDRESS_MAX)
    agent = ctx.opt_agent()
    text = ctx.free_text("text")
    status = ctx.opt_text("status")
    duration = ctx.checked("duration_s", checks.duration)
    queue = ctx.opt_text("queue")
    template = ctx.opt_text("template")
    params = _params(ctx)
    tag = ctx.opt_text("tag")
    if template is not None and text is None:
        # Recorded so by routing: the redelivery probe below compares the same text (R4).
        text = template_text(template, params, checks.TEXT_MAX)
    elif params and template is None:
        raise ctx.fail("params", 'given without a template; expected a "template" too')
    if ctx.memos is not None:
        seen = (channel, direction, line_id, external_id, _anonymized_text(text))
        for event in ctx.anonymized_events(at, before_replay=True):
            told = _anonymized_interaction(event, agent, status, duration)
            if told is not None and external_id is None:
                # Without an id, an identical interaction is one whatever its id (R4).
                told = (*told[:3], None, told[4])
            if told == seen:
                _note_anonymous_ticket(ctx, channel, raw_customer, event.ticket)
                return ctx.outcome(at, detail="the interaction is recorded, anonymized since")
    if external_id is None:
        # Without an id, an identical interaction of the customer is a redelivery (R4).
        home: Campaign | None = None
        if campaign_id is not None:
            home = ctx.uow.get_campaign(campaign_id)
        elif line_id is not None:
            line = ctx.uow.get_line(line_id)
            if line is not None and line.campaign:
                home = ctx.uow.get_campaign(line.campaign)
        if home is not None:
            with ctx.blame("customer"):
                customer = tk.normalize_customer(channel, raw_customer, home.region)
            probe = Interaction(
                at=at,
                channel=channel,
                direction=direction,
                customer=customer,
                line=line_id,
                agent=agent,
                text=text,
                status=status,
                duration_s=duration,
            )
            if ctx.memos is not None:
                number = ctx.memos.redeliveries.ticket_holding(ctx.uow, probe)
            else:  # apply_event alone has no memory: read the customer's tickets
                key = interaction_key(probe)
                number = next(
                    (
                        ticket.number
                        for ticket in ctx.uow.tickets_for_customer(customer)
                        if any(
                            key == interaction_key(i) for i in ctx.uow.interactions(ticket.number)
                        )
                    ),
                    None,
                )
            if number is not None:
                return ctx.outcome(
                    at, ticket=number, detail=f"an identical interaction is on ticket {number}"
                )
    try:
        # Each field was read through its check above: the service does not check again.
        result = route_checked(
            ctx.store,
            at=at,
            channel=channel,
            direction=direction,
            customer=raw_customer,
            line=line_id,
            campaign=campaign_id,
            external_id=external_id,
            agent=agent,
            text=text,
            status=status,
            duration_s=duration,
            queue=queue,
            template=template,
            params=params,
            tag=tag,
        )
    except BlockedIdentity as exc:
        return _refused(ctx, at, exc)
    except CcdomainError as exc:
        with ctx.blame(
            None, InvalidPhoneNumber="customer", UnknownLine="line", UnknownCampaign="campaign"
        ):
            raise exc from None
    ticket = result.ticket
    if result.outcome is _DUPLICATE:
        if ctx.memos is not None and is_anonymous_address(ticket.customer):
            _note_anonymous_ticket(ctx, channel, raw_customer, ticket.number)
        return ctx.outcome(
            at, ticket=ticket.number, detail=f"interaction {external_id!r} is recorded"
        )
    if ctx.memos is not None:
        ctx.memos.redeliveries.recorded(result.interaction, ticket.number)
    if result.outcome is _OPENED:
        # M4 links a ticket when it opens (a later message may link it too: not counted).
        linked = (Effect.CONTACT_LINKED,) if ticket.contact is not None else ()
        return ctx.outcome(at, Effect.TICKET_OPENED, *linked, ticket=ticket.number)
    late = result.outcome is _LATE
    effect = Effect.INTERACTION_LATE if late else Effect.INTERACTION_JOINED
    return ctx.outcome(at, effect, ticket=ticket.number)


def _params(ctx: LineContext) -> tuple[str, ...]:
    """A template's ``params``: a list of texts (W1)."""
    raw = ctx.raw("params")
    if raw is None:
        return ()
    with ctx.blame("params"):
        return tuple(
            checks.text(p, "template param", limit=checks.PARAM_MAX)
            for p in checks.items(raw, "template params")
        )


def _note_anonymous_ticket(
    ctx: LineContext, channel: Channel, raw_customer: str, number: int | None
) -> None:
    """Remember, for this replay, that the line's customer is the one of ticket ``number``.

    Anonymization replaced the address on the ticket (I4); the lines of the file that
    name the customer (closings, links) find the ticket so (R4).
    """
    ticket = None if number is None or ctx.memos is None else ctx.uow.get_ticket(number)
    campaign = None if ticket is None else ctx.uow.get_campaign(ticket.campaign)
    if ticket is None or campaign is None or ctx.memos is None:
        return
    try:
        customer = tk.normalize_customer(channel, raw_customer, campaign.region)
    except CcdomainError:
        return
    ctx.memos.anonymized.note_ticket(campaign.id, customer, ticket.number)


def _anonymized_text(text: str | None) -> str | None:
    return ANONYMIZED_TEXT if text else text


def _anonymized_interaction(
    event: Event, agent: str | None, status: str | None, duration: int | None
) -> tuple[Any, ...] | None:
    """What the interaction (or refusal) ``event`` of an anonymous customer is told by.

    Anonymization replaced its customer and text (I4): the rest is compared (R4).
    """
    payload = event.payload
    fields: tuple[Any, ...]
    if type(payload) is InteractionAdded:
        item = payload.interaction
        if (item.agent, item.status, item.duration_s) != (agent, status, duration):
            return None
        customer = item.customer
        fields = (item.channel, item.direction, item.line, item.external_id, item.text)
    elif type(payload) is InteractionRefused:
        customer = payload.customer
        fields = (payload.channel, payload.direction, payload.line, payload.external_id)
        fields += (payload.text,)
    else:
        return None
    return fields if is_anonymous_address(customer) else None


def _refused(ctx: LineContext, at: dt.datetime, exc: BlockedIdentity) -> Outcome:
    """I3: the refusal the service recorded is kept, unless the same one was recorded before."""
    memo = ctx.memos.refusals if ctx.memos is not None else Refusals()
    if memo.recorded_before(ctx.uow):
        return ctx.outcome(at, detail="the refusal is already recorded")
    return ctx.outcome(at, Effect.INTERACTION_REFUSED, detail=str(exc))
