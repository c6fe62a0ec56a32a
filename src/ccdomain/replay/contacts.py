"""Replay of ``contact`` lines: a contact created once, whatever the file says (R4, K2, M11, I11).

Part of :mod:`ccdomain.replay`. The line is applied through
:func:`ccdomain.contacts.create_contact`; before that, R4 decides whether the store
already holds it:

- a contact with a document has the document's code (K2): the stored contact of that
  code is it, already applied when it holds everything the line says (equal names
  and document, the line's channels, addresses, tags and custom values among the
  stored ones, VIP unless the stored contact is VIP: a merge may have added to it),
  or when it was merged or anonymized since; holding something else is a bad line;
- a contact without document is already applied when a contact without document of
  the campaign holds it the same way (found through its phones, else by its first
  channel or name through :class:`~ccdomain.replay.memos.ContactKeys`), or a live
  contact holding it (its phones, else its first channel or name) absorbed a merged
  contact (M5);
- a contact without document is also already applied when the contact it created
  was merged since (M5: the tombstone holds only its code), found by the fingerprint
  of its values its creation recorded (I11);
- either is already applied when the contact it created was anonymized since (I4):
  its code and values are gone, but its anonymous code is made of the fingerprint of
  the values it was created with (I11), which the line still says; so is a line
  repeating part of one found so earlier in the replay.

Channels and addresses are compared by the keys a merge dedupes them by (M11), so
what a merge kept one of counts as the same value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ccdomain import contacts as ct
from ccdomain import matching
from ccdomain.errors import show as _show
from ccdomain.events import ContactCreated
from ccdomain.models import Campaign, Contact
from ccdomain.replay.lines import LineContext
from ccdomain.replay.outcomes import Effect, Outcome
from ccdomain.rules.contacts import CONTACT_FIELDS
from ccdomain.rules.identities import anonymous_code, contact_fingerprint

__all__ = ["CONTACT_INPUTS", "on_contact"]

# The line's contact fields are exactly the ones a contact is created with.
CONTACT_INPUTS: Final = CONTACT_FIELDS
_CONTACT_BLAME: Final = {
    "InvalidDocument": "document",
    "DuplicateContact": "document",
    "InvalidPhoneNumber": "channels",
    "InvalidChannel": "channels",
    "InvalidAddress": "addresses",
    "InvalidCustomField": "custom",
}


def _contact_conflicts(stored: Contact, new: Contact, *, names: bool = True) -> list[str]:
    """The fields of ``new`` that ``stored`` does not already hold (R4)."""
    out: list[str] = []
    for name in ("first_names", "last_names", "gender", "notes"):
        value = getattr(new, name)
        if value and value != getattr(stored, name) and (names or name in ("gender", "notes")):
            out.append(name)
    if new.document is not None and new.document != stored.document:
        out.append("document")
    if new.company is not None and new.company != stored.company:
        out.append("company")
    if new.vip and not stored.vip:
        out.append("vip")
    # Held means held by M11's keys: what a merge keeps one of counts as the same value.
    held = {matching.channel_key(c) for c in stored.channels}
    if any(matching.channel_key(c) not in held for c in new.channels):
        out.append("channels")
    addresses = {matching.address_key(a) for a in stored.addresses}
    if any(matching.address_key(a) not in addresses for a in new.addresses):
        out.append("addresses")
    if any(stored.custom.get(k) != v for k, v in new.custom.items()):
        out.append("custom")
    if not {ct.name_key(t) for t in new.tags} <= {ct.name_key(t) for t in stored.tags}:
        out.append("tags")
    return out


def _contact_candidate(ctx: LineContext, campaign: Campaign, fields: dict[str, Any]) -> Contact:
    """The contact the event would create, built by the pure rule (nothing written here).

    An undocumented contact gets the first generated code, as in an empty campaign: the
    R4 comparisons that follow never look at a generated code.
    """
    company = ct.find_company(ctx.uow, ref=fields.get("company"))
    code = None if fields.get("document") is not None else ct.generated_code(1)
    with ctx.blame(None, **_CONTACT_BLAME):
        return ct.build_contact(
            campaign, code=code, companies=() if company is None else (company,), **fields
        )


def _same_undocumented(ctx: LineContext, campaign: Campaign, new: Contact) -> Contact | None:
    """A contact without document of the campaign that already holds ``new`` (R4)."""
    keys = ctx.memos.contacts if ctx.memos is not None else None
    seen: dict[str, Contact] = {}
    for phone in new.phones:
        for found in ctx.uow.contacts_by_phone(phone):
            if found.campaign == campaign.id:
                seen.setdefault(found.code, found)
    if not new.phones:
        held = keys.holding(ctx.uow, new) if keys is not None else None
        for found in ctx.uow.list_contacts(campaign.id) if held is None else held:
            if found.merged_into is None and not found.anonymized:
                seen.setdefault(found.code, found)
    for found in seen.values():
        if found.document is None and not _contact_conflicts(found, new):
            return found
    # A contact merged into another (M5) is held by it, found by its phones, else its
    # first channel, else its names. The survivor keeps its own names (M5): they are
    # compared only when the line has nothing else to be told by.
    names = not new.channels
    holders = [found for found in seen.values() if not _contact_conflicts(found, new, names=names)]
    if holders:
        if keys is not None and keys.catch_up(ctx.uow):
            absorbed = {
                f.code for f in holders if keys.is_merge_target(ctx.uow, campaign.id, f.code)
            }
        else:
            absorbed = {c.merged_into for c in ctx.uow.list_contacts(campaign.id) if c.merged_into}
        for found in holders:
            if found.code in absorbed:
                return found
    return None


def _merged_since(ctx: LineContext, campaign: Campaign, new: Contact) -> Contact | None:
    """The contact this line created in an earlier replay, merged into another since (M5).

    A merge leaves a tombstone holding nothing but its code: a contact without
    document or phone is found by the fingerprint its creation recorded (I11).
    """
    if ctx.memos is not None and not ctx.memos.anonymized.has_tombstones(ctx.uow, campaign.id):
        return None
    fingerprint = contact_fingerprint(new)
    keys = ctx.memos.contacts if ctx.memos is not None else None
    indexed = keys is not None and keys.catch_up(ctx.uow)
    code = keys.created_with(ctx.uow, campaign.id, fingerprint) if keys and indexed else None
    if not indexed and not new.phones:
        # apply_event alone, or a replay on a log without seq, reads the log (as it lists
        # the campaign for such a contact).
        for event in ctx.uow.events():
            payload = event.payload
            if (
                type(payload) is ContactCreated
                and payload.fingerprint == fingerprint
                and event.campaign == campaign.id
            ):
                code = event.contact
    found = None if code is None else ctx.uow.get_contact(campaign.id, code)
    return found if found is not None and found.merged_into is not None else None


def _may_be_anonymized(ctx: LineContext, campaign: Campaign) -> bool:
    """False when a replay knows the campaign holds no anonymized contact (I4)."""
    return ctx.memos is None or ctx.memos.anonymized.in_campaign(ctx.uow, campaign.id)


def _anonymized_since(ctx: LineContext, campaign: Campaign, new: Contact) -> Contact | None:
    """The anonymized contact this line created in an earlier replay, if any (R4, I11).

    Anonymization took its values and code away; its anonymous code is made of the
    fingerprint of the values it was created with, which the line still says. A line
    repeating part of a contact line found so earlier in this replay is it too.
    """
    if not _may_be_anonymized(ctx, campaign):
        return None
    fingerprint = contact_fingerprint(new)
    for attempt in range(100):
        found = ctx.uow.get_contact(campaign.id, anonymous_code(fingerprint, attempt))
        if found is None:
            break
        if found.anonymized:
            if ctx.memos is not None:
                ctx.memos.anonymized.lines.setdefault((campaign.id, found.code), new)
            return found
    if ctx.memos is not None:
        # As the store held them the first time (_same_undocumented): a contact of the
        # same document, or any that absorbed a merged contact (M5), holding the line.
        memo = ctx.memos.anonymized
        for (where, code), seen in memo.lines.items():
            if where != campaign.id:
                continue
            if seen.document == new.document and not _contact_conflicts(seen, new):
                return ctx.uow.get_contact(campaign.id, code)
            absorbed = new.document is None and (where, code) in memo.absorbed
            if absorbed and not _contact_conflicts(seen, new, names=not new.channels):
                return ctx.uow.get_contact(campaign.id, code)
    return None


def on_contact(ctx: LineContext) -> Outcome:
    """A ``contact`` line: create the contact unless the store already holds it (R4)."""
    campaign = ctx.campaign()
    at = ctx.clock()
    fields = {key: ctx.raw(key) for key in CONTACT_INPUTS if ctx.has(key)}
    actor = ctx.opt_agent()
    document = fields.get("document")
    if document is not None:
        if not isinstance(document, Mapping):
            raise ctx.fail("document", f"{_show(document)} is not an object {{type, number}}")
        with ctx.blame("document"):
            code = ct.code_for(ct.make_document(document.get("type"), document.get("number")))
        stored = ctx.uow.get_contact(campaign.id, code)
        if stored is not None:
            if stored.merged_into is not None or stored.anonymized:
                why = "merged into " + repr(stored.merged_into) if stored.merged_into else ""
                return ctx.outcome(at, detail=f"contact {code!r} exists ({why or 'anonymized'})")
            conflicts = _contact_conflicts(stored, _contact_candidate(ctx, campaign, fields))
            if conflicts:
                raise ctx.fail(
                    conflicts[0] if len(conflicts) == 1 else "document",
                    f"contact {code!r} already exists in campaign {campaign.id!r} with other "
                    f"{', '.join(conflicts)}; expected an identical re-declaration",
                )
            return ctx.outcome(at, detail=f"contact {code!r} already exists")
        # The line's values are built (as for a stored contact) only in a campaign that
        # holds an anonymized contact: a new contact is then created from them again.
        if _may_be_anonymized(ctx, campaign):
            gone = _anonymized_since(ctx, campaign, _contact_candidate(ctx, campaign, fields))
            if gone is not None:
                return ctx.outcome(at, detail=f"contact {code!r} was anonymized since")
    else:
        candidate = _contact_candidate(ctx, campaign, fields)
        existing = _same_undocumented(ctx, campaign, candidate)
        if existing is not None:
            return ctx.outcome(at, detail=f"contact {existing.code!r} already holds it")
        merged = _merged_since(ctx, campaign, candidate)
        if merged is not None:
            return ctx.outcome(at, detail=f"contact {merged.code!r} was merged since")
        if _anonymized_since(ctx, campaign, candidate) is not None:
            return ctx.outcome(at, detail="the contact was anonymized since")
    with ctx.blame(None, **_CONTACT_BLAME):
        created = ct.create_contact(ctx.store, campaign=campaign.id, at=at, agent=actor, **fields)
    return ctx.outcome(at, Effect.CONTACT_CREATED, detail=f"contact {created.code!r}")
