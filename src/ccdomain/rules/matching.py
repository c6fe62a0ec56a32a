"""Matching rules: the tiers a contact matches a phone by, ranking, and the link decision.

Pure functions over records (M3, M4); :mod:`ccdomain.services.matching` looks the
contacts up through the store's phone indexes and applies them.

- M3 :func:`classify` puts a contact in its best :class:`MatchTier` for a phone,
  as a :class:`Candidate` with the reason it matched; :func:`rank` orders them.
- M4 :func:`decide_link` links a ticket only on exactly one EXACT candidate of
  its campaign; otherwise the candidates are offered (:class:`LinkDecision`).

Choices made where the product documents are silent (ids proposed for docs/rules.md):

- M6 A contact phone that is a national variant of the searched number (Brazil's
  ninth digit, Mexico's ``+52 1``, Argentina's ``9``/``15``) is a VARIANT
  candidate although its last digits also agree: the variant rule explains the
  match, so SUFFIX is kept for agreements no national rule explains. Tiers still
  rank EXACT, NATIONAL, SUFFIX, VARIANT, and a contact appears once, at the best
  tier any of its phones reaches (in a tier, the phone with the most agreeing
  digits, else the first).
- M7 Inside a tier, after same campaign, VIP and most recent activity (never
  active last), candidates are ordered by (campaign, code), so the order is total
  and repeatable. A number typed without country code is read in the region of
  the campaign given (``PE`` when none is given or known).
- M8 A ticket links only to a contact of its own campaign (K1): candidates of
  other campaigns are shown apart (:attr:`LinkDecision.elsewhere`), never linked.
- M12 The customer's address of a ticket becomes a contact channel of the kind
  the ticket started on (:func:`customer_channel`: a call or SMS: phone; WhatsApp:
  WhatsApp; email, Messenger, Instagram alike); a web chat visitor id becomes no
  channel.

Identity across channels (X):

- X1 :func:`customer_identity_key`: the key a non-phone customer address is matched by
  (an email case-folded and trimmed, a Messenger id trimmed, an Instagram id
  trimmed, its ``@`` dropped and lower-cased as K12 stores handles); the
  contacts a store finds by it are those :func:`identity_keys` indexes.
- X2 :func:`identity_keys`: what a live contact is found by besides its phones:
  its email, Messenger and Instagram channels, its document number and its
  folded full name. The tiers :attr:`MatchTier.DOCUMENT`, :attr:`MatchTier.EMAIL`,
  :attr:`MatchTier.CHANNEL` and :attr:`MatchTier.NAME` rank with the phone tiers:
  document > phone exact > email > Messenger/Instagram > phone national, suffix,
  variant > name (:func:`identity_candidate` builds them).
- X5, X10 :func:`same_person`: a contact of another campaign holding the code a
  link would copy is the same person when both have the same document, or, with no
  document on either side, the same full name and a channel in common.
- X7 A web chat visitor id is trimmed and matched to no contact: contacts have
  no web chat channel (K4), so a web chat ticket is never linked automatically.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from ccdomain._folding import name_key
from ccdomain.errors import InvalidPhoneNumber, RuleViolation
from ccdomain.errors import show as _show
from ccdomain.models import Channel, ChannelKind, Contact, ContactChannel, Ticket
from ccdomain.phones import national_number

__all__ = [
    "IDENTITY_KINDS",
    "SUFFIX_DIGITS",
    "Candidate",
    "LinkDecision",
    "LinkOutcome",
    "MatchTier",
    "classify",
    "customer_channel",
    "customer_identity_key",
    "decide_link",
    "document_key",
    "identity_candidate",
    "identity_keys",
    "latest",
    "national_or_none",
    "rank",
    "same_person",
]

SUFFIX_DIGITS: Final = 7
"""The fewest trailing digits that make a SUFFIX candidate (M3)."""

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_PHONE_KINDS: Final = frozenset({ChannelKind.PHONE, ChannelKind.WHATSAPP})
_CHANNEL_KINDS: Final[Mapping[Channel, ChannelKind]] = {
    Channel.CALL: ChannelKind.PHONE,
    Channel.SMS: ChannelKind.PHONE,
    Channel.WHATSAPP: ChannelKind.WHATSAPP,
    Channel.EMAIL: ChannelKind.EMAIL,
    Channel.MESSENGER: ChannelKind.MESSENGER,
    Channel.INSTAGRAM: ChannelKind.INSTAGRAM,
}


# --- M3 candidates --------------------------------------------------------------------------


class MatchTier(enum.StrEnum):
    """Why a contact may be the owner of a phone, best first (M3)."""

    EXACT = "exact"
    """The contact has the same E.164 number."""
    NATIONAL = "national"
    """Same national significant number, a different country code."""
    SUFFIX = "suffix"
    """The last 7 or more digits of the national numbers agree (legacy imports)."""
    VARIANT = "variant"
    """A national mobile quirk: Brazil's ninth digit, Mexico's 521, Argentina's 549/15."""
    DOCUMENT = "document"
    """The contact has the same document number (X2): ranked first of all."""
    EMAIL = "email"
    """The contact has the same email address (X1, X2): after EXACT, before NATIONAL."""
    CHANNEL = "channel"
    """The contact has the same Messenger or Instagram id (X1): after EMAIL."""
    NAME = "name"
    """The contact's folded full name is the one searched (X2): ranked last."""

    @property
    def rank(self) -> int:
        """0 for the best tier (DOCUMENT), increasing (X2)."""
        return _TIER_RANK[self]


_TIER_ORDER: Final = (
    MatchTier.DOCUMENT,
    MatchTier.EXACT,
    MatchTier.EMAIL,
    MatchTier.CHANNEL,
    MatchTier.NATIONAL,
    MatchTier.SUFFIX,
    MatchTier.VARIANT,
    MatchTier.NAME,
)
_TIER_RANK: Final[Mapping[MatchTier, int]] = {tier: i for i, tier in enumerate(_TIER_ORDER)}


@attrs.frozen(kw_only=True)
class Candidate:
    """A contact that may own a phone, with the tier and the reason it matched (M3).

    ``phone`` is the contact's phone that matched (E.164), empty for the tiers that
    match no phone (document, email, channel, name: the reason names the value). ``activity`` is the
    contact's most recent activity, the third tie-break of M3: the later of its
    ``last_activity`` and the last activity of its tickets (M14). It is looked up
    only when there are candidates to rank against each other; a lone candidate
    has ``None`` (its contact's ``last_activity`` stands in).
    """

    contact: Contact
    tier: MatchTier
    reason: str
    phone: str
    activity: dt.datetime | None = None


def national_or_none(e164: str) -> str | None:
    """The national number of a stored phone, None when it is not E.164 (a host's junk)."""
    try:
        return national_number(e164)
    except InvalidPhoneNumber:
        return None


def _common_suffix(a: str, b: str) -> int:
    """How many trailing characters ``a`` and ``b`` share."""
    count = 0
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if x != y:
            break
        count += 1
    return count


def _when_key(at: object) -> tuple[int, float]:
    """Sort key of a time, latest first, None last; naive times are read as UTC."""
    if not isinstance(at, dt.datetime):
        return (1, 0.0)
    if at.tzinfo is None or at.utcoffset() is None:
        at = at.replace(tzinfo=dt.UTC)
    return (0, -(at - _EPOCH).total_seconds())


def latest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    """The later of two times, None when both are; a naive time is read as UTC."""
    if a is None or b is None:
        return a if b is None else b
    return a if _when_key(a) <= _when_key(b) else b


def _order_key(
    candidate: Candidate, campaign: str | None
) -> tuple[int, int, int, tuple[int, float], str, str]:
    contact = candidate.contact
    return (
        candidate.tier.rank,
        0 if campaign is None or contact.campaign == campaign else 1,
        0 if contact.vip else 1,
        _when_key(contact.last_activity if candidate.activity is None else candidate.activity),
        contact.campaign,
        contact.code,
    )


def rank(candidates: Iterable[Candidate], campaign: str | None) -> list[Candidate]:
    """Candidates ranked by tier, then same campaign, VIP, recent activity, (campaign, code).

    The activity compared is the candidate's ``activity`` when it was looked up, else
    its contact's ``last_activity`` (M7, M14).
    """
    items = list(candidates)
    if len(items) < 2:
        return items
    return sorted(items, key=lambda c: _order_key(c, campaign))


def classify(
    contact: Contact, e164: str, nsn: str, variants: Mapping[str, str]
) -> Candidate | None:
    """The best tier any phone of ``contact`` reaches for ``e164``, as a candidate (M3, M6).

    ``nsn`` is the national number of ``e164``; ``variants`` its national variants
    (E.164) with the reason of each. None when no phone matches.
    """
    tier: MatchTier | None = None
    matched, agreeing = "", 0
    for phone in contact.phones:
        if phone == e164:
            return Candidate(
                contact=contact, tier=MatchTier.EXACT, reason=f"same number {e164}", phone=e164
            )
        other = national_or_none(phone)
        if other is None:
            continue
        if other == nsn:
            if tier is not MatchTier.NATIONAL:
                tier, matched = MatchTier.NATIONAL, phone
        elif tier is MatchTier.NATIONAL:
            continue
        elif phone in variants:
            if tier is None:
                tier, matched = MatchTier.VARIANT, phone
        else:
            count = _common_suffix(other, nsn)
            if count >= SUFFIX_DIGITS and count > agreeing:
                tier, matched, agreeing = MatchTier.SUFFIX, phone, count
    if tier is MatchTier.NATIONAL:
        reason = f"same national number {nsn} ({matched} on the contact, {e164} searched)"
    elif tier is MatchTier.SUFFIX:
        reason = f"last {agreeing} digits {nsn[-agreeing:]} agree ({matched} vs {e164})"
    elif tier is MatchTier.VARIANT:
        reason = f"{matched} is the same line as {e164} ({variants[matched]})"
    else:
        return None
    return Candidate(contact=contact, tier=tier, reason=reason, phone=matched)


# --- X1, X2 identities beyond the phone ------------------------------------------------------

IDENTITY_KINDS: Final = ("email", "messenger", "instagram", "document", "name")
"""The kinds of :func:`identity_keys`, which a store indexes (``contacts_by_identity``)."""

_CHANNEL_IDENTITY: Final[Mapping[ChannelKind, str]] = {
    ChannelKind.EMAIL: "email",
    ChannelKind.MESSENGER: "messenger",
    ChannelKind.INSTAGRAM: "instagram",
}
_ADDRESS_IDENTITY: Final[Mapping[Channel, str]] = {
    Channel.EMAIL: "email",
    Channel.MESSENGER: "messenger",
    Channel.INSTAGRAM: "instagram",
}
_DOCUMENT_NOISE: Final = re.compile(r"[\s.\-/]")


def document_key(number: str) -> str:
    """The key a document number is found by (X2): upper case, without spaces, dots, dashes
    and slashes, as K2 compacts a contact's code.

    >>> document_key("12.345.678-k")
    '12345678K'
    """
    return _DOCUMENT_NOISE.sub("", number).upper()


def identity_keys(contact: Contact) -> tuple[tuple[str, str], ...]:
    """What a live contact is found by besides its phones (X1, X2): ``(kind, key)`` pairs.

    Its email, Messenger and Instagram channels (their values are normalized by K4:
    an email case-folded, an Instagram handle lower-cased), its document number
    (:func:`document_key`) and its folded full name (first and last names,
    :func:`ccdomain.contacts.name_key`). A tombstone (M5) and an anonymized contact
    (I4) have none: neither may be found. A store indexes these keys
    (``contacts_by_identity``), so a lookup costs an index search, not a scan.

    >>> from ccdomain.models import Contact, ContactChannel, ChannelKind
    >>> identity_keys(Contact(campaign="c", code="1", first_names="José", last_names="Pérez",
    ...     channels=(ContactChannel(kind=ChannelKind.EMAIL, value="jose@example.com"),)))
    (('email', 'jose@example.com'), ('name', 'jose perez'))
    """
    if contact.merged_into is not None or contact.anonymized:
        return ()
    keys: dict[tuple[str, str], None] = {}
    for channel in contact.channels:
        kind = _CHANNEL_IDENTITY.get(channel.kind)
        if kind is not None and channel.value:
            keys[kind, channel.value] = None
    if contact.document is not None and contact.document.number:
        keys["document", document_key(contact.document.number)] = None
    name = name_key(contact.full_name)
    if name:
        keys["name", name] = None
    return tuple(keys)


def customer_identity_key(channel: Channel, customer: str) -> tuple[str, str] | None:
    """The identity key a non-phone customer address is matched by (X1), or None.

    An email is case-folded and trimmed; a Messenger id trimmed; an Instagram id
    trimmed, its leading ``@`` dropped and lower-cased (K12 stores handles so). Phone
    channels are matched through the phone index (M3), and a web chat visitor id by
    nothing (X7): None for both.

    >>> customer_identity_key(Channel.EMAIL, " Jose@Example.com ")
    ('email', 'jose@example.com')
    """
    kind = _ADDRESS_IDENTITY.get(channel)
    if kind is None:
        return None
    value = customer.strip()
    if kind == "email":
        value = value.casefold()
    elif kind == "instagram":
        value = value.removeprefix("@").lower()
    return (kind, value) if value else None


_TIER_REASONS: Final[Mapping[str, tuple[MatchTier, str]]] = {
    "document": (MatchTier.DOCUMENT, "same document number"),
    "email": (MatchTier.EMAIL, "same email"),
    "messenger": (MatchTier.CHANNEL, "same Messenger id"),
    "instagram": (MatchTier.CHANNEL, "same Instagram id"),
    "name": (MatchTier.NAME, "same full name"),
}


def identity_candidate(contact: Contact, kind: str, key: str) -> Candidate:
    """``contact`` as the candidate an identity key found, with its tier and reason (X2).

    Raises:
        RuleViolation: ``kind`` is not one of :data:`IDENTITY_KINDS`.
    """
    found = _TIER_REASONS.get(kind)
    if found is None:
        raise RuleViolation(
            f"identity kind {_show(kind)} is not valid: expected one of {', '.join(IDENTITY_KINDS)}"
        )
    tier, what = found
    return Candidate(contact=contact, tier=tier, reason=f"{what} {key}", phone="")


def same_person(a: Contact, b: Contact) -> bool:
    """Whether two contacts of different campaigns are one person (X5, X10).

    With a document on either side: both have it, the same (:func:`document_key`).
    Without documents: the same folded full name (not empty) and at least one
    channel in common.
    """
    if a.document is not None or b.document is not None:
        return (
            a.document is not None
            and b.document is not None
            and document_key(a.document.number) == document_key(b.document.number)
        )
    name = name_key(a.full_name)
    if not name or name != name_key(b.full_name):
        return False
    return bool({(c.kind, c.value) for c in a.channels} & {(c.kind, c.value) for c in b.channels})


# --- M4 linking -------------------------------------------------------------------------------


class LinkOutcome(enum.StrEnum):
    """What :func:`decide_link` concluded (M4)."""

    LINKED = "linked"
    """Exactly one EXACT candidate in the ticket's campaign: linked."""
    AMBIGUOUS = "ambiguous"
    """Several EXACT candidates in the campaign: an agent must choose."""
    UNCONFIRMED = "unconfirmed"
    """Candidates in the campaign, none EXACT: offered, not linked."""
    NO_MATCH = "no_match"
    """No candidate in the campaign."""


@attrs.frozen(kw_only=True)
class LinkDecision:
    """Whether a ticket is linked automatically, and the candidates offered otherwise (M4).

    ``candidates`` are those of the ticket's campaign, ranked; ``elsewhere``
    those of other campaigns, shown but never linked (M8).
    """

    contact_code: str | None
    candidates: tuple[Candidate, ...]
    reason: str
    outcome: LinkOutcome
    elsewhere: tuple[Candidate, ...] = ()

    @property
    def linked(self) -> bool:
        """True when a contact was chosen."""
        return self.contact_code is not None

    @property
    def ambiguous(self) -> bool:
        """True when several EXACT candidates compete: an honest "ambiguous", never a guess."""
        return self.outcome is LinkOutcome.AMBIGUOUS


def decide_link(candidates: Iterable[Candidate], campaign: str) -> LinkDecision:
    """Link only when exactly one EXACT candidate belongs to the ticket's campaign (M4).

    Args:
        candidates: the candidates of the ticket's customer (from
            :func:`ccdomain.services.matching.find_candidates`).
        campaign: the ticket's campaign.

    Raises:
        RuleViolation: ``campaign`` is not a string or an item is not a Candidate.
    """
    if not isinstance(campaign, str):
        raise RuleViolation(f"campaign {_show(campaign)} is not valid: expected a campaign id")
    if isinstance(candidates, str | bytes) or not isinstance(candidates, Iterable):
        raise RuleViolation(f"{_show(candidates)} is not a sequence of candidates")
    items = list(candidates)
    for item in items:
        if not isinstance(item, Candidate):
            raise RuleViolation(f"{_show(item)} is not a Candidate")
    ranked = rank(items, campaign)
    here = tuple(c for c in ranked if c.contact.campaign == campaign)
    elsewhere = tuple(c for c in ranked if c.contact.campaign != campaign)
    exact = [c for c in here if c.tier is MatchTier.EXACT]
    code: str | None = None
    if len(exact) == 1:
        code = exact[0].contact.code
        outcome = LinkOutcome.LINKED
        reason = f"one contact of campaign {_show(campaign)} has this exact number: {code}"
    elif exact:
        codes = ", ".join(c.contact.code for c in exact)
        outcome = LinkOutcome.AMBIGUOUS
        reason = (
            f"{len(exact)} contacts of campaign {_show(campaign)} have this exact number "
            f"({codes}): an agent must choose"
        )
    elif here:
        outcome = LinkOutcome.UNCONFIRMED
        reason = (
            f"no contact of campaign {_show(campaign)} has this exact number; "
            f"{len(here)} possible match(es) offered"
        )
    else:
        outcome = LinkOutcome.NO_MATCH
        reason = f"no contact of campaign {_show(campaign)} matches this number"
    return LinkDecision(
        contact_code=code, candidates=here, elsewhere=elsewhere, outcome=outcome, reason=reason
    )


def customer_channel(ticket: Ticket) -> ContactChannel | None:
    """The ticket's customer address as a contact channel of the kind it first came on (M12).

    None for an address that is no channel (a web chat visitor id, or a phone kind
    whose address is not an E.164 number).
    """
    first = ticket.channels[0] if ticket.channels else ticket.last_channel
    kind = _CHANNEL_KINDS.get(first) if first is not None else None
    is_phone = ticket.customer.startswith("+") and national_or_none(ticket.customer) is not None
    if kind is None:
        kind = ChannelKind.PHONE if is_phone else None
    if kind is None or (kind in _PHONE_KINDS and not is_phone):
        return None
    return ContactChannel(kind=kind, value=ticket.customer)
