"""Replay of ``merge``, ``comment``, ``block``, ``unblock``, ``anonymize`` lines (M5, I2-I4, R4).

Part of :mod:`ccdomain.replay`. A merge goes through :func:`ccdomain.matching.plan_merge`
and :func:`ccdomain.matching.apply_merge` (M5); the others through
:mod:`ccdomain.identities`: a case comment (I2), a block or unblock of a customer
address read in the campaign's region (I3, I7), an anonymization (I4).

R4: a merge of a contact already merged into the same live contact is already
applied, and so is one whose codes are gone when the store records a merge of that
campaign, time and agent between contacts anonymized since (I4 renamed them); so is
a comment recorded with that time, agent and text (or whose event says so: a cancel
removes comments, an anonymization rewrites their text, the event holding only the
length stays), a block of a blocked address and an unblock of an unblocked one (I7),
a block whose event (campaign, time, agent) is recorded under an anonymous address
(in a replay: anonymization removed the block), and an anonymization of an
anonymized contact (or of a code this very line anonymized in an earlier replay: its
event of that campaign, time and agent, one event per code in a replay).
"""

from __future__ import annotations

import datetime as dt

from ccdomain import checks, matching
from ccdomain import contacts as ct
from ccdomain import identities as ids
from ccdomain.events import CommentAdded, ContactsMerged, EventKind, IdentityBlocked
from ccdomain.replay.lines import LineContext
from ccdomain.replay.outcomes import Effect, Outcome
from ccdomain.rules.identities import is_anonymous_address
from ccdomain.rules.merge import merged_contact

__all__ = ["on_anonymize", "on_block", "on_comment", "on_merge"]


def _merged_anonymized(
    ctx: LineContext, campaign: str, source: str, at: dt.datetime, agent: str
) -> bool:
    """Whether a merge of that campaign, time and agent joined contacts anonymized since.

    Anonymization renamed both (I11): the codes the line names are gone (R4). In a
    replay, a later merge of the same code repeated one found so (it recorded nothing).
    """
    memo = ctx.memos.anonymized if ctx.memos is not None else None
    if memo is not None and (campaign, source) in memo.merged:
        return True
    found = False
    for event in ctx.anonymized_events(at):
        payload = event.payload
        if (
            type(payload) is ContactsMerged
            and (event.campaign, event.actor) == (campaign, agent)
            and _anonymized(ctx, campaign, payload.into)
            and _anonymized(ctx, campaign, payload.merged_from)
        ):
            found = True
            if memo is not None:
                memo.merged.add((campaign, source))
                # What the two contact lines said, joined as the merge joined them (M5).
                into = memo.lines.get((campaign, payload.into))
                merged = memo.lines.get((campaign, payload.merged_from))
                if into is not None and merged is not None:
                    memo.lines[(campaign, payload.into)] = merged_contact(into, merged)[0]
                    memo.absorbed.add((campaign, payload.into))
    return found


def _anonymized(ctx: LineContext, campaign: str, code: str) -> bool:
    contact = ctx.uow.get_contact(campaign, code)
    return contact is not None and contact.anonymized


def on_merge(ctx: LineContext) -> Outcome:
    """A ``merge`` line: merge a contact into another (M5; R4: once)."""
    campaign = ctx.campaign()
    at = ctx.clock()
    into = ctx.text("into")
    source = ctx.text("from")
    target = ctx.uow.get_contact(campaign.id, source)
    if target is None:
        if _merged_anonymized(ctx, campaign.id, source, at, ctx.agent()):
            return ctx.outcome(at, detail=f"contact {source!r} was merged, then anonymized")
        raise ctx.fail("from", f"no contact with code {source!r} in campaign {campaign.id!r}")
    with ctx.blame("into"):
        live_into = ct.live_contact(ctx.uow, campaign.id, into).code
    if target.merged_into is not None:
        with ctx.blame("from"):
            live_from = ct.live_contact(ctx.uow, campaign.id, source).code
        if live_from == live_into:
            return ctx.outcome(at, detail=f"contact {source!r} is merged into {live_into!r}")
    agent = ctx.agent()
    with ctx.blame(None):
        plan = matching.plan_merge(ctx.uow, campaign=campaign.id, into=live_into, source=source)
        matching.apply_merge(ctx.store, plan=plan, agent=agent, at=at)
    if ctx.memos is not None:
        ctx.memos.anonymized.merge_applied(campaign.id)
    return ctx.outcome(at, Effect.CONTACTS_MERGED)


def on_comment(ctx: LineContext) -> Outcome:
    """I2: a case comment, through :func:`ccdomain.identities.add_comment`."""
    at = ctx.clock()
    number = ctx.ticket_number()
    if number is None:
        raise ctx.fail("ticket", "missing; expected the number of the ticket to comment on")
    agent = ctx.agent()
    text = ctx.checked("text", checks.text, limit=checks.COMMENT_MAX, required=True)
    if text is None:
        raise ctx.fail("text", "missing; expected the comment's text")
    if any((c.at, c.agent, c.text) == (at, agent, text) for c in ctx.uow.comments(number)):
        return ctx.outcome(at, ticket=number, detail="the comment is already recorded")
    # Cancelling removes a comment (I2), anonymizing replaces its text (I4): its event,
    # which holds the length and never the text, still says it was made.
    length = len(text)
    for event in ctx.uow.events():
        payload = event.payload
        if (
            type(payload) is CommentAdded
            and (event.ticket, event.at, event.actor) == (number, at, agent)
            and payload.length == length
        ):
            return ctx.outcome(at, ticket=number, detail="the comment was made before")
    with ctx.blame("text", TicketClosed="ticket", UnknownTicket="ticket"):
        ids.add_comment(ctx.store, ticket=number, agent=agent, at=at, text=text)
    return ctx.outcome(at, Effect.COMMENT_ADDED, ticket=number)


def _blocked_anonymized(
    ctx: LineContext, campaign: str, address: str, agent: str, at: dt.datetime
) -> bool:
    """Whether this block is recorded under an anonymous address (in a replay, R4, I4).

    A later block of the same address in the file was a repeat of a blocked one.
    """
    assert ctx.memos is not None
    memo = ctx.memos.anonymized
    if (campaign, address) in memo.blocked:
        return True
    for event in ctx.anonymized_events(at, before_replay=True):
        payload = event.payload
        if (
            type(payload) is IdentityBlocked
            and (event.campaign, event.actor) == (campaign, agent)
            and is_anonymous_address(payload.customer)
        ):
            memo.blocked.add((campaign, address))
            return True
    return False


def on_block(ctx: LineContext) -> Outcome:
    """I3: block or unblock an identity in a campaign (an identical repeat is a no-op, I7)."""
    campaign = ctx.campaign()
    at = ctx.clock()
    agent = ctx.agent()
    address = ctx.customer(campaign)
    blocked = ctx.uow.get_block(campaign.id, address) is not None
    if ctx.type == "block":
        if blocked:
            return ctx.outcome(at, detail=f"{address!r} is already blocked")
        if ctx.memos is not None and _blocked_anonymized(ctx, campaign.id, address, agent, at):
            # Anonymization removed the block and replaced its address (I4): the
            # block this line made is recorded under the anonymous one.
            return ctx.outcome(at, detail="the address was blocked, then anonymized")
        ids.block_identity(ctx.store, campaign=campaign.id, customer=address, agent=agent, at=at)
        return ctx.outcome(at, Effect.IDENTITY_BLOCKED)
    if not blocked:
        return ctx.outcome(at, detail=f"{address!r} is not blocked")
    ids.unblock_identity(ctx.store, campaign=campaign.id, customer=address, agent=agent, at=at)
    return ctx.outcome(at, Effect.IDENTITY_UNBLOCKED)


def on_anonymize(ctx: LineContext) -> Outcome:
    """I4: anonymize a contact (already anonymized: a no-op)."""
    campaign = ctx.campaign()
    at = ctx.clock()
    agent = ctx.agent()
    code = ctx.text("contact")
    contact = ctx.uow.get_contact(campaign.id, code)
    memo = ctx.memos.anonymized if ctx.memos is not None else None
    if contact is None:
        # The code is gone when this very event anonymized it in an earlier replay: its
        # event is recorded (campaign, time, agent). In a replay, one event stands for
        # one code: an event this replay made or took already is another code's.
        if memo is not None and (campaign.id, code) in memo.codes:
            return ctx.outcome(at, detail="the contact is already anonymized")
        for event in ctx.anonymized_events(at):
            if (
                event.kind is EventKind.CONTACT_ANONYMIZED
                and (event.campaign, event.actor) == (campaign.id, agent)
                and (memo is None or event.contact not in memo.claimed)
            ):
                if memo is not None:
                    memo.claim(campaign.id, code, event.contact)
                return ctx.outcome(at, detail="the contact is already anonymized")
        raise ctx.fail("contact", f"no contact with code {code!r} in campaign {campaign.id!r}")
    if contact.anonymized:
        return ctx.outcome(at, detail=f"contact {code!r} is already anonymized")
    if memo is not None:
        # What the file's later lines may repeat is what was anonymized before this one.
        memo.anonymizing(ctx.uow, campaign.id)
    with ctx.blame("contact"):
        anonymous = ids.anonymize_contact(
            ctx.store, campaign=campaign.id, code=code, agent=agent, at=at
        )
    if ctx.memos is not None:
        ctx.memos.forget()  # the recorded refusals' and interactions' data changed (I4)
    if memo is not None:
        memo.claim(campaign.id, code, anonymous.code)  # its event names the new code
    return ctx.outcome(at, Effect.CONTACT_ANONYMIZED, detail=f"now {anonymous.code}")
