"""Fakes of the host's ports for tests: a recording channel (:mod:`ccdomain.ports`).

:class:`RecordingChannel` implements :class:`ccdomain.ports.ChannelPort`. It
records every successful send as a frozen :class:`SentRecord` and returns the
provider ids ``"fake-1"``, ``"fake-2"``, ... It can be told to fail, to check
that a failing channel records nothing::

    >>> from ccdomain.models import Channel, Line
    >>> channel = RecordingChannel()
    >>> line = Line(id="wa", channel=Channel.WHATSAPP, address="+5117001234")
    >>> channel.send_text(line, "+51987654321", "Hola")
    'fake-1'
    >>> channel.sent[0].kind, channel.sent[0].to
    ('text', '+51987654321')
    >>> channel.fail_next = True
    >>> channel.send_text(line, "+51987654321", "Hola")
    Traceback (most recent call last):
    ...
    ConnectionError: fake channel told to fail (text to '+51987654321')
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import attrs

from ccdomain.models import Line

__all__ = ["RecordingChannel", "SentRecord"]


@attrs.frozen(kw_only=True)
class SentRecord:
    """One send the fake channel accepted.

    ``kind`` is ``"text"``, ``"template"`` or ``"call"``; the other fields are the
    arguments the channel received, and ``provider_id`` what it returned.
    """

    kind: str
    line: str
    to: str
    provider_id: str
    text: str = ""
    template: str = ""
    params: tuple[str, ...] = ()
    campaign: str = ""
    queue: str = ""
    agent: str = ""


class RecordingChannel:
    """A :class:`~ccdomain.ports.ChannelPort` that records instead of sending (thread-safe).

    Attributes:
        sent: the accepted sends, in order.
        attempts: how many sends were asked, failed ones included.
        failing: when true, every send fails.
        fail_next: when true, the next send fails (then it resets itself).
    """

    def __init__(self, *, failing: bool = False, prefix: str = "fake") -> None:
        self.sent: list[SentRecord] = []
        self.attempts = 0
        self.failing = failing
        self.fail_next = False
        self._prefix = prefix
        self._lock = threading.Lock()

    def _accept(self, kind: str, line: Line, to: str, **fields: Any) -> str:
        with self._lock:
            self.attempts += 1
            if self.failing or self.fail_next:
                self.fail_next = False
                raise ConnectionError(f"fake channel told to fail ({kind} to {to!r})")
            provider_id = f"{self._prefix}-{len(self.sent) + 1}"
            record = SentRecord(kind=kind, line=line.id, to=to, provider_id=provider_id)
            self.sent.append(attrs.evolve(record, **fields))
            return provider_id

    def send_text(self, line: Line, to: str, text: str) -> str:
        """Record a text message; return its fake provider id."""
        return self._accept("text", line, to, text=text)

    def send_template(
        self, line: Line, to: str, template: str, params: Sequence[str], campaign: str, queue: str
    ) -> str:
        """Record a WhatsApp template; return its fake provider id."""
        return self._accept(
            "template",
            line,
            to,
            template=template,
            params=tuple(params),
            campaign=campaign,
            queue=queue,
        )

    def place_call(self, line: Line, to: str, agent: str) -> str:
        """Record a call; return its fake provider id."""
        return self._accept("call", line, to, agent=agent)
