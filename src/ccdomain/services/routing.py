"""Routing: the single entry point for a message or a call (T1-T6, T9, T10, M4, I3).

:func:`route_interaction` applies, in one unit of work:

- T9 an interaction whose external id is already recorded changes nothing
  (outcome ``DUPLICATE``);
- T6, T12, T13 the campaign it goes to (:func:`resolve_target`, with the
  decisions of :mod:`ccdomain.rules.routing`);
- I3 a blocked identity is refused with :class:`~ccdomain.errors.BlockedIdentity`,
  and the refusal is recorded as an ``INTERACTION_REFUSED`` event;
- T10 an interaction that happened while a now-closed ticket was open is
  recorded on that ticket, which stays closed (outcome ``LATE``);
- T1, T2, T5 otherwise it joins the open ticket of (campaign, customer), or the
  store opens one with a fresh number (outcome ``JOINED`` / ``OPENED``);
- M4 a ticket without a contact is linked when exactly one contact of its
  campaign has the customer's E.164 number (:func:`ccdomain.services.links.auto_link`);
- W1-W6 an outbound interaction the contact policy refuses raises
  :class:`~ccdomain.errors.ContactNotAllowed` (:class:`~ccdomain.errors.WindowClosed`
  for W1/W2) and records nothing; an inbound one keeps its line's window and may opt
  the customer out by a stop word (:mod:`ccdomain.services.contact_policy`).

This is the hot path of the library: every function here runs once per routed
interaction, so it calls the unwrapped helpers of the other services directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from ccdomain import checks
from ccdomain.errors import CcdomainError, RuleViolation, StoreError, UnknownCampaign
from ccdomain.errors import show as _show
from ccdomain.models import Channel, Direction, Interaction, RouteOutcome, Ticket
from ccdomain.models._build import record_builder
from ccdomain.ports import InteractionPrefetch, OpeningPrefetch, Store, UnitOfWork
from ccdomain.rules.contact_policy import template_text
from ccdomain.rules.routing import (
    Target,
    blocked_error,
    campaign_on_line,
    closed_covering,
    line_region,
    opened_ticket,
    parse_channel,
    parse_direction,
    refusal_event,
)
from ccdomain.rules.states import ticket_as_of
from ccdomain.rules.tickets import (
    build_interaction,
    interaction_event,
    normalize_customer,
    opened_event,
    with_interaction,
)
from ccdomain.services._common import get_campaign, get_line, implements, recorder
from ccdomain.services.assignment import assign_opened
from ccdomain.services.auto_resolve import resolve_if_due
from ccdomain.services.contact_policy import check_outbound, note_inbound, note_outbound
from ccdomain.services.links import auto_link

__all__ = ["RouteResult", "resolve_target", "route_checked", "route_interaction"]

# Enum members read as class attributes go through a descriptor on Python 3.11; the hot
# path reads these module constants instead.
_OPENED = RouteOutcome.OPENED
_JOINED = RouteOutcome.JOINED
_LATE = RouteOutcome.LATE
_OUTBOUND = Direction.OUTBOUND
_WHATSAPP = Channel.WHATSAPP
# Sets a field of a record built here that nobody else holds yet (the interaction a new
# ticket's number is given to): frozen to callers, numbered without a copy.
_set_attr = object.__setattr__


@attrs.frozen(kw_only=True)
class RouteResult:
    """The ticket an interaction went to, how, and the interaction as recorded."""

    ticket: Ticket
    outcome: RouteOutcome
    interaction: Interaction


_route_result = record_builder(RouteResult)  # one per routed interaction (models._build)


def resolve_target(
    uow: UnitOfWork,
    *,
    channel: Channel,
    direction: Direction,
    customer: object,
    line_id: str | None,
    campaign_id: str | None,
    at: dt.datetime,
) -> Target:
    """T6/T12: the campaign, normalized customer and line of an interaction (no writes).

    Raises:
        UnknownCampaign, UnknownLine: the campaign or line is not declared.
        InvalidPhoneNumber, RuleViolation: the customer, or a missing campaign or line.
    """
    return _target(uow, channel, direction, customer, line_id, campaign_id, at)


def _target(
    uow: UnitOfWork,
    channel: Channel,
    direction: Direction,
    customer: object,
    line_id: str | None,
    campaign_id: str | None,
    at: dt.datetime,
) -> Target:
    """:func:`resolve_target` with its parameters by position (routing's hot path)."""
    line = None if line_id is None else get_line(uow, line_id)
    if campaign_id is not None:
        campaign = get_campaign(uow, campaign_id)
        return Target(campaign, normalize_customer(channel, customer, campaign.region), line)
    if direction is _OUTBOUND:
        raise RuleViolation(
            f"outbound interaction to {_show(customer)} names no campaign; "
            "expected the campaign it is made for (T6)"
        )
    if line is None:
        raise RuleViolation(
            f"inbound interaction from {_show(customer)} names no line; "
            "expected the line it arrived on (T6)"
        )
    default = None
    if line.campaign:
        default = uow.get_campaign(line.campaign)
        if default is None:
            raise UnknownCampaign(
                f"line {line.id!r} names default campaign {_show(line.campaign)}, "
                "which is not declared"
            )
    region = default.region if default is not None else line_region(line)
    normalized = normalize_customer(channel, customer, region)
    chosen = campaign_on_line(_as_of(uow, uow.tickets_for_customer(normalized), at), line.id, at)
    if chosen is not None and (default is None or chosen != default.id):
        return Target(get_campaign(uow, chosen), normalized, line)
    if default is None:
        raise RuleViolation(
            f"line {line.id!r} has no default campaign and customer {normalized!r} has no "
            "ticket on it; expected a line with a default campaign (T6)"
        )
    return Target(default, normalized, line)


def _as_of(uow: UnitOfWork, tickets: Sequence[Ticket], at: dt.datetime) -> Sequence[Ticket]:
    """P3, T6: the customer's tickets as of ``at``: one due for auto-resolve before then
    reads resolved at its due instant, so it no longer draws the interaction to its
    campaign (it is resolved for real when its own key is routed, or swept)."""
    for ticket in tickets:
        if ticket.is_open:
            campaign = uow.get_campaign(ticket.campaign)
            if campaign is not None and campaign.auto_resolve_after_h is not None:
                return [
                    ticket_as_of(t, uow.get_campaign(t.campaign), at) if t.is_open else t
                    for t in tickets
                ]
    return tickets


def route_interaction(
    store: Store,
    *,
    at: dt.datetime,
    channel: Channel | str,
    direction: Direction | str,
    customer: str,
    line: str | None = None,
    campaign: str | None = None,
    external_id: str | None = None,
    agent: str | None = None,
    text: str | None = None,
    status: str | None = None,
    duration_s: int | None = None,
    queue: str | None = None,
    template: str | None = None,
    params: Sequence[str] = (),
    tag: str | None = None,
) -> RouteResult:
    """Route one message or call to its ticket (T1-T6, T9, T10, M4, I3, W1-W6); the entry point.

    Args:
        store: where tickets, interactions and events live (one unit of work is used).
        at: when the interaction happened (aware datetime): event time decides (T10).
        channel: call, whatsapp, sms, email, messenger, instagram or webchat.
        direction: inbound (arrives on ``line``) or outbound (made for ``campaign``).
        customer: the customer's address as received; normalized per channel (E.164 for
            phone channels, in the target campaign's region).
        line: the line (business identifier) it arrived on or left from.
        campaign: the campaign; required when outbound (T6); an inbound interaction that
            names one goes there (T12).
        external_id: the provider's id; a repeated one changes nothing (T9).
        agent: the agent who made it (outbound) or answered it.
        text: the message text. status, duration_s: a call's status and duration.
        queue: the queue of a ticket this interaction opens; without one, the queue the
            line declares for the ticket's campaign, else the campaign's, else the line's
            when the campaign is its default, else none (X4).
        template: an outbound WhatsApp message's template name (W1: allowed outside the
            window); None for a free-form message. params: the template's parameters.
        tag: a message tag; ``human_agent`` allows a Messenger/Instagram message up to 7
            days after the customer's last one (W2).

    Returns:
        The :class:`RouteResult`: the ticket after the interaction, the outcome and the
        interaction as recorded.

    Raises:
        UnknownCampaign, UnknownLine: the campaign or line is not declared.
        InvalidPhoneNumber: a phone channel's customer is not a valid number.
        BlockedIdentity: the customer is blocked in the target campaign (the refusal is
            recorded as an event, nothing else changes).
        WindowClosed: a free-form outbound message outside its line's window (W1, W2).
        ContactNotAllowed: an outbound interaction the campaign's contact policy refuses
            (opt-out W3, contact hours W4, daily attempts W5). Nothing is recorded.
        RuleViolation, InvalidChannel: any other bad input. Nothing changes on any error.
    """
    if params and template is None:
        raise RuleViolation(
            f"template params {_show(params)} are given without a template; expected a "
            "template name with them (W1)"
        )
    # Optional fields spelled out, passed by position: this runs once per routed interaction.
    return _route(
        store,
        checks.aware(at),
        parse_channel(channel),
        parse_direction(direction),
        customer,
        None if line is None else checks.identifier(line, "line"),
        None if campaign is None else checks.identifier(campaign, "campaign"),
        None if external_id is None else checks.identifier(external_id, "external_id"),
        None if agent is None else checks.agent(agent),
        None if text is None else checks.text(text, "text"),
        None if status is None else checks.identifier(status, "status"),
        None if duration_s is None else checks.duration(duration_s),
        None if queue is None else checks.identifier(queue, "queue"),
        None if template is None else checks.identifier(template, "template"),
        tuple(
            checks.text(p, "template param", limit=checks.PARAM_MAX)
            for p in checks.items(params, "template params")
        )
        if params
        else (),
        None if tag is None else checks.identifier(tag, "tag"),
    )


def route_checked(
    store: Store,
    *,
    at: dt.datetime,
    channel: Channel,
    direction: Direction,
    customer: str,
    line: str | None,
    campaign: str | None,
    external_id: str | None,
    agent: str | None,
    text: str | None,
    status: str | None,
    duration_s: int | None,
    queue: str | None,
    template: str | None = None,
    params: Sequence[str] = (),
    tag: str | None = None,
) -> RouteResult:
    """:func:`route_interaction` for values each already read through :mod:`ccdomain.checks`.

    For callers that check every field once themselves (replay reads each field of a
    line through the same checks): ``at`` aware, ``channel`` and ``direction`` members,
    the texts as :func:`ccdomain.checks.identifier` / :func:`~ccdomain.checks.text` /
    :func:`~ccdomain.checks.agent` return them. ``customer`` is normalised here, as in
    :func:`route_interaction` (its form depends on the target campaign's region). Passing
    unchecked values breaks the rules of :mod:`ccdomain.checks` (E3): use
    :func:`route_interaction`.

    Raises:
        The errors of :func:`route_interaction` but for those of the input checks.
    """
    return _route(
        store,
        at,
        channel,
        direction,
        customer,
        line,
        campaign,
        external_id,
        agent,
        text,
        status,
        duration_s,
        queue,
        template,
        params,
        tag,
    )


def _route(
    store: Store,
    at: dt.datetime,
    channel: Channel,
    direction: Direction,
    customer: str,
    line_id: str | None,
    campaign_id: str | None,
    external_id: str | None,
    agent: str | None,
    text: str | None,
    status: str | None,
    duration_s: int | None,
    queue: str | None,
    template: str | None,
    params: Sequence[str],
    tag: str | None,
) -> RouteResult:
    """:func:`route_checked` with its parameters by position (both entry points call it)."""
    with store.unit_of_work() as uow:
        if external_id is not None and implements(uow, InteractionPrefetch):
            uow.prefetch_interaction(external_id)  # type: ignore[attr-defined]
        if implements(uow, OpeningPrefetch):
            # A2, A4: who an opening is given to, read with the key's reads.
            uow.prefetch_opening(  # type: ignore[attr-defined]
                agent=agent if direction is _OUTBOUND else None, queue=queue
            )
        try:
            target = _target(uow, channel, direction, customer, line_id, campaign_id, at)
        except StoreError:
            raise
        except CcdomainError:
            # T9: a recorded message changes nothing and refuses nothing, even when its
            # target no longer resolves (a line without a default campaign whose
            # customer's tickets were anonymized, I4).
            if external_id is not None:
                duplicate = _duplicate(uow, external_id)
                if duplicate is not None:
                    return duplicate
            raise
        block = uow.get_block(target.campaign.id, target.customer)
        if external_id is not None:
            # T9 after the target and its key's block are read (a store told of the
            # lookup ahead sends it with those reads): a redelivery is found here
            # whatever the target, and changes nothing, even once its customer is
            # blocked.
            duplicate = _duplicate(uow, external_id)
            if duplicate is not None:
                return duplicate
        if block is not None:
            recorder(uow)(
                refusal_event(
                    target,
                    at=at,
                    channel=channel,
                    direction=direction,
                    agent=agent,
                    external_id=external_id,
                    text=text,
                ),
            )
            uow.commit()
            blocked = blocked_error(target)
        else:
            campaign_record = target.campaign
            line_key = None if target.line is None else target.line.id
            if direction is _OUTBOUND:
                if template is not None:
                    text = _template_text(channel, template, params, text)
                counts = check_outbound(
                    uow,
                    campaign_record,
                    customer=target.customer,
                    channel=channel,
                    line=line_key,
                    at=at,
                    template=template,
                    tag=tag,
                )
            elif template is not None:
                raise RuleViolation(
                    f"inbound interaction from {target.customer!r} names template "
                    f"{template!r}; expected templates on outbound WhatsApp messages only (W1)"
                )
            result = _record(
                uow,
                target,
                at,
                channel,
                direction,
                external_id,
                agent,
                text,
                status,
                duration_s,
                queue,
            )
            if direction is _OUTBOUND:
                if counts:
                    note_outbound(uow, campaign_record, customer=target.customer, at=at)
            else:
                note_inbound(
                    uow,
                    campaign_record,
                    customer=target.customer,
                    channel=channel,
                    line=line_key,
                    at=at,
                    text=text,
                )
            uow.commit()
            return result
    raise blocked


def _duplicate(uow: UnitOfWork, external_id: str) -> RouteResult | None:
    """T9: the result of a message already recorded under that external id, or None."""
    seen = uow.find_interaction(external_id)
    if seen is not None and seen.ticket is not None:
        known = uow.get_ticket(seen.ticket)
        if known is not None:
            return RouteResult(ticket=known, outcome=RouteOutcome.DUPLICATE, interaction=seen)
    return None


def _template_text(
    channel: Channel, template: str, params: Sequence[str], text: str | None
) -> str | None:
    """The text recorded for a template message (as :func:`send_template` records it)."""
    if channel is not _WHATSAPP:
        raise RuleViolation(
            f"a {channel.value} interaction names template {template!r}; expected templates "
            "on WhatsApp only (W1)"
        )
    if text is not None:
        return text
    return template_text(template, params, checks.TEXT_MAX)


def _record(
    uow: UnitOfWork,
    target: Target,
    at: dt.datetime,
    channel: Channel,
    direction: Direction,
    external_id: str | None,
    agent: str | None,
    text: str | None,
    status: str | None,
    duration_s: int | None,
    queue: str | None,
) -> RouteResult:
    """T1/T3/T10: put a checked interaction on its ticket, opening one when needed.

    This is the hot path of routing: the interaction and the ticket are each built
    once, one store write per change, no copies of listings. Positional parameters and
    no closure over them: a closure would give each of them a cell, read on every use.
    """
    campaign = target.campaign
    campaign_id = campaign.id
    customer = target.customer
    line = target.line
    ticket = uow.get_open_ticket(campaign_id, customer)
    if ticket is not None and campaign.auto_resolve_after_h is not None:
        ticket = resolve_if_due(uow, ticket, at, campaign)
        if not ticket.is_open:  # resolved at its due instant, before this interaction (P3)
            ticket = None
    outcome = _JOINED
    if ticket is None or at < ticket.opened_at:
        late = closed_covering(uow.tickets_for_customer(customer, campaign_id), at)
        if late is not None:
            ticket, outcome = late, _LATE
    recorded = build_interaction(
        at=at,
        channel=channel,
        direction=direction,
        customer=customer,
        external_id=external_id,
        line=None if line is None else line.id,
        campaign=campaign_id,
        agent=agent,
        text=text,
        status=status,
        duration_s=duration_s,
        ticket=None if ticket is None else ticket.number,
    )
    changed = True
    if ticket is None:
        opening = _Opening(target, recorded, queue)
        ticket, opened = uow.get_or_open_ticket(campaign_id, customer, opening)
        if opened:
            outcome = _OPENED
            recorder(uow)(opened_event(ticket, agent))
            changed = False  # stored with its first interaction applied: no second write
        else:  # another store's get-or-open found one after all: join it
            _set_attr(recorded, "ticket", ticket.number)
    updated = with_interaction(ticket, recorded) if changed else ticket
    uow.add_interaction(recorded)
    recorder(uow)(interaction_event(recorded, outcome))
    if updated.contact is None:
        linked = auto_link(uow, updated, at)
        if linked is not None:
            updated, changed = linked, True
    if changed:
        uow.update_ticket(updated)
    if outcome is _OPENED:
        # After the link: a waiting ticket is placed by its contact's VIP flag (A3).
        updated = assign_opened(uow, updated, at, direction, agent)
    return _route_result(ticket=updated, outcome=outcome, interaction=recorded)


class _Opening:
    """The opener :meth:`~ccdomain.ports.TicketRepository.get_or_open_ticket` calls with the
    number it gives the new ticket: the interaction built for it takes that number in
    place (nobody else holds it yet) and the ticket is built with it applied (T5, T7)."""

    __slots__ = ("queue", "recorded", "target")

    def __init__(self, target: Target, recorded: Interaction, queue: str | None) -> None:
        self.target = target
        self.recorded = recorded
        self.queue = queue

    def __call__(self, number: int) -> Ticket:
        recorded = self.recorded
        _set_attr(recorded, "ticket", number)
        return opened_ticket(number, self.target, recorded, self.queue)
