"""The contact policy: what a campaign may send to a customer, and when (W1-W6).

Pure functions over a :class:`~ccdomain.models.Campaign` and the facts a store
answers by index (the last inbound message on a line, the attempts of a local day,
the opt-outs): no store, no clock. :func:`may_contact` is the question a host asks
before it queues a send; routing and the channel services ask it for every outbound
interaction and raise the refusal it describes (:func:`refusal_error`).

- W1 A free-form outbound WhatsApp message is allowed only in the customer-service
  window of its line: the half-open interval [last inbound, last inbound + 24 h),
  whatever the campaign. A template is allowed outside it and does not open it.
- W2 Messenger and Instagram have the same window; a message tagged ``human_agent``
  may be sent up to 7 days after the last inbound message.
- W3 A customer who opted out of a channel in a campaign (by an ``opt_out`` event or
  by writing one of the campaign's stop words) gets nothing on that channel from
  that campaign, templates included, until an ``opt_in``.
- W4 Outbound interactions happen inside the campaign's contact hours, in its
  timezone (DST included); collections campaigns default to Monday-Saturday
  08:00-20:00, never on the region's public holidays; other kinds have no limit.
- W5 At most ``max_daily_attempts`` calls and free-form messages to one customer
  per local calendar day in a campaign (collections default 3); inbound
  interactions, templates and replies inside a 24-hour window do not count.
- W6 Every refusal names the rule, the customer and the time (the decision's
  ``reason``); nothing is recorded.

Decisions taken where DESIGN is silent (ids continue the W list of docs/rules.md):

- W7 A declared ``contact_hours`` closes on the region's public holidays too (H1
  reads holidays so by default); ``{}`` (or ``"always"``) declares no limit, and
  ``max_daily_attempts: 0`` no cap, so a collections campaign can lift its defaults.
  The window is kept per line id: an interaction without a line has its own window
  (line ``""``); it opens at the customer's latest inbound message at or before the
  outbound one, by event time, also when messages are delivered out of order.
  Attempts are counted only in campaigns with a cap (a declared campaign does not
  change). The checks run in the order W3, W4, W1/W2, W5: the first that refuses is
  named.
- W8 The contact hours (declared or a collections campaign's default) also close on
  the campaign's own closed dates, the ``extra`` dates of its H1 ``holidays``: a
  center closed for business on a date contacts nobody that day. ``holidays:
  false`` does not open the public holidays for contact (W4, W7 keep them closed).
"""

from __future__ import annotations

import datetime as dt
import functools
import string
import unicodedata
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Final

import attrs

from ccdomain.errors import ContactNotAllowed, RuleViolation, WindowClosed
from ccdomain.errors import show as _show
from ccdomain.models import Campaign, Channel, Holidays
from ccdomain.rules.hours import (
    BusinessCalendar,
    business_calendar,
    hours_spec,
    is_open,
    next_opening,
    parse_hours,
)

__all__ = [
    "COLLECTIONS_CONTACT_HOURS",
    "COLLECTIONS_MAX_DAILY_ATTEMPTS",
    "DEFAULT_STOP_WORDS",
    "HUMAN_AGENT_TAG",
    "HUMAN_AGENT_WINDOW",
    "WINDOW",
    "WINDOW_CHANNELS",
    "ContactDecision",
    "contact_hours_of",
    "counts_as_attempt",
    "fold_stop_word",
    "in_contact_hours",
    "is_stop_word",
    "local_day",
    "max_daily_attempts_of",
    "may_contact",
    "parse_contact_hours",
    "parse_max_daily_attempts",
    "parse_stop_words",
    "refusal_error",
    "template_text",
    "window_closes",
]

WINDOW: Final = dt.timedelta(hours=24)
"""W1, W2: the customer-service window after the last inbound message."""
HUMAN_AGENT_WINDOW: Final = dt.timedelta(days=7)
"""W2: how long after the last inbound message a ``human_agent`` message may be sent."""
HUMAN_AGENT_TAG: Final = "human_agent"
"""W2: the tag of a message sent by a person, allowed for 7 days on Messenger/Instagram."""
WINDOW_CHANNELS: Final = frozenset({Channel.WHATSAPP, Channel.MESSENGER, Channel.INSTAGRAM})
"""The channels with a customer-service window (W1, W2)."""
DEFAULT_STOP_WORDS: Final = ("BAJA", "STOP", "NO MOLESTAR")
"""W3: the stop words of a campaign that declares none."""
COLLECTIONS_CONTACT_HOURS: Final = (("mon-sat", ("08:00-20:00",)),)
"""W4: the contact hours of a collections campaign that declares none."""
COLLECTIONS_MAX_DAILY_ATTEMPTS: Final = 3
"""W5: the attempt cap of a collections campaign that declares none."""

_COLLECTIONS = "collections"
_PUNCTUATION = str.maketrans({c: " " for c in string.punctuation + "¡¿«»“”‘’…–—·"})
_STOP_WORD_MAX: Final = 60
_ASCII_SKIPPED: Final = string.punctuation + string.whitespace
_MAX_ATTEMPTS_LIMIT: Final = 1000


@attrs.frozen(kw_only=True)
class ContactDecision:
    """The answer to "may I contact this customer now" (W6).

    ``allowed`` False names the ``rule`` that refuses (``W1``..``W5``), a ``reason``
    naming the customer and the time, and ``until``: when the refusal lifts by itself
    (the next opening of the contact hours, the next local day), or None when it
    does not (a closed window opens only when the customer writes; an opt-out lasts
    until an opt-in).
    """

    allowed: bool
    rule: str | None = None
    reason: str = ""
    until: dt.datetime | None = None


_ALLOWED: Final = ContactDecision(allowed=True)


# --- campaign fields ---------------------------------------------------------------------


def fold_stop_word(text: str) -> str:
    """``text`` folded for W3: upper case, no accents, punctuation as spaces, spaces collapsed.

    >>> fold_stop_word("  No molestar!! ")
    'NO MOLESTAR'
    """
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.translate(_PUNCTUATION).split()).upper()


def parse_stop_words(value: object) -> tuple[str, ...] | None:
    """A campaign's ``stop_words`` (W3): a list of texts, kept folded; None stays None.

    Raises:
        RuleViolation: not a list of non-blank texts of at most 60 characters.
    """
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        raise RuleViolation(f"stop_words {_show(value)} is not valid: expected a list of texts")
    words: list[str] = []
    for item in value:
        folded = fold_stop_word(item) if isinstance(item, str) else ""
        if not folded or len(folded) > _STOP_WORD_MAX:
            raise RuleViolation(
                f"stop word {_show(item)} is not valid: expected a text with letters or "
                f"digits, at most {_STOP_WORD_MAX} characters"
            )
        words.append(folded)
    return tuple(dict.fromkeys(words))


def parse_max_daily_attempts(value: object) -> int | None:
    """A campaign's ``max_daily_attempts`` (W5): a whole number 0..1000 (0: no cap).

    Raises:
        RuleViolation: any other value.
    """
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (0 <= value <= _MAX_ATTEMPTS_LIMIT)
    ):
        raise RuleViolation(
            f"max_daily_attempts {_show(value)} is not valid: expected a whole number from 0 "
            f"(no cap) to {_MAX_ATTEMPTS_LIMIT}"
        )
    return value


def parse_contact_hours(value: object) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    """A campaign's ``contact_hours`` (W4, the shape of H1 ``hours``), checked.

    ``{"mon-fri": ["08:00-13:00", "14:00-18:00"], "sat": ["09:00-13:00"]}``: days
    ``mon``..``sun`` or a range of them, each with ``HH:MM-HH:MM`` ranges (``24:00``
    ends a day), read by :func:`ccdomain.rules.hours.parse_hours` and kept in its
    canonical form. ``{}`` or ``"always"`` is no limit (``()``); None stays None.

    Raises:
        RuleViolation: naming the bad day or range.
    """
    if value is None:
        return None
    if isinstance(value, tuple) and all(
        isinstance(pair, tuple) and len(pair) == 2 for pair in value
    ):
        value = {days: list(ranges) for days, ranges in value}  # the form a Campaign holds
    if value == "always" or (isinstance(value, Mapping) and not value):
        return ()
    if not isinstance(value, Mapping):
        raise RuleViolation(
            f"contact_hours {_show(value)} is not valid: expected an object of days to "
            'ranges such as {"mon-fri": ["08:00-20:00"]}, {} or "always"'
        )
    spec = hours_spec(parse_hours(value, "contact_hours"))
    return tuple((days, tuple(ranges)) for days, ranges in spec.items())


def contact_hours_of(campaign: Campaign) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The contact hours that apply to a campaign (W4); ``()`` means no limit."""
    if campaign.contact_hours is not None:
        return campaign.contact_hours
    return COLLECTIONS_CONTACT_HOURS if campaign.kind == _COLLECTIONS else ()


def max_daily_attempts_of(campaign: Campaign) -> int | None:
    """The attempt cap that applies to a campaign (W5); None means no cap."""
    declared = campaign.max_daily_attempts
    if declared is None:
        return COLLECTIONS_MAX_DAILY_ATTEMPTS if campaign.kind == _COLLECTIONS else None
    return declared or None


@functools.lru_cache(maxsize=8)
def _stop_words(declared: tuple[str, ...] | None) -> tuple[frozenset[str], frozenset[str]]:
    """The folded stop words, and the first characters they start with."""
    words = frozenset(DEFAULT_STOP_WORDS if declared is None else declared)
    return words, frozenset(w[0] for w in words)


def is_stop_word(text: str | None, campaign: Campaign) -> bool:
    """W3: whether an inbound text is, folded, one of the campaign's stop words.

    >>> is_stop_word("baja.", Campaign(id="c"))
    True
    """
    if not text or len(text) > 4 * _STOP_WORD_MAX:
        return False
    words, initials = _stop_words(campaign.stop_words)
    if text.isascii():  # most messages: nothing to decompose (routing's hot path)
        if text.lstrip(_ASCII_SKIPPED)[:1].upper() not in initials:
            return False
        folded = " ".join(text.translate(_PUNCTUATION).split()).upper()
    else:
        folded = fold_stop_word(text)
    return folded in words


@functools.lru_cache(maxsize=32)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local_day(campaign: Campaign, at: dt.datetime) -> dt.date:
    """The calendar date of ``at`` in the campaign's timezone (W5 counts per local day)."""
    return at.astimezone(_zone(campaign.timezone)).date()


@functools.lru_cache(maxsize=256)
def _calendar(
    pairs: tuple[tuple[str, tuple[str, ...]], ...],
    timezone: str,
    region: str,
    closed: tuple[dt.date, ...],
) -> BusinessCalendar:
    hours = {days: list(ranges) for days, ranges in pairs}
    try:
        return business_calendar(
            timezone=timezone, hours=hours, region=region, holidays=Holidays(extra=closed)
        )
    except RuleViolation:
        # A region the holidays package has no table for has no public holidays.
        return business_calendar(
            timezone=timezone,
            hours=hours,
            region=region,
            holidays=Holidays(public=False, extra=closed),
        )


def _contact_calendar(campaign: Campaign) -> BusinessCalendar | None:
    pairs = contact_hours_of(campaign)
    if not pairs:
        return None
    # W8: the campaign's own closed dates close its contact hours too.
    return _calendar(pairs, campaign.timezone, campaign.region, campaign.holidays.extra)


def _closed_dates(campaign: Campaign) -> str:
    """The campaign's own closed dates (W8), as a refusal names them."""
    extra = campaign.holidays.extra
    if not extra:
        return ""
    shown = ", ".join(day.isoformat() for day in extra[:3])
    more = f" and {len(extra) - 3} more" if len(extra) > 3 else ""
    return f" and on the campaign's closed dates {shown}{more}"


def in_contact_hours(campaign: Campaign, at: dt.datetime) -> bool:
    """W4: whether ``at`` is inside the campaign's contact hours, in its timezone.

    The hours are read as H1 reads business hours (:func:`ccdomain.rules.hours.is_open`):
    by the local wall clock, DST gaps closed, repeated hours open twice, never on the
    region's public holidays nor on the campaign's own closed dates (W8).
    """
    calendar = _contact_calendar(campaign)
    return calendar is None or is_open(calendar, at)


def _next_opening(campaign: Campaign, at: dt.datetime) -> dt.datetime | None:
    """The first instant after ``at`` inside the contact hours (None: not within ten years)."""
    calendar = _contact_calendar(campaign)
    if calendar is None:
        return at
    try:
        return next_opening(calendar, at)
    except RuleViolation:
        return None


def window_closes(
    channel: Channel, last_inbound: dt.datetime | None, tag: str | None = None
) -> dt.datetime | None:
    """W1/W2: when the window for a free-form message closes, or None (no inbound yet).

    The window is half-open: a message at exactly the returned instant is outside.
    """
    if last_inbound is None:
        return None
    if tag == HUMAN_AGENT_TAG and channel in (Channel.MESSENGER, Channel.INSTAGRAM):
        return last_inbound + HUMAN_AGENT_WINDOW
    return last_inbound + WINDOW


def counts_as_attempt(
    channel: Channel, *, template: str | None, at: dt.datetime, last_inbound: dt.datetime | None
) -> bool:
    """W5: whether an accepted outbound interaction counts toward the daily cap.

    Calls and free-form messages do; templates do not, nor replies inside the
    24-hour window of a windowed channel (W1, W2).
    """
    if channel is Channel.CALL:
        return True
    if template is not None:
        return False
    if channel in WINDOW_CHANNELS and last_inbound is not None:
        return not (last_inbound <= at < last_inbound + WINDOW)
    return True


def _when(at: dt.datetime) -> str:
    return at.isoformat()


def may_contact(
    campaign: Campaign,
    *,
    channel: Channel,
    customer: str,
    at: dt.datetime,
    template: str | None = None,
    tag: str | None = None,
    last_inbound: dt.datetime | None = None,
    attempts_today: int = 0,
    opted_out: bool = False,
) -> ContactDecision:
    """May the campaign contact ``customer`` on ``channel`` at ``at``? (W1-W6)

    A pure function for hosts that decide before they queue a send, and the check
    routing applies to every outbound interaction.

    Args:
        campaign: the campaign the contact is made for (its policy fields, kind,
            timezone and region).
        channel: the channel of the contact.
        customer: the customer's address (as stored: E.164 for phone channels).
        at: when the contact would happen (aware).
        template: the WhatsApp template's name, None for a free-form message or a call.
        tag: the message tag (``human_agent`` extends the Messenger/Instagram window).
        last_inbound: the customer's last inbound message on the line (event time).
        attempts_today: the calls and free-form messages already made to the customer
            in this campaign on ``at``'s local day (W5).
        opted_out: whether the customer opted out of ``channel`` in this campaign (W3).

    Returns:
        A :class:`ContactDecision`; ``allowed`` True, or the rule, reason and ``until``.
    """
    if opted_out:
        who = f"customer {customer!r}"
        return ContactDecision(
            allowed=False,
            rule="W3",
            reason=(
                f"W3: {who} opted out of {channel.value} in campaign {campaign.id!r}; "
                f"outbound at {_when(at)} is refused until the customer opts in"
            ),
        )
    if not in_contact_hours(campaign, at):
        who = f"customer {customer!r}"
        opening = _next_opening(campaign, at)
        shown = "" if opening is None else f"; contact hours open again at {_when(opening)}"
        return ContactDecision(
            allowed=False,
            rule="W4",
            reason=(
                f"W4: outbound to {who} at {_when(at)} is outside the contact hours of "
                f"campaign {campaign.id!r} ({_hours_text(campaign)}, {campaign.timezone}, "
                f"closed on {campaign.region} public holidays{_closed_dates(campaign)}){shown}"
            ),
            until=opening,
        )
    if channel in WINDOW_CHANNELS and template is None:
        closes = window_closes(channel, last_inbound, tag)
        if last_inbound is None or closes is None or not (last_inbound <= at < closes):
            rule = "W1" if channel is Channel.WHATSAPP else "W2"
            who = f"customer {customer!r}"
            if last_inbound is None or closes is None:
                since = "has sent no inbound message on this line"
                closed = "the window was never open"
            else:
                since = f"last wrote on this line at {_when(last_inbound)}"
                closed = f"the window closed at {_when(closes)}"
            return ContactDecision(
                allowed=False,
                rule=rule,
                reason=(
                    f"{rule}: free-form {channel.value} message to {who} at {_when(at)} is "
                    f"outside the customer-service window: the customer {since}; {closed}; "
                    "only a template may be sent"
                    if channel is Channel.WHATSAPP
                    else f"{rule}: free-form {channel.value} message to {who} at {_when(at)} "
                    f"is outside the customer-service window: the customer {since}; "
                    f"{closed} (a human_agent message may be sent up to 7 days after it)"
                ),
            )
    cap = max_daily_attempts_of(campaign)
    if (
        cap is not None
        and attempts_today >= cap
        and counts_as_attempt(channel, template=template, at=at, last_inbound=last_inbound)
    ):
        who = f"customer {customer!r}"
        zone = _zone(campaign.timezone)
        tomorrow = at.astimezone(zone).date() + dt.timedelta(days=1)
        next_day = dt.datetime.combine(tomorrow, dt.time(), zone)
        return ContactDecision(
            allowed=False,
            rule="W5",
            reason=(
                f"W5: {who} was already contacted {attempts_today} times on "
                f"{local_day(campaign, at).isoformat()} in campaign {campaign.id!r} "
                f"(at most {cap} calls and free-form messages a day); outbound at "
                f"{_when(at)} is refused until {_when(next_day)}"
            ),
            until=next_day,
        )
    return _ALLOWED


def _hours_text(campaign: Campaign) -> str:
    return "; ".join(f"{days} {', '.join(ranges)}" for days, ranges in contact_hours_of(campaign))


def template_text(template: str, params: Sequence[str] = (), limit: int = 65_536) -> str:
    """The text recorded for a template message: ``[template NAME] p1, p2`` (W1).

    >>> template_text("pago_pendiente", ["José", "150.00"])
    '[template pago_pendiente] José, 150.00'
    """
    shown = f"[template {template}]"
    if params:
        shown += " " + ", ".join(params)
    return shown[:limit]


def refusal_error(decision: ContactDecision) -> ContactNotAllowed:
    """The error raising a refused decision: :class:`WindowClosed` for W1/W2,
    :class:`ContactNotAllowed` otherwise (W6: its message is the decision's reason).

    Raises:
        RuleViolation: the decision allows the contact (nothing to refuse).
    """
    if decision.allowed:
        raise RuleViolation("the contact is allowed; expected a refused decision")
    if decision.rule in ("W1", "W2"):
        return WindowClosed(decision.reason)
    return ContactNotAllowed(decision.reason)
