"""Conformance of the collections repository: products, payments, promises (C1-C5)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
import pytest
from hypothesis import given

from ccdomain.collections import Payment, PaymentStatus, Product, Promise
from ccdomain.testing import strategies as cst
from ccdomain.testing.conformance.case import (
    StoreCase,
    _payment,
    _product,
    _promise,
    _properties,
)

__all__ = ["CollectionsRepositoryConformance"]


class CollectionsRepositoryConformance(StoreCase):
    """Products, payments and promises (C1-C5): exact money, orders, replacement."""

    def test_C1_products_put_replace_get_list_and_by_contact(self) -> None:
        with self.uow() as uow:
            uow.put_product(_product("P-2"))
            uow.put_product(_product("P-1", contact="C-2"))
            uow.put_product(attrs.evolve(_product("P-3"), campaign="otra"))
            uow.put_product(_product("P-1", contact="C-1", debt="1499.99"))  # moves to C-1
            uow.commit()
        with self.uow() as uow:
            assert uow.get_product("P-1") == _product("P-1", debt="1499.99")
            assert uow.get_product("nope") is None
            assert [p.id for p in uow.list_products()] == ["P-1", "P-2", "P-3"]
            assert [p.id for p in uow.list_products("cobranzas")] == ["P-1", "P-2"]
            assert [p.id for p in uow.products_for_contact("cobranzas", "C-1")] == ["P-1", "P-2"]
            assert uow.products_for_contact("cobranzas", "C-2") == []

    def test_C1_money_is_kept_exactly(self) -> None:
        product = _product("P-1", debt="0.10")
        payment = _payment("PAY-1", "P-1", 2, amount="0.30")
        with self.uow() as uow:
            uow.put_product(product)
            uow.put_payment(payment)
            uow.commit()
        with self.uow() as uow:
            stored_product = uow.get_product("P-1")
            stored_payment = uow.get_payment("PAY-1")
        assert stored_product is not None and stored_payment is not None
        assert stored_product.debt.amount == Decimal("0.10")
        assert str(stored_product.debt.amount) == "0.10"
        assert stored_payment.amount.amount + stored_product.debt.amount == Decimal("0.40")

    def test_C2_payments_by_date_then_id_and_replaced_by_id(self) -> None:
        with self.uow() as uow:
            uow.put_product(_product("P-1"))
            uow.put_payment(_payment("PAY-3", "P-1", 5))
            uow.put_payment(_payment("PAY-2", "P-1", 9))
            uow.put_payment(_payment("PAY-1", "P-1", 5))
            uow.put_payment(_payment("PAY-9", "P-2", 1))
            reversed_ = attrs.evolve(_payment("PAY-2", "P-1", 1), status=PaymentStatus.REVERSED)
            uow.put_payment(reversed_)
            uow.put_payment(_payment("PAY-9", "P-1", 20))  # moves to P-1
            uow.commit()
        with self.uow() as uow:
            assert uow.get_payment("PAY-2") == reversed_
            assert uow.get_payment("nope") is None
            assert [p.id for p in uow.payments_for_product("P-1")] == [
                "PAY-2",
                "PAY-1",
                "PAY-3",
                "PAY-9",
            ]
            assert uow.payments_for_product("P-2") == []

    def test_C4_promises_by_made_on_then_id_and_cancelled_by_replacement(self) -> None:
        with self.uow() as uow:
            uow.put_promise(_promise("PR-2", "P-1", 3))
            uow.put_promise(_promise("PR-1", "P-1", 3))
            uow.put_promise(_promise("PR-0", "P-1", 4))
            uow.put_promise(_promise("PR-9", "P-2", 1))
            cancelled = _promise(
                "PR-2", "P-1", 3, cancelled_on=dt.date(2026, 11, 4), cancelled_by="sup1"
            )
            uow.put_promise(cancelled)
            uow.put_promise(_promise("PR-9", "P-1", 1))  # moves to P-1
            uow.commit()
        with self.uow() as uow:
            assert uow.get_promise("PR-2") == cancelled
            assert uow.get_promise("nope") is None
            assert [p.id for p in uow.promises_for_product("P-1")] == [
                "PR-9",
                "PR-1",
                "PR-2",
                "PR-0",
            ]
            assert uow.promises_for_product("P-2") == []
            assert [p.id for p in uow.list_promises()] == ["PR-0", "PR-1", "PR-2", "PR-9"]

    def test_C1_collections_round_trip(self) -> None:
        names = ("products", "payments", "promises")
        found = [getattr(cst, name, None) for name in names]
        if any(strategy is None for strategy in found):
            pytest.skip("ccdomain.testing.strategies has no products/payments/promises yet")
        products, payments, promises = found
        assert products is not None and payments is not None and promises is not None

        @_properties
        @given(product=products(), payment=payments(), promise=promises())
        def check(product: Product, payment: Payment, promise: Promise) -> None:
            with self.uow() as uow:
                uow.put_product(product)
                uow.put_payment(payment)
                uow.put_promise(promise)
                uow.commit()
            with self.uow() as uow:
                assert uow.get_product(product.id) == product
                assert uow.get_payment(payment.id) == payment
                assert uow.get_promise(promise.id) == promise
                assert payment in uow.payments_for_product(payment.product)
                assert promise in uow.promises_for_product(promise.product)
                assert product in uow.products_for_contact(product.campaign, product.contact)

        check()
