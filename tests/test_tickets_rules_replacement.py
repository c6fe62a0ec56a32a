"""T3 and a ticket's key when a store replaces a stored ticket: one check for every store."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from ccdomain.errors import RuleViolation
from ccdomain.models import Direction, Ticket, TicketStatus
from ccdomain.rules.tickets import check_replacement

_AT = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
_OPEN = Ticket(
    number=7, campaign="ventas", customer="+51987654321", origin=Direction.INBOUND, opened_at=_AT
)
_CLOSED = attrs.evolve(_OPEN, status=TicketStatus.RESOLVED, closed_at=_AT)


def test_T3_check_replacement_refuses_to_reopen_a_closed_ticket() -> None:
    with pytest.raises(RuleViolation, match=r"ticket 7 is closed; a closed ticket never reopens"):
        check_replacement(_OPEN, campaign="ventas", customer="+51987654321", was_open=False)
    with pytest.raises(RuleViolation, match="never reopens"):
        check_replacement(_OPEN, campaign="ventas", customer=None, was_open=False)


def test_T3_check_replacement_accepts_what_keeps_the_key_and_does_not_reopen() -> None:
    check_replacement(_OPEN, campaign="ventas", customer="+51987654321", was_open=True)
    check_replacement(_CLOSED, campaign="ventas", customer="+51987654321", was_open=True)
    check_replacement(_CLOSED, campaign="ventas", customer="+51987654321", was_open=False)
    # I4's rewrite: the customer may change, the campaign may not.
    check_replacement(_OPEN, campaign="ventas", customer=None, was_open=True)


def test_T2_check_replacement_refuses_a_changed_key_naming_the_stored_one() -> None:
    with pytest.raises(
        RuleViolation,
        match=r"ticket 7 belongs to \('cobranza', '\+51987654321'\); its campaign and "
        "customer cannot change",
    ):
        check_replacement(_OPEN, campaign="cobranza", customer="+51987654321", was_open=True)
    with pytest.raises(RuleViolation, match=r"belongs to \('ventas', '\+51900000000'\)"):
        check_replacement(_OPEN, campaign="ventas", customer="+51900000000", was_open=True)
    with pytest.raises(
        RuleViolation, match="ticket 7 belongs to campaign 'cobranza'; its campaign cannot change"
    ):
        check_replacement(_OPEN, campaign="cobranza", customer=None, was_open=True)
