"""Shared base and builders of the store conformance suite: :class:`StoreCase`.

Every conformance class subclasses :class:`StoreCase`, which gives each test a
fresh store from the host's ``make_store``. The builders make the plain records
the tests store (a contact with phones, an opener as routing would pass, an
interaction, an event, a product, payment and promise with exact money); ``AT``
and the phone numbers are the fixed values they use, so no test reads a clock.
"""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, settings

from ccdomain.collections import Installment, Payment, PaymentStatus, Product, Promise, money
from ccdomain.events import (
    Event,
    EventKind,
    Payload,
)
from ccdomain.models import (
    Channel,
    ChannelKind,
    Contact,
    ContactChannel,
    Direction,
    Interaction,
    Ticket,
)
from ccdomain.ports import Store, UnitOfWork

__all__ = ["AT", "OTHER_PHONE", "PHONE", "StoreCase"]

AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
PHONE = "+51987654321"
OTHER_PHONE = "+51912345678"

_properties = settings(
    max_examples=25,
    deadline=None,
    # One store per test (not per example) is what these properties want; the
    # same test runs from each store's subclass, hence the differing executors.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.differing_executors,
        HealthCheck.too_slow,
    ],
)


def _opener(campaign: str, customer: str, *, contact: str | None = None) -> Callable[[int], Ticket]:
    """An opener building a plain open ticket, as routing would."""

    def open_ticket(number: int) -> Ticket:
        return Ticket(
            number=number,
            campaign=campaign,
            customer=customer,
            origin=Direction.INBOUND,
            opened_at=AT,
            contact=contact,
        )

    return open_ticket


def _contact(campaign: str, code: str, *phones: str, **fields: Any) -> Contact:
    channels = tuple(ContactChannel(kind=ChannelKind.PHONE, value=p) for p in phones)
    return attrs.evolve(Contact(campaign=campaign, code=code, channels=channels), **fields)


def _event(kind: EventKind, payload: Payload, *, ticket: int | None = 1, **fields: Any) -> Event:
    """An event at ``AT`` about ticket 1 unless told otherwise."""
    return Event(kind=kind, at=AT, ticket=ticket, payload=payload, **fields)


def _interaction(ticket: int, external_id: str | None = None, text: str = "hola") -> Interaction:
    return Interaction(
        at=AT,
        channel=Channel.WHATSAPP,
        direction=Direction.INBOUND,
        customer=PHONE,
        external_id=external_id,
        text=text,
        ticket=ticket,
    )


def _codes(contacts: object) -> list[tuple[str, str]]:
    assert isinstance(contacts, list | tuple)
    return [(c.campaign, c.code) for c in contacts]


def _numbers(tickets: object) -> list[int]:
    assert isinstance(tickets, list | tuple)
    return [t.number for t in tickets]


class StoreCase:
    """Base of every conformance class: a fresh store for each test, from ``make_store``."""

    store: Store
    tmp_path: pathlib.Path

    def make_store(self) -> Store:
        """Return a new, empty store (the one method a host writes)."""
        raise NotImplementedError("subclass the conformance class and return a new, empty store")

    def close_store(self, store: Store) -> None:
        """Release a store made by :meth:`make_store` (``store.close()`` by default)."""
        store.close()

    @pytest.fixture(autouse=True)
    def _fresh_store(self, tmp_path: pathlib.Path) -> Iterator[None]:
        self.tmp_path = tmp_path
        self.store = self.make_store()
        try:
            yield
        finally:
            self.close_store(self.store)

    def uow(self) -> UnitOfWork:
        """A unit of work of the store under test."""
        return self.store.unit_of_work()

    def open_ticket(self, campaign: str = "ventas", customer: str = PHONE) -> Ticket:
        """Open (or get) the ticket of (campaign, customer) in a committed unit of work."""
        with self.uow() as uow:
            ticket, _ = uow.get_or_open_ticket(campaign, customer, _opener(campaign, customer))
            uow.commit()
        return ticket


def _product(product_id: str, contact: str = "C-1", debt: str = "1500.00") -> Product:
    return Product(
        id=product_id,
        campaign="cobranzas",
        contact=contact,
        kind="loan",
        debt=money(debt, "PEN"),
        due=dt.date(2026, 10, 1),
    )


def _payment(payment_id: str, product: str, day: int, amount: str = "100.00") -> Payment:
    return Payment(
        id=payment_id,
        product=product,
        amount=money(amount, "PEN"),
        date=dt.date(2026, 11, day),
        status=PaymentStatus.MADE,
    )


def _promise(promise_id: str, product: str, day: int, **fields: Any) -> Promise:
    promise = Promise(
        id=promise_id,
        product=product,
        campaign="cobranzas",
        agent="ana",
        made_on=dt.date(2026, 11, day),
        installments=(Installment(amount=money("100.10", "PEN"), date=dt.date(2026, 11, 28)),),
        ticket=7,
        customer=PHONE,
    )
    return attrs.evolve(promise, **fields)
