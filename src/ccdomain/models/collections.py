"""The records of collections: money, products, payments, promises, policy (C1-C4).

Frozen attrs records that check their own fields on construction (E1): the pure
rules over them live in :mod:`ccdomain.rules.balances` and
:mod:`ccdomain.rules.promises`, the services in :mod:`ccdomain.services.collections`;
:mod:`ccdomain.collections` re-exports all of them.

- C1 :class:`Money`: a Decimal in an ISO 4217 currency (:data:`MINOR_UNITS`),
  rounded half-even to the currency's minor unit (:func:`money`); mixing
  currencies raises :class:`~ccdomain.errors.CurrencyMismatch`.
- :class:`Product` (with its :class:`ProductInstallment` schedule), :class:`Payment`
  (:class:`PaymentStatus`), :class:`Promise` (with its :class:`Installment`).
- C3 :class:`AgingBucket`, :func:`aging_buckets`, :class:`CollectionsPolicy`.

Decisions (C7-C13 in docs/rules.md)
-----------------------------------
1. Money input (C7). :func:`money` accepts ``int``, ``Decimal`` and ``str`` in plain
   decimal notation (ASCII digits, optional sign and point; no exponent, no
   thousands separators, surrounding spaces ignored). ``float`` and ``bool``
   are refused (a float is already inexact). NaN and infinities are refused.
   Amounts must be below 10**15 in absolute value. Currency codes are the
   ISO 4217 codes of :data:`MINOR_UNITS`, read case-insensitively and kept in
   upper case. A zero is never negative (``-0.001 PEN`` is ``0.00 PEN``).
2. Money itself may be zero or negative (it is the result of arithmetic); a
   product's debt, a payment and a promise installment must be positive (C8).
   ``0 + money`` is ``money`` so that ``sum()`` works; money compared with
   anything else, or combined with another currency, raises.
3. Dates are ``datetime.date`` values; a ``datetime`` is refused (convert it with
   :func:`ccdomain.rules.balances.local_date`, C9).
4. A product's optional schedule must add up to the debt, and the product's
   ``due`` is not before the last scheduled date. The schedule is kept sorted
   by date (C11).
5. Aging buckets must cover every positive day count exactly once: they are
   sorted by minimum, the first starts at 1, each next one starts the day after
   the previous one ends (no gap, no overlap), only the last is open-ended and
   labels are unique. 0 days past due is "current": no bucket (C12).
6. Policy bounds: ``grace_days`` and ``horizon_days`` are integers from 0 to
   3660; ``tolerance`` is a Decimal >= 0 in the campaign currency's units;
   ``timezone`` is an IANA name (``America/Lima``) (C13).
7. A promise's installments are kept sorted by date and share one currency;
   ``cancelled_on`` and ``cancelled_by`` go together, and a promise is not
   cancelled before the day it was made (C17).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import itertools
import re
import types
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any, TypeVar

import attrs

from ccdomain import checks
from ccdomain.errors import (
    CcdomainError,
    CurrencyMismatch,
    InvalidMoney,
    InvalidPromise,
    RuleViolation,
)
from ccdomain.errors import (
    show as _show,
)

__all__ = [
    "DEFAULT_BUCKETS",
    "MINOR_UNITS",
    "AgingBucket",
    "CollectionsPolicy",
    "Installment",
    "Money",
    "Payment",
    "PaymentStatus",
    "Product",
    "ProductInstallment",
    "Promise",
    "aging_buckets",
    "money",
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
"""Digits after the decimal point of each ISO 4217 currency; money rounds to them (C1)."""

_MAX_AMOUNT = Decimal(checks.AMOUNT_MAX)
# Arithmetic never depends on the caller's decimal context; 40 digits hold any
# sum of bounded amounts exactly.
_CONTEXT = Context(prec=40, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation])
_AMOUNT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_R = TypeVar("_R", bound=attrs.AttrsInstance)
_MONEY_TEXT = re.compile(r"\s*[+-]?[0-9.]{1,40}\s+[A-Za-z]{3}\s*")


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


def _day_field(
    what: str, error: type[CcdomainError], *, optional: bool = False
) -> dict[str, Callable[[object], object]]:
    """Field metadata: a date, given as a ``datetime.date`` or as ``YYYY-MM-DD`` text (C9)."""

    def convert(value: object) -> object:
        if optional and value is None:
            return None
        return _to_day(value, what, error)

    return {_CHECK: convert}


def _money_field(what: str, error: type[CcdomainError]) -> dict[str, Callable[[object], object]]:
    """Field metadata: a positive amount of money, in any shape :func:`_to_money` reads (C8)."""

    def convert(value: object) -> object:
        return _to_money(value, what, error)

    return {_CHECK: convert}


def _checked(_: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    """attrs field transformer: a field with checking metadata converts through it.

    (A converter written in the field itself would hide the field's type from mypy:
    the type a record holds stays the one its class declares.)
    """
    return [f.evolve(converter=f.metadata[_CHECK]) if _CHECK in f.metadata else f for f in fields]


def _to_day(value: object, what: str, error: type[CcdomainError]) -> dt.date:
    """A ``datetime.date`` (not a datetime), or ``YYYY-MM-DD`` text as an event line has it."""
    if type(value) is dt.date:
        return value
    if isinstance(value, str):
        return checks.iso_date(value.strip(), what, error)
    return checks.day(value, what, error)


def _to_money(
    value: object, what: str, error: type[CcdomainError], *, currency: str | None = None
) -> Money:
    """A positive Money from what records accept (C7, C8).

    ``Money``; ``{"amount": ..., "currency": ...}``; text ``"100.00 PEN"`` (what
    ``str(money)`` gives); or, when ``currency`` is given (the product's, known to
    a service), a plain amount as :func:`money` reads it.
    """
    if isinstance(value, Money):
        result = value
    elif isinstance(value, Mapping):
        fields = checks.mapping(value, what, error, keys=("amount", "currency"))
        if "amount" not in fields:
            raise error(f"{what} {_show(value)} has no 'amount'")
        code = fields.get("currency", currency)
        if code is None:
            raise error(f"{what} {_show(value)} names no currency: expected a 'currency' key")
        result = Money(fields["amount"], code)
    elif isinstance(value, str) and _MONEY_TEXT.fullmatch(value):
        amount, code = value.split()
        result = Money(amount, code)
    elif currency is not None:
        result = Money(value, currency)
    else:
        raise error(
            f"{what} {_show(value)} is not money: expected Money, text such as "
            "'100.00 PEN', or {'amount': '100.00', 'currency': 'PEN'}"
        )
    if result.amount <= 0:
        raise error(f"{what} {result} must be positive")
    return result


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

    Examples:
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


def _record(
    cls: type[_R],
    value: Mapping[Any, Any],
    what: str,
    error: type[CcdomainError],
    *,
    aliases: Mapping[str, str] | None = None,
) -> _R:
    """A record built from a plain mapping of its fields (the shape of an event line).

    ``aliases`` maps another key an event line uses to the field it fills.

    Raises:
        CcdomainError: ``error``, naming an unknown key, a key given twice, or a
            missing field; the record's own checks raise for a bad value.
    """
    names = [f.name for f in attrs.fields(cls)]
    others = dict(aliases or {})
    fields = checks.mapping(value, what, error, keys=[*names, *others])
    for alias, name in others.items():
        if alias in fields:
            if name in fields:
                raise error(f"{what} {_show(value)} gives both {alias!r} and {name!r}")
            fields[name] = fields.pop(alias)
    for field in attrs.fields(cls):
        if field.default is attrs.NOTHING and field.name not in fields:
            raise error(f"{what} {_show(value)} has no {field.name!r}")
    return cls(**fields)


@attrs.frozen(field_transformer=_checked)
class Payment:
    """A payment towards a product: made, scheduled (not yet made) or reversed (bounced)."""

    id: str = attrs.field(metadata=_identifier("payment id"))
    product: str = attrs.field(metadata=_identifier("payment product"))
    amount: Money = attrs.field(metadata=_money_field("payment amount", InvalidMoney))
    date: dt.date = attrs.field(metadata=_day_field("payment date", RuleViolation))
    status: PaymentStatus = attrs.field(default=PaymentStatus.MADE, converter=_to_payment_status)


@attrs.frozen(field_transformer=_checked)
class ProductInstallment:
    """One installment of a product's schedule: an amount due on a date."""

    due: dt.date = attrs.field(metadata=_day_field("installment due date", RuleViolation))
    amount: Money = attrs.field(metadata=_money_field("installment amount", InvalidMoney))


def _installments(
    value: object, cls: type[_R], what: str, error: type[CcdomainError], **aliases: str
) -> list[_R]:
    """The items of a list of installments (``what``, a plural): records, or mappings."""
    items = []
    for item in checks.items(value, what, error):
        if type(item) is not cls:
            if isinstance(item, Mapping):
                item = _record(cls, item, what.removesuffix("s"), error, aliases=aliases)
            elif not isinstance(item, cls):
                raise error(
                    f"{what} holds {_show(item)}: expected only {cls.__name__} items "
                    "or mappings of their fields"
                )
        items.append(item)
    return items


def _schedule(value: object) -> tuple[ProductInstallment, ...]:
    items = _installments(
        value, ProductInstallment, "product installments", RuleViolation, date="due"
    )
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
    debt: Money = attrs.field(metadata=_money_field("product debt", InvalidMoney))
    due: dt.date = attrs.field(metadata=_day_field("product due date", RuleViolation))
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


@attrs.frozen(field_transformer=_checked)
class Installment:
    """One installment of a promise: an amount the customer will pay by a date (C4)."""

    amount: Money = attrs.field(metadata=_money_field("promise installment amount", InvalidPromise))
    date: dt.date = attrs.field(metadata=_day_field("promise installment date", InvalidPromise))


def _promise_installments(value: object) -> tuple[Installment, ...]:
    items = _installments(value, Installment, "promise installments", InvalidPromise)
    if not items:
        raise InvalidPromise("a promise needs at least one installment")
    return tuple(sorted(items, key=lambda i: i.date))


def _check_ticket(_: object, __: attrs.Attribute[int | None], value: object) -> None:
    if value is not None:
        checks.ticket_number(value, "promise ticket", InvalidPromise)


@attrs.frozen(field_transformer=_checked)
class Promise:
    """A promise to pay a product's debt in one or more installments (C4).

    Installments are kept sorted by date and share one currency; each may be an
    :class:`Installment` or a mapping ``{"amount": "100.00 PEN", "date":
    "2026-11-05"}``. ``campaign`` may be left out: it is the product's, and
    :func:`~ccdomain.services.collections.register_promise` fills it in. A promise
    is never edited: :func:`~ccdomain.rules.promises.cancelled_promise` returns it
    cancelled and a new one is made.
    """

    id: str = attrs.field(metadata=_identifier("promise id", InvalidPromise))
    product: str = attrs.field(metadata=_identifier("promise product", InvalidPromise))
    campaign: str | None = attrs.field(
        default=None,
        kw_only=True,
        metadata=_identifier("promise campaign", InvalidPromise, optional=True),
    )
    agent: str = attrs.field(
        metadata=_identifier("promise agent", InvalidPromise, limit=checks.ACTOR_MAX)
    )
    made_on: dt.date = attrs.field(metadata=_day_field("promise made_on", InvalidPromise))
    installments: tuple[Installment, ...] = attrs.field(converter=_promise_installments)
    ticket: int | None = attrs.field(default=None, validator=_check_ticket)
    customer: str | None = attrs.field(
        default=None,
        metadata=_identifier(
            "promise customer", InvalidPromise, limit=checks.ADDRESS_MAX, optional=True
        ),
    )
    cancelled_on: dt.date | None = attrs.field(
        default=None, metadata=_day_field("promise cancelled_on", InvalidPromise, optional=True)
    )
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
"""The aging buckets of a policy that names none: 1-30, 31-60, 61-90, 91-120, 121+ (C3)."""


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

    Attributes:
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
