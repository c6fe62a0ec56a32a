"""Collections services over a store: products, payments, promises (C1-C5, C22, C23, E1, E2)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccdomain.collections import (
    Installment,
    Payment,
    Product,
    Promise,
    PromiseStatusKind,
    cancel_promise,
    contact_products,
    declare_product,
    money,
    policy_for,
    promise_statuses,
    record_payment,
    register_promise,
    reverse_payment,
    withdraw_promise,
)
from ccdomain.contacts import create_contact, declare_campaign, make_campaign
from ccdomain.errors import (
    CcdomainError,
    CurrencyMismatch,
    InvalidMoney,
    InvalidPromise,
    RuleViolation,
    UnknownCampaign,
    UnknownContact,
    UnknownPayment,
    UnknownProduct,
    UnknownPromise,
    UnknownTicket,
)
from ccdomain.memory import MemoryStore
from ccdomain.models import Channel, Direction
from ccdomain.ports import Store
from ccdomain.tickets import route_interaction

LIMA = dt.timezone(dt.timedelta(hours=-5))
AT = dt.datetime(2026, 11, 2, 10, 0, tzinfo=LIMA)


def _store() -> Store:
    store = MemoryStore()
    declare_campaign(
        store,
        campaign=make_campaign(
            "cobranzas", kind="collections", region="PE", grace_days=1, tolerance="0.50"
        ),
        at=AT,
    )
    declare_campaign(store, campaign=make_campaign("ventas", kind="sales", region="PE"), at=AT)
    create_contact(
        store,
        campaign="cobranzas",
        first_names="Jorge",
        last_names="Chávez",
        document={"type": "DNI", "number": "41223344"},
        channels=[{"kind": "phone", "value": "962 444 555"}],
        at=AT,
    )
    return store


def _product(**changes: Any) -> Product:
    fields: dict[str, Any] = {
        "id": "L-100",
        "campaign": "cobranzas",
        "contact": "41223344",
        "kind": "loan",
        "debt": money("1200.00", "PEN"),
        "due": dt.date(2026, 10, 10),
    }
    fields.update(changes)
    return Product(**fields)


def _ticket(store: Store) -> int:
    result = route_interaction(
        store,
        at=AT,
        channel=Channel.CALL,
        direction=Direction.OUTBOUND,
        campaign="cobranzas",
        customer="962444555",
        agent="rosa",
        status="answered",
    )
    return result.ticket.number


def _promise(ticket: int | None, **changes: Any) -> Promise:
    fields: dict[str, Any] = {
        "id": "PP-1",
        "product": "L-100",
        "campaign": "cobranzas",
        "agent": "rosa",
        "made_on": dt.date(2026, 11, 2),
        "ticket": ticket,
        "installments": (Installment(money("300.00", "PEN"), dt.date(2026, 11, 6)),),
    }
    fields.update(changes)
    return Promise(**fields)


def _snapshot(store: Store) -> tuple[Any, ...]:
    with store.unit_of_work() as uow:
        return (
            list(uow.list_products()),
            [uow.payments_for_product(p.id) for p in uow.list_products()],
            list(uow.list_promises()),
            list(uow.events()),
        )


def test_C5_promise_registered_then_kept_by_a_payment_after_its_date_within_grace() -> None:
    store = _store()
    declare_product(store, product=_product(), at=AT)
    ticket = _ticket(store)
    register_promise(store, promise=_promise(ticket), at=AT)
    record_payment(
        store, payment=Payment("PG-1", "L-100", money("300.00", "PEN"), dt.date(2026, 11, 7)), at=AT
    )
    with store.unit_of_work() as uow:
        campaign = uow.get_campaign("cobranzas")
        assert campaign is not None
        promises = uow.promises_for_product("L-100")
        payments = uow.payments_for_product("L-100")
    policy = policy_for(campaign)
    assert policy.grace_days == 1 and policy.tolerance == Decimal("0.50")
    on_6 = promise_statuses(promises, payments, policy, dt.date(2026, 11, 6))["PP-1"]
    on_8 = promise_statuses(promises, payments, policy, dt.date(2026, 11, 8))["PP-1"]
    assert on_6.status is PromiseStatusKind.PENDING
    assert on_8.status is PromiseStatusKind.KEPT


def test_C5_reversed_payment_turns_the_kept_promise_broken() -> None:
    store = _store()
    declare_product(store, product=_product(), at=AT)
    register_promise(store, promise=_promise(_ticket(store)), at=AT)
    record_payment(
        store, payment=Payment("PG-1", "L-100", money("300.00", "PEN"), dt.date(2026, 11, 5)), at=AT
    )
    reverse_payment(store, payment="PG-1", agent="banco", at=AT + dt.timedelta(days=5))
    [summary] = contact_products(
        store, campaign="cobranzas", code="41223344", as_of=dt.date(2026, 11, 10)
    )
    assert summary.balance == money("1200.00", "PEN")
    [(_, status)] = summary.promises
    assert status.status is PromiseStatusKind.BROKEN
    with pytest.raises(RuleViolation, match="PG-1"):
        reverse_payment(store, payment="PG-1", at=AT)


def test_C4_service_refuses_a_second_pending_promise_and_changes_nothing() -> None:
    store = _store()
    declare_product(store, product=_product(), at=AT)
    ticket = _ticket(store)
    register_promise(store, promise=_promise(ticket), at=AT)
    before = _snapshot(store)
    with pytest.raises(InvalidPromise, match="PP-1"):
        register_promise(store, promise=_promise(ticket, id="PP-2"), at=AT)
    assert _snapshot(store) == before


def test_C4_cancelled_promise_lets_a_new_one_be_made() -> None:
    store = _store()
    declare_product(store, product=_product(), at=AT)
    ticket = _ticket(store)
    register_promise(store, promise=_promise(ticket), at=AT)
    cancelled = cancel_promise(store, promise="PP-1", agent="rosa", at=AT)
    assert cancelled.cancelled_on == dt.date(2026, 11, 2)
    register_promise(store, promise=_promise(ticket, id="PP-2"), at=AT)
    with pytest.raises(RuleViolation, match="already cancelled"):
        cancel_promise(store, promise="PP-1", agent="rosa", at=AT)
    with pytest.raises(UnknownPromise, match="PP-9"):
        cancel_promise(store, promise="PP-9", agent="rosa", at=AT)


def test_C4_promise_total_above_the_balance_and_past_the_horizon_refused() -> None:
    store = _store()
    declare_product(store, product=_product(), at=AT)
    ticket = _ticket(store)
    before = _snapshot(store)
    too_much = (Installment(money("1200.01", "PEN"), dt.date(2026, 11, 6)),)
    with pytest.raises(InvalidPromise, match=r"1200\.01"):
        register_promise(store, promise=_promise(ticket, installments=too_much), at=AT)
    too_late = (Installment(money("10", "PEN"), dt.date(2026, 12, 3)),)
    with pytest.raises(InvalidPromise, match="horizon"):
        register_promise(store, promise=_promise(ticket, installments=too_late), at=AT)
    with pytest.raises(UnknownTicket, match="999"):
        register_promise(store, promise=_promise(999), at=AT)
    assert _snapshot(store) == before


def test_C23_products_belong_to_collections_campaigns_only() -> None:
    store = _store()
    with pytest.raises(RuleViolation, match="'ventas'"):
        declare_product(store, product=_product(campaign="ventas"), at=AT)
    with pytest.raises(UnknownCampaign, match="nope"):
        declare_product(store, product=_product(campaign="nope"), at=AT)
    with pytest.raises(UnknownContact, match="99999999"):
        declare_product(store, product=_product(contact="99999999"), at=AT)


def test_C1_payment_in_another_currency_refused_and_ids_are_idempotent() -> None:
    store = _store()
    declare_product(store, product=_product(), at=AT)
    declare_product(store, product=_product(), at=AT)  # identical re-declaration: no-op
    with pytest.raises(RuleViolation, match="L-100"):
        declare_product(store, product=_product(debt=money("1.00", "PEN")), at=AT)
    with pytest.raises(CurrencyMismatch, match="USD"):
        record_payment(
            store, payment=Payment("PG-1", "L-100", money("1", "USD"), dt.date(2026, 11, 2)), at=AT
        )
    payment = Payment("PG-1", "L-100", money("10", "PEN"), dt.date(2026, 11, 2))
    record_payment(store, payment=payment, at=AT)
    before = _snapshot(store)
    record_payment(store, payment=payment, at=AT)
    assert _snapshot(store) == before
    with pytest.raises(UnknownProduct, match="L-404"):
        record_payment(
            store, payment=Payment("PG-2", "L-404", money("1", "PEN"), dt.date(2026, 11, 2)), at=AT
        )
    with pytest.raises(UnknownPayment, match="PG-404"):
        reverse_payment(store, payment="PG-404", at=AT)


_junk = st.one_of(st.none(), st.integers(), st.text(max_size=20), st.floats(), st.binary())


@settings(max_examples=60, deadline=None)
@given(product=_junk, payment=_junk, promise=_junk, at=_junk)
def test_E1_E2_collections_services_take_junk_and_change_nothing(
    product: Any, payment: Any, promise: Any, at: Any
) -> None:
    store = _store()
    before = _snapshot(store)
    for call in (
        lambda: declare_product(store, product=product, at=at),
        lambda: record_payment(store, payment=payment, at=at),
        lambda: reverse_payment(store, payment=payment, at=at),
        lambda: register_promise(store, promise=promise, at=at),
        lambda: cancel_promise(store, promise=promise, agent=product, at=at),
    ):
        with pytest.raises(CcdomainError):
            call()
    assert _snapshot(store) == before


def test_C22_promise_naming_only_its_customer_takes_their_ticket_or_none() -> None:
    store = _store()
    declare_product(store, product=_product(), at=AT)
    lone = register_promise(store, promise=_promise(None, customer="+51962444555"), at=AT)
    assert lone.ticket is None
    cancel_promise(store, promise="PP-1", agent="rosa", at=AT)
    ticket = _ticket(store)
    made = register_promise(
        store, promise=_promise(None, id="PP-2", customer="+51962444555"), at=AT
    )
    assert made.ticket == ticket
    with store.unit_of_work() as uow:
        assert uow.get_promise("PP-2") == made


def test_C4_services_take_plain_mappings_as_an_event_line_has_them() -> None:
    store = _store()
    product = declare_product(
        store,
        product={
            "id": "L-100",
            "campaign": "cobranzas",
            "contact": "41223344",
            "kind": "loan",
            "currency": "pen",
            "debt": "1200.00",
            "due": "2026-10-10",
        },
        at=AT,
    )
    assert product == _product()
    payment = record_payment(
        store,
        payment={"id": "PG-1", "product": "L-100", "amount": "300.00", "date": "2026-11-05"},
        at=AT,
    )
    assert payment == Payment("PG-1", "L-100", money("300.00", "PEN"), dt.date(2026, 11, 5))
    # The campaign and the currency of plain amounts are the product's.
    promise = register_promise(
        store,
        promise={
            "id": "PP-1",
            "product": "L-100",
            "agent": "rosa",
            "made_on": "2026-11-02",
            "installments": [{"amount": "300.00", "date": "2026-11-06"}],
        },
        at=AT,
    )
    assert promise == _promise(None)
    with store.unit_of_work() as uow:
        assert uow.get_promise("PP-1") == promise


def test_C4_a_promise_record_without_campaign_is_stored_with_its_products() -> None:
    store = _store()
    declare_product(store, product=_product(), at=AT)
    made = register_promise(store, promise=_promise(None, campaign=None), at=AT)
    assert made.campaign == "cobranzas"
    with store.unit_of_work() as uow:
        assert uow.get_promise("PP-1") == made


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda s: declare_product(s, product={**_fields(_product()), "price": "1"}, at=AT),
            RuleViolation,
            "unknown field 'price'",
        ),
        (
            lambda s: declare_product(s, product={"id": "L-1", "currency": "PEN"}, at=AT),
            RuleViolation,
            "has no 'campaign'",
        ),
        (
            lambda s: declare_product(s, product={**_fields(_product()), "currency": "USD"}, at=AT),
            CurrencyMismatch,
            "'USD'",
        ),
        (
            lambda s: record_payment(
                s, payment={"id": "PG-1", "product": "L-404", "amount": "1"}, at=AT
            ),
            UnknownProduct,
            "L-404",
        ),
        (
            lambda s: record_payment(
                s, payment={"id": "PG-1", "product": "L-100", "amount": "0"}, at=AT
            ),
            InvalidMoney,
            "must be positive",
        ),
        (
            lambda s: register_promise(
                s, promise={"id": "PP-1", "product": "L-100", "agent": "rosa"}, at=AT
            ),
            InvalidPromise,
            "has no 'made_on'",
        ),
        (
            lambda s: register_promise(s, promise=["PP-1"], at=AT),
            RuleViolation,
            r"\['PP-1'\] is not a Promise or a mapping of its fields",
        ),
    ],
)
def test_E1_E2_bad_mappings_are_refused_naming_the_field_and_change_nothing(
    call: Any, error: type[Exception], message: str
) -> None:
    store = _store()
    declare_product(store, product=_product(), at=AT)
    before = _snapshot(store)
    with pytest.raises(error, match=message):
        call(store)
    assert _snapshot(store) == before


def _fields(product: Product) -> dict[str, Any]:
    return {f.name: getattr(product, f.name) for f in attrs.fields(Product)}


# -- the old names and call shapes still work, with a warning (removed in 1.0) -----------------


def _with_a_promise(store: Store) -> None:
    declare_product(store, product=_product(), at=AT)
    register_promise(store, promise=_promise(None), at=AT)
    record_payment(
        store, payment=Payment("PG-1", "L-100", money("10", "PEN"), dt.date(2026, 11, 2)), at=AT
    )


OLD_CALLS: dict[str, Any] = {
    "declare_product(store, product, actor=)": lambda s: (
        declare_product(s, _product(id="L-2"), at=AT, actor="ana").id
    ),
    "record_payment(store, payment)": lambda s: (
        record_payment(
            s, Payment("PG-2", "L-100", money("1", "PEN"), dt.date(2026, 11, 2)), at=AT
        ).id
    ),
    "reverse_payment(store, payment_id, actor=)": lambda s: (
        reverse_payment(s, "PG-1", at=AT, actor="banco").status.value
    ),
    "register_promise(store, promise)": lambda s: (
        register_promise(s, _promise(None, id="PP-2", product="L-2"), at=AT).id
    ),
    "withdraw_promise(store, promise_id)": lambda s: (
        withdraw_promise(s, "PP-1", agent="rosa", at=AT).cancelled_by
    ),
    "cancel_promise(promise, agent, on)": lambda s: (
        cancel_promise(_promise(None), "rosa", dt.date(2026, 11, 3)).cancelled_on
    ),
    "cancel_promise(promise=, agent=, on=)": lambda s: (
        cancel_promise(promise=_promise(None), agent="rosa", on=dt.date(2026, 11, 3)).cancelled_on
    ),
    "contact_products(store, campaign, code, on)": lambda s: len(
        contact_products(s, "cobranzas", "41223344", dt.date(2026, 11, 10))
    ),
}
OLD_RESULTS = {
    "declare_product(store, product, actor=)": "L-2",
    "record_payment(store, payment)": "PG-2",
    "reverse_payment(store, payment_id, actor=)": "reversed",
    "register_promise(store, promise)": "PP-2",
    "withdraw_promise(store, promise_id)": "rosa",
    "cancel_promise(promise, agent, on)": dt.date(2026, 11, 3),
    "cancel_promise(promise=, agent=, on=)": dt.date(2026, 11, 3),
    "contact_products(store, campaign, code, on)": 1,
}


@pytest.mark.parametrize("shape", sorted(OLD_CALLS))
def test_old_collections_names_and_shapes_warn_and_still_work(shape: str) -> None:
    store = _store()
    _with_a_promise(store)
    if shape.startswith("register_promise"):
        declare_product(store, product=_product(id="L-2"), at=AT)
    with pytest.warns(DeprecationWarning, match="deprecated"):
        result = OLD_CALLS[shape](store)
    assert result == OLD_RESULTS[shape]


_KEYS = st.sampled_from(
    sorted(
        {f.name for cls in (Product, Payment, Promise) for f in attrs.fields(cls)} | {"currency"}
    )
)
_VALUES = st.one_of(
    _junk,
    st.just("L-100"),
    st.just("2026-11-05"),
    st.just("10 PEN"),
    st.lists(st.dictionaries(st.sampled_from(["amount", "date", "due", "x"]), _junk), max_size=2),
)


@settings(max_examples=80, deadline=None)
@given(record=st.dictionaries(_KEYS, _VALUES, max_size=8), service=st.integers(0, 2))
def test_E1_E2_junk_mappings_raise_only_ccdomain_errors_and_change_nothing(
    record: dict[Any, Any], service: int
) -> None:
    store = _store()
    declare_product(store, product=_product(), at=AT)
    before = _snapshot(store)
    call = (declare_product, record_payment, register_promise)[service]
    name = ("product", "payment", "promise")[service]
    try:
        call(store, **{name: record}, at=AT)
    except CcdomainError as exc:
        assert exc.message
        assert _snapshot(store) == before
