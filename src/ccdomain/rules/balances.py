"""Balances and aging of collections products: pure rules (C2, C3, C9, C10).

Records in, values out; dates are parameters, never the wall clock.

- C2 :func:`outstanding_balance` and :func:`credit`: the debt less the payments
  made, never below zero; what was paid beyond it is credit.
- C3 :func:`days_past_due`, :func:`aging_bucket`; C9 :func:`local_date` (only the
  calendar date in the campaign's time zone matters); :func:`policy_for`, the
  :class:`~ccdomain.models.CollectionsPolicy` a campaign declares.

Decisions
---------
- C9 Dates are ``datetime.date`` values; a ``datetime`` becomes one through
  :func:`local_date` in the campaign's time zone first.
- C10 Functions that take one product's payments ignore payments of other
  products, refuse two payments with the same id, and refuse a payment of the
  product in another currency (CurrencyMismatch).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from ccdomain import checks
from ccdomain.errors import CurrencyMismatch, RuleViolation
from ccdomain.errors import show as _show
from ccdomain.models.collections import (
    _CONTEXT,
    AgingBucket,
    CollectionsPolicy,
    Money,
    Payment,
    PaymentStatus,
    Product,
    _money,
    _timezone,
    _zero,
)
from ccdomain.models.contacts import Campaign

__all__ = [
    "aging_bucket",
    "credit",
    "days_past_due",
    "local_date",
    "outstanding_balance",
    "policy_for",
]


def _policy(value: object) -> CollectionsPolicy:
    return checks.instance(value, CollectionsPolicy, "policy")


def local_date(at: dt.datetime, timezone: str) -> dt.date:
    """The calendar date of an aware datetime in a campaign's time zone (C3).

        >>> local_date(dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC), "America/Lima")
        datetime.date(2026, 11, 19)

    Raises:
        RuleViolation: on a naive datetime, a non-datetime or an unknown time zone.
    """
    zone = _timezone(timezone)
    checks.aware(at)
    try:
        return at.astimezone(zone).date()
    except (OverflowError, ValueError) as exc:
        raise RuleViolation(f"{_show(at)} cannot be shown in time zone {timezone!r}") from exc


def aging_bucket(days: int, policy: CollectionsPolicy) -> AgingBucket | None:
    """The policy's bucket holding ``days`` past due, or None when nothing is overdue (C3).

        >>> aging_bucket(31, CollectionsPolicy()).label
        '31-60'

    Raises:
        RuleViolation: when ``days`` is not a whole number >= 0.
    """
    policy = _policy(policy)
    if checks.whole(days, "days past due") == 0:
        return None
    for bucket in policy.buckets:
        if days in bucket:
            return bucket
    raise AssertionError("validated buckets cover every positive day count")  # pragma: no cover


def _payment_key(payment: Payment) -> tuple[dt.date, str]:
    return (payment.date, payment.id)


def _payments_of(product: str, currency: str, payments: object) -> list[Payment]:
    """The payments of one product (any status), checked; others are ignored."""
    items = checks.items(payments, "payments", of=Payment)
    seen: set[str] = set()
    mine = []
    for payment in items:
        if payment.id in seen:
            raise RuleViolation(f"payment id {payment.id!r} is given twice")
        seen.add(payment.id)
        if payment.product == product:
            if payment.amount.currency != currency:
                raise CurrencyMismatch(
                    f"payment {payment.id!r} is in {payment.amount.currency!r} but product "
                    f"{product!r} is in {currency!r}"
                )
            mine.append(payment)
    return mine


def _product(value: object) -> Product:
    return checks.instance(value, Product, "product")


def _made_total(product: Product, payments: object, on: object) -> Decimal:
    day = None if on is None else checks.day(on, "date")
    total = Decimal(0)
    for payment in _payments_of(product.id, product.currency, payments):
        if payment.status is PaymentStatus.MADE and (day is None or payment.date <= day):
            total = _CONTEXT.add(total, payment.amount.amount)
    return total


def outstanding_balance(
    product: Product, payments: Iterable[Payment], *, on: dt.date | None = None
) -> Money:
    """The debt less the payments made, never below zero (C2).

    Reversed and scheduled payments do not count; payments of other products
    are ignored.

    Args:
        on: when given, only payments dated on or before it count.

    Raises:
        CurrencyMismatch: when a payment of the product is in another currency.
        RuleViolation: on malformed arguments or a payment id given twice.
    """
    product = _product(product)
    rest = _CONTEXT.subtract(product.debt.amount, _made_total(product, payments, on))
    return _money(max(rest, _zero(product.currency)), product.currency)


def credit(product: Product, payments: Iterable[Payment], *, on: dt.date | None = None) -> Money:
    """What was paid beyond the debt, kept as credit (C2); zero without overpayment.

    Raises:
        CurrencyMismatch: when a payment of the product is in another currency.
        RuleViolation: on malformed arguments or a payment id given twice.
    """
    product = _product(product)
    extra = _CONTEXT.subtract(_made_total(product, payments, on), product.debt.amount)
    return _money(max(extra, _zero(product.currency)), product.currency)


def days_past_due(product: Product, payments: Iterable[Payment], on: dt.date) -> int:
    """Days from the oldest unpaid due date strictly before ``on`` to ``on``, at least 0 (C3).

    Payments made up to ``on`` pay the schedule's installments oldest first;
    without a schedule the debt is unpaid while the balance is above zero.
    ``on`` is a calendar date in the campaign's time zone (see :func:`local_date`).

    Raises:
        CurrencyMismatch: when a payment of the product is in another currency.
        RuleViolation: on malformed arguments.
    """
    product = _product(product)
    day = checks.day(on, "date")
    paid = _made_total(product, payments, day)
    owed = Decimal(0)
    for installment in product.schedule:
        owed = _CONTEXT.add(owed, installment.amount.amount)
        if owed > paid:
            return (day - installment.due).days if installment.due < day else 0
    return 0


def policy_for(campaign: Campaign) -> CollectionsPolicy:
    """The collections policy a campaign declares (grace, tolerance, horizon, buckets, zone)."""
    return CollectionsPolicy(
        grace_days=campaign.grace_days,
        tolerance=campaign.tolerance,
        horizon_days=campaign.horizon_days,
        buckets=campaign.buckets,
        timezone=campaign.timezone,
    )
