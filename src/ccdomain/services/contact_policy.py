"""Contact policy services: opt-out and opt-in, and the outbound check routing applies (W1-W6).

- W3 :func:`opt_out` / :func:`opt_in` record and undo a customer's refusal of a
  channel in a campaign (each an event); an inbound text that is one of the
  campaign's stop words records an opt-out too (:func:`note_inbound`, called by
  routing).
- W1-W5 :func:`check_outbound` asks the store's indexes
  (:class:`~ccdomain.ports.ContactPolicyRepository`) for the facts and
  :func:`ccdomain.rules.contact_policy.may_contact` for the decision, and raises the
  refusal (W6: nothing is recorded); :func:`note_outbound` counts an accepted
  attempt (W5).

Opting out twice keeps the first opt-out (its time and agent); opting in when not
opted out changes nothing (as blocks do, I7).
"""

from __future__ import annotations

import datetime as dt

from ccdomain import checks
from ccdomain.events import Event, EventKind, OptedIn, OptedOut
from ccdomain.models import Campaign, Channel, OptOut
from ccdomain.ports import Store, UnitOfWork
from ccdomain.rules.contact_policy import (
    WINDOW_CHANNELS,
    contact_hours_of,
    counts_as_attempt,
    is_stop_word,
    local_day,
    max_daily_attempts_of,
    may_contact,
    refusal_error,
)
from ccdomain.rules.identities import identity_address
from ccdomain.rules.routing import parse_channel
from ccdomain.services._common import declared_campaign, recorder

__all__ = ["check_outbound", "note_inbound", "note_outbound", "opt_in", "opt_out"]


def _opt_event(opt: OptOut, *, out: bool, stop_word: bool, agent: str | None) -> Event:
    payload: OptedOut | OptedIn = (
        OptedOut(customer=opt.customer, channel=opt.channel, stop_word=stop_word)
        if out
        else OptedIn(customer=opt.customer, channel=opt.channel)
    )
    return Event(
        kind=EventKind.OPTED_OUT if out else EventKind.OPTED_IN,
        at=opt.at,
        actor=agent,
        campaign=opt.campaign,
        payload=payload,
    )


def opt_out(
    store: Store,
    *,
    campaign: str,
    customer: str,
    channel: Channel | str,
    agent: str,
    at: dt.datetime,
) -> OptOut:
    """Record that a customer refuses a channel in a campaign (W3).

    From then on every outbound interaction on that channel to that customer in that
    campaign is refused with :class:`~ccdomain.errors.ContactNotAllowed`, templates
    included; inbound interactions still route. Opting out twice returns the first
    opt-out and changes nothing.

    Args:
        campaign: the campaign.
        customer: the customer's address as typed (read as routing reads the channel).
        channel: the channel refused (``whatsapp``, ``call``, ``sms``...).
        agent: who recorded it.
        at: when.

    Raises:
        UnknownCampaign; InvalidPhoneNumber; InvalidChannel, RuleViolation: bad input.
    """
    who = checks.agent(agent)
    when = checks.aware(at)
    kind = parse_channel(channel)
    with store.unit_of_work() as uow:
        found = declared_campaign(uow, campaign)
        address = identity_address(customer, found.region, kind)
        existing = uow.get_opt_out(found.id, address, kind)
        if existing is not None:
            return existing
        opt = OptOut(campaign=found.id, customer=address, channel=kind, at=when, agent=who)
        uow.put_opt_out(opt)
        recorder(uow)(_opt_event(opt, out=True, stop_word=False, agent=who))
        uow.commit()
    return opt


def opt_in(
    store: Store,
    *,
    campaign: str,
    customer: str,
    channel: Channel | str,
    agent: str,
    at: dt.datetime,
) -> OptOut | None:
    """Undo a customer's opt-out of a channel in a campaign (W3).

    Returns the opt-out removed, or None when there was none (nothing changes).

    Raises:
        As :func:`opt_out`.
    """
    who = checks.agent(agent)
    when = checks.aware(at)
    kind = parse_channel(channel)
    with store.unit_of_work() as uow:
        found = declared_campaign(uow, campaign)
        address = identity_address(customer, found.region, kind)
        existing = uow.get_opt_out(found.id, address, kind)
        if existing is None:
            return None
        uow.remove_opt_out(found.id, address, kind)
        undone = OptOut(campaign=found.id, customer=address, channel=kind, at=when, agent=who)
        recorder(uow)(_opt_event(undone, out=False, stop_word=False, agent=who))
        uow.commit()
    return existing


def check_outbound(
    uow: UnitOfWork,
    campaign: Campaign,
    *,
    customer: str,
    channel: Channel,
    line: str | None,
    at: dt.datetime,
    template: str | None = None,
    tag: str | None = None,
) -> bool:
    """Refuse an outbound interaction the contact policy does not allow (W1-W6).

    Every fact is one keyed lookup of the store; the window is that of the customer's
    latest inbound message on the line at or before ``at`` (event time decides, also
    when messages arrive out of order).

    Returns:
        Whether the interaction, once recorded, counts as an attempt of its local day
        (W5): then call :func:`note_outbound`.

    Raises:
        ContactNotAllowed: W3, W4 or W5 refuses it; WindowClosed: W1 or W2 does. The
            message names the rule, the customer and the time; nothing is written.
    """
    opted_out = uow.get_opt_out(campaign.id, customer, channel) is not None
    cap = max_daily_attempts_of(campaign)
    windowed = channel in WINDOW_CHANNELS and template is None
    if not (opted_out or windowed or cap is not None or contact_hours_of(campaign)):
        return False  # nothing to decide: most sends of campaigns without limits
    # Only the lookups the decision needs: a template needs no window (W1), a campaign
    # without a cap no count (W5).
    last = uow.last_inbound(line or "", customer, at) if windowed else None
    decision = may_contact(
        campaign,
        channel=channel,
        customer=customer,
        at=at,
        template=template,
        tag=tag,
        last_inbound=last,
        attempts_today=0
        if cap is None
        else uow.attempts(campaign.id, customer, local_day(campaign, at)),
        opted_out=opted_out,
    )
    if not decision.allowed:
        raise refusal_error(decision)
    return cap is not None and counts_as_attempt(
        channel, template=template, at=at, last_inbound=last
    )


def note_outbound(uow: UnitOfWork, campaign: Campaign, *, customer: str, at: dt.datetime) -> None:
    """Count a recorded outbound interaction as an attempt of its local day (W5), when
    :func:`check_outbound` said it counts (only campaigns with a cap count: a declared
    campaign does not change)."""
    uow.add_attempt(campaign.id, customer, local_day(campaign, at))


def note_inbound(
    uow: UnitOfWork,
    campaign: Campaign,
    *,
    customer: str,
    channel: Channel,
    line: str | None,
    at: dt.datetime,
    text: str | None,
) -> None:
    """Keep the indexes an inbound interaction changes: its line's window (W1, W2), and an
    opt-out when its text is one of the campaign's stop words (W3)."""
    if channel in WINDOW_CHANNELS:
        uow.note_inbound(line or "", customer, at)
    if (
        text
        and is_stop_word(text, campaign)
        and uow.get_opt_out(campaign.id, customer, channel) is None
    ):
        opt = OptOut(campaign=campaign.id, customer=customer, channel=channel, at=at)
        uow.put_opt_out(opt)
        recorder(uow)(_opt_event(opt, out=True, stop_word=True, agent=None))
