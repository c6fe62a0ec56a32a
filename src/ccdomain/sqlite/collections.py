"""The SQLite store's collections repository: products, payments, promises (C1-C5).

C1: money stays exact, a decimal string inside each row's JSON (never a REAL).
Payments are listed by (date, id) and promises by (made_on, id) from indexes.
"""

from __future__ import annotations

from collections.abc import Sequence

from ccdomain.models import Payment, Product, Promise
from ccdomain.serialization import to_json
from ccdomain.sqlite.connection import _guarded, _UnitOfWorkBase


class SqliteCollectionsRepository(_UnitOfWorkBase):
    """Products, payments and promises (a part of
    :class:`~ccdomain.sqlite.SqliteUnitOfWork`, not used alone)."""

    @_guarded
    def put_product(self, product: Product) -> None:
        """Insert or replace a product by id."""
        self._forget(("products", product.id))
        self._wdb().execute(
            "INSERT INTO products (id, campaign, contact, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET campaign = excluded.campaign, "
            "contact = excluded.contact, data = excluded.data",
            (product.id, product.campaign, product.contact, to_json(product)),
        )

    @_guarded
    def get_product(self, product_id: str) -> Product | None:
        """The product with that id, or None."""
        return self._get("products", product_id, Product)

    @_guarded
    def list_products(self, campaign: str | None = None) -> Sequence[Product]:
        """Products of a campaign (or all), by id."""
        if campaign is None:
            return self._all("SELECT data FROM products ORDER BY id", (), Product)
        return self._all(
            "SELECT data FROM products WHERE campaign = ? ORDER BY id", (campaign,), Product
        )

    @_guarded
    def products_for_contact(self, campaign: str, code: str) -> Sequence[Product]:
        """Products of a contact, by id."""
        return self._all(
            "SELECT data FROM products WHERE campaign = ? AND contact = ? ORDER BY id",
            (campaign, code),
            Product,
        )

    @_guarded
    def put_payment(self, payment: Payment) -> None:
        """Insert or replace a payment by id."""
        self._forget(("payments", payment.id))
        self._wdb().execute(
            "INSERT INTO payments (id, product, date, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET product = excluded.product, "
            "date = excluded.date, data = excluded.data",
            (payment.id, payment.product, payment.date.isoformat(), to_json(payment)),
        )

    @_guarded
    def get_payment(self, payment_id: str) -> Payment | None:
        """The payment with that id, or None."""
        return self._get("payments", payment_id, Payment)

    @_guarded
    def payments_for_product(self, product_id: str) -> Sequence[Payment]:
        """Payments of a product, by (date, id)."""
        return self._all(
            "SELECT data FROM payments WHERE product = ? ORDER BY date, id", (product_id,), Payment
        )

    @_guarded
    def put_promise(self, promise: Promise) -> None:
        """Insert or replace a promise by id."""
        self._forget(("promises", promise.id))
        self._wdb().execute(
            "INSERT INTO promises (id, product, made_on, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET product = excluded.product, "
            "made_on = excluded.made_on, data = excluded.data",
            (promise.id, promise.product, promise.made_on.isoformat(), to_json(promise)),
        )

    @_guarded
    def get_promise(self, promise_id: str) -> Promise | None:
        """The promise with that id, or None."""
        return self._get("promises", promise_id, Promise)

    @_guarded
    def promises_for_product(self, product_id: str) -> Sequence[Promise]:
        """Promises of a product, by (made_on, id)."""
        return self._all(
            "SELECT data FROM promises WHERE product = ? ORDER BY made_on, id",
            (product_id,),
            Promise,
        )

    @_guarded
    def list_promises(self) -> Sequence[Promise]:
        """Every promise, by id."""
        return self._all("SELECT data FROM promises ORDER BY id", (), Promise)
