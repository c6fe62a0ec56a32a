"""Collections services: products, payments and promises, one unit of work each (C1-C5).

Each service takes the store first and keywords after it (``agent`` who acts, ``at``
when), checks every rule before it writes (E2) and records one event:

- :func:`declare_product` (C23: products belong to collections campaigns; the
  contact is followed through merge tombstones, M5);
- :func:`record_payment` and :func:`reverse_payment` (C2, C5: a bounced payment
  stops counting);
- :func:`register_promise` (C4 through :func:`~ccdomain.rules.promises.check_new_promise`;
  C22 the ticket of a promise that names only its customer) and
  :func:`cancel_promise` (C4, C17: a promise is never edited, it is cancelled);
- :func:`contact_products`: the products tab of a contact ("Productos").

A product, payment or promise may be given as its record or as a plain mapping of
its fields, the shape of an event line: what the product implies is filled from
the stored product (a promise's campaign, the currency of plain amounts such as
``"100.00"``), and a product mapping may name its ``currency`` as the event line
does.

- C22 A promise names the ticket it was made in when there is one. One keyed in
  with only its customer (an imported log) gets the customer's open, else
  latest, ticket in the campaign, or no ticket when the customer has none
  there: the promise still counts.
- C23 Products, payments and promises belong to collections campaigns only.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

from ccdomain import checks
from ccdomain._deprecation import accepts_old_call, warn_deprecated
from ccdomain.errors import (
    CcdomainError,
    CurrencyMismatch,
    InvalidMoney,
    InvalidPromise,
    RuleViolation,
    UnknownCampaign,
    UnknownPayment,
    UnknownProduct,
    UnknownPromise,
    UnknownTicket,
)
from ccdomain.errors import show as _show
from ccdomain.events import (
    Event,
    EventKind,
    Payload,
    PaymentRecorded,
    PaymentReversed,
    ProductDeclared,
    PromiseCancelled,
    PromiseMade,
)
from ccdomain.models.collections import (
    CollectionsPolicy,
    Money,
    Payment,
    PaymentStatus,
    Product,
    Promise,
    _record,
    _to_money,
)
from ccdomain.models.contacts import Campaign
from ccdomain.ports import Store, UnitOfWork
from ccdomain.rules.balances import local_date, policy_for
from ccdomain.rules.promises import (
    ProductSummary,
    cancelled_promise,
    check_new_promise,
    product_summary,
)
from ccdomain.services._common import live_contact, reading, recorder

__all__ = [
    "cancel_promise",
    "contact_products",
    "declare_product",
    "record_payment",
    "register_promise",
    "reverse_payment",
]

_F = TypeVar("_F", bound=Callable[..., Any])
_Kept = TypeVar("_Kept", Product, Payment)


def _product_event(
    kind: EventKind, product: Product, payload: Payload, at: dt.datetime, agent: str | None
) -> Event:
    """An event about ``product``, naming its campaign and its contact."""
    return Event(
        kind=kind,
        at=at,
        actor=agent,
        campaign=product.campaign,
        contact=product.contact,
        payload=payload,
    )


def _collections_campaign(uow: UnitOfWork, campaign_id: str) -> Campaign:
    campaign = uow.get_campaign(campaign_id)
    if campaign is None:
        raise UnknownCampaign(f"no campaign with id {campaign_id!r}; expected a declared campaign")
    if campaign.kind != "collections":
        raise RuleViolation(
            f"campaign {campaign_id!r} is a {campaign.kind!r} campaign; products, payments and "
            "promises belong to 'collections' campaigns (C23)"
        )
    return campaign


def _stored_product(uow: UnitOfWork, product_id: object) -> Product:
    product = uow.get_product(checks.identifier(product_id, "product id", UnknownProduct))
    if product is None:
        raise UnknownProduct(f"no product with id {_show(product_id)}; expected a declared product")
    return product


def _repeated(stored: _Kept | None, record: _Kept, what: str, done: str) -> _Kept | None:
    """The stored record when ``record`` repeats it (a no-op), else None.

    Raises:
        RuleViolation: another record is stored with ``record``'s id.
    """
    if stored is None or stored == record:
        return stored
    raise RuleViolation(
        f"{what} {record.id!r} is already {done} with other values; "
        f"expected a new id or an identical {what}"
    )


def _fields(value: object, what: str, cls: type[Any]) -> dict[str, object]:
    """The fields of a plain mapping given instead of a ``cls`` record.

    Raises:
        RuleViolation: ``value`` is not a mapping either.
    """
    if not isinstance(value, Mapping):
        raise RuleViolation(
            f"{what} {_show(value)} is not a {cls.__name__} or a mapping of its fields"
        )
    return dict(value)


def _priced_installments(items: object, currency: str, error: type[CcdomainError]) -> object:
    """A list of installment mappings with their plain amounts in ``currency``."""
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, list | tuple):
        return items  # the record refuses it, naming it
    return [
        {
            **item,
            "amount": _to_money(item["amount"], "installment amount", error, currency=currency),
        }
        if isinstance(item, Mapping) and "amount" in item
        else item
        for item in items
    ]


def _product_record(value: object) -> Product:
    if isinstance(value, Product):
        return value
    fields = _fields(value, "product", Product)
    given = fields.pop("currency", None)
    code = None if given is None else Money.zero(given).currency
    if code is not None:
        if "debt" in fields:
            fields["debt"] = _to_money(fields["debt"], "product debt", InvalidMoney, currency=code)
        if "installments" in fields:
            fields["installments"] = _priced_installments(
                fields["installments"], code, InvalidMoney
            )
    product = _record(Product, fields, "product", RuleViolation)
    if code is not None and product.currency != code:
        raise CurrencyMismatch(
            f"product {product.id!r} names currency {code!r} but its debt is {product.debt}"
        )
    return product


def _payment_record(uow: UnitOfWork, value: object) -> Payment:
    if isinstance(value, Payment):
        return value
    fields = _fields(value, "payment", Payment)
    if "amount" in fields and "product" in fields:
        product = _stored_product(uow, fields["product"])
        fields["amount"] = _to_money(
            fields["amount"], "payment amount", InvalidMoney, currency=product.currency
        )
    return _record(Payment, fields, "payment", RuleViolation)


def _promise_record(uow: UnitOfWork, value: object) -> Promise:
    if isinstance(value, Promise):
        return value
    fields = _fields(value, "promise", Promise)
    if "product" in fields:
        product = _stored_product(uow, fields["product"])
        fields.setdefault("campaign", product.campaign)
        if "installments" in fields:
            fields["installments"] = _priced_installments(
                fields["installments"], product.currency, InvalidPromise
            )
    return _record(Promise, fields, "promise", InvalidPromise)


@accepts_old_call(positional=("product",), renamed={"actor": "agent"})
def declare_product(
    store: Store,
    *,
    product: Product | Mapping[str, object],
    agent: str | None = None,
    at: dt.datetime,
) -> Product:
    """Record a product (loan, card) of a contact of a collections campaign.

    The contact reference is resolved through merge tombstones (M5), so a product
    declared for a merged contact lands on the contact it was merged into. An
    identical re-declaration is a no-op; a different product with the same id is
    refused.

    Args:
        product: a :class:`~ccdomain.models.Product`, or a mapping of its fields
            (plus ``currency`` for plain amounts, as an event line has it).

    Raises:
        UnknownCampaign, UnknownContact: when the campaign or contact is not stored.
        RuleViolation: the campaign is not a collections one (C23), or the id is taken.
    """

    record = _product_record(product)
    when, who = checks.aware(at), checks.actor(agent, "agent")
    with store.unit_of_work() as uow:
        _collections_campaign(uow, record.campaign)
        code = live_contact(uow, record.campaign, record.contact).code
        record = attrs.evolve(record, contact=code)
        stored = _repeated(uow.get_product(record.id), record, "product", "declared")
        if stored is not None:
            return stored
        uow.put_product(record)
        declared = ProductDeclared(
            product=record.id, debt=record.debt.amount, currency=record.currency
        )
        recorder(uow)(_product_event(EventKind.PRODUCT_DECLARED, record, declared, when, who))
        uow.commit()
    return record


@accepts_old_call(positional=("payment",), renamed={"actor": "agent"})
def record_payment(
    store: Store,
    *,
    payment: Payment | Mapping[str, object],
    agent: str | None = None,
    at: dt.datetime,
) -> Payment:
    """Record a payment (made, scheduled or reversed) of a product (C2, C5).

    An identical payment already recorded is a no-op; another with the same id is
    refused.

    Args:
        payment: a :class:`~ccdomain.models.Payment`, or a mapping of its fields
            (a plain amount is in the product's currency).

    Raises:
        UnknownProduct: the product is not stored.
        CurrencyMismatch: the payment is not in the product's currency (C1).
        RuleViolation: the id is taken by a different payment.
    """
    when, who = checks.aware(at), checks.actor(agent, "agent")
    with store.unit_of_work() as uow:
        record = _payment_record(uow, payment)
        product = _stored_product(uow, record.product)
        if record.amount.currency != product.currency:
            raise CurrencyMismatch(
                f"payment {record.id!r} is in {record.amount.currency!r} but product "
                f"{product.id!r} is in {product.currency!r}"
            )
        stored = _repeated(uow.get_payment(record.id), record, "payment", "recorded")
        if stored is not None:
            return stored
        uow.put_payment(record)
        recorded = PaymentRecorded(
            payment=record.id,
            product=product.id,
            amount=record.amount.amount,
            status=record.status.value,
        )
        recorder(uow)(_product_event(EventKind.PAYMENT_RECORDED, product, recorded, when, who))
        uow.commit()
    return record


@accepts_old_call(positional=("payment",), renamed={"actor": "agent", "payment_id": "payment"})
def reverse_payment(
    store: Store, *, payment: str, agent: str | None = None, at: dt.datetime
) -> Payment:
    """Mark a made payment as reversed (a bounced payment): it stops counting (C2, C5).

    Args:
        payment: the id of the payment.

    Raises:
        UnknownPayment: no payment with that id.
        RuleViolation: the payment is not a made one (scheduled or already reversed).
    """
    when, who = checks.aware(at), checks.actor(agent, "agent")
    payment_id = checks.identifier(payment, "payment id", UnknownPayment)
    with store.unit_of_work() as uow:
        stored = uow.get_payment(payment_id)
        if stored is None:
            raise UnknownPayment(f"no payment with id {_show(payment_id)}")
        if stored.status is not PaymentStatus.MADE:
            raise RuleViolation(
                f"payment {stored.id!r} is {stored.status.value}; only a made payment can be "
                "reversed"
            )
        reversed_ = attrs.evolve(stored, status=PaymentStatus.REVERSED)
        product = _stored_product(uow, stored.product)
        uow.put_payment(reversed_)
        reversal = PaymentReversed(payment=stored.id, product=stored.product)
        recorder(uow)(_product_event(EventKind.PAYMENT_REVERSED, product, reversal, when, who))
        uow.commit()
    return reversed_


def _ticket_of(uow: UnitOfWork, campaign: str, customer: str) -> int | None:
    """The ticket a promise naming only its customer was made in (C22).

    The customer's open ticket in the campaign, else their latest one, else none:
    a promise keyed in from outside a conversation is kept without a ticket.
    """
    tickets = uow.tickets_for_customer(customer, campaign)
    open_ = [t for t in tickets if t.is_open]
    chosen = open_[-1] if open_ else (tickets[-1] if tickets else None)
    return None if chosen is None else chosen.number


@accepts_old_call(positional=("promise",), renamed={"actor": "agent"})
def register_promise(
    store: Store,
    *,
    promise: Promise | Mapping[str, object],
    agent: str | None = None,
    at: dt.datetime,
) -> Promise:
    """Register a promise to pay after checking every rule of C4.

    ``at`` is when it is keyed in; its calendar day in the campaign's time zone
    is "today" for :func:`~ccdomain.rules.promises.check_new_promise`. The ticket it
    was made in must be a ticket of the promise's campaign; a promise that names
    only its customer gets the customer's open (else latest) ticket there, or
    none (C22). The event's actor is ``agent``, else the promise's agent.

    Args:
        promise: a :class:`~ccdomain.models.Promise`, or a mapping of its fields:
            the campaign is the product's and plain amounts are in its currency.

    Returns:
        The promise as stored (its campaign and ticket filled in).

    Raises:
        UnknownProduct, UnknownTicket: the product or ticket is not stored.
        InvalidPromise, CurrencyMismatch: a C4 rule is broken.
    """
    when, who = checks.aware(at), checks.actor(agent, "agent")
    with store.unit_of_work() as uow:
        record = _promise_record(uow, promise)
        product = _stored_product(uow, record.product)
        campaign = _collections_campaign(uow, product.campaign)
        if record.campaign is None:
            record = attrs.evolve(record, campaign=product.campaign)
        if record.ticket is None and record.customer is not None:
            ticket_number = _ticket_of(uow, product.campaign, record.customer)
            record = attrs.evolve(record, ticket=ticket_number)
        if record.ticket is not None:
            ticket = uow.get_ticket(record.ticket)
            if ticket is None:
                raise UnknownTicket(f"no ticket with number {record.ticket!r}")
            if ticket.campaign != record.campaign:
                raise InvalidPromise(
                    f"promise {record.id!r} names ticket {ticket.number} of campaign "
                    f"{ticket.campaign!r}; expected a ticket of {record.campaign!r}"
                )
        if uow.get_promise(record.id) is not None:
            raise InvalidPromise(f"promise {record.id!r} already exists")
        policy = policy_for(campaign)
        check_new_promise(
            record,
            product,
            uow.payments_for_product(product.id),
            uow.promises_for_product(product.id),
            policy,
            local_date(when, policy.timezone),
        )
        uow.put_promise(record)
        recorder(uow)(
            Event(
                kind=EventKind.PROMISE_MADE,
                at=when,
                actor=who if who is not None else record.agent,
                campaign=record.campaign,
                ticket=record.ticket,
                contact=product.contact,
                payload=PromiseMade(
                    promise=record.id, product=product.id, total=record.total.amount
                ),
            ),
        )
        uow.commit()
    return record


def _also_the_old_rule(service: _F) -> _F:
    """``cancel_promise(promise_record, agent, on)``, the pure rule's old name, still works.

    It was the pure cancellation before the service took the name: called with a
    :class:`~ccdomain.models.Promise` first, it warns and returns
    :func:`~ccdomain.rules.promises.cancelled_promise`.
    """

    @functools.wraps(service)
    def dispatch(*args: Any, **kwargs: Any) -> Any:
        first = args[0] if args else kwargs.get("promise")
        if not isinstance(first, Promise):
            return service(*args, **kwargs)
        warn_deprecated(
            "cancel_promise(promise, agent, on) with a Promise record",
            "ccdomain.rules.promises.cancelled_promise(promise, agent=..., on=...)",
        )
        if len(args) > 3:
            raise TypeError(
                f"cancel_promise() takes 3 arguments (promise, agent, on), {len(args)} given"
            )
        for name, value in zip(("promise", "agent", "on"), args, strict=False):
            if name in kwargs:
                raise TypeError(f"cancel_promise() got multiple values for argument {name!r}")
            kwargs[name] = value
        return cancelled_promise(kwargs.pop("promise"), **kwargs)

    return dispatch  # type: ignore[return-value]


@_also_the_old_rule
def cancel_promise(store: Store, *, promise: str, agent: str, at: dt.datetime) -> Promise:
    """Cancel a promise (C4: a promise is never edited; it is cancelled and a new one made).

    It is CANCELLED from ``at``'s calendar day in the campaign's time zone (C17).

    Args:
        promise: the id of the promise.

    Raises:
        UnknownPromise: no promise with that id.
        RuleViolation: it is already cancelled.
    """
    when, who = checks.aware(at), checks.agent(agent)
    promise_id = checks.identifier(promise, "promise id", UnknownPromise)
    with store.unit_of_work() as uow:
        stored = uow.get_promise(promise_id)
        if stored is None:
            raise UnknownPromise(f"no promise with id {_show(promise_id)}")
        campaign = None if stored.campaign is None else uow.get_campaign(stored.campaign)
        zone = campaign.timezone if campaign is not None else "UTC"
        cancelled = cancelled_promise(stored, agent=who, on=local_date(when, zone))
        uow.put_promise(cancelled)
        recorder(uow)(
            Event(
                kind=EventKind.PROMISE_CANCELLED,
                at=when,
                actor=who,
                campaign=stored.campaign,
                ticket=stored.ticket,
                payload=PromiseCancelled(promise=stored.id, product=stored.product),
            ),
        )
        uow.commit()
    return cancelled


@accepts_old_call(positional=("campaign", "code", "as_of"), renamed={"on": "as_of"})
def contact_products(
    store: Store | UnitOfWork, *, campaign: str, code: str, as_of: dt.date
) -> tuple[ProductSummary, ...]:
    """The products tab of a contact on ``as_of`` ("Productos").

    Each product's balance, days past due, bucket, payments and promises with
    their status; a merged code reads the contact it was merged into (M5).

    Raises:
        UnknownContact: no such contact in the campaign.
        RuleViolation: ``as_of`` is not a date.
    """

    with reading(store) as uow:
        live = live_contact(uow, campaign, code).code
        found = uow.get_campaign(campaign)
        policy = policy_for(found) if found is not None else CollectionsPolicy()
        return tuple(
            product_summary(
                product,
                uow.payments_for_product(product.id),
                uow.promises_for_product(product.id),
                policy,
                as_of,
            )
            for product in uow.products_for_contact(campaign, live)
        )
