"""The records of the contact policy: opt-outs (W3).

Frozen, data only: the rules live in :mod:`ccdomain.rules.contact_policy`, the
services in :mod:`ccdomain.services.contact_policy`; :mod:`ccdomain.models`
re-exports every name here.
"""

from __future__ import annotations

import datetime as dt

import attrs

from ccdomain.models.tickets import Channel

__all__ = ["OptOut"]


@attrs.frozen(kw_only=True)
class OptOut:
    """A customer's refusal of one channel in one campaign (W3).

    ``customer`` is the address as routing normalizes it (E.164 for phone channels);
    ``at`` and ``agent`` say when and by whom it was recorded (``None`` when the
    customer's own stop word recorded it).
    """

    campaign: str
    customer: str
    channel: Channel
    at: dt.datetime
    agent: str | None = None
