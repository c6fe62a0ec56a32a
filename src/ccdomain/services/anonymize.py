"""Anonymization of a contact (I4, I11): every personal value replaced, the reports kept.

- I11 Anonymizing an anonymized contact (anonymizing twice) is refused. An open case
  stays open under its new anonymous address: the customer's next message from the real
  address opens a new, unlinked ticket (T3 is untouched). Names, document, company
  reference, gender, tags, notes, channels, addresses and custom values are emptied; VIP
  and last activity stay. The code becomes ``ANON-`` and 16 hex digits of a SHA-256 over
  the contact's creation fingerprint (every value it was created with, recorded when it
  was created: :func:`~ccdomain.rules.identities.contact_fingerprint`): opaque, stable,
  not computable from the code alone, and found again by the event line that created the
  contact (R4). A contact whose creation recorded no fingerprint (before this version)
  gets a SHA-256 over everything held about it and the time. The fingerprint in its
  creation event is blanked. Merge tombstones resolving to the contact get opaque codes
  too, from their own fingerprints. Customer addresses become ``anon-<hex>-<n>``;
  message texts, typification and case comments, and refusal texts become
  ``[anonymized]`` (empty ones stay empty). Interaction external ids stay (a redelivered
  webhook stays a duplicate, T9), as do agents, lines, queues, labels, statuses, paths,
  dates, amounts and counts. Blocks of the contact's addresses are removed (the address
  is no longer held), and so are its contact-policy windows, attempt counts and
  opt-outs (W1-W5). A company record is shared and stays; the contact's reference to
  it is dropped. Events are rewritten in place (the one exception to the append-only
  log), so :func:`ccdomain.tickets.rebuild_tickets` still equals the stored tickets. A
  store that is :class:`~ccdomain.ports.Purgeable` is purged after the commit, so the
  old values cannot be read from its files either.

The replacements are the pure rules of :mod:`ccdomain.rules.identities`; this
service finds what is held (:func:`~ccdomain.services.export.export_document`,
I8) and writes the replacements in one unit of work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import attrs

from ccdomain import checks
from ccdomain.errors import RuleViolation
from ccdomain.events import ContactAnonymized, ContactCreated, Event, EventKind
from ccdomain.models import Contact
from ccdomain.ports import Purgeable, Store, UnitOfWork
from ccdomain.rules.identities import (
    anonymized_contact,
    anonymous_addresses,
    anonymous_code,
    opaque,
    scrubbed_case,
    scrubbed_event,
)
from ccdomain.serialization import to_json
from ccdomain.services._common import recorder
from ccdomain.services.export import export_document
from ccdomain.services.identities import live_contact_in

__all__ = ["anonymize_contact"]


def _new_code(uow: UnitOfWork, campaign: str, fingerprint: str | None, *seed: str) -> str:
    """The first free anonymous code: from the contact's creation fingerprint when its
    creation recorded one (a replayed ``contact`` line finds it so, R4), else from ``seed``."""
    for attempt in range(100):
        if fingerprint:
            code = anonymous_code(fingerprint, attempt)
        else:
            code = "ANON-" + opaque(*seed, str(attempt))[:16].upper()
        if uow.get_contact(campaign, code) is None:
            return code
    raise RuleViolation(  # pragma: no cover - 100 collisions of 64-bit codes
        f"no free anonymous code found in campaign {campaign!r}"
    )


def _fingerprints(logged: Iterable[Event], campaign: str, codes: set[str]) -> dict[str, str]:
    """The creation fingerprint of each of ``codes`` its ``CONTACT_CREATED`` event holds."""
    found: dict[str, str] = {}
    for event in logged:
        payload = event.payload
        if (
            type(payload) is ContactCreated
            and event.campaign == campaign
            and event.contact in codes
            and payload.fingerprint
        ):
            found[event.contact] = payload.fingerprint  # a code freed and taken again: the last
    return found


def anonymize_contact(
    store: Store, *, campaign: str, code: str, agent: str, at: dt.datetime
) -> Contact:
    """Replace every personal value held about a contact (I4, I11); returns it anonymized.

    The contact, its cases (those of I8: interactions, typifications, comments),
    its products' promises, the blocks of its addresses, its merge tombstones and
    every event about them lose their personal values; the contact gets a new
    opaque code. Counts, dates, statuses, typification paths and amounts stay, so
    reports still add up, and :func:`ccdomain.tickets.rebuild_tickets` still
    equals the stored tickets. One unit of work; a ``Purgeable`` store is purged
    after it commits. Records a ``CONTACT_ANONYMIZED`` event (with counts only).

    Raises:
        UnknownCampaign, UnknownContact: no such campaign or contact.
        RuleViolation: the contact is already anonymized, or bad input.
        StoreError: the store could not purge its files (the anonymization is committed).
    """
    who = checks.agent(agent)
    when = checks.aware(at)
    with store.unit_of_work() as uow:
        contact = live_contact_in(uow, campaign, code)
        campaign_id = contact.campaign
        if contact.anonymized:
            raise RuleViolation(
                f"contact {contact.code!r} of campaign {campaign_id!r} is already anonymized"
            )
        document = export_document(uow, contact)
        seed = opaque(to_json(document), when.isoformat())
        # Read once: the writes below append or change no event until the scrub.
        logged = list(uow.events())
        prints = _fingerprints(logged, campaign_id, {contact.code, *document.merged_codes})
        new_code = _new_code(uow, campaign_id, prints.get(contact.code), seed, "contact")
        codes = {contact.code: new_code}
        for merged_code in document.merged_codes:
            codes[merged_code] = _new_code(
                uow, campaign_id, prints.get(merged_code), seed, "merged", merged_code
            )
        addresses = anonymous_addresses(document, seed)

        uow.rename_contact(campaign_id, contact.code, anonymized_contact(contact, code=new_code))
        for tomb_code in document.merged_codes:
            tomb = uow.get_contact(campaign_id, tomb_code)
            if tomb is None:  # pragma: no cover - listed in this unit of work
                continue
            target = tomb.merged_into
            survivor = codes.get(target, new_code) if target is not None else new_code
            uow.rename_contact(
                campaign_id,
                tomb_code,
                anonymized_contact(tomb, code=codes[tomb_code], merged_into=survivor),
            )
        counts = {"tickets": 0, "interactions": 0, "typifications": 0, "comments": 0}
        for case in document.cases:
            scrubbed = scrubbed_case(case, addresses=addresses, codes=codes, new_code=new_code)
            number = case.ticket.number
            uow.replace_interactions(number, list(scrubbed.interactions))
            uow.replace_typifications(number, list(scrubbed.typifications))
            uow.replace_comments(number, list(scrubbed.comments))
            uow.rewrite_ticket(scrubbed.ticket)
            counts["tickets"] += 1
            counts["interactions"] += len(scrubbed.interactions)
            counts["typifications"] += len(scrubbed.typifications)
            counts["comments"] += len(scrubbed.comments)
        for held in document.products:
            uow.put_product(attrs.evolve(held.product, contact=new_code))
            for promise in held.promises:
                if promise.customer is not None:
                    uow.put_promise(attrs.evolve(promise, customer=addresses.get(promise.customer)))
        for block in document.blocks:
            uow.remove_block(block.campaign, block.customer)
        for address in addresses:
            # The windows, attempt counts and opt-outs held the address (W1-W5).
            uow.forget_customer_policy(address)
        numbers = {case.ticket.number for case in document.cases}
        rewritten = 0
        for event in logged:
            scrubbed_one = scrubbed_event(
                event, campaign=campaign_id, numbers=numbers, codes=codes, addresses=addresses
            )
            if scrubbed_one is not event:
                uow.replace_event(scrubbed_one)
                rewritten += 1
        recorder(uow)(
            Event(
                kind=EventKind.CONTACT_ANONYMIZED,
                at=when,
                actor=who,
                campaign=campaign_id,
                contact=new_code,
                payload=ContactAnonymized(
                    **counts,
                    products=len(document.products),
                    blocks_removed=len(document.blocks),
                    events_rewritten=rewritten,
                ),
            ),
        )
        anonymized = uow.get_contact(campaign_id, new_code)
        uow.commit()
    if isinstance(store, Purgeable):
        store.purge()
    assert anonymized is not None
    return anonymized
