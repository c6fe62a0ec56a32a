"""Replay of the collections lines: products, payments and promises (R4, R7, C22).

Part of :mod:`ccdomain.replay`. The lines ``product``, ``payment``,
``reverse_payment``, ``promise`` and ``cancel_promise`` each go to their
:mod:`ccdomain.collections` service. A product names its contact by code (R5: merge
tombstones followed); money is a string in the product's currency (R2); a promise
names the ticket it was made in (R7: ``ticket``, else the customer's ticket of the
campaign open at the event time, else the open one, else the latest; a customer
with no ticket in the campaign still gets the promise, without one, C22, when it
is an address of the product's contact; anyone else is a bad line).

R4: a product, payment or promise whose id is stored with equal values is already
applied (a payment that moved on from ``scheduled`` to ``made`` or ``reversed``, or
a promise cancelled since, still counts as equal); other values are a bad line. A
product whose contact was anonymized since is compared without it (the code the
line names is gone, I4), and so is a promise's customer and ticket. A
reversal of a reversed payment, and a cancellation of a promise cancelled by the
same agent that day, are already applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Final

import attrs

from ccdomain import collections as coll
from ccdomain import contacts as ct
from ccdomain.errors import CcdomainError
from ccdomain.errors import show as _show
from ccdomain.models import Campaign
from ccdomain.replay.closing import ticket_at
from ccdomain.replay.lines import LineContext
from ccdomain.replay.outcomes import Effect, EventRejected, Outcome
from ccdomain.rules.identities import is_anonymous_address

__all__ = ["on_cancel_promise", "on_payment", "on_product", "on_promise", "on_reverse_payment"]


def _product_of(ctx: LineContext, name: str = "product") -> coll.Product:
    product_id = ctx.text(name)
    product = ctx.uow.get_product(product_id)
    if product is None:
        raise ctx.fail(name, f"{_show(product_id)} is not a declared product")
    return product


def _campaign_by_id(ctx: LineContext, campaign_id: str) -> Campaign | None:
    return ctx.uow.get_campaign(campaign_id)


def _installments(ctx: LineContext, currency: str) -> list[tuple[coll.Money, dt.date]]:
    """The line's ``installments``: (amount, date) pairs, a bad one blamed by its index (R2)."""
    out = []
    for i, item in enumerate(ctx.listing("installments")):
        if not isinstance(item, Mapping):
            raise ctx.fail("installments", f"{_show(item)} is not an object {{amount, date}}")
        amount = ctx.amount_value(f"installments[{i}].amount", item.get("amount"), currency)
        try:
            day = ctx.nested(item).date("date")
        except EventRejected as exc:
            raise ctx.fail(f"installments[{i}].date", exc.reason) from None
        out.append((amount, day))
    return out


def _stored_before(
    ctx: LineContext,
    at: dt.datetime,
    what: str,
    done: str,
    *,
    same: bool,
    expected: str = "an identical one",
) -> Outcome:
    """R4 for a line whose id is stored: already applied when equal, else a bad line."""
    if not same:
        raise ctx.fail("id", f"{what} is already {done} with other values; expected {expected}")
    return ctx.outcome(at, detail=f"{what} is {done}")


def on_product(ctx: LineContext) -> Outcome:
    """A ``product`` line: declare the product (R4: once)."""
    campaign = ctx.campaign()
    at = ctx.clock()
    product_id = ctx.text("id")
    stored = ctx.uow.get_product(product_id)
    code = ctx.contact_code(campaign, stored=None if stored is None else stored.contact)
    currency = ctx.text("currency")
    debt = ctx.amount("debt", currency)
    due = ctx.date("due")
    schedule = [
        coll.ProductInstallment(day, amount) for amount, day in _installments(ctx, currency)
    ]
    with ctx.blame(None):
        product = coll.Product(
            id=product_id,
            campaign=campaign.id,
            contact=code,
            kind=ctx.text("kind"),
            debt=debt,
            due=due,
            installments=tuple(schedule),
        )
    if stored is not None:
        return _stored_before(
            ctx,
            at,
            f"product {product_id!r}",
            "declared",
            same=stored == product,
            expected="an identical re-declaration",
        )
    with ctx.blame(None, UnknownContact="contact", UnknownCampaign="campaign"):
        coll.declare_product(ctx.store, product=product, at=at)
    return ctx.outcome(at, Effect.PRODUCT_DECLARED)


_PAYMENT_ORDER: Final = {"scheduled": 0, "made": 1, "reversed": 2}


def on_payment(ctx: LineContext) -> Outcome:
    """A ``payment`` line: record the payment (R4: once, or moved on)."""
    product = _product_of(ctx)
    campaign = _campaign_by_id(ctx, product.campaign)
    day = ctx.date("date")
    at = ctx.clock(on=day, campaign=campaign)
    payment_id = ctx.text("id")
    status = ctx.opt_text("status") or "made"
    if status not in _PAYMENT_ORDER:
        raise ctx.fail("status", f"{_show(status)} is not 'made', 'scheduled' or 'reversed'")
    with ctx.blame(None):
        payment = coll.Payment(
            payment_id, product.id, ctx.amount("amount", product.currency), day, status
        )
    stored = ctx.uow.get_payment(payment_id)
    if stored is not None:
        same = attrs.evolve(stored, status=payment.status) == payment
        # A payment recorded again with a later status (scheduled, then made) moves on.
        if not same or _PAYMENT_ORDER[stored.status.value] >= _PAYMENT_ORDER[status]:
            return _stored_before(ctx, at, f"payment {payment_id!r}", "recorded", same=same)
    with ctx.blame(None, UnknownProduct="product"):
        coll.record_payment(ctx.store, payment=payment, at=at)
    return ctx.outcome(at, Effect.PAYMENT_RECORDED)


def on_reverse_payment(ctx: LineContext) -> Outcome:
    """A ``reverse_payment`` line: reverse the payment (R4: once)."""
    at = ctx.time("at")
    payment_id = ctx.text("id")
    stored = ctx.uow.get_payment(payment_id)
    if stored is None:
        raise ctx.fail("id", f"{_show(payment_id)} is not a recorded payment")
    if stored.status is coll.PaymentStatus.REVERSED:
        return ctx.outcome(at, detail=f"payment {payment_id!r} is reversed")
    with ctx.blame("id"):
        coll.reverse_payment(ctx.store, payment=payment_id, agent=ctx.opt_agent(), at=at)
    return ctx.outcome(at, Effect.PAYMENT_REVERSED)


def _promise_ticket(
    ctx: LineContext, campaign: Campaign, at: dt.datetime
) -> tuple[int | None, str | None]:
    """The ticket a promise was made in, and its customer (R7).

    No ticket when the customer has none in the campaign (C22: kept without one).
    """
    number = ctx.ticket_number()
    customer = ctx.customer(campaign) if ctx.has("customer") else None
    if number is not None or customer is None:
        return number, customer
    chosen = ticket_at(ctx.uow, campaign.id, customer, at)
    return (None if chosen is None else chosen.number), customer


def _ticketless_customer(
    ctx: LineContext, campaign: Campaign, product: coll.Product, customer: str
) -> None:
    """C22: a customer without a ticket is the product's contact, or the line is bad (R2).

    Anything else (``"%_%"``, a mistyped number) would silently give a promise without
    a ticket, whose customer nobody can be found by.
    """
    try:
        contact = ct.live_contact(ctx.uow, campaign.id, product.contact)
    except CcdomainError:
        contact = None
    if contact is not None and customer in {ch.value for ch in contact.channels}:
        return
    raise ctx.fail(
        "customer",
        f"{_show(customer)} has no ticket in campaign {campaign.id!r} and is not an address "
        f"of contact {product.contact!r}, the product's; expected the customer of a ticket "
        "of the campaign or an address of the product's contact",
    )


def on_promise(ctx: LineContext) -> Outcome:
    """A ``promise`` line: register the promise in its ticket (R4, R7)."""
    product = _product_of(ctx)
    campaign = ctx.campaign() if ctx.has("campaign") else _campaign_by_id(ctx, product.campaign)
    if campaign is None:
        raise ctx.fail("campaign", f"product {product.id!r} names an undeclared campaign")
    made_on = ctx.date("made_on")
    at = ctx.clock(on=made_on, campaign=campaign)
    promise_id = ctx.text("id")
    agent = ctx.agent()
    installments = [
        coll.Installment(amount, day) for amount, day in _installments(ctx, product.currency)
    ]
    if not installments:
        raise ctx.fail("installments", "missing; expected a list of {amount, date}")
    ticket, customer = _promise_ticket(ctx, campaign, at)
    stored = ctx.uow.get_promise(promise_id)
    if stored is None and ticket is None and customer is not None:
        _ticketless_customer(ctx, campaign, product, customer)
    with ctx.blame("installments"):
        promise = coll.Promise(
            id=promise_id,
            product=product.id,
            campaign=campaign.id,
            agent=agent,
            made_on=made_on,
            installments=tuple(installments),
            ticket=ticket,
            customer=customer,
        )
    if stored is not None:
        plain = attrs.evolve(stored, cancelled_on=None, cancelled_by=None, ticket=ticket)
        if is_anonymous_address(stored.customer):
            # Anonymized since (I4): the line's customer and its ticket cannot be told.
            plain = attrs.evolve(plain, customer=customer)
        return _stored_before(
            ctx, at, f"promise {promise_id!r}", "registered", same=plain == promise
        )
    with ctx.blame("installments", UnknownProduct="product", UnknownTicket="customer"):
        coll.register_promise(ctx.store, promise=promise, at=at)
    return ctx.outcome(at, Effect.PROMISE_MADE, ticket=ticket)


def on_cancel_promise(ctx: LineContext) -> Outcome:
    """A ``cancel_promise`` line: cancel the promise (R4: once)."""
    at = ctx.time("at")
    agent = ctx.agent()
    promise_id = ctx.text("id")
    stored = ctx.uow.get_promise(promise_id)
    if stored is None:
        raise ctx.fail("id", f"{_show(promise_id)} is not a registered promise")
    if stored.cancelled_on is not None:
        campaign = None if stored.campaign is None else _campaign_by_id(ctx, stored.campaign)
        zone = campaign.timezone if campaign is not None else "UTC"
        if stored.cancelled_by == agent and stored.cancelled_on == coll.local_date(at, zone):
            return ctx.outcome(at, detail=f"promise {promise_id!r} is cancelled")
    with ctx.blame("id"):
        coll.cancel_promise(ctx.store, promise=promise_id, agent=agent, at=at)
    return ctx.outcome(at, Effect.PROMISE_CANCELLED)
