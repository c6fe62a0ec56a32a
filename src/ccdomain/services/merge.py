"""Merge services: plan merging contact B into A, then apply the plan (M5, M9, M10).

:func:`plan_merge` lists what merging B into A does, changing nothing;
:func:`apply_merge` does it in one unit of work. B stays as a tombstone that
:func:`ccdomain.contacts.live_contact` resolves to A, so every reference read
later lands on A. The contact A becomes is :func:`ccdomain.rules.merge.merged_contact`.

Choices made where the product documents are silent:

- M9 A merge plan is stale, and :func:`apply_merge` refuses it, when anything it
  lists changed since it was made: either contact, the tickets, products,
  payments or promises it lists, or the pairs of open tickets. Re-plan and
  inspect again. Each relinked ticket gets a CONTACT_LINKED event (``how:
  merge``) besides the CONTACTS_MERGED one, so the ticket report rebuilt from
  the events alone (T11) shows the new links.
- M10 Merging refuses an anonymized contact on either side (I4: its placeholders
  would be mixed into a live contact), and a tombstone. The merge event names
  fields, never values.
"""

from __future__ import annotations

import datetime as dt

import attrs

from ccdomain import checks
from ccdomain._deprecation import accepts_old_call
from ccdomain.errors import RuleViolation, UnknownContact, UnknownTicket
from ccdomain.errors import show as _show
from ccdomain.events import ContactsMerged, Event, EventKind, LinkHow
from ccdomain.models import Contact
from ccdomain.ports import Store, UnitOfWork
from ccdomain.rules.merge import MergeMoves, MergePlan, merged_contact, tombstone
from ccdomain.rules.tickets import contact_linked_event
from ccdomain.services._common import reading, recorder

__all__ = ["apply_merge", "plan_merge"]

_READS = ("get_contact", "tickets_for_contact", "products_for_contact")


def _merge_side(uow: UnitOfWork, campaign: str, code: str, role: str) -> Contact:
    contact = uow.get_contact(campaign, code)
    if contact is None:
        raise UnknownContact(
            f"no contact with code {_show(code)} in campaign {_show(campaign)} ({role})"
        )
    if contact.merged_into is not None:
        raise RuleViolation(
            f"contact {_show(code)} ({role}) was already merged into {_show(contact.merged_into)}: "
            "expected a live contact"
        )
    if contact.anonymized:
        raise RuleViolation(
            f"contact {_show(code)} ({role}) is anonymized: an anonymized contact cannot be merged"
        )
    return contact


def _plan(
    uow: UnitOfWork, campaign: str, into_code: str, from_code: str, from_campaign: str
) -> MergePlan:
    if from_campaign != campaign:
        raise RuleViolation(
            f"cannot merge contact {_show(from_code)} of campaign {_show(from_campaign)} into "
            f"{_show(into_code)} of campaign {_show(campaign)}: merging across campaigns is refused"
        )
    if into_code == from_code:
        raise RuleViolation(f"cannot merge contact {_show(into_code)} into itself")
    a = _merge_side(uow, campaign, into_code, "merged into")
    b = _merge_side(uow, campaign, from_code, "merged from")
    merged, conflicts = merged_contact(a, b)
    a_tickets = uow.tickets_for_contact(campaign, a.code)
    b_tickets = uow.tickets_for_contact(campaign, b.code)
    pairs = tuple(
        (ta.number, tb.number)
        for ta in a_tickets
        if ta.is_open
        for tb in b_tickets
        if tb.is_open and tb.campaign == ta.campaign
    )
    products = uow.products_for_contact(campaign, b.code)
    payments = sorted(p.id for product in products for p in uow.payments_for_product(product.id))
    promises = sorted(p.id for product in products for p in uow.promises_for_product(product.id))
    moves = MergeMoves(
        tickets=tuple(t.number for t in b_tickets),
        products=tuple(p.id for p in products),
        payments=tuple(payments),
        promises=tuple(promises),
    )
    return MergePlan(
        into=a,
        source=b,
        conflicts=conflicts,
        merged=merged,
        open_ticket_pairs=pairs,
        moves=moves,
    )


@accepts_old_call(
    ("campaign", "into", "source"), renamed={"into_code": "into", "from_code": "source"}
)
def plan_merge(
    store: Store | UnitOfWork,
    *,
    campaign: str,
    into: str,
    source: str,
    from_campaign: str | None = None,
) -> MergePlan:
    """Plan merging contact ``source`` (B) into ``into`` (A), changing nothing (M5).

    The plan lists every field conflict, every pair of open tickets and what
    will be repointed; inspect it, then :func:`apply_merge` it.

    Args:
        store: a store (read in a unit of work of its own), or a unit of work.
        campaign: the campaign of A.
        into: A's code (kept).
        source: B's code (becomes a tombstone).
        from_campaign: B's campaign when it differs (then the merge is refused).

    Raises:
        UnknownContact: either code is unknown in the campaign.
        RuleViolation: across campaigns, into itself, a tombstone or an anonymized
            contact on either side.
    """
    campaign = checks.identifier(campaign, "campaign")
    source_campaign = (
        campaign if from_campaign is None else checks.identifier(from_campaign, "from_campaign")
    )
    a_code = checks.identifier(into, "merged into contact code", UnknownContact)
    b_code = checks.identifier(source, "merged from contact code", UnknownContact)
    with reading(store, _READS) as uow:
        return _plan(uow, campaign, a_code, b_code, source_campaign)


@accepts_old_call(("plan",))
def apply_merge(store: Store, *, plan: MergePlan, agent: str, at: dt.datetime) -> Contact:
    """Merge B into A as planned, in one unit of work; returns A as merged (M5).

    A becomes ``plan.merged``; B becomes a tombstone resolving to A; every
    ticket of B (with its typifications and comments) and every product of B
    (with its payments and promises) points to A. Events: one CONTACT_LINKED per
    relinked ticket and one CONTACTS_MERGED.

    Raises:
        RuleViolation: the plan is stale (M9), or a bad argument.
        UnknownContact: a contact of the plan no longer exists.
    """
    if not isinstance(plan, MergePlan):
        raise RuleViolation(f"{_show(plan)} is not a MergePlan: expected plan_merge's result")
    when, who = checks.aware(at), checks.agent(agent)
    a, b = plan.into, plan.source
    with store.unit_of_work() as uow:
        current = _plan(uow, a.campaign, a.code, b.code, b.campaign)
        if current != plan:
            raise RuleViolation(
                f"the plan to merge {_show(b.code)} into {_show(a.code)} is stale: the "
                "contacts, their tickets or products changed since it was made; plan again"
            )
        uow.update_contact(plan.merged)
        uow.update_contact(tombstone(b, a.code))
        for number in plan.moves.tickets:
            ticket = uow.get_ticket(number)
            if ticket is None:  # pragma: no cover - _plan just listed it
                raise UnknownTicket(f"no ticket with number {_show(number)}")
            relinked = attrs.evolve(ticket, contact=a.code)
            uow.update_ticket(relinked)
            recorder(uow)(
                contact_linked_event(relinked, LinkHow.MERGE, who, when, merged_from=b.code)
            )
        for product_id in plan.moves.products:
            product = uow.get_product(product_id)
            if product is not None:
                uow.put_product(attrs.evolve(product, contact=a.code))
        recorder(uow)(
            Event(
                kind=EventKind.CONTACTS_MERGED,
                at=when,
                actor=who,
                campaign=a.campaign,
                contact=a.code,
                payload=ContactsMerged(
                    into=a.code,
                    merged_from=b.code,
                    tickets=plan.moves.tickets,
                    products=plan.moves.products,
                    conflicts=tuple(c.field for c in plan.conflicts),
                ),
            ),
        )
        uow.commit()
    return plan.merged
