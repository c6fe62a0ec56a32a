"""Channel services: send a message or a template, place a call, then route it (K6, I3, T18).

The three services share one body (:func:`_send_and_route`): check the line and
the target, record a blocked refusal (I3), call the host's
:class:`~ccdomain.ports.ChannelPort`, and route what it sent as an outbound
interaction with the provider's id.

- T18 (decision) The channel services check every rule (K6, I3, the phone, the
  contact policy W1-W5) before calling the host's channel; a channel that fails records nothing and
  its error is re-raised as :class:`~ccdomain.errors.RuleViolation` naming the
  channel error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from ccdomain import checks
from ccdomain._deprecation import accepts_old_call
from ccdomain.errors import CcdomainError, RuleViolation
from ccdomain.errors import show as _show
from ccdomain.models import Channel, Direction, Line
from ccdomain.ports import ChannelPort, Store
from ccdomain.rules.contacts import check_template_precondition
from ccdomain.rules.routing import Target, blocked_error, refusal_event
from ccdomain.rules.tickets import PHONE_CHANNELS
from ccdomain.services._common import get_line, recorder
from ccdomain.services.contact_policy import check_outbound
from ccdomain.services.routing import RouteResult, resolve_target, route_interaction

__all__ = ["place_call", "send_message", "send_template"]

_TEXT_LINES = frozenset(Channel) - {Channel.CALL}
_WHATSAPP_LINES = frozenset({Channel.WHATSAPP})

# What the channel is asked: the line, the customer address and the target campaign;
# it returns the provider's id of what it sent.
_Send = Callable[[Line, str, str], object]


def _prepare_outbound(
    store: Store,
    *,
    channel: Channel | None,
    line: object,
    to: object,
    campaign: object,
    agent: str,
    at: dt.datetime,
    allowed: frozenset[Channel],
    what: str,
    template: str | None = None,
    tag: str | None = None,
) -> tuple[Line, Channel, Target]:
    """Check an outbound send before the channel is called; record a blocked refusal (I3),
    refuse what the contact policy does not allow (W1-W6, nothing recorded).

    ``channel`` None means the line's own channel.
    """
    line_id = checks.identifier(line, "line")
    campaign_id = checks.identifier(campaign, "campaign")
    with store.unit_of_work() as uow:
        found = get_line(uow, line_id)
        if found.channel not in allowed:
            raise RuleViolation(
                f"line {found.id!r} is a {found.channel.value} line; cannot {what} from it"
            )
        if channel is None:
            channel = found.channel
        target = resolve_target(
            uow,
            channel=channel,
            direction=Direction.OUTBOUND,
            customer=to,
            line_id=line_id,
            campaign_id=campaign_id,
            at=at,
        )
        blocked = uow.get_block(target.campaign.id, target.customer) is not None
        if blocked:
            recorder(uow)(
                refusal_event(
                    target,
                    at=at,
                    channel=channel,
                    direction=Direction.OUTBOUND,
                    agent=agent,
                    external_id=None,
                    text=None,
                ),
            )
            uow.commit()
        else:
            check_outbound(
                uow,
                target.campaign,
                customer=target.customer,
                channel=channel,
                line=found.id,
                at=at,
                template=template,
                tag=tag,
            )
    if blocked:
        raise blocked_error(target)
    return found, channel, target


def _call_channel(what: str, to: str, send: Callable[[], object]) -> str:
    """Call the host's channel; its failure records nothing and becomes a ccdomain error."""
    try:
        provider_id = send()
    except CcdomainError:
        raise
    except Exception as exc:
        raise RuleViolation(
            f"the channel failed to {what} to {to!r}: {_show(exc)}; nothing was recorded"
        ) from exc
    if not isinstance(provider_id, str) or not provider_id.strip():
        raise RuleViolation(
            f"the channel returned {_show(provider_id)} after {what} to {to!r}; "
            "expected the provider's id (a non-empty string)"
        )
    return provider_id.strip()


def _send_and_route(
    store: Store,
    send: _Send,
    *,
    channel: Channel | None,
    allowed: frozenset[Channel],
    refused: str,
    failed: str,
    line: object,
    to: object,
    campaign: object,
    agent: str,
    at: dt.datetime,
    text: str | None = None,
    status: str | None = None,
    queue: str | None = None,
    template: str | None = None,
    params: Sequence[str] = (),
    tag: str | None = None,
) -> RouteResult:
    """The body of every channel service (T18): check, send, route what was sent outbound.

    ``refused`` names the action in the message refusing a line of the wrong channel,
    ``failed`` in the message of a failing channel.
    """
    found, chosen, target = _prepare_outbound(
        store,
        channel=channel,
        line=line,
        to=to,
        campaign=campaign,
        agent=agent,
        at=at,
        allowed=allowed,
        what=refused,
        template=template,
        tag=tag,
    )
    provider_id = _call_channel(
        failed, target.customer, lambda: send(found, target.customer, target.campaign.id)
    )
    return route_interaction(
        store,
        at=at,
        channel=chosen,
        direction=Direction.OUTBOUND,
        customer=target.customer,
        line=found.id,
        campaign=target.campaign.id,
        external_id=provider_id,
        agent=agent,
        text=text,
        status=status,
        queue=queue,
        template=template,
        params=params,
        tag=tag,
    )


@accepts_old_call(("channel_port",))
def send_message(
    store: Store,
    *,
    channel_port: ChannelPort,
    line: str,
    to: str,
    text: str,
    campaign: str,
    agent: str,
    at: dt.datetime,
    tag: str | None = None,
) -> RouteResult:
    """Send a text from a line through the host's channel and route it outbound (T18).

    A free-form message: on WhatsApp, Messenger and Instagram only inside the
    customer-service window (W1, W2); ``tag="human_agent"`` extends it to 7 days on
    Messenger and Instagram.

    Raises:
        UnknownLine: no such line.
        UnknownCampaign: the line's campaign is not declared.
        InvalidPhoneNumber: the customer is not a valid phone.
        BlockedIdentity: the customer is blocked (the attempt is recorded).
        ContactNotAllowed, WindowClosed: the contact policy refuses it (W1-W6); the
            channel is not called and nothing is recorded.
        RuleViolation: bad input, a call line, or the channel failed (nothing recorded).
    """
    agent = checks.agent(agent)
    at = checks.aware(at)
    body = checks.text(text, "text", required=True)
    label = None if tag is None else checks.identifier(tag, "tag")
    return _send_and_route(
        store,
        lambda found, to_, _campaign: channel_port.send_text(found, to_, body),
        channel=None,
        allowed=_TEXT_LINES,
        refused="send a text message",
        failed="send a message",
        line=line,
        to=to,
        campaign=campaign,
        agent=agent,
        at=at,
        text=body,
        tag=label,
    )


@accepts_old_call(("channel_port",))
def send_template(
    store: Store,
    *,
    channel_port: ChannelPort,
    line: str,
    to: str,
    template: str,
    params: Sequence[str],
    campaign: str | None,
    queue: str | None,
    agent: str,
    at: dt.datetime,
) -> RouteResult:
    """Send a WhatsApp template (K6: needs a campaign and a queue) and route it outbound.

    The rules are checked before the channel is called; a ticket the template opens
    takes the given queue.

    Raises:
        RuleViolation: no campaign or queue (K6), bad input, a non-WhatsApp line, or the
            channel failed (nothing recorded).
        UnknownLine: no such line.
        UnknownCampaign: the line's campaign is not declared.
        InvalidPhoneNumber: the customer is not a valid phone.
        BlockedIdentity: the customer is blocked (the attempt is recorded).
        ContactNotAllowed, WindowClosed: the contact policy refuses it (W1-W6); the
            channel is not called and nothing is recorded.
    """
    check_template_precondition(campaign, queue)
    agent = checks.agent(agent)
    at = checks.aware(at)
    queue_name = checks.identifier(queue, "queue")
    template_name = checks.identifier(template, "template")
    values = tuple(
        checks.text(p, "template param", limit=checks.PARAM_MAX)
        for p in checks.items(params, "template params")
    )
    shown = f"[template {template_name}]"
    if values:
        shown += " " + ", ".join(values)
    return _send_and_route(
        store,
        lambda found, to_, campaign_id: channel_port.send_template(
            found, to_, template_name, values, campaign_id, queue_name
        ),
        channel=Channel.WHATSAPP,
        allowed=_WHATSAPP_LINES,
        refused="send a WhatsApp template",
        failed="send a WhatsApp template",
        line=line,
        to=to,
        campaign=campaign,
        agent=agent,
        at=at,
        text=shown[: checks.TEXT_MAX],
        queue=queue_name,
        template=template_name,
        params=values,
    )


@accepts_old_call(("channel_port",))
def place_call(
    store: Store,
    *,
    channel_port: ChannelPort,
    line: str,
    to: str,
    agent: str,
    campaign: str,
    at: dt.datetime,
) -> RouteResult:
    """Place a call from a phone line through the host's channel and route it (status "placed").

    Raises:
        UnknownLine: no such line.
        UnknownCampaign: the line's campaign is not declared.
        InvalidPhoneNumber: the customer is not a valid phone.
        BlockedIdentity: the customer is blocked (the attempt is recorded).
        ContactNotAllowed, WindowClosed: the contact policy refuses it (W1-W6); the
            channel is not called and nothing is recorded.
        RuleViolation: bad input, a non-phone line, or the channel failed (nothing recorded).
    """
    agent = checks.agent(agent)
    at = checks.aware(at)
    return _send_and_route(
        store,
        lambda found, to_, _campaign: channel_port.place_call(found, to_, agent),
        channel=Channel.CALL,
        allowed=PHONE_CHANNELS,
        refused="place a call",
        failed="place a call",
        line=line,
        to=to,
        campaign=campaign,
        agent=agent,
        at=at,
        status="placed",
    )
