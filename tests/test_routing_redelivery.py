"""T9: a redelivered message is a duplicate however its target resolves now.

Routing resolves the target (and reads its key) before the T9 lookup, so a store may send
that lookup with the target's reads. A redelivery must still change nothing and refuse
nothing, on every store, even when its target no longer resolves (the line has no
default campaign and the customer's tickets were anonymized: I4 keeps external ids so a
redelivered webhook stays a duplicate).
"""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import Iterator

import pytest

from ccdomain.contacts import create_contact, declare_campaign, make_campaign
from ccdomain.identities import anonymize_contact
from ccdomain.memory import MemoryStore
from ccdomain.models import Channel, Line, RouteOutcome
from ccdomain.ports import Store
from ccdomain.sqlite import SqliteStore
from ccdomain.tickets import route_interaction

LIMA = dt.timezone(dt.timedelta(hours=-5))
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=LIMA)
CAMPAIGN = "cobranzas"
PHONE = "+51987654321"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "cc.db")
    try:
        yield made
    finally:
        made.close()


def _at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _inbound(store: Store) -> object:
    return route_interaction(
        store,
        at=_at(2),
        channel="whatsapp",
        direction="inbound",
        line="wa-shared",
        customer="987 654 321",
        external_id="wamid.shared",
        text="hola",
    )


def test_T9_I4_a_redelivery_whose_target_no_longer_resolves_is_still_a_duplicate(
    store: Store,
) -> None:
    declare_campaign(store, campaign=make_campaign(CAMPAIGN, region="PE"), at=T0)
    # A line with no default campaign (the model allows it; declare_line asks for one):
    # an inbound message goes to the campaign of the customer's ticket on it (T6).
    with store.unit_of_work() as uow:
        uow.put_line(Line(id="wa-shared", channel=Channel.WHATSAPP, address="+5117001234"))
        uow.commit()
    contact = create_contact(
        store,
        campaign=CAMPAIGN,
        first_names="José",
        channels=[{"kind": "phone", "value": "987 654 321"}],
        at=T0,
    )
    opened = route_interaction(
        store,
        at=_at(1),
        channel="whatsapp",
        direction="outbound",
        line="wa-shared",
        campaign=CAMPAIGN,
        customer=PHONE,
        agent="ana",
        template="bienvenida",
    )
    first = _inbound(store)
    assert first.outcome is RouteOutcome.JOINED  # type: ignore[attr-defined]
    assert first.ticket.number == opened.ticket.number  # type: ignore[attr-defined]
    anonymize_contact(store, campaign=CAMPAIGN, code=contact.code, agent="dpo", at=_at(30))
    with store.unit_of_work() as uow:
        before = (list(uow.list_tickets()), list(uow.events()))
    again = _inbound(store)
    assert again.outcome is RouteOutcome.DUPLICATE  # type: ignore[attr-defined]
    assert again.interaction.external_id == "wamid.shared"  # type: ignore[attr-defined]
    with store.unit_of_work() as uow:
        assert (list(uow.list_tickets()), list(uow.events())) == before
