"""The PostgreSQL store's collections repository: products, payments, promises (C1-C5).

C1: money stays exact, a decimal string inside each row's JSON (never a float).
Payments are listed by (date, id) and promises by (made_on, id) from indexes.
"""

from __future__ import annotations

from collections.abc import Sequence

from ccdomain.models import Payment, Product, Promise
from ccdomain.postgres.connection import _guarded, _UnitOfWorkBase


class PostgresCollectionsRepository(_UnitOfWorkBase):
    """Products, payments and promises (a part of
    :class:`~ccdomain.postgres.PostgresUnitOfWork`, not used alone)."""

    @_guarded
    def put_product(self, product: Product) -> None:
        """Insert or replace a product by id."""
        self._wdb().execute(
            b"INSERT INTO products (id, campaign, contact, data) VALUES (%s, %s, %s, %s) "
            b"ON CONFLICT (id) DO UPDATE SET campaign = excluded.campaign, "
            b"contact = excluded.contact, data = excluded.data",
            (product.id, product.campaign, product.contact, self._dump(product)),
        )

    @_guarded
    def get_product(self, product_id: str) -> Product | None:
        """The product with that id, or None."""
        return self._get("products", product_id, Product)

    @_guarded
    def list_products(self, campaign: str | None = None) -> Sequence[Product]:
        """Products of a campaign (or all), by id."""
        if campaign is None:
            return self._all(b"SELECT data FROM products ORDER BY id", (), Product)
        return self._all(
            b"SELECT data FROM products WHERE campaign = %s ORDER BY id", (campaign,), Product
        )

    @_guarded
    def products_for_contact(self, campaign: str, code: str) -> Sequence[Product]:
        """Products of a contact, by id."""
        return self._all(
            b"SELECT data FROM products WHERE campaign = %s AND contact = %s ORDER BY id",
            (campaign, code),
            Product,
        )

    @_guarded
    def put_payment(self, payment: Payment) -> None:
        """Insert or replace a payment by id."""
        self._wdb().execute(
            b"INSERT INTO payments (id, product, date, data) VALUES (%s, %s, %s, %s) "
            b"ON CONFLICT (id) DO UPDATE SET product = excluded.product, "
            b"date = excluded.date, data = excluded.data",
            (payment.id, payment.product, payment.date.isoformat(), self._dump(payment)),
        )

    @_guarded
    def get_payment(self, payment_id: str) -> Payment | None:
        """The payment with that id, or None."""
        return self._get("payments", payment_id, Payment)

    @_guarded
    def payments_for_product(self, product_id: str) -> Sequence[Payment]:
        """Payments of a product, by (date, id)."""
        return self._all(
            b"SELECT data FROM payments WHERE product = %s ORDER BY date, id",
            (product_id,),
            Payment,
        )

    @_guarded
    def put_promise(self, promise: Promise) -> None:
        """Insert or replace a promise by id."""
        self._wdb().execute(
            b"INSERT INTO promises (id, product, made_on, data) VALUES (%s, %s, %s, %s) "
            b"ON CONFLICT (id) DO UPDATE SET product = excluded.product, "
            b"made_on = excluded.made_on, data = excluded.data",
            (promise.id, promise.product, promise.made_on.isoformat(), self._dump(promise)),
        )

    @_guarded
    def get_promise(self, promise_id: str) -> Promise | None:
        """The promise with that id, or None."""
        return self._get("promises", promise_id, Promise)

    @_guarded
    def promises_for_product(self, product_id: str) -> Sequence[Promise]:
        """Promises of a product, by (made_on, id)."""
        return self._all(
            b"SELECT data FROM promises WHERE product = %s ORDER BY made_on, id",
            (product_id,),
            Promise,
        )

    @_guarded
    def list_promises(self) -> Sequence[Promise]:
        """Every promise, by id."""
        return self._all(b"SELECT data FROM promises ORDER BY id", (), Promise)
