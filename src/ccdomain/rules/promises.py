"""Promises to pay: status, allocation, the checks of a new promise (C4-C6, C14-C21).

Pure rules over the records of :mod:`ccdomain.models.collections`; the as-of date
is always a parameter, never the wall clock.

- C4 :func:`check_new_promise` (may this promise be registered?) and
  :func:`cancelled_promise` (a promise is never edited: it is cancelled).
- C5, C6 :func:`promise_status`, :func:`promise_statuses` (a product's promises
  share its payments): :class:`PromiseStatus` with the amount paid, what is due,
  each installment's coverage and each :class:`Allocation` of a payment.
- :func:`product_summary`: the products tab of one product on a date.

A worked example, a promise partly paid and then broken::

    >>> import datetime as dt
    >>> from ccdomain.models import CollectionsPolicy, Installment, Payment, Promise, money
    >>> promise = Promise(
    ...     id="PR-1", product="P-1", campaign="cobranzas", agent="ana",
    ...     made_on=dt.date(2026, 11, 1), ticket=12,
    ...     installments=(Installment(money("100.00", "PEN"), dt.date(2026, 11, 5)),),
    ... )
    >>> paid = Payment("PAY-1", "P-1", money("40", "PEN"), dt.date(2026, 11, 3), "made")
    >>> policy = CollectionsPolicy(grace_days=2)
    >>> promise_status(promise, [paid], policy, dt.date(2026, 11, 7)).describe()
    'pending, 40.00 of 100.00 paid'
    >>> promise_status(promise, [paid], policy, dt.date(2026, 11, 8)).describe()
    'broken, 40.00 of 100.00 paid'

Decisions (where the product documents are silent; ids in docs/rules.md)
------------------------------------------------------------------------
- C14 :func:`check_new_promise` judges the promise as of its ``made_on`` day (the
  outstanding balance counts payments dated up to ``made_on``; other promises'
  statuses are taken on ``made_on``); ``today`` only refuses a ``made_on`` in
  the future, so a promise keyed in late is judged as on the day it was made.
  It also requires the product's campaign (a promise that names none takes its
  product's), a new id, a promise that is not already cancelled, and the
  product's currency. The ticket is not required (C22).
- C15 A covered installment takes no more money; the next payment goes to the
  next uncovered one (C5 "oldest uncovered"). An installment needs at least one
  allocation to be covered, even when the tolerance exceeds its amount.
- C16 Late payments do not rescue a promise: once the oldest uncovered
  installment's date + grace is before a payment's date, the promise is
  broken and takes no more payments. Those payments stay in the pool for
  other promises of the product (typically the replacement promise) and
  still reduce the balance. Hence KEPT means "every installment covered by
  its date + grace" and a KEPT promise stays KEPT as time moves on.
- C17 Cancellation: a promise is CANCELLED on and after its ``cancelled_on``
  day. From then on it takes no payment (paid 0.00, due 0.00, no allocations),
  so its status never changes again and its payments stay in the pool for
  other promises. Before ``cancelled_on`` it is evaluated as if not
  cancelled. A promise can be cancelled whatever its status, not twice, and
  not before the day it was made.
- C18 On a date before ``made_on`` a promise is PENDING with nothing paid.
- C19 Several promises of one product share the product's payments: promises are
  served oldest first (``made_on``, then id), payments in (date, id) order,
  so the result depends on neither input order and no payment is counted
  twice. :func:`promise_status` evaluates one promise alone; use
  :func:`promise_statuses` for all promises of a product.
- C20 ``PromiseStatus.due`` is what remains to pay, ``total - paid`` (0 for a
  cancelled promise). ``Allocation.installment_index`` indexes the promise's
  installments, which are kept sorted by date.
- C21 :func:`product_summary` lists payments and promises newest first.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from decimal import localcontext
from typing import cast

import attrs

from ccdomain import checks
from ccdomain._gc import collector_paused
from ccdomain.errors import CurrencyMismatch, InvalidPromise, RuleViolation
from ccdomain.errors import show as _show
from ccdomain.models.collections import (
    _CONTEXT,
    AgingBucket,
    CollectionsPolicy,
    Installment,
    Money,
    Payment,
    PaymentStatus,
    Product,
    Promise,
    _add_days,
    _money,
    _zero,
)
from ccdomain.rules.balances import (
    _payment_key,
    _payments_of,
    _policy,
    _product,
    aging_bucket,
    credit,
    days_past_due,
    outstanding_balance,
)

__all__ = [
    "Allocation",
    "InstallmentCoverage",
    "ProductSummary",
    "PromiseStatus",
    "PromiseStatusKind",
    "cancelled_promise",
    "check_new_promise",
    "product_summary",
    "promise_status",
    "promise_statuses",
]


class PromiseStatusKind(enum.StrEnum):
    """The state of a promise on a date (C5)."""

    PENDING = "pending"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


@attrs.frozen
class Allocation:
    """Part of a payment applied to one installment of one promise (C1, C5)."""

    payment: str
    installment_index: int
    amount: Money
    promise: str


@attrs.frozen
class InstallmentCoverage:
    """How much of an installment was paid and whether (and when) it was covered (C5)."""

    installment: Installment
    paid: Money
    covered: bool
    covered_on: dt.date | None


@attrs.frozen(kw_only=True)
class PromiseStatus:
    """A promise's status on a date, with what was paid and which payment paid what (C5)."""

    promise: str
    status: PromiseStatusKind
    paid: Money
    total: Money
    due: Money
    installments: tuple[InstallmentCoverage, ...]
    allocations: tuple[Allocation, ...]

    def describe(self) -> str:
        """A one-line summary such as ``"broken, 40.00 of 100.00 paid"``."""
        return f"{self.status.value}, {self.paid.amount} of {self.total.amount} paid"


@functools.cache
def _zero_money(currency: str) -> Money:
    return _money(_zero(currency), currency)


def _cancelled_status(promise: Promise) -> PromiseStatus:
    zero = _zero_money(promise.currency)
    return PromiseStatus(
        promise=promise.id,
        status=PromiseStatusKind.CANCELLED,
        paid=zero,
        total=promise.total,
        due=zero,
        installments=tuple(InstallmentCoverage(i, zero, False, None) for i in promise.installments),
        allocations=(),
    )


def _find_live(following: list[int], index: int) -> int:
    """The first payment at or after ``index`` with money left (union-find with path halving)."""
    while following[index] != index:
        following[index] = following[following[index]]
        index = following[index]
    return index


def _serve_pool(
    promises: list[Promise],
    payments: list[Payment],
    policy: CollectionsPolicy,
    as_of: dt.date,
    results: dict[str, PromiseStatus | None],
) -> None:
    """Evaluate the promises of one product, oldest first, against its made payments."""
    made = sorted((p for p in payments if p.status is PaymentStatus.MADE), key=_payment_key)
    dates = [p.date for p in made]
    left = [p.amount.amount for p in made]
    # following[i] == i while payment i has money left; else it points further on.
    following = list(range(len(made) + 1))
    grace = policy.grace_days
    tolerance = policy.tolerance
    for promise in sorted(promises, key=lambda p: (p.made_on, p.id)):
        if promise.cancelled_on is not None and promise.cancelled_on <= as_of:
            results[promise.id] = _cancelled_status(promise)
            continue
        installments = promise.installments
        currency = installments[0].amount.currency
        count = len(installments)
        amounts = [i.amount.amount for i in installments]
        deadlines = [_add_days(i.date, grace) for i in installments]
        zero = _zero(currency)
        no_money = _zero_money(currency)
        paid = [zero] * count
        covered_on: list[dt.date | None] = [None] * count
        allocations: list[Allocation] = []
        current = 0  # the oldest uncovered installment
        stop = bisect_right(dates, as_of)
        index = _find_live(following, bisect_left(dates, promise.made_on))
        while current < count and index < stop:
            day = dates[index]
            if deadlines[current] < day:
                break  # broken before this payment: a late payment does not count (C16)
            rest = left[index]
            payment = made[index]
            while rest > 0 and current < count:
                take = min(rest, amounts[current] - paid[current])
                paid[current] += take
                rest -= take
                # Reuse an existing Money when the amount is a whole payment or installment.
                if take == payment.amount.amount:
                    taken = payment.amount
                elif take == amounts[current]:
                    taken = installments[current].amount
                else:
                    taken = _money(take, currency)
                allocations.append(Allocation(payment.id, current, taken, promise.id))
                if paid[current] >= amounts[current] - tolerance:
                    covered_on[current] = day
                    current += 1
            left[index] = rest
            if rest == 0:
                following[index] = index + 1
            index = _find_live(following, index + 1)
        if current == count:
            status = PromiseStatusKind.KEPT
        elif deadlines[current] < as_of:
            status = PromiseStatusKind.BROKEN
        else:
            status = PromiseStatusKind.PENDING
        total = promise.total
        paid_total = zero
        coverage = []
        for i in range(count):
            amount = paid[i]
            paid_total += amount
            if amount == amounts[i]:
                paid_money = installments[i].amount
            else:
                paid_money = no_money if amount == 0 else _money(amount, currency)
            coverage.append(
                InstallmentCoverage(installments[i], paid_money, i < current, covered_on[i])
            )
        if paid_total == 0:
            paid_money, due = no_money, total
        elif paid_total == total.amount:
            paid_money, due = total, no_money
        else:
            paid_money = _money(paid_total, currency)
            due = _money(total.amount - paid_total, currency)
        results[promise.id] = PromiseStatus(
            promise=promise.id,
            status=status,
            paid=paid_money,
            total=total,
            due=due,
            installments=tuple(coverage),
            allocations=tuple(allocations),
        )


def promise_statuses(
    promises: Iterable[Promise],
    payments: Iterable[Payment],
    policy: CollectionsPolicy,
    as_of: dt.date,
) -> dict[str, PromiseStatus]:
    """The status on ``as_of`` of several promises, keyed by promise id (C5, C6).

    Promises of the same product share its payments: each payment is used at
    most once across them, the oldest promise (``made_on``, then id) served
    first. Only payments with status ``made``, dated from the promise's
    ``made_on`` to ``as_of``, count; they are applied in (date, id) order to the
    oldest uncovered installment first, spilling over to the next. The result
    does not depend on the order of either input. Runs in O(n log n).

    Raises:
        CurrencyMismatch: when a payment or promise of a product is in another currency.
        RuleViolation: on malformed arguments or an id given twice.

    The cyclic garbage collector is paused while it runs: the statuses hold no
    reference cycles, and the collector's passes over millions of new objects took half
    the time of a large evaluation.
    """
    with collector_paused():
        return _promise_statuses(promises, payments, policy, as_of)


def _promise_statuses(
    promises: Iterable[Promise],
    payments: Iterable[Payment],
    policy: CollectionsPolicy,
    as_of: dt.date,
) -> dict[str, PromiseStatus]:
    policy = _policy(policy)
    day = checks.day(as_of, "as_of")
    # One table per key kind, each probed once per item: with millions of items every
    # probe is a cache miss (bench/promise_status.py). ``results`` holds the promise ids
    # in the order given (None until evaluated) and finds ids given twice.
    results: dict[str, PromiseStatus | None] = {}
    groups: dict[str, tuple[list[Promise], list[Payment]]] = {}
    for promise in checks.items(promises, "promises", of=Promise):
        if promise.id in results:
            raise RuleViolation(f"promise id {promise.id!r} is given twice")
        results[promise.id] = None
        group = groups.get(promise.product)
        if group is None:
            groups[promise.product] = ([promise], [])
        else:
            group[0].append(promise)
    if isinstance(payments, str | bytes | Mapping) or not isinstance(payments, Iterable):
        raise RuleViolation(f"payments {_show(payments)} is not a collection of Payment")
    seen: set[str] = set()
    for payment in payments:
        if type(payment) is not Payment and not isinstance(payment, Payment):
            raise RuleViolation(f"payments holds {_show(payment)}; expected a Payment")
        if payment.id in seen:
            raise RuleViolation(f"payment id {payment.id!r} is given twice")
        seen.add(payment.id)
        group = groups.get(payment.product)
        if group is not None:
            group[1].append(payment)
    del seen
    with localcontext(_CONTEXT):
        for product, (group_promises, pool) in groups.items():
            currency = group_promises[0].currency
            for promise in group_promises:
                if promise.currency != currency:
                    raise CurrencyMismatch(
                        f"promises of product {product!r} mix currencies {currency!r} "
                        f"and {promise.currency!r}"
                    )
            for payment in pool:
                if payment.amount.currency != currency:
                    raise CurrencyMismatch(
                        f"payment {payment.id!r} is in {payment.amount.currency!r} but the "
                        f"promises of product {product!r} are in {currency!r}"
                    )
            _serve_pool(group_promises, pool, policy, day, results)
    return cast(dict[str, PromiseStatus], results)


def promise_status(
    promise: Promise, payments: Iterable[Payment], policy: CollectionsPolicy, as_of: dt.date
) -> PromiseStatus:
    """The status of one promise on ``as_of`` (C5, C6): pending, kept, broken or cancelled.

    The promise is evaluated alone; to share a product's payments between its
    promises use :func:`promise_statuses`.

        >>> import datetime as dt
        >>> from ccdomain.models import money
        >>> p = Promise(id="PR-1", product="P-1", campaign="c", agent="ana",
        ...             made_on=dt.date(2026, 11, 1), ticket=1,
        ...             installments=[Installment(money("300", "PEN"), dt.date(2026, 11, 6))])
        >>> pay = Payment("PG-1", "P-1", money("300", "PEN"), dt.date(2026, 11, 7), "made")
        >>> promise_status(p, [pay], CollectionsPolicy(grace_days=1), dt.date(2026, 11, 8)).status
        <PromiseStatusKind.KEPT: 'kept'>

    Raises:
        CurrencyMismatch: when a payment of the product is in another currency.
        RuleViolation: on malformed arguments.
    """
    promise = checks.instance(promise, Promise, "promise")
    return promise_statuses([promise], payments, policy, as_of)[promise.id]


# -- C4 making and cancelling promises ---------------------------------------------------------


def check_new_promise(
    promise: Promise,
    product: Product,
    payments: Iterable[Payment],
    existing_promises: Iterable[Promise],
    policy: CollectionsPolicy,
    today: dt.date,
) -> None:
    """Refuse a new promise that breaks C4; return None when it may be registered.

    The promise is judged as of its ``made_on`` day (C14): every
    installment positive and in the product's currency; the total at most the
    outstanding balance; dates from ``made_on`` to ``made_on + horizon_days``;
    no other pending promise on the product; an agent and a ticket.

    Raises:
        InvalidPromise: naming the rule and the value that breaks it.
        CurrencyMismatch: when the promise is not in the product's currency.
        RuleViolation: on malformed arguments.
    """
    promise = checks.instance(promise, Promise, "promise")
    product = _product(product)
    policy = _policy(policy)
    day = checks.day(today, "today")
    others = checks.items(existing_promises, "existing promises", of=Promise)
    pays = _payments_of(product.id, product.currency, payments)
    name = f"promise {promise.id!r}"
    if promise.product != product.id:
        raise InvalidPromise(f"{name} names product {promise.product!r}, not {product.id!r}")
    if promise.campaign is not None and promise.campaign != product.campaign:
        raise InvalidPromise(
            f"{name} is in campaign {promise.campaign!r} but product {product.id!r} "
            f"is in {product.campaign!r}"
        )
    if promise.cancelled_on is not None:
        raise InvalidPromise(f"{name} is already cancelled; a new promise cannot be cancelled")
    if promise.currency != product.currency:
        raise CurrencyMismatch(
            f"{name} is in {promise.currency!r} but product {product.id!r} "
            f"is in {product.currency!r}"
        )
    for installment in promise.installments:
        if installment.amount.amount <= 0:  # pragma: no cover - Installment refuses it
            raise InvalidPromise(f"{name}: installment amount {installment.amount} is not positive")
    if promise.made_on > day:
        raise InvalidPromise(f"{name} is made on {promise.made_on}, after today {day}")
    last = _add_days(promise.made_on, policy.horizon_days)
    for installment in promise.installments:
        if installment.date < promise.made_on:
            raise InvalidPromise(
                f"{name}: installment date {installment.date} is before the day the promise "
                f"is made, {promise.made_on}"
            )
        if installment.date > last:
            raise InvalidPromise(
                f"{name}: installment date {installment.date} is beyond the campaign's "
                f"horizon of {policy.horizon_days} days ({last})"
            )
    balance = outstanding_balance(product, pays, on=promise.made_on)
    if promise.total > balance:
        raise InvalidPromise(
            f"{name}: total {promise.total} exceeds the outstanding balance {balance} "
            f"of product {product.id!r}"
        )
    for other in others:
        if other.id == promise.id:
            raise InvalidPromise(f"{name} already exists")
    mine = [p for p in others if p.product == product.id]
    statuses = promise_statuses(mine, pays, policy, promise.made_on)
    for other in sorted(mine, key=lambda p: p.id):
        if statuses[other.id].status is PromiseStatusKind.PENDING:
            raise InvalidPromise(
                f"product {product.id!r} already has a pending promise {other.id!r}; "
                f"cancel it before making {promise.id!r}"
            )


def cancelled_promise(promise: Promise, *, agent: str, on: dt.date) -> Promise:
    """The promise withdrawn by ``agent`` on ``on`` (C4, C17); CANCELLED from that day.

    The record only: :func:`ccdomain.services.collections.cancel_promise` stores it.

    Raises:
        RuleViolation: when it is already cancelled, ``on`` is before it was
            made, or an argument is malformed.
    """
    promise = checks.instance(promise, Promise, "promise")
    who = checks.agent(agent)
    day = checks.day(on, "cancellation date")
    if promise.cancelled_on is not None:
        raise RuleViolation(
            f"promise {promise.id!r} is already cancelled (on {promise.cancelled_on} "
            f"by {promise.cancelled_by!r})"
        )
    if day < promise.made_on:
        raise RuleViolation(
            f"promise {promise.id!r} cannot be cancelled on {day}, before it was made "
            f"on {promise.made_on}"
        )
    return attrs.evolve(promise, cancelled_on=day, cancelled_by=who)


# -- the products tab --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ProductSummary:
    """What the products tab shows for one product on a date."""

    product: Product
    balance: Money
    credit: Money
    days_past_due: int
    bucket: AgingBucket | None
    payments: tuple[Payment, ...]
    promises: tuple[tuple[Promise, PromiseStatus], ...]


def product_summary(
    product: Product,
    payments: Iterable[Payment],
    promises: Iterable[Promise],
    policy: CollectionsPolicy,
    on: dt.date,
) -> ProductSummary:
    """Balance, credit, days past due, bucket, payments and promises of a product on ``on``.

    Payments and promises of other products are ignored; both lists come newest first.

    Raises:
        CurrencyMismatch: when a payment or promise is in another currency.
        RuleViolation: on malformed arguments.
    """
    product = _product(product)
    policy = _policy(policy)
    day = checks.day(on, "date")
    pays = _payments_of(product.id, product.currency, payments)
    mine = [p for p in checks.items(promises, "promises", of=Promise) if p.product == product.id]
    for promise in mine:
        if promise.currency != product.currency:
            raise CurrencyMismatch(
                f"promise {promise.id!r} is in {promise.currency!r} but product "
                f"{product.id!r} is in {product.currency!r}"
            )
    statuses = promise_statuses(mine, pays, policy, day)
    overdue = days_past_due(product, pays, day)
    return ProductSummary(
        product=product,
        balance=outstanding_balance(product, pays, on=day),
        credit=credit(product, pays, on=day),
        days_past_due=overdue,
        bucket=aging_bucket(overdue, policy),
        payments=tuple(sorted(pays, key=_payment_key, reverse=True)),
        promises=tuple(
            (p, statuses[p.id]) for p in sorted(mine, key=lambda p: (p.made_on, p.id), reverse=True)
        ),
    )
