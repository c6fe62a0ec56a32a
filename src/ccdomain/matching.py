"""Contact matching: candidates for a phone, automatic and manual links, merges (M3-M5).

``normalize_phone`` (M1, M2) lives in :mod:`ccdomain.phones` and is re-exported
here, its public home, with the phone keys the tiers match on.

- M3 :func:`find_candidates` ranks the contacts a phone may belong to in tiers
  (:class:`MatchTier`), each :class:`Candidate` with the reason it matched,
  from index lookups only: the cost does not grow with the number of contacts.
- M4 :func:`decide_link` links a ticket only on exactly one EXACT candidate of
  its campaign (:func:`auto_link_contact` is its routing hot path); otherwise the
  candidates are offered and the agent links (:func:`link_ticket_to_contact`)
  or creates the contact from the ticket (:func:`create_contact_from_ticket`).
- M5 :func:`plan_merge` lists what merging B into A does, :func:`apply_merge`
  does it; B stays as a tombstone that :func:`ccdomain.contacts.resolve_contact_code`
  resolves to A, so every reference read later lands on A.

Choices made where DESIGN is silent (ids proposed for docs/rules.md):

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
  Linking a merged code links the contact it was merged into.
- M9 A merge plan is stale, and :func:`apply_merge` refuses it, when anything it
  lists changed since it was made: either contact, the tickets, products,
  payments or promises it lists, or the pairs of open tickets. Re-plan and
  inspect again. Each relinked ticket gets a CONTACT_LINKED event (``how:
  merge``) besides the CONTACTS_MERGED one, so the ticket report rebuilt from
  the events alone (T11) shows the new links.
- M10 Merging refuses an anonymized contact on either side (I4: its placeholders
  would be mixed into a live contact). The tombstone keeps only its campaign,
  code, last activity and ``merged_into``: every personal value lives on in A, so
  anonymizing A later leaves none behind. The merge event names fields, never
  values.
- M11 Merged values dedupe by normalized value: phones by E.164, other channels
  case-insensitively per kind (:func:`channel_key`), tags and addresses case- and
  accent-insensitively with whitespace collapsed (:func:`address_key`: every part,
  the reference included, the primary flag aside); A's spelling and label are
  kept. The replay's already-applied check (R4) compares with the same keys.
  Custom values merge like fields: the non-blank wins, A's when both are set.
- M12 Creating a contact from a ticket is refused when the ticket is already
  linked (link it by hand instead). The customer's address becomes a channel of
  the kind the ticket started on (a call or SMS: phone; WhatsApp: WhatsApp; email,
  Messenger, Instagram alike); a web chat visitor id becomes no channel.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, cast

import attrs

from ccdomain import checks
from ccdomain import contacts as _contacts
from ccdomain._folding import name_key
from ccdomain.documents import Document
from ccdomain.errors import (
    InvalidPhoneNumber,
    RuleViolation,
    UnknownContact,
    UnknownTicket,
)
from ccdomain.errors import (
    show as _show,
)
from ccdomain.events import ContactLinked, ContactsMerged, Event, EventKind, LinkHow
from ccdomain.models import (
    Address,
    Channel,
    ChannelKind,
    Contact,
    ContactChannel,
    CustomValue,
    Ticket,
)
from ccdomain.phones import (
    country_code,
    national_number,
    normalize_phone,
    phone_suffix,
    phone_variants,
    phone_variants_with_reason,
)
from ccdomain.ports import ContactRepository, Store, UnitOfWork

__all__ = [
    "Candidate",
    "FieldConflict",
    "LinkDecision",
    "LinkOutcome",
    "MatchTier",
    "MergeMoves",
    "MergePlan",
    "address_key",
    "apply_merge",
    "auto_link_contact",
    "channel_key",
    "contact_activity",
    "country_code",
    "create_contact_from_ticket",
    "decide_link",
    "find_candidates",
    "identity_candidates",
    "link_ticket_to_contact",
    "merged_contact",
    "national_number",
    "normalize_phone",
    "phone_suffix",
    "phone_variants",
    "phone_variants_with_reason",
    "plan_merge",
]

SUFFIX_DIGITS: Final = 7
"""The fewest trailing digits that make a SUFFIX candidate (M3)."""

_DEFAULT_REGION: Final = "PE"
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_PHONE_KINDS: Final = frozenset({ChannelKind.PHONE, ChannelKind.WHATSAPP})
_MERGED_TEXT_FIELDS: Final = ("first_names", "last_names", "company", "gender", "notes")

ContactKey = tuple[str, str]


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

    @property
    def rank(self) -> int:
        """0 for the best tier (EXACT), increasing."""
        return _TIER_ORDER.index(self)


_TIER_ORDER: Final = tuple(MatchTier)


@attrs.frozen(kw_only=True)
class Candidate:
    """A contact that may own a phone, with the tier and the reason it matched (M3).

    ``phone`` is the contact's phone that matched (E.164). ``activity`` is the
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


def _nsn(e164: str) -> str | None:
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


def contact_activity(uow: object, contact: Contact) -> dt.datetime | None:
    """A contact's most recent activity (M14): the later of its ``last_activity`` and the
    last activity (else the opening) of each ticket linked to it.

    Routing writes tickets, never contacts, so the tickets are where a contact's
    activity shows; a host that sets ``last_activity`` itself is heard too. ``uow``
    without ``tickets_for_contact`` (a bare contact repository) gives ``last_activity``.

    >>> import datetime as dt
    >>> from ccdomain.memory import MemoryStore
    >>> from ccdomain.models import Contact
    >>> seen = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    >>> contact_activity(MemoryStore(), Contact(campaign="c", code="1", last_activity=seen))
    datetime.datetime(2026, 11, 2, 9, 30, tzinfo=datetime.timezone.utc)
    """
    latest = contact.last_activity
    tickets_for_contact = getattr(uow, "tickets_for_contact", None)
    if tickets_for_contact is None:
        return latest
    for ticket in tickets_for_contact(contact.campaign, contact.code):
        latest = _latest(latest, ticket.last_activity_at or ticket.opened_at)
    return latest


def _when_key(at: object) -> tuple[int, float]:
    """Sort key of a time, latest first, None last; naive times are read as UTC."""
    if not isinstance(at, dt.datetime):
        return (1, 0.0)
    if at.tzinfo is None or at.utcoffset() is None:
        at = at.replace(tzinfo=dt.UTC)
    return (0, -(at - _EPOCH).total_seconds())


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


def _rank(
    candidates: Iterable[Candidate], campaign: str | None, uow: object = None
) -> list[Candidate]:
    """Candidates ranked by tier, then same campaign, VIP, recent activity, (campaign, code).

    With ``uow``, several candidates get their contact's activity looked up first (M14);
    a lone one needs no ranking, so routing's auto-link reads no tickets for it.
    """
    items = list(candidates)
    if len(items) < 2:
        return items
    if uow is not None:
        items = [attrs.evolve(c, activity=contact_activity(uow, c.contact)) for c in items]
    return sorted(items, key=lambda c: _order_key(c, campaign))


def _classify(
    contact: Contact, e164: str, nsn: str, variants: Mapping[str, str]
) -> Candidate | None:
    """The best tier any phone of ``contact`` reaches for ``e164``, as a candidate (M3, M6)."""
    tier: MatchTier | None = None
    matched, agreeing = "", 0
    for phone in contact.phones:
        if phone == e164:
            return Candidate(
                contact=contact, tier=MatchTier.EXACT, reason=f"same number {e164}", phone=e164
            )
        other = _nsn(phone)
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


def _candidates_for(
    uow: ContactRepository,
    e164: str,
    *,
    campaign: str | None,
    only_campaign: bool,
    exclude: ContactKey | None = None,
) -> list[Candidate]:
    """The best candidate per contact for an E.164 number: index lookups only (M3).

    One lookup finds the EXACT, NATIONAL and SUFFIX candidates together: numbers
    with the same national number share its last 7 digits (a national number
    shorter than that is its own suffix key, so the national index serves it).
    Then one EXACT lookup per national variant, which may differ in the last 7.
    A contact found once needs no (campaign, code) key: most lookups find one, and
    not reading its code saves a memory access in a large store.
    """
    nsn = national_number(e164)
    variants = dict(phone_variants_with_reason(e164))
    if len(nsn) >= SUFFIX_DIGITS:
        found = list(uow.contacts_by_phone_suffix(nsn[-SUFFIX_DIGITS:]))
    else:
        found = list(uow.contacts_by_national_number(nsn))
    for variant in variants:
        found.extend(uow.contacts_by_phone(variant))
    seen: set[ContactKey] | None = set() if len(found) > 1 or exclude is not None else None
    best: list[Candidate] = []
    for contact in found:
        if contact.merged_into is not None:
            continue
        if only_campaign and contact.campaign != campaign:
            continue
        if seen is not None:
            key = (contact.campaign, contact.code)
            if key in seen or key == exclude:
                continue
            seen.add(key)
        candidate = _classify(contact, e164, nsn, variants)
        if candidate is not None:
            best.append(candidate)
    return best


def _check_repository(uow: object, what: str = "unit of work") -> ContactRepository:
    if not all(
        callable(getattr(uow, name, None))
        for name in ("contacts_by_phone", "contacts_by_national_number", "get_contact")
    ):
        raise RuleViolation(f"{_show(uow)} is not a {what}: expected a ccdomain unit of work")
    return cast(ContactRepository, uow)


def _region_for(uow: ContactRepository, campaign: str | None, region: object) -> object:
    if region is not None:
        return region
    found = uow.get_campaign(campaign) if campaign is not None else None
    return found.region if found is not None else _DEFAULT_REGION


def find_candidates(
    uow: ContactRepository,
    phone: str,
    *,
    campaign: str | None = None,
    region: str | None = None,
    only_campaign: bool = False,
) -> list[Candidate]:
    """The contacts that may own ``phone``, ranked, each with why it matched (M3).

    Tiers: EXACT (same E.164), NATIONAL (same national number, other country
    code), SUFFIX (last 7+ digits agree), VARIANT (national mobile quirks). A
    contact appears once, at its best tier. Inside a tier: contacts of
    ``campaign`` first (when given), then VIP, then most recent activity, then
    (campaign, code). Only index lookups: the cost does not grow with the number
    of contacts. Tombstones never match.

    Args:
        uow: a unit of work (or any contact repository).
        phone: the number as typed or as E.164.
        campaign: the campaign asking (ranks its contacts first).
        region: the region for a number without country code; default: the
            campaign's region, else ``PE``.
        only_campaign: keep only contacts of ``campaign``.

    Raises:
        InvalidPhoneNumber: ``phone`` is not a valid number (M2).
        RuleViolation: ``only_campaign`` without a campaign, or a bad argument.

    >>> from ccdomain.memory import MemoryStore
    >>> from ccdomain.models import Contact, ContactChannel, ChannelKind
    >>> store = MemoryStore()
    >>> with store.unit_of_work() as uow:
    ...     uow.add_contact(Contact(campaign="ventas", code="12345678", channels=(
    ...         ContactChannel(kind=ChannelKind.PHONE, value="+51987654321"),)))
    ...     [(c.contact.code, c.tier.value, c.reason)
    ...      for c in find_candidates(uow, "987 654 321", campaign="ventas")]
    [('12345678', 'exact', 'same number +51987654321')]
    """
    repo = _check_repository(uow)
    wanted_campaign = None if campaign is None else checks.identifier(campaign, "campaign")
    checks.flag(only_campaign, "only_campaign")
    if only_campaign and wanted_campaign is None:
        raise RuleViolation("only_campaign=True needs a campaign: expected a campaign id")
    e164 = normalize_phone(phone, _region_for(repo, wanted_campaign, region))
    found = _candidates_for(repo, e164, campaign=wanted_campaign, only_campaign=only_campaign)
    return _rank(found, wanted_campaign, repo)


def identity_candidates(
    uow: ContactRepository, contact: Contact, *, only_campaign: bool = False
) -> list[Candidate]:
    """Other contacts that any phone of ``contact`` matches by the M3 tiers (issue: Identities).

    A contact appears once, at the best tier over all the phones; ranking as in
    :func:`find_candidates`, the contact's own campaign first.

    Raises:
        RuleViolation: ``contact`` is not a Contact.
    """
    repo = _check_repository(uow)
    if not isinstance(contact, Contact):
        raise RuleViolation(f"{_show(contact)} is not a Contact")
    key = (contact.campaign, contact.code)
    best: dict[ContactKey, Candidate] = {}
    for phone in contact.phones:
        if _nsn(phone) is None:
            continue
        found = _candidates_for(
            repo, phone, campaign=contact.campaign, only_campaign=only_campaign, exclude=key
        )
        for candidate in found:
            other = (candidate.contact.campaign, candidate.contact.code)
            current = best.get(other)
            if current is None or candidate.tier.rank < current.tier.rank:
                best[other] = candidate
    return _rank(best.values(), contact.campaign, repo)


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
        candidates: the candidates of the ticket's customer (from :func:`find_candidates`).
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
    ranked = _rank(items, campaign)
    here = tuple(c for c in ranked if c.contact.campaign == campaign)
    elsewhere = tuple(c for c in ranked if c.contact.campaign != campaign)
    exact = [c for c in here if c.tier is MatchTier.EXACT]
    if len(exact) == 1:
        code = exact[0].contact.code
        return LinkDecision(
            contact_code=code,
            candidates=here,
            elsewhere=elsewhere,
            outcome=LinkOutcome.LINKED,
            reason=f"one contact of campaign {_show(campaign)} has this exact number: {code}",
        )
    if exact:
        codes = ", ".join(c.contact.code for c in exact)
        return LinkDecision(
            contact_code=None,
            candidates=here,
            elsewhere=elsewhere,
            outcome=LinkOutcome.AMBIGUOUS,
            reason=(
                f"{len(exact)} contacts of campaign {_show(campaign)} have this exact number "
                f"({codes}): an agent must choose"
            ),
        )
    if here:
        return LinkDecision(
            contact_code=None,
            candidates=here,
            elsewhere=elsewhere,
            outcome=LinkOutcome.UNCONFIRMED,
            reason=(
                f"no contact of campaign {_show(campaign)} has this exact number; "
                f"{len(here)} possible match(es) offered"
            ),
        )
    return LinkDecision(
        contact_code=None,
        candidates=(),
        elsewhere=elsewhere,
        outcome=LinkOutcome.NO_MATCH,
        reason=f"no contact of campaign {_show(campaign)} matches this number",
    )


def auto_link_contact(uow: ContactRepository, campaign: str, customer: str) -> str | None:
    """The code of the contact a ticket of ``customer`` in ``campaign`` links to (M4).

    A ticket is linked automatically only when exactly one contact of the
    ticket's campaign has the customer's E.164 number (one EXACT candidate);
    otherwise it stays unlinked (``None``) and the candidates are offered. One
    index lookup: only EXACT candidates can decide, so the other tiers are not
    searched here (this is the routing hot path); the result is the one
    :func:`decide_link` gives on the full candidate list.
    """
    if not isinstance(customer, str) or not isinstance(campaign, str):
        raise RuleViolation(
            f"cannot link ({_show(campaign)}, {_show(customer)}): expected a campaign id "
            "and a customer address"
        )
    exact = [c for c in uow.contacts_by_phone(customer) if c.campaign == campaign]
    return exact[0].code if len(exact) == 1 else None


# --- M5 merge ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class FieldConflict:
    """A field both contacts have set, to different values; ``winner`` is the value kept (M5).

    Under M5 the kept value is A's (the contact merged into), since a non-empty
    field wins and A's wins when both are set; it is spelled out so a review
    screen can show it. Custom fields are named ``custom.<name>``.
    """

    field: str
    a_value: object
    b_value: object
    winner: object


@attrs.frozen(kw_only=True)
class MergeMoves:
    """What a merge repoints from B to A: tickets and products (M5).

    Typifications and comments follow their ticket; payments and promises
    follow their product: they are listed for review, not rewritten.
    """

    tickets: tuple[int, ...] = ()
    products: tuple[str, ...] = ()
    payments: tuple[str, ...] = ()
    promises: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class MergePlan:
    """What merging ``source`` (B) into ``into`` (A) will do, for review before :func:`apply_merge`.

    Attributes:
        into: contact A as read when planning (keeps its code).
        source: contact B as read when planning (becomes a tombstone).
        conflicts: every field both set to different values, with the value kept.
        merged: the contact A will become.
        open_ticket_pairs: (A's ticket, B's ticket) for every pair of open tickets.
        moves: the tickets and products that will point to A.
    """

    into: Contact
    source: Contact
    conflicts: tuple[FieldConflict, ...]
    merged: Contact
    open_ticket_pairs: tuple[tuple[int, int], ...]
    moves: MergeMoves

    @property
    def campaign(self) -> str:
        """The campaign of both contacts."""
        return self.into.campaign


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def channel_key(channel: ContactChannel) -> tuple[str, str]:
    """The "same channel" key (M11): phones by E.164, other values case-insensitively.

    A merge keeps one channel per key, and a replayed contact holds a channel when
    the stored contact has one with its key (R4).
    """
    if channel.kind in _PHONE_KINDS:
        return (channel.kind.value, channel.value.strip())
    return (channel.kind.value, channel.value.strip().casefold())


def address_key(address: Address) -> tuple[str, ...]:
    """The "same address" key (M11): every part but ``primary``, reference included,
    case-, accent- and spacing-insensitive (:func:`ccdomain.contacts.name_key`).

    A merge keeps one address per key, and a replayed contact holds an address when
    the stored contact has one with its key (R4).

    >>> address_key(Address(line="Av. Perú  123", city="LIMA"))
    ('av. peru 123', '', 'lima', '', '', '', '')
    """
    return tuple(
        name_key(str(getattr(address, f.name)))
        for f in attrs.fields(Address)
        if f.name != "primary"
    )


def _union_channels(a: Contact, b: Contact) -> tuple[ContactChannel, ...]:
    kept: dict[tuple[str, str], ContactChannel] = {}
    for channel in (*a.channels, *b.channels):
        kept.setdefault(channel_key(channel), channel)
    return tuple(kept.values())


def _union_addresses(a: Contact, b: Contact) -> tuple[Address, ...]:
    """A's addresses (its primary stays primary), then B's new ones; one primary (K8)."""
    kept: dict[tuple[str, ...], Address] = {}
    for address in a.addresses:
        kept.setdefault(address_key(address), address)
    for address in b.addresses:
        key = address_key(address)
        if key not in kept:
            kept[key] = attrs.evolve(address, primary=address.primary and not a.addresses)
    result = tuple(kept.values())
    if result and sum(1 for x in result if x.primary) != 1:
        first = next((i for i, x in enumerate(result) if x.primary), 0)
        result = tuple(attrs.evolve(x, primary=i == first) for i, x in enumerate(result))
    return result


def _union_tags(a: Contact, b: Contact) -> tuple[str, ...]:
    kept: dict[str, str] = {}
    for tag in (*a.tags, *b.tags):
        kept.setdefault(name_key(tag), tag)
    return tuple(kept.values())


def _pick(name: str, a_value: object, b_value: object, conflicts: list[FieldConflict]) -> object:
    """Non-empty wins, A's when both are set; a difference is recorded as a conflict."""
    if _blank(a_value):
        return b_value if not _blank(b_value) else a_value
    if not _blank(b_value) and a_value != b_value:
        conflicts.append(
            FieldConflict(field=name, a_value=a_value, b_value=b_value, winner=a_value)
        )
    return a_value


def _merge_custom(
    a: Mapping[str, CustomValue], b: Mapping[str, CustomValue], conflicts: list[FieldConflict]
) -> dict[str, CustomValue]:
    merged: dict[str, CustomValue] = {}
    for name in (*a, *(n for n in b if n not in a)):
        value = _pick(f"custom.{name}", a.get(name), b.get(name), conflicts)
        if value is not None:
            merged[name] = cast(CustomValue, value)
    return merged


def _latest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    if a is None or b is None:
        return a if b is None else b
    return a if _when_key(a) <= _when_key(b) else b


def merged_contact(a: Contact, b: Contact) -> tuple[Contact, tuple[FieldConflict, ...]]:
    """The contact A becomes when B is merged into it, and the conflicts (M5, M11).

    A keeps its code; channels, addresses and tags are the union, deduplicated by
    normalized value (A's first); VIP is A or B; a non-empty field wins, A's
    when both are set; custom values merge the same way; the latest activity stays.

    Raises:
        RuleViolation: ``a`` or ``b`` is not a Contact.
    """
    for contact in (a, b):
        if not isinstance(contact, Contact):
            raise RuleViolation(f"{_show(contact)} is not a Contact")
    conflicts: list[FieldConflict] = []
    texts = {
        name: _pick(name, getattr(a, name), getattr(b, name), conflicts)
        for name in _MERGED_TEXT_FIELDS
    }
    document = _pick("document", a.document, b.document, conflicts)
    custom = _merge_custom(a.custom, b.custom, conflicts)
    merged = attrs.evolve(
        a,
        first_names=cast(str, texts["first_names"]),
        last_names=cast(str, texts["last_names"]),
        company=cast("str | None", texts["company"]),
        gender=cast(str, texts["gender"]),
        notes=cast(str, texts["notes"]),
        document=cast("Document | None", document),
        vip=a.vip or b.vip,
        channels=_union_channels(a, b),
        addresses=_union_addresses(a, b),
        tags=_union_tags(a, b),
        custom=custom,
        last_activity=_latest(a.last_activity, b.last_activity),
    )
    return merged, tuple(conflicts)


def _tombstone(b: Contact, into: str) -> Contact:
    """B after the merge: only what resolves it to A remains (M10)."""
    return Contact(
        campaign=b.campaign, code=b.code, last_activity=b.last_activity, merged_into=into
    )


def _merge_side(uow: UnitOfWork, campaign: str, code: str, role: str) -> Contact:
    contact = uow.get_contact(campaign, code)
    if contact is None:
        raise UnknownContact(
            f"no contact with code {_show(code)} in campaign {_show(campaign)} ({role})"
        )
    if contact.merged_into is not None:
        raise RuleViolation(
            f"contact {_show(code)} ({role}) was already merged into {_show(contact.merged_into)}: "
            "expected a live contact"
        )
    if contact.anonymized:
        raise RuleViolation(
            f"contact {_show(code)} ({role}) is anonymized: an anonymized contact cannot be merged"
        )
    return contact


def _plan(
    uow: UnitOfWork, campaign: str, into_code: str, from_code: str, from_campaign: str
) -> MergePlan:
    if from_campaign != campaign:
        raise RuleViolation(
            f"cannot merge contact {_show(from_code)} of campaign {_show(from_campaign)} into "
            f"{_show(into_code)} of campaign {_show(campaign)}: merging across campaigns is refused"
        )
    if into_code == from_code:
        raise RuleViolation(f"cannot merge contact {_show(into_code)} into itself")
    a = _merge_side(uow, campaign, into_code, "merged into")
    b = _merge_side(uow, campaign, from_code, "merged from")
    merged, conflicts = merged_contact(a, b)
    a_tickets = uow.tickets_for_contact(campaign, a.code)
    b_tickets = uow.tickets_for_contact(campaign, b.code)
    pairs = tuple(
        (ta.number, tb.number)
        for ta in a_tickets
        if ta.is_open
        for tb in b_tickets
        if tb.is_open and tb.campaign == ta.campaign
    )
    products = uow.products_for_contact(campaign, b.code)
    payments = sorted(p.id for product in products for p in uow.payments_for_product(product.id))
    promises = sorted(p.id for product in products for p in uow.promises_for_product(product.id))
    moves = MergeMoves(
        tickets=tuple(t.number for t in b_tickets),
        products=tuple(p.id for p in products),
        payments=tuple(payments),
        promises=tuple(promises),
    )
    return MergePlan(
        into=a,
        source=b,
        conflicts=conflicts,
        merged=merged,
        open_ticket_pairs=pairs,
        moves=moves,
    )


def plan_merge(
    uow_or_store: UnitOfWork | Store,
    campaign: str,
    into_code: str,
    from_code: str,
    *,
    from_campaign: str | None = None,
) -> MergePlan:
    """Plan merging contact ``from_code`` (B) into ``into_code`` (A), changing nothing (M5).

    The plan lists every field conflict, every pair of open tickets and what
    will be repointed; inspect it, then :func:`apply_merge` it.

    Args:
        uow_or_store: a unit of work, or a store (read in a unit of work of its own).
        campaign: the campaign of A.
        into_code: A's code (kept).
        from_code: B's code (becomes a tombstone).
        from_campaign: B's campaign when it differs (then the merge is refused).

    Raises:
        UnknownContact: either code is unknown in the campaign.
        RuleViolation: across campaigns, into itself, a tombstone or an anonymized
            contact on either side.
    """
    campaign = checks.identifier(campaign, "campaign")
    source_campaign = (
        campaign if from_campaign is None else checks.identifier(from_campaign, "from_campaign")
    )
    a_code = checks.identifier(into_code, "merged into contact code", UnknownContact)
    b_code = checks.identifier(from_code, "merged from contact code", UnknownContact)
    opener = getattr(uow_or_store, "unit_of_work", None)
    if callable(opener):
        with cast(Store, uow_or_store).unit_of_work() as uow:
            return _plan(uow, campaign, a_code, b_code, source_campaign)
    _check_repository(uow_or_store, "store or unit of work")
    return _plan(cast(UnitOfWork, uow_or_store), campaign, a_code, b_code, source_campaign)


def apply_merge(store: Store, plan: MergePlan, *, agent: str, at: dt.datetime) -> Contact:
    """Merge B into A as planned, in one unit of work; returns A as merged (M5).

    A becomes ``plan.merged``; B becomes a tombstone resolving to A; every
    ticket of B (with its typifications and comments) and every product of B
    (with its payments and promises) points to A. Events: one CONTACT_LINKED per
    relinked ticket and one CONTACTS_MERGED.

    Raises:
        RuleViolation: the plan is stale (M9), or a bad argument.
        UnknownContact: a contact of the plan no longer exists.
    """
    if not isinstance(plan, MergePlan):
        raise RuleViolation(f"{_show(plan)} is not a MergePlan: expected plan_merge's result")
    when, who = checks.aware(at), checks.agent(agent)
    a, b = plan.into, plan.source
    with store.unit_of_work() as uow:
        current = _plan(uow, a.campaign, a.code, b.code, b.campaign)
        if current != plan:
            raise RuleViolation(
                f"the plan to merge {_show(b.code)} into {_show(a.code)} is stale: the "
                "contacts, their tickets or products changed since it was made; plan again"
            )
        uow.update_contact(plan.merged)
        uow.update_contact(_tombstone(b, a.code))
        for number in plan.moves.tickets:
            ticket = uow.get_ticket(number)
            if ticket is None:  # pragma: no cover - _plan just listed it
                raise UnknownTicket(f"no ticket with number {_show(number)}")
            uow.update_ticket(attrs.evolve(ticket, contact=a.code))
            uow.append_event(_link_event(ticket, a.code, when, who, merged_from=b.code))
        for product_id in plan.moves.products:
            product = uow.get_product(product_id)
            if product is not None:
                uow.put_product(attrs.evolve(product, contact=a.code))
        uow.append_event(
            Event(
                kind=EventKind.CONTACTS_MERGED,
                at=when,
                actor=who,
                campaign=a.campaign,
                contact=a.code,
                payload=ContactsMerged(
                    into=a.code,
                    merged_from=b.code,
                    tickets=plan.moves.tickets,
                    products=plan.moves.products,
                    conflicts=tuple(c.field for c in plan.conflicts),
                ),
            )
        )
        uow.commit()
    return plan.merged


def _link_event(
    ticket: Ticket, code: str, at: dt.datetime, agent: str, *, merged_from: str
) -> Event:
    """The CONTACT_LINKED event of a ticket relinked by a merge (same shape as tickets')."""
    return Event(
        kind=EventKind.CONTACT_LINKED,
        at=at,
        actor=agent,
        campaign=ticket.campaign,
        ticket=ticket.number,
        contact=code,
        payload=ContactLinked(how=LinkHow.MERGE, customer=ticket.customer, merged_from=merged_from),
    )


# --- M4 services: manual link, create from ticket ----------------------------------------------

_CHANNEL_KINDS: Final[Mapping[Channel, ChannelKind]] = {
    Channel.CALL: ChannelKind.PHONE,
    Channel.SMS: ChannelKind.PHONE,
    Channel.WHATSAPP: ChannelKind.WHATSAPP,
    Channel.EMAIL: ChannelKind.EMAIL,
    Channel.MESSENGER: ChannelKind.MESSENGER,
    Channel.INSTAGRAM: ChannelKind.INSTAGRAM,
}


def _customer_channel(ticket: Ticket) -> ContactChannel | None:
    """The ticket's customer address as a contact channel of the kind it first came on."""
    first = ticket.channels[0] if ticket.channels else ticket.last_channel
    kind = _CHANNEL_KINDS.get(first) if first is not None else None
    is_phone = ticket.customer.startswith("+") and _nsn(ticket.customer) is not None
    if kind is None:
        kind = ChannelKind.PHONE if is_phone else None
    if kind is None or (kind in _PHONE_KINDS and not is_phone):
        return None
    return ContactChannel(kind=kind, value=ticket.customer)


def link_ticket_to_contact(
    store: Store, *, number: int, contact_code: str, agent: str, at: dt.datetime
) -> Ticket:
    """Link a ticket to the contact an agent picked among the candidates or searched (M4).

    A merged code links the contact it was merged into (M5, M8). Wraps
    :func:`ccdomain.tickets.link_ticket_contact`.

    Raises:
        UnknownTicket, UnknownContact (not a contact of the ticket's campaign), RuleViolation.
    """
    from ccdomain import tickets  # tickets imports this module for auto_link_contact

    return tickets.link_ticket_contact(
        store,
        checks.ticket_number(number, "ticket number", UnknownTicket),
        None,
        contact_code,
        checks.agent(agent),
        at,
    )


def create_contact_from_ticket(
    store: Store,
    *,
    number: int,
    first_names: object = "",
    last_names: object = "",
    document: object = None,
    company: object = None,
    vip: object = False,
    channels: Sequence[object] = (),
    addresses: object = (),
    custom: object = None,
    gender: object = "",
    tags: object = (),
    notes: object = "",
    agent: str,
    at: dt.datetime,
) -> Contact:
    """Create a contact from an unlinked ticket and link the ticket to it, all or nothing (M4).

    The contact is created in the ticket's campaign (seed 001: "se crearán en la
    campaña por la que inició la interacción"); with a document its code is the
    document number (K2). The customer's address is added to its channels (a
    phone or WhatsApp number in E.164, by the channel the ticket started on).

    Raises:
        UnknownTicket: no such ticket.
        RuleViolation: the ticket is already linked to a contact, or bad input.
        DuplicateContact, InvalidDocument, InvalidChannel, ...: as create_contact.
    """
    from ccdomain import tickets  # tickets imports this module for auto_link_contact

    wanted = checks.ticket_number(number, "ticket number", UnknownTicket)
    who, when = checks.agent(agent), checks.aware(at)
    if isinstance(channels, str | bytes) or not isinstance(channels, Sequence):
        raise RuleViolation(f"channels {_show(channels)} are not valid: expected a sequence")
    with store.unit_of_work() as uow:
        ticket = uow.get_ticket(wanted)
        if ticket is None:
            raise UnknownTicket(f"no ticket with number {_show(wanted)}")
        if ticket.contact is not None:
            raise RuleViolation(
                f"ticket {wanted} is already linked to contact {_show(ticket.contact)}: "
                "expected an unlinked ticket"
            )
        own = _customer_channel(ticket)
        contact = _contacts.create_contact(
            store,
            campaign=ticket.campaign,
            first_names=first_names,
            last_names=last_names,
            document=document,
            company=company,
            vip=vip,
            channels=[*([own] if own is not None else []), *channels],
            addresses=addresses,
            custom=custom,
            gender=gender,
            tags=tags,
            notes=notes,
            at=when,
            agent=who,
        )
        tickets.link_ticket_contact(store, wanted, None, contact.code, who, when)
        uow.commit()
    return contact
