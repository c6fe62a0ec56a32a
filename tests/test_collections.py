"""Collections rules C1-C6: money, balances, days past due, promises to pay."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ccdomain.collections import (
    DEFAULT_BUCKETS,
    MINOR_UNITS,
    AgingBucket,
    CollectionsPolicy,
    Installment,
    Money,
    Payment,
    PaymentStatus,
    Product,
    ProductInstallment,
    Promise,
    PromiseStatus,
    PromiseStatusKind,
    aging_bucket,
    aging_buckets,
    cancelled_promise,
    check_new_promise,
    credit,
    days_past_due,
    local_date,
    money,
    outstanding_balance,
    product_summary,
    promise_status,
    promise_statuses,
)
from ccdomain.errors import (
    CcdomainError,
    CurrencyMismatch,
    InvalidMoney,
    InvalidPromise,
    RuleViolation,
)

KEPT = PromiseStatusKind.KEPT
BROKEN = PromiseStatusKind.BROKEN
PENDING = PromiseStatusKind.PENDING
CANCELLED = PromiseStatusKind.CANCELLED

START = dt.date(2026, 11, 1)


def day(n: int) -> dt.date:
    """The n-th day after 2026-11-01 (day(0) is 2026-11-01)."""
    return START + dt.timedelta(days=n)


def pen(amount: str | int) -> Money:
    return money(amount, "PEN")


def make_product(debt: str = "1500.00", due: dt.date = dt.date(2026, 10, 1), **kw: Any) -> Product:
    return Product("P-1", "cobranzas", "41223344", "loan", pen(debt), due, **kw)


def make_promise(
    *installments: tuple[str, dt.date],
    id: str = "PR-1",
    made_on: dt.date = START,
    currency: str = "PEN",
    **kw: Any,
) -> Promise:
    kw.setdefault("ticket", 12)
    return Promise(
        id=id,
        product=kw.pop("product", "P-1"),
        campaign="cobranzas",
        agent="ana",
        made_on=made_on,
        installments=tuple(Installment(money(a, currency), d) for a, d in installments),
        **kw,
    )


def pay(
    id: str, amount: str, date: dt.date, status: str = "made", *, currency: str = "PEN"
) -> Payment:
    return Payment(id, "P-1", money(amount, currency), date, PaymentStatus(status))


# -- C1 money ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.345", "PEN", "2.34"),  # half-even: down to the even cent
        ("2.355", "PEN", "2.36"),  # half-even: up to the even cent
        ("1500.4", "CLP", "1500"),
        ("1500.5", "CLP", "1500"),
        ("1501.5", "CLP", "1502"),
        ("0.0005", "KWD", "0.000"),
        ("1.23456", "CLF", "1.2346"),
        (7, "usd", "7.00"),
        (Decimal("-0.001"), "PEN", "0.00"),  # a zero is never negative
        (" 12.5 ", "EUR", "12.50"),
    ],
)
def test_C1_money_rounds_half_even_to_the_minor_unit(
    amount: object, currency: str, expected: str
) -> None:
    result = money(amount, currency)
    assert str(result.amount) == expected
    assert result.currency == currency.upper()
    assert result == Money(amount, currency)


def test_C1_clp_has_no_decimals() -> None:
    assert money("1500.4", "CLP") == Money(Decimal(1500), "CLP")
    assert str(money("1500.4", "CLP")) == "1500 CLP"
    assert money("1500.4", "CLP").minor_unit == 0
    assert Money.zero("CLP").amount.as_tuple().exponent == 0
    assert MINOR_UNITS["PEN"] == 2 and MINOR_UNITS["PYG"] == 0 and MINOR_UNITS["BHD"] == 3


@pytest.mark.parametrize(
    ("amount", "currency", "named"),
    [
        (0.1, "PEN", "0.1"),
        (True, "PEN", "True"),
        (None, "PEN", "None"),
        ("NaN", "PEN", "NaN"),
        (Decimal("NaN"), "PEN", "NaN"),
        (Decimal("Infinity"), "PEN", "Infinity"),
        ("1,500.00", "PEN", "1,500.00"),
        ("1e3", "PEN", "1e3"),
        ("١٢", "PEN", "١٢"),
        ("9" * 10_000, "PEN", "999"),
        ("10", "XYZ", "XYZ"),
        ("10", "pe", "pe"),
        ("10", None, "None"),
        ("10", "PEN\x00", "PEN"),
        ("10", "💰", "💰"),
    ],
)
def test_C1_bad_money_raises_invalid_money_naming_the_value(
    amount: object, currency: object, named: str
) -> None:
    with pytest.raises(InvalidMoney) as caught:
        money(amount, currency)
    assert named in caught.value.message
    assert len(caught.value.message) < 200


def test_C1_mixing_currencies_raises_currency_mismatch_naming_both() -> None:
    with pytest.raises(CurrencyMismatch) as caught:
        pen("1") + money("1", "USD")
    assert "'PEN'" in caught.value.message and "'USD'" in caught.value.message
    with pytest.raises(CurrencyMismatch):
        _ = pen("1") < money("1", "USD")
    with pytest.raises(InvalidMoney):
        pen("1") + 1  # type: ignore[operator]
    assert pen("1") != money("1", "USD")  # equality never raises


def test_C1_money_arithmetic_and_order() -> None:
    assert pen("10.10") + pen("0.90") == pen("11")
    assert pen("10") - pen("12.5") == pen("-2.50")
    assert sum([pen("1.10"), pen("2.20")]) == pen("3.30")
    assert pen("1") < pen("1.01") <= pen("1.01") < pen("2") > pen("0")
    assert Money.zero("USD") == money(0, "USD")
    assert str(Money.zero("KWD")) == "0.000 KWD"


# -- C2 balances -------------------------------------------------------------------------------


def test_C2_outstanding_balance_ignores_reversed_and_scheduled_payments() -> None:
    product = make_product("1000.00")
    payments = [
        pay("A", "100.00", day(1)),
        pay("B", "200.00", day(2), "reversed"),
        pay("C", "300.00", day(3), "scheduled"),
        Payment("X", "OTHER", pen("999"), day(1), PaymentStatus.MADE),
    ]
    assert outstanding_balance(product, payments) == pen("900.00")
    assert outstanding_balance(product, payments, on=day(0)) == pen("1000.00")
    assert credit(product, payments) == pen(0)


def test_C2_an_overpayment_is_kept_as_credit_and_the_balance_stays_zero() -> None:
    product = make_product("100.00")
    payments = [pay("A", "60.00", day(1)), pay("B", "55.50", day(2))]
    assert outstanding_balance(product, payments) == pen("0.00")
    assert credit(product, payments) == pen("15.50")


def test_C2_payments_in_another_currency_or_given_twice_are_refused() -> None:
    product = make_product()
    with pytest.raises(CurrencyMismatch, match="'USD'"):
        outstanding_balance(product, [pay("A", "1", day(1), currency="USD")])
    with pytest.raises(RuleViolation, match="'A'"):
        outstanding_balance(product, [pay("A", "1", day(1)), pay("A", "1", day(2))])


@settings(max_examples=150, deadline=None)
@given(
    debt=st.integers(1, 10**6),
    amounts=st.lists(
        st.tuples(st.integers(1, 10**6), st.sampled_from(list(PaymentStatus))), max_size=6
    ),
)
def test_C2_balance_and_credit_account_for_every_made_payment(
    debt: int, amounts: list[tuple[int, PaymentStatus]]
) -> None:
    product = make_product(str(Decimal(debt).scaleb(-2)))
    payments = [
        Payment(f"P{i}", "P-1", pen(str(Decimal(a).scaleb(-2))), day(i), s)
        for i, (a, s) in enumerate(amounts)
    ]
    made = sum((p.amount for p in payments if p.status is PaymentStatus.MADE), pen(0))
    balance, extra = outstanding_balance(product, payments), credit(product, payments)
    assert balance >= pen(0) and extra >= pen(0)
    assert balance.amount == 0 or extra.amount == 0
    assert balance - extra == product.debt - made


# -- C3 days past due, buckets, time zone ------------------------------------------------------


def test_C3_days_past_due_counts_from_the_oldest_unpaid_due_date() -> None:
    product = make_product("100.00", due=dt.date(2026, 10, 1))
    assert days_past_due(product, [], dt.date(2026, 10, 1)) == 0  # due today: not past due
    assert days_past_due(product, [], dt.date(2026, 10, 2)) == 1
    assert days_past_due(product, [], dt.date(2026, 10, 31)) == 30
    paid = [pay("A", "100.00", dt.date(2026, 10, 20))]
    assert days_past_due(product, paid, dt.date(2026, 10, 19)) == 18
    assert days_past_due(product, paid, dt.date(2026, 10, 20)) == 0
    assert days_past_due(product, [pay("A", "99.99", dt.date(2026, 10, 5))], day(0)) == 31


def test_C3_with_a_schedule_payments_pay_the_oldest_installment_first() -> None:
    schedule = (
        ProductInstallment(dt.date(2026, 9, 1), pen("100")),
        ProductInstallment(dt.date(2026, 10, 1), pen("100")),
        ProductInstallment(dt.date(2026, 11, 1), pen("100")),
    )
    product = make_product("300.00", due=dt.date(2026, 11, 1), installments=schedule)
    on = dt.date(2026, 10, 15)
    assert days_past_due(product, [], on) == 44  # since 2026-09-01
    assert days_past_due(product, [pay("A", "150", dt.date(2026, 9, 10))], on) == 14
    assert days_past_due(product, [pay("A", "200", dt.date(2026, 9, 10))], on) == 0
    assert days_past_due(product, [pay("A", "200", dt.date(2026, 10, 16))], on) == 44


def test_C3_a_schedule_must_add_up_to_the_debt() -> None:
    schedule = (ProductInstallment(dt.date(2026, 9, 1), pen("100")),)
    with pytest.raises(RuleViolation, match=r"add up to 100\.00 PEN"):
        make_product("300.00", installments=schedule)
    with pytest.raises(RuleViolation, match="before its last installment"):
        make_product("100.00", due=dt.date(2026, 8, 1), installments=schedule)


def test_C3_aging_buckets_default_and_boundaries() -> None:
    policy = CollectionsPolicy()
    assert [b.label for b in policy.buckets] == ["1-30", "31-60", "61-90", "91-120", "121+"]
    assert aging_bucket(0, policy) is None
    expected = {1: "1-30", 30: "1-30", 31: "31-60", 90: "61-90", 120: "91-120", 121: "121+"}
    for days, label in expected.items():
        bucket = aging_bucket(days, policy)
        assert bucket is not None and bucket.label == label
    assert aging_bucket(10**9, policy) == DEFAULT_BUCKETS[-1]
    with pytest.raises(RuleViolation, match="-1"):
        aging_bucket(-1, policy)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ([(1, 30), (25, None)], "overlap"),
        ([(1, 30), (40, None)], "gap"),
        ([(1, 30), (31, 60)], "open-ended"),
        ([(1, None), (31, None)], "not the last"),
        ([(2, None)], "start at 1"),
        ([], "empty"),
    ],
)
def test_C3_bad_bucket_definitions_are_refused(
    limits: list[tuple[int, int | None]], message: str
) -> None:
    with pytest.raises(RuleViolation, match=message):
        CollectionsPolicy(buckets=aging_buckets(limits))


def test_C3_inverted_buckets_are_refused_and_unsorted_ones_are_sorted() -> None:
    with pytest.raises(RuleViolation, match="inverted"):
        AgingBucket(30, 1, "30-1")
    policy = CollectionsPolicy(buckets=aging_buckets([(31, None), (1, 30)]))
    assert [b.minimum for b in policy.buckets] == [1, 31]
    # A campaign's (minimum, maximum) pairs are accepted as they are.
    assert CollectionsPolicy(buckets=((31, None), (1, 30))) == policy
    assert [b.label for b in policy.buckets] == ["1-30", "31+"]


def test_C3_only_the_calendar_date_in_the_campaign_time_zone_matters() -> None:
    late_evening_lima = dt.datetime(2026, 11, 20, 3, 30, tzinfo=dt.UTC)  # 22:30 on the 19th
    assert local_date(late_evening_lima, "America/Lima") == dt.date(2026, 11, 19)
    assert local_date(late_evening_lima, "UTC") == dt.date(2026, 11, 20)
    with pytest.raises(RuleViolation, match="Mars/Olympus"):
        local_date(late_evening_lima, "Mars/Olympus")
    with pytest.raises(RuleViolation, match="aware"):
        local_date(dt.datetime(2026, 11, 20, 3, 30), "UTC")
    with pytest.raises(RuleViolation, match="Mars/Olympus"):
        CollectionsPolicy(timezone="Mars/Olympus")


@settings(max_examples=150, deadline=None)
@given(
    debt=st.integers(1, 100_000),
    due_offset=st.integers(-60, 60),
    payments=st.lists(st.tuples(st.integers(1, 60_000), st.integers(-60, 60)), max_size=5),
    on_offset=st.integers(-60, 90),
)
def test_C3_days_past_due_is_non_negative_and_grows_by_one_per_day(
    debt: int, due_offset: int, payments: list[tuple[int, int]], on_offset: int
) -> None:
    product = make_product(str(debt), due=day(due_offset))
    pays = [pay(f"P{i}", str(a), day(d)) for i, (a, d) in enumerate(payments)]
    on = day(on_offset)
    dpd = days_past_due(product, pays, on)
    assert dpd >= 0
    if outstanding_balance(product, pays, on=on).amount == 0 or product.due >= on:
        assert dpd == 0  # nothing overdue
    else:
        assert dpd == (on - product.due).days
    if dpd > 0 and all(p.date != on + dt.timedelta(days=1) for p in pays):
        assert days_past_due(product, pays, on + dt.timedelta(days=1)) == dpd + 1


@settings(max_examples=150, deadline=None)
@given(
    widths=st.lists(st.integers(1, 60), max_size=6),
    days=st.lists(st.integers(1, 1000), min_size=1, max_size=10),
)
def test_C3_every_positive_value_falls_in_exactly_one_bucket(
    widths: list[int], days: list[int]
) -> None:
    limits: list[tuple[int, int | None]] = []
    low = 1
    for width in widths:
        limits.append((low, low + width - 1))
        low += width
    limits.append((low, None))
    policy = CollectionsPolicy(buckets=aging_buckets(reversed(limits)))
    for n in days:
        holders = [b for b in policy.buckets if n in b]
        assert len(holders) == 1
        assert aging_bucket(n, policy) == holders[0]


# -- C4 making and cancelling promises ---------------------------------------------------------


POLICY = CollectionsPolicy(grace_days=2, horizon_days=30)


def test_C4_a_valid_promise_passes() -> None:
    promise = make_promise(("100.00", day(5)), ("100.00", day(30)))
    check_new_promise(promise, make_product(), [], [], POLICY, START)


@pytest.mark.parametrize("amount", ["0", "-5.00", "0.001"])
def test_C4_installments_must_be_positive(amount: str) -> None:
    with pytest.raises(InvalidPromise, match="must be positive"):
        make_promise((amount, day(5)))
    with pytest.raises(InvalidPromise, match="at least one installment"):
        make_promise()


def test_C4_total_is_at_most_the_outstanding_balance() -> None:
    product = make_product("300.00")
    paid = [pay("A", "100.00", START)]
    check_new_promise(make_promise(("200.00", day(5))), product, paid, [], POLICY, START)
    with pytest.raises(
        InvalidPromise, match=r"200\.01 PEN exceeds the outstanding balance 200\.00"
    ):
        check_new_promise(make_promise(("200.01", day(5))), product, paid, [], POLICY, START)


def test_C4_dates_are_from_the_day_made_to_the_horizon() -> None:
    product = make_product()
    for ok in (START, day(30)):
        check_new_promise(make_promise(("10", ok)), product, [], [], POLICY, START)
    with pytest.raises(InvalidPromise, match="2026-10-31 is before"):
        check_new_promise(make_promise(("10", day(-1))), product, [], [], POLICY, START)
    with pytest.raises(InvalidPromise, match="2026-12-02 is beyond the campaign's horizon"):
        check_new_promise(make_promise(("10", day(31))), product, [], [], POLICY, START)
    with pytest.raises(InvalidPromise, match="after today"):
        check_new_promise(make_promise(("10", day(5))), product, [], [], POLICY, day(-1))


def test_C4_a_product_has_at_most_one_pending_promise() -> None:
    product = make_product()
    first = make_promise(("100", day(5)), id="PR-0")
    second = make_promise(("100", day(6)), id="PR-1", made_on=day(1))
    with pytest.raises(InvalidPromise, match="already has a pending promise 'PR-0'"):
        check_new_promise(second, product, [], [first], POLICY, day(1))
    # Cancelled, kept or broken promises do not block a new one.
    check_new_promise(
        second, product, [], [cancelled_promise(first, agent="ana", on=day(1))], POLICY, day(1)
    )
    kept = [pay("A", "100", day(1))]
    check_new_promise(second, product, kept, [first], POLICY, day(1))
    late = make_promise(("100", day(9)), id="PR-2", made_on=day(8))
    check_new_promise(late, product, [], [first], POLICY, day(8))  # PR-0 broke on day 8
    with pytest.raises(InvalidPromise, match="already exists"):
        check_new_promise(first, product, [], [first], POLICY, START)


def test_C4_a_promise_is_tied_to_its_product_campaign_agent_and_ticket() -> None:
    product = make_product()
    # C22: a promise keyed in without a ticket is accepted; the agent stays required.
    check_new_promise(make_promise(("10", day(1)), ticket=None), product, [], [], POLICY, START)
    with pytest.raises(InvalidPromise, match="agent"):
        attrs.evolve(make_promise(("10", day(1))), agent="")
    with pytest.raises(InvalidPromise, match="names product 'P-2'"):
        other = make_promise(("10", day(1)), product="P-2")
        check_new_promise(other, product, [], [], POLICY, START)


def test_C4_a_promise_in_another_or_mixed_currency_is_refused() -> None:
    with pytest.raises(CurrencyMismatch, match="'USD'"):
        check_new_promise(
            make_promise(("10", day(1)), currency="USD"), make_product(), [], [], POLICY, START
        )
    with pytest.raises(CurrencyMismatch, match="mixes currencies 'PEN' and 'USD'"):
        Promise(
            id="PR-1",
            product="P-1",
            campaign="cobranzas",
            agent="ana",
            made_on=START,
            installments=(Installment(pen(1), day(1)), Installment(money(1, "USD"), day(2))),
        )


def test_C4_a_promise_is_never_edited_only_cancelled_once() -> None:
    promise = make_promise(("100", day(5)))
    cancelled = cancelled_promise(promise, agent="sup1", on=day(2))
    assert (cancelled.cancelled_on, cancelled.cancelled_by) == (day(2), "sup1")
    assert promise.cancelled_on is None  # the original is unchanged
    with pytest.raises(RuleViolation, match="already cancelled"):
        cancelled_promise(cancelled, agent="ana", on=day(3))
    with pytest.raises(RuleViolation, match="before it was made"):
        cancelled_promise(promise, agent="ana", on=day(-1))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        promise.made_on = day(3)  # type: ignore[misc]
    with pytest.raises(InvalidPromise, match="already cancelled"):
        check_new_promise(cancelled, make_product(), [], [], POLICY, START)


# -- records from plain values: money text or mappings, ISO dates (C7, C9) ----------------------


def test_C7_C9_records_accept_money_text_money_mappings_and_iso_dates() -> None:
    promise = Promise(
        id="PR-1",
        product="P-1",
        agent="ana",
        made_on="2026-11-01",  # type: ignore[arg-type]
        installments=[
            {"amount": "60.00 PEN", "date": "2026-11-12"},
            {"amount": {"amount": "40", "currency": "pen"}, "date": dt.date(2026, 11, 5)},
        ],
    )
    assert promise.installments == (
        Installment(pen("40.00"), day(4)),
        Installment(pen("60.00"), day(11)),
    )
    assert (promise.made_on, promise.campaign, promise.total) == (START, None, pen(100))
    paid = Payment("PAY-1", "P-1", "100.00 PEN", " 2026-11-02 ")  # type: ignore[arg-type]
    assert paid == pay("PAY-1", "100.00", day(1))
    product = Product(
        "P-1",
        "cobranzas",
        "41223344",
        "loan",
        {"amount": "1500", "currency": "PEN"},  # type: ignore[arg-type]
        "2026-10-01",  # type: ignore[arg-type]
        installments=[
            {"date": "2026-10-01", "amount": "1000 PEN"},  # an event line's "date"
            {"due": "2026-09-01", "amount": "500.00 PEN"},
        ],
    )
    assert product.installments == (
        ProductInstallment(dt.date(2026, 9, 1), pen(500)),
        ProductInstallment(dt.date(2026, 10, 1), pen(1000)),
    )
    assert product == make_product(installments=product.installments)


@pytest.mark.parametrize(
    ("installment", "error", "message"),
    [
        ({"amount": "100.00", "date": "2026-11-05"}, InvalidPromise, r"'100\.00' is not money"),
        ({"amount": {"amount": "1"}, "date": "2026-11-05"}, InvalidPromise, "names no currency"),
        ({"amount": "1 PEN", "when": "2026-11-05"}, InvalidPromise, "unknown field 'when'"),
        ({"amount": "1 PEN"}, InvalidPromise, "has no 'date'"),
        ({"amount": "1 PEN", "date": "2026-11-31"}, InvalidPromise, "2026-11-31"),
        ({"amount": "1 PEN", "date": dt.datetime(2026, 11, 5)}, InvalidPromise, "datetime.date"),
        ({"amount": "-1 PEN", "date": "2026-11-05"}, InvalidPromise, "must be positive"),
        ({"amount": "1 XYZ", "date": "2026-11-05"}, InvalidMoney, "'XYZ'"),
        ({"amount": "1,5 PEN", "date": "2026-11-05"}, InvalidPromise, "'1,5 PEN' is not money"),
    ],
)
def test_C7_C9_plain_installments_are_refused_naming_the_value(
    installment: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Promise(id="PR-1", product="P-1", agent="ana", made_on=START, installments=[installment])


def test_C14_a_promise_without_campaign_is_judged_in_its_products() -> None:
    promise = attrs.evolve(make_promise(("10", day(1))), campaign=None)
    check_new_promise(promise, make_product(), [], [], POLICY, START)
    with pytest.raises(InvalidPromise, match="campaign 'ventas'"):
        check_new_promise(
            attrs.evolve(promise, campaign="ventas"), make_product(), [], [], POLICY, START
        )


# -- C5 worked examples ------------------------------------------------------------------------


def test_C5_two_installment_promise() -> None:
    promise = make_promise(("50.00", day(5)), ("50.00", day(12)))
    pays = [pay("PAY-1", "50.00", day(4)), pay("PAY-2", "50.00", day(12))]
    assert promise_status(promise, pays[:1], POLICY, day(10)).describe() == (
        "pending, 50.00 of 100.00 paid"
    )
    assert promise_status(promise, pays[:1], POLICY, day(15)).describe() == (
        "broken, 50.00 of 100.00 paid"
    )
    status = promise_status(promise, pays, POLICY, day(15))
    assert status.describe() == "kept, 100.00 of 100.00 paid"
    assert [(a.payment, a.installment_index, a.amount) for a in status.allocations] == [
        ("PAY-1", 0, pen("50")),
        ("PAY-2", 1, pen("50")),
    ]
    assert [c.covered_on for c in status.installments] == [day(4), day(12)]
    assert status.due == pen(0)


def test_C5_a_partly_paid_promise_reads_broken_40_of_100_paid() -> None:
    promise = make_promise(("100.00", day(5)))
    status = promise_status(promise, [pay("PAY-1", "40.00", day(3))], POLICY, day(8))
    assert status.status is BROKEN
    assert status.describe() == "broken, 40.00 of 100.00 paid"
    assert (status.paid, status.total, status.due) == (pen("40"), pen("100"), pen("60"))
    assert not status.installments[0].covered


def test_C5_a_bounced_payment_turns_kept_into_broken() -> None:
    promise = make_promise(("100.00", day(5)))
    made = pay("PAY-1", "100.00", day(4))
    assert promise_status(promise, [made], POLICY, day(10)).status is KEPT
    bounced = attrs.evolve(made, status=PaymentStatus.REVERSED)
    status = promise_status(promise, [bounced], POLICY, day(10))
    assert status.describe() == "broken, 0.00 of 100.00 paid"
    assert status.allocations == ()


def test_C5_grace_days_at_the_boundary() -> None:
    promise = make_promise(("100.00", day(5)))  # grace 2: deadline day(7)
    assert promise_status(promise, [], POLICY, day(7)).status is PENDING
    assert promise_status(promise, [], POLICY, day(8)).status is BROKEN
    on_deadline = [pay("PAY-1", "100.00", day(7))]
    assert promise_status(promise, on_deadline, POLICY, day(8)).status is KEPT
    one_day_late = [pay("PAY-1", "100.00", day(8))]
    assert promise_status(promise, one_day_late, POLICY, day(8)).status is BROKEN


def test_C5_tolerance_covers_a_small_shortfall() -> None:
    policy = CollectionsPolicy(tolerance=Decimal("0.50"))
    promise = make_promise(("100.00", day(5)), ("100.00", day(10)))
    short = [pay("PAY-1", "99.50", day(5)), pay("PAY-2", "100.00", day(10))]
    status = promise_status(promise, short, policy, day(20))
    assert status.status is KEPT
    assert status.paid == pen("199.50") and status.due == pen("0.50")
    # A covered installment takes no more money: PAY-2 goes to the second one.
    assert [(a.payment, a.installment_index) for a in status.allocations] == [
        ("PAY-1", 0),
        ("PAY-2", 1),
    ]
    too_short = [pay("PAY-1", "99.49", day(5))]
    assert promise_status(promise, too_short, policy, day(6)).status is BROKEN


def test_C5_a_large_payment_spills_over_to_the_next_installment() -> None:
    promise = make_promise(("60.00", day(5)), ("60.00", day(10)))
    status = promise_status(promise, [pay("PAY-1", "150.00", day(2))], POLICY, day(3))
    assert status.status is KEPT
    assert [(a.installment_index, a.amount) for a in status.allocations] == [
        (0, pen("60")),
        (1, pen("60")),
    ]
    assert sum(a.amount for a in status.allocations) == pen("120")


def test_C5_clp_promise_has_no_decimals() -> None:
    product = Product("P-1", "cobranzas", "c", "card", money("150000", "CLP"), day(-10))
    promise = make_promise(("1500.4", day(5)), currency="CLP")
    check_new_promise(promise, product, [], [], POLICY, START)
    status = promise_status(promise, [pay("A", "1500", day(5), currency="CLP")], POLICY, day(9))
    assert status.describe() == "kept, 1500 of 1500 paid"


def test_C5_each_payment_is_used_at_most_once_across_promises() -> None:
    older = make_promise(("100.00", day(5)), id="PR-A")
    newer = make_promise(("100.00", day(6)), id="PR-B", made_on=day(1))
    one_payment = [pay("PAY-1", "150.00", day(2))]
    statuses = promise_statuses([newer, older], one_payment, POLICY, day(10))
    assert statuses["PR-A"].describe() == "kept, 100.00 of 100.00 paid"
    assert statuses["PR-B"].describe() == "broken, 50.00 of 100.00 paid"
    used = sum(a.amount for s in statuses.values() for a in s.allocations)
    assert used == pen("150")


def test_C5_a_late_payment_goes_to_the_replacement_promise_not_the_broken_one() -> None:
    broken = make_promise(("100.00", day(5)), id="PR-A")
    replacement = make_promise(("100.00", day(12)), id="PR-B", made_on=day(8))
    late = [pay("PAY-1", "100.00", day(10))]
    statuses = promise_statuses([broken, replacement], late, POLICY, day(15))
    assert statuses["PR-A"].describe() == "broken, 0.00 of 100.00 paid"
    assert statuses["PR-B"].describe() == "kept, 100.00 of 100.00 paid"


def test_C5_a_cancelled_promise_takes_no_payment() -> None:
    promise = cancelled_promise(make_promise(("100.00", day(5))), agent="sup1", on=day(3))
    payments = [pay("PAY-1", "100.00", day(2))]
    before = promise_status(promise, payments, POLICY, day(2))
    assert before.status is KEPT  # evaluated normally before the cancellation day
    after = promise_status(promise, payments, POLICY, day(3))
    assert after.status is CANCELLED
    assert after.describe() == "cancelled, 0.00 of 100.00 paid"
    assert after.allocations == () and after.due == pen(0)


def test_C5_contract_sample_promise_is_pending_then_kept() -> None:
    policy = CollectionsPolicy(grace_days=1, horizon_days=30, timezone="America/Lima")
    product = Product(
        "L-100", "cobranzas", "41223344", "loan", pen("1200.00"), dt.date(2026, 10, 10)
    )
    promise = Promise(
        id="PP-1",
        product="L-100",
        campaign="cobranzas",
        agent="rosa",
        made_on=dt.date(2026, 11, 2),
        ticket=1,
        customer="962444555",
        installments=(Installment(pen("300.00"), dt.date(2026, 11, 6)),),
    )
    check_new_promise(promise, product, [], [], policy, dt.date(2026, 11, 2))
    payment = Payment("PG-1", "L-100", pen("300.00"), dt.date(2026, 11, 7), PaymentStatus.MADE)
    assert promise_status(promise, [payment], policy, dt.date(2026, 11, 6)).status is PENDING
    assert promise_status(promise, [payment], policy, dt.date(2026, 11, 8)).status is KEPT


def test_C5_product_summary_shows_the_products_tab() -> None:
    product = make_product("1000.00", due=dt.date(2026, 10, 1))
    payments = [pay("A", "100", day(2)), pay("B", "50", day(3), "reversed")]
    old = make_promise(("100.00", day(4)), id="PR-0")
    new = make_promise(("100.00", day(20)), id="PR-1", made_on=day(5))
    summary = product_summary(product, payments, [old, new], POLICY, day(10))
    assert summary.balance == pen("900") and summary.credit == pen(0)
    assert summary.days_past_due == 41  # 2026-10-01 to 2026-11-11
    assert summary.bucket is not None and summary.bucket.label == "31-60"
    assert [p.id for p in summary.payments] == ["B", "A"]
    assert [(p.id, s.status) for p, s in summary.promises] == [("PR-1", PENDING), ("PR-0", KEPT)]


# -- C1, C5, C6 properties ---------------------------------------------------------------------

CURRENCIES = ["PEN", "CLP", "KWD"]


@st.composite
def scenarios(draw: st.DrawFn, promises: int = 1) -> dict[str, Any]:
    """A product's promises, a pool of payments and a policy, in one currency."""
    currency = draw(st.sampled_from(CURRENCIES))
    digits = MINOR_UNITS[currency]

    def amount(high: int) -> Money:
        return money(Decimal(draw(st.integers(1, high))).scaleb(-digits), currency)

    made: list[Promise] = []
    for n in range(promises):
        made_on = day(draw(st.integers(0, 10)))
        count = draw(st.integers(1, 3))
        offsets = draw(st.lists(st.integers(0, 30), min_size=count, max_size=count))
        made.append(
            Promise(
                id=f"PR-{n}",
                product="P-1",
                campaign="cobranzas",
                agent="ana",
                made_on=made_on,
                ticket=1,
                installments=tuple(
                    Installment(
                        amount(draw(st.sampled_from([100, 20_000]))), made_on + dt.timedelta(days=o)
                    )
                    for o in offsets
                ),
            )
        )
    payments = [
        Payment(
            f"PAY-{n}",
            "P-1",
            amount(30_000),
            day(draw(st.integers(-3, 35))),
            draw(st.sampled_from([*PaymentStatus, PaymentStatus.MADE, PaymentStatus.MADE])),
        )
        for n in range(draw(st.integers(0, 8)))
    ]
    tolerance = Decimal(draw(st.sampled_from([0, 0, 1, 50]))).scaleb(-digits)
    policy = CollectionsPolicy(grace_days=draw(st.integers(0, 3)), tolerance=tolerance)
    return {
        "promises": made,
        "payments": payments,
        "policy": policy,
        "as_of": day(draw(st.integers(-2, 50))),
    }


def all_money(status: PromiseStatus) -> list[Money]:
    found = [status.paid, status.total, status.due]
    found += [c.paid for c in status.installments]
    found += [a.amount for a in status.allocations]
    return found


@settings(max_examples=200, deadline=None)
@given(scenarios(promises=3))
def test_C1_money_is_conserved(case: dict[str, Any]) -> None:
    statuses = promise_statuses(case["promises"], case["payments"], case["policy"], case["as_of"])
    by_id = {p.id: p for p in case["payments"]}
    used: dict[str, Money] = {}
    for promise in case["promises"]:
        status = statuses[promise.id]
        assert Money.zero(promise.currency) <= status.paid <= status.total == promise.total
        assert status.paid == sum(a.amount for a in status.allocations) or not status.allocations
        for coverage in status.installments:
            assert coverage.paid <= coverage.installment.amount
        for allocation in status.allocations:
            payment = by_id[allocation.payment]  # traceable to one payment
            assert allocation.promise == promise.id
            assert allocation.amount.amount > 0
            assert payment.status is PaymentStatus.MADE
            assert promise.made_on <= payment.date <= case["as_of"]
            used[payment.id] = used.get(payment.id, Money.zero(promise.currency)) + (
                allocation.amount
            )
        for value in all_money(status):
            assert value.amount.as_tuple().exponent == -MINOR_UNITS[value.currency]
    for payment_id, total in used.items():
        assert total <= by_id[payment_id].amount


@settings(max_examples=150, deadline=None)
@given(scenarios(promises=2), st.randoms(use_true_random=False))
def test_C6_status_does_not_depend_on_the_order_of_payments(case: dict[str, Any], rnd: Any) -> None:
    first = promise_statuses(case["promises"], case["payments"], case["policy"], case["as_of"])
    payments, promises = list(case["payments"]), list(case["promises"])
    rnd.shuffle(payments)
    rnd.shuffle(promises)
    assert promise_statuses(promises, payments, case["policy"], case["as_of"]) == first
    backwards = case["promises"][::-1], case["payments"][::-1]
    assert promise_statuses(*backwards, case["policy"], case["as_of"]) == first
    for promise in case["promises"]:
        alone = promise_status(promise, case["payments"], case["policy"], case["as_of"])
        assert promise_status(promise, payments, case["policy"], case["as_of"]) == alone


def test_C6_same_day_payments_are_applied_in_id_order_whatever_the_input_order() -> None:
    promise = make_promise(("30.00", day(5)), ("70.00", day(9)))
    same_day = [pay("PAY-B", "70.00", day(3)), pay("PAY-A", "30.00", day(3))]
    forward = promise_status(promise, same_day, POLICY, day(4))
    assert promise_status(promise, same_day[::-1], POLICY, day(4)) == forward
    assert [(a.payment, a.installment_index) for a in forward.allocations] == [
        ("PAY-A", 0),
        ("PAY-B", 1),
    ]


@settings(max_examples=100, deadline=None)
@given(scenarios(promises=2))
def test_C6_evaluating_twice_gives_the_same_result(case: dict[str, Any]) -> None:
    args = (case["promises"], case["payments"], case["policy"], case["as_of"])
    assert promise_statuses(*args) == promise_statuses(*args)


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.integers(0, 20), st.integers(0, 60))
def test_C6_a_cancelled_promise_never_changes(
    case: dict[str, Any], cancel_after: int, later: int
) -> None:
    promise = case["promises"][0]
    on = promise.made_on + dt.timedelta(days=cancel_after)
    cancelled = cancelled_promise(promise, agent="sup1", on=on)
    reference = promise_status(cancelled, [], case["policy"], on)
    as_of = on + dt.timedelta(days=later)
    status = promise_status(cancelled, case["payments"], case["policy"], as_of)
    assert status == reference
    assert status.status is CANCELLED


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_C6_never_broken_while_within_the_grace_days(case: dict[str, Any]) -> None:
    promise, policy = case["promises"][0], case["policy"]
    first_deadline = promise.installments[0].date + dt.timedelta(days=policy.grace_days)
    status = promise_status(promise, case["payments"], policy, case["as_of"])
    if case["as_of"] <= first_deadline:
        assert status.status is not BROKEN
    if status.status is BROKEN:
        assert any(
            not c.covered
            and c.installment.date + dt.timedelta(days=policy.grace_days) < case["as_of"]
            for c in status.installments
        )
    if status.status is KEPT:
        for coverage in status.installments:
            deadline = coverage.installment.date + dt.timedelta(days=policy.grace_days)
            assert coverage.covered and coverage.covered_on is not None
            assert coverage.covered_on <= deadline


@settings(max_examples=150, deadline=None)
@given(scenarios(promises=2), st.integers(1, 60))
def test_C6_kept_stays_kept_as_the_as_of_date_moves_forward(
    case: dict[str, Any], later: int
) -> None:
    args = (case["promises"], case["payments"], case["policy"])
    now = promise_statuses(*args, case["as_of"])
    then = promise_statuses(*args, case["as_of"] + dt.timedelta(days=later))
    for promise_id, status in now.items():
        if status.status is KEPT:
            assert then[promise_id].status is KEPT


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.data())
def test_C5_payments_outside_the_window_or_not_made_are_ignored(
    case: dict[str, Any], data: st.DataObject
) -> None:
    promise, policy, as_of = case["promises"][0], case["policy"], case["as_of"]
    assume(as_of >= promise.made_on)
    base = promise_status(promise, case["payments"], policy, as_of)
    currency = promise.currency
    noise = []
    for n in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["before", "after", "reversed", "scheduled"]))
        if kind == "before":
            when = promise.made_on - dt.timedelta(days=data.draw(st.integers(1, 30)))
        elif kind == "after":
            when = as_of + dt.timedelta(days=data.draw(st.integers(1, 30)))
        else:
            when = day(data.draw(st.integers(-5, 60)))
        status = kind if kind in ("reversed", "scheduled") else "made"
        noise.append(Payment(f"NOISE-{n}", "P-1", money(999, currency), when, status))
    assert promise_status(promise, case["payments"] + noise, policy, as_of) == base


# -- E1 junk in, only ccdomain errors out ------------------------------------------------------

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.just("x" * 10_000),
    st.just("😀💸"),
    st.just("\x00\x1b"),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.datetimes(),
    st.lists(st.integers(), max_size=3),
    st.builds(object),
)


@settings(max_examples=300, deadline=None)
@given(JUNK, JUNK, JUNK)
def test_E1_collections_junk_raises_only_ccdomain_errors(a: Any, b: Any, c: Any) -> None:
    product = make_product()
    promise = make_promise(("10", day(1)))
    calls: list[Callable[[], object]] = [
        lambda: money(a, b),
        lambda: Money(a, "PEN"),
        lambda: Money.zero(a),
        lambda: Payment(a, "P-1", pen(1), START, "made"),
        lambda: Payment("A", "P-1", pen(1), b, c),
        lambda: Product("P", "c", "k", "loan", a, START),
        lambda: Promise(id="X", product="P", campaign="c", agent="a", made_on=a, installments=b),
        lambda: Installment(a, b),
        lambda: AgingBucket(a, b, c),
        lambda: CollectionsPolicy(grace_days=a, tolerance=b, timezone=c),
        lambda: CollectionsPolicy(horizon_days=a, buckets=b),
        lambda: local_date(a, b),
        lambda: aging_bucket(a, POLICY),
        lambda: outstanding_balance(product, a, on=b),
        lambda: days_past_due(product, [], a),
        lambda: promise_status(promise, a, POLICY, b),
        lambda: promise_statuses(a, [], POLICY, START),
        lambda: check_new_promise(promise, product, a, b, POLICY, c),
        lambda: cancelled_promise(promise, agent=a, on=b),
        lambda: product_summary(product, a, b, POLICY, c),
        lambda: pen(1) + a,
        lambda: pen(1) < a,
    ]
    for call in calls:
        try:
            call()
        except CcdomainError as exc:
            assert exc.message


def test_C5_promise_statuses_pauses_the_collector_and_restores_its_state() -> None:
    import gc

    seen: list[bool] = []

    class Watching(list[Payment]):
        def __iter__(self) -> Any:
            seen.append(gc.isenabled())
            return super().__iter__()

    promise = make_promise(("100.00", day(5)), id="PR-A")
    payments = Watching([pay("PAY-1", "100.00", day(2))])
    was_enabled = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            statuses = promise_statuses([promise], payments, POLICY, day(10))
            assert statuses["PR-A"].describe() == "kept, 100.00 of 100.00 paid"
            assert gc.isenabled() is enabled
            with pytest.raises(RuleViolation):
                promise_statuses([promise, promise], payments, POLICY, day(10))
            assert gc.isenabled() is enabled
    finally:
        (gc.enable if was_enabled else gc.disable)()
    assert seen == [False, False]


def test_C1_C5_module_doctests() -> None:
    import doctest

    from ccdomain.models import collections as records
    from ccdomain.rules import balances, promises

    for module in (records, balances, promises):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
