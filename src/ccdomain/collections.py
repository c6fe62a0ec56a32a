"""Collections: money, products, payments, promises to pay (DESIGN C1-C6).

The rules here are pure functions over frozen models; dates are parameters,
never the wall clock.

- C1 :class:`Money`: a Decimal in an ISO 4217 currency, rounded half-even to
  the currency's minor unit (:func:`money`); mixing currencies raises
  :class:`~ccdomain.errors.CurrencyMismatch`.
- C2 :func:`outstanding_balance` and :func:`credit`.
- C3 :func:`days_past_due`, :func:`aging_bucket`, :func:`local_date`,
  :class:`CollectionsPolicy` (validated bucket definitions).
- C4 :func:`check_new_promise`, :func:`cancel_promise`.
- C5, C6 :func:`promise_status`, :func:`promise_statuses` (shared payment
  pool), :func:`product_summary` (the products tab).
- Services over a store: :func:`declare_product`, :func:`record_payment`,
  :func:`reverse_payment`, :func:`register_promise` (C4), :func:`withdraw_promise`,
  :func:`contact_products` (the products tab of a contact), :func:`policy_for`.

A worked example, a promise partly paid and then broken::

    >>> import datetime as dt
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

Decisions
---------
Where DESIGN is silent, these rules hold (candidates for ``docs/rules.md``):

1. Money input. :func:`money` accepts ``int``, ``Decimal`` and ``str`` in plain
   decimal notation (ASCII digits, optional sign and point; no exponent, no
   thousands separators, surrounding spaces ignored). ``float`` and ``bool``
   are refused (a float is already inexact). NaN and infinities are refused.
   Amounts must be below 10**15 in absolute value. Currency codes are the
   ISO 4217 codes of :data:`MINOR_UNITS`, read case-insensitively and kept in
   upper case. A zero is never negative (``-0.001 PEN`` is ``0.00 PEN``).
2. Money itself may be zero or negative (it is the result of arithmetic); a
   product's debt, a payment and a promise installment must be positive.
   ``0 + money`` is ``money`` so that ``sum()`` works; money compared with
   anything else, or combined with another currency, raises.
3. Dates are ``datetime.date`` values; a ``datetime`` or a string is refused
   (convert with :func:`local_date`, C3).
4. Functions that take one product's payments ignore payments of other
   products, refuse two payments with the same id, and refuse a payment of the
   product in another currency (CurrencyMismatch).
5. A product's optional schedule must add up to the debt, and the product's
   ``due`` is not before the last scheduled date. The schedule is kept sorted
   by date.
6. Aging buckets must cover every positive day count exactly once: they are
   sorted by minimum, the first starts at 1, each next one starts the day after
   the previous one ends (no gap, no overlap), only the last is open-ended and
   labels are unique. 0 days past due is "current": no bucket.
7. Policy bounds: ``grace_days`` and ``horizon_days`` are integers from 0 to
   3660; ``tolerance`` is a Decimal >= 0 in the campaign currency's units;
   ``timezone`` is an IANA name (``America/Lima``).
8. :func:`check_new_promise` judges the promise as of its ``made_on`` day (the
   outstanding balance counts payments dated up to ``made_on``; other promises'
   statuses are taken on ``made_on``); ``today`` only refuses a ``made_on`` in
   the future, so a promise keyed in late is judged as on the day it was made.
   It also requires the product's campaign, a new id, a promise that is not
   already cancelled, and the product's currency. The ticket is not required
   (decision 16 below, C22 in docs/rules.md).
9. A covered installment takes no more money; the next payment goes to the
   next uncovered one (C5 "oldest uncovered"). An installment needs at least one
   allocation to be covered, even when the tolerance exceeds its amount.
10. Late payments do not rescue a promise: once the oldest uncovered
    installment's date + grace is before a payment's date, the promise is
    broken and takes no more payments. Those payments stay in the pool for
    other promises of the product (typically the replacement promise) and
    still reduce the balance. Hence KEPT means "every installment covered by
    its date + grace" and a KEPT promise stays KEPT as time moves on.
11. Cancellation: a promise is CANCELLED on and after its ``cancelled_on``
    day. From then on it takes no payment (paid 0.00, due 0.00, no allocations),
    so its status never changes again and its payments stay in the pool for
    other promises. Before ``cancelled_on`` it is evaluated as if not
    cancelled. A promise can be cancelled whatever its status, not twice, and
    not before the day it was made.
12. On a date before ``made_on`` a promise is PENDING with nothing paid.
13. Several promises of one product share the product's payments: promises are
    served oldest first (``made_on``, then id), payments in (date, id) order,
    so the result depends on neither input order and no payment is counted
    twice. :func:`promise_status` evaluates one promise alone; use
    :func:`promise_statuses` for all promises of a product.
14. ``PromiseStatus.due`` is what remains to pay, ``total - paid`` (0 for a
    cancelled promise). A promise's installments are kept sorted by date;
    ``Allocation.installment_index`` indexes that sorted tuple.
15. :func:`product_summary` lists payments and promises newest first.
16. A promise names the ticket it was made in when there is one. One keyed in
    with only its customer (an imported log) gets the customer's open, else
    latest, ticket in the campaign (:func:`register_promise`), or no ticket
    when the customer has none there: the promise still counts (C22).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import itertools
import re
import types
import zoneinfo
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, localcontext
from typing import TYPE_CHECKING, Any, cast

import attrs

from ccdomain import checks
from ccdomain._gc import collector_paused
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
from ccdomain.errors import (
    show as _show,
)
from ccdomain.events import (
    Event,
    EventKind,
    PaymentRecorded,
    PaymentReversed,
    ProductDeclared,
    PromiseCancelled,
    PromiseMade,
)
from ccdomain.models import Campaign

if TYPE_CHECKING:
    from ccdomain.ports import Store, UnitOfWork

__all__ = [
    "DEFAULT_BUCKETS",
    "MINOR_UNITS",
    "AgingBucket",
    "Allocation",
    "CollectionsPolicy",
    "Installment",
    "InstallmentCoverage",
    "Money",
    "Payment",
    "PaymentStatus",
    "Product",
    "ProductInstallment",
    "ProductSummary",
    "Promise",
    "PromiseStatus",
    "PromiseStatusKind",
    "aging_bucket",
    "aging_buckets",
    "cancel_promise",
    "check_new_promise",
    "contact_products",
    "credit",
    "days_past_due",
    "declare_product",
    "local_date",
    "money",
    "outstanding_balance",
    "policy_for",
    "product_summary",
    "promise_status",
    "promise_statuses",
    "record_payment",
    "register_promise",
    "reverse_payment",
    "withdraw_promise",
]


def _codes(codes: str, digits: int) -> dict[str, int]:
    return dict.fromkeys(codes.split(), digits)


# ISO 4217 minor units of the active currencies (funds codes included; precious
# metals and testing codes, which have no minor unit, left out).
MINOR_UNITS: Mapping[str, int] = types.MappingProxyType(
    _codes("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF", 0)
    | _codes("BHD IQD JOD KWD LYD OMR TND", 3)
    | _codes("CLF UYW", 4)
    | _codes(
        "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD"
        " BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD"
        " EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS"
        " INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK"
        " MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK"
        " PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN"
        " SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST"
        " XCD XCG YER ZAR ZMW ZWG",
        2,
    )
)

_MAX_AMOUNT = Decimal(checks.AMOUNT_MAX)
# Arithmetic never depends on the caller's decimal context; 40 digits hold any
# sum of bounded amounts exactly.
_CONTEXT = Context(prec=40, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation])
_AMOUNT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


# -- helpers -----------------------------------------------------------------------------------


def _add_days(day: dt.date, days: int) -> dt.date:
    """``day + days``, stopping at the last representable date instead of overflowing."""
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max


_CHECK = "ccdomain.check"


def _identifier(
    what: str,
    error: type[CcdomainError] = RuleViolation,
    *,
    limit: int = checks.ID_MAX,
    optional: bool = False,
) -> dict[str, Callable[[object], object]]:
    """Field metadata: the value is read through :func:`ccdomain.checks.identifier` (E3).

    :func:`_checked` turns it into the field's converter, so a record holds the
    normalised value (stripped, spaces collapsed) that services and replay compare.
    """

    def convert(value: object) -> object:
        if optional and value is None:
            return None
        return checks.identifier(value, what, error, limit=limit)

    return {_CHECK: convert}


def _checked(_: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    """attrs field transformer: a field with :func:`_identifier` metadata converts through it.

    (A converter written in the field itself would hide the field's type from mypy.)
    """
    return [f.evolve(converter=f.metadata[_CHECK]) if _CHECK in f.metadata else f for f in fields]


def _date_check(what: str, error: type[CcdomainError]) -> Callable[[Any, Any, Any], None]:
    def check(_: object, __: object, value: object) -> None:
        checks.day(value, what, error)

    return check


def _positive_money_check(what: str, error: type[CcdomainError]) -> Callable[[Any, Any, Any], None]:
    def check(_: object, __: object, value: object) -> None:
        if not isinstance(value, Money):
            raise error(
                f"{what} {_show(value)} is not Money; build it with money(amount, currency)"
            )
        if value.amount <= 0:
            raise error(f"{what} {value} must be positive")

    return check


# -- C1 money ----------------------------------------------------------------------------------


@functools.cache
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-MINOR_UNITS[currency])


@functools.cache
def _zero(currency: str) -> Decimal:
    return Decimal(0).quantize(_quantum(currency))


def _to_currency(value: object) -> str:
    if isinstance(value, str) and len(value) <= 8 and value.isascii():
        code = value.strip().upper()
        if code in MINOR_UNITS:
            return code
    raise InvalidMoney(
        f"currency {_show(value)} is not a known ISO 4217 code; expected e.g. 'PEN', 'USD', 'CLP'"
    )


def _to_decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int) and not isinstance(value, bool):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > 40 or not _AMOUNT_RE.fullmatch(text):
            raise InvalidMoney(
                f"amount {_show(value)} is not a decimal number; expected e.g. '1500.00'"
            )
        result = Decimal(text)
    elif isinstance(value, float):
        raise InvalidMoney(
            f"amount {_show(value)} is a float and floats are inexact; pass a str or Decimal"
        )
    else:
        raise InvalidMoney(f"amount {_show(value)} is not a number; expected a str, int or Decimal")
    if not result.is_finite():
        raise InvalidMoney(f"amount {_show(value)} is not a finite number")
    if abs(result) >= _MAX_AMOUNT:
        raise InvalidMoney(f"amount {_show(value)} is too large; expected less than 10**15")
    return result


def _money(amount: Decimal, currency: str) -> Money:
    """A Money from an already rounded amount and a known currency, skipping the checks."""
    result = object.__new__(Money)
    object.__setattr__(result, "amount", amount)
    object.__setattr__(result, "currency", currency)
    return result


@attrs.frozen
class Money:
    """An amount in an ISO 4217 currency, rounded half-even to the currency's minor unit (C1).

    ``Money(amount, currency)`` and :func:`money` are the same; see :func:`money`
    for what they accept. ``+``, ``-`` and ordering work between amounts of the
    same currency and raise :class:`~ccdomain.errors.CurrencyMismatch` otherwise.

        >>> Money("1500.4", "CLP")
        Money(amount=Decimal('1500'), currency='CLP')
        >>> str(money("2.345", "pen") + money(1, "PEN"))
        '3.34 PEN'
    """

    amount: Decimal = attrs.field(converter=_to_decimal)
    currency: str = attrs.field(converter=_to_currency)

    def __attrs_post_init__(self) -> None:
        amount = self.amount.quantize(_quantum(self.currency), context=_CONTEXT)
        if amount.is_zero():
            amount = amount.copy_abs()
        object.__setattr__(self, "amount", amount)

    @classmethod
    def zero(cls, currency: object) -> Money:
        """Zero in ``currency`` (``0.00 PEN``, ``0 CLP``).

        Raises:
            InvalidMoney: when the currency is not a known ISO 4217 code.
        """
        code = _to_currency(currency)
        return _money(_zero(code), code)

    @property
    def minor_unit(self) -> int:
        """Number of decimals of the currency (2 for PEN, 0 for CLP)."""
        return MINOR_UNITS[self.currency]

    def _other(self, other: object, operation: str) -> Money:
        if not isinstance(other, Money):
            raise InvalidMoney(f"cannot {operation} {self} and {_show(other)}: expected Money")
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"cannot {operation} {self} and {other}: currencies {self.currency!r} "
                f"and {other.currency!r} differ"
            )
        return other

    def __add__(self, other: Money) -> Money:
        return _money(_CONTEXT.add(self.amount, self._other(other, "add").amount), self.currency)

    def __radd__(self, other: object) -> Money:
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self  # lets sum() start from 0
        return self + self._other(other, "add")

    def __sub__(self, other: Money) -> Money:
        amount = _CONTEXT.subtract(self.amount, self._other(other, "subtract").amount)
        return _money(amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._other(other, "compare").amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._other(other, "compare").amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._other(other, "compare").amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._other(other, "compare").amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def money(amount: object, currency: object) -> Money:
    """Money from an amount and an ISO 4217 code, rounded half-even to the minor unit (C1).

    Args:
        amount: a ``str`` in plain decimal notation, an ``int`` or a finite
            ``Decimal``, below 10**15 in absolute value. Floats are refused.
        currency: an ISO 4217 code of :data:`MINOR_UNITS`, any case.

    Raises:
        InvalidMoney: naming the amount or currency that was refused.

        >>> money("1500.4", "CLP")
        Money(amount=Decimal('1500'), currency='CLP')
        >>> money("0.125", "USD").amount
        Decimal('0.12')
    """
    return Money(amount, currency)


# -- models ------------------------------------------------------------------------------------


class PaymentStatus(enum.StrEnum):
    """Whether a payment was made, is only scheduled, or bounced (C2)."""

    MADE = "made"
    SCHEDULED = "scheduled"
    REVERSED = "reversed"


def _to_payment_status(value: object) -> PaymentStatus:
    if isinstance(value, PaymentStatus):
        return value
    if isinstance(value, str):
        try:
            return PaymentStatus(value.strip().lower())
        except ValueError:
            pass
    raise RuleViolation(
        f"payment status {_show(value)} is not one of 'made', 'scheduled', 'reversed'"
    )


@attrs.frozen(field_transformer=_checked)
class Payment:
    """A payment towards a product: made, scheduled (not yet made) or reversed (bounced)."""

    id: str = attrs.field(metadata=_identifier("payment id"))
    product: str = attrs.field(metadata=_identifier("payment product"))
    amount: Money = attrs.field(validator=_positive_money_check("payment amount", InvalidMoney))
    date: dt.date = attrs.field(validator=_date_check("payment date", RuleViolation))
    status: PaymentStatus = attrs.field(default=PaymentStatus.MADE, converter=_to_payment_status)


@attrs.frozen
class ProductInstallment:
    """One installment of a product's schedule: an amount due on a date."""

    due: dt.date = attrs.field(validator=_date_check("installment due date", RuleViolation))
    amount: Money = attrs.field(validator=_positive_money_check("installment amount", InvalidMoney))


def _schedule(value: object) -> tuple[ProductInstallment, ...]:
    items = checks.items(value, "product installments", of=ProductInstallment)
    return tuple(sorted(items, key=lambda i: i.due))


@attrs.frozen(field_transformer=_checked)
class Product:
    """A debt to collect (a loan, a card) in one currency, due on a date or by a schedule.

    Without ``installments`` the whole debt is due on ``due``; with them, each
    installment is due on its own date, they add up to the debt, and ``due`` is
    the final maturity (not before the last installment).
    """

    id: str = attrs.field(metadata=_identifier("product id"))
    campaign: str = attrs.field(metadata=_identifier("product campaign"))
    contact: str = attrs.field(metadata=_identifier("product contact"))
    kind: str = attrs.field(metadata=_identifier("product kind"))
    debt: Money = attrs.field(validator=_positive_money_check("product debt", InvalidMoney))
    due: dt.date = attrs.field(validator=_date_check("product due date", RuleViolation))
    installments: tuple[ProductInstallment, ...] = attrs.field(default=(), converter=_schedule)

    def __attrs_post_init__(self) -> None:
        if not self.installments:
            return
        total = sum((i.amount for i in self.installments), Money.zero(self.debt.currency))
        if total != self.debt:
            raise RuleViolation(
                f"the installments of product {self.id!r} add up to {total}, "
                f"expected the debt {self.debt}"
            )
        last = self.installments[-1].due
        if self.due < last:
            raise RuleViolation(
                f"product {self.id!r} is due on {self.due}, before its last installment {last}"
            )

    @property
    def currency(self) -> str:
        """The currency of the debt."""
        return self.debt.currency

    @property
    def schedule(self) -> tuple[ProductInstallment, ...]:
        """The installments, or the whole debt due on ``due`` when there are none."""
        return self.installments or (ProductInstallment(self.due, self.debt),)


@attrs.frozen
class Installment:
    """One installment of a promise: an amount the customer will pay by a date (C4)."""

    amount: Money = attrs.field(
        validator=_positive_money_check("promise installment amount", InvalidPromise)
    )
    date: dt.date = attrs.field(validator=_date_check("promise installment date", InvalidPromise))


def _promise_installments(value: object) -> tuple[Installment, ...]:
    items = checks.items(value, "promise installments", InvalidPromise, of=Installment)
    if not items:
        raise InvalidPromise("a promise needs at least one installment")
    return tuple(sorted(items, key=lambda i: i.date))


def _check_ticket(_: object, __: attrs.Attribute[int | None], value: object) -> None:
    if value is not None:
        checks.ticket_number(value, "promise ticket", InvalidPromise)


def _check_cancelled_on(_: object, __: attrs.Attribute[dt.date | None], value: object) -> None:
    if value is not None:
        checks.day(value, "promise cancelled_on", InvalidPromise)


@attrs.frozen(field_transformer=_checked)
class Promise:
    """A promise to pay a product's debt in one or more installments (C4).

    Installments are kept sorted by date and share one currency. A promise is
    never edited: :func:`cancel_promise` returns it cancelled and a new one is made.
    """

    id: str = attrs.field(metadata=_identifier("promise id", InvalidPromise))
    product: str = attrs.field(metadata=_identifier("promise product", InvalidPromise))
    campaign: str = attrs.field(metadata=_identifier("promise campaign", InvalidPromise))
    agent: str = attrs.field(
        metadata=_identifier("promise agent", InvalidPromise, limit=checks.ACTOR_MAX)
    )
    made_on: dt.date = attrs.field(validator=_date_check("promise made_on", InvalidPromise))
    installments: tuple[Installment, ...] = attrs.field(converter=_promise_installments)
    ticket: int | None = attrs.field(default=None, validator=_check_ticket)
    customer: str | None = attrs.field(
        default=None,
        metadata=_identifier(
            "promise customer", InvalidPromise, limit=checks.ADDRESS_MAX, optional=True
        ),
    )
    cancelled_on: dt.date | None = attrs.field(default=None, validator=_check_cancelled_on)
    cancelled_by: str | None = attrs.field(
        default=None,
        metadata=_identifier(
            "promise cancelled_by", InvalidPromise, limit=checks.ACTOR_MAX, optional=True
        ),
    )

    def __attrs_post_init__(self) -> None:
        first = self.installments[0].amount
        for installment in self.installments[1:]:
            if installment.amount.currency != first.currency:
                raise CurrencyMismatch(
                    f"promise {self.id!r} mixes currencies {first.currency!r} and "
                    f"{installment.amount.currency!r}"
                )
        if (self.cancelled_on is None) != (self.cancelled_by is None):
            raise InvalidPromise(
                f"promise {self.id!r}: cancelled_on and cancelled_by go together "
                f"(got {self.cancelled_on!r} and {self.cancelled_by!r})"
            )
        if self.cancelled_on is not None and self.cancelled_on < self.made_on:
            raise InvalidPromise(
                f"promise {self.id!r} cannot be cancelled on {self.cancelled_on}, "
                f"before it was made on {self.made_on}"
            )

    @property
    def currency(self) -> str:
        """The currency of the installments."""
        return self.installments[0].amount.currency

    @property
    def total(self) -> Money:
        """The sum of the installments."""
        if len(self.installments) == 1:
            return self.installments[0].amount
        amount = self.installments[0].amount.amount
        for installment in self.installments[1:]:
            amount = _CONTEXT.add(amount, installment.amount.amount)
        return _money(amount, self.currency)


# -- C3 policy and aging -----------------------------------------------------------------------


def _bucket_label(bucket: AgingBucket) -> str:
    if bucket.maximum is None:
        return f"{bucket.minimum}+"
    return f"{bucket.minimum}-{bucket.maximum}"


def _check_bucket_minimum(_: object, __: attrs.Attribute[int], value: object) -> None:
    checks.whole(value, "bucket minimum", minimum=1)


def _check_bucket_maximum(_: object, __: attrs.Attribute[int | None], value: object) -> None:
    if value is not None:
        checks.whole(value, "bucket maximum")


@attrs.frozen(field_transformer=_checked)
class AgingBucket:
    """An inclusive range of days past due; ``maximum`` None means open-ended (C3).

    >>> AgingBucket(121, None).label
    '121+'
    """

    minimum: int = attrs.field(validator=_check_bucket_minimum)
    maximum: int | None = attrs.field(validator=_check_bucket_maximum)
    label: str = attrs.field(
        default=attrs.Factory(_bucket_label, takes_self=True),
        metadata=_identifier("bucket label"),
    )

    def __attrs_post_init__(self) -> None:
        if self.maximum is not None and self.maximum < self.minimum:
            raise RuleViolation(
                f"bucket {self.label!r} is inverted: maximum {self.maximum} "
                f"is below minimum {self.minimum}"
            )

    def __contains__(self, days: object) -> bool:
        if isinstance(days, bool) or not isinstance(days, int):
            return False
        return self.minimum <= days and (self.maximum is None or days <= self.maximum)


def aging_buckets(limits: Iterable[tuple[int, int | None]]) -> tuple[AgingBucket, ...]:
    """Buckets from ``(minimum, maximum)`` pairs, labelled ``"1-30"`` ... ``"121+"``.

    Raises:
        RuleViolation: when a pair is not two whole numbers (the last may be None).
    """
    pairs = checks.items(limits, "bucket limits", of=tuple)
    buckets = []
    for pair in pairs:
        if len(pair) != 2:
            raise RuleViolation(f"bucket limits {_show(pair)} are not a (minimum, maximum) pair")
        buckets.append(AgingBucket(pair[0], pair[1]))
    return tuple(buckets)


DEFAULT_BUCKETS: tuple[AgingBucket, ...] = aging_buckets(
    ((1, 30), (31, 60), (61, 90), (91, 120), (121, None))
)


def _to_buckets(value: object) -> tuple[AgingBucket, ...]:
    items: list[AgingBucket] = []
    for item in checks.items(value, "aging buckets"):
        if isinstance(item, tuple | list) and len(item) == 2:
            item = AgingBucket(item[0], item[1])  # a (minimum, maximum) pair, as in Campaign
        if not isinstance(item, AgingBucket):
            raise RuleViolation(
                f"aging buckets hold {_show(item)}; expected an AgingBucket or a "
                "(minimum, maximum) pair"
            )
        items.append(item)
    buckets = sorted(items, key=lambda b: b.minimum)
    if not buckets:
        raise RuleViolation("aging buckets are empty; expected at least one, the last open-ended")
    if buckets[0].minimum != 1:
        raise RuleViolation(
            f"aging bucket {buckets[0].label!r} starts at {buckets[0].minimum}; "
            "the first bucket must start at 1 day"
        )
    for previous, bucket in itertools.pairwise(buckets):
        if previous.maximum is None:
            raise RuleViolation(
                f"aging bucket {previous.label!r} is open-ended but is not the last one"
            )
        if bucket.minimum <= previous.maximum:
            raise RuleViolation(f"aging buckets {previous.label!r} and {bucket.label!r} overlap")
        if bucket.minimum != previous.maximum + 1:
            raise RuleViolation(
                f"aging buckets {previous.label!r} and {bucket.label!r} leave a gap: "
                f"days {previous.maximum + 1} to {bucket.minimum - 1} fall in no bucket"
            )
    if buckets[-1].maximum is not None:
        raise RuleViolation(
            f"the last aging bucket {buckets[-1].label!r} must be open-ended (maximum None)"
        )
    labels = [b.label for b in buckets]
    if len(set(labels)) != len(labels):
        raise RuleViolation(f"aging bucket labels {_show(labels)} are not unique")
    return tuple(buckets)


def _to_tolerance(value: object) -> Decimal:
    if isinstance(value, float):
        raise RuleViolation(f"tolerance {_show(value)} is a float; pass a str or Decimal")
    try:
        result = _to_decimal(value)
    except InvalidMoney as exc:
        raise RuleViolation(f"tolerance {_show(value)} is not a decimal amount") from exc
    if result < 0:
        raise RuleViolation(f"tolerance {_show(value)} is negative; expected 0 or more")
    return result


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def _timezone(value: object) -> zoneinfo.ZoneInfo:
    return _zone(checks.timezone(value, "time zone"))


@attrs.frozen
class CollectionsPolicy:
    """A collections campaign's promise and aging settings (C3, C4, C5).

    Args:
        grace_days: days after an installment's date before it counts as broken.
        tolerance: shortfall (currency units) still accepted as covering an installment.
        horizon_days: how far after the day it is made a promise may reach.
        buckets: aging buckets, or ``(minimum, maximum)`` pairs as in a campaign
            (labelled ``"1-30"``, ``"121+"``); sorted by minimum on construction.
        timezone: IANA name of the campaign's time zone.

    Raises:
        RuleViolation: on a negative or non-integer number of days, a negative
            tolerance, overlapping, inverted or gapped buckets, an unknown time zone.
    """

    grace_days: int = attrs.field(
        default=0,
        validator=lambda _, __, v: checks.whole(v, "grace_days", maximum=checks.DAYS_MAX),
    )
    tolerance: Decimal = attrs.field(default=Decimal("0"), converter=_to_tolerance)
    horizon_days: int = attrs.field(
        default=30,
        validator=lambda _, __, v: checks.whole(v, "horizon_days", maximum=checks.DAYS_MAX),
    )
    buckets: tuple[AgingBucket, ...] = attrs.field(default=DEFAULT_BUCKETS, converter=_to_buckets)
    timezone: str = attrs.field(default="UTC", validator=lambda _, __, v: _timezone(v))


def _policy(value: object) -> CollectionsPolicy:
    if not isinstance(value, CollectionsPolicy):
        raise RuleViolation(f"policy {_show(value)} is not a CollectionsPolicy")
    return value


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


# -- C2, C3 balances ---------------------------------------------------------------------------


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
    if not isinstance(value, Product):
        raise RuleViolation(f"product {_show(value)} is not a Product")
    return value


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


# -- C5, C6 promise status ---------------------------------------------------------------------


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
                break  # broken before this payment: a late payment does not count (decision 10)
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
    if not isinstance(promise, Promise):
        raise RuleViolation(f"promise {_show(promise)} is not a Promise")
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

    The promise is judged as of its ``made_on`` day (decision 8): every
    installment positive and in the product's currency; the total at most the
    outstanding balance; dates from ``made_on`` to ``made_on + horizon_days``;
    no other pending promise on the product; an agent and a ticket.

    Raises:
        InvalidPromise: naming the rule and the value that breaks it.
        CurrencyMismatch: when the promise is not in the product's currency.
        RuleViolation: on malformed arguments.
    """
    if not isinstance(promise, Promise):
        raise RuleViolation(f"promise {_show(promise)} is not a Promise")
    product = _product(product)
    policy = _policy(policy)
    day = checks.day(today, "today")
    others = checks.items(existing_promises, "existing promises", of=Promise)
    pays = _payments_of(product.id, product.currency, payments)
    name = f"promise {promise.id!r}"
    if promise.product != product.id:
        raise InvalidPromise(f"{name} names product {promise.product!r}, not {product.id!r}")
    if promise.campaign != product.campaign:
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


def cancel_promise(promise: Promise, agent: str, on: dt.date) -> Promise:
    """The promise withdrawn by ``agent`` on ``on`` (C4); CANCELLED from that day.

    Raises:
        RuleViolation: when it is already cancelled, ``on`` is before it was
            made, or an argument is malformed.
    """
    if not isinstance(promise, Promise):
        raise RuleViolation(f"promise {_show(promise)} is not a Promise")
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


# -- services: the collections store port (C1-C5 through a unit of work) -----------------------


def policy_for(campaign: Campaign) -> CollectionsPolicy:
    """The collections policy a campaign declares (grace, tolerance, horizon, buckets, zone)."""
    return CollectionsPolicy(
        grace_days=campaign.grace_days,
        tolerance=campaign.tolerance,
        horizon_days=campaign.horizon_days,
        buckets=campaign.buckets,
        timezone=campaign.timezone,
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


def declare_product(
    store: Store, product: Product, *, at: dt.datetime, actor: str | None = None
) -> Product:
    """Record a product (loan, card) of a contact of a collections campaign.

    The contact reference is resolved through merge tombstones (M5), so a product
    declared for a merged contact lands on the contact it was merged into. An
    identical re-declaration is a no-op; a different product with the same id is
    refused.

    Raises:
        UnknownCampaign, UnknownContact: when the campaign or contact is not stored.
        RuleViolation: the campaign is not a collections one (C23), or the id is taken.
    """
    from ccdomain.contacts import live_contact

    product = _product(product)
    when, actor = checks.aware(at), checks.actor(actor)
    with store.unit_of_work() as uow:
        _collections_campaign(uow, product.campaign)
        code = live_contact(uow, product.campaign, product.contact).code
        product = attrs.evolve(product, contact=code)
        stored = uow.get_product(product.id)
        if stored == product:
            return stored
        if stored is not None:
            raise RuleViolation(
                f"product {product.id!r} is already declared with other values; "
                "expected a new id or an identical product"
            )
        uow.put_product(product)
        uow.append_event(
            Event(
                kind=EventKind.PRODUCT_DECLARED,
                at=when,
                actor=actor,
                campaign=product.campaign,
                contact=code,
                payload=ProductDeclared(
                    product=product.id, debt=product.debt.amount, currency=product.currency
                ),
            )
        )
        uow.commit()
    return product


def record_payment(
    store: Store, payment: Payment, *, at: dt.datetime, actor: str | None = None
) -> Payment:
    """Record a payment (made, scheduled or reversed) of a product (C2, C5).

    An identical payment already recorded is a no-op; another with the same id is
    refused.

    Raises:
        UnknownProduct: the product is not stored.
        CurrencyMismatch: the payment is not in the product's currency (C1).
        RuleViolation: the id is taken by a different payment.
    """
    if not isinstance(payment, Payment):
        raise RuleViolation(f"payment {_show(payment)} is not a Payment")
    when, actor = checks.aware(at), checks.actor(actor)
    with store.unit_of_work() as uow:
        product = _stored_product(uow, payment.product)
        if payment.amount.currency != product.currency:
            raise CurrencyMismatch(
                f"payment {payment.id!r} is in {payment.amount.currency!r} but product "
                f"{product.id!r} is in {product.currency!r}"
            )
        stored = uow.get_payment(payment.id)
        if stored == payment:
            return stored
        if stored is not None:
            raise RuleViolation(
                f"payment {payment.id!r} is already recorded with other values; "
                "expected a new id or an identical payment"
            )
        uow.put_payment(payment)
        uow.append_event(
            Event(
                kind=EventKind.PAYMENT_RECORDED,
                at=when,
                actor=actor,
                campaign=product.campaign,
                contact=product.contact,
                payload=PaymentRecorded(
                    payment=payment.id,
                    product=product.id,
                    amount=payment.amount.amount,
                    status=payment.status.value,
                ),
            )
        )
        uow.commit()
    return payment


def reverse_payment(
    store: Store, payment_id: str, *, at: dt.datetime, actor: str | None = None
) -> Payment:
    """Mark a made payment as reversed (a bounced payment): it stops counting (C2, C5).

    Raises:
        UnknownPayment: no payment with that id.
        RuleViolation: the payment is not a made one (scheduled or already reversed).
    """
    when, actor = checks.aware(at), checks.actor(actor)
    payment_id = checks.identifier(payment_id, "payment id", UnknownPayment)
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
        uow.append_event(
            Event(
                kind=EventKind.PAYMENT_REVERSED,
                at=when,
                actor=actor,
                campaign=product.campaign,
                contact=product.contact,
                payload=PaymentReversed(payment=stored.id, product=stored.product),
            )
        )
        uow.commit()
    return reversed_


def _ticket_of(uow: UnitOfWork, promise: Promise) -> int | None:
    """The ticket a promise naming only its customer was made in (C22).

    The customer's open ticket in the campaign, else their latest one, else none:
    a promise keyed in from outside a conversation is kept without a ticket.
    """
    customer = promise.customer or ""
    tickets = uow.tickets_for_customer(customer, promise.campaign)
    open_ = [t for t in tickets if t.is_open]
    chosen = open_[-1] if open_ else (tickets[-1] if tickets else None)
    return None if chosen is None else chosen.number


def register_promise(
    store: Store, promise: Promise, *, at: dt.datetime, actor: str | None = None
) -> Promise:
    """Register a promise to pay after checking every rule of C4.

    ``at`` is when it is keyed in; its calendar day in the campaign's time zone
    is "today" for :func:`check_new_promise`. The ticket it was made in must be
    a ticket of the promise's campaign; a promise that names only its customer
    gets the customer's open (else latest) ticket there, or none (C22).

    Raises:
        UnknownProduct, UnknownTicket: the product or ticket is not stored.
        InvalidPromise, CurrencyMismatch: a C4 rule is broken.
    """
    if not isinstance(promise, Promise):
        raise RuleViolation(f"promise {_show(promise)} is not a Promise")
    when, actor = checks.aware(at), checks.actor(actor)
    with store.unit_of_work() as uow:
        product = _stored_product(uow, promise.product)
        campaign = _collections_campaign(uow, product.campaign)
        if promise.ticket is None and promise.customer is not None:
            promise = attrs.evolve(promise, ticket=_ticket_of(uow, promise))
        if promise.ticket is not None:
            ticket = uow.get_ticket(promise.ticket)
            if ticket is None:
                raise UnknownTicket(f"no ticket with number {promise.ticket!r}")
            if ticket.campaign != promise.campaign:
                raise InvalidPromise(
                    f"promise {promise.id!r} names ticket {ticket.number} of campaign "
                    f"{ticket.campaign!r}; expected a ticket of {promise.campaign!r}"
                )
        if uow.get_promise(promise.id) is not None:
            raise InvalidPromise(f"promise {promise.id!r} already exists")
        policy = policy_for(campaign)
        check_new_promise(
            promise,
            product,
            uow.payments_for_product(product.id),
            uow.promises_for_product(product.id),
            policy,
            local_date(when, policy.timezone),
        )
        uow.put_promise(promise)
        uow.append_event(
            Event(
                kind=EventKind.PROMISE_MADE,
                at=when,
                actor=actor if actor is not None else promise.agent,
                campaign=promise.campaign,
                ticket=promise.ticket,
                contact=product.contact,
                payload=PromiseMade(
                    promise=promise.id, product=product.id, total=promise.total.amount
                ),
            )
        )
        uow.commit()
    return promise


def withdraw_promise(store: Store, promise_id: str, *, agent: str, at: dt.datetime) -> Promise:
    """Cancel a promise (C4: a promise is never edited; it is cancelled and a new one made).

    Raises:
        UnknownPromise: no promise with that id.
        RuleViolation: it is already cancelled.
    """
    when, agent = checks.aware(at), checks.agent(agent)
    promise_id = checks.identifier(promise_id, "promise id", UnknownPromise)
    with store.unit_of_work() as uow:
        stored = uow.get_promise(promise_id)
        if stored is None:
            raise UnknownPromise(f"no promise with id {_show(promise_id)}")
        campaign = uow.get_campaign(stored.campaign)
        zone = campaign.timezone if campaign is not None else "UTC"
        cancelled = cancel_promise(stored, agent, local_date(when, zone))
        uow.put_promise(cancelled)
        uow.append_event(
            Event(
                kind=EventKind.PROMISE_CANCELLED,
                at=when,
                actor=agent,
                campaign=stored.campaign,
                ticket=stored.ticket,
                payload=PromiseCancelled(promise=stored.id, product=stored.product),
            )
        )
        uow.commit()
    return cancelled


def contact_products(store: Store, campaign: str, code: str, on: dt.date) -> list[ProductSummary]:
    """The products tab of a contact on ``on``: each product's balance, days past due,
    bucket, payments and promises with their status (seed 000 "Productos")."""
    from ccdomain.contacts import live_contact

    with store.unit_of_work() as uow:
        live = live_contact(uow, campaign, code).code
        camp = uow.get_campaign(campaign)
        policy = policy_for(camp) if camp is not None else CollectionsPolicy()
        return [
            product_summary(
                product,
                uow.payments_for_product(product.id),
                uow.promises_for_product(product.id),
                policy,
                on,
            )
            for product in uow.products_for_contact(campaign, live)
        ]
