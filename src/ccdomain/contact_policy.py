"""Messaging windows and contact policy (rules W1-W7).

The public face of the contact-policy family: it re-exports, and holds no logic.

- Pure parts, :mod:`ccdomain.rules.contact_policy`: :func:`may_contact` and its
  :class:`ContactDecision` (for a host deciding before it queues a send, no store),
  the window (:func:`window_closes`, W1, W2), stop words (:func:`is_stop_word`, W3),
  contact hours (:func:`in_contact_hours`, W4), the attempt cap
  (:func:`max_daily_attempts_of`, :func:`counts_as_attempt`, W5) and the defaults.
- Services, :mod:`ccdomain.services.contact_policy`: :func:`opt_out` and
  :func:`opt_in` (W3). Routing (:func:`ccdomain.tickets.route_interaction`) and the
  channel services check every outbound interaction (W1-W6) and raise
  :class:`~ccdomain.errors.WindowClosed` or :class:`~ccdomain.errors.ContactNotAllowed`.
- The record :class:`OptOut` (:mod:`ccdomain.models.contact_policy`).
"""

from ccdomain.errors import ContactNotAllowed, WindowClosed
from ccdomain.models.contact_policy import OptOut
from ccdomain.rules.contact_policy import (
    COLLECTIONS_CONTACT_HOURS,
    COLLECTIONS_MAX_DAILY_ATTEMPTS,
    DEFAULT_STOP_WORDS,
    HUMAN_AGENT_TAG,
    HUMAN_AGENT_WINDOW,
    WINDOW,
    WINDOW_CHANNELS,
    ContactDecision,
    contact_hours_of,
    counts_as_attempt,
    fold_stop_word,
    in_contact_hours,
    is_stop_word,
    local_day,
    max_daily_attempts_of,
    may_contact,
    template_text,
    window_closes,
)
from ccdomain.services.contact_policy import opt_in, opt_out

__all__ = [
    "COLLECTIONS_CONTACT_HOURS",
    "COLLECTIONS_MAX_DAILY_ATTEMPTS",
    "DEFAULT_STOP_WORDS",
    "HUMAN_AGENT_TAG",
    "HUMAN_AGENT_WINDOW",
    "WINDOW",
    "WINDOW_CHANNELS",
    "ContactDecision",
    "ContactNotAllowed",
    "OptOut",
    "WindowClosed",
    "contact_hours_of",
    "counts_as_attempt",
    "fold_stop_word",
    "in_contact_hours",
    "is_stop_word",
    "local_day",
    "max_daily_attempts_of",
    "may_contact",
    "opt_in",
    "opt_out",
    "template_text",
    "window_closes",
]
