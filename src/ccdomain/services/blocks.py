"""Blocked identities (I3, I7): a customer address refused in a campaign.

- I3 :func:`block_identity` / :func:`unblock_identity`. Routing
  (:func:`ccdomain.tickets.route_interaction`) refuses inbound and outbound
  interactions of a blocked identity with :class:`~ccdomain.errors.BlockedIdentity`
  and records the refusal as an ``INTERACTION_REFUSED`` event.
- I7 Blocking an identity already blocked in that campaign changes nothing (the
  first block keeps its time and agent); unblocking one that is not blocked
  changes nothing either. An identity is read in the campaign's region
  (:func:`~ccdomain.rules.identities.identity_address`): a phone-looking value
  (digits and ``+ ( ) - .`` only) must be a valid number (``InvalidPhoneNumber``),
  a value with ``@`` is an email (lower-cased), any other value a
  Messenger/Instagram/web chat id (stripped).
"""

from __future__ import annotations

import datetime as dt

from ccdomain import checks
from ccdomain.events import Event, EventKind, IdentityBlocked, IdentityUnblocked
from ccdomain.models import Block, Channel
from ccdomain.ports import Store, UnitOfWork
from ccdomain.rules.identities import identity_address
from ccdomain.services._common import declared_campaign, recorder

__all__ = ["block_identity", "unblock_identity"]


def _identity_event(kind: EventKind, block: Block, agent: str, at: dt.datetime) -> Event:
    payload = (
        IdentityBlocked(customer=block.customer)
        if kind is EventKind.IDENTITY_BLOCKED
        else IdentityUnblocked(customer=block.customer)
    )
    return Event(kind=kind, at=at, actor=agent, campaign=block.campaign, payload=payload)


def _stored_block(
    uow: UnitOfWork, campaign: str, customer: str, channel: Channel | str | None
) -> tuple[str, str, Block | None]:
    """The campaign's id, the address as the campaign reads it (I7), and its block if any."""
    found = declared_campaign(uow, campaign)
    address = identity_address(customer, found.region, channel)
    return found.id, address, uow.get_block(found.id, address)


def block_identity(
    store: Store,
    *,
    campaign: str,
    customer: str,
    agent: str,
    at: dt.datetime,
    channel: Channel | str | None = None,
) -> Block:
    """Block an identity (a customer address) in a campaign (I3, I7).

    From then on, routing refuses its inbound and outbound interactions in that
    campaign with ``BlockedIdentity`` and records each refusal. Blocking a blocked
    identity changes nothing and returns the existing block.

    Args:
        campaign: the campaign.
        customer: the address as typed (read in the campaign's region).
        agent: who blocks it.
        at: when.
        channel: the channel the address is of, to read it as routing does; by
            default its shape decides (I7).

    Raises:
        UnknownCampaign; InvalidPhoneNumber: a phone-looking value that is not a valid
        number; InvalidChannel, RuleViolation: other bad input.
    """
    who = checks.agent(agent)
    when = checks.aware(at)
    with store.unit_of_work() as uow:
        campaign_id, address, existing = _stored_block(uow, campaign, customer, channel)
        if existing is not None:
            return existing
        block = Block(campaign=campaign_id, customer=address, at=when, agent=who)
        uow.put_block(block)
        recorder(uow)(_identity_event(EventKind.IDENTITY_BLOCKED, block, who, when))
        uow.commit()
    return block


def unblock_identity(
    store: Store,
    *,
    campaign: str,
    customer: str,
    agent: str,
    at: dt.datetime,
    channel: Channel | str | None = None,
) -> Block | None:
    """Unblock an identity in a campaign: routing treats it normally again (I3, I7).

    Returns the block removed, or ``None`` when it was not blocked (nothing changes).

    Raises:
        As :func:`block_identity`.
    """
    who = checks.agent(agent)
    when = checks.aware(at)
    with store.unit_of_work() as uow:
        campaign_id, address, existing = _stored_block(uow, campaign, customer, channel)
        if existing is None:
            return None
        uow.remove_block(campaign_id, address)
        recorder(uow)(_identity_event(EventKind.IDENTITY_UNBLOCKED, existing, who, when))
        uow.commit()
    return existing
