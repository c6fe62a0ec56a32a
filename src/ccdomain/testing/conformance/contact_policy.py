"""Conformance of the contact-policy indexes: windows, attempts, opt-outs (W1-W5, I4, E2)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from ccdomain.models import Channel, OptOut
from ccdomain.testing.conformance.case import AT, OTHER_PHONE, PHONE, StoreCase, _properties

__all__ = ["ContactPolicyRepositoryConformance"]

_DAY = AT.date()


def _opt(customer: str = PHONE, channel: Channel = Channel.WHATSAPP, **kw: object) -> OptOut:
    fields: dict[str, object] = {"campaign": "cobranzas", "agent": "ana", "at": AT, **kw}
    return OptOut(customer=customer, channel=channel, **fields)  # type: ignore[arg-type]


class ContactPolicyRepositoryConformance(StoreCase):
    """The indexes the contact policy asks for every outbound interaction (W1-W5)."""

    def test_W1_last_inbound_is_the_latest_at_or_before_an_instant_whatever_the_offset(
        self,
    ) -> None:
        # 10:30 in Lima is 15:30 UTC: later than 15:00 UTC written as 12:00-03:00.
        lima = AT + dt.timedelta(minutes=30)
        earlier = AT.astimezone(dt.timezone(dt.timedelta(hours=-3)))
        with self.uow() as uow:
            assert uow.last_inbound("wa", PHONE) is None
            uow.note_inbound("wa", PHONE, lima)
            uow.note_inbound("wa", PHONE, earlier)  # arrives late
            uow.note_inbound("wa", PHONE, lima.astimezone(dt.UTC))  # the same instant again
            uow.commit()
        with self.uow() as uow:
            assert uow.last_inbound("wa", PHONE) == lima
            assert uow.last_inbound("wa", PHONE, lima) == lima  # at or before: included
            assert uow.last_inbound("wa", PHONE, lima - dt.timedelta(microseconds=1)) == AT
            assert uow.last_inbound("wa", PHONE, AT) == AT
            assert uow.last_inbound("wa", PHONE, AT - dt.timedelta(seconds=1)) is None
            uow.note_inbound("wa", PHONE, lima + dt.timedelta(hours=1))
            uow.commit()
        with self.uow() as uow:
            assert uow.last_inbound("wa", PHONE) == lima + dt.timedelta(hours=1)
            assert uow.last_inbound("wa", PHONE, lima + dt.timedelta(minutes=59)) == lima

    def test_W1_windows_are_kept_per_line_and_customer(self) -> None:
        with self.uow() as uow:
            uow.note_inbound("wa", PHONE, AT)
            uow.note_inbound("", OTHER_PHONE, AT + dt.timedelta(hours=1))
            uow.commit()
        with self.uow() as uow:
            assert uow.last_inbound("wa", PHONE) == AT
            assert uow.last_inbound("wa-2", PHONE) is None
            assert uow.last_inbound("wa", OTHER_PHONE) is None
            assert uow.last_inbound("", OTHER_PHONE) == AT + dt.timedelta(hours=1)

    def test_W5_attempts_count_per_campaign_customer_and_day(self) -> None:
        with self.uow() as uow:
            for _ in range(3):
                uow.add_attempt("cobranzas", PHONE, _DAY)
            uow.add_attempt("ventas", PHONE, _DAY)
            uow.add_attempt("cobranzas", PHONE, _DAY + dt.timedelta(days=1))
            uow.commit()
        with self.uow() as uow:
            assert uow.attempts("cobranzas", PHONE, _DAY) == 3
            assert uow.attempts("ventas", PHONE, _DAY) == 1
            assert uow.attempts("cobranzas", PHONE, _DAY + dt.timedelta(days=1)) == 1
            assert uow.attempts("cobranzas", OTHER_PHONE, _DAY) == 0

    def test_W3_opt_outs_are_kept_per_campaign_customer_and_channel(self) -> None:
        whatsapp, call = _opt(), _opt(channel=Channel.CALL, agent=None)
        other = _opt(OTHER_PHONE, campaign="ventas")
        with self.uow() as uow:
            for opt in (call, other, whatsapp):
                uow.put_opt_out(opt)
            uow.put_opt_out(whatsapp)  # replacing it: still one
            uow.commit()
        with self.uow() as uow:
            assert uow.get_opt_out("cobranzas", PHONE, Channel.WHATSAPP) == whatsapp
            assert uow.get_opt_out("cobranzas", PHONE, "call") == call
            assert uow.get_opt_out("cobranzas", PHONE, Channel.SMS) is None
            assert uow.get_opt_out("ventas", PHONE, Channel.WHATSAPP) is None
            assert list(uow.opt_outs("cobranzas")) == [call, whatsapp]
            assert list(uow.opt_outs()) == [call, whatsapp, other]
            uow.remove_opt_out("cobranzas", PHONE, Channel.WHATSAPP)
            uow.remove_opt_out("cobranzas", PHONE, Channel.SMS)  # none: no error
            uow.commit()
        with self.uow() as uow:
            assert uow.get_opt_out("cobranzas", PHONE, Channel.WHATSAPP) is None
            assert list(uow.opt_outs("cobranzas")) == [call]

    def test_E2_policy_indexes_roll_back_with_their_unit_of_work(self) -> None:
        with self.uow() as uow:
            uow.note_inbound("wa", PHONE, AT)
            uow.add_attempt("cobranzas", PHONE, _DAY)
            uow.commit()
        with self.uow() as uow:  # left without commit
            uow.note_inbound("wa", PHONE, AT + dt.timedelta(hours=2))
            uow.add_attempt("cobranzas", PHONE, _DAY)
            uow.put_opt_out(_opt())
        with self.uow() as uow:
            with self.uow() as nested:  # a savepoint rolled back
                nested.add_attempt("cobranzas", PHONE, _DAY)
                nested.put_opt_out(_opt())
            assert uow.attempts("cobranzas", PHONE, _DAY) == 1
            uow.commit()
        with self.uow() as uow:
            assert uow.last_inbound("wa", PHONE) == AT
            assert uow.attempts("cobranzas", PHONE, _DAY) == 1
            assert uow.get_opt_out("cobranzas", PHONE, Channel.WHATSAPP) is None

    def test_I4_forget_customer_policy_removes_every_trace_of_an_address(self) -> None:
        with self.uow() as uow:
            for customer in (PHONE, OTHER_PHONE):
                uow.note_inbound("wa", customer, AT)
                uow.add_attempt("cobranzas", customer, _DAY)
                uow.put_opt_out(_opt(customer))
            uow.commit()
        with self.uow() as uow:
            uow.forget_customer_policy(PHONE)
            uow.commit()
        with self.uow() as uow:
            assert uow.last_inbound("wa", PHONE) is None
            assert uow.attempts("cobranzas", PHONE, _DAY) == 0
            assert uow.get_opt_out("cobranzas", PHONE, Channel.WHATSAPP) is None
            assert uow.last_inbound("wa", OTHER_PHONE) == AT
            assert uow.attempts("cobranzas", OTHER_PHONE, _DAY) == 1
            assert [o.customer for o in uow.opt_outs()] == [OTHER_PHONE]

    @_properties
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(["wa", "wa-2", ""]),
                st.sampled_from([PHONE, OTHER_PHONE]),
                st.integers(-5000, 5000),
                st.sampled_from([-5, -3, 0, 9]),
            ),
            max_size=12,
        ),
        st.integers(-6000, 6000),
    )
    def test_W1_last_inbound_is_the_latest_noted_at_or_before_any_instant(
        self, notes: list[tuple[str, str, int, int]], probe: int
    ) -> None:
        # Examples share the store: each keeps its own lines.
        self._example = getattr(self, "_example", 0) + 1
        lines = [f"{name}#{self._example}" for name in ("wa", "wa-2", "")]
        noted: dict[tuple[str, str], list[dt.datetime]] = {}
        with self.uow() as uow:
            for line, customer, minutes, hours in notes:
                at = (AT + dt.timedelta(minutes=minutes)).astimezone(
                    dt.timezone(dt.timedelta(hours=hours))
                )
                key = (f"{line}#{self._example}", customer)
                uow.note_inbound(key[0], customer, at)
                noted.setdefault(key, []).append(at)
            uow.commit()
        when = AT + dt.timedelta(minutes=probe)
        with self.uow() as uow:
            for line in lines:
                for customer in (PHONE, OTHER_PHONE):
                    times = noted.get((line, customer), [])
                    assert uow.last_inbound(line, customer) == max(times, default=None)
                    before = [t for t in times if t <= when]
                    assert uow.last_inbound(line, customer, when) == max(before, default=None)
